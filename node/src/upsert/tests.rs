//! Upsert tests: the plan as a pure function, and batches through the writer thread.

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
    assert!(matches!(&bodies[0], Body::Status(status) if status.change == StatusChange::Assigned));
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
