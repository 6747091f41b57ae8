//! Read-side queries over the store: rights search with ranking, paging and bounded totals,
//! and the JSON views of rights.
//!
//! A search is driven by one index (the most selective filter given: mark, then holder, then
//! class/jurisdiction, else the rights table itself) and the other filters are checked on each
//! candidate's state. Every request scans at most [`MAX_SCAN`] index keys; when that budget runs
//! out the page is returned short, with a cursor to continue.
//!
//! A mark search is ranked (`query/ranked.rs`): rights whose whole mark is the query come first,
//! then those with every word of the query as a whole word, then those whose last word only
//! begins one of their words. Each tier is a range of the mark index (one word) or a leapfrog
//! merge-join of the words' ranges (`query/join.rs`, several words, keys only: a right is read
//! only when under every word). The cursor of a mark search names the tier and where in it the
//! next page starts. The first page of every search carries a total counted up to [`MAX_COUNT`]
//! rights and [`MAX_COUNT_SCAN`] keys (`query/count.rs`), labelled exact or a lower bound.

use proto_types::body::{Jurisdiction, NiceClass};
use proto_types::keys::PublicKey;
use proto_types::timestamp::Date;
use serde::Serialize;
use serde_json::{Value, json};

use crate::rights::RightState;
use crate::storage::{IndexScan, StorageError, Store, keys};
use crate::text;

mod count;
mod join;
mod ranked;

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
/// Most rights a search's total counts; beyond, the total is a lower bound.
pub const MAX_COUNT: usize = 500;
/// Most index keys examined to count a search's total; beyond, the total is a lower bound.
pub const MAX_COUNT_SCAN: usize = 5_000;

#[derive(Debug, Clone)]
enum HolderFilter {
    Key(PublicKey),
    Name(String),
}

/// How a right matched a mark search: the ranking tiers, best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MarkMatch {
    /// The whole folded mark is the folded query.
    Exact,
    /// Every word of the query is a whole word of the mark.
    Words,
    /// Every word but the last is a whole word of the mark, and the last begins one.
    Prefix,
}

impl MarkMatch {
    /// Every tier, in ranking order.
    const ALL: [MarkMatch; 3] = [MarkMatch::Exact, MarkMatch::Words, MarkMatch::Prefix];

    /// The tier's byte in a cursor.
    fn tag(self) -> u8 {
        match self {
            MarkMatch::Exact => b'E',
            MarkMatch::Words => b'W',
            MarkMatch::Prefix => b'P',
        }
    }

    fn from_tag(tag: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|tier| tier.tag() == tag)
    }
}

/// Where the previous page of a search stopped.
#[derive(Debug, Clone)]
enum Cursor {
    /// A search without a mark: the last key its index (or the rights table) gave.
    Key(Vec<u8>),
    /// A mark search: the tier, and the position in it (a key for a range, a right id for a
    /// join; empty: the tier's start).
    Tier(MarkMatch, Vec<u8>),
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
    cursor: Option<Cursor>,
}

/// A right found by a search.
#[derive(Debug)]
pub struct Hit {
    /// The right.
    pub right: RightState,
    /// How its mark matched, for a mark search.
    pub matched: Option<MarkMatch>,
}

/// How many rights a search finds, counted within bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Total {
    /// The rights counted.
    pub value: usize,
    /// True when `value` is every right the search finds; false when counting stopped at
    /// [`MAX_COUNT`] rights or [`MAX_COUNT_SCAN`] keys and `value` is a lower bound.
    pub exact: bool,
}

impl Total {
    /// `{"value": n, "relation": "eq" | "gte"}`.
    pub fn to_json(self) -> Value {
        json!({
            "value": self.value,
            "relation": if self.exact { "eq" } else { "gte" },
        })
    }
}

/// One page of results.
#[derive(Debug, Default)]
pub struct SearchPage {
    /// The rights found, best first for a mark search.
    pub rights: Vec<Hit>,
    /// Where the next page starts; none when the search is complete.
    pub next_cursor: Option<String>,
    /// The search's total, on its first page (no cursor given).
    pub total: Option<Total>,
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
        let not_issued = || "cursor is not one this node issued".to_owned();
        // An empty cursor is the first page.
        let cursor = match cursor.filter(|cursor| !cursor.is_empty()) {
            None => None,
            Some(cursor) => {
                let bytes = hex::decode(cursor).map_err(|_| not_issued())?;
                if mark.is_some() {
                    let (tag, position) = bytes.split_first().ok_or_else(not_issued)?;
                    let tier = MarkMatch::from_tag(*tag)
                        .filter(|tier| !exact || *tier == MarkMatch::Exact)
                        .ok_or_else(not_issued)?;
                    Some(Cursor::Tier(tier, position.to_vec()))
                } else {
                    Some(Cursor::Key(bytes))
                }
            }
        };
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

