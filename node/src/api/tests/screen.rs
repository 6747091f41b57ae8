//! Screening: `POST /v1/screen` over the node's own store, the index kept by the writer as
//! rights are registered, corrected and cancelled; bounds and bad input.

use proto_types::keys::SecretKey;
use serde_json::{Value, json};

use super::{Auth, Federation, Role, registration};

/// The routes this area tests.
pub(super) const ROUTES: &[(&str, &str)] = &[("post", "/v1/screen")];

fn titles(titles: &[&str]) -> Value {
    let listings: Vec<Value> = titles
        .iter()
        .enumerate()
        .map(|(number, title)| json!({"id": format!("l{number}"), "title": title}))
        .collect();
    json!({ "listings": listings })
}

/// The right ids matched per listing, in order.
fn found(body: &Value) -> Vec<Vec<String>> {
    body["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|result| {
            result["matches"]
                .as_array()
                .expect("matches")
                .iter()
                .map(|m| m["right_id"].as_str().expect("a right id").to_owned())
                .collect()
        })
        .collect()
}

#[tokio::test]
async fn screens_listings_with_the_index_the_writer_keeps() {
    let federation = Federation::start(&[Role::Office], false).await;
    let node = &federation.nodes[0];
    let holder = SecretKey::generate().public_key();
    let mut first = registration("500001", &holder);
    first["mark_text"] = json!("Valmorena");
    node.post("/v1/registrations", Auth::Operator, &first)
        .await
        .expect(201, None);
    let mut second = registration("500002", &holder);
    second["mark_text"] = json!("Quokkaline");
    node.post("/v1/registrations", Auth::Operator, &second)
        .await
        .expect(201, None);

    let body = json!({
        "listings": [
            {"id": "a", "title": "V@lm0rena bag 1:1 mirror quality", "class": 25},
            {"id": "b", "title": "V a l m o r e n a scarf"},
            {"id": "c", "title": "Valmorrena", "jurisdictions": ["FR"]},
            {"id": "d", "title": "Quokkalien shirt", "description": "like Valmorena"},
            {"id": "e", "title": "plain cotton shirt"},
            {"id": "f", "title": "Valmorena", "class": 9},
            {"id": "g", "title": "Valmorena", "jurisdictions": ["DE"]},
        ],
        "limit": 5,
    });
    let reply = node.post("/v1/screen", Auth::Anonymous, &body).await;
    let answer = reply.expect(200, None);
    assert_eq!(
        found(answer),
        vec![
            vec!["FR-TM-500001"],
            vec!["FR-TM-500001"],
            vec!["FR-TM-500001"],
            vec!["FR-TM-500002", "FR-TM-500001"],
            vec![],
            vec![],
            vec![],
        ]
    );
    let first_match = &answer["results"][0]["matches"][0];
    assert_eq!(first_match["mark"], "Valmorena");
    assert_eq!(first_match["liveness"], "alive");
    assert_eq!(first_match["matched_text"], "V@lm0rena");
    assert!(
        first_match["how"]
            .as_array()
            .expect("how")
            .contains(&json!("leet"))
    );
    assert_eq!(
        answer["results"][0]["indicators"],
        json!(["1:1", "mirror quality"])
    );
    let edit = &answer["results"][3]["matches"][0];
    assert!(
        edit["how"]
            .as_array()
            .expect("how")
            .contains(&json!("edit1"))
    );
    let in_description = &answer["results"][3]["matches"][1];
    assert!(
        in_description["how"]
            .as_array()
            .expect("how")
            .contains(&json!("description"))
    );

    // A correction moves the mark's keys: the old mark is no longer found, the new one is.
    let mut corrected = first.clone();
    corrected["mark_text"] = json!("Valmorena Nova");
    node.post("/v1/registrations", Auth::Operator, &corrected)
        .await
        .expect(201, None);
    let reply = node
        .post(
            "/v1/screen",
            Auth::Anonymous,
            &titles(&["Valmorena", "Valmorena Nova dress", "VALMORENANOVA"]),
        )
        .await;
    assert_eq!(
        found(reply.expect(200, None)),
        vec![vec![], vec!["FR-TM-500001"], vec!["FR-TM-500001"]]
    );

    // A cancelled right is not alive: not reported.
    let cancel = json!({"change": "cancelled", "effective_date": "2025-01-15"});
    node.post("/v1/rights/FR-TM-500002/status", Auth::Operator, &cancel)
        .await
        .expect(201, None);
    let reply = node
        .post("/v1/screen", Auth::Anonymous, &titles(&["Quokkaline"]))
        .await;
    assert_eq!(found(reply.expect(200, None)), vec![Vec::<String>::new()]);
}

