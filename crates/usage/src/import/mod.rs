//! Importers: every supported source format into [`UsageRecord`]s.
//!
//! - [`detect`] guesses the [`Format`] from the first bytes of a file.
//! - [`import`] (or an [`Importer`], which keeps one de-duplication set
//!   across several files) streams any [`BufRead`] into a sink, one record at
//!   a time; memory stays constant in the file size except for the set of
//!   request-id hashes (8 bytes per distinct id) and, for whole-document JSON
//!   exports (a pretty-printed usage-API page), the document itself.
//! - A malformed line is skipped and reported with its 1-based line number
//!   and reason ([`ImportReport::skipped`]); it never aborts the import.
//!   Only I/O errors (and a document over the size limit) stop it.
//! - Records with a request id already seen are dropped as duplicates.
//!
//! How each source counts cache tokens, and how it is normalised to
//! [`TokenCounts`](crate::TokenCounts) (uncached input never includes cache
//! reads or writes), is documented in each format's module and in
//! `docs/usage-schema.md`.

mod anthropic;
mod apex;
mod claude_code;
mod detect;
mod driver;
pub(crate) mod fields;
mod flat;
mod litellm;
mod openai;
mod otel;
mod parallel;
mod sink;
mod write;

use crate::Dataset;
pub use detect::detect;
pub use fields::catalogue_provider_id;
use sink::FnSink;
pub(crate) use sink::{NO_TAG, RecordSink, TagIds, TagStrings};
pub use write::{CSV_HEADER, CsvWriter, write_jsonl};

use crate::record::UsageRecord;
use fields::SeenSet;
use std::fmt;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

/// A supported source format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// Apex's own JSON Lines schema (`docs/usage-schema.md`).
    ApexJsonl,
    /// Apex's own CSV schema (same fields, flat).
    ApexCsv,
    /// OpenTelemetry spans with `gen_ai.*` attributes: OTLP JSON
    /// (`resourceSpans`), or one flattened span object per line.
    OtelSpans,
    /// LiteLLM proxy spend logs (`/spend/logs` API or `LiteLLM_SpendLogs` rows as JSON).
    LiteLlmSpendLogs,
    /// OpenAI organization usage API, completions buckets.
    OpenAiUsageBuckets,
    /// Anthropic Admin API usage report (messages).
    AnthropicUsageReport,
    /// Claude Code session transcripts (`~/.claude/projects/*/*.jsonl`).
    ClaudeCodeTranscript,
}

impl Format {
    pub const ALL: [Format; 7] = [
        Format::ApexJsonl,
        Format::ApexCsv,
        Format::OtelSpans,
        Format::LiteLlmSpendLogs,
        Format::OpenAiUsageBuckets,
        Format::AnthropicUsageReport,
        Format::ClaudeCodeTranscript,
    ];

    /// Short stable name (`apex-jsonl`, `otel`, `claude-code`...), for CLIs and reports.
    pub fn name(self) -> &'static str {
        match self {
            Format::ApexJsonl => "apex-jsonl",
            Format::ApexCsv => "apex-csv",
            Format::OtelSpans => "otel",
            Format::LiteLlmSpendLogs => "litellm",
            Format::OpenAiUsageBuckets => "openai-usage",
            Format::AnthropicUsageReport => "anthropic-usage",
            Format::ClaudeCodeTranscript => "claude-code",
        }
    }

    /// Whether the source gives aggregates (usage-API buckets) rather than calls.
    pub fn is_aggregated(self) -> bool {
        matches!(
            self,
            Format::OpenAiUsageBuckets | Format::AnthropicUsageReport
        )
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Format {
    type Err = ImportError;
    fn from_str(s: &str) -> Result<Format, ImportError> {
        Format::ALL
            .into_iter()
            .find(|f| f.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| ImportError::UnknownFormatName(s.to_owned()))
    }
}

/// Import settings. `Default` gives sensible limits.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Lines longer than this are skipped (reported) without being buffered whole.
    pub max_line_bytes: usize,
    /// Largest whole-document JSON (pretty-printed export) read into memory.
    pub max_document_bytes: usize,
    /// How many skipped-line reasons to keep in the report (all are counted).
    pub max_stored_errors: usize,
    /// Claude Code: how many distinct request ids wait for later lines
    /// before the oldest is emitted (see the `claude_code` module docs).
    pub pending_window: usize,
    /// Threads parsing JSON Lines input (1 = on the calling thread only).
    /// Results, line numbers and de-duplication are the same either way.
    pub threads: usize,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            max_line_bytes: 64 << 20,
            max_document_bytes: 256 << 20,
            max_stored_errors: 100,
            pending_window: 64,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get().min(4)),
        }
    }
}

