//! Serde mirrors of the genai-prices JSON schema (`data.schema.json`) and of
//! the override file. They are only parsed, then compiled into the runtime
//! types of [`crate::matcher`] and [`crate::price`].

use serde::Deserialize;
use serde::de::IgnoredAny;
use std::collections::BTreeMap;

/// A provider of the catalogue (`Provider` in the schema). Fields the
/// pricing does not use (`pricing_urls`, `api_pattern`, `extractors`, ...)
/// are accepted and ignored.
#[derive(Debug, Deserialize)]
pub(crate) struct RawProvider {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub model_match: Option<RawClause>,
    #[serde(default)]
    pub provider_match: Option<RawClause>,
    #[serde(default)]
    pub fallback_model_providers: Vec<String>,
    pub models: Vec<RawModel>,
}

/// A model of the catalogue (`ModelInfo` in the schema).
#[derive(Debug, Deserialize)]
pub(crate) struct RawModel {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(rename = "match")]
    pub match_: RawClause,
    #[serde(default)]
    pub context_window: Option<u64>,
    pub prices: RawPrices,
}

/// A match clause: exactly one of the keys below, as in the schema
/// (`ClauseEquals`, `ClauseStartsWith`, ... `ClauseAnd`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum RawClause {
    Equals(String),
    StartsWith(String),
    EndsWith(String),
    Contains(String),
    Regex(String),
    Or(Vec<RawClause>),
    And(Vec<RawClause>),
}

/// `prices`: one price set, or a list of conditional ones.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum RawPrices {
    One(RawModelPrice),
    Many(Vec<RawConditional>),
}

/// `ConditionalPrice` of the schema.
#[derive(Debug, Deserialize)]
pub(crate) struct RawConditional {
    #[serde(default)]
    pub constraint: Option<RawConstraint>,
    pub prices: RawModelPrice,
}

/// `StartDateConstraint` or `TimeOfDateConstraint`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum RawConstraint {
    StartDate {
        start_date: DateLike,
    },
    TimeOfDay {
        start_time: DateLike,
        end_time: DateLike,
    },
}

/// A date or time written as a string (JSON, quoted TOML) or as a native
/// TOML date/time (`start_date = 2026-09-01`).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum DateLike {
    Text(String),
    Toml(toml::value::Datetime),
}

impl DateLike {
    pub fn text(&self) -> String {
        match self {
            DateLike::Text(s) => s.clone(),
            DateLike::Toml(d) => d.to_string(),
        }
    }
}

/// `ModelPrice` of the schema. Fields for token kinds Apex does not track
/// (audio, image, video, split text prices) are accepted and ignored;
/// `cache_write_1h_mtok` is an Apex extension (1-hour cache writes).
#[derive(Debug, Deserialize)]
pub(crate) struct RawModelPrice {
    #[serde(default)]
    pub input_mtok: Option<RawRate>,
    #[serde(default)]
    pub cache_read_mtok: Option<RawRate>,
    #[serde(default)]
    pub cache_write_mtok: Option<RawRate>,
    #[serde(default)]
    pub cache_write_1h_mtok: Option<RawRate>,
    #[serde(default)]
    pub output_mtok: Option<RawRate>,
    #[serde(default)]
    pub requests_kcount: Option<f64>,
    /// Every other key: the schema's media-specific prices, or a typo.
    #[serde(flatten)]
    pub other: BTreeMap<String, IgnoredAny>,
}

/// The schema's other price fields, recognised so that an override file
/// using them is not rejected as a typo (they are not used in costs).
pub(crate) const IGNORED_PRICE_FIELDS: &[&str] = &[
    "input_audio_mtok",
    "cache_audio_read_mtok",
    "output_audio_mtok",
    "input_text_mtok",
    "output_text_mtok",
    "cache_text_read_mtok",
    "cache_text_write_mtok",
    "cache_audio_write_mtok",
    "input_image_mtok",
    "output_image_mtok",
    "cache_image_read_mtok",
    "cache_image_write_mtok",
    "input_video_mtok",
    "output_video_mtok",
    "cache_video_read_mtok",
    "cache_video_write_mtok",
];

/// A price per million tokens: flat, or `TieredPrices`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum RawRate {
    Flat(f64),
    Tiered { base: f64, tiers: Vec<RawTier> },
}

#[derive(Debug, Deserialize)]
pub(crate) struct RawTier {
    pub start: u64,
    pub price: f64,
}

/// The user's override file (JSON or TOML); see `docs/prices-override.md`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawOverrideFile {
    #[serde(default)]
    pub models: Vec<RawOverrideModel>,
}

/// One model to add, or whose prices to replace.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawOverrideModel {
    pub provider: String,
    #[serde(default)]
    pub provider_name: Option<String>,
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(rename = "match", default)]
    pub match_: Option<RawClause>,
    #[serde(default)]
    pub context_window: Option<u64>,
    pub prices: RawPrices,
}
