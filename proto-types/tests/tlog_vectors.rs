//! The transparency-dev/merkle proof probes (`tests/vectors/transparency-dev/`, Apache-2.0):
//! every inclusion and consistency probe verifies or fails exactly as its `wantErr` says.
//!
//! Our verifiers take 32-byte [`TreeHash`]es; a probe field of another length (the probes use
//! `""`, `"WrongLeaf"` and `"don't care"` placeholders) cannot reach them. Such a probe must be
//! one that expects an error, except the one that checks equal sizes with equal placeholder
//! roots, where the roots' content does not matter: it runs with the placeholders hashed into
//! 32 bytes (equal stays equal).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use proto_types::tlog::{
    MemoryTree, TreeHash, consistency_proof, inclusion_proof, tree_hash, verify_consistency,
    verify_inclusion,
};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

fn vectors() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors/transparency-dev/testdata")
}

fn json_files(directory: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(directory).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            json_files(&path, found);
        } else if path
            .extension()
            .is_some_and(|extension| extension == "json")
        {
            found.push(path);
        }
    }
    found.sort();
}

fn bytes(value: &Value) -> Vec<u8> {
    STANDARD.decode(value.as_str().unwrap()).unwrap()
}

/// A 32-byte field as a hash; `None` for a placeholder of another length.
fn hash(value: &Value) -> Option<TreeHash> {
    bytes(value).try_into().ok().map(TreeHash)
}

fn proof(value: &Value) -> Option<Vec<TreeHash>> {
    match value {
        Value::Null => Some(Vec::new()),
        Value::Array(items) => items.iter().map(hash).collect(),
        other => panic!("proof {other}"),
    }
}

#[test]
fn every_inclusion_probe_verifies_as_it_says() {
    let mut files = Vec::new();
    json_files(&vectors().join("inclusion"), &mut files);
    assert!(files.len() >= 80, "{} inclusion probes", files.len());
    let (mut passed, mut refused) = (0, 0);
    for file in &files {
        let probe: Value = serde_json::from_slice(&std::fs::read(file).unwrap()).unwrap();
        let want_error = probe["wantErr"].as_bool().unwrap();
        let index = probe["leafIdx"].as_u64().unwrap();
        let size = probe["treeSize"].as_u64().unwrap();
        let fields = (
            hash(&probe["leafHash"]),
            hash(&probe["root"]),
            proof(&probe["proof"]),
        );
        let outcome = match fields {
            (Some(leaf), Some(root), Some(path)) => {
                verify_inclusion(&leaf, index, size, &path, &root)
            }
            _ => {
                assert!(
                    want_error,
                    "{}: a placeholder in a valid probe",
                    file.display()
                );
                refused += 1;
                continue;
            }
        };
        assert_eq!(
            outcome.is_err(),
            want_error,
            "{}: {outcome:?}",
            file.display()
        );
        passed += 1;
    }
    // The pinned probe set: 72 run through the verifier, 26 with a field that is no hash.
    assert_eq!((files.len(), passed, refused), (98, 72, 26));
}

#[test]
fn every_consistency_probe_verifies_as_it_says() {
    let mut files = Vec::new();
    json_files(&vectors().join("consistency"), &mut files);
    assert!(files.len() >= 90, "{} consistency probes", files.len());
    let (mut passed, mut refused, mut placeholders) = (0, 0, 0);
    for file in &files {
        let probe: Value = serde_json::from_slice(&std::fs::read(file).unwrap()).unwrap();
        let want_error = probe["wantErr"].as_bool().unwrap();
        let old = probe["size1"].as_u64().unwrap();
        let new = probe["size2"].as_u64().unwrap();
        let path = proof(&probe["proof"]);
        let (old_root, new_root) = match (hash(&probe["root1"]), hash(&probe["root2"])) {
            (Some(old_root), Some(new_root)) => (old_root, new_root),
            _ if !want_error => {
                // Equal sizes, equal placeholder roots: content does not matter.
                assert_eq!(old, new, "{}", file.display());
                assert_eq!(probe["root1"], probe["root2"]);
                placeholders += 1;
                let root = TreeHash(Sha256::digest(bytes(&probe["root1"])).into());
                (root, root)
            }
            _ => {
                refused += 1;
                continue;
            }
        };
        let Some(path) = path else {
            assert!(want_error, "{}", file.display());
            refused += 1;
            continue;
        };
        let outcome = verify_consistency(old, &old_root, new, &new_root, &path);
        assert_eq!(
            outcome.is_err(),
            want_error,
            "{}: {outcome:?}",
            file.display()
        );
        passed += 1;
    }
    assert_eq!(placeholders, 1);
    assert_eq!((files.len(), passed, refused), (98, 72, 26));
}

fn rfc6962_tree() -> MemoryTree {
    let leaves: [&[u8]; 8] = [
        b"",
        b"\x00",
        b"\x10",
        b"\x20\x21",
        b"\x30\x31",
        b"\x40\x41\x42\x43",
        b"\x50\x51\x52\x53\x54\x55\x56\x57",
        b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
    ];
    let mut tree = MemoryTree::default();
    for leaf in leaves {
        tree.append(leaf);
    }
    tree
}

/// The happy-path probes are proofs of the RFC 6962 test tree: ours are the same bytes.
#[test]
fn our_proofs_of_the_test_tree_are_the_probes_happy_paths() {
    let mut tree = rfc6962_tree();
    let mut checked = 0;
    let mut files = Vec::new();
    json_files(&vectors(), &mut files);
    for file in files
        .iter()
        .filter(|file| file.ends_with("happy-path.json"))
    {
        let probe: Value = serde_json::from_slice(&std::fs::read(file).unwrap()).unwrap();
        let expected = proof(&probe["proof"]).unwrap();
        if let Some(index) = probe["leafIdx"].as_u64() {
            let size = probe["treeSize"].as_u64().unwrap();
            assert_eq!(
                tree_hash(size, &mut tree).unwrap(),
                hash(&probe["root"]).unwrap()
            );
            assert_eq!(
                inclusion_proof(index, size, &mut tree).unwrap(),
                expected,
                "{}",
                file.display()
            );
        } else {
            let old = probe["size1"].as_u64().unwrap();
            let new = probe["size2"].as_u64().unwrap();
            assert_eq!(
                tree_hash(old, &mut tree).unwrap(),
                hash(&probe["root1"]).unwrap()
            );
            assert_eq!(
                tree_hash(new, &mut tree).unwrap(),
                hash(&probe["root2"]).unwrap()
            );
            assert_eq!(
                consistency_proof(old, new, &mut tree).unwrap(),
                expected,
                "{}",
                file.display()
            );
        }
        checked += 1;
    }
    assert_eq!(checked, 10);
}
