//! `capacity`: requests and tokens per minute at `growth` times today's
//! traffic (3x by default) against rate limits, per model. Peaks come from
//! the busiest minute and the 99th-percentile minute of the span (minutes
//! without traffic included). Limits are the configured ones, else the
//! documented assumed defaults (`data/providers.toml`), and the output says
//! which. A finding, not a saving: its recommendation's saving is 0.

use crate::context::AnalysisContext;
use crate::error::AnalysisError;
use crate::priced::PricedView;
use crate::providers::{LimitSource, RateLimit, RateLimits};
use crate::recommendation::{
    Confidence, Evidence, Figure, Recommendation, RecommendationKind, Unit, group_thousands,
};
use crate::scan::{self, Scan};
use crate::stats::{FastMap, fast_map};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use usage::dataset::Row;

/// Arguments of `capacity`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CapacityInput {
    /// Traffic multiplier to plan for.
    pub growth: f64,
    /// Limits to use on top of the context's (these win).
    pub rate_limits: Vec<RateLimit>,
}

impl Default for CapacityInput {
    fn default() -> Self {
        CapacityInput {
            growth: 3.0,
            rate_limits: Vec::new(),
        }
    }
}

/// One model's peaks, projection and limits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelCapacity {
    pub model: String,
    pub provider: String,
    pub calls: u64,
    pub peak_rpm: u64,
    pub peak_rpm_at: DateTime<Utc>,
    pub peak_tpm: u64,
    pub peak_tpm_at: DateTime<Utc>,
    /// 99th-percentile minute over the whole span.
    pub p99_rpm: u64,
    pub p99_tpm: u64,
    pub projected_peak_rpm: u64,
    pub projected_peak_tpm: u64,
    pub rpm_limit: Option<u64>,
    pub tpm_limit: Option<u64>,
    pub limit_source: Option<LimitSource>,
    pub limit_note: Option<String>,
    /// `1 - projected / limit`, as a percentage; negative when short.
    pub rpm_headroom_pct: Option<f64>,
    pub tpm_headroom_pct: Option<f64>,
    /// True when a projected peak exceeds a limit.
    pub short: bool,
    /// True when even the projected p99 minute exceeds a limit (sustained, not a spike).
    pub short_at_p99: bool,
}

/// Result of `capacity`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CapacityOutput {
    pub growth: f64,
    pub models: Vec<ModelCapacity>,
    /// Aggregate records (usage buckets) left out: they have no per-minute timing.
    pub aggregate_records_skipped: u64,
    #[serde(skip)]
    pub recommendation: Option<Recommendation>,
}

const DENSE_CELLS: usize = 4 << 20;

/// Runs `capacity`.
pub fn capacity(
    ctx: &AnalysisContext,
    input: &CapacityInput,
) -> Result<CapacityOutput, AnalysisError> {
    let mut scan = CapacityScan::new(ctx, input)?;
    scan::run(ctx, &mut [&mut scan])?;
    scan.finish()
}

/// The pass of `capacity`: requests and tokens per (model, minute).
pub(crate) struct CapacityScan<'a> {
    ctx: &'a AnalysisContext,
    view: &'a PricedView,
    input: CapacityInput,
    minutes: usize,
    dense: bool,
    cells: Vec<(u64, u64)>,
    sparse: FastMap<u64, (u64, u64)>,
    skipped: u64,
    calls: Vec<u64>,
}

