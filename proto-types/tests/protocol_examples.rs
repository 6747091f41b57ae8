//! The body examples printed in `docs/protocol.md` are the ones `proto_types::body::examples`
//! builds (and the tests decode): each `Example (`examples::NAME()`…` paragraph is followed by a
//! JSON block equal to `examples::NAME()`. The notice example is left out: protocol.md prints it
//! with its verdict around it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proto_types::body::examples;
use serde_json::Value;

/// A function building one example body.
type Example = fn() -> Value;

/// The first ```json block after `marker` in protocol.md, parsed.
fn block_after(text: &str, marker: &str) -> Value {
    let start = text
        .find(marker)
        .unwrap_or_else(|| panic!("protocol.md has no {marker:?}"));
    let rest = &text[start..];
    let open = rest.find("```json\n").expect("a json block follows") + "```json\n".len();
    let close = rest[open..].find("```").expect("the block ends");
    serde_json::from_str(&rest[open..open + close]).expect("the block is JSON")
}

#[test]
fn the_examples_in_protocol_md_are_the_crate_examples() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/protocol.md");
    let text = std::fs::read_to_string(path).expect("docs/protocol.md");
    let cases: [(&str, Example); 10] = [
        ("registration", examples::registration),
        ("status", examples::status),
        ("decision", examples::decision),
        ("counter_notice", examples::counter_notice),
        ("authority", examples::authority),
        ("endorsement", examples::endorsement),
        ("key_rotation", examples::key_rotation),
        ("key_rotation_compromise", examples::key_rotation_compromise),
        ("credential_log", examples::credential_log),
        ("credential_status", examples::credential_status),
    ];
    for (name, example) in cases {
        let printed = block_after(&text, &format!("Example (`examples::{name}()`"));
        assert_eq!(printed, example(), "protocol.md's example of {name}");
    }
}
