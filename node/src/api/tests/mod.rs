//! Handler tests through the router, in process: real nodes (RocksDB in a temp dir, the writer
//! thread, libp2p on 127.0.0.1) started with [`crate::start_with`], their state given to
//! [`router`], and requests sent with `tower::ServiceExt::oneshot`.
//!
//! Every request a test sends is recorded with the route template it matched and the status it
//! got. Each area's test ends by checking that its requests covered, for every route the area
//! claims, what the route table says the route can answer: success, bad input (every route: a
//! body where none is taken, or a malformed one), 401 and 403 for operator routes, and 404 and
//! 409 where the route declares them. [`every_route_belongs_to_exactly_one_area`] checks that
//! the areas together claim every route of [`routes`], once.

mod claims;
mod console;
mod credentials;
mod feeds;
mod keys;
mod node;
mod openapi;
mod peers;
mod rights;
mod screen;
mod status_lists;
mod transparency;
mod trust;
mod witness;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use proto_types::keys::{PublicKey, SecretKey};
use serde_json::{Value, json};
use tempfile::TempDir;
use tower::ServiceExt;

use super::{Access, RouteSpec, router, routes};
use crate::config::{Limits, MarketplacePolicy, NodeConfig};
use crate::trust::TrustStore;
use crate::{Inputs, NodeState, RunningNode};

/// The operator token of every test node.
pub(super) const TOKEN: &str = "api-test-operator-token-0123456789";
/// The request body limit of test nodes: small enough to exceed cheaply, above
/// [`proto_types::entry::MAX_ENTRY_BYTES`] so that an oversized entry reaches the ingest path.
pub(super) const MAX_BODY_BYTES: usize = 256 * 1024;
/// Longest a request or a node's start or stop may take before the test fails.
const DEADLINE: Duration = Duration::from_secs(60);

/// What a node is in the test federation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Role {
    /// An office trusted for FR.
    Office,
    /// A marketplace enforcing FR rights.
    Marketplace,
}

/// How a request authenticates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Auth {
    /// No `Authorization` header.
    Anonymous,
    /// The operator's bearer token.
    Operator,
    /// A bearer token that is not the operator's.
    WrongToken,
}

/// One request as recorded: method, the route template it matched (none for an unknown
/// path), and the status.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    route: Option<&'static str>,
    status: StatusCode,
}

/// What a route can answer that its tests must show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Check {
    /// A 2xx answer.
    Success,
    /// 400, 413 or 422.
    BadInput,
    /// 401: no token.
    Unauthorized,
    /// 403: a token that is not the operator's.
    Forbidden,
    /// 404.
    NotFound,
    /// 409.
    Conflict,
}

impl Check {
    fn of(status: StatusCode) -> Option<Self> {
        match status.as_u16() {
            200..=299 => Some(Self::Success),
            400 | 413 | 422 => Some(Self::BadInput),
            401 => Some(Self::Unauthorized),
            403 => Some(Self::Forbidden),
            404 => Some(Self::NotFound),
            409 => Some(Self::Conflict),
            _ => None,
        }
    }

    /// What the tests of `spec` must show.
    fn required(spec: &RouteSpec) -> BTreeSet<Self> {
        let mut required = BTreeSet::from([Self::Success, Self::BadInput]);
        if spec.access == Access::Operator {
            required.extend([Self::Unauthorized, Self::Forbidden]);
        }
        let declares = |status: u16| spec.responses.iter().any(|(code, _)| *code == status);
        if declares(404) {
            required.insert(Self::NotFound);
        }
        if declares(409) {
            required.insert(Self::Conflict);
        }
        required
    }
}

/// The route template of `routes()` that `path` (without its query) matches.
fn route_of(method: &str, path: &str) -> Option<&'static str> {
    let path = path.split('?').next().unwrap_or_default();
    let segments: Vec<&str> = path.split('/').collect();
    routes()
        .into_iter()
        .find(|spec| {
            let template: Vec<&str> = spec.path.split('/').collect();
            // A wildcard `{*name}` as the last part takes one or more segments.
            let wildcard = template.last().is_some_and(|part| part.starts_with("{*"));
            let fits = if wildcard {
                segments.len() >= template.len()
            } else {
                template.len() == segments.len()
            };
            spec.method.eq_ignore_ascii_case(method)
                && fits
                && template.iter().zip(&segments).all(|(part, segment)| {
                    part == segment || (part.starts_with('{') && !segment.is_empty())
                })
        })
        .map(|spec| spec.path)
}

/// An answer: status, headers, and the body as JSON (a JSON string holding the text when the
/// body is not JSON).
#[derive(Debug)]
pub(super) struct Reply {
    pub(super) status: StatusCode,
    pub(super) headers: HeaderMap,
    pub(super) body: Value,
    /// The body's bytes as received (for answers that are not JSON: tiles, notes, proofs).
    pub(super) bytes: Vec<u8>,
}

