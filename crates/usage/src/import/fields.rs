//! Field helpers shared by the importers: timestamps (a fast RFC 3339 path
//! with a chrono fallback), numbers written as strings, request-id hashing,
//! and provider names mapped to price-catalogue ids.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Deserializer};
use std::borrow::Cow;
use std::hash::Hasher;

/// Parses the timestamp forms found in usage exports: RFC 3339 / ISO 8601
/// (`2025-08-20T10:00:00.123Z`, `+02:00` offsets, a space instead of `T`,
/// no offset meaning UTC), or a bare date (midnight UTC).
pub(crate) fn parse_timestamp(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    fast_rfc3339(s.as_bytes()).or_else(|| slow_timestamp(s))
}

fn slow_timestamp(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(t.and_utc());
        }
    }
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
}

/// `YYYY-MM-DD[T ]HH:MM:SS[.f{1,9}][Z|±HH:MM|±HHMM]`, without allocating.
fn fast_rfc3339(b: &[u8]) -> Option<DateTime<Utc>> {
    if b.len() < 19
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        b[r].iter().try_fold(0i64, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0'))
        })
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut i = 19;
    let mut nanos = 0u32;
    if i < b.len() && b[i] == b'.' {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            if i - start < 9 {
                nanos = nanos * 10 + u32::from(b[i] - b'0');
            }
            i += 1;
        }
        let digits = i - start;
        if digits == 0 {
            return None;
        }
        for _ in digits..9 {
            nanos *= 10;
        }
    }
    let offset = match &b[i..] {
        [] | [b'Z'] | [b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] | [sign @ (b'+' | b'-'), h1, h2, m1, m2] => {
            let d = |c: &u8| c.is_ascii_digit().then(|| i64::from(c - b'0'));
            let secs = (d(h1)? * 10 + d(h2)?) * 3600 + (d(m1)? * 10 + d(m2)?) * 60;
            if *sign == b'-' { -secs } else { secs }
        }
        _ => return None,
    };
    let secs =
        days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second.min(59)
            - offset;
    DateTime::from_timestamp(secs, nanos)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Seconds, milliseconds, microseconds or nanoseconds since the epoch,
/// told apart by magnitude (valid for dates between 1973 and 2286).
pub(crate) fn from_epoch_guess(v: i64) -> Option<DateTime<Utc>> {
    let a = v.unsigned_abs();
    if a < 100_000_000_000 {
        DateTime::from_timestamp(v, 0)
    } else if a < 100_000_000_000_000 {
        DateTime::from_timestamp_millis(v)
    } else if a < 100_000_000_000_000_000 {
        DateTime::from_timestamp_micros(v)
    } else {
        Some(DateTime::from_timestamp_nanos(v))
    }
}

/// Latency in whole milliseconds between two instants (`None` if negative).
pub(crate) fn latency_ms(start: DateTime<Utc>, end: DateTime<Utc>) -> Option<u32> {
    let ms = (end - start).num_milliseconds();
    (ms >= 0).then(|| u32::try_from(ms).unwrap_or(u32::MAX))
}

/// A number that may be written as a JSON number or a numeric string (OTLP
/// JSON writes 64-bit integers as strings).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Lenient(pub f64);

impl Lenient {
    /// As a token count: non-negative and integral, else `None`.
    pub fn count(self) -> Option<u64> {
        (self.0 >= 0.0 && self.0.fract() == 0.0 && self.0 < 1.8e19).then_some(self.0 as u64)
    }
}

impl<'de> Deserialize<'de> for Lenient {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Lenient;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a number or a numeric string")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Lenient, E> {
                Ok(Lenient(v as f64))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Lenient, E> {
                Ok(Lenient(v as f64))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Lenient, E> {
                Ok(Lenient(v))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Lenient, E> {
                v.trim()
                    .parse::<f64>()
                    .map(Lenient)
                    .map_err(|_| E::invalid_value(serde::de::Unexpected::Str(v), &self))
            }
        }
        d.deserialize_any(V)
    }
}

/// A JSON string borrowed from the input when it has no escape sequences
/// (serde's own `Cow` support does not borrow inside an `Option`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Text<'a>(pub Cow<'a, str>);

impl std::ops::Deref for Text<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: serde::de::Error>(self, v: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// An unsigned integer written as a JSON number or a decimal string, kept
/// exact (nanosecond timestamps exceed f64 precision).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct LenientU64(pub u64);

impl<'de> Deserialize<'de> for LenientU64 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = LenientU64;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an unsigned integer or a decimal string")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<LenientU64, E> {
                Ok(LenientU64(v))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<LenientU64, E> {
                u64::try_from(v)
                    .map(LenientU64)
                    .map_err(|_| E::invalid_value(serde::de::Unexpected::Signed(v), &self))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<LenientU64, E> {
                Lenient(v)
                    .count()
                    .map(LenientU64)
                    .ok_or_else(|| E::invalid_value(serde::de::Unexpected::Float(v), &self))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<LenientU64, E> {
                v.trim()
                    .parse::<u64>()
                    .map(LenientU64)
                    .map_err(|_| E::invalid_value(serde::de::Unexpected::Str(v), &self))
            }
        }
        d.deserialize_any(V)
    }
}

