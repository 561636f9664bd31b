//! The WebSocket protocol (version 1): JSON text frames, each with a `type`.
//! Client frames are parsed strictly (unknown types and fields are errors
//! with codes); server frames are built here and nowhere else.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub const PROTOCOL_VERSION: u32 = 1;

/// A frame from the client.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientFrame {
    UserMessage {
        client_msg_id: String,
        #[serde(default)]
        thread_id: Option<Uuid>,
        content: String,
        #[serde(default)]
        dataset_id: Option<Uuid>,
    },
    StopRun {
        run_id: Uuid,
    },
    Resume {
        run_id: Uuid,
        #[serde(default)]
        after_seq: i64,
    },
    Ping,
}

/// Why a client frame was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameError {
    pub code: &'static str,
    pub message: String,
}

/// Parses a text frame, naming the problem with a stable code.
pub fn parse_client_frame(text: &str) -> Result<ClientFrame, FrameError> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| FrameError {
        code: "invalid_json",
        message: format!("frame is not valid JSON: {e}"),
    })?;
    let Some(kind) = value.get("type").and_then(|t| t.as_str()) else {
        return Err(FrameError {
            code: "invalid_frame",
            message: "frame has no string \"type\"".into(),
        });
    };
    if !matches!(kind, "user_message" | "stop_run" | "resume" | "ping") {
        return Err(FrameError {
            code: "unknown_type",
            message: format!("unknown frame type {kind:?}"),
        });
    }
    // serde ignores unknown fields on unit variants: check `ping` by hand.
    if kind == "ping" && value.as_object().is_some_and(|o| o.len() > 1) {
        return Err(FrameError {
            code: "invalid_frame",
            message: "ping takes no fields".into(),
        });
    }
    let frame: ClientFrame = serde_json::from_value(value).map_err(|e| FrameError {
        code: "invalid_frame",
        message: e.to_string(),
    })?;
    if let ClientFrame::UserMessage {
        client_msg_id,
        content,
        ..
    } = &frame
    {
        if client_msg_id.is_empty() || client_msg_id.len() > 128 {
            return Err(FrameError {
                code: "invalid_frame",
                message: "client_msg_id must be 1 to 128 characters".into(),
            });
        }
        if content.contains('\0') {
            return Err(FrameError {
                code: "invalid_frame",
                message: "content contains a NUL character".into(),
            });
        }
        if content.trim().is_empty() {
            return Err(FrameError {
                code: "invalid_frame",
                message: "content is empty".into(),
            });
        }
    }
    if let ClientFrame::Resume { after_seq, .. } = &frame
        && *after_seq < 0
    {
        return Err(FrameError {
            code: "invalid_frame",
            message: "after_seq must be >= 0".into(),
        });
    }
    Ok(frame)
}

/// A run event as sent to clients (and kept in the database).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunEventFrame {
    #[serde(rename = "type")]
    pub event_type: String,
    pub run_id: Uuid,
    pub thread_id: Uuid,
    pub seq: i64,
    /// RFC 3339.
    pub ts: String,
    pub payload: serde_json::Value,
}

/// Frames from the server other than run events.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    ConnectionReady {
        connection_id: Uuid,
        user_id: Uuid,
        protocol: u32,
    },
    MessageAccepted {
        client_msg_id: String,
        thread_id: Uuid,
        message_id: Uuid,
        run_id: Uuid,
    },
    Pong,
    Error {
        code: String,
        message: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        run_id: Option<Uuid>,
    },
}

impl ServerFrame {
    pub fn error(code: &str, message: impl Into<String>, run_id: Option<Uuid>) -> Self {
        ServerFrame::Error {
            code: code.to_owned(),
            message: message.into(),
            run_id,
        }
    }
}

/// WebSocket close codes the server uses (4000-4999 are application codes).
pub mod close {
    /// The session was revoked (logout, revoke-all, refresh-token reuse).
    pub const SESSION_REVOKED: u16 = 4001;
    /// The client's queue overflowed; reconnect and resume from the last `seq`.
    pub const SLOW_CONSUMER: u16 = 4008;
    /// The client kept breaking the protocol or the limits.
    pub const POLICY: u16 = 1008;
    /// The server is shutting down.
    pub const GOING_AWAY: u16 = 1001;
    /// No pong to our pings.
    pub const HEARTBEAT_TIMEOUT: u16 = 4002;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_client_frame_and_names_errors() {
        let id = Uuid::new_v4();
        assert_eq!(
            parse_client_frame(r#"{"type":"ping"}"#).unwrap(),
            ClientFrame::Ping
        );
        assert_eq!(
            parse_client_frame(&format!(r#"{{"type":"stop_run","run_id":"{id}"}}"#)).unwrap(),
            ClientFrame::StopRun { run_id: id }
        );
        assert!(matches!(
            parse_client_frame(&format!(
                r#"{{"type":"resume","run_id":"{id}","after_seq":3}}"#
            ))
            .unwrap(),
            ClientFrame::Resume { after_seq: 3, .. }
        ));
        let m =
            parse_client_frame(r#"{"type":"user_message","client_msg_id":"c1","content":"hi"}"#)
                .unwrap();
        assert!(matches!(
            m,
            ClientFrame::UserMessage {
                thread_id: None,
                ..
            }
        ));
        for (text, code) in [
            ("{", "invalid_json"),
            ("[]", "invalid_frame"),
            (r#"{"type":"dance"}"#, "unknown_type"),
            (r#"{"type":"stop_run"}"#, "invalid_frame"),
            (r#"{"type":"stop_run","run_id":"nope"}"#, "invalid_frame"),
            (
                r#"{"type":"user_message","client_msg_id":"","content":"hi"}"#,
                "invalid_frame",
            ),
            (
                r#"{"type":"user_message","client_msg_id":"c","content":"   "}"#,
                "invalid_frame",
            ),
            (r#"{"type":"ping","extra":1}"#, "invalid_frame"),
            (
                r#"{"type":"user_message","client_msg_id":"c","content":"a\u0000b"}"#,
                "invalid_frame",
            ),
            (
                r#"{"type":"resume","run_id":"00000000-0000-0000-0000-000000000000","after_seq":-1}"#,
                "invalid_frame",
            ),
        ] {
            assert_eq!(parse_client_frame(text).unwrap_err().code, code, "{text}");
        }
    }

    #[test]
    fn server_frames_serialise_as_specified() {
        let id = Uuid::nil();
        let v = serde_json::to_value(ServerFrame::ConnectionReady {
            connection_id: id,
            user_id: id,
            protocol: 1,
        })
        .unwrap();
        assert_eq!(v["type"], "connection_ready");
        assert_eq!(v["protocol"], 1);
        let v =
            serde_json::to_value(ServerFrame::error("rate_limited", "slow down", None)).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"type": "error", "code": "rate_limited", "message": "slow down"})
        );
        let e = RunEventFrame {
            event_type: "agent_started".into(),
            run_id: id,
            thread_id: id,
            seq: 1,
            ts: "t".into(),
            payload: serde_json::json!({"agent": "triage", "task": "x"}),
        };
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v["type"], "agent_started");
        assert_eq!(v["seq"], 1);
    }
}
