//! One WebSocket connection.

use crate::gate::{CloseOrder, Principal};
use crate::http::AppState;
use crate::protocol::{ClientFrame, RunEventFrame, ServerFrame, close, parse_client_frame};
use crate::runs::{frame, now_ms};
use crate::store::{Accepted, NewUserMessage, RunStatus, ThreadRecord};
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use futures_util::{SinkExt as _, StreamExt as _};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc};
use uuid::Uuid;

/// What the writer task sends.
enum Outbound {
    Text(Utf8Bytes),
    Ping,
    Close(CloseOrder),
}

/// Why the connection loop ended.
enum End {
    ClientGone,
    Close(CloseOrder),
}

/// Serves one upgraded socket until it closes.
pub async fn serve(
    socket: WebSocket,
    state: AppState,
    principal: Principal,
    conn_id: Uuid,
    mut close_rx: mpsc::Receiver<CloseOrder>,
) {
    let limits = state.config.limits;
    let (mut sink, mut stream) = socket.split();
    let (out_tx, mut out_rx) = mpsc::channel::<Outbound>(limits.connection_queue);
    let writer = tokio::spawn(async move {
        while let Some(item) = out_rx.recv().await {
            let result = match item {
                Outbound::Text(t) => sink.send(Message::Text(t)).await,
                Outbound::Ping => sink.send(Message::Ping(Default::default())).await,
                Outbound::Close(order) => {
                    let _ = sink
                        .send(Message::Close(Some(CloseFrame {
                            code: order.code,
                            reason: order.reason.into(),
                        })))
                        .await;
                    break;
                }
            };
            if result.is_err() {
                break;
            }
        }
        let _ = sink.close().await;
    });

    let mut conn = Conn {
        state: state.clone(),
        principal,
        out: out_tx.clone(),
        followed: HashMap::new(),
        errors: Vec::new(),
    };
    let mut events = state.bus.subscribe(principal.user_id);
    conn.send(&ServerFrame::ConnectionReady {
        connection_id: conn_id,
        user_id: principal.user_id,
        protocol: crate::protocol::PROTOCOL_VERSION,
    });
    let heartbeat = Duration::from_secs(limits.heartbeat_secs.max(1));
    let mut tick = tokio::time::interval(heartbeat);
    tick.tick().await;
    let mut last_seen = tokio::time::Instant::now();

    let end = loop {
        tokio::select! {
            msg = stream.next() => {
                last_seen = tokio::time::Instant::now();
                match msg {
                    None | Some(Err(_)) | Some(Ok(Message::Close(_))) => break End::ClientGone,
                    Some(Ok(Message::Text(text))) => {
                        if let Err(order) = conn.on_text(text.as_str()).await { break End::Close(order) }
                    }
                    Some(Ok(Message::Binary(_))) => {
                        if let Err(order) = conn.refuse("binary_not_supported", "frames must be JSON text", None) { break End::Close(order) }
                    }
                    Some(Ok(_)) => {} // ping/pong handled by the library; any frame proves liveness
                }
            }
            ev = events.recv() => {
                let result = match ev {
                    Ok(ev) => conn.on_event(&ev).await,
                    Err(broadcast::error::RecvError::Lagged(_)) => conn.catch_up_all().await,
                    Err(broadcast::error::RecvError::Closed) => { events = state.bus.subscribe(principal.user_id); Ok(()) }
                };
                if let Err(order) = result { break End::Close(order) }
            }
            order = close_rx.recv() => {
                break End::Close(order.unwrap_or(CloseOrder { code: close::GOING_AWAY, reason: "server_shutdown" }));
            }
            _ = tick.tick() => {
                if last_seen.elapsed() > heartbeat * 3 {
                    break End::Close(CloseOrder { code: close::HEARTBEAT_TIMEOUT, reason: "heartbeat_timeout" });
                }
                if out_tx.try_send(Outbound::Ping).is_err() {
                    break End::Close(slow_consumer());
                }
            }
            _ = state.shutdown.cancelled() => break End::Close(CloseOrder { code: close::GOING_AWAY, reason: "server_shutdown" }),
        }
    };
    if let End::Close(order) = end {
        tracing::info!(
            code = order.code,
            reason = order.reason,
            "closing websocket"
        );
        // Room is guaranteed only if the queue is not full; a slow consumer is cut off by dropping.
        let _ = out_tx.try_send(Outbound::Close(order));
    }
    drop(out_tx);
    drop(conn);
    let _ = tokio::time::timeout(Duration::from_secs(2), writer).await;
    state.connections.unregister(principal.session_id, conn_id);
}

fn slow_consumer() -> CloseOrder {
    CloseOrder {
        code: close::SLOW_CONSUMER,
        reason: "slow_consumer: resume from your last seq",
    }
}

struct Conn {
    state: AppState,
    principal: Principal,
    out: mpsc::Sender<Outbound>,
    /// Runs this connection follows, with the last `seq` delivered.
    followed: HashMap<Uuid, (Uuid, i64)>,
    /// Times (ms) of recent client errors, for abuse detection.
    errors: Vec<i64>,
}

