//! The sample workload: a seeded, deterministic month (or any number of
//! days) of LLM usage of a fictional product, "Acme Support", built so that
//! every analysis has something to find, with figures checkable by hand
//! (see the crate README).
//!
//! | feature | model | what it shows |
//! |---|---|---|
//! | `support_chat` | anthropic `claude-sonnet-4-5` | daytime chat with a 3,400-token system prompt (a 3,650-token revision from day 13), never cached: prompt caching |
//! | `ticket_classifier` | openai `gpt-5.5` | short classification (about 1,200 tokens in, 8 out) on a frontier model: model substitution |
//! | `nightly_summaries` | anthropic `claude-opus-4-1` | 1,500 ticket summaries at 02:00-02:15 UTC every night, tagged `batch`: batch API, substitution, capacity |
//! | `faq_answers` | google `gemini-2.5-flash` | 65% of questions are 40 canned FAQ prompts: response caching |
//! | `reply_drafts` | openai `gpt-4.1` | 1.2% of prompts paste whole threads (40k-90k tokens), 0.6% of outputs run away: oversized requests |
//! | `intent_routing` | `acme-intent-ft-v2` (self-hosted, no provider) | a model the catalogue cannot price: reported as unpriced |
//!
//! Traffic follows a daily curve peaking at 14:30 UTC, with weekends at 35%
//! of weekdays (60% for the customer-facing FAQ). Every call fails with
//! probability 0.4% (a timeout: input and part of the output billed) and is
//! retried; five provider incidents (one during the nightly job) make 45% of
//! that provider's calls fail for 12 to 40 minutes, half of them with 429s
//! (nothing billed), with up to two retries each.
//!
//! [`SampleWorkload`] yields [`UsageRecord`]s in time order;
//! [`sample_dataset`] writes the same calls straight into a [`Dataset`]
//! (fast enough for the 10-million-row benchmark).

use chrono::{DateTime, Datelike, TimeZone, Utc, Weekday};
use usage::dataset::Row;
use usage::{Dataset, ServiceTier, Status, Sym, Tags, TokenCounts, UsageRecord};

/// The fictional product.
pub const SAMPLE_PRODUCT: &str = "Acme Support";

/// First instant of the sample: 2026-07-01 00:00 UTC (a Wednesday).
pub const SAMPLE_START_MS: i64 = 1_782_864_000_000;

const MINUTE_MS: i64 = 60_000;

/// xoshiro256** seeded through SplitMix64: small, fast and stable forever
/// (the sample must not change when a dependency does).
#[derive(Debug, Clone)]
struct Rng {
    s: [u64; 4],
}

fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Rng {
    fn new(seed: u64) -> Self {
        let mut st = seed;
        Rng {
            s: [
                splitmix(&mut st),
                splitmix(&mut st),
                splitmix(&mut st),
                splitmix(&mut st),
            ],
        }
    }

    fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Uniform in [lo, hi].
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next_u64() % (hi - lo + 1)
    }

    fn normal(&mut self) -> f64 {
        let u1 = self.unit().max(1e-12);
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    fn lognormal(&mut self, median: f64, sigma: f64) -> u64 {
        (median * (sigma * self.normal()).exp()).round().max(1.0) as u64
    }

    fn poisson(&mut self, lambda: f64) -> u64 {
        if lambda <= 0.0 {
            return 0;
        }
        if lambda > 30.0 {
            return (lambda + lambda.sqrt() * self.normal()).round().max(0.0) as u64;
        }
        let limit = (-lambda).exp();
        let mut k = 0;
        let mut p = self.unit();
        while p > limit {
            k += 1;
            p *= self.unit();
        }
        k
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Feature {
    SupportChat,
    TicketClassifier,
    NightlySummaries,
    FaqAnswers,
    ReplyDrafts,
    IntentRouting,
}

impl Feature {
    const ALL: [Feature; 6] = [
        Feature::SupportChat,
        Feature::TicketClassifier,
        Feature::NightlySummaries,
        Feature::FaqAnswers,
        Feature::ReplyDrafts,
        Feature::IntentRouting,
    ];

    fn index(self) -> usize {
        self as usize
    }

    fn name(self) -> &'static str {
        match self {
            Feature::SupportChat => "support_chat",
            Feature::TicketClassifier => "ticket_classifier",
            Feature::NightlySummaries => "nightly_summaries",
            Feature::FaqAnswers => "faq_answers",
            Feature::ReplyDrafts => "reply_drafts",
            Feature::IntentRouting => "intent_routing",
        }
    }

    fn provider(self) -> Option<&'static str> {
        match self {
            Feature::SupportChat | Feature::NightlySummaries => Some("anthropic"),
            Feature::TicketClassifier | Feature::ReplyDrafts => Some("openai"),
            Feature::FaqAnswers => Some("google"),
            Feature::IntentRouting => None,
        }
    }

    fn model(self) -> &'static str {
        match self {
            Feature::SupportChat => "claude-sonnet-4-5",
            Feature::TicketClassifier => "gpt-5.5",
            Feature::NightlySummaries => "claude-opus-4-1",
            Feature::FaqAnswers => "gemini-2.5-flash",
            Feature::ReplyDrafts => "gpt-4.1",
            Feature::IntentRouting => "acme-intent-ft-v2",
        }
    }

    fn endpoint(self) -> &'static str {
        match self {
            Feature::SupportChat => "/v1/chat",
            Feature::TicketClassifier => "/v1/tickets/classify",
            Feature::NightlySummaries => "/jobs/nightly-summaries",
            Feature::FaqAnswers => "/v1/faq",
            Feature::ReplyDrafts => "/v1/tickets/draft-reply",
            Feature::IntentRouting => "/v1/route",
        }
    }

    fn environment(self) -> &'static str {
        if self == Feature::NightlySummaries {
            "batch"
        } else {
            "production"
        }
    }

    /// Weekday calls per day at scale 1 (the nightly job runs every day).
    fn daily_calls(self) -> f64 {
        match self {
            Feature::SupportChat => 1_500.0,
            Feature::TicketClassifier => 2_000.0,
            Feature::NightlySummaries => 1_500.0,
            Feature::FaqAnswers => 3_000.0,
            Feature::ReplyDrafts => 900.0,
            Feature::IntentRouting => 500.0,
        }
    }

    fn weekend_factor(self) -> f64 {
        match self {
            Feature::NightlySummaries => 1.0,
            Feature::FaqAnswers => 0.6,
            _ => 0.35,
        }
    }
}

/// The nightly job's window: 02:00 to 02:15 UTC.
const NIGHTLY_START_MIN: u32 = 120;
const NIGHTLY_MINUTES: u32 = 15;
/// Chat's system prompt changes on this day (0-based).
const CHAT_PROMPT_V2_DAY: u32 = 12;
const CHAT_PREFIX_V1: (u64, u64) = (0x5eed_c4a7_0000_0001, 3_400);
const CHAT_PREFIX_V2: (u64, u64) = (0x5eed_c4a7_0000_0002, 3_650);
const CLASSIFIER_PREFIX: (u64, u64) = (0x5eed_c1a5_0000_0001, 900);
const NIGHTLY_PREFIX: (u64, u64) = (0x5eed_0019_0000_0001, 700);
const FAQ_PREFIX: (u64, u64) = (0x5eed_fa90_0000_0001, 1_300);
const DRAFTS_PREFIX: (u64, u64) = (0x5eed_d4af_0000_0001, 1_600);
const FAQ_QUESTIONS: u64 = 40;

/// A provider incident: from `start_min` (minutes since the sample start)
/// for `minutes`, 45% of the provider's calls fail.
#[derive(Debug, Clone, Copy)]
struct Incident {
    provider: &'static str,
    start_min: u64,
    minutes: u64,
}

/// One generated call, before it becomes a record or a row.
#[derive(Debug, Clone, Copy)]
struct Call {
    feature: Feature,
    ts_ms: i64,
    user: u32,
    tokens: TokenCounts,
    latency_ms: u32,
    status: Status,
    attempt: u32,
    prompt_hash: u64,
    prefix: (u64, u64),
    request_no: u64,
}

/// The call generator shared by [`SampleWorkload`] and [`sample_dataset`].
#[derive(Debug, Clone)]
struct Generator {
    rng: Rng,
    seed: u64,
    scale: f64,
    total_minutes: u64,
    minute: u64,
    buffer: Vec<Call>,
    /// Retries scheduled past the current minute.
    pending: Vec<Call>,
    incidents: Vec<Incident>,
    diurnal_norm: f64,
    agents: u32,
    customers: u32,
    request_no: u64,
}

fn diurnal(minute_of_day: u32) -> f64 {
    let h = f64::from(minute_of_day) / 60.0;
    0.12 + 0.88 * (-((h - 14.5) / 3.8).powi(2)).exp()
}

