//! The metrics endpoint served while a run is going: `/metrics`
//! (OpenMetrics text, as the league's servers send it), `/health` (the
//! process is up) and `/ready` (the environments are built and stepping).
//!
//! On the same HTTP stack as the league (axum on Tokio), on a thread of its
//! own with a single-threaded runtime: the run's threads never wait on it.

use std::future::IntoFuture;
use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;

use crate::metrics::Metrics;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tokio::sync::oneshot;

use super::Failure;

/// The content type of `/metrics` (the project's one exposition).
const OPENMETRICS: &str = pmd_util::openmetrics::CONTENT_TYPE;
const TEXT: &str = "text/plain; charset=utf-8";

/// A running metrics server; stops when dropped.
pub struct MetricsServer {
    metrics: Arc<Metrics>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl MetricsServer {
    /// Listens on `addr` (a busy or forbidden address is bad input) and
    /// answers on a thread of its own.
    pub fn start(addr: SocketAddr, metrics: Arc<Metrics>) -> Result<MetricsServer, Failure> {
        let listener = std::net::TcpListener::bind(addr)
            .and_then(|l| l.set_nonblocking(true).map(|()| l))
            .map_err(|e| Failure::bad_input(format!("cannot listen on {addr}: {e}")))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .map_err(|e| Failure::other(format!("cannot start the metrics runtime: {e}")))?;
        let (stop, stopped) = oneshot::channel::<()>();
        let app = Router::new()
            .route("/metrics", get(exposition))
            .route(
                "/health",
                get(|| async { (StatusCode::OK, [("content-type", TEXT)], "ok\n") }),
            )
            .route("/ready", get(ready))
            .fallback(|| async {
                (
                    StatusCode::NOT_FOUND,
                    [("content-type", TEXT)],
                    "not found\n",
                )
            })
            .with_state(Arc::clone(&metrics));
        let thread = std::thread::Builder::new()
            .name("metrics".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let listener = match tokio::net::TcpListener::from_std(listener) {
                        Ok(l) => l,
                        Err(e) => {
                            tracing::warn!(error = %e, "metrics listener unusable");
                            return;
                        }
                    };
                    // Stop at once, open connections and all (a graceful
                    // shutdown would wait for a client that never finishes
                    // its request); dropping the runtime ends their tasks.
                    tokio::select! {
                        served = axum::serve(listener, app).into_future() => {
                            if let Err(e) = served {
                                tracing::warn!(error = %e, "metrics server stopped");
                            }
                        }
                        _ = stopped => {}
                    }
                });
            })
            .map_err(|e| Failure::other(format!("cannot start the metrics thread: {e}")))?;
        tracing::info!(%addr, "serving /metrics, /health and /ready");
        Ok(MetricsServer {
            metrics,
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

async fn exposition(State(metrics): State<Arc<Metrics>>) -> Response {
    (
        StatusCode::OK,
        [("content-type", OPENMETRICS)],
        metrics.render(),
    )
        .into_response()
}

async fn ready(State(metrics): State<Arc<Metrics>>) -> Response {
    if metrics.ready() {
        (StatusCode::OK, [("content-type", TEXT)], "ready\n").into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            [("content-type", TEXT)],
            "not ready\n",
        )
            .into_response()
    }
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        self.metrics.set_ready(false);
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
