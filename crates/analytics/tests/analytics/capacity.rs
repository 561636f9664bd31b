//! `capacity`: busiest and 99th-percentile minutes at 3x against rate limits.

use crate::helpers::*;
use analytics::analyses::{CapacityInput, capacity};
use analytics::{
    AnalysisContext, AnalysisError, Confidence, LimitSource, RateLimit, RateLimits,
    RecommendationKind,
};
use usage::{TokenCounts, UsageRecord};

/// 10 calls in minute 0, then one a minute up to minute 99; 1,100 tokens each.
fn traffic() -> Vec<UsageRecord> {
    let mut v: Vec<UsageRecord> = (0..10)
        .map(|_| call(0, "openai", "gpt-4o", 1_000, 100))
        .collect();
    v.extend((1..100).map(|m| call(m, "openai", "gpt-4o", 1_000, 100)));
    v
}

fn limit(rpm: u64, tpm: u64) -> RateLimit {
    RateLimit {
        provider: Some("openai".into()),
        model: Some("gpt-4o".into()),
        rpm: Some(rpm),
        tpm: Some(tpm),
        source: LimitSource::Configured,
        note: None,
    }
}

#[test]
fn shortfall_at_three_times_the_busiest_minute() {
    let input = CapacityInput {
        rate_limits: vec![limit(20, 30_000)],
        ..Default::default()
    };
    let out = capacity(&ctx(&traffic()), &input).unwrap();
    let m = &out.models[0];
    assert_eq!((m.peak_rpm, m.peak_tpm), (10, 11_000));
    assert_eq!(m.peak_rpm_at, at_min(0));
    assert_eq!((m.p99_rpm, m.p99_tpm), (1, 1_100));
    assert_eq!((m.projected_peak_rpm, m.projected_peak_tpm), (30, 33_000));
    assert_close(m.rpm_headroom_pct.unwrap(), -50.0);
    assert_close(m.tpm_headroom_pct.unwrap(), -10.0);
    assert!(m.short && !m.short_at_p99);
    assert_eq!(m.limit_source, Some(LimitSource::Configured));
    let rec = out.recommendation.as_ref().unwrap();
    assert_eq!(rec.kind, RecommendationKind::Capacity);
    assert_eq!(rec.monthly_savings_usd, 0.0);
    assert_eq!(rec.confidence, Confidence::Medium);
    assert!(
        rec.title.contains("requests-per-minute") && rec.title.contains("30 against 20"),
        "{}",
        rec.title
    );
    assert!(rec.evidence.figures.iter().any(|f| f.value == 33_000.0));
}

#[test]
fn headroom_when_limits_are_ample() {
    let input = CapacityInput {
        rate_limits: vec![limit(1_000, 1_000_000)],
        ..Default::default()
    };
    let out = capacity(&ctx(&traffic()), &input).unwrap();
    assert!(out.recommendation.is_none());
    assert_close(out.models[0].rpm_headroom_pct.unwrap(), 97.0);
    assert!(out.summary().contains("within"), "{}", out.summary());

    let assumed = capacity(&ctx(&traffic()), &CapacityInput::default()).unwrap();
    assert_eq!(assumed.models[0].limit_source, Some(LimitSource::Assumed));
    assert_eq!(assumed.models[0].rpm_limit, Some(5_000));

    let none =
        AnalysisContext::new(dataset(&traffic()), catalogue()).with_rate_limits(RateLimits::none());
    let out = capacity(&none, &CapacityInput::default()).unwrap();
    assert_eq!(out.models[0].rpm_limit, None);
    assert!(
        out.summary().starts_with("No rate limits known"),
        "{}",
        out.summary()
    );
}

#[test]
fn growth_must_be_positive() {
    let input = CapacityInput {
        growth: 0.0,
        ..Default::default()
    };
    assert!(matches!(
        capacity(&ctx(&traffic()), &input),
        Err(AnalysisError::InvalidParameter { name: "growth", .. })
    ));
}

#[test]
fn long_spans_and_aggregates() {
    // Ten years: too many minutes for the dense table, same answer from the sparse one.
    let mut v = traffic();
    v.push(call(10 * 365 * DAY_MIN, "openai", "gpt-4o", 1_000, 100));
    // A usage-API bucket: counted as its 500 calls in the totals, but it has no per-minute timing.
    let mut bucket = call(60, "openai", "gpt-4o", 0, 0);
    bucket.calls = 500;
    bucket.aggregate = true;
    bucket.tokens = TokenCounts {
        input_uncached: 500_000,
        output: 50_000,
        ..TokenCounts::default()
    };
    v.push(bucket);
    let input = CapacityInput {
        rate_limits: vec![limit(20, 30_000)],
        ..Default::default()
    };
    let out = capacity(&ctx(&v), &input).unwrap();
    let m = &out.models[0];
    assert_eq!((m.peak_rpm, m.peak_tpm, m.calls), (10, 11_000, 110));
    assert_eq!(out.aggregate_records_skipped, 1);
    assert!(m.short);
    let b = analytics::analyses::spend_breakdown(&ctx(&v), &Default::default()).unwrap();
    assert_eq!(b.totals.calls, 110 + 500);
    assert_eq!(b.latency, None, "no call here has a latency");
}
