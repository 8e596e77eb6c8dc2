//! The read API's handlers, each documented with `#[utoipa::path]` (the
//! OpenAPI document is generated from these attributes and the models).
//! Path and query parameters are read by hand so that every refusal is a
//! JSON [`ApiError`], as documented.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::stream::{self, Stream};
use subtle::ConstantTimeEq;
use tokio::sync::broadcast::error::RecvError;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::events::{Event, EventLog};
use super::model::*;
use super::LeagueService;
use crate::game::GameType;
use crate::manager::{LeagueSettings, Mode};
use crate::report;
use crate::store::{LeagueRow, ScheduledMatch, StoreError};

pub(super) fn router(r: OpenApiRouter<LeagueService>) -> OpenApiRouter<LeagueService> {
    r.routes(routes!(list_leagues, create_league))
        .routes(routes!(get_league))
        .routes(routes!(standings))
        .routes(routes!(matches))
        .routes(routes!(match_detail))
        .routes(routes!(replay_gif))
        .routes(routes!(live_frames))
        .routes(routes!(players))
        .routes(routes!(rating_history))
        .routes(routes!(events))
}

/// A JSON error answer.
pub(super) fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        axum::Json(ApiError {
            error: ErrorBody {
                code: code.to_owned(),
                message: message.to_owned(),
            },
        }),
    )
        .into_response()
}

/// A refusal on its way to becoming an [`ApiError`] answer.
pub(super) struct Refusal {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        error(self.status, self.code, &self.message)
    }
}

fn bad_request(message: impl Into<String>) -> Refusal {
    Refusal {
        status: StatusCode::BAD_REQUEST,
        code: "bad_request",
        message: message.into(),
    }
}

fn not_found(what: impl Into<String>) -> Refusal {
    Refusal {
        status: StatusCode::NOT_FOUND,
        code: "not_found",
        message: what.into(),
    }
}

fn internal(e: impl std::fmt::Display) -> Refusal {
    tracing::error!("api: {e}");
    Refusal {
        status: StatusCode::INTERNAL_SERVER_ERROR,
        code: "internal",
        message: "the database failed".into(),
    }
}

/// Runs a database read on a blocking thread.
async fn read<T: Send + 'static>(
    s: &LeagueService,
    f: impl FnOnce(&crate::store::Store) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, Refusal> {
    let store = s.reader();
    tokio::task::spawn_blocking(move || f(&store))
        .await
        .map_err(internal)?
        .map_err(internal)
}

fn path_param<T>(p: Result<Path<T>, PathRejection>) -> Result<T, Refusal> {
    p.map(|Path(v)| v)
        .map_err(|e| bad_request(format!("path: {}", e.body_text())))
}

/// Query parameters as given (the last of a repeated one wins), each
/// checked by the handler.
fn query_map(q: Option<String>) -> Result<HashMap<String, String>, Refusal> {
    let Some(q) = q else {
        return Ok(HashMap::new());
    };
    let mut out = HashMap::new();
    for (k, v) in url::form_urlencoded::parse(q.as_bytes()) {
        out.insert(k.into_owned(), v.into_owned());
    }
    Ok(out)
}

fn number(
    q: &HashMap<String, String>,
    key: &str,
    min: u32,
    max: u32,
) -> Result<Option<u32>, Refusal> {
    match q.get(key) {
        None => Ok(None),
        Some(v) => match v.parse::<u32>() {
            Ok(n) if (min..=max).contains(&n) => Ok(Some(n)),
            _ => Err(bad_request(format!(
                "{key} must be an integer in {min}..={max}"
            ))),
        },
    }
}

async fn league_row(s: &LeagueService, id: &str) -> Result<LeagueRow, Refusal> {
    // A live league is known without asking the database.
    if let Some(m) = s.manager(id) {
        return Ok(m.league_row());
    }
    let key = id.to_owned();
    read(s, move |st| st.league(&key))
        .await?
        .ok_or_else(|| not_found(format!("no league {id}")))
}

