//! OpenTelemetry spans with GenAI semantic-convention attributes.
//!
//! Input: OTLP JSON (`{"resourceSpans": [...]}`, as written by the
//! collector's file exporter, one export per line or one document), or one
//! flattened span object per line (`{"name", "context": {"trace_id",
//! "span_id"}, "start_time", "end_time", "status", "attributes": {...},
//! "resource": {"attributes": {...}}}`, as the Python SDK's console
//! exporter writes; attributes as a map or as OTLP key/value lists).
//!
//! A span is an LLM call when it names a model (`gen_ai.response.model`,
//! else `gen_ai.request.model`) and carries token usage or an error status.
//! Agent and tool spans (`gen_ai.operation.name` `invoke_agent`,
//! `create_agent`, `execute_tool`) are ignored: their usage totals repeat
//! the usage of the calls beneath them. Other spans are ignored.
//!
//! Tokens: `gen_ai.usage.input_tokens` (older: `gen_ai.usage.prompt_tokens`),
//! `gen_ai.usage.output_tokens` (`gen_ai.usage.completion_tokens`),
//! `gen_ai.usage.cache_read.input_tokens` and
//! `gen_ai.usage.cache_creation.input_tokens` (OpenLLMetry's
//! `gen_ai.usage.cache_read_input_tokens` / `cache_creation_input_tokens`
//! too), reasoning from `gen_ai.usage.reasoning.output_tokens` (or
//! `gen_ai.usage.reasoning_tokens`). The semantic conventions say
//! `input_tokens` SHOULD include all input tokens, cached ones included, so
//! uncached = input - cache read - cache creation. Some instrumentations
//! copy Anthropic's raw `input_tokens` (which excludes cache tokens); when
//! input is smaller than read + creation it cannot include them, and it is
//! taken as the uncached count.
//!
//! Provider: `gen_ai.provider.name`, else the older `gen_ai.system`, mapped
//! to catalogue ids (`aws.bedrock` -> `aws`, `gcp.vertex_ai` -> `google`...).
//! De-duplication: `gen_ai.response.id`, else trace id + span id. Latency:
//! end - start. Status: error status, with 429 (`error.type` or
//! `http.response.status_code`) as rate limited. Tags (span attributes,
//! then resource attributes): user `user.id` / `enduser.id`; feature
//! `apex.feature` / `feature` / `gen_ai.agent.name` / `service.name`;
//! endpoint `apex.endpoint` / `http.route`; environment
//! `deployment.environment.name` / `deployment.environment`. Service tier
//! from `gen_ai.openai.response.service_tier` / `openai.response.service_tier`.

use super::apex::{blank_record, parse_tier, reset, set_opt, set_str};
use super::driver::{JsonHandler, Locator, Out};
use super::fields::{
    Lenient, LenientU64, Text, catalogue_provider_id, from_epoch_guess, id_hash, latency_ms,
    parse_timestamp,
};
use super::{Format, SkipReason};
use crate::record::{ServiceTier, Status, TokenCounts, UsageRecord};
use chrono::{DateTime, Utc};
use serde::de::{IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use serde_json::value::RawValue;
use std::borrow::Cow;

/// An attribute value.
#[derive(Debug, Clone, PartialEq)]
enum Attr<'a> {
    Str(Cow<'a, str>),
    Num(f64),
    Bool(bool),
    Other,
}

impl<'de: 'a, 'a> Deserialize<'de> for Attr<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Attr<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an attribute value")
            }
            fn visit_borrowed_str<E: serde::de::Error>(self, v: &'de str) -> Result<Attr<'de>, E> {
                Ok(Attr::Str(Cow::Borrowed(v)))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Attr<'de>, E> {
                Ok(Attr::Str(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Attr<'de>, E> {
                Ok(Attr::Str(Cow::Owned(v)))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Attr<'de>, E> {
                Ok(Attr::Num(v as f64))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Attr<'de>, E> {
                Ok(Attr::Num(v as f64))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Attr<'de>, E> {
                Ok(Attr::Num(v))
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Attr<'de>, E> {
                Ok(Attr::Bool(v))
            }
            fn visit_unit<E: serde::de::Error>(self) -> Result<Attr<'de>, E> {
                Ok(Attr::Other)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Attr<'de>, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Attr::Other)
            }
            /// OTLP `AnyValue`: `{"stringValue": ...}`, `{"intValue": "12"}`...
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Attr<'de>, A::Error> {
                let mut out = Attr::Other;
                while let Some(key) = map.next_key::<Text<'de>>()? {
                    out = match key.as_ref() {
                        "stringValue" | "string_value" => map.next_value::<Attr<'de>>()?,
                        "intValue" | "int_value" | "doubleValue" | "double_value" => {
                            Attr::Num(map.next_value::<Lenient>()?.0)
                        }
                        "boolValue" | "bool_value" => Attr::Bool(map.next_value()?),
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                            out
                        }
                    };
                }
                Ok(out)
            }
        }
        d.deserialize_any(V)
    }
}

