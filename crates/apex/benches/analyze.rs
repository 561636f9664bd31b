//! `apex analyze` end to end: writes the seeded sample workload as Apex
//! JSONL (30 days, about 250,000 calls; and the same month at 4x the
//! traffic, about a million), not timed, then runs the release `apex
//! analyze` binary on each file under `/usr/bin/time -v` and prints wall
//! time, throughput and peak resident memory per output format.
//!
//! ```text
//! cargo bench -p apex --bench analyze
//! cargo bench -p apex --bench analyze -- --scales 1 --formats json   # one run
//! cargo bench -p apex --bench analyze -- --keep /tmp/apex-sample      # keep the files
//! ```

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let scales: Vec<f64> = value("--scales")
        .map(|s| s.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![1.0, 4.0]);
    let formats: Vec<String> = value("--formats")
        .map(|s| s.split(',').map(str::to_owned).collect())
        .unwrap_or_else(|| vec!["json".to_owned(), "html".to_owned()]);
    let days: u32 = value("--days").and_then(|d| d.parse().ok()).unwrap_or(30);
    let keep = value("--keep").map(PathBuf::from);
    let dir = keep.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("apex-analyze-bench-{}", std::process::id()))
    });
    std::fs::create_dir_all(&dir).expect("bench directory");

    println!(
        "{:<28} {:>10} {:>8} {:>7} {:>8} {:>12} {:>12}",
        "input", "records", "MB", "format", "wall s", "records/s", "peak RSS MB"
    );
    for scale in scales {
        let path = dir.join(format!("sample-{days}d-x{scale}.jsonl"));
        let records = write_sample(&path, days, scale);
        let mb = std::fs::metadata(&path).map_or(0.0, |m| m.len() as f64 / 1e6);
        for format in &formats {
            let out = dir.join(format!("report-x{scale}.{format}"));
            let (wall, peak_kib) = run(&path, format, &out);
            println!(
                "{:<28} {:>10} {:>8.1} {:>7} {:>8.2} {:>12.0} {:>12}",
                path.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                records,
                mb,
                format,
                wall,
                records as f64 / wall,
                peak_kib.map_or_else(|| "n/a".to_owned(), |k| format!("{:.0}", k as f64 / 1024.0)),
            );
        }
    }
    if keep.is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// Writes the sample at `scale` times the traffic; returns the record count.
fn write_sample(path: &Path, days: u32, scale: f64) -> u64 {
    let file = std::fs::File::create(path).expect("create sample file");
    let mut w = BufWriter::with_capacity(1 << 20, file);
    let mut n = 0;
    for record in analytics::SampleWorkload::new(42, days).with_scale(scale) {
        usage::write_jsonl(&mut w, &record).expect("write sample");
        n += 1;
    }
    w.flush().expect("flush sample");
    n
}

/// Runs `apex analyze` once; wall seconds and, with `/usr/bin/time`, peak RSS in KiB.
fn run(input: &Path, format: &str, out: &Path) -> (f64, Option<u64>) {
    let apex = env!("CARGO_BIN_EXE_apex");
    let timed = Path::new("/usr/bin/time").exists();
    let mut cmd = if timed {
        let mut c = Command::new("/usr/bin/time");
        c.arg("-v").arg(apex);
        c
    } else {
        Command::new(apex)
    };
    cmd.arg("analyze")
        .arg(input)
        .args(["--format", format, "--out"])
        .arg(out);
    let start = Instant::now();
    let output = cmd.output().expect("run apex analyze");
    let wall = start.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "apex analyze failed: {stderr}");
    let peak = stderr
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("Maximum resident set size (kbytes): ")
        })
        .and_then(|v| v.trim().parse().ok());
    (wall, peak)
}
