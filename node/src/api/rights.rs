//! Rights: register one (operator), register or update a batch (importers), record a status
//! change, read one, search.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use proto_types::body::{Body, EntryKind, Jurisdiction, RightId, RightType};
use proto_types::timestamp::Date;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::error::{ApiError, ApiResult};
use super::extract::{json_body, page_size, query_params};
use super::outcome::outcome_response;
use super::schemas::{BatchResponse, SearchResponse};
use super::state::NodeState;
use crate::clock::today;
use crate::imports::{BatchCounts, RunTag};
use crate::ingest::IngestOutcome;
use crate::query::{self, SearchQuery};
use crate::rights::RightState;
use crate::upsert::{MAX_BATCH_ITEMS, RegisterRecord, upsert_many};

/// Default page size of a search.
const DEFAULT_SEARCH_PAGE: usize = 50;

/// A right id from the path, or 400 `bad_right_id`.
fn path_right_id(text: &str) -> ApiResult<RightId> {
    RightId::parse(text).map_err(|error| ApiError::bad_request("bad_right_id", error.to_string()))
}

/// A registration request as a body: `v` defaults to 1, and a missing `right_id` is derived from
/// the jurisdiction, right type and number when all three are usable (otherwise decoding names
/// the field that is wrong).
pub(crate) fn registration_body(mut object: Map<String, Value>) -> ApiResult<Body> {
    object.entry("v").or_insert(Value::from(1));
    if !object.contains_key("right_id") {
        let jurisdiction = object.get("jurisdiction").and_then(Value::as_str);
        let right_type = object
            .get("right_type")
            .cloned()
            .and_then(|value| serde_json::from_value::<RightType>(value).ok());
        let number = object.get("number").and_then(Value::as_str);
        if let (Some(jurisdiction), Some(right_type), Some(number)) =
            (jurisdiction, right_type, number)
        {
            if let Ok(jurisdiction) = Jurisdiction::parse(jurisdiction) {
                if let Ok(right_id) = RightId::new(&jurisdiction, right_type, number) {
                    object.insert("right_id".to_owned(), Value::from(right_id.as_str()));
                }
            }
        }
    }
    Body::decode(EntryKind::Registration, &Value::Object(object))
        .map_err(|error| ApiError::invalid_field(error.to_string()))
}

