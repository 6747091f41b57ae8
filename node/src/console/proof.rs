//! The proof page (`GET /entries/{entry_id}/proof`, everyone): an entry of this node's store,
//! its C2SP tlog-proof against the latest checkpoint covering it, and the checks of
//! `rightsnet proof verify` run on both with this node's trust and witness policy
//! ([`crate::transparency::proofs::check_entry_proof`]). The proof text is shown whole so a
//! reader can copy it and check it offline without trusting this node.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use base64::Engine;
use proto_types::entry::{Entry, EntryId};

use super::views::{CheckRow, ProofPage};
use super::{ConsoleState, error_page, render};
use crate::storage::StorageError;
use crate::transparency::proofs::{EntryProofError, check_entry_proof, entry_proof};

/// What the store gave for the page: the entry and its proof.
struct Loaded {
    entry: Entry,
    proof: proto_types::checkpoint::tlog_proof::TlogProof,
}

/// `GET /entries/{entry_id}/proof`.
pub(super) async fn entry_proof_page(
    State(console): State<ConsoleState>,
    headers: HeaderMap,
    Path(entry_id): Path<String>,
) -> Response {
    let session = console.sessions.current(&headers);
    let id = match EntryId::from_hex(&entry_id) {
        Ok(id) => id,
        Err(error) => {
            return error_page(
                &console,
                session.as_ref(),
                StatusCode::BAD_REQUEST,
                format!("not an entry id: {error}"),
            );
        }
    };
    let loaded = console
        .node
        .reader()
        .run(move |store| {
            let proof = entry_proof(store, &id, false)?;
            let bytes = store
                .entry_bytes(&id)?
                .ok_or(EntryProofError::Unknown(id))?;
            let entry = Entry::decode(&bytes).map_err(|error| StorageError::Corrupt {
                cf: "entries",
                reason: format!("entry {id}: {error}"),
            })?;
            Ok::<_, EntryProofError>(Loaded { entry, proof })
        })
        .await;
    let Loaded { entry, proof } = match loaded {
        Ok(loaded) => loaded,
        Err(error) => {
            let status = match &error {
                EntryProofError::Unknown(_) | EntryProofError::NotInFeed(_) => {
                    StatusCode::NOT_FOUND
                }
                EntryProofError::NotCheckpointed { .. } => StatusCode::CONFLICT,
                EntryProofError::Storage(_) | EntryProofError::Build(_) => {
                    tracing::error!(%error, "console proof failed");
                    return error_page(
                        &console,
                        session.as_ref(),
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "internal error; see the node's log",
                    );
                }
            };
            return error_page(&console, session.as_ref(), status, error.to_string());
        }
    };
    let policy = console.node.transparency.policy().cloned();
    let report = check_entry_proof(
        &entry,
        &proof,
        console.node.ingest.trust(),
        policy.as_deref(),
    );
    let author = *entry.author();
    let page = ProofPage {
        layout: console.layout(session.as_ref()),
        entry_id: id.to_hex(),
        author: author.to_did_key(),
        author_name: console
            .node
            .ingest
            .trust()
            .get(&author)
            .map(|authority| authority.name)
            .unwrap_or_default(),
        seq: entry.seq(),
        kind: entry.kind().as_str().to_owned(),
        origin: report.origin.clone(),
        size: report.size,
        index: report.index,
        root: base64::engine::general_purpose::STANDARD.encode(report.root),
        valid: report.valid(),
        has_policy: policy.is_some(),
        checks: report
            .checks
            .iter()
            .map(|check| CheckRow {
                code: check.code.to_owned(),
                ok: check.ok,
                message: check.message.clone(),
            })
            .collect(),
        proof_text: proof.to_text(),
    };
    render(StatusCode::OK, &page)
}
