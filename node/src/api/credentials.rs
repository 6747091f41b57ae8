//! Credentials: `POST /v1/credentials` (an office issues an `IPRightCredential` for one of its
//! live rights to the holder key its register names, logged in its feed before it is answered),
//! the credential log (`GET /v1/credentials`, `GET /v1/credentials/{id}`) and status changes
//! (`POST /v1/credentials/{id}/revoke|suspend|reinstate`), protocol §6.10–6.11 and §11.4. What
//! may be attested is decided by [`crate::credentials`], what the log says by
//! [`crate::credential_log`]; these handlers parse, call them and render.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use proto_types::body::{
    Body, CredentialId, CredentialReasonCode, CredentialStatusKind, CredentialStatusV1, RightId,
};
use proto_types::entry::EntryId;
use proto_types::keys::PublicKey;
use proto_types::timestamp::Timestamp;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use super::error::{ApiError, ApiResult};
use super::extract::{body_bytes, json_object, page_size, query_params, request};
use super::rights::load_right;
use super::schemas::{CredentialsPage, StatusChanged};
use super::state::NodeState;
use crate::credential_log::{self, CredentialRefusal};
use crate::credentials::{attest, issue_logged, new_credential_id};
use crate::ingest::{IngestError, IngestOutcome, IssueError, Refusal};
use crate::storage::CredentialListing;
use crate::transparency::proofs::{EntryProofError, entry_proof};

/// Credentials a listing answers when the query gives no `limit`.
const DEFAULT_CREDENTIALS: usize = 100;
/// Longest `cursor` accepted, in characters (hex of a listing position).
const MAX_CURSOR_CHARS: usize = 2 * (16 + proto_types::body::MAX_CREDENTIAL_ID_CHARS);

/// The body of `POST /v1/credentials`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CredentialRequest {
    /// The right to attest: a live right this office registered.
    #[schemars(with = "RightId")]
    pub(crate) right_id: String,
    /// The key to issue to: the holder key the register names.
    #[schemars(with = "PublicKey")]
    pub(crate) holder: String,
    /// Until when the credential is valid (at most the right's expiry; default: the expiry).
    #[schemars(with = "Option<Timestamp>")]
    pub(crate) valid_until: Option<String>,
}

/// Refuses (409 `key_rotated`) work that would sign with this node's key once a rotation of it
/// is stored; own feed appends are refused by the writer itself.
pub(super) fn refuse_if_own_key_rotated(state: &NodeState) -> ApiResult<()> {
    match state.ingest.trust().rotated_at(&state.ingest.signing_key()) {
        Some(rotated_at) => Err(IngestError::OwnKeyRotated(rotated_at).into()),
        None => Ok(()),
    }
}

/// Percent-encodes a credential id for a path segment (everything but unreserved characters).
fn path_segment(id: &str) -> String {
    id.bytes()
        .map(|byte| {
            if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
                (byte as char).to_string()
            } else {
                format!("%{byte:02X}")
            }
        })
        .collect()
}

/// A credential issued and logged.
pub(crate) struct Issued {
    /// Its id.
    pub(crate) id: String,
    /// The signed document.
    pub(crate) credential: Value,
    /// The `credential` entry that logged it.
    pub(crate) entry: Option<EntryId>,
}

