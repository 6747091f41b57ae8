//! Writer tests, on a real RocksDB in a temporary directory. Most drive the writer directly,
//! one group of commands at a time (`Writer::process_group`), so that what forms a group is
//! decided by the test, not by timing; the last ones go through the handle and its thread.

use std::sync::Arc;

use proto_types::body::{AuthorityRole, Body, EntryKind, Jurisdiction, examples};
use proto_types::entry::{EntryId, UnsignedEntry, VerifiedEntry};
use proto_types::keys::{PublicKey, SecretKey};
use proto_types::timestamp::Timestamp;
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::sync::{broadcast, oneshot};

use super::writer::{Command, Writer};
use super::*;
use crate::rights::Ineffective;
use crate::storage::StorageError;
use crate::trust::{TrustStore, TrustedAuthority};

mod checkpoint;
mod compromise;
mod credential_log;
mod endorsements;
mod handle;
mod rollback;
mod tree;

/// This node's own authority.
const OWN_SEED: [u8; 32] = [11; 32];

type Answer = oneshot::Receiver<Result<IngestOutcome, IngestError>>;

/// A writer on a fresh store, with this node and a foreign office trusted for FR. The foreign
/// office is the one whose key rotation [`examples::key_rotation`] signs.
struct Fixture {
    dir: TempDir,
    writer: Writer,
    stored: broadcast::Receiver<StoredEntry>,
    metrics: Arc<Metrics>,
}

fn own_key() -> SecretKey {
    SecretKey::from_seed(&OWN_SEED)
}

fn foreign_key() -> SecretKey {
    SecretKey::from_seed(&examples::OFFICE_SEED)
}

fn trust(rotations: &[(PublicKey, PublicKey, u64)]) -> Arc<Trust> {
    let office = |key: SecretKey, name: &str| TrustedAuthority {
        did: key.public_key(),
        name: name.to_owned(),
        role: AuthorityRole::Office,
        jurisdictions: vec![Jurisdiction::parse("FR").expect("FR")],
    };
    let base = TrustStore::from_authorities(vec![
        office(own_key(), "this node"),
        office(foreign_key(), "a foreign office"),
    ])
    .expect("a trust store");
    Arc::new(Trust::new(base, rotations))
}

/// [`trust`] with the rotations as stored (entry ids, compromise points).
fn trust_with(rotations: &[(PublicKey, crate::trust::Rotation)]) -> Arc<Trust> {
    let base = (*trust(&[]).base().store()).clone();
    Arc::new(Trust::with_rotations(base, rotations))
}

impl Fixture {
    fn new() -> Self {
        Self::open(tempfile::tempdir().expect("a temporary directory"))
    }

    fn open(dir: TempDir) -> Self {
        let (_, store) = crate::storage::Store::open(dir.path()).expect("the store opens");
        let rotations = store.rotation_records().expect("rotations read");
        let metrics = Arc::new(Metrics::default());
        let (notices, stored) = broadcast::channel(STORED_BROADCAST_CAPACITY);
        let writer = Writer::new(
            store,
            trust_with(&rotations),
            Arc::new(crate::keyring::SigningKeys::new(
                crate::keyring::Keyring::single(own_key()),
                None,
            )),
            false,
            metrics.clone(),
            notices,
        );
        Self {
            dir,
            writer,
            stored,
            metrics,
        }
    }

    /// Closes the store and opens it again with a new writer (a restart).
    fn reopen(self) -> Self {
        let Self { dir, writer, .. } = self;
        drop(writer);
        Self::open(dir)
    }

    /// Runs `commands` as one group and returns their answers, in order.
    fn group(
        &mut self,
        commands: Vec<(Command, Answer)>,
    ) -> Vec<Result<IngestOutcome, IngestError>> {
        let (mut group, answers): (Vec<Command>, Vec<Answer>) = commands.into_iter().unzip();
        self.writer.process_group(&mut group);
        answers
            .into_iter()
            .map(|mut answer| answer.try_recv().expect("answered within the group"))
            .collect()
    }

    /// Runs one command as its own group.
    fn one(&mut self, command: (Command, Answer)) -> Result<IngestOutcome, IngestError> {
        self.group(vec![command]).remove(0)
    }

