//! The credential log's records and indexes in `index_claims` (layouts in [`super::keys`]):
//! their encoding, and every read the verdict, the API and the status lists need.

use proto_types::body::CredentialStatusKind;
use proto_types::keys::PublicKey;
use rocksdb::{Direction, IteratorMode};

use super::keys::{self, CredentialKey};
use super::{Result, Store, cf, corrupt};
use crate::credential_log::CredentialRecord;

/// The version byte of a stored [`CredentialRecord`] (then its JSON).
pub const CREDENTIAL_RECORD_V1: u8 = 0x01;

/// Which credentials a listing walks.
#[derive(Debug, Clone, Copy)]
pub enum CredentialListing<'a> {
    /// Every credential logged for this right id.
    Right(&'a str),
    /// Every credential logged for this holder key.
    Holder(&'a PublicKey),
}

/// Encodes a record as a stored value.
pub(super) fn encode(record: &CredentialRecord) -> Result<Vec<u8>> {
    let mut bytes = vec![CREDENTIAL_RECORD_V1];
    serde_json::to_writer(&mut bytes, record).map_err(|error| corrupt(cf::INDEX_CLAIMS, error))?;
    Ok(bytes)
}

fn decode(bytes: &[u8]) -> Result<CredentialRecord> {
    match bytes.split_first() {
        Some((&CREDENTIAL_RECORD_V1, json)) => {
            serde_json::from_slice(json).map_err(|error| corrupt(cf::INDEX_CLAIMS, error))
        }
        Some((other, _)) => Err(corrupt(
            cf::INDEX_CLAIMS,
            format!("unknown credential record version {other:#04x} (written by a newer build?)"),
        )),
        None => Err(corrupt(cf::INDEX_CLAIMS, "empty credential record")),
    }
}

/// The byte a status is stored as in the `I` index.
pub(super) fn status_byte(status: CredentialStatusKind) -> u8 {
    match status {
        CredentialStatusKind::Active => b'a',
        CredentialStatusKind::Suspended => b's',
        CredentialStatusKind::Revoked => b'r',
    }
}

fn status_of(byte: u8) -> Result<CredentialStatusKind> {
    match byte {
        b'a' => Ok(CredentialStatusKind::Active),
        b's' => Ok(CredentialStatusKind::Suspended),
        b'r' => Ok(CredentialStatusKind::Revoked),
        other => Err(corrupt(
            cf::INDEX_CLAIMS,
            format!("unknown credential status byte {other:#04x}"),
        )),
    }
}

/// The value of an `I` key: status byte ‖ credential id.
pub(super) fn index_value(record: &CredentialRecord) -> Vec<u8> {
    let mut value = vec![status_byte(record.status)];
    value.extend_from_slice(record.credential_id.as_str().as_bytes());
    value
}

/// One position of an issuer key's status lists, as [`Store::status_indexes`] visits it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexedCredential {
    /// The status index.
    pub status_index: u32,
    /// The credential's status after every effective change (no compromise applied).
    pub status: CredentialStatusKind,
    /// The credential id.
    pub credential_id: String,
}

impl Store {
    /// The record of a logged credential.
    pub fn credential(&self, credential_id: &str) -> Result<Option<CredentialRecord>> {
        self.db
            .get_cf(
                self.cf(cf::INDEX_CLAIMS),
                CredentialKey::Record(credential_id).prefix(),
            )?
            .map(|bytes| decode(&bytes))
            .transpose()
    }

