//! Screening: marketplace listings checked against every mark the node holds, catching the
//! spellings sellers use to evade keyword filters (issue 16; docs/SCREENING.md).
//!
//! Rooms: `normalize` (the normalisation chain, pure), `lexicon` (ordinary and dictionary words,
//! counterfeit indicators: data shipped with the node), this file (candidate windows of a
//! listing, matching them against the screening index, filters, scores). The index itself is
//! kept by the writer in the `index_screen` family, in the same batch as the right it indexes
//! (`storage/keys.rs`, [`mark_keys`]); reads go through [`ScreenIndex`], which
//! [`crate::storage::ScreenReader`] implements.
//!
//! How a mark is found in a listing:
//! * every window of up to [`MAX_WINDOW_WORDS`] consecutive words (more when they are single
//!   letters, `N I K E`) is joined without spaces, with each word's leetspeak and look-alike
//!   alternatives, and *squeezed* (runs of one letter collapsed); a mark is indexed by its own
//!   joined, squeezed skeleton, so an exact key lookup finds it whatever the case, accents,
//!   width, script look-alikes, separators, spacing and doubled letters;
//! * a window that is not made of dictionary words and is long enough is also compared to the
//!   marks of [`FUZZY_MIN_CHARS`] or more within one edit: each such mark is indexed by the two
//!   halves of its key, and one edit leaves one half intact, so two lookups per length find
//!   every candidate, which is then checked exactly;
//! * a hit counts when the right is alive, in the listing's class and territory when given, and
//!   strong enough: a one-word mark that is a dictionary word, or of three letters or fewer, is
//!   *weak* and matches only as a whole word (or letters spaced out) in a listing whose class
//!   is one of the right's.

pub mod lexicon;
pub mod marks;
pub mod normalize;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use proto_types::body::Jurisdiction;
use proto_types::timestamp::Date;

use self::lexicon::Lexicon;
use self::normalize::{Token, squeeze, tokenize};
use crate::rights::{Liveness, RightState};
use crate::storage::StorageError;

/// Most listings in one request.
pub const MAX_LISTINGS: usize = 1000;
/// Longest title, in characters.
pub const MAX_TITLE_CHARS: usize = 500;
/// Longest description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 5000;
/// Longest listing id, in characters.
pub const MAX_LISTING_ID_CHARS: usize = 200;
/// Most jurisdictions one listing names.
pub const MAX_LISTING_JURISDICTIONS: usize = 64;
/// Matches per listing when the request does not say.
pub const DEFAULT_LIMIT: usize = 10;
/// Most matches per listing a request may ask for.
pub const MAX_LIMIT: usize = 100;
/// Shortest Latin mark screened, in skeleton characters after squeezing.
pub const MIN_MARK_CHARS: usize = 3;
/// Shortest Chinese, Japanese or Korean mark screened, in characters.
pub const MIN_CJK_MARK_CHARS: usize = 2;
/// Shortest mark compared within one edit, in squeezed characters.
pub const FUZZY_MIN_CHARS: usize = 6;
/// Longest key (mark or window), in characters.
pub const MAX_KEY_CHARS: usize = 64;
/// Most words of more than one letter in a window.
pub const MAX_WINDOW_WORDS: usize = 4;
/// Most tokens in a window (single letters spaced out count one each).
pub const MAX_WINDOW_TOKENS: usize = 24;
/// Most characters in a window of CJK characters.
pub const MAX_CJK_WINDOW: usize = 12;
/// Most alternatives of one window.
pub const MAX_WINDOW_VARIANTS: usize = 16;
/// Most words of more than one letter in a window compared within one edit (a typo in a
/// mark of three words or more is not looked for).
pub const MAX_FUZZY_WINDOW_WORDS: usize = 3;
/// Most candidate keys made from one listing text (windows times their alternatives): a title
/// of 500 characters spaced out letter by letter stays bounded.
pub const MAX_CANDIDATES: usize = 4096;
/// Most windows of one listing text compared to the marks within one edit.
pub const MAX_FUZZY_LOOKUPS: usize = 64;
/// Most index entries read for one window's one-edit lookup.
pub const MAX_BUCKET_READ: usize = 512;

