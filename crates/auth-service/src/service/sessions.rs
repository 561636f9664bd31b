//! Sessions: refresh-token rotation with a grace window and reuse
//! detection, bearer authentication, listing and revoking.

use super::{AuthService, ClientInfo, Revoked, TokenResponse};
use crate::clock::rfc3339;
use crate::domain::refresh;
use crate::error::ApiError;
use crate::store::{RefreshContext, Role, RotateOutcome};
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

/// A verified caller: a valid access token of a live session.
#[derive(Debug, Clone)]
pub struct AuthContext {
    pub user_id: Uuid,
    pub session_id: Uuid,
    pub email: String,
    pub role: Role,
}

/// A session as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SessionView {
    pub id: Uuid,
    pub created_at: String,
    pub last_used_at: String,
    pub expires_at: String,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    /// True for the session of the token that asked.
    pub current: bool,
}

impl AuthService {
    /// Exchanges a refresh token for a new pair. The old token stops working, except that a
    /// second exchange within the grace window (concurrent tabs) also succeeds; a later reuse
    /// revokes the whole session.
    #[tracing::instrument(skip_all, fields(ip = ?client.ip))]
    pub async fn refresh(
        &self,
        token: &str,
        client: &ClientInfo,
    ) -> Result<TokenResponse, ApiError> {
        let result = self.refresh_inner(token, client).await;
        self.metrics.refresh(match &result {
            Ok(_) => "success",
            Err(e) => e.code(),
        });
        result
    }

    async fn refresh_inner(
        &self,
        token: &str,
        client: &ClientInfo,
    ) -> Result<TokenResponse, ApiError> {
        if !refresh::looks_valid(token) {
            return Err(ApiError::InvalidRefreshToken);
        }
        let hash = refresh::hash(token);
        let now = self.now_ms();
        let RefreshContext {
            token: rec,
            session,
            user,
        } = self
            .store
            .refresh_context(&hash)
            .await?
            .ok_or(ApiError::InvalidRefreshToken)?;
        if session.revoked_at.is_some() {
            return Err(ApiError::SessionRevoked);
        }
        if rec.expires_at <= now || session.expires_at <= now {
            return Err(ApiError::RefreshTokenExpired);
        }
        let (new_token, new_rec) = self.new_refresh(session.id, now);
        let rotated_at = match rec.rotated_at {
            None => match self
                .store
                .rotate_refresh_token(
                    &hash,
                    &new_rec,
                    now,
                    client.ip.as_deref(),
                    client.user_agent.as_deref(),
                )
                .await?
            {
                RotateOutcome::Rotated => {
                    return self.token_response(&user, session.id, new_token, now).await;
                }
                // A concurrent exchange won the race: treat like a reuse at `now`.
                RotateOutcome::AlreadyRotated => now,
            },
            Some(at) => at,
        };
        if now - rotated_at <= Self::ttl_ms(self.config.refresh_grace) {
            self.store.add_refresh_token(&new_rec, now).await?;
            return self.token_response(&user, session.id, new_token, now).await;
        }
        if self
            .store
            .revoke_session(session.id, now, "refresh_token_reused")
            .await?
        {
            self.notify_revocation(Revoked::Session(session.id)).await;
        }
        self.audit(
            "refresh_token_reused",
            Some(user.id),
            Some(session.id),
            client,
            json!({ "rotated_at": rfc3339(rotated_at) }),
        )
        .await;
        tracing::warn!(session = %session.id, "refresh token reused after rotation; session revoked");
        Err(ApiError::RefreshTokenReused)
    }

    /// Verifies a bearer token and that its session is still live.
    pub async fn authenticate(&self, token: &str) -> Result<AuthContext, ApiError> {
        let claims = self.verify_access_token(token)?;
        let user_id = Uuid::parse_str(&claims.sub).map_err(|_| ApiError::InvalidToken)?;
        let session_id = Uuid::parse_str(&claims.sid).map_err(|_| ApiError::InvalidToken)?;
        if !self.session_is_live(session_id, self.now_ms()).await? {
            return Err(ApiError::SessionRevoked);
        }
        let role = Role::parse(&claims.role).ok_or(ApiError::InvalidToken)?;
        Ok(AuthContext {
            user_id,
            session_id,
            email: claims.email,
            role,
        })
    }

    /// Revokes the caller's own session.
    pub async fn logout(&self, ctx: &AuthContext, client: &ClientInfo) -> Result<(), ApiError> {
        self.revoke(ctx, ctx.session_id, "logout", client).await
    }

    /// Revokes one of the caller's sessions; anyone else's answers 404.
    pub async fn revoke_own_session(
        &self,
        ctx: &AuthContext,
        id: Uuid,
        client: &ClientInfo,
    ) -> Result<(), ApiError> {
        match self.store.session(id).await? {
            Some(s) if s.user_id == ctx.user_id => {
                self.revoke(ctx, id, "revoked_by_user", client).await
            }
            _ => Err(ApiError::NotFound),
        }
    }

    async fn revoke(
        &self,
        ctx: &AuthContext,
        id: Uuid,
        reason: &str,
        client: &ClientInfo,
    ) -> Result<(), ApiError> {
        if self.store.revoke_session(id, self.now_ms(), reason).await? {
            self.notify_revocation(Revoked::Session(id)).await;
            self.audit(
                "session_revoked",
                Some(ctx.user_id),
                Some(id),
                client,
                json!({ "reason": reason }),
            )
            .await;
        }
        Ok(())
    }

    /// Revokes every session of the caller.
    pub async fn revoke_all(
        &self,
        ctx: &AuthContext,
        client: &ClientInfo,
    ) -> Result<u64, ApiError> {
        let n = self
            .store
            .revoke_user_sessions(ctx.user_id, self.now_ms(), "revoke_all")
            .await?;
        if n > 0 {
            self.notify_revocation(Revoked::User(ctx.user_id)).await;
        }
        self.audit(
            "sessions_revoked_all",
            Some(ctx.user_id),
            Some(ctx.session_id),
            client,
            json!({ "count": n }),
        )
        .await;
        Ok(n)
    }

    /// The caller's live sessions, newest first.
    pub async fn list_sessions(&self, ctx: &AuthContext) -> Result<Vec<SessionView>, ApiError> {
        let sessions = self
            .store
            .active_sessions(ctx.user_id, self.now_ms())
            .await?;
        Ok(sessions
            .into_iter()
            .map(|s| SessionView {
                id: s.id,
                created_at: rfc3339(s.created_at),
                last_used_at: rfc3339(s.last_used_at),
                expires_at: rfc3339(s.expires_at),
                user_agent: s.user_agent,
                ip: s.ip,
                current: s.id == ctx.session_id,
            })
            .collect())
    }

    /// The caller's user record.
    pub async fn me(&self, ctx: &AuthContext) -> Result<super::UserView, ApiError> {
        let user = self
            .store
            .user_by_id(ctx.user_id)
            .await?
            .ok_or(ApiError::InvalidToken)?;
        Ok(super::UserView::from(&user))
    }
}
