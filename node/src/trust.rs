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
use std::sync::{Arc, Mutex, RwLock};

use proto_types::body::{AuthorityRole, Jurisdiction};
use proto_types::keys::PublicKey;
use serde::{Deserialize, Serialize};

use crate::admission::{self, Admitted, EndorsementRecord, Endorsements, KeyHistory};

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
mod tests {
    use super::*;
    use proto_types::keys::SecretKey;

    #[test]
    fn parses_checks_and_round_trips() {
        let office = SecretKey::generate().public_key();
        let market = SecretKey::generate().public_key();
        let text = format!(
            "[[authority]]\ndid = \"{office}\"\nname = \"INPI\"\nrole = \"office\"\njurisdictions = [\"FR\"]\n\n[[authority]]\ndid = \"{market}\"\nname = \"Shop\"\nrole = \"marketplace\"\n"
        );
        let store = TrustStore::from_toml(&text).unwrap();
        let france = Jurisdiction::parse("FR").unwrap();
        let china = Jurisdiction::parse("CN").unwrap();
        assert!(store.office_for(&office, &france));
        assert!(!store.office_for(&office, &china));
        assert!(!store.office_for(&market, &france));
        assert!(store.is_marketplace(&market));
        let again = TrustStore::from_toml(&store.to_toml()).unwrap();
        assert_eq!(again.len(), 2);
        assert!(TrustStore::from_toml(&format!("{text}\n[[authority]]\ndid = \"{office}\"\nname = \"x\"\nrole = \"office\"\njurisdictions = [\"DE\"]\n")).is_err());
        assert!(TrustStore::from_toml("[[authority]]\nbogus = 1\n").is_err());
    }

    fn office(did: PublicKey, codes: &[&str]) -> TrustedAuthority {
        TrustedAuthority {
            did,
            name: "Office".into(),
            role: AuthorityRole::Office,
            jurisdictions: codes
                .iter()
                .map(|c| Jurisdiction::parse(c).unwrap())
                .collect(),
        }
    }

    #[test]
    fn changes_are_validated_like_the_file() {
        let listed = SecretKey::generate().public_key();
        let store = TrustStore::from_authorities(vec![office(listed, &["FR"])]).unwrap();
        let other = SecretKey::generate().public_key();
        assert!(matches!(
            store.with_added(office(listed, &["DE"])),
            Err(TrustError::Duplicate(_))
        ));
        assert!(matches!(
            store.with_added(office(other, &[])),
            Err(TrustError::OfficeWithoutJurisdiction(_))
        ));
        assert!(matches!(
            store.with_added(office(other, &["DE", "DE"])),
            Err(TrustError::Jurisdictions { .. })
        ));
        let many: Vec<&str> = proto_types::body::codes::ISO_3166_ALPHA2[..65].to_vec();
        assert!(matches!(
            store.with_added(office(other, &many)),
            Err(TrustError::Jurisdictions { .. })
        ));
        for name in [
            "",
            "  ",
            "two\nlines",
            "\u{85}",
            &"x".repeat(MAX_TRUSTED_NAME_CHARS + 1),
        ] {
            let mut named = office(other, &["DE"]);
            named.name = name.to_owned();
            assert!(
                matches!(store.with_added(named), Err(TrustError::Name { .. })),
                "{name:?}"
            );
        }
        // The same rules hold for the file.
        assert!(TrustStore::from_toml(&format!(
            "[[authority]]\ndid = \"{other}\"\nname = \"x\"\nrole = \"office\"\njurisdictions = [\"DE\", \"DE\"]\n"
        ))
        .is_err());
        let added = store.with_added(office(other, &["DE"])).unwrap();
        assert_eq!(added.len(), 2);
        assert_eq!(store.len(), 1, "a change makes a new store");
        assert!(matches!(
            added.with_jurisdictions(&other, Vec::new()),
            Err(TrustError::OfficeWithoutJurisdiction(_))
        ));
        let moved = added
            .with_jurisdictions(&other, vec![Jurisdiction::parse("AT").unwrap()])
            .unwrap();
        assert!(moved.office_for(&other, &Jurisdiction::parse("AT").unwrap()));
        assert!(!moved.office_for(&other, &Jurisdiction::parse("DE").unwrap()));
        let removed = moved.with_removed(&listed).unwrap();
        assert!(removed.get(&listed).is_none());
        assert!(matches!(
            removed.with_removed(&listed),
            Err(TrustError::NotListed(_))
        ));
        assert!(matches!(
            removed.with_jurisdictions(&listed, vec![Jurisdiction::parse("FR").unwrap()]),
            Err(TrustError::NotListed(_))
        ));
        let text = removed.to_toml_checked().unwrap();
        assert_eq!(
            TrustStore::from_toml(&text).unwrap().sorted(),
            removed.sorted()
        );
    }

