//! `oversized_requests`: calls whose prompt or output is far above their
//! feature's median (more than `multiplier` times it, and above an absolute
//! floor). The saving re-prices those calls with the oversized part trimmed
//! to `trim_to_multiple` times the median.

use crate::context::AnalysisContext;
use crate::error::AnalysisError;
use crate::priced::{CHUNK, PricedView};
use crate::recommendation::{
    Confidence, Evidence, Figure, Recommendation, RecommendationKind, Unit, group_thousands,
    push_sample, usd,
};
use crate::scan::{self, Scan};
use crate::span::Clock;
use crate::stats::median;
use serde::{Deserialize, Serialize};
use usage::dataset::Row;
use usage::{Status, Sym, TokenCounts};

/// Arguments of `oversized_requests`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OversizedInput {
    /// A call is oversized above this multiple of its feature's median...
    pub multiplier: f64,
    /// ...and trimmed to this multiple of the median for the saving.
    pub trim_to_multiple: f64,
    /// Input tokens at or below this are never oversized.
    pub min_input_tokens: u64,
    /// Output tokens at or below this are never oversized.
    pub min_output_tokens: u64,
    /// Features with fewer successful calls are skipped (no stable median).
    pub min_feature_calls: u64,
    pub top_n: usize,
}

impl Default for OversizedInput {
    fn default() -> Self {
        OversizedInput {
            multiplier: 4.0,
            trim_to_multiple: 2.0,
            min_input_tokens: 8_000,
            min_output_tokens: 2_000,
            min_feature_calls: 20,
            top_n: 10,
        }
    }
}

/// Oversized calls of one feature.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OversizedFeature {
    pub feature: String,
    pub calls: u64,
    pub median_input_tokens: u32,
    pub median_output_tokens: u32,
    pub oversized_input_calls: u64,
    pub oversized_output_calls: u64,
    pub max_input_tokens: u64,
    pub max_output_tokens: u64,
    /// Observed cost of the oversized calls, USD.
    pub current_cost_usd: f64,
    /// The same calls trimmed, USD.
    pub trimmed_cost_usd: f64,
    pub monthly_savings_usd: f64,
}

/// Result of `oversized_requests`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OversizedOutput {
    pub basis: String,
    pub features: Vec<OversizedFeature>,
    pub oversized_calls: u64,
    pub total_monthly_savings_usd: f64,
    #[serde(skip)]
    pub recommendation: Option<Recommendation>,
}

#[derive(Debug, Clone, Default)]
struct Acc {
    over_in: u64,
    over_out: u64,
    over_calls: u64,
    max_in: u64,
    max_out: u64,
    cost: f64,
    trimmed: f64,
    latency_over: (u64, u64),
    sample: Vec<usize>,
}

/// Runs `oversized_requests`.
pub fn oversized_requests(
    ctx: &AnalysisContext,
    input: &OversizedInput,
) -> Result<OversizedOutput, AnalysisError> {
    let mut scan = OversizedScan::new(ctx, input)?;
    scan::run(ctx, &mut [&mut scan])?;
    scan.finish()
}

/// The pass of `oversized_requests`: token sizes of every successful single
/// call, by feature; the calls above a floor are the only ones that can be
/// oversized, so they are remembered for [`OversizedScan::finish`].
pub(crate) struct OversizedScan<'a> {
    ctx: &'a AnalysisContext,
    view: &'a PricedView,
    input: OversizedInput,
    n: usize,
    inputs: Vec<Vec<u32>>,
    outputs: Vec<Vec<u32>>,
    latency: Vec<(u64, u64)>,
    candidates: Vec<usize>,
}

impl<'a> OversizedScan<'a> {
    pub(crate) fn new(
        ctx: &'a AnalysisContext,
        input: &OversizedInput,
    ) -> Result<Self, AnalysisError> {
        if !(input.multiplier > 1.0
            && input.trim_to_multiple >= 1.0
            && input.trim_to_multiple <= input.multiplier)
        {
            return Err(AnalysisError::InvalidParameter {
                name: "multiplier",
                reason: "need multiplier > 1 and 1 <= trim_to_multiple <= multiplier",
            });
        }
        let n = ctx.dataset().strings.len() + 1;
        Ok(OversizedScan {
            ctx,
            view: ctx.priced()?,
            input: input.clone(),
            n,
            inputs: vec![Vec::new(); n],
            outputs: vec![Vec::new(); n],
            latency: vec![(0, 0); n],
            candidates: Vec::new(),
        })
    }
}

fn counted(row: &Row) -> bool {
    row.status == Status::Ok && !row.is_aggregate()
}