/// One side of a long mark's key, as indexed for one-edit matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Half {
    /// The first `len / 2` characters.
    Prefix,
    /// The remaining characters.
    Suffix,
}

/// What a mark puts in the screening index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarkKeys {
    /// The joined, squeezed skeleton.
    pub exact: String,
    /// For a Latin mark of [`FUZZY_MIN_CHARS`] or more: its length in characters and its two
    /// halves.
    pub halves: Option<(u8, String, String)>,
}

/// The screening keys of a mark, or `None` when it is too short or too long to screen.
pub fn mark_keys(mark: &str) -> Option<MarkKeys> {
    let joined = normalize::mark_text(mark);
    let exact = squeeze(&joined);
    let length = exact.chars().count();
    let cjk = exact.chars().any(normalize::is_cjk);
    let minimum = if cjk {
        MIN_CJK_MARK_CHARS
    } else {
        MIN_MARK_CHARS
    };
    if length < minimum || length > MAX_KEY_CHARS {
        return None;
    }
    let halves = (exact.is_ascii() && length >= FUZZY_MIN_CHARS).then(|| {
        let split = length / 2;
        (
            length as u8,
            exact[..split].to_owned(),
            exact[split..].to_owned(),
        )
    });
    Some(MarkKeys { exact, halves })
}

/// Where screening reads the index and the rights (the store, in the node).
pub trait ScreenIndex {
    /// Calls `found` with the right id of every mark whose exact key is `key`.
    fn exact(&mut self, key: &str, found: &mut dyn FnMut(&str)) -> Result<(), StorageError>;
    /// Calls `found` with the mark key and right id of rights whose mark key is within one edit
    /// of `key` but not `key`, of [`FUZZY_MIN_CHARS`] ASCII characters or more (`key` is ASCII),
    /// at most [`MAX_BUCKET_READ`] of them.
    fn near(&mut self, key: &str, found: &mut dyn FnMut(&str, &str)) -> Result<(), StorageError>;
    /// A right's current state (shared: asked once per hit, so an index that reads a store
    /// should remember what it read, and may hand the same state to several listings).
    fn right(&mut self, right_id: &str) -> Result<Option<Arc<RightState>>, StorageError>;
}

/// A listing to screen.
#[derive(Debug, Clone)]
pub struct Listing {
    /// The marketplace's id of the listing.
    pub id: String,
    /// Its title.
    pub title: String,
    /// Its description.
    pub description: Option<String>,
    /// Its Nice class, when the marketplace knows it.
    pub class: Option<u8>,
    /// Where it is offered, when the marketplace says.
    pub jurisdictions: Option<Vec<Jurisdiction>>,
}

/// One right found in a listing.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct Match {
    /// The right.
    pub right_id: String,
    /// Its mark as registered.
    pub mark: String,
    /// 0.0–1.0, higher is more certain.
    pub score: f64,
    /// The steps that were needed to find it, in chain order (`exact` when none).
    pub how: Vec<&'static str>,
    /// The text of the listing that matched, as written.
    pub matched_text: String,
    /// Always `alive`: only live rights are reported.
    pub liveness: &'static str,
    /// The right's jurisdiction.
    pub jurisdiction: String,
    /// The right's Nice classes.
    pub nice_classes: Vec<u8>,
}

/// The result for one listing.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct ListingResult {
    /// The listing's id.
    pub id: String,
    /// Matches, best first.
    pub matches: Vec<Match>,
    /// Counterfeit indicators found in the title or description.
    pub indicators: Vec<String>,
}

/// Who screens: the lexicon and the node's territory policy.
#[derive(Debug)]
pub struct Screener {
    lexicon: Lexicon,
    /// A marketplace's accepted jurisdictions: rights elsewhere are not reported.
    territory: Option<Vec<Jurisdiction>>,
}

