//! Invariant checks of the register importers for fuzzing: the `import_csv` and `import_st96`
//! targets of `fuzz/` call these on arbitrary bytes, and `cli/tests/fuzz_seeds.rs` replays the
//! kept seeds through them in the normal test suite. Bad input must come back as record errors;
//! these functions panic only when an invariant breaks:
//! - the iteration ends, with at most one item per input byte (plus one);
//! - every error names its position and says what is wrong;
//! - every record read is one the node accepts: with `v` and the `right_id` its fields imply, it
//!   decodes and validates as a `registration` body.

use proto_types::body::{Body, EntryKind, Jurisdiction, RightId, RightType};
use serde_json::Value;

use super::{ImportRecord, RecordError};

/// The CSV importer on `data`.
pub fn csv(data: &[u8]) {
    check(super::csv::records(data), data.len());
}

/// The ST.96 importer on `data`.
pub fn st96(data: &[u8]) {
    check(super::st96::records(data), data.len());
}

fn check(records: impl Iterator<Item = Result<ImportRecord, RecordError>>, input_len: usize) {
    for (count, item) in records.enumerate() {
        assert!(
            count <= input_len,
            "more items than the input has bytes: the iteration does not end"
        );
        match item {
            Ok(record) => check_record(&record),
            Err(error) => {
                assert!(!error.position.is_empty(), "an error without position");
                assert!(!error.message.is_empty(), "an error without message");
            }
        }
    }
}

/// Checks one registration as [`csv()`] and [`st96()`] check every record read (for the tests that
/// show the check can fail).
pub fn check_record_for_test(registration: &Value) {
    check_record(&ImportRecord {
        position: "test".to_owned(),
        registration: registration.clone(),
        status_date: None,
    });
}

fn check_record(record: &ImportRecord) {
    assert!(!record.position.is_empty(), "a record without position");
    let mut body = record
        .registration
        .as_object()
        .cloned()
        .unwrap_or_else(|| panic!("{}: the registration is not an object", record.position));
    let text = |name: &str| {
        body.get(name)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .unwrap_or_else(|| panic!("{}: no {name}", record.position))
    };
    let jurisdiction = Jurisdiction::parse(&text("jurisdiction"))
        .unwrap_or_else(|error| panic!("{}: {error}", record.position));
    let right_type: RightType = serde_json::from_value(Value::String(text("right_type")))
        .unwrap_or_else(|error| panic!("{}: {error}", record.position));
    let right_id = RightId::new(&jurisdiction, right_type, &text("number"))
        .unwrap_or_else(|error| panic!("{}: {error}", record.position));
    body.insert("v".into(), Value::from(1));
    body.insert("right_id".into(), Value::from(right_id.as_str()));
    if let Err(error) = Body::decode(EntryKind::Registration, &Value::Object(body)) {
        panic!(
            "{}: the importer passed a record the node refuses: {error}",
            record.position
        );
    }
    if let Some(date) = &record.status_date {
        assert!(
            proto_types::timestamp::Date::parse(date).is_ok(),
            "{}: status date {date:?}",
            record.position
        );
    }
}