/// A boolean that may be written as `true`, `"True"`, `"false"`, `1`...
pub(crate) fn lenient_bool(v: &serde_json::Value) -> Option<bool> {
    match v {
        serde_json::Value::Bool(b) => Some(*b),
        serde_json::Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => Some(true),
            "false" | "0" | "no" | "" | "none" | "null" => Some(false),
            _ => None,
        },
        serde_json::Value::Number(n) => n.as_f64().map(|f| f != 0.0),
        _ => None,
    }
}

/// A stable 64-bit hash of a request id (SipHash-1-3 with fixed keys). The
/// de-duplication set stores these, not the strings.
pub(crate) fn id_hash(parts: &[&str]) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    for p in parts {
        h.write(p.as_bytes());
        h.write_u8(0xff);
    }
    h.finish()
}

/// The set of request-id hashes already imported: open addressing with
/// linear probing over the keys themselves (they are already uniform
/// hashes), so an insert touches one cache line where a general hash set
/// touches a control byte and a slot. Holds up to 3/4 of its slots; `0`
/// marks an empty slot, and the key `0` itself is a flag.
#[derive(Debug, Clone)]
pub(crate) struct SeenSet {
    slots: Vec<u64>,
    len: usize,
    has_zero: bool,
}

impl Default for SeenSet {
    fn default() -> Self {
        SeenSet {
            slots: vec![0; 1024],
            len: 0,
            has_zero: false,
        }
    }
}

impl SeenSet {
    /// Adds `key`; false when it was already there.
    pub fn insert(&mut self, key: u64) -> bool {
        if key == 0 {
            let new = !self.has_zero;
            self.has_zero = true;
            self.len += usize::from(new);
            return new;
        }
        if (self.len + 1) * 4 > self.slots.len() * 3 {
            self.grow();
        }
        let mask = self.slots.len() - 1;
        let mut i = Self::start(key, mask);
        loop {
            match self.slots[i] {
                0 => {
                    self.slots[i] = key;
                    self.len += 1;
                    return true;
                }
                k if k == key => return false,
                _ => i = (i + 1) & mask,
            }
        }
    }

