//! Replays the fuzz seeds (`fuzz/seeds/<target>/*`, inputs a fuzz run found interesting or
//! that once broke an invariant) through the same invariant checks the `cargo fuzz` targets run
//! (`proto_types::fuzzing`), and runs those checks on valid signed documents of every kind and on
//! every truncation and many byte flips of them (sync messages in CBOR included). With `RIGHTSNET_WRITE_SEEDS=DIR` it also writes
//! the valid documents to `DIR/<target>/`, to start a fuzz corpus (see fuzz/README.md).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::{Path, PathBuf};

use proto_types::body::{Body, EntryKind, examples};
use proto_types::claims::{self, RightClaims};
use proto_types::entry::{EntryId, UnsignedEntry};
use proto_types::fuzzing;
use proto_types::keys::SecretKey;
use proto_types::sync::{self, SyncRequest, SyncResponse, WireHead};
use proto_types::timestamp::Timestamp;
use serde_bytes::ByteBuf;
use serde_json::json;

type Oracle = fn(&[u8]);

const TARGETS: [(&str, Oracle); 6] = [
    ("json", fuzzing::json),
    ("entry", fuzzing::entry),
    ("notice", fuzzing::notice),
    ("credential", fuzzing::credential),
    ("sync", fuzzing::sync),
    ("transparency", fuzzing::transparency),
];

fn seeds_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/seeds")
}

#[test]
fn every_kept_seed_passes_its_target() {
    let mut replayed = 0;
    for (target, oracle) in TARGETS {
        let dir = seeds_dir().join(target);
        let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|error| panic!("{}: {error}", dir.display()))
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.is_file())
            .collect();
        paths.sort();
        for path in paths {
            let data = std::fs::read(&path).unwrap();
            oracle(&data);
            // Every seed is a JSON document or bytes near one: the parser's invariants hold
            // on all of them.
            fuzzing::json(&data);
            replayed += 1;
        }
    }
    assert!(replayed > 0, "no seeds under {}", seeds_dir().display());
}

/// Valid documents for each target: an entry of every kind, a signed holder notice, a signed
/// credential, the W3C test vector, and sync requests and responses carrying real heads and
/// entries.
fn valid_documents() -> Vec<(&'static str, Vec<u8>)> {
    let office = SecretKey::from_seed(&examples::OFFICE_SEED);
    let holder = SecretKey::from_seed(&examples::HOLDER_SEED);
    let now = Timestamp::parse("2026-11-28T10:00:00Z").unwrap();
    let mut documents = Vec::new();
    let mut entries = Vec::new();
    for (index, kind) in EntryKind::ALL.into_iter().enumerate() {
        let entry = UnsignedEntry {
            seq: index as u64 + 1,
            prev: (index > 0).then_some(EntryId([7; 32])),
            timestamp: now.clone(),
            body: Body::decode(kind, &examples::for_kind(kind)).unwrap(),
        }
        .sign(&office)
        .unwrap();
        documents.push(("entry", entry.canonical_bytes().to_vec()));
        entries.push(entry);
    }
    let last = entries.last().unwrap();
    let requests = [
        SyncRequest::Heads,
        SyncRequest::Range {
            author: office.public_key().to_bytes(),
            from_seq: 1,
            limit: sync::MAX_RANGE_ENTRIES,
        },
    ];
    for request in &requests {
        documents.push(("sync", sync::encode_request(request).unwrap()));
    }
    let responses = [
        SyncResponse::Heads(vec![WireHead {
            author: office.public_key().to_bytes(),
            seq: last.seq(),
            id: last.id().0,
        }]),
        SyncResponse::Entries(
            entries
                .iter()
                .map(|entry| ByteBuf::from(entry.canonical_bytes().to_vec()))
                .collect(),
        ),
        SyncResponse::Busy,
        SyncResponse::Refused("internal error".to_owned()),
    ];
    for response in &responses {
        documents.push(("sync", sync::encode_response(response).unwrap()));
    }
    let notice = claims::sign_notice(&examples::holder_notice(), &holder).unwrap();
    documents.push(("notice", serde_json::to_vec(&notice).unwrap()));
    let right = RightClaims {
        right_id: proto_types::body::RightId::parse(examples::RIGHT_ID).unwrap(),
        right_type: "trademark".to_owned(),
        mark: Some("ÉTOILE DU NORD".to_owned()),
        nice_classes: vec![18, 25],
        holder_name: "Maison Étoile SAS".to_owned(),
        expiry_date: Some("2034-11-04".to_owned()),
        registration_entry: EntryId([5; 32]),
    };
    let document = claims::credential_document(
        "urn:uuid:00000000-0000-4000-8000-000000000001",
        &office.public_key(),
        &holder.public_key(),
        &right,
        &now,
        None,
    );
    let credential = claims::sign_credential(&document, &office, &now).unwrap();
    documents.push(("credential", serde_json::to_vec(&credential).unwrap()));
    let vector =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/w3c-vc-di-eddsa/signedJCS.json");
    documents.push(("credential", std::fs::read(vector).unwrap()));
    let numbers = json!({
        "numbers": [0, -0.0, 1e21, 1e-7, 9_007_199_254_740_993_u64, 0.1],
        "text": "\u{2028}é\u{1F600}",
        "nested": [[[{}]]],
    });
    documents.push(("json", serde_json::to_vec(&numbers).unwrap()));
    documents.extend(transparency_documents(&office, &entries));
    documents
}

