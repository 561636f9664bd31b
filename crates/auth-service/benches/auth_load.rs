//! Load benchmark of the auth service over real HTTP.
//!
//! Starts the service in-process on `127.0.0.1:0` with a fresh database
//! (SQLite by default, PostgreSQL with `--postgres`) on its own tokio runtime
//! (2 worker threads), and drives it from a load generator on a second
//! runtime (2 worker threads) with a fixed number of concurrent keep-alive
//! clients (reqwest/hyper, HTTP/1.1). Every phase is bounded in time and in
//! request count; the binary stops by itself and prints a Markdown table.
//!
//! Phases:
//! - (a) one Argon2id hash with the configured parameters (argon2 crate, one thread);
//! - (b) login throughput, 2 x cores clients, correct passwords;
//! - (c) `/healthz` latency from one probe (20 req/s, own thread and runtime)
//!   while 200 clients flood `/v1/login` without backing off;
//! - (d) refresh throughput, each client chaining its own session's tokens;
//! - (e) introspection of a valid access token (HTTP Basic service client);
//! - (f) local verification of an access token against the JWKS on one
//!   thread, with `jsonwebtoken` and with `ed25519-dalek`;
//! - (g) login timing, unknown email vs wrong password (interleaved, one client).
//!
//! For each HTTP phase it also prints where the CPU went (per thread group of
//! this process, plus other processes such as PostgreSQL, from `/proc`) and
//! the server-side handler time from the service's own latency histogram.
//! Server logs are off unless `APEX_AUTH_LOG` is set (e.g. `APEX_AUTH_LOG=error`).
//!
//! ```text
//! cargo bench -p auth-service --bench auth_load                 # SQLite
//! cargo bench -p auth-service --bench auth_load -- --postgres   # PostgreSQL (APEX_TEST_POSTGRES_URL)
//! cargo bench -p auth-service --bench auth_load -- --quick      # short phases
//! cargo bench -p auth-service --bench auth_load -- --only d,e --clients 16
//! cargo bench -p auth-service --bench auth_load -- --only c --pool 16 --hash-queue 8   # diagnostics
//! ```

use auth_service::Application;
use auth_service::clock::SystemClock;
use auth_service::config::{Config, ServiceClient, ThrottleConfig};
use auth_service::http::AppState;
use auth_service::startup::StartupError;
use auth_service::store::testing::{TEST_DB_ENV, TestBackend, TestDatabase, TestDbError};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

const SERVICE_ID: &str = "apex-backend";
const SERVICE_SECRET: &str = "auth-load-benchmark-service-secret";
const PASSWORD: &str = "correct horse battery staple";
const WRONG_PASSWORD: &str = "definitely not the password";
/// Accounts registered up front; the refresh phase chains one session per account.
const ACCOUNTS: usize = 64;
/// Concurrent clients flooding `/v1/login` in phase (c).
const FLOOD_CLIENTS: usize = 200;
/// Probe rate in phase (c).
const PROBE_INTERVAL: Duration = Duration::from_millis(50);
/// Per-request timeout of every client.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Upper bound on requests per client task in a phase (the time bound normally ends it first).
const MAX_REQUESTS_PER_CLIENT: usize = 5_000_000;
/// Pseudo status for a transport error (connection refused, timeout).
const TRANSPORT_ERROR: u16 = 0;
/// Pseudo status for an introspection answer that was not `active: true`.
const INACTIVE: u16 = 1;
/// Pseudo status of a refresh client whose chain broke: no request was made, nothing is recorded.
const IDLE: u16 = 2;

