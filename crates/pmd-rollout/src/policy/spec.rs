//! [`PolicySpec`]: a policy named on the command line or in a config,
//! parsed without any command-line library.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Arc, OnceLock};

use super::{
    BatchPolicy, DeviceChoice, Guide, Heuristic, InferenceMetrics, Lockstep, PerEnv, PolicyError,
    RandomPolicy, RowPolicy, Search,
};

/// Which policy to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicySpec {
    /// Uniformly random legal actions.
    Random,
    /// Map-reading rules: fight, heal, stairs, explore.
    Heuristic,
    /// Planning with savestates (`search`, or
    /// `search:horizon=H:branches=B:commit=C`, any of the three, and
    /// last `:guide=PATH`, a model file whose network guides it).
    Search(SearchParams),
    /// A TorchScript module (`torch:PATH`).
    Torch(PathBuf),
}

/// The search policy's parameters (see [`Search`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchParams {
    /// Steps each branch may play.
    pub horizon: u32,
    /// Branches per plan.
    pub branches: usize,
    /// Planned steps executed before planning again.
    pub commit: u32,
    /// A model file whose network guides the search (see
    /// [`Search::with_guide`]).
    pub guide: Option<PathBuf>,
}

impl Default for SearchParams {
    fn default() -> Self {
        let s = Search::default();
        SearchParams {
            horizon: s.horizon,
            branches: s.branches,
            commit: s.commit,
            guide: None,
        }
    }
}

/// A policy spec that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown policy {0:?} (expected random, heuristic, search[:horizon=H:branches=B:commit=C][:guide=PATH] or torch:PATH)")]
pub struct PolicySpecError(pub String);

fn parse_search(s: &str, params: &str) -> Result<SearchParams, PolicySpecError> {
    let mut p = SearchParams::default();
    let bad = || PolicySpecError(s.to_string());
    // The guide's path is the rest of the spec (it may hold ':').
    let params = match params.find("guide=") {
        Some(at) if at == 0 || params[..at].ends_with(':') => {
            let path = &params[at + "guide=".len()..];
            if path.is_empty() {
                return Err(bad());
            }
            p.guide = Some(PathBuf::from(path));
            let rest = params[..at].strip_suffix(':').unwrap_or(&params[..at]);
            if at > 0 && (rest.is_empty() || rest.ends_with(':')) {
                return Err(bad());
            }
            rest
        }
        _ => params,
    };
    if params.is_empty() && p.guide.is_some() {
        return Ok(p);
    }
    for pair in params.split(':') {
        let (key, value) = pair.split_once('=').ok_or_else(bad)?;
        let value: u32 = value.trim().parse().map_err(|_| bad())?;
        if value == 0 || value > 10_000 {
            return Err(bad());
        }
        match key.trim() {
            "horizon" => p.horizon = value,
            "branches" => p.branches = value as usize,
            "commit" => p.commit = value,
            _ => return Err(bad()),
        }
    }
    Ok(p)
}

impl FromStr for PolicySpec {
    type Err = PolicySpecError;

    fn from_str(s: &str) -> Result<PolicySpec, PolicySpecError> {
        let trimmed = s.trim();
        if let Some(params) = trimmed.strip_prefix("search:") {
            return parse_search(s, params).map(PolicySpec::Search);
        }
        if let Some(path) = trimmed.strip_prefix("torch:") {
            if path.is_empty() {
                return Err(PolicySpecError(s.to_string()));
            }
            return Ok(PolicySpec::Torch(PathBuf::from(path)));
        }
        match trimmed.to_ascii_lowercase().as_str() {
            "random" => Ok(PolicySpec::Random),
            "heuristic" => Ok(PolicySpec::Heuristic),
            "search" => Ok(PolicySpec::Search(SearchParams::default())),
            _ => Err(PolicySpecError(s.to_string())),
        }
    }
}

impl fmt::Display for PolicySpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PolicySpec::Random => f.write_str("random"),
            PolicySpec::Heuristic => f.write_str("heuristic"),
            PolicySpec::Search(p) if *p == SearchParams::default() => f.write_str("search"),
            PolicySpec::Search(p) => {
                write!(
                    f,
                    "search:horizon={}:branches={}:commit={}",
                    p.horizon, p.branches, p.commit
                )?;
                match &p.guide {
                    Some(path) => write!(f, ":guide={}", path.display()),
                    None => Ok(()),
                }
            }
            PolicySpec::Torch(path) => write!(f, "torch:{}", path.display()),
        }
    }
}

/// What building a neural policy needs beyond its spec (the others ignore
/// it).
#[derive(Clone, Default)]
pub struct BuildOptions {
    /// Where the network runs.
    pub device: DeviceChoice,
    /// libtorch's intra-op threads (process-wide); `None` leaves them.
    pub intra_op_threads: Option<usize>,
    /// Take the most probable legal action instead of sampling.
    pub greedy: bool,
    /// Where lockstep inference reports batch sizes and forward times.
    pub metrics: Option<Arc<dyn InferenceMetrics>>,
}

impl fmt::Debug for BuildOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BuildOptions")
            .field("device", &self.device)
            .field("intra_op_threads", &self.intra_op_threads)
            .field("greedy", &self.greedy)
            .field("metrics", &self.metrics.is_some())
            .finish()
    }
}

