//! League standings from recorded results.
//!
//! Points: win 3, draw 1, loss 0 by default ([`Points`]); a technical loss
//! is a loss (and is also counted apart). A double technical loss (neither
//! player answered) is a loss for both.
//!
//! **Order** (ties broken in this order, each rule applied only among the
//! players still tied):
//! 1. more points;
//! 2. more wins;
//! 3. more points in the games between the tied players (head-to-head);
//! 4. fewer technical losses;
//! 5. player id, ascending (so the order is always total and reproducible).

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::protocol::messages::{GameStatus, Record};
use crate::store::ResultRow;

/// Points per outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Points {
    /// For a win.
    pub win: u32,
    /// For a draw.
    pub draw: u32,
    /// For a loss.
    pub loss: u32,
}

/// How a game ended for one of its players.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The player is the winner.
    Won,
    /// No winner, and the game says draw.
    Drew,
    /// Anything else: the other won, or a technical loss (also a double
    /// one, which has no winner).
    Lost,
}

/// `me`'s side of a game that ended with `status` and `winner`: the one
/// definition of win, draw and loss the manager, the standings and the
/// referee all use.
pub fn side(status: GameStatus, winner: Option<&str>, me: &str) -> Side {
    match winner {
        Some(w) if w == me => Side::Won,
        None if status == GameStatus::Draw => Side::Drew,
        _ => Side::Lost,
    }
}

impl Points {
    /// The points for `side`.
    pub fn of(&self, side: Side) -> u32 {
        match side {
            Side::Won => self.win,
            Side::Drew => self.draw,
            Side::Lost => self.loss,
        }
    }
}

impl Default for Points {
    fn default() -> Points {
        Points {
            win: 3,
            draw: 1,
            loss: 0,
        }
    }
}

impl FromStr for Points {
    type Err = String;

    /// Parses `win,draw,loss` (`3,1,0`).
    fn from_str(s: &str) -> Result<Points, String> {
        let parts: Vec<u32> = s
            .split(',')
            .map(|p| p.trim().parse::<u32>())
            .collect::<Result<_, _>>()
            .map_err(|e| format!("points {s:?}: {e}"))?;
        match parts[..] {
            [win, draw, loss] if win >= draw && draw >= loss && win <= 1000 => {
                Ok(Points { win, draw, loss })
            }
            _ => Err(format!(
                "points {s:?}: want win,draw,loss with win >= draw >= loss"
            )),
        }
    }
}

impl fmt::Display for Points {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{},{},{}", self.win, self.draw, self.loss)
    }
}

/// One game's outcome as standings and ratings see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GameOutcome {
    /// Side A.
    pub a: String,
    /// Side B.
    pub b: String,
    /// How it ended.
    pub status: GameStatus,
    /// The winner, if any.
    pub winner: Option<String>,
}

impl GameOutcome {
    /// From a stored result.
    pub fn from_row(r: &ResultRow) -> GameOutcome {
        GameOutcome {
            a: r.player_a.clone(),
            b: r.player_b.clone(),
            status: r.status,
            winner: r.winner.clone(),
        }
    }

    /// `me`'s side of this game.
    pub fn side(&self, me: &str) -> Side {
        side(self.status, self.winner.as_deref(), me)
    }

    /// The score of side A in [0, 1] (win 1, draw ½, loss 0), or `None` when
    /// the game says nothing about strength (a double technical loss).
    pub fn score_a(&self) -> Option<f64> {
        match self.side(&self.a) {
            Side::Won => Some(1.0),
            Side::Drew => Some(0.5),
            Side::Lost if self.winner.as_deref() == Some(self.b.as_str()) => Some(0.0),
            Side::Lost => None,
        }
    }
}

/// One row of the standings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Standing {
    /// 1-based rank.
    pub rank: u32,
    /// The player.
    pub player_id: String,
    /// Its name.
    pub display_name: String,
    /// Games played.
    pub played: u32,
    /// Wins.
    pub wins: u32,
    /// Draws.
    pub draws: u32,
    /// Losses (technical ones included).
    pub losses: u32,
    /// Technical losses.
    pub technical_losses: u32,
    /// Points.
    pub points: u32,
}

