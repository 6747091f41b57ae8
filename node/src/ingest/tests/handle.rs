//! The handle and its thread.

use super::*;

/// The handle and its thread: the bulk door verifies, the writer stores in order, refusals
/// come back in place, and own appends queue without waiting.
#[tokio::test]
async fn the_bulk_doors_answer_in_order_through_the_writer_thread() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (store, store_writer) = crate::storage::Store::open(dir.path()).expect("opens");
    let metrics = Arc::new(Metrics::default());
    let (ingest, thread) = Ingest::start(
        store_writer,
        trust(&[]),
        Arc::new(own_key()),
        false,
        metrics.clone(),
    )
    .expect("the writer starts");
    let entries = chain(&foreign_key(), (1..=3).map(registration));
    let stranger = sign(&SecretKey::from_seed(&[99; 32]), 1, None, registration(9));
    // The mark changed after signing: "ÉTOILE" becomes "ÉXOILE".
    let mut tampered = entries[2].canonical_bytes().to_vec();
    let mark = "ÉTOILE".as_bytes();
    let position = tampered
        .windows(mark.len())
        .position(|window| window == mark)
        .expect("the mark is in the bytes");
    tampered[position + "É".len()] = b'X';
    let bytes = vec![
        entries[0].canonical_bytes().to_vec(),
        stranger.canonical_bytes().to_vec(),
        entries[1].canonical_bytes().to_vec(),
        tampered,
        entries[2].canonical_bytes().to_vec(),
    ];
    let results = ingest.submit_many_bytes(bytes, Source::Sync).await;
    assert_eq!(results.len(), 5);
    assert_eq!(results[0].as_ref().expect("stored"), &stored(&entries[0]));
    assert_eq!(
        results[1].as_ref().expect_err("refused").code(),
        "unknown_author"
    );
    assert_eq!(results[2].as_ref().expect("stored"), &stored(&entries[1]));
    assert_eq!(
        results[3].as_ref().expect_err("refused").code(),
        "bad_signature"
    );
    assert_eq!(results[4].as_ref().expect("stored"), &stored(&entries[2]));

    let first = ingest
        .queue_appends(vec![registration(11), registration(12)], Source::Bulk)
        .await
        .expect("queued");
    let second = ingest
        .queue_appends(vec![registration(11)], Source::Bulk)
        .await
        .expect("queued");
    let first = first.outcomes().await.expect("appended");
    assert!(matches!(
        first[..],
        [
            IngestOutcome::Stored { seq: 1, .. },
            IngestOutcome::Stored { seq: 2, .. }
        ]
    ));
    let IngestOutcome::Stored { id, .. } = &first[0] else {
        unreachable!("matched above")
    };
    assert_eq!(
        second.outcomes().await.expect("answered"),
        vec![IngestOutcome::Unchanged { last_entry: *id }],
        "the second run is folded after the first"
    );
    drop(ingest);
    thread
        .join()
        .expect("the writer stops once every handle is gone");
    assert_eq!(
        store
            .head(&own_key().public_key())
            .expect("reads")
            .map(|head| head.seq),
        Some(2)
    );
    assert_eq!(metrics.stored_count(), 5);
}
