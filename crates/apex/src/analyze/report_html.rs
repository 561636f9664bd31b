//! The HTML output of `apex analyze`: the shared page of the `report` crate,
//! with the facts about the analysed files and a Data section listing them
//! (every value escaped).

use super::Analysis;
use super::input::{FileStatus, ImportSummary};
use super::output::{data_phrase, prices_phrase};
use agents::format::thousands;
use report::{Fact, Page, escape_html as esc, span_phrase};

/// The whole page.
pub(crate) fn render(a: &Analysis) -> Result<String, report::ChartError> {
    let mut appendix_html = String::new();
    data_section(&mut appendix_html, &a.import);
    report::render(&Page {
        question: &a.question,
        answer: &a.answer,
        report: a.report.as_ref(),
        facts: vec![
            Fact::new("Data", data_phrase(&a.import)),
            Fact::new("Time span", span_phrase(&a.span)),
            Fact::new("Monthly extrapolation", a.span.basis.clone()),
            Fact::new("Prices", prices_phrase(a)),
        ],
        appendix_html,
        footer: format!(
            "Written offline by apex analyze {}. This file is self-contained: no script, nothing loaded from elsewhere.",
            env!("CARGO_PKG_VERSION")
        ),
    })
}

fn status(s: FileStatus) -> &'static str {
    match s {
        FileStatus::Imported => "imported",
        FileStatus::Empty => "empty",
        FileStatus::UnknownFormat => "unknown format",
        FileStatus::Unusable => "unusable",
    }
}

fn data_section(h: &mut String, import: &ImportSummary) {
    h.push_str("<section id=\"data\">\n<h2>Data</h2>\n<table>\n<thead><tr><th>File</th><th>Format</th><th>Status</th>\
                <th class=\"num\">Records</th><th class=\"num\">Malformed lines</th><th class=\"num\">Duplicates dropped</th></tr></thead>\n<tbody>\n");
    for f in &import.files {
        h.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>\n",
            esc(if f.path == "-" { "standard input" } else { &f.path }),
            esc(f.format.unwrap_or("")),
            esc(status(f.status)),
            esc(&thousands(f.records)),
            esc(&thousands(f.skipped_count)),
            esc(&thousands(f.duplicates_dropped)),
        ));
    }
    h.push_str("</tbody>\n</table>\n");

    let skipped: Vec<_> = import
        .files
        .iter()
        .flat_map(|f| f.skipped.iter().map(move |s| (f, s)))
        .take(20)
        .collect();
    if !skipped.is_empty() {
        h.push_str("<h3>Skipped lines</h3>\n<ul>\n");
        for (f, s) in skipped {
            h.push_str(&format!(
                "<li>{} line {}: {}</li>\n",
                esc(&f.path),
                s.line,
                esc(&s.reason)
            ));
        }
        h.push_str("</ul>\n");
    }
    if !import.unknown_models.is_empty() {
        h.push_str("<h3>Models the price catalogue does not know</h3>\n<p class=\"muted\">Their calls are in no dollar figure; price them with <code>--prices</code>.</p>\n<ul>\n");
        for m in &import.unknown_models {
            let provider = m
                .provider
                .as_deref()
                .map(|p| format!(" (provider {})", esc(p)))
                .unwrap_or_default();
            h.push_str(&format!(
                "<li>{}{provider}: {} calls</li>\n",
                esc(&m.model),
                esc(&thousands(m.calls))
            ));
        }
        h.push_str("</ul>\n");
    }
    h.push_str("</section>\n");
}
