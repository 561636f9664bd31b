//! Checks that every figure in a written answer comes from the tool results.
//!
//! [`numbers_in`] finds the numbers a text writes (`$1,234.56`, `12.3%`,
//! `1.2M`, `4,096`), each with the precision it was written to. A
//! [`FigureSet`] holds every number of the tool results (JSON numbers, and
//! numbers written inside their strings); a written number is supported when
//! some figure rounds to it at that precision, a percentage also when a
//! fraction does (`0.123` supports `12.3%`). Formatting is thus normalised:
//! `$1,234.57`, `1234.5678` and `$1.2k` all agree with a result of 1234.5678.
//!
//! Bare integers up to [`SMALL_INTEGER`] (list numbers, "3 recommendations")
//! need no support; money and percentages always do. Numbers glued to a
//! letter before them (`p95`, `gpt4`) are names, not figures.

use serde_json::Value;

/// Bare integers up to this are not checked.
pub const SMALL_INTEGER: f64 = 10.0;

/// A number as written in a text.
#[derive(Debug, Clone, PartialEq)]
pub struct WrittenNumber {
    /// The text as written, e.g. `$1,234.56` or `12.3%`.
    pub text: String,
    /// Its value, suffix applied (`1.2k` is 1200).
    pub value: f64,
    /// Half a unit of the last written digit, suffix applied: what rounding can hide.
    pub tolerance: f64,
    pub percent: bool,
    pub currency: bool,
    /// Written with a decimal point or a `k`/`M`/`B` suffix.
    pub fractional: bool,
    /// Byte offset just past the number (and its suffix) in the text.
    pub end: usize,
}

impl WrittenNumber {
    /// True when the number needs no support (a small bare integer).
    pub fn is_small_integer(&self) -> bool {
        !self.percent && !self.currency && !self.fractional && self.value <= SMALL_INTEGER
    }
}

/// Every number written in `text`, in order.
pub fn numbers_in(text: &str) -> Vec<WrittenNumber> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if !b[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let prev = i.checked_sub(1).map(|p| b[p]);
        if prev.is_some_and(|p| p.is_ascii_alphabetic() || p == b'_') {
            // Part of a name (`p95`, `gpt4o`, `v1.2`): skip it whole.
            while i < b.len()
                && (b[i].is_ascii_alphanumeric()
                    || (b[i] == b'.' && b.get(i + 1).is_some_and(u8::is_ascii_digit)))
            {
                i += 1;
            }
            continue;
        }
        let start = i;
        let currency = prev == Some(b'$');
        let mut digits = String::new();
        while i < b.len() && b[i].is_ascii_digit() {
            digits.push(b[i] as char);
            i += 1;
        }
        // Thousands groups: a comma followed by exactly three digits.
        while i + 3 < b.len()
            && b[i] == b','
            && b[i + 1..]
                .iter()
                .take(3)
                .filter(|c| c.is_ascii_digit())
                .count()
                == 3
            && !b.get(i + 4).is_some_and(u8::is_ascii_digit)
        {
            digits.extend(b[i + 1..i + 4].iter().map(|&c| c as char));
            i += 4;
        }
        let mut decimals = 0i32;
        if b.get(i) == Some(&b'.') && b.get(i + 1).is_some_and(u8::is_ascii_digit) {
            digits.push('.');
            i += 1;
            while i < b.len() && b[i].is_ascii_digit() {
                digits.push(b[i] as char);
                decimals += 1;
                i += 1;
            }
        }
        let Ok(value) = digits.parse::<f64>() else {
            continue;
        };
        let rest = &text[i..];
        let not_letter_at = |k: usize| !b.get(i + k).is_some_and(u8::is_ascii_alphabetic);
        let (mut percent, mut scale) = (false, 1.0);
        if rest.starts_with('%') {
            percent = true;
            i += 1;
        } else if let Some(len) = [" percent", " per cent"]
            .iter()
            .find(|w| rest.starts_with(**w))
            .map(|w| w.len())
        {
            percent = true;
            i += len;
        } else if rest.starts_with("bn") && not_letter_at(2) {
            scale = 1e9;
            i += 2;
        } else if let Some(s) = rest
            .bytes()
            .next()
            .and_then(suffix_scale)
            .filter(|_| not_letter_at(1))
        {
            scale = s;
            i += 1;
        }
        let tolerance = 0.5 * 10f64.powi(-decimals) * scale * (1.0 + 1e-9) + 1e-12;
        out.push(WrittenNumber {
            text: format!("{}{}", if currency { "$" } else { "" }, &text[start..i]),
            value: value * scale,
            tolerance,
            percent,
            currency,
            fractional: decimals > 0 || scale > 1.0,
            end: i,
        });
    }
    out
}

