//! Bradley–Terry ratings, fitted by minorisation–maximisation (Hunter 2004),
//! with percentile bootstrap confidence intervals.
//!
//! Model: player `i` has strength `p_i = e^θ_i` and beats `j` with
//! probability `p_i / (p_i + p_j)`; a draw counts half a win each. Each
//! player also gets a prior of one virtual game against a fixed opponent of
//! strength 1, half won and half lost (`prior` = ½ win and ½ loss), which
//! keeps the estimate finite for a player who won or lost everything.
//! Ratings are reported on the Elo scale, `1500 + 400·θ/ln 10`, centred so
//! the mean is 1500.
//!
//! The MM step is `p_i ← W_i / Σ_j n_ij / (p_i + p_j)` (with the virtual
//! games among the `j`): it increases the likelihood at every step, and
//! converges to the maximum when one exists.

use serde::{Deserialize, Serialize};

use crate::seed;
use crate::standings::GameOutcome;

/// Fit settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BtConfig {
    /// Virtual wins (and as many virtual losses) per player against a fixed
    /// opponent of strength 1; 0 for the plain maximum-likelihood fit.
    pub prior: f64,
    /// Iteration cap.
    pub max_iter: u32,
    /// Stop when no log-strength moves by more than this.
    pub tol: f64,
    /// Bootstrap resamples (0: no intervals).
    pub bootstrap: u32,
    /// Interval coverage (0.95).
    pub level: f64,
    /// Seed of the resampling.
    pub seed: u64,
}

impl Default for BtConfig {
    fn default() -> BtConfig {
        BtConfig {
            prior: 0.5,
            max_iter: 10_000,
            tol: 1e-10,
            bootstrap: 1000,
            level: 0.95,
            seed: 0,
        }
    }
}

/// A player's Bradley–Terry rating and interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BtRow {
    /// The player.
    pub player_id: String,
    /// Rating (Elo scale, mean 1500).
    pub rating: f64,
    /// Lower end of the bootstrap interval.
    pub low: f64,
    /// Upper end of the bootstrap interval.
    pub high: f64,
}

/// One game as the fit sees it: indices of the two players and the first
/// one's score (1 win, ½ draw, 0 loss).
pub type Game = (usize, usize, f64);

/// Log-strengths `θ` of `n` players (mean 0), or `None` when the maximum
/// likelihood does not exist (possible only with `prior` 0: a group of
/// players that never scored against the rest).
pub fn fit(n: usize, games: &[Game], prior: f64, max_iter: u32, tol: f64) -> Option<Vec<f64>> {
    fit_from(n, games, prior, max_iter, tol, None)
}

/// [`fit`] starting from log-strengths `start` (the bootstrap starts each
/// resample from the full fit, which it is close to).
pub fn fit_from(
    n: usize,
    games: &[Game],
    prior: f64,
    max_iter: u32,
    tol: f64,
    start: Option<&[f64]>,
) -> Option<Vec<f64>> {
    if n == 0 {
        return Some(Vec::new());
    }
    let mut wins = vec![prior; n];
    let mut pairs = vec![0.0f64; n * n];
    for &(i, j, s) in games {
        if i >= n || j >= n || i == j {
            continue;
        }
        wins[i] += s;
        wins[j] += 1.0 - s;
        pairs[i * n + j] += 1.0;
        pairs[j * n + i] += 1.0;
    }
    if wins.iter().any(|&w| w <= 0.0) || (prior == 0.0 && !strongly_connected(n, games)) {
        return None;
    }
    let mut p: Vec<f64> = match start {
        Some(t) if t.len() == n => t.iter().map(|x| x.exp()).collect(),
        _ => vec![1.0; n],
    };
    // MM until close (monotone and safe from any start), then Newton, which
    // converges in a few steps where MM would crawl (MM slows down when
    // strengths are far apart, as in a league of unequal policies).
    let mut sweeps = 0;
    while sweeps < max_iter {
        sweeps += 1;
        let moved = mm_sweep(n, &wins, &pairs, prior, &mut p);
        if !moved.is_finite() {
            return None;
        }
        if moved < tol {
            break;
        }
        if moved < 1e-3 && n <= NEWTON_MAX_PLAYERS {
            let mut theta: Vec<f64> = p.iter().map(|x| x.ln()).collect();
            if newton(n, &wins, &pairs, prior, &mut theta, tol) {
                p = theta.iter().map(|t| t.exp()).collect();
                break;
            }
        }
    }
    let theta: Vec<f64> = p.iter().map(|x| x.ln()).collect();
    let mean = theta.iter().sum::<f64>() / n as f64;
    Some(theta.iter().map(|t| t - mean).collect())
}

