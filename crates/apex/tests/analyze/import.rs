//! Import problems are reported on stderr and never abort the run;
//! several files and standard input make one dataset.

use crate::helpers::{TestDir, analyze, analyze_with_stdin, assert_prefixed};

#[test]
fn malformed_lines_are_reported_with_their_numbers_and_the_rest_is_analysed() {
    let dir = TestDir::new("malformed");
    let (sample, records) = dir.sample("usage.jsonl");
    let text = std::fs::read_to_string(&sample).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines.insert(2, "{\"timestamp\": \"yesterday\", \"model\": \"gpt-4o\"}");
    lines.insert(9, "this is not JSON");
    let damaged = dir.write("damaged.jsonl", &(lines.join("\n") + "\n"));

    let run = analyze(&[damaged.as_os_str(), "--format".as_ref(), "json".as_ref()]);
    let json = run.json();
    assert!(
        run.stderr
            .contains("damaged.jsonl: skipped 2 malformed line(s)"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("damaged.jsonl:3: "), "{}", run.stderr);
    assert!(
        run.stderr.contains("damaged.jsonl:10: invalid JSON"),
        "{}",
        run.stderr
    );
    assert_prefixed(&run.stderr);

    let import = &json["import"];
    assert_eq!(import["records"], records as u64);
    assert_eq!(import["skipped_lines"], 2);
    let skipped: Vec<u64> = import["files"][0]["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["line"].as_u64().unwrap())
        .collect();
    assert_eq!(skipped, vec![3, 10]);
    assert!(
        !json["report"]["recommendations"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[test]
fn unknown_models_are_reported_on_stderr() {
    let dir = TestDir::new("unknown-models");
    let (sample, _) = dir.sample("usage.jsonl");
    let run = analyze(&[&sample]);
    run.ok();
    assert!(
        run.stderr
            .contains("model(s) the price catalogue does not know are in no dollar figure"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("apex analyze:   acme-intent-ft-v2: "),
        "{}",
        run.stderr
    );
}

#[test]
fn several_files_and_stdin_make_one_dataset_without_duplicates() {
    let dir = TestDir::new("several");
    let records = analytics::sample_workload(42, crate::helpers::SAMPLE_DAYS);
    let half = records.len() / 2;
    let first = dir.write_records("first.jsonl", &records[..half]);
    let second = dir.write_records("second.jsonl", &records[half..]);
    let stdin = std::fs::read(&second).unwrap();

    // The second half twice (as a file and on stdin): its request ids repeat.
    let run = analyze_with_stdin(
        &[
            first.as_os_str(),
            second.as_os_str(),
            "-".as_ref(),
            "--format".as_ref(),
            "json".as_ref(),
        ],
        &stdin,
    );
    let json = run.json();
    assert_eq!(json["import"]["records"], records.len() as u64);
    assert_eq!(
        json["import"]["duplicates_dropped"],
        (records.len() - half) as u64
    );
    assert_eq!(json["import"]["files"][2]["path"], "-");
    assert!(
        run.stderr.contains("apex analyze: -: dropped "),
        "{}",
        run.stderr
    );
}

#[test]
fn csv_input_is_detected() {
    let dir = TestDir::new("csv");
    let records = analytics::sample_workload(42, crate::helpers::SAMPLE_DAYS);
    let path = dir.path("usage.csv");
    let mut writer = usage::import::CsvWriter::new(std::fs::File::create(&path).unwrap()).unwrap();
    for r in &records {
        writer.write(r).unwrap();
    }
    writer.into_inner().unwrap();
    let json = analyze(&[path.as_os_str(), "--format".as_ref(), "json".as_ref()]).json();
    assert_eq!(json["import"]["files"][0]["format"], "apex-csv");
    assert_eq!(json["import"]["records"], records.len() as u64);
}
