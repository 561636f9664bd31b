//! OpenAI usage buckets and Anthropic usage reports: aggregates.

use super::{assert_usd, cost, fixture, line_of, run, skipped_lines};
use usage::{Format, ServiceTier, SkipReason, TokenCounts};

#[test]
fn openai_buckets_subtract_cached_tokens_from_input() {
    let text = fixture("openai_usage.json");
    let (records, report) = run(&text, Format::OpenAiUsageBuckets);
    assert_eq!((report.records, report.aggregates), (2, 2));
    assert_eq!(report.ignored, 1, "an empty result");
    // The third result of the first bucket starts 4 lines before its model line.
    assert_eq!(
        skipped_lines(&report),
        vec![line_of(&text, "\"input_cached_tokens\": 500") - 4]
    );
    assert_eq!(
        report.skipped[0].reason,
        SkipReason::CacheExceedsInput {
            cached: 500,
            total: 100
        }
    );

    let mini = &records[0];
    assert!(mini.is_aggregate());
    assert_eq!(mini.calls, 500);
    assert_eq!(mini.latency_ms, None);
    assert_eq!(mini.timestamp.to_rfc3339(), "2025-08-20T00:00:00+00:00");
    // input_tokens 1,000,000 includes the 400,000 cached.
    assert_eq!(
        mini.tokens,
        TokenCounts {
            input_uncached: 600_000,
            cache_read: 400_000,
            output: 200_000,
            ..Default::default()
        }
    );
    assert_eq!(mini.tags.feature.as_deref(), Some("proj_support"));
    // gpt-4o-mini: 600,000 x 0.15 + 400,000 x 0.075 + 200,000 x 0.6 per million = $0.24.
    assert_usd(cost(mini), 0.24);

    let nightly = &records[1];
    assert_eq!(
        (nightly.service_tier, nightly.calls),
        (ServiceTier::Batch, 2_000)
    );
    // Catalogue prices (no batch discount in the catalogue): 5M x 2.5 + 1M x 10 = $22.50.
    assert_usd(cost(nightly), 22.5);

    // The same export again (overlapping downloads) adds nothing.
    let mut importer = usage::Importer::new(Default::default());
    let first = importer
        .import(text.as_bytes(), Format::OpenAiUsageBuckets, &mut |_| {})
        .unwrap();
    let again = importer
        .import(text.as_bytes(), Format::OpenAiUsageBuckets, &mut |_| {})
        .unwrap();
    assert_eq!(
        (first.records, again.records, again.duplicates_dropped),
        (2, 0, 2)
    );
}

#[test]
fn anthropic_report_keeps_cache_kinds_apart_and_is_flagged_aggregate() {
    let text = fixture("anthropic_usage.json");
    let (records, report) = run(&text, Format::AnthropicUsageReport);
    assert_eq!((report.records, report.aggregates), (2, 2));
    assert_eq!(
        report.skipped[0].reason,
        SkipReason::MissingField("uncached_input_tokens")
    );
    assert_eq!(
        skipped_lines(&report),
        vec![line_of(&text, "\"cache_read_input_tokens\": 5,") - 1]
    );

    let sonnet = &records[0];
    // No request count in the report: one record, flagged as an aggregate.
    assert!(sonnet.aggregate && sonnet.is_aggregate());
    assert_eq!(sonnet.calls, 1);
    assert_eq!(
        sonnet.tokens,
        TokenCounts {
            input_uncached: 100_000,
            cache_read: 500_000,
            cache_write_5m: 20_000,
            cache_write_1h: 10_000,
            output: 30_000,
            reasoning: 0
        }
    );
    assert_eq!(sonnet.tags.feature.as_deref(), Some("wrkspc_support"));
    // Sonnet 4: 100,000 x 3 + 500,000 x 0.3 + 30,000 x 3.75 + 30,000 x 15 per million = $1.0125.
    assert_usd(cost(sonnet), 1.0125);

    let haiku = &records[1];
    assert_eq!(haiku.service_tier, ServiceTier::Batch);
    // Haiku 3.5: 2,000,000 x 0.8 + 400,000 x 4 per million = $3.20.
    assert_usd(cost(haiku), 3.2);
}

#[test]
fn one_page_per_line_and_bare_buckets_also_import() {
    let page = r#"{"data":[{"starting_at":"2025-08-20T00:00:00Z","ending_at":"2025-08-21T00:00:00Z","results":[{"uncached_input_tokens":10,"cache_read_input_tokens":0,"output_tokens":1,"model":"claude-3-5-haiku-20241022"}]}],"has_more":true}"#;
    let bucket = r#"{"starting_at":"2025-08-21T00:00:00Z","ending_at":"2025-08-22T00:00:00Z","results":[{"uncached_input_tokens":20,"output_tokens":2,"model":"claude-3-5-haiku-20241022"}]}"#;
    let (records, report) = run(&format!("{page}\n{bucket}\n"), Format::AnthropicUsageReport);
    assert_eq!((report.records, report.skipped_count), (2, 0));
    assert_eq!(records[1].tokens.input_uncached, 20);

    let openai = r#"{"object":"bucket","start_time":1755648000,"end_time":1755734400,"results":[{"input_tokens":10,"output_tokens":1,"input_cached_tokens":4,"num_model_requests":3,"model":"gpt-4o"}]}"#;
    let (records, _) = run(&format!("[{openai}, {openai}]"), Format::OpenAiUsageBuckets);
    assert_eq!(records.len(), 1, "the second copy is a duplicate");
    assert_eq!(records[0].tokens.input_uncached, 6);
}
