//! Read-side queries over the store: rights search with paging, and the JSON views of rights.
//!
//! A search is driven by one index (the most selective filter given: mark, then holder, then
//! class/jurisdiction, else the rights table itself) and the other filters are checked on each
//! candidate's state. Every request scans at most [`MAX_SCAN`] index keys; when that budget runs
//! out the page is returned short, with a cursor to continue.
//!
//! A mark of several words is a leapfrog merge-join (`query/join.rs`) of its words' ranges in
//! the mark index (each ordered by right id; the last word's range is the union of the tokens
//! it begins), reading keys only: a right is read from the rights family only when it is under
//! every word. The cursor of such a search is the join's position.

use proto_types::body::{Jurisdiction, NiceClass};
use proto_types::keys::PublicKey;
use proto_types::timestamp::Date;
use serde_json::{Value, json};

use crate::rights::RightState;
use crate::storage::{IndexScan, StorageError, Store, keys};
use crate::text;

mod join;

/// Most index keys examined to answer one search request.
pub const MAX_SCAN: usize = 20_000;
/// Longest search text accepted.
pub const MAX_QUERY_CHARS: usize = 200;
/// Most distinct tokens under the last word of a multi-word mark search joined as one range;
/// beyond, the last word is checked on each right the other words' join finds.
pub const MAX_PREFIX_TOKENS: usize = 64;
/// Most whole words of a multi-word mark joined (the others are checked on each right the
/// join finds).
pub const MAX_JOINED_WORDS: usize = 8;

#[derive(Debug, Clone)]
enum HolderFilter {
    Key(PublicKey),
    Name(String),
}

/// A validated search.
#[derive(Debug, Clone)]
pub struct SearchQuery {
    mark_tokens: Vec<String>,
    mark_folded: String,
    exact: bool,
    class: Option<u8>,
    jurisdiction: Option<Jurisdiction>,
    holder: Option<HolderFilter>,
    limit: usize,
    cursor: Option<Vec<u8>>,
}

/// One page of results.
#[derive(Debug, Default)]
pub struct SearchPage {
    /// The rights found.
    pub rights: Vec<RightState>,
    /// Where the next page starts; none when the scan is complete.
    pub next_cursor: Option<String>,
}

