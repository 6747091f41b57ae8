//! The stored form of a right's state: the values of the `rights` family, versioned and kept
//! apart from [`RightState`], the type the fold produces and the API renders. Renaming a field
//! of `RightState` therefore cannot change the on-disk format; changing the format means a new
//! version here, with its own stored type, and a decoder that still reads the old ones.
//!
//! Layout of a value: one version byte, then the encoding that version names.
//!
//! | first byte | encoding |
//! |---|---|
//! | `0x01` | version 1: the JSON of [`StoredRightV1`] |
//! | `{` | legacy (written before the version byte existed): the same JSON, without the byte |
//!
//! Version 1 is JSON, not a binary encoding, on purpose: a value is read back only for the
//! rights a query returns or an entry changes, JSON costs no more than it did, the values stay
//! readable with RocksDB's own tools, and legacy values decode with the same type. JSON objects
//! never start with `0x01`, so the first byte tells the two apart.

use proto_types::body::{Digest, Holder, Jurisdiction, RightId, RightStatus, RightType};
use proto_types::entry::EntryId;
use proto_types::keys::PublicKey;
use proto_types::timestamp::{Date, Timestamp};
use serde::{Deserialize, Serialize};

use super::{Result, cf, corrupt};
use crate::rights::{HistoryChange, HistoryItem, RightState};

/// The version byte of [`StoredRightV1`] values.
pub const RIGHT_STATE_V1: u8 = 0x01;

/// The first byte of a legacy value (plain JSON object, no version byte).
const LEGACY_FIRST_BYTE: u8 = b'{';

/// Encodes a right's state as a version 1 value.
pub fn encode(state: &RightState) -> Result<Vec<u8>> {
    let mut bytes = vec![RIGHT_STATE_V1];
    serde_json::to_writer(&mut bytes, &StoredRightV1::from(state))
        .map_err(|error| corrupt(cf::RIGHTS, error))?;
    Ok(bytes)
}

/// Decodes a value of any version this build knows.
pub fn decode(bytes: &[u8]) -> Result<RightState> {
    let json = match bytes.first() {
        Some(&RIGHT_STATE_V1) => &bytes[1..],
        Some(&LEGACY_FIRST_BYTE) => bytes,
        Some(other) => {
            return Err(corrupt(
                cf::RIGHTS,
                format!("unknown right state version {other:#04x} (written by a newer build?)"),
            ));
        }
        None => return Err(corrupt(cf::RIGHTS, "empty right state")),
    };
    let stored: StoredRightV1 =
        serde_json::from_slice(json).map_err(|error| corrupt(cf::RIGHTS, error))?;
    Ok(stored.into())
}

/// Version 1 of a stored right state. The field names and their order are the format: they
/// are the names `RightState` had when the format was fixed, so legacy values read as this.
#[derive(Debug, Serialize, Deserialize)]
pub struct StoredRightV1 {
    right_id: RightId,
    right_type: RightType,
    jurisdiction: Jurisdiction,
    number: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    application_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    mark_text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    image_digest: Option<Digest>,
    nice_classes: Vec<u8>,
    holder: Holder,
    filing_date: Date,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    registration_date: Option<Date>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expiry_date: Option<Date>,
    status: RightStatus,
    registered_by: PublicKey,
    last_entry: EntryId,
    history: Vec<StoredHistoryItemV1>,
}

/// Version 1 of a stored history item.
#[derive(Debug, Serialize, Deserialize)]
struct StoredHistoryItemV1 {
    entry_id: EntryId,
    seq: u64,
    change: StoredChangeV1,
    effective_date: Date,
    timestamp: Timestamp,
}

/// Version 1 of a history change, as the word stored.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum StoredChangeV1 {
    Registration,
    Correction,
    Renewed,
    Assigned,
    Cancelled,
    Expired,
    Restored,
}

impl From<HistoryChange> for StoredChangeV1 {
    fn from(change: HistoryChange) -> Self {
        match change {
            HistoryChange::Registration => Self::Registration,
            HistoryChange::Correction => Self::Correction,
            HistoryChange::Renewed => Self::Renewed,
            HistoryChange::Assigned => Self::Assigned,
            HistoryChange::Cancelled => Self::Cancelled,
            HistoryChange::Expired => Self::Expired,
            HistoryChange::Restored => Self::Restored,
        }
    }
}

impl From<StoredChangeV1> for HistoryChange {
    fn from(change: StoredChangeV1) -> Self {
        match change {
            StoredChangeV1::Registration => Self::Registration,
            StoredChangeV1::Correction => Self::Correction,
            StoredChangeV1::Renewed => Self::Renewed,
            StoredChangeV1::Assigned => Self::Assigned,
            StoredChangeV1::Cancelled => Self::Cancelled,
            StoredChangeV1::Expired => Self::Expired,
            StoredChangeV1::Restored => Self::Restored,
        }
    }
}

impl From<&RightState> for StoredRightV1 {
    fn from(state: &RightState) -> Self {
        Self {
            right_id: state.right_id.clone(),
            right_type: state.right_type,
            jurisdiction: state.jurisdiction.clone(),
            number: state.number.clone(),
            application_number: state.application_number.clone(),
            mark_text: state.mark_text.clone(),
            title: state.title.clone(),
            image_digest: state.image_digest.clone(),
            nice_classes: state.nice_classes.clone(),
            holder: state.holder.clone(),
            filing_date: state.filing_date.clone(),
            registration_date: state.registration_date.clone(),
            expiry_date: state.expiry_date.clone(),
            status: state.status,
            registered_by: state.registered_by,
            last_entry: state.last_entry,
            history: state
                .history
                .iter()
                .map(|item| StoredHistoryItemV1 {
                    entry_id: item.entry_id,
                    seq: item.seq,
                    change: item.change.into(),
                    effective_date: item.effective_date.clone(),
                    timestamp: item.timestamp.clone(),
                })
                .collect(),
        }
    }
}

