//! A malicious peer that speaks the real protocols (gossipsub on the entries topic, the sync
//! request-response protocol through libp2p's own CBOR codec, not the node's: the bytes must be
//! the same) — written here, independently of the node's network module —
//! and sends forged signatures, entries of unknown authors, an equivocating pair, garbage,
//! oversized messages and floods. Nothing invalid may be stored or forwarded, the equivocation
//! must be recorded, honest traffic must keep flowing, and the peer must end up blocked for
//! what is invalid (forgeries, garbage): entries of an author the node does not trust are
//! ignored, not held against the peer that relays them (issue 10, item 17). An operator's
//! unblock then holds while the peer behaves (issue 10, item 11).

use std::time::Duration;

use libp2p::futures::StreamExt;
use libp2p::request_response::{self, ProtocolSupport};
use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use libp2p::{Multiaddr, PeerId, Swarm, gossipsub, noise, tcp, yamux};
use proto_types::body::examples;
use proto_types::entry::{EntryId, UnsignedEntry};
use proto_types::keys::{KeyFile, SecretKey};
use proto_types::sync::{SyncRequest, SyncResponse, WireHead};
use proto_types::timestamp::Timestamp;
use rightsnet_node::network::{ENTRIES_TOPIC, SYNC_PROTOCOL};
use serde_json::{Value, json};
use sha2::Digest;

use crate::federation::{Federation, heads, wait_converged};
use crate::harness::{TOKEN, wait_until};

#[derive(NetworkBehaviour)]
struct Attacker {
    gossipsub: gossipsub::Behaviour,
    sync: request_response::cbor::Behaviour<SyncRequest, SyncResponse>,
}

fn attacker_swarm() -> Swarm<Attacker> {
    let config = gossipsub::ConfigBuilder::default()
        .validation_mode(gossipsub::ValidationMode::Anonymous)
        .message_id_fn(|message: &gossipsub::Message| {
            gossipsub::MessageId::from(sha2::Sha256::digest(&message.data).to_vec())
        })
        // Large enough to send messages the victim must refuse by size.
        .max_transmit_size(1024 * 1024)
        .heartbeat_interval(Duration::from_millis(300))
        .heartbeat_initial_delay(Duration::from_millis(50))
        .build()
        .unwrap();
    let mut gossip =
        gossipsub::Behaviour::new(gossipsub::MessageAuthenticity::Anonymous, config).unwrap();
    gossip
        .subscribe(&gossipsub::IdentTopic::new(ENTRIES_TOPIC))
        .unwrap();
    let sync = request_response::cbor::Behaviour::new(
        [(SYNC_PROTOCOL, ProtocolSupport::Full)],
        request_response::Config::default(),
    );
    libp2p::SwarmBuilder::with_new_identity()
        .with_tokio()
        .with_tcp(
            tcp::Config::default(),
            noise::Config::new,
            yamux::Config::default,
        )
        .unwrap()
        .with_behaviour(|_| Attacker {
            gossipsub: gossip,
            sync,
        })
        .unwrap()
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(60)))
        .build()
}

fn signed(key: &SecretKey, seq: u64, prev: Option<EntryId>, mark: &str) -> Value {
    let mut body = examples::registration();
    body["mark_text"] = json!(mark);
    let body =
        proto_types::body::Body::decode(proto_types::body::EntryKind::Registration, &body).unwrap();
    UnsignedEntry {
        seq,
        prev,
        timestamp: Timestamp::parse("2026-11-28T12:00:00Z").unwrap(),
        body,
    }
    .sign(key)
    .unwrap()
    .value()
    .clone()
}

fn bytes(value: &Value) -> Vec<u8> {
    proto_types::jcs::canonicalize(value).unwrap()
}

