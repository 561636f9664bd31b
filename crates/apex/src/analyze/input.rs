//! Reading the input files into one dataset.
//!
//! Every file is opened before any is read, so a missing file fails at
//! once (exit code 4). Each file's format is detected from its first bytes
//! and it is streamed through one [`usage::Importer`] (one de-duplication
//! set across all files). Malformed lines, duplicates, empty files, files
//! of an unknown format and models the catalogue does not know are reported
//! on stderr and in the [`ImportSummary`]; they never abort the run.

use super::AnalyzeError;
use agents::format::thousands;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use pricing::Catalogue;
use serde::Serialize;
use std::io::{BufRead, BufReader, IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::time::Duration;
use usage::{Dataset, ImportError, ImportOptions, ImportReport, Importer, Sym};

/// Read buffer per file; format detection looks at its first fill.
const READ_BUFFER: usize = 1 << 18;
/// Inputs at least this large get a progress bar (when stderr is a terminal).
const PROGRESS_MIN_BYTES: u64 = 8 << 20;
/// Problems listed on stderr per file and for unknown models (all are counted).
const SHOWN_PROBLEMS: usize = 5;
/// Skipped lines kept per file in the summary (all are counted).
const KEPT_PROBLEMS: usize = 20;

/// What the import produced.
#[derive(Debug)]
pub(crate) struct Loaded {
    pub dataset: Dataset,
    pub summary: ImportSummary,
}

/// What was read, file by file, and what was left out. Serialised as the
/// `import` object of the JSON output: the field names are stable.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ImportSummary {
    pub files: Vec<FileSummary>,
    /// Records in the dataset: calls, and aggregate buckets of usage exports.
    pub records: u64,
    /// Calls the records stand for (a bucket counts as its number of calls).
    pub calls: u64,
    /// Of `records`, how many are aggregate buckets.
    pub aggregates: u64,
    /// Malformed lines skipped, over all files.
    pub skipped_lines: u64,
    /// Records dropped because their request id was already imported.
    pub duplicates_dropped: u64,
    /// Models the price catalogue does not know: in no dollar figure.
    pub unknown_models: Vec<UnknownModel>,
}

/// What became of one input file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum FileStatus {
    /// Read; `records` may still be 0 when no line carried usage.
    Imported,
    /// No data at all.
    Empty,
    /// Not one of the supported formats.
    UnknownFormat,
    /// Of a known format, but unusable as a whole (an oversized JSON
    /// document, an invalid CSV header).
    Unusable,
}

/// One input file's import.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct FileSummary {
    /// As given on the command line (`-` for standard input).
    pub path: String,
    pub status: FileStatus,
    /// The detected format's short name (`apex-jsonl`, `claude-code`...).
    pub format: Option<&'static str>,
    pub records: u64,
    pub aggregates: u64,
    pub duplicates_dropped: u64,
    /// Claude Code: earlier lines of a request replaced by its last line.
    pub superseded: u64,
    /// Lines without usage (user messages, non-LLM spans, empty buckets).
    pub ignored: u64,
    pub skipped_count: u64,
    /// The first skipped lines, with their 1-based line numbers.
    pub skipped: Vec<SkippedLine>,
    pub lines: u64,
    pub bytes: u64,
    /// Why nothing was imported, when the status says so.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

/// A malformed line and why it was skipped.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct SkippedLine {
    pub line: u64,
    pub reason: String,
}

/// A model string no catalogue entry (nor override) matches.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct UnknownModel {
    pub provider: Option<String>,
    pub model: String,
    pub calls: u64,
}

impl FileSummary {
    fn without_data(path: &Path, status: FileStatus, problem: Option<String>) -> FileSummary {
        FileSummary {
            path: display(path),
            status,
            format: None,
            records: 0,
            aggregates: 0,
            duplicates_dropped: 0,
            superseded: 0,
            ignored: 0,
            skipped_count: 0,
            skipped: Vec::new(),
            lines: 0,
            bytes: 0,
            problem,
        }
    }

