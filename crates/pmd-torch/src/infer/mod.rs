//! Neural networks on libtorch (the `torch` feature): the actor-critic
//! network, the TorchScript contract, model files and batched inference.
//! A layer below `policy`: nothing here imports it (the policy that wraps
//! an [`Actor`] is [`crate::TorchPolicy`], the benchmark that
//! times one is [`pmd_agent::bench::inference`]).
//!
//! - [`contract`]: the input/output shapes every policy module follows
//!   (what `--policy torch:PATH` loads, from Rust or from PyTorch).
//! - [`net`]: the actor-critic network ([`PolicyNet`]).
//! - [`model_file`]: model files (TorchScript archives plus metadata).
//! - [`script`]: TorchScript modules from PyTorch.
//! - [`actor`]: one forward pass over a batch of rows, zero-copy over the
//!   caller's memory, with a sparse first layer ([`sparse`]); actions
//!   chosen in Rust.
//! - [`guide`]: a network as a guided search's prior and value
//!   ([`NetGuide`]), evaluated in plain Rust from copied weights.
//! - [`threads`]: sets libtorch's thread count (the rules:
//!   [`pmd_rollout::policy::threads`]).
//!
//! libtorch comes from `scripts/libtorch.sh`; binaries find it through the
//! run-time path `build.rs` records, so no `LD_LIBRARY_PATH` is needed.

pub mod actor;
pub mod contract;
pub mod device;
mod error;
pub mod guide;
pub mod model_file;
pub mod net;
pub mod script;
pub mod sparse;
pub mod threads;

pub use actor::{Actor, BatchInput, BatchOutput, Selection};
pub use contract::{MASKED_LOGIT, N_ACTIONS, OBS_DIM};
pub use device::{cuda_available, resolve};
pub use error::InferError;
pub use guide::NetGuide;
pub use model_file::Model;
pub use net::{Activation, NetConfig, PolicyNet};
