//! Apex's own JSONL and CSV schema, and the writers.

use super::{assert_usd, cost, fixture, run, skipped_lines};
use chrono::{TimeZone, Utc};
use usage::import::CsvWriter;
use usage::{Dataset, Format, ServiceTier, SkipReason, Status, TokenCounts, write_jsonl};

#[test]
fn jsonl_fixture_imports_with_cache_split_and_costs() {
    let (records, report) = run(&fixture("apex.jsonl"), Format::ApexJsonl);
    assert_eq!(report.records, 4);
    assert_eq!(report.aggregates, 1);
    assert_eq!(report.duplicates_dropped, 1, "req-1 appears twice");
    assert_eq!(skipped_lines(&report), vec![3, 5, 8]);
    assert!(matches!(
        report.skipped[0].reason,
        SkipReason::InvalidJson(_)
    ));
    assert_eq!(report.skipped[1].reason, SkipReason::MissingField("model"));
    assert_eq!(
        report.skipped[2].reason,
        SkipReason::InvalidField {
            field: "status",
            value: "exploded".into()
        }
    );
    assert_eq!(report.lines, 9);

    // Own schema: input_tokens is uncached, cache kinds beside it.
    let gpt = &records[0];
    assert_eq!(
        gpt.tokens,
        TokenCounts {
            input_uncached: 1200,
            cache_read: 800,
            output: 300,
            ..Default::default()
        }
    );
    assert_eq!(gpt.tags.feature.as_deref(), Some("chat"));
    assert_eq!(gpt.prompt_hash, Some(0x9f86d081884c7d65));
    assert_eq!(gpt.prefix_hash, Some(255));
    assert_eq!(gpt.reported_cost_usd, Some(0.007));
    // gpt-4o: 1,200 x 2.5 + 800 x 1.25 + 300 x 10 per million = $0.007.
    assert_usd(cost(gpt), 0.007);

    let sonnet = &records[1];
    assert_eq!(
        sonnet.tokens,
        TokenCounts {
            input_uncached: 50,
            cache_read: 20_000,
            cache_write_5m: 3_000,
            cache_write_1h: 1_000,
            output: 500,
            reasoning: 120
        }
    );
    // Sonnet 4: 50 x 3 + 20,000 x 0.3 + 4,000 x 3.75 + 500 x 15 per million = $0.02865
    // (1-hour writes at the 5-minute write price: the catalogue has no 1-hour price).
    assert_usd(cost(sonnet), 0.02865);

    let bucket = &records[2];
    assert!(bucket.is_aggregate() && bucket.aggregate);
    assert_eq!(
        (bucket.calls, bucket.service_tier),
        (500, ServiceTier::Batch)
    );
    // gpt-4o-mini: 600,000 x 0.15 + 400,000 x 0.075 + 200,000 x 0.6 per million = $0.24.
    assert_usd(cost(bucket), 0.24);

    let retry = &records[3];
    assert_eq!(
        retry.timestamp,
        Utc.with_ymd_and_hms(2025, 8, 20, 10, 8, 0).unwrap()
    );
    assert_eq!(
        (retry.status, retry.attempt),
        (Status::RateLimited, Some(2))
    );
}

#[test]
fn csv_fixture_imports_like_the_jsonl() {
    let (csv_records, report) = run(&fixture("apex.csv"), Format::ApexCsv);
    assert_eq!(report.records, 2);
    assert_eq!(report.duplicates_dropped, 1);
    assert_eq!(skipped_lines(&report), vec![4, 5]);
    assert_eq!(
        report.skipped[0].reason,
        SkipReason::FieldCount {
            expected: 24,
            found: 6
        }
    );
    assert_eq!(
        report.skipped[1].reason,
        SkipReason::InvalidField {
            field: "input_tokens",
            value: "twelve".into()
        }
    );
    let (jsonl_records, _) = run(&fixture("apex.jsonl"), Format::ApexJsonl);
    assert_eq!(csv_records[0].tokens, jsonl_records[0].tokens);
    assert_eq!(csv_records[0].tags.feature.as_deref(), Some("chat, web"));
    assert_eq!(csv_records[1].tokens, jsonl_records[1].tokens);
    assert_usd(cost(&csv_records[1]), 0.02865);
}

#[test]
fn writers_round_trip_through_the_importers() {
    let (records, _) = run(&fixture("apex.jsonl"), Format::ApexJsonl);
    let mut jsonl = Vec::new();
    for r in &records {
        write_jsonl(&mut jsonl, r).unwrap();
    }
    let (again, report) = run(std::str::from_utf8(&jsonl).unwrap(), Format::ApexJsonl);
    assert_eq!(report.skipped_count, 0);
    assert_eq!(again, records);

    let mut csv = CsvWriter::new(Vec::new()).unwrap();
    for r in &records {
        csv.write(r).unwrap();
    }
    let bytes = csv.into_inner().unwrap();
    let (from_csv, report) = run(std::str::from_utf8(&bytes).unwrap(), Format::ApexCsv);
    assert_eq!(report.skipped_count, 0);
    assert_eq!(from_csv, records);
}

#[test]
fn import_feeds_a_dataset() {
    let mut ds = Dataset::new();
    let report = usage::import(
        fixture("apex.jsonl").as_bytes(),
        Format::ApexJsonl,
        &Default::default(),
        &mut |r| ds.push(r),
    )
    .unwrap();
    assert_eq!(ds.len() as u64, report.records);
    assert!(ds.rows[2].is_aggregate());
    assert!(!ds.rows[0].is_aggregate());
    assert_eq!(ds.str(ds.rows[1].model), Some("claude-sonnet-4-20250514"));
}

#[test]
fn long_and_non_utf8_lines_are_skipped_without_losing_neighbours() {
    let good = r#"{"timestamp":"2025-01-01T00:00:00Z","model":"gpt-4o","input_tokens":1}"#;
    let long = format!(
        r#"{{"timestamp":"2025-01-01T00:00:00Z","model":"{}"}}"#,
        "x".repeat(5000)
    );
    let mut input = format!("{good}\n{long}\n").into_bytes();
    input.extend_from_slice(b"{\"model\":\"\xff\"}\n");
    input.extend_from_slice(good.as_bytes());
    let opts = usage::ImportOptions {
        max_line_bytes: 1024,
        ..Default::default()
    };
    let mut n = 0;
    let report = usage::import(&input[..], Format::ApexJsonl, &opts, &mut |_| n += 1).unwrap();
    assert_eq!(n, 2);
    assert_eq!(skipped_lines(&report), vec![2, 3]);
    assert_eq!(
        report.skipped[0].reason,
        SkipReason::LineTooLong { limit: 1024 }
    );
    assert_eq!(report.skipped[1].reason, SkipReason::NotUtf8);
    assert_eq!(report.bytes, input.len() as u64);
}

#[test]
fn stored_errors_are_capped_but_all_counted() {
    let input = "not json\n".repeat(250);
    let opts = usage::ImportOptions {
        max_stored_errors: 10,
        ..Default::default()
    };
    let (_, report) = super::run_with(&input, Format::ApexJsonl, &opts);
    assert_eq!(report.skipped.len(), 10);
    assert_eq!(report.skipped_count, 250);
    assert_eq!(report.skipped[9].line, 10);
}
