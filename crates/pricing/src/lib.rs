//! The LLM price catalogue: the shipped snapshot of
//! [genai-prices](https://github.com/pydantic/genai-prices) (MIT, see
//! `data/LICENSE`), its match rules, user overrides, and cost computation.
//!
//! ```
//! use pricing::Catalogue;
//! use usage::TokenCounts;
//!
//! let catalogue = Catalogue::embedded();
//! let model = catalogue.resolve(Some("openai"), "gpt-4o-2024-08-06").expect("known model");
//! let tokens = TokenCounts { input_uncached: 1_000, cache_read: 1_000, output: 100, ..Default::default() };
//! let at = chrono::Utc::now();
//! let cost = catalogue.cost(model, at, &tokens, 1);
//! assert!((cost.total() - (1_000.0 * 2.5 + 1_000.0 * 1.25 + 100.0 * 10.0) / 1e6).abs() < 1e-12);
//! ```
//!
//! # Resolution
//! [`Catalogue::resolve`] maps a model string from usage data (and an
//! optional provider hint) to a [`ModelRef`], following the catalogue's
//! rules (`equals`, `starts_with`, `ends_with`, `contains`, `regex`, `or`,
//! `and`; provider `model_match`, `provider_match` and
//! `fallback_model_providers`), case-insensitively, and also understands
//! gateway forms (`openai/gpt-4o`, `openrouter/anthropic/...`), Vertex
//! resource paths and Bedrock ids. An unknown model gives `None`: it is
//! reported, never priced at $0.
//!
//! # Costs
//! [`Catalogue::cost`] prices a [`usage::TokenCounts`] spread over `calls`
//! calls at a given time:
//! - The price set in force at that time (date constraints, time-of-day
//!   constraints such as DeepSeek's off-peak hours) is used.
//! - Tiered prices use the cliff model of the schema: the tier is chosen by
//!   the input size of one call, `tokens.input_total() / calls` (the average
//!   for an aggregate), and applies to all tokens of that kind.
//! - Uncached input at `input_mtok`; cache reads at `cache_read_mtok`;
//!   5-minute cache writes at `cache_write_mtok`. A model without a cache
//!   read or write price is charged its input price for those tokens (what
//!   the tokens would have cost uncached; genai-prices does the same).
//! - 1-hour cache writes: at `cache_write_1h_mtok` when the catalogue or an
//!   override has it (an Apex extension field), else at `cache_write_mtok`.
//!   The genai-prices data has no 1-hour price, so for Anthropic 1-hour
//!   writes (billed at 2x input, against 1.25x for 5-minute writes) the
//!   default understates the cost; add `cache_write_1h_mtok` in an
//!   override file to price them exactly.
//! - Output (reasoning included) at `output_mtok`; `requests_kcount` (USD per
//!   thousand requests) times `calls`.
//! - Audio, image and video prices of the schema are not used: Apex records
//!   carry text token counts only.
//! - Batch or flex service tiers are not discounted here: the catalogue has
//!   no batch prices.
//!
//! # Override file
//! JSON (`{"models": [...]}`) or TOML (`[[models]]` tables); each entry:
//!
//! | key | meaning |
//! |---|---|
//! | `provider` | provider id (`openai`) or a name its `provider_match` accepts; an unknown provider is created |
//! | `provider_name` | display name of a new provider (optional) |
//! | `id` | model id; an existing model of that provider with this id gets the new prices, otherwise a model is added |
//! | `match` | match rule, as in the catalogue (`{ equals = "..." }`, `{ or = [...] }`...); default for a new model: `equals` its id; for an existing model: kept |
//! | `name`, `context_window` | optional |
//! | `prices` | a price set (`input_mtok`, `cache_read_mtok`, `cache_write_mtok`, `cache_write_1h_mtok`, `output_mtok`, `requests_kcount`, tiered `{ base, tiers = [{ start, price }] }`) or a list of `{ constraint, prices }` |
//!
//! Override entries take precedence over the catalogue (and later entries
//! over earlier ones). Unknown keys and unknown price fields are errors, and
//! every error names the file. See `docs/prices-override.md`.

pub mod catalogue;
pub mod error;
mod matcher;
mod overrides;
mod price;
mod raw;

pub use catalogue::{Catalogue, ModelInfo, ModelRef, SNAPSHOT_DATE};
pub use error::{ModelProblem, PricingError};
pub use price::CostBreakdown;
