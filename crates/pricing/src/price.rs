//! Prices of one model, compiled: rates (flat or tiered), the price sets in
//! force under date and time-of-day constraints, and the cost arithmetic.
//!
//! Semantics (from the genai-prices schema and reference implementation):
//! - `prices` as a list: tried last to first, the first whose constraint
//!   holds wins; a set without constraint always holds; if none holds, the
//!   first set is used.
//! - `start_date`: holds when the call's UTC date is on or after it.
//! - `start_time`/`end_time`: holds when the call's UTC time of day is in
//!   `[start, end)`; an interval with `end < start` wraps past midnight.
//! - Tiered rates use the "cliff" model: when the input size of the call
//!   exceeds a tier's `start`, that tier's price applies to ALL tokens of
//!   that kind. The tier is chosen by the call's total input tokens (all
//!   input kinds), for every tiered field (input, cache, output).

use crate::error::ModelProblem;
use crate::raw::{IGNORED_PRICE_FIELDS, RawConstraint, RawModelPrice, RawPrices, RawRate};
use chrono::{DateTime, NaiveDate, NaiveTime, Timelike, Utc};
use usage::TokenCounts;

/// Cost of some usage, in USD, split by what was charged.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct CostBreakdown {
    /// Uncached input tokens.
    pub input: f64,
    /// Tokens read from a prompt cache.
    pub cache_read: f64,
    /// Tokens written to a prompt cache (5-minute and 1-hour).
    pub cache_write: f64,
    /// Output tokens, reasoning included.
    pub output: f64,
    /// Per-request fees (`requests_kcount`).
    pub requests: f64,
}

impl CostBreakdown {
    pub fn total(&self) -> f64 {
        self.input + self.cache_read + self.cache_write + self.output + self.requests
    }
}

impl std::ops::Add for CostBreakdown {
    type Output = CostBreakdown;
    fn add(self, o: CostBreakdown) -> CostBreakdown {
        CostBreakdown {
            input: self.input + o.input,
            cache_read: self.cache_read + o.cache_read,
            cache_write: self.cache_write + o.cache_write,
            output: self.output + o.output,
            requests: self.requests + o.requests,
        }
    }
}

impl std::ops::AddAssign for CostBreakdown {
    fn add_assign(&mut self, o: CostBreakdown) {
        *self = *self + o;
    }
}

/// USD per million tokens.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Rate {
    Flat(f64),
    /// `tiers` sorted by increasing start.
    Tiered {
        base: f64,
        tiers: Vec<(u64, f64)>,
    },
}

impl Rate {
    fn compile(raw: &RawRate, field: &'static str) -> Result<Rate, ModelProblem> {
        let check = |v: f64| {
            if v.is_finite() && v >= 0.0 {
                Ok(v)
            } else {
                Err(ModelProblem::BadPrice { field })
            }
        };
        Ok(match raw {
            RawRate::Flat(v) => Rate::Flat(check(*v)?),
            RawRate::Tiered { base, tiers } => {
                let tiers = tiers
                    .iter()
                    .map(|t| Ok((t.start, check(t.price)?)))
                    .collect::<Result<Vec<_>, ModelProblem>>()?;
                if tiers.windows(2).any(|w| w[0].0 >= w[1].0) {
                    return Err(ModelProblem::UnsortedTiers { field });
                }
                Rate::Tiered {
                    base: check(*base)?,
                    tiers,
                }
            }
        })
    }

    /// The price per million tokens for a call with `input_size` input tokens.
    pub fn per_mtok(&self, input_size: u64) -> f64 {
        match self {
            Rate::Flat(v) => *v,
            Rate::Tiered { base, tiers } => tiers
                .iter()
                .rev()
                .find(|(start, _)| input_size > *start)
                .map_or(*base, |t| t.1),
        }
    }
}

/// One price set (`ModelPrice`), restricted to what Apex prices.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Price {
    pub input: Option<Rate>,
    pub cache_read: Option<Rate>,
    pub cache_write: Option<Rate>,
    pub cache_write_1h: Option<Rate>,
    pub output: Option<Rate>,
    /// USD per thousand requests.
    pub requests_kcount: Option<f64>,
}

