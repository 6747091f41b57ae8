//! The office's pages: register a right or correct one, record a status change, the progress
//! of recent imports, and the trust page (the authorities this node trusts, trust-store changes,
//! rotating the node's key); credentials are in `credentials`. The forms call the code of the
//! JSON routes they mirror (`POST /v1/registrations`, `POST /v1/rights/{id}/status`,
//! `POST|DELETE /v1/trust…`, `POST /v1/keys/rotate`).

use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use proto_types::body::{AuthorityRole, RightId};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::operator::{
    PageParams, after_recording, outcome_id, page_params, require_session, signed_form,
};
use super::session::OperatorSession;
use super::views::{
    ImportRow, ImportsPage, RegisterPage, StatusPage, TrustPage, TrustRow, name_of,
};
use super::{ConsoleState, error_page, render, see_other};
use crate::api::{
    AddRequest, ApiError, AuthoritySource, EndorsementRequest, JurisdictionsRequest,
    RotateRequestBody, RotationReason, add_authority, endorse_authority, record_status_change,
    register_object, remove_authority, replace_jurisdictions, rotate, trust_view,
};
use crate::rights::RightState;

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

impl RegisterForm {
    /// The form filled with a right's current state (to correct it).
    fn from_right(right: &RightState) -> Self {
        let date = |date: &Option<proto_types::timestamp::Date>| {
            date.as_ref().map(ToString::to_string).unwrap_or_default()
        };
        Self {
            csrf: String::new(),
            right_type: name_of(right.right_type),
            jurisdiction: right.jurisdiction.as_str().to_owned(),
            number: right.number.clone(),
            mark_text: right.mark_text.clone().unwrap_or_default(),
            nice_classes: right
                .nice_classes
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            holder_name: right.holder.name.clone(),
            holder_country: right.holder.country.as_str().to_owned(),
            holder_key: right
                .holder
                .key
                .as_ref()
                .map(|key| key.to_did_key())
                .unwrap_or_default(),
            filing_date: right.filing_date.to_string(),
            registration_date: date(&right.registration_date),
            expiry_date: date(&right.expiry_date),
        }
    }
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
        correcting: false,
    }
}

/// `GET /operator/register`, or `?right_id=…` to correct a right this office registered: the
/// form starts from the right's current state, and registering it again records a correction
/// (protocol.md §6.3).
pub(super) async fn register_form(
    State(console): State<ConsoleState>,
    headers: HeaderMap,
    params: Result<Query<PageParams>, QueryRejection>,
) -> Response {
    let session = match require_session(&console, &headers) {
        Ok(session) => session,
        Err(response) => return *response,
    };
    let params = page_params(params);
    let form = match &params.right_id {
        Some(right_id) => match own_right(&console, &session, right_id).await {
            Ok(right) => RegisterForm::from_right(&right),
            Err(response) => return *response,
        },
        None => RegisterForm::default(),
    };
    let mut page = register_page(&console, &session, form, params.recorded, None);
    page.correcting = params.right_id.is_some();
    render(StatusCode::OK, &page)
}

