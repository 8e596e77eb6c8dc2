//! Batch inference: one forward pass over a batch of rows, and one action
//! per row chosen in Rust.
//!
//! The rows are borrowed (`obs f32 [N, 2395]`, `mask bool [N, 19]`,
//! optionally `frames u8 [N, 1, 80, 120]`): for the native network on the
//! CPU the tensors are views of the caller's memory (no copy, see
//! `crate::tensor_view`), and the first layer reads only the features
//! that are on ([`super::sparse`]); TorchScript modules and CUDA get
//! copies. Masking, the log-softmax and sampling are done in Rust on the
//! returned logits, so whatever a module puts at illegal actions is
//! ignored.
//!
//! Sampling takes one uniform number per row from the caller
//! ([`Actor::act`]): the policies draw it from each environment's own
//! stream, so an environment's actions do not depend on its batch.
//! [`Selection::Greedy`] takes the most probable legal action (lowest
//! index on ties) and ignores them.

use std::path::Path;

use tch::{Device, Kind, Tensor};

use super::contract::{FRAME_CHANNELS, FRAME_HEIGHT, FRAME_LEN, FRAME_WIDTH, N_ACTIONS, OBS_DIM};
use super::model_file::{self, Model};
use super::net::PolicyNet;
use super::script::ScriptModule;
use super::sparse::SparseRows;
use super::InferError;
use crate::tensor_view::TensorView;
use pmd_rollout::device::DeviceChoice;

/// How an action is chosen from the distribution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Selection {
    /// Sample from the masked softmax.
    #[default]
    Sample,
    /// The most probable legal action.
    Greedy,
}

/// One batch of inputs, borrowed.
#[derive(Debug, Clone, Copy)]
pub struct BatchInput<'a> {
    /// `f32 [N, 2395]`, row-major.
    pub obs: &'a [f32],
    /// `bool [N, 19]`, row-major, true = legal.
    pub mask: &'a [bool],
    /// `u8 [N, 1, 80, 120]`, for models that read frames.
    pub frames: Option<&'a [u8]>,
}

impl BatchInput<'_> {
    /// The number of rows, after checking every buffer's size and that
    /// every mask row allows an action.
    pub fn rows(&self, needs_frames: bool) -> Result<usize, InferError> {
        if !self.mask.len().is_multiple_of(N_ACTIONS) {
            return Err(InferError::Shape {
                what: "mask",
                expected: self.mask.len().div_ceil(N_ACTIONS) * N_ACTIONS,
                got: self.mask.len(),
            });
        }
        let n = self.mask.len() / N_ACTIONS;
        if n == 0 {
            return Err(InferError::EmptyBatch);
        }
        if self.obs.len() != n * OBS_DIM {
            return Err(InferError::Shape {
                what: "obs",
                expected: n * OBS_DIM,
                got: self.obs.len(),
            });
        }
        if needs_frames {
            let got = self.frames.map_or(0, <[u8]>::len);
            if got != n * FRAME_LEN {
                return Err(InferError::Shape {
                    what: "frames",
                    expected: n * FRAME_LEN,
                    got,
                });
            }
        }
        if let Some(row) = self
            .mask
            .chunks_exact(N_ACTIONS)
            .position(|r| !r.contains(&true))
        {
            return Err(InferError::NoLegalAction { row });
        }
        Ok(n)
    }
}

/// What a batch produced, one entry per row.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BatchOutput {
    /// Chosen action indices (0..19).
    pub actions: Vec<u8>,
    /// log π(action | obs).
    pub log_probs: Vec<f32>,
    /// V(obs).
    pub values: Vec<f32>,
    /// Entropy of the masked distribution.
    pub entropies: Vec<f32>,
}

/// Above this fraction of non-zero features the sparse first layer stops
/// paying (the real observations have about 13%).
pub const SPARSE_MAX_DENSITY: f64 = 0.35;

/// A model plus the buffers to act with it.
#[derive(Debug)]
pub struct Actor {
    model: Model,
    device: Device,
    selection: Selection,
    sparse: bool,
    rows: SparseRows,
    log_probs: Vec<f32>,
    out: BatchOutput,
}

impl Actor {
    /// Wraps a model that lives on `device`.
    pub fn new(model: Model, device: Device, selection: Selection) -> Self {
        Self {
            model,
            device,
            selection,
            sparse: true,
            rows: SparseRows::default(),
            log_probs: Vec::new(),
            out: BatchOutput::default(),
        }
    }

