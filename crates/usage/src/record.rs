//! The normalised usage record.
//!
//! Token kinds are kept apart because each is priced differently:
//! `input_uncached` never includes cache reads or writes, whatever the
//! source counted (importers normalise it); `output` includes reasoning
//! tokens, and `reasoning` says how many of them were reasoning.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Token counts of one call (or of an aggregate bucket).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenCounts {
    /// Input tokens that were neither read from nor written to a prompt cache.
    pub input_uncached: u64,
    /// Input tokens read from a prompt cache.
    pub cache_read: u64,
    /// Input tokens written to a cache with a 5-minute lifetime (Anthropic's default; OpenAI's implicit writes count here).
    pub cache_write_5m: u64,
    /// Input tokens written to a cache with a 1-hour lifetime.
    pub cache_write_1h: u64,
    /// Output tokens, reasoning included.
    pub output: u64,
    /// Of `output`, how many were reasoning tokens.
    pub reasoning: u64,
}

impl TokenCounts {
    /// Every input token, whichever way it was billed.
    pub fn input_total(&self) -> u64 {
        self.input_uncached + self.cache_read + self.cache_write_5m + self.cache_write_1h
    }

    /// Input plus output.
    pub fn total(&self) -> u64 {
        self.input_total() + self.output
    }
}

/// Outcome of a call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    #[default]
    Ok,
    /// Rate limited (HTTP 429).
    RateLimited,
    /// Any other failure; tokens may still have been billed.
    Error,
}

/// How the call was served: batch and flex tiers are cheaper and slower.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceTier {
    #[default]
    Standard,
    Batch,
    Flex,
    Priority,
}

/// Who and what a call was for. All optional: sources carry different tags.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tags {
    pub user: Option<String>,
    pub feature: Option<String>,
    pub endpoint: Option<String>,
    pub environment: Option<String>,
}

/// One LLM call, normalised. When `aggregate` is set (or `calls > 1`) the
/// record is an aggregate (a usage-API bucket) and must not be presented as
/// a single call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UsageRecord {
    /// Start of the call (or of the bucket).
    pub timestamp: DateTime<Utc>,
    /// Provider id as in the price catalogue when known (`openai`, `anthropic`, ...).
    pub provider: Option<String>,
    /// Model string as the source reported it.
    pub model: String,
    pub tokens: TokenCounts,
    /// End-to-end latency; `None` when the source does not say (aggregates).
    pub latency_ms: Option<u32>,
    pub status: Status,
    pub service_tier: ServiceTier,
    /// Provider or gateway request id, used for de-duplication.
    pub request_id: Option<String>,
    pub tags: Tags,
    /// Hash of the whole prompt (exact-duplicate detection).
    pub prompt_hash: Option<u64>,
    /// Hash of the prompt's shared prefix (system prompt, tools), and its length in tokens.
    pub prefix_hash: Option<u64>,
    pub prefix_tokens: Option<u32>,
    /// 1-based attempt number when the caller retried (2 and above are retries).
    pub attempt: Option<u32>,
    /// Cost the provider or gateway reported, kept beside the computed one.
    pub reported_cost_usd: Option<f64>,
    /// Number of calls this record stands for: 1 for a call, more for an aggregate bucket.
    pub calls: u32,
    /// True for an aggregate (usage-API bucket), even when `calls` is 1:
    /// some sources (Anthropic's usage report) give no request count, and
    /// their buckets then carry `calls: 1` with this flag set.
    #[serde(default)]
    pub aggregate: bool,
}

impl UsageRecord {
    /// A single successful call with no tags, for building records in code and tests.
    pub fn call(
        timestamp: DateTime<Utc>,
        provider: Option<&str>,
        model: &str,
        tokens: TokenCounts,
    ) -> Self {
        UsageRecord {
            timestamp,
            provider: provider.map(str::to_owned),
            model: model.to_owned(),
            tokens,
            latency_ms: None,
            status: Status::Ok,
            service_tier: ServiceTier::Standard,
            request_id: None,
            tags: Tags::default(),
            prompt_hash: None,
            prefix_hash: None,
            prefix_tokens: None,
            attempt: None,
            reported_cost_usd: None,
            calls: 1,
            aggregate: false,
        }
    }

    /// True when this record is an aggregate of several calls.
    pub fn is_aggregate(&self) -> bool {
        self.aggregate || self.calls > 1
    }
}