/// Attributes as a map (`{"k": v}`) or an OTLP list (`[{"key", "value"}]`).
#[derive(Debug, Default)]
struct Attrs<'a>(Vec<(Cow<'a, str>, Attr<'a>)>);

impl<'de: 'a, 'a> Deserialize<'de> for Attrs<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct KeyValue<'a> {
            #[serde(borrow)]
            key: Text<'a>,
            #[serde(borrow, default = "other")]
            value: Attr<'a>,
        }
        fn other<'a>() -> Attr<'a> {
            Attr::Other
        }
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Attrs<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("attributes as a map or a key/value list")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Attrs<'de>, A::Error> {
                let mut v = Vec::new();
                while let Some((k, a)) = map.next_entry::<Text<'de>, Attr<'de>>()? {
                    v.push((k.0, a));
                }
                Ok(Attrs(v))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Attrs<'de>, A::Error> {
                let mut v = Vec::new();
                while let Some(kv) = seq.next_element::<KeyValue<'de>>()? {
                    v.push((kv.key.0, kv.value));
                }
                Ok(Attrs(v))
            }
            fn visit_unit<E: serde::de::Error>(self) -> Result<Attrs<'de>, E> {
                Ok(Attrs::default())
            }
        }
        d.deserialize_any(V)
    }
}

impl<'a> Attrs<'a> {
    fn get(&self, key: &str) -> Option<&Attr<'a>> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }
}

/// Span and resource attributes, looked up in that order.
struct Lookup<'s, 'a> {
    span: &'s Attrs<'a>,
    resource: &'s Attrs<'a>,
}

impl Lookup<'_, '_> {
    fn attr(&self, keys: &[&str]) -> Option<&Attr<'_>> {
        keys.iter()
            .find_map(|k| self.span.get(k).or_else(|| self.resource.get(k)))
    }

    fn text(&self, keys: &[&str]) -> Option<&str> {
        keys.iter().find_map(
            |k| match self.span.get(k).or_else(|| self.resource.get(k)) {
                Some(Attr::Str(s)) if !s.is_empty() => Some(s.as_ref()),
                _ => None,
            },
        )
    }

    /// A token count; `Err` for a present but unusable value.
    fn count(&self, keys: &[&str]) -> Result<Option<u64>, SkipReason> {
        for k in keys {
            match self.span.get(k) {
                None | Some(Attr::Other) => continue,
                Some(Attr::Num(n)) => {
                    return Lenient(*n)
                        .count()
                        .map(Some)
                        .ok_or_else(|| bad(k, &n.to_string()));
                }
                Some(Attr::Str(s)) => {
                    return s.trim().parse::<u64>().map(Some).map_err(|_| bad(k, s));
                }
                Some(Attr::Bool(b)) => return Err(bad(k, &b.to_string())),
            }
        }
        Ok(None)
    }
}

