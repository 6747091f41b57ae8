//! The operator's pages: sign-in and sign-out, the notice queue with its decision form,
//! registering a right and recording a status change. Every page and action but sign-in needs
//! the session (otherwise: 303 to the sign-in page); every POST needs the session's CSRF token
//! (otherwise: 403). The forms call the code of the JSON routes they mirror.

use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use proto_types::body::{Body, DecisionOutcome};
use proto_types::entry::EntryId;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::public::with_cookie;
use super::session::{CSRF_COOKIE, OperatorSession, cookie, random_token};
use super::views::{
    CheckRow, DecidedRow, NoticeRow, NoticesPage, OperatorHome, RegisterPage, SignInPage,
    StatusPage, visible,
};
use super::{ConsoleState, error_page, render, see_other};
use crate::api::{
    ApiError, DecisionRequest, constant_time_equal, decide as record_decision, marketplace_policy,
    record_status_change, register_object,
};
use crate::ingest::IngestOutcome;
use crate::storage::{ClaimIndex, StorageError};

/// Most entries of the marketplace's own feed the notice queue looks through (the latest).
pub const NOTICE_WINDOW: usize = 1000;
/// Byte budget of reading that window.
const NOTICE_WINDOW_BYTES: usize = 64 * 1024 * 1024;
/// Where a request without a session is sent.
const SIGN_IN: &str = "/operator/sign-in";