async fn summary_of(s: &LeagueService, l: &LeagueRow) -> Result<LeagueSummary, Refusal> {
    let id = l.id.clone();
    let c = read(s, move |st| st.league_counts(&id)).await?;
    let live = s.manager(&l.id);
    // The manager knows a league has ended before the database says so.
    let status = match &live {
        Some(m) if m.is_completed() => "completed",
        _ => l.status.as_str(),
    };
    Ok(LeagueSummary {
        id: l.id.clone(),
        game: l.game.as_str().to_owned(),
        status: status.to_owned(),
        players: c.players,
        rounds: c.rounds,
        rounds_completed: c.rounds_completed,
        matches: c.matches,
        matches_played: c.results,
        live: live.is_some(),
    })
}

/// Every league this service knows, oldest first.
#[utoipa::path(get, path = "/api/leagues", tag = "leagues",
    responses(
        (status = 200, description = "The leagues", body = LeagueList),
        (status = 400, description = "Bad request", body = ApiError),
    ))]
async fn list_leagues(State(s): State<LeagueService>) -> Response {
    let rows = match read(&s, |st| st.leagues()).await {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    let mut leagues = Vec::with_capacity(rows.len());
    for l in &rows {
        match summary_of(&s, l).await {
            Ok(x) => leagues.push(x),
            Err(e) => return e.into_response(),
        }
    }
    axum::Json(LeagueList { leagues }).into_response()
}

/// Creates and starts a league in this process (admin token required).
#[utoipa::path(post, path = "/api/leagues", tag = "leagues",
    request_body = CreateLeague,
    security(("admin" = [])),
    responses(
        (status = 201, description = "Created; it waits for its players", body = LeagueSummary),
        (status = 400, description = "Bad settings", body = ApiError),
        (status = 401, description = "No or wrong admin token", body = ApiError),
        (status = 409, description = "Too many leagues playing", body = ApiError),
        (status = 422, description = "Settings the league refuses", body = ApiError),
        (status = 503, description = "This service cannot create leagues", body = ApiError),
    ))]
async fn create_league(
    State(s): State<LeagueService>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let cfg = &s.inner.cfg;
    let given = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    let authorized = cfg
        .admin_token
        .as_deref()
        .is_some_and(|t| bool::from(t.as_bytes().ct_eq(given.as_bytes())));
    if !authorized {
        return error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "creating a league needs the admin token (Authorization: Bearer …)",
        );
    }
    let req = match parse_create(&body) {
        Ok(r) => r,
        Err(e) => return bad_request(format!("body: {e}")).into_response(),
    };
    let (Some(opener), Some(template)) = (cfg.opener.clone(), cfg.template.clone()) else {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "this service does not create leagues",
        )
        .into_response();
    };
    if s.running_count() >= cfg.max_live {
        return error(
            StatusCode::CONFLICT,
            "conflict",
            &format!("{} leagues are playing already", cfg.max_live),
        );
    }
    if !cfg.api_games.contains(&req.game) {
        return bad_request(format!(
            "game: this service creates {} leagues",
            cfg.api_games.join(" or ")
        ))
        .into_response();
    }
    if req.natives.len() > super::MAX_API_NATIVES {
        return bad_request(format!("natives: at most {}", super::MAX_API_NATIVES)).into_response();
    }
    if let Some(bad) = req.natives.iter().find(|n| !cfg.api_policies.contains(n)) {
        return bad_request(format!(
            "natives: {bad:?} is not one of {}",
            cfg.api_policies.join(", ")
        ))
        .into_response();
    }
    let game: GameType = match req.game.parse() {
        Ok(g) => g,
        Err(e) => return bad_request(format!("game: {e}")).into_response(),
    };
    let mut settings = LeagueSettings {
        mode: Mode::Serve,
        game,
        natives: req.natives.clone(),
        ..template
    };
    if let Some(r) = req.rounds {
        settings.cycles = r;
    }
    if let Some(seed) = req.seed {
        settings.seed = seed;
    }
    if let Some(n) = req.start_when {
        settings.start_when = n as usize;
    }
    if let Some(t) = req.turns {
        settings.turn_budget = t;
    }
    // A fresh random name: two leagues created at once never share the
    // key that `Manager::open` resumes by.
    settings.name = match crate::auth::AuthToken::generate() {
        Ok(t) => format!("api-{}", &t.as_str()[..16]),
        Err(e) => return internal(e).into_response(),
    };
    let opened = tokio::task::spawn_blocking(move || opener(settings)).await;
    let manager = match opened {
        Ok(Ok(m)) => m,
        Ok(Err(e)) => {
            return error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "unprocessable",
                &e.to_string(),
            )
        }
        Err(e) => return internal(e).into_response(),
    };
    s.add(manager.clone());
    {
        let m = manager.clone();
        tokio::spawn(async move {
            if let Err(e) = m.run().await {
                tracing::error!("league {}: {e}", m.league_id());
            }
        });
    }
    let row = match league_row(&s, manager.league_id()).await {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    match summary_of(&s, &row).await {
        Ok(x) => (StatusCode::CREATED, axum::Json(x)).into_response(),
        Err(e) => e.into_response(),
    }
}

