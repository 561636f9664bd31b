//! Registration and login, with the password policy, timing-equalised
//! unknown-email path, and per-account / per-address throttling.

use super::{AuthService, ClientInfo, TokenResponse};
use crate::domain::email::{check_password_policy, normalize_email, validate_name};
use crate::domain::throttle::{Decision, decide};
use crate::error::ApiError;
use crate::store::{NewSession, Role, UserRecord};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use uuid::Uuid;

impl AuthService {
    /// Creates an account and signs it in.
    #[tracing::instrument(skip(self, password, client), fields(email = %email))]
    pub async fn register(
        &self,
        email: &str,
        password: SecretString,
        name: Option<&str>,
        client: &ClientInfo,
    ) -> Result<TokenResponse, ApiError> {
        let user = match self.new_user(email, password, name, Role::User).await {
            Ok(u) => u,
            Err(e) => {
                self.metrics.registration(e.code());
                return Err(e);
            }
        };
        let now = self.now_ms();
        let session = self.new_session(user.id, now, client);
        let (refresh_token, refresh) = self.new_refresh(session.id, now);
        if let Err(e) = self
            .store
            .create_user_with_session(&user, &session, &refresh)
            .await
        {
            let e = ApiError::from(e);
            self.metrics.registration(e.code());
            return Err(e);
        }
        self.metrics.registration("created");
        self.audit(
            "user_registered",
            Some(user.id),
            Some(session.id),
            client,
            json!({ "email": user.email }),
        )
        .await;
        self.token_response(&user, session.id, refresh_token, now)
            .await
    }

    /// Creates a user without signing in (the admin bootstrap command).
    pub async fn create_user(
        &self,
        email: &str,
        password: SecretString,
        name: Option<&str>,
        role: Role,
    ) -> Result<UserRecord, ApiError> {
        let user = self.new_user(email, password, name, role).await?;
        self.store.create_user(&user).await?;
        self.audit(
            "user_created",
            Some(user.id),
            None,
            &ClientInfo::default(),
            json!({ "email": user.email, "role": role.as_str(), "via": "cli" }),
        )
        .await;
        Ok(user)
    }

    async fn new_user(
        &self,
        email: &str,
        password: SecretString,
        name: Option<&str>,
        role: Role,
    ) -> Result<UserRecord, ApiError> {
        let email = normalize_email(email).map_err(ApiError::InvalidEmail)?;
        let name = name
            .map(validate_name)
            .transpose()
            .map_err(ApiError::InvalidName)?;
        check_password_policy(password.expose_secret(), &email).map_err(ApiError::WeakPassword)?;
        // Checked before hashing so a taken email costs no hash; the unique index still decides races.
        if self.store.user_by_email(&email).await?.is_some() {
            return Err(ApiError::EmailTaken);
        }
        let password_hash = self.hasher.hash(password).await?;
        let now = self.now_ms();
        Ok(UserRecord {
            id: Uuid::now_v7(),
            email,
            name,
            password_hash,
            role,
            created_at: now,
            updated_at: now,
        })
    }

    pub(crate) fn new_session(&self, user_id: Uuid, now: i64, client: &ClientInfo) -> NewSession {
        NewSession {
            id: Uuid::now_v7(),
            user_id,
            now,
            expires_at: now + Self::ttl_ms(self.config.refresh_token_ttl),
            user_agent: client.user_agent.clone(),
            ip: client.ip.clone(),
        }
    }

    /// Signs in. A wrong password and an unknown email give the same error after the same work.
    #[tracing::instrument(skip(self, password, client), fields(ip = ?client.ip))]
    pub async fn login(
        &self,
        email: &str,
        password: SecretString,
        client: &ClientInfo,
    ) -> Result<TokenResponse, ApiError> {
        let result = self.login_inner(email, password, client).await;
        self.metrics.login(match &result {
            Ok(_) => "success",
            Err(ApiError::InvalidCredentials) => "invalid_credentials",
            Err(ApiError::Throttled { .. }) => "throttled",
            Err(ApiError::Overloaded { .. }) => "overloaded",
            Err(_) => "error",
        });
        result
    }

    async fn login_inner(
        &self,
        email: &str,
        password: SecretString,
        client: &ClientInfo,
    ) -> Result<TokenResponse, ApiError> {
        // A malformed email cannot name an account: same answer as a wrong password.
        let email = normalize_email(email)
            .unwrap_or_else(|_| email.trim().to_lowercase().chars().take(254).collect());
        let acct_key = format!("acct:{email}");
        let ip_key = client.ip.as_ref().map(|ip| format!("ip:{ip}"));
        let now = self.now_ms();
        let cfg = &self.config.throttle;
        let mut delay = std::time::Duration::ZERO;
        let checks = [(Some(&acct_key), 1), (ip_key.as_ref(), cfg.ip_multiplier)];
        for (key, multiplier) in checks {
            let Some(key) = key else { continue };
            let state = self.store.throttle(key).await?;
            match decide(cfg, state.as_ref(), now, multiplier) {
                Decision::Refuse { retry_after } => {
                    self.audit(
                        "login_throttled",
                        None,
                        None,
                        client,
                        json!({ "key": key_kind(key) }),
                    )
                    .await;
                    return Err(ApiError::Throttled {
                        retry_after_secs: retry_after.as_secs().max(1),
                    });
                }
                Decision::Allow { delay: d } => delay = delay.max(d),
            }
        }
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let user = self.store.user_by_email(&email).await?;
        let too_long = password.expose_secret().len() > 1024;
        let ok = self
            .hasher
            .verify(
                password,
                user.as_ref()
                    .filter(|_| !too_long)
                    .map(|u| u.password_hash.clone()),
            )
            .await?
            && !too_long;
        let now = self.now_ms();
        let Some(user) = user.filter(|_| ok) else {
            self.store.throttle_failure(&acct_key, now).await?;
            if let Some(k) = &ip_key {
                self.store.throttle_failure(k, now).await?;
            }
            self.audit(
                "login_failed",
                None,
                None,
                client,
                json!({ "reason": "invalid_credentials" }),
            )
            .await;
            return Err(ApiError::InvalidCredentials);
        };
        self.store.throttle_clear(&acct_key).await?;
        let session = self.new_session(user.id, now, client);
        let (refresh_token, refresh) = self.new_refresh(session.id, now);
        self.store.create_session(&session, &refresh).await?;
        self.audit(
            "login_succeeded",
            Some(user.id),
            Some(session.id),
            client,
            json!({}),
        )
        .await;
        self.token_response(&user, session.id, refresh_token, now)
            .await
    }
}

fn key_kind(key: &str) -> &'static str {
    if key.starts_with("ip:") {
        "address"
    } else {
        "account"
    }
}
