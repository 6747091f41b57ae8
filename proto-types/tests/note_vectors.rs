//! Signed notes and checkpoints against published vectors (Go's `sumdb/note` tests and the C2SP
//! specifications' examples, under `tests/vectors/`) and against independent implementations:
//! the `signed_note` crate (Cloudflare's port of Go's `sumdb/note`) and `tlog_tiles`'s
//! checkpoint parser and inclusion-proof checker.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use proto_types::checkpoint::cosignature::{
    cosign, witness_key_from_name, witness_name, witness_verifier_key, witness_vkey,
};
use proto_types::checkpoint::tlog_proof::TlogProof;
use proto_types::checkpoint::{
    Checkpoint, feed_author, feed_origin, sign_feed_checkpoint, verify_feed_checkpoint,
};
use proto_types::keys::SecretKey;
use proto_types::note::{KeyId, Note, NoteError, SignatureType, VerifierKey};
use proto_types::tlog::{TreeHash, leaf_hash, node_hash};

fn vector(path: &str) -> String {
    let full = format!("{}/../tests/vectors/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&full).unwrap_or_else(|error| panic!("{full}: {error}"))
}

fn vector_line(path: &str) -> String {
    vector(path).trim_end_matches('\n').to_string()
}

/// Go's `PRIVATE+KEY+<name>+<id>+<base64(0x01 ‖ seed)>` signer key, as our secret key.
fn go_signer_key(skey: &str) -> (String, SecretKey) {
    let parts: Vec<&str> = skey.splitn(5, '+').collect();
    assert_eq!(&parts[..2], ["PRIVATE", "KEY"]);
    let bytes = STANDARD.decode(parts[4]).unwrap();
    assert_eq!(bytes[0], 0x01);
    let seed: [u8; 32] = bytes[1..].try_into().unwrap();
    (parts[2].to_string(), SecretKey::from_seed(&seed))
}

const GO_TEXT: &str = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";

#[test]
fn go_verifier_keys_parse_and_format_back() {
    for name in ["peter", "enoch"] {
        let text = vector_line(&format!("go-sumdb-note/{name}.vkey"));
        let key = VerifierKey::parse(&text).unwrap();
        assert_eq!(key.to_string(), text);
        assert_eq!(key.signature_type(), SignatureType::Ed25519);
    }
    let peter = VerifierKey::parse(&vector_line("go-sumdb-note/peter.vkey")).unwrap();
    assert_eq!(peter.name(), "PeterNeumann");
    assert_eq!(peter.key_id(), KeyId([0xc7, 0x4f, 0x20, 0xa3]));
}

#[test]
fn go_verifier_key_manglings_are_refused() {
    // As Go's TestNewVerifier: every proper substring and every one-byte change is refused.
    let vkey = vector_line("go-sumdb-note/peter.vkey");
    let bytes = vkey.as_bytes();
    for start in 0..=bytes.len() {
        for end in start + 1..=bytes.len() {
            if start == 0 && end == bytes.len() {
                continue;
            }
            let part = std::str::from_utf8(&bytes[start..end]).unwrap();
            assert!(VerifierKey::parse(part).is_err(), "{part:?} accepted");
        }
    }
    for position in 0..bytes.len() {
        let mut changed = bytes.to_vec();
        changed[position] += 1;
        let changed = String::from_utf8(changed).unwrap();
        assert!(
            VerifierKey::parse(&changed).is_err(),
            "{changed:?} accepted"
        );
    }
    // Go's two keys with adjusted ids: a key of the wrong length, an unknown type.
    assert!(
        VerifierKey::parse(
            "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY=="
        )
        .is_err()
    );
    assert_eq!(
        VerifierKey::parse("PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"),
        Err(NoteError::UnsupportedSignatureType(0x65))
    );
}

#[test]
fn signing_go_s_text_with_go_s_key_gives_go_s_note() {
    let (name, key) = go_signer_key(&vector_line("go-sumdb-note/peter.skey"));
    let vkey = VerifierKey::parse(&vector_line("go-sumdb-note/peter.vkey")).unwrap();
    assert_eq!(vkey.public_key(), &key.public_key());
    let mut note = Note::new(GO_TEXT).unwrap();
    let line = note.sign(&name, &key).unwrap();
    assert_eq!(line.key_id(), vkey.key_id());
    assert_eq!(note.to_text(), vector("go-sumdb-note/peter.note"));
    // Signing again replaces the line instead of adding one.
    note.sign(&name, &key).unwrap();
    assert_eq!(note.to_text(), vector("go-sumdb-note/peter.note"));
}

#[test]
fn go_s_two_signature_note_verifies_as_go_opens_it() {
    let peter = VerifierKey::parse(&vector_line("go-sumdb-note/peter.vkey")).unwrap();
    let enoch = VerifierKey::parse(&vector_line("go-sumdb-note/enoch.vkey")).unwrap();
    let text = vector("go-sumdb-note/peter_enoch.note");
    let note = Note::parse(&text).unwrap();
    assert_eq!(note.text(), GO_TEXT);
    assert_eq!(note.to_text(), text);

    let verified = note.verify(std::slice::from_ref(&peter)).unwrap();
    assert_eq!(verified.verified().len(), 1);
    assert_eq!(verified.verified()[0].key(), &peter);
    let unverified: Vec<_> = verified.unverified().collect();
    assert_eq!(unverified.len(), 1);
    assert_eq!(unverified[0].name(), "EnochRoot");
    assert_eq!(unverified[0].key_id(), enoch.key_id());

    let both = note.verify(&[peter.clone(), enoch.clone()]).unwrap();
    assert_eq!(both.verified().len(), 2);
    assert_eq!(both.unverified().count(), 0);

    assert_eq!(note.verify(&[]), Err(NoteError::NoKnownSignature));
    // The same key listed twice is one key; two different keys with one name and id are not.
    assert!(note.verify(&[peter.clone(), peter.clone()]).is_ok());
}

#[test]
fn go_s_bad_notes_are_refused() {
    let peter_line = vector("go-sumdb-note/peter.note")
        .split_once("\n\n")
        .unwrap()
        .1
        .to_string();
    let without_newline = peter_line.trim_end_matches('\n');
    let bad = [
        GO_TEXT.to_string(),
        format!("{GO_TEXT}\n"),
        format!("{GO_TEXT}\n{without_newline}"),
        format!("\x01{GO_TEXT}\n{peter_line}"),
        format!(
            "{GO_TEXT}\n\u{2014} Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM="
        ),
        format!("{GO_TEXT}\n{peter_line}Unexpected line.\n"),
    ];
    for note in bad {
        assert!(Note::parse(&note).is_err(), "{note:?} accepted");
    }
    let mut invalid_utf8 = b"\xff".to_vec();
    invalid_utf8.extend_from_slice(vector("go-sumdb-note/peter.note").as_bytes());
    assert_eq!(Note::parse_bytes(&invalid_utf8), Err(NoteError::NotUtf8));

    // Go's "invalid signature": four characters inserted into the base64.
    let peter = VerifierKey::parse(&vector_line("go-sumdb-note/peter.vkey")).unwrap();
    let good = vector("go-sumdb-note/peter.note");
    let split = good.find("\u{2014}").unwrap() + 60;
    let corrupted = format!("{}ABCD{}", &good[..split], &good[split..]);
    let note = Note::parse(&corrupted).unwrap();
    assert!(matches!(
        note.verify(&[peter]),
        Err(NoteError::InvalidSignature { .. })
    ));

    // Go accepts and drops a repeated signature line; a Rightsnet note refuses it, so that a
    // parsed note has one meaning and formats back to the same bytes.
    let repeated = format!("{good}{peter_line}");
    assert!(matches!(
        Note::parse(&repeated),
        Err(NoteError::DuplicateSignature { .. })
    ));
}

#[test]
fn the_c2sp_signed_note_examples() {
    let vkey = VerifierKey::parse(&vector_line("c2sp/signed-note-example.vkey")).unwrap();
    let text = vector("c2sp/signed-note-example.note");
    let note = Note::parse(&text).unwrap();
    assert_eq!(note.verify(&[vkey]).unwrap().verified().len(), 1);
    assert_eq!(note.to_text(), text);

    // The text may contain blank lines: the last one separates the signatures.
    let intro = vector("c2sp/signed-note-intro.note");
    let note = Note::parse(&intro).unwrap();
    assert!(note.text().ends_with("\n\ned \u{e8} subito sera.\n"));
    assert_eq!(note.signatures().len(), 1);
    assert_eq!(note.signatures()[0].name(), "quasimodo.example/salvatore");
    assert_eq!(note.to_text(), intro);
}

#[test]
fn the_c2sp_checkpoint_and_cosignature_examples() {
    let text = vector("c2sp/tlog-cosignature-example.note");
    let note = Note::parse(&text).unwrap();
    let checkpoint = Checkpoint::parse(note.text()).unwrap();
    assert_eq!(checkpoint.origin(), "example.com/behind-the-sofa");
    assert_eq!(checkpoint.size(), 20852163);
    assert_eq!(
        STANDARD.encode(checkpoint.root().0),
        "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I="
    );
    assert!(checkpoint.extensions().is_empty());
    assert_eq!(checkpoint.to_text(), note.text());
    let cosignature = &note.signatures()[1];
    assert_eq!(cosignature.name(), "witness.example.com/w1");
    assert_eq!(cosignature.signature().len(), 8 + 64);
    let timestamp = u64::from_be_bytes(cosignature.signature()[..8].try_into().unwrap());
    assert_eq!(timestamp, 1679315147);
    assert_eq!(note.to_text(), text);

    // Not a Rightsnet feed: refused by the feed verifier, whatever the signatures.
    assert!(verify_feed_checkpoint(&text).is_err());

    // Two lines of one key name with different key ids are two keys.
    let witness_request = Note::parse(&vector("c2sp/tlog-witness-add-checkpoint.note")).unwrap();
    assert_eq!(witness_request.signatures().len(), 2);
    assert_ne!(
        witness_request.signatures()[0].key_id(),
        witness_request.signatures()[1].key_id()
    );

    let plain = vector("c2sp/tlog-checkpoint-example.note");
    assert_eq!(Note::parse(&plain).unwrap().to_text(), plain);
}

#[test]
fn the_signed_note_crate_reads_and_writes_the_same_notes() {
    use signed_note::{Note as OtherNote, StandardSigner, StandardVerifier, VerifierList};
    for seed in 0u8..8 {
        let key = SecretKey::from_seed(&[seed; 32]);
        let name = format!("example.com/log{seed}");
        let text = format!("line {seed}\n\nafter a blank line\n");
        let vkey = VerifierKey::ed25519(&name, key.public_key()).unwrap();

        // The same key id and vkey text.
        let mut type_and_key = vec![0x01];
        type_and_key.extend_from_slice(&key.public_key().to_bytes());
        assert_eq!(
            signed_note::key_id(&name, &type_and_key).to_be_bytes(),
            vkey.key_id().0
        );
        assert_eq!(
            signed_note::new_ed25519_verifier_key(&name, key.public_key().as_dalek()),
            vkey.to_string()
        );

        // Our note verifies there, and their signature is ours byte for byte.
        let mut ours = Note::new(&text).unwrap();
        ours.sign(&name, &key).unwrap();
        let theirs = OtherNote::from_bytes(ours.to_text().as_bytes()).unwrap();
        let verifiers = VerifierList::new(vec![Box::new(
            StandardVerifier::new(&vkey.to_string()).unwrap(),
        )]);
        let (verified, _) = theirs.verify(&verifiers).unwrap();
        assert_eq!(verified.len(), 1);

        let mut seed_and_type = vec![0x01];
        seed_and_type.extend_from_slice(&[seed; 32]);
        let skey = format!(
            "PRIVATE+KEY+{name}+{}+{}",
            vkey.key_id(),
            STANDARD.encode(&seed_and_type)
        );
        let signer = StandardSigner::new(&skey).unwrap();
        let mut theirs = OtherNote::new(text.as_bytes(), &[]).unwrap();
        theirs.add_sigs(&[&signer]).unwrap();
        assert_eq!(theirs.to_bytes(), ours.to_text().into_bytes());
        // And theirs parses and verifies here.
        let back = Note::parse_bytes(&theirs.to_bytes()).unwrap();
        assert_eq!(back.verify(&[vkey]).unwrap().verified().len(), 1);
    }
}

#[test]
fn the_signed_note_crate_and_this_one_agree_on_malformed_notes() {
    // Notes both refuse; the differences (duplicates, non-canonical base64) are tested apart.
    let good = vector("go-sumdb-note/peter.note");
    let (text, signature) = good.split_once("\n\n").unwrap();
    let cases = [
        format!("{text}\n{signature}"),
        format!("{text}\n\n{}", signature.trim_end()),
        format!("{text}\r\n\n{signature}"),
        format!("{text}\n\n- PeterNeumann AAAAAAA=\n"),
        format!("{text}\n\n\u{2014} Peter+Neumann AAAAAAA=\n"),
        format!("{text}\n\n\u{2014} PeterNeumann AAAA\n"),
        format!("{text}\n\n\u{2014} PeterNeumann !!!!\n"),
        format!("{text}\n\n"),
    ];
    for case in cases {
        assert!(Note::parse(&case).is_err(), "{case:?}");
        assert!(
            signed_note::Note::from_bytes(case.as_bytes()).is_err(),
            "signed_note accepts {case:?}"
        );
    }
}

#[test]
fn tlog_tiles_reads_our_checkpoints_as_we_do() {
    for (size, extensions) in [
        (0u64, vec![]),
        (1, vec![]),
        (20852163, vec!["ext one".to_string()]),
        (u64::MAX, vec!["a".to_string(), "b c".to_string()]),
    ] {
        let root = leaf_hash(&size.to_be_bytes());
        let ours = Checkpoint::with_extensions("example.com/log", size, root, extensions).unwrap();
        let text = ours.to_text();
        let theirs = tlog_tiles::Checkpoint::from_bytes(text.as_bytes()).unwrap();
        assert_eq!(theirs.origin(), ours.origin());
        assert_eq!(theirs.size(), ours.size());
        assert_eq!(theirs.hash().0, ours.root().0);
        assert_eq!(theirs.to_bytes(), text.as_bytes());
    }
    for bad in [
        "example.com/log\n01\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
        "example.com/log\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I\n",
        "example.com/log\n1\n",
        "\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
        "example.com/log\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n",
        "example.com/log\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=",
        "example.com/log\n18446744073709551616\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
    ] {
        assert!(Checkpoint::parse(bad).is_err(), "{bad:?}");
        assert!(
            tlog_tiles::Checkpoint::from_bytes(bad.as_bytes()).is_err(),
            "tlog_tiles accepts {bad:?}"
        );
    }
}

/// RFC 9162 §2.1.3.1 PATH(m, D[n]), recursively, from the leaf's sibling up.
fn inclusion_path(index: usize, leaves: &[TreeHash]) -> Vec<TreeHash> {
    if leaves.len() <= 1 {
        return Vec::new();
    }
    let split = leaves.len().next_power_of_two() / 2;
    let (left, right) = leaves.split_at(split);
    if index < split {
        let mut path = inclusion_path(index, left);
        path.push(root_of(right));
        path
    } else {
        let mut path = inclusion_path(index - split, right);
        path.push(root_of(left));
        path
    }
}

fn root_of(leaves: &[TreeHash]) -> TreeHash {
    match leaves.len() {
        0 => TreeHash::empty(),
        1 => leaves[0],
        length => {
            let split = length.next_power_of_two() / 2;
            node_hash(&root_of(&leaves[..split]), &root_of(&leaves[split..]))
        }
    }
}

#[test]
fn tlog_proofs_verify_exactly_when_tlog_tiles_check_record_agrees() {
    let office = SecretKey::from_seed(&[1; 32]);
    let leaves: Vec<TreeHash> = (0u32..23)
        .map(|leaf| leaf_hash(&leaf.to_be_bytes()))
        .collect();
    for size in 1..=leaves.len() {
        let tree = &leaves[..size];
        let root = root_of(tree);
        let note = sign_feed_checkpoint(&office, size as u64, &root);
        for index in 0..size {
            let path = inclusion_path(index, tree);
            let proof = TlogProof::new(None, index as u64, path.clone(), &note).unwrap();
            let theirs: Vec<tlog_tiles::Hash> =
                path.iter().map(|hash| tlog_tiles::Hash(hash.0)).collect();
            let leaf = tree[index];
            let check = |proof: &TlogProof, theirs: &[tlog_tiles::Hash], leaf: TreeHash| {
                let ours = proof.verify(&leaf).is_ok();
                let other = tlog_tiles::check_record(
                    &theirs.to_vec(),
                    size as u64,
                    tlog_tiles::Hash(root.0),
                    proof.index(),
                    tlog_tiles::Hash(leaf.0),
                )
                .is_ok();
                assert_eq!(ours, other, "size {size} index {}", proof.index());
                ours
            };
            assert!(check(&proof, &theirs, leaf));
            // Another leaf, another index, a shortened or extended path: refused by both.
            assert!(!check(&proof, &theirs, leaf_hash(b"other")));
            if size > 1 {
                let moved =
                    TlogProof::new(None, ((index + 1) % size) as u64, path.clone(), &note).unwrap();
                assert!(!check(&moved, &theirs, leaf));
                let short = TlogProof::new(None, index as u64, path[1..].to_vec(), &note).unwrap();
                assert!(!check(&short, &theirs[1..], leaf));
            }
            let mut long_path = path.clone();
            long_path.push(root);
            let long = TlogProof::new(None, index as u64, long_path, &note).unwrap();
            let mut long_theirs = theirs.clone();
            long_theirs.push(tlog_tiles::Hash(root.0));
            assert!(!check(&long, &long_theirs, leaf));
        }
    }
}

#[test]
fn feed_and_witness_names_carry_their_keys() {
    let office = SecretKey::from_seed(&[1; 32]).public_key();
    let origin = feed_origin(&office);
    assert!(origin.starts_with("rightsnet/feed/did:key:z6Mk"));
    assert_eq!(feed_author(&origin), Some(office));
    let witness = SecretKey::from_seed(&[3; 32]).public_key();
    let name = witness_name(&witness);
    assert_eq!(witness_key_from_name(&name), Some(witness));
    let vkey = witness_vkey(&witness);
    let parsed = VerifierKey::parse(&vkey).unwrap();
    assert_eq!(parsed, witness_verifier_key(&witness));
    assert_eq!(parsed.signature_type(), SignatureType::CosignatureV1);
    assert_eq!(parsed.name(), name);
    // The same key as a plain Ed25519 key has another key id.
    assert_ne!(
        VerifierKey::ed25519(&name, witness).unwrap().key_id(),
        parsed.key_id()
    );
    for bad in [
        "rightsnet/feed/",
        "rightsnet/feed/did:key:z6Mk",
        "rightsnet/witness/did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2",
        "example.com/feed/did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2",
        "rightsnet/feed/did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2 ",
        "rightsnet/feed/did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2#z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2",
    ] {
        assert_eq!(feed_author(bad), None, "{bad:?}");
    }
    assert!(
        feed_author("rightsnet/feed/did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2")
            .is_some()
    );
}

#[test]
fn a_cosignature_signs_the_c2sp_message() {
    let office = SecretKey::from_seed(&[1; 32]);
    let witness = SecretKey::from_seed(&[3; 32]);
    let note = sign_feed_checkpoint(&office, 5, &leaf_hash(b"root"));
    let checkpoint = verify_feed_checkpoint(&note).unwrap();
    let line = cosign(&checkpoint, &witness, 1679315147).unwrap();
    assert_eq!(line.signature()[..8], 1679315147u64.to_be_bytes());
    // The signature is Ed25519 over "cosignature/v1\ntime <t>\n" and the checkpoint text.
    let message = format!(
        "cosignature/v1\ntime 1679315147\n{}",
        checkpoint.note().text()
    );
    let signature = proto_types::keys::Signature::from_slice(&line.signature()[8..]).unwrap();
    witness
        .public_key()
        .verify(message.as_bytes(), &signature)
        .unwrap();
    let check = checkpoint.cosignatures(&[witness_verifier_key(&witness.public_key())]);
    assert!(check.valid().is_empty(), "not in the note yet");
    let mut with = checkpoint.clone();
    let verified = with
        .add_cosignature(&witness_verifier_key(&witness.public_key()), line)
        .unwrap();
    assert_eq!(verified.timestamp(), 1679315147);
    let again = verify_feed_checkpoint(&with.to_note_text()).unwrap();
    let check = again.rightsnet_cosignatures();
    assert_eq!(check.valid().len(), 1);
    assert_eq!(
        check.valid()[0].witness().public_key(),
        &witness.public_key()
    );
    assert!(check.invalid().is_empty());
}
