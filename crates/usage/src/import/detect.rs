//! Format detection from the first bytes of a file (and its name as a
//! tie-breaker).
//!
//! The first non-empty line is parsed as JSON when it is complete and
//! classified by its keys; a pretty-printed document (whose first line is
//! not a complete value) is classified by the keys that occur in the
//! sample. A CSV file is recognised by a header with `timestamp` and
//! `model` columns.

use super::Format;
use serde_json::{Map, Value};

/// Guesses the format of a file from its first bytes (a few KiB are
/// enough; more helps with pretty-printed documents) and optional name.
pub fn detect(sample: &[u8], filename: Option<&str>) -> Option<Format> {
    let sample = sample.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(sample);
    let text = String::from_utf8_lossy(sample);
    let first = text.lines().map(str::trim).find(|l| !l.is_empty())?;
    let name = filename.map(str::to_ascii_lowercase).unwrap_or_default();

    if !first.starts_with('{') && !first.starts_with('[') {
        return is_csv_header(first)
            .then_some(Format::ApexCsv)
            .or_else(|| name.ends_with(".csv").then_some(Format::ApexCsv));
    }
    let by_content = match serde_json::from_str::<Value>(first) {
        Ok(v) => classify(&v),
        Err(_) => classify_text(&text),
    };
    by_content.or_else(|| {
        (name.contains(".claude/") || name.contains(".claude\\"))
            .then_some(Format::ClaudeCodeTranscript)
    })
}

fn is_csv_header(line: &str) -> bool {
    let cols: Vec<String> = line
        .split(',')
        .map(|c| c.trim().trim_matches('"').to_ascii_lowercase())
        .collect();
    cols.iter().any(|c| c == "timestamp") && cols.iter().any(|c| c == "model")
}

fn classify(v: &Value) -> Option<Format> {
    match v {
        Value::Array(items) => items.first().and_then(classify),
        Value::Object(o) => classify_object(o),
        _ => None,
    }
}

fn has(o: &Map<String, Value>, keys: &[&str]) -> bool {
    keys.iter().any(|k| o.contains_key(*k))
}

fn classify_object(o: &Map<String, Value>) -> Option<Format> {
    if has(o, &["resourceSpans", "resource_spans"]) {
        return Some(Format::OtelSpans);
    }
    if let Some(Value::String(kind)) = o.get("type")
        && matches!(
            kind.as_str(),
            "assistant" | "user" | "summary" | "system" | "file-history-snapshot"
        )
        && has(
            o,
            &[
                "sessionId",
                "parentUuid",
                "uuid",
                "leafUuid",
                "requestId",
                "message",
            ],
        )
    {
        return Some(Format::ClaudeCodeTranscript);
    }
    // Usage-API pages and buckets: look at the first result.
    let result = first_of(o.get("results"))
        .or_else(|| first_of(o.get("result")))
        .or_else(|| {
            first_of(o.get("data"))
                .and_then(|b| b.as_object())
                .and_then(|b| first_of(b.get("results")).or_else(|| first_of(b.get("result"))))
        });
    if let Some(Value::Object(r)) = result {
        if has(r, &["uncached_input_tokens", "cache_read_input_tokens"]) {
            return Some(Format::AnthropicUsageReport);
        }
        if has(r, &["num_model_requests", "input_cached_tokens"]) {
            return Some(Format::OpenAiUsageBuckets);
        }
    }
    if has(o, &["starting_at"]) && has(o, &["results"]) {
        return Some(Format::AnthropicUsageReport);
    }
    if o.get("object")
        .and_then(Value::as_str)
        .is_some_and(|s| s == "bucket" || s.starts_with("organization.usage"))
    {
        return Some(Format::OpenAiUsageBuckets);
    }
    let row = if let Some(Value::Object(first)) = first_of(o.get("data")) {
        first
    } else {
        o
    };
    if has(row, &["spend"]) && has(row, &["startTime", "request_id", "call_type", "api_key"]) {
        return Some(Format::LiteLlmSpendLogs);
    }
    if is_span(o) {
        return Some(Format::OtelSpans);
    }
    if has(o, &["timestamp"]) && has(o, &["model"]) {
        return Some(Format::ApexJsonl);
    }
    None
}

fn first_of(v: Option<&Value>) -> Option<&Value> {
    v.and_then(Value::as_array).and_then(|a| a.first())
}

fn is_span(o: &Map<String, Value>) -> bool {
    let genai_attrs = match o.get("attributes") {
        Some(Value::Object(a)) => a
            .keys()
            .any(|k| k.starts_with("gen_ai.") || k.starts_with("llm.")),
        Some(Value::Array(a)) => a.iter().any(|kv| {
            kv.get("key")
                .and_then(Value::as_str)
                .is_some_and(|k| k.starts_with("gen_ai."))
        }),
        _ => false,
    };
    genai_attrs
        || (has(o, &["spanId", "span_id", "context"])
            && has(o, &["attributes"])
            && has(o, &["name"]))
        || o.keys().any(|k| k.starts_with("gen_ai."))
}

/// Classification of a pretty-printed document by the keys in the sample.
fn classify_text(text: &str) -> Option<Format> {
    let key = |k: &str| text.contains(&format!("\"{k}\""));
    if key("resourceSpans") || key("resource_spans") {
        Some(Format::OtelSpans)
    } else if key("uncached_input_tokens") || (key("starting_at") && key("results")) {
        Some(Format::AnthropicUsageReport)
    } else if key("num_model_requests") || key("input_cached_tokens") {
        Some(Format::OpenAiUsageBuckets)
    } else if key("spend") && (key("startTime") || key("request_id")) {
        Some(Format::LiteLlmSpendLogs)
    } else if key("requestId") && key("sessionId") {
        Some(Format::ClaudeCodeTranscript)
    } else if text.contains("\"gen_ai.") {
        Some(Format::OtelSpans)
    } else if key("timestamp") && key("model") {
        Some(Format::ApexJsonl)
    } else {
        None
    }
}
