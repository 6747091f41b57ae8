//! Every key layout of the store, as typed constructors. Nothing outside this module builds,
//! concatenates or takes apart a key; callers name *what* they look up ([`ClaimIndex`],
//! [`IndexScan`]) and storage turns it into bytes.
//!
//! Layouts (all integers big-endian, so that byte order is numeric order):
//!
//! | family | key | value |
//! |---|---|---|
//! | `entries` | entry id (32) | canonical entry bytes |
//! | `feeds`, `equivocations` | author key (32) ‖ seq (8) | entry id / proof JSON |
//! | `heads`, `rotations` | author key (32) | seq ‖ id / new key ‖ seq |
//! | `rights` | right id (UTF-8) | right state (version byte ‖ encoding, see `right_state.rs`) |
//! | `tlog` | author key (32) ‖ level (1) ‖ index (8) | the node's hash (32) |
//! | `checkpoints` | `c` ‖ author key (32) ‖ size (8) | root (32) ‖ the checkpoint note, author's signature only |
//! | `checkpoints` | `s` ‖ author key (32) ‖ size (8) ‖ witness key (32) | the cosignature line (UTF-8, newline included) |
//! | `checkpoints` | `w` ‖ author key (32) | this node's witness state: last cosigned size (8) ‖ root (32) |
//! | `checkpoints` | `x` ‖ author key (32) ‖ proof id (32) | a checkpoint equivocation proof, JSON |
//! | `meta` | `endorsement` ‖ 0 ‖ ordinal (8) | an effective endorsement, JSON (`admission::EndorsementRecord`) |
//! | `index_*` | tag (1) ‖ indexed value ‖ 0 ‖ right id or entry id | empty |
//!
//! In `index_screen` (issue 16): `e` ‖ mark key ‖ 0 ‖ right id, and for keys of six characters
//! or more `p` / `s` ‖ key length (1) ‖ first / second half ‖ 0 ‖ mark key ‖ 0 ‖ right id
//! ([`crate::screening::mark_keys`]).
//!
//! Index tags: `t` mark token, `m` whole folded mark, `k` holder key, `n` folded holder name,
//! `c` Nice class (1 byte) ‖ jurisdiction, `j` jurisdiction; in `index_claims`: `l` listing,
//! `h` holder, `o` notice nonce, `r` right id, `s` seller reference, `n` notice id, `k` kind.
//! The credential log (protocol §6.10–6.11) keeps its records in `index_claims` too, under
//! uppercase tags of its own ([`CredentialKey`]): `C` ‖ credential id ‖ 0 → the record (version
//! byte `0x01` ‖ JSON); `R` ‖ right id ‖ 0 ‖ order (16) ‖ credential id and `H` ‖ holder did ‖ 0
//! ‖ order (16) ‖ credential id → empty, where order is the `credential` entry's timestamp
//! (milliseconds, sign bit flipped, big-endian) then its seq (u64 BE), so one feed's credentials
//! list in feed order even within a millisecond; `I` ‖ issuer did ‖ 0 ‖ status index (u32 BE) →
//! status byte (`a`ctive, `s`uspended, `r`evoked) ‖ credential id; `V` ‖ issuer did ‖ 0 → the
//! issuer key's log version (u64 BE), counting every credential logged and every status change.

use proto_types::body::Body;
use proto_types::entry::{Entry, EntryId};
use proto_types::keys::PublicKey;
use proto_types::tlog::NodeId;

use super::IndexFamily;
use crate::rights::RightState;
use crate::screening::{self, Half};
use crate::text;

/// Byte that ends the indexed value of an index key.
const SEPARATOR: u8 = 0;

/// Tags of `index_screen` (see [`screen_exact_prefix`] and [`screen_half_prefix`]).
const SCREEN_EXACT_TAG: u8 = b'e';
const SCREEN_PREFIX_TAG: u8 = b'p';
const SCREEN_SUFFIX_TAG: u8 = b's';

/// `e ‖ key ‖ 0`: the prefix of every right whose mark's screening key is `key`.
pub(super) fn screen_exact_prefix(key: &str, out: &mut Vec<u8>) {
    out.clear();
    out.push(SCREEN_EXACT_TAG);
    out.extend_from_slice(key.as_bytes());
    out.push(SEPARATOR);
}

/// The mark key of an `e ‖ key ‖ 0 ‖ right id` key of `index_screen` (`None` for a half key).
pub(super) fn screen_exact_key(index_key: &[u8]) -> Option<&str> {
    let rest = index_key.strip_prefix(&[SCREEN_EXACT_TAG])?;
    let end = rest.iter().position(|&byte| byte == SEPARATOR)?;
    std::str::from_utf8(&rest[..end]).ok()
}

