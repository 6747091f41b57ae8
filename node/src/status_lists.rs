//! The W3C Bitstring Status Lists this node publishes (protocol.md §7.5): which bits a list
//! has, read from the credential log through the [`StatusSource`] seam, and [`StatusLists`], a
//! bounded cache of signed lists, so that a list is signed again only when its bits changed or
//! its copy is an hour old, not once per request. Encoding and signing the documents is
//! [`proto_types::status_list`]; serving them is `api::status_lists`.
//!
//! Every call here may block (the source reads the store; signing and GZIP take CPU): call it
//! off the async executor.

mod source;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use proto_types::keys::{PublicKey, SecretKey};
use proto_types::status_list::{
    MAX_LIST_NUMBER, StatusBitstring, StatusListContent, StatusListError, StatusPurpose,
    sign_status_list_credential,
};
use proto_types::timestamp::Timestamp;

pub use source::LogStatusSource;

/// Most signed lists kept; past it the copy signed longest ago is dropped. A list is at most
/// about 22 KB of JSON, so the cache stays under 6 MB.
pub const MAX_CACHED_LISTS: usize = 256;
/// Age after which a cached list is signed again even though its bits did not change, in
/// milliseconds. A copy is valid for a day (`validUntil`), so a served copy always has 23 hours
/// left.
pub const RESIGN_AFTER_MILLIS: i64 = 60 * 60 * 1000;

/// The statuses of one list of one issuer key, as the credential log has them: what a
/// [`StatusSource`] answers. Each bitstring is indexed by position in the list (status index
/// mod 131 072).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusBits {
    /// 1 where the credential logged at that position is revoked.
    pub revoked: StatusBitstring,
    /// 1 where the credential logged at that position is suspended now.
    pub suspended: StatusBitstring,
    /// 1 where the credential logged at that position is anchored (protocol.md §6.10): logged
    /// at a seq before the issuer key's compromise point. Read only when `compromised`.
    pub anchored: StatusBitstring,
    /// Whether the issuer key was rotated away by a compromise rotation (§6.9.1).
    pub compromised: bool,
    /// The highest list number in which the key logged a credential; none when it logged none.
    pub highest_list: Option<u32>,
}

impl StatusBits {
    /// A key that logged nothing.
    pub fn empty() -> Self {
        Self {
            revoked: StatusBitstring::new(),
            suspended: StatusBitstring::new(),
            anchored: StatusBitstring::new(),
            compromised: false,
            highest_list: None,
        }
    }

    /// Whether list `list` is published: a list in which the key logged a credential, or any
    /// list at all of a compromised key, so that a credential forged with the stolen key at
    /// any status index checks as revoked (§7.5).
    pub fn publishes(&self, list: u32) -> bool {
        list <= MAX_LIST_NUMBER
            && (self.compromised || self.highest_list.is_some_and(|highest| list <= highest))
    }

    /// The bits of the `purpose` list (§7.5): `revocation` is the revoked credentials — and,
    /// after a compromise, every position but those of anchored credentials not revoked;
    /// `suspension` is the suspended ones.
    pub fn list_bits(&self, purpose: StatusPurpose) -> StatusBitstring {
        match purpose {
            StatusPurpose::Suspension => self.suspended.clone(),
            StatusPurpose::Revocation if !self.compromised => self.revoked.clone(),
            StatusPurpose::Revocation => {
                // Clear only where anchored and not revoked: !(anchored & !revoked).
                let bytes: Vec<u8> = self
                    .anchored
                    .as_bytes()
                    .iter()
                    .zip(self.revoked.as_bytes())
                    .map(|(anchored, revoked)| !anchored | revoked)
                    .collect();
                StatusBitstring::from_bytes(&bytes)
                    .unwrap_or_else(|_| StatusBitstring::filled(true))
            }
        }
    }
}

/// The credential log could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("reading credential statuses: {0}")]
pub struct StatusSourceError(pub String);

/// Where the bits of status lists come from: the node's credential log (the `credential`,
/// `credential_status` and `key_rotation` entries of its store). Both calls may block and are
/// made off the async executor.
pub trait StatusSource: Send + Sync {
    /// A number that changes whenever a status of `issuer` may have changed: a `credential`,
    /// `credential_status` or `key_rotation` entry of it took effect. It must be cheap (it is
    /// asked on every request); a counter shared by every issuer will do.
    fn version(&self, issuer: &PublicKey) -> Result<u64, StatusSourceError>;

