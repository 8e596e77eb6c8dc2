//! How many threads libtorch may use, relative to the environments' pool.
//!
//! libtorch parallelises one operator over its intra-op pool (OpenMP in
//! PyPI's build). Two regimes:
//!
//! - **Lock-step** (one forward per step over all N environments): the
//!   rayon pool that steps the environments is idle while the forward runs
//!   and libtorch is idle while they step, so both may use every core:
//!   `intra_op_threads = rayon pool size`.
//! - **Asynchronous** (environments step while the server infers): the
//!   two run at the same time, so their threads add up. Give libtorch what
//!   the environment workers leave: `max(1, cores - env workers)`; with as
//!   many workers as cores, 1.
//!
//! OpenMP workers spin for a while after each parallel region before
//! sleeping; with more threads than cores that spinning steals time from the
//! environment workers, which is why the counts above never exceed the
//! cores. (`OMP_WAIT_POLICY=PASSIVE` in the environment stops the spinning,
//! but libgomp reads it when it loads, before `main`.)

/// Sets libtorch's intra-op thread count (process-wide) and returns the
/// count now in force. `0` is taken as 1.
pub fn set_intra_op_threads(threads: usize) -> usize {
    let n = i32::try_from(threads.max(1)).unwrap_or(i32::MAX);
    tch::set_num_threads(n);
    usize::try_from(tch::get_num_threads()).unwrap_or(1)
}

/// The intra-op thread count for lock-step inference beside a rayon pool
/// of `pool_threads` threads.
pub fn lockstep_threads(pool_threads: usize) -> usize {
    pool_threads.max(1)
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
        assert_eq!(lockstep_threads(8), 8);
        assert_eq!(async_threads(16, 12), 4);
        assert_eq!(async_threads(2, 2), 1);
        assert_eq!(async_threads(2, 8), 1);
    }
}
