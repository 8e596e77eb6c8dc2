//! Gives the `pmd-agent-torch` binary and its tests a run-time search path to libtorch, so they
//! start without `LD_LIBRARY_PATH`.
#![forbid(unsafe_code)]

include!("../pmd-torch/build/libtorch_rpath.rs");

fn main() {
    libtorch_rpath();
}
