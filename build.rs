//! With the `torch` feature, gives every binary, test, bench and example
//! of the command-line package a run-time search path to libtorch, so they
//! start without `LD_LIBRARY_PATH`.
#![forbid(unsafe_code)]

include!("crates/pmd-torch/build/libtorch_rpath.rs");

fn main() {
    if std::env::var_os("CARGO_FEATURE_TORCH").is_some() {
        libtorch_rpath();
    }
}
