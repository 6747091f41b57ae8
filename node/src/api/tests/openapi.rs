//! The OpenAPI document tells the truth: every answer the handler tests get is checked against
//! the document's schema for its route and status ([`check_reply`], called for every request
//! [`TestNode::send_to`](super::TestNode::send_to) sends), a status the document does not list
//! for the route fails the test, and the document itself is well-formed: every `$ref` resolves,
//! every route of [`routes`] is in it, every parameter and body has a schema.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::super::openapi::document_path;
use super::super::{openapi_document, routes};
use crate::config::Limits;

/// The document as the test nodes serve it (their page size is the default).
static DOCUMENT: LazyLock<Value> =
    LazyLock::new(|| openapi_document(Limits::default().max_page_size));

/// Validators already built, by method, route and status.
type Validators = HashMap<(String, String, u16), Option<Arc<jsonschema::Validator>>>;
static VALIDATORS: LazyLock<Mutex<Validators>> = LazyLock::new(|| Mutex::new(HashMap::new()));

/// The JSON schema of `route`'s answer with `status`, as a standalone schema whose
/// `#/components/schemas/…` references resolve; `None` when the answer is not JSON. Panics
/// when the document does not list the status for the route.
fn response_schema(method: &str, route: &str, status: u16) -> Option<Value> {
    let operation = &DOCUMENT["paths"][document_path(route)][method.to_ascii_lowercase()];
    assert!(
        operation.is_object(),
        "{method} {route} is not in the document"
    );
    let response = &operation["responses"][status.to_string()];
    assert!(
        response.is_object(),
        "{method} {route} answered {status}, which the document does not list"
    );
    let mut schema = response["content"]["application/json"]["schema"].clone();
    let Value::Object(object) = &mut schema else {
        return None;
    };
    object.insert("components".to_owned(), DOCUMENT["components"].clone());
    Some(schema)
}

