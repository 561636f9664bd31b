//! The HTML report: one self-contained file (inline CSS, inline SVG
//! charts, no script, no external resource; a Content-Security-Policy
//! that forbids loading anything). Every string from the data or the
//! answer is escaped; the answer's Markdown goes through
//! [`to_safe_html`](super::markdown::to_safe_html).

use super::Analysis;
use super::charts::{self, Chart, ChartError};
use super::input::{FileStatus, ImportSummary};
use super::markdown::{escape_html as esc, to_safe_html, to_safe_inline_html};
use super::output::{data_phrase, prices_phrase, span_phrase};
use agents::format::{pct, thousands, usd};
use analytics::{Confidence, Report};

const STYLE: &str = r#"
:root { color-scheme: light; --ink: #1d2430; --muted: #5b6576; --line: #d9dee7; --accent: #0072b2; --bg: #f6f7f9; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink); font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
main { max-width: 980px; margin: 0 auto; padding: 24px 20px 48px; }
header h1 { margin: 0 0 4px; font-size: 26px; }
.question { margin: 0 0 16px; font-size: 17px; color: var(--muted); }
section { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 16px 20px; margin: 16px 0; }
h2 { margin: 0 0 12px; font-size: 19px; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 0; }
dl.facts dt { font-weight: 600; color: var(--muted); }
dl.facts dd { margin: 0; }
.headline { font-size: 22px; font-weight: 600; }
table { border-collapse: collapse; width: 100%; font-size: 14px; }
th, td { border-bottom: 1px solid var(--line); padding: 6px 8px; text-align: left; vertical-align: top; }
th { background: #eef1f5; }
td.num, th.num { text-align: right; white-space: nowrap; }
.action { color: var(--muted); font-size: 13px; margin-top: 2px; }
.conf { display: inline-block; padding: 0 6px; border-radius: 4px; font-size: 12px; font-weight: 600; }
.conf-high { background: #d6f0e4; } .conf-medium { background: #fdf0d0; } .conf-low { background: #f7dede; }
figure { margin: 8px 0 20px; }
figcaption { font-weight: 600; margin-bottom: 6px; }
figure svg { max-width: 100%; height: auto; display: block; }
ul.legend { list-style: none; padding: 0; margin: 6px 0 0; display: flex; flex-wrap: wrap; gap: 4px 16px; font-size: 13px; }
.swatch { display: inline-block; width: 12px; height: 12px; border-radius: 2px; margin-right: 6px; vertical-align: -1px; }
.answer table { margin: 8px 0; }
.answer h3 { margin-top: 20px; } .answer h4 { margin-top: 16px; }
.muted { color: var(--muted); }
footer { color: var(--muted); font-size: 12px; text-align: center; }
@media print { body { background: #fff; } section { border: none; padding: 0; } }
"#;

/// The whole page.
pub(crate) fn render(a: &Analysis) -> Result<String, ChartError> {
    let report = a.report.as_ref();
    let spend = match report {
        Some(r) => charts::spend_by_model(&r.breakdown.by_day)?,
        None => None,
    };
    let savings = match report {
        Some(r) => charts::savings_by_recommendation(&r.recommendations)?,
        None => None,
    };

    let mut h = String::with_capacity(128 * 1024);
    h.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    h.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    h.push_str(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n",
    );
    h.push_str(&format!(
        "<title>Apex report: {}</title>\n",
        esc(&a.question)
    ));
    h.push_str(&format!(
        "<style>{STYLE}</style>\n</head>\n<body>\n<main>\n"
    ));

    header(&mut h, a);
    recommendations(&mut h, report);
    h.push_str("<section id=\"charts\">\n<h2>Charts</h2>\n");
    figure(
        &mut h,
        "Spend by model over time (observed USD per day)",
        spend.as_ref(),
        "No priced spend to draw.",
    );
    figure(
        &mut h,
        "Estimated saving by recommendation (USD per month; the savings overlap, do not add them up)",
        savings.as_ref(),
        "No recommendation with a saving for this question.",
    );
    h.push_str("</section>\n");

    h.push_str("<section id=\"answer\" class=\"answer\">\n<h2>Answer</h2>\n");
    h.push_str(&to_safe_html(&a.answer, 1));
    h.push_str("</section>\n");

    data_section(&mut h, &a.import, report);

    h.push_str(&format!(
        "<footer>Written offline by apex analyze {}. This file is self-contained: no script, nothing loaded from elsewhere.</footer>\n",
        esc(env!("CARGO_PKG_VERSION"))
    ));
    h.push_str("</main>\n</body>\n</html>\n");
    Ok(h)
}

fn header(h: &mut String, a: &Analysis) {
    h.push_str("<header>\n<h1>Apex report</h1>\n");
    h.push_str(&format!("<p class=\"question\">{}</p>\n", esc(&a.question)));
    h.push_str("</header>\n<section id=\"summary\">\n<dl class=\"facts\">\n");
    let mut fact = |label: &str, value_html: String| {
        h.push_str(&format!("<dt>{}</dt><dd>{value_html}</dd>\n", esc(label)));
    };
    if let Some(r) = &a.report {
        let t = &r.breakdown.totals;
        fact(
            "Spend",
            format!(
                "<span class=\"headline\">{} per month</span> <span class=\"muted\">({} observed over {} calls)</span>",
                esc(&usd(t.monthly_usd)),
                esc(&usd(t.cost_usd)),
                esc(&thousands(t.calls))
            ),
        );
    }
    fact("Data", esc(&data_phrase(&a.import)));
    fact("Time span", esc(&span_phrase(&a.span)));
    fact("Monthly extrapolation", esc(&a.span.basis));
    fact("Prices", esc(&prices_phrase(a)));
    h.push_str("</dl>\n</section>\n");
}

fn confidence(c: Confidence) -> &'static str {
    match c {
        Confidence::High => "high",
        Confidence::Medium => "medium",
        Confidence::Low => "low",
    }
}

fn recommendations(h: &mut String, report: Option<&Report>) {
    h.push_str("<section id=\"recommendations\">\n<h2>Recommendations</h2>\n");
    let Some(report) = report else {
        h.push_str("<p class=\"muted\">This question needed no analysis of the data, so there are no recommendations.</p>\n</section>\n");
        return;
    };
    if report.recommendations.is_empty() {
        h.push_str("<p class=\"muted\">The analyses found nothing to change for this question.</p>\n</section>\n");
        return;
    }
    let monthly = report.breakdown.totals.monthly_usd;
    h.push_str(
        "<table>\n<thead><tr><th class=\"num\">#</th><th>Recommendation</th><th class=\"num\">Est. monthly saving</th>\
         <th class=\"num\">Share of spend</th><th>Confidence</th><th class=\"num\">Calls</th><th>Latency</th></tr></thead>\n<tbody>\n",
    );
    for (i, r) in report.recommendations.iter().enumerate() {
        let (saving, share) = if r.monthly_savings_usd > 0.0 {
            let share = if monthly > 0.0 {
                pct(r.monthly_savings_usd / monthly * 100.0)
            } else {
                "n/a".to_owned()
            };
            (usd(r.monthly_savings_usd), share)
        } else {
            ("none".to_owned(), String::new())
        };
        let level = confidence(r.confidence);
        h.push_str(&format!(
            "<tr><td class=\"num\">{}</td><td>{}<div class=\"action\">{}</div></td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td><span class=\"conf conf-{level}\">{level}</span></td><td class=\"num\">{}</td><td>{}</td></tr>\n",
            i + 1,
            to_safe_inline_html(&r.title),
            to_safe_inline_html(&r.action),
            esc(&saving),
            esc(&share),
            esc(&thousands(r.evidence.calls)),
            esc(r.latency_effect.as_deref().unwrap_or("")),
        ));
    }
    h.push_str("</tbody>\n</table>\n</section>\n");
}

fn figure(h: &mut String, caption: &str, chart: Option<&Chart>, empty: &str) {
    h.push_str(&format!(
        "<figure>\n<figcaption>{}</figcaption>\n",
        esc(caption)
    ));
    match chart {
        Some(chart) => {
            h.push_str(&chart.svg);
            if !chart.legend.is_empty() {
                h.push_str("<ul class=\"legend\">\n");
                for entry in &chart.legend {
                    h.push_str(&format!(
                        "<li><span class=\"swatch\" style=\"background:{}\"></span>{}</li>\n",
                        esc(&entry.color),
                        esc(&entry.label)
                    ));
                }
                h.push_str("</ul>\n");
            }
        }
        None => h.push_str(&format!("<p class=\"muted\">{}</p>\n", esc(empty))),
    }
    h.push_str("</figure>\n");
}

fn status(s: FileStatus) -> &'static str {
    match s {
        FileStatus::Imported => "imported",
        FileStatus::Empty => "empty",
        FileStatus::UnknownFormat => "unknown format",
        FileStatus::Unusable => "unusable",
    }
}

fn data_section(h: &mut String, import: &ImportSummary, report: Option<&Report>) {
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
    if let Some(report) = report
        && !report.notes.is_empty()
    {
        h.push_str("<h3>Notes</h3>\n<ul>\n");
        for note in &report.notes {
            h.push_str(&format!("<li>{}</li>\n", esc(note)));
        }
        h.push_str("</ul>\n");
    }
    h.push_str("</section>\n");
}
