//! Where a rollout's per-environment work runs: on a rayon pool of the
//! [`VecEnv`](super::VecEnv)'s own, or inline on the calling thread when
//! one thread is asked for.
//!
//! One thread runs inline rather than on a pool of one: a pool that
//! borrowed the building thread (`use_current_thread`) could only be
//! stepped from that thread (from any other, `install` waited forever) and
//! was never freed, and a pool of one worker would move every step to
//! another thread and back (a cross-thread hand-off per call, and rayon's
//! injector queue allocating a block every few dozen calls on the caller's
//! side). Inline work runs on whatever thread calls, so front ends may
//! step from any thread of their host language.

/// The threads per-environment work runs on.
pub(super) enum Workers {
    /// On the calling thread, one environment after another.
    Inline,
    /// On a pool of the rollout's own threads.
    Pool(rayon::ThreadPool),
}

impl Workers {
    /// `Some(1)` runs inline; any other count (or `None`, every core)
    /// builds a pool of that many threads.
    pub(super) fn new(threads: Option<usize>) -> Result<Workers, rayon::ThreadPoolBuildError> {
        let builder = rayon::ThreadPoolBuilder::new().thread_name(|i| format!("rollout-{i}"));
        Ok(match threads {
            Some(1) => Workers::Inline,
            Some(threads) => Workers::Pool(builder.num_threads(threads).build()?),
            None => Workers::Pool(builder.build()?),
        })
    }
}
