//! Randomness with a stable stream: a seed means the same run on every
//! platform and with every dependency version.
//!
//! The generator is xoshiro256++ ([`rand_xoshiro`]), whose output for a
//! given state is fixed by its published algorithm, seeded through
//! SplitMix64 from a run seed and a stream number (one stream per
//! environment). Sampling is written here on top of `next_u64` (a
//! multiply-shift, Lemire's reduction without the rejection step: the bias
//! is below 2^-40 for the small ranges used here) rather than taken from
//! `rand`'s distributions, whose algorithms may change between versions.

use rand_xoshiro::rand_core::{Rng as _, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

/// The generator handed to policies and used for sampling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rng(Xoshiro256PlusPlus);

/// SplitMix64's output function: a well-mixed 64-bit hash.
pub fn mix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Rng {
    /// The generator of stream `stream` of a run seeded with `seed`.
    pub fn new(seed: u64, stream: u64) -> Rng {
        let mut state = [0u8; 32];
        let mut z = mix64(seed ^ mix64(stream.wrapping_add(0x5EED)));
        for chunk in state.chunks_exact_mut(8) {
            z = mix64(z);
            chunk.copy_from_slice(&z.to_le_bytes());
        }
        Rng(Xoshiro256PlusPlus::from_seed(state))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// A number in `0..n` (`n` > 0; 0 when `n` is 0).
    pub fn below(&mut self, n: u32) -> u32 {
        below_of(self.next_u64(), n)
    }

    /// A float in `[0, 1)` with 53 random bits.
    pub fn unit(&mut self) -> f64 {
        unit_of(self.next_u64())
    }
}

/// [`Rng::below`] of a draw made earlier (`next_u64`): a number in `0..n`.
pub fn below_of(draw: u64, n: u32) -> u32 {
    ((u128::from(draw) * u128::from(n)) >> 64) as u32
}

/// [`Rng::unit`] of a draw made earlier (`next_u64`): a float in `[0, 1)`
/// with 53 random bits.
pub fn unit_of(draw: u64) -> f64 {
    (draw >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_map_like_the_generator() {
        let mut a = Rng::new(5, 2);
        let mut b = a.clone();
        for n in [1u32, 3, 7, 19] {
            assert_eq!(below_of(a.next_u64(), n), b.below(n));
            assert_eq!(unit_of(a.next_u64()), b.unit());
        }
    }

    #[test]
    fn the_stream_is_fixed() {
        // Pinned outputs: if these change, every recorded seed means a
        // different run, so a change here must be deliberate.
        let mut r = Rng::new(42, 0);
        let first: Vec<u64> = (0..3).map(|_| r.next_u64()).collect();
        let mut again = Rng::new(42, 0);
        assert_eq!(first, (0..3).map(|_| again.next_u64()).collect::<Vec<_>>());
        assert_ne!(Rng::new(42, 1).next_u64(), first[0]);
        assert_ne!(Rng::new(43, 0).next_u64(), first[0]);
        assert_eq!(first, PINNED);
    }

    // Recorded from this implementation on 2026-11-23 (x86_64).
    const PINNED: [u64; 3] = [
        7806443628363970177,
        15332164194998797860,
        757788061130774631,
    ];

    #[test]
    fn below_covers_its_range_evenly() {
        let mut r = Rng::new(7, 3);
        let mut counts = [0u32; 5];
        for _ in 0..50_000 {
            counts[r.below(5) as usize] += 1;
        }
        for c in counts {
            assert!((9_000..11_000).contains(&c), "{counts:?}");
        }
        assert_eq!(r.below(0), 0);
        let u = r.unit();
        assert!((0.0..1.0).contains(&u));
    }
}
