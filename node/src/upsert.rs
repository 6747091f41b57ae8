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

use std::collections::HashSet;

use proto_types::body::{
    Body, Holder, RegistrationV1, RightId, RightStatus, StatusChange, StatusV1,
};
use proto_types::keys::PublicKey;
use proto_types::timestamp::Date;

use crate::ingest::{Ingest, IngestError, IngestOutcome, PendingAppends, Refusal, Source};
use crate::rights::RightState;
use crate::storage::StoreReader;

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
    let reader = StoreReader::new(ingest.store().clone());
    let own = ingest.trust().root(ingest.authority());
    let today = crate::clock::today();
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
        let read_id = right_id.clone();
        let current = reader
            .run(move |store| store.right(read_id.as_str()))
            .await
            .map_err(IngestError::from);
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
mod tests {
    use std::sync::Arc;

    use proto_types::body::{AuthorityRole, EntryKind, Jurisdiction, examples};
    use proto_types::entry::EntryId;
    use proto_types::keys::SecretKey;
    use proto_types::timestamp::Timestamp;
    use serde_json::json;

    use super::*;
    use crate::metrics::Metrics;
    use crate::rights::{self, EntryMeta};
    use crate::trust::{Trust, TrustStore, TrustedAuthority};

    fn office() -> SecretKey {
        SecretKey::from_seed(&examples::OFFICE_SEED)
    }

    fn date(text: &str) -> Date {
        Date::parse(text).expect("a date")
    }

    fn record(number: u32) -> RegistrationV1 {
        let mut value = examples::registration();
        value["right_id"] = json!(format!("FR-TM-{number}"));
        value["number"] = json!(number.to_string());
        let Ok(Body::Registration(record)) = Body::decode(EntryKind::Registration, &value) else {
            panic!("a registration body");
        };
        record
    }

    fn item(registration: RegistrationV1, status_date: Option<Date>) -> RegisterRecord {
        RegisterRecord {
            registration,
            status_date,
        }
    }

    /// The state after `office` registered `record` at seq 1.
    fn state_of(record: &RegistrationV1) -> RightState {
        let meta = EntryMeta {
            author: office().public_key(),
            authority: office().public_key(),
            id: EntryId([1; 32]),
            seq: 1,
            timestamp: Timestamp::from_unix_millis(1_700_000_000_000).expect("a timestamp"),
        };
        rights::apply_registration(None, &meta, record).expect("applies")
    }

    #[test]
    fn an_unknown_right_is_registered_and_a_dead_application_skipped() {
        let today = date("2026-01-01");
        let own = office().public_key();
        let new = record(1);
        assert_eq!(
            plan(None, &item(new.clone(), None), &own, &today),
            Ok(Plan::Append {
                bodies: vec![Body::Registration(new.clone())],
                then: None
            })
        );
        let mut dead = new;
        dead.status = RightStatus::Cancelled;
        dead.registration_date = None;
        assert_eq!(
            plan(None, &item(dead, None), &own, &today),
            Ok(Plan::Done(Vec::new()))
        );
    }

    #[test]
    fn a_right_of_another_office_is_refused_and_old_news_changes_nothing() {
        let today = date("2026-01-01");
        let registration = record(1);
        let current = state_of(&registration);
        let stranger = SecretKey::from_seed(&[42; 32]).public_key();
        let refusal = plan(
            Some(&current),
            &item(registration.clone(), None),
            &stranger,
            &today,
        )
        .expect_err("refused");
        assert_eq!(
            refusal.to_string(),
            format!(
                "right FR-TM-1 was registered by {}, not by this office",
                office().public_key()
            )
        );
        let own = office().public_key();
        let mut changed = registration.clone();
        changed.holder.name = "Someone Else".to_owned();
        // The registration took effect on its filing date; a record dated before is older news.
        let older = item(changed, Some(date("2020-01-01")));
        let unchanged = Plan::Done(vec![IngestOutcome::Unchanged {
            last_entry: current.last_entry,
        }]);
        assert_eq!(
            plan(Some(&current), &older, &own, &today),
            Ok(unchanged.clone())
        );
        assert_eq!(
            plan(Some(&current), &item(registration, None), &own, &today),
            Ok(unchanged)
        );
    }

