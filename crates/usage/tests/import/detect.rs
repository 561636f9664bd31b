//! Format detection on each fixture and on edge cases.

use super::fixture;
use usage::{Format, detect};

#[test]
fn every_fixture_is_detected() {
    let cases = [
        ("apex.jsonl", Format::ApexJsonl),
        ("apex.csv", Format::ApexCsv),
        ("claude_code.jsonl", Format::ClaudeCodeTranscript),
        ("otlp.json", Format::OtelSpans),
        ("otel_spans.jsonl", Format::OtelSpans),
        ("litellm_spend_logs.json", Format::LiteLlmSpendLogs),
        ("openai_usage.json", Format::OpenAiUsageBuckets),
        ("anthropic_usage.json", Format::AnthropicUsageReport),
    ];
    for (name, expected) in cases {
        let text = fixture(name);
        // Only the first 4 KiB, as a reader's buffer would give (possibly cut mid-character).
        let sample = &text.as_bytes()[..text.len().min(4096)];
        assert_eq!(detect(sample, Some(name)), Some(expected), "{name}");
        assert_eq!(
            detect(sample, None),
            Some(expected),
            "{name} without its name"
        );
    }
}

#[test]
fn minified_and_line_oriented_variants_are_detected() {
    let openai_line = r#"{"object":"page","data":[{"object":"bucket","start_time":1,"end_time":2,"results":[{"object":"organization.usage.completions.result","input_tokens":1,"output_tokens":1,"input_cached_tokens":0,"num_model_requests":1}]}]}"#;
    assert_eq!(
        detect(openai_line.as_bytes(), None),
        Some(Format::OpenAiUsageBuckets)
    );
    let litellm_array =
        r#"[{"request_id":"a","spend":0.1,"startTime":"2025-01-01T00:00:00Z","model":"gpt-4o"}]"#;
    assert_eq!(
        detect(litellm_array.as_bytes(), None),
        Some(Format::LiteLlmSpendLogs)
    );
    let otlp_line = r#"{"resourceSpans":[]}"#;
    assert_eq!(detect(otlp_line.as_bytes(), None), Some(Format::OtelSpans));
    let bom_csv = "\u{feff}timestamp,model,input_tokens\n2025-01-01T00:00:00Z,gpt-4o,1\n";
    assert_eq!(detect(bom_csv.as_bytes(), None), Some(Format::ApexCsv));
}

#[test]
fn unknown_content_is_not_guessed() {
    assert_eq!(detect(b"", None), None);
    assert_eq!(detect(b"hello world\n", None), None);
    assert_eq!(detect(br#"{"foo": 1}"#, None), None);
    assert_eq!(detect(b"a,b,c\n1,2,3\n", None), None);
    // The name alone decides only for a CSV file, or for an ambiguous line in ~/.claude.
    assert_eq!(detect(b"a,b,c\n", Some("usage.csv")), Some(Format::ApexCsv));
    assert_eq!(
        detect(br#"{"foo": 1}"#, Some("/home/u/.claude/projects/p/s.jsonl")),
        Some(Format::ClaudeCodeTranscript)
    );
}

#[test]
fn format_names_round_trip() {
    for f in Format::ALL {
        assert_eq!(f.name().parse::<Format>().unwrap(), f);
    }
    assert!("nope".parse::<Format>().is_err());
}

#[test]
fn import_path_detects_the_format_and_names_unknown_files() {
    let dir = std::env::temp_dir().join(format!("apex-usage-detect-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let transcript = dir.join("session.jsonl");
    std::fs::write(&transcript, fixture("claude_code.jsonl")).unwrap();
    let mut importer = usage::Importer::new(Default::default());
    let mut n = 0;
    let report = importer
        .import_path(&transcript, None, &mut |_| n += 1)
        .unwrap();
    assert_eq!(
        (report.format, report.records, n),
        (Format::ClaudeCodeTranscript, 3, 3)
    );

    let unknown = dir.join("notes.txt");
    std::fs::write(&unknown, "hello\n").unwrap();
    let err = importer
        .import_path(&unknown, None, &mut |_| {})
        .unwrap_err();
    assert!(matches!(err, usage::ImportError::UnknownFormat { .. }));
    assert!(err.to_string().contains("notes.txt"), "{err}");

    let missing = dir.join("missing.jsonl");
    let err = importer
        .import_path(&missing, None, &mut |_| {})
        .unwrap_err();
    assert!(
        matches!(err, usage::ImportError::Open { .. }) && err.to_string().contains("missing.jsonl"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
