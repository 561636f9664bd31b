//! Language models behind one trait.
//!
//! - [`NoModel`]: no model at all (the default); the agents then work from
//!   rules and templates, and [`LanguageModel::is_available`] says so.
//! - [`OpenAiCompatible`]: any OpenAI-compatible `/chat/completions` endpoint
//!   (OpenAI, vLLM, Ollama, LiteLLM), streamed.
//! - [`Anthropic`]: Anthropic's Messages API, streamed.
//!
//! Both HTTP clients share one transport: connect and overall timeouts,
//! retries with exponential backoff and jitter on 429, 5xx and connection
//! errors (honouring `Retry-After`), never a retry once text has been
//! delivered, and a small SSE parser of our own.

mod anthropic;
mod openai;
pub mod sse;
mod transport;

pub use anthropic::{Anthropic, AnthropicConfig};
pub use openai::{OpenAiCompatible, OpenAiConfig};
pub use transport::HttpOptions;

use async_trait::async_trait;
use std::time::Duration;

/// Who wrote a chat message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    User,
    Assistant,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }
}

/// One turn of the conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatMessage {
    pub role: Role,
    pub content: String,
}

impl ChatMessage {
    pub fn user(content: impl Into<String>) -> Self {
        ChatMessage {
            role: Role::User,
            content: content.into(),
        }
    }

    pub fn assistant(content: impl Into<String>) -> Self {
        ChatMessage {
            role: Role::Assistant,
            content: content.into(),
        }
    }
}

/// A chat completion request, provider-neutral.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ChatRequest {
    /// The system prompt.
    pub system: Option<String>,
    pub messages: Vec<ChatMessage>,
    /// Upper bound on the answer's length; each client has a default.
    pub max_tokens: Option<u32>,
    pub temperature: Option<f32>,
}

/// Why a completion failed. No variant ever carries the API key.
#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    /// [`NoModel`] was asked to complete.
    #[error("no language model is configured")]
    NotConfigured,
    #[error("invalid model endpoint URL {url:?}")]
    InvalidBaseUrl { url: String },
    #[error("the API key contains characters not allowed in an HTTP header")]
    InvalidApiKey,
    #[error("building the HTTP client failed")]
    Client(#[source] reqwest::Error),
    /// Connecting or sending failed (after the retries).
    #[error("could not reach the model endpoint")]
    Connect(#[source] reqwest::Error),
    /// The whole request took longer than the configured timeout.
    #[error("the model did not answer within {}s", .after.as_secs_f64())]
    Timeout { after: Duration },
    /// The endpoint answered with an error status (after the retries, for 429 and 5xx).
    #[error("the model endpoint answered HTTP {status}: {message}")]
    Status { status: u16, message: String },
    /// The provider reported an error inside the stream.
    #[error("the model reported an error ({kind}): {message}")]
    Provider { kind: String, message: String },
    /// Reading the streamed body failed.
    #[error("reading the model's stream failed")]
    Stream(#[source] reqwest::Error),
    #[error("the model's event stream is malformed")]
    Sse(#[from] sse::SseError),
    #[error("the model sent an event that is not the expected JSON")]
    InvalidJson(#[source] serde_json::Error),
    /// The stream closed before its end marker (`[DONE]` or `message_stop`).
    #[error("the model's stream ended before it was complete")]
    IncompleteStream,
}

/// A chat model that streams its answer.
#[async_trait]
pub trait LanguageModel: Send + Sync {
    /// A short name for logs and thinking events, e.g. `openai:gpt-4o-mini`.
    fn name(&self) -> &str;

    /// False for [`NoModel`]: the caller should take the rule-based path.
    fn is_available(&self) -> bool {
        true
    }

    /// Sends the request; calls `on_delta` with each piece of text as it
    /// arrives, and returns the whole text.
    async fn complete(
        &self,
        req: ChatRequest,
        on_delta: &mut (dyn for<'d> FnMut(&'d str) + Send),
    ) -> Result<String, LlmError>;
}

/// No model: rules and templates only.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoModel;

#[async_trait]
impl LanguageModel for NoModel {
    fn name(&self) -> &str {
        "none"
    }

    fn is_available(&self) -> bool {
        false
    }

    async fn complete(
        &self,
        _req: ChatRequest,
        _on_delta: &mut (dyn for<'d> FnMut(&'d str) + Send),
    ) -> Result<String, LlmError> {
        Err(LlmError::NotConfigured)
    }
}