    /// Loads a model file ([`model_file::load`]) onto `device`.
    pub fn load(
        path: &Path,
        device: DeviceChoice,
        selection: Selection,
    ) -> Result<Self, InferError> {
        let device = super::device::resolve(device)?;
        Ok(Self::new(
            model_file::load(path, device)?,
            device,
            selection,
        ))
    }

    /// Whether the native network's first layer reads only the features
    /// that are on (the default; off forces the dense product, for
    /// comparison).
    pub fn set_sparse_input(&mut self, sparse: bool) {
        self.sparse = sparse;
    }

    /// The model.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// The model, to update its weights.
    pub fn model_mut(&mut self) -> &mut Model {
        &mut self.model
    }

    /// The selection mode.
    pub fn selection(&self) -> Selection {
        self.selection
    }

    /// One forward over the batch and one action per row; `uniforms` are
    /// numbers in `[0, 1)`, one per row (ignored when greedy).
    pub fn act(
        &mut self,
        input: &BatchInput<'_>,
        uniforms: &[f32],
    ) -> Result<&BatchOutput, InferError> {
        let n = input.rows(self.model.reads_frames())?;
        if self.selection == Selection::Sample && uniforms.len() != n {
            return Err(InferError::Shape {
                what: "uniforms",
                expected: n,
                got: uniforms.len(),
            });
        }
        match &self.model {
            Model::Native(net) => act_native(
                net,
                input,
                n,
                self.sparse.then_some(&mut self.rows),
                &mut self.log_probs,
                self.selection,
                uniforms,
                &mut self.out,
            )?,
            Model::Script(module) => {
                forward_script(
                    module,
                    self.device,
                    input,
                    n,
                    &mut self.log_probs,
                    &mut self.out.values,
                )?;
                select_actions(
                    &self.log_probs,
                    input.mask,
                    self.selection,
                    uniforms,
                    &mut self.out,
                )?;
            }
        }
        Ok(&self.out)
    }
}

/// One forward of the native network over a batch and one action per
/// row, into `out` (actions, their log-probabilities, entropies, values):
/// the acting path every native sampler shares — [`Actor::act`], PPO's
/// rollouts and DAgger's. `log_probs` is scratch; `uniforms` as in
/// [`select_actions`].
#[allow(clippy::too_many_arguments)]
pub fn act_native(
    net: &PolicyNet,
    input: &BatchInput<'_>,
    n: usize,
    sparse: Option<&mut SparseRows>,
    log_probs: &mut Vec<f32>,
    selection: Selection,
    uniforms: &[f32],
    out: &mut BatchOutput,
) -> Result<(), InferError> {
    forward_native(net, input, n, sparse, log_probs, &mut out.values)?;
    select_actions(log_probs, input.mask, selection, uniforms, out)
}

/// `n` numbers in `[0, 1)` from `rng` into `out` (cleared first): the
/// sampling stream of [`select_actions`].
pub fn draw_uniforms(rng: &mut pmd_util::rng::Rng, n: usize, out: &mut Vec<f32>) {
    out.clear();
    out.extend((0..n).map(|_| rng.unit() as f32));
}

