//! The checks in front of the writer: strict decoding, the trust check (unknown authors are
//! refused before any signature work) and strict signature verification. CPU-bound: callers
//! run them on the blocking pool, never on the async executor.
//!
//! Entries are decoded once (`Entry::decode_with`: one parse, one canonicalisation, the signed
//! message cut from the canonical bytes) with the author's key from the node's [`KeyCache`],
//! and verified by `proto_types::verify_many`, which gives `verify_strict`'s verdicts without
//! decompressing `R`. It checks entries one by one: an exact batch equation costs as much as
//! that (docs/perf-notes/verify.md), so a chunk is spread over every core instead.

use proto_types::entry::{Entry, VerifiedEntry};
use proto_types::keys::KeyCache;
use proto_types::verify_many::verify_one;
use rayon::prelude::*;

use super::IngestError;
use crate::trust::Trust;

/// Decodes an entry, refuses unknown authors before any signature work, verifies strictly.
pub(super) fn verify_trusted(
    trust: &Trust,
    keys: &KeyCache,
    bytes: &[u8],
) -> Result<VerifiedEntry, IngestError> {
    let entry = Entry::decode_with(bytes, Some(keys))?;
    check_trusted(trust, &entry)?;
    Ok(verify_one(entry)?)
}

/// Refuses an entry whose author is not in the trust store.
pub(super) fn check_trusted(trust: &Trust, entry: &Entry) -> Result<(), IngestError> {
    if !trust.is_trusted(entry.author()) {
        return Err(IngestError::UnknownAuthor(entry.author().to_did_key()));
    }
    Ok(())
}

/// [`verify_trusted`] on every entry of `chunk`, on every core; one result per entry, in order.
pub(super) fn verify_chunk(
    trust: &Trust,
    keys: &KeyCache,
    chunk: &[Vec<u8>],
) -> Vec<Result<VerifiedEntry, IngestError>> {
    chunk
        .par_iter()
        .map(|bytes| verify_trusted(trust, keys, bytes))
        .collect()
}
