//! The data's time span and the monthly extrapolation every USD amount uses.
//!
//! A month is 30 days (720 hours). Amounts observed over the span are
//! multiplied by `720 / span_hours`. A span under one hour is counted as one
//! hour (a handful of calls says little about a month), and any span under a
//! day is flagged as low confidence: it misses the daily rhythm.

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};

/// Hours in the 30-day month all monthly figures use.
pub const MONTH_HOURS: f64 = 720.0;
/// The shortest span extrapolated from.
pub const MIN_SPAN_HOURS: f64 = 1.0;
/// Below this many hours of data the extrapolation is flagged low confidence.
pub const LOW_CONFIDENCE_HOURS: f64 = 24.0;

const MS_PER_HOUR: f64 = 3_600_000.0;

/// When the data starts and ends, and how it scales to a month.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimeSpan {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// `end - start` in hours.
    pub observed_hours: f64,
    /// The hours extrapolated from: `observed_hours`, at least [`MIN_SPAN_HOURS`].
    pub effective_hours: f64,
    /// Multiply an amount observed over the span by this to get USD per month.
    pub monthly_factor: f64,
    /// True when the span is shorter than a day.
    pub low_confidence: bool,
    /// One sentence saying all of the above, for reports.
    pub basis: String,
}

impl TimeSpan {
    /// The span between two instants in milliseconds since the epoch.
    pub fn from_millis(start_ms: i64, end_ms: i64) -> Self {
        let (start_ms, end_ms) = if start_ms <= end_ms {
            (start_ms, end_ms)
        } else {
            (end_ms, start_ms)
        };
        let observed_hours = (end_ms - start_ms) as f64 / MS_PER_HOUR;
        let effective_hours = observed_hours.max(MIN_SPAN_HOURS);
        let monthly_factor = MONTH_HOURS / effective_hours;
        let low_confidence = observed_hours < LOW_CONFIDENCE_HOURS;
        let start = Utc
            .timestamp_millis_opt(start_ms)
            .single()
            .unwrap_or_default();
        let end = Utc
            .timestamp_millis_opt(end_ms)
            .single()
            .unwrap_or_default();
        let range = format!(
            "{} to {} UTC",
            start.format("%Y-%m-%d %H:%M"),
            end.format("%Y-%m-%d %H:%M")
        );
        let basis = if observed_hours < MIN_SPAN_HOURS {
            format!(
                "USD per 30-day month, extrapolated from only {:.0} minutes of data ({range}) counted as 1 hour: \
                 observed x {monthly_factor:.1}; low confidence",
                observed_hours * 60.0
            )
        } else if low_confidence {
            format!(
                "USD per 30-day month, extrapolated from {observed_hours:.1} hours of data ({range}): \
                 observed x {monthly_factor:.1}; low confidence, less than a day of data"
            )
        } else {
            format!(
                "USD per 30-day month, extrapolated from {:.1} days of data ({range}): observed x {monthly_factor:.3}",
                observed_hours / 24.0
            )
        };
        TimeSpan {
            start,
            end,
            observed_hours,
            effective_hours,
            monthly_factor,
            low_confidence,
            basis,
        }
    }

    /// An amount observed over the span, as USD per month.
    pub fn monthly(&self, observed: f64) -> f64 {
        observed * self.monthly_factor
    }
}

const MS_PER_DAY: i64 = 86_400_000;

/// Turns millisecond timestamps into `DateTime<Utc>` (what the catalogue's
/// prices take) cheaply for rows in time order: the calendar date is
/// computed once per day, not once per row.
#[derive(Debug, Clone, Default)]
pub(crate) struct Clock {
    day: Option<(i64, NaiveDate)>,
}

impl Clock {
    pub(crate) fn at(&mut self, ts_ms: i64) -> DateTime<Utc> {
        let day = ts_ms.div_euclid(MS_PER_DAY);
        let ms = ts_ms.rem_euclid(MS_PER_DAY);
        let date = match self.day {
            Some((d, date)) if d == day => date,
            _ => {
                let Some(date) = Utc
                    .timestamp_millis_opt(day * MS_PER_DAY)
                    .single()
                    .map(|t| t.date_naive())
                else {
                    return DateTime::default();
                };
                self.day = Some((day, date));
                date
            }
        };
        let time = NaiveTime::from_num_seconds_from_midnight_opt(
            (ms / 1_000) as u32,
            (ms % 1_000) as u32 * 1_000_000,
        )
        .unwrap_or_default();
        NaiveDateTime::new(date, time).and_utc()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thirty_days_is_factor_one() {
        let s = TimeSpan::from_millis(0, 30 * 24 * 3_600_000);
        assert!((s.monthly_factor - 1.0).abs() < 1e-12);
        assert!(!s.low_confidence);
        assert!(s.basis.contains("30.0 days"), "{}", s.basis);
    }

    #[test]
    fn a_week_scales_by_thirty_sevenths() {
        let s = TimeSpan::from_millis(0, 7 * 24 * 3_600_000);
        assert!((s.monthly(7.0) - 30.0).abs() < 1e-9);
    }

    #[test]
    fn clock_agrees_with_chrono() {
        let mut clock = Clock::default();
        for ts in [
            0i64,
            1,
            86_399_999,
            86_400_000,
            1_782_864_000_123,
            1_782_950_399_999,
            -1,
            -86_400_001,
        ] {
            assert_eq!(clock.at(ts), Utc.timestamp_millis_opt(ts).unwrap(), "{ts}");
        }
    }

    #[test]
    fn short_spans_are_floored_and_flagged() {
        let s = TimeSpan::from_millis(1_000, 1_000 + 10 * 60_000);
        assert_eq!(s.effective_hours, 1.0);
        assert_eq!(s.monthly_factor, 720.0);
        assert!(s.low_confidence);
        assert!(s.basis.contains("10 minutes"), "{}", s.basis);
        let h = TimeSpan::from_millis(0, 6 * 3_600_000);
        assert_eq!(h.monthly_factor, 120.0);
        assert!(h.low_confidence);
    }
}
