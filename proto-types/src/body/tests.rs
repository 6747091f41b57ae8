//! Tests of body decoding and validation: round trips, one test per rule, property tests.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use proptest::prelude::*;
use serde_json::{Value, json};

use super::codes::ISO_3166_ALPHA2;
use super::*;
use crate::keys::{PublicKey, SecretKey};
use crate::timestamp::Date;

/// Decodes `value` as `kind`, expecting an error, and returns its field.
fn error_field(kind: EntryKind, value: &Value) -> String {
    match Body::decode(kind, value) {
        Ok(body) => panic!("expected an error, decoded {body:?}"),
        Err(error) => {
            assert!(!error.message.is_empty());
            assert!(!error.message.ends_with('.'), "{error}");
            error.field
        }
    }
}

/// The example of `kind` with `edit` applied.
fn edited(kind: EntryKind, edit: impl FnOnce(&mut Value)) -> Value {
    let mut value = examples::for_kind(kind);
    edit(&mut value);
    value
}

fn registration_with(edit: impl FnOnce(&mut Value)) -> Value {
    edited(EntryKind::Registration, edit)
}

fn registration_error(edit: impl FnOnce(&mut Value)) -> String {
    error_field(EntryKind::Registration, &registration_with(edit))
}

fn remove(value: &mut Value, key: &str) {
    value.as_object_mut().unwrap().remove(key);
}

/// A design registration: a title, no mark text, no classes.
fn design_registration() -> Value {
    registration_with(|value| {
        value["right_type"] = json!("design");
        value["right_id"] = json!("FR-DS-4123456");
        value["title"] = json!("Folding chair");
        remove(value, "mark_text");
        remove(value, "nice_classes");
    })
}

pub(crate) fn sample_registration() -> RegistrationV1 {
    match Body::decode(EntryKind::Registration, &examples::registration()).unwrap() {
        Body::Registration(body) => body,
        other => panic!("{other:?}"),
    }
}

// --- kinds and round trips ---

#[test]
fn entry_kinds_round_trip_as_strings() {
    for kind in EntryKind::ALL {
        assert_eq!(EntryKind::parse(kind.as_str()).unwrap(), kind);
        assert_eq!(serde_json::to_value(kind).unwrap(), json!(kind.as_str()));
        let back: EntryKind = serde_json::from_value(json!(kind.as_str())).unwrap();
        assert_eq!(back, kind);
        assert_eq!(kind.to_string(), kind.as_str());
    }
    assert_eq!(EntryKind::CounterNotice.as_str(), "counter_notice");
    assert_eq!(EntryKind::KeyRotation.as_str(), "key_rotation");
    let error = EntryKind::parse("Registration").unwrap_err();
    assert_eq!(error.field, "kind");
    assert!(serde_json::from_value::<EntryKind>(json!("counterNotice")).is_err());
}

#[test]
fn every_example_decodes_and_round_trips() {
    for kind in EntryKind::ALL {
        let value = examples::for_kind(kind);
        let body = Body::decode(kind, &value).unwrap_or_else(|error| panic!("{kind}: {error}"));
        assert_eq!(body.kind(), kind);
        assert_eq!(body.to_value(), value, "{kind}");
        body.validate().unwrap();
        assert_eq!(Body::decode(kind, &body.to_value()).unwrap(), body);
    }
}

#[test]
fn a_body_of_another_kind_is_refused() {
    let error = Body::decode(EntryKind::Status, &examples::registration()).unwrap_err();
    assert_eq!(error.field, "right_type");
    assert!(error.message.starts_with("unknown field"), "{error}");
}

#[test]
fn design_registration_round_trips() {
    let value = design_registration();
    let body = Body::decode(EntryKind::Registration, &value).unwrap();
    assert_eq!(body.to_value(), value);
}

#[test]
fn examples_use_distinct_valid_keys_and_a_genuine_rotation_proof() {
    let seeds = [
        examples::OFFICE_SEED,
        examples::HOLDER_SEED,
        examples::MARKETPLACE_SEED,
        examples::NEW_OFFICE_SEED,
    ];
    let dids: std::collections::HashSet<String> = seeds.iter().map(examples::did_key).collect();
    assert_eq!(dids.len(), 4);
    for did in &dids {
        assert!(did.starts_with("did:key:z6Mk"), "{did}");
    }
    let Body::KeyRotation(rotation) =
        Body::decode(EntryKind::KeyRotation, &examples::key_rotation()).unwrap()
    else {
        panic!("not a key rotation");
    };
    let old = SecretKey::from_seed(&examples::OFFICE_SEED).public_key();
    let proof = crate::keys::Signature::from_multibase(&rotation.new_key_proof).unwrap();
    let message = key_rotation_proof_message(&old, &rotation.new_key);
    rotation.new_key.verify(&message, &proof).unwrap();
    // The proof binds the old key: it does not verify for another one.
    let other = SecretKey::from_seed(&examples::HOLDER_SEED).public_key();
    let wrong = key_rotation_proof_message(&other, &rotation.new_key);
    assert!(rotation.new_key.verify(&wrong, &proof).is_err());
}

#[test]
fn key_rotation_proof_message_layout() {
    let old = PublicKey::from_did_key("did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2")
        .unwrap();
    let new = SecretKey::from_seed(&[9; 32]).public_key();
    let message = key_rotation_proof_message(&old, &new);
    let expected = format!(
        "rightsnet/key-rotation/v1\ndid:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2\n{}",
        new.to_did_key()
    );
    assert_eq!(message, expected.into_bytes());
}

// --- generic decoding errors ---

#[test]
fn body_must_be_an_object_with_version_one() {
    assert_eq!(error_field(EntryKind::Status, &json!([1, 2])), "body");
    assert_eq!(error_field(EntryKind::Status, &json!("x")), "body");
    for kind in EntryKind::ALL {
        let undefined = if kind.versions().contains(&2) { 3 } else { 2 };
        let value = edited(kind, |value| value["v"] = json!(undefined));
        let error = Body::decode(kind, &value).unwrap_err();
        assert_eq!(error.field, "v");
        assert_eq!(
            error.message,
            format!("unsupported version {undefined} of {}", kind.as_str())
        );
        let missing = edited(kind, |value| remove(value, "v"));
        assert_eq!(error_field(kind, &missing), "v");
        let text = edited(kind, |value| value["v"] = json!("1"));
        assert_eq!(error_field(kind, &text), "v");
    }
}

#[test]
fn unknown_fields_are_refused_with_their_path() {
    assert_eq!(
        registration_error(|value| value["extra"] = json!(1)),
        "extra"
    );
    assert_eq!(
        registration_error(|value| value["holder"]["nickname"] = json!("x")),
        "holder.nickname"
    );
    let notice = edited(EntryKind::Notice, |value| {
        value["notice"]["listings"][0]["price"] = json!(10)
    });
    assert_eq!(
        error_field(EntryKind::Notice, &notice),
        "notice.listings[0].price"
    );
}

