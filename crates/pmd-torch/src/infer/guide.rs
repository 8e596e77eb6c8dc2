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

use tch::Device;

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

impl NetGuide {
    /// Copies `net`'s weights (networks that read frames are refused: a
    /// search has no frames to give): one flat copy
    /// ([`PolicyNet::flat_params`]) cut in the canonical order and shapes
    /// of [`NetConfig::param_specs`](super::net::NetConfig::param_specs).
    pub fn from_net(net: &PolicyNet) -> Result<NetGuide, InferError> {
        let config = net.config();
        if config.frames {
            return Err(InferError::BadConfig(
                "a network that reads frames cannot guide a search".into(),
            ));
        }
        let flat = net.flat_params()?;
        let n = flat.numel();
        let mut all = vec![0f32; n];
        flat.f_copy_data(&mut all, n)?;
        if all.len() != config.num_params() {
            return Err(InferError::Shape {
                what: "parameters",
                expected: config.num_params(),
                got: all.len(),
            });
        }
        let specs = config.param_specs();
        let mut rest = &all[..];
        let mut parts = specs.iter().map(|spec| {
            let (part, tail) = rest.split_at(spec.numel().min(rest.len()));
            rest = tail;
            (part.to_vec(), spec.shape.last().map_or(0, |&d| d as usize))
        });
        let mut next = || {
            parts
                .next()
                .ok_or_else(|| InferError::BadConfig("missing parameter".into()))
        };
        // The first weight is input-major ([in, out]); the others [out, in].
        let (first, _) = next()?;
        let (first_bias, _) = next()?;
        let mut dense = || -> Result<Dense, InferError> {
            let (weight, inputs) = next()?;
            let (bias, _) = next()?;
            Ok(Dense {
                weight,
                bias,
                inputs,
            })
        };
        let trunk = (1..config.hidden.len())
            .map(|_| dense())
            .collect::<Result<Vec<_>, _>>()?;
        let policy = dense()?;
        let value = dense()?;
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
    use tch::{Kind, Tensor};

    fn values(t: &Tensor) -> Vec<f32> {
        let t = t.to_kind(Kind::Float).contiguous();
        let n = t.numel();
        let mut out = vec![0f32; n];
        t.copy_data(&mut out, n);
        out
    }

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
        let logits = values(&logits);
        let value = values(&value);
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
