//! The bits a list publishes and the cache of signed lists, over the in-memory source.

use proto_types::status_list::{
    STATUS_LIST_BITS, VerifiedStatusList, verify_status_list_credential,
};

use super::*;

const BASE: &str = "https://office.example/rightsnet";

fn key() -> SecretKey {
    SecretKey::from_seed(&[7; 32])
}

fn at(text: &str) -> Timestamp {
    Timestamp::parse(text).expect("a timestamp")
}

fn later(now: &Timestamp, millis: i64) -> Timestamp {
    Timestamp::from_unix_millis(now.unix_millis() + millis).expect("a timestamp")
}

fn parse(document: &[u8]) -> VerifiedStatusList {
    let value: serde_json::Value = serde_json::from_slice(document).expect("JSON");
    verify_status_list_credential(&value).expect("a valid list credential")
}

fn bits_with(positions: &[u32]) -> StatusBitstring {
    let mut bits = StatusBitstring::new();
    for position in positions {
        bits.set(*position, true).expect("a position");
    }
    bits
}

#[test]
fn lists_publish_revoked_and_suspended_bits() {
    let statuses = StatusBits {
        revoked: bits_with(&[1, 9]),
        suspended: bits_with(&[2]),
        anchored: bits_with(&[1, 2, 3]),
        compromised: false,
        highest_list: Some(0),
    };
    assert_eq!(
        statuses.list_bits(StatusPurpose::Revocation),
        bits_with(&[1, 9])
    );
    assert_eq!(
        statuses.list_bits(StatusPurpose::Suspension),
        bits_with(&[2])
    );
}

#[test]
fn after_a_compromise_only_anchored_credentials_not_revoked_stay_clear() {
    let statuses = StatusBits {
        revoked: bits_with(&[1]),
        suspended: bits_with(&[2]),
        anchored: bits_with(&[1, 2, 3]),
        compromised: true,
        highest_list: Some(0),
    };
    let revocation = statuses.list_bits(StatusPurpose::Revocation);
    assert_eq!(revocation.count_set(), STATUS_LIST_BITS - 2);
    assert!(revocation.get(1).unwrap(), "anchored but revoked");
    assert!(
        !revocation.get(2).unwrap(),
        "anchored, suspended, not revoked"
    );
    assert!(!revocation.get(3).unwrap(), "anchored and active");
    assert!(revocation.get(0).unwrap(), "nothing anchored here");
    assert!(revocation.get(131_071).unwrap());
    // Suspension does not change with a compromise.
    assert_eq!(
        statuses.list_bits(StatusPurpose::Suspension),
        bits_with(&[2])
    );
}

#[test]
fn published_lists_are_those_with_a_credential_or_any_of_a_compromised_key() {
    let mut statuses = StatusBits::empty();
    assert!(!statuses.publishes(0));
    statuses.highest_list = Some(2);
    assert!(statuses.publishes(0) && statuses.publishes(2));
    assert!(!statuses.publishes(3));
    statuses.compromised = true;
    assert!(statuses.publishes(3) && statuses.publishes(MAX_LIST_NUMBER));
    assert!(!statuses.publishes(MAX_LIST_NUMBER + 1));
}

#[test]
fn nothing_logged_is_nothing_published() {
    let lists = StatusLists::new(BASE, Arc::new(NoCredentials));
    let now = at("2026-12-01T09:30:00Z");
    for purpose in StatusPurpose::ALL {
        assert!(
            lists
                .signed_list(&key(), purpose, 0, &now)
                .unwrap()
                .is_none()
        );
    }
    let source = Arc::new(MemoryStatusSource::new());
    source.log(&SecretKey::from_seed(&[8; 32]).public_key(), 0, true);
    let lists = StatusLists::new(BASE, source);
    assert!(
        lists
            .signed_list(&key(), StatusPurpose::Revocation, 0, &now)
            .unwrap()
            .is_none(),
        "another key's credential is not this key's"
    );
    assert_eq!(lists.signatures(), 0);
}

