//! Full-analysis benchmark: generates the sample workload straight into a
//! `Dataset` (not timed), then times `full_analysis` (pricing every row,
//! the spend breakdown and every recommendation) and prints the peak
//! resident memory (VmHWM), the CPU time used (user + system: the figure to
//! trust on a shared machine) and the load average when it ran.
//!
//! `cargo bench -p analytics --bench analysis` (sizes default to 1M and
//! 10M rows; pass others as arguments: `-- 100000 2000000`).

use analytics::{AnalysisContext, full_analysis, sample_dataset};
use std::sync::Arc;
use std::time::Instant;

/// Sample records per 30 days at scale 1 (measured: about 8,000 a day).
const BASE_ROWS_PER_MONTH: f64 = 240_000.0;

fn vm_hwm_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// User plus system CPU seconds of this process so far.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let fields: Vec<&str> = stat.rsplit(')').next()?.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().next().unwrap_or("?").to_owned())
        .unwrap_or_default()
}

fn main() {
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.replace('_', "").parse().ok())
        .collect();
    let sizes = if sizes.is_empty() {
        vec![1_000_000, 10_000_000]
    } else {
        sizes
    };
    let catalogue = Arc::new(pricing::Catalogue::embedded());
    for n in sizes {
        let t = Instant::now();
        let scale = n as f64 / BASE_ROWS_PER_MONTH * 1.1;
        let dataset = Arc::new(sample_dataset(42, 30, scale, Some(n)));
        let generated = t.elapsed();
        let rows = dataset.len();
        let row_mib =
            (rows * std::mem::size_of::<usage::dataset::Row>()) as f64 / (1024.0 * 1024.0);

        let ctx = AnalysisContext::new(Arc::clone(&dataset), Arc::clone(&catalogue));
        let t = Instant::now();
        let cpu = cpu_seconds();
        let report = match full_analysis(&ctx) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("analysis failed: {e}");
                std::process::exit(1);
            }
        };
        let analysed = t.elapsed();
        let cpu_used = cpu.zip(cpu_seconds()).map_or(f64::NAN, |(a, b)| b - a);
        println!(
            "analysis rows={rows} generate={:.2}s full_analysis={:.3}s cpu={cpu_used:.2}s rows_per_s={:.0} \
             dataset_rows_mib={row_mib:.0} peak_rss_mib={:.0} recommendations={} monthly_spend_usd={:.0} loadavg={}",
            generated.as_secs_f64(),
            analysed.as_secs_f64(),
            rows as f64 / analysed.as_secs_f64(),
            vm_hwm_mib().unwrap_or(f64::NAN),
            report.recommendations.len(),
            report.breakdown.totals.monthly_usd,
            load_average(),
        );
        drop(ctx);
        drop(report);
    }
}
