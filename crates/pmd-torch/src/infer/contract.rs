//! The input/output contract of a policy module, shared by the native
//! network and TorchScript modules loaded with `--policy torch:PATH`.
//!
//! # Inputs
//!
//! | name | type | shape | meaning |
//! |------|------|-------|---------|
//! | `obs` | `float32` | `[N, 2395]` | observation features, row-major: a 15x15 egocentric window x 8 binary channels (channel-major), a 14x8 coarse map of the floor x 5 binary channels, the ways (3 goals x 8 moves), then 11 scalars (`pmd_game::obs`) |
//! | `mask` | `bool` | `[N, 19]` | `True` where the action is legal; at least one per row |
//! | `frames` | `uint8` | `[N, 1, 80, 120]` | only for modules that read frames (a third argument) |
//!
//! Action indices: 0-7 moves, 8-15 attacks (both in the order of
//! [`pmd_game::env::Direction`]), 16 wait, 17 use item, 18 take stairs
//! ([`pmd_game::env::Action::index`]).
//!
//! # Output
//!
//! `forward(obs, mask[, frames])` returns either
//!
//! - a tuple `(logits float32 [N, 19], value float32 [N] or [N, 1])`, or
//! - one tensor `float32 [N, 20]`: the 19 logits, then the value (what
//!   modules exported from Rust return: libtorch's tracer, driven from
//!   Rust, can only save single-output methods).
//!
//! Logits may be unnormalised. Whatever a module puts at illegal actions is
//! replaced by [`MASKED_LOGIT`] before sampling, so `-inf`, a large negative
//! number or no masking at all are all fine; a NaN or infinite logit at a
//! legal action is an error. Modules run under `no_grad` and in eval mode,
//! on copies of the inputs (a TorchScript module may keep or modify them).
//!
//! # A module from PyTorch
//!
//! ```python
//! import torch
//! from torch import nn
//!
//! class Policy(nn.Module):
//!     def __init__(self):
//!         super().__init__()
//!         self.trunk = nn.Sequential(nn.Linear(2395, 128), nn.ReLU(),
//!                                    nn.Linear(128, 128), nn.ReLU())
//!         self.policy = nn.Linear(128, 19)
//!         self.value = nn.Linear(128, 1)
//!
//!     def forward(self, obs: torch.Tensor, mask: torch.Tensor):
//!         h = self.trunk(obs)
//!         logits = self.policy(h).masked_fill(~mask, -1e9)
//!         return logits, self.value(h).squeeze(-1)
//!
//! torch.jit.script(Policy()).save("policy.pt")   # --policy torch:policy.pt
//! ```

use pmd_rollout::{frames, obs};

/// Observation features per environment.
pub const OBS_DIM: usize = obs::FEATURES;
/// Discrete actions.
pub const N_ACTIONS: usize = pmd_game::env::ACTION_COUNT;
/// Frame channels (grey).
pub const FRAME_CHANNELS: usize = 1;
/// Frame height after 2x2 downsampling.
pub const FRAME_HEIGHT: usize = frames::HEIGHT;
/// Frame width after 2x2 downsampling.
pub const FRAME_WIDTH: usize = frames::WIDTH;
/// Bytes per frame.
pub const FRAME_LEN: usize = FRAME_CHANNELS * FRAME_HEIGHT * FRAME_WIDTH;

const _: () = assert!(OBS_DIM == 2395 && N_ACTIONS == 19 && FRAME_LEN == frames::LEN);
const _: () = assert!(FRAME_HEIGHT == 80 && FRAME_WIDTH == 120);
/// The logit given to illegal actions: finite, so that softmax, log-softmax
/// and entropy (`p · log p` with `p = 0`) never produce NaN, and far enough
/// below any real logit that `exp` underflows to exactly 0.
pub const MASKED_LOGIT: f64 = -1.0e9;
