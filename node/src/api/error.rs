//! The API's one error type: an HTTP status, a stable machine code and a human message, answered
//! as `{"code", "message"}`. Every domain error becomes one here, in one `From` each, so a
//! handler only writes `?`; internal errors are logged in full and answered without details.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use proto_types::entry::EntryError;

use super::schemas::ErrorBody;
use crate::claims::{ClaimError, NoticeTooLarge};
use crate::credentials::Refusal;
use crate::ingest::IngestError;
use crate::network::NetworkError;
use crate::storage::StorageError;

/// An API error: an HTTP status, a stable machine code and a human message.
#[derive(Debug)]
pub struct ApiError {
    pub(super) status: StatusCode,
    pub(super) code: &'static str,
    pub(super) message: String,
}

/// What a handler returns.
pub type ApiResult<T = Response> = Result<T, ApiError>;

impl ApiError {
    /// A new error.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }
    /// 400 with `code`.
    pub(crate) fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }
    /// 422 with `code`.
    pub(super) fn unprocessable(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }
    /// 422 `invalid_field`: a request field this route cannot accept.
    pub(crate) fn invalid_field(message: impl Into<String>) -> Self {
        Self::unprocessable("invalid_field", message)
    }
    /// 404 `not_found`.
    pub(super) fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }
    /// 409 `refused`: the request is well-formed, but policy does not allow it.
    pub(super) fn refused(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "refused", message)
    }
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }
    /// The stable machine code.
    pub fn code(&self) -> &'static str {
        self.code
    }
    /// The human message (never an internal error's details).
    pub fn message(&self) -> &str {
        &self.message
    }
    /// An internal error: logged in full, answered without details.
    pub(crate) fn internal(error: impl std::fmt::Display) -> Self {
        tracing::error!(%error, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error; see the node's log",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(ErrorBody {
                code: self.code,
                message: &self.message,
            }),
        )
            .into_response()
    }
}

impl From<IngestError> for ApiError {
    fn from(error: IngestError) -> Self {
        let code = error.code();
        let status = match &error {
            IngestError::Invalid(EntryError::TooLarge(_)) => StatusCode::PAYLOAD_TOO_LARGE,
            IngestError::Invalid(EntryError::Json(_)) => StatusCode::BAD_REQUEST,
            IngestError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            IngestError::UnknownAuthor(_) => StatusCode::FORBIDDEN,
            IngestError::Refused(_) | IngestError::OwnKeyRotated(_) => StatusCode::CONFLICT,
            IngestError::PendingFull | IngestError::Closed => StatusCode::SERVICE_UNAVAILABLE,
            IngestError::InvalidRotation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            IngestError::Storage(storage) => return Self::internal(storage),
            IngestError::KeyFile(reason) => return Self::internal(reason),
        };
        Self::new(status, code, error.to_string())
    }
}

impl From<crate::transparency::proofs::EntryProofError> for ApiError {
    fn from(error: crate::transparency::proofs::EntryProofError) -> Self {
        use crate::transparency::proofs::EntryProofError;
        match error {
            EntryProofError::Unknown(_) | EntryProofError::NotInFeed(_) => {
                Self::not_found(error.to_string())
            }
            EntryProofError::NotCheckpointed { .. } => {
                Self::new(StatusCode::CONFLICT, "not_checkpointed", error.to_string())
            }
            EntryProofError::Storage(error) => error.into(),
            EntryProofError::Build(error) => Self::internal(error),
        }
    }
}

impl From<StorageError> for ApiError {
    fn from(error: StorageError) -> Self {
        Self::internal(error)
    }
}

impl From<NetworkError> for ApiError {
    fn from(error: NetworkError) -> Self {
        match error {
            NetworkError::BadPeerId(_) => Self::bad_request("bad_peer_id", error.to_string()),
            NetworkError::Closed => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "shutting_down",
                error.to_string(),
            ),
        }
    }
}

impl From<ClaimError> for ApiError {
    fn from(error: ClaimError) -> Self {
        match error {
            ClaimError::SellerId | ClaimError::Invalid(_) => Self::invalid_field(error.to_string()),
            ClaimError::UnknownEntry { .. } => Self::not_found(error.to_string()),
            ClaimError::NotRecordedHere { .. } | ClaimError::NotARemoval => {
                Self::refused(error.to_string())
            }
            ClaimError::Inconsistent(_) | ClaimError::Deadline(_) => Self::internal(error),
        }
    }
}

impl From<NoticeTooLarge> for ApiError {
    fn from(error: NoticeTooLarge) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            error.to_string(),
        )
    }
}

impl From<Refusal> for ApiError {
    fn from(error: Refusal) -> Self {
        match error {
            Refusal::Inconsistent(_) => Self::internal(error),
            Refusal::NotThisOffice { .. }
            | Refusal::NotAlive { .. }
            | Refusal::NotTheHolder { .. } => Self::refused(error.to_string()),
        }
    }
}
