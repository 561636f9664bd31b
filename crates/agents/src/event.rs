//! The events a run emits, and the sink they go to.
//!
//! [`AgentEvent`] has exactly the five event types of the WebSocket protocol,
//! each with exactly the spec's payload. Serialised with serde it is
//! `{"type": "agent_started", "payload": {...}}`; [`AgentEvent::event_type`]
//! and [`AgentEvent::payload`] give the two halves separately, for a caller
//! that wraps them with its own `run_id`, `seq` and `ts`.
//!
//! The backend implements [`EventSink`] by persisting each event with its
//! sequence number before fanning it out; a sink error aborts the run.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::Mutex;

/// Which agent an event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Agent {
    Supervisor,
    Triage,
    Data,
    Optimisation,
    Reporting,
}

impl Agent {
    /// The name used on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Agent::Supervisor => "supervisor",
            Agent::Triage => "triage",
            Agent::Data => "data",
            Agent::Optimisation => "optimisation",
            Agent::Reporting => "reporting",
        }
    }
}

impl std::fmt::Display for Agent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How an agent finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentStatus {
    /// Did its work.
    Completed,
    /// Could not do its work (e.g. no dataset); the run carries on and says so.
    Failed,
}

/// One event of a run. See the module docs for the serialised form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "payload", rename_all = "snake_case")]
pub enum AgentEvent {
    AgentStarted {
        agent: Agent,
        task: String,
    },
    AgentThinking {
        agent: Agent,
        text: String,
    },
    ToolExecuting {
        agent: Agent,
        tool: String,
        call_id: String,
        args: Value,
    },
    ToolCompleted {
        agent: Agent,
        tool: String,
        call_id: String,
        ok: bool,
        duration_ms: u64,
        summary: String,
        result: Value,
    },
    /// `message_id` and `final_response` are set on the supervisor's event only.
    AgentCompleted {
        agent: Agent,
        status: AgentStatus,
        summary: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message_id: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        final_response: Option<String>,
    },
}

impl AgentEvent {
    /// The protocol's `type`: `agent_started`, `agent_thinking`, `tool_executing`,
    /// `tool_completed` or `agent_completed`.
    pub fn event_type(&self) -> &'static str {
        match self {
            AgentEvent::AgentStarted { .. } => "agent_started",
            AgentEvent::AgentThinking { .. } => "agent_thinking",
            AgentEvent::ToolExecuting { .. } => "tool_executing",
            AgentEvent::ToolCompleted { .. } => "tool_completed",
            AgentEvent::AgentCompleted { .. } => "agent_completed",
        }
    }

    /// The protocol's `payload` object, exactly as in the spec.
    pub fn payload(&self) -> Value {
        match serde_json::to_value(self) {
            Ok(Value::Object(mut map)) => map.remove("payload").unwrap_or(Value::Null),
            // Serialising plain strings, numbers and `Value`s cannot fail.
            _ => Value::Null,
        }
    }

    /// The agent the event is about.
    pub fn agent(&self) -> Agent {
        match self {
            AgentEvent::AgentStarted { agent, .. }
            | AgentEvent::AgentThinking { agent, .. }
            | AgentEvent::ToolExecuting { agent, .. }
            | AgentEvent::ToolCompleted { agent, .. }
            | AgentEvent::AgentCompleted { agent, .. } => *agent,
        }
    }
}

/// Why a sink refused an event. Any error aborts the run.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// The consumer is gone (run deleted, channel closed).
    #[error("the event consumer is closed")]
    Closed,
    /// Persisting the event failed.
    #[error("storing the event failed: {0}")]
    Storage(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Where a run's events go, in order, one at a time.
#[async_trait]
pub trait EventSink: Send + Sync {
    async fn emit(&self, event: AgentEvent) -> Result<(), SinkError>;
}

/// A sink that keeps every event in memory (tests, `apex analyze`).
#[derive(Debug, Default)]
pub struct VecSink {
    events: Mutex<Vec<AgentEvent>>,
}

impl VecSink {
    pub fn new() -> Self {
        Self::default()
    }

    /// A copy of the events so far.
    pub fn events(&self) -> Vec<AgentEvent> {
        self.lock().clone()
    }

    /// Takes the events out, leaving the sink empty.
    pub fn take(&self) -> Vec<AgentEvent> {
        std::mem::take(&mut *self.lock())
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<AgentEvent>> {
        // A panic while holding the lock cannot leave a Vec half-pushed.
        self.events
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[async_trait]
impl EventSink for VecSink {
    async fn emit(&self, event: AgentEvent) -> Result<(), SinkError> {
        self.lock().push(event);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn serialises_as_type_and_payload() {
        let event = AgentEvent::ToolCompleted {
            agent: Agent::Optimisation,
            tool: "batch_api".into(),
            call_id: "call_3".into(),
            ok: true,
            duration_ms: 12,
            summary: "s".into(),
            result: json!({"x": 1}),
        };
        let v = serde_json::to_value(&event).unwrap();
        assert_eq!(
            v,
            json!({"type": "tool_completed", "payload": {
                "agent": "optimisation", "tool": "batch_api", "call_id": "call_3",
                "ok": true, "duration_ms": 12, "summary": "s", "result": {"x": 1}
            }})
        );
        assert_eq!(event.event_type(), "tool_completed");
        assert_eq!(event.payload(), v["payload"]);
        let back: AgentEvent = serde_json::from_value(v).unwrap();
        assert_eq!(back, event);
    }

    #[test]
    fn sub_agent_completion_has_no_supervisor_fields() {
        let event = AgentEvent::AgentCompleted {
            agent: Agent::Triage,
            status: AgentStatus::Completed,
            summary: "cost".into(),
            message_id: None,
            final_response: None,
        };
        assert_eq!(
            event.payload(),
            json!({"agent": "triage", "status": "completed", "summary": "cost"})
        );
        let sup = AgentEvent::AgentCompleted {
            agent: Agent::Supervisor,
            status: AgentStatus::Completed,
            summary: "done".into(),
            message_id: Some("m1".into()),
            final_response: Some("# Hi".into()),
        };
        assert_eq!(
            sup.payload(),
            json!({"agent": "supervisor", "status": "completed", "summary": "done",
                   "message_id": "m1", "final_response": "# Hi"})
        );
    }

    #[test]
    fn each_type_name_matches_serde() {
        let events = [
            AgentEvent::AgentStarted {
                agent: Agent::Data,
                task: "t".into(),
            },
            AgentEvent::AgentThinking {
                agent: Agent::Data,
                text: "t".into(),
            },
            AgentEvent::ToolExecuting {
                agent: Agent::Data,
                tool: "t".into(),
                call_id: "c".into(),
                args: json!({}),
            },
        ];
        for e in events {
            assert_eq!(serde_json::to_value(&e).unwrap()["type"], e.event_type());
            assert_eq!(e.agent(), Agent::Data);
        }
    }
}
