//! A league's live events: a bounded in-memory log with a broadcast to
//! subscribers, read as Server-Sent Events (`GET /api/leagues/{id}/events`).
//!
//! **Ids and resuming.** Every event gets the id `<epoch>-<n>`: `epoch`
//! names this log (its creation time in ms), `n` counts from 1. A client
//! reconnecting with `Last-Event-ID: <epoch>-<n>` gets every event after
//! `n` that the log still holds; when the log has dropped some of them (it
//! keeps the newest [`EventLog::capacity`]), or the id is from another epoch
//! (the server restarted) or unreadable, the stream starts with a `resync`
//! event, which tells the client to re-read the league over the REST API,
//! followed by everything the log holds.
//!
//! **Invariant:** the backlog a subscriber is handed and the broadcast it
//! then receives are cut under one lock, so it sees every event exactly
//! once and in order; a subscriber that falls behind the broadcast's buffer
//! catches up from the log (or resyncs) instead of blocking publishers.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;
use tokio::sync::broadcast;

/// One event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Its number in this log (from 1).
    pub seq: u64,
    /// Its SSE id, `<epoch>-<seq>`.
    pub id: String,
    /// The SSE event name (`match_finished`, …).
    pub kind: &'static str,
    /// Its data, JSON.
    pub data: String,
}

struct Ring {
    events: VecDeque<Arc<Event>>,
    next: u64,
}

/// The log of one league's events.
pub struct EventLog {
    epoch: u64,
    capacity: usize,
    ring: Mutex<Ring>,
    tx: broadcast::Sender<Arc<Event>>,
}

/// Where a subscriber starts.
#[derive(Debug)]
pub struct Subscription {
    /// A `resync` must be sent first (events were lost to the client).
    pub resync: bool,
    /// Held events the client has not seen, oldest first.
    pub backlog: Vec<Arc<Event>>,
    /// Everything published after the backlog.
    pub live: broadcast::Receiver<Arc<Event>>,
    /// The number of the newest event when the subscription was cut (the
    /// backlog ends there; `live` starts after it).
    pub cut: u64,
}

/// What a `Last-Event-ID` header asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resume {
    /// No header: only new events.
    Fresh,
    /// Events after this one of this log.
    After(u64),
    /// An id of another log, or unreadable: resync, then all held events.
    Unknown,
}

impl EventLog {
    /// A log holding the newest `capacity` events (at least 16).
    pub fn new(capacity: usize) -> EventLog {
        let capacity = capacity.max(16);
        let epoch = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let (tx, _) = broadcast::channel(1024);
        EventLog {
            epoch,
            capacity,
            ring: Mutex::new(Ring {
                events: VecDeque::with_capacity(capacity.min(4096)),
                next: 1,
            }),
            tx,
        }
    }

    /// How many events the log holds at most.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    fn ring(&self) -> MutexGuard<'_, Ring> {
        self.ring.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Reads a `Last-Event-ID` value.
    pub fn resume_from(&self, last_event_id: Option<&str>) -> Resume {
        let Some(raw) = last_event_id else {
            return Resume::Fresh;
        };
        let parsed = raw
            .trim()
            .split_once('-')
            .and_then(|(e, n)| Some((e.parse::<u64>().ok()?, n.parse::<u64>().ok()?)));
        match parsed {
            Some((epoch, n)) if epoch == self.epoch => Resume::After(n),
            _ => Resume::Unknown,
        }
    }

    /// Appends an event and sends it to every subscriber; never blocks on
    /// them.
    pub fn publish<T: Serialize>(&self, kind: &'static str, data: &T) {
        let data = match serde_json::to_string(data) {
            Ok(d) => d,
            Err(e) => {
                tracing::error!("event {kind}: {e}");
                return;
            }
        };
        let mut ring = self.ring();
        let seq = ring.next;
        ring.next += 1;
        let event = Arc::new(Event {
            seq,
            id: format!("{}-{seq}", self.epoch),
            kind,
            data,
        });
        if ring.events.len() == self.capacity {
            ring.events.pop_front();
        }
        ring.events.push_back(event.clone());
        // No receivers is not an error here.
        let _ = self.tx.send(event);
    }

