//! A server-wide bound on the bytes that range reads hold at once.
//!
//! A `readRange` reply is read from the emulator in one piece (the bytes of
//! one instant) and then streamed out as hex; the piece itself is what
//! many connections could pile up. Each read reserves its length here
//! first and gives it back when its reply is sent; a read that does not
//! fit is refused (`<|ERROR|>`) instead of waiting, so no client can make
//! another wait.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Bytes that all connections' range reads may hold at once.
#[derive(Debug, Clone)]
pub struct ReplyBudget {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    limit: usize,
    used: AtomicUsize,
}

/// Bytes taken from a [`ReplyBudget`], given back when dropped.
#[derive(Debug)]
pub struct Reservation {
    inner: Arc<Inner>,
    bytes: usize,
}

impl ReplyBudget {
    /// A budget of `limit` bytes.
    pub fn new(limit: usize) -> ReplyBudget {
        ReplyBudget {
            inner: Arc::new(Inner {
                limit,
                used: AtomicUsize::new(0),
            }),
        }
    }

    /// Takes `bytes`, or `None` when they do not fit in what is left.
    pub fn try_reserve(&self, bytes: usize) -> Option<Reservation> {
        self.inner
            .used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(bytes).filter(|&u| u <= self.inner.limit)
            })
            .ok()?;
        Some(Reservation {
            inner: Arc::clone(&self.inner),
            bytes,
        })
    }

    /// Bytes reserved now.
    pub fn used(&self) -> usize {
        self.inner.used.load(Ordering::Acquire)
    }

    /// The limit.
    pub fn limit(&self) -> usize {
        self.inner.limit
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.inner.used.fetch_sub(self.bytes, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_fit_the_limit_and_come_back_when_dropped() {
        let budget = ReplyBudget::new(100);
        let a = budget.try_reserve(60).expect("fits");
        assert!(budget.try_reserve(41).is_none(), "60 + 41 > 100");
        let b = budget.try_reserve(40).expect("60 + 40 fits");
        assert_eq!(budget.used(), 100);
        assert!(budget.try_reserve(1).is_none());
        drop(a);
        assert_eq!(budget.used(), 40);
        assert!(budget.try_reserve(60).is_some());
        drop(b);
        assert_eq!(budget.used(), 0);
        assert!(budget.try_reserve(usize::MAX).is_none(), "no overflow");
        assert!(budget.try_reserve(101).is_none());
    }
}
