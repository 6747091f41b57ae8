//! Adversarial notices against a real marketplace (issue 10): every way a careful attacker would
//! try to get a takedown notice accepted without holding the right, and every document that is
//! not what the verdict relies on. The suite asserts **zero false accepts**: each case is sent to
//! both `POST /v1/verify` and `POST /v1/notices`, both must refuse it, and the verdict must fail
//! exactly the named check (or the request must be refused with the named error code before any
//! verdict, for notices that are not notices at all).
//!
//! One network serves every case: an FR office, a CN office and a marketplace enforcing FR and
//! WO rights, in one process. Cases:
//!
//! - **who signs:** a notice signed by another key than its `holder`, a notice by an impostor
//!   presenting the holder's credential, a signature taken from another notice, a placeholder
//!   signature, a stripped signature;
//! - **what the credential says:** a credential for another right, expired, not yet valid, from
//!   an untrusted key, from an office trusted for another jurisdiction, from a rotated-away
//!   office key, any field tampered with after signing (classes, subject, validity);
//! - **how the credential is secured:** cryptosuite, proof type and verificationMethod swapped,
//!   a wrong proofPurpose, a proof created in the future, a proof that expired or has a
//!   malformed `expires`, a proof set, no proof, an issuer that is not the signing key;
//! - **what the credential is:** documents that are not VC 2.0 credentials (no
//!   `VerifiableCredential` type, no `@context`, another first context), validity dates that
//!   are numbers, `null` or arrays, a credential that is a string, a credential over 16 KiB in
//!   canonical form;
//! - **when:** a replayed nonce, a stale notice, a notice from the future;
//! - **the registry and policy:** a notice for a cancelled, expired, reassigned or unknown
//!   right, a listing class the right does not cover, a listing without a class, a right
//!   outside the marketplace's territory, a notice addressed to another marketplace;
//! - **the bytes:** duplicate JSON keys, a lone surrogate, an unknown member, a body version 2,
//!   a fractional class, a notice under every notice limit whose entry would exceed 64 KiB.
//!
//! The accepted notices (the plain one, integer spellings `1.0`, `25.0`, `2.5e1`, an explicit
//! `"url": null` and `"evidence": []`, a credential of exactly 16 384 canonical bytes) are then
//! read back from the marketplace's feed and `/v1/entries/{id}`, and the holder's signature is
//! checked over the notice as stored there.

use std::time::Duration;

use proto_types::body::RightId;
use proto_types::claims::{self, RightClaims};
use proto_types::data_integrity;
use proto_types::entry::EntryId;
use proto_types::keys::{KeyFile, SecretKey};
use proto_types::timestamp::Timestamp;
use serde_json::{Map, Value, json};

use crate::federation::{Federation, Role, wait_converged};
use crate::harness::Client;

const FR_OFFICE: usize = 0;
const CN_OFFICE: usize = 1;
const MARKET: usize = 2;

fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn at(offset_millis: i64) -> Timestamp {
    Timestamp::from_unix_millis(now_millis() + offset_millis).unwrap()
}

const DAY: i64 = 86_400_000;

fn fresh_nonce() -> String {
    hex::encode(SecretKey::generate().public_key().to_bytes())
}

fn register(client: &Client, right_id: &str, holder: &SecretKey, classes: &[u8]) -> String {
    let right = RightId::parse(right_id).unwrap();
    let body = json!({
        "right_type": "trademark",
        "jurisdiction": right.jurisdiction().as_str(),
        "number": right.number(),
        "mark_text": format!("Mark {right_id}"),
        "nice_classes": classes,
        "holder": {"name": "Holder SA", "country": "FR", "key": holder.public_key().to_did_key()},
        "filing_date": "2020-01-15",
        "registration_date": "2020-06-01",
        "expiry_date": "2035-01-15",
        "status": "registered",
    });
    let reply = client.post("/v1/registrations", &body);
    assert_eq!(reply.status, 201, "{}", reply.body);
    reply.body["id"].as_str().unwrap().to_owned()
}

/// An `IPRightCredential` document for `right_id`, not yet signed.
fn document(
    issuer: &SecretKey,
    subject: &SecretKey,
    right_id: &str,
    classes: &[u8],
    valid_from: &Timestamp,
    valid_until: Option<&Timestamp>,
) -> Value {
    claims::credential_document(
        &format!("urn:uuid:{}", fresh_nonce()),
        &issuer.public_key(),
        &subject.public_key(),
        &RightClaims {
            right_id: RightId::parse(right_id).unwrap(),
            right_type: "trademark".to_owned(),
            mark: Some(format!("Mark {right_id}")),
            nice_classes: classes.to_vec(),
            holder_name: "Holder SA".to_owned(),
            expiry_date: Some("2035-01-15".to_owned()),
            registration_entry: EntryId([7; 32]),
        },
        valid_from,
        valid_until,
    )
}

