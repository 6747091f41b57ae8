//! Every distinct mark key in memory (issue 16): what makes screening fast.
//!
//! A listing title makes tens of candidate keys, and a handful of them are compared to the
//! marks within one edit; almost none of them is a mark. Asking the `index_screen` family for
//! each costs a RocksDB seek (the prefix bloom filters refuse most, but not for free), and the
//! one-edit lookups through half keys read hundreds of unrelated marks that share a short half.
//! [`MarkSet`] keeps the set of mark keys as finite-state transducers (`fst` sets: 1 M keys in a
//! few MiB), so a key that no mark has is refused in memory, and the marks within one edit of a
//! candidate are found by walking the transducer with a small automaton ([`OneEdit`]) that
//! visits only the paths one edit away. RocksDB is then read only for the keys that are marks,
//! to list their rights.
//!
//! The set is kept like a small log-structured merge tree, because a transducer cannot be
//! changed once built:
//! * *base*: every key of `index_screen` when the store was opened (built from the family, which
//!   the writer keeps; [`crate::storage::Store::open`]);
//! * *levels*: small sets of keys the writer added since, each built from [`FLUSH_KEYS`] keys;
//!   beyond [`MAX_LEVELS`] of them a background thread merges them (and, when they weigh an
//!   eighth of the base, the base too) into one;
//! * *recent*: the last keys the writer added, not yet in a level, searched one by one.
//!
//! Keys are only added. A mark that changes or a right that is removed leaves its old key
//! behind until the next start; such a key costs one RocksDB lookup that finds no right, and
//! changes no answer. Readers take a [`Snapshot`] (a few `Arc`s) and never block the writer.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use fst::raw::{CompiledAddr, Fst, Node};
use fst::{Automaton, Set, SetBuilder, Streamer};

/// Keys the writer adds before they are built into a level.
pub const FLUSH_KEYS: usize = 256;
/// Levels beyond which they are merged in the background.
pub const MAX_LEVELS: usize = 8;
/// Most keys one [`Snapshot::near`] reports.
pub const MAX_NEAR_KEYS: usize = 256;

/// A built set of keys, forwards and with each key's bytes reversed (for the walks that fix the
/// end of a key, [`Snapshot::near`]).
#[derive(Debug)]
pub struct Keys {
    forward: Set<Vec<u8>>,
    backward: Set<Vec<u8>>,
}

type KeySet = Arc<Keys>;

impl Keys {
    /// The keys of `forward`, with their reversed set built beside.
    pub fn new(forward: Set<Vec<u8>>) -> Self {
        // Reversed keys packed in one buffer, sorted through 8-byte handles (start << 16 |
        // length): a tenth of what a vector of boxed keys would take at ten million keys.
        let mut bytes: Vec<u8> = Vec::with_capacity(forward.len() * 12);
        let mut handles: Vec<u64> = Vec::with_capacity(forward.len());
        let mut stream = forward.stream();
        while let Some(key) = stream.next() {
            let Ok(length) = u16::try_from(key.len()) else {
                continue;
            };
            handles.push(((bytes.len() as u64) << 16) | u64::from(length));
            bytes.extend(key.iter().rev());
        }
        let slice = |handle: u64| {
            let start = (handle >> 16) as usize;
            &bytes[start..start + (handle & 0xffff) as usize]
        };
        handles.sort_unstable_by(|a, b| slice(*a).cmp(slice(*b)));
        let mut builder = SetBuilder::memory();
        for handle in handles {
            // Distinct keys reversed are distinct, and sorted: insertion cannot fail.
            let _ = builder.insert(slice(handle));
        }
        Self {
            backward: builder.into_set(),
            forward,
        }
    }

    /// How many keys.
    pub fn len(&self) -> usize {
        self.forward.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.forward.is_empty()
    }

    fn memory_bytes(&self) -> usize {
        self.forward.as_fst().as_bytes().len() + self.backward.as_fst().as_bytes().len()
    }
}

/// Every distinct mark key (see the module documentation).
#[derive(Debug, Default)]
pub struct MarkSet {
    state: RwLock<Snapshot>,
    merging: AtomicBool,
}

/// The mark keys as of one moment: what a screening request reads.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    base: Option<KeySet>,
    levels: Vec<KeySet>,
    recent: Arc<Vec<String>>,
}