/// Runs the native network on a batch (views of the caller's buffers on
/// the CPU) and leaves log-probabilities `[n * 19]` (`-inf` where illegal)
/// and values `[n]` in the given vectors. With `sparse` scratch, batches
/// with at most [`SPARSE_MAX_DENSITY`] non-zero features go through the
/// sparse first layer ([`PolicyNet::forward_sparse_unmasked`]). `n` must
/// come from [`BatchInput::rows`].
pub fn forward_native(
    net: &PolicyNet,
    input: &BatchInput<'_>,
    n: usize,
    sparse: Option<&mut SparseRows>,
    log_probs: &mut Vec<f32>,
    values: &mut Vec<f32>,
) -> Result<(), InferError> {
    let _no_grad = tch::no_grad_guard();
    let rows = n as i64;
    let shape_err = |what, expected, got| InferError::Shape {
        what,
        expected,
        got,
    };
    let device = net.device();
    let reads_frames = net.config().frames;
    let sparse = match sparse {
        Some(s) if device == Device::Cpu && !reads_frames => {
            s.fill(input.obs, SPARSE_MAX_DENSITY).then_some(s)
        }
        _ => None,
    };
    // In each branch the outputs, fresh tensors computed from the views,
    // are copied into Rust memory before the views are dropped.
    if let Some(s) = sparse {
        let view_err = |what| shape_err(what, 0, 0);
        let indices = TensorView::new(&s.indices, &[s.indices.len() as i64])
            .ok_or_else(|| view_err("sparse indices"))?;
        let offsets = TensorView::new(&s.offsets, &[rows]).ok_or_else(|| view_err("offsets"))?;
        let weights = TensorView::new(&s.values, &[s.values.len() as i64])
            .ok_or_else(|| view_err("sparse values"))?;
        let (logits, value) =
            net.forward_sparse_unmasked(indices.tensor(), offsets.tensor(), weights.tensor())?;
        copy_out(&logits, &value, n, log_probs, values)?;
    } else {
        let obs = TensorView::new(input.obs, &[rows, OBS_DIM as i64])
            .ok_or_else(|| shape_err("obs", n * OBS_DIM, input.obs.len()))?;
        let frames = match (reads_frames, input.frames) {
            (true, Some(f)) => Some(
                TensorView::new(
                    f,
                    &[
                        rows,
                        FRAME_CHANNELS as i64,
                        FRAME_HEIGHT as i64,
                        FRAME_WIDTH as i64,
                    ],
                )
                .ok_or_else(|| shape_err("frames", n * FRAME_LEN, f.len()))?,
            ),
            _ => None,
        };
        let (logits, value) = if device == Device::Cpu {
            net.forward_unmasked(obs.tensor(), frames.as_ref().map(TensorView::tensor))?
        } else {
            let frames = frames
                .as_ref()
                .map(|f| f.tensor().f_to_device(device))
                .transpose()?;
            net.forward_unmasked(&obs.tensor().f_to_device(device)?, frames.as_ref())?
        };
        copy_out(&logits, &value, n, log_probs, values)?;
    }
    masked_log_softmax(log_probs, input.mask)
}

fn forward_script(
    module: &ScriptModule,
    device: Device,
    input: &BatchInput<'_>,
    n: usize,
    log_probs: &mut Vec<f32>,
    values: &mut Vec<f32>,
) -> Result<(), InferError> {
    let _no_grad = tch::no_grad_guard();
    let rows = n as i64;
    // A TorchScript module may keep or modify its inputs: copies.
    let obs = Tensor::f_from_slice(input.obs)?
        .f_view([rows, OBS_DIM as i64])?
        .f_to_device(device)?;
    let mask = Tensor::f_from_slice(input.mask)?
        .f_view([rows, N_ACTIONS as i64])?
        .f_to_device(device)?;
    let frames = match (module.reads_frames(), input.frames) {
        (true, Some(f)) => Some(
            Tensor::f_from_slice(f)?
                .f_view([
                    rows,
                    FRAME_CHANNELS as i64,
                    FRAME_HEIGHT as i64,
                    FRAME_WIDTH as i64,
                ])?
                .f_to_device(device)?,
        ),
        _ => None,
    };
    let (logits, value) = module.forward(obs, mask, frames)?;
    copy_out(&logits, &value, n, log_probs, values)?;
    masked_log_softmax(log_probs, input.mask)
}

fn copy_out(
    logits: &Tensor,
    value: &Tensor,
    n: usize,
    log_probs: &mut Vec<f32>,
    values: &mut Vec<f32>,
) -> Result<(), InferError> {
    // Each conversion is a no-op (no libtorch call) when already so.
    let cpu_f32 = |t: &Tensor| -> Result<Tensor, InferError> {
        let t = if t.device() == Device::Cpu {
            t.shallow_clone()
        } else {
            t.f_to_device(Device::Cpu)?
        };
        let t = if t.kind() == Kind::Float {
            t
        } else {
            t.f_to_kind(Kind::Float)?
        };
        Ok(if t.is_contiguous() {
            t
        } else {
            t.f_contiguous()?
        })
    };
    log_probs.resize(n * N_ACTIONS, 0.0);
    cpu_f32(logits)?.f_copy_data(log_probs, n * N_ACTIONS)?;
    values.resize(n, 0.0);
    cpu_f32(value)?.f_copy_data(values, n)?;
    Ok(())
}