    /// The tier a mark is in for this search (a mark search), none when it does not match.
    fn tier_of(&self, mark: Option<&str>) -> Option<MarkMatch> {
        let mark = mark?;
        if text::fold(mark) == self.mark_folded {
            return Some(MarkMatch::Exact);
        }
        if self.exact {
            return None;
        }
        let (last, whole) = self.mark_tokens.split_last()?;
        let tokens = text::tokens(mark);
        if !whole.iter().all(|word| tokens.contains(word)) {
            return None;
        }
        if tokens.contains(last) {
            Some(MarkMatch::Words)
        } else if tokens.iter().any(|token| token.starts_with(last.as_str())) {
            Some(MarkMatch::Prefix)
        } else {
            None
        }
    }

    /// Whether a right satisfies the filters other than the mark.
    fn filters_match(&self, right: &RightState) -> bool {
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

    /// Whether a right satisfies every filter.
    fn matches(&self, right: &RightState) -> bool {
        (self.mark_tokens.is_empty() || self.tier_of(right.mark_text.as_deref()).is_some())
            && self.filters_match(right)
    }

    /// The index a search without a mark is driven by (none: the rights table), and whether
    /// filters beyond it must be checked on each right's state.
    fn unranked_scan(&self) -> (Option<IndexScan<'_>>, bool) {
        if let Some(holder) = &self.holder {
            let scan = match holder {
                HolderFilter::Key(key) => IndexScan::HolderKey(key),
                HolderFilter::Name(name) => IndexScan::HolderNamePrefix(name),
            };
            (
                Some(scan),
                self.class.is_some() || self.jurisdiction.is_some(),
            )
        } else if let Some(class) = self.class {
            let scan = IndexScan::Class {
                class,
                jurisdiction: self.jurisdiction.as_ref().map(|code| code.as_str()),
            };
            (Some(scan), false)
        } else {
            let scan = self
                .jurisdiction
                .as_ref()
                .map(|code| IndexScan::Jurisdiction(code.as_str()));
            (scan, false)
        }
    }

    /// Whether a mark search has filters besides the mark (checked on each right's state).
    fn filters_beyond_mark(&self) -> bool {
        self.class.is_some() || self.jurisdiction.is_some() || self.holder.is_some()
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

/// Runs a search that examines about `budget` index keys at most (the total's count has its
/// own bound).
fn search_within(
    store: &Store,
    query: &SearchQuery,
    budget: usize,
) -> Result<SearchPage, StorageError> {
    let mut page = if query.mark_tokens.is_empty() {
        unranked(store, query, budget)?
    } else {
        ranked::search(store, query, budget)?
    };
    if query.cursor.is_none() {
        page.total = Some(match page.next_cursor {
            // The first page is the whole answer: nothing more to count.
            None => Total {
                value: page.rights.len(),
                exact: true,
            },
            // The count has a smaller key bound than the page: it may stop before the rights
            // the page found, and is then a lower bound at least as large as the page.
            Some(_) => {
                let counted = count::total(store, query)?;
                Total {
                    value: counted.value.max(page.rights.len()),
                    exact: counted.exact,
                }
            }
        });
    }
    Ok(page)
}

/// A search without a mark, in the order of its driving index.
fn unranked(store: &Store, query: &SearchQuery, budget: usize) -> Result<SearchPage, StorageError> {
    let mut rights: Vec<Hit> = Vec::new();
    let mut last_key: Option<Vec<u8>> = None;
    let mut exhausted = true;
    let mut scanned = 0usize;
    let start = match &query.cursor {
        Some(Cursor::Key(key)) => key.clone(),
        _ => Vec::new(),
    };
    let mut visit = |key: &[u8], right: Option<RightState>| {
        scanned += 1;
        if rights.len() >= query.limit || scanned > budget {
            exhausted = false;
            return false;
        }
        last_key = Some(key.to_vec());
        if let Some(right) = right.filter(|right| query.matches(right)) {
            rights.push(Hit {
                right,
                matched: None,
            });
        }
        true
    };
    match query.unranked_scan().0 {
        Some(scan) => store.scan_index(&scan, &start, !start.is_empty(), |key| {
            let right_id = String::from_utf8_lossy(keys::tail(key));
            Ok(visit(key, store.right(&right_id)?))
        })?,
        None => store.scan_rights(&start, |key, right| Ok(visit(key, Some(right))))?,
    }
    let next_cursor = if exhausted {
        None
    } else {
        last_key.map(hex::encode)
    };
    Ok(SearchPage {
        rights,
        next_cursor,
        total: None,
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
