//! The HTTP API: the only module that names axum. JSON under `/v1`, errors as
//! `{"code", "message"}`, bodies size-limited, public routes rate-limited per client address,
//! operator routes behind a bearer token. Every route is declared once in [`routes`], which
//! builds both the router and the OpenAPI document, so the two cannot drift apart.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{ConnectInfo, DefaultBodyLimit, MatchedPath, Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use axum::{Json, Router};
use proto_types::body::{Body, EntryKind, RightId, RightType};
use proto_types::entry::{Entry, EntryId};
use proto_types::jcs;
use proto_types::keys::PublicKey;
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::NodeState;
use crate::clock::today;
use crate::ingest::{IngestError, IngestOutcome};
use crate::query::{self, SearchQuery};
use crate::storage::ClaimIndex;

/// Most client addresses tracked by the rate limiter; beyond it, idle ones are evicted.
pub const MAX_RATE_LIMITED_CLIENTS: usize = 65_536;
/// Time a request may take before the node answers 408.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// An API error: an HTTP status, a stable machine code and a human message.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    /// A new error.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }
    fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }
    fn unprocessable(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }
    fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }
    /// An internal error: logged in full, answered without details.
    fn internal(error: impl std::fmt::Display) -> Self {
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
            Json(json!({"code": self.code, "message": self.message})),
        )
            .into_response()
    }
}

impl From<IngestError> for ApiError {
    fn from(error: IngestError) -> Self {
        let code = error.code();
        match &error {
            IngestError::Invalid(proto_types::entry::EntryError::TooLarge(_)) => {
                Self::new(StatusCode::PAYLOAD_TOO_LARGE, code, error.to_string())
            }
            IngestError::Invalid(proto_types::entry::EntryError::Json(_)) => {
                Self::bad_request(code, error.to_string())
            }
            IngestError::Invalid(_) => Self::unprocessable(code, error.to_string()),
            IngestError::UnknownAuthor(_) => {
                Self::new(StatusCode::FORBIDDEN, code, error.to_string())
            }
            IngestError::Refused(_) | IngestError::OwnKeyRotated(_) => {
                Self::new(StatusCode::CONFLICT, code, error.to_string())
            }
            IngestError::PendingFull => {
                Self::new(StatusCode::SERVICE_UNAVAILABLE, code, error.to_string())
            }
            IngestError::Closed => {
                Self::new(StatusCode::SERVICE_UNAVAILABLE, code, error.to_string())
            }
            IngestError::Storage(storage) => Self::internal(storage),
        }
    }
}

impl From<crate::storage::StorageError> for ApiError {
    fn from(error: crate::storage::StorageError) -> Self {
        Self::internal(error)
    }
}

type ApiResult<T = Response> = Result<T, ApiError>;

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone; rate-limited per client address.
    Public,
    /// The operator, with the bearer token.
    Operator,
}

/// One route: what the OpenAPI document says about it, and its handler.
pub struct RouteSpec {
    /// HTTP method, lower case.
    pub method: &'static str,
    /// Path in OpenAPI form (`/v1/rights/{id}`), which axum 0.8 shares.
    pub path: &'static str,
    /// One-line summary.
    pub summary: &'static str,
    /// Who may call it.
    pub access: Access,
    /// Query parameters: name and description.
    pub query: &'static [(&'static str, &'static str)],
    /// Responses: status and description.
    pub responses: &'static [(u16, &'static str)],
    handler: MethodRouter<NodeState>,
}

/// POST routes that take no request body: the path and the method say everything.
const POSTS_WITHOUT_BODY: [&str; 2] = ["/v1/peers/{peer_id}/block", "/v1/peers/{peer_id}/unblock"];

impl RouteSpec {
    /// Whether the route reads a JSON request body. Every other route answers a non-empty body
    /// with 400 `unexpected_body`, as the OpenAPI document says.
    pub fn takes_body(&self) -> bool {
        self.method == "post" && !POSTS_WITHOUT_BODY.contains(&self.path)
    }
}

