//! The writer's checkpoints (protocol §14.3–14.4): own checkpoints signed on command and, with
//! `checkpoint_before_ack`, in the very commit of the own entries (a failed commit stores
//! neither); the final checkpoint of a rotated-away feed; what a checkpoint write stores
//! (only roots that are the feed's tree, bounded cosignatures, pruning to 64 per feed).

use proto_types::checkpoint::cosignature::{cosign, witness_verifier_key};
use proto_types::checkpoint::{sign_feed_checkpoint, verify_feed_checkpoint};
use proto_types::tlog::TreeHash;

use super::*;
use crate::ingest::checkpoint::{CheckpointReply, CheckpointsReply};
use crate::ingest::rotate::RotateRequest;
use crate::storage::{MAX_CHECKPOINTS_PER_FEED, MAX_COSIGNATURES_PER_CHECKPOINT, StoredCheckpoint};

type OwnAnswer = oneshot::Receiver<Result<Option<OwnCheckpoint>, IngestError>>;

fn checkpoint_command() -> (Command, OwnAnswer) {
    let (reply, answer): (CheckpointReply, OwnAnswer) = oneshot::channel();
    (Command::Checkpoint { reply }, answer)
}

fn latest(fixture: &Fixture, author: &PublicKey) -> Option<StoredCheckpoint> {
    fixture
        .writer
        .store
        .latest_checkpoint(author)
        .expect("reads")
}

/// Checks that `stored` is signed by `author` and that its root is the stored tree's.
fn assert_signed_over_the_tree(fixture: &Fixture, stored: &StoredCheckpoint, author: &PublicKey) {
    let checkpoint = verify_feed_checkpoint(&stored.note).expect("the note verifies");
    assert_eq!(checkpoint.author(), author);
    assert_eq!(checkpoint.checkpoint().size(), stored.size);
    assert_eq!(checkpoint.checkpoint().root(), &stored.root);
    assert_eq!(
        fixture
            .writer
            .store
            .tree_root(author, stored.size)
            .expect("the root reads"),
        stored.root
    );
}

#[test]
fn the_own_checkpoint_is_signed_when_the_head_moved_and_only_then() {
    let mut fixture = Fixture::new();
    let own = own_key().public_key();
    let (command, mut answer) = checkpoint_command();
    fixture.writer.process_group(&mut vec![command]);
    assert_eq!(
        answer.try_recv().expect("answered").expect("ok"),
        None,
        "an empty feed"
    );
    fixture.group((1..=3).map(|number| append(registration(number))).collect());
    let (command, mut answer) = checkpoint_command();
    fixture.writer.process_group(&mut vec![command]);
    let signed = answer
        .try_recv()
        .expect("answered")
        .expect("signed")
        .expect("some");
    assert_eq!((signed.author, signed.size), (own, 3));
    let stored = latest(&fixture, &own).expect("stored");
    assert_eq!(stored.note, signed.note);
    assert_signed_over_the_tree(&fixture, &stored, &own);
    let (command, mut answer) = checkpoint_command();
    fixture.writer.process_group(&mut vec![command]);
    assert_eq!(
        answer.try_recv().expect("answered").expect("ok"),
        None,
        "the head is covered"
    );
    // Without checkpoint_before_ack, appends alone sign nothing.
    fixture.one(append(registration(4))).expect("stored");
    assert_eq!(latest(&fixture, &own).expect("stored").size, 3);
}

#[test]
fn checkpoint_before_ack_commits_the_checkpoint_with_the_entries_or_neither() {
    let mut fixture = Fixture::new();
    fixture.writer.checkpoint_before_ack = true;
    let own = own_key().public_key();
    let commits = fixture.commits();
    let answers = fixture.group((1..=3).map(|number| append(registration(number))).collect());
    assert!(answers.iter().all(Result::is_ok), "{answers:?}");
    assert_eq!(
        fixture.commits(),
        commits + 1,
        "one commit for entries and checkpoint"
    );
    let stored = latest(&fixture, &own).expect("a checkpoint before the answer");
    assert_eq!(stored.size, 3);
    assert_signed_over_the_tree(&fixture, &stored, &own);

    // A failed commit stores neither the entries nor their checkpoint.
    fixture.writer.store.fail_next_commits(1);
    let answers = fixture.group((4..=5).map(|number| append(registration(number))).collect());
    assert!(answers.iter().all(Result::is_err), "{answers:?}");
    assert_eq!(fixture.head_seq(&own), Some(3));
    assert_eq!(latest(&fixture, &own).expect("kept").size, 3);
    assert_eq!(
        fixture.writer.store.checkpoint_sizes(&own).unwrap(),
        vec![3]
    );
    // The same appends again: entries 4 and 5 with their checkpoint.
    fixture.group((4..=5).map(|number| append(registration(number))).collect());
    let stored = latest(&fixture, &own).expect("stored");
    assert_eq!((stored.size, fixture.head_seq(&own)), (5, Some(5)));
    assert_signed_over_the_tree(&fixture, &stored, &own);

    // A group of foreign entries only: no own checkpoint.
    let entries = chain(&foreign_key(), (1..=2).map(registration));
    fixture.group(entries.iter().map(store).collect());
    assert_eq!(
        fixture.writer.store.checkpoint_sizes(&own).unwrap(),
        vec![3, 5]
    );
    assert_eq!(latest(&fixture, &foreign_key().public_key()), None);
}

