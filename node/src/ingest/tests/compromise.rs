//! Compromise rotations (protocol §6.9.1) and rotations of the node's own key (§6.9.2) on the
//! writer: the compromised range loses its effects (rights folded again, a compromised
//! registration deleted, reasons recorded), in bounded steps resumed after a restart; an own
//! rotation switches the signing key within its group and is undone by a failed commit.

use proto_types::body::{KeyRotationV1, key_rotation_proof_message};

use super::*;
use crate::ingest::compromise::UNDO_STEP_ENTRIES;
use crate::ingest::rotate::RotateRequest;

fn status(right: u32, change: &str) -> Body {
    Body::decode(
        EntryKind::Status,
        &json!({
            "v": 1,
            "right_id": format!("FR-TM-{right}"),
            "change": change,
            "effective_date": "2030-01-01",
        }),
    )
    .expect("a status body")
}

/// A compromise rotation of `old` to `new`, distrusting from `since`.
fn compromise(old: &SecretKey, new: &SecretKey, since: u64) -> Body {
    let proof = new.sign(&key_rotation_proof_message(
        &old.public_key(),
        &new.public_key(),
    ));
    Body::KeyRotation(KeyRotationV1 {
        v: 2,
        new_key: new.public_key(),
        reason: Some("compromise".to_owned()),
        new_key_proof: proof.to_multibase(),
        compromised_since: Some(since),
    })
}

fn finish_undo(fixture: &mut Fixture) {
    for _ in 0..10_000 {
        if !fixture.writer.undo_pending() {
            return;
        }
        fixture.writer.undo_step();
    }
    panic!("the undo does not finish");
}

/// The foreign office's feed: two honest registrations, then (compromised from seq 3) a
/// cancellation of the first right and a third registration, then the compromise rotation;
/// then the new key cancels the compromised registration.
struct Scenario {
    old: Vec<VerifiedEntry>,
    new: Vec<VerifiedEntry>,
    new_key: SecretKey,
}

fn scenario() -> Scenario {
    let new_key = SecretKey::generate();
    let old = chain(
        &foreign_key(),
        [
            registration(1),
            registration(2),
            status(1, "cancelled"),
            registration(3),
            compromise(&foreign_key(), &new_key, 3),
        ],
    );
    let new = chain(&new_key, [status(3, "cancelled"), status(2, "cancelled")]);
    Scenario { old, new, new_key }
}

fn check_undone(fixture: &Fixture, scenario: &Scenario) {
    let store = &fixture.writer.store;
    let rotation = &scenario.old[4];
    let reason = format!(
        "key compromised from seq 3: key_rotation entry {}",
        rotation.id()
    );
    for entry in &scenario.old[2..4] {
        assert_eq!(
            store.ineffective_reason(&entry.id()).expect("reads"),
            Some(reason.clone())
        );
    }
    for entry in [&scenario.old[0], &scenario.old[1], rotation] {
        assert_eq!(store.ineffective_reason(&entry.id()).expect("reads"), None);
    }
    // The cancellation by the compromised key no longer counts.
    let first = store.right("FR-TM-1").expect("reads").expect("still held");
    assert_eq!(first.history.len(), 1);
    assert_ne!(first.status, proto_types::body::RightStatus::Cancelled);
    // The compromised registration is no longer held, and the new key's status on it no
    // longer applies.
    assert!(store.right("FR-TM-3").expect("reads").is_none());
    let stale = store
        .ineffective_reason(&scenario.new[0].id())
        .expect("reads")
        .expect("the new key's change of a compromised right is ineffective");
    assert!(stale.contains("FR-TM-3"), "{stale}");
    // Honest changes by the new key still count.
    let second = store.right("FR-TM-2").expect("reads").expect("held");
    assert_eq!(second.status, proto_types::body::RightStatus::Cancelled);
    assert_eq!(
        fixture
            .writer
            .trust
            .compromised(&foreign_key().public_key(), 3),
        Some(rotation.id())
    );
    assert!(store.undo_markers().expect("reads").is_empty());
}

#[test]
fn a_compromise_rotation_undoes_its_range() {
    let mut fixture = Fixture::new();
    let scenario = scenario();
    for entry in scenario.old.iter().chain(&scenario.new) {
        assert!(matches!(
            fixture.one(store(entry)),
            Ok(IngestOutcome::Stored {
                ineffective: None,
                ..
            })
        ));
    }
    // Before the undo runs, the effects are still there; the marker is durable.
    assert!(fixture.writer.undo_pending());
    assert_eq!(fixture.writer.store.undo_markers().expect("reads").len(), 1);
    finish_undo(&mut fixture);
    check_undone(&fixture, &scenario);
    // Idempotent across a restart: nothing left to resume.
    let fixture = fixture.reopen();
    assert!(!fixture.writer.undo_pending());
    check_undone(&fixture, &scenario);
    let rotation = fixture
        .writer
        .trust
        .rotation_of(&foreign_key().public_key())
        .expect("stored");
    assert_eq!(rotation.compromised_since, Some(3));
    assert_eq!(rotation.new_key, scenario.new_key.public_key());
}

