//! A small, strict server-sent events parser (the WHATWG event-stream format).
//!
//! Bytes go in as they arrive, in chunks of any size; whole events come out.
//! Lines may end in `\n`, `\r\n` or `\r` (also when the `\r` and `\n` land in
//! different chunks); a line starting with `:` is a comment; several `data:`
//! lines join with `\n`; an event is dispatched on a blank line. UTF-8 is
//! decoded per complete line, so a character split across chunks is fine.
//! Pending data at the end of the stream is discarded, as the format says.

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SseEvent {
    /// The `event:` field; `None` means the default type (`message`).
    pub event: Option<String>,
    /// The `data:` lines joined with `\n`.
    pub data: String,
    /// The `id:` field, if any.
    pub id: Option<String>,
}

/// The stream broke the format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SseError {
    #[error("an event-stream line is longer than {max} bytes")]
    LineTooLong { max: usize },
    #[error("an event-stream line is not valid UTF-8")]
    InvalidUtf8,
}

/// Incremental parser; feed it with [`SseParser::push`].
#[derive(Debug)]
pub struct SseParser {
    line: Vec<u8>,
    /// The previous chunk ended with `\r`: a leading `\n` belongs to that line end.
    after_cr: bool,
    event: Option<String>,
    data: String,
    has_data: bool,
    id: Option<String>,
    max_line: usize,
}

impl Default for SseParser {
    fn default() -> Self {
        Self::new()
    }
}

impl SseParser {
    /// Longest line accepted by default: 1 MiB.
    pub const DEFAULT_MAX_LINE: usize = 1 << 20;

    pub fn new() -> Self {
        Self::with_max_line(Self::DEFAULT_MAX_LINE)
    }

    pub fn with_max_line(max_line: usize) -> Self {
        SseParser {
            line: Vec::new(),
            after_cr: false,
            event: None,
            data: String::new(),
            has_data: false,
            id: None,
            max_line,
        }
    }

    /// Feeds a chunk; returns the events completed by it, in order.
    pub fn push(&mut self, chunk: &[u8]) -> Result<Vec<SseEvent>, SseError> {
        let mut out = Vec::new();
        let mut rest = chunk;
        if self.after_cr {
            self.after_cr = false;
            if let Some((b'\n', tail)) = rest.split_first() {
                rest = tail;
            }
        }
        while let Some(pos) = rest.iter().position(|&b| b == b'\n' || b == b'\r') {
            let (head, tail) = rest.split_at(pos);
            self.extend_line(head)?;
            let terminator = tail[0];
            rest = &tail[1..];
            if terminator == b'\r' {
                match rest.first() {
                    Some(b'\n') => rest = &rest[1..],
                    Some(_) => {}
                    None => self.after_cr = true,
                }
            }
            let line = std::mem::take(&mut self.line);
            if let Some(event) = self.process_line(&line)? {
                out.push(event);
            }
        }
        self.extend_line(rest)?;
        Ok(out)
    }

    fn extend_line(&mut self, bytes: &[u8]) -> Result<(), SseError> {
        if self.line.len() + bytes.len() > self.max_line {
            return Err(SseError::LineTooLong { max: self.max_line });
        }
        self.line.extend_from_slice(bytes);
        Ok(())
    }

    fn process_line(&mut self, line: &[u8]) -> Result<Option<SseEvent>, SseError> {
        if line.is_empty() {
            return Ok(self.dispatch());
        }
        let line = std::str::from_utf8(line).map_err(|_| SseError::InvalidUtf8)?;
        let line = line.strip_prefix('\u{feff}').unwrap_or(line);
        if line.starts_with(':') {
            return Ok(None);
        }
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        match field {
            "event" => self.event = Some(value.to_owned()),
            "data" => {
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(value);
                self.has_data = true;
            }
            "id" if !value.contains('\0') => self.id = Some(value.to_owned()),
            // `retry` and unknown fields are ignored.
            _ => {}
        }
        Ok(None)
    }

    fn dispatch(&mut self) -> Option<SseEvent> {
        let event = self.event.take();
        if !self.has_data {
            return None;
        }
        self.has_data = false;
        Some(SseEvent {
            event,
            data: std::mem::take(&mut self.data),
            id: self.id.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(chunks: &[&[u8]]) -> Vec<SseEvent> {
        let mut p = SseParser::new();
        chunks.iter().flat_map(|c| p.push(c).unwrap()).collect()
    }

    fn data(events: &[SseEvent]) -> Vec<&str> {
        events.iter().map(|e| e.data.as_str()).collect()
    }

    #[test]
    fn parses_lf_crlf_and_cr_line_ends() {
        let lf = parse_all(&[b"data: a\n\ndata: b\n\n"]);
        let crlf = parse_all(&[b"data: a\r\n\r\ndata: b\r\n\r\n"]);
        let cr = parse_all(&[b"data: a\r\rdata: b\r\r"]);
        assert_eq!(data(&lf), ["a", "b"]);
        assert_eq!(lf, crlf);
        assert_eq!(lf, cr);
    }

    #[test]
    fn joins_multi_line_data_and_keeps_event_names() {
        let events = parse_all(&[b"event: content_block_delta\ndata: one\ndata:two\ndata\n\n"]);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].event.as_deref(), Some("content_block_delta"));
        assert_eq!(events[0].data, "one\ntwo\n");
    }

    #[test]
    fn skips_comments_and_events_without_data() {
        let events = parse_all(&[b": keep-alive\n\nevent: ping\n\nid: 7\ndata: x\n\n"]);
        assert_eq!(data(&events), ["x"]);
        assert_eq!(
            events[0].event, None,
            "the event name of a data-less event does not leak"
        );
        assert_eq!(events[0].id.as_deref(), Some("7"));
    }

    #[test]
    fn same_events_whatever_the_chunking() {
        let stream = "event: a\r\ndata: {\"t\":\"h\u{e9}llo\"}\r\n\r\n: c\r\ndata: 1\r\ndata: 2\r\n\r\ndata: [DONE]\r\n\r\n";
        let whole = parse_all(&[stream.as_bytes()]);
        assert_eq!(whole.len(), 3);
        assert_eq!(whole[0].data, "{\"t\":\"h\u{e9}llo\"}");
        // Every split point, including inside "\r\n" and inside the two-byte "é".
        for cut in 0..=stream.len() {
            let (a, b) = stream.as_bytes().split_at(cut);
            assert_eq!(parse_all(&[a, b]), whole, "split at {cut}");
        }
        // One byte at a time.
        let bytes: Vec<&[u8]> = stream.as_bytes().chunks(1).collect();
        assert_eq!(parse_all(&bytes), whole);
    }

    #[test]
    fn discards_an_unterminated_event_at_the_end() {
        let events = parse_all(&[b"data: done\n\ndata: partial"]);
        assert_eq!(data(&events), ["done"]);
    }

    #[test]
    fn rejects_overlong_lines_and_bad_utf8() {
        let mut p = SseParser::with_max_line(8);
        assert_eq!(
            p.push(b"data: 0123456789"),
            Err(SseError::LineTooLong { max: 8 })
        );
        let mut p = SseParser::new();
        assert_eq!(p.push(b"data: \xff\n"), Err(SseError::InvalidUtf8));
    }
}
