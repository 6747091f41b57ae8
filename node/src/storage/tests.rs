//! Storage tests: open and reopen, the schema, each family's round trip, index moves.

use super::*;

/// A RocksDB database in `path` with exactly `families` (and `default`), as a process killed
/// part-way through its creation, or another program, leaves it.
fn raw_database(path: &Path, families: &[&str]) -> DB {
    let mut options = Options::default();
    options.create_if_missing(true);
    options.create_missing_column_families(true);
    DB::open_cf(&options, path, families).unwrap()
}

fn families(path: &Path) -> Vec<String> {
    DB::list_cf(&Options::default(), path).unwrap()
}

fn schema_version(store: &Store) -> Option<Vec<u8>> {
    store.db.get_cf(store.cf(cf::META), SCHEMA_KEY).unwrap()
}

#[test]
fn issue_10_a_creation_killed_before_the_schema_version_is_finished() {
    let dir = tempfile::tempdir().unwrap();
    drop(raw_database(dir.path(), &cf::ALL));
    let (store, writer) = Store::open(dir.path()).unwrap();
    assert_eq!(
        schema_version(&store),
        Some(SCHEMA_VERSION.to_be_bytes().to_vec())
    );
    drop((store, writer));
    Store::open(dir.path()).unwrap();
}

#[test]
fn issue_10_a_creation_killed_between_column_families_is_finished() {
    let dir = tempfile::tempdir().unwrap();
    drop(raw_database(dir.path(), &cf::ALL[..3]));
    let (store, writer) = Store::open(dir.path()).unwrap();
    assert_eq!(
        schema_version(&store),
        Some(SCHEMA_VERSION.to_be_bytes().to_vec())
    );
    drop((store, writer));
    assert_eq!(families(dir.path()).len(), cf::ALL.len() + 1);
}

#[test]
fn a_database_with_data_but_no_schema_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = raw_database(dir.path(), &cf::ALL);
        db.put_cf(db.cf_handle(cf::ENTRIES).unwrap(), b"id", b"entry")
            .unwrap();
    }
    let error = Store::open(dir.path()).err().unwrap().to_string();
    assert!(error.contains("no schema version recorded"), "{error}");
}

#[test]
fn a_database_missing_our_families_with_data_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = raw_database(dir.path(), &[cf::META]);
        db.put(b"someone else's", b"data").unwrap();
    }
    let error = Store::open(dir.path()).err().unwrap().to_string();
    assert!(
        error.contains("column family \"entries\" missing"),
        "{error}"
    );
    assert_eq!(families(dir.path()), ["default", cf::META]);
}

#[test]
fn a_database_with_a_family_of_another_program_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    drop(raw_database(dir.path(), &["users"]));
    let error = Store::open(dir.path()).err().unwrap().to_string();
    assert!(error.contains("unknown column family \"users\""), "{error}");
    assert_eq!(families(dir.path()), ["default", "users"]);
}

#[test]
fn issue_10_a_second_open_of_a_directory_in_use_is_refused_before_rocksdb() {
    let dir = tempfile::tempdir().unwrap();
    let (store, writer) = Store::open(dir.path()).unwrap();
    let error = Store::open(dir.path()).err().unwrap();
    assert!(matches!(error, StorageError::Locked(_)), "{error}");
    assert!(
        error.to_string().contains(&format!(
            "is in use by another rightsnet process (pid {})",
            std::process::id()
        )),
        "{error}"
    );
    drop((store, writer));
    Store::open(dir.path()).unwrap();
}

mod families {
    //! Each family written through the writer and read back; index moves; claim order.

    use proto_types::body::{Body, EntryKind, examples};
    use proto_types::entry::{EquivocationProof, UnsignedEntry, VerifiedEntry};
    use proto_types::keys::SecretKey;
    use proto_types::timestamp::Timestamp;
    use serde_json::{Value, json};

    use super::*;
    use crate::rights::{self, EntryMeta, RightState};
    use crate::storage::keys::tail;

    fn office() -> SecretKey {
        SecretKey::from_seed(&examples::OFFICE_SEED)
    }

    fn sign(
        key: &SecretKey,
        seq: u64,
        prev: Option<EntryId>,
        kind: EntryKind,
        body: &Value,
    ) -> VerifiedEntry {
        UnsignedEntry {
            seq,
            prev,
            timestamp: Timestamp::from_unix_millis(1_700_000_000_000 + seq as i64 * 1000)
                .expect("a timestamp"),
            body: Body::decode(kind, body).expect("a body"),
        }
        .sign(key)
        .expect("signs")
    }

