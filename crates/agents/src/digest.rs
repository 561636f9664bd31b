//! The digest: the figures the reporting agent writes from, gathered from the
//! tool results into one small JSON object.
//!
//! It is itself a tool result (the reporting agent's `summarise_findings`
//! call), so every figure of the answer, the template's or the model's, is
//! one a tool produced. The few figures computed here are stated with their
//! method: the combined saving (the savings overlap, so they are applied one
//! after another, never added up), its share of spend, and the savings target.
//!
//! Money is rounded to cents (to 4 decimals under a dollar) and percentages to
//! one decimal: the precision answers use.

use crate::triage::Intent;
use analytics::analyses::breakdown::Group;
use analytics::analyses::{CapacityOutput, ModelCapacity, SpendBreakdown};
use analytics::stats::Percentiles;
use analytics::{AnalysisSummary, Confidence, Evidence, Recommendation, Report};
use serde::Serialize;

/// How many models, features and users the digest lists.
const TOP_GROUPS: usize = 5;

/// What the user asked, as triage read it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QuestionDigest {
    pub intent: Intent,
    /// Savings target in percent ("cut costs by 30%").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_savings_pct: Option<f64>,
    /// Traffic growth asked about ("at 5x").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub growth: Option<f64>,
}

/// Dataset-wide spend.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpendDigest {
    /// USD per 30-day month, extrapolated.
    pub monthly_usd: f64,
    /// USD over the data's span.
    pub observed_usd: f64,
    pub calls: u64,
    pub failed_calls: u64,
    pub error_rate_pct: f64,
    pub unpriced_calls: u64,
    pub span_start: String,
    pub span_end: String,
    /// How the monthly figures were extrapolated.
    pub basis: String,
}

/// One model, feature, user or provider.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupDigest {
    /// `model`, `feature`, `user` or `provider`.
    pub kind: &'static str,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    pub calls: u64,
    /// `None` when none of its calls could be priced.
    pub monthly_usd: Option<f64>,
    pub observed_usd: Option<f64>,
    pub share_of_spend_pct: f64,
    pub error_rate_pct: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency: Option<Percentiles>,
}

/// One recommendation, ranked by saving.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecommendationDigest {
    pub rank: usize,
    pub id: String,
    pub title: String,
    pub monthly_savings_usd: f64,
    pub savings_pct_of_spend: f64,
    pub confidence: Confidence,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_effect: Option<String>,
    pub action: String,
    pub rationale: String,
    pub evidence: Evidence,
}

/// The recommendations' savings together.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SavingsDigest {
    /// Recommendations with a saving above zero.
    pub recommendations_with_savings: usize,
    /// Combined estimate, USD per month: see `method`.
    pub combined_monthly_usd: f64,
    pub combined_pct_of_spend: f64,
    pub largest_monthly_usd: f64,
    pub largest_title: String,
    pub method: &'static str,
}

/// The user's savings target against the combined saving.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TargetDigest {
    pub target_pct: f64,
    /// The target as USD per month.
    pub target_monthly_usd: f64,
    pub reached: bool,
}

/// Everything the answer may say, with numbers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Digest {
    pub question: QuestionDigest,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dataset: Option<String>,
    pub spend: SpendDigest,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency: Option<Percentiles>,
    pub top_models: Vec<GroupDigest>,
    pub top_features: Vec<GroupDigest>,
    pub top_users: Vec<GroupDigest>,
    /// Models, features, users or providers the question names.
    pub named_in_question: Vec<GroupDigest>,
    pub recommendations: Vec<RecommendationDigest>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub savings: Option<SavingsDigest>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<TargetDigest>,
    /// Per-model capacity at the asked growth (capacity questions).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub capacity: Vec<ModelCapacity>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capacity_growth: Option<f64>,
    /// Each analysis's one-line summary.
    pub analyses: Vec<AnalysisSummary>,
    pub notes: Vec<String>,
}

/// The method of [`SavingsDigest::combined_monthly_usd`].
pub const COMBINED_METHOD: &str = "the savings overlap (they can concern the same calls), so they are not added up: \
     each is applied to the spend left by the ones before it, as a share of spend";

impl Digest {
    /// Gathers the digest of a report for a question.
    pub fn build(
        question: QuestionDigest,
        message: &str,
        dataset: Option<&str>,
        report: &Report,
        capacity: Option<&CapacityOutput>,
    ) -> Digest {
        let b = &report.breakdown;
        let spend = spend_digest(b);
        let monthly = spend.monthly_usd;
        let pct_of = |usd: f64| {
            if monthly > 0.0 {
                round_pct(usd / monthly * 100.0)
            } else {
                0.0
            }
        };

        let recommendations: Vec<RecommendationDigest> = report
            .recommendations
            .iter()
            .enumerate()
            .map(|(i, r)| recommendation_digest(i + 1, r, pct_of(r.monthly_savings_usd)))
            .collect();
        let savings = savings_digest(&report.recommendations, monthly);
        let target = question.target_savings_pct.map(|target_pct| TargetDigest {
            target_pct,
            target_monthly_usd: round_usd(monthly * target_pct / 100.0),
            reached: savings
                .as_ref()
                .is_some_and(|s| s.combined_pct_of_spend >= target_pct),
        });

        let groups = |kind: &'static str, gs: &[Group]| -> Vec<GroupDigest> {
            gs.iter()
                .filter(|g| g.merged_groups.is_none())
                .take(TOP_GROUPS)
                .map(|g| group_digest(kind, g))
                .collect()
        };
        Digest {
            question,
            dataset: dataset.map(str::to_owned),
            latency: b.latency,
            top_models: groups("model", &b.by_model),
            top_features: groups("feature", &b.by_feature),
            top_users: groups("user", &b.by_user),
            named_in_question: named_in(message, b),
            recommendations,
            savings,
            target,
            capacity: capacity.map(|c| c.models.clone()).unwrap_or_default(),
            capacity_growth: capacity.map(|c| c.growth),
            analyses: report.analyses.clone(),
            notes: report.notes.clone(),
            spend,
        }
    }

    /// The digest as JSON (what the model reads and the tool event carries).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

