//! The supervisor on the sample workload: the event sequence, the answers,
//! the figures in them, cancellation, and the model paths against the local
//! server (including every fallback).

use crate::server::{Reply, TestServer, anthropic_events, openai_events};
use agents::event::SinkError;
use agents::format::usd;
use agents::{
    Agent, AgentError, AgentEvent, AgentStatus, AnswerSource, Anthropic, AnthropicConfig,
    EventSink, FigureSet, HttpOptions, Intent, LanguageModel, OpenAiCompatible, OpenAiConfig,
    RunInput, RunOutcome, Supervisor, VecSink,
};
use async_trait::async_trait;
use secrecy::SecretString;
use serde_json::Value;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use usage::Dataset;

/// A week of the sample workload, built once for all tests.
fn sample() -> Arc<Dataset> {
    static SAMPLE: OnceLock<Arc<Dataset>> = OnceLock::new();
    Arc::clone(SAMPLE.get_or_init(|| Arc::new(analytics::sample_dataset(7, 7, 1.0, None))))
}

fn catalogue() -> Arc<pricing::Catalogue> {
    static CATALOGUE: OnceLock<Arc<pricing::Catalogue>> = OnceLock::new();
    Arc::clone(CATALOGUE.get_or_init(|| Arc::new(pricing::Catalogue::embedded())))
}

fn input(message: &str) -> RunInput {
    RunInput {
        message: message.to_owned(),
        message_id: "msg-42".to_owned(),
        dataset: Some(sample()),
        dataset_name: Some("Acme sample".to_owned()),
        catalogue: catalogue(),
        rate_limits: None,
    }
}

async fn run_with(supervisor: &Supervisor, input: RunInput) -> (RunOutcome, Vec<AgentEvent>) {
    let sink = VecSink::new();
    let outcome = supervisor
        .run(input, &sink, CancellationToken::new())
        .await
        .unwrap();
    (outcome, sink.take())
}

async fn run_rules(message: &str) -> (RunOutcome, Vec<AgentEvent>) {
    run_with(&Supervisor::default(), input(message)).await
}

const COST_QUESTION: &str = "How can we cut our AI costs by 30%?";

/// Checks the shape every run has: supervisor first and last; each
/// sub-agent's events contiguous, started .. thinking+ .. completed; tool
/// events in executing/completed pairs with the same call id. Returns the
/// sub-agents in order.
fn check_shape(events: &[AgentEvent], message_id: &str) -> Vec<Agent> {
    assert!(
        matches!(
            &events[0],
            AgentEvent::AgentStarted {
                agent: Agent::Supervisor,
                ..
            }
        ),
        "{:?}",
        events[0]
    );
    let Some(AgentEvent::AgentCompleted {
        agent: Agent::Supervisor,
        message_id: Some(id),
        final_response: Some(answer),
        ..
    }) = events.last()
    else {
        panic!(
            "last event is not the supervisor's completion: {:?}",
            events.last()
        );
    };
    assert_eq!(id, message_id);
    assert!(!answer.is_empty());

    let inner = &events[1..events.len() - 1];
    let mut agents = Vec::new();
    let mut i = 0;
    while i < inner.len() {
        let AgentEvent::AgentStarted { agent, .. } = &inner[i] else {
            panic!("expected a sub-agent start at {i}: {:?}", inner[i])
        };
        assert_ne!(*agent, Agent::Supervisor);
        agents.push(*agent);
        i += 1;
        let mut thinking = 0;
        loop {
            match &inner[i] {
                AgentEvent::AgentThinking { agent: a, .. } => {
                    assert_eq!(a, agent);
                    thinking += 1;
                }
                AgentEvent::ToolExecuting {
                    agent: a,
                    call_id,
                    tool,
                    ..
                } => {
                    assert_eq!(a, agent);
                    i += 1;
                    let AgentEvent::ToolCompleted {
                        agent: b,
                        call_id: c,
                        tool: t,
                        ..
                    } = &inner[i]
                    else {
                        panic!(
                            "tool_executing not followed by its completion: {:?}",
                            inner[i]
                        );
                    };
                    assert_eq!((b, c, t), (agent, call_id, tool));
                }
                AgentEvent::AgentCompleted {
                    agent: a,
                    message_id,
                    final_response,
                    ..
                } => {
                    assert_eq!(a, agent);
                    assert!(
                        message_id.is_none() && final_response.is_none(),
                        "only the supervisor carries the answer"
                    );
                    break;
                }
                other => panic!("unexpected event inside {agent}: {other:?}"),
            }
            i += 1;
        }
        assert!(thinking >= 1, "{agent} emitted no thinking");
        i += 1;
    }
    agents
}