/// An integer field of a JSON object: absent, `null`, or a number with no
/// fractional part in `min..=max` (JSON Schema counts `17.0` an integer).
fn int_field(
    o: &serde_json::Map<String, serde_json::Value>,
    key: &str,
    min: u64,
    max: u64,
) -> Result<Option<u64>, String> {
    let Some(v) = o.get(key).filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    let n = v.as_u64().or_else(|| {
        v.as_f64()
            .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f < 18_446_744_073_709_551_616.0)
            .map(|f| f as u64)
    });
    match n {
        Some(n) if (min..=max).contains(&n) => Ok(Some(n)),
        _ => Err(format!("{key} must be an integer in {min}..={max}")),
    }
}

/// Reads a [`CreateLeague`] body, checking every field's range.
fn parse_create(body: &[u8]) -> Result<CreateLeague, String> {
    let v: serde_json::Value = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    let o = v.as_object().ok_or("expected a JSON object")?;
    const KNOWN: [&str; 6] = ["game", "rounds", "seed", "natives", "start_when", "turns"];
    if let Some(k) = o.keys().find(|k| !KNOWN.contains(&k.as_str())) {
        return Err(format!("unknown field {k:?}"));
    }
    let game = o
        .get("game")
        .and_then(|g| g.as_str())
        .ok_or("game (a string) is required")?
        .to_owned();
    let natives = match o.get("natives") {
        None => Vec::new(),
        Some(serde_json::Value::Array(a)) => a
            .iter()
            .map(|x| {
                x.as_str()
                    .map(str::to_owned)
                    .ok_or("natives must be strings")
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err("natives must be an array".into()),
    };
    Ok(CreateLeague {
        game,
        rounds: int_field(o, "rounds", 1, 100)?.map(|n| n as u32),
        seed: int_field(o, "seed", 0, u64::MAX)?,
        natives,
        start_when: int_field(o, "start_when", 0, 1024)?.map(|n| n as u32),
        turns: int_field(o, "turns", 1, 100_000)?.map(|n| n as u32),
    })
}

/// A league with its settings.
#[utoipa::path(get, path = "/api/leagues/{id}", tag = "leagues",
    params(("id" = String, Path, description = "League id (`L1`)")),
    responses(
        (status = 200, description = "The league", body = LeagueDetail),
        (status = 400, description = "Bad path", body = ApiError),
        (status = 404, description = "No such league", body = ApiError),
    ))]
async fn get_league(
    State(s): State<LeagueService>,
    id: Result<Path<String>, PathRejection>,
) -> Response {
    let detail = async {
        let id = path_param(id)?;
        let l = league_row(&s, &id).await?;
        let summary = summary_of(&s, &l).await?;
        let st = standings_of(&s, &l).await?;
        let champion = st
            .standings
            .first()
            .filter(|_| st.matches_played > 0)
            .map(|c| ChampionOut {
                player_id: c.player_id.clone(),
                display_name: c.display_name.clone(),
                points: c.points,
            });
        Ok::<_, Refusal>(LeagueDetail {
            summary,
            settings: l.config.clone(),
            champion,
        })
    };
    match detail.await {
        Ok(d) => axum::Json(d).into_response(),
        Err(e) => e.into_response(),
    }
}