    #[test]
    fn a_change_takes_effect_only_once_persisted() {
        let listed = SecretKey::generate().public_key();
        let other = SecretKey::generate().public_key();
        let trust = Trust::new(
            TrustStore::from_authorities(vec![office(listed, &["FR"])]).unwrap(),
            &[],
        );
        let france = Jurisdiction::parse("FR").unwrap();
        assert_eq!(trust.view().source, TrustSource::ConfiguredFile);
        let failed = trust.change_store(
            |store| store.with_added(office(other, &["FR"])),
            |_| Err(anyhow::anyhow!("disk full")),
        );
        assert!(matches!(failed, Err(TrustChangeError::Persist(_))));
        assert!(trust.get(&other).is_none(), "nothing changed");
        let invalid = trust.change_store(|store| store.with_removed(&other), |_| Ok(()));
        assert!(matches!(
            invalid,
            Err(TrustChangeError::Invalid(TrustError::NotListed(_)))
        ));
        let mut persisted = None;
        trust
            .change_store(
                |store| store.with_added(office(other, &["FR"])),
                |store| {
                    persisted = Some(store.to_toml_checked()?);
                    Ok(())
                },
            )
            .unwrap();
        assert!(trust.office_for(&other, &france), "in effect at once");
        assert_eq!(trust.view().source, TrustSource::DataDirectory);
        let persisted = TrustStore::from_toml(&persisted.unwrap()).unwrap();
        assert_eq!(persisted.sorted(), trust.base().store().sorted());
        trust
            .change_store(|store| store.with_removed(&listed), |_| Ok(()))
            .unwrap();
        assert!(!trust.office_for(&listed, &france));
        assert!(trust.get(&listed).is_none());
    }
}

/// Where the trust store in force at start was read from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TrustSource {
    /// The configured `trust_store` file (the bootstrap).
    #[default]
    ConfiguredFile,
    /// The node's own copy, [`TRUST_FILE`] in the data directory, written by a change made
    /// while the node ran.
    DataDirectory,
}

/// What the node trusts at one moment: its own store and the authorities admitted by
/// endorsement under it. Replaced whole on every change, so a reader holds one consistent view.
#[derive(Debug, Clone, Default)]
pub struct TrustView {
    /// The own trust store (the file, or the copy changed while the node runs).
    pub store: Arc<TrustStore>,
    /// Authorities admitted by endorsement ([`crate::admission`]).
    pub admitted: Arc<Admitted>,
    /// Where the store was read from at start, or [`TrustSource::DataDirectory`] once changed.
    pub source: TrustSource,
}

impl TrustView {
    /// The authority `root` (an original key) is, by the store or else by admission.
    fn get(&self, root: &PublicKey) -> Option<TrustedAuthority> {
        match self.store.get(root) {
            Some(authority) => Some(authority.clone()),
            None => self
                .admitted
                .get(root)
                .map(|admitted| admitted.authority.clone()),
        }
    }
}

/// The trust store as it changes while the node runs: read on every entry, verdict and request
/// (a read lock and an `Arc` clone), replaced by the operator's changes and by admission.
#[derive(Debug, Default)]
pub struct LiveStore {
    view: RwLock<Arc<TrustView>>,
    /// Held across a change of the store: validate, persist, swap.
    changes: Mutex<()>,
    /// Every endorsement recorded; held while admission is recomputed and the view swapped.
    endorsements: Mutex<Endorsements>,
    /// `[trust] endorsement_threshold`: 0 turns admission off.
    threshold: usize,
}

impl LiveStore {
    fn new(store: TrustStore) -> Self {
        Self {
            view: RwLock::new(Arc::new(TrustView {
                store: Arc::new(store),
                ..TrustView::default()
            })),
            ..Self::default()
        }
    }

