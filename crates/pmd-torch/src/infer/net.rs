//! The actor-critic network: observation features (and optionally the
//! downsampled frame) → shared trunk → 19 masked action logits and a value.
//!
//! The forward pass is written once, as a function of an ordered list of
//! parameter tensors ([`forward_with`]). Training and native inference pass
//! the `VarStore`'s variables; the TorchScript export passes slices of one
//! flat tensor, so that the exported archive stores every weight in a
//! single constant (see [`super::model_file`]).

use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use tch::{nn, Device, Kind, Tensor};

use super::contract::{
    FRAME_CHANNELS, FRAME_HEIGHT, FRAME_WIDTH, MASKED_LOGIT, N_ACTIONS, OBS_DIM,
};
use super::InferError;

/// The hidden non-linearity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    /// max(0, x).
    #[default]
    Relu,
    /// tanh(x).
    Tanh,
}

/// The shape of the network. Saved with every model file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetConfig {
    /// Widths of the shared trunk's hidden layers (at least one).
    pub hidden: Vec<usize>,
    /// The hidden non-linearity.
    pub activation: Activation,
    /// Whether a small CNN reads the `u8 [N, 1, 80, 120]` frame; its 128
    /// features are concatenated to the observation features.
    pub frames: bool,
}

impl Default for NetConfig {
    /// 2395 → 128 → 128 → (19 logits, 1 value), ReLU, no frames: about
    /// 325,000 parameters, a 1.3 MB model file.
    fn default() -> Self {
        Self {
            hidden: vec![128, 128],
            activation: Activation::Relu,
            frames: false,
        }
    }
}

/// Output width of the frame encoder.
const FRAME_FEATURES: i64 = 128;
/// (out channels, kernel, stride) of the frame encoder's convolutions:
/// 80x120 → 19x29 → 8x13 → 3x6.
const CONVS: [(i64, i64, i64); 3] = [(16, 8, 4), (32, 4, 2), (32, 3, 2)];

/// One parameter: its name in the `VarStore`, its shape and how it is
/// initialised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParamSpec {
    /// Dotted name (`trunk.0.weight`).
    pub name: String,
    /// Shape.
    pub shape: Vec<i64>,
}

impl ParamSpec {
    /// Number of elements.
    pub fn numel(&self) -> usize {
        self.shape
            .iter()
            .map(|&d| usize::try_from(d).unwrap_or(0))
            .product()
    }
}

impl NetConfig {
    /// Checks the configuration can be built.
    pub fn validate(&self) -> Result<(), InferError> {
        if self.hidden.is_empty() {
            return Err(InferError::BadConfig(
                "at least one hidden layer is needed".into(),
            ));
        }
        if self.hidden.len() > 16 || self.hidden.iter().any(|&h| h == 0 || h > 65_536) {
            return Err(InferError::BadConfig(format!(
                "hidden widths must be 1..=65536, at most 16 layers: {:?}",
                self.hidden
            )));
        }
        Ok(())
    }

    /// Every parameter in the canonical order [`forward_with`] expects:
    /// frame encoder (if any), trunk, policy head, value head; weight
    /// before bias.
    pub fn param_specs(&self) -> Vec<ParamSpec> {
        let mut specs = Vec::new();
        let mut push = |name: String, shape: Vec<i64>| specs.push(ParamSpec { name, shape });
        let mut input = OBS_DIM as i64;
        if self.frames {
            let mut channels = FRAME_CHANNELS as i64;
            for (i, (out, kernel, _)) in CONVS.iter().enumerate() {
                push(
                    format!("frame.conv{i}.weight"),
                    vec![*out, channels, *kernel, *kernel],
                );
                push(format!("frame.conv{i}.bias"), vec![*out]);
                channels = *out;
            }
            push(
                "frame.fc.weight".into(),
                vec![FRAME_FEATURES, conv_output_len()],
            );
            push("frame.fc.bias".into(), vec![FRAME_FEATURES]);
            input += FRAME_FEATURES;
        }
        for (i, &width) in self.hidden.iter().enumerate() {
            let width = width as i64;
            // The first layer's weight is input-major (see forward_with).
            let shape = if i == 0 {
                vec![input, width]
            } else {
                vec![width, input]
            };
            push(format!("trunk.{i}.weight"), shape);
            push(format!("trunk.{i}.bias"), vec![width]);
            input = width;
        }
        push("policy.weight".into(), vec![N_ACTIONS as i64, input]);
        push("policy.bias".into(), vec![N_ACTIONS as i64]);
        push("value.weight".into(), vec![1, input]);
        push("value.bias".into(), vec![1]);
        specs
    }

