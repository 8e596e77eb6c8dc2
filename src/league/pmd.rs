//! pmd_dungeon on pmd-agent itself: the league's [`DungeonSim`] over the
//! rollout core's environments and its [`NativePolicy`] over the project's
//! policies ([`PolicySpec`]: `random`, `heuristic`, `search[:…]`,
//! `torch:PATH`).
//!
//! **One 1-environment [`VecEnv`] per seat.** Every policy, whatever its
//! kind, is a [`BatchPolicy`] driven with
//! `policy.act(vec.policy_input(), &mut [action])` — the same seam the
//! runner uses — so `search` (a batch policy with per-environment plans
//! that branches on the emulator) and `torch:PATH` (which reads the
//! feature buffer) play exactly as they do in `run --policy`, and so do
//! `random` and `heuristic`. The `VecEnv` also brings the rollout's fault
//! isolation: a step that errors, panics or hits the frame cap is rolled
//! back (the turn is spent), and three in a row end the run.
//!
//! **Both players play the same dungeon.** A seat's `VecEnv` is seeded with
//! the match seed, so both seats reset to the same episode seed
//! ([`dungeon_seed`]) from the same start point (power-on, or a savestate).
//! The policy's own random stream is then replaced by one derived from the
//! match and the player (see [`PmdDungeon::seed_policy_stream`]): two random
//! players on one dungeon play differently, and a replayed match plays the
//! same.
//!
//! **Threads.** A seat's `VecEnv` is built on a worker of this factory's
//! small boot pool (at most four seats boot at once) and has one rollout
//! thread, which means it steps inline on whichever thread calls: the seat
//! may be stepped from any of Tokio's blocking threads, as the referee
//! does between HTTP calls, with no hand-off to another thread.

use std::any::Any;
use std::sync::{Arc, OnceLock};

use serde_json::Value;

use super::error::GameError;
use super::game::dungeon::{
    DungeonFactory, DungeonSim, DungeonStep, DungeonSummary, NativePolicy, PolicyFactory,
};
use super::game::GameType;
use super::store::MatchReplay;
use crate::emu::Rom;
use crate::env::{Action, EndReason, Env, EnvConfig};
use crate::game::state_json;
use crate::policy::{BatchPolicy, PolicySpec};
use crate::record::EpisodeRecord;
use crate::rng::Rng;
use crate::rollout::{episode_seed, VecEnv, VecEnvConfig};
use crate::runner::StartPoint;

/// The episode seed a seat of a match seeded `match_seed` plays (what the
/// replay tool resets the environment with).
pub fn dungeon_seed(match_seed: u64) -> u32 {
    episode_seed(match_seed, 0, 0)
}

/// The environment settings of every seat (and of its replay): no step
/// limit (the league's turn budget cuts the run), the default frame cap.
pub fn env_config() -> EnvConfig {
    EnvConfig {
        max_episode_steps: None,
        ..EnvConfig::default()
    }
}

/// What the replay tool needs to re-simulate one player's run of a match.
#[derive(Debug, Clone)]
pub struct ReplayPlan {
    /// The episode seed (see [`dungeon_seed`]).
    pub seed: u32,
    /// The turns, each with where the leader stood after it.
    pub steps: Vec<EpisodeRecord>,
}

/// Why a recorded match cannot be replayed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplayPlanError {
    /// Not a pmd_dungeon match.
    #[error("match {0} is {1}, not pmd_dungeon: nothing to replay")]
    NotDungeon(String, String),
    /// No such player in the match.
    #[error("match {match_id} was played by {players:?}, not {player:?}")]
    NoPlayer {
        /// The match.
        match_id: String,
        /// Who played it.
        players: Vec<String>,
        /// Who was asked for.
        player: String,
    },
    /// Played on another dungeon than the one given.
    #[error("match {match_id} was played on {played:?}, not {given:?}: pass the same --rom, --state and --save")]
    OtherDungeon {
        /// The match.
        match_id: String,
        /// Its dungeon.
        played: String,
        /// The one given.
        given: String,
    },
    /// A stored move does not make sense.
    #[error("match {match_id}, move {index}: {reason}")]
    BadMove {
        /// The match.
        match_id: String,
        /// Which move.
        index: usize,
        /// What is wrong.
        reason: String,
    },
}

