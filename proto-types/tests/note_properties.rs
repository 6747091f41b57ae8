//! Signed notes, checkpoints, cosignatures, witness policies and tlog-proofs: round-trip
//! properties, parsers that never panic and accept only canonical text, and adversarial inputs.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use proptest::prelude::*;
use proto_types::checkpoint::cosignature::{cosign, witness_name, witness_verifier_key};
use proto_types::checkpoint::policy::{PolicyError, WitnessPolicy};
use proto_types::checkpoint::tlog_proof::{
    MAX_INCLUSION_HASHES, TLOG_PROOF_HEADER, TlogProof, TlogProofError,
};
use proto_types::checkpoint::{
    Checkpoint, CheckpointError, feed_origin, feed_verifier_key, sign_feed_checkpoint,
    verify_feed_checkpoint,
};
use proto_types::keys::SecretKey;
use proto_types::note::{
    KeyId, MAX_NOTE_BYTES, MAX_NOTE_SIGNATURES, Note, NoteError, NoteSignature, VerifierKey,
};
use proto_types::tlog::{TreeHash, leaf_hash};

fn key(seed: u8) -> SecretKey {
    SecretKey::from_seed(&[seed; 32])
}

fn feed_note(seed: u8, size: u64) -> String {
    let root = if size == 0 {
        TreeHash::empty()
    } else {
        leaf_hash(&size.to_be_bytes())
    };
    sign_feed_checkpoint(&key(seed), size, &root)
}

// ---------------------------------------------------------------------------------------------
// Strategies.

/// A line of a note text: printable ASCII and some non-ASCII, no control characters.
fn text_line() -> impl Strategy<Value = String> {
    "[ -~é—\u{2028}\u{a0}]{0,40}"
}

fn note_text() -> impl Strategy<Value = String> {
    prop::collection::vec(text_line(), 1..6).prop_map(|lines| {
        let mut text = lines.join("\n");
        text.push('\n');
        text
    })
}

fn key_name() -> impl Strategy<Value = String> {
    "[!-*,-~é—]{1,30}"
}

fn signature_line() -> impl Strategy<Value = NoteSignature> {
    (
        key_name(),
        any::<[u8; 4]>(),
        prop::collection::vec(any::<u8>(), 1..100),
    )
        .prop_map(|(name, id, bytes)| NoteSignature::new(&name, KeyId(id), bytes).unwrap())
}

