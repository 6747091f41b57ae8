//! Storage: the only module that names RocksDB. Column families, key layouts, the schema
//! version, atomic per-entry write batches, and every read the node needs.
//!
//! Column families (stable names, part of the on-disk format):
//!
//! | name | key | value |
//! |---|---|---|
//! | `meta` | `schema_version`; `undo_compromise` ‖ old key (32) | u32 big-endian; [`UndoMarker`]: next seq ‖ end seq (u64 BE each) |
//! | `meta` | `endorsement` ‖ 0 ‖ ordinal (u64 BE) | an effective endorsement, JSON ([`crate::admission::EndorsementRecord`]) |
//! | `entries` | entry id (32) | canonical entry bytes |
//! | `feeds` | author key (32) ‖ seq (u64 BE) | entry id |
//! | `heads` | author key (32) | seq (u64 BE) ‖ entry id |
//! | `rights` | right id (UTF-8) | current state: version byte ‖ encoding: `0x02` binary (written since issue 14), `0x01` JSON, or legacy JSON without the byte ([`right_state`]) |
//! | `index_mark` | `t` ‖ token ‖ 0 ‖ right id; `m` ‖ folded mark ‖ 0 ‖ right id | empty |
//! | `index_holder` | `k` ‖ holder did ‖ 0 ‖ right id; `n` ‖ folded name ‖ 0 ‖ right id | empty |
//! | `index_class` | `c` ‖ class (u8) ‖ jurisdiction ‖ 0 ‖ right id; `j` ‖ jurisdiction ‖ 0 ‖ right id | empty |
//! | `index_screen` | `e` ‖ mark key ‖ 0 ‖ right id; `p`/`s` ‖ key length (u8) ‖ first/second half of the key ‖ 0 ‖ mark key ‖ 0 ‖ right id ([`screen`], [`crate::screening::mark_keys`]) | empty |
//! | `index_claims` | `l` listing / `h` holder / `s` seller ref / `n` notice id / `o` nonce / `r` right id / `k` kind (counter notices), ‖ 0 ‖ entry id | empty |
//! | `index_claims` | the credential log: `C` record, `R`/`H` listings, `I` status indexes, `V` versions ([`keys`]) | record / empty / status ‖ id / version |
//! | `equivocations` | author key (32) ‖ seq (u64 BE) | proof JSON |
//! | `ineffective` | entry id | why the entry changed nothing, UTF-8 |
//! | `tlog` | author key (32) ‖ level (1) ‖ index (u64 BE) | the node's hash (32) ([`tree`]) |
//! | `checkpoints` | `c` ‖ author key (32) ‖ size (u64 BE) | root (32) ‖ the checkpoint's signed note, author's signature only ([`checkpoints`]) |
//! | `checkpoints` | `s` ‖ author key (32) ‖ size (u64 BE) ‖ witness key (32) | a witness's cosignature line of that checkpoint |
//! | `checkpoints` | `w` ‖ author key (32) | this node's witness state: last cosigned size (u64 BE) ‖ root (32) |
//! | `checkpoints` | `x` ‖ author key (32) ‖ proof id (32) | a checkpoint equivocation (split-view) proof, JSON |
//! | `rotations` | old author key (32) | new key (32) ‖ seq of the `key_rotation` entry (u64 BE) ‖ its entry id (32) ‖ `compromised_since` (u64 BE, compromise rotations only); values written before issue 12 end after the seq |
//!
//! **Invariant:** every entry is written with all of its index changes in one `WriteBatch`, so
//! a crash leaves either all of them or none. The writer puts a group's entries and, once per
//! author, the group's last head in that one batch ([`StoreBatch::put_entry_in_feed`],
//! [`StoreBatch::put_head`]), so a head never points past what is stored.
//!
//! Compression, filters and memory ([`options`]) are not part of the format: RocksDB records
//! them per table file, and a store opens with any of them.
//!
//! **Architecture Invariant:** [`Store::open`] hands out one [`StoreWriter`], the only value
//! that can build and commit a batch; everyone else holds the read-only [`Store`] (or a
//! [`StoreReader`] on the async side).

