//! W3C Bitstring Status List v1.0 (protocol.md §7.5): how an office publishes the revocation
//! and suspension status of the credentials it issued, so that a verifier outside the
//! federation can check them with off-the-shelf tooling.
//!
//! - [`StatusBitstring`]: a list of exactly [`STATUS_LIST_BITS`] bits, the specification's
//!   minimum length (every Rightsnet list has this length). Bit `p` is the `(p mod 8)`-th most
//!   significant bit of byte `p / 8`. Encoded as `encodedList`: GZIP, then Multibase base64url
//!   (`u` prefix, no padding). Decoding is bounded: the encoded text, and the decompressed size,
//!   which must be exactly [`STATUS_LIST_BYTES`] (a gzip bomb stops after one byte more).
//! - [`StatusListPosition`]: where a credential's `status_index` lives: list
//!   `index / 131 072`, position `index mod 131 072`.
//! - [`credential_status_entries`]: the `credentialStatus` array a credential carries, one
//!   `BitstringStatusListEntry` per [`StatusPurpose`].
//! - [`status_list_credential`] and [`sign_status_list_credential`]: the
//!   `BitstringStatusListCredential` document, signed with `eddsa-jcs-2022`
//!   ([`crate::data_integrity`]); [`verify_status_list_credential`] checks one as a verifier
//!   would (proof, issuer, the specification's rules).
//!
//! The bits themselves are derived by the node from the `credential` and `credential_status`
//! entries of a feed; this module knows nothing about feeds.

use std::fmt;
use std::io::{Read, Write};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use flate2::Compression;
use flate2::bufread::GzDecoder;
use flate2::write::GzEncoder;
use serde_json::{Value, json};

use crate::data_integrity::{self, ProofError, ProofOptions};
use crate::keys::{PublicKey, SecretKey};
use crate::timestamp::Timestamp;

/// Bits in every status list: the specification's minimum (16 KiB), which gives group privacy.
pub const STATUS_LIST_BITS: usize = 131_072;
/// Bytes of an uncompressed status list.
pub const STATUS_LIST_BYTES: usize = STATUS_LIST_BITS / 8;
/// Highest `status_index` a credential may have (protocol.md §6.10): 2^31 − 1.
pub const MAX_STATUS_INDEX: u64 = (1 << 31) - 1;
/// Highest list number: the list of [`MAX_STATUS_INDEX`].
pub const MAX_LIST_NUMBER: u32 = (MAX_STATUS_INDEX / STATUS_LIST_BITS as u64) as u32;
/// Longest `encodedList` decoded, in characters. An incompressible list gzips to about
/// 16 410 bytes, 21 880 characters of base64url; the rest is room for another encoder's
/// gzip header fields.
pub const MAX_ENCODED_LIST_CHARS: usize = 32 * 1024;
/// The JSON-LD context of every document here (Verifiable Credentials Data Model 2.0, which
/// defines the Bitstring Status List terms).
pub const VC_V2_CONTEXT: &str = "https://www.w3.org/ns/credentials/v2";
/// How long a signed list is valid after it was signed (`validUntil` − `validFrom`).
pub const LIST_VALIDITY_MILLIS: i64 = 24 * 60 * 60 * 1000;
/// The `type` of a credential's status entry.
pub const ENTRY_TYPE: &str = "BitstringStatusListEntry";
/// The second `type` of a status list credential.
pub const LIST_CREDENTIAL_TYPE: &str = "BitstringStatusListCredential";
/// The `type` of a status list credential's subject.
pub const LIST_TYPE: &str = "BitstringStatusList";

/// Why a status list, position or document was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatusListError {
    /// A bit position at or above [`STATUS_LIST_BITS`].
    #[error("status list position {0} is out of range 0..131072")]
    Position(u64),
    /// A `status_index` above [`MAX_STATUS_INDEX`].
    #[error("status index {0} is out of range 0..=2147483647")]
    StatusIndex(u64),
    /// A list number above [`MAX_LIST_NUMBER`].
    #[error("status list number {0} is out of range 0..=16383")]
    ListNumber(u64),
    /// A status purpose other than `revocation` and `suspension`.
    #[error("status purpose {0:?} is not supported: expected revocation or suspension")]
    Purpose(String),
    /// `encodedList` is not a GZIP'd, base64url-encoded list of the right length.
    #[error("encodedList: {0}")]
    EncodedList(String),
    /// The document breaks a rule of the specification or of protocol.md §7.5.
    #[error("status list credential: {0}")]
    Document(String),
    /// The proof could not be made or does not verify.
    #[error("status list credential proof: {0}")]
    Proof(#[from] ProofError),
    /// The proof was made by another key than the document's `issuer`.
    #[error("status list credential is signed by another key than its issuer")]
    IssuerMismatch,
}