impl<'a> CapacityScan<'a> {
    pub(crate) fn new(
        ctx: &'a AnalysisContext,
        input: &CapacityInput,
    ) -> Result<Self, AnalysisError> {
        if !(input.growth.is_finite() && input.growth > 0.0) {
            return Err(AnalysisError::InvalidParameter {
                name: "growth",
                reason: "must be a positive number",
            });
        }
        let view = ctx.priced()?;
        let n_slots = view.slots.len();
        let minutes = ((view.max_ms - view.min_ms) / 60_000 + 1) as usize;
        let dense = minutes.saturating_mul(n_slots) <= DENSE_CELLS;
        Ok(CapacityScan {
            ctx,
            view,
            input: input.clone(),
            minutes,
            dense,
            cells: if dense {
                vec![(0, 0); minutes * n_slots]
            } else {
                Vec::new()
            },
            sparse: fast_map(),
            skipped: 0,
            calls: vec![0; n_slots],
        })
    }
}

impl Scan for CapacityScan<'_> {
    fn visit(&mut self, base: usize, rows: &[Row]) {
        let view = self.view;
        for (k, row) in rows.iter().enumerate() {
            if row.is_aggregate() {
                self.skipped += 1;
                continue;
            }
            let slot = view.row_slot[base + k] as usize;
            let minute = ((row.ts_ms - view.min_ms) / 60_000) as usize;
            let cell = if self.dense {
                &mut self.cells[slot * self.minutes + minute]
            } else {
                self.sparse
                    .entry(((slot as u64) << 40) | minute as u64)
                    .or_default()
            };
            cell.0 += 1;
            cell.1 += row.tokens.total();
            self.calls[slot] += 1;
        }
    }
}

