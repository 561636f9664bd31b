//! WebSocket load benchmarks against the real `apex-backend` binary (release,
//! a child process on loopback, its own SQLite database), with a load
//! generator of the project's own in this process. Tokens come from an
//! in-process token source that plays the auth service's part the backend
//! needs: it signs EdDSA access tokens and publishes its key as a JWKS over
//! HTTP (the backend fetches and caches it, as from the real auth service),
//! and answers the revocation feed with nothing to report.
//!
//! Phases (each prints its figures, the load average and CPU time):
//!
//! - `a`: memory per idle authenticated WebSocket: the server's VmRSS
//!   (`/proc/<pid>/status`) before and after `--connections` sockets (10 per
//!   user) are open and have received `connection_ready`; delta / sockets.
//! - `b`: event throughput to `--clients` connected clients: users of 10
//!   sockets each; one socket of each user starts 3 runs on a small dataset
//!   (`--rounds` times), the other 9 resume them, so every event goes to 10
//!   sockets. Delivered events / wall time from the first message to the
//!   last terminal event.
//! - `c`: latency from `user_message` to `agent_started` and to the final
//!   `agent_completed` on the sample dataset (30 days), `--runs` runs one
//!   after another; p50 and p99.
//! - `d`: access-token verification per core in the backend's code path
//!   (`auth_client::AuthClient::verify` with the JWKS fetched over HTTP, then
//!   the backend's revocation check), on one thread.
//!
//! ```text
//! cargo bench -p backend --bench ws_load
//! cargo bench -p backend --bench ws_load -- --only a --connections 10000
//! ```

use auth_client::{AuthClient, AuthClientConfig};
use axum::Router;
use axum::extract::Query;
use axum::routing::get;
use backend::gate::{Principal, Revocations};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use ed25519_dalek::{Signer as _, SigningKey};
use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::Semaphore;
use tokio_tungstenite::tungstenite::Message;
use uuid::Uuid;

const CLIENT_SECRET: &str = "bench-service-secret-0123456789";
const KID: &str = "bench-key-1";
const SOCKETS_PER_USER: usize = 10;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

struct Options {
    only: Vec<char>,
    connections: usize,
    clients: usize,
    rounds: usize,
    runs: usize,
}

fn options() -> Options {
    let mut o = Options {
        only: vec!['a', 'b', 'c', 'd'],
        connections: 10_000,
        clients: 1_000,
        rounds: 5,
        runs: 30,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .unwrap_or_else(|| panic!("{name} needs a value"))
        };
        match a.as_str() {
            "--only" => {
                o.only = value("--only")
                    .chars()
                    .filter(char::is_ascii_lowercase)
                    .collect()
            }
            "--connections" => o.connections = value("--connections").parse().expect("a number"),
            "--clients" => o.clients = value("--clients").parse().expect("a number"),
            "--rounds" => o.rounds = value("--rounds").parse().expect("a number"),
            "--runs" => o.runs = value("--runs").parse().expect("a number"),
            "--bench" => {}
            other => panic!("unknown argument {other}"),
        }
    }
    o
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// A process's resident set size in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("VmRSS")
}

/// CPU seconds (user + system) a process has used (USER_HZ = 100).
fn cpu_secs(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("proc stat");
    let after = &stat[stat.rfind(')').expect("comm") + 2..];
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks: u64 = f[11].parse::<u64>().unwrap_or(0) + f[12].parse::<u64>().unwrap_or(0);
    ticks as f64 / 100.0
}

