//! The one pooled HTTP client an agent uses to call its peers: keep-alive
//! connections, a bound on connections per endpoint, a deadline per call
//! (join 5 s, move 30 s, other 10 s by default), retries with jittered
//! exponential backoff, and a circuit breaker per endpoint.
//!
//! Retry rule: a call that certainly never reached the peer (connection
//! refused) is retried whatever it is; an idempotent call is also retried
//! after a timeout-free transport failure or a 5xx/429 answer. Every attempt
//! fits in the call's one deadline: a player that does not answer in time
//! gets no more time by being retried.

pub mod backoff;
pub mod breaker;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::Semaphore;
use url::{Host, Url};

use crate::error::ErrorCode;
use crate::metrics::Metrics;
use crate::protocol::jsonrpc::{extract_reply, request, ReplyError};
pub use breaker::{BreakerConfig, CircuitBreaker};

/// Per-call deadlines by kind of call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Answering a `GAME_INVITATION`.
    pub join: Duration,
    /// Choosing a move (`CHOOSE_PARITY_CALL`, `CHOOSE_ACTION_CALL`).
    pub moves: Duration,
    /// Anything else.
    pub other: Duration,
}

impl Default for Timeouts {
    /// The league.v2 values: 5 s, 30 s, 10 s.
    fn default() -> Timeouts {
        Timeouts {
            join: Duration::from_secs(5),
            moves: Duration::from_secs(30),
            other: Duration::from_secs(10),
        }
    }
}

/// Which deadline a call gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallKind {
    /// An invitation.
    Join,
    /// A move.
    Move,
    /// Anything else.
    Other,
}

/// Client settings.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Deadlines.
    pub timeouts: Timeouts,
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// First backoff step.
    pub backoff_base: Duration,
    /// Largest backoff step.
    pub backoff_cap: Duration,
    /// Circuit breaker settings.
    pub breaker: BreakerConfig,
    /// Requests in flight per endpoint (and idle connections kept per host).
    pub max_connections_per_endpoint: usize,
    /// Largest reply body read.
    pub max_reply_bytes: usize,
}

impl Default for ClientConfig {
    fn default() -> ClientConfig {
        ClientConfig {
            timeouts: Timeouts::default(),
            max_retries: 3,
            backoff_base: Duration::from_millis(25),
            backoff_cap: Duration::from_secs(1),
            breaker: BreakerConfig::default(),
            max_connections_per_endpoint: 256,
            max_reply_bytes: 1 << 20,
        }
    }
}

/// Why a call failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CallError {
    /// No answer before the deadline.
    #[error("timed out")]
    Timeout,
    /// The endpoint's circuit breaker is open.
    #[error("circuit open")]
    CircuitOpen,
    /// The connection failed.
    #[error("connection failed: {0}")]
    Connect(String),
    /// An HTTP error status without a readable JSON-RPC body.
    #[error("HTTP status {0}")]
    Status(u16),
    /// The reply was larger than allowed.
    #[error("reply too large")]
    TooLarge,
    /// The reply was an error, or unreadable.
    #[error(transparent)]
    Reply(#[from] ReplyError),
    /// The endpoint is not a usable URL.
    #[error("bad endpoint: {0}")]
    BadEndpoint(String),
}

impl CallError {
    /// The league.v2 code that describes it.
    pub fn code(&self) -> ErrorCode {
        match self {
            CallError::Timeout => ErrorCode::E001,
            CallError::Reply(ReplyError::Rpc { league_code, .. }) => league_code
                .as_deref()
                .and_then(ErrorCode::parse)
                .unwrap_or(ErrorCode::E004),
            CallError::Reply(ReplyError::Shape(_)) => ErrorCode::E004,
            _ => ErrorCode::E009,
        }
    }

    /// A short label for metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            CallError::Timeout => "timeout",
            CallError::CircuitOpen => "circuit_open",
            CallError::Connect(_) => "connect",
            CallError::Status(_) => "status",
            CallError::TooLarge => "too_large",
            CallError::Reply(ReplyError::Rpc { .. }) => "rpc_error",
            CallError::Reply(ReplyError::Shape(_)) => "bad_reply",
            CallError::BadEndpoint(_) => "bad_endpoint",
        }
    }
}

/// Checks an endpoint URL and puts it in canonical form: `http` only, a
/// loopback host unless `allow_remote`, and `localhost` written `127.0.0.1`
/// (public players announce `localhost` but listen on IPv4; resolving it to
/// `::1` first would cost a refused connection each time).
pub fn normalize_endpoint(endpoint: &str, allow_remote: bool) -> Result<String, String> {
    let mut url = Url::parse(endpoint).map_err(|e| format!("{endpoint:?}: {e}"))?;
    if url.scheme() != "http" {
        return Err(format!(
            "{endpoint:?}: only http:// endpoints are supported"
        ));
    }
    let loopback = match url.host() {
        Some(Host::Domain(d)) if d.eq_ignore_ascii_case("localhost") => {
            url.set_host(Some("127.0.0.1")).map_err(|e| e.to_string())?;
            true
        }
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        _ => false,
    };
    if !loopback && !allow_remote {
        return Err(format!("{endpoint:?}: only loopback endpoints are allowed"));
    }
    Ok(url.to_string())
}

