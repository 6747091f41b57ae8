//! A search's total, counted within bounds: at most [`MAX_COUNT`] rights and
//! [`MAX_COUNT_SCAN`] index keys. Within them the count is exact; beyond, it is the rights
//! counted so far, labelled a lower bound.
//!
//! Keys are counted without reading rights when the driving index states every filter (a mark
//! alone, a holder alone, a class with or without a jurisdiction, a jurisdiction); otherwise
//! each candidate right is read and checked, within the same bounds.

use std::collections::HashSet;
use std::hash::{BuildHasher, RandomState};

use super::{
    MAX_COUNT, MAX_COUNT_SCAN, MAX_JOINED_WORDS, MAX_PREFIX_TOKENS, SearchQuery, Total, join,
};
use crate::storage::{IndexScan, StorageError, Store, keys};

/// Counts what a search finds, from its start.
pub(super) fn total(store: &Store, query: &SearchQuery) -> Result<Total, StorageError> {
    let mut tally = Tally {
        store,
        query,
        counted: 0,
        scanned: 0,
        complete: true,
    };
    match query.mark_tokens.split_last() {
        Some((last, whole)) if !query.exact && !whole.is_empty() => {
            tally.join(whole, last)?;
        }
        Some((last, _)) => {
            let scan = if query.exact {
                IndexScan::MarkExact(&query.mark_folded)
            } else {
                IndexScan::MarkTokenPrefix(last)
            };
            // A right is under one key per token that begins with the word: count ids once,
            // remembered by a 64-bit hash keyed per process (no allocation a key; two of at
            // most MAX_COUNT_SCAN ids collide with a chance of about 10⁻¹²).
            let hasher = RandomState::new();
            let mut seen: Option<HashSet<u64>> = (!query.exact).then(HashSet::new);
            let read = query.filters_beyond_mark();
            tally.scan(&scan, read, |id| {
                seen.as_mut()
                    .is_none_or(|seen| seen.insert(hasher.hash_one(id)))
            })?;
        }
        None => {
            let (scan, read) = query.unranked_scan();
            match scan {
                // Every index but the mark's holds one key a right.
                Some(scan) => tally.scan(&scan, read, |_| true)?,
                None => tally.rights()?,
            }
        }
    }
    Ok(Total {
        value: tally.counted,
        exact: tally.complete,
    })
}

struct Tally<'a> {
    store: &'a Store,
    query: &'a SearchQuery,
    counted: usize,
    scanned: usize,
    complete: bool,
}

impl Tally<'_> {
    /// Whether counting must stop (and the count is then a lower bound).
    fn bounded(&mut self) -> bool {
        if self.counted >= MAX_COUNT || self.scanned >= MAX_COUNT_SCAN {
            self.complete = false;
        }
        !self.complete
    }

    /// Counts the right `id` if it matches (read only when `read`).
    fn count(&mut self, id: &[u8], read: bool) -> Result<(), StorageError> {
        if read {
            let id = String::from_utf8_lossy(id);
            match self.store.right(&id)? {
                Some(right) if self.query.matches(&right) => {}
                _ => return Ok(()),
            }
        }
        self.counted += 1;
        Ok(())
    }

    /// Counts an index range, one key a right except where `first` says the right was met
    /// before.
    fn scan(
        &mut self,
        scan: &IndexScan<'_>,
        read: bool,
        mut first: impl FnMut(&[u8]) -> bool,
    ) -> Result<(), StorageError> {
        let store = self.store;
        store.scan_index(scan, &[], false, |key| {
            if self.bounded() {
                return Ok(false);
            }
            self.scanned += 1;
            let id = keys::tail(key);
            if first(id) {
                self.count(id, read)?;
            }
            Ok(true)
        })
    }

    /// Counts a several-word mark search: the join of the whole words and the tokens under
    /// the last, keys only unless a filter, a word beyond the join or a last word with too many
    /// tokens must be checked on the right.
    fn join(&mut self, whole: &[String], last: &str) -> Result<(), StorageError> {
        let mut words: Vec<&[u8]> = Vec::new();
        for word in whole {
            if !words.contains(&word.as_bytes()) {
                words.push(word.as_bytes());
            }
        }
        let beyond = words.len() > MAX_JOINED_WORDS;
        words.truncate(MAX_JOINED_WORDS);
        let union = self
            .store
            .mark_tokens_with_prefix(last, MAX_PREFIX_TOKENS)?;
        if union.as_ref().is_some_and(Vec::is_empty) {
            return Ok(());
        }
        let read = beyond || union.is_none() || self.query.filters_beyond_mark();
        let mut join = join::Join::new(self.store, &words, union.as_deref(), &[]);
        loop {
            if self.counted >= MAX_COUNT {
                self.complete = false;
                break;
            }
            match join.next(MAX_COUNT_SCAN)? {
                join::Step::Exhausted => break,
                join::Step::Paused => {
                    self.complete = false;
                    break;
                }
                join::Step::Match => {
                    let id = join.target().to_vec();
                    self.count(&id, read)?;
                    join.pass();
                }
            }
        }
        self.scanned += join.visited();
        Ok(())
    }

    /// Counts the rights table (no filter at all), keys only.
    fn rights(&mut self) -> Result<(), StorageError> {
        let room = MAX_COUNT.min(MAX_COUNT_SCAN);
        let counted = self.store.count_rights(room + 1)?;
        self.counted = counted.min(room);
        self.complete = counted <= room;
        Ok(())
    }
}