impl Conn {
    fn send(&self, frame: &ServerFrame) -> bool {
        match serde_json::to_string(frame) {
            Ok(text) => self.out.try_send(Outbound::Text(text.into())).is_ok(),
            Err(_) => false,
        }
    }

    fn send_event(&self, ev: &RunEventFrame) -> Result<(), CloseOrder> {
        let text = serde_json::to_string(ev).map_err(|_| slow_consumer())?;
        self.out
            .try_send(Outbound::Text(text.into()))
            .map_err(|_| slow_consumer())
    }

    /// Sends an error frame; closes the socket if the client keeps misbehaving.
    fn refuse(
        &mut self,
        code: &str,
        message: &str,
        run_id: Option<Uuid>,
    ) -> Result<(), CloseOrder> {
        let now = now_ms();
        self.errors.retain(|&t| now - t < 60_000);
        self.errors.push(now);
        if !self.send(&ServerFrame::error(code, message, run_id)) {
            return Err(slow_consumer());
        }
        if self.errors.len() > self.state.config.limits.abuse_errors_per_minute as usize {
            return Err(CloseOrder {
                code: close::POLICY,
                reason: "too_many_errors",
            });
        }
        Ok(())
    }

    async fn on_text(&mut self, text: &str) -> Result<(), CloseOrder> {
        let max = self.state.config.limits.max_frame_bytes;
        if text.len() > max {
            return self.refuse(
                "frame_too_large",
                &format!("frames are limited to {max} bytes"),
                None,
            );
        }
        if self.state.revocations.is_revoked(&self.principal) {
            return Err(CloseOrder {
                code: close::SESSION_REVOKED,
                reason: "session_revoked",
            });
        }
        let frame = match parse_client_frame(text) {
            Ok(f) => f,
            Err(e) => return self.refuse(e.code, &e.message, None),
        };
        match frame {
            ClientFrame::Ping => {
                if !self.send(&ServerFrame::Pong) {
                    return Err(slow_consumer());
                }
                Ok(())
            }
            ClientFrame::UserMessage {
                client_msg_id,
                thread_id,
                content,
                dataset_id,
            } => {
                self.on_user_message(client_msg_id, thread_id, content, dataset_id)
                    .await
            }
            ClientFrame::StopRun { run_id } => self.on_stop(run_id).await,
            ClientFrame::Resume { run_id, after_seq } => self.on_resume(run_id, after_seq).await,
        }
    }

    async fn on_user_message(
        &mut self,
        client_msg_id: String,
        thread_id: Option<Uuid>,
        content: String,
        dataset_id: Option<Uuid>,
    ) -> Result<(), CloseOrder> {
        let s = self.state.clone();
        let user = self.principal.user_id;
        let limits = s.config.limits;
        if !s
            .user_limits
            .try_message(user, now_ms(), limits.messages_per_minute)
        {
            return self.refuse(
                "rate_limited",
                &format!("at most {} messages a minute", limits.messages_per_minute),
                None,
            );
        }
        let result: Result<(), (&'static str, String)> = async {
            if let Some(d) = dataset_id
                && s.store.dataset(user, d).await.map_err(internal)?.is_none()
            {
                return Err(("not_found", "no such dataset".into()));
            }
            let now = now_ms();
            let (thread_id, thread_dataset, new_thread) = match thread_id {
                Some(id) => {
                    let t = s
                        .store
                        .thread(user, id)
                        .await
                        .map_err(internal)?
                        .ok_or(("not_found", "no such thread".to_owned()))?;
                    (t.id, t.dataset_id, None)
                }
                // Created by accept_message, in its transaction: a refused or
                // duplicate message leaves no empty thread behind.
                None => {
                    let t = ThreadRecord {
                        id: Uuid::now_v7(),
                        user_id: user,
                        title: title_from(&content),
                        dataset_id,
                        created_at: now,
                        updated_at: now,
                    };
                    (t.id, t.dataset_id, Some(t))
                }
            };
            let opens_thread = new_thread.is_some();
            let msg = NewUserMessage {
                message_id: Uuid::now_v7(),
                run_id: Uuid::now_v7(),
                thread_id,
                user_id: user,
                content: content.clone(),
                client_msg_id: client_msg_id.clone(),
                dataset_id: dataset_id.or(thread_dataset),
                now,
                new_thread,
                max_running: Some(i64::from(limits.concurrent_runs)),
            };
            let accepted = s.store.accept_message(&msg).await.map_err(|e| match e {
                crate::store::StoreError::Conflict("thread_not_found") => {
                    ("not_found", "no such thread".to_owned())
                }
                crate::store::StoreError::Conflict("too_many_runs") => (
                    "too_many_runs",
                    format!(
                        "at most {} runs at once; wait for one to finish or stop one",
                        limits.concurrent_runs
                    ),
                ),
                other => internal(other),
            })?;
            let (message, run, new) = match accepted {
                Accepted::New { message, run } => (message, run, true),
                Accepted::Duplicate { message, run } => (message, run, false),
            };
            self.followed.entry(run.id).or_insert((run.thread_id, 0));
            self.send(&ServerFrame::MessageAccepted {
                client_msg_id: client_msg_id.clone(),
                thread_id: message.thread_id,
                message_id: message.id,
                run_id: run.id,
            });
            if new {
                // The message names another dataset: the thread follows it (only once the
                // message is accepted, so a refused one changes nothing). Best effort: the
                // run already names its dataset and must start regardless.
                if !opens_thread
                    && dataset_id.is_some()
                    && thread_dataset != dataset_id
                    && let Err(e) = s
                        .store
                        .update_thread(user, run.thread_id, None, Some(dataset_id), now)
                        .await
                {
                    tracing::warn!(error = %e, "the thread's dataset was not updated");
                }
                s.runs.start(run, content);
            } else {
                // A resend after reconnect: replay what the client may have missed.
                self.replay(message.run_id.unwrap_or(run.id), 0)
                    .await
                    .map_err(|_| ("internal", "replay failed".to_owned()))?;
            }
            Ok(())
        }
        .await;
        match result {
            Ok(()) => Ok(()),
            Err((code, message)) => self.refuse(code, &message, None),
        }
    }