    /// The statuses of `issuer`'s list `list` (at most [`MAX_LIST_NUMBER`]), with the key's
    /// compromise state and highest list. A key that logged nothing answers
    /// [`StatusBits::empty`].
    fn statuses(&self, issuer: &PublicKey, list: u32) -> Result<StatusBits, StatusSourceError>;
}

/// A source with no credential logged: every list is 404. For tests of the cache and the
/// routes; a node reads its credential log ([`LogStatusSource`]).
#[derive(Debug, Default, Clone, Copy)]
pub struct NoCredentials;

impl StatusSource for NoCredentials {
    fn version(&self, _issuer: &PublicKey) -> Result<u64, StatusSourceError> {
        Ok(0)
    }

    fn statuses(&self, _issuer: &PublicKey, _list: u32) -> Result<StatusBits, StatusSourceError> {
        Ok(StatusBits::empty())
    }
}

/// Why a list could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum StatusListsError {
    /// The credential log could not be read.
    #[error(transparent)]
    Source(#[from] StatusSourceError),
    /// The list could not be signed.
    #[error("signing a status list: {0}")]
    Sign(#[from] StatusListError),
}

/// One list of one key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct CacheKey {
    issuer: [u8; 32],
    purpose: StatusPurpose,
    list: u32,
}

/// A signed list and what it was signed from.
#[derive(Debug, Clone)]
struct CachedList {
    version: u64,
    signed_at_millis: i64,
    bits: StatusBitstring,
    document: Arc<[u8]>,
}

/// The status lists a node serves: its public URL, the source of their bits, and a bounded
/// cache of signed copies keyed by issuer, purpose, list and the source's version.
pub struct StatusLists {
    base_url: String,
    source: Arc<dyn StatusSource>,
    cache: Mutex<HashMap<CacheKey, CachedList>>,
    signatures: AtomicU64,
}

impl std::fmt::Debug for StatusLists {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("StatusLists")
            .field("base_url", &self.base_url)
            .field("signatures", &self.signatures())
            .finish_non_exhaustive()
    }
}

impl StatusLists {
    /// Lists published under `base_url` (the node's `public_url`, without a trailing `/`), their
    /// bits read from `source`.
    pub fn new(base_url: &str, source: Arc<dyn StatusSource>) -> Self {
        Self {
            base_url: base_url.trim_end_matches('/').to_owned(),
            source,
            cache: Mutex::new(HashMap::new()),
            signatures: AtomicU64::new(0),
        }
    }

    /// The base of every status list URL: what the `credentialStatus` of a credential this node
    /// issues names ([`proto_types::status_list::credential_status_entries`]).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// How many lists were signed since start (each cache miss, change or expiry signs once).
    pub fn signatures(&self) -> u64 {
        self.signatures.load(Ordering::Relaxed)
    }