/// Turns raw logits `[n * 19]` into log-probabilities over the legal
/// actions, in place; illegal actions get `-inf` (probability 0). Whatever
/// a module put at illegal actions is ignored; a NaN or infinite logit at a
/// legal one is an error.
pub fn masked_log_softmax(logits: &mut [f32], mask: &[bool]) -> Result<(), InferError> {
    for (row, (l, legal)) in logits
        .chunks_exact_mut(N_ACTIONS)
        .zip(mask.chunks_exact(N_ACTIONS))
        .enumerate()
    {
        let mut max = f32::NEG_INFINITY;
        for a in 0..N_ACTIONS {
            if legal[a] {
                if !l[a].is_finite() {
                    return Err(InferError::BadOutput(format!(
                        "row {row}: logit of legal action {a} is {}",
                        l[a]
                    )));
                }
                max = max.max(l[a]);
            }
        }
        if max == f32::NEG_INFINITY {
            return Err(InferError::NoLegalAction { row });
        }
        let sum: f32 = (0..N_ACTIONS)
            .filter(|&a| legal[a])
            .map(|a| (l[a] - max).exp())
            .sum();
        let log_sum = max + sum.ln();
        for a in 0..N_ACTIONS {
            l[a] = if legal[a] {
                l[a] - log_sum
            } else {
                f32::NEG_INFINITY
            };
        }
    }
    Ok(())
}

