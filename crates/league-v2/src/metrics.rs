//! Prometheus metrics of one league agent (manager or player). Each agent
//! owns its registry, so several can live in one process (tests do).

use std::sync::atomic::{AtomicI64, AtomicU64};
use std::time::Duration;

use pmd_util::openmetrics::Registry;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};

/// Labels of finished matches.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct MatchLabels {
    /// `even_odd` or `pmd_dungeon`.
    pub game: String,
    /// `WIN`, `DRAW` or `TECHNICAL_LOSS`.
    pub status: String,
}

/// Labels naming a JSON-RPC method.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct MethodLabels {
    /// The method.
    pub method: String,
}

/// Labels naming a kind of failure.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabels {
    /// `timeout`, `connect`, `circuit_open`, `reply`, `E012`...
    pub kind: String,
}

/// Labels naming a message type.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TypeLabels {
    /// A known message type, or `other`.
    pub message_type: String,
}

/// Labels naming a league's player.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PlayerLabels {
    /// The league.
    pub league: String,
    /// The player.
    pub player: String,
}

/// Labels of read-API requests.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    /// The route's pattern (`/api/leagues/{id}`), or `other`.
    pub route: String,
    /// The HTTP status code.
    pub status: String,
}

impl PlayerLabels {
    fn of(league: &str, player: &str) -> PlayerLabels {
        PlayerLabels {
            league: league.to_owned(),
            player: player.to_owned(),
        }
    }
}

type FloatGauge = Gauge<f64, AtomicU64>;

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

/// Every metric a league agent exports (prefix `league_`).
pub struct Metrics {
    registry: Registry,
    /// Matches finished, by game and outcome.
    pub matches: Family<MatchLabels, Counter>,
    /// Seconds per match, invitation to recorded result.
    pub match_seconds: Histogram,
    /// Matches being played now.
    pub active_matches: Gauge<i64, AtomicI64>,
    /// Seconds per outgoing call (all attempts), by method.
    pub rpc_seconds: HistogramFamily<MethodLabels>,
    /// Failed outgoing calls, by kind.
    pub rpc_errors: Family<KindLabels, Counter>,
    /// Outgoing calls that ran out of time.
    pub timeouts: Counter,
    /// Retried attempts of outgoing calls.
    pub retries: Counter,
    /// Requests received, by message type.
    pub requests: Family<TypeLabels, Counter>,
    /// Requests refused, by error code.
    pub request_errors: Family<KindLabels, Counter>,
    /// Players registered in the current league.
    pub players: Gauge<i64, AtomicI64>,
    /// A hosted player's pmd_dungeon decisions, by source: `mirror` (its
    /// policy on its own copy of the dungeon) or `fallback` (from the state
    /// sent alone).
    pub decisions: Family<KindLabels, Counter>,
    /// Points per player.
    pub player_points: Family<PlayerLabels, Gauge<i64, AtomicI64>>,
    /// Glicko-2 rating per player after the last completed round.
    pub player_rating: Family<PlayerLabels, FloatGauge>,
    /// Its deviation.
    pub player_rating_deviation: Family<PlayerLabels, FloatGauge>,
    /// 1 while a remote player's last call succeeded, 0 after a failed one
    /// (native players are always 1).
    pub player_up: Family<PlayerLabels, Gauge<i64, AtomicI64>>,
    /// Read-API requests, by route and status.
    pub api_requests: Family<RouteLabels, Counter>,
    /// Open event streams.
    pub sse_subscribers: Gauge<i64, AtomicI64>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics { .. }")
    }
}

fn rpc_histogram() -> Histogram {
    // 50 µs .. ~52 s
    Histogram::new(exponential_buckets(5e-5, 2.0, 21))
}

