//! The web console (issue 17, docs/CONSOLE.md): server-rendered HTML pages served by the node on
//! its API address at `/`, for offices, marketplaces and holders.
//!
//! Every page works without JavaScript; the one small script (`console.js`) only fills a
//! textarea from a chosen file. Pages are askama templates (`node/templates/console/`): the
//! compiler checks each template against its view struct, and every value is HTML-escaped (no
//! template marks user data `|safe`). Assets are embedded in the binary and served under
//! `/console/assets/`. Every console answer carries a strict Content-Security-Policy (no inline
//! script or style), `X-Content-Type-Options: nosniff` and `Referrer-Policy: no-referrer`.
//!
//! Handlers load a typed view and render it; they call the same code as the JSON routes
//! (search: [`crate::query`]; checks: [`crate::claims::offline_checks`] and
//! [`crate::claims::credential_checks`]; screening, registration, status changes and decisions:
//! the API's shared functions), so the console holds no policy of its own.
//!
//! Rooms: this file (the router, rendering, headers, assets), `session` (operator sessions and
//! CSRF), `views` (the templates' view structs), `public` (search, right, federation, check,
//! screen), `operator` (sign-in and out, the operator home, what operator pages share),
//! `market` (notice queue, decisions, counter-notices, restorations, holder accuracy and seller
//! strikes), `office` (register and correct, status changes, imports, trust and keys),
//! `credentials` (issue, and revoke, suspend or reinstate what the office logged),
//! `proof` (an entry's inclusion proof, checked in the page).

mod credentials;
mod market;
mod office;
mod operator;
mod proof;
mod public;
pub mod session;
mod views;

use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Path, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{Next, from_fn, from_fn_with_state};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use self::session::Sessions;
use self::views::{ErrorPage, Layout};
use crate::api::{NodeState, RateLimiter, rate_limit};

/// The Content-Security-Policy of every console answer.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
/// Largest credential (or notice) the credential check takes, in bytes.
pub const MAX_CHECK_BYTES: usize = 64 * 1024;
/// Most titles the screening page takes at once.
pub const MAX_SCREEN_LINES: usize = 1000;
/// Body limit of the credential check's form: the credential URL-encoded (up to three bytes
/// each) and the other fields.
const CHECK_FORM_MAX_BYTES: usize = 3 * MAX_CHECK_BYTES + 4096;
/// Body limit of the screening form: 1 000 titles of 500 characters of up to four bytes each,
/// URL-encoded.
const SCREEN_FORM_MAX_BYTES: usize = 8 * 1024 * 1024;

/// The stylesheet.
const CSS: &str = include_str!("../../assets/console/console.css");
/// The script (progressive enhancement only).
const JS: &str = include_str!("../../assets/console/console.js");

/// What the console's handlers share: the node, and the operator sessions.
#[derive(Clone)]
pub(crate) struct ConsoleState {
    node: NodeState,
    sessions: Arc<Sessions>,
}

impl ConsoleState {
    /// Whether this node has a marketplace policy (it takes notices).
    fn is_marketplace(&self) -> bool {
        self.node.config.marketplace.is_some()
    }

    /// The frame of every page: the node's name, and the session's sign-out form.
    fn layout(&self, session: Option<&session::OperatorSession>) -> Layout {
        let trust = self.node.ingest.trust();
        Layout {
            node_name: trust.get(&self.node.authority).map_or_else(
                || self.node.authority.to_did_key(),
                |authority| authority.name,
            ),
            signed_in: session.is_some(),
            csrf: session
                .map(|session| session.csrf.clone())
                .unwrap_or_default(),
            is_marketplace: self.is_marketplace(),
        }
    }
}

