//! `rightsnet testnet demo`: plays the cross-border story against a running testnet, found
//! through `DIR/testnet.json`, printing what each step sent and what it got back.
//!
//! An office registers a mark for a new holder and issues it a credential, which it logs in its
//! feed; the holder, abroad, files a notice on a marketplace and gets a verdict with every
//! reason; the marketplace records a removal and the seller's counter-notice; the office rotates
//! its key, and the credential issued before stays good (anchored in the office's log); the
//! office issues a second credential with its new key and revokes it, and the revocation
//! reaches the marketplace by gossip, which now rejects that credential naming the revoking
//! entry (and the office's Bitstring Status List says the same to outsiders); the office
//! cancels the right; the cancellation reaches the marketplace by gossip and the first
//! credential is now rejected, naming the cancelling entry.
//!
//! With the testnet's witness policy (`DIR/witnesses.policy`), the demo also waits until the
//! registration is covered by a checkpoint of the office's log that the policy's witnesses
//! cosigned, checks offline the registration proof the credential carries (and writes the files
//! to check it with `rightsnet proof verify`), waits for the marketplace to hold such a
//! checkpoint before it files a notice, and ends with an office that shows two nodes two
//! histories of its log: every node proves the split view and flags the office.

mod transparency;

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use proto_types::claims;
use proto_types::keys::{KeyFile, SecretKey};
use proto_types::timestamp::Timestamp;
use serde_json::{Value, json};

/// Longest wait for gossip to carry a change to the marketplace.
const PROPAGATION_TIMEOUT: Duration = Duration::from_secs(30);
/// Largest `testnet.json` read.
const MAX_TESTNET_FILE_BYTES: u64 = 1024 * 1024;

struct Node {
    name: String,
    role: String,
    api: String,
    authority: String,
    token: String,
    jurisdictions: Vec<String>,
}

struct Http {
    client: reqwest::blocking::Client,
}

impl Http {
    fn call(
        &self,
        method: &str,
        node: &Node,
        path: &str,
        body: Option<&Value>,
        operator: bool,
    ) -> anyhow::Result<(u16, Value)> {
        let url = format!("{}{path}", node.api);
        let mut request = match method {
            "POST" => self.client.post(&url),
            _ => self.client.get(&url),
        };
        if let Some(body) = body {
            request = request.json(body);
        }
        if operator {
            request = request.bearer_auth(&node.token);
        }
        let response = request.send().with_context(|| format!("{method} {url}"))?;
        let status = response.status().as_u16();
        let body = response.json::<Value>().unwrap_or(Value::Null);
        Ok((status, body))
    }

    /// A request with a raw body (text) and a raw answer (at most 1 MiB).
    fn raw(
        &self,
        method: &str,
        node: &Node,
        path: &str,
        body: Option<Vec<u8>>,
        operator: bool,
    ) -> anyhow::Result<(u16, Vec<u8>)> {
        let url = format!("{}{path}", node.api);
        let method = reqwest::Method::from_bytes(method.as_bytes())?;
        let mut request = self.client.request(method.clone(), &url);
        if let Some(body) = body {
            request = request
                .header(reqwest::header::CONTENT_TYPE, "text/plain; charset=utf-8")
                .body(body);
        }
        if operator {
            request = request.bearer_auth(&node.token);
        }
        let response = request.send().with_context(|| format!("{method} {url}"))?;
        let status = response.status().as_u16();
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut std::io::Read::take(response, 1 << 20), &mut bytes)?;
        Ok((status, bytes))
    }
}

/// The number of the step shown last.
static STEP: AtomicUsize = AtomicUsize::new(0);

fn step(title: &str) {
    let number = STEP.fetch_add(1, Ordering::Relaxed) + 1;
    println!("\n== {number}. {title}");
}

fn show(label: &str, value: &Value) {
    let text = serde_json::to_string_pretty(value).unwrap_or_default();
    let mut lines: Vec<&str> = text.lines().collect();
    let truncated = lines.len() > 24;
    lines.truncate(24);
    println!("{label}:");
    for line in lines {
        println!("    {line}");
    }
    if truncated {
        println!("    …");
    }
}

fn verdict_lines(verdict: &Value) {
    for reason in verdict["reasons"].as_array().cloned().unwrap_or_default() {
        let entry = reason["entry_id"]
            .as_str()
            .map(|id| format!(" [entry {}…]", &id[..id.len().min(16)]))
            .unwrap_or_default();
        println!(
            "    {} {:<20} {}{entry}",
            if reason["ok"] == true { "ok  " } else { "FAIL" },
            reason["code"].as_str().unwrap_or(""),
            reason["message"].as_str().unwrap_or("")
        );
    }
}

