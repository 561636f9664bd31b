//! A fast path for Apex's own JSONL: a scanner for flat JSON objects with
//! the schema's keys, scalar values and strings without escapes, which is
//! what [`write_jsonl`](super::write_jsonl) produces. It is about three
//! times cheaper than going through serde's visitors. Anything else
//! (escapes, nested values, `null`, duplicate keys, odd numbers, any
//! syntax error) makes it give up and the caller falls back to serde, which
//! accepts every valid line and words the errors.

use super::apex::{ApexLine, HashField, TimeField};
use super::fields::Text;
use std::borrow::Cow;

/// A cursor over one JSON line, for the formats' fast paths.
pub(crate) struct Scanner<'a> {
    s: &'a str,
    b: &'a [u8],
    i: usize,
}

impl<'a> Scanner<'a> {
    pub(crate) fn new(s: &'a str) -> Self {
        Scanner {
            s,
            b: s.as_bytes(),
            i: 0,
        }
    }

    /// The next non-blank byte, not consumed.
    pub(crate) fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.b.get(self.i).copied()
    }

    /// True when only blanks are left.
    pub(crate) fn at_end(&mut self) -> bool {
        self.ws();
        self.i == self.b.len()
    }

    fn ws(&mut self) {
        while self.i < self.b.len() && matches!(self.b[self.i], b' ' | b'\t' | b'\n' | b'\r') {
            self.i += 1;
        }
    }

    pub(crate) fn eat(&mut self, c: u8) -> Option<()> {
        self.ws();
        (self.b.get(self.i) == Some(&c)).then(|| self.i += 1)
    }

    /// A string without escapes or control characters.
    pub(crate) fn string(&mut self) -> Option<&'a str> {
        self.eat(b'"')?;
        let start = self.i;
        self.skip_plain();
        match self.b.get(self.i)? {
            b'"' => {
                self.i += 1;
                self.s.get(start..self.i - 1)
            }
            _ => None,
        }
    }

    /// Moves to the next quote, backslash or control byte (or the end),
    /// eight bytes at a time.
    fn skip_plain(&mut self) {
        const LO: u64 = 0x0101_0101_0101_0101;
        const HI: u64 = 0x8080_8080_8080_8080;
        while let Some(chunk) = self.b.get(self.i..self.i + 8) {
            let mut w = [0u8; 8];
            w.copy_from_slice(chunk);
            let x = u64::from_le_bytes(w);
            let q = x ^ (LO * u64::from(b'"'));
            let bs = x ^ (LO * u64::from(b'\\'));
            let found = (q.wrapping_sub(LO) & !q
                | bs.wrapping_sub(LO) & !bs
                | x.wrapping_sub(LO * 0x20) & !x)
                & HI;
            if found != 0 {
                self.i += (found.trailing_zeros() / 8) as usize;
                return;
            }
            self.i += 8;
        }
        while self
            .b
            .get(self.i)
            .is_some_and(|&c| !matches!(c, b'"' | b'\\' | 0..=0x1f))
        {
            self.i += 1;
        }
    }

    /// The text of a JSON number (validated by the caller's parse).
    fn number_text(&mut self) -> Option<&'a str> {
        self.ws();
        let start = self.i;
        while self.i < self.b.len()
            && matches!(
                self.b[self.i],
                b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'
            )
        {
            self.i += 1;
        }
        let t = self.s.get(start..self.i)?;
        let first = *t.as_bytes().first()?;
        // JSON: optional minus, then a digit; no leading zeros before more digits.
        let digits = t.strip_prefix('-').unwrap_or(t).as_bytes();
        (first.is_ascii_digit() || first == b'-')
            .then_some(())
            .filter(|_| {
                digits.first().is_some_and(u8::is_ascii_digit)
                    && !(digits.len() > 1 && digits[0] == b'0' && digits[1].is_ascii_digit())
            })?;
        Some(t)
    }

    /// A non-negative integer without leading zeros, in one pass.
    pub(crate) fn u64(&mut self) -> Option<u64> {
        self.ws();
        let start = self.i;
        let mut v: u64 = 0;
        while let Some(&c) = self.b.get(self.i) {
            if !c.is_ascii_digit() {
                break;
            }
            v = v.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
            self.i += 1;
        }
        let len = self.i - start;
        let leading_zero = len > 1 && self.b[start] == b'0';
        let fraction = matches!(self.b.get(self.i), Some(b'.' | b'e' | b'E'));
        (len > 0 && !leading_zero && !fraction).then_some(v)
    }

    fn u32(&mut self) -> Option<u32> {
        u32::try_from(self.u64()?).ok()
    }

    fn f64(&mut self) -> Option<f64> {
        self.number_text()?.parse().ok()
    }

    fn bool(&mut self) -> Option<bool> {
        self.ws();
        let rest = &self.b[self.i..];
        if rest.starts_with(b"true") {
            self.i += 4;
            Some(true)
        } else if rest.starts_with(b"false") {
            self.i += 5;
            Some(false)
        } else {
            None
        }
    }

    /// Skips any JSON value, nested ones included, checking it as strictly
    /// as serde would (string escapes, number grammar, literals, nesting up to
    /// 100 levels); `None` on anything else.
    pub(crate) fn skip_value(&mut self) -> Option<()> {
        // Open containers: true for an object, false for an array.
        let mut stack: Vec<bool> = Vec::new();
        loop {
            // A value.
            match self.peek()? {
                b'{' | b'[' => {
                    let object = self.b[self.i] == b'{';
                    self.i += 1;
                    if stack.len() >= 100 {
                        return None;
                    }
                    stack.push(object);
                    let close = if object { b'}' } else { b']' };
                    if self.peek()? == close {
                        self.i += 1;
                        stack.pop();
                    } else {
                        if object {
                            self.skip_string()?;
                            self.eat(b':')?;
                        }
                        continue;
                    }
                }
                b'"' => self.skip_string()?,
                b't' => self.literal(b"true")?,
                b'f' => self.literal(b"false")?,
                b'n' => self.literal(b"null")?,
                _ => self.strict_number()?,
            }
            // After a value: the next member or element, or closings.
            loop {
                let Some(&object) = stack.last() else {
                    return Some(());
                };
                match self.peek()? {
                    b',' => {
                        self.i += 1;
                        if object {
                            self.skip_string()?;
                            self.eat(b':')?;
                        }
                        break;
                    }
                    b'}' if object => {
                        self.i += 1;
                        stack.pop();
                    }
                    b']' if !object => {
                        self.i += 1;
                        stack.pop();
                    }
                    _ => return None,
                }
            }
        }
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        self.b[self.i..]
            .starts_with(word)
            .then(|| self.i += word.len())
    }

    /// A string, escapes allowed (and checked).
    fn skip_string(&mut self) -> Option<()> {
        self.eat(b'"')?;
        loop {
            self.skip_plain();
            match *self.b.get(self.i)? {
                b'"' => {
                    self.i += 1;
                    return Some(());
                }
                b'\\' => {
                    match *self.b.get(self.i + 1)? {
                        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => self.i += 2,
                        b'u' => {
                            let hex = self.b.get(self.i + 2..self.i + 6)?;
                            if !hex.iter().all(u8::is_ascii_hexdigit) {
                                return None;
                            }
                            // Surrogates must pair up, as serde checks; leave them to it.
                            if matches!(hex[0], b'd' | b'D')
                                && matches!(hex[1], b'8'..=b'9' | b'a'..=b'f' | b'A'..=b'F')
                            {
                                return None;
                            }
                            self.i += 6;
                        }
                        _ => return None,
                    }
                }
                0..=0x1f => return None,
                _ => self.i += 1,
            }
        }
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`
    fn strict_number(&mut self) -> Option<()> {
        let b = self.b;
        let mut i = self.i;
        let digits = |i: &mut usize| {
            let start = *i;
            while b.get(*i).is_some_and(u8::is_ascii_digit) {
                *i += 1;
            }
            *i > start
        };
        if b.get(i) == Some(&b'-') {
            i += 1;
        }
        match b.get(i)? {
            b'0' => i += 1,
            b'1'..=b'9' => {
                digits(&mut i);
            }
            _ => return None,
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            if !digits(&mut i) {
                return None;
            }
        }
        if matches!(b.get(i), Some(b'e' | b'E')) {
            i += 1;
            if matches!(b.get(i), Some(b'+' | b'-')) {
                i += 1;
            }
            if !digits(&mut i) {
                return None;
            }
        }
        self.i = i;
        Some(())
    }

    /// Skips the scalar value of an unknown key (nested values give up).
    fn skip_scalar(&mut self) -> Option<()> {
        self.ws();
        match self.b.get(self.i)? {
            b'"' => self.string().map(drop),
            b't' | b'f' => self.bool().map(drop),
            b'n' if self.b[self.i..].starts_with(b"null") => {
                self.i += 4;
                Some(())
            }
            _ => self.f64().map(drop),
        }
    }
}

fn text(s: &str) -> Option<Text<'_>> {
    Some(Text(Cow::Borrowed(s)))
}

/// Parses a flat own-schema line, or `None` to fall back to serde.
pub(crate) fn parse(line: &str) -> Option<ApexLine<'_>> {
    let mut p = Scanner {
        s: line,
        b: line.as_bytes(),
        i: 0,
    };
    let mut l = ApexLine::default();
    let mut seen: u32 = 0;
    p.eat(b'{')?;
    p.ws();
    if p.b.get(p.i) == Some(&b'}') {
        p.i += 1;
    } else {
        loop {
            let key = p.string()?;
            p.eat(b':')?;
            p.ws();
            let bit = match key {
                "timestamp" => {
                    l.timestamp = Some(if p.b.get(p.i) == Some(&b'"') {
                        TimeField::Text(Cow::Borrowed(p.string()?))
                    } else {
                        TimeField::Epoch(p.number_text()?.parse().ok()?)
                    });
                    0
                }
                "provider" => {
                    l.provider = text(p.string()?);
                    1
                }
                "model" => {
                    l.model = text(p.string()?);
                    2
                }
                "input_tokens" => {
                    l.input_tokens = p.u64()?;
                    3
                }
                "cache_read_tokens" => {
                    l.cache_read_tokens = p.u64()?;
                    4
                }
                "cache_write_5m_tokens" => {
                    l.cache_write_5m_tokens = p.u64()?;
                    5
                }
                "cache_write_1h_tokens" => {
                    l.cache_write_1h_tokens = p.u64()?;
                    6
                }
                "output_tokens" => {
                    l.output_tokens = p.u64()?;
                    7
                }
                "reasoning_tokens" => {
                    l.reasoning_tokens = p.u64()?;
                    8
                }
                "latency_ms" => {
                    l.latency_ms = Some(p.u32()?);
                    9
                }
                "status" => {
                    l.status = text(p.string()?);
                    10
                }
                "service_tier" => {
                    l.service_tier = text(p.string()?);
                    11
                }
                "request_id" => {
                    l.request_id = text(p.string()?);
                    12
                }
                "user" => {
                    l.user = text(p.string()?);
                    13
                }
                "feature" => {
                    l.feature = text(p.string()?);
                    14
                }
                "endpoint" => {
                    l.endpoint = text(p.string()?);
                    15
                }
                "environment" => {
                    l.environment = text(p.string()?);
                    16
                }
                "prompt_hash" => {
                    l.prompt_hash = Some(hash(&mut p)?);
                    17
                }
                "prefix_hash" => {
                    l.prefix_hash = Some(hash(&mut p)?);
                    18
                }
                "prefix_tokens" => {
                    l.prefix_tokens = Some(p.u32()?);
                    19
                }
                "attempt" => {
                    l.attempt = Some(p.u32()?);
                    20
                }
                "cost_usd" => {
                    l.cost_usd = Some(p.f64()?);
                    21
                }
                "calls" => {
                    l.calls = Some(p.u32()?);
                    22
                }
                "aggregate" => {
                    l.aggregate = Some(p.bool()?);
                    23
                }
                _ => {
                    p.skip_scalar()?;
                    31
                }
            };
            if bit != 31 {
                if seen & (1 << bit) != 0 {
                    return None;
                }
                seen |= 1 << bit;
            }
            p.ws();
            match p.b.get(p.i)? {
                b',' => p.i += 1,
                b'}' => {
                    p.i += 1;
                    break;
                }
                _ => return None,
            }
        }
    }
    p.ws();
    (p.i == p.b.len()).then_some(l)
}

fn hash(p: &mut Scanner<'_>) -> Option<HashField> {
    p.ws();
    if p.b.get(p.i) == Some(&b'"') {
        let s = p.string()?;
        Some(HashField(
            super::apex::parse_hash(s).ok_or_else(|| s.to_owned()),
        ))
    } else {
        p.u64().map(|v| HashField(Ok(v)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_writer_output_and_gives_up_on_the_unusual() {
        let l = parse(
            r#"{"timestamp":"2025-01-01T00:00:00.000Z","model":"gpt-4o","input_tokens":12,"cost_usd":0.5,"aggregate":true,"x":null,"y":[1]}"#,
        );
        assert!(l.is_none(), "nested unknown value: serde decides");
        let l = parse(r#" { "timestamp" : 1735689600 , "model":"gpt-4o", "input_tokens":12, "cost_usd":-0.5e-3, "aggregate":true, "x":"ignored" } "#).unwrap();
        assert_eq!(
            (l.input_tokens, l.cost_usd, l.aggregate),
            (12, Some(-0.0005), Some(true))
        );
        assert_eq!(l.model.as_deref(), Some("gpt-4o"));
        for unusual in [
            r#"{"model":"a\"b"}"#,
            r#"{"model":"a","model":"b"}"#,
            r#"{"input_tokens":-1}"#,
            r#"{"input_tokens":1.5}"#,
            r#"{"input_tokens":012}"#,
            r#"{"model":null}"#,
            r#"{"model":"a"} x"#,
            r#"{"model":"a",}"#,
            r#"{"model" "a"}"#,
            r#"{"model":"a""#,
        ] {
            assert!(parse(unusual).is_none(), "{unusual}");
        }
        assert!(parse("{}").is_some());
    }
}
