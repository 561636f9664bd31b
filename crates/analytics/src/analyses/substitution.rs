//! `model_substitution`: for each (feature, model) pair, the cheapest model
//! of the same capability tier (or, for short and simple traffic, of the
//! tier just below), with the saving computed by re-pricing the very same
//! token counts with the substitute's catalogue prices at each call's date.

use crate::context::AnalysisContext;
use crate::error::AnalysisError;
use crate::priced::{CHUNK, PricedView};
use crate::recommendation::{
    Confidence, Evidence, Figure, Recommendation, RecommendationKind, Unit, group_thousands,
    push_sample, usd,
};
use crate::scan::{self, Scan};
use crate::span::Clock;
use crate::stats::{FastMap, fast_map};
use pricing::ModelRef;
use serde::{Deserialize, Serialize};
use usage::dataset::Row;
use usage::{Sym, TokenCounts};

/// Arguments of `model_substitution`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModelSubstitutionInput {
    /// Providers a substitute may come from; default: the providers the data already uses.
    pub allowed_providers: Option<Vec<String>>,
    /// Prefer the cheapest cheaper model of the same provider over a cheaper one elsewhere.
    pub prefer_same_provider: bool,
    /// Allow one tier down for short, simple traffic (lower confidence).
    pub allow_tier_down: bool,
    /// "Simple" traffic: average input tokens per call at most this...
    pub simple_max_avg_input_tokens: u64,
    /// ...and average output tokens per call at most this, with no reasoning tokens.
    pub simple_max_avg_output_tokens: u64,
    /// Substitutions saving less than this per month are not listed.
    pub min_monthly_savings_usd: f64,
    /// Substitutions listed, largest saving first.
    pub top_n: usize,
}

impl Default for ModelSubstitutionInput {
    fn default() -> Self {
        ModelSubstitutionInput {
            allowed_providers: None,
            prefer_same_provider: true,
            allow_tier_down: true,
            simple_max_avg_input_tokens: 2_000,
            simple_max_avg_output_tokens: 300,
            min_monthly_savings_usd: 1.0,
            top_n: 10,
        }
    }
}

/// A cheaper model for one feature's use of one model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Substitution {
    pub feature: String,
    pub from_model: String,
    pub from_provider: String,
    pub from_tier: String,
    /// Catalogue id of the substitute.
    pub to_model: String,
    pub to_provider: String,
    pub to_tier: String,
    /// True when the substitute is one tier below (simple traffic only).
    pub tier_down: bool,
    pub calls: u64,
    pub avg_input_tokens: u64,
    pub avg_output_tokens: u64,
    /// Observed cost of these calls, USD.
    pub current_cost_usd: f64,
    /// The same token counts priced with the substitute, USD.
    pub substitute_cost_usd: f64,
    pub monthly_savings_usd: f64,
    pub confidence: Confidence,
    /// The cheapest candidate of another provider, when the chosen one was
    /// preferred for being from the same provider.
    pub alternative: Option<Alternative>,
    pub latency_note: String,
}

/// A cheaper candidate from another provider (estimated from average tokens).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alternative {
    pub model: String,
    pub provider: String,
    pub estimated_monthly_savings_usd: f64,
}

/// A model with spend that the tier table does not list (never substituted).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnclassifiedModel {
    pub model: String,
    pub monthly_usd: f64,
}

/// Result of `model_substitution`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelSubstitutionOutput {
    pub basis: String,
    pub tier_source: String,
    pub tier_as_of: String,
    pub allowed_providers: Vec<String>,
    pub substitutions: Vec<Substitution>,
    pub total_monthly_savings_usd: f64,
    pub unclassified_models: Vec<UnclassifiedModel>,
    #[serde(skip)]
    pub recommendation: Option<Recommendation>,
}

#[derive(Debug, Clone)]
struct Segment {
    feature: Sym,
    slot: u32,
    calls: u64,
    cost: f64,
    tokens: TokenCounts,
    max_call_tokens: u64,
    last_ms: i64,
    latency_sum: u64,
    latency_n: u64,
    sample: Vec<usize>,
}

