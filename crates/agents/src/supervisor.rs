//! The supervisor: one run answers one message. It announces itself, runs
//! the sub-agents in turn (triage, data, optimisation, reporting; data and
//! optimisation only when the question needs data and a dataset is there),
//! and ends with its own `agent_completed` carrying the message id and the
//! final answer.
//!
//! Analyses are CPU-bound: each tool runs on the blocking pool with the
//! run's cancellation token as the analysis context's cancellation check, so
//! a cancel stops it inside its loops; the token is also checked before every
//! event and raced against every tool and model call, so [`Supervisor::run`]
//! returns [`AgentError::Cancelled`] at once.
//!
//! With a language model, triage and the written answer use it; any failure,
//! an unparseable label, or an answer with a figure the tool results do not
//! contain falls back to the rules and templates, and a thinking event says so.

use crate::answer;
use crate::digest::{Digest, QuestionDigest};
use crate::event::{Agent, AgentEvent, AgentStatus, EventSink, SinkError};
use crate::format::{pct, thousands, usd};
use crate::llm::{LanguageModel, LlmError, NoModel};
use crate::triage::{self, Intent};
use crate::verify::FigureSet;
use analytics::analyses::{CapacityOutput, SpendBreakdown};
use analytics::{
    AnalysisContext, AnalysisError, AnalysisSummary, RateLimits, Recommendation, Report,
    ToolOutput, Toolbox,
};
use pricing::Catalogue;
use serde_json::{Value, json};
use std::pin::pin;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use usage::Dataset;

/// What one run answers.
#[derive(Clone)]
pub struct RunInput {
    /// The user's message.
    pub message: String,
    /// The id the answer will be stored under (the caller creates it); sent
    /// in the supervisor's `agent_completed`.
    pub message_id: String,
    /// The dataset the question concerns, if one is selected.
    pub dataset: Option<Arc<Dataset>>,
    /// Its name, for the answer.
    pub dataset_name: Option<String>,
    pub catalogue: Arc<Catalogue>,
    /// Rate limits for capacity questions; `None` uses the documented assumed defaults.
    pub rate_limits: Option<RateLimits>,
}

impl std::fmt::Debug for RunInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the dataset's rows or the catalogue's prices: they can be huge.
        f.debug_struct("RunInput")
            .field("message", &self.message)
            .field("message_id", &self.message_id)
            .field("dataset_rows", &self.dataset.as_ref().map(|d| d.len()))
            .field("dataset_name", &self.dataset_name)
            .field("catalogue_date", &self.catalogue.snapshot_date())
            .field("rate_limits", &self.rate_limits)
            .finish()
    }
}

/// Who wrote the final answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnswerSource {
    /// The templates (no model, or the model's answer was rejected or failed).
    Template,
    /// The language model of that name; every figure was verified.
    Model(String),
}

/// What a finished run produced.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    /// The answer, Markdown (also in the last event).
    pub final_response: String,
    pub intent: Intent,
    pub answered_by: AnswerSource,
    /// The structured report, when analyses ran.
    pub report: Option<Report>,
}

/// Why a run stopped without an answer. Everything else (a failing tool or
/// model) is handled inside the run and said in its events and answer.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error("the run was cancelled")]
    Cancelled,
    #[error("the event sink refused an event")]
    Sink(#[from] SinkError),
}

/// Tunables of the supervisor.
#[derive(Debug, Clone, PartialEq)]
pub struct SupervisorOptions {
    /// A streamed answer is forwarded as thinking events at most this often
    /// (at sentence ends), not one event per token.
    pub thinking_interval: Duration,
    /// A thinking chunk is sent once this long even without a sentence end.
    pub max_thinking_chars: usize,
}

impl Default for SupervisorOptions {
    fn default() -> Self {
        SupervisorOptions {
            thinking_interval: Duration::from_millis(200),
            max_thinking_chars: 600,
        }
    }
}

