//! The screening index (`index_screen`, issue 16): reading it for
//! [`crate::screening::Screener`], and building it for a store written before it existed.
//!
//! The writer keeps the index: a right's screening keys are among its index keys
//! ([`super::keys`]), moved in the same batch as the right whenever its mark changes. Reads seek
//! one iterator from prefix to prefix; the family has a prefix extractor (up to the first
//! separator, [`super::keys`]) and prefix bloom filters, so a prefix that no mark has is
//! refused by the filters without reading a data block — most of a listing's windows are such.

use std::collections::HashMap;
use std::sync::{Arc, Weak};

use rocksdb::{DB, DBRawIteratorWithThreadMode, IteratorMode, ReadOptions};

use super::{IndexFamily, Result, Store, StoreWriter, cf, corrupt, keys, right_state};
use crate::rights::RightState;
use crate::screening::marks::Snapshot;
use crate::screening::{self, FUZZY_MIN_CHARS, Half, MAX_BUCKET_READ, MAX_KEY_CHARS, ScreenIndex};

/// Rights per commit while building the index of an older store.
pub const BUILD_BATCH_RIGHTS: usize = 4096;

/// Up to this many `index_screen` keys (RocksDB's estimate), the in-memory mark set is built
/// while the store opens (a tenth of a second); above, by a background thread, and screening
/// reads the family directly until it is ready.
pub const SYNC_MARK_LOAD_KEYS: u64 = 100_000;

/// Index keys read per step of the background load; the store is not held between steps, so a
/// node that shuts down is not kept open by the load.
const MARK_LOAD_STEP: usize = 65_536;

/// Reads the screening index and rights for one screening job (one thread).
pub struct ScreenReader<'a> {
    store: &'a Store,
    iterator: DBRawIteratorWithThreadMode<'a, DB>,
    prefix: Vec<u8>,
    marks: Snapshot,
    /// The rights read so far, for the next listings of the same request: a word that is a
    /// mark (`gift`, `style`) comes back in listing after listing, and reading and decoding
    /// its rights was most of screening's CPU. At most [`MAX_READER_RIGHTS`] (then emptied).
    rights: HashMap<Box<str>, Option<Arc<RightState>>>,
}

/// Most rights a [`ScreenReader`] remembers (a few MiB).
pub const MAX_READER_RIGHTS: usize = 4096;

impl Store {
    /// A reader of the screening index. It sees the store as of its creation (an iterator's
    /// implicit snapshot) and the in-memory mark keys as of then, so one reader serves one
    /// request.
    pub fn screen_reader(&self) -> ScreenReader<'_> {
        let mut options = ReadOptions::default();
        options.set_prefix_same_as_start(true);
        options.fill_cache(true);
        ScreenReader {
            store: self,
            iterator: self
                .db
                .raw_iterator_cf_opt(self.cf(cf::INDEX_SCREEN), options),
            prefix: Vec::with_capacity(80),
            marks: self.marks.snapshot(),
            rights: HashMap::new(),
        }
    }

    /// Whether the in-memory mark set is built (screening is fast), and its bytes.
    pub fn screen_marks(&self) -> (bool, usize) {
        let snapshot = self.marks.snapshot();
        (snapshot.is_ready(), snapshot.memory_bytes())
    }

    /// Builds the in-memory mark set from `index_screen`: now for a small store, in the
    /// background for a large one ([`SYNC_MARK_LOAD_KEYS`]).
    pub(super) fn load_screen_marks(self: &Arc<Self>) -> Result<()> {
        let estimate = self
            .db
            .property_int_value_cf(self.cf(cf::INDEX_SCREEN), "rocksdb.estimate-num-keys")?
            .unwrap_or(0);
        if estimate <= SYNC_MARK_LOAD_KEYS {
            return self.load_screen_marks_now(MARK_LOAD_STEP);
        }
        let weak = Arc::downgrade(self);
        let spawned = std::thread::Builder::new()
            .name("screen-marks-load".to_owned())
            .spawn(move || load_in_background(&weak));
        if let Err(error) = spawned {
            tracing::warn!(%error, "no thread to load the screening marks: screening reads the index");
        }
        Ok(())
    }
}

impl Store {
    /// Builds the in-memory mark set on this thread, `step` index keys at a time.
    fn load_screen_marks_now(&self, step: usize) -> Result<()> {
        let mut builder = MarkLoad::new();
        while builder.step(self, step)? {}
        self.marks.install_base(builder.finish());
        Ok(())
    }
}