fn load_nodes(dir: &Path) -> anyhow::Result<Vec<Node>> {
    let path = dir.join("testnet.json");
    let file = std::fs::File::open(&path).with_context(|| {
        format!(
            "reading {} (is `rightsnet testnet up` running?)",
            path.display()
        )
    })?;
    let mut text = String::new();
    std::io::Read::read_to_string(
        &mut std::io::Read::take(file, MAX_TESTNET_FILE_BYTES),
        &mut text,
    )?;
    let testnet: Value =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    let mut nodes = Vec::new();
    for node in testnet["nodes"].as_array().cloned().unwrap_or_default() {
        let field = |name: &str| {
            node[name]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| anyhow!("testnet.json: node without {name}"))
        };
        let token_file = field("operator_token_file")?;
        let token = std::fs::read_to_string(&token_file)
            .with_context(|| format!("reading {token_file}"))?
            .trim()
            .to_owned();
        nodes.push(Node {
            name: field("name")?,
            role: field("role")?,
            api: field("api")?,
            authority: field("authority")?,
            token,
            jurisdictions: node["jurisdictions"]
                .as_array()
                .map(|codes| {
                    codes
                        .iter()
                        .filter_map(|c| c.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default(),
        });
    }
    Ok(nodes)
}

fn now() -> anyhow::Result<Timestamp> {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis();
    Ok(Timestamp::from_unix_millis(i64::try_from(millis)?)?)
}

fn wait_for(
    description: &str,
    mut check: impl FnMut() -> anyhow::Result<bool>,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + PROPAGATION_TIMEOUT;
    let started = Instant::now();
    while Instant::now() < deadline {
        if check()? {
            println!(
                "    ({description} after {} ms)",
                started.elapsed().as_millis()
            );
            return Ok(());
        }
        crate::pause(Duration::from_millis(100));
    }
    bail!("timed out waiting: {description}")
}

/// Runs the demo against the testnet in `dir`. Returns an error naming the step that did not
/// behave as the story says.
pub fn demo(dir: &Path) -> anyhow::Result<()> {
    STEP.store(0, Ordering::Relaxed);
    let nodes = load_nodes(dir)?;
    let offices: Vec<&Node> = nodes.iter().filter(|n| n.role == "office").collect();
    let office = offices
        .iter()
        .find(|n| n.jurisdictions.iter().any(|j| j == "FR"))
        .or_else(|| offices.first())
        .copied()
        .ok_or_else(|| anyhow!("the testnet has no office"))?;
    // Testnet marketplaces enforce the rights of every office of the network.
    let market = nodes
        .iter()
        .find(|n| n.role == "marketplace")
        .ok_or_else(|| anyhow!("the testnet has no marketplace"))?;
    let jurisdiction = office
        .jurisdictions
        .first()
        .cloned()
        .ok_or_else(|| anyhow!("office {} has no jurisdiction", office.name))?;
    let http = Http {
        client: reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()?,
    };
    println!(
        "office {} ({jurisdiction}) at {}; marketplace {} at {}",
        office.name, office.api, market.name, market.api
    );

    step("a rights holder gets a key");
    let holder = SecretKey::generate();
    let demo_dir = dir.join("demo");
    std::fs::create_dir_all(&demo_dir)?;
    let stamp = now()?.unix_millis();
    let holder_file = demo_dir.join(format!("holder-{stamp}.json"));
    std::fs::write(&holder_file, KeyFile::from_secret(&holder).to_json())?;
    let holder_did = holder.public_key().to_did_key();
    println!(
        "    holder key {holder_did} (saved in {})",
        holder_file.display()
    );

    step("the office registers the holder's mark");
    let number = format!("9{}", stamp % 1_000_000_000);
    let registration = json!({
        "right_type": "trademark",
        "jurisdiction": jurisdiction,
        "number": number,
        "mark_text": "Lumière Demo",
        "nice_classes": [18, 25],
        "holder": {"name": "Maison Lumière SARL", "country": "FR", "key": holder_did},
        "filing_date": "2021-03-01",
        "registration_date": "2021-09-01",
        "expiry_date": "2031-03-01",
        "status": "registered",
    });
    show("sent POST /v1/registrations", &registration);
    let (status, body) = http.call(
        "POST",
        office,
        "/v1/registrations",
        Some(&registration),
        true,
    )?;
    show(&format!("got {status}"), &body);
    if status != 201 {
        bail!("registration refused");
    }
    let right_id = format!("{jurisdiction}-TM-{number}");
    let registration_id = body["id"].as_str().unwrap_or("").to_owned();
    let witnessing = transparency::Witnessing::load(dir)?;

    if let Some(witnessing) = &witnessing {
        step("the office's log: a checkpoint covering the registration, cosigned by the witnesses");
        witnessing.wait_witnessed(&http, office, &registration_id, "the registration")?;
    }

    step("the office issues an ownership credential to the holder");
    let request = json!({"right_id": right_id, "holder": holder_did});
    let (status, credential) =
        http.call("POST", office, "/v1/credentials", Some(&request), true)?;
    show(
        &format!("got {status} (an IPRightCredential, eddsa-jcs-2022)"),
        &credential,
    );
    if status != 201 {
        bail!("credential refused");
    }

    let credential_id = credential["id"].as_str().unwrap_or("").to_owned();
    println!("    logged in the office's feed as credential {credential_id}");
    if let Some(witnessing) = &witnessing {
        let (_, office_status) = http.call("GET", office, "/v1/status", None, false)?;
        let signing_key = office_status["signing_key"]
            .as_str()
            .unwrap_or(&office.authority);
        witnessing.check_credential(&credential, signing_key, dir, &demo_dir, stamp)?;
    }

    step("the registration and the credential log reach the marketplace by gossip");
    wait_for("right known at the marketplace", || {
        Ok(http
            .call(
                "GET",
                market,
                &format!("/v1/rights/{right_id}"),
                None,
                false,
            )?
            .0
            == 200)
    })?;
    wait_for("credential log known at the marketplace", || {
        let (status, logged) = http.call(
            "GET",
            market,
            &format!("/v1/credentials?holder={holder_did}"),
            None,
            false,
        )?;
        Ok(status == 200
            && logged["credentials"].as_array().is_some_and(|list| {
                list.iter()
                    .any(|c| c["credential_id"] == credential_id.as_str())
            }))
    })?;

    if let Some(witnessing) = &witnessing {
        witnessing.wait_witnessed(&http, market, &registration_id, "the registration")?;
    }

    step("the marketplace screens its listings: obfuscated spellings of the French mark caught");
    screening_step(&http, market, &right_id, &demo_dir, stamp)?;

    step("the holder, abroad, files a notice on the marketplace");
    let notice = |nonce_seed: u64| -> anyhow::Result<Value> {
        let unsigned = json!({
            "v": 1,
            "marketplace": market.authority,
            "right_id": right_id,
            "holder": holder_did,
            "listings": [{"id": format!("listing-{stamp}"), "class": 25, "url": "https://shop.example/item/1"}],
            "reason": "counterfeit",
            "evidence": [{"kind": "test_purchase", "digest": format!("sha256:{}", "ab".repeat(32)), "result": "counterfeit: wrong stitching, no serial number"}],
            "good_faith_statement": "I believe in good faith that the listed goods infringe the right.",
            "nonce": format!("{:032x}", u128::from(nonce_seed) << 64 | stamp as u128),
            "created": now()?.as_str(),
            "credential": credential,
        });
        Ok(claims::sign_notice(&unsigned, &holder)?)
    };
    let first = notice(1)?;
    let (status, body) = http.call("POST", market, "/v1/notices", Some(&first), false)?;
    println!("got {status}; verdict:");
    verdict_lines(&body["verdict"]);
    if status != 201 {
        bail!("the notice was not accepted");
    }
    let notice_id = body["notice_id"].as_str().unwrap_or("").to_owned();

    step("the marketplace removes the listing");
    let decision = json!({"notice_id": notice_id, "outcome": "removed", "reason": "counterfeit confirmed by a test purchase", "seller_id": format!("seller-{stamp}")});
    show("sent POST /v1/decisions", &decision);
    let (status, body) = http.call("POST", market, "/v1/decisions", Some(&decision), true)?;
    show(&format!("got {status}"), &body);
    if status != 201 {
        bail!("decision refused");
    }
    let decision_id = body["id"].as_str().unwrap_or("").to_owned();
    let (_, entry) = http.call(
        "GET",
        market,
        &format!("/v1/entries/{decision_id}"),
        None,
        false,
    )?;
    let seller_ref = entry["entry"]["body"]["seller_ref"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    println!("    the seller appears only as {seller_ref} (a keyed hash)");

    step("the seller files a counter-notice");
    let counter = json!({"decision_id": decision_id, "statement": "These goods are genuine; invoices from the brand's distributor attached."});
    let (status, body) = http.call("POST", market, "/v1/counter-notices", Some(&counter), true)?;
    show(&format!("got {status}"), &body);
    if status != 201 {
        bail!("counter-notice refused");
    }

    step("the office rotates its signing key, as offices do routinely");
    let rotate = json!({"reason": "routine"});
    let (status, rotation) = http.call("POST", office, "/v1/keys/rotate", Some(&rotate), true)?;
    show(&format!("got {status}"), &rotation);
    if status != 201 {
        bail!("key rotation refused");
    }
    let rotation_id = rotation["rotation_entry"].as_str().unwrap_or("").to_owned();
    wait_for("rotation known at the marketplace", || {
        let (status, entry) = http.call(
            "GET",
            market,
            &format!("/v1/entries/{rotation_id}"),
            None,
            false,
        )?;
        Ok(status == 200 && entry["effective"] == true)
    })?;

    if let Some(witnessing) = &witnessing {
        witnessing.wait_witnessed(&http, market, &registration_id, "the registration")?;
    }

    step("the credential issued before the rotation is still good: it is anchored in the log");
    let third = notice(3)?;
    let (status, body) = http.call("POST", market, "/v1/notices", Some(&third), false)?;
    println!("got {status}; verdict:");
    verdict_lines(&body["verdict"]);
    if status != 201 {
        bail!("the credential anchored before the rotation was not accepted");
    }

    step("the office issues a second credential with its new key, then revokes it");
    let (status, second_credential) =
        http.call("POST", office, "/v1/credentials", Some(&request), true)?;
    if status != 201 {
        show(&format!("got {status}"), &second_credential);
        bail!("second credential refused");
    }
    let second_id = second_credential["id"].as_str().unwrap_or("").to_owned();
    println!(
        "    credential {second_id}, issuer {}",
        second_credential["issuer"].as_str().unwrap_or("")
    );
    let revoke =
        json!({"reason_code": "holder_request", "reason": "the holder reported the file lost"});
    let (status, revoked) = http.call(
        "POST",
        office,
        &format!("/v1/credentials/{second_id}/revoke"),
        Some(&revoke),
        true,
    )?;
    show(
        &format!("sent POST /v1/credentials/…/revoke, got {status}"),
        &revoked,
    );
    if status != 201 {
        bail!("revocation refused");
    }
    let revocation_id = revoked["entry_id"].as_str().unwrap_or("").to_owned();
    wait_for("revocation known at the marketplace", || {
        let (status, logged) = http.call(
            "GET",
            market,
            &format!("/v1/credentials/{second_id}"),
            None,
            false,
        )?;
        Ok(status == 200 && logged["status"] == "revoked")
    })?;
    if let Some(list_url) = second_credential["credentialStatus"]
        .as_array()
        .and_then(|entries| entries.first())
        .and_then(|entry| entry["statusListCredential"].as_str())
    {
        println!(
            "    outsiders check the same with the office's Bitstring Status List: {list_url}"
        );
    }

    step("a notice with the revoked credential: rejected, naming the revocation entry");
    let with_revoked = {
        let holder_notice = notice(4)?;
        let mut unsigned = holder_notice;
        if let Some(object) = unsigned.as_object_mut() {
            object.remove("signature");
            object.insert("credential".to_owned(), second_credential.clone());
        }
        claims::sign_notice(&unsigned, &holder)?
    };
    let (status, body) = http.call("POST", market, "/v1/notices", Some(&with_revoked), false)?;
    println!("got {status}; verdict:");
    verdict_lines(&body["verdict"]);
    let names_revocation = body["verdict"]["reasons"]
        .as_array()
        .is_some_and(|reasons| {
            reasons.iter().any(|r| {
                r["code"] == "credential_status"
                    && r["ok"] == false
                    && r["entry_id"] == revocation_id.as_str()
            })
        });
    if status != 422 || !names_revocation {
        bail!("the notice was not rejected on the revocation");
    }

    step("the office cancels the right (e.g. invalidated by a court)");
    let cancel = json!({"change": "cancelled", "effective_date": now()?.date().as_str(), "reason": "invalidated by court decision"});
    let (status, body) = http.call(
        "POST",
        office,
        &format!("/v1/rights/{right_id}/status"),
        Some(&cancel),
        true,
    )?;
    show(&format!("got {status}"), &body);
    if status != 201 {
        bail!("cancellation refused");
    }
    let cancel_id = body["id"].as_str().unwrap_or("").to_owned();
    wait_for("cancellation known at the marketplace", || {
        let (_, right) = http.call(
            "GET",
            market,
            &format!("/v1/rights/{right_id}"),
            None,
            false,
        )?;
        Ok(right["liveness"]["state"] == "cancelled")
    })?;

    step("the first credential, a new notice: rejected because of the gossiped cancellation");
    let second = notice(2)?;
    let (status, body) = http.call("POST", market, "/v1/notices", Some(&second), false)?;
    println!("got {status}; verdict:");
    verdict_lines(&body["verdict"]);
    let names_cancellation = body["verdict"]["reasons"]
        .as_array()
        .is_some_and(|reasons| {
            reasons
                .iter()
                .any(|r| r["code"] == "registry" && r["entry_id"] == cancel_id.as_str())
        });
    if status != 422 || !names_cancellation {
        bail!("the notice was not rejected on the cancellation");
    }

    step("accountability at the marketplace");
    let (_, accuracy) = http.call(
        "GET",
        market,
        &format!("/v1/holders/{holder_did}/accuracy"),
        None,
        false,
    )?;
    println!(
        "    holder: filed {}, removed {}, meets good-faith policy: {}",
        accuracy["filed"], accuracy["removed"], accuracy["meets_good_faith_policy"]
    );
    let (_, strikes) = http.call(
        "GET",
        market,
        &format!("/v1/sellers/{seller_ref}/strikes"),
        None,
        false,
    )?;
    println!(
        "    seller: {}",
        strikes["explanation"].as_str().unwrap_or("")
    );
    if witnessing.is_some() {
        step("an office shows two nodes two histories of its log: the split view is caught");
        transparency::split_view(&http, &nodes, stamp)?;
    }
    println!("\nthe whole story played as expected");
    Ok(())
}

/// Obfuscated listings of the demo's mark (and one generic listing), written to a JSON-lines
/// file as a marketplace would export them, screened at the marketplace: each obfuscated one
/// must find the right registered abroad, the generic one nothing.
fn screening_step(
    http: &Http,
    market: &Node,
    right_id: &str,
    demo_dir: &Path,
    stamp: i64,
) -> anyhow::Result<()> {
    let listings = [
        ("listing-1", "LUM1ÈRE DEMO sac à main cuir", Some(18)),
        ("listing-2", "L u m i e r e  D e m o handbag", None),
        // Cyrillic і in place of the Latin i; a counterfeit indicator.
        (
            "listing-3",
            "Lum\u{0456}ère Demo wallet 1:1 mirror quality",
            None,
        ),
        ("listing-4", "Lumiere-Demo tote bag", Some(18)),
        ("listing-5", "Lumièere Demo scarf", Some(25)),
        ("listing-6", "Plain leather handbag, black", Some(18)),
    ];
    let file = demo_dir.join(format!("listings-{stamp}.jsonl"));
    let mut lines = String::new();
    let mut body = Vec::new();
    for (id, title, class) in listings {
        let mut listing = json!({"id": id, "title": title});
        if let Some(class) = class {
            listing["class"] = json!(class);
        }
        lines.push_str(&listing.to_string());
        lines.push('\n');
        body.push(listing);
    }
    std::fs::write(&file, lines)?;
    let request = json!({"listings": body, "limit": 10});
    let (status, answer) = http.call("POST", market, "/v1/screen", Some(&request), false)?;
    if status != 200 {
        bail!("POST /v1/screen answered {status}: {answer}");
    }
    let results = answer["results"].as_array().cloned().unwrap_or_default();
    for ((id, title, _), result) in listings.iter().zip(&results) {
        let matches = result["matches"].as_array().cloned().unwrap_or_default();
        let ours = matches.iter().find(|m| m["right_id"] == right_id);
        let indicators = result["indicators"].as_array().cloned().unwrap_or_default();
        match ours {
            Some(found) => println!(
                "    {id} {title:?}: {} (score {}, how {}){}",
                found["right_id"].as_str().unwrap_or_default(),
                found["score"],
                found["how"],
                if indicators.is_empty() {
                    String::new()
                } else {
                    format!("; counterfeit indicators {}", Value::Array(indicators))
                }
            ),
            None if *id == "listing-6" => {
                if !matches.is_empty() {
                    bail!("a generic listing matched: {result}");
                }
                println!("    {id} {title:?}: no registered mark");
            }
            None => bail!("{id} {title:?} did not find {right_id}: {result}"),
        }
    }
    println!(
        "    the same listings from the command line: rightsnet screen --node {} --file {}",
        market.api,
        file.display()
    );
    Ok(())
}
