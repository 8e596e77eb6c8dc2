//! pmd-torch: neural policies on libtorch (through `tch`) — the
//! actor-critic network, the TorchScript contract, model files and batched
//! inference ([`infer`]), [`TorchPolicy`] (a network as a row policy), and
//! training: PPO, behaviour cloning and DAgger ([`train`]).
//!
//! Call [`install`] once in a process that should build `torch:PATH`
//! policy specs (pmd-rollout's `PolicySpec` cannot name this crate).
//!
//! **Depends on** pmd-rollout, pmd-game, pmd-plot and pmd-util (the emulator only
//! through them); never on
//! the league, the network or the command line. Its one `unsafe` is the
//! tensor view of Rust memory (`tensor_view`); the rest denies it.
#![deny(unsafe_code)]
#![deny(clippy::undocumented_unsafe_blocks)]
#![warn(missing_docs)]

pub mod infer;
mod policy;
mod tensor_view;
pub mod train;

pub use policy::TorchPolicy;

/// Lets `PolicySpec::Torch` specs build a [`TorchPolicy`] in this process,
/// and `search:…:guide=PATH` specs their guide ([`infer::NetGuide`]).
pub fn install() {
    pmd_rollout::policy::install_torch_loader(|path, options| {
        Ok(Box::new(TorchPolicy::load(path, options)?))
    });
    pmd_rollout::policy::install_guide_loader(infer::guide::load_guide);
}