/// Signs `document` with an `eddsa-jcs-2022` proof whose options are the defaults with
/// `changes` applied (members set, or removed when `Null`): a genuine signature over whatever
/// proof options an attacker (or a careless issuer) chose.
fn sign_with(document: &Value, key: &SecretKey, changes: &[(&str, Value)]) -> Value {
    let mut proof = Map::new();
    proof.insert("type".into(), json!("DataIntegrityProof"));
    proof.insert("cryptosuite".into(), json!("eddsa-jcs-2022"));
    proof.insert("created".into(), json!(at(-60_000).as_str()));
    proof.insert(
        "verificationMethod".into(),
        json!(key.public_key().verification_method()),
    );
    proof.insert("proofPurpose".into(), json!("assertionMethod"));
    if let Some(context) = document.get("@context") {
        proof.insert("@context".into(), context.clone());
    }
    for (name, value) in changes {
        if value.is_null() {
            proof.remove(*name);
        } else {
            proof.insert((*name).to_owned(), value.clone());
        }
    }
    let message = data_integrity::hash_data(&Value::Object(proof.clone()), document).unwrap();
    proof.insert(
        "proofValue".into(),
        json!(key.sign(&message).to_multibase()),
    );
    let mut secured = document.clone();
    secured["proof"] = Value::Object(proof);
    secured
}

/// Restarts marketplace `index` with a policy that accepts unlogged credentials created before
/// 2100 (protocol §13.4). The cases here sign credentials by hand, out of band, to reach each
/// check; such credentials are in no credential log, and with the default policy every one of
/// them would fail `credential_logged` first. The credential log's own checks (logged, status,
/// a tampered or unlogged credential under either policy) are in `credential_log.rs`.
fn accept_unlogged(federation: &mut Federation, index: usize) {
    federation.stop(index);
    let mut config = federation.config(index);
    let policy = config.marketplace.as_mut().expect("a marketplace");
    policy.unlogged_credentials = rightsnet_node::config::UnloggedCredentials::AcceptBefore;
    policy.unlogged_cutoff = Some(Timestamp::parse("2100-01-01T00:00:00Z").unwrap());
    let node = federation
        .runtime
        .block_on(rightsnet_node::start(config))
        .unwrap();
    federation.apis[index] = format!("http://{}", node.api_addr);
    federation.peer_ids[index] = node.peer_id.clone();
    federation.nodes[index] = Some(node);
}

/// What a notice is built from; `notice()` signs it.
#[derive(Clone)]
struct Spec {
    marketplace: String,
    right_id: String,
    holder: String,
    credential: Value,
    listings: Value,
    created: Timestamp,
    nonce: String,
}

fn unsigned(spec: &Spec) -> Value {
    json!({
        "v": 1,
        "marketplace": spec.marketplace,
        "right_id": spec.right_id,
        "holder": spec.holder,
        "listings": spec.listings,
        "reason": "counterfeit",
        "evidence": [{
            "kind": "test_purchase",
            "digest": format!("sha256:{}", "ab".repeat(32)),
            "result": "counterfeit: wrong hologram",
        }],
        "good_faith_statement": "I believe in good faith that the listed goods infringe the right.",
        "nonce": spec.nonce,
        "created": spec.created.as_str(),
        "credential": spec.credential,
    })
}

/// Signs a notice without decoding it first (for notices the decoder refuses).
fn sign_raw(unsigned: &Value, signer: &SecretKey) -> Value {
    let message = claims::notice_signing_message(unsigned).unwrap();
    let mut signed = unsigned.clone();
    signed["signature"] = json!(signer.sign(&message).to_multibase());
    signed
}

fn notice(signer: &SecretKey, spec: &Spec) -> Value {
    claims::sign_notice(&unsigned(spec), signer).unwrap()
}

/// The codes of the failed reasons of a verdict, sorted.
fn failed(verdict: &Value) -> Vec<String> {
    let mut codes: Vec<String> = verdict["reasons"]
        .as_array()
        .unwrap_or_else(|| panic!("no reasons in {verdict}"))
        .iter()
        .filter(|reason| reason["ok"] == false)
        .map(|reason| reason["code"].as_str().unwrap().to_owned())
        .collect();
    codes.sort();
    codes
}

struct Market {
    client: Client,
    accepted: Vec<String>,
    cases: usize,
}

impl Market {
    /// Sends `bytes` to the dry run and the submission; both must refuse it, failing exactly
    /// `expected` (sorted here). Returns the submission's verdict.
    fn rejects(&mut self, case: &str, bytes: Vec<u8>, expected: &[&str]) -> Value {
        self.cases += 1;
        let mut expected: Vec<String> = expected.iter().map(|code| (*code).to_owned()).collect();
        expected.sort();
        let dry = self.client.post_raw("/v1/verify", bytes.clone(), None);
        assert_eq!(dry.status, 200, "{case}: {}", dry.body);
        assert_eq!(
            dry.body["verdict"]["accepted"], false,
            "{case}: FALSE ACCEPT by /v1/verify: {}",
            dry.body
        );
        assert_eq!(
            failed(&dry.body["verdict"]),
            expected,
            "{case}: {}",
            dry.body
        );
        let submitted = self.client.post_raw("/v1/notices", bytes, None);
        assert_eq!(
            submitted.status, 422,
            "{case}: FALSE ACCEPT by /v1/notices: {}",
            submitted.body
        );
        assert_eq!(submitted.body["code"], "notice_rejected", "{case}");
        assert_eq!(failed(&submitted.body["verdict"]), expected, "{case}");
        submitted.body["verdict"].clone()
    }

    fn rejects_notice(&mut self, case: &str, notice: &Value, expected: &[&str]) -> Value {
        self.rejects(case, serde_json::to_vec(notice).unwrap(), expected)
    }

