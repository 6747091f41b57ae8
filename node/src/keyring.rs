//! The node's authority key file as a key ring: the current key, at most one pending key (a
//! rotation in progress, protocol §6.9.2) and the retired keys (old keys this authority rotated
//! away from, kept to sign what they signed before: status lists of earlier credentials).
//!
//! Two layouts are read:
//!
//! - the plain Multikey file that `rightsnet key gen` writes
//!   (`{"publicKeyMultibase", "secretKeyMultibase"}`): a ring with only a current key;
//! - the key ring, a versioned JSON object:
//!
//! ```json
//! {
//!   "rightsnet_keyring": 1,
//!   "current": {"publicKeyMultibase": "z6Mk…", "secretKeyMultibase": "z3u2…"},
//!   "pending": {"publicKeyMultibase": "z6Mk…", "secretKeyMultibase": "z3u2…"},
//!   "retired": [{"publicKeyMultibase": "z6Mk…", "secretKeyMultibase": "z3u2…"}]
//! }
//! ```
//!
//! `pending` is optional and `retired` (oldest first) holds at most [`MAX_RETIRED_KEYS`]. A node
//! writes the ring form only when it rotates; the file is always replaced atomically
//! ([`crate::files::write_file_atomically`], mode 0600).

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use anyhow::Context;
use proto_types::keys::{KeyFile, PublicKey, SecretKey};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::files::{MAX_KEY_FILE_BYTES, SECRET_FILE_MODE, write_file_atomically};

/// The version of the key ring layout this node writes and reads.
pub const KEYRING_VERSION: u32 = 1;
/// Most retired keys a key ring keeps: a node refuses to rotate once it holds this many (a
/// retired key may still be needed, so none is dropped to make room).
pub const MAX_RETIRED_KEYS: usize = 32;

/// Why a key file could not be read as a key ring.
#[derive(Debug, thiserror::Error)]
pub enum KeyringError {
    /// Not JSON, or neither layout.
    #[error("invalid key file: {0}")]
    Invalid(String),
    /// A key ring of a version this node does not know.
    #[error("key ring version {0} is not supported (this node reads version {KEYRING_VERSION})")]
    Version(u64),
    /// One key of the ring is invalid.
    #[error("{place}: {reason}")]
    Key {
        /// Where in the ring (`current`, `pending`, `retired[3]`).
        place: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Too many retired keys.
    #[error("key ring holds more than {MAX_RETIRED_KEYS} retired keys")]
    TooManyRetired,
    /// The same key twice in the ring.
    #[error("key ring holds {0} twice")]
    Duplicate(String),
}

/// The keys of this node's authority: current, pending (a rotation in progress), retired.
pub struct Keyring {
    current: Arc<SecretKey>,
    pending: Option<Arc<SecretKey>>,
    retired: Vec<Arc<SecretKey>>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyringFile {
    rightsnet_keyring: u64,
    current: KeyFile,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pending: Option<KeyFile>,
    #[serde(default)]
    retired: Vec<KeyFile>,
}

fn parse_key(place: &str, file: &KeyFile) -> Result<Arc<SecretKey>, KeyringError> {
    let error = |reason: String| KeyringError::Key {
        place: place.to_owned(),
        reason,
    };
    let secret =
        SecretKey::from_multibase(&file.secret_key_multibase).map_err(|e| error(e.to_string()))?;
    let public =
        PublicKey::from_multibase(&file.public_key_multibase).map_err(|e| error(e.to_string()))?;
    if public != secret.public_key() {
        return Err(error("public key does not match its secret key".to_owned()));
    }
    Ok(Arc::new(secret))
}

impl Keyring {
    /// A ring with only `current`.
    pub fn single(current: SecretKey) -> Self {
        Self {
            current: Arc::new(current),
            pending: None,
            retired: Vec::new(),
        }
    }

    /// A ring with only `current`, shared.
    pub fn from_current(current: Arc<SecretKey>) -> Self {
        Self {
            current,
            pending: None,
            retired: Vec::new(),
        }
    }