    fn imported(path: &Path, report: &ImportReport) -> FileSummary {
        FileSummary {
            path: display(path),
            status: FileStatus::Imported,
            format: Some(report.format.name()),
            records: report.records,
            aggregates: report.aggregates,
            duplicates_dropped: report.duplicates_dropped,
            superseded: report.superseded,
            ignored: report.ignored,
            skipped_count: report.skipped_count,
            skipped: report
                .skipped
                .iter()
                .take(KEPT_PROBLEMS)
                .map(|e| SkippedLine {
                    line: e.line,
                    reason: e.reason.to_string(),
                })
                .collect(),
            lines: report.lines,
            bytes: report.bytes,
            problem: None,
        }
    }
}

fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == "-"
}

fn display(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// The inputs in a few words, for messages and the answer: `a.jsonl`,
/// `a.jsonl and b.csv`, `a.jsonl and 3 more files`, `standard input`.
pub(crate) fn describe_files(paths: &[PathBuf]) -> String {
    let name = |p: &PathBuf| {
        if is_stdin(p) {
            "standard input".to_owned()
        } else {
            display(p)
        }
    };
    match paths {
        [] => "no files".to_owned(),
        [one] => name(one),
        [a, b] => format!("{} and {}", name(a), name(b)),
        [first, rest @ ..] => format!("{} and {} more files", name(first), rest.len()),
    }
}

/// Imports every file into one dataset, reporting problems on stderr.
pub(crate) fn load(
    paths: &[PathBuf],
    catalogue: &Catalogue,
    progress: &Progress,
) -> Result<Loaded, AnalyzeError> {
    let mut readers = Vec::with_capacity(paths.len());
    for path in paths {
        readers.push((path, open(path)?));
    }
    let mut importer = Importer::new(ImportOptions::default());
    let mut dataset = Dataset::new();
    let mut files = Vec::with_capacity(paths.len());
    for (path, reader) in readers {
        let file = import_one(&mut importer, path, reader, &mut dataset, progress)?;
        progress.suspend(|| report_file(&file));
        files.push(file);
    }
    if dataset.is_empty() {
        return Err(AnalyzeError::NoRecords {
            files: describe_files(paths),
        });
    }
    let unknown_models = unknown_models(&dataset, catalogue);
    progress.suspend(|| report_unknown_models(&unknown_models));
    let summary = ImportSummary {
        records: dataset.len() as u64,
        calls: dataset.rows.iter().map(|r| u64::from(r.calls)).sum(),
        aggregates: files.iter().map(|f| f.aggregates).sum(),
        skipped_lines: files.iter().map(|f| f.skipped_count).sum(),
        duplicates_dropped: files.iter().map(|f| f.duplicates_dropped).sum(),
        unknown_models,
        files,
    };
    Ok(Loaded { dataset, summary })
}

fn open(path: &Path) -> Result<Box<dyn Read>, AnalyzeError> {
    if is_stdin(path) {
        return Ok(Box::new(std::io::stdin()));
    }
    let input_error = |source| AnalyzeError::Input {
        path: path.to_owned(),
        source,
    };
    let file = std::fs::File::open(path).map_err(input_error)?;
    let meta = file.metadata().map_err(input_error)?;
    if meta.is_dir() {
        return Err(input_error(std::io::Error::new(
            std::io::ErrorKind::IsADirectory,
            "is a directory",
        )));
    }
    Ok(Box::new(file))
}

fn import_one(
    importer: &mut Importer,
    path: &Path,
    reader: Box<dyn Read>,
    dataset: &mut Dataset,
    progress: &Progress,
) -> Result<FileSummary, AnalyzeError> {
    let input_error = |source| AnalyzeError::Input {
        path: path.to_owned(),
        source,
    };
    let counted = CountingReader {
        inner: reader,
        bar: progress.bar.clone(),
    };
    let mut reader = BufReader::with_capacity(READ_BUFFER, counted);
    let sample = reader.fill_buf().map_err(input_error)?;
    if sample.iter().all(u8::is_ascii_whitespace) {
        return Ok(FileSummary::without_data(path, FileStatus::Empty, None));
    }
    let name = (!is_stdin(path)).then(|| path.to_str()).flatten();
    let Some(format) = usage::detect(sample, name) else {
        let problem = ImportError::UnknownFormat {
            path: path.to_owned(),
        };
        return Ok(FileSummary::without_data(
            path,
            FileStatus::UnknownFormat,
            Some(problem.to_string()),
        ));
    };
    match importer.import_into(reader, format, dataset) {
        Ok(report) => Ok(FileSummary::imported(path, &report)),
        Err(ImportError::Io(source) | ImportError::Open { source, .. }) => Err(input_error(source)),
        Err(e) => {
            let mut file =
                FileSummary::without_data(path, FileStatus::Unusable, Some(e.to_string()));
            file.format = Some(format.name());
            Ok(file)
        }
    }
}

/// Counts calls per (provider, model) and keeps those the catalogue cannot resolve.
fn unknown_models(dataset: &Dataset, catalogue: &Catalogue) -> Vec<UnknownModel> {
    // Indexed by the model's symbol: a few providers per model at most.
    let mut by_model: Vec<Vec<(Sym, u64)>> = vec![Vec::new(); dataset.strings.len()];
    for row in &dataset.rows {
        let Some(providers) = by_model.get_mut(row.model.0 as usize) else {
            continue;
        };
        let calls = u64::from(row.calls);
        match providers.iter_mut().find(|(p, _)| *p == row.provider) {
            Some((_, n)) => *n += calls,
            None => providers.push((row.provider, calls)),
        }
    }
    let mut unknown = Vec::new();
    for (model_index, providers) in by_model.iter().enumerate() {
        let Some(model) = u32::try_from(model_index)
            .ok()
            .and_then(|i| dataset.str(Sym(i)))
        else {
            continue;
        };
        for &(provider_sym, calls) in providers {
            let provider = dataset.str(provider_sym);
            if catalogue.resolve(provider, model).is_none() {
                unknown.push(UnknownModel {
                    provider: provider.map(str::to_owned),
                    model: model.to_owned(),
                    calls,
                });
            }
        }
    }
    unknown.sort_by(|a, b| b.calls.cmp(&a.calls).then_with(|| a.model.cmp(&b.model)));
    unknown
}

/// Data from the files, made safe to print on a terminal: control
/// characters (escape sequences) are shown escaped, not sent.
pub(crate) fn printable(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

fn report_file(file: &FileSummary) {
    let path = printable(&file.path);
    let problem = file.problem.as_deref().map(printable).unwrap_or_default();
    match file.status {
        FileStatus::Empty => eprintln!("apex analyze: {path}: empty, nothing imported"),
        FileStatus::UnknownFormat | FileStatus::Unusable => {
            eprintln!("apex analyze: {path}: {problem}; file skipped");
        }
        FileStatus::Imported => {
            if file.skipped_count > 0 {
                eprintln!(
                    "apex analyze: {path}: skipped {} malformed line(s):",
                    thousands(file.skipped_count)
                );
                for skipped in file.skipped.iter().take(SHOWN_PROBLEMS) {
                    eprintln!(
                        "apex analyze: {path}:{}: {}",
                        skipped.line,
                        printable(&skipped.reason)
                    );
                }
                let shown = file.skipped.len().min(SHOWN_PROBLEMS) as u64;
                if file.skipped_count > shown {
                    eprintln!(
                        "apex analyze: {path}: ... and {} more",
                        thousands(file.skipped_count - shown)
                    );
                }
            }
            if file.duplicates_dropped > 0 {
                eprintln!(
                    "apex analyze: {path}: dropped {} duplicate record(s) (request id already imported)",
                    thousands(file.duplicates_dropped)
                );
            }
            if file.records == 0 {
                eprintln!(
                    "apex analyze: {path}: no usage records in this {} file",
                    file.format.unwrap_or("input")
                );
            }
        }
    }
}

fn report_unknown_models(unknown: &[UnknownModel]) {
    if unknown.is_empty() {
        return;
    }
    let calls: u64 = unknown.iter().map(|m| m.calls).sum();
    eprintln!(
        "apex analyze: {} call(s) of {} model(s) the price catalogue does not know are in no dollar figure (price them with --prices):",
        thousands(calls),
        unknown.len()
    );
    for m in unknown.iter().take(SHOWN_PROBLEMS) {
        let provider = m
            .provider
            .as_deref()
            .map(|p| format!(" (provider {})", printable(p)))
            .unwrap_or_default();
        eprintln!(
            "apex analyze:   {}{provider}: {} call(s)",
            printable(&m.model),
            thousands(m.calls)
        );
    }
    if unknown.len() > SHOWN_PROBLEMS {
        eprintln!(
            "apex analyze:   ... and {} more model(s)",
            unknown.len() - SHOWN_PROBLEMS
        );
    }
}

/// A reader that advances the progress bar by the bytes it reads.
struct CountingReader {
    inner: Box<dyn Read>,
    bar: ProgressBar,
}

impl Read for CountingReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bar.inc(n as u64);
        Ok(n)
    }
}