mod batch;
pub mod checkpoints;
mod credential_log;
mod endorsements;
pub mod keys;
pub mod options;
mod read;
pub mod right_state;
mod rotations;
pub mod screen;
mod token_range;
pub mod tree;

pub use batch::{StoreBatch, StoreWriter};
pub use checkpoints::{
    MAX_CHECKPOINTS_PER_FEED, MAX_COSIGNATURES_PER_CHECKPOINT, MAX_SPLIT_VIEWS_PER_FEED,
    StoredCheckpoint, WitnessState,
};
pub use credential_log::{CREDENTIAL_RECORD_V1, CredentialListing, IndexedCredential};
pub use keys::{ClaimIndex, IndexScan};
pub use options::{Codec, CompressionPlan, StorageOptions};
pub use read::StoreReader;
pub use rotations::UndoMarker;
pub use screen::ScreenReader;
pub use token_range::TokenRange;
pub use tree::{StagedTree, TreeReader};

use std::path::Path;
use std::sync::Arc;

use proto_types::entry::{Entry, EntryId, FeedHead};
use proto_types::keys::PublicKey;
use rocksdb::{
    BottommostLevelCompaction, ColumnFamily, ColumnFamilyDescriptor, CompactOptions, DB, Direction,
    IteratorMode, Options, ReadOptions, WriteOptions,
};

use crate::files::{DataDirLock, LockError};
use crate::rights::RightState;

/// The on-disk schema version this build reads and writes. Version 2 added the feeds' trees
/// and checkpoints, version 3 the screening index (`index_screen`); a version 1 or 2 store is
/// upgraded in place when it is opened.
pub const SCHEMA_VERSION: u32 = 3;

/// The versions this build upgrades from ([`Store::open`]).
const UPGRADABLE_SCHEMA_VERSIONS: [u32; 2] = [1, 2];

/// Column family names.
pub mod cf {
    /// Schema version and other metadata.
    pub const META: &str = "meta";
    /// Entries by id.
    pub const ENTRIES: &str = "entries";
    /// Feed order: (author, seq) → id.
    pub const FEEDS: &str = "feeds";
    /// Head per author.
    pub const HEADS: &str = "heads";
    /// Current state per right.
    pub const RIGHTS: &str = "rights";
    /// Rights by folded mark tokens and full folded mark.
    pub const INDEX_MARK: &str = "index_mark";
    /// Rights by holder key and folded holder name.
    pub const INDEX_HOLDER: &str = "index_holder";
    /// Rights by Nice class and jurisdiction.
    pub const INDEX_CLASS: &str = "index_class";
    /// Rights by the screening keys of their marks (issue 16).
    pub const INDEX_SCREEN: &str = "index_screen";
    /// Notices, decisions and counter-notices by listing, holder, seller reference and notice.
    pub const INDEX_CLAIMS: &str = "index_claims";
    /// Equivocation proofs.
    pub const EQUIVOCATIONS: &str = "equivocations";
    /// Entries that were stored but changed nothing, with the reason.
    pub const INEFFECTIVE: &str = "ineffective";
    /// Key rotations: old key → new key and the seq of the rotation entry.
    pub const ROTATIONS: &str = "rotations";
    /// The Merkle tree of every feed: its stored nodes (protocol §14.1; `tree.rs`).
    pub const TLOG: &str = "tlog";
    /// Checkpoints, cosignatures and split-view proofs (protocol §14.3–14.4).
    pub const CHECKPOINTS: &str = "checkpoints";
    /// Every column family, in creation order.
    pub const ALL: [&str; 15] = [
        META,
        ENTRIES,
        FEEDS,
        HEADS,
        RIGHTS,
        INDEX_MARK,
        INDEX_HOLDER,
        INDEX_CLASS,
        INDEX_CLAIMS,
        EQUIVOCATIONS,
        INEFFECTIVE,
        ROTATIONS,
        TLOG,
        CHECKPOINTS,
        INDEX_SCREEN,
    ];