impl Price {
    fn compile(raw: &RawModelPrice, strict: bool) -> Result<Price, ModelProblem> {
        if strict
            && let Some(k) = raw
                .other
                .keys()
                .find(|k| !IGNORED_PRICE_FIELDS.contains(&k.as_str()))
        {
            return Err(ModelProblem::UnknownPriceField(k.clone()));
        }
        let rate = |r: &Option<RawRate>, f| r.as_ref().map(|r| Rate::compile(r, f)).transpose();
        let requests_kcount = match raw.requests_kcount {
            Some(v) if !(v.is_finite() && v >= 0.0) => {
                return Err(ModelProblem::BadPrice {
                    field: "requests_kcount",
                });
            }
            other => other,
        };
        Ok(Price {
            input: rate(&raw.input_mtok, "input_mtok")?,
            cache_read: rate(&raw.cache_read_mtok, "cache_read_mtok")?,
            cache_write: rate(&raw.cache_write_mtok, "cache_write_mtok")?,
            cache_write_1h: rate(&raw.cache_write_1h_mtok, "cache_write_1h_mtok")?,
            output: rate(&raw.output_mtok, "output_mtok")?,
            requests_kcount,
        })
    }

    /// True when this set charges for something Apex counts.
    pub fn is_priced(&self) -> bool {
        self.input.is_some() || self.output.is_some() || self.requests_kcount.is_some()
    }

    /// The cost of `tokens` spread over `calls` calls (see the crate docs
    /// for the rules on tiers, missing cache prices and 1-hour writes).
    pub fn cost(&self, tokens: &TokenCounts, calls: u32) -> CostBreakdown {
        let per_call_input = tokens.input_total() / u64::from(calls.max(1));
        let rate = |r: &Option<Rate>| r.as_ref().map(|r| r.per_mtok(per_call_input));
        let input = rate(&self.input).unwrap_or(0.0);
        let read = rate(&self.cache_read).unwrap_or(input);
        let write = rate(&self.cache_write).unwrap_or(input);
        let write_1h = rate(&self.cache_write_1h).unwrap_or(write);
        let output = rate(&self.output).unwrap_or(0.0);
        let m = |n: u64, p: f64| n as f64 * p / 1_000_000.0;
        CostBreakdown {
            input: m(tokens.input_uncached, input),
            cache_read: m(tokens.cache_read, read),
            cache_write: m(tokens.cache_write_5m, write) + m(tokens.cache_write_1h, write_1h),
            output: m(tokens.output, output),
            requests: self
                .requests_kcount
                .map_or(0.0, |k| k * f64::from(calls) / 1000.0),
        }
    }
}

/// When a conditional price set applies.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Constraint {
    StartDate(NaiveDate),
    /// Seconds since UTC midnight, `[start, end)`, wrapping when `end < start`.
    TimeOfDay {
        start: u32,
        end: u32,
    },
}

impl Constraint {
    fn compile(raw: &RawConstraint) -> Result<Constraint, ModelProblem> {
        match raw {
            RawConstraint::StartDate { start_date } => {
                let text = start_date.text();
                NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
                    .map(Constraint::StartDate)
                    .map_err(|_| ModelProblem::BadDate(text))
            }
            RawConstraint::TimeOfDay {
                start_time,
                end_time,
            } => Ok(Constraint::TimeOfDay {
                start: parse_utc_time(&start_time.text())?,
                end: parse_utc_time(&end_time.text())?,
            }),
        }
    }

    fn holds(&self, at: DateTime<Utc>) -> bool {
        match self {
            Constraint::StartDate(d) => at.date_naive() >= *d,
            Constraint::TimeOfDay { start, end } => {
                let t = at.num_seconds_from_midnight();
                if start <= end {
                    *start <= t && t < *end
                } else {
                    t >= *start || t < *end
                }
            }
        }
    }
}

