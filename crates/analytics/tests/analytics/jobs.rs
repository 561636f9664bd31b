//! `batch_api`, `oversized_requests` and `retry_waste` on constructed traffic.

use crate::helpers::*;
use analytics::Confidence;
use analytics::analyses::{
    BatchApiInput, BatchReason, OversizedInput, RetryWasteInput, batch_api, oversized_requests,
    retry_waste,
};
use usage::{ServiceTier, Status, UsageRecord};

// Catalogue prices (USD per million tokens, genai-prices 2026-08-21):
// gpt-4o: input 2.5, output 10; claude-haiku-4-5: input 1, output 5.
const GPT4O_CALL: f64 = 0.0035; // 1,000 in + 100 out
const HAIKU_CALL: f64 = 0.003; // 2,000 in + 200 out

fn month_end() -> UsageRecord {
    with_feature(call(30 * DAY_MIN, "openai", "gpt-4o", 1_000, 100), "chat")
}

#[test]
fn batch_discount_on_tagged_and_night_traffic() {
    // Calls at minute 0 and at 30 days: the monthly factor is 1.
    let mut v = vec![with_feature(
        call(0, "openai", "gpt-4o", 1_000, 100),
        "chat",
    )];
    for k in 0..40i64 {
        v.push(with_feature(
            call(
                (k % 30) * DAY_MIN + 60 + k / 30,
                "openai",
                "gpt-4o",
                1_000,
                100,
            ),
            "nightly_report",
        ));
    }
    for k in 0..10i64 {
        let mut r = with_feature(
            call(k * DAY_MIN + 70, "openai", "gpt-4o", 1_000, 100),
            "nightly_report",
        );
        r.service_tier = ServiceTier::Batch;
        v.push(r);
    }
    for k in 0..20i64 {
        let mut r = with_feature(
            call(
                k * DAY_MIN + 840,
                "anthropic",
                "claude-haiku-4-5",
                2_000,
                200,
            ),
            "exports",
        );
        r.tags.endpoint = Some("/cron/export".into());
        v.push(r);
    }
    for k in 0..30i64 {
        v.push(with_feature(
            call(k * DAY_MIN + 180, "openai", "gpt-4o", 1_000, 100),
            "digest",
        ));
    }
    for k in 0..50i64 {
        v.push(with_feature(
            call(
                (k % 30) * DAY_MIN + 600 + k / 30,
                "openai",
                "gpt-4o",
                1_000,
                100,
            ),
            "chat",
        ));
    }
    for k in 0..25i64 {
        v.push(with_feature(
            call(k * DAY_MIN + 90, "deepseek", "deepseek-chat", 1_000, 100),
            "nightly_deepseek",
        ));
    }
    v.push(month_end());

    let out = batch_api(&ctx(&v), &BatchApiInput::default()).unwrap();
    let seg = |name: &str| out.segments.iter().find(|s| s.feature == name);
    let nightly = seg("nightly_report").unwrap();
    assert_eq!(
        (nightly.reason, nightly.already_discounted_calls),
        (BatchReason::Tags, 10)
    );
    assert_close(nightly.eligible_cost_usd, 40.0 * GPT4O_CALL);
    assert_close(nightly.monthly_savings_usd, 0.5 * 40.0 * GPT4O_CALL);
    let exports = seg("exports").unwrap();
    assert_eq!(
        exports.reason,
        BatchReason::Tags,
        "the endpoint names a cron job"
    );
    assert_close(exports.monthly_savings_usd, 0.5 * 20.0 * HAIKU_CALL);
    let digest = seg("digest").unwrap();
    assert_eq!(digest.reason, BatchReason::NightTraffic);
    assert_close(digest.night_share, 1.0);
    assert!(seg("chat").is_none());
    assert!(
        seg("nightly_deepseek").is_none(),
        "DeepSeek has no batch API in the table"
    );

    let expected = 0.5 * (40.0 * GPT4O_CALL + 20.0 * HAIKU_CALL + 30.0 * GPT4O_CALL);
    assert_close(out.total_monthly_savings_usd, expected);
    let rec = out.recommendation.as_ref().unwrap();
    assert_close(rec.monthly_savings_usd, expected);
    assert_eq!(rec.confidence, Confidence::High);
    assert_eq!(rec.evidence.calls, 40 + 20 + 30);
    assert!(
        out.offers
            .iter()
            .any(|o| o.starts_with("deepseek: no batch API"))
    );
}