    pub fn contains(&self, key: &u64) -> bool {
        let key = *key;
        if key == 0 {
            return self.has_zero;
        }
        let mask = self.slots.len() - 1;
        let mut i = Self::start(key, mask);
        loop {
            match self.slots[i] {
                0 => return false,
                k if k == key => return true,
                _ => i = (i + 1) & mask,
            }
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    /// The first slot to probe: the key's high bits (its low bits may be
    /// less mixed for hashes of short ids).
    fn start(key: u64, mask: usize) -> usize {
        (key.rotate_left(32) as usize) & mask
    }

    fn grow(&mut self) {
        let doubled = vec![0; self.slots.len() * 2];
        let old = std::mem::replace(&mut self.slots, doubled);
        let mask = self.slots.len() - 1;
        for key in old.into_iter().filter(|&k| k != 0) {
            let mut i = Self::start(key, mask);
            while self.slots[i] != 0 {
                i = (i + 1) & mask;
            }
            self.slots[i] = key;
        }
    }
}

/// Maps a provider name as a source writes it (OpenTelemetry
/// `gen_ai.provider.name` / `gen_ai.system`, LiteLLM `custom_llm_provider`)
/// to the price catalogue's provider id. Unknown names are kept, lowercased.
pub fn catalogue_provider_id(name: &str) -> String {
    let n = name.trim().to_ascii_lowercase();
    let id = match n.as_str() {
        "aws.bedrock" | "bedrock" | "bedrock_converse" | "aws_bedrock" | "amazon_bedrock" => "aws",
        "gcp.vertex_ai" | "gcp.gemini" | "gcp.gen_ai" | "vertex_ai" | "vertex_ai_beta"
        | "vertexai" | "gemini" | "google_genai" | "google-vertex" | "google-gla"
        | "google_ai_studio" => "google",
        "azure.ai.openai" | "az.ai.openai" | "azure.ai.inference" | "az.ai.inference"
        | "azure_openai" | "azure_ai" => "azure",
        "x_ai" | "xai" => "x-ai",
        "mistral_ai" | "mistralai" => "mistral",
        "moonshot_ai" | "moonshot" => "moonshotai",
        "together_ai" | "together-ai" => "together",
        "fireworks_ai" | "fireworks-ai" => "fireworks",
        "text-completion-openai" | "openai_like" => "openai",
        _ => return n,
    };
    id.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seen_set_inserts_once_and_grows() {
        let mut set = SeenSet::default();
        let keys: Vec<u64> = (0..20_000u64)
            .map(|i| i.wrapping_mul(0x9E37_79B9_7F4A_7C15))
            .chain([u64::MAX, 1 << 32]) // and 0, from i = 0
            .collect();
        for &k in &keys {
            assert!(!set.contains(&k));
            assert!(set.insert(k), "{k} is new");
            assert!(!set.insert(k), "{k} is a duplicate");
        }
        assert_eq!(set.len(), keys.len());
        assert!(
            keys.iter().all(|k| set.contains(k)),
            "all kept across growth"
        );
        assert!(!set.contains(&7), "7 was never inserted");
        // Keys that share their probe start are told apart.
        let mut crowded = SeenSet::default();
        for i in 1..=600u64 {
            assert!(crowded.insert(i), "all start at slot 0");
        }
        assert_eq!(crowded.len(), 600);
        assert!(!crowded.insert(5));
        assert!(crowded.contains(&600) && !crowded.contains(&601));
    }
    use chrono::TimeZone;

    #[test]
    fn fast_and_slow_timestamp_paths_agree() {
        let t = |s| parse_timestamp(s).unwrap();
        let expected = Utc.with_ymd_and_hms(2025, 8, 20, 10, 0, 0).unwrap()
            + chrono::Duration::milliseconds(123);
        assert_eq!(t("2025-08-20T10:00:00.123Z"), expected);
        assert_eq!(t("2025-08-20 12:00:00.123+02:00"), expected);
        assert_eq!(t("2025-08-20T10:00:00.123"), expected);
        assert_eq!(t("2025-08-20T10:00:00.123000000Z"), expected);
        assert_eq!(t("2025-08-20T07:30:00.123-0230"), expected);
        assert_eq!(
            t("2025-08-20"),
            Utc.with_ymd_and_hms(2025, 8, 20, 0, 0, 0).unwrap()
        );
        assert_eq!(
            t("2024-02-29T00:00:00Z"),
            Utc.with_ymd_and_hms(2024, 2, 29, 0, 0, 0).unwrap()
        );
        assert!(parse_timestamp("2025-02-29T00:00:00Z").is_none());
        assert!(parse_timestamp("2025-13-01T00:00:00Z").is_none());
        assert!(parse_timestamp("yesterday").is_none());
        for s in [
            "1999-12-31T23:59:59Z",
            "2038-01-19T03:14:08Z",
            "1970-01-01T00:00:00Z",
        ] {
            assert_eq!(
                fast_rfc3339(s.as_bytes()),
                Some(DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc))
            );
        }
    }

    #[test]
    fn epoch_units_are_guessed_by_magnitude() {
        let t = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
        let s = t.timestamp();
        assert_eq!(from_epoch_guess(s), Some(t));
        assert_eq!(from_epoch_guess(s * 1000), Some(t));
        assert_eq!(from_epoch_guess(s * 1_000_000), Some(t));
        assert_eq!(from_epoch_guess(s * 1_000_000_000), Some(t));
    }

    #[test]
    fn lenient_numbers_and_bools() {
        let n: Lenient = serde_json::from_str("\"1234\"").unwrap();
        assert_eq!(n.count(), Some(1234));
        let n: Lenient = serde_json::from_str("12.5").unwrap();
        assert_eq!(n.count(), None);
        assert!(serde_json::from_str::<Lenient>("\"abc\"").is_err());
        assert_eq!(lenient_bool(&serde_json::json!("True")), Some(true));
        assert_eq!(lenient_bool(&serde_json::json!("False")), Some(false));
    }

    #[test]
    fn provider_names_map_to_catalogue_ids() {
        assert_eq!(catalogue_provider_id("aws.bedrock"), "aws");
        assert_eq!(catalogue_provider_id("gcp.vertex_ai"), "google");
        assert_eq!(catalogue_provider_id("Anthropic"), "anthropic");
        assert_eq!(catalogue_provider_id("x_ai"), "x-ai");
        assert_eq!(catalogue_provider_id("ibm.watsonx.ai"), "ibm.watsonx.ai");
    }

    #[test]
    fn id_hash_separates_parts() {
        assert_ne!(id_hash(&["ab", "c"]), id_hash(&["a", "bc"]));
        assert_eq!(id_hash(&["req_1"]), id_hash(&["req_1"]));
    }
}