#[tokio::test]
async fn screening_requests_are_bounded() {
    let federation = Federation::start(&[Role::Office], false).await;
    let node = &federation.nodes[0];
    let refused = |body: Value| async move {
        let reply = node.post("/v1/screen", Auth::Anonymous, &body).await;
        reply.expect(422, Some("invalid_field"));
        reply.message().to_owned()
    };
    refused(json!({"listings": []})).await;
    refused(json!({"listings": [{"id": "x"}]})).await;
    refused(json!({"listings": [{"id": "x", "title": "t", "colour": "red"}]})).await;
    let message = refused(json!({"listings": [{"id": "x", "title": "t".repeat(501)}]})).await;
    assert!(message.contains("listings[0].title"), "{message}");
    refused(json!({"listings": [{"id": "", "title": "t"}]})).await;
    refused(json!({"listings": [{"id": "x", "title": "t", "class": 46}]})).await;
    refused(json!({"listings": [{"id": "x", "title": "t", "jurisdictions": ["XX"]}]})).await;
    refused(json!({"listings": [{"id": "x", "title": "t"}], "limit": 0})).await;
    refused(json!({"listings": [{"id": "x", "title": "t"}], "limit": 101})).await;
    refused(json!({"listings": [{"id": "x", "title": "t", "class": 25.5}]})).await;
    refused(json!({"listings": [{"id": "x", "title": "t", "class": 300}]})).await;
    refused(json!({"listings": [{"id": "x", "title": "t", "class": -1}]})).await;
    // JSON Schema's integers include numbers with a zero fraction.
    node.post(
        "/v1/screen",
        Auth::Anonymous,
        &json!({"listings": [{"id": "x", "title": "t", "class": 25.0}], "limit": 3.0}),
    )
    .await
    .expect(200, None);
    let many: Vec<Value> = (0..1001)
        .map(|n| json!({"id": n.to_string(), "title": "t"}))
        .collect();
    refused(json!({ "listings": many })).await;
    node.post_bytes("/v1/screen", Auth::Anonymous, b"[]")
        .await
        .expect(400, Some("malformed_json"));

    // 1 000 listings with long titles and descriptions: more than the node's usual body limit,
    // within the screening route's own.
    let long: Vec<Value> = (0..1000)
        .map(|n| {
            json!({
                "id": format!("listing-{n}"),
                "title": format!("{} Ｎ1ｋ3 {n}", "é".repeat(400)),
                "description": "x ".repeat(700),
            })
        })
        .collect();
    let body = json!({ "listings": long });
    assert!(serde_json::to_vec(&body).expect("JSON").len() > 1024 * 1024);
    let reply = node.post("/v1/screen", Auth::Anonymous, &body).await;
    assert_eq!(
        reply.expect(200, None)["results"]
            .as_array()
            .expect("results")
            .len(),
        1000
    );
    // Beyond the route's limit: 413.
    let huge = vec![b' '; super::super::screen::SCREEN_MAX_BODY_BYTES + 1];
    node.post_bytes("/v1/screen", Auth::Anonymous, &huge)
        .await
        .expect(413, Some("body_too_large"));
}
