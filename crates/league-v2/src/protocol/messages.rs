//! The league.v2 message bodies (the fields besides the envelope), one type
//! per message, plus the method names that carry them.
//!
//! Deserialising a body is its validation: unknown fields are ignored,
//! missing ones give `E003`, mistyped ones `E004`
//! ([`ProtocolError::from_serde`](crate::error::ProtocolError::from_serde)).

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// Message type names.
pub mod types {
    /// Player registration request.
    pub const LEAGUE_REGISTER_REQUEST: &str = "LEAGUE_REGISTER_REQUEST";
    /// Player registration answer.
    pub const LEAGUE_REGISTER_RESPONSE: &str = "LEAGUE_REGISTER_RESPONSE";
    /// Referee registration request.
    pub const REFEREE_REGISTER_REQUEST: &str = "REFEREE_REGISTER_REQUEST";
    /// Referee registration answer.
    pub const REFEREE_REGISTER_RESPONSE: &str = "REFEREE_REGISTER_RESPONSE";
    /// The matches of a round.
    pub const ROUND_ANNOUNCEMENT: &str = "ROUND_ANNOUNCEMENT";
    /// A referee invites a player to a match.
    pub const GAME_INVITATION: &str = "GAME_INVITATION";
    /// A player accepts an invitation.
    pub const GAME_JOIN_ACK: &str = "GAME_JOIN_ACK";
    /// A referee asks for an even/odd choice.
    pub const CHOOSE_PARITY_CALL: &str = "CHOOSE_PARITY_CALL";
    /// A player's even/odd choice.
    pub const CHOOSE_PARITY_RESPONSE: &str = "CHOOSE_PARITY_RESPONSE";
    /// A referee asks for a dungeon action (pmd_dungeon; our extension).
    pub const CHOOSE_ACTION_CALL: &str = "CHOOSE_ACTION_CALL";
    /// A player's dungeon action (pmd_dungeon; our extension).
    pub const CHOOSE_ACTION_RESPONSE: &str = "CHOOSE_ACTION_RESPONSE";
    /// The end of a match, to its players.
    pub const GAME_OVER: &str = "GAME_OVER";
    /// A referee reports a result to the manager.
    pub const MATCH_RESULT_REPORT: &str = "MATCH_RESULT_REPORT";
    /// The manager acknowledges a result.
    pub const MATCH_RESULT_ACK: &str = "MATCH_RESULT_ACK";
    /// The standings after a round.
    pub const LEAGUE_STANDINGS_UPDATE: &str = "LEAGUE_STANDINGS_UPDATE";
    /// A round is over.
    pub const ROUND_COMPLETED: &str = "ROUND_COMPLETED";
    /// The league is over.
    pub const LEAGUE_COMPLETED: &str = "LEAGUE_COMPLETED";
    /// A query to the manager.
    pub const LEAGUE_QUERY: &str = "LEAGUE_QUERY";
    /// The manager's answer to a query.
    pub const LEAGUE_QUERY_RESPONSE: &str = "LEAGUE_QUERY_RESPONSE";
    /// A league-level error.
    pub const LEAGUE_ERROR: &str = "LEAGUE_ERROR";
    /// A game-level error.
    pub const GAME_ERROR: &str = "GAME_ERROR";
    /// The manager gives a registered remote referee one match to play (our
    /// extension: the course text leaves how a referee learns its matches
    /// open).
    pub const MATCH_ASSIGNMENT: &str = "MATCH_ASSIGNMENT";
    /// Asks the manager to start the league now (our extension; admin token).
    pub const START_LEAGUE: &str = "START_LEAGUE";
    /// Tells an agent to stop.
    pub const SHUTDOWN_COMMAND: &str = "SHUTDOWN_COMMAND";
    /// Our acknowledgement of a notification.
    pub const MESSAGE_ACK: &str = "MESSAGE_ACK";
}

/// Which message types a JSON-RPC method may carry (the manager checks this
/// on what it receives; players, like the public ones, dispatch on the
/// message type alone).
pub fn method_carries(method: &str, message_type: &str) -> bool {
    use types::*;
    let allowed: &[&str] = match method {
        "register_player" => &[LEAGUE_REGISTER_REQUEST],
        "register_referee" => &[REFEREE_REGISTER_REQUEST],
        "report_match_result" => &[MATCH_RESULT_REPORT],
        "league_query" => &[LEAGUE_QUERY],
        "start_league" => &[START_LEAGUE],
        "assign_match" => &[MATCH_ASSIGNMENT],
        "notify_round" => &[ROUND_ANNOUNCEMENT],
        "handle_game_invitation" => &[GAME_INVITATION],
        "choose_parity" | "parity_choose" => &[CHOOSE_PARITY_CALL],
        "choose_action" => &[CHOOSE_ACTION_CALL],
        "notify_match_result" => &[GAME_OVER],
        "update_standings" => &[LEAGUE_STANDINGS_UPDATE],
        "notify_round_completed" => &[ROUND_COMPLETED],
        "notify_league_completed" => &[LEAGUE_COMPLETED],
        "notify_error" => &[LEAGUE_ERROR, GAME_ERROR],
        "shutdown" => &[SHUTDOWN_COMMAND],
        _ => &[],
    };
    allowed.contains(&message_type)
}

