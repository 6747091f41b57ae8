//! The office's credential page (`/operator/credentials`): issue a credential to a right's
//! holder (downloaded as a JSON file, with the code of `POST /v1/credentials`), and, from a
//! right, the credentials logged for it with their status, to revoke, suspend or reinstate one
//! (the code of `POST /v1/credentials/{id}/revoke|suspend|reinstate`).

use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use proto_types::body::{CredentialReasonCode, CredentialStatusKind, RightId};
use serde::Deserialize;

use super::office::own_right;
use super::operator::{PageParams, page_params, require_session, signed_form};
use super::session::OperatorSession;
use super::views::{CredentialPage, LoggedRow};
use super::{ConsoleState, error_page, query_encode, render, see_other};
use crate::api::{CredentialRequest, change_credential_status, issue_credential_for};
use crate::credential_log;
use crate::storage::CredentialListing;

/// Most credentials listed for a right on the page (the JSON API pages through all of them).
pub(super) const MOST_LISTED: usize = 100;

/// The credential form's fields.
#[derive(Debug, Default, Deserialize)]
pub(super) struct CredentialForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    right_id: String,
    #[serde(default)]
    holder: String,
    #[serde(default)]
    valid_until: String,
}

/// The credential page for `form`, with the credentials logged for its right (`logged`, when
/// the page starts from a right) and `recorded` (a status change just recorded).
fn credential_page(
    console: &ConsoleState,
    session: &OperatorSession,
    form: CredentialForm,
    message: Option<String>,
    logged: Option<Vec<LoggedRow>>,
    recorded: Option<String>,
) -> CredentialPage {
    CredentialPage {
        layout: console.layout(Some(session)),
        message,
        right_id: form.right_id,
        holder: form.holder,
        valid_until: form.valid_until,
        listed: logged.is_some(),
        logged: logged.unwrap_or_default(),
        most_listed: MOST_LISTED,
        reason_codes: CredentialReasonCode::ALL
            .iter()
            .map(|code| code.as_str().to_owned())
            .collect(),
        recorded,
    }
}

/// The credentials logged for `right_id`, newest last, at most [`MOST_LISTED`], as rows with
/// the status changes this office may still make.
async fn logged_rows(
    console: &ConsoleState,
    session: &OperatorSession,
    right_id: &RightId,
) -> Result<Vec<LoggedRow>, Box<Response>> {
    let trust = console.node.ingest.trust_handle();
    let office = trust.root(&console.node.authority);
    let right = right_id.as_str().to_owned();
    let read = console
        .node
        .reader()
        .run(move |store| {
            let (records, _) =
                store.credentials(CredentialListing::Right(&right), None, MOST_LISTED)?;
            Ok::<_, crate::storage::StorageError>(
                records
                    .iter()
                    .map(|record| credential_log::view(record, &trust))
                    .collect::<Vec<_>>(),
            )
        })
        .await;
    let logged = read.map_err(|error| {
        tracing::error!(%error, "console credential list failed");
        Box::new(error_page(
            console,
            Some(session),
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal error; see the node's log",
        ))
    })?;
    Ok(logged
        .into_iter()
        .map(|logged| {
            let ours = logged.authority == office;
            let changes = [
                CredentialStatusKind::Revoked,
                CredentialStatusKind::Suspended,
                CredentialStatusKind::Active,
            ]
            .into_iter()
            .filter(|next| ours && logged.effective && logged.status.can_become(*next))
            .map(|next| change_name(next).to_owned())
            .collect();
            LoggedRow {
                credential_id: logged.credential_id.to_string(),
                subject: logged.subject.to_did_key(),
                valid_from: logged.valid_from.to_string(),
                valid_until: logged
                    .valid_until
                    .map(|until| until.to_string())
                    .unwrap_or_default(),
                logged_at: logged.logged_at.to_string(),
                status: logged.status.as_str().to_owned(),
                reason_code: logged
                    .status_reason_code
                    .map(|code| code.as_str().to_owned())
                    .unwrap_or_default(),
                effective: logged.effective,
                changes,
            }
        })
        .collect())
}

/// The form's name of a status change: `revoke`, `suspend`, `reinstate`.
fn change_name(status: CredentialStatusKind) -> &'static str {
    match status {
        CredentialStatusKind::Revoked => "revoke",
        CredentialStatusKind::Suspended => "suspend",
        CredentialStatusKind::Active => "reinstate",
    }
}

/// `GET /operator/credentials`, or `?right_id=…` to start from a right this office registered
/// (its holder key filled in).
pub(super) async fn credential_form(
    State(console): State<ConsoleState>,
    headers: HeaderMap,
    params: Result<Query<PageParams>, QueryRejection>,
) -> Response {
    let session = match require_session(&console, &headers) {
        Ok(session) => session,
        Err(response) => return *response,
    };
    let mut form = CredentialForm::default();
    let params = page_params(params);
    let mut logged = None;
    if let Some(right_id) = params.right_id {
        match own_right(&console, &session, &right_id).await {
            Ok(right) => {
                form.right_id = right.right_id.as_str().to_owned();
                form.holder = right
                    .holder
                    .key
                    .as_ref()
                    .map(|key| key.to_did_key())
                    .unwrap_or_default();
                match logged_rows(&console, &session, &right.right_id).await {
                    Ok(rows) => logged = Some(rows),
                    Err(response) => return *response,
                }
            }
            Err(response) => return *response,
        }
    }
    render(
        StatusCode::OK,
        &credential_page(&console, &session, form, None, logged, params.recorded),
    )
}

