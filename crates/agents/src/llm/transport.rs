//! The HTTP transport both model clients share: one streamed POST, with
//! timeouts and retries.
//!
//! Retried (with exponential backoff and jitter, or after `Retry-After` when
//! the server says): connection errors, 429, 5xx, overloaded/api errors the
//! provider reports in the stream, and streams cut before their end marker.
//! Never retried: other 4xx, the overall timeout (a model that hangs once
//! hangs again), and anything after text has reached the caller (a retry
//! would repeat it).

use super::LlmError;
use super::sse::{SseEvent, SseParser};
use futures_util::StreamExt;
use rand::Rng;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::{Response, Url};
use serde_json::Value;
use std::time::Duration;

/// Timeouts and retry policy of a model client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpOptions {
    /// Time allowed to open the connection.
    pub connect_timeout: Duration,
    /// Time allowed for one whole attempt, from sending to the last byte of the stream.
    pub timeout: Duration,
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// First backoff delay; doubles on each retry, with jitter.
    pub backoff_base: Duration,
    /// Upper bound of a backoff delay and of an honoured `Retry-After`.
    pub backoff_max: Duration,
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(120),
            max_retries: 3,
            backoff_base: Duration::from_millis(500),
            backoff_max: Duration::from_secs(30),
        }
    }
}

/// What one SSE event means to a protocol.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum StreamStep {
    /// A piece of the answer.
    Text(String),
    /// The end marker: the answer is complete.
    Done,
    /// Nothing for the caller (metadata, pings).
    Skip,
}

/// Turns one SSE event into a step; an `Err` ends the attempt.
pub(crate) type ParseEvent = fn(&SseEvent) -> Result<StreamStep, LlmError>;

/// The largest error body read to build an error message.
const MAX_ERROR_BODY: usize = 4096;
/// The longest error message kept from an error body.
const MAX_ERROR_MESSAGE: usize = 300;

#[derive(Debug)]
pub(crate) struct Transport {
    client: reqwest::Client,
    options: HttpOptions,
}

struct Failure {
    error: LlmError,
    retry_after: Option<Duration>,
}

impl From<LlmError> for Failure {
    fn from(error: LlmError) -> Self {
        Failure {
            error,
            retry_after: None,
        }
    }
}

impl Transport {
    pub(crate) fn new(options: HttpOptions) -> Result<Self, LlmError> {
        let client = reqwest::Client::builder()
            .connect_timeout(options.connect_timeout)
            .build()
            .map_err(LlmError::Client)?;
        Ok(Transport { client, options })
    }

    /// POSTs `body` as JSON and streams the SSE answer through `parse`.
    pub(crate) async fn stream(
        &self,
        url: &Url,
        headers: &HeaderMap,
        body: &Value,
        parse: ParseEvent,
        on_delta: &mut (dyn for<'d> FnMut(&'d str) + Send),
    ) -> Result<String, LlmError> {
        let mut retry = 0;
        loop {
            let mut emitted = false;
            let attempt = self.attempt(url, headers, body, parse, on_delta, &mut emitted);
            let failure = match tokio::time::timeout(self.options.timeout, attempt).await {
                Ok(Ok(text)) => return Ok(text),
                Ok(Err(failure)) => failure,
                Err(_elapsed) => {
                    return Err(LlmError::Timeout {
                        after: self.options.timeout,
                    });
                }
            };
            if emitted || !is_retryable(&failure.error) || retry >= self.options.max_retries {
                return Err(failure.error);
            }
            let delay = match failure.retry_after {
                Some(after) => after.min(self.options.backoff_max),
                None => backoff(&self.options, retry),
            };
            tracing::warn!(error = %failure.error, retry = retry + 1, delay_ms = delay.as_millis() as u64, "model call failed; retrying");
            tokio::time::sleep(delay).await;
            retry += 1;
        }
    }

    async fn attempt(
        &self,
        url: &Url,
        headers: &HeaderMap,
        body: &Value,
        parse: ParseEvent,
        on_delta: &mut (dyn for<'d> FnMut(&'d str) + Send),
        emitted: &mut bool,
    ) -> Result<String, Failure> {
        let response = self
            .client
            .post(url.clone())
            .headers(headers.clone())
            .json(body)
            .send()
            .await
            .map_err(|e| Failure::from(LlmError::Connect(e)))?;
        let status = response.status();
        if !status.is_success() {
            let retry_after = retry_after(response.headers());
            let message = error_message(response).await;
            return Err(Failure {
                error: LlmError::Status {
                    status: status.as_u16(),
                    message,
                },
                retry_after,
            });
        }
        let mut parser = SseParser::new();
        let mut text = String::new();
        let mut body = response.bytes_stream();
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(LlmError::Stream)?;
            for event in parser.push(&chunk).map_err(LlmError::from)? {
                match parse(&event)? {
                    StreamStep::Text(delta) if !delta.is_empty() => {
                        *emitted = true;
                        on_delta(&delta);
                        text.push_str(&delta);
                    }
                    StreamStep::Text(_) | StreamStep::Skip => {}
                    StreamStep::Done => return Ok(text),
                }
            }
        }
        Err(LlmError::IncompleteStream.into())
    }
}

