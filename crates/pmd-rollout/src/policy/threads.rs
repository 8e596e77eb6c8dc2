//! How many threads libtorch may use beside the environments' pool (the
//! rules only; `infer::threads::set_intra_op_threads` applies them). Plain functions, so the
//! command line and the benchmarks share them with or without the `torch`
//! feature.
//!
//! libtorch parallelises one operator over its intra-op pool (OpenMP in
//! PyPI's build), and OpenMP workers spin for a while after every parallel
//! region before they sleep. Two regimes:
//!
//! - **Lock-step** (one forward per step over all N environments): the
//!   environments step right after each forward, while the OpenMP workers
//!   are still spinning, so every extra intra-op thread steals a core from
//!   the pool. Measured (`bench e2e`, 8 environments, 2 cores): 2 intra-op
//!   threads halved steps/s (861–938 against the heuristic's 1,720–1,790);
//!   with the spinning off (`OMP_WAIT_POLICY=PASSIVE`) the same run gave
//!   1,670. One thread runs the forward inline, with no pool to spin, and a
//!   64-row forward costs ~0.2 ms against a ~35 ms step of 64
//!   environments, so lock-step inference uses **1** thread.
//! - **Asynchronous** (environments step while the server infers): the two
//!   run at once, so libtorch gets what the environment workers leave:
//!   `max(1, cores - env workers)`.
//!
//! (`OMP_WAIT_POLICY=PASSIVE` in the environment stops the spinning, but
//! libgomp reads it when it loads, before `main`, so a program cannot set
//! it for itself.)

/// The intra-op thread count for lock-step inference beside a rayon pool
/// (see the module documentation for why it does not grow with the pool).
pub fn lockstep_threads(_pool_threads: usize) -> usize {
    1
}

/// The intra-op thread count for the asynchronous server when `env_workers`
/// threads step environments on a machine with `cores` cores.
pub fn async_threads(cores: usize, env_workers: usize) -> usize {
    cores.saturating_sub(env_workers).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thread_policy() {
        assert_eq!(lockstep_threads(0), 1);
        assert_eq!(lockstep_threads(8), 1);
        assert_eq!(async_threads(16, 12), 4);
        assert_eq!(async_threads(2, 2), 1);
        assert_eq!(async_threads(2, 8), 1);
    }
}
