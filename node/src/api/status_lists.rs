//! `GET /v1/status-lists/{issuer}/{purpose}/{n}`: a W3C Bitstring Status List credential
//! (protocol.md §7.5), public and cacheable. What the bits are and when a list is signed again
//! is [`crate::status_lists`]; this handler parses the path, picks the signing key and
//! answers the document.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use proto_types::keys::{PublicKey, SecretKey};
use proto_types::status_list::{StatusPurpose, check_list_number};

use super::error::{ApiError, ApiResult};
use super::state::NodeState;

/// How long a client or proxy may reuse an answer, in seconds (§7.5).
pub(super) const CACHE_CONTROL: &str = "public, max-age=300";

/// The list number from the path: a canonical decimal (no sign, no leading zero) of at most
/// [`proto_types::status_list::MAX_LIST_NUMBER`], or 400 `bad_list_number`.
fn path_list_number(text: &str) -> ApiResult<u32> {
    let bad = || {
        ApiError::bad_request(
            "bad_list_number",
            format!(
                "the list number must be a decimal from 0 to {} without leading zeros",
                proto_types::status_list::MAX_LIST_NUMBER
            ),
        )
    };
    let canonical = !text.is_empty()
        && text.len() <= 5
        && text.bytes().all(|byte| byte.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    if !canonical {
        return Err(bad());
    }
    let number: u64 = text.parse().map_err(|_| bad())?;
    check_list_number(number).map_err(|_| bad())
}

/// The secret key this node signs `issuer`'s lists with: its own key while `issuer` is it.
/// Retired keys of the node's authority (kept in its key file after a rotation, §6.9.2) are
/// to be served too once the node holds them; any other key is not this node's to sign for.
fn signing_key(state: &NodeState, issuer: &PublicKey) -> Option<Arc<SecretKey>> {
    (state.key.public_key() == *issuer).then(|| state.key.clone())
}

/// A Bitstring Status List credential, signed by its issuer key.
pub(super) async fn status_list(
    State(state): State<NodeState>,
    Path((issuer, purpose, list)): Path<(String, String, String)>,
) -> ApiResult<Response> {
    let issuer = PublicKey::from_multibase(&issuer).map_err(|error| {
        ApiError::bad_request(
            "bad_issuer",
            format!("the issuer must be an Ed25519 Multikey (z6Mk…): {error}"),
        )
    })?;
    let purpose = StatusPurpose::parse(&purpose)
        .map_err(|error| ApiError::bad_request("bad_purpose", error.to_string()))?;
    let list = path_list_number(&list)?;
    let not_found = |what: String| ApiError::not_found(what);
    let Some(key) = signing_key(&state, &issuer) else {
        return Err(not_found(format!(
            "this node does not publish the status lists of {}",
            issuer.to_multibase()
        )));
    };
    let lists = state.status_lists.clone();
    let now = crate::clock::now();
    let signed = tokio::task::spawn_blocking(move || lists.signed_list(&key, purpose, list, &now))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    let Some(document) = signed else {
        return Err(not_found(format!(
            "{} logged no credential in {purpose} list {list}",
            issuer.to_multibase()
        )));
    };
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static(CACHE_CONTROL),
    );
    Ok((headers, document.to_vec()).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_numbers_are_canonical_decimals_in_range() {
        for (text, number) in [("0", 0), ("1", 1), ("16383", 16_383), ("907", 907)] {
            assert_eq!(path_list_number(text).unwrap(), number);
        }
        for text in [
            "", "-1", "+1", "01", "00", "16384", "99999", "100000", "1e3", " 1", "0x1", "１",
        ] {
            let error = path_list_number(text).unwrap_err();
            assert_eq!(error.code, "bad_list_number", "{text:?}");
        }
    }
}