/// CPU seconds the calling thread has used.
fn thread_cpu_secs() -> f64 {
    cpu_secs("thread-self")
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Signs access tokens and serves the JWKS and an empty revocation feed.
struct TokenSource {
    base: String,
    key: SigningKey,
}

impl TokenSource {
    async fn start() -> TokenSource {
        let key = SigningKey::from_bytes(&rand::random::<[u8; 32]>());
        let x = B64.encode(key.verifying_key().to_bytes());
        let jwks = json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig", "kid": KID, "x": x}]});
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let app = Router::new()
            .route(
                "/.well-known/jwks.json",
                get(move || {
                    let jwks = jwks.clone();
                    async move { axum::Json(jwks) }
                }),
            )
            .route(
                "/v1/revocations",
                get(|Query(q): Query<HashMap<String, String>>| async move {
                    let wait = q.get("wait").and_then(|w| w.parse().ok()).unwrap_or(0u64);
                    tokio::time::sleep(Duration::from_secs(wait.min(25))).await;
                    let after: i64 = q.get("after").and_then(|a| a.parse().ok()).unwrap_or(0);
                    axum::Json(json!({"events": [], "next_cursor": after}))
                }),
            );
        tokio::spawn(async move { axum::serve(listener, app).await });
        TokenSource { base, key }
    }

    /// A fresh access token of a new session of `user`.
    fn token(&self, user: Uuid) -> String {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let header = json!({"alg": "EdDSA", "typ": "JWT", "kid": KID});
        let claims = json!({
            "iss": self.base, "sub": user, "sid": Uuid::new_v4(), "jti": Uuid::new_v4(),
            "iat": now, "exp": now + 900, "email": format!("{}@bench.example.com", user.simple()),
            "role": "user",
        });
        let input = format!(
            "{}.{}",
            B64.encode(header.to_string()),
            B64.encode(claims.to_string())
        );
        format!(
            "{input}.{}",
            B64.encode(self.key.sign(input.as_bytes()).to_bytes())
        )
    }
}

/// The `apex-backend` binary, killed on drop.
struct Server {
    child: Child,
    base: String,
    dir: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Server {
    async fn start(auth_base: &str) -> Server {
        let dir = std::env::temp_dir().join(format!("apex-ws-bench-{}", Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        // Limits as the defaults, except the message rate (the phases send more than 30
        // a minute) and the ticket lifetime (10,000 tickets take longer than 30 s to issue).
        let config = dir.join("backend.toml");
        std::fs::write(
            &config,
            "[limits]\nmessages_per_minute = 1000000\nticket_ttl_secs = 900\n",
        )
        .unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap()
            .port();
        let log = std::fs::File::create(dir.join("backend.log")).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_apex-backend"))
            .env("APEX_DATA_DIR", &dir)
            .env("APEX_BACKEND_CONFIG", &config)
            .env("APEX_BACKEND_BIND", format!("127.0.0.1:{port}"))
            .env("APEX_BACKEND_AUTH_URL", auth_base)
            .env("APEX_BACKEND_SERVICE_CLIENT_SECRET", CLIENT_SECRET)
            .env("APEX_BACKEND_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn apex-backend");
        let server = Server {
            child,
            base: format!("http://127.0.0.1:{port}"),
            dir,
        };
        let http = http();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let ready = http
                .get(format!("{}/readyz", server.base))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if ready {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "backend not ready: {}",
                server.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        server
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn rss_kib(&self) -> u64 {
        rss_kib(self.pid())
    }

    fn cpu_secs(&self) -> f64 {
        cpu_secs(&self.pid().to_string())
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("backend.log")).unwrap_or_default()
    }
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(120))
        .pool_max_idle_per_host(256)
        .build()
        .unwrap()
}

async fn ticket(http: &reqwest::Client, base: &str, token: &str) -> String {
    let resp = http
        .post(format!("{base}/v1/ws/ticket"))
        .bearer_auth(token)
        .send()
        .await
        .expect("ticket request");
    assert_eq!(resp.status(), 200, "ticket");
    let v: Value = resp.json().await.unwrap();
    v["ticket"].as_str().unwrap().to_owned()
}

async fn open(base: &str, ticket: &str) -> Socket {
    let url = format!("{}/v1/ws?ticket={ticket}", base.replace("http://", "ws://"));
    let (mut ws, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("websocket connects");
    let ready = next_json(&mut ws).await;
    assert_eq!(ready["type"], "connection_ready", "{ready}");
    ws
}

async fn next_json(ws: &mut Socket) -> Value {
    loop {
        match tokio::time::timeout(Duration::from_secs(120), ws.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => return serde_json::from_str(t.as_str()).unwrap(),
            Ok(Some(Ok(Message::Close(c)))) => panic!("closed: {c:?}"),
            Ok(Some(Ok(_))) => continue,
            other => panic!("no frame: {other:?}"),
        }
    }
}

async fn send(ws: &mut Socket, v: Value) {
    ws.send(Message::Text(v.to_string().into())).await.unwrap();
}

fn is_terminal(v: &Value) -> bool {
    matches!(v["type"].as_str(), Some("run_failed" | "run_cancelled"))
        || (v["type"] == "agent_completed" && v["payload"]["agent"] == "supervisor")
}

/// Phase a: the server's memory per idle authenticated WebSocket.
async fn memory(server: &Server, tokens: &TokenSource, n: usize) {
    let users = n.div_ceil(SOCKETS_PER_USER);
    let user_tokens: Vec<String> = (0..users).map(|_| tokens.token(Uuid::new_v4())).collect();
    let http = http();
    // Warm up: one ticket and socket, so that lazily built state exists before the baseline.
    let warm = open(
        &server.base,
        &ticket(&http, &server.base, &user_tokens[0]).await,
    )
    .await;
    drop(warm);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_start = server.rss_kib();
    let cpu0 = server.cpu_secs();
    let t0 = Instant::now();
    let limit = Arc::new(Semaphore::new(64));
    let mut tasks = Vec::with_capacity(n);
    for i in 0..n {
        let (http, base, token, limit) = (
            http.clone(),
            server.base.clone(),
            user_tokens[i / SOCKETS_PER_USER].clone(),
            limit.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let _permit = limit.acquire().await.unwrap();
            ticket(&http, &base, &token).await
        }));
    }
    let mut tickets = Vec::with_capacity(n);
    for t in tasks {
        tickets.push(t.await.unwrap());
    }
    let ticket_wall = t0.elapsed().as_secs_f64();
    let ticket_cpu = server.cpu_secs() - cpu0;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_tickets = server.rss_kib();

    let cpu1 = server.cpu_secs();
    let t1 = Instant::now();
    let limit = Arc::new(Semaphore::new(256));
    let frames = Arc::new(AtomicU64::new(0));
    let (stop_tx, _) = tokio::sync::broadcast::channel::<()>(1);
    let (opened_tx, mut opened_rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    let mut readers = Vec::with_capacity(n);
    for t in tickets {
        let (base, limit, frames, mut stop, opened) = (
            server.base.clone(),
            limit.clone(),
            frames.clone(),
            stop_tx.subscribe(),
            opened_tx.clone(),
        );
        readers.push(tokio::spawn(async move {
            let permit = limit.acquire_owned().await.unwrap();
            let mut ws = open(&base, &t).await;
            drop(permit);
            let _ = opened.send(());
            // Idle: only read (which answers the server's pings) until told to stop.
            loop {
                tokio::select! {
                    _ = stop.recv() => break,
                    m = ws.next() => match m {
                        Some(Ok(_)) => { frames.fetch_add(1, Ordering::Relaxed); }
                        _ => break,
                    },
                }
            }
            let _ = ws.close(None).await;
        }));
    }
    for _ in 0..n {
        opened_rx.recv().await.expect("a socket opened");
    }
    let connect_wall = t1.elapsed().as_secs_f64();
    let connect_cpu = server.cpu_secs() - cpu1;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let rss_open = server.rss_kib();
    let metrics = http
        .get(format!("{}/metrics", server.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let open_gauge = metrics
        .lines()
        .find_map(|l| l.strip_prefix("apex_backend_websocket_connections "))
        .unwrap_or("?")
        .to_owned();
    let _ = stop_tx.send(());
    for r in readers {
        let _ = r.await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_closed = server.rss_kib();
    println!(
        "\n(a) memory per idle authenticated WebSocket, {n} sockets ({users} users x {SOCKETS_PER_USER})"
    );
    println!("    load average {}", loadavg());
    println!(
        "    tickets: {n} in {ticket_wall:.2} s ({:.0}/s), server CPU {:.3} ms per ticket request (verify + insert)",
        n as f64 / ticket_wall,
        ticket_cpu * 1000.0 / n as f64
    );
    println!(
        "    connects: {n} in {connect_wall:.2} s ({:.0}/s), server CPU {:.3} ms per upgrade",
        n as f64 / connect_wall,
        connect_cpu * 1000.0 / n as f64
    );
    println!(
        "    server VmRSS: {rss_start} KiB at start, {rss_tickets} KiB after the tickets, {rss_open} KiB with {open_gauge} sockets open, {rss_closed} KiB after they closed"
    );
    println!(
        "    frames the idle clients received (connection_ready excluded): {}",
        frames.load(Ordering::Relaxed)
    );
    println!(
        "    per socket: {:.1} KiB (open - after tickets) / sockets; {:.1} KiB counting the tickets",
        (rss_open as f64 - rss_tickets as f64) / n as f64,
        (rss_open as f64 - rss_start as f64) / n as f64
    );
}

/// A small Apex JSONL dataset (the sample's first records), for runs that are cheap to analyse.
fn small_dataset(records: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for r in analytics::sample_workload(11, 3).into_iter().take(records) {
        usage::write_jsonl(&mut out, &r).unwrap();
    }
    out
}

async fn upload(http: &reqwest::Client, base: &str, token: &str, body: Vec<u8>) -> String {
    let resp = http
        .post(format!("{base}/v1/datasets"))
        .bearer_auth(token)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201, "upload");
    let v: Value = resp.json().await.unwrap();
    v["id"].as_str().unwrap().to_owned()
}

/// Phase b: events delivered per second to `clients` sockets.
async fn throughput(server: &Server, tokens: &TokenSource, clients: usize, rounds: usize) {
    let users = clients.div_ceil(SOCKETS_PER_USER);
    let http = http();
    let data = small_dataset(2_000);
    let mut per_user = Vec::new();
    for _ in 0..users {
        let token = tokens.token(Uuid::new_v4());
        let dataset = upload(&http, &server.base, &token, data.clone()).await;
        let mut sockets = Vec::new();
        for _ in 0..SOCKETS_PER_USER {
            sockets.push(open(&server.base, &ticket(&http, &server.base, &token).await).await);
        }
        per_user.push((dataset, sockets));
    }
    let delivered = Arc::new(AtomicU64::new(0));
    let produced = Arc::new(AtomicU64::new(0));
    let cpu0 = server.cpu_secs();
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for (u, (dataset, sockets)) in per_user.into_iter().enumerate() {
        let (delivered, produced) = (delivered.clone(), produced.clone());
        tasks.push(tokio::spawn(async move {
            let mut sockets = sockets.into_iter();
            let mut starter = sockets.next().unwrap();
            let followers: Vec<Socket> = sockets.collect();
            let (run_tx, _) = tokio::sync::broadcast::channel::<String>(64);
            let mut follower_tasks = Vec::new();
            for mut ws in followers {
                let mut runs = run_tx.subscribe();
                let delivered = delivered.clone();
                follower_tasks.push(tokio::spawn(async move {
                    let mut expected = rounds * 3;
                    loop {
                        tokio::select! {
                            r = runs.recv() => if let Ok(run_id) = r {
                                send(&mut ws, json!({"type": "resume", "run_id": run_id, "after_seq": 0})).await;
                            },
                            m = ws.next() => {
                                let Some(Ok(Message::Text(t))) = m else { continue };
                                let v: Value = serde_json::from_str(t.as_str()).unwrap();
                                if v.get("seq").is_some() {
                                    delivered.fetch_add(1, Ordering::Relaxed);
                                    if is_terminal(&v) {
                                        expected -= 1;
                                        if expected == 0 { break }
                                    }
                                }
                            }
                        }
                    }
                }));
            }
            for round in 0..rounds {
                for k in 0..3 {
                    send(&mut starter, json!({"type": "user_message", "client_msg_id": format!("u{u}-r{round}-{k}"), "content": "how can I cut my AI costs by 30%?", "dataset_id": dataset})).await;
                }
                let mut running = 3;
                while running > 0 {
                    let v = next_json(&mut starter).await;
                    match v["type"].as_str() {
                        Some("message_accepted") => {
                            let _ = run_tx.send(v["run_id"].as_str().unwrap().to_owned());
                        }
                        Some("error") => panic!("refused: {v}"),
                        _ if v.get("seq").is_some() => {
                            delivered.fetch_add(1, Ordering::Relaxed);
                            produced.fetch_add(1, Ordering::Relaxed);
                            if is_terminal(&v) {
                                running -= 1;
                            }
                        }
                        _ => {}
                    }
                }
            }
            for t in follower_tasks {
                t.await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let wall = t0.elapsed().as_secs_f64();
    let cpu = server.cpu_secs() - cpu0;
    let delivered = delivered.load(Ordering::Relaxed);
    let produced = produced.load(Ordering::Relaxed);
    println!(
        "\n(b) event throughput to {} connected clients ({users} users x {SOCKETS_PER_USER} sockets; {} runs of 34-ish events on a 2,000-record dataset)",
        users * SOCKETS_PER_USER,
        users * rounds * 3
    );
    println!("    load average {}", loadavg());
    println!(
        "    {produced} events produced, {delivered} delivered in {wall:.2} s: {:.0} events/s delivered ({:.0} produced/s)",
        delivered as f64 / wall,
        produced as f64 / wall
    );
    println!(
        "    server CPU {cpu:.2} s ({:.2} cores; {:.1} us per delivered event, runs included)",
        cpu / wall,
        cpu * 1e6 / delivered as f64
    );
}

/// Phase c: user_message to agent_started and to the final agent_completed, on the sample.
async fn latency(server: &Server, tokens: &TokenSource, runs: usize) {
    let http = http();
    let token = tokens.token(Uuid::new_v4());
    let resp = http
        .post(format!("{}/v1/datasets/sample", server.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let sample: Value = resp.json().await.unwrap();
    let mut ws = open(&server.base, &ticket(&http, &server.base, &token).await).await;
    let (mut started, mut completed) = (Vec::new(), Vec::new());
    let mut events = 0usize;
    let cpu0 = server.cpu_secs();
    for i in 0..runs {
        let t0 = Instant::now();
        send(&mut ws, json!({"type": "user_message", "client_msg_id": format!("lat-{i}"), "content": "how can I cut my AI costs by 30%?", "dataset_id": sample["id"]})).await;
        loop {
            let v = next_json(&mut ws).await;
            if v["type"] == "error" {
                panic!("refused: {v}");
            }
            if v.get("seq").is_none() {
                continue;
            }
            events += 1;
            if v["seq"] == 1 {
                assert_eq!(v["type"], "agent_started");
                started.push(t0.elapsed().as_secs_f64() * 1000.0);
            }
            if is_terminal(&v) {
                assert_eq!(v["type"], "agent_completed", "{v}");
                completed.push(t0.elapsed().as_secs_f64() * 1000.0);
                break;
            }
        }
    }
    let cpu = server.cpu_secs() - cpu0;
    // The first run loads the dataset from disk into the cache; the others find it there.
    let (cold_started, cold_completed) = (started.remove(0), completed.remove(0));
    started.sort_by(f64::total_cmp);
    completed.sort_by(f64::total_cmp);
    println!(
        "\n(c) latency on the sample dataset ({} records, 30 days), {runs} runs one after another ({} events each)",
        sample["records"],
        events / runs.max(1)
    );
    println!("    load average {}", loadavg());
    println!(
        "    first run (dataset not cached yet): agent_started {cold_started:.1} ms, final agent_completed {cold_completed:.1} ms"
    );
    println!("    the other {} runs:", started.len());
    println!(
        "    user_message -> agent_started: p50 {:.1} ms, p99 {:.1} ms (max {:.1})",
        percentile(&started, 0.5),
        percentile(&started, 0.99),
        started.last().copied().unwrap_or(f64::NAN)
    );
    println!(
        "    user_message -> final agent_completed: p50 {:.1} ms, p99 {:.1} ms (max {:.1})",
        percentile(&completed, 0.5),
        percentile(&completed, 0.99),
        completed.last().copied().unwrap_or(f64::NAN)
    );
    println!(
        "    server CPU {:.1} ms per run",
        cpu * 1000.0 / runs as f64
    );
}

/// Phase d: the backend's token check (local EdDSA verification with the JWKS
/// fetched over HTTP, then the revocation check) on one thread.
fn verification(tokens: &TokenSource) {
    let mut config =
        AuthClientConfig::new(tokens.base.clone(), "apex-backend", CLIENT_SECRET.into());
    config.issuer = Some(tokens.base.clone());
    let client = AuthClient::new(config).expect("auth client");
    let revocations = Revocations::default();
    let batch: Vec<String> = (0..1_000).map(|_| tokens.token(Uuid::new_v4())).collect();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        // The first verification fetches the JWKS over HTTP.
        client.verify(&batch[0]).await.expect("verifies");
        let cpu0 = thread_cpu_secs();
        let t0 = Instant::now();
        let mut n = 0usize;
        while t0.elapsed() < Duration::from_secs(3) {
            for t in &batch {
                let v = client.verify(t).await.expect("verifies");
                let p = Principal {
                    user_id: v.user_id,
                    session_id: v.session_id,
                    issued_at: v.iat,
                };
                assert!(!revocations.is_revoked(&p));
                n += 1;
            }
        }
        let wall = t0.elapsed().as_secs_f64();
        let cpu = thread_cpu_secs() - cpu0;
        println!("\n(d) access-token verification in the backend's code path, one thread");
        println!("    load average {}", loadavg());
        println!(
            "    {n} tokens in {wall:.2} s: {:.0} tokens/s wall, {:.0} tokens per CPU-second ({:.1} us CPU each); JWKS fetches: {}",
            n as f64 / wall,
            n as f64 / cpu,
            cpu * 1e6 / n as f64,
            client.stats().jwks_fetches
        );
    });
}

fn fd_limit() -> u64 {
    std::fs::read_to_string("/proc/self/limits")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn main() {
    let o = options();
    let limit = fd_limit();
    assert!(
        limit as usize > o.connections + 1_000,
        "the open-files limit ({limit}) is too low for {} sockets: raise it (ulimit -n)",
        o.connections
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    println!(
        "ws_load: apex-backend {} (release) on loopback, {} cores, load average {}",
        env!("CARGO_PKG_VERSION"),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        loadavg()
    );
    let tokens = rt.block_on(TokenSource::start());
    let tokens = Arc::new(tokens);
    if o.only.contains(&'a') {
        let server = rt.block_on(Server::start(&tokens.base));
        rt.block_on(memory(&server, &tokens, o.connections));
    }
    if o.only.contains(&'b') {
        let server = rt.block_on(Server::start(&tokens.base));
        rt.block_on(throughput(&server, &tokens, o.clients, o.rounds));
    }
    if o.only.contains(&'c') {
        let server = rt.block_on(Server::start(&tokens.base));
        rt.block_on(latency(&server, &tokens, o.runs));
    }
    if o.only.contains(&'d') {
        let tokens = tokens.clone();
        // Its own thread and runtime: one core's worth, away from the load generator.
        std::thread::spawn(move || verification(&tokens))
            .join()
            .expect("verification phase");
    }
}
