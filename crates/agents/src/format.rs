//! How figures are written in answers, the same way everywhere: USD as
//! `$1,234.56` (four decimals under a dollar, `$0.0042`), percentages with one
//! decimal (`12.3%`), counts with thousands separators (`1,234,567`).

/// `$1,234.56`; `$0.0042` for amounts under a dollar; `-$12.50`.
pub fn usd(v: f64) -> String {
    if !v.is_finite() {
        return "n/a".to_owned();
    }
    let sign = if v < 0.0 { "-" } else { "" };
    let a = v.abs();
    let dp = if a >= 1.0 || a == 0.0 { 2 } else { 4 };
    format!("{sign}${}", num(a, dp))
}

/// A number with thousands separators and `dp` decimals: `num(1234.5, 1)` is `1,234.5`.
pub fn num(v: f64, dp: u32) -> String {
    if !v.is_finite() {
        return "n/a".to_owned();
    }
    let scale = 10u64.pow(dp.min(9));
    let units = (v.abs() * scale as f64).round();
    if units >= 9.0e18 {
        return format!("{v:.0}");
    }
    let units = units as u64;
    let sign = if v < 0.0 && units > 0 { "-" } else { "" };
    let whole = thousands(units / scale);
    if dp == 0 {
        format!("{sign}{whole}")
    } else {
        format!(
            "{sign}{whole}.{:0width$}",
            units % scale,
            width = dp as usize
        )
    }
}

/// A count: `1,234` when whole, else one decimal (`1,234.5`).
pub fn count(v: f64) -> String {
    if v.fract() == 0.0 {
        num(v, 0)
    } else {
        num(v, 1)
    }
}

/// A percentage given in percent units: `pct(12.345)` is `12.3%`.
pub fn pct(percent: f64) -> String {
    if percent.is_finite() {
        format!("{}%", num(percent, 1))
    } else {
        "n/a".to_owned()
    }
}

/// A share given as a fraction: `share(0.1234)` is `12.3%`.
pub fn share(fraction: f64) -> String {
    pct(fraction * 100.0)
}

/// `1234567` as `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Milliseconds with separators: `1,234 ms`.
pub fn ms(v: u32) -> String {
    format!("{} ms", thousands(u64::from(v)))
}

/// Escapes `|` so a string can sit in a Markdown table cell.
pub fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_money_percentages_and_counts() {
        assert_eq!(usd(1234.567), "$1,234.57");
        assert_eq!(usd(0.0), "$0.00");
        assert_eq!(usd(0.00421), "$0.0042");
        assert_eq!(usd(-12.5), "-$12.50");
        assert_eq!(usd(f64::NAN), "n/a");
        assert_eq!(pct(12.345), "12.3%");
        assert_eq!(share(0.3), "30.0%");
        assert_eq!(thousands(1_000_000), "1,000,000");
        assert_eq!(thousands(999), "999");
        assert_eq!(ms(12_345), "12,345 ms");
        assert_eq!(cell("a|b\nc"), "a\\|b c");
        assert_eq!(num(1234.56, 1), "1,234.6");
        assert_eq!(num(-0.04, 1), "0.0");
        assert_eq!(num(999.999, 2), "1,000.00");
        assert_eq!(count(12.0), "12");
        assert_eq!(count(1234.5), "1,234.5");
    }
}