/// The tools the optimisation agent runs for each kind of question.
pub fn tools_for(intent: Intent) -> &'static [&'static str] {
    match intent {
        Intent::Cost => &[
            "model_substitution",
            "prompt_caching",
            "response_caching",
            "batch_api",
            "oversized_requests",
            "retry_waste",
        ],
        Intent::Latency => &[
            "model_substitution",
            "prompt_caching",
            "response_caching",
            "oversized_requests",
            "retry_waste",
        ],
        Intent::ModelChoice => &["model_substitution"],
        Intent::Capacity => &["capacity"],
        Intent::DataQuestion | Intent::Help | Intent::OutOfScope => &[],
    }
}

/// The name of the reporting agent's digest tool.
pub const DIGEST_TOOL: &str = "summarise_findings";
/// The data agent's tool.
const BREAKDOWN_TOOL: &str = "spend_breakdown";

/// Runs the agents. Cheap to share: one per process is enough.
pub struct Supervisor {
    model: Arc<dyn LanguageModel>,
    toolbox: Toolbox,
    options: SupervisorOptions,
}

impl std::fmt::Debug for Supervisor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Supervisor")
            .field("model", &self.model.name())
            .field("options", &self.options)
            .finish()
    }
}

impl Default for Supervisor {
    fn default() -> Self {
        Supervisor::new(Arc::new(NoModel))
    }
}

impl Supervisor {
    pub fn new(model: Arc<dyn LanguageModel>) -> Self {
        Supervisor {
            model,
            toolbox: Toolbox::new(),
            options: SupervisorOptions::default(),
        }
    }

    pub fn with_options(mut self, options: SupervisorOptions) -> Self {
        self.options = options;
        self
    }

    /// The configured model (`NoModel` when none).
    pub fn model(&self) -> &dyn LanguageModel {
        self.model.as_ref()
    }

    /// Answers one message, emitting every event into `sink` in order.
    pub async fn run(
        &self,
        input: RunInput,
        sink: &dyn EventSink,
        cancel: CancellationToken,
    ) -> Result<RunOutcome, AgentError> {
        let mut run = Run {
            sink,
            cancel: &cancel,
            next_call: 1,
        };
        run.event(AgentEvent::AgentStarted {
            agent: Agent::Supervisor,
            task: format!("Answer: {}", clip(&input.message, 300)),
        })
        .await?;

        let question = self.triage(&mut run, &input).await?;
        let dataset_name = input.dataset_name.as_deref();
        let mut report = None;
        let mut capacity = None;
        let mut data_error = None;
        if question.intent.needs_data() {
            match &input.dataset {
                Some(dataset) => {
                    let ctx = Arc::new(self.context(dataset, &input, &cancel));
                    match self.data(&mut run, &ctx, dataset_name).await? {
                        Ok(breakdown) => {
                            let found = self.optimise(&mut run, &ctx, &question).await?;
                            capacity = found.capacity;
                            report = Some(assemble_report(
                                breakdown,
                                found.recommendations,
                                found.analyses,
                            ));
                        }
                        Err(reason) => data_error = Some(reason),
                    }
                }
                None => {
                    run.started(Agent::Data, "Load and summarise the dataset")
                        .await?;
                    run.thinking(
                        Agent::Data,
                        "No dataset is attached to this question, so there is nothing to analyse.",
                    )
                    .await?;
                    run.completed(Agent::Data, AgentStatus::Failed, "no dataset attached")
                        .await?;
                }
            }
        }

        let written = self
            .report(
                &mut run,
                &input,
                &question,
                report.as_ref(),
                capacity.as_ref(),
                data_error.as_deref(),
            )
            .await?;
        let summary = match (&written.digest, question.intent) {
            (Some(d), Intent::Cost) => match &d.savings {
                Some(s) => format!(
                    "Answered {}: {} recommendation(s), an estimated {} per month ({} of spend)",
                    question.intent.describe(),
                    s.recommendations_with_savings,
                    usd(s.combined_monthly_usd),
                    pct(s.combined_pct_of_spend)
                ),
                None => format!("Answered {}: no saving found", question.intent.describe()),
            },
            _ => format!("Answered {}", question.intent.describe()),
        };
        run.event(AgentEvent::AgentCompleted {
            agent: Agent::Supervisor,
            status: AgentStatus::Completed,
            summary,
            message_id: Some(input.message_id.clone()),
            final_response: Some(written.text.clone()),
        })
        .await?;
        Ok(RunOutcome {
            final_response: written.text,
            intent: question.intent,
            answered_by: written.source,
            report,
        })
    }

