//! `prompt_caching`: savings from caching long prompt prefixes that repeat.
//!
//! Calls are grouped by (model, `prefix_hash`) ([`KeyGroups`]: no hash map
//! entry per call, whatever the number of distinct prefixes). Prefixes shorter than the
//! provider's minimum are not cacheable. Within a group, calls are replayed
//! in time order against a cache whose entry lives `ttl` minutes and is
//! refreshed by every use (Anthropic's and OpenAI's behaviour): the first
//! call of a window writes the prefix (at the catalogue's cache write price,
//! which for a model without one is its plain input price: no premium), the
//! calls after it read it (at the cache read price). The saving is what the
//! calls cost now minus what the replay costs. Without prefix hashes the
//! analysis says which data is missing and estimates nothing.

use crate::context::AnalysisContext;
use crate::error::AnalysisError;
use crate::priced::{CHUNK, PricedView};
use crate::recommendation::{
    Confidence, Evidence, Figure, Recommendation, RecommendationKind, Unit, group_thousands,
    push_sample, usd,
};
use crate::scan::{self, Scan};
use crate::span::Clock;
use crate::stats::{FastMap, KeyGroups, combine, fast_map};
use chrono::{DateTime, Utc};
use pricing::{Catalogue, ModelRef};
use serde::{Deserialize, Serialize};
use usage::dataset::Row;
use usage::{Sym, TokenCounts};

/// Arguments of `prompt_caching`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PromptCachingInput {
    /// Shortest cacheable prefix; default: each provider's documented minimum.
    pub min_prefix_tokens: Option<u32>,
    /// Cache lifetime in minutes; default: each provider's (5 minutes).
    pub ttl_minutes: Option<u32>,
    /// Prefix groups listed, largest saving first.
    pub top_n: usize,
}

impl Default for PromptCachingInput {
    fn default() -> Self {
        PromptCachingInput {
            min_prefix_tokens: None,
            ttl_minutes: None,
            top_n: 5,
        }
    }
}

/// One repeated prefix on one model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrefixGroup {
    /// The prefix hash, hex.
    pub prefix_hash: String,
    pub model: String,
    pub provider: String,
    /// The feature of the group's first call.
    pub feature: String,
    pub calls: u64,
    pub prefix_tokens: u32,
    /// Calls that would read the prefix from the cache.
    pub cache_hits: u64,
    /// Calls that would write it (first use in a window).
    pub cache_writes: u64,
    /// Calls whose prefix was already cached in the data.
    pub already_cached: u64,
    pub current_cost_usd: f64,
    pub cached_cost_usd: f64,
    pub monthly_savings_usd: f64,
    pub ttl_minutes: u32,
    pub min_prefix_tokens: u32,
}

/// Result of `prompt_caching`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PromptCachingOutput {
    pub basis: String,
    /// Set when the data lacks what the analysis needs; then nothing is estimated.
    pub missing_data: Option<String>,
    /// Calls carrying a prefix hash and length.
    pub calls_with_prefix: u64,
    /// Of those, calls whose prefix is shorter than the provider's minimum.
    pub below_minimum_calls: u64,
    /// Of those, calls on models without a cache discount in the catalogue.
    pub no_cache_price_calls: u64,
    pub groups: Vec<PrefixGroup>,
    pub total_monthly_savings_usd: f64,
    /// Provider caching rules applied, one line each.
    pub rules: Vec<String>,
    #[serde(skip)]
    pub recommendation: Option<Recommendation>,
}

#[derive(Debug, Clone, Copy)]
struct SlotRules {
    eligible: bool,
    min_tokens: u32,
    ttl_ms: i64,
}

#[derive(Debug, Clone)]
struct Group {
    slot: u32,
    prefix_hash: u64,
    feature: Sym,
    calls: u64,
    prefix_tokens: u32,
    hits: u64,
    writes: u64,
    already: u64,
    cost_now: f64,
    cost_sim: f64,
    last_ms: i64,
    sample: Vec<usize>,
}

