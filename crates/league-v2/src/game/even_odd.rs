//! even_odd, exactly as the course plays it: both players choose `even` or
//! `odd`; the referee draws a number from 1 to 10; equal choices are a draw,
//! otherwise the player whose choice matches the number's parity wins.

use crate::protocol::messages::Parity;
use crate::seed;
use pmd_util::rng::Rng;

/// The number drawn: uniform in 1..=10.
pub fn draw_number(rng: &mut Rng) -> u32 {
    1 + rng.below(10)
}

/// Who won an even_odd match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Side A's choice matched.
    A,
    /// Side B's choice matched.
    B,
    /// Both chose the same.
    Draw,
}

/// The verdict for the two choices and the drawn number.
pub fn decide(a: Parity, b: Parity, drawn: u32) -> Verdict {
    if a == b {
        Verdict::Draw
    } else if Parity::of(drawn) == a {
        Verdict::A
    } else {
        Verdict::B
    }
}

/// The choice of a native (in-process) player: uniform, from the league seed,
/// the match and the player, so a replayed league chooses the same. No
/// strategy beats a fair draw, so every native policy plays this way.
pub fn native_choice(league_seed: u64, match_id: &str, player_id: &str) -> Parity {
    let mut rng = seed::rng(league_seed, &format!("{match_id}/{player_id}/parity"));
    if rng.below(2) == 0 {
        Parity::Even
    } else {
        Parity::Odd
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules() {
        use Parity::*;
        assert_eq!(decide(Even, Even, 3), Verdict::Draw);
        assert_eq!(decide(Odd, Odd, 4), Verdict::Draw);
        assert_eq!(decide(Even, Odd, 4), Verdict::A);
        assert_eq!(decide(Even, Odd, 7), Verdict::B);
        assert_eq!(decide(Odd, Even, 10), Verdict::B);
        assert_eq!(decide(Odd, Even, 1), Verdict::A);
    }

    #[test]
    fn draws_cover_one_to_ten_fairly() {
        let mut rng = seed::rng(3, "t");
        let mut counts = [0u32; 11];
        for _ in 0..10_000 {
            counts[draw_number(&mut rng) as usize] += 1;
        }
        assert_eq!(counts[0], 0);
        for c in &counts[1..] {
            assert!((800..1200).contains(c), "{counts:?}");
        }
        let evens = (0..1000)
            .filter(|i| native_choice(1, &format!("R{i}"), "P") == Parity::Even)
            .count();
        assert!((400..600).contains(&evens));
        assert_eq!(native_choice(9, "R1M1", "A"), native_choice(9, "R1M1", "A"));
    }
}
