//! Apex's own schema, as JSON Lines and as CSV (`docs/usage-schema.md`).
//!
//! One flat object (or CSV row) per record with the field names of
//! [`CSV_HEADER`](super::CSV_HEADER). `input_tokens` is UNCACHED input: cache
//! reads and writes are their own fields, never included in it. Required:
//! `timestamp` and `model`; absent counts are 0, absent tags are none,
//! `calls` defaults to 1. Unknown fields (JSON) or columns (CSV) are ignored.
//!
//! The JSON path is the fast path of the benchmarks: fields are borrowed
//! from the line and copied into one reused record (no allocation per line
//! once the strings have grown).

use super::driver::{Emitter, JsonHandler, Locator, Out};
use super::fields::{Text, from_epoch_guess, id_hash, parse_timestamp};
use super::{ImportError, SkipReason};
use crate::record::{ServiceTier, Status, Tags, TokenCounts, UsageRecord};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer};
use std::borrow::Cow;
use std::io::BufRead;

/// One line of the JSONL schema, borrowed from the line.
#[derive(Deserialize, Default)]
pub(crate) struct ApexLine<'a> {
    #[serde(borrow, default)]
    pub timestamp: Option<TimeField<'a>>,
    #[serde(borrow, default)]
    pub provider: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub model: Option<Text<'a>>,
    #[serde(default)]
    pub input_tokens: u64,
    #[serde(default)]
    pub cache_read_tokens: u64,
    #[serde(default)]
    pub cache_write_5m_tokens: u64,
    #[serde(default)]
    pub cache_write_1h_tokens: u64,
    #[serde(default)]
    pub output_tokens: u64,
    #[serde(default)]
    pub reasoning_tokens: u64,
    #[serde(default)]
    pub latency_ms: Option<u32>,
    #[serde(borrow, default)]
    pub status: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub service_tier: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub request_id: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub user: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub feature: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub endpoint: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub environment: Option<Text<'a>>,
    #[serde(default)]
    pub prompt_hash: Option<HashField>,
    #[serde(default)]
    pub prefix_hash: Option<HashField>,
    #[serde(default)]
    pub prefix_tokens: Option<u32>,
    #[serde(default)]
    pub attempt: Option<u32>,
    #[serde(default)]
    pub cost_usd: Option<f64>,
    #[serde(default)]
    pub calls: Option<u32>,
    #[serde(default)]
    pub aggregate: Option<bool>,
}

/// RFC 3339 text or epoch number (s, ms, µs or ns, by magnitude).
pub(crate) enum TimeField<'a> {
    Text(Cow<'a, str>),
    Epoch(i64),
}

impl<'de: 'a, 'a> Deserialize<'de> for TimeField<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = TimeField<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an RFC 3339 timestamp or epoch number")
            }
            fn visit_borrowed_str<E: serde::de::Error>(
                self,
                v: &'de str,
            ) -> Result<Self::Value, E> {
                Ok(TimeField::Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(TimeField::Text(Cow::Owned(v.to_owned())))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(TimeField::Epoch(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Self::Value, E> {
                i64::try_from(v)
                    .map(TimeField::Epoch)
                    .map_err(|_| E::custom("epoch out of range"))
            }
        }
        d.deserialize_any(V)
    }
}

impl TimeField<'_> {
    fn resolve(&self) -> Result<DateTime<Utc>, SkipReason> {
        match self {
            TimeField::Text(s) => parse_timestamp(s),
            TimeField::Epoch(v) => from_epoch_guess(*v),
        }
        .ok_or_else(|| SkipReason::InvalidField {
            field: "timestamp",
            value: match self {
                TimeField::Text(s) => s.to_string(),
                TimeField::Epoch(v) => v.to_string(),
            },
        })
    }
}

/// A 64-bit hash: 16 hex digits (what the writer emits) or a JSON number.
pub(crate) struct HashField(pub Result<u64, String>);

impl<'de> Deserialize<'de> for HashField {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = HashField;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a hex string or unsigned number")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<HashField, E> {
                Ok(HashField(parse_hash(v).ok_or_else(|| v.to_owned())))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<HashField, E> {
                Ok(HashField(Ok(v)))
            }
        }
        d.deserialize_any(V)
    }
}

pub(crate) fn parse_hash(v: &str) -> Option<u64> {
    let v = v.trim();
    let hex = v.strip_prefix("0x").unwrap_or(v).as_bytes();
    if hex.is_empty() || hex.len() > 16 {
        return None;
    }
    hex.iter().try_fold(0u64, |acc, &c| {
        let d = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            b'A'..=b'F' => c - b'A' + 10,
            _ => return None,
        };
        Some(acc << 4 | u64::from(d))
    })
}

