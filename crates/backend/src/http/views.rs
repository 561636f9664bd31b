//! The JSON shapes of the backend's resources.

use crate::store::{DatasetRecord, MessageRecord, RunRecord, ThreadRecord};
use serde::Serialize;
use uuid::Uuid;

/// RFC 3339 from epoch milliseconds.
pub fn ts(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// A page of items; `next` is the cursor for the following page, when there is one.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ThreadView {
    pub id: Uuid,
    pub title: String,
    pub dataset_id: Option<Uuid>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<&ThreadRecord> for ThreadView {
    fn from(t: &ThreadRecord) -> Self {
        ThreadView {
            id: t.id,
            title: t.title.clone(),
            dataset_id: t.dataset_id,
            created_at: ts(t.created_at),
            updated_at: ts(t.updated_at),
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct MessageView {
    pub id: Uuid,
    pub thread_id: Uuid,
    pub role: &'static str,
    pub content: String,
    pub client_msg_id: Option<String>,
    pub run_id: Option<Uuid>,
    pub created_at: String,
}

impl From<&MessageRecord> for MessageView {
    fn from(m: &MessageRecord) -> Self {
        MessageView {
            id: m.id,
            thread_id: m.thread_id,
            role: m.role.as_str(),
            content: m.content.clone(),
            client_msg_id: m.client_msg_id.clone(),
            run_id: m.run_id,
            created_at: ts(m.created_at),
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct RunView {
    pub id: Uuid,
    pub thread_id: Uuid,
    pub message_id: Uuid,
    pub dataset_id: Option<Uuid>,
    pub status: &'static str,
    pub reason: Option<String>,
    pub answer_message_id: Option<Uuid>,
    pub last_seq: i64,
    pub created_at: String,
    pub finished_at: Option<String>,
}

impl From<&RunRecord> for RunView {
    fn from(r: &RunRecord) -> Self {
        RunView {
            id: r.id,
            thread_id: r.thread_id,
            message_id: r.message_id,
            dataset_id: r.dataset_id,
            status: r.status.as_str(),
            reason: r.reason.clone(),
            answer_message_id: r.answer_message_id,
            last_seq: r.last_seq,
            created_at: ts(r.created_at),
            finished_at: r.finished_at.map(ts),
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct DatasetView {
    pub id: Uuid,
    pub name: String,
    pub format: String,
    pub records: i64,
    pub bytes: i64,
    pub sample: bool,
    pub created_at: String,
    pub import_report: serde_json::Value,
}

impl From<&DatasetRecord> for DatasetView {
    fn from(d: &DatasetRecord) -> Self {
        DatasetView {
            id: d.id,
            name: d.name.clone(),
            format: d.format.clone(),
            records: d.records,
            bytes: d.bytes,
            sample: d.sample,
            created_at: ts(d.created_at),
            import_report: d.import_report.clone(),
        }
    }
}
