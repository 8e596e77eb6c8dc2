//! The original agent's per-step sequence, over the socket, with our
//! decoder and heuristic policy (so the three designs compared by `bench
//! socket` make the same decisions from the same bytes):
//!
//! 1. **State read** — the RAM the decoder needs, as `readRange` hex text:
//!    the `gDungeon` pointer (4 bytes), the Dungeon struct it points at
//!    (118,492 bytes) and the team inventory (80 bytes); the text is
//!    decoded into an EWRAM image and [`DungeonState::decode`] runs on it.
//!    (The original reads one 64 KiB window of the real game's WRAM; our
//!    decoder needs these 118,576 bytes, 1.8 times as many.)
//! 2. **Frame fetch** — `core.screenshot,<path>`: the server writes a PNG,
//!    the client reads the file back and decodes it to RGB.
//! 3. **Decide** — [`Heuristic::decide`], kept to the legal actions as
//!    the agent path does ([`legal_or_fallback`] over
//!    [`ActionMask::seen`]).
//! 4. **Button press** — `mgba-http.button.tapMany,<keys>` (an attack first
//!    turns with `holdMany,B;<dir>,0`), then `core.currentFrame` is polled
//!    until the frame counter has moved past the tap, i.e. the game has
//!    seen the key.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::client::{Client, ClientError};
use pmd_game::ram_map::{addr, dungeon, item, TEAM_ITEMS};
use pmd_game::{Action, ActionMask, DecodeError, DungeonState, DungeonView, GameProfile};
use pmd_mgba::{Keys, EWRAM_BASE, EWRAM_SIZE};
use pmd_rollout::policy::{legal_or_fallback, Heuristic};

/// Why a step failed.
#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    /// The socket conversation failed.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The screenshot file could not be read or decoded.
    #[error("screenshot {path}: {message}")]
    Screenshot {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// The game has no button shortcut for the action the policy chose.
    #[error("{game} has no key presses for the action {action}")]
    NoPresses {
        /// The game's name.
        game: &'static str,
        /// The action.
        action: Action,
    },
    /// The frame counter did not move within the poll limit.
    #[error("the frame counter did not advance after a key press")]
    Stalled,
}

/// How long each part of one step took.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepTimes {
    /// Requesting and decoding the RAM.
    pub state_read: Duration,
    /// Screenshot request, file read and PNG decode.
    pub frame_fetch: Duration,
    /// Tap request and frame polling.
    pub press: Duration,
    /// The whole step.
    pub total: Duration,
    /// The action chosen.
    pub action: Action,
    /// Bytes of RAM received.
    pub ram_bytes: usize,
    /// Whether the decoder saw a dungeon.
    pub decoded: bool,
}

/// `core.currentFrame` polls before a press is declared stalled (the
/// server runs thousands of frames a second, so this is seconds).
const MAX_POLLS: u32 = 200_000;

/// The socket agent.
#[derive(Debug)]
pub struct BaselineAgent {
    client: Client,
    profile: &'static dyn GameProfile,
    ewram: Vec<u8>,
    scratch: Vec<u8>,
    state: DungeonState,
    policy: Heuristic,
    shot_request: String,
    shot_path: PathBuf,
    png: Vec<u8>,
    rgb: Vec<u8>,
    last_frame: Option<u64>,
}

impl BaselineAgent {
    /// An agent talking through `client` to a server running the game of
    /// `profile` (whose key presses carry out each action); screenshots
    /// are requested as `shot_request` (the path the server writes, as the
    /// server sees it) and read back from `shot_path`.
    pub fn new(
        client: Client,
        profile: &'static dyn GameProfile,
        shot_request: String,
        shot_path: PathBuf,
    ) -> BaselineAgent {
        BaselineAgent {
            client,
            profile,
            ewram: vec![0; EWRAM_SIZE],
            scratch: Vec::with_capacity(dungeon::SIZE),
            state: DungeonState::new(),
            policy: Heuristic::default(),
            shot_request: format!("core.screenshot,{shot_request}"),
            shot_path,
            png: Vec::with_capacity(64 * 1024),
            rgb: vec![0; pmd_mgba::SCREEN_WIDTH * pmd_mgba::SCREEN_HEIGHT * 3],
            last_frame: None,
        }
    }

    /// The connection.
    pub fn client(&mut self) -> &mut Client {
        &mut self.client
    }

    /// The last decoded state.
    pub fn state(&self) -> &DungeonState {
        &self.state
    }

    /// The frame counter last seen while waiting for a press.
    pub fn last_frame(&self) -> Option<u64> {
        self.last_frame
    }

    /// The last frame, RGB, 240x160.
    pub fn rgb(&self) -> &[u8] {
        &self.rgb
    }

    fn read_into_image(&mut self, offset: usize, len: usize) -> Result<usize, ClientError> {
        let command = format!("memoryDomain.readRange,wram,{offset},{len}");
        self.client.bytes(&command, &mut self.scratch)?;
        let end = (offset + self.scratch.len()).min(self.ewram.len());
        let n = end.saturating_sub(offset);
        self.ewram[offset..end].copy_from_slice(&self.scratch[..n]);
        Ok(self.scratch.len())
    }

