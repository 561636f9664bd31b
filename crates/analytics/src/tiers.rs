//! The model capability tier table (`data/model_tiers.toml`): which models
//! are comparable, so a substitution never trades a frontier model for a
//! small one without saying so. The table is curated by hand and says where
//! its rankings come from; callers can load their own with
//! [`TierTable::from_toml`].

use crate::error::TableError;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

const EMBEDDED: &str = include_str!("../data/model_tiers.toml");

/// Where a model's tier placement comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TierBasis {
    /// Public leaderboards (LMArena, Artificial Analysis).
    Leaderboard,
    /// The vendor's positioning of the model family.
    Vendor,
    /// The user's own evaluation.
    Evaluation,
}

/// One model's place in the table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TierEntry {
    /// Catalogue provider id.
    pub provider: String,
    /// Catalogue model id.
    pub model: String,
    /// Index into [`TierTable::tiers`]; 0 is the most capable.
    pub tier: usize,
    pub basis: TierBasis,
    /// Superseded: classified but never proposed as a substitute.
    pub legacy: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTable {
    as_of: String,
    source: String,
    tiers: Vec<String>,
    #[serde(default)]
    model: Vec<RawEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    provider: String,
    model: String,
    tier: String,
    basis: TierBasis,
    #[serde(default)]
    legacy: bool,
}

/// Capability tiers of models, best first.
#[derive(Debug, Clone)]
pub struct TierTable {
    as_of: String,
    source: String,
    tiers: Vec<String>,
    entries: Vec<TierEntry>,
    index: HashMap<(String, String), usize>,
}

impl TierTable {
    /// The table shipped in `data/model_tiers.toml`.
    pub fn embedded() -> TierTable {
        // The embedded file is part of the source tree and parsed by a unit test.
        TierTable::from_toml(EMBEDDED)
            .unwrap_or_else(|e| panic!("data/model_tiers.toml is invalid: {e}"))
    }

    /// Parses a table in the same format as `data/model_tiers.toml`.
    pub fn from_toml(text: &str) -> Result<TierTable, TableError> {
        let raw: RawTable = toml::from_str(text)?;
        if raw.tiers.is_empty() {
            return Err(TableError::NoTiers);
        }
        let mut entries = Vec::with_capacity(raw.model.len());
        let mut index = HashMap::new();
        for e in raw.model {
            let Some(tier) = raw.tiers.iter().position(|t| *t == e.tier) else {
                return Err(TableError::UnknownTier {
                    model: e.model,
                    tier: e.tier,
                });
            };
            index.insert((e.provider.clone(), e.model.clone()), entries.len());
            entries.push(TierEntry {
                provider: e.provider,
                model: e.model,
                tier,
                basis: e.basis,
                legacy: e.legacy,
            });
        }
        Ok(TierTable {
            as_of: raw.as_of,
            source: raw.source,
            tiers: raw.tiers,
            entries,
            index,
        })
    }

    /// The date the table describes.
    pub fn as_of(&self) -> &str {
        &self.as_of
    }

    /// Where the rankings come from.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Tier names, best first.
    pub fn tiers(&self) -> &[String] {
        &self.tiers
    }

    /// The name of tier `index`.
    pub fn tier_name(&self, index: usize) -> &str {
        self.tiers.get(index).map_or("unknown", String::as_str)
    }

    /// Every entry, in file order.
    pub fn entries(&self) -> &[TierEntry] {
        &self.entries
    }

    /// The entry of a catalogue model, if the table lists it.
    pub fn get(&self, provider_id: &str, model_id: &str) -> Option<&TierEntry> {
        self.index
            .get(&(provider_id.to_owned(), model_id.to_owned()))
            .map(|&i| &self.entries[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_table_parses_with_sources() {
        let t = TierTable::embedded();
        assert_eq!(t.tiers(), ["frontier", "strong", "fast", "mini"]);
        assert!(t.source().contains("LMArena"));
        let opus = t.get("anthropic", "claude-opus-4-1").unwrap();
        assert_eq!(t.tier_name(opus.tier), "frontier");
        assert!(opus.legacy);
        assert_eq!(t.get("openai", "gpt-5-nano").map(|e| e.tier), Some(3));
        assert!(t.get("openai", "no-such-model").is_none());
    }

    #[test]
    fn unknown_tiers_are_rejected() {
        let text = "as_of = \"x\"\nsource = \"y\"\ntiers = [\"a\"]\n[[model]]\nprovider = \"p\"\nmodel = \"m\"\ntier = \"b\"\nbasis = \"vendor\"\n";
        assert!(matches!(
            TierTable::from_toml(text),
            Err(TableError::UnknownTier { .. })
        ));
        assert!(matches!(
            TierTable::from_toml("nonsense"),
            Err(TableError::Parse(_))
        ));
    }
}