#[test]
fn a_byzantine_peer_cannot_get_bad_data_stored_or_relayed() {
    // A rogue office is in everyone's trust store; the attacker holds its key (a compromised
    // office key is exactly how an equivocation happens).
    let rogue = SecretKey::generate();
    let mut federation =
        Federation::new_with_extra_trust(3, 3, &rogue.public_key().to_did_key(), "FR");
    let victim = federation.client(0);
    let clients: Vec<_> = (0..3).map(|i| federation.client(i)).collect();
    federation.write(1, 5, "H");
    assert!(wait_converged(&clients, 5, Duration::from_secs(30)));

    let trusted_key =
        KeyFile::parse(&std::fs::read(federation.node_dir(2).join("authority.json")).unwrap())
            .unwrap();
    let victim_addr: Multiaddr = federation.bootstrap()[0].parse().unwrap();
    let victim_peer: PeerId = federation.peer_ids[0].parse().unwrap();

    // The attacker's messages.
    let mut forged = signed(&trusted_key, 99, Some(EntryId([7; 32])), "Forged");
    forged["signature"] = json!(SecretKey::generate().sign(b"x").to_multibase());
    let stranger_key = SecretKey::generate();
    let stranger = signed(&stranger_key, 1, None, "Stranger");
    let first = signed(&rogue, 1, None, "Original");
    let conflicting = signed(&rogue, 1, None, "Conflicting");
    let garbage = b"\x00\xffthis is not json".to_vec();
    let oversized = vec![b'{'; 200 * 1024];

    let runtime = &federation.runtime;
    let (attacker_peer, mut swarm) = runtime.block_on(async {
        let mut swarm = attacker_swarm();
        swarm
            .listen_on("/ip4/127.0.0.1/tcp/0".parse().unwrap())
            .unwrap();
        swarm.dial(victim_addr.clone()).unwrap();
        let topic = gossipsub::IdentTopic::new(ENTRIES_TOPIC);
        let attacker_peer = *swarm.local_peer_id();
        // The attack runs in three acts, each started once the one before has visibly
        // happened, so that the evidence asserted below cannot be lost to a race with the
        // block it earns: (1) answer the victim's sync requests with a long forged feed and a
        // forged range, (2) flood it with sync requests and collect its answers, (3) the gossip
        // attack, which gets the attacker blocked.
        let mut subscribed = false;
        let mut forged_ranges_served = 0;
        let mut flood_requests = 0;
        let mut flood_answered = 0;
        let mut flood_failed = 0;
        let mut flood_unexpected = Vec::new();
        let mut sent = false;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while tokio::time::Instant::now() < deadline {
            let event =
                tokio::time::timeout(Duration::from_millis(200), swarm.select_next_some()).await;
            match event {
                Ok(SwarmEvent::Behaviour(AttackerEvent::Gossipsub(
                    gossipsub::Event::Subscribed { peer_id, .. },
                ))) if peer_id == victim_peer => {
                    subscribed = true;
                }
                Ok(SwarmEvent::Behaviour(AttackerEvent::Sync(
                    request_response::Event::Message {
                        message:
                            request_response::Message::Request {
                                request, channel, ..
                            },
                        ..
                    },
                ))) => {
                    // Claim a long rogue feed, then serve forged entries for it.
                    let response = match request {
                        SyncRequest::Heads => SyncResponse::Heads(vec![WireHead {
                            author: rogue.public_key().to_bytes(),
                            seq: 50,
                            id: [9; 32],
                        }]),
                        SyncRequest::Range { .. } => {
                            let mut entry =
                                signed(&rogue, 2, Some(EntryId([1; 32])), "Sync forgery");
                            entry["signature"] = forged["signature"].clone();
                            forged_ranges_served += 1;
                            SyncResponse::Entries(vec![serde_bytes::ByteBuf::from(bytes(&entry))])
                        }
                    };
                    let _ = swarm.behaviour_mut().sync.send_response(channel, response);
                }
                Ok(SwarmEvent::Behaviour(AttackerEvent::Sync(
                    request_response::Event::Message {
                        message: request_response::Message::Response { response, .. },
                        ..
                    },
                ))) => match response {
                    SyncResponse::Heads(_) | SyncResponse::Busy => flood_answered += 1,
                    other => flood_unexpected.push(other),
                },
                Ok(SwarmEvent::Behaviour(AttackerEvent::Sync(
                    request_response::Event::OutboundFailure { .. },
                ))) => flood_failed += 1,
                _ => {}
            }
            if forged_ranges_served > 0 && flood_requests == 0 {
                // A flood of sync requests.
                for _ in 0..200 {
                    swarm
                        .behaviour_mut()
                        .sync
                        .send_request(&victim_peer, SyncRequest::Heads);
                    flood_requests += 1;
                }
            }
            let flood_over = flood_requests > 0
                && flood_answered + flood_failed + flood_unexpected.len() == flood_requests;
            if subscribed && flood_over && !sent {
                sent = true;
                let gossip = &mut swarm.behaviour_mut().gossipsub;
                // Entries of an author the victim does not trust first: they alone must not
                // get the attacker blocked (they are ignored). Then the equivocating pair,
                // forgeries and junk; the oversized message last, since a peer may drop the
                // whole stream that carried it.
                for number in 0..20 {
                    let stranger = signed(&stranger_key, 1, None, &format!("Stranger {number}"));
                    let _ = gossip.publish(topic.clone(), bytes(&stranger));
                }
                for message in [
                    bytes(&first),
                    bytes(&conflicting),
                    bytes(&forged),
                    bytes(&stranger),
                    garbage.clone(),
                ] {
                    let _ = gossip.publish(topic.clone(), message);
                }
                for index in 0..200 {
                    let _ =
                        gossip.publish(topic.clone(), format!("{{\"junk\":{index}}}").into_bytes());
                }
                let _ = gossip.publish(topic.clone(), oversized.clone());
            }
            if sent && !swarm.is_connected(&victim_peer) {
                break;
            }
        }
        assert!(subscribed, "the victim never subscribed");
        assert!(
            forged_ranges_served > 0,
            "the victim never asked for a range of the forged feed"
        );
        // The victim answered the flood (heads, or Busy past its serving slots) and nothing
        // else; requests past its stream limit may fail, but not all of them.
        assert!(flood_unexpected.is_empty(), "{flood_unexpected:?}");
        assert!(
            flood_answered > 0,
            "the victim answered none of {flood_requests} sync requests ({flood_failed} failed)"
        );
        assert!(
            sent,
            "the flood never ended: {flood_answered} answered, {flood_failed} failed"
        );
        (attacker_peer, swarm)
    });

    // The forged range was judged invalid data (the forged entry's signature is refused by
    // the ingest path), not stored.
    let sync_invalid_data = || {
        victim
            .get("/metrics")
            .body
            .as_str()
            .unwrap_or("")
            .lines()
            .find_map(|line| {
                line.strip_prefix("rightsnet_network_events_total{event=\"sync_invalid_data\"} ")
                    .and_then(|count| count.parse::<u64>().ok())
            })
    };
    assert!(
        wait_until(Duration::from_secs(20), || sync_invalid_data().unwrap_or(0)
            >= 1),
        "no invalid sync data counted; metrics {}",
        victim.get("/metrics").body
    );

    // Of the equivocating pair, the entry the victim saw first is stored and relayed; the
    // other becomes a proof.
    assert!(
        wait_until(Duration::from_secs(20), || {
            victim.get("/v1/equivocations").body["equivocations"]
                .as_array()
                .is_some_and(|proofs| proofs.len() == 1)
        }),
        "no equivocation proof; victim heads {:?}, metrics {}",
        heads(&victim),
        victim.get("/metrics").body
    );
    let proof = victim.get("/v1/equivocations").body["equivocations"][0].clone();
    let kept_mark = proof["first"]["body"]["mark_text"]
        .as_str()
        .unwrap()
        .to_owned();
    let refused = bytes(&proof["second"]);
    let again = victim.post_raw("/v1/entries", refused, None);
    assert_eq!(again.status, 409, "{}", again.body);
    assert_eq!(again.body["code"], "equivocation");

    // The attacker is blocked by the node itself, for invalid data (rejected gossip messages
    // or invalid sync answers), for a bounded time.
    let attacker = || {
        let peers = victim.get_with_token("/v1/peers", TOKEN).body;
        peers["peers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|peer| peer["peer_id"] == attacker_peer.to_string())
            .cloned()
            .unwrap_or(Value::Null)
    };
    assert!(
        wait_until(Duration::from_secs(30), || attacker()["blocked"] == true),
        "the attacker was not blocked: {}",
        attacker()
    );
    let listed = attacker();
    assert_eq!(listed["blocked_by"], "node", "{listed}");
    assert!(
        listed["block_expires_in_secs"].as_u64().unwrap() > 0,
        "{listed}"
    );
    assert!(listed["score"].as_f64().unwrap() < -80.0, "{listed}");
    assert!(crate::federation::automatic_blocks(&victim) >= 1);
    // An automatic block is not persisted: only the operator's blocks are.
    let persisted = std::fs::read_to_string(
        federation
            .node_dir(0)
            .join("data")
            .join("blocked-peers.json"),
    )
    .unwrap_or_default();
    assert!(
        !persisted.contains(&attacker_peer.to_string()),
        "{persisted}"
    );

    // The operator unblocks it: the node forgets its penalties, and the unblock holds while the
    // peer comes back and behaves (gossipsub keeps a disconnected peer's score, and the node
    // used to block it again at once with the same score).
    let reply = victim.post_raw(
        &format!("/v1/peers/{attacker_peer}/unblock"),
        Vec::new(),
        Some(TOKEN),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["changed"], true, "{}", reply.body);
    // (A disconnected peer with no known address and no block is not listed at all.)
    let listed = attacker();
    assert_ne!(listed["blocked"], true, "{listed}");
    assert_eq!(listed["score"].as_f64().unwrap_or(0.0), 0.0, "{listed}");
    // The swarm spawns its connection tasks: dial from inside the runtime.
    runtime.block_on(async { swarm.dial(victim_addr.clone()).unwrap() });
    let drive = |swarm: &mut Swarm<Attacker>| {
        runtime.block_on(async {
            let _ = tokio::time::timeout(Duration::from_millis(200), async {
                loop {
                    swarm.select_next_some().await;
                }
            })
            .await;
        });
    };
    let mut connected = false;
    for _ in 0..40 {
        drive(&mut swarm);
        connected |= swarm.is_connected(&victim_peer);
        let listed = attacker();
        assert_ne!(listed["blocked"], true, "blocked again: {listed}");
        // The old penalties are gone (checked above). The attacker's own gossipsub may serve a
        // message it cached before the block again once it is back, and the node rightly holds
        // that against it (one strike, -30): the unblock holds as long as the score stays
        // above the block line.
        assert!(
            listed["score"].as_f64().unwrap_or(0.0) > rightsnet_node::network::BLOCK_SCORE,
            "{listed}"
        );
    }
    assert!(connected, "the unblocked peer could not reconnect");
    runtime.block_on(async move { drop(swarm) });

    // Honest traffic keeps flowing, and everyone agrees on exactly the valid entries: the
    // honest feeds plus the rogue office's first entry (relayed), nothing else.
    federation.write(1, 5, "I");
    federation.write(2, 3, "J");
    assert!(wait_converged(&clients, 14, Duration::from_secs(60)));
    for client in &clients {
        let feeds = heads(client);
        assert_eq!(feeds.len(), 3, "{feeds:?}");
        let rogue_head = &feeds[&rogue.public_key().to_did_key()];
        assert_eq!(rogue_head.0, 1);
        let stored = client.get(&format!("/v1/entries/{}", rogue_head.1));
        assert_eq!(
            stored.body["entry"]["body"]["mark_text"],
            kept_mark.as_str()
        );
    }
    // The metrics count what was refused.
    let metrics = victim.get("/metrics").body;
    let metrics = metrics.as_str().unwrap();
    assert!(
        metrics.contains("rightsnet_entries_rejected_total{reason=\"bad_signature\"}"),
        "{metrics}"
    );
    assert!(
        metrics.contains("rightsnet_entries_rejected_total{reason=\"unknown_author\"}"),
        "{metrics}"
    );
    federation.stop(0);
}
