//! Where an import delivers its records: a caller's `FnMut(&UsageRecord)`,
//! or a [`Dataset`](crate::Dataset), which also takes the record's tag strings as ids into the batch
//! being replayed, so a [`Dataset`](crate::Dataset) interns each distinct
//! string once per batch instead of hashing six strings per record on the
//! import's one ordered thread (the parallel import's bottleneck).

use crate::record::UsageRecord;

/// The id of an absent string in [`TagIds`].
pub(crate) const NO_TAG: u32 = u32::MAX;

/// Ids of a record's interned strings in the current batch's [`TagStrings`]
/// ([`NO_TAG`] when the string is absent).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TagIds {
    pub provider: u32,
    pub model: u32,
    pub user: u32,
    pub feature: u32,
    pub endpoint: u32,
    pub environment: u32,
}

/// The strings of the batch being replayed, by id.
pub(crate) trait TagStrings {
    /// The string of `id`, an id this batch handed out.
    fn tag(&self, id: u32) -> &str;
}

/// Receives imported records, in input order.
pub(crate) trait RecordSink {
    fn record(&mut self, r: &UsageRecord);

    /// A new batch starts: ids of earlier batches are no longer valid.
    fn begin_batch(&mut self) {}

    /// True when [`record_tagged`](Self::record_tagged) reads the tag
    /// strings only from their ids: the importer then leaves the record's
    /// provider, request id and tags unset on that path.
    fn uses_tags(&self) -> bool {
        false
    }

    /// `record`, with the record's tag strings also given as ids into
    /// `strings`, valid until the next [`begin_batch`](Self::begin_batch).
    /// The strings in `r` are the same, unless [`uses_tags`](Self::uses_tags).
    fn record_tagged(&mut self, r: &UsageRecord, ids: TagIds, strings: &dyn TagStrings) {
        let _ = (ids, strings);
        self.record(r);
    }
}

/// A caller's closure as a sink.
pub(crate) struct FnSink<'a>(pub &'a mut dyn FnMut(&UsageRecord));

impl RecordSink for FnSink<'_> {
    fn record(&mut self, r: &UsageRecord) {
        (self.0)(r);
    }
}
