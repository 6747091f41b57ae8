//! Admission counting: the threshold, withdrawals, endorsers leaving the store, one voice per
//! endorser, admission that is not transitive, compromised endorsements, subjects the store
//! governs.

use std::cell::Cell;

use proto_types::keys::SecretKey;

use super::*;

/// Keys without rotations; `compromised` names one (author, seq) that is compromised.
struct Keys {
    compromised: Cell<Option<(PublicKey, u64)>>,
    rotated_to: Option<(PublicKey, PublicKey)>,
}

impl Keys {
    fn plain() -> Self {
        Self {
            compromised: Cell::new(None),
            rotated_to: None,
        }
    }
}

impl KeyHistory for Keys {
    fn root(&self, key: &PublicKey) -> PublicKey {
        match self.rotated_to {
            Some((new, root)) if new == *key => root,
            _ => *key,
        }
    }

    fn compromised(&self, author: &PublicKey, seq: u64) -> bool {
        self.compromised.get() == Some((*author, seq))
    }
}

fn key() -> PublicKey {
    SecretKey::generate().public_key()
}

fn fr() -> Jurisdiction {
    Jurisdiction::parse("FR").unwrap()
}

fn de() -> Jurisdiction {
    Jurisdiction::parse("DE").unwrap()
}

fn office(did: PublicKey) -> TrustedAuthority {
    TrustedAuthority {
        did,
        name: "Office".into(),
        role: AuthorityRole::Office,
        jurisdictions: vec![fr()],
    }
}

fn store(offices: &[PublicKey]) -> TrustStore {
    TrustStore::from_authorities(offices.iter().map(|did| office(*did)).collect()).unwrap()
}

/// Builds records in store order.
struct Log {
    records: Vec<EndorsementRecord>,
}

impl Log {
    fn new() -> Self {
        Self {
            records: Vec::new(),
        }
    }

    fn endorse(
        &mut self,
        endorser: PublicKey,
        subject: PublicKey,
        jurisdictions: &[Jurisdiction],
    ) -> &mut Self {
        self.push(
            endorser,
            subject,
            AuthorityRole::Office,
            jurisdictions,
            false,
        )
    }

    fn withdraw(&mut self, endorser: PublicKey, subject: PublicKey) -> &mut Self {
        self.push(endorser, subject, AuthorityRole::Office, &[fr()], true)
    }

    fn push(
        &mut self,
        endorser: PublicKey,
        subject: PublicKey,
        role: AuthorityRole,
        jurisdictions: &[Jurisdiction],
        withdrawn: bool,
    ) -> &mut Self {
        let ordinal = self.records.len() as u64;
        let mut id = [0u8; 32];
        id[..8].copy_from_slice(&ordinal.to_be_bytes());
        self.records.push(EndorsementRecord {
            ordinal,
            entry_id: EntryId(id),
            author: endorser,
            seq: ordinal + 1,
            endorser,
            subject,
            name: format!("Subject as of {ordinal}"),
            role,
            jurisdictions: jurisdictions.to_vec(),
            withdrawn,
        });
        self
    }

    fn admit(&self, store: &TrustStore, threshold: usize, keys: &Keys) -> Admitted {
        admit(
            store,
            &Endorsements::new(self.records.clone()),
            threshold,
            keys,
        )
    }
}

#[test]
fn k_endorsements_admit_for_the_jurisdictions_they_share() {
    let offices = [key(), key(), key()];
    let subject = key();
    let store = store(&offices);
    let mut log = Log::new();
    log.endorse(offices[0], subject, &[fr(), de()]);
    let keys = Keys::plain();
    assert!(
        log.admit(&store, 2, &keys).get(&subject).is_none(),
        "one of two"
    );
    log.endorse(offices[1], subject, &[fr()]);
    let admitted = log.admit(&store, 2, &keys);
    let subject_now = admitted.get(&subject).expect("admitted at k = 2");
    assert_eq!(subject_now.authority.role, AuthorityRole::Office);
    assert_eq!(
        subject_now.authority.jurisdictions,
        vec![fr()],
        "DE has one endorsement"
    );
    assert_eq!(
        subject_now.authority.name, "Subject as of 1",
        "the latest endorsement's name"
    );
    let justification = &subject_now.justification;
    assert_eq!(justification.len(), 1);
    assert_eq!(justification[0].jurisdiction, Some(fr()));
    assert_eq!(justification[0].endorsements.len(), 2);
    // Off: nothing is admitted, however many endorse.
    assert!(log.admit(&store, 0, &keys).is_empty());
    // k = 3 is not reached by two.
    assert!(log.admit(&store, 3, &keys).is_empty());
    log.endorse(offices[2], subject, &[de()]);
    let both = log.admit(&store, 2, &keys);
    assert_eq!(
        both.get(&subject).unwrap().authority.jurisdictions,
        vec![de(), fr()],
        "DE reaches two with the third office"
    );
}

#[test]
fn a_withdrawal_below_k_removes_the_subject_and_a_later_endorsement_restores_it() {
    let offices = [key(), key()];
    let subject = key();
    let store = store(&offices);
    let keys = Keys::plain();
    let mut log = Log::new();
    log.endorse(offices[0], subject, &[fr()])
        .endorse(offices[1], subject, &[fr()]);
    assert!(log.admit(&store, 2, &keys).get(&subject).is_some());
    log.withdraw(offices[1], subject);
    assert!(log.admit(&store, 2, &keys).get(&subject).is_none());
    assert!(
        log.admit(&store, 1, &keys).get(&subject).is_some(),
        "one current endorsement is enough at k = 1"
    );
    log.endorse(offices[1], subject, &[fr()]);
    assert!(log.admit(&store, 2, &keys).get(&subject).is_some());
}

