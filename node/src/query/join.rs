//! The join of a multi-word mark search: a leapfrog merge-join over the words' index ranges.
//!
//! Every whole word's range in `index_mark` is ordered by right id, and so is the union of the
//! ranges of the tokens under the last word (merged here). The join keeps a *target* id: each
//! input moves to its first id at or after the target (a few steps, else a seek); an input
//! that lands further moves the target there; when every input is on the target, that right
//! is under every word. Keys are read, never rights, and an input skips by a seek whatever
//! lies between two targets, so two common words that seldom meet cost about the keys of the
//! rarer one, and two ranges of very different sizes cost about the smaller one's seeks.
//!
//! Every id before the target is decided (in the join or not), so the target is a complete
//! position: a paused join resumes from it.

use crate::storage::{StorageError, Store, TokenRange};

/// One input of the join.
enum Input<'a> {
    /// A whole word's range.
    Word(TokenRange<'a>),
    /// The ranges of the tokens under the last word, merged (a right under two of them is
    /// met once).
    Union(Vec<TokenRange<'a>>),
}

impl Input<'_> {
    /// Moves to the first id at or after `target`; false when the input has none.
    fn seek(&mut self, target: &[u8], found: &mut Vec<u8>) -> Result<bool, StorageError> {
        match self {
            Input::Word(range) => Ok(match range.seek(target)? {
                Some(id) => {
                    found.clear();
                    found.extend_from_slice(id);
                    true
                }
                None => false,
            }),
            Input::Union(ranges) => {
                let mut any = false;
                for range in ranges.iter_mut() {
                    if let Some(id) = range.seek(target)? {
                        if !any || id < found.as_slice() {
                            found.clear();
                            found.extend_from_slice(id);
                        }
                        any = true;
                    }
                }
                Ok(any)
            }
        }
    }

    fn visited(&self) -> usize {
        match self {
            Input::Word(range) => range.visited(),
            Input::Union(ranges) => ranges.iter().map(TokenRange::visited).sum(),
        }
    }
}

/// What [`Join::next`] came to.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// The target is under every word: the id of a right to read.
    Match,
    /// The budget of keys ran out; the target is where to resume.
    Paused,
    /// No id at or after the target is under every word.
    Exhausted,
}

/// A leapfrog join over whole words and, optionally, the tokens under a last word.
pub struct Join<'a> {
    inputs: Vec<Input<'a>>,
    target: Vec<u8>,
    found: Vec<u8>,
}

impl<'a> Join<'a> {
    /// A join of the ranges of `words` (whole tokens) and of the union of `union` (the tokens
    /// under the last word; none: no such input), starting at the right id `from`.
    pub fn new(store: &'a Store, words: &[&[u8]], union: Option<&[Vec<u8>]>, from: &[u8]) -> Self {
        let mut inputs: Vec<Input<'a>> = words
            .iter()
            .map(|word| Input::Word(store.token_range(word)))
            .collect();
        if let Some(tokens) = union {
            let mut ranges: Vec<TokenRange<'a>> = tokens
                .iter()
                .map(|token| store.token_range(token))
                .collect();
            inputs.push(if ranges.len() == 1 {
                Input::Word(ranges.remove(0))
            } else {
                Input::Union(ranges)
            });
        }
        Self {
            inputs,
            target: from.to_vec(),
            found: Vec::new(),
        }
    }

    /// Where the join stands: every id before it is decided.
    pub fn target(&self) -> &[u8] {
        &self.target
    }

    /// Keys visited so far by every input.
    pub fn visited(&self) -> usize {
        self.inputs.iter().map(Input::visited).sum()
    }

    /// Moves the target to the next id under every input (at or after the target). Pauses once
    /// more than `budget` keys have been visited in all, but only after a round that moved the
    /// target, so that every call makes progress.
    pub fn next(&mut self, budget: usize) -> Result<Step, StorageError> {
        if self.inputs.is_empty() {
            return Ok(Step::Exhausted);
        }
        loop {
            let mut agreed = true;
            for input in &mut self.inputs {
                if !input.seek(&self.target, &mut self.found)? {
                    return Ok(Step::Exhausted);
                }
                if self.found != self.target {
                    // Ids only grow: the input landed after the target.
                    std::mem::swap(&mut self.target, &mut self.found);
                    agreed = false;
                }
            }
            if agreed {
                return Ok(Step::Match);
            }
            if self.visited() > budget {
                return Ok(Step::Paused);
            }
        }
    }

    /// Moves the target just past the current one (after a match was taken).
    pub fn pass(&mut self) {
        // Right ids never hold a 0 byte, so id ‖ 0 is the first id after id.
        self.target.push(0);
    }
}