fn spend_digest(b: &SpendBreakdown) -> SpendDigest {
    let t = &b.totals;
    SpendDigest {
        monthly_usd: round_usd(t.monthly_usd),
        observed_usd: round_usd(t.cost_usd),
        calls: t.calls,
        failed_calls: t.failed_calls,
        error_rate_pct: round_pct(t.error_rate * 100.0),
        unpriced_calls: t.unpriced_calls,
        span_start: b.span.start.format("%Y-%m-%d %H:%M UTC").to_string(),
        span_end: b.span.end.format("%Y-%m-%d %H:%M UTC").to_string(),
        basis: b.span.basis.clone(),
    }
}

fn group_digest(kind: &'static str, g: &Group) -> GroupDigest {
    GroupDigest {
        kind,
        name: g.name.clone(),
        provider: g.provider.clone(),
        calls: g.calls,
        monthly_usd: g.monthly_usd.map(round_usd),
        observed_usd: g.cost_usd.map(round_usd),
        share_of_spend_pct: round_pct(g.share * 100.0),
        error_rate_pct: round_pct(g.error_rate * 100.0),
        latency: g.latency,
    }
}

fn recommendation_digest(rank: usize, r: &Recommendation, pct: f64) -> RecommendationDigest {
    RecommendationDigest {
        rank,
        id: r.id.clone(),
        title: r.title.clone(),
        monthly_savings_usd: round_usd(r.monthly_savings_usd),
        savings_pct_of_spend: pct,
        confidence: r.confidence,
        latency_effect: r.latency_effect.clone(),
        action: r.action.clone(),
        rationale: r.rationale.clone(),
        evidence: r.evidence.clone(),
    }
}

/// The combined saving: `spend * (1 - prod(1 - s_i / spend))`.
fn savings_digest(recs: &[Recommendation], monthly: f64) -> Option<SavingsDigest> {
    let with_savings: Vec<&Recommendation> = recs
        .iter()
        .filter(|r| r.monthly_savings_usd > 0.0)
        .collect();
    let largest = with_savings
        .iter()
        .max_by(|a, b| a.monthly_savings_usd.total_cmp(&b.monthly_savings_usd))?;
    let combined = if monthly > 0.0 {
        let kept: f64 = with_savings
            .iter()
            .map(|r| 1.0 - (r.monthly_savings_usd / monthly).min(1.0))
            .product();
        monthly * (1.0 - kept)
    } else {
        0.0
    };
    Some(SavingsDigest {
        recommendations_with_savings: with_savings.len(),
        combined_monthly_usd: round_usd(combined),
        combined_pct_of_spend: if monthly > 0.0 {
            round_pct(combined / monthly * 100.0)
        } else {
            0.0
        },
        largest_monthly_usd: round_usd(largest.monthly_savings_usd),
        largest_title: largest.title.clone(),
        method: COMBINED_METHOD,
    })
}

/// Groups whose name the question mentions (case, spaces, `-` and `_` ignored).
fn named_in(message: &str, b: &SpendBreakdown) -> Vec<GroupDigest> {
    let message = format!(" {} ", words(message));
    let mut out = Vec::new();
    for (kind, groups) in [
        ("model", &b.by_model),
        ("feature", &b.by_feature),
        ("user", &b.by_user),
        ("provider", &b.by_provider),
    ] {
        for g in groups.iter().filter(|g| g.merged_groups.is_none()) {
            let name = words(&g.name);
            if name.len() >= 3 && message.contains(&format!(" {name} ")) {
                out.push(group_digest(kind, g));
            }
        }
    }
    out
}

fn words(s: &str) -> String {
    s.to_lowercase()
        .split(|c: char| !c.is_alphanumeric() && c != '.')
        .map(|w| w.trim_matches('.'))
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Cents, or 4 decimals under a dollar: what [`crate::format::usd`] shows.
pub fn round_usd(v: f64) -> f64 {
    let scale = if v.abs() >= 1.0 || v == 0.0 {
        100.0
    } else {
        10_000.0
    };
    (v * scale).round() / scale
}

/// One decimal.
pub fn round_pct(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_to_the_shown_precision() {
        assert_eq!(round_usd(1234.5678), 1234.57);
        assert_eq!(round_usd(0.004_216), 0.0042);
        assert_eq!(round_pct(12.345_6), 12.3);
    }

    #[test]
    fn normalises_names_for_matching() {
        assert_eq!(
            words("How much on support_chat?"),
            "how much on support chat"
        );
        assert_eq!(words("gpt-4.1"), "gpt 4.1");
        assert_eq!(words("and gpt-4.1."), "and gpt 4.1");
    }
}
