//! Prints the full analysis of the sample workload: each analysis's summary
//! line and each recommendation with its evidence. With `--json`, the whole
//! report as JSON.
//!
//! `cargo run -p analytics --release --example sample_report [-- --json] [-- --seed N --days N]`

use analytics::{AnalysisContext, full_analysis, sample_dataset};
use std::sync::Arc;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |flag: &str, default: u64| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let seed = value("--seed", 42);
    let days = u32::try_from(value("--days", 30)).unwrap_or(30);
    let dataset = Arc::new(sample_dataset(seed, days, 1.0, None));
    let ctx = AnalysisContext::new(dataset, Arc::new(pricing::Catalogue::embedded()));
    let report = match full_analysis(&ctx) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("analysis failed: {e}");
            std::process::exit(1);
        }
    };
    if args.iter().any(|a| a == "--json") {
        match serde_json::to_string_pretty(&report) {
            Ok(json) => println!("{json}"),
            Err(e) => eprintln!("{e}"),
        }
        return;
    }
    println!("{}\n", report.span.basis);
    for a in &report.analyses {
        println!("- {}: {}", a.tool, a.summary);
    }
    for r in &report.recommendations {
        println!(
            "\n## {} ({:?}, ${:.2}/month)\n{}",
            r.title, r.confidence, r.monthly_savings_usd, r.rationale
        );
        println!("action: {}", r.action);
        if let Some(l) = &r.latency_effect {
            println!("latency: {l}");
        }
        println!(
            "evidence: {} calls; models {:?}; features {:?}; rows {:?}",
            r.evidence.calls, r.evidence.models, r.evidence.features, r.evidence.sample_rows
        );
        for f in &r.evidence.figures {
            println!("  {}: {:.4} {:?}", f.label, f.value, f.unit);
        }
    }
    for n in &report.notes {
        println!("\nnote: {n}");
    }
}
