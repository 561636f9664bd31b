//! Usage analytics: the spend breakdown and the cost and capacity
//! recommendations of Apex, over a [`usage::Dataset`] priced with a
//! [`pricing::Catalogue`]; and the sample workload.
//!
//! Every USD amount is per 30-day month, extrapolated from the data's time
//! span ([`TimeSpan`]: the factor and the span are stated in every output).
//! Models the catalogue cannot price are reported by name and call count,
//! never counted as $0.
//!
//! ```
//! use analytics::{AnalysisContext, Toolbox, full_analysis, sample_dataset};
//! use std::sync::Arc;
//!
//! let dataset = Arc::new(sample_dataset(42, 2, 0.2, None));
//! let ctx = AnalysisContext::new(dataset, Arc::new(pricing::Catalogue::embedded()));
//! let report = full_analysis(&ctx)?;
//! assert!(report.breakdown.totals.monthly_usd > 0.0);
//! let out = Toolbox::new().call("response_caching", serde_json::json!({"top_n": 3}), &ctx)?;
//! println!("{}", out.summary);
//! # Ok::<(), analytics::AnalysisError>(())
//! ```
//!
//! Each analysis is a tool (module [`analyses`]): a typed input with
//! defaults, a typed output with a one-line `summary()`, and for the
//! recommendations an optional [`Recommendation`] with evidence and a
//! confidence. [`Toolbox::call`] runs one by name with JSON arguments;
//! [`full_analysis`] runs them all. Long loops poll the context's
//! cancellation check every 65,536 rows. No I/O, no web framework.

pub mod analyses;
mod context;
mod error;
mod priced;
mod providers;
mod recommendation;
mod report;
mod sample;
mod scan;
mod span;
pub mod stats;
mod tiers;
mod tools;

pub use context::{AnalysisContext, CancelCheck};
pub use error::{AnalysisError, TableError};
pub use priced::{ModelSlot, PricedView, UnpricedModel};
pub use providers::{BatchOffer, CacheRules, LimitSource, ProviderFacts, RateLimit, RateLimits};
pub use recommendation::{
    Confidence, Evidence, Figure, MAX_SAMPLE_ROWS, Recommendation, RecommendationKind, Unit,
};
pub use report::{AnalysisSummary, Report, full_analysis};
pub use sample::{
    SAMPLE_PRODUCT, SAMPLE_START_MS, SampleWorkload, sample_dataset, sample_workload,
};
pub use span::{LOW_CONFIDENCE_HOURS, MIN_SPAN_HOURS, MONTH_HOURS, TimeSpan};
pub use tiers::{TierBasis, TierEntry, TierTable};
pub use tools::{ToolOutput, ToolResult, ToolSpec, Toolbox, tools};
