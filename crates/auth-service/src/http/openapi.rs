//! The OpenAPI document, generated from the handlers' annotations (served as
//! JSON; no UI bundle).

use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(title = "Apex auth service", description = "Accounts, sessions, signing keys and tokens."),
    paths(
        super::auth::register, super::auth::login, super::auth::refresh, super::auth::logout,
        super::account::me, super::account::sessions, super::account::revoke_session, super::account::revoke_all,
        super::discovery::jwks, super::discovery::openid_configuration,
        super::service_api::introspect, super::service_api::revocations,
        super::admin::users, super::admin::audit, super::admin::set_role,
        super::ops::healthz, super::ops::readyz,
    ),
    modifiers(&Security)
)]
struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
        components.add_security_scheme(
            "basic",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Basic)),
        );
    }
}

/// The document as JSON.
pub fn document() -> String {
    ApiDoc::openapi().to_json().unwrap_or_else(|_| "{}".into())
}