    /// The signed `purpose` list `list` of `key`'s public key as JSON bytes, or `None` when
    /// that list is not published (§7.5: no credential of the key in it). A cached copy is
    /// answered while the source's version is unchanged and the copy is younger than
    /// [`RESIGN_AFTER_MILLIS`] at `now`; a changed version whose bits are the same keeps the
    /// copy too. The caller has checked that it may sign for the key.
    pub fn signed_list(
        &self,
        key: &SecretKey,
        purpose: StatusPurpose,
        list: u32,
        now: &Timestamp,
    ) -> Result<Option<Arc<[u8]>>, StatusListsError> {
        let issuer = key.public_key();
        let cache_key = CacheKey {
            issuer: issuer.to_bytes(),
            purpose,
            list,
        };
        // The version is read before the bits: a change between the two leaves an older
        // version on the copy, so the next request reads again, never the reverse.
        let version = self.source.version(&issuer)?;
        let cached = self.lock().get(&cache_key).cloned();
        let fresh = |copy: &CachedList| {
            now.unix_millis().saturating_sub(copy.signed_at_millis) < RESIGN_AFTER_MILLIS
                && copy.signed_at_millis <= now.unix_millis()
        };
        if let Some(copy) = &cached {
            if copy.version == version && fresh(copy) {
                return Ok(Some(copy.document.clone()));
            }
        }
        let statuses = self.source.statuses(&issuer, list)?;
        if !statuses.publishes(list) {
            self.lock().remove(&cache_key);
            return Ok(None);
        }
        let bits = statuses.list_bits(purpose);
        if let Some(copy) = cached {
            if copy.bits == bits && fresh(&copy) {
                let document = copy.document.clone();
                self.store(cache_key, CachedList { version, ..copy });
                return Ok(Some(document));
            }
        }
        let content = StatusListContent {
            base_url: &self.base_url,
            issuer: &issuer,
            purpose,
            list,
            bits: &bits,
        };
        let signed = sign_status_list_credential(&content, key, now)?;
        let document: Arc<[u8]> = serde_json::to_vec(&signed)
            .map_err(|error| StatusListError::Document(error.to_string()))?
            .into();
        self.signatures.fetch_add(1, Ordering::Relaxed);
        self.store(
            cache_key,
            CachedList {
                version,
                signed_at_millis: now.unix_millis(),
                bits,
                document: document.clone(),
            },
        );
        Ok(Some(document))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<CacheKey, CachedList>> {
        // The map holds only finished copies: a panic elsewhere cannot leave one half-made.
        self.cache.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Keeps `copy`, dropping the copy signed longest ago when the cache is full.
    fn store(&self, cache_key: CacheKey, copy: CachedList) {
        let mut cache = self.lock();
        if !cache.contains_key(&cache_key) && cache.len() >= MAX_CACHED_LISTS {
            let oldest = cache
                .iter()
                .min_by_key(|(_, cached)| cached.signed_at_millis)
                .map(|(key, _)| key.clone());
            if let Some(oldest) = oldest {
                cache.remove(&oldest);
            }
        }
        cache.insert(cache_key, copy);
    }

    /// How many signed lists are cached.
    pub fn cached(&self) -> usize {
        self.lock().len()
    }
}

/// An in-memory [`StatusSource`]: credentials by status index, per issuer key. For tests (the
/// node's own, and the interop harness, which runs before the credential log can fill a list).
#[derive(Debug, Default)]
pub struct MemoryStatusSource {
    issuers: Mutex<HashMap<[u8; 32], MemoryIssuer>>,
    version: AtomicU64,
}

#[derive(Debug, Default, Clone)]
struct MemoryIssuer {
    /// Status index → (revoked, suspended, anchored).
    credentials: std::collections::BTreeMap<u64, (bool, bool, bool)>,
    compromised: bool,
}

impl MemoryStatusSource {
    /// An empty source.
    pub fn new() -> Self {
        Self::default()
    }

    fn change(&self, issuer: &PublicKey, change: impl FnOnce(&mut MemoryIssuer)) {
        let mut issuers = self.issuers.lock().unwrap_or_else(PoisonError::into_inner);
        change(issuers.entry(issuer.to_bytes()).or_default());
        self.version.fetch_add(1, Ordering::SeqCst);
    }

    /// Logs a credential of `issuer` at `status_index`, active; `anchored` says whether it was
    /// logged before a compromise point.
    pub fn log(&self, issuer: &PublicKey, status_index: u64, anchored: bool) {
        self.change(issuer, |state| {
            state
                .credentials
                .insert(status_index, (false, false, anchored));
        });
    }

    /// Sets the status of the credential at `status_index` (logging it, anchored, if it was
    /// not).
    pub fn set_status(
        &self,
        issuer: &PublicKey,
        status_index: u64,
        revoked: bool,
        suspended: bool,
    ) {
        self.change(issuer, |state| {
            let entry = state
                .credentials
                .entry(status_index)
                .or_insert((false, false, true));
            entry.0 = revoked;
            entry.1 = suspended;
        });
    }

    /// Marks `issuer` as rotated away by a compromise rotation.
    pub fn compromise(&self, issuer: &PublicKey) {
        self.change(issuer, |state| state.compromised = true);
    }
}

impl StatusSource for MemoryStatusSource {
    fn version(&self, _issuer: &PublicKey) -> Result<u64, StatusSourceError> {
        Ok(self.version.load(Ordering::SeqCst))
    }

    fn statuses(&self, issuer: &PublicKey, list: u32) -> Result<StatusBits, StatusSourceError> {
        let issuers = self.issuers.lock().unwrap_or_else(PoisonError::into_inner);
        let mut bits = StatusBits::empty();
        let Some(state) = issuers.get(&issuer.to_bytes()) else {
            return Ok(bits);
        };
        bits.compromised = state.compromised;
        let error = |error: StatusListError| StatusSourceError(error.to_string());
        for (index, (revoked, suspended, anchored)) in &state.credentials {
            let at = proto_types::status_list::StatusListPosition::from_status_index(*index)
                .map_err(error)?;
            bits.highest_list = bits.highest_list.max(Some(at.list));
            if at.list != list {
                continue;
            }
            bits.revoked.set(at.position, *revoked).map_err(error)?;
            bits.suspended.set(at.position, *suspended).map_err(error)?;
            bits.anchored.set(at.position, *anchored).map_err(error)?;
        }
        Ok(bits)
    }
}

#[cfg(test)]
mod tests;
