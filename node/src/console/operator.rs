//! The operator's sign-in and sign-out, the operator home, and what every operator page shares:
//! the session check (otherwise: 303 to the sign-in page), the CSRF check of every POST
//! (otherwise: 403), reading a form, and the redirect after a form recorded an entry. The
//! marketplace's pages are in `market`, the office's in `office`.

use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use proto_types::entry::EntryId;
use serde::Deserialize;

use super::public::with_cookie;
use super::session::{CSRF_COOKIE, OperatorSession, cookie, random_token};
use super::views::{OperatorHome, SignInPage};
use super::{ConsoleState, error_page, render, see_other};
use crate::api::{ApiError, constant_time_equal};
use crate::ingest::IngestOutcome;

/// Where a request without a session is sent.
const SIGN_IN: &str = "/operator/sign-in";

/// The session, or the answer that sends the browser to sign in.
pub(super) fn require_session(
    console: &ConsoleState,
    headers: &HeaderMap,
) -> Result<OperatorSession, Box<Response>> {
    console
        .sessions
        .current(headers)
        .ok_or_else(|| Box::new(see_other(SIGN_IN)))
}

/// The session when `csrf` is its token; otherwise the answer: sign in, or 403.
fn require_session_and_csrf(
    console: &ConsoleState,
    headers: &HeaderMap,
    csrf: &str,
) -> Result<OperatorSession, Box<Response>> {
    let session = require_session(console, headers)?;
    if !constant_time_equal(session.csrf.as_bytes(), csrf.as_bytes()) {
        return Err(Box::new(error_page(
            console,
            Some(&session),
            StatusCode::FORBIDDEN,
            "the form's csrf token is missing or wrong; reload the page and submit again",
        )));
    }
    Ok(session)
}

/// The session and the form of an operator's POST: the form read (an error page when it cannot
/// be), then the session with `csrf(form)` as its token (sign in, or 403).
pub(super) fn signed_form<T>(
    console: &ConsoleState,
    headers: &HeaderMap,
    form: Result<Form<T>, FormRejection>,
    csrf: fn(&T) -> &str,
) -> Result<(OperatorSession, T), Box<Response>> {
    let current = console.sessions.current(headers);
    let form = read_form(console, current.as_ref(), form)?;
    let session = require_session_and_csrf(console, headers, csrf(&form))?;
    Ok((session, form))
}

/// The query of an operator page, read leniently (a malformed query is an empty one).
pub(super) fn page_params(params: Result<Query<PageParams>, QueryRejection>) -> PageParams {
    let mut params = params.map(|Query(params)| params).unwrap_or_default();
    params.recorded = params.recorded.filter(|id| EntryId::from_hex(id).is_ok());
    params.endorsed = params.endorsed.filter(|id| EntryId::from_hex(id).is_ok());
    params
}

/// After a form recorded an entry: back to `page` with the entry's id, or `page_with_error`.
pub(super) fn after_recording(
    result: Result<IngestOutcome, ApiError>,
    page: &str,
    page_with_error: impl FnOnce(StatusCode, String) -> Response,
) -> Response {
    match result {
        Ok(outcome) => recorded_redirect(&outcome, page),
        Err(error) => page_with_error(error.status(), error.message().to_owned()),
    }
}

/// Back to `page`, naming the entry recorded.
pub(super) fn recorded_redirect(outcome: &IngestOutcome, page: &str) -> Response {
    let id = outcome_id(outcome)
        .map(|id| id.to_hex())
        .unwrap_or_default();
    see_other(&format!("{page}?recorded={id}"))
}

/// The form, or an error page saying why it could not be read.
pub(super) fn read_form<T>(
    console: &ConsoleState,
    session: Option<&OperatorSession>,
    form: Result<Form<T>, FormRejection>,
) -> Result<T, Box<Response>> {
    form.map(|Form(form)| form).map_err(|rejection| {
        Box::new(error_page(
            console,
            session,
            rejection.status(),
            rejection.body_text(),
        ))
    })
}

/// The entry id an ingest outcome names.
pub(super) fn outcome_id(outcome: &IngestOutcome) -> Option<EntryId> {
    match outcome {
        IngestOutcome::Stored { id, .. }
        | IngestOutcome::Duplicate { id }
        | IngestOutcome::HeldBack { id, .. } => Some(*id),
        _ => None,
    }
}

