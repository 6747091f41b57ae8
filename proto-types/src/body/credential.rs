//! The `credential` and `credential_status` bodies: an office's public log of the credentials it
//! issued, and the changes of their status (protocol §6.10, §6.11).

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::BodyError;
use super::check::{self, Lines};
use super::values::{Digest, RightId};
use crate::keys::PublicKey;
use crate::timestamp::Timestamp;

/// Longest credential id, in characters.
pub const MAX_CREDENTIAL_ID_CHARS: usize = 200;
/// Highest status index a credential may have (2^31 − 1).
pub const MAX_STATUS_INDEX: u32 = i32::MAX as u32;
/// Longest human reason of a credential status change, in characters.
pub const MAX_CREDENTIAL_STATUS_REASON_CHARS: usize = 500;

/// The `id` of a credential: an absolute URI of 1 to [`MAX_CREDENTIAL_ID_CHARS`] URI
/// characters (`[A-Za-z0-9._~:/?#@!$&'()*+,;=%-]`), starting with a letter and containing a `:`.
/// The reference issuer writes `urn:rightsnet:credential:` and 32 lowercase hex characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CredentialId(String);

impl CredentialId {
    /// Parses a credential id; the error names the field `credential_id`.
    pub fn parse(value: &str) -> Result<Self, BodyError> {
        let error = |message: &str| BodyError::new("credential_id", message);
        if value.is_empty() || value.chars().count() > MAX_CREDENTIAL_ID_CHARS {
            return Err(error("must be 1 to 200 characters"));
        }
        if !value.starts_with(|c: char| c.is_ascii_alphabetic()) {
            return Err(error("must start with a letter (an absolute URI)"));
        }
        if !value.contains(':') {
            return Err(error("must contain ':' (an absolute URI)"));
        }
        if !value.bytes().all(is_uri_byte) {
            return Err(error(
                "must hold only URI characters A-Z a-z 0-9 . _ ~ : / ? # @ ! $ & ' ( ) * + , ; = % -",
            ));
        }
        Ok(Self(value.to_owned()))
    }

    /// The id as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn is_uri_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"._~:/?#@!$&'()*+,;=%-".contains(&byte)
}

impl fmt::Display for CredentialId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

impl Serialize for CredentialId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for CredentialId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = String::deserialize(deserializer)?;
        Self::parse(&value).map_err(|error| serde::de::Error::custom(error.message))
    }
}

/// Version 1 of a `credential` body: the author (an office) issued the credential
/// `credential_id`, whose signed form hashes to `digest`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CredentialV1 {
    /// The body version, always 1.
    #[schemars(schema_with = "super::fields::version")]
    pub v: u32,
    /// The credential's `id`.
    pub credential_id: CredentialId,
    /// SHA-256 of the JCS of the signed credential as issued, proof included.
    pub digest: Digest,
    /// The right the credential attests (`credentialSubject.right.id`).
    pub right_id: RightId,
    /// The holder's key (`credentialSubject.id`).
    pub subject: PublicKey,
    /// The credential's `validFrom`.
    pub valid_from: Timestamp,
    /// The credential's `validUntil`, when it has one; later than `valid_from`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<Timestamp>,
    /// The credential's position in its issuer key's status lists, 0 to [`MAX_STATUS_INDEX`].
    #[schemars(range(max = MAX_STATUS_INDEX))]
    pub status_index: u32,
}

impl CredentialV1 {
    /// Checks every field.
    pub fn validate(&self) -> Result<(), BodyError> {
        check::version(self.v, "credential")?;
        if let Some(until) = &self.valid_until
            && until <= &self.valid_from
        {
            return Err(BodyError::new(
                "valid_until",
                "must be later than valid_from",
            ));
        }
        if self.status_index > MAX_STATUS_INDEX {
            return Err(BodyError::new(
                "status_index",
                format!("must be at most {MAX_STATUS_INDEX}"),
            ));
        }
        Ok(())
    }
}

/// The status of a logged credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CredentialStatusKind {
    /// In force (every logged credential until a status entry says otherwise).
    Active,
    /// Suspended: may be reinstated (`active`) or revoked.
    Suspended,
    /// Revoked: final.
    Revoked,
}