/// Checks an answer against the document: its status is listed for the route, and a JSON body
/// validates against that status's schema.
pub(super) fn check_reply(method: &str, route: &str, status: StatusCode, body: &Value) {
    let key = (
        method.to_ascii_lowercase(),
        route.to_owned(),
        status.as_u16(),
    );
    let cached = VALIDATORS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .get(&key)
        .cloned();
    // Built outside the lock: a status the document does not list panics here.
    let validator = cached.unwrap_or_else(|| {
        let built = response_schema(method, route, status.as_u16()).map(|schema| {
            Arc::new(
                jsonschema::options()
                    .should_validate_formats(true)
                    .build(&schema)
                    .unwrap_or_else(|error| {
                        panic!("the schema of {method} {route} {status} compiles: {error}")
                    }),
            )
        });
        VALIDATORS
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(key, built.clone());
        built
    });
    let Some(validator) = validator else {
        return;
    };
    let errors: Vec<String> = validator
        .iter_errors(body)
        .map(|error| format!("{error} at {}", error.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{method} {route} {status}: the answer breaks the document's schema: {errors:?}\n{body}"
    );
}

/// Every `$ref` string in `value`.
fn references(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::Object(object) => {
            for (key, value) in object {
                match (key.as_str(), value) {
                    ("$ref", Value::String(reference)) => found.push(reference.clone()),
                    _ => references(value, found),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| references(item, found)),
        _ => {}
    }
}

#[test]
fn every_reference_resolves_and_every_route_is_documented() {
    let document = &*DOCUMENT;
    assert_eq!(document["openapi"], "3.1.0");
    let mut found = Vec::new();
    references(document, &mut found);
    assert!(!found.is_empty());
    for reference in &found {
        let pointer = reference
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("{reference} is not local"));
        assert!(
            document.pointer(pointer).is_some(),
            "{reference} does not resolve"
        );
    }
    let mut operation_ids = Vec::new();
    for spec in routes() {
        let operation = &document["paths"][document_path(spec.path)][spec.method];
        assert!(
            operation.is_object(),
            "{} {} is missing",
            spec.method,
            spec.path
        );
        operation_ids.push(
            operation["operationId"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        );
        let responses = operation["responses"].as_object().expect("responses");
        for (status, response) in responses {
            assert!(status.parse::<u16>().is_ok(), "{status} is a status");
            assert!(
                response["description"].is_string(),
                "{} {status}",
                spec.path
            );
            assert!(
                response["content"].is_object(),
                "{} {} {status} has a schema",
                spec.method,
                spec.path
            );
        }
        for status in ["400", "405", "500"] {
            assert!(responses.contains_key(status), "{} {status}", spec.path);
        }
        if spec.takes_body() {
            // JSON, or text for the routes of text protocols (C2SP tlog-witness).
            let content = &operation["requestBody"]["content"];
            assert!(
                content["application/json"]["schema"].is_object()
                    || content["text/plain"]["schema"].is_object(),
                "{} {} documents its body",
                spec.method,
                spec.path
            );
            assert!(responses.contains_key("413") && responses.contains_key("422"));
        } else {
            assert!(operation.get("requestBody").is_none());
        }
        for parameter in operation["parameters"].as_array().expect("parameters") {
            assert!(parameter["schema"].is_object(), "{parameter}");
            if parameter["in"] == "path" {
                assert!(
                    parameter["schema"] != json!({"type": "string"}),
                    "{} has a real schema",
                    parameter["name"]
                );
            }
        }
    }
    let count = operation_ids.len();
    operation_ids.sort();
    operation_ids.dedup();
    assert_eq!(operation_ids.len(), count, "operation ids are unique");
    // Every component compiles as a schema.
    for (name, schema) in document["components"]["schemas"]
        .as_object()
        .expect("schemas")
    {
        let mut schema = schema.clone();
        if let Value::Object(object) = &mut schema {
            object.insert("components".to_owned(), document["components"].clone());
        }
        jsonschema::options()
            .build(&schema)
            .unwrap_or_else(|error| panic!("{name}: {error}"));
    }
}

#[test]
fn a_listed_status_and_a_wrong_body_are_told_apart() {
    check_reply(
        "GET",
        "/v1/rights/{id}",
        StatusCode::NOT_FOUND,
        &json!({"code": "not_found", "message": "no right"}),
    );
    let wrong = std::panic::catch_unwind(|| {
        check_reply(
            "GET",
            "/v1/rights/{id}",
            StatusCode::NOT_FOUND,
            &json!({"code": 1}),
        );
    });
    assert!(
        wrong.is_err(),
        "an error body without a message breaks the schema"
    );
    let unlisted = std::panic::catch_unwind(|| {
        check_reply(
            "GET",
            "/v1/status",
            StatusCode::IM_A_TEAPOT,
            &json!({"code": "teapot", "message": "no"}),
        );
    });
    assert!(unlisted.is_err(), "an unlisted status fails");
}

/// The request body schema of `method route`, standalone (its references resolve).
fn request_validator(method: &str, route: &str) -> jsonschema::Validator {
    let operation = &DOCUMENT["paths"][route][method];
    let mut schema = operation["requestBody"]["content"]["application/json"]["schema"].clone();
    let Value::Object(object) = &mut schema else {
        panic!("{method} {route} has no JSON request body schema");
    };
    object.insert("components".to_owned(), DOCUMENT["components"].clone());
    jsonschema::validator_for(&schema).expect("a valid request schema")
}

#[test]
fn cross_field_rules_a_schema_can_state_are_in_the_request_schemas() {
    let registration = request_validator("post", "/v1/registrations");
    let base = json!({"jurisdiction": "FR", "number": "123",
        "holder": {"name": "ACME", "country": "FR"}, "filing_date": "2020-01-01"});
    let with = |extra: Value| {
        let mut body = base.clone();
        if let (Value::Object(body), Value::Object(extra)) = (&mut body, extra) {
            body.extend(extra);
        }
        body
    };
    for (body, valid) in [
        (
            with(
                json!({"right_type": "patent", "title": "A pump", "nice_classes": [], "status": "filed"}),
            ),
            true,
        ),
        (
            with(
                json!({"right_type": "trademark", "mark_text": "ACME", "nice_classes": [3], "status": "registered", "registration_date": "2020-06-01"}),
            ),
            true,
        ),
        (
            with(json!({"right_type": "trademark", "nice_classes": [3], "status": "filed"})),
            false,
        ),
        (
            with(
                json!({"right_type": "trademark", "mark_text": "ACME", "nice_classes": [], "status": "filed"}),
            ),
            false,
        ),
        (
            with(
                json!({"right_type": "patent", "title": "A pump", "mark_text": "ACME", "nice_classes": [], "status": "filed"}),
            ),
            false,
        ),
        (
            with(json!({"right_type": "patent", "nice_classes": [], "status": "filed"})),
            false,
        ),
        (
            with(
                json!({"right_type": "trademark", "mark_text": "ACME", "nice_classes": [3], "status": "registered"}),
            ),
            false,
        ),
        (
            with(
                json!({"right_type": "trademark", "mark_text": "ACME", "nice_classes": [3], "status": "filed", "registration_date": "2020-06-01"}),
            ),
            false,
        ),
    ] {
        assert_eq!(registration.is_valid(&body), valid, "{body}");
    }
    let status = request_validator("post", "/v1/rights/{id}/status");
    for (body, valid) in [
        (
            json!({"change": "renewed", "effective_date": "2030-01-01", "new_expiry_date": "2040-01-01"}),
            true,
        ),
        (
            json!({"change": "cancelled", "effective_date": "2030-01-01"}),
            true,
        ),
        (
            json!({"change": "renewed", "effective_date": "2030-01-01"}),
            false,
        ),
        (
            json!({"change": "cancelled", "effective_date": "2030-01-01", "new_expiry_date": "2040-01-01"}),
            false,
        ),
        (
            json!({"change": "assigned", "effective_date": "2030-01-01"}),
            false,
        ),
        (
            json!({"change": "expired", "effective_date": "2030-01-01", "new_holder": {"name": "B", "country": "DE"}}),
            false,
        ),
    ] {
        assert_eq!(status.is_valid(&body), valid, "{body}");
    }
}
