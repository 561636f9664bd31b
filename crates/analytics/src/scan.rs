//! Row scans. Each analysis reads the rows in one pass written as a [`Scan`]
//! (a visitor of blocks of rows), so that [`crate::full_analysis`] can feed
//! one block to several analyses while it is in cache: the rows are read
//! from memory once per group of analyses, not once per analysis.

use crate::context::AnalysisContext;
use crate::error::AnalysisError;
use crate::priced::CHUNK;
use usage::dataset::Row;

/// Rows per block handed to [`Scan::visit`]: about half a MiB, cache-sized.
pub const BLOCK: usize = 4_096;

/// One analysis's pass over the rows.
pub(crate) trait Scan: Send {
    /// Looks at `rows`, which are rows `base..base + rows.len()` of the dataset, in order.
    fn visit(&mut self, base: usize, rows: &[Row]);
}

/// Feeds every row, block by block, to each scan in turn, checking for
/// cancellation every [`CHUNK`] rows.
pub(crate) fn run(ctx: &AnalysisContext, scans: &mut [&mut dyn Scan]) -> Result<(), AnalysisError> {
    for (b, rows) in ctx.dataset().rows.chunks(BLOCK).enumerate() {
        if (b * BLOCK).is_multiple_of(CHUNK) {
            ctx.check_cancelled()?;
        }
        for scan in scans.iter_mut() {
            scan.visit(b * BLOCK, rows);
        }
    }
    ctx.check_cancelled()
}