/// Builds a set from keys in any order.
fn build(mut keys: Vec<&[u8]>) -> KeySet {
    keys.sort_unstable();
    keys.dedup();
    let mut builder = SetBuilder::memory();
    for key in keys {
        // Sorted and unique: insertion cannot fail.
        let _ = builder.insert(key);
    }
    Arc::new(Keys::new(builder.into_set()))
}

/// The union of sets, built into one.
fn union_of<'a>(sets: impl Iterator<Item = &'a Set<Vec<u8>>>) -> Set<Vec<u8>> {
    let mut op = fst::set::OpBuilder::new();
    for set in sets {
        op.push(set.stream());
    }
    let mut stream = op.union();
    let mut builder = SetBuilder::memory();
    while let Some(key) = stream.next() {
        // The union streams keys in order, once each.
        let _ = builder.insert(key);
    }
    builder.into_set()
}

/// The union of `sets`, both directions merged as streams (no sorting).
fn union(sets: &[KeySet]) -> KeySet {
    Arc::new(Keys {
        forward: union_of(sets.iter().map(|keys| &keys.forward)),
        backward: union_of(sets.iter().map(|keys| &keys.backward)),
    })
}

impl MarkSet {
    /// A snapshot for one reader: cheap (the sets are shared, not copied).
    pub fn snapshot(&self) -> Snapshot {
        self.state.read().map(|s| s.clone()).unwrap_or_default()
    }

    /// Forgets every key (tests of the fallback and of the load).
    #[cfg(test)]
    pub(crate) fn clear(&self) {
        if let Ok(mut state) = self.state.write() {
            *state = Snapshot::default();
        }
    }

    /// Installs the base built from the store at open (see [`Keys::new`]).
    pub fn install_base(&self, keys: Keys) {
        if let Ok(mut state) = self.state.write() {
            if state.base.is_none() {
                state.base = Some(Arc::new(keys));
            }
        }
    }

    /// Adds keys the writer has just committed.
    pub fn add(self: &Arc<Self>, keys: impl IntoIterator<Item = String>) {
        let mut merge = false;
        if let Ok(mut state) = self.state.write() {
            let recent = Arc::make_mut(&mut state.recent);
            recent.extend(keys);
            if recent.len() >= FLUSH_KEYS {
                let level = build(recent.iter().map(String::as_bytes).collect());
                recent.clear();
                state.levels.push(level);
                merge = state.levels.len() > MAX_LEVELS;
            }
        }
        if merge && !self.merging.swap(true, Ordering::AcqRel) {
            let set = Arc::clone(self);
            let spawned = std::thread::Builder::new()
                .name("screen-marks".to_owned())
                .spawn(move || {
                    set.merge();
                    set.merging.store(false, Ordering::Release);
                });
            if spawned.is_err() {
                // No thread: merge here rather than let the levels grow.
                self.merge();
                self.merging.store(false, Ordering::Release);
            }
        }
    }

    /// Merges levels until at most [`MAX_LEVELS`] are left (at least once): the newest ones
    /// of similar size into one (sizes stay geometric, so a key is copied a logarithmic number
    /// of times), or every level into the base when they weigh an eighth of it.
    pub fn merge(&self) {
        loop {
            if !self.merge_once() {
                return;
            }
            if self
                .state
                .read()
                .map_or(true, |s| s.levels.len() <= MAX_LEVELS)
            {
                return;
            }
        }
    }

    /// One merge; whether it changed anything.
    fn merge_once(&self) -> bool {
        let Ok(snapshot) = self.state.read().map(|s| s.clone()) else {
            return false;
        };
        let count = snapshot.levels.len();
        let in_levels: usize = snapshot.levels.iter().map(|level| level.len()).sum();
        let into_base = snapshot
            .base
            .as_ref()
            .is_some_and(|base| count > 0 && in_levels.saturating_mul(8) >= base.len());
        // The levels merged: `from..count`.
        let from = if into_base {
            0
        } else {
            if count < 2 {
                return false;
            }
            let mut from = count - 2;
            let mut sum = snapshot.levels[from].len() + snapshot.levels[from + 1].len();
            while from > 0 && snapshot.levels[from - 1].len() <= sum.saturating_mul(2) {
                from -= 1;
                sum += snapshot.levels[from].len();
            }
            from
        };
        let mut sets = snapshot.levels[from..].to_vec();
        if into_base {
            sets.extend(snapshot.base.clone());
        }
        let merged = union(&sets);
        let Ok(mut state) = self.state.write() else {
            return false;
        };
        // Only a merge removes levels (one at a time) and the writer appends, so the levels
        // merged are still at `from..count`.
        let same = state.levels.len() >= count
            && state.levels[..count]
                .iter()
                .zip(&snapshot.levels)
                .all(|(a, b)| Arc::ptr_eq(a, b));
        if !same {
            return false;
        }
        if into_base {
            state.levels.drain(..count);
            state.base = Some(merged);
        } else {
            state.levels.splice(from..count, [merged]);
        }
        true
    }
}

