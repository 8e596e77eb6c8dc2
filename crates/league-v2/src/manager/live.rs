//! What the manager tells its watchers (the API's event stream and the
//! per-player gauges) as the league goes: rounds starting, matches starting
//! and finishing, the standings after each result, rounds and the league
//! completing. Publishing never waits (see [`EventLog`](crate::api::events::EventLog)).

use std::sync::atomic::Ordering;
use std::time::Duration;

use serde::Serialize;

use super::Manager;
use crate::api::model::{MatchSummary, StandingOut};
use crate::report::LeagueReport;
use crate::standings::{self, GameOutcome, Standing};
use crate::store::MatchRow;

/// How often at most the standings are published while results come in.
pub(super) const STANDINGS_EVERY: Duration = Duration::from_millis(100);

/// `match_started`.
#[derive(Serialize)]
struct MatchStarted<'a> {
    match_id: &'a str,
    round: u32,
    player_a: &'a str,
    player_b: &'a str,
}

/// `round_started`.
#[derive(Serialize)]
struct RoundStarted {
    round: u32,
    matches: Vec<MatchSummary>,
}

/// `standings_changed`: points only (ratings come with
/// `GET …/standings`, refitted there).
#[derive(Serialize)]
struct StandingsChanged {
    matches_played: u32,
    standings: Vec<StandingOut>,
}

/// `round_completed`.
#[derive(Serialize)]
struct RoundCompleted {
    round: u32,
    next_round: Option<u32>,
}

/// `league_completed`.
#[derive(Serialize)]
struct LeagueCompleted<'a> {
    champion: Option<&'a crate::protocol::messages::Champion>,
    matches_played: u32,
}

/// A standings row without ratings.
pub(crate) fn standing_out(s: &Standing) -> StandingOut {
    StandingOut {
        rank: s.rank,
        player_id: s.player_id.clone(),
        display_name: s.display_name.clone(),
        played: s.played,
        wins: s.wins,
        draws: s.draws,
        losses: s.losses,
        technical_losses: s.technical_losses,
        points: s.points,
        rating: None,
        rating_low: None,
        rating_high: None,
        glicko: None,
        glicko_deviation: None,
    }
}

pub(crate) fn summary(m: &MatchRow, state: &str) -> MatchSummary {
    MatchSummary {
        match_id: m.match_id.clone(),
        round: m.round,
        player_a: m.player_a.clone(),
        player_b: m.player_b.clone(),
        referee_id: m.referee_id.clone(),
        state: state.to_owned(),
        status: None,
        winner: None,
    }
}

impl Manager {
    pub(super) fn live_round_started(&self, round: u32, matches: &[MatchRow]) {
        let matches = {
            let t = self.inner.tally.lock().unwrap_or_else(|e| e.into_inner());
            matches
                .iter()
                .map(|m| {
                    let done = t.done.contains(&m.match_id);
                    summary(m, if done { "finished" } else { "scheduled" })
                })
                .collect()
        };
        self.inner
            .events
            .publish("round_started", &RoundStarted { round, matches });
    }

    pub(super) fn live_match_started(&self, m: &MatchRow) {
        self.inner
            .playing
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(m.match_id.clone());
        self.inner.events.publish(
            "match_started",
            &MatchStarted {
                match_id: &m.match_id,
                round: m.round,
                player_a: &m.player_a,
                player_b: &m.player_b,
            },
        );
    }

    pub(super) fn live_match_ended(&self, match_id: &str) {
        self.inner
            .playing
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(match_id);
    }

    /// After a result is recorded: `match_finished` at once; the standings
    /// (`standings_changed`, the points gauges) within [`STANDINGS_EVERY`],
    /// once for every result recorded meanwhile (they are recomputed from
    /// every result: once per result would cost a league of n matches
    /// O(n²)).
    pub(super) fn live_match_recorded(&self, m: &MatchRow, outcome: &GameOutcome) {
        let inner = &self.inner;
        let mut s = summary(m, "finished");
        s.status = Some(outcome.status.as_str().to_owned());
        s.winner = outcome.winner.clone();
        inner.events.publish("match_finished", &s);
        // A side that lost on a technical loss did not answer in time (or
        // answered garbage): down until its next match says otherwise.
        for p in [&outcome.a, &outcome.b] {
            let failed = outcome.status == crate::protocol::messages::GameStatus::TechnicalLoss
                && outcome.winner.as_deref() != Some(p.as_str());
            inner.metrics.player_up(&inner.league.id, p, !failed);
        }
        if inner.standings_pending.swap(true, Ordering::SeqCst) {
            return;
        }
        let me = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(STANDINGS_EVERY).await;
            me.inner.standings_pending.store(false, Ordering::SeqCst);
            let names = me.inner.registry().names();
            let (table, played) = {
                let t = me.inner.tally.lock().unwrap_or_else(|e| e.into_inner());
                let games: Vec<GameOutcome> = t.outcomes.iter().map(|(_, g)| g.clone()).collect();
                (
                    standings::compute(&names, &games, me.inner.cfg.settings.points),
                    games.len() as u32,
                )
            };
            me.publish_standings(&table, played);
        });
    }

    /// `standings_changed` and the points gauges for `table`.
    fn publish_standings(&self, table: &[Standing], matches_played: u32) {
        let inner = &self.inner;
        for row in table {
            inner
                .metrics
                .player_points(&inner.league.id, &row.player_id, row.points);
        }
        inner.events.publish(
            "standings_changed",
            &StandingsChanged {
                matches_played,
                standings: table.iter().map(standing_out).collect(),
            },
        );
    }

    /// After a round: its standings (so the last standings come before
    /// `round_completed` and `league_completed`), the rating gauges,
    /// `round_completed`.
    pub(super) fn live_round_completed(
        &self,
        round: u32,
        next: Option<u32>,
        ratings: &std::collections::BTreeMap<String, skillratings::glicko2::Glicko2Rating>,
        table: &[Standing],
        matches_played: u32,
    ) {
        self.publish_standings(table, matches_played);
        for (p, r) in ratings {
            self.inner
                .metrics
                .player_rating(&self.inner.league.id, p, r.rating, r.deviation);
        }
        self.inner.events.publish(
            "round_completed",
            &RoundCompleted {
                round,
                next_round: next,
            },
        );
    }

    pub(super) fn live_league_completed(&self, report: &LeagueReport) {
        self.inner.events.publish(
            "league_completed",
            &LeagueCompleted {
                champion: report.champion.as_ref(),
                matches_played: report.matches_played,
            },
        );
    }
}
