//! `POST /v1/keys/rotate`: the operator rotates this node's own key (protocol §6.9.2). The
//! writer does the work ([`crate::ingest::Ingest::rotate`]): pending key in the key file, the
//! `key_rotation` entry signed by the old key and committed, the key file rewritten.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use proto_types::body::MAX_KEY_ROTATION_REASON_CHARS;
use proto_types::entry::EntryId;
use proto_types::keys::{KeyFile, PublicKey};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::error::{ApiError, ApiResult};
use super::extract::{json_body, request};
use super::state::NodeState;
use crate::ingest::RotateRequest;

/// Why the key rotates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum RotationReason {
    /// A scheduled rotation: nothing of the old key is distrusted (`key_rotation` v1).
    Routine,
    /// The old key leaked: entries from `compromised_since` on lose their effect
    /// (`key_rotation` v2, §6.9.1).
    Compromise,
}

/// The body of `POST /v1/keys/rotate`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RotateRequestBody {
    /// `routine` or `compromise`.
    pub(crate) reason: RotationReason,
    /// For `compromise` (required there, refused otherwise): the first seq of the current
    /// key's feed that is not trusted, at most the rotation entry's seq.
    #[serde(default)]
    #[schemars(range(min = 1, max = 9_007_199_254_740_991_u64))]
    pub(crate) compromised_since: Option<u64>,
    /// The new key as a Multikey key file; without it the node generates the key.
    #[serde(default)]
    #[schemars(with = "Option<KeyFileSchema>")]
    pub(crate) new_key: Option<Value>,
    /// The rotation entry's `reason` text.
    #[serde(default)]
    #[schemars(length(min = 1, max = MAX_KEY_ROTATION_REASON_CHARS))]
    pub(crate) note: Option<String>,
}

/// A Multikey key file (`rightsnet key gen`).
#[derive(Debug, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)] // Only its schema is used.
pub(super) struct KeyFileSchema {
    /// The public key, `z6Mk…`.
    public_key_multibase: String,
    /// The secret key, `z3u2…`.
    secret_key_multibase: String,
}

/// `201` of `POST /v1/keys/rotate`.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct RotateResponse {
    /// The `key_rotation` entry.
    pub(crate) rotation_entry: EntryId,
    /// Its seq in the old key's feed.
    pub(crate) seq: u64,
    /// The key rotated away from.
    #[schemars(with = "PublicKey")]
    pub(crate) old_key: String,
    /// The key the node signs with now.
    #[schemars(with = "PublicKey")]
    pub(crate) new_key: String,
    /// For a compromise rotation: the first distrusted seq of the old key.
    pub(crate) compromised_since: Option<u64>,
}

/// Rotates this node's key (201 once the rotation entry is committed).
pub(super) async fn rotate_key(
    State(state): State<NodeState>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult {
    let body: RotateRequestBody = request(json_body(body)?)?;
    Ok((StatusCode::CREATED, Json(rotate(&state, body).await?)).into_response())
}

/// Rotates this node's key as `body` asks: the one path of `POST /v1/keys/rotate` and the
/// console's trust page.
pub(crate) async fn rotate(
    state: &NodeState,
    body: RotateRequestBody,
) -> ApiResult<RotateResponse> {
    let new_key = body
        .new_key
        .map(|value| {
            KeyFile::parse(value.to_string().as_bytes())
                .map_err(|error| ApiError::invalid_field(format!("new_key: {error}")))
        })
        .transpose()?;
    if let Some(note) = &body.note {
        let count = note.chars().count();
        if count == 0 || count > MAX_KEY_ROTATION_REASON_CHARS {
            return Err(ApiError::invalid_field(format!(
                "note: between 1 and {MAX_KEY_ROTATION_REASON_CHARS} characters"
            )));
        }
    }
    let done = state
        .ingest
        .rotate(RotateRequest {
            new_key,
            compromised_since: body.compromised_since,
            compromise: body.reason == RotationReason::Compromise,
            note: body.note,
        })
        .await?;
    Ok(RotateResponse {
        rotation_entry: done.entry_id,
        seq: done.seq,
        old_key: done.old_key.to_did_key(),
        new_key: done.new_key.to_did_key(),
        compromised_since: done.compromised_since,
    })
}
