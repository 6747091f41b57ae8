//! A cursor over the keys of one whole mark token in `index_mark` (`t` ‖ token ‖ 0 ‖ right
//! id), in right-id order: what a multi-word search joins ([`crate::query`]). It moves forward
//! only, by steps or by seeks, and counts the keys it visits so that a caller can bound the work
//! of one request.

use rocksdb::{DB, DBRawIteratorWithThreadMode, ReadOptions};

use super::{IndexFamily, Result, Store, keys};

/// Next-steps tried before a seek when the cursor is behind its target: a seek costs a binary
/// search in every level's index, a step within a block is a few comparisons, and the ranges a
/// join meets are interleaved finely when they are of similar size.
const STEPS_BEFORE_SEEK: usize = 4;

/// The keys of one whole token, ordered by right id.
pub struct TokenRange<'a> {
    iterator: DBRawIteratorWithThreadMode<'a, DB>,
    /// `t` ‖ token ‖ 0: every key of the range begins with it.
    prefix: Vec<u8>,
    /// Reused for seek keys.
    seek_key: Vec<u8>,
    started: bool,
    visited: usize,
}

impl Store {
    /// A cursor over the mark index keys of the whole token `token`, not yet positioned.
    pub fn token_range(&self, token: &[u8]) -> TokenRange<'_> {
        let mut options = ReadOptions::default();
        options.set_iterate_upper_bound(keys::after_mark_token(token));
        let iterator = self
            .db
            .raw_iterator_cf_opt(self.cf(IndexFamily::Mark.name()), options);
        let prefix = keys::mark_token_entry(token, &[]);
        TokenRange {
            iterator,
            seek_key: prefix.clone(),
            prefix,
            started: false,
            visited: 0,
        }
    }
}

impl TokenRange<'_> {
    /// The right id the cursor is on; none before the first move or once past the range.
    pub fn current(&self) -> Option<&[u8]> {
        if !self.started {
            return None;
        }
        self.iterator
            .key()
            .filter(|key| key.starts_with(&self.prefix))
            .map(|key| &key[self.prefix.len()..])
    }

    /// Keys visited so far (each step and each seek counts one).
    pub fn visited(&self) -> usize {
        self.visited
    }

    /// Moves to the first key of the range whose right id is `target` or after it, and
    /// returns that id (none when the range has no such key). A cursor already there does not
    /// move: ids only grow.
    pub fn seek(&mut self, target: &[u8]) -> Result<Option<&[u8]>> {
        if self.started {
            let mut steps = 0;
            loop {
                match self.current() {
                    None => return Ok(None),
                    Some(id) if id >= target => return self.position(),
                    Some(_) if steps < STEPS_BEFORE_SEEK => {
                        self.iterator.next();
                        self.visited += 1;
                        steps += 1;
                    }
                    Some(_) => break,
                }
            }
        }
        self.seek_key.truncate(self.prefix.len());
        self.seek_key.extend_from_slice(target);
        self.iterator.seek(&self.seek_key);
        self.started = true;
        self.visited += 1;
        self.position()
    }

    /// Moves to the next key of the range and returns its right id.
    pub fn step(&mut self) -> Result<Option<&[u8]>> {
        if !self.started {
            return self.seek(&[]);
        }
        if self.current().is_some() {
            self.iterator.next();
            self.visited += 1;
        }
        self.position()
    }

    fn position(&self) -> Result<Option<&[u8]>> {
        self.iterator.status()?;
        Ok(self.current())
    }
}
