//! The tools.

use std::collections::BTreeMap;
use std::str::FromStr;
use std::sync::{Arc, Mutex, MutexGuard};

use base64::Engine;
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{
    CallToolResult, ContentBlock, GetPromptRequestParams, GetPromptResponse, GetPromptResult,
    Implementation, ListPromptsResult, ListResourcesResult, PaginatedRequestParams, Prompt,
    PromptMessage, ReadResourceRequestParams, ReadResourceResponse, ReadResourceResult, Resource,
    ResourceContents, Role, ServerCapabilities, ServerConfig,
};
use rmcp::service::RequestContext;
use rmcp::{tool, tool_handler, tool_router, Json, ServerHandler};
use rmcp::{ErrorData, RoleServer};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::image;
use crate::observe::{observe, Observation};
use crate::resources;
use crate::sessions::{Limits, NewSession, Session, Sessions};
use pmd_game::env::{Action, ACTION_COUNT};
use pmd_rollout::policy::PolicySpec;

/// Most action sequences one `lookahead` evaluates.
const MAX_SEQUENCES: usize = 16;
/// Most steps in one `lookahead` sequence.
const MAX_SEQUENCE_STEPS: usize = 64;
/// Most steps one `rollout` plays.
const MAX_ROLLOUT_STEPS: u32 = 2_000;
/// Most bytes one `read_memory` returns.
const MAX_READ: u32 = 4_096;
/// Most frames one `press` runs (10 s of game time).
const MAX_PRESS_FRAMES: u32 = 600;
/// Most bytes of Lua source one `run_lua` takes.
const MAX_LUA: usize = 64 * 1024;
/// Most console bytes one `run_lua` returns.
const MAX_CONSOLE: usize = 64 * 1024;
/// Most bytes one `write_memory` writes.
const MAX_WRITE: usize = 256;
/// Most bytes in a branch name.
const MAX_NAME: usize = 64;

/// The MCP server: its sessions and its tools.
#[derive(Clone)]
pub struct PmdMcp {
    sessions: Arc<Mutex<Sessions>>,
    tool_router: ToolRouter<Self>,
}

/// Session `s`, locked and marked used.
fn lock(s: &Arc<Mutex<Session>>) -> Result<MutexGuard<'_, Session>, String> {
    let mut guard = peek(s)?;
    guard.touch();
    Ok(guard)
}

/// Session `s`, locked, not marked used (listing does not keep sessions alive).
fn peek(s: &Arc<Mutex<Session>>) -> Result<MutexGuard<'_, Session>, String> {
    s.lock()
        .map_err(|_| "the session failed earlier and is in an unknown state; close it".to_owned())
}

fn parse_action(name: &str) -> Result<Action, String> {
    if let Ok(i) = name.trim().parse::<usize>() {
        return Action::from_index(i)
            .ok_or_else(|| format!("action {i} is out of range (0..{ACTION_COUNT})"));
    }
    Action::from_str(name).map_err(|_| {
        format!(
            "unknown action {name:?}; actions: {}",
            Action::all()
                .map(|a| a.name())
                .collect::<Vec<_>>()
                .join(", ")
        )
    })
}

fn parse_address(text: &str) -> Result<u32, String> {
    let text = text.trim();
    match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u32::from_str_radix(hex, 16),
        None => text.parse::<u32>(),
    }
    .map_err(|_| format!("address {text:?} is not a number (decimal or 0x hex)"))
}

fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > MAX_NAME || name.chars().any(char::is_control) {
        return Err(format!(
            "a branch name is 1 to {MAX_NAME} printable characters"
        ));
    }
    Ok(())
}

/// A session id.
#[derive(Debug, Deserialize, JsonSchema)]
pub(crate) struct SessionArg {
    /// The session (`session_new` returns it, e.g. `s1`).
    session: String,
}

/// `session_new`'s arguments.
#[derive(Debug, Deserialize, JsonSchema)]
pub(crate) struct NewArgs {
    /// Path of a GBA ROM on the server's machine; the bundled test cartridge when absent.
    rom: Option<String>,
    /// Path of a savestate on the server's machine (mGBA's `.ss1`/PNG, or pmd-agent's): every episode starts from it.
    savestate: Option<String>,
    /// Run seed: episode e's dungeon derives from it (default 0).
    seed: Option<u64>,
    /// Steps after which an episode is cut (default 1000).
    max_episode_steps: Option<u32>,
}

