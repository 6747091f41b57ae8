//! The trust store as it changes while the node runs ([`LiveStore`], one [`TrustView`] replaced
//! whole on each change), the changes themselves (persisted before they take effect), and
//! admission by endorsement kept current under it.

use std::sync::{Arc, Mutex, RwLock};

use proto_types::body::{AuthorityRole, Jurisdiction};
use proto_types::keys::PublicKey;
use serde::Serialize;

use super::{Trust, TrustError, TrustStore, TrustedAuthority};
use crate::admission::{self, Admitted, EndorsementRecord, Endorsements, KeyHistory};

/// Where the trust store in force at start was read from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TrustSource {
    /// The configured `trust_store` file (the bootstrap).
    #[default]
    ConfiguredFile,
    /// The node's own copy, [`super::TRUST_FILE`] in the data directory, written by a change made
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
    fn get(&self, root: &PublicKey) -> Option<&TrustedAuthority> {
        match self.store.get(root) {
            Some(authority) => Some(authority),
            None => self.admitted.get(root).map(|admitted| &admitted.authority),
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
    pub(super) fn new(store: TrustStore) -> Self {
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
        self.view().get(root).cloned()
    }

    /// Whether the original key `root` is trusted, by the store or by admission. Read on every
    /// entry: it copies nothing.
    pub fn contains(&self, root: &PublicKey) -> bool {
        self.view().get(root).is_some()
    }

    /// Whether the original key `root` is an office trusted for `jurisdiction`: by the store
    /// alone when the store lists it, else by admission.
    pub fn office_for(&self, root: &PublicKey, jurisdiction: &Jurisdiction) -> bool {
        self.view().get(root).is_some_and(|authority| {
            authority.role == AuthorityRole::Office
                && authority.jurisdictions.contains(jurisdiction)
        })
    }

    /// Whether the original key `root` is a trusted marketplace.
    pub fn is_marketplace(&self, root: &PublicKey) -> bool {
        self.view()
            .get(root)
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
    fn endorsement_compromised(&self, author: &PublicKey, seq: u64) -> bool {
        self.compromised(author, seq).is_some()
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