/// The first byte of every exact key of `index_screen` (they sort before the half keys).
pub(super) const SCREEN_EXACT_START: &[u8] = &[SCREEN_EXACT_TAG];

/// `p|s ‖ length ‖ half ‖ 0`: the prefix of every mark of `length` characters with that half.
pub(super) fn screen_half_prefix(side: Half, length: usize, half: &str, out: &mut Vec<u8>) {
    out.clear();
    out.push(match side {
        Half::Prefix => SCREEN_PREFIX_TAG,
        Half::Suffix => SCREEN_SUFFIX_TAG,
    });
    out.push(u8::try_from(length).unwrap_or(u8::MAX));
    out.extend_from_slice(half.as_bytes());
    out.push(SEPARATOR);
}

/// The prefix RocksDB filters `index_screen` keys by (its prefix extractor): up to and with
/// the first separator — `e ‖ key ‖ 0` or `p|s ‖ length ‖ half ‖ 0`. Lengths are 6..=64 and
/// keys hold no zero byte, so the first zero is the separator.
pub(super) fn screen_filter_prefix(key: &[u8]) -> &[u8] {
    match key.iter().position(|&byte| byte == SEPARATOR) {
        Some(position) => &key[..=position],
        None => key,
    }
}

/// `author ‖ seq`: the key of a feed position and of an equivocation proof.
pub(super) fn feed(author: &PublicKey, seq: u64) -> [u8; 40] {
    let mut key = [0u8; 40];
    key[..32].copy_from_slice(&author.to_bytes());
    key[32..].copy_from_slice(&seq.to_be_bytes());
    key
}

/// `author ‖ level ‖ index`: the key of a stored tree node (family `tlog`).
pub(super) fn tree_node(author: &PublicKey, node: &NodeId) -> [u8; 41] {
    let mut key = [0u8; 41];
    key[..32].copy_from_slice(&author.to_bytes());
    key[32] = node.level;
    key[33..].copy_from_slice(&node.index.to_be_bytes());
    key
}

/// The first key after every node of `author`'s tree at `level`.
pub(super) fn tree_level_end(author: &PublicKey, level: u8) -> [u8; 33] {
    let mut key = [0u8; 33];
    key[..32].copy_from_slice(&author.to_bytes());
    // Level 255 never exists (levels stop at 63), so this does not overflow into a real key.
    key[32] = level.saturating_add(1);
    key
}

/// The index of a `tlog` key, if it is one.
pub(super) fn tree_node_index(key: &[u8]) -> Option<u64> {
    let index: [u8; 8] = key.get(33..41)?.try_into().ok()?;
    (key.len() == 41).then(|| u64::from_be_bytes(index))
}

/// Tags of the `checkpoints` family (see the module's table).
const CHECKPOINT_TAG: u8 = b'c';
const COSIGNATURE_TAG: u8 = b's';
const WITNESS_STATE_TAG: u8 = b'w';
const SPLIT_VIEW_TAG: u8 = b'x';

/// `tag ‖ author`: the prefix of one feed's keys of one kind in `checkpoints`.
fn checkpoint_family_prefix(tag: u8, author: &PublicKey) -> [u8; 33] {
    let mut key = [0u8; 33];
    key[0] = tag;
    key[1..].copy_from_slice(&author.to_bytes());
    key
}

/// `c ‖ author ‖ size`: a stored checkpoint of `author`'s feed.
pub(super) fn checkpoint(author: &PublicKey, size: u64) -> [u8; 41] {
    let mut key = [0u8; 41];
    key[..33].copy_from_slice(&checkpoint_family_prefix(CHECKPOINT_TAG, author));
    key[33..].copy_from_slice(&size.to_be_bytes());
    key
}

/// `c ‖ author`: the prefix of every checkpoint of `author`'s feed.
pub(super) fn checkpoint_prefix(author: &PublicKey) -> [u8; 33] {
    checkpoint_family_prefix(CHECKPOINT_TAG, author)
}

/// The size of a checkpoint key or a cosignature key (the 8 bytes after tag and author).
pub(super) fn checkpoint_size(key: &[u8]) -> Option<u64> {
    let size: [u8; 8] = key.get(33..41)?.try_into().ok()?;
    Some(u64::from_be_bytes(size))
}