impl CredentialStatusKind {
    /// The status as written in JSON, e.g. `revoked`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Suspended => "suspended",
            Self::Revoked => "revoked",
        }
    }

    /// Whether a credential may move from `self` to `next` (§6.11): active → suspended or
    /// revoked; suspended → active or revoked; nothing leaves revoked, and nothing moves to where
    /// it is.
    pub fn can_become(self, next: Self) -> bool {
        matches!(
            (self, next),
            (Self::Active, Self::Suspended)
                | (Self::Active, Self::Revoked)
                | (Self::Suspended, Self::Active)
                | (Self::Suspended, Self::Revoked)
        )
    }
}

impl fmt::Display for CredentialStatusKind {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// Why a credential's status changed, after RFC 5280's CRL reasons.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CredentialReasonCode {
    /// No reason given.
    Unspecified,
    /// The issuer's key was compromised.
    KeyCompromise,
    /// Replaced by another credential.
    Superseded,
    /// The holder asked for it.
    HolderRequest,
    /// The right changed (assigned, cancelled, corrected).
    RightChanged,
    /// Issued in error.
    Misissued,
    /// The holder's business with the right ended.
    Cessation,
    /// A suspension is lifted (with `active` only).
    SuspensionLifted,
}

impl CredentialReasonCode {
    /// The code as written in JSON, e.g. `holder_request`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Unspecified => "unspecified",
            Self::KeyCompromise => "key_compromise",
            Self::Superseded => "superseded",
            Self::HolderRequest => "holder_request",
            Self::RightChanged => "right_changed",
            Self::Misissued => "misissued",
            Self::Cessation => "cessation",
            Self::SuspensionLifted => "suspension_lifted",
        }
    }

    /// Every code, in declaration order.
    pub const ALL: [CredentialReasonCode; 8] = [
        Self::Unspecified,
        Self::KeyCompromise,
        Self::Superseded,
        Self::HolderRequest,
        Self::RightChanged,
        Self::Misissued,
        Self::Cessation,
        Self::SuspensionLifted,
    ];

    /// Parses a code as written in JSON.
    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|code| code.as_str() == value)
    }
}

impl fmt::Display for CredentialReasonCode {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// Version 1 of a `credential_status` body: the status of a credential the author's authority
/// logged changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CredentialStatusV1 {
    /// The body version, always 1.
    #[schemars(schema_with = "super::fields::version")]
    pub v: u32,
    /// The credential whose status changes.
    pub credential_id: CredentialId,
    /// Its new status.
    pub status: CredentialStatusKind,
    /// Why. `suspension_lifted` only with `active`; `active` only with `suspension_lifted` or
    /// `unspecified`.
    pub reason_code: CredentialReasonCode,
    /// A human explanation, at most [`MAX_CREDENTIAL_STATUS_REASON_CHARS`] characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = MAX_CREDENTIAL_STATUS_REASON_CHARS), regex(pattern = super::fields::MULTI_LINE))]
    pub reason: Option<String>,
}

impl CredentialStatusV1 {
    /// Checks every field and the rule between `status` and `reason_code`.
    pub fn validate(&self) -> Result<(), BodyError> {
        check::version(self.v, "credential_status")?;
        let lifted = self.reason_code == CredentialReasonCode::SuspensionLifted;
        match self.status {
            CredentialStatusKind::Active
                if !lifted && self.reason_code != CredentialReasonCode::Unspecified =>
            {
                return Err(BodyError::new(
                    "reason_code",
                    "must be suspension_lifted or unspecified when status is active",
                ));
            }
            CredentialStatusKind::Active => {}
            _ if lifted => {
                return Err(BodyError::new(
                    "reason_code",
                    "suspension_lifted is only for status active",
                ));
            }
            _ => {}
        }
        check::optional_text(
            "reason",
            self.reason.as_deref(),
            MAX_CREDENTIAL_STATUS_REASON_CHARS,
            Lines::Multi,
        )
    }
}
