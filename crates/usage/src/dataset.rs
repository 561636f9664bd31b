//! The in-memory dataset the analyses read: compact rows with interned
//! strings, so 10 million calls fit in well under 2 GiB.
//!
//! A [`Row`] is `Copy` and 144 bytes; strings (provider, model, tags)
//! are [`Sym`]s into the dataset's [`Interner`]. Rows are appended in import
//! order; [`Dataset::sort_by_time`] orders them when an analysis needs it.

use crate::import::{NO_TAG, RecordSink, TagIds, TagStrings};
use crate::record::{ServiceTier, Status, TokenCounts, UsageRecord};
use chrono::{DateTime, TimeZone, Utc};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// An interned string. `Sym::NONE` stands for "absent".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sym(pub u32);

impl Sym {
    pub const NONE: Sym = Sym(u32::MAX);

    pub fn is_none(self) -> bool {
        self == Sym::NONE
    }
}

/// Interns strings into dense `Sym` ids.
#[derive(Debug, Default, Clone)]
pub struct Interner {
    ids: HashMap<String, Sym, StrBuildHasher>,
    strings: Vec<String>,
    /// The symbols of the ids of the import batch being replayed ([`UNSET`] until seen).
    batch: Vec<Sym>,
}

/// A batch id not yet resolved to a symbol.
const UNSET: Sym = Sym(u32::MAX - 1);

/// The interner's hasher, also used by the import's per-batch string tables.
pub(crate) type StrBuildHasher = BuildHasherDefault<StrHasher>;

impl Interner {
    pub fn intern(&mut self, s: &str) -> Sym {
        if let Some(&sym) = self.ids.get(s) {
            return sym;
        }
        let sym =
            Sym(u32::try_from(self.strings.len()).expect("fewer than 4 billion distinct strings"));
        self.strings.push(s.to_owned());
        self.ids.insert(s.to_owned(), sym);
        sym
    }

    pub fn intern_opt(&mut self, s: Option<&str>) -> Sym {
        s.map_or(Sym::NONE, |s| self.intern(s))
    }

    /// The symbol of a string of the import batch being replayed, by its id
    /// there: interned on its first use in the batch, a lookup afterwards.
    fn intern_tag(&mut self, id: u32, strings: &dyn TagStrings) -> Sym {
        if id == NO_TAG {
            return Sym::NONE;
        }
        let i = id as usize;
        if let Some(&sym) = self.batch.get(i)
            && sym != UNSET
        {
            return sym;
        }
        let sym = self.intern(strings.tag(id));
        if self.batch.len() <= i {
            self.batch.resize(i + 1, UNSET);
        }
        self.batch[i] = sym;
        sym
    }

    /// The string of a symbol; `None` for `Sym::NONE`.
    pub fn resolve(&self, sym: Sym) -> Option<&str> {
        if sym.is_none() {
            None
        } else {
            self.strings.get(sym.0 as usize).map(String::as_str)
        }
    }

    pub fn len(&self) -> usize {
        self.strings.len()
    }

    pub fn is_empty(&self) -> bool {
        self.strings.is_empty()
    }
}

/// A fast non-cryptographic hasher for the interner (the FxHash mixing
/// step, eight bytes at a time): interning is on the import hot path, and
/// the keys are not attacker-chosen in a way that matters for a local
/// analysis.
#[derive(Default)]
pub(crate) struct StrHasher(u64);

impl Hasher for StrHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
        let mix = |h: u64, w: u64| (h.rotate_left(5) ^ w).wrapping_mul(K);
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.0 = mix(self.0, u64::from_le_bytes(w));
        }
        let mut tail = [0u8; 8];
        let rest = chunks.remainder();
        tail[..rest.len()].copy_from_slice(rest);
        self.0 = mix(
            self.0,
            u64::from_le_bytes(tail) ^ ((rest.len() as u64) << 59),
        );
    }
}

/// One compact record. See [`UsageRecord`] for the meaning of each field.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Row {
    /// Milliseconds since the Unix epoch.
    pub ts_ms: i64,
    pub provider: Sym,
    pub model: Sym,
    pub user: Sym,
    pub feature: Sym,
    pub endpoint: Sym,
    pub environment: Sym,
    pub tokens: TokenCounts,
    /// `u32::MAX` when unknown.
    pub latency_ms: u32,
    pub status: Status,
    pub service_tier: ServiceTier,
    /// 0 when unknown.
    pub attempt: u32,
    pub calls: u32,
    /// 0 when unknown.
    pub prefix_tokens: u32,
    pub prompt_hash: Option<u64>,
    pub prefix_hash: Option<u64>,
    /// NaN when the source reported no cost.
    pub reported_cost_usd: f64,
    /// See [`UsageRecord::aggregate`].
    pub aggregate: bool,
}

/// The interned strings of a row.
struct Syms {
    provider: Sym,
    model: Sym,
    user: Sym,
    feature: Sym,
    endpoint: Sym,
    environment: Sym,
}