    fn context(
        &self,
        dataset: &Arc<Dataset>,
        input: &RunInput,
        cancel: &CancellationToken,
    ) -> AnalysisContext {
        let token = cancel.clone();
        let ctx = AnalysisContext::new(Arc::clone(dataset), Arc::clone(&input.catalogue))
            .with_cancel(move || token.is_cancelled());
        match &input.rate_limits {
            Some(limits) => ctx.with_rate_limits(limits.clone()),
            None => ctx,
        }
    }

    async fn triage(
        &self,
        run: &mut Run<'_>,
        input: &RunInput,
    ) -> Result<QuestionDigest, AgentError> {
        run.started(
            Agent::Triage,
            "Work out what is asked and which dataset it concerns",
        )
        .await?;
        let rules = triage::classify_by_rules(&input.message);
        let intent = if self.model.is_available() {
            let request = triage::classification_request(&input.message);
            let answer = run
                .cancellable(self.model.complete(request, &mut |_: &str| {}))
                .await?;
            match answer.map(|a| (triage::parse_label(&a), a)) {
                Ok((Some(intent), _)) => {
                    run.thinking(
                        Agent::Triage,
                        format!(
                            "{} classified the question as {}.",
                            self.model.name(),
                            intent.describe()
                        ),
                    )
                    .await?;
                    intent
                }
                Ok((None, raw)) => {
                    let text = format!(
                        "{} answered {:?}, which is not one label; classified by rules instead: {}.",
                        self.model.name(),
                        clip(raw.trim(), 80),
                        rules.describe()
                    );
                    run.thinking(Agent::Triage, text).await?;
                    rules
                }
                Err(e) => {
                    let text = format!(
                        "The language model failed ({}); classified by rules instead: {}.",
                        llm_error(&e),
                        rules.describe()
                    );
                    run.thinking(Agent::Triage, text).await?;
                    rules
                }
            }
        } else {
            run.thinking(
                Agent::Triage,
                format!("Classified by rules as {}.", rules.describe()),
            )
            .await?;
            rules
        };
        let target = if intent == Intent::Cost {
            triage::target_savings_pct(&input.message)
        } else {
            None
        };
        let growth = if intent == Intent::Capacity {
            triage::growth_factor(&input.message)
        } else {
            None
        };
        if let Some(t) = target {
            run.thinking(
                Agent::Triage,
                format!("Savings target: {} of spend.", pct(t)),
            )
            .await?;
        }
        if let Some(g) = growth {
            run.thinking(Agent::Triage, format!("Traffic growth asked about: {g}x."))
                .await?;
        }
        let dataset = match (&input.dataset, input.dataset_name.as_deref()) {
            (Some(ds), name) => format!(
                "Dataset: {}, {} records.",
                name.unwrap_or("the selected dataset"),
                thousands(ds.len() as u64)
            ),
            (None, _) if intent.needs_data() => {
                "No dataset is selected: the answer will say how to add one.".to_owned()
            }
            (None, _) => "No dataset needed for this.".to_owned(),
        };
        run.thinking(Agent::Triage, dataset).await?;
        run.completed(Agent::Triage, AgentStatus::Completed, intent.as_str())
            .await?;
        Ok(QuestionDigest {
            intent,
            target_savings_pct: target,
            growth,
        })
    }

