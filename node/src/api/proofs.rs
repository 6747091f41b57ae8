//! Proofs (protocol §11.5, §14.6): `GET /v1/entries/{id}/proof`, an entry's C2SP tlog-proof
//! relative to the latest checkpoint the node holds when it covers the entry, and
//! `GET /v1/feeds/{author}/consistency?from=N&to=M`, the RFC 9162 consistency proof between two
//! sizes of a feed's tree.
//!
//! Each answer is read in one store read on the blocking pool: the checkpoint (or the head) and
//! the proof's nodes. A stored node never changes, the head is written with the nodes under it,
//! and a checkpoint is stored only when its root is the stored tree's at its size, so a proof
//! is whole and leads to the checkpoint's root.

use crate::transparency::proofs;
use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine;
use proto_types::entry::EntryId;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::error::{ApiError, ApiResult};
use super::extract::query_params;
use super::schemas::schema_of;
use super::state::NodeState;
use super::tiles::{NO_CACHE, TEXT_PLAIN, answer, head_seq, path_author, uncached};
use super::{Access, RouteSpec, openapi};

/// The routes of this file, for the route table.
pub(super) fn routes() -> Vec<RouteSpec> {
    vec![
        RouteSpec {
            method: "get",
            path: "/v1/entries/{id}/proof",
            summary: "The entry's C2SP tlog-proof (index = seq − 1, the inclusion path, and the latest checkpoint held, with its cosignatures, when it covers the entry), verifiable offline with `rightsnet proof verify`; text/plain, Cache-Control: no-cache",
            access: Access::Public,
            responses: &[
                (200, "the tlog-proof text"),
                (400, "`bad_entry_id`"),
                (404, "unknown entry"),
                (
                    409,
                    "`not_checkpointed`: no checkpoint held covers the entry yet (retry after the next checkpoint; Retry-After says when)",
                ),
            ],
            request: None,
            response: openapi::text_schema,
            query: None,
            handler: get(entry_proof),
        },
        RouteSpec {
            method: "get",
            path: "/v1/feeds/{author}/consistency",
            summary: "The RFC 9162 consistency proof between the trees of the feed's first `from` and first `to` entries (0 < from ≤ to ≤ head): the hashes in base64, empty when from = to",
            access: Access::Public,
            responses: &[
                (200, "the proof"),
                (
                    400,
                    "`bad_author`, `bad_query` (from or to missing or not a number), `bad_range` (from = 0 or from > to)",
                ),
                (404, "no such feed, or `to` beyond its head"),
            ],
            request: None,
            response: schema_of::<ConsistencyResponse>,
            query: Some(ConsistencyParams::json_schema),
            handler: get(consistency),
        },
    ]
}

/// Seconds a client waits before asking again for a proof not yet checkpointed: a node
/// checkpoints its own feed every second while it writes (protocol §14.3).
const RETRY_AFTER_SECONDS: &str = "1";

/// `GET /v1/entries/{id}/proof`.
pub(super) async fn entry_proof(
    State(state): State<NodeState>,
    Path(id): Path<String>,
) -> Response {
    match serve_proof(state, id).await {
        Ok(response) => response,
        Err(error) if error.status == StatusCode::CONFLICT => {
            let mut response = uncached(error);
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static(RETRY_AFTER_SECONDS),
            );
            response
        }
        Err(error) => uncached(error),
    }
}

async fn serve_proof(state: NodeState, id: String) -> ApiResult {
    let id = EntryId::from_hex(&id)
        .map_err(|error| ApiError::bad_request("bad_entry_id", error.to_string()))?;
    let text = state
        .reader()
        .run(move |store| Ok::<_, ApiError>(proofs::entry_proof(store, &id, false)?.to_text()))
        .await?;
    Ok(answer(TEXT_PLAIN, NO_CACHE, text.into_bytes()))
}

/// The query of `GET /v1/feeds/{author}/consistency`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ConsistencyParams {
    /// The older tree size, at least 1 (required).
    #[schemars(range(min = 1))]
    from: Option<u64>,
    /// The newer tree size, at least `from` and at most the feed's head (required).
    #[schemars(range(min = 1))]
    to: Option<u64>,
}

/// A consistency proof between two sizes of a feed's tree.
#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct ConsistencyResponse {
    /// The older tree size.
    from: u64,
    /// The newer tree size.
    to: u64,
    /// The proof's hashes (RFC 9162 §2.1.4.1), standard base64 with padding, in proof order;
    /// empty when `from` = `to`.
    hashes: Vec<String>,
}

/// `GET /v1/feeds/{author}/consistency?from=N&to=M`.
pub(super) async fn consistency(
    State(state): State<NodeState>,
    Path(author): Path<String>,
    params: Result<Query<ConsistencyParams>, QueryRejection>,
) -> ApiResult {
    let params = query_params(params)?;
    let author = path_author(&author)?;
    let (Some(from), Some(to)) = (params.from, params.to) else {
        return Err(ApiError::bad_request(
            "bad_query",
            "both `from` and `to` are required",
        ));
    };
    if from == 0 || from > to {
        return Err(ApiError::bad_request(
            "bad_range",
            format!("a consistency proof needs 0 < from ≤ to, got from {from} and to {to}"),
        ));
    }
    let hashes = state
        .reader()
        .run(move |store| {
            let head = head_seq(store, &author)?;
            if to > head {
                return Err(ApiError::not_found(format!(
                    "the feed has {head} entries, fewer than {to}"
                )));
            }
            Ok(store.consistency_proof(&author, from, to)?)
        })
        .await?;
    let engine = base64::engine::general_purpose::STANDARD;
    Ok(Json(ConsistencyResponse {
        from,
        to,
        hashes: hashes.iter().map(|hash| engine.encode(hash.0)).collect(),
    })
    .into_response())
}