/// What a status list says about its credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StatusPurpose {
    /// Bit 1: the credential is revoked, for good.
    Revocation,
    /// Bit 1: the credential is suspended; it may be reinstated.
    Suspension,
}

impl StatusPurpose {
    /// Both purposes, in the order credentials list their entries.
    pub const ALL: [StatusPurpose; 2] = [StatusPurpose::Revocation, StatusPurpose::Suspension];

    /// The wire name: `revocation` or `suspension`.
    pub fn as_str(self) -> &'static str {
        match self {
            StatusPurpose::Revocation => "revocation",
            StatusPurpose::Suspension => "suspension",
        }
    }

    /// Parses a wire name.
    pub fn parse(value: &str) -> Result<Self, StatusListError> {
        match value {
            "revocation" => Ok(StatusPurpose::Revocation),
            "suspension" => Ok(StatusPurpose::Suspension),
            other => Err(StatusListError::Purpose(
                other.chars().take(40).collect::<String>(),
            )),
        }
    }
}

impl fmt::Display for StatusPurpose {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// A status list of exactly [`STATUS_LIST_BITS`] bits, all 0 when new.
#[derive(Clone, PartialEq, Eq)]
pub struct StatusBitstring {
    bytes: Vec<u8>,
}

impl fmt::Debug for StatusBitstring {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("StatusBitstring")
            .field("set_bits", &self.count_set())
            .finish()
    }
}

impl Default for StatusBitstring {
    fn default() -> Self {
        Self::new()
    }
}

/// The byte and the mask of bit `position`: index 0 is the most significant bit of byte 0.
fn locate(position: u32) -> Result<(usize, u8), StatusListError> {
    let position_usize = position as usize;
    if position_usize >= STATUS_LIST_BITS {
        return Err(StatusListError::Position(u64::from(position)));
    }
    Ok((position_usize / 8, 0x80 >> (position % 8)))
}

impl StatusBitstring {
    /// A list with every bit 0.
    pub fn new() -> Self {
        Self {
            bytes: vec![0; STATUS_LIST_BYTES],
        }
    }

    /// A list with every bit `value`.
    pub fn filled(value: bool) -> Self {
        Self {
            bytes: vec![if value { 0xff } else { 0 }; STATUS_LIST_BYTES],
        }
    }

