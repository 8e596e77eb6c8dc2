//! Live game frames of the pmd_dungeon matches an in-process referee is
//! playing: each side's run publishes its screen (a PNG) after every turn,
//! but only while someone watches it, so an unwatched league never draws
//! a frame. The read API streams them (`…/matches/{id}/live`).
//!
//! A feed lives as long as its side's run: when the run ends the feed is
//! dropped, which ends every stream watching it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::watch;

/// The newest frame of a run, if one was drawn yet.
pub type Frame = Option<Arc<Vec<u8>>>;

/// Open feeds by (match, player).
type Feeds = HashMap<(String, String), Arc<watch::Sender<Frame>>>;

/// Every open feed of one league, by match and player.
#[derive(Default)]
pub struct FrameHub {
    feeds: Mutex<Feeds>,
}

impl FrameHub {
    fn feeds(&self) -> MutexGuard<'_, Feeds> {
        self.feeds.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Opens the feed of `player`'s run in `match_id` (a second open of
    /// the same run replaces the first).
    pub fn open(self: &Arc<Self>, match_id: &str, player: &str) -> FrameFeed {
        let tx = Arc::new(watch::Sender::new(None));
        let key = (match_id.to_owned(), player.to_owned());
        self.feeds().insert(key.clone(), tx.clone());
        FrameFeed {
            hub: self.clone(),
            key,
            tx,
        }
    }

    /// Watches `player`'s run in `match_id`, if it is being played.
    pub fn watch(&self, match_id: &str, player: &str) -> Option<watch::Receiver<Frame>> {
        self.feeds()
            .get(&(match_id.to_owned(), player.to_owned()))
            .map(|tx| tx.subscribe())
    }

    /// The players of `match_id` with an open feed.
    pub fn players(&self, match_id: &str) -> Vec<String> {
        let mut v: Vec<String> = self
            .feeds()
            .keys()
            .filter(|(m, _)| m == match_id)
            .map(|(_, p)| p.clone())
            .collect();
        v.sort();
        v
    }
}

/// One run's feed; closes on drop.
pub struct FrameFeed {
    hub: Arc<FrameHub>,
    key: (String, String),
    tx: Arc<watch::Sender<Frame>>,
}

impl FrameFeed {
    /// Whether anyone watches (frames are drawn only then).
    pub fn watched(&self) -> bool {
        self.tx.receiver_count() > 0
    }

    /// Publishes a frame.
    pub fn publish(&self, png: Vec<u8>) {
        self.tx.send_replace(Some(Arc::new(png)));
    }
}

impl Drop for FrameFeed {
    fn drop(&mut self) {
        let mut feeds = self.hub.feeds();
        if feeds
            .get(&self.key)
            .is_some_and(|tx| Arc::ptr_eq(tx, &self.tx))
        {
            feeds.remove(&self.key);
        }
    }
}

/// What a run does after each turn: draw and publish while watched.
pub fn after_turn(feed: Option<&FrameFeed>, sim: &mut dyn crate::game::dungeon::DungeonSim) {
    let Some(feed) = feed else { return };
    let watched = feed.watched();
    sim.set_watched(watched);
    if watched {
        if let Some(png) = sim.frame_png() {
            feed.publish(png);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_feed_is_seen_while_open_and_ends_its_watchers_when_dropped() {
        let hub = Arc::new(FrameHub::default());
        assert!(hub.watch("R1M1", "a").is_none());
        let feed = hub.open("R1M1", "a");
        assert!(!feed.watched());
        let mut rx = hub.watch("R1M1", "a").unwrap();
        assert!(feed.watched());
        assert_eq!(hub.players("R1M1"), vec!["a".to_owned()]);
        feed.publish(vec![1, 2, 3]);
        assert!(rx.has_changed().unwrap());
        assert_eq!(rx.borrow_and_update().as_deref(), Some(&vec![1, 2, 3]));
        drop(feed);
        assert!(hub.watch("R1M1", "a").is_none());
        assert!(rx.has_changed().is_err(), "the watcher sees the end");
    }
}