    /// The data agent; `Ok(Err(reason))` when the dataset cannot be analysed.
    async fn data(
        &self,
        run: &mut Run<'_>,
        ctx: &Arc<AnalysisContext>,
        name: Option<&str>,
    ) -> Result<Result<SpendBreakdown, String>, AgentError> {
        run.started(Agent::Data, "Load and summarise the dataset")
            .await?;
        let records = ctx.dataset().len() as u64;
        run.thinking(
            Agent::Data,
            format!(
                "Reading {} ({} records): pricing every call.",
                name.unwrap_or("the dataset"),
                thousands(records)
            ),
        )
        .await?;
        let args = json!({"top_n": 10, "include_days": true});
        let breakdown = match self
            .tool(run, Agent::Data, ctx, BREAKDOWN_TOOL, args)
            .await?
        {
            Ok(out) => serde_json::from_value::<SpendBreakdown>(out.result)
                .map_err(|e| format!("its summary could not be read ({e})")),
            Err(reason) => Err(reason),
        };
        match breakdown {
            Ok(b) => {
                let t = &b.totals;
                let text = format!(
                    "{} calls, {} per month; {} model(s), {} feature(s); error rate {}.",
                    thousands(t.calls),
                    usd(t.monthly_usd),
                    b.by_model.len(),
                    b.by_feature.len(),
                    pct(t.error_rate * 100.0)
                );
                run.thinking(Agent::Data, text).await?;
                run.completed(
                    Agent::Data,
                    AgentStatus::Completed,
                    format!(
                        "{} per month over {} calls",
                        usd(t.monthly_usd),
                        thousands(t.calls)
                    ),
                )
                .await?;
                Ok(Ok(b))
            }
            Err(reason) => {
                run.completed(Agent::Data, AgentStatus::Failed, reason.clone())
                    .await?;
                Ok(Err(reason))
            }
        }
    }

    async fn optimise(
        &self,
        run: &mut Run<'_>,
        ctx: &Arc<AnalysisContext>,
        question: &QuestionDigest,
    ) -> Result<Findings, AgentError> {
        run.started(
            Agent::Optimisation,
            format!("Run the analyses for {}", question.intent.describe()),
        )
        .await?;
        let tools = tools_for(question.intent);
        let mut found = Findings::default();
        if tools.is_empty() {
            run.thinking(
                Agent::Optimisation,
                "The spend breakdown answers this; no optimisation analysis is needed.",
            )
            .await?;
            run.completed(
                Agent::Optimisation,
                AgentStatus::Completed,
                "no analysis needed",
            )
            .await?;
            return Ok(found);
        }
        run.thinking(
            Agent::Optimisation,
            format!("Running {} analyses: {}.", tools.len(), tools.join(", ")),
        )
        .await?;
        for &tool in tools {
            let args = match (tool, question.growth) {
                ("capacity", Some(g)) => json!({"growth": g}),
                _ => json!({}),
            };
            match self.tool(run, Agent::Optimisation, ctx, tool, args).await? {
                Ok(out) => {
                    found.analyses.push(AnalysisSummary {
                        tool: tool.to_owned(),
                        summary: out.summary.clone(),
                    });
                    if tool == "capacity" {
                        found.capacity = serde_json::from_value::<CapacityOutput>(out.result).ok();
                    }
                    found.recommendations.extend(out.recommendation);
                }
                Err(reason) => found.analyses.push(AnalysisSummary {
                    tool: tool.to_owned(),
                    summary: format!("failed: {reason}"),
                }),
            }
        }
        found
            .recommendations
            .sort_by(|a, b| b.monthly_savings_usd.total_cmp(&a.monthly_savings_usd));
        let with_savings = found
            .recommendations
            .iter()
            .filter(|r| r.monthly_savings_usd > 0.0)
            .count();
        let summary = format!(
            "{} recommendation(s), {} with a saving",
            found.recommendations.len(),
            with_savings
        );
        run.thinking(Agent::Optimisation, format!("Found {summary}."))
            .await?;
        run.completed(Agent::Optimisation, AgentStatus::Completed, summary)
            .await?;
        Ok(found)
    }