    fn commits(&self) -> usize {
        self.writer.store.commits_attempted()
    }

    /// Ids of the entries announced as stored since the last call, in order.
    fn notices(&mut self) -> Vec<EntryId> {
        let mut ids = Vec::new();
        while let Ok(notice) = self.stored.try_recv() {
            ids.push(notice.entry.id());
        }
        ids
    }

    fn head_seq(&self, author: &PublicKey) -> Option<u64> {
        self.writer
            .store
            .head(author)
            .expect("the head reads")
            .map(|head| head.seq)
    }
}

fn store(entry: &VerifiedEntry) -> (Command, Answer) {
    let (reply, answer) = oneshot::channel();
    let command = Command::Store {
        entry: entry.clone(),
        source: Source::Sync,
        reply,
    };
    (command, answer)
}

fn append(body: Body) -> (Command, Answer) {
    let (reply, answer) = oneshot::channel();
    let command = Command::Append {
        body,
        source: Source::Local,
        reply,
    };
    (command, answer)
}

/// A registration of right `FR-TM-<number>` with mark `mark`.
fn registration_value(number: u32, mark: &str) -> Value {
    let mut value = examples::registration();
    value["right_id"] = json!(format!("FR-TM-{number}"));
    value["number"] = json!(number.to_string());
    value["application_number"] = json!(number.to_string());
    value["mark_text"] = json!(mark);
    value
}

fn registration(number: u32) -> Body {
    Body::decode(
        EntryKind::Registration,
        &registration_value(number, "ÉTOILE"),
    )
    .expect("a registration body")
}

fn sign(key: &SecretKey, seq: u64, prev: Option<EntryId>, body: Body) -> VerifiedEntry {
    UnsignedEntry {
        seq,
        prev,
        timestamp: Timestamp::from_unix_millis(1_700_000_000_000 + seq as i64 * 1000)
            .expect("a timestamp"),
        body,
    }
    .sign(key)
    .expect("signs")
}

/// A feed of `key`: one entry per body, chained from seq 1.
fn chain(key: &SecretKey, bodies: impl IntoIterator<Item = Body>) -> Vec<VerifiedEntry> {
    let mut entries: Vec<VerifiedEntry> = Vec::new();
    for (index, body) in bodies.into_iter().enumerate() {
        let prev = entries.last().map(|entry| entry.id());
        entries.push(sign(key, index as u64 + 1, prev, body));
    }
    entries
}

fn stored(entry: &VerifiedEntry) -> IngestOutcome {
    IngestOutcome::Stored {
        id: entry.id(),
        author: entry.author().to_did_key(),
        seq: entry.seq(),
        ineffective: None,
    }
}

fn ids(entries: &[VerifiedEntry]) -> Vec<EntryId> {
    entries.iter().map(|entry| entry.id()).collect()
}

#[test]
fn a_group_of_entries_is_committed_in_one_write() {
    let mut fixture = Fixture::new();
    let foreign = foreign_key().public_key();
    let entries = chain(&foreign_key(), (1..=5).map(registration));
    let answers = fixture.group(entries.iter().map(store).collect());
    assert_eq!(fixture.commits(), 1, "five entries, one commit");
    for (answer, entry) in answers.into_iter().zip(&entries) {
        assert_eq!(answer.expect("stored"), stored(entry));
    }
    assert_eq!(fixture.head_seq(&foreign), Some(5));
    for number in 1..=5 {
        let right = fixture
            .writer
            .store
            .right(&format!("FR-TM-{number}"))
            .expect("reads")
            .expect("the right's state is stored with its entry");
        assert_eq!(right.registered_by, foreign);
    }
    assert_eq!(fixture.notices(), ids(&entries));
    assert_eq!(fixture.metrics.stored_count(), 5);
    // A group that writes nothing (duplicates only) commits nothing.
    let answers = fixture.group(entries.iter().take(2).map(store).collect());
    assert!(
        answers
            .iter()
            .all(|answer| matches!(answer, Ok(IngestOutcome::Duplicate { .. })))
    );
    assert_eq!(fixture.commits(), 1);
}

