//! Import throughput benchmark: generates 1M and 10M records of Apex's own
//! JSONL schema and of Claude Code transcript lines into temporary files
//! (not timed), then imports each file into a `usage::Dataset` in a child
//! process (so peak memory figures do not mix) and prints records/s, MB/s
//! and peak resident memory (VmHWM).
//!
//! ```text
//! cargo bench -p usage --bench import                      # 1M and 10M, both formats
//! cargo bench -p usage --bench import -- --sizes 1000000   # only 1M
//! cargo bench -p usage --bench import -- --formats apex-jsonl
//! cargo bench -p usage --bench import -- --sizes 20000 --keep /tmp/files  # keep the generated files
//! cargo bench -p usage --bench import -- --threads 1      # parse on the calling thread only
//! ```

use chrono::{DateTime, Duration, Utc};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;
use usage::{Dataset, Format, ImportOptions, Importer, TokenCounts, UsageRecord};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--child") {
        child(&args[1..]);
        return;
    }
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let sizes: Vec<u64> = value("--sizes")
        .map(|s| s.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![1_000_000, 10_000_000]);
    let formats: Vec<Format> = value("--formats")
        .map(|s| s.split(',').filter_map(|f| f.parse().ok()).collect())
        .unwrap_or_else(|| vec![Format::ApexJsonl, Format::ClaudeCodeTranscript]);

    let keep = value("--keep").map(PathBuf::from);
    let dir = keep.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("apex-usage-bench-{}", std::process::id()))
    });
    std::fs::create_dir_all(&dir).expect("temp dir");
    let threads = value("--threads")
        .and_then(|t| t.parse::<usize>().ok())
        .unwrap_or(ImportOptions::default().threads);
    println!(
        "threads: {threads}; load average before: {}",
        load_average()
    );
    println!(
        "{:<12} {:>11} {:>11} {:>7} {:>7} {:>11} {:>6} {:>8} {:>13} {:>8}",
        "format",
        "records",
        "lines",
        "MB",
        "secs",
        "records/s",
        "MB/s",
        "CPU s",
        "rec/CPU-s",
        "peak MB"
    );
    for &format in &formats {
        for &n in &sizes {
            let path = dir.join(format!("{}-{n}.jsonl", format.name()));
            let t = Instant::now();
            generate(format, n, &path);
            eprintln!(
                "generated {} ({n} records) in {:.1}s",
                path.display(),
                t.elapsed().as_secs_f64()
            );
            let out = Command::new(std::env::current_exe().expect("own path"))
                .args([
                    "--child",
                    format.name(),
                    &path.to_string_lossy(),
                    &threads.to_string(),
                ])
                .output()
                .expect("child runs");
            print!("{}", String::from_utf8_lossy(&out.stdout));
            eprint!("{}", String::from_utf8_lossy(&out.stderr));
            if !out.status.success() {
                eprintln!("child failed: {}", out.status);
            }
            if keep.is_none() {
                let _ = std::fs::remove_file(&path);
            }
        }
    }
    if keep.is_none() {
        let _ = std::fs::remove_dir(&dir);
    }
}

/// Imports one file into a Dataset and prints one result row.
fn child(args: &[String]) {
    let format: Format = args[0].parse().expect("format name");
    let path = PathBuf::from(&args[1]);
    let bytes = std::fs::metadata(&path).expect("file").len();
    let null_sink = std::env::var("APEX_BENCH_SINK").is_ok_and(|v| v == "none");
    let mut ds = Dataset::new();
    let threads = args
        .get(2)
        .and_then(|t| t.parse().ok())
        .unwrap_or(ImportOptions::default().threads);
    let mut importer = Importer::new(ImportOptions {
        threads,
        ..ImportOptions::default()
    });
    let cpu0 = cpu_secs();
    let t = Instant::now();
    let report = if null_sink {
        importer
            .import_path(&path, Some(format), &mut |_| {})
            .expect("import")
    } else {
        importer
            .import_path_into(&path, Some(format), &mut ds)
            .expect("import")
    };
    let secs = t.elapsed().as_secs_f64();
    let cpu = cpu_secs() - cpu0;
    assert_eq!(report.skipped_count, 0, "generated data imports cleanly");
    assert!(null_sink || ds.len() as u64 == report.records);
    let mb = bytes as f64 / 1e6;
    println!(
        "{:<12} {:>11} {:>11} {:>7.0} {:>7.2} {:>11.0} {:>6.0} {:>8.2} {:>13.0} {:>8.0}",
        format.name(),
        report.records,
        report.lines,
        mb,
        secs,
        report.records as f64 / secs,
        mb / secs,
        cpu,
        report.records as f64 / cpu,
        peak_rss_mb()
    );
}

/// The 1-, 5- and 15-minute load averages (other work on the machine).
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// CPU time of this process so far (user + system, all threads), from /proc/self/stat.
fn cpu_secs() -> f64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            let rest = &s[s.rfind(')')? + 2..];
            let f: Vec<&str> = rest.split_whitespace().collect();
            Some((f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?) / 100.0)
        })
        .unwrap_or(f64::NAN)
}

