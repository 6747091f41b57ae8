//! The witness policy (config `[transparency] witness_policy`, `c2sp.org/tlog-policy` text)
//! and what a verdict says of the checkpoint its registry state came from (protocol §14.4).

use std::path::Path;
use std::sync::Arc;

use proto_types::checkpoint::policy::{MAX_POLICY_BYTES, WitnessPolicy};
use proto_types::checkpoint::verify_feed_checkpoint;
use proto_types::keys::PublicKey;
use serde::Serialize;

use crate::storage::{StorageError, Store};

/// Reads and parses the witness policy file (bounded by [`MAX_POLICY_BYTES`]).
pub fn load_policy(path: &Path) -> anyhow::Result<WitnessPolicy> {
    let text = crate::config::read_bounded(path, MAX_POLICY_BYTES)?;
    WitnessPolicy::parse(&text)
        .map_err(|error| anyhow::anyhow!("witness policy {}: {error}", path.display()))
}

/// How many stored checkpoints a verdict looks through for one its policy accepts.
pub const VERDICT_CHECKPOINTS_SCANNED: usize = 8;

/// The checkpoint of the issuing office's feed that covers the registry state a verdict relied
/// on (the entry that last set the right's state), as the verdict names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct CheckpointRelied {
    /// The checkpoint's origin, `rightsnet/feed/<did:key>`.
    pub origin: String,
    /// Its tree size.
    pub size: u64,
    /// Its root hash, base64.
    pub root: String,
    /// The names of the witnesses whose cosignatures of it this node holds and verified.
    pub cosigners: Vec<String>,
    /// Whether the node's witness policy accepts those cosignatures; absent when no policy is
    /// configured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy_met: Option<bool>,
    /// The policy's names of the witnesses that counted, when a policy is configured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy_counted: Option<Vec<String>>,
}

/// The latest stored checkpoint of `author`'s feed that covers `seq`, preferring the latest
/// one `policy` accepts among the last [`VERDICT_CHECKPOINTS_SCANNED`]; none when no stored
/// checkpoint covers it yet. Blocking: call off the executor.
pub fn checkpoint_relied(
    store: &Store,
    author: &PublicKey,
    seq: u64,
    policy: Option<&Arc<WitnessPolicy>>,
) -> Result<Option<CheckpointRelied>, StorageError> {
    let candidates = store.checkpoints_covering(author, seq, VERDICT_CHECKPOINTS_SCANNED)?;
    let mut first = None;
    for stored in candidates {
        let Ok(mut checkpoint) = verify_feed_checkpoint(&stored.note) else {
            continue;
        };
        let mut cosignatures = Vec::new();
        for line in &stored.cosignatures {
            let Ok(parsed) = proto_types::note::NoteSignature::parse_line(line) else {
                continue;
            };
            let Some(key) =
                proto_types::checkpoint::cosignature::witness_verifier_key_from_name(parsed.name())
            else {
                continue;
            };
            if let Ok(cosignature) = checkpoint.add_cosignature(&key, parsed) {
                cosignatures.push(cosignature);
            }
        }
        let verdict = policy.map(|policy| policy.satisfied_by(&cosignatures));
        let relied = CheckpointRelied {
            origin: checkpoint.checkpoint().origin().to_owned(),
            size: stored.size,
            root: base64::Engine::encode(&base64::engine::general_purpose::STANDARD, stored.root.0),
            cosigners: cosignatures
                .iter()
                .map(|cosignature| cosignature.witness().name().to_owned())
                .collect(),
            policy_met: verdict.as_ref().map(|verdict| verdict.satisfied()),
            policy_counted: verdict.as_ref().map(|verdict| verdict.counted().to_vec()),
        };
        if relied.policy_met != Some(false) {
            return Ok(Some(relied));
        }
        first.get_or_insert(relied);
    }
    Ok(first)
}
