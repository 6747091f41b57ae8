//! The OpenAPI 3.1 document of the API, generated from the route table ([`routes`]) and the
//! request, query and response types' JSON Schemas (schemars, JSON Schema 2020-12, which OpenAPI
//! 3.1 embeds), so the document, the router and the handlers cannot drift apart. Served at
//! `GET /v1/openapi.json`, with this node's page size as the bound of every `limit` and, when the
//! node holds one, one of its own entries as the example of `POST /v1/entries`.
//!
//! Every status a route can answer is listed: its own (the route table), 400 (malformed JSON,
//! bad query or path parameter, or a body sent where none is taken), 401 and 403 on operator
//! routes, 405, 408, 413 and 422 on routes that take a body, 429 on public routes, 500 and 503.

use axum::Json;
use axum::extract::State;
use proto_types::body::{HolderNotice, RegistrationV1, StatusV1, examples};
use proto_types::entry::EntryId;
use proto_types::keys::PublicKey;
use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, SchemaGenerator};
use serde_json::{Map, Value, json};

use super::schemas::ErrorBody;
use super::state::NodeState;
use super::{Access, routes};

/// The schema of a path parameter, by route and name.
fn path_parameter(path: &str, name: &str, generator: &mut SchemaGenerator) -> Value {
    let schema = match name {
        "id" if path.starts_with("/v1/entries/") => generator.subschema_for::<EntryId>(),
        "id" => generator.subschema_for::<proto_types::body::RightId>(),
        "author" | "did" => generator.subschema_for::<PublicKey>(),
        "credential_id" => generator.subschema_for::<proto_types::body::CredentialId>(),
        "seller_ref" => {
            return json!({"type": "string", "pattern": proto_types::schema::HEX_64, "description": "A seller reference: 64 lowercase hex characters"});
        }
        "peer_id" => {
            return json!({
                "type": "string",
                "description": "A libp2p peer id of an Ed25519 key, base58 (12D3KooW…)",
                "pattern": "^12D3KooW[A-HJ-NP-S][1-9A-HJ-NP-Za-km-z]{43}$",
                "examples": ["12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA"],
            });
        }
        "issuer" => {
            return json!({
                "type": "string",
                "description": "An Ed25519 public key as a Multikey (the did:key without its did:key: prefix)",
                "pattern": "^z6Mk(?:[f-km-v][1-9A-HJ-NP-Za-km-z]{43}|e[T-Za-km-z][1-9A-HJ-NP-Za-km-z]{42}|w[1-9A-HJ-NP-Za-g][1-9A-HJ-NP-Za-km-z]{42})$",
                "examples": ["z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp"],
            });
        }
        "purpose" => return json!({"type": "string", "enum": ["revocation", "suspension"]}),
        "path" if path.ends_with("/tile/{*path}") => {
            return json!({
                "type": "string",
                "description": "A C2SP tlog-tiles path below `tile/`, in its one canonical form: `{L}/{N}[.p/{W}]` (a hash tile) or `entries/{N}[.p/{W}]` (an entry bundle); L is 0 to 63, N in 3-digit groups of which all but the last start with x (1234067 is x001/x234/067), W is 1 to 255. It spans several path segments",
                "pattern": TILE_PATH_PATTERN,
                "examples": ["0/000", "entries/000.p/3", "1/x001/234"],
            });
        }
        "n" => {
            return json!({
                "type": "string",
                "description": "A status list number: a decimal from 0 to 16383 without leading zeros",
                "pattern": "^(?:0|[1-9][0-9]{0,4})$",
                "examples": ["0"],
            });
        }
        _ => return json!({"type": "string"}),
    };
    schema.to_value()
}

/// The canonical tile paths below `tile/` (tlog-tiles): a level of 0 to 63 or `entries`, an
/// index in 3-digit groups (no leading `x000`), an optional partial width of 1 to 255.
const TILE_PATH_PATTERN: &str = "^(?:entries|[0-9]|[1-5][0-9]|6[0-3])/(?:x(?:00[1-9]|0[1-9][0-9]|[1-9][0-9]{2})/(?:x[0-9]{3}/){0,5})?[0-9]{3}(?:\\.p/(?:[1-9]|[1-9][0-9]|1[0-9]{2}|2[0-4][0-9]|25[0-5]))?$";

