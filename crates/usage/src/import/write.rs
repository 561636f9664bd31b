//! Writers of Apex's own schema (JSON Lines and CSV), the inverse of the
//! `apex` importers: what the sample generator and the benchmarks write.

use crate::record::{ServiceTier, Status, UsageRecord};
use chrono::SecondsFormat;
use serde::Serialize;
use std::io::Write;

/// Column names of the CSV schema, in order (also the JSONL field names).
pub const CSV_HEADER: [&str; 24] = [
    "timestamp",
    "provider",
    "model",
    "input_tokens",
    "cache_read_tokens",
    "cache_write_5m_tokens",
    "cache_write_1h_tokens",
    "output_tokens",
    "reasoning_tokens",
    "latency_ms",
    "status",
    "service_tier",
    "request_id",
    "user",
    "feature",
    "endpoint",
    "environment",
    "prompt_hash",
    "prefix_hash",
    "prefix_tokens",
    "attempt",
    "cost_usd",
    "calls",
    "aggregate",
];

fn status_name(s: Status) -> &'static str {
    match s {
        Status::Ok => "ok",
        Status::RateLimited => "rate_limited",
        Status::Error => "error",
    }
}

fn tier_name(t: ServiceTier) -> &'static str {
    match t {
        ServiceTier::Standard => "standard",
        ServiceTier::Batch => "batch",
        ServiceTier::Flex => "flex",
        ServiceTier::Priority => "priority",
    }
}

fn hex(h: u64) -> String {
    format!("{h:016x}")
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_one(c: &u32) -> bool {
    *c == 1
}

#[derive(Serialize)]
struct Line<'a> {
    timestamp: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    provider: Option<&'a str>,
    model: &'a str,
    input_tokens: u64,
    cache_read_tokens: u64,
    cache_write_5m_tokens: u64,
    cache_write_1h_tokens: u64,
    output_tokens: u64,
    reasoning_tokens: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    latency_ms: Option<u32>,
    status: &'static str,
    service_tier: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    feature: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    endpoint: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    environment: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    prompt_hash: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    prefix_hash: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    prefix_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    attempt: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cost_usd: Option<f64>,
    #[serde(skip_serializing_if = "is_one")]
    calls: u32,
    #[serde(skip_serializing_if = "is_false")]
    aggregate: bool,
}

impl<'a> Line<'a> {
    fn of(r: &'a UsageRecord) -> Self {
        Line {
            timestamp: r.timestamp.to_rfc3339_opts(SecondsFormat::Millis, true),
            provider: r.provider.as_deref(),
            model: &r.model,
            input_tokens: r.tokens.input_uncached,
            cache_read_tokens: r.tokens.cache_read,
            cache_write_5m_tokens: r.tokens.cache_write_5m,
            cache_write_1h_tokens: r.tokens.cache_write_1h,
            output_tokens: r.tokens.output,
            reasoning_tokens: r.tokens.reasoning,
            latency_ms: r.latency_ms,
            status: status_name(r.status),
            service_tier: tier_name(r.service_tier),
            request_id: r.request_id.as_deref(),
            user: r.tags.user.as_deref(),
            feature: r.tags.feature.as_deref(),
            endpoint: r.tags.endpoint.as_deref(),
            environment: r.tags.environment.as_deref(),
            prompt_hash: r.prompt_hash.map(hex),
            prefix_hash: r.prefix_hash.map(hex),
            prefix_tokens: r.prefix_tokens,
            attempt: r.attempt,
            cost_usd: r.reported_cost_usd.filter(|c| c.is_finite()),
            calls: r.calls,
            aggregate: r.aggregate,
        }
    }
}

/// Writes `r` as one line of Apex's JSONL schema (with the newline).
pub fn write_jsonl<W: Write>(w: &mut W, r: &UsageRecord) -> std::io::Result<()> {
    serde_json::to_writer(&mut *w, &Line::of(r)).map_err(std::io::Error::from)?;
    w.write_all(b"\n")
}

/// Writes Apex's CSV schema: the header on creation, then one row per record.
pub struct CsvWriter<W: Write> {
    inner: csv::Writer<W>,
}

impl<W: Write> CsvWriter<W> {
    pub fn new(w: W) -> Result<Self, csv::Error> {
        let mut inner = csv::Writer::from_writer(w);
        inner.write_record(CSV_HEADER)?;
        Ok(CsvWriter { inner })
    }

    pub fn write(&mut self, r: &UsageRecord) -> Result<(), csv::Error> {
        let n = |v: u64| v.to_string();
        let o = |v: Option<u32>| v.map(|v| v.to_string()).unwrap_or_default();
        let s = |v: &Option<String>| v.clone().unwrap_or_default();
        let t = &r.tokens;
        self.inner.write_record([
            r.timestamp.to_rfc3339_opts(SecondsFormat::Millis, true),
            s(&r.provider),
            r.model.clone(),
            n(t.input_uncached),
            n(t.cache_read),
            n(t.cache_write_5m),
            n(t.cache_write_1h),
            n(t.output),
            n(t.reasoning),
            o(r.latency_ms),
            status_name(r.status).to_owned(),
            tier_name(r.service_tier).to_owned(),
            s(&r.request_id),
            s(&r.tags.user),
            s(&r.tags.feature),
            s(&r.tags.endpoint),
            s(&r.tags.environment),
            r.prompt_hash.map(hex).unwrap_or_default(),
            r.prefix_hash.map(hex).unwrap_or_default(),
            o(r.prefix_tokens),
            o(r.attempt),
            r.reported_cost_usd
                .filter(|c| c.is_finite())
                .map(|c| c.to_string())
                .unwrap_or_default(),
            r.calls.to_string(),
            r.aggregate.to_string(),
        ])
    }

    /// Flushes and returns the underlying writer.
    pub fn into_inner(self) -> Result<W, csv::Error> {
        self.inner
            .into_inner()
            .map_err(|e| csv::Error::from(e.into_error()))
    }
}
