//! Emits the `Py_3_*` and `Py_LIMITED_API` cfgs of the interpreter being
//! built for, so per-version code can be selected with `cfg`. A build whose
//! final extension asks for `abi3` gets the limited-API code paths
//! (`pyawaitable_limited`), as the abi3 backend always does. The version
//! built for reaches the code as `PYAWAITABLE_BUILT_FOR` ("3.12"), so a
//! version-specific build can refuse another interpreter by name.
fn main() {
    pyo3_build_config::use_pyo3_cfgs();
    println!("cargo::rustc-check-cfg=cfg(pyawaitable_limited)");
    let config = pyo3_build_config::get();
    println!(
        "cargo::rustc-env=PYAWAITABLE_BUILT_FOR={}.{}",
        config.version().major,
        config.version().minor
    );
    let abi = config.target_abi();
    if matches!(abi.kind(), pyo3_build_config::PythonAbiKind::Stable(_)) {
        println!("cargo::rustc-cfg=pyawaitable_limited");
    }
}