fn tools_called(events: &[AgentEvent], agent: Agent) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            AgentEvent::ToolExecuting { agent: a, tool, .. } if *a == agent => Some(tool.clone()),
            _ => None,
        })
        .collect()
}

/// Every figure the tools produced, plus the question's own numbers.
fn figures(events: &[AgentEvent], question: &str) -> FigureSet {
    let mut set = FigureSet::new();
    for e in events {
        if let AgentEvent::ToolCompleted {
            result, summary, ..
        } = e
        {
            set.add_json(result);
            set.add_text(summary);
        }
    }
    set.add_text(question);
    set
}

fn digest_of(events: &[AgentEvent]) -> Value {
    events
        .iter()
        .find_map(|e| match e {
            AgentEvent::ToolCompleted { tool, result, .. } if tool == "summarise_findings" => {
                Some(result.clone())
            }
            _ => None,
        })
        .expect("the reporting agent published its digest")
}

fn thinking_of(events: &[AgentEvent], agent: Agent) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            AgentEvent::AgentThinking { agent: a, text } if *a == agent => Some(text.clone()),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn a_cost_question_runs_every_agent_in_order_with_the_five_events() {
    let (outcome, events) = run_rules(COST_QUESTION).await;
    let agents = check_shape(&events, "msg-42");
    assert_eq!(
        agents,
        [
            Agent::Triage,
            Agent::Data,
            Agent::Optimisation,
            Agent::Reporting
        ]
    );
    let mut types: Vec<&str> = events.iter().map(AgentEvent::event_type).collect();
    types.dedup();
    for t in [
        "agent_started",
        "agent_thinking",
        "tool_executing",
        "tool_completed",
        "agent_completed",
    ] {
        assert!(types.contains(&t), "no {t}");
    }
    assert_eq!(tools_called(&events, Agent::Data), ["spend_breakdown"]);
    assert_eq!(
        tools_called(&events, Agent::Optimisation),
        [
            "model_substitution",
            "prompt_caching",
            "response_caching",
            "batch_api",
            "oversized_requests",
            "retry_waste"
        ]
    );
    assert!(
        events
            .iter()
            .all(|e| !matches!(e, AgentEvent::ToolCompleted { ok: false, .. })),
        "a tool failed"
    );
    // Call ids are unique.
    let mut ids: Vec<String> = events
        .iter()
        .filter_map(|e| {
            if let AgentEvent::ToolExecuting { call_id, .. } = e {
                Some(call_id.clone())
            } else {
                None
            }
        })
        .collect();
    let n = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), n);

    assert_eq!(outcome.intent, Intent::Cost);
    assert_eq!(outcome.answered_by, AnswerSource::Template);
    let report = outcome.report.expect("a report");
    assert!(
        report.recommendations.len() >= 5,
        "the sample makes most recommendations fire: {:?}",
        report.recommendations
    );
    let digest = digest_of(&events);
    let combined = digest["savings"]["combined_monthly_usd"].as_f64().unwrap();
    assert!(combined > 0.0);

    let answer = &outcome.final_response;
    let Some(AgentEvent::AgentCompleted {
        final_response: Some(last),
        summary,
        ..
    }) = events.last()
    else {
        unreachable!()
    };
    assert_eq!(last, answer);
    assert!(summary.contains(&usd(combined)), "{summary}");
    assert!(
        answer.contains(&format!("**{} per month", usd(combined))),
        "{answer}"
    );
    assert!(
        answer.contains("| # | Recommendation | Est. monthly savings | Confidence |"),
        "{answer}"
    );
    assert!(answer.contains("## Evidence"));
    assert!(
        answer.contains("target of a 30.0% cut"),
        "the answer measures the savings against the target: {answer}"
    );
    for r in &report.recommendations {
        assert!(answer.contains(&r.title), "missing {}", r.title);
    }
}

