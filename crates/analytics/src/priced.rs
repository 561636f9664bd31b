//! The priced view of a dataset: every row's cost computed once, with each
//! distinct (provider, model) pair resolved against the catalogue once.
//!
//! Rows whose model the catalogue does not know, or knows without a price at
//! the call's date, are *unpriced*: their cost is `NaN` in [`PricedView::cost`],
//! they are left out of every dollar figure, and they are listed by name with
//! their call counts ([`UnpricedModel`]), never counted as $0.

use crate::context::AnalysisContext;
use crate::error::AnalysisError;
use crate::span::{Clock, TimeSpan};
use crate::stats::{FastMap, fast_map};
use pricing::{Catalogue, CostBreakdown, ModelRef};
use serde::{Deserialize, Serialize};
use usage::dataset::Row;
use usage::{Dataset, Sym};

/// Rows processed between two cancellation checks.
pub const CHUNK: usize = 1 << 16;

/// One distinct (provider, model) pair of the data.
#[derive(Debug, Clone)]
pub struct ModelSlot {
    /// Provider as the data gave it (`Sym::NONE` when absent).
    pub provider: Sym,
    /// Model as the data gave it.
    pub model: Sym,
    /// The catalogue model, when the catalogue knows it.
    pub model_ref: Option<ModelRef>,
    /// The catalogue's provider id, else the data's provider, else `unknown`.
    pub provider_id: String,
    /// The model string of the data.
    pub model_label: String,
    /// The catalogue's model id, when resolved.
    pub catalogue_id: Option<String>,
    pub context_window: Option<u64>,
    /// Calls (aggregates count as their number of calls).
    pub calls: u64,
    pub priced_calls: u64,
    /// Observed cost of the priced calls, USD.
    pub cost: f64,
    pub unpriced_tokens: u64,
}

impl ModelSlot {
    /// Calls of this slot left unpriced.
    pub fn unpriced_calls(&self) -> u64 {
        self.calls - self.priced_calls
    }
}

/// A model the analyses could not price, said by name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnpricedModel {
    pub provider: Option<String>,
    pub model: String,
    pub calls: u64,
    pub tokens: u64,
    /// Why: not in the catalogue, or no price at the calls' dates.
    pub reason: String,
}

/// Per-row costs and per-model totals of a dataset.
#[derive(Debug, Clone)]
pub struct PricedView {
    pub slots: Vec<ModelSlot>,
    /// For each row, the index of its slot.
    pub row_slot: Vec<u32>,
    /// For each row, its cost in USD; `NaN` when unpriced.
    pub cost: Vec<f64>,
    pub span: TimeSpan,
    pub min_ms: i64,
    pub max_ms: i64,
    /// True when rows are in non-decreasing time order.
    pub sorted_by_time: bool,
    /// Calls (aggregate rows count their calls).
    pub calls: u64,
    pub priced_calls: u64,
    /// Observed cost of every priced row.
    pub total_cost: f64,
    /// The same, split by token kind.
    pub by_kind: CostBreakdown,
}

impl PricedView {
    /// Prices every row of the context's dataset.
    pub fn build(ctx: &AnalysisContext) -> Result<PricedView, AnalysisError> {
        let ds = ctx.dataset();
        let catalogue = ctx.catalogue();
        if ds.rows.is_empty() {
            return Err(AnalysisError::EmptyDataset);
        }
        let (mut slots, row_slot, min_ms, max_ms, sorted_by_time) =
            assign_slots(ctx, ds, catalogue)?;
        let refs: Vec<Option<ModelRef>> = slots.iter().map(|s| s.model_ref).collect();
        let mut cost = vec![f64::NAN; ds.rows.len()];

        let threads = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .clamp(1, 4);
        let per_thread = ds.rows.len().div_ceil(threads).max(CHUNK);
        let partials: Vec<Result<Partial, AnalysisError>> = std::thread::scope(|scope| {
            let handles: Vec<_> = ds
                .rows
                .chunks(per_thread)
                .zip(row_slot.chunks(per_thread))
                .zip(cost.chunks_mut(per_thread))
                .map(|((rows, slot_of), cost)| {
                    let refs = &refs;
                    scope.spawn(move || price_rows(ctx, catalogue, refs, rows, slot_of, cost))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                })
                .collect()
        });

        let mut total_cost = 0.0;
        let mut by_kind = CostBreakdown::default();
        let mut calls = 0;
        let mut priced_calls = 0;
        for p in partials {
            let p = p?;
            total_cost += p.total;
            by_kind += p.by_kind;
            for (slot, acc) in slots.iter_mut().zip(&p.slots) {
                slot.calls += acc.calls;
                slot.priced_calls += acc.priced_calls;
                slot.cost += acc.cost;
                slot.unpriced_tokens += acc.unpriced_tokens;
                calls += acc.calls;
                priced_calls += acc.priced_calls;
            }
        }
        Ok(PricedView {
            slots,
            row_slot,
            cost,
            span: TimeSpan::from_millis(min_ms, max_ms),
            min_ms,
            max_ms,
            sorted_by_time,
            calls,
            priced_calls,
            total_cost,
            by_kind,
        })
    }

    /// The cost of row `i`, `None` when unpriced.
    pub fn row_cost(&self, i: usize) -> Option<f64> {
        let c = self.cost[i];
        (!c.is_nan()).then_some(c)
    }

    /// The slot of row `i`.
    pub fn slot_of(&self, i: usize) -> &ModelSlot {
        &self.slots[self.row_slot[i] as usize]
    }

