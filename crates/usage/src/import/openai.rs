//! OpenAI organization usage API, completions
//! (`GET /v1/organization/usage/completions`): pages
//! `{"object": "page", "data": [bucket...]}`, buckets
//! `{"object": "bucket", "start_time", "end_time", "results": [...]}`, as one
//! JSON document, one page or bucket per line, or a top-level array.
//!
//! Each result becomes one AGGREGATE record (`aggregate: true`,
//! `calls` = `num_model_requests`), timestamped at the bucket start, with no
//! latency. Cache: `input_tokens` INCLUDES `input_cached_tokens`, so
//! uncached = `input_tokens - input_cached_tokens`; the API reports no
//! cache writes. Audio tokens are not counted (Apex prices text tokens).
//! `model` is `"unknown"` when the export was not grouped by model;
//! `batch: true` sets the batch service tier; `user_id` is the user tag and
//! `project_id` the feature tag. A result seen twice (same bucket, model,
//! project, user, key and batch flag) is a duplicate. Results with no
//! requests and no tokens are ignored.

use super::apex::{blank_record, reset, set_opt, set_str};
use super::driver::{JsonHandler, Locator, Out};
use super::fields::{Text, from_epoch_guess, id_hash};
use super::{Format, SkipReason};
use crate::record::{ServiceTier, TokenCounts, UsageRecord};
use serde::Deserialize;
use serde_json::value::RawValue;

/// A page, a bucket, or a bare result: whichever fields are present.
#[derive(Deserialize)]
struct Container<'a> {
    #[serde(borrow, default)]
    data: Option<Vec<&'a RawValue>>,
    #[serde(default)]
    start_time: Option<i64>,
    #[serde(borrow, default)]
    results: Option<Vec<&'a RawValue>>,
    #[serde(borrow, default)]
    result: Option<Vec<&'a RawValue>>,
}

#[derive(Deserialize)]
struct Result<'a> {
    #[serde(default)]
    input_tokens: Option<u64>,
    #[serde(default)]
    output_tokens: u64,
    #[serde(default)]
    input_cached_tokens: u64,
    #[serde(default)]
    num_model_requests: u64,
    #[serde(borrow, default)]
    model: Option<Text<'a>>,
    #[serde(borrow, default)]
    project_id: Option<Text<'a>>,
    #[serde(borrow, default)]
    user_id: Option<Text<'a>>,
    #[serde(borrow, default)]
    api_key_id: Option<Text<'a>>,
    #[serde(default)]
    batch: Option<bool>,
    #[serde(borrow, default)]
    service_tier: Option<Text<'a>>,
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
        let mut rec = blank_record();
        if let Some(items) = c.data {
            for item in items {
                let line = loc.line_of(item.get());
                if let Err(reason) = self.value(item.get(), loc, out) {
                    out.skip(line, reason);
                }
            }
            return Ok(());
        }
        let Some(results) = c.results.or(c.result) else {
            return Err(SkipReason::WrongShape(Format::OpenAiUsageBuckets));
        };
        let start = c.start_time.ok_or(SkipReason::MissingField("start_time"))?;
        let timestamp = from_epoch_guess(start).ok_or_else(|| SkipReason::InvalidField {
            field: "start_time",
            value: start.to_string(),
        })?;
        for item in results {
            let line = loc.line_of(item.get());
            if let Err(reason) = result(item.get(), timestamp, start, &mut rec, out) {
                out.skip(line, reason);
            }
        }
        Ok(())
    }
}

fn result(
    text: &str,
    timestamp: chrono::DateTime<chrono::Utc>,
    start: i64,
    rec: &mut UsageRecord,
    out: &mut dyn Out,
) -> std::result::Result<(), SkipReason> {
    let r: Result<'_> = serde_json::from_str(text).map_err(|e| SkipReason::json(&e))?;
    let total = r
        .input_tokens
        .ok_or(SkipReason::MissingField("input_tokens"))?;
    if r.input_cached_tokens > total {
        return Err(SkipReason::CacheExceedsInput {
            cached: r.input_cached_tokens,
            total,
        });
    }
    if r.num_model_requests == 0 && total == 0 && r.output_tokens == 0 {
        out.ignore();
        return Ok(());
    }
    reset(rec);
    rec.timestamp = timestamp;
    rec.provider = Some("openai".to_owned());
    set_str(
        &mut rec.model,
        r.model
            .as_deref()
            .filter(|m| !m.is_empty())
            .unwrap_or("unknown"),
    );
    rec.tokens = TokenCounts {
        input_uncached: total - r.input_cached_tokens,
        cache_read: r.input_cached_tokens,
        output: r.output_tokens,
        ..TokenCounts::default()
    };
    rec.calls = u32::try_from(r.num_model_requests.max(1)).unwrap_or(u32::MAX);
    rec.aggregate = true;
    rec.service_tier = if r.batch == Some(true) {
        ServiceTier::Batch
    } else {
        match r.service_tier.as_deref() {
            Some("flex") => ServiceTier::Flex,
            Some("priority" | "scale") => ServiceTier::Priority,
            Some("batch") => ServiceTier::Batch,
            _ => ServiceTier::Standard,
        }
    };
    set_opt(&mut rec.tags.user, r.user_id.as_deref());
    set_opt(&mut rec.tags.feature, r.project_id.as_deref());
    rec.request_id = None;
    let batch = if rec.service_tier == ServiceTier::Batch {
        "batch"
    } else {
        ""
    };
    let key = id_hash(&[
        "openai-bucket",
        &start.to_string(),
        &rec.model,
        r.project_id.as_deref().unwrap_or(""),
        r.user_id.as_deref().unwrap_or(""),
        r.api_key_id.as_deref().unwrap_or(""),
        batch,
    ]);
    out.emit(rec, Some(key));
    Ok(())
}
