//! TorchScript modules that follow the contract in [`super::contract`].

use std::path::Path;

use tch::{CModule, Device, IValue, Kind, Tensor};

use super::contract::N_ACTIONS;
use super::InferError;

/// A TorchScript policy module loaded with `CModule::load`.
#[derive(Debug)]
pub struct ScriptModule {
    module: CModule,
    frames: bool,
}

impl ScriptModule {
    /// Loads a module saved by `torch.jit.save` (or by
    /// [`super::model_file::save`]) onto `device`, in eval mode. With
    /// `frames`, `forward` gets the frames as a third argument.
    pub fn load(path: &Path, device: Device, frames: bool) -> Result<Self, InferError> {
        if !path.is_file() {
            return Err(InferError::bad_file(path, "no such file"));
        }
        let mut module = CModule::load_on_device(path, device)
            .map_err(|e| InferError::bad_file(path, format!("not a TorchScript module: {e}")))?;
        module.f_set_eval()?;
        Ok(Self { module, frames })
    }

    /// Whether the module takes frames.
    pub fn reads_frames(&self) -> bool {
        self.frames
    }

    /// Runs `forward(obs, mask[, frames])` and returns `(logits [N, 19],
    /// value [N])`, checking the output against the contract. The inputs
    /// must be tensors the module may keep or modify (not views of
    /// borrowed memory).
    pub fn forward(
        &self,
        obs: Tensor,
        mask: Tensor,
        frames: Option<Tensor>,
    ) -> Result<(Tensor, Tensor), InferError> {
        let n = obs.size().first().copied().unwrap_or(0);
        let mut args = vec![IValue::Tensor(obs), IValue::Tensor(mask)];
        if self.frames {
            let frames = frames.ok_or_else(|| {
                InferError::BadConfig("this module reads frames; none given".into())
            })?;
            args.push(IValue::Tensor(frames));
        }
        let output = self.module.forward_is(&args)?;
        split_output(output, n)
    }
}

/// Accepts `(logits [N,19], value [N] | [N,1])` or one `[N, 20]` tensor.
fn split_output(output: IValue, n: i64) -> Result<(Tensor, Tensor), InferError> {
    let actions = N_ACTIONS as i64;
    let (logits, value) = match output {
        IValue::Tensor(t) => {
            if t.size() != [n, actions + 1] {
                return Err(InferError::BadOutput(format!(
                    "expected a [{n}, {}] tensor or a (logits, value) tuple, got a tensor of shape {:?}",
                    actions + 1,
                    t.size()
                )));
            }
            (t.f_narrow(1, 0, actions)?, t.f_select(1, actions)?)
        }
        IValue::Tuple(mut items) if items.len() == 2 => {
            let value = items.pop();
            let logits = items.pop();
            match (logits, value) {
                (Some(IValue::Tensor(l)), Some(IValue::Tensor(v))) => {
                    let v = if v.size() == [n, 1] {
                        v.f_squeeze_dim(1)?
                    } else {
                        v
                    };
                    (l, v)
                }
                _ => {
                    return Err(InferError::BadOutput(
                        "the tuple must hold two tensors".into(),
                    ))
                }
            }
        }
        other => {
            return Err(InferError::BadOutput(format!(
                "expected a tensor or a 2-tuple, got {}",
                ivalue_kind(&other)
            )))
        }
    };
    if logits.size() != [n, actions] {
        return Err(InferError::BadOutput(format!(
            "logits must be [{n}, {actions}], got {:?}",
            logits.size()
        )));
    }
    if value.size() != [n] {
        return Err(InferError::BadOutput(format!(
            "value must be [{n}], got {:?}",
            value.size()
        )));
    }
    Ok((
        logits.f_to_kind(Kind::Float)?,
        value.f_to_kind(Kind::Float)?,
    ))
}

fn ivalue_kind(v: &IValue) -> &'static str {
    match v {
        IValue::None => "None",
        IValue::Tensor(_) => "a tensor",
        IValue::Double(_) => "a float",
        IValue::Int(_) => "an int",
        IValue::Bool(_) => "a bool",
        IValue::Tuple(_) => "a tuple of another length",
        IValue::String(_) => "a string",
        _ => "another value",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(shape: &[i64]) -> Tensor {
        Tensor::zeros(shape, (Kind::Float, Device::Cpu))
    }

    #[test]
    fn accepts_both_output_forms() {
        let (l, v) = split_output(IValue::Tensor(t(&[3, 20])), 3).unwrap();
        assert_eq!((l.size(), v.size()), (vec![3, 19], vec![3]));
        let tuple = IValue::Tuple(vec![
            IValue::Tensor(t(&[3, 19])),
            IValue::Tensor(t(&[3, 1])),
        ]);
        let (l, v) = split_output(tuple, 3).unwrap();
        assert_eq!((l.size(), v.size()), (vec![3, 19], vec![3]));
    }

    #[test]
    fn rejects_outputs_off_contract() {
        assert!(split_output(IValue::Tensor(t(&[3, 19])), 3).is_err());
        assert!(split_output(IValue::Tensor(t(&[2, 20])), 3).is_err());
        assert!(split_output(IValue::Int(3), 3).is_err());
        let bad = IValue::Tuple(vec![IValue::Tensor(t(&[3, 18])), IValue::Tensor(t(&[3]))]);
        assert!(split_output(bad, 3).is_err());
        let bad = IValue::Tuple(vec![IValue::Tensor(t(&[3, 19])), IValue::Int(1)]);
        assert!(split_output(bad, 3).is_err());
    }
}
