//! Glicko-2 (the `skillratings` crate), one rating period per round.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use skillratings::glicko2::{glicko2_rating_period, Glicko2Config, Glicko2Rating};
use skillratings::Outcomes;

use crate::standings::GameOutcome;

/// A player's Glicko-2 rating with its 95% interval (rating ± 1.96 RD).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GlickoRow {
    /// The player.
    pub player_id: String,
    /// Rating (1500 at the start).
    pub rating: f64,
    /// Rating deviation.
    pub deviation: f64,
    /// Volatility.
    pub volatility: f64,
    /// Lower end of the 95% interval.
    pub low: f64,
    /// Upper end of the 95% interval.
    pub high: f64,
}

/// The ratings of `players` after playing `rounds` in order (each a list of
/// games, one rating period). Games without a winner or a draw (double
/// technical losses) say nothing about strength and are skipped.
pub fn replay(players: &[String], rounds: &[Vec<GameOutcome>]) -> BTreeMap<String, Glicko2Rating> {
    let ratings: BTreeMap<String, Glicko2Rating> = players
        .iter()
        .map(|p| (p.clone(), Glicko2Rating::new()))
        .collect();
    rounds.iter().fold(ratings, |r, games| period(&r, games))
}

/// The ratings after one more rating period (a round's `games`): what
/// [`replay`] does for each round, so that a league can carry its ratings
/// from round to round instead of replaying them all.
pub fn period(
    ratings: &BTreeMap<String, Glicko2Rating>,
    games: &[GameOutcome],
) -> BTreeMap<String, Glicko2Rating> {
    let cfg = Glicko2Config::new();
    let mut results: BTreeMap<&str, Vec<(Glicko2Rating, Outcomes)>> = BTreeMap::new();
    for g in games {
        let (Some(score_a), Some(&ra), Some(&rb)) =
            (g.score_a(), ratings.get(&g.a), ratings.get(&g.b))
        else {
            continue;
        };
        let (oa, ob) = if score_a > 0.75 {
            (Outcomes::WIN, Outcomes::LOSS)
        } else if score_a < 0.25 {
            (Outcomes::LOSS, Outcomes::WIN)
        } else {
            (Outcomes::DRAW, Outcomes::DRAW)
        };
        results.entry(g.a.as_str()).or_default().push((rb, oa));
        results.entry(g.b.as_str()).or_default().push((ra, ob));
    }
    ratings
        .iter()
        .map(|(p, r)| {
            let games = results.get(p.as_str()).map(Vec::as_slice).unwrap_or(&[]);
            (p.clone(), glicko2_rating_period(r, games, &cfg))
        })
        .collect()
}

/// Rows with 95% intervals, best rating first.
pub fn rows(ratings: &BTreeMap<String, Glicko2Rating>) -> Vec<GlickoRow> {
    let mut out: Vec<GlickoRow> = ratings
        .iter()
        .map(|(p, r)| GlickoRow {
            player_id: p.clone(),
            rating: r.rating,
            deviation: r.deviation,
            volatility: r.volatility,
            low: r.rating - 1.96 * r.deviation,
            high: r.rating + 1.96 * r.deviation,
        })
        .collect();
    out.sort_by(|a, b| {
        b.rating
            .total_cmp(&a.rating)
            .then(a.player_id.cmp(&b.player_id))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::messages::GameStatus;

    fn win(a: &str, b: &str) -> GameOutcome {
        GameOutcome {
            a: a.into(),
            b: b.into(),
            status: GameStatus::Win,
            winner: Some(a.into()),
        }
    }

    #[test]
    fn winners_rise_and_order_within_a_round_does_not_matter() {
        let players: Vec<String> = ["a", "b", "c", "d"].iter().map(|s| s.to_string()).collect();
        let r1 = vec![win("a", "b"), win("c", "d")];
        let r1_rev = vec![win("c", "d"), win("a", "b")];
        let r2 = vec![win("a", "c"), win("b", "d")];
        let x = replay(&players, &[r1.clone(), r2.clone()]);
        let y = replay(&players, &[r1_rev, r2]);
        assert_eq!(x, y);
        assert!(x["a"].rating > x["b"].rating && x["b"].rating > x["d"].rating);
        assert!(x["a"].deviation < 350.0);
        let rows = rows(&x);
        assert_eq!(rows[0].player_id, "a");
        assert!((rows[0].high - rows[0].low - 2.0 * 1.96 * rows[0].deviation).abs() < 1e-9);
    }

    #[test]
    fn matches_the_glicko2_paper_example() {
        // Glickman's example: 1500/200 plays 1400/30 (win), 1550/100 (loss),
        // 1700/300 (loss) -> about 1464 / 151.5.
        let cfg = Glicko2Config::new();
        let me = Glicko2Rating {
            rating: 1500.0,
            deviation: 200.0,
            volatility: 0.06,
        };
        let opp = |r, d| Glicko2Rating {
            rating: r,
            deviation: d,
            volatility: 0.06,
        };
        let out = glicko2_rating_period(
            &me,
            &[
                (opp(1400.0, 30.0), Outcomes::WIN),
                (opp(1550.0, 100.0), Outcomes::LOSS),
                (opp(1700.0, 300.0), Outcomes::LOSS),
            ],
            &cfg,
        );
        assert!((out.rating - 1464.06).abs() < 0.1, "{out:?}");
        assert!((out.deviation - 151.52).abs() < 0.1, "{out:?}");
    }
}
