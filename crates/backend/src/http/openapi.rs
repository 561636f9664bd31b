//! The backend's OpenAPI document, generated from the handlers' annotations
//! and served as JSON by `GET /openapi.json` (no UI bundle).

use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(title = "Apex backend", description = "Threads, messages, agent runs, usage datasets and the WebSocket gateway. Bearer access tokens from the auth service."),
    paths(
        super::threads::list, super::threads::create, super::threads::show, super::threads::update,
        super::threads::remove, super::threads::messages,
        super::runs::show, super::runs::events, super::runs::cancel, super::runs::report,
        super::ws::ticket, super::ws::upgrade,
        super::datasets::upload, super::datasets::sample, super::datasets::list, super::datasets::show,
        super::datasets::remove, super::datasets::summary,
        super::ops::healthz, super::ops::readyz, super::ops::metrics, super::ops::openapi,
    ),
    modifiers(&Security)
)]
struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme(
                "bearer",
                SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
            );
    }
}

/// The document as JSON.
pub fn document() -> String {
    ApiDoc::openapi().to_json().unwrap_or_else(|_| "{}".into())
}