impl Metrics {
    /// A fresh registry.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("league");
        let matches = Family::<MatchLabels, Counter>::default();
        // 100 µs .. ~105 s
        let match_seconds = Histogram::new(exponential_buckets(1e-4, 2.0, 21));
        let active_matches = Gauge::<i64, AtomicI64>::default();
        let rpc_seconds: HistogramFamily<MethodLabels> =
            Family::new_with_constructor(rpc_histogram as fn() -> Histogram);
        let rpc_errors = Family::<KindLabels, Counter>::default();
        let timeouts = Counter::default();
        let retries = Counter::default();
        let requests = Family::<TypeLabels, Counter>::default();
        let request_errors = Family::<KindLabels, Counter>::default();
        let players = Gauge::<i64, AtomicI64>::default();
        let decisions = Family::<KindLabels, Counter>::default();
        let player_points = Family::<PlayerLabels, Gauge<i64, AtomicI64>>::default();
        let player_rating = Family::<PlayerLabels, FloatGauge>::default();
        let player_rating_deviation = Family::<PlayerLabels, FloatGauge>::default();
        let player_up = Family::<PlayerLabels, Gauge<i64, AtomicI64>>::default();
        let api_requests = Family::<RouteLabels, Counter>::default();
        let sse_subscribers = Gauge::<i64, AtomicI64>::default();
        registry.register("player_points", "Points per player", player_points.clone());
        registry.register(
            "player_rating",
            "Glicko-2 rating per player after the last completed round",
            player_rating.clone(),
        );
        registry.register(
            "player_rating_deviation",
            "Glicko-2 rating deviation per player",
            player_rating_deviation.clone(),
        );
        registry.register(
            "player_up",
            "1 while the player's last call succeeded, 0 after a failed one",
            player_up.clone(),
        );
        registry.register(
            "api_requests",
            "Read-API requests, by route and status",
            api_requests.clone(),
        );
        registry.register(
            "sse_subscribers",
            "Open event streams",
            sse_subscribers.clone(),
        );
        registry.register("matches", "Matches finished", matches.clone());
        registry.register(
            "match_seconds",
            "Seconds per match, invitation to recorded result",
            match_seconds.clone(),
        );
        registry.register(
            "active_matches",
            "Matches being played",
            active_matches.clone(),
        );
        registry.register(
            "rpc_seconds",
            "Seconds per outgoing JSON-RPC call, retries included",
            rpc_seconds.clone(),
        );
        registry.register(
            "rpc_errors",
            "Outgoing calls that failed",
            rpc_errors.clone(),
        );
        registry.register(
            "timeouts",
            "Outgoing calls that timed out",
            timeouts.clone(),
        );
        registry.register(
            "retries",
            "Retried attempts of outgoing calls",
            retries.clone(),
        );
        registry.register("requests", "Requests received", requests.clone());
        registry.register("request_errors", "Requests refused", request_errors.clone());
        registry.register("players", "Players registered", players.clone());
        registry.register(
            "decisions",
            "Hosted player's pmd_dungeon decisions, by source",
            decisions.clone(),
        );
        Metrics {
            registry,
            matches,
            match_seconds,
            active_matches,
            rpc_seconds,
            rpc_errors,
            timeouts,
            retries,
            requests,
            request_errors,
            players,
            decisions,
            player_points,
            player_rating,
            player_rating_deviation,
            player_up,
            api_requests,
            sse_subscribers,
        }
    }

    /// Counts a finished match.
    pub fn match_finished(&self, game: &str, status: &str, took: Duration) {
        self.matches
            .get_or_create(&MatchLabels {
                game: game.to_owned(),
                status: status.to_owned(),
            })
            .inc();
        self.match_seconds.observe(took.as_secs_f64());
    }

    /// Counts a failed outgoing call.
    pub fn rpc_error(&self, kind: &str) {
        self.rpc_errors
            .get_or_create(&KindLabels {
                kind: kind.to_owned(),
            })
            .inc();
    }

    /// Counts a received request (unknown types are counted as `other`, so a
    /// peer cannot grow the label set).
    pub fn request(&self, message_type: &str, known: bool) {
        let message_type = if known { message_type } else { "other" };
        self.requests
            .get_or_create(&TypeLabels {
                message_type: message_type.to_owned(),
            })
            .inc();
    }

    /// Sets a player's points.
    pub fn player_points(&self, league: &str, player: &str, points: u32) {
        self.player_points
            .get_or_create(&PlayerLabels::of(league, player))
            .set(i64::from(points));
    }

    /// Sets a player's rating and deviation.
    pub fn player_rating(&self, league: &str, player: &str, rating: f64, deviation: f64) {
        let l = PlayerLabels::of(league, player);
        self.player_rating.get_or_create(&l).set(rating);
        self.player_rating_deviation
            .get_or_create(&l)
            .set(deviation);
    }

    /// Marks a player reachable (`true`) or not.
    pub fn player_up(&self, league: &str, player: &str, up: bool) {
        self.player_up
            .get_or_create(&PlayerLabels::of(league, player))
            .set(i64::from(up));
    }

    /// Counts one read-API request.
    pub fn api_request(&self, route: &str, status: u16) {
        self.api_requests
            .get_or_create(&RouteLabels {
                route: route.to_owned(),
                status: status.to_string(),
            })
            .inc();
    }

    /// Counts a hosted player's decision made by `source` (`mirror` or
    /// `fallback`).
    pub fn decision(&self, source: &'static str) {
        self.decisions
            .get_or_create(&KindLabels {
                kind: source.to_owned(),
            })
            .inc();
    }

    /// Counts a refused request.
    pub fn request_error(&self, code: &str) {
        self.request_errors
            .get_or_create(&KindLabels {
                kind: code.to_owned(),
            })
            .inc();
    }

    /// The Prometheus text exposition of every metric.
    pub fn encode(&self) -> String {
        pmd_util::openmetrics::exposition(&self.registry)
    }
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition_names_metrics() {
        let m = Metrics::new();
        m.match_finished("even_odd", "WIN", Duration::from_millis(2));
        m.rpc_error("timeout");
        m.request("GAME_INVITATION", true);
        m.request("WHATEVER", false);
        let text = m.encode();
        assert!(
            text.contains("league_matches_total{game=\"even_odd\",status=\"WIN\"} 1"),
            "{text}"
        );
        assert!(text.contains("league_rpc_errors_total{kind=\"timeout\"} 1"));
        assert!(text.contains("league_requests_total{message_type=\"other\"} 1"));
        assert!(text.contains("league_match_seconds_count 1"));
    }
}
