//! The node's own routes (status, OpenAPI document, metrics) and what every route shares:
//! unknown paths and methods, the body limit, the rate limit.

use axum::http::{StatusCode, header};
use proto_types::keys::SecretKey;
use serde_json::Value;

use super::{Auth, Federation, MAX_BODY_BYTES, Role, registration};
use crate::api::{router, routes};
use crate::config::Limits;

/// The routes this area tests.
pub(super) const ROUTES: &[(&str, &str)] = &[
    ("get", "/v1/status"),
    ("get", "/v1/openapi.json"),
    ("get", "/metrics"),
];

#[tokio::test]
async fn status_openapi_and_metrics() {
    let federation = Federation::start(&[Role::Office], false).await;
    let node = &federation.nodes[0];
    let did = node.authority.to_did_key();

    let empty = node.get("/v1/status").await;
    let body = empty.expect(200, None);
    assert_eq!(body["authority"], did.as_str());
    assert_eq!(body["name"], "Office 0");
    assert_eq!(body["entry_count"], 0);
    assert_eq!(body["feeds"], Value::Array(vec![]));
    assert_eq!(body["peer_count"], 0);
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
    let holder = SecretKey::generate().public_key();
    node.post(
        "/v1/registrations",
        Auth::Operator,
        &registration("4123456", &holder),
    )
    .await
    .expect(201, None);
    let after = node.get("/v1/status").await;
    let body = after.expect(200, None);
    assert_eq!(body["entry_count"], 1);
    assert_eq!(body["feeds"][0]["author"], did.as_str());
    assert_eq!(body["feeds"][0]["name"], "Office 0");
    assert_eq!(body["feeds"][0]["seq"], 1);
    assert_eq!(body["feeds"][0]["id"].as_str().map(str::len), Some(64));
    node.expect_body_refused("GET", "/v1/status", Auth::Anonymous)
        .await;

    let document = node.get("/v1/openapi.json").await;
    let document = document.expect(200, None);
    assert_eq!(document["openapi"], "3.1.0");
    for spec in routes() {
        let path = crate::api::openapi::document_path(spec.path);
        let operation = &document["paths"][path][spec.method];
        assert_eq!(
            operation["summary"], spec.summary,
            "{} {}",
            spec.method, spec.path
        );
    }
    node.expect_body_refused("GET", "/v1/openapi.json", Auth::Anonymous)
        .await;

    let metrics = node.get("/metrics").await;
    assert_eq!(metrics.status, StatusCode::OK);
    assert_eq!(
        metrics
            .headers
            .get(header::CONTENT_TYPE)
            .map(|v| v.as_bytes()),
        Some(&b"text/plain; version=0.0.4"[..])
    );
    let text = metrics.body.as_str().expect("the exposition is text");
    assert!(
        text.contains("rightsnet_http_requests_total{route=\"/v1/status\",status=\"200\"} 2"),
        "{text}"
    );
    assert!(text.contains("rightsnet_entries_stored_total 1"), "{text}");
    assert!(
        text.contains("\nrightsnet_storage_estimated_bytes "),
        "{text}"
    );
    node.expect_body_refused("GET", "/metrics", Auth::Anonymous)
        .await;

    federation.assert_covers(ROUTES);
    federation.stop().await;
}