impl Scan for OversizedScan<'_> {
    fn visit(&mut self, base: usize, rows: &[Row]) {
        let n = self.n;
        for (k, row) in rows.iter().enumerate() {
            if !counted(row) {
                continue;
            }
            let f = if row.feature.is_none() {
                n - 1
            } else {
                row.feature.0 as usize
            };
            let input_total = row.tokens.input_total();
            self.inputs[f].push(u32::try_from(input_total).unwrap_or(u32::MAX));
            self.outputs[f].push(u32::try_from(row.tokens.output).unwrap_or(u32::MAX));
            if let Some(l) = row.latency() {
                self.latency[f].0 += u64::from(l);
                self.latency[f].1 += 1;
            }
            if input_total > self.input.min_input_tokens
                || row.tokens.output > self.input.min_output_tokens
            {
                self.candidates.push(base + k);
            }
        }
    }
}

impl OversizedScan<'_> {
    /// Medians, then the candidates re-priced trimmed, and the result.
    pub(crate) fn finish(self) -> Result<OversizedOutput, AnalysisError> {
        let OversizedScan {
            ctx,
            view,
            input,
            n,
            mut inputs,
            mut outputs,
            latency,
            candidates,
        } = self;
        ctx.check_cancelled()?;
        let input = &input;
        let ds = ctx.dataset();
        let catalogue = ctx.catalogue();
        let span = &view.span;
        let fi = |s: Sym| if s.is_none() { n - 1 } else { s.0 as usize };
        let calls: Vec<u64> = inputs.iter().map(|v| v.len() as u64).collect();
        let mut medians: Vec<Option<(u64, u64)>> = vec![None; n];
        for f in 0..n {
            if calls[f] >= input.min_feature_calls.max(1) {
                medians[f] = Some((
                    u64::from(median(&mut inputs[f])),
                    u64::from(median(&mut outputs[f])),
                ));
            }
        }
        drop(inputs);
        drop(outputs);

        // Then: re-price the oversized calls, trimmed.
        let limit = |med: u64, floor: u64| ((med as f64 * input.multiplier) as u64).max(floor);
        let target = |med: u64| ((med as f64 * input.trim_to_multiple) as u64).max(1);
        let mut accs: Vec<Acc> = vec![Acc::default(); n];
        let mut clock = Clock::default();
        for (n_done, &i) in candidates.iter().enumerate() {
            if n_done % CHUNK == 0 {
                ctx.check_cancelled()?;
            }
            let row = &ds.rows[i];
            let f = fi(row.feature);
            let Some((med_in, med_out)) = medians[f] else {
                continue;
            };
            let cost = view.cost[i];
            let Some(m) = view.slots[view.row_slot[i] as usize]
                .model_ref
                .filter(|_| !cost.is_nan())
            else {
                continue;
            };
            let t = &row.tokens;
            let over_in = t.input_total() > limit(med_in, input.min_input_tokens);
            let over_out = t.output > limit(med_out, input.min_output_tokens);
            if !over_in && !over_out {
                continue;
            }
            let mut trimmed = *t;
            if over_in {
                scale_input(&mut trimmed, target(med_in));
            }
            if over_out {
                let to = target(med_out);
                trimmed.reasoning = (t.reasoning as f64 * to as f64 / t.output as f64) as u64;
                trimmed.output = to;
            }
            let a = &mut accs[f];
            a.over_in += u64::from(over_in);
            a.over_out += u64::from(over_out);
            a.over_calls += 1;
            a.max_in = a.max_in.max(t.input_total());
            a.max_out = a.max_out.max(t.output);
            a.cost += cost;
            a.trimmed += catalogue.cost(m, clock.at(row.ts_ms), &trimmed, 1).total();
            if let Some(l) = row.latency() {
                a.latency_over.0 += u64::from(l);
                a.latency_over.1 += 1;
            }
            push_sample(&mut a.sample, i);
        }

        let mut features: Vec<(OversizedFeature, usize)> = accs
            .iter()
            .enumerate()
            .filter(|(_, a)| a.cost > a.trimmed)
            .map(|(f, a)| {
                let (med_in, med_out) = medians[f].unwrap_or_default();
                let name = if f == n - 1 {
                    "(no feature)"
                } else {
                    ds.str(Sym(f as u32)).unwrap_or("(no feature)")
                };
                let out = OversizedFeature {
                    feature: name.to_owned(),
                    calls: calls[f],
                    median_input_tokens: med_in as u32,
                    median_output_tokens: med_out as u32,
                    oversized_input_calls: a.over_in,
                    oversized_output_calls: a.over_out,
                    max_input_tokens: a.max_in,
                    max_output_tokens: a.max_out,
                    current_cost_usd: a.cost,
                    trimmed_cost_usd: a.trimmed,
                    monthly_savings_usd: span.monthly(a.cost - a.trimmed),
                };
                (out, f)
            })
            .collect();
        features.sort_by(|a, b| {
            b.0.monthly_savings_usd
                .total_cmp(&a.0.monthly_savings_usd)
                .then_with(|| a.0.feature.cmp(&b.0.feature))
        });
        let total: f64 = features.iter().map(|f| f.0.monthly_savings_usd).sum();
        let oversized_calls: u64 = features.iter().map(|(_, f)| accs[*f].over_calls).sum();

        let recommendation = (total > 0.0).then(|| {
        let mut evidence = Evidence { calls: oversized_calls, ..Evidence::default() };
        let (mut now, mut trimmed, mut feature_calls) = (0.0, 0.0, 0u64);
        for (o, f) in &features {
            now += o.current_cost_usd;
            trimmed += o.trimmed_cost_usd;
            feature_calls += o.calls;
            evidence.features.push(o.feature.clone());
            for &r in &accs[*f].sample {
                push_sample(&mut evidence.sample_rows, r);
            }
            evidence.figures.push(Figure::new(
                format!("{}: median input tokens", o.feature),
                f64::from(o.median_input_tokens),
                Unit::Tokens,
            ));
            evidence.figures.push(Figure::new(format!("{}: largest input", o.feature), o.max_input_tokens as f64, Unit::Tokens));
            evidence.figures.push(Figure::new(
                format!("{}: median output tokens", o.feature),
                f64::from(o.median_output_tokens),
                Unit::Tokens,
            ));
            evidence.figures.push(Figure::new(format!("{}: largest output", o.feature), o.max_output_tokens as f64, Unit::Tokens));
        }
        for &r in &evidence.sample_rows {
            let label = view.slot_label(view.row_slot[r] as usize);
            if !evidence.models.contains(&label) {
                evidence.models.push(label);
            }
        }
        evidence.figures.push(Figure::new("observed cost of the oversized calls", now, Unit::Usd));
        evidence.figures.push(Figure::new("the same calls trimmed", trimmed, Unit::Usd));
        let share = oversized_calls as f64 / feature_calls.max(1) as f64;
        evidence.figures.push(Figure::new("oversized share of these features' calls", 100.0 * share, Unit::Percent));
        let (top, tf) = &features[0];
        let (ls, ln) = accs[*tf].latency_over;
        let (fs, fln) = latency[*tf];
        let latency_effect = if ln > 0 && fln > 0 {
            format!(
                "oversized {} calls took {} ms on average against {} ms for the feature; shorter prompts and outputs finish sooner",
                top.feature,
                ls / ln,
                fs / fln
            )
        } else {
            "shorter prompts and outputs finish sooner (output length dominates generation time)".to_owned()
        };
        Recommendation {
            id: RecommendationKind::OversizedRequests.as_str().to_owned(),
            kind: RecommendationKind::OversizedRequests,
            title: format!(
                "Trim {} oversized prompts and outputs, starting with {}",
                group_thousands(oversized_calls),
                top.feature
            ),
            monthly_savings_usd: total,
            latency_effect: Some(latency_effect),
            confidence: if share <= 0.05 { Confidence::Medium } else { Confidence::Low },
            evidence,
            rationale: format!(
                "A call is oversized when its input or output tokens exceed {} times its feature's median and the \
                 floor ({} input, {} output tokens). The saving re-prices those calls with the oversized part trimmed \
                 to {} times the median, cache tokens scaled alike. Some large calls may be \
                 legitimate: check the samples.",
                input.multiplier,
                group_thousands(input.min_input_tokens),
                group_thousands(input.min_output_tokens),
                input.trim_to_multiple
            ),
            action: format!(
                "In {}: cap pasted context (truncate or summarise long threads and attachments, retrieve only the \
                 relevant parts) and set max_tokens on outputs near {} tokens.",
                top.feature,
                group_thousands(target(u64::from(top.median_output_tokens)).max(input.min_output_tokens))
            ),
        }
    });

        let mut features_out: Vec<OversizedFeature> =
            features.into_iter().map(|(f, _)| f).collect();
        features_out.truncate(input.top_n.max(1));
        Ok(OversizedOutput {
            basis: span.basis.clone(),
            features: features_out,
            oversized_calls,
            total_monthly_savings_usd: total,
            recommendation,
        })
    }
}

/// Scales every input kind so that their total becomes `to`.
fn scale_input(t: &mut TokenCounts, to: u64) {
    let total = t.input_total();
    if total == 0 || to >= total {
        return;
    }
    let f = to as f64 / total as f64;
    let scale = |v: u64| (v as f64 * f).round() as u64;
    t.cache_read = scale(t.cache_read);
    t.cache_write_5m = scale(t.cache_write_5m);
    t.cache_write_1h = scale(t.cache_write_1h);
    t.input_uncached = to.saturating_sub(t.cache_read + t.cache_write_5m + t.cache_write_1h);
}

impl OversizedOutput {
    pub fn summary(&self) -> String {
        match self.features.first() {
            None => {
                "No oversized prompts or outputs (none far above their feature's median)".to_owned()
            }
            Some(top) => format!(
                "{} per month by trimming {} oversized calls; largest: {} (median input {} tokens, largest {}; {} per month)",
                usd(self.total_monthly_savings_usd),
                group_thousands(self.oversized_calls),
                top.feature,
                group_thousands(u64::from(top.median_input_tokens)),
                group_thousands(top.max_input_tokens),
                usd(top.monthly_savings_usd)
            ),
        }
    }
}
