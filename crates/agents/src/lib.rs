//! The optimisation agents.
//!
//! A [`Supervisor`] runs four sub-agents in turn (triage, data, optimisation,
//! reporting), emitting the five protocol events into an [`EventSink`]. The
//! written answer comes from templates filled with computed numbers, or from
//! a [`LanguageModel`] whose every figure is checked against the tool results.
//!
//! No web framework here: the backend and `apex analyze` use this in-process.
//!
//! ```
//! use agents::{AgentEvent, RunInput, Supervisor, VecSink};
//! use std::sync::Arc;
//! use tokio_util::sync::CancellationToken;
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let supervisor = Supervisor::default(); // no language model: rules and templates
//! let input = RunInput {
//!     message: "How can we cut our AI costs by 30%?".into(),
//!     message_id: "msg-1".into(),
//!     dataset: Some(Arc::new(analytics::sample_dataset(42, 1, 0.2, None))),
//!     dataset_name: Some("sample".into()),
//!     catalogue: Arc::new(pricing::Catalogue::embedded()),
//!     rate_limits: None,
//! };
//! let sink = VecSink::new();
//! let outcome = supervisor.run(input, &sink, CancellationToken::new()).await?;
//! let events = sink.take();
//! assert_eq!(events[0].event_type(), "agent_started");
//! assert!(matches!(events.last(), Some(AgentEvent::AgentCompleted { final_response: Some(_), .. })));
//! println!("{}", outcome.final_response);
//! # Ok::<(), agents::AgentError>(())
//! # }).unwrap();
//! ```

pub mod answer;
pub mod digest;
pub mod event;
pub mod format;
pub mod llm;
pub mod supervisor;
pub mod triage;
pub mod verify;

pub use digest::Digest;
pub use event::{Agent, AgentEvent, AgentStatus, EventSink, SinkError, VecSink};
pub use llm::{
    Anthropic, AnthropicConfig, ChatMessage, ChatRequest, HttpOptions, LanguageModel, LlmError,
    NoModel, OpenAiCompatible, OpenAiConfig, Role,
};
pub use supervisor::{
    AgentError, AnswerSource, RunInput, RunOutcome, Supervisor, SupervisorOptions,
};
pub use triage::Intent;
pub use verify::FigureSet;
