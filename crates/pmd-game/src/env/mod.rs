//! The step API: an [`Env`] turns an emulator running a known game into an
//! environment an agent plays turn by turn, with gymnasium's episode
//! semantics.
//!
//! `step(action)` presses the buttons the game's profile gives for the
//! action, then advances frames until the game is ready for the next input
//! (the turn-ready flag, Dungeon +0x0F), the leader leaves the dungeon, or
//! the frame cap is hit. Each [`StepResult`] says whether the episode
//! *terminated* (the game's outcome: fainted, cleared, left the dungeon)
//! or was *truncated* (the step limit, or the frame cap), with an
//! [`EndReason`]; the reward is defined in one table ([`reward`]).
//! The emulator stays reachable for raw per-frame control.
//!
//! **Invariant:** `env` reads game state only through `game` (the decoder
//! and the game's [`GameProfile`]); it never branches on which game runs.

mod outcome;
pub mod reward;
mod snapshot_bytes;

pub use crate::{
    Action, ActionMask, Direction, ParseActionError, Presses, SeedScope, ACTION_COUNT,
};
pub use outcome::EndReason;

use crate::{
    profile_for, BootError, DecodeError, DungeonExit, DungeonState, DungeonView, GameProfile,
    UnsupportedGame,
};
use pmd_mgba::{EmuError, Emulator, Keys, Rom, Snapshot};
use reward::RewardBasis;

/// Default frame cap per step: 10 s of game time.
pub const DEFAULT_FRAME_CAP: u32 = 600;
/// Default step limit of an episode.
pub const DEFAULT_MAX_EPISODE_STEPS: u32 = 1000;

/// Environment settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EnvConfig {
    /// Frames a step may take before it is cut (truncated, `frame_cap`).
    pub frame_cap: u32,
    /// Render frames (for pixel observations); off by default.
    pub render: bool,
    /// Steps after which an episode is truncated (`step_limit`); `None`
    /// for no limit.
    pub max_episode_steps: Option<u32>,
}