pub(crate) fn parse_status(v: &str) -> Option<Status> {
    Some(match v.trim() {
        "ok" | "OK" | "success" | "Ok" => Status::Ok,
        "rate_limited" | "429" | "RateLimited" => Status::RateLimited,
        "error" | "failure" | "Error" => Status::Error,
        _ => return None,
    })
}

pub(crate) fn parse_tier(v: &str) -> Option<ServiceTier> {
    let v = v.trim();
    let is = |name: &str| v.eq_ignore_ascii_case(name);
    Some(
        if is("standard") || is("default") || is("auto") || is("on_demand") || v.is_empty() {
            ServiceTier::Standard
        } else if is("batch") {
            ServiceTier::Batch
        } else if is("flex") {
            ServiceTier::Flex
        } else if is("priority") || is("scale") {
            ServiceTier::Priority
        } else {
            return None;
        },
    )
}

/// Copies `src` into `dst`, reusing its allocation.
pub(crate) fn set_str(dst: &mut String, src: &str) {
    dst.clear();
    dst.push_str(src);
}

/// Sets an optional string, reusing the allocation when both are present.
pub(crate) fn set_opt(dst: &mut Option<String>, src: Option<&str>) {
    match (dst.as_mut(), src) {
        (Some(d), Some(s)) => set_str(d, s),
        (_, None) => *dst = None,
        (None, Some(s)) => *dst = Some(s.to_owned()),
    }
}

/// A reusable record with neutral values.
pub(crate) fn blank_record() -> UsageRecord {
    UsageRecord::call(
        DateTime::<Utc>::UNIX_EPOCH,
        None,
        "",
        TokenCounts::default(),
    )
}

/// Resets everything except the string allocations (overwritten by the caller).
pub(crate) fn reset(rec: &mut UsageRecord) {
    rec.tokens = TokenCounts::default();
    rec.latency_ms = None;
    rec.status = Status::Ok;
    rec.service_tier = ServiceTier::Standard;
    rec.prompt_hash = None;
    rec.prefix_hash = None;
    rec.prefix_tokens = None;
    rec.attempt = None;
    rec.reported_cost_usd = None;
    rec.calls = 1;
    rec.aggregate = false;
}

pub(crate) struct JsonlHandler {
    rec: UsageRecord,
}

impl Default for JsonlHandler {
    fn default() -> Self {
        JsonlHandler {
            rec: blank_record(),
        }
    }
}

impl JsonHandler for JsonlHandler {
    fn value(
        &mut self,
        text: &str,
        _loc: &mut Locator<'_>,
        out: &mut dyn Out,
    ) -> Result<(), SkipReason> {
        let l = match super::flat::parse(text) {
            Some(l) => l,
            None => serde_json::from_str::<ApexLine<'_>>(text).map_err(|e| SkipReason::json(&e))?,
        };
        let timestamp = l
            .timestamp
            .as_ref()
            .ok_or(SkipReason::MissingField("timestamp"))?
            .resolve()?;
        let model = l
            .model
            .as_deref()
            .filter(|m| !m.is_empty())
            .ok_or(SkipReason::MissingField("model"))?;
        let status = match l.status.as_deref() {
            None => Status::Ok,
            Some(s) => parse_status(s).ok_or_else(|| SkipReason::InvalidField {
                field: "status",
                value: s.to_owned(),
            })?,
        };
        let service_tier = match l.service_tier.as_deref() {
            None => ServiceTier::Standard,
            Some(s) => parse_tier(s).ok_or_else(|| SkipReason::InvalidField {
                field: "service_tier",
                value: s.to_owned(),
            })?,
        };
        let hash = |h: Option<HashField>, field| match h {
            None => Ok(None),
            Some(HashField(Ok(v))) => Ok(Some(v)),
            Some(HashField(Err(value))) => Err(SkipReason::InvalidField { field, value }),
        };
        let calls = match l.calls {
            Some(0) => {
                return Err(SkipReason::InvalidField {
                    field: "calls",
                    value: "0".to_owned(),
                });
            }
            c => c.unwrap_or(1),
        };
        let rec = &mut self.rec;
        rec.timestamp = timestamp;
        set_opt(&mut rec.provider, l.provider.as_deref());
        set_str(&mut rec.model, model);
        rec.tokens = TokenCounts {
            input_uncached: l.input_tokens,
            cache_read: l.cache_read_tokens,
            cache_write_5m: l.cache_write_5m_tokens,
            cache_write_1h: l.cache_write_1h_tokens,
            output: l.output_tokens,
            reasoning: l.reasoning_tokens,
        };
        rec.latency_ms = l.latency_ms;
        rec.status = status;
        rec.service_tier = service_tier;
        set_opt(&mut rec.request_id, l.request_id.as_deref());
        set_opt(&mut rec.tags.user, l.user.as_deref());
        set_opt(&mut rec.tags.feature, l.feature.as_deref());
        set_opt(&mut rec.tags.endpoint, l.endpoint.as_deref());
        set_opt(&mut rec.tags.environment, l.environment.as_deref());
        rec.prompt_hash = hash(l.prompt_hash, "prompt_hash")?;
        rec.prefix_hash = hash(l.prefix_hash, "prefix_hash")?;
        rec.prefix_tokens = l.prefix_tokens;
        rec.attempt = l.attempt;
        rec.reported_cost_usd = l.cost_usd;
        rec.calls = calls;
        rec.aggregate = l.aggregate.unwrap_or(false);
        let key = l.request_id.as_deref().map(|id| id_hash(&[id]));
        out.emit(rec, key);
        Ok(())
    }
}

