//! Wire details against a small fake HTTP server that records requests and
//! answers what it is told: the `x-request-id` header, Basic credentials,
//! error-body mapping, which answers count as breaker failures, timeouts,
//! undecodable bodies, tolerance of unknown fields.

use crate::harness::*;
use auth_client::{
    AuthClient, AuthClientError, AuthServiceStatus, BreakerState, ManualClock, UnavailableKind,
    request_id,
};
use base64::Engine as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;

/// What the fake answers.
#[derive(Clone)]
enum Answer {
    Respond {
        status: u16,
        body: String,
    },
    /// Accept, read the request, never answer.
    Hang,
}

struct Fake {
    base: String,
    answer: Arc<Mutex<Answer>>,
    /// Each request's head (lower-cased header names) and body.
    requests: Arc<Mutex<Vec<(String, String)>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Fake {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Fake {
    async fn start(answer: Answer) -> Fake {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let answer = Arc::new(Mutex::new(answer));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let task = tokio::spawn({
            let (answer, requests) = (answer.clone(), requests.clone());
            async move {
                loop {
                    let Ok((mut sock, _)) = listener.accept().await else {
                        return;
                    };
                    let (answer, requests) = (answer.clone(), requests.clone());
                    tokio::spawn(async move {
                        let mut buf = Vec::new();
                        let mut chunk = [0u8; 4096];
                        let head_end = loop {
                            let Ok(n) = sock.read(&mut chunk).await else {
                                return;
                            };
                            if n == 0 {
                                return;
                            }
                            buf.extend_from_slice(&chunk[..n]);
                            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                                break i + 4;
                            }
                        };
                        let head = String::from_utf8_lossy(&buf[..head_end]).to_lowercase();
                        let len = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse::<usize>().ok())
                            .unwrap_or(0);
                        while buf.len() < head_end + len {
                            let Ok(n) = sock.read(&mut chunk).await else {
                                return;
                            };
                            if n == 0 {
                                break;
                            }
                            buf.extend_from_slice(&chunk[..n]);
                        }
                        let body = String::from_utf8_lossy(&buf[head_end..]).into_owned();
                        requests.lock().unwrap().push((head, body));
                        let answer = answer.lock().unwrap().clone();
                        match answer {
                            Answer::Hang => {
                                tokio::time::sleep(Duration::from_secs(3600)).await;
                            }
                            Answer::Respond { status, body } => {
                                let content_type = if body.starts_with('{') {
                                    "application/json"
                                } else {
                                    "text/html"
                                };
                                let resp = format!(
                                    "HTTP/1.1 {status} X\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                                    body.len()
                                );
                                let _ = sock.write_all(resp.as_bytes()).await;
                                let _ = sock.shutdown().await;
                            }
                        }
                    });
                }
            }
        });
        Fake {
            base,
            answer,
            requests,
            task,
        }
    }

    fn set(&self, answer: Answer) {
        *self.answer.lock().unwrap() = answer;
    }

    fn requests(&self) -> Vec<(String, String)> {
        self.requests.lock().unwrap().clone()
    }
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .map(str::trim)
}

fn ok(body: &str) -> Answer {
    Answer::Respond {
        status: 200,
        body: body.into(),
    }
}

