//! LiteLLM proxy spend logs: rows of `LiteLLM_SpendLogs` as returned by the
//! `/spend/logs` API (a JSON array), `/spend/logs/v2` (`{"data": [...]}`),
//! or one row per line.
//!
//! Fields used: `request_id` (de-duplication), `startTime`/`endTime`
//! (timestamp, latency), `model`, `custom_llm_provider` (provider),
//! `prompt_tokens`, `completion_tokens`, `spend` (reported cost),
//! `status` (`success`/`failure`), `cache_hit`, `user`, `end_user`,
//! `team_id`, `call_type`, and `metadata` (an object or a JSON string) with
//! `usage_object` (or the older `additional_usage_values`),
//! `user_api_key_*`, `spend_logs_metadata` and `error_information`.
//!
//! Cache: LiteLLM normalises usage to OpenAI's convention, so
//! `prompt_tokens` INCLUDES cache reads (`cache_read_input_tokens`, or
//! `prompt_tokens_details.cached_tokens`) and, in current LiteLLM, cache
//! writes (`cache_creation_input_tokens`, split by
//! `prompt_tokens_details.cache_creation_token_details`). Uncached =
//! prompt - read - write; when that would be negative (older LiteLLM added
//! only reads), uncached = prompt - read; when even that is negative,
//! `prompt_tokens` is taken as uncached. Reasoning tokens come from
//! `completion_tokens_details.reasoning_tokens`.
//!
//! `cache_hit: true` means LiteLLM answered from its own response cache: no
//! provider call was billed, so the record keeps its tags and latency with
//! zero tokens and zero reported cost.
//!
//! Tags: user = `end_user`, else `user`, else `metadata.user_api_key_user_id`;
//! feature = `spend_logs_metadata.feature`, else the first request tag, else
//! the team alias, else `team_id`; endpoint = `call_type`; environment =
//! `spend_logs_metadata.environment`. A failure whose error code is 429 is
//! rate limited.

use super::apex::{blank_record, reset, set_opt, set_str};
use super::driver::{JsonHandler, Locator, Out};
use super::fields::{
    Lenient, Text, catalogue_provider_id, id_hash, latency_ms, lenient_bool, parse_timestamp,
};
use super::{Format, SkipReason};
use crate::record::{Status, TokenCounts};
use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

#[derive(Deserialize)]
struct Row<'a> {
    #[serde(borrow, default)]
    data: Option<Vec<&'a RawValue>>,
    #[serde(borrow, default)]
    request_id: Option<Text<'a>>,
    #[serde(borrow, default)]
    call_type: Option<Text<'a>>,
    #[serde(default)]
    spend: Option<Lenient>,
    #[serde(default)]
    prompt_tokens: Option<Lenient>,
    #[serde(default)]
    completion_tokens: Option<Lenient>,
    #[serde(rename = "startTime", borrow, default)]
    start_time: Option<Text<'a>>,
    #[serde(rename = "endTime", borrow, default)]
    end_time: Option<Text<'a>>,
    #[serde(borrow, default)]
    model: Option<Text<'a>>,
    #[serde(borrow, default)]
    custom_llm_provider: Option<Text<'a>>,
    #[serde(borrow, default)]
    user: Option<Text<'a>>,
    #[serde(borrow, default)]
    end_user: Option<Text<'a>>,
    #[serde(borrow, default)]
    team_id: Option<Text<'a>>,
    #[serde(default)]
    cache_hit: Option<Value>,
    #[serde(default)]
    request_tags: Option<Value>,
    #[serde(borrow, default)]
    status: Option<Text<'a>>,
    #[serde(default)]
    metadata: Option<Value>,
}

/// The parts of `metadata` Apex uses.
#[derive(Deserialize, Default)]
struct Metadata {
    #[serde(default)]
    usage_object: Option<UsageObject>,
    #[serde(default)]
    additional_usage_values: Option<UsageObject>,
    #[serde(default)]
    user_api_key_user_id: Option<String>,
    #[serde(default)]
    user_api_key_team_alias: Option<String>,
    #[serde(default)]
    spend_logs_metadata: Option<Value>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    error_information: Option<ErrorInformation>,
}