impl CapacityScan<'_> {
    /// Peaks, projections, limits and the result.
    pub(crate) fn finish(self) -> Result<CapacityOutput, AnalysisError> {
        let CapacityScan {
            ctx,
            view,
            input,
            minutes,
            dense,
            cells,
            sparse,
            skipped,
            calls,
        } = self;
        ctx.check_cancelled()?;
        let input = &input;
        let n_slots = view.slots.len();

        // Per slot: the non-empty minutes.
        let mut per_slot: Vec<Vec<(u64, u64, u64)>> = vec![Vec::new(); n_slots];
        if dense {
            for (slot, column) in cells.chunks(minutes).enumerate() {
                per_slot[slot] = column
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| c.0 > 0)
                    .map(|(m, c)| (m as u64, c.0, c.1))
                    .collect();
            }
        } else {
            for (key, c) in sparse {
                per_slot[(key >> 40) as usize].push((key & ((1 << 40) - 1), c.0, c.1));
            }
        }

        let mut limits = RateLimits {
            limits: input.rate_limits.clone(),
        };
        for l in &mut limits.limits {
            l.source = LimitSource::Configured;
        }
        limits
            .limits
            .extend(ctx.rate_limits().limits.iter().cloned());

        let at = |m: u64| {
            DateTime::from_timestamp_millis(view.min_ms + m as i64 * 60_000).unwrap_or_default()
        };
        let mut models = Vec::new();
        for (slot, mins) in per_slot.iter().enumerate() {
            if mins.is_empty() {
                continue;
            }
            let s = &view.slots[slot];
            let peak_r = mins
                .iter()
                .max_by_key(|m| (m.1, std::cmp::Reverse(m.0)))
                .copied()
                .unwrap_or_default();
            let peak_t = mins
                .iter()
                .max_by_key(|m| (m.2, std::cmp::Reverse(m.0)))
                .copied()
                .unwrap_or_default();
            let p99_r = p99_with_zeros(mins.iter().map(|m| m.1).collect(), minutes);
            let p99_t = p99_with_zeros(mins.iter().map(|m| m.2).collect(), minutes);
            let project = |v: u64| (v as f64 * input.growth).ceil() as u64;
            let mut names: Vec<&str> = vec![s.model_label.as_str()];
            if let Some(id) = s.catalogue_id.as_deref() {
                names.push(id);
            }
            let limit = limits.lookup(&s.provider_id, &names);
            let rpm_limit = limit.and_then(|l| l.rpm);
            let tpm_limit = limit.and_then(|l| l.tpm);
            let headroom = |projected: u64, limit: Option<u64>| {
                limit
                    .filter(|l| *l > 0)
                    .map(|l| 100.0 * (1.0 - projected as f64 / l as f64))
            };
            let exceeds = |v: u64, limit: Option<u64>| limit.is_some_and(|l| project(v) > l);
            models.push(ModelCapacity {
                model: view.slot_label(slot),
                provider: s.provider_id.clone(),
                calls: calls[slot],
                peak_rpm: peak_r.1,
                peak_rpm_at: at(peak_r.0),
                peak_tpm: peak_t.2,
                peak_tpm_at: at(peak_t.0),
                p99_rpm: p99_r,
                p99_tpm: p99_t,
                projected_peak_rpm: project(peak_r.1),
                projected_peak_tpm: project(peak_t.2),
                rpm_limit,
                tpm_limit,
                limit_source: limit.map(|l| l.source),
                limit_note: limit.and_then(|l| l.note.clone()),
                rpm_headroom_pct: headroom(project(peak_r.1), rpm_limit),
                tpm_headroom_pct: headroom(project(peak_t.2), tpm_limit),
                short: exceeds(peak_r.1, rpm_limit) || exceeds(peak_t.2, tpm_limit),
                short_at_p99: exceeds(p99_r, rpm_limit) || exceeds(p99_t, tpm_limit),
            });
        }
        models.sort_by(|a, b| {
            b.short.cmp(&a.short).then_with(|| {
                let worst = |m: &ModelCapacity| {
                    m.rpm_headroom_pct
                        .unwrap_or(f64::MAX)
                        .min(m.tpm_headroom_pct.unwrap_or(f64::MAX))
                };
                worst(a).total_cmp(&worst(b))
            })
        });

        let short: Vec<&ModelCapacity> = models.iter().filter(|m| m.short).collect();
        let recommendation = (!short.is_empty()).then(|| {
        let mut evidence = Evidence::default();
        for m in &short {
            evidence.calls += m.calls;
            evidence.models.push(m.model.clone());
            evidence.figures.push(Figure::new(format!("{}: busiest minute, requests", m.model), m.peak_rpm as f64, Unit::RequestsPerMinute));
            evidence.figures.push(Figure::new(format!("{}: busiest minute, tokens", m.model), m.peak_tpm as f64, Unit::TokensPerMinute));
            evidence.figures.push(Figure::new(format!("{}: p99 minute, tokens", m.model), m.p99_tpm as f64, Unit::TokensPerMinute));
            if let Some(l) = m.tpm_limit {
                evidence.figures.push(Figure::new(
                    format!("{}: at {}x, busiest minute tokens", m.model, input.growth),
                    m.projected_peak_tpm as f64,
                    Unit::TokensPerMinute,
                ));
                evidence.figures.push(Figure::new(format!("{}: tokens-per-minute limit", m.model), l as f64, Unit::TokensPerMinute));
            }
            if let Some(l) = m.rpm_limit {
                evidence.figures.push(Figure::new(
                    format!("{}: at {}x, busiest minute requests", m.model, input.growth),
                    m.projected_peak_rpm as f64,
                    Unit::RequestsPerMinute,
                ));
                evidence.figures.push(Figure::new(format!("{}: requests-per-minute limit", m.model), l as f64, Unit::RequestsPerMinute));
            }
        }
        let top = short[0];
        let assumed = short.iter().any(|m| m.limit_source == Some(LimitSource::Assumed));
        let (what, projected, limit) = if top.tpm_headroom_pct.unwrap_or(f64::MAX) <= top.rpm_headroom_pct.unwrap_or(f64::MAX) {
            ("tokens-per-minute", top.projected_peak_tpm, top.tpm_limit.unwrap_or(0))
        } else {
            ("requests-per-minute", top.projected_peak_rpm, top.rpm_limit.unwrap_or(0))
        };
        Recommendation {
            id: RecommendationKind::Capacity.as_str().to_owned(),
            kind: RecommendationKind::Capacity,
            title: format!(
                "At {}x traffic, {} would exceed its {what} limit ({} against {})",
                input.growth,
                top.model,
                group_thousands(projected),
                group_thousands(limit)
            ),
            monthly_savings_usd: 0.0,
            latency_effect: Some(
                "past the limit, calls are rejected with 429 and retried: queueing delay and failures in the busiest minutes".to_owned(),
            ),
            confidence: if assumed { Confidence::Low } else { Confidence::Medium },
            evidence,
            rationale: format!(
                "Per model, requests and tokens (input plus output) were counted per minute; the busiest minute \
                 times {} is compared with the rate limit. {} {}",
                input.growth,
                if top.short_at_p99 {
                    "Even the 99th-percentile minute would exceed it: a sustained shortfall, not a single spike."
                } else {
                    "The 99th-percentile minute stays within it: the shortfall is in bursts, which smoothing can absorb."
                },
                if assumed {
                    "The limit is an assumed default, not your account's: configure your real limits."
                } else {
                    "The limits are the configured ones."
                }
            ),
            action: format!(
                "Ask {} for a higher limit before growth, spread bursty jobs over more minutes (or move them to a \
                 batch API), and add client-side rate limiting with backoff.",
                top.provider
            ),
        }
    });

        Ok(CapacityOutput {
            growth: input.growth,
            models,
            aggregate_records_skipped: skipped,
            recommendation,
        })
    }
}