#[test]
fn one_endorser_counts_once_however_often_it_endorses() {
    let offices = [key(), key()];
    let subject = key();
    let store = store(&offices);
    let mut log = Log::new();
    log.endorse(offices[0], subject, &[fr()])
        .endorse(offices[0], subject, &[fr()])
        .endorse(offices[0], subject, &[fr()]);
    assert!(log.admit(&store, 2, &Keys::plain()).is_empty());
    // Its latest word counts, not the union of its words.
    log.endorse(offices[0], subject, &[de()])
        .endorse(offices[1], subject, &[fr()]);
    assert!(log.admit(&store, 2, &Keys::plain()).is_empty());
}

#[test]
fn an_endorser_removed_from_the_store_no_longer_counts() {
    let offices = [key(), key()];
    let subject = key();
    let mut log = Log::new();
    log.endorse(offices[0], subject, &[fr()])
        .endorse(offices[1], subject, &[fr()]);
    assert!(
        log.admit(&store(&offices), 2, &Keys::plain())
            .get(&subject)
            .is_some()
    );
    assert!(
        log.admit(&store(&offices[..1]), 2, &Keys::plain())
            .is_empty()
    );
    // A marketplace of the store is no endorser either.
    let mut with_market = store(&offices[..1]).sorted();
    with_market.push(TrustedAuthority {
        did: offices[1],
        name: "Shop".into(),
        role: AuthorityRole::Marketplace,
        jurisdictions: Vec::new(),
    });
    let with_market = TrustStore::from_authorities(with_market).unwrap();
    assert!(log.admit(&with_market, 2, &Keys::plain()).is_empty());
}

#[test]
fn admission_is_not_transitive() {
    let offices = [key(), key()];
    let admitted_office = key();
    let third = key();
    let store = store(&offices);
    let mut log = Log::new();
    log.endorse(offices[0], admitted_office, &[fr()])
        .endorse(offices[1], admitted_office, &[fr()])
        .endorse(admitted_office, third, &[fr()])
        .endorse(offices[0], third, &[fr()]);
    let admitted = log.admit(&store, 2, &Keys::plain());
    assert!(admitted.get(&admitted_office).is_some());
    assert!(
        admitted.get(&third).is_none(),
        "the admitted office's endorsement does not count"
    );
}

#[test]
fn a_compromised_latest_endorsement_falls_back_to_the_one_before() {
    let offices = [key(), key()];
    let subject = key();
    let store = store(&offices);
    let mut log = Log::new();
    log.endorse(offices[0], subject, &[fr()])
        .endorse(offices[1], subject, &[fr()])
        .withdraw(offices[1], subject);
    let keys = Keys::plain();
    assert!(log.admit(&store, 2, &keys).is_empty());
    // The withdrawal (ordinal 2, seq 3) is compromised: the endorsement before it stands.
    keys.compromised.set(Some((offices[1], 3)));
    assert!(log.admit(&store, 2, &keys).get(&subject).is_some());
    // The first office's only endorsement is compromised: it has no word on the subject.
    keys.compromised.set(Some((offices[0], 1)));
    assert!(log.admit(&store, 2, &keys).is_empty());
}

#[test]
fn the_store_governs_its_own_authorities_and_their_rotated_keys() {
    let offices = [key(), key()];
    let rotated = key();
    let store = store(&offices);
    let mut log = Log::new();
    // Endorsing a store office for DE adds nothing: the store alone governs it.
    log.endorse(offices[0], offices[1], &[de()]);
    log.push(
        offices[0],
        offices[1],
        AuthorityRole::Office,
        &[de()],
        false,
    );
    log.endorse(offices[0], rotated, &[de()])
        .endorse(offices[1], rotated, &[de()]);
    let keys = Keys {
        compromised: Cell::new(None),
        rotated_to: Some((rotated, offices[1])),
    };
    assert!(log.admit(&store, 1, &keys).is_empty());
}

#[test]
fn marketplaces_are_admitted_when_no_office_jurisdiction_is() {
    let offices = [key(), key()];
    let shop = key();
    let store = store(&offices);
    let mut log = Log::new();
    log.push(offices[0], shop, AuthorityRole::Marketplace, &[], false)
        .push(offices[1], shop, AuthorityRole::Marketplace, &[fr()], false);
    let admitted = log.admit(&store, 2, &Keys::plain());
    let shop_now = admitted.get(&shop).expect("a marketplace at k = 2");
    assert_eq!(shop_now.authority.role, AuthorityRole::Marketplace);
    assert!(shop_now.authority.jurisdictions.is_empty());
    assert_eq!(shop_now.justification[0].jurisdiction, None);
    assert_eq!(shop_now.justification[0].endorsements.len(), 2);
    // An office admission wins over a marketplace one.
    let mut both = Log::new();
    both.push(offices[0], shop, AuthorityRole::Marketplace, &[], false)
        .endorse(offices[1], shop, &[fr()]);
    assert_eq!(
        both.admit(&store, 1, &Keys::plain())
            .get(&shop)
            .unwrap()
            .authority
            .role,
        AuthorityRole::Office
    );
}

#[test]
fn the_table_orders_records_and_continues_their_ordinals() {
    let offices = [key()];
    let subject = key();
    let mut log = Log::new();
    log.endorse(offices[0], subject, &[fr()])
        .withdraw(offices[0], subject);
    let mut shuffled = log.records.clone();
    shuffled.reverse();
    let table = Endorsements::new(shuffled);
    assert_eq!(table.next_ordinal(), 2);
    assert_eq!(table.subjects().count(), 1);
    assert!(
        admit(&store(&offices), &table, 1, &Keys::plain()).is_empty(),
        "the withdrawal is the latest word, whatever order the records came in"
    );
}
