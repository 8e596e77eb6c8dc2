//! What the manager's and the players' HTTP servers share: reading a
//! size-limited body, answering JSON-RPC errors as `LEAGUE_ERROR`s (never a
//! 500 or a stack trace), `/metrics`, and serving with graceful shutdown,
//! a request timeout, a cap on requests in flight, and a cap on open
//! connections with an idle timeout ([`capped`]).

pub mod capped;

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::error_handling::HandleErrorLayer;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::serve::ListenerExt;
use axum::BoxError;
use axum::Router;
use capped::CappedListener;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tower::limit::GlobalConcurrencyLimitLayer;
use tower::ServiceBuilder;
use tower_http::timeout::TimeoutLayer;

use crate::error::{ErrorCode, ProtocolError};
use crate::metrics::Metrics;
use crate::protocol::jsonrpc;
use crate::protocol::Sender;

/// Default limit on a request body: league.v2 messages are a few hundred
/// bytes; 64 KiB leaves room for any honest one.
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// Reads a body of at most `limit` bytes (`E010` otherwise, without reading
/// more than the limit).
pub async fn read_body(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> Result<Bytes, ProtocolError> {
    let too_large = || {
        ProtocolError::new(
            ErrorCode::E010,
            format!("message larger than {limit} bytes"),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| too_large())
}

/// A JSON response.
pub fn json(status: StatusCode, v: &Value) -> Response {
    let body = serde_json::to_vec(v).unwrap_or_else(|_| b"{}".to_vec());
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

/// A JSON-RPC success.
pub fn rpc_ok(id: &Value, result: Value) -> Response {
    json(StatusCode::OK, &jsonrpc::success(id, result))
}

/// A JSON-RPC success with the message also at the top level
/// ([`jsonrpc::success_flat`]): what a player answers.
pub fn rpc_ok_flat(id: &Value, result: Value) -> Response {
    json(StatusCode::OK, &jsonrpc::success_flat(id, result))
}

/// A JSON-RPC error carrying a `LEAGUE_ERROR` / `GAME_ERROR`; counted in
/// `metrics`. HTTP 200 (the error is in the body), except 413 for an
/// oversized message.
pub fn rpc_err(
    metrics: &Metrics,
    id: &Value,
    err: &ProtocolError,
    from: &Sender,
    conversation_id: &str,
) -> Response {
    metrics.request_error(err.code.as_str());
    let status = if err.code == ErrorCode::E010 {
        StatusCode::PAYLOAD_TOO_LARGE
    } else {
        StatusCode::OK
    };
    json(status, &jsonrpc::failure(id, err, from, conversation_id))
}

/// The Prometheus exposition.
pub fn metrics_response(metrics: &Metrics) -> Response {
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(pmd_util::openmetrics::CONTENT_TYPE),
        )],
        metrics.encode(),
    )
        .into_response()
}

/// 404 for any other path or method.
pub fn not_found() -> Response {
    json(
        StatusCode::NOT_FOUND,
        &json!({"error": "not found: the league.v2 endpoint is POST /mcp; also GET /health, /ready, /metrics"}),
    )
}

/// Limits every league HTTP server applies (manager and players).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServeLimits {
    /// Longest time a request may take, from its head to the end of the
    /// answer (reading a slow body included); past it the answer is `408`.
    pub request_timeout: Duration,
    /// Requests handled at once; one more is answered `503` at once (the
    /// league's client retries those with backoff) rather than queued.
    pub max_in_flight: usize,
    /// Connections open at once; more wait in the kernel's backlog.
    pub max_connections: usize,
    /// A connection on which nothing moves this long is closed (a silent
    /// socket, an unused keep-alive connection). Raised to
    /// `request_timeout` + 1 s if shorter, so that a slow answer is never
    /// cut.
    pub idle_timeout: Duration,
}

impl Default for ServeLimits {
    /// 60 s per request (longer than any league.v2 deadline: a player may
    /// think for the whole 30 s move deadline), 1,024 requests and 4,096
    /// connections at once, 75 s idle (longer than the league client's 60 s
    /// pool idle time, so the client closes first).
    fn default() -> ServeLimits {
        ServeLimits {
            request_timeout: Duration::from_secs(60),
            max_in_flight: 1024,
            max_connections: 4096,
            idle_timeout: Duration::from_secs(75),
        }
    }
}

/// `router` with `limits` applied: a request timeout (tower-http) inside a
/// global concurrency limit that sheds load (tower).
pub fn limited(router: Router, limits: ServeLimits) -> Router {
    router.layer(
        ServiceBuilder::new()
            .layer(HandleErrorLayer::new(|_: BoxError| async { overloaded() }))
            .load_shed()
            .layer(GlobalConcurrencyLimitLayer::new(
                limits.max_in_flight.max(1),
            ))
            .layer(TimeoutLayer::with_status_code(
                StatusCode::REQUEST_TIMEOUT,
                limits.request_timeout,
            )),
    )
}

/// 503 with a `LEAGUE_ERROR`-free body: the server is at its limit.
fn overloaded() -> Response {
    let mut r = json(
        StatusCode::SERVICE_UNAVAILABLE,
        &json!({"error": "too many requests in flight; retry later"}),
    );
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    r
}

/// Serves `router` on `listener` with the default [`ServeLimits`] until
/// `shutdown` resolves, then lets requests in flight finish.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(listener, router, ServeLimits::default(), shutdown).await
}