struct Choice {
    segment: usize,
    to: ModelRef,
    tier_down: bool,
    alternative: Option<Alternative>,
    repriced: f64,
    repriced_current: f64,
}

fn segment_key(feature: Sym, slot: u32) -> u64 {
    (u64::from(feature.0) << 32) | u64::from(slot)
}

/// Runs `model_substitution`.
pub fn model_substitution(
    ctx: &AnalysisContext,
    input: &ModelSubstitutionInput,
) -> Result<ModelSubstitutionOutput, AnalysisError> {
    let mut scan = SubstitutionScan::new(ctx, input)?;
    scan::run(ctx, &mut [&mut scan])?;
    scan.finish()
}

/// The first pass of `model_substitution`: priced calls by (feature, model).
pub(crate) struct SubstitutionScan<'a> {
    ctx: &'a AnalysisContext,
    view: &'a PricedView,
    input: ModelSubstitutionInput,
    index: FastMap<u64, usize>,
    segments: Vec<Segment>,
}

impl<'a> SubstitutionScan<'a> {
    pub(crate) fn new(
        ctx: &'a AnalysisContext,
        input: &ModelSubstitutionInput,
    ) -> Result<Self, AnalysisError> {
        Ok(SubstitutionScan {
            ctx,
            view: ctx.priced()?,
            input: input.clone(),
            index: fast_map(),
            segments: Vec::new(),
        })
    }
}

impl Scan for SubstitutionScan<'_> {
    fn visit(&mut self, base: usize, rows: &[Row]) {
        let view = self.view;
        let mut last: Option<(u64, usize)> = None;
        for (k, row) in rows.iter().enumerate() {
            let i = base + k;
            let cost = view.cost[i];
            if cost.is_nan() {
                continue;
            }
            let slot = view.row_slot[i];
            let key = segment_key(row.feature, slot);
            let s = match last {
                Some((lk, s)) if lk == key => s,
                _ => {
                    let segments = &mut self.segments;
                    let s = *self.index.entry(key).or_insert_with(|| {
                        segments.push(Segment {
                            feature: row.feature,
                            slot,
                            calls: 0,
                            cost: 0.0,
                            tokens: TokenCounts::default(),
                            max_call_tokens: 0,
                            last_ms: i64::MIN,
                            latency_sum: 0,
                            latency_n: 0,
                            sample: Vec::new(),
                        });
                        segments.len() - 1
                    });
                    last = Some((key, s));
                    s
                }
            };
            let seg = &mut self.segments[s];
            seg.calls += u64::from(row.calls.max(1));
            seg.cost += cost;
            add_tokens(&mut seg.tokens, &row.tokens);
            seg.max_call_tokens = seg
                .max_call_tokens
                .max(row.tokens.total() / u64::from(row.calls.max(1)));
            seg.last_ms = seg.last_ms.max(row.ts_ms);
            if !row.is_aggregate()
                && let Some(l) = row.latency()
            {
                seg.latency_sum += u64::from(l);
                seg.latency_n += 1;
            }
            push_sample(&mut seg.sample, i);
        }
    }
}

