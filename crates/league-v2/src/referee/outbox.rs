//! Notifications to remote players, off the path of the league and of its
//! matches: `ROUND_ANNOUNCEMENT`, `GAME_OVER`, `LEAGUE_STANDINGS_UPDATE`,
//! `ROUND_COMPLETED`, `LEAGUE_COMPLETED`. Nothing waits for a player to hear
//! them (their replies are ignored anyway), so a dead or silent player
//! delays no round and no match.
//!
//! Each endpoint has its own queue and its own sending task, so a player
//! hears its notifications in the order they were posted (the round's
//! announcement before its games' ends, those before the standings) and one
//! slow player never holds up another. A queue holds at most
//! [`QUEUE_CAPACITY`] notifications; past that, new ones for that player are
//! dropped and logged (a player that far behind is not listening). At the
//! end of a league, [`Outbox::flush`] gives the queues a bounded time to
//! deliver what they hold (so that `LEAGUE_COMPLETED` reaches live players
//! before the manager exits) and abandons the rest.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::client::{CallKind, RpcClient};

/// Notifications waiting for one player, at most.
pub const QUEUE_CAPACITY: usize = 256;

struct Note {
    method: String,
    params: Value,
}

struct Queue {
    tx: mpsc::Sender<Note>,
    task: JoinHandle<()>,
}

/// Ordered, fire-and-forget delivery of notifications, per endpoint.
pub struct Outbox {
    client: Arc<RpcClient>,
    queues: Mutex<HashMap<String, Queue>>,
}

impl Outbox {
    /// An outbox sending through `client` (each call with its `Other`
    /// deadline, retried as idempotent).
    pub fn new(client: Arc<RpcClient>) -> Outbox {
        Outbox {
            client,
            queues: Mutex::new(HashMap::new()),
        }
    }

    /// Queues `method(params)` for `endpoint`; returns at once. Must be
    /// called within a Tokio runtime.
    pub fn post(&self, endpoint: &str, method: &str, params: Value) {
        let mut queues = self.queues.lock().unwrap_or_else(|e| e.into_inner());
        let queue = queues
            .entry(endpoint.to_owned())
            .or_insert_with(|| self.start(endpoint));
        let note = Note {
            method: method.to_owned(),
            params,
        };
        match queue.tx.try_send(note) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(n)) => {
                tracing::warn!(
                    "{endpoint}: {QUEUE_CAPACITY} notifications waiting; {} dropped",
                    n.method
                );
            }
            Err(mpsc::error::TrySendError::Closed(n)) => {
                tracing::debug!("{endpoint}: queue closed; {} dropped", n.method);
            }
        }
    }

    fn start(&self, endpoint: &str) -> Queue {
        let (tx, mut rx) = mpsc::channel::<Note>(QUEUE_CAPACITY);
        let client = self.client.clone();
        let endpoint = endpoint.to_owned();
        let task = tokio::spawn(async move {
            while let Some(n) = rx.recv().await {
                if let Err(e) = client
                    .call(&endpoint, &n.method, n.params, CallKind::Other, true)
                    .await
                {
                    tracing::debug!("{} to {endpoint}: {e}", n.method);
                }
            }
        });
        Queue { tx, task }
    }

    /// Closes every queue and waits, at most `within`, for them to deliver
    /// what they hold; whatever is left then is abandoned. Returns how many
    /// queues did not finish in time.
    pub async fn flush(&self, within: Duration) -> usize {
        let queues: Vec<(String, Queue)> = self
            .queues
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain()
            .collect();
        let deadline = tokio::time::Instant::now() + within;
        // Close every queue first, so that all drain at once.
        let tasks: Vec<(String, JoinHandle<()>)> = queues
            .into_iter()
            .map(|(endpoint, Queue { tx, task })| {
                drop(tx);
                (endpoint, task)
            })
            .collect();
        let mut late = 0;
        for (endpoint, mut task) in tasks {
            if tokio::time::timeout_at(deadline, &mut task).await.is_err() {
                task.abort();
                late += 1;
                tracing::warn!("{endpoint}: notifications not delivered in time, abandoned");
            }
        }
        late
    }
}

#[cfg(test)]
mod tests {
    use axum::routing::post;
    use axum::Router;

    use super::*;
    use crate::client::{ClientConfig, Timeouts};
    use crate::metrics::Metrics;

    const HANG: Duration = Duration::from_secs(20);

    #[tokio::test]
    async fn posting_never_waits_and_each_endpoint_hears_in_order() {
        // A silent endpoint (accepts, never answers) and a live one.
        let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let silent_url = format!("http://{}/mcp", silent.local_addr().unwrap());
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((c, _)) = silent.accept().await {
                held.push(c);
            }
        });
        let heard = Arc::new(Mutex::new(Vec::<u64>::new()));
        let h = heard.clone();
        let app = Router::new().route(
            "/mcp",
            post(move |body: String| {
                let h = h.clone();
                async move {
                    let v: Value = serde_json::from_str(&body).unwrap();
                    h.lock().unwrap().push(v["params"]["n"].as_u64().unwrap());
                    r#"{"jsonrpc":"2.0","id":1,"result":{}}"#
                }
            }),
        );
        let live = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let live_url = format!("http://{}/mcp", live.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(live, app).await });
        let cfg = ClientConfig {
            timeouts: Timeouts {
                join: Duration::from_secs(3600),
                moves: Duration::from_secs(3600),
                other: Duration::from_secs(3600),
            },
            ..ClientConfig::default()
        };
        let client = Arc::new(RpcClient::new(cfg, Arc::new(Metrics::new())).unwrap());
        let outbox = Outbox::new(client);
        let posting = tokio::time::timeout(HANG, async {
            for n in 0..20u64 {
                outbox.post(&silent_url, "notify_round", serde_json::json!({"n": n}));
                outbox.post(&live_url, "notify_round", serde_json::json!({"n": n}));
            }
        })
        .await;
        assert!(posting.is_ok());
        // The live endpoint hears all, in order, whatever the silent one does.
        let all = tokio::time::timeout(HANG, async {
            while heard.lock().unwrap().len() < 20 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await;
        assert!(all.is_ok(), "heard only {:?}", heard.lock().unwrap());
        assert_eq!(*heard.lock().unwrap(), (0..20).collect::<Vec<_>>());
        // The flush gives up on the silent one within its bound.
        let late = tokio::time::timeout(HANG, outbox.flush(Duration::from_secs(1)))
            .await
            .expect("flush is bounded");
        assert_eq!(
            late, 1,
            "the silent endpoint is abandoned, the live one done"
        );
    }

    #[tokio::test]
    async fn a_full_queue_drops_instead_of_blocking() {
        let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/mcp", silent.local_addr().unwrap());
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((c, _)) = silent.accept().await {
                held.push(c);
            }
        });
        let client =
            Arc::new(RpcClient::new(ClientConfig::default(), Arc::new(Metrics::new())).unwrap());
        let outbox = Outbox::new(client);
        let posting = tokio::time::timeout(HANG, async {
            for n in 0..(QUEUE_CAPACITY * 3) {
                outbox.post(&url, "notify_round", serde_json::json!({"n": n}));
            }
        })
        .await;
        assert!(posting.is_ok(), "post blocked on a full queue");
        assert_eq!(outbox.flush(Duration::from_millis(100)).await, 1);
    }
}
