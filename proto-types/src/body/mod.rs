//! Entry bodies: the typed, versioned body of every feed-entry kind, and its field validation.
//!
//! An entry carries its `kind` next to its `body`; [`Body::decode`] turns the body's JSON value
//! into the typed struct for that kind and validates every field, returning a [`BodyError`] that
//! names the offending field by path (`holder.country`, `nice_classes[2]`, `notice.listings[0].id`).
//!
//! Every body is a JSON object with a version field `"v"`. Version 1 is the only one defined;
//! each kind's structs carry the version in their name (`RegistrationV1`), so a later version is
//! a new struct next to the old one, never a silent change of meaning. Unknown fields are refused.
//!
//! Decoding checks shape and values only. Signatures inside bodies (the holder's signature on a
//! notice, the new key's proof in a key rotation) are checked by the caller, as is anything that
//! needs state: whether a right exists, whether a notice id names a notice.

mod authority;
mod check;
pub mod codes;
mod credential;
mod decision;
mod decode;
pub mod examples;
pub mod fields;
mod notice;
mod registration;
mod status;
#[cfg(test)]
mod tests;
mod values;

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use self::authority::{
    AuthorityRole, AuthorityV1, KEY_ROTATION_PROOF_TAG, KeyRotationV1, MAX_AUTHORITY_JURISDICTIONS,
    MAX_AUTHORITY_NAME_CHARS, MAX_CONTACT_CHARS, MAX_KEY_ROTATION_REASON_CHARS,
    key_rotation_proof_message,
};
pub use self::credential::{
    CredentialId, CredentialReasonCode, CredentialStatusKind, CredentialStatusV1, CredentialV1,
    MAX_CREDENTIAL_ID_CHARS, MAX_CREDENTIAL_STATUS_REASON_CHARS, MAX_STATUS_INDEX,
};
pub use self::decision::{
    CounterNoticeV1, DecisionOutcome, DecisionV1, MAX_COUNTER_STATEMENT_CHARS,
    MAX_DECISION_LISTINGS, MAX_DECISION_REASON_CHARS, SELLER_REF_HEX_CHARS,
};
pub use self::notice::{
    HolderNotice, MAX_CREDENTIAL_BYTES, MAX_GOOD_FAITH_STATEMENT_CHARS, MAX_NONCE_HEX_CHARS,
    MAX_NOTICE_LISTINGS, MAX_REASON_CODE_CHARS, MAX_VERDICT_MESSAGE_CHARS, MAX_VERDICT_REASONS,
    MIN_NONCE_HEX_CHARS, NoticeV1, Verdict, VerdictReason,
};
pub use self::registration::{
    MAX_APPLICATION_NUMBER_CHARS, MAX_MARK_TEXT_CHARS, MAX_NICE_CLASSES, MAX_TITLE_CHARS,
    RegistrationV1,
};
pub use self::status::{MAX_REFERENCE_CHARS, MAX_STATUS_REASON_CHARS, StatusChange, StatusV1};
pub use self::values::{
    CountryCode, Digest, Evidence, EvidenceKind, Holder, Jurisdiction, Listing, MAX_EVIDENCE_ITEMS,
    MAX_EVIDENCE_TEXT_CHARS, MAX_HOLDER_NAME_CHARS, MAX_LISTING_ID_CHARS, MAX_LISTING_URL_CHARS,
    MAX_RIGHT_NUMBER_CHARS, MAX_SIGNATURE_CHARS, NiceClass, ReasonCode, RightId, RightStatus,
    RightType, normalize_number,
};

/// The body version every kind and the holder notice define; `authority` and `key_rotation`
/// also define version 2 ([`EntryKind::versions`]).
pub const BODY_VERSION: u32 = 1;

