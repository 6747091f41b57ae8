//! Witness cosignatures (`c2sp.org/tlog-cosignature`, `cosignature/v1`; protocol.md §14.4).
//!
//! A Rightsnet witness key's name is `rightsnet/witness/` followed by the key's did:key
//! ([`witness_name`]), so a cosignature line names its own key: [`witness_key_from_name`]
//! gives the public key, and a line whose key id is not the one that key gives is someone
//! else's (ignored, as the signed-note specification says for unknown keys).
//!
//! A cosignature is signature type `0x04`: the 8-byte big-endian timestamp (POSIX seconds) and
//! an Ed25519 signature over `cosignature/v1\ntime <timestamp>\n` followed by the checkpoint's
//! note text. Cosigning says "as of this time, this is the largest tree of this origin I have
//! seen, and it is consistent with everything I cosigned before"; checking that consistency is
//! the witness's job before calling [`cosign`].

use super::{CheckpointError, VerifiedCheckpoint};
use crate::keys::{PublicKey, SecretKey};
use crate::note::{Note, NoteError, NoteSignature, SignatureType, VerifierKey};
use crate::tlog::TreeHash;

/// The name of every Rightsnet witness key is this prefix followed by the key's did:key.
pub const WITNESS_NAME_PREFIX: &str = "rightsnet/witness/";

/// The signed-note key name of the witness key `key`: `rightsnet/witness/` and its did:key.
pub fn witness_name(key: &PublicKey) -> String {
    format!("{WITNESS_NAME_PREFIX}{}", key.to_did_key())
}

/// The witness key a witness name names, if `name` is exactly `rightsnet/witness/` followed by
/// the canonical did:key of a valid Ed25519 key.
pub fn witness_key_from_name(name: &str) -> Option<PublicKey> {
    let did = name.strip_prefix(WITNESS_NAME_PREFIX)?;
    let key = PublicKey::from_did_key(did).ok()?;
    (key.to_did_key() == did).then_some(key)
}

/// The cosigner verifier key (type `0x04`) of the witness key `key`, named [`witness_name`].
pub fn witness_verifier_key(key: &PublicKey) -> VerifierKey {
    // A witness name is a valid key name: `rightsnet/witness/did:key:z…` has no space, `+` or
    // control character.
    VerifierKey::from_valid_name(witness_name(key), SignatureType::CosignatureV1, *key)
}

/// The cosigner verifier key a witness name gives ([`witness_key_from_name`]).
pub fn witness_verifier_key_from_name(name: &str) -> Option<VerifierKey> {
    witness_key_from_name(name).map(|key| witness_verifier_key(&key))
}

/// The vkey text of the witness key `key`, as `GET /v1/status` names it and a policy lists it:
/// `rightsnet/witness/did:key:z…+<key id>+<base64(0x04 ‖ key)>`.
pub fn witness_vkey(key: &PublicKey) -> String {
    witness_verifier_key(key).to_string()
}

/// Cosigns `checkpoint` with the witness key `witness` at `timestamp` (POSIX seconds, at most
/// 2^63 − 1): the signature line, named [`witness_name`], to append to the checkpoint's note
/// (a witness's `add-checkpoint` answer is this line). The caller has checked that the
/// checkpoint is consistent with the last one this witness cosigned for its origin.
pub fn cosign(
    checkpoint: &VerifiedCheckpoint,
    witness: &SecretKey,
    timestamp: u64,
) -> Result<NoteSignature, NoteError> {
    let mut note = Note::new(checkpoint.note().text())?;
    note.cosign(&witness_name(&witness.public_key()), witness, timestamp)
}

/// A cosignature that verified over a feed checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedCosignature {
    witness: VerifierKey,
    timestamp: u64,
    line: NoteSignature,
    size: u64,
    root: TreeHash,
}

impl VerifiedCosignature {
    /// The witness's verifier key.
    pub fn witness(&self) -> &VerifierKey {
        &self.witness
    }

    /// When the witness cosigned, in POSIX seconds.
    pub fn timestamp(&self) -> u64 {
        self.timestamp
    }

    /// The signature line.
    pub fn line(&self) -> &NoteSignature {
        &self.line
    }

    /// The size of the cosigned checkpoint.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The root of the cosigned checkpoint.
    pub fn root(&self) -> &TreeHash {
        &self.root
    }
}