/// The replay plan of `player`'s run in `recorded`, checked to have been
/// played on `descriptor` (the [`DungeonFactory::descriptor`] of the
/// dungeon at hand).
pub fn replay_plan(
    recorded: &MatchReplay,
    player: &str,
    descriptor: &str,
) -> Result<ReplayPlan, ReplayPlanError> {
    let match_id = recorded.match_id.clone();
    if recorded.game != GameType::PmdDungeon.as_str() {
        return Err(ReplayPlanError::NotDungeon(match_id, recorded.game.clone()));
    }
    let played = recorded.details["dungeon"].as_str().unwrap_or_default();
    if played != descriptor {
        return Err(ReplayPlanError::OtherDungeon {
            match_id,
            played: played.to_owned(),
            given: descriptor.to_owned(),
        });
    }
    let Some(moves) = recorded.players.iter().find(|p| p.player_id == player) else {
        return Err(ReplayPlanError::NoPlayer {
            match_id,
            players: recorded
                .players
                .iter()
                .map(|p| p.player_id.clone())
                .collect(),
            player: player.to_owned(),
        });
    };
    let steps = moves
        .moves
        .iter()
        .enumerate()
        .map(|(index, m)| {
            let bad = |reason: String| ReplayPlanError::BadMove {
                match_id: match_id.clone(),
                index,
                reason,
            };
            let action: Action = m.action.parse().map_err(|e| bad(format!("{e}")))?;
            let after = m.after.ok_or_else(|| bad("no position recorded".into()))?;
            let out_of_range = |what: &str| bad(format!("{what} out of range"));
            Ok(EpisodeRecord {
                action,
                floor: u8::try_from(after.floor).map_err(|_| out_of_range("floor"))?,
                hp: i16::try_from(after.hp).map_err(|_| out_of_range("hp"))?,
                x: u8::try_from(after.x).map_err(|_| out_of_range("x"))?,
                y: u8::try_from(after.y).map_err(|_| out_of_range("y"))?,
                rolled_back: after.rolled_back,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ReplayPlan {
        seed: dungeon_seed(recorded.seed),
        steps,
    })
}

/// Makes [`PmdDungeon`]s over one ROM and start point.
pub struct PmdDungeonFactory {
    rom: Rom,
    start: Arc<StartPoint>,
    boot_threads: usize,
    boot: OnceLock<Result<rayon::ThreadPool, String>>,
}

impl std::fmt::Debug for PmdDungeonFactory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PmdDungeonFactory")
            .field("dungeon", &self.descriptor())
            .finish()
    }
}

impl PmdDungeonFactory {
    /// Dungeons of `rom` (the bundled cartridge, or the real game) from
    /// `start` (power-on with an optional battery save, or a savestate).
    /// The ROM must have a RAM map (checked when the first dungeon boots).
    pub fn new(rom: Rom, start: StartPoint) -> PmdDungeonFactory {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        PmdDungeonFactory {
            rom,
            start: Arc::new(start),
            boot_threads: cores.clamp(1, 4),
            boot: OnceLock::new(),
        }
    }

    /// Dungeons of the bundled test cartridge from power-on.
    pub fn cartridge() -> Result<PmdDungeonFactory, GameError> {
        let rom = crate::cartridge::rom().map_err(|e| GameError::Sim(e.to_string()))?;
        Ok(PmdDungeonFactory::new(rom, StartPoint::default()))
    }

    /// The ROM.
    pub fn rom(&self) -> &Rom {
        &self.rom
    }

    /// The start point.
    pub fn start(&self) -> &StartPoint {
        &self.start
    }

    fn boot_pool(&self) -> Result<&rayon::ThreadPool, GameError> {
        self.boot
            .get_or_init(|| {
                rayon::ThreadPoolBuilder::new()
                    .num_threads(self.boot_threads)
                    .thread_name(|i| format!("league-boot-{i}"))
                    .build()
                    .map_err(|e| e.to_string())
            })
            .as_ref()
            .map_err(|e| GameError::Sim(format!("cannot start the boot pool: {e}")))
    }
}

impl DungeonFactory for PmdDungeonFactory {
    /// `<game code> rom:<crc32> <start>[ sav:<crc32>]`, the start being
    /// `boot` or `state:<crc32>` as in trajectory files, and the battery
    /// save's CRC-32 when there is one.
    fn descriptor(&self) -> String {
        let mut d = format!(
            "{} rom:{:08x} {}",
            self.rom.game_code(),
            self.rom.crc32(),
            self.start.describe()
        );
        if let Some(sav) = &self.start.battery {
            d.push_str(&format!(" sav:{:08x}", crc32fast::hash(sav)));
        }
        d
    }

    fn create(&self, seed: u64) -> Result<Box<dyn DungeonSim>, GameError> {
        let config = VecEnvConfig {
            envs: 1,
            seed,
            env: env_config(),
            threads: Some(1),
            ..VecEnvConfig::default()
        };
        let (rom, start) = (&self.rom, &*self.start);
        let vec = self
            .boot_pool()?
            .install(|| VecEnv::new(rom, config, |env: &mut Env| start.prepare(env)))
            .map_err(|e| GameError::Sim(e.to_string()))?;
        Ok(Box::new(PmdDungeon::new(vec)))
    }
}

/// One seat's dungeon: a one-environment [`VecEnv`] and the run's tally.
pub struct PmdDungeon {
    vec: VecEnv,
    done: bool,
    end: Option<EndReason>,
    turns: u32,
    deepest: u32,
    turns_to_deepest: u32,
    hp: i32,
    max_hp: i32,
    /// The JSON of the state the run ended in (the environment itself has
    /// moved on to its next episode by then).
    final_json: Option<Value>,
}

impl std::fmt::Debug for PmdDungeon {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PmdDungeon")
            .field("turns", &self.turns)
            .field("done", &self.done)
            .finish()
    }
}

