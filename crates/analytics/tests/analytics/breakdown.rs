//! `spend_breakdown` on a small set whose totals and percentiles are known.

use crate::helpers::*;
use analytics::analyses::{SpendBreakdownInput, spend_breakdown};
use analytics::{AnalysisError, full_analysis};
use usage::{Status, TokenCounts, UsageRecord};

// Catalogue prices used (USD per million tokens, genai-prices 2026-08-21):
// gpt-4o: input 2.5, output 10. claude-haiku-4-5: input 1, cache read 0.1, cache write 1.25, output 5.

fn known_set() -> Vec<UsageRecord> {
    let mut v = Vec::new();
    for k in 0..10i64 {
        // Nine calls on day 0, the tenth exactly 7 days after the first.
        let minute = if k == 9 { 7 * DAY_MIN } else { k };
        let mut r = with_feature(call(minute, "openai", "gpt-4o", 1_000, 100), "a");
        r.latency_ms = Some(100 * (k as u32 + 1));
        r.tags.user = Some("u1".into());
        v.push(r);
    }
    for k in 0..5i64 {
        let mut r = with_feature(
            call(3 * DAY_MIN + k, "anthropic", "claude-haiku-4-5", 2_000, 200),
            "b",
        );
        r.tags.user = Some("u2".into());
        if k == 0 {
            r.status = Status::Error;
        }
        v.push(r);
    }
    for k in 0..2i64 {
        v.push(with_feature(
            call(3 * DAY_MIN + 10 + k, "acme", "mystery-model", 500, 50),
            "b",
        ));
    }
    v
}

#[test]
fn totals_groups_and_extrapolation() {
    let ctx = ctx(&known_set());
    let b = spend_breakdown(&ctx, &SpendBreakdownInput::default()).unwrap();
    let gpt = usd(1_000, 2.5) + usd(100, 10.0); // 0.0035 per call
    let haiku = usd(2_000, 1.0) + usd(200, 5.0); // 0.003 per call
    let total = 10.0 * gpt + 5.0 * haiku;
    assert_close(b.totals.cost_usd, total);
    assert_close(b.span.monthly_factor, 30.0 / 7.0);
    assert_close(b.totals.monthly_usd, total * 30.0 / 7.0);
    assert_eq!(
        (
            b.totals.calls,
            b.totals.priced_calls,
            b.totals.unpriced_calls
        ),
        (17, 15, 2)
    );
    assert_eq!(b.totals.failed_calls, 1);
    assert_close(b.totals.error_rate, 1.0 / 17.0);

    let names: Vec<&str> = b.by_model.iter().map(|g| g.name.as_str()).collect();
    assert_eq!(names, ["gpt-4o", "claude-haiku-4-5", "mystery-model"]);
    assert_close(b.by_model[0].cost_usd.unwrap(), 10.0 * gpt);
    assert_close(b.by_model[0].share, 0.7);
    assert_close(b.by_model[1].error_rate, 0.2);
    assert_eq!(
        b.by_model[2].cost_usd, None,
        "an unpriced model has no cost, not $0"
    );
    assert_eq!(b.by_model[2].unpriced_calls, 2);

    let providers: Vec<(&str, Option<f64>)> = b
        .by_provider
        .iter()
        .map(|g| (g.name.as_str(), g.cost_usd))
        .collect();
    assert_eq!(providers.len(), 3);
    assert_eq!(providers[0].0, "openai");
    assert_eq!(providers[2], ("acme", None));

    let features: Vec<(&str, u64)> = b
        .by_feature
        .iter()
        .map(|g| (g.name.as_str(), g.calls))
        .collect();
    assert_eq!(features, [("a", 10), ("b", 7)]);
    assert_close(b.by_feature[1].cost_usd.unwrap(), 5.0 * haiku);
    let users: Vec<&str> = b.by_user.iter().map(|g| g.name.as_str()).collect();
    assert_eq!(users, ["u1", "u2", "(no user)"]);

    assert_eq!(b.by_day.len(), 8);
    assert_eq!(b.by_day[0].date, "2026-07-01");
    assert_eq!(b.by_day[0].calls, 9);
    assert_close(b.by_day[0].cost_usd, 9.0 * gpt);
    assert_eq!(b.by_day[3].calls, 7);
    assert_close(b.by_day[3].cost_usd, 5.0 * haiku);
    assert_eq!(b.by_day[3].by_model.len(), 2);
    assert_eq!(b.by_day[5].calls, 0);

    assert_eq!(b.token_mix.input_uncached, 10 * 1_000 + 5 * 2_000 + 2 * 500);
    assert_eq!(b.token_mix.output, 10 * 100 + 5 * 200 + 2 * 50);

    let overall = b.latency.unwrap();
    assert_eq!(
        (
            overall.p50_ms,
            overall.p95_ms,
            overall.p99_ms,
            overall.samples
        ),
        (500, 1_000, 1_000, 10)
    );
    assert_eq!(b.by_model[0].latency, Some(overall));
    assert_eq!(b.by_model[1].latency, None);

    assert_eq!(b.unpriced.len(), 1);
    assert_eq!(
        (b.unpriced[0].model.as_str(), b.unpriced[0].calls),
        ("mystery-model", 2)
    );
    assert!(b.unpriced[0].reason.contains("not in the price catalogue"));
    let summary = b.summary();
    assert!(
        summary.contains("mystery-model") && summary.contains("unpriced"),
        "{summary}"
    );
    assert!(summary.contains("7.0 days"), "{summary}");
}