/// Parses `HH:MM[:SS[.fff]]` with an optional `Z` or `±HH:MM` offset into
/// seconds since UTC midnight.
fn parse_utc_time(text: &str) -> Result<u32, ModelProblem> {
    let bad = || ModelProblem::BadTime(text.to_owned());
    let s = text.trim();
    let (clock, offset_secs) = if let Some(c) = s.strip_suffix('Z').or_else(|| s.strip_suffix('z'))
    {
        (c, 0i64)
    } else if s.len() > 6 && matches!(s.as_bytes()[s.len() - 6], b'+' | b'-') {
        let (c, off) = s.split_at(s.len() - 6);
        let sign = if off.starts_with('-') { -1 } else { 1 };
        let hm = NaiveTime::parse_from_str(&off[1..], "%H:%M").map_err(|_| bad())?;
        (c, sign * i64::from(hm.num_seconds_from_midnight()))
    } else {
        (s, 0)
    };
    let t = NaiveTime::parse_from_str(clock, "%H:%M:%S%.f")
        .or_else(|_| NaiveTime::parse_from_str(clock, "%H:%M"))
        .map_err(|_| bad())?;
    let utc = (i64::from(t.num_seconds_from_midnight()) - offset_secs).rem_euclid(86_400);
    u32::try_from(utc).map_err(|_| bad())
}

/// The price sets of one model.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Prices {
    /// In catalogue order; never empty.
    sets: Vec<(Option<Constraint>, Price)>,
}

impl Prices {
    /// `strict` rejects unknown price fields (override files: catches typos).
    pub fn compile(raw: &RawPrices, strict: bool) -> Result<Prices, ModelProblem> {
        let sets = match raw {
            RawPrices::One(p) => vec![(None, Price::compile(p, strict)?)],
            RawPrices::Many(list) => list
                .iter()
                .map(|c| {
                    Ok((
                        c.constraint.as_ref().map(Constraint::compile).transpose()?,
                        Price::compile(&c.prices, strict)?,
                    ))
                })
                .collect::<Result<Vec<_>, ModelProblem>>()?,
        };
        if sets.is_empty() {
            return Err(ModelProblem::NoPrices);
        }
        Ok(Prices { sets })
    }

    /// The price set in force at `at`.
    pub fn at(&self, at: DateTime<Utc>) -> &Price {
        if let [(_, only)] = self.sets.as_slice() {
            return only;
        }
        self.sets
            .iter()
            .rev()
            .find(|(c, _)| c.as_ref().is_none_or(|c| c.holds(at)))
            .or(self.sets.first())
            .map(|(_, p)| p)
            .unwrap_or(&EMPTY_PRICE)
    }
}