/// A checkpoint of the entries' tree with two cosignatures, a tlog-proof carrying an entry,
/// an entry bundle, tile paths and a witness policy.
fn transparency_documents(
    office: &SecretKey,
    entries: &[proto_types::entry::VerifiedEntry],
) -> Vec<(&'static str, Vec<u8>)> {
    use proto_types::checkpoint::tlog_proof::TlogProof;
    use proto_types::checkpoint::{cosignature, sign_feed_checkpoint, verify_feed_checkpoint};
    use proto_types::note::Note;
    use proto_types::tlog::{self, MemoryTree};

    let mut tree = MemoryTree::with_leaves(entries.iter().map(|entry| entry.canonical_bytes()));
    let size = entries.len() as u64;
    let root = tree.root();
    let mut note = Note::parse(&sign_feed_checkpoint(office, size, &root)).unwrap();
    let checkpoint = verify_feed_checkpoint(&note.to_text()).unwrap();
    let mut policy = String::new();
    for seed in [3u8, 4] {
        let witness = SecretKey::from_seed(&[seed; 32]);
        note.add_signature(cosignature::cosign(&checkpoint, &witness, 1_764_547_200).unwrap())
            .unwrap();
        policy.push_str(&format!(
            "witness w{seed} {}\n",
            cosignature::witness_vkey(&witness.public_key())
        ));
    }
    policy.push_str("group both 2 w3 w4\nquorum both\n");
    let note = note.to_text();
    let index = 2;
    let path = tlog::inclusion_proof(index, size, &mut tree).unwrap();
    let proof = TlogProof::new(
        Some(entries[index as usize].canonical_bytes().to_vec()),
        index,
        path,
        &note,
    )
    .unwrap();
    let bytes: Vec<&[u8]> = entries
        .iter()
        .map(|entry| entry.canonical_bytes())
        .collect();
    vec![
        ("transparency", note.into_bytes()),
        ("transparency", proof.to_text().into_bytes()),
        ("transparency", tlog::encode_entry_bundle(&bytes).unwrap()),
        ("transparency", b"tile/0/x001/x234/067.p/8".to_vec()),
        ("transparency", b"tile/entries/000".to_vec()),
        ("transparency", policy.into_bytes()),
    ]
}

#[test]
fn valid_documents_and_their_damaged_copies_keep_every_invariant() {
    let write_to = std::env::var_os("RIGHTSNET_WRITE_SEEDS").map(PathBuf::from);
    for (index, (target, bytes)) in valid_documents().into_iter().enumerate() {
        let oracle = TARGETS.iter().find(|(name, _)| *name == target).unwrap().1;
        oracle(&bytes);
        fuzzing::json(&bytes);
        if let Some(dir) = &write_to {
            let dir = dir.join(target);
            std::fs::create_dir_all(&dir).unwrap();
            let extension = if target == "sync" { "cbor" } else { "json" };
            std::fs::write(dir.join(format!("valid-{index}.{extension}")), &bytes).unwrap();
        }
        // Every truncation, and a byte flip at every 7th position (each a different bit).
        for end in 0..bytes.len() {
            oracle(&bytes[..end]);
        }
        for position in (0..bytes.len()).step_by(7) {
            let mut damaged = bytes.clone();
            damaged[position] ^= 1 << (position % 8);
            oracle(&damaged);
            fuzzing::json(&damaged);
        }
    }
}