#[test]
fn a_group_writes_one_head_per_author_it_extended() {
    let mut fixture = Fixture::new();
    let foreign = foreign_key().public_key();
    let own = own_key().public_key();
    let entries = chain(&foreign_key(), (1..=6).map(registration));
    // Six foreign entries and three own appends, interleaved, in one group.
    let mut commands = Vec::new();
    for (index, entry) in entries.iter().enumerate() {
        commands.push(store(entry));
        if index % 2 == 0 {
            commands.push(append(registration(100 + index as u32)));
        }
    }
    let answers = fixture.group(commands);
    assert!(answers.iter().all(Result::is_ok), "{answers:?}");
    assert_eq!(fixture.commits(), 1);
    assert_eq!(
        fixture.writer.store.heads_in_last_commit(),
        2,
        "two authors, two head writes"
    );
    assert_eq!(fixture.head_seq(&foreign), Some(6));
    assert_eq!(fixture.head_seq(&own), Some(3));
    let foreign_head = fixture.writer.store.head(&foreign).expect("reads");
    assert_eq!(foreign_head.map(|head| head.id), Some(entries[5].id()));
    // A restart reads the heads back from the store: the next entry chains on.
    let mut fixture = fixture.reopen();
    let next = sign(&foreign_key(), 7, Some(entries[5].id()), registration(7));
    assert_eq!(fixture.one(store(&next)).expect("stored"), stored(&next));
    assert_eq!(fixture.writer.store.heads_in_last_commit(), 1);
    assert_eq!(fixture.head_seq(&foreign), Some(7));
}

#[test]
fn held_back_entries_wait_for_the_gap_and_go_in_when_it_fills() {
    let mut fixture = Fixture::new();
    let foreign = foreign_key().public_key();
    let entries = chain(&foreign_key(), (1..=6).map(registration));
    let answers = fixture.group(vec![store(&entries[3]), store(&entries[2])]);
    for (answer, entry) in answers.into_iter().zip([&entries[3], &entries[2]]) {
        assert_eq!(
            answer.expect("held back"),
            IngestOutcome::HeldBack {
                id: entry.id(),
                missing_from: 1
            }
        );
    }
    assert_eq!(
        fixture.head_seq(&foreign),
        None,
        "never stored out of order"
    );
    assert_eq!(fixture.writer.pending.len(), 2);
    assert_eq!(fixture.writer.pending_per_author.get(&foreign), Some(&2));
    assert_eq!(fixture.commits(), 0, "holding back writes nothing");

    // Seq 1 goes in; 3 and 4 still wait for 2.
    assert_eq!(
        fixture.one(store(&entries[0])).expect("stored"),
        stored(&entries[0])
    );
    assert_eq!(fixture.head_seq(&foreign), Some(1));
    assert_eq!(fixture.writer.pending.len(), 2);

    // Seq 2 fills the gap: 3 and 4 follow it, in feed order, in the same commit.
    assert_eq!(
        fixture.one(store(&entries[1])).expect("stored"),
        stored(&entries[1])
    );
    assert_eq!(fixture.head_seq(&foreign), Some(4));
    assert!(fixture.writer.pending.is_empty());
    assert!(fixture.writer.pending_per_author.is_empty());
    assert_eq!(fixture.notices(), ids(&entries[..4]));

    // Within one group, order does not matter either: 6 waits for 5 and follows it.
    let answers = fixture.group(vec![store(&entries[5]), store(&entries[4])]);
    assert!(matches!(
        answers[0],
        Ok(IngestOutcome::HeldBack {
            missing_from: 5,
            ..
        })
    ));
    assert_eq!(answers[1].as_ref().expect("stored"), &stored(&entries[4]));
    assert_eq!(fixture.head_seq(&foreign), Some(6));
    let feed = fixture
        .writer
        .store
        .feed(&foreign, 1, 100, usize::MAX)
        .expect("the feed reads");
    let expected: Vec<&[u8]> = entries
        .iter()
        .map(|entry| entry.canonical_bytes())
        .collect();
    assert_eq!(feed, expected, "the feed holds every entry, in seq order");
}

