//! Endorsements on the writer (protocol §6.8.1, §13.3): recorded in the group's batch and
//! counted only once committed, ineffective with a reason when their author may not endorse or
//! endorses itself, and read back after a restart.

use super::*;
use crate::trust::TrustSource;

/// A writer whose trust admits at `threshold`, with the endorsements its store holds.
fn writer(dir: &TempDir, threshold: usize) -> Writer {
    let (_, store) = crate::storage::Store::open(dir.path()).expect("the store opens");
    let endorsements = store.endorsements().expect("endorsements read");
    let base = Arc::try_unwrap(trust(&[]))
        .unwrap_or_else(|_| panic!("a fresh trust"))
        .with_admission(threshold, endorsements, TrustSource::ConfiguredFile);
    let (notices, _) = broadcast::channel(STORED_BROADCAST_CAPACITY);
    Writer::new(
        store,
        Arc::new(base),
        Arc::new(crate::keyring::SigningKeys::new(
            crate::keyring::Keyring::single(own_key()),
            None,
        )),
        false,
        Arc::new(Metrics::default()),
        notices,
    )
}

fn endorsement(subject: &PublicKey, withdrawn: bool) -> Body {
    let mut value = examples::endorsement();
    value["subject"] = json!(subject.to_did_key());
    if withdrawn {
        value["withdrawn"] = json!(true);
    }
    Body::decode(EntryKind::Authority, &value).expect("an endorsement body")
}

fn run(writer: &mut Writer, command: (Command, Answer)) -> Result<IngestOutcome, IngestError> {
    let (command, mut answer) = command;
    writer.process_group(&mut vec![command]);
    answer.try_recv().expect("answered within the group")
}

fn ineffective(outcome: Result<IngestOutcome, IngestError>) -> String {
    match outcome {
        Ok(IngestOutcome::Stored {
            ineffective: Some(reason),
            ..
        }) => reason,
        other => panic!("expected a stored, ineffective entry: {other:?}"),
    }
}

#[test]
fn endorsements_count_once_committed_and_survive_a_restart() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut writer = writer(&dir, 2);
    let subject = SecretKey::generate();
    let germany = Jurisdiction::parse("DE").expect("DE");
    let foreign = chain(
        &foreign_key(),
        [
            endorsement(&subject.public_key(), false),
            endorsement(&foreign_key().public_key(), false),
            endorsement(&subject.public_key(), true),
        ],
    );

    // The foreign office endorses: recorded, one of two.
    assert_eq!(
        run(&mut writer, store(&foreign[0])).expect("stored"),
        stored(&foreign[0])
    );
    assert!(writer.trust.get(&subject.public_key()).is_none());
    // An office does not endorse itself.
    assert!(ineffective(run(&mut writer, store(&foreign[1]))).contains("does not endorse itself"));
    // A failed commit records nothing: the second endorsement does not count until stored.
    writer.store.fail_next_commits(1);
    assert!(
        run(
            &mut writer,
            append(endorsement(&subject.public_key(), false))
        )
        .is_err()
    );
    assert!(writer.trust.get(&subject.public_key()).is_none());
    assert_eq!(writer.trust.next_endorsement_ordinal(), 1);
    // This node's own endorsement makes two: admitted for DE, at once.
    let own = run(
        &mut writer,
        append(endorsement(&subject.public_key(), false)),
    );
    assert!(
        matches!(
            &own,
            Ok(IngestOutcome::Stored {
                ineffective: None,
                seq: 1,
                ..
            })
        ),
        "{own:?}"
    );
    assert!(writer.trust.office_for(&subject.public_key(), &germany));
    assert_eq!(writer.trust.view().admitted.len(), 1);

    // The admitted office may register, but its endorsements do not count.
    let third = SecretKey::generate();
    let by_admitted = sign(&subject, 1, None, endorsement(&third.public_key(), false));
    assert!(
        ineffective(run(&mut writer, store(&by_admitted))).contains("own trust store"),
        "admission is not transitive"
    );

    // A restart reads the same endorsements back: still admitted.
    drop(writer);
    let mut writer = self::writer(&dir, 2);
    assert!(writer.trust.office_for(&subject.public_key(), &germany));
    assert_eq!(writer.trust.next_endorsement_ordinal(), 2);
    // The foreign office withdraws: one of two left, no longer trusted.
    assert_eq!(
        run(&mut writer, store(&foreign[2])).expect("stored"),
        stored(&foreign[2])
    );
    assert!(writer.trust.get(&subject.public_key()).is_none());
    drop(writer);
    let writer = self::writer(&dir, 2);
    assert!(writer.trust.get(&subject.public_key()).is_none());
    // At k = 1 the same records admit it (this node's endorsement stands).
    drop(writer);
    let writer = self::writer(&dir, 1);
    assert!(writer.trust.office_for(&subject.public_key(), &germany));
    // With admission off nothing is admitted, whatever is stored.
    drop(writer);
    let writer = self::writer(&dir, 0);
    assert!(writer.trust.get(&subject.public_key()).is_none());
}
