//! The outcome of a league: standings, Glicko-2 and Bradley–Terry ratings
//! with intervals, as data (`--json`) and as a text table.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::protocol::messages::{Champion, StandingEntry};
use crate::ratings::bradley_terry::{self, BtConfig, BtRow};
use crate::ratings::glicko::{self, GlickoRow};
use crate::standings::{self, GameOutcome, Points, Standing};
use crate::store::{LeagueRow, Store, StoreError};

/// A league's results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeagueReport {
    /// The league.
    pub league_id: String,
    /// Its game.
    pub game: String,
    /// `registering`, `running` or `completed`.
    pub status: String,
    /// Its seed.
    pub seed: u64,
    /// Points per win, draw, loss.
    pub points: Points,
    /// Rounds scheduled.
    pub rounds: u32,
    /// Matches scheduled.
    pub matches: u32,
    /// Matches with a recorded result.
    pub matches_played: u32,
    /// The table (see [`standings`] for the order).
    pub standings: Vec<Standing>,
    /// Glicko-2 after the last round, best first.
    pub glicko: Vec<GlickoRow>,
    /// Bradley–Terry fit on all results with bootstrap intervals, best first.
    pub bradley_terry: Vec<BtRow>,
    /// Rank 1.
    pub champion: Option<Champion>,
    /// Wall-clock figures of this process's run, when it ran the league.
    pub timing: Option<Timing>,
}

/// Wall-clock figures.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Timing {
    /// From the start of play to completion.
    pub play_seconds: f64,
    /// From the last registration to completion (serve).
    pub seconds_after_last_registration: Option<f64>,
}

/// The outcomes of every recorded result, with their rounds.
pub fn outcomes(store: &Store, league_id: &str) -> Result<Vec<(u32, GameOutcome)>, StoreError> {
    Ok(store
        .results(league_id)?
        .iter()
        .map(|r| (r.round, GameOutcome::from_row(r)))
        .collect())
}

/// Glicko-2 ratings of `players` after the rounds `..=up_to` of `games`.
pub fn glicko_after(
    players: &[String],
    games: &[(u32, GameOutcome)],
    up_to: u32,
) -> std::collections::BTreeMap<String, skillratings::glicko2::Glicko2Rating> {
    let mut rounds: Vec<Vec<GameOutcome>> = vec![Vec::new(); up_to as usize];
    for (r, g) in games {
        if (1..=up_to).contains(r) {
            rounds[*r as usize - 1].push(g.clone());
        }
    }
    glicko::replay(players, &rounds)
}

/// Builds the report from the database.
pub fn build(
    store: &Store,
    league: &LeagueRow,
    seed: u64,
    points: Points,
    bt: &BtConfig,
) -> Result<LeagueReport, StoreError> {
    let players = store.players(&league.id)?;
    let ids: Vec<String> = players.iter().map(|p| p.player_id.clone()).collect();
    let names: Vec<(String, String)> = players
        .iter()
        .map(|p| (p.player_id.clone(), p.display_name.clone()))
        .collect();
    let matches = store.matches(&league.id)?;
    let games = outcomes(store, &league.id)?;
    let plain: Vec<GameOutcome> = games.iter().map(|(_, g)| g.clone()).collect();
    let rounds = matches.iter().map(|m| m.round).max().unwrap_or(0);
    let table = standings::compute(&names, &plain, points);
    let glicko = glicko::rows(&glicko_after(&ids, &games, rounds));
    let bt_cfg = BtConfig { seed, ..*bt };
    let bradley_terry = bradley_terry::ratings(&ids, &plain, &bt_cfg);
    let champion = table
        .first()
        .filter(|_| !plain.is_empty())
        .map(|s| Champion {
            player_id: s.player_id.clone(),
            display_name: s.display_name.clone(),
            points: s.points,
        });
    Ok(LeagueReport {
        league_id: league.id.clone(),
        game: league.game.as_str().to_owned(),
        status: league.status.as_str().to_owned(),
        seed,
        points,
        rounds,
        matches: matches.len() as u32,
        matches_played: plain.len() as u32,
        standings: table,
        glicko,
        bradley_terry,
        champion,
        timing: None,
    })
}

/// The standings as league.v2 entries.
pub fn standing_entries(table: &[Standing]) -> Vec<StandingEntry> {
    table
        .iter()
        .map(|s| StandingEntry {
            rank: s.rank,
            player_id: s.player_id.clone(),
            display_name: s.display_name.clone(),
            played: s.played,
            wins: s.wins,
            draws: s.draws,
            losses: s.losses,
            points: s.points,
        })
        .collect()
}

impl LeagueReport {
    /// A text table: standings with both ratings and their 95% intervals.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "league {} ({}): {} of {} matches in {} rounds, seed {}, points {}",
            self.league_id,
            self.game,
            self.matches_played,
            self.matches,
            self.rounds,
            self.seed,
            self.points
        );
        let _ = writeln!(
            out,
            "{:>4}  {:<20} {:>6} {:>4} {:>4} {:>4} {:>4} {:>6}  {:>22}  {:>22}",
            "rank",
            "player",
            "played",
            "W",
            "D",
            "L",
            "TL",
            "points",
            "glicko-2 [95%]",
            "bradley-terry [95%]"
        );
        for s in &self.standings {
            let g = self.glicko.iter().find(|g| g.player_id == s.player_id);
            let b = self
                .bradley_terry
                .iter()
                .find(|b| b.player_id == s.player_id);
            let g = g.map_or_else(String::new, |g| {
                format!("{:.0} [{:.0}, {:.0}]", g.rating, g.low, g.high)
            });
            let b = b.map_or_else(String::new, |b| {
                format!("{:.0} [{:.0}, {:.0}]", b.rating, b.low, b.high)
            });
            let _ = writeln!(
                out,
                "{:>4}  {:<20} {:>6} {:>4} {:>4} {:>4} {:>4} {:>6}  {:>22}  {:>22}",
                s.rank,
                s.player_id,
                s.played,
                s.wins,
                s.draws,
                s.losses,
                s.technical_losses,
                s.points,
                g,
                b
            );
        }
        if let Some(t) = &self.timing {
            let _ = write!(out, "played in {:.3} s", t.play_seconds);
            if let Some(after) = t.seconds_after_last_registration {
                let _ = write!(out, " ({after:.3} s after the last registration)");
            }
            out.push('\n');
        }
        out
    }
}
