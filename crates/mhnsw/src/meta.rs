//! Per-point metadata stored beside the vectors, and its fixed 32-byte
//! little-endian record.

use serde::{Deserialize, Serialize};

/// Where a point came from: which run, episode, step and environment, the
/// dungeon floor and the outcome of the step (a caller-defined code, e.g.
/// 0 = nothing, 1 = fainted, 2 = took the stairs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct PointMeta {
    /// Run identifier.
    pub run: u64,
    /// Episode within the run.
    pub episode: u64,
    /// Step within the episode.
    pub step: u32,
    /// Environment index within the run.
    pub env: u32,
    /// Dungeon floor.
    pub floor: u8,
    /// Outcome code of the step.
    pub outcome: u8,
}

/// Bytes of one metadata record on disk.
pub const META_BYTES: usize = 32;

impl PointMeta {
    /// The 32-byte record: run, episode (u64 LE), step, env (u32 LE),
    /// floor, outcome, 6 zero bytes.
    pub fn to_bytes(&self) -> [u8; META_BYTES] {
        let mut b = [0u8; META_BYTES];
        b[0..8].copy_from_slice(&self.run.to_le_bytes());
        b[8..16].copy_from_slice(&self.episode.to_le_bytes());
        b[16..20].copy_from_slice(&self.step.to_le_bytes());
        b[20..24].copy_from_slice(&self.env.to_le_bytes());
        b[24] = self.floor;
        b[25] = self.outcome;
        b
    }

    /// Reads a record written by [`PointMeta::to_bytes`]; `None` unless
    /// `b` is exactly 32 bytes.
    pub fn from_bytes(b: &[u8]) -> Option<Self> {
        let b: &[u8; META_BYTES] = b.try_into().ok()?;
        let u64_at = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().unwrap_or([0; 8]));
        let u32_at = |i: usize| u32::from_le_bytes(b[i..i + 4].try_into().unwrap_or([0; 4]));
        Some(Self {
            run: u64_at(0),
            episode: u64_at(8),
            step: u32_at(16),
            env: u32_at(20),
            floor: b[24],
            outcome: b[25],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_round_trips() {
        let m = PointMeta {
            run: u64::MAX - 3,
            episode: 7,
            step: 123_456,
            env: 9,
            floor: 42,
            outcome: 3,
        };
        assert_eq!(PointMeta::from_bytes(&m.to_bytes()), Some(m));
        assert_eq!(PointMeta::from_bytes(&[0u8; 31]), None);
    }
}