#[derive(Debug, thiserror::Error)]
enum BenchError {
    #[error("{0}")]
    Usage(String),
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error("test database: {0}")]
    TestDb(#[from] TestDbError),
    #[error("start-up: {0}")]
    Startup(#[from] StartupError),
    #[error("http: {0}")]
    Http(#[from] reqwest::Error),
    #[error("{what}: unexpected status {status}: {body}")]
    Status {
        what: &'static str,
        status: u16,
        body: String,
    },
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
    #[error("jwt: {0}")]
    Jwt(#[from] jsonwebtoken::errors::Error),
    #[error("argon2: {0}")]
    Argon2(argon2::Error),
    #[error("{0}")]
    Setup(&'static str),
    #[error("task failed: {0}")]
    Join(#[from] tokio::task::JoinError),
}

type Result<T, E = BenchError> = std::result::Result<T, E>;

/// Command-line options.
#[derive(Debug, Clone)]
struct Args {
    postgres: bool,
    quick: bool,
    /// Phases to run (letters a..g); all when empty.
    only: Vec<char>,
    /// Clients for the refresh and introspection phases.
    clients: usize,
    /// Overrides `database_max_connections` (diagnostics; default: the service's default).
    pool: Option<u32>,
    /// Overrides `hash_queue` (diagnostics; default: the service's default).
    hash_queue: Option<usize>,
}

/// Parses a flag's numeric value.
fn number<T: std::str::FromStr>(value: Option<String>, flag: &str) -> Result<T> {
    value
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| BenchError::Usage(format!("{flag} needs a number")))
}

impl Args {
    fn parse() -> Result<Args> {
        let mut args = Args {
            postgres: std::env::var(TEST_DB_ENV).as_deref() == Ok("postgres"),
            quick: false,
            only: Vec::new(),
            clients: ACCOUNTS,
            pool: None,
            hash_queue: None,
        };
        let mut it = std::env::args().skip(1);
        while let Some(a) = it.next() {
            match a.as_str() {
                "--postgres" => args.postgres = true,
                "--sqlite" => args.postgres = false,
                "--quick" => args.quick = true,
                "--only" => {
                    let v = it.next().ok_or_else(|| {
                        BenchError::Usage("--only needs a list like a,d,e".into())
                    })?;
                    args.only = v
                        .split(',')
                        .filter_map(|s| s.trim().chars().next())
                        .collect();
                }
                "--clients" => {
                    let v = it
                        .next()
                        .ok_or_else(|| BenchError::Usage("--clients needs a number".into()))?;
                    args.clients = v
                        .parse()
                        .ok()
                        .filter(|n| (1..=ACCOUNTS).contains(n))
                        .ok_or_else(|| {
                            BenchError::Usage(format!("--clients must be 1..={ACCOUNTS}"))
                        })?;
                }
                "--pool" => args.pool = Some(number(it.next(), "--pool")?),
                "--hash-queue" => args.hash_queue = Some(number(it.next(), "--hash-queue")?),
                // `cargo bench` passes `--bench` to harness-less benches.
                "--bench" => {}
                other => {
                    return Err(BenchError::Usage(format!(
                        "unknown argument {other:?}; use [--postgres|--sqlite] [--quick] [--only a,b,..] [--clients N] [--pool N] [--hash-queue N]"
                    )));
                }
            }
        }
        Ok(args)
    }

    fn runs(&self, phase: char) -> bool {
        self.only.is_empty() || self.only.contains(&phase)
    }

    /// Measured length of a throughput phase, and the warm-up before it.
    fn window(&self) -> (Duration, Duration) {
        if self.quick {
            (Duration::from_secs(3), Duration::from_millis(500))
        } else {
            (Duration::from_secs(10), Duration::from_secs(1))
        }
    }
}

fn main() -> Result<()> {
    let args = Args::parse()?;
    // Server logs only on request (they cost time): e.g. APEX_AUTH_LOG=error.
    if std::env::var_os("APEX_AUTH_LOG").is_some() {
        auth_service::telemetry::init(false);
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("auth-server")
        .enable_all()
        .build()?;
    let client_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("load-gen")
        .enable_all()
        .build()?;

    let backend = if args.postgres {
        TestBackend::Postgres
    } else {
        TestBackend::Sqlite
    };
    let db = server_rt.block_on(TestDatabase::create(backend))?;
    let data_dir = std::env::temp_dir().join(format!("apex-auth-bench-{}", std::process::id()));
    let mut config = bench_config(&data_dir, db.url());
    if let Some(n) = args.pool {
        config.database_max_connections = n;
    }
    if let Some(n) = args.hash_queue {
        config.hash_queue = n;
    }
    let app = server_rt.block_on(Application::build_with_clock(
        config.clone(),
        Arc::new(SystemClock),
    ))?;
    let base = format!("http://127.0.0.1:{}", app.port());
    let state = app.state().clone();
    let shutdown = app.shutdown_token();
    let server = server_rt.spawn(app.run_until_stopped());

    println!("# auth service load benchmark");
    println!();
    println!(
        "backend: {} | cores: {cores} | server runtime: 2 workers | load generator runtime: 2 workers | {}",
        if args.postgres {
            "PostgreSQL"
        } else {
            "SQLite (WAL, synchronous=NORMAL)"
        },
        if args.quick { "--quick" } else { "full" }
    );
    println!(
        "argon2id: m={} KiB, t={}, p={} | hash_concurrency={} | hash_queue={} | database_max_connections={} | throttle thresholds raised (free_failures={}, lock_after={})",
        config.argon2.memory_kib,
        config.argon2.iterations,
        config.argon2.parallelism,
        config.hash_concurrency,
        config.hash_queue,
        config.database_max_connections,
        config.throttle.free_failures,
        config.throttle.lock_after
    );
    println!();

    let ctx = Ctx {
        args: args.clone(),
        base,
        state,
        config,
        cores,
    };
    let outcome = client_rt.block_on(run_all(&ctx));

    shutdown.cancel();
    match server_rt.block_on(server) {
        Ok(Ok(())) => {}
        Ok(Err(e)) => eprintln!("warning: server ended with an error: {e}"),
        Err(e) => eprintln!("warning: server task failed: {e}"),
    }
    client_rt.shutdown_timeout(Duration::from_secs(5));
    server_rt.shutdown_timeout(Duration::from_secs(5));
    drop(db);
    let _ = std::fs::remove_dir_all(&data_dir);

    let rows = outcome?;
    println!();
    println!("## summary");
    println!();
    println!("| measurement | clients | ok requests | ok/s | p50 ms | p99 ms | notes |");
    println!("|---|---:|---:|---:|---:|---:|---|");
    for r in rows {
        println!(
            "| {} | {} | {} | {} | {} | {} | {} |",
            r.name, r.clients, r.ok, r.rate, r.p50, r.p99, r.notes
        );
    }
    Ok(())
}

fn bench_config(data_dir: &std::path::Path, database_url: &str) -> Config {
    let mut c = Config::local(data_dir);
    c.bind = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    c.database_url = database_url.to_owned();
    c.service_clients = vec![ServiceClient {
        id: SERVICE_ID.into(),
        secret: SERVICE_SECRET.into(),
    }];
    // Phase (g) fails hundreds of logins from one address: nothing may be delayed or refused.
    c.throttle = ThrottleConfig {
        free_failures: 1_000_000,
        lock_after: 2_000_000,
        ..ThrottleConfig::default()
    };
    c
}

/// What every phase needs.
struct Ctx {
    args: Args,
    base: String,
    state: AppState,
    config: Config,
    cores: usize,
}

impl Ctx {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

/// One line of the summary table.
struct Row {
    name: String,
    clients: String,
    ok: String,
    rate: String,
    p50: String,
    p99: String,
    notes: String,
}

/// Tokens of one registered account.
#[derive(Debug, Clone, Deserialize)]
struct Tokens {
    access_token: String,
    refresh_token: String,
}

async fn run_all(ctx: &Ctx) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    let http = client(ACCOUNTS.max(FLOOD_CLIENTS))?;

    if ctx.args.runs('a') {
        rows.push(
            tokio::task::spawn_blocking({
                let params = ctx.config.argon2;
                let concurrency = ctx.config.hash_concurrency;
                move || phase_hash(params, concurrency)
            })
            .await??,
        );
    }

    // Accounts (one Argon2 hash each), registered by a few clients at a time.
    let setup_start = Instant::now();
    let accounts = register_accounts(ctx, &http).await?;
    println!(
        "setup: registered {} accounts in {:.1} s",
        accounts.len(),
        setup_start.elapsed().as_secs_f64()
    );
    let emails: Arc<[String]> = accounts.iter().map(|(e, _)| e.clone()).collect();

    if ctx.args.runs('b') {
        rows.push(phase_login(ctx, &http, &emails).await?);
    }
    if ctx.args.runs('c') {
        rows.extend(phase_flood(ctx, &emails).await?);
    }
    if ctx.args.runs('d') {
        rows.push(phase_refresh(ctx, &http, &accounts).await?);
    }
    let access_token = accounts
        .first()
        .map(|(_, t)| t.access_token.clone())
        .ok_or(BenchError::Setup("no account registered"))?;
    if ctx.args.runs('e') {
        rows.push(phase_introspect(ctx, &http, &access_token).await?);
    }
    if ctx.args.runs('f') {
        rows.extend(phase_local_verify(ctx, &http, &access_token).await?);
    }
    if ctx.args.runs('g') {
        rows.push(phase_timing(ctx, &http, &emails).await?);
    }
    Ok(rows)
}

/// A keep-alive HTTP/1.1 client that keeps up to `connections` idle connections.
fn client(connections: usize) -> Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        .timeout(REQUEST_TIMEOUT)
        .tcp_nodelay(true)
        .build()?)
}

fn login_body(email: &str, password: &str) -> String {
    serde_json::json!({ "email": email, "password": password }).to_string()
}

async fn register_accounts(ctx: &Ctx, http: &reqwest::Client) -> Result<Vec<(String, Tokens)>> {
    let run = format!("{:x}", std::process::id());
    let mut handles = Vec::new();
    let per_task = ACCOUNTS.div_ceil(4);
    for t in 0..4 {
        let http = http.clone();
        let url = ctx.url("/v1/register");
        let run = run.clone();
        handles.push(tokio::spawn(async move {
            let mut out = Vec::new();
            for i in (t * per_task)..((t + 1) * per_task).min(ACCOUNTS) {
                let email = format!("bench-{run}-{i}@example.com");
                let resp = http
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(login_body(&email, PASSWORD))
                    .send()
                    .await?;
                let status = resp.status().as_u16();
                let bytes = resp.bytes().await?;
                if status != 201 {
                    return Err(BenchError::Status {
                        what: "register",
                        status,
                        body: String::from_utf8_lossy(&bytes).into_owned(),
                    });
                }
                out.push((email, serde_json::from_slice::<Tokens>(&bytes)?));
            }
            Ok::<_, BenchError>(out)
        }));
    }
    let mut accounts = Vec::new();
    for h in handles {
        accounts.extend(h.await??);
    }
    Ok(accounts)
}

// ---------------------------------------------------------------- (a) hash

fn phase_hash(params: auth_service::config::Argon2Params, concurrency: usize) -> Result<Row> {
    let p = argon2::Params::new(
        params.memory_kib,
        params.iterations,
        params.parallelism,
        Some(32),
    )
    .map_err(BenchError::Argon2)?;
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, p);
    let salt = [7u8; 16];
    let mut out = [0u8; 32];
    argon
        .hash_password_into(PASSWORD.as_bytes(), &salt, &mut out)
        .map_err(BenchError::Argon2)?;
    let mut times = Vec::new();
    for _ in 0..9 {
        let t = Instant::now();
        argon
            .hash_password_into(PASSWORD.as_bytes(), &salt, &mut out)
            .map_err(BenchError::Argon2)?;
        times.push(t.elapsed());
    }
    std::hint::black_box(out);
    times.sort();
    let median = times[times.len() / 2];
    let ceiling = concurrency as f64 / median.as_secs_f64();
    println!(
        "(a) argon2id m={} KiB t={} p={}: median {:.1} ms, min {:.1} ms, max {:.1} ms over {} hashes (one thread, before any load); \
         with hash_concurrency={concurrency} the login ceiling is about {ceiling:.0}/s",
        params.memory_kib,
        params.iterations,
        params.parallelism,
        ms(median),
        ms(times[0]),
        ms(times[times.len() - 1]),
        times.len()
    );
    Ok(Row {
        name: "(a) Argon2id hash, one thread".into(),
        clients: "1".into(),
        ok: times.len().to_string(),
        rate: format!("{:.1}", 1.0 / median.as_secs_f64()),
        p50: format!("{:.1}", ms(median)),
        p99: format!("{:.1} (max)", ms(times[times.len() - 1])),
        notes: format!(
            "m={} KiB, t={}, p={}, hash_concurrency={concurrency}: ceiling ~{ceiling:.0} logins/s",
            params.memory_kib, params.iterations, params.parallelism
        ),
    })
}

// ---------------------------------------------------------------- the load driver

/// One kind of client request; `call` returns the HTTP status (or a pseudo status).
trait Worker: Send + 'static {
    fn call(&mut self, http: &reqwest::Client) -> impl Future<Output = u16> + Send;
}

/// One completed request.
#[derive(Debug, Clone, Copy)]
struct Sample {
    done: Instant,
    latency: Duration,
    status: u16,
}

/// Samples of a phase's measured window.
struct Load {
    window: Duration,
    clients: usize,
    samples: Vec<Sample>,
    cpu: CpuUsage,
}

impl Load {
    fn ok_latencies(&self) -> Vec<Duration> {
        let mut v: Vec<Duration> = self
            .samples
            .iter()
            .filter(|s| s.status == 200)
            .map(|s| s.latency)
            .collect();
        v.sort();
        v
    }

    fn count(&self, status: u16) -> usize {
        self.samples.iter().filter(|s| s.status == status).count()
    }

    fn statuses(&self) -> String {
        let mut by: BTreeMap<u16, usize> = BTreeMap::new();
        for s in &self.samples {
            *by.entry(s.status).or_default() += 1;
        }
        by.iter()
            .map(|(s, n)| match *s {
                TRANSPORT_ERROR => format!("transport error: {n}"),
                INACTIVE => format!("inactive: {n}"),
                s => format!("{s}: {n}"),
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn row(&self, name: &str, notes: String) -> Row {
        let lat = self.ok_latencies();
        Row {
            name: name.into(),
            clients: self.clients.to_string(),
            ok: lat.len().to_string(),
            rate: format!("{:.0}", lat.len() as f64 / self.window.as_secs_f64()),
            p50: format!("{:.2}", ms(pct(&lat, 50.0))),
            p99: format!("{:.2}", ms(pct(&lat, 99.0))),
            notes,
        }
    }

    fn print(&self, name: &str) {
        let lat = self.ok_latencies();
        println!(
            "{name}: {} clients, {:.1} s: {} ok ({:.0}/s), p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms; statuses: {}",
            self.clients,
            self.window.as_secs_f64(),
            lat.len(),
            lat.len() as f64 / self.window.as_secs_f64(),
            ms(pct(&lat, 50.0)),
            ms(pct(&lat, 90.0)),
            ms(pct(&lat, 99.0)),
            ms(lat.last().copied().unwrap_or_default()),
            self.statuses()
        );
        println!("    cpu (cores busy): {}", self.cpu);
        if !lat.is_empty() {
            let per_request = self.cpu.serving() * self.window.as_secs_f64() / lat.len() as f64;
            println!(
                "    serving cpu per ok request: {:.3} ms (server runtime + sqlite threads + postgres)",
                per_request * 1000.0
            );
        }
    }
}

/// Runs `workers` concurrently (one task each, sharing `http`'s keep-alive pool) for
/// `warmup + window`; keeps the requests that completed inside the window.
async fn drive<W: Worker>(
    http: &reqwest::Client,
    workers: Vec<W>,
    warmup: Duration,
    window: Duration,
) -> Result<Load> {
    let clients = workers.len();
    let start = Instant::now();
    let measure_from = start + warmup;
    let end = measure_from + window;
    let mut handles = Vec::with_capacity(clients);
    for mut w in workers {
        let http = http.clone();
        handles.push(tokio::spawn(async move {
            let mut samples = Vec::new();
            for _ in 0..MAX_REQUESTS_PER_CLIENT {
                let t = Instant::now();
                if t >= end {
                    break;
                }
                let status = w.call(&http).await;
                let done = Instant::now();
                if status != IDLE && done >= measure_from && done <= end {
                    samples.push(Sample {
                        done,
                        latency: done - t,
                        status,
                    });
                }
            }
            samples
        }));
    }
    tokio::time::sleep_until(measure_from.into()).await;
    let cpu_start = CpuSnapshot::take();
    tokio::time::sleep_until(end.into()).await;
    let cpu = CpuSnapshot::take().since(&cpu_start);
    let mut samples = Vec::new();
    for h in handles {
        samples.extend(h.await?);
    }
    samples.sort_by_key(|s| s.done);
    Ok(Load {
        window,
        clients,
        samples,
        cpu,
    })
}

/// Server-side mean handler time of `route` (2xx answers) between two renders of `/metrics`.
struct ServerTime {
    sum: f64,
    count: f64,
}

impl ServerTime {
    fn read(state: &AppState, route: &str) -> ServerTime {
        let text = state.metrics.render();
        let mut t = ServerTime {
            sum: 0.0,
            count: 0.0,
        };
        let needle = format!("route=\"{route}\"");
        for line in text
            .lines()
            .filter(|l| l.contains(&needle) && l.contains("status=\"200\""))
        {
            let value = line
                .rsplit(' ')
                .next()
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(0.0);
            if line.starts_with("apex_auth_http_request_duration_seconds_sum") {
                t.sum += value;
            } else if line.starts_with("apex_auth_http_request_duration_seconds_count") {
                t.count += value;
            }
        }
        t
    }

    /// Mean milliseconds since `earlier`.
    fn mean_ms_since(&self, earlier: &ServerTime) -> f64 {
        let n = self.count - earlier.count;
        if n > 0.0 {
            (self.sum - earlier.sum) / n * 1000.0
        } else {
            0.0
        }
    }
}

// ---------------------------------------------------------------- (b) login

struct LoginWorker {
    url: Arc<str>,
    bodies: Arc<[String]>,
    next: usize,
}

impl Worker for LoginWorker {
    async fn call(&mut self, http: &reqwest::Client) -> u16 {
        let body = self.bodies[self.next % self.bodies.len()].clone();
        self.next += 1;
        send(
            http.post(&*self.url)
                .header("content-type", "application/json")
                .body(body),
        )
        .await
        .0
    }
}

/// Sends a request and reads the whole body; a transport error becomes [`TRANSPORT_ERROR`].
async fn send(req: reqwest::RequestBuilder) -> (u16, Vec<u8>) {
    match req.send().await {
        Ok(resp) => {
            let status = resp.status().as_u16();
            match resp.bytes().await {
                Ok(b) => (status, b.to_vec()),
                Err(_) => (TRANSPORT_ERROR, Vec::new()),
            }
        }
        Err(_) => (TRANSPORT_ERROR, Vec::new()),
    }
}

fn login_workers(ctx: &Ctx, emails: &[String], n: usize) -> Vec<LoginWorker> {
    let url: Arc<str> = ctx.url("/v1/login").into();
    let bodies: Arc<[String]> = emails.iter().map(|e| login_body(e, PASSWORD)).collect();
    (0..n)
        .map(|i| LoginWorker {
            url: url.clone(),
            bodies: bodies.clone(),
            next: i,
        })
        .collect()
}

async fn phase_login(ctx: &Ctx, http: &reqwest::Client, emails: &[String]) -> Result<Row> {
    let clients = 2 * ctx.cores;
    let (window, warmup) = ctx.args.window();
    let before = ServerTime::read(&ctx.state, "/v1/login");
    let load = drive(http, login_workers(ctx, emails, clients), warmup, window).await?;
    let server = ServerTime::read(&ctx.state, "/v1/login").mean_ms_since(&before);
    load.print("(b) login, correct password");
    println!("    server-side mean handler time (200): {server:.2} ms");
    Ok(load.row(
        "(b) login (correct password)",
        format!(
            "server handler mean {server:.1} ms; non-200: {}",
            load.samples.len() - load.count(200)
        ),
    ))
}

// ---------------------------------------------------------------- (c) flood + probe

async fn phase_flood(ctx: &Ctx, emails: &[String]) -> Result<Vec<Row>> {
    let (window, warmup) = ctx.args.window();
    let flood_http = client(FLOOD_CLIENTS)?;
    // The probe starts when the flood's warm-up ends and stops with it.
    let probe_from = Instant::now() + warmup;
    let probe_until = probe_from + window;
    let health = ctx.url("/healthz");
    let probe = std::thread::Builder::new()
        .name("healthz-probe".into())
        .spawn(move || probe_health(&health, probe_from, probe_until))?;
    let load = drive(
        &flood_http,
        login_workers(ctx, emails, FLOOD_CLIENTS),
        warmup,
        window,
    )
    .await?;
    let probe = probe
        .join()
        .map_err(|_| BenchError::Setup("the probe thread panicked"))??;

    load.print("(c) login flood");
    let lat = &probe.latencies;
    println!(
        "(c) /healthz probe during the flood: {} probes, {} failed, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms (target p99 < 50 ms)",
        lat.len(),
        probe.failed,
        ms(pct(lat, 50.0)),
        ms(pct(lat, 99.0)),
        ms(lat.last().copied().unwrap_or_default())
    );
    let p99 = ms(pct(lat, 99.0));
    if p99 >= 50.0 || probe.failed > 0 {
        println!(
            "WARNING: /healthz p99 {p99:.1} ms (failed probes: {}) misses the 50 ms target",
            probe.failed
        );
    }
    let refused = load.count(503);
    let ok = load.count(200);
    let other = load.samples.len() - ok - refused;
    Ok(vec![
        Row {
            name: "(c) /healthz probe during login flood".into(),
            clients: "1 probe (20/s)".into(),
            ok: lat.len().to_string(),
            rate: "20".into(),
            p50: format!("{:.2}", ms(pct(lat, 50.0))),
            p99: format!("{p99:.2}"),
            notes: format!("target p99 < 50 ms; max {:.1} ms; failed probes: {}", ms(lat.last().copied().unwrap_or_default()), probe.failed),
        },
        load.row(
            "(c) the login flood itself",
            format!(
                "{ok} succeeded, {refused} refused 503 `overloaded` ({:.0}/s), {other} other; clients retry at once, no back-off",
                refused as f64 / load.window.as_secs_f64()
            ),
        ),
    ])
}

struct Probe {
    latencies: Vec<Duration>,
    failed: usize,
}

/// GETs `/healthz` every 50 ms between `from` and `until` on its own current-thread runtime
/// and connection, so the figure is the server's answer time, not the load generator's.
fn probe_health(url: &str, from: Instant, until: Instant) -> Result<Probe> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let http = client(1)?;
        // Open the keep-alive connection before the measured window.
        http.get(url).send().await?.bytes().await?;
        tokio::time::sleep_until(from.into()).await;
        let mut tick = tokio::time::interval(PROBE_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut probe = Probe {
            latencies: Vec::new(),
            failed: 0,
        };
        let max_probes = (until - from).as_millis() / PROBE_INTERVAL.as_millis() + 1;
        for _ in 0..max_probes {
            tick.tick().await;
            if Instant::now() >= until {
                break;
            }
            let t = Instant::now();
            let (status, body) = send(http.get(url).timeout(Duration::from_secs(5))).await;
            if status == 200 && body.starts_with(b"{\"status\":\"ok\"") {
                probe.latencies.push(t.elapsed());
            } else {
                probe.failed += 1;
            }
        }
        probe.latencies.sort();
        Ok(probe)
    })
}

// ---------------------------------------------------------------- (d) refresh

struct RefreshWorker {
    url: Arc<str>,
    token: Option<String>,
}

impl Worker for RefreshWorker {
    async fn call(&mut self, http: &reqwest::Client) -> u16 {
        // A chain that broke (an error answer) cannot continue: its client idles out the phase.
        let Some(token) = self.token.take() else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            return IDLE;
        };
        let body = serde_json::json!({ "refresh_token": token }).to_string();
        let (status, bytes) = send(
            http.post(&*self.url)
                .header("content-type", "application/json")
                .body(body),
        )
        .await;
        if status == 200 {
            match serde_json::from_slice::<Tokens>(&bytes) {
                Ok(t) => self.token = Some(t.refresh_token),
                Err(_) => return INACTIVE,
            }
        } else {
            eprintln!(
                "refresh chain broke: {status} {}",
                String::from_utf8_lossy(&bytes)
            );
        }
        status
    }
}

async fn phase_refresh(
    ctx: &Ctx,
    http: &reqwest::Client,
    accounts: &[(String, Tokens)],
) -> Result<Row> {
    let (window, warmup) = ctx.args.window();
    let url: Arc<str> = ctx.url("/v1/token/refresh").into();
    let workers: Vec<RefreshWorker> = accounts
        .iter()
        .take(ctx.args.clients)
        .map(|(_, t)| RefreshWorker {
            url: url.clone(),
            token: Some(t.refresh_token.clone()),
        })
        .collect();
    let before = ServerTime::read(&ctx.state, "/v1/token/refresh");
    let load = drive(http, workers, warmup, window).await?;
    let server = ServerTime::read(&ctx.state, "/v1/token/refresh").mean_ms_since(&before);
    load.print("(d) refresh, chained per session");
    println!("    server-side mean handler time (200): {server:.2} ms");
    let rate = load.count(200) as f64 / load.window.as_secs_f64();
    if !ctx.args.postgres && rate < 2000.0 {
        println!("WARNING: refresh {rate:.0}/s misses the 2,000/s SQLite target");
    }
    Ok(load.row(
        "(d) refresh (each client chains its own session)",
        format!(
            "target >= 2,000/s on SQLite; server handler mean {server:.2} ms; non-200: {}",
            load.samples.len() - load.count(200)
        ),
    ))
}

// ---------------------------------------------------------------- (e) introspection

struct IntrospectWorker {
    url: Arc<str>,
    body: Arc<str>,
    authorization: Arc<str>,
}

impl Worker for IntrospectWorker {
    async fn call(&mut self, http: &reqwest::Client) -> u16 {
        let req = http
            .post(&*self.url)
            .header("authorization", &*self.authorization)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(self.body.to_string());
        let (status, bytes) = send(req).await;
        if status == 200 && !bytes.starts_with(b"{\"active\":true") {
            return INACTIVE;
        }
        status
    }
}

async fn phase_introspect(ctx: &Ctx, http: &reqwest::Client, access_token: &str) -> Result<Row> {
    let (window, warmup) = ctx.args.window();
    let url: Arc<str> = ctx.url("/v1/introspect").into();
    let body: Arc<str> = serde_urlencoded::to_string([("token", access_token)])
        .map_err(|_| BenchError::Setup("cannot encode the form"))?
        .into();
    let authorization: Arc<str> = format!(
        "Basic {}",
        STANDARD.encode(format!("{SERVICE_ID}:{SERVICE_SECRET}"))
    )
    .into();
    let workers: Vec<IntrospectWorker> = (0..ctx.args.clients)
        .map(|_| IntrospectWorker {
            url: url.clone(),
            body: body.clone(),
            authorization: authorization.clone(),
        })
        .collect();
    let before = ServerTime::read(&ctx.state, "/v1/introspect");
    let load = drive(http, workers, warmup, window).await?;
    let server = ServerTime::read(&ctx.state, "/v1/introspect").mean_ms_since(&before);
    load.print("(e) introspection of a valid access token");
    println!("    server-side mean handler time (200): {server:.3} ms");
    let rate = load.count(200) as f64 / load.window.as_secs_f64();
    if rate < 10_000.0 {
        println!("WARNING: introspection {rate:.0}/s misses the 10,000/s target");
    }
    Ok(load.row(
        "(e) introspection (valid access token)",
        format!(
            "target >= 10,000/s; server handler mean {server:.3} ms; non-200/inactive: {}",
            load.samples.len() - load.count(200)
        ),
    ))
}

// ---------------------------------------------------------------- (f) local verification

#[derive(Debug, Deserialize)]
#[allow(
    dead_code,
    reason = "fields are decoded as a verifier would; not all are read"
)]
struct Claims {
    iss: String,
    sub: String,
    sid: String,
    exp: i64,
    iat: i64,
    email: String,
    role: String,
}