/// A session and a name.
#[derive(Debug, Deserialize, JsonSchema)]
pub(crate) struct BranchArgs {
    /// The session.
    session: String,
    /// The branch's name (1 to 64 printable characters).
    name: String,
}

/// `act`'s arguments.
#[derive(Debug, Deserialize, JsonSchema)]
pub(crate) struct ActArgs {
    /// The session.
    session: String,
    /// An action name from `legal_actions` (`move_up`, `attack_left`, `wait`, `use_item`, `take_stairs`, …) or its index 0..18.
    action: String,
}

/// `reset`'s arguments.
#[derive(Debug, Deserialize, JsonSchema)]
pub(crate) struct ResetArgs {
    /// The session.
    session: String,
    /// Start the run over from this seed (episode 0 of it); absent: the next episode.
    seed: Option<u64>,
}

/// `screenshot`'s arguments.
#[derive(Debug, Deserialize, JsonSchema)]
pub(crate) struct ScreenshotArgs {
    /// The session.
    session: String,
    /// Pixel scale, 1 to 4 (default 2: 480 x 320).
    scale: Option<u32>,
}

/// `lookahead`'s arguments.
#[derive(Debug, Deserialize, JsonSchema)]
pub(crate) struct LookaheadArgs {
    /// The session (left exactly as it was).
    session: String,
    /// Up to 16 candidate sequences of up to 64 action names each, every one played from the current state.
    sequences: Vec<Vec<String>>,
}

/// `rollout`'s arguments.
#[derive(Debug, Deserialize, JsonSchema)]
pub(crate) struct RolloutArgs {
    /// The session (it moves).
    session: String,
    /// `heuristic`, `random`, `search[:horizon=H:branches=B:commit=C]`, or `torch:PATH` (a model file; the server must run with --torch).
    policy: String,
    /// Steps to play, at most 2000 (stops early when the episode ends).
    steps: u32,
}

/// `read_memory`'s arguments.
#[derive(Debug, Deserialize, JsonSchema)]
pub(crate) struct ReadArgs {
    /// The session.
    session: String,
    /// Bus address: EWRAM 0x02000000-0x0203FFFF or IWRAM 0x03000000-0x03007FFF (decimal or 0x hex).
    address: String,
    /// Bytes to read, 1 to 4096.
    length: u32,
}

/// A new session.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct NewSessionOut {
    /// Its id, for every other tool.
    session: String,
    /// The ROM's title.
    rom_title: String,
    /// The first observation.
    observation: Observation,
}

/// One open session.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct SessionSummary {
    session: String,
    /// A tool call is running on it now; the fields below are then absent.
    busy: bool,
    rom_title: Option<String>,
    seed: Option<u64>,
    episode: Option<u64>,
    floor: Option<u8>,
    branches: Option<Vec<String>>,
}

/// The open sessions.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct SessionList {
    sessions: Vec<SessionSummary>,
    /// How many may be open at once.
    max_sessions: usize,
}

/// What a step did.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct ActOut {
    /// The step's reward (+1 a floor descended, see the README).
    reward: f32,
    /// The episode ended by the game's outcome.
    terminated: bool,
    /// The episode was cut (step limit, failures).
    truncated: bool,
    /// Why it ended (`fainted`, `cleared`, `left_dungeon`, `step_limit`, …), when it did.
    reason: Option<String>,
    /// The session after the step.
    observation: Observation,
}

/// A session's branches.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct BranchList {
    session: String,
    branches: Vec<String>,
    /// How many a session may hold.
    max_branches: usize,
}

/// One candidate sequence's outcome.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct Outcome {
    /// Steps played (fewer than asked when the episode ended).
    steps: usize,
    /// Sum of the rewards.
    total_reward: f32,
    terminated: bool,
    truncated: bool,
    reason: Option<String>,
    /// Floor and leader HP at the end.
    floor: u8,
    hp: i16,
}

/// Every candidate's outcome, in order.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct LookaheadOut {
    outcomes: Vec<Outcome>,
}

/// What a rollout did.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct RolloutOut {
    policy: String,
    steps: u32,
    total_reward: f32,
    ended: bool,
    reason: Option<String>,
    /// The session after it.
    observation: Observation,
}

