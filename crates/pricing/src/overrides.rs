//! User override files: parsing (JSON or TOML) and applying them to a
//! catalogue. The schema is documented in the crate docs and in
//! `docs/prices-override.md`.

use crate::catalogue::{Inner, Model, Provider, find_provider, index_u32};
use crate::error::PricingError;
use crate::matcher::Matcher;
use crate::price::Prices;
use crate::raw::{RawClause, RawOverrideFile};
use std::path::Path;

/// Parses an override file: TOML for a `.toml` name, JSON for `.json`,
/// otherwise JSON when the text starts with `{`, else TOML.
pub(crate) fn parse(path: &Path, text: &str) -> Result<RawOverrideFile, PricingError> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let json = match ext.as_deref() {
        Some("json") => true,
        Some("toml") => false,
        _ => text.trim_start().starts_with('{'),
    };
    if json {
        serde_json::from_str(text).map_err(|source| PricingError::OverrideJson {
            path: path.to_owned(),
            source,
        })
    } else {
        toml::from_str(text).map_err(|source| PricingError::OverrideToml {
            path: path.to_owned(),
            source,
        })
    }
}

/// Applies the entries in file order; later entries take precedence over
/// earlier ones, and all of them over the catalogue.
pub(crate) fn apply(inner: &mut Inner, file: RawOverrideFile) -> Result<(), PricingError> {
    for entry in file.models {
        let provider_key = entry.provider.trim().to_lowercase();
        let invalid = |problem| PricingError::InvalidModel {
            provider: provider_key.clone(),
            model: entry.id.clone(),
            problem,
        };
        let prices = Prices::compile(&entry.prices, true).map_err(invalid)?;
        let matcher = entry
            .match_
            .as_ref()
            .map(Matcher::compile)
            .transpose()
            .map_err(invalid)?;

        let p = match find_provider(&inner.providers, &provider_key) {
            Some(p) => p,
            None => {
                inner.providers.push(Provider {
                    id: provider_key.clone(),
                    name: entry
                        .provider_name
                        .clone()
                        .unwrap_or_else(|| entry.provider.trim().to_owned()),
                    model_match: None,
                    provider_match: None,
                    fallback: Vec::new(),
                    models: Vec::new(),
                });
                inner.providers.len() - 1
            }
        };
        let existing = inner.providers[p].models.iter().copied().find(|&i| {
            inner.models[i as usize]
                .id
                .eq_ignore_ascii_case(entry.id.trim())
        });
        let index = match existing {
            Some(i) => {
                let m = &mut inner.models[i as usize];
                m.prices = prices;
                if let Some(matcher) = matcher {
                    m.matcher = matcher;
                }
                if entry.name.is_some() {
                    m.name = entry.name.clone();
                }
                if entry.context_window.is_some() {
                    m.context_window = entry.context_window;
                }
                i
            }
            None => {
                let matcher = match matcher {
                    Some(m) => m,
                    None => Matcher::compile(&RawClause::Equals(entry.id.trim().to_owned()))
                        .map_err(invalid)?,
                };
                inner.models.push(Model {
                    provider: index_u32(p),
                    id: entry.id.trim().to_owned(),
                    name: entry.name.clone(),
                    context_window: entry.context_window,
                    matcher,
                    prices,
                });
                index_u32(inner.models.len() - 1)
            }
        };
        // Highest precedence first: the provider's own order and the override list.
        let order = &mut inner.providers[p].models;
        order.retain(|&i| i != index);
        order.insert(0, index);
        inner.overridden.retain(|&i| i != index);
        inner.overridden.insert(0, index);
    }
    Ok(())
}