    /// The families schema version 2 added: a version 1 store lacks them, and opening it
    /// creates them and builds the trees (an upgrade, not a foreign database).
    pub const ADDED_IN_V2: [&str; 2] = [TLOG, CHECKPOINTS];

    /// The family schema version 3 added: a version 1 or 2 store lacks it, and opening it
    /// creates it and builds the screening index from the stored rights.
    pub const ADDED_IN_V3: [&str; 1] = [INDEX_SCREEN];

    /// The families a store of schema `version` may lack because a later version added them.
    pub fn added_after(version: u32) -> Vec<&'static str> {
        let mut added = Vec::new();
        if version < 2 {
            added.extend(ADDED_IN_V2);
        }
        if version < 3 {
            added.extend(ADDED_IN_V3);
        }
        added
    }
}

const SCHEMA_KEY: &[u8] = b"schema_version";

/// The family RocksDB always has; we store nothing in it.
const DEFAULT_FAMILY: &str = "default";

/// Storage failures.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// RocksDB reported an error.
    #[error("database error: {0}")]
    Db(#[from] rocksdb::Error),
    /// The data directory holds another schema version.
    #[error(
        "data directory {path} has schema version {found}, this build uses version {expected}; refusing to open it (see docs/OPERATIONS.md, upgrading)"
    )]
    SchemaMismatch {
        /// The directory.
        path: String,
        /// Version found.
        found: String,
        /// Version this build uses.
        expected: u32,
    },
    /// The directory holds a RocksDB database that is not a Rightsnet store.
    #[error("data directory {path} is not a rightsnet store: {reason}")]
    Foreign {
        /// The directory.
        path: String,
        /// What is missing.
        reason: String,
    },
    /// Another process holds the data directory.
    #[error(transparent)]
    Locked(#[from] LockError),
    /// A read on the blocking pool did not finish (it panicked or the runtime is shutting
    /// down).
    #[error("a store read failed: {0}")]
    ReadFailed(String),
    /// A write batch was not committed (RocksDB refused the write: disk full, I/O error…);
    /// nothing of it is stored.
    #[error("committing a write batch failed: {0}")]
    CommitFailed(String),
    /// Stored bytes do not decode: the store is corrupt.
    #[error("corrupt record in {cf}: {reason}")]
    Corrupt {
        /// The column family.
        cf: &'static str,
        /// What failed.
        reason: String,
    },
}

type Result<T, E = StorageError> = std::result::Result<T, E>;

fn corrupt(cf: &'static str, reason: impl std::fmt::Display) -> StorageError {
    StorageError::Corrupt {
        cf,
        reason: reason.to_string(),
    }
}

/// The database, for reads. Shared behind an `Arc`; writes go through the one [`StoreWriter`].
pub struct Store {
    db: DB,
    /// Every distinct mark key of `index_screen`, in memory (issue 16): see
    /// [`crate::screening::marks`].
    marks: Arc<crate::screening::marks::MarkSet>,
    // Declared after `db`, so released only after the database is closed.
    _lock: DataDirLock,
}

/// Whether every column family `families` of the database in `path` is empty, read without
/// writing anything (a read-only open).
fn families_are_empty(path: &Path, families: &[String]) -> Result<bool> {
    let db = DB::open_cf_for_read_only(&Options::default(), path, families, false)?;
    for family in families {
        let Some(handle) = db.cf_handle(family) else {
            return Ok(false);
        };
        if db
            .iterator_cf(handle, IteratorMode::Start)
            .next()
            .transpose()?
            .is_some()
        {
            return Ok(false);
        }
    }
    Ok(true)
}

