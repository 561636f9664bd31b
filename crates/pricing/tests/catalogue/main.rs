//! Integration tests of the price catalogue: known-answer costs computed by
//! hand from `data/data.json`, model resolution, and override files.

mod known_answers;
mod overrides;
mod resolve;

use chrono::{DateTime, TimeZone, Utc};
use pricing::{Catalogue, CostBreakdown};

pub fn catalogue() -> Catalogue {
    Catalogue::embedded()
}

pub fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
}

/// Asserts two USD amounts agree to a millionth of a cent.
pub fn assert_usd(actual: f64, expected: f64) {
    assert!(
        (actual - expected).abs() < 1e-8,
        "expected ${expected}, got ${actual}"
    );
}

pub fn assert_breakdown(actual: CostBreakdown, expected: CostBreakdown) {
    assert_usd(actual.input, expected.input);
    assert_usd(actual.cache_read, expected.cache_read);
    assert_usd(actual.cache_write, expected.cache_write);
    assert_usd(actual.output, expected.output);
    assert_usd(actual.requests, expected.requests);
}