impl Group {
    fn new(slot: u32, first: &Row) -> Self {
        Group {
            slot,
            prefix_hash: first.prefix_hash.unwrap_or_default(),
            feature: first.feature,
            calls: 0,
            prefix_tokens: 0,
            hits: 0,
            writes: 0,
            already: 0,
            cost_now: 0.0,
            cost_sim: 0.0,
            last_ms: i64::MIN,
            sample: Vec::new(),
        }
    }
}

/// Beyond this many distinct (model, prefix) groups, the single-pass replay
/// gives way to grouping by sorting (bounded memory whatever the data).
const MAX_SEQUENTIAL_GROUPS: usize = 100_000;

const MISSING: &str = "No call carries a prompt prefix hash and length (`prefix_hash`, `prefix_tokens`), so which calls \
share a long prefix is unknown and no prompt-caching saving is estimated. Import the hash of each call's shared prefix \
(system prompt and tool definitions) with its token count, or the prompt text.";

/// Runs `prompt_caching`.
pub fn prompt_caching(
    ctx: &AnalysisContext,
    input: &PromptCachingInput,
) -> Result<PromptCachingOutput, AnalysisError> {
    let mut scan = PromptCachingScan::new(ctx, input)?;
    scan::run(ctx, &mut [&mut scan])?;
    scan.finish()
}

/// The key of a call that could use the cache: (model slot, prefix hash) mixed.
fn eligible_key(view: &PricedView, rules: &[SlotRules], i: usize, row: &Row) -> Option<u64> {
    let hash = row.prefix_hash.filter(|_| row.prefix_tokens > 0)?;
    let slot = view.row_slot[i];
    let r = rules[slot as usize];
    if !r.eligible
        || row.prefix_tokens < r.min_tokens
        || row.is_aggregate()
        || view.cost[i].is_nan()
        // A call rejected before any token was processed (429) neither reads nor writes a cache.
        || row.tokens.input_total() == 0
    {
        return None;
    }
    Some(combine(slot, hash))
}

/// The pass of `prompt_caching`: counts, and each (model, prefix) group
/// replayed in row order while the groups are few and each arrives in time
/// order (otherwise [`PromptCachingScan::finish`] groups them by sorting).
pub(crate) struct PromptCachingScan<'a> {
    ctx: &'a AnalysisContext,
    view: &'a PricedView,
    rules: Vec<SlotRules>,
    rules_text: Vec<String>,
    top_n: usize,
    with_prefix: u64,
    below_minimum: u64,
    no_price: u64,
    index: FastMap<u64, u32>,
    groups: Vec<Group>,
    in_order: bool,
    clock: Clock,
}

impl<'a> PromptCachingScan<'a> {
    pub(crate) fn new(
        ctx: &'a AnalysisContext,
        input: &PromptCachingInput,
    ) -> Result<Self, AnalysisError> {
        if input.ttl_minutes == Some(0) {
            return Err(AnalysisError::InvalidParameter {
                name: "ttl_minutes",
                reason: "must be at least 1",
            });
        }
        let view = ctx.priced()?;
        let catalogue = ctx.catalogue();
        let facts = ctx.provider_facts();
        let mut rules_text: Vec<String> = Vec::new();
        let rules: Vec<SlotRules> = view
            .slots
            .iter()
            .map(|s| {
                let (r, documented) = facts.cache_rules(&s.provider_id);
                let min_tokens = input.min_prefix_tokens.unwrap_or(r.min_tokens);
                let ttl = input.ttl_minutes.unwrap_or(r.ttl_minutes);
                let eligible = s
                    .model_ref
                    .is_some_and(|m| has_cache_discount(catalogue, m, view.max_ms));
                let line = format!(
                    "{}: {}{}",
                    s.provider_id,
                    r.note,
                    if documented { "" } else { " (assumed)" }
                );
                if s.priced_calls > 0 && !rules_text.contains(&line) {
                    rules_text.push(line);
                }
                SlotRules {
                    eligible,
                    min_tokens,
                    ttl_ms: i64::from(ttl) * 60_000,
                }
            })
            .collect();
        Ok(PromptCachingScan {
            ctx,
            view,
            rules,
            rules_text,
            top_n: input.top_n,
            with_prefix: 0,
            below_minimum: 0,
            no_price: 0,
            index: fast_map(),
            groups: Vec::new(),
            in_order: true,
            clock: Clock::default(),
        })
    }
}

