//! SQLite persistence (WAL): leagues, players, referees, rounds, matches,
//! results, moves, standings and ratings.
//!
//! **Invariant**: every change that must survive a crash is one
//! transaction. A league and its initial players are created together; the
//! whole schedule is saved at once; a result and its moves are one insert
//! keyed by (league, match), so a match replayed after a restart can never be
//! counted twice; a round is marked complete together with its standings
//! and ratings snapshot. Killing the process at any point leaves a database
//! the manager resumes from.
//!
//! Auth tokens of remote players are stored in clear so a restarted manager
//! can keep talking to them; the file is as sensitive as the tokens.
//!
//! The API is synchronous; async callers use `spawn_blocking`.

mod read;
mod schema;

pub use read::{LeagueCounts, ScheduledMatch, StoredMove, StoredRating};

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::game::dungeon::DungeonStep;
use crate::game::GameType;
use crate::protocol::messages::GameStatus;
use crate::protocol::time::now_iso;

/// Storage failures.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite failed.
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The row exists already.
    #[error("already exists: {0}")]
    Duplicate(String),
    /// No such row.
    #[error("not found: {0}")]
    NotFound(String),
    /// A stored value cannot be read back.
    #[error("corrupt row: {0}")]
    Corrupt(String),
}

impl StoreError {
    /// Whether the file itself is the problem (not a database, damaged,
    /// unreadable, read-only, or from a newer program): the user's to fix.
    pub fn is_bad_file(&self) -> bool {
        match self {
            StoreError::Corrupt(_) => true,
            StoreError::Sqlite(e) => e.sqlite_error_code().is_some_and(|c| {
                matches!(
                    c,
                    rusqlite::ErrorCode::NotADatabase
                        | rusqlite::ErrorCode::DatabaseCorrupt
                        | rusqlite::ErrorCode::CannotOpen
                        | rusqlite::ErrorCode::ReadOnly
                        | rusqlite::ErrorCode::PermissionDenied
                )
            }),
            _ => false,
        }
    }
}

/// How durable a commit is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// `synchronous=NORMAL`: survives a crash of the process (SIGKILL); the
    /// last commits may be lost on power failure. The default.
    Process,
    /// `synchronous=FULL`: every commit is fsynced.
    PowerLoss,
}

/// Where a league stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeagueStatus {
    /// Accepting players.
    Registering,
    /// Playing its schedule.
    Running,
    /// Done.
    Completed,
}

impl LeagueStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            LeagueStatus::Registering => "registering",
            LeagueStatus::Running => "running",
            LeagueStatus::Completed => "completed",
        }
    }

    fn parse(s: &str) -> Result<LeagueStatus, StoreError> {
        match s {
            "registering" => Ok(LeagueStatus::Registering),
            "running" => Ok(LeagueStatus::Running),
            "completed" => Ok(LeagueStatus::Completed),
            _ => Err(StoreError::Corrupt(format!("league status {s:?}"))),
        }
    }
}

/// A league.
#[derive(Debug, Clone, PartialEq)]
pub struct LeagueRow {
    /// `L1`, `L2`...
    pub id: String,
    /// Its game.
    pub game: GameType,
    /// Its settings (JSON, see `manager::LeagueSettings`).
    pub config: Value,
    /// What identifies "the same league" for resuming.
    pub config_key: String,
    /// Where it stands.
    pub status: LeagueStatus,
}

/// How a player takes part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlayerKind {
    /// A policy in the manager's process.
    Native,
    /// A league.v2 player reached over HTTP.
    Remote,
}

/// A player of a league.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlayerRow {
    /// Its id.
    pub player_id: String,
    /// Its name.
    pub display_name: String,
    /// Native or remote.
    pub kind: PlayerKind,
    /// Policy spec (native) or contact endpoint (remote).
    pub spec: String,
    /// Remote players' auth token.
    pub auth_token: Option<String>,
}

/// A scheduled match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchRow {
    /// `R1M1`.
    pub match_id: String,
    /// Its round (1-based).
    pub round: u32,
    /// Side A.
    pub player_a: String,
    /// Side B.
    pub player_b: String,
    /// Its referee.
    pub referee_id: String,
    /// Its seed.
    pub seed: u64,
}

