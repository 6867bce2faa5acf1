//! Emits the `Py_3_*` and `Py_LIMITED_API` cfgs of the interpreter being
//! built for, so per-version code can be selected with `cfg`. A build whose
//! final extension asks for `abi3` gets the limited-API code paths
//! (`pyawaitable_limited`), as the abi3 backend always does.
fn main() {
    pyo3_build_config::use_pyo3_cfgs();
    println!("cargo::rustc-check-cfg=cfg(pyawaitable_limited)");
    let abi = pyo3_build_config::get().target_abi();
    if matches!(abi.kind(), pyo3_build_config::PythonAbiKind::Stable(_)) {
        println!("cargo::rustc-cfg=pyawaitable_limited");
    }
}
