//! Datasets: streamed upload with format detection, the sample, listing,
//! deletion, and the summary behind the charts.

use super::AppState;
use super::extract::Authenticated;
use super::threads::parse_id;
use super::views::DatasetView;
use crate::datasets::DatasetError;
use crate::error::{ApiError, ErrorBody};
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use futures_util::StreamExt as _;
use serde::Deserialize;
use tokio::io::AsyncWriteExt as _;
use uuid::Uuid;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/datasets", get(list).post(upload))
        .route("/v1/datasets/sample", post(sample))
        .route("/v1/datasets/{id}", get(show).delete(remove))
        .route("/v1/datasets/{id}/summary", get(summary))
}

impl From<DatasetError> for ApiError {
    fn from(e: DatasetError) -> Self {
        match e {
            DatasetError::UnknownFormat(_) | DatasetError::NoRecords(_) => {
                ApiError::ImportFailed(e.to_string())
            }
            DatasetError::Import(usage::ImportError::DocumentTooLarge { .. }) => {
                ApiError::ImportFailed(e.to_string())
            }
            DatasetError::Store(s) => s.into(),
            other => ApiError::internal(other),
        }
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct UploadQuery {
    /// Display name (default "Uploaded usage").
    name: Option<String>,
    /// The format, when not detected (e.g. `apex_jsonl`, `claude_code`).
    format: Option<String>,
}

/// Streams the body to a file (never whole in memory), then imports it.
#[utoipa::path(post, path = "/v1/datasets", tag = "datasets", security(("bearer" = [])), params(UploadQuery), request_body(content = String, content_type = "application/octet-stream", description = "A usage file: Apex JSONL or CSV, OpenTelemetry GenAI spans, LiteLLM spend logs, OpenAI or Anthropic usage exports, Claude Code transcripts"), responses((status = 201, body = DatasetView), (status = 400, description = "Invalid request", body = ErrorBody), (status = 401, description = "Missing, invalid or revoked token", body = ErrorBody), (status = 413, body = ErrorBody), (status = 422, description = "Nothing could be imported", body = ErrorBody)))]
async fn upload(
    State(s): State<AppState>,
    Authenticated(p): Authenticated,
    q: Result<Query<UploadQuery>, axum::extract::rejection::QueryRejection>,
    body: Body,
) -> Result<(StatusCode, Json<DatasetView>), ApiError> {
    let Query(q) = q.map_err(|e| ApiError::InvalidRequest(e.body_text()))?;
    let format = q
        .format
        .as_deref()
        .map(str::parse::<usage::Format>)
        .transpose()
        .map_err(|e| ApiError::InvalidRequest(e.to_string()))?;
    let name = q
        .name
        .unwrap_or_else(|| "Uploaded usage".into())
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect::<String>();
    let id = Uuid::now_v7();
    let path = s.datasets.upload_path(id);
    let mut file = tokio::fs::File::create(&path)
        .await
        .map_err(ApiError::internal)?;
    let mut stream = body.into_data_stream();
    let mut written: u64 = 0;
    let max = s.config.limits.max_upload_bytes;
    let result: Result<(), ApiError> = async {
        while let Some(chunk) = stream.next().await {
            let chunk =
                chunk.map_err(|e| ApiError::InvalidRequest(format!("upload interrupted: {e}")))?;
            written += chunk.len() as u64;
            if written > max {
                return Err(ApiError::PayloadTooLarge);
            }
            file.write_all(&chunk).await.map_err(ApiError::internal)?;
        }
        file.flush().await.map_err(ApiError::internal)?;
        Ok(())
    }
    .await;
    drop(file);
    if let Err(e) = result {
        let _ = tokio::fs::remove_file(&path).await;
        return Err(e);
    }
    if written == 0 {
        let _ = tokio::fs::remove_file(&path).await;
        return Err(ApiError::ImportFailed("the upload is empty".into()));
    }
    let rec = s
        .datasets
        .import_upload(p.user_id, id, name, format)
        .await?;
    Ok((StatusCode::CREATED, Json(DatasetView::from(&rec))))
}

/// Creates the generated sample workload for the caller.
#[utoipa::path(post, path = "/v1/datasets/sample", tag = "datasets", security(("bearer" = [])), responses((status = 201, body = DatasetView), (status = 401, description = "Missing, invalid or revoked token", body = ErrorBody)))]
async fn sample(
    State(s): State<AppState>,
    Authenticated(p): Authenticated,
) -> Result<(StatusCode, Json<DatasetView>), ApiError> {
    let rec = s.datasets.create_sample(p.user_id).await?;
    Ok((StatusCode::CREATED, Json(DatasetView::from(&rec))))
}

/// The caller's datasets, newest first.
#[utoipa::path(get, path = "/v1/datasets", tag = "datasets", security(("bearer" = [])), responses((status = 200, body = Vec<DatasetView>), (status = 401, description = "Missing, invalid or revoked token", body = ErrorBody)))]
async fn list(
    State(s): State<AppState>,
    Authenticated(p): Authenticated,
) -> Result<Json<Vec<DatasetView>>, ApiError> {
    Ok(Json(
        s.store
            .list_datasets(p.user_id)
            .await?
            .iter()
            .map(DatasetView::from)
            .collect(),
    ))
}

/// One dataset.
#[utoipa::path(get, path = "/v1/datasets/{id}", tag = "datasets", security(("bearer" = [])), params(("id" = Uuid, Path, description = "The resource id; another user's answers 404")), responses((status = 200, body = DatasetView), (status = 401, description = "Missing, invalid or revoked token", body = ErrorBody), (status = 404, description = "Not found, or another user's", body = ErrorBody)))]
async fn show(
    State(s): State<AppState>,
    Authenticated(p): Authenticated,
    Path(id): Path<String>,
) -> Result<Json<DatasetView>, ApiError> {
    let d = s
        .store
        .dataset(p.user_id, parse_id(&id)?)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Json(DatasetView::from(&d)))
}

/// Deletes a dataset.
#[utoipa::path(delete, path = "/v1/datasets/{id}", tag = "datasets", security(("bearer" = [])), params(("id" = Uuid, Path, description = "The resource id; another user's answers 404")), responses((status = 204), (status = 401, description = "Missing, invalid or revoked token", body = ErrorBody), (status = 404, description = "Not found, or another user's", body = ErrorBody)))]
async fn remove(
    State(s): State<AppState>,
    Authenticated(p): Authenticated,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    if s.datasets.delete(p.user_id, parse_id(&id)?).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound)
    }
}

/// Spend and calls by model and day, token mix, latency percentiles: the spend-breakdown tool's output.
#[utoipa::path(get, path = "/v1/datasets/{id}/summary", tag = "datasets", security(("bearer" = [])), params(("id" = Uuid, Path, description = "The resource id; another user's answers 404")), responses((status = 200, description = "The spend-breakdown tool's output", body = serde_json::Value), (status = 401, description = "Missing, invalid or revoked token", body = ErrorBody), (status = 404, description = "Not found, or another user's", body = ErrorBody)))]
async fn summary(
    State(s): State<AppState>,
    Authenticated(p): Authenticated,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let loaded = s
        .datasets
        .load(p.user_id, parse_id(&id)?)
        .await?
        .ok_or(ApiError::NotFound)?;
    let catalogue = s.catalogue.clone();
    let value = tokio::task::spawn_blocking(move || {
        let ctx = analytics::AnalysisContext::new(loaded.data.clone(), catalogue);
        analytics::Toolbox::new()
            .call("spend_breakdown", serde_json::json!({}), &ctx)
            .map(|out| out.result)
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(ApiError::internal)?;
    Ok(Json(value))
}