impl Scan for PromptCachingScan<'_> {
    fn visit(&mut self, base: usize, rows: &[Row]) {
        let view = self.view;
        let catalogue = self.ctx.catalogue();
        let mut last: Option<(u64, u32)> = None;
        for (k, row) in rows.iter().enumerate() {
            if row.prefix_hash.is_none() || row.prefix_tokens == 0 {
                continue;
            }
            let i = base + k;
            self.with_prefix += u64::from(row.calls.max(1));
            let Some(key) = eligible_key(view, &self.rules, i, row) else {
                if !view.cost[i].is_nan() && !row.is_aggregate() {
                    let r = self.rules[view.row_slot[i] as usize];
                    if !r.eligible {
                        self.no_price += 1;
                    } else if row.prefix_tokens < r.min_tokens {
                        self.below_minimum += 1;
                    }
                }
                continue;
            };
            if !self.in_order {
                continue;
            }
            let g = match last {
                Some((lk, g)) if lk == key => g,
                _ => {
                    let groups = &mut self.groups;
                    let g = *self.index.entry(key).or_insert_with(|| {
                        groups.push(Group::new(view.row_slot[i], row));
                        (groups.len() - 1) as u32
                    });
                    last = Some((key, g));
                    g
                }
            };
            if self.groups.len() > MAX_SEQUENTIAL_GROUPS
                || row.ts_ms < self.groups[g as usize].last_ms
            {
                // Give up the single pass: finish() groups by sorting instead.
                self.in_order = false;
                self.groups = Vec::new();
                self.index = fast_map();
                continue;
            }
            let group = &mut self.groups[g as usize];
            let r = self.rules[group.slot as usize];
            replay(group, r, view, catalogue, &mut self.clock, i, row);
        }
    }
}