impl Default for EnvConfig {
    fn default() -> Self {
        EnvConfig {
            frame_cap: DEFAULT_FRAME_CAP,
            render: false,
            max_episode_steps: Some(DEFAULT_MAX_EPISODE_STEPS),
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
    /// Power-on did not reach a dungeon.
    #[error(transparent)]
    Boot(#[from] BootError),
    /// After reset the game never became ready within the frame cap.
    #[error("the game was not ready for input within {0} frames after reset")]
    NotReady(u32),
    /// `step` outside an episode; call `reset`.
    #[error("no episode is running; reset the environment first")]
    EpisodeOver,
    /// The game has no buttons for this action.
    #[error("{game} has no controls for {action} (it needs menus pmd-agent does not navigate)")]
    UnsupportedAction {
        /// The action.
        action: Action,
        /// The game's name.
        game: &'static str,
    },
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

/// What emulating one step did.
#[derive(Debug, Default, Clone, Copy)]
struct Played {
    /// Frames run.
    frames: u32,
    /// The game went busy (a turn passed) at some frame.
    took_turn: bool,
    /// The leader fainted at some frame.
    fainted: bool,
    /// The frame cap cut the step.
    timed_out: bool,
}

/// The outcome of one [`Env::step`].
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct StepResult {
    /// Where the leader stands now (the last state seen in the dungeon
    /// when the step left it).
    pub state: StepState,
    /// Reward for this step (see [`reward`]).
    pub reward: f32,
    /// The episode ended by the game's outcome (fainted, cleared, left).
    /// A step that terminates is never also reported truncated.
    pub terminated: bool,
    /// The episode was cut: the step limit, or the frame cap.
    pub truncated: bool,
    /// Why the episode ended, when it did.
    pub reason: Option<EndReason>,
    /// Frames this step took.
    pub frames: u32,
}

impl StepResult {
    /// Whether the episode ended (terminated or truncated).
    pub fn done(&self) -> bool {
        self.terminated || self.truncated
    }
}

/// Where `reset` starts an episode.
#[derive(Debug, Clone)]
enum Start {
    /// Power on and pass the menus (once; later resets restore the point
    /// where the seed is written).
    Boot,
    /// A savestate (kept as an in-memory snapshot).
    Saved(Box<Snapshot>),
}

/// Where the episode stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    /// No episode yet.
    Idle,
    /// An episode is running.
    Running,
    /// The episode ended.
    Ended(EndReason),
}

/// A branch point of an [`Env`]: the machine and the episode bookkeeping.
#[derive(Debug, Clone)]
pub struct EnvSnapshot {
    machine: Snapshot,
    status: Status,
    episode_steps: u32,
    floor_turns: u32,
    last_floor: u8,
    basis: RewardBasis,
    /// Read from bytes, which do not keep the basis: the restore takes it
    /// from the decoded state.
    basis_from_state: bool,
}

/// One game, played turn by turn.
#[derive(Debug)]
pub struct Env {
    emu: Emulator,
    profile: &'static dyn GameProfile,
    config: EnvConfig,
    start: Start,
    /// Power-on, menus passed, ready for the seed: taken on the first
    /// reset from `Start::Boot`, restored by every later one; with the
    /// frames from power-on to it.
    boot_point: Option<(Box<Snapshot>, SeedScope, u32)>,
    seed_scope: SeedScope,
    state: DungeonState,
    basis: RewardBasis,
    /// Legal actions on the game's truth (the environment's own judgment).
    mask: ActionMask,
    /// Legal actions as far as the player can tell (what policies get).
    seen_mask: ActionMask,
    status: Status,
    episode_steps: u32,
    floor_turns: u32,
    last_floor: u8,
}

/// What one frame's poll of the game saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Poll {
    /// In a dungeon, ready for input.
    Ready,
    /// In a dungeon, busy (a turn animating).
    Busy,
    /// Outside a dungeon.
    Out,
}

impl Env {
    /// An environment over `rom`, which must be a game with a RAM map.
    pub fn new(rom: &Rom, config: EnvConfig) -> Result<Env, EnvError> {
        let profile = profile_for(rom.game_code())?;
        let mut emu = Emulator::new(rom)?;
        emu.set_rendering(config.render);
        Ok(Env {
            emu,
            profile,
            config,
            start: Start::Boot,
            boot_point: None,
            seed_scope: SeedScope::WholeEpisode,
            state: DungeonState::new(),
            basis: RewardBasis::default(),
            mask: ActionMask::NONE,
            seen_mask: ActionMask::NONE,
            status: Status::Idle,
            episode_steps: 0,
            floor_turns: 0,
            last_floor: 0,
        })
    }

    /// Starts every episode from a savestate file: either mGBA's frontend
    /// format (`.ss1` …, PNG or raw) or pmd-agent's own checksummed forms
    /// ([`Snapshot::to_bytes`], or [`EnvSnapshot::to_bytes`] whose machine
    /// state is used). Both are checked (structure, checksum,
    /// size, that they belong to this very ROM) before mGBA loads them; a
    /// refused file leaves the environment as it was. The seed given to
    /// `reset` is written right after loading (see [`Env::seed_scope`]).
    pub fn start_from_state_file(&mut self, bytes: &[u8]) -> Result<(), EnvError> {
        let snapshot = if EnvSnapshot::is_byte_form(bytes) {
            let snapshot = EnvSnapshot::from_bytes(bytes)
                .map_err(EmuError::from)?
                .machine;
            self.emu.restore(&snapshot)?;
            snapshot
        } else if Snapshot::is_byte_form(bytes) {
            let snapshot = Snapshot::from_bytes(bytes).map_err(EmuError::from)?;
            // Validates ROM and size, then loads: the state is known good.
            self.emu.restore(&snapshot)?;
            snapshot
        } else {
            self.emu.load_mgba_state_file(bytes)?;
            self.emu.snapshot()?
        };
        self.start = Start::Saved(Box::new(snapshot));
        self.status = Status::Idle;
        Ok(())
    }

    /// Installs a battery save; episodes then boot with it.
    pub fn use_battery_save(&mut self, bytes: &[u8]) -> Result<(), EnvError> {
        self.emu.load_battery_save(bytes)?;
        self.start = Start::Boot;
        self.boot_point = None;
        self.status = Status::Idle;
        Ok(())
    }

    /// The profile of the game being played.
    pub fn profile(&self) -> &'static dyn GameProfile {
        self.profile
    }

    /// What the seed of the last `reset` decided: the whole episode, or
    /// only the floors after the start point's (a savestate taken inside a
    /// floor always starts on that floor).
    pub fn seed_scope(&self) -> SeedScope {
        self.seed_scope
    }

    /// Frames from power-on to the point where the seed is written, once a
    /// reset from power-on has booted the game.
    pub fn boot_frames(&self) -> Option<u32> {
        self.boot_point.as_ref().map(|(_, _, frames)| *frames)
    }

    /// Starts an episode with `seed` and returns once the game accepts
    /// input. Returns [`DecodeError::NotInDungeon`] (as `EnvError::Decode`)
    /// when the start point is outside a dungeon.
    pub fn reset(&mut self, seed: u32) -> Result<StepState, EnvError> {
        self.status = Status::Idle;
        self.set_masks(false);
        self.emu.set_keys(Keys::empty());
        match &self.start {
            Start::Saved(snap) => {
                self.emu.restore(snap)?;
                self.seed_scope = self.profile.seed_scope(&self.emu);
            }
            Start::Boot => {
                if self.boot_point.is_none() {
                    self.emu.reset();
                    let scope = self.profile.boot(&mut self.emu)?;
                    let frames = self.emu.frame_count();
                    self.boot_point = Some((Box::new(self.emu.snapshot()?), scope, frames));
                }
                if let Some((snap, scope, _)) = &self.boot_point {
                    // Every reset, the first included, goes on from the
                    // restored point, so all episodes start alike.
                    self.emu.restore(snap)?;
                    self.seed_scope = *scope;
                }
            }
        }
        self.profile
            .write_seed(&mut self.emu, seed)
            .map_err(EmuError::from)?;
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
        self.status = Status::Running;
        self.episode_steps = 0;
        self.floor_turns = 0;
        self.last_floor = self.state.floor;
        self.set_masks(true);
        Ok(self.step_state())
    }

    /// Plays one action: presses its buttons, then runs frames until the
    /// game is ready for the next input, the leader leaves the dungeon, or
    /// the frame cap is hit. An illegal action (see [`Env::action_mask`])
    /// is pressed all the same; the game ignores it and no turn passes.
    pub fn step(&mut self, action: Action) -> Result<StepResult, EnvError> {
        if self.status != Status::Running {
            return Err(EnvError::EpisodeOver);
        }
        let presses = self
            .profile
            .presses(action)
            .ok_or(EnvError::UnsupportedAction {
                action,
                game: self.profile.name(),
            })?;
        let took_stairs = action == Action::TakeStairs && self.mask.contains(Action::TakeStairs);
        let played = self.play(&presses)?;
        let before = self.basis;
        let (left, terminal) = self.settle(&before, played.fainted, took_stairs)?;
        if !left {
            self.count_turn(played.took_turn);
        }
        self.episode_steps += 1;
        let at_limit = self
            .config
            .max_episode_steps
            .is_some_and(|limit| self.episode_steps >= limit);
        let reason = terminal
            .or(played.timed_out.then_some(EndReason::FrameCap))
            .or(at_limit.then_some(EndReason::StepLimit));
        self.status = reason.map_or(Status::Running, Status::Ended);
        self.set_masks(reason.is_none());
        Ok(StepResult {
            state: self.step_state(),
            reward: reward::reward(&before, (!left).then_some(&self.basis), reason),
            terminated: reason.is_some_and(EndReason::is_termination),
            truncated: reason.is_some_and(|r| !r.is_termination()),
            reason,
            frames: played.frames,
        })
    }

    /// Emulation of one step: the action's presses frame by frame (up to
    /// the last non-empty one), then empty frames until the game waits for
    /// input again, leaves the dungeon, or the frame cap.
    fn play(&mut self, presses: &[Keys]) -> Result<Played, EnvError> {
        let last = presses.iter().rposition(|k| !k.is_empty()).unwrap_or(0);
        let mut played = Played::default();
        let mut poll = Poll::Ready;
        for keys in &presses[..=last] {
            self.emu.set_keys(*keys);
            self.emu.run_frame();
            played.frames += 1;
            poll = self.poll(&mut played.fainted)?;
            played.took_turn |= poll != Poll::Ready;
            if poll == Poll::Out {
                break;
            }
        }
        self.emu.set_keys(Keys::empty());
        while poll != Poll::Out {
            self.emu.run_frame();
            played.frames += 1;
            poll = self.poll(&mut played.fainted)?;
            match poll {
                Poll::Ready => break,
                Poll::Busy => played.took_turn = true,
                Poll::Out => {}
            }
            if played.frames >= self.config.frame_cap {
                played.timed_out = true;
                break;
            }
        }
        Ok(played)
    }

    /// Decodes the state after a step: whether the team left the dungeon,
    /// and the episode's end if the game decided one (fainted, cleared,
    /// left). In the dungeon, the reward basis moves to the new state.
    fn settle(
        &mut self,
        before: &RewardBasis,
        fainted: bool,
        took_stairs: bool,
    ) -> Result<(bool, Option<EndReason>), EnvError> {
        let left = match self.decode() {
            Ok(()) => false,
            Err(EnvError::Decode(DecodeError::NotInDungeon)) => true,
            Err(e) => return Err(e),
        };
        let terminal = if left {
            Some(if fainted || before.leader_hp() <= 0 {
                EndReason::Fainted
            } else {
                match self.profile.exit(&self.emu, took_stairs) {
                    DungeonExit::Cleared => EndReason::Cleared,
                    DungeonExit::Left => EndReason::LeftDungeon,
                }
            })
        } else {
            self.basis = RewardBasis::of(&self.state);
            (self.basis.leader_hp() <= 0 || self.profile.game_over(&self.emu))
                .then_some(EndReason::Fainted)
        };
        Ok((left, terminal))
    }

    /// Turns on the current floor (a new floor starts at zero).
    fn count_turn(&mut self, took_turn: bool) {
        if self.state.floor != self.last_floor {
            self.floor_turns = 0;
            self.last_floor = self.state.floor;
        } else if took_turn {
            self.floor_turns += 1;
        }
    }

    /// Looks at the game after a frame: ready, busy or out of the
    /// dungeon; notes a leader at 0 HP (the game may leave the dungeon
    /// within the same step when the leader faints).
    fn poll(&self, fainted: &mut bool) -> Result<Poll, EnvError> {
        match DungeonView::of(&self.emu) {
            Ok(view) => {
                if view.leader()?.is_some_and(|l| l.hp <= 0) {
                    *fainted = true;
                }
                Ok(if view.turn_ready() {
                    Poll::Ready
                } else {
                    Poll::Busy
                })
            }
            Err(DecodeError::NotInDungeon) => Ok(Poll::Out),
            Err(e) => Err(e.into()),
        }
    }

    fn decode(&mut self) -> Result<(), EnvError> {
        let view = DungeonView::of(&self.emu)?;
        self.state.decode(&view)?;
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

    /// The actions legal now as far as the player can tell (see
    /// [`ActionMask::seen`]): the mask policies choose from and
    /// observations carry. Empty outside a running episode.
    pub fn action_mask(&self) -> ActionMask {
        self.seen_mask
    }

    /// The actions legal now on the game's truth (see
    /// [`ActionMask::legal`]): every monster, hidden or not. Empty outside
    /// a running episode.
    pub fn legal_actions(&self) -> ActionMask {
        self.mask
    }

    /// Recomputes both masks from the decoded state (or clears them).
    fn set_masks(&mut self, running: bool) {
        (self.mask, self.seen_mask) = if running {
            (
                ActionMask::legal(&self.state, self.profile),
                ActionMask::seen(&self.state, self.profile),
            )
        } else {
            (ActionMask::NONE, ActionMask::NONE)
        };
    }

    /// Whether no episode is running (none started yet, or it ended).
    pub fn done(&self) -> bool {
        self.status != Status::Running
    }

    /// Why the last episode ended, once it has.
    pub fn end_reason(&self) -> Option<EndReason> {
        match self.status {
            Status::Ended(reason) => Some(reason),
            _ => None,
        }
    }

    /// Whether an episode is running (reset, and not ended).
    pub fn is_running(&self) -> bool {
        self.status == Status::Running
    }

    /// Steps taken in the running episode.
    pub fn episode_steps(&self) -> u32 {
        self.episode_steps
    }

    /// Turns taken on the current floor.
    pub fn floor_turns(&self) -> u32 {
        self.floor_turns
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
        if self.status == Status::Running {
            self.set_masks(true);
        }
        Ok(())
    }

    /// Takes a branch point.
    pub fn snapshot(&mut self) -> Result<EnvSnapshot, EnvError> {
        Ok(EnvSnapshot {
            machine: self.emu.snapshot()?,
            status: self.status,
            episode_steps: self.episode_steps,
            floor_turns: self.floor_turns,
            last_floor: self.last_floor,
            basis: self.basis,
            basis_from_state: false,
        })
    }

    /// Takes a branch point into an existing snapshot, reusing its buffer.
    pub fn snapshot_into(&mut self, snap: &mut EnvSnapshot) -> Result<(), EnvError> {
        self.emu.snapshot_into(&mut snap.machine)?;
        snap.status = self.status;
        snap.episode_steps = self.episode_steps;
        snap.floor_turns = self.floor_turns;
        snap.last_floor = self.last_floor;
        snap.basis = self.basis;
        snap.basis_from_state = false;
        Ok(())
    }

    /// Returns to a branch point taken on this environment.
    pub fn restore(&mut self, snap: &EnvSnapshot) -> Result<(), EnvError> {
        self.emu.restore(&snap.machine)?;
        self.status = snap.status;
        self.episode_steps = snap.episode_steps;
        self.floor_turns = snap.floor_turns;
        self.last_floor = snap.last_floor;
        self.basis = snap.basis;
        match self.decode() {
            Ok(()) | Err(EnvError::Decode(DecodeError::NotInDungeon)) => {}
            Err(e) => return Err(e),
        }
        if snap.basis_from_state {
            self.basis = RewardBasis::of(&self.state);
        }
        self.set_masks(self.status == Status::Running);
        Ok(())
    }
}
