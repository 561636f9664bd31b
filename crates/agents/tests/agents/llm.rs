//! The model clients against the local server: streaming, request shape,
//! retries, failures and timeouts.

use crate::server::{Reply, TestServer, anthropic_events, openai_events};
use agents::{
    Anthropic, AnthropicConfig, ChatMessage, ChatRequest, HttpOptions, LanguageModel, LlmError,
    NoModel, OpenAiCompatible, OpenAiConfig,
};
use secrecy::SecretString;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// Fast retries so the tests do not wait on backoff.
fn fast_http() -> HttpOptions {
    HttpOptions {
        connect_timeout: Duration::from_secs(5),
        timeout: Duration::from_secs(30),
        max_retries: 2,
        backoff_base: Duration::from_millis(1),
        backoff_max: Duration::from_millis(5),
    }
}

fn openai(server: &TestServer, key: Option<&str>) -> OpenAiCompatible {
    let mut config = OpenAiConfig::new(format!("{}/v1/", server.url()), "gpt-test");
    config.api_key = key.map(|k| SecretString::from(k.to_owned()));
    config.http = fast_http();
    OpenAiCompatible::new(config).unwrap()
}

fn anthropic(server: &TestServer) -> Anthropic {
    let mut config =
        AnthropicConfig::new(SecretString::from("sk-ant-test".to_owned()), "claude-test");
    config.base_url = server.url();
    config.http = fast_http();
    Anthropic::new(config).unwrap()
}

fn request() -> ChatRequest {
    ChatRequest {
        system: Some("You are terse.".into()),
        messages: vec![ChatMessage::user("Say hello")],
        max_tokens: Some(64),
        temperature: Some(0.0),
    }
}

async fn collect(model: &dyn LanguageModel) -> (Result<String, LlmError>, Vec<String>) {
    let mut deltas = Vec::new();
    let result = model
        .complete(request(), &mut |d: &str| deltas.push(d.to_owned()))
        .await;
    (result, deltas)
}

#[tokio::test]
async fn openai_streams_deltas_in_order_while_the_stream_is_open() {
    let pieces = ["Hel", "lo, ", "wor", "ld ", "\u{1F30D}"];
    let events = openai_events(&pieces);
    // Chunk i (i > 0) holds exactly one delta, and the server sends it only
    // after the client has delivered the previous delta.
    let mut chunks = vec![format!("{}{}", events[0], events[1])];
    chunks.extend(events[2..events.len() - 2].iter().cloned());
    chunks.push(format!(
        "{}{}",
        events[events.len() - 2],
        events[events.len() - 1]
    ));
    let gate = Arc::new(Semaphore::new(0));
    let server = TestServer::start(vec![Reply::GatedSse(chunks, Arc::clone(&gate))]).await;
    let model = openai(&server, Some("sk-test"));

    let mut deltas = Vec::new();
    let mut on_delta = |d: &str| {
        deltas.push(d.to_owned());
        gate.add_permits(1);
    };
    let run = model.complete(request(), &mut on_delta);
    // A deadlock guard, not a timing assertion: buffering the whole stream would hang here.
    let text = tokio::time::timeout(Duration::from_secs(20), run)
        .await
        .expect("deltas were not streamed")
        .unwrap();

    assert_eq!(deltas, pieces);
    assert_eq!(text, pieces.concat());
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    let r = &requests[0];
    assert_eq!(r.method, "POST");
    assert_eq!(r.path, "/v1/chat/completions");
    assert_eq!(r.header("authorization"), Some("Bearer sk-test"));
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.body["model"], "gpt-test");
    assert_eq!(r.body["stream"], true);
    assert_eq!(r.body["max_tokens"], 64);
    assert_eq!(
        r.body["messages"][0],
        serde_json::json!({"role": "system", "content": "You are terse."})
    );
    assert_eq!(
        r.body["messages"][1],
        serde_json::json!({"role": "user", "content": "Say hello"})
    );
}

#[tokio::test]
async fn openai_events_split_across_chunks_with_crlf_and_comments() {
    let stream = ": keep-alive\r\n\r\n".to_owned()
        + &openai_events(&["a", "b", "c"])
            .concat()
            .replace('\n', "\r\n");
    // Cut into 7-byte pieces: events, and the "\r\n" pairs, straddle chunks.
    let chunks = stream
        .as_bytes()
        .chunks(7)
        .map(|c| String::from_utf8(c.to_vec()).unwrap())
        .collect();
    let server = TestServer::start(vec![Reply::Sse(chunks)]).await;
    let model = openai(&server, None);
    let (result, deltas) = collect(&model).await;
    assert_eq!(result.unwrap(), "abc");
    assert_eq!(deltas, ["a", "b", "c"]);
    assert_eq!(
        server.requests()[0].header("authorization"),
        None,
        "no key, no Authorization header"
    );
}

