//! What a recommendation says: how much it saves per month, how sure we are,
//! and the evidence (which calls, how many, which numbers) behind it.

use serde::{Deserialize, Serialize};

/// The analyses that produce recommendations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecommendationKind {
    ModelSubstitution,
    PromptCaching,
    ResponseCaching,
    BatchApi,
    OversizedRequests,
    RetryWaste,
    Capacity,
}

impl RecommendationKind {
    /// Every kind, in report order.
    pub const ALL: [RecommendationKind; 7] = [
        RecommendationKind::ModelSubstitution,
        RecommendationKind::PromptCaching,
        RecommendationKind::ResponseCaching,
        RecommendationKind::BatchApi,
        RecommendationKind::OversizedRequests,
        RecommendationKind::RetryWaste,
        RecommendationKind::Capacity,
    ];

    /// The snake_case name (also the id of the recommendation and the name
    /// of the tool that produces it).
    pub fn as_str(self) -> &'static str {
        match self {
            RecommendationKind::ModelSubstitution => "model_substitution",
            RecommendationKind::PromptCaching => "prompt_caching",
            RecommendationKind::ResponseCaching => "response_caching",
            RecommendationKind::BatchApi => "batch_api",
            RecommendationKind::OversizedRequests => "oversized_requests",
            RecommendationKind::RetryWaste => "retry_waste",
            RecommendationKind::Capacity => "capacity",
        }
    }
}

/// How far to trust a recommendation's figure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Confidence {
    Low,
    Medium,
    High,
}

/// The unit of a [`Figure`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// USD observed over the data's span.
    Usd,
    /// USD per 30-day month (extrapolated).
    UsdPerMonth,
    Calls,
    Tokens,
    Ms,
    /// A percentage (12.5 means 12.5%).
    Percent,
    /// A plain ratio or multiplier.
    Ratio,
    RequestsPerMinute,
    TokensPerMinute,
    Count,
}

/// One number of the evidence, with its label and unit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Figure {
    pub label: String,
    pub value: f64,
    pub unit: Unit,
}

impl Figure {
    pub fn new(label: impl Into<String>, value: f64, unit: Unit) -> Self {
        Figure {
            label: label.into(),
            value,
            unit,
        }
    }
}

/// The calls and numbers a recommendation rests on.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// How many calls the recommendation concerns.
    pub calls: u64,
    /// The models concerned (as the data names them).
    pub models: Vec<String>,
    /// The features concerned.
    pub features: Vec<String>,
    /// The numbers behind the saving.
    pub figures: Vec<Figure>,
    /// A few example rows (indices into the dataset), at most
    /// [`MAX_SAMPLE_ROWS`]. The dataset keeps no request ids, so rows are
    /// given by index.
    pub sample_rows: Vec<usize>,
}

/// Most example rows kept in evidence.
pub const MAX_SAMPLE_ROWS: usize = 5;

/// A change to make, quantified.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recommendation {
    /// Stable id: the kind's name.
    pub id: String,
    pub kind: RecommendationKind,
    pub title: String,
    /// Estimated saving in USD per 30-day month, extrapolated from the data's
    /// span. 0 for findings that are not about money (capacity).
    pub monthly_savings_usd: f64,
    /// What happens to latency, when it changes.
    pub latency_effect: Option<String>,
    pub confidence: Confidence,
    pub evidence: Evidence,
    /// Why the figure is what it is, assumptions included.
    pub rationale: String,
    /// What to do.
    pub action: String,
}

/// Pushes `row` into `samples` unless it already holds enough.
pub(crate) fn push_sample(samples: &mut Vec<usize>, row: usize) {
    if samples.len() < MAX_SAMPLE_ROWS {
        samples.push(row);
    }
}

/// Formats USD for summaries: `$1,234.56`, `$0.0042` for small amounts.
pub fn usd(v: f64) -> String {
    if v.abs() >= 1.0 || v == 0.0 {
        let cents = (v.abs() * 100.0).round() as u64;
        let whole = group_thousands(cents / 100);
        format!(
            "{}${whole}.{:02}",
            if v < 0.0 { "-" } else { "" },
            cents % 100
        )
    } else {
        format!("${v:.4}")
    }
}

/// `1234567` as `1,234,567`.
pub fn group_thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usd_formatting() {
        assert_eq!(usd(1234.567), "$1,234.57");
        assert_eq!(usd(0.0), "$0.00");
        assert_eq!(usd(0.00421), "$0.0042");
        assert_eq!(usd(-12.5), "-$12.50");
        assert_eq!(group_thousands(1_000_000), "1,000,000");
        assert_eq!(group_thousands(999), "999");
    }

    #[test]
    fn kinds_serialise_as_their_names() {
        for k in RecommendationKind::ALL {
            assert_eq!(
                serde_json::to_value(k).unwrap(),
                serde_json::Value::String(k.as_str().to_owned())
            );
        }
    }
}
