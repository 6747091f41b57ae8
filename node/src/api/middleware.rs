//! The layers around every handler: authentication of operator routes (bearer token, compared
//! in constant time), the per-address rate limit of public routes, request metrics, refusal of a
//! body sent to a route that takes none, and closing connections whose body was left unread.
//! Also the answers for unknown paths (404) and methods (405).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use super::error::ApiError;
use super::state::NodeState;

/// Most client addresses tracked by the rate limiter; beyond it, idle ones are evicted.
pub const MAX_RATE_LIMITED_CLIENTS: usize = 65_536;

/// Refuses a request that carries a body to a route that takes none (400 `unexpected_body`).
/// At most one byte of the body is read; the connection is closed after the answer, since the
/// rest of the body is left unread.
pub(super) async fn refuse_unexpected_body(request: Request, next: Next) -> Response {
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

/// 405 `method_not_allowed`: the path exists, not with this method.
pub(super) async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "method not allowed on this path",
    )
}

/// 404 `not_found`: no route has this path.
pub(super) async fn not_found_route() -> ApiError {
    ApiError::not_found("no such endpoint; see GET /v1/openapi.json")
}

/// Counts the request and its latency by route template (`unmatched` for unknown paths) and
/// status.
pub(super) async fn record_metrics(
    State(state): State<NodeState>,
    request: Request,
    next: Next,
) -> Response {
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
pub(super) async fn close_after_unread_body(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    if response.status() == StatusCode::PAYLOAD_TOO_LARGE {
        response.headers_mut().insert(
            header::CONNECTION,
            header::HeaderValue::from_static("close"),
        );
    }
    response
}

/// Whether two byte strings are equal, in time independent of where they differ.
pub(crate) fn constant_time_equal(left: &[u8], right: &[u8]) -> bool {
    // Compare digests so that neither length nor content leaks through timing.
    let left = Sha256::digest(left);
    let right = Sha256::digest(right);
    left.iter()
        .zip(right.iter())
        .fold(0u8, |acc, (a, b)| acc | (a ^ b))
        == 0
}

/// Operator routes: 401 `unauthorized` without an `Authorization` header, 403 `forbidden` with a
/// token that is not the operator's.
pub(super) async fn require_operator(
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

/// Public routes: 429 `rate_limited` (with `Retry-After: 1`) when the client address's bucket is
/// empty.
pub(crate) async fn rate_limit(
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
