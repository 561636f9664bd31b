//! Errors of the price catalogue: an invalid catalogue, an invalid override
//! file (always naming the file), and an unknown model.

use std::path::PathBuf;

/// Something wrong with a catalogue, an override file, or a lookup.
#[derive(Debug, thiserror::Error)]
pub enum PricingError {
    /// The catalogue JSON does not follow the genai-prices schema.
    #[error("invalid price catalogue: {0}")]
    Catalogue(#[source] serde_json::Error),

    /// A model entry (of the catalogue or of an override file) is not usable.
    #[error("model `{model}` of provider `{provider}`: {problem}")]
    InvalidModel {
        provider: String,
        model: String,
        #[source]
        problem: ModelProblem,
    },

    /// The override file could not be read.
    #[error("cannot read price override file {}: {source}", .path.display())]
    OverrideRead {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The override file is not valid JSON.
    #[error("invalid price override file {} (JSON): {source}", .path.display())]
    OverrideJson {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },

    /// The override file is not valid TOML or does not follow the schema.
    #[error("invalid price override file {} (TOML): {source}", .path.display())]
    OverrideToml {
        path: PathBuf,
        #[source]
        source: toml::de::Error,
    },

    /// The override file parses but one of its entries is unusable.
    #[error("invalid price override file {}: {source}", .path.display())]
    OverrideInvalid {
        path: PathBuf,
        #[source]
        source: Box<PricingError>,
    },

    /// No catalogue entry matches the model string.
    #[error("unknown model `{model}`{}", .provider.as_deref().map(|p| format!(" (provider `{p}`)")).unwrap_or_default())]
    UnknownModel {
        provider: Option<String>,
        model: String,
    },
}

/// Why a model entry was rejected.
#[derive(Debug, thiserror::Error)]
pub enum ModelProblem {
    #[error("invalid match regex: {0}")]
    Regex(#[source] regex::Error),
    #[error("price `{field}` must be a finite, non-negative number")]
    BadPrice { field: &'static str },
    #[error("tiers of `{field}` must have increasing `start` values")]
    UnsortedTiers { field: &'static str },
    #[error("invalid `start_date` {0:?} (expected YYYY-MM-DD)")]
    BadDate(String),
    #[error("invalid time of day {0:?} (expected HH:MM[:SS] with an optional Z or ±HH:MM offset)")]
    BadTime(String),
    #[error("unknown price field `{0}`")]
    UnknownPriceField(String),
    #[error("`prices` is an empty list")]
    NoPrices,
    #[error("an empty `{0}` clause matches nothing useful")]
    EmptyClause(&'static str),
}