#[derive(Deserialize, Default)]
struct UsageObject {
    #[serde(default)]
    cache_read_input_tokens: Option<Lenient>,
    #[serde(default)]
    cache_creation_input_tokens: Option<Lenient>,
    #[serde(default)]
    prompt_tokens_details: Option<PromptDetails>,
    #[serde(default)]
    completion_tokens_details: Option<CompletionDetails>,
}

#[derive(Deserialize, Default)]
struct PromptDetails {
    #[serde(default)]
    cached_tokens: Option<Lenient>,
    #[serde(default)]
    cache_creation_tokens: Option<Lenient>,
    #[serde(default)]
    cache_creation_token_details: Option<CreationDetails>,
}

#[derive(Deserialize, Default)]
struct CreationDetails {
    #[serde(default)]
    ephemeral_1h_input_tokens: Option<Lenient>,
}

#[derive(Deserialize, Default)]
struct CompletionDetails {
    #[serde(default)]
    reasoning_tokens: Option<Lenient>,
}

#[derive(Deserialize, Default)]
struct ErrorInformation {
    #[serde(default)]
    error_code: Option<Value>,
}

fn count(v: Option<Lenient>, field: &'static str) -> Result<u64, SkipReason> {
    match v {
        None => Ok(0),
        Some(n) => n.count().ok_or_else(|| SkipReason::InvalidField {
            field,
            value: n.0.to_string(),
        }),
    }
}

/// Normalised tokens from LiteLLM's OpenAI-style counts (see module docs).
fn tokens(prompt: u64, completion: u64, usage: &UsageObject) -> Result<TokenCounts, SkipReason> {
    let details = usage.prompt_tokens_details.as_ref();
    let read = match count(usage.cache_read_input_tokens, "cache_read_input_tokens")? {
        0 => count(details.and_then(|d| d.cached_tokens), "cached_tokens")?,
        n => n,
    };
    let write = match count(
        usage.cache_creation_input_tokens,
        "cache_creation_input_tokens",
    )? {
        0 => count(
            details.and_then(|d| d.cache_creation_tokens),
            "cache_creation_tokens",
        )?,
        n => n,
    };
    let split = details.and_then(|d| d.cache_creation_token_details.as_ref());
    let w1 = count(
        split.and_then(|s| s.ephemeral_1h_input_tokens),
        "ephemeral_1h_input_tokens",
    )?
    .min(write);
    let uncached = prompt
        .checked_sub(read + write)
        .or_else(|| prompt.checked_sub(read))
        .unwrap_or(prompt);
    let reasoning = count(
        usage
            .completion_tokens_details
            .as_ref()
            .and_then(|d| d.reasoning_tokens),
        "reasoning_tokens",
    )?;
    Ok(TokenCounts {
        input_uncached: uncached,
        cache_read: read,
        cache_write_5m: write - w1,
        cache_write_1h: w1,
        output: completion,
        reasoning: reasoning.min(completion),
    })
}

fn metadata(v: Option<Value>) -> Metadata {
    match v {
        Some(Value::String(s)) => serde_json::from_str(&s).unwrap_or_default(),
        Some(v @ Value::Object(_)) => serde_json::from_value(v).unwrap_or_default(),
        _ => Metadata::default(),
    }
}

fn text_of<'v>(v: Option<&'v Value>, key: &str) -> Option<&'v str> {
    v.and_then(|v| v.get(key))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

fn first_tag(tags: Option<&Value>) -> Option<String> {
    match tags? {
        Value::Array(a) => a
            .iter()
            .find_map(|t| t.as_str().filter(|s| !s.is_empty()).map(str::to_owned)),
        Value::String(s) => serde_json::from_str::<Vec<String>>(s)
            .ok()?
            .into_iter()
            .find(|s| !s.is_empty()),
        _ => None,
    }
}

