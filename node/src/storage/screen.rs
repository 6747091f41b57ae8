//! The screening index (`index_screen`, issue 16): reading it for
//! [`crate::screening::Screener`], and building it for a store written before it existed.
//!
//! The writer keeps the index: a right's screening keys are among its index keys
//! ([`super::keys`]), moved in the same batch as the right whenever its mark changes. Reads seek
//! one iterator from prefix to prefix; the family has a prefix extractor (up to the first
//! separator, [`super::keys`]) and prefix bloom filters, so a prefix that no mark has is
//! refused by the filters without reading a data block — most of a listing's windows are such.

use rocksdb::{DB, DBRawIteratorWithThreadMode, IteratorMode, ReadOptions};

use super::{IndexFamily, Result, Store, StoreWriter, cf, corrupt, keys, right_state};
use crate::rights::RightState;
use crate::screening::{Half, ScreenIndex};

/// Rights per commit while building the index of an older store.
pub const BUILD_BATCH_RIGHTS: usize = 4096;

/// Reads the screening index and rights for one screening job (one thread).
pub struct ScreenReader<'a> {
    store: &'a Store,
    iterator: DBRawIteratorWithThreadMode<'a, DB>,
    prefix: Vec<u8>,
}

impl Store {
    /// A reader of the screening index. It sees the store as of its creation (an iterator's
    /// implicit snapshot), so one reader serves one request.
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
        }
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
}

impl ScreenIndex for ScreenReader<'_> {
    fn exact(&mut self, key: &str, found: &mut dyn FnMut(&str)) -> Result<()> {
        keys::screen_exact_prefix(key, &mut self.prefix);
        let mut bad = false;
        self.scan(usize::MAX, &mut |rest| match std::str::from_utf8(rest) {
            Ok(right_id) => found(right_id),
            Err(_) => bad = true,
        })?;
        if bad {
            return Err(corrupt(cf::INDEX_SCREEN, "a right id that is not UTF-8"));
        }
        Ok(())
    }

    fn half(
        &mut self,
        side: Half,
        length: usize,
        text: &str,
        limit: usize,
        found: &mut dyn FnMut(&str, &str),
    ) -> Result<()> {
        keys::screen_half_prefix(side, length, text, &mut self.prefix);
        let mut bad = false;
        self.scan(limit, &mut |rest| {
            let parsed = rest.iter().position(|&byte| byte == 0).and_then(|split| {
                let key = std::str::from_utf8(&rest[..split]).ok()?;
                let right_id = std::str::from_utf8(&rest[split + 1..]).ok()?;
                Some((key, right_id))
            });
            match parsed {
                Some((key, right_id)) => found(key, right_id),
                None => bad = true,
            }
        })?;
        if bad {
            return Err(corrupt(cf::INDEX_SCREEN, "a half key without mark key"));
        }
        Ok(())
    }

    fn right(&mut self, right_id: &str) -> Result<Option<RightState>> {
        self.store.right(right_id)
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