#[test]
fn equivocation_is_detected_and_its_proof_stored_once() {
    let mut fixture = Fixture::new();
    let foreign = foreign_key().public_key();
    let first = sign(&foreign_key(), 1, None, registration(1));
    let conflicting = sign(&foreign_key(), 1, None, registration(2));
    let another = sign(&foreign_key(), 1, None, registration(3));
    fixture.one(store(&first)).expect("stored");
    let expected = IngestOutcome::Equivocation {
        author: foreign.to_did_key(),
        seq: 1,
        kept: first.id(),
        refused: conflicting.id(),
    };
    assert_eq!(
        fixture.one(store(&conflicting)).expect("detected"),
        expected
    );
    assert!(
        fixture
            .writer
            .store
            .has_equivocation(&foreign, 1)
            .expect("reads")
    );
    let proofs = fixture.writer.store.equivocations(10).expect("reads");
    assert_eq!(proofs.len(), 1);
    let proof = proto_types::entry::EquivocationProof::from_value(&proofs[0])
        .expect("the stored proof verifies on its own");
    assert_eq!(proof.seq(), 1);
    // Seen again, and a third version in one group: still one proof for (author, seq).
    let answers = fixture.group(vec![store(&conflicting), store(&another)]);
    assert_eq!(answers[0].as_ref().expect("detected"), &expected);
    assert!(matches!(
        answers[1],
        Ok(IngestOutcome::Equivocation { refused, .. }) if refused == another.id()
    ));
    assert_eq!(
        fixture.writer.store.equivocations(10).expect("reads").len(),
        1
    );
    // The entry seen first is kept; the refused ones changed nothing.
    assert_eq!(
        fixture.one(store(&first)).expect("a duplicate"),
        IngestOutcome::Duplicate { id: first.id() }
    );
    assert!(
        fixture
            .writer
            .store
            .right("FR-TM-2")
            .expect("reads")
            .is_none()
    );
    // An entry chained to a refused version belongs to a forked branch.
    let forked = sign(&foreign_key(), 2, Some(conflicting.id()), registration(4));
    assert_eq!(
        fixture.one(store(&forked)).expect("answered"),
        IngestOutcome::ForkedBranch { id: forked.id() }
    );
    assert_eq!(fixture.head_seq(&foreign), Some(1));
}

#[test]
fn own_appends_are_numbered_chained_and_never_go_back_in_time() {
    let mut fixture = Fixture::new();
    let own = own_key().public_key();
    let mut previous: Option<proto_types::entry::Entry> = None;
    for number in 1..=3 {
        let outcome = fixture.one(append(registration(number))).expect("appended");
        let IngestOutcome::Stored {
            id, seq, author, ..
        } = outcome
        else {
            panic!("not stored: {outcome:?}");
        };
        assert_eq!(seq, u64::from(number));
        assert_eq!(author, own.to_did_key());
        let entry = fixture
            .writer
            .store
            .entry(&id)
            .expect("reads")
            .expect("stored");
        assert_eq!(entry.prev(), previous.as_ref().map(|entry| entry.id()));
        if let Some(previous) = &previous {
            assert!(entry.timestamp().unix_millis() >= previous.timestamp().unix_millis());
        }
        previous = Some(entry);
    }
    // The clock went back an hour after the last entry: the next one is not dated earlier.
    let ahead = crate::clock::now_millis() + 3_600_000;
    fixture.writer.last_own_millis = Some(ahead);
    let outcome = fixture.one(append(registration(4))).expect("appended");
    let IngestOutcome::Stored { id, seq: 4, .. } = outcome else {
        panic!("not stored at seq 4: {outcome:?}");
    };
    let entry = fixture
        .writer
        .store
        .entry(&id)
        .expect("reads")
        .expect("stored");
    assert_eq!(entry.timestamp().unix_millis(), ahead);
    // After a restart the writer takes the last own timestamp from its feed.
    let mut fixture = fixture.reopen();
    assert_eq!(fixture.writer.last_own_millis, None);
    let outcome = fixture.one(append(registration(5))).expect("appended");
    let IngestOutcome::Stored {
        id: fifth, seq: 5, ..
    } = outcome
    else {
        panic!("not stored at seq 5: {outcome:?}");
    };
    let entry = fixture
        .writer
        .store
        .entry(&fifth)
        .expect("reads")
        .expect("stored");
    assert!(entry.timestamp().unix_millis() >= ahead);
    assert_eq!(entry.prev(), Some(id));
    assert_eq!(fixture.head_seq(&own), Some(5));
}

