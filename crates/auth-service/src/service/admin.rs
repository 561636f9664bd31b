//! Administration: listing users and the audit log, changing roles.

use super::{AuthContext, AuthService, ClientInfo, UserView};
use crate::clock::rfc3339;
use crate::error::ApiError;
use crate::store::Role;
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

/// An audit entry as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AuditView {
    pub id: i64,
    pub at: String,
    pub event: String,
    pub user_id: Option<Uuid>,
    pub session_id: Option<Uuid>,
    pub ip: Option<String>,
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

impl AuthService {
    /// Checks the caller is an admin now (the role is read from the database, not the token).
    async fn require_admin(&self, ctx: &AuthContext) -> Result<(), ApiError> {
        match self.store.user_by_id(ctx.user_id).await? {
            Some(u) if u.role == Role::Admin => Ok(()),
            _ => Err(ApiError::Forbidden),
        }
    }

    pub async fn admin_users(
        &self,
        ctx: &AuthContext,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<UserView>, ApiError> {
        self.require_admin(ctx).await?;
        Ok(self
            .store
            .list_users(limit, offset)
            .await?
            .iter()
            .map(UserView::from)
            .collect())
    }

    pub async fn admin_audit(
        &self,
        ctx: &AuthContext,
        limit: i64,
        before: Option<i64>,
    ) -> Result<Vec<AuditView>, ApiError> {
        self.require_admin(ctx).await?;
        let events = self.store.audit_events(limit, before).await?;
        Ok(events
            .into_iter()
            .map(|e| AuditView {
                id: e.id,
                at: rfc3339(e.at),
                event: e.event,
                user_id: e.user_id,
                session_id: e.session_id,
                ip: e.ip,
                detail: e.detail,
            })
            .collect())
    }

    pub async fn admin_set_role(
        &self,
        ctx: &AuthContext,
        user_id: Uuid,
        role: Role,
        client: &ClientInfo,
    ) -> Result<UserView, ApiError> {
        self.require_admin(ctx).await?;
        if !self.store.set_role(user_id, role, self.now_ms()).await? {
            return Err(ApiError::NotFound);
        }
        self.audit(
            "role_changed",
            Some(user_id),
            None,
            client,
            json!({ "role": role.as_str(), "by": ctx.user_id }),
        )
        .await;
        let user = self
            .store
            .user_by_id(user_id)
            .await?
            .ok_or(ApiError::NotFound)?;
        Ok(UserView::from(&user))
    }
}
