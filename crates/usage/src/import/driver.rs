//! The import loop shared by the JSON formats: bounded line reading, JSON
//! Lines vs whole-document input, top-level arrays, line numbers of items
//! inside a document, the [`Out`] interface handlers report to, and the
//! [`Emitter`] that de-duplicates, counts and feeds the sink. JSON Lines
//! input is parsed on worker threads when [`ImportOptions::threads`] > 1
//! (see the `parallel` module).

use super::fields::SeenSet;
use super::sink::{RecordSink, TagIds, TagStrings};
use super::{Format, ImportError, ImportOptions, ImportReport, LineError, SkipReason};
use crate::record::UsageRecord;
use serde_json::value::RawValue;
use std::collections::VecDeque;
use std::io::BufRead;

/// A format that reads JSON values (a line, or an item of a document).
pub(crate) trait JsonHandler {
    /// Handles one JSON value. Item-level problems inside a container are
    /// reported through `out.skip`; a returned error skips the whole value.
    fn value(
        &mut self,
        text: &str,
        loc: &mut Locator<'_>,
        out: &mut dyn Out,
    ) -> Result<(), SkipReason>;
}

/// Where handlers put what they found: the [`Emitter`] directly, or a
/// worker's batch replayed into it later.
pub(crate) trait Out {
    /// A record, de-duplicated by `key` (a request-id hash).
    fn emit(&mut self, rec: &UsageRecord, key: Option<u64>);
    /// A record of which only the last of each `key` is kept (Claude Code).
    fn emit_keep_last(&mut self, rec: &UsageRecord, key: u64);
    /// A skipped line or item.
    fn skip(&mut self, line: u64, reason: SkipReason);
    /// A line or item without usage.
    fn ignore(&mut self);
}

pub(crate) fn run<R: BufRead>(
    reader: R,
    format: Format,
    opts: &ImportOptions,
    seen: &mut SeenSet,
    sink: &mut dyn RecordSink,
) -> Result<ImportReport, ImportError> {
    run_blocks(
        reader,
        format,
        opts,
        seen,
        sink,
        super::parallel::BLOCK_BYTES,
    )
}

/// [`run`] with the block size of parallel parsing as a parameter (tests).
pub(crate) fn run_blocks<R: BufRead>(
    reader: R,
    format: Format,
    opts: &ImportOptions,
    seen: &mut SeenSet,
    sink: &mut dyn RecordSink,
    block: usize,
) -> Result<ImportReport, ImportError> {
    let mut out = Emitter::new(ImportReport::new(format), opts, seen, sink);
    match format {
        Format::ApexCsv => super::apex::run_csv(reader, &mut out)?,
        Format::ApexJsonl => {
            run_json::<_, super::apex::JsonlHandler>(reader, opts, &mut out, block)?
        }
        Format::ClaudeCodeTranscript => {
            run_json::<_, super::claude_code::Handler>(reader, opts, &mut out, block)?
        }
        Format::OtelSpans => run_json::<_, super::otel::Handler>(reader, opts, &mut out, block)?,
        Format::LiteLlmSpendLogs => {
            run_json::<_, super::litellm::Handler>(reader, opts, &mut out, block)?
        }
        Format::OpenAiUsageBuckets => {
            run_json::<_, super::openai::Handler>(reader, opts, &mut out, block)?
        }
        Format::AnthropicUsageReport => {
            run_json::<_, super::anthropic::Handler>(reader, opts, &mut out, block)?
        }
    }
    Ok(out.finish())
}

/// Reads lines without ever buffering more than `max` bytes of one line.
pub(crate) struct LineReader<R> {
    pub reader: R,
    max: usize,
    pub buf: Vec<u8>,
    pub number: u64,
    pub bytes: u64,
}

pub(crate) enum Line {
    /// The line is in `buf` (without its newline).
    Ok,
    /// The line was longer than the limit and was discarded.
    TooLong,
}

impl<R: BufRead> LineReader<R> {
    pub fn new(reader: R, max: usize) -> Self {
        LineReader {
            reader,
            max,
            buf: Vec::with_capacity(4096),
            number: 0,
            bytes: 0,
        }
    }