#[test]
fn own_appends_that_cannot_apply_are_typed_refusals() {
    let mut fixture = Fixture::new();
    let first = fixture.one(append(registration(1))).expect("appended");
    let IngestOutcome::Stored { id, .. } = first else {
        panic!("not stored: {first:?}");
    };
    assert_eq!(
        fixture.one(append(registration(1))).expect("answered"),
        IngestOutcome::Unchanged { last_entry: id }
    );
    let mut status = examples::status();
    status["right_id"] = json!("FR-TM-99");
    let status = Body::decode(EntryKind::Status, &status).expect("a status body");
    let error = fixture.one(append(status)).expect_err("refused");
    assert!(
        matches!(
            &error,
            IngestError::Refused(Refusal::WouldBeIneffective(Ineffective::UnknownRight(right)))
                if right.as_str() == "FR-TM-99"
        ),
        "{error:?}"
    );
    assert_eq!(error.code(), "refused");
    let mut german = examples::registration();
    german["right_id"] = json!("DE-TM-1");
    german["jurisdiction"] = json!("DE");
    german["number"] = json!("1");
    let german = Body::decode(EntryKind::Registration, &german).expect("a body");
    let error = fixture.one(append(german)).expect_err("refused");
    assert!(
        matches!(&error, IngestError::Refused(Refusal::NotOffice(jurisdiction)) if jurisdiction.as_str() == "DE"),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "author is not an office trusted for jurisdiction DE"
    );
    assert_eq!(fixture.head_seq(&own_key().public_key()), Some(1));
}

#[test]
fn a_run_of_own_appends_stops_at_its_first_refusal() {
    let mut fixture = Fixture::new();
    let mut status = examples::status();
    status["right_id"] = json!("FR-TM-99");
    let status = Body::decode(EntryKind::Status, &status).expect("a status body");
    let (reply, mut answer) = oneshot::channel();
    let mut group = vec![Command::AppendAll {
        bodies: vec![registration(1), status, registration(2)],
        source: Source::Bulk,
        reply,
    }];
    fixture.writer.process_group(&mut group);
    let result = answer.try_recv().expect("answered");
    assert!(
        matches!(
            result,
            Err(IngestError::Refused(Refusal::WouldBeIneffective(_)))
        ),
        "{result:?}"
    );
    let store = &fixture.writer.store;
    assert!(
        store.right("FR-TM-1").expect("reads").is_some(),
        "before the refusal: stored"
    );
    assert!(
        store.right("FR-TM-2").expect("reads").is_none(),
        "after it: not appended"
    );
    assert_eq!(fixture.head_seq(&own_key().public_key()), Some(1));
}

#[test]
fn a_rotated_away_key_s_feed_is_closed() {
    let mut fixture = Fixture::new();
    let foreign = foreign_key().public_key();
    let rotation =
        Body::decode(EntryKind::KeyRotation, &examples::key_rotation()).expect("a rotation body");
    let entries = chain(&foreign_key(), [registration(1), rotation, registration(2)]);
    let answers = fixture.group(entries.iter().map(store).collect());
    assert_eq!(answers[1].as_ref().expect("stored"), &stored(&entries[1]));
    let error = answers[2].as_ref().expect_err("refused");
    assert!(
        matches!(
            error,
            IngestError::Refused(Refusal::FeedClosed { rotated_at: 2 })
        ),
        "{error:?}"
    );
    let new = SecretKey::from_seed(&examples::NEW_OFFICE_SEED).public_key();
    assert_eq!(
        fixture.writer.store.rotations().expect("reads"),
        vec![(foreign, new, 2)]
    );
    assert_eq!(fixture.writer.trust.rotated_at(&foreign), Some(2));
    assert_eq!(fixture.head_seq(&foreign), Some(2));
}
