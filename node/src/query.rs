//! Read-side queries over the store: rights search with paging, and the JSON views of rights.
//!
//! A search is driven by one index (the most selective filter given: mark, then holder, then
//! class/jurisdiction, else the rights table itself) and the other filters are checked on each
//! candidate's state. Every request scans at most [`MAX_SCAN`] index keys; when that budget runs
//! out the page is returned short, with a cursor to continue.
//!
//! A mark of several words is a join of the words' index ranges (each ordered by right id):
//! the range of every word (and of the last word's prefix) is read, key only, up to
//! [`MAX_WORD_KEYS`] keys each; the smallest drives the search, and a candidate is read from
//! the rights family only when every other range read whole names it too. A word too common
//! for its range to be read whole is checked on the candidate's state instead. The cursor is
//! the driving range's last key, so the next page is driven by the same range.

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
/// Most keys of one word's range read to join a multi-word mark search; a longer range (a
/// common word) is not read whole, its word is checked on each candidate instead.
pub const MAX_WORD_KEYS: usize = 4096;
/// Most distinct tokens under the last word of a multi-word mark search checked by point reads
/// when the word's range is too long to read whole; beyond, each candidate's right is read.
pub const MAX_PREFIX_TOKENS: usize = 64;
/// Most words of a multi-word mark whose ranges are read (the others are checked on each
/// candidate).
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

/// One word's range of a multi-word mark search.
struct WordRange<'a> {
    scan: IndexScan<'a>,
    /// The right ids of the range, when it holds at most [`MAX_WORD_KEYS`] keys.
    ids: Option<std::collections::HashSet<Vec<u8>>>,
    /// Otherwise, the whole tokens of the range (the word, or the few tokens under the
    /// prefix): a candidate is in the range when the index holds it under one of them, a
    /// point read instead of reading the right.
    tokens: Option<Vec<Vec<u8>>>,
}

