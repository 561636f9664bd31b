//! A tiny hand-written HTTP/1.1 server for the model tests: one scripted
//! reply per request (chunked SSE, a status with a body, or a hang), every
//! request recorded. Each connection serves one request and closes.

use serde_json::Value;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

/// What the server answers to one request.
#[derive(Clone)]
pub enum Reply {
    /// 200 with `text/event-stream`, each string written and flushed as its own HTTP chunk.
    Sse(Vec<String>),
    /// Like `Sse`, but before every chunk after the first it waits for a
    /// permit on the gate: the test adds one when it has seen a delta, which
    /// proves deltas reach the caller while the stream is still open.
    GatedSse(Vec<String>, Arc<Semaphore>),
    /// A status with headers and a body.
    Status(u16, Vec<(&'static str, String)>, String),
    /// Reads the request and never answers.
    Hang,
}

/// A request as received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    /// Lower-cased names.
    pub headers: Vec<(String, String)>,
    pub body: Value,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

pub struct TestServer {
    pub addr: SocketAddr,
    requests: Arc<Mutex<Vec<Recorded>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TestServer {
    /// Serves `replies` in order; once they run out, every request gets the last one.
    pub async fn start(replies: Vec<Reply>) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let recorded = Arc::clone(&requests);
        let task = tokio::spawn(async move {
            let mut replies: VecDeque<Reply> = replies.into();
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let reply = if replies.len() > 1 {
                    replies.pop_front()
                } else {
                    replies.front().cloned()
                };
                let reply =
                    reply.unwrap_or(Reply::Status(500, Vec::new(), "no reply scripted".into()));
                let recorded = Arc::clone(&recorded);
                tokio::spawn(async move { serve(stream, reply, recorded).await });
            }
        });
        TestServer {
            addr,
            requests,
            task,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }
}

async fn serve(mut stream: TcpStream, reply: Reply, recorded: Arc<Mutex<Vec<Recorded>>>) {
    let Some(request) = read_request(&mut stream).await else {
        return;
    };
    recorded.lock().unwrap().push(request);
    match reply {
        Reply::Sse(chunks) => write_sse(&mut stream, &chunks, None).await,
        Reply::GatedSse(chunks, gate) => write_sse(&mut stream, &chunks, Some(&gate)).await,
        Reply::Status(status, headers, body) => {
            let mut head = format!(
                "HTTP/1.1 {status} Scripted\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n",
                body.len()
            );
            for (name, value) in headers {
                head.push_str(&format!("{name}: {value}\r\n"));
            }
            head.push_str("\r\n");
            let _ = stream.write_all(head.as_bytes()).await;
            let _ = stream.write_all(body.as_bytes()).await;
            let _ = stream.flush().await;
        }
        Reply::Hang => std::future::pending::<()>().await,
    }
}

async fn write_sse(stream: &mut TcpStream, chunks: &[String], gate: Option<&Semaphore>) {
    let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n";
    if stream.write_all(head.as_bytes()).await.is_err() {
        return;
    }
    for (i, chunk) in chunks.iter().enumerate() {
        if let (Some(gate), true) = (gate, i > 0) {
            let Ok(permit) = gate.acquire().await else {
                return;
            };
            permit.forget();
        }
        let framed = format!("{:x}\r\n{chunk}\r\n", chunk.len());
        if stream.write_all(framed.as_bytes()).await.is_err() || stream.flush().await.is_err() {
            return;
        }
    }
    let _ = stream.write_all(b"0\r\n\r\n").await;
    let _ = stream.flush().await;
}

async fn read_request(stream: &mut TcpStream) -> Option<Recorded> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos;
        }
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8(buf[..head_end].to_vec()).ok()?;
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next()?.split(' ');
    let method = request_line.next()?.to_owned();
    let path = request_line.next()?.to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
    Some(Recorded {
        method,
        path,
        headers,
        body,
    })
}

/// An OpenAI-compatible stream of `pieces`, one event per piece, ended by `[DONE]`.
pub fn openai_events(pieces: &[&str]) -> Vec<String> {
    let mut events = vec![sse_data(
        &serde_json::json!({"choices": [{"index": 0, "delta": {"role": "assistant"}}]}),
    )];
    events.extend(pieces.iter().map(|p| {
        sse_data(&serde_json::json!({"choices": [{"index": 0, "delta": {"content": p}}]}))
    }));
    events.push("data: [DONE]\n\n".to_owned());
    events
}

/// An Anthropic Messages stream of `pieces`.
pub fn anthropic_events(pieces: &[&str]) -> Vec<String> {
    let ev = |name: &str, data: Value| format!("event: {name}\ndata: {data}\n\n");
    let mut events = vec![
        ev(
            "message_start",
            serde_json::json!({"type": "message_start", "message": {"id": "msg_1", "role": "assistant", "content": []}}),
        ),
        ev(
            "content_block_start",
            serde_json::json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        ),
        ev("ping", serde_json::json!({"type": "ping"})),
    ];
    events.extend(pieces.iter().map(|p| {
        ev("content_block_delta", serde_json::json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": p}}))
    }));
    events.push(ev(
        "content_block_stop",
        serde_json::json!({"type": "content_block_stop", "index": 0}),
    ));
    events.push(ev("message_delta", serde_json::json!({"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 5}})));
    events.push(ev(
        "message_stop",
        serde_json::json!({"type": "message_stop"}),
    ));
    events
}

fn sse_data(v: &Value) -> String {
    format!("data: {v}\n\n")
}
