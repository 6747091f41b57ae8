//! Admission by endorsement (protocol.md §6.8.1, §13.3): which authorities this node trusts
//! because at least `k` offices of its own trust store endorse them. Pure: the endorsements
//! recorded by the writer ([`Endorsements`]) and the own store go in, the admitted authorities
//! with the entries that justify them ([`Admitted`]) come out. [`crate::trust::Trust`] keeps the
//! result current and consults it wherever the trust store is consulted.
//!
//! Rules, in the order [`admit`] applies them:
//! - admission is off when the threshold is 0;
//! - an *endorser* is an office of the own store (through its rotations: endorsements are
//!   recorded under the endorser's original key), never an admitted authority;
//! - an endorser's *current* endorsement of a subject is its latest recorded endorsement of it
//!   that is not compromised (§6.9.1), unless that one is a withdrawal;
//! - a subject that speaks for an authority of the own store is governed by the store alone;
//! - a subject is an office for every jurisdiction at least `k` current office endorsements
//!   list; otherwise a marketplace when at least `k` current endorsements say marketplace.

use std::collections::{BTreeMap, HashMap};

use proto_types::body::{AuthorityRole, Jurisdiction};
use proto_types::entry::EntryId;
use proto_types::keys::PublicKey;
use serde::{Deserialize, Serialize};

use crate::trust::{TrustStore, TrustedAuthority};

/// One effective `authority` v2 entry, as the writer recorded it (and as the store keeps it,
/// in JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndorsementRecord {
    /// Where it stands among every endorsement this node recorded (store order, which is feed
    /// order for each endorser: a rotated-to key's entries are stored after its old key's).
    pub ordinal: u64,
    /// The entry.
    pub entry_id: EntryId,
    /// The key that signed it.
    pub author: PublicKey,
    /// Its seq in the author's feed.
    pub seq: u64,
    /// The endorsing authority: the original key the author speaks for.
    pub endorser: PublicKey,
    /// The endorsed key.
    pub subject: PublicKey,
    /// The endorsed authority's name.
    pub name: String,
    /// The role endorsed.
    pub role: AuthorityRole,
    /// The jurisdictions endorsed.
    pub jurisdictions: Vec<Jurisdiction>,
    /// Whether this withdraws the endorser's endorsement of the subject.
    pub withdrawn: bool,
}

/// Every endorsement recorded, by subject and endorser, each list in store order.
#[derive(Debug, Clone, Default)]
pub struct Endorsements {
    by_subject: HashMap<PublicKey, HashMap<PublicKey, Vec<EndorsementRecord>>>,
    count: u64,
}

impl Endorsements {
    /// The table of `records`, in any order.
    pub fn new(mut records: Vec<EndorsementRecord>) -> Self {
        records.sort_by_key(|record| record.ordinal);
        let mut table = Self::default();
        for record in records {
            table.push(record);
        }
        table
    }

    /// Adds a record stored after every other.
    pub fn push(&mut self, record: EndorsementRecord) {
        self.count = self.count.max(record.ordinal.saturating_add(1));
        self.by_subject
            .entry(record.subject)
            .or_default()
            .entry(record.endorser)
            .or_default()
            .push(record);
    }

    /// The ordinal the next record gets.
    pub fn next_ordinal(&self) -> u64 {
        self.count
    }

    /// Every subject with at least one record.
    pub fn subjects(&self) -> impl Iterator<Item = &PublicKey> {
        self.by_subject.keys()
    }
}

/// An authority admitted by endorsement, with what justifies it.
#[derive(Debug, Clone, PartialEq)]
pub struct AdmittedAuthority {
    /// What this node now trusts it as (`did` is the subject).
    pub authority: TrustedAuthority,
    /// For an office, per admitted jurisdiction, the current endorsements that list it; for a
    /// marketplace, one item without a jurisdiction. Ordered by jurisdiction.
    pub justification: Vec<Justification>,
}

/// The current endorsements behind one admitted jurisdiction (or the marketplace role).
#[derive(Debug, Clone, PartialEq)]
pub struct Justification {
    /// The jurisdiction; `None` for a marketplace.
    pub jurisdiction: Option<Jurisdiction>,
    /// The endorsements counted, ordered by endorser.
    pub endorsements: Vec<EndorsementRecord>,
}