#[test]
fn a_list_is_signed_again_only_when_its_bits_change_or_it_is_an_hour_old() {
    let issuer = key().public_key();
    let source = Arc::new(MemoryStatusSource::new());
    let lists = StatusLists::new(&format!("{BASE}/"), source.clone());
    assert_eq!(lists.base_url(), BASE);
    let now = at("2026-12-01T09:30:00Z");
    let revocation = |now: &Timestamp| {
        lists
            .signed_list(&key(), StatusPurpose::Revocation, 0, now)
            .unwrap()
            .expect("a published list")
    };

    source.log(&issuer, 5, true);
    let first = revocation(&now);
    let list = parse(&first);
    assert_eq!(
        list.url(),
        format!(
            "{BASE}/v1/status-lists/{}/revocation/0",
            issuer.to_multibase()
        )
    );
    assert_eq!(list.issuer(), &issuer);
    assert_eq!(list.bits(), &StatusBitstring::new());
    assert_eq!(lists.signatures(), 1);

    // Unchanged: the same copy, even a minute later.
    let again = revocation(&later(&now, 60_000));
    assert!(Arc::ptr_eq(&first, &again));
    assert_eq!(lists.signatures(), 1);

    // Revoked: signed again, with the bit.
    source.set_status(&issuer, 5, true, false);
    let revoked = revocation(&later(&now, 120_000));
    assert!(parse(&revoked).bits().get(5).unwrap());
    assert_eq!(parse(&revoked).valid_from(), Some("2026-12-01T09:32:00Z"));
    assert_eq!(lists.signatures(), 2);

    // Another change of the source that leaves this list's bits as they are: no signature.
    source.log(&issuer, 131_072 + 1, true);
    source.set_status(&issuer, 6, false, true);
    let unchanged = revocation(&later(&now, 180_000));
    assert!(Arc::ptr_eq(&revoked, &unchanged));
    assert_eq!(lists.signatures(), 2);

    // An hour after it was signed the copy is signed again, bits unchanged.
    let renewed = revocation(&later(&now, 120_000 + RESIGN_AFTER_MILLIS));
    assert!(!Arc::ptr_eq(&revoked, &renewed));
    assert_eq!(parse(&renewed).bits(), parse(&revoked).bits());
    assert_eq!(lists.signatures(), 3);

    // A clock that went back does not serve a copy "from the future".
    let _ = revocation(&now);
    assert_eq!(lists.signatures(), 4);

    // The suspension list is a list of its own.
    let suspension = lists
        .signed_list(&key(), StatusPurpose::Suspension, 0, &now)
        .unwrap()
        .expect("a published list");
    let suspension = parse(&suspension);
    assert_eq!(suspension.purpose(), StatusPurpose::Suspension);
    assert_eq!(suspension.bits(), &bits_with(&[6]));
    assert_eq!(lists.signatures(), 5);
    assert_eq!(lists.cached(), 2);
}

#[test]
fn lists_beyond_the_highest_are_not_published_until_a_credential_reaches_them() {
    let issuer = key().public_key();
    let source = Arc::new(MemoryStatusSource::new());
    let lists = StatusLists::new(BASE, source.clone());
    let now = at("2026-12-01T09:30:00Z");
    source.log(&issuer, 3, true);
    assert!(
        lists
            .signed_list(&key(), StatusPurpose::Revocation, 1, &now)
            .unwrap()
            .is_none()
    );
    source.log(&issuer, 131_072 + 3, true);
    source.set_status(&issuer, 131_072 + 3, true, false);
    let second = lists
        .signed_list(&key(), StatusPurpose::Revocation, 1, &now)
        .unwrap()
        .expect("list 1 is published");
    assert_eq!(parse(&second).bits(), &bits_with(&[3]));
    let first = lists
        .signed_list(&key(), StatusPurpose::Revocation, 0, &now)
        .unwrap()
        .expect("list 0 is published");
    assert_eq!(parse(&first).bits(), &StatusBitstring::new());
}

