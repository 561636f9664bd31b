//! The sample workload: every recommendation fires, with figures that can be
//! checked by hand against the spend breakdown.

use crate::helpers::*;
use analytics::{
    AnalysisContext, Recommendation, RecommendationKind, Report, full_analysis, sample_dataset,
};
use std::sync::{Arc, OnceLock};

fn report() -> &'static Report {
    static REPORT: OnceLock<Report> = OnceLock::new();
    REPORT.get_or_init(|| {
        let ctx = AnalysisContext::new(Arc::new(sample_dataset(42, 30, 1.0, None)), catalogue());
        full_analysis(&ctx).unwrap()
    })
}

fn rec(kind: RecommendationKind) -> &'static Recommendation {
    report()
        .recommendations
        .iter()
        .find(|r| r.kind == kind)
        .unwrap_or_else(|| panic!("{kind:?} did not fire"))
}

fn feature_monthly(name: &str) -> f64 {
    report()
        .breakdown
        .by_feature
        .iter()
        .find(|g| g.name == name)
        .and_then(|g| g.monthly_usd)
        .unwrap()
}

#[test]
fn every_recommendation_fires_on_the_sample() {
    for kind in RecommendationKind::ALL {
        let r = rec(kind);
        if kind == RecommendationKind::Capacity {
            assert_eq!(
                r.monthly_savings_usd, 0.0,
                "capacity is a finding, not a saving"
            );
        } else {
            assert!(
                r.monthly_savings_usd > 0.0,
                "{kind:?}: {}",
                r.monthly_savings_usd
            );
        }
        assert!(
            r.evidence.calls > 0 && !r.evidence.figures.is_empty(),
            "{kind:?} has evidence"
        );
        assert!(!r.rationale.is_empty() && !r.action.is_empty());
    }
    assert_eq!(
        report().recommendations.len(),
        RecommendationKind::ALL.len()
    );
}

#[test]
fn sample_figures_check_out_by_hand() {
    let r = report();
    assert!(
        (r.monthly_factor - 1.0).abs() < 1e-3,
        "30 days of data: factor {}",
        r.monthly_factor
    );
    // Batch: half of what the nightly job costs.
    let nightly = feature_monthly("nightly_summaries");
    assert_close(
        rec(RecommendationKind::BatchApi).monthly_savings_usd,
        0.5 * nightly,
    );
    // Substitution of the nightly job: claude-opus-4-1 (15/75 per Mtok) to claude-opus-4-6 (5/25) saves two thirds.
    let substitution = rec(RecommendationKind::ModelSubstitution);
    let nightly_figure = substitution
        .evidence
        .figures
        .iter()
        .find(|f| f.label.starts_with("nightly_summaries"))
        .unwrap();
    assert!(
        nightly_figure
            .label
            .contains("claude-opus-4-1 -> claude-opus-4-6")
    );
    assert!((nightly_figure.value - nightly * 2.0 / 3.0).abs() < 1e-6 * nightly);
    // Retry waste is at most the cost of all failed calls' features, and the unpriced model is reported.
    assert!(
        rec(RecommendationKind::RetryWaste).monthly_savings_usd < r.breakdown.totals.monthly_usd
    );
    assert_eq!(r.unpriced.len(), 1);
    assert_eq!(r.unpriced[0].model, "acme-intent-ft-v2");
    assert!(r.notes.iter().any(|n| n.contains("do not add them up")));
    assert_eq!(r.analyses.len(), 8);
}

#[test]
fn the_report_round_trips_through_json() {
    // serde_json parses floats to within one ulp, so compare with a tolerance.
    let json = serde_json::to_string(report()).unwrap();
    let back: Report = serde_json::from_str(&json).unwrap();
    assert_eq!(back.recommendations.len(), report().recommendations.len());
    for (a, b) in back.recommendations.iter().zip(&report().recommendations) {
        assert_eq!(
            (&a.id, a.kind, &a.title, a.confidence),
            (&b.id, b.kind, &b.title, b.confidence)
        );
        assert!(
            (a.monthly_savings_usd - b.monthly_savings_usd).abs()
                <= 1e-9 * b.monthly_savings_usd.abs()
        );
        assert_eq!(a.evidence.calls, b.evidence.calls);
    }
    assert_eq!(
        back.breakdown.by_model.len(),
        report().breakdown.by_model.len()
    );
    assert_eq!(back.span.start, report().span.start);
    assert_eq!(back.unpriced, report().unpriced);
}

#[test]
fn the_sample_is_deterministic() {
    let a = sample_dataset(9, 3, 0.5, None);
    let b = sample_dataset(9, 3, 0.5, None);
    // Rows hold NaN (no reported cost), so compare their debug forms.
    assert_eq!(format!("{:?}", a.rows), format!("{:?}", b.rows));
    assert_eq!(a.len(), b.len());
    assert!(a.rows.windows(2).all(|w| w[0].ts_ms <= w[1].ts_ms));
}

#[test]
fn the_fused_full_analysis_matches_each_tool_alone() {
    let ctx = AnalysisContext::new(Arc::new(sample_dataset(5, 10, 0.3, None)), catalogue());
    let report = full_analysis(&ctx).unwrap();
    let toolbox = analytics::Toolbox::new();
    for (summary, spec) in report.analyses.iter().zip(analytics::tools()) {
        let alone = toolbox
            .call(spec.name, serde_json::Value::Null, &ctx)
            .unwrap();
        assert_eq!(summary.tool, spec.name);
        assert_eq!(summary.summary, alone.summary, "{}", spec.name);
        if let Some(rec) = alone.recommendation {
            assert!(report.recommendations.contains(&rec), "{}", spec.name);
        }
    }
    let breakdown = toolbox
        .call("spend_breakdown", serde_json::Value::Null, &ctx)
        .unwrap();
    assert_eq!(
        serde_json::to_value(&report.breakdown).unwrap(),
        breakdown.result
    );
}
