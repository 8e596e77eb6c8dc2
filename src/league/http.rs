//! What the manager's and the players' HTTP servers share: reading a
//! size-limited body, answering JSON-RPC errors as `LEAGUE_ERROR`s (never a
//! 500 or a stack trace), `/metrics`, and serving with graceful shutdown.

use std::future::Future;

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::{json, Value};
use tokio::net::TcpListener;

use crate::league::error::{ErrorCode, ProtocolError};
use crate::league::metrics::Metrics;
use crate::league::protocol::jsonrpc;
use crate::league::protocol::Sender;

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
            HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
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

/// Serves `router` on `listener` until `shutdown` resolves, then lets
/// requests in flight finish.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
}