/// The standings of `l`, computed at most once per change: what changed
/// is read from the live manager's memory (else from the database). While
/// a live league is running, a request that finds them out of date gets
/// the last ones computed (their `matches_played` says which results they
/// cover) and one refresh starts in the background; a finished or stored
/// league's are always current.
async fn standings_of(s: &LeagueService, l: &LeagueRow) -> Result<Arc<StandingsOut>, Refusal> {
    let live = s.manager(&l.id);
    let (key, running) = match &live {
        Some(m) => {
            let (players, done, completed) = m.progress();
            (format!("live/{players}/{done}/{completed}"), !completed)
        }
        None => {
            let id = l.id.clone();
            let c = read(s, move |st| st.league_counts(&id)).await?;
            (
                format!("db/{}/{}/{}", c.results, c.players, c.rounds_completed),
                false,
            )
        }
    };
    let stale = {
        let mut cache = s.inner.standings.lock().unwrap_or_else(|e| e.into_inner());
        match cache.get_mut(&l.id) {
            Some(c) if c.key == key => return Ok(c.value.clone()),
            Some(c) if running => {
                if !c.refreshing {
                    c.refreshing = true;
                    let (s2, l2, key2) = (s.clone(), l.clone(), key.clone());
                    tokio::spawn(async move {
                        let fresh = compute_standings(&s2, &l2).await.ok();
                        let mut cache =
                            s2.inner.standings.lock().unwrap_or_else(|e| e.into_inner());
                        if let Some(c) = cache.get_mut(&l2.id) {
                            c.refreshing = false;
                            if let Some(v) = fresh {
                                c.key = key2;
                                c.value = v;
                            }
                        }
                    });
                }
                Some(c.value.clone())
            }
            _ => None,
        }
    };
    if let Some(v) = stale {
        return Ok(v);
    }
    let out = compute_standings(s, l).await?;
    s.inner
        .standings
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(
            l.id.clone(),
            super::CachedStandings {
                key,
                value: out.clone(),
                refreshing: false,
            },
        );
    Ok(out)
}

async fn compute_standings(s: &LeagueService, l: &LeagueRow) -> Result<Arc<StandingsOut>, Refusal> {
    let settings: LeagueSettings = serde_json::from_value(l.config.clone())
        .map_err(|e| internal(format!("league {} settings: {e}", l.id)))?;
    let (row, bt) = (l.clone(), s.inner.cfg.bt);
    let rep = read(s, move |st| {
        report::build(st, &row, settings.seed, settings.points, &bt)
    })
    .await?;
    Ok(Arc::new(standings_from(&rep)))
}

fn standings_from(rep: &report::LeagueReport) -> StandingsOut {
    let standings = rep
        .standings
        .iter()
        .map(|s| {
            let mut o = crate::manager::standing_out(s);
            if let Some(b) = rep
                .bradley_terry
                .iter()
                .find(|b| b.player_id == s.player_id)
            {
                o.rating = finite(b.rating);
                o.rating_low = finite(b.low);
                o.rating_high = finite(b.high);
            }
            if let Some(g) = rep.glicko.iter().find(|g| g.player_id == s.player_id) {
                o.glicko = finite(g.rating);
                o.glicko_deviation = finite(g.deviation);
            }
            o
        })
        .collect();
    StandingsOut {
        league_id: rep.league_id.clone(),
        matches_played: rep.matches_played,
        standings,
    }
}

/// The standings over every recorded result, with Bradley–Terry ratings
/// (95 % bootstrap intervals) and Glicko-2 after the completed rounds.
#[utoipa::path(get, path = "/api/leagues/{id}/standings", tag = "leagues",
    params(("id" = String, Path, description = "League id")),
    responses(
        (status = 200, description = "The standings", body = StandingsOut),
        (status = 400, description = "Bad path", body = ApiError),
        (status = 404, description = "No such league", body = ApiError),
    ))]
async fn standings(
    State(s): State<LeagueService>,
    id: Result<Path<String>, PathRejection>,
) -> Response {
    let out = async {
        let id = path_param(id)?;
        let l = league_row(&s, &id).await?;
        standings_of(&s, &l).await
    };
    match out.await {
        Ok(st) => axum::Json(st.as_ref()).into_response(),
        Err(e) => e.into_response(),
    }
}

fn match_summary(s: &LeagueService, league: &str, m: ScheduledMatch) -> MatchSummary {
    let state = if m.status.is_some() {
        "finished"
    } else if s.manager(league).is_some_and(|x| x.is_playing(&m.match_id)) {
        "playing"
    } else {
        "scheduled"
    };
    MatchSummary {
        match_id: m.match_id,
        round: m.round,
        player_a: m.player_a,
        player_b: m.player_b,
        referee_id: m.referee_id,
        state: state.to_owned(),
        status: m.status.map(|x| x.as_str().to_owned()),
        winner: m.winner,
    }
}

