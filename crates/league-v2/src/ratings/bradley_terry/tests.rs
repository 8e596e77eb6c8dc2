//! The MM fit checked against an independent maximiser: Newton's method on
//! the same log-likelihood, written out here with its own gradient and
//! Hessian and a small Gaussian elimination.

use super::*;
use crate::protocol::messages::GameStatus;

fn sigma(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// Solves `a x = b` (Gaussian elimination with partial pivoting).
fn solve(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Vec<f64> {
    let n = b.len();
    for c in 0..n {
        let piv = (c..n)
            .max_by(|&i, &j| a[i][c].abs().total_cmp(&a[j][c].abs()))
            .unwrap();
        a.swap(c, piv);
        b.swap(c, piv);
        let pivot_row = a[c].clone();
        for r in c + 1..n {
            let f = a[r][c] / pivot_row[c];
            for (x, p) in a[r].iter_mut().zip(&pivot_row).skip(c) {
                *x -= f * p;
            }
            b[r] -= f * b[c];
        }
    }
    let mut x = vec![0.0; n];
    for r in (0..n).rev() {
        let s: f64 = (r + 1..n).map(|k| a[r][k] * x[k]).sum();
        x[r] = (b[r] - s) / a[r][r];
    }
    x
}

/// Maximum likelihood by Newton's method; with `prior` 0, θ_0 is pinned at 0.
fn newton(n: usize, games: &[Game], prior: f64) -> Vec<f64> {
    let free: Vec<usize> = if prior > 0.0 {
        (0..n).collect()
    } else {
        (1..n).collect()
    };
    let mut theta = vec![0.0; n];
    for _ in 0..100 {
        let mut g = vec![0.0; n];
        let mut h = vec![vec![0.0; n]; n];
        for &(i, j, s) in games {
            let p = sigma(theta[i] - theta[j]);
            g[i] += s - p;
            g[j] -= s - p;
            let w = p * (1.0 - p);
            h[i][i] -= w;
            h[j][j] -= w;
            h[i][j] += w;
            h[j][i] += w;
        }
        for i in 0..n {
            let p = sigma(theta[i]);
            g[i] += prior * (1.0 - 2.0 * p);
            h[i][i] -= 2.0 * prior * p * (1.0 - p);
        }
        let hf: Vec<Vec<f64>> = free
            .iter()
            .map(|&r| free.iter().map(|&c| h[r][c]).collect())
            .collect();
        let gf: Vec<f64> = free.iter().map(|&r| -g[r]).collect();
        let step = solve(hf, gf);
        for (k, &i) in free.iter().enumerate() {
            theta[i] += step[k];
        }
        if step.iter().all(|s| s.abs() < 1e-13) {
            break;
        }
    }
    let mean = theta.iter().sum::<f64>() / n as f64;
    theta.iter().map(|t| t - mean).collect()
}

fn data() -> Vec<Game> {
    // Five players of increasing strength; a fixed, varied record with
    // wins, losses and draws for everyone.
    let mut games = Vec::new();
    let mut k = 0u32;
    for rep in 0..4 {
        for i in 0..5 {
            for j in i + 1..5 {
                k += 1;
                let s = match (k * 7 + rep) % 10 {
                    0..=2 => 1.0,
                    3 => 0.5,
                    _ => 0.0,
                };
                games.push((i, j, s));
            }
        }
    }
    games
}

#[test]
fn hand_checked_two_players() {
    // A beats B 3 times out of 4: p_A / p_B = 3, 400·log10(3) ≈ 190.849 Elo.
    let games = [(0, 1, 1.0), (0, 1, 1.0), (1, 0, 0.0), (1, 0, 1.0)];
    let theta = fit(2, &games, 0.0, 10_000, 1e-12).unwrap();
    assert!((theta[0] - theta[1] - 3f64.ln()).abs() < 1e-9, "{theta:?}");
    assert!((elo(theta[0]) - elo(theta[1]) - 190.848_75).abs() < 1e-3);
}

#[test]
fn agrees_with_newton_with_and_without_prior() {
    let games = data();
    for prior in [0.0, 0.5, 2.0] {
        let mm = fit(5, &games, prior, 100_000, 1e-13).unwrap();
        let nt = newton(5, &games, prior);
        for (a, b) in mm.iter().zip(&nt) {
            assert!(
                (a - b).abs() < 1e-7,
                "prior {prior}: mm {mm:?} newton {nt:?}"
            );
        }
    }
}

#[test]
fn no_mle_for_an_unbeaten_player_without_prior() {
    let games = [(0, 1, 1.0), (0, 2, 1.0), (1, 2, 0.5)];
    assert!(fit(3, &games, 0.0, 1000, 1e-10).is_none());
    let with_prior = fit(3, &games, 0.5, 10_000, 1e-12).unwrap();
    assert!(with_prior[0] > with_prior[1] && with_prior.iter().all(|t| t.is_finite()));
}

#[test]
fn bootstrap_intervals_cover_and_shrink() {
    let players: Vec<String> = (0..5).map(|i| format!("p{i}")).collect();
    let outcomes = |games: &[Game]| -> Vec<GameOutcome> {
        games
            .iter()
            .map(|&(i, j, s)| GameOutcome {
                a: players[i].clone(),
                b: players[j].clone(),
                status: if s == 0.5 {
                    GameStatus::Draw
                } else {
                    GameStatus::Win
                },
                winner: if s == 1.0 {
                    Some(players[i].clone())
                } else if s == 0.0 {
                    Some(players[j].clone())
                } else {
                    None
                },
            })
            .collect()
    };
    let cfg = BtConfig {
        bootstrap: 300,
        ..BtConfig::default()
    };
    let small = ratings(&players, &outcomes(&data()), &cfg);
    let big_data: Vec<Game> = (0..8).flat_map(|_| data()).collect();
    let big = ratings(&players, &outcomes(&big_data), &cfg);
    for rows in [&small, &big] {
        for r in rows.iter() {
            assert!(r.low <= r.rating && r.rating <= r.high, "{r:?}");
        }
        let mean = rows.iter().map(|r| r.rating).sum::<f64>() / rows.len() as f64;
        assert!((mean - 1500.0).abs() < 1e-6);
    }
    let width = |rows: &[BtRow]| rows.iter().map(|r| r.high - r.low).sum::<f64>();
    assert!(
        width(&big) < 0.6 * width(&small),
        "{} vs {}",
        width(&big),
        width(&small)
    );
    // same seed, same intervals
    assert_eq!(small, ratings(&players, &outcomes(&data()), &cfg));
}
