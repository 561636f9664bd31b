//! `spend_breakdown`: where the money goes. Totals; spend by model,
//! provider, feature, user and day; the token mix; latency percentiles
//! (overall and per model); error rates; unpriced models.

use crate::context::AnalysisContext;
use crate::error::AnalysisError;
use crate::priced::{PricedView, UnpricedModel};
use crate::recommendation::{group_thousands, usd};
use crate::scan::{self, BLOCK, Scan};
use crate::span::TimeSpan;
use crate::stats::{Percentiles, percentiles};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use usage::dataset::Row;
use usage::{ServiceTier, Status, Sym};

/// Arguments of `spend_breakdown`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SpendBreakdownInput {
    /// Features and users listed individually; the rest are summed into "(others)".
    pub top_n: usize,
    /// Include the per-day series.
    pub include_days: bool,
}

impl Default for SpendBreakdownInput {
    fn default() -> Self {
        SpendBreakdownInput {
            top_n: 10,
            include_days: true,
        }
    }
}

/// Dataset-wide totals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Totals {
    /// Calls (aggregate records count as their number of calls).
    pub calls: u64,
    /// Records in the dataset.
    pub records: u64,
    /// Observed cost of the priced calls over the span, USD.
    pub cost_usd: f64,
    /// The same per 30-day month (see `span.basis`).
    pub monthly_usd: f64,
    pub priced_calls: u64,
    /// Calls whose model has no price: not in any dollar figure.
    pub unpriced_calls: u64,
    /// Calls that failed (`error` or `rate_limited`).
    pub failed_calls: u64,
    pub rate_limited_calls: u64,
    /// `failed_calls / calls`.
    pub error_rate: f64,
    /// Calls with attempt >= 2.
    pub retry_calls: u64,
    /// Calls served by a batch or flex tier.
    pub discounted_tier_calls: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
}

/// Spend of one model, provider, feature, user or day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Group {
    pub name: String,
    /// For models: the provider.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    pub calls: u64,
    /// Observed cost of the priced calls, USD; `None` when none was priced.
    pub cost_usd: Option<f64>,
    pub monthly_usd: Option<f64>,
    /// Share of the priced total (0 to 1).
    pub share: f64,
    pub unpriced_calls: u64,
    pub error_rate: f64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// Per model only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency: Option<Percentiles>,
    /// For the "(others)" row: how many groups it sums.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merged_groups: Option<u64>,
}

/// Spend of one UTC day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DaySpend {
    /// `YYYY-MM-DD` (UTC).
    pub date: String,
    pub calls: u64,
    pub cost_usd: f64,
    pub by_model: Vec<ModelDay>,
}

/// One model's spend on one day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelDay {
    pub model: String,
    pub calls: u64,
    pub cost_usd: f64,
}

/// Token counts by kind, their shares of all tokens, and cost by kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenMix {
    pub input_uncached: u64,
    pub cache_read: u64,
    /// 5-minute and 1-hour writes.
    pub cache_write: u64,
    /// Output, reasoning included.
    pub output: u64,
    /// Of `output`, reasoning.
    pub reasoning: u64,
    /// Shares of all tokens (input + output), 0 to 1; reasoning's share is of all tokens too.
    pub shares: TokenShares,
    /// Observed cost by kind, USD.
    pub cost_by_kind: KindCost,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenShares {
    pub input_uncached: f64,
    pub cache_read: f64,
    pub cache_write: f64,
    pub output: f64,
    pub reasoning: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KindCost {
    pub input_uncached: f64,
    pub cache_read: f64,
    pub cache_write: f64,
    pub output: f64,
    pub requests: f64,
}

/// Result of `spend_breakdown`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpendBreakdown {
    pub span: TimeSpan,
    pub catalogue_date: String,
    pub totals: Totals,
    pub by_model: Vec<Group>,
    pub by_provider: Vec<Group>,
    pub by_feature: Vec<Group>,
    pub by_user: Vec<Group>,
    pub by_day: Vec<DaySpend>,
    pub token_mix: TokenMix,
    /// Over every single call with a latency.
    pub latency: Option<Percentiles>,
    pub unpriced: Vec<UnpricedModel>,
}

#[derive(Debug, Clone, Copy, Default)]
struct Acc {
    calls: u64,
    priced_calls: u64,
    cost: f64,
    failed: u64,
    input: u64,
    output: u64,
}

