//! `retry_waste`: money spent on calls that failed (errors and rate-limited
//! calls that were billed) and on retries (attempt 2 and above), by feature
//! and model, with the worst hours (bursts). The waste is the failed calls'
//! cost: a failed call's tokens buy nothing.

use crate::context::AnalysisContext;
use crate::error::AnalysisError;
use crate::priced::PricedView;
use crate::recommendation::{
    Confidence, Evidence, Figure, Recommendation, RecommendationKind, Unit, group_thousands,
    push_sample, usd,
};
use crate::scan::{self, Scan};
use crate::stats::{FastMap, fast_map};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use usage::dataset::Row;
use usage::{Status, Sym};

/// Arguments of `retry_waste`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetryWasteInput {
    /// (feature, model) pairs listed, most waste first.
    pub top_n: usize,
}

impl Default for RetryWasteInput {
    fn default() -> Self {
        RetryWasteInput { top_n: 10 }
    }
}

/// Failures and retries of one feature on one model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WasteSegment {
    pub feature: String,
    pub model: String,
    pub calls: u64,
    pub failed_calls: u64,
    pub error_rate: f64,
    /// Observed cost of the failed calls, USD.
    pub failed_cost_usd: f64,
    pub failed_tokens: u64,
    pub retry_calls: u64,
    pub retry_cost_usd: f64,
    pub monthly_waste_usd: f64,
}

/// An hour with many failures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FailureHour {
    pub hour: DateTime<Utc>,
    pub failed_calls: u64,
}

/// Result of `retry_waste`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RetryWasteOutput {
    pub basis: String,
    pub failed_calls: u64,
    pub error_calls: u64,
    pub rate_limited_calls: u64,
    /// Failed calls with no price (unknown model): counted, not costed.
    pub unpriced_failed_calls: u64,
    pub failed_cost_usd: f64,
    pub retry_calls: u64,
    pub retry_cost_usd: f64,
    pub segments: Vec<WasteSegment>,
    /// The hours with the most failures, worst first (at most 5).
    pub worst_hours: Vec<FailureHour>,
    /// Share of all failures that fell in those hours.
    pub worst_hours_share: f64,
    pub total_monthly_savings_usd: f64,
    #[serde(skip)]
    pub recommendation: Option<Recommendation>,
}

#[derive(Debug, Clone)]
struct Segment {
    feature: Sym,
    slot: u32,
    calls: u64,
    failed: u64,
    failed_cost: f64,
    failed_tokens: u64,
    retries: u64,
    retry_cost: f64,
    sample: Vec<usize>,
}

/// Runs `retry_waste`.
pub fn retry_waste(
    ctx: &AnalysisContext,
    input: &RetryWasteInput,
) -> Result<RetryWasteOutput, AnalysisError> {
    let mut scan = RetryScan::new(ctx, input)?;
    scan::run(ctx, &mut [&mut scan])?;
    scan.finish()
}

/// The pass of `retry_waste`: failures and retries by (feature, model), failures by hour.
pub(crate) struct RetryScan<'a> {
    ctx: &'a AnalysisContext,
    view: &'a PricedView,
    top_n: usize,
    first_hour: i64,
    hours: Vec<u64>,
    index: FastMap<u64, usize>,
    segments: Vec<Segment>,
    errors: u64,
    limited: u64,
    unpriced_failed: u64,
}

impl<'a> RetryScan<'a> {
    pub(crate) fn new(
        ctx: &'a AnalysisContext,
        input: &RetryWasteInput,
    ) -> Result<Self, AnalysisError> {
        let view = ctx.priced()?;
        let first_hour = view.min_ms.div_euclid(3_600_000);
        Ok(RetryScan {
            ctx,
            view,
            top_n: input.top_n,
            first_hour,
            hours: vec![0; (view.max_ms.div_euclid(3_600_000) - first_hour + 1) as usize],
            index: fast_map(),
            segments: Vec::new(),
            errors: 0,
            limited: 0,
            unpriced_failed: 0,
        })
    }
}

