//! MCP over streamable HTTP (`pmd-agent mcp --http ADDR`), mounted at
//! `/mcp` in axum. Loopback by default; bound anywhere else it requires a
//! bearer token (compared in constant time), so an emulator host is never
//! open to the network by accident.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::Request;
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use subtle::ConstantTimeEq;

use crate::{McpError, PmdMcp};

/// Serves MCP at `http://ADDR/mcp` until Ctrl-C (or SIGTERM). `ready` is
/// called with the bound address (port 0 picks one). Every HTTP client
/// shares one session table (bounded by `limits`).
pub async fn serve_http(
    addr: SocketAddr,
    token: Option<String>,
    limits: crate::Limits,
    ready: impl FnOnce(SocketAddr),
) -> Result<(), McpError> {
    let loopback = addr.ip().is_loopback();
    if !loopback && token.as_deref().is_none_or(str::is_empty) {
        return Err(McpError::Config(format!(
            "{addr} is not a loopback address: give a bearer token (--token or PMD_MCP_TOKEN)"
        )));
    }
    let server = PmdMcp::new(limits);
    server.reap_idle(crate::reap_period(&limits));
    let mut config = StreamableHttpServerConfig::default();
    if !loopback {
        // Host-header check (DNS rebinding): the bound address and the
        // loopback names; the token guards the rest.
        config = config.with_allowed_hosts([
            addr.ip().to_string(),
            "localhost".to_owned(),
            "127.0.0.1".to_owned(),
            "::1".to_owned(),
        ]);
    }
    let service = StreamableHttpService::new(
        move || Ok(server.clone()),
        Arc::new(LocalSessionManager::default()),
        config,
    );
    let mut router = axum::Router::new().nest_service("/mcp", service);
    if let Some(token) = token.filter(|t| !t.is_empty()) {
        let expected: Arc<[u8]> = format!("Bearer {token}").into_bytes().into();
        router = router.layer(axum::middleware::from_fn(
            move |req: Request, next: Next| {
                let expected = Arc::clone(&expected);
                async move { authorize(&expected, req, next).await }
            },
        ));
    }
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| McpError::Config(format!("cannot listen on {addr}: {e}")))?;
    let bound = listener
        .local_addr()
        .map_err(|e| McpError::Config(e.to_string()))?;
    ready(bound);
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown())
        .await
        .map_err(|e| McpError::Protocol(e.to_string()))
}

async fn authorize(expected: &[u8], req: Request, next: Next) -> Response {
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .map(|v| v.as_bytes())
        .unwrap_or_default();
    if given.len() == expected.len() && bool::from(given.ct_eq(expected)) {
        next.run(req).await
    } else {
        (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "missing or wrong bearer token\n",
        )
            .into_response()
    }
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
