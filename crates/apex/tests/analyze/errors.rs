//! Exit codes and messages a script can rely on.

use crate::helpers::{TestDir, analyze, assert_prefixed};

#[test]
fn an_empty_file_exits_3() {
    let dir = TestDir::new("empty");
    let empty = dir.write("empty.jsonl", "");
    let run = analyze(&[&empty]);
    assert_eq!(run.code, 3, "{run:?}");
    assert_eq!(run.stdout, "");
    assert!(
        run.stderr.contains("empty.jsonl: empty, nothing imported"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("apex analyze: no usable records in "),
        "{}",
        run.stderr
    );
    assert_prefixed(&run.stderr);
}

#[test]
fn files_of_unknown_formats_exit_3() {
    let dir = TestDir::new("unknown-format");
    let prose = dir.write("notes.txt", "hello\nthis is not usage data\n");
    let blank = dir.write("blank.jsonl", "\n\n  \n");
    let run = analyze(&[&prose, &blank]);
    assert_eq!(run.code, 3, "{run:?}");
    assert!(
        run.stderr.contains("notes.txt: cannot tell the format"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("file skipped"), "{}", run.stderr);
    assert_prefixed(&run.stderr);
}

#[test]
fn a_file_with_no_usage_lines_exits_3() {
    let dir = TestDir::new("all-bad");
    let bad = dir.write(
        "bad.jsonl",
        "{\"timestamp\":\"2026-07-01T00:00:00Z\",\"model\":\"gpt-4o\",\"input_tokens\":\"many\"}\n{not json\n",
    );
    let run = analyze(&[&bad]);
    assert_eq!(run.code, 3, "{run:?}");
    assert!(run.stderr.contains("bad.jsonl:1: "), "{}", run.stderr);
    assert!(
        run.stderr.contains("bad.jsonl:2: invalid JSON"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_missing_file_exits_4_before_reading_the_others() {
    let dir = TestDir::new("missing");
    let (sample, _) = dir.sample("usage.jsonl");
    let missing = dir.path("nope.jsonl");
    let run = analyze(&[sample.as_os_str(), missing.as_os_str()]);
    assert_eq!(run.code, 4, "{run:?}");
    assert_eq!(run.stdout, "");
    assert!(
        run.stderr.starts_with("apex analyze: cannot read "),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("nope.jsonl"), "{}", run.stderr);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
}

#[test]
fn a_directory_as_input_exits_4() {
    let dir = TestDir::new("dir-input");
    let sub = dir.path("sub");
    std::fs::create_dir(&sub).unwrap();
    let run = analyze(&[&sub]);
    assert_eq!(run.code, 4, "{run:?}");
    assert!(run.stderr.contains("is a directory"), "{}", run.stderr);
}

#[test]
fn invalid_prices_files_exit_5() {
    let dir = TestDir::new("prices");
    let (sample, _) = dir.sample("usage.jsonl");
    let cases = [
        ("syntax.toml", "[[models]\nprovider = "),
        (
            "unknown-field.toml",
            "[[models]]\nprovider = \"openai\"\nid = \"x\"\nprices = { input_mtok = 1.0, inptu_mtok = 2.0 }\n",
        ),
        (
            "negative.json",
            "{\"models\": [{\"provider\": \"openai\", \"id\": \"x\", \"prices\": {\"input_mtok\": -1}}]}",
        ),
    ];
    for (name, text) in cases {
        let prices = dir.write(name, text);
        let run = analyze(&[sample.as_os_str(), "--prices".as_ref(), prices.as_os_str()]);
        assert_eq!(run.code, 5, "{name}: {run:?}");
        assert!(run.stderr.starts_with("apex analyze: "), "{}", run.stderr);
        assert!(
            run.stderr.contains(name),
            "the message names the file: {}",
            run.stderr
        );
        assert_eq!(run.stdout, "");
    }
    let run = analyze(&[
        sample.as_os_str(),
        "--prices".as_ref(),
        dir.path("absent.toml").as_os_str(),
    ]);
    assert_eq!(run.code, 5, "{run:?}");
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(analyze::<&str>(&[]).code, 2, "no FILE");
    let run = analyze(&["x.jsonl", "--format", "pdf"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("pdf"), "{}", run.stderr);
    assert_eq!(analyze(&["x.jsonl", "--question", ""]).code, 2);
    assert_eq!(analyze(&["x.jsonl", "--frobnicate"]).code, 2);
}

#[test]
fn help_documents_the_exit_codes() {
    let run = analyze(&["--help"]);
    let help = run.ok();
    for line in [
        "Exit codes:",
        "0  success",
        "2  usage error",
        "3  no usable records",
        "4  an input file is missing or unreadable",
        "5  the --prices override file is missing or invalid",
    ] {
        assert!(help.contains(line), "{line:?} missing from {help}");
    }
    assert!(help.contains("--format <FORMAT>"), "{help}");
}
