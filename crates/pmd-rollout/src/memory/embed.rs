//! The embedding: a fixed, deterministic function from an observation (the
//! 2,395 features of `pmd_agent::rollout::obs`) to a 128-dimensional
//! L2-normalised vector, so that states the agent would call similar are
//! near under the inner product.
//!
//! # What it computes
//!
//! The observation is a 15x15 egocentric window of 8 channels (wall,
//! floor, water, stairs, monster, item, trap, visited; channel-major
//! `[channel][dy][dx]`, each 0 or 1), a coarse map of the whole floor, the
//! ways to the stairs, the frontier and items, and 11 scalars. The
//! embedding reads the window and the first 4 scalars (HP ratio, belly
//! ratio, floor / 10, turns on floor / 100), not the map-wide parts: two
//! states are similar by what surrounds the leader. From them
//! [`FEATURES`] = 412 weighted features are formed:
//!
//! 1. **Coarse map** (200): per channel, the window cut into a 5x5 grid of
//!    3x3 blocks, each block's mean, weight [`W_COARSE`]. One step of the
//!    leader moves at most a third of a block's cells into the next block,
//!    so consecutive states stay close, and two places with the same room
//!    shape around the leader are close wherever they are on the map.
//! 2. **Surroundings** (200): the 5x5 cells centred on the leader, every
//!    channel at full resolution, weight [`W_CENTRE`]: what is adjacent
//!    (a monster, an item, a wall) decides the next action.
//! 3. **Channel totals** (8): the fraction of window cells per channel,
//!    weight [`W_TOTAL`].
//! 4. **Scalars** (4): HP ratio, belly ratio, floor / 10 and turns / 100,
//!    each clamped to [0, 2], weight [`W_SCALAR`], so that a wounded
//!    leader is far from a healthy one in the same spot.
//!
//! These are projected to 127 coordinates by a sparse random sign matrix:
//! feature `i` adds `±value / 2` to 4 coordinates chosen, with the signs, by
//! SplitMix64 of ([`SEED`], `i`, `j`) (a sparse Johnson–Lindenstrauss
//! projection: Euclidean distances between feature vectors are preserved
//! up to a small relative error, so near features stay near). Coordinate
//! 128 is the constant [`BIAS`], which keeps the all-zero observation
//! (outside a dungeon) a well-defined unit vector and damps the influence
//! of almost-empty windows. The result is scaled to unit length; the inner
//! product of two embeddings is then their cosine similarity.
//!
//! The function uses only additions and multiplications in a fixed order:
//! the same observation gives the same bits on every run and thread count.

use std::sync::OnceLock;

use mhnsw::{IndexError, Result};

/// Length of an observation: the window, the coarse map (14 x 8 blocks x
/// 5 channels), the ways (3 x 8), 11 scalars (`rollout::obs::FEATURES`; the runner checks the
/// two agree at compile time).
pub const OBS_LEN: usize = SCALARS_START + 11;
/// Where the observation's scalars start.
pub const SCALARS_START: usize = WINDOW * WINDOW * CHANNELS + 14 * 8 * 5 + 3 * 8;
/// Length of an embedding.
pub const EMBED_DIM: usize = 128;
/// Side of the observation window.
pub const WINDOW: usize = 15;
/// Channels per cell.
pub const CHANNELS: usize = 8;
/// Scalars the embedding reads (the first four of the observation's).
pub const SCALARS: usize = 4;
/// Weighted features before projection.
pub const FEATURES: usize = CHANNELS * 25 + CHANNELS * 25 + CHANNELS + SCALARS;
/// Seed of the projection.
pub const SEED: u64 = 0x00e1_bed0_2026_0011;
/// Weight of a coarse-map block mean.
pub const W_COARSE: f32 = 1.0;
/// Weight of a surrounding cell.
pub const W_CENTRE: f32 = 0.5;
/// Weight of a channel total.
pub const W_TOTAL: f32 = 2.0;
/// Weight of a scalar.
pub const W_SCALAR: f32 = 4.0;
/// The constant last coordinate before normalisation.
pub const BIAS: f32 = 1.0;

const NNZ: usize = 4;
const PROJECTED: usize = EMBED_DIM - 1;