impl Store {
    /// Opens the store in `path` (an existing directory), creating it with the current schema
    /// version when the directory holds no database. Refuses directories of another schema
    /// version or that hold a database that is not a Rightsnet store.
    ///
    /// Takes the data directory lock ([`DataDirLock`]) before RocksDB touches the directory and
    /// holds it until the store is dropped (the last `Arc`, the writer's included), so a second
    /// process fails with the holder's pid instead of reaching RocksDB's own lock.
    ///
    /// Creation is resumable. RocksDB creates the column families one at a time and the schema
    /// version is written after them, so a process killed during its first start leaves a
    /// database with some or all of our families, all of them empty, and no schema version.
    /// Such a directory is our own unfinished creation and this finishes it. A directory with a
    /// family we do not know, or holding any key but no schema version, is refused.
    ///
    /// Returns the store, to share for reads, and its one writer, to hand to the ingest writer
    /// thread.
    pub fn open(path: &Path) -> Result<(Arc<Self>, StoreWriter)> {
        Self::open_with(path, &StorageOptions::default())
    }

    /// [`Store::open`] with the given cache size and compression ([`options`]). Options are
    /// not part of the on-disk format: a store opens with any of them.
    pub fn open_with(
        path: &Path,
        storage_options: &StorageOptions,
    ) -> Result<(Arc<Self>, StoreWriter)> {
        let (store, upgrade_from) = Self::open_store(path, storage_options)?;
        let store = Arc::new(store);
        let writer = StoreWriter::new(store.clone());
        if let Some(version) = upgrade_from {
            writer.upgrade_to_current(path, version)?;
        }
        store.load_screen_marks()?;
        Ok((store, writer))
    }

    /// Opens the database; with the version of an older store to upgrade.
    fn open_store(path: &Path, storage_options: &StorageOptions) -> Result<(Self, Option<u32>)> {
        let lock = DataDirLock::acquire(path)?;
        let display = path.display().to_string();
        let options = options::database_options();
        // The families added by later versions that the directory lacks.
        let mut lacking: Vec<&'static str> = Vec::new();
        if let Ok(families) = DB::list_cf(&Options::default(), path) {
            lacking = cf::added_after(0)
                .into_iter()
                .filter(|name| !families.iter().any(|family| family == *name))
                .collect();
            if let Some(unknown) = families
                .iter()
                .find(|family| *family != DEFAULT_FAMILY && !cf::ALL.contains(&family.as_str()))
            {
                return Err(StorageError::Foreign {
                    path: display,
                    reason: format!("unknown column family {unknown:?}"),
                });
            }
            // An older store lacks the families later versions added; the schema version read
            // below decides whether it may.
            let added = cf::added_after(0);
            if let Some(missing) = cf::ALL
                .iter()
                .filter(|name| !added.contains(name))
                .find(|name| !families.iter().any(|family| family == *name))
            {
                if !families_are_empty(path, &families)? {
                    return Err(StorageError::Foreign {
                        path: display,
                        reason: format!("column family {missing:?} missing"),
                    });
                }
                tracing::warn!(
                    path = %path.display(),
                    "finishing the creation of a store interrupted during its first start"
                );
            }
        }
        let memory = options::SharedMemory::new(storage_options);
        let descriptors = cf::ALL.iter().map(|name| {
            ColumnFamilyDescriptor::new(
                *name,
                options::family_options(name, storage_options, &memory),
            )
        });
        let db = DB::open_cf_descriptors(&options, path, descriptors)?;
        let store = Self {
            db,
            marks: Arc::default(),
            _lock: lock,
        };
        let recorded = store
            .db
            .get_cf(store.cf(cf::META), SCHEMA_KEY)?
            .map(|bytes| {
                <[u8; 4]>::try_from(bytes.as_slice())
                    .map(u32::from_be_bytes)
                    .map_err(|_| bytes)
            });
        let known = |version: u32| {
            version == SCHEMA_VERSION || UPGRADABLE_SCHEMA_VERSIONS.contains(&version)
        };
        match recorded {
            Some(Ok(version)) if known(version) => {
                let may_lack = cf::added_after(version);
                if let Some(missing) = lacking.iter().find(|name| !may_lack.contains(name)) {
                    return Err(StorageError::Foreign {
                        path: display,
                        reason: format!("schema version {version} without the family {missing:?}"),
                    });
                }
                Ok((store, (version != SCHEMA_VERSION).then_some(version)))
            }
            Some(found) => Err(StorageError::SchemaMismatch {
                path: display,
                found: match found {
                    Ok(version) => version.to_string(),
                    Err(bytes) => format!("{bytes:02x?}"),
                },
                expected: SCHEMA_VERSION,
            }),
            // A new store, or our own creation interrupted before the schema version was written:
            // nothing has been stored yet, so writing the version now finishes it.
            None if store.is_empty()? => {
                let mut write_options = WriteOptions::default();
                write_options.set_sync(true);
                store.db.put_cf_opt(
                    store.cf(cf::META),
                    SCHEMA_KEY,
                    SCHEMA_VERSION.to_be_bytes(),
                    &write_options,
                )?;
                Ok((store, None))
            }
            None => Err(StorageError::Foreign {
                path: display,
                reason: "no schema version recorded".to_owned(),
            }),
        }
    }