/// Accepts a round id as a number, a numeric string, or a string ending in
/// digits (`"R3"`), since public managers differ.
fn de_round_id<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    let v = Value::deserialize(d)?;
    let parsed = match &v {
        Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
        Value::String(s) => {
            let digits: String = s.chars().rev().take_while(char::is_ascii_digit).collect();
            digits.chars().rev().collect::<String>().parse().ok()
        }
        _ => None,
    };
    parsed.ok_or_else(|| serde::de::Error::custom(format!("invalid type: round_id {v}")))
}

/// `player_meta` of a registration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlayerMeta {
    /// Name shown in standings.
    pub display_name: String,
    /// The player's software version.
    pub version: String,
    /// Games it can play (`even_odd`, `pmd_dungeon`).
    pub game_types: Vec<String>,
    /// Where the league reaches it (`http://127.0.0.1:8101/mcp`).
    pub contact_endpoint: String,
}

/// `LEAGUE_REGISTER_REQUEST`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeagueRegisterRequest {
    /// Who registers.
    pub player_meta: PlayerMeta,
}

/// `ACCEPTED` or `REJECTED`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum RegistrationStatus {
    /// Registered.
    Accepted,
    /// Not registered (see `reason`).
    Rejected,
}

/// `LEAGUE_REGISTER_RESPONSE`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeagueRegisterResponse {
    /// Accepted or not.
    pub status: RegistrationStatus,
    /// The id the player is known by (its own, from `sender`, when valid).
    pub player_id: Option<String>,
    /// The secret for later messages.
    pub auth_token: Option<String>,
    /// The league.
    pub league_id: String,
    /// Why it was rejected.
    pub reason: Option<String>,
}

/// `referee_meta` of a referee registration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RefereeMeta {
    /// Name.
    pub display_name: String,
    /// Software version.
    pub version: String,
    /// Games it can referee.
    pub game_types: Vec<String>,
    /// Where it is reached.
    pub contact_endpoint: String,
    /// How many matches it runs at once.
    pub max_concurrent_matches: u32,
}

/// `REFEREE_REGISTER_REQUEST`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RefereeRegisterRequest {
    /// Who registers.
    pub referee_meta: RefereeMeta,
}

/// `REFEREE_REGISTER_RESPONSE`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RefereeRegisterResponse {
    /// Accepted or not.
    pub status: RegistrationStatus,
    /// The referee's id.
    pub referee_id: Option<String>,
    /// The secret for later messages.
    pub auth_token: Option<String>,
    /// The league.
    pub league_id: String,
    /// Why it was rejected.
    pub reason: Option<String>,
}

/// One match of a `ROUND_ANNOUNCEMENT`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[allow(non_snake_case)]
pub struct AnnouncedMatch {
    /// `R1M1`.
    pub match_id: String,
    /// The game.
    pub game_type: String,
    /// First player.
    pub player_A_id: String,
    /// Second player.
    pub player_B_id: String,
    /// Where its referee is reached.
    pub referee_endpoint: String,
}

/// `ROUND_ANNOUNCEMENT`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoundAnnouncement {
    /// The league.
    pub league_id: String,
    /// The round (1-based).
    #[serde(deserialize_with = "de_round_id")]
    pub round_id: u32,
    /// Its matches.
    pub matches: Vec<AnnouncedMatch>,
}

/// `PLAYER_A` or `PLAYER_B`; read in any case (the best-known public
/// referee sends `player_a`, against its own schema), written upper case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum MatchRole {
    /// The first player.
    #[serde(rename = "PLAYER_A")]
    PlayerA,
    /// The second player.
    #[serde(rename = "PLAYER_B")]
    PlayerB,
}

impl<'de> Deserialize<'de> for MatchRole {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<MatchRole, D::Error> {
        let text = String::deserialize(d)?;
        match text.to_ascii_uppercase().as_str() {
            "PLAYER_A" => Ok(MatchRole::PlayerA),
            "PLAYER_B" => Ok(MatchRole::PlayerB),
            _ => Err(serde::de::Error::custom(format!(
                "role_in_match {text:?} is neither PLAYER_A nor PLAYER_B"
            ))),
        }
    }
}

