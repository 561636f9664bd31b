//! Anthropic's Messages API, streamed: `POST {base_url}/v1/messages` with
//! `stream: true`, `x-api-key` and `anthropic-version: 2023-06-01`. The text
//! comes in `content_block_delta` events whose `delta.type` is `text_delta`;
//! `message_stop` ends the answer and an `error` event reports a failure.

use super::openai::endpoint;
use super::sse::SseEvent;
use super::transport::{HttpOptions, StreamStep, Transport};
use super::{ChatRequest, LanguageModel, LlmError};
use async_trait::async_trait;
use reqwest::Url;
use reqwest::header::{ACCEPT, HeaderMap, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

/// The API version this client speaks.
pub const ANTHROPIC_VERSION: &str = "2023-06-01";

/// Settings of the Anthropic client.
#[derive(Debug, Clone)]
pub struct AnthropicConfig {
    /// `https://api.anthropic.com` by default.
    pub base_url: String,
    pub api_key: SecretString,
    pub model: String,
    /// Used when a request sets no `max_tokens` (the API requires one).
    pub max_tokens: u32,
    pub http: HttpOptions,
}

impl AnthropicConfig {
    pub const DEFAULT_BASE_URL: &str = "https://api.anthropic.com";

    pub fn new(api_key: SecretString, model: impl Into<String>) -> Self {
        AnthropicConfig {
            base_url: Self::DEFAULT_BASE_URL.to_owned(),
            api_key,
            model: model.into(),
            max_tokens: 2048,
            http: HttpOptions::default(),
        }
    }
}

/// A streamed Anthropic chat model.
#[derive(Debug)]
pub struct Anthropic {
    url: Url,
    headers: HeaderMap,
    model: String,
    name: String,
    max_tokens: u32,
    transport: Transport,
}

impl Anthropic {
    pub fn new(config: AnthropicConfig) -> Result<Self, LlmError> {
        let url = endpoint(&config.base_url, "v1/messages")?;
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_static("text/event-stream"));
        headers.insert(
            "anthropic-version",
            HeaderValue::from_static(ANTHROPIC_VERSION),
        );
        let mut key = HeaderValue::from_str(config.api_key.expose_secret())
            .map_err(|_| LlmError::InvalidApiKey)?;
        key.set_sensitive(true);
        headers.insert("x-api-key", key);
        Ok(Anthropic {
            url,
            headers,
            name: format!("anthropic:{}", config.model),
            model: config.model,
            max_tokens: config.max_tokens,
            transport: Transport::new(config.http)?,
        })
    }

    fn body(&self, req: &ChatRequest) -> Value {
        let messages: Vec<Value> = req
            .messages
            .iter()
            .map(|m| json!({"role": m.role.as_str(), "content": m.content}))
            .collect();
        let mut body = json!({
            "model": self.model,
            "max_tokens": req.max_tokens.unwrap_or(self.max_tokens),
            "messages": messages,
            "stream": true,
        });
        if let Some(system) = &req.system {
            body["system"] = json!(system);
        }
        if let Some(t) = req.temperature {
            body["temperature"] = json!(t);
        }
        body
    }
}

#[async_trait]
impl LanguageModel for Anthropic {
    fn name(&self) -> &str {
        &self.name
    }

    async fn complete(
        &self,
        req: ChatRequest,
        on_delta: &mut (dyn for<'d> FnMut(&'d str) + Send),
    ) -> Result<String, LlmError> {
        let body = self.body(&req);
        self.transport
            .stream(&self.url, &self.headers, &body, parse_event, on_delta)
            .await
    }
}

fn parse_event(event: &SseEvent) -> Result<StreamStep, LlmError> {
    let value: Value = serde_json::from_str(&event.data).map_err(LlmError::InvalidJson)?;
    let kind = value
        .get("type")
        .and_then(Value::as_str)
        .or(event.event.as_deref())
        .unwrap_or_default();
    match kind {
        "content_block_delta" => {
            let delta = value.get("delta");
            let is_text =
                delta.and_then(|d| d.get("type")).and_then(Value::as_str) == Some("text_delta");
            let text = delta.and_then(|d| d.get("text")).and_then(Value::as_str);
            match (is_text, text) {
                (true, Some(text)) => Ok(StreamStep::Text(text.to_owned())),
                _ => Ok(StreamStep::Skip),
            }
        }
        "message_stop" => Ok(StreamStep::Done),
        "error" => {
            let error = value.get("error");
            let field = |name| {
                error
                    .and_then(|e| e.get(name))
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned()
            };
            Err(LlmError::Provider {
                kind: field("type"),
                message: field("message"),
            })
        }
        _ => Ok(StreamStep::Skip),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(event: &str, data: &str) -> SseEvent {
        SseEvent {
            event: Some(event.to_owned()),
            data: data.to_owned(),
            id: None,
        }
    }

    #[test]
    fn parses_the_message_events() {
        let delta = ev(
            "content_block_delta",
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}"#,
        );
        assert_eq!(parse_event(&delta).unwrap(), StreamStep::Text("Hi".into()));
        let json_delta = ev(
            "content_block_delta",
            r#"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{"}}"#,
        );
        assert_eq!(parse_event(&json_delta).unwrap(), StreamStep::Skip);
        assert_eq!(
            parse_event(&ev("ping", r#"{"type":"ping"}"#)).unwrap(),
            StreamStep::Skip
        );
        assert_eq!(
            parse_event(&ev("message_stop", r#"{"type":"message_stop"}"#)).unwrap(),
            StreamStep::Done
        );
        let error = ev(
            "error",
            r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
        );
        assert!(matches!(
            parse_event(&error),
            Err(LlmError::Provider { kind, message }) if kind == "overloaded_error" && message == "Overloaded"
        ));
    }
}