/// The schedule with results, paged and filtered.
#[utoipa::path(get, path = "/api/leagues/{id}/matches", tag = "matches",
    params(
        ("id" = String, Path, description = "League id"),
        ("page" = Option<u32>, Query, minimum = 1, maximum = 1000000, description = "Page, from 1"),
        ("per_page" = Option<u32>, Query, minimum = 1, maximum = 500, description = "Matches per page (default 50)"),
        ("round" = Option<u32>, Query, minimum = 1, maximum = 1000000, description = "Only this round"),
        ("player" = Option<String>, Query, description = "Only matches of this player"),
        ("state" = Option<MatchState>, Query, description = "Only matches in this state"),
    ),
    responses(
        (status = 200, description = "One page", body = MatchPage),
        (status = 400, description = "Bad parameter", body = ApiError),
        (status = 404, description = "No such league", body = ApiError),
    ))]
async fn matches(
    State(s): State<LeagueService>,
    id: Result<Path<String>, PathRejection>,
    RawQuery(q): RawQuery,
) -> Response {
    let out = async {
        let id = path_param(id)?;
        let q = query_map(q)?;
        let page = number(&q, "page", 1, 1_000_000)?.unwrap_or(1);
        let per_page = number(&q, "per_page", 1, s.inner.cfg.max_per_page)?.unwrap_or(50);
        let round = number(&q, "round", 1, 1_000_000)?;
        let player = q.get("player").cloned();
        let state = q.get("state").cloned();
        if let Some(st) = &state {
            if !matches!(st.as_str(), "scheduled" | "playing" | "finished") {
                return Err(bad_request("state must be scheduled, playing or finished"));
            }
        }
        let l = league_row(&s, &id).await?;
        let key = l.id.clone();
        let offset = u64::from(page - 1) * u64::from(per_page);
        // A live league's schedule and results are in the manager's memory;
        // another's come from the database.
        let (total, rows) = match s.manager(&l.id) {
            Some(m) => m.match_page(
                round,
                player.as_deref(),
                state.as_deref(),
                per_page as usize,
                usize::try_from(offset).unwrap_or(usize::MAX),
            ),
            None => {
                read(&s, move |st| {
                    st.match_page(
                        &key,
                        round,
                        player.as_deref(),
                        state.as_deref(),
                        &[],
                        per_page,
                        offset,
                    )
                })
                .await?
            }
        };
        let matches = rows
            .into_iter()
            .map(|m| match_summary(&s, &l.id, m))
            .collect();
        Ok::<_, Refusal>(MatchPage {
            total,
            page,
            per_page,
            matches,
        })
    };
    match out.await {
        Ok(p) => axum::Json(p).into_response(),
        Err(e) => e.into_response(),
    }
}

/// One match with its moves and result.
#[utoipa::path(get, path = "/api/leagues/{id}/matches/{match_id}", tag = "matches",
    params(
        ("id" = String, Path, description = "League id"),
        ("match_id" = String, Path, description = "Match id (`R1M1`)"),
    ),
    responses(
        (status = 200, description = "The match", body = MatchDetail),
        (status = 400, description = "Bad path", body = ApiError),
        (status = 404, description = "No such league or match", body = ApiError),
    ))]
async fn match_detail(
    State(s): State<LeagueService>,
    ids: Result<Path<(String, String)>, PathRejection>,
) -> Response {
    let out = async {
        let (id, match_id) = path_param(ids)?;
        let l = league_row(&s, &id).await?;
        let (key, mid) = (l.id.clone(), match_id.clone());
        let (m, details, moves) = read(&s, move |st| st.match_detail(&key, &mid))
            .await?
            .ok_or_else(|| not_found(format!("no match {match_id} in league {id}")))?;
        let summary = match_summary(&s, &l.id, m);
        let dungeon = l.game == GameType::PmdDungeon;
        let base = format!("/api/leagues/{}/matches/{}", l.id, summary.match_id);
        let media = s.inner.cfg.media.is_some();
        Ok::<_, Refusal>(MatchDetail {
            replay_url: (dungeon && media && summary.state == "finished")
                .then(|| format!("{base}/replay.gif")),
            live_url: (dungeon && summary.state == "playing").then(|| format!("{base}/live")),
            summary,
            moves: moves
                .into_iter()
                .map(|m| MoveOut {
                    player_id: m.player_id,
                    turn: m.turn,
                    action: m.action,
                })
                .collect(),
            result: details,
        })
    };
    match out.await {
        Ok(d) => axum::Json(d).into_response(),
        Err(e) => e.into_response(),
    }
}

