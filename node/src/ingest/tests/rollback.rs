//! Rollback after a failed commit, by injection: the writer's memory matches the store again
//! and later entries go in.

use super::*;

#[test]
fn a_failed_commit_rolls_the_writer_back_to_what_is_stored() {
    let mut fixture = Fixture::new();
    let foreign = foreign_key().public_key();
    let own = own_key().public_key();
    let entries = chain(&foreign_key(), (1..=6).map(registration));
    fixture.one(store(&entries[0])).expect("stored");
    // Seq 3 waits for 2, held back before the failing group.
    assert!(matches!(
        fixture.one(store(&entries[2])),
        Ok(IngestOutcome::HeldBack { .. })
    ));
    fixture.notices();
    let stored_before = fixture.metrics.stored_count();

    fixture.writer.store.fail_next_commits(1);
    let answers = fixture.group(vec![
        store(&entries[1]), // fills the gap: 2 and the held-back 3 are staged
        store(&entries[1]), // a duplicate of an entry staged in this very group
        store(&entries[5]), // held back by this group
        store(&entries[0]), // a duplicate of an entry stored before the group
        append(registration(7)),
    ]);
    let commit_failed = |answer: &Result<IngestOutcome, IngestError>| {
        matches!(
            answer,
            Err(IngestError::Storage(StorageError::CommitFailed(_)))
        )
    };
    assert!(commit_failed(&answers[0]), "{:?}", answers[0]);
    assert!(commit_failed(&answers[1]), "{:?}", answers[1]);
    assert!(commit_failed(&answers[2]), "{:?}", answers[2]);
    assert_eq!(
        answers[3].as_ref().expect("still a duplicate"),
        &IngestOutcome::Duplicate {
            id: entries[0].id()
        }
    );
    assert!(commit_failed(&answers[4]), "{:?}", answers[4]);

    // Memory matches the store again: heads, held-back entries, nothing announced or counted.
    for author in [foreign, own] {
        let remembered = fixture.writer.heads.get(&author).copied().flatten();
        let on_disk = fixture.writer.store.head(&author).expect("reads");
        assert_eq!(remembered, on_disk);
    }
    assert_eq!(fixture.head_seq(&foreign), Some(1));
    assert_eq!(fixture.head_seq(&own), None);
    let mut held: Vec<_> = fixture.writer.pending.keys().copied().collect();
    held.sort_by_key(|(_, seq)| *seq);
    assert_eq!(held, vec![(foreign, 3)], "3 is held again, 6 is forgotten");
    assert_eq!(fixture.writer.pending_per_author.get(&foreign), Some(&1));
    assert!(fixture.notices().is_empty());
    assert_eq!(fixture.metrics.stored_count(), stored_before);
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
            .right("FR-TM-7")
            .expect("reads")
            .is_none()
    );

    // Later entries go in as if the failed group had never been.
    let answers = fixture.group(vec![store(&entries[1]), append(registration(7))]);
    assert_eq!(answers[0].as_ref().expect("stored"), &stored(&entries[1]));
    assert!(
        matches!(answers[1], Ok(IngestOutcome::Stored { seq: 1, .. })),
        "the own feed starts at 1: {:?}",
        answers[1]
    );
    assert_eq!(
        fixture.head_seq(&foreign),
        Some(3),
        "the held-back 3 followed 2"
    );
    assert_eq!(
        fixture.notices(),
        vec![entries[1].id(), entries[2].id(), {
            let Ok(IngestOutcome::Stored { id, .. }) = &answers[1] else {
                unreachable!("checked above")
            };
            *id
        }]
    );
    // The first entry, the failed group, the last group; holding back commits nothing.
    assert_eq!(fixture.commits(), 3);
}