/// The right `right_id` as this node holds it, when this office registered it; otherwise the
/// error page (400 not a right id, 404 unknown, 409 registered by another authority).
pub(super) async fn own_right(
    console: &ConsoleState,
    session: &OperatorSession,
    right_id: &str,
) -> Result<RightState, Box<Response>> {
    let fail = |status: StatusCode, message: String| {
        Box::new(error_page(console, Some(session), status, message))
    };
    let right_id = RightId::parse(right_id.trim())
        .map_err(|error| fail(StatusCode::BAD_REQUEST, format!("not a right id: {error}")))?;
    let id = right_id.as_str().to_owned();
    let right = match console
        .node
        .reader()
        .run(move |store| store.right(&id))
        .await
    {
        Ok(Some(right)) => right,
        Ok(None) => {
            return Err(fail(
                StatusCode::NOT_FOUND,
                format!("no right {} is known to this node", right_id.as_str()),
            ));
        }
        Err(error) => {
            tracing::error!(%error, "console right read failed");
            return Err(fail(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal error; see the node's log".to_owned(),
            ));
        }
    };
    let trust = console.node.ingest.trust();
    if trust.root(&right.registered_by) != trust.root(&console.node.authority) {
        return Err(fail(
            StatusCode::CONFLICT,
            format!(
                "{} was registered by another authority; only its office can correct it",
                right_id.as_str()
            ),
        ));
    }
    Ok(right)
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
    params: Result<Query<PageParams>, QueryRejection>,
) -> Response {
    let session = match require_session(&console, &headers) {
        Ok(session) => session,
        Err(response) => return *response,
    };
    let params = page_params(params);
    let form = StatusForm {
        right_id: params.right_id.unwrap_or_default(),
        ..StatusForm::default()
    };
    render(
        StatusCode::OK,
        &status_page(&console, &session, form, params.recorded, None),
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

/// The trust page, with `recorded` (a key rotation just recorded) or `message` (why a change
/// was refused).
async fn trust_page(
    console: &ConsoleState,
    session: &OperatorSession,
    status: StatusCode,
    recorded: Option<String>,
    endorsed: Option<String>,
    message: Option<String>,
) -> Response {
    let view = match trust_view(&console.node).await {
        Ok(view) => view,
        Err(error) => return error_page(console, Some(session), error.status(), error.message()),
    };
    let trust = console.node.ingest.trust();
    let own = trust.root(&console.node.authority).to_did_key();
    let signing_key = console.node.ingest.signing_key();
    let rows = view
        .authorities
        .into_iter()
        .map(|authority| TrustRow {
            own: authority.did == own,
            removable: matches!(authority.source, AuthoritySource::TrustStore)
                && authority.did != own,
            did: authority.did,
            name: super::views::visible(&authority.name),
            role: name_of(authority.role),
            jurisdictions: authority
                .jurisdictions
                .iter()
                .map(|jurisdiction| jurisdiction.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            source: match authority.source {
                AuthoritySource::TrustStore => "trust store",
                AuthoritySource::Endorsement => "endorsed",
            },
            split_view: authority.split_view,
        })
        .collect();
    render(
        status,
        &TrustPage {
            layout: console.layout(Some(session)),
            recorded,
            endorsed,
            can_endorse: trust.is_endorser(&console.node.authority),
            message,
            rows,
            endorsement_threshold: view.endorsement_threshold,
            own_did: own,
            signing_key: signing_key.to_did_key(),
            rotated: trust.rotated_at(&signing_key).is_some(),
        },
    )
}

/// `GET /operator/trust`.
pub(super) async fn trust(
    State(console): State<ConsoleState>,
    headers: HeaderMap,
    params: Result<Query<PageParams>, QueryRejection>,
) -> Response {
    let session = match require_session(&console, &headers) {
        Ok(session) => session,
        Err(response) => return *response,
    };
    let params = page_params(params);
    trust_page(
        &console,
        &session,
        StatusCode::OK,
        params.recorded,
        params.endorsed,
        None,
    )
    .await
}

/// A comma- or space-separated list of jurisdictions, upper-cased.
fn jurisdiction_list(text: &str) -> Vec<String> {
    text.split([',', ' '])
        .map(str::trim)
        .filter(|code| !code.is_empty())
        .map(str::to_ascii_uppercase)
        .collect()
}

/// The trust page's forms: add an authority, remove one, replace its jurisdictions.
#[derive(Debug, Default, Deserialize)]
pub(super) struct TrustForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    did: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    jurisdictions: String,
}

/// The trust page with why a change was refused, answered with the refusal's status.
async fn trust_refusal(
    console: &ConsoleState,
    session: &OperatorSession,
    error: ApiError,
) -> Response {
    trust_page(
        console,
        session,
        error.status(),
        None,
        None,
        Some(error.message().to_owned()),
    )
    .await
}

/// After a trust change: back to the trust page, or the page with why it was refused.
async fn after_trust_change<T>(
    console: &ConsoleState,
    session: &OperatorSession,
    result: Result<T, ApiError>,
) -> Response {
    match result {
        Ok(_) => see_other("/operator/trust"),
        Err(error) => trust_refusal(console, session, error).await,
    }
}

/// The role a trust or endorsement form names (`office` or `marketplace`), or 422.
fn form_role(text: &str) -> Result<AuthorityRole, ApiError> {
    serde_json::from_value(Value::from(text.trim()))
        .map_err(|_| ApiError::invalid_field("role: office or marketplace"))
}

/// `POST /operator/trust`: adds an authority with the code of `POST /v1/trust`.
pub(super) async fn add_trusted(
    State(console): State<ConsoleState>,
    headers: HeaderMap,
    form: Result<Form<TrustForm>, FormRejection>,
) -> Response {
    let (session, form) = match signed_form(&console, &headers, form, |form| &form.csrf) {
        Ok(signed) => signed,
        Err(response) => return *response,
    };
    let result = match form_role(&form.role) {
        Ok(role) => {
            add_authority(
                &console.node,
                AddRequest {
                    did: form.did.trim().to_owned(),
                    name: form.name.trim().to_owned(),
                    role,
                    jurisdictions: jurisdiction_list(&form.jurisdictions),
                },
            )
            .await
        }
        Err(error) => Err(error),
    };
    after_trust_change(&console, &session, result).await
}

/// The endorsement form's fields.
#[derive(Debug, Default, Deserialize)]
pub(super) struct EndorseForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    subject: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    jurisdictions: String,
    #[serde(default)]
    contact: String,
    /// `yes` withdraws this office's endorsement.
    #[serde(default)]
    withdraw: String,
}

/// `POST /operator/trust/endorsements`: this office endorses an authority, or withdraws its
/// endorsement, with the code of `POST /v1/trust/endorsements`; back to the trust page with
/// the entry recorded.
pub(super) async fn endorse(
    State(console): State<ConsoleState>,
    headers: HeaderMap,
    form: Result<Form<EndorseForm>, FormRejection>,
) -> Response {
    let (session, form) = match signed_form(&console, &headers, form, |form| &form.csrf) {
        Ok(signed) => signed,
        Err(response) => return *response,
    };
    let result = match form_role(&form.role) {
        Ok(role) => {
            endorse_authority(
                &console.node,
                EndorsementRequest {
                    subject: form.subject.trim().to_owned(),
                    name: form.name.trim().to_owned(),
                    role,
                    jurisdictions: jurisdiction_list(&form.jurisdictions),
                    contact: Some(form.contact.trim().to_owned())
                        .filter(|contact| !contact.is_empty()),
                    withdrawn: (form.withdraw == "yes").then_some(true),
                },
            )
            .await
        }
        Err(error) => Err(error),
    };
    match result {
        Ok(outcome) => {
            let id = outcome_id(&outcome)
                .map(|id| id.to_hex())
                .unwrap_or_default();
            see_other(&format!("/operator/trust?endorsed={id}"))
        }
        Err(error) => trust_refusal(&console, &session, error).await,
    }
}

/// `POST /operator/trust/remove`: removes an authority with the code of
/// `DELETE /v1/trust/{did}`.
pub(super) async fn remove_trusted(
    State(console): State<ConsoleState>,
    headers: HeaderMap,
    form: Result<Form<TrustForm>, FormRejection>,
) -> Response {
    let (session, form) = match signed_form(&console, &headers, form, |form| &form.csrf) {
        Ok(signed) => signed,
        Err(response) => return *response,
    };
    let result = remove_authority(&console.node, form.did.trim()).await;
    after_trust_change(&console, &session, result).await
}

/// `POST /operator/trust/jurisdictions`: replaces an authority's jurisdictions with the code of
/// `PUT /v1/trust/{did}/jurisdictions`.
pub(super) async fn set_jurisdictions(
    State(console): State<ConsoleState>,
    headers: HeaderMap,
    form: Result<Form<TrustForm>, FormRejection>,
) -> Response {
    let (session, form) = match signed_form(&console, &headers, form, |form| &form.csrf) {
        Ok(signed) => signed,
        Err(response) => return *response,
    };
    let request = JurisdictionsRequest {
        jurisdictions: jurisdiction_list(&form.jurisdictions),
    };
    let result = replace_jurisdictions(&console.node, form.did.trim(), request).await;
    after_trust_change(&console, &session, result).await
}

/// The key rotation form.
#[derive(Debug, Default, Deserialize)]
pub(super) struct RotateForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    compromised_since: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    confirm: String,
}