/// The pmd_dungeon match a `…/matches/{match_id}/…` request names, and
/// whose run it asks for (`?player=`, default player A); 404 for another
/// game, an unknown match, or a player who did not play it.
async fn dungeon_run(
    s: &LeagueService,
    ids: Result<Path<(String, String)>, PathRejection>,
    q: Option<String>,
) -> Result<(LeagueRow, ScheduledMatch, String), Refusal> {
    let (id, match_id) = path_param(ids)?;
    let wanted = query_map(q)?.remove("player");
    let l = league_row(s, &id).await?;
    if l.game != GameType::PmdDungeon {
        return Err(not_found(format!(
            "league {id} plays {}: no frames",
            l.game.as_str()
        )));
    }
    let (key, mid) = (l.id.clone(), match_id.clone());
    let (m, _, _) = read(s, move |st| st.match_detail(&key, &mid))
        .await?
        .ok_or_else(|| not_found(format!("no match {match_id} in league {id}")))?;
    let player = wanted.unwrap_or_else(|| m.player_a.clone());
    if player != m.player_a && player != m.player_b {
        return Err(not_found(format!("{player} did not play {match_id}")));
    }
    Ok((l, m, player))
}

/// A finished pmd_dungeon match re-simulated from its recorded actions,
/// as an animated GIF (one player's run; player A's by default).
#[utoipa::path(get, path = "/api/leagues/{id}/matches/{match_id}/replay.gif", tag = "matches",
    params(
        ("id" = String, Path, description = "League id"),
        ("match_id" = String, Path, description = "Match id"),
        ("player" = Option<String>, Query, description = "Whose run (default: player A)"),
    ),
    responses(
        (status = 200, description = "The replay", content_type = "image/gif", body = Vec<u8>),
        (status = 400, description = "Bad parameter", body = ApiError),
        (status = 404, description = "No such finished pmd_dungeon match, or no replays here", body = ApiError),
    ))]
async fn replay_gif(
    State(s): State<LeagueService>,
    ids: Result<Path<(String, String)>, PathRejection>,
    RawQuery(q): RawQuery,
) -> Response {
    let out = async {
        let (l, m, player) = dungeon_run(&s, ids, q).await?;
        let media = s
            .inner
            .cfg
            .media
            .clone()
            .ok_or_else(|| not_found("this service renders no replays"))?;
        if m.status.is_none() {
            return Err(not_found(format!("{} has not finished", m.match_id)));
        }
        let key = format!("{}/{}/{player}", l.id, m.match_id);
        if let Some(gif) = s.cached_gif(&key) {
            return Ok(gif);
        }
        let _permit = s.inner.renders.acquire().await.map_err(internal)?;
        if let Some(gif) = s.cached_gif(&key) {
            return Ok(gif);
        }
        let (lid, mid) = (l.id.clone(), m.match_id.clone());
        let replay = read(&s, move |st| st.match_replay(&lid, &mid)).await?;
        let gif = tokio::task::spawn_blocking(move || media.replay_gif(&replay, &player))
            .await
            .map_err(internal)?
            .map_err(|e| {
                tracing::warn!("replay of {key}: {e}");
                not_found(format!("cannot replay: {e}"))
            })?;
        let gif = Arc::new(gif);
        s.cache_gif(key, gif.clone());
        Ok(gif)
    };
    match out.await {
        Ok(gif) => (
            [(axum::http::header::CONTENT_TYPE, "image/gif")],
            gif.as_ref().clone(),
        )
            .into_response(),
        Err(e) => e.into_response(),
    }
}

