//! [`NetGuide`]: a model file's network as a search's [`Guide`], run in
//! plain Rust.
//!
//! A guided search evaluates one observation at a time, from inside its
//! branches, on every worker of the rollout pool at once. A libtorch call
//! per evaluation would cost its fixed overhead (~25 µs at batch 1) and
//! share libtorch's thread pool between the workers; the network is small
//! (one sparse first layer over binary features, two narrow layers), so
//! the weights are copied once into plain vectors and evaluated here:
//! the first layer sums the weight rows of the features that are on, as
//! the sparse libtorch path does (`infer::sparse`). The same function as
//! [`crate::infer::net::forward_with`] up to float summation order (a test
//! compares them).

use std::path::Path;
use std::sync::Arc;

use tch::{Device, Kind, Tensor};

use super::contract::{N_ACTIONS, OBS_DIM};
use super::net::{Activation, PolicyNet};
use super::{model_file, InferError};
use pmd_rollout::policy::{Guide, PolicyError};

/// One dense layer, `[out, in]` row-major.
#[derive(Debug, Clone)]
struct Dense {
    weight: Vec<f32>,
    bias: Vec<f32>,
    inputs: usize,
}

impl Dense {
    fn apply(&self, x: &[f32], out: &mut Vec<f32>) {
        out.clear();
        out.extend(self.bias.iter().enumerate().map(|(o, b)| {
            let row = &self.weight[o * self.inputs..][..self.inputs];
            b + row.iter().zip(x).map(|(w, v)| w * v).sum::<f32>()
        }));
    }
}

/// A policy network's weights in plain vectors (see the module docs).
#[derive(Debug, Clone)]
pub struct NetGuide {
    /// The first layer, input-major: row `j` is feature `j`'s weights.
    first: Vec<f32>,
    first_bias: Vec<f32>,
    trunk: Vec<Dense>,
    policy: Dense,
    value: Dense,
    activation: Activation,
}

fn values(t: &Tensor) -> Result<Vec<f32>, InferError> {
    let t = t
        .f_to_device(Device::Cpu)?
        .f_to_kind(Kind::Float)?
        .f_contiguous()?;
    let n = t.numel();
    let mut out = vec![0f32; n];
    t.f_copy_data(&mut out, n)?;
    Ok(out)
}

impl NetGuide {
    /// Copies `net`'s weights (networks that read frames are refused: a
    /// search has no frames to give).
    pub fn from_net(net: &PolicyNet) -> Result<NetGuide, InferError> {
        let config = net.config();
        if config.frames {
            return Err(InferError::BadConfig(
                "a network that reads frames cannot guide a search".into(),
            ));
        }
        let params = net.params();
        let mut p = params.iter();
        let mut next = || -> Result<Vec<f32>, InferError> {
            values(
                p.next()
                    .ok_or_else(|| InferError::BadConfig("missing parameter".into()))?,
            )
        };
        let (first, first_bias) = (next()?, next()?);
        let mut width = first_bias.len();
        if first.len() != OBS_DIM * width {
            return Err(InferError::BadConfig(format!(
                "the first layer has {} weights, not {OBS_DIM} x {width}",
                first.len()
            )));
        }
        let mut dense = |inputs: usize| -> Result<Dense, InferError> {
            let (weight, bias) = (next()?, next()?);
            if weight.len() != bias.len() * inputs {
                return Err(InferError::BadConfig(format!(
                    "a layer of {} outputs has {} weights for {inputs} inputs",
                    bias.len(),
                    weight.len()
                )));
            }
            Ok(Dense {
                weight,
                bias,
                inputs,
            })
        };
        let mut trunk = Vec::new();
        for _ in 1..config.hidden.len() {
            let layer = dense(width)?;
            width = layer.bias.len();
            trunk.push(layer);
        }
        let policy = dense(width)?;
        let value = dense(width)?;
        if policy.bias.len() != N_ACTIONS || value.bias.len() != 1 {
            return Err(InferError::BadConfig(
                "the heads are not 19 logits and one value".into(),
            ));
        }
        Ok(NetGuide {
            first,
            first_bias,
            trunk,
            policy,
            value,
            activation: config.activation,
        })
    }