impl PmdDungeon {
    fn new(vec: VecEnv) -> PmdDungeon {
        let s = vec.env(0).step_state();
        let floor = u32::from(s.floor.max(1));
        PmdDungeon {
            vec,
            done: false,
            end: None,
            turns: 0,
            deepest: floor,
            turns_to_deepest: 0,
            hp: i32::from(s.hp),
            max_hp: i32::from(s.max_hp),
            final_json: None,
        }
    }

    /// The environments (one).
    pub fn vec_env(&self) -> &VecEnv {
        &self.vec
    }

    /// Replaces the policy's random stream of this seat with
    /// `Rng::new(seed, 0)`. The stream a `VecEnv` gives its environment
    /// derives from the run seed, which here is the match seed both seats
    /// share; this makes it the player's own.
    pub fn seed_policy_stream(&mut self, seed: u64) {
        let mut unused = [Action::Wait];
        self.vec.policy_input().envs.par_decide(&mut unused, |ctx| {
            *ctx.rng = Rng::new(seed, 0);
            Action::Wait
        });
    }

    /// The action `policy` chooses now.
    pub fn decide(&mut self, policy: &mut dyn BatchPolicy) -> Result<Action, GameError> {
        let mut action = [Action::Wait];
        policy
            .act(self.vec.policy_input(), &mut action)
            .map_err(|e| GameError::Sim(e.to_string()))?;
        Ok(action[0])
    }
}

impl DungeonSim for PmdDungeon {
    fn state_json(&self) -> Value {
        match &self.final_json {
            Some(v) => v.clone(),
            None => state_json(Some(self.vec.env(0).state())),
        }
    }

    fn legal_actions(&self) -> Vec<String> {
        if self.done {
            return Vec::new();
        }
        self.vec
            .env(0)
            .action_mask()
            .iter()
            .map(|a| a.name().to_owned())
            .collect()
    }