    /// Number of parameter tensors (without building their specs).
    pub fn num_tensors(&self) -> usize {
        2 * self.hidden.len() + 4 + if self.frames { 2 * CONVS.len() + 2 } else { 0 }
    }

    /// Total number of parameters.
    pub fn num_params(&self) -> usize {
        self.param_specs().iter().map(ParamSpec::numel).sum()
    }
}

/// Flattened length of the last convolution's output.
fn conv_output_len() -> i64 {
    let (mut h, mut w) = (FRAME_HEIGHT as i64, FRAME_WIDTH as i64);
    for (_, kernel, stride) in CONVS {
        h = (h - kernel) / stride + 1;
        w = (w - kernel) / stride + 1;
    }
    CONVS[CONVS.len() - 1].0 * h * w
}

/// Network initialisation draws from libtorch's process-wide generator;
/// holding this while seeding and drawing makes it reproducible when
/// several networks are built at once.
static INIT_LOCK: Mutex<()> = Mutex::new(());

/// The actor-critic network and its variables.
#[derive(Debug)]
pub struct PolicyNet {
    vs: nn::VarStore,
    config: NetConfig,
    /// Shallow clones of the variables in canonical order.
    params: Vec<Tensor>,
}

impl PolicyNet {
    /// A freshly initialised network. The same `seed` gives the same
    /// weights: orthogonal init (gain √2 for hidden layers, 0.01 for the
    /// policy head so the first policy is near uniform, 1 for the value
    /// head), Kaiming-uniform convolutions, and zero biases.
    pub fn new(config: NetConfig, device: Device, seed: u64) -> Result<Self, InferError> {
        config.validate()?;
        let vs = nn::VarStore::new(device);
        let specs = config.param_specs();
        let mut params = Vec::with_capacity(specs.len());
        {
            let _guard = INIT_LOCK.lock().unwrap_or_else(|e| e.into_inner());
            // libtorch seeds are i64; the bit pattern is what matters.
            tch::manual_seed(seed as i64);
            let root = vs.root();
            for spec in &specs {
                let init = if spec.name.ends_with(".bias") {
                    nn::Init::Const(0.0)
                } else if spec.shape.len() > 2 {
                    // tch's orthogonal init returns a 2-D tensor whatever
                    // the shape asked for; convolutions use Kaiming.
                    nn::init::DEFAULT_KAIMING_UNIFORM
                } else if spec.name.starts_with("policy.") {
                    nn::Init::Orthogonal { gain: 0.01 }
                } else if spec.name.starts_with("value.") {
                    nn::Init::Orthogonal { gain: 1.0 }
                } else {
                    nn::Init::Orthogonal {
                        gain: std::f64::consts::SQRT_2,
                    }
                };
                // tch names variables by path segments joined with '.'.
                let (dir, leaf) = spec
                    .name
                    .rsplit_once('.')
                    .unwrap_or(("", spec.name.as_str()));
                let path = dir
                    .split('.')
                    .filter(|s| !s.is_empty())
                    .fold(root.clone(), |p, seg| &p / seg);
                params.push(path.f_var(leaf, &spec.shape, init)?);
            }
        }
        Ok(Self { vs, config, params })
    }

    /// The configuration.
    pub fn config(&self) -> &NetConfig {
        &self.config
    }

    /// The device the variables live on.
    pub fn device(&self) -> Device {
        self.vs.device()
    }

