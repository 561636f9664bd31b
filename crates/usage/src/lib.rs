//! Usage data: one normalised [`UsageRecord`] per LLM call (or per aggregate
//! bucket, honestly labelled), the compact columnar [`Dataset`] the analyses
//! read, and the importers that turn every supported source format into
//! records.
//!
//! No web framework here: the backend and `apex analyze` use this in-process.

pub mod dataset;
pub mod import;
pub mod record;

pub use dataset::{Dataset, Interner, Sym};
pub use import::{
    Format, ImportError, ImportOptions, ImportReport, Importer, LineError, SkipReason, detect,
    import, import_into, write_jsonl,
};
pub use record::{ServiceTier, Status, Tags, TokenCounts, UsageRecord};
