//! The web console (issue 17) through the node's router, in process, with a small cookie jar:
//! pages render with the security headers, user data comes back escaped (script tags, quotes,
//! a right-to-left override), operator pages and actions need the session, POSTs need the
//! right CSRF token, the operator token never reaches a cookie, and a decision recorded from
//! the notice queue shows up on it.

use axum::body::Body;
use axum::http::{HeaderMap, Request, header};
use proto_types::claims::sign_notice;
use proto_types::keys::SecretKey;
use serde_json::{Value, json};
use tower::ServiceExt;

use super::{Auth, Federation, Role, TOKEN, TestNode, registration};
use crate::api::router;
use crate::console::query_encode;

/// A page as a browser gets it.
struct Page {
    status: u16,
    headers: HeaderMap,
    html: String,
}

impl Page {
    fn location(&self) -> &str {
        self.headers
            .get(header::LOCATION)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
    }

    fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok().map(str::to_owned))
            .collect()
    }

    /// The `csrf` field of the form posting to `action`.
    fn csrf(&self, action: &str) -> String {
        let form = self
            .html
            .find(&format!("action=\"{action}\""))
            .unwrap_or_else(|| panic!("no form posts to {action}: {}", self.html));
        let rest = &self.html[form..];
        let start = rest.find("name=\"csrf\" value=\"").expect("a csrf field") + 19;
        rest[start..].split('"').next().expect("a value").to_owned()
    }
}

/// One browser: a router kept across requests (it holds the sessions) and a cookie jar.
struct Browser {
    app: axum::Router,
    cookies: Vec<(String, String)>,
}

impl Browser {
    fn new(node: &TestNode) -> Self {
        Self {
            app: router(node.state()),
            cookies: Vec::new(),
        }
    }

    async fn send(&mut self, method: &str, path: &str, form: Option<&[(&str, &str)]>) -> Page {
        let mut request = Request::builder().method(method).uri(path);
        if !self.cookies.is_empty() {
            let jar: Vec<String> = self
                .cookies
                .iter()
                .map(|(name, value)| format!("{name}={value}"))
                .collect();
            request = request.header(header::COOKIE, jar.join("; "));
        }
        let request = match form {
            Some(fields) => {
                let body: Vec<String> = fields
                    .iter()
                    .map(|(name, value)| format!("{}={}", query_encode(name), query_encode(value)))
                    .collect();
                request
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(Body::from(body.join("&")))
            }
            None => request.body(Body::empty()),
        }
        .expect("a request");
        let response = self
            .app
            .clone()
            .oneshot(request)
            .await
            .unwrap_or_else(|never| match never {});
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("the body");
        let page = Page {
            status,
            headers,
            html: String::from_utf8_lossy(&bytes).into_owned(),
        };
        for set in page.set_cookies() {
            let pair = set.split(';').next().unwrap_or_default();
            let Some((name, value)) = pair.split_once('=') else {
                continue;
            };
            self.cookies.retain(|(known, _)| known != name);
            if !set.contains("Max-Age=0") {
                self.cookies.push((name.to_owned(), value.to_owned()));
            }
        }
        page
    }

    async fn get(&mut self, path: &str) -> Page {
        self.send("GET", path, None).await
    }

    async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        self.send("POST", path, Some(form)).await
    }

    /// Signs in with the operator token; returns the operator forms' CSRF token.
    async fn sign_in(&mut self) -> String {
        let form = self.get("/operator/sign-in").await;
        assert_eq!(form.status, 200, "{}", form.html);
        let csrf = form.csrf("/operator/sign-in");
        let signed_in = self
            .post("/operator/sign-in", &[("csrf", &csrf), ("token", TOKEN)])
            .await;
        assert_eq!(signed_in.status, 303, "{}", signed_in.html);
        let home = self.get("/operator").await;
        assert_eq!(home.status, 200, "{}", home.html);
        home.csrf("/operator/sign-out")
    }
}

/// Every operator form's action: each needs the session and its CSRF token.
const OPERATOR_POSTS: [&str; 12] = [
    "/operator/decisions",
    "/operator/counter-notices",
    "/operator/accountability",
    "/operator/register",
    "/operator/status",
    "/operator/credentials",
    "/operator/credentials/status",
    "/operator/trust",
    "/operator/trust/endorsements",
    "/operator/trust/remove",
    "/operator/trust/jurisdictions",
    "/operator/keys/rotate",
];

const HOSTILE: &str = "<script>alert(1)</script> \"quoted\" 'single' \u{202E}gpj.exe";

/// The hostile text came back as text: no raw tag or quote.
fn assert_escaped_markup(page: &Page) {
    assert!(
        !page.html.contains("<script>alert(1)"),
        "a script tag came back raw: {}",
        page.html
    );
    assert!(
        page.html
            .contains("&#60;script&#62;alert(1)&#60;/script&#62;")
    );
    assert!(!page.html.contains("\"quoted\""), "raw quotes");
    assert!(!page.html.contains("'single'"), "raw apostrophes");
}

/// The hostile text came back as text, its right-to-left override shown, not obeyed (pages
/// that echo a form's own field back keep the user's text as typed).
fn assert_escaped(page: &Page) {
    assert_escaped_markup(page);
    assert!(
        !page.html.contains('\u{202E}'),
        "a raw right-to-left override"
    );
    assert!(page.html.contains("[U+202E]"));
}