/// A skipped line (or document item) and why.
#[derive(Debug, Clone, PartialEq)]
pub struct LineError {
    /// 1-based line number (for a multi-line JSON document: the line where the item starts).
    pub line: u64,
    pub reason: SkipReason,
}

/// Why a line or item was skipped.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SkipReason {
    #[error("invalid JSON: {0}")]
    InvalidJson(String),
    #[error("invalid CSV: {0}")]
    InvalidCsv(String),
    #[error("not valid UTF-8")]
    NotUtf8,
    #[error("line longer than {limit} bytes")]
    LineTooLong { limit: usize },
    #[error("missing field `{0}`")]
    MissingField(&'static str),
    #[error("invalid `{field}`: {value:?}")]
    InvalidField { field: &'static str, value: String },
    #[error("expected {expected} CSV fields, found {found}")]
    FieldCount { expected: usize, found: usize },
    #[error("{cached} cached tokens exceed the {total} input tokens that should include them")]
    CacheExceedsInput { cached: u64, total: u64 },
    #[error("not a {0} record")]
    WrongShape(Format),
}

impl SkipReason {
    pub(crate) fn json(e: &serde_json::Error) -> SkipReason {
        // serde_json appends "at line 1 column N": keep the column, the line is ours.
        let msg = e.to_string();
        let msg = msg
            .strip_suffix(&format!(" at line {} column {}", e.line(), e.column()))
            .unwrap_or(&msg);
        SkipReason::InvalidJson(format!("{msg} (column {})", e.column()))
    }
}

/// What an import did.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportReport {
    pub format: Format,
    /// Records passed to the sink (calls and aggregates).
    pub records: u64,
    /// Of `records`, how many are aggregates (usage-API buckets), not calls.
    pub aggregates: u64,
    /// Records dropped because their request id was already imported.
    pub duplicates_dropped: u64,
    /// Claude Code: earlier lines of a request replaced by its last line.
    pub superseded: u64,
    /// Lines or items that carry no usage: user and summary lines, non-LLM
    /// spans, `<synthetic>` messages, empty buckets.
    pub ignored: u64,
    /// The first [`ImportOptions::max_stored_errors`] skipped lines.
    pub skipped: Vec<LineError>,
    /// All skipped lines or items.
    pub skipped_count: u64,
    /// Lines read.
    pub lines: u64,
    /// Bytes read.
    pub bytes: u64,
}

impl ImportReport {
    pub(crate) fn new(format: Format) -> Self {
        ImportReport {
            format,
            records: 0,
            aggregates: 0,
            duplicates_dropped: 0,
            superseded: 0,
            ignored: 0,
            skipped: Vec::new(),
            skipped_count: 0,
            lines: 0,
            bytes: 0,
        }
    }
}

