//! The `query` scenario's answers checked against a brute-force scan (issue 15): a sample of
//! searches of every kind is paged through to its end over HTTP, then, with the node stopped,
//! one pass over every right in the store finds what each search should have found. Every
//! answer must be exactly that set, each right once; a mark search's answers must carry the
//! tier the scan puts each right in (`match`: exact, words, prefix) and come tier by tier, best
//! first; and a first page's total must be the set's size (`eq`) or at most it (`gte`).
//!
//! The scan decides membership from the search's meaning, written here again: the exact mark
//! is the folded mark; several words are whole words of the mark plus a word that begins with
//! the last one; a holder name is a folded prefix; a holder key is equal; class and
//! jurisdiction are contained and equal. It shares the node's folding (`text::fold`,
//! `text::tokens`, tested on their own), so it checks what the index, the joins, the cursors
//! and the scan budgets find, not how text folds.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use anyhow::Context;
use proto_types::keys::PublicKey;
use rightsnet_node::rights::RightState;
use rightsnet_node::storage::Store;
use rightsnet_node::text;
use serde_json::Value;

use crate::fixtures::{Registration, holder_dids};

/// Page size asked for while paging through a sampled search (the node's default
/// `max_page_size`).
pub const PAGE: usize = 500;

/// Most rights read from one sampled search before it is called truncated: a truncated answer
/// is checked to be a subset of the brute-force set, with no right twice.
pub const MAX_COLLECTED: usize = 200_000;

/// Most requests made to page through one sampled search.
pub const MAX_PAGES: usize = 2_000;

/// What a sampled search means, decided on one right.
#[derive(Debug)]
enum Meaning {
    MarkExact(String),
    MarkWords {
        folded: String,
        whole: Vec<String>,
        last: String,
    },
    HolderKey(PublicKey),
    HolderName(String),
    ClassIn {
        class: u8,
        jurisdiction: String,
    },
}

impl Meaning {
    fn of(kind: &str, registration: &Registration, path: &str) -> anyhow::Result<Self> {
        let parameter = |name: &str| -> anyhow::Result<String> {
            let query = path.split_once('?').map_or("", |(_, query)| query);
            let raw = query
                .split('&')
                .find_map(|pair| pair.strip_prefix(&format!("{name}=")))
                .with_context(|| format!("{path} has no {name}"))?;
            Ok(percent_decode(raw))
        };
        Ok(match kind {
            "mark_exact" => Self::MarkExact(text::fold(&parameter("mark")?)),
            "mark_prefix" | "mark_folded" => {
                let mark = parameter("mark")?;
                let mut words = text::tokens(&mark);
                let last = words.pop().context("a mark search with no word")?;
                Self::MarkWords {
                    folded: text::fold(&mark),
                    whole: words,
                    last,
                }
            }
            "holder_key" => Self::HolderKey(
                PublicKey::from_did_key(&holder_dids()[registration.holder])
                    .map_err(|error| anyhow::anyhow!("holder key: {error}"))?,
            ),
            "holder_name" => Self::HolderName(text::fold(&parameter("holder")?)),
            "class_jurisdiction" => Self::ClassIn {
                class: parameter("class")?.parse()?,
                jurisdiction: parameter("jurisdiction")?,
            },
            other => anyhow::bail!("no brute-force meaning for {other}"),
        })
    }

    fn holds(&self, right: &RightState, mark_tokens: &[String]) -> bool {
        match self {
            Self::MarkExact(folded) => right
                .mark_text
                .as_deref()
                .is_some_and(|mark| &text::fold(mark) == folded),
            Self::MarkWords { whole, last, .. } => {
                right.mark_text.is_some()
                    && whole.iter().all(|word| mark_tokens.contains(word))
                    && mark_tokens
                        .iter()
                        .any(|word| word.starts_with(last.as_str()))
            }
            Self::HolderKey(key) => right.holder.key.as_ref() == Some(key),
            Self::HolderName(prefix) => text::fold(&right.holder.name).starts_with(prefix.as_str()),
            Self::ClassIn {
                class,
                jurisdiction,
            } => right.nice_classes.contains(class) && right.jurisdiction.as_str() == jurisdiction,
        }
    }

    /// The ranking tier of a right that [`Meaning::holds`] for a mark search (`None` for the
    /// other kinds): `exact` when its folded mark is the folded query, `words` when every
    /// word of the query is a whole word of the mark, else `prefix`.
    fn tier(&self, right: &RightState, mark_tokens: &[String]) -> Option<&'static str> {
        match self {
            Self::MarkExact(_) => Some("exact"),
            Self::MarkWords { folded, last, .. } => Some(
                if right.mark_text.as_deref().map(text::fold).as_ref() == Some(folded) {
                    "exact"
                } else if mark_tokens.contains(last) {
                    "words"
                } else {
                    "prefix"
                },
            ),
            _ => None,
        }
    }
}