/// `POST /operator/keys/rotate`: rotates this node's key with the code of
/// `POST /v1/keys/rotate` (the node generates the new key), once the operator ticked the
/// confirmation.
pub(super) async fn rotate_key(
    State(console): State<ConsoleState>,
    headers: HeaderMap,
    form: Result<Form<RotateForm>, FormRejection>,
) -> Response {
    let (session, form) = match signed_form(&console, &headers, form, |form| &form.csrf) {
        Ok(signed) => signed,
        Err(response) => return *response,
    };
    let refuse = |message: &str| {
        trust_page(
            &console,
            &session,
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
            None,
            Some(message.to_owned()),
        )
    };
    if form.confirm != "yes" {
        return refuse("tick the confirmation: a rotation cannot be undone").await;
    }
    let reason = match form.reason.as_str() {
        "routine" => RotationReason::Routine,
        "compromise" => RotationReason::Compromise,
        _ => return refuse("reason: routine or compromise").await,
    };
    let compromised_since = match form.compromised_since.trim() {
        "" => None,
        text => match text.parse::<u64>() {
            Ok(seq) => Some(seq),
            Err(_) => return refuse("compromised since: a sequence number").await,
        },
    };
    let note = Some(form.note.trim().to_owned()).filter(|note| !note.is_empty());
    let body = RotateRequestBody {
        reason,
        compromised_since,
        new_key: None,
        note,
    };
    match rotate(&console.node, body).await {
        Ok(done) => see_other(&format!(
            "/operator/trust?recorded={}",
            done.rotation_entry.to_hex()
        )),
        Err(error) => trust_refusal(&console, &session, error).await,
    }
}

