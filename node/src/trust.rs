//! The trust store: the authorities this node accepts, their role, and for offices the
//! jurisdictions they may attest. Local policy, like a browser's root store.
//!
//! File format (TOML), one `[[authority]]` table per authority:
//!
//! ```toml
//! [[authority]]
//! did = "did:key:z6Mk…"
//! name = "INPI"
//! role = "office"            # or "marketplace"
//! jurisdictions = ["FR"]     # offices: what they may register and attest
//! ```

use std::collections::HashMap;

use proto_types::body::{AuthorityRole, Jurisdiction};
use proto_types::entry::EntryId;
use proto_types::keys::PublicKey;
use serde::{Deserialize, Serialize};

mod live;

pub use self::live::{LiveStore, TrustChangeError, TrustSource, TrustView};

/// Most authorities a trust store may list.
pub const MAX_AUTHORITIES: usize = 10_000;
/// Largest trust-store file read, in bytes.
pub const MAX_TRUST_FILE_BYTES: usize = 4 * 1024 * 1024;
/// Most jurisdictions one trusted authority may list (as in an `authority` body).
pub const MAX_TRUSTED_JURISDICTIONS: usize = 64;
/// Longest name of a trusted authority, in characters (as in an `authority` body).
pub const MAX_TRUSTED_NAME_CHARS: usize = 200;
/// The node's own copy of its trust store in the data directory: written atomically on every
/// change made while the node runs, and read at start instead of the configured file.
pub const TRUST_FILE: &str = "trust.toml";

/// One trusted authority.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustedAuthority {
    /// The authority's `did:key`.
    pub did: PublicKey,
    /// A human name, for logs and reports.
    pub name: String,
    /// Office or marketplace.
    pub role: AuthorityRole,
    /// For offices: the jurisdictions whose rights it may register and attest.
    #[serde(default)]
    pub jurisdictions: Vec<Jurisdiction>,
}

impl TrustedAuthority {
    /// Checks what the file and every change must satisfy: a one-line name of 1 to
    /// [`MAX_TRUSTED_NAME_CHARS`] characters, distinct jurisdictions (at most
    /// [`MAX_TRUSTED_JURISDICTIONS`]), and at least one for an office.
    pub fn validate(&self) -> Result<(), TrustError> {
        let did = || self.did.to_did_key();
        let characters = self.name.chars().count();
        if characters == 0
            || characters > MAX_TRUSTED_NAME_CHARS
            || self.name.trim().is_empty()
            || self.name.chars().any(char::is_control)
        {
            return Err(TrustError::Name { did: did() });
        }
        if self.role == AuthorityRole::Office && self.jurisdictions.is_empty() {
            return Err(TrustError::OfficeWithoutJurisdiction(did()));
        }
        if self.jurisdictions.len() > MAX_TRUSTED_JURISDICTIONS {
            return Err(TrustError::Jurisdictions {
                did: did(),
                reason: format!("more than {MAX_TRUSTED_JURISDICTIONS} jurisdictions"),
            });
        }
        let mut seen = std::collections::HashSet::with_capacity(self.jurisdictions.len());
        if let Some(twice) = self
            .jurisdictions
            .iter()
            .find(|jurisdiction| !seen.insert(*jurisdiction))
        {
            return Err(TrustError::Jurisdictions {
                did: did(),
                reason: format!("jurisdiction {twice} is listed twice"),
            });
        }
        Ok(())
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TrustFile {
    #[serde(default)]
    authority: Vec<TrustedAuthority>,
}

/// Why a trust store could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    /// The TOML is invalid or has unknown fields.
    #[error("invalid trust store: {0}")]
    Parse(String),
    /// The same key is listed twice.
    #[error("trust store lists {0} twice")]
    Duplicate(String),
    /// Too many authorities.
    #[error("trust store lists more than {MAX_AUTHORITIES} authorities")]
    TooMany,
    /// An office without jurisdictions.
    #[error("office {0} has no jurisdictions")]
    OfficeWithoutJurisdiction(String),
    /// An authority lists a jurisdiction twice, or more than [`MAX_TRUSTED_JURISDICTIONS`].
    #[error("authority {did}: {reason}")]
    Jurisdictions {
        /// The authority.
        did: String,
        /// What is wrong.
        reason: String,
    },
    /// An authority's name is empty, too long or has control characters.
    #[error(
        "authority {did}: the name must be 1 to {MAX_TRUSTED_NAME_CHARS} characters on one line"
    )]
    Name {
        /// The authority.
        did: String,
    },
    /// A change names an authority the store does not list.
    #[error("the trust store does not list {0}")]
    NotListed(String),
}

/// The authorities a node accepts, by key.
#[derive(Debug, Clone, Default)]
pub struct TrustStore {
    authorities: HashMap<PublicKey, TrustedAuthority>,
}