/// The media type of a route's 2xx answers that are not JSON.
fn media_type(path: &str) -> Option<&'static str> {
    match path {
        "/metrics" => Some("text/plain"),
        "/v1/feeds/{author}/checkpoint" | "/v1/entries/{id}/proof" => {
            Some("text/plain; charset=utf-8")
        }
        "/v1/feeds/{author}/tile/{*path}" => Some("application/octet-stream"),
        _ => None,
    }
}

/// The route's path as OpenAPI writes it: an axum wildcard `{*name}` is the parameter `{name}`
/// (whose value may hold `/`).
pub(super) fn document_path(path: &str) -> String {
    path.replace("{*", "{")
}

/// A query parameter's schema as a query string carries it: an optional field's `null` is the
/// absent parameter, and `limit` is bounded by this node's page size.
fn query_schema(path: &str, name: &str, mut schema: Value, max_page_size: usize) -> Value {
    if let Some(Value::Array(types)) = schema.get_mut("type") {
        types.retain(|kind| kind != "null");
        if types.len() == 1 {
            let only = types.remove(0);
            schema["type"] = only;
        }
    }
    if let Some(Value::Array(branches)) = schema.get_mut("anyOf") {
        branches.retain(|branch| branch.get("type") != Some(&Value::from("null")));
        if branches.len() == 1 {
            let only = branches.remove(0);
            if let (Value::Object(outer), Value::Object(inner)) = (&mut schema, only) {
                outer.remove("anyOf");
                outer.extend(inner);
            }
        }
    }
    if name == "limit" {
        // Two routes clamp `limit` into 1..=max_page_size rather than refuse it.
        let clamped = matches!(path, "/v1/equivocations" | "/v1/claims");
        if clamped {
            // Any usize is clamped; only a value that does not parse as one is refused.
            schema["minimum"] = json!(0);
            schema["maximum"] = json!(u64::MAX);
        } else {
            schema["minimum"] = json!(1);
            schema["maximum"] = json!(max_page_size);
        }
        if let Value::Object(object) = &mut schema {
            object.remove("format");
        }
    }
    schema
}

/// The request body schema of `POST /v1/registrations` and the items of a batch: a registration
/// body whose `v` may be omitted; `right_id` is derived from jurisdiction, type and number (a
/// given one must equal it, which a schema cannot say, so the document leaves it out).
pub(super) fn registration_request(generator: &mut SchemaGenerator) -> schemars::Schema {
    let mut schema = RegistrationV1::json_schema(generator);
    if let Some(object) = schema.as_object_mut() {
        if let Some(Value::Object(properties)) = object.get_mut("properties") {
            properties.remove("right_id");
        }
        if let Some(Value::Array(required)) = object.get_mut("required") {
            required.retain(|name| name != "v" && name != "right_id");
        }
        object.insert("description".to_owned(), Value::from("A registration body (protocol.md §4.1) without `v` (1) and `right_id`: the node derives the right id from jurisdiction, right type and number. A `right_id` may be sent if it equals the derived one. Dates in order (registration not before filing, expiry after both) and Nice classes ascending are checked by the node (422 `invalid_field`)."));
        object.insert(
            "allOf".to_owned(),
            json!([
                {
                    "description": "A trademark has mark_text, image_digest or both, and at least one Nice class; any other right has a title, no mark_text and no Nice classes",
                    "if": when("right_type", &["trademark"]),
                    "then": {
                        "anyOf": [present("mark_text"), present("image_digest")],
                        "required": ["nice_classes"],
                        "properties": {"nice_classes": {"minItems": 1}},
                    },
                    "else": {
                        "allOf": [present("title"), absent("mark_text")],
                        "properties": {"nice_classes": {"maxItems": 0}},
                    },
                },
                {
                    "description": "A registered right has a registration_date; a filed one has none",
                    "if": when("status", &["registered"]),
                    "then": present("registration_date"),
                },
                {
                    "if": when("status", &["filed"]),
                    "then": absent("registration_date"),
                },
            ]),
        );
    }
    schema
}

