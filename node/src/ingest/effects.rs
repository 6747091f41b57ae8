//! What a stored entry does besides extending its feed ([`Effect`]): the fold of a right's
//! state, a claim's indexes, a key rotation, or nothing (an *ineffective* entry, with the
//! reason stored next to it). Decided on the writer thread against the state as the current
//! group left it.

use proto_types::body::{Body, Jurisdiction};
use proto_types::entry::Entry;
use proto_types::keys::PublicKey;

use super::writer::{Staged, Writer};
use super::{IngestError, Refusal};
use crate::rights::{self, EntryMeta, RightState};

impl Writer {
    /// Checks a key rotation: the new key proves possession and belongs to nobody yet.
    fn check_rotation(
        &self,
        staged: &Staged,
        entry: &Entry,
        body: &proto_types::body::KeyRotationV1,
    ) -> Result<(), String> {
        if let Some(since) = body.compromised_since
            && since > entry.seq()
        {
            return Err(format!(
                "compromised_since {since} is above the rotation's own seq {}",
                entry.seq()
            ));
        }
        let proof = proto_types::keys::Signature::from_multibase(&body.new_key_proof)
            .map_err(|error| format!("new_key_proof: {error}"))?;
        let message = proto_types::body::key_rotation_proof_message(entry.author(), &body.new_key);
        body.new_key
            .verify(&message, &proof)
            .map_err(|_| "new_key_proof does not verify under the new key".to_owned())?;
        let taken = self.trust.get(&body.new_key).is_some()
            || staged
                .rotations
                .iter()
                .any(|(_, new, _)| new == &body.new_key)
            || self.trust.rotated_at(&body.new_key).is_some();
        if taken {
            return Err("the new key already belongs to an authority".to_owned());
        }
        Ok(())
    }

    pub(super) fn effects(&self, staged: &Staged, entry: &Entry) -> Result<Effect, IngestError> {
        let meta = EntryMeta::of(entry, self.trust.root(entry.author()));
        Ok(match entry.body() {
            Body::Registration(body) => {
                if !self.trust.office_for(entry.author(), &body.jurisdiction) {
                    return Ok(Effect::Ineffective(not_office(&body.jurisdiction)));
                }
                let previous = self.right(staged, body.right_id.as_str())?;
                match rights::apply_registration(previous.as_ref(), &meta, body) {
                    Ok(state) => Effect::Right { previous, state },
                    Err(reason) => Effect::Ineffective(reason.to_string()),
                }
            }
            Body::Status(body) => {
                let jurisdiction = body.right_id.jurisdiction();
                if !self.trust.office_for(entry.author(), jurisdiction) {
                    return Ok(Effect::Ineffective(not_office(jurisdiction)));
                }
                let previous = self.right(staged, body.right_id.as_str())?;
                match rights::apply_status(previous.as_ref(), &meta, body) {
                    Ok(state) => Effect::Right { previous, state },
                    Err(reason) => Effect::Ineffective(reason.to_string()),
                }
            }
            Body::Notice(_) | Body::Decision(_) | Body::CounterNotice(_) => {
                if self.trust.is_marketplace(entry.author()) {
                    Effect::Claim
                } else {
                    Effect::Ineffective(
                        "only marketplaces record notices, decisions and counter-notices"
                            .to_owned(),
                    )
                }
            }
            Body::KeyRotation(body) => match self.check_rotation(staged, entry, body) {
                Ok(()) => Effect::Rotation {
                    old: *entry.author(),
                    new: body.new_key,
                    seq: entry.seq(),
                },
                Err(reason) => Effect::Ineffective(reason),
            },
            Body::Authority(_) => Effect::None,
            // The credential log (protocol §6.10–6.11): `ingest::credential_log`.
            Body::Credential(_) | Body::CredentialStatus(_) => {
                return self.credential_effect(staged, entry);
            }
        })
    }
}

/// Why an entry of an author that is no office for the right's jurisdiction changed nothing
/// (the same words as [`Refusal::NotOffice`]).
fn not_office(jurisdiction: &Jurisdiction) -> String {
    Refusal::NotOffice(jurisdiction.clone()).to_string()
}

/// What a stored entry does besides extending its feed.
// A transient value on the writer thread; see `Command`.
#[allow(clippy::large_enum_variant)]
pub(super) enum Effect {
    /// A registration or status entry moves the right from `previous` to `state`.
    Right {
        previous: Option<RightState>,
        state: RightState,
    },
    /// A marketplace's notice, decision or counter-notice: indexed.
    Claim,
    /// The author moved from `old` to `new` with its entry at `seq`.
    Rotation {
        old: PublicKey,
        new: PublicKey,
        seq: u64,
    },
    /// A `credential` entry logs a credential (`previous` is `None`), or a `credential_status`
    /// entry moves its record from `previous` to `record`.
    Credential {
        previous: Option<crate::credential_log::CredentialRecord>,
        record: crate::credential_log::CredentialRecord,
    },
    /// Nothing beyond the feed (an `authority` entry).
    None,
    /// Nothing at all, for this reason (stored with the entry).
    Ineffective(String),
}
