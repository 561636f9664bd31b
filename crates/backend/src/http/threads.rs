//! Threads and their messages. Another user's thread answers 404.

use super::AppState;
use super::extract::{Authenticated, JsonBody};
use super::views::{MessageView, Page, ThreadView};
use crate::error::ApiError;
use crate::error::ErrorBody;
use crate::runs::now_ms;
use crate::store::ThreadRecord;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use uuid::Uuid;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/threads", get(list).post(create))
        .route("/v1/threads/{id}", get(show).patch(update).delete(remove))
        .route("/v1/threads/{id}/messages", get(messages))
}

pub(super) fn parse_id(raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| ApiError::NotFound)
}

fn query<T>(q: Result<Query<T>, axum::extract::rejection::QueryRejection>) -> Result<T, ApiError> {
    q.map(|Query(v)| v)
        .map_err(|e| ApiError::InvalidRequest(e.body_text()))
}

fn limit(l: Option<i64>) -> Result<i64, ApiError> {
    match l {
        None => Ok(50),
        Some(n) if (1..=200).contains(&n) => Ok(n),
        Some(_) => Err(ApiError::InvalidRequest("limit must be 1..=200".into())),
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// 1 to 200 (default 50).
    limit: Option<i64>,
    /// `updated_at` cursor (ms) from the previous page's `next_before`.
    before: Option<i64>,
}

/// The caller's threads, most recently updated first.
#[utoipa::path(get, path = "/v1/threads", tag = "threads", security(("bearer" = [])), params(ListQuery), responses((status = 200, body = Page<ThreadView>), (status = 400, description = "Invalid request", body = ErrorBody), (status = 401, description = "Missing, invalid or revoked token", body = ErrorBody)))]
async fn list(
    State(s): State<AppState>,
    Authenticated(p): Authenticated,
    q: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Page<ThreadView>>, ApiError> {
    let q = query(q)?;
    let n = limit(q.limit)?;
    let threads = s.store.list_threads(p.user_id, n, q.before).await?;
    let next = (threads.len() as i64 == n)
        .then(|| threads.last().map(|t| t.updated_at))
        .flatten();
    Ok(Json(Page {
        items: threads.iter().map(ThreadView::from).collect(),
        next: next.map(|v| v.to_string()),
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct CreateThread {
    title: Option<String>,
    dataset_id: Option<Uuid>,
}

fn clean_title(t: &str) -> Result<String, ApiError> {
    let t = t.trim();
    if t.is_empty() || t.chars().count() > 200 || t.chars().any(char::is_control) {
        return Err(ApiError::InvalidRequest(
            "title must be 1 to 200 characters without control characters".into(),
        ));
    }
    Ok(t.to_owned())
}

/// Creates a thread.
#[utoipa::path(post, path = "/v1/threads", tag = "threads", security(("bearer" = [])), request_body = CreateThread, responses((status = 201, body = ThreadView), (status = 400, description = "Invalid request", body = ErrorBody), (status = 401, description = "Missing, invalid or revoked token", body = ErrorBody), (status = 404, description = "Not found, or another user's", body = ErrorBody)))]
async fn create(
    State(s): State<AppState>,
    Authenticated(p): Authenticated,
    JsonBody(req): JsonBody<CreateThread>,
) -> Result<(StatusCode, Json<ThreadView>), ApiError> {
    let title = req
        .title
        .as_deref()
        .map(clean_title)
        .transpose()?
        .unwrap_or_else(|| "New thread".into());
    if let Some(d) = req.dataset_id {
        s.store
            .dataset(p.user_id, d)
            .await?
            .ok_or(ApiError::NotFound)?;
    }
    let now = now_ms();
    let t = ThreadRecord {
        id: Uuid::now_v7(),
        user_id: p.user_id,
        title,
        dataset_id: req.dataset_id,
        created_at: now,
        updated_at: now,
    };
    s.store.create_thread(&t).await?;
    Ok((StatusCode::CREATED, Json(ThreadView::from(&t))))
}

/// One thread.
#[utoipa::path(get, path = "/v1/threads/{id}", tag = "threads", security(("bearer" = [])), params(("id" = Uuid, Path, description = "The resource id; another user's answers 404")), responses((status = 200, body = ThreadView), (status = 401, description = "Missing, invalid or revoked token", body = ErrorBody), (status = 404, description = "Not found, or another user's", body = ErrorBody)))]
async fn show(
    State(s): State<AppState>,
    Authenticated(p): Authenticated,
    Path(id): Path<String>,
) -> Result<Json<ThreadView>, ApiError> {
    let t = s
        .store
        .thread(p.user_id, parse_id(&id)?)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Json(ThreadView::from(&t)))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct UpdateThread {
    title: Option<String>,
    /// `null` detaches the dataset; absent leaves it.
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<Uuid>)]
    dataset_id: Option<Option<Uuid>>,
}

mod double_option {
    use serde::{Deserialize, Deserializer};
    pub fn deserialize<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
        d: D,
    ) -> Result<Option<Option<T>>, D::Error> {
        Option::<T>::deserialize(d).map(Some)
    }
}

/// Renames a thread or changes its dataset.
#[utoipa::path(patch, path = "/v1/threads/{id}", tag = "threads", security(("bearer" = [])), params(("id" = Uuid, Path, description = "The resource id; another user's answers 404")), request_body = UpdateThread, responses((status = 200, body = ThreadView), (status = 400, description = "Invalid request", body = ErrorBody), (status = 401, description = "Missing, invalid or revoked token", body = ErrorBody), (status = 404, description = "Not found, or another user's", body = ErrorBody)))]
async fn update(
    State(s): State<AppState>,
    Authenticated(p): Authenticated,
    Path(id): Path<String>,
    JsonBody(req): JsonBody<UpdateThread>,
) -> Result<Json<ThreadView>, ApiError> {
    let id = parse_id(&id)?;
    let title = req.title.as_deref().map(clean_title).transpose()?;
    if let Some(Some(d)) = req.dataset_id {
        s.store
            .dataset(p.user_id, d)
            .await?
            .ok_or(ApiError::NotFound)?;
    }
    if !s
        .store
        .update_thread(p.user_id, id, title.as_deref(), req.dataset_id, now_ms())
        .await?
    {
        return Err(ApiError::NotFound);
    }
    let t = s
        .store
        .thread(p.user_id, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Json(ThreadView::from(&t)))
}

/// Deletes a thread with its messages, runs and events.
#[utoipa::path(delete, path = "/v1/threads/{id}", tag = "threads", security(("bearer" = [])), params(("id" = Uuid, Path, description = "The resource id; another user's answers 404")), responses((status = 204), (status = 401, description = "Missing, invalid or revoked token", body = ErrorBody), (status = 404, description = "Not found, or another user's", body = ErrorBody)))]
async fn remove(
    State(s): State<AppState>,
    Authenticated(p): Authenticated,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    if s.store.delete_thread(p.user_id, parse_id(&id)?).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound)
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct MessagesQuery {
    /// 1 to 200 (default 50).
    limit: Option<i64>,
    /// Message id from the previous page's `next`.
    after: Option<Uuid>,
}

/// A thread's messages in order, paginated.
#[utoipa::path(get, path = "/v1/threads/{id}/messages", tag = "threads", security(("bearer" = [])), params(("id" = Uuid, Path, description = "The resource id; another user's answers 404")), params(MessagesQuery), responses((status = 200, body = Page<MessageView>), (status = 400, description = "Invalid request", body = ErrorBody), (status = 401, description = "Missing, invalid or revoked token", body = ErrorBody), (status = 404, description = "Not found, or another user's", body = ErrorBody)))]
async fn messages(
    State(s): State<AppState>,
    Authenticated(p): Authenticated,
    Path(id): Path<String>,
    q: Result<Query<MessagesQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Page<MessageView>>, ApiError> {
    let q = query(q)?;
    let n = limit(q.limit)?;
    let thread = s
        .store
        .thread(p.user_id, parse_id(&id)?)
        .await?
        .ok_or(ApiError::NotFound)?;
    let msgs = s.store.messages(thread.id, n, q.after).await?;
    let next = (msgs.len() as i64 == n)
        .then(|| msgs.last().map(|m| m.id.to_string()))
        .flatten();
    Ok(Json(Page {
        items: msgs.iter().map(MessageView::from).collect(),
        next,
    }))
}
