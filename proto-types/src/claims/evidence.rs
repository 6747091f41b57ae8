//! A credential that carries the proof of its registration (protocol §6.5.3, §14.6): the
//! `evidence` item naming the registration entry may also hold `tlogProof`, a C2SP tlog-proof
//! whose `extra` data is the entry's canonical bytes. With it, a verifier abroad checks offline
//! that the office's log holds the registration the credential rests on: the entry's
//! signature, its place in the log (inclusion under a checkpoint signed by the log's key), and
//! then, with its own witness policy, the checkpoint's cosignatures.

use serde_json::{Value, json};

use crate::checkpoint::tlog_proof::{TlogProof, TlogProofError, VerifiedTlogProof};
use crate::entry::{Entry, EntryError, EntryId, VerifiedEntry};
use crate::tlog;

use super::REGISTRY_ENTRY_EVIDENCE;

/// The `evidence` member that holds the tlog-proof text.
pub const TLOG_PROOF_MEMBER: &str = "tlogProof";

/// Why a credential's registration proof does not hold.
#[derive(Debug, thiserror::Error)]
pub enum EvidenceError {
    /// The `tlogProof` member is not a string or not a tlog-proof.
    #[error("the registration proof is malformed: {0}")]
    Malformed(String),
    /// The proof carries no entry (`extra`).
    #[error("the registration proof carries no entry (its extra line)")]
    NoEntry,
    /// The entry it carries does not decode or verify.
    #[error("the entry in the registration proof does not verify: {0}")]
    Entry(#[from] EntryError),
    /// The entry is not the one `entryId` names.
    #[error("the entry in the registration proof is {found}, the evidence names {named}")]
    OtherEntry {
        /// The entry id the evidence names.
        named: String,
        /// The id of the entry carried.
        found: EntryId,
    },
    /// The entry is not at the proof's leaf index, or not in the checkpoint's feed.
    #[error(
        "the entry (author {author}, seq {seq}) is not leaf {index} of the feed of the checkpoint"
    )]
    OtherLeaf {
        /// The entry's author.
        author: String,
        /// The entry's seq.
        seq: u64,
        /// The proof's leaf index.
        index: u64,
    },
    /// The checkpoint or the inclusion path does not verify.
    #[error(transparent)]
    Proof(#[from] TlogProofError),
}

/// Adds `proof` (a tlog-proof of the registration entry, with the entry as its extra data) to
/// the registration evidence of an unsigned credential document built by
/// [`super::credential_document`]. Does nothing to a document without that evidence item.
pub fn add_registration_proof(document: &mut Value, proof: &TlogProof) {
    let Some(items) = document.get_mut("evidence").and_then(Value::as_array_mut) else {
        return;
    };
    if let Some(item) = items.iter_mut().find(|item| {
        item.get("type")
            .and_then(Value::as_array)
            .is_some_and(|types| types.iter().any(|t| t == REGISTRY_ENTRY_EVIDENCE))
    }) && let Some(object) = item.as_object_mut()
    {
        object.insert(TLOG_PROOF_MEMBER.to_owned(), json!(proof.to_text()));
    }
}

/// The registration proof a credential carries, verified: `None` when its evidence holds no
/// `tlogProof`. The first evidence item with an `entryId` is the registration evidence (as
/// [`super::read_credential`] reads it); its `tlogProof` must carry that entry as its extra
/// data, the entry must verify and be leaf `seq − 1` of the checkpoint's feed, and the
/// checkpoint's signature and the inclusion path must verify.
///
/// The caller still checks that the feed's key is the issuer's (or, across rotations, one of
/// its keys) and applies its witness policy to the proof's checkpoint.
pub fn registration_proof(
    credential: &Value,
) -> Option<Result<(VerifiedEntry, VerifiedTlogProof), EvidenceError>> {
    let item = credential
        .get("evidence")?
        .as_array()?
        .iter()
        .find(|item| item.get("entryId").and_then(Value::as_str).is_some())?;
    let text = item.get(TLOG_PROOF_MEMBER)?;
    let named = item.get("entryId").and_then(Value::as_str).unwrap_or("");
    Some(verify(named, text))
}