fn bad(key: &str, value: &str) -> SkipReason {
    // Field names in reasons are static: name the kind of count.
    let field = if key.contains("cache_read") {
        "gen_ai.usage.cache_read.input_tokens"
    } else if key.contains("cache_creation") {
        "gen_ai.usage.cache_creation.input_tokens"
    } else if key.contains("reasoning") {
        "gen_ai.usage.reasoning.output_tokens"
    } else if key.contains("output") || key.contains("completion") {
        "gen_ai.usage.output_tokens"
    } else {
        "gen_ai.usage.input_tokens"
    };
    SkipReason::InvalidField {
        field,
        value: value.to_owned(),
    }
}

#[derive(Deserialize)]
struct Top<'a> {
    #[serde(rename = "resourceSpans", alias = "resource_spans", borrow, default)]
    resource_spans: Option<Vec<ResourceSpans<'a>>>,
}

#[derive(Deserialize)]
struct ResourceSpans<'a> {
    #[serde(borrow, default)]
    resource: Option<Resource<'a>>,
    #[serde(
        rename = "scopeSpans",
        alias = "scope_spans",
        alias = "instrumentationLibrarySpans",
        borrow,
        default
    )]
    scope_spans: Vec<ScopeSpans<'a>>,
}

#[derive(Deserialize, Default)]
struct Resource<'a> {
    #[serde(borrow, default)]
    attributes: Attrs<'a>,
}

#[derive(Deserialize)]
struct ScopeSpans<'a> {
    #[serde(borrow, default)]
    spans: Vec<&'a RawValue>,
}

/// One span, OTLP or flattened (both spellings accepted).
#[derive(Deserialize)]
struct Span<'a> {
    #[serde(rename = "traceId", alias = "trace_id", borrow, default)]
    trace_id: Option<Text<'a>>,
    #[serde(rename = "spanId", alias = "span_id", borrow, default)]
    span_id: Option<Text<'a>>,
    #[serde(borrow, default)]
    context: Option<Context<'a>>,
    #[serde(rename = "startTimeUnixNano", alias = "start_time_unix_nano", default)]
    start_nanos: Option<LenientU64>,
    #[serde(rename = "endTimeUnixNano", alias = "end_time_unix_nano", default)]
    end_nanos: Option<LenientU64>,
    #[serde(default)]
    start_time: Option<Value>,
    #[serde(default)]
    end_time: Option<Value>,
    #[serde(borrow, default)]
    attributes: Attrs<'a>,
    #[serde(default)]
    status: Option<Value>,
    #[serde(borrow, default)]
    resource: Option<Resource<'a>>,
}

#[derive(Deserialize)]
struct Context<'a> {
    #[serde(borrow, default)]
    trace_id: Option<Text<'a>>,
    #[serde(borrow, default)]
    span_id: Option<Text<'a>>,
}

fn time_of(nanos: Option<LenientU64>, text: Option<&Value>) -> Option<DateTime<Utc>> {
    if let Some(n) = nanos
        .filter(|n| n.0 > 0)
        .and_then(|n| i64::try_from(n.0).ok())
    {
        return Some(DateTime::from_timestamp_nanos(n));
    }
    match text? {
        Value::String(s) => {
            parse_timestamp(s).or_else(|| s.trim().parse::<i64>().ok().and_then(from_epoch_guess))
        }
        Value::Number(n) => n.as_i64().and_then(from_epoch_guess),
        _ => None,
    }
}

fn is_error(status: Option<&Value>) -> bool {
    let code = match status {
        Some(Value::Object(o)) => o.get("code").or_else(|| o.get("status_code")),
        other => other,
    };
    match code {
        Some(Value::Number(n)) => n.as_i64() == Some(2),
        Some(Value::String(s)) => {
            s.eq_ignore_ascii_case("error") || s.eq_ignore_ascii_case("status_code_error")
        }
        _ => false,
    }
}