/// The session, or the answer that sends the browser to sign in.
fn require_session(
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
fn signed_form<T>(
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

/// The `recorded` entry id of a page's query, when it is one.
fn recorded(params: Result<Query<RecordedParams>, QueryRejection>) -> Option<String> {
    params
        .ok()
        .and_then(|Query(params)| params.recorded)
        .filter(|id| EntryId::from_hex(id).is_ok())
}

/// After a form recorded an entry: back to `page` with the entry's id, or `page_with_error`.
fn after_recording(
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
fn recorded_redirect(outcome: &IngestOutcome, page: &str) -> Response {
    let id = outcome_id(outcome)
        .map(|id| id.to_hex())
        .unwrap_or_default();
    see_other(&format!("{page}?recorded={id}"))
}

/// The form, or an error page saying why it could not be read.
fn read_form<T>(
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
fn outcome_id(outcome: &IngestOutcome) -> Option<EntryId> {
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

/// The query of the notice queue after a decision was recorded.
#[derive(Debug, Default, Deserialize)]
pub(super) struct RecordedParams {
    #[serde(default)]
    recorded: Option<String>,
}

/// What the notice queue reads: the notices of the window, each with its decisions.
struct Queue {
    pending: Vec<NoticeRow>,
    decided: Vec<DecidedRow>,
}

/// Reads the latest [`NOTICE_WINDOW`] entries of the marketplace's own feed: its notices,
/// and for each the decisions recorded under it (the claims index).
fn read_queue(
    store: &crate::storage::Store,
    marketplace: &proto_types::keys::PublicKey,
) -> Result<Queue, StorageError> {
    let head = store
        .heads()?
        .into_iter()
        .find(|(author, _)| author == marketplace)
        .map_or(0, |(_, head)| head.seq);
    let from = head.saturating_sub(NOTICE_WINDOW as u64 - 1).max(1);
    let mut queue = Queue {
        pending: Vec::new(),
        decided: Vec::new(),
    };
    for bytes in store.feed(marketplace, from, NOTICE_WINDOW, NOTICE_WINDOW_BYTES)? {
        let Ok(entry) = proto_types::entry::Entry::decode(&bytes) else {
            continue;
        };
        let Body::Notice(notice) = entry.body() else {
            continue;
        };
        let id = entry.id();
        let decisions = store.claim_ids(ClaimIndex::Notice, &id.to_hex(), 16)?;
        let mut decided = false;
        for decision_id in decisions {
            let Some(entry) = store.entry(&decision_id)? else {
                continue;
            };
            if let Body::Decision(decision) = entry.body() {
                decided = true;
                queue.decided.push(DecidedRow {
                    notice_id: id.to_hex(),
                    right_id: notice.notice.right_id.as_str().to_owned(),
                    decision_id: decision_id.to_hex(),
                    outcome: serde_json::to_value(decision.outcome)
                        .ok()
                        .and_then(|value| value.as_str().map(str::to_owned))
                        .unwrap_or_default(),
                    reason: visible(&decision.reason),
                });
            }
        }
        if !decided && notice.verdict.accepted {
            queue.pending.push(NoticeRow {
                id: id.to_hex(),
                right_id: notice.notice.right_id.as_str().to_owned(),
                holder: notice.notice.holder.to_did_key(),
                listings: notice
                    .notice
                    .listings
                    .iter()
                    .map(|listing| visible(&listing.id))
                    .collect::<Vec<_>>()
                    .join(", "),
                reason: serde_json::to_value(notice.notice.reason)
                    .ok()
                    .and_then(|value| value.as_str().map(str::to_owned))
                    .unwrap_or_default(),
                created: notice.notice.created.as_str().to_owned(),
                accepted: notice.verdict.accepted,
                checks: notice
                    .verdict
                    .reasons
                    .iter()
                    .map(|reason| CheckRow {
                        code: reason.code.clone(),
                        ok: reason.ok,
                        message: visible(&reason.message),
                    })
                    .collect(),
            });
        }
    }
    // Newest first.
    queue.pending.reverse();
    queue.decided.reverse();
    Ok(queue)
}

/// The notice queue page, with `recorded` (a decision just recorded) or `message` (why one
/// was not).
async fn notices_page(
    console: &ConsoleState,
    session: &OperatorSession,
    status: StatusCode,
    recorded: Option<String>,
    message: Option<String>,
) -> Response {
    if let Err(error) = marketplace_policy(&console.node) {
        return error_page(console, Some(session), error.status(), error.message());
    }
    let marketplace = console.node.authority;
    let queue = console
        .node
        .reader()
        .run(move |store| read_queue(store, &marketplace))
        .await;
    let queue = match queue {
        Ok(queue) => queue,
        Err(error) => {
            tracing::error!(%error, "console notice queue read failed");
            return error_page(
                console,
                Some(session),
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal error; see the node's log",
            );
        }
    };
    render(
        status,
        &NoticesPage {
            layout: console.layout(Some(session)),
            recorded,
            message,
            pending: queue.pending,
            decided: queue.decided,
            window: NOTICE_WINDOW,
        },
    )
}

/// `GET /operator/notices`: accepted notices awaiting a decision, with the verdict's checks
/// and a decision form each; then the notices decided.
pub(super) async fn notices(
    State(console): State<ConsoleState>,
    headers: HeaderMap,
    params: Result<Query<RecordedParams>, QueryRejection>,
) -> Response {
    let session = match require_session(&console, &headers) {
        Ok(session) => session,
        Err(response) => return *response,
    };
    let recorded = recorded(params);
    notices_page(&console, &session, StatusCode::OK, recorded, None).await
}

/// The decision form.
#[derive(Debug, Deserialize)]
pub(super) struct DecisionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    notice_id: String,
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    seller_id: String,
}

/// `POST /operator/decisions`: records a decision with the code of `POST /v1/decisions`.
pub(super) async fn decide(
    State(console): State<ConsoleState>,
    headers: HeaderMap,
    form: Result<Form<DecisionForm>, FormRejection>,
) -> Response {
    let (session, form) = match signed_form(&console, &headers, form, |form| &form.csrf) {
        Ok(signed) => signed,
        Err(response) => return *response,
    };
    let outcome = match form.outcome.as_str() {
        "removed" => DecisionOutcome::Removed,
        "rejected" => DecisionOutcome::Rejected,
        _ => {
            return notices_page(
                &console,
                &session,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                Some("outcome: removed or rejected".to_owned()),
            )
            .await;
        }
    };
    let request = DecisionRequest {
        notice_id: form.notice_id.trim().to_owned(),
        outcome,
        reason: form.reason.trim().to_owned(),
        seller_id: form.seller_id.trim().to_owned(),
        listing_ids: None,
    };
    if request.reason.is_empty()
        || request.reason.chars().count() > proto_types::body::MAX_DECISION_REASON_CHARS
    {
        return notices_page(
            &console,
            &session,
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
            Some(format!(
                "reason: 1 to {} characters",
                proto_types::body::MAX_DECISION_REASON_CHARS
            )),
        )
        .await;
    }
    match record_decision(&console.node, request).await {
        Ok(outcome) => recorded_redirect(&outcome, "/operator/notices"),
        Err(error) => {
            notices_page(
                &console,
                &session,
                error.status(),
                None,
                Some(error.message().to_owned()),
            )
            .await
        }
    }
}

/// The registration form's fields.
#[derive(Debug, Default, Deserialize)]
pub(super) struct RegisterForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    right_type: String,
    #[serde(default)]
    jurisdiction: String,
    #[serde(default)]
    number: String,
    #[serde(default)]
    mark_text: String,
    #[serde(default)]
    nice_classes: String,
    #[serde(default)]
    holder_name: String,
    #[serde(default)]
    holder_country: String,
    #[serde(default)]
    holder_key: String,
    #[serde(default)]
    filing_date: String,
    #[serde(default)]
    registration_date: String,
    #[serde(default)]
    expiry_date: String,
}

/// The registration page for `form`.
fn register_page(
    console: &ConsoleState,
    session: &OperatorSession,
    form: RegisterForm,
    recorded: Option<String>,
    message: Option<String>,
) -> RegisterPage {
    RegisterPage {
        layout: console.layout(Some(session)),
        message,
        recorded,
        right_type: if form.right_type.is_empty() {
            "trademark".to_owned()
        } else {
            form.right_type
        },
        jurisdiction: form.jurisdiction,
        number: form.number,
        mark_text: form.mark_text,
        nice_classes: form.nice_classes,
        holder_name: form.holder_name,
        holder_country: form.holder_country,
        holder_key: form.holder_key,
        filing_date: form.filing_date,
        registration_date: form.registration_date,
        expiry_date: form.expiry_date,
    }
}

/// `GET /operator/register`.
pub(super) async fn register_form(
    State(console): State<ConsoleState>,
    headers: HeaderMap,
    params: Result<Query<RecordedParams>, QueryRejection>,
) -> Response {
    let session = match require_session(&console, &headers) {
        Ok(session) => session,
        Err(response) => return *response,
    };
    let recorded = recorded(params);
    render(
        StatusCode::OK,
        &register_page(&console, &session, RegisterForm::default(), recorded, None),
    )
}

/// A form's text as JSON: blank is absent.
fn put_text(object: &mut Map<String, Value>, key: &str, text: &str) {
    let text = text.trim();
    if !text.is_empty() {
        object.insert(key.to_owned(), Value::from(text));
    }
}

/// The registration request a form describes, as `POST /v1/registrations` takes it.
fn registration_object(form: &RegisterForm) -> Result<Map<String, Value>, String> {
    let mut object = Map::new();
    put_text(&mut object, "right_type", &form.right_type);
    put_text(
        &mut object,
        "jurisdiction",
        &form.jurisdiction.to_ascii_uppercase(),
    );
    put_text(&mut object, "number", &form.number);
    put_text(&mut object, "mark_text", &form.mark_text);
    let mut classes = Vec::new();
    for part in form
        .nice_classes
        .split([',', ' '])
        .filter(|part| !part.is_empty())
    {
        let class: u8 = part
            .parse()
            .map_err(|_| format!("nice_classes: {part:?} is not a Nice class"))?;
        classes.push(Value::from(class));
    }
    if !classes.is_empty() {
        object.insert("nice_classes".to_owned(), Value::Array(classes));
    }
    let mut holder = Map::new();
    put_text(&mut holder, "name", &form.holder_name);
    put_text(
        &mut holder,
        "country",
        &form.holder_country.to_ascii_uppercase(),
    );
    put_text(&mut holder, "key", &form.holder_key);
    object.insert("holder".to_owned(), Value::Object(holder));
    put_text(&mut object, "filing_date", &form.filing_date);
    put_text(&mut object, "registration_date", &form.registration_date);
    put_text(&mut object, "expiry_date", &form.expiry_date);
    object.insert(
        "status".to_owned(),
        Value::from(if form.registration_date.trim().is_empty() {
            "filed"
        } else {
            "registered"
        }),
    );
    Ok(object)
}

/// `POST /operator/register`: registers with the code of `POST /v1/registrations`.
pub(super) async fn register(
    State(console): State<ConsoleState>,
    headers: HeaderMap,
    form: Result<Form<RegisterForm>, FormRejection>,
) -> Response {
    let (session, form) = match signed_form(&console, &headers, form, |form| &form.csrf) {
        Ok(signed) => signed,
        Err(response) => return *response,
    };
    let result = match registration_object(&form) {
        Ok(object) => register_object(&console.node, object).await,
        Err(message) => Err(ApiError::invalid_field(message)),
    };
    after_recording(result, "/operator/register", |status, message| {
        render(
            status,
            &register_page(&console, &session, form, None, Some(message)),
        )
    })
}

/// The status change form's fields.
#[derive(Debug, Default, Deserialize)]
pub(super) struct StatusForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    right_id: String,
    #[serde(default)]
    change: String,
    #[serde(default)]
    effective_date: String,
    #[serde(default)]
    new_expiry_date: String,
    #[serde(default)]
    new_holder_name: String,
    #[serde(default)]
    new_holder_country: String,
    #[serde(default)]
    new_holder_key: String,
    #[serde(default)]
    reason: String,
}

/// The status change page for `form`.
fn status_page(
    console: &ConsoleState,
    session: &OperatorSession,
    form: StatusForm,
    recorded: Option<String>,
    message: Option<String>,
) -> StatusPage {
    StatusPage {
        layout: console.layout(Some(session)),
        message,
        recorded,
        right_id: form.right_id,
        change: form.change,
        effective_date: form.effective_date,
        new_expiry_date: form.new_expiry_date,
        new_holder_name: form.new_holder_name,
        new_holder_country: form.new_holder_country,
        new_holder_key: form.new_holder_key,
        reason: form.reason,
    }
}

/// `GET /operator/status`.
pub(super) async fn status_form(
    State(console): State<ConsoleState>,
    headers: HeaderMap,
    params: Result<Query<RecordedParams>, QueryRejection>,
) -> Response {
    let session = match require_session(&console, &headers) {
        Ok(session) => session,
        Err(response) => return *response,
    };
    let recorded = recorded(params);
    render(
        StatusCode::OK,
        &status_page(&console, &session, StatusForm::default(), recorded, None),
    )
}

/// `POST /operator/status`: records a status change with the code of
/// `POST /v1/rights/{id}/status`.
pub(super) async fn status(
    State(console): State<ConsoleState>,
    headers: HeaderMap,
    form: Result<Form<StatusForm>, FormRejection>,
) -> Response {
    let (session, form) = match signed_form(&console, &headers, form, |form| &form.csrf) {
        Ok(signed) => signed,
        Err(response) => return *response,
    };
    let mut object = Map::new();
    put_text(&mut object, "change", &form.change);
    put_text(&mut object, "effective_date", &form.effective_date);
    put_text(&mut object, "new_expiry_date", &form.new_expiry_date);
    put_text(&mut object, "reason", &form.reason);
    if !form.new_holder_name.trim().is_empty() {
        let mut holder = json!({
            "name": form.new_holder_name.trim(),
            "country": form.new_holder_country.trim().to_ascii_uppercase(),
        });
        if !form.new_holder_key.trim().is_empty() {
            holder["key"] = Value::from(form.new_holder_key.trim());
        }
        object.insert("new_holder".to_owned(), holder);
    }
    let result = record_status_change(&console.node, form.right_id.trim(), object).await;
    after_recording(result, "/operator/status", |status, message| {
        render(
            status,
            &status_page(&console, &session, form, None, Some(message)),
        )
    })
}
