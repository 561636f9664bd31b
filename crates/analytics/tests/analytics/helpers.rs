//! Builders for constructed datasets and a context over them.

use analytics::AnalysisContext;
use chrono::{DateTime, Duration, Utc};
use std::sync::{Arc, OnceLock};
use usage::{Dataset, Status, TokenCounts, UsageRecord};

/// 2026-07-01 00:00 UTC.
pub fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp_millis(analytics::SAMPLE_START_MS).unwrap()
}

/// `t0` plus `minutes`.
pub fn at_min(minutes: i64) -> DateTime<Utc> {
    t0() + Duration::minutes(minutes)
}

pub const DAY_MIN: i64 = 1_440;

pub fn tokens(input: u64, output: u64) -> TokenCounts {
    TokenCounts {
        input_uncached: input,
        output,
        ..TokenCounts::default()
    }
}

/// A successful call.
pub fn call(minute: i64, provider: &str, model: &str, input: u64, output: u64) -> UsageRecord {
    UsageRecord::call(at_min(minute), Some(provider), model, tokens(input, output))
}

pub fn with_feature(mut r: UsageRecord, feature: &str) -> UsageRecord {
    r.tags.feature = Some(feature.to_owned());
    r
}

pub fn failed(mut r: UsageRecord, status: Status) -> UsageRecord {
    r.status = status;
    r
}

pub fn catalogue() -> Arc<pricing::Catalogue> {
    static CATALOGUE: OnceLock<Arc<pricing::Catalogue>> = OnceLock::new();
    Arc::clone(CATALOGUE.get_or_init(|| Arc::new(pricing::Catalogue::embedded())))
}

pub fn dataset(records: &[UsageRecord]) -> Arc<Dataset> {
    let mut ds = Dataset::new();
    for r in records {
        ds.push(r);
    }
    Arc::new(ds)
}

pub fn ctx(records: &[UsageRecord]) -> AnalysisContext {
    AnalysisContext::new(dataset(records), catalogue())
}

/// USD for `n` tokens at `per_mtok` USD per million.
pub fn usd(n: u64, per_mtok: f64) -> f64 {
    n as f64 * per_mtok / 1e6
}

#[track_caller]
pub fn assert_close(actual: f64, expected: f64) {
    let tolerance = 1e-9_f64.max(expected.abs() * 1e-9);
    assert!(
        (actual - expected).abs() <= tolerance,
        "expected {expected}, got {actual}"
    );
}