    /// The state a registration entry with `mark` and `holder` gives right FR-TM-1, and the
    /// entry.
    fn registered(
        seq: u64,
        prev: Option<&RightState>,
        mark: &str,
        holder: &str,
    ) -> (VerifiedEntry, RightState) {
        let mut body = examples::registration();
        body["right_id"] = json!("FR-TM-1");
        body["number"] = json!("1");
        body["mark_text"] = json!(mark);
        body["holder"]["name"] = json!(holder);
        let entry = sign(
            &office(),
            seq,
            prev.map(|state| state.last_entry),
            EntryKind::Registration,
            &body,
        );
        let Body::Registration(registration) = entry.body() else {
            unreachable!("a registration was signed")
        };
        let meta = EntryMeta::of(&entry, office().public_key());
        // A holder change is a status entry in the protocol; the index move is what is tested
        // here, so the previous state is taken as "unknown" to the fold.
        let state = rights::apply_registration(None, &meta, registration).expect("applies");
        (entry, state)
    }

    fn commit(writer: &StoreWriter, fill: impl FnOnce(&mut StoreBatch)) {
        let mut batch = writer.batch();
        fill(&mut batch);
        writer.commit(batch, true).expect("commits");
    }

    fn scan(store: &Store, scan: IndexScan<'_>) -> Vec<Vec<u8>> {
        let mut tails = Vec::new();
        store
            .scan_index(&scan, &[], false, |key| {
                tails.push(tail(key).to_vec());
                Ok(true)
            })
            .expect("scans");
        tails
    }