    /// The list of these bytes; exactly [`STATUS_LIST_BYTES`] of them.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, StatusListError> {
        if bytes.len() != STATUS_LIST_BYTES {
            return Err(StatusListError::EncodedList(format!(
                "a status list has {STATUS_LIST_BYTES} bytes, not {}",
                bytes.len()
            )));
        }
        Ok(Self {
            bytes: bytes.to_vec(),
        })
    }

    /// The list's bytes, bit 0 the most significant bit of the first.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Bit `position` (below [`STATUS_LIST_BITS`]).
    pub fn get(&self, position: u32) -> Result<bool, StatusListError> {
        let (index, mask) = locate(position)?;
        let byte = self
            .bytes
            .get(index)
            .ok_or(StatusListError::Position(u64::from(position)))?;
        Ok(byte & mask != 0)
    }

    /// Sets bit `position` (below [`STATUS_LIST_BITS`]) to `value`.
    pub fn set(&mut self, position: u32, value: bool) -> Result<(), StatusListError> {
        let (index, mask) = locate(position)?;
        let byte = self
            .bytes
            .get_mut(index)
            .ok_or(StatusListError::Position(u64::from(position)))?;
        if value {
            *byte |= mask;
        } else {
            *byte &= !mask;
        }
        Ok(())
    }

    /// How many bits are 1.
    pub fn count_set(&self) -> usize {
        self.bytes
            .iter()
            .map(|byte| byte.count_ones() as usize)
            .sum()
    }

    /// The `encodedList`: Multibase base64url (`u`, no padding) of the GZIP of the bits. The
    /// GZIP header carries no time or name, so equal lists encode to equal text.
    pub fn encode(&self) -> String {
        let mut encoder = GzEncoder::new(
            Vec::with_capacity(STATUS_LIST_BYTES / 4),
            Compression::default(),
        );
        // Writing to a Vec cannot fail; an error here would be a bug in the encoder, and the
        // empty result it leaves is refused by every decoder, never misread.
        let gzip = encoder
            .write_all(&self.bytes)
            .and_then(|()| encoder.finish())
            .unwrap_or_default();
        format!("u{}", URL_SAFE_NO_PAD.encode(gzip))
    }

    /// Decodes an `encodedList`, refusing anything but a base64url GZIP stream of exactly
    /// [`STATUS_LIST_BYTES`] bytes: longer text than [`MAX_ENCODED_LIST_CHARS`], another
    /// Multibase prefix, padding, a bad checksum, bytes after the GZIP member, and a stream
    /// that decompresses to more or fewer bytes (reading stops one byte past the limit).
    pub fn decode(encoded: &str) -> Result<Self, StatusListError> {
        let error = |reason: String| StatusListError::EncodedList(reason);
        if encoded.len() > MAX_ENCODED_LIST_CHARS {
            return Err(error(format!(
                "longer than {MAX_ENCODED_LIST_CHARS} characters"
            )));
        }
        let text = encoded.strip_prefix('u').ok_or_else(|| {
            error("must start with the Multibase base64url prefix 'u'".to_owned())
        })?;
        let gzip = URL_SAFE_NO_PAD
            .decode(text)
            .map_err(|reason| error(format!("not base64url without padding: {reason}")))?;
        let mut decoder = GzDecoder::new(gzip.as_slice());
        let mut bytes = Vec::with_capacity(STATUS_LIST_BYTES);
        (&mut decoder)
            .take(STATUS_LIST_BYTES as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(|reason| error(format!("not a valid GZIP stream: {reason}")))?;
        if bytes.len() != STATUS_LIST_BYTES {
            let size = if bytes.len() > STATUS_LIST_BYTES {
                "more than".to_owned()
            } else {
                bytes.len().to_string()
            };
            return Err(error(format!(
                "decompresses to {size} bytes; a status list has exactly {STATUS_LIST_BYTES}"
            )));
        }
        if !decoder.into_inner().is_empty() {
            return Err(error("bytes follow the GZIP stream".to_owned()));
        }
        Ok(Self { bytes })
    }
}

/// Where a credential's status lives: list `list`, bit `position`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StatusListPosition {
    /// The list number: `status_index / 131 072`.
    pub list: u32,
    /// The bit in that list: `status_index mod 131 072`.
    pub position: u32,
}

impl StatusListPosition {
    /// The position of `status_index` (at most [`MAX_STATUS_INDEX`]).
    pub fn from_status_index(status_index: u64) -> Result<Self, StatusListError> {
        if status_index > MAX_STATUS_INDEX {
            return Err(StatusListError::StatusIndex(status_index));
        }
        let bits = STATUS_LIST_BITS as u64;
        let list = u32::try_from(status_index / bits)
            .map_err(|_| StatusListError::StatusIndex(status_index))?;
        let position = u32::try_from(status_index % bits)
            .map_err(|_| StatusListError::StatusIndex(status_index))?;
        Ok(Self { list, position })
    }

    /// The `status_index` of this position.
    pub fn status_index(&self) -> u64 {
        u64::from(self.list) * STATUS_LIST_BITS as u64 + u64::from(self.position)
    }
}

/// Checks a list number (at most [`MAX_LIST_NUMBER`]).
pub fn check_list_number(list: u64) -> Result<u32, StatusListError> {
    match u32::try_from(list) {
        Ok(list) if list <= MAX_LIST_NUMBER => Ok(list),
        _ => Err(StatusListError::ListNumber(list)),
    }
}