impl Snapshot {
    /// Whether the base is built.
    pub fn is_ready(&self) -> bool {
        self.base.is_some()
    }

    fn sets(&self) -> impl Iterator<Item = &KeySet> {
        self.base.iter().chain(&self.levels)
    }

    /// Whether `key` is a mark key.
    pub fn contains(&self, key: &str) -> bool {
        self.sets().any(|set| set.forward.contains(key))
            || self.recent.iter().any(|recent| recent == key)
    }

    /// Calls `found` with every mark key within one edit of `key` (insertion, deletion,
    /// substitution or a swap of adjacent bytes; `key` itself included when it is one), at most
    /// [`MAX_NEAR_KEYS`] of them. A key may be reported more than once.
    ///
    /// One edit cannot touch both the first `p` and the last `q` bytes of `key` when
    /// `p + q = len - 1`, so two walks find every such mark, each with one end fixed: forwards
    /// with no edit in the first `p` bytes, and on the reversed keys with none in the last `q`.
    /// Walking from the root with an edit allowed anywhere branches at every node near the root
    /// (most of a million keys' first letters exist); a fixed end keeps each walk in a small
    /// subtree.
    pub fn near(&self, key: &str, found: &mut dyn FnMut(&str)) {
        let bytes = key.as_bytes();
        let fixed_start = bytes.len().saturating_sub(1) / 2;
        let fixed_end = bytes.len().saturating_sub(1) - fixed_start;
        let reversed: Vec<u8> = bytes.iter().rev().copied().collect();
        let (Some(forwards), Some(backwards)) = (
            OneEdit::new(bytes, fixed_start),
            OneEdit::new(&reversed, fixed_end),
        ) else {
            return;
        };
        let mut reported = 0;
        let mut unreversed: Vec<u8> = Vec::with_capacity(bytes.len() + 1);
        for set in self.sets() {
            let go_on = forwards.walk(set.forward.as_fst(), &mut |mark| {
                if reported == MAX_NEAR_KEYS {
                    return false;
                }
                if let Ok(text) = std::str::from_utf8(mark) {
                    reported += 1;
                    found(text);
                }
                true
            }) && backwards.walk(set.backward.as_fst(), &mut |mark| {
                if reported == MAX_NEAR_KEYS {
                    return false;
                }
                unreversed.clear();
                unreversed.extend(mark.iter().rev());
                if let Ok(text) = std::str::from_utf8(&unreversed) {
                    reported += 1;
                    found(text);
                }
                true
            });
            if !go_on {
                return;
            }
        }
        for recent in self.recent.iter() {
            if reported == MAX_NEAR_KEYS {
                return;
            }
            if super::normalize::within_one_edit(bytes, recent.as_bytes()) {
                reported += 1;
                found(recent);
            }
        }
    }

    /// The marks a one-edit screening lookup of `key` considers: within one edit, not `key`
    /// itself, ASCII and of [`super::FUZZY_MIN_CHARS`] characters or more; sorted, once each.
    pub fn near_marks(&self, key: &str) -> Vec<String> {
        let mut marks: Vec<String> = Vec::new();
        self.near(key, &mut |mark| {
            if mark != key && mark.is_ascii() && mark.len() >= super::FUZZY_MIN_CHARS {
                marks.push(mark.to_owned());
            }
        });
        marks.sort_unstable();
        marks.dedup();
        marks
    }

    /// How many keys the sets hold (a key in two levels counts twice).
    pub fn len(&self) -> usize {
        self.sets().map(|set| set.len()).sum::<usize>() + self.recent.len()
    }

