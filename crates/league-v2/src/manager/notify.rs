//! What the manager tells remote players between matches: the round's
//! matches, the standings after it, its end, and the end of the league.
//! Nothing here waits for a player: messages are queued per player and
//! sent in order by the outbox, so a dead player never holds up the league
//! loop; at the end the queues get `ManagerConfig::notify_flush` to deliver
//! `LEAGUE_COMPLETED`.

use serde::Serialize;

use super::Manager;
use crate::protocol::jsonrpc::message;
use crate::protocol::messages::{
    types, AnnouncedMatch, LeagueCompleted, RoundAnnouncement, RoundCompleted, StandingsUpdate,
};
use crate::protocol::Envelope;
use crate::report::{standing_entries, LeagueReport};
use crate::standings::{GameOutcome, Standing};
use crate::store::MatchRow;

impl Manager {
    /// Queues the messages of `steps` for every remote player, in order,
    /// each with its own token; returns at once (see
    /// [`Outbox`](crate::referee::Outbox)).
    fn broadcast(&self, steps: &[(&str, &str, serde_json::Value)], conversation: &str) {
        let inner = &self.inner;
        let remotes = inner.registry().remotes();
        for (_, endpoint, token) in remotes {
            for (method, message_type, body) in steps {
                let env =
                    Envelope::new(message_type, &inner.sender, conversation, token.as_deref());
                inner.outbox.post(&endpoint, method, message(&env, body));
            }
        }
    }

    fn value<T: Serialize>(body: &T) -> serde_json::Value {
        serde_json::to_value(body).unwrap_or_default()
    }

    pub(super) fn announce_round(&self, round: u32, matches: &[MatchRow]) {
        let inner = &self.inner;
        let endpoint = inner
            .cfg
            .public_url
            .clone()
            .unwrap_or_else(|| "in-process".to_owned());
        let body = RoundAnnouncement {
            league_id: inner.league.id.clone(),
            round_id: round,
            matches: matches
                .iter()
                .map(|m| AnnouncedMatch {
                    match_id: m.match_id.clone(),
                    game_type: inner.cfg.settings.game.as_str().to_owned(),
                    player_A_id: m.player_a.clone(),
                    player_B_id: m.player_b.clone(),
                    referee_endpoint: endpoint.clone(),
                })
                .collect(),
        };
        let conv = format!("{}/R{round}", inner.league.id);
        self.broadcast(
            &[(
                "notify_round",
                types::ROUND_ANNOUNCEMENT,
                Self::value(&body),
            )],
            &conv,
        );
    }

    pub(super) fn announce_round_completed(
        &self,
        round: u32,
        next: Option<u32>,
        table: &[Standing],
        matches: u32,
        games: &[(u32, GameOutcome)],
    ) {
        let inner = &self.inner;
        let league_id = inner.league.id.clone();
        let update = StandingsUpdate {
            league_id: league_id.clone(),
            round_id: round,
            standings: standing_entries(table),
        };
        let count = |f: &dyn Fn(&GameOutcome) -> bool| {
            games.iter().filter(|(r, g)| *r == round && f(g)).count()
        };
        let summary = serde_json::json!({
            "wins": count(&|g| g.status == crate::protocol::messages::GameStatus::Win),
            "draws": count(&|g| g.status == crate::protocol::messages::GameStatus::Draw),
            "technical_losses": count(&|g| g.status == crate::protocol::messages::GameStatus::TechnicalLoss),
        });
        let done = RoundCompleted {
            league_id,
            round_id: round,
            matches_completed: matches,
            next_round_id: next,
            summary,
        };
        let conv = format!("{}/R{round}", inner.league.id);
        self.broadcast(
            &[
                (
                    "update_standings",
                    types::LEAGUE_STANDINGS_UPDATE,
                    Self::value(&update),
                ),
                (
                    "notify_round_completed",
                    types::ROUND_COMPLETED,
                    Self::value(&done),
                ),
            ],
            &conv,
        );
    }

    pub(super) async fn announce_completed(&self, report: &LeagueReport) {
        let body = LeagueCompleted {
            league_id: report.league_id.clone(),
            total_rounds: report.rounds,
            total_matches: report.matches_played,
            champion: report.champion.clone(),
            final_standings: standing_entries(&report.standings),
        };
        let conv = format!("{}/end", report.league_id);
        self.broadcast(
            &[(
                "notify_league_completed",
                types::LEAGUE_COMPLETED,
                Self::value(&body),
            )],
            &conv,
        );
        // Remote referees hear it too (a referee process started for one
        // league exits on it).
        let value = Self::value(&body);
        for (_, endpoint, token) in self.inner.remotes.contacts() {
            let env = Envelope::new(
                types::LEAGUE_COMPLETED,
                &self.inner.sender,
                &conv,
                Some(&token),
            );
            self.inner
                .outbox
                .post(&endpoint, "notify_league_completed", message(&env, &value));
        }
        let late = self.inner.outbox.flush(self.inner.cfg.notify_flush).await;
        if late > 0 {
            tracing::warn!("{late} players did not take LEAGUE_COMPLETED in time");
        }
    }
}
