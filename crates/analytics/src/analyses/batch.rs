//! `batch_api`: traffic that tolerates delay, moved to a provider's batch
//! API at its discount (50% at OpenAI, Anthropic, Google and Mistral; see
//! `data/providers.toml`). Traffic counts as delay-tolerant when its feature,
//! endpoint or environment tag names a job (batch, nightly, cron, ...), or
//! when it runs almost only at night. Calls already on a batch or flex tier,
//! and providers without a batch API, are left out.

use crate::context::AnalysisContext;
use crate::error::AnalysisError;
use crate::priced::PricedView;
use crate::recommendation::{
    Confidence, Evidence, Figure, Recommendation, RecommendationKind, Unit, group_thousands,
    push_sample, usd,
};
use crate::scan::{self, Scan};
use crate::stats::{FastMap, fast_map};
use serde::{Deserialize, Serialize};
use usage::dataset::Row;
use usage::{ServiceTier, Sym};

/// Arguments of `batch_api`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BatchApiInput {
    /// Words in a feature, endpoint or environment tag that mark delay-tolerant traffic (whole words, any case).
    pub keywords: Vec<String>,
    /// Night window in UTC hours, `[start, end)`.
    pub night_start_hour: u32,
    pub night_end_hour: u32,
    /// Traffic with at least this share of its calls at night counts as delay-tolerant.
    pub night_share: f64,
    /// Segments with fewer calls are ignored.
    pub min_calls: u64,
    pub top_n: usize,
}

impl Default for BatchApiInput {
    fn default() -> Self {
        BatchApiInput {
            keywords: [
                "batch",
                "nightly",
                "night",
                "job",
                "jobs",
                "cron",
                "offline",
                "backfill",
                "etl",
                "eval",
                "evals",
                "scheduled",
                "bulk",
            ]
            .into_iter()
            .map(str::to_owned)
            .collect(),
            night_start_hour: 0,
            night_end_hour: 6,
            night_share: 0.8,
            min_calls: 20,
            top_n: 10,
        }
    }
}

/// Why a segment counts as delay-tolerant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BatchReason {
    /// A tag names a job.
    Tags,
    /// It runs (almost) only at night.
    NightTraffic,
}

/// Traffic of one (feature, endpoint, environment) that could go to a batch API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchSegment {
    pub feature: String,
    pub endpoint: Option<String>,
    pub environment: Option<String>,
    pub reason: BatchReason,
    pub calls: u64,
    /// Share of the segment's calls in the night window.
    pub night_share: f64,
    pub models: Vec<String>,
    /// Observed cost of the calls that could move (standard tier, provider with a batch API), USD.
    pub eligible_cost_usd: f64,
    pub monthly_savings_usd: f64,
    /// Calls already on a batch or flex tier.
    pub already_discounted_calls: u64,
    /// Calls on providers without a batch API.
    pub no_batch_api_calls: u64,
}

/// Result of `batch_api`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchApiOutput {
    pub basis: String,
    pub segments: Vec<BatchSegment>,
    pub total_monthly_savings_usd: f64,
    /// Providers' batch offers used, one line each.
    pub offers: Vec<String>,
    #[serde(skip)]
    pub recommendation: Option<Recommendation>,
}

#[derive(Debug, Clone)]
struct Segment {
    feature: Sym,
    endpoint: Sym,
    environment: Sym,
    calls: u64,
    night: u64,
    eligible_cost: f64,
    saving: f64,
    already: u64,
    no_api: u64,
    slots: Vec<u32>,
    sample: Vec<usize>,
}

/// Runs `batch_api`.
pub fn batch_api(
    ctx: &AnalysisContext,
    input: &BatchApiInput,
) -> Result<BatchApiOutput, AnalysisError> {
    let mut scan = BatchScan::new(ctx, input)?;
    scan::run(ctx, &mut [&mut scan])?;
    scan.finish()
}

/// The pass of `batch_api`: calls and costs by (feature, endpoint, environment).
pub(crate) struct BatchScan<'a> {
    ctx: &'a AnalysisContext,
    view: &'a PricedView,
    input: BatchApiInput,
    discount: Vec<f64>,
    index: FastMap<(u32, u32, u32), usize>,
    segments: Vec<Segment>,
}

