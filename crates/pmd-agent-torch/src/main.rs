//! `pmd-agent-torch`: pmd-agent's command line with libtorch linked. It
//! runs exactly `pmd-agent`'s commands; `pmd-agent` hands it those that
//! need libtorch (`train`, `bench inference`, `bench e2e`, `torch:PATH`
//! policies), so every other command starts without loading libtorch.
//!
//! **Depends on** pmd-agent (the command line and everything under it) and
//! pmd-torch; nothing depends on it.
#![forbid(unsafe_code)]

mod bench_inference;
mod inference;
mod train;

use pmd_agent::cli::bench::InferenceArgs;
use pmd_agent::cli::train::TrainArgs;
use pmd_agent::cli::{Failure, TorchCommands};
use pmd_agent::emu::Rom;

/// The commands only this executable can run.
struct Torch;

impl TorchCommands for Torch {
    fn train(&self, args: &TrainArgs) -> Result<(), Failure> {
        train::train(args)
    }

    fn bench_inference(&self, args: &InferenceArgs, rom: &Rom) -> Result<(), Failure> {
        inference::inference(args, rom)
    }
}

fn main() {
    pmd_torch::install();
    std::process::exit(pmd_agent::cli::main(Some(&Torch)));
}
