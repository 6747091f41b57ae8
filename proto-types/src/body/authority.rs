//! The `authority` and `key_rotation` bodies: an authority announcing itself, and an authority
//! moving its feed to a new key.

use std::collections::HashSet;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::BodyError;
use super::check::{self, Lines};
use super::values::Jurisdiction;
use crate::keys::PublicKey;

/// Longest authority name, in characters.
pub const MAX_AUTHORITY_NAME_CHARS: usize = 200;
/// Most jurisdictions an authority lists.
pub const MAX_AUTHORITY_JURISDICTIONS: usize = 64;
/// Longest contact address, in characters.
pub const MAX_CONTACT_CHARS: usize = 200;
/// Longest key-rotation reason, in characters.
pub const MAX_KEY_ROTATION_REASON_CHARS: usize = 500;

/// Domain-separation tag in front of the message a new key signs to accept a rotation.
pub const KEY_ROTATION_PROOF_TAG: &[u8] = b"rightsnet/key-rotation/v1\n";

/// What kind of authority a feed belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuthorityRole {
    /// An intellectual-property office: registers rights and issues credentials.
    Office,
    /// A marketplace: receives notices and records decisions.
    Marketplace,
}

/// An `authority` body. Version 1: an authority announcing itself. Version 2 (protocol §6.8.1):
/// an office endorsing `subject` as an authority of `role` for `jurisdictions`, or withdrawing
/// that endorsement (`withdrawn`).
///
/// What it claims is not what others grant: each node's trust store (and its admission policy,
/// for endorsements) decides which authorities it accepts and for which jurisdictions. The two
/// versions share this struct; [`AuthorityV1::validate`] enforces which members each allows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthorityV1 {
    /// The body version, always 1.
    #[schemars(range(min = 1, max = 2))]
    pub v: u32,
    /// Version 2 only (required there): the endorsed authority's key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<PublicKey>,
    /// The authority's name, 1 to [`MAX_AUTHORITY_NAME_CHARS`] characters.
    #[schemars(length(min = 1, max = MAX_AUTHORITY_NAME_CHARS), regex(pattern = super::fields::SINGLE_LINE))]
    pub name: String,
    /// Office or marketplace.
    pub role: AuthorityRole,
    /// For an office, the jurisdictions it attests (at least one); for a marketplace, the
    /// territories whose rights it accepts (possibly none). Distinct, at most
    /// [`MAX_AUTHORITY_JURISDICTIONS`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = MAX_AUTHORITY_JURISDICTIONS))]
    pub jurisdictions: Vec<Jurisdiction>,
    /// How to reach the authority, at most [`MAX_CONTACT_CHARS`] characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = MAX_CONTACT_CHARS), regex(pattern = super::fields::SINGLE_LINE))]
    pub contact: Option<String>,
    /// Version 2 only: `true` withdraws the endorsement (`false` is refused: leave it out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawn: Option<bool>,
}

impl AuthorityV1 {
    /// Whether this body is an endorsement (version 2).
    pub fn is_endorsement(&self) -> bool {
        self.v == 2
    }

    /// Whether this body withdraws an endorsement.
    pub fn is_withdrawal(&self) -> bool {
        self.withdrawn == Some(true)
    }

    /// Checks every field, and the members each version allows.
    pub fn validate(&self) -> Result<(), BodyError> {
        check::version_in(self.v, &[1, 2], "authority")?;
        match (self.v, &self.subject) {
            (1, Some(_)) => {
                return Err(BodyError::new(
                    "subject",
                    "only in version 2 (an endorsement)",
                ));
            }
            (2, None) => return Err(BodyError::new("subject", "missing field `subject`")),
            _ => {}
        }
        match (self.v, self.withdrawn) {
            (1, Some(_)) => {
                return Err(BodyError::new(
                    "withdrawn",
                    "only in version 2 (an endorsement)",
                ));
            }
            (_, Some(false)) => {
                return Err(BodyError::new(
                    "withdrawn",
                    "must be true when present (leave it out otherwise)",
                ));
            }
            _ => {}
        }
        check::text("name", &self.name, MAX_AUTHORITY_NAME_CHARS, Lines::Single)?;
        let min = match self.role {
            AuthorityRole::Office => 1,
            AuthorityRole::Marketplace => 0,
        };
        check::count(
            "jurisdictions",
            self.jurisdictions.len(),
            min,
            MAX_AUTHORITY_JURISDICTIONS,
        )?;
        let mut seen = HashSet::with_capacity(self.jurisdictions.len());
        for (index, jurisdiction) in self.jurisdictions.iter().enumerate() {
            if !seen.insert(jurisdiction) {
                return Err(BodyError::new(
                    check::indexed("jurisdictions", index),
                    format!("duplicate jurisdiction {jurisdiction}"),
                ));
            }
        }
        check::optional_text(
            "contact",
            self.contact.as_deref(),
            MAX_CONTACT_CHARS,
            Lines::Single,
        )
    }
}

