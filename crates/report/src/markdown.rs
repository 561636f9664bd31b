//! The agents' Markdown answer as safe HTML and as plain terminal text.
//!
//! The answer quotes the data (model, feature and user names) and may come
//! from a language model, so it is untrusted: [`to_safe_html`] never passes
//! HTML through. Raw HTML blocks and inline HTML become escaped text, links
//! and images keep only their text (no URL is ever emitted, so the page
//! loads nothing), and every text node is escaped by pulldown-cmark.

use pulldown_cmark::{Alignment, Event, HeadingLevel, Options, Parser, Tag, TagEnd, html};

fn options() -> Options {
    Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH
}

/// Markdown to HTML with no raw HTML, no links, no images; headings are
/// moved `heading_offset` levels down (to nest under the page's own).
pub fn to_safe_html(markdown: &str, heading_offset: usize) -> String {
    let demote = |level: HeadingLevel| {
        HeadingLevel::try_from((level as usize + heading_offset).min(6)).unwrap_or(HeadingLevel::H6)
    };
    let events = Parser::new_ext(markdown, options()).filter_map(|event| match event {
        // Raw HTML is shown as the text it is, escaped.
        Event::Html(raw) | Event::InlineHtml(raw) => Some(Event::Text(raw)),
        Event::Start(Tag::HtmlBlock) => Some(Event::Start(Tag::Paragraph)),
        Event::End(TagEnd::HtmlBlock) => Some(Event::End(TagEnd::Paragraph)),
        // A link or an image keeps its text (an image's alt text) only.
        Event::Start(Tag::Link { .. } | Tag::Image { .. })
        | Event::End(TagEnd::Link | TagEnd::Image) => None,
        Event::Start(Tag::Heading {
            level,
            id,
            classes,
            attrs,
        }) => Some(Event::Start(Tag::Heading {
            level: demote(level),
            id,
            classes,
            attrs,
        })),
        Event::End(TagEnd::Heading(level)) => Some(Event::End(TagEnd::Heading(demote(level)))),
        other => Some(other),
    });
    let mut out = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut out, events);
    out
}

/// One line of Markdown (a recommendation's title or action) as safe
/// inline HTML: as [`to_safe_html`], without the paragraph around it.
pub fn to_safe_inline_html(markdown: &str) -> String {
    let html = to_safe_html(markdown, 0);
    let trimmed = html.trim_end();
    match trimmed
        .strip_prefix("<p>")
        .and_then(|rest| rest.strip_suffix("</p>"))
    {
        Some(inner) if !inner.contains("<p>") => inner.to_owned(),
        _ => html,
    }
}

