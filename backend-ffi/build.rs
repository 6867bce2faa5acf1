//! Emits the `Py_3_*` and `Py_LIMITED_API` cfgs of the interpreter being
//! built for, so per-version code can be selected with `cfg`.
fn main() {
    pyo3_build_config::use_pyo3_cfgs();
}
