//! The step API: an [`Env`] turns an emulator running a known game into an
//! environment an agent plays turn by turn.
//!
//! `step(action)` presses the buttons for the action, then advances frames
//! until the game is ready for the next input (the turn-ready flag, Dungeon
//! +0x0F) or the frame cap is hit (reported as a timeout, never a hang).
//! The emulator stays reachable for raw per-frame control.

mod action;
pub mod reward;

pub use action::{Action, Direction, ParseActionError, Presses, ACTION_COUNT};

use crate::cartridge::{self, Phase};
use crate::emu::{EmuError, Emulator, Keys, Rom, Snapshot};
use crate::game::ram_map::addr;
use crate::game::{DecodeError, DungeonState, DungeonView, Game, UnsupportedGame};
use reward::RewardBasis;

/// Default frame cap per step: 10 s of game time.
pub const DEFAULT_FRAME_CAP: u32 = 600;

/// Environment settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EnvConfig {
    /// Frames a step may take before it is reported as timed out.
    pub frame_cap: u32,
    /// Render frames (for pixel observations); off by default.
    pub render: bool,
}

impl Default for EnvConfig {
    fn default() -> Self {
        EnvConfig {
            frame_cap: DEFAULT_FRAME_CAP,
            render: false,
        }
    }
}

