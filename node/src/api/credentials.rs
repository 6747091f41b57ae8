//! `POST /v1/credentials`: an office issues an `IPRightCredential` for one of its live rights
//! to the holder key its register names. What may be attested is decided by
//! [`crate::credentials`]; this handler parses, loads the right and renders.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use proto_types::body::RightId;
use proto_types::keys::PublicKey;
use proto_types::timestamp::Timestamp;
use schemars::JsonSchema;
use serde::Deserialize;

use super::error::{ApiError, ApiResult};
use super::extract::{json_body, request};
use super::rights::load_right;
use super::state::NodeState;
use crate::credentials::{attest, issue, new_credential_id};
use crate::ingest::IngestError;

/// The body of `POST /v1/credentials`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct CredentialRequest {
    /// The right to attest: a live right this office registered.
    #[schemars(with = "RightId")]
    right_id: String,
    /// The key to issue to: the holder key the register names.
    #[schemars(with = "PublicKey")]
    holder: String,
    /// Until when the credential is valid (at most the right's expiry; default: the expiry).
    #[schemars(with = "Option<Timestamp>")]
    valid_until: Option<String>,
}

/// Refuses (409 `key_rotated`) work that would sign with this node's key once a rotation of it
/// is stored; own feed appends are refused by the writer itself.
pub(super) fn refuse_if_own_key_rotated(state: &NodeState) -> ApiResult<()> {
    match state.ingest.trust().rotated_at(&state.ingest.signing_key()) {
        Some(rotated_at) => Err(IngestError::OwnKeyRotated(rotated_at).into()),
        None => Ok(()),
    }
}

/// Issues a credential (201 with the signed document).
pub(super) async fn issue_credential(
    State(state): State<NodeState>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult {
    let request: CredentialRequest = request(json_body(body)?)?;
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
    refuse_if_own_key_rotated(&state)?;
    let right = load_right(&state, &right_id).await?;
    let now = crate::clock::now();
    let office = state.ingest.trust().root(&state.authority);
    let attestation = attest(&right, &office, &holder, requested_until, &now)?;
    let signed = issue(
        &new_credential_id(),
        &attestation,
        &state.signing_key(),
        &holder,
        &now,
    )
    .map_err(ApiError::internal)?;
    Ok((StatusCode::CREATED, Json(signed)).into_response())
}