    /// Up to `limit` credentials of `listing`, oldest logged first, after the position `after`
    /// (a cursor this returned). Returns them and the cursor of the next page, if there may be
    /// one.
    pub fn credentials(
        &self,
        listing: CredentialListing<'_>,
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<(Vec<CredentialRecord>, Option<Vec<u8>>)> {
        let did;
        let key = match listing {
            CredentialListing::Right(right_id) => CredentialKey::ByRight(right_id),
            CredentialListing::Holder(holder) => {
                did = holder.to_did_key();
                CredentialKey::ByHolder(&did)
            }
        };
        let prefix = key.prefix();
        let start = after.map(|tail| key.with_tail(tail));
        let mut records = Vec::new();
        let mut last_tail = None;
        for item in self.db.iterator_cf(
            self.cf(cf::INDEX_CLAIMS),
            IteratorMode::From(start.as_deref().unwrap_or(&prefix), Direction::Forward),
        ) {
            let (found, _) = item?;
            if !found.starts_with(&prefix) {
                break;
            }
            if start.as_deref() == Some(found.as_ref()) {
                continue;
            }
            if records.len() >= limit {
                return Ok((records, last_tail));
            }
            let tail = &found[prefix.len()..];
            let credential_id = String::from_utf8_lossy(keys::listing_credential(tail));
            let record = self.credential(&credential_id)?.ok_or_else(|| {
                corrupt(
                    cf::INDEX_CLAIMS,
                    format!("listed credential {credential_id} has no record"),
                )
            })?;
            records.push(record);
            last_tail = Some(tail.to_vec());
        }
        Ok((records, None))
    }

    /// The credential `issuer` logged at `status_index`, if any.
    pub fn credential_at_index(
        &self,
        issuer: &PublicKey,
        status_index: u32,
    ) -> Result<Option<IndexedCredential>> {
        let did = issuer.to_did_key();
        let key = CredentialKey::ByIndex(&did).with_tail(&status_index.to_be_bytes());
        self.db
            .get_cf(self.cf(cf::INDEX_CLAIMS), key)?
            .map(|value| indexed(status_index, &value))
            .transpose()
    }

    /// The highest status index `issuer` logged a credential at.
    pub fn highest_status_index(&self, issuer: &PublicKey) -> Result<Option<u32>> {
        let did = issuer.to_did_key();
        let prefix = CredentialKey::ByIndex(&did).prefix();
        let upper = CredentialKey::ByIndex(&did).with_tail(&[0xff; 5]);
        let Some(item) = self
            .db
            .iterator_cf(
                self.cf(cf::INDEX_CLAIMS),
                IteratorMode::From(&upper, Direction::Reverse),
            )
            .next()
        else {
            return Ok(None);
        };
        let (found, _) = item?;
        if !found.starts_with(&prefix) {
            return Ok(None);
        }
        index_of(&found[prefix.len()..]).map(Some)
    }

    /// Visits the credentials `issuer` logged at status indexes `from..until`, in index order,
    /// until `visit` returns false (the status lists of §7.5 read a list of 131 072 positions
    /// this way, in one scan).
    pub fn status_indexes(
        &self,
        issuer: &PublicKey,
        from: u32,
        until: u32,
        mut visit: impl FnMut(IndexedCredential) -> bool,
    ) -> Result<()> {
        let did = issuer.to_did_key();
        let prefix = CredentialKey::ByIndex(&did).prefix();
        let start = CredentialKey::ByIndex(&did).with_tail(&from.to_be_bytes());
        for item in self.db.iterator_cf(
            self.cf(cf::INDEX_CLAIMS),
            IteratorMode::From(&start, Direction::Forward),
        ) {
            let (found, value) = item?;
            if !found.starts_with(&prefix) {
                break;
            }
            let status_index = index_of(&found[prefix.len()..])?;
            if status_index >= until {
                break;
            }
            if !visit(indexed(status_index, &value)?) {
                break;
            }
        }
        Ok(())
    }

    /// The log version of `issuer`: how many credentials it logged plus how many status changes
    /// of them took effect. A status-list cache is fresh while this is unchanged.
    pub fn credential_log_version(&self, issuer: &PublicKey) -> Result<u64> {
        let did = issuer.to_did_key();
        match self.db.get_cf(
            self.cf(cf::INDEX_CLAIMS),
            CredentialKey::Version(&did).prefix(),
        )? {
            Some(bytes) => Ok(u64::from_be_bytes(bytes.as_slice().try_into().map_err(
                |_| corrupt(cf::INDEX_CLAIMS, "credential log version length"),
            )?)),
            None => Ok(0),
        }
    }
}

fn index_of(tail: &[u8]) -> Result<u32> {
    Ok(u32::from_be_bytes(tail.try_into().map_err(|_| {
        corrupt(cf::INDEX_CLAIMS, "status index key length")
    })?))
}

fn indexed(status_index: u32, value: &[u8]) -> Result<IndexedCredential> {
    let Some((&status, id)) = value.split_first() else {
        return Err(corrupt(cf::INDEX_CLAIMS, "empty status index value"));
    };
    Ok(IndexedCredential {
        status_index,
        status: status_of(status)?,
        credential_id: String::from_utf8_lossy(id).into_owned(),
    })
}