    /// Whether no column family holds any key.
    fn is_empty(&self) -> Result<bool> {
        if self
            .db
            .iterator(IteratorMode::Start)
            .next()
            .transpose()?
            .is_some()
        {
            return Ok(false);
        }
        for name in cf::ALL {
            let first = self
                .db
                .iterator_cf(self.cf(name), IteratorMode::Start)
                .next()
                .transpose()?;
            if first.is_some() {
                return Ok(false);
            }
        }
        Ok(true)
    }

    fn cf(&self, name: &'static str) -> &ColumnFamily {
        // Every family in cf::ALL exists: open() checks or creates them all.
        match self.db.cf_handle(name) {
            Some(handle) => handle,
            None => unreachable!("column family {name} checked at open"),
        }
    }

    /// The head of `author`'s feed.
    pub fn head(&self, author: &PublicKey) -> Result<Option<FeedHead>> {
        self.db
            .get_cf(self.cf(cf::HEADS), author.to_bytes())?
            .map(|bytes| decode_head(&bytes))
            .transpose()
    }

    /// Every feed's head, ordered by author key bytes.
    pub fn heads(&self) -> Result<Vec<(PublicKey, FeedHead)>> {
        let mut heads = Vec::new();
        for item in self.db.iterator_cf(self.cf(cf::HEADS), IteratorMode::Start) {
            let (key, value) = item?;
            let author_bytes: [u8; 32] = key
                .as_ref()
                .try_into()
                .map_err(|_| corrupt(cf::HEADS, "key length"))?;
            let author = PublicKey::from_bytes(&author_bytes).map_err(|e| corrupt(cf::HEADS, e))?;
            heads.push((author, decode_head(&value)?));
        }
        Ok(heads)
    }

    /// The canonical bytes of an entry.
    pub fn entry_bytes(&self, id: &EntryId) -> Result<Option<Vec<u8>>> {
        Ok(self.db.get_cf(self.cf(cf::ENTRIES), id.0)?)
    }

    /// An entry, decoded (it was verified before it was stored).
    pub fn entry(&self, id: &EntryId) -> Result<Option<Entry>> {
        self.entry_bytes(id)?
            .map(|bytes| Entry::decode(&bytes).map_err(|e| corrupt(cf::ENTRIES, e)))
            .transpose()
    }

