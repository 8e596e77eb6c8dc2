//! What the read API answers, as data with OpenAPI schemas
//! (`utoipa::ToSchema`). Field names are the JSON names.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

/// A refusal: `{"error": {"code", "message"}}`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ApiError {
    /// What went wrong.
    pub error: ErrorBody,
}

/// The body of an [`ApiError`].
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    /// `not_found`, `bad_request`, `unauthorized`, `conflict`,
    /// `unavailable` or `internal`.
    pub code: String,
    /// One line for a person.
    pub message: String,
}

/// The leagues this service knows (running here or stored).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LeagueList {
    /// Oldest first.
    pub leagues: Vec<LeagueSummary>,
}

/// A league at a glance.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LeagueSummary {
    /// `L1`, `L2`, …
    pub id: String,
    /// `even_odd` or `pmd_dungeon`.
    pub game: String,
    /// `registering`, `running` or `completed`.
    pub status: String,
    /// Players registered.
    pub players: u32,
    /// Rounds scheduled (0 before the league starts).
    pub rounds: u32,
    /// Rounds completed.
    pub rounds_completed: u32,
    /// Matches scheduled.
    pub matches: u32,
    /// Matches with a recorded result.
    pub matches_played: u32,
    /// Played by this process now (it has live events); `false` for a
    /// league only in the database.
    pub live: bool,
}

/// A league with its settings.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LeagueDetail {
    /// The summary's fields.
    #[serde(flatten)]
    pub summary: LeagueSummary,
    /// The settings it was started with (as stored).
    #[schema(value_type = Object)]
    pub settings: Value,
    /// First in the standings once a match is recorded.
    pub champion: Option<ChampionOut>,
}

/// The leader.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ChampionOut {
    /// Its id.
    pub player_id: String,
    /// Its name.
    pub display_name: String,
    /// Its points.
    pub points: u32,
}

/// The standings with ratings.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StandingsOut {
    /// The league.
    pub league_id: String,
    /// Results they are computed from.
    pub matches_played: u32,
    /// Best first.
    pub standings: Vec<StandingOut>,
}

/// One row of the standings.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StandingOut {
    /// 1-based rank.
    pub rank: u32,
    /// The player.
    pub player_id: String,
    /// Its name.
    pub display_name: String,
    /// Matches played.
    pub played: u32,
    /// Wins.
    pub wins: u32,
    /// Draws.
    pub draws: u32,
    /// Losses (technical ones included).
    pub losses: u32,
    /// Technical losses.
    pub technical_losses: u32,
    /// Points.
    pub points: u32,
    /// Bradley–Terry rating (Elo scale); absent until it can be fitted.
    pub rating: Option<f64>,
    /// Its 95 % bootstrap interval, low end.
    pub rating_low: Option<f64>,
    /// Its 95 % bootstrap interval, high end.
    pub rating_high: Option<f64>,
    /// Glicko-2 rating after the completed rounds.
    pub glicko: Option<f64>,
    /// Its deviation.
    pub glicko_deviation: Option<f64>,
}

/// One page of matches.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MatchPage {
    /// Matches that pass the filters.
    pub total: u32,
    /// This page (from 1).
    pub page: u32,
    /// Page size.
    pub per_page: u32,
    /// In schedule order (round, then match).
    pub matches: Vec<MatchSummary>,
}

/// A match at a glance.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MatchSummary {
    /// `R1M1`, …
    pub match_id: String,
    /// Its round.
    pub round: u32,
    /// Side A.
    pub player_a: String,
    /// Side B.
    pub player_b: String,
    /// Its referee.
    pub referee_id: String,
    /// `scheduled`, `playing` or `finished`.
    pub state: String,
    /// `WIN`, `DRAW` or `TECHNICAL_LOSS` once finished.
    pub status: Option<String>,
    /// The winner, if any.
    pub winner: Option<String>,
}

/// Where a match stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MatchState {
    /// Not started.
    Scheduled,
    /// Being played now (only a league live in this process knows).
    Playing,
    /// Its result is recorded.
    Finished,
}

/// A match with its moves.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MatchDetail {
    /// The summary's fields.
    #[serde(flatten)]
    pub summary: MatchSummary,
    /// Every recorded move, each player's in order.
    pub moves: Vec<MoveOut>,
    /// The referee's result details once finished.
    #[schema(value_type = Option<Object>)]
    pub result: Option<Value>,
    /// pmd_dungeon, finished: the replay as an animated GIF.
    pub replay_url: Option<String>,
    /// pmd_dungeon, playing: the live frames (`multipart/x-mixed-replace`
    /// PNGs, usable as an image source).
    pub live_url: Option<String>,
}

/// One move.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MoveOut {
    /// Who moved.
    pub player_id: String,
    /// Its n-th move (from 1).
    pub turn: u32,
    /// The action's name (`even`/`odd`; a dungeon action).
    pub action: String,
}

/// The players of a league.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PlayerList {
    /// In registration order.
    pub players: Vec<PlayerOut>,
}

/// A player.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PlayerOut {
    /// Its id.
    pub player_id: String,
    /// Its name.
    pub display_name: String,
    /// `native` (a policy in the manager) or `remote` (over HTTP).
    pub kind: String,
}

/// Glicko-2 ratings after each completed round.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RatingHistory {
    /// Oldest round first.
    pub rounds: Vec<RoundRatings>,
}

/// The ratings after one round.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RoundRatings {
    /// The round.
    pub round: u32,
    /// One per player.
    pub ratings: Vec<RatingOut>,
}

/// A player's rating.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RatingOut {
    /// The player.
    pub player_id: String,
    /// Glicko-2 rating.
    pub rating: f64,
    /// Its deviation.
    pub deviation: f64,
}

/// A league to create (`POST /api/leagues`, admin only). Unset fields
/// take the service's defaults.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateLeague {
    /// `even_odd` or `pmd_dungeon`.
    pub game: String,
    /// Round-robin cycles (1–100).
    #[schema(minimum = 1, maximum = 100)]
    pub rounds: Option<u32>,
    /// League seed.
    pub seed: Option<u64>,
    /// Native players' policy specs (`random`, `heuristic`, …).
    #[serde(default)]
    pub natives: Vec<String>,
    /// Start once this many players are registered (0: only on
    /// `START_LEAGUE`).
    #[schema(minimum = 0, maximum = 1024)]
    pub start_when: Option<u32>,
    /// pmd_dungeon: turns per player (1–100000).
    #[schema(minimum = 1, maximum = 100000)]
    pub turns: Option<u32>,
}

/// Makes a non-finite number absent (JSON has no NaN).
pub fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}