/// Registers a right: the node signs a registration entry as its authority.
pub(super) async fn register(
    State(state): State<NodeState>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult {
    Ok(outcome_response(
        register_object(&state, json_body(body)?).await?,
    ))
}

/// Registers the right `object` describes (a registration request as a JSON object, see
/// [`registration_body`]): the one path of `POST /v1/registrations` and the console's form.
pub(crate) async fn register_object(
    state: &NodeState,
    object: Map<String, Value>,
) -> ApiResult<IngestOutcome> {
    let body = registration_body(object)?;
    Ok(state.ingest.append(body).await?)
}

/// Registers or updates up to [`MAX_BATCH_ITEMS`] rights; one result per item, in order. An
/// item's error is its result, not the request's.
pub(super) async fn register_batch(
    State(state): State<NodeState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult {
    let mut object = json_body(body)?;
    let Some(Value::Array(items)) = object.remove("items") else {
        return Err(ApiError::invalid_field(
            "items: an array of registrations is required",
        ));
    };
    if let Some(unknown) = object.keys().next() {
        return Err(ApiError::invalid_field(format!(
            "unknown field {unknown:?}"
        )));
    }
    if items.len() > MAX_BATCH_ITEMS {
        return Err(ApiError::invalid_field(format!(
            "items: at most {MAX_BATCH_ITEMS} per batch"
        )));
    }
    // Parsed first, then upserted together: the records' entries go through the bulk door for
    // own entries, committed in groups.
    let records: Vec<ApiResult<RegisterRecord>> = items.into_iter().map(batch_record).collect();
    let right_ids: Vec<Option<String>> = records
        .iter()
        .map(|record| {
            record
                .as_ref()
                .ok()
                .map(|record| record.registration.right_id.as_str().to_owned())
        })
        .collect();
    let outcomes = upsert_many(&state.ingest, records).await;
    let mut counts = BatchCounts {
        items: outcomes.len() as u64,
        ..BatchCounts::default()
    };
    let mut results = Vec::with_capacity(outcomes.len());
    for (index, (result, right_id)) in outcomes.into_iter().zip(right_ids).enumerate() {
        match &result {
            Ok(outcomes) if outcomes.is_empty() => counts.skipped += 1,
            Ok(outcomes)
                if outcomes
                    .iter()
                    .any(|outcome| matches!(outcome, IngestOutcome::Stored { .. })) =>
            {
                counts.written += 1;
            }
            Ok(_) => counts.unchanged += 1,
            Err(_) => counts.refused += 1,
        }
        results.push(match result {
            Ok(outcomes) if outcomes.is_empty() => json!({
                "index": index, "right_id": right_id, "outcomes": outcomes,
                "skipped": "an application that ended before registration (abandoned, refused, withdrawn) is not a right; nothing written",
            }),
            Ok(outcomes) => json!({"index": index, "right_id": right_id, "outcomes": outcomes}),
            Err(error) => {
                json!({"index": index, "error": {"code": error.code, "message": error.message}})
            }
        });
    }
    let tag = headers
        .get(IMPORT_HEADER)
        .and_then(|value| value.to_str().ok())
        .and_then(RunTag::parse);
    state.imports.record(tag.as_ref(), counts);
    Ok(Json(BatchResponse { results }).into_response())
}

/// The header in which `rightsnet import` names its run and its progress through the file
/// ([`crate::imports`]).
pub const IMPORT_HEADER: &str = "rightsnet-import";

/// One item of a batch: a registration with an optional `status_date`.
fn batch_record(item: Value) -> ApiResult<RegisterRecord> {
    let Value::Object(mut item) = item else {
        return Err(ApiError::invalid_field("item must be an object"));
    };
    let status_date = match item.remove("status_date") {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) => Some(
            Date::parse(&text)
                .map_err(|error| ApiError::invalid_field(format!("status_date: {error}")))?,
        ),
        Some(_) => return Err(ApiError::invalid_field("status_date must be a date")),
    };
    let Body::Registration(registration) = registration_body(item)? else {
        return Err(ApiError::internal("registration body of another kind"));
    };
    Ok(RegisterRecord {
        registration,
        status_date,
    })
}

/// Records a status change of the right in the path; a `right_id` in the body must match it.
pub(super) async fn change_status(
    State(state): State<NodeState>,
    Path(right_id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult {
    // The path is judged before the body, as it always was.
    path_right_id(&right_id)?;
    let object = json_body(body)?;
    Ok(outcome_response(
        record_status_change(&state, &right_id, object).await?,
    ))
}

/// Records the status change `object` describes (a status request as a JSON object) of the
/// right `right_id`: the one path of `POST /v1/rights/{id}/status` and the console's form. A
/// `right_id` in the object must be the same right.
pub(crate) async fn record_status_change(
    state: &NodeState,
    right_id: &str,
    mut object: Map<String, Value>,
) -> ApiResult<IngestOutcome> {
    let right_id = path_right_id(right_id)?;
    object.entry("v").or_insert(Value::from(1));
    match object.get("right_id") {
        None => {
            object.insert("right_id".to_owned(), Value::from(right_id.as_str()));
        }
        Some(value) if value.as_str() == Some(right_id.as_str()) => {}
        Some(_) => {
            return Err(ApiError::invalid_field(
                "right_id: differs from the right in the path",
            ));
        }
    }
    let body = Body::decode(EntryKind::Status, &Value::Object(object))
        .map_err(|error| ApiError::invalid_field(error.to_string()))?;
    Ok(state.ingest.append(body).await?)
}

/// A right's current state, read off the executor; 404 when this node does not know it.
pub(super) async fn load_right(state: &NodeState, right_id: &RightId) -> ApiResult<RightState> {
    let id = right_id.as_str().to_owned();
    state
        .reader()
        .run(move |store| store.right(&id))
        .await?
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "no right {} is known to this node",
                right_id.as_str()
            ))
        })
}