#[tokio::test]
async fn every_figure_of_the_template_answers_comes_from_a_tool_result() {
    for question in [
        COST_QUESTION,
        "Why are our responses so slow?",
        "Which model should we use?",
        "Will we hit rate limits if traffic grows 5x?",
        "How much did we spend on support chat?",
    ] {
        let (outcome, events) = run_rules(question).await;
        let unsupported = figures(&events, question).unsupported(&outcome.final_response);
        assert!(
            unsupported.is_empty(),
            "{question}: {unsupported:?} not in the tool results\n{}",
            outcome.final_response
        );
        assert!(
            agents::verify::numbers_in(&outcome.final_response).len() >= 5,
            "{question}: the answer has figures"
        );
    }
}

#[tokio::test]
async fn each_kind_of_question_runs_its_own_tools_and_answers_it() {
    let (latency, events) = run_rules("Why are our responses so slow?").await;
    assert_eq!(latency.intent, Intent::Latency);
    assert!(
        latency.final_response.contains("p95"),
        "{}",
        latency.final_response
    );
    assert!(!tools_called(&events, Agent::Optimisation).contains(&"batch_api".to_owned()));

    let (capacity, events) = run_rules("Will we hit rate limits if traffic grows 5x?").await;
    assert_eq!(capacity.intent, Intent::Capacity);
    assert_eq!(tools_called(&events, Agent::Optimisation), ["capacity"]);
    let args = events.iter().find_map(|e| match e {
        AgentEvent::ToolExecuting { tool, args, .. } if tool == "capacity" => Some(args.clone()),
        _ => None,
    });
    assert_eq!(args, Some(serde_json::json!({"growth": 5.0})));
    assert!(
        capacity
            .final_response
            .contains("Busiest minute per model at 5.0x"),
        "{}",
        capacity.final_response
    );

    let (data, events) = run_rules("How much did we spend on support chat?").await;
    assert_eq!(data.intent, Intent::DataQuestion);
    assert!(tools_called(&events, Agent::Optimisation).is_empty());
    assert!(
        data.final_response.contains("**feature support_chat:**"),
        "{}",
        data.final_response
    );

    let (model, _) = run_rules("Which model should we use?").await;
    assert_eq!(model.intent, Intent::ModelChoice);
    assert!(
        model.final_response.contains("## Models in use"),
        "{}",
        model.final_response
    );
}

#[test]
fn a_run_can_be_spawned_and_its_input_debugs_briefly() {
    fn assert_send<T: Send>(_: &T) {}
    let supervisor = Supervisor::default();
    let sink = VecSink::new();
    let run = supervisor.run(input("hi"), &sink, CancellationToken::new());
    assert_send(&run);
    let debug = format!("{:?}", input("hi"));
    assert!(
        debug.contains("dataset_rows: Some(") && debug.len() < 500,
        "{debug}"
    );
}

