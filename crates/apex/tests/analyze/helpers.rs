//! Running the binary and writing input files.

use std::ffi::OsStr;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use usage::UsageRecord;

/// Days of the sample workload the tests analyse (about 8,000 calls a day).
pub const SAMPLE_DAYS: u32 = 2;

/// A directory of its own for one test, removed when dropped.
pub struct TestDir(PathBuf);

impl TestDir {
    pub fn new(name: &str) -> TestDir {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("apex-analyze-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TestDir(dir)
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    /// Names of the files in the directory, sorted.
    pub fn listing(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&self.0)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    /// Writes `text` to a file of this directory.
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    /// Writes records as Apex JSONL (the `usage` crate's writer).
    pub fn write_records(&self, name: &str, records: &[UsageRecord]) -> PathBuf {
        let path = self.path(name);
        let mut out = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        for r in records {
            usage::write_jsonl(&mut out, r).unwrap();
        }
        out.flush().unwrap();
        path
    }

    /// The sample workload as Apex JSONL; returns the path and the record count.
    pub fn sample(&self, name: &str) -> (PathBuf, usize) {
        let records = analytics::sample_workload(42, SAMPLE_DAYS);
        (self.write_records(name, &records), records.len())
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What a run of `apex analyze` did.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Asserts success and returns stdout.
    #[track_caller]
    pub fn ok(&self) -> &str {
        assert_eq!(self.code, 0, "stderr: {}", self.stderr);
        &self.stdout
    }

    /// Parses stdout as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(self.ok()).unwrap()
    }
}

/// Runs `apex analyze ARGS...` with nothing on stdin.
pub fn analyze<S: AsRef<OsStr>>(args: &[S]) -> Run {
    analyze_with_stdin(args, &[])
}

/// Runs `apex analyze ARGS...` with `stdin` piped in.
pub fn analyze_with_stdin<S: AsRef<OsStr>>(args: &[S], stdin: &[u8]) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_apex"))
        .arg("analyze")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        // The child may exit without reading everything: ignore a broken pipe.
        let _ = input.write_all(&data);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    Run {
        code: out.status.code().expect("exited normally"),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

/// Every line of stderr starts with the command's prefix.
#[track_caller]
pub fn assert_prefixed(stderr: &str) {
    for line in stderr.lines() {
        assert!(
            line.starts_with("apex analyze:"),
            "unprefixed line {line:?} in {stderr}"
        );
    }
}
