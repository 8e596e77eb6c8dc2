//! The byte form of an [`EnvSnapshot`]: the environment's episode
//! bookkeeping in a small header, then the machine's own self-checking
//! byte form ([`Snapshot::to_bytes`]). What front ends hand their users
//! (a Python `bytes`, a file) and take back.
//!
//! Layout (little-endian): magic `PMDENV01`; status (0 idle, 1 running,
//! 2 + the [`EndReason::ALL`] index when ended); episode steps (u32); turns
//! on the floor (u32); last floor (u8); then the machine snapshot to the
//! end. The reward basis is not stored: while an episode runs it is always
//! the decoded state's, so a restore recomputes it.

use super::{EndReason, EnvSnapshot, Status};
use crate::env::reward::RewardBasis;
use pmd_mgba::{Snapshot, SnapshotError};

const MAGIC: &[u8; 8] = b"PMDENV01";
const HEADER_LEN: usize = 8 + 1 + 4 + 4 + 1;

impl EnvSnapshot {
    /// Whether `bytes` start like [`EnvSnapshot::to_bytes`]'s form.
    pub fn is_byte_form(bytes: &[u8]) -> bool {
        bytes.starts_with(MAGIC)
    }

    /// The snapshot as self-checking bytes (see the module text).
    pub fn to_bytes(&self) -> Vec<u8> {
        let machine = self.machine.to_bytes();
        let mut out = Vec::with_capacity(HEADER_LEN + machine.len());
        out.extend_from_slice(MAGIC);
        out.push(match self.status {
            Status::Idle => 0,
            Status::Running => 1,
            Status::Ended(reason) => {
                // ALL lists every reason; the position always exists.
                2 + EndReason::ALL
                    .iter()
                    .position(|r| *r == reason)
                    .unwrap_or(0) as u8
            }
        });
        out.extend_from_slice(&self.episode_steps.to_le_bytes());
        out.extend_from_slice(&self.floor_turns.to_le_bytes());
        out.push(self.last_floor);
        out.extend_from_slice(&machine);
        out
    }

    /// Parses [`EnvSnapshot::to_bytes`]'s form, checking the header and the
    /// machine state's checksum. Whether the state fits a given emulator
    /// (its ROM, its size) is checked when it is restored.
    pub fn from_bytes(bytes: &[u8]) -> Result<EnvSnapshot, SnapshotError> {
        let header = bytes.get(..HEADER_LEN).ok_or(SnapshotError::Corrupt(
            "shorter than an environment snapshot's header",
        ))?;
        if &header[..8] != MAGIC {
            return Err(SnapshotError::Corrupt(
                "not an environment snapshot (bad magic)",
            ));
        }
        let status = match header[8] {
            0 => Status::Idle,
            1 => Status::Running,
            n => Status::Ended(
                *EndReason::ALL
                    .get(usize::from(n - 2))
                    .ok_or(SnapshotError::Corrupt("unknown episode status"))?,
            ),
        };
        let word = |at: usize| {
            u32::from_le_bytes([header[at], header[at + 1], header[at + 2], header[at + 3]])
        };
        Ok(EnvSnapshot {
            machine: Snapshot::from_bytes(&bytes[HEADER_LEN..])?,
            status,
            episode_steps: word(9),
            floor_turns: word(13),
            last_floor: header[17],
            basis: RewardBasis::default(),
            basis_from_state: true,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn damaged_or_foreign_bytes_are_refused() {
        assert!(EnvSnapshot::from_bytes(b"").is_err());
        assert!(EnvSnapshot::from_bytes(b"PMDSNAP1 not an env snapshot").is_err());
        let mut header = MAGIC.to_vec();
        header.extend_from_slice(&[9, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        // status 9 is past the last reason
        assert_eq!(
            EnvSnapshot::from_bytes(&header).unwrap_err(),
            SnapshotError::Corrupt("unknown episode status")
        );
        header[8] = 1;
        // a valid header followed by no machine state
        assert!(matches!(
            EnvSnapshot::from_bytes(&header),
            Err(SnapshotError::Corrupt(_))
        ));
    }
}