#[tokio::test]
async fn anthropic_streams_text_deltas() {
    let server =
        TestServer::start(vec![Reply::Sse(anthropic_events(&["The ", "answer", "."]))]).await;
    let model = anthropic(&server);
    let (result, deltas) = collect(&model).await;
    assert_eq!(result.unwrap(), "The answer.");
    assert_eq!(deltas, ["The ", "answer", "."]);
    let r = &server.requests()[0];
    assert_eq!(r.path, "/v1/messages");
    assert_eq!(r.header("x-api-key"), Some("sk-ant-test"));
    assert_eq!(r.header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(r.header("authorization"), None);
    assert_eq!(r.body["model"], "claude-test");
    assert_eq!(r.body["stream"], true);
    assert_eq!(r.body["max_tokens"], 64);
    assert_eq!(r.body["system"], "You are terse.");
    assert_eq!(
        r.body["messages"],
        serde_json::json!([{"role": "user", "content": "Say hello"}])
    );
    assert_eq!(model.name(), "anthropic:claude-test");
}

#[tokio::test]
async fn retries_429_honouring_retry_after_then_succeeds() {
    let server = TestServer::start(vec![
        Reply::Status(
            429,
            vec![("retry-after", "0".into())],
            r#"{"error":{"message":"slow down"}}"#.into(),
        ),
        Reply::Sse(openai_events(&["ok"])),
    ])
    .await;
    let (result, deltas) = collect(&openai(&server, Some("k"))).await;
    assert_eq!(result.unwrap(), "ok");
    assert_eq!(deltas, ["ok"]);
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn retries_5xx_and_overloaded_errors_before_any_text() {
    let overloaded = "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n";
    let server = TestServer::start(vec![
        Reply::Status(503, Vec::new(), "busy".into()),
        Reply::Sse(vec![overloaded.to_owned()]),
        Reply::Sse(anthropic_events(&["fine"])),
    ])
    .await;
    let (result, _) = collect(&anthropic(&server)).await;
    assert_eq!(result.unwrap(), "fine");
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn gives_up_on_persistent_500_after_the_retries() {
    let server = TestServer::start(vec![Reply::Status(
        500,
        Vec::new(),
        r#"{"error":{"message":"internal"}}"#.into(),
    )])
    .await;
    let (result, deltas) = collect(&openai(&server, None)).await;
    match result {
        Err(LlmError::Status {
            status: 500,
            message,
        }) => assert_eq!(message, "internal"),
        other => panic!("expected a 500, got {other:?}"),
    }
    assert!(deltas.is_empty());
    assert_eq!(server.requests().len(), 3, "one attempt and two retries");
}

#[tokio::test]
async fn does_not_retry_other_4xx() {
    let body =
        r#"{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}"#;
    let server = TestServer::start(vec![Reply::Status(401, Vec::new(), body.into())]).await;
    let (result, _) = collect(&anthropic(&server)).await;
    assert!(
        matches!(result, Err(LlmError::Status { status: 401, ref message }) if message == "invalid x-api-key"),
        "{result:?}"
    );
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn never_retries_once_text_was_delivered() {
    let mut events = anthropic_events(&["partial "]);
    events.truncate(4); // message_start, content_block_start, ping, one delta
    events.push("event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n".into());
    let server = TestServer::start(vec![Reply::Sse(events)]).await;
    let (result, deltas) = collect(&anthropic(&server)).await;
    assert!(
        matches!(result, Err(LlmError::Provider { ref kind, .. }) if kind == "overloaded_error"),
        "{result:?}"
    );
    assert_eq!(deltas, ["partial "]);
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn a_stream_cut_before_its_end_marker_is_an_error() {
    let mut events = openai_events(&["cut"]);
    events.pop(); // no [DONE]
    let server = TestServer::start(vec![Reply::Sse(events)]).await;
    let (result, _) = collect(&openai(&server, None)).await;
    assert!(
        matches!(result, Err(LlmError::IncompleteStream)),
        "{result:?}"
    );
}

#[tokio::test]
async fn a_hanging_server_times_out() {
    let server = TestServer::start(vec![Reply::Hang]).await;
    let mut config = OpenAiConfig::new(server.url(), "m");
    config.http = HttpOptions {
        timeout: Duration::from_millis(300),
        ..fast_http()
    };
    let model = OpenAiCompatible::new(config).unwrap();
    let (result, _) = collect(&model).await;
    assert!(
        matches!(result, Err(LlmError::Timeout { .. })),
        "{result:?}"
    );
    assert_eq!(server.requests().len(), 1, "a timeout is not retried");
}

#[tokio::test]
async fn an_unreachable_endpoint_is_a_connect_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let mut config = OpenAiConfig::new(format!("http://{addr}"), "m");
    config.http = fast_http();
    let (result, _) = collect(&OpenAiCompatible::new(config).unwrap()).await;
    assert!(matches!(result, Err(LlmError::Connect(_))), "{result:?}");
}

#[tokio::test]
async fn no_model_is_not_available_and_refuses() {
    assert!(!NoModel.is_available());
    let (result, deltas) = collect(&NoModel).await;
    assert!(matches!(result, Err(LlmError::NotConfigured)));
    assert!(deltas.is_empty());
}

#[test]
fn bad_configuration_is_rejected() {
    assert!(matches!(
        OpenAiCompatible::new(OpenAiConfig::new("localhost:11434", "m")),
        Err(LlmError::InvalidBaseUrl { .. })
    ));
    let config = AnthropicConfig::new(SecretString::from("bad\nkey".to_owned()), "m");
    assert!(matches!(
        Anthropic::new(config),
        Err(LlmError::InvalidApiKey)
    ));
}

#[test]
fn debug_output_never_shows_the_key() {
    let config = AnthropicConfig::new(SecretString::from("sk-ant-very-secret".to_owned()), "m");
    assert!(!format!("{config:?}").contains("very-secret"));
    let model = Anthropic::new(config).unwrap();
    assert!(!format!("{model:?}").contains("very-secret"));
}
