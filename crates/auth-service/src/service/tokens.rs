//! Issuing token pairs, verifying access tokens, and RFC 7662 introspection.

use super::{AuthService, TokenResponse, UserView};
use crate::domain::keys::KeyError;
use crate::domain::{jwt, refresh};
use crate::error::ApiError;
use crate::store::{NewRefreshToken, RefreshContext, UserRecord};
use serde::Serialize;
use uuid::Uuid;

/// RFC 7662 introspection answer. Inactive tokens carry only `active: false`.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct Introspection {
    pub active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    /// `access_token` or `refresh_token`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
}

impl AuthService {
    /// A signed access token for a user's session.
    pub(crate) async fn access_token(
        &self,
        user: &UserRecord,
        session_id: Uuid,
        now_ms: i64,
    ) -> Result<String, ApiError> {
        let (kid, key) = match self.keys.signer(now_ms) {
            Ok(k) => k,
            // The periodic rotation has not run yet (e.g. after the host slept): rotate now.
            Err(KeyError::NoActiveKey) => {
                self.keys.rotate(now_ms).await?;
                self.keys.signer(now_ms)?
            }
            Err(e) => return Err(e.into()),
        };
        let iat = now_ms / 1000;
        let claims = jwt::Claims {
            iss: self.issuer.clone(),
            sub: user.id.to_string(),
            sid: session_id.to_string(),
            jti: Uuid::new_v4().to_string(),
            iat,
            exp: iat + i64::try_from(self.config.access_token_ttl.as_secs()).unwrap_or(600),
            email: user.email.clone(),
            role: user.role.as_str().to_owned(),
        };
        Ok(jwt::encode(&claims, &kid, &key))
    }

    /// A new refresh token for `session_id`, expiring one refresh TTL from now.
    pub(crate) fn new_refresh(&self, session_id: Uuid, now_ms: i64) -> (String, NewRefreshToken) {
        let (token, hash) = refresh::generate();
        let rec = NewRefreshToken {
            hash,
            session_id,
            created_at: now_ms,
            expires_at: now_ms + Self::ttl_ms(self.config.refresh_token_ttl),
        };
        (token, rec)
    }

    pub(crate) async fn token_response(
        &self,
        user: &UserRecord,
        session_id: Uuid,
        refresh_token: String,
        now_ms: i64,
    ) -> Result<TokenResponse, ApiError> {
        Ok(TokenResponse {
            user: UserView::from(user),
            access_token: self.access_token(user, session_id, now_ms).await?,
            refresh_token,
            token_type: "Bearer",
            expires_in: self.config.access_token_ttl.as_secs(),
            session_id,
        })
    }

    /// Verifies an access token's signature, issuer and expiry (no database).
    pub fn verify_access_token(&self, token: &str) -> Result<jwt::Claims, ApiError> {
        let now = self.now_ms();
        let kid = jwt::kid(token).map_err(|_| ApiError::InvalidToken)?;
        let key = self
            .keys
            .verifying_key(&kid, now)
            .ok_or(ApiError::InvalidToken)?;
        jwt::verify(token, &key, &self.issuer, now / 1000).map_err(|e| match e {
            jwt::JwtError::Expired => ApiError::TokenExpired,
            _ => ApiError::InvalidToken,
        })
    }

    /// RFC 7662: describes an access or refresh token; anything not valid now is `active: false`.
    #[tracing::instrument(skip_all)]
    pub async fn introspect(&self, token: &str) -> Result<Introspection, ApiError> {
        let now = self.now_ms();
        let result = if token.matches('.').count() == 2 {
            self.introspect_access(token, now).await?
        } else if refresh::looks_valid(token) {
            self.introspect_refresh(token, now).await?
        } else {
            Introspection::default()
        };
        self.metrics
            .introspection(if result.active { "active" } else { "inactive" });
        Ok(result)
    }

    async fn introspect_access(&self, token: &str, now: i64) -> Result<Introspection, ApiError> {
        let Ok(claims) = self.verify_access_token(token) else {
            return Ok(Introspection::default());
        };
        let Ok(sid) = Uuid::parse_str(&claims.sid) else {
            return Ok(Introspection::default());
        };
        if !self.session_is_live(sid, now).await? {
            return Ok(Introspection::default());
        }
        Ok(Introspection {
            active: true,
            sub: Some(claims.sub),
            sid: Some(claims.sid),
            exp: Some(claims.exp),
            iat: Some(claims.iat),
            jti: Some(claims.jti),
            token_type: Some("access_token"),
            email: Some(claims.email),
            role: Some(claims.role),
            iss: Some(claims.iss),
        })
    }

    async fn introspect_refresh(&self, token: &str, now: i64) -> Result<Introspection, ApiError> {
        let Some(RefreshContext {
            token,
            session,
            user,
        }) = self.store.refresh_context(&refresh::hash(token)).await?
        else {
            return Ok(Introspection::default());
        };
        if token.rotated_at.is_some()
            || token.expires_at <= now
            || session.revoked_at.is_some()
            || session.expires_at <= now
        {
            return Ok(Introspection::default());
        }
        Ok(Introspection {
            active: true,
            sub: Some(user.id.to_string()),
            sid: Some(session.id.to_string()),
            exp: Some(token.expires_at / 1000),
            iat: Some(token.created_at / 1000),
            token_type: Some("refresh_token"),
            email: Some(user.email),
            role: Some(user.role.as_str().to_owned()),
            iss: Some(self.issuer.clone()),
            jti: None,
        })
    }
}