    pub fn next_line(&mut self) -> std::io::Result<Option<Line>> {
        self.buf.clear();
        let mut too_long = false;
        let mut any = false;
        loop {
            let chunk = match self.reader.fill_buf() {
                Ok(c) => c,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if chunk.is_empty() {
                break;
            }
            any = true;
            let (used, done) = match memchr_newline(chunk) {
                Some(i) => (i + 1, true),
                None => (chunk.len(), false),
            };
            let content = &chunk[..if done { used - 1 } else { used }];
            if !too_long {
                if self.buf.len() + content.len() > self.max {
                    too_long = true;
                    self.buf.clear();
                } else {
                    self.buf.extend_from_slice(content);
                }
            }
            self.bytes += used as u64;
            self.reader.consume(used);
            if done {
                break;
            }
        }
        if !any {
            return Ok(None);
        }
        self.number += 1;
        if self.buf.last() == Some(&b'\r') {
            self.buf.pop();
        }
        Ok(Some(if too_long { Line::TooLong } else { Line::Ok }))
    }

    /// Reads everything left (up to `limit` bytes more) into `out`.
    pub fn read_rest(&mut self, out: &mut Vec<u8>, limit: usize) -> Result<(), ImportError> {
        loop {
            let chunk = self.reader.fill_buf()?;
            if chunk.is_empty() {
                return Ok(());
            }
            if out.len() + chunk.len() > limit {
                return Err(ImportError::DocumentTooLarge { limit });
            }
            out.extend_from_slice(chunk);
            let n = chunk.len();
            self.bytes += n as u64;
            self.reader.consume(n);
        }
    }
}

/// Position of the first `\n`, eight bytes at a time.
pub(crate) fn memchr_newline(s: &[u8]) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    const NL: u64 = LO * b'\n' as u64;
    let mut chunks = s.chunks_exact(8);
    let mut base = 0;
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word) ^ NL;
        let found = x.wrapping_sub(LO) & !x & HI;
        if found != 0 {
            return Some(base + (found.trailing_zeros() / 8) as usize);
        }
        base += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&b| b == b'\n')
        .map(|i| base + i)
}

/// Line numbers of sub-slices of a JSON text: the text's first line is
/// `base`; items must be located in increasing order for speed.
pub(crate) struct Locator<'d> {
    doc: &'d str,
    base: u64,
    last_off: usize,
    last_line: u64,
}

impl<'d> Locator<'d> {
    pub fn new(doc: &'d str, base: u64) -> Self {
        Locator {
            doc,
            base,
            last_off: 0,
            last_line: base,
        }
    }

    /// The 1-based line where `sub` (a slice of the document) starts.
    pub fn line_of(&mut self, sub: &str) -> u64 {
        let start = self.doc.as_ptr() as usize;
        let p = sub.as_ptr() as usize;
        if p < start || p >= start + self.doc.len() {
            return self.base;
        }
        let off = p - start;
        if off < self.last_off {
            self.last_off = 0;
            self.last_line = self.base;
        }
        let newlines = self.doc.as_bytes()[self.last_off..off]
            .iter()
            .filter(|&&b| b == b'\n')
            .count() as u64;
        self.last_off = off;
        self.last_line += newlines;
        self.last_line
    }
}

fn run_json<R: BufRead, H: JsonHandler + Default + Send>(
    reader: R,
    opts: &ImportOptions,
    out: &mut Emitter<'_>,
    block_bytes: usize,
) -> Result<(), ImportError> {
    let mut lines = LineReader::new(reader, opts.max_line_bytes);
    let mut handler = H::default();
    let mut first = true;
    while let Some(line) = lines.next_line()? {
        out.report.lines = lines.number;
        out.report.bytes = lines.bytes;
        let number = lines.number;
        let Line::Ok = line else {
            out.skip(
                number,
                SkipReason::LineTooLong {
                    limit: opts.max_line_bytes,
                },
            );
            continue;
        };
        let bytes = if number == 1 {
            lines
                .buf
                .strip_prefix(b"\xEF\xBB\xBF")
                .unwrap_or(&lines.buf)
        } else {
            &lines.buf
        };
        let Ok(text) = std::str::from_utf8(bytes) else {
            out.skip(number, SkipReason::NotUtf8);
            continue;
        };
        let text = text.trim();
        if text.is_empty() {
            continue;
        }
        if first {
            first = false;
            if starts_document(text) {
                let mut doc = bytes.to_vec();
                doc.push(b'\n');
                lines.read_rest(&mut doc, opts.max_document_bytes)?;
                out.report.bytes = lines.bytes;
                return run_document(doc, number, &mut handler, out);
            }
            handle_text(text, number, &mut handler, out);
            // The first line decided it is JSON Lines: the rest may go parallel.
            if opts.threads > 1 {
                return super::parallel::run::<_, H>(
                    lines.reader,
                    number + 1,
                    opts,
                    out,
                    block_bytes,
                );
            }
            continue;
        }
        handle_text(text, number, &mut handler, out);
    }
    out.report.bytes = lines.bytes;
    Ok(())
}