/// `s ‖ author ‖ size ‖ witness`: a witness's cosignature of the checkpoint at `size`.
pub(super) fn cosignature(author: &PublicKey, size: u64, witness: &PublicKey) -> [u8; 73] {
    let mut key = [0u8; 73];
    key[..41].copy_from_slice(&cosignature_prefix(author, size));
    key[41..].copy_from_slice(&witness.to_bytes());
    key
}

/// `s ‖ author ‖ size`: the prefix of every cosignature of one checkpoint.
pub(super) fn cosignature_prefix(author: &PublicKey, size: u64) -> [u8; 41] {
    let mut key = [0u8; 41];
    key[..33].copy_from_slice(&checkpoint_family_prefix(COSIGNATURE_TAG, author));
    key[33..].copy_from_slice(&size.to_be_bytes());
    key
}

/// The first key after every cosignature of the checkpoint at `size` (a range delete's end).
pub(super) fn cosignature_end(author: &PublicKey, size: u64) -> Vec<u8> {
    match size.checked_add(1) {
        Some(next) => cosignature_prefix(author, next).to_vec(),
        // No checkpoint has size u64::MAX in practice; the prefix of the next author would do.
        None => {
            let mut key = cosignature_prefix(author, size).to_vec();
            key.push(0xff);
            key
        }
    }
}

/// `w ‖ author`: this node's witness state for `author`'s feed.
pub(super) fn witness_state(author: &PublicKey) -> [u8; 33] {
    checkpoint_family_prefix(WITNESS_STATE_TAG, author)
}

/// `size ‖ root`: the value of a witness state.
pub(super) fn witness_state_value(size: u64, root: &[u8; 32]) -> [u8; 40] {
    let mut value = [0u8; 40];
    value[..8].copy_from_slice(&size.to_be_bytes());
    value[8..].copy_from_slice(root);
    value
}

/// `x ‖ author ‖ proof id`: a checkpoint equivocation proof against `author`.
pub(super) fn split_view(author: &PublicKey, proof_id: &[u8; 32]) -> [u8; 65] {
    let mut key = [0u8; 65];
    key[..33].copy_from_slice(&checkpoint_family_prefix(SPLIT_VIEW_TAG, author));
    key[33..].copy_from_slice(proof_id);
    key
}

/// `x ‖ author`: the prefix of every checkpoint equivocation proof against `author`.
pub(super) fn split_view_prefix(author: &PublicKey) -> [u8; 33] {
    checkpoint_family_prefix(SPLIT_VIEW_TAG, author)
}

/// `x`: the prefix of every checkpoint equivocation proof.
pub(super) const SPLIT_VIEW_ALL_PREFIX: &[u8] = &[SPLIT_VIEW_TAG];

/// The author of a `checkpoints` key (the 32 bytes after its tag).
pub(super) fn checkpoint_author(key: &[u8]) -> Option<[u8; 32]> {
    key.get(1..33)?.try_into().ok()
}

/// The key of a right's state: its id, as UTF-8.
pub(super) fn right(right_id: &str) -> &[u8] {
    right_id.as_bytes()
}

/// `seq ‖ id`: the value of a feed head.
pub(super) fn head_value(seq: u64, id: &EntryId) -> [u8; 40] {
    let mut value = [0u8; 40];
    value[..8].copy_from_slice(&seq.to_be_bytes());
    value[8..].copy_from_slice(&id.0);
    value
}

/// `new key ‖ seq ‖ entry id [‖ compromised_since]`: the value of a key rotation
/// ([`super::rotations`]).
pub(super) fn rotation_value(rotation: &crate::trust::Rotation) -> Vec<u8> {
    let mut value = Vec::with_capacity(80);
    value.extend_from_slice(&rotation.new_key.to_bytes());
    value.extend_from_slice(&rotation.seq.to_be_bytes());
    value.extend_from_slice(&rotation.entry_id.0);
    if let Some(since) = rotation.compromised_since {
        value.extend_from_slice(&since.to_be_bytes());
    }
    value
}

/// The `meta` key prefix of compromise undo markers; the old key follows.
pub(super) const UNDO_MARKER_PREFIX: &[u8] = b"undo_compromise/";

/// The `meta` key of the undo marker of `old`.
pub(super) fn undo_marker(old: &PublicKey) -> Vec<u8> {
    [UNDO_MARKER_PREFIX, &old.to_bytes()].concat()
}