/// `GET /operator`: the operator's pages.
pub(super) async fn home(State(console): State<ConsoleState>, headers: HeaderMap) -> Response {
    match require_session(&console, &headers) {
        Ok(session) => render(
            StatusCode::OK,
            &OperatorHome {
                layout: console.layout(Some(&session)),
            },
        ),
        Err(response) => *response,
    }
}

/// The sign-in page with `message`, the public CSRF token and its cookie.
fn sign_in_page(
    console: &ConsoleState,
    headers: &HeaderMap,
    status: StatusCode,
    message: Option<String>,
) -> Response {
    let (csrf, set_cookie) = match cookie(headers, CSRF_COOKIE) {
        Some(value) => (console.sessions.public_csrf(&value), None),
        None => {
            let value = random_token();
            (
                console.sessions.public_csrf(&value),
                HeaderValue::from_str(&console.sessions.csrf_cookie(&value)).ok(),
            )
        }
    };
    let page = SignInPage {
        layout: console.layout(None),
        form_csrf: csrf,
        message,
    };
    with_cookie(render(status, &page), set_cookie)
}

/// `GET /operator/sign-in`.
pub(super) async fn sign_in_form(
    State(console): State<ConsoleState>,
    headers: HeaderMap,
) -> Response {
    if console.sessions.current(&headers).is_some() {
        return see_other("/operator");
    }
    sign_in_page(&console, &headers, StatusCode::OK, None)
}

/// The sign-in form. Its `Debug` leaves the token out.
#[derive(Deserialize)]
pub(super) struct SignInForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    token: String,
}

/// `POST /operator/sign-in`: the operator token, compared in constant time, exchanged for a
/// new session (a new id at every sign-in, so a planted cookie is never promoted).
pub(super) async fn sign_in(
    State(console): State<ConsoleState>,
    headers: HeaderMap,
    form: Result<Form<SignInForm>, FormRejection>,
) -> Response {
    let form = match read_form(&console, None, form) {
        Ok(form) => form,
        Err(response) => return *response,
    };
    if !console.sessions.public_csrf_ok(&headers, &form.csrf) {
        return error_page(
            &console,
            None,
            StatusCode::FORBIDDEN,
            "the form's csrf token is missing or wrong; reload the page and submit again",
        );
    }
    if !constant_time_equal(
        form.token.as_bytes(),
        console.node.operator_token.as_bytes(),
    ) {
        tracing::warn!("console sign-in refused: wrong operator token");
        return sign_in_page(
            &console,
            &headers,
            StatusCode::UNAUTHORIZED,
            Some("that is not this node's operator token".to_owned()),
        );
    }
    if let Some(old) = console.sessions.current(&headers) {
        console.sessions.remove(&old.id);
    }
    let session = console.sessions.create();
    tracing::info!("console operator signed in");
    let mut response = see_other("/operator");
    if let Ok(value) = HeaderValue::from_str(&console.sessions.session_cookie(&session.id)) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// A form with only its CSRF token.
#[derive(Debug, Deserialize)]
pub(super) struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /operator/sign-out`: ends the session and removes its cookie.
pub(super) async fn sign_out(
    State(console): State<ConsoleState>,
    headers: HeaderMap,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Response {
    let (session, _) = match signed_form(&console, &headers, form, |form| &form.csrf) {
        Ok(signed) => signed,
        Err(response) => return *response,
    };
    console.sessions.remove(&session.id);
    let mut response = see_other("/");
    if let Ok(value) = HeaderValue::from_str(&console.sessions.cleared_session_cookie()) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// The query of an operator page: the entry a form just recorded (shown), and the right the
/// page is about (its form filled in).
#[derive(Debug, Default, Deserialize)]
pub(super) struct PageParams {
    /// The entry just recorded; only an entry id is kept.
    #[serde(default)]
    pub(super) recorded: Option<String>,
    /// The right the page's form starts from.
    #[serde(default)]
    pub(super) right_id: Option<String>,
    /// The endorsement entry just recorded (the trust page); only an entry id is kept.
    #[serde(default)]
    pub(super) endorsed: Option<String>,
    /// The notice queue's window ends before this seq of the marketplace's feed.
    #[serde(default)]
    pub(super) before: Option<String>,
}