/// The background load: one step at a time, holding the store only during a step.
fn load_in_background(weak: &Weak<Store>) {
    let started = std::time::Instant::now();
    let mut builder = MarkLoad::new();
    loop {
        let Some(store) = weak.upgrade() else {
            return;
        };
        match builder.step(&store, MARK_LOAD_STEP) {
            Ok(true) => {}
            Ok(false) => {
                let keys = builder.finish();
                let count = keys.len();
                store.marks.install_base(keys);
                tracing::info!(
                    marks = count,
                    seconds = started.elapsed().as_secs_f64(),
                    "screening marks loaded"
                );
                return;
            }
            Err(error) => {
                tracing::warn!(%error, "loading the screening marks failed: screening reads the index");
                return;
            }
        }
    }
}

/// Reads the exact keys of `index_screen` in order into a transducer, one step at a time.
struct MarkLoad {
    builder: fst::SetBuilder<Vec<u8>>,
    /// The last index key read (the next step starts after it).
    last_index_key: Option<Vec<u8>>,
    last_mark: Vec<u8>,
}

impl MarkLoad {
    fn new() -> Self {
        Self {
            builder: fst::SetBuilder::memory(),
            last_index_key: None,
            last_mark: Vec::new(),
        }
    }

    /// Reads up to `limit` keys; whether there are more.
    fn step(&mut self, store: &Store, limit: usize) -> Result<bool> {
        let mut options = ReadOptions::default();
        options.set_total_order_seek(true);
        let mut iterator = store
            .db
            .raw_iterator_cf_opt(store.cf(cf::INDEX_SCREEN), options);
        match &self.last_index_key {
            Some(last) => {
                iterator.seek(last);
                if iterator.key() == Some(last.as_slice()) {
                    iterator.next();
                }
            }
            None => iterator.seek(keys::SCREEN_EXACT_START),
        }
        for _ in 0..limit {
            let Some(key) = iterator.key() else {
                iterator.status()?;
                return Ok(false);
            };
            let Some(mark) = keys::screen_exact_key(key) else {
                // Past the exact keys (the half keys sort after them).
                return Ok(false);
            };
            if mark.as_bytes() != self.last_mark.as_slice() {
                if self.builder.insert(mark).is_err() {
                    return Err(corrupt(cf::INDEX_SCREEN, "screening keys out of order"));
                }
                self.last_mark.clear();
                self.last_mark.extend_from_slice(mark.as_bytes());
            }
            self.last_index_key = Some(key.to_vec());
            iterator.next();
        }
        iterator.status()?;
        Ok(iterator.valid())
    }

    fn finish(self) -> crate::screening::marks::Keys {
        crate::screening::marks::Keys::new(self.builder.into_set())
    }
}

#[cfg(test)]
impl Store {
    /// Forgets the in-memory mark set (screening falls back to the half keys).
    pub(crate) fn forget_screen_marks(&self) {
        self.marks.clear();
    }

    /// Builds the in-memory mark set again, `step` index keys at a time, as the background
    /// load does.
    pub(crate) fn reload_screen_marks(&self, step: usize) -> Result<()> {
        self.marks.clear();
        self.load_screen_marks_now(step)
    }
}