/// The authorities admitted by endorsement, by subject key.
#[derive(Debug, Clone, Default)]
pub struct Admitted {
    by_key: HashMap<PublicKey, AdmittedAuthority>,
}

impl Admitted {
    /// The admitted authority with this key.
    pub fn get(&self, key: &PublicKey) -> Option<&AdmittedAuthority> {
        self.by_key.get(key)
    }

    /// Every admitted authority, ordered by `did:key`.
    pub fn sorted(&self) -> Vec<&AdmittedAuthority> {
        let mut list: Vec<&AdmittedAuthority> = self.by_key.values().collect();
        list.sort_by_key(|admitted| admitted.authority.did.to_did_key());
        list
    }

    /// How many authorities are admitted.
    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }
}

/// What [`admit`] needs to know about keys besides the store: which authority a key speaks for
/// (rotations), and which endorsement entries are compromised.
pub trait KeyHistory {
    /// The original key of the authority `key` speaks for (itself unless rotated-to).
    fn root(&self, key: &PublicKey) -> PublicKey;
    /// Whether the entry of `author` at `seq` lies in a compromised range (§6.9.1).
    fn compromised(&self, author: &PublicKey, seq: u64) -> bool;
}

/// The authorities `endorsements` admit under `store` with `threshold` (0: none).
pub fn admit(
    store: &TrustStore,
    endorsements: &Endorsements,
    threshold: usize,
    keys: &impl KeyHistory,
) -> Admitted {
    let mut admitted = Admitted::default();
    if threshold == 0 {
        return admitted;
    }
    for (subject, by_endorser) in &endorsements.by_subject {
        if store.get(&keys.root(subject)).is_some() {
            continue;
        }
        let current: Vec<&EndorsementRecord> = by_endorser
            .iter()
            .filter(|(endorser, _)| {
                store
                    .get(endorser)
                    .is_some_and(|authority| authority.role == AuthorityRole::Office)
            })
            .filter_map(|(_, records)| {
                records
                    .iter()
                    .rev()
                    .find(|record| !keys.compromised(&record.author, record.seq))
            })
            .filter(|record| !record.withdrawn)
            .collect();
        if let Some(authority) = admitted_as(*subject, &current, threshold) {
            admitted.by_key.insert(*subject, authority);
        }
    }
    admitted
}

/// What the current endorsements of one subject make of it, if anything.
fn admitted_as(
    subject: PublicKey,
    current: &[&EndorsementRecord],
    threshold: usize,
) -> Option<AdmittedAuthority> {
    let mut by_jurisdiction: BTreeMap<&Jurisdiction, Vec<&EndorsementRecord>> = BTreeMap::new();
    for record in current
        .iter()
        .filter(|record| record.role == AuthorityRole::Office)
    {
        for jurisdiction in &record.jurisdictions {
            by_jurisdiction
                .entry(jurisdiction)
                .or_default()
                .push(record);
        }
    }
    let mut justification: Vec<Justification> = by_jurisdiction
        .into_iter()
        .filter(|(_, records)| records.len() >= threshold)
        .map(|(jurisdiction, records)| Justification {
            jurisdiction: Some(jurisdiction.clone()),
            endorsements: by_endorser(&records),
        })
        .collect();
    let role = if justification.is_empty() {
        let markets: Vec<&EndorsementRecord> = current
            .iter()
            .copied()
            .filter(|record| record.role == AuthorityRole::Marketplace)
            .collect();
        if markets.len() < threshold {
            return None;
        }
        justification.push(Justification {
            jurisdiction: None,
            endorsements: by_endorser(&markets),
        });
        AuthorityRole::Marketplace
    } else {
        AuthorityRole::Office
    };
    let name = current
        .iter()
        .max_by_key(|record| record.ordinal)
        .map(|record| record.name.clone())
        .unwrap_or_default();
    let jurisdictions = justification
        .iter()
        .filter_map(|item| item.jurisdiction.clone())
        .collect();
    Some(AdmittedAuthority {
        authority: TrustedAuthority {
            did: subject,
            name,
            role,
            jurisdictions,
        },
        justification,
    })
}

fn by_endorser(records: &[&EndorsementRecord]) -> Vec<EndorsementRecord> {
    let mut list: Vec<EndorsementRecord> = records.iter().map(|record| (*record).clone()).collect();
    list.sort_by_key(|record| record.endorser.to_did_key());
    list
}

#[cfg(test)]
mod tests;