    #[test]
    fn entries_feeds_and_heads_round_trip_and_survive_a_reopen() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let author = office().public_key();
        let (store, writer) = Store::open(dir.path()).expect("opens");
        let mut entries: Vec<VerifiedEntry> = Vec::new();
        for seq in 1..=3u64 {
            let prev = entries.last().map(|entry| entry.id());
            entries.push(sign(
                &office(),
                seq,
                prev,
                EntryKind::Authority,
                &examples::authority(),
            ));
        }
        commit(&writer, |batch| {
            for entry in &entries {
                batch.put_entry(entry);
            }
            assert_eq!(batch.entry_count(), 3);
        });
        drop((store, writer));
        let (store, _writer) = Store::open(dir.path()).expect("opens again");
        for entry in &entries {
            assert_eq!(
                store.entry_bytes(&entry.id()).expect("reads").as_deref(),
                Some(entry.canonical_bytes())
            );
            assert_eq!(
                store.entry(&entry.id()).expect("reads").map(|e| e.id()),
                Some(entry.id())
            );
            assert_eq!(
                store.entry_id_at(&author, entry.seq()).expect("reads"),
                Some(entry.id())
            );
        }
        let head = store.head(&author).expect("reads").expect("a head");
        assert_eq!((head.seq, head.id), (3, entries[2].id()));
        assert_eq!(store.heads().expect("reads"), vec![(author, head)]);
        assert_eq!(store.entry_id_at(&author, 4).expect("reads"), None);
        // From seq 2, at most 5 entries: 2 and 3; a byte budget stops early but never
        // returns nothing when an entry exists.
        let from_two = store.feed(&author, 2, 5, usize::MAX).expect("reads");
        assert_eq!(from_two.len(), 2);
        assert_eq!(from_two[0], entries[1].canonical_bytes());
        assert_eq!(
            store.feed(&author, 1, 2, usize::MAX).expect("reads").len(),
            2
        );
        assert_eq!(store.feed(&author, 1, 5, 1).expect("reads").len(), 1);
        assert!(
            store
                .feed(&author, 4, 5, usize::MAX)
                .expect("reads")
                .is_empty()
        );
    }

    #[test]
    fn a_schema_of_another_version_is_refused() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        drop(Store::open(dir.path()).expect("creates"));
        {
            let db = DB::open_cf(&Options::default(), dir.path(), cf::ALL).expect("raw open");
            db.put_cf(
                db.cf_handle(cf::META).expect("meta"),
                SCHEMA_KEY,
                4u32.to_be_bytes(),
            )
            .expect("writes");
        }
        let error = Store::open(dir.path()).err().expect("refused");
        assert!(
            matches!(&error, StorageError::SchemaMismatch { found, expected: SCHEMA_VERSION, .. } if found == "4"),
            "{error}"
        );
    }

    /// The right ids the screening index holds under `key`.
    fn screened(store: &Store, key: &str) -> Vec<String> {
        use crate::screening::ScreenIndex;
        let mut found = Vec::new();
        store
            .screen_reader()
            .exact(key, &mut |right_id| found.push(right_id.to_owned()))
            .expect("reads");
        found
    }

    #[test]
    fn the_screening_index_follows_the_mark_and_is_built_for_a_version_2_store() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let (store, writer) = Store::open(dir.path()).expect("opens");
        let (_, first) = registered(1, None, "Étoile du Nord", "Maison Étoile");
        commit(&writer, |batch| {
            batch.put_right(None, &first).expect("encodes")
        });
        assert_eq!(screened(&store, "etoiledunord"), ["FR-TM-1"]);
        let (_, second) = registered(2, Some(&first), "Soleil du Nord", "Atelier Soleil");
        commit(&writer, |batch| {
            batch.put_right(Some(&first), &second).expect("encodes")
        });
        assert!(
            screened(&store, "etoiledunord").is_empty(),
            "old key deleted"
        );
        assert_eq!(screened(&store, "soleildunord"), ["FR-TM-1"]);
        // One edit away: through the in-memory set, and through the half keys before it is
        // ready.
        let near = |store: &Store, key: &str| {
            use crate::screening::ScreenIndex;
            let mut found = Vec::new();
            store
                .screen_reader()
                .near(key, &mut |mark, right_id| {
                    found.push((mark.to_owned(), right_id.to_owned()));
                })
                .expect("reads");
            found
        };
        let expected = [("soleildunord".to_owned(), "FR-TM-1".to_owned())];
        assert_eq!(near(&store, "soleildunort"), expected);
        assert_eq!(near(&store, "soleildnuord"), expected);
        assert!(
            near(&store, "etoiledunort").is_empty(),
            "a stale key finds no right"
        );
        store.forget_screen_marks();
        assert!(!store.screen_marks().0);
        assert_eq!(near(&store, "soleildunort"), expected);
        assert_eq!(screened(&store, "soleildunord"), ["FR-TM-1"]);
        store.reload_screen_marks(1).expect("reloads");
        assert!(store.screen_marks().0);
        assert_eq!(near(&store, "soleildunort"), expected);
        drop((store, writer));

        // A version 2 store has no screening index: opening it builds one from the rights.
        super::upgrade::downgrade(dir.path(), 2);
        let (store, _writer) = Store::open(dir.path()).expect("upgrades");
        assert_eq!(
            schema_version(&store),
            Some(SCHEMA_VERSION.to_be_bytes().to_vec())
        );
        assert_eq!(screened(&store, "soleildunord"), ["FR-TM-1"]);
    }

    /// The in-memory mark set loaded from the family step by step (as the background load of a
    /// large store does) holds every mark key once, and keys the writer adds after are seen.
    #[test]
    fn the_mark_set_loads_in_steps_and_follows_the_writer() {
        use crate::screening::ScreenIndex;
        let dir = tempfile::tempdir().expect("a temporary directory");
        let (store, writer) = Store::open(dir.path()).expect("opens");
        let marks = [
            "Solaris",
            "Solaris",
            "Lunaria Verde",
            "Stellaria",
            "Nord Étoile",
        ];
        let mut states = Vec::new();
        for (number, mark) in marks.iter().enumerate() {
            let (_, mut state) = registered(1, None, mark, "Maison");
            state.right_id = proto_types::body::RightId::parse(&format!("FR-TM-{}", number + 10))
                .expect("an id");
            states.push(state);
        }
        commit(&writer, |batch| {
            for state in &states {
                batch.put_right(None, state).expect("encodes");
            }
        });
        for step in [1, 2, 3, 1000] {
            store.reload_screen_marks(step).expect("reloads");
            let marks = store.marks.snapshot();
            assert_eq!(marks.len(), 4, "four distinct keys at step {step}");
            for key in ["solaris", "lunariaverde", "stelaria", "nordetoile"] {
                assert!(marks.contains(key), "{key} at step {step}");
            }
        }
        let mut found = Vec::new();
        store
            .screen_reader()
            .exact("solaris", &mut |right_id| found.push(right_id.to_owned()))
            .expect("reads");
        assert_eq!(found, ["FR-TM-10", "FR-TM-11"]);
        let (_, mut later) = registered(1, None, "Orbitalis", "Maison");
        later.right_id = proto_types::body::RightId::parse("FR-TM-20").expect("an id");
        commit(&writer, |batch| {
            batch.put_right(None, &later).expect("encodes")
        });
        assert_eq!(screened(&store, "orbitalis"), ["FR-TM-20"]);
        let mut near = Vec::new();
        store
            .screen_reader()
            .near("orbitaliss", &mut |mark, _| near.push(mark.to_owned()))
            .expect("reads");
        assert_eq!(near, ["orbitalis"]);
    }

    /// A screening reader reads a right once and hands the same state to the next listings of
    /// its request; the next request's reader sees what the writer wrote since.
    #[test]
    fn a_screen_reader_remembers_rights_for_its_request_only() {
        use crate::screening::ScreenIndex;
        let dir = tempfile::tempdir().expect("a temporary directory");
        let (store, writer) = Store::open(dir.path()).expect("opens");
        let (_, first) = registered(1, None, "Étoile du Nord", "Maison Étoile");
        commit(&writer, |batch| {
            batch.put_right(None, &first).expect("encodes")
        });
        let mut reader = store.screen_reader();
        let read = reader.right("FR-TM-1").expect("reads").expect("stored");
        assert_eq!(read.mark_text.as_deref(), Some("Étoile du Nord"));
        assert!(reader.right("FR-TM-9").expect("reads").is_none());
        let (_, second) = registered(2, Some(&first), "Soleil du Nord", "Atelier Soleil");
        commit(&writer, |batch| {
            batch.put_right(None, &second).expect("encodes")
        });
        let again = reader.right("FR-TM-1").expect("reads").expect("stored");
        assert!(
            std::sync::Arc::ptr_eq(&read, &again),
            "the same state within one request"
        );
        let fresh = store
            .screen_reader()
            .right("FR-TM-1")
            .expect("reads")
            .expect("stored");
        assert_eq!(fresh.mark_text.as_deref(), Some("Soleil du Nord"));
    }

    #[test]
    fn a_right_moves_its_index_keys_when_it_changes() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let (store, writer) = Store::open(dir.path()).expect("opens");
        let (_, first) = registered(1, None, "Étoile du Nord", "Maison Étoile");
        commit(&writer, |batch| {
            batch.put_right(None, &first).expect("encodes")
        });
        assert_eq!(
            scan(&store, IndexScan::MarkToken("etoile")),
            vec![b"FR-TM-1".to_vec()]
        );
        assert_eq!(scan(&store, IndexScan::HolderNamePrefix("maison")).len(), 1);

        let (_, second) = registered(2, Some(&first), "Soleil du Nord", "Atelier Soleil");
        commit(&writer, |batch| {
            batch.put_right(Some(&first), &second).expect("encodes")
        });
        assert!(
            scan(&store, IndexScan::MarkToken("etoile")).is_empty(),
            "old token deleted"
        );
        assert!(scan(&store, IndexScan::MarkExact("etoile du nord")).is_empty());
        assert!(scan(&store, IndexScan::HolderNamePrefix("maison")).is_empty());
        assert_eq!(
            scan(&store, IndexScan::MarkToken("soleil")).len(),
            1,
            "new token written"
        );
        assert_eq!(
            scan(&store, IndexScan::MarkToken("nord")).len(),
            1,
            "a shared token stays"
        );
        assert_eq!(
            scan(&store, IndexScan::HolderNamePrefix("atelier")).len(),
            1
        );
        assert_eq!(scan(&store, IndexScan::Jurisdiction("FR")).len(), 1);
        for class in &second.nice_classes {
            let in_class = scan(
                &store,
                IndexScan::Class {
                    class: *class,
                    jurisdiction: Some("FR"),
                },
            );
            assert_eq!(in_class.len(), 1);
        }
        assert_eq!(store.right("FR-TM-1").expect("reads"), Some(second.clone()));
        let mut scanned = Vec::new();
        store
            .scan_rights(&[], |key, state| {
                scanned.push((key.to_vec(), state));
                Ok(true)
            })
            .expect("scans");
        assert_eq!(scanned, vec![(b"FR-TM-1".to_vec(), second)]);
    }

    #[test]
    fn right_states_are_written_as_version_2_and_older_ones_still_read() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let (store, writer) = Store::open(dir.path()).expect("opens");
        let (_, state) = registered(1, None, "Étoile", "Maison Étoile");
        commit(&writer, |batch| {
            batch.put_right(None, &state).expect("encodes")
        });
        let raw = store
            .db
            .get_cf(store.cf(cf::RIGHTS), b"FR-TM-1")
            .expect("reads")
            .expect("stored");
        assert_eq!(
            raw.first(),
            Some(&right_state::RIGHT_STATE_V2),
            "new states are written as version 2"
        );
        assert_eq!(right_state::decode(&raw).expect("decodes"), state);
        // What a build of issue 11 wrote: version 1, JSON, read through the store and rewritten
        // as version 2 when the right changes.
        let mut version_1 = state.clone();
        version_1.right_id = proto_types::body::RightId::parse("FR-TM-4").expect("an id");
        let version_1_bytes = right_state::encode_v1(&version_1).expect("encodes");
        assert_eq!(version_1_bytes.first(), Some(&right_state::RIGHT_STATE_V1));
        store
            .db
            .put_cf(store.cf(cf::RIGHTS), b"FR-TM-4", &version_1_bytes)
            .expect("writes");
        assert_eq!(
            store.right("FR-TM-4").expect("a version 1 value reads"),
            Some(version_1.clone())
        );
        commit(&writer, |batch| {
            batch
                .put_right(Some(&version_1), &version_1)
                .expect("encodes")
        });
        let rewritten = store
            .db
            .get_cf(store.cf(cf::RIGHTS), b"FR-TM-4")
            .expect("reads")
            .expect("stored");
        assert_eq!(rewritten.first(), Some(&right_state::RIGHT_STATE_V2));
        assert_eq!(store.right("FR-TM-4").expect("reads"), Some(version_1));
        // What a build before the version byte wrote: the state's plain JSON.
        let mut legacy = state.clone();
        legacy.right_id = proto_types::body::RightId::parse("FR-TM-2").expect("an id");
        let legacy_json = serde_json::to_vec(&legacy).expect("JSON");
        assert_eq!(legacy_json.first(), Some(&b'{'));
        store
            .db
            .put_cf(store.cf(cf::RIGHTS), b"FR-TM-2", &legacy_json)
            .expect("writes");
        assert_eq!(
            store.right("FR-TM-2").expect("a legacy value reads"),
            Some(legacy.clone())
        );
        let mut count = 0;
        store
            .scan_rights(&[], |_, _| {
                count += 1;
                Ok(true)
            })
            .expect("every version scans");
        assert_eq!(count, 3);
        store
            .db
            .put_cf(store.cf(cf::RIGHTS), b"FR-TM-3", [0x7f, b'{', b'}'])
            .expect("writes");
        assert!(matches!(
            store.right("FR-TM-3"),
            Err(StorageError::Corrupt { cf: "rights", .. })
        ));
    }

    #[test]
    fn claim_ids_come_in_index_order_up_to_the_limit() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let (store, writer) = Store::open(dir.path()).expect("opens");
        let market = SecretKey::from_seed(&examples::MARKETPLACE_SEED);
        let mut decisions = Vec::new();
        let mut prev = None;
        for seq in 1..=4u64 {
            let mut body = examples::decision();
            body["seller_ref"] = json!(format!("{:064x}", seq));
            let decision = sign(&market, seq, prev, EntryKind::Decision, &body);
            prev = Some(decision.id());
            decisions.push(decision);
        }
        commit(&writer, |batch| {
            for decision in &decisions {
                batch.put_entry(decision);
                batch.put_claim_indexes(decision);
            }
        });
        let mut expected: Vec<EntryId> = decisions.iter().map(|entry| entry.id()).collect();
        expected.sort_by_key(|id| id.0);
        assert_eq!(
            store
                .claim_ids(ClaimIndex::Listing, "listing-889201", 10)
                .expect("reads"),
            expected
        );
        assert_eq!(
            store
                .claim_ids(ClaimIndex::Listing, "listing-889201", 2)
                .expect("reads"),
            expected[..2].to_vec()
        );
        assert_eq!(
            store
                .claim_ids(ClaimIndex::Notice, examples::NOTICE_ID, 10)
                .expect("reads")
                .len(),
            4
        );
        let one = format!("{:064x}", 1);
        assert_eq!(
            store
                .claim_ids(ClaimIndex::SellerRef, &one, 10)
                .expect("reads"),
            vec![decisions[0].id()]
        );
        // A value that is a prefix of an indexed one matches nothing.
        assert!(
            store
                .claim_ids(ClaimIndex::Listing, "listing-88920", 10)
                .expect("reads")
                .is_empty()
        );
    }

    #[test]
    fn equivocations_ineffective_reasons_and_rotations_round_trip() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let (store, writer) = Store::open(dir.path()).expect("opens");
        let author = office().public_key();
        let first = sign(
            &office(),
            1,
            None,
            EntryKind::Authority,
            &examples::authority(),
        );
        let mut other = examples::authority();
        other["contact"] = json!("other@office.example");
        let second = sign(&office(), 1, None, EntryKind::Authority, &other);
        let proof = EquivocationProof::new(first.clone(), second).expect("a proof");
        let new = SecretKey::from_seed(&examples::NEW_OFFICE_SEED).public_key();
        commit(&writer, |batch| {
            batch.put_equivocation(&proof);
            batch.put_ineffective(&first.id(), "why it changed nothing");
            batch.put_rotation(
                &author,
                &crate::trust::Rotation {
                    new_key: new,
                    seq: 7,
                    entry_id: EntryId([3; 32]),
                    compromised_since: Some(5),
                },
            );
            batch.put_undo_marker(&crate::storage::UndoMarker {
                old_key: author,
                next_seq: 5,
                end_seq: 7,
            });
        });
        assert!(store.has_equivocation(&author, 1).expect("reads"));
        assert!(!store.has_equivocation(&author, 2).expect("reads"));
        let proofs = store.equivocations(10).expect("reads");
        assert_eq!(proofs, vec![proof.to_value()]);
        assert_eq!(
            store
                .ineffective_reason(&first.id())
                .expect("reads")
                .as_deref(),
            Some("why it changed nothing")
        );
        assert_eq!(
            store.ineffective_reason(&EntryId([0; 32])).expect("reads"),
            None
        );
        assert_eq!(store.rotations().expect("reads"), vec![(author, new, 7)]);
        let records = store.rotation_records().expect("reads");
        assert_eq!(records[0].1.entry_id, EntryId([3; 32]));
        assert_eq!(records[0].1.compromised_since, Some(5));
        let markers = store.undo_markers().expect("reads");
        assert_eq!(markers.len(), 1);
        assert_eq!((markers[0].next_seq, markers[0].end_seq), (5, 7));
        commit(&writer, |batch| batch.delete_undo_marker(&author));
        assert!(store.undo_markers().expect("reads").is_empty());
        // The schema version, in the same family, is not taken for a marker.
        assert!(store.rotation_records().expect("reads").len() == 1);
    }

    #[test]
    fn a_failed_commit_writes_nothing_and_the_next_one_goes_in() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let (store, writer) = Store::open(dir.path()).expect("opens");
        let entry = sign(
            &office(),
            1,
            None,
            EntryKind::Authority,
            &examples::authority(),
        );
        writer.fail_next_commits(1);
        let mut batch = writer.batch();
        batch.put_entry(&entry);
        let error = writer.commit(batch, true).expect_err("injected");
        assert!(matches!(error, StorageError::CommitFailed(_)), "{error}");
        assert!(
            error
                .to_string()
                .starts_with("committing a write batch failed")
        );
        assert_eq!(store.entry_bytes(&entry.id()).expect("reads"), None);
        assert_eq!(store.head(entry.author()).expect("reads"), None);
        commit(&writer, |batch| batch.put_entry(&entry));
        assert!(store.entry_bytes(&entry.id()).expect("reads").is_some());
        assert_eq!(writer.commits_attempted(), 2);
    }
}