struct Endpoint {
    breaker: CircuitBreaker,
    permits: Semaphore,
}

/// The pooled JSON-RPC client.
pub struct RpcClient {
    http: reqwest::Client,
    cfg: ClientConfig,
    endpoints: Mutex<HashMap<String, Arc<Endpoint>>>,
    metrics: Arc<Metrics>,
    next_id: AtomicU64,
    rng: Mutex<pmd_util::rng::Rng>,
}

impl RpcClient {
    /// A client with its own connection pool.
    pub fn new(cfg: ClientConfig, metrics: Arc<Metrics>) -> Result<RpcClient, CallError> {
        let http = reqwest::Client::builder()
            .no_proxy()
            .http1_only()
            .tcp_nodelay(true)
            .pool_max_idle_per_host(cfg.max_connections_per_endpoint)
            .pool_idle_timeout(Duration::from_secs(60))
            .connect_timeout(Duration::from_secs(2))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| CallError::Connect(e.to_string()))?;
        Ok(RpcClient {
            http,
            cfg,
            endpoints: Mutex::new(HashMap::new()),
            metrics,
            next_id: AtomicU64::new(1),
            rng: Mutex::new(pmd_util::rng::Rng::new(crate::seed::fresh(), 0)),
        })
    }

    /// The settings.
    pub fn config(&self) -> &ClientConfig {
        &self.cfg
    }

    fn endpoint(&self, url: &str) -> Arc<Endpoint> {
        let mut map = self.endpoints.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(e) = map.get(url) {
            return e.clone();
        }
        let e = Arc::new(Endpoint {
            breaker: CircuitBreaker::new(self.cfg.breaker),
            permits: Semaphore::new(self.cfg.max_connections_per_endpoint.max(1)),
        });
        map.insert(url.to_owned(), e.clone());
        e
    }

    /// Whether the breaker of `url` is open now.
    pub fn is_open(&self, url: &str) -> bool {
        self.endpoint(url).breaker.is_open(Instant::now())
    }

    /// The deadline for a kind of call.
    pub fn timeout(&self, kind: CallKind) -> Duration {
        match kind {
            CallKind::Join => self.cfg.timeouts.join,
            CallKind::Move => self.cfg.timeouts.moves,
            CallKind::Other => self.cfg.timeouts.other,
        }
    }

    /// Calls `method` at `url` with `params` and returns the message of the
    /// reply (read liberally, see [`extract_reply`]).
    pub async fn call(
        &self,
        url: &str,
        method: &str,
        params: Value,
        kind: CallKind,
        idempotent: bool,
    ) -> Result<Value, CallError> {
        let started = Instant::now();
        let deadline = started + self.timeout(kind);
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let body = serde_json::to_vec(&request(method, id, params))
            .map_err(|e| CallError::BadEndpoint(e.to_string()))?;
        let result = self.call_inner(url, &body, deadline, idempotent).await;
        self.metrics
            .rpc_seconds
            .get_or_create(&crate::metrics::MethodLabels {
                method: method.to_owned(),
            })
            .observe(started.elapsed().as_secs_f64());
        if let Err(e) = &result {
            self.metrics.rpc_error(e.kind());
            if *e == CallError::Timeout {
                self.metrics.timeouts.inc();
            }
        }
        result
    }

    /// [`call_once`](Self::call_once) again while the peer cannot be
    /// reached (refused connection, timeout), pausing 0.1 s doubling to
    /// 1.6 s, for up to `window`: how an agent registers with a manager that
    /// may not be listening yet. `params` makes each attempt's message (a
    /// fresh timestamp).
    pub async fn call_until_reached(
        &self,
        url: &str,
        method: &str,
        mut params: impl FnMut() -> Value,
        kind: CallKind,
        window: Duration,
    ) -> Result<Value, CallError> {
        let give_up = Instant::now() + window;
        let mut pause = Duration::from_millis(100);
        loop {
            match self.call_once(url, method, params(), kind).await {
                Err(CallError::Connect(_) | CallError::Timeout) if Instant::now() < give_up => {
                    tokio::time::sleep(
                        pause.min(give_up.saturating_duration_since(Instant::now())),
                    )
                    .await;
                    pause = (pause * 2).min(Duration::from_millis(1600));
                }
                other => return other,
            }
        }
    }

    /// One attempt at `method` at `url`, past the circuit breaker and
    /// without retries: for a caller that waits for a peer to come up
    /// (registration) and paces its own tries. A breaker opened by the
    /// refused connections of a manager not yet listening would otherwise
    /// keep refusing for its whole reset time after the manager is up.
    pub async fn call_once(
        &self,
        url: &str,
        method: &str,
        params: Value,
        kind: CallKind,
    ) -> Result<Value, CallError> {
        let deadline = Instant::now() + self.timeout(kind);
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let body = serde_json::to_vec(&request(method, id, params))
            .map_err(|e| CallError::BadEndpoint(e.to_string()))?;
        let ep = self.endpoint(url);
        match tokio::time::timeout_at(deadline.into(), self.attempt(&ep, url, &body)).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(Attempt::Answered(e) | Attempt::Failed { error: e, .. })) => Err(e),
            Err(_) => Err(CallError::Timeout),
        }
    }

    async fn call_inner(
        &self,
        url: &str,
        body: &[u8],
        deadline: Instant,
        idempotent: bool,
    ) -> Result<Value, CallError> {
        let ep = self.endpoint(url);
        let mut attempt = 0u32;
        loop {
            if !ep.breaker.allow(Instant::now()) {
                return Err(CallError::CircuitOpen);
            }
            let outcome =
                tokio::time::timeout_at(deadline.into(), self.attempt(&ep, url, body)).await;
            let err = match outcome {
                Ok(Ok(v)) => {
                    ep.breaker.on_success();
                    return Ok(v);
                }
                Ok(Err(Attempt::Answered(e))) => {
                    // The peer is alive: the breaker only counts transport failures.
                    ep.breaker.on_success();
                    return Err(e);
                }
                Ok(Err(Attempt::Failed { error, sent })) => {
                    ep.breaker.on_failure(Instant::now());
                    let retry = !sent || idempotent;
                    if !retry {
                        return Err(error);
                    }
                    error
                }
                Err(_) => {
                    ep.breaker.on_failure(Instant::now());
                    return Err(CallError::Timeout);
                }
            };
            if attempt >= self.cfg.max_retries {
                return Err(err);
            }
            let pause = {
                let mut rng = self.rng.lock().unwrap_or_else(|e| e.into_inner());
                backoff::delay(
                    attempt,
                    self.cfg.backoff_base,
                    self.cfg.backoff_cap,
                    &mut rng,
                )
            };
            if Instant::now() + pause >= deadline {
                return Err(err);
            }
            tokio::time::sleep(pause).await;
            self.metrics.retries.inc();
            attempt += 1;
        }
    }

    async fn attempt(&self, ep: &Endpoint, url: &str, body: &[u8]) -> Result<Value, Attempt> {
        let _permit = ep.permits.acquire().await.map_err(|_| Attempt::Failed {
            error: CallError::Connect("client shut down".into()),
            sent: false,
        })?;
        let resp = self
            .http
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_vec())
            .send()
            .await
            .map_err(|e| Attempt::Failed {
                sent: !e.is_connect(),
                error: if e.is_builder() {
                    CallError::BadEndpoint(e.to_string())
                } else {
                    CallError::Connect(e.to_string())
                },
            })?;
        let status = resp.status();
        let bytes = read_capped(resp, self.cfg.max_reply_bytes).await?;
        let parsed: Option<Value> = serde_json::from_slice(&bytes).ok();
        match parsed {
            Some(v) if v.is_object() => {
                if status.is_server_error() && v.get("error").is_none() {
                    return Err(Attempt::Failed {
                        error: CallError::Status(status.as_u16()),
                        sent: true,
                    });
                }
                extract_reply(v).map_err(|e| Attempt::Answered(CallError::Reply(e)))
            }
            _ if status.is_server_error() || status.as_u16() == 429 => Err(Attempt::Failed {
                error: CallError::Status(status.as_u16()),
                sent: true,
            }),
            _ if !status.is_success() => Err(Attempt::Answered(CallError::Status(status.as_u16()))),
            _ => Err(Attempt::Answered(CallError::Reply(ReplyError::Shape(
                "reply is not a JSON object".into(),
            )))),
        }
    }
}