#[tokio::test]
async fn a_greeting_gets_an_honest_help_answer_without_analyses() {
    let (outcome, events) = run_rules("hello!").await;
    assert_eq!(
        check_shape(&events, "msg-42"),
        [Agent::Triage, Agent::Reporting]
    );
    assert!(
        events
            .iter()
            .all(|e| !matches!(e, AgentEvent::ToolExecuting { .. }))
    );
    assert_eq!(outcome.intent, Intent::Help);
    assert!(outcome.report.is_none());
    let answer = &outcome.final_response;
    assert!(
        answer.contains("Apex's optimisation agent") && answer.contains("Try asking"),
        "{answer}"
    );
    assert_eq!(answer.matches("\n- \"").count(), 4);
}

#[tokio::test]
async fn an_out_of_scope_question_is_declined_honestly() {
    let (outcome, events) = run_rules("Write me a poem about the sea").await;
    assert_eq!(
        check_shape(&events, "msg-42"),
        [Agent::Triage, Agent::Reporting]
    );
    assert_eq!(outcome.intent, Intent::OutOfScope);
    assert!(outcome.final_response.starts_with("I can't help with that"));
}

#[tokio::test]
async fn without_a_dataset_the_answer_says_how_to_add_one() {
    let mut no_data = input(COST_QUESTION);
    no_data.dataset = None;
    no_data.dataset_name = None;
    let (outcome, events) = run_with(&Supervisor::default(), no_data).await;
    assert_eq!(
        check_shape(&events, "msg-42"),
        [Agent::Triage, Agent::Data, Agent::Reporting]
    );
    assert!(events.iter().any(|e| matches!(
        e,
        AgentEvent::AgentCompleted {
            agent: Agent::Data,
            status: AgentStatus::Failed,
            ..
        }
    )));
    assert!(
        outcome.final_response.contains("POST /v1/datasets/sample"),
        "{}",
        outcome.final_response
    );
    assert!(outcome.report.is_none());
}

#[tokio::test]
async fn an_empty_dataset_is_reported_not_crashed_on() {
    let mut empty = input(COST_QUESTION);
    empty.dataset = Some(Arc::new(Dataset::new()));
    let (outcome, events) = run_with(&Supervisor::default(), empty).await;
    check_shape(&events, "msg-42");
    assert!(events.iter().any(|e| matches!(e, AgentEvent::ToolCompleted { tool, ok: false, .. } if tool == "spend_breakdown")));
    assert!(
        outcome
            .final_response
            .starts_with("I could not analyse the dataset **Acme sample**"),
        "{}",
        outcome.final_response
    );
}

/// Says, from the event count and the event, when to cancel.
type CancelWhen = Box<dyn Fn(usize, &AgentEvent) -> bool + Send + Sync>;

/// Cancels the run's token when the event matching `at` arrives.
struct CancelAt {
    inner: VecSink,
    token: CancellationToken,
    at: CancelWhen,
    seen: AtomicUsize,
}

#[async_trait]
impl EventSink for CancelAt {
    async fn emit(&self, event: AgentEvent) -> Result<(), SinkError> {
        let n = self.seen.fetch_add(1, Ordering::SeqCst) + 1;
        if (self.at)(n, &event) {
            self.token.cancel();
        }
        self.inner.emit(event).await
    }
}

async fn cancelled_run(
    supervisor: &Supervisor,
    input: RunInput,
    at: impl Fn(usize, &AgentEvent) -> bool + Send + Sync + 'static,
) -> (Result<RunOutcome, AgentError>, Vec<AgentEvent>) {
    let token = CancellationToken::new();
    let sink = CancelAt {
        inner: VecSink::new(),
        token: token.clone(),
        at: Box::new(at),
        seen: AtomicUsize::new(0),
    };
    // A deadlock guard, not a timing assertion.
    let result = tokio::time::timeout(
        Duration::from_secs(120),
        supervisor.run(input, &sink, token),
    )
    .await
    .expect("the run did not stop after the cancel");
    (result, sink.inner.take())
}

