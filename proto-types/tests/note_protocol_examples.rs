//! The worked examples of protocol.md §14.3 (checkpoints), §14.4 (cosignatures and witnesses)
//! and §14.6 (proofs) are the bytes this crate produces: each `Example (`NAME`)` paragraph is
//! followed by a ```text block equal to the example built here with the keys of
//! `proto_types::body::examples` (Ed25519 signatures are deterministic).
//!
//! `PRINT_EXAMPLES=1 cargo test -p proto-types --test note_protocol_examples -- --nocapture`
//! prints them.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use proto_types::body::examples::{
    ENDORSED_OFFICE_SEED, MARKETPLACE_SEED, NEW_OFFICE_SEED, OFFICE_SEED,
};
use proto_types::checkpoint::cosignature::{cosign, witness_verifier_key, witness_vkey};
use proto_types::checkpoint::policy::WitnessPolicy;
use proto_types::checkpoint::tlog_proof::TlogProof;
use proto_types::checkpoint::{feed_verifier_key, sign_feed_checkpoint, verify_feed_checkpoint};
use proto_types::keys::SecretKey;
use proto_types::note::cosignature_v1_message;
use proto_types::tlog::{TreeHash, leaf_hash, node_hash};

/// The leaves of the example tree: stand-ins for the canonical bytes of five entries.
fn leaves() -> Vec<TreeHash> {
    (1..=5)
        .map(|seq| leaf_hash(format!("entry {seq}").as_bytes()))
        .collect()
}

/// The root of the five leaves, by RFC 9162's definition: ((0 1) (2 3)) 4.
fn root() -> TreeHash {
    let leaves = leaves();
    let left = node_hash(
        &node_hash(&leaves[0], &leaves[1]),
        &node_hash(&leaves[2], &leaves[3]),
    );
    node_hash(&left, &leaves[4])
}

/// The inclusion path of leaf index 2 (`entry 3`): its sibling 3, the pair (0 1), leaf 4.
fn path_of_leaf_2() -> Vec<TreeHash> {
    let leaves = leaves();
    vec![leaves[3], node_hash(&leaves[0], &leaves[1]), leaves[4]]
}

const FIRST_TIME: u64 = 1_767_225_600; // 2026-01-01T00:00:00Z
const SECOND_TIME: u64 = 1_767_225_601;

fn office() -> SecretKey {
    SecretKey::from_seed(&OFFICE_SEED)
}

fn witnesses() -> [SecretKey; 3] {
    [
        SecretKey::from_seed(&MARKETPLACE_SEED),
        SecretKey::from_seed(&ENDORSED_OFFICE_SEED),
        SecretKey::from_seed(&NEW_OFFICE_SEED),
    ]
}

fn feed_checkpoint() -> String {
    sign_feed_checkpoint(&office(), 5, &root())
}

fn cosigned_checkpoint() -> String {
    let mut checkpoint = verify_feed_checkpoint(&feed_checkpoint()).unwrap();
    let [first, second, _] = witnesses();
    for (witness, time) in [(first, FIRST_TIME), (second, SECOND_TIME)] {
        let line = cosign(&checkpoint, &witness, time).unwrap();
        checkpoint
            .add_cosignature(&witness_verifier_key(&witness.public_key()), line)
            .unwrap();
    }
    checkpoint.to_note_text()
}

fn policy() -> String {
    let [first, second, third] = witnesses();
    format!(
        "# Trust the office's feed once two of these three witnesses cosigned it.\n\
         log {}\n\
         witness marketplace {}\n\
         witness endorsed-office {}\n\
         witness new-office {}\n\
         group two-of-three 2 marketplace endorsed-office new-office\n\
         quorum two-of-three\n",
        feed_verifier_key(&office().public_key()),
        witness_vkey(&first.public_key()),
        witness_vkey(&second.public_key()),
        witness_vkey(&third.public_key()),
    )
}

fn tlog_proof() -> String {
    TlogProof::new(None, 2, path_of_leaf_2(), &cosigned_checkpoint())
        .unwrap()
        .to_text()
}

fn cosignature_message() -> String {
    let checkpoint = verify_feed_checkpoint(&feed_checkpoint()).unwrap();
    String::from_utf8(cosignature_v1_message(checkpoint.note().text(), FIRST_TIME).unwrap())
        .unwrap()
}

fn examples() -> Vec<(&'static str, String)> {
    vec![
        ("feed-checkpoint", feed_checkpoint()),
        (
            "witness-vkey",
            format!("{}\n", witness_vkey(&witnesses()[0].public_key())),
        ),
        ("cosignature-message", cosignature_message()),
        ("cosigned-checkpoint", cosigned_checkpoint()),
        ("witness-policy", policy()),
        ("tlog-proof", tlog_proof()),
    ]
}

/// The first ```text block after `marker` in protocol.md.
fn block_after(text: &str, marker: &str) -> String {
    let start = text
        .find(marker)
        .unwrap_or_else(|| panic!("protocol.md has no {marker:?}"));
    let rest = &text[start..];
    let open = rest.find("```text\n").expect("a text block follows") + "```text\n".len();
    let close = rest[open..].find("\n```").expect("the block ends");
    format!("{}\n", &rest[open..open + close])
}

#[test]
fn the_examples_in_protocol_md_are_the_crate_s_output() {
    if std::env::var_os("PRINT_EXAMPLES").is_some() {
        for (name, example) in examples() {
            println!("Example (`{name}`)\n```text\n{example}```\n");
        }
    }
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/protocol.md");
    let text = std::fs::read_to_string(path).expect("docs/protocol.md");
    for (name, example) in examples() {
        let printed = block_after(&text, &format!("Example (`{name}`)"));
        assert_eq!(printed, example, "protocol.md's example {name}");
    }
}

#[test]
fn the_examples_verify() {
    // The checkpoint is the office's; both cosignatures verify from their names alone.
    let checkpoint = verify_feed_checkpoint(&cosigned_checkpoint()).unwrap();
    assert_eq!(checkpoint.author(), &office().public_key());
    let check = checkpoint.rightsnet_cosignatures();
    assert_eq!(check.valid().len(), 2);
    assert_eq!(check.valid()[0].timestamp(), FIRST_TIME);

    // The policy parses, and the two cosignatures meet its 2-of-3 quorum.
    let policy = WitnessPolicy::parse(&policy()).unwrap();
    let verdict = policy.check(&checkpoint);
    assert!(verdict.satisfied());
    assert_eq!(verdict.counted(), ["marketplace", "endorsed-office"]);
    // The first cosignature alone does not.
    let one = verify_feed_checkpoint(&checkpoint.to_note_text_with(&check.valid()[..1])).unwrap();
    assert!(!policy.check(&one).satisfied());

    // The proof proves `entry 3` at index 2, and nothing else.
    let proof = TlogProof::parse(&tlog_proof()).unwrap();
    let verified = proof.verify(&leaf_hash(b"entry 3")).unwrap();
    assert!(policy.check(verified.checkpoint()).satisfied());
    assert!(proof.verify(&leaf_hash(b"entry 4")).is_err());
}