/// The terms of a pmd_dungeon match, sent with its invitation (our
/// extension): a player hosting its own copy of the dungeon replays it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DungeonTerms {
    /// The dungeon seed both players play.
    pub seed: u64,
    /// Turns each player gets.
    pub turn_budget: u32,
    /// Which dungeon (`DungeonFactory::descriptor`), so a mirror can check it
    /// plays the same one.
    pub start: String,
}

/// `GAME_INVITATION`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GameInvitation {
    /// The league.
    pub league_id: String,
    /// The round.
    #[serde(deserialize_with = "de_round_id")]
    pub round_id: u32,
    /// The match.
    pub match_id: String,
    /// The game.
    pub game_type: String,
    /// Which side.
    pub role_in_match: MatchRole,
    /// The opponent.
    pub opponent_id: String,
    /// pmd_dungeon only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dungeon: Option<DungeonTerms>,
}

/// `GAME_JOIN_ACK`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GameJoinAck {
    /// The match.
    pub match_id: String,
    /// Who joins.
    pub player_id: String,
    /// When the invitation arrived.
    pub arrival_timestamp: String,
    /// Whether the player plays.
    pub accept: bool,
}

/// Wins, losses and draws so far (a missing count reads as 0: the
/// best-known public referee sends `your_standings: {}`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Record {
    /// Wins.
    pub wins: u32,
    /// Losses.
    pub losses: u32,
    /// Draws.
    pub draws: u32,
}

/// `context` of a `CHOOSE_PARITY_CALL`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParityContext {
    /// The opponent.
    pub opponent_id: String,
    /// The round.
    #[serde(deserialize_with = "de_round_id")]
    pub round_id: u32,
    /// The player's record so far.
    pub your_standings: Record,
}

/// `CHOOSE_PARITY_CALL`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChooseParityCall {
    /// The match.
    pub match_id: String,
    /// Who is asked.
    pub player_id: String,
    /// The game.
    pub game_type: String,
    /// What the player may want to know.
    pub context: ParityContext,
    /// Answer before this instant (UTC ISO-8601).
    pub deadline: String,
}

/// `even` or `odd`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Parity {
    /// Even.
    Even,
    /// Odd.
    Odd,
}

impl Parity {
    /// The parity of `n`.
    pub fn of(n: u32) -> Parity {
        if n.is_multiple_of(2) {
            Parity::Even
        } else {
            Parity::Odd
        }
    }

    /// Parses `even` / `odd`, any case (peers differ).
    pub fn parse_loose(s: &str) -> Option<Parity> {
        if s.eq_ignore_ascii_case("even") {
            Some(Parity::Even)
        } else if s.eq_ignore_ascii_case("odd") {
            Some(Parity::Odd)
        } else {
            None
        }
    }

    /// `"even"` or `"odd"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Parity::Even => "even",
            Parity::Odd => "odd",
        }
    }
}

/// `CHOOSE_PARITY_RESPONSE`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChooseParityResponse {
    /// The match.
    pub match_id: String,
    /// Who chooses.
    pub player_id: String,
    /// The choice.
    pub parity_choice: Parity,
}

/// `CHOOSE_ACTION_CALL` (pmd_dungeon).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChooseActionCall {
    /// The match.
    pub match_id: String,
    /// Who is asked.
    pub player_id: String,
    /// The game.
    pub game_type: String,
    /// Turns the player has taken so far.
    pub turn: u32,
    /// The decoded dungeon (the shape of `pmd-agent inspect --json`).
    pub state: Value,
    /// The actions allowed now.
    pub legal_actions: Vec<String>,
    /// The action the referee applied last turn (`null` on the first).
    #[serde(default)]
    pub last_action: Option<String>,
    /// Answer before this instant.
    pub deadline: String,
}

/// `CHOOSE_ACTION_RESPONSE` (pmd_dungeon).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChooseActionResponse {
    /// The match.
    pub match_id: String,
    /// Who acts.
    pub player_id: String,
    /// One of the legal actions.
    pub action: String,
}

/// How a match ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum GameStatus {
    /// Someone won.
    #[serde(rename = "WIN")]
    Win,
    /// Nobody won.
    #[serde(rename = "DRAW")]
    Draw,
    /// A player did not answer (or broke the rules) and lost.
    #[serde(rename = "TECHNICAL_LOSS")]
    TechnicalLoss,
}