    /// The id of `author`'s entry at `seq`.
    pub fn entry_id_at(&self, author: &PublicKey, seq: u64) -> Result<Option<EntryId>> {
        self.db
            .get_cf(self.cf(cf::FEEDS), keys::feed(author, seq))?
            .map(|bytes| decode_id(cf::FEEDS, &bytes))
            .transpose()
    }

    /// Up to `limit` entries of `author`'s feed from `from_seq` on, as canonical bytes, stopping
    /// early once `max_bytes` would be exceeded (at least one entry is returned when any exists).
    pub fn feed(
        &self,
        author: &PublicKey,
        from_seq: u64,
        limit: usize,
        max_bytes: usize,
    ) -> Result<Vec<Vec<u8>>> {
        let start = keys::feed(author, from_seq.max(1));
        let mut read_options = ReadOptions::default();
        let upper = keys::feed(author, u64::MAX);
        read_options.set_iterate_upper_bound(upper.to_vec());
        let mut entries = Vec::new();
        let mut total = 0usize;
        for item in self.db.iterator_cf_opt(
            self.cf(cf::FEEDS),
            read_options,
            IteratorMode::From(&start, Direction::Forward),
        ) {
            let (_, value) = item?;
            let id = decode_id(cf::FEEDS, &value)?;
            let bytes = self
                .entry_bytes(&id)?
                .ok_or_else(|| corrupt(cf::FEEDS, format!("entry {id} missing")))?;
            if !entries.is_empty() && total + bytes.len() > max_bytes {
                break;
            }
            total += bytes.len();
            entries.push(bytes);
            if entries.len() >= limit {
                break;
            }
        }
        Ok(entries)
    }

    /// The current state of a right.
    pub fn right(&self, right_id: &str) -> Result<Option<RightState>> {
        self.db
            .get_cf(self.cf(cf::RIGHTS), keys::right(right_id))?
            .map(|bytes| right_state::decode(&bytes))
            .transpose()
    }