/// A schema that holds when `field` is one of `values`.
fn when(field: &str, values: &[&str]) -> Value {
    json!({"required": [field], "properties": {field: {"enum": values}}})
}

/// A schema that holds when `field` is given and not null.
fn present(field: &str) -> Value {
    json!({"required": [field], "properties": {field: {"not": {"type": "null"}}}})
}

/// A schema that holds when `field` is absent or null.
fn absent(field: &str) -> Value {
    json!({"properties": {field: {"type": "null"}}})
}

/// The request body of `POST /v1/registrations/batch`.
pub(super) fn batch_request(generator: &mut SchemaGenerator) -> schemars::Schema {
    let mut item = registration_request(generator).to_value();
    let date = generator.subschema_for::<proto_types::timestamp::Date>();
    if let Some(Value::Object(properties)) = item.get_mut("properties") {
        properties.insert(
            "status_date".to_owned(),
            json!({"anyOf": [date, {"type": "null"}], "description": "When the status took effect; the date of the status entry a change of status becomes"}),
        );
    }
    schemars::json_schema!({
        "type": "object",
        "required": ["items"],
        "properties": {"items": {
            "type": "array",
            "maxItems": crate::upsert::MAX_BATCH_ITEMS,
            "description": "Registrations, each with an optional status_date. An item that is not one is answered in its own result with an error, not refused with the request; hence any JSON value is an item.",
            "items": {"anyOf": [item, {}]},
        }},
        "additionalProperties": false,
    })
}

/// The request body of `POST /v1/rights/{id}/status`: a status body whose `v` and `right_id` may
/// be omitted (a given `right_id` must be the one in the path).
pub(super) fn status_request(generator: &mut SchemaGenerator) -> schemars::Schema {
    let mut schema = StatusV1::json_schema(generator);
    if let Some(object) = schema.as_object_mut() {
        if let Some(Value::Object(properties)) = object.get_mut("properties") {
            properties.remove("right_id");
        }
        if let Some(Value::Array(required)) = object.get_mut("required") {
            required.retain(|name| name != "v" && name != "right_id");
        }
        object.insert(
            "allOf".to_owned(),
            json!([
                {
                    "description": "`new_expiry_date` is required when renewed, allowed when restored (after effective_date), absent otherwise",
                    "if": when("change", &["renewed"]),
                    "then": present("new_expiry_date"),
                },
                {
                    "if": {"not": when("change", &["renewed", "restored"])},
                    "then": absent("new_expiry_date"),
                },
                {
                    "description": "`new_holder` is required when assigned, absent otherwise",
                    "if": when("change", &["assigned"]),
                    "then": present("new_holder"),
                    "else": absent("new_holder"),
                },
            ]),
        );
    }
    schema
}