enum Attempt {
    /// The peer answered, with an error.
    Answered(CallError),
    /// The exchange failed; `sent` when the request may have been delivered.
    Failed { error: CallError, sent: bool },
}

async fn read_capped(mut resp: reqwest::Response, cap: usize) -> Result<Vec<u8>, Attempt> {
    let too_large = || Attempt::Answered(CallError::TooLarge);
    if resp.content_length().is_some_and(|n| n > cap as u64) {
        return Err(too_large());
    }
    let mut out = Vec::new();
    loop {
        match resp.chunk().await {
            Ok(Some(chunk)) => {
                if out.len() + chunk.len() > cap {
                    return Err(too_large());
                }
                out.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(out),
            Err(e) => {
                return Err(Attempt::Failed {
                    error: CallError::Connect(e.to_string()),
                    sent: true,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_are_normalized_and_loopback_only() {
        assert_eq!(
            normalize_endpoint("http://localhost:8101/mcp", false).unwrap(),
            "http://127.0.0.1:8101/mcp"
        );
        assert!(normalize_endpoint("http://127.0.0.2:1/mcp", false).is_ok());
        assert!(normalize_endpoint("http://[::1]:1/mcp", false).is_ok());
        assert!(normalize_endpoint("http://10.0.0.1:1/mcp", false).is_err());
        assert!(normalize_endpoint("http://example.com/mcp", false).is_err());
        assert!(normalize_endpoint("http://example.com/mcp", true).is_ok());
        assert!(normalize_endpoint("https://127.0.0.1/mcp", false).is_err());
        assert!(normalize_endpoint("not a url", false).is_err());
    }
}
