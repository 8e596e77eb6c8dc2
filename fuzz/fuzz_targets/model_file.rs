//! Feeds arbitrary bytes to the model-file reader as a file: the part that
//! parses our own bytes (the zip directory, the metadata record, the
//! declared network and its size against the file's), without libtorch,
//! whose TorchScript loader is not ours to fuzz. Every outcome is a typed
//! error or a configuration whose weights fit in the file.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pmd_torch::infer::model_file::read_declared;

fuzz_target!(|data: &[u8]| {
    let path = scratch::file("model.pt", data);
    if let Ok(Some(config)) = read_declared(&path) {
        assert!(config.num_params() * 4 <= data.len());
    }
});

#[path = "../scratch.rs"]
mod scratch;