    /// The view in force now.
    pub fn view(&self) -> Arc<TrustView> {
        match self.view.read() {
            Ok(view) => view.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The own trust store in force now.
    pub fn store(&self) -> Arc<TrustStore> {
        self.view().store.clone()
    }

    fn replace(&self, view: TrustView) {
        let view = Arc::new(view);
        match self.view.write() {
            Ok(mut current) => *current = view,
            Err(poisoned) => *poisoned.into_inner() = view,
        }
    }

    /// The authority with this original key, by the store or by admission.
    pub fn get(&self, root: &PublicKey) -> Option<TrustedAuthority> {
        self.view().get(root)
    }

    /// Whether the original key `root` is an office trusted for `jurisdiction`: by the store
    /// alone when the store lists it, else by admission.
    pub fn office_for(&self, root: &PublicKey, jurisdiction: &Jurisdiction) -> bool {
        self.get(root).is_some_and(|authority| {
            authority.role == AuthorityRole::Office
                && authority.jurisdictions.contains(jurisdiction)
        })
    }

    /// Whether the original key `root` is a trusted marketplace.
    pub fn is_marketplace(&self, root: &PublicKey) -> bool {
        self.get(root)
            .is_some_and(|authority| authority.role == AuthorityRole::Marketplace)
    }
}

/// A change of the trust store that could not be made.
#[derive(Debug, thiserror::Error)]
pub enum TrustChangeError {
    /// The changed store would not be valid, or names an authority it does not list.
    #[error(transparent)]
    Invalid(#[from] TrustError),
    /// The changed store could not be written to the data directory; nothing changed.
    #[error("persisting the trust store failed: {0}")]
    Persist(String),
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match mutex.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}

impl Trust {
    /// Turns admission by endorsement on with `threshold` (0 keeps it off), with the
    /// endorsements stored so far, and says where the store was read from. Call once, before
    /// the trust is shared.
    pub fn with_admission(
        mut self,
        threshold: usize,
        endorsements: Vec<EndorsementRecord>,
        source: TrustSource,
    ) -> Self {
        self.base.threshold = threshold;
        let endorsements = Endorsements::new(endorsements);
        let store = self.base.store();
        let admitted = admission::admit(&store, &endorsements, threshold, &self);
        self.base.replace(TrustView {
            store,
            admitted: Arc::new(admitted),
            source,
        });
        *lock(&self.base.endorsements) = endorsements;
        self
    }

    /// The trust in force now: own store, admitted authorities, source.
    pub fn view(&self) -> Arc<TrustView> {
        self.base.view()
    }

    /// The admission threshold (`[trust] endorsement_threshold`; 0: off).
    pub fn endorsement_threshold(&self) -> usize {
        self.base.threshold
    }

    /// Changes the own store: `change` makes the new store from the current one, `persist`
    /// writes it durably, and only then does it take effect (admission is recomputed under
    /// it). Changes are made one at a time; a failure changes nothing.
    pub fn change_store(
        &self,
        change: impl FnOnce(&TrustStore) -> Result<TrustStore, TrustError>,
        persist: impl FnOnce(&TrustStore) -> anyhow::Result<()>,
    ) -> Result<Arc<TrustStore>, TrustChangeError> {
        let _one_at_a_time = lock(&self.base.changes);
        let changed = Arc::new(change(&self.base.store())?);
        persist(&changed).map_err(|error| TrustChangeError::Persist(format!("{error:#}")))?;
        let endorsements = lock(&self.base.endorsements);
        self.readmit(changed.clone(), &endorsements, TrustSource::DataDirectory);
        Ok(changed)
    }

    /// Whether `key` speaks (through any rotation) for an office of the own store: who may
    /// endorse (§6.8.1).
    pub fn is_endorser(&self, key: &PublicKey) -> bool {
        self.base
            .store()
            .get(&self.root(key))
            .is_some_and(|authority| authority.role == AuthorityRole::Office)
    }

    /// The ordinal the next endorsement recorded gets.
    pub fn next_endorsement_ordinal(&self) -> u64 {
        lock(&self.base.endorsements).next_ordinal()
    }

    /// Adds endorsements the writer has committed, in store order, and recomputes admission.
    pub fn record_endorsements(&self, records: Vec<EndorsementRecord>) {
        let mut endorsements = lock(&self.base.endorsements);
        for record in records {
            endorsements.push(record);
        }
        let view = self.base.view();
        self.readmit(view.store.clone(), &endorsements, view.source);
    }

    /// Recomputes admission, after something it depends on changed (a rotation that makes
    /// endorsements compromised).
    pub fn refresh_admission(&self) {
        let endorsements = lock(&self.base.endorsements);
        let view = self.base.view();
        self.readmit(view.store.clone(), &endorsements, view.source);
    }

    fn readmit(&self, store: Arc<TrustStore>, endorsements: &Endorsements, source: TrustSource) {
        let admitted = admission::admit(&store, endorsements, self.base.threshold, self);
        let before = self.base.view();
        if before.admitted.len() != admitted.len() {
            tracing::info!(
                admitted = admitted.len(),
                before = before.admitted.len(),
                "authorities admitted by endorsement changed"
            );
        }
        self.base.replace(TrustView {
            store,
            admitted: Arc::new(admitted),
            source,
        });
    }

    /// Whether the entry of `author` at `seq` must be treated as compromised when admission
    /// counts endorsements (§6.9.1).
    fn endorsement_compromised(&self, _author: &PublicKey, _seq: u64) -> bool {
        // ROT-CALL-SITE: replace with `self.compromised(_author, _seq).is_some()` once
        // `Trust::compromised` (compromise rotations) exists; until then nothing is compromised.
        false
    }
}

impl KeyHistory for Trust {
    fn root(&self, key: &PublicKey) -> PublicKey {
        Trust::root(self, key)
    }

    fn compromised(&self, author: &PublicKey, seq: u64) -> bool {
        self.endorsement_compromised(author, seq)
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
    /// Rotated-away key → seq of its `key_rotation` entry (its last entry).
    rotated_at: HashMap<PublicKey, u64>,
}

impl Trust {
    /// The trust store with the rotations recorded so far, each `(old, new, seq)`, in any order.
    pub fn new(base: TrustStore, rotations: &[(PublicKey, PublicKey, u64)]) -> Self {
        let trust = Self {
            base: LiveStore::new(base),
            rotations: std::sync::RwLock::new(Rotations::default()),
        };
        // Apply in chain order: a rotation whose old key is itself a rotated-to key waits for
        // the rotation that introduced it.
        let mut remaining: Vec<(PublicKey, PublicKey, u64)> = rotations.to_vec();
        while !remaining.is_empty() {
            let before = remaining.len();
            remaining.retain(|(old, new, seq)| {
                let introduced = remaining_introduces(rotations, old);
                if introduced && !trust.is_rotated_to(old) {
                    return true;
                }
                trust.record_rotation(*old, *new, *seq);
                false
            });
            if remaining.len() == before {
                // A cycle cannot be stored (a new key must be unused); apply the rest as is.
                for (old, new, seq) in remaining.drain(..) {
                    trust.record_rotation(old, new, seq);
                }
            }
        }
        trust
    }

    fn is_rotated_to(&self, key: &PublicKey) -> bool {
        self.rotations
            .read()
            .map(|rotations| rotations.root_of.contains_key(key))
            .unwrap_or(false)
    }

    /// The trust store as it changes while the node runs, with admission.
    pub fn base(&self) -> &LiveStore {
        &self.base
    }

    /// The original key of the authority `key` speaks for (itself unless rotated-to).
    pub fn root(&self, key: &PublicKey) -> PublicKey {
        self.rotations
            .read()
            .ok()
            .and_then(|rotations| rotations.root_of.get(key).copied())
            .unwrap_or(*key)
    }

    /// The authority `key` speaks for, if trusted.
    pub fn get(&self, key: &PublicKey) -> Option<TrustedAuthority> {
        self.base.get(&self.root(key))
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
        self.rotations
            .read()
            .ok()
            .and_then(|rotations| rotations.rotated_at.get(key).copied())
    }

    /// Records that `old` rotated to `new` with its entry at `seq`.
    pub fn record_rotation(&self, old: PublicKey, new: PublicKey, seq: u64) {
        let root = self.root(&old);
        if let Ok(mut rotations) = self.rotations.write() {
            rotations.root_of.insert(new, root);
            rotations.rotated_at.insert(old, seq);
        }
    }
}

fn remaining_introduces(rotations: &[(PublicKey, PublicKey, u64)], key: &PublicKey) -> bool {
    rotations.iter().any(|(_, new, _)| new == key)
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
    }
}
