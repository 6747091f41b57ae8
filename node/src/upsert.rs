//! Register-or-update: how an office's register, replayed by an importer, becomes entries.
//!
//! A record for a right the office has not registered becomes a `registration` entry. A record
//! for a right it has registered becomes what changed, in this order: a corrective
//! `registration` (mark, classes, dates, numbers…), `assigned` (new holder), `renewed` (later
//! expiry), and `cancelled` / `expired` / `restored` (status). An identical record writes
//! nothing, and a record whose status date is older than the right's latest change is older
//! news and writes nothing either, so importing the same file twice adds nothing (registers
//! that carry status dates replay safely even when one file holds several states of a right).
//!
//! Records come in batches (`rightsnet import` → `POST /v1/registrations/batch` →
//! [`upsert_many`]). Each record is planned against its right's current state ([`plan`], pure)
//! and its entries are queued through the bulk door for own entries
//! ([`Ingest::queue_appends`]) without waiting for the records before it, so the writer commits
//! a batch in a few groups rather than one write per record. A record of a right that has
//! entries in flight waits for them first, so it is planned against the state they made.

use std::collections::{HashMap, HashSet};

use proto_types::body::{
    Body, Holder, RegistrationV1, RightId, RightStatus, StatusChange, StatusV1,
};
use proto_types::keys::PublicKey;
use proto_types::timestamp::Date;

use crate::ingest::{Ingest, IngestError, IngestOutcome, PendingAppends, Refusal, Source};
use crate::rights::RightState;

/// Most records in one batch request.
pub const MAX_BATCH_ITEMS: usize = 1000;

/// Most records whose entries [`upsert_many`] has queued and not yet collected.
pub const MAX_RECORDS_IN_FLIGHT: usize = 1024;

/// The `reason` written in status entries made from a register record.
pub const IMPORT_REASON: &str = "register import";

/// One record of an office's register.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisterRecord {
    /// The right as the register has it now.
    pub registration: RegistrationV1,
    /// When the record's status took effect, if the register says.
    pub status_date: Option<Date>,
}

/// What a record asks of this node, given the right's current state.
#[derive(Debug, Clone, PartialEq)]
pub enum Plan {
    /// Nothing to write; this is the record's answer (empty for an application that ended
    /// before registration and is unknown here, else [`IngestOutcome::Unchanged`]).
    Done(Vec<IngestOutcome>),
    /// Entry bodies to append to the own feed, in order; then, if set, the refusal of the
    /// next change, which cannot become a valid entry (the bodies before it are still written,
    /// as they would be one by one).
    Append {
        /// The bodies.
        bodies: Vec<Body>,
        /// The refusal after them.
        then: Option<Refusal>,
    },
}

/// Whether the record differs from the state in anything a status entry cannot express.
fn needs_correction(current: &RightState, record: &RegistrationV1) -> bool {
    current.right_type != record.right_type
        || current.number != record.number
        || current.application_number != record.application_number
        || current.mark_text != record.mark_text
        || current.title != record.title
        || current.image_digest != record.image_digest
        || current.nice_classes != record.nice_classes
        || current.filing_date != record.filing_date
        || current.registration_date != record.registration_date
        // Filed → registered has no status change of its own.
        || (current.status == RightStatus::Filed && record.status == RightStatus::Registered)
}

/// Whether `record` is an application that ended before it was registered (abandoned, refused,
/// withdrawn: `cancelled`, with no registration date). It was never a right: for a right the node does
/// not know it writes nothing; for a known (filed) one it is the status change that ends it.
pub fn never_registered(record: &RegistrationV1) -> bool {
    // Only `cancelled`: that is how importers write a dead application (docs/IMPORT.md); an
    // `expired` record without a registration date may be a registration whose register left
    // the date out, and is kept.
    record.registration_date.is_none() && record.status == RightStatus::Cancelled
}

/// A `status` body for `right_id`, built as a typed value and checked as a received one would
/// be.
fn status_body(
    right_id: &RightId,
    change: StatusChange,
    effective_date: Date,
    new_expiry_date: Option<Date>,
    new_holder: Option<Holder>,
) -> Result<Body, Refusal> {
    let body = StatusV1 {
        v: 1,
        right_id: right_id.clone(),
        change,
        effective_date,
        new_expiry_date,
        new_holder,
        reason: Some(IMPORT_REASON.to_owned()),
        reference: None,
    };
    body.validate().map_err(Refusal::InvalidRecord)?;
    Ok(Body::Status(body))
}

