//! The league as a service: one HTTP server for every league a process
//! runs, with the league.v2 endpoint of each (`POST /mcp` for the first,
//! `POST /leagues/{id}/mcp` for any), a public read API over the database
//! (`/api/leagues/…`, documented at `/openapi.json`, generated from the
//! handlers by utoipa), live events over Server-Sent Events, the dashboard
//! (`/`), and `/health`, `/ready`, `/metrics`.
//!
//! Reads come from the database, so a finished league, or one another
//! process is playing, reads the same as a live one; only what the
//! database cannot say (which matches are being played now, the event
//! stream) needs the league to be live here. Standings with ratings (a
//! Bradley–Terry bootstrap) are computed once per new result and cached.
//!
//! **Invariant:** every answer the API gives is JSON of the documented
//! shape, errors included (`{"error": {"code", "message"}}`): path, query
//! and body problems are answered by the handlers, never by axum's plain
//! text rejections.

pub mod dashboard;
pub mod events;
pub mod model;
mod routes;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, RwLock};

use axum::extract::{MatchedPath, Path, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde_json::json;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::manager::{LeagueFailure, LeagueSettings, Manager};
use crate::metrics::Metrics;
use crate::ratings::BtConfig;
use crate::store::Store;
use model::StandingsOut;

/// Renders a recorded pmd_dungeon match for `…/replay.gif` (the caller
/// has the emulator; league-v2 has none).
pub trait MatchMedia: Send + Sync {
    /// `player`'s run in `replay`, re-simulated, as an animated GIF.
    fn replay_gif(
        &self,
        replay: &crate::store::MatchReplay,
        player: &str,
    ) -> Result<Vec<u8>, String>;
}

/// The last standings computed for a league.
struct CachedStandings {
    /// What they were computed from.
    key: String,
    value: Arc<StandingsOut>,
    /// A refresh is under way.
    refreshing: bool,
}

/// Replays kept in memory.
const GIF_CACHE: usize = 16;

/// Most native players a league created over the API may have.
pub const MAX_API_NATIVES: usize = 64;

/// Makes and opens a league for `POST /api/leagues` (the caller knows the
/// policies, dungeons and manager settings).
pub type LeagueOpener =
    Arc<dyn Fn(LeagueSettings) -> Result<Manager, LeagueFailure> + Send + Sync + 'static>;

/// Service settings.
#[derive(Clone)]
pub struct ServiceConfig {
    /// The secret `POST /api/leagues` must carry as a bearer token; without
    /// one, leagues cannot be created over the API.
    pub admin_token: Option<String>,
    /// How new leagues are opened; `None`: creating is refused.
    pub opener: Option<LeagueOpener>,
    /// Settings new leagues start from (the request overrides some).
    pub template: Option<LeagueSettings>,
    /// Most leagues playing at once (completed ones do not count).
    pub max_live: usize,
    /// Bradley–Terry settings for the standings.
    pub bt: BtConfig,
    /// Largest page of matches.
    pub max_per_page: u32,
    /// The games `POST /api/leagues` may ask for (the document lists them).
    pub api_games: Vec<String>,
    /// The native policies `POST /api/leagues` may ask for: named ones
    /// only, never a file path from a request (the document lists them).
    pub api_policies: Vec<String>,
    /// pmd_dungeon replays (`None`: `replay.gif` answers 404).
    pub media: Option<Arc<dyn MatchMedia>>,
    /// Read-only connections the API reads through, in turn
    /// ([`Store::open_reader`]); empty: the store itself.
    pub readers: Vec<Arc<Store>>,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        ServiceConfig {
            admin_token: None,
            opener: None,
            template: None,
            max_live: 64,
            bt: BtConfig::default(),
            max_per_page: 500,
            api_games: vec!["even_odd".to_owned()],
            api_policies: vec!["random".to_owned()],
            media: None,
            readers: Vec::new(),
        }
    }
}