impl Standing {
    /// The player's record (for `CHOOSE_PARITY_CALL` contexts).
    pub fn record(&self) -> Record {
        Record {
            wins: self.wins,
            losses: self.losses,
            draws: self.draws,
        }
    }
}

/// Computes the standings of `players` (id, name) from `games`.
pub fn compute(
    players: &[(String, String)],
    games: &[GameOutcome],
    points: Points,
) -> Vec<Standing> {
    let index: HashMap<&str, usize> = players
        .iter()
        .enumerate()
        .map(|(i, (id, _))| (id.as_str(), i))
        .collect();
    let mut rows: Vec<Standing> = players
        .iter()
        .map(|(id, name)| Standing {
            rank: 0,
            player_id: id.clone(),
            display_name: name.clone(),
            played: 0,
            wins: 0,
            draws: 0,
            losses: 0,
            technical_losses: 0,
            points: 0,
        })
        .collect();
    for g in games {
        let (Some(&ia), Some(&ib)) = (index.get(g.a.as_str()), index.get(g.b.as_str())) else {
            continue;
        };
        for (i, me) in [(ia, &g.a), (ib, &g.b)] {
            let row = &mut rows[i];
            row.played += 1;
            let side = g.side(me);
            row.points += points.of(side);
            match side {
                Side::Won => row.wins += 1,
                Side::Drew => row.draws += 1,
                Side::Lost => {
                    row.losses += 1;
                    if g.status == GameStatus::TechnicalLoss {
                        row.technical_losses += 1;
                    }
                }
            }
        }
    }
    rows.sort_by(|x, y| {
        y.points
            .cmp(&x.points)
            .then(y.wins.cmp(&x.wins))
            .then(x.player_id.cmp(&y.player_id))
    });
    // Head-to-head and later rules inside each group tied on points and wins.
    let mut start = 0;
    while start < rows.len() {
        let mut end = start + 1;
        while end < rows.len()
            && rows[end].points == rows[start].points
            && rows[end].wins == rows[start].wins
        {
            end += 1;
        }
        if end - start > 1 {
            let group: Vec<&str> = rows[start..end]
                .iter()
                .map(|r| r.player_id.as_str())
                .collect();
            let h2h = head_to_head(&group, games, points);
            rows[start..end].sort_by(|x, y| {
                let hx = h2h.get(x.player_id.as_str()).copied().unwrap_or(0);
                let hy = h2h.get(y.player_id.as_str()).copied().unwrap_or(0);
                hy.cmp(&hx)
                    .then(x.technical_losses.cmp(&y.technical_losses))
                    .then(x.player_id.cmp(&y.player_id))
            });
        }
        start = end;
    }
    for (i, r) in rows.iter_mut().enumerate() {
        r.rank = i as u32 + 1;
    }
    rows
}