async fn phase_local_verify(ctx: &Ctx, http: &reqwest::Client, token: &str) -> Result<Vec<Row>> {
    let resp = http.get(ctx.url("/.well-known/jwks.json")).send().await?;
    let status = resp.status().as_u16();
    let bytes = resp.bytes().await?;
    if status != 200 {
        return Err(BenchError::Status {
            what: "jwks",
            status,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        });
    }
    let set: jsonwebtoken::jwk::JwkSet = serde_json::from_slice(&bytes)?;
    let raw: serde_json::Value = serde_json::from_slice(&bytes)?;
    let token = token.to_owned();
    let issuer = ctx.base.clone();
    let budget = if ctx.args.quick {
        Duration::from_secs(1)
    } else {
        Duration::from_secs(3)
    };
    tokio::task::spawn_blocking(move || verify_loops(&set, &raw, &token, &issuer, budget)).await?
}

/// Verifies `token` in a tight loop on this one thread for `budget` (or 10 million times).
fn verify_loops(
    set: &jsonwebtoken::jwk::JwkSet,
    raw: &serde_json::Value,
    token: &str,
    issuer: &str,
    budget: Duration,
) -> Result<Vec<Row>> {
    let header = jsonwebtoken::decode_header(token)?;
    let kid = header
        .kid
        .ok_or(BenchError::Setup("access token without kid"))?;
    let jwk = set
        .find(&kid)
        .ok_or(BenchError::Setup("the token's kid is not in the JWKS"))?;
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk)?;
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::EdDSA);
    validation.set_issuer(&[issuer]);
    validation.set_required_spec_claims(&["exp", "iss", "sub"]);

    let x = raw["keys"]
        .as_array()
        .and_then(|keys| keys.iter().find(|k| k["kid"] == kid.as_str()))
        .and_then(|k| k["x"].as_str())
        .ok_or(BenchError::Setup("no x in the JWK"))?;
    let x: [u8; 32] = URL_SAFE_NO_PAD
        .decode(x)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or(BenchError::Setup("bad JWK x"))?;
    let vk = ed25519_dalek::VerifyingKey::from_bytes(&x)
        .map_err(|_| BenchError::Setup("bad Ed25519 public key"))?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);

    let dalek = |t: &str| -> bool {
        let Some((input, sig)) = t.rsplit_once('.') else {
            return false;
        };
        let Some(sig) = URL_SAFE_NO_PAD
            .decode(sig)
            .ok()
            .and_then(|b| <[u8; 64]>::try_from(b).ok())
        else {
            return false;
        };
        if vk
            .verify_strict(
                input.as_bytes(),
                &ed25519_dalek::Signature::from_bytes(&sig),
            )
            .is_err()
        {
            return false;
        }
        let Some(claims) = input
            .split_once('.')
            .and_then(|(_, c)| URL_SAFE_NO_PAD.decode(c).ok())
        else {
            return false;
        };
        serde_json::from_slice::<Claims>(&claims).is_ok_and(|c| c.iss == issuer && c.exp > now)
    };
    let jwt = |t: &str| jsonwebtoken::decode::<Claims>(t, &key, &validation).is_ok();
    if !jwt(token) || !dalek(token) {
        return Err(BenchError::Setup(
            "the access token does not verify locally",
        ));
    }
    let mut rows = Vec::new();
    for (name, f) in [
        (
            "jsonwebtoken (EdDSA, DecodingKey::from_jwk)",
            &jwt as &dyn Fn(&str) -> bool,
        ),
        ("ed25519-dalek verify_strict + claims", &dalek),
    ] {
        let start = Instant::now();
        let mut n = 0u64;
        while n < 10_000_000 && (!n.is_multiple_of(256) || start.elapsed() < budget) {
            if !f(std::hint::black_box(token)) {
                return Err(BenchError::Setup("verification failed inside the loop"));
            }
            n += 1;
        }
        let secs = start.elapsed().as_secs_f64();
        let rate = n as f64 / secs;
        println!(
            "(f) local verification, {name}: {n} tokens in {secs:.2} s = {rate:.0} tokens/s on one thread ({:.1} us each)",
            1e6 / rate
        );
        rows.push(Row {
            name: format!("(f) local JWKS verification: {name}"),
            clients: "1 thread".into(),
            ok: n.to_string(),
            rate: format!("{rate:.0}"),
            p50: format!("{:.4} (mean)", 1e3 / rate),
            p99: "-".into(),
            notes: "per core: signature + issuer + expiry, no network".into(),
        });
    }
    Ok(rows)
}

