//! `GET /v1/status`: the node's authority (its identifier, signing key and key history),
//! peers and every feed's head.

use axum::Json;
use axum::extract::State;
use axum::response::IntoResponse;

use super::error::ApiResult;
use super::schemas::{KeyHistoryItem, StatusCheckpoint, StatusFeed, StatusResponse, WitnessStatus};
use super::state::NodeState;

/// The node's authority, peers, and every feed's head (author, latest seq and entry id).
pub(super) async fn status(State(state): State<NodeState>) -> ApiResult {
    let transparency = state.transparency.clone();
    let (heads, checkpoints, flagged) =
        state
            .reader()
            .run(move |store| {
                let heads = store.heads()?;
                let mut checkpoints = Vec::with_capacity(heads.len());
                for (author, _) in &heads {
                    checkpoints.push(store.latest_checkpoint(author)?.map(|latest| {
                        StatusCheckpoint {
                            size: latest.size,
                            cosignatures: latest.cosignatures.len(),
                        }
                    }));
                }
                let flagged: Vec<bool> = heads
                    .iter()
                    .map(|(author, _)| transparency.is_flagged(author))
                    .collect();
                Ok::<_, crate::storage::StorageError>((heads, checkpoints, flagged))
            })
            .await?;
    let trust = state.ingest.trust();
    let feeds: Vec<StatusFeed> = heads
        .iter()
        .zip(checkpoints)
        .zip(flagged)
        .map(|(((author, head), checkpoint), split_view)| StatusFeed {
            author: author.to_did_key(),
            name: trust.get(author).map(|authority| authority.name),
            seq: head.seq,
            id: head.id,
            checkpoint,
            split_view,
        })
        .collect();
    let entry_count: u64 = heads.iter().map(|(_, head)| head.seq).sum();
    let peers = state.peers.snapshot();
    let peer_count = peers.connected.len();
    let signing_key = state.ingest.signing_key();
    let key_history = trust
        .key_history(&signing_key)
        .into_iter()
        .map(|(old, rotation)| KeyHistoryItem {
            old_key: old.to_did_key(),
            new_key: rotation.new_key.to_did_key(),
            entry_id: rotation.entry_id,
            seq: rotation.seq,
            compromised_since: rotation.compromised_since,
        })
        .collect();
    Ok(Json(StatusResponse {
        authority: trust.root(&signing_key).to_did_key(),
        signing_key: signing_key.to_did_key(),
        key_history,
        name: trust
            .get(&state.authority)
            .map(|authority| authority.name.clone()),
        peer_id: peers.peer_id,
        p2p_addrs: peers.listen_addrs,
        peers: peers.connected,
        peer_count,
        feeds,
        entry_count,
        version: env!("CARGO_PKG_VERSION"),
        witness: WitnessStatus {
            name: state.transparency.identity().name.clone(),
            vkey: state.transparency.identity().vkey.clone(),
        },
    })
    .into_response())
}