    /// Both endpoints refuse `bytes` before any verdict, with `status` and `code`.
    fn refuses(&mut self, case: &str, bytes: Vec<u8>, status: u16, code: &str) {
        self.cases += 1;
        for path in ["/v1/verify", "/v1/notices"] {
            let reply = self.client.post_raw(path, bytes.clone(), None);
            assert_eq!(reply.status, status, "{case} at {path}: {}", reply.body);
            assert_eq!(reply.body["code"], code, "{case} at {path}: {}", reply.body);
            assert!(reply.body.get("notice_id").is_none(), "{case}");
        }
    }

    /// Both endpoints accept `bytes` (the dry run first); the notice is recorded.
    fn accepts(&mut self, case: &str, bytes: Vec<u8>) -> String {
        let dry = self.client.post_raw("/v1/verify", bytes.clone(), None);
        assert_eq!(dry.status, 200, "{case}: {}", dry.body);
        assert_eq!(
            dry.body["verdict"]["accepted"], true,
            "{case}: {}",
            dry.body
        );
        let submitted = self.client.post_raw("/v1/notices", bytes, None);
        assert_eq!(submitted.status, 201, "{case}: {}", submitted.body);
        let id = submitted.body["notice_id"].as_str().unwrap().to_owned();
        self.accepted.push(id.clone());
        id
    }
}

fn bytes(value: &Value) -> Vec<u8> {
    serde_json::to_vec(value).unwrap()
}