    /// Runs one tool with its two events. `Ok(Err(reason))` when the tool failed.
    async fn tool(
        &self,
        run: &mut Run<'_>,
        agent: Agent,
        ctx: &Arc<AnalysisContext>,
        name: &'static str,
        args: Value,
    ) -> Result<Result<ToolOutput, String>, AgentError> {
        let call_id = run.call_id();
        run.event(AgentEvent::ToolExecuting {
            agent,
            tool: name.to_owned(),
            call_id: call_id.clone(),
            args: args.clone(),
        })
        .await?;
        let started = Instant::now();
        let toolbox = self.toolbox;
        let task_ctx = Arc::clone(ctx);
        let task = tokio::task::spawn_blocking(move || toolbox.call(name, args, &task_ctx));
        let joined = run.cancellable(task).await?;
        let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let outcome = match joined {
            Ok(Ok(out)) => Ok(out),
            Ok(Err(AnalysisError::Cancelled)) => return Err(AgentError::Cancelled),
            Ok(Err(e)) => Err(e.to_string()),
            Err(join) => {
                tracing::error!(tool = name, error = %join, "analysis task failed");
                Err("the analysis failed unexpectedly".to_owned())
            }
        };
        let event = match &outcome {
            Ok(out) => AgentEvent::ToolCompleted {
                agent,
                tool: name.to_owned(),
                call_id,
                ok: true,
                duration_ms,
                summary: out.summary.clone(),
                result: out.result.clone(),
            },
            Err(reason) => AgentEvent::ToolCompleted {
                agent,
                tool: name.to_owned(),
                call_id,
                ok: false,
                duration_ms,
                summary: reason.clone(),
                result: json!({"error": reason}),
            },
        };
        run.event(event).await?;
        Ok(outcome)
    }

    async fn report(
        &self,
        run: &mut Run<'_>,
        input: &RunInput,
        question: &QuestionDigest,
        report: Option<&Report>,
        capacity: Option<&CapacityOutput>,
        data_error: Option<&str>,
    ) -> Result<Written, AgentError> {
        run.started(Agent::Reporting, "Write the answer").await?;
        let name = input.dataset_name.as_deref();
        let fixed = |text: String| Written {
            text,
            source: AnswerSource::Template,
            digest: None,
        };
        let report = match (question.intent, report, data_error) {
            (Intent::Help, ..) => return self.fixed(run, fixed(answer::help_answer(name))).await,
            (Intent::OutOfScope, ..) => {
                return self
                    .fixed(run, fixed(answer::out_of_scope_answer(name)))
                    .await;
            }
            (_, _, Some(reason)) => {
                return self
                    .fixed(run, fixed(answer::data_failed_answer(name, reason)))
                    .await;
            }
            (intent, None, None) => {
                return self.fixed(run, fixed(answer::no_data_answer(intent))).await;
            }
            (_, Some(report), None) => report,
        };

        let digest = Digest::build(question.clone(), &input.message, name, report, capacity);
        let digest_json = digest.to_json();
        let call_id = run.call_id();
        let args =
            json!({"intent": question.intent, "target_savings_pct": question.target_savings_pct});
        run.event(AgentEvent::ToolExecuting {
            agent: Agent::Reporting,
            tool: DIGEST_TOOL.to_owned(),
            call_id: call_id.clone(),
            args,
        })
        .await?;
        run.event(AgentEvent::ToolCompleted {
            agent: Agent::Reporting,
            tool: DIGEST_TOOL.to_owned(),
            call_id,
            ok: true,
            duration_ms: 0,
            summary: format!(
                "{} recommendation(s) over {} per month of spend",
                digest.recommendations.len(),
                usd(digest.spend.monthly_usd)
            ),
            result: digest_json.clone(),
        })
        .await?;
        let template = answer::template_answer(&digest);

        if !self.model.is_available() {
            run.thinking(
                Agent::Reporting,
                "Writing the answer from templates filled with the computed figures.",
            )
            .await?;
            run.completed(
                Agent::Reporting,
                AgentStatus::Completed,
                "answer written from templates",
            )
            .await?;
            return Ok(Written {
                text: template,
                source: AnswerSource::Template,
                digest: Some(digest),
            });
        }

        run.thinking(
            Agent::Reporting,
            format!("Writing the answer with {}.", self.model.name()),
        )
        .await?;
        let request = answer::model_request(&input.message, &digest_json);
        let (text, source, summary) = match self.stream_answer(run, request).await? {
            Ok(draft) if !draft.trim().is_empty() => {
                let mut figures = FigureSet::new();
                figures.add_json(&digest_json);
                figures.add_text(&input.message);
                let unsupported = figures.unsupported(&draft);
                if unsupported.is_empty() {
                    run.thinking(
                        Agent::Reporting,
                        "Checked: every figure in the answer comes from the tool results.",
                    )
                    .await?;
                    (
                        draft.trim().to_owned(),
                        AnswerSource::Model(self.model.name().to_owned()),
                        "answer written by the model",
                    )
                } else {
                    let listed = unsupported
                        .iter()
                        .take(5)
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ");
                    let text = format!(
                        "The model's answer has figures that are in no tool result ({listed}); answering from the template instead."
                    );
                    run.thinking(Agent::Reporting, text).await?;
                    (
                        template,
                        AnswerSource::Template,
                        "model answer rejected; answer written from templates",
                    )
                }
            }
            Ok(_) => {
                run.thinking(
                    Agent::Reporting,
                    "The model's answer was empty; answering from the template instead.",
                )
                .await?;
                (
                    template,
                    AnswerSource::Template,
                    "answer written from templates",
                )
            }
            Err(e) => {
                let text = format!(
                    "The language model failed ({}); answering from the template instead.",
                    llm_error(&e)
                );
                run.thinking(Agent::Reporting, text).await?;
                (
                    template,
                    AnswerSource::Template,
                    "model failed; answer written from templates",
                )
            }
        };
        run.completed(Agent::Reporting, AgentStatus::Completed, summary)
            .await?;
        Ok(Written {
            text,
            source,
            digest: Some(digest),
        })
    }

