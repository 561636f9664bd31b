//! The [`AnalysisContext`]: what every analysis reads (dataset, catalogue,
//! tier table, rate limits), the cancellation check, and the priced view
//! computed once and shared by every tool called on the same context.

use crate::error::AnalysisError;
use crate::priced::PricedView;
use crate::providers::{ProviderFacts, RateLimits};
use crate::tiers::TierTable;
use pricing::Catalogue;
use std::fmt;
use std::sync::{Arc, OnceLock};
use usage::Dataset;

/// A cancellation check: returns true once the work should stop.
pub type CancelCheck = Arc<dyn Fn() -> bool + Send + Sync>;

/// Everything an analysis reads. Cheap to share (`Arc`s inside); build one
/// per dataset and call any number of tools on it: the per-row costs are
/// computed by the first tool and reused by the others.
pub struct AnalysisContext {
    dataset: Arc<Dataset>,
    catalogue: Arc<Catalogue>,
    tiers: Arc<TierTable>,
    facts: Arc<ProviderFacts>,
    rate_limits: RateLimits,
    cancel: Option<CancelCheck>,
    priced: OnceLock<PricedView>,
}

impl fmt::Debug for AnalysisContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AnalysisContext")
            .field("rows", &self.dataset.len())
            .field("catalogue_date", &self.catalogue.snapshot_date())
            .field("rate_limits", &self.rate_limits.limits.len())
            .field("cancellable", &self.cancel.is_some())
            .field("priced", &self.priced.get().is_some())
            .finish()
    }
}

impl AnalysisContext {
    /// A context with the shipped tier table and provider facts, and the
    /// assumed default rate limits ([`RateLimits::assumed_defaults`]).
    pub fn new(dataset: Arc<Dataset>, catalogue: Arc<Catalogue>) -> Self {
        AnalysisContext {
            dataset,
            catalogue,
            tiers: Arc::new(TierTable::embedded()),
            facts: Arc::new(ProviderFacts::embedded()),
            rate_limits: RateLimits::assumed_defaults(),
            cancel: None,
            priced: OnceLock::new(),
        }
    }

    /// Replaces the tier table (e.g. with the user's own evaluations).
    pub fn with_tiers(mut self, tiers: Arc<TierTable>) -> Self {
        self.tiers = tiers;
        self
    }

    /// Replaces the provider facts (batch offers, cache rules).
    pub fn with_provider_facts(mut self, facts: Arc<ProviderFacts>) -> Self {
        self.facts = facts;
        self
    }

    /// Replaces the rate limits the capacity analysis checks against.
    pub fn with_rate_limits(mut self, limits: RateLimits) -> Self {
        self.rate_limits = limits;
        self
    }

    /// Sets the cancellation check, polled between and inside analyses
    /// (every 65,536 rows). A cancelled analysis returns
    /// [`AnalysisError::Cancelled`].
    pub fn with_cancel(mut self, is_cancelled: impl Fn() -> bool + Send + Sync + 'static) -> Self {
        self.cancel = Some(Arc::new(is_cancelled));
        self
    }

    pub fn dataset(&self) -> &Dataset {
        &self.dataset
    }

    pub fn catalogue(&self) -> &Catalogue {
        &self.catalogue
    }

    pub fn tiers(&self) -> &TierTable {
        &self.tiers
    }

    pub fn provider_facts(&self) -> &ProviderFacts {
        &self.facts
    }

    pub fn rate_limits(&self) -> &RateLimits {
        &self.rate_limits
    }

    /// True once the cancellation check says so.
    pub fn is_cancelled(&self) -> bool {
        self.cancel.as_ref().is_some_and(|c| c())
    }

    /// `Err(Cancelled)` once cancelled.
    pub fn check_cancelled(&self) -> Result<(), AnalysisError> {
        if self.is_cancelled() {
            Err(AnalysisError::Cancelled)
        } else {
            Ok(())
        }
    }

    /// The priced view, computed on first use. A cancelled computation is
    /// not kept: the next call starts again.
    pub fn priced(&self) -> Result<&PricedView, AnalysisError> {
        if let Some(view) = self.priced.get() {
            return Ok(view);
        }
        let view = PricedView::build(self)?;
        Ok(self.priced.get_or_init(|| view))
    }
}