/// Above this many players the fit stays with MM (a Newton step solves an
/// n×n system).
const NEWTON_MAX_PLAYERS: usize = 256;

/// One cyclic (Gauss–Seidel) MM sweep: each player's update already uses the
/// others' new strengths, and each is a minorisation step. Returns the
/// largest relative change.
fn mm_sweep(n: usize, wins: &[f64], pairs: &[f64], prior: f64, p: &mut [f64]) -> f64 {
    let mut moved = 0.0f64;
    for i in 0..n {
        let mut denom = 2.0 * prior / (p[i] + 1.0);
        for j in 0..n {
            let nij = pairs[i * n + j];
            if nij > 0.0 {
                denom += nij / (p[i] + p[j]);
            }
        }
        if denom > 0.0 {
            let new = wins[i] / denom;
            moved = moved.max((new / p[i] - 1.0).abs());
            p[i] = new;
        }
    }
    if prior == 0.0 {
        // Without the anchor the scale is free: keep the geometric mean at 1.
        let g = (p.iter().map(|x| x.ln()).sum::<f64>() / n as f64).exp();
        p.iter_mut().for_each(|x| *x /= g);
    }
    moved
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// Newton's method on the log-likelihood in `θ` (with `prior` 0, `θ_0` is
/// held fixed: the likelihood only sees differences). Returns false, leaving
/// `theta` as it was, if it does not converge in a few steps.
fn newton(n: usize, wins: &[f64], pairs: &[f64], prior: f64, theta: &mut [f64], tol: f64) -> bool {
    let skip = usize::from(prior == 0.0);
    let m = n - skip;
    let mut t = theta.to_vec();
    for _ in 0..30 {
        // gradient g and negated Hessian h over the free coordinates
        let mut g = vec![0.0; m];
        let mut h = vec![0.0; m * m];
        for i in skip..n {
            let si = sigmoid(t[i]);
            let mut gi = wins[i] - 2.0 * prior * si;
            let mut hii = 2.0 * prior * si * (1.0 - si);
            for j in 0..n {
                let nij = pairs[i * n + j];
                if nij == 0.0 {
                    continue;
                }
                let s = sigmoid(t[i] - t[j]);
                gi -= nij * s;
                let w = nij * s * (1.0 - s);
                hii += w;
                if j >= skip {
                    h[(i - skip) * m + (j - skip)] -= w;
                }
            }
            g[i - skip] = gi;
            h[(i - skip) * m + (i - skip)] += hii;
        }
        let Some(step) = solve(m, &mut h, &mut g) else {
            return false;
        };
        let big = step.iter().fold(0.0f64, |a, d| a.max(d.abs()));
        if !big.is_finite() || big > 1.0 {
            return false; // too far from the optimum for a plain Newton step
        }
        for (k, d) in step.iter().enumerate() {
            t[k + skip] += d;
        }
        if big < tol {
            theta.copy_from_slice(&t);
            return true;
        }
    }
    false
}

/// Solves `a x = b` for a symmetric positive-definite `a` (Gaussian
/// elimination; `a` and `b` are overwritten). `None` if singular.
fn solve(m: usize, a: &mut [f64], b: &mut [f64]) -> Option<Vec<f64>> {
    for c in 0..m {
        let pivot = a[c * m + c];
        if pivot.abs() < 1e-300 || !pivot.is_finite() {
            return None;
        }
        for r in c + 1..m {
            let f = a[r * m + c] / pivot;
            if f != 0.0 {
                for k in c..m {
                    a[r * m + k] -= f * a[c * m + k];
                }
                b[r] -= f * b[c];
            }
        }
    }
    let mut x = vec![0.0; m];
    for r in (0..m).rev() {
        let s: f64 = (r + 1..m).map(|k| a[r * m + k] * x[k]).sum();
        x[r] = (b[r] - s) / a[r * m + r];
    }
    Some(x)
}

/// Whether every player scored (won or drew) against every other through
/// some chain of games: the condition (Zermelo, Ford) for the maximum
/// likelihood to exist without a prior.
fn strongly_connected(n: usize, games: &[Game]) -> bool {
    let mut beat = vec![Vec::new(); n];
    let mut beaten_by = vec![Vec::new(); n];
    for &(i, j, s) in games {
        if i >= n || j >= n || i == j {
            continue;
        }
        if s > 0.0 {
            beat[i].push(j);
            beaten_by[j].push(i);
        }
        if s < 1.0 {
            beat[j].push(i);
            beaten_by[i].push(j);
        }
    }
    let reaches_all = |edges: &[Vec<usize>]| {
        let mut seen = vec![false; n];
        let mut stack = vec![0];
        seen[0] = true;
        while let Some(v) = stack.pop() {
            for &w in &edges[v] {
                if !seen[w] {
                    seen[w] = true;
                    stack.push(w);
                }
            }
        }
        seen.iter().all(|&s| s)
    };
    reaches_all(&beat) && reaches_all(&beaten_by)
}

/// `θ` on the Elo scale.
pub fn elo(theta: f64) -> f64 {
    1500.0 + 400.0 * theta / std::f64::consts::LN_10
}

/// Fits `players` on `games` and bootstraps intervals; rows best first.
pub fn ratings(players: &[String], games: &[GameOutcome], cfg: &BtConfig) -> Vec<BtRow> {
    let index = |id: &str| players.iter().position(|p| p == id);
    let data: Vec<Game> = games
        .iter()
        .filter_map(|g| Some((index(&g.a)?, index(&g.b)?, g.score_a()?)))
        .collect();
    let n = players.len();
    let point = fit(n, &data, cfg.prior, cfg.max_iter, cfg.tol).unwrap_or_else(|| vec![0.0; n]);
    let mut samples: Vec<Vec<f64>> = vec![Vec::with_capacity(cfg.bootstrap as usize); n];
    if !data.is_empty() {
        let mut rng = seed::rng(cfg.seed, "bradley-terry/bootstrap");
        let mut resample = Vec::with_capacity(data.len());
        for _ in 0..cfg.bootstrap {
            resample.clear();
            resample.extend((0..data.len()).map(|_| data[rng.below(data.len() as u32) as usize]));
            // 1e-7 in θ is 4e-5 Elo: far below the interval's own noise.
            if let Some(theta) = fit_from(
                n,
                &resample,
                cfg.prior,
                cfg.max_iter,
                cfg.tol.max(1e-7),
                Some(&point),
            ) {
                for (s, t) in samples.iter_mut().zip(theta) {
                    s.push(elo(t));
                }
            }
        }
    }
    let alpha = (1.0 - cfg.level.clamp(0.0, 1.0)) / 2.0;
    let mut rows: Vec<BtRow> = players
        .iter()
        .zip(point)
        .zip(samples.iter_mut())
        .map(|((p, t), s)| {
            let r = elo(t);
            s.sort_by(f64::total_cmp);
            BtRow {
                player_id: p.clone(),
                rating: r,
                low: quantile(s, alpha).unwrap_or(r),
                high: quantile(s, 1.0 - alpha).unwrap_or(r),
            }
        })
        .collect();
    rows.sort_by(|a, b| {
        b.rating
            .total_cmp(&a.rating)
            .then(a.player_id.cmp(&b.player_id))
    });
    rows
}

/// The `q` quantile of sorted values (linear interpolation).
fn quantile(sorted: &[f64], q: f64) -> Option<f64> {
    let last = sorted.len().checked_sub(1)?;
    let pos = q.clamp(0.0, 1.0) * last as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    Some(sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64))
}

#[cfg(test)]
mod tests;