    fn step(&mut self, name: &str) -> Result<DungeonStep, GameError> {
        if self.done {
            return Err(GameError::IllegalAction(format!(
                "{name} after the run ended"
            )));
        }
        let action: Action = name
            .parse()
            .map_err(|_| GameError::IllegalAction(name.to_owned()))?;
        if !self.vec.env(0).action_mask().contains(action) {
            return Err(GameError::IllegalAction(name.to_owned()));
        }
        self.vec
            .step(&[action])
            .map_err(|e| GameError::Sim(e.to_string()))?;
        let info = self.vec.infos()[0];
        if info.quarantined {
            return Err(GameError::Sim("the environment is quarantined".into()));
        }
        self.turns += 1;
        let s = info.state;
        if info.done() {
            self.done = true;
            self.end = info.reason;
            self.final_json = Some(state_json(Some(self.vec.final_state(0))));
        }
        let floor = u32::from(s.floor);
        let cleared = self.end == Some(EndReason::Cleared);
        let reached = if cleared { floor + 1 } else { floor };
        if reached > self.deepest {
            self.deepest = reached;
            self.turns_to_deepest = self.turns;
        }
        self.hp = if self.end == Some(EndReason::Fainted) {
            0
        } else {
            i32::from(s.hp)
        };
        self.max_hp = i32::from(s.max_hp);
        Ok(DungeonStep {
            floor,
            hp: self.hp,
            x: u32::from(s.x),
            y: u32::from(s.y),
            rolled_back: info.rolled_back,
            turns: self.turns,
            done: self.done,
        })
    }

    fn summary(&self) -> DungeonSummary {
        DungeonSummary {
            deepest_floor: self.deepest,
            turns_to_deepest: self.turns_to_deepest,
            turns: self.turns,
            hp: self.hp,
            max_hp: self.max_hp,
            fainted: self.end == Some(EndReason::Fainted),
            end: self.end.map(|r| r.code().to_owned()),
        }
    }

    fn done(&self) -> bool {
        self.done
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }

    fn set_watched(&mut self, on: bool) {
        self.vec.env_mut(0).emulator_mut().set_rendering(on);
    }

    fn frame_png(&self) -> Option<Vec<u8>> {
        let emu = self.vec.env(0).emulator();
        if !emu.frame_is_current() {
            return None;
        }
        crate::emu::screenshot::encode_png(emu.frame()).ok()
    }
}

/// Renders recorded pmd_dungeon matches for the read API's `replay.gif`
/// (the same re-simulation as `league replay --gif`).
pub struct PmdMedia {
    factory: Arc<PmdDungeonFactory>,
    delay_cs: u16,
}

impl PmdMedia {
    /// Replays on `factory`'s dungeon, `delay_cs` hundredths of a second
    /// per turn.
    pub fn new(factory: Arc<PmdDungeonFactory>, delay_cs: u16) -> PmdMedia {
        PmdMedia { factory, delay_cs }
    }
}

impl league_v2::api::MatchMedia for PmdMedia {
    fn replay_gif(&self, replay: &MatchReplay, player: &str) -> Result<Vec<u8>, String> {
        let plan =
            replay_plan(replay, player, &self.factory.descriptor()).map_err(|e| e.to_string())?;
        let frames = crate::replay::replay(
            self.factory.rom(),
            self.factory.start().state.as_deref(),
            plan.seed,
            &plan.steps,
        )
        .map_err(|e| e.to_string())?;
        crate::replay::encode_gif(&frames, self.delay_cs).map_err(|e| e.to_string())
    }
}

/// A project policy playing a [`PmdDungeon`].
pub struct PmdPolicy {
    name: String,
    policy: Box<dyn BatchPolicy>,
    seed: u64,
    seeded: bool,
}

impl NativePolicy for PmdPolicy {
    fn name(&self) -> &str {
        &self.name
    }

    fn act(&mut self, sim: &mut dyn DungeonSim) -> Result<String, GameError> {
        let sim = sim
            .as_any_mut()
            .downcast_mut::<PmdDungeon>()
            .ok_or_else(|| {
                GameError::Unsupported(format!(
                    "{}: pmd-agent policies play pmd-agent dungeons only",
                    self.name
                ))
            })?;
        if !self.seeded {
            sim.seed_policy_stream(self.seed);
            self.seeded = true;
        }
        sim.decide(self.policy.as_mut())
            .map(|a| a.name().to_owned())
    }
}

