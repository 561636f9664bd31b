//! The [`Catalogue`]: providers and models compiled from the genai-prices
//! JSON, model resolution ([`Catalogue::resolve`]) and costs
//! ([`Catalogue::cost`]).

use crate::error::PricingError;
use crate::matcher::Matcher;
use crate::price::{CostBreakdown, Prices};
use crate::raw::RawProvider;
use chrono::{DateTime, Utc};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use usage::TokenCounts;

/// Snapshot date of the shipped `data/data.json`.
pub const SNAPSHOT_DATE: &str = "2026-08-21";

const EMBEDDED_JSON: &str = include_str!("../data/data.json");

/// A model of the catalogue: a cheap handle, valid for the catalogue that
/// returned it (and its clones).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ModelRef(pub(crate) u32);

/// What the catalogue says about a model, besides its prices.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ModelInfo<'a> {
    pub provider_id: &'a str,
    pub provider_name: &'a str,
    pub model_id: &'a str,
    pub name: Option<&'a str>,
    pub context_window: Option<u64>,
}

/// The price catalogue. Cloning is cheap (shared, immutable data).
#[derive(Debug, Clone)]
pub struct Catalogue {
    pub(crate) inner: Arc<Inner>,
}

#[derive(Debug, Clone)]
pub(crate) struct Inner {
    pub snapshot_date: String,
    pub providers: Vec<Provider>,
    pub models: Vec<Model>,
    /// Models added or changed by override files, highest precedence first.
    pub overridden: Vec<u32>,
    pub override_files: Vec<PathBuf>,
}

#[derive(Debug, Clone)]
pub(crate) struct Provider {
    pub id: String,
    pub name: String,
    pub model_match: Option<Matcher>,
    pub provider_match: Option<Matcher>,
    /// Provider ids whose models this provider also serves (one step only).
    pub fallback: Vec<String>,
    /// Indices into `Inner::models`, in match order.
    pub models: Vec<u32>,
}

#[derive(Debug, Clone)]
pub(crate) struct Model {
    pub provider: u32,
    pub id: String,
    pub name: Option<String>,
    pub context_window: Option<u64>,
    pub matcher: Matcher,
    pub prices: Prices,
}

/// Region prefixes of AWS Bedrock cross-region inference profiles.
const BEDROCK_REGIONS: &[&str] = &[
    "us", "eu", "apac", "au", "jp", "ca", "us-gov", "global", "regional",
];
/// Model vendors of AWS Bedrock model ids (`anthropic.claude-...`).
const BEDROCK_VENDORS: &[&str] = &[
    "anthropic",
    "amazon",
    "meta",
    "mistral",
    "cohere",
    "ai21",
    "deepseek",
    "openai",
    "qwen",
    "writer",
    "moonshot",
    "moonshotai",
    "minimax",
    "google",
    "nvidia",
    "zai",
];

impl Catalogue {
    /// The shipped snapshot (`data/data.json`, genai-prices of
    /// [`SNAPSHOT_DATE`]). Parsing takes a few milliseconds: build it once
    /// and clone it.
    pub fn embedded() -> Catalogue {
        let mut c = Catalogue::from_json(EMBEDDED_JSON)
            .expect("the shipped catalogue parses (checked by a unit test)");
        if let Some(inner) = Arc::get_mut(&mut c.inner) {
            inner.snapshot_date = SNAPSHOT_DATE.to_owned();
        }
        c
    }