mod upgrade {
    //! Schema version 1 → 2: the trees of a store written before trees existed.

    use proto_types::body::{Body, EntryKind, examples};
    use proto_types::entry::{UnsignedEntry, VerifiedEntry};
    use proto_types::keys::SecretKey;
    use proto_types::timestamp::Timestamp;
    use proto_types::tlog::{self, NodeId, TreeHash};
    use serde_json::json;

    use super::*;

    /// A chain of `count` registrations by the key of seed `seed` × 32.
    fn entry_chain(seed: u8, count: u64) -> Vec<VerifiedEntry> {
        let key = SecretKey::from_seed(&[seed; 32]);
        let mut entries: Vec<VerifiedEntry> = Vec::new();
        for seq in 1..=count {
            let mut body = examples::registration();
            body["right_id"] = json!(format!("FR-TM-{seq}"));
            body["number"] = json!(seq.to_string());
            let entry = UnsignedEntry {
                seq,
                prev: entries.last().map(|entry| entry.id()),
                timestamp: Timestamp::from_unix_millis(1_700_000_000_000 + seq as i64)
                    .expect("a timestamp"),
                body: Body::decode(EntryKind::Registration, &body).expect("a body"),
            }
            .sign(&key)
            .expect("signs");
            entries.push(entry);
        }
        entries
    }