#[test]
fn a_rotation_stores_the_old_feed_s_final_checkpoint_signed_by_the_old_key() {
    let mut fixture = Fixture::new();
    let old = own_key().public_key();
    fixture.group((1..=2).map(|number| append(registration(number))).collect());
    let (reply, mut done) = oneshot::channel();
    let request = RotateRequest {
        new_key: None,
        compromised_since: None,
        compromise: false,
        note: None,
    };
    let (after, mut after_answer) = append(registration(3));
    fixture
        .writer
        .process_group(&mut vec![Command::Rotate { request, reply }, after]);
    let rotation = done.try_recv().expect("answered").expect("rotated");
    after_answer.try_recv().expect("answered").expect("stored");
    let final_checkpoint = latest(&fixture, &old).expect("the old feed's final checkpoint");
    assert_eq!(
        final_checkpoint.size, rotation.seq,
        "it covers the rotation entry"
    );
    assert_signed_over_the_tree(&fixture, &final_checkpoint, &old);
    // The old key signs nothing more; the new key's feed is checkpointed on command.
    let (command, mut answer) = checkpoint_command();
    fixture.writer.process_group(&mut vec![command]);
    let signed = answer
        .try_recv()
        .expect("answered")
        .expect("ok")
        .expect("signed");
    assert_eq!((signed.author, signed.size), (rotation.new_key, 1));
    assert_eq!(latest(&fixture, &old).expect("kept").size, rotation.seq);
}

fn write_command(
    write: CheckpointWrite,
) -> (
    Command,
    oneshot::Receiver<Result<CheckpointWritten, IngestError>>,
) {
    let (reply, answer): (CheckpointsReply, _) = oneshot::channel();
    (
        Command::Checkpoints {
            write: Box::new(write),
            reply,
        },
        answer,
    )
}

fn run_write(fixture: &mut Fixture, write: CheckpointWrite) -> CheckpointWritten {
    let (command, mut answer) = write_command(write);
    fixture.writer.process_group(&mut vec![command]);
    answer.try_recv().expect("answered").expect("written")
}

#[test]
fn a_checkpoint_write_stores_only_roots_of_the_tree_and_stays_bounded() {
    let mut fixture = Fixture::new();
    let office = foreign_key();
    let author = office.public_key();
    let entries = chain(&office, (1..=70).map(registration));
    fixture.group(entries.iter().map(store).collect());
    let store = fixture.writer.store.store().clone();
    let root = |size: u64| store.tree_root(&author, size).expect("root");
    let write = |size: u64, root: TreeHash, cosigners: usize| {
        let checkpoint =
            verify_feed_checkpoint(&sign_feed_checkpoint(&office, size, &root)).expect("verifies");
        let cosignatures = (0..cosigners)
            .map(|seed| {
                let witness = SecretKey::from_seed(&[seed as u8 + 100; 32]);
                let line = cosign(&checkpoint, &witness, 1_700_000_000).expect("cosigns");
                checkpoint
                    .verify_cosignature(&witness_verifier_key(&witness.public_key()), &line)
                    .expect("verifies")
            })
            .collect();
        CheckpointWrite {
            checkpoint,
            cosignatures,
            witness_state: None,
            split_views: Vec::new(),
        }
    };
    // A root that is not the tree's, and one ahead of the feed: nothing stored.
    let written = run_write(&mut fixture, write(5, TreeHash([1; 32]), 2));
    assert_eq!(written, CheckpointWritten::default());
    let written = run_write(&mut fixture, write(71, TreeHash([1; 32]), 2));
    assert!(!written.anything_new());
    assert_eq!(latest(&fixture, &author), None);
    // The tree's root: stored with its cosignatures, bounded.
    let written = run_write(
        &mut fixture,
        write(5, root(5), MAX_COSIGNATURES_PER_CHECKPOINT + 3),
    );
    assert!(written.checkpoint_new && written.checkpoint_held);
    assert_eq!(written.cosignatures_new, MAX_COSIGNATURES_PER_CHECKPOINT);
    assert_eq!(
        fixture
            .writer
            .store
            .cosignature_lines(&author, 5)
            .unwrap()
            .len(),
        MAX_COSIGNATURES_PER_CHECKPOINT
    );
    // Again: nothing new.
    assert!(!run_write(&mut fixture, write(5, root(5), 2)).anything_new());
    // Pruned to the latest 64, with their cosignatures; an older one than all kept is not
    // stored.
    for size in 6..=70 {
        run_write(&mut fixture, write(size, root(size), 1));
    }
    let sizes = fixture.writer.store.checkpoint_sizes(&author).unwrap();
    assert_eq!(sizes.len(), MAX_CHECKPOINTS_PER_FEED);
    assert_eq!(sizes.first(), Some(&7));
    assert!(
        fixture
            .writer
            .store
            .cosignature_lines(&author, 5)
            .unwrap()
            .is_empty()
    );
    assert!(!run_write(&mut fixture, write(3, root(3), 1)).checkpoint_new);
    assert_eq!(latest(&fixture, &author).expect("stored").size, 70);
}
