//! `apex analyze FILE...`: the optimisation agents, offline, on usage files.
//!
//! The files are imported (format detected per file, streamed) into one
//! [`usage::Dataset`], priced with the embedded catalogue (plus an optional
//! override file), and the same [`agents::Supervisor`] the backend runs
//! answers the question with the rule-based path. The answer is printed as
//! terminal text, Markdown, JSON (the structured report, the answer and the
//! import summary) or one self-contained HTML file with charts.
//!
//! Import problems (malformed lines, duplicates, unknown models) go to
//! stderr and never abort the run. Every message on stderr starts with
//! `apex analyze:`; the exit codes are listed in [`EXIT_CODES`].

mod input;
mod output;
mod report_html;

use agents::{AnswerSource, Intent, RunInput, Supervisor, VecSink};
use analytics::{Report, TimeSpan};
use clap::{Args, ValueEnum};
use pricing::{Catalogue, PricingError};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// The question asked when `--question` is not given.
pub const DEFAULT_QUESTION: &str = "How can we cut our AI costs?";

/// The exit codes, as `apex analyze --help` and the README list them.
pub const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  any other failure (writing the output, the analysis itself)
  2  usage error (unknown option, missing FILE, bad --format)
  3  no usable records: every file was empty or of an unknown format
  4  an input file is missing or unreadable
  5  the --prices override file is missing or invalid

Messages on stderr start with `apex analyze:`. Malformed lines, duplicate
records and models the price catalogue does not know are reported there and
do not change the exit code.";

/// Arguments of `apex analyze`.
#[derive(Debug, Args)]
#[command(after_help = EXIT_CODES)]
pub struct AnalyzeArgs {
    /// Usage files: Apex JSONL or CSV, OpenTelemetry GenAI spans, LiteLLM
    /// spend logs, OpenAI or Anthropic usage exports, Claude Code
    /// transcripts (the format is detected per file); `-` reads standard input.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,

    /// Price override file (TOML or JSON; see docs/prices-override.md).
    #[arg(long, value_name = "FILE")]
    pub prices: Option<PathBuf>,

    /// Write the output to this file (atomically: a temporary file renamed
    /// into place) instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub out: Option<PathBuf>,

    /// The question the agents answer.
    #[arg(long, short = 'q', default_value = DEFAULT_QUESTION,
          value_parser = clap::builder::NonEmptyStringValueParser::new())]
    pub question: String,
}

/// What `apex analyze` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// The answer as plain terminal text.
    Text,
    /// The answer as Markdown.
    Markdown,
    /// The structured report, the answer and the import summary as JSON.
    Json,
    /// One self-contained HTML file with the answer, the recommendations and charts.
    Html,
}

/// Why `apex analyze` failed; each kind has its exit code.
#[derive(Debug, thiserror::Error)]
pub enum AnalyzeError {
    /// Nothing usable was imported.
    #[error("no usable records in {files}")]
    NoRecords { files: String },
    /// An input file could not be opened or read.
    #[error("cannot read {}: {source}", .path.display())]
    Input {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The price override file is missing or invalid.
    #[error("{0}")]
    Prices(#[from] PricingError),
    /// The output could not be written.
    #[error("cannot write {target}: {source}")]
    Output {
        target: String,
        #[source]
        source: std::io::Error,
    },
    /// The async runtime for the agents could not start.
    #[error("cannot start the runtime: {0}")]
    Runtime(#[source] std::io::Error),
    /// The agents stopped without an answer.
    #[error("the agents failed: {0}")]
    Agents(#[from] agents::AgentError),
    /// Serialising the JSON output failed.
    #[error("cannot serialise the report: {0}")]
    Json(#[from] serde_json::Error),
    /// Drawing a chart failed.
    #[error(transparent)]
    Chart(#[from] report::ChartError),
}

impl AnalyzeError {
    /// The process exit code for this error (see [`EXIT_CODES`]).
    pub fn exit_code(&self) -> u8 {
        match self {
            AnalyzeError::NoRecords { .. } => 3,
            AnalyzeError::Input { .. } => 4,
            AnalyzeError::Prices(_) => 5,
            AnalyzeError::Output { .. }
            | AnalyzeError::Runtime(_)
            | AnalyzeError::Agents(_)
            | AnalyzeError::Json(_)
            | AnalyzeError::Chart(_) => 1,
        }
    }
}

/// Everything the renderers need: the question, the agents' answer and
/// report, and where the data came from.
#[derive(Debug)]
pub(crate) struct Analysis {
    pub question: String,
    pub intent: Intent,
    pub answered_by: AnswerSource,
    /// The agents' answer, Markdown.
    pub answer: String,
    /// The structured report, when the question needed analyses.
    pub report: Option<Report>,
    pub import: input::ImportSummary,
    /// The data's time span and monthly extrapolation.
    pub span: TimeSpan,
    pub catalogue_date: String,
    pub price_overrides: Vec<PathBuf>,
}

/// Runs `apex analyze` and returns the process exit code; errors are
/// printed on stderr.
pub fn run(args: AnalyzeArgs) -> ExitCode {
    match analyze(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("apex analyze: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

fn analyze(args: &AnalyzeArgs) -> Result<(), AnalyzeError> {
    // The override file first: a typo in it should fail before a long import.
    let mut catalogue = Catalogue::embedded();
    if let Some(path) = &args.prices {
        catalogue = catalogue.with_overrides(path)?;
    }
    let catalogue = Arc::new(catalogue);
    if let Some(out) = &args.out {
        output::check_out_dir(out)?;
    }

    let progress = input::Progress::for_inputs(&args.files);
    let loaded = input::load(&args.files, &catalogue, &progress)?;
    progress.analysing(loaded.dataset.len());

    let dataset = Arc::new(loaded.dataset);
    let span = match dataset.time_span() {
        Some((start, end)) => TimeSpan::from_millis(start, end),
        None => {
            return Err(AnalyzeError::NoRecords {
                files: input::describe_files(&args.files),
            });
        }
    };
    let run_input = RunInput {
        message: args.question.clone(),
        message_id: "apex-analyze".to_owned(),
        dataset: Some(Arc::clone(&dataset)),
        dataset_name: Some(input::describe_files(&args.files)),
        catalogue: Arc::clone(&catalogue),
        rate_limits: None,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(AnalyzeError::Runtime)?;
    let sink = VecSink::new();
    let outcome =
        runtime.block_on(Supervisor::default().run(run_input, &sink, CancellationToken::new()));
    progress.finish();
    let outcome = outcome?;

    let analysis = Analysis {
        question: args.question.clone(),
        intent: outcome.intent,
        answered_by: outcome.answered_by,
        answer: outcome.final_response,
        report: outcome.report,
        import: loaded.summary,
        span,
        catalogue_date: catalogue.snapshot_date().to_owned(),
        price_overrides: catalogue.override_files().to_vec(),
    };
    let rendered = output::render(&analysis, args.format)?;
    output::emit(rendered.as_bytes(), args.out.as_deref())
}