impl Acc {
    fn add(&mut self, o: &Acc) {
        self.calls += o.calls;
        self.priced_calls += o.priced_calls;
        self.cost += o.cost;
        self.failed += o.failed;
        self.input += o.input;
        self.output += o.output;
    }
}

const DAY_MS: i64 = 86_400_000;

/// Runs `spend_breakdown`.
pub fn spend_breakdown(
    ctx: &AnalysisContext,
    input: &SpendBreakdownInput,
) -> Result<SpendBreakdown, AnalysisError> {
    let mut scan = BreakdownScan::new(ctx, input)?;
    scan::run(ctx, &mut [&mut scan])?;
    scan.finish()
}

/// The pass of `spend_breakdown` (see [`Scan`]).
pub(crate) struct BreakdownScan<'a> {
    ctx: &'a AnalysisContext,
    view: &'a PricedView,
    input: SpendBreakdownInput,
    n_syms: usize,
    n_slots: usize,
    first_day: i64,
    n_days: usize,
    slots: Vec<Acc>,
    features: Vec<Acc>,
    users: Vec<Acc>,
    days: Vec<(u64, f64)>,
    latencies: Vec<Vec<u32>>,
    rate_limited: u64,
    retries: u64,
    discounted: u64,
    mix: [u64; 5],
    /// Users are many and come in random order: their sums are updated in a
    /// second, tight loop per block (from this buffer), where the cache misses overlap.
    user_buf: Vec<(u32, Acc)>,
}

impl<'a> BreakdownScan<'a> {
    pub(crate) fn new(
        ctx: &'a AnalysisContext,
        input: &SpendBreakdownInput,
    ) -> Result<Self, AnalysisError> {
        let view = ctx.priced()?;
        let n_syms = ctx.dataset().strings.len() + 1;
        let n_slots = view.slots.len();
        let first_day = view.min_ms.div_euclid(DAY_MS);
        let n_days = if input.include_days {
            (view.max_ms.div_euclid(DAY_MS) - first_day + 1) as usize
        } else {
            0
        };
        Ok(BreakdownScan {
            ctx,
            view,
            input: input.clone(),
            n_syms,
            n_slots,
            first_day,
            n_days,
            slots: vec![Acc::default(); n_slots],
            features: vec![Acc::default(); n_syms],
            users: vec![Acc::default(); n_syms],
            days: vec![(0, 0.0); n_days * n_slots],
            latencies: view
                .slots
                .iter()
                .map(|s| Vec::with_capacity(s.calls.min(1 << 24) as usize))
                .collect(),
            rate_limited: 0,
            retries: 0,
            discounted: 0,
            mix: [0; 5],
            user_buf: Vec::with_capacity(BLOCK),
        })
    }

    fn sym_index(&self, s: Sym) -> usize {
        if s.is_none() {
            self.n_syms - 1
        } else {
            s.0 as usize
        }
    }
}

impl Scan for BreakdownScan<'_> {
    fn visit(&mut self, base: usize, rows: &[Row]) {
        let view = self.view;
        self.user_buf.clear();
        for (k, row) in rows.iter().enumerate() {
            let i = base + k;
            let slot = view.row_slot[i] as usize;
            let calls = u64::from(row.calls.max(1));
            let cost = view.cost[i];
            let priced = !cost.is_nan();
            let failed = row.status != Status::Ok;
            let t = &row.tokens;
            let acc = Acc {
                calls,
                priced_calls: if priced { calls } else { 0 },
                cost: if priced { cost } else { 0.0 },
                failed: if failed { calls } else { 0 },
                input: t.input_total(),
                output: t.output,
            };
            self.slots[slot].add(&acc);
            let f = self.sym_index(row.feature);
            self.features[f].add(&acc);
            let u = self.sym_index(row.user) as u32;
            self.user_buf.push((u, acc));
            if self.n_days > 0 {
                let d = (row.ts_ms.div_euclid(DAY_MS) - self.first_day) as usize;
                let cell = &mut self.days[d * self.n_slots + slot];
                cell.0 += calls;
                cell.1 += acc.cost;
            }
            if !row.is_aggregate()
                && let Some(l) = row.latency()
            {
                self.latencies[slot].push(l);
            }
            if row.status == Status::RateLimited {
                self.rate_limited += calls;
            }
            if row.attempt >= 2 {
                self.retries += calls;
            }
            if matches!(row.service_tier, ServiceTier::Batch | ServiceTier::Flex) {
                self.discounted += calls;
            }
            self.mix[0] += t.input_uncached;
            self.mix[1] += t.cache_read;
            self.mix[2] += t.cache_write_5m + t.cache_write_1h;
            self.mix[3] += t.output;
            self.mix[4] += t.reasoning;
        }
        for (u, acc) in &self.user_buf {
            self.users[*u as usize].add(acc);
        }
    }
}

