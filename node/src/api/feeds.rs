//! Feeds and entries: every feed's head, one feed's entries, one entry, submitting an entry
//! signed elsewhere, and equivocation proofs.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::response::IntoResponse;
use proto_types::entry::EntryId;
use proto_types::keys::PublicKey;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use super::error::{ApiError, ApiResult};
use super::extract::{body_bytes, page_size, query_params};
use super::outcome::outcome_response;
use super::schemas::{EntryResponse, EquivocationsResponse, FeedPage, FeedView, FeedsResponse};
use super::state::NodeState;
use crate::ingest::Source;
use crate::storage::StorageError;
use crate::transparency::split_view::SplitViewProof;

/// Default page size of a feed.
const DEFAULT_FEED_PAGE: usize = 100;
/// Default and most proofs of `GET /v1/equivocations` below the node's page size.
const DEFAULT_PROOFS: usize = 100;
/// Least byte budget of one feed page; the budget is four times the larger of this and the
/// node's `max_body_bytes`.
const MIN_FEED_PAGE_BYTES: usize = 1024 * 1024;

/// Every feed this node holds: author, name, role, latest seq and entry id.
pub(super) async fn feeds(State(state): State<NodeState>) -> ApiResult {
    let heads = state.reader().run(|store| store.heads()).await?;
    let trust = state.ingest.trust();
    let feeds = heads
        .iter()
        .map(|(author, head)| {
            let authority = trust.get(author);
            FeedView {
                author: author.to_did_key(),
                role: authority.as_ref().map(|authority| authority.role),
                name: authority.map(|authority| authority.name),
                seq: head.seq,
                id: head.id,
            }
        })
        .collect();
    Ok(Json(FeedsResponse { feeds }).into_response())
}

/// The query of `GET /v1/feeds/{author}`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct FeedParams {
    /// First seq (default 1).
    #[schemars(range(max = u64::MAX))]
    from: Option<u64>,
    /// Most entries (default 100); also bounded by a byte budget.
    limit: Option<usize>,
}

/// Entries of one feed in seq order, from `from`, at most `limit` and a byte budget.
pub(super) async fn feed(
    State(state): State<NodeState>,
    Path(author): Path<String>,
    params: Result<Query<FeedParams>, QueryRejection>,
) -> ApiResult {
    let params = query_params(params)?;
    let author = PublicKey::from_did_key(&author)
        .map_err(|error| ApiError::bad_request("bad_author", error.to_string()))?;
    let limit = page_size(
        params.limit,
        DEFAULT_FEED_PAGE,
        state.config.limits.max_page_size,
    )?;
    let from = params.from.unwrap_or(1).max(1);
    let max_bytes = state.config.limits.max_body_bytes.max(MIN_FEED_PAGE_BYTES) * 4;
    let entries = state
        .reader()
        .run(move |store| store.feed(&author, from, limit, max_bytes))
        .await?;
    let values: Vec<Value> = entries
        .iter()
        .filter_map(|bytes| serde_json::from_slice(bytes).ok())
        .collect();
    let next = values
        .last()
        .and_then(|entry| entry.get("seq"))
        .and_then(Value::as_u64)
        .map(|seq| seq + 1);
    Ok(Json(FeedPage {
        entries: values,
        next_from: next,
    })
    .into_response())
}

/// One entry by id, with whether it changed any state.
pub(super) async fn get_entry(State(state): State<NodeState>, Path(id): Path<String>) -> ApiResult {
    let id = EntryId::from_hex(&id)
        .map_err(|error| ApiError::bad_request("bad_entry_id", error.to_string()))?;
    let (entry, ineffective) = state
        .reader()
        .run(move |store| {
            Ok::<_, StorageError>((store.entry(&id)?, store.ineffective_reason(&id)?))
        })
        .await?;
    let entry = entry.ok_or_else(|| ApiError::not_found(format!("no entry {id}")))?;
    Ok(Json(EntryResponse {
        id: entry.id(),
        entry: entry.value().clone(),
        effective: ineffective.is_none(),
        ineffective_reason: ineffective,
    })
    .into_response())
}

/// Submits an entry already signed by a trusted authority.
pub(super) async fn submit_entry(
    State(state): State<NodeState>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult {
    // An entry refused for its size never reaches the ingest path; count it here.
    let bytes = body_bytes(body).inspect_err(|_| state.metrics.entry_rejected("too_large"))?;
    Ok(outcome_response(
        state
            .ingest
            .submit_bytes(bytes.to_vec(), Source::Local)
            .await?,
    ))
}

/// The query of `GET /v1/equivocations`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct LimitParams {
    /// Most proofs (default 100).
    limit: Option<usize>,
}

/// Equivocation proofs, at most `limit` (clamped to the node's page size).
pub(super) async fn equivocations(
    State(state): State<NodeState>,
    params: Result<Query<LimitParams>, QueryRejection>,
) -> ApiResult {
    let limit = query_params(params)?
        .limit
        .unwrap_or(DEFAULT_PROOFS)
        .clamp(1, state.config.limits.max_page_size);
    let (proofs, checkpoint_equivocations) = state
        .reader()
        .run(move |store| {
            // Stored only once checked; checked again here, on the blocking pool, to render
            // each with its author, sizes and roots.
            let checkpoint_equivocations: Vec<Value> = store
                .checkpoint_equivocations(limit)?
                .into_iter()
                .map(|stored| {
                    serde_json::to_vec(&stored)
                        .ok()
                        .and_then(|bytes| SplitViewProof::from_json(&bytes).ok())
                        .map_or(stored, |proof| proof.to_view())
                })
                .collect();
            Ok::<_, StorageError>((store.equivocations(limit)?, checkpoint_equivocations))
        })
        .await?;
    Ok(Json(EquivocationsResponse {
        equivocations: proofs,
        checkpoint_equivocations,
    })
    .into_response())
}
