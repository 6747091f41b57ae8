//! The credential log as the [`StatusSource`] of the status lists: the bits of a list are read
//! from the store's per-key index of status indexes (one scan of at most 131 072 positions),
//! with the compromise rules of protocol §6.9.1 and §7.5 applied from [`Trust`].

use std::sync::Arc;

use proto_types::body::CredentialStatusKind;
use proto_types::keys::PublicKey;
use proto_types::status_list::STATUS_LIST_BITS;

use super::{StatusBits, StatusSource, StatusSourceError};
use crate::credential_log;
use crate::storage::Store;
use crate::trust::Trust;

/// Positions in one list, as the store's status indexes count them.
const LIST_POSITIONS: u32 = STATUS_LIST_BITS as u32;

/// Added to a key's log version once it has rotated away: a rotation changes its lists (a
/// compromise sets the revocation bits of everything not anchored), so the cached copies must
/// be signed again.
const ROTATED_VERSION: u64 = 1 << 48;

/// The store's credential log, read with the node's trust (for rotations and compromises).
pub struct LogStatusSource {
    store: Arc<Store>,
    trust: Arc<Trust>,
}

impl LogStatusSource {
    /// The status source of `store`, judged with `trust`.
    pub fn new(store: Arc<Store>, trust: Arc<Trust>) -> Self {
        Self { store, trust }
    }

    /// Whether any key of `issuer`'s authority had a compromise rotation: then a status change
    /// of one of its credentials may lie in a compromised range, and each record is read whole.
    fn authority_compromised(&self, issuer: &PublicKey) -> bool {
        self.trust
            .key_history(issuer)
            .iter()
            .any(|(_, rotation)| rotation.compromised_since.is_some())
    }
}

fn source_error(error: impl std::fmt::Display) -> StatusSourceError {
    StatusSourceError(error.to_string())
}

impl StatusSource for LogStatusSource {
    fn version(&self, issuer: &PublicKey) -> Result<u64, StatusSourceError> {
        let logged = self
            .store
            .credential_log_version(issuer)
            .map_err(source_error)?;
        let rotated = self
            .trust
            .rotation_of(issuer)
            .map_or(0, |_| ROTATED_VERSION);
        Ok(logged.saturating_add(rotated))
    }

    fn statuses(&self, issuer: &PublicKey, list: u32) -> Result<StatusBits, StatusSourceError> {
        let mut bits = StatusBits::empty();
        let rotation = self.trust.rotation_of(issuer);
        bits.compromised = rotation.is_some_and(|rotation| rotation.compromised_since.is_some());
        bits.highest_list = self
            .store
            .highest_status_index(issuer)
            .map_err(source_error)?
            .map(|index| index / LIST_POSITIONS);
        let Some(from) = list.checked_mul(LIST_POSITIONS) else {
            return Ok(bits);
        };
        let until = from.saturating_add(LIST_POSITIONS);
        let read_records = bits.compromised || self.authority_compromised(issuer);
        let mut failure = None;
        self.store
            .status_indexes(issuer, from, until, |indexed| {
                let position = indexed.status_index - from;
                let (status, anchored) = if read_records {
                    match self.store.credential(&indexed.credential_id) {
                        Ok(Some(record)) => {
                            let (status, _) = credential_log::current(&record, |author, seq| {
                                self.trust.compromised(author, seq).is_some()
                            });
                            // Anchored (§6.10): logged below the rotation, and below the
                            // compromise point of a compromise rotation.
                            let anchored =
                                rotation.is_none_or(|rotation| rotation.anchors(record.seq));
                            (status, anchored)
                        }
                        Ok(None) => (indexed.status, false),
                        Err(error) => {
                            failure = Some(source_error(error));
                            return false;
                        }
                    }
                } else {
                    (indexed.status, true)
                };
                let set = |bitstring: &mut proto_types::status_list::StatusBitstring, on: bool| {
                    bitstring.set(position, on).map_err(source_error)
                };
                let result = set(&mut bits.revoked, status == CredentialStatusKind::Revoked)
                    .and_then(|()| {
                        set(
                            &mut bits.suspended,
                            status == CredentialStatusKind::Suspended,
                        )
                    })
                    .and_then(|()| set(&mut bits.anchored, anchored));
                if let Err(error) = result {
                    failure = Some(error);
                    return false;
                }
                true
            })
            .map_err(source_error)?;
        match failure {
            Some(error) => Err(error),
            None => Ok(bits),
        }
    }
}
