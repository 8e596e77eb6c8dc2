//! The metrics endpoint served while a run is going: `/metrics`
//! (Prometheus text format), `/health` (the process is up) and `/ready`
//! (the environments are built and stepping).

use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;

use pmd_agent::metrics::Metrics;
use tiny_http::{Header, Response, Server};

use super::Failure;

/// A running metrics server; stops when dropped.
pub struct MetricsServer {
    server: Arc<Server>,
    metrics: Arc<Metrics>,
    thread: Option<JoinHandle<()>>,
}

impl MetricsServer {
    /// Listens on `addr` and answers on a thread of its own.
    pub fn start(addr: SocketAddr, metrics: Arc<Metrics>) -> Result<MetricsServer, Failure> {
        let server = Arc::new(
            Server::http(addr)
                .map_err(|e| Failure::bad_input(format!("cannot listen on {addr}: {e}")))?,
        );
        let serving = Arc::clone(&server);
        let served = Arc::clone(&metrics);
        let thread = std::thread::Builder::new()
            .name("metrics".into())
            .spawn(move || {
                for request in serving.incoming_requests() {
                    let path = request.url().split('?').next().unwrap_or("");
                    let (status, body, content_type) = match path {
                        "/metrics" => (
                            200,
                            served.render(),
                            "text/plain; version=0.0.4; charset=utf-8",
                        ),
                        "/health" => (200, "ok\n".to_string(), "text/plain; charset=utf-8"),
                        "/ready" if served.ready() => {
                            (200, "ready\n".to_string(), "text/plain; charset=utf-8")
                        }
                        "/ready" => (503, "not ready\n".to_string(), "text/plain; charset=utf-8"),
                        _ => (404, "not found\n".to_string(), "text/plain; charset=utf-8"),
                    };
                    let mut response = Response::from_string(body).with_status_code(status);
                    if let Ok(header) = Header::from_bytes("Content-Type", content_type) {
                        response = response.with_header(header);
                    }
                    if let Err(e) = request.respond(response) {
                        tracing::debug!(error = %e, "metrics client went away");
                    }
                }
            })
            .map_err(|e| Failure::other(format!("cannot start the metrics thread: {e}")))?;
        tracing::info!(%addr, "serving /metrics, /health and /ready");
        Ok(MetricsServer {
            server,
            metrics,
            thread: Some(thread),
        })
    }
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        self.metrics.set_ready(false);
        self.server.unblock();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