fn head_to_head(group: &[&str], games: &[GameOutcome], points: Points) -> HashMap<String, u32> {
    let mut pts: HashMap<String, u32> = HashMap::new();
    for g in games {
        if !group.contains(&g.a.as_str()) || !group.contains(&g.b.as_str()) {
            continue;
        }
        for me in [&g.a, &g.b] {
            *pts.entry(me.clone()).or_default() += points.of(g.side(me));
        }
    }
    pts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_definition_of_win_draw_and_loss() {
        use GameStatus::*;
        assert_eq!(side(Win, Some("a"), "a"), Side::Won);
        assert_eq!(side(Win, Some("a"), "b"), Side::Lost);
        assert_eq!(side(Draw, None, "a"), Side::Drew);
        assert_eq!(side(TechnicalLoss, Some("b"), "a"), Side::Lost);
        assert_eq!(
            side(TechnicalLoss, None, "a"),
            Side::Lost,
            "a double technical loss"
        );
        let p = Points::default();
        assert_eq!(
            (p.of(Side::Won), p.of(Side::Drew), p.of(Side::Lost)),
            (3, 1, 0)
        );
    }

    fn g(a: &str, b: &str, winner: Option<&str>, status: GameStatus) -> GameOutcome {
        GameOutcome {
            a: a.into(),
            b: b.into(),
            status,
            winner: winner.map(Into::into),
        }
    }

    fn players(ids: &[&str]) -> Vec<(String, String)> {
        ids.iter()
            .map(|i| (i.to_string(), i.to_uppercase()))
            .collect()
    }

    fn order(rows: &[Standing]) -> Vec<&str> {
        rows.iter().map(|r| r.player_id.as_str()).collect()
    }

    #[test]
    fn counts_points() {
        use GameStatus::*;
        let games = [
            g("a", "b", Some("a"), Win),
            g("a", "c", None, Draw),
            g("b", "c", Some("b"), TechnicalLoss),
            g("c", "d", None, TechnicalLoss),
        ];
        let rows = compute(&players(&["a", "b", "c", "d"]), &games, Points::default());
        let a = rows.iter().find(|r| r.player_id == "a").unwrap();
        assert_eq!(
            (a.played, a.wins, a.draws, a.losses, a.points),
            (2, 1, 1, 0, 4)
        );
        let c = rows.iter().find(|r| r.player_id == "c").unwrap();
        assert_eq!(
            (c.played, c.draws, c.losses, c.technical_losses, c.points),
            (3, 1, 2, 2, 1)
        );
        let d = rows.iter().find(|r| r.player_id == "d").unwrap();
        assert_eq!((d.losses, d.technical_losses, d.points), (1, 1, 0));
        assert_eq!(order(&rows), vec!["a", "b", "c", "d"]);
        assert_eq!(a.display_name, "A");
        let custom = compute(&players(&["a", "b"]), &games[..1], "2,1,0".parse().unwrap());
        assert_eq!(custom[0].points, 2);
    }

    #[test]
    fn tie_breaks_in_order() {
        use GameStatus::*;
        // b and c tie on points and wins; c beat b head-to-head.
        let games = [
            g("b", "c", Some("c"), Win),
            g("b", "a", Some("b"), Win),
            g("c", "a", Some("a"), Win),
        ];
        let rows = compute(&players(&["a", "b", "c"]), &games, Points::default());
        // all three have 3 points and 1 win; head-to-head inside the group is the
        // same 3 each, technical losses are 0: ids decide.
        assert_eq!(order(&rows), vec!["a", "b", "c"]);

        let games = [
            g("b", "c", Some("c"), Win),
            g("a", "d", Some("a"), Win),
            g("b", "d", Some("b"), Win),
            g("c", "d", None, TechnicalLoss),
        ];
        // a: 3 (1 win), b: 3 (1 win), c: 3 (1 win, 1 tech loss), d: 0
        // group {a,b,c}: h2h a 0 (no games inside), b 0, c 3 → c first; then a, b by
        // technical losses (0 each) and id.
        let rows = compute(&players(&["a", "b", "c", "d"]), &games, Points::default());
        assert_eq!(order(&rows), vec!["c", "a", "b", "d"]);
        assert_eq!(
            rows.iter().map(|r| r.rank).collect::<Vec<_>>(),
            vec![1, 2, 3, 4]
        );

        // technical losses decide when head-to-head does not
        let games = [
            g("a", "x", Some("a"), Win),
            g("b", "y", Some("b"), Win),
            g("a", "z", None, TechnicalLoss),
            g("b", "z", Some("z"), Win),
        ];
        let rows = compute(
            &players(&["a", "b", "x", "y", "z"]),
            &games,
            Points::default(),
        );
        assert_eq!(
            &order(&rows)[..3],
            &["z", "b", "a"],
            "z wins head-to-head; b has fewer technical losses than a"
        );
    }

    #[test]
    fn parses_points() {
        assert_eq!("3,1,0".parse::<Points>().unwrap(), Points::default());
        assert!("1,3,0".parse::<Points>().is_err());
        assert!("3,1".parse::<Points>().is_err());
        assert!("a,b,c".parse::<Points>().is_err());
    }
}
