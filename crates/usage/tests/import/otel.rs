//! OpenTelemetry GenAI spans: OTLP JSON documents and flattened spans.

use super::{assert_usd, cost, fixture, line_of, run, skipped_lines};
use usage::{Format, SkipReason, Status, TokenCounts};

#[test]
fn otlp_document_spans_with_cache_included_in_input() {
    let text = fixture("otlp.json");
    let (records, report) = run(&text, Format::OtelSpans);
    assert_eq!(report.records, 3);
    assert_eq!(report.ignored, 2, "an HTTP span and an invoke_agent span");
    // The span with a bad token count is reported at the line where it starts.
    assert_eq!(
        skipped_lines(&report),
        vec![line_of(&text, "ddd19b7ec3c1b178") - 2]
    );
    assert_eq!(
        report.skipped[0].reason,
        SkipReason::InvalidField {
            field: "gen_ai.usage.input_tokens",
            value: "lots".into()
        }
    );

    let gpt = &records[0];
    assert_eq!(
        gpt.model, "gpt-4o-2024-08-06",
        "the response model is preferred"
    );
    assert_eq!(gpt.provider.as_deref(), Some("openai"));
    // Semantic conventions: input_tokens (2,000) includes the 800 cache reads.
    assert_eq!(
        gpt.tokens,
        TokenCounts {
            input_uncached: 1_200,
            cache_read: 800,
            output: 300,
            ..Default::default()
        }
    );
    assert_eq!(gpt.latency_ms, Some(850));
    assert_eq!(gpt.request_id.as_deref(), Some("chatcmpl-A1"));
    assert_eq!(gpt.tags.user.as_deref(), Some("u-17"));
    assert_eq!(
        gpt.tags.feature.as_deref(),
        Some("support-bot"),
        "service.name of the resource"
    );
    assert_eq!(gpt.tags.environment.as_deref(), Some("prod"));
    assert_usd(cost(gpt), 0.007);

    let sonnet = &records[1];
    // 23,050 input = 50 uncached + 20,000 read + 3,000 written.
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
    assert_eq!(
        sonnet.provider.as_deref(),
        Some("anthropic"),
        "from the older gen_ai.system"
    );
    assert_usd(cost(sonnet), 0.0249);

    let limited = &records[2];
    assert_eq!(
        (limited.status, limited.tokens.total()),
        (Status::RateLimited, 0)
    );
}

#[test]
fn flattened_spans_with_older_attribute_names() {
    let (records, report) = run(&fixture("otel_spans.jsonl"), Format::OtelSpans);
    assert_eq!(report.records, 1);
    assert_eq!(report.duplicates_dropped, 1, "same trace and span id");
    assert_eq!(report.ignored, 1);
    assert_eq!(skipped_lines(&report), vec![4]);
    assert_eq!(
        report.skipped[0].reason,
        SkipReason::MissingField("start time")
    );
    let haiku = &records[0];
    // prompt_tokens (300) is smaller than cache read + creation (6,000): this
    // instrumentation reported Anthropic's raw, uncached input.
    assert_eq!(
        haiku.tokens,
        TokenCounts {
            input_uncached: 300,
            cache_read: 5_000,
            cache_write_5m: 1_000,
            output: 12,
            ..Default::default()
        }
    );
    assert_eq!(haiku.latency_ms, Some(1_200));
    assert_eq!(
        (
            haiku.tags.feature.as_deref(),
            haiku.tags.environment.as_deref()
        ),
        (Some("triage"), Some("staging"))
    );
    // Haiku 3.5: 300 x 0.8 + 5,000 x 0.08 + 1,000 x 1 + 12 x 4 per million = $0.001688.
    assert_usd(cost(haiku), 0.001688);
}
