//! Any OpenAI-compatible chat completions endpoint (OpenAI, vLLM, Ollama,
//! LiteLLM), streamed: `POST {base_url}/chat/completions` with
//! `stream: true`, answered by SSE `data: {...}` lines whose
//! `choices[0].delta.content` carry the text, ended by `data: [DONE]`.

use super::sse::SseEvent;
use super::transport::{HttpOptions, StreamStep, Transport};
use super::{ChatRequest, LanguageModel, LlmError};
use async_trait::async_trait;
use reqwest::Url;
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderMap, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

/// Settings of an OpenAI-compatible endpoint.
#[derive(Debug, Clone)]
pub struct OpenAiConfig {
    /// E.g. `https://api.openai.com/v1` or `http://localhost:11434/v1`.
    pub base_url: String,
    /// Sent as `Authorization: Bearer ...` when set; local servers often need none.
    pub api_key: Option<SecretString>,
    pub model: String,
    pub http: HttpOptions,
}

impl OpenAiConfig {
    pub fn new(base_url: impl Into<String>, model: impl Into<String>) -> Self {
        OpenAiConfig {
            base_url: base_url.into(),
            api_key: None,
            model: model.into(),
            http: HttpOptions::default(),
        }
    }
}

/// A streamed OpenAI-compatible chat model.
#[derive(Debug)]
pub struct OpenAiCompatible {
    url: Url,
    headers: HeaderMap,
    model: String,
    name: String,
    transport: Transport,
}

impl OpenAiCompatible {
    pub fn new(config: OpenAiConfig) -> Result<Self, LlmError> {
        let url = endpoint(&config.base_url, "chat/completions")?;
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_static("text/event-stream"));
        if let Some(key) = &config.api_key {
            let mut value = HeaderValue::from_str(&format!("Bearer {}", key.expose_secret()))
                .map_err(|_| LlmError::InvalidApiKey)?;
            value.set_sensitive(true);
            headers.insert(AUTHORIZATION, value);
        }
        Ok(OpenAiCompatible {
            url,
            headers,
            name: format!("openai-compatible:{}", config.model),
            model: config.model,
            transport: Transport::new(config.http)?,
        })
    }

    fn body(&self, req: &ChatRequest) -> Value {
        let mut messages = Vec::with_capacity(req.messages.len() + 1);
        if let Some(system) = &req.system {
            messages.push(json!({"role": "system", "content": system}));
        }
        messages.extend(
            req.messages
                .iter()
                .map(|m| json!({"role": m.role.as_str(), "content": m.content})),
        );
        let mut body = json!({"model": self.model, "messages": messages, "stream": true});
        if let Some(max) = req.max_tokens {
            body["max_tokens"] = json!(max);
        }
        if let Some(t) = req.temperature {
            body["temperature"] = json!(t);
        }
        body
    }
}

#[async_trait]
impl LanguageModel for OpenAiCompatible {
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

/// `{base}/{path}`, whatever trailing slash the base has.
pub(super) fn endpoint(base: &str, path: &str) -> Result<Url, LlmError> {
    let invalid = || LlmError::InvalidBaseUrl {
        url: base.to_owned(),
    };
    let url =
        Url::parse(&format!("{}/{path}", base.trim_end_matches('/'))).map_err(|_| invalid())?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid());
    }
    Ok(url)
}

fn parse_event(event: &SseEvent) -> Result<StreamStep, LlmError> {
    let data = event.data.trim();
    if data == "[DONE]" {
        return Ok(StreamStep::Done);
    }
    let value: Value = serde_json::from_str(data).map_err(LlmError::InvalidJson)?;
    if let Some(error) = value.get("error") {
        let kind = error
            .get("type")
            .or_else(|| error.get("code"))
            .and_then(Value::as_str)
            .unwrap_or("error");
        let message = error
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or_default();
        return Err(LlmError::Provider {
            kind: kind.to_owned(),
            message: message.to_owned(),
        });
    }
    let content = value
        .pointer("/choices/0/delta/content")
        .and_then(Value::as_str)
        .unwrap_or_default();
    Ok(StreamStep::Text(content.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(data: &str) -> SseEvent {
        SseEvent {
            data: data.to_owned(),
            ..SseEvent::default()
        }
    }

    #[test]
    fn parses_deltas_done_and_errors() {
        assert_eq!(
            parse_event(&ev(r#"{"choices":[{"index":0,"delta":{"content":"Hi"}}]}"#)).unwrap(),
            StreamStep::Text("Hi".into())
        );
        assert_eq!(
            parse_event(&ev(r#"{"choices":[{"delta":{"role":"assistant"}}]}"#)).unwrap(),
            StreamStep::Text(String::new())
        );
        assert_eq!(
            parse_event(&ev(r#"{"choices":[]}"#)).unwrap(),
            StreamStep::Text(String::new())
        );
        assert_eq!(parse_event(&ev("[DONE]")).unwrap(), StreamStep::Done);
        assert!(matches!(
            parse_event(&ev(r#"{"error":{"message":"boom","type":"server_error"}}"#)),
            Err(LlmError::Provider { kind, message }) if kind == "server_error" && message == "boom"
        ));
        assert!(matches!(
            parse_event(&ev("{not json")),
            Err(LlmError::InvalidJson(_))
        ));
    }

    #[test]
    fn builds_endpoint_urls() {
        assert_eq!(
            endpoint("http://h:1/v1/", "chat/completions")
                .unwrap()
                .as_str(),
            "http://h:1/v1/chat/completions"
        );
        assert_eq!(
            endpoint("http://h:1/v1", "chat/completions")
                .unwrap()
                .as_str(),
            "http://h:1/v1/chat/completions"
        );
        assert!(matches!(
            endpoint("not a url", "x"),
            Err(LlmError::InvalidBaseUrl { .. })
        ));
        assert!(matches!(
            endpoint("ftp://h/", "x"),
            Err(LlmError::InvalidBaseUrl { .. })
        ));
    }
}