impl PromptCachingScan<'_> {
    /// The result; groups the calls by sorting first when the single pass gave up.
    pub(crate) fn finish(self) -> Result<PromptCachingOutput, AnalysisError> {
        let PromptCachingScan {
            ctx,
            view,
            rules,
            rules_text,
            top_n,
            with_prefix,
            below_minimum,
            no_price,
            mut groups,
            in_order,
            ..
        } = self;
        ctx.check_cancelled()?;
        let ds = ctx.dataset();
        let catalogue = ctx.catalogue();
        let span = &view.span;
        if with_prefix == 0 {
            return Ok(PromptCachingOutput {
                basis: span.basis.clone(),
                missing_data: Some(MISSING.to_owned()),
                calls_with_prefix: 0,
                below_minimum_calls: 0,
                no_cache_price_calls: 0,
                groups: Vec::new(),
                total_monthly_savings_usd: 0.0,
                rules: rules_text,
                recommendation: None,
            });
        }

        // Otherwise: group the calls by key (sorting, not hashing) and replay each
        // repeated prefix after ordering its calls by time.
        if !in_order {
            groups = Vec::new();
            let mut keys = KeyGroups::with_capacity(ds.rows.len());
            for (chunk_no, rows) in ds.rows.chunks(CHUNK).enumerate() {
                ctx.check_cancelled()?;
                for (k, row) in rows.iter().enumerate() {
                    let i = chunk_no * CHUNK + k;
                    if let Some(key) = eligible_key(view, &rules, i, row) {
                        keys.push(key, i);
                    }
                }
            }
            let mut order: Vec<(i64, u32)> = Vec::new();
            let mut clock = Clock::default();
            keys.for_each_group(
                2,
                || ctx.check_cancelled(),
                |_, members| {
                    order.clear();
                    order.extend(members.iter().map(|&r| (ds.rows[r as usize].ts_ms, r)));
                    if !order.is_sorted() {
                        order.sort_unstable();
                    }
                    let first = order[0].1 as usize;
                    let mut g = Group::new(view.row_slot[first], &ds.rows[first]);
                    let r_rules = rules[g.slot as usize];
                    for (n, &(_, r)) in order.iter().enumerate() {
                        if n % CHUNK == CHUNK - 1 {
                            ctx.check_cancelled()?;
                        }
                        replay(
                            &mut g,
                            r_rules,
                            view,
                            catalogue,
                            &mut clock,
                            r as usize,
                            &ds.rows[r as usize],
                        );
                    }
                    groups.push(g);
                    Ok(())
                },
            )?;
        }

        let mut out: Vec<PrefixGroup> = groups
            .iter()
            .filter(|g| g.cost_now - g.cost_sim > 0.0)
            .map(|g| {
                let slot = &view.slots[g.slot as usize];
                let r = rules[g.slot as usize];
                PrefixGroup {
                    prefix_hash: format!("{:016x}", g.prefix_hash),
                    model: view.slot_label(g.slot as usize),
                    provider: slot.provider_id.clone(),
                    feature: ds.str(g.feature).unwrap_or("(no feature)").to_owned(),
                    calls: g.calls,
                    prefix_tokens: g.prefix_tokens,
                    cache_hits: g.hits,
                    cache_writes: g.writes,
                    already_cached: g.already,
                    current_cost_usd: g.cost_now,
                    cached_cost_usd: g.cost_sim,
                    monthly_savings_usd: span.monthly(g.cost_now - g.cost_sim),
                    ttl_minutes: (r.ttl_ms / 60_000) as u32,
                    min_prefix_tokens: r.min_tokens,
                }
            })
            .collect();
        out.sort_by(|a, b| {
            b.monthly_savings_usd
                .total_cmp(&a.monthly_savings_usd)
                .then_with(|| a.prefix_hash.cmp(&b.prefix_hash))
        });
        let total: f64 = out.iter().map(|g| g.monthly_savings_usd).sum();
        let all_groups = out.len();

        let recommendation = (total > 0.0).then(|| {
        let top = &out[0];
        let mut evidence = Evidence::default();
        let (mut hits, mut writes, mut now, mut sim) = (0u64, 0u64, 0.0, 0.0);
        for g in &out {
            evidence.calls += g.calls;
            hits += g.cache_hits;
            writes += g.cache_writes;
            now += g.current_cost_usd;
            sim += g.cached_cost_usd;
            if !evidence.models.contains(&g.model) {
                evidence.models.push(g.model.clone());
            }
            if !evidence.features.contains(&g.feature) {
                evidence.features.push(g.feature.clone());
            }
        }
        for g in groups.iter().filter(|g| g.cost_now > g.cost_sim) {
            for &r in &g.sample {
                push_sample(&mut evidence.sample_rows, r);
            }
        }
        evidence.figures.push(Figure::new("repeated prefix groups worth caching", all_groups as f64, Unit::Count));
        evidence.figures.push(Figure::new("calls that would read the cache", hits as f64, Unit::Calls));
        evidence.figures.push(Figure::new("calls that would write it (first use per window)", writes as f64, Unit::Calls));
        evidence.figures.push(Figure::new(
            "hit rate",
            100.0 * hits as f64 / (hits + writes).max(1) as f64,
            Unit::Percent,
        ));
        evidence.figures.push(Figure::new("largest prefix, tokens", f64::from(top.prefix_tokens), Unit::Tokens));
        evidence.figures.push(Figure::new("observed cost of these calls", now, Unit::Usd));
        evidence.figures.push(Figure::new("the same calls with the prefix cached", sim, Unit::Usd));
        let hit_rate = hits as f64 / (hits + writes).max(1) as f64;
        let action = match top.provider.as_str() {
            "anthropic" => "Put the shared system prompt and tool definitions first, byte-identical on every call, and mark \
                            their end with a `cache_control` breakpoint.",
            "openai" => "OpenAI caches automatically: keep the shared prefix first and byte-identical (no timestamps or \
                         user data in it) and pass a stable `prompt_cache_key`.",
            "google" => "Keep the shared prefix first and identical so implicit caching applies, or create an explicit \
                         cached content for it.",
            _ => "Put the shared prefix first, identical on every call, and enable the provider's prompt caching.",
        };
        Recommendation {
            id: RecommendationKind::PromptCaching.as_str().to_owned(),
            kind: RecommendationKind::PromptCaching,
            title: format!(
                "Cache the {}-token shared prefix of {} on {}",
                group_thousands(u64::from(top.prefix_tokens)),
                top.feature,
                top.model
            ),
            monthly_savings_usd: total,
            latency_effect: Some(
                "cache hits shorten the time to first token on long prefixes (vendors cite up to ~80% for long \
                 prompts); not measured in this data"
                    .to_owned(),
            ),
            confidence: if hit_rate >= 0.8 { Confidence::High } else { Confidence::Medium },
            evidence,
            rationale: format!(
                "Calls sharing a prefix hash on the same model were replayed in time order against a cache whose entry \
                 lives {} minutes and is refreshed by each use: the first call of each window pays the catalogue's \
                 cache write price for the prefix, the others its cache read price; everything else is priced as \
                 observed. Prefixes under the provider minimum ({} tokens) are not counted. Rules: {}.",
                top.ttl_minutes,
                top.min_prefix_tokens,
                rules_text.join("; ")
            ),
            action: action.to_owned(),
        }
    });
        out.truncate(top_n.max(1));

        Ok(PromptCachingOutput {
            basis: span.basis.clone(),
            missing_data: None,
            calls_with_prefix: with_prefix,
            below_minimum_calls: below_minimum,
            no_cache_price_calls: no_price,
            groups: out,
            total_monthly_savings_usd: total,
            rules: rules_text,
            recommendation,
        })
    }
}

