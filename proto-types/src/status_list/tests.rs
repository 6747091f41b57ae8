//! Tests of the status list core: bit positions, the `encodedList` codec (round trips, the
//! specification's example, bounded decoding), the URL rules and the signed list credential
//! against the specification's rules.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use proptest::prelude::*;
use rand::{RngCore, SeedableRng};

use super::*;

/// The `encodedList` of the specification's examples: a list of 131 072 zero bits.
const SPEC_EXAMPLE_ENCODED_LIST: &str =
    "uH4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA";
const BASE: &str = "https://office.example/status";

fn key() -> SecretKey {
    SecretKey::from_seed(&[1; 32])
}

fn now() -> Timestamp {
    Timestamp::parse("2026-12-01T09:30:00Z").unwrap()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

fn multibase(bytes: &[u8]) -> String {
    format!("u{}", URL_SAFE_NO_PAD.encode(bytes))
}

fn decode_error(encoded: &str) -> String {
    match StatusBitstring::decode(encoded) {
        Err(StatusListError::EncodedList(reason)) => reason,
        other => panic!("expected an encodedList error, got {other:?}"),
    }
}

fn random_list(seed: u64) -> StatusBitstring {
    let mut bytes = vec![0; STATUS_LIST_BYTES];
    rand::rngs::StdRng::seed_from_u64(seed).fill_bytes(&mut bytes);
    StatusBitstring::from_bytes(&bytes).unwrap()
}

#[test]
fn the_list_has_the_specifications_minimum_length() {
    assert_eq!(STATUS_LIST_BITS, 131_072);
    assert_eq!(StatusBitstring::new().as_bytes().len(), 16 * 1024);
    assert_eq!(StatusBitstring::new().count_set(), 0);
    assert_eq!(StatusBitstring::filled(true).count_set(), STATUS_LIST_BITS);
    assert!(StatusBitstring::from_bytes(&[0; STATUS_LIST_BYTES - 1]).is_err());
    assert!(StatusBitstring::from_bytes(&[0; STATUS_LIST_BYTES + 1]).is_err());
}

#[test]
fn index_zero_is_the_most_significant_bit_of_the_first_byte() {
    let mut list = StatusBitstring::new();
    list.set(0, true).unwrap();
    assert_eq!(list.as_bytes()[0], 0b1000_0000);
    list.set(7, true).unwrap();
    assert_eq!(list.as_bytes()[0], 0b1000_0001);
    list.set(8, true).unwrap();
    assert_eq!(list.as_bytes()[1], 0b1000_0000);
    list.set(131_071, true).unwrap();
    assert_eq!(list.as_bytes()[STATUS_LIST_BYTES - 1], 0b0000_0001);
    list.set(0, false).unwrap();
    assert_eq!(list.as_bytes()[0], 0b0000_0001);
    assert_eq!(list.count_set(), 3);
}

#[test]
fn positions_beyond_the_list_are_refused() {
    let mut list = StatusBitstring::new();
    assert_eq!(
        list.set(131_072, true),
        Err(StatusListError::Position(131_072))
    );
    assert_eq!(
        list.get(u32::MAX),
        Err(StatusListError::Position(4_294_967_295))
    );
    assert_eq!(list, StatusBitstring::new());
}

#[test]
fn decodes_the_specifications_example() {
    let list = StatusBitstring::decode(SPEC_EXAMPLE_ENCODED_LIST).unwrap();
    assert_eq!(list, StatusBitstring::new());
}

#[test]
fn encoding_is_deterministic_and_an_empty_list_is_small() {
    let encoded = StatusBitstring::new().encode();
    assert_eq!(encoded, StatusBitstring::new().encode());
    assert!(
        encoded.starts_with("uH4sI"),
        "gzip magic in base64url: {encoded}"
    );
    assert!(encoded.len() < 200, "{}", encoded.len());
    assert!(!encoded.contains('=') && !encoded.contains('+') && !encoded.contains('/'));
    // The worst case, an incompressible list, stays well inside the decoder's bound.
    let random = random_list(7).encode();
    assert!(random.len() < MAX_ENCODED_LIST_CHARS, "{}", random.len());
    assert_eq!(StatusBitstring::decode(&random).unwrap(), random_list(7));
}

#[test]
fn refuses_other_prefixes_padding_and_bad_base64() {
    let good = StatusBitstring::new().encode();
    let body = &good[1..];
    assert!(decode_error(&format!("z{body}")).contains("prefix"));
    assert!(decode_error(body).contains("prefix"));
    assert!(decode_error("").contains("prefix"));
    assert!(decode_error("u").contains("GZIP"));
    let padded = multibase(&gzip(&[0; STATUS_LIST_BYTES]));
    let padding = "=".repeat((4 - (padded.len() - 1) % 4) % 4);
    if !padding.is_empty() {
        assert!(decode_error(&format!("{padded}{padding}")).contains("base64url"));
    }
    let standard = format!("u{}", body.replace('-', "+").replace('_', "/"));
    if standard != good {
        assert!(decode_error(&standard).contains("base64url"));
    }
    assert!(decode_error("u!!!!").contains("base64url"));
}

#[test]
fn refuses_lists_of_another_length() {
    for size in [
        0,
        1,
        STATUS_LIST_BYTES - 1,
        STATUS_LIST_BYTES + 1,
        2 * STATUS_LIST_BYTES,
    ] {
        let reason = decode_error(&multibase(&gzip(&vec![0; size])));
        assert!(reason.contains("decompresses to"), "{size}: {reason}");
    }
}

#[test]
fn a_gzip_bomb_stops_after_one_byte_past_the_limit() {
    // 64 MiB of zeros gzips to about 64 KiB: too long to be read at all.
    let bomb = multibase(&gzip(&vec![0; 64 * 1024 * 1024]));
    assert!(decode_error(&bomb).contains("longer than"));
    // 16 MiB gzips to about 16 KiB: inside the text bound, so it is inflated, but only up to
    // one byte past the list's size.
    let bomb = multibase(&gzip(&vec![0; 16 * 1024 * 1024]));
    assert!(bomb.len() <= MAX_ENCODED_LIST_CHARS, "{}", bomb.len());
    assert!(decode_error(&bomb).contains("more than"));
}

#[test]
fn refuses_a_corrupt_stream_and_trailing_bytes() {
    let mut stream = gzip(&[0; STATUS_LIST_BYTES]);
    let crc_at = stream.len() - 8;
    stream[crc_at] ^= 1;
    assert!(decode_error(&multibase(&stream)).contains("GZIP"));
    let mut trailing = gzip(&[0; STATUS_LIST_BYTES]);
    trailing.push(0);
    assert!(decode_error(&multibase(&trailing)).contains("follow"));
    let mut two_members = gzip(&[0; STATUS_LIST_BYTES]);
    two_members.extend(gzip(&[0; STATUS_LIST_BYTES]));
    assert!(decode_error(&multibase(&two_members)).contains("follow"));
    let raw_deflate = multibase(&[0x03, 0x00]);
    assert!(decode_error(&raw_deflate).contains("GZIP"));
}

#[test]
fn status_indexes_map_to_lists_and_positions() {
    let at = |index| StatusListPosition::from_status_index(index).unwrap();
    assert_eq!(
        at(0),
        StatusListPosition {
            list: 0,
            position: 0
        }
    );
    assert_eq!(
        at(131_071),
        StatusListPosition {
            list: 0,
            position: 131_071
        }
    );
    assert_eq!(
        at(131_072),
        StatusListPosition {
            list: 1,
            position: 0
        }
    );
    assert_eq!(
        at(MAX_STATUS_INDEX),
        StatusListPosition {
            list: MAX_LIST_NUMBER,
            position: 131_071
        }
    );
    assert_eq!(MAX_LIST_NUMBER, 16_383);
    assert_eq!(
        StatusListPosition::from_status_index(MAX_STATUS_INDEX + 1),
        Err(StatusListError::StatusIndex(MAX_STATUS_INDEX + 1))
    );
    assert!(check_list_number(16_383).is_ok());
    assert!(check_list_number(16_384).is_err());
    assert!(check_list_number(u64::MAX).is_err());
}

#[test]
fn a_credential_carries_one_entry_per_purpose() {
    let issuer = key().public_key();
    let entries = credential_status_entries(&format!("{BASE}/"), &issuer, 131_072 + 42).unwrap();
    let entries = entries.as_array().unwrap();
    assert_eq!(entries.len(), 2);
    let multibase = issuer.to_multibase();
    for (entry, purpose) in entries.iter().zip(["revocation", "suspension"]) {
        let list_url = format!("{BASE}/v1/status-lists/{multibase}/{purpose}/1");
        assert_eq!(entry["type"], "BitstringStatusListEntry");
        assert_eq!(entry["statusPurpose"], purpose);
        assert_eq!(
            entry["statusListIndex"], "42",
            "a string of a base-10 integer"
        );
        assert_eq!(entry["statusListCredential"], list_url.as_str());
        assert_eq!(entry["id"], format!("{list_url}#42").as_str());
        assert_ne!(entry["id"], entry["statusListCredential"]);
        assert_eq!(entry.as_object().unwrap().len(), 5);
    }
    assert_eq!(
        credential_status_entries(BASE, &issuer, MAX_STATUS_INDEX + 1),
        Err(StatusListError::StatusIndex(MAX_STATUS_INDEX + 1))
    );
}

#[test]
fn purposes_parse_and_print() {
    for purpose in StatusPurpose::ALL {
        assert_eq!(StatusPurpose::parse(purpose.as_str()), Ok(purpose));
        assert_eq!(purpose.to_string(), purpose.as_str());
    }
    for other in ["message", "Revocation", "refresh", ""] {
        assert!(matches!(
            StatusPurpose::parse(other),
            Err(StatusListError::Purpose(_))
        ));
    }
}

fn signed_list(bits: &StatusBitstring, purpose: StatusPurpose, list: u32) -> Value {
    let issuer = key().public_key();
    let content = StatusListContent {
        base_url: BASE,
        issuer: &issuer,
        purpose,
        list,
        bits,
    };
    sign_status_list_credential(&content, &key(), &now()).unwrap()
}

#[test]
fn the_list_credential_follows_the_specifications_rules() {
    let mut bits = StatusBitstring::new();
    bits.set(42, true).unwrap();
    let document = signed_list(&bits, StatusPurpose::Suspension, 3);
    let issuer = key().public_key();
    let url = format!(
        "{BASE}/v1/status-lists/{}/suspension/3",
        issuer.to_multibase()
    );
    assert_eq!(document["@context"], json!([VC_V2_CONTEXT]));
    assert_eq!(document["id"], url.as_str());
    assert_eq!(
        document["type"],
        json!(["VerifiableCredential", "BitstringStatusListCredential"])
    );
    assert_eq!(document["issuer"], issuer.to_did_key().as_str());
    assert_eq!(document["validFrom"], "2026-12-01T09:30:00Z");
    assert_eq!(document["validUntil"], "2026-12-02T09:30:00Z");
    let subject = &document["credentialSubject"];
    assert_eq!(subject["id"], format!("{url}#list").as_str());
    assert_eq!(subject["type"], "BitstringStatusList");
    assert_eq!(subject["statusPurpose"], "suspension");
    let decoded = StatusBitstring::decode(subject["encodedList"].as_str().unwrap()).unwrap();
    assert_eq!(decoded, bits);
    let proof = &document["proof"];
    assert_eq!(proof["type"], "DataIntegrityProof");
    assert_eq!(proof["cryptosuite"], "eddsa-jcs-2022");
    assert_eq!(proof["proofPurpose"], "assertionMethod");
    assert_eq!(proof["created"], "2026-12-01T09:30:00Z");
    assert_eq!(
        proof["verificationMethod"],
        issuer.verification_method().as_str()
    );

    let verified = verify_status_list_credential(&document).unwrap();
    assert_eq!(verified.url(), url);
    assert_eq!(verified.issuer(), &issuer);
    assert_eq!(verified.purpose(), StatusPurpose::Suspension);
    assert!(verified.bits().get(42).unwrap());
    assert!(!verified.bits().get(43).unwrap());
    assert_eq!(verified.valid_until(), Some("2026-12-02T09:30:00Z"));
    // Signing is deterministic: the same list at the same time is the same document.
    assert_eq!(signed_list(&bits, StatusPurpose::Suspension, 3), document);
}

#[test]
fn only_the_issuers_key_signs_its_list() {
    let issuer = key().public_key();
    let bits = StatusBitstring::new();
    let content = StatusListContent {
        base_url: BASE,
        issuer: &issuer,
        purpose: StatusPurpose::Revocation,
        list: 0,
        bits: &bits,
    };
    let other = SecretKey::from_seed(&[2; 32]);
    assert_eq!(
        sign_status_list_credential(&content, &other, &now()),
        Err(StatusListError::IssuerMismatch)
    );
    let beyond = StatusListContent {
        list: MAX_LIST_NUMBER + 1,
        ..content
    };
    assert!(matches!(
        sign_status_list_credential(&beyond, &key(), &now()),
        Err(StatusListError::ListNumber(_))
    ));
}

#[test]
fn a_tampered_list_does_not_verify() {
    let bits = StatusBitstring::new();
    let document = signed_list(&bits, StatusPurpose::Revocation, 0);
    // A flipped bit: still a valid list, but not the one signed.
    let mut flipped = bits.clone();
    flipped.set(5, true).unwrap();
    let mut tampered = document.clone();
    tampered["credentialSubject"]["encodedList"] = Value::from(flipped.encode());
    assert!(matches!(
        verify_status_list_credential(&tampered),
        Err(StatusListError::Proof(ProofError::BadSignature))
    ));
    // Another purpose.
    let mut tampered = document.clone();
    tampered["credentialSubject"]["statusPurpose"] = Value::from("suspension");
    assert!(matches!(
        verify_status_list_credential(&tampered),
        Err(StatusListError::Proof(ProofError::BadSignature))
    ));
    // Another issuer, the proof left as it was.
    let mut tampered = document.clone();
    tampered["issuer"] = Value::from(SecretKey::from_seed(&[2; 32]).public_key().to_did_key());
    assert!(verify_status_list_credential(&tampered).is_err());
    // Re-signed by another key that names itself in the proof but not as the issuer.
    let mut unsigned = document.clone();
    unsigned.as_object_mut().unwrap().remove("proof");
    let resigned = data_integrity::sign(
        &unsigned,
        &SecretKey::from_seed(&[2; 32]),
        &ProofOptions::default(),
    )
    .unwrap();
    assert_eq!(
        verify_status_list_credential(&resigned).unwrap_err(),
        StatusListError::IssuerMismatch
    );
    // No proof at all.
    assert!(matches!(
        verify_status_list_credential(&unsigned),
        Err(StatusListError::Proof(ProofError::MissingProof))
    ));
}

#[test]
fn documents_breaking_the_specifications_rules_are_refused() {
    let document = signed_list(&StatusBitstring::new(), StatusPurpose::Revocation, 0);
    type Breaking = Box<dyn Fn(&mut Value)>;
    let broken: Vec<(&str, Breaking)> = vec![
        (
            "@context",
            Box::new(|d| d["@context"] = json!(["https://www.w3.org/2018/credentials/v1"])),
        ),
        (
            "@context",
            Box::new(|d| d["@context"] = json!(VC_V2_CONTEXT)),
        ),
        (
            "type",
            Box::new(|d| d["type"] = json!(["VerifiableCredential"])),
        ),
        (
            "type",
            Box::new(|d| d["type"] = json!("BitstringStatusListCredential")),
        ),
        (
            "#list",
            Box::new(|d| d["credentialSubject"]["id"] = d["id"].clone()),
        ),
        (
            "BitstringStatusList",
            Box::new(|d| d["credentialSubject"]["type"] = json!("StatusList2021")),
        ),
        (
            "purpose",
            Box::new(|d| d["credentialSubject"]["statusPurpose"] = json!("message")),
        ),
        (
            "encodedList",
            Box::new(|d| d["credentialSubject"]["encodedList"] = json!(multibase(&gzip(&[0; 16])))),
        ),
        (
            "encodedList",
            Box::new(|d| {
                d["credentialSubject"]
                    .as_object_mut()
                    .unwrap()
                    .remove("encodedList")
                    .map(drop)
                    .unwrap_or(())
            }),
        ),
        (
            "issuer",
            Box::new(|d| d["issuer"] = json!("https://office.example")),
        ),
        (
            "issuer",
            Box::new(|d| {
                d.as_object_mut()
                    .unwrap()
                    .remove("issuer")
                    .map(drop)
                    .unwrap_or(())
            }),
        ),
        (
            "id",
            Box::new(|d| {
                d.as_object_mut()
                    .unwrap()
                    .remove("id")
                    .map(drop)
                    .unwrap_or(())
            }),
        ),
        (
            "credentialSubject",
            Box::new(|d| d["credentialSubject"] = json!([])),
        ),
    ];
    for (what, breaking) in broken {
        let mut copy = document.clone();
        breaking(&mut copy);
        let error = verify_status_list_credential(&copy)
            .unwrap_err()
            .to_string();
        assert!(error.contains(what), "{what}: {error}");
    }
    assert!(verify_status_list_credential(&json!([])).is_err());
    // An issuer given as an object with an `id` is the same issuer.
    let mut object_issuer = document.clone();
    object_issuer["issuer"] = json!({"id": document["issuer"].clone()});
    assert!(matches!(
        verify_status_list_credential(&object_issuer),
        Err(StatusListError::Proof(ProofError::BadSignature))
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn set_bits_round_trip_through_the_encoding(
        positions in prop::collection::btree_set(0u32..131_072, 0..300),
    ) {
        let mut list = StatusBitstring::new();
        for position in &positions {
            list.set(*position, true).unwrap();
        }
        prop_assert_eq!(list.count_set(), positions.len());
        let decoded = StatusBitstring::decode(&list.encode()).unwrap();
        prop_assert_eq!(&decoded, &list);
        for position in &positions {
            prop_assert!(decoded.get(*position).unwrap());
            let byte = decoded.as_bytes()[*position as usize / 8];
            prop_assert!(byte & (0x80 >> (position % 8)) != 0);
        }
    }

    #[test]
    fn random_lists_round_trip(seed in any::<u64>()) {
        let list = random_list(seed);
        prop_assert_eq!(StatusBitstring::decode(&list.encode()).unwrap(), list);
    }

    #[test]
    fn setting_one_bit_changes_exactly_that_bit(seed in any::<u64>(), position in 0u32..131_072) {
        let list = random_list(seed);
        let mut changed = list.clone();
        let before = list.get(position).unwrap();
        changed.set(position, !before).unwrap();
        prop_assert_eq!(changed.get(position).unwrap(), !before);
        let differing: Vec<usize> = list
            .as_bytes()
            .iter()
            .zip(changed.as_bytes())
            .enumerate()
            .filter(|(_, (a, b))| a != b)
            .map(|(index, _)| index)
            .collect();
        prop_assert_eq!(differing, vec![position as usize / 8]);
    }

    #[test]
    fn status_indexes_round_trip(index in 0u64..=MAX_STATUS_INDEX) {
        let at = StatusListPosition::from_status_index(index).unwrap();
        prop_assert!(at.list <= MAX_LIST_NUMBER);
        prop_assert!((at.position as usize) < STATUS_LIST_BITS);
        prop_assert_eq!(at.status_index(), index);
    }

    #[test]
    fn decoding_arbitrary_text_never_panics(text in "u[A-Za-z0-9_=+/-]{0,400}") {
        let _ = StatusBitstring::decode(&text);
    }

    #[test]
    fn decoding_arbitrary_gzip_input_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        let mut stream = vec![0x1f, 0x8b, 0x08, 0x00];
        stream.extend(bytes);
        let _ = StatusBitstring::decode(&multibase(&stream));
    }
}

#[test]
fn the_status_index_bound_is_the_credential_bodys() {
    assert_eq!(u64::from(crate::body::MAX_STATUS_INDEX), MAX_STATUS_INDEX);
}

/// The worked example of protocol.md §7.5: the office of seed `01` × 32 logs the example
/// credential (`examples::credential_log()`, `status_index` 0).
#[test]
fn the_worked_example_of_the_protocol() {
    assert_eq!(
        key().public_key(),
        SecretKey::from_seed(&crate::body::examples::OFFICE_SEED).public_key()
    );
    assert_eq!(
        crate::body::examples::credential_log()["status_index"],
        json!(0)
    );
    let issuer = key().public_key();
    assert_eq!(
        issuer.to_multibase(),
        "z6Mkon3Necd6NkkyfoGoHxid2znGc59LU3K7mubaRcFbLfLX"
    );
    assert_eq!(
        StatusBitstring::new().encode(),
        "uH4sIAAAAAAAA_-3AMQEAAADCoPVPbQwfKAAAAAAAAAAAAAAAAAAAAOBthtJUqwBAAAA"
    );
    let mut bits = StatusBitstring::new();
    bits.set(0, true).unwrap();
    assert_eq!(
        bits.encode(),
        "uH4sIAAAAAAAA_-3AMQEAAAABMNFFF8OzNQAAAAAAAAAAAAAAAAAAAMDbAORZQ2cAQAAA"
    );
    let list = "https://rights.office.example/v1/status-lists/z6Mkon3Necd6NkkyfoGoHxid2znGc59LU3K7mubaRcFbLfLX";
    assert_eq!(
        credential_status_entries("https://rights.office.example", &issuer, 0).unwrap(),
        json!([
            {
                "id": format!("{list}/revocation/0#0"),
                "type": "BitstringStatusListEntry",
                "statusPurpose": "revocation",
                "statusListIndex": "0",
                "statusListCredential": format!("{list}/revocation/0"),
            },
            {
                "id": format!("{list}/suspension/0#0"),
                "type": "BitstringStatusListEntry",
                "statusPurpose": "suspension",
                "statusListIndex": "0",
                "statusListCredential": format!("{list}/suspension/0"),
            },
        ])
    );
}