/// Every route of the API.
pub fn routes() -> Vec<RouteSpec> {
    vec![
        RouteSpec {
            method: "get",
            path: "/v1/status",
            summary: "The node's authority, peers, and every feed's head (author, latest seq and entry id)",
            access: Access::Public,
            query: &[],
            responses: &[(200, "node status")],
            handler: get(status),
        },
        RouteSpec {
            method: "post",
            path: "/v1/registrations",
            summary: "Register a right: the node signs a registration entry as its authority. `v` and `right_id` may be omitted",
            access: Access::Operator,
            query: &[],
            responses: &[(201, "stored"), (200, "identical registration already stored"), (401, "no token"), (403, "wrong token"), (409, "refused"), (422, "invalid fields")],
            handler: post(register),
        },
        RouteSpec {
            method: "post",
            path: "/v1/registrations/batch",
            summary: "Register or update up to 1000 rights at once (importers): new rights become registrations; changes to known ones become corrections and status entries; identical records write nothing",
            access: Access::Operator,
            query: &[],
            responses: &[(200, "one result per item, in order"), (401, "no token"), (403, "wrong token"), (413, "too large"), (422, "not a batch")],
            handler: post(register_batch),
        },
        RouteSpec {
            method: "post",
            path: "/v1/rights/{id}/status",
            summary: "Record a status change of a right (renewed, assigned, cancelled, expired, restored)",
            access: Access::Operator,
            query: &[],
            responses: &[(201, "stored"), (200, "no change"), (401, "no token"), (403, "wrong token"), (409, "refused"), (422, "invalid fields")],
            handler: post(change_status),
        },
        RouteSpec {
            method: "get",
            path: "/v1/rights/{id}",
            summary: "A right's current state, liveness today, and history with entry ids",
            access: Access::Public,
            query: &[],
            responses: &[(200, "the right"), (404, "unknown right")],
            handler: get(get_right),
        },
        RouteSpec {
            method: "get",
            path: "/v1/rights",
            summary: "Search rights by mark text (folded token prefix), class, jurisdiction and holder; paged",
            access: Access::Public,
            query: &[
                ("mark", "mark text; every word must match a word of the mark, the last one as a prefix"),
                ("exact", "true: the whole folded mark must equal `mark`"),
                ("class", "Nice class 1-45"),
                ("jurisdiction", "ISO 3166-1 alpha-2 or regional code (EM, WO, …)"),
                ("holder", "holder did:key, or holder name (folded prefix)"),
                ("limit", "page size, at most the node's max_page_size"),
                ("cursor", "the next_cursor of the previous page"),
            ],
            responses: &[(200, "a page of rights")],
            handler: get(search_rights),
        },
        RouteSpec {
            method: "get",
            path: "/v1/feeds",
            summary: "Every feed this node holds: author, name, latest seq and entry id",
            access: Access::Public,
            query: &[],
            responses: &[(200, "feeds")],
            handler: get(feeds),
        },
        RouteSpec {
            method: "get",
            path: "/v1/feeds/{author}",
            summary: "Entries of one feed in seq order",
            access: Access::Public,
            query: &[("from", "first seq (default 1)"), ("limit", "most entries")],
            responses: &[(200, "entries")],
            handler: get(feed),
        },
        RouteSpec {
            method: "get",
            path: "/v1/entries/{id}",
            summary: "One entry by id, with whether it changed any state",
            access: Access::Public,
            query: &[],
            responses: &[(200, "the entry"), (404, "unknown entry")],
            handler: get(get_entry),
        },
        RouteSpec {
            method: "post",
            path: "/v1/entries",
            summary: "Submit an entry already signed by a trusted authority",
            access: Access::Public,
            query: &[],
            responses: &[(201, "stored"), (200, "duplicate"), (202, "held back until earlier entries arrive"), (403, "author not trusted"), (409, "equivocation or forked branch"), (413, "too large"), (422, "invalid entry or signature")],
            handler: post(submit_entry),
        },
        RouteSpec {
            method: "get",
            path: "/v1/equivocations",
            summary: "Equivocation proofs: pairs of entries an author signed at the same seq",
            access: Access::Public,
            query: &[("limit", "most proofs")],
            responses: &[(200, "proofs")],
            handler: get(equivocations),
        },
        RouteSpec {
            method: "post",
            path: "/v1/credentials",
            summary: "Issue an IPRightCredential (eddsa-jcs-2022) for a live right of this office to its holder's key",
            access: Access::Operator,
            query: &[],
            responses: &[(201, "the signed credential"), (404, "unknown right"), (409, "right not this office's, not alive, or holder key differs"), (422, "invalid fields")],
            handler: post(issue_credential),
        },
        RouteSpec {
            method: "post",
            path: "/v1/verify",
            summary: "Dry run: the verdict a holder-signed notice would get here, with every reason",
            access: Access::Public,
            query: &[],
            responses: &[(200, "the verdict"), (400, "malformed JSON"), (409, "this node is not a marketplace"), (413, "accepted, but too large to record as a notice entry"), (422, "not a notice")],
            handler: post(verify_notice),
        },
        RouteSpec {
            method: "post",
            path: "/v1/notices",
            summary: "Submit a holder-signed notice; accepted notices are recorded as notice entries and gossiped",
            access: Access::Public,
            query: &[],
            responses: &[(201, "accepted and recorded, with the verdict"), (400, "malformed JSON"), (409, "this node is not a marketplace"), (413, "accepted, but too large to record as a notice entry"), (422, "rejected, with the verdict; or not a notice")],
            handler: post(submit_notice),
        },
        RouteSpec {
            method: "post",
            path: "/v1/decisions",
            summary: "Record a takedown decision (removed, rejected, restored) for a notice recorded here; the seller id is replaced by a keyed hash",
            access: Access::Operator,
            query: &[],
            responses: &[(201, "recorded"), (404, "unknown notice"), (409, "refused"), (422, "invalid fields")],
            handler: post(record_decision),
        },
        RouteSpec {
            method: "post",
            path: "/v1/counter-notices",
            summary: "Record a seller's counter-notice against a removal decision",
            access: Access::Operator,
            query: &[],
            responses: &[(201, "recorded"), (404, "unknown decision"), (409, "refused"), (422, "invalid fields")],
            handler: post(record_counter_notice),
        },
        RouteSpec {
            method: "get",
            path: "/v1/claims",
            summary: "Notices, decisions and counter-notices by listing, holder, seller reference, notice or right (exactly one filter)",
            access: Access::Public,
            query: &[
                ("listing", "listing id"),
                ("holder", "holder did:key"),
                ("seller_ref", "seller reference (64 hex)"),
                ("notice", "notice entry id: its decisions and counter-notices"),
                ("right", "right id"),
                ("limit", "most entries"),
            ],
            responses: &[(200, "entries")],
            handler: get(list_claims),
        },
        RouteSpec {
            method: "get",
            path: "/v1/holders/{did}/accuracy",
            summary: "A holder's notices over the policy window: filed, removed, rejected, reversed, and whether it meets the good-faith policy",
            access: Access::Public,
            query: &[],
            responses: &[(200, "accuracy"), (409, "this node is not a marketplace")],
            handler: get(holder_accuracy),
        },
        RouteSpec {
            method: "get",
            path: "/v1/sellers/{seller_ref}/strikes",
            summary: "A seller reference's strike points, their expiry, and the sanction tier reached, with reasons",
            access: Access::Public,
            query: &[],
            responses: &[(200, "strikes"), (409, "this node is not a marketplace")],
            handler: get(seller_strikes),
        },
        RouteSpec {
            method: "get",
            path: "/v1/peers",
            summary: "Known peers: connected, blocked, gossip score, addresses",
            access: Access::Operator,
            query: &[],
            responses: &[(200, "peers"), (401, "no token"), (403, "wrong token")],
            handler: get(list_peers),
        },
        RouteSpec {
            method: "post",
            path: "/v1/peers/{peer_id}/block",
            summary: "Block a peer: close its connections and refuse new ones (persisted)",
            access: Access::Operator,
            query: &[],
            responses: &[(200, "blocked"), (400, "bad peer id"), (401, "no token"), (403, "wrong token")],
            handler: post(block_peer),
        },
        RouteSpec {
            method: "post",
            path: "/v1/peers/{peer_id}/unblock",
            summary: "Unblock a peer and redial it when its address is known",
            access: Access::Operator,
            query: &[],
            responses: &[(200, "unblocked"), (400, "bad peer id"), (401, "no token"), (403, "wrong token")],
            handler: post(unblock_peer),
        },
        RouteSpec {
            method: "get",
            path: "/v1/openapi.json",
            summary: "This document",
            access: Access::Public,
            query: &[],
            responses: &[(200, "OpenAPI 3.1 document")],
            handler: get(openapi),
        },
        RouteSpec {
            method: "get",
            path: "/metrics",
            summary: "Prometheus metrics",
            access: Access::Public,
            query: &[],
            responses: &[(200, "text exposition format")],
            handler: get(metrics),
        },
    ]
    .into_iter()
    .map(|mut spec| {
        spec.handler = spec.handler.fallback(method_not_allowed);
        if !spec.takes_body() {
            spec.handler = spec
                .handler
                .route_layer(middleware::from_fn(refuse_unexpected_body));
        }
        spec
    })
    .collect()
}