impl Generator {
    fn new(seed: u64, days: u32, scale: f64) -> Self {
        let scale = if scale.is_finite() && scale > 0.0 {
            scale
        } else {
            1.0
        };
        let mut rng = Rng::new(seed);
        let total_minutes = u64::from(days) * 1_440;
        let mut incidents = Vec::new();
        if days > 8 {
            // One incident during the nightly job, on day 8.
            incidents.push(Incident {
                provider: "anthropic",
                start_min: 8 * 1_440 + u64::from(NIGHTLY_START_MIN) + 3,
                minutes: 12,
            });
        }
        for k in 0..4u64 {
            if days == 0 {
                break;
            }
            let day = rng.range(0, u64::from(days) - 1);
            let start = day * 1_440 + rng.range(13 * 60, 17 * 60);
            let provider = ["anthropic", "openai", "google", "anthropic"][k as usize];
            incidents.push(Incident {
                provider,
                start_min: start,
                minutes: rng.range(20, 40),
            });
        }
        let diurnal_norm: f64 = (0..1_440).map(diurnal).sum();
        Generator {
            rng,
            seed,
            scale,
            total_minutes,
            minute: 0,
            buffer: Vec::new(),
            pending: Vec::new(),
            incidents,
            diurnal_norm,
            agents: (60.0 * scale).ceil() as u32,
            customers: (2_000.0 * scale).ceil() as u32,
            request_no: 0,
        }
    }

    fn incident(&self, provider: Option<&str>, minute: u64) -> bool {
        provider.is_some_and(|p| {
            self.incidents.iter().any(|i| {
                i.provider == p && minute >= i.start_min && minute < i.start_min + i.minutes
            })
        })
    }

    /// The next call in time order, or `None` at the end.
    fn next_call(&mut self) -> Option<Call> {
        while self.buffer.is_empty() {
            if self.minute >= self.total_minutes {
                return None;
            }
            self.fill_minute();
            self.minute += 1;
        }
        self.buffer.pop()
    }

    /// Generates every call of the current minute into the buffer (reversed, so `pop` is in time order).
    fn fill_minute(&mut self) {
        let minute = self.minute;
        let minute_start = SAMPLE_START_MS + minute as i64 * MINUTE_MS;
        let day = (minute / 1_440) as u32;
        let minute_of_day = (minute % 1_440) as u32;
        let weekday = Utc
            .timestamp_millis_opt(minute_start)
            .single()
            .map_or(Weekday::Mon, |d| d.weekday());
        let weekend = matches!(weekday, Weekday::Sat | Weekday::Sun);
        for feature in Feature::ALL {
            let day_factor = if weekend {
                feature.weekend_factor()
            } else {
                1.0
            };
            let lambda = if feature == Feature::NightlySummaries {
                let in_window = (NIGHTLY_START_MIN..NIGHTLY_START_MIN + NIGHTLY_MINUTES)
                    .contains(&minute_of_day);
                if in_window {
                    feature.daily_calls() / f64::from(NIGHTLY_MINUTES)
                } else {
                    0.0
                }
            } else {
                feature.daily_calls() / self.diurnal_norm * diurnal(minute_of_day)
            };
            let n = self.rng.poisson(lambda * day_factor * self.scale);
            for _ in 0..n {
                let ts = minute_start + self.rng.range(0, 59_000) as i64;
                self.push_call(feature, ts, day, minute, minute_start + MINUTE_MS);
            }
        }
        let minute_end = minute_start + MINUTE_MS;
        let mut k = 0;
        while k < self.pending.len() {
            if self.pending[k].ts_ms < minute_end {
                self.buffer.push(self.pending.swap_remove(k));
            } else {
                k += 1;
            }
        }
        self.buffer
            .sort_by(|a, b| b.ts_ms.cmp(&a.ts_ms).then(b.request_no.cmp(&a.request_no)));
    }