#[tokio::test]
async fn unknown_paths_and_methods_bodies_over_the_limit_and_the_rate_limit() {
    let federation = Federation::start(&[Role::Office], false).await;
    let node = &federation.nodes[0];

    let unknown = node.get("/v1/nothing-here").await;
    unknown.expect(404, Some("not_found"));
    assert!(
        unknown.message().contains("openapi.json"),
        "{}",
        unknown.body
    );
    let wrong_method = node
        .send("DELETE", "/v1/status", Auth::Anonymous, None)
        .await;
    wrong_method.expect(405, Some("method_not_allowed"));
    let wrong_method = node
        .send("GET", "/v1/registrations", Auth::Operator, None)
        .await;
    wrong_method.expect(405, Some("method_not_allowed"));

    // A body over the node's limit is refused before it is parsed, and the connection is
    // closed because the rest of the body is left unread.
    let oversized = vec![b' '; MAX_BODY_BYTES + 1];
    let refused = node
        .post_bytes("/v1/registrations", Auth::Operator, &oversized)
        .await;
    refused.expect(413, Some("body_too_large"));
    assert_eq!(
        refused
            .headers
            .get(header::CONNECTION)
            .map(|v| v.as_bytes()),
        Some(&b"close"[..])
    );
    // An empty body declared empty is no body.
    let declared_empty = node
        .send("GET", "/v1/status", Auth::Anonymous, Some(Vec::new()))
        .await;
    declared_empty.expect(200, None);

    // The rate limit: one router (one limiter), a burst of 2 at 1 per second.
    let mut state = node.state();
    let mut config = (*state.config).clone();
    config.limits = Limits {
        rate_limit_per_second: 1,
        rate_limit_burst: 2,
        ..config.limits
    };
    state.config = std::sync::Arc::new(config);
    let limited = router(state);
    for _ in 0..2 {
        node.send_to(limited.clone(), "GET", "/v1/status", Auth::Anonymous, None)
            .await
            .expect(200, None);
    }
    let third = node
        .send_to(limited.clone(), "GET", "/v1/status", Auth::Anonymous, None)
        .await;
    third.expect(429, Some("rate_limited"));
    assert_eq!(
        third.headers.get(header::RETRY_AFTER).map(|v| v.as_bytes()),
        Some(&b"1"[..])
    );
    // Operator routes are not rate-limited: the token is the limit.
    let operator = node
        .send_to(limited, "GET", "/v1/peers", Auth::Operator, None)
        .await;
    operator.expect(200, None);

    federation.stop().await;
}

/// Large answers are gzip-compressed for a client that asks (and decode to the same bytes);
/// not for one that does not; and never an HTML page (its CSRF token next to reflected text
/// would leak through sizes: BREACH).
#[tokio::test]
async fn large_answers_are_gzipped_when_asked_but_never_html() {
    use std::io::Read;

    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    let federation = Federation::start(&[Role::Office], false).await;
    let node = &federation.nodes[0];
    let app = router(node.state());
    let fetch = |path: &'static str, gzip: bool| {
        let app = app.clone();
        async move {
            let mut request = Request::builder().uri(path);
            if gzip {
                request = request.header(header::ACCEPT_ENCODING, "gzip");
            }
            let response = app
                .oneshot(request.body(Body::empty()).expect("a request"))
                .await
                .unwrap_or_else(|never| match never {});
            let encoding = response
                .headers()
                .get(header::CONTENT_ENCODING)
                .map(|value| value.to_str().unwrap_or_default().to_owned());
            let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
                .await
                .expect("the body");
            (encoding, bytes.to_vec())
        }
    };
    let (plain_encoding, plain) = fetch("/v1/openapi.json", false).await;
    assert_eq!(plain_encoding, None);
    assert!(plain.len() > 1024, "the OpenAPI document is large");
    let (encoding, compressed) = fetch("/v1/openapi.json", true).await;
    assert_eq!(encoding.as_deref(), Some("gzip"));
    assert!(
        compressed.len() < plain.len() / 2,
        "{} bytes",
        compressed.len()
    );
    let mut decoded = Vec::new();
    flate2::read::GzDecoder::new(compressed.as_slice())
        .read_to_end(&mut decoded)
        .expect("gzip");
    assert_eq!(
        serde_json::from_slice::<Value>(&decoded).expect("JSON"),
        serde_json::from_slice::<Value>(&plain).expect("JSON")
    );
    let (small_encoding, _) = fetch("/v1/status", true).await;
    assert_eq!(small_encoding, None, "a small answer is sent as it is");
    let (html_encoding, html) = fetch("/", true).await;
    assert!(html.len() > 1024, "the console's home page is large");
    assert_eq!(html_encoding, None, "HTML is never compressed");
}