#[test]
fn missing_fields_are_named() {
    assert_eq!(
        registration_error(|value| remove(value, "filing_date")),
        "filing_date"
    );
    assert_eq!(
        registration_error(|value| remove(&mut value["holder"], "name")),
        "holder.name"
    );
    let notice = edited(EntryKind::Notice, |value| {
        remove(&mut value["notice"]["evidence"][0], "digest")
    });
    assert_eq!(
        error_field(EntryKind::Notice, &notice),
        "notice.evidence[0].digest"
    );
}

#[test]
fn wrong_types_are_reported_at_their_path() {
    assert_eq!(
        registration_error(|value| value["nice_classes"] = json!([18, "25"])),
        "nice_classes[1]"
    );
    assert_eq!(
        registration_error(|value| value["nice_classes"] = json!([18, 300])),
        "nice_classes[1]"
    );
    assert_eq!(
        registration_error(|value| value["holder"] = json!(["Maison", "FR"])),
        "holder"
    );
    assert_eq!(
        registration_error(|value| value["status"] = json!("pending")),
        "status"
    );
    assert_eq!(
        registration_error(|value| value["filing_date"] = json!("2024-02-30")),
        "filing_date"
    );
    assert_eq!(
        registration_error(|value| value["holder"]["key"] = json!("did:key:zNope")),
        "holder.key"
    );
    assert_eq!(
        registration_error(|value| value["image_digest"] = json!("sha256:ABC")),
        "image_digest"
    );
}

#[test]
fn explicit_nulls_of_optional_fields_decode_as_absent() {
    let value = registration_with(|value| value["application_number"] = Value::Null);
    let body = Body::decode(EntryKind::Registration, &value).unwrap();
    assert!(body.to_value().get("application_number").is_none());
}

// --- shared value types ---

#[test]
fn jurisdictions_and_countries() {
    assert_eq!(ISO_3166_ALPHA2.len(), 249);
    for code in ["FR", "US", "EM", "WO", "BX", "OA", "AP", "EA", "EP", "GC"] {
        assert_eq!(Jurisdiction::parse(code).unwrap().as_str(), code);
    }
    assert!(Jurisdiction::parse("FR").unwrap().is_country());
    assert!(!Jurisdiction::parse("EM").unwrap().is_country());
    for bad in ["fr", "XX", "F", "FRA", "", "EU", " FR"] {
        assert_eq!(Jurisdiction::parse(bad).unwrap_err().field, "jurisdiction");
    }
    assert!(CountryCode::parse("DE").is_ok());
    for bad in ["EM", "WO", "XX", "de"] {
        assert_eq!(CountryCode::parse(bad).unwrap_err().field, "country");
    }
    assert_eq!(
        serde_json::to_value(Jurisdiction::parse("EM").unwrap()).unwrap(),
        json!("EM")
    );
    assert!(serde_json::from_value::<Jurisdiction>(json!("em")).is_err());
    assert!(serde_json::from_value::<CountryCode>(json!("EM")).is_err());
}

#[test]
fn holder_country_must_be_an_assigned_country() {
    assert_eq!(
        registration_error(|value| value["holder"]["country"] = json!("XX")),
        "holder.country"
    );
    assert_eq!(
        registration_error(|value| value["holder"]["country"] = json!("EM")),
        "holder.country"
    );
}

#[test]
fn right_ids() {
    let france = Jurisdiction::parse("FR").unwrap();
    let id = RightId::new(&france, RightType::Trademark, "4123456").unwrap();
    assert_eq!(id.as_str(), "FR-TM-4123456");
    assert_eq!(RightId::parse("FR-TM-4123456").unwrap(), id);
    let us = RightId::parse("US-TM-2178784").unwrap();
    assert_eq!(us.jurisdiction().as_str(), "US");
    assert_eq!(us.right_type(), RightType::Trademark);
    assert_eq!(us.number(), "2178784");
    let eu = RightId::parse("EM-DS-002345678A0001").unwrap();
    assert_eq!(eu.right_type(), RightType::Design);
    assert_eq!(eu.number(), "002345678A0001");
    for right_type in RightType::ALL {
        assert_eq!(RightType::from_code(right_type.code()), Some(right_type));
    }
    for bad in [
        "FR-TM-",
        "FR-TM",
        "XX-TM-1",
        "fr-TM-1",
        "FR-XX-1",
        "FR-tm-1",
        "FR-TM-12-34",
        "FR-TM-12 34",
        "FR-TM-123456789012345678901234567890123",
        "",
    ] {
        assert_eq!(RightId::parse(bad).unwrap_err().field, "right_id", "{bad}");
    }
    assert_eq!(
        RightId::new(&france, RightType::Patent, "1,234")
            .unwrap_err()
            .field,
        "number"
    );
    assert_eq!(normalize_number("2,178,784"), "2178784");
    assert_eq!(normalize_number(" 01 234.567/A "), "01234567A");
    assert_eq!(normalize_number("é-ü"), "");
}

#[test]
fn digests() {
    let hash = [0xab; 32];
    let digest = Digest::from_sha256(&hash);
    assert_eq!(digest.as_str(), format!("sha256:{}", "ab".repeat(32)));
    assert_eq!(Digest::parse(digest.as_str()).unwrap(), digest);
    assert_eq!(digest.sha256(), hash);
    for bad in [
        format!("sha256:{}", "AB".repeat(32)),
        format!("sha256:{}", "ab".repeat(31)),
        format!("sha512:{}", "ab".repeat(32)),
        "ab".repeat(32),
    ] {
        assert_eq!(Digest::parse(&bad).unwrap_err().field, "digest");
    }
}

#[test]
fn nice_classes() {
    assert_eq!(NiceClass::new(1).unwrap().get(), 1);
    assert_eq!(NiceClass::new(45).unwrap().get(), 45);
    let error = NiceClass::new(46).unwrap_err();
    assert_eq!(error.message, "nice class 46 out of range 1..=45");
    assert!(NiceClass::new(0).is_err());
    assert!(serde_json::from_value::<NiceClass>(json!(0)).is_err());
    assert_eq!(
        serde_json::to_value(NiceClass::new(25).unwrap()).unwrap(),
        json!(25)
    );
}

#[test]
fn body_error_paths_compose() {
    let error = BodyError::new("name", "must not be empty").within("holder");
    assert_eq!(error.field, "holder.name");
    assert_eq!(error.to_string(), "holder.name: must not be empty");
    assert_eq!(
        BodyError::new("[2]", "x").within("listings").field,
        "listings[2]"
    );
    assert_eq!(
        BodyError::new("", "x").within("credential").field,
        "credential"
    );
}

// --- registration rules ---