    /// A successful call's tokens, user, prompt and prefix.
    fn shape(&mut self, feature: Feature, day: u32) -> (TokenCounts, u32, u64, (u64, u64)) {
        let r = &mut self.rng;
        let mut t = TokenCounts::default();
        let (user, prompt_hash, prefix) = match feature {
            Feature::SupportChat => {
                let prefix = if day >= CHAT_PROMPT_V2_DAY {
                    CHAT_PREFIX_V2
                } else {
                    CHAT_PREFIX_V1
                };
                t.input_uncached = prefix.1 + r.lognormal(1_100.0, 0.7).min(30_000);
                t.output = r.lognormal(280.0, 0.5).min(2_000);
                (
                    r.range(0, u64::from(self.agents) - 1) as u32,
                    r.next_u64(),
                    prefix,
                )
            }
            Feature::TicketClassifier => {
                t.input_uncached = CLASSIFIER_PREFIX.1 + r.lognormal(300.0, 0.4).min(3_000);
                t.output = r.range(4, 12);
                (u32::MAX - 1, r.next_u64(), CLASSIFIER_PREFIX)
            }
            Feature::NightlySummaries => {
                t.input_uncached = NIGHTLY_PREFIX.1 + r.lognormal(6_500.0, 0.35).min(40_000);
                t.output = r.lognormal(650.0, 0.3).min(3_000);
                (u32::MAX - 2, r.next_u64(), NIGHTLY_PREFIX)
            }
            Feature::FaqAnswers => {
                let customer = r.range(0, u64::from(self.customers) - 1) as u32;
                if r.chance(0.65) {
                    // Canned questions, Zipf-like: question q with weight 1/(q+1).
                    let q = zipf(r, FAQ_QUESTIONS);
                    t.input_uncached = FAQ_PREFIX.1 + 60 + (q * 23) % 140;
                    t.output = 150 + (q * 37) % 200;
                    (customer, faq_hash(q), FAQ_PREFIX)
                } else {
                    t.input_uncached = FAQ_PREFIX.1 + r.lognormal(120.0, 0.5).min(2_000);
                    t.output = r.lognormal(220.0, 0.4).min(1_500);
                    (customer, r.next_u64(), FAQ_PREFIX)
                }
            }
            Feature::ReplyDrafts => {
                let body = if r.chance(0.012) {
                    r.range(40_000, 90_000)
                } else {
                    r.lognormal(900.0, 0.5).min(12_000)
                };
                let input = DRAFTS_PREFIX.1 + body;
                if r.chance(0.7) {
                    t.cache_read = 1_536;
                }
                t.input_uncached = input - t.cache_read;
                t.output = if r.chance(0.006) {
                    r.range(4_000, 7_000)
                } else {
                    r.lognormal(350.0, 0.4).min(1_800)
                };
                (
                    r.range(0, u64::from(self.agents) - 1) as u32,
                    r.next_u64(),
                    DRAFTS_PREFIX,
                )
            }
            Feature::IntentRouting => {
                t.input_uncached = r.range(150, 260);
                t.output = r.range(1, 4);
                (u32::MAX - 3, r.next_u64(), (0, 0))
            }
        };
        (t, user, prompt_hash, prefix)
    }

    fn latency(&mut self, feature: Feature, t: &TokenCounts) -> u32 {
        let (base, per_output_ms) = match feature {
            Feature::SupportChat => (600.0, 25.0),
            Feature::TicketClassifier => (700.0, 20.0),
            Feature::NightlySummaries => (2_000.0, 45.0),
            Feature::FaqAnswers => (350.0, 6.0),
            Feature::ReplyDrafts => (500.0, 18.0),
            Feature::IntentRouting => (60.0, 5.0),
        };
        let ms = (base + per_output_ms * t.output as f64 + t.input_total() as f64 * 0.02)
            * (0.25 * self.rng.normal()).exp();
        ms.clamp(20.0, 600_000.0) as u32
    }

    fn push_call(&mut self, feature: Feature, ts: i64, day: u32, minute: u64, minute_end: i64) {
        let (tokens, user, prompt_hash, prefix) = self.shape(feature, day);
        let incident = self.incident(feature.provider(), minute);
        let p_fail = 0.004 + if incident { 0.45 } else { 0.0 };
        let mut ts = ts;
        for attempt in 1..=3u32 {
            self.request_no += 1;
            let mut call = Call {
                feature,
                ts_ms: ts,
                user,
                tokens,
                latency_ms: 0,
                status: Status::Ok,
                attempt,
                prompt_hash,
                prefix,
                request_no: self.request_no,
            };
            let fails = attempt < 3 && self.rng.chance(p_fail);
            if !fails {
                call.latency_ms = self.latency(feature, &tokens);
                self.schedule(call, minute_end);
                return;
            }
            if incident && self.rng.chance(0.5) {
                // Rejected with 429 before any token was processed.
                call.status = Status::RateLimited;
                call.tokens = TokenCounts::default();
                call.latency_ms = self.rng.range(80, 400) as u32;
            } else {
                // Timed out mid-stream: the input and part of the output were billed.
                call.status = Status::Error;
                call.tokens.output = tokens.output * self.rng.range(10, 60) / 100;
                call.tokens.reasoning = 0;
                call.latency_ms = 30_000;
            }
            self.schedule(call, minute_end);
            let backoff = if call.status == Status::RateLimited {
                1_000
            } else {
                30_000
            };
            ts += backoff + self.rng.range(0, 2_000) as i64;
        }
    }