/// A node that receives the feed after the rotation happened elsewhere (one sync range, the
/// compromised entries, the rotation and the new key's entries in one group), killed before
/// the first undo step: the marker resumes the undo at start.
#[test]
fn an_undo_killed_before_it_ran_resumes_at_start() {
    let mut fixture = Fixture::new();
    let scenario = scenario();
    // The whole feed in one group, as a sync range brings it.
    let commands = scenario
        .old
        .iter()
        .chain(&scenario.new)
        .map(store)
        .collect();
    for answer in fixture.group(commands) {
        answer.expect("stored");
    }
    // Killed before any undo step: the marker brings it back.
    let mut fixture = fixture.reopen();
    assert!(fixture.writer.undo_pending());
    finish_undo(&mut fixture);
    check_undone(&fixture, &scenario);
}

#[test]
fn a_large_range_is_undone_in_bounded_steps() {
    let mut fixture = Fixture::new();
    let new_key = SecretKey::generate();
    let count = UNDO_STEP_ENTRIES as u32 + 40;
    let mut bodies: Vec<Body> = (1..=count).map(registration).collect();
    bodies.push(compromise(&foreign_key(), &new_key, 1));
    let entries = chain(&foreign_key(), bodies);
    let commands = entries.iter().map(store).collect();
    for answer in fixture.group(commands) {
        answer.expect("stored");
    }
    let commits = fixture.commits();
    fixture.writer.undo_step();
    assert_eq!(fixture.commits(), commits + 1);
    let markers = fixture.writer.store.undo_markers().expect("reads");
    assert_eq!(markers[0].next_seq, 1 + UNDO_STEP_ENTRIES);
    assert!(
        fixture
            .writer
            .store
            .right("FR-TM-1")
            .expect("reads")
            .is_none()
    );
    assert!(
        fixture
            .writer
            .store
            .right(&format!("FR-TM-{count}"))
            .expect("reads")
            .is_some()
    );
    finish_undo(&mut fixture);
    assert_eq!(fixture.commits(), commits + 2);
    assert!(
        fixture
            .writer
            .store
            .right(&format!("FR-TM-{count}"))
            .expect("reads")
            .is_none()
    );
}

fn rotate(
    request: RotateRequest,
) -> (
    Command,
    oneshot::Receiver<Result<RotationDone, IngestError>>,
) {
    let (reply, answer) = oneshot::channel();
    (Command::Rotate { request, reply }, answer)
}

fn routine() -> RotateRequest {
    RotateRequest {
        new_key: None,
        compromised_since: None,
        compromise: false,
        note: None,
    }
}

#[test]
fn an_own_rotation_switches_the_key_within_its_group() {
    let mut fixture = Fixture::new();
    let own = own_key().public_key();
    fixture.one(append(registration(1))).expect("stored");
    let (rotation, mut done) = rotate(routine());
    let (after, mut after_answer) = append(registration(2));
    let mut group = vec![rotation, after];
    fixture.writer.process_group(&mut group);
    let done = done.try_recv().expect("answered").expect("rotated");
    assert_eq!(done.old_key, own);
    assert_eq!(done.seq, 2);
    let after = after_answer.try_recv().expect("answered").expect("stored");
    let IngestOutcome::Stored { author, seq, .. } = after else {
        panic!("{after:?}");
    };
    assert_eq!(author, done.new_key.to_did_key());
    assert_eq!(seq, 1);
    assert_eq!(fixture.writer.keys.current().public_key(), done.new_key);
    assert_eq!(fixture.writer.trust.rotated_at(&own), Some(2));
    // The old key's feed is closed: its head is the rotation.
    assert_eq!(fixture.head_seq(&own), Some(2));
}

#[test]
fn a_failed_commit_undoes_an_own_rotation() {
    let mut fixture = Fixture::new();
    let own = own_key().public_key();
    fixture.one(append(registration(1))).expect("stored");
    fixture.writer.store.fail_next_commits(1);
    let (command, mut answer) = rotate(routine());
    fixture.writer.process_group(&mut vec![command]);
    assert!(answer.try_recv().expect("answered").is_err());
    assert_eq!(fixture.writer.keys.current().public_key(), own);
    assert!(fixture.writer.keys.keyring().pending().is_none());
    assert_eq!(fixture.writer.trust.rotated_at(&own), None);
    let next = fixture.one(append(registration(2))).expect("stored");
    assert!(matches!(next, IngestOutcome::Stored { seq: 2, .. }));
    // A compromise rotation of the own key: bounds checked before anything is signed.
    for (since, compromise) in [
        (None, true),
        (Some(4), true),
        (Some(0), true),
        (Some(1), false),
    ] {
        let (command, mut answer) = rotate(RotateRequest {
            new_key: None,
            compromised_since: since,
            compromise,
            note: None,
        });
        fixture.writer.process_group(&mut vec![command]);
        assert!(matches!(
            answer.try_recv().expect("answered"),
            Err(IngestError::InvalidRotation(_))
        ));
    }
    assert_eq!(fixture.head_seq(&own), Some(2));
    let (command, mut answer) = rotate(RotateRequest {
        new_key: None,
        compromised_since: Some(2),
        compromise: true,
        note: None,
    });
    fixture.writer.process_group(&mut vec![command]);
    let done = answer.try_recv().expect("answered").expect("rotated");
    assert_eq!(done.compromised_since, Some(2));
    finish_undo(&mut fixture);
    // Its own registration at seq 2 is distrusted now.
    assert!(
        fixture
            .writer
            .store
            .right("FR-TM-2")
            .expect("reads")
            .is_none()
    );
    assert!(
        fixture
            .writer
            .store
            .right("FR-TM-1")
            .expect("reads")
            .is_some()
    );
}
