//! `prompt_caching` and `response_caching` on constructed groups of calls.

use crate::helpers::*;
use analytics::Confidence;
use analytics::analyses::{
    PromptCachingInput, ResponseCachingInput, prompt_caching, response_caching,
};
use usage::{Status, TokenCounts, UsageRecord};

// Catalogue prices (USD per million tokens, genai-prices 2026-08-21):
// claude-sonnet-4-5 (below 200k input): input 3, cache write 3.75, cache read 0.3, output 15.
// gpt-4o: input 2.5, cache read 1.25, no cache write price (writes cost plain input), output 10.

fn with_prefix(mut r: UsageRecord, hash: u64, tokens: u32) -> UsageRecord {
    r.prefix_hash = Some(hash);
    r.prefix_tokens = Some(tokens);
    r
}

/// A call at exactly 30 days, so the monthly factor is 1.
fn month_end() -> UsageRecord {
    call(30 * DAY_MIN, "openai", "gpt-4o", 10, 1)
}

fn anthropic_groups() -> Vec<UsageRecord> {
    let mut v = Vec::new();
    // Group A: 2,000-token prefix, calls at minutes 0..=9 (one write, nine hits), then at 20 (expired: a write).
    for minute in (0..10).chain([20]) {
        v.push(with_feature(
            with_prefix(
                call(minute, "anthropic", "claude-sonnet-4-5", 2_500, 100),
                0xA,
                2_000,
            ),
            "chat",
        ));
    }
    // A 429 on the same prefix: rejected before any token was processed, it neither reads nor writes.
    let mut rejected = with_prefix(call(5, "anthropic", "claude-sonnet-4-5", 0, 0), 0xA, 2_000);
    rejected.status = Status::RateLimited;
    v.push(rejected);
    // Group B: an 800-token prefix, under Anthropic's 1,024 minimum.
    for minute in 0..5 {
        v.push(with_prefix(
            call(minute, "anthropic", "claude-sonnet-4-5", 1_000, 100),
            0xB,
            800,
        ));
    }
    // Group C: used once: a write and nothing to read.
    v.push(with_prefix(
        call(30, "anthropic", "claude-sonnet-4-5", 4_000, 100),
        0xC,
        3_000,
    ));
    v.push(month_end());
    v
}

#[test]
fn replays_windows_with_write_premium_and_read_discount() {
    let out = prompt_caching(&ctx(&anthropic_groups()), &PromptCachingInput::default()).unwrap();
    assert!(out.missing_data.is_none());
    assert_eq!(out.groups.len(), 1, "{out:?}");
    let g = &out.groups[0];
    assert_eq!(
        (g.cache_hits, g.cache_writes, g.calls, g.prefix_tokens),
        (9, 2, 11, 2_000)
    );
    assert_eq!(
        (g.model.as_str(), g.provider.as_str(), g.feature.as_str()),
        ("claude-sonnet-4-5", "anthropic", "chat")
    );
    // Nine reads save 3 - 0.3 per Mtok of prefix; two writes cost 3.75 - 3 more.
    let expected = 9.0 * usd(2_000, 3.0 - 0.3) - 2.0 * usd(2_000, 3.75 - 3.0);
    assert_close(g.monthly_savings_usd, expected);
    assert_close(out.total_monthly_savings_usd, expected);
    assert_eq!(out.below_minimum_calls, 5);
    let rec = out.recommendation.as_ref().unwrap();
    assert_close(rec.monthly_savings_usd, expected);
    assert_eq!(rec.evidence.calls, 11);
    assert!(rec.title.contains("2,000-token"), "{}", rec.title);
    assert!(rec.action.contains("cache_control"));
}

#[test]
fn rows_out_of_time_order_give_the_same_answer() {
    let mut records = anthropic_groups();
    records.reverse();
    let out = prompt_caching(&ctx(&records), &PromptCachingInput::default()).unwrap();
    let g = &out.groups[0];
    assert_eq!((g.cache_hits, g.cache_writes), (9, 2));
    assert_close(
        out.total_monthly_savings_usd,
        9.0 * usd(2_000, 2.7) - 2.0 * usd(2_000, 0.75),
    );
}

#[test]
fn a_longer_ttl_turns_the_late_call_into_a_hit() {
    let input = PromptCachingInput {
        ttl_minutes: Some(15),
        ..Default::default()
    };
    let out = prompt_caching(&ctx(&anthropic_groups()), &input).unwrap();
    let g = &out.groups[0];
    assert_eq!((g.cache_hits, g.cache_writes), (10, 1));
    assert_close(
        out.total_monthly_savings_usd,
        10.0 * usd(2_000, 2.7) - usd(2_000, 0.75),
    );
}

