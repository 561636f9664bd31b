//! LiteLLM spend logs: prompt_tokens includes cache tokens.

use super::{assert_usd, cost, fixture, line_of, run, skipped_lines};
use usage::{Format, Status, TokenCounts};

#[test]
fn spend_logs_with_cache_tokens_inside_prompt_tokens() {
    let text = fixture("litellm_spend_logs.json");
    let (records, report) = run(&text, Format::LiteLlmSpendLogs);
    assert_eq!(report.records, 4);
    assert_eq!(report.duplicates_dropped, 1);
    assert_eq!(
        skipped_lines(&report),
        vec![line_of(&text, "chatcmpl-77ad") - 1]
    );

    let sonnet = &records[0];
    // prompt_tokens 23,050 = 50 uncached + 20,000 read + 3,000 written.
    assert_eq!(
        sonnet.tokens,
        TokenCounts {
            input_uncached: 50,
            cache_read: 20_000,
            cache_write_5m: 3_000,
            output: 500,
            ..Default::default()
        }
    );
    assert_eq!(sonnet.provider.as_deref(), Some("anthropic"));
    assert_eq!(sonnet.latency_ms, Some(4_100));
    assert_eq!(sonnet.reported_cost_usd, Some(0.0249));
    assert_eq!(sonnet.tags.user.as_deref(), Some("customer-42"));
    assert_eq!(sonnet.tags.feature.as_deref(), Some("ticket-summary"));
    assert_eq!(sonnet.tags.environment.as_deref(), Some("prod"));
    assert_eq!(sonnet.tags.endpoint.as_deref(), Some("acompletion"));
    // The computed cost agrees with what LiteLLM reported.
    assert_usd(cost(sonnet), 0.0249);

    let gpt = &records[1];
    // metadata given as a JSON string; cached_tokens (800) inside prompt_tokens (2,000).
    assert_eq!(
        gpt.tokens,
        TokenCounts {
            input_uncached: 1_200,
            cache_read: 800,
            output: 300,
            ..Default::default()
        }
    );
    assert_eq!(gpt.tags.user.as_deref(), Some("dev-7"));
    assert_eq!(gpt.tags.feature.as_deref(), Some("chat"));
    assert_usd(cost(gpt), 0.007);

    let cached = &records[2];
    assert_eq!(
        (cached.tokens.total(), cached.reported_cost_usd),
        (0, Some(0.0)),
        "answered by LiteLLM's cache"
    );
    assert_eq!(cached.latency_ms, Some(4));

    assert_eq!(records[3].status, Status::RateLimited);
}