// ---------------------------------------------------------------- (g) unknown email vs wrong password

async fn phase_timing(ctx: &Ctx, http: &reqwest::Client, emails: &[String]) -> Result<Row> {
    let rounds = if ctx.args.quick { 50 } else { 200 };
    let url = ctx.url("/v1/login");
    let run = format!("{:x}", std::process::id());
    let mut unknown = Vec::with_capacity(rounds);
    let mut known = Vec::with_capacity(rounds);
    let mut unexpected = 0usize;
    // Interleaved on one connection; the first pair warms up and is not kept.
    for i in 0..=rounds {
        let pair = [
            (format!("nobody-{run}-{i}@example.com"), true),
            (emails[i % emails.len()].clone(), false),
        ];
        // Alternate which goes first so neither always follows the other.
        let order: [usize; 2] = if i % 2 == 0 { [0, 1] } else { [1, 0] };
        for k in order {
            let (email, is_unknown) = &pair[k];
            let t = Instant::now();
            let (status, _) = send(
                http.post(&url)
                    .header("content-type", "application/json")
                    .body(login_body(email, WRONG_PASSWORD)),
            )
            .await;
            let took = t.elapsed();
            if status != 401 {
                unexpected += 1;
            }
            if i > 0 {
                if *is_unknown {
                    unknown.push(took)
                } else {
                    known.push(took)
                }
            }
        }
    }
    unknown.sort();
    known.sort();
    let (mu, mk) = (pct(&unknown, 50.0), pct(&known, 50.0));
    let ratio = mu.as_secs_f64() / mk.as_secs_f64().max(1e-9);
    println!(
        "(g) login timing, {rounds} each, interleaved: unknown email median {:.2} ms (p90 {:.2}), wrong password median {:.2} ms (p90 {:.2}), ratio {ratio:.3}; non-401 answers: {unexpected}",
        ms(mu),
        ms(pct(&unknown, 90.0)),
        ms(mk),
        ms(pct(&known, 90.0))
    );
    if !(0.8..=1.25).contains(&ratio) {
        println!(
            "WARNING: unknown-email / wrong-password median ratio {ratio:.3} is outside 0.8..1.25: the unknown-email path may leak which accounts exist"
        );
    }
    if unexpected > 0 {
        println!(
            "WARNING: {unexpected} timing logins did not answer 401 (throttled or overloaded?)"
        );
    }
    Ok(Row {
        name: "(g) login: unknown email vs wrong password".into(),
        clients: "1".into(),
        ok: format!("{} + {}", unknown.len(), known.len()),
        rate: "-".into(),
        p50: format!("{:.2} / {:.2}", ms(mu), ms(mk)),
        p99: "-".into(),
        notes: format!(
            "median ratio unknown/wrong = {ratio:.3} (loose bound 0.8..1.25); non-401: {unexpected}"
        ),
    })
}

