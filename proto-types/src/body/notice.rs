//! The `notice` body: a holder-signed notice as a marketplace received it, with the verdict the
//! marketplace's node computed for it.

use std::collections::HashSet;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::check::{self, Lines};
use super::decode;
use super::values::{Evidence, Listing, ReasonCode, RightId};
use super::{BODY_VERSION, BodyError};
use crate::entry::EntryId;
use crate::keys::PublicKey;
use crate::timestamp::Timestamp;

/// Most listings in one notice.
pub const MAX_NOTICE_LISTINGS: usize = 100;
/// Longest good-faith statement, in characters.
pub const MAX_GOOD_FAITH_STATEMENT_CHARS: usize = 2000;
/// Shortest notice nonce, in hex characters (128 bits).
pub const MIN_NONCE_HEX_CHARS: usize = 32;
/// Longest notice nonce, in hex characters (256 bits).
pub const MAX_NONCE_HEX_CHARS: usize = 64;
/// Largest credential carried in a notice, in bytes of its canonical (RFC 8785) form.
pub const MAX_CREDENTIAL_BYTES: usize = 16 * 1024;
/// Most reasons in a verdict.
pub const MAX_VERDICT_REASONS: usize = 32;
/// Longest verdict reason code, in characters.
pub const MAX_REASON_CODE_CHARS: usize = 64;
/// Longest verdict reason message, in characters.
pub const MAX_VERDICT_MESSAGE_CHARS: usize = 500;

/// A notice as the holder signs it: the holder asks `marketplace` to take down `listings` that
/// infringe `right_id`, presenting `credential` (issued by the office) as proof of holding it.
///
/// Only fields are checked here; the caller verifies `signature` with the `holder` key and the
/// credential's proof, and checks the nonce for replay.
///
/// A notice decoded with [`HolderNotice::decode`] (or inside a `notice` body) keeps the JSON it
/// was decoded from, in canonical form ([`HolderNotice::received`]); a [`NoticeV1`] serialises
/// that JSON, not the typed fields, so a recorded notice is exactly the notice the holder
/// signed (an explicit `null` or `[]` included).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HolderNotice {
    /// The notice format version, always 1.
    #[schemars(schema_with = "super::fields::version")]
    pub v: u32,
    /// The marketplace the notice is addressed to.
    pub marketplace: PublicKey,
    /// The right the holder relies on.
    pub right_id: RightId,
    /// The holder's key, which signs the notice.
    pub holder: PublicKey,
    /// The listings to take down, 1 to [`MAX_NOTICE_LISTINGS`], with distinct ids.
    #[schemars(length(min = 1, max = MAX_NOTICE_LISTINGS))]
    pub listings: Vec<Listing>,
    /// Why.
    pub reason: ReasonCode,
    /// Evidence, at most [`MAX_EVIDENCE_ITEMS`](super::MAX_EVIDENCE_ITEMS) items.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = super::MAX_EVIDENCE_ITEMS))]
    pub evidence: Vec<Evidence>,
    /// The holder's statement of good faith, 1 to [`MAX_GOOD_FAITH_STATEMENT_CHARS`] characters.
    #[schemars(length(min = 1, max = MAX_GOOD_FAITH_STATEMENT_CHARS), regex(pattern = super::fields::MULTI_LINE))]
    pub good_faith_statement: String,
    /// A random value making the notice unique, [`MIN_NONCE_HEX_CHARS`] to
    /// [`MAX_NONCE_HEX_CHARS`] lowercase hex characters.
    #[schemars(regex(pattern = super::fields::NONCE))]
    pub nonce: String,
    /// When the holder created the notice.
    pub created: Timestamp,
    /// The verifiable credential the holder presents; a JSON object of at most
    /// [`MAX_CREDENTIAL_BYTES`] bytes.
    #[schemars(schema_with = "super::fields::credential")]
    pub credential: Value,
    /// The holder's Ed25519 signature, multibase base58-btc (`z…`).
    #[schemars(schema_with = "super::fields::signature")]
    pub signature: String,
    /// The notice as received, parsed back from its canonical form; `Null` for a notice built
    /// in code.
    #[serde(skip)]
    received: Value,
    /// The canonical bytes of the notice without its `signature` (what the holder signed, but
    /// for the tag), kept by [`HolderNotice::decode`]; empty for a notice built in code.
    #[serde(skip)]
    unsigned_canonical: Vec<u8>,
}