impl BreakdownScan<'_> {
    /// The result, from what the pass gathered.
    pub(crate) fn finish(self) -> Result<SpendBreakdown, AnalysisError> {
        let BreakdownScan {
            ctx,
            view,
            input,
            n_syms,
            n_slots,
            first_day,
            n_days,
            slots,
            features,
            users,
            days,
            mut latencies,
            rate_limited,
            retries,
            discounted,
            mix,
            ..
        } = self;
        ctx.check_cancelled()?;
        let ds = ctx.dataset();
        let total = view.total_cost;
        let span = &view.span;
        let make_group =
            |name: String, provider: Option<String>, a: &Acc, latency: Option<Percentiles>| Group {
                name,
                provider,
                calls: a.calls,
                cost_usd: (a.priced_calls > 0).then_some(a.cost),
                monthly_usd: (a.priced_calls > 0).then(|| span.monthly(a.cost)),
                share: if total > 0.0 { a.cost / total } else { 0.0 },
                unpriced_calls: a.calls - a.priced_calls,
                error_rate: ratio(a.failed, a.calls),
                input_tokens: a.input,
                output_tokens: a.output,
                latency,
                merged_groups: None,
            };

        // Models, with their latency percentiles; the overall percentiles from all of them.
        let mut by_model = Vec::with_capacity(n_slots);
        for (s, acc) in slots.iter().enumerate() {
            let p = percentiles(&mut latencies[s]);
            by_model.push(make_group(
                view.slot_label(s),
                Some(view.slots[s].provider_id.clone()),
                acc,
                p,
            ));
        }
        let mut all: Vec<u32> = Vec::with_capacity(latencies.iter().map(Vec::len).sum());
        for l in &latencies {
            all.extend_from_slice(l);
        }
        drop(latencies);
        let latency = percentiles(&mut all);
        drop(all);
        sort_groups(&mut by_model);

        // Providers: slots summed by provider id.
        let mut providers: Vec<(String, Acc)> = Vec::new();
        for (s, acc) in slots.iter().enumerate() {
            let id = &view.slots[s].provider_id;
            match providers.iter_mut().find(|(p, _)| p == id) {
                Some((_, a)) => a.add(acc),
                None => providers.push((id.clone(), *acc)),
            }
        }
        let mut by_provider: Vec<Group> = providers
            .iter()
            .map(|(p, a)| make_group(p.clone(), None, a, None))
            .collect();
        sort_groups(&mut by_provider);

        let label = |i: usize, missing: &str| {
            if i == n_syms - 1 {
                missing.to_owned()
            } else {
                ds.str(Sym(i as u32)).unwrap_or(missing).to_owned()
            }
        };
        let top = |accs: &[Acc], missing: &str| {
            let mut groups: Vec<Group> = accs
                .iter()
                .enumerate()
                .filter(|(_, a)| a.calls > 0)
                .map(|(i, a)| make_group(label(i, missing), None, a, None))
                .collect();
            sort_groups(&mut groups);
            top_n_with_others(groups, input.top_n, &make_group)
        };
        let by_feature = top(&features, "(no feature)");
        let by_user = top(&users, "(no user)");

        let mut by_day = Vec::with_capacity(n_days);
        for d in 0..n_days {
            let cells = &days[d * n_slots..(d + 1) * n_slots];
            let date = DateTime::<Utc>::from_timestamp_millis((first_day + d as i64) * DAY_MS)
                .unwrap_or_default();
            let mut by_model: Vec<ModelDay> = cells
                .iter()
                .enumerate()
                .filter(|(_, c)| c.0 > 0)
                .map(|(s, c)| ModelDay {
                    model: view.slot_label(s),
                    calls: c.0,
                    cost_usd: c.1,
                })
                .collect();
            by_model.sort_by(|a, b| {
                b.cost_usd
                    .total_cmp(&a.cost_usd)
                    .then_with(|| a.model.cmp(&b.model))
            });
            by_day.push(DaySpend {
                date: date.format("%Y-%m-%d").to_string(),
                calls: cells.iter().map(|c| c.0).sum(),
                cost_usd: cells.iter().map(|c| c.1).sum(),
                by_model,
            });
        }

        let all_tokens = (mix[0] + mix[1] + mix[2] + mix[3]).max(1) as f64;
        let k = view.by_kind;
        let token_mix = TokenMix {
            input_uncached: mix[0],
            cache_read: mix[1],
            cache_write: mix[2],
            output: mix[3],
            reasoning: mix[4],
            shares: TokenShares {
                input_uncached: mix[0] as f64 / all_tokens,
                cache_read: mix[1] as f64 / all_tokens,
                cache_write: mix[2] as f64 / all_tokens,
                output: mix[3] as f64 / all_tokens,
                reasoning: mix[4] as f64 / all_tokens,
            },
            cost_by_kind: KindCost {
                input_uncached: k.input,
                cache_read: k.cache_read,
                cache_write: k.cache_write,
                output: k.output,
                requests: k.requests,
            },
        };

        let sum = slots.iter().fold(Acc::default(), |mut a, s| {
            a.add(s);
            a
        });
        Ok(SpendBreakdown {
            span: span.clone(),
            catalogue_date: ctx.catalogue().snapshot_date().to_owned(),
            totals: Totals {
                calls: sum.calls,
                records: ds.rows.len() as u64,
                cost_usd: total,
                monthly_usd: span.monthly(total),
                priced_calls: sum.priced_calls,
                unpriced_calls: sum.calls - sum.priced_calls,
                failed_calls: sum.failed,
                rate_limited_calls: rate_limited,
                error_rate: ratio(sum.failed, sum.calls),
                retry_calls: retries,
                discounted_tier_calls: discounted,
                input_tokens: sum.input,
                output_tokens: sum.output,
            },
            by_model,
            by_provider,
            by_feature,
            by_user,
            by_day,
            token_mix,
            latency,
            unpriced: view.unpriced(ds),
        })
    }
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