/// The precomputed projection (coordinates and signs per feature).
#[derive(Debug, Clone)]
pub struct Embedder {
    taps: Vec<[(u8, f32); NNZ]>,
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Default for Embedder {
    fn default() -> Self {
        Self::new()
    }
}

impl Embedder {
    /// Builds the projection table (412 x 4 taps) from [`SEED`].
    pub fn new() -> Self {
        let scale = 1.0 / (NNZ as f32).sqrt();
        let taps = (0..FEATURES as u64)
            .map(|i| {
                let mut t = [(0u8, 0.0f32); NNZ];
                let mut used = [false; PROJECTED];
                let mut ctr = 0u64;
                for tap in t.iter_mut() {
                    // Distinct coordinates per feature, so taps never cancel.
                    let h = loop {
                        let h = splitmix(SEED ^ splitmix(i << 16 | ctr));
                        ctr += 1;
                        if !used[(h % PROJECTED as u64) as usize] {
                            break h;
                        }
                    };
                    let coord = (h % PROJECTED as u64) as usize;
                    used[coord] = true;
                    let sign = if (h >> 40) & 1 == 0 { scale } else { -scale };
                    *tap = (coord as u8, sign);
                }
                t
            })
            .collect();
        Self { taps }
    }

    /// The weighted features of one observation.
    fn features(obs: &[f32], f: &mut [f32; FEATURES]) {
        let cell = |c: usize, y: usize, x: usize| obs[(c * WINDOW + y) * WINDOW + x];
        let mut k = 0;
        for c in 0..CHANNELS {
            for by in 0..5 {
                for bx in 0..5 {
                    let mut s = 0.0;
                    for y in by * 3..by * 3 + 3 {
                        for x in bx * 3..bx * 3 + 3 {
                            s += cell(c, y, x);
                        }
                    }
                    f[k] = W_COARSE * s / 9.0;
                    k += 1;
                }
            }
        }
        let mid = WINDOW / 2;
        for c in 0..CHANNELS {
            for y in mid - 2..=mid + 2 {
                for x in mid - 2..=mid + 2 {
                    f[k] = W_CENTRE * cell(c, y, x);
                    k += 1;
                }
            }
        }
        for c in 0..CHANNELS {
            let plane = &obs[c * WINDOW * WINDOW..(c + 1) * WINDOW * WINDOW];
            f[k] = W_TOTAL * plane.iter().sum::<f32>() / (WINDOW * WINDOW) as f32;
            k += 1;
        }
        for &s in &obs[SCALARS_START..SCALARS_START + SCALARS] {
            f[k] = W_SCALAR * s.clamp(0.0, 2.0);
            k += 1;
        }
    }

    /// Embeds one observation (`OBS_LEN` floats) into `out` (`EMBED_DIM`).
    pub fn embed(&self, obs: &[f32], out: &mut [f32]) -> Result<()> {
        if obs.len() != OBS_LEN {
            return Err(IndexError::WrongDimension {
                expected: OBS_LEN,
                found: obs.len(),
            });
        }
        if out.len() != EMBED_DIM {
            return Err(IndexError::WrongDimension {
                expected: EMBED_DIM,
                found: out.len(),
            });
        }
        if obs.iter().any(|v| !v.is_finite()) {
            return Err(IndexError::NonFinite { row: 0 });
        }
        let mut f = [0.0f32; FEATURES];
        Self::features(obs, &mut f);
        out.fill(0.0);
        for (&v, taps) in f.iter().zip(&self.taps) {
            if v != 0.0 {
                for &(coord, sign) in taps {
                    out[coord as usize] += sign * v;
                }
            }
        }
        out[PROJECTED] = BIAS;
        let norm = out.iter().map(|x| x * x).sum::<f32>().sqrt();
        out.iter_mut().for_each(|x| *x /= norm);
        Ok(())
    }

    /// Embeds `[N, OBS_LEN]` observations into `[N, EMBED_DIM]` without
    /// allocating. Returns N.
    pub fn embed_batch(&self, obs: &[f32], out: &mut [f32]) -> Result<usize> {
        if !obs.len().is_multiple_of(OBS_LEN) {
            return Err(IndexError::WrongDimension {
                expected: OBS_LEN,
                found: obs.len() % OBS_LEN,
            });
        }
        let n = obs.len() / OBS_LEN;
        if out.len() != n * EMBED_DIM {
            return Err(IndexError::WrongDimension {
                expected: n * EMBED_DIM,
                found: out.len(),
            });
        }
        for (row, (o, e)) in obs
            .chunks_exact(OBS_LEN)
            .zip(out.chunks_exact_mut(EMBED_DIM))
            .enumerate()
        {
            self.embed(o, e).map_err(|err| match err {
                IndexError::NonFinite { .. } => IndexError::NonFinite { row },
                other => other,
            })?;
        }
        Ok(n)
    }
}

/// The process-wide embedder (built on first use).
pub fn embedder() -> &'static Embedder {
    static E: OnceLock<Embedder> = OnceLock::new();
    E.get_or_init(Embedder::new)
}