    /// Why a stored entry changed nothing, if it did not.
    pub fn ineffective_reason(&self, id: &EntryId) -> Result<Option<String>> {
        Ok(self
            .db
            .get_cf(self.cf(cf::INEFFECTIVE), id.0)?
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned()))
    }

    /// Stored equivocation proofs, up to `limit`.
    pub fn equivocations(&self, limit: usize) -> Result<Vec<serde_json::Value>> {
        let mut proofs = Vec::new();
        for item in self
            .db
            .iterator_cf(self.cf(cf::EQUIVOCATIONS), IteratorMode::Start)
            .take(limit)
        {
            let (_, value) = item?;
            proofs.push(serde_json::from_slice(&value).map_err(|e| corrupt(cf::EQUIVOCATIONS, e))?);
        }
        Ok(proofs)
    }

    /// Whether an equivocation proof is stored for `(author, seq)`.
    pub fn has_equivocation(&self, author: &PublicKey, seq: u64) -> Result<bool> {
        Ok(self
            .db
            .get_pinned_cf(self.cf(cf::EQUIVOCATIONS), keys::feed(author, seq))?
            .is_some())
    }

    /// Scans index `family` from `start` (exclusive when `after` is true) over keys beginning
    /// with `prefix`, calling `visit` with each key until it returns false.
    pub fn scan_index(
        &self,
        scan: &IndexScan<'_>,
        start: &[u8],
        after: bool,
        visit: impl FnMut(&[u8]) -> Result<bool>,
    ) -> Result<()> {
        self.scan_prefix(scan.family(), &scan.prefix(), start, after, visit)
    }

    /// The distinct tokens of the mark index that begin with `prefix`, in order, or `None`
    /// when there are more than `max` (one seek a token: keys are not read one by one).
    pub fn mark_tokens_with_prefix(
        &self,
        prefix: &str,
        max: usize,
    ) -> Result<Option<Vec<Vec<u8>>>> {
        let scan = IndexScan::MarkTokenPrefix(prefix);
        let range = scan.prefix();
        let mut iterator = self.db.raw_iterator_cf(self.cf(scan.family().name()));
        iterator.seek(&range);
        let mut tokens: Vec<Vec<u8>> = Vec::new();
        while let Some(key) = iterator.key() {
            if !key.starts_with(&range) {
                break;
            }
            if tokens.len() >= max {
                return Ok(None);
            }
            let token = keys::indexed_value(key).to_vec();
            iterator.seek(keys::after_mark_token(&token));
            tokens.push(token);
        }
        iterator.status()?;
        Ok(Some(tokens))
    }

    /// Visits the keys of `family` that begin with `prefix`, from `start` (or the prefix) on,
    /// skipping `start` itself when `after`. A raw iterator bounded above by the prefix's end:
    /// no key or value is copied, and RocksDB reads nothing past the range.
    fn scan_prefix(
        &self,
        family: IndexFamily,
        prefix: &[u8],
        start: &[u8],
        after: bool,
        mut visit: impl FnMut(&[u8]) -> Result<bool>,
    ) -> Result<()> {
        let from = if start.is_empty() { prefix } else { start };
        let mut options = ReadOptions::default();
        if let Some(end) = keys::prefix_end(prefix) {
            options.set_iterate_upper_bound(end);
        }
        let mut iterator = self.db.raw_iterator_cf_opt(self.cf(family.name()), options);
        iterator.seek(from);
        while let Some(key) = iterator.key() {
            if !key.starts_with(prefix) {
                break;
            }
            let skipped = after && key == start;
            if !skipped && !visit(key)? {
                return Ok(());
            }
            iterator.next();
        }
        iterator.status()?;
        Ok(())
    }

    /// Scans the rights column family in right-id order after `start_after`.
    pub fn scan_rights(
        &self,
        start_after: &[u8],
        mut visit: impl FnMut(&[u8], RightState) -> Result<bool>,
    ) -> Result<()> {
        for item in self.db.iterator_cf(
            self.cf(cf::RIGHTS),
            IteratorMode::From(start_after, Direction::Forward),
        ) {
            let (key, value) = item?;
            if key.as_ref() == start_after {
                continue;
            }
            let state = right_state::decode(&value)?;
            if !visit(&key, state)? {
                break;
            }
        }
        Ok(())
    }

    /// How many rights the node holds, counting at most `max` (keys only).
    pub fn count_rights(&self, max: usize) -> Result<usize> {
        let mut iterator = self.db.raw_iterator_cf(self.cf(cf::RIGHTS));
        iterator.seek_to_first();
        let mut counted = 0;
        while counted < max && iterator.valid() {
            counted += 1;
            iterator.next();
        }
        iterator.status()?;
        Ok(counted)
    }

    /// Ids of the notices, decisions and counter-notices indexed under `index` = `value`, at
    /// most `limit`, in index order.
    pub fn claim_ids(&self, index: ClaimIndex, value: &str, limit: usize) -> Result<Vec<EntryId>> {
        let prefix = keys::claim_prefix(index, value.as_bytes());
        let mut ids = Vec::new();
        self.scan_prefix(IndexFamily::Claims, &prefix, &[], false, |key| {
            ids.push(decode_id(cf::INDEX_CLAIMS, keys::tail(key))?);
            Ok(ids.len() < limit)
        })?;
        Ok(ids)
    }

    /// The store's size, in bytes, over every column family: its table files on disk plus
    /// what is still only in memtables (the write-ahead log is not counted). RocksDB's
    /// `estimate-live-data-size` alone counts table files only, so it reads 0 on a node whose
    /// data has not been flushed yet.
    pub fn estimated_size_bytes(&self) -> u64 {
        let property = |name: &'static str, property: &str| {
            self.db
                .property_int_value_cf(self.cf(name), property)
                .ok()
                .flatten()
                .unwrap_or(0)
        };
        cf::ALL
            .iter()
            .map(|name| {
                property(name, "rocksdb.total-sst-files-size")
                    + property(name, "rocksdb.cur-size-all-mem-tables")
            })
            .sum()
    }

    /// The size of each family's table files on disk, in bytes, in [`cf::ALL`] order (what is
    /// still only in memtables is not counted: call after [`Store::compact_all`] to measure).
    pub fn family_sizes(&self) -> Vec<(&'static str, u64)> {
        cf::ALL
            .iter()
            .map(|name| {
                let bytes = self
                    .db
                    .property_int_value_cf(self.cf(name), "rocksdb.total-sst-files-size")
                    .ok()
                    .flatten()
                    .unwrap_or(0);
                (*name, bytes)
            })
            .collect()
    }

    /// Bytes of the screening index's filter and index blocks (RocksDB's aggregated table
    /// properties of `index_screen`): what stays in memory for a lookup of a key no mark has
    /// to cost no data block read.
    pub fn screen_index_blocks(&self) -> u64 {
        let properties = self
            .db
            .property_value_cf(
                self.cf(cf::INDEX_SCREEN),
                "rocksdb.aggregated-table-properties",
            )
            .ok()
            .flatten()
            .unwrap_or_default();
        properties
            .split(';')
            .filter_map(|item| item.trim().split_once('='))
            .filter(|(name, _)| {
                name.starts_with("index block size") || *name == "filter block size"
            })
            .filter_map(|(_, value)| value.trim().parse::<u64>().ok())
            .sum()
    }

    /// Flushes every memtable and compacts every family fully, rewriting even the files
    /// already at the bottommost level (so that they take the current compression). Blocking,
    /// as long as RocksDB needs to rewrite the whole store: for benchmarks and for an operator
    /// who changed the compression.
    pub fn compact_all(&self) -> Result<()> {
        let mut compact = CompactOptions::default();
        compact.set_bottommost_level_compaction(BottommostLevelCompaction::Force);
        for name in cf::ALL {
            self.db.flush_cf(self.cf(name))?;
            self.db
                .compact_range_cf_opt(self.cf(name), None::<&[u8]>, None::<&[u8]>, &compact);
        }
        Ok(())
    }

    /// RocksDB's estimate of the number of keys in `family`.
    pub fn estimated_keys(&self, family: &'static str) -> u64 {
        self.db
            .property_int_value_cf(self.cf(family), "rocksdb.estimate-num-keys")
            .ok()
            .flatten()
            .unwrap_or(0)
    }
}