    /// The variable store (for optimisers).
    pub fn var_store(&self) -> &nn::VarStore {
        &self.vs
    }

    /// The variables in canonical order ([`NetConfig::param_specs`]).
    pub fn params(&self) -> &[Tensor] {
        &self.params
    }

    /// Forward pass: masked logits `f32 [N, 19]` (illegal actions set to
    /// [`MASKED_LOGIT`]) and values `f32 [N]`. Differentiable unless run
    /// under `tch::no_grad`.
    pub fn forward(
        &self,
        obs: &Tensor,
        mask: &Tensor,
        frames: Option<&Tensor>,
    ) -> Result<(Tensor, Tensor), InferError> {
        forward_with(&self.params, &self.config, obs, Some(mask), frames)
    }

    /// [`forward_sparse_with`] over this network's variables, unmasked.
    pub fn forward_sparse_unmasked(
        &self,
        indices: &Tensor,
        offsets: &Tensor,
        values: &Tensor,
    ) -> Result<(Tensor, Tensor), InferError> {
        forward_sparse_with(&self.params, &self.config, indices, offsets, values, None)
    }

    /// Forward pass without the mask: raw logits `[N, 19]` and values
    /// `[N]`. Inference masks in Rust instead (three fewer libtorch calls
    /// per batch, which is what a batch of one costs).
    pub fn forward_unmasked(
        &self,
        obs: &Tensor,
        frames: Option<&Tensor>,
    ) -> Result<(Tensor, Tensor), InferError> {
        forward_with(&self.params, &self.config, obs, None, frames)
    }

    /// Copies `values` (canonical order, flat f32) into the variables.
    pub(crate) fn load_flat(&mut self, values: &[f32]) -> Result<(), InferError> {
        let expected = self.config.num_params();
        if values.len() != expected {
            return Err(InferError::Shape {
                what: "parameters",
                expected,
                got: values.len(),
            });
        }
        let _no_grad = tch::no_grad_guard();
        let mut offset = 0;
        for param in &mut self.params {
            let numel = param.numel();
            let src = Tensor::from_slice(&values[offset..offset + numel])
                .f_view(param.size().as_slice())?
                .f_to_device(param.device())?;
            param.f_copy_(&src)?;
            offset += numel;
        }
        Ok(())
    }

    /// All parameters as one flat CPU tensor, canonical order.
    pub(crate) fn flat_params(&self) -> Result<Tensor, InferError> {
        let _no_grad = tch::no_grad_guard();
        let parts = self
            .params
            .iter()
            .map(|p| p.f_detach()?.f_to_device(Device::Cpu)?.f_flatten(0, -1))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Tensor::f_cat(&parts, 0)?.f_contiguous()?)
    }

    /// Copies another network's weights into this one (same config).
    pub fn copy_from(&mut self, other: &PolicyNet) -> Result<(), InferError> {
        if other.config != self.config {
            return Err(InferError::BadConfig(
                "copy between different networks".into(),
            ));
        }
        let _no_grad = tch::no_grad_guard();
        for (dst, src) in self.params.iter_mut().zip(&other.params) {
            dst.f_copy_(&src.f_to_device(dst.device())?)?;
        }
        Ok(())
    }
}

