//! Operator routes over the federation's peers: list them, block and unblock one.

use axum::Json;
use axum::extract::{Path, State};
use axum::response::IntoResponse;

use super::error::ApiResult;
use super::schemas::{BlockResponse, PeersResponse};
use super::state::NodeState;

/// Known peers: connected, blocked, gossip score, addresses.
pub(super) async fn list_peers(State(state): State<NodeState>) -> ApiResult {
    let peers = state.network.peers().await?;
    Ok(Json(PeersResponse { peers }).into_response())
}

/// Blocks a peer (persisted); `changed` says whether it was not blocked before.
pub(super) async fn block_peer(
    State(state): State<NodeState>,
    Path(peer_id): Path<String>,
) -> ApiResult {
    let newly = state.network.block(&peer_id).await?;
    Ok(Json(BlockResponse {
        peer_id,
        blocked: true,
        changed: newly,
    })
    .into_response())
}

/// Unblocks a peer; `changed` says whether it was blocked.
pub(super) async fn unblock_peer(
    State(state): State<NodeState>,
    Path(peer_id): Path<String>,
) -> ApiResult {
    let was = state.network.unblock(&peer_id).await?;
    Ok(Json(BlockResponse {
        peer_id,
        blocked: false,
        changed: was,
    })
    .into_response())
}