/// Plans `record` against `current`, the right's state (none when unknown), for the office
/// whose original key is `own`, on `today`.
pub fn plan(
    current: Option<&RightState>,
    record: &RegisterRecord,
    own: &PublicKey,
    today: &Date,
) -> Result<Plan, Refusal> {
    let RegisterRecord {
        registration: record,
        status_date,
    } = record;
    let Some(current) = current else {
        if never_registered(record) {
            return Ok(Plan::Done(Vec::new()));
        }
        return Ok(Plan::Append {
            bodies: vec![Body::Registration(record.clone())],
            then: None,
        });
    };
    if current.registered_by != *own {
        return Err(Refusal::RegisteredByOther {
            right_id: current.right_id.clone(),
            registered_by: current.registered_by.to_did_key(),
        });
    }
    let unchanged = || {
        Plan::Done(vec![IngestOutcome::Unchanged {
            last_entry: current.last_entry,
        }])
    };
    // A record dated before the right's latest change is older news (a file replayed, or an
    // earlier line of the same file): it changes nothing.
    let latest = current
        .history
        .iter()
        .map(|item| &item.effective_date)
        .max();
    if let (Some(date), Some(latest)) = (status_date, latest) {
        if date < latest {
            return Ok(unchanged());
        }
    }
    let effective = status_date.clone().unwrap_or_else(|| today.clone());
    let mut bodies = Vec::new();
    let append = |bodies: Vec<Body>, then: Option<Refusal>| Ok(Plan::Append { bodies, then });
    // Filed → registered has no status change of its own: the correction that registers an
    // application also sets the expiry of its first term (protocol §6.3).
    let registers_filed =
        current.status == RightStatus::Filed && record.status == RightStatus::Registered;
    let expiry_after_correction = if registers_filed {
        record.expiry_date.clone()
    } else {
        current.expiry_date.clone()
    };
    if needs_correction(current, record) {
        // Correct the record but keep holder, expiry and status: those follow as status entries.
        let mut correction = record.clone();
        correction.holder = current.holder.clone();
        correction.expiry_date = expiry_after_correction.clone();
        if !registers_filed {
            correction.status = current.status;
        }
        bodies.push(Body::Registration(correction));
    }
    if record.holder != current.holder && current.status != RightStatus::Cancelled {
        match status_body(
            &record.right_id,
            StatusChange::Assigned,
            effective.clone(),
            None,
            Some(record.holder.clone()),
        ) {
            Ok(body) => bodies.push(body),
            Err(refusal) => return append(bodies, Some(refusal)),
        }
    }
    let later_expiry = match (&record.expiry_date, &expiry_after_correction) {
        (Some(new), Some(old)) => new > old,
        (Some(_), None) => true,
        _ => false,
    };
    let restoring = matches!(
        current.status,
        RightStatus::Cancelled | RightStatus::Expired
    ) && record.status == RightStatus::Registered;
    if later_expiry && record.status == RightStatus::Registered && !restoring {
        // Dated by the register when it says, else from the end of the old term.
        let from = match status_date {
            Some(date) => date.clone(),
            None => current
                .expiry_date
                .clone()
                .unwrap_or_else(|| effective.clone()),
        };
        match status_body(
            &record.right_id,
            StatusChange::Renewed,
            from,
            record.expiry_date.clone(),
            None,
        ) {
            Ok(body) => bodies.push(body),
            Err(refusal) => return append(bodies, Some(refusal)),
        }
    }
    let change = match (current.status, record.status) {
        (RightStatus::Registered | RightStatus::Filed, RightStatus::Cancelled) => {
            Some(StatusChange::Cancelled)
        }
        (RightStatus::Registered | RightStatus::Filed, RightStatus::Expired) => {
            Some(StatusChange::Expired)
        }
        (RightStatus::Cancelled | RightStatus::Expired, RightStatus::Registered) => {
            Some(StatusChange::Restored)
        }
        _ => None,
    };
    if let Some(change) = change {
        let new_expiry = if change == StatusChange::Restored {
            record.expiry_date.clone()
        } else {
            None
        };
        match status_body(&record.right_id, change, effective, new_expiry, None) {
            Ok(body) => bodies.push(body),
            Err(refusal) => return append(bodies, Some(refusal)),
        }
    }
    if bodies.is_empty() {
        return Ok(unchanged());
    }
    append(bodies, None)
}

/// Registers `record` or applies what changed since the office last registered it. Returns
/// no outcome at all for an application that ended before registration and is unknown here
/// ([`never_registered`]).
/// `status_date` is when the record's status took effect, if the register says.
pub async fn upsert(
    ingest: &Ingest,
    record: RegistrationV1,
    status_date: Option<Date>,
) -> Result<Vec<IngestOutcome>, IngestError> {
    let item = Ok::<_, IngestError>(RegisterRecord {
        registration: record,
        status_date,
    });
    upsert_many(ingest, vec![item])
        .await
        .pop()
        .unwrap_or(Err(IngestError::Closed))
}

