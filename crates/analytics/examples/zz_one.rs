use analytics::{AnalysisContext, full_analysis, sample_dataset};
use std::sync::Arc;
fn main() {
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(1_000_000);
    let ds = Arc::new(sample_dataset(42, 30, n as f64 / 240_000.0 * 1.1, Some(n)));
    let ctx = AnalysisContext::new(ds, Arc::new(pricing::Catalogue::embedded()));
    let t = std::time::Instant::now();
    full_analysis(&ctx).unwrap();
    eprintln!("full {:.3}", t.elapsed().as_secs_f64());
}
