//! Claude Code transcripts: last line per request, synthetic messages,
//! Anthropic cache semantics, the pending window and cross-file duplicates.

use super::{assert_usd, cost, fixture, run, run_with, skipped_lines};
use usage::{Format, ImportOptions, Importer, SkipReason, TokenCounts};

#[test]
fn keeps_the_last_line_of_each_request_with_anthropic_cache_split() {
    let (records, report) = run(&fixture("claude_code.jsonl"), Format::ClaudeCodeTranscript);
    assert_eq!(report.records, 3);
    assert_eq!(report.superseded, 1, "req_011CAAA has two lines");
    assert_eq!(
        report.ignored, 4,
        "summary, two user lines, one <synthetic> message"
    );
    assert_eq!(skipped_lines(&report), vec![8]);
    assert!(matches!(
        report.skipped[0].reason,
        SkipReason::InvalidJson(_)
    ));
    assert_eq!(report.aggregates, 0);

    let a = &records[0];
    assert_eq!(a.request_id.as_deref(), Some("req_011CAAA"));
    // Anthropic: input_tokens is uncached; cache read and creation are beside it.
    assert_eq!(
        a.tokens,
        TokenCounts {
            input_uncached: 4,
            cache_read: 15_000,
            cache_write_5m: 2_000,
            output: 420,
            ..Default::default()
        }
    );
    assert_eq!(a.tags.feature.as_deref(), Some("billing-service"));
    assert_eq!(a.provider.as_deref(), Some("anthropic"));
    assert_eq!(a.timestamp.to_rfc3339(), "2025-08-20T10:00:03.500+00:00");
    // Sonnet 4: 4 x 3 + 15,000 x 0.3 + 2,000 x 3.75 + 420 x 15 per million = $0.018312.
    assert_usd(cost(a), 0.018312);

    let b = &records[1];
    assert_eq!(
        b.tokens,
        TokenCounts {
            input_uncached: 10,
            cache_read: 17_000,
            cache_write_5m: 1_000,
            cache_write_1h: 2_000,
            output: 200,
            reasoning: 0
        }
    );
    // Opus 4.1: 10 x 15 + 17,000 x 1.5 + 3,000 x 18.75 + 200 x 75 per million = $0.0969.
    assert_usd(cost(b), 0.0969);

    // No requestId: keyed by message.id.
    let d = &records[2];
    assert_eq!(d.request_id.as_deref(), Some("msg_01DDD"));
    // Haiku 3.5: 300 x 0.8 + 12 x 4 per million = $0.000288.
    assert_usd(cost(d), 0.000288);
}

#[test]
fn a_request_seen_after_leaving_the_window_is_a_duplicate() {
    let line = |id: &str, out: u64| {
        format!(
            r#"{{"type":"assistant","timestamp":"2025-08-20T10:00:00Z","requestId":"{id}","message":{{"model":"claude-sonnet-4-20250514","usage":{{"input_tokens":1,"output_tokens":{out}}}}}}}"#
        )
    };
    let input = [line("r1", 1), line("r2", 1), line("r1", 99), line("r2", 5)].join("\n");
    // Window of 2: r1's later line still finds it pending and replaces it.
    let (records, report) = run_with(
        &input,
        Format::ClaudeCodeTranscript,
        &ImportOptions {
            pending_window: 2,
            ..Default::default()
        },
    );
    assert_eq!(
        (report.records, report.superseded, report.duplicates_dropped),
        (2, 2, 0)
    );
    assert_eq!(
        records.iter().map(|r| r.tokens.output).collect::<Vec<_>>(),
        vec![99, 5]
    );
    // Window of 1: r1 is emitted when r2 arrives; its later line is a
    // duplicate, while r2 (still pending) takes its last line.
    let (records, report) = run_with(
        &input,
        Format::ClaudeCodeTranscript,
        &ImportOptions {
            pending_window: 1,
            ..Default::default()
        },
    );
    assert_eq!(
        (report.records, report.superseded, report.duplicates_dropped),
        (2, 1, 1)
    );
    assert_eq!(
        records.iter().map(|r| r.tokens.output).collect::<Vec<_>>(),
        vec![1, 5]
    );
}

#[test]
fn an_importer_drops_requests_already_imported_from_another_file() {
    let text = fixture("claude_code.jsonl");
    let mut importer = Importer::new(ImportOptions::default());
    let mut n = 0;
    let first = importer
        .import(text.as_bytes(), Format::ClaudeCodeTranscript, &mut |_| {
            n += 1
        })
        .unwrap();
    let second = importer
        .import(text.as_bytes(), Format::ClaudeCodeTranscript, &mut |_| {
            n += 1
        })
        .unwrap();
    assert_eq!((first.records, second.records, n), (3, 0, 3));
    assert_eq!(
        second.duplicates_dropped, 4,
        "three requests, one of them on two lines"
    );
    assert_eq!(importer.distinct_ids(), 3);
}