static EMPTY_PRICE: Price = Price {
    input: None,
    cache_read: None,
    cache_write: None,
    cache_write_1h: None,
    output: None,
    requests_kcount: None,
};

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn prices(json: &str) -> Prices {
        Prices::compile(&serde_json::from_str(json).unwrap(), true).unwrap()
    }

    #[test]
    fn cliff_tier_applies_to_all_tokens() {
        let r = Rate::Tiered {
            base: 1.25,
            tiers: vec![(200_000, 2.5)],
        };
        assert_eq!(r.per_mtok(200_000), 1.25);
        assert_eq!(r.per_mtok(200_001), 2.5);
    }

    #[test]
    fn last_holding_constraint_wins_and_first_is_the_fallback() {
        let p = prices(
            r#"[{"prices":{"input_mtok":1}},
                {"constraint":{"start_date":"2025-06-10"},"prices":{"input_mtok":2}},
                {"constraint":{"start_date":"2026-01-01"},"prices":{"input_mtok":3}}]"#,
        );
        let at = |y, m, d| Utc.with_ymd_and_hms(y, m, d, 12, 0, 0).unwrap();
        assert_eq!(p.at(at(2025, 6, 9)).input, Some(Rate::Flat(1.0)));
        assert_eq!(p.at(at(2025, 6, 10)).input, Some(Rate::Flat(2.0)));
        assert_eq!(p.at(at(2027, 1, 1)).input, Some(Rate::Flat(3.0)));
        let only_constrained =
            prices(r#"[{"constraint":{"start_date":"2030-01-01"},"prices":{"input_mtok":9}}]"#);
        assert_eq!(
            only_constrained.at(at(2025, 1, 1)).input,
            Some(Rate::Flat(9.0))
        );
    }

    #[test]
    fn time_of_day_intervals_including_wrapping_ones() {
        let p = prices(
            r#"[{"prices":{"input_mtok":1}},
                {"constraint":{"start_time":"00:30:00Z","end_time":"16:30:00Z"},"prices":{"input_mtok":2}}]"#,
        );
        let at = |h, m| Utc.with_ymd_and_hms(2025, 1, 1, h, m, 0).unwrap();
        assert_eq!(p.at(at(0, 29)).input, Some(Rate::Flat(1.0)));
        assert_eq!(p.at(at(0, 30)).input, Some(Rate::Flat(2.0)));
        assert_eq!(p.at(at(16, 29)).input, Some(Rate::Flat(2.0)));
        assert_eq!(p.at(at(16, 30)).input, Some(Rate::Flat(1.0)));
        let wrap = prices(
            r#"[{"prices":{"input_mtok":1}},
                {"constraint":{"start_time":"22:00","end_time":"02:00"},"prices":{"input_mtok":2}}]"#,
        );
        assert_eq!(wrap.at(at(23, 0)).input, Some(Rate::Flat(2.0)));
        assert_eq!(wrap.at(at(1, 59)).input, Some(Rate::Flat(2.0)));
        assert_eq!(wrap.at(at(2, 0)).input, Some(Rate::Flat(1.0)));
    }

    #[test]
    fn time_offsets_are_converted_to_utc() {
        assert_eq!(parse_utc_time("08:30:00+08:00").unwrap(), 30 * 60);
        assert_eq!(parse_utc_time("23:00-02:00").unwrap(), 3600);
        assert!(parse_utc_time("25:00").is_err());
    }

    #[test]
    fn missing_cache_prices_fall_back_to_input_and_1h_to_the_write_price() {
        let p = prices(r#"{"input_mtok":2,"output_mtok":8}"#);
        let tokens = TokenCounts {
            input_uncached: 1_000_000,
            cache_read: 1_000_000,
            cache_write_5m: 1_000_000,
            cache_write_1h: 1_000_000,
            output: 0,
            reasoning: 0,
        };
        let c = p.at(Utc::now()).cost(&tokens, 1);
        assert_eq!((c.input, c.cache_read, c.cache_write), (2.0, 2.0, 4.0));
        let p = prices(r#"{"input_mtok":3,"cache_write_mtok":3.75}"#);
        let c = p.at(Utc::now()).cost(&tokens, 1);
        assert_eq!(c.cache_write, 7.5);
        let p = prices(r#"{"input_mtok":3,"cache_write_mtok":3.75,"cache_write_1h_mtok":6}"#);
        assert_eq!(p.at(Utc::now()).cost(&tokens, 1).cache_write, 9.75);
    }

    #[test]
    fn invalid_prices_are_rejected() {
        let bad =
            |json: &str| Prices::compile(&serde_json::from_str(json).unwrap(), true).unwrap_err();
        assert!(matches!(
            bad(r#"{"input_mtok":-1}"#),
            ModelProblem::BadPrice {
                field: "input_mtok"
            }
        ));
        assert!(matches!(
            bad(
                r#"{"input_mtok":{"base":1,"tiers":[{"start":5,"price":1},{"start":5,"price":2}]}}"#
            ),
            ModelProblem::UnsortedTiers { .. }
        ));
        assert!(
            matches!(bad(r#"{"input_mtk":1}"#), ModelProblem::UnknownPriceField(f) if f == "input_mtk")
        );
        assert!(matches!(bad(r#"[]"#), ModelProblem::NoPrices));
        assert!(matches!(
            bad(r#"[{"constraint":{"start_date":"June"},"prices":{}}]"#),
            ModelProblem::BadDate(_)
        ));
        // Media prices of the schema are accepted (and not used).
        assert!(
            Prices::compile(
                &serde_json::from_str(r#"{"input_audio_mtok":1}"#).unwrap(),
                true
            )
            .is_ok()
        );
    }
}
