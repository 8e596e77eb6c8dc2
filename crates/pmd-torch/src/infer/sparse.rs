//! The non-zero features of a batch of observations, for the sparse first
//! layer.
//!
//! Observations are mostly zeros: the 15x15x8 window is binary, and most
//! cells light one or two of their eight channels (about 13% of the 1,804
//! features on the cartridge, BENCHMARKS.md). The first layer's product
//! `x · W` then only needs the rows of `W` whose feature is on, summed
//! (`embedding_bag`): a sixth of the multiply-adds of the dense product,
//! at every batch size. Finding those features must itself be cheap, so
//! rows are scanned 32 floats at a time into a bit mask (a loop the
//! compiler turns into vector compares) and only the set bits are visited.

use super::contract::OBS_DIM;

/// Features scanned per mask word.
const LANES: usize = 32;

/// The non-zero features of a batch, row by row: row `r`'s are
/// `indices[offsets[r]..offsets[r + 1]]` (the last row's run to the end)
/// with `values` alongside.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SparseRows {
    /// Feature indices.
    pub indices: Vec<i64>,
    /// Where each row's indices start.
    pub offsets: Vec<i64>,
    /// The features' values.
    pub values: Vec<f32>,
}

impl SparseRows {
    /// Refills from `obs` (`[rows, OBS_DIM]`); `false`, with the contents
    /// unspecified, when more than `max_density` of the features are on
    /// (the dense product is then as cheap).
    pub fn fill(&mut self, obs: &[f32], max_density: f64) -> bool {
        self.indices.clear();
        self.offsets.clear();
        self.values.clear();
        let limit = (obs.len() as f64 * max_density) as usize;
        for row in obs.chunks_exact(OBS_DIM) {
            self.offsets.push(self.indices.len() as i64);
            let mut base = 0usize;
            let mut chunks = row.chunks_exact(LANES);
            for chunk in &mut chunks {
                self.push_set(chunk, nonzero_mask(chunk), base);
                base += LANES;
            }
            let rest = chunks.remainder();
            let bits = rest
                .iter()
                .enumerate()
                .fold(0u32, |b, (k, &x)| b | (u32::from(x != 0.0) << k));
            self.push_set(rest, bits, base);
            if self.indices.len() > limit {
                return false;
            }
        }
        true
    }

    fn push_set(&mut self, chunk: &[f32], mut bits: u32, base: usize) {
        while bits != 0 {
            let k = bits.trailing_zeros() as usize;
            bits &= bits - 1;
            self.indices.push((base + k) as i64);
            self.values.push(chunk[k]);
        }
    }

    /// Rows held.
    pub fn rows(&self) -> usize {
        self.offsets.len()
    }
}

/// Bit `k` set where `chunk[k] != 0` (NaN counts as non-zero).
fn nonzero_mask(chunk: &[f32]) -> u32 {
    let mut bits = 0u32;
    for (k, &x) in chunk.iter().enumerate().take(LANES) {
        bits |= u32::from(x != 0.0) << k;
    }
    bits
}

#[cfg(test)]
mod tests {
    use super::*;
    use pmd_util::rng::Rng;

    #[test]
    fn finds_exactly_the_non_zero_features() {
        let mut rng = Rng::new(3, 0);
        let rows = 5;
        let mut obs: Vec<f32> = (0..rows * OBS_DIM)
            .map(|_| if rng.below(10) == 0 { 1.0 } else { 0.0 })
            .collect();
        obs[OBS_DIM - 1] = 0.25; // the last feature of a row (remainder)
        obs[OBS_DIM + 31] = -3.0; // a chunk's last lane
        obs[2 * OBS_DIM..3 * OBS_DIM].fill(0.0); // an empty row
        obs[4 * OBS_DIM] = f32::NAN;
        let mut s = SparseRows::default();
        assert!(s.fill(&obs, 0.5));
        assert_eq!(s.rows(), rows);
        for r in 0..rows {
            let end = s
                .offsets
                .get(r + 1)
                .map_or(s.indices.len(), |&e| e as usize);
            let got: Vec<(usize, f32)> = (s.offsets[r] as usize..end)
                .map(|i| (s.indices[i] as usize, s.values[i]))
                .collect();
            let row = &obs[r * OBS_DIM..(r + 1) * OBS_DIM];
            let want: Vec<(usize, f32)> = row
                .iter()
                .enumerate()
                .filter(|(_, &x)| x != 0.0)
                .map(|(j, &x)| (j, x))
                .collect();
            assert_eq!(got.len(), want.len(), "row {r}");
            for ((gj, gx), (wj, wx)) in got.iter().zip(&want) {
                assert_eq!(gj, wj);
                assert!(gx == wx || (gx.is_nan() && wx.is_nan()));
            }
        }
        assert_eq!(s.offsets[3], s.offsets[2], "the empty row has no features");
    }

    #[test]
    fn refuses_dense_batches() {
        let obs = vec![1.0f32; 2 * OBS_DIM];
        let mut s = SparseRows::default();
        assert!(!s.fill(&obs, 0.2));
        assert!(s.fill(&obs, 1.0));
        assert_eq!(s.indices.len(), 2 * OBS_DIM);
    }
}