/// Issues a credential: 201 with the signed document, only once its `credential` entry is
/// committed (`Location` names its log record, `Rightsnet-Log-Entry` the entry).
pub(super) async fn issue_credential(
    State(state): State<NodeState>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult {
    let request: CredentialRequest = request(json_object(&body_bytes(body)?)?)?;
    let issued = issue(&state, request).await?;
    let mut response = (StatusCode::CREATED, Json(issued.credential)).into_response();
    let headers = response.headers_mut();
    if let Ok(location) =
        HeaderValue::from_str(&format!("/v1/credentials/{}", path_segment(&issued.id)))
    {
        headers.insert(header::LOCATION, location);
    }
    if let Some(entry) = issued.entry
        && let Ok(entry) = HeaderValue::from_str(&entry.to_hex())
    {
        headers.insert("rightsnet-log-entry", entry);
    }
    Ok(response)
}

/// Issues and logs the credential `request` asks for: the one path of `POST /v1/credentials`
/// and the console's credential form.
pub(crate) async fn issue(state: &NodeState, request: CredentialRequest) -> ApiResult<Issued> {
    let right_id = RightId::parse(&request.right_id)
        .map_err(|error| ApiError::invalid_field(error.to_string()))?;
    let holder = PublicKey::from_did_key(&request.holder)
        .map_err(|error| ApiError::invalid_field(format!("holder: {error}")))?;
    let requested_until = request
        .valid_until
        .as_deref()
        .map(Timestamp::parse)
        .transpose()
        .map_err(|error| ApiError::invalid_field(format!("valid_until: {error}")))?;
    refuse_if_own_key_rotated(state)?;
    let right = load_right(state, &right_id).await?;
    let now = crate::clock::now();
    if let Some(until) = &requested_until
        && until <= &now
    {
        return Err(ApiError::invalid_field(
            "valid_until: must be later than now (the credential's validFrom)",
        ));
    }
    let office = state.ingest.trust().root(&state.authority);
    let attestation = attest(&right, &office, &holder, requested_until, &now)?;
    let id = new_credential_id();
    let registration = attestation.claims.registration_entry;
    let registration_proof = state
        .reader()
        .run(move |store| match entry_proof(store, &registration, true) {
            Ok(proof) => Ok(Some(proof)),
            // Not covered by a checkpoint yet (registered in the last second): the credential
            // names its registration entry without the proof.
            Err(EntryProofError::NotCheckpointed { .. }) => Ok(None),
            Err(error) => Err(ApiError::from(error)),
        })
        .await?;
    let build = issue_logged(
        id.clone(),
        attestation,
        holder,
        now,
        state.status_lists.base_url().to_owned(),
        registration_proof,
    );
    let (credential, outcome) = state
        .ingest
        .issue_credential(build)
        .await
        .map_err(issue_error)?;
    let entry = match outcome {
        IngestOutcome::Stored { id, .. } => Some(id),
        _ => None,
    };
    Ok(Issued {
        id,
        credential,
        entry,
    })
}

/// An issue that was not logged: no credential exists.
fn issue_error(error: IssueError) -> ApiError {
    match error {
        IssueError::Ingest(error) => refusal_error(error),
        IssueError::Build(error) => ApiError::internal(error),
    }
}

/// An ingest error, with the credential log's refusals under their own codes (§11.4).
fn refusal_error(error: IngestError) -> ApiError {
    match error {
        IngestError::Refused(Refusal::Credential(refusal)) => credential_refusal(refusal),
        other => other.into(),
    }
}

fn credential_refusal(refusal: CredentialRefusal) -> ApiError {
    match refusal {
        CredentialRefusal::NotLogged(_) => ApiError::not_found(refusal.to_string()),
        other => ApiError::new(StatusCode::CONFLICT, other.code(), other.to_string()),
    }
}

/// The query of `GET /v1/credentials`: exactly one filter, a limit and a cursor.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct CredentialParams {
    /// Right id: every credential logged for it (give exactly one of right, holder).
    #[schemars(with = "Option<RightId>")]
    right: Option<String>,
    /// Holder did:key: every credential logged for the key.
    #[schemars(with = "Option<PublicKey>")]
    holder: Option<String>,
    /// Most credentials (default 100, at most the node's `max_page_size`).
    limit: Option<usize>,
    /// Where the previous page ended (its `next_cursor`).
    #[schemars(regex(pattern = "^[0-9a-f]{2,432}$"))]
    cursor: Option<String>,
}

/// Lists the credentials logged for a right or a holder key (CT-style monitoring).
pub(super) async fn list_credentials(
    State(state): State<NodeState>,
    params: Result<Query<CredentialParams>, QueryRejection>,
) -> ApiResult {
    let params = query_params(params)?;
    let limit = page_size(
        params.limit,
        DEFAULT_CREDENTIALS.min(state.config.limits.max_page_size),
        state.config.limits.max_page_size,
    )?;
    let bad = |message: String| ApiError::bad_request("bad_query", message);
    let after = match &params.cursor {
        Some(cursor) if cursor.len() <= MAX_CURSOR_CHARS => {
            Some(hex::decode(cursor).map_err(|_| bad("cursor: not a cursor".to_owned()))?)
        }
        Some(_) => return Err(bad("cursor: not a cursor".to_owned())),
        None => None,
    };
    enum Filter {
        Right(RightId),
        Holder(PublicKey),
    }
    let filter = match (params.right, params.holder) {
        (Some(right), None) => {
            Filter::Right(RightId::parse(&right).map_err(|error| bad(format!("right: {error}")))?)
        }
        (None, Some(holder)) => Filter::Holder(
            PublicKey::from_did_key(&holder).map_err(|error| bad(format!("holder: {error}")))?,
        ),
        _ => return Err(bad("give exactly one of right, holder".to_owned())),
    };
    let trust = state.ingest.trust_handle();
    let page = state
        .reader()
        .run(move |store| {
            let listing = match &filter {
                Filter::Right(right) => CredentialListing::Right(right.as_str()),
                Filter::Holder(holder) => CredentialListing::Holder(holder),
            };
            let (records, next) = store.credentials(listing, after.as_deref(), limit)?;
            let credentials = records
                .iter()
                .map(|record| credential_log::view(record, &trust))
                .collect();
            Ok::<_, ApiError>(CredentialsPage {
                credentials,
                next_cursor: next.map(hex::encode),
            })
        })
        .await?;
    Ok(Json(page).into_response())
}