impl Reply {
    /// Asserts the status, and for an error the stable code; returns the body.
    pub(super) fn expect(&self, status: u16, code: Option<&str>) -> &Value {
        assert_eq!(self.status.as_u16(), status, "{}", self.body);
        if let Some(code) = code {
            assert_eq!(self.body["code"], code, "{}", self.body);
            assert!(
                self.body["message"].as_str().is_some_and(|m| !m.is_empty()),
                "an error says why: {}",
                self.body
            );
        }
        &self.body
    }

    /// The body's `message`.
    pub(super) fn message(&self) -> &str {
        self.body["message"].as_str().unwrap_or_default()
    }
}

/// A node of the test federation, and the requests sent to it.
pub(super) struct TestNode {
    node: Option<RunningNode>,
    /// The authority the node signs as.
    pub(super) authority: PublicKey,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl TestNode {
    /// The node's shared state.
    pub(super) fn state(&self) -> NodeState {
        self.node
            .as_ref()
            .and_then(RunningNode::state)
            .cloned()
            .expect("a running node has state")
    }

    /// The node's federation addresses.
    pub(super) fn p2p_addrs(&self) -> Vec<String> {
        self.node
            .as_ref()
            .map(|node| node.p2p_addrs.clone())
            .unwrap_or_default()
    }

    /// The node's libp2p peer id.
    pub(super) fn peer_id(&self) -> String {
        self.node
            .as_ref()
            .map(|node| node.peer_id.clone())
            .unwrap_or_default()
    }

    /// Sends one request through a router built for it (so rate limits never interfere).
    pub(super) async fn send(
        &self,
        method: &str,
        path: &str,
        auth: Auth,
        body: Option<Vec<u8>>,
    ) -> Reply {
        self.send_to(router(self.state()), method, path, auth, body)
            .await
    }

    /// Sends one request through `app`, records it, and reads the whole answer.
    pub(super) async fn send_to(
        &self,
        app: axum::Router,
        method: &str,
        path: &str,
        auth: Auth,
        body: Option<Vec<u8>>,
    ) -> Reply {
        let mut request = Request::builder().method(method).uri(path);
        match auth {
            Auth::Anonymous => {}
            Auth::Operator => {
                request = request.header(header::AUTHORIZATION, format!("Bearer {TOKEN}"));
            }
            Auth::WrongToken => {
                request = request.header(header::AUTHORIZATION, "Bearer not-the-operator-token");
            }
        }
        let request = match body {
            Some(bytes) => request
                .header(header::CONTENT_TYPE, "application/json")
                .header(header::CONTENT_LENGTH, bytes.len())
                .body(Body::from(bytes)),
            None => request.body(Body::empty()),
        }
        .expect("a well-formed request");
        let response = tokio::time::timeout(DEADLINE, app.oneshot(request))
            .await
            .unwrap_or_else(|_| panic!("{method} {path} did not answer within {DEADLINE:?}"))
            .unwrap_or_else(|never| match never {});
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("the whole answer");
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        let route = route_of(method, path);
        if let Some(route) = route {
            openapi::check_reply(method, route, status, &body);
        }
        self.seen
            .lock()
            .expect("the record is not poisoned")
            .push(Seen {
                method: method.to_owned(),
                route,
                status,
            });
        Reply {
            status,
            headers,
            body,
            bytes: bytes.to_vec(),
        }
    }

    /// `GET path` without a token.
    pub(super) async fn get(&self, path: &str) -> Reply {
        self.send("GET", path, Auth::Anonymous, None).await
    }

    /// `GET path` with `auth`.
    pub(super) async fn get_as(&self, path: &str, auth: Auth) -> Reply {
        self.send("GET", path, auth, None).await
    }

    /// `POST path` with a JSON body and `auth`.
    pub(super) async fn post(&self, path: &str, auth: Auth, body: &Value) -> Reply {
        let bytes = serde_json::to_vec(body).expect("JSON serialises");
        self.send("POST", path, auth, Some(bytes)).await
    }

    /// `POST path` with raw bytes and `auth`.
    pub(super) async fn post_bytes(&self, path: &str, auth: Auth, bytes: &[u8]) -> Reply {
        self.send("POST", path, auth, Some(bytes.to_vec())).await
    }

    /// `method path` with a body a route that takes none must refuse: 400 `unexpected_body`,
    /// and the connection is closed (the rest of the body is unread).
    pub(super) async fn expect_body_refused(&self, method: &str, path: &str, auth: Auth) {
        let reply = self
            .send(method, path, auth, Some(b"{\"unexpected\": true}".to_vec()))
            .await;
        reply.expect(400, Some("unexpected_body"));
        assert_eq!(
            reply.headers.get(header::CONNECTION).map(|v| v.as_bytes()),
            Some(&b"close"[..]),
            "{method} {path}"
        );
    }

    /// Asserts that for every route an operator route needs a token and refuses another one.
    pub(super) async fn expect_operator_only(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) {
        let bytes = body.map(|body| serde_json::to_vec(body).expect("JSON serialises"));
        let anonymous = self
            .send(method, path, Auth::Anonymous, bytes.clone())
            .await;
        anonymous.expect(401, Some("unauthorized"));
        let wrong = self.send(method, path, Auth::WrongToken, bytes).await;
        wrong.expect(403, Some("forbidden"));
    }
}

/// A federation of test nodes sharing one trust store: offices and marketplaces of this test,
/// plus a foreign office (DE) whose key the test holds, to sign entries outside any node.
pub(super) struct Federation {
    /// The nodes, in the order of their roles.
    pub(super) nodes: Vec<TestNode>,
    /// The foreign office's key.
    pub(super) foreign: SecretKey,
    seen: Arc<Mutex<Vec<Seen>>>,
    _dir: TempDir,
}

impl Federation {
    /// Starts one node per role. With `connected`, every node after the first bootstraps to
    /// the first.
    pub(super) async fn start(roles: &[Role], connected: bool) -> Self {
        let dir = tempfile::tempdir().expect("a temp dir");
        let keys: Vec<SecretKey> = roles.iter().map(|_| SecretKey::generate()).collect();
        let foreign = SecretKey::generate();
        let mut trust = String::new();
        for (index, (role, key)) in roles.iter().zip(&keys).enumerate() {
            let did = key.public_key().to_did_key();
            trust.push_str(&match role {
                Role::Office => format!(
                    "[[authority]]\ndid = \"{did}\"\nname = \"Office {index}\"\nrole = \"office\"\njurisdictions = [\"FR\"]\n\n"
                ),
                Role::Marketplace => format!(
                    "[[authority]]\ndid = \"{did}\"\nname = \"Marketplace {index}\"\nrole = \"marketplace\"\n\n"
                ),
            });
        }
        trust.push_str(&format!(
            "[[authority]]\ndid = \"{}\"\nname = \"Foreign Office\"\nrole = \"office\"\njurisdictions = [\"DE\"]\n",
            foreign.public_key().to_did_key()
        ));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let mut nodes: Vec<TestNode> = Vec::new();
        for (index, (role, key)) in roles.iter().zip(keys).enumerate() {
            let bootstrap = match nodes.first() {
                Some(first) if connected => first.p2p_addrs(),
                _ => Vec::new(),
            };
            let config = NodeConfig {
                data_dir: dir.path().join(format!("node-{index}")),
                api_listen: "127.0.0.1:0".parse().expect("an address"),
                public_url: None,
                p2p_listen: "/ip4/127.0.0.1/tcp/0".to_owned(),
                bootstrap,
                mdns: false,
                authority_key: dir.path().join(format!("authority-{index}.json")),
                trust_store: dir.path().join("trust.toml"),
                operator_token: Some(TOKEN.to_owned()),
                operator_token_file: None,
                sync_writes: false,
                sync_interval_secs: 5,
                limits: Limits {
                    max_body_bytes: MAX_BODY_BYTES,
                    rate_limit_per_second: 100_000,
                    rate_limit_burst: 100_000,
                    ..Limits::default()
                },
                marketplace: (*role == Role::Marketplace).then(|| {
                    toml::from_str::<MarketplacePolicy>("accepted_jurisdictions = [\"FR\"]")
                        .expect("a policy")
                }),
                trust: Default::default(),
                transparency: Default::default(),
                storage: Default::default(),
                screening: Default::default(),
                console: Default::default(),
            };
            let authority = key.public_key();
            let inputs = Inputs {
                operator_token: TOKEN.into(),
                keyring: crate::keyring::Keyring::single(key),
                trust: TrustStore::from_toml(&trust).expect("the trust store parses"),
                witness_policy: None,
            };
            let node = tokio::time::timeout(DEADLINE, crate::start_with(config, inputs))
                .await
                .expect("the node starts in time")
                .expect("the node starts");
            nodes.push(TestNode {
                node: Some(node),
                authority,
                seen: seen.clone(),
            });
        }
        Self {
            nodes,
            foreign,
            seen,
            _dir: dir,
        }
    }