impl TrustStore {
    /// Parses a trust store from TOML text.
    pub fn from_toml(text: &str) -> Result<Self, TrustError> {
        let file: TrustFile = toml::from_str(text).map_err(|e| TrustError::Parse(e.to_string()))?;
        Self::from_authorities(file.authority)
    }

    /// Builds a trust store from a list of authorities.
    pub fn from_authorities(list: Vec<TrustedAuthority>) -> Result<Self, TrustError> {
        if list.len() > MAX_AUTHORITIES {
            return Err(TrustError::TooMany);
        }
        let mut authorities = HashMap::with_capacity(list.len());
        for authority in list {
            authority.validate()?;
            let did = authority.did;
            if authorities.insert(did, authority).is_some() {
                return Err(TrustError::Duplicate(did.to_did_key()));
            }
        }
        Ok(Self { authorities })
    }

    /// The TOML form of this trust store, or why it could not be written (never empty for a
    /// store that lists anyone): what the node persists.
    pub fn to_toml_checked(&self) -> Result<String, TrustError> {
        toml::to_string_pretty(&TrustFile {
            authority: self.sorted(),
        })
        .map_err(|error| TrustError::Parse(format!("writing TOML: {error}")))
    }

    /// The TOML form of this trust store.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(&TrustFile {
            authority: self.sorted(),
        })
        .unwrap_or_default()
    }

    /// The authority with this key, if trusted.
    pub fn get(&self, key: &PublicKey) -> Option<&TrustedAuthority> {
        self.authorities.get(key)
    }

    /// Every authority, ordered by `did:key` (the order of the TOML form and of the API).
    pub fn sorted(&self) -> Vec<TrustedAuthority> {
        let mut list: Vec<TrustedAuthority> = self.authorities.values().cloned().collect();
        list.sort_by_key(|authority| authority.did.to_did_key());
        list
    }

    /// This store with `authority` added, validated like the file; [`TrustError::Duplicate`]
    /// when its key is listed already.
    pub fn with_added(&self, authority: TrustedAuthority) -> Result<Self, TrustError> {
        let mut list = self.sorted();
        list.push(authority);
        Self::from_authorities(list)
    }

    /// This store without `key`; [`TrustError::NotListed`] when it is not listed.
    pub fn with_removed(&self, key: &PublicKey) -> Result<Self, TrustError> {
        if self.get(key).is_none() {
            return Err(TrustError::NotListed(key.to_did_key()));
        }
        Self::from_authorities(
            self.sorted()
                .into_iter()
                .filter(|authority| &authority.did != key)
                .collect(),
        )
    }

    /// This store with the jurisdictions of `key` replaced, validated like the file (an office
    /// keeps at least one); [`TrustError::NotListed`] when it is not listed.
    pub fn with_jurisdictions(
        &self,
        key: &PublicKey,
        jurisdictions: Vec<Jurisdiction>,
    ) -> Result<Self, TrustError> {
        if self.get(key).is_none() {
            return Err(TrustError::NotListed(key.to_did_key()));
        }
        let mut jurisdictions = Some(jurisdictions);
        Self::from_authorities(
            self.sorted()
                .into_iter()
                .map(|mut authority| {
                    if &authority.did == key {
                        authority.jurisdictions = jurisdictions.take().unwrap_or_default();
                    }
                    authority
                })
                .collect(),
        )
    }

    /// Whether `key` is an office trusted for `jurisdiction`.
    pub fn office_for(&self, key: &PublicKey, jurisdiction: &Jurisdiction) -> bool {
        self.get(key).is_some_and(|authority| {
            authority.role == AuthorityRole::Office
                && authority.jurisdictions.contains(jurisdiction)
        })
    }

    /// Whether `key` is a trusted marketplace.
    pub fn is_marketplace(&self, key: &PublicKey) -> bool {
        self.get(key)
            .is_some_and(|authority| authority.role == AuthorityRole::Marketplace)
    }

    /// Every trusted authority.
    pub fn iter(&self) -> impl Iterator<Item = &TrustedAuthority> {
        self.authorities.values()
    }

    /// How many authorities are trusted.
    pub fn len(&self) -> usize {
        self.authorities.len()
    }

    /// Whether no authority is trusted.
    pub fn is_empty(&self) -> bool {
        self.authorities.is_empty()
    }
}

#[cfg(test)]
mod tests;

/// A key rotation this node has stored, seen from the old key: where its feed moved and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rotation {
    /// The key the authority moved to.
    pub new_key: PublicKey,
    /// The seq of the `key_rotation` entry in the old key's feed (its last entry).
    pub seq: u64,
    /// The `key_rotation` entry.
    pub entry_id: EntryId,
    /// For a compromise rotation (§6.9.1): the first seq of the old key that is not trusted.
    pub compromised_since: Option<u64>,
}

