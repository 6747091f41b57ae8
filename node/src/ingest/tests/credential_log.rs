//! The credential log on the writer (protocol §6.10–6.11): every rule that makes a `credential`
//! or `credential_status` entry ineffective, every status transition, a credential and its
//! revocation in one group, status indexes allocated by the issuing command, and rollback.

use proto_types::body::{CredentialStatusKind, CredentialV1, Digest};

use super::*;
use crate::credential_log::{CredentialRecord, CredentialRefusal};
use crate::ingest::credential_log::{IssueError, Issued};
use crate::storage::CredentialListing;

const HOLDER_SEED: [u8; 32] = [3; 32];

fn credential_body(id: &str, right: &str, index: u32) -> Body {
    let mut value = examples::credential_log();
    value["credential_id"] = json!(id);
    value["right_id"] = json!(right);
    value["status_index"] = json!(index);
    value["subject"] = json!(SecretKey::from_seed(&HOLDER_SEED).public_key().to_did_key());
    Body::decode(EntryKind::Credential, &value).expect("a credential body")
}

fn status_body(id: &str, status: &str, reason_code: &str) -> Body {
    let value = json!({"v": 1, "credential_id": id, "status": status, "reason_code": reason_code});
    Body::decode(EntryKind::CredentialStatus, &value).expect("a credential status body")
}

fn ineffective(answer: &Result<IngestOutcome, IngestError>) -> String {
    match answer {
        Ok(IngestOutcome::Stored {
            ineffective: Some(reason),
            ..
        }) => reason.clone(),
        other => panic!("not stored as ineffective: {other:?}"),
    }
}

fn effective(answer: &Result<IngestOutcome, IngestError>) {
    assert!(
        matches!(
            answer,
            Ok(IngestOutcome::Stored {
                ineffective: None,
                ..
            })
        ),
        "{answer:?}"
    );
}

fn record(fixture: &Fixture, id: &str) -> CredentialRecord {
    fixture
        .writer
        .store
        .credential(id)
        .expect("reads")
        .unwrap_or_else(|| panic!("{id} is logged"))
}

const ID_A: &str = "urn:rightsnet:credential:aa";
const ID_B: &str = "urn:rightsnet:credential:bb";

#[test]
fn a_credential_entry_logs_the_credential_with_its_indexes() {
    let mut fixture = Fixture::new();
    let foreign = foreign_key().public_key();
    let entries = chain(&foreign_key(), [credential_body(ID_A, "FR-TM-1", 0)]);
    effective(&fixture.one(store(&entries[0])));
    let logged = record(&fixture, ID_A);
    assert_eq!(logged.entry_id, entries[0].id());
    assert_eq!(logged.issuer, foreign);
    assert_eq!(logged.authority, foreign);
    assert_eq!(logged.seq, 1);
    assert_eq!(logged.status, CredentialStatusKind::Active);
    assert_eq!(logged.status_index, 0);
    let store = &fixture.writer.store;
    let holder = SecretKey::from_seed(&HOLDER_SEED).public_key();
    for listing in [
        CredentialListing::Right("FR-TM-1"),
        CredentialListing::Holder(&holder),
    ] {
        let (found, next) = store.credentials(listing, None, 10).expect("lists");
        assert_eq!(found, vec![logged.clone()], "{listing:?}");
        assert_eq!(next, None);
    }
    let (found, _) = store
        .credentials(CredentialListing::Right("FR-TM-2"), None, 10)
        .expect("lists");
    assert!(found.is_empty(), "another right lists nothing");
    let indexed = store
        .credential_at_index(&foreign, 0)
        .expect("reads")
        .expect("index 0 is taken");
    assert_eq!(indexed.credential_id, ID_A);
    assert_eq!(
        store.highest_status_index(&foreign).expect("reads"),
        Some(0)
    );
    assert_eq!(
        store
            .highest_status_index(&own_key().public_key())
            .expect("reads"),
        None
    );
    assert_eq!(store.credential_log_version(&foreign).expect("reads"), 1);
}

#[test]
fn duplicate_ids_duplicate_indexes_and_foreign_jurisdictions_change_nothing() {
    let mut fixture = Fixture::new();
    let foreign = chain(
        &foreign_key(),
        [
            credential_body(ID_A, "FR-TM-1", 0),
            credential_body(ID_B, "FR-TM-1", 0),
            credential_body(ID_A, "FR-TM-1", 1),
            credential_body("urn:x:de", "DE-TM-1", 2),
            credential_body(ID_B, "FR-TM-1", 3),
        ],
    );
    let answers = fixture.group(foreign.iter().map(store).collect());
    effective(&answers[0]);
    assert_eq!(
        ineffective(&answers[1]),
        format!("status index 0 of this key is already taken by credential {ID_A}")
    );
    assert_eq!(
        ineffective(&answers[2]),
        format!(
            "credential {ID_A} is already logged by entry {}",
            foreign[0].id()
        )
    );
    assert_eq!(
        ineffective(&answers[3]),
        "author is not an office trusted for jurisdiction DE"
    );
    effective(&answers[4]);
    // Another authority cannot log an id that is taken; its own index 0 is free.
    let own = chain(&own_key(), [credential_body(ID_B, "FR-TM-1", 0)]);
    assert_eq!(
        ineffective(&fixture.one(store(&own[0]))),
        format!(
            "credential {ID_B} is already logged by entry {}",
            foreign[4].id()
        )
    );
    assert_eq!(record(&fixture, ID_B).status_index, 3);
    assert_eq!(
        fixture
            .writer
            .store
            .ineffective_reason(&foreign[1].id())
            .expect("reads")
            .as_deref(),
        Some(format!("status index 0 of this key is already taken by credential {ID_A}").as_str())
    );
}