/// The service (cheap to clone; all clones are the same service).
#[derive(Clone)]
pub struct LeagueService {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<Store>,
    metrics: Arc<Metrics>,
    cfg: ServiceConfig,
    live: RwLock<BTreeMap<String, Manager>>,
    default: RwLock<Option<String>>,
    standings: Mutex<HashMap<String, CachedStandings>>,
    /// The newest replays rendered, newest last.
    gifs: Mutex<std::collections::VecDeque<(String, Arc<Vec<u8>>)>>,
    /// Replays rendered at once (each re-simulates a whole run).
    renders: tokio::sync::Semaphore,
    /// Set when the server stops: open streams end, so that a graceful
    /// shutdown does not wait on them forever.
    closing: tokio::sync::watch::Sender<bool>,
    next_reader: std::sync::atomic::AtomicUsize,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "pmd-agent league API",
        description = "Read API of a league.v2 manager: leagues, standings with rating intervals, \
                       matches, players, rating history and live events (SSE).",
        license(name = "MIT OR Apache-2.0")
    ),
    components(schemas(model::ApiError, model::ErrorBody, model::MatchState)),
    modifiers(&BearerAuth)
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
        if let Some(c) = openapi.components.as_mut() {
            c.add_security_scheme(
                "admin",
                SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
            );
        }
    }
}

impl LeagueService {
    /// A service over `store`, reporting into `metrics` (share it with the
    /// managers: [`ManagerConfig::metrics`](crate::manager::ManagerConfig)).
    pub fn new(store: Arc<Store>, metrics: Arc<Metrics>, cfg: ServiceConfig) -> LeagueService {
        LeagueService {
            inner: Arc::new(Inner {
                store,
                metrics,
                cfg,
                live: RwLock::new(BTreeMap::new()),
                default: RwLock::new(None),
                standings: Mutex::new(HashMap::new()),
                gifs: Mutex::new(std::collections::VecDeque::new()),
                renders: tokio::sync::Semaphore::new(2),
                closing: tokio::sync::watch::Sender::new(false),
                next_reader: std::sync::atomic::AtomicUsize::new(0),
            }),
        }
    }

    /// Adds a league this process plays (the first added answers at
    /// `POST /mcp`).
    pub fn add(&self, manager: Manager) {
        let id = manager.league_id().to_owned();
        self.inner
            .live
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id.clone(), manager);
        let mut d = self
            .inner
            .default
            .write()
            .unwrap_or_else(|e| e.into_inner());
        if d.is_none() {
            *d = Some(id);
        }
    }

    /// Ends every open event and frame stream, now and from now on (call
    /// it when the server begins its graceful shutdown: a stream never ends
    /// by itself).
    pub fn close_streams(&self) {
        self.inner.closing.send_replace(true);
    }

    /// Resolves once [`close_streams`](Self::close_streams) was called.
    fn closed(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut rx = self.inner.closing.subscribe();
        async move {
            let _ = rx.wait_for(|c| *c).await;
        }
    }

    /// The connection the next read goes through.
    fn reader(&self) -> Arc<Store> {
        let readers = &self.inner.cfg.readers;
        if readers.is_empty() {
            return self.inner.store.clone();
        }
        let i = self
            .inner
            .next_reader
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        readers[i % readers.len()].clone()
    }

    /// A live league.
    pub fn manager(&self, id: &str) -> Option<Manager> {
        self.inner
            .live
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .cloned()
    }

    fn default_manager(&self) -> Option<Manager> {
        let id = self
            .inner
            .default
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()?;
        self.manager(&id)
    }

    fn cached_gif(&self, key: &str) -> Option<Arc<Vec<u8>>> {
        self.inner
            .gifs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, g)| g.clone())
    }

    fn cache_gif(&self, key: String, gif: Arc<Vec<u8>>) {
        let mut gifs = self.inner.gifs.lock().unwrap_or_else(|e| e.into_inner());
        if gifs.len() >= GIF_CACHE {
            gifs.pop_front();
        }
        gifs.push_back((key, gif));
    }

    fn live_count(&self) -> usize {
        self.inner
            .live
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .len()
    }

    /// Live leagues not completed yet (what `ServiceConfig::max_live`
    /// limits: a finished league stays readable and costs no referee).
    fn running_count(&self) -> usize {
        self.inner
            .live
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .filter(|m| !m.is_completed())
            .count()
    }

    /// The OpenAPI document of the read API.
    pub fn openapi() -> utoipa::openapi::OpenApi {
        Self::api_router().split_for_parts().1
    }

    fn api_router() -> OpenApiRouter<LeagueService> {
        routes::router(OpenApiRouter::with_openapi(ApiDoc::openapi()))
    }

    /// Every route: the read API, `/openapi.json`, the dashboard, the
    /// league.v2 endpoints, `/health`, `/ready`, `/metrics`. Serve it with
    /// [`crate::http::serve_with`] (which gives handlers the peer address
    /// registrations check).
    pub fn router(&self) -> Router {
        let (api, doc) = Self::api_router().split_for_parts();
        let mut doc =
            serde_json::to_value(&doc).unwrap_or_else(|e| json!({"error": e.to_string()}));
        // What this server can create is configuration, not code: the
        // document says exactly which games and policies it accepts.
        if let Some(create) = doc.pointer_mut("/components/schemas/CreateLeague/properties") {
            create["game"] = json!({"type": "string", "enum": self.inner.cfg.api_games});
            create["natives"] = json!({
                "type": "array",
                "maxItems": MAX_API_NATIVES,
                "items": {"type": "string", "enum": self.inner.cfg.api_policies},
            });
        }
        let doc = Arc::new(doc);
        let api = api.layer(middleware::from_fn_with_state(self.clone(), count_requests));
        Router::new()
            .merge(api)
            .route(
                "/openapi.json",
                get(move || {
                    let doc = doc.clone();
                    async move { crate::http::json(StatusCode::OK, &doc) }
                }),
            )
            .merge(dashboard::router())
            .route("/mcp", post(default_mcp))
            .route("/leagues/{id}/mcp", post(league_mcp))
            .route("/health", get(health))
            .route("/ready", get(ready))
            .route("/metrics", get(metrics))
            .fallback(|| async {
                routes::error(StatusCode::NOT_FOUND, "not_found", "no such route")
            })
            .with_state(self.clone())
    }
}

