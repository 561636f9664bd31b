//! Parallel JSON Lines import: the calling thread reads the input in blocks
//! of whole lines and hands them round-robin to worker threads, which parse
//! and normalise them (the expensive part) into batches of packed records;
//! the calling thread replays the batches in input order into the
//! [`Emitter`], so de-duplication, "keep the last line" and the sink see
//! exactly what a serial import would give, with the same line numbers.
//! Workers also number each block's distinct tag strings, so a sink that
//! interns (a [`Dataset`](crate::Dataset)) does so once per distinct string
//! and block rather than six times per record on the ordered thread.
//!
//! Memory stays bounded: at most `2 x threads` blocks (1 MiB each, or one
//! line when a line is longer) are in flight.

use super::apex::{set_opt, set_str};
use super::driver::{Emitter, JsonHandler, Out, handle_text, memchr_newline};
use super::sink::{NO_TAG, TagIds, TagStrings};
use super::{ImportError, ImportOptions, SkipReason};
use crate::dataset::StrBuildHasher;
use crate::record::{ServiceTier, Status, TokenCounts, UsageRecord};
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::io::BufRead;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

/// Target size of a block handed to a worker.
pub(crate) const BLOCK_BYTES: usize = 1 << 20;

/// A string slice of a batch's arena; `NONE` for an absent string.
#[derive(Clone, Copy)]
struct Span(u32, u32);

impl Span {
    const NONE: Span = Span(u32::MAX, 0);
}

/// A record with its strings moved into the batch arena.
struct Packed {
    timestamp: DateTime<Utc>,
    tags: TagIds,
    request_id: Span,
    tokens: TokenCounts,
    latency_ms: Option<u32>,
    status: Status,
    service_tier: ServiceTier,
    prompt_hash: Option<u64>,
    prefix_hash: Option<u64>,
    prefix_tokens: Option<u32>,
    attempt: Option<u32>,
    reported_cost_usd: Option<f64>,
    calls: u32,
    aggregate: bool,
}

enum Op {
    Emit(u32, Option<u64>),
    KeepLast(u32, u64),
    /// Line number relative to the block (1-based).
    Skip(u64, SkipReason),
    Ignore,
}

/// What a worker made of one block, in order.
#[derive(Default)]
struct Batch {
    ops: Vec<Op>,
    recs: Vec<Packed>,
    arena: String,
    /// The block's distinct tag strings (provider, model, user, feature,
    /// endpoint, environment): ids into `tag_spans`.
    tag_ids: HashMap<String, u32, StrBuildHasher>,
    tag_spans: Vec<Span>,
    /// Lines in the block.
    lines: u64,
}

impl Batch {
    fn clear(&mut self) {
        self.ops.clear();
        self.recs.clear();
        self.arena.clear();
        self.tag_ids.clear();
        self.tag_spans.clear();
        self.lines = 0;
    }

    /// The id of a tag string in this batch, the same for equal strings.
    fn tag_id(&mut self, s: Option<&str>) -> u32 {
        let Some(s) = s else {
            return NO_TAG;
        };
        if let Some(&id) = self.tag_ids.get(s) {
            return id;
        }
        let id = u32::try_from(self.tag_spans.len()).unwrap_or(NO_TAG);
        let span = self.put(Some(s));
        self.tag_spans.push(span);
        self.tag_ids.insert(s.to_owned(), id);
        id
    }

    fn tag_str(&self, id: u32) -> Option<&str> {
        self.tag_spans
            .get(id as usize)
            .and_then(|&span| self.get(span))
    }

    fn put(&mut self, s: Option<&str>) -> Span {
        match s {
            None => Span::NONE,
            Some(s) => {
                let start = u32::try_from(self.arena.len()).unwrap_or(u32::MAX);
                self.arena.push_str(s);
                Span(start, u32::try_from(s.len()).unwrap_or(u32::MAX))
            }
        }
    }

    fn get(&self, span: Span) -> Option<&str> {
        (span.0 != u32::MAX)
            .then(|| self.arena.get(span.0 as usize..(span.0 + span.1) as usize))
            .flatten()
    }