/// Embeds one observation with the process-wide embedder.
pub fn embed(obs: &[f32], out: &mut [f32]) -> Result<()> {
    embedder().embed(obs, out)
}

/// Embeds a batch with the process-wide embedder.
pub fn embed_batch(obs: &[f32], out: &mut [f32]) -> Result<usize> {
    embedder().embed_batch(obs, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A room of floor with walls around, the leader at (lx, ly) on a
    /// 40x30 map, a monster at (mx, my), HP ratio `hp`.
    fn obs(lx: i32, ly: i32, monster: (i32, i32), hp: f32) -> Vec<f32> {
        let mut o = vec![0.0f32; OBS_LEN];
        let half = (WINDOW / 2) as i32;
        for wy in 0..WINDOW as i32 {
            for wx in 0..WINDOW as i32 {
                let (x, y) = (lx + wx - half, ly + wy - half);
                let inside = (5..35).contains(&x) && (5..25).contains(&y);
                let c = if inside { 1 } else { 0 };
                o[(c * WINDOW + wy as usize) * WINDOW + wx as usize] = 1.0;
                if (x, y) == monster {
                    o[(4 * WINDOW + wy as usize) * WINDOW + wx as usize] = 1.0;
                }
            }
        }
        o[SCALARS_START..][..4].copy_from_slice(&[hp, 0.8, 0.3, 0.1]);
        o
    }

    fn ip(a: &[f32], b: &[f32]) -> f32 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    #[test]
    fn embeddings_are_unit_and_deterministic() {
        let o = obs(10, 10, (12, 10), 1.0);
        let (mut a, mut b) = (vec![0.0; EMBED_DIM], vec![0.0; EMBED_DIM]);
        embed(&o, &mut a).unwrap();
        Embedder::new().embed(&o, &mut b).unwrap();
        assert_eq!(a, b);
        assert!((ip(&a, &a) - 1.0).abs() < 1e-5);
        let mut z = vec![0.0; EMBED_DIM];
        embed(&vec![0.0; OBS_LEN], &mut z).unwrap();
        assert!((ip(&z, &z) - 1.0).abs() < 1e-5);
    }

    #[test]
    fn one_step_is_nearer_than_another_situation() {
        let e = |o: &[f32]| {
            let mut v = vec![0.0; EMBED_DIM];
            embed(o, &mut v).unwrap();
            v
        };
        let here = e(&obs(10, 10, (12, 10), 1.0));
        let step = e(&obs(11, 10, (12, 10), 1.0));
        let corner = e(&obs(30, 22, (100, 100), 1.0));
        let wounded = e(&obs(10, 10, (12, 10), 0.1));
        assert!(
            ip(&here, &step) > ip(&here, &corner),
            "{} vs {}",
            ip(&here, &step),
            ip(&here, &corner)
        );
        assert!(ip(&here, &step) > ip(&here, &wounded));
    }

    #[test]
    fn batch_matches_single_and_checks_shapes() {
        let a = obs(8, 9, (9, 9), 0.5);
        let b = obs(20, 15, (1, 1), 0.9);
        let batch: Vec<f32> = a.iter().chain(&b).copied().collect();
        let mut out = vec![0.0; 2 * EMBED_DIM];
        assert_eq!(embed_batch(&batch, &mut out).unwrap(), 2);
        let mut one = vec![0.0; EMBED_DIM];
        embed(&b, &mut one).unwrap();
        assert_eq!(&out[EMBED_DIM..], &one[..]);
        assert!(embed_batch(&batch[1..], &mut out).is_err());
        assert!(embed_batch(&batch, &mut out[1..]).is_err());
        let mut bad = batch.clone();
        bad[OBS_LEN + 3] = f32::NAN;
        assert!(matches!(
            embed_batch(&bad, &mut out),
            Err(IndexError::NonFinite { row: 1 })
        ));
    }
}
