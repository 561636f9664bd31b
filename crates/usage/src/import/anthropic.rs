//! Anthropic Admin API usage report (`GET /v1/organizations/usage_report/messages`):
//! pages `{"data": [bucket...], "has_more", "next_page"}`, buckets
//! `{"starting_at", "ending_at", "results": [...]}`, as one JSON document,
//! one page or bucket per line, or a top-level array.
//!
//! Each result becomes one AGGREGATE record (`aggregate: true`),
//! timestamped at the bucket start, with no latency. The report gives NO
//! request count, so `calls` is 1 with the aggregate flag set: the record
//! must never be read as one call, and per-call figures (tiered prices,
//! oversized prompts) cannot be derived from it. Cache: the counts are
//! beside each other: `uncached_input_tokens` (uncached),
//! `cache_read_input_tokens` (read), `cache_creation.ephemeral_5m_input_tokens`
//! and `cache_creation.ephemeral_1h_input_tokens` (writes). `service_tier`
//! `batch`/`priority` set the service tier; `workspace_id` is the feature
//! tag. A result seen twice (same bucket, model, workspace, key, tier,
//! context window) is a duplicate. Results with no tokens are ignored.

use super::apex::{blank_record, reset, set_opt, set_str};
use super::driver::{JsonHandler, Locator, Out};
use super::fields::{Text, id_hash, parse_timestamp};
use super::{Format, SkipReason};
use crate::record::{ServiceTier, TokenCounts, UsageRecord};
use serde::Deserialize;
use serde_json::value::RawValue;

#[derive(Deserialize)]
struct Container<'a> {
    #[serde(borrow, default)]
    data: Option<Vec<&'a RawValue>>,
    #[serde(borrow, default)]
    starting_at: Option<Text<'a>>,
    #[serde(borrow, default)]
    results: Option<Vec<&'a RawValue>>,
}

#[derive(Deserialize)]
struct Result<'a> {
    #[serde(default)]
    uncached_input_tokens: Option<u64>,
    #[serde(default)]
    cache_read_input_tokens: u64,
    #[serde(default)]
    cache_creation: Option<CacheCreation>,
    #[serde(default)]
    output_tokens: u64,
    #[serde(borrow, default)]
    model: Option<Text<'a>>,
    #[serde(borrow, default)]
    workspace_id: Option<Text<'a>>,
    #[serde(borrow, default)]
    api_key_id: Option<Text<'a>>,
    #[serde(borrow, default)]
    service_tier: Option<Text<'a>>,
    #[serde(borrow, default)]
    context_window: Option<Text<'a>>,
}

#[derive(Deserialize, Default)]
struct CacheCreation {
    #[serde(default)]
    ephemeral_5m_input_tokens: u64,
    #[serde(default)]
    ephemeral_1h_input_tokens: u64,
}

#[derive(Default)]
pub(crate) struct Handler;

impl JsonHandler for Handler {
    fn value(
        &mut self,
        text: &str,
        loc: &mut Locator<'_>,
        out: &mut dyn Out,
    ) -> std::result::Result<(), SkipReason> {
        let c: Container<'_> = serde_json::from_str(text).map_err(|e| SkipReason::json(&e))?;
        if let Some(items) = c.data {
            for item in items {
                let line = loc.line_of(item.get());
                if let Err(reason) = self.value(item.get(), loc, out) {
                    out.skip(line, reason);
                }
            }
            return Ok(());
        }
        let Some(results) = c.results else {
            return Err(SkipReason::WrongShape(Format::AnthropicUsageReport));
        };
        let start = c
            .starting_at
            .ok_or(SkipReason::MissingField("starting_at"))?;
        let timestamp = parse_timestamp(&start).ok_or_else(|| SkipReason::InvalidField {
            field: "starting_at",
            value: start.to_string(),
        })?;
        let mut rec = blank_record();
        for item in results {
            let line = loc.line_of(item.get());
            if let Err(reason) = result(item.get(), timestamp, &start, &mut rec, out) {
                out.skip(line, reason);
            }
        }
        Ok(())
    }
}

fn result(
    text: &str,
    timestamp: chrono::DateTime<chrono::Utc>,
    start: &str,
    rec: &mut UsageRecord,
    out: &mut dyn Out,
) -> std::result::Result<(), SkipReason> {
    let r: Result<'_> = serde_json::from_str(text).map_err(|e| SkipReason::json(&e))?;
    let uncached = r
        .uncached_input_tokens
        .ok_or(SkipReason::MissingField("uncached_input_tokens"))?;
    let cc = r.cache_creation.unwrap_or_default();
    let tokens = TokenCounts {
        input_uncached: uncached,
        cache_read: r.cache_read_input_tokens,
        cache_write_5m: cc.ephemeral_5m_input_tokens,
        cache_write_1h: cc.ephemeral_1h_input_tokens,
        output: r.output_tokens,
        reasoning: 0,
    };
    if tokens.total() == 0 {
        out.ignore();
        return Ok(());
    }
    reset(rec);
    rec.timestamp = timestamp;
    rec.provider = Some("anthropic".to_owned());
    set_str(
        &mut rec.model,
        r.model
            .as_deref()
            .filter(|m| !m.is_empty())
            .unwrap_or("unknown"),
    );
    rec.tokens = tokens;
    rec.aggregate = true;
    rec.calls = 1;
    rec.service_tier = match r.service_tier.as_deref() {
        Some("batch") => ServiceTier::Batch,
        Some("priority") => ServiceTier::Priority,
        _ => ServiceTier::Standard,
    };
    set_opt(&mut rec.tags.feature, r.workspace_id.as_deref());
    rec.request_id = None;
    let key = id_hash(&[
        "anthropic-bucket",
        start,
        &rec.model,
        r.workspace_id.as_deref().unwrap_or(""),
        r.api_key_id.as_deref().unwrap_or(""),
        r.service_tier.as_deref().unwrap_or(""),
        r.context_window.as_deref().unwrap_or(""),
    ]);
    out.emit(rec, Some(key));
    Ok(())
}
