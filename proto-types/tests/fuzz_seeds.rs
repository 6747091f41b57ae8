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

const TARGETS: [(&str, Oracle); 5] = [
    ("json", fuzzing::json),
    ("entry", fuzzing::entry),
    ("notice", fuzzing::notice),
    ("credential", fuzzing::credential),
    ("sync", fuzzing::sync),
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
    documents
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