/// Refuses a request that carries a body to a route that takes none (400 `unexpected_body`).
/// At most one byte of the body is read; the connection is closed after the answer, since the
/// rest of the body is left unread.
async fn refuse_unexpected_body(request: Request, next: Next) -> Response {
    let declared_empty = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .is_some_and(|length| length.as_bytes() == b"0");
    let may_have_body = !declared_empty
        && (request.headers().contains_key(header::CONTENT_LENGTH)
            || request.headers().contains_key(header::TRANSFER_ENCODING));
    if !may_have_body {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    match axum::body::to_bytes(body, 1).await {
        Ok(bytes) if bytes.is_empty() => {
            next.run(Request::from_parts(parts, axum::body::Body::empty()))
                .await
        }
        _ => {
            let mut response = ApiError::bad_request(
                "unexpected_body",
                "this route takes no request body; send none (see GET /v1/openapi.json)",
            )
            .into_response();
            response.headers_mut().insert(
                header::CONNECTION,
                header::HeaderValue::from_static("close"),
            );
            response
        }
    }
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "method not allowed on this path",
    )
}

async fn not_found_route() -> ApiError {
    ApiError::not_found("no such endpoint; see GET /v1/openapi.json")
}

/// Builds the router with every layer: limits, auth, rate limiting, metrics.
pub fn router(state: NodeState) -> Router {
    let mut public = Router::new();
    let mut operator = Router::new();
    for spec in routes() {
        match spec.access {
            Access::Public => public = public.route(spec.path, spec.handler),
            Access::Operator => operator = operator.route(spec.path, spec.handler),
        }
    }
    let limiter = Arc::new(RateLimiter::new(
        state.config.limits.rate_limit_per_second,
        state.config.limits.rate_limit_burst,
    ));
    let public = public.layer(middleware::from_fn_with_state(limiter, rate_limit));
    let operator = operator.layer(middleware::from_fn_with_state(
        state.clone(),
        require_operator,
    ));
    public
        .merge(operator)
        .fallback(not_found_route)
        .layer(DefaultBodyLimit::max(state.config.limits.max_body_bytes))
        .layer(middleware::from_fn(close_after_unread_body))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            record_metrics,
        ))
        .layer(tower::limit::GlobalConcurrencyLimitLayer::new(
            state.config.limits.max_concurrent_requests,
        ))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .with_state(state)
}

async fn record_metrics(State(state): State<NodeState>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let started = Instant::now();
    let response = next.run(request).await;
    state
        .metrics
        .request(&route, response.status().as_u16(), started.elapsed());
    response
}

/// A request refused for its size leaves its body unread on the connection, so the server
/// closes that connection; saying so stops clients from reusing it for their next request.
async fn close_after_unread_body(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    if response.status() == StatusCode::PAYLOAD_TOO_LARGE {
        response.headers_mut().insert(
            header::CONNECTION,
            header::HeaderValue::from_static("close"),
        );
    }
    response
}

fn constant_time_equal(left: &[u8], right: &[u8]) -> bool {
    // Compare digests so that neither length nor content leaks through timing.
    let left = Sha256::digest(left);
    let right = Sha256::digest(right);
    left.iter()
        .zip(right.iter())
        .fold(0u8, |acc, (a, b)| acc | (a ^ b))
        == 0
}

async fn require_operator(
    State(state): State<NodeState>,
    request: Request,
    next: Next,
) -> Response {
    let header_value = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok());
    let Some(value) = header_value else {
        return ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "this endpoint needs the operator's bearer token",
        )
        .into_response();
    };
    let token = value.strip_prefix("Bearer ").unwrap_or("");
    if !constant_time_equal(token.as_bytes(), state.operator_token.as_bytes()) {
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "the bearer token is not this node's operator token",
        )
        .into_response();
    }
    next.run(request).await
}

/// A token bucket per client address.
pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    buckets: Mutex<HashMap<IpAddr, (f64, Instant)>>,
}