/// The secondary indexes that can be scanned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexFamily {
    /// `index_mark`.
    Mark,
    /// `index_holder`.
    Holder,
    /// `index_class`.
    Class,
    /// `index_claims`.
    Claims,
    /// `index_screen`.
    Screen,
}

impl IndexFamily {
    fn name(self) -> &'static str {
        match self {
            IndexFamily::Mark => cf::INDEX_MARK,
            IndexFamily::Holder => cf::INDEX_HOLDER,
            IndexFamily::Class => cf::INDEX_CLASS,
            IndexFamily::Claims => cf::INDEX_CLAIMS,
            IndexFamily::Screen => cf::INDEX_SCREEN,
        }
    }
}

fn decode_id(family: &'static str, bytes: &[u8]) -> Result<EntryId> {
    let array: [u8; 32] = bytes
        .try_into()
        .map_err(|_| corrupt(family, "entry id length"))?;
    Ok(EntryId(array))
}

fn decode_head(bytes: &[u8]) -> Result<FeedHead> {
    if bytes.len() != 40 {
        return Err(corrupt(cf::HEADS, "head length"));
    }
    let (seq, id) = bytes.split_at(8);
    let seq = u64::from_be_bytes(seq.try_into().map_err(|_| corrupt(cf::HEADS, "seq"))?);
    Ok(FeedHead {
        seq,
        id: decode_id(cf::HEADS, id)?,
    })
}

#[cfg(test)]
mod tests;