/// The console's routes, sharing the public API's rate limiter, ready to merge into the API's
/// router (they sit outside its route table and the OpenAPI document).
pub fn router(state: NodeState, limiter: Arc<RateLimiter>) -> Router<NodeState> {
    let secure = state.config.console.behind_tls
        || state
            .config
            .public_url
            .as_deref()
            .is_some_and(|url| url.starts_with("https://"));
    let console = ConsoleState {
        node: state,
        sessions: Arc::new(Sessions::new(secure)),
    };
    Router::new()
        .route("/", get(public::home))
        .route("/search", get(public::search))
        .route("/rights/{right_id}", get(public::right))
        .route("/federation", get(public::federation))
        .route("/entries/{entry_id}/proof", get(proof::entry_proof_page))
        .route(
            "/check",
            get(public::check_form)
                .post(public::check)
                .layer(DefaultBodyLimit::max(CHECK_FORM_MAX_BYTES)),
        )
        .route(
            "/screen",
            get(public::screen_form)
                .post(public::screen)
                .layer(DefaultBodyLimit::max(SCREEN_FORM_MAX_BYTES)),
        )
        .route("/operator", get(operator::home))
        .route(
            "/operator/sign-in",
            get(operator::sign_in_form).post(operator::sign_in),
        )
        .route("/operator/sign-out", post(operator::sign_out))
        .route("/operator/notices", get(market::notices))
        .route("/operator/decisions", post(market::decide))
        .route(
            "/operator/counter-notices",
            post(market::record_counter_notice),
        )
        .route("/operator/restorations", get(market::restorations))
        .route(
            "/operator/accountability",
            get(market::accountability).post(market::seller_lookup),
        )
        .route(
            "/operator/register",
            get(office::register_form).post(office::register),
        )
        .route(
            "/operator/status",
            get(office::status_form).post(office::status),
        )
        .route(
            "/operator/credentials",
            get(credentials::credential_form).post(credentials::issue_credential),
        )
        .route(
            "/operator/credentials/status",
            post(credentials::change_status),
        )
        .route(
            "/operator/trust",
            get(office::trust).post(office::add_trusted),
        )
        .route("/operator/imports", get(office::imports))
        .route("/operator/trust/remove", post(office::remove_trusted))
        .route("/operator/trust/endorsements", post(office::endorse))
        .route(
            "/operator/trust/jurisdictions",
            post(office::set_jurisdictions),
        )
        .route("/operator/keys/rotate", post(office::rotate_key))
        .route("/console/assets/{name}", get(asset))
        .layer(from_fn(security_headers))
        .layer(from_fn_with_state(limiter, rate_limit))
        .with_state(console)
}

/// Adds the security headers to every console answer, and `Cache-Control: no-store` to every
/// one that did not set its own (pages may show operator data).
async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// `GET /console/assets/{name}`: the embedded stylesheet and script, cacheable for a day.
async fn asset(Path(name): Path<String>) -> Response {
    let (content_type, body) = match name.as_str() {
        "console.css" => ("text/css; charset=utf-8", CSS),
        "console.js" => ("text/javascript; charset=utf-8", JS),
        _ => return (StatusCode::NOT_FOUND, "no such asset").into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        body,
    )
        .into_response()
}

/// `template` rendered with `status`, or 500 when rendering fails (logged).
fn render(status: StatusCode, template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => (
            status,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            html,
        )
            .into_response(),
        Err(error) => {
            tracing::error!(%error, "console template failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal error; see the node's log",
            )
                .into_response()
        }
    }
}

/// An error page: `status`, a title and why.
fn error_page(
    console: &ConsoleState,
    session: Option<&session::OperatorSession>,
    status: StatusCode,
    message: impl Into<String>,
) -> Response {
    render(
        status,
        &ErrorPage {
            layout: console.layout(session),
            status: status.as_u16(),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            message: message.into(),
        },
    )
}

/// 303 to `location`: the answer to a form that changed something.
fn see_other(location: &str) -> Response {
    Redirect::to(location).into_response()
}

/// `text` percent-encoded for a URL's query (everything but unreserved characters).
pub(crate) fn query_encode(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::query_encode;

    #[test]
    fn console_query_encoding_keeps_only_unreserved_characters() {
        assert_eq!(query_encode("a b&c=d/é"), "a%20b%26c%3Dd%2F%C3%A9");
        assert_eq!(query_encode("Az09-_.~"), "Az09-_.~");
    }
}