/// `press`'s arguments.
#[derive(Debug, Deserialize, JsonSchema)]
pub(crate) struct PressArgs {
    /// The session.
    session: String,
    /// Buttons held together, `+`-separated: a, b, select, start, right, left, up, down, r, l (e.g. `up+a`), or `none`.
    buttons: String,
    /// Frames to hold them, 1 to 600 (60 a second); then they are released for one frame.
    frames: u32,
}

/// `run_lua`'s arguments.
#[derive(Debug, Deserialize, JsonSchema)]
pub(crate) struct LuaArgs {
    /// The session.
    session: String,
    /// Lua source for mGBA's scripting engine (`emu:read8(addr)`, `emu:write8`, `console:log(...)`, `callbacks:add("frame", f)`, ...); its top level runs at once.
    code: String,
    /// Frames to run after loading it (its `frame` callbacks fire after each), 0 to 600.
    frames: Option<u32>,
}

/// What a script printed and did.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct LuaOut {
    /// `console:log`/`warn`/`error` lines, in order (cut at 64 KB).
    console: Vec<String>,
    /// Frames run after loading.
    frames: u32,
    /// The session after the script.
    observation: Observation,
}

/// `write_memory`'s arguments.
#[derive(Debug, Deserialize, JsonSchema)]
pub(crate) struct WriteArgs {
    /// The session.
    session: String,
    /// Bus address in EWRAM (0x02000000..) or IWRAM (0x03000000..), decimal or 0x hex.
    address: String,
    /// The bytes as hex (two digits each), at most 256 bytes.
    hex: String,
}

/// Bytes read.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct MemoryOut {
    address: String,
    length: u32,
    /// The bytes as lowercase hex, two digits each.
    hex: String,
}

/// Nothing to report but success.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct Done {
    ok: bool,
}

/// Steps the session once; the step's outcome.
fn step(s: &mut Session, action: Action) -> Result<(f32, bool, bool, Option<String>), String> {
    if s.env.awaiting_reset(0) {
        return Err("the episode has ended: reset (or branch_restore) first".to_owned());
    }
    s.env.step(&[action]).map_err(|e| e.to_string())?;
    let info = s.env.infos()[0];
    Ok((
        info.reward,
        info.terminated,
        info.truncated,
        info.reason.map(|r| r.code().to_owned()),
    ))
}

#[tool_router(router = tool_router)]
impl PmdMcp {
    /// A server holding at most `limits`.
    pub fn new(limits: Limits) -> PmdMcp {
        PmdMcp {
            sessions: Arc::new(Mutex::new(Sessions::new(limits))),
            tool_router: Self::tool_router(),
        }
    }