// ---------------------------------------------------------------- CPU accounting from /proc

/// CPU ticks per thread of this process, of the PostgreSQL server processes, and of the
/// whole machine.
struct CpuSnapshot {
    at: Instant,
    threads: BTreeMap<u32, (String, u64)>,
    postgres: BTreeMap<u32, u64>,
    machine_busy: u64,
}

/// Cores busy per thread group over an interval.
struct CpuUsage {
    groups: Vec<(&'static str, f64)>,
    postgres: f64,
    others: f64,
    idle: f64,
}

impl CpuUsage {
    /// Cores spent serving: the server runtime, SQLite's connection threads and PostgreSQL.
    fn serving(&self) -> f64 {
        self.postgres
            + self
                .groups
                .iter()
                .filter(|(g, _)| *g == SERVER_GROUP || *g == SQLITE_GROUP)
                .map(|(_, c)| c)
                .sum::<f64>()
    }
}

impl std::fmt::Display for CpuUsage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (name, cores) in &self.groups {
            write!(f, "{name} {cores:.2}, ")?;
        }
        if self.postgres > 0.0 {
            write!(f, "postgres processes {:.2}, ", self.postgres)?;
        }
        write!(
            f,
            "other processes (not this benchmark) {:.2}, idle {:.2}",
            self.others, self.idle
        )
    }
}

