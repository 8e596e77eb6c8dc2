//! Prometheus metrics of one league agent (manager or player). Each agent
//! owns its registry, so several can live in one process (tests do).

use std::sync::atomic::AtomicI64;
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