/// [`serve`] with explicit limits (the connection cap and idle timeout
/// through [`CappedListener`]). Handlers see the peer's address as
/// `ConnectInfo<SocketAddr>` (the manager checks registered endpoints
/// against it).
pub async fn serve_with(
    listener: TcpListener,
    router: Router,
    limits: ServeLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let idle = limits
        .idle_timeout
        .max(limits.request_timeout + Duration::from_secs(1));
    // `tap_io` also gives axum the peer address of our listener's streams.
    let listener = CappedListener::new(listener, limits.max_connections, idle)
        .tap_io(|io: &mut capped::IdleIo| io.set_nodelay());
    let app = limited(router, limits).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use axum::routing::{get, post};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    use super::*;

    /// Bound on anything that should answer: reached only by a hang.
    const HANG: Duration = Duration::from_secs(20);

    /// A server whose `/mcp` reads the whole body, with `limits`.
    async fn server(limits: ServeLimits) -> SocketAddr {
        let router = Router::new()
            .route(
                "/mcp",
                post(|headers: HeaderMap, body: Body| async move {
                    match read_body(&headers, body, 1 << 16).await {
                        Ok(b) => json(StatusCode::OK, &json!({"len": b.len()})),
                        Err(e) => json(StatusCode::BAD_REQUEST, &json!({"error": e.to_string()})),
                    }
                }),
            )
            .route("/health", get(|| async { "ok" }));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(serve_with(listener, router, limits, std::future::pending()));
        addr
    }

    /// Opens a request that promises 100 bytes of body and sends 10.
    async fn stalled(addr: SocketAddr) -> TcpStream {
        let mut c = TcpStream::connect(addr).await.unwrap();
        c.write_all(
            b"POST /mcp HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n0123456789",
        )
        .await
        .unwrap();
        c
    }

    /// The status line of the answer on `c`.
    async fn status_of(c: &mut TcpStream) -> String {
        let mut buf = vec![0u8; 4096];
        let n = tokio::time::timeout(HANG, c.read(&mut buf))
            .await
            .expect("no answer: the request hangs")
            .unwrap();
        String::from_utf8_lossy(&buf[..n])
            .lines()
            .next()
            .unwrap_or("")
            .to_owned()
    }

    #[tokio::test]
    async fn a_request_that_never_finishes_is_answered_408() {
        let addr = server(ServeLimits {
            request_timeout: Duration::from_millis(200),
            max_in_flight: 8,
            ..ServeLimits::default()
        })
        .await;
        let mut c = stalled(addr).await;
        let line = status_of(&mut c).await;
        assert!(line.contains(" 408 "), "{line}");
    }

    #[tokio::test]
    async fn requests_beyond_the_cap_are_shed_with_503() {
        let addr = server(ServeLimits {
            request_timeout: Duration::from_secs(600),
            max_in_flight: 1,
            ..ServeLimits::default()
        })
        .await;
        let held = stalled(addr).await;
        let client = reqwest::Client::builder().no_proxy().build().unwrap();
        let url = format!("http://{addr}/health");
        // Once the stalled request holds the only slot, others are shed
        // (polled: the server admits the stalled one when it reads its head).
        let shed = tokio::time::timeout(HANG, async {
            loop {
                let r = client.get(&url).send().await.unwrap();
                if r.status() == StatusCode::SERVICE_UNAVAILABLE {
                    return r.headers().get(header::RETRY_AFTER).cloned();
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await
        .expect("never shed: no cap on requests in flight");
        assert_eq!(shed.as_ref().map(|v| v.to_str().unwrap()), Some("1"));
        // The slot comes back when the stalled request goes away.
        drop(held);
        let ok = tokio::time::timeout(HANG, async {
            loop {
                if client.get(&url).send().await.unwrap().status() == StatusCode::OK {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await;
        assert!(ok.is_ok(), "the slot never came back");
    }

    #[tokio::test]
    async fn connections_beyond_the_cap_wait_for_a_free_slot() {
        let addr = server(ServeLimits {
            max_connections: 1,
            ..ServeLimits::default()
        })
        .await;
        // A silent socket takes the only slot.
        let held = TcpStream::connect(addr).await.unwrap();
        let url = format!("http://{addr}/health");
        let waiting = tokio::spawn(async move {
            let client = reqwest::Client::builder().no_proxy().build().unwrap();
            client.get(&url).send().await.map(|r| r.status())
        });
        // Under the cap, the second connection can never be served while the
        // first is open; without it, it would be served at once.
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(!waiting.is_finished(), "served past the connection cap");
        drop(held);
        let status = tokio::time::timeout(HANG, waiting)
            .await
            .expect("the freed slot was never used")
            .unwrap()
            .unwrap();
        assert_eq!(status, StatusCode::OK);
    }

    #[tokio::test]
    async fn a_silent_connection_is_closed_after_the_idle_timeout() {
        let addr = server(ServeLimits {
            request_timeout: Duration::from_millis(100),
            idle_timeout: Duration::from_millis(200),
            ..ServeLimits::default()
        })
        .await;
        let mut silent = TcpStream::connect(addr).await.unwrap();
        let mut buf = [0u8; 64];
        let n = tokio::time::timeout(HANG, silent.read(&mut buf))
            .await
            .expect("a silent connection is kept open for ever");
        // Closed by the server: end of stream (or a reset).
        assert!(matches!(n, Ok(0) | Err(_)), "{n:?}");
    }
}