/// A first line that opens a multi-line (pretty-printed) JSON document.
fn starts_document(text: &str) -> bool {
    (text.starts_with('{') || text.starts_with('['))
        && (text.ends_with('{') || text.ends_with('[') || text.ends_with(','))
        && serde_json::from_str::<serde::de::IgnoredAny>(text).is_err_and(|e| e.is_eof())
}

/// A whole JSON document (read into memory). If it does not parse as one
/// value, it is read as JSON Lines after all (a JSONL file whose first line
/// happens to be broken).
fn run_document<H: JsonHandler>(
    doc: Vec<u8>,
    first_line: u64,
    handler: &mut H,
    out: &mut Emitter<'_>,
) -> Result<(), ImportError> {
    let text = match String::from_utf8(doc) {
        Ok(t) => t,
        Err(e) => {
            let valid = e.utf8_error().valid_up_to();
            let line = first_line
                + e.as_bytes()[..valid]
                    .iter()
                    .filter(|&&b| b == b'\n')
                    .count() as u64;
            out.skip(line, SkipReason::NotUtf8);
            return Ok(());
        }
    };
    match serde_json::from_str::<serde::de::IgnoredAny>(&text) {
        Ok(_) => {
            out.report.lines = first_line - 1 + text.lines().count() as u64;
            handle_text(text.trim(), first_line, handler, out);
        }
        Err(_) => {
            let mut number = first_line - 1;
            for line in text.lines() {
                number += 1;
                let line = line.trim();
                if !line.is_empty() {
                    handle_text(line, number, handler, out);
                }
            }
            out.report.lines = number;
        }
    }
    Ok(())
}

/// One JSON value of the input: a top-level array is expanded into its items.
pub(crate) fn handle_text<H: JsonHandler>(
    text: &str,
    line: u64,
    handler: &mut H,
    out: &mut dyn Out,
) {
    let mut loc = Locator::new(text, line);
    if text.starts_with('[') {
        match serde_json::from_str::<Vec<&RawValue>>(text) {
            Ok(items) => {
                for item in items {
                    let item_line = loc.line_of(item.get());
                    if let Err(reason) = handler.value(item.get(), &mut loc, out) {
                        out.skip(item_line, reason);
                    }
                }
            }
            Err(e) => out.skip(json_error_line(line, &e), SkipReason::json(&e)),
        }
        return;
    }
    if let Err(reason) = handler.value(text, &mut loc, out) {
        out.skip(line, reason);
    }
}

/// The input line of a serde_json error inside a text starting at `base`.
pub(crate) fn json_error_line(base: u64, e: &serde_json::Error) -> u64 {
    base + (e.line() as u64).saturating_sub(1)
}

/// De-duplicates, counts and delivers records.
pub(crate) struct Emitter<'s> {
    pub report: ImportReport,
    max_errors: usize,
    seen: &'s mut SeenSet,
    sink: &'s mut dyn RecordSink,
    window: usize,
    pending: VecDeque<UsageRecord>,
    /// The keys of `pending`, in the same order (scanned without touching the records).
    pending_keys: VecDeque<u64>,
    spare: Option<UsageRecord>,
}

impl<'s> Emitter<'s> {
    pub fn new(
        report: ImportReport,
        opts: &ImportOptions,
        seen: &'s mut SeenSet,
        sink: &'s mut dyn RecordSink,
    ) -> Self {
        Emitter {
            report,
            max_errors: opts.max_stored_errors,
            seen,
            sink,
            window: opts.pending_window.max(1),
            pending: VecDeque::new(),
            pending_keys: VecDeque::new(),
            spare: None,
        }
    }

    pub fn finish(mut self) -> ImportReport {
        while let (Some(k), Some(r)) = (self.pending_keys.pop_front(), self.pending.pop_front()) {
            self.seen.insert(k);
            self.deliver(&r);
        }
        self.report
    }

    fn deliver(&mut self, rec: &UsageRecord) {
        self.count(rec);
        self.sink.record(rec);
    }

    fn count(&mut self, rec: &UsageRecord) {
        self.report.records += 1;
        if rec.is_aggregate() {
            self.report.aggregates += 1;
        }
    }

    /// False (and counted) when `key` was seen before.
    fn is_new(&mut self, key: Option<u64>) -> bool {
        if let Some(k) = key
            && !self.seen.insert(k)
        {
            self.report.duplicates_dropped += 1;
            return false;
        }
        true
    }