/// Makes [`PmdPolicy`]s from policy specs (`random`, `heuristic`,
/// `search[:horizon=H:branches=B:commit=C]`, `torch:PATH`).
#[derive(Debug, Clone, Copy, Default)]
pub struct PmdPolicyFactory;

impl PolicyFactory for PmdPolicyFactory {
    fn create(&self, spec: &str, seed: u64) -> Result<Box<dyn NativePolicy>, GameError> {
        let parsed: PolicySpec = spec
            .parse()
            .map_err(|_| GameError::UnknownPolicy(spec.to_owned()))?;
        let policy = parsed
            .build()
            .map_err(|e| GameError::Unsupported(e.to_string()))?;
        Ok(Box::new(PmdPolicy {
            name: parsed.to_string(),
            policy,
            seed,
            seeded: false,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_leagues_move_names_are_the_games_directions() {
        use crate::game::{Action, Direction};
        let moves = crate::league::game::dungeon::MOVES;
        for (d, (name, delta)) in Direction::ALL.into_iter().zip(moves) {
            assert_eq!(name, Action::Move(d).name(), "{d:?}");
            assert_eq!(delta, d.delta(), "{d:?}");
        }
    }
    use crate::league::game::dungeon::play_native;

    fn play(spec: &str, seed: u64, policy_seed: u64, turns: u32) -> (DungeonSummary, Vec<String>) {
        let factory = PmdDungeonFactory::cartridge().unwrap();
        let mut sim = factory.create(seed).unwrap();
        let mut policy = PmdPolicyFactory.create(spec, policy_seed).unwrap();
        let played = play_native(sim.as_mut(), policy.as_mut(), turns).unwrap();
        let names = played.into_iter().map(|t| t.action).collect();
        (sim.summary(), names)
    }

    #[test]
    fn seats_share_the_dungeon_not_the_random_stream() {
        let factory = PmdDungeonFactory::cartridge().unwrap();
        let a = factory.create(5).unwrap();
        let b = factory.create(5).unwrap();
        let c = factory.create(6).unwrap();
        assert_eq!(a.state_json(), b.state_json());
        assert_ne!(a.state_json(), c.state_json());
        assert_eq!(a.state_json()["in_dungeon"], true);
        assert!(!a.legal_actions().is_empty());
        assert!(factory.descriptor().starts_with("PMDT rom:"));

        let (s1, a1) = play("random", 5, 1, 30);
        let (s2, a2) = play("random", 5, 1, 30);
        let (_, a3) = play("random", 5, 2, 30);
        assert_eq!((s1, &a1), (s2, &a2), "same seeds, same run");
        assert_ne!(a1, a3, "another player's stream plays differently");
    }

    #[test]
    fn illegal_and_unknown_actions_are_refused() {
        let factory = PmdDungeonFactory::cartridge().unwrap();
        let mut sim = factory.create(3).unwrap();
        assert!(matches!(sim.step("fly"), Err(GameError::IllegalAction(_))));
        let legal = sim.legal_actions();
        let illegal = Action::all()
            .map(|a| a.name().to_owned())
            .find(|a| !legal.contains(a))
            .expect("some action is illegal at the start");
        assert!(matches!(
            sim.step(&illegal),
            Err(GameError::IllegalAction(_))
        ));
        let step = sim.step(&legal[0]).unwrap();
        assert_eq!((step.turns, sim.summary().turns), (1, 1));
    }

    #[test]
    fn specs_are_checked() {
        assert!(matches!(
            PmdPolicyFactory.create("greedy", 0),
            Err(GameError::UnknownPolicy(_))
        ));
        assert!(PmdPolicyFactory.create("search:horizon=20", 0).is_ok());
        // Without the torch feature, or without the file: not playable.
        assert!(matches!(
            PmdPolicyFactory.create("torch:/nonexistent/model.pt", 0),
            Err(GameError::Unsupported(_))
        ));
    }
}