#[test]
fn registration_nice_class_out_of_range_names_the_index() {
    let value = registration_with(|value| value["nice_classes"] = json!([18, 46]));
    let error = Body::decode(EntryKind::Registration, &value).unwrap_err();
    assert_eq!(error.field, "nice_classes[1]");
    assert_eq!(error.message, "nice class 46 out of range 1..=45");
    assert_eq!(
        registration_error(|value| value["nice_classes"] = json!([0])),
        "nice_classes[0]"
    );
}

#[test]
fn registration_nice_classes_strictly_ascending() {
    assert_eq!(
        registration_error(|value| value["nice_classes"] = json!([9, 18, 18])),
        "nice_classes[2]"
    );
    assert_eq!(
        registration_error(|value| value["nice_classes"] = json!([25, 18])),
        "nice_classes[1]"
    );
    let all: Vec<u8> = (1..=45).collect();
    assert!(
        Body::decode(
            EntryKind::Registration,
            &registration_with(|value| value["nice_classes"] = json!(all))
        )
        .is_ok()
    );
    let too_many: Vec<u8> = (1..=45).chain([45]).collect();
    assert_eq!(
        registration_error(|value| value["nice_classes"] = json!(too_many)),
        "nice_classes"
    );
}

#[test]
fn registration_trademark_needs_classes_and_a_mark() {
    assert_eq!(
        registration_error(|value| remove(value, "nice_classes")),
        "nice_classes"
    );
    assert_eq!(
        registration_error(|value| value["nice_classes"] = json!([])),
        "nice_classes"
    );
    assert_eq!(
        registration_error(|value| remove(value, "mark_text")),
        "mark_text"
    );
    // A figurative mark: an image and no text.
    let figurative = registration_with(|value| {
        remove(value, "mark_text");
        value["image_digest"] = json!(format!("sha256:{}", "0f".repeat(32)));
    });
    assert!(Body::decode(EntryKind::Registration, &figurative).is_ok());
}

#[test]
fn registration_empty_mark_text_is_refused() {
    assert_eq!(
        registration_error(|value| value["mark_text"] = json!("   ")),
        "mark_text"
    );
    assert_eq!(
        registration_error(|value| value["mark_text"] = json!("")),
        "mark_text"
    );
    assert_eq!(
        registration_error(|value| value["mark_text"] = json!("A".repeat(MAX_MARK_TEXT_CHARS + 1))),
        "mark_text"
    );
    assert_eq!(
        registration_error(|value| value["mark_text"] = json!("ÉTOILE\nDU NORD")),
        "mark_text"
    );
    // Characters, not bytes, are counted.
    let long_but_fine =
        registration_with(|value| value["mark_text"] = json!("É".repeat(MAX_MARK_TEXT_CHARS)));
    assert!(Body::decode(EntryKind::Registration, &long_but_fine).is_ok());
}

#[test]
fn registration_other_rights_need_a_title_and_no_mark_or_classes() {
    let mut no_title = design_registration();
    remove(&mut no_title, "title");
    assert_eq!(error_field(EntryKind::Registration, &no_title), "title");
    let mut blank_title = design_registration();
    blank_title["title"] = json!(" ");
    assert_eq!(error_field(EntryKind::Registration, &blank_title), "title");
    let mut with_classes = design_registration();
    with_classes["nice_classes"] = json!([20]);
    assert_eq!(
        error_field(EntryKind::Registration, &with_classes),
        "nice_classes"
    );
    let mut with_mark = design_registration();
    with_mark["mark_text"] = json!("CHAIR");
    assert_eq!(
        error_field(EntryKind::Registration, &with_mark),
        "mark_text"
    );
}

#[test]
fn registration_right_id_must_match() {
    assert_eq!(
        registration_error(|value| value["right_id"] = json!("FR-TM-4123457")),
        "right_id"
    );
    assert_eq!(
        registration_error(|value| value["right_id"] = json!("DE-TM-4123456")),
        "right_id"
    );
    assert_eq!(
        registration_error(|value| value["right_id"] = json!("FR-DS-4123456")),
        "right_id"
    );
    assert_eq!(
        registration_error(|value| value["right_id"] = json!("FR-TM-41 23")),
        "right_id"
    );
}

#[test]
fn registration_number_rules() {
    assert_eq!(
        registration_error(|value| value["number"] = json!("4 123 456")),
        "number"
    );
    assert_eq!(
        registration_error(|value| value["number"] = json!("")),
        "number"
    );
    assert_eq!(
        registration_error(|value| value["application_number"] = json!("")),
        "application_number"
    );
}

#[test]
fn registration_dates_in_order() {
    assert_eq!(
        registration_error(|value| value["expiry_date"] = json!("2020-01-01")),
        "expiry_date"
    );
    assert_eq!(
        registration_error(|value| value["expiry_date"] = json!("2024-11-04")),
        "expiry_date"
    );
    assert_eq!(
        registration_error(|value| value["registration_date"] = json!("2024-11-03")),
        "registration_date"
    );
    assert_eq!(
        registration_error(|value| {
            value["registration_date"] = json!("2030-01-01");
            value["expiry_date"] = json!("2029-01-01");
        }),
        "expiry_date"
    );
    // Registration on the filing day is fine.
    let same_day = registration_with(|value| value["registration_date"] = json!("2024-11-04"));
    assert!(Body::decode(EntryKind::Registration, &same_day).is_ok());
}

#[test]
fn registration_status_and_registration_date() {
    assert_eq!(
        registration_error(|value| remove(value, "registration_date")),
        "registration_date"
    );
    assert_eq!(
        registration_error(|value| value["status"] = json!("filed")),
        "registration_date"
    );
    let filed = registration_with(|value| {
        value["status"] = json!("filed");
        remove(value, "registration_date");
    });
    assert!(Body::decode(EntryKind::Registration, &filed).is_ok());
    let cancelled = registration_with(|value| value["status"] = json!("cancelled"));
    assert!(Body::decode(EntryKind::Registration, &cancelled).is_ok());
}

#[test]
fn registration_holder_name() {
    assert_eq!(
        registration_error(|value| value["holder"]["name"] = json!("  ")),
        "holder.name"
    );
    assert_eq!(
        registration_error(
            |value| value["holder"]["name"] = json!("x".repeat(MAX_HOLDER_NAME_CHARS + 1))
        ),
        "holder.name"
    );
    assert_eq!(
        registration_error(|value| value["holder"]["name"] = json!("Maison\u{7}Étoile")),
        "holder.name"
    );
}

#[test]
fn registration_validate_on_a_struct() {
    let mut body = sample_registration();
    body.validate().unwrap();
    body.nice_classes.push(46);
    assert_eq!(body.validate().unwrap_err().field, "nice_classes[2]");
    let mut body = sample_registration();
    body.v = 3;
    let error = body.validate().unwrap_err();
    assert_eq!(error.field, "v");
    assert_eq!(error.message, "unsupported version 3 of registration");
}