#[tokio::test]
async fn a_cancel_stops_the_run_at_once_at_any_point() {
    for cancel_at in [1, 3, 6, 9, 12] {
        let (result, events) =
            cancelled_run(&Supervisor::default(), input(COST_QUESTION), move |n, _| {
                n == cancel_at
            })
            .await;
        assert!(
            matches!(result, Err(AgentError::Cancelled)),
            "cancel at {cancel_at}: {result:?}"
        );
        assert_eq!(events.len(), cancel_at, "no event after the cancel");
    }
}

#[tokio::test]
async fn a_cancel_during_a_tool_stops_it() {
    // Cancelled right after the tool starts: the tool is running on the blocking pool.
    let (result, events) = cancelled_run(
        &Supervisor::default(),
        input(COST_QUESTION),
        |_, e| matches!(e, AgentEvent::ToolExecuting { tool, .. } if tool == "prompt_caching"),
    )
    .await;
    assert!(matches!(result, Err(AgentError::Cancelled)), "{result:?}");
    assert!(
        matches!(events.last(), Some(AgentEvent::ToolExecuting { tool, .. }) if tool == "prompt_caching")
    );
}

/// Fails on the n-th event.
struct FailingSink(usize, AtomicUsize);

#[async_trait]
impl EventSink for FailingSink {
    async fn emit(&self, _event: AgentEvent) -> Result<(), SinkError> {
        if self.1.fetch_add(1, Ordering::SeqCst) + 1 == self.0 {
            Err(SinkError::Closed)
        } else {
            Ok(())
        }
    }
}

#[tokio::test]
async fn a_sink_error_aborts_the_run() {
    let sink = FailingSink(4, AtomicUsize::new(0));
    let result = Supervisor::default()
        .run(input(COST_QUESTION), &sink, CancellationToken::new())
        .await;
    assert!(
        matches!(result, Err(AgentError::Sink(SinkError::Closed))),
        "{result:?}"
    );
    assert_eq!(
        sink.1.load(Ordering::SeqCst),
        4,
        "nothing emitted after the failure"
    );
}

// ---- with a language model, against the local server ----

fn fast_http(timeout: Duration) -> HttpOptions {
    HttpOptions {
        connect_timeout: Duration::from_secs(5),
        timeout,
        max_retries: 1,
        backoff_base: Duration::from_millis(1),
        backoff_max: Duration::from_millis(5),
    }
}

fn openai_model(server: &TestServer, timeout: Duration) -> Arc<dyn LanguageModel> {
    let mut config = OpenAiConfig::new(format!("{}/v1", server.url()), "fake-gpt");
    config.http = fast_http(timeout);
    Arc::new(OpenAiCompatible::new(config).unwrap())
}

fn anthropic_model(server: &TestServer) -> Arc<dyn LanguageModel> {
    let mut config = AnthropicConfig::new(SecretString::from("sk-ant".to_owned()), "fake-claude");
    config.base_url = server.url();
    config.http = fast_http(Duration::from_secs(30));
    Arc::new(Anthropic::new(config).unwrap())
}

/// A model answer written only from the digest's figures, split into small deltas.
fn honest_answer(digest: &Value) -> String {
    let spend = digest["spend"]["monthly_usd"].as_f64().unwrap();
    let combined = digest["savings"]["combined_monthly_usd"].as_f64().unwrap();
    let share = digest["savings"]["combined_pct_of_spend"].as_f64().unwrap();
    let first = &digest["recommendations"][0];
    format!(
        "## Summary\n\nYou spend {} per month. Together the recommendations could save about {} per month ({share:.1}% of spend).\n\n\
         | Recommendation | Est. monthly savings | Confidence |\n|---|---:|---|\n| {} | {} | {} |\n",
        usd(spend),
        usd(combined),
        first["title"].as_str().unwrap(),
        usd(first["monthly_savings_usd"].as_f64().unwrap()),
        first["confidence"].as_str().unwrap(),
    )
}

/// Splits a text into deltas of a few characters (on char boundaries).
fn deltas(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    chars.chunks(4).map(|c| c.iter().collect()).collect()
}