/// Peak resident set size of this process (VmHWM), in MB.
fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb * 1024.0 / 1e6)
}

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const MODELS: [(&str, &str); 5] = [
    ("openai", "gpt-4o-2024-08-06"),
    ("openai", "gpt-4o-mini-2024-07-18"),
    ("anthropic", "claude-sonnet-4-20250514"),
    ("anthropic", "claude-3-5-haiku-20241022"),
    ("google", "gemini-2.5-flash"),
];
const FEATURES: [&str; 6] = [
    "chat",
    "search",
    "summaries",
    "classifier",
    "agent",
    "nightly-batch",
];

fn generate(format: Format, n: u64, path: &Path) {
    let mut w = BufWriter::with_capacity(1 << 20, std::fs::File::create(path).expect("create"));
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let start: DateTime<Utc> = DateTime::from_timestamp(1_754_000_000, 0).expect("valid");
    match format {
        Format::ClaudeCodeTranscript => claude_code(&mut w, &mut rng, start, n),
        _ => apex_jsonl(&mut w, &mut rng, start, n),
    }
    w.flush().expect("flush");
}

fn apex_jsonl(w: &mut impl Write, rng: &mut Rng, start: DateTime<Utc>, n: u64) {
    for i in 0..n {
        let (provider, model) = MODELS[rng.below(5) as usize];
        let feature = FEATURES[rng.below(6) as usize];
        let cached = rng.below(3) == 0;
        let prompt = 200 + rng.below(6000);
        let tokens = TokenCounts {
            input_uncached: if cached { prompt / 5 } else { prompt },
            cache_read: if cached { prompt * 4 / 5 } else { 0 },
            cache_write_5m: if provider == "anthropic" && rng.below(10) == 0 {
                1500
            } else {
                0
            },
            cache_write_1h: 0,
            output: 20 + rng.below(800),
            reasoning: 0,
        };
        let mut r = UsageRecord::call(
            start + Duration::milliseconds((i * 2_600) as i64),
            Some(provider),
            model,
            tokens,
        );
        r.latency_ms = Some(300 + rng.below(5000) as u32);
        r.request_id = Some(format!("req-{i:010x}"));
        r.tags.user = Some(format!("user-{:04}", rng.below(2000)));
        r.tags.feature = Some(feature.to_owned());
        r.tags.endpoint = Some(format!("/api/{feature}"));
        r.tags.environment = Some("prod".to_owned());
        r.prompt_hash = Some(rng.next());
        r.prefix_hash = cached.then(|| rng.below(50));
        r.prefix_tokens = cached.then_some((prompt * 4 / 5) as u32);
        r.attempt = Some(1);
        usage::write_jsonl(w, &r).expect("write");
    }
}

/// Realistic transcript structure: per request a user line (prompt or tool
/// result) and one or two assistant lines (one in three requests streams two
/// content blocks); `n` is the number of requests, i.e. of records.
fn claude_code(w: &mut impl Write, rng: &mut Rng, start: DateTime<Utc>, n: u64) {
    let session = "0b7e0a52-2222-4b4b-8d8d-000000000002";
    let cwd = "/home/dev/projects/billing-service";
    for i in 0..n {
        let t = start + Duration::milliseconds((i * 2_600) as i64);
        let ts = t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        writeln!(
            w,
            r#"{{"parentUuid":"u{i:x}p","isSidechain":false,"userType":"external","cwd":"{cwd}","sessionId":"{session}","version":"1.0.83","gitBranch":"main","type":"user","message":{{"role":"user","content":[{{"tool_use_id":"toolu_{i:016x}","type":"tool_result","content":"fn total(items: &[Item]) -> Money {{ items.iter().map(|i| i.price * i.qty).sum() }} // {i}"}}]}},"uuid":"u{i:x}","timestamp":"{ts}"}}"#
        )
        .expect("write");
        let model = if rng.below(4) == 0 {
            "claude-3-5-haiku-20241022"
        } else {
            "claude-sonnet-4-20250514"
        };
        let lines = if rng.below(3) == 0 { 2 } else { 1 };
        let read = 10_000 + rng.below(60_000);
        let write = rng.below(4_000);
        let out = 50 + rng.below(1500);
        for part in 0..lines {
            let output = if part + 1 == lines { out } else { 1 };
            let content = if part + 1 == lines {
                r#"{"type":"text","text":"I updated the invoice totals so that rounding happens once, after summing line items; tests pass."}"#
            } else {
                r#"{"type":"thinking","thinking":"Check where rounding happens before changing it.","signature":"EqQBCkgIBRABGAIiQL"}"#
            };
            writeln!(
                w,
                r#"{{"parentUuid":"u{i:x}","isSidechain":false,"userType":"external","cwd":"{cwd}","sessionId":"{session}","version":"1.0.83","gitBranch":"main","message":{{"id":"msg_{i:016x}","type":"message","role":"assistant","model":"{model}","content":[{content}],"stop_reason":"end_turn","stop_sequence":null,"usage":{{"input_tokens":{inp},"cache_creation_input_tokens":{write},"cache_read_input_tokens":{read},"cache_creation":{{"ephemeral_5m_input_tokens":{write},"ephemeral_1h_input_tokens":0}},"output_tokens":{output},"service_tier":"standard"}}}},"requestId":"req_{i:016x}","type":"assistant","uuid":"a{i:x}{part}","timestamp":"{ts}"}}"#,
                inp = 3 + rng.below(20),
            )
            .expect("write");
        }
    }
}