    /// Parses either layout (see the module documentation).
    pub fn parse(bytes: &[u8]) -> Result<Self, KeyringError> {
        let value: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| KeyringError::Invalid(e.to_string()))?;
        let Some(version) = value.get("rightsnet_keyring") else {
            let key = KeyFile::parse(bytes).map_err(|e| KeyringError::Invalid(e.to_string()))?;
            return Ok(Self::single(key));
        };
        match version.as_u64() {
            Some(KEYRING_VERSION_U64) => {}
            Some(other) => return Err(KeyringError::Version(other)),
            None => {
                return Err(KeyringError::Invalid(
                    "rightsnet_keyring is not a version number".to_owned(),
                ));
            }
        }
        let file: KeyringFile =
            serde_json::from_value(value).map_err(|e| KeyringError::Invalid(e.to_string()))?;
        if file.retired.len() > MAX_RETIRED_KEYS {
            return Err(KeyringError::TooManyRetired);
        }
        let ring = Self {
            current: parse_key("current", &file.current)?,
            pending: file
                .pending
                .as_ref()
                .map(|pending| parse_key("pending", pending))
                .transpose()?,
            retired: file
                .retired
                .iter()
                .enumerate()
                .map(|(index, key)| parse_key(&format!("retired[{index}]"), key))
                .collect::<Result<_, _>>()?,
        };
        let mut seen = std::collections::HashSet::new();
        for key in ring.all() {
            if !seen.insert(key.public_key()) {
                return Err(KeyringError::Duplicate(key.public_key().to_did_key()));
            }
        }
        Ok(ring)
    }

    /// Reads the key file at `path` (at most [`MAX_KEY_FILE_BYTES`]).
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = crate::config::read_bounded(path, MAX_KEY_FILE_BYTES)?;
        Self::parse(text.as_bytes()).with_context(|| format!("reading key file {}", path.display()))
    }

    /// The ring layout as JSON text (secret: zeroed on drop).
    pub fn to_json(&self) -> Zeroizing<String> {
        let file = KeyringFile {
            rightsnet_keyring: KEYRING_VERSION_U64,
            current: KeyFile::from_secret(&self.current),
            pending: self.pending.as_deref().map(KeyFile::from_secret),
            retired: self
                .retired
                .iter()
                .map(|key| KeyFile::from_secret(key))
                .collect(),
        };
        let mut text = Zeroizing::new(serde_json::to_string_pretty(&file).unwrap_or_default());
        text.push('\n');
        text
    }

    /// Replaces the file at `path` with this ring, atomically, mode 0600.
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        write_file_atomically(path, self.to_json().as_bytes(), SECRET_FILE_MODE)
            .with_context(|| format!("writing key file {}", path.display()))
    }

    /// The key this node signs with.
    pub fn current(&self) -> &Arc<SecretKey> {
        &self.current
    }

    /// The key a rotation in progress moves to, not yet used to sign anything.
    pub fn pending(&self) -> Option<&Arc<SecretKey>> {
        self.pending.as_ref()
    }

    /// Keys rotated away from, oldest first.
    pub fn retired(&self) -> &[Arc<SecretKey>] {
        &self.retired
    }

    /// The secret key of `public`, when it is the current or a retired key (never the pending
    /// one: nothing is signed with it before its rotation is committed).
    pub fn secret_for(&self, public: &PublicKey) -> Option<&SecretKey> {
        std::iter::once(&self.current)
            .chain(self.retired.iter())
            .find(|key| key.public_key() == *public)
            .map(|key| key.as_ref())
    }

    /// Every key of the ring.
    fn all(&self) -> impl Iterator<Item = &Arc<SecretKey>> {
        std::iter::once(&self.current)
            .chain(self.pending.iter())
            .chain(self.retired.iter())
    }

    /// Whether `public` is any key of the ring (current, pending or retired).
    pub fn holds(&self, public: &PublicKey) -> bool {
        self.all().any(|key| key.public_key() == *public)
    }

    /// This ring with `pending` as its pending key (replacing any other pending key). Refused
    /// when the key is already in the ring or the retired keys are full.
    pub fn with_pending(&self, pending: Arc<SecretKey>) -> Result<Self, KeyringError> {
        if self.retired.len() >= MAX_RETIRED_KEYS {
            return Err(KeyringError::TooManyRetired);
        }
        let public = pending.public_key();
        if std::iter::once(&self.current)
            .chain(self.retired.iter())
            .any(|key| key.public_key() == public)
        {
            return Err(KeyringError::Duplicate(public.to_did_key()));
        }
        Ok(Self {
            current: self.current.clone(),
            pending: Some(pending),
            retired: self.retired.clone(),
        })
    }

    /// This ring with its pending key current and its current key retired; `None` without a
    /// pending key.
    pub fn promoted(&self) -> Option<Self> {
        let pending = self.pending.clone()?;
        let mut retired = self.retired.clone();
        retired.push(self.current.clone());
        Some(Self {
            current: pending,
            pending: None,
            retired,
        })
    }

    /// This ring without its pending key.
    pub fn without_pending(&self) -> Self {
        Self {
            current: self.current.clone(),
            pending: None,
            retired: self.retired.clone(),
        }
    }
}