/// A duration as minutes and seconds (`3 min 20 s`), or hours and minutes past an hour.
fn duration_text(duration: std::time::Duration) -> String {
    let seconds = duration.as_secs();
    match seconds {
        0..60 => format!("{seconds} s"),
        60..3600 => format!("{} min {} s", seconds / 60, seconds % 60),
        _ => format!("{} h {} min", seconds / 3600, (seconds % 3600) / 60),
    }
}

/// `GET /operator/imports`: recent register imports (batch registrations) with their
/// progress, rate and time left ([`crate::imports`]).
pub(super) async fn imports(State(console): State<ConsoleState>, headers: HeaderMap) -> Response {
    let session = match require_session(&console, &headers) {
        Ok(session) => session,
        Err(response) => return *response,
    };
    let rows = console
        .node
        .imports
        .recent()
        .into_iter()
        .map(|run| ImportRow {
            file: run
                .file
                .as_deref()
                .map(super::views::visible)
                .unwrap_or_else(|| "(batch requests of an API client)".to_owned()),
            id: run.id.unwrap_or_default(),
            state: run.state.as_str(),
            started: run.started_at.as_str().to_owned(),
            last: run.last_at.as_str().to_owned(),
            batches: run.batches,
            items: run.counts.items,
            written: run.counts.written,
            unchanged: run.counts.unchanged,
            skipped: run.counts.skipped,
            refused: run.counts.refused,
            progress: run
                .fraction
                .map_or_else(|| "—".to_owned(), |f| format!("{:.1} %", f * 100.0)),
            percent: run.fraction.map_or(0, |f| (f * 100.0).round() as u32),
            rate: format!("{:.0}", run.rate),
            eta: run.eta.map_or_else(|| "—".to_owned(), duration_text),
        })
        .collect();
    render(
        StatusCode::OK,
        &ImportsPage {
            layout: console.layout(Some(&session)),
            rows,
            max_runs: crate::imports::MAX_RUNS,
        },
    )
}