impl GameStatus {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            GameStatus::Win => "WIN",
            GameStatus::Draw => "DRAW",
            GameStatus::TechnicalLoss => "TECHNICAL_LOSS",
        }
    }

    /// Parses the wire name.
    pub fn parse(s: &str) -> Option<GameStatus> {
        match s {
            "WIN" => Some(GameStatus::Win),
            "DRAW" => Some(GameStatus::Draw),
            "TECHNICAL_LOSS" => Some(GameStatus::TechnicalLoss),
            _ => None,
        }
    }
}

/// `game_result` of a `GAME_OVER`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GameResult {
    /// How it ended.
    pub status: GameStatus,
    /// The winner, if any.
    pub winner_player_id: Option<String>,
    /// even_odd: the number drawn.
    #[serde(default)]
    pub drawn_number: Option<u32>,
    /// even_odd: its parity.
    #[serde(default)]
    pub number_parity: Option<Parity>,
    /// Each player's choice (even_odd) or summary (pmd_dungeon).
    pub choices: BTreeMap<String, Value>,
    /// Why it ended so.
    pub reason: String,
}

/// `GAME_OVER`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GameOver {
    /// The match.
    pub match_id: String,
    /// The game.
    pub game_type: String,
    /// The result.
    pub game_result: GameResult,
}

/// `result` of a `MATCH_RESULT_REPORT`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MatchResult {
    /// The winner, or `null` for a draw (or a double technical loss).
    pub winner: Option<String>,
    /// League points per player.
    pub score: BTreeMap<String, u32>,
    /// Game-specific details.
    pub details: Value,
}

/// `MATCH_RESULT_REPORT`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MatchResultReport {
    /// The league.
    pub league_id: String,
    /// The round.
    #[serde(deserialize_with = "de_round_id")]
    pub round_id: u32,
    /// The match.
    pub match_id: String,
    /// The game.
    pub game_type: String,
    /// The result.
    pub result: MatchResult,
    /// Each player's moves (our extension: what the manager stores for the
    /// match's replay; absent from other referees' reports).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub moves: Vec<crate::store::PlayerMoves>,
}

/// One side of a [`MatchAssignment`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssignedSeat {
    /// The player.
    pub player_id: String,
    /// `native` (the referee runs the policy itself) or `remote`.
    pub kind: String,
    /// Native: the policy spec; remote: the player's contact endpoint.
    pub spec: String,
    /// Remote: the player's token, which the referee's messages carry.
    #[serde(default)]
    pub auth_token: Option<String>,
    /// Its record so far (sent on in `CHOOSE_PARITY_CALL`).
    #[serde(default)]
    pub record: Record,
}

/// `MATCH_ASSIGNMENT`: one match for a remote referee to play and report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MatchAssignment {
    /// The league.
    pub league_id: String,
    /// The league seed (native players' random streams derive from it).
    pub league_seed: u64,
    /// The round.
    #[serde(deserialize_with = "de_round_id")]
    pub round_id: u32,
    /// The match.
    pub match_id: String,
    /// The game.
    pub game_type: String,
    /// The match seed.
    pub seed: u64,
    /// pmd_dungeon: turns per player.
    #[serde(default)]
    pub turn_budget: u32,
    /// Points per outcome (for the report's score).
    pub points: crate::standings::Points,
    /// Side A.
    pub player_a: AssignedSeat,
    /// Side B.
    pub player_b: AssignedSeat,
    /// The `/mcp` URL the result goes to.
    pub report_to: String,
}

/// `MATCH_RESULT_ACK`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MatchResultAck {
    /// The match.
    pub match_id: String,
    /// `recorded`, or `duplicate` when it was already recorded.
    pub status: String,
}

/// One row of the standings on the wire.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StandingEntry {
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
    /// League points.
    pub points: u32,
}

/// `LEAGUE_STANDINGS_UPDATE`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StandingsUpdate {
    /// The league.
    pub league_id: String,
    /// After this round.
    #[serde(deserialize_with = "de_round_id")]
    pub round_id: u32,
    /// The table.
    pub standings: Vec<StandingEntry>,
}

/// `ROUND_COMPLETED`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoundCompleted {
    /// The league.
    pub league_id: String,
    /// The round.
    #[serde(deserialize_with = "de_round_id")]
    pub round_id: u32,
    /// Matches it had.
    pub matches_completed: u32,
    /// The next round, if any.
    pub next_round_id: Option<u32>,
    /// Counts by outcome.
    pub summary: Value,
}

/// The champion of a `LEAGUE_COMPLETED`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Champion {
    /// The player.
    pub player_id: String,
    /// Its name.
    pub display_name: String,
    /// Its points.
    pub points: u32,
}

