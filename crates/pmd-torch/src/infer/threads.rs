//! Applies libtorch's intra-op thread count; the rules (how many beside
//! the environments' pool, and why) are `policy::threads`.

/// Sets libtorch's intra-op thread count (process-wide) and returns the
/// count now in force. `0` is taken as 1.
pub fn set_intra_op_threads(threads: usize) -> usize {
    let n = i32::try_from(threads.max(1)).unwrap_or(i32::MAX);
    tch::set_num_threads(n);
    usize::try_from(tch::get_num_threads()).unwrap_or(1)
}