/// A date from the form (`YYYY-MM-DD`) as the end of that day in UTC, or the text as given
/// (a full timestamp, or blank: the right's expiry).
fn until_end_of_day(text: &str) -> Option<String> {
    let text = text.trim();
    if text.is_empty() {
        None
    } else if text.len() == 10 && proto_types::timestamp::Date::parse(text).is_ok() {
        Some(format!("{text}T23:59:59Z"))
    } else {
        Some(text.to_owned())
    }
}

/// The file name a credential downloads as: `credential-<right id>.json`, only letters, digits
/// and dashes kept.
fn credential_file_name(right_id: &str) -> String {
    let safe: String = right_id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    format!("credential-{safe}.json")
}

/// `POST /operator/credentials`: issues and logs a credential with the code of
/// `POST /v1/credentials`, answered as a JSON file to download (the holder's copy).
pub(super) async fn issue_credential(
    State(console): State<ConsoleState>,
    headers: HeaderMap,
    form: Result<Form<CredentialForm>, FormRejection>,
) -> Response {
    let (session, form) = match signed_form(&console, &headers, form, |form| &form.csrf) {
        Ok(signed) => signed,
        Err(response) => return *response,
    };
    let request = CredentialRequest {
        right_id: form.right_id.trim().to_owned(),
        holder: form.holder.trim().to_owned(),
        valid_until: until_end_of_day(&form.valid_until),
    };
    let issued = match issue_credential_for(&console.node, request).await {
        Ok(issued) => issued,
        Err(error) => {
            let message = error.message().to_owned();
            return render(
                error.status(),
                &credential_page(&console, &session, form, Some(message), None, None),
            );
        }
    };
    let body = match serde_json::to_string_pretty(&issued.credential) {
        Ok(body) => body,
        Err(error) => {
            tracing::error!(%error, "console credential serialisation failed");
            return error_page(
                &console,
                Some(&session),
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal error; see the node's log",
            );
        }
    };
    let disposition = format!(
        "attachment; filename=\"{}\"",
        credential_file_name(form.right_id.trim())
    );
    let mut response = (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        body,
    )
        .into_response();
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, value);
    }
    if let Some(entry) = issued.entry
        && let Ok(value) = HeaderValue::from_str(&entry.to_hex())
    {
        response.headers_mut().insert("rightsnet-log-entry", value);
    }
    response
}

/// The status change form's fields.
#[derive(Debug, Default, Deserialize)]
pub(super) struct StatusChangeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    credential_id: String,
    #[serde(default)]
    right_id: String,
    /// `revoke`, `suspend` or `reinstate`.
    #[serde(default)]
    change: String,
    /// A reason code, or blank for the default.
    #[serde(default)]
    reason_code: String,
    #[serde(default)]
    reason: String,
}

/// `POST /operator/credentials/status`: revokes, suspends or reinstates a credential this
/// office logged, then back to the right's credential page with the entry recorded.
pub(super) async fn change_status(
    State(console): State<ConsoleState>,
    headers: HeaderMap,
    form: Result<Form<StatusChangeForm>, FormRejection>,
) -> Response {
    let (session, form) = match signed_form(&console, &headers, form, |form| &form.csrf) {
        Ok(signed) => signed,
        Err(response) => return *response,
    };
    let invalid = |message: String| {
        error_page(
            &console,
            Some(&session),
            StatusCode::UNPROCESSABLE_ENTITY,
            message,
        )
    };
    let status = match form.change.as_str() {
        "revoke" => CredentialStatusKind::Revoked,
        "suspend" => CredentialStatusKind::Suspended,
        "reinstate" => CredentialStatusKind::Active,
        _ => return invalid("change: give revoke, suspend or reinstate".to_owned()),
    };
    let reason_code = match form.reason_code.trim() {
        "" => None,
        code => match CredentialReasonCode::parse(code) {
            Some(code) => Some(code),
            None => return invalid(format!("reason_code: no reason code {code:?}")),
        },
    };
    let reason = Some(form.reason.trim().to_owned()).filter(|reason| !reason.is_empty());
    match change_credential_status(
        &console.node,
        form.credential_id.trim(),
        status,
        reason_code,
        reason,
    )
    .await
    {
        Ok(changed) => {
            let right = RightId::parse(form.right_id.trim())
                .map(|right| format!("right_id={}&", query_encode(right.as_str())))
                .unwrap_or_default();
            see_other(&format!(
                "/operator/credentials?{right}recorded={}",
                changed.entry_id.to_hex()
            ))
        }
        Err(error) => error_page(
            &console,
            Some(&session),
            error.status(),
            error.message().to_owned(),
        ),
    }
}