/// The nearest-rank 99th percentile of per-minute values over `minutes`
/// minutes, where minutes absent from `values` count as zero.
fn p99_with_zeros(mut values: Vec<u64>, minutes: usize) -> u64 {
    let n = minutes.max(values.len());
    let rank = ((0.99 * n as f64).ceil() as usize).clamp(1, n);
    let zeros = n - values.len();
    if rank <= zeros {
        return 0;
    }
    let index = rank - zeros - 1;
    *values.select_nth_unstable(index).1
}

impl CapacityOutput {
    pub fn summary(&self) -> String {
        let short: Vec<&ModelCapacity> = self.models.iter().filter(|m| m.short).collect();
        if let Some(top) = short.first() {
            return format!(
                "At {}x traffic {} model(s) would exceed their rate limits; worst: {} (busiest minute {} tokens and {} requests today)",
                self.growth,
                short.len(),
                top.model,
                group_thousands(top.peak_tpm),
                group_thousands(top.peak_rpm)
            );
        }
        let unknown = self
            .models
            .iter()
            .filter(|m| m.rpm_limit.is_none() && m.tpm_limit.is_none())
            .count();
        let tightest = self
            .models
            .iter()
            .filter_map(|m| {
                let h = m
                    .rpm_headroom_pct
                    .unwrap_or(f64::MAX)
                    .min(m.tpm_headroom_pct.unwrap_or(f64::MAX));
                (h < f64::MAX).then_some((h, m))
            })
            .min_by(|a, b| a.0.total_cmp(&b.0));
        match tightest {
            Some((h, m)) => format!(
                "At {}x traffic every model stays within its limits; least headroom: {} ({h:.0}%){}",
                self.growth,
                m.model,
                if unknown > 0 {
                    format!("; {unknown} model(s) without a known limit")
                } else {
                    String::new()
                }
            ),
            None => format!(
                "No rate limits known for the {} model(s): peaks reported without a comparison",
                self.models.len()
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::p99_with_zeros;

    #[test]
    fn p99_counts_empty_minutes() {
        // 100 minutes, one busy: the 99th-percentile minute is empty.
        assert_eq!(p99_with_zeros(vec![50], 100), 0);
        // 100 minutes, two busy: rank 99 is the smaller of them.
        assert_eq!(p99_with_zeros(vec![50, 20], 100), 20);
        assert_eq!(p99_with_zeros((1..=100).collect(), 100), 99);
    }
}