/// The cosignatures of a checkpoint checked against some witness keys: those that verified,
/// and the lines that named a witness key but did not verify.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CosignatureCheck {
    valid: Vec<VerifiedCosignature>,
    invalid: Vec<NoteSignature>,
}

impl CosignatureCheck {
    /// The cosignatures that verified, in note order.
    pub fn valid(&self) -> &[VerifiedCosignature] {
        &self.valid
    }

    /// The lines that named a known witness key (name and key id) but did not verify, or
    /// named two known keys at once. The signed-note specification says a note with one
    /// should be refused; a node drops the line instead of relaying it.
    pub fn invalid(&self) -> &[NoteSignature] {
        &self.invalid
    }

    /// The valid cosignatures.
    pub fn into_valid(self) -> Vec<VerifiedCosignature> {
        self.valid
    }
}

impl VerifiedCheckpoint {
    /// Verifies `line` as a cosignature by `witness` (a type `0x04` key) over this checkpoint.
    pub fn verify_cosignature(
        &self,
        witness: &VerifierKey,
        line: &NoteSignature,
    ) -> Result<VerifiedCosignature, NoteError> {
        let invalid = || NoteError::InvalidSignature {
            name: line.name().to_string(),
            key_id: line.key_id(),
        };
        if witness.signature_type() != SignatureType::CosignatureV1 {
            return Err(invalid());
        }
        let timestamp = witness
            .verify_line(self.note().text(), line)?
            .ok_or_else(invalid)?;
        Ok(VerifiedCosignature {
            witness: witness.clone(),
            timestamp,
            line: line.clone(),
            size: self.checkpoint().size(),
            root: *self.checkpoint().root(),
        })
    }

    /// Checks the signature lines against the cosigner keys `witnesses` (keys of another type
    /// are ignored): a line that names one of them (key name and key id) is valid or invalid,
    /// other lines are ignored.
    pub fn cosignatures(&self, witnesses: &[VerifierKey]) -> CosignatureCheck {
        let mut check = CosignatureCheck::default();
        for line in self.other_signatures() {
            let mut matching = witnesses.iter().filter(|key| {
                key.signature_type() == SignatureType::CosignatureV1 && key.names(line)
            });
            let Some(witness) = matching.next() else {
                continue;
            };
            if matching.any(|other| other != witness) {
                check.invalid.push(line.clone());
                continue;
            }
            match self.verify_cosignature(witness, line) {
                Ok(cosignature) => check.valid.push(cosignature),
                Err(_) => check.invalid.push(line.clone()),
            }
        }
        check
    }

    /// Checks every line whose name is a Rightsnet witness name ([`witness_key_from_name`])
    /// and whose key id is the one that key gives: the witness keys are taken from the names.
    /// Other lines are ignored.
    pub fn rightsnet_cosignatures(&self) -> CosignatureCheck {
        let witnesses: Vec<VerifierKey> = self
            .other_signatures()
            .filter_map(|line| witness_verifier_key_from_name(line.name()))
            .collect();
        self.cosignatures(&witnesses)
    }

    /// Verifies `line` as `witness`'s cosignature of this checkpoint and appends it to the
    /// note (replacing an earlier line of the same key).
    pub fn add_cosignature(
        &mut self,
        witness: &VerifierKey,
        line: NoteSignature,
    ) -> Result<VerifiedCosignature, CheckpointError> {
        let cosignature = self.verify_cosignature(witness, &line)?;
        self.note.add_signature(line)?;
        Ok(cosignature)
    }

    /// The note with the author's signature and exactly `cosignatures`, in that order (those
    /// of another checkpoint are left out): what a node serves and gossips.
    pub fn to_note_text_with(&self, cosignatures: &[VerifiedCosignature]) -> String {
        let mut note = self.note().without_signatures();
        let lines = std::iter::once(self.log_signature()).chain(
            cosignatures
                .iter()
                .filter(|cosignature| {
                    cosignature.size == self.checkpoint().size()
                        && cosignature.root == *self.checkpoint().root()
                        && !self.log_key().names(&cosignature.line)
                })
                .map(VerifiedCosignature::line),
        );
        for line in lines {
            // A line that would make the note too large is left out; a later line of the same
            // key replaces an earlier one.
            if note.add_signature(line.clone()).is_err() {
                break;
            }
        }
        note.to_text()
    }
}
