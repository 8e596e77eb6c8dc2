//! Reads for the public API and `league report`: every league, counts,
//! the schedule with results, one match with its moves, ratings by round.
//! Read-only; each is one statement or one read transaction.

use rusqlite::{params, OptionalExtension};

use super::{LeagueRow, LeagueStatus, Store, StoreError};
use crate::protocol::messages::GameStatus;

/// How far a league has got.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LeagueCounts {
    /// Players registered.
    pub players: u32,
    /// Matches scheduled.
    pub matches: u32,
    /// Matches with a result.
    pub results: u32,
    /// Rounds scheduled.
    pub rounds: u32,
    /// Rounds completed.
    pub rounds_completed: u32,
}

/// A scheduled match and its result, if recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduledMatch {
    /// `R1M1`.
    pub match_id: String,
    /// Its round.
    pub round: u32,
    /// Side A.
    pub player_a: String,
    /// Side B.
    pub player_b: String,
    /// Its referee.
    pub referee_id: String,
    /// How it ended, once recorded.
    pub status: Option<GameStatus>,
    /// The winner, if any.
    pub winner: Option<String>,
}

/// One stored move.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMove {
    /// Who moved.
    pub player_id: String,
    /// Its n-th move (from 1).
    pub turn: u32,
    /// The action.
    pub action: String,
}

/// A player's Glicko-2 rating after a round.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRating {
    /// The round.
    pub round: u32,
    /// The player.
    pub player_id: String,
    /// Rating.
    pub rating: f64,
    /// Deviation.
    pub deviation: f64,
}

/// Columns 0–6 of a schedule row joined with its result (`match_id,
/// round_no, player_a, player_b, referee_id, status, winner`); the status
/// comes back raw, for [`status_of`].
fn scheduled(r: &rusqlite::Row<'_>) -> rusqlite::Result<(ScheduledMatch, Option<String>)> {
    Ok((
        ScheduledMatch {
            match_id: r.get(0)?,
            round: r.get(1)?,
            player_a: r.get(2)?,
            player_b: r.get(3)?,
            referee_id: r.get(4)?,
            status: None,
            winner: r.get(6)?,
        },
        r.get(5)?,
    ))
}

fn status_of(s: Option<String>) -> Result<Option<GameStatus>, StoreError> {
    s.map(|s| GameStatus::parse(&s).ok_or_else(|| StoreError::Corrupt(format!("status {s:?}"))))
        .transpose()
}