/// Adds row `i` to its group's replay (rows come in time order).
fn replay(
    g: &mut Group,
    r: SlotRules,
    view: &PricedView,
    catalogue: &Catalogue,
    clock: &mut Clock,
    i: usize,
    row: &Row,
) {
    let cost = view.cost[i];
    let Some(m) = view.slots[g.slot as usize].model_ref else {
        return;
    };
    g.calls += 1;
    g.prefix_tokens = g.prefix_tokens.max(row.prefix_tokens);
    g.cost_now += cost;
    let hit = g.last_ms != i64::MIN && row.ts_ms - g.last_ms <= r.ttl_ms;
    g.last_ms = g.last_ms.max(row.ts_ms);
    let t = &row.tokens;
    let cached = t.cache_read + t.cache_write_5m + t.cache_write_1h;
    let cacheable = u64::from(row.prefix_tokens)
        .saturating_sub(cached)
        .min(t.input_uncached);
    if cacheable == 0 {
        g.already += 1;
        g.cost_sim += cost;
        return;
    }
    let mut sim = *t;
    sim.input_uncached -= cacheable;
    if hit {
        sim.cache_read += cacheable;
        g.hits += 1;
    } else {
        sim.cache_write_5m += cacheable;
        g.writes += 1;
    }
    g.cost_sim += catalogue.cost(m, clock.at(row.ts_ms), &sim, 1).total();
    push_sample(&mut g.sample, i);
}

/// True when reading from the cache is cheaper than plain input for this model.
fn has_cache_discount(catalogue: &Catalogue, m: ModelRef, at_ms: i64) -> bool {
    let at: DateTime<Utc> = DateTime::from_timestamp_millis(at_ms).unwrap_or_default();
    let read = catalogue
        .cost(
            m,
            at,
            &TokenCounts {
                cache_read: 1_000,
                ..TokenCounts::default()
            },
            1,
        )
        .total();
    let plain = catalogue
        .cost(
            m,
            at,
            &TokenCounts {
                input_uncached: 1_000,
                ..TokenCounts::default()
            },
            1,
        )
        .total();
    read < plain
}

impl PromptCachingOutput {
    pub fn summary(&self) -> String {
        if self.missing_data.is_some() {
            return "Prompt caching not estimated: no call carries a prefix hash and length (prefix_hash, prefix_tokens)"
                .to_owned();
        }
        match self.groups.first() {
            None => format!(
                "No repeated prefix worth caching among {} calls with a prefix hash ({} below the provider minimum)",
                group_thousands(self.calls_with_prefix),
                group_thousands(self.below_minimum_calls)
            ),
            Some(top) => format!(
                "{} per month from prompt caching; largest: the {}-token prefix of {} on {} ({} calls, {} cache hits, {} per month)",
                usd(self.total_monthly_savings_usd),
                group_thousands(u64::from(top.prefix_tokens)),
                top.feature,
                top.model,
                group_thousands(top.calls),
                group_thousands(top.cache_hits),
                usd(top.monthly_savings_usd)
            ),
        }
    }
}