impl SubstitutionScan<'_> {
    /// Chooses the substitutes, re-prices their calls (a second pass) and builds the result.
    pub(crate) fn finish(self) -> Result<ModelSubstitutionOutput, AnalysisError> {
        let SubstitutionScan {
            ctx,
            view,
            input,
            segments,
            ..
        } = self;
        ctx.check_cancelled()?;
        let input = &input;
        let ds = ctx.dataset();
        let catalogue = ctx.catalogue();
        let tiers = ctx.tiers();
        let span = &view.span;

        let allowed: Vec<String> = match &input.allowed_providers {
            Some(list) => list.iter().map(|p| p.to_lowercase()).collect(),
            None => {
                let mut v: Vec<String> = view
                    .slots
                    .iter()
                    .filter(|s| s.priced_calls > 0)
                    .map(|s| s.provider_id.clone())
                    .collect();
                v.sort();
                v.dedup();
                v
            }
        };

        // Candidate models: listed, not legacy, from an allowed provider, known to the catalogue.
        let candidates: Vec<(usize, ModelRef)> = tiers
            .entries()
            .iter()
            .enumerate()
            .filter(|(_, e)| {
                !e.legacy && allowed.iter().any(|p| p.eq_ignore_ascii_case(&e.provider))
            })
            .filter_map(|(i, e)| {
                let m = catalogue.resolve(Some(&e.provider), &e.model)?;
                (catalogue.info(m).model_id.eq_ignore_ascii_case(&e.model)).then_some((i, m))
            })
            .collect();

        // Mean latency per catalogue model observed in the data, for the latency note.
        let mut observed_latency: FastMap<ModelRef, (u64, u64)> = fast_map();
        for seg in &segments {
            if let Some(m) = view.slots[seg.slot as usize].model_ref {
                let e = observed_latency.entry(m).or_default();
                e.0 += seg.latency_sum;
                e.1 += seg.latency_n;
            }
        }
        let mean_latency = |m: ModelRef| {
            observed_latency
                .get(&m)
                .filter(|(_, n)| *n > 0)
                .map(|(sum, n)| sum / n)
        };

        let mut choices: Vec<Choice> = Vec::new();
        let mut unclassified: FastMap<u32, f64> = fast_map();
        for (si, seg) in segments.iter().enumerate() {
            let slot = &view.slots[seg.slot as usize];
            let (Some(from), Some(from_id)) = (slot.model_ref, slot.catalogue_id.as_deref()) else {
                continue;
            };
            let Some(entry) = tiers.get(&slot.provider_id, from_id) else {
                *unclassified.entry(seg.slot).or_default() += seg.cost;
                continue;
            };
            let calls = u32::try_from(seg.calls).unwrap_or(u32::MAX);
            let at = chrono::DateTime::from_timestamp_millis(seg.last_ms).unwrap_or_default();
            let current = catalogue.cost(from, at, &seg.tokens, calls).total();
            let avg_in = seg.tokens.input_total() / seg.calls.max(1);
            let avg_out = seg.tokens.output / seg.calls.max(1);
            let simple = input.allow_tier_down
                && avg_in <= input.simple_max_avg_input_tokens
                && avg_out <= input.simple_max_avg_output_tokens
                && seg.tokens.reasoning == 0;
            let mut best_same: Option<(f64, usize, ModelRef, bool)> = None;
            let mut best_any: Option<(f64, usize, ModelRef, bool)> = None;
            for &(ti, m) in &candidates {
                let cand = &tiers.entries()[ti];
                let tier_down = cand.tier == entry.tier + 1;
                if !(cand.tier == entry.tier || (simple && tier_down)) || m == from {
                    continue;
                }
                if !catalogue.has_price(m, at) {
                    continue;
                }
                if let Some(window) = catalogue.info(m).context_window
                    && seg.max_call_tokens > window
                {
                    continue;
                }
                let estimate = catalogue.cost(m, at, &seg.tokens, calls).total();
                if estimate >= current {
                    continue;
                }
                let better = |best: &Option<(f64, usize, ModelRef, bool)>| {
                    best.is_none_or(|(e, _, _, d)| {
                        estimate < e || (estimate == e && d && !tier_down)
                    })
                };
                if better(&best_any) {
                    best_any = Some((estimate, ti, m, tier_down));
                }
                if cand.provider.eq_ignore_ascii_case(&slot.provider_id) && better(&best_same) {
                    best_same = Some((estimate, ti, m, tier_down));
                }
            }
            let chosen = if input.prefer_same_provider {
                best_same.or(best_any)
            } else {
                best_any
            };
            let Some((_, ti, to, tier_down)) = chosen else {
                continue;
            };
            let alternative =
                best_any
                    .filter(|(_, ai, _, _)| *ai != ti)
                    .map(|(estimate, ai, _, _)| Alternative {
                        model: tiers.entries()[ai].model.clone(),
                        provider: tiers.entries()[ai].provider.clone(),
                        estimated_monthly_savings_usd: span.monthly(current - estimate),
                    });
            choices.push(Choice {
                segment: si,
                to,
                tier_down,
                alternative,
                repriced: 0.0,
                repriced_current: 0.0,
            });
        }

        // Pass 2: exact re-pricing of the chosen segments' rows, call by call.
        if !choices.is_empty() {
            let mut chosen_of: FastMap<u64, usize> = fast_map();
            for (ci, c) in choices.iter().enumerate() {
                let seg = &segments[c.segment];
                chosen_of.insert(segment_key(seg.feature, seg.slot), ci);
            }
            let mut last: Option<(u64, Option<usize>)> = None;
            let mut clock = Clock::default();
            for (chunk_no, rows) in ds.rows.chunks(CHUNK).enumerate() {
                ctx.check_cancelled()?;
                for (k, row) in rows.iter().enumerate() {
                    let i = chunk_no * CHUNK + k;
                    let cost = view.cost[i];
                    if cost.is_nan() {
                        continue;
                    }
                    let key = segment_key(row.feature, view.row_slot[i]);
                    let chosen = match last {
                        Some((lk, c)) if lk == key => c,
                        _ => {
                            let c = chosen_of.get(&key).copied();
                            last = Some((key, c));
                            c
                        }
                    };
                    if let Some(ci) = chosen {
                        let c = &mut choices[ci];
                        c.repriced += catalogue
                            .cost(c.to, clock.at(row.ts_ms), &row.tokens, row.calls.max(1))
                            .total();
                        c.repriced_current += cost;
                    }
                }
            }
        }

        let mut substitutions = Vec::new();
        let mut evidence = Evidence::default();
        for c in &choices {
            let seg = &segments[c.segment];
            let slot = &view.slots[seg.slot as usize];
            let monthly = span.monthly(c.repriced_current - c.repriced);
            if monthly < input.min_monthly_savings_usd {
                continue;
            }
            let from_tier = slot
                .catalogue_id
                .as_deref()
                .and_then(|id| tiers.get(&slot.provider_id, id))
                .map_or("unknown", |e| tiers.tier_name(e.tier));
            let to_info = catalogue.info(c.to);
            let to_tier = tiers
                .get(to_info.provider_id, to_info.model_id)
                .map_or("unknown", |e| tiers.tier_name(e.tier));
            let now_ms = (seg.latency_n > 0).then(|| seg.latency_sum / seg.latency_n);
            let latency_note = match (mean_latency(c.to), now_ms) {
                (Some(to_ms), Some(now)) => {
                    format!(
                        "the substitute is also used in this data: mean latency {to_ms} ms there, against {now} ms for these calls"
                    )
                }
                _ => {
                    "the substitute is not used in this data: measure its latency before switching"
                        .to_owned()
                }
            };
            let feature = ds.str(seg.feature).unwrap_or("(no feature)").to_owned();
            evidence.calls += seg.calls;
            if !evidence.models.contains(&slot.model_label) {
                evidence.models.push(slot.model_label.clone());
            }
            if !evidence.features.contains(&feature) {
                evidence.features.push(feature.clone());
            }
            for &r in &seg.sample {
                push_sample(&mut evidence.sample_rows, r);
            }
            substitutions.push(Substitution {
                feature,
                from_model: slot.model_label.clone(),
                from_provider: slot.provider_id.clone(),
                from_tier: from_tier.to_owned(),
                to_model: to_info.model_id.to_owned(),
                to_provider: to_info.provider_id.to_owned(),
                to_tier: to_tier.to_owned(),
                tier_down: c.tier_down,
                calls: seg.calls,
                avg_input_tokens: seg.tokens.input_total() / seg.calls.max(1),
                avg_output_tokens: seg.tokens.output / seg.calls.max(1),
                current_cost_usd: c.repriced_current,
                substitute_cost_usd: c.repriced,
                monthly_savings_usd: monthly,
                confidence: if c.tier_down {
                    Confidence::Low
                } else {
                    Confidence::Medium
                },
                alternative: c.alternative.clone(),
                latency_note,
            });
        }
        substitutions.sort_by(|a, b| b.monthly_savings_usd.total_cmp(&a.monthly_savings_usd));
        let total: f64 = substitutions.iter().map(|s| s.monthly_savings_usd).sum();
        substitutions.truncate(input.top_n.max(1));

        let mut unclassified_models: Vec<UnclassifiedModel> = unclassified
            .into_iter()
            .map(|(slot, cost)| UnclassifiedModel {
                model: view.slot_label(slot as usize),
                monthly_usd: span.monthly(cost),
            })
            .collect();
        unclassified_models.sort_by(|a, b| {
            b.monthly_usd
                .total_cmp(&a.monthly_usd)
                .then_with(|| a.model.cmp(&b.model))
        });

        let recommendation = (total > 0.0).then(|| {
        let medium: f64 =
            substitutions.iter().filter(|s| s.confidence == Confidence::Medium).map(|s| s.monthly_savings_usd).sum();
        let shown: f64 = substitutions.iter().map(|s| s.monthly_savings_usd).sum();
        let confidence = if medium * 2.0 >= shown { Confidence::Medium } else { Confidence::Low };
        let top = &substitutions[0];
        for s in &substitutions {
            evidence.figures.push(Figure::new(
                format!("{}: {} -> {} ({} calls)", s.feature, s.from_model, s.to_model, group_thousands(s.calls)),
                s.monthly_savings_usd,
                Unit::UsdPerMonth,
            ));
        }
        let current: f64 = substitutions.iter().map(|s| s.current_cost_usd).sum();
        let repriced: f64 = substitutions.iter().map(|s| s.substitute_cost_usd).sum();
        evidence.figures.push(Figure::new("observed cost of these calls", current, Unit::Usd));
        evidence.figures.push(Figure::new("same tokens at the substitutes' prices", repriced, Unit::Usd));
        let more = if substitutions.len() > 1 { format!(" (and {} more)", substitutions.len() - 1) } else { String::new() };
        Recommendation {
            id: RecommendationKind::ModelSubstitution.as_str().to_owned(),
            kind: RecommendationKind::ModelSubstitution,
            title: format!("Move {} from {} to {}{more}", top.feature, top.from_model, top.to_model),
            monthly_savings_usd: total,
            latency_effect: Some(top.latency_note.clone()),
            confidence,
            evidence,
            rationale: format!(
                "Each saving re-prices the same token counts (uncached input, cache reads and writes, output) of the \
                 same calls with the substitute's catalogue prices at each call's date. Substitutes are the cheapest \
                 model of the same capability tier{} in the repository's curated tier table ({} as of {}), from the \
                 providers {}. It assumes the substitute needs similar token counts; tokenizers and reasoning lengths \
                 differ, and quality must be checked on your own evaluation set.",
                if input.allow_tier_down { " (one tier down for short, simple traffic, with low confidence)" } else { "" },
                tiers.source(),
                tiers.as_of(),
                allowed.join(", ")
            ),
            action: format!(
                "Run {} against {} on a sample of {} traffic with your evaluation set; switch if quality holds, \
                 then repeat for the other substitutions listed.",
                top.to_model, top.from_model, top.feature
            ),
        }
    });

        Ok(ModelSubstitutionOutput {
            basis: span.basis.clone(),
            tier_source: tiers.source().to_owned(),
            tier_as_of: tiers.as_of().to_owned(),
            allowed_providers: allowed,
            substitutions,
            total_monthly_savings_usd: total,
            unclassified_models,
            recommendation,
        })
    }
}

fn add_tokens(a: &mut TokenCounts, b: &TokenCounts) {
    a.input_uncached += b.input_uncached;
    a.cache_read += b.cache_read;
    a.cache_write_5m += b.cache_write_5m;
    a.cache_write_1h += b.cache_write_1h;
    a.output += b.output;
    a.reasoning += b.reasoning;
}

impl ModelSubstitutionOutput {
    pub fn summary(&self) -> String {
        match self.substitutions.first() {
            None => format!(
                "No cheaper model of a comparable tier found among {} ({} models in the data are not in the tier table)",
                self.allowed_providers.join(", "),
                self.unclassified_models.len()
            ),
            Some(top) => format!(
                "{} per month by moving {} use(s) to cheaper comparable models; largest: {} from {} to {} ({} per month, {} tier)",
                usd(self.total_monthly_savings_usd),
                self.substitutions.len(),
                top.feature,
                top.from_model,
                top.to_model,
                usd(top.monthly_savings_usd),
                top.to_tier
            ),
        }
    }
}