/// [`upsert`] for many records, pipelined: one result per item, in order. An item that is
/// already an error (a record the caller could not parse) is passed through in its place.
///
/// Records are planned in the order given and their entries queued without waiting for the
/// writer, except that a record of a right with entries in flight waits for those first, and
/// at most [`MAX_RECORDS_IN_FLIGHT`] records are in flight at once. A record's entries are
/// appended in order and stop at the first refused, as they would one by one.
pub async fn upsert_many<E: From<IngestError>>(
    ingest: &Ingest,
    items: Vec<Result<RegisterRecord, E>>,
) -> Vec<Result<Vec<IngestOutcome>, E>> {
    let reader = ingest.reader();
    let own = ingest.trust().root(ingest.authority());
    let today = crate::clock::today();
    // The current state of every right of the batch, read in one call on the blocking pool
    // rather than one trip to the pool per record. A right's second record in the batch reads
    // its state again (after the first one's entries are committed, if it wrote any).
    let wanted: Vec<RightId> = items
        .iter()
        .filter_map(|item| item.as_ref().ok())
        .map(|record| record.registration.right_id.clone())
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let mut prefetched: HashMap<RightId, Result<Option<RightState>, IngestError>> = reader
        .run(move |store| {
            Ok::<_, IngestError>(
                wanted
                    .into_iter()
                    .map(|id| {
                        let state = store.right(id.as_str()).map_err(IngestError::from);
                        (id, state)
                    })
                    .collect(),
            )
        })
        .await
        .unwrap_or_default();
    let mut touched: HashSet<RightId> = HashSet::new();
    let mut results: Vec<Option<Result<Vec<IngestOutcome>, E>>> =
        std::iter::repeat_with(|| None).take(items.len()).collect();
    let mut in_flight = InFlight::default();
    for (index, item) in items.into_iter().enumerate() {
        let record = match item {
            Ok(record) => record,
            Err(error) => {
                results[index] = Some(Err(error));
                continue;
            }
        };
        let right_id = record.registration.right_id.clone();
        if in_flight.rights.contains(&right_id) || in_flight.queued.len() >= MAX_RECORDS_IN_FLIGHT {
            in_flight.collect(&mut results).await;
        }
        let current = match prefetched.remove(&right_id) {
            Some(state) if !touched.contains(&right_id) => state,
            _ => {
                let read_id = right_id.clone();
                reader
                    .run(move |store| store.right(read_id.as_str()))
                    .await
                    .map_err(IngestError::from)
            }
        };
        let planned = current.and_then(|current| {
            plan(current.as_ref(), &record, &own, &today).map_err(IngestError::from)
        });
        let (bodies, then) = match planned {
            Ok(Plan::Done(outcomes)) => {
                results[index] = Some(Ok(outcomes));
                continue;
            }
            Ok(Plan::Append { bodies, then }) => (bodies, then),
            Err(error) => {
                results[index] = Some(Err(error.into()));
                continue;
            }
        };
        if bodies.is_empty() {
            let refusal = then.map_or(IngestError::Closed, IngestError::from);
            results[index] = Some(Err(refusal.into()));
            continue;
        }
        match ingest.queue_appends(bodies, Source::Bulk).await {
            Ok(pending) => {
                touched.insert(right_id.clone());
                in_flight.rights.insert(right_id);
                in_flight.queued.push((index, pending, then));
            }
            Err(error) => results[index] = Some(Err(error.into())),
        }
    }
    in_flight.collect(&mut results).await;
    results
        .into_iter()
        .map(|result| result.unwrap_or_else(|| Err(IngestError::Closed.into())))
        .collect()
}

/// Records whose entries are queued and not yet answered.
#[derive(Default)]
struct InFlight {
    rights: HashSet<RightId>,
    queued: Vec<(usize, PendingAppends, Option<Refusal>)>,
}

impl InFlight {
    /// Waits for every queued record and puts its result in place.
    async fn collect<E: From<IngestError>>(
        &mut self,
        results: &mut [Option<Result<Vec<IngestOutcome>, E>>],
    ) {
        for (index, pending, then) in self.queued.drain(..) {
            let result = match (pending.outcomes().await, then) {
                (Ok(_), Some(refusal)) => Err(IngestError::from(refusal)),
                (result, _) => result,
            };
            if let Some(slot) = results.get_mut(index) {
                *slot = Some(result.map_err(E::from));
            }
        }
        self.rights.clear();
    }
}

#[cfg(test)]
mod tests;
