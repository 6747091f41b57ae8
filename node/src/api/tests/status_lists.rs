//! `GET /v1/status-lists/{issuer}/{purpose}/{n}`: the W3C Bitstring Status Lists of this node's
//! key, their bits read from an in-memory credential log, served as signed documents that verify
//! by the specification's rules; and every way a request for one can be wrong.

use std::sync::Arc;

use axum::http::header;
use proto_types::keys::SecretKey;
use proto_types::status_list::{StatusBitstring, StatusPurpose, verify_status_list_credential};

use super::{Auth, Federation, Reply, Role, TestNode};
use crate::api::router;
use crate::status_lists::{MemoryStatusSource, StatusLists};

/// The routes this area tests.
pub(super) const ROUTES: &[(&str, &str)] = &[("get", "/v1/status-lists/{issuer}/{purpose}/{n}")];

/// The public URL the test router's lists name.
const BASE: &str = "http://127.0.0.1:7070";

async fn get_with(node: &TestNode, app: &axum::Router, path: &str) -> Reply {
    node.send_to(app.clone(), "GET", path, Auth::Anonymous, None)
        .await
}

#[tokio::test]
async fn status_lists_are_signed_lists_of_the_logged_statuses() {
    let federation = Federation::start(&[Role::Office], false).await;
    let node = &federation.nodes[0];
    let issuer = node.authority;
    let own = issuer.to_multibase();

    // The node as started has no credential log behind its lists yet: nothing is published.
    node.get(&format!("/v1/status-lists/{own}/revocation/0"))
        .await
        .expect(404, Some("not_found"));

    let source = Arc::new(MemoryStatusSource::new());
    let mut state = node.state();
    state.status_lists = Arc::new(StatusLists::new(BASE, source.clone()));
    let app = router(state);
    let revocation = format!("/v1/status-lists/{own}/revocation/0");

    get_with(node, &app, &revocation)
        .await
        .expect(404, Some("not_found"));
    source.log(&issuer, 3, true);
    source.log(&issuer, 4, true);
    let reply = get_with(node, &app, &revocation).await;
    let document = reply.expect(200, None).clone();
    assert_eq!(
        reply
            .headers
            .get(header::CACHE_CONTROL)
            .map(|v| v.as_bytes()),
        Some(&b"public, max-age=300"[..])
    );
    assert_eq!(
        reply
            .headers
            .get(header::CONTENT_TYPE)
            .map(|v| v.as_bytes()),
        Some(&b"application/json"[..])
    );
    let list = verify_status_list_credential(&document).expect("a valid list credential");
    assert_eq!(list.url(), format!("{BASE}{revocation}"));
    assert_eq!(list.issuer(), &issuer);
    assert_eq!(list.purpose(), StatusPurpose::Revocation);
    assert_eq!(list.bits(), &StatusBitstring::new());

    source.set_status(&issuer, 3, true, false);
    source.set_status(&issuer, 4, false, true);
    let revoked = get_with(node, &app, &revocation).await;
    let list = verify_status_list_credential(revoked.expect(200, None)).expect("valid");
    assert!(list.bits().get(3).unwrap());
    assert_eq!(list.bits().count_set(), 1);
    let suspension = get_with(node, &app, &format!("/v1/status-lists/{own}/suspension/0")).await;
    let list = verify_status_list_credential(suspension.expect(200, None)).expect("valid");
    assert_eq!(list.purpose(), StatusPurpose::Suspension);
    assert!(list.bits().get(4).unwrap());
    assert_eq!(list.bits().count_set(), 1);

    // A list no credential reached, and keys this node does not sign for.
    get_with(node, &app, &format!("/v1/status-lists/{own}/revocation/1"))
        .await
        .expect(404, Some("not_found"));
    let foreign = federation.foreign.public_key();
    source.log(&foreign, 0, true);
    let reply = get_with(
        node,
        &app,
        &format!("/v1/status-lists/{}/revocation/0", foreign.to_multibase()),
    )
    .await;
    reply.expect(404, Some("not_found"));
    assert!(
        reply.message().contains("does not publish"),
        "{}",
        reply.message()
    );
    let stranger = SecretKey::generate().public_key().to_multibase();
    get_with(
        node,
        &app,
        &format!("/v1/status-lists/{stranger}/suspension/0"),
    )
    .await
    .expect(404, Some("not_found"));

    // Malformed paths.
    for (path, code) in [
        (
            format!("/v1/status-lists/did:key:{own}/revocation/0"),
            "bad_issuer",
        ),
        (
            format!("/v1/status-lists/{}/revocation/0", &own[..40]),
            "bad_issuer",
        ),
        (
            "/v1/status-lists/z6Mk/revocation/0".to_owned(),
            "bad_issuer",
        ),
        (format!("/v1/status-lists/{own}/message/0"), "bad_purpose"),
        (
            format!("/v1/status-lists/{own}/Revocation/0"),
            "bad_purpose",
        ),
        (
            format!("/v1/status-lists/{own}/revocation/01"),
            "bad_list_number",
        ),
        (
            format!("/v1/status-lists/{own}/revocation/-1"),
            "bad_list_number",
        ),
        (
            format!("/v1/status-lists/{own}/revocation/16384"),
            "bad_list_number",
        ),
        (
            format!("/v1/status-lists/{own}/revocation/4294967296"),
            "bad_list_number",
        ),
    ] {
        get_with(node, &app, &path).await.expect(400, Some(code));
    }
    node.expect_body_refused("GET", &revocation, Auth::Anonymous)
        .await;

    federation.assert_covers(ROUTES);
    // The router holds the node's ingest handle, which must go for the writer to stop.
    drop(app);
    federation.stop().await;
}