#[test]
fn oversized_calls_are_trimmed_to_twice_the_median() {
    let mut v = Vec::new();
    for k in 0..100i64 {
        v.push(with_feature(
            call(k, "openai", "gpt-4o", 1_000, 100),
            "drafts",
        ));
    }
    v.push(with_feature(
        call(200, "openai", "gpt-4o", 20_000, 100),
        "drafts",
    ));
    v.push(with_feature(
        call(201, "openai", "gpt-4o", 20_000, 100),
        "drafts",
    ));
    v.push(with_feature(
        call(202, "openai", "gpt-4o", 1_000, 5_000),
        "drafts",
    ));
    // Too few calls for a stable median: never judged.
    for k in 0..10i64 {
        v.push(with_feature(
            call(
                300 + k,
                "openai",
                "gpt-4o",
                if k == 0 { 90_000 } else { 500 },
                10,
            ),
            "rare",
        ));
    }
    v.push(month_end());

    let out = oversized_requests(&ctx(&v), &OversizedInput::default()).unwrap();
    assert_eq!(out.features.len(), 1, "{out:?}");
    let f = &out.features[0];
    assert_eq!(
        (
            f.feature.as_str(),
            f.median_input_tokens,
            f.median_output_tokens
        ),
        ("drafts", 1_000, 100)
    );
    assert_eq!((f.oversized_input_calls, f.oversized_output_calls), (2, 1));
    // Inputs trimmed from 20,000 to 2,000 tokens; the output from 5,000 to 200.
    let expected = 2.0 * usd(18_000, 2.5) + usd(4_800, 10.0);
    assert_close(f.monthly_savings_usd, expected);
    assert_close(out.total_monthly_savings_usd, expected);
    assert_eq!(out.oversized_calls, 3);
    let rec = out.recommendation.as_ref().unwrap();
    assert_close(rec.monthly_savings_usd, expected);
    assert_eq!(rec.confidence, Confidence::Medium);
    assert_eq!(rec.evidence.sample_rows, [100, 101, 102]);

    // A higher floor leaves the 20,000-token inputs alone.
    let strict = OversizedInput {
        min_input_tokens: 25_000,
        ..Default::default()
    };
    let out = oversized_requests(&ctx(&v), &strict).unwrap();
    assert_close(out.total_monthly_savings_usd, usd(4_800, 10.0));
}

#[test]
fn retry_waste_is_the_failed_calls_cost() {
    let mut v = Vec::new();
    for k in 0..20i64 {
        v.push(with_feature(
            call(100 + k, "openai", "gpt-4o", 1_000, 100),
            "api",
        ));
    }
    for k in 0..5i64 {
        v.push(with_feature(
            failed(call(k, "openai", "gpt-4o", 1_000, 50), Status::Error),
            "api",
        ));
        let mut retry = with_feature(call(k, "openai", "gpt-4o", 1_000, 100), "api");
        retry.attempt = Some(2);
        v.push(retry);
    }
    for k in 5..8i64 {
        v.push(with_feature(
            failed(call(k, "openai", "gpt-4o", 0, 0), Status::RateLimited),
            "api",
        ));
    }
    v.push(with_feature(
        failed(call(8, "acme", "mystery-model", 500, 5), Status::Error),
        "api",
    ));
    v.push(month_end());

    let out = retry_waste(&ctx(&v), &RetryWasteInput::default()).unwrap();
    let failed_cost = 5.0 * (usd(1_000, 2.5) + usd(50, 10.0)); // $0.015
    assert_eq!(
        (
            out.failed_calls,
            out.error_calls,
            out.rate_limited_calls,
            out.unpriced_failed_calls
        ),
        (9, 6, 3, 1)
    );
    assert_close(out.failed_cost_usd, failed_cost);
    assert_close(out.total_monthly_savings_usd, failed_cost);
    assert_eq!(out.retry_calls, 5);
    assert_close(out.retry_cost_usd, 5.0 * GPT4O_CALL);
    assert_eq!(out.worst_hours[0].failed_calls, 9);
    assert_close(out.worst_hours_share, 1.0);
    let top = &out.segments[0];
    assert_eq!(
        (top.feature.as_str(), top.model.as_str(), top.failed_calls),
        ("api", "gpt-4o", 8)
    );
    let rec = out.recommendation.as_ref().unwrap();
    assert_close(rec.monthly_savings_usd, failed_cost);
    assert_eq!(rec.evidence.calls, 9);
    assert!(rec.rationale.contains("outage bursts"));
}