// --- status rules ---

fn status_error(edit: impl FnOnce(&mut Value)) -> String {
    error_field(EntryKind::Status, &edited(EntryKind::Status, edit))
}

fn assignment() -> Value {
    edited(EntryKind::Status, |value| {
        value["change"] = json!("assigned");
        remove(value, "new_expiry_date");
        value["new_holder"] = json!({ "name": "Étoile Group SE", "country": "LU" });
    })
}

#[test]
fn status_renewal_needs_a_later_expiry() {
    assert_eq!(
        status_error(|value| remove(value, "new_expiry_date")),
        "new_expiry_date"
    );
    assert_eq!(
        status_error(|value| value["new_expiry_date"] = json!("2034-10-15")),
        "new_expiry_date"
    );
}

#[test]
fn status_assignment_needs_a_new_holder() {
    let value = assignment();
    let body = Body::decode(EntryKind::Status, &value).unwrap();
    assert_eq!(body.to_value(), value);
    let mut missing = assignment();
    remove(&mut missing, "new_holder");
    assert_eq!(error_field(EntryKind::Status, &missing), "new_holder");
    let mut bad_country = assignment();
    bad_country["new_holder"]["country"] = json!("XX");
    assert_eq!(
        error_field(EntryKind::Status, &bad_country),
        "new_holder.country"
    );
    let mut blank_name = assignment();
    blank_name["new_holder"]["name"] = json!("");
    assert_eq!(
        error_field(EntryKind::Status, &blank_name),
        "new_holder.name"
    );
}

#[test]
fn status_forbidden_fields() {
    assert_eq!(
        status_error(|value| value["new_holder"] = json!({ "name": "X", "country": "FR" })),
        "new_holder"
    );
    for change in ["cancelled", "expired", "assigned"] {
        let mut value = assignment();
        value["change"] = json!(change);
        value["new_expiry_date"] = json!("2040-01-01");
        if change != "assigned" {
            remove(&mut value, "new_holder");
        }
        assert_eq!(
            error_field(EntryKind::Status, &value),
            "new_expiry_date",
            "{change}"
        );
    }
    // Restoration may carry a new expiry date, or not.
    let restored = edited(EntryKind::Status, |value| {
        value["change"] = json!("restored")
    });
    assert!(Body::decode(EntryKind::Status, &restored).is_ok());
    let restored_bare = edited(EntryKind::Status, |value| {
        value["change"] = json!("restored");
        remove(value, "new_expiry_date");
    });
    assert!(Body::decode(EntryKind::Status, &restored_bare).is_ok());
    let cancelled = edited(EntryKind::Status, |value| {
        value["change"] = json!("cancelled");
        remove(value, "new_expiry_date");
        value["reason"] = json!("revoked for non-use\nby decision of 2034-09-01");
    });
    assert!(Body::decode(EntryKind::Status, &cancelled).is_ok());
}

#[test]
fn status_text_bounds() {
    assert_eq!(
        status_error(|value| value["reference"] = json!("r".repeat(MAX_REFERENCE_CHARS + 1))),
        "reference"
    );
    assert_eq!(
        status_error(|value| value["reason"] = json!("r".repeat(MAX_STATUS_REASON_CHARS + 1))),
        "reason"
    );
}

// --- notice rules ---

fn notice_error(edit: impl FnOnce(&mut Value)) -> String {
    error_field(EntryKind::Notice, &edited(EntryKind::Notice, edit))
}

#[test]
fn holder_notice_decodes_on_its_own() {
    let value = examples::holder_notice();
    let notice = HolderNotice::decode(&value).unwrap();
    assert_eq!(serde_json::to_value(&notice).unwrap(), value);
    let mut later = value.clone();
    later["v"] = json!(2);
    let error = HolderNotice::decode(&later).unwrap_err();
    assert_eq!(error.field, "v");
    assert_eq!(error.message, "unsupported version 2 of holder notice");
    let mut duplicate = value;
    duplicate["listings"] = json!([{ "id": "a" }, { "id": "a" }]);
    assert_eq!(
        HolderNotice::decode(&duplicate).unwrap_err().field,
        "listings[1].id"
    );
}

#[test]
fn notice_nested_version() {
    assert_eq!(
        notice_error(|value| value["notice"]["v"] = json!(2)),
        "notice.v"
    );
}

#[test]
fn notice_listings() {
    assert_eq!(
        notice_error(|value| value["notice"]["listings"] = json!([])),
        "notice.listings"
    );
    assert_eq!(
        notice_error(|value| {
            value["notice"]["listings"] = json!([{ "id": "a" }, { "id": "b" }, { "id": "a" }])
        }),
        "notice.listings[2].id"
    );
    let many: Vec<Value> = (0..=MAX_NOTICE_LISTINGS)
        .map(|index| json!({ "id": format!("listing-{index}") }))
        .collect();
    assert_eq!(
        notice_error(|value| value["notice"]["listings"] = json!(many)),
        "notice.listings"
    );
    assert_eq!(
        notice_error(|value| value["notice"]["listings"][0]["id"] = json!("a\u{0}b")),
        "notice.listings[0].id"
    );
    assert_eq!(
        notice_error(|value| value["notice"]["listings"][0]["class"] = json!(46)),
        "notice.listings[0].class"
    );
    assert_eq!(
        notice_error(|value| value["notice"]["listings"][0]["url"] = json!("ftp://x.example/1")),
        "notice.listings[0].url"
    );
    assert_eq!(
        notice_error(|value| value["notice"]["listings"][0]["url"] = json!("https://x.example/a b")),
        "notice.listings[0].url"
    );
}

#[test]
fn notice_evidence() {
    assert_eq!(
        notice_error(|value| remove(&mut value["notice"]["evidence"][0], "result")),
        "notice.evidence[0].result"
    );
    assert_eq!(
        notice_error(|value| value["notice"]["evidence"][0]["kind"] = json!("photo")),
        "notice.evidence[0].kind"
    );
    assert_eq!(
        notice_error(|value| value["notice"]["evidence"][0]["description"] =
            json!("d".repeat(MAX_EVIDENCE_TEXT_CHARS + 1))),
        "notice.evidence[0].description"
    );
    let item = json!({ "kind": "screenshot", "digest": format!("sha256:{}", "11".repeat(32)) });
    let too_many: Vec<Value> = (0..=MAX_EVIDENCE_ITEMS).map(|_| item.clone()).collect();
    assert_eq!(
        notice_error(|value| value["notice"]["evidence"] = json!(too_many)),
        "notice.evidence"
    );
    // A screenshot needs no result, and evidence may be left out.
    let screenshot = edited(EntryKind::Notice, |value| {
        value["notice"]["evidence"] = json!([item])
    });
    assert!(Body::decode(EntryKind::Notice, &screenshot).is_ok());
    let none = edited(EntryKind::Notice, |value| {
        remove(&mut value["notice"], "evidence")
    });
    assert!(Body::decode(EntryKind::Notice, &none).is_ok());
}

