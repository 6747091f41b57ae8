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