    /// Whether no key is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes the sets hold in memory.
    pub fn memory_bytes(&self) -> usize {
        self.sets().map(|set| set.memory_bytes()).sum::<usize>()
            + self.recent.iter().map(String::capacity).sum::<usize>()
    }
}

/// Longest key [`OneEdit`] searches around, in bytes (its states are bit sets of positions).
pub const MAX_ONE_EDIT_BYTES: usize = 126;

/// An automaton that accepts the byte strings within one edit of a query (optimal string
/// alignment: insertion, deletion, substitution, swap of two adjacent bytes), run on a
/// transducer so that only paths that can still match are walked.
///
/// A state is three bit sets over the positions `0..=n` of the query: where the input read so
/// far can stand with no edit (`exact`, at most one position), with one edit (`edited`), and
/// after the first byte of a swap (`swapping`: the input has read `query[i + 1]` at `i`).
/// Edits may be restricted to positions from `fixed` on (the first `fixed` bytes must match).
#[derive(Debug, Clone)]
pub struct OneEdit {
    query: Box<[u8]>,
    length: usize,
    /// Positions where an edit may start.
    editable: u128,
    /// For each byte value, the positions of the query that hold it.
    positions: Box<[u128; 256]>,
}

/// A state of [`OneEdit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OneEditState {
    exact: u128,
    edited: u128,
    swapping: u128,
}

impl OneEdit {
    /// The automaton around `query` with no edit in its first `fixed` bytes, or `None` when
    /// it is longer than [`MAX_ONE_EDIT_BYTES`].
    pub fn new(query: &[u8], fixed: usize) -> Option<Self> {
        if query.len() > MAX_ONE_EDIT_BYTES {
            return None;
        }
        let mut positions = Box::new([0u128; 256]);
        for (position, &byte) in query.iter().enumerate() {
            positions[usize::from(byte)] |= 1 << position;
        }
        let length = query.len();
        let valid = (1u128 << (length + 1)) - 1;
        let locked = (1u128 << fixed.min(length + 1)) - 1;
        Some(Self {
            query: query.into(),
            length,
            editable: valid & !locked,
            positions,
        })
    }

    /// Positions `0..=length`.
    fn valid(&self) -> u128 {
        (1u128 << (self.length + 1)) - 1
    }

    /// Positions `0..length` (where a byte of the query can be read).
    fn before_end(&self) -> u128 {
        (1u128 << self.length) - 1
    }

    /// Calls `found` with every key of `fst` the automaton accepts (in no set order; `found`
    /// returns `false` to stop the walk, and then so does this). The same keys as
    /// `Set::search(automaton)`, with fewer steps: that stream tries every transition of every
    /// node it reaches, but where no edit can start (the fixed end, and every byte after the
    /// edit) the state accepts only the query's bytes at its positions, so the walk follows
    /// those transitions alone (`Node::find_input`). Only along the unedited path through the
    /// editable part are all transitions tried. Recursion depth: the key's length plus one.
    pub fn walk<D: AsRef<[u8]>>(&self, fst: &Fst<D>, found: &mut dyn FnMut(&[u8]) -> bool) -> bool {
        let mut path = Vec::with_capacity(self.length + 2);
        self.walk_from(fst, fst.root(), self.start(), &mut path, found)
    }

    fn walk_from<D: AsRef<[u8]>>(
        &self,
        fst: &Fst<D>,
        node: Node<'_>,
        state: OneEditState,
        path: &mut Vec<u8>,
        found: &mut dyn FnMut(&[u8]) -> bool,
    ) -> bool {
        if node.is_final() && self.is_match(&state) && !found(path) {
            return false;
        }
        let mut step = |byte: u8, address: CompiledAddr, path: &mut Vec<u8>| -> bool {
            let next = self.accept(&state, byte);
            if !self.can_match(&next) {
                return true;
            }
            path.push(byte);
            let go_on = self.walk_from(fst, fst.node(address), next, path, found);
            path.pop();
            go_on
        };
        if state.exact & self.editable != 0 {
            // An edit may start here: any byte can be the substituted or inserted one.
            for transition in node.transitions() {
                if !step(transition.inp, transition.addr, path) {
                    return false;
                }
            }
            return true;
        }
        // Only the query's byte at a position the state holds can be read next.
        let mut positions = (state.exact | state.edited | state.swapping) & self.before_end();
        // Bytes already followed from this node (a set of 256 bits): each once.
        let mut tried = [0u64; 4];
        while positions != 0 {
            let position = positions.trailing_zeros() as usize;
            positions &= positions - 1;
            let byte = self.query[position];
            let (word, bit) = (usize::from(byte >> 6), 1u64 << (byte & 63));
            if tried[word] & bit != 0 {
                continue;
            }
            tried[word] |= bit;
            if let Some(index) = node.find_input(byte) {
                if !step(byte, node.transition_addr(index), path) {
                    return false;
                }
            }
        }
        true
    }

