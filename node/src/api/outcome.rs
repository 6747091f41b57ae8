//! How an ingest outcome is answered: 201 stored, 200 duplicate or unchanged, 202 held back,
//! 409 equivocation or forked branch (with a `code` and `message` like every error).

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::ingest::IngestOutcome;

/// The response for `outcome`.
pub(super) fn outcome_response(outcome: IngestOutcome) -> Response {
    let status = match &outcome {
        IngestOutcome::Stored { .. } => StatusCode::CREATED,
        IngestOutcome::Duplicate { .. } | IngestOutcome::Unchanged { .. } => StatusCode::OK,
        IngestOutcome::HeldBack { .. } => StatusCode::ACCEPTED,
        IngestOutcome::Equivocation { .. } | IngestOutcome::ForkedBranch { .. } => {
            StatusCode::CONFLICT
        }
    };
    let mut body = serde_json::to_value(&outcome).unwrap_or(Value::Null);
    if status == StatusCode::CONFLICT {
        if let Value::Object(object) = &mut body {
            let code = object.get("outcome").cloned().unwrap_or(Value::Null);
            object.insert("code".to_owned(), code);
            object.insert("message".to_owned(), Value::from(match outcome {
                IngestOutcome::Equivocation { .. } => "the author already signed a different entry at this seq; an equivocation proof is recorded",
                _ => "the entry's prev does not match the entry this node holds before it",
            }));
        }
    }
    (status, Json(body)).into_response()
}