#[tokio::test]
async fn every_request_carries_the_scoped_request_id_or_a_fresh_uuid() {
    let fake = Fake::start(ok(r#"{"keys":[],"unknown":{"nested":1}}"#)).await;
    let client = AuthClient::new(client_config(&fake.base)).unwrap();

    request_id::scope("req-from-the-backend", async {
        assert_eq!(
            request_id::current().as_deref(),
            Some("req-from-the-backend")
        );
        client.jwks().await.unwrap();
    })
    .await;
    client.jwks().await.unwrap();
    client.jwks().await.unwrap();

    let reqs = fake.requests();
    assert_eq!(reqs.len(), 3);
    assert!(reqs[0].0.starts_with("get /.well-known/jwks.json "));
    // header values are lower-cased by the recorder
    assert_eq!(
        header(&reqs[0].0, "x-request-id"),
        Some("req-from-the-backend")
    );
    let generated: Vec<uuid::Uuid> = reqs[1..]
        .iter()
        .map(|(h, _)| header(h, "x-request-id").unwrap().parse().unwrap())
        .collect();
    assert_ne!(generated[0], generated[1], "a fresh id per request");
}

#[tokio::test]
async fn introspection_sends_basic_credentials_and_the_token_as_a_form() {
    let fake = Fake::start(ok(r#"{"active":false}"#)).await;
    let client = AuthClient::new(client_config(&fake.base)).unwrap();
    let i = client.introspect("tok/en+=").await.unwrap();
    assert!(!i.active);
    let (head, body) = fake.requests().remove(0);
    assert!(head.starts_with("post /v1/introspect "));
    let expected = base64::engine::general_purpose::STANDARD
        .encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"))
        .to_lowercase();
    assert_eq!(
        header(&head, "authorization"),
        Some(format!("basic {expected}").as_str())
    );
    assert_eq!(
        header(&head, "content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(body, "token=tok%2Fen%2B%3D");

    client
        .revocations(7, Duration::from_secs(99))
        .await
        .unwrap_err();
    let (head, _) = fake.requests().remove(1);
    assert!(
        head.starts_with("get /v1/revocations?after=7&wait=30 "),
        "{head}"
    );
}

#[tokio::test]
async fn server_errors_trip_the_breaker_and_client_errors_do_not() {
    let fake = Fake::start(Answer::Respond {
        status: 404,
        body: "<html>not here</html>".into(),
    })
    .await;
    let clock = ManualClock::starting_now();
    let mut config = client_config(&fake.base);
    config.breaker.failure_threshold = 2;
    let client = AuthClient::with_clock(config, Arc::new(clock.clone())).unwrap();

    for _ in 0..3 {
        let err = client.discovery().await.unwrap_err();
        assert_eq!(
            err,
            AuthClientError::Status {
                status: 404,
                code: "http_404".into(),
                message: "Not Found".into()
            }
        );
    }
    assert_eq!(client.stats().breaker, BreakerState::Closed);
    assert!(client.status().is_reachable());

    fake.set(Answer::Respond {
        status: 503,
        body: r#"{"error":{"code":"overloaded","message":"the server is busy; retry shortly"}}"#
            .into(),
    });
    for _ in 0..2 {
        let err = client.discovery().await.unwrap_err();
        assert!(
            matches!(err, AuthClientError::Status { status: 503, ref code, .. } if code == "overloaded"),
            "{err}"
        );
    }
    assert_eq!(client.stats().breaker, BreakerState::Open);
    let AuthServiceStatus::Unreachable { last_error, .. } = client.status() else {
        panic!("a 503 leaves the service unreachable");
    };
    assert!(last_error.contains("overloaded"), "{last_error}");
    let sent = fake.requests().len();
    assert!(client.discovery().await.unwrap_err().is_unavailable());
    assert_eq!(
        fake.requests().len(),
        sent,
        "the open breaker sends nothing"
    );

    // a success body that does not decode is an error, but not an outage
    fake.set(ok("{\"no_issuer\":true}"));
    clock.advance(Duration::from_secs(10));
    assert!(matches!(
        client.discovery().await,
        Err(AuthClientError::Decode(_))
    ));
    assert_eq!(client.stats().breaker, BreakerState::Closed);
    assert!(client.status().is_reachable());
}

#[tokio::test]
async fn a_service_that_does_not_answer_times_out() {
    let fake = Fake::start(Answer::Hang).await;
    let mut config = client_config(&fake.base);
    config.request_timeout = Duration::from_millis(200);
    let client = AuthClient::new(config).unwrap();
    let err = client.introspect("t").await.unwrap_err();
    assert!(
        matches!(
            err,
            AuthClientError::Unavailable {
                kind: UnavailableKind::Timeout,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(client.stats().failures, 1);
    assert!(!client.status().is_reachable());
}