impl Scan for RetryScan<'_> {
    fn visit(&mut self, base: usize, rows: &[Row]) {
        let view = self.view;
        let mut last: Option<(u64, usize)> = None;
        for (k, row) in rows.iter().enumerate() {
            let i = base + k;
            let slot = view.row_slot[i];
            let key = (u64::from(row.feature.0) << 32) | u64::from(slot);
            let s = match last {
                Some((lk, s)) if lk == key => s,
                _ => {
                    let segments = &mut self.segments;
                    let s = *self.index.entry(key).or_insert_with(|| {
                        segments.push(Segment {
                            feature: row.feature,
                            slot,
                            calls: 0,
                            failed: 0,
                            failed_cost: 0.0,
                            failed_tokens: 0,
                            retries: 0,
                            retry_cost: 0.0,
                            sample: Vec::new(),
                        });
                        segments.len() - 1
                    });
                    last = Some((key, s));
                    s
                }
            };
            let seg = &mut self.segments[s];
            let calls = u64::from(row.calls.max(1));
            seg.calls += calls;
            let cost = view.cost[i];
            if row.status != Status::Ok {
                seg.failed += calls;
                seg.failed_tokens += row.tokens.total();
                self.hours[(row.ts_ms.div_euclid(3_600_000) - self.first_hour) as usize] += calls;
                match row.status {
                    Status::RateLimited => self.limited += calls,
                    _ => self.errors += calls,
                }
                if cost.is_nan() {
                    self.unpriced_failed += calls;
                } else {
                    seg.failed_cost += cost;
                    push_sample(&mut seg.sample, i);
                }
            }
            if row.attempt >= 2 {
                seg.retries += calls;
                if !cost.is_nan() {
                    seg.retry_cost += cost;
                }
            }
        }
    }
}