impl ScreenReader<'_> {
    /// Calls `each` with the rest of every key under `self.prefix`, at most `limit` of them.
    fn scan(&mut self, limit: usize, each: &mut dyn FnMut(&[u8])) -> Result<()> {
        self.iterator.seek(&self.prefix);
        let mut read = 0;
        while self.iterator.valid() && read < limit {
            let Some(key) = self.iterator.key() else {
                break;
            };
            let Some(rest) = key.strip_prefix(self.prefix.as_slice()) else {
                break;
            };
            each(rest);
            read += 1;
            self.iterator.next();
        }
        self.iterator.status()?;
        Ok(())
    }

    /// The rights of one exact key, read from the family.
    fn rights_of(&mut self, key: &str, limit: usize, found: &mut dyn FnMut(&str)) -> Result<usize> {
        keys::screen_exact_prefix(key, &mut self.prefix);
        let mut bad = false;
        let mut count = 0;
        self.scan(limit, &mut |rest| match std::str::from_utf8(rest) {
            Ok(right_id) => {
                count += 1;
                found(right_id);
            }
            Err(_) => bad = true,
        })?;
        if bad {
            return Err(corrupt(cf::INDEX_SCREEN, "a right id that is not UTF-8"));
        }
        Ok(count)
    }

    /// One-edit candidates through the half keys: while the in-memory set is not ready.
    fn near_by_halves(&mut self, key: &str, found: &mut dyn FnMut(&str, &str)) -> Result<()> {
        let length = key.len();
        let mut read = 0;
        for mark_length in length.saturating_sub(1)..=length + 1 {
            if !(FUZZY_MIN_CHARS..=MAX_KEY_CHARS).contains(&mark_length) {
                continue;
            }
            let split = mark_length / 2;
            let suffix_length = mark_length - split;
            let mut probes: Vec<(Half, &str)> = Vec::with_capacity(2);
            if length >= split {
                probes.push((Half::Prefix, &key[..split]));
            }
            if length >= suffix_length {
                probes.push((Half::Suffix, &key[length - suffix_length..]));
            }
            for (side, half) in probes {
                keys::screen_half_prefix(side, mark_length, half, &mut self.prefix);
                let mut bad = false;
                self.scan(MAX_BUCKET_READ.saturating_sub(read), &mut |rest| {
                    read += 1;
                    let parsed = rest.iter().position(|&byte| byte == 0).and_then(|split| {
                        let mark = std::str::from_utf8(&rest[..split]).ok()?;
                        let right_id = std::str::from_utf8(&rest[split + 1..]).ok()?;
                        Some((mark, right_id))
                    });
                    match parsed {
                        Some((mark, right_id)) => {
                            if mark != key
                                && screening::normalize::within_one_edit(
                                    key.as_bytes(),
                                    mark.as_bytes(),
                                )
                            {
                                found(mark, right_id);
                            }
                        }
                        None => bad = true,
                    }
                })?;
                if bad {
                    return Err(corrupt(cf::INDEX_SCREEN, "a half key without mark key"));
                }
            }
        }
        Ok(())
    }
}

impl ScreenIndex for ScreenReader<'_> {
    fn exact(&mut self, key: &str, found: &mut dyn FnMut(&str)) -> Result<()> {
        if self.marks.is_ready() && !self.marks.contains(key) {
            return Ok(());
        }
        self.rights_of(key, usize::MAX, found)?;
        Ok(())
    }

    fn near(&mut self, key: &str, found: &mut dyn FnMut(&str, &str)) -> Result<()> {
        if !key.is_ascii() {
            return Ok(());
        }
        if !self.marks.is_ready() {
            return self.near_by_halves(key, found);
        }
        let marks = self.marks.near_marks(key);
        let mut read = 0;
        for mark in &marks {
            if read >= MAX_BUCKET_READ {
                break;
            }
            read += self.rights_of(mark, MAX_BUCKET_READ - read, &mut |right_id| {
                found(mark, right_id)
            })?;
        }
        Ok(())
    }

    fn right(&mut self, right_id: &str) -> Result<Option<Arc<RightState>>> {
        if let Some(known) = self.rights.get(right_id) {
            return Ok(known.clone());
        }
        let state = self.store.right(right_id)?.map(Arc::new);
        if self.rights.len() >= MAX_READER_RIGHTS {
            self.rights.clear();
        }
        self.rights.insert(right_id.into(), state.clone());
        Ok(state)
    }
}

impl StoreWriter {
    /// Writes the screening keys of every stored right, for a store written before the index
    /// existed (schema versions 1 and 2). Idempotent (keys are written, never read), committed
    /// every [`BUILD_BATCH_RIGHTS`] rights; returns how many rights it read.
    pub(super) fn build_screen_index(&self) -> Result<u64> {
        let mut count = 0u64;
        let mut batch = self.batch();
        let mut in_batch = 0;
        let mut index = keys::IndexKeys::default();
        for item in self
            .db
            .iterator_cf(self.cf(cf::RIGHTS), IteratorMode::Start)
        {
            let (_, value) = item?;
            let state = right_state::decode(&value)?;
            index.fill(&state);
            for (family, key) in index.iter() {
                if family == IndexFamily::Screen {
                    batch.put_index_key(family, key);
                }
            }
            count += 1;
            in_batch += 1;
            if in_batch == BUILD_BATCH_RIGHTS {
                self.commit(std::mem::replace(&mut batch, self.batch()), false)?;
                in_batch = 0;
            }
        }
        self.commit(batch, false)?;
        Ok(count)
    }
}