impl RateLimiter {
    /// A limiter allowing `per_second` sustained and `burst` at once, per address.
    pub fn new(per_second: u32, burst: u32) -> Self {
        Self {
            per_second: f64::from(per_second),
            burst: f64::from(burst),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `client`; false when its bucket is empty.
    pub fn allow(&self, client: IpAddr) -> bool {
        let Ok(mut buckets) = self.buckets.lock() else {
            return true;
        };
        let now = Instant::now();
        if buckets.len() >= MAX_RATE_LIMITED_CLIENTS && !buckets.contains_key(&client) {
            // Forget clients whose buckets have refilled: they are indistinguishable from new.
            let refill = Duration::from_secs_f64(self.burst / self.per_second);
            buckets.retain(|_, (_, last)| now.duration_since(*last) < refill);
            if buckets.len() >= MAX_RATE_LIMITED_CLIENTS {
                return false;
            }
        }
        let (tokens, last) = buckets.entry(client).or_insert((self.burst, now));
        *tokens =
            (*tokens + now.duration_since(*last).as_secs_f64() * self.per_second).min(self.burst);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

async fn rate_limit(
    State(limiter): State<Arc<RateLimiter>>,
    request: Request,
    next: Next,
) -> Response {
    let client = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::from([0, 0, 0, 0]), |info| info.0.ip());
    if !limiter.allow(client) {
        let mut response = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "too many requests; slow down",
        )
        .into_response();
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
        return response;
    }
    next.run(request).await
}

fn body_bytes(body: Result<Bytes, BytesRejection>) -> ApiResult<Bytes> {
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

fn json_object(bytes: &[u8]) -> ApiResult<serde_json::Map<String, Value>> {
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

fn query_params<T>(query: Result<Query<T>, QueryRejection>) -> ApiResult<T> {
    query
        .map(|Query(value)| value)
        .map_err(|rejection| ApiError::bad_request("bad_query", rejection.body_text()))
}

fn outcome_response(outcome: IngestOutcome) -> Response {
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

async fn status(State(state): State<NodeState>) -> ApiResult {
    let store = state.store.clone();
    let heads = tokio::task::spawn_blocking(move || store.heads())
        .await
        .map_err(ApiError::internal)??;
    let trust = state.ingest.trust();
    let feeds: Vec<Value> = heads
        .iter()
        .map(|(author, head)| {
            json!({
                "author": author.to_did_key(),
                "name": trust.get(author).map(|authority| authority.name.clone()),
                "seq": head.seq,
                "id": head.id,
            })
        })
        .collect();
    let entry_count: u64 = heads.iter().map(|(_, head)| head.seq).sum();
    let peers = state.peers.snapshot();
    Ok(Json(json!({
        "authority": state.authority.to_did_key(),
        "name": trust.get(&state.authority).map(|authority| authority.name.clone()),
        "peer_id": peers.peer_id,
        "p2p_addrs": peers.listen_addrs,
        "peers": peers.connected,
        "peer_count": peers.connected.len(),
        "feeds": feeds,
        "entry_count": entry_count,
        "version": env!("CARGO_PKG_VERSION"),
    }))
    .into_response())
}

/// Fills `v` and a missing `right_id` of a registration request, then decodes it.
fn registration_body(mut object: serde_json::Map<String, Value>) -> ApiResult<Body> {
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
            if let Ok(jurisdiction) = proto_types::body::Jurisdiction::parse(jurisdiction) {
                if let Ok(right_id) = RightId::new(&jurisdiction, right_type, number) {
                    object.insert("right_id".to_owned(), Value::from(right_id.as_str()));
                }
            }
        }
    }
    Body::decode(EntryKind::Registration, &Value::Object(object))
        .map_err(|error| ApiError::unprocessable("invalid_field", error.to_string()))
}

async fn register(
    State(state): State<NodeState>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult {
    let object = json_object(&body_bytes(body)?)?;
    let body = registration_body(object)?;
    Ok(outcome_response(state.ingest.append(body).await?))
}

async fn register_batch(
    State(state): State<NodeState>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult {
    let mut object = json_object(&body_bytes(body)?)?;
    let Some(Value::Array(items)) = object.remove("items") else {
        return Err(ApiError::unprocessable(
            "invalid_field",
            "items: an array of registrations is required",
        ));
    };
    if let Some(unknown) = object.keys().next() {
        return Err(ApiError::unprocessable(
            "invalid_field",
            format!("unknown field {unknown:?}"),
        ));
    }
    if items.len() > crate::upsert::MAX_BATCH_ITEMS {
        return Err(ApiError::unprocessable(
            "invalid_field",
            format!(
                "items: at most {} per batch",
                crate::upsert::MAX_BATCH_ITEMS
            ),
        ));
    }
    // Parsed first, then upserted together: the records' entries go through the bulk door
    // for own entries, committed in groups.
    let records: Vec<ApiResult<crate::upsert::RegisterRecord>> =
        items.into_iter().map(batch_record).collect();
    let right_ids: Vec<Option<String>> = records
        .iter()
        .map(|record| {
            record
                .as_ref()
                .ok()
                .map(|record| record.registration.right_id.as_str().to_owned())
        })
        .collect();
    let outcomes = crate::upsert::upsert_many(&state.ingest, records).await;
    let mut results = Vec::with_capacity(outcomes.len());
    for (index, (result, right_id)) in outcomes.into_iter().zip(right_ids).enumerate() {
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
    Ok(Json(json!({"results": results})).into_response())
}

/// One item of a registration batch: a registration and its optional `status_date`.
fn batch_record(item: Value) -> ApiResult<crate::upsert::RegisterRecord> {
    let Value::Object(mut item) = item else {
        return Err(ApiError::unprocessable(
            "invalid_field",
            "item must be an object",
        ));
    };
    let status_date = match item.remove("status_date") {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) => {
            Some(proto_types::timestamp::Date::parse(&text).map_err(|error| {
                ApiError::unprocessable("invalid_field", format!("status_date: {error}"))
            })?)
        }
        Some(_) => {
            return Err(ApiError::unprocessable(
                "invalid_field",
                "status_date must be a date",
            ));
        }
    };
    let Body::Registration(registration) = registration_body(item)? else {
        return Err(ApiError::internal("registration body of another kind"));
    };
    Ok(crate::upsert::RegisterRecord {
        registration,
        status_date,
    })
}

async fn change_status(
    State(state): State<NodeState>,
    Path(right_id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult {
    let right_id = RightId::parse(&right_id)
        .map_err(|error| ApiError::bad_request("bad_right_id", error.to_string()))?;
    let mut object = json_object(&body_bytes(body)?)?;
    object.entry("v").or_insert(Value::from(1));
    match object.get("right_id") {
        None => {
            object.insert("right_id".to_owned(), Value::from(right_id.as_str()));
        }
        Some(value) if value.as_str() == Some(right_id.as_str()) => {}
        Some(_) => {
            return Err(ApiError::unprocessable(
                "invalid_field",
                "right_id: differs from the right in the path",
            ));
        }
    }
    let body = Body::decode(EntryKind::Status, &Value::Object(object))
        .map_err(|error| ApiError::unprocessable("invalid_field", error.to_string()))?;
    Ok(outcome_response(state.ingest.append(body).await?))
}

/// A right's current state, read off the executor; 404 when this node does not know it.
async fn load_right(state: &NodeState, right_id: &RightId) -> ApiResult<crate::rights::RightState> {
    let store = state.store.clone();
    let id = right_id.as_str().to_owned();
    tokio::task::spawn_blocking(move || store.right(&id))
        .await
        .map_err(ApiError::internal)??
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "no right {} is known to this node",
                right_id.as_str()
            ))
        })
}

async fn get_right(State(state): State<NodeState>, Path(right_id): Path<String>) -> ApiResult {
    let right_id = RightId::parse(&right_id)
        .map_err(|error| ApiError::bad_request("bad_right_id", error.to_string()))?;
    let right = load_right(&state, &right_id).await?;
    Ok(Json(query::right_json(&right, &today())).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SearchParams {
    mark: Option<String>,
    exact: Option<bool>,
    class: Option<u8>,
    jurisdiction: Option<String>,
    holder: Option<String>,
    limit: Option<usize>,
    cursor: Option<String>,
}

async fn search_rights(
    State(state): State<NodeState>,
    params: Result<Query<SearchParams>, QueryRejection>,
) -> ApiResult {
    let params = query_params(params)?;
    let limit = params.limit.unwrap_or(50);
    if limit == 0 || limit > state.config.limits.max_page_size {
        return Err(ApiError::bad_request(
            "bad_query",
            format!("limit must be in 1..={}", state.config.limits.max_page_size),
        ));
    }
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
    let store = state.store.clone();
    let page = tokio::task::spawn_blocking(move || query::search(&store, &search))
        .await
        .map_err(ApiError::internal)??;
    let today = today();
    Ok(Json(json!({
        "rights": page.rights.iter().map(|right| query::right_summary(right, &today)).collect::<Vec<_>>(),
        "next_cursor": page.next_cursor,
    }))
    .into_response())
}

async fn feeds(State(state): State<NodeState>) -> ApiResult {
    let store = state.store.clone();
    let heads = tokio::task::spawn_blocking(move || store.heads())
        .await
        .map_err(ApiError::internal)??;
    let trust = state.ingest.trust();
    Ok(Json(json!({
        "feeds": heads.iter().map(|(author, head)| json!({
            "author": author.to_did_key(),
            "name": trust.get(author).map(|a| a.name.clone()),
            "role": trust.get(author).map(|a| a.role),
            "seq": head.seq,
            "id": head.id,
        })).collect::<Vec<_>>()
    }))
    .into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FeedParams {
    from: Option<u64>,
    limit: Option<usize>,
}

async fn feed(
    State(state): State<NodeState>,
    Path(author): Path<String>,
    params: Result<Query<FeedParams>, QueryRejection>,
) -> ApiResult {
    let params = query_params(params)?;
    let author = PublicKey::from_did_key(&author)
        .map_err(|error| ApiError::bad_request("bad_author", error.to_string()))?;
    let limit = params.limit.unwrap_or(100);
    if limit == 0 || limit > state.config.limits.max_page_size {
        return Err(ApiError::bad_request(
            "bad_query",
            format!("limit must be in 1..={}", state.config.limits.max_page_size),
        ));
    }
    let from = params.from.unwrap_or(1).max(1);
    let store = state.store.clone();
    let max_bytes = state.config.limits.max_body_bytes.max(1024 * 1024) * 4;
    let entries = tokio::task::spawn_blocking(move || store.feed(&author, from, limit, max_bytes))
        .await
        .map_err(ApiError::internal)??;
    let values: Vec<Value> = entries
        .iter()
        .filter_map(|bytes| serde_json::from_slice(bytes).ok())
        .collect();
    let next = values
        .last()
        .and_then(|entry| entry.get("seq"))
        .and_then(Value::as_u64)
        .map(|seq| seq + 1);
    Ok(Json(json!({"entries": values, "next_from": next})).into_response())
}

async fn get_entry(State(state): State<NodeState>, Path(id): Path<String>) -> ApiResult {
    let id = EntryId::from_hex(&id)
        .map_err(|error| ApiError::bad_request("bad_entry_id", error.to_string()))?;
    let store = state.store.clone();
    let (entry, ineffective) = tokio::task::spawn_blocking(move || {
        Ok::<_, crate::storage::StorageError>((store.entry(&id)?, store.ineffective_reason(&id)?))
    })
    .await
    .map_err(ApiError::internal)??;
    let entry: Entry = entry.ok_or_else(|| ApiError::not_found(format!("no entry {id}")))?;
    Ok(Json(json!({
        "id": entry.id(),
        "entry": entry.value(),
        "effective": ineffective.is_none(),
        "ineffective_reason": ineffective,
    }))
    .into_response())
}

async fn submit_entry(
    State(state): State<NodeState>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult {
    // An entry refused for its size never reaches the ingest path; count it here.
    let bytes = body_bytes(body).inspect_err(|_| state.metrics.entry_rejected("too_large"))?;
    Ok(outcome_response(
        state
            .ingest
            .submit_bytes(bytes.to_vec(), crate::ingest::Source::Local)
            .await?,
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitParams {
    limit: Option<usize>,
}

async fn equivocations(
    State(state): State<NodeState>,
    params: Result<Query<LimitParams>, QueryRejection>,
) -> ApiResult {
    let limit = query_params(params)?
        .limit
        .unwrap_or(100)
        .clamp(1, state.config.limits.max_page_size);
    let store = state.store.clone();
    let proofs = tokio::task::spawn_blocking(move || store.equivocations(limit))
        .await
        .map_err(ApiError::internal)??;
    Ok(Json(json!({"equivocations": proofs})).into_response())
}

fn marketplace_policy(state: &NodeState) -> ApiResult<crate::config::MarketplacePolicy> {
    state.config.marketplace.clone().ok_or_else(|| {
        ApiError::new(
            StatusCode::CONFLICT,
            "not_a_marketplace",
            "this node has no [marketplace] policy; notices go to marketplace nodes",
        )
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CredentialRequest {
    right_id: String,
    holder: String,
    valid_until: Option<String>,
}

/// Refuses (409 `key_rotated`) work that would sign with this node's key once a rotation of it
/// is stored; own feed appends are refused by the writer itself.
fn refuse_if_own_key_rotated(state: &NodeState) -> ApiResult<()> {
    match state.ingest.trust().rotated_at(&state.authority) {
        Some(rotated_at) => Err(IngestError::OwnKeyRotated(rotated_at).into()),
        None => Ok(()),
    }
}

async fn issue_credential(
    State(state): State<NodeState>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult {
    let object = json_object(&body_bytes(body)?)?;
    let request: CredentialRequest = serde_json::from_value(Value::Object(object))
        .map_err(|error| ApiError::unprocessable("invalid_field", error.to_string()))?;
    let right_id = RightId::parse(&request.right_id)
        .map_err(|error| ApiError::unprocessable("invalid_field", error.to_string()))?;
    let holder = PublicKey::from_did_key(&request.holder)
        .map_err(|error| ApiError::unprocessable("invalid_field", format!("holder: {error}")))?;
    let requested_until = request
        .valid_until
        .as_deref()
        .map(proto_types::timestamp::Timestamp::parse)
        .transpose()
        .map_err(|error| {
            ApiError::unprocessable("invalid_field", format!("valid_until: {error}"))
        })?;
    refuse_if_own_key_rotated(&state)?;
    let right = load_right(&state, &right_id).await?;
    let refuse = |message: String| ApiError::new(StatusCode::CONFLICT, "refused", message);
    if right.registered_by != state.ingest.trust().root(&state.authority) {
        return Err(refuse(format!(
            "right {} was registered by {}, not by this office",
            right.right_id, right.registered_by
        )));
    }
    let now = crate::clock::now();
    match right.liveness(&now.date()) {
        crate::rights::Liveness::Alive => {}
        other => {
            return Err(refuse(format!(
                "right {} is not alive: {}",
                right.right_id,
                serde_json::to_string(&other).unwrap_or_default()
            )));
        }
    }
    if right.holder.key.as_ref() != Some(&holder) {
        return Err(refuse(format!(
            "the registry does not name {} as the holder key of {}",
            holder, right.right_id
        )));
    }
    // Valid until the end of the right's expiry day at the latest.
    let expiry_end = right.expiry_date.as_ref().and_then(|date| {
        proto_types::timestamp::Timestamp::parse(&format!("{date}T23:59:59Z")).ok()
    });
    let valid_until = match (requested_until, expiry_end) {
        (Some(requested), Some(end)) => Some(requested.min(end)),
        (Some(requested), None) => Some(requested),
        (None, end) => end,
    };
    let Some(registration_entry) = right.last_of(&[
        crate::rights::HistoryChange::Registration,
        crate::rights::HistoryChange::Correction,
    ]) else {
        return Err(ApiError::internal(
            "right without a registration in its history",
        ));
    };
    let claims = proto_types::claims::RightClaims {
        right_id: RightId::parse(right.right_id.as_str()).map_err(ApiError::internal)?,
        right_type: right.right_type.as_str().to_owned(),
        mark: right.mark_text.clone().or_else(|| right.title.clone()),
        nice_classes: right.nice_classes.clone(),
        holder_name: right.holder.name.clone(),
        expiry_date: right
            .expiry_date
            .as_ref()
            .map(|date| date.as_str().to_owned()),
        registration_entry,
    };
    let mut nonce = [0u8; 16];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut nonce);
    let document = proto_types::claims::credential_document(
        &format!("urn:rightsnet:credential:{}", hex::encode(nonce)),
        &state.authority,
        &holder,
        &claims,
        &now,
        valid_until.as_ref(),
    );
    let signed = proto_types::claims::sign_credential(&document, &state.key, &now)
        .map_err(ApiError::internal)?;
    Ok((StatusCode::CREATED, Json(signed)).into_response())
}

/// Decodes a notice and computes its verdict on the blocking pool. An accepted notice that
/// could not be recorded because its `notice` entry would be too large is refused with 413, by
/// the dry run and the submission alike, so the dry run promises nothing the submission cannot
/// keep.
async fn judge(
    state: &NodeState,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<(proto_types::body::HolderNotice, proto_types::body::Verdict)> {
    let policy = marketplace_policy(state)?;
    // A marketplace whose key was rotated away cannot record a notice; the dry run says the
    // same as the submission would.
    refuse_if_own_key_rotated(state)?;
    let object = json_object(&body_bytes(body)?)?;
    let value = Value::Object(object);
    let notice = proto_types::body::HolderNotice::decode(&value)
        .map_err(|error| ApiError::unprocessable("invalid_notice", error.to_string()))?;
    let store = state.store.clone();
    let ingest = state.ingest.clone();
    let marketplace = state.authority;
    let for_verdict = notice.clone();
    let (verdict, entry_size) = tokio::task::spawn_blocking(move || {
        let context = crate::claims::VerdictContext {
            store: &store,
            trust: ingest.trust(),
            marketplace: &marketplace,
            policy: &policy,
            now: crate::clock::now(),
        };
        let verdict = crate::claims::verdict(&value, &for_verdict, &context)?;
        // Only an accepted notice is recorded; canonicalising it is CPU work, done here.
        let entry_size = if verdict.accepted {
            proto_types::entry::max_entry_len(&marketplace, &notice_body(&for_verdict, &verdict))
                .ok()
        } else {
            None
        };
        Ok::<_, crate::storage::StorageError>((verdict, entry_size))
    })
    .await
    .map_err(ApiError::internal)??;
    if verdict.accepted {
        // A notice that decoded always canonicalises; `None` here would be a bug, and the
        // append would then refuse the entry with its own error.
        let size = entry_size.unwrap_or(0);
        if size > proto_types::entry::MAX_ENTRY_BYTES {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                format!(
                    "the notice passes every check, but its notice entry would be up to {size} bytes, over the limit of {} bytes",
                    proto_types::entry::MAX_ENTRY_BYTES
                ),
            ));
        }
    }
    Ok((notice, verdict))
}

/// The body of the `notice` entry that records an accepted notice: the notice as received.
fn notice_body(
    notice: &proto_types::body::HolderNotice,
    verdict: &proto_types::body::Verdict,
) -> proto_types::body::Body {
    proto_types::body::Body::Notice(proto_types::body::NoticeV1 {
        v: 1,
        notice: notice.clone(),
        verdict: verdict.clone(),
    })
}

async fn verify_notice(
    State(state): State<NodeState>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult {
    let (_, verdict) = judge(&state, body).await?;
    Ok(Json(json!({"verdict": verdict})).into_response())
}

async fn submit_notice(
    State(state): State<NodeState>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult {
    let (notice, verdict) = judge(&state, body).await?;
    if !verdict.accepted {
        let failed: Vec<String> = verdict
            .reasons
            .iter()
            .filter(|reason| !reason.ok)
            .map(|reason| format!("{}: {}", reason.code, reason.message))
            .collect();
        return Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({
                "code": "notice_rejected",
                "message": failed.join("; "),
                "verdict": verdict,
            })),
        )
            .into_response());
    }
    match state.ingest.append(notice_body(&notice, &verdict)).await? {
        IngestOutcome::Stored { id, .. } => Ok((
            StatusCode::CREATED,
            Json(json!({"notice_id": id, "verdict": verdict})),
        )
            .into_response()),
        other => Err(ApiError::internal(format!("unexpected outcome {other:?}"))),
    }
}

/// Loads one of this node's own entries of a given kind.
async fn own_entry(state: &NodeState, id: &str, kind: EntryKind, what: &str) -> ApiResult<Entry> {
    let id = EntryId::from_hex(id)
        .map_err(|error| ApiError::unprocessable("invalid_field", format!("{what}: {error}")))?;
    let store = state.store.clone();
    let entry = tokio::task::spawn_blocking(move || store.entry(&id))
        .await
        .map_err(ApiError::internal)??
        .ok_or_else(|| ApiError::not_found(format!("no {what} {id} is known to this node")))?;
    if entry.kind() != kind || entry.author() != &state.authority {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "refused",
            format!("entry {id} is not a {what} recorded by this marketplace"),
        ));
    }
    Ok(entry)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DecisionRequest {
    notice_id: String,
    outcome: proto_types::body::DecisionOutcome,
    reason: String,
    seller_id: String,
    listing_ids: Option<Vec<String>>,
}

async fn record_decision(
    State(state): State<NodeState>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult {
    let policy = marketplace_policy(&state)?;
    let object = json_object(&body_bytes(body)?)?;
    let request: DecisionRequest = serde_json::from_value(Value::Object(object))
        .map_err(|error| ApiError::unprocessable("invalid_field", error.to_string()))?;
    if request.seller_id.trim().is_empty() || request.seller_id.len() > 256 {
        return Err(ApiError::unprocessable(
            "invalid_field",
            "seller_id: 1 to 256 bytes",
        ));
    }
    let notice = own_entry(&state, &request.notice_id, EntryKind::Notice, "notice").await?;
    let proto_types::body::Body::Notice(recorded) = notice.body() else {
        return Err(ApiError::internal("notice entry without a notice body"));
    };
    let listing_ids = request.listing_ids.unwrap_or_else(|| {
        recorded
            .notice
            .listings
            .iter()
            .map(|listing| listing.id.clone())
            .collect()
    });
    let seller_key = state
        .seller_key
        .as_ref()
        .ok_or_else(|| ApiError::internal("marketplace without a seller key"))?;
    let deadline = match request.outcome {
        proto_types::body::DecisionOutcome::Removed => Some(
            crate::clock::today()
                .add_days(i32::try_from(policy.counter_notice_days).unwrap_or(i32::MAX))
                .map_err(ApiError::internal)?,
        ),
        _ => None,
    };
    let body = json!({
        "v": 1,
        "notice_id": notice.id(),
        "listing_ids": listing_ids,
        "outcome": request.outcome,
        "reason": request.reason,
        "seller_ref": crate::claims::seller_ref(seller_key, &request.seller_id),
        "counter_notice_deadline": deadline,
    });
    let body = proto_types::body::Body::decode(EntryKind::Decision, &body)
        .map_err(|error| ApiError::unprocessable("invalid_field", error.to_string()))?;
    Ok(outcome_response(state.ingest.append(body).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CounterNoticeRequest {
    decision_id: String,
    statement: String,
    #[serde(default)]
    evidence: Vec<Value>,
}

async fn record_counter_notice(
    State(state): State<NodeState>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult {
    marketplace_policy(&state)?;
    let object = json_object(&body_bytes(body)?)?;
    let request: CounterNoticeRequest = serde_json::from_value(Value::Object(object))
        .map_err(|error| ApiError::unprocessable("invalid_field", error.to_string()))?;
    let decision = own_entry(
        &state,
        &request.decision_id,
        EntryKind::Decision,
        "decision",
    )
    .await?;
    let proto_types::body::Body::Decision(recorded) = decision.body() else {
        return Err(ApiError::internal("decision entry without a decision body"));
    };
    if recorded.outcome != proto_types::body::DecisionOutcome::Removed {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "refused",
            "a counter-notice answers a removal; this decision did not remove anything",
        ));
    }
    let mut body = json!({
        "v": 1,
        "decision_id": decision.id(),
        "notice_id": recorded.notice_id,
        "seller_ref": recorded.seller_ref,
        "statement": request.statement,
    });
    if !request.evidence.is_empty() {
        body["evidence"] = Value::Array(request.evidence);
    }
    let body = proto_types::body::Body::decode(EntryKind::CounterNotice, &body)
        .map_err(|error| ApiError::unprocessable("invalid_field", error.to_string()))?;
    Ok(outcome_response(state.ingest.append(body).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClaimParams {
    listing: Option<String>,
    holder: Option<String>,
    seller_ref: Option<String>,
    notice: Option<String>,
    right: Option<String>,
    limit: Option<usize>,
}

async fn list_claims(
    State(state): State<NodeState>,
    params: Result<Query<ClaimParams>, QueryRejection>,
) -> ApiResult {
    let params = query_params(params)?;
    let limit = params
        .limit
        .unwrap_or(100)
        .clamp(1, state.config.limits.max_page_size);
    let filters = [
        (ClaimIndex::Listing, params.listing),
        (ClaimIndex::Holder, params.holder),
        (ClaimIndex::SellerRef, params.seller_ref),
        (ClaimIndex::Notice, params.notice),
        (ClaimIndex::Right, params.right),
    ];
    let mut given = filters
        .into_iter()
        .filter_map(|(index, value)| value.map(|v| (index, v)));
    let (Some((index, value)), None) = (given.next(), given.next()) else {
        return Err(ApiError::bad_request(
            "bad_query",
            "give exactly one of listing, holder, seller_ref, notice, right",
        ));
    };
    if value.is_empty() || value.len() > 256 || value.contains('\0') {
        return Err(ApiError::bad_request(
            "bad_query",
            "filter value must be 1 to 256 bytes",
        ));
    }
    let store = state.store.clone();
    let entries = tokio::task::spawn_blocking(move || {
        let ids = store.claim_ids(index, &value, limit)?;
        let mut entries = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(entry) = store.entry(&id)? {
                entries.push(json!({"id": id, "kind": entry.kind(), "entry": entry.value()}));
            }
        }
        Ok::<_, crate::storage::StorageError>(entries)
    })
    .await
    .map_err(ApiError::internal)??;
    Ok(Json(json!({"claims": entries})).into_response())
}

async fn holder_accuracy(State(state): State<NodeState>, Path(did): Path<String>) -> ApiResult {
    let policy = marketplace_policy(&state)?;
    let holder = PublicKey::from_did_key(&did)
        .map_err(|error| ApiError::bad_request("bad_holder", error.to_string()))?;
    let store = state.store.clone();
    let view = tokio::task::spawn_blocking(move || {
        crate::claims::holder_accuracy(&store, &holder, &policy, &crate::clock::now())
    })
    .await
    .map_err(ApiError::internal)??;
    Ok(Json(view).into_response())
}

async fn seller_strikes(
    State(state): State<NodeState>,
    Path(seller_ref): Path<String>,
) -> ApiResult {
    let policy = marketplace_policy(&state)?;
    if seller_ref.len() != 64
        || !seller_ref
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        return Err(ApiError::bad_request(
            "bad_seller_ref",
            "a seller reference is 64 lowercase hex characters",
        ));
    }
    let store = state.store.clone();
    let view = tokio::task::spawn_blocking(move || {
        crate::claims::seller_strikes(&store, &seller_ref, &policy, &crate::clock::now())
    })
    .await
    .map_err(ApiError::internal)??;
    Ok(Json(view).into_response())
}

impl From<crate::network::NetworkError> for ApiError {
    fn from(error: crate::network::NetworkError) -> Self {
        match error {
            crate::network::NetworkError::BadPeerId(_) => {
                Self::bad_request("bad_peer_id", error.to_string())
            }
            crate::network::NetworkError::Closed => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "shutting_down",
                error.to_string(),
            ),
        }
    }
}

async fn list_peers(State(state): State<NodeState>) -> ApiResult {
    let peers = state.network.peers().await?;
    Ok(Json(json!({"peers": peers})).into_response())
}

async fn block_peer(State(state): State<NodeState>, Path(peer_id): Path<String>) -> ApiResult {
    let newly = state.network.block(&peer_id).await?;
    Ok(Json(json!({"peer_id": peer_id, "blocked": true, "changed": newly})).into_response())
}

async fn unblock_peer(State(state): State<NodeState>, Path(peer_id): Path<String>) -> ApiResult {
    let was = state.network.unblock(&peer_id).await?;
    Ok(Json(json!({"peer_id": peer_id, "blocked": false, "changed": was})).into_response())
}

async fn metrics(State(state): State<NodeState>) -> Response {
    let store = state.store.clone();
    let size = tokio::task::spawn_blocking(move || store.estimated_size_bytes())
        .await
        .unwrap_or(0);
    let text = state.metrics.render(&[(
        "rightsnet_storage_estimated_bytes",
        "Bytes the store holds: table files on disk plus memtables not flushed yet.",
        size as f64,
    )]);
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/plain; version=0.0.4"),
    );
    (headers, text).into_response()
}

/// The OpenAPI 3.1 document, generated from [`routes`].
pub fn openapi_document() -> Value {
    let mut paths = serde_json::Map::new();
    for spec in routes() {
        let mut parameters: Vec<Value> = Vec::new();
        let mut rest = spec.path;
        while let Some(start) = rest.find('{') {
            let Some(end) = rest[start..].find('}') else {
                break;
            };
            let name = &rest[start + 1..start + end];
            parameters.push(
                json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}),
            );
            rest = &rest[start + end..];
        }
        for (name, description) in spec.query {
            parameters.push(json!({"name": name, "in": "query", "required": false, "description": description, "schema": {"type": "string"}}));
        }
        let mut responses = serde_json::Map::new();
        for (status, description) in spec.responses {
            responses.insert(status.to_string(), json!({"description": description}));
        }
        if !spec.takes_body() {
            responses.entry("400").or_insert_with(
                || json!({"description": "a request body was sent; this route takes none"}),
            );
        }
        responses.insert(
            "default".to_owned(),
            json!({
                "description": "error",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
            }),
        );
        let mut operation = json!({
            "summary": spec.summary,
            "parameters": parameters,
            "responses": responses,
        });
        if spec.takes_body() {
            operation["requestBody"] = json!({"required": true, "content": {"application/json": {"schema": {"type": "object"}}}});
        }
        if spec.access == Access::Operator {
            operation["security"] = json!([{"operatorToken": []}]);
        }
        let item = paths
            .entry(spec.path.to_owned())
            .or_insert_with(|| json!({}));
        item[spec.method] = operation;
    }
    json!({
        "openapi": "3.1.0",
        "info": {"title": "Rightsnet node API", "version": env!("CARGO_PKG_VERSION")},
        "paths": paths,
        "components": {
            "securitySchemes": {"operatorToken": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {"code": {"type": "string"}, "message": {"type": "string"}}
            }}
        }
    })
}

async fn openapi() -> Json<Value> {
    Json(openapi_document())
}
