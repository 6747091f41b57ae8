//! This node as a witness, over HTTP: the C2SP tlog-witness `add-checkpoint` call
//! (`POST /v1/witness/add-checkpoint`), for a log operator (or a test) to submit a checkpoint
//! of a feed this node holds and get its cosignature. The statuses are the specification's:
//! 200 with the cosignature line (`text/plain`), 400 a malformed request, 403 no valid
//! signature of the feed's author, 404 an unknown origin (not a feed origin, or an author this
//! node does not trust), 409 an old size other than the size cosigned last (the body is that
//! size, `text/x.tlog.size`), 422 an inconsistent proof or checkpoint. Beyond the
//! specification: 503 with `Retry-After` when this node does not hold the feed to the
//! checkpoint's size yet (the checkpoint is kept and cosigned once the entries arrive).

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;

use super::error::{ApiError, ApiResult};
use super::extract::body_bytes;
use super::state::NodeState;
use crate::transparency::AddCheckpointError;

/// The content type of a 409's body: a tree size (C2SP tlog-witness).
const TLOG_SIZE_CONTENT_TYPE: &str = "text/x.tlog.size";

/// `POST /v1/witness/add-checkpoint`.
pub(super) async fn add_checkpoint(
    State(state): State<NodeState>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult {
    let body = body_bytes(body)?;
    match state.transparency.add_checkpoint(&body).await {
        Ok(line) => Ok((
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            line,
        )
            .into_response()),
        Err(AddCheckpointError::Conflict(size)) => Ok((
            StatusCode::CONFLICT,
            [(header::CONTENT_TYPE, TLOG_SIZE_CONTENT_TYPE)],
            format!("{size}\n"),
        )
            .into_response()),
        Err(error @ AddCheckpointError::NotYet { .. }) => {
            let mut response = ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "not_yet",
                error.to_string(),
            )
            .into_response();
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
            Ok(response)
        }
        Err(error @ AddCheckpointError::BadRequest(_)) => {
            Err(ApiError::bad_request("bad_body", error.to_string()))
        }
        Err(error @ AddCheckpointError::UnknownOrigin) => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_origin",
            error.to_string(),
        )),
        Err(error @ AddCheckpointError::Forbidden(_)) => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "bad_signature",
            error.to_string(),
        )),
        Err(error @ AddCheckpointError::Unprocessable(_)) => {
            Err(ApiError::unprocessable("inconsistent", error.to_string()))
        }
        Err(AddCheckpointError::Ingest(error)) => Err(error.into()),
    }
}