#[test]
fn notice_statement_nonce_credential_signature() {
    assert_eq!(
        notice_error(|value| value["notice"]["good_faith_statement"] = json!(" \n ")),
        "notice.good_faith_statement"
    );
    assert_eq!(
        notice_error(|value| value["notice"]["good_faith_statement"] =
            json!("s".repeat(MAX_GOOD_FAITH_STATEMENT_CHARS + 1))),
        "notice.good_faith_statement"
    );
    for bad_nonce in [
        "a".repeat(MIN_NONCE_HEX_CHARS - 1),
        "a".repeat(MAX_NONCE_HEX_CHARS + 1),
        "A".repeat(MIN_NONCE_HEX_CHARS),
        "g".repeat(MIN_NONCE_HEX_CHARS),
    ] {
        assert_eq!(
            notice_error(|value| value["notice"]["nonce"] = json!(bad_nonce)),
            "notice.nonce"
        );
    }
    assert_eq!(
        notice_error(|value| value["notice"]["credential"] = json!("eyJhbGciOi")),
        "notice.credential"
    );
    assert_eq!(
        notice_error(|value| value["notice"]["credential"] =
            json!({ "padding": "p".repeat(MAX_CREDENTIAL_BYTES) })),
        "notice.credential"
    );
    for bad_signature in [
        "5a5a".to_owned(),
        "z0OIl".to_owned(),
        crate::keys::multibase_btc(&[1; 63]),
        format!("z{}", "1".repeat(MAX_SIGNATURE_CHARS)),
    ] {
        assert_eq!(
            notice_error(|value| value["notice"]["signature"] = json!(bad_signature)),
            "notice.signature"
        );
    }
    assert_eq!(
        notice_error(|value| value["notice"]["created"] = json!("2026-11-28T15:04:05+01:00")),
        "notice.created"
    );
    assert_eq!(
        notice_error(|value| value["notice"]["marketplace"] = json!("did:web:market.example")),
        "notice.marketplace"
    );
    assert_eq!(
        notice_error(|value| value["notice"]["reason"] = json!("parody")),
        "notice.reason"
    );
}

#[test]
fn verdict_accepted_must_agree_with_reasons() {
    assert_eq!(
        notice_error(|value| value["verdict"]["reasons"][1]["ok"] = json!(false)),
        "verdict.accepted"
    );
    assert_eq!(
        notice_error(|value| value["verdict"]["accepted"] = json!(false)),
        "verdict.accepted"
    );
    let rejected = edited(EntryKind::Notice, |value| {
        value["verdict"]["accepted"] = json!(false);
        value["verdict"]["reasons"][2] = json!({
            "code": "right_cancelled",
            "ok": false,
            "message": "FR-TM-4123456 was cancelled",
            "entry_id": examples::REGISTRATION_ID,
        });
    });
    let body = Body::decode(EntryKind::Notice, &rejected).unwrap();
    assert_eq!(body.to_value(), rejected);
}

#[test]
fn verdict_reasons() {
    assert_eq!(
        notice_error(|value| value["verdict"]["reasons"] = json!([])),
        "verdict.reasons"
    );
    for bad_code in ["Credential", "credential-proof", "_x", "", "9lives"] {
        assert_eq!(
            notice_error(|value| value["verdict"]["reasons"][0]["code"] = json!(bad_code)),
            "verdict.reasons[0].code",
            "{bad_code}"
        );
    }
    assert_eq!(
        notice_error(|value| value["verdict"]["reasons"][0]["code"] =
            json!("c".repeat(MAX_REASON_CODE_CHARS + 1))),
        "verdict.reasons[0].code"
    );
    assert_eq!(
        notice_error(|value| value["verdict"]["reasons"][0]["message"] =
            json!("m".repeat(MAX_VERDICT_MESSAGE_CHARS + 1))),
        "verdict.reasons[0].message"
    );
    assert_eq!(
        notice_error(|value| value["verdict"]["reasons"][2]["entry_id"] = json!("ABC")),
        "verdict.reasons[2].entry_id"
    );
    let reason = json!({ "code": "x", "ok": true, "message": "" });
    let many: Vec<Value> = (0..=MAX_VERDICT_REASONS).map(|_| reason.clone()).collect();
    assert_eq!(
        notice_error(|value| value["verdict"]["reasons"] = json!(many)),
        "verdict.reasons"
    );
}

// --- decision and counter-notice rules ---

fn decision_error(edit: impl FnOnce(&mut Value)) -> String {
    error_field(EntryKind::Decision, &edited(EntryKind::Decision, edit))
}

#[test]
fn decision_deadline_only_for_removals() {
    assert_eq!(
        decision_error(|value| remove(value, "counter_notice_deadline")),
        "counter_notice_deadline"
    );
    for outcome in ["rejected", "restored"] {
        assert_eq!(
            decision_error(|value| value["outcome"] = json!(outcome)),
            "counter_notice_deadline"
        );
        let fine = edited(EntryKind::Decision, |value| {
            value["outcome"] = json!(outcome);
            remove(value, "counter_notice_deadline");
        });
        assert!(
            Body::decode(EntryKind::Decision, &fine).is_ok(),
            "{outcome}"
        );
    }
}

#[test]
fn decision_fields() {
    assert_eq!(
        decision_error(|value| value["listing_ids"] = json!([])),
        "listing_ids"
    );
    assert_eq!(
        decision_error(|value| value["listing_ids"] = json!(["a", "b", "a"])),
        "listing_ids[2]"
    );
    assert_eq!(
        decision_error(|value| value["listing_ids"] = json!(["a", ""])),
        "listing_ids[1]"
    );
    let many: Vec<String> = (0..=MAX_DECISION_LISTINGS).map(|i| i.to_string()).collect();
    assert_eq!(
        decision_error(|value| value["listing_ids"] = json!(many)),
        "listing_ids"
    );
    assert_eq!(
        decision_error(|value| value["reason"] = json!("")),
        "reason"
    );
    assert_eq!(
        decision_error(|value| value["seller_ref"] = json!("seller-4711")),
        "seller_ref"
    );
    assert_eq!(
        decision_error(|value| value["seller_ref"] = json!("AB".repeat(32))),
        "seller_ref"
    );
    assert_eq!(
        decision_error(|value| value["notice_id"] = json!("00")),
        "notice_id"
    );
    assert_eq!(
        decision_error(|value| value["outcome"] = json!("removed_partially")),
        "outcome"
    );
}

