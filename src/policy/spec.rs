//! [`PolicySpec`]: a policy named on the command line or in a config,
//! parsed without any command-line library.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use super::{BatchPolicy, Heuristic, PerEnv, PolicyError, RandomPolicy, Search};

/// Which policy to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicySpec {
    /// Uniformly random legal actions.
    Random,
    /// Map-reading rules: fight, heal, stairs, explore.
    Heuristic,
    /// Savestate lookahead over the heuristic.
    Search,
    /// A TorchScript module (`torch:PATH`).
    Torch(PathBuf),
}

/// A policy spec that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown policy {0:?} (expected random, heuristic, search or torch:PATH)")]
pub struct PolicySpecError(pub String);

impl FromStr for PolicySpec {
    type Err = PolicySpecError;

    fn from_str(s: &str) -> Result<PolicySpec, PolicySpecError> {
        let trimmed = s.trim();
        if let Some(path) = trimmed.strip_prefix("torch:") {
            if path.is_empty() {
                return Err(PolicySpecError(s.to_string()));
            }
            return Ok(PolicySpec::Torch(PathBuf::from(path)));
        }
        match trimmed.to_ascii_lowercase().as_str() {
            "random" => Ok(PolicySpec::Random),
            "heuristic" => Ok(PolicySpec::Heuristic),
            "search" => Ok(PolicySpec::Search),
            _ => Err(PolicySpecError(s.to_string())),
        }
    }
}

impl fmt::Display for PolicySpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PolicySpec::Random => f.write_str("random"),
            PolicySpec::Heuristic => f.write_str("heuristic"),
            PolicySpec::Search => f.write_str("search"),
            PolicySpec::Torch(path) => write!(f, "torch:{}", path.display()),
        }
    }
}

impl PolicySpec {
    /// Builds the policy.
    pub fn build(&self) -> Result<Box<dyn BatchPolicy>, PolicyError> {
        match self {
            PolicySpec::Random => Ok(Box::new(PerEnv(RandomPolicy))),
            PolicySpec::Heuristic => Ok(Box::new(PerEnv(Heuristic::default()))),
            PolicySpec::Search => Ok(Box::new(PerEnv(Search::default()))),
            PolicySpec::Torch(_) => Err(PolicyError::Unavailable {
                policy: self.to_string(),
                reason: "torch policies need pmd-agent built with the `torch` feature".into(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_and_print_back() {
        for text in ["random", "heuristic", "search", "torch:models/a.pt"] {
            let spec: PolicySpec = text.parse().unwrap();
            assert_eq!(spec.to_string(), text);
        }
        assert_eq!(
            "  Heuristic ".parse::<PolicySpec>(),
            Ok(PolicySpec::Heuristic)
        );
        assert!("torch:".parse::<PolicySpec>().is_err());
        assert!("greedy".parse::<PolicySpec>().is_err());
    }
}