    /// Closes idle sessions every `period` on the current Tokio runtime,
    /// for as long as the server lives.
    pub(crate) fn reap_idle(&self, period: std::time::Duration) {
        let sessions = std::sync::Arc::downgrade(&self.sessions);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(period);
            tick.tick().await;
            loop {
                tick.tick().await;
                let Some(sessions) = sessions.upgrade() else {
                    return;
                };
                if let Ok(mut table) = sessions.lock() {
                    table.close_idle();
                };
            }
        });
    }

    fn table(&self) -> Result<MutexGuard<'_, Sessions>, String> {
        self.sessions
            .lock()
            .map_err(|_| "the session table failed".to_owned())
    }

    fn session(&self, id: &str) -> Result<Arc<Mutex<Session>>, String> {
        self.sessions
            .lock()
            .map_err(|_| "the session table failed".to_owned())?
            .get(id)
    }

    #[tool(
        description = "Open a session: an emulator in the server running the ROM (the bundled test cartridge by default), at the start of episode 0 of the seed. Returns its id and first observation."
    )]
    fn session_new(
        &self,
        Parameters(a): Parameters<NewArgs>,
    ) -> Result<Json<NewSessionOut>, String> {
        self.table()?.check_room()?;
        // Booting the game takes a while: not under the table's lock.
        let session = Session::build(NewSession {
            rom: a.rom.as_deref(),
            savestate: a.savestate.as_deref(),
            seed: a.seed.unwrap_or(0),
            max_episode_steps: Some(a.max_episode_steps.unwrap_or(1000)),
        })?;
        let id = self.table()?.insert(session)?;
        let s = self.session(&id)?;
        let s = lock(&s)?;
        Ok(Json(NewSessionOut {
            session: id.clone(),
            rom_title: s.rom_title.clone(),
            observation: observe(&id, &s),
        }))
    }

    #[tool(description = "List the open sessions: id, ROM, seed, episode, floor, branch names.")]
    fn session_list(&self) -> Result<Json<SessionList>, String> {
        let (entries, max_sessions) = {
            let table = self
                .sessions
                .lock()
                .map_err(|_| "the session table failed".to_owned())?;
            (table.all(), table.limits.max_sessions)
        };
        let mut sessions = Vec::new();
        for (id, s) in entries {
            // A session busy in a long call (rollout, lookahead) is listed
            // as busy rather than waited for.
            sessions.push(match s.try_lock() {
                Ok(s) => SessionSummary {
                    session: id,
                    busy: false,
                    rom_title: Some(s.rom_title.clone()),
                    seed: Some(s.seed),
                    episode: Some(s.env.infos()[0].episode),
                    floor: Some(s.env.env(0).state().floor),
                    branches: Some(s.branches.keys().cloned().collect()),
                },
                Err(std::sync::TryLockError::WouldBlock) => SessionSummary {
                    session: id,
                    busy: true,
                    rom_title: None,
                    seed: None,
                    episode: None,
                    floor: None,
                    branches: None,
                },
                Err(std::sync::TryLockError::Poisoned(_)) => {
                    return Err(format!("session {id} failed earlier; close it"))
                }
            });
        }
        Ok(Json(SessionList {
            sessions,
            max_sessions,
        }))
    }

    #[tool(description = "Close a session and free its emulator and branches.")]
    fn session_close(&self, Parameters(a): Parameters<SessionArg>) -> Result<Json<Done>, String> {
        self.sessions
            .lock()
            .map_err(|_| "the session table failed".to_owned())?
            .close(&a.session)?;
        Ok(Json(Done { ok: true }))
    }

    #[tool(
        description = "The session's state: floor, legal actions, a 15x15 text map around the leader (see legend), and the decoded game state (leader, team, visible monsters, items, traps, stairs, the known map)."
    )]
    fn observe(&self, Parameters(a): Parameters<SessionArg>) -> Result<Json<Observation>, String> {
        let s = self.session(&a.session)?;
        let s = lock(&s)?;
        Ok(Json(observe(&a.session, &s)))
    }

    #[tool(
        description = "Take one turn: an action name from legal_actions (move_<dir>, attack_<dir> with dir up, up_right, right, down_right, down, down_left, left, up_left; wait; use_item; take_stairs). Returns the reward, whether the episode ended and why, and the new observation."
    )]
    fn act(&self, Parameters(a): Parameters<ActArgs>) -> Result<Json<ActOut>, String> {
        let action = parse_action(&a.action)?;
        let s = self.session(&a.session)?;
        let mut s = lock(&s)?;
        let (reward, terminated, truncated, reason) = step(&mut s, action)?;
        Ok(Json(ActOut {
            reward,
            terminated,
            truncated,
            reason,
            observation: observe(&a.session, &s),
        }))
    }

    #[tool(
        description = "Start the next episode, or with a seed start the run over from episode 0 of that seed."
    )]
    fn reset(&self, Parameters(a): Parameters<ResetArgs>) -> Result<Json<Observation>, String> {
        let s = self.session(&a.session)?;
        let mut s = lock(&s)?;
        s.env.reset_envs(a.seed, None).map_err(|e| e.to_string())?;
        Ok(Json(observe(&a.session, &s)))
    }

    #[tool(description = "The screen as a PNG image (240x160 times scale, default 2).")]
    fn screenshot(
        &self,
        Parameters(a): Parameters<ScreenshotArgs>,
    ) -> Result<CallToolResult, String> {
        let scale = a.scale.unwrap_or(2);
        if !(1..=image::MAX_SCALE).contains(&scale) {
            return Err(format!("scale must be 1 to {}", image::MAX_SCALE));
        }
        let s = self.session(&a.session)?;
        let s = lock(&s)?;
        let emu = s.env.env(0).emulator();
        let png = image::png(emu.frame(), scale)?;
        let data = base64::engine::general_purpose::STANDARD.encode(png);
        Ok(CallToolResult::success(vec![ContentBlock::image(
            data,
            "image/png",
        )]))
    }

    #[tool(
        description = "Save the session's exact state (emulator and episode) under a name, in memory (~0.1 ms). Saving an existing name replaces it."
    )]
    fn branch_save(
        &self,
        Parameters(a): Parameters<BranchArgs>,
    ) -> Result<Json<BranchList>, String> {
        check_name(&a.name)?;
        let max = self.max_branches()?;
        let s = self.session(&a.session)?;
        let mut s = lock(&s)?;
        if !s.branches.contains_key(&a.name) && s.branches.len() >= max {
            return Err(format!(
                "{max} branches saved, the most a session holds; branch_drop one"
            ));
        }
        let snap = s.env.snapshot_env(0).map_err(|e| e.to_string())?;
        s.branches.insert(a.name, snap);
        Ok(Json(branch_list(&a.session, &s.branches, max)))
    }

    #[tool(
        description = "Return the session to a saved branch (the branch stays saved). Returns the observation there."
    )]
    fn branch_restore(
        &self,
        Parameters(a): Parameters<BranchArgs>,
    ) -> Result<Json<Observation>, String> {
        let s = self.session(&a.session)?;
        let mut s = lock(&s)?;
        let snap = s
            .branches
            .get(&a.name)
            .cloned()
            .ok_or_else(|| format!("no branch {:?} in session {}", a.name, a.session))?;
        s.env.restore_env(0, &snap).map_err(|e| e.to_string())?;
        Ok(Json(observe(&a.session, &s)))
    }

    #[tool(description = "The session's saved branch names.")]
    fn branch_list(
        &self,
        Parameters(a): Parameters<SessionArg>,
    ) -> Result<Json<BranchList>, String> {
        let max = self.max_branches()?;
        let s = self.session(&a.session)?;
        let s = lock(&s)?;
        Ok(Json(branch_list(&a.session, &s.branches, max)))
    }

    #[tool(description = "Forget a saved branch.")]
    fn branch_drop(
        &self,
        Parameters(a): Parameters<BranchArgs>,
    ) -> Result<Json<BranchList>, String> {
        let max = self.max_branches()?;
        let s = self.session(&a.session)?;
        let mut s = lock(&s)?;
        s.branches
            .remove(&a.name)
            .ok_or_else(|| format!("no branch {:?} in session {}", a.name, a.session))?;
        Ok(Json(branch_list(&a.session, &s.branches, max)))
    }

    #[tool(
        description = "Evaluate candidate action sequences from the current state without moving the session: each is played from a savestate and its outcome returned (reward, end, floor, HP). Up to 16 sequences of up to 64 actions."
    )]
    fn lookahead(
        &self,
        Parameters(a): Parameters<LookaheadArgs>,
    ) -> Result<Json<LookaheadOut>, String> {
        if a.sequences.is_empty() || a.sequences.len() > MAX_SEQUENCES {
            return Err(format!("give 1 to {MAX_SEQUENCES} sequences"));
        }
        let mut plans = Vec::with_capacity(a.sequences.len());
        for seq in &a.sequences {
            if seq.len() > MAX_SEQUENCE_STEPS {
                return Err(format!(
                    "a sequence has at most {MAX_SEQUENCE_STEPS} actions"
                ));
            }
            plans.push(
                seq.iter()
                    .map(|n| parse_action(n))
                    .collect::<Result<Vec<_>, _>>()?,
            );
        }
        let s = self.session(&a.session)?;
        let mut s = lock(&s)?;
        if s.env.awaiting_reset(0) {
            return Err("the episode has ended: reset (or branch_restore) first".to_owned());
        }
        let start = s.env.snapshot_env(0).map_err(|e| e.to_string())?;
        let outcomes = play_candidates(s.scratch(plans.len())?, &start, &plans)?;
        Ok(Json(LookaheadOut { outcomes }))
    }

    #[tool(
        description = "Let a native policy play: heuristic, random or search (planning on savestates). Plays up to `steps` turns (at most 2000), stopping when the episode ends; returns a summary and the observation."
    )]
    fn rollout(&self, Parameters(a): Parameters<RolloutArgs>) -> Result<Json<RolloutOut>, String> {
        if a.steps == 0 || a.steps > MAX_ROLLOUT_STEPS {
            return Err(format!("steps must be 1 to {MAX_ROLLOUT_STEPS}"));
        }
        let spec = PolicySpec::from_str(&a.policy).map_err(|e| e.to_string())?;
        let mut policy = spec.build().map_err(|e| match (&spec, e) {
            (PolicySpec::Torch(_), pmd_rollout::policy::PolicyError::Unavailable { .. }) => {
                "torch:PATH policies need the server started with --torch (it then runs in pmd-agent-torch)"
                    .to_owned()
            }
            (_, e) => e.to_string(),
        })?;
        let s = self.session(&a.session)?;
        let mut s = lock(&s)?;
        let mut out = RolloutOut {
            policy: a.policy.clone(),
            steps: 0,
            total_reward: 0.0,
            ended: false,
            reason: None,
            observation: observe(&a.session, &s),
        };
        let mut actions = [Action::Wait];
        while out.steps < a.steps {
            policy
                .act(s.env.policy_input(), &mut actions)
                .map_err(|e| e.to_string())?;
            let (r, te, tr, reason) = step(&mut s, actions[0])?;
            out.steps += 1;
            out.total_reward += r;
            if te || tr {
                (out.ended, out.reason) = (true, reason);
                break;
            }
        }
        out.observation = observe(&a.session, &s);
        Ok(Json(out))
    }

    #[tool(
        description = "Read up to 4096 bytes of the session's RAM at a bus address (EWRAM 0x02000000.., IWRAM 0x03000000..)."
    )]
    fn read_memory(&self, Parameters(a): Parameters<ReadArgs>) -> Result<Json<MemoryOut>, String> {
        let address = parse_address(&a.address)?;
        if a.length == 0 || a.length > MAX_READ {
            return Err(format!("length must be 1 to {MAX_READ}"));
        }
        let s = self.session(&a.session)?;
        let s = lock(&s)?;
        let bytes = s
            .env
            .env(0)
            .emulator()
            .read_bytes(address, a.length as usize)
            .map_err(|e| e.to_string())?;
        let hex = bytes.iter().map(|b| format!("{b:02x}")).collect();
        Ok(Json(MemoryOut {
            address: format!("0x{address:08x}"),
            length: a.length,
            hex,
        }))
    }

    #[tool(
        description = "Run Lua in mGBA's own scripting engine (as the desktop app's scripting window does) on the session's machine, then run `frames` frames; returns what it printed and the observation after. A Lua error is a tool error and leaves the session as it was. Needs --allow-writes (Lua can write memory)."
    )]
    fn run_lua(&self, Parameters(a): Parameters<LuaArgs>) -> Result<Json<LuaOut>, String> {
        if !self.limits()?.allow_writes {
            return Err(
                "run_lua can write memory: start the server with --allow-writes".to_owned(),
            );
        }
        if a.code.len() > MAX_LUA {
            return Err(format!("the script is over {MAX_LUA} bytes"));
        }
        let frames = a.frames.unwrap_or(0);
        if frames > MAX_PRESS_FRAMES {
            return Err(format!("frames must be 0 to {MAX_PRESS_FRAMES}"));
        }
        let s = self.session(&a.session)?;
        let mut s = lock(&s)?;
        // The engine attaches to a core of its own: the session's machine
        // goes into a fresh emulator of the same ROM, the script runs there,
        // and the machine comes back only if the script went through.
        let machine = s
            .env
            .env_mut(0)
            .emulator_mut()
            .snapshot()
            .map_err(|e| e.to_string())?;
        let mut emu = pmd_mgba::Emulator::new(&s.rom).map_err(|e| e.to_string())?;
        emu.restore(&machine).map_err(|e| e.to_string())?;
        let console = Arc::new(Mutex::new((Vec::<String>::new(), 0usize)));
        let sink = {
            let console = Arc::clone(&console);
            Box::new(move |level: pmd_mgba::script::ConsoleLevel, text: &str| {
                if let Ok(mut c) = console.lock() {
                    if c.1 + text.len() <= MAX_CONSOLE {
                        c.1 += text.len();
                        c.0.push(format!("{level:?}: {text}"));
                    }
                }
            })
        };
        let mut host =
            pmd_mgba::script::ScriptHost::new(emu, None, sink).map_err(|e| e.to_string())?;
        host.load_source("run_lua", &a.code)
            .map_err(|e| e.to_string())?;
        for _ in 0..frames {
            host.run_frame().map_err(|e| e.to_string())?;
        }
        let after = host.snapshot().map_err(|e| e.to_string())?;
        drop(host);
        s.env
            .env_mut(0)
            .emulator_mut()
            .restore(&after)
            .map_err(|e| e.to_string())?;
        s.env.resync_env(0).map_err(|e| e.to_string())?;
        let lines = console.lock().map(|c| c.0.clone()).unwrap_or_default();
        Ok(Json(LuaOut {
            console: lines,
            frames,
            observation: observe(&a.session, &s),
        }))
    }

    #[tool(
        description = "Hold raw buttons for a number of frames, then release them (menus, cutscenes, the real game outside the turn loop), and re-read the game state. Returns the observation after."
    )]
    fn press(&self, Parameters(a): Parameters<PressArgs>) -> Result<Json<Observation>, String> {
        let keys = pmd_mgba::Keys::from_str(&a.buttons).map_err(|e| e.to_string())?;
        if a.frames == 0 || a.frames > MAX_PRESS_FRAMES {
            return Err(format!("frames must be 1 to {MAX_PRESS_FRAMES}"));
        }
        let s = self.session(&a.session)?;
        let mut s = lock(&s)?;
        {
            let emu = s.env.env_mut(0).emulator_mut();
            emu.set_keys(keys);
            emu.run_frames(a.frames);
            emu.set_keys(pmd_mgba::Keys::empty());
            emu.run_frame();
        }
        // Re-decode and re-take the fault-isolation checkpoint where the
        // frames left the game.
        s.env.resync_env(0).map_err(|e| e.to_string())?;
        Ok(Json(observe(&a.session, &s)))
    }

    #[tool(
        description = "Write up to 256 bytes of the session's RAM (EWRAM or IWRAM) and re-read the game state. Off unless the server was started with --allow-writes. Returns the observation after the write."
    )]
    fn write_memory(
        &self,
        Parameters(a): Parameters<WriteArgs>,
    ) -> Result<Json<Observation>, String> {
        if !self.limits()?.allow_writes {
            return Err("memory writes are off: start the server with --allow-writes".to_owned());
        }
        let address = parse_address(&a.address)?;
        let text = a.hex.trim();
        if text.is_empty() || text.len() % 2 != 0 || text.len() / 2 > MAX_WRITE {
            return Err(format!(
                "hex must be 1 to {MAX_WRITE} bytes, two hex digits each"
            ));
        }
        if !text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err("hex must be hex digits (0-9, a-f)".to_owned());
        }
        // All ASCII now: every two-byte slice is on character boundaries.
        let bytes = (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16))
            .collect::<Result<Vec<u8>, _>>()
            .map_err(|_| "hex must be hex digits".to_owned())?;
        let (region, offset) = pmd_mgba::Region::locate(address, bytes.len()).ok_or_else(|| {
            format!(
                "0x{address:08x}+{} is not inside EWRAM or IWRAM",
                bytes.len()
            )
        })?;
        let s = self.session(&a.session)?;
        let mut s = lock(&s)?;
        {
            let emu = s.env.env_mut(0).emulator_mut();
            let memory = match region {
                pmd_mgba::Region::Ewram => emu.ewram_mut(),
                pmd_mgba::Region::Iwram => emu.iwram_mut(),
            };
            memory[offset..offset + bytes.len()].copy_from_slice(&bytes);
        }
        // Re-decode and re-take the fault-isolation checkpoint at the
        // written state: a snapshot of it, restored.
        s.env.resync_env(0).map_err(|e| e.to_string())?;
        Ok(Json(observe(&a.session, &s)))
    }

    fn limits(&self) -> Result<Limits, String> {
        Ok(self
            .sessions
            .lock()
            .map_err(|_| "the session table failed".to_owned())?
            .limits)
    }

    fn max_branches(&self) -> Result<usize, String> {
        Ok(self
            .sessions
            .lock()
            .map_err(|_| "the session table failed".to_owned())?
            .limits
            .max_branches)
    }
}