fn openai_stream(text: &str) -> Reply {
    let pieces = deltas(text);
    let refs: Vec<&str> = pieces.iter().map(String::as_str).collect();
    Reply::Sse(openai_events(&refs))
}

#[tokio::test]
async fn a_model_answer_with_only_tool_figures_is_streamed_and_kept() {
    let (template, reference) = run_rules(COST_QUESTION).await;
    let answer = honest_answer(&digest_of(&reference));
    let server = TestServer::start(vec![
        Reply::Sse(openai_events(&["cost"])),
        openai_stream(&answer),
    ])
    .await;
    let supervisor = Supervisor::new(openai_model(&server, Duration::from_secs(30)));
    let (outcome, events) = run_with(&supervisor, input(COST_QUESTION)).await;

    check_shape(&events, "msg-42");
    assert_eq!(
        outcome.answered_by,
        AnswerSource::Model("openai-compatible:fake-gpt".to_owned())
    );
    assert_eq!(outcome.final_response, answer.trim());
    assert_ne!(outcome.final_response, template.final_response);
    assert!(
        figures(&events, COST_QUESTION)
            .unsupported(&outcome.final_response)
            .is_empty()
    );

    // The draft was streamed as thinking, in chunks far fewer than the deltas, in order.
    let thinking = thinking_of(&events, Agent::Reporting);
    let start = thinking
        .iter()
        .position(|t| t.starts_with("Writing the answer with"))
        .unwrap();
    let end = thinking
        .iter()
        .position(|t| t.starts_with("Checked: every figure"))
        .unwrap();
    let chunks = &thinking[start + 1..end];
    assert!(!chunks.is_empty());
    assert!(
        chunks.len() * 4 < deltas(&answer).len(),
        "{} thinking events for {} deltas",
        chunks.len(),
        deltas(&answer).len()
    );
    assert_eq!(chunks.concat(), answer);

    let requests = server.requests();
    assert_eq!(requests.len(), 2, "one classification, one answer");
    assert_eq!(requests[0].body["stream"], true);
    let prompt = requests[1].body["messages"][1]["content"].as_str().unwrap();
    assert!(
        prompt.contains(COST_QUESTION) && prompt.contains("combined_monthly_usd"),
        "the model reads the digest"
    );
}

#[tokio::test]
async fn a_model_answer_with_an_invented_figure_falls_back_to_the_template() {
    let (template, reference) = run_rules(COST_QUESTION).await;
    let answer = format!(
        "{}\nAlso, switching vendors would save $98,765.43 per month.\n",
        honest_answer(&digest_of(&reference))
    );
    let server = TestServer::start(vec![
        Reply::Sse(openai_events(&["cost"])),
        openai_stream(&answer),
    ])
    .await;
    let supervisor = Supervisor::new(openai_model(&server, Duration::from_secs(30)));
    let (outcome, events) = run_with(&supervisor, input(COST_QUESTION)).await;

    check_shape(&events, "msg-42");
    assert_eq!(outcome.answered_by, AnswerSource::Template);
    assert_eq!(outcome.final_response, template.final_response);
    assert!(
        thinking_of(&events, Agent::Reporting)
            .iter()
            .any(|t| t.contains("in no tool result ($98,765.43)")),
        "a thinking event says why"
    );
}

#[tokio::test]
async fn a_failing_model_falls_back_to_rules_and_templates() {
    let (template, _) = run_rules(COST_QUESTION).await;
    let server = TestServer::start(vec![Reply::Status(
        500,
        Vec::new(),
        r#"{"error":{"message":"down"}}"#.into(),
    )])
    .await;
    let supervisor = Supervisor::new(openai_model(&server, Duration::from_secs(30)));
    let (outcome, events) = run_with(&supervisor, input(COST_QUESTION)).await;

    check_shape(&events, "msg-42");
    assert_eq!(
        outcome.intent,
        Intent::Cost,
        "triage fell back to the rules"
    );
    assert_eq!(outcome.answered_by, AnswerSource::Template);
    assert_eq!(outcome.final_response, template.final_response);
    assert!(
        thinking_of(&events, Agent::Triage)
            .iter()
            .any(|t| t.contains("HTTP 500") && t.contains("classified by rules"))
    );
    assert!(
        thinking_of(&events, Agent::Reporting)
            .iter()
            .any(|t| t.contains("HTTP 500") && t.contains("template"))
    );
    assert_eq!(server.requests().len(), 4, "two calls, each retried once");
}