/// The forward pass over explicit parameters (canonical order).
///
/// Inputs: `obs f32 [N, 2395]`, `mask bool [N, 19]` (true = legal; with
/// `None` the logits come back unmasked), `frames u8 [N, 1, 80, 120]` when
/// `config.frames`. Only out-of-place
/// operations touch the inputs, so they may be views of borrowed memory.
pub fn forward_with(
    params: &[Tensor],
    config: &NetConfig,
    obs: &Tensor,
    mask: Option<&Tensor>,
    frames: Option<&Tensor>,
) -> Result<(Tensor, Tensor), InferError> {
    let expected = config.num_tensors();
    if params.len() != expected {
        return Err(InferError::Shape {
            what: "parameter tensors",
            expected,
            got: params.len(),
        });
    }
    let mut p = params.iter();
    let mut x = obs.shallow_clone();
    if config.frames {
        let frames = frames
            .ok_or_else(|| InferError::BadConfig("this network reads frames; none given".into()))?;
        let mut f = frames.f_to_kind(Kind::Float)?.f_mul_scalar(1.0 / 255.0)?;
        for (_, _, stride) in CONVS {
            let (w, b) = (next(&mut p)?, next(&mut p)?);
            f = f
                .f_conv2d(w, Some(b), [stride, stride], [0, 0], [1, 1], 1)?
                .f_relu()?;
        }
        let f = f.f_flatten(1, -1)?;
        let (w, b) = (next(&mut p)?, next(&mut p)?);
        let f = f.f_linear(w, Some(b))?.f_relu()?;
        x = Tensor::f_cat(&[x, f], 1)?;
    }
    // The first weight is stored input-major ([in, out]): `b + x·W` is one
    // addmm, and the sparse path reads W's rows as embeddings.
    let (w, b) = (next(&mut p)?, next(&mut p)?);
    let h = b.f_addmm(&x, w)?;
    forward_tail(&mut p, config, h, mask)
}

/// The same network from a sparse observation batch: row `r`'s non-zero
/// features are `indices[offsets[r]..offsets[r+1]]` with values `values[..]`.
/// The first layer becomes a weighted sum of the first weight's rows
/// (`embedding_bag`), which reads only the rows of features that are on.
/// Same function as [`forward_with`] (up to float summation order); not for
/// networks that read frames.
pub fn forward_sparse_with(
    params: &[Tensor],
    config: &NetConfig,
    indices: &Tensor,
    offsets: &Tensor,
    values: &Tensor,
    mask: Option<&Tensor>,
) -> Result<(Tensor, Tensor), InferError> {
    if config.frames {
        return Err(InferError::BadConfig(
            "the sparse path does not read frames".into(),
        ));
    }
    if params.len() != config.num_tensors() {
        return Err(InferError::Shape {
            what: "parameter tensors",
            expected: config.num_tensors(),
            got: params.len(),
        });
    }
    let mut p = params.iter();
    let (w, b) = (next(&mut p)?, next(&mut p)?);
    let (sum, _, _, _) =
        Tensor::f_embedding_bag(w, indices, offsets, false, 0, false, Some(values), false)?;
    forward_tail(&mut p, config, sum.f_add(b)?, mask)
}

fn next<'t>(p: &mut std::slice::Iter<'t, Tensor>) -> Result<&'t Tensor, InferError> {
    p.next()
        .ok_or_else(|| InferError::BadConfig("missing parameter".into()))
}

