//! The process-wide metrics registry (Prometheus / OpenMetrics): counters
//! of steps, frames, episodes and environment failures, and latency
//! histograms of environment steps and dungeon decodes. Updating a counter
//! is one atomic add; a histogram observation holds a short internal lock.
//! Neither allocates.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::LazyLock;
use std::time::Duration;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

/// Every metric pmd-agent exports.
pub struct Metrics {
    registry: Registry,
    /// Environment steps taken.
    pub steps: Counter,
    /// Emulated frames run by steps.
    pub frames: Counter,
    /// Episodes finished.
    pub episodes: Counter,
    /// Steps that failed and were recovered.
    pub env_failures: Counter,
    /// Environments alive.
    pub envs: Gauge<i64, AtomicI64>,
    /// Seconds per environment step.
    pub step_seconds: Histogram,
    /// Seconds per full dungeon decode.
    pub decode_seconds: Histogram,
    ready: AtomicBool,
}

impl Metrics {
    fn new() -> Metrics {
        let mut registry = Registry::with_prefix("pmd");
        let steps = Counter::default();
        let frames = Counter::default();
        let episodes = Counter::default();
        let env_failures = Counter::default();
        let envs = Gauge::<i64, AtomicI64>::default();
        // 10 µs .. ~1.3 s for steps; 100 ns .. ~13 ms for decodes
        let step_seconds = Histogram::new(exponential_buckets(1e-5, 2.0, 18));
        let decode_seconds = Histogram::new(exponential_buckets(1e-7, 2.0, 18));
        registry.register("steps", "Environment steps taken", steps.clone());
        registry.register(
            "frames",
            "Emulated frames run by environment steps",
            frames.clone(),
        );
        registry.register("episodes", "Episodes finished", episodes.clone());
        registry.register(
            "env_failures",
            "Environment steps that failed and were recovered",
            env_failures.clone(),
        );
        registry.register("envs", "Environments alive", envs.clone());
        registry.register(
            "step_seconds",
            "Seconds per environment step",
            step_seconds.clone(),
        );
        registry.register(
            "decode_seconds",
            "Seconds per full dungeon decode",
            decode_seconds.clone(),
        );
        Metrics {
            registry,
            steps,
            frames,
            episodes,
            env_failures,
            envs,
            step_seconds,
            decode_seconds,
            ready: AtomicBool::new(false),
        }
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }

    /// Marks the process ready (or not) for `/ready`.
    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::SeqCst);
    }

    /// Whether the process is ready.
    pub fn ready(&self) -> bool {
        self.ready.load(Ordering::SeqCst)
    }
}

static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

/// The process-wide metrics.
pub fn metrics() -> &'static Metrics {
    &METRICS
}

/// Observes a duration in a histogram, in seconds.
pub fn observe(histogram: &Histogram, elapsed: Duration) {
    histogram.observe(elapsed.as_secs_f64());
}