/// Why a body was refused: which field, and what is wrong with it.
///
/// `field` is a path into the body: object keys joined with `.`, array indexes in brackets, for
/// example `holder.country`, `nice_classes[2]` or `notice.listings[0].id`. It is `body` when the
/// body as a whole is at fault (not an object, not decodable at all).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct BodyError {
    /// Path of the offending field inside the body.
    pub field: String,
    /// What is wrong with it, lowercase, without a trailing period.
    pub message: String,
}

impl BodyError {
    /// An error about `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }

    /// The same error seen from the enclosing value: `prefix` is put in front of the path, so
    /// `name` inside `holder` becomes `holder.name` and `[3]` inside `listings` becomes
    /// `listings[3]`.
    pub fn within(mut self, prefix: &str) -> Self {
        self.field = if self.field.is_empty() {
            prefix.to_owned()
        } else if self.field.starts_with('[') {
            format!("{prefix}{}", self.field)
        } else {
            format!("{prefix}.{}", self.field)
        };
        self
    }
}

/// The kind of a feed entry, which decides the type of its body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// A right in an office's register ([`RegistrationV1`]).
    Registration,
    /// A later change of a right ([`StatusV1`]).
    Status,
    /// A holder's notice received by a marketplace, with its verdict ([`NoticeV1`]).
    Notice,
    /// A marketplace's takedown outcome for a notice ([`DecisionV1`]).
    Decision,
    /// A seller's response to a decision ([`CounterNoticeV1`]).
    CounterNotice,
    /// An authority announcing itself ([`AuthorityV1`]).
    Authority,
    /// An authority moving to a new key ([`KeyRotationV1`]).
    KeyRotation,
    /// An office logging a credential it issued ([`CredentialV1`]).
    Credential,
    /// An office changing the status of a logged credential ([`CredentialStatusV1`]).
    CredentialStatus,
}

impl EntryKind {
    /// Every kind, in declaration order.
    pub const ALL: [EntryKind; 9] = [
        EntryKind::Registration,
        EntryKind::Status,
        EntryKind::Notice,
        EntryKind::Decision,
        EntryKind::CounterNotice,
        EntryKind::Authority,
        EntryKind::KeyRotation,
        EntryKind::Credential,
        EntryKind::CredentialStatus,
    ];

    /// The body versions defined for this kind (protocol §6.1): 1, and also 2 for `authority`
    /// (an endorsement) and `key_rotation` (a compromise rotation).
    pub fn versions(&self) -> &'static [u32] {
        match self {
            EntryKind::Authority | EntryKind::KeyRotation => &[1, 2],
            _ => &[BODY_VERSION],
        }
    }

    /// The kind as written in an entry's `kind` field, e.g. `counter_notice`.
    pub fn as_str(&self) -> &'static str {
        match self {
            EntryKind::Registration => "registration",
            EntryKind::Status => "status",
            EntryKind::Notice => "notice",
            EntryKind::Decision => "decision",
            EntryKind::CounterNotice => "counter_notice",
            EntryKind::Authority => "authority",
            EntryKind::KeyRotation => "key_rotation",
            EntryKind::Credential => "credential",
            EntryKind::CredentialStatus => "credential_status",
        }
    }

    /// Parses the `kind` field of an entry; the error names the field `kind`.
    pub fn parse(value: &str) -> Result<Self, BodyError> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.as_str() == value)
            .ok_or_else(|| {
                BodyError::new(
                    "kind",
                    format!("unknown entry kind {:?}", check::truncated(value)),
                )
            })
    }
}

impl fmt::Display for EntryKind {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// The typed body of an entry, one variant per [`EntryKind`].
// A notice keeps the JSON it was received as (for its holder's signature), which makes its
// variant about 240 bytes larger than the others. Boxing it would change the public shape of
// `Body::Notice` for every caller to save a few hundred bytes per decoded entry.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    /// A `registration` body.
    Registration(RegistrationV1),
    /// A `status` body.
    Status(StatusV1),
    /// A `notice` body.
    Notice(NoticeV1),
    /// A `decision` body.
    Decision(DecisionV1),
    /// A `counter_notice` body.
    CounterNotice(CounterNoticeV1),
    /// An `authority` body.
    Authority(AuthorityV1),
    /// A `key_rotation` body.
    KeyRotation(KeyRotationV1),
    /// A `credential` body.
    Credential(CredentialV1),
    /// A `credential_status` body.
    CredentialStatus(CredentialStatusV1),
}