impl HolderNotice {
    /// Decodes and validates a holder notice on its own, as a marketplace receives it before it
    /// computes a verdict. Paths in errors are relative to the notice.
    ///
    /// The notice is read from its canonical form, as entries are (§1 of the protocol): every
    /// spelling of an integer (`1`, `1.0`, `1e0`) is that integer, and the holder's signature
    /// covers the canonical form anyway.
    pub fn decode(value: &Value) -> Result<Self, BodyError> {
        // One pass: the canonical bytes, the value they read back as, and the bytes without
        // the signature (the signing input), without writing and parsing again.
        let canonicalized = crate::jcs::canonicalize_owned(value.clone(), "signature")
            .map_err(|error| BodyError::new("body", error.to_string()))?;
        let unsigned_canonical = canonicalized.bytes_without_member();
        let canonical = canonicalized.value;
        check::version_of_value(&canonical, &[BODY_VERSION], "holder notice")?;
        let mut notice: Self = decode::from_value(&canonical)?;
        notice.validate()?;
        notice.received = canonical;
        notice.unsigned_canonical = unsigned_canonical;
        Ok(notice)
    }

    /// The canonical bytes of the notice without its `signature`, when it was decoded from
    /// JSON by [`HolderNotice::decode`].
    pub fn unsigned_canonical(&self) -> Option<&[u8]> {
        (!self.unsigned_canonical.is_empty()).then_some(self.unsigned_canonical.as_slice())
    }

    /// The notice as received, in canonical form, when it was decoded from JSON.
    pub fn received(&self) -> Option<&Value> {
        (!self.received.is_null()).then_some(&self.received)
    }

    /// Checks every field; paths are relative to the notice.
    pub fn validate(&self) -> Result<(), BodyError> {
        check::version(self.v, "holder notice")?;
        check::count("listings", self.listings.len(), 1, MAX_NOTICE_LISTINGS)?;
        let mut ids = HashSet::with_capacity(self.listings.len());
        for (index, listing) in self.listings.iter().enumerate() {
            let field = check::indexed("listings", index);
            listing.validate().map_err(|error| error.within(&field))?;
            if !ids.insert(listing.id.as_str()) {
                return Err(BodyError::new(
                    format!("{field}.id"),
                    format!("duplicate listing id {:?}", check::truncated(&listing.id)),
                ));
            }
        }
        Evidence::validate_list("evidence", &self.evidence)?;
        check::text(
            "good_faith_statement",
            &self.good_faith_statement,
            MAX_GOOD_FAITH_STATEMENT_CHARS,
            Lines::Multi,
        )?;
        check::lower_hex(
            "nonce",
            &self.nonce,
            MIN_NONCE_HEX_CHARS,
            MAX_NONCE_HEX_CHARS,
        )?;
        if !self.credential.is_object() {
            return Err(BodyError::new("credential", "must be a JSON object"));
        }
        // Measured on the canonical form, the form that is signed and stored.
        let credential_bytes = crate::jcs::canonicalize(&self.credential)
            .map(|bytes| bytes.len())
            .unwrap_or(usize::MAX);
        if credential_bytes > MAX_CREDENTIAL_BYTES {
            return Err(BodyError::new(
                "credential",
                format!("larger than {MAX_CREDENTIAL_BYTES} bytes"),
            ));
        }
        check::signature("signature", &self.signature)
    }
}

/// One reason of a verdict: a check the marketplace's node made, and its outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VerdictReason {
    /// A stable machine code, snake_case ASCII, at most [`MAX_REASON_CODE_CHARS`] characters,
    /// e.g. `credential_proof` or `right_cancelled`.
    #[schemars(length(min = 1, max = MAX_REASON_CODE_CHARS), regex(pattern = super::fields::REASON_CODE))]
    pub code: String,
    /// Whether the check passed.
    pub ok: bool,
    /// A human explanation, at most [`MAX_VERDICT_MESSAGE_CHARS`] characters.
    #[schemars(length(max = MAX_VERDICT_MESSAGE_CHARS), regex(pattern = super::fields::MULTI_LINE_MAY_BE_EMPTY))]
    pub message: String,
    /// The entry the check relied on, when there is one (e.g. the status entry that cancelled
    /// the right).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry_id: Option<EntryId>,
}

