//! The `Py_3_*` cfgs of the interpreter being built for, so the module
//! declares only the slots that interpreter knows.
fn main() {
    pyo3_build_config::use_pyo3_cfgs();
}