/// `next seq ‖ end seq`: the value of an undo marker.
pub(super) fn undo_marker_value(next_seq: u64, end_seq: u64) -> [u8; 16] {
    let mut value = [0u8; 16];
    value[..8].copy_from_slice(&next_seq.to_be_bytes());
    value[8..].copy_from_slice(&end_seq.to_be_bytes());
    value
}

/// Every `index_claims` key of a notice, decision or counter-notice (none for other kinds).
pub(super) fn claim_keys(entry: &Entry) -> Vec<Vec<u8>> {
    let id = entry.id();
    let mut keys = Vec::new();
    let mut put = |index: ClaimIndex, value: &[u8]| keys.push(claim(index, value, &id));
    match entry.body() {
        Body::Notice(notice) => {
            for listing in &notice.notice.listings {
                put(ClaimIndex::Listing, listing.id.as_bytes());
            }
            put(
                ClaimIndex::Holder,
                notice.notice.holder.to_did_key().as_bytes(),
            );
            put(ClaimIndex::Nonce, notice.notice.nonce.as_bytes());
            put(
                ClaimIndex::Right,
                notice.notice.right_id.as_str().as_bytes(),
            );
        }
        Body::Decision(decision) => {
            for listing in &decision.listing_ids {
                put(ClaimIndex::Listing, listing.as_bytes());
            }
            put(ClaimIndex::SellerRef, decision.seller_ref.as_bytes());
            put(ClaimIndex::Notice, decision.notice_id.to_hex().as_bytes());
        }
        Body::CounterNotice(counter) => {
            put(ClaimIndex::Kind, b"counter_notice");
            put(ClaimIndex::SellerRef, counter.seller_ref.as_bytes());
            put(ClaimIndex::Notice, counter.notice_id.to_hex().as_bytes());
        }
        _ => {}
    }
    keys
}

/// The prefix of every endorsement key in `meta`: no other `meta` key starts with it.
pub(super) const ENDORSEMENT_PREFIX: &[u8] = b"endorsement\0";

/// `endorsement ‖ 0 ‖ ordinal`: where the endorsement recorded `ordinal`-th is kept, so that
/// the family holds them in store order.
pub(super) fn endorsement(ordinal: u64) -> Vec<u8> {
    let mut key = Vec::with_capacity(ENDORSEMENT_PREFIX.len() + 8);
    key.extend_from_slice(ENDORSEMENT_PREFIX);
    key.extend_from_slice(&ordinal.to_be_bytes());
    key
}

/// `tag ‖ parts ‖ 0 ‖ tail`.
fn index(tag: u8, parts: &[&[u8]], tail: &[u8]) -> Vec<u8> {
    let mut key =
        Vec::with_capacity(2 + tail.len() + parts.iter().map(|part| part.len()).sum::<usize>());
    key.push(tag);
    for part in parts {
        key.extend_from_slice(part);
    }
    key.push(SEPARATOR);
    key.extend_from_slice(tail);
    key
}

/// The mark index key of `right_id` under the whole token `token` (with an empty `right_id`,
/// the prefix of every key of the token's range, which [`super::TokenRange`] walks).
pub fn mark_token_entry(token: &[u8], right_id: &[u8]) -> Vec<u8> {
    index(b't', &[token], right_id)
}

/// The first mark index key after every key of the whole token `token` (and before the keys
/// of longer tokens that begin with it): where a walk over distinct tokens seeks next.
pub fn after_mark_token(token: &[u8]) -> Vec<u8> {
    let mut key = index(b't', &[token], &[]);
    if let Some(separator) = key.last_mut() {
        *separator = SEPARATOR + 1;
    }
    key
}

/// The first key after every key that begins with `prefix` (none when there is no such key:
/// an empty prefix, or one of 0xff bytes only).
pub(super) fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

/// The part of an index key after its separator: the right id or entry id it points to.
pub fn tail(key: &[u8]) -> &[u8] {
    match key.iter().position(|&byte| byte == SEPARATOR) {
        Some(position) => key.get(position + 1..).unwrap_or_default(),
        None => &[],
    }
}

/// The indexed value of an index key: between its tag and its separator.
pub fn indexed_value(key: &[u8]) -> &[u8] {
    match key.iter().position(|&byte| byte == SEPARATOR) {
        Some(position) => key.get(1..position).unwrap_or_default(),
        None => &[],
    }
}

/// The keys a right contributes to the search indexes.
pub(super) fn right_index(state: &RightState) -> Vec<(IndexFamily, Vec<u8>)> {
    let mut keys = IndexKeys::default();
    keys.fill(state);
    keys.iter()
        .map(|(family, key)| (family, key.to_vec()))
        .collect()
}

