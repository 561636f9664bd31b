//! Runs: the agents execute in-process, emitting into a [`PersistingSink`]
//! that writes each event with its `seq` before publishing it on the
//! [`EventBus`]. The supervisor's final `agent_completed` is written in the
//! same transaction as the assistant message, the structured report and the
//! run's terminal status, so an answer is never half-written and a completed
//! run always has its report. Runs found `running` at start-up were
//! interrupted: they are marked `run_failed` with a reason.

use crate::bus::EventBus;
use crate::datasets::DatasetCache;
use crate::protocol::RunEventFrame;
use crate::store::{
    BackendStore, MessageRecord, MessageRole, RunEventRecord, RunRecord, RunStatus, StoreError,
};
use agents::{Agent, AgentError, AgentEvent, EventSink, RunInput, SinkError, Supervisor};
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// Milliseconds since the epoch.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Turns a stored event into the frame clients receive.
pub fn frame(thread_id: Uuid, e: &RunEventRecord) -> RunEventFrame {
    RunEventFrame {
        event_type: e.event_type.clone(),
        run_id: e.run_id,
        thread_id,
        seq: e.seq,
        ts: chrono::DateTime::from_timestamp_millis(e.ts)
            .unwrap_or_default()
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        payload: e.payload.clone(),
    }
}

/// Starts, tracks and stops runs.
pub struct RunManager {
    store: Arc<dyn BackendStore>,
    bus: Arc<dyn EventBus>,
    supervisor: Arc<Supervisor>,
    catalogue: Arc<pricing::Catalogue>,
    datasets: Arc<DatasetCache>,
    active: Mutex<HashMap<Uuid, CancellationToken>>,
    shutdown: CancellationToken,
    /// Pause after each event (configuration; zero unless pacing for tests).
    event_delay: Duration,
}

impl RunManager {
    pub fn new(
        store: Arc<dyn BackendStore>,
        bus: Arc<dyn EventBus>,
        supervisor: Arc<Supervisor>,
        catalogue: Arc<pricing::Catalogue>,
        datasets: Arc<DatasetCache>,
        shutdown: CancellationToken,
        event_delay: Duration,
    ) -> Self {
        RunManager {
            store,
            bus,
            supervisor,
            catalogue,
            datasets,
            active: Mutex::new(HashMap::new()),
            shutdown,
            event_delay,
        }
    }

    /// Marks runs left `running` by a previous process as failed (with a terminal event).
    pub async fn recover_interrupted(&self) -> Result<usize, StoreError> {
        let runs = self.store.all_running_runs().await?;
        for run in &runs {
            let payload = serde_json::json!({ "reason": "interrupted: the backend restarted during the run; send the message again" });
            match self
                .store
                .finish_run(
                    run.id,
                    RunStatus::Failed,
                    Some("interrupted"),
                    None,
                    None,
                    Some(("run_failed", &payload)),
                    now_ms(),
                )
                .await
            {
                Ok(_) | Err(StoreError::Conflict(_)) => {}
                Err(e) => return Err(e),
            }
        }
        if !runs.is_empty() {
            tracing::warn!(count = runs.len(), "interrupted runs marked failed");
        }
        Ok(runs.len())
    }