impl From<StoredRightV1> for RightState {
    fn from(stored: StoredRightV1) -> Self {
        Self {
            right_id: stored.right_id,
            right_type: stored.right_type,
            jurisdiction: stored.jurisdiction,
            number: stored.number,
            application_number: stored.application_number,
            mark_text: stored.mark_text,
            title: stored.title,
            image_digest: stored.image_digest,
            nice_classes: stored.nice_classes,
            holder: stored.holder,
            filing_date: stored.filing_date,
            registration_date: stored.registration_date,
            expiry_date: stored.expiry_date,
            status: stored.status,
            registered_by: stored.registered_by,
            last_entry: stored.last_entry,
            history: stored
                .history
                .into_iter()
                .map(|item| HistoryItem {
                    entry_id: item.entry_id,
                    seq: item.seq,
                    change: item.change.into(),
                    effective_date: item.effective_date,
                    timestamp: item.timestamp,
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::StorageError;

    /// What a build before the version byte wrote for [`known_state`], byte for byte.
    const LEGACY: &str = concat!(
        r#"{"right_id":"FR-TM-4123456","right_type":"trademark","jurisdiction":"FR","#,
        r#""number":"4123456","mark_text":"Café Noir","nice_classes":[25,3],"#,
        r#""holder":{"name":"Café Noir SA","country":"FR"},"filing_date":"2020-01-02","#,
        r#""registration_date":"2020-06-01","expiry_date":"2030-01-02","status":"registered","#,
        r#""registered_by":"did:key:z6MkvDqGT54cXesYGvABpF1UapVNwjCqRcafi4Px6Thv5T3Z","#,
        r#""last_entry":"0303030303030303030303030303030303030303030303030303030303030303","#,
        r#""history":[{"entry_id":"0101010101010101010101010101010101010101010101010101010101010101","#,
        r#""seq":1,"change":"registration","effective_date":"2020-01-02","#,
        r#""timestamp":"2020-06-01T10:00:00.000Z"},"#,
        r#"{"entry_id":"0303030303030303030303030303030303030303030303030303030303030303","#,
        r#""seq":4,"change":"assigned","effective_date":"2021-03-04","#,
        r#""timestamp":"2021-03-05T11:12:13.456Z"}]}"#,
    );

    fn known_state() -> RightState {
        let registered_by = proto_types::keys::SecretKey::from_seed(&[7; 32]).public_key();
        let date = |text: &str| Date::parse(text).expect("a date");
        let timestamp = |text: &str| Timestamp::parse(text).expect("a timestamp");
        RightState {
            right_id: RightId::parse("FR-TM-4123456").expect("a right id"),
            right_type: RightType::Trademark,
            jurisdiction: Jurisdiction::parse("FR").expect("a jurisdiction"),
            number: "4123456".to_owned(),
            application_number: None,
            mark_text: Some("Café Noir".to_owned()),
            title: None,
            image_digest: None,
            nice_classes: vec![25, 3],
            holder: serde_json::from_value(
                serde_json::json!({"name": "Café Noir SA", "country": "FR"}),
            )
            .expect("a holder"),
            filing_date: date("2020-01-02"),
            registration_date: Some(date("2020-06-01")),
            expiry_date: Some(date("2030-01-02")),
            status: RightStatus::Registered,
            registered_by,
            last_entry: EntryId([3; 32]),
            history: vec![
                HistoryItem {
                    entry_id: EntryId([1; 32]),
                    seq: 1,
                    change: HistoryChange::Registration,
                    effective_date: date("2020-01-02"),
                    timestamp: timestamp("2020-06-01T10:00:00.000Z"),
                },
                HistoryItem {
                    entry_id: EntryId([3; 32]),
                    seq: 4,
                    change: HistoryChange::Assigned,
                    effective_date: date("2021-03-04"),
                    timestamp: timestamp("2021-03-05T11:12:13.456Z"),
                },
            ],
        }
    }

    #[test]
    fn version_1_bytes_are_pinned() {
        let bytes = encode(&known_state()).expect("encodes");
        assert_eq!(bytes[0], 0x01, "the version byte");
        assert_eq!(
            std::str::from_utf8(&bytes[1..]).expect("JSON text"),
            LEGACY,
            "the stored right state format changed: that needs a new version"
        );
        assert_eq!(decode(&bytes).expect("decodes"), known_state());
    }

    #[test]
    fn a_legacy_value_without_a_version_byte_still_reads() {
        assert_eq!(
            decode(LEGACY.as_bytes()).expect("a legacy value decodes"),
            known_state()
        );
    }

    #[test]
    fn unknown_versions_and_garbage_are_corrupt_not_panics() {
        for bytes in [
            &b""[..],
            &[0x02, b'{', b'}'][..],
            &[0x01][..],
            &[0x01, b'{'][..],
            &b"{\"right_id\":\"not an id\"}"[..],
            &[0xff; 3][..],
        ] {
            let error = decode(bytes).expect_err("refused");
            assert!(
                matches!(error, StorageError::Corrupt { cf: "rights", .. }),
                "{error}"
            );
        }
        let error = decode(&[0x02, b'{', b'}'])
            .expect_err("refused")
            .to_string();
        assert!(
            error.contains("unknown right state version 0x02"),
            "{error}"
        );
    }
}