    /// Into this minute's buffer, or pending for a later minute (retries).
    fn schedule(&mut self, call: Call, minute_end: i64) {
        if call.ts_ms < minute_end {
            self.buffer.push(call)
        } else {
            self.pending.push(call)
        }
    }

    fn request_id(&self, no: u64) -> String {
        format!("req_{:08x}{:010x}", self.seed as u32, no)
    }
}

/// Zipf-like draw of `0..n` (weight 1/(k+1)).
fn zipf(r: &mut Rng, n: u64) -> u64 {
    let h: f64 = (1..=n).map(|k| 1.0 / k as f64).sum();
    let mut x = r.unit() * h;
    for k in 0..n {
        x -= 1.0 / (k + 1) as f64;
        if x <= 0.0 {
            return k;
        }
    }
    n - 1
}

fn faq_hash(q: u64) -> u64 {
    let mut st = 0xfa00_0000_0000_0000 ^ q;
    splitmix(&mut st)
}

fn user_name(feature: Feature, user: u32) -> String {
    match feature {
        Feature::SupportChat | Feature::ReplyDrafts => format!("agent-{:03}", user + 1),
        Feature::FaqAnswers => format!("cust-{:05}", user + 1),
        Feature::TicketClassifier => "svc-triage".to_owned(),
        Feature::NightlySummaries => "svc-nightly".to_owned(),
        Feature::IntentRouting => "svc-router".to_owned(),
    }
}

fn record_of(g: &Generator, c: &Call) -> UsageRecord {
    let f = c.feature;
    UsageRecord {
        timestamp: DateTime::from_timestamp_millis(c.ts_ms).unwrap_or_default(),
        provider: f.provider().map(str::to_owned),
        model: f.model().to_owned(),
        tokens: c.tokens,
        latency_ms: Some(c.latency_ms),
        status: c.status,
        service_tier: ServiceTier::Standard,
        request_id: Some(g.request_id(c.request_no)),
        tags: Tags {
            user: Some(user_name(f, c.user)),
            feature: Some(f.name().to_owned()),
            endpoint: Some(f.endpoint().to_owned()),
            environment: Some(f.environment().to_owned()),
        },
        prompt_hash: Some(c.prompt_hash),
        prefix_hash: (c.prefix.1 > 0).then_some(c.prefix.0),
        prefix_tokens: (c.prefix.1 > 0).then_some(c.prefix.1 as u32),
        attempt: Some(c.attempt),
        reported_cost_usd: None,
        calls: 1,
        aggregate: false,
    }
}

/// The sample as an iterator of records, in time order.
#[derive(Debug, Clone)]
pub struct SampleWorkload {
    generator: Generator,
}

impl SampleWorkload {
    /// `days` days from [`SAMPLE_START_MS`], deterministic for `seed`.
    pub fn new(seed: u64, days: u32) -> Self {
        SampleWorkload {
            generator: Generator::new(seed, days, 1.0),
        }
    }

    /// Multiplies every feature's traffic (and its user counts) by `scale`.
    pub fn with_scale(self, scale: f64) -> Self {
        let days = (self.generator.total_minutes / 1_440) as u32;
        SampleWorkload {
            generator: Generator::new(self.generator.seed, days, scale),
        }
    }
}

impl Iterator for SampleWorkload {
    type Item = UsageRecord;

    fn next(&mut self) -> Option<UsageRecord> {
        let call = self.generator.next_call()?;
        Some(record_of(&self.generator, &call))
    }
}

/// `days` days of the sample as records (about 8,000 a day), deterministic for `seed`.
pub fn sample_workload(seed: u64, days: u32) -> Vec<UsageRecord> {
    SampleWorkload::new(seed, days).collect()
}

