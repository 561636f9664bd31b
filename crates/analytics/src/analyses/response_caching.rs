//! `response_caching`: exact duplicate requests. Successful calls with the
//! same prompt hash on the same model are duplicates of the first one; a
//! response cache would have answered all but the first, so their whole
//! cost is the saving.

use crate::context::AnalysisContext;
use crate::error::AnalysisError;
use crate::priced::PricedView;
use crate::recommendation::{
    Confidence, Evidence, Figure, MAX_SAMPLE_ROWS, Recommendation, RecommendationKind, Unit,
    group_thousands, push_sample, usd,
};
use crate::scan::{self, Scan};
use crate::stats::{KeyGroups, combine};
use serde::{Deserialize, Serialize};
use usage::dataset::Row;
use usage::{Status, Sym};

/// Arguments of `response_caching`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ResponseCachingInput {
    /// Duplicated prompts listed, largest saving first.
    pub top_n: usize,
}

impl Default for ResponseCachingInput {
    fn default() -> Self {
        ResponseCachingInput { top_n: 5 }
    }
}

/// One prompt sent more than once to the same model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DuplicateGroup {
    /// The prompt hash, hex.
    pub prompt_hash: String,
    pub model: String,
    pub feature: String,
    pub calls: u64,
    pub cost_usd: f64,
    /// Cost of every call but the first.
    pub duplicate_cost_usd: f64,
    pub monthly_savings_usd: f64,
}

/// Result of `response_caching`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResponseCachingOutput {
    pub basis: String,
    pub missing_data: Option<String>,
    /// Successful single calls carrying a prompt hash.
    pub calls_with_prompt_hash: u64,
    /// Calls that repeat an earlier identical call (all but the first of each group).
    pub duplicate_calls: u64,
    pub duplicated_prompts: u64,
    pub groups: Vec<DuplicateGroup>,
    pub total_monthly_savings_usd: f64,
    #[serde(skip)]
    pub recommendation: Option<Recommendation>,
}

#[derive(Debug, Clone)]
struct Group {
    slot: u32,
    hash: u64,
    feature: Sym,
    calls: u64,
    cost: f64,
    first_ms: i64,
    first_cost: f64,
    latency_sum: u64,
    latency_n: u64,
    sample: Vec<usize>,
}

/// Calls per duplicated prompt whose latency is averaged for the latency note.
const LATENCY_SAMPLE: usize = 64;

const MISSING: &str = "No call carries a prompt hash (`prompt_hash`), so exact duplicates cannot be found and no \
response-caching saving is estimated. Import a hash of each call's full prompt (model parameters included).";

/// Runs `response_caching`.
pub fn response_caching(
    ctx: &AnalysisContext,
    input: &ResponseCachingInput,
) -> Result<ResponseCachingOutput, AnalysisError> {
    let mut scan = ResponseCachingScan::new(ctx, input)?;
    scan::run(ctx, &mut [&mut scan])?;
    scan.finish()
}

/// The pass of `response_caching`: the keys (model, prompt hash) of the
/// successful calls with a prompt hash.
pub(crate) struct ResponseCachingScan<'a> {
    ctx: &'a AnalysisContext,
    view: &'a PricedView,
    top_n: usize,
    keys: KeyGroups,
}

impl<'a> ResponseCachingScan<'a> {
    pub(crate) fn new(
        ctx: &'a AnalysisContext,
        input: &ResponseCachingInput,
    ) -> Result<Self, AnalysisError> {
        Ok(ResponseCachingScan {
            ctx,
            view: ctx.priced()?,
            top_n: input.top_n,
            keys: KeyGroups::with_capacity(ctx.dataset().rows.len()),
        })
    }
}

impl Scan for ResponseCachingScan<'_> {
    fn visit(&mut self, base: usize, rows: &[Row]) {
        let view = self.view;
        for (k, row) in rows.iter().enumerate() {
            let i = base + k;
            let Some(hash) = row.prompt_hash else {
                continue;
            };
            if row.status != Status::Ok || row.is_aggregate() || view.cost[i].is_nan() {
                continue;
            }
            self.keys.push(combine(view.row_slot[i], hash), i);
        }
    }
}

