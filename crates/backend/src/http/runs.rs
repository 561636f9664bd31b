//! Runs: status, persisted events (for clients that poll instead of
//! resuming on the socket), cancellation, and the report.

use super::AppState;
use super::extract::Authenticated;
use super::threads::parse_id;
use super::views::{RunView, ts};
use crate::error::{ApiError, ErrorBody};
use crate::export;
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

/// A run.
#[utoipa::path(get, path = "/v1/runs/{id}", tag = "runs", security(("bearer" = [])), params(("id" = Uuid, Path, description = "The resource id; another user's answers 404")), responses((status = 200, body = RunView), (status = 401, description = "Missing, invalid or revoked token", body = ErrorBody), (status = 404, description = "Not found, or another user's", body = ErrorBody)))]
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

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct EventsQuery {
    /// Events with a greater `seq` (default 0: all).
    #[serde(default)]
    after: i64,
    /// 1 to 1000 (default 500).
    limit: Option<i64>,
}

/// A run's persisted events after a sequence number.
#[utoipa::path(get, path = "/v1/runs/{id}/events", tag = "runs", security(("bearer" = [])), params(("id" = Uuid, Path, description = "The resource id; another user's answers 404")), params(EventsQuery), responses((status = 200, description = "`{run_id, status, events}`, events as on the WebSocket", body = serde_json::Value), (status = 400, description = "Invalid request", body = ErrorBody), (status = 401, description = "Missing, invalid or revoked token", body = ErrorBody), (status = 404, description = "Not found, or another user's", body = ErrorBody)))]
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

/// Stops a run (it ends with `run_cancelled`).
#[utoipa::path(post, path = "/v1/runs/{id}/cancel", tag = "runs", security(("bearer" = [])), params(("id" = Uuid, Path, description = "The resource id; another user's answers 404")), responses((status = 202, body = RunView), (status = 401, description = "Missing, invalid or revoked token", body = ErrorBody), (status = 404, description = "Not found, or another user's", body = ErrorBody)))]
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

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct ReportQuery {
    /// `json` (default), `md` or `html`.
    format: Option<String>,
}

/// The export formats of a run's report.
#[derive(Clone, Copy)]
enum ReportFormat {
    Json,
    Markdown,
    Html,
}

/// The report of a completed run: JSON, Markdown (the answer), or one self-contained HTML page with charts.
#[utoipa::path(get, path = "/v1/runs/{id}/report", tag = "runs", security(("bearer" = [])), params(("id" = Uuid, Path, description = "The resource id; another user's answers 404")), params(ReportQuery), responses((status = 200, description = "JSON `{run_id, thread_id, finished_at, answer, report}`; `text/markdown`; or `text/html`", body = serde_json::Value), (status = 400, description = "Unknown format", body = ErrorBody), (status = 401, description = "Missing, invalid or revoked token", body = ErrorBody), (status = 404, description = "Not found, or another user's", body = ErrorBody), (status = 409, description = "The run has not completed (`run_not_finished`)", body = ErrorBody)))]
async fn report(
    State(s): State<AppState>,
    Authenticated(p): Authenticated,
    Path(id): Path<String>,
    q: Result<Query<ReportQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::InvalidRequest(e.body_text()))?;
    let format = match q.format.as_deref().unwrap_or("json") {
        "json" => ReportFormat::Json,
        "md" | "markdown" => ReportFormat::Markdown,
        "html" => ReportFormat::Html,
        other => {
            return Err(ApiError::InvalidRequest(format!(
                "format must be json, md or html, not {other:?}"
            )));
        }
    };
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
            .message(run.thread_id, mid)
            .await?
            .map(|m| m.content),
        None => None,
    };
    match format {
        ReportFormat::Json => Ok(Json(serde_json::json!({
            "run_id": run.id,
            "thread_id": run.thread_id,
            "finished_at": run.finished_at.map(ts),
            "answer": answer,
            "report": run.report,
        }))
        .into_response()),
        ReportFormat::Markdown => Ok((
            [
                (header::CONTENT_TYPE, "text/markdown; charset=utf-8"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"apex-report.md\"",
                ),
            ],
            answer.unwrap_or_default(),
        )
            .into_response()),
        ReportFormat::Html => {
            let question = s
                .store
                .message(run.thread_id, run.message_id)
                .await?
                .map(|m| m.content)
                .unwrap_or_default();
            let dataset = match run.dataset_id {
                Some(d) => s.store.dataset(p.user_id, d).await?,
                None => None,
            };
            let input = export::ExportInput {
                run,
                question,
                answer: answer.unwrap_or_default(),
                dataset,
                price_overrides: s
                    .config
                    .prices_file
                    .iter()
                    .map(|f| f.display().to_string())
                    .collect(),
            };
            let html = tokio::task::spawn_blocking(move || export::html(&input))
                .await
                .map_err(ApiError::internal)?
                .map_err(ApiError::internal)?;
            Ok((
                [
                    (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                    (header::CONTENT_SECURITY_POLICY, export::CSP),
                    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
                    (
                        header::CONTENT_DISPOSITION,
                        "attachment; filename=\"apex-report.html\"",
                    ),
                ],
                html,
            )
                .into_response())
        }
    }
}