impl SearchQuery {
    /// Validates search parameters.
    pub fn new(
        mark: Option<&str>,
        exact: bool,
        class: Option<u8>,
        jurisdiction: Option<&str>,
        holder: Option<&str>,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<Self, String> {
        for (name, value) in [("mark", mark), ("holder", holder)] {
            if value.is_some_and(|value| value.chars().count() > MAX_QUERY_CHARS) {
                return Err(format!("{name} longer than {MAX_QUERY_CHARS} characters"));
            }
        }
        let mark_folded = mark.map(text::fold).unwrap_or_default();
        let mark_tokens = mark.map(text::tokens).unwrap_or_default();
        if mark.is_some() && mark_tokens.is_empty() {
            return Err("mark has no letters or digits".to_owned());
        }
        if let Some(class) = class {
            NiceClass::new(class).map_err(|error| error.to_string())?;
        }
        let jurisdiction = jurisdiction
            .map(|code| Jurisdiction::parse(code).map_err(|error| error.to_string()))
            .transpose()?;
        let holder = holder.map(|holder| {
            if holder.starts_with("did:") {
                PublicKey::from_did_key(holder)
                    .map(HolderFilter::Key)
                    .map_err(|error| format!("holder: {error}"))
            } else {
                let name = text::fold(holder);
                if name.is_empty() {
                    Err("holder has no letters or digits".to_owned())
                } else {
                    Ok(HolderFilter::Name(name))
                }
            }
        });
        let holder = holder.transpose()?;
        let cursor = cursor
            .map(|cursor| {
                hex::decode(cursor).map_err(|_| "cursor is not one this node issued".to_owned())
            })
            .transpose()?;
        Ok(Self {
            mark_tokens,
            mark_folded,
            exact,
            class,
            jurisdiction,
            holder,
            limit,
            cursor,
        })
    }

    /// Whether a right satisfies every filter.
    fn matches(&self, right: &RightState) -> bool {
        if !self.mark_tokens.is_empty() {
            let Some(mark) = &right.mark_text else {
                return false;
            };
            if self.exact {
                if text::fold(mark) != self.mark_folded {
                    return false;
                }
            } else {
                let tokens = text::tokens(mark);
                let (last, whole) = match self.mark_tokens.split_last() {
                    Some(split) => split,
                    None => return false,
                };
                if !whole.iter().all(|token| tokens.contains(token))
                    || !tokens.iter().any(|token| token.starts_with(last.as_str()))
                {
                    return false;
                }
            }
        }
        if let Some(class) = self.class {
            if !right.nice_classes.contains(&class) {
                return false;
            }
        }
        if let Some(jurisdiction) = &self.jurisdiction {
            if &right.jurisdiction != jurisdiction {
                return false;
            }
        }
        match &self.holder {
            Some(HolderFilter::Key(key)) => right.holder.key.as_ref() == Some(key),
            Some(HolderFilter::Name(name)) => {
                text::fold(&right.holder.name).starts_with(name.as_str())
            }
            None => true,
        }
    }
}

/// Whether a right is the one occurrence to count of a prefix range: a right appears once per
/// token with the prefix, and counts under the first of them.
fn first_under_prefix(right: &RightState, prefix: &str, key: &[u8]) -> bool {
    let first = right
        .mark_text
        .as_deref()
        .map(text::tokens)
        .unwrap_or_default()
        .into_iter()
        .find(|token| token.starts_with(prefix));
    first.as_deref().map(str::as_bytes) == Some(keys::indexed_value(key))
}

/// Runs a search.
pub fn search(store: &Store, query: &SearchQuery) -> Result<SearchPage, StorageError> {
    search_within(store, query, MAX_SCAN)
}

/// Runs a search that examines about `budget` index keys at most.
fn search_within(
    store: &Store,
    query: &SearchQuery,
    budget: usize,
) -> Result<SearchPage, StorageError> {
    if !query.exact && query.mark_tokens.len() > 1 {
        return search_words(store, query, budget);
    }
    // Pick the driving index: the key prefix to scan, and how to tell from a key whether this is
    // the one occurrence of the right to consider (a right appears under several tokens).
    let scan: Option<IndexScan<'_>> = if let Some(first) = query.mark_tokens.first() {
        Some(if query.exact {
            IndexScan::MarkExact(&query.mark_folded)
        } else {
            IndexScan::MarkTokenPrefix(first)
        })
    } else if let Some(holder) = &query.holder {
        Some(match holder {
            HolderFilter::Key(key) => IndexScan::HolderKey(key),
            HolderFilter::Name(name) => IndexScan::HolderNamePrefix(name),
        })
    } else if let Some(class) = query.class {
        Some(IndexScan::Class {
            class,
            jurisdiction: query.jurisdiction.as_ref().map(|code| code.as_str()),
        })
    } else {
        query
            .jurisdiction
            .as_ref()
            .map(|code| IndexScan::Jurisdiction(code.as_str()))
    };

    let mut rights: Vec<RightState> = Vec::new();
    let mut last_key: Option<Vec<u8>> = None;
    let mut exhausted = true;
    let mut scanned = 0usize;
    let start = query.cursor.clone().unwrap_or_default();
    match scan {
        Some(scan) => {
            let prefix = match scan {
                IndexScan::MarkTokenPrefix(prefix) => Some(prefix),
                _ => None,
            };
            store.scan_index(&scan, &start, query.cursor.is_some(), |key| {
                scanned += 1;
                if rights.len() >= query.limit || scanned > budget {
                    exhausted = false;
                    return Ok(false);
                }
                last_key = Some(key.to_vec());
                let right_id = String::from_utf8_lossy(keys::tail(key)).into_owned();
                let Some(right) = store.right(&right_id)? else {
                    return Ok(true);
                };
                // Count a right once: under the first of its tokens that has the prefix.
                if prefix.is_some_and(|prefix| !first_under_prefix(&right, prefix, key)) {
                    return Ok(true);
                }
                if query.matches(&right) {
                    rights.push(right);
                }
                Ok(true)
            })?;
        }
        None => {
            store.scan_rights(&start, |key, right| {
                scanned += 1;
                if rights.len() >= query.limit || scanned > budget {
                    exhausted = false;
                    return Ok(false);
                }
                last_key = Some(key.to_vec());
                if query.matches(&right) {
                    rights.push(right);
                }
                Ok(true)
            })?;
        }
    }
    let next_cursor = if exhausted {
        None
    } else {
        last_key.map(hex::encode)
    };
    Ok(SearchPage {
        rights,
        next_cursor,
    })
}