    fn pack(&mut self, r: &UsageRecord) -> u32 {
        let tags = TagIds {
            provider: self.tag_id(r.provider.as_deref()),
            model: self.tag_id(Some(&r.model)),
            user: self.tag_id(r.tags.user.as_deref()),
            feature: self.tag_id(r.tags.feature.as_deref()),
            endpoint: self.tag_id(r.tags.endpoint.as_deref()),
            environment: self.tag_id(r.tags.environment.as_deref()),
        };
        let packed = Packed {
            timestamp: r.timestamp,
            tags,
            request_id: self.put(r.request_id.as_deref()),
            tokens: r.tokens,
            latency_ms: r.latency_ms,
            status: r.status,
            service_tier: r.service_tier,
            prompt_hash: r.prompt_hash,
            prefix_hash: r.prefix_hash,
            prefix_tokens: r.prefix_tokens,
            attempt: r.attempt,
            reported_cost_usd: r.reported_cost_usd,
            calls: r.calls,
            aggregate: r.aggregate,
        };
        self.recs.push(packed);
        u32::try_from(self.recs.len() - 1).unwrap_or(u32::MAX)
    }

    /// Fills `r` with record `i`; with `strings` false, only its model and
    /// its numbers (for a sink that takes the other strings by id).
    fn unpack(&self, i: u32, r: &mut UsageRecord, strings: bool) {
        let p = &self.recs[i as usize];
        r.timestamp = p.timestamp;
        set_str(&mut r.model, self.tag_str(p.tags.model).unwrap_or(""));
        if strings {
            set_opt(&mut r.provider, self.tag_str(p.tags.provider));
            set_opt(&mut r.request_id, self.get(p.request_id));
            set_opt(&mut r.tags.user, self.tag_str(p.tags.user));
            set_opt(&mut r.tags.feature, self.tag_str(p.tags.feature));
            set_opt(&mut r.tags.endpoint, self.tag_str(p.tags.endpoint));
            set_opt(&mut r.tags.environment, self.tag_str(p.tags.environment));
        }
        r.tokens = p.tokens;
        r.latency_ms = p.latency_ms;
        r.status = p.status;
        r.service_tier = p.service_tier;
        r.prompt_hash = p.prompt_hash;
        r.prefix_hash = p.prefix_hash;
        r.prefix_tokens = p.prefix_tokens;
        r.attempt = p.attempt;
        r.reported_cost_usd = p.reported_cost_usd;
        r.calls = p.calls;
        r.aggregate = p.aggregate;
    }
}

impl TagStrings for Batch {
    fn tag(&self, id: u32) -> &str {
        self.tag_str(id).unwrap_or("")
    }
}

impl Out for Batch {
    fn emit(&mut self, rec: &UsageRecord, key: Option<u64>) {
        let i = self.pack(rec);
        self.ops.push(Op::Emit(i, key));
    }
    fn emit_keep_last(&mut self, rec: &UsageRecord, key: u64) {
        let i = self.pack(rec);
        self.ops.push(Op::KeepLast(i, key));
    }
    fn skip(&mut self, line: u64, reason: SkipReason) {
        self.ops.push(Op::Skip(line, reason));
    }
    fn ignore(&mut self) {
        self.ops.push(Op::Ignore);
    }
}

struct Job {
    /// Whole lines; empty with `too_long` for one discarded over-long line.
    block: Vec<u8>,
    too_long: bool,
    batch: Batch,
}

/// Parses the lines of one block into `batch`.
fn process<H: JsonHandler>(handler: &mut H, job: &mut Job, max_line: usize) {
    let batch = &mut job.batch;
    if job.too_long {
        batch.lines = 1;
        batch.skip(1, SkipReason::LineTooLong { limit: max_line });
        return;
    }
    let block = &job.block;
    let mut start = 0;
    let mut rel = 0;
    while start < block.len() {
        let end = memchr_newline(&block[start..]).map_or(block.len(), |i| start + i);
        let mut line = &block[start..end];
        start = end + 1;
        rel += 1;
        if line.last() == Some(&b'\r') {
            line = &line[..line.len() - 1];
        }
        if line.len() > max_line {
            batch.skip(rel, SkipReason::LineTooLong { limit: max_line });
            continue;
        }
        let Ok(text) = std::str::from_utf8(line) else {
            batch.skip(rel, SkipReason::NotUtf8);
            continue;
        };
        let text = text.trim();
        if !text.is_empty() {
            handle_text(text, rel, handler, batch);
        }
    }
    batch.lines = rel;
}