    /// Starts executing an accepted run in the background.
    pub fn start(self: &Arc<Self>, run: RunRecord, content: String) {
        let cancel = self.shutdown.child_token();
        self.active
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(run.id, cancel.clone());
        let this = self.clone();
        tokio::spawn(async move {
            let run_id = run.id;
            this.execute(run, content, cancel).await;
            this.active
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&run_id);
        });
    }

    /// Requests a stop; true if the run was active here.
    pub fn cancel(&self, run_id: Uuid) -> bool {
        match self
            .active
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&run_id)
        {
            Some(t) => {
                t.cancel();
                true
            }
            None => false,
        }
    }

    #[tracing::instrument(skip_all, fields(run = %run.id))]
    async fn execute(&self, run: RunRecord, content: String, cancel: CancellationToken) {
        let answer_id = Uuid::now_v7();
        let sink = PersistingSink {
            store: self.store.clone(),
            bus: self.bus.clone(),
            run: run.clone(),
            answer_id,
            delay: self.event_delay,
            cancel: cancel.clone(),
            answer: Mutex::new(None),
        };
        let dataset = match run.dataset_id {
            Some(id) => match self.datasets.load(run.user_id, id).await {
                Ok(d) => d,
                Err(e) => {
                    tracing::warn!(error = %e, "dataset could not be loaded");
                    None
                }
            },
            None => None,
        };
        let input = RunInput {
            message: content,
            message_id: answer_id.to_string(),
            dataset: dataset.as_ref().map(|d| d.data.clone()),
            dataset_name: dataset.as_ref().map(|d| d.name.clone()),
            catalogue: self.catalogue.clone(),
            rate_limits: None,
        };
        let result = self.supervisor.run(input, &sink, cancel.clone()).await;
        let (status, event, reason) = match result {
            Ok(outcome) => {
                let report = outcome.report.and_then(|r| {
                    serde_json::to_value(&r)
                        .inspect_err(|e| tracing::error!(error = %e, "report did not serialise"))
                        .ok()
                });
                match sink.take_answer() {
                    Some(answer) => match sink.finish(answer, report.as_ref()).await {
                        Ok(()) => return,
                        Err(e) => {
                            tracing::error!(error = %e, "could not store the answer");
                            (
                                RunStatus::Failed,
                                "run_failed",
                                "internal error while recording the run",
                            )
                        }
                    },
                    None => (
                        RunStatus::Failed,
                        "run_failed",
                        "the agents ended without an answer",
                    ),
                }
            }
            Err(AgentError::Cancelled) if self.shutdown.is_cancelled() => (
                RunStatus::Failed,
                "run_failed",
                "interrupted: the backend is shutting down",
            ),
            Err(AgentError::Cancelled) => {
                (RunStatus::Cancelled, "run_cancelled", "stopped by the user")
            }
            Err(AgentError::Sink(e)) => {
                tracing::error!(error = %e, "run aborted: events could not be stored");
                (
                    RunStatus::Failed,
                    "run_failed",
                    "internal error while recording the run",
                )
            }
        };
        let payload = serde_json::json!({ "reason": reason });
        match self
            .store
            .finish_run(
                run.id,
                status,
                Some(reason),
                None,
                None,
                Some((event, &payload)),
                now_ms(),
            )
            .await
        {
            Ok(Some(e)) => self
                .bus
                .publish(run.user_id, Arc::new(frame(run.thread_id, &e))),
            Ok(None) => {}
            Err(StoreError::Conflict(_)) => {}
            Err(e) => tracing::error!(error = %e, "could not finish the run"),
        }
    }
}

/// Persists each event (gap-free `seq`) and then publishes it.
struct PersistingSink {
    store: Arc<dyn BackendStore>,
    bus: Arc<dyn EventBus>,
    run: RunRecord,
    answer_id: Uuid,
    delay: Duration,
    cancel: CancellationToken,
    /// The supervisor's final `agent_completed` (its payload and the answer),
    /// held until the run returns its report: [`PersistingSink::finish`] then
    /// writes all three with the terminal status in one transaction.
    answer: Mutex<Option<(serde_json::Value, String)>>,
}

impl PersistingSink {
    fn take_answer(&self) -> Option<(serde_json::Value, String)> {
        self.answer.lock().unwrap_or_else(|e| e.into_inner()).take()
    }

    /// Completes the run: the assistant message, the report, the status and the
    /// final event in one transaction; then publishes the event.
    async fn finish(
        &self,
        (payload, answer): (serde_json::Value, String),
        report: Option<&serde_json::Value>,
    ) -> Result<(), StoreError> {
        let now = now_ms();
        let message = MessageRecord {
            id: self.answer_id,
            thread_id: self.run.thread_id,
            user_id: self.run.user_id,
            role: MessageRole::Assistant,
            content: answer,
            client_msg_id: None,
            run_id: Some(self.run.id),
            created_at: now,
        };
        let stored = self
            .store
            .finish_run(
                self.run.id,
                RunStatus::Completed,
                None,
                Some(&message),
                report,
                Some(("agent_completed", &payload)),
                now,
            )
            .await?
            .ok_or_else(|| StoreError::Corrupt("finish_run wrote no event".into()))?;
        self.bus.publish(
            self.run.user_id,
            Arc::new(frame(self.run.thread_id, &stored)),
        );
        Ok(())
    }
}

#[async_trait]
impl EventSink for PersistingSink {
    async fn emit(&self, event: AgentEvent) -> Result<(), SinkError> {
        let payload = event.payload();
        if let AgentEvent::AgentCompleted {
            agent: Agent::Supervisor,
            final_response: Some(answer),
            ..
        } = &event
        {
            *self.answer.lock().unwrap_or_else(|e| e.into_inner()) =
                Some((payload, answer.clone()));
            return Ok(());
        }
        let stored = self
            .store
            .append_event(self.run.id, event.event_type(), &payload, now_ms())
            .await
            .map_err(|e| match e {
                StoreError::Conflict(_) => SinkError::Closed,
                other => storage(other),
            })?;
        self.bus.publish(
            self.run.user_id,
            Arc::new(frame(self.run.thread_id, &stored)),
        );
        if !self.delay.is_zero() {
            // Pacing (tests, demos): a stop still takes effect at once.
            tokio::select! {
                _ = tokio::time::sleep(self.delay) => {}
                _ = self.cancel.cancelled() => {}
            }
        }
        Ok(())
    }
}

fn storage(e: StoreError) -> SinkError {
    SinkError::Storage(Box::new(e))
}