/// A window of a listing text turned into a key.
#[derive(Debug, Clone)]
struct Candidate {
    unsqueezed: String,
    squeezed: String,
    first: usize,
    last: usize,
    labels: u8,
    all_dictionary: bool,
    /// Words of more than one character in the window.
    words: usize,
    /// The window begins or ends inside a run of spaced-out single letters (`l a c k` of
    /// `B l a c k s t o r e`): looked up exactly, never within one edit.
    cuts_run: bool,
}

/// Labels of a hit beyond the tokens' own steps.
mod label {
    pub const LEET: u8 = 1;
    pub const CONFUSABLE: u8 = 2;
    pub const EDIT1: u8 = 4;
}

/// A hit before filters and scoring.
struct Hit {
    candidate: usize,
    labels: u8,
}

impl Screener {
    /// A screener with `lexicon` for a node with `territory` (a marketplace's accepted
    /// jurisdictions; `None` for every jurisdiction).
    pub fn new(lexicon: Lexicon, territory: Option<Vec<Jurisdiction>>) -> Self {
        Self { lexicon, territory }
    }

    /// The lexicon.
    pub fn lexicon(&self) -> &Lexicon {
        &self.lexicon
    }

    /// Screens one listing: at most `limit` matches, best first.
    pub fn screen(
        &self,
        index: &mut dyn ScreenIndex,
        listing: &Listing,
        limit: usize,
        today: &Date,
    ) -> Result<ListingResult, StorageError> {
        let title = tokenize(&listing.title);
        let description = listing
            .description
            .as_deref()
            .map(tokenize)
            .unwrap_or_default();
        let mut words: Vec<&str> = title.iter().map(|t| t.text.as_str()).collect();
        words.extend(description.iter().map(|t| t.text.as_str()));
        let indicators: Vec<String> = self
            .lexicon
            .indicators_in(&words)
            .into_iter()
            .map(str::to_owned)
            .collect();
        let mut best: HashMap<String, Match> = HashMap::new();
        self.screen_text(
            index,
            listing,
            &listing.title,
            &title,
            true,
            !indicators.is_empty(),
            today,
            &mut best,
        )?;
        if let Some(text) = &listing.description {
            self.screen_text(
                index,
                listing,
                text,
                &description,
                false,
                !indicators.is_empty(),
                today,
                &mut best,
            )?;
        }
        let mut matches: Vec<Match> = best.into_values().collect();
        matches.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then_with(|| a.right_id.cmp(&b.right_id))
        });
        matches.truncate(limit);
        Ok(ListingResult {
            id: listing.id.clone(),
            matches,
            indicators,
        })
    }

    /// Finds marks in one text of a listing and keeps the best match per right in `best`.
    #[allow(clippy::too_many_arguments)]
    fn screen_text(
        &self,
        index: &mut dyn ScreenIndex,
        listing: &Listing,
        text: &str,
        tokens: &[Token],
        is_title: bool,
        has_indicator: bool,
        today: &Date,
        best: &mut HashMap<String, Match>,
    ) -> Result<(), StorageError> {
        let candidates = self.candidates(tokens);
        let mut hits: Vec<(String, Hit)> = Vec::new();
        let mut looked_up: HashSet<&str> = HashSet::new();
        let mut exact_rights: HashSet<String> = HashSet::new();
        // Keys that are marks: not compared within one edit (the window is a mark already).
        let mut fuzzy_done: HashSet<&str> = HashSet::new();
        for (number, candidate) in candidates.iter().enumerate() {
            // Part of a run of spaced-out letters whose key is an ordinary word or short
            // (`s t o r e` in `B l a c k s t o r e`): only a weak mark has that key, and a weak
            // mark counts only as the whole run (`judge`), so its rights are not even read.
            if candidate.cuts_run && self.weak_key(&candidate.squeezed) {
                continue;
            }
            if !looked_up.insert(candidate.squeezed.as_str()) {
                // The same key from another window or variant: its hits are the same rights,
                // found through the first window (the earliest, and the fewest changes).
                continue;
            }
            let before = hits.len();
            index.exact(&candidate.squeezed, &mut |right_id| {
                exact_rights.insert(right_id.to_owned());
                hits.push((
                    right_id.to_owned(),
                    Hit {
                        candidate: number,
                        labels: candidate.labels,
                    },
                ));
            })?;
            if hits.len() > before {
                fuzzy_done.insert(candidate.squeezed.as_str());
            }
        }
        // One-edit matches: titles only (descriptions are long and a weaker signal).
        if is_title {
            let mut lookups = 0;
            for (number, candidate) in candidates.iter().enumerate() {
                let length = candidate.squeezed.chars().count();
                // Not for look-alike pair readings (`rn` read as `m`): a look-alike and a typo
                // are two evasions, and every ordinary word with `rn`, `cl` or `vv` in it would
                // double its windows.
                // Nor for part of a run of spaced-out letters: the run spells one word (or
                // several run together), and its sub-runs, O(n²) of them, made the slowest
                // titles (ten spaced letters: 64 one-edit walks, 9–13 ms at a million marks).
                if candidate.all_dictionary
                    || candidate.cuts_run
                    || candidate.labels & label::CONFUSABLE != 0
                    || candidate.words > MAX_FUZZY_WINDOW_WORDS
                    || !candidate.squeezed.is_ascii()
                    || length + 1 < FUZZY_MIN_CHARS
                    || length > MAX_KEY_CHARS + 1
                    || candidate.squeezed.bytes().any(|b| b.is_ascii_digit())
                    || !fuzzy_done.insert(candidate.squeezed.as_str())
                {
                    continue;
                }
                if lookups == MAX_FUZZY_LOOKUPS {
                    break;
                }
                lookups += 1;
                index.near(&candidate.squeezed, &mut |mark_key, right_id| {
                    if mark_key != candidate.squeezed && !exact_rights.contains(right_id) {
                        hits.push((
                            right_id.to_owned(),
                            Hit {
                                candidate: number,
                                labels: candidate.labels | label::EDIT1,
                            },
                        ));
                    }
                })?;
            }
        }
        for (right_id, hit) in hits {
            // The index remembers the rights it read for the rest of its request.
            let Some(state) = index.right(&right_id)? else {
                continue;
            };
            let candidate = &candidates[hit.candidate];
            let Some(found) = self.judge(
                listing,
                text,
                tokens,
                candidate,
                hit.labels,
                &state,
                is_title,
                has_indicator,
                today,
            ) else {
                continue;
            };
            match best.get(&right_id) {
                Some(known) if known.score >= found.score => {}
                _ => {
                    best.insert(right_id, found);
                }
            }
        }
        Ok(())
    }

    /// The windows of `tokens`, each with its alternatives.
    fn candidates(&self, tokens: &[Token]) -> Vec<Candidate> {
        let variants: Vec<Vec<(String, u8)>> = tokens.iter().map(Token::variants).collect();
        let dictionary: Vec<bool> = tokens
            .iter()
            .map(|token| {
                token.text.bytes().all(|b| b.is_ascii_digit())
                    || self.lexicon.is_dictionary(&token.text)
            })
            .collect();
        let single: Vec<bool> = tokens
            .iter()
            .map(|token| !token.cjk && token.text.chars().count() == 1)
            .collect();
        let inside_run = |left: usize, right: usize| single[left] && single[right];
        let mut candidates = Vec::new();
        'windows: for first in 0..tokens.len() {
            let mut cjk_tokens = 0;
            let mut words = 0;
            let mut characters = 0;
            // The window's alternatives so far: text and labels.
            let mut partial: Vec<(String, u8)> = vec![(String::new(), 0)];
            for last in first..tokens.len() {
                let token = &tokens[last];
                let count = last - first + 1;
                if token.cjk {
                    cjk_tokens += 1;
                } else if token.text.chars().count() > 1 {
                    words += 1;
                }
                characters += token.text.chars().count();
                if words > MAX_WINDOW_WORDS
                    || count > MAX_WINDOW_TOKENS
                    || characters > MAX_KEY_CHARS
                    || cjk_tokens > MAX_CJK_WINDOW
                {
                    break;
                }
                let mut next = Vec::with_capacity(partial.len());
                for (text, labels) in &partial {
                    for (variant, variant_labels) in &variants[last] {
                        if next.len() == MAX_WINDOW_VARIANTS {
                            break;
                        }
                        let mut joined = String::with_capacity(text.len() + variant.len());
                        joined.push_str(text);
                        joined.push_str(variant);
                        next.push((joined, labels | variant_labels));
                    }
                }
                partial = next;
                let minimum = if cjk_tokens > 0 {
                    MIN_CJK_MARK_CHARS
                } else {
                    MIN_MARK_CHARS
                };
                let all_dictionary = dictionary[first..=last].iter().all(|d| *d);
                let cuts_run = (first > 0 && inside_run(first - 1, first))
                    || (last + 1 < tokens.len() && inside_run(last, last + 1));
                for (text, variant_labels) in &partial {
                    if candidates.len() == MAX_CANDIDATES {
                        break 'windows;
                    }
                    let squeezed = squeeze(text);
                    if squeezed.chars().count() < minimum {
                        continue;
                    }
                    let mut labels = 0;
                    if variant_labels & normalize::variant::LEET != 0 {
                        labels |= label::LEET;
                    }
                    if variant_labels & normalize::variant::CONFUSABLE != 0 {
                        labels |= label::CONFUSABLE;
                    }
                    candidates.push(Candidate {
                        unsqueezed: text.clone(),
                        squeezed,
                        first,
                        last,
                        labels,
                        all_dictionary,
                        words,
                        cuts_run,
                    });
                }
            }
        }
        candidates
    }

    /// Whether a mark key makes its marks weak whatever they are: an ordinary or dictionary
    /// word, or three letters or fewer (not CJK).
    fn weak_key(&self, key: &str) -> bool {
        self.lexicon.is_dictionary(key)
            || (!key.chars().any(normalize::is_cjk) && key.chars().count() <= 3)
    }

    /// Whether a hit counts, and if so its match: the right must be alive, in the listing's
    /// class and territory, and strong enough for how it was found.
    #[allow(clippy::too_many_arguments)]
    fn judge(
        &self,
        listing: &Listing,
        text: &str,
        tokens: &[Token],
        candidate: &Candidate,
        labels: u8,
        state: &RightState,
        is_title: bool,
        has_indicator: bool,
        today: &Date,
    ) -> Option<Match> {
        if !matches!(state.liveness(today), Liveness::Alive) {
            return None;
        }
        let mark = state.mark_text.as_deref()?;
        if let Some(class) = listing.class {
            if !state.nice_classes.contains(&class) {
                return None;
            }
        }
        if let Some(territory) = &self.territory {
            if !territory.contains(&state.jurisdiction) {
                return None;
            }
        }
        if let Some(jurisdictions) = &listing.jurisdictions {
            if !jurisdictions.contains(&state.jurisdiction) {
                return None;
            }
        }
        let mark_tokens = tokenize(mark);
        let mark_joined: String = mark_tokens.iter().map(|t| t.text.as_str()).collect();
        let window = &tokens[candidate.first..=candidate.last];
        // Weak: a one-word mark that is a dictionary word or short, or any mark whose key
        // (words joined, doubled letters squeezed) is one (`Ööö Onè` squeezes to `one`).
        let mark_key = squeeze(&mark_joined);
        let weak =
            (mark_tokens.len() == 1 && self.weak_key(&mark_joined)) || self.weak_key(&mark_key);
        if weak {
            // Whole words of the listing (as many as the mark has), or letters spaced out
            // (`G a p`, `S.h.e.l.l`: an evasion, not the ordinary word).
            let whole_word = labels & label::EDIT1 == 0
                && (window.len() == 1
                    || window.len() == mark_tokens.len()
                    || (window.iter().all(|t| t.text.chars().count() == 1) && !candidate.cuts_run));
            let in_class = listing
                .class
                .is_some_and(|class| state.nice_classes.contains(&class));
            if !whole_word || !in_class {
                return None;
            }
            // An ordinary word ("pink", "free", "one") written plainly is the word, not the
            // mark: it counts only when the seller disguised it (accents, fullwidth forms,
            // look-alikes, leetspeak, separators, spacing, doubled letters) or the listing
            // carries a counterfeit indicator ("P1NK hoodie", "pink hoodie 1:1").
            // Plain: the listing's words as written, but for case — no look-alike, leetspeak,
            // separator, accent or doubled letter (unless the mark doubles it too).
            let plain = labels & (label::LEET | label::CONFUSABLE) == 0
                && (window.len() == 1 || window.len() == mark_tokens.len())
                && (candidate.unsqueezed == mark_joined
                    || candidate.unsqueezed == candidate.squeezed)
                && window.iter().all(|token| {
                    text.get(token.start..token.end)
                        .is_some_and(|raw| raw.to_lowercase() == token.text)
                });
            if plain
                && !has_indicator
                && (self.lexicon.is_common(&mark_joined)
                    || self.lexicon.is_common(&candidate.unsqueezed))
            {
                return None;
            }
        }
        let start = window.first().map_or(0, |t| t.start);
        let end = window.last().map_or(0, |t| t.end);
        let matched_text = text.get(start..end).unwrap_or_default().to_owned();

        let mut how: Vec<&'static str> = Vec::new();
        let steps = window.iter().fold(0, |steps, token| steps | token.steps);
        let gaps_have_separators = window.windows(2).any(|pair| {
            text.get(pair[0].end..pair[1].start)
                .is_some_and(|gap| gap.chars().any(|c| !c.is_whitespace()))
        });
        if matched_text != mark {
            if steps & normalize::step::FOLD != 0 {
                how.push("fold");
            }
            if steps & normalize::step::CONFUSABLE != 0 || labels & label::CONFUSABLE != 0 {
                how.push("confusable");
            }
            if labels & label::LEET != 0 {
                how.push("leet");
            }
            if steps & normalize::step::SEPARATORS != 0 || gaps_have_separators {
                how.push("separators");
            }
            if window.len() != mark_tokens.len() {
                how.push("spacing");
            }
            if labels & label::EDIT1 == 0 && candidate.unsqueezed != mark_joined {
                how.push("doubled");
            }
            if labels & label::EDIT1 != 0 {
                how.push("edit1");
            }
        }
        if how.is_empty() {
            how.push("exact");
        }
        let mut score: f64 = how
            .iter()
            .map(|step| match *step {
                "fold" => 0.98,
                "confusable" | "leet" => 0.9,
                "separators" | "spacing" => 0.92,
                "doubled" => 0.88,
                "edit1" if mark_joined.chars().count() >= 8 => 0.82,
                "edit1" => 0.78,
                _ => 1.0,
            })
            .product();
        if weak {
            score *= 0.75;
        }
        if !is_title {
            how.push("description");
            score *= 0.8;
        }
        if has_indicator {
            how.push("indicator");
            score += 0.15;
        }
        let score = (score.min(1.0) * 1000.0).round() / 1000.0;
        Some(Match {
            right_id: state.right_id.as_str().to_owned(),
            mark: mark.to_owned(),
            score,
            how,
            matched_text,
            liveness: "alive",
            jurisdiction: state.jurisdiction.as_str().to_owned(),
            nice_classes: state.nice_classes.clone(),
        })
    }
}

#[cfg(test)]
mod tests;