    /// Ends the reporting agent with an answer that needs no figures.
    async fn fixed(&self, run: &mut Run<'_>, written: Written) -> Result<Written, AgentError> {
        run.thinking(
            Agent::Reporting,
            "Nothing to analyse for this: answering with what Apex can do and how to start.",
        )
        .await?;
        run.completed(
            Agent::Reporting,
            AgentStatus::Completed,
            "answered without analyses",
        )
        .await?;
        Ok(written)
    }

    /// Streams the model's answer into thinking events, a sentence or more at
    /// a time and at most once per `thinking_interval`.
    async fn stream_answer(
        &self,
        run: &mut Run<'_>,
        request: crate::llm::ChatRequest,
    ) -> Result<Result<String, LlmError>, AgentError> {
        let (tx, mut rx) = mpsc::unbounded_channel::<String>();
        let model = Arc::clone(&self.model);
        let completion = async move {
            let mut forward = |delta: &str| {
                let _ = tx.send(delta.to_owned());
            };
            model.complete(request, &mut forward).await
        };
        let mut completion = pin!(completion);
        let mut result = None;
        let mut buffer = String::new();
        let mut last_sent = Instant::now();
        let cancel = run.cancel;
        loop {
            tokio::select! {
                biased;
                () = cancel.cancelled() => return Err(AgentError::Cancelled),
                r = &mut completion, if result.is_none() => result = Some(r),
                delta = rx.recv() => match delta {
                    Some(delta) => {
                        buffer.push_str(&delta);
                        if let Some(cut) = self.flush_point(&buffer, last_sent.elapsed()) {
                            let rest = buffer.split_off(cut);
                            let chunk = std::mem::replace(&mut buffer, rest);
                            run.thinking(Agent::Reporting, chunk).await?;
                            last_sent = Instant::now();
                        }
                    }
                    // The sender is gone: the completion has finished and every delta is in.
                    None => break,
                },
            }
        }
        if !buffer.trim().is_empty() {
            run.thinking(Agent::Reporting, buffer).await?;
        }
        Ok(result.unwrap_or(Err(LlmError::IncompleteStream)))
    }

