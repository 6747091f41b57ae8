//! A mark search, ranked: the exact tier, then the words tier, then the prefix tier
//! ([`MarkMatch`]), each paged through in its own order.
//!
//! | tier | one word `w` | several words `a … z` |
//! |---|---|---|
//! | exact | the range of the folded query in the exact-mark index | the same |
//! | words | the range of the token `w` | the join of `a` … `z`, all whole |
//! | prefix | the ranges of the tokens longer than `w` that begin with it, in token order | the join of `a` … and the tokens longer than `z` that begin with it |
//!
//! A right can be met in a tier it is not in (an exact mark is also under its words; a right
//! with `nike` and `nikeland` is under the token `nikeland` of the prefix tier of `nike`), so
//! each right read is kept only in its own tier ([`SearchQuery::tier_of`]): every right found
//! once, in its best tier. Every right is read only once it is under every word.

use super::{
    Cursor, Hit, MAX_JOINED_WORDS, MAX_PREFIX_TOKENS, MarkMatch, SearchPage, SearchQuery,
    first_under_prefix,
    join::{Join, Step},
};
use crate::storage::{IndexScan, StorageError, Store, keys};

/// The page being filled, and what it may still spend.
struct Fill<'q> {
    query: &'q SearchQuery,
    hits: Vec<Hit>,
    scanned: usize,
    budget: usize,
}

impl Fill<'_> {
    fn full(&self) -> bool {
        self.hits.len() >= self.query.limit
    }

    /// Keeps a right met in `tier` if that is its tier and the other filters hold.
    fn offer(
        &mut self,
        store: &Store,
        right_id: &[u8],
        tier: MarkMatch,
    ) -> Result<(), StorageError> {
        let right_id = String::from_utf8_lossy(right_id);
        if let Some(right) = store.right(&right_id)? {
            if self.query.tier_of(right.mark_text.as_deref()) == Some(tier)
                && self.query.filters_match(&right)
            {
                self.hits.push(Hit {
                    right,
                    matched: Some(tier),
                });
            }
        }
        Ok(())
    }
}

/// Runs a mark search from its cursor.
pub(super) fn search(
    store: &Store,
    query: &SearchQuery,
    budget: usize,
) -> Result<SearchPage, StorageError> {
    let (first, mut position) = match &query.cursor {
        Some(Cursor::Tier(tier, position)) => (*tier, position.clone()),
        _ => (MarkMatch::Exact, Vec::new()),
    };
    let mut fill = Fill {
        query,
        hits: Vec::new(),
        scanned: 0,
        budget,
    };
    let mut next_cursor = None;
    for tier in MarkMatch::ALL {
        if tier < first || (query.exact && tier != MarkMatch::Exact) {
            continue;
        }
        let from = std::mem::take(&mut position);
        if let Some(stop) = run_tier(store, &mut fill, tier, &from)? {
            let mut cursor = vec![tier.tag()];
            cursor.extend_from_slice(&stop);
            next_cursor = Some(hex::encode(cursor));
            break;
        }
    }
    Ok(SearchPage {
        rights: fill.hits,
        next_cursor,
        total: None,
    })
}