impl Store {
    /// Every league, oldest first.
    pub fn leagues(&self) -> Result<Vec<LeagueRow>, StoreError> {
        let ids: Vec<String> = {
            let conn = self.conn();
            let mut st = conn.prepare("SELECT id FROM leagues ORDER BY rowid")?;
            let rows = st.query_map([], |r| r.get::<_, String>(0))?;
            rows.collect::<Result<_, _>>()?
        };
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(l) = self.league(&id)? {
                out.push(l);
            }
        }
        Ok(out)
    }

    /// How far `league_id` has got (zeros for an unknown league).
    pub fn league_counts(&self, league_id: &str) -> Result<LeagueCounts, StoreError> {
        let conn = self.conn();
        let one = |sql: &str| -> Result<u32, StoreError> {
            Ok(conn.query_row(sql, [league_id], |r| r.get::<_, i64>(0))? as u32)
        };
        Ok(LeagueCounts {
            players: one("SELECT COUNT(*) FROM players WHERE league_id = ?1")?,
            matches: one("SELECT COUNT(*) FROM matches WHERE league_id = ?1")?,
            results: one("SELECT COUNT(*) FROM results WHERE league_id = ?1")?,
            rounds: one("SELECT COALESCE(MAX(round_no), 0) FROM matches WHERE league_id = ?1")?,
            rounds_completed: one(
                "SELECT COUNT(*) FROM rounds WHERE league_id = ?1 AND status = 'completed'",
            )?,
        })
    }

    /// One page of the schedule with results, in schedule order, and how
    /// many matches pass the filters: `round`, `player`, and `state`
    /// (`finished`: with a result; `playing`: without one and in
    /// `playing`; `scheduled`: neither).
    #[allow(clippy::too_many_arguments)]
    pub fn match_page(
        &self,
        league_id: &str,
        round: Option<u32>,
        player: Option<&str>,
        state: Option<&str>,
        playing: &[String],
        limit: u32,
        offset: u64,
    ) -> Result<(u32, Vec<ScheduledMatch>), StoreError> {
        const FROM: &str = "FROM matches m LEFT JOIN results r
               ON r.league_id = m.league_id AND r.match_id = m.match_id
             WHERE m.league_id = ?1
               AND (?2 IS NULL OR m.round_no = ?2)
               AND (?3 IS NULL OR m.player_a = ?3 OR m.player_b = ?3)
               AND (CASE ?4
                      WHEN 'finished' THEN r.status IS NOT NULL
                      WHEN 'playing' THEN r.status IS NULL
                           AND m.match_id IN (SELECT value FROM json_each(?5))
                      WHEN 'scheduled' THEN r.status IS NULL
                           AND m.match_id NOT IN (SELECT value FROM json_each(?5))
                      ELSE 1 END)";
        let playing = serde_json::to_string(playing).unwrap_or_else(|_| "[]".into());
        let conn = self.conn();
        let total: i64 = conn.query_row(
            &format!("SELECT COUNT(*) {FROM}"),
            params![league_id, round, player, state, playing],
            |r| r.get(0),
        )?;
        let mut st = conn.prepare(&format!(
            "SELECT m.match_id, m.round_no, m.player_a, m.player_b, m.referee_id, r.status, r.winner
             {FROM} ORDER BY m.round_no, m.rowid LIMIT ?6 OFFSET ?7"
        ))?;
        let rows = st.query_map(
            params![
                league_id,
                round,
                player,
                state,
                playing,
                limit,
                offset as i64
            ],
            scheduled,
        )?;
        let page = rows
            .map(|row| {
                let (mut m, status) = row?;
                m.status = status_of(status)?;
                Ok(m)
            })
            .collect::<Result<_, StoreError>>()?;
        Ok((total as u32, page))
    }

    /// One match, its result's details and its moves; `None` when the
    /// league has no such match.
    #[allow(clippy::type_complexity)]
    pub fn match_detail(
        &self,
        league_id: &str,
        match_id: &str,
    ) -> Result<Option<(ScheduledMatch, Option<serde_json::Value>, Vec<StoredMove>)>, StoreError>
    {
        let conn = self.conn();
        let row = conn
            .query_row(
                "SELECT m.match_id, m.round_no, m.player_a, m.player_b, m.referee_id, r.status,
                        r.winner, r.details
                 FROM matches m LEFT JOIN results r
                   ON r.league_id = m.league_id AND r.match_id = m.match_id
                 WHERE m.league_id = ?1 AND m.match_id = ?2",
                [league_id, match_id],
                |r| {
                    let (m, status) = scheduled(r)?;
                    Ok((m, status, r.get::<_, Option<String>>(7)?))
                },
            )
            .optional()?;
        let Some((mut m, status, details)) = row else {
            return Ok(None);
        };
        m.status = status_of(status)?;
        let details = details
            .map(|d| {
                serde_json::from_str(&d)
                    .map_err(|e| StoreError::Corrupt(format!("details of {match_id}: {e}")))
            })
            .transpose()?;
        let mut st = conn.prepare(
            "SELECT player_id, seq, action FROM moves
             WHERE league_id = ?1 AND match_id = ?2 ORDER BY player_id = ?3 DESC, player_id, seq",
        )?;
        let moves = st
            .query_map(params![league_id, match_id, m.player_a], |r| {
                Ok(StoredMove {
                    player_id: r.get(0)?,
                    turn: r.get::<_, u32>(1)? + 1,
                    action: r.get(2)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Some((m, details, moves)))
    }

    /// Glicko-2 ratings after each completed round, by round then player.
    pub fn rating_history(&self, league_id: &str) -> Result<Vec<StoredRating>, StoreError> {
        let conn = self.conn();
        let mut st = conn.prepare(
            "SELECT round_no, player_id, rating, deviation FROM ratings
             WHERE league_id = ?1 ORDER BY round_no, player_id",
        )?;
        let rows = st.query_map([league_id], |r| {
            Ok(StoredRating {
                round: r.get(0)?,
                player_id: r.get(1)?,
                rating: r.get(2)?,
                deviation: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The stored status of `league_id`.
    pub fn league_status(&self, league_id: &str) -> Result<Option<LeagueStatus>, StoreError> {
        Ok(self.league(league_id)?.map(|l| l.status))
    }
}
