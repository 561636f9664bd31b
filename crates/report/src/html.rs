//! The HTML report: one self-contained page (inline CSS, inline SVG charts,
//! no script, no external resource; a Content-Security-Policy that forbids
//! loading anything). Every string from the data or the answer is escaped;
//! the answer's Markdown goes through [`to_safe_html`].
//!
//! The caller says what the page is about ([`Page`]): the question, the
//! answer, the structured report, facts about the data, and optionally an
//! appendix of its own (built with [`esc`](crate::markdown::escape_html)).

use crate::charts::{self, Chart, ChartError};
use crate::markdown::{escape_html as esc, to_safe_html, to_safe_inline_html};
use agents::format::{pct, thousands, usd};
use analytics::{Confidence, Report, TimeSpan};
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

/// A label and its plain-text value (escaped when rendered).
#[derive(Debug, Clone)]
pub struct Fact {
    pub label: String,
    pub value: String,
}

impl Fact {
    pub fn new(label: impl Into<String>, value: impl Into<String>) -> Fact {
        Fact {
            label: label.into(),
            value: value.into(),
        }
    }
}

/// What one page shows.
#[derive(Debug, Clone)]
pub struct Page<'a> {
    /// The question the agents answered (plain text).
    pub question: &'a str,
    /// The agents' answer, Markdown; untrusted (it quotes the data and may
    /// come from a language model).
    pub answer: &'a str,
    /// The structured report, when the question needed analyses.
    pub report: Option<&'a Report>,
    /// Shown under the spend headline, in this order.
    pub facts: Vec<Fact>,
    /// Sections the caller adds after the answer and the notes: HTML in
    /// which the caller escaped every value with
    /// [`escape_html`](crate::markdown::escape_html).
    pub appendix_html: String,
    /// The footer line (plain text).
    pub footer: String,
}

/// The whole page.
pub fn render(page: &Page<'_>) -> Result<String, ChartError> {
    let report = page.report;
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
        esc(page.question)
    ));
    h.push_str(&format!(
        "<style>{STYLE}</style>\n</head>\n<body>\n<main>\n"
    ));

    header(&mut h, page);
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
    h.push_str(&to_safe_html(page.answer, 1));
    h.push_str("</section>\n");

    if let Some(report) = report
        && !report.notes.is_empty()
    {
        h.push_str("<section id=\"notes\">\n<h2>Notes</h2>\n<ul>\n");
        for note in &report.notes {
            h.push_str(&format!("<li>{}</li>\n", esc(note)));
        }
        h.push_str("</ul>\n</section>\n");
    }
    h.push_str(&page.appendix_html);

    h.push_str(&format!("<footer>{}</footer>\n", esc(&page.footer)));
    h.push_str("</main>\n</body>\n</html>\n");
    Ok(h)
}

fn header(h: &mut String, page: &Page<'_>) {
    h.push_str("<header>\n<h1>Apex report</h1>\n");
    h.push_str(&format!(
        "<p class=\"question\">{}</p>\n",
        esc(page.question)
    ));
    h.push_str("</header>\n<section id=\"summary\">\n<dl class=\"facts\">\n");
    let mut fact = |label: &str, value_html: String| {
        h.push_str(&format!("<dt>{}</dt><dd>{value_html}</dd>\n", esc(label)));
    };
    if let Some(r) = page.report {
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
    for f in &page.facts {
        fact(&f.label, esc(&f.value));
    }
    h.push_str("</dl>\n</section>\n");
}

/// Which prices: the catalogue snapshot, and the override files.
pub fn prices_phrase(catalogue_date: &str, overrides: &[String]) -> String {
    let mut s = format!("genai-prices catalogue snapshot of {catalogue_date}");
    if !overrides.is_empty() {
        s.push_str(&format!(", with overrides from {}", overrides.join(", ")));
    }
    s
}

/// `2026-07-01 00:00 to 2026-07-30 23:59 UTC (30.0 days)`.
pub fn span_phrase(span: &TimeSpan) -> String {
    let hours = span.observed_hours;
    let length = if hours >= 24.0 {
        format!("{:.1} days", hours / 24.0)
    } else {
        format!("{hours:.1} hours")
    };
    format!(
        "{} to {} UTC ({length})",
        span.start.format("%Y-%m-%d %H:%M"),
        span.end.format("%Y-%m-%d %H:%M")
    )
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn span_phrase_says_days_or_hours() {
        let day = 86_400_000;
        let s = TimeSpan::from_millis(1_782_864_000_000, 1_782_864_000_000 + 30 * day);
        assert_eq!(
            span_phrase(&s),
            "2026-07-01 00:00 to 2026-07-31 00:00 UTC (30.0 days)"
        );
        let h = TimeSpan::from_millis(0, 6 * 3_600_000);
        assert!(span_phrase(&h).ends_with("(6.0 hours)"));
    }
}
