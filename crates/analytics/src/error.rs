//! The errors of the analyses and of the tables they read.

use thiserror::Error;

/// Why an analysis or a tool call did not produce a result.
#[derive(Debug, Error)]
pub enum AnalysisError {
    /// The context's cancellation check returned true.
    #[error("the analysis was cancelled")]
    Cancelled,
    /// The dataset has no rows: there is nothing to analyse.
    #[error("the dataset has no rows")]
    EmptyDataset,
    /// No tool has this name.
    #[error("unknown tool `{0}`")]
    UnknownTool(String),
    /// The JSON arguments did not match the tool's input type.
    #[error("invalid arguments for `{tool}`: {source}")]
    InvalidArguments {
        tool: &'static str,
        #[source]
        source: serde_json::Error,
    },
    /// An argument is of the right type but out of range.
    #[error("invalid value for `{name}`: {reason}")]
    InvalidParameter {
        name: &'static str,
        reason: &'static str,
    },
    /// A result could not be turned into JSON.
    #[error("could not serialise the result: {0}")]
    Serialize(#[source] serde_json::Error),
}

/// Why a data table (tiers, provider facts) could not be loaded.
#[derive(Debug, Error)]
pub enum TableError {
    #[error("the table is not valid TOML for its schema: {0}")]
    Parse(#[from] toml::de::Error),
    #[error("the tier table names tier `{tier}` for model `{model}`, but `tiers` does not list it")]
    UnknownTier { model: String, tier: String },
    #[error("the tier table lists no tiers")]
    NoTiers,
}
