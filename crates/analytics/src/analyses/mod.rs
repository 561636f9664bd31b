//! The analyses. Each is a tool: a typed input (serde, with defaults and
//! unknown fields rejected), a typed output with a one-line `summary()`, and,
//! for the recommendations, an optional [`crate::Recommendation`].

pub mod batch;
pub mod breakdown;
pub mod capacity;
pub mod oversized;
pub mod prompt_caching;
pub mod response_caching;
pub mod retries;
pub mod substitution;

pub use batch::{BatchApiInput, BatchApiOutput, BatchReason, BatchSegment, batch_api};
pub use breakdown::{SpendBreakdown, SpendBreakdownInput, spend_breakdown};
pub use capacity::{CapacityInput, CapacityOutput, ModelCapacity, capacity};
pub use oversized::{OversizedFeature, OversizedInput, OversizedOutput, oversized_requests};
pub use prompt_caching::{PrefixGroup, PromptCachingInput, PromptCachingOutput, prompt_caching};
pub use response_caching::{
    DuplicateGroup, ResponseCachingInput, ResponseCachingOutput, response_caching,
};
pub use retries::{RetryWasteInput, RetryWasteOutput, WasteSegment, retry_waste};
pub use substitution::{
    ModelSubstitutionInput, ModelSubstitutionOutput, Substitution, model_substitution,
};