/// Reads the next block of whole lines (or one over-long line, discarded).
/// `carry` holds the start of a line read past the previous block.
fn read_block<R: BufRead>(
    reader: &mut R,
    block: &mut Vec<u8>,
    carry: &mut Vec<u8>,
    target: usize,
    max_line: usize,
    bytes: &mut u64,
) -> std::io::Result<Option<bool>> {
    block.clear();
    block.append(carry);
    loop {
        let chunk = match reader.fill_buf() {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if chunk.is_empty() {
            return Ok((!block.is_empty()).then_some(false));
        }
        let n = chunk.len();
        block.extend_from_slice(chunk);
        reader.consume(n);
        *bytes += n as u64;
        if block.len() >= target {
            if let Some(pos) = block.iter().rposition(|&b| b == b'\n') {
                carry.extend_from_slice(&block[pos + 1..]);
                block.truncate(pos + 1);
                return Ok(Some(false));
            }
            if block.len() > max_line {
                // One line longer than the limit: discard it up to its newline.
                block.clear();
                loop {
                    let chunk = reader.fill_buf()?;
                    if chunk.is_empty() {
                        return Ok(Some(true));
                    }
                    let n = chunk.len();
                    if let Some(i) = memchr_newline(chunk) {
                        carry.extend_from_slice(&chunk[i + 1..]);
                        reader.consume(n);
                        *bytes += n as u64;
                        return Ok(Some(true));
                    }
                    reader.consume(n);
                    *bytes += n as u64;
                }
            }
        }
    }
}

/// Imports the rest of `reader` (line `first_line` on) with `threads`
/// workers, replaying their batches in order into `out`.
pub(crate) fn run<R: BufRead, H: JsonHandler + Default + Send>(
    mut reader: R,
    first_line: u64,
    opts: &ImportOptions,
    out: &mut Emitter<'_>,
    block_bytes: usize,
) -> Result<(), ImportError> {
    let threads = opts.threads.max(1);
    let max_line = opts.max_line_bytes;
    let in_flight = 2 * threads;
    std::thread::scope(|scope| -> Result<(), ImportError> {
        let mut to_workers: Vec<SyncSender<Job>> = Vec::with_capacity(threads);
        let mut from_workers: Vec<Receiver<Job>> = Vec::with_capacity(threads);
        for _ in 0..threads {
            let (job_tx, job_rx) = sync_channel::<Job>(2);
            let (done_tx, done_rx) = sync_channel::<Job>(2);
            scope.spawn(move || {
                let mut handler = H::default();
                for mut job in job_rx {
                    job.batch.clear();
                    process(&mut handler, &mut job, max_line);
                    if done_tx.send(job).is_err() {
                        break;
                    }
                }
            });
            to_workers.push(job_tx);
            from_workers.push(done_rx);
        }

        let mut spare: Vec<Job> = Vec::new();
        let mut carry = Vec::new();
        let mut bytes = out.report.bytes;
        let mut sent: usize = 0;
        let mut received: usize = 0;
        let mut eof = false;
        let mut line = first_line;
        let mut rec = super::apex::blank_record();
        loop {
            while !eof && sent - received < in_flight {
                let mut job = spare.pop().unwrap_or_else(|| Job {
                    block: Vec::new(),
                    too_long: false,
                    batch: Batch::default(),
                });
                match read_block(
                    &mut reader,
                    &mut job.block,
                    &mut carry,
                    block_bytes,
                    max_line,
                    &mut bytes,
                )? {
                    None => {
                        eof = true;
                        spare.push(job);
                    }
                    Some(too_long) => {
                        job.too_long = too_long;
                        to_workers[sent % threads]
                            .send(job)
                            .map_err(|_| worker_gone())?;
                        sent += 1;
                    }
                }
            }
            if received == sent {
                break;
            }
            let job = from_workers[received % threads]
                .recv()
                .map_err(|_| worker_gone())?;
            received += 1;
            replay(&job.batch, line, out, &mut rec);
            line += job.batch.lines;
            out.report.lines = line - 1;
            out.report.bytes = bytes;
            spare.push(job);
        }
        out.report.bytes = bytes;
        Ok(())
    })
}

fn worker_gone() -> ImportError {
    ImportError::Io(std::io::Error::other("an import worker thread stopped"))
}

fn replay(batch: &Batch, first_line: u64, out: &mut Emitter<'_>, rec: &mut UsageRecord) {
    out.begin_batch();
    let by_id = out.sink_uses_tags();
    for op in &batch.ops {
        match op {
            Op::Emit(i, key) => {
                batch.unpack(*i, rec, !by_id);
                out.emit_tagged(rec, *key, batch.recs[*i as usize].tags, batch);
            }
            Op::KeepLast(i, key) => {
                batch.unpack(*i, rec, true);
                out.emit_keep_last(rec, *key);
            }
            Op::Skip(rel, reason) => out.skip(first_line + rel - 1, reason.clone()),
            Op::Ignore => out.ignore(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::driver::run_blocks;
    use super::super::fields::SeenSet;
    use super::super::sink::FnSink;
    use super::super::{Format, ImportOptions, ImportReport};
    use crate::Dataset;
    use crate::record::UsageRecord;

    fn import(
        text: &[u8],
        format: Format,
        opts: &ImportOptions,
        block: usize,
    ) -> (Vec<UsageRecord>, ImportReport) {
        let mut out = Vec::new();
        let report = run_blocks(
            text,
            format,
            opts,
            &mut SeenSet::default(),
            &mut FnSink(&mut |r: &UsageRecord| out.push(r.clone())),
            block,
        )
        .unwrap();
        (out, report)
    }

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures")
                .join(name),
        )
        .unwrap()
    }

    #[test]
    fn parallel_import_equals_serial_import_at_any_block_size() {
        let mut mixed = fixture("apex.jsonl");
        mixed.extend_from_slice(
            b"\r\n{\"timestamp\":\"2025-01-01T00:00:00Z\",\"model\":\"m\"}\r\n\xff\n",
        );
        mixed.extend_from_slice(format!("{{\"model\":\"{}\"}}\n", "x".repeat(300)).as_bytes());
        mixed.extend_from_slice(b"{\"timestamp\":\"2025-01-01T00:00:01Z\",\"model\":\"last\"}");
        let cases = [
            (mixed, Format::ApexJsonl),
            (fixture("claude_code.jsonl"), Format::ClaudeCodeTranscript),
            (fixture("otel_spans.jsonl"), Format::OtelSpans),
        ];
        for (text, format) in cases {
            for max_line_bytes in [200, 1 << 20] {
                let serial_opts = ImportOptions {
                    threads: 1,
                    max_line_bytes,
                    pending_window: 2,
                    ..Default::default()
                };
                let expected = import(&text, format, &serial_opts, super::BLOCK_BYTES);
                assert!(expected.1.records > 0 || max_line_bytes < 1000);
                assert!(expected.1.skipped_count > 0);
                for threads in [2, 3] {
                    for block in [1, 5, 64, 700, 1 << 20] {
                        let opts = ImportOptions {
                            threads,
                            ..serial_opts.clone()
                        };
                        let got = import(&text, format, &opts, block);
                        assert_eq!(
                            got, expected,
                            "{format} threads {threads} block {block} max line {max_line_bytes}"
                        );
                    }
                }
            }
        }
    }

    /// The rows of `ds` with their strings resolved, for comparing datasets
    /// whose symbol numbering may differ.
    fn resolved(ds: &Dataset) -> Vec<String> {
        ds.rows
            .iter()
            .map(|r| {
                let s = |sym| ds.str(sym).unwrap_or("-");
                format!(
                    "{} {} {} {} {} {} {} {:?} {:?}",
                    r.ts_ms,
                    s(r.provider),
                    s(r.model),
                    s(r.user),
                    s(r.feature),
                    s(r.endpoint),
                    s(r.environment),
                    r.tokens,
                    r.prompt_hash
                )
            })
            .collect()
    }

    #[test]
    fn a_dataset_filled_from_batches_equals_one_filled_record_by_record() {
        let mut text = fixture("apex.jsonl");
        // Many blocks, repeated and fresh strings across them, absent tags.
        for i in 0..300 {
            text.extend_from_slice(
                format!(
                    "{{\"timestamp\":\"2025-01-01T00:00:{:02}Z\",\"provider\":\"p{}\",\"model\":\"m{}\",\"user\":\"u{}\",\"output_tokens\":{i}}}\n",
                    i % 60,
                    i % 3,
                    i % 7,
                    i % 50
                )
                .as_bytes(),
            );
        }
        for threads in [1, 2, 3] {
            for block in [64, 700, 1 << 20] {
                let opts = ImportOptions {
                    threads,
                    ..Default::default()
                };
                let mut pushed = Dataset::new();
                let a = run_blocks(
                    &text[..],
                    Format::ApexJsonl,
                    &opts,
                    &mut SeenSet::default(),
                    &mut FnSink(&mut |r: &UsageRecord| pushed.push(r)),
                    block,
                )
                .unwrap();
                let mut tagged = Dataset::new();
                let b = run_blocks(
                    &text[..],
                    Format::ApexJsonl,
                    &opts,
                    &mut SeenSet::default(),
                    &mut tagged,
                    block,
                )
                .unwrap();
                assert_eq!(a, b);
                assert!(tagged.len() > 300);
                assert_eq!(
                    resolved(&pushed),
                    resolved(&tagged),
                    "threads {threads} block {block}"
                );
                assert_eq!(
                    pushed.strings.len(),
                    tagged.strings.len(),
                    "each distinct string interned once"
                );
            }
        }
    }
}