/// From the first hidden layer's pre-activation to the heads.
fn forward_tail(
    p: &mut std::slice::Iter<'_, Tensor>,
    config: &NetConfig,
    first: Tensor,
    mask: Option<&Tensor>,
) -> Result<(Tensor, Tensor), InferError> {
    let act = |x: Tensor| -> Result<Tensor, InferError> {
        Ok(match config.activation {
            Activation::Relu => x.f_relu()?,
            Activation::Tanh => x.f_tanh()?,
        })
    };
    let mut x = act(first)?;
    for _ in 1..config.hidden.len() {
        let (w, b) = (next(p)?, next(p)?);
        x = act(x.f_linear(w, Some(b))?)?;
    }
    let (pw, pb) = (next(p)?, next(p)?);
    let logits = x.f_linear(pw, Some(pb))?;
    let logits = match mask {
        Some(mask) => logits.f_masked_fill(&mask.f_logical_not()?, MASKED_LOGIT)?,
        None => logits,
    };
    let (vw, vb) = (next(p)?, next(p)?);
    let value = x.f_linear(vw, Some(vb))?.f_squeeze_dim(-1)?;
    Ok((logits, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_config_size() {
        let config = NetConfig::default();
        // 2395*128+128 + 128*128+128 + 128*19+19 + 128+1
        assert_eq!(config.num_params(), 325_780);
        let with_frames = NetConfig {
            frames: true,
            ..NetConfig::default()
        };
        assert_eq!(conv_output_len(), 32 * 3 * 6);
        assert!(with_frames.num_params() > config.num_params());
        for c in [&config, &with_frames] {
            assert_eq!(c.num_tensors(), c.param_specs().len());
        }
    }

    #[test]
    fn rejects_bad_configs() {
        for hidden in [vec![], vec![0], vec![1_000_000]] {
            let config = NetConfig {
                hidden,
                ..NetConfig::default()
            };
            assert!(PolicyNet::new(config, Device::Cpu, 0).is_err());
        }
    }

    #[test]
    fn same_seed_same_weights() {
        let config = NetConfig {
            hidden: vec![16],
            ..NetConfig::default()
        };
        let a = PolicyNet::new(config.clone(), Device::Cpu, 7).unwrap();
        let b = PolicyNet::new(config.clone(), Device::Cpu, 7).unwrap();
        let c = PolicyNet::new(config, Device::Cpu, 8).unwrap();
        let (fa, fb, fc) = (
            a.flat_params().unwrap(),
            b.flat_params().unwrap(),
            c.flat_params().unwrap(),
        );
        assert!(fa.equal(&fb));
        assert!(!fa.equal(&fc));
    }

    #[test]
    fn masked_logits_and_shapes() {
        let config = NetConfig {
            hidden: vec![32, 16],
            ..NetConfig::default()
        };
        let net = PolicyNet::new(config, Device::Cpu, 1).unwrap();
        // Inputs from our own stream, not libtorch's global generator: a
        // draw from it here would race with another test's seeded
        // initialisation (same_seed_same_weights) in this test binary.
        let mut rng = pmd_util::rng::Rng::new(5, 0);
        let rows: Vec<f32> = (0..3 * OBS_DIM).map(|_| rng.unit() as f32).collect();
        let obs = Tensor::from_slice(&rows).view([3, OBS_DIM as i64]);
        let mut mask = vec![true; 3 * N_ACTIONS];
        mask[4] = false;
        mask[N_ACTIONS + 18] = false;
        let mask_t = Tensor::from_slice(&mask).view([3, N_ACTIONS as i64]);
        let (logits, value) = net.forward(&obs, &mask_t, None).unwrap();
        assert_eq!(logits.size(), [3, N_ACTIONS as i64]);
        assert_eq!(value.size(), [3]);
        let l: Vec<f32> = Vec::try_from(logits.flatten(0, -1)).unwrap();
        assert_eq!(l[4], MASKED_LOGIT as f32);
        assert_eq!(l[N_ACTIONS + 18], MASKED_LOGIT as f32);
        assert!(l.iter().all(|x| x.is_finite()));
        // Masked actions get no probability and no NaN.
        let p: Vec<f32> = Vec::try_from(logits.softmax(-1, Kind::Float).flatten(0, -1)).unwrap();
        assert_eq!(p[4], 0.0);
        assert!(p.iter().all(|x| x.is_finite()));
    }

    #[test]
    fn frames_network_runs() {
        let config = NetConfig {
            hidden: vec![8],
            frames: true,
            ..NetConfig::default()
        };
        let net = PolicyNet::new(config, Device::Cpu, 2).unwrap();
        let obs = Tensor::zeros([2, OBS_DIM as i64], (Kind::Float, Device::Cpu));
        let mask = Tensor::ones([2, N_ACTIONS as i64], (Kind::Bool, Device::Cpu));
        let frames = Tensor::full(
            [
                2,
                FRAME_CHANNELS as i64,
                FRAME_HEIGHT as i64,
                FRAME_WIDTH as i64,
            ],
            200,
            (Kind::Uint8, Device::Cpu),
        );
        let (logits, value) = net.forward(&obs, &mask, Some(&frames)).unwrap();
        assert_eq!(logits.size(), [2, N_ACTIONS as i64]);
        assert_eq!(value.size(), [2]);
        assert!(net.forward(&obs, &mask, None).is_err());
    }
}