    /// A new batch of the parallel import is about to be replayed.
    pub fn begin_batch(&mut self) {
        self.sink.begin_batch();
    }

    /// True when the sink takes tag strings by id (see [`RecordSink::uses_tags`]).
    pub fn sink_uses_tags(&self) -> bool {
        self.sink.uses_tags()
    }

    /// [`Out::emit`] with the record's tag strings as ids into the batch.
    pub fn emit_tagged(
        &mut self,
        rec: &UsageRecord,
        key: Option<u64>,
        ids: TagIds,
        strings: &dyn TagStrings,
    ) {
        if self.is_new(key) {
            self.count(rec);
            self.sink.record_tagged(rec, ids, strings);
        }
    }
}

impl Out for Emitter<'_> {
    /// Delivers `rec` unless `key` (a request-id hash) was seen before.
    fn emit(&mut self, rec: &UsageRecord, key: Option<u64>) {
        if self.is_new(key) {
            self.deliver(rec);
        }
    }

    /// Keeps only the last record of each `key` among the recent ones: the
    /// record waits in a window of `pending_window` distinct keys; a later
    /// record with the same key replaces it. Once emitted, a key is a
    /// duplicate.
    fn emit_keep_last(&mut self, rec: &UsageRecord, key: u64) {
        if let Some(i) = self.pending_keys.iter().rposition(|&k| k == key) {
            self.pending[i].clone_from(rec);
            self.report.superseded += 1;
            return;
        }
        if self.seen.contains(&key) {
            self.report.duplicates_dropped += 1;
            return;
        }
        let stored = match self.spare.take() {
            Some(mut r) => {
                r.clone_from(rec);
                r
            }
            None => rec.clone(),
        };
        self.pending.push_back(stored);
        self.pending_keys.push_back(key);
        if self.pending.len() > self.window
            && let (Some(k), Some(r)) = (self.pending_keys.pop_front(), self.pending.pop_front())
        {
            self.seen.insert(k);
            self.deliver(&r);
            self.spare = Some(r);
        }
    }

    fn skip(&mut self, line: u64, reason: SkipReason) {
        self.report.skipped_count += 1;
        if self.report.skipped.len() < self.max_errors {
            self.report.skipped.push(LineError { line, reason });
        }
    }

    fn ignore(&mut self) {
        self.report.ignored += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_reader_bounds_long_lines_and_counts_bytes() {
        let input = b"short\r\n0123456789abcdef\nlast";
        let mut r = LineReader::new(&input[..], 8);
        assert!(matches!(r.next_line().unwrap(), Some(Line::Ok)));
        assert_eq!(r.buf, b"short");
        assert!(matches!(r.next_line().unwrap(), Some(Line::TooLong)));
        assert!(matches!(r.next_line().unwrap(), Some(Line::Ok)));
        assert_eq!((r.buf.as_slice(), r.number), (&b"last"[..], 3));
        assert!(r.next_line().unwrap().is_none());
        assert_eq!(r.bytes, input.len() as u64);
    }

    #[test]
    fn newline_search_finds_the_first_newline_at_any_offset() {
        for len in 0..40 {
            for at in 0..len {
                let mut v = vec![b'a'; len];
                v[at] = b'\n';
                if at + 2 < len {
                    v[at + 2] = b'\n';
                }
                assert_eq!(memchr_newline(&v), Some(at), "len {len} at {at}");
            }
            assert_eq!(memchr_newline(&vec![0x8a; len]), None);
        }
    }

    #[test]
    fn locator_counts_lines_of_items() {
        let doc = "[\n {\"a\":1},\n\n {\"b\":2}\n]";
        let items: Vec<&RawValue> = serde_json::from_str(doc).unwrap();
        let mut loc = Locator::new(doc, 10);
        assert_eq!(loc.line_of(items[0].get()), 11);
        assert_eq!(loc.line_of(items[1].get()), 13);
        let elsewhere = String::from("elsewhere");
        assert_eq!(loc.line_of(&elsewhere), 10);
    }

    #[test]
    fn documents_are_told_from_broken_jsonl_lines() {
        assert!(starts_document("{"));
        assert!(starts_document("[{"));
        assert!(starts_document("{\"object\": \"page\", \"data\": ["));
        assert!(!starts_document("{\"model\": \"gpt-4o\", \"input_tok"));
        assert!(!starts_document("{\"model\": \"gpt-4o\"}"));
    }
}
