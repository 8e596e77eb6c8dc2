//! A Prometheus / OpenMetrics registry of rollout metrics — counters of
//! steps, frames, episodes (by end reason) and environment failures, the
//! environment and quarantine gauges, a histogram of step latency, and the
//! batched inference histograms (batch size, forward time, per-environment
//! wait) — that a run uses as its [`Telemetry`] and [`InferenceMetrics`]
//! sink. Nothing here is global: a
//! program that wants metrics creates a [`Metrics`], passes it to its
//! rollouts and serves [`Metrics::render`]; a library user who does not
//! pays nothing. Updating a counter is one atomic add; a histogram
//! observation holds a short internal lock. Neither allocates.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

use pmd_util::openmetrics::Registry;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};

use crate::policy::InferenceMetrics;
use crate::{FailureKind, Telemetry};
use pmd_game::env::EndReason;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabel {
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabel {
    kind: &'static str,
}

/// Every rollout metric pmd-agent exports.
pub struct Metrics {
    registry: Registry,
    /// Environment steps taken.
    pub steps: Counter,
    /// Emulated frames run by steps.
    pub frames: Counter,
    /// Episodes finished, per end reason (`EndReason::ALL` order).
    episodes: Vec<Counter>,
    /// Steps that failed and were rolled back, per kind.
    failures: [Counter; 3],
    /// Environments quarantined.
    pub quarantined: Gauge<i64, AtomicI64>,
    /// Environments alive.
    pub envs: Gauge<i64, AtomicI64>,
    /// Seconds per environment step.
    pub step_seconds: Histogram,
    /// Rows per inference batch (forward pass).
    pub inference_batch_size: Histogram,
    /// Seconds per inference batch (forward pass and action selection).
    pub inference_seconds: Histogram,
    /// Seconds an environment waited for its action in asynchronous mode.
    pub inference_wait_seconds: Histogram,
    ready: AtomicBool,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// A fresh registry with every metric at zero.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("pmd");
        let steps = Counter::default();
        let frames = Counter::default();
        let episode_family = Family::<ReasonLabel, Counter>::default();
        let episodes = EndReason::ALL
            .iter()
            .map(|r| {
                episode_family
                    .get_or_create(&ReasonLabel { reason: r.code() })
                    .clone()
            })
            .collect();
        let failure_family = Family::<KindLabel, Counter>::default();
        let failures = ["frame_cap", "error", "panic"]
            .map(|kind| failure_family.get_or_create(&KindLabel { kind }).clone());
        let quarantined = Gauge::<i64, AtomicI64>::default();
        let envs = Gauge::<i64, AtomicI64>::default();
        // 10 µs .. ~1.3 s
        let step_seconds = Histogram::new(exponential_buckets(1e-5, 2.0, 18));
        registry.register("steps", "Environment steps taken", steps.clone());
        registry.register(
            "frames",
            "Emulated frames run by environment steps",
            frames.clone(),
        );
        registry.register(
            "episodes",
            "Episodes finished, by end reason",
            episode_family,
        );
        registry.register(
            "env_failures",
            "Environment steps that failed and were rolled back, by kind",
            failure_family,
        );
        registry.register(
            "quarantined_envs",
            "Environments quarantined because their resets kept failing",
            quarantined.clone(),
        );
        registry.register("envs", "Environments alive", envs.clone());
        registry.register(
            "step_seconds",
            "Seconds per environment step",
            step_seconds.clone(),
        );
        // 1 .. 4096 rows
        let inference_batch_size = Histogram::new(exponential_buckets(1.0, 2.0, 13));
        // 5 µs .. ~0.6 s
        let inference_seconds = Histogram::new(exponential_buckets(5e-6, 2.0, 18));
        let inference_wait_seconds = Histogram::new(exponential_buckets(5e-6, 2.0, 18));
        registry.register(
            "inference_batch_size",
            "Rows per neural-policy inference batch",
            inference_batch_size.clone(),
        );
        registry.register(
            "inference_seconds",
            "Seconds per inference batch (forward pass and action selection)",
            inference_seconds.clone(),
        );
        registry.register(
            "inference_wait_seconds",
            "Seconds from an environment's observation to its action (asynchronous mode)",
            inference_wait_seconds.clone(),
        );
        Metrics {
            registry,
            steps,
            frames,
            episodes,
            failures,
            quarantined,
            envs,
            step_seconds,
            inference_batch_size,
            inference_seconds,
            inference_wait_seconds,
            ready: AtomicBool::new(false),
        }
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        pmd_util::openmetrics::exposition(&self.registry)
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

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics")
            .field("steps", &self.steps.get())
            .finish()
    }
}

impl Telemetry for Metrics {
    fn timed(&self) -> bool {
        true
    }

    fn step(&self, frames: u32, seconds: Option<f64>) {
        self.steps.inc();
        self.frames.inc_by(u64::from(frames));
        if let Some(seconds) = seconds {
            self.step_seconds.observe(seconds);
        }
    }

    fn episode_end(&self, reason: EndReason) {
        if let Some(i) = EndReason::ALL.iter().position(|r| *r == reason) {
            self.episodes[i].inc();
        }
    }

    fn failure(&self, kind: FailureKind) {
        let i = match kind {
            FailureKind::FrameCap => 0,
            FailureKind::Error => 1,
            FailureKind::Panic => 2,
        };
        self.failures[i].inc();
    }

    fn quarantined(&self) {
        self.quarantined.inc();
    }

    fn envs(&self, delta: i64) {
        self.envs.inc_by(delta);
    }
}

impl InferenceMetrics for Metrics {
    fn observe_batch(&self, rows: usize, forward: std::time::Duration) {
        self.inference_batch_size.observe(rows as f64);
        self.inference_seconds.observe(forward.as_secs_f64());
    }

    fn observe_request(&self, latency: std::time::Duration) {
        self.inference_wait_seconds.observe(latency.as_secs_f64());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_show_up_in_the_exposition() {
        let m = Metrics::new();
        m.step(10, Some(0.001));
        m.episode_end(EndReason::Cleared);
        m.failure(FailureKind::Panic);
        m.quarantined();
        m.envs(2);
        let text = m.render();
        assert!(text.contains("pmd_steps_total 1"), "{text}");
        assert!(text.contains("pmd_frames_total 10"), "{text}");
        assert!(
            text.contains(r#"pmd_episodes_total{reason="cleared"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"pmd_episodes_total{reason="fainted"} 0"#),
            "{text}"
        );
        assert!(
            text.contains(r#"pmd_env_failures_total{kind="panic"} 1"#),
            "{text}"
        );
        assert!(text.contains("pmd_quarantined_envs 1"), "{text}");
        assert!(text.contains("pmd_envs 2"), "{text}");
        m.observe_batch(64, std::time::Duration::from_micros(300));
        m.observe_request(std::time::Duration::from_micros(500));
        let text = m.render();
        assert!(text.contains("pmd_inference_batch_size_count 1"), "{text}");
        assert!(
            text.contains(r#"pmd_inference_batch_size_bucket{le="64.0"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"pmd_inference_batch_size_bucket{le="32.0"} 0"#),
            "{text}"
        );
        assert!(text.contains("pmd_inference_seconds_count 1"), "{text}");
        assert!(
            text.contains("pmd_inference_wait_seconds_count 1"),
            "{text}"
        );
    }
}