impl Row {
    fn new(r: &UsageRecord, s: Syms) -> Row {
        Row {
            ts_ms: r.timestamp.timestamp_millis(),
            provider: s.provider,
            model: s.model,
            user: s.user,
            feature: s.feature,
            endpoint: s.endpoint,
            environment: s.environment,
            tokens: r.tokens,
            latency_ms: r.latency_ms.unwrap_or(u32::MAX),
            status: r.status,
            service_tier: r.service_tier,
            attempt: r.attempt.unwrap_or(0),
            calls: r.calls.max(1),
            prefix_tokens: r.prefix_tokens.unwrap_or(0),
            prompt_hash: r.prompt_hash,
            prefix_hash: r.prefix_hash,
            reported_cost_usd: r.reported_cost_usd.unwrap_or(f64::NAN),
            aggregate: r.aggregate,
        }
    }

    pub fn latency(&self) -> Option<u32> {
        (self.latency_ms != u32::MAX).then_some(self.latency_ms)
    }

    pub fn reported_cost(&self) -> Option<f64> {
        (!self.reported_cost_usd.is_nan()).then_some(self.reported_cost_usd)
    }

    /// True for an aggregate bucket (see [`UsageRecord::is_aggregate`]).
    pub fn is_aggregate(&self) -> bool {
        self.aggregate || self.calls > 1
    }

    pub fn timestamp(&self) -> DateTime<Utc> {
        Utc.timestamp_millis_opt(self.ts_ms)
            .single()
            .unwrap_or_default()
    }
}

/// A set of usage rows with their string table.
#[derive(Debug, Default, Clone)]
pub struct Dataset {
    pub rows: Vec<Row>,
    pub strings: Interner,
}

impl Dataset {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with_capacity(n: usize) -> Self {
        Dataset {
            rows: Vec::with_capacity(n),
            strings: Interner::default(),
        }
    }

    /// Appends a record, interning its strings.
    pub fn push(&mut self, r: &UsageRecord) {
        let s = &mut self.strings;
        let syms = Syms {
            provider: s.intern_opt(r.provider.as_deref()),
            model: s.intern(&r.model),
            user: s.intern_opt(r.tags.user.as_deref()),
            feature: s.intern_opt(r.tags.feature.as_deref()),
            endpoint: s.intern_opt(r.tags.endpoint.as_deref()),
            environment: s.intern_opt(r.tags.environment.as_deref()),
        };
        self.rows.push(Row::new(r, syms));
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Orders rows by time (stable).
    pub fn sort_by_time(&mut self) {
        self.rows.sort_by_key(|r| r.ts_ms);
    }

    /// First and last timestamps, when there are rows.
    pub fn time_span(&self) -> Option<(i64, i64)> {
        let min = self.rows.iter().map(|r| r.ts_ms).min()?;
        let max = self.rows.iter().map(|r| r.ts_ms).max()?;
        Some((min, max))
    }

    /// Resolves a symbol to its string.
    pub fn str(&self, sym: Sym) -> Option<&str> {
        self.strings.resolve(sym)
    }
}

/// An import fills a dataset directly: records replayed from the parallel
/// import's batches come with their strings' ids in the batch, so each
/// distinct string is interned once per batch.
impl RecordSink for Dataset {
    fn record(&mut self, r: &UsageRecord) {
        self.push(r);
    }

    fn begin_batch(&mut self) {
        self.strings.batch.clear();
    }

    fn uses_tags(&self) -> bool {
        true
    }

    fn record_tagged(&mut self, r: &UsageRecord, ids: TagIds, strings: &dyn TagStrings) {
        let s = &mut self.strings;
        let model = match ids.model {
            NO_TAG => s.intern(&r.model),
            id => s.intern_tag(id, strings),
        };
        let syms = Syms {
            provider: s.intern_tag(ids.provider, strings),
            model,
            user: s.intern_tag(ids.user, strings),
            feature: s.intern_tag(ids.feature, strings),
            endpoint: s.intern_tag(ids.endpoint, strings),
            environment: s.intern_tag(ids.environment, strings),
        };
        self.rows.push(Row::new(r, syms));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_stays_compact() {
        assert!(
            std::mem::size_of::<Row>() <= 160,
            "Row is {} bytes",
            std::mem::size_of::<Row>()
        );
    }

    #[test]
    fn push_interns_and_resolves() {
        let mut ds = Dataset::new();
        let t = Utc.timestamp_millis_opt(1_700_000_000_000).unwrap();
        let mut rec = UsageRecord::call(
            t,
            Some("openai"),
            "gpt-4o",
            TokenCounts {
                output: 5,
                ..Default::default()
            },
        );
        ds.push(&rec);
        rec.tags.feature = Some("chat".into());
        ds.push(&rec);
        assert_eq!(ds.len(), 2);
        assert_eq!(ds.rows[0].model, ds.rows[1].model);
        assert_eq!(ds.str(ds.rows[1].feature), Some("chat"));
        assert!(ds.rows[0].feature.is_none());
        assert_eq!(ds.rows[0].latency(), None);
        assert_eq!(ds.time_span(), Some((1_700_000_000_000, 1_700_000_000_000)));
    }
}