fn is_retryable(error: &LlmError) -> bool {
    match error {
        LlmError::Connect(_) | LlmError::Stream(_) | LlmError::IncompleteStream => true,
        LlmError::Status { status, .. } => *status == 429 || (500..=599).contains(status),
        LlmError::Provider { kind, .. } => {
            matches!(
                kind.as_str(),
                "overloaded_error" | "api_error" | "rate_limit_error" | "server_error"
            )
        }
        _ => false,
    }
}

/// Exponential backoff with jitter: a delay in `[d/2, d]` where
/// `d = min(base * 2^retry, max)`.
fn backoff(options: &HttpOptions, retry: u32) -> Duration {
    let exp = options
        .backoff_base
        .saturating_mul(1u32.checked_shl(retry).unwrap_or(u32::MAX));
    let capped = exp.min(options.backoff_max);
    let half = capped / 2;
    let jitter_ms =
        rand::thread_rng().gen_range(0..=half.as_millis().min(u128::from(u64::MAX)) as u64);
    half + Duration::from_millis(jitter_ms)
}

/// `Retry-After` as seconds or an HTTP date, or OpenAI's `retry-after-ms`.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    if let Some(ms) = headers
        .get("retry-after-ms")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<f64>().ok())
    {
        return duration_from_secs(ms / 1000.0);
    }
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<f64>() {
        return duration_from_secs(secs);
    }
    let date = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let wait = date.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(wait.to_std().unwrap_or(Duration::ZERO))
}

fn duration_from_secs(secs: f64) -> Option<Duration> {
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(86_400.0)))
}

/// A short message from an error response: the provider's `error.message`
/// when the body is the usual JSON, otherwise the start of the body.
async fn error_message(mut response: Response) -> String {
    let mut body = Vec::new();
    while body.len() < MAX_ERROR_BODY {
        match response.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            Ok(None) | Err(_) => break,
        }
    }
    body.truncate(MAX_ERROR_BODY);
    let text = String::from_utf8_lossy(&body);
    let message = serde_json::from_str::<Value>(&text)
        .ok()
        .and_then(|v| {
            v.pointer("/error/message")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .unwrap_or_else(|| text.trim().to_owned());
    truncate_chars(&message, MAX_ERROR_MESSAGE)
}

fn truncate_chars(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn backoff_grows_and_stays_within_bounds() {
        let options = HttpOptions {
            backoff_base: Duration::from_millis(100),
            backoff_max: Duration::from_millis(1000),
            ..HttpOptions::default()
        };
        for (retry, full) in [
            (0, 100),
            (1, 200),
            (2, 400),
            (3, 800),
            (4, 1000),
            (40, 1000),
        ] {
            for _ in 0..50 {
                let d = backoff(&options, retry).as_millis();
                assert!(
                    (full / 2..=full).contains(&d),
                    "retry {retry}: {d}ms not in [{}, {full}]",
                    full / 2
                );
            }
        }
    }

    #[test]
    fn reads_retry_after_in_its_forms() {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        h.insert("retry-after-ms", HeaderValue::from_static("250"));
        assert_eq!(retry_after(&h), Some(Duration::from_millis(250)));
        let mut h = HeaderMap::new();
        h.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(
            retry_after(&h),
            Some(Duration::ZERO),
            "a date in the past means now"
        );
        h.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&h), None);
    }

    #[test]
    fn retries_only_transient_errors() {
        let status = |status| LlmError::Status {
            status,
            message: String::new(),
        };
        assert!(is_retryable(&status(429)));
        assert!(is_retryable(&status(503)));
        assert!(!is_retryable(&status(400)));
        assert!(!is_retryable(&status(401)));
        assert!(!is_retryable(&LlmError::Timeout {
            after: Duration::from_secs(1)
        }));
        assert!(is_retryable(&LlmError::Provider {
            kind: "overloaded_error".into(),
            message: String::new()
        }));
        assert!(!is_retryable(&LlmError::Provider {
            kind: "invalid_request_error".into(),
            message: String::new()
        }));
    }

    #[test]
    fn truncates_long_messages_on_char_boundaries() {
        assert_eq!(truncate_chars("héllo", 2), "hé…");
        assert_eq!(truncate_chars("ok", 5), "ok");
    }
}
