//! The HTML report: one self-contained file with two charts, and nothing
//! from the data ever injected as markup.

use crate::helpers::{TestDir, analyze};
use chrono::{TimeZone, Utc};
use usage::{TokenCounts, UsageRecord};

const EVIL_MODEL: &str = "<script>alert(1)</script>";
const EVIL_TAG: &str = "<img src=x onerror=alert(1)>";

/// Elements the page may contain: its own layout, what pulldown-cmark
/// writes for Markdown, and what plotters writes for the charts.
const ALLOWED_TAGS: [&str; 44] = [
    "!doctype",
    "html",
    "head",
    "meta",
    "title",
    "style",
    "body",
    "main",
    "header",
    "footer",
    "section",
    "article",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "p",
    "dl",
    "dt",
    "dd",
    "div",
    "span",
    "ul",
    "ol",
    "li",
    "strong",
    "em",
    "code",
    "pre",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "figure",
    "figcaption",
    "svg",
    "rect",
    "text",
    "line",
    "polyline",
];
const ALLOWED_SVG_EXTRA: [&str; 6] = ["circle", "path", "polygon", "g", "del", "br"];

/// Asserts the page can load nothing and run nothing: every tag is one of
/// the expected elements, no attribute names a resource or an event
/// handler, and the CSS imports nothing. Text containing `<` would show up
/// here as an unexpected tag, since escaped text has no `<` at all.
#[track_caller]
fn assert_self_contained(html: &str) {
    let lower = html.to_ascii_lowercase();
    for (start, _) in lower.match_indices('<') {
        let tag = &lower[start + 1..];
        let end = tag.find('>').expect("every tag is closed");
        let tag = tag[..end].trim_start_matches('/');
        let name = tag
            .split(|c: char| c.is_whitespace() || c == '/')
            .next()
            .unwrap_or("");
        assert!(
            ALLOWED_TAGS.contains(&name) || ALLOWED_SVG_EXTRA.contains(&name),
            "unexpected element <{tag}>"
        );
        for attr in tag.split_whitespace().skip(1) {
            let attr_name = attr.split('=').next().unwrap_or("");
            assert!(
                !attr_name.starts_with("on")
                    && !["src", "href", "xlink:href", "action", "formaction"].contains(&attr_name),
                "attribute {attr:?} in <{tag}>"
            );
        }
    }
    for forbidden in ["url(", "@import"] {
        assert!(
            !lower.contains(forbidden),
            "found {forbidden:?} in the page"
        );
    }
}

#[test]
fn html_is_one_file_with_two_charts_and_nothing_external() {
    let dir = TestDir::new("html");
    let (sample, _) = dir.sample("usage.jsonl");
    let target = dir.path("report.html");
    let run = analyze(&[
        sample.as_os_str(),
        "--format".as_ref(),
        "html".as_ref(),
        "--out".as_ref(),
        target.as_os_str(),
    ]);
    assert_eq!(run.ok(), "");
    let html = std::fs::read_to_string(&target).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
    assert!(html.trim_end().ends_with("</html>"));
    assert_eq!(html.matches("<svg").count(), 2, "two charts");
    assert_eq!(html.matches("</svg>").count(), 2);
    assert_self_contained(&html);
    // Drawn by plotters: a line per model, bars as rectangles, axis text.
    assert!(
        html.matches("stroke-width=\"2\" points=").count() >= 3,
        "one line per model"
    );
    assert!(
        html.contains("\nBatch API\n</text>"),
        "a savings bar label drawn as SVG text"
    );
    assert!(html.contains("USD per day"));
    // What priced it, over which span, extrapolated how.
    assert!(html.contains(&format!("catalogue snapshot of {}", pricing::SNAPSHOT_DATE)));
    assert!(
        html.contains("<dt>Time span</dt><dd>2026-07-01 00:"),
        "{html}"
    );
    assert!(html.contains("<dt>Monthly extrapolation</dt><dd>USD per 30-day month"));
    // The recommendations table and the rendered answer.
    assert!(html.contains("<th class=\"num\">Est. monthly saving</th>"));
    assert!(
        html.contains("<h3>Recommendations</h3>"),
        "the answer's headings nest under the page's"
    );
    assert!(html.contains("<td>Send nightly_summaries through the batch API"));
}

/// The sample plus calls of a model and a feature named like markup,
/// priced by an override so they reach the charts and the recommendations.
fn evil_dataset(dir: &TestDir) -> (std::path::PathBuf, std::path::PathBuf) {
    let mut records = analytics::sample_workload(7, crate::helpers::SAMPLE_DAYS);
    for i in 0..300 {
        let t =
            Utc.with_ymd_and_hms(2026, 7, 1, 0, 0, 0).unwrap() + chrono::Duration::minutes(i * 9);
        let mut r = UsageRecord::call(
            t,
            Some("openai"),
            EVIL_MODEL,
            TokenCounts {
                input_uncached: 60_000,
                output: 2_000,
                ..Default::default()
            },
        );
        r.tags.feature = Some(EVIL_TAG.to_owned());
        r.tags.user = Some(EVIL_MODEL.to_owned());
        r.request_id = Some(format!("evil-{i}"));
        // Exact duplicates, so the response-caching recommendation names them.
        r.prompt_hash = Some(7);
        r.latency_ms = Some(1_000);
        records.push(r);
    }
    let data = dir.write_records("evil.jsonl", &records);
    let prices = dir.write(
        "prices.toml",
        "[[models]]\nprovider = \"openai\"\nid = \"<script>alert(1)</script>\"\nprices = { input_mtok = 30.0, output_mtok = 60.0 }\n",
    );
    (data, prices)
}

#[test]
fn markup_in_model_names_and_tags_is_escaped_everywhere() {
    let dir = TestDir::new("evil");
    let (data, prices) = evil_dataset(&dir);
    let run = analyze(&[
        data.as_os_str(),
        "--prices".as_ref(),
        prices.as_os_str(),
        "--format".as_ref(),
        "html".as_ref(),
    ]);
    let html = run.ok();
    assert_self_contained(html);
    assert!(!html.contains(EVIL_MODEL));
    assert!(!html.contains(EVIL_TAG));
    let escaped_model = "&lt;script&gt;alert(1)&lt;/script&gt;";
    // It is there, as text: in the legend of the spend chart, the answer, the tables.
    assert!(
        html.contains(&format!("</span>{escaped_model}</li>")),
        "the spend chart's legend names the model"
    );
    assert!(html.matches(escaped_model).count() >= 2, "{html}");
    assert!(
        html.contains("&lt;img src=x onerror=alert(1)&gt;"),
        "the feature appears, escaped"
    );
    assert_eq!(html.matches("<svg").count(), 2);

    // The JSON carries the names as plain strings.
    let json = analyze(&[
        data.as_os_str(),
        "--prices".as_ref(),
        prices.as_os_str(),
        "--format".as_ref(),
        "json".as_ref(),
    ])
    .json();
    let models: Vec<&str> = json["report"]["breakdown"]["by_model"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    assert!(models.contains(&EVIL_MODEL), "{models:?}");
}