impl Rotation {
    /// Whether the old key's entry at `seq` is distrusted by this rotation: a compromise
    /// rotation and `compromised_since` ≤ `seq` < the rotation's seq.
    pub fn distrusts(&self, seq: u64) -> bool {
        self.compromised_since
            .is_some_and(|since| since <= seq && seq < self.seq)
    }

    /// Whether the old key's entry at `seq` is anchored before this rotation (§6.10): below the
    /// rotation's seq and, for a compromise rotation, below `compromised_since`.
    pub fn anchors(&self, seq: u64) -> bool {
        seq < self.seq && self.compromised_since.is_none_or(|since| seq < since)
    }

    /// The `key_rotation` entry, when its id was recorded (rotations stored before ids were
    /// kept read back with a zero id).
    pub fn entry(&self) -> Option<EntryId> {
        (self.entry_id.0 != [0; 32]).then_some(self.entry_id)
    }
}

/// The trust store plus the key rotations this node has stored: a rotated-to key speaks for
/// the authority of the key it replaced, and a rotated-away key's feed is closed after its
/// `key_rotation` entry.
#[derive(Debug, Default)]
pub struct Trust {
    base: LiveStore,
    rotations: std::sync::RwLock<Rotations>,
}

#[derive(Debug, Default)]
struct Rotations {
    /// New key → the original key of the authority (the one in the trust store).
    root_of: HashMap<PublicKey, PublicKey>,
    /// Rotated-away key → its rotation.
    by_old: HashMap<PublicKey, Rotation>,
}

impl Trust {
    /// The trust store with the rotations recorded so far, each `(old, new, seq)`, in any order
    /// (their entry ids unknown: zero).
    pub fn new(base: TrustStore, rotations: &[(PublicKey, PublicKey, u64)]) -> Self {
        let records: Vec<(PublicKey, Rotation)> = rotations
            .iter()
            .map(|(old, new, seq)| {
                (
                    *old,
                    Rotation {
                        new_key: *new,
                        seq: *seq,
                        entry_id: EntryId([0; 32]),
                        compromised_since: None,
                    },
                )
            })
            .collect();
        Self::with_rotations(base, &records)
    }