/// Fills the page from one tier, starting at `from` (empty: the tier's start). Returns where
/// the next page starts when the page filled up or the budget ran out before the tier ended.
fn run_tier(
    store: &Store,
    fill: &mut Fill<'_>,
    tier: MarkMatch,
    from: &[u8],
) -> Result<Option<Vec<u8>>, StorageError> {
    let query = fill.query;
    let Some((last, whole)) = query.mark_tokens.split_last() else {
        return Ok(None);
    };
    match tier {
        MarkMatch::Exact => scan_tier(
            store,
            fill,
            tier,
            &IndexScan::MarkExact(&query.mark_folded),
            None,
            from,
        ),
        MarkMatch::Words if whole.is_empty() => {
            scan_tier(store, fill, tier, &IndexScan::MarkToken(last), None, from)
        }
        MarkMatch::Prefix if whole.is_empty() => {
            // After the whole token's keys: the longer tokens.
            let from = if from.is_empty() {
                keys::after_mark_token(last.as_bytes())
            } else {
                from.to_vec()
            };
            scan_tier(
                store,
                fill,
                tier,
                &IndexScan::MarkTokenPrefix(last),
                Some(last),
                &from,
            )
        }
        MarkMatch::Words => {
            let words = joined(query.mark_tokens.iter());
            join_tier(store, fill, tier, &words, None, from)
        }
        MarkMatch::Prefix => {
            let words = joined(whole.iter());
            match store.mark_tokens_with_prefix(last, MAX_PREFIX_TOKENS)? {
                Some(mut tokens) => {
                    tokens.retain(|token| token.as_slice() != last.as_bytes());
                    if tokens.is_empty() {
                        // No mark has a longer token that begins with the last word.
                        return Ok(None);
                    }
                    join_tier(store, fill, tier, &words, Some(&tokens), from)
                }
                // Too many: the last word is checked on each right the others' join finds.
                None => join_tier(store, fill, tier, &words, None, from),
            }
        }
    }
}

/// The distinct words a join takes as whole-word inputs (at most [`MAX_JOINED_WORDS`]; the
/// others are checked on each right it finds).
fn joined<'a>(words: impl Iterator<Item = &'a String>) -> Vec<&'a [u8]> {
    let mut joined: Vec<&[u8]> = Vec::new();
    for word in words {
        if !joined.contains(&word.as_bytes()) && joined.len() < MAX_JOINED_WORDS {
            joined.push(word.as_bytes());
        }
    }
    joined
}

/// A tier that is one index range. `from` is the last key of the previous page (resumed after),
/// or where the range starts; `prefix` is the word of a prefix range (a right is under one key
/// per token that begins with it, and is considered under the first).
fn scan_tier(
    store: &Store,
    fill: &mut Fill<'_>,
    tier: MarkMatch,
    scan: &IndexScan<'_>,
    prefix: Option<&str>,
    from: &[u8],
) -> Result<Option<Vec<u8>>, StorageError> {
    // A key of the previous page is resumed after (a range start is no key: a key holds a
    // separator, `keys::after_mark_token` does not).
    let after = !from.is_empty();
    let mut last: Option<Vec<u8>> = None;
    let mut stopped = false;
    store.scan_index(scan, from, after, |key| {
        if fill.full() || fill.scanned >= fill.budget {
            stopped = true;
            return Ok(false);
        }
        fill.scanned += 1;
        last = Some(key.to_vec());
        let right_id = keys::tail(key);
        match prefix {
            Some(prefix) => {
                let id = String::from_utf8_lossy(right_id);
                if let Some(right) = store.right(&id)? {
                    if first_under_prefix(&right, prefix, key)
                        && fill.query.tier_of(right.mark_text.as_deref()) == Some(tier)
                        && fill.query.filters_match(&right)
                    {
                        fill.hits.push(Hit {
                            right,
                            matched: Some(tier),
                        });
                    }
                }
            }
            None => fill.offer(store, right_id, tier)?,
        }
        Ok(true)
    })?;
    // Stopped before a key of this tier: the next page starts the tier again.
    Ok(stopped.then(|| last.unwrap_or_else(|| from.to_vec())))
}

/// A tier that is a join of whole words and, optionally, the union of `union`'s tokens. `from`
/// is the right id where the previous page stopped (that id included).
fn join_tier(
    store: &Store,
    fill: &mut Fill<'_>,
    tier: MarkMatch,
    words: &[&[u8]],
    union: Option<&[Vec<u8>]>,
    from: &[u8],
) -> Result<Option<Vec<u8>>, StorageError> {
    let mut join = Join::new(store, words, union, from);
    let budget = fill.budget.saturating_sub(fill.scanned);
    let stop = loop {
        match join.next(budget)? {
            Step::Exhausted => break None,
            Step::Paused => break Some(join.target().to_vec()),
            Step::Match if fill.full() => break Some(join.target().to_vec()),
            Step::Match => {
                fill.offer(store, join.target(), tier)?;
                join.pass();
            }
        }
    };
    fill.scanned += join.visited();
    Ok(stop)
}