impl ResponseCachingScan<'_> {
    /// Finds the repeated keys (sorting, not hashing) and builds the result.
    pub(crate) fn finish(self) -> Result<ResponseCachingOutput, AnalysisError> {
        let ResponseCachingScan {
            ctx,
            view,
            top_n,
            mut keys,
        } = self;
        ctx.check_cancelled()?;
        let ds = ctx.dataset();
        let span = &view.span;
        let with_hash = keys.len() as u64;
        if with_hash == 0 {
            return Ok(ResponseCachingOutput {
                basis: span.basis.clone(),
                missing_data: Some(MISSING.to_owned()),
                calls_with_prompt_hash: 0,
                duplicate_calls: 0,
                duplicated_prompts: 0,
                groups: Vec::new(),
                total_monthly_savings_usd: 0.0,
                recommendation: None,
            });
        }

        // Each repeated key: its cost, and the cost of its earliest call (the one a cache would not save).
        let mut groups: Vec<Group> = Vec::new();
        keys.for_each_group(
            2,
            || ctx.check_cancelled(),
            |_, rows| {
                let earliest = if view.sorted_by_time {
                    rows[0] as usize
                } else {
                    rows.iter()
                        .map(|&r| r as usize)
                        .min_by_key(|&r| (ds.rows[r].ts_ms, r))
                        .unwrap_or(rows[0] as usize)
                };
                let first = &ds.rows[earliest];
                let mut g = Group {
                    slot: view.row_slot[earliest],
                    hash: first.prompt_hash.unwrap_or_default(),
                    feature: first.feature,
                    calls: rows.len() as u64,
                    cost: rows.iter().map(|&r| view.cost[r as usize]).sum(),
                    first_ms: first.ts_ms,
                    first_cost: view.cost[earliest],
                    latency_sum: 0,
                    latency_n: 0,
                    sample: rows
                        .iter()
                        .skip(1)
                        .take(MAX_SAMPLE_ROWS)
                        .map(|&r| r as usize)
                        .collect(),
                };
                // Latency from at most LATENCY_SAMPLE calls of the group.
                for &r in rows.iter().take(LATENCY_SAMPLE) {
                    if let Some(l) = ds.rows[r as usize].latency() {
                        g.latency_sum += u64::from(l);
                        g.latency_n += 1;
                    }
                }
                groups.push(g);
                Ok(())
            },
        )?;
        drop(keys);
        groups.sort_by(|a, b| a.first_ms.cmp(&b.first_ms).then(a.hash.cmp(&b.hash)));

        let duplicate_calls: u64 = groups.iter().map(|g| g.calls - 1).sum();
        let observed: f64 = groups.iter().map(|g| g.cost - g.first_cost).sum();
        let total = span.monthly(observed);
        let mut out: Vec<DuplicateGroup> = groups
            .iter()
            .map(|g| DuplicateGroup {
                prompt_hash: format!("{:016x}", g.hash),
                model: view.slot_label(g.slot as usize),
                feature: ds.str(g.feature).unwrap_or("(no feature)").to_owned(),
                calls: g.calls,
                cost_usd: g.cost,
                duplicate_cost_usd: g.cost - g.first_cost,
                monthly_savings_usd: span.monthly(g.cost - g.first_cost),
            })
            .collect();
        out.sort_by(|a, b| {
            b.monthly_savings_usd
                .total_cmp(&a.monthly_savings_usd)
                .then_with(|| a.prompt_hash.cmp(&b.prompt_hash))
        });

        let recommendation = (observed > 0.0).then(|| {
        let mut evidence = Evidence { calls: duplicate_calls, ..Evidence::default() };
        for g in &out {
            if !evidence.models.contains(&g.model) {
                evidence.models.push(g.model.clone());
            }
            if !evidence.features.contains(&g.feature) {
                evidence.features.push(g.feature.clone());
            }
        }
        let mut ranked: Vec<&Group> = groups.iter().collect();
        ranked.sort_by(|a, b| (b.cost - b.first_cost).total_cmp(&(a.cost - a.first_cost)));
        for g in &ranked {
            for &r in &g.sample {
                push_sample(&mut evidence.sample_rows, r);
            }
        }
        evidence.figures.push(Figure::new("duplicate calls", duplicate_calls as f64, Unit::Calls));
        evidence.figures.push(Figure::new(
            "share of calls with a prompt hash",
            100.0 * duplicate_calls as f64 / with_hash as f64,
            Unit::Percent,
        ));
        evidence.figures.push(Figure::new("distinct duplicated prompts", groups.len() as f64, Unit::Count));
        evidence.figures.push(Figure::new("observed cost of the duplicates", observed, Unit::Usd));
        for g in out.iter().take(3) {
            evidence.figures.push(Figure::new(
                format!("prompt {} on {} ({}): calls", g.prompt_hash, g.model, g.feature),
                g.calls as f64,
                Unit::Calls,
            ));
        }
        let (lat_sum, lat_n) = groups.iter().fold((0u64, 0u64), |a, g| (a.0 + g.latency_sum, a.1 + g.latency_n));
        let latency_effect = match lat_sum.checked_div(lat_n) {
            Some(mean) => format!("duplicated prompts took {mean} ms on average; a cache hit answers in a few milliseconds"),
            None => "a cache hit answers in a few milliseconds instead of a model call".to_owned(),
        };
        let avg_group = (duplicate_calls + groups.len() as u64) as f64 / groups.len().max(1) as f64;
        let top = &out[0];
        Recommendation {
            id: RecommendationKind::ResponseCaching.as_str().to_owned(),
            kind: RecommendationKind::ResponseCaching,
            title: format!(
                "Cache responses to {} repeated prompts ({} duplicate calls), starting with {}",
                group_thousands(groups.len() as u64),
                group_thousands(duplicate_calls),
                top.feature
            ),
            monthly_savings_usd: total,
            latency_effect: Some(latency_effect),
            confidence: if avg_group >= 10.0 { Confidence::High } else { Confidence::Medium },
            evidence,
            rationale: "Successful calls with the same prompt hash on the same model are exact duplicates: a response \
                        cache keyed by model and prompt would have answered every call after the first of each prompt, \
                        so their observed cost is the saving. It assumes the answers may be reused (deterministic \
                        settings, no per-user content after the hash); set a cache lifetime that suits how fast the \
                        answers go stale."
                .to_owned(),
            action: format!(
                "Put a response cache keyed by (model, prompt hash) in front of {}; start with the most repeated prompts.",
                evidence_features(&out)
            ),
        }
    });
        out.truncate(top_n.max(1));

        Ok(ResponseCachingOutput {
            basis: span.basis.clone(),
            missing_data: None,
            calls_with_prompt_hash: with_hash,
            duplicate_calls,
            duplicated_prompts: groups.len() as u64,
            groups: out,
            total_monthly_savings_usd: total,
            recommendation,
        })
    }
}

fn evidence_features(groups: &[DuplicateGroup]) -> String {
    let mut features: Vec<&str> = Vec::new();
    for g in groups {
        if !features.contains(&g.feature.as_str()) {
            features.push(&g.feature);
        }
    }
    features.truncate(3);
    features.join(", ")
}

impl ResponseCachingOutput {
    pub fn summary(&self) -> String {
        if self.missing_data.is_some() {
            return "Response caching not estimated: no call carries a prompt hash (prompt_hash)"
                .to_owned();
        }
        match self.groups.first() {
            None => format!(
                "No exact duplicate among {} calls with a prompt hash",
                group_thousands(self.calls_with_prompt_hash)
            ),
            Some(top) => format!(
                "{} per month from caching {} duplicate calls of {} prompts; most repeated: {} on {} ({} calls)",
                usd(self.total_monthly_savings_usd),
                group_thousands(self.duplicate_calls),
                group_thousands(self.duplicated_prompts),
                top.feature,
                top.model,
                group_thousands(top.calls)
            ),
        }
    }
}