/// A mark of several words: the join of its words' ranges ([`join`]). Words beyond
/// [`MAX_JOINED_WORDS`], and a last word that begins more than [`MAX_PREFIX_TOKENS`] tokens,
/// are checked on each right the join finds. The cursor is a mark index key whose right id is
/// the join's position, from which the next page starts (that id included).
fn search_words(
    store: &Store,
    query: &SearchQuery,
    budget: usize,
) -> Result<SearchPage, StorageError> {
    let Some((last, whole)) = query.mark_tokens.split_last() else {
        return Ok(SearchPage::default());
    };
    let mut words: Vec<&[u8]> = Vec::new();
    for word in whole {
        if !words.contains(&word.as_bytes()) && words.len() < MAX_JOINED_WORDS {
            words.push(word.as_bytes());
        }
    }
    let union = store.mark_tokens_with_prefix(last, MAX_PREFIX_TOKENS)?;
    if union.as_ref().is_some_and(Vec::is_empty) {
        // No mark has a token that begins with the last word.
        return Ok(SearchPage::default());
    }
    let from = query.cursor.as_deref().map(keys::tail).unwrap_or_default();
    let mut join = join::Join::new(store, &words, union.as_deref(), from);
    let mut rights: Vec<RightState> = Vec::new();
    let next = loop {
        match join.next(budget)? {
            join::Step::Exhausted => break None,
            join::Step::Paused => break Some(join.target().to_vec()),
            join::Step::Match if rights.len() >= query.limit => {
                break Some(join.target().to_vec());
            }
            join::Step::Match => {
                let right_id = String::from_utf8_lossy(join.target()).into_owned();
                if let Some(right) = store.right(&right_id)? {
                    if query.matches(&right) {
                        rights.push(right);
                    }
                }
                join.pass();
            }
        }
    };
    // The cursor names the first word, so that a cursor reads as a key of the mark index.
    let first = words.first().copied().unwrap_or_default();
    let next_cursor = next.map(|id| hex::encode(keys::mark_token_entry(first, &id)));
    Ok(SearchPage {
        rights,
        next_cursor,
    })
}

/// A right in search results.
pub fn right_summary(right: &RightState, today: &Date) -> Value {
    json!({
        "right_id": right.right_id,
        "right_type": right.right_type,
        "jurisdiction": right.jurisdiction,
        "number": right.number,
        "mark_text": right.mark_text,
        "title": right.title,
        "nice_classes": right.nice_classes,
        "holder": right.holder,
        "status": right.status,
        "expiry_date": right.expiry_date,
        "liveness": right.liveness(today),
    })
}

/// A right with its full state, liveness and history.
pub fn right_json(right: &RightState, today: &Date) -> Value {
    let mut value = serde_json::to_value(right).unwrap_or(Value::Null);
    if let Value::Object(object) = &mut value {
        object.insert(
            "liveness".to_owned(),
            serde_json::to_value(right.liveness(today)).unwrap_or(Value::Null),
        );
        object.insert(
            "registered_by".to_owned(),
            Value::from(right.registered_by.to_did_key()),
        );
        object.insert("as_of".to_owned(), Value::from(today.as_str()));
    }
    value
}

#[cfg(test)]
mod tests;