#[derive(Default)]
pub(crate) struct Handler;

impl JsonHandler for Handler {
    fn value(
        &mut self,
        text: &str,
        loc: &mut Locator<'_>,
        out: &mut dyn Out,
    ) -> Result<(), SkipReason> {
        let row: Row<'_> = serde_json::from_str(text).map_err(|e| SkipReason::json(&e))?;
        if let Some(items) = row.data {
            for item in items {
                let line = loc.line_of(item.get());
                if let Err(reason) = self.value(item.get(), loc, out) {
                    out.skip(line, reason);
                }
            }
            return Ok(());
        }
        if row.request_id.is_none() && row.start_time.is_none() && row.model.is_none() {
            return Err(SkipReason::WrongShape(Format::LiteLlmSpendLogs));
        }
        let start_text = row
            .start_time
            .as_deref()
            .ok_or(SkipReason::MissingField("startTime"))?;
        let start = parse_timestamp(start_text).ok_or_else(|| SkipReason::InvalidField {
            field: "startTime",
            value: start_text.to_owned(),
        })?;
        let model = row
            .model
            .as_deref()
            .filter(|m| !m.is_empty())
            .ok_or(SkipReason::MissingField("model"))?;
        let meta = metadata(row.metadata);
        let usage = meta
            .usage_object
            .as_ref()
            .or(meta.additional_usage_values.as_ref());
        let prompt = count(row.prompt_tokens, "prompt_tokens")?;
        let completion = count(row.completion_tokens, "completion_tokens")?;
        let cache_hit = row
            .cache_hit
            .as_ref()
            .and_then(lenient_bool)
            .unwrap_or(false);

        let mut rec = blank_record();
        reset(&mut rec);
        rec.timestamp = start;
        set_str(&mut rec.model, model);
        rec.provider = row
            .custom_llm_provider
            .as_deref()
            .filter(|p| !p.is_empty())
            .map(catalogue_provider_id);
        rec.tokens = if cache_hit {
            TokenCounts::default()
        } else {
            tokens(prompt, completion, usage.unwrap_or(&UsageObject::default()))?
        };
        rec.latency_ms = row
            .end_time
            .as_deref()
            .and_then(parse_timestamp)
            .and_then(|end| latency_ms(start, end));
        let failed = row.status.as_deref().or(meta.status.as_deref()) == Some("failure");
        let code = meta
            .error_information
            .as_ref()
            .and_then(|e| e.error_code.as_ref())
            .map(|c| match c {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            });
        rec.status = match (failed, code.as_deref()) {
            (true, Some("429")) => Status::RateLimited,
            (true, _) => Status::Error,
            _ => Status::Ok,
        };
        rec.reported_cost_usd = if cache_hit {
            Some(0.0)
        } else {
            row.spend.map(|s| s.0).filter(|s| s.is_finite())
        };
        set_opt(
            &mut rec.request_id,
            row.request_id.as_deref().filter(|r| !r.is_empty()),
        );
        let slm = meta.spend_logs_metadata.as_ref();
        let user = row
            .end_user
            .as_deref()
            .filter(|s| !s.is_empty())
            .or(row.user.as_deref().filter(|s| !s.is_empty()))
            .or(meta.user_api_key_user_id.as_deref());
        set_opt(&mut rec.tags.user, user);
        let feature = text_of(slm, "feature")
            .map(str::to_owned)
            .or_else(|| first_tag(row.request_tags.as_ref()))
            .or_else(|| meta.user_api_key_team_alias.clone())
            .or_else(|| {
                row.team_id
                    .as_deref()
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
            });
        rec.tags.feature = feature;
        set_opt(
            &mut rec.tags.endpoint,
            row.call_type.as_deref().filter(|s| !s.is_empty()),
        );
        set_opt(&mut rec.tags.environment, text_of(slm, "environment"));
        let key = rec.request_id.as_deref().map(|id| id_hash(&[id]));
        out.emit(&rec, key);
        Ok(())
    }
}
