//! The text, Markdown and JSON outputs, `--out` and `--question`.

use crate::helpers::{TestDir, analyze, assert_prefixed};

#[test]
fn json_has_the_report_the_answer_and_the_import_summary() {
    let dir = TestDir::new("json");
    let (sample, records) = dir.sample("usage.jsonl");
    let run = analyze(&[sample.as_os_str(), "--format".as_ref(), "json".as_ref()]);
    let json = run.json();
    assert_prefixed(&run.stderr);

    assert_eq!(json["schema_version"], 1);
    assert_eq!(json["question"], "How can we cut our AI costs?");
    assert_eq!(json["intent"], "cost");
    assert_eq!(json["answered_by"], "template");
    assert_eq!(json["catalogue_date"], pricing::SNAPSHOT_DATE);
    assert_eq!(json["report"]["catalogue_date"], pricing::SNAPSHOT_DATE);

    let import = &json["import"];
    assert_eq!(import["records"], records as u64);
    assert_eq!(import["skipped_lines"], 0);
    assert_eq!(import["files"][0]["format"], "apex-jsonl");
    assert_eq!(import["files"][0]["status"], "imported");
    assert_eq!(import["unknown_models"][0]["model"], "acme-intent-ft-v2");

    // Two days of data: amounts are multiplied by about 720 / 48.
    let factor = json["span"]["monthly_factor"].as_f64().unwrap();
    assert!((14.9..15.2).contains(&factor), "factor {factor}");
    assert!(
        json["span"]["basis"]
            .as_str()
            .unwrap()
            .contains("USD per 30-day month")
    );

    let recs = json["report"]["recommendations"].as_array().unwrap();
    assert!(recs.len() >= 4, "{recs:?}");
    let savings: Vec<f64> = recs
        .iter()
        .map(|r| r["monthly_savings_usd"].as_f64().unwrap())
        .collect();
    assert!(savings[0] > 0.0, "{savings:?}");
    assert!(
        savings.windows(2).all(|w| w[0] >= w[1]),
        "largest first: {savings:?}"
    );
    for r in recs {
        assert!(
            r["id"].is_string() && r["confidence"].is_string() && r["evidence"]["calls"].is_u64()
        );
    }
    let ids: Vec<&str> = recs.iter().map(|r| r["id"].as_str().unwrap()).collect();
    for id in [
        "model_substitution",
        "batch_api",
        "prompt_caching",
        "response_caching",
    ] {
        assert!(ids.contains(&id), "{id} missing from {ids:?}");
    }
    assert!(
        json["report"]["breakdown"]["totals"]["monthly_usd"]
            .as_f64()
            .unwrap()
            > 0.0
    );
    let answer = json["answer"].as_str().unwrap();
    assert!(answer.contains("## Recommendations"), "{answer}");
}

#[test]
fn markdown_has_the_header_and_the_recommendations_table() {
    let dir = TestDir::new("markdown");
    let (sample, _) = dir.sample("usage.jsonl");
    let run = analyze(&[sample.as_os_str(), "--format".as_ref(), "markdown".as_ref()]);
    let md = run.ok();
    assert!(md.starts_with("# Apex analysis\n"), "{md}");
    assert!(
        md.contains(&format!(
            "- **Prices:** genai-prices catalogue snapshot of {}",
            pricing::SNAPSHOT_DATE
        )),
        "{md}"
    );
    assert!(md.contains("- **Time span:** 2026-07-01 00:"), "{md}");
    assert!(
        md.contains("- **Amounts:** USD per 30-day month, extrapolated from"),
        "{md}"
    );
    assert!(
        md.contains("| # | Recommendation | Est. monthly savings | Confidence |"),
        "{md}"
    );
    assert!(md.contains("|---:|---|---:|---|"), "{md}");
    assert!(md.contains("through the batch API"), "{md}");
}

#[test]
fn text_is_plain_with_aligned_tables() {
    let dir = TestDir::new("text");
    let (sample, _) = dir.sample("usage.jsonl");
    let run = analyze(&[sample.as_os_str()]);
    let text = run.ok();
    assert!(text.starts_with("Apex analysis\n=============\n"), "{text}");
    assert!(
        text.contains("\nRecommendations\n---------------\n"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "Prices: genai-prices catalogue snapshot of {}",
            pricing::SNAPSHOT_DATE
        )),
        "{text}"
    );
    assert!(!text.contains("**"), "{text}");
    assert!(!text.contains("|---"), "{text}");
    // The table's header row and its rule.
    let header = text
        .lines()
        .position(|l| l.starts_with("#  Recommendation"))
        .expect("table header");
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[header + 1].chars().all(|c| c == '-'), "{text}");
    assert!(lines[header + 2].trim_start().starts_with("1  "), "{text}");
}

#[test]
fn out_writes_the_file_atomically_and_nothing_to_stdout() {
    let dir = TestDir::new("out");
    let (sample, _) = dir.sample("usage.jsonl");
    let target = dir.path("report.json");
    std::fs::write(&target, "stale").unwrap();
    let run = analyze(&[
        sample.as_os_str(),
        "--format".as_ref(),
        "json".as_ref(),
        "--out".as_ref(),
        target.as_os_str(),
    ]);
    assert_eq!(run.ok(), "");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&target).unwrap()).unwrap();
    assert_eq!(json["schema_version"], 1);
    // No temporary file left beside it.
    assert_eq!(dir.listing(), vec!["report.json", "usage.jsonl"]);
}

#[test]
fn out_into_a_missing_directory_fails_with_exit_1() {
    let dir = TestDir::new("out-missing");
    let (sample, _) = dir.sample("usage.jsonl");
    let target = dir.path("no/such/dir/report.md");
    let run = analyze(&[sample.as_os_str(), "--out".as_ref(), target.as_os_str()]);
    assert_eq!(run.code, 1, "{run:?}");
    // Said before any work: the only line on stderr.
    assert!(
        run.stderr.starts_with("apex analyze: cannot write "),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("no/such/dir"), "{}", run.stderr);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(!target.exists());
}

#[test]
fn a_greeting_gets_an_answer_without_a_report() {
    let dir = TestDir::new("greeting");
    let (sample, _) = dir.sample("usage.jsonl");
    let run = analyze(&[
        sample.as_os_str(),
        "--format".as_ref(),
        "json".as_ref(),
        "--question".as_ref(),
        "hello".as_ref(),
    ]);
    let json = run.json();
    assert_eq!(json["intent"], "help");
    assert!(json["report"].is_null());
    assert!(!json["answer"].as_str().unwrap().is_empty());
    // The page still renders, without charts.
    let html = analyze(&[
        sample.as_os_str(),
        "--format".as_ref(),
        "html".as_ref(),
        "--question".as_ref(),
        "hello".as_ref(),
    ]);
    let html = html.ok();
    assert!(html.contains("no recommendations"), "{html}");
    assert_eq!(html.matches("<svg").count(), 0);
}

#[test]
fn a_capacity_question_runs_the_capacity_analysis() {
    let dir = TestDir::new("capacity");
    let (sample, _) = dir.sample("usage.jsonl");
    let run = analyze(&[
        sample.as_os_str(),
        "--format".as_ref(),
        "json".as_ref(),
        "-q".as_ref(),
        "Will we hit rate limits at 3x traffic?".as_ref(),
    ]);
    let json = run.json();
    assert_eq!(json["intent"], "capacity");
    let ids: Vec<&str> = json["report"]["recommendations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec!["capacity"]);
}
