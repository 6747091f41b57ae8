//! Read-side queries over the store: rights search with paging, and the JSON views of rights.
//!
//! A search is driven by one index (the most selective filter given: mark, then holder, then
//! class/jurisdiction, else the rights table itself) and the other filters are checked on each
//! candidate's state. Every request scans at most [`MAX_SCAN`] index keys; when that budget runs
//! out the page is returned short, with a cursor to continue.

use proto_types::body::{Jurisdiction, NiceClass};
use proto_types::keys::PublicKey;
use proto_types::timestamp::Date;
use serde_json::{Value, json};

use crate::rights::RightState;
use crate::storage::{IndexScan, StorageError, Store, keys};
use crate::text;

/// Most index keys examined to answer one search request.
pub const MAX_SCAN: usize = 20_000;
/// Longest search text accepted.
pub const MAX_QUERY_CHARS: usize = 200;

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
#[derive(Debug)]
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

/// Runs a search.
pub fn search(store: &Store, query: &SearchQuery) -> Result<SearchPage, StorageError> {
    // Pick the driving index: the key prefix to scan, and how to tell from a key whether this is
    // the one occurrence of the right to consider (a right appears under several tokens).
    let scan: Option<IndexScan<'_>> = if let Some(first) = query.mark_tokens.first() {
        Some(if query.exact {
            IndexScan::MarkExact(&query.mark_folded)
        } else if query.mark_tokens.len() == 1 {
            IndexScan::MarkTokenPrefix(first)
        } else {
            IndexScan::MarkToken(first)
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
    let mut scanned = 0usize;
    let mut last_key: Option<Vec<u8>> = None;
    let mut exhausted = true;
    let start = query.cursor.clone().unwrap_or_default();
    match scan {
        Some(scan) => {
            let single_token_prefix = matches!(scan, IndexScan::MarkTokenPrefix(_));
            store.scan_index(&scan, &start, query.cursor.is_some(), |key| {
                scanned += 1;
                if rights.len() >= query.limit || scanned > MAX_SCAN {
                    exhausted = false;
                    return Ok(false);
                }
                last_key = Some(key.to_vec());
                let right_id = String::from_utf8_lossy(keys::tail(key)).into_owned();
                let Some(right) = store.right(&right_id)? else {
                    return Ok(true);
                };
                if single_token_prefix {
                    // Count a right once: under the first of its tokens that has the prefix.
                    let indexed = keys::indexed_value(key);
                    let first = right
                        .mark_text
                        .as_deref()
                        .map(text::tokens)
                        .unwrap_or_default()
                        .into_iter()
                        .find(|token| token.starts_with(query.mark_tokens[0].as_str()));
                    if first.as_deref().map(str::as_bytes) != Some(indexed) {
                        return Ok(true);
                    }
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
                if rights.len() >= query.limit || scanned > MAX_SCAN {
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