#[test]
fn a_compromised_keys_lists_revoke_everything_but_anchored_credentials() {
    let issuer = key().public_key();
    let source = Arc::new(MemoryStatusSource::new());
    let lists = StatusLists::new(BASE, source.clone());
    let now = at("2026-12-01T09:30:00Z");
    source.log(&issuer, 10, true);
    source.log(&issuer, 11, false);
    source.log(&issuer, 12, true);
    source.set_status(&issuer, 12, true, false);
    let before = lists
        .signed_list(&key(), StatusPurpose::Revocation, 0, &now)
        .unwrap()
        .expect("published");
    assert_eq!(parse(&before).bits(), &bits_with(&[12]));
    source.compromise(&issuer);
    let after = parse(
        &lists
            .signed_list(&key(), StatusPurpose::Revocation, 0, &now)
            .unwrap()
            .expect("published"),
    );
    assert_eq!(after.bits().count_set(), STATUS_LIST_BITS - 1);
    assert!(!after.bits().get(10).unwrap(), "anchored, active");
    assert!(
        after.bits().get(11).unwrap(),
        "logged after the compromise point"
    );
    assert!(after.bits().get(12).unwrap(), "revoked");
    // A list the key never used is published, every bit set, so that a forged credential at
    // any index checks as revoked.
    let far = parse(
        &lists
            .signed_list(&key(), StatusPurpose::Revocation, 900, &now)
            .unwrap()
            .expect("published"),
    );
    assert_eq!(far.bits(), &StatusBitstring::filled(true));
}

#[test]
fn the_cache_is_bounded() {
    let issuer = key().public_key();
    let source = Arc::new(MemoryStatusSource::new());
    source.log(&issuer, 0, true);
    source.compromise(&issuer);
    let lists = StatusLists::new(BASE, source);
    let now = at("2026-12-01T09:30:00Z");
    let count = u32::try_from(MAX_CACHED_LISTS).unwrap() + 20;
    for list in 0..count {
        let signed_at = later(&now, i64::from(list));
        assert!(
            lists
                .signed_list(&key(), StatusPurpose::Revocation, list, &signed_at)
                .unwrap()
                .is_some()
        );
    }
    assert_eq!(lists.cached(), MAX_CACHED_LISTS);
    assert_eq!(lists.signatures(), u64::from(count));
    // The newest copies stayed; the oldest went.
    let newest = later(&now, i64::from(count));
    let _ = lists
        .signed_list(&key(), StatusPurpose::Revocation, count - 1, &newest)
        .unwrap();
    assert_eq!(lists.signatures(), u64::from(count));
    let _ = lists
        .signed_list(&key(), StatusPurpose::Revocation, 0, &newest)
        .unwrap();
    assert_eq!(lists.signatures(), u64::from(count) + 1);
}

/// A source whose store cannot be read.
struct Broken;

impl StatusSource for Broken {
    fn version(&self, _issuer: &PublicKey) -> Result<u64, StatusSourceError> {
        Ok(1)
    }

    fn statuses(&self, _issuer: &PublicKey, _list: u32) -> Result<StatusBits, StatusSourceError> {
        Err(StatusSourceError("the disk is gone".to_owned()))
    }
}

#[test]
fn a_failing_source_is_an_error_not_an_empty_list() {
    let lists = StatusLists::new(BASE, Arc::new(Broken));
    let error = lists
        .signed_list(
            &key(),
            StatusPurpose::Revocation,
            0,
            &at("2026-12-01T09:30:00Z"),
        )
        .unwrap_err();
    assert!(matches!(error, StatusListsError::Source(_)), "{error}");
    assert_eq!(lists.cached(), 0);
}