/// The progress display on stderr: a bar by bytes read for large inputs
/// (a byte counter for standard input), then a spinner while the agents
/// work. Hidden unless stderr is a terminal.
#[derive(Debug)]
pub(crate) struct Progress {
    bar: ProgressBar,
}

impl Progress {
    /// A bar when stderr is a terminal and the input is large (or standard input).
    pub(crate) fn for_inputs(paths: &[PathBuf]) -> Progress {
        if !std::io::stderr().is_terminal() {
            return Progress::hidden();
        }
        let stdin = paths.iter().any(|p| is_stdin(p));
        let total: u64 = paths
            .iter()
            .filter(|p| !is_stdin(p))
            .filter_map(|p| std::fs::metadata(p).ok())
            .map(|m| m.len())
            .sum();
        if !stdin && total < PROGRESS_MIN_BYTES {
            return Progress::hidden();
        }
        let (length, template) = if stdin {
            (
                None,
                "{spinner} reading {binary_bytes} ({binary_bytes_per_sec})",
            )
        } else {
            (
                Some(total),
                "reading [{bar:30}] {binary_bytes}/{binary_total_bytes} ({binary_bytes_per_sec}, {eta} left)",
            )
        };
        let bar = ProgressBar::with_draw_target(length, ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style.progress_chars("=> "));
        }
        Progress { bar }
    }

    /// No display at all.
    pub(crate) fn hidden() -> Progress {
        Progress {
            bar: ProgressBar::hidden(),
        }
    }

    /// Switches to a spinner while the agents analyse `records` records.
    pub(crate) fn analysing(&self, records: usize) {
        if self.bar.is_hidden() {
            return;
        }
        if let Ok(style) = ProgressStyle::with_template("{spinner} analysing {msg} ({elapsed})") {
            self.bar.set_style(style);
        }
        self.bar
            .set_message(format!("{} records", thousands(records as u64)));
        self.bar.enable_steady_tick(Duration::from_millis(120));
    }

    /// Removes the display.
    pub(crate) fn finish(&self) {
        self.bar.finish_and_clear();
    }

    /// Runs `f` (which prints to stderr) with the display out of the way.
    pub(crate) fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        self.bar.suspend(f)
    }
}

impl Drop for Progress {
    /// However the run ends, the display is gone before its last message.
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}
