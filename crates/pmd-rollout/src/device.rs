//! `--device cpu|cuda[:N]`: where a neural network runs. Parsed here, with
//! no libtorch and below every layer that needs it (`infer` resolves it to
//! a libtorch device, `policy` passes it on), so the command line takes the
//! option in every build.

use std::fmt;
use std::str::FromStr;

/// Where a network runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeviceChoice {
    /// The CPU (libtorch's intra-op threads).
    #[default]
    Cpu,
    /// A CUDA device by index.
    Cuda(usize),
}

/// A device name other than `cpu`, `cuda` or `cuda:N`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown device {0:?} (expected cpu, cuda or cuda:N)")]
pub struct DeviceError(pub String);

impl FromStr for DeviceChoice {
    type Err = DeviceError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "cpu" => Ok(Self::Cpu),
            "cuda" => Ok(Self::Cuda(0)),
            _ => s
                .strip_prefix("cuda:")
                .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|n| n.parse().ok())
                .map(Self::Cuda)
                .ok_or_else(|| DeviceError(s.to_owned())),
        }
    }
}

impl fmt::Display for DeviceChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Cpu => f.write_str("cpu"),
            Self::Cuda(i) => write!(f, "cuda:{i}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_device_names() {
        assert_eq!("cpu".parse::<DeviceChoice>(), Ok(DeviceChoice::Cpu));
        assert_eq!("cuda".parse::<DeviceChoice>(), Ok(DeviceChoice::Cuda(0)));
        assert_eq!("cuda:3".parse::<DeviceChoice>(), Ok(DeviceChoice::Cuda(3)));
        for bad in ["gpu", "cuda:", "cuda:x", "cuda:+1", "CPU", ""] {
            assert!(bad.parse::<DeviceChoice>().is_err(), "{bad:?}");
        }
        assert_eq!(DeviceChoice::Cuda(1).to_string(), "cuda:1");
    }
}