/// The OpenAPI 3.1 document, generated from [`routes`]; `max_page_size` bounds every `limit`.
pub fn openapi_document(max_page_size: usize) -> Value {
    let settings = SchemaSettings::draft2020_12().with(|settings| {
        settings.definitions_path = "/components/schemas".into();
        settings.meta_schema = None;
    });
    let mut generator = settings.into_generator();
    let error = generator.subschema_for::<ErrorBody<'static>>().to_value();
    let mut paths = Map::new();
    for spec in routes() {
        let mut parameters: Vec<Value> = Vec::new();
        let mut rest = spec.path;
        while let Some(start) = rest.find('{') {
            let Some(end) = rest[start..].find('}') else {
                break;
            };
            let name = rest[start + 1..start + end].trim_start_matches('*');
            let schema = path_parameter(spec.path, name, &mut generator);
            parameters
                .push(json!({"name": name, "in": "path", "required": true, "schema": schema}));
            rest = &rest[start + end..];
        }
        if let Some(query) = spec.query {
            let schema = query(&mut generator).to_value();
            if let Some(Value::Object(properties)) = schema.get("properties") {
                for (name, property) in properties {
                    let mut property =
                        query_schema(spec.path, name, property.clone(), max_page_size);
                    let description = property
                        .as_object_mut()
                        .and_then(|object| object.remove("description"))
                        .unwrap_or(Value::Null);
                    parameters.push(json!({"name": name, "in": "query", "required": false, "description": description, "schema": property}));
                }
            }
        }
        let mut responses = Map::new();
        for (status, description) in spec.responses {
            let schema = if (200..300).contains(status) {
                (spec.response)(&mut generator).to_value()
            } else {
                error.clone()
            };
            responses.insert(
                status.to_string(),
                json!({"description": description, "content": {"application/json": {"schema": schema}}}),
            );
        }
        let mut common: Vec<(u16, &str)> = vec![
            (
                400,
                "malformed request: `malformed_json`, `bad_body`, `bad_query`, a bad path parameter, or `unexpected_body` (a body sent to a route that takes none)",
            ),
            (405, "`method_not_allowed`"),
            (408, "the request took too long"),
            (500, "`internal`: see the node's log"),
            (503, "`shutting_down`, or the ingest path is full or closed"),
        ];
        match spec.access {
            Access::Public => common.push((429, "`rate_limited`: retry after a second")),
            Access::Operator => {
                common.push((401, "`unauthorized`: no bearer token"));
                common.push((403, "`forbidden`: not the operator's token"));
            }
        }
        if spec.takes_body() {
            common.push((413, "`body_too_large` or `too_large`"));
            common.push((422, "`invalid_field` or an invalid entry or notice"));
        }
        for (status, description) in common {
            responses.entry(status.to_string()).or_insert_with(|| {
                json!({"description": description, "content": {"application/json": {"schema": error.clone()}}})
            });
        }
        let mut operation = json!({
            "operationId": format!("{}{}", spec.method, document_path(spec.path).replace(['{', '}'], "").replace('/', "_")),
            "summary": spec.summary,
            "parameters": parameters,
            "responses": responses,
        });
        if let Some(request) = spec.request {
            let schema = request(&mut generator).to_value();
            operation["requestBody"] =
                json!({"required": true, "content": {"application/json": {"schema": schema}}});
        }
        if spec.access == Access::Operator {
            operation["security"] = json!([{"operatorToken": []}]);
        }
        if let Some(media_type) = media_type(spec.path) {
            let schema =
                operation["responses"]["200"]["content"]["application/json"]["schema"].take();
            operation["responses"]["200"]["content"] = json!({media_type: {"schema": schema}});
        }
        let item = paths
            .entry(document_path(spec.path))
            .or_insert_with(|| json!({}));
        item[spec.method] = operation;
    }
    if let Some(operation) = paths.get_mut("/v1/witness/add-checkpoint") {
        operation["post"]["requestBody"]["content"] =
            json!({"text/plain": {"schema": {"type": "string"}}});
        operation["post"]["responses"]["200"]["content"] =
            json!({"text/plain": {"schema": {"type": "string"}}});
        operation["post"]["responses"]["409"]["content"] =
            json!({"text/x.tlog.size": {"schema": {"type": "string"}}});
    }
    for path in ["/v1/verify", "/v1/notices"] {
        if let Some(operation) = paths.get_mut(path) {
            operation["post"]["requestBody"]["content"]["application/json"]["example"] =
                examples::holder_notice();
        }
    }
    let mut schemas = generator.take_definitions(true);
    // Every component is a named type of ours or of proto-types; keep the order stable.
    schemas.sort_keys();
    json!({
        "openapi": "3.1.0",
        "info": {"title": "Rightsnet node API", "version": env!("CARGO_PKG_VERSION")},
        "paths": paths,
        "components": {
            "securitySchemes": {"operatorToken": {"type": "http", "scheme": "bearer"}},
            "schemas": schemas,
        }
    })
}

/// The schema of a holder notice, for the routes that take one.
pub(super) fn holder_notice(generator: &mut SchemaGenerator) -> schemars::Schema {
    generator.subschema_for::<HolderNotice>()
}

/// The schema of `POST /v1/verify`'s body: one holder notice, or a batch of them.
pub(super) fn holder_notice_or_batch(generator: &mut SchemaGenerator) -> schemars::Schema {
    let notice = generator.subschema_for::<HolderNotice>();
    schemars::json_schema!({
        "oneOf": [
            notice,
            {
                "type": "object",
                "description": "A batch: the verdict of each notice, in order",
                "required": ["notices"],
                "additionalProperties": false,
                "properties": {
                    "notices": {
                        "type": "array",
                        "minItems": 1,
                        "maxItems": super::claims::MAX_VERIFY_BATCH,
                        "items": notice,
                    }
                }
            }
        ]
    })
}

