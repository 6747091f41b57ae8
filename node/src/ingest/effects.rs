//! What a stored entry does besides extending its feed ([`Effect`]): the fold of a right's
//! state, a claim's indexes, a key rotation, an endorsement, or nothing (an *ineffective* entry, with the
//! reason stored next to it). Decided on the writer thread against the state as the current
//! group left it.

use proto_types::body::{Body, Jurisdiction};
use proto_types::entry::Entry;
use proto_types::keys::PublicKey;

use super::compromise::{compromise_reason, compromised_since};
use super::writer::{Staged, Writer};
use super::{IngestError, Refusal};
use crate::admission::EndorsementRecord;
use crate::rights::{self, EntryMeta, RightState};
use crate::trust::Rotation;

impl Writer {
    /// The original key of the authority `key` speaks for, counting the rotations staged in
    /// this group (a rotation and the new key's first entries can arrive in one group).
    pub(super) fn root_of(&self, staged: &Staged, key: &PublicKey) -> PublicKey {
        let mut at = *key;
        // Each step goes back one rotation of this group; a group holds at most its commands.
        for _ in 0..=staged.rotations.len() {
            match staged
                .rotations
                .iter()
                .find(|(_, rotation)| rotation.new_key == at)
            {
                Some((old, _)) => at = *old,
                None => break,
            }
        }
        self.trust.root(&at)
    }

    /// Whether `key` speaks for an office trusted for `jurisdiction`, counting the rotations
    /// staged in this group.
    pub(super) fn office_for(
        &self,
        staged: &Staged,
        key: &PublicKey,
        jurisdiction: &Jurisdiction,
    ) -> bool {
        self.trust
            .base()
            .office_for(&self.root_of(staged, key), jurisdiction)
    }

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
        let taken = self.trust.is_trusted(&body.new_key)
            || staged
                .rotations
                .iter()
                .any(|(_, rotation)| rotation.new_key == body.new_key)
            || self.trust.rotated_at(&body.new_key).is_some();
        if taken {
            return Err("the new key already belongs to an authority".to_owned());
        }
        Ok(())
    }

    /// Checks an endorsement (an `authority` v2 entry, protocol §6.8.1): its author speaks for
    /// an office of this node's own trust store (not one admitted by endorsement), and it does
    /// not endorse its own authority. Returns what the store records.
    fn check_endorsement(
        &self,
        staged: &Staged,
        entry: &Entry,
        body: &proto_types::body::AuthorityV1,
    ) -> Result<EndorsementRecord, String> {
        let subject = body
            .subject
            .ok_or_else(|| "an endorsement names no subject".to_owned())?;
        let author = entry.author();
        if !self.trust.is_endorser(author) {
            return Err(
                "only an office of this node's own trust store endorses (admission is not transitive)"
                    .to_owned(),
            );
        }
        let endorser = self.trust.root(author);
        if subject == *author || self.trust.root(&subject) == endorser {
            return Err("an authority does not endorse itself or its own keys".to_owned());
        }
        Ok(EndorsementRecord {
            ordinal: self
                .trust
                .next_endorsement_ordinal()
                .saturating_add(staged.endorsements.len() as u64),
            entry_id: entry.id(),
            author: *author,
            seq: entry.seq(),
            endorser,
            subject,
            name: body.name.clone(),
            role: body.role,
            jurisdictions: body.jurisdictions.clone(),
            withdrawn: body.is_withdrawal(),
        })
    }

    /// What `entry` does; an entry of a compromised range (§6.9.1) does nothing.
    pub(super) fn effects(&self, staged: &Staged, entry: &Entry) -> Result<Effect, IngestError> {
        if let Some(rotation) = self.compromise_of(staged, entry.author(), entry.seq()) {
            let since = rotation.compromised_since.unwrap_or(rotation.seq);
            return Ok(Effect::Ineffective(compromise_reason(
                since,
                &rotation.entry_id,
            )));
        }
        let meta = EntryMeta::of(entry, self.root_of(staged, entry.author()));
        Ok(match entry.body() {
            Body::Registration(body) => {
                if !self.office_for(staged, entry.author(), &body.jurisdiction) {
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
                if !self.office_for(staged, entry.author(), jurisdiction) {
                    return Ok(Effect::Ineffective(not_office(jurisdiction)));
                }
                let previous = self.right(staged, body.right_id.as_str())?;
                match rights::apply_status(previous.as_ref(), &meta, body) {
                    Ok(state) => Effect::Right { previous, state },
                    Err(reason) => Effect::Ineffective(reason.to_string()),
                }
            }
            Body::Notice(_) | Body::Decision(_) | Body::CounterNotice(_) => {
                if self
                    .trust
                    .base()
                    .is_marketplace(&self.root_of(staged, entry.author()))
                {
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
                    rotation: Rotation {
                        new_key: body.new_key,
                        seq: entry.seq(),
                        entry_id: entry.id(),
                        compromised_since: compromised_since(body),
                    },
                },
                Err(reason) => Effect::Ineffective(reason),
            },
            Body::Authority(body) if body.is_endorsement() => {
                match self.check_endorsement(staged, entry, body) {
                    Ok(record) => Effect::Endorsement(record),
                    Err(reason) => Effect::Ineffective(reason),
                }
            }
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
    /// The author `old` moved to a new key.
    Rotation { old: PublicKey, rotation: Rotation },
    /// An endorsement of another authority (an `authority` v2 entry): recorded for admission.
    Endorsement(EndorsementRecord),
    /// A `credential` entry logs a credential (`previous` is `None`), or a `credential_status`
    /// entry moves its record from `previous` to `record`.
    Credential {
        previous: Option<crate::credential_log::CredentialRecord>,
        record: crate::credential_log::CredentialRecord,
    },
    /// Nothing beyond the feed (an `authority` v1 entry).
    None,
    /// Nothing at all, for this reason (stored with the entry).
    Ineffective(String),
}