/// Most expensive first; unpriced groups by calls after the priced ones.
fn sort_groups(groups: &mut [Group]) {
    groups.sort_by(|a, b| {
        b.cost_usd
            .unwrap_or(-1.0)
            .total_cmp(&a.cost_usd.unwrap_or(-1.0))
            .then_with(|| b.calls.cmp(&a.calls))
            .then_with(|| a.name.cmp(&b.name))
    });
}

type MakeGroup<'a> = &'a dyn Fn(String, Option<String>, &Acc, Option<Percentiles>) -> Group;

fn top_n_with_others(mut groups: Vec<Group>, n: usize, make_group: MakeGroup<'_>) -> Vec<Group> {
    if groups.len() <= n.saturating_add(1) {
        return groups;
    }
    let rest = groups.split_off(n);
    let mut acc = Acc::default();
    for g in &rest {
        acc.calls += g.calls;
        acc.priced_calls += g.calls - g.unpriced_calls;
        acc.cost += g.cost_usd.unwrap_or(0.0);
        acc.failed += (g.error_rate * g.calls as f64).round() as u64;
        acc.input += g.input_tokens;
        acc.output += g.output_tokens;
    }
    let mut others = make_group("(others)".to_owned(), None, &acc, None);
    others.merged_groups = Some(rest.len() as u64);
    groups.push(others);
    groups
}

impl SpendBreakdown {
    /// One line: spend, calls, top model, error rate, latency, unpriced models.
    pub fn summary(&self) -> String {
        let t = &self.totals;
        let mut s = format!(
            "{} over {:.1} days ({} per month, x{:.3}): {} calls",
            usd(t.cost_usd),
            self.span.observed_hours / 24.0,
            usd(t.monthly_usd),
            self.span.monthly_factor,
            group_thousands(t.calls)
        );
        if let Some(top) = self.by_model.first().filter(|g| g.cost_usd.is_some()) {
            s.push_str(&format!(
                "; top model {} at {:.1}% of spend",
                top.name,
                top.share * 100.0
            ));
        }
        s.push_str(&format!("; error rate {:.2}%", t.error_rate * 100.0));
        if let Some(l) = self.latency {
            s.push_str(&format!(
                "; latency p50 {} ms, p95 {} ms",
                l.p50_ms, l.p95_ms
            ));
        }
        if !self.unpriced.is_empty() {
            let names: Vec<&str> = self.unpriced.iter().map(|u| u.model.as_str()).collect();
            s.push_str(&format!(
                "; {} calls unpriced ({}), not included in any amount",
                group_thousands(t.unpriced_calls),
                names.join(", ")
            ));
        }
        if self.span.low_confidence {
            s.push_str("; less than a day of data: low confidence");
        }
        s
    }
}
