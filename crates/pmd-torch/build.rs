//! Gives this crate's tests a run-time search path to libtorch, so they
//! start without `LD_LIBRARY_PATH`.
#![forbid(unsafe_code)]

include!("build/libtorch_rpath.rs");

fn main() {
    libtorch_rpath();
}