    /// Adds what deleting one byte of the query reaches from the exact position.
    fn close(&self, mut state: OneEditState) -> OneEditState {
        state.edited |= ((state.exact & self.editable & self.before_end()) << 1) & self.valid();
        state
    }
}

impl Automaton for OneEdit {
    type State = OneEditState;

    fn start(&self) -> OneEditState {
        self.close(OneEditState {
            exact: 1,
            edited: 0,
            swapping: 0,
        })
    }

    fn is_match(&self, state: &OneEditState) -> bool {
        (state.exact | state.edited) & (1 << self.length) != 0
    }

    fn can_match(&self, state: &OneEditState) -> bool {
        state.exact | state.edited | state.swapping != 0
    }

    fn accept(&self, state: &OneEditState, byte: u8) -> OneEditState {
        let at = self.positions[usize::from(byte)];
        let exact = (state.exact & at) << 1;
        let may_edit = state.exact & self.editable;
        let edited = ((state.edited & at) << 1)
            // a substitution of the query's byte
            | ((may_edit & self.before_end()) << 1)
            // an inserted byte
            | may_edit
            // the second byte of a swap
            | ((state.swapping & at) << 2);
        // the first byte of a swap: the input holds query[i + 1] where the query has query[i]
        let swapping = may_edit & (at >> 1) & self.before_end();
        self.close(OneEditState {
            exact,
            edited: edited & self.valid(),
            swapping,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fst::IntoStreamer;
    use proptest::prelude::*;

    fn near_of(snapshot: &Snapshot, key: &str) -> Vec<String> {
        let mut found = Vec::new();
        snapshot.near(key, &mut |text| found.push(text.to_owned()));
        found.sort();
        found.dedup();
        found
    }

    /// A snapshot whose base holds `keys` (in any order, repeats allowed).
    fn base_of(keys: &[String]) -> Snapshot {
        let set = Arc::new(MarkSet::default());
        let mut sorted = keys.to_vec();
        sorted.sort();
        sorted.dedup();
        set.install_base(Keys::new(Set::from_iter(sorted.iter()).expect("sorted")));
        set.snapshot()
    }

    fn brute(keys: &[String], key: &str) -> Vec<String> {
        let mut found: Vec<String> = keys
            .iter()
            .filter(|other| {
                super::super::normalize::within_one_edit(key.as_bytes(), other.as_bytes())
            })
            .cloned()
            .collect();
        found.sort();
        found.dedup();
        found
    }

    #[test]
    fn finds_each_kind_of_edit() {
        let set = Arc::new(MarkSet::default());
        set.install_base(Keys::new(
            Set::from_iter(["adidas", "adidass", "hermes", "nike", "swatch"]).expect("sorted"),
        ));
        let snapshot = set.snapshot();
        assert!(snapshot.contains("nike"));
        assert!(!snapshot.contains("nik"));
        assert_eq!(near_of(&snapshot, "adibas"), ["adidas"]);
        assert_eq!(near_of(&snapshot, "aiddas"), ["adidas"]);
        assert_eq!(near_of(&snapshot, "adids"), ["adidas"]);
        assert_eq!(near_of(&snapshot, "adidas"), ["adidas", "adidass"]);
        assert_eq!(near_of(&snapshot, "hremes"), ["hermes"]);
        assert_eq!(near_of(&snapshot, "hermess"), ["hermes"]);
        assert!(near_of(&snapshot, "abibas").is_empty());
        assert!(near_of(&snapshot, "swtach1").is_empty());
    }

    #[test]
    fn keys_added_later_are_found_in_levels_recent_and_after_merges() {
        let set = Arc::new(MarkSet::default());
        set.install_base(Keys::new(Set::from_iter(["base"]).expect("sorted")));
        let keys: Vec<String> = (0..FLUSH_KEYS * (MAX_LEVELS + 3) + 7)
            .map(|n| format!("mark{n:05}"))
            .collect();
        for chunk in keys.chunks(37) {
            set.add(chunk.iter().cloned());
        }
        // Whatever the background merge is doing, every key is in the snapshot.
        let snapshot = set.snapshot();
        for key in &keys {
            assert!(snapshot.contains(key), "{key}");
        }
        assert!(snapshot.contains("base"));
        set.merge();
        let merged = set.snapshot();
        for key in keys.iter().step_by(97) {
            assert!(merged.contains(key), "{key}");
        }
        assert_eq!(near_of(&merged, "mark0001"), brute(&keys, "mark0001"));
    }

    #[test]
    fn the_walk_stops_when_asked() {
        let set = Set::from_iter(["abcdef", "abcdeg", "abcdeh", "abcdex"]).expect("sorted");
        let automaton = OneEdit::new(b"abcdez", 3).expect("short");
        let mut calls = 0;
        assert!(!automaton.walk(set.as_fst(), &mut |_| {
            calls += 1;
            calls < 2
        }));
        assert_eq!(calls, 2);
        let mut all = 0;
        assert!(automaton.walk(set.as_fst(), &mut |_| {
            all += 1;
            true
        }));
        assert_eq!(all, 4);
    }

    #[test]
    fn a_snapshot_without_base_is_not_ready() {
        let set = Arc::new(MarkSet::default());
        assert!(!set.snapshot().is_ready());
        set.add(["nike".to_owned()]);
        assert!(set.snapshot().contains("nike"));
        assert!(!set.snapshot().is_ready());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        /// The automaton on a transducer finds exactly the keys the direct comparison accepts,
        /// on short keys over a small alphabet (where edits collide most).
        #[test]
        fn the_automaton_agrees_with_the_direct_comparison(
            keys in proptest::collection::vec("[abc]{0,7}", 1..60),
            query in "[abc]{0,7}",
        ) {
            prop_assert_eq!(near_of(&base_of(&keys), &query), brute(&keys, &query));
        }

        /// The walk finds exactly the keys `fst`'s own search with the same automaton streams,
        /// whatever part of the query is fixed (the walk follows fewer transitions; it must
        /// not lose or add a key).
        #[test]
        fn the_walk_finds_what_the_transducer_search_finds(
            keys in proptest::collection::vec("[abcd]{0,9}", 1..80),
            query in "[abcd]{0,9}",
            fixed in 0usize..11,
        ) {
            let mut sorted = keys.clone();
            sorted.sort();
            sorted.dedup();
            let set = Set::from_iter(sorted.iter()).expect("sorted");
            let automaton = OneEdit::new(query.as_bytes(), fixed).expect("short");
            let mut walked: Vec<Vec<u8>> = Vec::new();
            let finished = automaton.walk(set.as_fst(), &mut |key| {
                walked.push(key.to_vec());
                true
            });
            prop_assert!(finished);
            walked.sort();
            walked.dedup();
            let searched = set.search(&automaton).into_stream().into_bytes();
            prop_assert_eq!(walked, searched);
        }

        /// The same with keys made from one word by random edits (many near each other).
        #[test]
        fn the_automaton_finds_every_edit_of_a_word(
            word in "[a-e]{1,12}",
            edits in proptest::collection::vec((0usize..4, 0usize..13, "[a-f]"), 1..40),
            query_edit in (0usize..4, 0usize..13, "[a-f]"),
        ) {
            let edit = |text: &str, (kind, at, letter): &(usize, usize, String)| {
                let mut bytes = text.as_bytes().to_vec();
                let at = (*at).min(bytes.len());
                match kind {
                    0 => bytes.insert(at, letter.as_bytes()[0]),
                    1 if at < bytes.len() => { bytes.remove(at); }
                    2 if at < bytes.len() => bytes[at] = letter.as_bytes()[0],
                    3 if at + 1 < bytes.len() => bytes.swap(at, at + 1),
                    _ => {}
                }
                String::from_utf8(bytes).expect("ASCII")
            };
            let keys: Vec<String> = edits.iter().map(|e| edit(&word, e)).chain([word.clone()]).collect();
            let query = edit(&word, &query_edit);
            prop_assert_eq!(near_of(&base_of(&keys), &query), brute(&keys, &query));
        }
    }
}
