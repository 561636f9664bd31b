//! The web UI, served from the binary: `/` is the page, `/assets/*` its
//! scripts and styles (`ui/src/`) and vendored libraries (`ui/vendor/`, from
//! `cargo xtask ui`), embedded at compile time by `build.rs`.
//! Every answer carries a strict Content-Security-Policy (scripts, styles,
//! connections and images from this origin only; no inline script or style,
//! no framing), `nosniff`, no referrer, and an ETag with `no-cache`, so a
//! browser revalidates cheaply and never runs a stale UI after an upgrade.

use super::AppState;
use crate::error::ApiError;
use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/ui_assets.rs"));
}

/// The policy of every UI answer.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(index))
        .route("/assets/{*path}", get(asset))
}

async fn index(headers: HeaderMap) -> Result<Response, ApiError> {
    serve("index.html", &headers)
}

async fn asset(Path(path): Path<String>, headers: HeaderMap) -> Result<Response, ApiError> {
    serve(&path, &headers)
}

fn serve(path: &str, headers: &HeaderMap) -> Result<Response, ApiError> {
    let (_, bytes, etag) = embedded::ASSETS
        .iter()
        .find(|(p, _, _)| *p == path)
        .ok_or(ApiError::NotFound)?;
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == *etag));
    let mut resp = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(header::CONTENT_TYPE, content_type(path))], *bytes).into_response()
    };
    let h = resp.headers_mut();
    h.insert(header::ETAG, HeaderValue::from_static(etag));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    Ok(resp)
}

/// The content type of a UI file, by extension.
fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("json" | "map") => "application/json",
        Some("txt" | "md") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_embedded_file_has_a_known_type_and_the_page_is_there() {
        assert!(embedded::ASSETS.iter().any(|(p, _, _)| *p == "index.html"));
        for (path, bytes, etag) in embedded::ASSETS {
            assert!(!bytes.is_empty(), "{path} is empty");
            assert_ne!(content_type(path), "application/octet-stream", "{path}");
            assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");
        }
    }
}