/// Plays candidate `plans[i]` on scratch emulator `i`, all from `start`,
/// in lockstep on the scratch pool; an emulator whose plan is over (or
/// whose episode ended) waits, and its outcome is kept from then on.
fn play_candidates(
    scratch: &mut pmd_rollout::VecEnv,
    start: &pmd_game::env::EnvSnapshot,
    plans: &[Vec<Action>],
) -> Result<Vec<Outcome>, String> {
    let n = scratch.len();
    for i in 0..n {
        scratch.restore_env(i, start).map_err(|e| e.to_string())?;
    }
    let mut outcomes: Vec<Outcome> = plans
        .iter()
        .map(|_| Outcome {
            steps: 0,
            total_reward: 0.0,
            terminated: false,
            truncated: false,
            reason: None,
            floor: 0,
            hp: 0,
        })
        .collect();
    let mut active: Vec<bool> = plans.iter().map(|p| !p.is_empty()).collect();
    let longest = plans.iter().map(Vec::len).max().unwrap_or(0);
    let mut actions = vec![Action::Wait; n];
    for round in 0..longest {
        for (i, a) in actions.iter_mut().enumerate() {
            *a = match plans.get(i) {
                Some(plan) if active[i] => plan[round],
                _ => Action::Wait,
            };
        }
        scratch.step(&actions).map_err(|e| e.to_string())?;
        let infos = scratch.infos();
        for (i, out) in outcomes.iter_mut().enumerate() {
            if !active[i] {
                continue;
            }
            let info = infos[i];
            out.steps += 1;
            out.total_reward += info.reward;
            (out.floor, out.hp) = (info.state.floor, info.state.hp);
            if info.terminated || info.truncated {
                out.terminated = info.terminated;
                out.truncated = info.truncated;
                out.reason = info.reason.map(|r| r.code().to_owned());
                active[i] = false;
            } else if round + 1 >= plans[i].len() {
                active[i] = false;
            }
        }
    }
    for (i, out) in outcomes.iter_mut().enumerate() {
        if plans[i].is_empty() {
            let state = scratch.env(i).state();
            out.floor = state.floor;
            out.hp = state.leader().map_or(0, |l| l.hp);
        }
    }
    Ok(outcomes)
}

