//! Integration tests of the importers: one realistic fixture per format
//! (in `tests/fixtures/`) proving the cache split (uncached, read, write)
//! and the resulting cost with the shipped price catalogue, plus malformed
//! lines, duplicates, detection and the own-schema writers.

mod apex;
mod claude_code;
mod detect;
mod litellm;
mod otel;
mod usage_apis;

use pricing::Catalogue;
use usage::{Format, ImportOptions, ImportReport, UsageRecord};

pub fn fixture(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn run(text: &str, format: Format) -> (Vec<UsageRecord>, ImportReport) {
    run_with(text, format, &ImportOptions::default())
}

pub fn run_with(
    text: &str,
    format: Format,
    opts: &ImportOptions,
) -> (Vec<UsageRecord>, ImportReport) {
    let mut records = Vec::new();
    let report = usage::import(text.as_bytes(), format, opts, &mut |r| {
        records.push(r.clone())
    })
    .unwrap();
    (records, report)
}

/// Cost of a record with the shipped catalogue (the model must be known).
pub fn cost(r: &UsageRecord) -> f64 {
    let c = Catalogue::embedded();
    let m = c
        .resolve(r.provider.as_deref(), &r.model)
        .unwrap_or_else(|| panic!("unknown model {}", r.model));
    c.cost(m, r.timestamp, &r.tokens, r.calls).total()
}

pub fn assert_usd(actual: f64, expected: f64) {
    assert!(
        (actual - expected).abs() < 1e-9,
        "expected ${expected}, got ${actual}"
    );
}

/// Skipped line numbers of a report.
pub fn skipped_lines(report: &ImportReport) -> Vec<u64> {
    report.skipped.iter().map(|e| e.line).collect()
}

/// 1-based number of the first line containing `needle`.
pub fn line_of(text: &str, needle: &str) -> u64 {
    text.lines()
        .position(|l| l.contains(needle))
        .map(|i| i as u64 + 1)
        .unwrap_or_else(|| panic!("{needle} not in fixture"))
}
