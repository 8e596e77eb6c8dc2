//! Round-robin schedules by the circle method.
//!
//! Players sit at positions `0..m` (`m` = n, or n + 1 with a bye for odd n).
//! Position 0 stays put; each round pairs position `i` with `m - 1 - i` and
//! then the others turn one step. After `m - 1` rounds every pair has met
//! exactly once and no player plays twice in a round. A second cycle
//! repeats the first with sides swapped.

/// One match of a schedule: indices into the player list; `a` plays side A.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Pairing {
    /// Side A.
    pub a: usize,
    /// Side B.
    pub b: usize,
}

/// The rounds of one round robin over `n` players (no rounds for n < 2).
pub fn round_robin(n: usize) -> Vec<Vec<Pairing>> {
    if n < 2 {
        return Vec::new();
    }
    let m = n + n % 2;
    let bye = n; // only present when n is odd
    let mut seats: Vec<usize> = (0..m).collect();
    let mut rounds = Vec::with_capacity(m - 1);
    for r in 0..m - 1 {
        let mut round = Vec::with_capacity(m / 2);
        for i in 0..m / 2 {
            let (x, y) = (seats[i], seats[m - 1 - i]);
            if x == bye || y == bye {
                continue;
            }
            // Alternate sides so that nobody is always side A: the fixed seat
            // by round, the others by table position.
            let swap = if i == 0 { r % 2 == 1 } else { i % 2 == 1 };
            round.push(if swap {
                Pairing { a: y, b: x }
            } else {
                Pairing { a: x, b: y }
            });
        }
        rounds.push(round);
        seats[1..].rotate_right(1);
    }
    rounds
}

/// `cycles` round robins in a row; every second one swaps sides, so with two
/// cycles each pair meets twice, once on each side.
pub fn schedule(n: usize, cycles: u32) -> Vec<Vec<Pairing>> {
    let base = round_robin(n);
    let mut out = Vec::with_capacity(base.len() * cycles as usize);
    for c in 0..cycles {
        for round in &base {
            out.push(
                round
                    .iter()
                    .map(|p| {
                        if c % 2 == 1 {
                            Pairing { a: p.b, b: p.a }
                        } else {
                            *p
                        }
                    })
                    .collect(),
            );
        }
    }
    out
}

/// The id of match `k` (1-based) of round `r` (1-based): `R1M1`.
pub fn match_id(round: u32, k: u32) -> String {
    format!("R{round}M{k}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{HashMap, HashSet};

    #[test]
    fn every_pair_once_rounds_disjoint() {
        for n in 2..=17 {
            let rounds = round_robin(n);
            let m = n + n % 2;
            assert_eq!(rounds.len(), m - 1, "n={n}");
            let mut pairs = HashSet::new();
            for round in &rounds {
                let mut busy = HashSet::new();
                for p in round {
                    assert_ne!(p.a, p.b);
                    assert!(p.a < n && p.b < n);
                    assert!(busy.insert(p.a) && busy.insert(p.b), "n={n}: disjoint");
                    assert!(pairs.insert((p.a.min(p.b), p.a.max(p.b))), "n={n}: repeat");
                }
                assert_eq!(round.len(), n / 2, "n={n}: everyone but the bye plays");
            }
            assert_eq!(pairs.len(), n * (n - 1) / 2, "n={n}");
        }
        assert!(round_robin(0).is_empty() && round_robin(1).is_empty());
    }

    #[test]
    fn sides_are_balanced() {
        for n in [4, 6, 8, 16] {
            let mut home: HashMap<usize, i32> = HashMap::new();
            for round in round_robin(n) {
                for p in round {
                    *home.entry(p.a).or_default() += 1;
                    *home.entry(p.b).or_default() -= 1;
                }
            }
            for (player, balance) in home {
                assert!(
                    balance.abs() <= (n as i32) / 2,
                    "n={n} player {player}: {balance}"
                );
            }
        }
    }

    #[test]
    fn double_round_robin_swaps_sides() {
        for n in [3, 4, 7, 10] {
            let rounds = schedule(n, 2);
            let mut ordered = HashMap::new();
            for p in rounds.iter().flatten() {
                *ordered.entry((p.a, p.b)).or_insert(0) += 1;
            }
            assert_eq!(ordered.len(), n * (n - 1), "n={n}: each ordered pair");
            assert!(ordered.values().all(|&c| c == 1));
        }
        assert_eq!(schedule(4, 3).len(), 9);
        assert_eq!(match_id(2, 3), "R2M3");
    }
}