/// The sample straight into a [`Dataset`], at `scale` times the traffic,
/// stopping after `max_rows` rows when given. Same calls as
/// [`SampleWorkload`] (request ids aside: datasets keep none).
pub fn sample_dataset(seed: u64, days: u32, scale: f64, max_rows: Option<usize>) -> Dataset {
    let mut g = Generator::new(seed, days, scale);
    let mut ds = Dataset::with_capacity(max_rows.unwrap_or(0));
    let mut syms: Vec<[Sym; 5]> = Vec::new();
    for f in Feature::ALL {
        let s = &mut ds.strings;
        syms.push([
            s.intern_opt(f.provider()),
            s.intern(f.model()),
            s.intern(f.name()),
            s.intern(f.endpoint()),
            s.intern(f.environment()),
        ]);
    }
    let mut users: Vec<Vec<Sym>> = vec![Vec::new(); Feature::ALL.len()];
    while max_rows.is_none_or(|max| ds.rows.len() < max) {
        let Some(c) = g.next_call() else { break };
        let f = c.feature.index();
        let per_feature = &mut users[f];
        let slot = match c.feature {
            Feature::SupportChat | Feature::ReplyDrafts | Feature::FaqAnswers => c.user as usize,
            _ => 0,
        };
        if per_feature.len() <= slot {
            per_feature.resize(slot + 1, Sym::NONE);
        }
        if per_feature[slot].is_none() {
            per_feature[slot] = ds.strings.intern(&user_name(c.feature, c.user));
        }
        let [provider, model, feature, endpoint, environment] = syms[f];
        ds.rows.push(Row {
            ts_ms: c.ts_ms,
            provider,
            model,
            user: per_feature[slot],
            feature,
            endpoint,
            environment,
            tokens: c.tokens,
            latency_ms: c.latency_ms,
            status: c.status,
            service_tier: ServiceTier::Standard,
            attempt: c.attempt,
            calls: 1,
            prefix_tokens: c.prefix.1 as u32,
            prompt_hash: Some(c.prompt_hash),
            prefix_hash: (c.prefix.1 > 0).then_some(c.prefix.0),
            reported_cost_usd: f64::NAN,
            aggregate: false,
        });
    }
    ds
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_is_the_first_of_july_2026() {
        let start = Utc.timestamp_millis_opt(SAMPLE_START_MS).unwrap();
        assert_eq!(start.to_rfc3339(), "2026-07-01T00:00:00+00:00");
        assert_eq!(start.weekday(), Weekday::Wed);
    }

    #[test]
    fn deterministic_and_time_ordered() {
        let a = sample_workload(7, 2);
        let b = sample_workload(7, 2);
        assert_eq!(a, b);
        assert_ne!(a, sample_workload(8, 2));
        assert!(a.windows(2).all(|w| w[0].timestamp <= w[1].timestamp));
        assert!(a.len() > 10_000, "{} records", a.len());
    }

    #[test]
    fn dataset_matches_the_records() {
        let records = sample_workload(3, 1);
        let ds = sample_dataset(3, 1, 1.0, None);
        assert_eq!(ds.len(), records.len());
        let mut from_records = Dataset::new();
        for r in &records {
            from_records.push(r);
        }
        for (a, b) in ds.rows.iter().zip(&from_records.rows).step_by(97) {
            assert_eq!(ds.str(a.model), from_records.str(b.model));
            assert_eq!(ds.str(a.user), from_records.str(b.user));
            assert_eq!(ds.str(a.feature), from_records.str(b.feature));
            assert_eq!(
                (a.ts_ms, a.tokens, a.status, a.attempt),
                (b.ts_ms, b.tokens, b.status, b.attempt)
            );
            assert_eq!(
                (a.prompt_hash, a.prefix_hash, a.prefix_tokens),
                (b.prompt_hash, b.prefix_hash, b.prefix_tokens)
            );
        }
        let capped = sample_dataset(3, 1, 1.0, Some(100));
        assert_eq!(capped.len(), 100);
    }

    #[test]
    fn poisson_mean_is_lambda() {
        let mut r = Rng::new(1);
        let n = 20_000;
        for lambda in [0.5, 4.0, 80.0] {
            let mean = (0..n).map(|_| r.poisson(lambda)).sum::<u64>() as f64 / f64::from(n);
            assert!(
                (mean - lambda).abs() < lambda * 0.05 + 0.05,
                "lambda {lambda}: mean {mean}"
            );
        }
    }
}