#[derive(Default)]
pub(crate) struct Handler;

impl JsonHandler for Handler {
    fn value(
        &mut self,
        text: &str,
        loc: &mut Locator<'_>,
        out: &mut dyn Out,
    ) -> Result<(), SkipReason> {
        let top: Top<'_> = serde_json::from_str(text).map_err(|e| SkipReason::json(&e))?;
        let mut rec = blank_record();
        let Some(resource_spans) = top.resource_spans else {
            return span(text, &Attrs::default(), &mut rec, out);
        };
        for rs in &resource_spans {
            let empty = Attrs::default();
            let resource = rs.resource.as_ref().map_or(&empty, |r| &r.attributes);
            for ss in &rs.scope_spans {
                for s in &ss.spans {
                    let line = loc.line_of(s.get());
                    if let Err(reason) = span(s.get(), resource, &mut rec, out) {
                        out.skip(line, reason);
                    }
                }
            }
        }
        Ok(())
    }
}

fn span(
    text: &str,
    resource: &Attrs<'_>,
    rec: &mut UsageRecord,
    out: &mut dyn Out,
) -> Result<(), SkipReason> {
    let s: Span<'_> = serde_json::from_str(text).map_err(|e| SkipReason::json(&e))?;
    let own_resource = s.resource.as_ref().map(|r| &r.attributes);
    let attrs = Lookup {
        span: &s.attributes,
        resource: own_resource.unwrap_or(resource),
    };
    if s.attributes.0.is_empty()
        && s.trace_id.is_none()
        && s.context.is_none()
        && s.start_nanos.is_none()
        && s.start_time.is_none()
    {
        return Err(SkipReason::WrongShape(Format::OtelSpans));
    }
    if matches!(
        attrs.text(&["gen_ai.operation.name"]),
        Some("invoke_agent" | "create_agent" | "execute_tool")
    ) {
        out.ignore();
        return Ok(());
    }
    let Some(model) = attrs.text(&["gen_ai.response.model", "gen_ai.request.model"]) else {
        out.ignore();
        return Ok(());
    };
    let input = attrs.count(&["gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens"])?;
    let output = attrs.count(&[
        "gen_ai.usage.output_tokens",
        "gen_ai.usage.completion_tokens",
    ])?;
    let read = attrs
        .count(&[
            "gen_ai.usage.cache_read.input_tokens",
            "gen_ai.usage.cache_read_input_tokens",
        ])?
        .unwrap_or(0);
    let write = attrs
        .count(&[
            "gen_ai.usage.cache_creation.input_tokens",
            "gen_ai.usage.cache_creation_input_tokens",
        ])?
        .unwrap_or(0);
    let reasoning = attrs
        .count(&[
            "gen_ai.usage.reasoning.output_tokens",
            "gen_ai.usage.reasoning_tokens",
        ])?
        .unwrap_or(0);
    let error = is_error(s.status.as_ref());
    if input.is_none() && output.is_none() && read == 0 && write == 0 && !error {
        out.ignore();
        return Ok(());
    }
    let input = input.unwrap_or(0);
    let output = output.unwrap_or(0);
    let start = time_of(s.start_nanos, s.start_time.as_ref())
        .ok_or(SkipReason::MissingField("start time"))?;
    let end = time_of(s.end_nanos, s.end_time.as_ref());

    reset(rec);
    rec.timestamp = start;
    set_str(&mut rec.model, model);
    rec.provider = attrs
        .text(&["gen_ai.provider.name", "gen_ai.system"])
        .map(catalogue_provider_id);
    rec.tokens = TokenCounts {
        input_uncached: input.checked_sub(read + write).unwrap_or(input),
        cache_read: read,
        cache_write_5m: write,
        cache_write_1h: 0,
        output,
        reasoning: reasoning.min(output),
    };
    rec.latency_ms = end.and_then(|e| latency_ms(start, e));
    let http_429 = matches!(attrs.attr(&["http.response.status_code", "http.status_code"]), Some(Attr::Num(n)) if *n == 429.0)
        || matches!(attrs.attr(&["http.response.status_code", "http.status_code"]), Some(Attr::Str(s)) if s == "429");
    let error_type = attrs.text(&["error.type"]).unwrap_or("");
    let rate_limited = http_429
        || error_type.contains("429")
        || error_type
            .to_ascii_lowercase()
            .replace('_', "")
            .contains("ratelimit");
    rec.status = if rate_limited {
        Status::RateLimited
    } else if error || !error_type.is_empty() {
        Status::Error
    } else {
        Status::Ok
    };
    rec.service_tier = attrs
        .text(&[
            "gen_ai.openai.response.service_tier",
            "openai.response.service_tier",
            "gen_ai.openai.request.service_tier",
        ])
        .and_then(parse_tier)
        .unwrap_or(ServiceTier::Standard);
    set_opt(
        &mut rec.tags.user,
        attrs.text(&["user.id", "enduser.id", "gen_ai.user.id"]),
    );
    set_opt(
        &mut rec.tags.feature,
        attrs.text(&[
            "apex.feature",
            "feature",
            "gen_ai.agent.name",
            "service.name",
        ]),
    );
    set_opt(
        &mut rec.tags.endpoint,
        attrs.text(&["apex.endpoint", "http.route"]),
    );
    set_opt(
        &mut rec.tags.environment,
        attrs.text(&["deployment.environment.name", "deployment.environment"]),
    );
    let response_id = attrs.text(&["gen_ai.response.id"]);
    set_opt(&mut rec.request_id, response_id);
    let trace = s
        .trace_id
        .as_deref()
        .or(s.context.as_ref().and_then(|c| c.trace_id.as_deref()));
    let span_id = s
        .span_id
        .as_deref()
        .or(s.context.as_ref().and_then(|c| c.span_id.as_deref()));
    let key = match (response_id, trace, span_id) {
        (Some(id), _, _) => Some(id_hash(&[id])),
        (None, Some(t), Some(sp)) => Some(id_hash(&["span", t, sp])),
        _ => None,
    };
    out.emit(rec, key);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_parse_as_map_or_otlp_list() {
        let map: Attrs<'_> =
            serde_json::from_str(r#"{"a": "x", "b": 3, "c": true, "d": [1]}"#).unwrap();
        assert_eq!(map.get("a"), Some(&Attr::Str(Cow::Borrowed("x"))));
        assert_eq!(map.get("b"), Some(&Attr::Num(3.0)));
        assert_eq!(map.get("c"), Some(&Attr::Bool(true)));
        assert_eq!(map.get("d"), Some(&Attr::Other));
        let list: Attrs<'_> = serde_json::from_str(
            r#"[{"key": "a", "value": {"stringValue": "x"}}, {"key": "b", "value": {"intValue": "12"}}, {"key": "c", "value": {"doubleValue": 1.5}}]"#,
        )
        .unwrap();
        assert_eq!(list.get("a"), Some(&Attr::Str(Cow::Borrowed("x"))));
        assert_eq!(list.get("b"), Some(&Attr::Num(12.0)));
        assert_eq!(list.get("c"), Some(&Attr::Num(1.5)));
    }

    #[test]
    fn error_status_forms() {
        assert!(is_error(Some(&serde_json::json!({"code": 2}))));
        assert!(is_error(Some(
            &serde_json::json!({"code": "STATUS_CODE_ERROR"})
        )));
        assert!(is_error(Some(&serde_json::json!({"status_code": "ERROR"}))));
        assert!(!is_error(Some(
            &serde_json::json!({"status_code": "UNSET"})
        )));
        assert!(!is_error(None));
    }
}