/// The ranges of a multi-word mark search (its whole words, then the last word's prefix) and
/// the one to drive it: the range the cursor's key lies in, else the smallest range read whole
/// (a whole word on a tie), else the first word's.
fn word_ranges<'a>(
    store: &Store,
    query: &'a SearchQuery,
    scanned: &mut usize,
) -> Result<(Vec<WordRange<'a>>, usize), StorageError> {
    let Some((last, whole)) = query.mark_tokens.split_last() else {
        return Ok((Vec::new(), 0));
    };
    let mut words: Vec<&str> = Vec::new();
    for word in whole {
        if !words.contains(&word.as_str()) {
            words.push(word);
        }
    }
    let mut scans: Vec<IndexScan<'a>> = words.into_iter().map(IndexScan::MarkToken).collect();
    scans.push(IndexScan::MarkTokenPrefix(last));
    let mut ranges = Vec::with_capacity(scans.len());
    for (index, scan) in scans.into_iter().enumerate() {
        // The ranges of the first words and the prefix are read; the others are checked on
        // each candidate.
        let read = index < MAX_JOINED_WORDS - 1 || matches!(scan, IndexScan::MarkTokenPrefix(_));
        let mut ids = read.then(std::collections::HashSet::new);
        if let Some(set) = &mut ids {
            let mut over = false;
            store.scan_index(&scan, &[], false, |key| {
                *scanned += 1;
                if set.len() >= MAX_WORD_KEYS {
                    over = true;
                    return Ok(false);
                }
                set.insert(keys::tail(key).to_vec());
                Ok(true)
            })?;
            if over {
                ids = None;
            }
        }
        let tokens = match (&ids, &scan) {
            (Some(_), _) => None,
            (None, IndexScan::MarkToken(word)) => Some(vec![word.as_bytes().to_vec()]),
            (None, IndexScan::MarkTokenPrefix(prefix)) => {
                store.mark_tokens_with_prefix(prefix, MAX_PREFIX_TOKENS)?
            }
            (None, _) => None,
        };
        ranges.push(WordRange { scan, ids, tokens });
    }
    let from_cursor = query.cursor.as_deref().and_then(|cursor| {
        let token = keys::indexed_value(cursor);
        ranges.iter().position(|range| match range.scan {
            IndexScan::MarkToken(word) => word.as_bytes() == token,
            IndexScan::MarkTokenPrefix(prefix) => token.starts_with(prefix.as_bytes()),
            _ => false,
        })
    });
    let smallest = ranges
        .iter()
        .enumerate()
        .filter_map(|(index, range)| range.ids.as_ref().map(|ids| (ids.len(), index)))
        .min()
        .map(|(_, index)| index);
    Ok((ranges, from_cursor.or(smallest).unwrap_or(0)))
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
    let mut scanned = 0usize;
    // A mark of several words: the join of its words' ranges.
    let joined = if !query.exact && query.mark_tokens.len() > 1 {
        Some(word_ranges(store, query, &mut scanned)?)
    } else {
        None
    };
    // Pick the driving index: the key prefix to scan, and how to tell from a key whether this is
    // the one occurrence of the right to consider (a right appears under several tokens).
    let scan: Option<IndexScan<'_>> = if let Some((ranges, driver)) = &joined {
        ranges.get(*driver).map(|range| range.scan.clone())
    } else if let Some(first) = query.mark_tokens.first() {
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
    let start = query.cursor.clone().unwrap_or_default();
    // The other ranges of a join that were read whole: a candidate must be in each.
    let others: Vec<&std::collections::HashSet<Vec<u8>>> = match &joined {
        Some((ranges, driver)) => ranges
            .iter()
            .enumerate()
            .filter(|(index, _)| index != driver)
            .filter_map(|(_, range)| range.ids.as_ref())
            .collect(),
        None => Vec::new(),
    };
    // The other ranges too long to read whole: a candidate must be under one of their tokens.
    let point_checks: Vec<&Vec<Vec<u8>>> = match &joined {
        Some((ranges, driver)) => ranges
            .iter()
            .enumerate()
            .filter(|(index, range)| index != driver && range.ids.is_none())
            .filter_map(|(_, range)| range.tokens.as_ref())
            .collect(),
        None => Vec::new(),
    };
    match scan {
        Some(scan) => {
            let prefix = match scan {
                IndexScan::MarkTokenPrefix(prefix) => Some(prefix),
                _ => None,
            };
            let budget = scanned + MAX_SCAN;
            store.scan_index(&scan, &start, query.cursor.is_some(), |key| {
                scanned += 1;
                if rights.len() >= query.limit || scanned > budget {
                    exhausted = false;
                    return Ok(false);
                }
                last_key = Some(key.to_vec());
                let id = keys::tail(key);
                if !others.iter().all(|ids| ids.contains(id)) {
                    return Ok(true);
                }
                for tokens in &point_checks {
                    let mut under = false;
                    for token in tokens.iter() {
                        if store.has_mark_token(token, id)? {
                            under = true;
                            break;
                        }
                    }
                    if !under {
                        return Ok(true);
                    }
                }
                let right_id = String::from_utf8_lossy(id).into_owned();
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

#[cfg(test)]
mod tests {
    use super::*;
    use proto_types::body::{RightId, RightStatus, RightType};
    use proto_types::entry::EntryId;

    const WORDS: [&str; 8] = [
        "alpha", "alpine", "beta", "bet", "gamma", "lumière", "lumen", "delta",
    ];

    /// Right `n`: a common word (so that its range is too long to read whole), and
    /// one to three words of [`WORDS`] picked by a fixed hash of `n`.
    fn right(n: usize) -> RightState {
        let mut hash = (n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x5DEE_CE66;
        let mut pick = || {
            hash ^= hash >> 29;
            hash = hash.wrapping_mul(0xBF58_476D_1CE4_E5B9);
            (hash >> 33) as usize
        };
        let count = 1 + pick() % 3;
        let mut mark: Vec<&str> = (0..count).map(|_| WORDS[pick() % WORDS.len()]).collect();
        // Two common words, one the other's prefix: "commun" and "communal" are each under
        // half the rights, too many to read whole, and both under the prefix "commun".
        let common = if n % 2 == 0 { "Commun" } else { "Communal" };
        mark.insert(pick() % (mark.len() + 1), common);
        let right_id = RightId::parse(&format!("FR-TM-{n}")).expect("a right id");
        let date = |text: &str| Date::parse(text).expect("a date");
        RightState {
            jurisdiction: right_id.jurisdiction().clone(),
            right_id,
            right_type: RightType::Trademark,
            number: n.to_string(),
            application_number: None,
            mark_text: Some(mark.join(" ")),
            title: None,
            image_digest: None,
            nice_classes: vec![1 + (pick() % 3) as u8],
            holder: serde_json::from_value(json!({"name": "Holder", "country": "FR"}))
                .expect("a holder"),
            filing_date: date("2020-01-02"),
            registration_date: Some(date("2020-06-01")),
            expiry_date: Some(date("2040-01-02")),
            status: RightStatus::Registered,
            registered_by: proto_types::keys::SecretKey::from_seed(&[7; 32]).public_key(),
            last_entry: EntryId([3; 32]),
            history: Vec::new(),
        }
    }

    /// The brute-force answer: every right whose mark has each whole word, and a word that
    /// begins with the last one.
    fn expected(rights: &[RightState], mark: &str, class: Option<u8>) -> Vec<String> {
        let words = text::tokens(mark);
        let (last, whole) = words.split_last().expect("words");
        let mut ids: Vec<String> = rights
            .iter()
            .filter(|right| {
                let tokens = text::tokens(right.mark_text.as_deref().unwrap_or_default());
                whole.iter().all(|word| tokens.contains(word))
                    && tokens.iter().any(|token| token.starts_with(last.as_str()))
                    && class.is_none_or(|class| right.nice_classes.contains(&class))
            })
            .map(|right| right.right_id.as_str().to_owned())
            .collect();
        ids.sort();
        ids
    }

    /// A multi-word search joins the words' ranges (the common word's too long to read whole):
    /// across every page it finds exactly the rights a scan of all of them finds, each once.
    #[test]
    fn multi_word_searches_find_what_a_full_scan_finds_across_pages() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let (store, writer) = Store::open(dir.path()).expect("opens");
        let rights: Vec<RightState> = (1..=2 * MAX_WORD_KEYS + 600).map(right).collect();
        for chunk in rights.chunks(1000) {
            let mut batch = writer.batch();
            for state in chunk {
                batch.put_right(None, state).expect("encodes");
            }
            writer.commit(batch, false).expect("commits");
        }
        for (mark, class) in [
            ("alpha beta", None),
            ("beta alpha", None),
            ("COMMUN alp", None),
            ("alp commun", None),
            ("commun commun", None),
            ("bet bet", None),
            ("Lumiere LUM", None),
            ("gamma delta alpha", None),
            ("alpha commun", Some(2)),
            ("delta be", Some(1)),
            ("commun nothing", None),
            ("nothing commun", None),
            ("communal commun", None),
            ("alpha comm", Some(2)),
            ("communal alpha", None),
        ] {
            let wanted = expected(&rights, mark, class);
            // One right a page only where the pages stay few.
            let limits: &[usize] = if wanted.len() < 200 {
                &[1, 7, 500]
            } else {
                &[97, 500]
            };
            for &limit in limits {
                let mut found: Vec<String> = Vec::new();
                let mut cursor: Option<String> = None;
                for page in 0.. {
                    assert!(page < 10_000, "{mark}: the pages never end");
                    let query = SearchQuery::new(
                        Some(mark),
                        false,
                        class,
                        None,
                        None,
                        limit,
                        cursor.as_deref(),
                    )
                    .expect("a query");
                    let answer = search(&store, &query).expect("searches");
                    assert!(answer.rights.len() <= limit);
                    found.extend(
                        answer
                            .rights
                            .iter()
                            .map(|right| right.right_id.as_str().to_owned()),
                    );
                    cursor = answer.next_cursor;
                    if cursor.is_none() {
                        break;
                    }
                }
                let count = found.len();
                found.sort();
                found.dedup();
                assert_eq!(found.len(), count, "{mark} (limit {limit}): a right twice");
                assert_eq!(found, wanted, "{mark} (limit {limit}, class {class:?})");
            }
        }
        // The tokens under a prefix, one seek each, and the point check of a right's key.
        let tokens = |prefix: &str, max: usize| {
            store
                .mark_tokens_with_prefix(prefix, max)
                .expect("reads")
                .map(|tokens| {
                    tokens
                        .into_iter()
                        .map(|token| String::from_utf8(token).expect("text"))
                        .collect::<Vec<_>>()
                })
        };
        assert_eq!(tokens("al", 64).expect("two"), ["alpha", "alpine"]);
        assert_eq!(tokens("commun", 2).expect("two"), ["commun", "communal"]);
        assert_eq!(tokens("commun", 1), None);
        assert_eq!(tokens("zzz", 1).expect("none"), Vec::<String>::new());
        assert_eq!(tokens("", 64).expect("all").len(), 10);
        assert!(store.has_mark_token(b"commun", b"FR-TM-2").expect("reads"));
        assert!(!store.has_mark_token(b"commun", b"FR-TM-1").expect("reads"));
        assert!(
            store
                .has_mark_token(b"communal", b"FR-TM-1")
                .expect("reads")
        );
        drop((store, writer));
    }
}