const KEYRING_VERSION_U64: u64 = KEYRING_VERSION as u64;

impl std::fmt::Debug for Keyring {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Public halves only: secrets are never printed.
        formatter
            .debug_struct("Keyring")
            .field("current", &self.current.public_key())
            .field(
                "pending",
                &self.pending.as_ref().map(|key| key.public_key()),
            )
            .field(
                "retired",
                &self
                    .retired
                    .iter()
                    .map(|key| key.public_key())
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// The running node's key ring, shared by the writer (which signs and rotates) and the API
/// (which signs credentials): the ring in memory and the file it lives in.
///
/// Only the writer thread replaces the ring ([`SigningKeys::replace`]), so rotations are
/// serialised with own appends.
#[derive(Debug)]
pub struct SigningKeys {
    path: Option<PathBuf>,
    ring: RwLock<Arc<Keyring>>,
}

impl SigningKeys {
    /// The ring read from `path` (or held only in memory, for tests, with `None`).
    pub fn new(ring: Keyring, path: Option<PathBuf>) -> Self {
        Self {
            path,
            ring: RwLock::new(Arc::new(ring)),
        }
    }

    /// The ring as it is now.
    pub fn keyring(&self) -> Arc<Keyring> {
        match self.ring.read() {
            Ok(ring) => ring.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The key this node signs with now.
    pub fn current(&self) -> Arc<SecretKey> {
        self.keyring().current().clone()
    }

    /// Writes `ring` to the key file (atomically, durably), then makes it the ring in memory.
    /// When the write fails, nothing changes.
    pub fn replace(&self, ring: Keyring) -> anyhow::Result<()> {
        if let Some(path) = &self.path {
            ring.save(path)?;
        }
        let ring = Arc::new(ring);
        match self.ring.write() {
            Ok(mut slot) => *slot = ring,
            Err(poisoned) => *poisoned.into_inner() = ring,
        }
        Ok(())
    }
}

impl SigningKeys {
    /// Makes `ring` the ring in memory, then writes it to the key file: for a rotation that is
    /// committed already, whose new key is current whether or not the file can be written (the
    /// next start finishes the file from the store's record).
    pub fn replace_committed(&self, ring: Keyring) -> anyhow::Result<()> {
        let ring = Arc::new(ring);
        match self.ring.write() {
            Ok(mut slot) => *slot = ring.clone(),
            Err(poisoned) => *poisoned.into_inner() = ring.clone(),
        }
        match &self.path {
            Some(path) => ring.save(path),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key_json(key: &SecretKey) -> String {
        KeyFile::from_secret(key).to_json()
    }

    #[test]
    fn a_plain_key_file_is_a_ring_with_only_a_current_key() {
        let key = SecretKey::generate();
        let ring = Keyring::parse(key_json(&key).as_bytes()).unwrap();
        assert_eq!(ring.current().public_key(), key.public_key());
        assert!(ring.pending().is_none());
        assert!(ring.retired().is_empty());
        assert!(ring.secret_for(&key.public_key()).is_some());
        assert!(
            ring.secret_for(&SecretKey::generate().public_key())
                .is_none()
        );
    }

    #[test]
    fn the_ring_layout_round_trips_through_pending_and_promotion() {
        let first = SecretKey::generate();
        let second = Arc::new(SecretKey::generate());
        let ring = Keyring::single(SecretKey::from_seed(&[1; 32]));
        let first_public = ring.current().public_key();
        let with_pending = ring.with_pending(second.clone()).unwrap();
        let again = Keyring::parse(with_pending.to_json().as_bytes()).unwrap();
        assert_eq!(again.pending().unwrap().public_key(), second.public_key());
        // The pending key signs nothing yet.
        assert!(again.secret_for(&second.public_key()).is_none());
        assert!(again.holds(&second.public_key()));
        let promoted = again.promoted().unwrap();
        let promoted = Keyring::parse(promoted.to_json().as_bytes()).unwrap();
        assert_eq!(promoted.current().public_key(), second.public_key());
        assert_eq!(promoted.retired()[0].public_key(), first_public);
        assert!(promoted.secret_for(&first_public).is_some());
        assert!(promoted.pending().is_none());
        assert!(again.without_pending().pending().is_none());
        assert!(Keyring::single(first).promoted().is_none());
    }

    #[test]
    fn bad_rings_are_refused_with_a_clear_error() {
        let key = SecretKey::generate();
        let other = SecretKey::generate();
        let current = key_json(&key);
        let cases = [
            ("not json".to_owned(), "invalid key file"),
            (
                format!("{{\"rightsnet_keyring\": 2, \"current\": {current}}}"),
                "version 2",
            ),
            (
                format!("{{\"rightsnet_keyring\": \"1\", \"current\": {current}}}"),
                "not a version",
            ),
            (
                format!("{{\"rightsnet_keyring\": 1, \"current\": {current}, \"extra\": 1}}"),
                "unknown field",
            ),
            (
                format!(
                    "{{\"rightsnet_keyring\": 1, \"current\": {current}, \"retired\": [{current}]}}"
                ),
                "twice",
            ),
            (
                format!(
                    "{{\"rightsnet_keyring\": 1, \"current\": {current}, \"pending\": {{\"publicKeyMultibase\": \"{}\", \"secretKeyMultibase\": \"{}\"}}}}",
                    other.public_key().to_multibase(),
                    key.to_multibase().as_str()
                ),
                "pending: public key does not match",
            ),
            ("{\"rightsnet_keyring\": 1}".to_owned(), "missing field"),
        ];
        for (text, expected) in cases {
            let error = Keyring::parse(text.as_bytes()).unwrap_err().to_string();
            assert!(error.contains(expected), "{error} should say {expected}");
        }
        let retired: Vec<String> = (0..=MAX_RETIRED_KEYS)
            .map(|_| key_json(&SecretKey::generate()))
            .collect();
        let text = format!(
            "{{\"rightsnet_keyring\": 1, \"current\": {current}, \"retired\": [{}]}}",
            retired.join(",")
        );
        assert!(matches!(
            Keyring::parse(text.as_bytes()),
            Err(KeyringError::TooManyRetired)
        ));
    }

    #[test]
    fn a_full_ring_refuses_another_rotation_and_keys_are_not_reused() {
        let mut ring = Keyring::single(SecretKey::generate());
        for _ in 0..MAX_RETIRED_KEYS {
            ring = ring
                .with_pending(Arc::new(SecretKey::generate()))
                .unwrap()
                .promoted()
                .unwrap();
        }
        assert!(matches!(
            ring.with_pending(Arc::new(SecretKey::generate())),
            Err(KeyringError::TooManyRetired)
        ));
        let small = Keyring::single(SecretKey::from_seed(&[7; 32]));
        assert!(
            small
                .with_pending(Arc::new(SecretKey::from_seed(&[7; 32])))
                .is_err()
        );
    }

    #[test]
    fn signing_keys_write_the_file_before_memory_changes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("authority.json");
        let keys = SigningKeys::new(Keyring::single(SecretKey::generate()), Some(path.clone()));
        let before = keys.current().public_key();
        let next = keys
            .keyring()
            .with_pending(Arc::new(SecretKey::generate()))
            .unwrap();
        keys.replace(next).unwrap();
        let on_disk = Keyring::load(&path).unwrap();
        assert!(on_disk.pending().is_some());
        assert_eq!(keys.current().public_key(), before);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // A directory that cannot take the file leaves memory unchanged.
        let broken = SigningKeys::new(
            Keyring::single(SecretKey::generate()),
            Some(dir.path().join("missing-dir").join("authority.json")),
        );
        let current = broken.current().public_key();
        let next = broken
            .keyring()
            .with_pending(Arc::new(SecretKey::generate()))
            .unwrap();
        assert!(broken.replace(next).is_err());
        assert!(broken.keyring().pending().is_none());
        assert_eq!(broken.current().public_key(), current);
    }
}