/// Linux's USER_HZ, the unit of `/proc` CPU times (100 on every mainstream architecture).
const TICKS_PER_SEC: f64 = 100.0;

/// The name and user + system CPU ticks of a `/proc/<pid>` or `/proc/<pid>/task/<tid>` entry.
fn proc_ticks(dir: &std::path::Path) -> Option<(String, u64)> {
    let stat = std::fs::read_to_string(dir.join("stat")).ok()?;
    let (head, rest) = stat.rsplit_once(')')?;
    let comm = head.split_once('(').map_or("", |(_, c)| c).to_owned();
    // Fields after the parenthesised name: state is [0], utime [11], stime [12].
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime = fields.get(11)?.parse::<u64>().ok()?;
    let stime = fields.get(12)?.parse::<u64>().ok()?;
    Some((comm, utime + stime))
}

/// Numeric entries (pids or tids) of a `/proc` directory.
fn proc_entries(dir: &str) -> Vec<(u32, PathBuf)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| {
            let id = e.file_name().to_str()?.parse::<u32>().ok()?;
            Some((id, e.path()))
        })
        .collect()
}

impl CpuSnapshot {
    fn take() -> CpuSnapshot {
        let threads = proc_entries("/proc/self/task")
            .into_iter()
            .filter_map(|(tid, path)| Some((tid, proc_ticks(&path)?)))
            .collect();
        let postgres = proc_entries("/proc")
            .into_iter()
            .filter_map(|(pid, path)| {
                let (comm, ticks) = proc_ticks(&path)?;
                (comm == "postgres").then_some((pid, ticks))
            })
            .collect();
        let machine_busy = std::fs::read_to_string("/proc/stat")
            .ok()
            .and_then(|s| s.lines().next().map(str::to_owned))
            .map(|line| {
                let v: Vec<u64> = line
                    .split_whitespace()
                    .skip(1)
                    .filter_map(|x| x.parse().ok())
                    .collect();
                // user nice system idle iowait irq softirq steal
                [0usize, 1, 2, 5, 6, 7]
                    .iter()
                    .filter_map(|&i| v.get(i))
                    .sum()
            })
            .unwrap_or(0);
        CpuSnapshot {
            at: Instant::now(),
            threads,
            postgres,
            machine_busy,
        }
    }