impl VerdictReason {
    /// Checks code and message; paths are relative to the reason.
    pub fn validate(&self) -> Result<(), BodyError> {
        let code_ok = self.code.len() <= MAX_REASON_CODE_CHARS
            && self
                .code
                .bytes()
                .next()
                .is_some_and(|byte| byte.is_ascii_lowercase())
            && self
                .code
                .bytes()
                .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'_');
        if !code_ok {
            return Err(BodyError::new(
                "code",
                format!(
                    "must be snake_case ascii starting with a letter, at most {MAX_REASON_CODE_CHARS} characters"
                ),
            ));
        }
        check::text_may_be_empty(
            "message",
            &self.message,
            MAX_VERDICT_MESSAGE_CHARS,
            Lines::Multi,
        )
    }
}

/// The structured result of checking a notice: accepted only when every reason is ok.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Verdict {
    /// Whether the notice was accepted; equals "every reason is ok".
    pub accepted: bool,
    /// When the marketplace's node checked the notice.
    pub checked_at: Timestamp,
    /// Every check made, 1 to [`MAX_VERDICT_REASONS`].
    #[schemars(length(min = 1, max = MAX_VERDICT_REASONS))]
    pub reasons: Vec<VerdictReason>,
}

impl Verdict {
    /// Checks the reasons, and that `accepted` agrees with them; paths are relative to the
    /// verdict.
    pub fn validate(&self) -> Result<(), BodyError> {
        check::count("reasons", self.reasons.len(), 1, MAX_VERDICT_REASONS)?;
        for (index, reason) in self.reasons.iter().enumerate() {
            reason
                .validate()
                .map_err(|error| error.within(&check::indexed("reasons", index)))?;
        }
        let all_ok = self.reasons.iter().all(|reason| reason.ok);
        if self.accepted != all_ok {
            let message = if all_ok {
                "must be true when every reason is ok"
            } else {
                "must be false when a reason is not ok"
            };
            return Err(BodyError::new("accepted", message));
        }
        Ok(())
    }
}

/// The JSON value of `value`'s canonical form: what the signature covers and what is stored.
fn canonical_value(value: &Value) -> Result<Value, BodyError> {
    crate::jcs::canonicalize(value)
        .and_then(|bytes| crate::jcs::parse(&bytes))
        .map_err(|error| BodyError::new("body", error.to_string()))
}

/// Serialises a notice as received when it was received, else its typed fields.
fn serialize_as_received<S: serde::Serializer>(
    notice: &HolderNotice,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match notice.received() {
        Some(received) => received.serialize(serializer),
        None => notice.serialize(serializer),
    }
}

/// Version 1 of a `notice` body: the holder's notice exactly as received, and the verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoticeV1 {
    /// The body version, always 1.
    #[schemars(schema_with = "super::fields::version")]
    pub v: u32,
    /// The holder-signed notice, serialised as received.
    #[serde(serialize_with = "serialize_as_received")]
    pub notice: HolderNotice,
    /// The marketplace's verdict on it.
    pub verdict: Verdict,
}

impl NoticeV1 {
    /// Decodes a `notice` body from its JSON value, keeping the notice as received.
    pub(super) fn decode(value: &Value) -> Result<Self, BodyError> {
        let mut body: Self = decode::from_value(value)?;
        if let Some(notice) = value.get("notice") {
            body.notice.received =
                canonical_value(notice).map_err(|error| BodyError::new("notice", error.message))?;
        }
        Ok(body)
    }

    /// Checks the notice and the verdict.
    pub fn validate(&self) -> Result<(), BodyError> {
        check::version(self.v, "notice")?;
        self.notice
            .validate()
            .map_err(|error| error.within("notice"))?;
        self.verdict
            .validate()
            .map_err(|error| error.within("verdict"))
    }
}