    /// The root of the entries' tree by proto-types' in-memory tree.
    fn reference_root(leaves: &[VerifiedEntry]) -> TreeHash {
        tlog::MemoryTree::with_leaves(leaves.iter().map(|entry| entry.canonical_bytes())).root()
    }

    /// Turns a store written by this build back into version 1: the families version 2 added
    /// dropped and the version rewritten.
    fn downgrade_to_version_1(path: &Path) {
        downgrade(path, 1);
    }

    /// Turns a store written by this build back into `version`: the families later versions
    /// added dropped and the version rewritten.
    pub(super) fn downgrade(path: &Path, version: u32) {
        let mut db = DB::open_cf(&Options::default(), path, cf::ALL).unwrap();
        for family in cf::added_after(version) {
            db.drop_cf(family).unwrap();
        }
        db.put_cf(
            db.cf_handle(cf::META).unwrap(),
            SCHEMA_KEY,
            version.to_be_bytes(),
        )
        .unwrap();
    }

    #[test]
    fn a_version_1_store_is_upgraded_with_every_feed_s_tree_built() {
        let dir = tempfile::tempdir().unwrap();
        // More than one build batch, and a small feed.
        let feeds = [
            entry_chain(1, tree::BUILD_BATCH_ENTRIES as u64 + 5),
            entry_chain(2, 3),
        ];
        {
            let (_, writer) = Store::open(dir.path()).unwrap();
            for chain in &feeds {
                for entries in chain.chunks(1000) {
                    let mut batch = writer.batch();
                    for entry in entries {
                        batch.put_entry(entry);
                    }
                    writer.commit(batch, false).unwrap();
                }
            }
        }
        downgrade_to_version_1(dir.path());
        let (store, writer) = Store::open(dir.path()).unwrap();
        assert_eq!(
            schema_version(&store),
            Some(SCHEMA_VERSION.to_be_bytes().to_vec())
        );
        for chain in &feeds {
            let author = chain[0].author();
            let size = chain.len() as u64;
            for probe in [1, size / 3, size - 1, size] {
                assert_eq!(
                    store.tree_root(author, probe).unwrap(),
                    reference_root(&chain[..probe as usize]),
                    "size {probe}"
                );
            }
            assert_eq!(
                store.tree_nodes(author, &[NodeId::new(0, size)]).unwrap(),
                vec![None]
            );
        }
        drop((store, writer));
        // Opening again does not build again; a version 2 store missing a family is refused.
        Store::open(dir.path()).unwrap();
        {
            let mut db = DB::open_cf(&Options::default(), dir.path(), cf::ALL).unwrap();
            db.drop_cf(cf::TLOG).unwrap();
        }
        let error = Store::open(dir.path()).err().expect("refused").to_string();
        assert!(error.contains("without the family"), "{error}");
    }

    #[test]
    fn an_upgrade_killed_half_way_is_run_again() {
        let dir = tempfile::tempdir().unwrap();
        let chain = entry_chain(3, 300);
        {
            let (_, writer) = Store::open(dir.path()).unwrap();
            let mut batch = writer.batch();
            for entry in &chain {
                batch.put_entry(entry);
            }
            writer.commit(batch, false).unwrap();
        }
        downgrade_to_version_1(dir.path());
        // Half of the tree written with wrong hashes and the version still 1: as a build
        // killed part-way that left garbage would. The next open builds everything again.
        {
            let db = raw_database(dir.path(), &cf::ALL);
            let author = chain[0].author();
            for index in 0..150u64 {
                db.put_cf(
                    db.cf_handle(cf::TLOG).unwrap(),
                    keys::tree_node(author, &NodeId::new(0, index)),
                    [7u8; 32],
                )
                .unwrap();
            }
        }
        let (store, _writer) = Store::open(dir.path()).unwrap();
        assert_eq!(
            store.tree_root(chain[0].author(), 300).unwrap(),
            reference_root(&chain)
        );
    }
}
