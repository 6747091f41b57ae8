//! The pure rules of the credential log: transitions, the bounded history, the status a
//! verifier reads when changes are distrusted, and anchoring.

use proto_types::body::{CredentialStatusKind, CredentialV1, EntryKind, examples};
use proto_types::entry::EntryId;
use proto_types::keys::SecretKey;
use proto_types::timestamp::Timestamp;

use super::*;

fn position(seed: u8, seq: u64, authority: PublicKey) -> LogPosition {
    LogPosition {
        entry_id: EntryId([seq as u8; 32]),
        author: SecretKey::from_seed(&[seed; 32]).public_key(),
        authority,
        seq,
        timestamp: Timestamp::from_unix_millis(1_700_000_000_000).expect("a timestamp"),
    }
}

fn logged_record() -> (CredentialRecord, PublicKey) {
    let office = SecretKey::from_seed(&[1; 32]).public_key();
    let body: CredentialV1 =
        match proto_types::body::Body::decode(EntryKind::Credential, &examples::credential_log()) {
            Ok(proto_types::body::Body::Credential(body)) => body,
            other => panic!("{other:?}"),
        };
    (logged(&position(1, 1, office), &body), office)
}

fn change(status: &str, reason: &str) -> CredentialStatusV1 {
    serde_json::from_value(serde_json::json!({
        "v": 1, "credential_id": examples::CREDENTIAL_ID, "status": status, "reason_code": reason
    }))
    .expect("a status body")
}

#[test]
fn history_is_bounded_and_counts_every_change() {
    let (mut record, office) = logged_record();
    for seq in 2..30u64 {
        let status = if seq % 2 == 0 { "suspended" } else { "active" };
        let reason = if seq % 2 == 0 {
            "unspecified"
        } else {
            "suspension_lifted"
        };
        record = change_status(&record, &position(1, seq, office), &change(status, reason))
            .expect("a transition");
    }
    assert_eq!(record.changes.len(), MAX_STATUS_HISTORY);
    assert_eq!(record.change_count, 28);
    assert_eq!(record.changes.last().map(|change| change.seq), Some(29));
    assert_eq!(record.status, CredentialStatusKind::Active);
}

#[test]
fn another_authority_cannot_change_the_status() {
    let (record, _) = logged_record();
    let stranger = SecretKey::from_seed(&[9; 32]).public_key();
    let refused = change_status(
        &record,
        &position(9, 2, stranger),
        &change("revoked", "unspecified"),
    )
    .expect_err("not the same authority");
    assert_eq!(refused.code(), "not_this_office");
    // A rotated-to key of the same authority can.
    let (record, office) = logged_record();
    let changed = change_status(
        &record,
        &position(4, 1, office),
        &change("revoked", "unspecified"),
    )
    .expect("the authority's new key");
    assert_eq!(changed.status, CredentialStatusKind::Revoked);
}

#[test]
fn the_status_read_skips_distrusted_changes() {
    let (record, office) = logged_record();
    assert_eq!(
        current(&record, |_, _| false),
        (CredentialStatusKind::Active, None)
    );
    let suspended = change_status(
        &record,
        &position(1, 5, office),
        &change("suspended", "unspecified"),
    )
    .expect("suspends");
    let revoked = change_status(
        &suspended,
        &position(1, 7, office),
        &change("revoked", "key_compromise"),
    )
    .expect("revokes");
    let (status, by) = current(&revoked, |_, _| false);
    assert_eq!(status, CredentialStatusKind::Revoked);
    assert_eq!(by.map(|change| change.seq), Some(7));
    // Seq 6 on is distrusted: the suspension at 5 stands.
    let (status, by) = current(&revoked, |_, seq| seq >= 6);
    assert_eq!(status, CredentialStatusKind::Suspended);
    assert_eq!(by.map(|change| change.seq), Some(5));
    // Everything distrusted: the status before the oldest kept change.
    let (status, by) = current(&revoked, |_, _| true);
    assert_eq!(status, CredentialStatusKind::Active);
    assert!(by.is_none());
}

#[test]
fn anchoring_is_below_the_rotation_and_below_a_compromise() {
    let key = SecretKey::from_seed(&[4; 32]).public_key();
    let routine = crate::trust::Rotation {
        new_key: key,
        seq: 10,
        entry_id: EntryId([0; 32]),
        compromised_since: None,
    };
    assert!(routine.anchors(9));
    assert!(!routine.anchors(10));
    assert!(!routine.anchors(11));
    let compromise = crate::trust::Rotation {
        compromised_since: Some(5),
        ..routine
    };
    assert!(compromise.anchors(4));
    assert!(!compromise.anchors(5));
    assert!(!compromise.anchors(9));
}