#[test]
fn counter_notice_fields() {
    let error = |edit: fn(&mut Value)| {
        error_field(
            EntryKind::CounterNotice,
            &edited(EntryKind::CounterNotice, edit),
        )
    };
    assert_eq!(error(|value| value["statement"] = json!("")), "statement");
    assert_eq!(
        error(|value| value["statement"] = json!("s".repeat(MAX_COUNTER_STATEMENT_CHARS + 1))),
        "statement"
    );
    assert_eq!(
        error(|value| value["seller_ref"] = json!("0")),
        "seller_ref"
    );
    assert_eq!(error(|value| remove(value, "decision_id")), "decision_id");
    assert_eq!(
        error(|value| value["evidence"][0]["digest"] = json!("md5:abc")),
        "evidence[0].digest"
    );
    assert_eq!(
        error(|value| value["evidence"][0]["kind"] = json!("test_purchase")),
        "evidence[0].result"
    );
}

// --- authority and key rotation rules ---

#[test]
fn authority_fields() {
    let error = |edit: fn(&mut Value)| {
        error_field(EntryKind::Authority, &edited(EntryKind::Authority, edit))
    };
    assert_eq!(
        error(|value| value["jurisdictions"] = json!([])),
        "jurisdictions"
    );
    assert_eq!(
        error(|value| remove(value, "jurisdictions")),
        "jurisdictions"
    );
    assert_eq!(
        error(|value| value["jurisdictions"] = json!(["FR", "EM", "FR"])),
        "jurisdictions[2]"
    );
    assert_eq!(
        error(|value| value["jurisdictions"] = json!(["FR", "fr"])),
        "jurisdictions[1]"
    );
    assert_eq!(error(|value| value["name"] = json!("")), "name");
    assert_eq!(error(|value| value["role"] = json!("court")), "role");
    assert_eq!(
        error(|value| value["contact"] = json!("c".repeat(MAX_CONTACT_CHARS + 1))),
        "contact"
    );
    let too_many: Vec<&str> = ISO_3166_ALPHA2
        .iter()
        .take(MAX_AUTHORITY_JURISDICTIONS + 1)
        .copied()
        .collect();
    assert_eq!(
        error_field(
            EntryKind::Authority,
            &edited(EntryKind::Authority, |value| value["jurisdictions"] =
                json!(too_many))
        ),
        "jurisdictions"
    );
    // A marketplace may accept no territory yet; the empty list is left out when encoded.
    let marketplace = edited(EntryKind::Authority, |value| {
        value["role"] = json!("marketplace");
        remove(value, "jurisdictions");
    });
    let body = Body::decode(EntryKind::Authority, &marketplace).unwrap();
    assert_eq!(body.to_value(), marketplace);
}

#[test]
fn key_rotation_fields() {
    let error = |edit: fn(&mut Value)| {
        error_field(
            EntryKind::KeyRotation,
            &edited(EntryKind::KeyRotation, edit),
        )
    };
    assert_eq!(error(|value| value["new_key"] = json!("z6Mk")), "new_key");
    assert_eq!(
        error(|value| value["new_key_proof"] = json!("")),
        "new_key_proof"
    );
    assert_eq!(
        error(|value| value["new_key_proof"] = json!(crate::keys::multibase_btc(&[7; 32]))),
        "new_key_proof"
    );
    assert_eq!(
        error(|value| value["reason"] = json!("r".repeat(MAX_KEY_ROTATION_REASON_CHARS + 1))),
        "reason"
    );
    assert_eq!(
        error(|value| remove(value, "new_key_proof")),
        "new_key_proof"
    );
}

// --- property tests ---

fn date_strategy() -> impl Strategy<Value = Date> {
    // 1990-01-01 to about 2060.
    (7305i32..33000).prop_map(|days| Date::parse("1970-01-01").unwrap().add_days(days).unwrap())
}

fn holder_strategy() -> impl Strategy<Value = Holder> {
    (
        "[A-Za-zÀ-ÿ][A-Za-zÀ-ÿ0-9 .,&'-]{0,60}",
        prop::sample::select(ISO_3166_ALPHA2.to_vec()),
        prop::option::of(any::<u8>()),
    )
        .prop_map(|(name, country, seed)| Holder {
            name,
            country: CountryCode::parse(country).unwrap(),
            key: seed.map(|seed| SecretKey::from_seed(&[seed; 32]).public_key()),
        })
}

prop_compose! {
    fn registration_strategy()(
        right_type in prop::sample::select(RightType::ALL.to_vec()),
        jurisdiction in prop::sample::select(
            ISO_3166_ALPHA2.iter().chain(super::codes::REGIONAL_OFFICE_CODES.iter()).copied().collect::<Vec<_>>()
        ),
        number in "[A-Z0-9]{1,32}",
        application_number in prop::option::of("[A-Z0-9][A-Z0-9/ -]{0,19}"),
        text in "[A-Za-z0-9][A-Za-z0-9 ÄÖÜäöüÉé&'.-]{0,80}",
        figurative in any::<bool>(),
        image in prop::option::of(any::<[u8; 32]>()),
        classes in prop::collection::btree_set(1u8..=45, 1..=12),
        holder in holder_strategy(),
        filing_date in date_strategy(),
        registration_after in prop::option::of(0i32..2000),
        term in prop::option::of(1i32..7300),
        status in prop::sample::select(vec![
            RightStatus::Filed, RightStatus::Registered, RightStatus::Expired, RightStatus::Cancelled,
        ]),
    ) -> RegistrationV1 {
        let jurisdiction = Jurisdiction::parse(jurisdiction).unwrap();
        let right_id = RightId::new(&jurisdiction, right_type, &number).unwrap();
        let registration_date = match status {
            RightStatus::Filed => None,
            RightStatus::Registered => Some(filing_date.add_days(registration_after.unwrap_or(0)).unwrap()),
            _ => registration_after.map(|days| filing_date.add_days(days).unwrap()),
        };
        let expiry_date = term.map(|days| {
            registration_date.as_ref().unwrap_or(&filing_date).add_days(days).unwrap()
        });
        let trademark = right_type == RightType::Trademark;
        let image_digest = image.map(|hash| Digest::from_sha256(&hash));
        // A trademark has text unless it is purely figurative (an image and no text).
        let purely_figurative = figurative && image_digest.is_some();
        let mark_text = (trademark && !purely_figurative).then(|| text.clone());
        RegistrationV1 {
            v: 1,
            right_id,
            right_type,
            jurisdiction,
            number,
            application_number,
            mark_text,
            title: if trademark { None } else { Some(text) },
            image_digest,
            nice_classes: if trademark { classes.into_iter().collect() } else { Vec::new() },
            holder,
            filing_date,
            registration_date,
            expiry_date,
            status,
        }
    }
}

