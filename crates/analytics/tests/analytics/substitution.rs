//! `model_substitution`: the same token counts re-priced with a known cheaper model.

use crate::helpers::*;
use analytics::Confidence;
use analytics::analyses::{ModelSubstitutionInput, model_substitution};
use usage::UsageRecord;

// Catalogue prices (USD per million tokens, genai-prices 2026-08-21):
// claude-opus-4-1: 15 in / 75 out; claude-opus-4-6 (from 2026-03-13): 5 / 25;
// claude-sonnet-4-5: 3 / 15; claude-haiku-4-5: 1 / 5; gpt-5.5: 5 / 30; gpt-5: 1.25 / 10;
// gemini-2.5-pro: 1.25 / 10 (below 200k input tokens).

/// `n` calls spread over exactly 30 days (monthly factor 1).
fn month_of(
    n: i64,
    provider: &str,
    model: &str,
    feature: &str,
    input: u64,
    output: u64,
) -> Vec<UsageRecord> {
    (0..n)
        .map(|k| {
            let minute = if k == n - 1 {
                30 * DAY_MIN
            } else {
                k * (30 * DAY_MIN / n)
            };
            with_feature(call(minute, provider, model, input, output), feature)
        })
        .collect()
}

#[test]
fn same_tier_same_provider_substitute_reprices_the_tokens() {
    let mut records = month_of(100, "anthropic", "claude-opus-4-1", "summaries", 5_000, 500);
    // A priced model the tier table does not list: reported, never substituted.
    records.push(call(60, "openai", "gpt-4-turbo", 1_000, 100));
    let out = model_substitution(&ctx(&records), &ModelSubstitutionInput::default()).unwrap();
    assert_eq!(out.substitutions.len(), 1, "{out:?}");
    let s = &out.substitutions[0];
    assert_eq!(
        (
            s.from_model.as_str(),
            s.to_model.as_str(),
            s.to_provider.as_str()
        ),
        ("claude-opus-4-1", "claude-opus-4-6", "anthropic")
    );
    assert_eq!(
        (s.from_tier.as_str(), s.to_tier.as_str(), s.tier_down),
        ("frontier", "frontier", false)
    );
    assert_eq!(s.confidence, Confidence::Medium);
    assert_eq!(s.calls, 100);
    assert_close(
        s.current_cost_usd,
        100.0 * (usd(5_000, 15.0) + usd(500, 75.0)),
    );
    assert_close(
        s.substitute_cost_usd,
        100.0 * (usd(5_000, 5.0) + usd(500, 25.0)),
    );
    let expected = 100.0 * (usd(5_000, 15.0 - 5.0) + usd(500, 75.0 - 25.0)); // $7.50
    assert_close(s.monthly_savings_usd, expected);
    assert_close(out.total_monthly_savings_usd, expected);
    assert!(
        out.unclassified_models
            .iter()
            .any(|u| u.model == "gpt-4-turbo")
    );
    let rec = out.recommendation.as_ref().unwrap();
    assert_close(rec.monthly_savings_usd, expected);
    assert_eq!(rec.confidence, Confidence::Medium);
    assert_eq!(rec.evidence.calls, 100);
    assert_eq!(rec.evidence.features, ["summaries"]);
    assert!(
        rec.rationale.contains("LMArena"),
        "the tier table's source is stated"
    );
    assert!(out.summary().contains("claude-opus-4-6"));
}

#[test]
fn simple_traffic_may_go_one_tier_down_with_low_confidence() {
    let records = month_of(50, "anthropic", "claude-sonnet-4-5", "classify", 1_000, 100);
    // The savings here are cents: lift the $1/month reporting floor.
    let any = ModelSubstitutionInput {
        min_monthly_savings_usd: 0.0,
        ..Default::default()
    };
    let out = model_substitution(&ctx(&records), &any).unwrap();
    let s = &out.substitutions[0];
    assert_eq!(
        (s.to_model.as_str(), s.to_tier.as_str(), s.tier_down),
        ("claude-haiku-4-5", "fast", true)
    );
    assert_eq!(s.confidence, Confidence::Low);
    assert_close(
        s.monthly_savings_usd,
        50.0 * (usd(1_000, 3.0 - 1.0) + usd(100, 15.0 - 5.0)),
    );
    assert_eq!(
        out.recommendation.as_ref().unwrap().confidence,
        Confidence::Low
    );

    // Without the tier-down option, no cheaper model of the same tier exists (sonnet 4.6 costs the same).
    let none = model_substitution(
        &ctx(&records),
        &ModelSubstitutionInput {
            allow_tier_down: false,
            ..any.clone()
        },
    )
    .unwrap();
    assert!(none.substitutions.is_empty());
    assert!(none.recommendation.is_none());
    assert_eq!(none.total_monthly_savings_usd, 0.0);

    // Long outputs are not "simple": no tier down either.
    let long = month_of(50, "anthropic", "claude-sonnet-4-5", "write", 1_000, 900);
    assert!(
        model_substitution(&ctx(&long), &any)
            .unwrap()
            .substitutions
            .is_empty()
    );
}

#[test]
fn allowed_providers_choose_where_the_substitute_comes_from() {
    let records = month_of(40, "openai", "gpt-5.5", "triage", 1_000, 10);
    let per_call_saving = usd(1_000, 5.0 - 1.25) + usd(10, 30.0 - 10.0);
    let any = ModelSubstitutionInput {
        min_monthly_savings_usd: 0.0,
        ..Default::default()
    };
    let openai = model_substitution(&ctx(&records), &any).unwrap();
    let s = &openai.substitutions[0];
    assert_eq!(
        (s.to_model.as_str(), s.to_provider.as_str(), s.tier_down),
        ("gpt-5", "openai", false)
    );
    assert_close(s.monthly_savings_usd, 40.0 * per_call_saving);

    let google_only = ModelSubstitutionInput {
        allowed_providers: Some(vec!["google".into()]),
        ..any.clone()
    };
    let google = model_substitution(&ctx(&records), &google_only).unwrap();
    let s = &google.substitutions[0];
    assert_eq!(
        (s.to_model.as_str(), s.to_provider.as_str()),
        ("gemini-2.5-pro", "google")
    );
    assert_close(s.monthly_savings_usd, 40.0 * per_call_saving);

    // Under the default $1/month floor, these cents are not worth a recommendation.
    let nothing = ModelSubstitutionInput::default();
    assert!(
        model_substitution(&ctx(&records), &nothing)
            .unwrap()
            .recommendation
            .is_none()
    );
}
