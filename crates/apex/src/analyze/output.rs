//! The analysis in the chosen format, written to standard output or
//! atomically to a file (a temporary file in the same directory, renamed
//! over the target: a reader never sees half a report).
//!
//! Text and Markdown are the agents' answer under a short header that
//! says what was analysed, the time span and monthly extrapolation, and
//! which price catalogue snapshot priced it. JSON carries the same plus
//! the structured report and the import summary, under stable field names.

use super::input::{FileStatus, ImportSummary, describe_files};
use super::{Analysis, AnalyzeError, OutputFormat, report_html};
use agents::AnswerSource;
use agents::format::thousands;
use analytics::{Report, TimeSpan};
use report::{escape_markdown, span_phrase, to_terminal_text};
use serde::Serialize;
use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Version of the JSON output's shape; raised when a field changes meaning or goes away.
pub(crate) const JSON_SCHEMA_VERSION: u32 = 1;

/// The whole output, ready to write.
pub(crate) fn render(analysis: &Analysis, format: OutputFormat) -> Result<String, AnalyzeError> {
    Ok(match format {
        OutputFormat::Text => to_terminal_text(&markdown_document(analysis)),
        OutputFormat::Markdown => markdown_document(analysis),
        OutputFormat::Json => {
            let mut json = serde_json::to_string_pretty(&JsonOutput::of(analysis))?;
            json.push('\n');
            json
        }
        OutputFormat::Html => report_html::render(analysis)?,
    })
}

/// The JSON output. Field names are part of the interface scripts use.
#[derive(Serialize)]
struct JsonOutput<'a> {
    schema_version: u32,
    question: &'a str,
    /// What triage understood (`cost`, `latency`, `capacity`...).
    intent: agents::Intent,
    /// `template`, or `model:<name>` when a language model wrote the answer.
    answered_by: String,
    /// The price catalogue snapshot that priced the data.
    catalogue_date: &'a str,
    price_overrides: Vec<String>,
    /// The data's time span and the monthly extrapolation of every amount.
    span: &'a TimeSpan,
    import: &'a ImportSummary,
    /// The agents' answer, Markdown.
    answer: &'a str,
    /// The structured report; `null` when the question needed no analysis.
    report: Option<&'a Report>,
}

impl<'a> JsonOutput<'a> {
    fn of(a: &'a Analysis) -> Self {
        JsonOutput {
            schema_version: JSON_SCHEMA_VERSION,
            question: &a.question,
            intent: a.intent,
            answered_by: answered_by(&a.answered_by),
            catalogue_date: &a.catalogue_date,
            price_overrides: a
                .price_overrides
                .iter()
                .map(|p| p.to_string_lossy().into_owned())
                .collect(),
            span: &a.span,
            import: &a.import,
            answer: &a.answer,
            report: a.report.as_ref(),
        }
    }
}

fn answered_by(source: &AnswerSource) -> String {
    match source {
        AnswerSource::Template => "template".to_owned(),
        AnswerSource::Model(name) => format!("model:{name}"),
    }
}

/// What was read: records, files and formats, and what was left out.
pub(crate) fn data_phrase(import: &ImportSummary) -> String {
    let mut formats: Vec<&str> = import
        .files
        .iter()
        .filter(|f| f.status == FileStatus::Imported)
        .filter_map(|f| f.format)
        .collect();
    formats.sort_unstable();
    formats.dedup();
    let paths: Vec<PathBuf> = import
        .files
        .iter()
        .map(|f| PathBuf::from(&f.path))
        .collect();
    let mut s = format!(
        "{} records from {} ({})",
        thousands(import.records),
        describe_files(&paths),
        formats.join(", ")
    );
    if import.calls != import.records {
        s.push_str(&format!(
            ", standing for {} calls (usage-export buckets are aggregates)",
            thousands(import.calls)
        ));
    }
    if import.skipped_lines > 0 {
        s.push_str(&format!(
            "; {} malformed line(s) skipped",
            thousands(import.skipped_lines)
        ));
    }
    if import.duplicates_dropped > 0 {
        s.push_str(&format!(
            "; {} duplicate(s) dropped",
            thousands(import.duplicates_dropped)
        ));
    }
    if !import.unknown_models.is_empty() {
        let calls: u64 = import.unknown_models.iter().map(|m| m.calls).sum();
        s.push_str(&format!(
            "; {} call(s) of {} model(s) the price catalogue does not know, in no dollar figure",
            thousands(calls),
            import.unknown_models.len()
        ));
    }
    s
}