/// Parses a credential id from the path (400 `bad_credential_id` when it is not one).
fn credential_id(id: &str) -> ApiResult<CredentialId> {
    CredentialId::parse(id)
        .map_err(|error| ApiError::bad_request("bad_credential_id", error.to_string()))
}

/// One logged credential.
pub(super) async fn get_credential(
    State(state): State<NodeState>,
    Path(id): Path<String>,
) -> ApiResult {
    let id = credential_id(&id)?;
    let trust = state.ingest.trust_handle();
    let found = state
        .reader()
        .run(move |store| {
            Ok::<_, crate::storage::StorageError>(
                store
                    .credential(id.as_str())?
                    .map(|record| credential_log::view(&record, &trust)),
            )
        })
        .await?;
    match found {
        Some(logged) => Ok(Json(logged).into_response()),
        None => Err(ApiError::not_found(
            "no credential with this id is logged here",
        )),
    }
}

/// The body of a status change: a reason code and a human reason, both optional.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct StatusChangeRequest {
    /// Why (default `unspecified`; `suspension_lifted` for a reinstatement).
    reason_code: Option<CredentialReasonCode>,
    /// A human explanation.
    #[schemars(length(min = 1, max = proto_types::body::MAX_CREDENTIAL_STATUS_REASON_CHARS))]
    reason: Option<String>,
}

/// `POST /v1/credentials/{id}/revoke`.
pub(super) async fn revoke_credential(
    state: State<NodeState>,
    id: Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult {
    change_status(state, id, body, CredentialStatusKind::Revoked).await
}

/// `POST /v1/credentials/{id}/suspend`.
pub(super) async fn suspend_credential(
    state: State<NodeState>,
    id: Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult {
    change_status(state, id, body, CredentialStatusKind::Suspended).await
}

/// `POST /v1/credentials/{id}/reinstate`.
pub(super) async fn reinstate_credential(
    state: State<NodeState>,
    id: Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult {
    change_status(state, id, body, CredentialStatusKind::Active).await
}

/// `POST /v1/credentials/{id}/revoke|suspend|reinstate`: the body (reason code and reason,
/// both optional), then [`change_credential_status`].
async fn change_status(
    State(state): State<NodeState>,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
    status: CredentialStatusKind,
) -> ApiResult {
    let bytes = body_bytes(body)?;
    let request: StatusChangeRequest = if bytes.is_empty() {
        StatusChangeRequest::default()
    } else {
        request(json_object(&bytes)?)?
    };
    let changed =
        change_credential_status(&state, &id, status, request.reason_code, request.reason).await?;
    Ok((StatusCode::CREATED, Json(changed)).into_response())
}

/// Writes a `credential_status` entry moving credential `id` to `status`, refused before it is
/// signed when it would be ineffective (404 not logged here, 409 `not_this_office` or
/// `invalid_transition`); the default reason code is `suspension_lifted` for a reinstatement,
/// `unspecified` otherwise. Shared by the JSON routes and the console's credential page.
pub(crate) async fn change_credential_status(
    state: &NodeState,
    id: &str,
    status: CredentialStatusKind,
    reason_code: Option<CredentialReasonCode>,
    reason: Option<String>,
) -> ApiResult<StatusChanged> {
    let credential_id = credential_id(id)?;
    let reason_code = reason_code.unwrap_or(match status {
        CredentialStatusKind::Active => CredentialReasonCode::SuspensionLifted,
        _ => CredentialReasonCode::Unspecified,
    });
    let change = CredentialStatusV1 {
        v: 1,
        credential_id: credential_id.clone(),
        status,
        reason_code,
        reason,
    };
    change
        .validate()
        .map_err(|error| ApiError::invalid_field(error.to_string()))?;
    let found = state
        .reader()
        .run(move |store| store.credential(credential_id.as_str()))
        .await?;
    let Some(record) = found else {
        return Err(ApiError::not_found(format!(
            "credential {id} is not logged here"
        )));
    };
    refuse_if_own_key_rotated(state)?;
    let office = state.ingest.trust().root(&state.authority);
    credential_log::check_change(&record, &office, status).map_err(credential_refusal)?;
    let outcome = state
        .ingest
        .append(Body::CredentialStatus(change))
        .await
        .map_err(refusal_error)?;
    match outcome {
        IngestOutcome::Stored {
            id,
            ineffective: None,
            ..
        } => Ok(StatusChanged {
            entry_id: id,
            status,
        }),
        other => Err(ApiError::internal(format!(
            "a checked status change was not applied: {other:?}"
        ))),
    }
}
