//! Invariant checks for fuzzing. Each function takes arbitrary bytes, runs one decoder or
//! verifier of this crate on them, and panics only when an invariant breaks — never because the
//! input is bad, which every decoder must refuse with an error. The `cargo fuzz` targets in
//! `fuzz/` call these functions, and the seeds kept in `fuzz/seeds/` are replayed through them
//! by `proto-types/tests/fuzz_seeds.rs` in the normal test suite, so a finding stays fixed.
//!
//! Invariants checked:
//! - strict JSON: a document that parses canonicalises, its canonical form parses back to the
//!   same value, and canonicalising is idempotent;
//! - entries: a decoded entry's id is the SHA-256 of its canonical bytes, decoding those bytes
//!   gives the same entry, and signature verification returns (valid or not) without panicking;
//! - notices: a notice that decodes keeps exactly the canonical form of what was received;
//! - notices and credentials: verification of any JSON returns a result;
//! - sync messages: a request or response that decodes re-encodes to bytes that decode to the
//!   same message (and encoding is deterministic), and checking a response against any request returns a result;
//! - transparency texts: a tile path, signed note, checkpoint, tlog-proof or entry bundle that
//!   parses formats back to exactly the bytes received (one spelling each), and checkpoint,
//!   cosignature and proof verification and witness policies return a result.

// A fuzz oracle reports a broken invariant by panicking: that is what the fuzzer detects.
#![allow(clippy::panic)]

use sha2::{Digest, Sha256};

use crate::body::HolderNotice;
use crate::checkpoint::policy::WitnessPolicy;
use crate::checkpoint::tlog_proof::TlogProof;
use crate::checkpoint::{Checkpoint, verify_feed_checkpoint};
use crate::entry::Entry;
use crate::note::Note;
use crate::sync::{self, SyncRequest, SyncResponse};
use crate::tlog::{self, MAX_ENTRIES_PER_BUNDLE};
use crate::{claims, data_integrity, jcs};

/// Strict JSON parsing and RFC 8785 canonicalisation.
pub fn json(data: &[u8]) {
    let Ok(value) = jcs::parse(data) else {
        return;
    };
    let Ok(canonical) = jcs::canonicalize(&value) else {
        return;
    };
    let reparsed = match jcs::parse(&canonical) {
        Ok(reparsed) => reparsed,
        Err(error) => panic!("canonical form does not parse: {error}"),
    };
    match jcs::canonicalize(&reparsed) {
        Ok(again) if again == canonical => {}
        Ok(_) => panic!("canonicalisation is not idempotent"),
        Err(error) => panic!("canonical form does not canonicalise: {error}"),
    }
}

/// Feed entry decoding and verification.
pub fn entry(data: &[u8]) {
    let Ok(entry) = Entry::decode(data) else {
        return;
    };
    let digest: [u8; 32] = Sha256::digest(entry.canonical_bytes()).into();
    if entry.id().0 != digest {
        panic!("entry id is not the SHA-256 of its canonical bytes");
    }
    match Entry::decode(entry.canonical_bytes()) {
        Ok(again) if again.id() == entry.id() => {}
        Ok(_) => panic!("decoding the canonical bytes gives another entry"),
        Err(error) => panic!("canonical bytes of a decoded entry do not decode: {error}"),
    }
    let _ = entry.verify();
}

/// Holder notice decoding and verification: a notice that decodes keeps exactly what was
/// received, in canonical form (what a marketplace records and the holder's signature covers).
pub fn notice(data: &[u8]) {
    let Ok(value) = jcs::parse(data) else {
        return;
    };
    let _ = claims::verify_notice(&value);
    let Ok(notice) = HolderNotice::decode(&value) else {
        return;
    };
    let Some(received) = notice.received() else {
        panic!("a decoded notice does not keep what it was decoded from");
    };
    match (jcs::canonicalize(received), jcs::canonicalize(&value)) {
        (Ok(kept), Ok(input)) if kept == input => {}
        (Ok(_), Ok(_)) => panic!("the notice kept is not the notice received"),
        _ => panic!("a decoded notice does not canonicalise"),
    }
}