/// Which prices: the catalogue snapshot, and the override files.
pub(crate) fn prices_phrase(a: &Analysis) -> String {
    let files: Vec<String> = a
        .price_overrides
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    report::prices_phrase(&a.catalogue_date, &files)
}

/// The Markdown document: a header, then the answer.
fn markdown_document(a: &Analysis) -> String {
    let mut s = String::from("# Apex analysis\n\n");
    let facts = [
        ("Question", a.question.clone()),
        ("Data", data_phrase(&a.import)),
        ("Time span", span_phrase(&a.span)),
        ("Amounts", a.span.basis.clone()),
        ("Prices", prices_phrase(a)),
    ];
    for (label, value) in facts {
        s.push_str(&format!("- **{label}:** {}\n", escape_markdown(&value)));
    }
    s.push('\n');
    s.push_str(a.answer.trim());
    s.push('\n');
    s
}

/// Writes the output to `out`, or to standard output.
pub(crate) fn emit(bytes: &[u8], out: Option<&Path>) -> Result<(), AnalyzeError> {
    match out {
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout
                .write_all(bytes)
                .and_then(|()| stdout.flush())
                .map_err(|source| AnalyzeError::Output {
                    target: "standard output".to_owned(),
                    source,
                })
        }
        Some(path) => write_atomic(path, bytes).map_err(|source| AnalyzeError::Output {
            target: path.display().to_string(),
            source,
        }),
    }
}

/// Fails early, before any work, when `path`'s directory does not exist.
pub(crate) fn check_out_dir(path: &Path) -> Result<(), AnalyzeError> {
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    match std::fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => Ok(()),
        Ok(_) => Err(std::io::Error::new(
            std::io::ErrorKind::NotADirectory,
            format!("{} is not a directory", dir.display()),
        )),
        Err(e) => Err(std::io::Error::new(
            e.kind(),
            format!("directory {}: {e}", dir.display()),
        )),
    }
    .map_err(|source| AnalyzeError::Output {
        target: path.display().to_string(),
        source,
    })
}

/// Writes `bytes` to a new temporary file beside `path`, syncs it, and
/// renames it over `path`; the temporary file is removed on failure.
fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let file_name = path
        .file_name()
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a file name"))?;
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let mut tmp_name = OsString::from(".");
    tmp_name.push(file_name);
    tmp_name.push(format!(
        ".{}-{:08x}.tmp",
        std::process::id(),
        rand::random::<u32>()
    ));
    let tmp = dir.join(tmp_name);
    let result = write_new(&tmp, bytes).and_then(|()| std::fs::rename(&tmp, path));
    if result.is_err() {
        // Best effort: the temporary file may not even exist.
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

fn write_new(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> std::path::PathBuf {
        let dir =
            std::env::temp_dir().join(format!("apex-analyze-output-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn atomic_write_replaces_the_file_and_leaves_no_temporary() {
        let dir = temp_dir("replace");
        let target = dir.join("report.html");
        std::fs::write(&target, "old").unwrap();
        write_atomic(&target, b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "new");
        let names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![OsString::from("report.html")]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn failed_atomic_write_keeps_the_target_and_cleans_up() {
        let dir = temp_dir("fail");
        // A directory cannot be replaced by a file.
        let target = dir.join("occupied");
        std::fs::create_dir(&target).unwrap();
        std::fs::write(target.join("keep"), "x").unwrap();
        assert!(write_atomic(&target, b"new").is_err());
        assert!(target.join("keep").exists());
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