/// A column of the CSV schema.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Col {
    Timestamp,
    Provider,
    Model,
    Input,
    CacheRead,
    CacheWrite5m,
    CacheWrite1h,
    Output,
    Reasoning,
    Latency,
    Status,
    Tier,
    RequestId,
    User,
    Feature,
    Endpoint,
    Environment,
    PromptHash,
    PrefixHash,
    PrefixTokens,
    Attempt,
    Cost,
    Calls,
    Aggregate,
    Unknown,
}

fn column(name: &str) -> Col {
    match name.trim().to_ascii_lowercase().as_str() {
        "timestamp" => Col::Timestamp,
        "provider" => Col::Provider,
        "model" => Col::Model,
        "input_tokens" => Col::Input,
        "cache_read_tokens" => Col::CacheRead,
        "cache_write_5m_tokens" => Col::CacheWrite5m,
        "cache_write_1h_tokens" => Col::CacheWrite1h,
        "output_tokens" => Col::Output,
        "reasoning_tokens" => Col::Reasoning,
        "latency_ms" => Col::Latency,
        "status" => Col::Status,
        "service_tier" => Col::Tier,
        "request_id" => Col::RequestId,
        "user" => Col::User,
        "feature" => Col::Feature,
        "endpoint" => Col::Endpoint,
        "environment" => Col::Environment,
        "prompt_hash" => Col::PromptHash,
        "prefix_hash" => Col::PrefixHash,
        "prefix_tokens" => Col::PrefixTokens,
        "attempt" => Col::Attempt,
        "cost_usd" => Col::Cost,
        "calls" => Col::Calls,
        "aggregate" => Col::Aggregate,
        _ => Col::Unknown,
    }
}

/// Imports the CSV schema: a header row naming the columns (any order,
/// unknown columns ignored), then one record per row.
pub(crate) fn run_csv<R: BufRead>(reader: R, out: &mut Emitter<'_>) -> Result<(), ImportError> {
    let mut csv = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(true)
        .from_reader(reader);
    let header = csv.byte_headers().map_err(ImportError::CsvHeader)?.clone();
    let mut cols: Vec<Col> = header
        .iter()
        .map(|h| column(&String::from_utf8_lossy(h)))
        .collect();
    if let Some(first) = cols.first_mut()
        && *first == Col::Unknown
        && let Some(h) = header.get(0)
    {
        // A UTF-8 byte-order mark before the first column name.
        *first = column(&String::from_utf8_lossy(
            h.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(h),
        ));
    }
    let mut row = csv::ByteRecord::new();
    let mut rec = blank_record();
    loop {
        let line = csv.position().line() + u64::from(csv.position().line() == 0);
        match csv.read_byte_record(&mut row) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                if let csv::ErrorKind::Io(_) = e.kind() {
                    return Err(match e.into_kind() {
                        csv::ErrorKind::Io(io) => ImportError::Io(io),
                        _ => ImportError::Io(std::io::Error::other("CSV read error")),
                    });
                }
                let line = e.position().map_or(line, |p| p.line());
                out.skip(line, SkipReason::InvalidCsv(e.to_string()));
                continue;
            }
        }
        let line = row.position().map_or(line, |p| p.line());
        out.report.lines = line;
        out.report.bytes = csv.position().byte();
        if row.len() == 1
            && row
                .get(0)
                .is_some_and(|f| f.iter().all(u8::is_ascii_whitespace))
        {
            continue;
        }
        if row.len() != cols.len() {
            out.skip(
                line,
                SkipReason::FieldCount {
                    expected: cols.len(),
                    found: row.len(),
                },
            );
            continue;
        }
        match csv_record(&cols, &row, &mut rec) {
            Ok(()) => {
                let key = rec.request_id.as_deref().map(|id| id_hash(&[id]));
                out.emit(&rec, key);
            }
            Err(reason) => out.skip(line, reason),
        }
    }
    out.report.bytes = csv.position().byte();
    Ok(())
}