/// Errors that stop an import. Bad lines never do: they are reported in
/// [`ImportReport::skipped`].
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("read error: {0}")]
    Io(#[from] std::io::Error),
    #[error("cannot open {}: {source}", .path.display())]
    Open {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("JSON document larger than {limit} bytes (use JSON Lines for large exports)")]
    DocumentTooLarge { limit: usize },
    #[error("cannot tell the format of {}: not one of apex-jsonl, apex-csv, otel, litellm, openai-usage, anthropic-usage, claude-code", .path.display())]
    UnknownFormat { path: std::path::PathBuf },
    #[error("unknown format name `{0}`")]
    UnknownFormatName(String),
    #[error("CSV header: {0}")]
    CsvHeader(#[source] csv::Error),
}

/// Imports several sources with one de-duplication set, so a request seen
/// in two files (Claude Code copies history into resumed sessions; exports
/// overlap) is kept once.
#[derive(Debug, Default)]
pub struct Importer {
    opts: ImportOptions,
    seen: SeenSet,
}

impl Importer {
    pub fn new(opts: ImportOptions) -> Self {
        Importer {
            opts,
            seen: SeenSet::default(),
        }
    }

    /// Streams `reader` in `format` into `sink`.
    pub fn import<R: BufRead>(
        &mut self,
        reader: R,
        format: Format,
        sink: &mut dyn FnMut(&UsageRecord),
    ) -> Result<ImportReport, ImportError> {
        driver::run(
            reader,
            format,
            &self.opts,
            &mut self.seen,
            &mut FnSink(sink),
        )
    }

    /// Streams `reader` in `format` into `dataset`: the same records as
    /// [`import`](Self::import) with `|r| dataset.push(r)`, interned faster.
    pub fn import_into<R: BufRead>(
        &mut self,
        reader: R,
        format: Format,
        dataset: &mut Dataset,
    ) -> Result<ImportReport, ImportError> {
        driver::run(reader, format, &self.opts, &mut self.seen, dataset)
    }

    /// Opens `path`, detects its format unless given, and imports it.
    pub fn import_path(
        &mut self,
        path: &Path,
        format: Option<Format>,
        sink: &mut dyn FnMut(&UsageRecord),
    ) -> Result<ImportReport, ImportError> {
        let (reader, format) = open_detected(path, format)?;
        self.import(reader, format, sink)
    }

    /// [`import_path`](Self::import_path) into a dataset (see [`import_into`](Self::import_into)).
    pub fn import_path_into(
        &mut self,
        path: &Path,
        format: Option<Format>,
        dataset: &mut Dataset,
    ) -> Result<ImportReport, ImportError> {
        let (reader, format) = open_detected(path, format)?;
        self.import_into(reader, format, dataset)
    }

    /// Distinct request ids imported so far.
    pub fn distinct_ids(&self) -> usize {
        self.seen.len()
    }
}

/// Opens `path` buffered and detects its format unless given.
fn open_detected(
    path: &Path,
    format: Option<Format>,
) -> Result<(BufReader<std::fs::File>, Format), ImportError> {
    let file = std::fs::File::open(path).map_err(|source| ImportError::Open {
        path: path.to_owned(),
        source,
    })?;
    let mut reader = BufReader::with_capacity(1 << 18, file);
    let format = match format {
        Some(f) => f,
        None => {
            let sample = fill_sample(&mut reader)?;
            detect(sample, path.to_str()).ok_or_else(|| ImportError::UnknownFormat {
                path: path.to_owned(),
            })?
        }
    };
    Ok((reader, format))
}

/// The buffered start of a reader, without consuming it.
fn fill_sample<R: Read>(reader: &mut BufReader<R>) -> Result<&[u8], std::io::Error> {
    // One fill is enough: the buffer is 256 KiB and detection needs the first lines.
    reader.fill_buf()
}

/// Imports `reader` in `format` into `sink` with a fresh de-duplication set.
pub fn import<R: BufRead>(
    reader: R,
    format: Format,
    opts: &ImportOptions,
    sink: &mut dyn FnMut(&UsageRecord),
) -> Result<ImportReport, ImportError> {
    let mut seen = SeenSet::default();
    driver::run(reader, format, opts, &mut seen, &mut FnSink(sink))
}

/// [`import`] into a dataset (see [`Importer::import_into`]).
pub fn import_into<R: BufRead>(
    reader: R,
    format: Format,
    opts: &ImportOptions,
    dataset: &mut Dataset,
) -> Result<ImportReport, ImportError> {
    let mut seen = SeenSet::default();
    driver::run(reader, format, opts, &mut seen, dataset)
}