proptest! {
    #[test]
    fn valid_registrations_round_trip(registration in registration_strategy()) {
        registration.validate().unwrap();
        let body = Body::Registration(registration);
        let value = body.to_value();
        let decoded = Body::decode(EntryKind::Registration, &value).unwrap();
        prop_assert_eq!(&decoded, &body);
        prop_assert_eq!(decoded.to_value(), value);
    }

    #[test]
    fn right_ids_round_trip(
        jurisdiction in prop::sample::select(ISO_3166_ALPHA2.to_vec()),
        right_type in prop::sample::select(RightType::ALL.to_vec()),
        raw in "[A-Za-z0-9,./ -]{0,40}",
    ) {
        let number = normalize_number(&raw);
        let jurisdiction = Jurisdiction::parse(jurisdiction).unwrap();
        match RightId::new(&jurisdiction, right_type, &number) {
            Ok(id) => {
                let parsed = RightId::parse(id.as_str()).unwrap();
                prop_assert_eq!(parsed.jurisdiction(), &jurisdiction);
                prop_assert_eq!(parsed.right_type(), right_type);
                prop_assert_eq!(parsed.number(), number.as_str());
                prop_assert_eq!(parsed, id);
            }
            Err(error) => {
                prop_assert_eq!(error.field, "number");
                prop_assert!(number.is_empty() || number.len() > MAX_RIGHT_NUMBER_CHARS);
            }
        }
    }

    #[test]
    fn decoding_arbitrary_json_never_panics(
        kind in prop::sample::select(EntryKind::ALL.to_vec()),
        key in "[a-z_]{1,24}",
        replacement in prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            ".{0,20}".prop_map(Value::from),
            Just(json!([])),
            Just(json!({})),
        ],
    ) {
        let mut value = examples::for_kind(kind);
        value[key.as_str()] = replacement;
        if let Err(error) = Body::decode(kind, &value) {
            prop_assert!(!error.field.is_empty());
        }
    }
}

// --- issue 10: notices keep what the holder signed ---

#[test]
fn issue_10_notice_integers_are_read_from_the_canonical_form() {
    // 1.0, 25.0 and 2.5e1 are the integers 1 and 25 (§1), as in entries.
    let text = serde_json::to_string(&examples::holder_notice())
        .unwrap()
        .replacen("\"v\":1", "\"v\":1.0", 1)
        .replacen("\"class\":25", "\"class\":2.5e1", 1);
    let value = crate::jcs::parse(text.as_bytes()).unwrap();
    assert!(value["v"].is_f64() && value["listings"][0]["class"].is_f64());
    let notice = HolderNotice::decode(&value).unwrap();
    assert_eq!(notice.v, 1);
    assert_eq!(notice.listings[0].class, Some(25));
    assert_eq!(notice.received(), Some(&examples::holder_notice()));
    // A fraction is still refused.
    let mut fraction = examples::holder_notice();
    fraction["listings"][0]["class"] = json!(25.5);
    assert_eq!(
        HolderNotice::decode(&fraction).unwrap_err().field,
        "listings[0].class"
    );
}

#[test]
fn issue_10_a_notice_body_is_written_exactly_as_received() {
    let mut holder_notice = examples::holder_notice();
    holder_notice["listings"][0]["url"] = Value::Null;
    holder_notice["evidence"] = json!([]);
    let notice = HolderNotice::decode(&holder_notice).unwrap();
    assert_eq!(notice.listings[0].url, None);
    // Built in code from a decoded notice: the explicit null and [] stay.
    let body = Body::Notice(NoticeV1 {
        v: 1,
        notice,
        verdict: serde_json::from_value(examples::notice()["verdict"].clone()).unwrap(),
    });
    assert_eq!(body.to_value()["notice"], holder_notice);
    // Decoded from an entry body: the same.
    let mut value = examples::notice();
    value["notice"] = holder_notice.clone();
    let decoded = Body::decode(EntryKind::Notice, &value).unwrap();
    assert_eq!(decoded.to_value()["notice"], holder_notice);
    assert_eq!(decoded.to_value(), value);
}

#[test]
fn issue_10_the_credential_limit_counts_canonical_bytes() {
    // `{"p":"…"}` is 8 bytes plus the padding; 1e20 is written as 21 digits canonically.
    let exact = |padding: usize| json!({ "p": "p".repeat(padding) });
    let at_limit = exact(MAX_CREDENTIAL_BYTES - 8);
    assert_eq!(
        crate::jcs::canonicalize(&at_limit).unwrap().len(),
        MAX_CREDENTIAL_BYTES
    );
    let with = |credential: Value| {
        let mut notice = examples::holder_notice();
        notice["credential"] = credential;
        HolderNotice::decode(&notice)
    };
    assert!(with(at_limit).is_ok());
    assert_eq!(
        with(exact(MAX_CREDENTIAL_BYTES - 7)).unwrap_err().field,
        "credential"
    );
    // serde_json writes 1e20 as "1e20" (4 bytes), the canonical form as 21 digits: a credential
    // over the limit only in canonical form is refused.
    let number = crate::jcs::parse(b"1e20").unwrap();
    let mut big = json!({ "n": [], "p": "p".repeat(MAX_CREDENTIAL_BYTES - 16 - 20 * 8) });
    big["n"] = Value::Array(vec![number; 20]);
    let canonical = crate::jcs::canonicalize(&big).unwrap().len();
    assert!(canonical > MAX_CREDENTIAL_BYTES, "{canonical}");
    assert_eq!(with(big).unwrap_err().field, "credential");
}

#[test]
fn evidence_decoded_outside_a_body_fails_as_inside_one() {
    let digest = format!("sha256:{}", "ab".repeat(32));
    let cases = [
        json!([{"kind": "invoice?", "digest": digest}]),
        json!([{"kind": "other"}]),
        json!([{"kind": "other", "digest": "sha256:zz"}]),
        json!([{"kind": "other", "digest": digest}, "not an object"]),
        json!([{"kind": "other", "digest": digest, "extra": 1}]),
    ];
    for items in cases {
        let mut body = examples::counter_notice();
        body["evidence"] = items.clone();
        let inside = Body::decode(EntryKind::CounterNotice, &body)
            .expect_err("the body's evidence is malformed");
        let Value::Array(items) = items else {
            unreachable!("every case is an array")
        };
        let outside = Evidence::decode_list("evidence", items).expect_err("malformed evidence");
        assert_eq!(outside, inside);
        assert!(outside.field.starts_with("evidence["), "{outside}");
    }
    let Value::Array(good) = examples::counter_notice()["evidence"].clone() else {
        unreachable!("the example has evidence")
    };
    let decoded = Evidence::decode_list("evidence", good).expect("the example's evidence");
    assert_eq!(decoded.len(), 1);
    assert_eq!(decoded[0].kind, EvidenceKind::Other);
}

// --- the trust lifecycle: endorsements, compromise rotations, the credential log ---

