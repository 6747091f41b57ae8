//! Reading requests: bodies (bounded by the body limit layer), strict JSON objects, query
//! strings. Each refusal is the API's usual error: 413 `body_too_large`, 400 `bad_body`,
//! `malformed_json` or `bad_query`.

use axum::body::Bytes;
use axum::extract::Query;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::http::StatusCode;
use proto_types::jcs;
use serde_json::{Map, Value};

use super::error::{ApiError, ApiResult};

/// The request body, or why it could not be read (too large, broken).
pub(super) fn body_bytes(body: Result<Bytes, BytesRejection>) -> ApiResult<Bytes> {
    body.map_err(|rejection| {
        let status = rejection.status();
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                status,
                "body_too_large",
                "request body exceeds the node's max_body_bytes",
            )
        } else {
            ApiError::bad_request("bad_body", rejection.body_text())
        }
    })
}

/// The body as a JSON object, parsed by the strict parser (no duplicate keys, no lone
/// surrogates, bounded nesting).
pub(super) fn json_object(bytes: &[u8]) -> ApiResult<Map<String, Value>> {
    match jcs::parse(bytes) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => Err(ApiError::bad_request(
            "malformed_json",
            "request body must be a JSON object",
        )),
        Err(error) => Err(ApiError::bad_request(
            "malformed_json",
            format!("invalid JSON: {error}"),
        )),
    }
}

/// The body read and parsed as a JSON object.
pub(super) fn json_body(body: Result<Bytes, BytesRejection>) -> ApiResult<Map<String, Value>> {
    json_object(&body_bytes(body)?)
}

/// A JSON object as a request type: a field that is missing, of the wrong type or unknown is
/// 422 `invalid_field`.
pub(super) fn request<T: serde::de::DeserializeOwned>(object: Map<String, Value>) -> ApiResult<T> {
    serde_json::from_value(Value::Object(object))
        .map_err(|error| ApiError::invalid_field(error.to_string()))
}

/// The query parameters, or 400 `bad_query`.
pub(super) fn query_params<T>(query: Result<Query<T>, QueryRejection>) -> ApiResult<T> {
    query
        .map(|Query(value)| value)
        .map_err(|rejection| ApiError::bad_request("bad_query", rejection.body_text()))
}

/// A page size: `limit` or `default`, refused (400 `bad_query`) outside `1..=max`.
pub(super) fn page_size(limit: Option<usize>, default: usize, max: usize) -> ApiResult<usize> {
    let limit = limit.unwrap_or(default);
    if limit == 0 || limit > max {
        return Err(ApiError::bad_request(
            "bad_query",
            format!("limit must be in 1..={max}"),
        ));
    }
    Ok(limit)
}
