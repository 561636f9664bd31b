//! Provider facts beyond prices (`data/providers.toml`): batch API discounts,
//! prompt-cache rules, and the rate limits assumed when none are configured.

use crate::error::TableError;
use serde::{Deserialize, Serialize};

const EMBEDDED: &str = include_str!("../data/providers.toml");

/// A provider's batch API offer.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BatchOffer {
    pub provider: String,
    /// Fraction taken off every token price (0.5 = half price).
    pub discount: f64,
    pub source: String,
}

/// How a provider's prompt cache behaves.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CacheRules {
    #[serde(default)]
    pub provider: String,
    /// Shortest cacheable prefix, in tokens.
    pub min_tokens: u32,
    /// Lifetime of an unused entry; each use refreshes it.
    pub ttl_minutes: u32,
    pub note: String,
    #[serde(default)]
    pub source: Option<String>,
}

/// Where a rate limit comes from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitSource {
    /// Given by the user.
    #[default]
    Configured,
    /// A documented default assumed in the absence of a configured limit.
    Assumed,
}

/// A requests-per-minute and tokens-per-minute limit for a model or a
/// provider (at least one of `provider`, `model` should be set).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    /// Catalogue provider id (`openai`, `anthropic`, ...).
    #[serde(default)]
    pub provider: Option<String>,
    /// Model id (catalogue id or the model string of the data).
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub rpm: Option<u64>,
    /// Input plus output tokens per minute.
    #[serde(default)]
    pub tpm: Option<u64>,
    #[serde(default)]
    pub source: LimitSource,
    /// Where the figure comes from, for assumed limits.
    #[serde(default)]
    pub note: Option<String>,
}

/// The rate limits the capacity analysis checks against.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct RateLimits {
    pub limits: Vec<RateLimit>,
}

impl RateLimits {
    /// No limits at all: capacity reports peaks without a comparison.
    pub fn none() -> Self {
        RateLimits::default()
    }

    /// The assumed per-provider defaults of `data/providers.toml`.
    pub fn assumed_defaults() -> Self {
        ProviderFacts::embedded().assumed_limits()
    }

    /// Adds a limit; configured limits win over assumed ones.
    pub fn with(mut self, limit: RateLimit) -> Self {
        self.limits.push(limit);
        self
    }

    /// The limit for a model: a model match beats a provider match, and a
    /// configured limit beats an assumed one. `model_ids` are the names the
    /// model goes by (catalogue id, the data's model string).
    pub fn lookup(&self, provider_id: &str, model_ids: &[&str]) -> Option<&RateLimit> {
        self.limits
            .iter()
            .filter_map(|l| {
                let provider_ok = l
                    .provider
                    .as_deref()
                    .is_none_or(|p| p.eq_ignore_ascii_case(provider_id));
                let model_match = l
                    .model
                    .as_deref()
                    .map(|m| model_ids.iter().any(|id| id.eq_ignore_ascii_case(m)));
                if !provider_ok
                    || model_match == Some(false)
                    || (l.provider.is_none() && l.model.is_none())
                {
                    return None;
                }
                let score = u8::from(l.source == LimitSource::Configured) * 4
                    + u8::from(model_match == Some(true)) * 2
                    + u8::from(l.provider.is_some());
                Some((score, l))
            })
            .max_by_key(|(score, _)| *score)
            .map(|(_, l)| l)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFacts {
    as_of: String,
    #[serde(default)]
    batch: Vec<BatchOffer>,
    default_cache: CacheRules,
    #[serde(default)]
    cache: Vec<CacheRules>,
    #[serde(default)]
    rate_limit: Vec<RawLimit>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLimit {
    provider: String,
    rpm: u64,
    tpm: u64,
    source: String,
}

/// The provider facts table.
#[derive(Debug, Clone)]
pub struct ProviderFacts {
    pub as_of: String,
    pub batch: Vec<BatchOffer>,
    pub default_cache: CacheRules,
    pub cache: Vec<CacheRules>,
    limits: Vec<RawLimit>,
}

impl ProviderFacts {
    /// The table shipped in `data/providers.toml`.
    pub fn embedded() -> ProviderFacts {
        // The embedded file is part of the source tree and parsed by a unit test.
        ProviderFacts::from_toml(EMBEDDED)
            .unwrap_or_else(|e| panic!("data/providers.toml is invalid: {e}"))
    }

    /// Parses a table in the format of `data/providers.toml`.
    pub fn from_toml(text: &str) -> Result<ProviderFacts, TableError> {
        let raw: RawFacts = toml::from_str(text)?;
        Ok(ProviderFacts {
            as_of: raw.as_of,
            batch: raw.batch,
            default_cache: raw.default_cache,
            cache: raw.cache,
            limits: raw.rate_limit,
        })
    }

    /// The batch offer of a provider, if it has one.
    pub fn batch_offer(&self, provider_id: &str) -> Option<&BatchOffer> {
        self.batch
            .iter()
            .find(|b| b.provider.eq_ignore_ascii_case(provider_id))
    }

    /// The cache rules of a provider, and whether they are documented (true)
    /// or the assumed default (false).
    pub fn cache_rules(&self, provider_id: &str) -> (&CacheRules, bool) {
        match self
            .cache
            .iter()
            .find(|c| c.provider.eq_ignore_ascii_case(provider_id))
        {
            Some(rules) => (rules, true),
            None => (&self.default_cache, false),
        }
    }

    /// The assumed per-provider rate limits.
    pub fn assumed_limits(&self) -> RateLimits {
        RateLimits {
            limits: self
                .limits
                .iter()
                .map(|l| RateLimit {
                    provider: Some(l.provider.clone()),
                    model: None,
                    rpm: Some(l.rpm),
                    tpm: Some(l.tpm),
                    source: LimitSource::Assumed,
                    note: Some(format!("assumed default ({})", l.source)),
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_facts_parse() {
        let f = ProviderFacts::embedded();
        assert_eq!(f.batch_offer("OpenAI").map(|b| b.discount), Some(0.5));
        assert!(f.batch_offer("deepseek").is_none());
        let (rules, documented) = f.cache_rules("anthropic");
        assert!(documented);
        assert_eq!((rules.min_tokens, rules.ttl_minutes), (1024, 5));
        assert!(!f.cache_rules("groq").1);
        assert_eq!(f.assumed_limits().limits.len(), 3);
    }

    #[test]
    fn configured_model_limits_win() {
        let limits = RateLimits::assumed_defaults()
            .with(RateLimit {
                provider: None,
                model: Some("gpt-4.1".into()),
                rpm: Some(10),
                tpm: None,
                source: LimitSource::Configured,
                note: None,
            })
            .with(RateLimit {
                provider: Some("openai".into()),
                model: None,
                rpm: Some(20),
                tpm: Some(100),
                source: LimitSource::Configured,
                note: None,
            });
        assert_eq!(
            limits.lookup("openai", &["gpt-4.1"]).and_then(|l| l.rpm),
            Some(10)
        );
        assert_eq!(
            limits.lookup("openai", &["gpt-5"]).and_then(|l| l.rpm),
            Some(20)
        );
        let assumed = limits.lookup("anthropic", &["claude-opus-4-1"]).unwrap();
        assert_eq!(
            (assumed.rpm, assumed.source),
            (Some(4000), LimitSource::Assumed)
        );
        assert!(limits.lookup("mistral", &["mistral-large"]).is_none());
    }
}