/// The rank of a tier (`None`, for searches without a mark, ranks with itself).
fn rank(tier: Option<&str>) -> u8 {
    match tier {
        Some("exact") => 0,
        Some("words") => 1,
        Some("prefix") => 2,
        _ => 3,
    }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let hex = bytes
            .get(index + 1..index + 3)
            .and_then(|pair| std::str::from_utf8(pair).ok())
            .and_then(|pair| u8::from_str_radix(pair, 16).ok());
        match (bytes[index], hex) {
            (b'%', Some(byte)) => {
                decoded.push(byte);
                index += 3;
            }
            (byte, _) => {
                decoded.push(byte);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

/// One sampled search and what the node answered, page after page.
#[derive(Debug)]
pub struct Sampled {
    kind: &'static str,
    path: String,
    meaning: Meaning,
    answered: Vec<String>,
    /// The `match` of each answered right, in the same order.
    tiers: Vec<Option<String>>,
    /// The first page's total: the value, and whether it is exact (`eq`).
    total: Option<(usize, bool)>,
    pages: usize,
    truncated: bool,
}

/// Pages through `path` (a search with `limit=PAGE`) on the node at `base` to its end, or to
/// [`MAX_COLLECTED`] rights or [`MAX_PAGES`] requests.
pub async fn collect(
    client: &reqwest::Client,
    base: &str,
    kind: &'static str,
    registration: &Registration,
    path: String,
) -> anyhow::Result<Sampled> {
    let meaning = Meaning::of(kind, registration, &path)?;
    let mut answered = Vec::new();
    let mut tiers = Vec::new();
    let mut total = None;
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    let truncated = loop {
        if pages >= MAX_PAGES || answered.len() >= MAX_COLLECTED {
            break true;
        }
        let url = match &cursor {
            Some(cursor) => format!("{base}{path}&cursor={cursor}"),
            None => format!("{base}{path}"),
        };
        let response = client.get(&url).send().await?;
        let status = response.status();
        let body: Value = response.json().await?;
        anyhow::ensure!(status.is_success(), "{url}: {status} {body}");
        if pages == 0 {
            let value = body["total"]["value"].as_u64();
            let relation = body["total"]["relation"].as_str();
            total = match (value, relation) {
                (Some(value), Some("eq" | "gte")) => Some((value as usize, relation == Some("eq"))),
                _ => anyhow::bail!("{url}: a first page without a total"),
            };
        }
        pages += 1;
        let rights = body["rights"]
            .as_array()
            .with_context(|| format!("{url}: no rights in the answer"))?;
        for right in rights {
            answered.push(
                right["right_id"]
                    .as_str()
                    .with_context(|| format!("{url}: a right without right_id"))?
                    .to_owned(),
            );
            tiers.push(right["match"].as_str().map(str::to_owned));
        }
        match body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break false,
        }
    };
    Ok(Sampled {
        kind,
        path,
        meaning,
        answered,
        tiers,
        total,
        pages,
        truncated,
    })
}

/// How the sampled searches of one kind fared.
#[derive(Debug, Default, Clone)]
pub struct KindVerdict {
    /// Searches sampled.
    pub searches: usize,
    /// Of them, answered with exactly the brute-force set.
    pub exact: usize,
    /// Of them, cut at the collection bound and found a subset with nothing twice.
    pub truncated_consistent: usize,
    /// Of them, wrong: a right missing, one that does not match, or one twice.
    pub wrong: usize,
    /// Rights the node returned, over all sampled searches.
    pub rights_answered: usize,
    /// Rights the scan found, over all sampled searches.
    pub rights_expected: usize,
    /// Requests made while paging.
    pub pages: usize,
}

impl KindVerdict {
    /// The verdict as a JSON object.
    pub fn to_json(&self) -> Value {
        serde_json::json!({
            "searches": self.searches,
            "exact": self.exact,
            "truncated_consistent": self.truncated_consistent,
            "wrong": self.wrong,
            "rights_answered": self.rights_answered,
            "rights_expected": self.rights_expected,
            "pages": self.pages,
        })
    }
}

/// The brute-force scan of the store in `data_dir` (the node stopped) and the comparison: the
/// verdicts by kind, the rights scanned, and the first wrong answer, described.
pub fn compare(
    data_dir: &Path,
    sampled: &[Sampled],
) -> anyhow::Result<(HashMap<&'static str, KindVerdict>, u64, Option<String>)> {
    let (store, writer) = Store::open(data_dir).context("opening the store to scan it")?;
    // Every right each search should find, with its tier.
    let mut expected: Vec<HashMap<String, Option<&'static str>>> =
        vec![HashMap::new(); sampled.len()];
    let mut scanned = 0u64;
    store.scan_rights(&[], |_, right| {
        scanned += 1;
        let tokens = right
            .mark_text
            .as_deref()
            .map(text::tokens)
            .unwrap_or_default();
        for (search, found) in sampled.iter().zip(expected.iter_mut()) {
            if search.meaning.holds(&right, &tokens) {
                let tier = search.meaning.tier(&right, &tokens);
                found.insert(right.right_id.as_str().to_owned(), tier);
            }
        }
        Ok(true)
    })?;
    drop(writer);
    drop(store);
    let mut verdicts: HashMap<&'static str, KindVerdict> = HashMap::new();
    let mut first_wrong = None;
    for (search, expected) in sampled.iter().zip(&expected) {
        let verdict = verdicts.entry(search.kind).or_default();
        verdict.searches += 1;
        verdict.rights_answered += search.answered.len();
        verdict.rights_expected += expected.len();
        verdict.pages += search.pages;
        let answered: HashSet<&str> = search.answered.iter().map(String::as_str).collect();
        let twice = answered.len() != search.answered.len();
        let stray = answered.iter().find(|id| !expected.contains_key(**id));
        let missing = expected.keys().find(|id| !answered.contains(id.as_str()));
        let mistiered = search
            .answered
            .iter()
            .zip(&search.tiers)
            .find(|(id, tier)| expected.get(id.as_str()).copied().flatten() != tier.as_deref());
        let backwards = search
            .answered
            .windows(2)
            .zip(search.tiers.windows(2))
            .find(|(_, tiers)| rank(tiers[0].as_deref()) > rank(tiers[1].as_deref()));
        let total_wrong = match search.total {
            Some((value, true)) => value != expected.len(),
            Some((value, false)) => value > expected.len(),
            None => true,
        };
        let problem = if twice {
            Some("a right answered twice".to_owned())
        } else if let Some(stray) = stray {
            Some(format!("{stray} answered but does not match"))
        } else if let (false, Some(missing)) = (search.truncated, missing) {
            Some(format!("{missing} matches but was not answered"))
        } else if let Some((id, tier)) = mistiered {
            Some(format!(
                "{id} answered as {tier:?}, in the tier {:?}",
                expected.get(id.as_str()).copied().flatten()
            ))
        } else if let Some((ids, _)) = backwards {
            Some(format!("{} ranked before {}", ids[1], ids[0]))
        } else if total_wrong {
            Some(format!(
                "the total {:?} for {} rights",
                search.total,
                expected.len()
            ))
        } else {
            None
        };
        match problem {
            Some(problem) => {
                verdict.wrong += 1;
                first_wrong.get_or_insert_with(|| {
                    format!(
                        "{} {}: {problem} ({} answered, {} expected)",
                        search.kind,
                        search.path,
                        search.answered.len(),
                        expected.len()
                    )
                });
            }
            None if search.truncated => verdict.truncated_consistent += 1,
            None => verdict.exact += 1,
        }
    }
    Ok((verdicts, scanned, first_wrong))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sampled(answered: &[&str], truncated: bool) -> Sampled {
        Sampled {
            kind: "mark_exact",
            path: "/v1/rights?mark=x&exact=true".to_owned(),
            meaning: Meaning::MarkExact("lumiere".to_owned()),
            answered: answered.iter().map(|id| (*id).to_owned()).collect(),
            tiers: answered.iter().map(|_| Some("exact".to_owned())).collect(),
            total: Some((answered.len(), !truncated)),
            pages: 1,
            truncated,
        }
    }

    /// An empty store expects nothing: an empty answer is exact, a stray right or a right twice
    /// is wrong, and a truncated empty answer is consistent.
    #[test]
    fn the_comparison_tells_a_wrong_answer() {
        let directory = tempfile::tempdir().unwrap();
        let searches = [
            sampled(&[], false),
            sampled(&["FR-TM-1"], false),
            sampled(&[], true),
        ];
        let (verdicts, scanned, first_wrong) = compare(directory.path(), &searches).unwrap();
        assert_eq!(scanned, 0);
        let verdict = &verdicts["mark_exact"];
        assert_eq!(
            (verdict.exact, verdict.wrong, verdict.truncated_consistent),
            (1, 1, 1)
        );
        assert!(
            first_wrong
                .unwrap()
                .contains("FR-TM-1 answered but does not match")
        );
        let (verdicts, _, first_wrong) =
            compare(directory.path(), &[sampled(&["FR-TM-1", "FR-TM-1"], true)]).unwrap();
        assert_eq!(verdicts["mark_exact"].wrong, 1);
        assert!(first_wrong.unwrap().contains("twice"));
    }

    #[test]
    fn query_parameters_are_percent_decoded() {
        assert_eq!(percent_decode("LUMI%C3%88RE%20SOLVA"), "LUMIÈRE SOLVA");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz"), "%zz");
    }
}
