//! The endorsements the writer recorded (protocol.md §6.8.1), in the `meta` family under their
//! own prefix, read back at start so that admission survives a restart.

use rocksdb::{Direction, IteratorMode};

use super::{Result, Store, cf, corrupt, keys};
use crate::admission::EndorsementRecord;

impl Store {
    /// Every endorsement recorded, in store order.
    pub fn endorsements(&self) -> Result<Vec<EndorsementRecord>> {
        let mut records = Vec::new();
        let iterator = self.db.iterator_cf(
            self.cf(cf::META),
            IteratorMode::From(keys::ENDORSEMENT_PREFIX, Direction::Forward),
        );
        for item in iterator {
            let (key, value) = item?;
            if !key.starts_with(keys::ENDORSEMENT_PREFIX) {
                break;
            }
            let record: EndorsementRecord = serde_json::from_slice(&value)
                .map_err(|error| corrupt(cf::META, format!("endorsement: {error}")))?;
            if keys::endorsement(record.ordinal).as_slice() != key.as_ref() {
                return Err(corrupt(
                    cf::META,
                    "endorsement stored under another ordinal",
                ));
            }
            records.push(record);
        }
        Ok(records)
    }
}