/// Credential and Data Integrity proof verification.
pub fn credential(data: &[u8]) {
    if let Ok(value) = jcs::parse(data) {
        let _ = claims::verify_credential(&value);
        let _ = data_integrity::verify(&value);
    }
}

/// Sync message decoding (`/rightsnet/sync/1`): the same bytes are tried as a request and as a
/// response, as a node receives them.
pub fn sync(data: &[u8]) {
    if let Ok(request) = sync::decode_request(data) {
        let encoded = match sync::encode_request(&request) {
            Ok(encoded) => encoded,
            Err(error) => panic!("a decoded request does not encode: {error}"),
        };
        match sync::decode_request(&encoded) {
            Ok(again) if again == request => {}
            Ok(_) => panic!("a re-encoded request decodes to another request"),
            Err(error) => panic!("a re-encoded request does not decode: {error}"),
        }
        if sync::encode_request(&request).ok().as_ref() != Some(&encoded) {
            panic!("encoding a request is not deterministic");
        }
    }
    if let Ok(response) = sync::decode_response(data) {
        let encoded = match sync::encode_response(&response) {
            Ok(encoded) => encoded,
            Err(error) => panic!("a decoded response does not encode: {error}"),
        };
        match sync::decode_response(&encoded) {
            Ok(again) if again == response => {}
            Ok(_) => panic!("a re-encoded response decodes to another response"),
            Err(error) => panic!("a re-encoded response does not decode: {error}"),
        }
        for request in [
            SyncRequest::Heads,
            SyncRequest::Range {
                author: [0; 32],
                from_seq: 1,
                limit: sync::MAX_RANGE_ENTRIES,
            },
        ] {
            let _ = response.check_answers(&request);
        }
        if let SyncResponse::Heads(heads) = &response {
            for head in heads {
                let _ = head.entry_id();
            }
        }
    }
}

/// The transparency texts (protocol §14): C2SP tile paths, signed notes, checkpoints,
/// tlog-proofs, witness policies and entry bundles, each read from the same bytes.
pub fn transparency(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(path) = tlog::parse_tile_path(text)
            && path.to_string() != text
        {
            panic!("the tile path {text:?} formats back as {path}");
        }
        if let Ok(checkpoint) = Checkpoint::parse(text)
            && checkpoint.to_text() != text
        {
            panic!("a checkpoint does not format back to its text");
        }
        if let Ok(policy) = WitnessPolicy::parse(text) {
            let _ = policy.to_text();
        }
        if let Ok(verified) = verify_feed_checkpoint(text) {
            let cosignatures = verified.rightsnet_cosignatures();
            if let Ok(policy) = WitnessPolicy::parse(text) {
                let _ = policy.satisfied_by(cosignatures.valid());
            }
        }
    }
    if let Ok(note) = Note::parse_bytes(data)
        && note.to_text().as_bytes() != data
    {
        panic!("a signed note does not format back to its bytes");
    }
    if let Ok(proof) = TlogProof::parse_bytes(data) {
        if proof.to_text().as_bytes() != data {
            panic!("a tlog-proof does not format back to its bytes");
        }
        let leaf = tlog::leaf_hash(proof.extra().unwrap_or_default());
        let _ = proof.verify(&leaf);
    }
    for count in [1, 2, MAX_ENTRIES_PER_BUNDLE] {
        if let Ok(entries) = tlog::decode_entry_bundle(data, count) {
            match tlog::encode_entry_bundle(&entries) {
                Ok(encoded) if encoded == data => {}
                Ok(_) => panic!("an entry bundle does not encode back to its bytes"),
                Err(error) => panic!("a decoded entry bundle does not encode: {error}"),
            }
        }
    }
}