    /// Parses a catalogue in the genai-prices `data.json` format. Its
    /// snapshot date is unknown (`"unknown"`) unless set with
    /// [`Catalogue::with_snapshot_date`].
    pub fn from_json(json: &str) -> Result<Catalogue, PricingError> {
        let raw: Vec<RawProvider> = serde_json::from_str(json).map_err(PricingError::Catalogue)?;
        let mut inner = Inner {
            snapshot_date: "unknown".to_owned(),
            providers: Vec::with_capacity(raw.len()),
            models: Vec::new(),
            overridden: Vec::new(),
            override_files: Vec::new(),
        };
        for p in raw {
            let invalid = |model: &str, problem| PricingError::InvalidModel {
                provider: p.id.clone(),
                model: model.to_owned(),
                problem,
            };
            let provider_match = |m: &Option<_>| {
                m.as_ref()
                    .map(Matcher::compile)
                    .transpose()
                    .map_err(|e| invalid("(provider rules)", e))
            };
            let mut provider = Provider {
                id: p.id.to_lowercase(),
                name: p.name.clone(),
                model_match: provider_match(&p.model_match)?,
                provider_match: provider_match(&p.provider_match)?,
                fallback: p
                    .fallback_model_providers
                    .iter()
                    .map(|s| s.to_lowercase())
                    .collect(),
                models: Vec::with_capacity(p.models.len()),
            };
            let provider_index = index_u32(inner.providers.len());
            for m in &p.models {
                let matcher = Matcher::compile(&m.match_).map_err(|e| invalid(&m.id, e))?;
                let prices = Prices::compile(&m.prices, false).map_err(|e| invalid(&m.id, e))?;
                provider.models.push(index_u32(inner.models.len()));
                inner.models.push(Model {
                    provider: provider_index,
                    id: m.id.clone(),
                    name: m.name.clone(),
                    context_window: m.context_window,
                    matcher,
                    prices,
                });
            }
            inner.providers.push(provider);
        }
        Ok(Catalogue {
            inner: Arc::new(inner),
        })
    }

    /// Sets the date reports show for this catalogue.
    pub fn with_snapshot_date(mut self, date: &str) -> Catalogue {
        Arc::make_mut(&mut self.inner).snapshot_date = date.to_owned();
        self
    }

    /// Applies a user override file (JSON or TOML, see the crate docs and
    /// `docs/prices-override.md`): adds models, or replaces the prices of
    /// existing ones. Overridden models take precedence in [`Catalogue::resolve`].
    pub fn with_overrides(mut self, path: &Path) -> Result<Catalogue, PricingError> {
        let text = std::fs::read_to_string(path).map_err(|source| PricingError::OverrideRead {
            path: path.to_owned(),
            source,
        })?;
        let file = crate::overrides::parse(path, &text)?;
        let inner = Arc::make_mut(&mut self.inner);
        crate::overrides::apply(inner, file).map_err(|e| PricingError::OverrideInvalid {
            path: path.to_owned(),
            source: Box::new(e),
        })?;
        inner.override_files.push(path.to_owned());
        Ok(self)
    }

    /// The date of the catalogue snapshot (`"2026-08-21"` for the shipped copy).
    pub fn snapshot_date(&self) -> &str {
        &self.inner.snapshot_date
    }

    /// Override files applied to this catalogue, in order.
    pub fn override_files(&self) -> &[PathBuf] {
        &self.inner.override_files
    }

    /// Finds the catalogue model for a model string as seen in usage data,
    /// with an optional provider hint (a provider id, or any name the
    /// provider's `provider_match` rule accepts: `bedrock`, `vertex_ai`, ...).
    ///
    /// Order: override-file models; the hinted provider's models (then its
    /// `fallback_model_providers`); providers whose `model_match` accepts the
    /// string. The same is retried on gateway forms of the string:
    /// `openai/gpt-4o` (the prefix becomes the provider hint), nested
    /// prefixes (`openrouter/anthropic/...`), Vertex resource paths
    /// (`.../publishers/google/models/gemini-...`) and Bedrock ids
    /// (`us.anthropic.claude-...`: the `aws` provider first, then the
    /// vendor's own entry). Case-insensitive. `None` when nothing matches:
    /// callers must report the model as unknown, never price it at $0.
    /// Slow-ish (regexes, linear scans): cache the result per model string.
    pub fn resolve(&self, provider: Option<&str>, model: &str) -> Option<ModelRef> {
        let model = model.trim().to_lowercase();
        if model.is_empty() {
            return None;
        }
        let hint = provider
            .map(|p| p.trim().to_lowercase())
            .filter(|p| !p.is_empty());
        let hinted = hint.as_deref().and_then(|h| self.find_provider(h));
        for (extra_hint, candidate) in candidates(&model) {
            let extra = extra_hint.and_then(|h| self.find_provider(h));
            if let Some(m) = self.resolve_one(hinted, extra, candidate) {
                return Some(m);
            }
        }
        None
    }