/// The URL of a status list: `BASE/v1/status-lists/ISSUER/PURPOSE/N`, `ISSUER` the key's
/// multibase (protocol.md §7.5). A trailing `/` of `base_url` is dropped. The caller validates
/// `base_url` (the node's `public_url`).
pub fn status_list_url(
    base_url: &str,
    issuer: &PublicKey,
    purpose: StatusPurpose,
    list: u32,
) -> String {
    format!(
        "{}/v1/status-lists/{}/{}/{list}",
        base_url.trim_end_matches('/'),
        issuer.to_multibase(),
        purpose.as_str()
    )
}

/// The `credentialStatus` of a credential that `issuer` signed with `status_index`: an array of
/// two `BitstringStatusListEntry` objects, `revocation` then `suspension` (protocol.md §7.5).
pub fn credential_status_entries(
    base_url: &str,
    issuer: &PublicKey,
    status_index: u64,
) -> Result<Value, StatusListError> {
    let at = StatusListPosition::from_status_index(status_index)?;
    let entries: Vec<Value> = StatusPurpose::ALL
        .iter()
        .map(|purpose| {
            let list_url = status_list_url(base_url, issuer, *purpose, at.list);
            json!({
                "id": format!("{list_url}#{}", at.position),
                "type": ENTRY_TYPE,
                "statusPurpose": purpose.as_str(),
                "statusListIndex": at.position.to_string(),
                "statusListCredential": list_url,
            })
        })
        .collect();
    Ok(Value::Array(entries))
}

/// What a status list credential says: who, which list, and the bits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusListContent<'a> {
    /// The node's `public_url`.
    pub base_url: &'a str,
    /// The key whose credentials the list covers, and which signs it.
    pub issuer: &'a PublicKey,
    /// The list's purpose.
    pub purpose: StatusPurpose,
    /// The list number (at most [`MAX_LIST_NUMBER`]).
    pub list: u32,
    /// The bits.
    pub bits: &'a StatusBitstring,
}

/// The unsigned `BitstringStatusListCredential` of `content`, valid from `valid_from` for
/// [`LIST_VALIDITY_MILLIS`] (protocol.md §7.5).
pub fn status_list_credential(
    content: &StatusListContent<'_>,
    valid_from: &Timestamp,
) -> Result<Value, StatusListError> {
    check_list_number(u64::from(content.list))?;
    let valid_until = Timestamp::from_unix_millis(
        valid_from
            .unix_millis()
            .saturating_add(LIST_VALIDITY_MILLIS),
    )
    .map_err(|error| StatusListError::Document(format!("validUntil: {error}")))?;
    let url = status_list_url(
        content.base_url,
        content.issuer,
        content.purpose,
        content.list,
    );
    Ok(json!({
        "@context": [VC_V2_CONTEXT],
        "id": url,
        "type": ["VerifiableCredential", LIST_CREDENTIAL_TYPE],
        "issuer": content.issuer.to_did_key(),
        "validFrom": valid_from.as_str(),
        "validUntil": valid_until.as_str(),
        "credentialSubject": {
            "id": format!("{url}#list"),
            "type": LIST_TYPE,
            "statusPurpose": content.purpose.as_str(),
            "encodedList": content.bits.encode(),
        },
    }))
}

/// The signed `BitstringStatusListCredential` of `content`: [`status_list_credential`] with an
/// `eddsa-jcs-2022` proof (purpose `assertionMethod`, `created` = `now`) by `key`, which must be
/// `content.issuer`'s.
pub fn sign_status_list_credential(
    content: &StatusListContent<'_>,
    key: &SecretKey,
    now: &Timestamp,
) -> Result<Value, StatusListError> {
    if key.public_key() != *content.issuer {
        return Err(StatusListError::IssuerMismatch);
    }
    let unsigned = status_list_credential(content, now)?;
    let options = ProofOptions {
        created: Some(now.clone()),
        ..ProofOptions::default()
    };
    Ok(data_integrity::sign(&unsigned, key, &options)?)
}

/// A status list credential whose proof verified, whose signer is its issuer, and which follows
/// the specification's rules. Only [`verify_status_list_credential`] constructs it.
#[derive(Debug, Clone)]
pub struct VerifiedStatusList {
    url: String,
    issuer: PublicKey,
    purpose: StatusPurpose,
    bits: StatusBitstring,
    valid_from: Option<String>,
    valid_until: Option<String>,
}