    /// The models left unpriced, most calls first.
    pub fn unpriced(&self, ds: &Dataset) -> Vec<UnpricedModel> {
        let mut out: Vec<UnpricedModel> = self
            .slots
            .iter()
            .filter(|s| s.unpriced_calls() > 0)
            .map(|s| UnpricedModel {
                provider: ds.str(s.provider).map(str::to_owned),
                model: s.model_label.clone(),
                calls: s.unpriced_calls(),
                tokens: s.unpriced_tokens,
                reason: if s.model_ref.is_some() {
                    "the catalogue has no price for this model at the calls' dates".to_owned()
                } else {
                    "not in the price catalogue (add it with a price override file)".to_owned()
                },
            })
            .collect();
        out.sort_by(|a, b| b.calls.cmp(&a.calls).then_with(|| a.model.cmp(&b.model)));
        out
    }

    /// A short display name of a slot: the data's model string, with the
    /// provider when two slots share a model string.
    pub fn slot_label(&self, slot: usize) -> String {
        let s = &self.slots[slot];
        if self.slots.iter().filter(|o| o.model == s.model).count() > 1 {
            format!("{}/{}", s.provider_id, s.model_label)
        } else {
            s.model_label.clone()
        }
    }
}

type Slots = (Vec<ModelSlot>, Vec<u32>, i64, i64, bool);

/// Pass 1: the slot of every row, the time bounds, and whether rows are sorted.
fn assign_slots(
    ctx: &AnalysisContext,
    ds: &Dataset,
    catalogue: &Catalogue,
) -> Result<Slots, AnalysisError> {
    let mut index: FastMap<u64, u32> = fast_map();
    let mut slots: Vec<ModelSlot> = Vec::new();
    let mut row_slot = Vec::with_capacity(ds.rows.len());
    let (mut min_ms, mut max_ms) = (i64::MAX, i64::MIN);
    let mut sorted = true;
    let mut prev = i64::MIN;
    let mut last: Option<(u64, u32)> = None;
    for chunk in ds.rows.chunks(CHUNK) {
        ctx.check_cancelled()?;
        for row in chunk {
            let key = (u64::from(row.provider.0) << 32) | u64::from(row.model.0);
            let slot = match last {
                Some((k, s)) if k == key => s,
                _ => {
                    let s = *index.entry(key).or_insert_with(|| {
                        slots.push(new_slot(ds, catalogue, row.provider, row.model));
                        u32::try_from(slots.len() - 1).unwrap_or(u32::MAX)
                    });
                    last = Some((key, s));
                    s
                }
            };
            row_slot.push(slot);
            min_ms = min_ms.min(row.ts_ms);
            max_ms = max_ms.max(row.ts_ms);
            sorted &= row.ts_ms >= prev;
            prev = row.ts_ms;
        }
    }
    Ok((slots, row_slot, min_ms, max_ms, sorted))
}

fn new_slot(ds: &Dataset, catalogue: &Catalogue, provider: Sym, model: Sym) -> ModelSlot {
    let provider_str = ds.str(provider);
    let model_label = ds.str(model).unwrap_or_default().to_owned();
    let model_ref = catalogue.resolve(provider_str, &model_label);
    let info = model_ref.map(|m| catalogue.info(m));
    ModelSlot {
        provider,
        model,
        model_ref,
        provider_id: info
            .map(|i| i.provider_id.to_owned())
            .or_else(|| provider_str.map(str::to_lowercase))
            .unwrap_or_else(|| "unknown".to_owned()),
        model_label,
        catalogue_id: info.map(|i| i.model_id.to_owned()),
        context_window: info.and_then(|i| i.context_window),
        calls: 0,
        priced_calls: 0,
        cost: 0.0,
        unpriced_tokens: 0,
    }
}

#[derive(Default, Clone, Copy)]
struct SlotAcc {
    calls: u64,
    priced_calls: u64,
    cost: f64,
    unpriced_tokens: u64,
}

struct Partial {
    slots: Vec<SlotAcc>,
    total: f64,
    by_kind: CostBreakdown,
}

/// Pass 2 (one thread's share): the cost of each row.
fn price_rows(
    ctx: &AnalysisContext,
    catalogue: &Catalogue,
    refs: &[Option<ModelRef>],
    rows: &[Row],
    slot_of: &[u32],
    cost: &mut [f64],
) -> Result<Partial, AnalysisError> {
    let mut p = Partial {
        slots: vec![SlotAcc::default(); refs.len()],
        total: 0.0,
        by_kind: CostBreakdown::default(),
    };
    let mut clock = Clock::default();
    for ((rows, slot_of), cost) in rows
        .chunks(CHUNK)
        .zip(slot_of.chunks(CHUNK))
        .zip(cost.chunks_mut(CHUNK))
    {
        ctx.check_cancelled()?;
        for ((row, &slot), out) in rows.iter().zip(slot_of).zip(cost.iter_mut()) {
            let acc = &mut p.slots[slot as usize];
            let calls = u64::from(row.calls.max(1));
            acc.calls += calls;
            let priced = refs[slot as usize].and_then(|m| {
                let at = clock.at(row.ts_ms);
                let cost = catalogue.cost(m, at, &row.tokens, row.calls.max(1));
                // A zero cost is a price only if the catalogue has one at that date.
                (cost.total() > 0.0 || catalogue.has_price(m, at)).then_some(cost)
            });
            match priced {
                Some(c) => {
                    let total = c.total();
                    *out = total;
                    acc.priced_calls += calls;
                    acc.cost += total;
                    p.total += total;
                    p.by_kind += c;
                }
                None => acc.unpriced_tokens += row.tokens.total(),
            }
        }
    }
    Ok(p)
}
