//! The checks in front of the writer: strict decoding, the trust check (unknown authors are
//! refused before any signature work) and strict signature verification. CPU-bound: callers
//! run them on the blocking pool, never on the async executor.

use proto_types::entry::{Entry, VerifiedEntry};
use rayon::prelude::*;

use super::IngestError;
use crate::trust::Trust;

/// Decodes an entry, refuses unknown authors before any signature work, verifies strictly.
pub(super) fn verify_trusted(trust: &Trust, bytes: &[u8]) -> Result<VerifiedEntry, IngestError> {
    let entry = Entry::decode(bytes)?;
    check_trusted(trust, &entry)?;
    Ok(entry.verify()?)
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
    chunk: &[Vec<u8>],
) -> Vec<Result<VerifiedEntry, IngestError>> {
    chunk
        .par_iter()
        .map(|bytes| verify_trusted(trust, bytes))
        .collect()
}