    #[test]
    fn changes_become_typed_status_bodies_in_order() {
        let today = date("2026-01-01");
        let own = office().public_key();
        let registration = record(1);
        let current = state_of(&registration);
        let mut changed = registration.clone();
        changed.holder.name = "Nouvelle Maison".to_owned();
        changed.expiry_date = Some(date("2044-11-04"));
        changed.mark_text = Some("ÉTOILE DU SUD".to_owned());
        let Ok(Plan::Append { bodies, then: None }) =
            plan(Some(&current), &item(changed.clone(), None), &own, &today)
        else {
            panic!("a plan with three bodies");
        };
        let kinds: Vec<EntryKind> = bodies.iter().map(Body::kind).collect();
        assert_eq!(
            kinds,
            [
                EntryKind::Registration,
                EntryKind::Status,
                EntryKind::Status
            ]
        );
        let Body::Registration(correction) = &bodies[0] else {
            unreachable!("checked above")
        };
        assert_eq!(correction.mark_text, changed.mark_text);
        assert_eq!(correction.holder, registration.holder, "the holder follows");
        let Body::Status(assigned) = &bodies[1] else {
            unreachable!("checked above")
        };
        assert_eq!(assigned.change, StatusChange::Assigned);
        assert_eq!(assigned.new_holder.as_ref(), Some(&changed.holder));
        assert_eq!(assigned.effective_date, today);
        let Body::Status(renewed) = &bodies[2] else {
            unreachable!("checked above")
        };
        assert_eq!(renewed.change, StatusChange::Renewed);
        assert_eq!(
            renewed.effective_date,
            date("2034-11-04"),
            "from the old term's end"
        );
        assert_eq!(renewed.reason.as_deref(), Some(IMPORT_REASON));
        // Built as values, they are what a received body with the same JSON decodes to.
        for body in &bodies {
            assert_eq!(
                &Body::decode(body.kind(), &body.to_value()).expect("valid"),
                body
            );
        }
    }

    #[test]
    fn a_change_that_cannot_be_an_entry_is_refused_after_the_ones_before_it() {
        let today = date("2026-01-01");
        let own = office().public_key();
        let registration = record(1);
        let current = state_of(&registration);
        let mut changed = registration;
        changed.holder.name = "Nouvelle Maison".to_owned();
        changed.expiry_date = Some(date("2040-01-01"));
        // Dated after the new expiry: the renewal would end before it starts.
        let late = item(changed, Some(date("2041-01-01")));
        let Ok(Plan::Append {
            bodies,
            then: Some(refusal),
        }) = plan(Some(&current), &late, &own, &today)
        else {
            panic!("the assignment, then a refusal");
        };
        assert_eq!(bodies.len(), 1);
        assert!(
            matches!(&bodies[0], Body::Status(status) if status.change == StatusChange::Assigned)
        );
        assert!(matches!(refusal, Refusal::InvalidRecord(_)), "{refusal:?}");
        assert!(
            refusal.to_string().starts_with("new_expiry_date: "),
            "{refusal}"
        );
    }

    /// A batch through the writer thread: results in place, a parse error passed through, and
    /// a second record of a right planned after the first one's entries.
    #[tokio::test]
    async fn a_batch_is_upserted_in_order_and_replays_as_unchanged() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let (store, store_writer) = crate::storage::Store::open(dir.path()).expect("opens");
        let trust = TrustStore::from_authorities(vec![TrustedAuthority {
            did: office().public_key(),
            name: "office".to_owned(),
            role: AuthorityRole::Office,
            jurisdictions: vec![Jurisdiction::parse("FR").expect("FR")],
        }])
        .expect("a trust store");
        let (ingest, thread) = Ingest::start(
            store_writer,
            Arc::new(Trust::new(trust, &[])),
            Arc::new(office()),
            false,
            Arc::new(Metrics::default()),
        )
        .expect("starts");
        let mut reassigned = record(1);
        reassigned.holder.name = "Nouvelle Maison".to_owned();
        let batch = || -> Vec<Result<RegisterRecord, IngestError>> {
            vec![
                Ok(item(record(1), Some(date("2026-01-15")))),
                Err(IngestError::Closed),
                Ok(item(record(2), None)),
                Ok(item(reassigned.clone(), Some(date("2026-02-01")))),
            ]
        };
        let results = upsert_many(&ingest, batch()).await;
        assert_eq!(results.len(), 4);
        let seqs: Vec<Option<u64>> = results
            .iter()
            .map(
                |result| match result.as_ref().map(|outcomes| &outcomes[..]) {
                    Ok([IngestOutcome::Stored { seq, .. }]) => Some(*seq),
                    _ => None,
                },
            )
            .collect();
        assert_eq!(seqs, [Some(1), None, Some(2), Some(3)], "{results:?}");
        assert!(matches!(results[1], Err(IngestError::Closed)));
        let right = store.right("FR-TM-1").expect("reads").expect("stored");
        assert_eq!(right.holder.name, "Nouvelle Maison");
        assert_eq!(right.history.len(), 2);

        // The same batch again writes nothing: the register dates its records, so the older
        // state of FR-TM-1 is older news.
        let again = upsert_many(&ingest, batch()).await;
        for (index, result) in again.iter().enumerate() {
            if index == 1 {
                continue;
            }
            assert!(
                matches!(
                    result.as_ref().map(|o| &o[..]),
                    Ok([IngestOutcome::Unchanged { .. }])
                ),
                "{index}: {result:?}"
            );
        }
        assert_eq!(
            store
                .head(&office().public_key())
                .expect("reads")
                .map(|head| head.seq),
            Some(3)
        );
        drop(ingest);
        thread.join().expect("the writer stops");
    }
}