#[test]
fn every_status_transition_and_revoked_is_final() {
    let mut fixture = Fixture::new();
    let foreign = foreign_key().public_key();
    let entries = chain(
        &foreign_key(),
        [
            credential_body(ID_A, "FR-TM-1", 0),
            status_body(ID_A, "active", "unspecified"), // active → active
            status_body(ID_A, "suspended", "holder_request"),
            status_body(ID_A, "suspended", "unspecified"), // suspended → suspended
            status_body(ID_A, "active", "suspension_lifted"),
            status_body(ID_A, "suspended", "misissued"),
            status_body(ID_A, "revoked", "misissued"), // suspended → revoked
            status_body(ID_A, "active", "suspension_lifted"), // revoked → active
            status_body(ID_A, "suspended", "unspecified"), // revoked → suspended
            status_body(ID_A, "revoked", "unspecified"), // revoked → revoked
            credential_body(ID_B, "FR-TM-1", 1),
            status_body(ID_B, "revoked", "key_compromise"), // active → revoked
        ],
    );
    let mut answers = Vec::new();
    for entry in &entries {
        answers.push(fixture.one(store(entry)));
    }
    effective(&answers[0]);
    assert_eq!(
        ineffective(&answers[1]),
        format!("credential {ID_A} is already active")
    );
    effective(&answers[2]);
    assert_eq!(
        ineffective(&answers[3]),
        format!("credential {ID_A} is already suspended")
    );
    effective(&answers[4]);
    effective(&answers[5]);
    effective(&answers[6]);
    for answer in &answers[7..9] {
        assert_eq!(
            ineffective(answer),
            format!("credential {ID_A} is revoked, which is final")
        );
    }
    assert_eq!(
        ineffective(&answers[9]),
        format!("credential {ID_A} is already revoked")
    );
    effective(&answers[10]);
    effective(&answers[11]);
    let a = record(&fixture, ID_A);
    assert_eq!(a.status, CredentialStatusKind::Revoked);
    assert_eq!(a.change_count, 4);
    let last = a.changes.last().expect("a change");
    assert_eq!(last.entry_id, entries[6].id());
    assert_eq!(last.previous, CredentialStatusKind::Suspended);
    let b = record(&fixture, ID_B);
    assert_eq!(b.status, CredentialStatusKind::Revoked);
    assert_eq!(
        b.changes.last().map(|change| change.entry_id),
        Some(entries[11].id())
    );
    let store = &fixture.writer.store;
    let indexed = store.credential_at_index(&foreign, 0).expect("reads");
    assert_eq!(
        indexed.map(|found| found.status),
        Some(CredentialStatusKind::Revoked)
    );
    // Two logged, five changes took effect.
    assert_eq!(store.credential_log_version(&foreign).expect("reads"), 7);
    let mut visited = Vec::new();
    store
        .status_indexes(&foreign, 0, 131_072, |found| {
            visited.push((found.status_index, found.credential_id));
            true
        })
        .expect("scans");
    assert_eq!(visited, vec![(0, ID_A.to_owned()), (1, ID_B.to_owned())]);
}

#[test]
fn a_status_for_an_unlogged_credential_or_by_another_authority_changes_nothing() {
    let mut fixture = Fixture::new();
    let foreign = chain(
        &foreign_key(),
        [
            status_body(ID_A, "revoked", "unspecified"),
            credential_body(ID_A, "FR-TM-1", 0),
        ],
    );
    let answers = fixture.group(foreign.iter().map(store).collect());
    assert_eq!(
        ineffective(&answers[0]),
        format!("credential {ID_A} is not logged")
    );
    effective(&answers[1]);
    let own = chain(&own_key(), [status_body(ID_A, "revoked", "unspecified")]);
    assert_eq!(
        ineffective(&fixture.one(store(&own[0]))),
        format!(
            "credential {ID_A} was logged by another authority ({})",
            foreign_key().public_key()
        )
    );
    assert_eq!(record(&fixture, ID_A).status, CredentialStatusKind::Active);
    // This node refuses to sign its own such entries.
    let error = fixture
        .one(append(status_body(ID_A, "suspended", "unspecified")))
        .expect_err("refused before signing");
    assert!(
        matches!(
            &error,
            IngestError::Refused(Refusal::Credential(CredentialRefusal::NotThisOffice { .. }))
        ),
        "{error:?}"
    );
    let error = fixture
        .one(append(status_body(ID_B, "revoked", "unspecified")))
        .expect_err("refused before signing");
    assert!(
        matches!(
            &error,
            IngestError::Refused(Refusal::Credential(CredentialRefusal::NotLogged(_)))
        ),
        "{error:?}"
    );
    assert_eq!(fixture.head_seq(&own_key().public_key()), Some(1));
}