/// What a process without a libtorch loader says about `torch:PATH`.
pub const TORCH_FEATURE_NEEDED: &str =
    "torch policies need pmd-agent built with the `torch` feature (on by default in the command line: cargo build --release)";

/// Loads a `torch:PATH` policy: the one thing this crate cannot do itself,
/// because libtorch lives in pmd-torch, a crate above it.
pub type TorchLoader = fn(&Path, &BuildOptions) -> Result<Box<dyn RowPolicy>, PolicyError>;

static TORCH_LOADER: OnceLock<TorchLoader> = OnceLock::new();

/// Loads the network that guides a `search:…:guide=PATH` (pmd-torch's
/// `install` provides it, beside the [`TorchLoader`]).
pub type GuideLoader = fn(&Path) -> Result<Arc<dyn Guide>, PolicyError>;

static GUIDE_LOADER: OnceLock<GuideLoader> = OnceLock::new();

/// Makes guided searches buildable in this process; as
/// [`install_torch_loader`].
pub fn install_guide_loader(load: GuideLoader) {
    let _ = GUIDE_LOADER.set(load);
}

/// Makes `torch:PATH` specs buildable in this process (pmd-torch's
/// `install` calls this). Until then building one is
/// [`PolicyError::Unavailable`] with [`TORCH_FEATURE_NEEDED`]. The first
/// loader installed stays; later calls change nothing.
pub fn install_torch_loader(load: TorchLoader) {
    let _ = TORCH_LOADER.set(load);
}

impl PolicySpec {
    /// Builds the policy with the default options (CPU, sampling).
    pub fn build(&self) -> Result<Box<dyn BatchPolicy>, PolicyError> {
        self.build_with(&BuildOptions::default())
    }

    /// Builds the policy for lockstep runs.
    pub fn build_with(&self, options: &BuildOptions) -> Result<Box<dyn BatchPolicy>, PolicyError> {
        match self {
            PolicySpec::Random => Ok(Box::new(PerEnv(RandomPolicy))),
            PolicySpec::Heuristic => Ok(Box::new(PerEnv(Heuristic::default()))),
            PolicySpec::Search(p) => {
                let search = Search::new(p.horizon, p.branches, p.commit);
                match &p.guide {
                    None => Ok(Box::new(search)),
                    Some(path) => match GUIDE_LOADER.get() {
                        Some(load) => Ok(Box::new(search.with_guide(load(path)?))),
                        None => Err(PolicyError::Unavailable {
                            policy: self.to_string(),
                            reason: TORCH_FEATURE_NEEDED.into(),
                        }),
                    },
                }
            }
            PolicySpec::Torch(_) => {
                let mut lockstep = Lockstep::new(self.build_rows(options)?);
                if let Some(m) = &options.metrics {
                    lockstep = lockstep.with_metrics(Arc::clone(m));
                }
                Ok(Box::new(lockstep))
            }
        }
    }

    /// Builds the policy as a [`RowPolicy`] (deciding from observation
    /// rows alone), for asynchronous runs: `random` and `torch:PATH`; the
    /// heuristic and search read the environments themselves.
    pub fn build_rows(&self, options: &BuildOptions) -> Result<Box<dyn RowPolicy>, PolicyError> {
        match self {
            PolicySpec::Random => Ok(Box::new(RandomPolicy)),
            PolicySpec::Heuristic | PolicySpec::Search(_) => Err(PolicyError::Unavailable {
                policy: self.to_string(),
                reason: "it reads the environments, not just observations: asynchronous runs take random or torch:PATH".into(),
            }),
            PolicySpec::Torch(path) => match TORCH_LOADER.get() {
                Some(load) => load(path, options),
                None => Err(PolicyError::Unavailable {
                    policy: self.to_string(),
                    reason: TORCH_FEATURE_NEEDED.into(),
                }),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_and_print_back() {
        for text in [
            "random",
            "heuristic",
            "search",
            "search:horizon=60:branches=7:commit=10",
            "search:horizon=30:branches=8:commit=20:guide=models/a:b.pt",
            "torch:models/a.pt",
        ] {
            let spec: PolicySpec = text.parse().unwrap();
            assert_eq!(spec.to_string(), text);
        }
        assert_eq!(
            "  Heuristic ".parse::<PolicySpec>(),
            Ok(PolicySpec::Heuristic)
        );
        assert!("torch:".parse::<PolicySpec>().is_err());
        assert!("search:horizon=0".parse::<PolicySpec>().is_err());
        assert!("search:depth=3".parse::<PolicySpec>().is_err());
        assert!("search:guide=".parse::<PolicySpec>().is_err());
        assert!("search:horizon=3:guide=".parse::<PolicySpec>().is_err());
        assert!("search::guide=m.pt".parse::<PolicySpec>().is_err());
        assert!("search:horizon=3::guide=m.pt"
            .parse::<PolicySpec>()
            .is_err());
        assert!("search:xguide=1".parse::<PolicySpec>().is_err());
        assert_eq!(
            "search:guide=m.pt".parse::<PolicySpec>(),
            Ok(PolicySpec::Search(SearchParams {
                guide: Some(PathBuf::from("m.pt")),
                ..SearchParams::default()
            }))
        );
        assert_eq!(
            "search:branches=3".parse::<PolicySpec>(),
            Ok(PolicySpec::Search(SearchParams {
                branches: 3,
                ..SearchParams::default()
            }))
        );
        assert!("greedy".parse::<PolicySpec>().is_err());
    }
}