impl VerifiedStatusList {
    /// The credential's `id`: the list's URL.
    pub fn url(&self) -> &str {
        &self.url
    }
    /// The issuer, which signed it.
    pub fn issuer(&self) -> &PublicKey {
        &self.issuer
    }
    /// The list's purpose.
    pub fn purpose(&self) -> StatusPurpose {
        self.purpose
    }
    /// The bits.
    pub fn bits(&self) -> &StatusBitstring {
        &self.bits
    }
    /// `validFrom`, if any. Checking it against a clock is the caller's job.
    pub fn valid_from(&self) -> Option<&str> {
        self.valid_from.as_deref()
    }
    /// `validUntil`, if any. Checking it against a clock is the caller's job.
    pub fn valid_until(&self) -> Option<&str> {
        self.valid_until.as_deref()
    }
}

fn document_error(reason: &str) -> StatusListError {
    StatusListError::Document(reason.to_owned())
}

fn string_member<'a>(object: &'a Value, name: &str) -> Option<&'a str> {
    object.get(name).and_then(Value::as_str)
}

/// Checks a `BitstringStatusListCredential` as a verifier would: its `eddsa-jcs-2022` proof
/// (purpose `assertionMethod`), that the proof's key is the `issuer` (a `did:key`, as a string
/// or an object's `id`), the VC 2.0 `@context` first, both types, a subject of type
/// `BitstringStatusList` whose `id` is the credential's `id` + `#list`, a supported
/// `statusPurpose`, and an `encodedList` of exactly [`STATUS_LIST_BITS`] bits. Dates are
/// returned, not checked against a clock.
pub fn verify_status_list_credential(
    document: &Value,
) -> Result<VerifiedStatusList, StatusListError> {
    if !document.is_object() {
        return Err(document_error("not a JSON object"));
    }
    let context_first = match document.get("@context") {
        Some(Value::Array(items)) => items.first().and_then(Value::as_str),
        _ => None,
    };
    if context_first != Some(VC_V2_CONTEXT) {
        return Err(document_error(
            "@context must be an array starting with https://www.w3.org/ns/credentials/v2",
        ));
    }
    let url = string_member(document, "id").ok_or_else(|| document_error("id is missing"))?;
    let types: Vec<&str> = match document.get("type") {
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if !types.contains(&"VerifiableCredential") || !types.contains(&LIST_CREDENTIAL_TYPE) {
        return Err(document_error(
            "type must include VerifiableCredential and BitstringStatusListCredential",
        ));
    }
    let issuer_did = match document.get("issuer") {
        Some(Value::String(did)) => Some(did.as_str()),
        Some(issuer @ Value::Object(_)) => string_member(issuer, "id"),
        _ => None,
    }
    .ok_or_else(|| document_error("issuer is missing"))?;
    let issuer = PublicKey::from_did_key(issuer_did)
        .map_err(|error| StatusListError::Document(format!("issuer: {error}")))?;
    let subject = match document.get("credentialSubject") {
        Some(subject @ Value::Object(_)) => subject,
        _ => return Err(document_error("credentialSubject must be an object")),
    };
    if string_member(subject, "type") != Some(LIST_TYPE) {
        return Err(document_error(
            "credentialSubject.type must be BitstringStatusList",
        ));
    }
    if string_member(subject, "id") != Some(&format!("{url}#list")) {
        return Err(document_error(
            "credentialSubject.id must be the credential's id followed by #list",
        ));
    }
    let purpose = StatusPurpose::parse(
        string_member(subject, "statusPurpose")
            .ok_or_else(|| document_error("credentialSubject.statusPurpose is missing"))?,
    )?;
    let encoded = string_member(subject, "encodedList")
        .ok_or_else(|| document_error("credentialSubject.encodedList is missing"))?;
    let bits = StatusBitstring::decode(encoded)?;
    let verified = data_integrity::verify(document)?;
    if *verified.signer() != issuer {
        return Err(StatusListError::IssuerMismatch);
    }
    Ok(VerifiedStatusList {
        url: url.to_owned(),
        issuer,
        purpose,
        bits,
        valid_from: string_member(document, "validFrom").map(str::to_owned),
        valid_until: string_member(document, "validUntil").map(str::to_owned),
    })
}

#[cfg(test)]
mod tests;
