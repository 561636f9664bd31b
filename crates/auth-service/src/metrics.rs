//! Prometheus metrics, held in a registry passed through the app state (no
//! global recorder): logins by outcome, refreshes by outcome,
//! introspections by result, and request latency by route.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    pub outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub method: String,
    pub route: String,
    pub status: u16,
}

/// The service's metrics.
pub struct Metrics {
    registry: Registry,
    pub logins: Family<OutcomeLabels, Counter>,
    pub registrations: Family<OutcomeLabels, Counter>,
    pub refreshes: Family<OutcomeLabels, Counter>,
    pub introspections: Family<OutcomeLabels, Counter>,
    pub request_duration: Family<RequestLabels, Histogram>,
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("apex_auth");
        let logins = Family::<OutcomeLabels, Counter>::default();
        let registrations = Family::<OutcomeLabels, Counter>::default();
        let refreshes = Family::<OutcomeLabels, Counter>::default();
        let introspections = Family::<OutcomeLabels, Counter>::default();
        let request_duration = Family::<RequestLabels, Histogram>::new_with_constructor(|| {
            Histogram::new([
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ])
        });
        registry.register("logins", "Login attempts by outcome", logins.clone());
        registry.register(
            "registrations",
            "Registrations by outcome",
            registrations.clone(),
        );
        registry.register(
            "token_refreshes",
            "Refresh-token exchanges by outcome",
            refreshes.clone(),
        );
        registry.register(
            "introspections",
            "Token introspections by result",
            introspections.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by route",
            request_duration.clone(),
        );
        Metrics {
            registry,
            logins,
            registrations,
            refreshes,
            introspections,
            request_duration,
        }
    }

    /// Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            tracing::error!("metrics encoding failed");
        }
        out
    }

    pub fn login(&self, outcome: &'static str) {
        self.logins.get_or_create(&OutcomeLabels { outcome }).inc();
    }

    pub fn registration(&self, outcome: &'static str) {
        self.registrations
            .get_or_create(&OutcomeLabels { outcome })
            .inc();
    }

    pub fn refresh(&self, outcome: &'static str) {
        self.refreshes
            .get_or_create(&OutcomeLabels { outcome })
            .inc();
    }

    pub fn introspection(&self, outcome: &'static str) {
        self.introspections
            .get_or_create(&OutcomeLabels { outcome })
            .inc();
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