    /// Checks that the requests sent so far show, for each of `claimed` (method, template),
    /// everything [`Check::required`] asks of it.
    pub(super) fn assert_covers(&self, claimed: &[(&str, &str)]) {
        let seen = self
            .seen
            .lock()
            .expect("the record is not poisoned")
            .clone();
        let table = routes();
        for (method, path) in claimed {
            let spec = table
                .iter()
                .find(|spec| spec.method == *method && spec.path == *path)
                .unwrap_or_else(|| panic!("{method} {path} is not a route"));
            let shown: BTreeSet<Check> = seen
                .iter()
                .filter(|seen| {
                    seen.route == Some(spec.path) && seen.method.eq_ignore_ascii_case(method)
                })
                .filter_map(|seen| Check::of(seen.status))
                .collect();
            let missing: Vec<Check> = Check::required(spec).difference(&shown).copied().collect();
            assert!(
                missing.is_empty(),
                "{method} {path}: no test shows {missing:?} (shown: {shown:?})"
            );
        }
    }

    /// Stops every node: in-flight requests finish, the writer commits, the store closes.
    pub(super) async fn stop(mut self) {
        for node in &mut self.nodes {
            if let Some(running) = node.node.take() {
                tokio::time::timeout(DEADLINE, running.shutdown())
                    .await
                    .expect("the node stops in time")
                    .expect("the node stops cleanly");
            }
        }
    }
}

/// A registration request for right `FR-TM-<number>` held by `holder`.
pub(super) fn registration(number: &str, holder: &PublicKey) -> Value {
    json!({
        "right_type": "trademark",
        "jurisdiction": "FR",
        "number": number,
        "mark_text": format!("Lumière {number}"),
        "nice_classes": [25, 30],
        "holder": {"name": "Lumière SARL", "country": "FR", "key": holder.to_did_key()},
        "filing_date": "2020-01-15",
        "registration_date": "2020-06-01",
        "expiry_date": "2035-01-15",
        "status": "registered",
    })
}

/// Which routes each area's test claims. Together they must name every route once.
const AREAS: [(&str, &[(&str, &str)]); 12] = [
    ("node", node::ROUTES),
    ("rights", rights::ROUTES),
    ("feeds", feeds::ROUTES),
    ("claims", claims::ROUTES),
    ("credentials", credentials::ROUTES),
    ("peers", peers::ROUTES),
    ("status_lists", status_lists::ROUTES),
    ("keys", keys::ROUTES),
    ("trust", trust::ROUTES),
    ("witness", witness::ROUTES),
    ("transparency", transparency::ROUTES),
    ("screen", screen::ROUTES),
];

#[test]
fn every_route_belongs_to_exactly_one_area() {
    let table: BTreeSet<(String, String)> = routes()
        .iter()
        .map(|spec| (spec.method.to_owned(), spec.path.to_owned()))
        .collect();
    let mut claimed = BTreeSet::new();
    for (area, routes) in AREAS {
        for (method, path) in routes {
            let route = ((*method).to_owned(), (*path).to_owned());
            assert!(
                table.contains(&route),
                "{area} claims {method} {path}, not a route"
            );
            assert!(claimed.insert(route), "{method} {path} is claimed twice");
        }
    }
    let unclaimed: Vec<_> = table.difference(&claimed).collect();
    assert!(unclaimed.is_empty(), "routes without tests: {unclaimed:?}");
    assert_eq!(claimed.len(), routes().len(), "no route is declared twice");
}

#[test]
fn request_paths_map_to_their_route_templates() {
    assert_eq!(
        route_of("GET", "/v1/rights/FR-TM-1"),
        Some("/v1/rights/{id}")
    );
    assert_eq!(
        route_of("POST", "/v1/rights/FR-TM-1/status"),
        Some("/v1/rights/{id}/status")
    );
    assert_eq!(route_of("GET", "/v1/rights?mark=a"), Some("/v1/rights"));
    assert_eq!(
        route_of("POST", "/v1/registrations/batch"),
        Some("/v1/registrations/batch")
    );
    assert_eq!(route_of("DELETE", "/v1/rights"), None);
    assert_eq!(route_of("GET", "/v1/nothing"), None);
    assert_eq!(
        route_of("GET", "/v1/feeds/did:key:z6Mk/tile/0/x001/234.p/7"),
        Some("/v1/feeds/{author}/tile/{*path}")
    );
    assert_eq!(route_of("GET", "/v1/feeds/did:key:z6Mk/tile"), None);
    assert_eq!(route_of("GET", "/v1/rights/"), None);
    assert_eq!(Check::of(StatusCode::CREATED), Some(Check::Success));
    assert_eq!(
        Check::of(StatusCode::PAYLOAD_TOO_LARGE),
        Some(Check::BadInput)
    );
    assert_eq!(Check::of(StatusCode::INTERNAL_SERVER_ERROR), None);
}
