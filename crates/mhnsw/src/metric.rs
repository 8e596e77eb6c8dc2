//! The two metrics and the distance convention used everywhere.

use serde::{Deserialize, Serialize};

/// How two vectors are compared. Distances are "smaller is nearer":
///
/// - [`Metric::InnerProduct`]: `1 - a·b` (the cosine distance when the
///   caller L2-normalises, as the agent does; other vectors are accepted
///   and simply give distances outside `[0, 2]`).
/// - [`Metric::L2`]: the squared Euclidean distance `|a - b|²`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// `1 - a·b`.
    InnerProduct,
    /// `|a - b|²`.
    L2,
}

impl Metric {
    /// The code stored in file headers.
    pub(crate) fn code(self) -> u32 {
        match self {
            Metric::InnerProduct => 1,
            Metric::L2 => 2,
        }
    }

    /// The metric for a header code, if known.
    pub(crate) fn from_code(code: u32) -> Option<Self> {
        match code {
            1 => Some(Metric::InnerProduct),
            2 => Some(Metric::L2),
            _ => None,
        }
    }

    /// Distance between two vectors of equal length (the shorter length is
    /// used if they differ; callers check dimensions first).
    pub fn distance(self, a: &[f32], b: &[f32]) -> f32 {
        match self {
            Metric::InnerProduct => 1.0 - crate::distance::dot(a, b),
            Metric::L2 => crate::distance::l2sq(a, b),
        }
    }
}

impl std::fmt::Display for Metric {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Metric::InnerProduct => "inner_product",
            Metric::L2 => "l2",
        })
    }
}

impl std::str::FromStr for Metric {
    type Err = crate::IndexError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "inner_product" | "ip" => Ok(Metric::InnerProduct),
            "l2" => Ok(Metric::L2),
            other => Err(crate::IndexError::InvalidParameter(format!(
                "unknown metric {other:?} (inner_product or l2)"
            ))),
        }
    }
}