/// Chooses one action per row from log-probabilities `[n * 19]` and fills
/// `out` (actions, log-probs, entropies; values are left as they are).
pub fn select_actions(
    log_probs: &[f32],
    mask: &[bool],
    selection: Selection,
    uniforms: &[f32],
    out: &mut BatchOutput,
) -> Result<(), InferError> {
    out.actions.clear();
    out.log_probs.clear();
    out.entropies.clear();
    for (row, (lp, legal)) in log_probs
        .chunks_exact(N_ACTIONS)
        .zip(mask.chunks_exact(N_ACTIONS))
        .enumerate()
    {
        let mut entropy = 0.0f32;
        let mut total = 0.0f32;
        let mut best: Option<usize> = None;
        for a in 0..N_ACTIONS {
            if !legal[a] {
                continue;
            }
            if !lp[a].is_finite() {
                return Err(InferError::BadOutput(format!(
                    "row {row}: log-probability of legal action {a} is {}",
                    lp[a]
                )));
            }
            let p = lp[a].exp();
            total += p;
            entropy -= p * lp[a];
            if best.is_none_or(|b| lp[a] > lp[b]) {
                best = Some(a);
            }
        }
        let best = best.ok_or(InferError::NoLegalAction { row })?;
        let action = match selection {
            Selection::Greedy => best,
            Selection::Sample => {
                let u = uniforms.get(row).copied().unwrap_or(0.0).clamp(0.0, 1.0) * total;
                let mut cum = 0.0f32;
                let mut chosen = None;
                let mut last = best;
                for a in (0..N_ACTIONS).filter(|&a| legal[a]) {
                    cum += lp[a].exp();
                    last = a;
                    if u < cum {
                        chosen = Some(a);
                        break;
                    }
                }
                // Rounding can leave u just above the last partial sum.
                chosen.unwrap_or(last)
            }
        };
        out.actions.push(action as u8);
        out.log_probs.push(lp[action]);
        out.entropies.push(entropy);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::infer::NetConfig;
    use pmd_util::rng::Rng;

    fn small_net(seed: u64) -> PolicyNet {
        PolicyNet::new(
            NetConfig {
                hidden: vec![32],
                ..NetConfig::default()
            },
            Device::Cpu,
            seed,
        )
        .unwrap()
    }

    pub(crate) fn batch(n: usize, seed: u64) -> (Vec<f32>, Vec<bool>) {
        let mut rng = Rng::new(seed, 0);
        let obs = (0..n * OBS_DIM)
            .map(|_| if rng.below(10) == 0 { 1.0 } else { 0.0 })
            .collect();
        let mut mask: Vec<bool> = (0..n * N_ACTIONS).map(|_| rng.below(10) < 6).collect();
        for row in mask.chunks_exact_mut(N_ACTIONS) {
            row[16] = true; // wait is always legal
        }
        (obs, mask)
    }

    fn uniforms(n: usize, seed: u64) -> Vec<f32> {
        let mut rng = Rng::new(seed, 1);
        (0..n).map(|_| rng.unit() as f32).collect()
    }

    #[test]
    fn rejects_malformed_batches() {
        let mut actor = Actor::new(Model::Native(small_net(0)), Device::Cpu, Selection::Sample);
        let (obs, mut mask) = batch(2, 0);
        let u = uniforms(2, 0);
        let ok = BatchInput {
            obs: &obs,
            mask: &mask,
            frames: None,
        };
        assert!(actor.act(&ok, &u).is_ok());
        assert!(matches!(
            actor.act(&ok, &u[..1]),
            Err(InferError::Shape {
                what: "uniforms",
                ..
            })
        ));
        let short = BatchInput {
            obs: &obs[1..],
            mask: &mask,
            frames: None,
        };
        assert!(matches!(
            actor.act(&short, &u),
            Err(InferError::Shape { what: "obs", .. })
        ));
        let ragged = BatchInput {
            obs: &obs,
            mask: &mask[1..],
            frames: None,
        };
        assert!(matches!(
            actor.act(&ragged, &u),
            Err(InferError::Shape { what: "mask", .. })
        ));
        let empty = BatchInput {
            obs: &[],
            mask: &[],
            frames: None,
        };
        assert!(matches!(
            actor.act(&empty, &[]),
            Err(InferError::EmptyBatch)
        ));
        mask[N_ACTIONS..].fill(false);
        let none_legal = BatchInput {
            obs: &obs,
            mask: &mask,
            frames: None,
        };
        assert!(matches!(
            actor.act(&none_legal, &u),
            Err(InferError::NoLegalAction { row: 1 })
        ));
    }

    #[test]
    fn actions_are_legal_and_follow_the_uniforms() {
        let (obs, mask) = batch(64, 1);
        let input = BatchInput {
            obs: &obs,
            mask: &mask,
            frames: None,
        };
        let mut a = Actor::new(Model::Native(small_net(3)), Device::Cpu, Selection::Sample);
        let mut b = Actor::new(Model::Native(small_net(3)), Device::Cpu, Selection::Sample);
        let u = uniforms(64, 42);
        let first = a.act(&input, &u).unwrap().clone();
        assert_eq!(&first, b.act(&input, &u).unwrap());
        for (row, &action) in first.actions.iter().enumerate() {
            assert!(
                mask[row * N_ACTIONS + action as usize],
                "row {row} chose illegal {action}"
            );
        }
        // Other numbers, other samples; the same numbers, the same ones.
        let second = a.act(&input, &uniforms(64, 43)).unwrap().clone();
        assert_ne!(first.actions, second.actions);
        assert_eq!(a.act(&input, &u).unwrap(), &first);
    }

    #[test]
    fn log_probs_and_entropy_match_the_distribution() {
        let (obs, mask) = batch(8, 2);
        let input = BatchInput {
            obs: &obs,
            mask: &mask,
            frames: None,
        };
        let net = small_net(5);
        let (mut logp, mut values) = (Vec::new(), Vec::new());
        let mut rows = SparseRows::default();
        forward_native(&net, &input, 8, Some(&mut rows), &mut logp, &mut values).unwrap();
        for (row, lp) in logp.chunks_exact(N_ACTIONS).enumerate() {
            let legal = &mask[row * N_ACTIONS..(row + 1) * N_ACTIONS];
            let total: f32 = lp
                .iter()
                .zip(legal)
                .filter(|(_, &l)| l)
                .map(|(x, _)| x.exp())
                .sum();
            assert!((total - 1.0).abs() < 1e-5, "row {row} sums to {total}");
            assert!(lp
                .iter()
                .zip(legal)
                .all(|(x, &l)| l || *x == f32::NEG_INFINITY));
        }
        let mut out = BatchOutput::default();
        select_actions(&logp, &mask, Selection::Greedy, &[], &mut out).unwrap();
        for (row, &a) in out.actions.iter().enumerate() {
            let lp = &logp[row * N_ACTIONS..(row + 1) * N_ACTIONS];
            let max = (0..N_ACTIONS)
                .filter(|&i| mask[row * N_ACTIONS + i])
                .map(|i| lp[i])
                .fold(f32::NEG_INFINITY, f32::max);
            assert_eq!(lp[a as usize], max);
            assert_eq!(out.log_probs[row], lp[a as usize]);
            let h: f32 = lp
                .iter()
                .filter(|x| x.is_finite())
                .map(|&x| -x.exp() * x)
                .sum();
            assert!((out.entropies[row] - h).abs() < 1e-4);
        }
    }

    #[test]
    fn sparse_and_dense_first_layers_agree() {
        let net = PolicyNet::new(
            NetConfig {
                hidden: vec![48, 24],
                ..NetConfig::default()
            },
            Device::Cpu,
            9,
        )
        .unwrap();
        let (mut obs, mask) = batch(70, 3);
        obs[..OBS_DIM].fill(0.0); // an empty row
        obs[OBS_DIM + 5] = 0.37; // non-binary scalars
        obs[2 * OBS_DIM - 1] = -2.5;
        let input = BatchInput {
            obs: &obs,
            mask: &mask,
            frames: None,
        };
        let (mut sparse_lp, mut sparse_v) = (Vec::new(), Vec::new());
        let mut rows = SparseRows::default();
        forward_native(
            &net,
            &input,
            70,
            Some(&mut rows),
            &mut sparse_lp,
            &mut sparse_v,
        )
        .unwrap();
        assert_eq!(rows.rows(), 70, "the sparse path was taken");
        let (mut dense_lp, mut dense_v) = (Vec::new(), Vec::new());
        forward_native(&net, &input, 70, None, &mut dense_lp, &mut dense_v).unwrap();
        for (a, b) in sparse_lp.iter().zip(&dense_lp) {
            assert!(a == b || (a - b).abs() < 1e-4, "{a} vs {b}");
        }
        for (a, b) in sparse_v.iter().zip(&dense_v) {
            assert!((a - b).abs() < 1e-4, "{a} vs {b}");
        }
        // Too dense: the dense path is taken, same results as without
        // sparse scratch.
        let full = vec![1.0f32; 2 * OBS_DIM];
        let input = BatchInput {
            obs: &full,
            mask: &mask[..2 * N_ACTIONS],
            frames: None,
        };
        let (mut lp1, mut v1, mut lp2, mut v2) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        forward_native(&net, &input, 2, Some(&mut rows), &mut lp1, &mut v1).unwrap();
        forward_native(&net, &input, 2, None, &mut lp2, &mut v2).unwrap();
        assert_eq!(v1, v2);
    }

    #[test]
    fn masking_ignores_illegal_garbage_and_refuses_bad_legal_logits() {
        let mut mask = vec![false; N_ACTIONS];
        mask[1] = true;
        mask[5] = true;
        let mut logits = vec![f32::NAN; N_ACTIONS];
        logits[0] = f32::INFINITY;
        logits[1] = 2.0;
        logits[5] = 2.0 + 2f32.ln(); // twice as likely as action 1
        masked_log_softmax(&mut logits, &mask).unwrap();
        assert!((logits[1].exp() - 1.0 / 3.0).abs() < 1e-6);
        assert!((logits[5].exp() - 2.0 / 3.0).abs() < 1e-6);
        assert!(logits
            .iter()
            .enumerate()
            .all(|(a, &x)| mask[a] || x == f32::NEG_INFINITY));
        let mut bad = vec![0.0; N_ACTIONS];
        bad[5] = f32::NAN;
        assert!(matches!(
            masked_log_softmax(&mut bad, &mask),
            Err(InferError::BadOutput(_))
        ));
        let mut none = vec![0.0; N_ACTIONS];
        assert!(matches!(
            masked_log_softmax(&mut none, &[false; N_ACTIONS]),
            Err(InferError::NoLegalAction { row: 0 })
        ));
    }

    #[test]
    fn sampling_follows_the_probabilities() {
        // Row: three legal actions with probabilities 0.5, 0.3, 0.2.
        let mut logp = vec![f32::NEG_INFINITY; N_ACTIONS];
        let mut mask = vec![false; N_ACTIONS];
        for (a, p) in [(2usize, 0.5f32), (7, 0.3), (18, 0.2)] {
            logp[a] = p.ln();
            mask[a] = true;
        }
        let mut out = BatchOutput::default();
        let mut pick = |u: f32| {
            select_actions(&logp, &mask, Selection::Sample, &[u], &mut out).unwrap();
            out.actions[0]
        };
        assert_eq!(pick(0.0), 2);
        assert_eq!(pick(0.49), 2);
        assert_eq!(pick(0.51), 7);
        assert_eq!(pick(0.79), 7);
        assert_eq!(pick(0.81), 18);
        assert_eq!(pick(0.999_999), 18);
    }
}