#[test]
fn top_n_folds_the_rest_into_others() {
    let records: Vec<UsageRecord> = (0..5)
        .map(|k| {
            with_feature(
                call(k, "openai", "gpt-4o", 1_000 * (k as u64 + 1), 0),
                &format!("f{k}"),
            )
        })
        .collect();
    let b = spend_breakdown(
        &ctx(&records),
        &SpendBreakdownInput {
            top_n: 2,
            include_days: false,
        },
    )
    .unwrap();
    let names: Vec<&str> = b.by_feature.iter().map(|g| g.name.as_str()).collect();
    assert_eq!(names, ["f4", "f3", "(others)"]);
    assert_eq!(b.by_feature[2].merged_groups, Some(3));
    assert_eq!(b.by_feature[2].calls, 3);
    assert_close(
        b.by_feature[2].cost_usd.unwrap(),
        usd(1_000 + 2_000 + 3_000, 2.5),
    );
    assert!(b.by_day.is_empty());
}

#[test]
fn token_mix_prices_each_kind() {
    let mut r = call(0, "anthropic", "claude-haiku-4-5", 0, 0);
    r.tokens = TokenCounts {
        input_uncached: 1_000,
        cache_read: 2_000,
        cache_write_5m: 400,
        cache_write_1h: 0,
        output: 100,
        reasoning: 40,
    };
    let b = spend_breakdown(&ctx(&[r]), &SpendBreakdownInput::default()).unwrap();
    let k = &b.token_mix.cost_by_kind;
    assert_close(k.input_uncached, usd(1_000, 1.0));
    assert_close(k.cache_read, usd(2_000, 0.1));
    assert_close(k.cache_write, usd(400, 1.25));
    assert_close(k.output, usd(100, 5.0));
    assert_close(
        b.totals.cost_usd,
        usd(1_000, 1.0) + usd(2_000, 0.1) + usd(400, 1.25) + usd(100, 5.0),
    );
    assert_close(b.token_mix.shares.cache_read, 2_000.0 / 3_500.0);
    assert_close(b.token_mix.shares.reasoning, 40.0 / 3_500.0);
}

#[test]
fn a_short_span_is_floored_to_an_hour_and_flagged() {
    let records: Vec<UsageRecord> = (0..3)
        .map(|k| call(k * 5, "openai", "gpt-4o", 1_000, 100))
        .collect();
    let b = spend_breakdown(&ctx(&records), &SpendBreakdownInput::default()).unwrap();
    assert!(b.span.low_confidence);
    assert_close(b.span.observed_hours, 10.0 / 60.0);
    assert_close(b.span.monthly_factor, 720.0);
    assert_close(
        b.totals.monthly_usd,
        3.0 * (usd(1_000, 2.5) + usd(100, 10.0)) * 720.0,
    );
    assert!(b.summary().contains("low confidence"));
    let report = full_analysis(&ctx(&records)).unwrap();
    assert!(report.notes.iter().any(|n| n.contains("low confidence")));
}

#[test]
fn an_empty_dataset_is_an_error() {
    assert!(matches!(
        full_analysis(&ctx(&[])),
        Err(AnalysisError::EmptyDataset)
    ));
}