/// The live frames of a pmd_dungeon match being played here, as a
/// `multipart/x-mixed-replace` stream of PNGs (an `<img>` source): one
/// player's screen after each turn (player A's by default). Ends with the run.
#[utoipa::path(get, path = "/api/leagues/{id}/matches/{match_id}/live", tag = "matches",
    params(
        ("id" = String, Path, description = "League id"),
        ("match_id" = String, Path, description = "Match id"),
        ("player" = Option<String>, Query, description = "Whose screen (default: player A)"),
    ),
    responses(
        (status = 200, description = "PNG frames", content_type = "multipart/x-mixed-replace", body = Vec<u8>),
        (status = 400, description = "Bad parameter", body = ApiError),
        (status = 404, description = "No such pmd_dungeon match being played here", body = ApiError),
    ))]
async fn live_frames(
    State(s): State<LeagueService>,
    ids: Result<Path<(String, String)>, PathRejection>,
    RawQuery(q): RawQuery,
) -> Response {
    let out = async {
        let (l, m, player) = dungeon_run(&s, ids, q).await?;
        s.manager(&l.id)
            .and_then(|mgr| mgr.frames().and_then(|f| f.watch(&m.match_id, &player)))
            .ok_or_else(|| {
                not_found(format!(
                    "{player}'s run in {} is not being played here",
                    m.match_id
                ))
            })
    };
    let rx = match out.await {
        Ok(rx) => rx,
        Err(e) => return e.into_response(),
    };
    let parts = stream::unfold((rx, true), |(mut rx, first)| async move {
        // The first part is the frame already there (once one is drawn);
        // then one per new frame, until the run ends.
        if !first {
            rx.changed().await.ok()?;
        }
        loop {
            let frame = rx.borrow_and_update().clone();
            match frame {
                Some(png) => return Some((Ok::<_, Infallible>(frame_part(&png)), (rx, false))),
                None => rx.changed().await.ok()?,
            }
        }
    });
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "multipart/x-mixed-replace; boundary=frame",
        )],
        axum::body::Body::from_stream(until_closed(parts, s.closed())),
    )
        .into_response()
}

/// One part of a `multipart/x-mixed-replace` stream.
fn frame_part(png: &[u8]) -> Bytes {
    let mut part = format!(
        "--frame\r\nContent-Type: image/png\r\nContent-Length: {}\r\n\r\n",
        png.len()
    )
    .into_bytes();
    part.extend_from_slice(png);
    part.extend_from_slice(b"\r\n");
    Bytes::from(part)
}

/// The players, in registration order.
#[utoipa::path(get, path = "/api/leagues/{id}/players", tag = "leagues",
    params(("id" = String, Path, description = "League id")),
    responses(
        (status = 200, description = "The players", body = PlayerList),
        (status = 400, description = "Bad path", body = ApiError),
        (status = 404, description = "No such league", body = ApiError),
    ))]
async fn players(
    State(s): State<LeagueService>,
    id: Result<Path<String>, PathRejection>,
) -> Response {
    let out = async {
        let id = path_param(id)?;
        let l = league_row(&s, &id).await?;
        let rows = read(&s, move |st| st.players(&l.id)).await?;
        Ok::<_, Refusal>(PlayerList {
            players: rows
                .into_iter()
                .map(|p| PlayerOut {
                    kind: match p.kind {
                        crate::store::PlayerKind::Native => "native",
                        crate::store::PlayerKind::Remote => "remote",
                    }
                    .to_owned(),
                    player_id: p.player_id,
                    display_name: p.display_name,
                })
                .collect(),
        })
    };
    match out.await {
        Ok(p) => axum::Json(p).into_response(),
        Err(e) => e.into_response(),
    }
}

/// Glicko-2 ratings after each completed round.
#[utoipa::path(get, path = "/api/leagues/{id}/ratings/history", tag = "leagues",
    params(("id" = String, Path, description = "League id")),
    responses(
        (status = 200, description = "Ratings by round", body = RatingHistory),
        (status = 400, description = "Bad path", body = ApiError),
        (status = 404, description = "No such league", body = ApiError),
    ))]
async fn rating_history(
    State(s): State<LeagueService>,
    id: Result<Path<String>, PathRejection>,
) -> Response {
    let out = async {
        let id = path_param(id)?;
        let l = league_row(&s, &id).await?;
        let rows = read(&s, move |st| st.rating_history(&l.id)).await?;
        let mut rounds: Vec<RoundRatings> = Vec::new();
        for r in rows {
            if rounds.last().is_none_or(|x| x.round != r.round) {
                rounds.push(RoundRatings {
                    round: r.round,
                    ratings: Vec::new(),
                });
            }
            if let Some(last) = rounds.last_mut() {
                last.ratings.push(RatingOut {
                    player_id: r.player_id,
                    rating: r.rating,
                    deviation: r.deviation,
                });
            }
        }
        Ok::<_, Refusal>(RatingHistory { rounds })
    };
    match out.await {
        Ok(h) => axum::Json(h).into_response(),
        Err(e) => e.into_response(),
    }
}

