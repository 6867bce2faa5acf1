//! Compiles the shared backend sources (in `../backend-ffi/src`) for the
//! limited API, whatever interpreter or `abi3-*` feature the build sees.
//!
//! A build whose pyo3 configuration is not the stable ABI would make a
//! version-specific extension while its author asked for one that loads on
//! every version: the build fails then, naming the interpreter it was
//! configured for and the feature that fixes it (`abi_check.rs` in
//! `OUT_DIR`, included by the crate root). A free-threaded configuration
//! has no stable ABI at all and is refused by the shared sources.
fn main() {
    pyo3_build_config::use_pyo3_cfgs();
    println!("cargo::rustc-check-cfg=cfg(pyawaitable_limited)");
    println!("cargo::rustc-cfg=pyawaitable_limited");
    let config = pyo3_build_config::get();
    // Read by the shared sources, which refuse other versions only in a
    // version-specific build.
    println!(
        "cargo::rustc-env=PYAWAITABLE_BUILT_FOR={}.{}",
        config.version().major,
        config.version().minor
    );
    let stable = matches!(
        config.target_abi().kind(),
        pyo3_build_config::PythonAbiKind::Stable(_)
    );
    let check = if stable || config.is_free_threaded() {
        String::new()
    } else {
        format!(
            "compile_error!(\"pyawaitable-abi3 (the `abi3` feature of `pyawaitable`) builds \
             extensions for the stable ABI, but pyo3 is configured for the full API of CPython \
             {}.{}, which would make a cp{}{}-only extension: turn the limited API on in the \
             extension crate with pyo3's or pyo3-ffi's `abi3-py39` feature (or a later \
             `abi3-py3X`), or use the `ffi` feature for a version-specific build\");\n",
            config.version().major,
            config.version().minor,
            config.version().major,
            config.version().minor
        )
    };
    let out = std::path::PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    std::fs::write(out.join("abi_check.rs"), check).expect("OUT_DIR is writable");
}