    /// [`Catalogue::resolve`], with an error naming the unknown model.
    pub fn try_resolve(
        &self,
        provider: Option<&str>,
        model: &str,
    ) -> Result<ModelRef, PricingError> {
        self.resolve(provider, model)
            .ok_or_else(|| PricingError::UnknownModel {
                provider: provider.map(str::to_owned),
                model: model.to_owned(),
            })
    }

    /// Provider, id, name and context window of a model.
    pub fn info(&self, m: ModelRef) -> ModelInfo<'_> {
        let model = self.model(m);
        let provider = &self.inner.providers[model.provider as usize];
        ModelInfo {
            provider_id: &provider.id,
            provider_name: &provider.name,
            model_id: &model.id,
            name: model.name.as_deref(),
            context_window: model.context_window,
        }
    }

    /// Cost of `tokens` spread over `calls` calls made at `at`, with the
    /// prices in force at that time. See the crate docs for the rules.
    pub fn cost(
        &self,
        m: ModelRef,
        at: DateTime<Utc>,
        tokens: &TokenCounts,
        calls: u32,
    ) -> CostBreakdown {
        self.model(m).prices.at(at).cost(tokens, calls)
    }

    /// True when the price set in force at `at` charges input, output or
    /// requests (some catalogue entries, e.g. image models, have none).
    pub fn has_price(&self, m: ModelRef, at: DateTime<Utc>) -> bool {
        self.model(m).prices.at(at).is_priced()
    }

    /// The models of a provider (by id or `provider_match` name), in match
    /// order; empty for an unknown provider.
    pub fn models_of_provider(&self, provider_id: &str) -> Vec<ModelRef> {
        self.find_provider(&provider_id.trim().to_lowercase())
            .map(|p| {
                self.inner.providers[p]
                    .models
                    .iter()
                    .map(|&i| ModelRef(i))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Every model of the catalogue, in catalogue order.
    pub fn models(&self) -> impl Iterator<Item = ModelRef> + '_ {
        (0..self.inner.models.len()).map(|i| ModelRef(index_u32(i)))
    }

    fn model(&self, m: ModelRef) -> &Model {
        // A ModelRef only comes from this catalogue (or a clone): in bounds.
        &self.inner.models[m.0 as usize]
    }

    /// Provider by exact id, then by `provider_match` (as genai-prices does).
    pub(crate) fn find_provider(&self, hint: &str) -> Option<usize> {
        find_provider(&self.inner.providers, hint)
    }

    fn resolve_one(
        &self,
        hinted: Option<usize>,
        extra: Option<usize>,
        model: &str,
    ) -> Option<ModelRef> {
        let inner = &*self.inner;
        // 1. Override models take precedence (when compatible with the hint).
        for &i in &inner.overridden {
            let m = &inner.models[i as usize];
            let compatible = hinted.is_none_or(|h| h == m.provider as usize)
                || extra == Some(m.provider as usize);
            if compatible && m.matcher.is_match(model) {
                return Some(ModelRef(i));
            }
        }
        // 2. The hinted providers.
        for p in [hinted, extra].into_iter().flatten() {
            if let Some(m) = self.match_in_provider(p, model, true) {
                return Some(m);
            }
        }
        // 3. Providers whose model_match accepts the string.
        for (p, provider) in inner.providers.iter().enumerate() {
            if provider
                .model_match
                .as_ref()
                .is_some_and(|mm| mm.is_match(model))
                && let Some(m) = self.match_in_provider(p, model, true)
            {
                return Some(m);
            }
        }
        None
    }

    fn match_in_provider(&self, p: usize, model: &str, with_fallback: bool) -> Option<ModelRef> {
        let inner = &*self.inner;
        let provider = &inner.providers[p];
        if let Some(&i) = provider
            .models
            .iter()
            .find(|&&i| inner.models[i as usize].matcher.is_match(model))
        {
            return Some(ModelRef(i));
        }
        if with_fallback {
            for f in &provider.fallback {
                if let Some(fp) = inner.providers.iter().position(|q| &q.id == f)
                    && let Some(m) = self.match_in_provider(fp, model, false)
                {
                    return Some(m);
                }
            }
        }
        None
    }
}

pub(crate) fn find_provider(providers: &[Provider], hint: &str) -> Option<usize> {
    providers.iter().position(|p| p.id == hint).or_else(|| {
        providers
            .iter()
            .position(|p| p.provider_match.as_ref().is_some_and(|m| m.is_match(hint)))
    })
}

pub(crate) fn index_u32(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}

/// The forms of a (lowercased) model string to try, each with an optional
/// extra provider hint taken from the string itself.
fn candidates(model: &str) -> Vec<(Option<&str>, &str)> {
    let mut out: Vec<(Option<&str>, &str)> = vec![(None, model)];
    // Bedrock: `[region.]vendor.model` -> try the aws provider, then the vendor.
    if let Some((vendor, rest)) = bedrock_parts(model) {
        out.push((Some("aws"), model));
        out.push((Some(vendor), rest));
    }
    // Vertex resource path: `.../publishers/<vendor>/models/<model>`.
    if let Some(pos) = model.rfind("/models/") {
        let tail = &model[pos + "/models/".len()..];
        let publisher = model[..pos]
            .rsplit('/')
            .next()
            .filter(|_| model[..pos].contains("publishers/"));
        out.push((publisher, tail));
    }
    // Gateway prefixes: `provider/model`, possibly nested.
    let mut start = 0;
    while let Some(off) = model[start..].find('/') {
        let slash = start + off;
        let prefix = model[..slash].rsplit('/').next().unwrap_or("");
        let rest = &model[slash + 1..];
        if !rest.is_empty() {
            out.push((Some(prefix), rest));
            if let Some((vendor, bedrock_rest)) = bedrock_parts(rest) {
                out.push((Some("aws"), rest));
                out.push((Some(vendor), bedrock_rest));
            }
        }
        start = slash + 1;
    }
    out
}

/// Splits a Bedrock model id into vendor and model (`us.anthropic.claude-x`
/// gives `("anthropic", "claude-x")`).
fn bedrock_parts(model: &str) -> Option<(&str, &str)> {
    let mut s = model;
    if let Some((region, rest)) = s.split_once('.')
        && BEDROCK_REGIONS.contains(&region)
    {
        s = rest;
    }
    let (vendor, rest) = s.split_once('.')?;
    (BEDROCK_VENDORS.contains(&vendor) && !rest.is_empty()).then_some((vendor, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_catalogue_parses() {
        let c = Catalogue::from_json(EMBEDDED_JSON).expect("shipped data.json parses");
        assert_eq!(c.inner.providers.len(), 34);
        assert!(
            c.inner.models.len() > 1_400,
            "{} models",
            c.inner.models.len()
        );
        assert_eq!(Catalogue::embedded().snapshot_date(), SNAPSHOT_DATE);
    }

    #[test]
    fn bedrock_ids_are_split() {
        assert_eq!(
            bedrock_parts("us.anthropic.claude-3-5-sonnet"),
            Some(("anthropic", "claude-3-5-sonnet"))
        );
        assert_eq!(
            bedrock_parts("anthropic.claude-v2"),
            Some(("anthropic", "claude-v2"))
        );
        assert_eq!(bedrock_parts("gpt-4.1"), None);
        assert_eq!(bedrock_parts("claude-3.5-sonnet"), None);
    }

    #[test]
    fn gateway_candidates_include_prefix_hints() {
        let c = candidates("openrouter/anthropic/claude-3.5-sonnet");
        assert!(c.contains(&(Some("openrouter"), "anthropic/claude-3.5-sonnet")));
        assert!(c.contains(&(Some("anthropic"), "claude-3.5-sonnet")));
        let v = candidates("projects/p/locations/us/publishers/google/models/gemini-2.5-pro");
        assert!(v.contains(&(Some("google"), "gemini-2.5-pro")));
    }
}