/// `LEAGUE_COMPLETED`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeagueCompleted {
    /// The league.
    pub league_id: String,
    /// Rounds played.
    pub total_rounds: u32,
    /// Matches played.
    pub total_matches: u32,
    /// The winner of the league.
    pub champion: Option<Champion>,
    /// The final table.
    pub final_standings: Vec<StandingEntry>,
}

/// What a `LEAGUE_QUERY` asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum QueryType {
    /// The current standings.
    #[serde(rename = "GET_STANDINGS")]
    GetStandings,
    /// The sender's next match.
    #[serde(rename = "GET_NEXT_MATCH")]
    GetNextMatch,
}

/// `LEAGUE_QUERY`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeagueQuery {
    /// What is asked.
    pub query_type: QueryType,
    /// For `GET_NEXT_MATCH`: whose (must be the sender itself).
    #[serde(default)]
    pub player_id: Option<String>,
}

/// `LEAGUE_QUERY_RESPONSE`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeagueQueryResponse {
    /// What was asked.
    pub query_type: QueryType,
    /// The league.
    pub league_id: String,
    /// The answer.
    pub data: Value,
}

/// `retry_info` of an error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RetryInfo {
    /// Whether resending may succeed.
    pub retryable: bool,
    /// Wait at least this long first.
    pub retry_after_ms: Option<u64>,
}

/// `LEAGUE_ERROR` / `GAME_ERROR`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// `E001`...
    pub error_code: String,
    /// What went wrong.
    pub error_description: String,
    /// Whom it concerns.
    pub affected_player: Option<String>,
    /// What to do.
    pub action_required: String,
    /// Whether and when to retry.
    pub retry_info: RetryInfo,
    /// What happens now.
    pub consequence: String,
}

/// `START_LEAGUE` (our extension; carries the admin token as `auth_token`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StartLeague {}

/// The generic answer to a notification.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageAck {
    /// `ok`.
    pub status: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_the_public_referee_sends_is_read() {
        // role_in_match in lower case, against its own schema
        for (text, role) in [
            ("player_a", MatchRole::PlayerA),
            ("PLAYER_B", MatchRole::PlayerB),
            ("Player_B", MatchRole::PlayerB),
        ] {
            let r: MatchRole = serde_json::from_value(serde_json::json!(text)).unwrap();
            assert_eq!(r, role);
        }
        assert!(serde_json::from_value::<MatchRole>(serde_json::json!("player_c")).is_err());
        assert_eq!(
            serde_json::to_value(MatchRole::PlayerA).unwrap(),
            "PLAYER_A"
        );
        // your_standings: {}
        let ctx: ParityContext = serde_json::from_value(serde_json::json!(
            {"opponent_id": "P02", "round_id": 1, "your_standings": {}}
        ))
        .unwrap();
        assert_eq!(ctx.your_standings, Record::default());
    }

    #[test]
    fn round_ids_are_read_liberally() {
        for (v, want) in [("3", 3), ("\"4\"", 4), ("\"R5\"", 5), ("\"round_12\"", 12)] {
            let j = format!(r#"{{"league_id":"L","round_id":{v},"matches":[]}}"#);
            let r: RoundAnnouncement = serde_json::from_str(&j).unwrap();
            assert_eq!(r.round_id, want);
        }
        let bad = r#"{"league_id":"L","round_id":true,"matches":[]}"#;
        assert!(serde_json::from_str::<RoundAnnouncement>(bad).is_err());
    }

    #[test]
    fn methods_carry_their_types() {
        assert!(method_carries(
            "register_player",
            types::LEAGUE_REGISTER_REQUEST
        ));
        assert!(method_carries("parity_choose", types::CHOOSE_PARITY_CALL));
        assert!(!method_carries("register_player", types::LEAGUE_QUERY));
        assert!(!method_carries("nope", types::LEAGUE_QUERY));
    }

    #[test]
    fn wire_names() {
        let r = GameResult {
            status: GameStatus::TechnicalLoss,
            winner_player_id: Some("P1".into()),
            drawn_number: Some(7),
            number_parity: Some(Parity::Odd),
            choices: BTreeMap::new(),
            reason: "timeout".into(),
        };
        let j = serde_json::to_value(&r).unwrap();
        assert_eq!(j["status"], "TECHNICAL_LOSS");
        assert_eq!(j["number_parity"], "odd");
        assert_eq!(Parity::parse_loose("EVEN"), Some(Parity::Even));
        assert_eq!(Parity::parse_loose("evens"), None);
        let role: MatchRole = serde_json::from_str("\"PLAYER_B\"").unwrap();
        assert_eq!(role, MatchRole::PlayerB);
    }
}