/// A `key_rotation` body: the authority moves its feed from the key that signs this entry (the
/// old key) to `new_key`. Version 1 is a routine rotation; version 2 (protocol §6.9.1) a
/// compromise rotation, which names in `compromised_since` the first `seq` of the old key that
/// is no longer trusted. The two versions share this struct; [`KeyRotationV1::validate`]
/// enforces which members each allows.
///
/// The caller verifies `new_key_proof` as a signature by `new_key` over
/// [`key_rotation_proof_message`]`(old, new)`, so a rotation cannot hand a feed to a key whose
/// holder did not agree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyRotationV1 {
    /// The body version, always 1.
    #[schemars(range(min = 1, max = 2))]
    pub v: u32,
    /// The key that signs the authority's entries from now on.
    pub new_key: PublicKey,
    /// Why, at most [`MAX_KEY_ROTATION_REASON_CHARS`] characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = MAX_KEY_ROTATION_REASON_CHARS), regex(pattern = super::fields::MULTI_LINE))]
    pub reason: Option<String>,
    /// The new key's signature over [`key_rotation_proof_message`], multibase base58-btc (`z…`).
    #[schemars(schema_with = "super::fields::signature")]
    pub new_key_proof: String,
    /// Version 2 only (required there): the first `seq` of the old key that is not trusted,
    /// 1 to 2^53 − 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 9_007_199_254_740_991u64))]
    pub compromised_since: Option<u64>,
}

impl KeyRotationV1 {
    /// Whether this is a compromise rotation (version 2).
    pub fn is_compromise(&self) -> bool {
        self.v == 2
    }

    /// Checks every field; the proof's form only, not its validity.
    pub fn validate(&self) -> Result<(), BodyError> {
        check::version_in(self.v, &[1, 2], "key_rotation")?;
        match (self.v, self.compromised_since) {
            (1, Some(_)) => {
                return Err(BodyError::new(
                    "compromised_since",
                    "only in version 2 (a compromise rotation)",
                ));
            }
            (2, None) => {
                return Err(BodyError::new(
                    "compromised_since",
                    "missing field `compromised_since`",
                ));
            }
            (_, Some(seq)) if !(1..=crate::entry::MAX_SEQ).contains(&seq) => {
                return Err(BodyError::new(
                    "compromised_since",
                    format!("must be an integer in 1..={}", crate::entry::MAX_SEQ),
                ));
            }
            _ => {}
        }
        check::optional_text(
            "reason",
            self.reason.as_deref(),
            MAX_KEY_ROTATION_REASON_CHARS,
            Lines::Multi,
        )?;
        check::signature("new_key_proof", &self.new_key_proof)
    }
}

/// The message the new key signs to accept a rotation from `old`:
/// [`KEY_ROTATION_PROOF_TAG`] ‖ old `did:key` ‖ `\n` ‖ new `did:key`.
pub fn key_rotation_proof_message(old: &PublicKey, new: &PublicKey) -> Vec<u8> {
    let old = old.to_did_key();
    let new = new.to_did_key();
    let mut message = Vec::with_capacity(KEY_ROTATION_PROOF_TAG.len() + old.len() + 1 + new.len());
    message.extend_from_slice(KEY_ROTATION_PROOF_TAG);
    message.extend_from_slice(old.as_bytes());
    message.push(b'\n');
    message.extend_from_slice(new.as_bytes());
    message
}
