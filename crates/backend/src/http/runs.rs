//! Runs: status, persisted events (for clients that poll instead of
//! resuming on the socket), cancellation, and the report.

use super::AppState;
use super::extract::Authenticated;
use super::threads::parse_id;
use super::views::{RunView, ts};
use crate::error::ApiError;
use crate::runs::{frame, now_ms};
use crate::store::RunStatus;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use std::sync::Arc;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/runs/{id}", get(show))
        .route("/v1/runs/{id}/events", get(events))
        .route("/v1/runs/{id}/cancel", post(cancel))
        .route("/v1/runs/{id}/report", get(report))
}

async fn show(
    State(s): State<AppState>,
    Authenticated(p): Authenticated,
    Path(id): Path<String>,
) -> Result<Json<RunView>, ApiError> {
    let run = s
        .store
        .run(p.user_id, parse_id(&id)?)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Json(RunView::from(&run)))
}

#[derive(Deserialize)]
struct EventsQuery {
    #[serde(default)]
    after: i64,
    limit: Option<i64>,
}

async fn events(
    State(s): State<AppState>,
    Authenticated(p): Authenticated,
    Path(id): Path<String>,
    q: Result<Query<EventsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::InvalidRequest(e.body_text()))?;
    if q.after < 0 || q.limit.is_some_and(|l| !(1..=1000).contains(&l)) {
        return Err(ApiError::InvalidRequest(
            "after must be >= 0 and limit 1..=1000".into(),
        ));
    }
    let run = s
        .store
        .run(p.user_id, parse_id(&id)?)
        .await?
        .ok_or(ApiError::NotFound)?;
    let events = s
        .store
        .events(run.id, q.after, q.limit.unwrap_or(500))
        .await?;
    let frames: Vec<_> = events.iter().map(|e| frame(run.thread_id, e)).collect();
    Ok(Json(
        serde_json::json!({ "run_id": run.id, "status": run.status.as_str(), "events": frames }),
    ))
}

async fn cancel(
    State(s): State<AppState>,
    Authenticated(p): Authenticated,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<RunView>), ApiError> {
    let run = s
        .store
        .run(p.user_id, parse_id(&id)?)
        .await?
        .ok_or(ApiError::NotFound)?;
    if run.status == RunStatus::Running && !s.runs.cancel(run.id) {
        let payload = serde_json::json!({ "reason": "stopped by the user" });
        if let Ok(Some(e)) = s
            .store
            .finish_run(
                run.id,
                RunStatus::Cancelled,
                Some("stopped by the user"),
                None,
                None,
                Some(("run_cancelled", &payload)),
                now_ms(),
            )
            .await
        {
            s.bus.publish(p.user_id, Arc::new(frame(run.thread_id, &e)));
        }
    }
    let run = s
        .store
        .run(p.user_id, run.id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok((StatusCode::ACCEPTED, Json(RunView::from(&run))))
}

#[derive(Deserialize)]
struct ReportQuery {
    format: Option<String>,
}

async fn report(
    State(s): State<AppState>,
    Authenticated(p): Authenticated,
    Path(id): Path<String>,
    q: Result<Query<ReportQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::InvalidRequest(e.body_text()))?;
    let run = s
        .store
        .run(p.user_id, parse_id(&id)?)
        .await?
        .ok_or(ApiError::NotFound)?;
    if run.status != RunStatus::Completed {
        return Err(ApiError::RunNotFinished);
    }
    let answer = match run.answer_message_id {
        Some(mid) => s
            .store
            .messages(run.thread_id, 1000, None)
            .await?
            .into_iter()
            .find(|m| m.id == mid)
            .map(|m| m.content),
        None => None,
    };
    match q.format.as_deref().unwrap_or("json") {
        "json" => Ok(Json(serde_json::json!({
            "run_id": run.id,
            "thread_id": run.thread_id,
            "finished_at": run.finished_at.map(ts),
            "answer": answer,
            "report": run.report,
        }))
        .into_response()),
        "md" | "markdown" => {
            let body = answer.unwrap_or_default();
            Ok((
                [
                    (header::CONTENT_TYPE, "text/markdown; charset=utf-8"),
                    (
                        header::CONTENT_DISPOSITION,
                        "attachment; filename=\"apex-report.md\"",
                    ),
                ],
                body,
            )
                .into_response())
        }
        other => Err(ApiError::InvalidRequest(format!(
            "format must be json or md, not {other:?}"
        ))),
    }
}