/// A finished match to record.
#[derive(Debug, Clone, PartialEq)]
pub struct MatchRecord {
    /// The match.
    pub match_id: String,
    /// How it ended.
    pub status: GameStatus,
    /// The winner, if any.
    pub winner: Option<String>,
    /// Game details (JSON).
    pub details: Value,
    /// Each player's moves, in order (even_odd: the one choice).
    pub moves: Vec<(String, Vec<MoveRecord>)>,
}

/// One move of a player.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MoveRecord {
    /// The action's name (even_odd: the parity chosen).
    pub action: String,
    /// pmd_dungeon: where the leader stood after it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<StepAfter>,
}

impl MoveRecord {
    /// A move with nothing to check (even_odd).
    pub fn plain(action: impl Into<String>) -> MoveRecord {
        MoveRecord {
            action: action.into(),
            after: None,
        }
    }
}

/// Where the leader stood after a pmd_dungeon move: what a replay checks
/// each re-simulated step against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepAfter {
    /// Floor.
    pub floor: u32,
    /// HP.
    pub hp: i32,
    /// Column.
    pub x: u32,
    /// Row.
    pub y: u32,
    /// The step failed and was undone (a replay skips it).
    pub rolled_back: bool,
}

impl From<&DungeonStep> for StepAfter {
    fn from(s: &DungeonStep) -> StepAfter {
        StepAfter {
            floor: s.floor,
            hp: s.hp,
            x: s.x,
            y: s.y,
            rolled_back: s.rolled_back,
        }
    }
}

/// A recorded result with its pairing.
#[derive(Debug, Clone, PartialEq)]
pub struct ResultRow {
    /// The match.
    pub match_id: String,
    /// Its round.
    pub round: u32,
    /// Side A.
    pub player_a: String,
    /// Side B.
    pub player_b: String,
    /// How it ended.
    pub status: GameStatus,
    /// The winner, if any.
    pub winner: Option<String>,
    /// Game details.
    pub details: Value,
}

/// Whether a record was new.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// Stored now.
    Inserted,
    /// It was stored before; nothing changed.
    Duplicate,
}

/// One row of a standings snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StandingSnapshot {
    /// The player.
    pub player_id: String,
    /// Rank.
    pub rank: u32,
    /// Played.
    pub played: u32,
    /// Wins.
    pub wins: u32,
    /// Draws.
    pub draws: u32,
    /// Losses.
    pub losses: u32,
    /// Technical losses (among the losses).
    pub technical_losses: u32,
    /// Points.
    pub points: u32,
}

/// One row of a ratings snapshot.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RatingSnapshot<'a> {
    /// The player.
    pub player_id: &'a str,
    /// Glicko-2 rating.
    pub rating: f64,
    /// Its deviation.
    pub deviation: f64,
    /// Its volatility.
    pub volatility: f64,
}

/// What is needed to replay a match with the replay tool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MatchReplay {
    /// The league.
    pub league_id: String,
    /// The match.
    pub match_id: String,
    /// Its game.
    pub game: String,
    /// The match seed (pmd_dungeon: what both seats' dungeons were made
    /// from).
    pub seed: u64,
    /// The result's details (pmd_dungeon: `dungeon`, the factory's
    /// descriptor, names the ROM and start point).
    pub details: Value,
    /// Each player's actions in order.
    pub players: Vec<PlayerMoves>,
}

/// One player's moves in a match.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlayerMoves {
    /// The player.
    pub player_id: String,
    /// Its moves, in order.
    pub moves: Vec<MoveRecord>,
}

/// The database.
pub struct Store {
    conn: Mutex<Connection>,
}

fn seed_to_sql(seed: u64) -> i64 {
    // SQLite integers are signed 64-bit; the bits are kept as they are.
    seed as i64
}

fn seed_from_sql(v: i64) -> u64 {
    v as u64
}

