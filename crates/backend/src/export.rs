//! Exports of a finished run's report: the self-contained HTML page, drawn by
//! the shared `report` crate (the same page `apex analyze` writes), with the
//! facts the backend knows about the run and its dataset.

use crate::store::{DatasetRecord, RunRecord};
use report::{Fact, Page};

/// The Content-Security-Policy the page also carries in a `<meta>`: nothing may load.
pub const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'";

/// What the page is drawn from.
pub struct ExportInput {
    /// A completed run (its `report` is the stored `analytics::Report`, if any).
    pub run: RunRecord,
    /// The user's message that started the run.
    pub question: String,
    /// The assistant's answer, Markdown.
    pub answer: String,
    /// The run's dataset, if it still exists.
    pub dataset: Option<DatasetRecord>,
    /// Price override files in use.
    pub price_overrides: Vec<String>,
}

/// Why the page could not be drawn.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("the stored report does not decode: {0}")]
    Report(#[from] serde_json::Error),
    #[error(transparent)]
    Chart(#[from] report::ChartError),
}

/// The HTML page of a run's report. CPU work (charts): call it off the async threads.
pub fn html(input: &ExportInput) -> Result<String, ExportError> {
    let report: Option<analytics::Report> = input
        .run
        .report
        .clone()
        .map(serde_json::from_value)
        .transpose()?;
    let mut facts = Vec::new();
    if let Some(d) = &input.dataset {
        facts.push(Fact::new(
            "Data",
            format!("{} ({} records, {})", d.name, d.records, d.format),
        ));
    }
    if let Some(r) = &report {
        facts.push(Fact::new("Time span", report::span_phrase(&r.span)));
        facts.push(Fact::new("Monthly extrapolation", r.span.basis.clone()));
        facts.push(Fact::new(
            "Prices",
            report::prices_phrase(&r.catalogue_date, &input.price_overrides),
        ));
    }
    let finished = input
        .run
        .finished_at
        .map(crate::http::views::ts)
        .unwrap_or_default();
    facts.push(Fact::new(
        "Run",
        format!("{}, finished {finished}", input.run.id),
    ));
    Ok(report::render(&Page {
        question: &input.question,
        answer: &input.answer,
        report: report.as_ref(),
        facts,
        appendix_html: String::new(),
        footer: format!(
            "Exported by the Apex backend {}. This file is self-contained: no script, nothing loaded from elsewhere.",
            env!("CARGO_PKG_VERSION")
        ),
    })?)
}