    /// The trust store with the rotations recorded so far (by old key), in any order.
    pub fn with_rotations(base: TrustStore, rotations: &[(PublicKey, Rotation)]) -> Self {
        let trust = Self {
            base: LiveStore::new(base),
            rotations: std::sync::RwLock::new(Rotations::default()),
        };
        // Apply in chain order: a rotation whose old key is itself a rotated-to key waits for
        // the rotation that introduced it.
        let mut remaining: Vec<(PublicKey, Rotation)> = rotations.to_vec();
        while !remaining.is_empty() {
            let before = remaining.len();
            remaining.retain(|(old, rotation)| {
                let introduced = rotations.iter().any(|(_, other)| other.new_key == *old);
                if introduced && !trust.is_rotated_to(old) {
                    return true;
                }
                trust.record(*old, *rotation);
                false
            });
            if remaining.len() == before {
                // A cycle cannot be stored (a new key must be unused); apply the rest as is.
                for (old, rotation) in remaining.drain(..) {
                    trust.record(old, rotation);
                }
            }
        }
        trust
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Rotations> {
        match self.rotations.read() {
            Ok(rotations) => rotations,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    fn is_rotated_to(&self, key: &PublicKey) -> bool {
        self.read().root_of.contains_key(key)
    }

    /// The trust store as it changes while the node runs, with admission.
    pub fn base(&self) -> &LiveStore {
        &self.base
    }

    /// The original key of the authority `key` speaks for (itself unless rotated-to).
    pub fn root(&self, key: &PublicKey) -> PublicKey {
        self.read().root_of.get(key).copied().unwrap_or(*key)
    }

    /// The authority `key` speaks for, if trusted.
    pub fn get(&self, key: &PublicKey) -> Option<TrustedAuthority> {
        self.base.get(&self.root(key))
    }

    /// Whether `key` speaks for a trusted authority (what [`Trust::get`] answers, without
    /// copying the authority: the ingest and sync paths ask it for every entry).
    pub fn is_trusted(&self, key: &PublicKey) -> bool {
        self.base.contains(&self.root(key))
    }

    /// Whether `key` speaks for an office trusted for `jurisdiction`.
    pub fn office_for(&self, key: &PublicKey, jurisdiction: &Jurisdiction) -> bool {
        self.base.office_for(&self.root(key), jurisdiction)
    }

    /// Whether `key` speaks for a trusted marketplace.
    pub fn is_marketplace(&self, key: &PublicKey) -> bool {
        self.base.is_marketplace(&self.root(key))
    }

    /// The seq of `key`'s `key_rotation` entry, if it rotated away: its feed ends there.
    pub fn rotated_at(&self, key: &PublicKey) -> Option<u64> {
        self.read().by_old.get(key).map(|rotation| rotation.seq)
    }

    /// The key `key` rotated to, if it rotated away.
    pub fn successor(&self, key: &PublicKey) -> Option<PublicKey> {
        self.read().by_old.get(key).map(|rotation| rotation.new_key)
    }

    /// The rotation of `key`, if it rotated away.
    pub fn rotation_of(&self, key: &PublicKey) -> Option<Rotation> {
        self.read().by_old.get(key).copied()
    }

    /// The compromise rotation that distrusts the entry of `author` at `seq` (§6.9.1), if any:
    /// such an entry is stored but has no effect.
    pub fn compromised(&self, author: &PublicKey, seq: u64) -> Option<EntryId> {
        self.rotation_of(author)
            .filter(|rotation| rotation.distrusts(seq))
            .map(|rotation| rotation.entry_id)
    }

    /// The rotations of the authority `key` speaks for, oldest first: its key history, from
    /// its original key to its current one. Bounded by the chain's length (each key rotates
    /// once; a cycle is cut).
    pub fn key_history(&self, key: &PublicKey) -> Vec<(PublicKey, Rotation)> {
        let rotations = self.read();
        let mut history = Vec::new();
        let mut at = rotations.root_of.get(key).copied().unwrap_or(*key);
        while let Some(rotation) = rotations.by_old.get(&at) {
            if history.len() > rotations.by_old.len() {
                break;
            }
            history.push((at, *rotation));
            at = rotation.new_key;
        }
        history
    }

    /// Records that `old` rotated to `new` with its entry at `seq` (entry id unknown: zero).
    pub fn record_rotation(&self, old: PublicKey, new: PublicKey, seq: u64) {
        self.record(
            old,
            Rotation {
                new_key: new,
                seq,
                entry_id: EntryId([0; 32]),
                compromised_since: None,
            },
        );
    }

    /// Records the rotation of `old`.
    pub fn record(&self, old: PublicKey, rotation: Rotation) {
        let root = self.root(&old);
        let mut rotations = match self.rotations.write() {
            Ok(rotations) => rotations,
            Err(poisoned) => poisoned.into_inner(),
        };
        rotations.root_of.insert(rotation.new_key, root);
        rotations.by_old.insert(old, rotation);
    }
}

#[cfg(test)]
mod rotation_tests {
    use super::*;
    use proto_types::keys::SecretKey;

    #[test]
    fn rotated_keys_speak_for_the_original_authority() {
        let original = SecretKey::generate().public_key();
        let second = SecretKey::generate().public_key();
        let third = SecretKey::generate().public_key();
        let base = TrustStore::from_authorities(vec![TrustedAuthority {
            did: original,
            name: "Office".into(),
            role: AuthorityRole::Office,
            jurisdictions: vec![Jurisdiction::parse("FR").unwrap()],
        }])
        .unwrap();
        // Given out of order: the chain is still resolved to the original authority.
        let trust = Trust::new(base, &[(second, third, 4), (original, second, 9)]);
        let france = Jurisdiction::parse("FR").unwrap();
        assert!(trust.office_for(&third, &france));
        assert_eq!(trust.root(&third), original);
        assert_eq!(trust.rotated_at(&original), Some(9));
        assert_eq!(trust.rotated_at(&second), Some(4));
        assert_eq!(trust.rotated_at(&third), None);
        assert!(trust.get(&SecretKey::generate().public_key()).is_none());
        let history = trust.key_history(&third);
        assert_eq!(history.len(), 2);
        assert_eq!(history[0].0, original);
        assert_eq!(history[1].1.new_key, third);
        assert_eq!(trust.successor(&original), Some(second));
    }

    #[test]
    fn a_compromise_rotation_distrusts_its_range_only() {
        let old = SecretKey::generate().public_key();
        let new = SecretKey::generate().public_key();
        let trust = Trust::new(TrustStore::default(), &[]);
        let entry_id = EntryId([9; 32]);
        trust.record(
            old,
            Rotation {
                new_key: new,
                seq: 10,
                entry_id,
                compromised_since: Some(4),
            },
        );
        assert_eq!(trust.compromised(&old, 3), None);
        assert_eq!(trust.compromised(&old, 4), Some(entry_id));
        assert_eq!(trust.compromised(&old, 9), Some(entry_id));
        // The rotation entry itself stays effective.
        assert_eq!(trust.compromised(&old, 10), None);
        assert_eq!(trust.compromised(&new, 5), None);
        assert_eq!(trust.rotation_of(&old).unwrap().compromised_since, Some(4));
        let routine = SecretKey::generate().public_key();
        trust.record_rotation(routine, SecretKey::generate().public_key(), 3);
        assert_eq!(trust.compromised(&routine, 1), None);
    }
}