/// The schema of `POST /v1/verify`'s answer: a verdict, or a batch's verdicts.
pub(super) fn verify_response(generator: &mut SchemaGenerator) -> schemars::Schema {
    let one = generator.subschema_for::<super::schemas::VerifyResponse>();
    let batch = generator.subschema_for::<super::schemas::VerifyBatchResponse>();
    schemars::json_schema!({"oneOf": [one, batch]})
}

/// Examples a fuzzer cannot make up, taken from what this node holds: its own first entry, and
/// one right it knows.
struct HeldExamples {
    entry: Option<Value>,
    right: Option<crate::rights::RightState>,
}

/// Sets `value` at the JSON pointer `pointer` of `document` when that place exists.
fn set_example(document: &mut Value, pointer: &str, value: Value) {
    if let Some(Value::Object(object)) = document.pointer_mut(pointer) {
        object.insert("example".to_owned(), value);
    }
}

/// `GET /v1/openapi.json`: the document with this node's page size and, when it holds them,
/// examples of what a schema cannot generate: its own first entry for `POST /v1/entries`
/// (re-submitting it answers 200 `duplicate`) and `GET /v1/entries/{id}`, a right it knows for
/// `GET /v1/rights/{id}` and, with its holder key, for `POST /v1/credentials`.
pub(super) async fn openapi(State(state): State<NodeState>) -> Json<Value> {
    let mut document = openapi_document(state.config.limits.max_page_size);
    let authority = state.authority;
    let held = state
        .reader()
        .run(move |store| {
            let entry = store
                .feed(&authority, 1, 1, proto_types::entry::MAX_ENTRY_BYTES)?
                .into_iter()
                .next()
                .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok());
            let right = crate::query::SearchQuery::new(None, false, None, None, None, 1, None)
                .ok()
                .map(|search| crate::query::search(store, &search))
                .transpose()?
                .and_then(|page| page.rights.into_iter().next())
                .map(|hit| hit.right);
            Ok::<_, crate::storage::StorageError>(HeldExamples { entry, right })
        })
        .await
        .unwrap_or(HeldExamples {
            entry: None,
            right: None,
        });
    let body = "/requestBody/content/application~1json";
    if let Some(entry) = held.entry {
        let id = proto_types::entry::Entry::from_value(entry.clone())
            .map(|decoded| decoded.id().to_string())
            .ok();
        set_example(
            &mut document,
            &format!("/paths/~1v1~1entries/post{body}"),
            entry,
        );
        if let Some(id) = id {
            set_example(
                &mut document,
                "/paths/~1v1~1entries~1{id}/get/parameters/0",
                Value::from(id),
            );
        }
    }
    if let Some(right) = held.right {
        set_example(
            &mut document,
            "/paths/~1v1~1rights~1{id}/get/parameters/0",
            Value::from(right.right_id.as_str()),
        );
        set_example(
            &mut document,
            "/paths/~1v1~1rights~1{id}~1status/post/parameters/0",
            Value::from(right.right_id.as_str()),
        );
        if let Some(holder) = right.holder.key {
            set_example(
                &mut document,
                &format!("/paths/~1v1~1credentials/post{body}"),
                json!({"right_id": right.right_id, "holder": holder.to_did_key()}),
            );
        }
    }
    Json(document)
}

/// The schema of `GET /v1/openapi.json`'s answer.
pub(super) fn document_schema(_generator: &mut SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "object",
        "description": "An OpenAPI 3.1 document",
        "required": ["openapi", "info", "paths"],
    })
}

/// The schema of a text answer (a signed note, a tlog-proof).
pub(super) fn text_schema(_generator: &mut SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({"type": "string"})
}

/// The schema of a binary answer (a tile, an entry bundle).
pub(super) fn binary_schema(_generator: &mut SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({"type": "string", "contentMediaType": "application/octet-stream"})
}

/// The schema of `GET /metrics`'s answer: the Prometheus text exposition format.
pub(super) fn metrics_schema(_generator: &mut SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({"type": "string"})
}
