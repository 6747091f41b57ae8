//! Key rotations as stored (the `rotations` family) and the markers of compromise undos in
//! progress (`meta`, `undo_compromise` ‖ old key).
//!
//! A rotation's value is `new key (32) ‖ seq (u64 BE)`, then, since issue 12, `‖ entry id (32)`
//! and for a compromise rotation `‖ compromised_since (u64 BE)`: 40, 72 or 80 bytes. A 40-byte
//! value (written before) is read as a routine rotation whose entry id is looked up in the
//! old key's feed.

use proto_types::entry::EntryId;
use proto_types::keys::PublicKey;
use rocksdb::{Direction, IteratorMode};

use super::{Result, Store, cf, corrupt, keys};
use crate::trust::Rotation;

/// A compromise rotation whose undo (§6.9.1: entries of the old key in the compromised range
/// lose their effects) is not finished: the entries from `next_seq` up to `end_seq` (exclusive,
/// the rotation entry's seq) are still to be undone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UndoMarker {
    /// The compromised (old) key.
    pub old_key: PublicKey,
    /// The first seq not undone yet.
    pub next_seq: u64,
    /// The rotation entry's seq: the range ends before it.
    pub end_seq: u64,
}

fn u64_at(value: &[u8], at: usize) -> Option<u64> {
    value
        .get(at..at + 8)
        .and_then(|bytes| bytes.try_into().ok())
        .map(u64::from_be_bytes)
}

impl Store {
    /// Every key rotation stored: `(old, new, seq of the rotation entry)`.
    pub fn rotations(&self) -> Result<Vec<(PublicKey, PublicKey, u64)>> {
        Ok(self
            .rotation_records()?
            .into_iter()
            .map(|(old, rotation)| (old, rotation.new_key, rotation.seq))
            .collect())
    }

    /// Every key rotation stored, by old key, with its entry id and `compromised_since`.
    pub fn rotation_records(&self) -> Result<Vec<(PublicKey, Rotation)>> {
        let mut rotations = Vec::new();
        for item in self
            .db
            .iterator_cf(self.cf(cf::ROTATIONS), IteratorMode::Start)
        {
            let (key, value) = item?;
            let old: [u8; 32] = key
                .as_ref()
                .try_into()
                .map_err(|_| corrupt(cf::ROTATIONS, "key length"))?;
            let old = PublicKey::from_bytes(&old).map_err(|e| corrupt(cf::ROTATIONS, e))?;
            if !matches!(value.len(), 40 | 72 | 80) {
                return Err(corrupt(cf::ROTATIONS, "value length"));
            }
            let new: [u8; 32] = value[..32]
                .try_into()
                .map_err(|_| corrupt(cf::ROTATIONS, "new key"))?;
            let seq = u64_at(&value, 32).ok_or_else(|| corrupt(cf::ROTATIONS, "seq"))?;
            let entry_id = match value.get(40..72) {
                Some(id) => EntryId(id.try_into().map_err(|_| corrupt(cf::ROTATIONS, "id"))?),
                None => self.entry_id_at(&old, seq)?.unwrap_or(EntryId([0; 32])),
            };
            rotations.push((
                old,
                Rotation {
                    new_key: PublicKey::from_bytes(&new).map_err(|e| corrupt(cf::ROTATIONS, e))?,
                    seq,
                    entry_id,
                    compromised_since: u64_at(&value, 72),
                },
            ));
        }
        Ok(rotations)
    }

    /// Every compromise undo not finished (see [`UndoMarker`]).
    pub fn undo_markers(&self) -> Result<Vec<UndoMarker>> {
        let prefix = keys::UNDO_MARKER_PREFIX;
        let mut markers = Vec::new();
        for item in self.db.iterator_cf(
            self.cf(cf::META),
            IteratorMode::From(prefix, Direction::Forward),
        ) {
            let (key, value) = item?;
            let Some(old) = key.strip_prefix(prefix) else {
                break;
            };
            let old: [u8; 32] = old
                .try_into()
                .map_err(|_| corrupt(cf::META, "undo marker key"))?;
            let (Some(next_seq), Some(end_seq), 16) =
                (u64_at(&value, 0), u64_at(&value, 8), value.len())
            else {
                return Err(corrupt(cf::META, "undo marker value"));
            };
            markers.push(UndoMarker {
                old_key: PublicKey::from_bytes(&old).map_err(|e| corrupt(cf::META, e))?,
                next_seq,
                end_seq,
            });
        }
        Ok(markers)
    }
}