fn branch_list(
    id: &str,
    branches: &BTreeMap<String, pmd_game::env::EnvSnapshot>,
    max: usize,
) -> BranchList {
    BranchList {
        session: id.to_owned(),
        branches: branches.keys().cloned().collect(),
        max_branches: max,
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for PmdMcp {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_resources()
                .enable_prompts()
                .build(),
        )
        .with_server_info(
            Implementation::new("pmd-agent", env!("CARGO_PKG_VERSION"))
                .with_title("pmd-agent: Pokémon Mystery Dungeon emulators"),
        )
        .with_instructions(
            "Play Pokémon Mystery Dungeon (or the bundled test dungeon) turn by turn. \
             session_new opens an emulator; observe shows the floor as text (view, legend) and \
             the legal actions; act takes one turn. Reach the stairs (>) and take_stairs to \
             descend: each floor is +1 reward. branch_save/branch_restore keep and return to exact \
             states in memory; lookahead tries action sequences without moving the session.",
        )
    }
    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        Ok(ListResourcesResult::with_all_items(vec![
            Resource::new(resources::RAM_MAP_URI, "ram-map")
                .with_title("PMD Red RAM map")
                .with_description(
                    "The addresses and Dungeon struct offsets pmd-agent's decoder reads",
                )
                .with_mime_type("text/markdown"),
            Resource::new(resources::ACTIONS_URI, "actions")
                .with_title("Action table")
                .with_description("The 19 actions act takes, by index and name")
                .with_mime_type("text/markdown"),
        ]))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        let text = match request.uri.as_str() {
            resources::RAM_MAP_URI => resources::ram_map(),
            resources::ACTIONS_URI => resources::actions(),
            other => {
                return Err(ErrorData::resource_not_found(
                    format!("no resource {other} (pmd://ram-map, pmd://actions)"),
                    None,
                ))
            }
        };
        Ok(ReadResourceResult::new(vec![ResourceContents::text(text, request.uri)]).into())
    }

    async fn list_prompts(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, ErrorData> {
        Ok(ListPromptsResult::with_all_items(vec![Prompt::new(
            "play_floor",
            Some("How to play a floor of the dungeon through these tools"),
            None,
        )]))
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, ErrorData> {
        if request.name != "play_floor" {
            return Err(ErrorData::invalid_params(
                format!("no prompt {:?} (play_floor)", request.name),
                None,
            ));
        }
        Ok(GetPromptResult::new(vec![PromptMessage::new_text(
            Role::User,
            resources::PLAY_FLOOR,
        )])
        .with_description("How to play a floor")
        .into())
    }
}