#[test]
fn an_endorsement_is_an_authority_body_of_version_two_with_a_subject() {
    let body = Body::decode(EntryKind::Authority, &examples::endorsement()).unwrap();
    let Body::Authority(endorsement) = &body else {
        panic!("an authority body")
    };
    assert!(endorsement.is_endorsement());
    assert!(!endorsement.is_withdrawal());
    assert_eq!(
        endorsement.subject.map(|key| key.to_did_key()),
        Some(examples::did_key(&examples::ENDORSED_OFFICE_SEED))
    );
    assert_eq!(body.to_value(), examples::endorsement());
    let withdrawn = Body::decode(
        EntryKind::Authority,
        &edited_value(examples::endorsement(), |value| {
            value["withdrawn"] = json!(true)
        }),
    )
    .unwrap();
    assert!(matches!(withdrawn, Body::Authority(ref body) if body.is_withdrawal()));
    // Version 2 needs a subject; version 1 allows neither member; `false` has no spelling.
    let cases = [
        (
            edited_value(examples::endorsement(), |value| remove(value, "subject")),
            "subject",
        ),
        (
            edited_value(examples::authority(), |value| {
                value["subject"] = json!(examples::did_key(&examples::HOLDER_SEED))
            }),
            "subject",
        ),
        (
            edited_value(examples::authority(), |value| {
                value["withdrawn"] = json!(true)
            }),
            "withdrawn",
        ),
        (
            edited_value(examples::endorsement(), |value| {
                value["withdrawn"] = json!(false)
            }),
            "withdrawn",
        ),
        (
            edited_value(examples::endorsement(), |value| {
                value["subject"] = json!("did:key:zBad")
            }),
            "subject",
        ),
        (
            edited_value(examples::endorsement(), |value| {
                value["jurisdictions"] = json!([])
            }),
            "jurisdictions",
        ),
    ];
    for (value, field) in cases {
        let error = Body::decode(EntryKind::Authority, &value).unwrap_err();
        assert_eq!(error.field, field, "{value}: {error}");
    }
}

#[test]
fn a_compromise_rotation_is_version_two_with_compromised_since() {
    let body = Body::decode(EntryKind::KeyRotation, &examples::key_rotation_compromise()).unwrap();
    let Body::KeyRotation(rotation) = &body else {
        panic!("a key rotation")
    };
    assert!(rotation.is_compromise());
    assert_eq!(rotation.compromised_since, Some(12));
    // The proof covers the same message as a routine rotation.
    let old = SecretKey::from_seed(&examples::OFFICE_SEED).public_key();
    let proof = crate::keys::Signature::from_multibase(&rotation.new_key_proof).unwrap();
    rotation
        .new_key
        .verify(&key_rotation_proof_message(&old, &rotation.new_key), &proof)
        .unwrap();
    let cases = [
        edited_value(examples::key_rotation_compromise(), |value| {
            remove(value, "compromised_since")
        }),
        edited_value(examples::key_rotation(), |value| {
            value["compromised_since"] = json!(3)
        }),
        edited_value(examples::key_rotation_compromise(), |value| {
            value["compromised_since"] = json!(0)
        }),
        edited_value(examples::key_rotation_compromise(), |value| {
            value["compromised_since"] = json!(-1)
        }),
        edited_value(examples::key_rotation_compromise(), |value| {
            value["compromised_since"] = json!(9_007_199_254_740_992u64)
        }),
    ];
    for value in cases {
        let error = Body::decode(EntryKind::KeyRotation, &value).unwrap_err();
        assert_eq!(error.field, "compromised_since", "{value}: {error}");
    }
}

#[test]
fn a_credential_log_entry_checks_its_window_index_and_id() {
    let body = Body::decode(EntryKind::Credential, &examples::credential_log()).unwrap();
    assert_eq!(body.to_value(), examples::credential_log());
    let cases = [
        (
            edited_value(examples::credential_log(), |value| {
                value["valid_until"] = json!("2026-12-01T09:30:00Z")
            }),
            "valid_until",
        ),
        (
            edited_value(examples::credential_log(), |value| {
                value["status_index"] = json!(2_147_483_648u64)
            }),
            "status_index",
        ),
        (
            edited_value(examples::credential_log(), |value| {
                value["status_index"] = json!(-1)
            }),
            "status_index",
        ),
        (
            edited_value(examples::credential_log(), |value| {
                value["credential_id"] = json!("no colon")
            }),
            "credential_id",
        ),
        (
            edited_value(examples::credential_log(), |value| {
                value["digest"] = json!("sha1:00")
            }),
            "digest",
        ),
        (
            edited_value(examples::credential_log(), |value| remove(value, "subject")),
            "subject",
        ),
        (
            edited_value(examples::credential_log(), |value| {
                value["extra"] = json!(1)
            }),
            "extra",
        ),
    ];
    for (value, field) in cases {
        let error = Body::decode(EntryKind::Credential, &value).unwrap_err();
        assert!(
            error.field == field || error.message.contains(field),
            "{field}: {error}"
        );
    }
    // The largest index is allowed, and validUntil may be absent.
    let edge = edited_value(examples::credential_log(), |value| {
        value["status_index"] = json!(2_147_483_647u64);
        remove(value, "valid_until");
    });
    Body::decode(EntryKind::Credential, &edge).unwrap();
}

#[test]
fn a_credential_status_ties_its_reason_code_to_its_status() {
    let body = Body::decode(EntryKind::CredentialStatus, &examples::credential_status()).unwrap();
    assert_eq!(body.to_value(), examples::credential_status());
    let status = |status: &str, code: &str| {
        edited_value(examples::credential_status(), |value| {
            value["status"] = json!(status);
            value["reason_code"] = json!(code);
        })
    };
    for (state, code) in [
        ("active", "suspension_lifted"),
        ("active", "unspecified"),
        ("suspended", "holder_request"),
        ("revoked", "key_compromise"),
        ("revoked", "misissued"),
    ] {
        Body::decode(EntryKind::CredentialStatus, &status(state, code)).unwrap();
    }
    for (state, code) in [
        ("active", "holder_request"),
        ("revoked", "suspension_lifted"),
        ("suspended", "suspension_lifted"),
        ("expired", "unspecified"),
        ("revoked", "because"),
    ] {
        assert!(
            Body::decode(EntryKind::CredentialStatus, &status(state, code)).is_err(),
            "{state} {code}"
        );
    }
    use super::CredentialStatusKind::{Active, Revoked, Suspended};
    assert!(Active.can_become(Suspended) && Active.can_become(Revoked));
    assert!(Suspended.can_become(Active) && Suspended.can_become(Revoked));
    assert!(!Revoked.can_become(Active) && !Revoked.can_become(Suspended));
    assert!(!Active.can_become(Active) && !Suspended.can_become(Suspended));
}

fn edited_value(mut value: Value, edit: impl FnOnce(&mut Value)) -> Value {
    edit(&mut value);
    value
}