impl<'a> BatchScan<'a> {
    pub(crate) fn new(
        ctx: &'a AnalysisContext,
        input: &BatchApiInput,
    ) -> Result<Self, AnalysisError> {
        if input.night_start_hour > 23 || input.night_end_hour > 24 {
            return Err(AnalysisError::InvalidParameter {
                name: "night_start_hour",
                reason: "hours are 0 to 23 (end: 24)",
            });
        }
        if !(0.0..=1.0).contains(&input.night_share) {
            return Err(AnalysisError::InvalidParameter {
                name: "night_share",
                reason: "must be between 0 and 1",
            });
        }
        let view = ctx.priced()?;
        let facts = ctx.provider_facts();
        let discount = view
            .slots
            .iter()
            .map(|s| {
                facts
                    .batch_offer(&s.provider_id)
                    .map_or(0.0, |o| o.discount)
            })
            .collect();
        Ok(BatchScan {
            ctx,
            view,
            input: input.clone(),
            discount,
            index: fast_map(),
            segments: Vec::new(),
        })
    }
}

impl Scan for BatchScan<'_> {
    fn visit(&mut self, base: usize, rows: &[Row]) {
        let view = self.view;
        let (ns, ne) = (
            i64::from(self.input.night_start_hour),
            i64::from(self.input.night_end_hour),
        );
        let is_night = |ts_ms: i64| {
            let h = ts_ms.div_euclid(3_600_000).rem_euclid(24);
            if ns <= ne {
                h >= ns && h < ne
            } else {
                h >= ns || h < ne
            }
        };
        for (k, row) in rows.iter().enumerate() {
            let i = base + k;
            let key = (row.feature.0, row.endpoint.0, row.environment.0);
            let segments = &mut self.segments;
            let s = *self.index.entry(key).or_insert_with(|| {
                segments.push(Segment {
                    feature: row.feature,
                    endpoint: row.endpoint,
                    environment: row.environment,
                    calls: 0,
                    night: 0,
                    eligible_cost: 0.0,
                    saving: 0.0,
                    already: 0,
                    no_api: 0,
                    slots: Vec::new(),
                    sample: Vec::new(),
                });
                segments.len() - 1
            });
            let seg = &mut self.segments[s];
            let calls = u64::from(row.calls.max(1));
            seg.calls += calls;
            if is_night(row.ts_ms) {
                seg.night += calls;
            }
            let slot = view.row_slot[i];
            if matches!(row.service_tier, ServiceTier::Batch | ServiceTier::Flex) {
                seg.already += calls;
                continue;
            }
            let d = self.discount[slot as usize];
            if d == 0.0 {
                seg.no_api += calls;
                continue;
            }
            let cost = view.cost[i];
            if cost.is_nan() {
                continue;
            }
            seg.eligible_cost += cost;
            seg.saving += cost * d;
            if !seg.slots.contains(&slot) {
                seg.slots.push(slot);
            }
            push_sample(&mut seg.sample, i);
        }
    }
}

