//! Feeds arbitrary bytes to the trajectory-file reader as a file: every
//! outcome is a typed error or batches within the reader's bounds, never a
//! panic or an allocation the file does not hold.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pmd_rollout::record::{read_trajectories_with, ReadOptions};

fuzz_target!(|data: &[u8]| {
    let path = scratch::file("trajectory.arrows", data);
    for include_rolled_back in [false, true] {
        if let Ok(t) = read_trajectories_with(&path, ReadOptions { include_rolled_back }) {
            // every row kept came out of the file's own bytes
            assert!(t.rows() <= data.len());
        }
    }
});

#[path = "../scratch.rs"]
mod scratch;