    fn since(&self, earlier: &CpuSnapshot) -> CpuUsage {
        let secs = (self.at - earlier.at).as_secs_f64().max(1e-3);
        let cores_of = |ticks: u64| ticks as f64 / TICKS_PER_SEC / secs;
        let mut groups: BTreeMap<&'static str, u64> = BTreeMap::new();
        let mut own = 0u64;
        for (tid, (comm, ticks)) in &self.threads {
            let before = earlier.threads.get(tid).map_or(0, |(_, t)| *t);
            let delta = ticks.saturating_sub(before);
            own += delta;
            *groups.entry(group_of(comm)).or_default() += delta;
        }
        let postgres: u64 = self
            .postgres
            .iter()
            .map(|(pid, ticks)| {
                ticks.saturating_sub(earlier.postgres.get(pid).copied().unwrap_or(0))
            })
            .sum();
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
        let machine = cores_of(self.machine_busy.saturating_sub(earlier.machine_busy));
        CpuUsage {
            groups: groups.into_iter().map(|(g, t)| (g, cores_of(t))).collect(),
            postgres: cores_of(postgres),
            others: (machine - cores_of(own) - cores_of(postgres)).max(0.0),
            idle: (cores - machine).max(0.0),
        }
    }
}

/// Thread groups that do the service's work (with the PostgreSQL processes).
const SERVER_GROUP: &str = "server runtime (workers + argon2 pool)";
const SQLITE_GROUP: &str = "sqlite connection threads";

fn group_of(comm: &str) -> &'static str {
    if comm.starts_with("auth-server") {
        SERVER_GROUP
    } else if comm.starts_with("sqlx-sqlite") {
        SQLITE_GROUP
    } else if comm.starts_with("load-gen") {
        "load generator"
    } else if comm.starts_with("healthz-probe") {
        "probe"
    } else {
        "other bench threads"
    }
}

// ---------------------------------------------------------------- small helpers

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Nearest-rank percentile of sorted durations (zero when empty).
fn pct(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}