fn csv_record(
    cols: &[Col],
    row: &csv::ByteRecord,
    rec: &mut UsageRecord,
) -> Result<(), SkipReason> {
    reset(rec);
    let mut timestamp = None;
    let mut model = None;
    rec.provider = None;
    rec.request_id = None;
    rec.tags = Tags::default();
    for (col, raw) in cols.iter().zip(row.iter()) {
        let v = std::str::from_utf8(raw)
            .map_err(|_| SkipReason::NotUtf8)?
            .trim();
        if v.is_empty() || *col == Col::Unknown {
            continue;
        }
        let bad = |field: &'static str| SkipReason::InvalidField {
            field,
            value: v.to_owned(),
        };
        let int = |field| v.parse::<u64>().map_err(|_| bad(field));
        let small = |field| v.parse::<u32>().map_err(|_| bad(field));
        match col {
            Col::Timestamp => {
                timestamp = Some(
                    parse_timestamp(v)
                        .or_else(|| v.parse::<i64>().ok().and_then(from_epoch_guess))
                        .ok_or_else(|| bad("timestamp"))?,
                )
            }
            Col::Provider => rec.provider = Some(v.to_owned()),
            Col::Model => model = Some(v),
            Col::Input => rec.tokens.input_uncached = int("input_tokens")?,
            Col::CacheRead => rec.tokens.cache_read = int("cache_read_tokens")?,
            Col::CacheWrite5m => rec.tokens.cache_write_5m = int("cache_write_5m_tokens")?,
            Col::CacheWrite1h => rec.tokens.cache_write_1h = int("cache_write_1h_tokens")?,
            Col::Output => rec.tokens.output = int("output_tokens")?,
            Col::Reasoning => rec.tokens.reasoning = int("reasoning_tokens")?,
            Col::Latency => rec.latency_ms = Some(small("latency_ms")?),
            Col::Status => rec.status = parse_status(v).ok_or_else(|| bad("status"))?,
            Col::Tier => rec.service_tier = parse_tier(v).ok_or_else(|| bad("service_tier"))?,
            Col::RequestId => rec.request_id = Some(v.to_owned()),
            Col::User => rec.tags.user = Some(v.to_owned()),
            Col::Feature => rec.tags.feature = Some(v.to_owned()),
            Col::Endpoint => rec.tags.endpoint = Some(v.to_owned()),
            Col::Environment => rec.tags.environment = Some(v.to_owned()),
            Col::PromptHash => {
                rec.prompt_hash = Some(parse_hash(v).ok_or_else(|| bad("prompt_hash"))?)
            }
            Col::PrefixHash => {
                rec.prefix_hash = Some(parse_hash(v).ok_or_else(|| bad("prefix_hash"))?)
            }
            Col::PrefixTokens => rec.prefix_tokens = Some(small("prefix_tokens")?),
            Col::Attempt => rec.attempt = Some(small("attempt")?),
            Col::Cost => {
                rec.reported_cost_usd = Some(
                    v.parse::<f64>()
                        .ok()
                        .filter(|c| c.is_finite())
                        .ok_or_else(|| bad("cost_usd"))?,
                )
            }
            Col::Calls => {
                rec.calls =
                    small("calls").and_then(|c| if c == 0 { Err(bad("calls")) } else { Ok(c) })?
            }
            Col::Aggregate => {
                rec.aggregate = match v {
                    "true" | "1" => true,
                    "false" | "0" => false,
                    _ => return Err(bad("aggregate")),
                }
            }
            Col::Unknown => {}
        }
    }
    rec.timestamp = timestamp.ok_or(SkipReason::MissingField("timestamp"))?;
    set_str(
        &mut rec.model,
        model.ok_or(SkipReason::MissingField("model"))?,
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_parse_from_hex() {
        assert_eq!(parse_hash("00000000000000ff"), Some(255));
        assert_eq!(parse_hash("0xFF"), Some(255));
        assert_eq!(parse_hash("xyz"), None);
        assert_eq!(parse_hash("1234567890abcdef0"), None);
    }

    #[test]
    fn every_csv_header_name_is_a_known_column() {
        for name in super::super::CSV_HEADER {
            assert_ne!(column(name), Col::Unknown, "{name}");
        }
    }
}
