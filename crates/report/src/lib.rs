//! Rendering of an analysis report, shared by `apex analyze` and the
//! backend's `GET /v1/runs/{id}/report?format=html`, so that there is one
//! implementation of the self-contained HTML page.
//!
//! - [`markdown`]: the agents' Markdown answer as safe HTML (raw HTML shown
//!   as escaped text, no links or images) or as terminal text; escaping.
//! - [`charts`]: the two charts (spend by model over time, saving by
//!   recommendation), drawn by plotters into inline SVG.
//! - [`html`]: the page: inline CSS, inline SVG, no script, nothing loaded
//!   from elsewhere, every string from the data escaped.
//!
//! No web framework and no I/O: callers pass the report and the answer in
//! and get a `String` back.

pub mod charts;
pub mod html;
pub mod markdown;

pub use charts::ChartError;
pub use html::{Fact, Page, prices_phrase, render, span_phrase};
pub use markdown::{
    escape_html, escape_markdown, to_safe_html, to_safe_inline_html, to_terminal_text,
};