impl Store {
    /// Opens (creating if needed) the database at `path`.
    pub fn open(path: &Path, durability: Durability) -> Result<Store, StoreError> {
        let conn = Connection::open(path)?;
        Store::init(conn, durability)
    }

    /// A read-only connection to the database at `path`, which a writer
    /// has opened (and migrated) before: the read API's readers, which
    /// under WAL never wait for the writer nor make it wait.
    pub fn open_reader(path: &Path) -> Result<Store, StoreError> {
        let conn = Connection::open_with_flags(
            path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.pragma_update(None, "query_only", "ON")?;
        Ok(Store {
            conn: Mutex::new(conn),
        })
    }

    /// A database in memory (for one-shot leagues without `--db`).
    pub fn in_memory() -> Result<Store, StoreError> {
        Store::init(Connection::open_in_memory()?, Durability::Process)
    }

    fn init(conn: Connection, durability: Durability) -> Result<Store, StoreError> {
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        let sync = match durability {
            Durability::Process => "NORMAL",
            Durability::PowerLoss => "FULL",
        };
        conn.pragma_update(None, "synchronous", sync)?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        schema::migrate(&conn)?;
        Ok(Store {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave a transaction open
        // (rusqlite rolls back on drop), so the connection is still usable.
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Blocks every other use of the database until the guard is dropped
    /// (tests: a database that is slow to answer).
    #[cfg(test)]
    pub(crate) fn hold(&self) -> MutexGuard<'_, Connection> {
        self.conn()
    }

    /// Checks the database answers.
    pub fn ping(&self) -> Result<(), StoreError> {
        self.conn().query_row("SELECT 1", [], |_| Ok(()))?;
        Ok(())
    }

    /// Creates a league with its first players, in one transaction.
    pub fn create_league(
        &self,
        game: GameType,
        config: &Value,
        config_key: &str,
        players: &[PlayerRow],
    ) -> Result<LeagueRow, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let n: i64 = tx.query_row("SELECT COUNT(*) FROM leagues", [], |r| r.get(0))?;
        let id = format!("L{}", n + 1);
        tx.execute(
            "INSERT INTO leagues(id, game, config, config_key, status, created_at)
             VALUES (?1, ?2, ?3, ?4, 'registering', ?5)",
            params![id, game.as_str(), config.to_string(), config_key, now_iso()],
        )?;
        for p in players {
            insert_player(&tx, &id, p)?;
        }
        tx.commit()?;
        Ok(LeagueRow {
            id,
            game,
            config: config.clone(),
            config_key: config_key.to_owned(),
            status: LeagueStatus::Registering,
        })
    }

    /// The newest league with this config key.
    pub fn find_league(&self, config_key: &str) -> Result<Option<LeagueRow>, StoreError> {
        self.league_where("config_key = ?1", config_key)
    }

    /// A league by id.
    pub fn league(&self, id: &str) -> Result<Option<LeagueRow>, StoreError> {
        self.league_where("id = ?1", id)
    }

    fn league_where(&self, cond: &str, arg: &str) -> Result<Option<LeagueRow>, StoreError> {
        let conn = self.conn();
        let sql = format!(
            "SELECT id, game, config, config_key, status FROM leagues WHERE {cond} ORDER BY rowid DESC LIMIT 1"
        );
        let row = conn
            .query_row(&sql, [arg], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                ))
            })
            .optional()?;
        row.map(|(id, game, config, config_key, status)| {
            Ok(LeagueRow {
                id,
                game: game.parse().map_err(StoreError::Corrupt)?,
                config: serde_json::from_str(&config)
                    .map_err(|e| StoreError::Corrupt(format!("league config: {e}")))?,
                config_key,
                status: LeagueStatus::parse(&status)?,
            })
        })
        .transpose()
    }

    /// The newest league of any kind.
    pub fn find_league_any(&self) -> Result<Option<LeagueRow>, StoreError> {
        self.league_where("?1 = ?1", "")
    }

    /// Number of leagues in the database.
    pub fn league_count(&self) -> Result<u64, StoreError> {
        let n: i64 = self
            .conn()
            .query_row("SELECT COUNT(*) FROM leagues", [], |r| r.get(0))?;
        Ok(n as u64)
    }

    /// Adds a player (fails with `Duplicate` when the id is taken).
    pub fn add_player(&self, league_id: &str, p: &PlayerRow) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        insert_player(&tx, league_id, p)?;
        tx.commit()?;
        Ok(())
    }

    /// The players, in registration order.
    pub fn players(&self, league_id: &str) -> Result<Vec<PlayerRow>, StoreError> {
        let conn = self.conn();
        let mut st = conn.prepare(
            "SELECT player_id, display_name, kind, spec, auth_token FROM players
             WHERE league_id = ?1 ORDER BY seq",
        )?;
        let rows = st.query_map([league_id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, Option<String>>(4)?,
            ))
        })?;
        rows.map(|row| {
            let (player_id, display_name, kind, spec, auth_token) = row?;
            let kind = match kind.as_str() {
                "native" => PlayerKind::Native,
                "remote" => PlayerKind::Remote,
                k => return Err(StoreError::Corrupt(format!("player kind {k:?}"))),
            };
            Ok(PlayerRow {
                player_id,
                display_name,
                kind,
                spec,
                auth_token,
            })
        })
        .collect()
    }

    /// Adds an (in-process) referee.
    pub fn add_referee(
        &self,
        league_id: &str,
        referee_id: &str,
        capacity: u32,
    ) -> Result<(), StoreError> {
        self.conn().execute(
            "INSERT OR IGNORE INTO referees(league_id, referee_id, capacity, registered_at)
             VALUES (?1, ?2, ?3, ?4)",
            params![league_id, referee_id, capacity, now_iso()],
        )?;
        Ok(())
    }

    /// Saves the schedule and marks the league running, in one transaction;
    /// does nothing if a schedule exists already.
    pub fn start_league(&self, league_id: &str, matches: &[MatchRow]) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let existing: i64 = tx.query_row(
            "SELECT COUNT(*) FROM matches WHERE league_id = ?1",
            [league_id],
            |r| r.get(0),
        )?;
        if existing == 0 {
            let mut rounds: Vec<u32> = matches.iter().map(|m| m.round).collect();
            rounds.dedup();
            for r in rounds {
                tx.execute(
                    "INSERT OR IGNORE INTO rounds(league_id, round_no, status) VALUES (?1, ?2, 'pending')",
                    params![league_id, r],
                )?;
            }
            let mut st = tx.prepare(
                "INSERT INTO matches(league_id, match_id, round_no, player_a, player_b, referee_id, seed)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?;
            for m in matches {
                st.execute(params![
                    league_id,
                    m.match_id,
                    m.round,
                    m.player_a,
                    m.player_b,
                    m.referee_id,
                    seed_to_sql(m.seed)
                ])?;
            }
            drop(st);
            tx.execute(
                "UPDATE leagues SET status = 'running', started_at = ?2 WHERE id = ?1",
                params![league_id, now_iso()],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// The schedule, by round then match order.
    pub fn matches(&self, league_id: &str) -> Result<Vec<MatchRow>, StoreError> {
        let conn = self.conn();
        let mut st = conn.prepare(
            "SELECT match_id, round_no, player_a, player_b, referee_id, seed FROM matches
             WHERE league_id = ?1 ORDER BY round_no, rowid",
        )?;
        let rows = st.query_map([league_id], |r| {
            Ok(MatchRow {
                match_id: r.get(0)?,
                round: r.get(1)?,
                player_a: r.get(2)?,
                player_b: r.get(3)?,
                referee_id: r.get(4)?,
                seed: seed_from_sql(r.get(5)?),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Records a result and its moves in one transaction. A second record
    /// for the same match changes nothing and says `Duplicate`.
    pub fn record_result(
        &self,
        league_id: &str,
        rec: &MatchRecord,
    ) -> Result<Recorded, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let inserted = tx.execute(
            "INSERT OR IGNORE INTO results(league_id, match_id, status, winner, details, recorded_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                league_id,
                rec.match_id,
                rec.status.as_str(),
                rec.winner,
                rec.details.to_string(),
                now_iso()
            ],
        );
        let inserted = match inserted {
            Ok(n) => n,
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                return Err(StoreError::NotFound(format!("match {}", rec.match_id)));
            }
            Err(e) => return Err(e.into()),
        };
        if inserted == 0 {
            return Ok(Recorded::Duplicate);
        }
        {
            let mut st = tx.prepare(
                "INSERT INTO moves(league_id, match_id, player_id, seq, action, floor, hp, x, y, rolled_back)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )?;
            for (player, moves) in &rec.moves {
                for (i, m) in moves.iter().enumerate() {
                    let a = m.after;
                    st.execute(params![
                        league_id,
                        rec.match_id,
                        player,
                        i as i64,
                        m.action,
                        a.map(|a| a.floor),
                        a.map(|a| a.hp),
                        a.map(|a| a.x),
                        a.map(|a| a.y),
                        a.map(|a| a.rolled_back),
                    ])?;
                }
            }
        }
        tx.commit()?;
        Ok(Recorded::Inserted)
    }

    /// Every recorded result with its pairing, by round then match order.
    pub fn results(&self, league_id: &str) -> Result<Vec<ResultRow>, StoreError> {
        let conn = self.conn();
        let mut st = conn.prepare(
            "SELECT m.match_id, m.round_no, m.player_a, m.player_b, r.status, r.winner, r.details
             FROM results r JOIN matches m ON m.league_id = r.league_id AND m.match_id = r.match_id
             WHERE r.league_id = ?1 ORDER BY m.round_no, m.rowid",
        )?;
        let rows = st.query_map([league_id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, u32>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, Option<String>>(5)?,
                r.get::<_, String>(6)?,
            ))
        })?;
        rows.map(|row| {
            let (match_id, round, player_a, player_b, status, winner, details) = row?;
            Ok(ResultRow {
                status: GameStatus::parse(&status)
                    .ok_or_else(|| StoreError::Corrupt(format!("status {status:?}")))?,
                details: serde_json::from_str(&details)
                    .map_err(|e| StoreError::Corrupt(format!("details of {match_id}: {e}")))?,
                match_id,
                round,
                player_a,
                player_b,
                winner,
            })
        })
        .collect()
    }

    /// Marks a round complete with its standings and ratings snapshot, in
    /// one transaction.
    pub fn complete_round(
        &self,
        league_id: &str,
        round: u32,
        standings: &[StandingSnapshot],
        ratings: &[RatingSnapshot<'_>],
    ) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        for s in standings {
            tx.execute(
                "INSERT OR REPLACE INTO standings(league_id, round_no, player_id, rank, played, wins,
                 draws, losses, technical_losses, points) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)",
                params![
                    league_id,
                    round,
                    s.player_id,
                    s.rank,
                    s.played,
                    s.wins,
                    s.draws,
                    s.losses,
                    s.technical_losses,
                    s.points
                ],
            )?;
        }
        for r in ratings {
            tx.execute(
                "INSERT OR REPLACE INTO ratings(league_id, round_no, player_id, rating, deviation, volatility)
                 VALUES (?1,?2,?3,?4,?5,?6)",
                params![league_id, round, r.player_id, r.rating, r.deviation, r.volatility],
            )?;
        }
        tx.execute(
            "UPDATE rounds SET status = 'completed', completed_at = ?3 WHERE league_id = ?1 AND round_no = ?2",
            params![league_id, round, now_iso()],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// The rounds marked complete.
    pub fn completed_rounds(&self, league_id: &str) -> Result<Vec<u32>, StoreError> {
        let conn = self.conn();
        let mut st = conn.prepare(
            "SELECT round_no FROM rounds WHERE league_id = ?1 AND status = 'completed' ORDER BY round_no",
        )?;
        let rows = st.query_map([league_id], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The standings snapshot stored after `round`.
    pub fn standings_after(
        &self,
        league_id: &str,
        round: u32,
    ) -> Result<Vec<StandingSnapshot>, StoreError> {
        let conn = self.conn();
        let mut st = conn.prepare(
            "SELECT player_id, rank, played, wins, draws, losses, technical_losses, points
             FROM standings WHERE league_id = ?1 AND round_no = ?2 ORDER BY rank",
        )?;
        let rows = st.query_map(params![league_id, round], |r| {
            Ok(StandingSnapshot {
                player_id: r.get(0)?,
                rank: r.get(1)?,
                played: r.get(2)?,
                wins: r.get(3)?,
                draws: r.get(4)?,
                losses: r.get(5)?,
                technical_losses: r.get(6)?,
                points: r.get(7)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Marks the league complete.
    pub fn complete_league(&self, league_id: &str) -> Result<(), StoreError> {
        self.conn().execute(
            "UPDATE leagues SET status = 'completed', completed_at = ?2 WHERE id = ?1",
            params![league_id, now_iso()],
        )?;
        Ok(())
    }

    /// The seed, the details and every player's moves of a recorded match,
    /// for the replay tool.
    pub fn match_replay(&self, league_id: &str, match_id: &str) -> Result<MatchReplay, StoreError> {
        let conn = self.conn();
        let (seed, game, a, b, details): (i64, String, String, String, Option<String>) = conn
            .query_row(
                "SELECT m.seed, l.game, m.player_a, m.player_b, r.details
                 FROM matches m JOIN leagues l ON l.id = m.league_id
                 LEFT JOIN results r ON r.league_id = m.league_id AND r.match_id = m.match_id
                 WHERE m.league_id = ?1 AND m.match_id = ?2",
                params![league_id, match_id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
            .optional()?
            .ok_or_else(|| StoreError::NotFound(format!("match {league_id}/{match_id}")))?;
        let details = details
            .ok_or_else(|| StoreError::NotFound(format!("a result for {league_id}/{match_id}")))?;
        let details: Value = serde_json::from_str(&details)
            .map_err(|e| StoreError::Corrupt(format!("details of {match_id}: {e}")))?;
        let mut st = conn.prepare(
            "SELECT action, floor, hp, x, y, rolled_back FROM moves
             WHERE league_id = ?1 AND match_id = ?2 AND player_id = ?3 ORDER BY seq",
        )?;
        let mut players = Vec::with_capacity(2);
        for p in [a, b] {
            let moves = st
                .query_map(params![league_id, match_id, p], |r| {
                    let after = match (
                        r.get::<_, Option<u32>>(1)?,
                        r.get::<_, Option<i32>>(2)?,
                        r.get::<_, Option<u32>>(3)?,
                        r.get::<_, Option<u32>>(4)?,
                        r.get::<_, Option<bool>>(5)?,
                    ) {
                        (Some(floor), Some(hp), Some(x), Some(y), Some(rolled_back)) => {
                            Some(StepAfter {
                                floor,
                                hp,
                                x,
                                y,
                                rolled_back,
                            })
                        }
                        _ => None,
                    };
                    Ok(MoveRecord {
                        action: r.get(0)?,
                        after,
                    })
                })?
                .collect::<Result<Vec<MoveRecord>, _>>()?;
            players.push(PlayerMoves {
                player_id: p,
                moves,
            });
        }
        Ok(MatchReplay {
            league_id: league_id.to_owned(),
            match_id: match_id.to_owned(),
            game,
            seed: seed_from_sql(seed),
            details,
            players,
        })
    }
}

fn insert_player(
    tx: &rusqlite::Transaction<'_>,
    league_id: &str,
    p: &PlayerRow,
) -> Result<(), StoreError> {
    let kind = match p.kind {
        PlayerKind::Native => "native",
        PlayerKind::Remote => "remote",
    };
    let r = tx.execute(
        "INSERT INTO players(league_id, player_id, display_name, kind, spec, auth_token, seq, registered_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6,
                 (SELECT COALESCE(MAX(seq), 0) + 1 FROM players WHERE league_id = ?1), ?7)",
        params![league_id, p.player_id, p.display_name, kind, p.spec, p.auth_token, now_iso()],
    );
    match r {
        Ok(_) => Ok(()),
        Err(rusqlite::Error::SqliteFailure(e, _))
            if e.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            Err(StoreError::Duplicate(format!("player {}", p.player_id)))
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests;
