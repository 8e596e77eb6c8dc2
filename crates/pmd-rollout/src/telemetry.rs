//! What a rollout reports as it runs, through a sink the caller injects:
//! [`Telemetry`]. A library user without telemetry passes nothing
//! ([`NoTelemetry`]) and pays nothing — not even a clock read per step.
//! The command line's Prometheus registry
//! ([`crate::metrics::Metrics`]) is one implementation.

use pmd_game::env::EndReason;

/// Why a step failed (and was rolled back).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FailureKind {
    /// The step hit the frame cap.
    FrameCap,
    /// The step returned an error.
    Error,
    /// The step panicked.
    Panic,
}

impl FailureKind {
    /// The episode end reason when recovery gives up on this kind.
    pub fn end_reason(self) -> EndReason {
        match self {
            FailureKind::FrameCap => EndReason::FrameCap,
            FailureKind::Error => EndReason::StepError,
            FailureKind::Panic => EndReason::Panic,
        }
    }
}

/// Receives rollout events. Every method has an empty default; calls come
/// from the worker threads, so implementations are lock-free or cheap.
pub trait Telemetry: Send + Sync {
    /// Whether step durations are wanted (a clock is read around each step
    /// only then).
    fn timed(&self) -> bool {
        false
    }
    /// A step ran `frames` frames (in `seconds`, when timed).
    fn step(&self, frames: u32, seconds: Option<f64>) {
        let _ = (frames, seconds);
    }
    /// An episode ended.
    fn episode_end(&self, reason: EndReason) {
        let _ = reason;
    }
    /// A step failed and was rolled back.
    fn failure(&self, kind: FailureKind) {
        let _ = kind;
    }
    /// An environment was quarantined (its resets kept failing).
    fn quarantined(&self) {}
    /// Environments were created (positive) or dropped (negative).
    fn envs(&self, delta: i64) {
        let _ = delta;
    }
}

/// Telemetry that records nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoTelemetry;

impl Telemetry for NoTelemetry {}