#[tokio::test]
async fn a_hanging_model_times_out_and_falls_back() {
    let (template, _) = run_rules(COST_QUESTION).await;
    let server = TestServer::start(vec![Reply::Hang]).await;
    let supervisor = Supervisor::new(openai_model(&server, Duration::from_millis(300)));
    let (outcome, events) = run_with(&supervisor, input(COST_QUESTION)).await;

    assert_eq!(outcome.final_response, template.final_response);
    assert!(
        thinking_of(&events, Agent::Triage)
            .iter()
            .any(|t| t.contains("did not answer within"))
    );
    assert!(
        thinking_of(&events, Agent::Reporting)
            .iter()
            .any(|t| t.contains("did not answer within"))
    );
}

#[tokio::test]
async fn an_unparseable_label_falls_back_to_the_rules() {
    let server = TestServer::start(vec![
        Reply::Sse(anthropic_events(&["I think ", "it is about money"])),
        Reply::Sse(anthropic_events(&["Hello from the model."])),
    ])
    .await;
    let supervisor = Supervisor::new(anthropic_model(&server));
    let (outcome, events) = run_with(&supervisor, input("hi there")).await;
    assert_eq!(outcome.intent, Intent::Help, "the rules read a greeting");
    assert!(
        thinking_of(&events, Agent::Triage)
            .iter()
            .any(|t| t.contains("not one label"))
    );
    assert!(
        outcome.final_response.contains("Try asking"),
        "help is a fixed answer: the model is not asked to write it"
    );
    assert_eq!(server.requests().len(), 1);
    assert_eq!(server.requests()[0].header("x-api-key"), Some("sk-ant"));
}

#[tokio::test]
async fn the_model_label_wins_over_the_rules() {
    // The rules would call this a cost question; the model says data question.
    let server = TestServer::start(vec![
        Reply::Sse(anthropic_events(&["data_question"])),
        Reply::Hang,
    ])
    .await;
    let mut config = AnthropicConfig::new(SecretString::from("k".to_owned()), "fake-claude");
    config.base_url = server.url();
    config.http = fast_http(Duration::from_millis(300));
    let supervisor = Supervisor::new(Arc::new(Anthropic::new(config).unwrap()));
    let (outcome, events) = run_with(&supervisor, input("our spend, cost and bill")).await;
    assert_eq!(outcome.intent, Intent::DataQuestion);
    assert!(tools_called(&events, Agent::Optimisation).is_empty());
}

#[tokio::test]
async fn a_cancel_while_the_model_writes_stops_at_once() {
    let server = TestServer::start(vec![Reply::Sse(openai_events(&["cost"])), Reply::Hang]).await;
    // The timeout is far longer than the deadlock guard: only the cancel can end this run in time.
    let supervisor = Supervisor::new(openai_model(&server, Duration::from_secs(3600)));
    let (result, events) = cancelled_run(&supervisor, input(COST_QUESTION), |_, e| {
        matches!(e, AgentEvent::AgentThinking { agent: Agent::Reporting, text } if text.starts_with("Writing the answer with"))
    })
    .await;
    assert!(matches!(result, Err(AgentError::Cancelled)), "{result:?}");
    assert!(matches!(
        events.last(),
        Some(AgentEvent::AgentThinking {
            agent: Agent::Reporting,
            ..
        })
    ));
}