#[test]
fn no_write_premium_where_the_catalogue_has_no_write_price() {
    let mut v = Vec::new();
    for minute in 0..3 {
        v.push(with_prefix(
            call(minute, "openai", "gpt-4o", 1_500, 50),
            0x0A1,
            1_024,
        ));
    }
    // Already cached in the data: nothing more to gain on this call.
    let mut cached = with_prefix(call(3, "openai", "gpt-4o", 0, 50), 0x0A1, 1_024);
    cached.tokens = TokenCounts {
        input_uncached: 476,
        cache_read: 1_024,
        output: 50,
        ..TokenCounts::default()
    };
    v.push(cached);
    v.push(month_end());
    let out = prompt_caching(&ctx(&v), &PromptCachingInput::default()).unwrap();
    let g = &out.groups[0];
    assert_eq!((g.cache_hits, g.cache_writes, g.already_cached), (2, 1, 1));
    assert_close(out.total_monthly_savings_usd, 2.0 * usd(1_024, 2.5 - 1.25));
}

#[test]
fn without_prefix_hashes_it_says_what_is_missing() {
    let v = vec![
        call(0, "openai", "gpt-4o", 5_000, 10),
        call(1, "openai", "gpt-4o", 5_000, 10),
    ];
    let out = prompt_caching(&ctx(&v), &PromptCachingInput::default()).unwrap();
    assert!(out.missing_data.as_deref().unwrap().contains("prefix_hash"));
    assert!(out.recommendation.is_none());
    assert_eq!(out.total_monthly_savings_usd, 0.0);
    assert!(out.summary().contains("not estimated"));
}

#[test]
fn exact_duplicates_cost_all_but_the_earliest_call() {
    let mut v = Vec::new();
    // 100 identical prompts over exactly 10 days (factor 3); the earliest, pushed last, costs more.
    for k in 1..100i64 {
        let minute = if k == 99 { 10 * DAY_MIN } else { k * 144 };
        let mut r = with_feature(call(minute, "openai", "gpt-4o", 1_000, 100), "faq");
        r.prompt_hash = Some(42);
        r.latency_ms = Some(800);
        v.push(r);
    }
    let mut earliest = with_feature(call(0, "openai", "gpt-4o", 1_000, 500), "faq");
    earliest.prompt_hash = Some(42);
    // Unique prompts, a failed repeat and the same prompt on another model are not duplicates.
    for k in 0..10 {
        let mut r = call(200 + k, "openai", "gpt-4o", 1_000, 100);
        r.prompt_hash = Some(1_000 + k as u64);
        v.push(r);
    }
    let mut failed_repeat = failed(call(300, "openai", "gpt-4o", 1_000, 100), Status::Error);
    failed_repeat.prompt_hash = Some(42);
    v.push(failed_repeat);
    let mut other_model = call(301, "openai", "gpt-4o-mini", 1_000, 100);
    other_model.prompt_hash = Some(42);
    v.push(other_model);
    v.push(earliest);

    let out = response_caching(&ctx(&v), &ResponseCachingInput::default()).unwrap();
    assert_eq!((out.duplicate_calls, out.duplicated_prompts), (99, 1));
    assert_eq!(out.groups[0].calls, 100);
    assert_eq!(out.groups[0].prompt_hash, format!("{:016x}", 42));
    let per_call = usd(1_000, 2.5) + usd(100, 10.0); // $0.0035
    assert_close(out.groups[0].duplicate_cost_usd, 99.0 * per_call);
    assert_close(out.total_monthly_savings_usd, 99.0 * per_call * 3.0);
    let rec = out.recommendation.as_ref().unwrap();
    assert_close(rec.monthly_savings_usd, 99.0 * per_call * 3.0);
    assert_eq!(rec.confidence, Confidence::High);
    assert_eq!(rec.evidence.calls, 99);
    assert!(rec.latency_effect.as_deref().unwrap().contains("ms"));
}

#[test]
fn response_caching_without_prompt_hashes_says_so() {
    let v = vec![call(0, "openai", "gpt-4o", 1_000, 10)];
    let out = response_caching(&ctx(&v), &ResponseCachingInput::default()).unwrap();
    assert!(out.missing_data.as_deref().unwrap().contains("prompt_hash"));
    assert!(out.recommendation.is_none());
}
