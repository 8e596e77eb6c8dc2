//! The schema and its migrations (`PRAGMA user_version`).

use rusqlite::Connection;

use super::StoreError;

const V1: &str = "
CREATE TABLE leagues(
  id TEXT PRIMARY KEY,
  game TEXT NOT NULL,
  config TEXT NOT NULL,
  config_key TEXT NOT NULL,
  status TEXT NOT NULL,
  created_at TEXT NOT NULL,
  started_at TEXT,
  completed_at TEXT
);
CREATE INDEX leagues_by_key ON leagues(config_key);
CREATE TABLE players(
  league_id TEXT NOT NULL REFERENCES leagues(id),
  player_id TEXT NOT NULL,
  display_name TEXT NOT NULL,
  kind TEXT NOT NULL,
  spec TEXT NOT NULL,
  auth_token TEXT,
  seq INTEGER NOT NULL,
  registered_at TEXT NOT NULL,
  PRIMARY KEY(league_id, player_id)
);
CREATE TABLE referees(
  league_id TEXT NOT NULL REFERENCES leagues(id),
  referee_id TEXT NOT NULL,
  capacity INTEGER NOT NULL,
  registered_at TEXT NOT NULL,
  PRIMARY KEY(league_id, referee_id)
);
CREATE TABLE rounds(
  league_id TEXT NOT NULL REFERENCES leagues(id),
  round_no INTEGER NOT NULL,
  status TEXT NOT NULL,
  completed_at TEXT,
  PRIMARY KEY(league_id, round_no)
);
CREATE TABLE matches(
  league_id TEXT NOT NULL REFERENCES leagues(id),
  match_id TEXT NOT NULL,
  round_no INTEGER NOT NULL,
  player_a TEXT NOT NULL,
  player_b TEXT NOT NULL,
  referee_id TEXT NOT NULL,
  seed INTEGER NOT NULL,
  PRIMARY KEY(league_id, match_id)
);
CREATE TABLE results(
  league_id TEXT NOT NULL,
  match_id TEXT NOT NULL,
  status TEXT NOT NULL,
  winner TEXT,
  details TEXT NOT NULL,
  recorded_at TEXT NOT NULL,
  PRIMARY KEY(league_id, match_id),
  FOREIGN KEY(league_id, match_id) REFERENCES matches(league_id, match_id)
);
CREATE TABLE moves(
  league_id TEXT NOT NULL,
  match_id TEXT NOT NULL,
  player_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  action TEXT NOT NULL,
  floor INTEGER,
  hp INTEGER,
  x INTEGER,
  y INTEGER,
  rolled_back INTEGER,
  PRIMARY KEY(league_id, match_id, player_id, seq),
  FOREIGN KEY(league_id, match_id) REFERENCES results(league_id, match_id)
);
CREATE TABLE standings(
  league_id TEXT NOT NULL,
  round_no INTEGER NOT NULL,
  player_id TEXT NOT NULL,
  rank INTEGER NOT NULL,
  played INTEGER NOT NULL,
  wins INTEGER NOT NULL,
  draws INTEGER NOT NULL,
  losses INTEGER NOT NULL,
  technical_losses INTEGER NOT NULL,
  points INTEGER NOT NULL,
  PRIMARY KEY(league_id, round_no, player_id)
);
CREATE TABLE ratings(
  league_id TEXT NOT NULL,
  round_no INTEGER NOT NULL,
  player_id TEXT NOT NULL,
  rating REAL NOT NULL,
  deviation REAL NOT NULL,
  volatility REAL NOT NULL,
  PRIMARY KEY(league_id, round_no, player_id)
);
";

/// Brings the schema to the current version.
pub fn migrate(conn: &Connection) -> Result<(), StoreError> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    match version {
        0 => {
            conn.execute_batch(&format!("BEGIN; {V1} PRAGMA user_version = 1; COMMIT;"))?;
            Ok(())
        }
        1 => Ok(()),
        v => Err(StoreError::Corrupt(format!(
            "database schema version {v} is newer than this program (1)"
        ))),
    }
}