fn assert_security_headers(page: &Page) {
    let header = |name: header::HeaderName| {
        page.headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(
        header(header::CONTENT_SECURITY_POLICY),
        crate::console::CONTENT_SECURITY_POLICY
    );
    assert_eq!(header(header::X_CONTENT_TYPE_OPTIONS), "nosniff");
    assert_eq!(header(header::REFERRER_POLICY), "no-referrer");
}

#[tokio::test]
async fn console_pages_render_escaped_with_strict_headers() {
    let federation = Federation::start(&[Role::Office], false).await;
    let office = &federation.nodes[0];
    let holder = SecretKey::generate();
    let mut hostile = registration("7001", &holder.public_key());
    hostile["mark_text"] = json!(format!("Lumière {HOSTILE}"));
    hostile["holder"]["name"] = json!(HOSTILE);
    office
        .post("/v1/registrations", Auth::Operator, &hostile)
        .await
        .expect(201, None);
    office
        .post(
            "/v1/registrations",
            Auth::Operator,
            &registration("7002", &holder.public_key()),
        )
        .await
        .expect(201, None);
    let mut distinct = registration("7003", &holder.public_key());
    distinct["mark_text"] = json!("Zorbatex");
    office
        .post("/v1/registrations", Auth::Operator, &distinct)
        .await
        .expect(201, None);
    let mut browser = Browser::new(office);

    let home = browser.get("/").await;
    assert_eq!(home.status, 200);
    assert!(home.html.contains("name=\"mark\""), "{}", home.html);
    assert!(home.html.contains("action=\"/search\""));
    assert_security_headers(&home);
    assert!(!home.html.contains("<script>"), "no inline script");

    let found = browser
        .get("/search?mark=lumi&class=&jurisdiction=fr&holder=")
        .await;
    assert_eq!(found.status, 200, "{}", found.html);
    assert!(
        found.html.contains("href=\"/rights/FR-TM-7001\""),
        "{}",
        found.html
    );
    assert!(found.html.contains("href=\"/rights/FR-TM-7002\""));
    assert_escaped(&found);
    assert_security_headers(&found);
    let by_holder = browser
        .get(&format!("/search?holder={}", query_encode("<script>")))
        .await;
    assert_eq!(by_holder.status, 200, "{}", by_holder.html);
    assert!(by_holder.html.contains("FR-TM-7001"));
    assert!(!by_holder.html.contains("FR-TM-7002"));
    let bad_class = browser.get("/search?mark=lumi&class=99").await;
    assert_eq!(bad_class.status, 400);
    assert!(bad_class.html.contains("class"), "{}", bad_class.html);
    let no_letters = browser.get("/search?mark=%21%21").await;
    assert_eq!(no_letters.status, 400);

    let right = browser.get("/rights/FR-TM-7001").await;
    assert_eq!(right.status, 200, "{}", right.html);
    assert_escaped(&right);
    assert!(right.html.contains("alive"), "{}", right.html);
    assert!(right.html.contains("/proof\""), "proof links");
    // The proof page of the right's registration: once the node has checkpointed its feed,
    // every check of `rightsnet proof verify` passes, and the proof's text is shown whole.
    let start = right
        .html
        .find("href=\"/entries/")
        .expect("a proof page link")
        + "href=\"/entries/".len();
    let entry_id = right.html[start..]
        .split('/')
        .next()
        .expect("an entry id")
        .to_owned();
    let proof_path = format!("/entries/{entry_id}/proof");
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    let proof = loop {
        let page = browser.get(&proof_path).await;
        if page.status == 200 {
            break page;
        }
        assert_eq!(page.status, 409, "not checkpointed yet: {}", page.html);
        assert!(
            tokio::time::Instant::now() < deadline,
            "no checkpoint within 30 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert!(
        proof.html.contains("Every check of this proof passed"),
        "{}",
        proof.html
    );
    for code in [
        "entry_signature",
        "checkpoint_signature",
        "inclusion",
        "feed_author",
        "trusted",
        "index",
    ] {
        assert!(proof.html.contains(code), "{code}: {}", proof.html);
    }
    assert!(!proof.html.contains("FAILED"), "{}", proof.html);
    assert!(proof.html.contains("id=\"proof-text\""));
    assert!(
        proof.html.contains("c2sp.org/tlog-proof@v1"),
        "{}",
        proof.html
    );
    assert_security_headers(&proof);
    assert_eq!(
        browser
            .get(&format!("/entries/{}/proof", "ab".repeat(32)))
            .await
            .status,
        404
    );
    assert_eq!(browser.get("/entries/not-an-id/proof").await.status, 400);
    assert_eq!(browser.get("/rights/FR-TM-4040404").await.status, 404);
    assert_eq!(browser.get("/rights/not%20a%20right").await.status, 400);

    let federation_page = browser.get("/federation").await;
    assert_eq!(federation_page.status, 200, "{}", federation_page.html);
    assert!(
        federation_page
            .html
            .contains(&office.authority.to_did_key())
    );
    assert!(federation_page.html.contains("Office 0"));

    let css = browser.get("/console/assets/console.css").await;
    assert_eq!(css.status, 200);
    assert_eq!(
        css.headers.get(header::CONTENT_TYPE).map(|v| v.as_bytes()),
        Some(&b"text/css; charset=utf-8"[..])
    );
    assert!(
        css.headers
            .get(header::CACHE_CONTROL)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|value| value.contains("max-age"))
    );
    assert_eq!(browser.get("/console/assets/other.js").await.status, 404);

    // Screening: the pasted titles, escaped on the way back.
    let form = browser.get("/screen").await;
    let csrf = form.csrf("/screen");
    let screened = browser
        .post(
            "/screen",
            &[
                ("csrf", &csrf),
                ("titles", &format!("Genuine Zorbatex sneakers\n{HOSTILE}")),
            ],
        )
        .await;
    assert_eq!(screened.status, 200, "{}", screened.html);
    assert!(screened.html.contains("FR-TM-7003"), "{}", screened.html);
    assert_escaped_markup(&screened);
    assert!(
        screened.html.contains("[U+202E]"),
        "the result row shows the override"
    );
    let refused = browser
        .post("/screen", &[("csrf", "0"), ("titles", "Lumiere")])
        .await;
    assert_eq!(refused.status, 403);
    let too_many = "title\n".repeat(crate::console::MAX_SCREEN_LINES + 1);
    let refused = browser
        .post("/screen", &[("csrf", &csrf), ("titles", &too_many)])
        .await;
    assert_eq!(refused.status, 422, "{}", refused.html);

    // The JSON API is unchanged beside the console.
    let status = office.get("/v1/status").await;
    status.expect(200, None);
    let unknown = office.get("/v1/nothing-here").await;
    unknown.expect(404, Some("not_found"));
    drop(browser);
    federation.stop().await;
}

#[tokio::test]
async fn console_operator_pages_need_the_session_and_forms_need_csrf() {
    let federation = Federation::start(&[Role::Marketplace], false).await;
    let market = &federation.nodes[0];
    let mut browser = Browser::new(market);
    for path in [
        "/operator",
        "/operator/notices",
        "/operator/register",
        "/operator/status",
        "/operator/restorations",
        "/operator/accountability",
        "/operator/credentials",
        "/operator/trust",
        "/operator/imports",
        "/operator/register?right_id=FR-TM-1",
    ] {
        let page = browser.get(path).await;
        assert_eq!(page.status, 303, "{path}");
        assert_eq!(page.location(), "/operator/sign-in", "{path}");
    }
    for path in OPERATOR_POSTS.iter().chain(&["/operator/sign-out"]) {
        let page = browser.post(path, &[("csrf", "x")]).await;
        assert_eq!(page.status, 303, "{path}");
        assert_eq!(page.location(), "/operator/sign-in", "{path}");
    }

    let form = browser.get("/operator/sign-in").await;
    assert_eq!(form.status, 200);
    assert!(form.html.contains("name=\"token\""));
    assert_security_headers(&form);
    let csrf = form.csrf("/operator/sign-in");
    let missing = browser.post("/operator/sign-in", &[("token", TOKEN)]).await;
    assert_eq!(missing.status, 403, "no csrf");
    let wrong = browser
        .post(
            "/operator/sign-in",
            &[("csrf", &"ab".repeat(32)), ("token", TOKEN)],
        )
        .await;
    assert_eq!(wrong.status, 403, "wrong csrf");
    let mut stranger = Browser::new(market);
    stranger.get("/operator/sign-in").await;
    let foreign = stranger
        .post("/operator/sign-in", &[("csrf", &csrf), ("token", TOKEN)])
        .await;
    assert_eq!(foreign.status, 403, "another browser's csrf");
    let bad_token = browser
        .post(
            "/operator/sign-in",
            &[("csrf", &csrf), ("token", "not-the-token")],
        )
        .await;
    assert_eq!(bad_token.status, 401);
    assert!(
        bad_token
            .set_cookies()
            .iter()
            .all(|c| !c.starts_with("rightsnet_session"))
    );

    let signed_in = browser
        .post("/operator/sign-in", &[("csrf", &csrf), ("token", TOKEN)])
        .await;
    assert_eq!(signed_in.status, 303, "{}", signed_in.html);
    assert!(!signed_in.location().contains(TOKEN));
    let cookies = signed_in.set_cookies();
    let session = cookies
        .iter()
        .find(|cookie| cookie.starts_with("rightsnet_session="))
        .expect("a session cookie");
    assert!(session.contains("HttpOnly"), "{session}");
    assert!(session.contains("SameSite=Strict"), "{session}");
    assert!(!session.contains("Secure"), "not behind TLS: {session}");
    for cookie in &cookies {
        assert!(!cookie.contains(TOKEN), "the token in a cookie: {cookie}");
    }
    let token_hex = hex::encode(TOKEN);
    assert!(cookies.iter().all(|cookie| !cookie.contains(&token_hex)));

    let queue = browser.get("/operator/notices").await;
    assert_eq!(queue.status, 200, "{}", queue.html);
    assert!(queue.html.contains("No notice awaits a decision"));
    let operator_csrf = queue.csrf("/operator/sign-out");
    assert_ne!(operator_csrf, csrf);
    let wrong = "cd".repeat(32);
    for csrf in ["", wrong.as_str()] {
        let page = browser
            .post(
                "/operator/decisions",
                &[
                    ("csrf", csrf),
                    ("notice_id", "00"),
                    ("outcome", "removed"),
                    ("reason", "r"),
                    ("seller_id", "s"),
                ],
            )
            .await;
        assert_eq!(page.status, 403, "csrf {csrf:?}");
    }
    for path in OPERATOR_POSTS {
        for csrf in ["", wrong.as_str()] {
            let page = browser
                .post(
                    path,
                    &[
                        ("csrf", csrf),
                        ("number", "1"),
                        ("did", "did:key:z6Mk"),
                        ("confirm", "yes"),
                        ("reason", "routine"),
                    ],
                )
                .await;
            assert_eq!(page.status, 403, "{path} with csrf {csrf:?}");
        }
    }

    // A bad registration is refused with the API's reason; a good one is written.
    let refused = browser
        .post(
            "/operator/register",
            &[
                ("csrf", &operator_csrf),
                ("right_type", "trademark"),
                ("jurisdiction", "FR"),
                ("number", "55"),
                ("holder_name", HOSTILE),
                ("holder_country", "FR"),
                ("filing_date", "yesterday"),
            ],
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.html);
    assert!(refused.html.contains("filing_date"), "{}", refused.html);
    assert_escaped_markup(&refused);
    let written = browser
        .post(
            "/operator/register",
            &[
                ("csrf", &operator_csrf),
                ("right_type", "trademark"),
                ("jurisdiction", "fr"),
                ("number", "56"),
                ("mark_text", "Console Mark"),
                ("nice_classes", "25, 30"),
                ("holder_name", "Console SARL"),
                ("holder_country", "fr"),
                ("filing_date", "2020-01-15"),
                ("registration_date", "2020-06-01"),
                ("expiry_date", "2035-01-15"),
            ],
        )
        .await;
    // A marketplace is not an office: the API's refusal, shown on the form.
    assert_eq!(written.status, 409, "{}", written.html);
    assert!(
        written
            .html
            .contains("not an office trusted for jurisdiction FR"),
        "{}",
        written.html
    );
    let changed = browser
        .post(
            "/operator/status",
            &[
                ("csrf", &operator_csrf),
                ("right_id", "FR-TM-56"),
                ("change", "cancelled"),
                ("effective_date", "2024-01-01"),
            ],
        )
        .await;
    assert!(changed.status >= 400, "{}", changed.html);
    assert!(changed.html.contains("class=\"error\""), "{}", changed.html);

    // Sign-out ends the session.
    let out = browser
        .post("/operator/sign-out", &[("csrf", &operator_csrf)])
        .await;
    assert_eq!(out.status, 303);
    assert!(
        out.set_cookies()
            .iter()
            .any(|cookie| cookie.starts_with("rightsnet_session=") && cookie.contains("Max-Age=0"))
    );
    assert_eq!(browser.get("/operator/notices").await.status, 303);
    drop((browser, stranger));
    federation.stop().await;
}

/// A notice by `holder` to `marketplace` about `right_id`, created now.
fn notice(holder: &SecretKey, marketplace: &TestNode, right_id: &str, credential: &Value) -> Value {
    let unsigned = json!({
        "v": 1,
        "marketplace": marketplace.authority.to_did_key(),
        "right_id": right_id,
        "holder": holder.public_key().to_did_key(),
        "listings": [{"id": "listing-4411", "url": "https://shop.example/item/4411", "class": 25}],
        "reason": "counterfeit",
        "evidence": [{
            "kind": "test_purchase",
            "digest": format!("sha256:{}", "ab".repeat(32)),
            "result": "counterfeit",
        }],
        "good_faith_statement": "I believe in good faith that the listed goods infringe the right.",
        "nonce": "3c".repeat(16),
        "created": crate::clock::now().as_str(),
        "credential": credential,
    });
    sign_notice(&unsigned, holder).expect("the holder signs")
}

#[tokio::test]
async fn console_checks_credentials_and_records_a_decision_from_the_queue() {
    let federation = Federation::start(&[Role::Office, Role::Marketplace], false).await;
    let office = &federation.nodes[0];
    let market = &federation.nodes[1];
    let holder = SecretKey::generate();
    office
        .post(
            "/v1/registrations",
            Auth::Operator,
            &registration("8123", &holder.public_key()),
        )
        .await
        .expect(201, None);
    let credential = office
        .post(
            "/v1/credentials",
            Auth::Operator,
            &json!({"right_id": "FR-TM-8123", "holder": holder.public_key().to_did_key()}),
        )
        .await
        .expect(201, None)
        .clone();
    let feed = office
        .get(&format!("/v1/feeds/{}", office.authority.to_did_key()))
        .await;
    for entry in feed.expect(200, None)["entries"]
        .as_array()
        .expect("entries")
    {
        market
            .post("/v1/entries", Auth::Anonymous, entry)
            .await
            .expect(201, None);
    }

    // The credential check: a valid credential passes every check, a tampered one fails.
    let mut browser = Browser::new(market);
    let form = browser.get("/check").await;
    assert_eq!(form.status, 200);
    let csrf = form.csrf("/check");
    let text = serde_json::to_string_pretty(&credential).expect("JSON");
    let valid = browser
        .post("/check", &[("csrf", &csrf), ("credential", &text)])
        .await;
    assert_eq!(valid.status, 200, "{}", valid.html);
    assert!(
        valid.html.contains("Every check of this credential passed"),
        "{}",
        valid.html
    );
    assert!(valid.html.contains("issuer_trusted"));
    let mut tampered = credential.clone();
    tampered["credentialSubject"]["right"]["niceClasses"] = json!([1, 2, 3]);
    let tampered_text = serde_json::to_string(&tampered).expect("JSON");
    let failed = browser
        .post("/check", &[("csrf", &csrf), ("credential", &tampered_text)])
        .await;
    assert_eq!(failed.status, 200, "{}", failed.html);
    assert!(failed.html.contains("failed a check"), "{}", failed.html);
    assert!(failed.html.contains("FAILED"));
    let garbage = browser
        .post("/check", &[("csrf", &csrf), ("credential", "{not json")])
        .await;
    assert_eq!(garbage.status, 422);
    let big = "x".repeat(crate::console::MAX_CHECK_BYTES + 1);
    let too_big = browser
        .post("/check", &[("csrf", &csrf), ("credential", &big)])
        .await;
    assert_eq!(too_big.status, 413, "{}", too_big.html);
    assert_eq!(
        browser
            .post("/check", &[("credential", &text)])
            .await
            .status,
        403
    );

    // A notice checked offline, then filed; the operator decides it from the queue.
    let filed = notice(&holder, market, "FR-TM-8123", &credential);
    let notice_text = serde_json::to_string(&filed).expect("JSON");
    let checked = browser
        .post("/check", &[("csrf", &csrf), ("credential", &notice_text)])
        .await;
    assert!(
        checked.html.contains("Every check of this notice passed"),
        "{}",
        checked.html
    );
    let notice_id = market
        .post("/v1/notices", Auth::Anonymous, &filed)
        .await
        .expect(201, None)["notice_id"]
        .as_str()
        .expect("a notice id")
        .to_owned();
    let operator_csrf = browser.sign_in().await;
    let queue = browser.get("/operator/notices").await;
    assert_eq!(queue.status, 200, "{}", queue.html);
    assert!(queue.html.contains(&notice_id), "{}", queue.html);
    assert!(queue.html.contains("holder_key"), "the verdict's checks");
    assert!(queue.html.contains("id=\"window\""), "{}", queue.html);
    assert!(
        !queue.html.contains("id=\"older\""),
        "one window holds the feed"
    );
    // Windows of the feed: before seq 1 there is nothing; past the head is the latest window;
    // a window that is not a seq is refused.
    let before_first = browser.get("/operator/notices?before=1").await;
    assert_eq!(before_first.status, 200, "{}", before_first.html);
    assert!(
        !before_first.html.contains(&notice_id),
        "{}",
        before_first.html
    );
    assert!(before_first.html.contains("id=\"queue-empty\""));
    assert!(before_first.html.contains("Latest entries"));
    let past_head = browser.get("/operator/notices?before=999999999").await;
    assert!(past_head.html.contains(&notice_id), "{}", past_head.html);
    for bad in ["0", "x", "-1", "<script>"] {
        let refused = browser
            .get(&format!("/operator/notices?before={}", query_encode(bad)))
            .await;
        assert_eq!(refused.status, 422, "{bad}: {}", refused.html);
    }
    let refused = browser
        .post(
            "/operator/decisions",
            &[
                ("csrf", &operator_csrf),
                ("notice_id", &notice_id),
                ("outcome", "removed"),
                ("reason", "counterfeit confirmed"),
                ("seller_id", " "),
            ],
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.html);
    let decided = browser
        .post(
            "/operator/decisions",
            &[
                ("csrf", &operator_csrf),
                ("notice_id", &notice_id),
                ("outcome", "removed"),
                ("reason", "counterfeit confirmed <b>by test purchase</b>"),
                ("seller_id", "seller-7781"),
            ],
        )
        .await;
    assert_eq!(decided.status, 303, "{}", decided.html);
    let location = decided.location().to_owned();
    assert!(
        location.starts_with("/operator/notices?recorded="),
        "{location}"
    );
    let after = browser.get(&location).await;
    assert!(after.html.contains("Recorded as entry"), "{}", after.html);
    assert!(after.html.contains("No notice awaits a decision"));
    assert!(after.html.contains("removed"));
    assert!(
        after
            .html
            .contains("&#60;b&#62;by test purchase&#60;/b&#62;")
    );
    let claims = market.get(&format!("/v1/claims?notice={notice_id}")).await;
    let claims = claims.expect(200, None)["claims"]
        .as_array()
        .expect("claims")
        .clone();
    assert_eq!(claims.len(), 1);
    assert_eq!(claims[0]["entry"]["body"]["outcome"], "removed");
    drop(browser);
    federation.stop().await;
}

/// The value of the form field `name` on a page (the first input so named).
fn field_value(page: &Page, name: &str) -> String {
    let at = page
        .html
        .find(&format!("name=\"{name}\""))
        .unwrap_or_else(|| panic!("no field {name}: {}", page.html));
    let tag = page.html[at..].split('>').next().expect("the tag");
    let start = tag
        .find("value=\"")
        .unwrap_or_else(|| panic!("no value in {tag}"))
        + 7;
    tag[start..].split('"').next().expect("a value").to_owned()
}

/// The office's pages (correct a right, issue a credential, trust and keys) and the
/// marketplace's (counter-notices, restorations, holder accuracy, seller strikes), each through
/// the forms a browser submits, checked against the JSON API.
#[tokio::test]
async fn console_office_and_marketplace_operator_pages_record_what_the_api_would() {
    let federation = Federation::start(&[Role::Office, Role::Marketplace], false).await;
    let office = &federation.nodes[0];
    let market = &federation.nodes[1];
    let holder = SecretKey::generate();
    office
        .post(
            "/v1/registrations",
            Auth::Operator,
            &registration("8124", &holder.public_key()),
        )
        .await
        .expect(201, None);

    // Office: the right page links to the office's actions for a signed-in operator only.
    let mut anonymous = Browser::new(office);
    let public = anonymous.get("/rights/FR-TM-8124").await;
    assert_eq!(public.status, 200);
    assert!(!public.html.contains("office-actions"));
    let mut browser = Browser::new(office);
    let csrf = browser.sign_in().await;
    let own = browser.get("/rights/FR-TM-8124").await;
    assert!(own.html.contains("office-actions"), "{}", own.html);

    // Correct a right: the form starts from its state; submitting records a correction.
    let form = browser.get("/operator/register?right_id=FR-TM-8124").await;
    assert_eq!(form.status, 200, "{}", form.html);
    assert!(form.html.contains("Correct a right"));
    assert_eq!(field_value(&form, "number"), "8124");
    assert_eq!(field_value(&form, "nice_classes"), "25, 30");
    assert_eq!(
        field_value(&form, "holder_key"),
        holder.public_key().to_did_key()
    );
    assert_eq!(
        browser
            .get("/operator/register?right_id=FR-TM-404")
            .await
            .status,
        404
    );
    assert_eq!(
        browser
            .get("/operator/register?right_id=%3Cscript%3E")
            .await
            .status,
        400
    );
    let mut fields: Vec<(&str, String)> = [
        "jurisdiction",
        "number",
        "nice_classes",
        "holder_name",
        "holder_country",
        "holder_key",
        "filing_date",
        "registration_date",
        "expiry_date",
    ]
    .iter()
    .map(|name| (*name, field_value(&form, name)))
    .collect();
    fields.push(("csrf", csrf.clone()));
    fields.push(("right_type", "trademark".to_owned()));
    fields.push(("mark_text", "Lumière 8124 corrigée".to_owned()));
    let fields: Vec<(&str, &str)> = fields
        .iter()
        .map(|(name, value)| (*name, value.as_str()))
        .collect();
    let corrected = browser.post("/operator/register", &fields).await;
    assert_eq!(corrected.status, 303, "{}", corrected.html);
    let right = office.get("/v1/rights/FR-TM-8124").await;
    let right = right.expect(200, None);
    assert_eq!(right["mark_text"], "Lumière 8124 corrigée");
    let history = right["history"].as_array().expect("a history");
    assert!(
        history.iter().any(|item| item["change"] == "correction"),
        "{history:?}"
    );

    // Issue a credential: the holder key is filled in, the answer is a file to download.
    let form = browser
        .get("/operator/credentials?right_id=FR-TM-8124")
        .await;
    assert_eq!(form.status, 200, "{}", form.html);
    assert_eq!(
        field_value(&form, "holder"),
        holder.public_key().to_did_key()
    );
    let stranger = SecretKey::generate().public_key().to_did_key();
    let refused = browser
        .post(
            "/operator/credentials",
            &[
                ("csrf", &csrf),
                ("right_id", "FR-TM-8124"),
                ("holder", &stranger),
            ],
        )
        .await;
    assert!(refused.status >= 400, "{}", refused.html);
    assert!(refused.html.contains("class=\"error\""), "{}", refused.html);
    let download = browser
        .post(
            "/operator/credentials",
            &[
                ("csrf", &csrf),
                ("right_id", "FR-TM-8124"),
                ("holder", &holder.public_key().to_did_key()),
                ("valid_until", "2030-12-31"),
            ],
        )
        .await;
    assert_eq!(download.status, 200, "{}", download.html);
    let disposition = download
        .headers
        .get(header::CONTENT_DISPOSITION)
        .and_then(|value| value.to_str().ok())
        .expect("a download");
    assert_eq!(
        disposition,
        "attachment; filename=\"credential-FR-TM-8124.json\""
    );
    let credential: Value = serde_json::from_str(&download.html).expect("a JSON credential");
    assert_eq!(credential["validUntil"], "2030-12-31T23:59:59Z");
    assert_eq!(
        credential["credentialSubject"]["right"]["mark"], "Lumière 8124 corrigée",
        "{credential}"
    );
    let logged = office
        .get(&format!(
            "/v1/credentials?holder={}",
            holder.public_key().to_did_key()
        ))
        .await;
    assert_eq!(
        logged.expect(200, None)["credentials"]
            .as_array()
            .map(Vec::len),
        Some(1),
        "the credential was logged once"
    );
    // A second credential for the right (the first backs a notice below). The right's
    // credential page lists both with the changes they may take; suspend the second, reinstate
    // it, revoke it: each change is an entry, and a revoked credential offers none.
    let second = office
        .post(
            "/v1/credentials",
            Auth::Operator,
            &json!({"right_id": "FR-TM-8124", "holder": holder.public_key().to_did_key()}),
        )
        .await
        .expect(201, None)
        .clone();
    let listed = browser
        .get("/operator/credentials?right_id=FR-TM-8124")
        .await;
    assert_eq!(listed.status, 200, "{}", listed.html);
    assert!(
        listed
            .html
            .contains(credential["id"].as_str().expect("an id")),
        "{}",
        listed.html
    );
    let credential_id = second["id"].as_str().expect("an id").to_owned();
    assert!(listed.html.contains(&credential_id), "{}", listed.html);
    assert!(
        listed.html.contains("<option value=\"suspend\">"),
        "{}",
        listed.html
    );
    assert!(!listed.html.contains("<option value=\"reinstate\">"));
    let status_csrf = listed.csrf("/operator/credentials/status");
    for (change, code, expected) in [
        ("suspend", "holder_request", "suspended"),
        ("reinstate", "", "active"),
        ("revoke", "misissued", "revoked"),
    ] {
        let changed = browser
            .post(
                "/operator/credentials/status",
                &[
                    ("csrf", &status_csrf),
                    ("credential_id", &credential_id),
                    ("right_id", "FR-TM-8124"),
                    ("change", change),
                    ("reason_code", code),
                    ("reason", HOSTILE),
                ],
            )
            .await;
        assert_eq!(changed.status, 303, "{change}: {}", changed.html);
        assert!(
            changed
                .location()
                .starts_with("/operator/credentials?right_id=FR-TM-8124&recorded="),
            "{}",
            changed.location()
        );
        let status = office
            .get(&format!("/v1/credentials/{}", query_encode(&credential_id)))
            .await;
        assert_eq!(status.expect(200, None)["status"], expected, "{change}");
    }
    let after = browser
        .get("/operator/credentials?right_id=FR-TM-8124")
        .await;
    assert!(after.html.contains("revoked"), "{}", after.html);
    assert!(after.html.contains("(misissued)"), "{}", after.html);
    assert_eq!(
        after
            .html
            .matches("action=\"/operator/credentials/status\"")
            .count(),
        1,
        "only the first, active credential takes a change: {}",
        after.html
    );
    let final_state = browser
        .post(
            "/operator/credentials/status",
            &[
                ("csrf", &status_csrf),
                ("credential_id", &credential_id),
                ("change", "reinstate"),
            ],
        )
        .await;
    assert_eq!(final_state.status, 409, "{}", final_state.html);
    for (field, value) in [("change", "destroy"), ("reason_code", "<script>")] {
        let mut form = vec![
            ("csrf", status_csrf.as_str()),
            ("credential_id", credential_id.as_str()),
            ("change", "suspend"),
        ];
        form.retain(|(name, _)| *name != field);
        form.push((field, value));
        let refused = browser.post("/operator/credentials/status", &form).await;
        assert_eq!(refused.status, 422, "{field}: {}", refused.html);
        assert!(!refused.html.contains("<script>"), "{}", refused.html);
    }
    let unknown = browser
        .post(
            "/operator/credentials/status",
            &[
                ("csrf", &status_csrf),
                (
                    "credential_id",
                    "urn:uuid:00000000-0000-4000-8000-000000000000",
                ),
                ("change", "revoke"),
            ],
        )
        .await;
    assert_eq!(unknown.status, 404, "{}", unknown.html);

    // Trust: add an authority (its name escaped), replace its jurisdictions, remove it.
    let newcomer = SecretKey::generate().public_key().to_did_key();
    let name = "Office <b>Nouveau</b> \"Q\"";
    let added = browser
        .post(
            "/operator/trust",
            &[
                ("csrf", &csrf),
                ("did", &newcomer),
                ("name", name),
                ("role", "office"),
                ("jurisdictions", "de, at"),
            ],
        )
        .await;
    assert_eq!(added.status, 303, "{}", added.html);
    let page = browser.get("/operator/trust").await;
    assert!(page.html.contains(&newcomer), "{}", page.html);
    assert!(page.html.contains("DE, AT"));
    assert!(!page.html.contains("<b>Nouveau</b>"));
    assert!(page.html.contains("&#60;b&#62;Nouveau"), "{}", page.html);
    let again = browser
        .post(
            "/operator/trust",
            &[
                ("csrf", &csrf),
                ("did", &newcomer),
                ("name", "Twice"),
                ("role", "office"),
                ("jurisdictions", "DE"),
            ],
        )
        .await;
    assert_eq!(again.status, 409, "{}", again.html);
    let bad_role = browser
        .post(
            "/operator/trust",
            &[
                ("csrf", &csrf),
                ("did", &SecretKey::generate().public_key().to_did_key()),
                ("name", "Role"),
                ("role", "<script>"),
            ],
        )
        .await;
    assert_eq!(bad_role.status, 422, "{}", bad_role.html);
    let replaced = browser
        .post(
            "/operator/trust/jurisdictions",
            &[("csrf", &csrf), ("did", &newcomer), ("jurisdictions", "CH")],
        )
        .await;
    assert_eq!(replaced.status, 303, "{}", replaced.html);
    let trust = office.get("/v1/trust").await;
    let listed = trust.expect(200, None)["authorities"]
        .as_array()
        .expect("authorities")
        .iter()
        .find(|authority| authority["did"] == newcomer.as_str())
        .cloned()
        .expect("the newcomer is trusted");
    assert_eq!(listed["jurisdictions"], json!(["CH"]));
    let removed = browser
        .post(
            "/operator/trust/remove",
            &[("csrf", &csrf), ("did", &newcomer)],
        )
        .await;
    assert_eq!(removed.status, 303, "{}", removed.html);
    assert!(
        !browser
            .get("/operator/trust")
            .await
            .html
            .contains(&newcomer)
    );
    let unknown = browser
        .post(
            "/operator/trust/remove",
            &[("csrf", &csrf), ("did", &newcomer)],
        )
        .await;
    assert_eq!(unknown.status, 404, "{}", unknown.html);

    // Endorse an authority from the trust page: an `authority` v2 entry in the office's feed,
    // its name kept as given; bad input is refused with the reason, and an office does not
    // endorse itself.
    let trust_page = browser.get("/operator/trust").await;
    assert!(
        trust_page.html.contains("id=\"endorse\""),
        "{}",
        trust_page.html
    );
    let endorse_csrf = trust_page.csrf("/operator/trust/endorsements");
    let endorsed_key = SecretKey::generate().public_key().to_did_key();
    let endorsed = browser
        .post(
            "/operator/trust/endorsements",
            &[
                ("csrf", &endorse_csrf),
                ("subject", &endorsed_key),
                ("name", "Oficina <i>Nueva</i>"),
                ("role", "office"),
                ("jurisdictions", "es"),
                ("contact", "mailto:trust@example.es"),
            ],
        )
        .await;
    assert_eq!(endorsed.status, 303, "{}", endorsed.html);
    let location = endorsed.location().to_owned();
    assert!(
        location.starts_with("/operator/trust?endorsed="),
        "{location}"
    );
    let entry_id = location.rsplit('=').next().expect("an entry id").to_owned();
    let entry = office.get(&format!("/v1/entries/{entry_id}")).await;
    let entry = entry.expect(200, None);
    let body = &entry["entry"]["body"];
    assert_eq!(body["subject"], endorsed_key.as_str(), "{entry}");
    assert_eq!(body["name"], "Oficina <i>Nueva</i>");
    assert_eq!(body["jurisdictions"], json!(["ES"]));
    let shown = browser.get(&location).await;
    assert!(shown.html.contains("id=\"endorsed\""), "{}", shown.html);
    let withdrawn = browser
        .post(
            "/operator/trust/endorsements",
            &[
                ("csrf", &endorse_csrf),
                ("subject", &endorsed_key),
                ("name", "Oficina Nueva"),
                ("role", "office"),
                ("jurisdictions", "ES"),
                ("withdraw", "yes"),
            ],
        )
        .await;
    assert_eq!(withdrawn.status, 303, "{}", withdrawn.html);
    let own_key = office.state().authority.to_did_key();
    for (subject, role, status) in [
        (own_key.as_str(), "office", 422),
        ("did:key:nope", "office", 422),
        (endorsed_key.as_str(), "<script>", 422),
    ] {
        let refused = browser
            .post(
                "/operator/trust/endorsements",
                &[
                    ("csrf", &endorse_csrf),
                    ("subject", subject),
                    ("name", "X"),
                    ("role", role),
                    ("jurisdictions", "ES"),
                ],
            )
            .await;
        assert_eq!(refused.status, status, "{subject} {role}: {}", refused.html);
        assert!(refused.html.contains("class=\"error\""), "{}", refused.html);
        assert!(!refused.html.contains("<script>"), "{}", refused.html);
    }

    // Imports: a batch an importer names shows on the imports page with its progress.
    let batch = json!({"items": [registration("8125", &holder.public_key())]});
    let request = Request::builder()
        .method("POST")
        .uri("/v1/registrations/batch")
        .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
        .header(header::CONTENT_TYPE, "application/json")
        .header(
            "rightsnet-import",
            "id=run-7; file=<b>register</b>.csv; read=40; size=160",
        )
        .body(Body::from(serde_json::to_vec(&batch).expect("JSON")))
        .expect("a request");
    let answer = router(office.state())
        .oneshot(request)
        .await
        .unwrap_or_else(|never| match never {});
    assert_eq!(answer.status(), 200);
    let imports = browser.get("/operator/imports").await;
    assert_eq!(imports.status, 200, "{}", imports.html);
    for shown in [
        "run-7",
        "25.0 %",
        "&#60;b&#62;register&#60;/b&#62;.csv",
        "running",
    ] {
        assert!(imports.html.contains(shown), "{shown}: {}", imports.html);
    }
    assert!(
        imports.html.contains("<td>1</td>"),
        "one written: {}",
        imports.html
    );

    // The marketplace: the office's feed reaches it, a holder files a notice, the operator
    // removes the listings, records the seller's counter-notice, and sees the restoration,
    // the holder's accuracy and the seller's strikes.
    let feed = office
        .get(&format!("/v1/feeds/{}", office.authority.to_did_key()))
        .await;
    for entry in feed.expect(200, None)["entries"]
        .as_array()
        .expect("entries")
    {
        market
            .post("/v1/entries", Auth::Anonymous, entry)
            .await
            .expect(201, None);
    }
    let filed = notice(&holder, market, "FR-TM-8124", &credential);
    let notice_id = market
        .post("/v1/notices", Auth::Anonymous, &filed)
        .await
        .expect(201, None)["notice_id"]
        .as_str()
        .expect("a notice id")
        .to_owned();
    let mut reviewer = Browser::new(market);
    let market_csrf = reviewer.sign_in().await;
    let queue = reviewer.get("/operator/notices").await;
    assert!(
        queue.html.contains(&format!(
            "/operator/accountability?holder={}",
            holder.public_key().to_did_key()
        )),
        "{}",
        queue.html
    );
    let decided = reviewer
        .post(
            "/operator/decisions",
            &[
                ("csrf", &market_csrf),
                ("notice_id", &notice_id),
                ("outcome", "removed"),
                ("reason", "counterfeit confirmed"),
                ("seller_id", "seller-9001"),
            ],
        )
        .await;
    assert_eq!(decided.status, 303, "{}", decided.html);
    let claims = market.get(&format!("/v1/claims?notice={notice_id}")).await;
    let decision_id = claims.expect(200, None)["claims"][0]["id"]
        .as_str()
        .expect("the decision")
        .to_owned();
    let queue = reviewer.get("/operator/notices").await;
    assert!(
        queue
            .html
            .contains("Record the seller&#39;s counter-notice")
            || queue.html.contains("Record the seller's counter-notice"),
        "{}",
        queue.html
    );
    assert!(queue.html.contains(&decision_id));
    let empty = reviewer
        .post(
            "/operator/counter-notices",
            &[
                ("csrf", &market_csrf),
                ("decision_id", &decision_id),
                ("statement", "  "),
            ],
        )
        .await;
    assert_eq!(empty.status, 422, "{}", empty.html);
    let not_a_decision = reviewer
        .post(
            "/operator/counter-notices",
            &[
                ("csrf", &market_csrf),
                ("decision_id", &notice_id),
                ("statement", "mine"),
            ],
        )
        .await;
    assert!(not_a_decision.status >= 400, "{}", not_a_decision.html);
    let countered = reviewer
        .post(
            "/operator/counter-notices",
            &[
                ("csrf", &market_csrf),
                ("decision_id", &decision_id),
                ("statement", HOSTILE),
            ],
        )
        .await;
    assert_eq!(countered.status, 303, "{}", countered.html);
    let queue = reviewer.get(countered.location()).await;
    assert!(queue.html.contains("Recorded as entry"), "{}", queue.html);
    assert!(queue.html.contains("counter-notice"));
    assert!(!queue.html.contains("name=\"statement\""), "answered once");
    assert_escaped(&queue);
    let claims = market.get(&format!("/v1/claims?notice={notice_id}")).await;
    let kinds: Vec<String> = claims.expect(200, None)["claims"]
        .as_array()
        .expect("claims")
        .iter()
        .map(|claim| claim["kind"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(kinds.len(), 2, "{kinds:?}");
    assert!(kinds.contains(&"counter_notice".to_owned()), "{kinds:?}");

    let restorations = reviewer.get("/operator/restorations").await;
    assert_eq!(restorations.status, 200, "{}", restorations.html);
    assert!(
        restorations.html.contains(&notice_id),
        "{}",
        restorations.html
    );
    assert!(restorations.html.contains("waiting for the deadline"));
    assert!(restorations.html.contains("0 due for restoration now"));

    let accuracy = reviewer
        .get(&format!(
            "/operator/accountability?holder={}",
            holder.public_key().to_did_key()
        ))
        .await;
    assert_eq!(accuracy.status, 200, "{}", accuracy.html);
    assert!(
        accuracy.html.contains("<dt>Notices filed</dt><dd>1</dd>"),
        "{}",
        accuracy.html
    );
    assert!(accuracy.html.contains("<dt>Removed</dt><dd>1</dd>"));
    assert!(accuracy.html.contains(&notice_id));
    let lookup = reviewer
        .post(
            "/operator/accountability",
            &[("csrf", &market_csrf), ("seller_id", "seller-9001")],
        )
        .await;
    assert_eq!(lookup.status, 303, "{}", lookup.html);
    assert!(
        !lookup.location().contains("seller-9001"),
        "the id stays out of URLs"
    );
    let strikes = reviewer.get(lookup.location()).await;
    assert_eq!(strikes.status, 200, "{}", strikes.html);
    assert!(
        strikes.html.contains("2 active strike points"),
        "a counterfeit removal weighs 2: {}",
        strikes.html
    );
    assert!(strikes.html.contains(&decision_id[..12]));
    for bad in [
        "/operator/accountability?holder=did:key:nope",
        "/operator/accountability?seller_ref=%3Cscript%3E",
    ] {
        let page = reviewer.get(bad).await;
        assert_eq!(page.status, 422, "{bad}: {}", page.html);
        assert!(!page.html.contains("<script>"));
    }

    // The office is not a marketplace: the marketplace's pages say so.
    for path in [
        "/operator/notices",
        "/operator/restorations",
        "/operator/accountability",
    ] {
        assert_eq!(browser.get(path).await.status, 409, "{path}");
    }

    // Key rotation needs the confirmation; then the node signs with a new key.
    let unconfirmed = browser
        .post(
            "/operator/keys/rotate",
            &[("csrf", &csrf), ("reason", "routine")],
        )
        .await;
    assert_eq!(unconfirmed.status, 422, "{}", unconfirmed.html);
    let rotated = browser
        .post(
            "/operator/keys/rotate",
            &[
                ("csrf", &csrf),
                ("reason", "routine"),
                ("note", "yearly rotation"),
                ("confirm", "yes"),
            ],
        )
        .await;
    assert_eq!(rotated.status, 303, "{}", rotated.html);
    assert!(rotated.location().starts_with("/operator/trust?recorded="));
    let page = browser.get(rotated.location()).await;
    assert!(page.html.contains("Key rotated"), "{}", page.html);
    assert!(
        !page.html.contains(&format!(
            "id=\"signing-key\">{}<",
            office.authority.to_did_key()
        )),
        "the node signs with its new key"
    );
    drop((browser, anonymous, reviewer));
    federation.stop().await;
}