    /// Reads and decodes the state; `Ok(false)` outside a dungeon.
    pub fn read_state(&mut self) -> Result<(bool, usize), BaselineError> {
        let ptr_offset = (addr::G_DUNGEON - EWRAM_BASE) as usize;
        let mut bytes = self.read_into_image(ptr_offset, 4)?;
        let ptr = u32::from_le_bytes(
            self.ewram[ptr_offset..ptr_offset + 4]
                .try_into()
                .unwrap_or([0; 4]),
        );
        let inside = ptr
            .checked_sub(EWRAM_BASE)
            .map(|o| o as usize)
            .filter(|&o| o + dungeon::SIZE <= EWRAM_SIZE);
        if let Some(offset) = inside {
            bytes += self.read_into_image(offset, dungeon::SIZE)?;
            let inventory = (addr::G_TEAM_INVENTORY - EWRAM_BASE) as usize;
            bytes += self.read_into_image(inventory, TEAM_ITEMS * item::SIZE)?;
        }
        let decoded = match DungeonView::new(&self.ewram) {
            Ok(view) => self.state.decode(&view).is_ok(),
            Err(DecodeError::NotInDungeon) | Err(_) => false,
        };
        Ok((decoded, bytes))
    }

    /// Asks for a screenshot, reads the file back and decodes it.
    pub fn fetch_frame(&mut self) -> Result<(), BaselineError> {
        let request = std::mem::take(&mut self.shot_request);
        let result = self.client.ok(&request);
        self.shot_request = request;
        result?;
        let shot = |message: String| BaselineError::Screenshot {
            path: self.shot_path.clone(),
            message,
        };
        self.png.clear();
        let file = std::fs::read(&self.shot_path).map_err(|e| shot(e.to_string()))?;
        self.png.extend_from_slice(&file);
        let decoder = png::Decoder::new(std::io::Cursor::new(&self.png[..]));
        let mut reader = decoder.read_info().map_err(|e| shot(e.to_string()))?;
        let size = reader.output_buffer_size().unwrap_or(0);
        if self.rgb.len() < size {
            self.rgb.resize(size, 0);
        }
        reader
            .next_frame(&mut self.rgb)
            .map_err(|e| shot(e.to_string()))?;
        Ok(())
    }

    /// Presses the keys of `action` and waits until the game has seen
    /// them.
    pub fn press(&mut self, action: Action) -> Result<(), BaselineError> {
        let presses = self
            .profile
            .presses(action)
            .ok_or(BaselineError::NoPresses {
                game: self.profile.name(),
                action,
            })?;
        if let Action::Attack(_) = action {
            // Face the target first (B + direction, one frame), then A.
            self.client.ok(&format!(
                "mgba-http.button.holdMany,{},0",
                key_list(presses[0])
            ))?;
            self.wait_frames(2)?;
            self.client.ok(&format!(
                "mgba-http.button.tapMany,{}",
                key_list(presses[2])
            ))?;
        } else {
            self.client.ok(&format!(
                "mgba-http.button.tapMany,{}",
                key_list(presses[0])
            ))?;
        }
        self.wait_frames(2)
    }

    /// Polls `core.currentFrame` until it has advanced by `frames` (the tap
    /// is applied at the end of the first frame, the game reads it during
    /// the second).
    fn wait_frames(&mut self, frames: u64) -> Result<(), BaselineError> {
        let start = self.client.number("core.currentFrame")?;
        for _ in 0..MAX_POLLS {
            let now = self.client.number("core.currentFrame")?;
            // A reset in between restarts the counter; that is movement too.
            if now >= start + frames || now < start {
                self.last_frame = Some(now);
                return Ok(());
            }
        }
        Err(BaselineError::Stalled)
    }

    /// One observe → decide → act step.
    pub fn step(&mut self) -> Result<StepTimes, BaselineError> {
        let t0 = Instant::now();
        let (decoded, ram_bytes) = self.read_state()?;
        let t1 = Instant::now();
        self.fetch_frame()?;
        let t2 = Instant::now();
        let action = if decoded {
            // As the agent path does: the heuristic's choice when legal,
            // judged on what the player is shown.
            let mask = ActionMask::seen(&self.state, self.profile);
            legal_or_fallback(mask, self.policy.decide(&self.state, mask))
        } else {
            Action::Wait
        };
        let t3 = Instant::now();
        self.press(action)?;
        let t4 = Instant::now();
        Ok(StepTimes {
            state_read: t1 - t0,
            frame_fetch: t2 - t1,
            press: t4 - t3,
            total: t4 - t0,
            action,
            ram_bytes,
            decoded,
        })
    }
}

/// `Keys` as the protocol's `;`-separated names.
pub fn key_list(keys: Keys) -> String {
    super::command::key_names(keys).replace(',', ";")
}
