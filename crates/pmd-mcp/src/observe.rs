//! What `observe` (and every tool that moves a session) returns: the
//! decoded state as structured data, the legal actions, and a text window
//! of the map around the leader, which an LLM reads better than RAM.

use schemars::JsonSchema;
use serde::Serialize;

use crate::sessions::Session;
use pmd_game::env::Action;

/// Cells each way from the leader in the text view.
const VIEW_RADIUS: i32 = 7;

/// How to read `view`.
pub(crate) const LEGEND: &str = "@ you, P teammate, m wild monster, * item, ^ trap, > stairs, . floor, ~ water, # wall, blank: not yet seen; north is up";

/// A session as the agent sees it.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct Observation {
    /// The session.
    pub(crate) session: String,
    /// Episode number (0 first; `reset` starts the next).
    pub(crate) episode: u64,
    /// Steps taken in this episode.
    pub(crate) step: u32,
    /// Dungeon floor.
    pub(crate) floor: u8,
    /// The deepest floor of this episode so far.
    pub(crate) max_floor: u8,
    /// The episode has ended: only `reset` (or `branch_restore`) goes on.
    pub(crate) episode_over: bool,
    /// The actions legal now, by name (`act` takes these).
    pub(crate) legal_actions: Vec<String>,
    /// The map around the leader, one string per row (15 x 15).
    pub(crate) view: Vec<String>,
    /// How to read `view`.
    pub(crate) legend: String,
    /// The decoded game state: leader, team, visible monsters, items,
    /// traps, stairs, the whole known map's rows.
    pub(crate) state: serde_json::Value,
}

/// Observes session `id`.
pub(crate) fn observe(id: &str, s: &Session) -> Observation {
    let env = s.env.env(0);
    let state = env.state();
    let info = s.env.infos()[0];
    let batch = s.env.batch();
    let legal_actions = Action::all()
        .filter(|a| batch.masks[a.index()])
        .map(|a| a.name().to_owned())
        .collect();
    Observation {
        session: id.to_owned(),
        episode: info.episode,
        step: env.episode_steps(),
        floor: state.floor,
        max_floor: s.env.max_floor(0),
        episode_over: s.env.awaiting_reset(0) || !env.is_running(),
        legal_actions,
        view: view(state),
        legend: LEGEND.to_owned(),
        state: pmd_game::state_json(Some(state)),
    }
}

/// The 15 x 15 text window centred on the leader (blank outside the map).
fn view(state: &pmd_game::DungeonState) -> Vec<String> {
    let Some(leader) = state.leader() else {
        return Vec::new();
    };
    let rows: Vec<Vec<char>> = state
        .ascii_rows()
        .iter()
        .map(|r| r.chars().collect())
        .collect();
    let (cx, cy) = (i32::from(leader.x), i32::from(leader.y));
    (cy - VIEW_RADIUS..=cy + VIEW_RADIUS)
        .map(|y| {
            (cx - VIEW_RADIUS..=cx + VIEW_RADIUS)
                .map(|x| {
                    usize::try_from(y)
                        .ok()
                        .and_then(|y| rows.get(y))
                        .and_then(|row| usize::try_from(x).ok().and_then(|x| row.get(x)))
                        .copied()
                        .unwrap_or(' ')
                })
                .collect()
        })
        .collect()
}