/// The index keys of one right, built into one buffer that the writer reuses for every right
/// of a group (a registration has 6–10 of them; allocating each was a cost per entry).
#[derive(Debug, Default)]
pub(super) struct IndexKeys {
    bytes: Vec<u8>,
    keys: Vec<(IndexFamily, std::ops::Range<usize>)>,
}

impl IndexKeys {
    /// Replaces the keys with those of `state`.
    pub(super) fn fill(&mut self, state: &RightState) {
        self.bytes.clear();
        self.keys.clear();
        let right_id = right(state.right_id.as_str());
        if let Some(mark) = &state.mark_text {
            for token in text::tokens(mark) {
                self.push(IndexFamily::Mark, b't', &[token.as_bytes()], right_id);
            }
            let folded = text::fold(mark);
            if !folded.is_empty() {
                self.push(IndexFamily::Mark, b'm', &[folded.as_bytes()], right_id);
            }
        }
        if let Some(key) = &state.holder.key {
            self.push(
                IndexFamily::Holder,
                b'k',
                &[key.to_did_key().as_bytes()],
                right_id,
            );
        }
        let name = text::fold(&state.holder.name);
        if !name.is_empty() {
            self.push(IndexFamily::Holder, b'n', &[name.as_bytes()], right_id);
        }
        let jurisdiction = state.jurisdiction.as_str().as_bytes();
        for class in &state.nice_classes {
            self.push(
                IndexFamily::Class,
                b'c',
                &[&[*class], jurisdiction],
                right_id,
            );
        }
        self.push(IndexFamily::Class, b'j', &[jurisdiction], right_id);
        if let Some(screen) = state.mark_text.as_deref().and_then(screening::mark_keys) {
            self.push(
                IndexFamily::Screen,
                SCREEN_EXACT_TAG,
                &[screen.exact.as_bytes()],
                right_id,
            );
            if let Some((length, prefix, suffix)) = &screen.halves {
                for (tag, half) in [(SCREEN_PREFIX_TAG, prefix), (SCREEN_SUFFIX_TAG, suffix)] {
                    let start = self.bytes.len();
                    self.bytes.push(tag);
                    self.bytes.push(*length);
                    self.bytes.extend_from_slice(half.as_bytes());
                    self.bytes.push(SEPARATOR);
                    self.bytes.extend_from_slice(screen.exact.as_bytes());
                    self.bytes.push(SEPARATOR);
                    self.bytes.extend_from_slice(right_id);
                    self.keys
                        .push((IndexFamily::Screen, start..self.bytes.len()));
                }
            }
        }
    }

    /// Removes every key.
    pub(super) fn clear(&mut self) {
        self.bytes.clear();
        self.keys.clear();
    }

    /// `tag ‖ parts ‖ 0 ‖ tail` in `family`, as [`index`] builds it.
    fn push(&mut self, family: IndexFamily, tag: u8, parts: &[&[u8]], tail: &[u8]) {
        let start = self.bytes.len();
        self.bytes.push(tag);
        for part in parts {
            self.bytes.extend_from_slice(part);
        }
        self.bytes.push(SEPARATOR);
        self.bytes.extend_from_slice(tail);
        self.keys.push((family, start..self.bytes.len()));
    }

    /// The keys, in the order they were built.
    pub(super) fn iter(&self) -> impl Iterator<Item = (IndexFamily, &[u8])> {
        self.keys
            .iter()
            .map(|(family, range)| (*family, self.bytes.get(range.clone()).unwrap_or_default()))
    }

    /// Whether `key` of `family` is among the keys.
    pub(super) fn contains(&self, family: IndexFamily, key: &[u8]) -> bool {
        self.iter()
            .any(|(other_family, other)| other_family == family && other == key)
    }
}

/// What a notice, decision or counter-notice is indexed by in `index_claims`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimIndex {
    /// A listing id named by a notice or decision.
    Listing,
    /// The holder of a notice (`did:key`).
    Holder,
    /// A notice's nonce (replay detection).
    Nonce,
    /// The right a notice invokes.
    Right,
    /// The seller reference of a decision or counter-notice.
    SellerRef,
    /// The notice a decision or counter-notice answers (hex id).
    Notice,
    /// The entry kind (only `counter_notice` is indexed).
    Kind,
}

impl ClaimIndex {
    fn tag(self) -> u8 {
        match self {
            ClaimIndex::Listing => b'l',
            ClaimIndex::Holder => b'h',
            ClaimIndex::Nonce => b'o',
            ClaimIndex::Right => b'r',
            ClaimIndex::SellerRef => b's',
            ClaimIndex::Notice => b'n',
            ClaimIndex::Kind => b'k',
        }
    }
}