    /// Loads the network of the model file at `path`.
    pub fn load(path: &Path) -> Result<NetGuide, InferError> {
        NetGuide::from_net(&model_file::load_net(path, Device::Cpu)?)
    }

    fn activate(&self, x: &mut [f32]) {
        match self.activation {
            Activation::Relu => x.iter_mut().for_each(|v| *v = v.max(0.0)),
            Activation::Tanh => x.iter_mut().for_each(|v| *v = v.tanh()),
        }
    }

    /// Logits (unmasked) and value of one observation row.
    pub fn forward(&self, features: &[f32], logits: &mut [f32; N_ACTIONS]) -> f32 {
        let width = self.first_bias.len();
        let mut h = self.first_bias.clone();
        for (j, &v) in features.iter().enumerate().take(OBS_DIM) {
            if v != 0.0 {
                let row = &self.first[j * width..][..width];
                h.iter_mut().zip(row).for_each(|(a, w)| *a += v * w);
            }
        }
        self.activate(&mut h);
        let mut next = Vec::new();
        for layer in &self.trunk {
            layer.apply(&h, &mut next);
            std::mem::swap(&mut h, &mut next);
            self.activate(&mut h);
        }
        self.policy.apply(&h, &mut next);
        logits.copy_from_slice(&next);
        self.value.apply(&h, &mut next);
        next[0]
    }
}

impl Guide for NetGuide {
    fn evaluate(&self, features: &[f32], logits: &mut [f32; N_ACTIONS]) -> f32 {
        self.forward(features, logits)
    }
}

/// The loader `search:…:guide=PATH` specs use (see [`crate::install`]).
pub fn load_guide(path: &Path) -> Result<Arc<dyn Guide>, PolicyError> {
    NetGuide::load(path)
        .map(|g| Arc::new(g) as Arc<dyn Guide>)
        .map_err(|e| PolicyError::Unavailable {
            policy: format!("search guide {}", path.display()),
            reason: e.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::infer::net::NetConfig;

    #[test]
    fn the_plain_forward_matches_libtorch() {
        let mut net = PolicyNet::new(NetConfig::default(), Device::Cpu, 7).unwrap();
        // Every parameter random, biases too (a fresh network's are 0).
        let mut rng = pmd_util::rng::Rng::new(3, 0);
        let flat: Vec<f32> = (0..net.config().num_params())
            .map(|_| (rng.unit() as f32 - 0.5) * 0.2)
            .collect();
        net.load_flat(&flat).unwrap();
        let guide = NetGuide::from_net(&net).unwrap();
        let rows = 4;
        let obs: Vec<f32> = (0..rows * OBS_DIM)
            .map(|_| f32::from(u8::from(rng.below(20) == 0)))
            .collect();
        let x = Tensor::from_slice(&obs).view([rows as i64, OBS_DIM as i64]);
        let (logits, value) = net.forward_unmasked(&x, None).unwrap();
        let logits = values(&logits).unwrap();
        let value = values(&value).unwrap();
        for r in 0..rows {
            let mut l = [0f32; N_ACTIONS];
            let v = guide.forward(&obs[r * OBS_DIM..][..OBS_DIM], &mut l);
            for (a, b) in l.iter().zip(&logits[r * N_ACTIONS..][..N_ACTIONS]) {
                assert!((a - b).abs() < 1e-4, "{a} against {b}");
            }
            assert!((v - value[r]).abs() < 1e-4, "{v} against {}", value[r]);
        }
    }

    #[test]
    fn a_missing_model_file_is_a_policy_error() {
        let err = match load_guide(Path::new("/nonexistent/guide.pt")) {
            Err(e) => e.to_string(),
            Ok(_) => panic!("a missing file loaded"),
        };
        assert!(err.contains("/nonexistent/guide.pt"), "{err}");
    }
}
