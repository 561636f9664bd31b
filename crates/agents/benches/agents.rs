//! Benchmarks of the agents crate, printed as plain figures:
//! `cargo bench -p agents --bench agents`.
//!
//! - the SSE parser's throughput on a streamed chat completion;
//! - checking an answer's figures against the tool results;
//! - a whole supervisor run (cost question, templates) on the sample
//!   workload, against `analytics::full_analysis` on the same data, with the
//!   size of the events it emits.

use agents::llm::sse::SseParser;
use agents::{AgentEvent, FigureSet, RunInput, Supervisor, VecSink};
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

fn best_of<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut best = Duration::MAX;
    let mut out = None;
    for _ in 0..runs {
        let start = Instant::now();
        let value = f();
        best = best.min(start.elapsed());
        out = Some(value);
    }
    (best, out.expect("at least one run"))
}

fn sse_parser() {
    let mut stream = String::new();
    let mut events = 0usize;
    while stream.len() < 32 << 20 {
        stream.push_str(&format!(
            "data: {{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"token {events} \"}}}}]}}\r\n\r\n"
        ));
        events += 1;
    }
    let bytes = stream.as_bytes();
    let (t, parsed) = best_of(5, || {
        let mut parser = SseParser::new();
        let mut n = 0usize;
        for chunk in bytes.chunks(1024) {
            n += parser.push(black_box(chunk)).map(|e| e.len()).unwrap_or(0);
        }
        n
    });
    assert_eq!(parsed, events);
    let secs = t.as_secs_f64();
    println!(
        "sse_parser: {:.1} MiB in 1 KiB chunks, {} events: {:.0} MiB/s, {:.2} M events/s",
        bytes.len() as f64 / (1 << 20) as f64,
        events,
        bytes.len() as f64 / (1 << 20) as f64 / secs,
        events as f64 / secs / 1e6
    );
}

fn supervisor_and_verification() {
    let days = 30;
    let dataset = Arc::new(analytics::sample_dataset(42, days, 1.0, None));
    let catalogue = Arc::new(pricing::Catalogue::embedded());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let input = || RunInput {
        message: "How can we cut our AI costs by 30%?".to_owned(),
        message_id: "bench".to_owned(),
        dataset: Some(Arc::clone(&dataset)),
        dataset_name: Some("sample".to_owned()),
        catalogue: Arc::clone(&catalogue),
        rate_limits: None,
    };
    let supervisor = Supervisor::default();
    let (t_run, (outcome, events)) = best_of(3, || {
        rt.block_on(async {
            let sink = VecSink::new();
            let outcome = supervisor
                .run(input(), &sink, CancellationToken::new())
                .await
                .expect("run");
            (outcome, sink.take())
        })
    });
    let (t_full, _) = best_of(3, || {
        let ctx = analytics::AnalysisContext::new(Arc::clone(&dataset), Arc::clone(&catalogue));
        analytics::full_analysis(&ctx).expect("analysis")
    });
    let sizes: Vec<usize> = events
        .iter()
        .map(|e| e.payload().to_string().len())
        .collect();
    let largest = events
        .iter()
        .zip(&sizes)
        .max_by_key(|(_, s)| **s)
        .map(|(e, s)| (e.event_type(), *s));
    println!(
        "supervisor (cost question, templates, {} rows = {days} days of sample): {:.0} ms; full_analysis alone: {:.0} ms",
        dataset.len(),
        t_run.as_secs_f64() * 1e3,
        t_full.as_secs_f64() * 1e3
    );
    println!(
        "events: {}, payload bytes total {}, largest {:?}; answer {} bytes",
        events.len(),
        sizes.iter().sum::<usize>(),
        largest,
        outcome.final_response.len()
    );

    let digest = events
        .iter()
        .find_map(|e| match e {
            AgentEvent::ToolCompleted { tool, result, .. } if tool == "summarise_findings" => {
                Some(result.clone())
            }
            _ => None,
        })
        .expect("digest");
    let (t_verify, unsupported) = best_of(20, || {
        let mut figures = FigureSet::new();
        figures.add_json(black_box(&digest));
        figures.unsupported(black_box(&outcome.final_response))
    });
    assert!(unsupported.is_empty());
    println!(
        "verify: {} numbers in the answer against {} bytes of digest: {:.0} us",
        agents::verify::numbers_in(&outcome.final_response).len(),
        digest.to_string().len(),
        t_verify.as_secs_f64() * 1e6
    );
}

fn main() {
    sse_parser();
    supervisor_and_verification();
}