#[test]
fn adversarial_notices_are_never_accepted() {
    let mut federation = Federation::with_roles(&[
        Role::Office("FR"),
        Role::Office("CN"),
        Role::Marketplace(&["FR", "WO"]),
    ]);
    accept_unlogged(&mut federation, MARKET);
    let clients: Vec<Client> = (0..3).map(|i| federation.client(i)).collect();
    let key_of = |index: usize| {
        KeyFile::parse(&std::fs::read(federation.node_dir(index).join("authority.json")).unwrap())
            .unwrap()
    };
    let fr_office = key_of(FR_OFFICE);
    let cn_office = key_of(CN_OFFICE);
    let market_did = clients[MARKET].get("/v1/status").body["authority"]
        .as_str()
        .unwrap()
        .to_owned();
    let holder = SecretKey::generate();
    let other_holder = SecretKey::generate();
    let impostor = SecretKey::generate();

    register(&clients[FR_OFFICE], "FR-TM-100", &holder, &[25, 30]);
    register(&clients[FR_OFFICE], "FR-TM-101", &holder, &[25]);
    register(&clients[FR_OFFICE], "FR-TM-102", &holder, &[25]);
    register(&clients[FR_OFFICE], "FR-TM-103", &holder, &[25]);
    register(&clients[FR_OFFICE], "FR-TM-105", &holder, &[25]);
    register(&clients[CN_OFFICE], "CN-TM-200", &holder, &[25]);
    let issue = |right_id: &str| {
        let reply = clients[FR_OFFICE].post(
            "/v1/credentials",
            &json!({"right_id": right_id, "holder": holder.public_key().to_did_key()}),
        );
        assert_eq!(reply.status, 201, "{}", reply.body);
        reply.body
    };
    let credential = issue("FR-TM-100");
    let credential_101 = issue("FR-TM-101");
    let credential_102 = issue("FR-TM-102");
    let credential_103 = issue("FR-TM-103");
    let credential_105 = issue("FR-TM-105");
    let credential_cn = {
        let reply = clients[CN_OFFICE].post(
            "/v1/credentials",
            &json!({"right_id": "CN-TM-200", "holder": holder.public_key().to_did_key()}),
        );
        assert_eq!(reply.status, 201, "{}", reply.body);
        reply.body
    };
    // The registry changes the registry-dependent cases rely on.
    let assigned = clients[FR_OFFICE].post(
        "/v1/rights/FR-TM-101/status",
        &json!({"change": "assigned", "effective_date": "2026-01-01", "new_holder": {"name": "Other SA", "country": "FR", "key": other_holder.public_key().to_did_key()}}),
    );
    assert_eq!(assigned.status, 201, "{}", assigned.body);
    let cancelled = clients[FR_OFFICE].post(
        "/v1/rights/FR-TM-102/status",
        &json!({"change": "cancelled", "effective_date": "2026-01-01", "reason": "invalidated"}),
    );
    assert_eq!(cancelled.status, 201, "{}", cancelled.body);
    let expired = clients[FR_OFFICE].post(
        "/v1/rights/FR-TM-103/status",
        &json!({"change": "expired", "effective_date": "2026-01-01"}),
    );
    assert_eq!(expired.status, 201, "{}", expired.body);
    // Nine register entries and the six credentials' log entries.
    assert!(wait_converged(&clients, 15, Duration::from_secs(60)));

    let base = Spec {
        marketplace: market_did.clone(),
        right_id: "FR-TM-100".to_owned(),
        holder: holder.public_key().to_did_key(),
        credential: credential.clone(),
        listings: json!([{"id": "listing-1", "class": 25, "url": "https://shop.example/item/1"}]),
        created: at(0),
        nonce: fresh_nonce(),
    };
    // A new spec from the base with a fresh nonce.
    let with = |edit: &dyn Fn(&mut Spec)| {
        let mut spec = base.clone();
        spec.nonce = fresh_nonce();
        edit(&mut spec);
        spec
    };
    let with_credential = |credential: Value| with(&|spec| spec.credential = credential.clone());
    let mut market = Market {
        client: federation.client(MARKET),
        accepted: Vec::new(),
        cases: 0,
    };

    // The plain notice is accepted, and names every check.
    let plain = notice(&holder, &base);
    market.accepts("plain notice", bytes(&plain));
    let verdict = market
        .client
        .post_raw("/v1/verify", bytes(&notice(&holder, &with(&|_| {}))), None)
        .body["verdict"]
        .clone();
    let codes: Vec<&str> = verdict["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|reason| reason["code"].as_str().unwrap())
        .collect();
    for code in [
        "marketplace",
        "notice_signature",
        "credential_shape",
        "credential_proof",
        "holder_key",
        "credential_right",
        "credential_validity",
        "proof_dates",
        "issuer_trusted",
        "issuer_key_rotated",
        "notice_age",
        "territory",
        "registry",
        "listing_class",
        "classes",
        "nonce",
    ] {
        assert!(codes.contains(&code), "missing reason {code}: {codes:?}");
    }

    let reasons_of = |verdict: &Value, code: &str| {
        verdict["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .find(|reason| reason["code"] == code)
            .unwrap()
            .clone()
    };

    // --- who signs ---
    let mut spec = with(&|_| {});
    spec.holder = impostor.public_key().to_did_key();
    market.rejects_notice(
        "an impostor presents the holder's credential",
        &notice(&impostor, &spec),
        &["holder_key", "registry"],
    );
    market.rejects_notice(
        "signed by another key than the holder it names",
        &notice(&impostor, &with(&|_| {})),
        &["notice_signature"],
    );
    let mut spec = with(&|_| {});
    spec.holder = other_holder.public_key().to_did_key();
    market.rejects_notice(
        "names another holder, signed by the holder",
        &notice(&holder, &spec),
        &["notice_signature", "holder_key", "registry"],
    );
    let mut borrowed = notice(&holder, &with(&|_| {}));
    borrowed["signature"] = plain["signature"].clone();
    market.rejects_notice(
        "the signature of another notice",
        &borrowed,
        &["notice_signature"],
    );
    let mut placeholder = notice(&holder, &with(&|_| {}));
    placeholder["signature"] = json!(proto_types::keys::multibase_btc(&[0x5a; 64]));
    market.rejects_notice(
        "a placeholder signature",
        &placeholder,
        &["notice_signature"],
    );
    let mut stripped = notice(&holder, &with(&|_| {}));
    stripped.as_object_mut().unwrap().remove("signature");
    market.refuses(
        "signature stripped",
        bytes(&stripped),
        422,
        "invalid_notice",
    );
    let mut changed_after = notice(&holder, &with(&|_| {}));
    changed_after["listings"][0]["id"] = json!("listing-2");
    market.rejects_notice(
        "a listing changed after signing",
        &changed_after,
        &["notice_signature"],
    );

    // --- what the credential says ---
    market.rejects_notice(
        "a credential for another right of the holder",
        &notice(&holder, &with_credential(credential_105.clone())),
        &["credential_right"],
    );
    let expired_credential = claims::sign_credential(
        &document(
            &fr_office,
            &holder,
            "FR-TM-100",
            &[25, 30],
            &at(-30 * DAY),
            Some(&at(-DAY)),
        ),
        &fr_office,
        &at(-30 * DAY),
    )
    .unwrap();
    market.rejects_notice(
        "an expired credential",
        &notice(&holder, &with_credential(expired_credential)),
        &["credential_validity"],
    );
    let future_credential = claims::sign_credential(
        &document(&fr_office, &holder, "FR-TM-100", &[25, 30], &at(DAY), None),
        &fr_office,
        &at(-60_000),
    )
    .unwrap();
    market.rejects_notice(
        "a credential not valid yet",
        &notice(&holder, &with_credential(future_credential)),
        &["credential_validity"],
    );
    let rogue = SecretKey::generate();
    let rogue_credential = claims::sign_credential(
        &document(&rogue, &holder, "FR-TM-100", &[25, 30], &at(-DAY), None),
        &rogue,
        &at(-60_000),
    )
    .unwrap();
    market.rejects_notice(
        "an issuer nobody trusts",
        &notice(&holder, &with_credential(rogue_credential)),
        &["issuer_trusted"],
    );
    let cn_credential_for_fr = claims::sign_credential(
        &document(&cn_office, &holder, "FR-TM-100", &[25, 30], &at(-DAY), None),
        &cn_office,
        &at(-60_000),
    )
    .unwrap();
    market.rejects_notice(
        "an office trusted for another jurisdiction",
        &notice(&holder, &with_credential(cn_credential_for_fr)),
        &["issuer_trusted"],
    );
    for (field, value) in [
        ("/credentialSubject/right/niceClasses", json!([9, 25, 30])),
        ("/credentialSubject/right/holderName", json!("Someone Else")),
        ("/validUntil", json!("2099-01-01T00:00:00Z")),
        ("/issuer", json!(cn_office.public_key().to_did_key())),
    ] {
        let mut tampered = credential.clone();
        *tampered.pointer_mut(field).unwrap() = value;
        market.rejects_notice(
            &format!("credential {field} changed after signing"),
            &notice(&holder, &with_credential(tampered)),
            &["credential_proof"],
        );
    }
    let mut to_impostor = credential.clone();
    to_impostor["credentialSubject"]["id"] = json!(impostor.public_key().to_did_key());
    let mut spec = with_credential(to_impostor);
    spec.holder = impostor.public_key().to_did_key();
    market.rejects_notice(
        "credential subject changed to the impostor",
        &notice(&impostor, &spec),
        &["credential_proof", "registry"],
    );

    // --- how the credential is secured ---
    // The office's credential without its proof, under an id of its own: re-signed out of
    // band it is an unlogged credential (accepted here by policy), not a copy of the logged one
    // with another digest, which `credential_logged` refuses (see the case below).
    let unsigned_credential = {
        let mut document = credential.clone();
        document.as_object_mut().unwrap().remove("proof");
        document["id"] = json!(format!("urn:uuid:{}", fresh_nonce()));
        document
    };
    let mut relogged = credential.clone();
    relogged.as_object_mut().unwrap().remove("proof");
    relogged["credentialSubject"]["right"]["niceClasses"] = json!([9, 25, 30]);
    let relogged = claims::sign_credential(&relogged, &fr_office, &at(-60_000)).unwrap();
    let verdict = market.rejects_notice(
        "the logged credential changed and re-signed with the office key, out of band",
        &notice(&holder, &with_credential(relogged)),
        &["credential_logged"],
    );
    assert!(
        reasons_of(&verdict, "credential_logged")["message"]
            .as_str()
            .unwrap()
            .contains("digest differs"),
        "{verdict}"
    );
    for (case, change) in [
        (
            "cryptosuite swapped",
            ("cryptosuite", json!("eddsa-rdfc-2022")),
        ),
        (
            "proof type swapped",
            ("type", json!("Ed25519Signature2020")),
        ),
        (
            "proof purpose authentication",
            ("proofPurpose", json!("authentication")),
        ),
        ("proof purpose missing", ("proofPurpose", Value::Null)),
        (
            "verification method of another key",
            (
                "verificationMethod",
                json!(cn_office.public_key().verification_method()),
            ),
        ),
        (
            "verification method by URL",
            ("verificationMethod", json!("https://office.example/key#1")),
        ),
        ("malformed expires", ("expires", json!("soon"))),
        ("numeric expires", ("expires", json!(1_700_000_000))),
    ] {
        market.rejects_notice(
            case,
            &notice(
                &holder,
                &with_credential(sign_with(&unsigned_credential, &fr_office, &[change])),
            ),
            &["credential_proof"],
        );
    }
    let mut swapped_value = credential.clone();
    swapped_value["proof"]["cryptosuite"] = json!("eddsa-rdfc-2022");
    market.rejects_notice(
        "cryptosuite swapped on a signed proof",
        &notice(&holder, &with_credential(swapped_value)),
        &["credential_proof"],
    );
    let mut swapped_method = credential.clone();
    swapped_method["proof"]["verificationMethod"] = json!(rogue.public_key().verification_method());
    market.rejects_notice(
        "verification method swapped on a signed proof",
        &notice(&holder, &with_credential(swapped_method)),
        &["credential_proof"],
    );
    let mut proof_set = credential.clone();
    proof_set["proof"] = json!([credential["proof"].clone()]);
    market.rejects_notice(
        "a proof set",
        &notice(&holder, &with_credential(proof_set)),
        &["credential_proof"],
    );
    market.rejects_notice(
        "no proof",
        &notice(&holder, &with_credential(unsigned_credential.clone())),
        &["credential_proof"],
    );
    market.rejects_notice(
        "signed by the rogue key with the office as issuer",
        &notice(
            &holder,
            &with_credential(sign_with(&unsigned_credential, &rogue, &[])),
        ),
        &["credential_proof"],
    );
    market.rejects_notice(
        "a proof created in the future",
        &notice(
            &holder,
            &with_credential(sign_with(
                &unsigned_credential,
                &fr_office,
                &[("created", json!(at(DAY).as_str()))],
            )),
        ),
        &["proof_dates"],
    );
    let verdict = market.rejects_notice(
        "a proof that expired",
        &notice(
            &holder,
            &with_credential(sign_with(
                &unsigned_credential,
                &fr_office,
                &[("expires", json!(at(-60_000).as_str()))],
            )),
        ),
        &["proof_dates"],
    );
    assert!(verdict.to_string().contains("expired"), "{verdict}");
    // A proof that expires tomorrow is fine.
    market.accepts(
        "a proof that expires tomorrow",
        bytes(&notice(
            &holder,
            &with_credential(sign_with(
                &unsigned_credential,
                &fr_office,
                &[("expires", json!(at(DAY).as_str()))],
            )),
        )),
    );

    // --- what the credential is ---
    let reshaped = |edit: &dyn Fn(&mut Value)| {
        let mut document = unsigned_credential.clone();
        edit(&mut document);
        // Genuinely signed by the office: only the shape is wrong.
        claims::sign_credential(&document, &fr_office, &at(-60_000)).unwrap()
    };
    for (case, field, credential) in [
        (
            "type without VerifiableCredential",
            "type",
            reshaped(&|d| d["type"] = json!(["IPRightCredential"])),
        ),
        (
            "type a string",
            "type",
            reshaped(&|d| d["type"] = json!("IPRightCredential")),
        ),
        (
            "no @context",
            "@context",
            reshaped(&|d| {
                d.as_object_mut().unwrap().remove("@context");
            }),
        ),
        (
            "VC 1.1 context first",
            "@context",
            reshaped(&|d| {
                d["@context"] = json!([
                    "https://www.w3.org/2018/credentials/v1",
                    "https://www.w3.org/ns/credentials/v2"
                ]);
            }),
        ),
        (
            "validUntil a number",
            "validUntil",
            reshaped(&|d| d["validUntil"] = json!(1_000_000_000)),
        ),
        (
            "validUntil null",
            "validUntil",
            reshaped(&|d| d["validUntil"] = Value::Null),
        ),
        (
            "validUntil an array",
            "validUntil",
            reshaped(&|d| d["validUntil"] = json!(["2000-01-01T00:00:00Z"])),
        ),
        (
            "validUntil a date",
            "validUntil",
            reshaped(&|d| d["validUntil"] = json!("2000-01-01")),
        ),
        (
            "validFrom a number",
            "validFrom",
            reshaped(&|d| d["validFrom"] = json!(4_102_444_800u64)),
        ),
        (
            "several subjects",
            "credentialSubject",
            reshaped(&|d| {
                d["credentialSubject"] = json!([d["credentialSubject"].clone()]);
            }),
        ),
    ] {
        let verdict = market.rejects_notice(
            case,
            &notice(&holder, &with_credential(credential)),
            &["credential_shape"],
        );
        let message = reasons_of(&verdict, "credential_shape")["message"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(
            message.starts_with(&format!("credential {field}:")),
            "{case}: {message}"
        );
    }
    let mut string_credential = unsigned(&with(&|_| {}));
    string_credential["credential"] = json!("eyJhbGciOiJFZERTQSJ9.e30.sig");
    market.refuses(
        "a credential that is a string",
        bytes(&sign_raw(&string_credential, &holder)),
        422,
        "invalid_notice",
    );

    // --- when ---
    market.rejects("a replayed nonce", bytes(&plain), &["nonce"]);
    market.rejects_notice(
        "a stale notice",
        &notice(&holder, &with(&|spec| spec.created = at(-4 * DAY))),
        &["notice_age"],
    );
    market.rejects_notice(
        "a notice from the future",
        &notice(&holder, &with(&|spec| spec.created = at(DAY / 24))),
        &["notice_age"],
    );

    // --- the registry and the policy ---
    let verdict = market.rejects_notice(
        "a reassigned right",
        &notice(
            &holder,
            &with(&|spec| {
                spec.right_id = "FR-TM-101".into();
                spec.credential = credential_101.clone();
            }),
        ),
        &["registry"],
    );
    assert_eq!(
        reasons_of(&verdict, "registry")["entry_id"],
        assigned.body["id"]
    );
    let verdict = market.rejects_notice(
        "a cancelled right",
        &notice(
            &holder,
            &with(&|spec| {
                spec.right_id = "FR-TM-102".into();
                spec.credential = credential_102.clone();
            }),
        ),
        &["registry"],
    );
    assert_eq!(
        reasons_of(&verdict, "registry")["entry_id"],
        cancelled.body["id"]
    );
    let verdict = market.rejects_notice(
        "an expired right",
        &notice(
            &holder,
            &with(&|spec| {
                spec.right_id = "FR-TM-103".into();
                spec.credential = credential_103.clone();
            }),
        ),
        &["registry"],
    );
    assert_eq!(
        reasons_of(&verdict, "registry")["entry_id"],
        expired.body["id"]
    );
    let unknown_credential = claims::sign_credential(
        &document(&fr_office, &holder, "FR-TM-999", &[25], &at(-DAY), None),
        &fr_office,
        &at(-60_000),
    )
    .unwrap();
    market.rejects_notice(
        "a right the registry does not know",
        &notice(
            &holder,
            &with(&|spec| {
                spec.right_id = "FR-TM-999".into();
                spec.credential = unknown_credential.clone();
            }),
        ),
        &["registry"],
    );
    market.rejects_notice(
        "a class the right does not cover",
        &notice(
            &holder,
            &with(&|spec| spec.listings = json!([{"id": "listing-9", "class": 9}])),
        ),
        &["classes"],
    );
    market.rejects_notice(
        "a listing without a class",
        &notice(
            &holder,
            &with(&|spec| {
                spec.listings = json!([{"id": "listing-a", "class": 25}, {"id": "listing-b"}]);
            }),
        ),
        &["listing_class"],
    );
    market.rejects_notice(
        "a right outside the territory",
        &notice(
            &holder,
            &with(&|spec| {
                spec.right_id = "CN-TM-200".into();
                spec.credential = credential_cn.clone();
            }),
        ),
        &["territory"],
    );
    market.rejects_notice(
        "addressed to another marketplace",
        &notice(
            &holder,
            &with(&|spec| spec.marketplace = rogue.public_key().to_did_key()),
        ),
        &["marketplace"],
    );

    // --- the bytes ---
    let text = String::from_utf8(bytes(&notice(&holder, &with(&|_| {})))).unwrap();
    let duplicate = text.replacen(
        "\"nonce\":",
        &format!("\"nonce\":\"{}\",\"nonce\":", fresh_nonce()),
        1,
    );
    market.refuses(
        "duplicate keys",
        duplicate.into_bytes(),
        400,
        "malformed_json",
    );
    let surrogate = text.replacen("\"reason\":\"counterfeit\"", "\"reason\":\"\\ud800\"", 1);
    market.refuses(
        "a lone surrogate",
        surrogate.into_bytes(),
        400,
        "malformed_json",
    );
    market.refuses("an array", b"[]".to_vec(), 400, "malformed_json");
    let mut unknown = notice(&holder, &with(&|_| {}));
    unknown["priority"] = json!("urgent");
    market.refuses("an unknown member", bytes(&unknown), 422, "invalid_notice");
    let mut version = unsigned(&with(&|_| {}));
    version["v"] = json!(2);
    market.refuses("body version 2", bytes(&version), 422, "invalid_notice");
    let fraction = text.replacen("\"class\":25", "\"class\":25.5", 1);
    market.refuses(
        "a fractional class",
        fraction.into_bytes(),
        422,
        "invalid_notice",
    );
    // Over 16 KiB only in canonical form: serde_json writes 1e20 in 4 bytes, RFC 8785 in 21.
    let mut padded = unsigned(&with(&|_| {}));
    padded["credential"]["numbers"] = Value::Array(vec![json!(1e20); 20]);
    padded["credential"]["padding"] = json!("");
    let compact = serde_json::to_vec(&padded["credential"]).unwrap().len();
    padded["credential"]["padding"] = json!("p".repeat(16_384 - compact));
    assert_eq!(
        serde_json::to_vec(&padded["credential"]).unwrap().len(),
        16_384
    );
    assert!(
        proto_types::jcs::canonicalize(&padded["credential"])
            .unwrap()
            .len()
            > 16_384
    );
    market.refuses(
        "a credential over 16 KiB in canonical form only",
        bytes(&sign_raw(&padded, &holder)),
        422,
        "invalid_notice",
    );
    // Under every notice limit, but the notice entry would exceed 64 KiB: both refuse with 413.
    let long_listings: Vec<Value> = (0..40)
        .map(|index| {
            json!({
                "id": format!("listing-long-{index}"),
                "class": 25,
                "url": format!("https://shop.example/{}", "u".repeat(1900)),
            })
        })
        .collect();
    let oversized = notice(
        &holder,
        &with(&|spec| spec.listings = Value::Array(long_listings.clone())),
    );
    assert!(bytes(&oversized).len() < 1024 * 1024 && bytes(&oversized).len() > 64 * 1024);
    market.refuses(
        "a notice entry over 64 KiB",
        bytes(&oversized),
        413,
        "too_large",
    );

    // --- accepted notices: integer spellings, explicit null and [], exact size limit ---
    let mut spelled = notice(&holder, &with(&|_| {}));
    spelled["v"] = json!(1.0);
    spelled["listings"][0]["class"] = json!(25.0);
    let text = serde_json::to_string(&spelled).unwrap();
    assert!(
        text.contains("\"v\":1.0") && text.contains("\"class\":25.0"),
        "{text}"
    );
    market.accepts("integers spelled 1.0 and 25.0", text.into_bytes());
    let mut spelled = notice(&holder, &with(&|_| {}));
    spelled["listings"][0]["class"] = json!(25.0);
    let text =
        serde_json::to_string(&spelled)
            .unwrap()
            .replacen("\"class\":25.0", "\"class\":2.5e1", 1);
    assert!(text.contains("2.5e1"));
    market.accepts("class spelled 2.5e1", text.into_bytes());
    let mut explicit = unsigned(&with(&|_| {}));
    explicit["listings"][0]["url"] = Value::Null;
    explicit["evidence"] = json!([]);
    market.accepts(
        "explicit null url and empty evidence",
        bytes(&claims::sign_notice(&explicit, &holder).unwrap()),
    );
    let created = at(-60_000);
    let sized = |attempt: usize, padding: usize| {
        let mut document = unsigned_credential.clone();
        document["id"] = json!(format!("urn:uuid:sized-{attempt}"));
        document["padding"] = json!("p".repeat(padding));
        claims::sign_credential(&document, &fr_office, &created).unwrap()
    };
    let canonical_len =
        |credential: &Value| proto_types::jcs::canonicalize(credential).unwrap().len();
    // The proof value is 87 or 88 base58 characters, depending on the signature: try other
    // documents (ids) until one lands on exactly 16 384 bytes.
    let (exact, attempt, padding) = (0..64)
        .find_map(|attempt| {
            let padding = 16_384 - canonical_len(&sized(attempt, 0));
            let credential = sized(attempt, padding);
            (canonical_len(&credential) == 16_384).then_some((credential, attempt, padding))
        })
        .expect("a credential of exactly 16 384 canonical bytes");
    // Two more padding bytes are over the limit whatever the signature's length.
    let one_more = sized(attempt, padding + 2);
    assert!(canonical_len(&one_more) > 16_384);
    market.accepts(
        "a credential of exactly 16 384 canonical bytes",
        bytes(&notice(&holder, &with_credential(exact.clone()))),
    );
    market.refuses(
        "a credential over 16 384 canonical bytes",
        bytes(&sign_raw(&unsigned(&with_credential(one_more)), &holder)),
        422,
        "invalid_notice",
    );

    // Every accepted notice, as stored in the marketplace's feed, carries the holder's
    // signature over exactly what the holder signed.
    let feed = market
        .client
        .get(&format!("/v1/feeds/{market_did}?from=1&limit=500"))
        .body;
    let stored: Vec<&Value> = feed["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|entry| entry["kind"] == "notice")
        .collect();
    assert_eq!(stored.len(), market.accepted.len(), "{feed}");
    for entry in &stored {
        claims::verify_notice(&entry["body"]["notice"])
            .unwrap_or_else(|error| panic!("stored notice does not verify: {error}: {entry}"));
    }
    for id in &market.accepted {
        let entry = market.client.get(&format!("/v1/entries/{id}")).body;
        claims::verify_notice(&entry["entry"]["body"]["notice"])
            .unwrap_or_else(|error| panic!("notice {id} does not verify: {error}: {entry}"));
    }
    let explicit_entry = stored
        .iter()
        .find(|entry| entry["body"]["notice"]["evidence"] == json!([]))
        .expect("the notice with empty evidence is stored as received");
    assert!(explicit_entry["body"]["notice"]["listings"][0]["url"].is_null());

    // --- a retired office key (last: it closes the FR office's feed) ---
    let head = clients[FR_OFFICE].get("/v1/status").body["feeds"]
        .as_array()
        .unwrap()
        .iter()
        .find(|feed| feed["author"] == fr_office.public_key().to_did_key().as_str())
        .unwrap()
        .clone();
    let new_key = SecretKey::generate();
    let rotation = proto_types::entry::UnsignedEntry {
        seq: head["seq"].as_u64().unwrap() + 1,
        prev: Some(EntryId::from_hex(head["id"].as_str().unwrap()).unwrap()),
        timestamp: at(0),
        body: proto_types::body::Body::decode(
            proto_types::body::EntryKind::KeyRotation,
            &json!({
                "v": 1,
                "new_key": new_key.public_key().to_did_key(),
                "new_key_proof": new_key.sign(&proto_types::body::key_rotation_proof_message(
                    &fr_office.public_key(),
                    &new_key.public_key(),
                )).to_multibase(),
            }),
        )
        .unwrap(),
    }
    .sign(&fr_office)
    .unwrap();
    let stored_rotation =
        market
            .client
            .post_raw("/v1/entries", rotation.canonical_bytes().to_vec(), None);
    assert_eq!(stored_rotation.status, 201, "{}", stored_rotation.body);
    let fresh_from_old_key = claims::sign_credential(
        &document(
            &fr_office,
            &holder,
            "FR-TM-100",
            &[25, 30],
            &at(-60_000),
            None,
        ),
        &fr_office,
        &at(-1000),
    )
    .unwrap();
    // Unlogged, by a key that rotated away: not anchored, and no policy accepts it (§13.4).
    let verdict = market.rejects_notice(
        "a credential newly signed by a retired key",
        &notice(&holder, &with_credential(fresh_from_old_key)),
        &[
            "issuer_key_rotated",
            "credential_logged",
            "credential_status",
        ],
    );
    assert_eq!(
        reasons_of(&verdict, "issuer_key_rotated")["entry_id"],
        rotation.id().to_hex().as_str()
    );
    // Logged by the office before its key retired: anchored (§6.10), so it stays valid.
    market.accepts(
        "a credential logged before the key retired",
        bytes(&notice(&holder, &with_credential(credential.clone()))),
    );
    // The new key speaks for the office: its credentials are accepted.
    let from_new_key = claims::sign_credential(
        &document(
            &new_key,
            &holder,
            "FR-TM-100",
            &[25, 30],
            &at(-60_000),
            None,
        ),
        &new_key,
        &at(-1000),
    )
    .unwrap();
    market.accepts(
        "a credential from the office's new key",
        bytes(&notice(&holder, &with_credential(from_new_key))),
    );
    assert!(market.cases >= 60, "{} cases", market.cases);
    assert_eq!(market.accepted.len(), 8);
}

/// Another office trusted for the same jurisdiction cannot attest a right it did not register:
/// its credential fails `registry`, naming the registering office, while the registering
/// office's own credential for the same right is accepted.
#[test]
fn an_office_cannot_attest_a_right_another_office_registered() {
    let mut federation = Federation::with_roles(&[
        Role::Office("FR"),
        Role::Office("FR"),
        Role::Marketplace(&["FR"]),
    ]);
    accept_unlogged(&mut federation, 2);
    let clients: Vec<Client> = (0..3).map(|i| federation.client(i)).collect();
    let second_office =
        KeyFile::parse(&std::fs::read(federation.node_dir(1).join("authority.json")).unwrap())
            .unwrap();
    let market_did = clients[2].get("/v1/status").body["authority"]
        .as_str()
        .unwrap()
        .to_owned();
    let holder = SecretKey::generate();
    register(&clients[0], "FR-TM-300", &holder, &[25]);
    assert!(wait_converged(&clients, 1, Duration::from_secs(60)));
    let genuine = clients[0].post(
        "/v1/credentials",
        &json!({"right_id": "FR-TM-300", "holder": holder.public_key().to_did_key()}),
    );
    assert_eq!(genuine.status, 201, "{}", genuine.body);
    let spec = Spec {
        marketplace: market_did,
        right_id: "FR-TM-300".to_owned(),
        holder: holder.public_key().to_did_key(),
        credential: genuine.body.clone(),
        listings: json!([{"id": "listing-300", "class": 25}]),
        created: at(0),
        nonce: fresh_nonce(),
    };
    let verify = |notice: &Value| {
        let reply = clients[2].post_raw("/v1/verify", bytes(notice), None);
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.body["verdict"].clone()
    };
    let accepted = verify(&notice(&holder, &spec));
    assert_eq!(accepted["accepted"], true, "{accepted}");

    let forged = sign_with(
        &document(
            &second_office,
            &holder,
            "FR-TM-300",
            &[25],
            &at(-60_000),
            None,
        ),
        &second_office,
        &[],
    );
    let verdict = verify(&notice(
        &holder,
        &Spec {
            credential: forged,
            nonce: fresh_nonce(),
            ..spec.clone()
        },
    ));
    assert_eq!(failed(&verdict), ["registry"], "{verdict}");
    let registry = verdict["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .find(|reason| reason["code"] == "registry")
        .unwrap();
    assert!(
        registry["message"]
            .as_str()
            .unwrap()
            .contains("but the credential was issued by"),
        "{registry}"
    );
}
