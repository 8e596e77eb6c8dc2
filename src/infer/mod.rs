//! Neural policies on libtorch (the `torch` feature): the actor-critic
//! network, the TorchScript contract, model files, batched inference and
//! the inference benchmark.
//!
//! - [`contract`]: the input/output shapes every policy module follows
//!   (what `--policy torch:PATH` loads, from Rust or from PyTorch).
//! - [`net`]: the actor-critic network ([`PolicyNet`]).
//! - [`model_file`]: model files (TorchScript archives plus metadata).
//! - [`script`]: TorchScript modules from PyTorch.
//! - [`actor`]: one forward pass over a batch of rows, zero-copy over the
//!   caller's memory, with a sparse first layer ([`sparse`]); actions
//!   chosen in Rust.
//! - [`policy`]: [`TorchPolicy`], the actor as a
//!   [`RowPolicy`](crate::policy::RowPolicy) for lockstep and asynchronous
//!   runs.
//! - [`threads`]: libtorch's thread count relative to the rayon pool.
//! - [`bench`](mod@bench): µs per batch and per sample.
//!
//! libtorch comes from `scripts/libtorch.sh`; binaries find it through the
//! run-time path `build.rs` records, so no `LD_LIBRARY_PATH` is needed.

pub mod actor;
pub mod bench;
pub mod contract;
pub mod device;
mod error;
pub mod model_file;
pub mod net;
pub mod policy;
pub mod script;
pub mod sparse;
pub mod threads;

pub use actor::{Actor, BatchInput, BatchOutput, Selection};
pub use contract::{MASKED_LOGIT, N_ACTIONS, OBS_DIM};
pub use device::{cuda_available, resolve};
pub use error::InferError;
pub use model_file::Model;
pub use net::{Activation, NetConfig, PolicyNet};
pub use policy::TorchPolicy;