/// Live events (Server-Sent Events): `round_started`, `match_started`,
/// `match_finished`, `standings_changed`, `round_completed`,
/// `league_completed`, and `resync` when events were missed (re-read the
/// league). Resumable with `Last-Event-ID`. Only for leagues live here.
#[utoipa::path(get, path = "/api/leagues/{id}/events", tag = "events",
    params(
        ("id" = String, Path, description = "League id"),
        ("Last-Event-ID" = Option<String>, Header, description = "Resume after this event"),
    ),
    responses(
        (status = 200, description = "The event stream", content_type = "text/event-stream", body = String),
        (status = 400, description = "Bad path", body = ApiError),
        (status = 404, description = "No such league live here", body = ApiError),
    ))]
async fn events(
    State(s): State<LeagueService>,
    id: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> Response {
    let id = match path_param(id) {
        Ok(i) => i,
        Err(e) => return e.into_response(),
    };
    let Some(m) = s.manager(&id) else {
        return not_found(format!("no league {id} is live here")).into_response();
    };
    let last = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let log = m.events().clone();
    let resume = log.resume_from(last.as_deref());
    let sub = log.subscribe(resume);
    let metrics = s.inner.metrics.clone();
    metrics.sse_subscribers.inc();
    let guard = SubscriberGuard(metrics);
    let closed = s.closed();
    Sse::new(until_closed(event_stream(log, sub, guard), closed))
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}

/// `stream`, ended early when `closed` resolves (the server stopping).
fn until_closed<S: Stream + Send + 'static>(
    stream: S,
    closed: impl std::future::Future<Output = ()> + Send + 'static,
) -> impl Stream<Item = S::Item> + Send + 'static {
    use futures_util::StreamExt;
    stream.take_until(Box::pin(closed))
}

struct SubscriberGuard(Arc<crate::metrics::Metrics>);

impl Drop for SubscriberGuard {
    fn drop(&mut self) {
        self.0.sse_subscribers.dec();
    }
}

fn sse(e: &Event) -> SseEvent {
    SseEvent::default().id(&e.id).event(e.kind).data(&e.data)
}

fn resync() -> SseEvent {
    SseEvent::default()
        .event("resync")
        .data("{\"reason\":\"events were missed; re-read the league\"}")
}

struct StreamState {
    log: Arc<EventLog>,
    pending: std::collections::VecDeque<SseEvent>,
    live: tokio::sync::broadcast::Receiver<Arc<Event>>,
    last: u64,
    _guard: SubscriberGuard,
}

fn event_stream(
    log: Arc<EventLog>,
    sub: super::events::Subscription,
    guard: SubscriberGuard,
) -> impl Stream<Item = Result<SseEvent, Infallible>> {
    let mut pending = std::collections::VecDeque::new();
    if sub.resync {
        pending.push_back(resync());
    }
    for e in &sub.backlog {
        pending.push_back(sse(e));
    }
    let last = sub.cut;
    let state = StreamState {
        log,
        pending,
        live: sub.live,
        last,
        _guard: guard,
    };
    stream::unfold(state, |mut st| async move {
        loop {
            if let Some(e) = st.pending.pop_front() {
                return Some((Ok(e), st));
            }
            match st.live.recv().await {
                Ok(e) => {
                    if e.seq <= st.last {
                        continue;
                    }
                    st.last = e.seq;
                    return Some((Ok(sse(&e)), st));
                }
                Err(RecvError::Lagged(_)) => {
                    // Catch up from the log; what it no longer holds is
                    // announced with a resync.
                    let (lost, held) = st.log.since(st.last);
                    if lost {
                        st.pending.push_back(resync());
                    }
                    for e in held {
                        st.last = e.seq;
                        st.pending.push_back(sse(&e));
                    }
                }
                Err(RecvError::Closed) => return None,
            }
        }
    })
}