fn verify(named: &str, text: &Value) -> Result<(VerifiedEntry, VerifiedTlogProof), EvidenceError> {
    let text = text
        .as_str()
        .ok_or_else(|| EvidenceError::Malformed("tlogProof is not a string".to_owned()))?;
    let proof =
        TlogProof::parse(text).map_err(|error| EvidenceError::Malformed(error.to_string()))?;
    let bytes = proof.extra().ok_or(EvidenceError::NoEntry)?;
    let entry = Entry::decode(bytes)?.verify()?;
    if entry.id().to_hex() != named {
        return Err(EvidenceError::OtherEntry {
            named: named.to_owned(),
            found: entry.id(),
        });
    }
    let verified = proof.verify(&tlog::leaf_hash(entry.canonical_bytes()))?;
    if verified.checkpoint().author() != entry.author() || verified.index() + 1 != entry.seq() {
        return Err(EvidenceError::OtherLeaf {
            author: entry.author().to_did_key(),
            seq: entry.seq(),
            index: verified.index(),
        });
    }
    Ok((entry, verified))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;
    use crate::body::{Body, EntryKind, RightId, examples};
    use crate::checkpoint::sign_feed_checkpoint;
    use crate::claims::{RightClaims, credential_document};
    use crate::entry::UnsignedEntry;
    use crate::keys::SecretKey;
    use crate::timestamp::Timestamp;
    use crate::tlog::MemoryTree;

    /// A feed of five registrations by the example office, its tree, and a credential for the
    /// third registration carrying `proof_for`'s proof.
    fn setup() -> (SecretKey, Vec<VerifiedEntry>, MemoryTree) {
        let office = SecretKey::from_seed(&examples::OFFICE_SEED);
        let mut entries: Vec<VerifiedEntry> = Vec::new();
        let mut tree = MemoryTree::default();
        for seq in 1..=5u64 {
            let mut body = examples::registration();
            body["right_id"] = json!(format!("FR-TM-{seq}"));
            body["number"] = json!(seq.to_string());
            let entry = UnsignedEntry {
                seq,
                prev: entries.last().map(|entry| entry.id()),
                timestamp: Timestamp::from_unix_millis(1_700_000_000_000 + seq as i64).unwrap(),
                body: Body::decode(EntryKind::Registration, &body).unwrap(),
            }
            .sign(&office)
            .unwrap();
            tree.append(entry.canonical_bytes());
            entries.push(entry);
        }
        (office, entries, tree)
    }

    fn credential(office: &SecretKey, entry: &VerifiedEntry, proof: Option<&TlogProof>) -> Value {
        let claims = RightClaims {
            right_id: RightId::parse("FR-TM-3").unwrap(),
            right_type: "trademark".to_owned(),
            mark: Some("X".to_owned()),
            nice_classes: vec![25],
            holder_name: "H".to_owned(),
            expiry_date: None,
            registration_entry: entry.id(),
        };
        let holder = SecretKey::from_seed(&[3; 32]).public_key();
        let from = Timestamp::from_unix_millis(1_700_000_000_000).unwrap();
        let mut document =
            credential_document("urn:x", &office.public_key(), &holder, &claims, &from, None);
        if let Some(proof) = proof {
            add_registration_proof(&mut document, proof);
        }
        document
    }

    fn proof(
        office: &SecretKey,
        tree: &mut MemoryTree,
        entry: &VerifiedEntry,
        extra: Option<&[u8]>,
    ) -> TlogProof {
        let size = tree.size();
        let root = tree.root();
        let path = tlog::inclusion_proof(entry.seq() - 1, size, tree).unwrap();
        TlogProof::new(
            extra.map(<[u8]>::to_vec),
            entry.seq() - 1,
            path,
            &sign_feed_checkpoint(office, size, &root),
        )
        .unwrap()
    }

    #[test]
    fn a_credential_carrying_its_registration_proof_verifies_offline() {
        let (office, entries, mut tree) = setup();
        let entry = &entries[2];
        let proof = proof(&office, &mut tree, entry, Some(entry.canonical_bytes()));
        let document = credential(&office, entry, Some(&proof));
        let (verified_entry, verified) = registration_proof(&document)
            .expect("carries a proof")
            .expect("verifies");
        assert_eq!(verified_entry.id(), entry.id());
        assert_eq!(verified.checkpoint().author(), &office.public_key());
        assert_eq!(verified.checkpoint().checkpoint().size(), 5);
        // Without the member there is nothing to verify.
        assert!(registration_proof(&credential(&office, entry, None)).is_none());
    }

    #[test]
    fn a_registration_proof_of_another_entry_or_leaf_is_refused() {
        let (office, entries, mut tree) = setup();
        // The evidence names entry 3, the proof carries entry 4.
        let other = proof(
            &office,
            &mut tree,
            &entries[3],
            Some(entries[3].canonical_bytes()),
        );
        let document = credential(&office, &entries[2], Some(&other));
        assert!(matches!(
            registration_proof(&document),
            Some(Err(EvidenceError::OtherEntry { .. }))
        ));
        // Entry 3 carried at leaf 3 (entry 4's place): the path does not lead to the root.
        let mut wrong_leaf = proof(
            &office,
            &mut tree,
            &entries[3],
            Some(entries[2].canonical_bytes()),
        );
        let document = credential(&office, &entries[2], Some(&wrong_leaf));
        assert!(matches!(
            registration_proof(&document),
            Some(Err(EvidenceError::Proof(_)))
        ));
        // No entry carried.
        wrong_leaf = proof(&office, &mut tree, &entries[2], None);
        let document = credential(&office, &entries[2], Some(&wrong_leaf));
        assert!(matches!(
            registration_proof(&document),
            Some(Err(EvidenceError::NoEntry))
        ));
        // A checkpoint signed by another key than the entry's author.
        let stranger = SecretKey::from_seed(&[8; 32]);
        let foreign = proof(
            &stranger,
            &mut tree,
            &entries[2],
            Some(entries[2].canonical_bytes()),
        );
        let document = credential(&office, &entries[2], Some(&foreign));
        assert!(matches!(
            registration_proof(&document),
            Some(Err(EvidenceError::OtherLeaf { .. }))
        ));
        // Not a string, and not a proof.
        let mut document = credential(&office, &entries[2], None);
        document["evidence"][0][TLOG_PROOF_MEMBER] = json!(7);
        assert!(matches!(
            registration_proof(&document),
            Some(Err(EvidenceError::Malformed(_)))
        ));
        document["evidence"][0][TLOG_PROOF_MEMBER] = json!("c2sp.org/tlog-proof@v1\nindex x\n");
        assert!(matches!(
            registration_proof(&document),
            Some(Err(EvidenceError::Malformed(_)))
        ));
    }
}