async fn count_requests(State(s): State<LeagueService>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "other".to_owned(), |p| p.as_str().to_owned());
    let res = next.run(req).await;
    s.inner.metrics.api_request(&route, res.status().as_u16());
    res
}

/// The league a `POST /mcp` message names in `params.league_id`, read
/// from a body small enough to hold (its `Content-Length` within the
/// message limit); the request is rebuilt with the same bytes.
async fn league_named(req: Request) -> (Option<String>, Request) {
    let small = req
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        .is_some_and(|n| n <= crate::http::DEFAULT_MAX_MESSAGE_BYTES);
    if !small {
        return (None, req);
    }
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, crate::http::DEFAULT_MAX_MESSAGE_BYTES)
        .await
        .unwrap_or_default();
    let named = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|v| {
            v.pointer("/params/league_id")
                .and_then(|l| l.as_str())
                .map(str::to_owned)
        });
    (
        named,
        Request::from_parts(parts, axum::body::Body::from(bytes)),
    )
}

/// `POST /mcp`: the league the message names (`params.league_id`) when it
/// is live here, else the first league.
async fn default_mcp(State(s): State<LeagueService>, req: Request) -> Response {
    let (named, req) = if s.live_count() > 1 {
        league_named(req).await
    } else {
        (None, req)
    };
    if let Some(m) = named.and_then(|id| s.manager(&id)) {
        return m.handle_mcp(req).await;
    }
    match s.default_manager() {
        Some(m) => m.handle_mcp(req).await,
        None => routes::error(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "no league is running here",
        ),
    }
}

async fn league_mcp(
    State(s): State<LeagueService>,
    Path(id): Path<String>,
    req: Request,
) -> Response {
    match s.manager(&id) {
        Some(m) => m.handle_mcp(req).await,
        None => routes::error(
            StatusCode::NOT_FOUND,
            "not_found",
            &format!("no league {id} is running here"),
        ),
    }
}

async fn health() -> Response {
    crate::http::json(StatusCode::OK, &json!({"status": "ok"}))
}

/// Ready when the database answers and, if a league is live, its referees
/// are there (the default league's answer).
async fn ready(State(s): State<LeagueService>) -> Response {
    if let Some(m) = s.default_manager() {
        return m.handle_ready().await;
    }
    let store = s.inner.store.clone();
    match tokio::task::spawn_blocking(move || store.ping()).await {
        Ok(Ok(())) => crate::http::json(StatusCode::OK, &json!({"status": "ready"})),
        _ => crate::http::json(
            StatusCode::SERVICE_UNAVAILABLE,
            &json!({"status": "not_ready", "database": "does not answer"}),
        ),
    }
}

async fn metrics(State(s): State<LeagueService>) -> Response {
    crate::http::metrics_response(&s.inner.metrics)
}