fn suffix_scale(c: u8) -> Option<f64> {
    match c {
        b'k' | b'K' => Some(1e3),
        b'M' => Some(1e6),
        b'B' => Some(1e9),
        _ => None,
    }
}

/// The figures an answer may use.
#[derive(Debug, Clone, Default)]
pub struct FigureSet {
    /// Absolute values, sorted.
    values: Vec<f64>,
    sorted: bool,
}

impl FigureSet {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds every number of a JSON value: number leaves and numbers written in strings.
    pub fn add_json(&mut self, value: &Value) {
        match value {
            Value::Number(n) => {
                if let Some(f) = n.as_f64() {
                    self.push(f);
                }
            }
            Value::String(s) => self.add_text(s),
            Value::Array(items) => items.iter().for_each(|v| self.add_json(v)),
            Value::Object(map) => map.values().for_each(|v| self.add_json(v)),
            Value::Bool(_) | Value::Null => {}
        }
    }

    /// Adds the numbers written in a text (e.g. the user's question: "30%").
    pub fn add_text(&mut self, text: &str) {
        for n in numbers_in(text) {
            self.push(n.value);
        }
    }

    fn push(&mut self, v: f64) {
        if v.is_finite() {
            self.values.push(v.abs());
            self.sorted = false;
        }
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    fn sort(&mut self) {
        if !self.sorted {
            self.values.sort_by(f64::total_cmp);
            self.values.dedup();
            self.sorted = true;
        }
    }

    fn any_within(&self, lo: f64, hi: f64) -> bool {
        let i = self.values.partition_point(|&v| v < lo);
        self.values.get(i).is_some_and(|&v| v <= hi)
    }

    /// True when some figure rounds to `n` as written.
    pub fn supports(&mut self, n: &WrittenNumber) -> bool {
        if n.is_small_integer() {
            return true;
        }
        self.sort();
        let (lo, hi) = (n.value - n.tolerance, n.value + n.tolerance);
        self.any_within(lo, hi) || (n.percent && self.any_within(lo / 100.0, hi / 100.0))
    }

    /// The numbers of `answer` no figure supports, as written; empty when all are supported.
    pub fn unsupported(&mut self, answer: &str) -> Vec<String> {
        numbers_in(answer)
            .into_iter()
            .filter(|n| !self.supports(n))
            .map(|n| n.text)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn texts(s: &str) -> Vec<String> {
        numbers_in(s).into_iter().map(|n| n.text).collect()
    }

    #[test]
    fn finds_numbers_as_written() {
        assert_eq!(
            texts("Spend $1,234.56 a month, 12.3% of it, 4,096 tokens."),
            ["$1,234.56", "12.3%", "4,096"]
        );
        assert_eq!(
            texts("p95 of gpt-4o-mini is 1.2k ms; claude-3-5 too"),
            ["4", "1.2k", "3", "5"]
        );
        assert_eq!(
            texts("lists: 1, 2, 3 and 10,00"),
            ["1", "2", "3", "10", "00"]
        );
        assert_eq!(
            texts("a 30 percent cut, 2.5M tokens, $3bn"),
            ["30 percent", "2.5M", "$3bn"]
        );
        let n = &numbers_in("$1,234.56")[0];
        assert_eq!(n.value, 1234.56);
        assert!(n.currency && n.fractional && !n.percent);
        assert!((n.tolerance - 0.005).abs() < 1e-9);
        let k = &numbers_in("1.2k")[0];
        assert_eq!(k.value, 1200.0);
        assert!((k.tolerance - 50.0).abs() < 1e-6);
    }

    #[test]
    fn supports_numbers_whatever_their_formatting() {
        let mut set = FigureSet::new();
        set.add_json(&json!({"monthly_usd": 1234.5678, "share": 0.1234, "calls": 240_512, "note": "saves $99.10 at 50% off"}));
        for ok in [
            "$1,234.57",
            "$1,235",
            "1234.5678",
            "$1.2k",
            "12.3%",
            "12%",
            "240,512",
            "240.5k",
            "$99.10",
            "50%",
            "0.12",
        ] {
            assert!(set.unsupported(ok).is_empty(), "{ok} should be supported");
        }
        for bad in [
            "$1,234.00",
            "$1,300",
            "13.5%",
            "240,000",
            "$99.99",
            "42%",
            "$5",
            "11",
        ] {
            assert_eq!(set.unsupported(bad), [bad], "{bad} should not be supported");
        }
        assert!(
            set.unsupported("Step 3 of 4: the 2 largest").is_empty(),
            "small bare integers are free"
        );
    }

    #[test]
    fn question_numbers_count_as_figures() {
        let mut set = FigureSet::new();
        set.add_text("how can we cut costs by 30%?");
        assert!(set.unsupported("Your 30% target").is_empty());
        assert_eq!(set.unsupported("a 35% cut"), ["35%"]);
    }
}