impl Body {
    /// Decodes and validates the body of an entry of `kind` from its JSON value.
    ///
    /// The version is checked first, so a body of a later version is refused with an error on
    /// `v` rather than with complaints about fields this version does not know.
    pub fn decode(kind: EntryKind, value: &Value) -> Result<Body, BodyError> {
        check::version_of_value(value, kind.versions(), kind.as_str())?;
        let body = match kind {
            EntryKind::Registration => Body::Registration(decode::from_value(value)?),
            EntryKind::Status => Body::Status(decode::from_value(value)?),
            EntryKind::Notice => Body::Notice(NoticeV1::decode(value)?),
            EntryKind::Decision => Body::Decision(decode::from_value(value)?),
            EntryKind::CounterNotice => Body::CounterNotice(decode::from_value(value)?),
            EntryKind::Authority => Body::Authority(decode::from_value(value)?),
            EntryKind::KeyRotation => Body::KeyRotation(decode::from_value(value)?),
            EntryKind::Credential => Body::Credential(decode::from_value(value)?),
            EntryKind::CredentialStatus => Body::CredentialStatus(decode::from_value(value)?),
        };
        body.validate()?;
        Ok(body)
    }

    /// The kind of entry this body belongs to.
    pub fn kind(&self) -> EntryKind {
        match self {
            Body::Registration(_) => EntryKind::Registration,
            Body::Status(_) => EntryKind::Status,
            Body::Notice(_) => EntryKind::Notice,
            Body::Decision(_) => EntryKind::Decision,
            Body::CounterNotice(_) => EntryKind::CounterNotice,
            Body::Authority(_) => EntryKind::Authority,
            Body::KeyRotation(_) => EntryKind::KeyRotation,
            Body::Credential(_) => EntryKind::Credential,
            Body::CredentialStatus(_) => EntryKind::CredentialStatus,
        }
    }

    /// The JSON value of this body (the inner struct serialised).
    ///
    /// A body decoded from JSON serialises to an equal value, except that explicit `null`s and
    /// empty optional arrays are left out (but the holder notice of a `notice` body is written
    /// exactly as received, see [`HolderNotice`]). Anything signed is signed over the JSON as received,
    /// so this is for building new entries, not for re-checking old signatures.
    pub fn to_value(&self) -> Value {
        let result = match self {
            Body::Registration(body) => serde_json::to_value(body),
            Body::Status(body) => serde_json::to_value(body),
            Body::Notice(body) => serde_json::to_value(body),
            Body::Decision(body) => serde_json::to_value(body),
            Body::CounterNotice(body) => serde_json::to_value(body),
            Body::Authority(body) => serde_json::to_value(body),
            Body::KeyRotation(body) => serde_json::to_value(body),
            Body::Credential(body) => serde_json::to_value(body),
            Body::CredentialStatus(body) => serde_json::to_value(body),
        };
        // Serialising these types cannot fail: every map key is a string and there are no
        // floating-point numbers. Null is only a formal fallback.
        result.unwrap_or(Value::Null)
    }

    /// Checks every field of the body, as [`Body::decode`] does after decoding.
    pub fn validate(&self) -> Result<(), BodyError> {
        match self {
            Body::Registration(body) => body.validate(),
            Body::Status(body) => body.validate(),
            Body::Notice(body) => body.validate(),
            Body::Decision(body) => body.validate(),
            Body::CounterNotice(body) => body.validate(),
            Body::Authority(body) => body.validate(),
            Body::KeyRotation(body) => body.validate(),
            Body::Credential(body) => body.validate(),
            Body::CredentialStatus(body) => body.validate(),
        }
    }
}