/// Escapes text for an HTML body or a quoted attribute value.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Escapes text so that Markdown shows it literally inside a line (file
/// names, the question): the characters that could start emphasis, code,
/// links, HTML, entities, strikethrough or table cells get a backslash;
/// line breaks become spaces.
pub fn escape_markdown(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '&' | '|' | '~' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Markdown to plain text for a terminal: headings underlined, lists
/// bulleted, tables aligned in columns, emphasis and code marks dropped.
/// Control characters from the data are never sent to the terminal.
pub fn to_terminal_text(markdown: &str) -> String {
    let mut w = TextWriter::default();
    for event in Parser::new_ext(markdown, options()) {
        w.event(event);
    }
    w.finish()
}

#[derive(Default)]
struct TextWriter {
    out: String,
    /// Text of the heading being read, and its level.
    heading: Option<(String, usize)>,
    /// One entry per open list: the next number of an ordered list.
    lists: Vec<Option<u64>>,
    table: Option<Table>,
    in_code_block: bool,
}

#[derive(Default)]
struct Table {
    alignments: Vec<Alignment>,
    rows: Vec<Vec<String>>,
    /// The row being read.
    row: Vec<String>,
    cell: String,
}

impl TextWriter {
    fn event(&mut self, event: Event<'_>) {
        match event {
            Event::Start(tag) => self.start(tag),
            Event::End(tag) => self.end(tag),
            Event::Text(t) | Event::Code(t) | Event::Html(t) | Event::InlineHtml(t) => {
                self.text(&t);
            }
            Event::SoftBreak => self.text(" "),
            Event::HardBreak => self.text("\n"),
            Event::Rule => {
                self.block_break();
                self.out.push_str(&"-".repeat(40));
                self.out.push('\n');
            }
            Event::TaskListMarker(done) => self.text(if done { "[x] " } else { "[ ] " }),
            Event::FootnoteReference(name) => self.text(&format!("[{name}]")),
            Event::InlineMath(t) | Event::DisplayMath(t) => self.text(&t),
        }
    }

    fn start(&mut self, tag: Tag<'_>) {
        match tag {
            Tag::Heading { level, .. } => {
                self.block_break();
                self.heading = Some((String::new(), level as usize));
            }
            Tag::Paragraph | Tag::BlockQuote(_) | Tag::HtmlBlock if self.lists.is_empty() => {
                self.block_break();
            }
            Tag::Paragraph | Tag::BlockQuote(_) | Tag::HtmlBlock => {}
            Tag::CodeBlock(_) => {
                self.block_break();
                self.in_code_block = true;
            }
            Tag::List(first) => {
                if self.lists.is_empty() {
                    self.block_break();
                } else {
                    self.line_break();
                }
                self.lists.push(first);
            }
            Tag::Item => {
                self.line_break();
                let depth = self.lists.len().saturating_sub(1);
                self.out.push_str(&"  ".repeat(depth));
                match self.lists.last_mut() {
                    Some(Some(n)) => {
                        self.out.push_str(&format!("{n}. "));
                        *n += 1;
                    }
                    _ => self.out.push_str("- "),
                }
            }
            Tag::Table(alignments) => {
                self.block_break();
                self.table = Some(Table {
                    alignments,
                    ..Table::default()
                });
            }
            _ => {}
        }
    }

    fn end(&mut self, tag: TagEnd) {
        match tag {
            TagEnd::Heading(_) => {
                if let Some((text, level)) = self.heading.take() {
                    let text = text.trim().to_owned();
                    let width = text.chars().count();
                    self.out.push_str(&text);
                    self.out.push('\n');
                    match level {
                        1 => self.out.push_str(&"=".repeat(width)),
                        2 => self.out.push_str(&"-".repeat(width)),
                        _ => {}
                    }
                    if level <= 2 {
                        self.out.push('\n');
                    }
                }
            }
            TagEnd::Paragraph | TagEnd::BlockQuote(_) | TagEnd::HtmlBlock => self.line_break(),
            TagEnd::CodeBlock => {
                self.in_code_block = false;
                self.line_break();
            }
            TagEnd::List(_) => {
                self.lists.pop();
                self.line_break();
            }
            TagEnd::Item => self.line_break(),
            TagEnd::TableCell => {
                if let Some(t) = &mut self.table {
                    let cell = std::mem::take(&mut t.cell);
                    t.row.push(cell.trim().to_owned());
                }
            }
            TagEnd::TableHead | TagEnd::TableRow => {
                if let Some(t) = &mut self.table {
                    let row = std::mem::take(&mut t.row);
                    t.rows.push(row);
                }
            }
            TagEnd::Table => {
                if let Some(t) = self.table.take() {
                    self.out.push_str(&t.render());
                }
            }
            _ => {}
        }
    }

    fn text(&mut self, text: &str) {
        let target = if let Some(t) = &mut self.table {
            &mut t.cell
        } else if let Some((h, _)) = &mut self.heading {
            h
        } else {
            &mut self.out
        };
        if self.in_code_block {
            for line in text.split_inclusive('\n') {
                target.push_str("    ");
                push_printable(target, line);
            }
        } else {
            push_printable(target, text);
        }
    }

    /// Ends the current line, if one is open.
    fn line_break(&mut self) {
        if !self.out.is_empty() && !self.out.ends_with('\n') {
            self.out.push('\n');
        }
    }

    /// Leaves one empty line before the next block.
    fn block_break(&mut self) {
        self.line_break();
        if !self.out.is_empty() && !self.out.ends_with("\n\n") {
            self.out.push('\n');
        }
    }

    fn finish(mut self) -> String {
        let trimmed = self.out.trim_end().len();
        self.out.truncate(trimmed);
        self.out.push('\n');
        self.out
    }
}

/// Appends `text` without control characters other than newlines and tabs.
fn push_printable(out: &mut String, text: &str) {
    out.extend(
        text.chars()
            .filter(|&c| !c.is_control() || c == '\n' || c == '\t'),
    );
}

impl Table {
    fn render(&self) -> String {
        let columns = self.rows.iter().map(Vec::len).max().unwrap_or(0);
        let mut widths = vec![0usize; columns];
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate() {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
        let mut out = String::new();
        for (r, row) in self.rows.iter().enumerate() {
            let mut line = String::new();
            for (i, width) in widths.iter().enumerate() {
                let cell = row.get(i).map(String::as_str).unwrap_or("");
                let pad = width - cell.chars().count();
                if i > 0 {
                    line.push_str("  ");
                }
                match self.alignments.get(i) {
                    Some(Alignment::Right) => {
                        line.push_str(&" ".repeat(pad));
                        line.push_str(cell);
                    }
                    Some(Alignment::Center) => {
                        line.push_str(&" ".repeat(pad / 2));
                        line.push_str(cell);
                        line.push_str(&" ".repeat(pad - pad / 2));
                    }
                    _ => {
                        line.push_str(cell);
                        line.push_str(&" ".repeat(pad));
                    }
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
            if r == 0 {
                let total = widths.iter().sum::<usize>() + 2 * columns.saturating_sub(1);
                out.push_str(&"-".repeat(total));
                out.push('\n');
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_html_is_escaped_not_passed_through() {
        let md = "Model <script>alert(1)</script> costs **$3**.\n\n<div onclick=\"x()\">block</div>\n\n| a | b |\n|---|---:|\n| <img src=x onerror=alert(1)> | 2 |\n";
        let html = to_safe_html(md, 0);
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("<div"), "{html}");
        assert!(!html.contains("<img"), "{html}");
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{html}"
        );
        assert!(html.contains("<strong>$3</strong>"), "{html}");
        assert!(html.contains("<table>"), "{html}");
    }

    #[test]
    fn links_and_images_keep_only_their_text() {
        let html = to_safe_html(
            "[docs](https://example.com/x) and ![chart](https://example.com/c.png) and [js](javascript:alert(1))",
            0,
        );
        assert!(!html.contains("href"), "{html}");
        assert!(!html.contains("src="), "{html}");
        assert!(!html.contains("example.com"), "{html}");
        assert!(html.contains("docs and chart and js"), "{html}");
    }

    #[test]
    fn terminal_text_aligns_tables_and_drops_marks() {
        let md = "## Summary\n\nSpend is **$10**.\n\n| # | Name | Savings |\n|---:|---|---:|\n| 1 | batch | $5.00 |\n| 2 | caching things | $12.50 |\n\n- one\n- two\n";
        let text = to_terminal_text(md);
        assert!(
            text.starts_with("Summary\n-------\n\nSpend is $10.\n"),
            "{text}"
        );
        assert!(text.contains("#  Name            Savings\n"), "{text}");
        assert!(text.contains("1  batch             $5.00\n"), "{text}");
        assert!(text.contains("2  caching things   $12.50\n"), "{text}");
        assert!(text.contains("- one\n- two\n"), "{text}");
        assert!(!text.contains("**"), "{text}");
    }

    #[test]
    fn terminal_text_drops_escape_sequences() {
        let text = to_terminal_text("model \u{1b}[31mred\u{1b}[0m here");
        assert!(!text.contains('\u{1b}'), "{text:?}");
        assert!(text.contains("[31mred"), "{text:?}");
    }

    #[test]
    fn markdown_escaping_shows_text_literally() {
        let escaped = escape_markdown("a_b*<c>`d` & ~e~ [f](g)\nh");
        let html = to_safe_html(&escaped, 0);
        assert_eq!(html, "<p>a_b*&lt;c&gt;`d` &amp; ~e~ [f](g) h</p>\n");
    }

    #[test]
    fn inline_html_has_no_paragraph() {
        assert_eq!(
            to_safe_inline_html("mark it with a `cache_control` <b>breakpoint</b>"),
            "mark it with a <code>cache_control</code> &lt;b&gt;breakpoint&lt;/b&gt;"
        );
        assert_eq!(
            to_safe_inline_html("one\n\ntwo"),
            "<p>one</p>\n<p>two</p>\n"
        );
    }

    #[test]
    fn headings_nest_under_the_page() {
        assert_eq!(to_safe_html("## Summary", 1), "<h3>Summary</h3>\n");
        assert_eq!(to_safe_html("###### Deep", 1), "<h6>Deep</h6>\n");
    }
}
