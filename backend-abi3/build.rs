//! Compiles the shared backend sources (in `../backend-ffi/src`) for the
//! limited API, whatever interpreter or `abi3-*` feature the build sees.
fn main() {
    pyo3_build_config::use_pyo3_cfgs();
    println!("cargo::rustc-check-cfg=cfg(pyawaitable_limited)");
    println!("cargo::rustc-cfg=pyawaitable_limited");
}