impl RetryScan<'_> {
    /// Totals, worst hours and the result.
    pub(crate) fn finish(self) -> Result<RetryWasteOutput, AnalysisError> {
        let RetryScan {
            ctx,
            view,
            top_n,
            first_hour,
            hours,
            mut segments,
            errors,
            limited,
            unpriced_failed,
            ..
        } = self;
        ctx.check_cancelled()?;
        let ds = ctx.dataset();
        let span = &view.span;

        let failed_calls = errors + limited;
        let failed_cost: f64 = segments.iter().map(|s| s.failed_cost).sum();
        let retry_calls: u64 = segments.iter().map(|s| s.retries).sum();
        let retry_cost: f64 = segments.iter().map(|s| s.retry_cost).sum();
        let total = span.monthly(failed_cost);

        let mut ranked: Vec<(u64, u64)> = hours
            .iter()
            .enumerate()
            .filter(|(_, c)| **c > 0)
            .map(|(h, c)| (h as u64, *c))
            .collect();
        ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        ranked.truncate(5);
        let worst_hours: Vec<FailureHour> = ranked
            .iter()
            .map(|&(h, c)| FailureHour {
                hour: DateTime::from_timestamp_millis((first_hour + h as i64) * 3_600_000)
                    .unwrap_or_default(),
                failed_calls: c,
            })
            .collect();
        let worst_hours_share =
            ranked.iter().map(|h| h.1).sum::<u64>() as f64 / failed_calls.max(1) as f64;

        segments.retain(|s| s.failed > 0 || s.retries > 0);
        segments.sort_by(|a, b| {
            b.failed_cost
                .total_cmp(&a.failed_cost)
                .then(b.failed.cmp(&a.failed))
        });
        let out: Vec<WasteSegment> = segments
            .iter()
            .map(|s| WasteSegment {
                feature: ds.str(s.feature).unwrap_or("(no feature)").to_owned(),
                model: view.slot_label(s.slot as usize),
                calls: s.calls,
                failed_calls: s.failed,
                error_rate: s.failed as f64 / s.calls.max(1) as f64,
                failed_cost_usd: s.failed_cost,
                failed_tokens: s.failed_tokens,
                retry_calls: s.retries,
                retry_cost_usd: s.retry_cost,
                monthly_waste_usd: span.monthly(s.failed_cost),
            })
            .collect();

        let recommendation = (failed_cost > 0.0).then(|| {
        let mut evidence = Evidence { calls: failed_calls, ..Evidence::default() };
        for (s, o) in segments.iter().zip(out.iter()).filter(|(s, _)| s.failed_cost > 0.0) {
            if !evidence.models.contains(&o.model) {
                evidence.models.push(o.model.clone());
            }
            if !evidence.features.contains(&o.feature) {
                evidence.features.push(o.feature.clone());
            }
            for &r in &s.sample {
                push_sample(&mut evidence.sample_rows, r);
            }
        }
        evidence.figures.push(Figure::new("failed calls", failed_calls as f64, Unit::Calls));
        evidence.figures.push(Figure::new("of which rate limited", limited as f64, Unit::Calls));
        evidence.figures.push(Figure::new("observed cost of the failed calls", failed_cost, Unit::Usd));
        evidence.figures.push(Figure::new("retries (attempt 2 and above)", retry_calls as f64, Unit::Calls));
        evidence.figures.push(Figure::new("observed cost of the retries", retry_cost, Unit::Usd));
        evidence.figures.push(Figure::new("share of failures in the 5 worst hours", 100.0 * worst_hours_share, Unit::Percent));
        for o in out.iter().filter(|o| o.failed_cost_usd > 0.0).take(3) {
            evidence.figures.push(Figure::new(
                format!("{} on {}: error rate", o.feature, o.model),
                100.0 * o.error_rate,
                Unit::Percent,
            ));
        }
        let top = &out[0];
        let bursty = worst_hours_share >= 0.5;
        Recommendation {
            id: RecommendationKind::RetryWaste.as_str().to_owned(),
            kind: RecommendationKind::RetryWaste,
            title: format!(
                "Stop paying for {} failed calls, most of them in {} on {}",
                group_thousands(failed_calls),
                top.feature,
                top.model
            ),
            monthly_savings_usd: total,
            latency_effect: Some(
                "failing fast (short timeouts, a circuit breaker during outages) also shortens the wait of the users \
                 behind each retried call"
                    .to_owned(),
            ),
            confidence: Confidence::Medium,
            evidence,
            rationale: format!(
                "A failed call's billed tokens buy nothing; the waste is their observed cost, all of which is \
                 avoidable only if the failures are. {} Retries themselves are the calls that replace the failures, \
                 so they are reported but not counted as waste.",
                if bursty {
                    "Half or more of the failures fall in a few hours: outage bursts, where retrying at once repeats the failure."
                } else {
                    "The failures are spread over time: look at timeouts and request sizes."
                }
            ),
            action: "Retry with exponential backoff and jitter, honour Retry-After on 429s, stop retrying during an \
                     outage (circuit breaker, or fail over to another model), and set client timeouts and max_tokens \
                     so long generations are not cut off and paid for twice."
                .to_owned(),
        }
    });

        let mut segments_out = out;
        segments_out.truncate(top_n.max(1));
        Ok(RetryWasteOutput {
            basis: span.basis.clone(),
            failed_calls,
            error_calls: errors,
            rate_limited_calls: limited,
            unpriced_failed_calls: unpriced_failed,
            failed_cost_usd: failed_cost,
            retry_calls,
            retry_cost_usd: retry_cost,
            segments: segments_out,
            worst_hours,
            worst_hours_share,
            total_monthly_savings_usd: total,
            recommendation,
        })
    }
}

impl RetryWasteOutput {
    pub fn summary(&self) -> String {
        if self.failed_calls == 0 {
            return format!(
                "No failed calls; {} retries",
                group_thousands(self.retry_calls)
            );
        }
        format!(
            "{} per month spent on {} failed calls ({} rate limited); {} retries cost {} over the span; worst 5 hours hold {:.0}% of failures",
            usd(self.total_monthly_savings_usd),
            group_thousands(self.failed_calls),
            group_thousands(self.rate_limited_calls),
            group_thousands(self.retry_calls),
            usd(self.retry_cost_usd),
            100.0 * self.worst_hours_share
        )
    }
}