#[test]
fn a_credential_and_its_revocation_in_one_group_see_each_other() {
    let mut fixture = Fixture::new();
    let entries = chain(
        &foreign_key(),
        [
            credential_body(ID_A, "FR-TM-1", 0),
            status_body(ID_A, "suspended", "unspecified"),
            status_body(ID_A, "revoked", "misissued"),
            credential_body(ID_B, "FR-TM-1", 0),
        ],
    );
    let answers = fixture.group(entries.iter().map(store).collect());
    assert_eq!(fixture.commits(), 1);
    effective(&answers[0]);
    effective(&answers[1]);
    effective(&answers[2]);
    assert!(ineffective(&answers[3]).starts_with("status index 0 of this key is already taken"));
    let logged = record(&fixture, ID_A);
    assert_eq!(logged.status, CredentialStatusKind::Revoked);
    assert_eq!(logged.changes.len(), 2);
    assert_eq!(
        fixture
            .writer
            .store
            .credential_log_version(&foreign_key().public_key())
            .expect("reads"),
        3
    );
}

type IssueAnswer = oneshot::Receiver<Result<(Value, IngestOutcome), IssueError>>;

/// An issuing command whose credential is a JSON object naming its index.
fn issue(id: &str) -> (Command, IssueAnswer) {
    let (reply, answer) = oneshot::channel();
    let id = id.to_owned();
    let build = Box::new(move |status_index: u32, _key: &SecretKey| {
        let body = match credential_body(&id, "FR-TM-1", status_index) {
            Body::Credential(body) => body,
            _ => unreachable!("a credential body"),
        };
        let body = CredentialV1 {
            digest: Digest::from_sha256(&[status_index as u8; 32]),
            ..body
        };
        Ok(Issued {
            credential: json!({"id": id, "statusIndex": status_index}),
            body,
        })
    });
    (Command::Issue { build, reply }, answer)
}

#[test]
fn issuing_allocates_status_indexes_in_order_and_survives_a_restart() {
    let mut fixture = Fixture::new();
    let own = own_key().public_key();
    let (first, mut first_answer) = issue("urn:x:1");
    let (second, mut second_answer) = issue("urn:x:2");
    fixture.writer.process_group(&mut vec![first, second]);
    let (credential, outcome) = first_answer.try_recv().expect("answered").expect("issued");
    assert_eq!(credential["statusIndex"], 0);
    assert!(matches!(
        outcome,
        IngestOutcome::Stored {
            seq: 1,
            ineffective: None,
            ..
        }
    ));
    let (credential, _) = second_answer.try_recv().expect("answered").expect("issued");
    assert_eq!(
        credential["statusIndex"], 1,
        "the same group sees index 0 taken"
    );
    // A failed commit gives out no credential and allocates nothing.
    fixture.writer.store.fail_next_commits(1);
    let (third, mut third_answer) = issue("urn:x:3");
    fixture.writer.process_group(&mut vec![third]);
    let failed = third_answer.try_recv().expect("answered");
    assert!(
        matches!(
            failed,
            Err(IssueError::Ingest(IngestError::Storage(
                StorageError::CommitFailed(_)
            )))
        ),
        "{failed:?}"
    );
    assert!(
        fixture
            .writer
            .store
            .credential("urn:x:3")
            .expect("reads")
            .is_none()
    );
    let mut fixture = fixture.reopen();
    let (fourth, mut fourth_answer) = issue("urn:x:4");
    fixture.writer.process_group(&mut vec![fourth]);
    let (credential, _) = fourth_answer.try_recv().expect("answered").expect("issued");
    assert_eq!(credential["statusIndex"], 2);
    assert_eq!(record(&fixture, "urn:x:4").issuer, own);
    // A build that fails logs nothing.
    let (reply, mut answer) = oneshot::channel();
    let build: crate::ingest::IssueFn = Box::new(|_, _| Err("no key".to_owned()));
    fixture
        .writer
        .process_group(&mut vec![Command::Issue { build, reply }]);
    assert!(matches!(
        answer.try_recv().expect("answered"),
        Err(IssueError::Build(_))
    ));
    assert_eq!(fixture.head_seq(&own), Some(3));
}