impl BatchScan<'_> {
    /// Which segments are delay-tolerant, and the result.
    pub(crate) fn finish(self) -> Result<BatchApiOutput, AnalysisError> {
        let BatchScan {
            ctx,
            view,
            input,
            segments,
            ..
        } = self;
        ctx.check_cancelled()?;
        let input = &input;
        let ds = ctx.dataset();
        let facts = ctx.provider_facts();
        let span = &view.span;

        let keywords: Vec<String> = input.keywords.iter().map(|k| k.to_lowercase()).collect();
        let names_a_job = |sym: Sym| {
            ds.str(sym).is_some_and(|s| {
                s.to_lowercase()
                    .split(|c: char| !c.is_alphanumeric())
                    .any(|word| keywords.iter().any(|k| k == word))
            })
        };
        let mut out: Vec<(BatchSegment, Vec<usize>)> = segments
            .iter()
            .filter(|s| s.calls >= input.min_calls && s.saving > 0.0)
            .filter_map(|s| {
                let night_share = s.night as f64 / s.calls as f64;
                let reason = if names_a_job(s.feature)
                    || names_a_job(s.endpoint)
                    || names_a_job(s.environment)
                {
                    BatchReason::Tags
                } else if night_share >= input.night_share {
                    BatchReason::NightTraffic
                } else {
                    return None;
                };
                let seg = BatchSegment {
                    feature: ds.str(s.feature).unwrap_or("(no feature)").to_owned(),
                    endpoint: ds.str(s.endpoint).map(str::to_owned),
                    environment: ds.str(s.environment).map(str::to_owned),
                    reason,
                    calls: s.calls,
                    night_share,
                    models: s
                        .slots
                        .iter()
                        .map(|&sl| view.slot_label(sl as usize))
                        .collect(),
                    eligible_cost_usd: s.eligible_cost,
                    monthly_savings_usd: span.monthly(s.saving),
                    already_discounted_calls: s.already,
                    no_batch_api_calls: s.no_api,
                };
                Some((seg, s.sample.clone()))
            })
            .collect();
        out.sort_by(|a, b| {
            b.0.monthly_savings_usd
                .total_cmp(&a.0.monthly_savings_usd)
                .then_with(|| a.0.feature.cmp(&b.0.feature))
        });
        let total: f64 = out.iter().map(|s| s.0.monthly_savings_usd).sum();

        let mut offers: Vec<String> = Vec::new();
        for s in view.slots.iter().filter(|s| s.priced_calls > 0) {
            let line = match facts.batch_offer(&s.provider_id) {
                Some(o) => format!(
                    "{}: {:.0}% off ({})",
                    s.provider_id,
                    o.discount * 100.0,
                    o.source
                ),
                None => format!("{}: no batch API known", s.provider_id),
            };
            if !offers.contains(&line) {
                offers.push(line);
            }
        }

        let recommendation = (total > 0.0).then(|| {
        let mut evidence = Evidence::default();
        let mut eligible = 0.0;
        let mut tagged = 0.0;
        for (s, sample) in &out {
            evidence.calls += s.calls - s.already_discounted_calls - s.no_batch_api_calls;
            eligible += s.eligible_cost_usd;
            if s.reason == BatchReason::Tags {
                tagged += s.monthly_savings_usd;
            }
            for m in &s.models {
                if !evidence.models.contains(m) {
                    evidence.models.push(m.clone());
                }
            }
            if !evidence.features.contains(&s.feature) {
                evidence.features.push(s.feature.clone());
            }
            for &r in sample {
                push_sample(&mut evidence.sample_rows, r);
            }
            evidence.figures.push(Figure::new(
                format!("{}: share of calls at night ({:02}-{:02} UTC)", s.feature, input.night_start_hour, input.night_end_hour),
                100.0 * s.night_share,
                Unit::Percent,
            ));
        }
        evidence.figures.push(Figure::new("observed cost of the delay-tolerant calls", eligible, Unit::Usd));
        evidence.figures.push(Figure::new(
            "effective discount on those calls",
            100.0 * (total / span.monthly_factor) / eligible.max(f64::MIN_POSITIVE),
            Unit::Percent,
        ));
        let top = &out[0].0;
        Recommendation {
            id: RecommendationKind::BatchApi.as_str().to_owned(),
            kind: RecommendationKind::BatchApi,
            title: format!("Send {} through the batch API", top.feature),
            monthly_savings_usd: total,
            latency_effect: Some(
                "results arrive asynchronously, within 24 hours (usually much sooner), instead of in seconds".to_owned(),
            ),
            confidence: if tagged * 2.0 >= total { Confidence::High } else { Confidence::Medium },
            evidence,
            rationale: format!(
                "These calls are delay-tolerant: their tags name a job, or they run almost only at night (UTC; the \
                 data has no time zone). Batch APIs bill every token kind at a discount ({}); the saving is that \
                 discount applied to their observed cost. Calls already on a batch or flex tier are excluded.",
                offers.join("; ")
            ),
            action: format!(
                "Submit {} as batch jobs (JSONL of requests, results polled or fetched when done) instead of \
                 synchronous calls.",
                top.feature
            ),
        }
    });

        let mut segments_out: Vec<BatchSegment> = out.into_iter().map(|(s, _)| s).collect();
        segments_out.truncate(input.top_n.max(1));
        Ok(BatchApiOutput {
            basis: span.basis.clone(),
            segments: segments_out,
            total_monthly_savings_usd: total,
            offers,
            recommendation,
        })
    }
}

impl BatchApiOutput {
    pub fn summary(&self) -> String {
        match self.segments.first() {
            None => "No delay-tolerant traffic found on a provider with a batch API".to_owned(),
            Some(top) => format!(
                "{} per month by sending delay-tolerant traffic to batch APIs; largest: {} ({} calls, {} per month)",
                usd(self.total_monthly_savings_usd),
                top.feature,
                group_thousands(top.calls),
                usd(top.monthly_savings_usd)
            ),
        }
    }
}
