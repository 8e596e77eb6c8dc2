//! The one way this project exposes metrics: a `prometheus-client`
//! [`Registry`] written as OpenMetrics text, served with
//! [`CONTENT_TYPE`]. The run's `/metrics` (pmd-agent's command line) and
//! the league's (league-v2) both go through here.

use prometheus_client::encoding::text::encode;
pub use prometheus_client::registry::Registry;

/// The content type of an exposition (what `prometheus-client` writes).
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The text exposition of every metric in `registry`.
pub fn exposition(registry: &Registry) -> String {
    let mut out = String::new();
    // Writing into a String cannot fail.
    let _ = encode(&mut out, registry);
    out
}

#[cfg(test)]
mod tests {
    use prometheus_client::metrics::counter::Counter;

    use super::*;

    #[test]
    fn an_exposition_is_openmetrics_text_ending_in_eof() {
        let mut registry = Registry::with_prefix("t");
        let c: Counter = Counter::default();
        registry.register("things", "Things seen", c.clone());
        c.inc();
        let text = exposition(&registry);
        assert!(text.contains("t_things_total 1"), "{text}");
        assert!(text.ends_with("# EOF\n"), "{text}");
    }
}
