//! How an episode ends: [`EndReason`], split the gymnasium way into
//! terminations (the game's own outcome: a learner does not bootstrap
//! past them) and truncations (the episode was cut for a reason outside
//! the game: a learner bootstraps from the value of the last state).

use std::fmt;

use serde::Serialize;

/// Why an episode ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    /// Terminated: the leader fainted (HP 0, or the game's game-over).
    Fainted,
    /// Terminated: the stairs of the last floor were taken.
    Cleared,
    /// Terminated: the leader left the dungeon alive another way.
    LeftDungeon,
    /// Truncated: the episode reached its step limit.
    StepLimit,
    /// Truncated: a step ran into the frame cap (the game never became
    /// ready for input again), and recovery gave up.
    FrameCap,
    /// Truncated: a step failed (undecodable RAM, an emulator error), and
    /// recovery gave up.
    StepError,
    /// Truncated: a step panicked, and recovery gave up.
    Panic,
}

impl EndReason {
    /// Every reason, in code order.
    pub const ALL: [EndReason; 7] = [
        EndReason::Fainted,
        EndReason::Cleared,
        EndReason::LeftDungeon,
        EndReason::StepLimit,
        EndReason::FrameCap,
        EndReason::StepError,
        EndReason::Panic,
    ];

    /// A termination (the game's outcome), as opposed to a truncation.
    pub fn is_termination(self) -> bool {
        matches!(
            self,
            EndReason::Fainted | EndReason::Cleared | EndReason::LeftDungeon
        )
    }

    /// The reason code used in reports and recordings (`fainted`,
    /// `cleared`, `left_dungeon`, `step_limit`, `frame_cap`, `step_error`,
    /// `panic`).
    pub fn code(self) -> &'static str {
        match self {
            EndReason::Fainted => "fainted",
            EndReason::Cleared => "cleared",
            EndReason::LeftDungeon => "left_dungeon",
            EndReason::StepLimit => "step_limit",
            EndReason::FrameCap => "frame_cap",
            EndReason::StepError => "step_error",
            EndReason::Panic => "panic",
        }
    }

    /// The reason with this code.
    pub fn from_code(code: &str) -> Option<EndReason> {
        EndReason::ALL.into_iter().find(|r| r.code() == code)
    }
}

impl fmt::Display for EndReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_split_in_two() {
        for r in EndReason::ALL {
            assert_eq!(EndReason::from_code(r.code()), Some(r));
        }
        let terminations = EndReason::ALL.iter().filter(|r| r.is_termination()).count();
        assert_eq!(terminations, 3);
        assert_eq!(EndReason::from_code("done"), None);
    }
}