fn hash() -> impl Strategy<Value = TreeHash> {
    any::<[u8; 32]>().prop_map(TreeHash)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn notes_round_trip(text in note_text(), lines in prop::collection::vec(signature_line(), 1..6)) {
        let mut note = Note::new(&text).unwrap();
        for line in lines {
            note.add_signature(line).unwrap();
        }
        let encoded = note.to_text();
        prop_assert_eq!(encoded.len(), note.encoded_len());
        let parsed = Note::parse(&encoded).unwrap();
        prop_assert_eq!(&parsed, &note);
        prop_assert_eq!(parsed.to_text(), encoded.clone());
        // The independent implementation reads the same text and signatures.
        let other = signed_note::Note::from_bytes(encoded.as_bytes()).unwrap();
        prop_assert_eq!(other.text(), text.as_bytes());
        prop_assert_eq!(other.to_bytes(), encoded.into_bytes());
    }

    #[test]
    fn signatures_verify_under_their_key_only(text in note_text(), seed in 1u8..255, name in key_name()) {
        let mut note = Note::new(&text).unwrap();
        note.sign(&name, &key(seed)).unwrap();
        let vkey = VerifierKey::ed25519(&name, key(seed).public_key()).unwrap();
        prop_assert_eq!(VerifierKey::parse(&vkey.to_string()).unwrap(), vkey.clone());
        prop_assert!(note.verify(std::slice::from_ref(&vkey)).is_ok());
        let other = VerifierKey::ed25519(&name, key(seed - 1).public_key()).unwrap();
        prop_assert_eq!(note.verify(&[other]), Err(NoteError::NoKnownSignature));
    }

    #[test]
    fn checkpoints_round_trip(
        origin in "[ -~é]{1,40}",
        size in any::<u64>(),
        root in hash(),
        extensions in prop::collection::vec("[ -~é]{1,20}", 0..3),
    ) {
        let checkpoint = Checkpoint::with_extensions(&origin, size, root, extensions).unwrap();
        let text = checkpoint.to_text();
        prop_assert_eq!(Checkpoint::parse(&text).unwrap(), checkpoint);
    }

    #[test]
    fn feed_checkpoints_round_trip_and_verify(seed in any::<u8>(), size in 1..=u64::MAX, root in hash()) {
        let note = sign_feed_checkpoint(&key(seed), size, &root);
        let verified = verify_feed_checkpoint(&note).unwrap();
        prop_assert_eq!(verified.author(), &key(seed).public_key());
        prop_assert_eq!(verified.checkpoint().size(), size);
        prop_assert_eq!(verified.checkpoint().root(), &root);
        prop_assert_eq!(verified.checkpoint().origin(), feed_origin(&key(seed).public_key()));
        prop_assert_eq!(verified.to_note_text(), note.clone());
        // The same bytes as signing the checkpoint note by hand.
        let mut by_hand = Note::new(verified.note().text()).unwrap();
        by_hand.sign(&feed_origin(&key(seed).public_key()), &key(seed)).unwrap();
        prop_assert_eq!(by_hand.to_text(), note);
    }

    #[test]
    fn tlog_proofs_round_trip(
        extra in prop::option::of(prop::collection::vec(any::<u8>(), 1..200)),
        index in any::<u64>(),
        path in prop::collection::vec(hash(), 0..=MAX_INCLUSION_HASHES),
        size in any::<u64>(),
    ) {
        let proof = TlogProof::new(extra, index, path, &feed_note(1, size)).unwrap();
        let text = proof.to_text();
        prop_assert_eq!(TlogProof::parse(&text).unwrap(), proof);
    }

    #[test]
    fn note_parsing_never_panics_and_accepts_only_canonical_text(input in "(\\PC|\n|\u{2014} |=|\\+){0,200}") {
        if let Ok(note) = Note::parse(&input) {
            prop_assert_eq!(note.to_text(), input.clone());
        }
        if let Ok(checkpoint) = Checkpoint::parse(&input) {
            prop_assert_eq!(checkpoint.to_text(), input.clone());
        }
        if let Ok(proof) = TlogProof::parse(&input) {
            prop_assert_eq!(proof.to_text(), input.clone());
        }
        let _ = WitnessPolicy::parse(&input);
        let _ = VerifierKey::parse(&input);
    }

    #[test]
    fn mutated_notes_are_refused_or_canonical(position in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let witness = key(3);
        let note = feed_note(1, 7);
        let mut verified = verify_feed_checkpoint(&note).unwrap();
        let line = cosign(&verified, &witness, 1_700_000_000).unwrap();
        verified.add_cosignature(&witness_verifier_key(&witness.public_key()), line).unwrap();
        let mut bytes = verified.to_note_text().into_bytes();
        let at = position.index(bytes.len());
        prop_assume!(bytes[at] != byte);
        bytes[at] = byte;
        if let Ok(parsed) = Note::parse_bytes(&bytes) {
            prop_assert_eq!(parsed.to_text().into_bytes(), bytes.clone());
        }
        // A changed note never verifies with both signatures intact.
        if let Ok(changed) = std::str::from_utf8(&bytes) {
            if let Ok(checkpoint) = verify_feed_checkpoint(changed) {
                prop_assert!(checkpoint.rightsnet_cosignatures().valid().is_empty()
                    || checkpoint.to_note_text() != verified.to_note_text());
                prop_assert!(checkpoint.note().text() == verified.note().text());
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn mutated_proofs_are_refused_or_canonical(
        position in any::<prop::sample::Index>(),
        byte in any::<u8>(),
        cut in any::<prop::sample::Index>(),
    ) {
        let leaf = leaf_hash(b"entry");
        let sibling = leaf_hash(b"sibling");
        let root = proto_types::tlog::node_hash(&leaf, &sibling);
        let note = sign_feed_checkpoint(&key(1), 2, &root);
        let text = TlogProof::new(Some(vec![9; 5]), 0, vec![sibling], &note).unwrap().to_text();
        prop_assert!(TlogProof::parse(&text).unwrap().verify(&leaf).is_ok());
        let mut bytes = text.clone().into_bytes();
        let at = position.index(bytes.len());
        prop_assume!(bytes[at] != byte);
        bytes[at] = byte;
        if let Ok(proof) = TlogProof::parse_bytes(&bytes) {
            prop_assert_eq!(proof.to_text().into_bytes(), bytes.clone());
            // Only a change to the unauthenticated extra data can leave the proof valid.
            if proof.verify(&leaf).is_ok() {
                prop_assert!(proof.extra() != Some(&[9u8; 5][..]));
            }
        }
        // Every truncation is refused.
        let truncated = &text.as_bytes()[..cut.index(text.len())];
        prop_assert!(TlogProof::parse_bytes(truncated).is_err());
    }
}

// ---------------------------------------------------------------------------------------------
// Adversarial notes.

#[test]
fn notes_must_end_in_a_newline_and_have_no_carriage_returns() {
    let note = feed_note(1, 3);
    assert_eq!(
        Note::parse(note.trim_end_matches('\n')),
        Err(NoteError::MissingFinalNewline)
    );
    assert_eq!(
        Note::parse(&note.replace('\n', "\r\n")),
        Err(NoteError::ControlCharacter)
    );
    assert_eq!(
        Note::parse(&note.replacen('\n', "\t\n", 1)),
        Err(NoteError::ControlCharacter)
    );
    assert_eq!(
        Note::parse(&note.replace("\n\n", "\n")),
        Err(NoteError::NoSignatureBlock)
    );
    assert_eq!(Note::new("no newline"), Err(NoteError::MissingFinalNewline));
}

#[test]
fn base64_must_be_canonical() {
    let note = feed_note(1, 3);
    let (text, line) = note.split_once("\n\n").unwrap();
    let encoded = line.trim_end().rsplit_once(' ').unwrap().1;
    // Without padding, with a stray space, with non-zero unused bits, url-safe alphabet.
    let unpadded = encoded.trim_end_matches('=');
    let last = unpadded.chars().last().unwrap();
    let bumped = char::from_u32(last as u32 + 1).unwrap();
    let stray_bits = format!("{}{bumped}=", &unpadded[..unpadded.len() - 1]);
    for bad in [
        unpadded.to_string(),
        format!("{encoded} "),
        format!(" {encoded}"),
        stray_bits,
        encoded.replace('+', "-").replace('/', "_"),
    ] {
        if bad == encoded {
            continue;
        }
        let candidate = format!(
            "{text}\n\n{}{bad}\n",
            line.trim_end().rsplit_once(' ').unwrap().0.to_string() + " "
        );
        assert!(Note::parse(&candidate).is_err(), "{candidate:?}");
    }
}

#[test]
fn duplicate_lines_are_refused_and_replaced_when_added() {
    let note = feed_note(1, 3);
    let line = note.split_once("\n\n").unwrap().1;
    assert!(matches!(
        Note::parse(&format!("{note}{line}")),
        Err(NoteError::DuplicateSignature { .. })
    ));
    // Same name and key id, another signature: still a duplicate.
    let parsed = Note::parse(&note).unwrap();
    let first = &parsed.signatures()[0];
    let other = NoteSignature::new(first.name(), first.key_id(), vec![0; 64]).unwrap();
    assert!(matches!(
        Note::parse(&format!("{note}{}", other.to_line())),
        Err(NoteError::DuplicateSignature { .. })
    ));
    let mut replaced = parsed.clone();
    replaced.add_signature(other.clone()).unwrap();
    assert_eq!(replaced.signatures(), [other]);
}

#[test]
fn oversize_notes_and_too_many_signatures_are_refused() {
    let long_text = format!("{}\n", "a".repeat(MAX_NOTE_BYTES));
    assert_eq!(Note::new(&long_text), Err(NoteError::TooLarge));
    let mut note = Note::new("text\n").unwrap();
    for index in 0..MAX_NOTE_SIGNATURES {
        let line = NoteSignature::new(&format!("k{index}"), KeyId([0; 4]), vec![1; 64]).unwrap();
        note.add_signature(line).unwrap();
    }
    let one_more = NoteSignature::new("k-last", KeyId([0; 4]), vec![1; 64]).unwrap();
    assert_eq!(
        note.add_signature(one_more.clone()),
        Err(NoteError::TooManySignatures)
    );
    let text = format!("{}{}", note.to_text(), one_more.to_line());
    assert_eq!(Note::parse(&text), Err(NoteError::TooManySignatures));
    assert!(Note::parse(&note.to_text()).is_ok());

    let mut big = Note::new("text\n").unwrap();
    let huge = NoteSignature::new("big", KeyId([0; 4]), vec![1; MAX_NOTE_BYTES * 3 / 4]).unwrap();
    assert_eq!(big.add_signature(huge), Err(NoteError::TooLarge));
    let padded = format!("{}\n\n{}", "a".repeat(MAX_NOTE_BYTES), one_more.to_line());
    assert_eq!(Note::parse(&padded), Err(NoteError::TooLarge));
}

#[test]
fn key_names_are_checked() {
    for bad in [
        "",
        "a b",
        "a+b",
        "a\u{a0}b",
        "a\u{2028}b",
        "a\u{1}b",
        "a\tb",
    ] {
        assert!(
            NoteSignature::new(bad, KeyId([0; 4]), vec![1]).is_err(),
            "{bad:?}"
        );
        assert!(VerifierKey::ed25519(bad, key(1).public_key()).is_err());
    }
    assert!(NoteSignature::new("é—/x", KeyId([0; 4]), vec![1]).is_ok());
}

#[test]
fn a_wrong_key_id_is_an_unknown_key() {
    let note = Note::parse(&feed_note(1, 3)).unwrap();
    let line = &note.signatures()[0];
    let mut id = line.key_id().0;
    id[0] ^= 1;
    let moved = NoteSignature::new(line.name(), KeyId(id), line.signature().to_vec()).unwrap();
    let mut changed = note.without_signatures();
    changed.add_signature(moved).unwrap();
    assert_eq!(
        changed.verify(&[feed_verifier_key(&key(1).public_key())]),
        Err(NoteError::NoKnownSignature)
    );
    assert!(matches!(
        verify_feed_checkpoint(&changed.to_text()),
        Err(CheckpointError::Note(NoteError::NoKnownSignature))
    ));
}

#[test]
fn vkeys_are_strict() {
    let vkey = VerifierKey::ed25519("example.com/log", key(1).public_key())
        .unwrap()
        .to_string();
    let (name, rest) = vkey.split_once('+').unwrap();
    let (id, encoded) = rest.split_once('+').unwrap();
    for bad in [
        format!("{name}+{}+{encoded}", id.to_uppercase()),
        format!("{name}+0{id}+{encoded}"),
        format!("{name}+{id}+{}", &encoded[..encoded.len() - 1]),
        format!("{name}+{id}+{encoded}="),
        format!("{name}+{id}+{encoded}+"),
        format!("{name} +{id}+{encoded}"),
        format!("+{id}+{encoded}"),
        format!("{name}+{id}+"),
        "x".repeat(600),
    ] {
        assert!(VerifierKey::parse(&bad).is_err(), "{bad:?}");
    }
    // A weak (small-order) key is refused, even with the right key id.
    let mut identity = vec![0x01, 1];
    identity.extend_from_slice(&[0; 31]);
    let id = KeyId::compute("weak", 0x01, &identity[1..]);
    let encoded = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &identity);
    assert!(matches!(
        VerifierKey::parse(&format!("weak+{id}+{encoded}")),
        Err(NoteError::Key(_))
    ));
}

// ---------------------------------------------------------------------------------------------
// Feed checkpoints.

#[test]
fn a_feed_checkpoint_signed_by_another_key_is_refused() {
    let office = key(1).public_key();
    let origin = feed_origin(&office);
    let text = format!("{origin}\n3\n{}\n", encode(&leaf_hash(b"r")));
    // The intruder signs under the office's origin: its key id differs, so the office's key
    // never signed.
    let mut note = Note::new(&text).unwrap();
    note.sign(&origin, &key(9)).unwrap();
    assert!(matches!(
        verify_feed_checkpoint(&note.to_text()),
        Err(CheckpointError::Note(NoteError::NoKnownSignature))
    ));
    // The intruder forges a line with the office's key id: a known key that does not verify.
    let forged = NoteSignature::new(
        &origin,
        feed_verifier_key(&office).key_id(),
        note.signatures()[0].signature().to_vec(),
    )
    .unwrap();
    let mut forged_note = Note::new(&text).unwrap();
    forged_note.add_signature(forged).unwrap();
    assert!(matches!(
        verify_feed_checkpoint(&forged_note.to_text()),
        Err(CheckpointError::Note(NoteError::InvalidSignature { .. }))
    ));
    // A valid signature next to a bad one of the same key is impossible (duplicate), and a
    // valid author signature with an intruder's extra line keeps the extra line unverified.
    let good = feed_note(1, 3);
    let mut with_intruder = Note::parse(&good).unwrap();
    with_intruder.sign("intruder.example", &key(9)).unwrap();
    let verified = verify_feed_checkpoint(&with_intruder.to_text()).unwrap();
    assert_eq!(verified.other_signatures().count(), 1);
    assert!(verified.rightsnet_cosignatures().valid().is_empty());
}

#[test]
fn origins_that_are_not_feeds_are_refused() {
    let office = key(1);
    let did = office.public_key().to_did_key();
    for origin in [
        format!("example.com/feed/{did}"),
        format!("rightsnet/feed/{did}/x"),
        format!("rightsnet/witness/{did}"),
        "rightsnet/feed/did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme".to_string(),
    ] {
        let text = format!("{origin}\n3\n{}\n", encode(&leaf_hash(b"r")));
        let mut note = Note::new(&text).unwrap();
        note.sign(&origin, &office).unwrap();
        assert!(
            matches!(
                verify_feed_checkpoint(&note.to_text()),
                Err(CheckpointError::NotAFeedOrigin(_))
            ),
            "{origin}"
        );
    }
    // The empty tree has one root.
    assert!(verify_feed_checkpoint(&feed_note(1, 0)).is_ok());
    assert_eq!(
        verify_feed_checkpoint(&sign_feed_checkpoint(&office, 0, &leaf_hash(b"r"))),
        Err(CheckpointError::EmptyTreeRoot)
    );
    // Extension lines are refused in feed checkpoints, even when signed.
    let origin = feed_origin(&office.public_key());
    let text = format!("{origin}\n3\n{}\nextension\n", encode(&leaf_hash(b"r")));
    let mut note = Note::new(&text).unwrap();
    note.sign(&origin, &office).unwrap();
    assert_eq!(
        verify_feed_checkpoint(&note.to_text()),
        Err(CheckpointError::FeedCheckpointExtensions)
    );
}

#[test]
fn checkpoint_text_is_strict() {
    let root = encode(&leaf_hash(b"r"));
    for (bad, expected) in [
        (
            format!("o\n1\n{root}"),
            CheckpointError::MissingFinalNewline,
        ),
        (
            format!("o\n1\n{root}\n\n"),
            CheckpointError::EmptyExtensionLine,
        ),
        (format!("\n1\n{root}\n"), CheckpointError::EmptyOrigin),
        ("o\n1\n".to_string(), CheckpointError::TooFewLines),
        (
            format!("o\n+1\n{root}\n"),
            CheckpointError::BadSize("+1".into()),
        ),
        (
            format!("o\n 1\n{root}\n"),
            CheckpointError::BadSize(" 1".into()),
        ),
        (
            format!("o\n00\n{root}\n"),
            CheckpointError::BadSize("00".into()),
        ),
        (
            format!("o\r\n1\n{root}\n"),
            CheckpointError::ControlCharacter,
        ),
    ] {
        assert_eq!(Checkpoint::parse(&bad), Err(expected), "{bad:?}");
    }
    for bad_root in [
        &root[..43],
        &format!("{}B=", &root[..42]),
        "AAAA",
        &encode(&leaf_hash(b"r")).replace('=', ""),
    ] {
        assert!(matches!(
            Checkpoint::parse(&format!("o\n1\n{bad_root}\n")),
            Err(CheckpointError::BadRoot(_))
        ));
    }
    assert!(Checkpoint::new("a\nb", 1, leaf_hash(b"r")).is_err());
    assert!(Checkpoint::new("", 1, leaf_hash(b"r")).is_err());
    assert!(Checkpoint::with_extensions("o", 1, leaf_hash(b"r"), vec![String::new()]).is_err());
}

fn encode(hash: &TreeHash) -> String {
    base64::Engine::encode(&base64::engine::general_purpose::STANDARD, hash.0)
}

// ---------------------------------------------------------------------------------------------
// Cosignatures.

#[test]
fn cosignatures_are_checked_and_bad_ones_reported() {
    let witness = key(3);
    let witness_key = witness_verifier_key(&witness.public_key());
    let verified = verify_feed_checkpoint(&feed_note(1, 5)).unwrap();
    let line = cosign(&verified, &witness, 1_700_000_000).unwrap();
    assert_eq!(line.name(), witness_name(&witness.public_key()));

    // A cosignature of another checkpoint does not verify on this one.
    let other = verify_feed_checkpoint(&feed_note(1, 6)).unwrap();
    let other_line = cosign(&other, &witness, 1_700_000_000).unwrap();
    let mut note = verified.note().clone();
    note.add_signature(other_line.clone()).unwrap();
    let stale = verify_feed_checkpoint(&note.to_text()).unwrap();
    let check = stale.rightsnet_cosignatures();
    assert!(check.valid().is_empty());
    assert_eq!(check.invalid(), std::slice::from_ref(&other_line));
    let mut adding = verified.clone();
    assert!(adding.add_cosignature(&witness_key, other_line).is_err());

    // A changed timestamp breaks the signature.
    let mut bytes = line.signature().to_vec();
    bytes[7] ^= 1;
    let retimed = NoteSignature::new(line.name(), line.key_id(), bytes).unwrap();
    assert!(adding.add_cosignature(&witness_key, retimed).is_err());

    // A timestamp above 2^63 - 1 is refused when signing.
    assert_eq!(
        cosign(&verified, &witness, 1 << 63),
        Err(NoteError::TimestampOutOfRange)
    );
    assert!(cosign(&verified, &witness, (1 << 63) - 1).is_ok());

    // A plain Ed25519 signature by the witness under its name has another key id: ignored.
    let mut plain = verified.note().clone();
    plain
        .sign(&witness_name(&witness.public_key()), &witness)
        .unwrap();
    let ignored = verify_feed_checkpoint(&plain.to_text()).unwrap();
    let check = ignored.rightsnet_cosignatures();
    assert!(check.valid().is_empty() && check.invalid().is_empty());

    // The served note keeps the author's line and exactly the given cosignatures of this
    // checkpoint: the stale line of size 6 is dropped, one of size 6 given is left out.
    let mut with = verified.clone();
    let cosignature = with.add_cosignature(&witness_key, line).unwrap();
    let mut other_verified = other.clone();
    let other_cosignature = other_verified
        .add_cosignature(
            &witness_key,
            cosign(&other, &witness, 1_700_000_001).unwrap(),
        )
        .unwrap();
    let served = stale.to_note_text_with(&[other_cosignature, cosignature.clone()]);
    let served = verify_feed_checkpoint(&served).unwrap();
    assert_eq!(served.other_signatures().count(), 1);
    assert_eq!(served.rightsnet_cosignatures().valid(), [cosignature]);
}

// ---------------------------------------------------------------------------------------------
// Witness policies.

fn witness_vkey_text(seed: u8) -> String {
    witness_verifier_key(&key(seed).public_key()).to_string()
}

fn cosigned(witness_seeds: &[u8]) -> proto_types::checkpoint::VerifiedCheckpoint {
    let mut verified = verify_feed_checkpoint(&feed_note(1, 5)).unwrap();
    for seed in witness_seeds {
        let line = cosign(&verified, &key(*seed), 1_700_000_000).unwrap();
        verified
            .add_cosignature(&witness_verifier_key(&key(*seed).public_key()), line)
            .unwrap();
    }
    verified
}

#[test]
fn policy_quorums_count_witnesses_and_groups() {
    let policy = WitnessPolicy::parse(&format!(
        "# two organisations\n\
         witness A1 {}\n\
         witness A2 {}\n\
         witness A3 {}\n\
         group A 2 A1 A2 A3\n\
         \t witness B1 {} https://b1.example/  \n\
         witness B2 {}\n\
         group B any B1 B2\n\
         group both all A B\n\
         quorum both\n",
        witness_vkey_text(11),
        witness_vkey_text(12),
        witness_vkey_text(13),
        witness_vkey_text(21),
        witness_vkey_text(22),
    ))
    .unwrap();
    assert_eq!(policy.witnesses().len(), 5);
    assert_eq!(
        policy.witnesses()[3].url.as_deref(),
        Some("https://b1.example/")
    );
    for (seeds, satisfied) in [
        (&[11u8, 12, 21][..], true),
        (&[11, 13, 22][..], true),
        (&[11, 12][..], false),
        (&[11, 21, 22][..], false),
        (&[][..], false),
        (&[11, 12, 13, 21, 22][..], true),
        (&[11, 12, 31][..], false),
    ] {
        let verdict = policy.check(&cosigned(seeds));
        assert_eq!(verdict.satisfied(), satisfied, "{seeds:?}");
        let expected: Vec<String> = seeds
            .iter()
            .filter(|seed| **seed != 31)
            .map(|seed| {
                let index = if *seed < 20 { *seed - 10 } else { *seed - 20 };
                format!("{}{index}", if *seed < 20 { "A" } else { "B" })
            })
            .collect();
        assert_eq!(verdict.counted(), expected);
        assert!(verdict.invalid().is_empty());
    }
    // The canonical text parses to the same policy.
    assert_eq!(WitnessPolicy::parse(&policy.to_text()).unwrap(), policy);
}

#[test]
fn policy_none_single_witness_and_logs() {
    let none = WitnessPolicy::parse("quorum none\n").unwrap();
    assert!(none.requires_no_cosignature());
    assert!(none.check(&cosigned(&[])).satisfied());

    let single =
        WitnessPolicy::parse(&format!("witness W {}\nquorum W", witness_vkey_text(3))).unwrap();
    assert!(!single.check(&cosigned(&[])).satisfied());
    assert!(single.check(&cosigned(&[3])).satisfied());

    let office_log = feed_verifier_key(&key(1).public_key());
    let other_log = feed_verifier_key(&key(2).public_key());
    let listed = WitnessPolicy::parse(&format!("log {office_log}\nquorum none\n")).unwrap();
    assert!(listed.check(&cosigned(&[])).satisfied());
    let unlisted = WitnessPolicy::parse(&format!("log {other_log}\nquorum none\n")).unwrap();
    assert!(!unlisted.check(&cosigned(&[])).satisfied());
}

/// What a refused policy's error must be.
type ErrorCheck = fn(&PolicyError) -> bool;

#[test]
fn policy_errors() {
    let w3 = witness_vkey_text(3);
    let w4 = witness_vkey_text(4);
    let log = feed_verifier_key(&key(1).public_key()).to_string();
    let cases: Vec<(String, ErrorCheck)> = vec![
        ("".into(), |error| *error == PolicyError::Quorum),
        (format!("witness W {w3}\nquorum W\nquorum W\n"), |error| {
            *error == PolicyError::Quorum
        }),
        ("quorum X\n".into(), |error| {
            matches!(error, PolicyError::UndefinedName { .. })
        }),
        (
            format!("group G any W\nwitness W {w3}\nquorum G\n"),
            |error| matches!(error, PolicyError::UndefinedName { .. }),
        ),
        (
            format!("witness W {w3}\nwitness W {w4}\nquorum W\n"),
            |error| matches!(error, PolicyError::DuplicateName { .. }),
        ),
        (format!("witness none {w3}\nquorum none\n"), |error| {
            matches!(error, PolicyError::DuplicateName { .. })
        }),
        (
            format!("witness W {w3}\nwitness V {w3}\nquorum W\n"),
            |error| matches!(error, PolicyError::DuplicateKey(2)),
        ),
        (
            format!("witness W {w3}\ngroup G any W W\nquorum G\n"),
            |error| matches!(error, PolicyError::Syntax { line: 2, .. }),
        ),
        (
            format!("witness W {w3}\ngroup G any W none\nquorum G\n"),
            |error| matches!(error, PolicyError::Syntax { line: 2, .. }),
        ),
        (
            format!("witness W {w3}\ngroup G 0 W\nquorum G\n"),
            |error| matches!(error, PolicyError::Syntax { line: 2, .. }),
        ),
        (
            format!("witness W {w3}\ngroup G 2 W\nquorum G\n"),
            |error| matches!(error, PolicyError::Syntax { line: 2, .. }),
        ),
        (
            format!("witness W {w3}\ngroup G 01 W\nquorum G\n"),
            |error| matches!(error, PolicyError::Syntax { line: 2, .. }),
        ),
        (
            format!("witness W {w3}\ngroup G any\nquorum G\n"),
            |error| matches!(error, PolicyError::Syntax { line: 2, .. }),
        ),
        (format!("witness W {log}\nquorum W\n"), |error| {
            matches!(error, PolicyError::Key { line: 1, .. })
        }),
        (format!("log {w3}\nquorum none\n"), |error| {
            matches!(error, PolicyError::Key { line: 1, .. })
        }),
        (format!("log {log}\nlog {log}\nquorum none\n"), |error| {
            matches!(error, PolicyError::DuplicateKey(2))
        }),
        ("witnesses W x\nquorum none\n".into(), |error| {
            matches!(error, PolicyError::Syntax { line: 1, .. })
        }),
        ("quorum none\r\n".into(), |error| {
            matches!(error, PolicyError::ControlCharacter(1))
        }),
        (format!("witness W {w3} url extra\nquorum W\n"), |error| {
            matches!(error, PolicyError::Syntax { line: 1, .. })
        }),
        (
            format!("# {}\nquorum none\n", "x".repeat(70_000)),
            |error| *error == PolicyError::TooLarge,
        ),
    ];
    for (text, check) in cases {
        let error = WitnessPolicy::parse(&text).unwrap_err();
        assert!(check(&error), "{text:.200}: {error}");
    }
    let mut many = String::new();
    for seed in 0..=64u8 {
        many.push_str(&format!("witness W{seed} {}\n", witness_vkey_text(seed)));
    }
    many.push_str("quorum none\n");
    assert!(matches!(
        WitnessPolicy::parse(&many),
        Err(PolicyError::TooMany(65))
    ));
}

// ---------------------------------------------------------------------------------------------
// tlog-proofs.

#[test]
fn tlog_proof_text_is_strict() {
    let note = feed_note(1, 1);
    let hash = encode(&leaf_hash(b"x"));
    let good = format!("{TLOG_PROOF_HEADER}\nindex 0\n\n{note}");
    assert!(TlogProof::parse(&good).is_ok());
    let with_extra = format!("{TLOG_PROOF_HEADER}\nextra AQID\nindex 0\n{hash}\n\n{note}");
    assert_eq!(
        TlogProof::parse(&with_extra).unwrap().extra(),
        Some(&[1u8, 2, 3][..])
    );
    for (bad, expected) in [
        (
            format!("c2sp.org/tlog-proof@v2\nindex 0\n\n{note}"),
            TlogProofError::Header,
        ),
        (
            format!("{TLOG_PROOF_HEADER}\nextra \nindex 0\n\n{note}"),
            TlogProofError::Extra,
        ),
        (
            format!("{TLOG_PROOF_HEADER}\nextra AQI\nindex 0\n\n{note}"),
            TlogProofError::Extra,
        ),
        (
            format!("{TLOG_PROOF_HEADER}\nindex 00\n\n{note}"),
            TlogProofError::Index,
        ),
        (
            format!("{TLOG_PROOF_HEADER}\nindex -1\n\n{note}"),
            TlogProofError::Index,
        ),
        (
            format!("{TLOG_PROOF_HEADER}\nindex  0\n\n{note}"),
            TlogProofError::Index,
        ),
        (
            format!("{TLOG_PROOF_HEADER}\n\nindex 0\n\n{note}"),
            TlogProofError::Index,
        ),
        (
            format!("{TLOG_PROOF_HEADER}\nindex 0\n{hash} \n\n{note}"),
            TlogProofError::InclusionLine(1),
        ),
        (
            format!("{TLOG_PROOF_HEADER}\nindex 0\n{hash}"),
            TlogProofError::NoCheckpoint,
        ),
        (
            format!("{TLOG_PROOF_HEADER}\r\nindex 0\n\n{note}"),
            TlogProofError::Header,
        ),
    ] {
        assert_eq!(TlogProof::parse(&bad), Err(expected), "{bad:?}");
    }
    let too_many = format!(
        "{TLOG_PROOF_HEADER}\nindex 0\n{}\n{note}",
        format!("{hash}\n").repeat(MAX_INCLUSION_HASHES + 1)
    );
    assert_eq!(
        TlogProof::parse(&too_many),
        Err(TlogProofError::InclusionLine(MAX_INCLUSION_HASHES + 1))
    );
    // The note is checked: a missing blank line, a CRLF note, a missing final newline.
    for bad_note in [
        note.replace("\n\n", "\n"),
        note.replace('\n', "\r\n"),
        note.trim_end().to_string(),
    ] {
        assert!(matches!(
            TlogProof::parse(&format!("{TLOG_PROOF_HEADER}\nindex 0\n\n{bad_note}")),
            Err(TlogProofError::Checkpoint(_))
        ));
    }
}

#[test]
fn tlog_proofs_verify_feed_checkpoints_only() {
    // A tree of one leaf: the root is the leaf hash, the path is empty.
    let leaf = leaf_hash(b"entry");
    let note = sign_feed_checkpoint(&key(1), 1, &leaf);
    let proof = TlogProof::new(None, 0, Vec::new(), &note).unwrap();
    let verified = proof.verify(&leaf).unwrap();
    assert_eq!(verified.index(), 0);
    assert_eq!(verified.checkpoint().author(), &key(1).public_key());
    assert!(matches!(
        proof.verify(&leaf_hash(b"other")),
        Err(TlogProofError::Inclusion(_))
    ));
    let beyond = TlogProof::new(None, 1, Vec::new(), &note).unwrap();
    assert!(matches!(
        beyond.verify(&leaf),
        Err(TlogProofError::Inclusion(_))
    ));
    // The checkpoint signed by another key under the office's origin is refused.
    let origin = feed_origin(&key(1).public_key());
    let mut forged = Note::new(&format!("{origin}\n1\n{}\n", encode(&leaf))).unwrap();
    forged.sign(&origin, &key(2)).unwrap();
    let forged_proof = TlogProof::new(None, 0, Vec::new(), &forged.to_text()).unwrap();
    assert!(matches!(
        forged_proof.verify(&leaf),
        Err(TlogProofError::Checkpoint(_))
    ));
}