    async fn on_stop(&mut self, run_id: Uuid) -> Result<(), CloseOrder> {
        let user = self.principal.user_id;
        match self.state.store.run(user, run_id).await {
            Ok(Some(run)) if run.status == RunStatus::Running => {
                if !self.state.runs.cancel(run_id) {
                    // Not executing in this process (interrupted): finish it here.
                    let payload = serde_json::json!({ "reason": "stopped by the user" });
                    if let Ok(Some(e)) = self
                        .state
                        .store
                        .finish_run(
                            run_id,
                            RunStatus::Cancelled,
                            Some("stopped by the user"),
                            None,
                            None,
                            Some(("run_cancelled", &payload)),
                            now_ms(),
                        )
                        .await
                    {
                        self.state
                            .bus
                            .publish(user, Arc::new(frame(run.thread_id, &e)));
                    }
                }
                Ok(())
            }
            Ok(Some(_)) => {
                self.refuse("run_finished", "the run has already finished", Some(run_id))
            }
            Ok(None) => self.refuse("not_found", "no such run", Some(run_id)),
            Err(_) => self.refuse("internal", "could not read the run", Some(run_id)),
        }
    }

    async fn on_resume(&mut self, run_id: Uuid, after_seq: i64) -> Result<(), CloseOrder> {
        match self.state.store.run(self.principal.user_id, run_id).await {
            Ok(Some(run)) => {
                self.followed.insert(run_id, (run.thread_id, after_seq));
                self.replay(run_id, after_seq).await
            }
            Ok(None) => self.refuse("not_found", "no such run", Some(run_id)),
            Err(_) => self.refuse("internal", "could not read the run", Some(run_id)),
        }
    }

    /// Sends every stored event of a followed run after `after`, in pages.
    async fn replay(&mut self, run_id: Uuid, after: i64) -> Result<(), CloseOrder> {
        let Some(&(thread_id, _)) = self.followed.get(&run_id) else {
            return Ok(());
        };
        let mut cursor = after.max(0);
        loop {
            let page = match self.state.store.events(run_id, cursor, 200).await {
                Ok(p) => p,
                Err(_) => {
                    return self.refuse(
                        "internal",
                        "could not read the run's events",
                        Some(run_id),
                    );
                }
            };
            if page.is_empty() {
                break;
            }
            for e in &page {
                self.send_event(&frame(thread_id, e))?;
                cursor = e.seq;
            }
            if page.len() < 200 {
                break;
            }
        }
        self.followed.insert(run_id, (thread_id, cursor));
        Ok(())
    }

    /// A live event of a followed run: delivered once, in order; a gap is filled from the database.
    async fn on_event(&mut self, ev: &RunEventFrame) -> Result<(), CloseOrder> {
        let delivered = self.followed.get(&ev.run_id).map(|&(_, s)| s);
        match delivered {
            Some(last) if ev.seq <= last => Ok(()),
            Some(last) if ev.seq == last + 1 => {
                self.send_event(ev)?;
                self.followed.insert(ev.run_id, (ev.thread_id, ev.seq));
                Ok(())
            }
            Some(last) => self.replay(ev.run_id, last).await,
            // A run this connection neither started nor resumed: the client resumes it if it wants it.
            None => Ok(()),
        }
    }

    async fn catch_up_all(&mut self) -> Result<(), CloseOrder> {
        let runs: Vec<(Uuid, i64)> = self.followed.iter().map(|(&r, &(_, s))| (r, s)).collect();
        for (run, seq) in runs {
            self.replay(run, seq).await?;
        }
        Ok(())
    }
}

fn internal(e: crate::store::StoreError) -> (&'static str, String) {
    tracing::error!(error = %e, "store error on the websocket");
    ("internal", "internal error".to_owned())
}

/// A thread title from the first words of the first message.
fn title_from(content: &str) -> String {
    let line = content.lines().next().unwrap_or_default().trim();
    let mut title: String = line.chars().take(60).collect();
    if line.chars().count() > 60 {
        title.push('…');
    }
    if title.is_empty() {
        "New thread".into()
    } else {
        title
    }
}