    /// Where to cut the buffer for a thinking event, if it is time to send one.
    fn flush_point(&self, buffer: &str, since_last: Duration) -> Option<usize> {
        if buffer.len() >= self.options.max_thinking_chars {
            return Some(buffer.len());
        }
        if since_last < self.options.thinking_interval {
            return None;
        }
        // After the last sentence end or line break.
        let bytes = buffer.as_bytes();
        (1..bytes.len()).rev().find(|&i| {
            bytes[i - 1] == b'\n'
                || (matches!(bytes[i - 1], b'.' | b'!' | b'?' | b':')
                    && bytes[i].is_ascii_whitespace())
        })
    }
}

/// What the optimisation agent found.
#[derive(Default)]
struct Findings {
    recommendations: Vec<Recommendation>,
    analyses: Vec<AnalysisSummary>,
    capacity: Option<CapacityOutput>,
}

struct Written {
    text: String,
    source: AnswerSource,
    digest: Option<Digest>,
}

/// The report of the analyses that ran, with the caveats of
/// [`analytics::full_analysis`].
fn assemble_report(
    breakdown: SpendBreakdown,
    mut recommendations: Vec<Recommendation>,
    tool_summaries: Vec<AnalysisSummary>,
) -> Report {
    recommendations.sort_by(|a, b| b.monthly_savings_usd.total_cmp(&a.monthly_savings_usd));
    let mut analyses = vec![AnalysisSummary {
        tool: BREAKDOWN_TOOL.to_owned(),
        summary: breakdown.summary(),
    }];
    analyses.extend(tool_summaries);
    let span = breakdown.span.clone();
    let mut notes = vec![format!("Amounts: {}.", span.basis)];
    if recommendations
        .iter()
        .filter(|r| r.monthly_savings_usd > 0.0)
        .count()
        > 1
    {
        notes.push("Savings overlap (batching, substituting and caching can concern the same calls): do not add them up.".to_owned());
    }
    if !breakdown.unpriced.is_empty() {
        notes.push(format!(
            "{} calls of {} model(s) are unpriced: the catalogue does not price them, so they are in no dollar figure.",
            thousands(breakdown.totals.unpriced_calls),
            breakdown.unpriced.len()
        ));
    }
    if span.low_confidence {
        notes.push("Less than a day of data: the monthly figures are low confidence.".to_owned());
    }
    Report {
        monthly_factor: span.monthly_factor,
        span,
        catalogue_date: breakdown.catalogue_date.clone(),
        unpriced: breakdown.unpriced.clone(),
        breakdown,
        recommendations,
        analyses,
        notes,
    }
}

/// One run's emitting state.
struct Run<'a> {
    sink: &'a dyn EventSink,
    cancel: &'a CancellationToken,
    next_call: u32,
}

impl Run<'_> {
    async fn event(&mut self, event: AgentEvent) -> Result<(), AgentError> {
        if self.cancel.is_cancelled() {
            return Err(AgentError::Cancelled);
        }
        self.sink.emit(event).await?;
        Ok(())
    }

    async fn started(&mut self, agent: Agent, task: impl Into<String>) -> Result<(), AgentError> {
        self.event(AgentEvent::AgentStarted {
            agent,
            task: task.into(),
        })
        .await
    }

    async fn thinking(&mut self, agent: Agent, text: impl Into<String>) -> Result<(), AgentError> {
        self.event(AgentEvent::AgentThinking {
            agent,
            text: text.into(),
        })
        .await
    }

    async fn completed(
        &mut self,
        agent: Agent,
        status: AgentStatus,
        summary: impl Into<String>,
    ) -> Result<(), AgentError> {
        self.event(AgentEvent::AgentCompleted {
            agent,
            status,
            summary: summary.into(),
            message_id: None,
            final_response: None,
        })
        .await
    }

    fn call_id(&mut self) -> String {
        let id = format!("call_{}", self.next_call);
        self.next_call += 1;
        id
    }

    /// Awaits `fut` unless the run is cancelled first.
    async fn cancellable<F: std::future::Future>(&self, fut: F) -> Result<F::Output, AgentError> {
        tokio::select! {
            biased;
            () = self.cancel.cancelled() => Err(AgentError::Cancelled),
            out = fut => Ok(out),
        }
    }
}

fn llm_error(e: &LlmError) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    clip(&text, 200)
}

fn clip(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}