/// A right's current state, liveness today, and history.
pub(super) async fn get_right(
    State(state): State<NodeState>,
    Path(right_id): Path<String>,
) -> ApiResult {
    let right_id = path_right_id(&right_id)?;
    let right = load_right(&state, &right_id).await?;
    let mut view = query::right_json(&right, &today());
    view["registered_by_trusted"] = registered_by_trusted(&state, &right).into();
    Ok(Json(view).into_response())
}

/// Whether the authority that registered `right` is, now, an office this node trusts for its
/// jurisdiction (protocol.md §13.2).
pub(crate) fn registered_by_trusted(state: &NodeState, right: &crate::rights::RightState) -> bool {
    state
        .ingest
        .trust()
        .office_for(&right.registered_by, &right.jurisdiction)
}

/// The query of `GET /v1/rights`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct SearchParams {
    /// Mark text: every word must match a word of the mark, the last one as a prefix; at most
    /// 200 characters. One without a letter or digit once folded (Unicode NFKD, marks
    /// stripped) is refused with 400 `bad_query`, which a pattern cannot state.
    #[schemars(length(max = crate::query::MAX_QUERY_CHARS))]
    mark: Option<String>,
    /// True: the whole folded mark must equal `mark`.
    exact: Option<bool>,
    /// Nice class 1-45.
    #[schemars(range(min = 1, max = 45))]
    class: Option<u8>,
    /// ISO 3166-1 alpha-2 or regional code (EM, WO, …).
    #[schemars(with = "Option<Jurisdiction>")]
    jurisdiction: Option<String>,
    /// Holder did:key, or holder name (folded prefix, with a letter or digit, at most 200
    /// characters).
    #[schemars(schema_with = "holder_filter")]
    holder: Option<String>,
    /// Page size, at most the node's max_page_size.
    limit: Option<usize>,
    /// The next_cursor of the previous page.
    #[schemars(length(max = 4096), regex(pattern = "^([0-9a-f]{2})*$"))]
    cursor: Option<String>,
}

/// The schema of the `holder` filter: a did:key, or a name that does not start with `did:` (at
/// most 200 characters, any text: the letter-or-digit rule is applied after folding).
fn holder_filter(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
    let key = generator.subschema_for::<proto_types::keys::PublicKey>();
    schemars::json_schema!({"anyOf": [key, {
        "type": "string",
        "maxLength": crate::query::MAX_QUERY_CHARS,
        "pattern": "^(?!did:)",
        "description": "A holder name (folded prefix); one without a letter or digit once folded is refused with 400 `bad_query`",
    }]})
}

/// Searches rights; paged by an opaque cursor.
pub(super) async fn search_rights(
    State(state): State<NodeState>,
    params: Result<Query<SearchParams>, QueryRejection>,
) -> ApiResult {
    let params = query_params(params)?;
    let limit = page_size(
        params.limit,
        DEFAULT_SEARCH_PAGE,
        state.config.limits.max_page_size,
    )?;
    let search = SearchQuery::new(
        params.mark.as_deref(),
        params.exact.unwrap_or(false),
        params.class,
        params.jurisdiction.as_deref(),
        params.holder.as_deref(),
        limit,
        params.cursor.as_deref(),
    )
    .map_err(|error| ApiError::bad_request("bad_query", error))?;
    let page = state
        .reader()
        .run(move |store| query::search(store, &search))
        .await?;
    let today = today();
    Ok(Json(SearchResponse {
        rights: page
            .rights
            .iter()
            .map(|hit| {
                let mut summary = query::right_summary(&hit.right, &today);
                summary["registered_by_trusted"] = registered_by_trusted(&state, &hit.right).into();
                if let Some(matched) = hit.matched {
                    summary["match"] = serde_json::to_value(matched).unwrap_or(Value::Null);
                }
                summary
            })
            .collect(),
        next_cursor: page.next_cursor,
        total: page.total.map(query::Total::to_json),
    })
    .into_response())
}
