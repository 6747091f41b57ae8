//! Peers, on two connected nodes: the operator lists them, blocks one and unblocks it.

use std::time::{Duration, Instant};

use serde_json::Value;

use super::{Auth, Federation, Role, TestNode};

/// The routes this area tests.
pub(super) const ROUTES: &[(&str, &str)] = &[
    ("get", "/v1/peers"),
    ("post", "/v1/peers/{peer_id}/block"),
    ("post", "/v1/peers/{peer_id}/unblock"),
];

/// How long two nodes on 127.0.0.1 may take to connect.
const CONNECT_DEADLINE: Duration = Duration::from_secs(30);

/// `peer_id` as `node`'s operator sees it, if listed.
async fn listed(node: &TestNode, peer_id: &str) -> Option<Value> {
    let reply = node.get_as("/v1/peers", Auth::Operator).await;
    reply.expect(200, None)["peers"]
        .as_array()
        .expect("peers")
        .iter()
        .find(|peer| peer["peer_id"] == peer_id)
        .cloned()
}

#[tokio::test]
async fn peers_are_listed_blocked_and_unblocked() {
    let federation = Federation::start(&[Role::Office, Role::Office], true).await;
    let first = &federation.nodes[0];
    let second = &federation.nodes[1];
    let other = first.peer_id();
    let started = Instant::now();
    loop {
        let peer = listed(second, &other).await;
        if peer.as_ref().is_some_and(|peer| peer["connected"] == true) {
            let peer = peer.unwrap_or_default();
            assert_eq!(peer["blocked"], false);
            assert!(peer.get("blocked_by").is_none(), "{peer}");
            break;
        }
        assert!(
            started.elapsed() < CONNECT_DEADLINE,
            "the second node did not connect to the first: {peer:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    second.expect_operator_only("GET", "/v1/peers", None).await;
    second
        .expect_body_refused("GET", "/v1/peers", Auth::Operator)
        .await;

    let block = format!("/v1/peers/{other}/block");
    let unblock = format!("/v1/peers/{other}/unblock");
    second.expect_operator_only("POST", &block, None).await;
    second.expect_operator_only("POST", &unblock, None).await;
    let blocked = second.send("POST", &block, Auth::Operator, None).await;
    let body = blocked.expect(200, None);
    assert_eq!(body["peer_id"], other.as_str());
    assert_eq!(body["blocked"], true);
    assert_eq!(body["changed"], true);
    let again = second.send("POST", &block, Auth::Operator, None).await;
    assert_eq!(again.expect(200, None)["changed"], false);
    let peer = listed(second, &other)
        .await
        .expect("a blocked peer is listed");
    assert_eq!(peer["blocked"], true);
    assert_eq!(peer["blocked_by"], "operator");

    let unblocked = second.send("POST", &unblock, Auth::Operator, None).await;
    let body = unblocked.expect(200, None);
    assert_eq!(body["blocked"], false);
    assert_eq!(body["changed"], true);
    let again = second.send("POST", &unblock, Auth::Operator, None).await;
    assert_eq!(again.expect(200, None)["changed"], false);
    let peer = listed(second, &other)
        .await
        .expect("a known peer is listed");
    assert_eq!(peer["blocked"], false);

    for path in ["/v1/peers/not-a-peer/block", "/v1/peers/not-a-peer/unblock"] {
        second
            .send("POST", path, Auth::Operator, None)
            .await
            .expect(400, Some("bad_peer_id"));
    }
    second
        .expect_body_refused("POST", &block, Auth::Operator)
        .await;
    second
        .expect_body_refused("POST", &unblock, Auth::Operator)
        .await;

    federation.assert_covers(ROUTES);
    federation.stop().await;
}