    /// The number of the newest event (0 before the first).
    pub fn last_seq(&self) -> u64 {
        self.ring().next - 1
    }

    /// Starts a subscriber at `resume`.
    pub fn subscribe(&self, resume: Resume) -> Subscription {
        let ring = self.ring();
        let live = self.tx.subscribe();
        let (resync, backlog) = match resume {
            Resume::Fresh => (false, Vec::new()),
            Resume::Unknown => (true, ring.events.iter().cloned().collect()),
            Resume::After(n) => Self::after(&ring, n),
        };
        Subscription {
            resync,
            backlog,
            live,
            cut: ring.next - 1,
        }
    }

    /// Held events after `n`, and whether some after `n` were dropped.
    pub fn since(&self, n: u64) -> (bool, Vec<Arc<Event>>) {
        Self::after(&self.ring(), n)
    }

    fn after(ring: &Ring, n: u64) -> (bool, Vec<Arc<Event>>) {
        let oldest = ring.events.front().map_or(ring.next, |e| e.seq);
        // A number from the future (another log that happened to share
        // the epoch) is as unknown as a lost one.
        let lost = n + 1 < oldest || n >= ring.next;
        let from = if n >= ring.next { 0 } else { n };
        (
            lost,
            ring.events
                .iter()
                .filter(|e| e.seq > from)
                .cloned()
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seqs(v: &[Arc<Event>]) -> Vec<u64> {
        v.iter().map(|e| e.seq).collect()
    }

    #[test]
    fn resume_gets_exactly_what_came_after() {
        let log = EventLog::new(16);
        for i in 0..5 {
            log.publish("tick", &i);
        }
        let last = format!("{}-3", log.epoch);
        let r = log.resume_from(Some(&last));
        assert_eq!(r, Resume::After(3));
        let mut sub = log.subscribe(r);
        assert!(!sub.resync);
        assert_eq!(seqs(&sub.backlog), vec![4, 5]);
        log.publish("tick", &5);
        let e = sub.live.try_recv().unwrap();
        assert_eq!((e.seq, e.data.as_str()), (6, "5"));
        assert!(sub.live.try_recv().is_err());
    }

    #[test]
    fn lost_or_foreign_ids_resync() {
        let log = EventLog::new(16);
        for i in 0..40 {
            log.publish("tick", &i);
        }
        // events 1..=24 were dropped
        let sub = log.subscribe(Resume::After(2));
        assert!(sub.resync);
        assert_eq!(sub.backlog.first().unwrap().seq, 25);
        assert_eq!(sub.backlog.len(), 16);
        assert_eq!(log.resume_from(Some("1-2")), Resume::Unknown);
        assert_eq!(log.resume_from(Some("garbage")), Resume::Unknown);
        let sub = log.subscribe(Resume::Unknown);
        assert!(sub.resync);
        assert_eq!(sub.backlog.len(), 16);
        // a number past the newest: resync with everything held
        let (lost, all) = log.since(99);
        assert!(lost);
        assert_eq!(all.len(), 16);
        // the newest exactly: nothing lost, nothing to send
        let (lost, none) = log.since(40);
        assert!(!lost && none.is_empty());
        assert_eq!(log.last_seq(), 40);
    }

    #[test]
    fn fresh_subscribers_get_only_new_events() {
        let log = EventLog::new(16);
        log.publish("a", &1);
        let mut sub = log.subscribe(log.resume_from(None));
        assert!(sub.backlog.is_empty() && !sub.resync);
        log.publish("b", &2);
        assert_eq!(sub.live.try_recv().unwrap().kind, "b");
    }
}