/// The key of claim entry `id` under `index` = `value`.
pub(super) fn claim(index_by: ClaimIndex, value: &[u8], id: &EntryId) -> Vec<u8> {
    index(index_by.tag(), &[value], &id.0)
}

/// The prefix of every claim key under `index` = `value`.
pub(super) fn claim_prefix(index_by: ClaimIndex, value: &[u8]) -> Vec<u8> {
    index(index_by.tag(), &[value], &[])
}

/// The credential log's keys in `index_claims` (see the module's table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialKey<'a> {
    /// The record of a credential id.
    Record(&'a str),
    /// The listing of a right: prefix, or one key with its order and credential id.
    ByRight(&'a str),
    /// The listing of a holder key (`did:key` text).
    ByHolder(&'a str),
    /// The status indexes of an issuer key (`did:key` text).
    ByIndex(&'a str),
    /// The log version of an issuer key (`did:key` text).
    Version(&'a str),
}

impl CredentialKey<'_> {
    fn tag(self) -> u8 {
        match self {
            CredentialKey::Record(_) => b'C',
            CredentialKey::ByRight(_) => b'R',
            CredentialKey::ByHolder(_) => b'H',
            CredentialKey::ByIndex(_) => b'I',
            CredentialKey::Version(_) => b'V',
        }
    }

    /// The key with nothing after its separator (a record, a version, or a range's prefix).
    pub(super) fn prefix(self) -> Vec<u8> {
        let value = match self {
            CredentialKey::Record(value)
            | CredentialKey::ByRight(value)
            | CredentialKey::ByHolder(value)
            | CredentialKey::ByIndex(value)
            | CredentialKey::Version(value) => value,
        };
        index(self.tag(), &[value.as_bytes()], &[])
    }

    /// The key with `tail` after its separator.
    pub(super) fn with_tail(self, tail: &[u8]) -> Vec<u8> {
        let mut key = self.prefix();
        key.extend_from_slice(tail);
        key
    }
}

/// The order of a listing key: a timestamp in milliseconds, sign bit flipped so that byte order
/// is numeric order, the entry's seq, then the credential id.
pub(super) fn listing_tail(millis: i64, seq: u64, credential_id: &str) -> Vec<u8> {
    let order = (millis as u64) ^ (1 << 63);
    let mut tail = order.to_be_bytes().to_vec();
    tail.extend_from_slice(&seq.to_be_bytes());
    tail.extend_from_slice(credential_id.as_bytes());
    tail
}

/// The credential id at the end of a listing key's tail.
pub(super) fn listing_credential(tail: &[u8]) -> &[u8] {
    tail.get(16..).unwrap_or_default()
}

/// A range of a search index to scan, by what it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IndexScan<'a> {
    /// Rights whose whole folded mark is this.
    MarkExact(&'a str),
    /// Rights with a mark token equal to this.
    MarkToken(&'a str),
    /// Rights with a mark token that begins with this (a right can appear once per token).
    MarkTokenPrefix(&'a str),
    /// Rights whose holder has this key.
    HolderKey(&'a PublicKey),
    /// Rights whose folded holder name begins with this.
    HolderNamePrefix(&'a str),
    /// Rights in a Nice class, optionally in one jurisdiction.
    Class {
        /// The class, 1 to 45.
        class: u8,
        /// The jurisdiction code.
        jurisdiction: Option<&'a str>,
    },
    /// Rights in a jurisdiction.
    Jurisdiction(&'a str),
}

impl IndexScan<'_> {
    /// The family the range lies in.
    pub fn family(&self) -> IndexFamily {
        match self {
            IndexScan::MarkExact(_) | IndexScan::MarkToken(_) | IndexScan::MarkTokenPrefix(_) => {
                IndexFamily::Mark
            }
            IndexScan::HolderKey(_) | IndexScan::HolderNamePrefix(_) => IndexFamily::Holder,
            IndexScan::Class { .. } | IndexScan::Jurisdiction(_) => IndexFamily::Class,
        }
    }

    /// The prefix every key of the range begins with.
    pub(super) fn prefix(&self) -> Vec<u8> {
        match self {
            IndexScan::MarkExact(folded) => index(b'm', &[folded.as_bytes()], &[]),
            IndexScan::MarkToken(token) => index(b't', &[token.as_bytes()], &[]),
            // A prefix scan over tokens: "caf" matches "cafe\0…" and "cafes\0…".
            IndexScan::MarkTokenPrefix(prefix) => [&[b't'][..], prefix.as_bytes()].concat(),
            IndexScan::HolderKey(key) => index(b'k', &[key.to_did_key().as_bytes()], &[]),
            IndexScan::HolderNamePrefix(name) => [&[b'n'][..], name.as_bytes()].concat(),
            IndexScan::Class {
                class,
                jurisdiction,
            } => match jurisdiction {
                Some(jurisdiction) => index(b'c', &[&[*class], jurisdiction.as_bytes()], &[]),
                None => vec![b'c', *class],
            },
            IndexScan::Jurisdiction(jurisdiction) => index(b'j', &[jurisdiction.as_bytes()], &[]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn author() -> PublicKey {
        proto_types::keys::SecretKey::from_seed(&[7; 32]).public_key()
    }

    #[test]
    fn a_prefix_ends_at_its_successor() {
        assert_eq!(prefix_end(b"tab"), Some(b"tac".to_vec()));
        assert_eq!(prefix_end(&[b'c', 25, 0xff]), Some(vec![b'c', 26]));
        assert_eq!(prefix_end(&[0xff, 0xff]), None);
        assert_eq!(prefix_end(b""), None);
        // Every key with the prefix sorts before the end, and the end after them.
        for key in [&b"tab"[..], b"tab\0FR-TM-1", b"tabzzz\xff\xff"] {
            assert!(key < prefix_end(b"tab").expect("an end").as_slice());
        }
    }

    #[test]
    fn feed_keys_sort_by_author_then_numeric_seq() {
        let key = feed(&author(), 258);
        assert_eq!(&key[..32], &author().to_bytes());
        assert_eq!(&key[32..], &[0, 0, 0, 0, 0, 0, 1, 2]);
        assert!(feed(&author(), 9) < feed(&author(), 10));
        assert!(feed(&author(), 255) < feed(&author(), 256));
    }

    #[test]
    fn head_and_rotation_values_are_pinned() {
        let id = EntryId([9; 32]);
        let head = head_value(3, &id);
        assert_eq!(&head[..8], &3u64.to_be_bytes());
        assert_eq!(&head[8..], &[9; 32]);
        let mut rotation = crate::trust::Rotation {
            new_key: author(),
            seq: 5,
            entry_id: id,
            compromised_since: None,
        };
        let value = rotation_value(&rotation);
        assert_eq!(value.len(), 72);
        assert_eq!(&value[..32], &author().to_bytes());
        assert_eq!(&value[32..40], &5u64.to_be_bytes());
        assert_eq!(&value[40..], &[9; 32]);
        rotation.compromised_since = Some(2);
        let value = rotation_value(&rotation);
        assert_eq!(&value[72..], &2u64.to_be_bytes());
        assert_eq!(undo_marker_value(3, 9)[..8], 3u64.to_be_bytes());
        assert!(undo_marker(&author()).starts_with(UNDO_MARKER_PREFIX));
    }

    #[test]
    fn checkpoint_keys_are_pinned_and_sort_by_size() {
        let author = author();
        let key = checkpoint(&author, 258);
        assert_eq!(key[0], b'c');
        assert_eq!(&key[1..33], &author.to_bytes());
        assert_eq!(&key[33..], &258u64.to_be_bytes());
        assert_eq!(checkpoint_size(&key), Some(258));
        assert!(checkpoint(&author, 255) < checkpoint(&author, 256));
        assert!(key.starts_with(&checkpoint_prefix(&author)));
        let witness = proto_types::keys::SecretKey::from_seed(&[8; 32]).public_key();
        let cosigned = cosignature(&author, 258, &witness);
        assert_eq!(cosigned[0], b's');
        assert_eq!(checkpoint_size(&cosigned), Some(258));
        assert_eq!(&cosigned[41..], &witness.to_bytes());
        assert!(cosigned.starts_with(&cosignature_prefix(&author, 258)));
        assert!(cosigned.as_slice() < cosignature_end(&author, 258).as_slice());
        assert!(
            cosignature_prefix(&author, 259).as_slice() >= cosignature_end(&author, 258).as_slice()
        );
        assert_eq!(witness_state(&author)[0], b'w');
        assert_eq!(witness_state_value(3, &[9; 32])[..8], 3u64.to_be_bytes());
        let proof = split_view(&author, &[5; 32]);
        assert!(proof.starts_with(&split_view_prefix(&author)));
        assert!(proof.starts_with(SPLIT_VIEW_ALL_PREFIX));
        assert_eq!(checkpoint_author(&proof), Some(author.to_bytes()));
    }

    #[test]
    fn claim_keys_are_tag_value_separator_id() {
        let id = EntryId([1; 32]);
        let key = claim(ClaimIndex::Listing, b"L-1", &id);
        let mut expected = b"lL-1\0".to_vec();
        expected.extend_from_slice(&[1; 32]);
        assert_eq!(key, expected);
        assert!(key.starts_with(&claim_prefix(ClaimIndex::Listing, b"L-1")));
        // "L-1" is not a prefix match for "L-10": the separator ends the value.
        assert!(
            !claim(ClaimIndex::Listing, b"L-10", &id)
                .starts_with(&claim_prefix(ClaimIndex::Listing, b"L-1"))
        );
        assert_eq!(tail(&key), &[1; 32]);
        assert_eq!(indexed_value(&key), b"L-1");
    }

    #[test]
    fn every_claim_index_has_its_own_tag() {
        let all = [
            ClaimIndex::Listing,
            ClaimIndex::Holder,
            ClaimIndex::Nonce,
            ClaimIndex::Right,
            ClaimIndex::SellerRef,
            ClaimIndex::Notice,
            ClaimIndex::Kind,
        ];
        let mut tags: Vec<u8> = all.iter().map(|index| index.tag()).collect();
        tags.sort_unstable();
        tags.dedup();
        assert_eq!(tags.len(), all.len());
        assert_eq!(
            String::from_utf8(all.iter().map(|index| index.tag()).collect()).unwrap(),
            "lhorsnk",
            "the on-disk tags changed: that is a schema change"
        );
    }

    #[test]
    fn scans_cover_exactly_the_keys_a_right_writes() {
        let state: RightState = serde_json::from_value(serde_json::json!({
            "right_id": "FR-TM-123",
            "right_type": "trademark",
            "jurisdiction": "FR",
            "number": "123",
            "holder": {"name": "Café Noir SA", "country": "FR"},
            "mark_text": "Café Noir",
            "nice_classes": [25, 3],
            "filing_date": "2020-01-02",
            "status": "registered",
            "registered_by": author(),
            "last_entry": EntryId([3; 32]),
            "history": [],
        }))
        .expect("a right state");
        let keys = right_index(&state);
        let mut reused = IndexKeys::default();
        reused.fill(&state);
        assert!(
            keys.iter()
                .map(|(family, key)| (*family, key.as_slice()))
                .eq(reused.iter()),
            "the reused buffer builds the same keys"
        );
        for (family, key) in &keys {
            assert!(reused.contains(*family, key));
            assert_eq!(
                key,
                &index(key[0], &[indexed_value(key)], tail(key)),
                "the buffer lays keys out as `index` does"
            );
        }
        reused.clear();
        assert_eq!(reused.iter().count(), 0);
        let covered = |scan: IndexScan<'_>| {
            keys.iter()
                .filter(|(family, key)| *family == scan.family() && key.starts_with(&scan.prefix()))
                .count()
        };
        assert_eq!(covered(IndexScan::MarkExact("cafe noir")), 1);
        assert_eq!(covered(IndexScan::MarkToken("cafe")), 1);
        assert_eq!(covered(IndexScan::MarkToken("caf")), 0);
        assert_eq!(covered(IndexScan::MarkTokenPrefix("caf")), 1);
        assert_eq!(covered(IndexScan::MarkTokenPrefix("no")), 1);
        assert_eq!(covered(IndexScan::HolderNamePrefix("cafe n")), 1);
        assert_eq!(
            covered(IndexScan::Class {
                class: 25,
                jurisdiction: Some("FR")
            }),
            1
        );
        assert_eq!(
            covered(IndexScan::Class {
                class: 25,
                jurisdiction: Some("F")
            }),
            0
        );
        assert_eq!(
            covered(IndexScan::Class {
                class: 3,
                jurisdiction: None
            }),
            1
        );
        assert_eq!(covered(IndexScan::Jurisdiction("FR")), 1);
        for (_, key) in &keys {
            // Every index key ends with the right id after a separator (the screening
            // family's half keys carry the mark key between two separators).
            let last = key.iter().rposition(|&byte| byte == SEPARATOR);
            assert_eq!(
                last.map(|position| &key[position + 1..]),
                Some(&b"FR-TM-123"[..]),
                "{key:?}"
            );
        }
    }
}
