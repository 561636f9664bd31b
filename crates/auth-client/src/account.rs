//! Pass-through of the account calls a browser makes (register, login,
//! refresh, logout, me) for a backend that fronts the auth service on its
//! own origin. The request body goes out as it came and the answer comes
//! back as it was (status, `Retry-After`, body): nothing here reads a
//! password. Only these five calls can be passed through, never an
//! arbitrary path. Each goes through the circuit breaker and records
//! reachability like every other call.

use crate::client::AuthClient;
use crate::error::AuthClientError;
use crate::transport::RawAnswer;
use std::net::IpAddr;

/// The account calls that may be passed through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountCall {
    /// `POST /v1/register`
    Register,
    /// `POST /v1/login`
    Login,
    /// `POST /v1/token/refresh`
    Refresh,
    /// `POST /v1/logout` (Bearer)
    Logout,
    /// `GET /v1/me` (Bearer)
    Me,
}

impl AccountCall {
    fn op(self) -> &'static str {
        match self {
            AccountCall::Register => "register",
            AccountCall::Login => "login",
            AccountCall::Refresh => "refresh",
            AccountCall::Logout => "logout",
            AccountCall::Me => "me",
        }
    }

    fn path(self) -> &'static str {
        match self {
            AccountCall::Register => "/v1/register",
            AccountCall::Login => "/v1/login",
            AccountCall::Refresh => "/v1/token/refresh",
            AccountCall::Logout => "/v1/logout",
            AccountCall::Me => "/v1/me",
        }
    }
}

/// What goes with a passed-through call.
#[derive(Debug, Clone, Default)]
pub struct AccountRequest {
    /// A JSON body, sent unchanged with `Content-Type: application/json`.
    pub json_body: Option<Vec<u8>>,
    /// The caller's bearer access token.
    pub bearer: Option<String>,
    /// The end user's address, sent as `X-Forwarded-For` (the auth service
    /// uses it for throttling only when it is configured to trust it).
    pub client_ip: Option<IpAddr>,
    /// The end user's `User-Agent`, shown in their session list.
    pub user_agent: Option<String>,
}

impl AuthClient {
    /// Passes one account call through and returns the service's answer as
    /// it was, error statuses included; `Err` only when the service gave no
    /// answer (unreachable, breaker open, timeout).
    pub async fn account(
        &self,
        call: AccountCall,
        req: AccountRequest,
    ) -> Result<RawAnswer, AuthClientError> {
        let url = format!("{}{}", self.base_url(), call.path());
        let transport = self.transport();
        let mut builder = match call {
            AccountCall::Me => transport.http.get(url),
            _ => transport.http.post(url),
        };
        if let Some(body) = req.json_body {
            builder = builder
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body);
        }
        if let Some(token) = req.bearer {
            builder = builder.bearer_auth(token);
        }
        if let Some(ip) = req.client_ip {
            builder = builder.header("x-forwarded-for", ip.to_string());
        }
        if let Some(ua) = req.user_agent {
            builder = builder.header(reqwest::header::USER_AGENT, ua);
        }
        transport
            .send(call.op(), builder, self.account_timeout())
            .await
    }
}
