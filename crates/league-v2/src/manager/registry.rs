//! The players of the league, in registration order, with their tokens.
//!
//! Held behind a plain (synchronous) mutex: every operation is a few map
//! look-ups, and a guard that is not `Send` cannot be held across an
//! `.await` in the server's tasks, so a slow database write can never hold
//! up the other handlers. A registration whose database write is under way
//! is *pending*: its id is taken, and the league does not close
//! registration (and fix its schedule) until it has landed or failed.

use std::collections::{HashMap, HashSet};

use crate::auth::AuthToken;
use crate::referee::Seat;
use crate::store::PlayerRow;

/// A registered player.
pub(super) struct Entry {
    pub row: PlayerRow,
    pub token: Option<AuthToken>,
}

/// Players by id, in order; closed once the league starts.
#[derive(Default)]
pub(super) struct Registry {
    entries: Vec<Entry>,
    index: HashMap<String, usize>,
    pending: HashSet<String>,
    closed: bool,
}

impl Registry {
    /// From stored rows.
    pub fn load(rows: Vec<PlayerRow>) -> Registry {
        let mut r = Registry::default();
        for row in rows {
            let token = row.auth_token.clone().map(AuthToken::from_stored);
            r.add(row, token);
        }
        r
    }

    pub fn add(&mut self, row: PlayerRow, token: Option<AuthToken>) {
        self.index.insert(row.player_id.clone(), self.entries.len());
        self.entries.push(Entry { row, token });
    }

    pub fn get(&self, id: &str) -> Option<&Entry> {
        self.index.get(id).map(|&i| &self.entries[i])
    }

    /// Whether `id` is registered or being registered.
    pub fn contains(&self, id: &str) -> bool {
        self.index.contains_key(id) || self.pending.contains(id)
    }

    /// Registered players (not counting pending ones).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Registered and pending players.
    pub fn claimed(&self) -> usize {
        self.entries.len() + self.pending.len()
    }

    /// Takes `id` while its database write is under way.
    pub fn reserve(&mut self, id: &str) {
        self.pending.insert(id.to_owned());
    }

    /// Ends the reservation of `id`; adds the player when it was stored.
    pub fn settle(&mut self, id: &str, stored: Option<(PlayerRow, Option<AuthToken>)>) {
        self.pending.remove(id);
        if let Some((row, token)) = stored {
            self.add(row, token);
        }
    }

    /// Registrations whose database write is under way.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    pub fn close(&mut self) {
        self.closed = true;
    }

    pub fn is_closed(&self) -> bool {
        self.closed
    }

    pub fn ids(&self) -> Vec<String> {
        self.entries
            .iter()
            .map(|e| e.row.player_id.clone())
            .collect()
    }

    pub fn names(&self) -> Vec<(String, String)> {
        self.entries
            .iter()
            .map(|e| (e.row.player_id.clone(), e.row.display_name.clone()))
            .collect()
    }

    pub fn seat(&self, id: &str) -> Option<Seat> {
        self.get(id).map(Seat::from)
    }

    /// Remote players: (id, endpoint, token).
    pub fn remotes(&self) -> Vec<(String, String, Option<String>)> {
        self.entries
            .iter()
            .filter(|e| e.row.kind == crate::store::PlayerKind::Remote)
            .map(|e| {
                (
                    e.row.player_id.clone(),
                    e.row.spec.clone(),
                    e.token.as_ref().map(|t| t.as_str().to_owned()),
                )
            })
            .collect()
    }
}