/// Why an environment operation failed.
#[derive(Debug, thiserror::Error)]
pub enum EnvError {
    /// The ROM's game has no RAM map.
    #[error(transparent)]
    UnsupportedGame(#[from] UnsupportedGame),
    /// The emulator refused something (ROM, savestate).
    #[error(transparent)]
    Emu(#[from] EmuError),
    /// The dungeon state could not be decoded.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// The cartridge did not boot.
    #[error(transparent)]
    Boot(#[from] cartridge::BootError),
    /// After reset the game never became ready within the frame cap.
    #[error("the game was not ready for input within {0} frames after reset")]
    NotReady(u32),
    /// `step` after the episode ended; call `reset`.
    #[error("the episode is over; reset the environment first")]
    EpisodeOver,
}

/// The leader's situation after a step (small and `Copy`; the whole
/// decoded state is [`Env::state`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct StepState {
    /// Floor.
    pub floor: u8,
    /// Leader HP.
    pub hp: i16,
    /// Leader max HP.
    pub max_hp: i16,
    /// Leader belly.
    pub belly: i16,
    /// Leader x.
    pub x: u8,
    /// Leader y.
    pub y: u8,
    /// Turns taken on this floor (steps that took a game turn).
    pub floor_turns: u32,
}

/// The outcome of one [`Env::step`].
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct StepResult {
    /// Where the leader stands now.
    pub state: StepState,
    /// Reward for this step (see [`reward`]).
    pub reward: f32,
    /// The episode ended: the leader fainted or left the dungeon.
    pub done: bool,
    /// The frame cap was hit before the game was ready again.
    pub timed_out: bool,
    /// Frames this step took.
    pub frames: u32,
}

/// Where `reset` starts an episode.
#[derive(Debug, Clone)]
enum Start {
    /// Power on (the cartridge: boot and seed).
    Boot,
    /// A savestate loaded from a file (kept as an in-memory snapshot).
    Saved(Box<Snapshot>),
}

/// A branch point of an [`Env`]: the machine and the episode bookkeeping.
#[derive(Debug, Clone)]
pub struct EnvSnapshot {
    machine: Snapshot,
    done: bool,
    floor_turns: u32,
    last_floor: u8,
    basis: RewardBasis,
}

/// One game, played turn by turn.
#[derive(Debug)]
pub struct Env {
    emu: Emulator,
    game: Game,
    config: EnvConfig,
    start: Start,
    state: DungeonState,
    basis: RewardBasis,
    done: bool,
    floor_turns: u32,
    last_floor: u8,
}

impl Env {
    /// An environment over `rom`, which must be a game with a RAM map.
    pub fn new(rom: &Rom, config: EnvConfig) -> Result<Env, EnvError> {
        let game = Game::from_code(rom.game_code())?;
        let mut emu = Emulator::new(rom)?;
        emu.set_rendering(config.render);
        Ok(Env {
            emu,
            game,
            config,
            start: Start::Boot,
            state: DungeonState::new(),
            basis: RewardBasis::default(),
            done: true,
            floor_turns: 0,
            last_floor: 0,
        })
    }

    /// Starts every episode from an mGBA frontend savestate file (`.ss1`
    /// …), e.g. one taken inside a dungeon. The seed given to `reset` is
    /// written into `gDungeonRngState` right after loading.
    pub fn start_from_state_file(&mut self, bytes: &[u8]) -> Result<(), EnvError> {
        self.emu.load_mgba_state_file(bytes)?;
        self.start = Start::Saved(Box::new(self.emu.snapshot()));
        Ok(())
    }

    /// Installs a battery save; episodes then boot with it.
    pub fn use_battery_save(&mut self, bytes: &[u8]) -> Result<(), EnvError> {
        self.emu.load_battery_save(bytes)?;
        Ok(())
    }

    /// The game being played.
    pub fn game(&self) -> Game {
        self.game
    }

    /// Starts an episode with `seed` and returns once the game accepts
    /// input. Returns [`DecodeError::NotInDungeon`] (as `EnvError::Decode`)
    /// when the start point is outside a dungeon.
    pub fn reset(&mut self, seed: u32) -> Result<StepState, EnvError> {
        self.emu.set_keys(Keys::empty());
        match (&self.start, self.game) {
            (Start::Saved(snap), _) => {
                self.emu.restore(snap)?;
                self.emu
                    .write_u32(addr::G_DUNGEON_RNG_STATE, seed)
                    .map_err(EmuError::from)?;
            }
            (Start::Boot, Game::TestCartridge) => cartridge::boot_with_seed(&mut self.emu, seed)?,
            (Start::Boot, Game::PmdRedUs) => self.emu.reset(),
        }
        let mut frames = 0;
        loop {
            match DungeonView::of(&self.emu) {
                Ok(view) if view.turn_ready() => break,
                Ok(_) | Err(DecodeError::NotInDungeon) => {}
                Err(e) => return Err(e.into()),
            }
            if frames >= self.config.frame_cap {
                // Outside a dungeon the decoder says so; otherwise the game
                // never got ready.
                DungeonView::of(&self.emu)?;
                return Err(EnvError::NotReady(self.config.frame_cap));
            }
            self.emu.run_frame();
            frames += 1;
        }
        self.decode()?;
        self.basis = RewardBasis::of(&self.state);
        self.done = false;
        self.floor_turns = 0;
        self.last_floor = self.state.floor;
        Ok(self.step_state())
    }

    /// Plays one action: presses its buttons, then runs frames until the
    /// game is ready for the next input, the episode ends, or the frame cap
    /// is hit.
    pub fn step(&mut self, action: Action) -> Result<StepResult, EnvError> {
        if self.done {
            return Err(EnvError::EpisodeOver);
        }
        let presses = action.presses();
        let last = presses.iter().rposition(|k| !k.is_empty()).unwrap_or(0);
        let mut frames = 0u32;
        let mut took_turn = false;
        for keys in &presses[..=last] {
            self.emu.set_keys(*keys);
            self.emu.run_frame();
            frames += 1;
            took_turn |= !self.ready()?;
        }
        self.emu.set_keys(Keys::empty());
        let mut timed_out = false;
        loop {
            self.emu.run_frame();
            frames += 1;
            match DungeonView::of(&self.emu) {
                Ok(view) if view.turn_ready() => break,
                Ok(_) => took_turn = true,
                Err(DecodeError::NotInDungeon) => break,
                Err(e) => return Err(e.into()),
            }
            if frames >= self.config.frame_cap {
                timed_out = true;
                break;
            }
        }

        let before = self.basis;
        let left_dungeon = match self.decode() {
            Ok(()) => false,
            Err(EnvError::Decode(DecodeError::NotInDungeon)) => true,
            Err(e) => return Err(e),
        };
        if !left_dungeon {
            self.basis = RewardBasis::of(&self.state);
        }
        if self.state.floor != self.last_floor {
            self.floor_turns = 0;
            self.last_floor = self.state.floor;
        } else if took_turn {
            self.floor_turns += 1;
        }
        let fainted = self.basis.leader_hp() <= 0 || self.cartridge_game_over();
        self.done = left_dungeon || fainted;
        Ok(StepResult {
            state: self.step_state(),
            reward: reward::reward(&before, &self.basis),
            done: self.done,
            timed_out,
            frames,
        })
    }

    fn ready(&self) -> Result<bool, EnvError> {
        match DungeonView::of(&self.emu) {
            Ok(view) => Ok(view.turn_ready()),
            Err(DecodeError::NotInDungeon) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    fn cartridge_game_over(&self) -> bool {
        self.game == Game::TestCartridge
            && self.emu.read_u8(cartridge::addr::PHASE).map(Phase::from) == Ok(Phase::GameOver)
    }

    fn decode(&mut self) -> Result<(), EnvError> {
        let started = std::time::Instant::now();
        let view = DungeonView::of(&self.emu)?;
        self.state.decode(&view)?;
        crate::metrics::observe(&crate::metrics::metrics().decode_seconds, started.elapsed());
        Ok(())
    }

    /// The leader's situation now.
    pub fn step_state(&self) -> StepState {
        let leader = self.state.leader().copied().unwrap_or_default();
        StepState {
            floor: self.state.floor,
            hp: leader.hp,
            max_hp: leader.max_hp,
            belly: leader.belly,
            x: leader.x,
            y: leader.y,
            floor_turns: self.floor_turns,
        }
    }

    /// The whole decoded state after the last `reset` or `step`.
    pub fn state(&self) -> &DungeonState {
        &self.state
    }

    /// Whether the episode has ended.
    pub fn done(&self) -> bool {
        self.done
    }

    /// The emulator, for raw per-frame control and observations.
    pub fn emulator(&self) -> &Emulator {
        &self.emu
    }

    /// The emulator, mutable: raw per-frame mode. After driving it by hand,
    /// call [`Env::refresh`] before the next `step`.
    pub fn emulator_mut(&mut self) -> &mut Emulator {
        &mut self.emu
    }

    /// Re-decodes the state after raw frames.
    pub fn refresh(&mut self) -> Result<(), EnvError> {
        self.decode()?;
        self.basis = RewardBasis::of(&self.state);
        Ok(())
    }

    /// Takes a branch point.
    pub fn snapshot(&mut self) -> EnvSnapshot {
        EnvSnapshot {
            machine: self.emu.snapshot(),
            done: self.done,
            floor_turns: self.floor_turns,
            last_floor: self.last_floor,
            basis: self.basis,
        }
    }

    /// Takes a branch point into an existing snapshot, reusing its buffer.
    pub fn snapshot_into(&mut self, snap: &mut EnvSnapshot) {
        self.emu.snapshot_into(&mut snap.machine);
        snap.done = self.done;
        snap.floor_turns = self.floor_turns;
        snap.last_floor = self.last_floor;
        snap.basis = self.basis;
    }

    /// Turns taken on the current floor.
    pub fn floor_turns(&self) -> u32 {
        self.floor_turns
    }

    /// Returns to a branch point taken on this environment.
    pub fn restore(&mut self, snap: &EnvSnapshot) -> Result<(), EnvError> {
        self.emu.restore(&snap.machine)?;
        self.done = snap.done;
        self.floor_turns = snap.floor_turns;
        self.last_floor = snap.last_floor;
        self.basis = snap.basis;
        match self.decode() {
            Ok(()) | Err(EnvError::Decode(DecodeError::NotInDungeon)) => Ok(()),
            Err(e) => Err(e),
        }
    }
}
