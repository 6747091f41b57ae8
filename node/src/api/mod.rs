//! The HTTP API: the only module that names axum. JSON under `/v1`, errors as
//! `{"code", "message"}`, bodies size-limited, public routes rate-limited per client address,
//! operator routes behind a bearer token. Every route is declared once in [`routes`], which
//! builds both the router and the OpenAPI document, so the two cannot drift apart.
//!
//! Rooms: this file (the route table, [`router`], [`serve`]), `error` ([`ApiError`] and the
//! conversions from every domain error), `middleware` (auth, rate limit, metrics, body
//! refusals), `state` ([`NodeState`]), `extract` and `outcome` (reading requests, answering
//! ingest outcomes), `openapi`, and one file per area: `status`, `rights`, `feeds`,
//! `credentials`, `status_lists`, `claims`, `peers`, `metrics`, `keys`, `trust`, and the
//! transparency routes `tiles` (checkpoint, tiles, entry bundles) and `proofs` (tlog-proof,
//! consistency), which declare their entries of the route table beside their handlers. Handlers parse,
//! call the domain ([`crate::claims`], [`crate::credentials`], [`crate::upsert`], [`crate::query`], the ingest
//! path) and render; they hold no policy, and read the store only through
//! [`crate::storage::StoreReader`].
//!
//! The web console ([`crate::console`]) is mounted on the same router, outside the route table:
//! it serves HTML, not the JSON API, so it is not in the OpenAPI document.

mod claims;
mod credentials;
mod error;
mod extract;
mod feeds;
mod keys;
mod metrics;
mod middleware;
mod openapi;
mod outcome;
mod peers;
mod proofs;
mod rights;
mod schemas;
mod screen;
mod state;
mod status;
mod status_lists;
#[cfg(test)]
mod tests;
mod tiles;
mod trust;
mod witness;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::middleware::from_fn;
use axum::middleware::from_fn_with_state;
use axum::routing::{MethodRouter, delete, get, post, put};
use tokio::net::TcpListener;
use tokio::sync::watch;

pub use self::error::{ApiError, ApiResult};
pub use self::middleware::{MAX_RATE_LIMITED_CLIENTS, RateLimiter};
pub use self::openapi::openapi_document;
pub use self::schemas::SchemaFn;
pub use self::state::NodeState;

// What the console (`crate::console`, the HTML face of this server) shares with the JSON
// handlers, so that a form and its JSON route run the same code.
pub(crate) use self::claims::{
    CounterNoticeRequest, DecisionRequest, counter_notice, decide, marketplace_policy,
};
pub(crate) use self::credentials::{
    CredentialRequest, change_credential_status, issue as issue_credential_for,
};
pub(crate) use self::keys::{RotateRequestBody, RotateResponse, RotationReason, rotate};
pub(crate) use self::middleware::{constant_time_equal, rate_limit};
pub(crate) use self::rights::{record_status_change, register_object, registered_by_trusted};
pub(crate) use self::screen::screen_listings;
pub(crate) use self::trust::{
    AddRequest, AuthoritySource, EndorsementRequest, JurisdictionsRequest, TrustResponse,
    add_authority, endorse_authority, remove_authority, replace_jurisdictions, trust_view,
};

use schemars::JsonSchema;

use self::claims::{
    ClaimParams, holder_accuracy, list_claims, record_counter_notice, record_decision,
    seller_strikes, submit_notice, verify_notice,
};
use self::credentials::{
    CredentialParams, StatusChangeRequest, get_credential, issue_credential, list_credentials,
    reinstate_credential, revoke_credential, suspend_credential,
};
use self::feeds::{FeedParams, LimitParams, equivocations, feed, feeds, get_entry, submit_entry};
use self::keys::rotate_key;
use self::metrics::metrics;
use self::middleware::{
    close_after_unread_body, method_not_allowed, not_found_route, record_metrics,
    refuse_unexpected_body, require_operator,
};
use self::openapi::openapi;
use self::peers::{block_peer, list_peers, unblock_peer};
use self::rights::{
    SearchParams, change_status, get_right, register, register_batch, search_rights,
};
use self::schemas::{
    AccuracySchema, BatchResponse, BlockResponse, ClaimsResponse, CredentialSchema,
    CredentialsPage, EntryResponse, EntrySchema, EquivocationsResponse, FeedPage, FeedsResponse,
    NoticeAccepted, OutcomeSchema, PeersResponse, RightSchema, SearchResponse, StatusChanged,
    StatusListCredentialSchema, StatusResponse, StrikesSchema, schema_of,
};
use self::status::status;
use self::status_lists::status_list;
use self::trust::{
    EndorsementResponse, TrustChangeResponse, add_trusted, endorse, list_trust, remove_trusted,
    set_jurisdictions,
};

/// Time a request may take before the node answers 408.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

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
    /// The request body's schema; `None` for a route that takes no body (it answers a
    /// non-empty one with 400 `unexpected_body`).
    pub request: Option<SchemaFn>,
    /// The schema of every 2xx answer (errors share the `ErrorBody` schema).
    pub response: SchemaFn,
    /// The schema of the query parameters' struct; each property is one optional parameter.
    pub query: Option<SchemaFn>,
    /// Responses this route answers besides the ones every route can (see `openapi`): status
    /// and description.
    pub responses: &'static [(u16, &'static str)],
    handler: MethodRouter<NodeState>,
}

impl RouteSpec {
    /// Whether the route reads a JSON request body. Every other route answers a non-empty body
    /// with 400 `unexpected_body`, as the OpenAPI document says.
    pub fn takes_body(&self) -> bool {
        self.request.is_some()
    }
}

/// Every route of the API. The transparency routes' entries are declared beside their handlers
/// (`tiles::routes`, `proofs::routes`) and chained in here, so this is still the one table.
pub fn routes() -> Vec<RouteSpec> {
    vec![
        RouteSpec {
            method: "get",
            path: "/v1/status",
            summary: "The node's authority, peers, and every feed's head (author, latest seq and entry id)",
            access: Access::Public,
            responses: &[(200, "node status")],
            request: None,
            response: schema_of::<StatusResponse>,
            query: None,
            handler: get(status),
        },
        RouteSpec {
            method: "post",
            path: "/v1/registrations",
            summary: "Register a right: the node signs a registration entry as its authority. `v` and `right_id` may be omitted",
            access: Access::Operator,
            responses: &[(201, "stored"), (200, "identical registration already stored"), (401, "no token"), (403, "wrong token"), (409, "refused"), (422, "invalid fields")],
            request: Some(openapi::registration_request),
            response: schema_of::<OutcomeSchema>,
            query: None,
            handler: post(register),
        },
        RouteSpec {
            method: "post",
            path: "/v1/registrations/batch",
            summary: "Register or update up to 1000 rights at once (importers): new rights become registrations; changes to known ones become corrections and status entries; identical records write nothing",
            access: Access::Operator,
            responses: &[(200, "one result per item, in order"), (401, "no token"), (403, "wrong token"), (413, "too large"), (422, "not a batch")],
            request: Some(openapi::batch_request),
            response: schema_of::<BatchResponse>,
            query: None,
            handler: post(register_batch),
        },
        RouteSpec {
            method: "post",
            path: "/v1/rights/{id}/status",
            summary: "Record a status change of a right (renewed, assigned, cancelled, expired, restored)",
            access: Access::Operator,
            responses: &[(201, "stored"), (200, "no change"), (401, "no token"), (403, "wrong token"), (409, "refused"), (422, "invalid fields")],
            request: Some(openapi::status_request),
            response: schema_of::<OutcomeSchema>,
            query: None,
            handler: post(change_status),
        },
        RouteSpec {
            method: "get",
            path: "/v1/rights/{id}",
            summary: "A right's current state, liveness today, and history with entry ids",
            access: Access::Public,
            responses: &[(200, "the right"), (404, "unknown right")],
            request: None,
            response: schema_of::<RightSchema>,
            query: None,
            handler: get(get_right),
        },
        RouteSpec {
            method: "get",
            path: "/v1/rights",
            summary: "Search rights by mark text (folded token prefix), class, jurisdiction and holder; paged",
            access: Access::Public,
            responses: &[(200, "a page of rights")],
            request: None,
            response: schema_of::<SearchResponse>,
            query: Some(SearchParams::json_schema),
            handler: get(search_rights),
        },
        RouteSpec {
            method: "get",
            path: "/v1/feeds",
            summary: "Every feed this node holds: author, name, latest seq and entry id",
            access: Access::Public,
            responses: &[(200, "feeds")],
            request: None,
            response: schema_of::<FeedsResponse>,
            query: None,
            handler: get(feeds),
        },
        RouteSpec {
            method: "get",
            path: "/v1/feeds/{author}",
            summary: "Entries of one feed in seq order",
            access: Access::Public,
            responses: &[(200, "entries")],
            request: None,
            response: schema_of::<FeedPage>,
            query: Some(FeedParams::json_schema),
            handler: get(feed),
        },
        RouteSpec {
            method: "get",
            path: "/v1/entries/{id}",
            summary: "One entry by id, with whether it changed any state",
            access: Access::Public,
            responses: &[(200, "the entry"), (404, "unknown entry")],
            request: None,
            response: schema_of::<EntryResponse>,
            query: None,
            handler: get(get_entry),
        },
        RouteSpec {
            method: "post",
            path: "/v1/entries",
            summary: "Submit an entry already signed by a trusted authority",
            access: Access::Public,
            responses: &[(201, "stored"), (200, "duplicate"), (202, "held back until earlier entries arrive"), (403, "author not trusted"), (409, "equivocation or forked branch"), (413, "too large"), (422, "invalid entry or signature")],
            request: Some(schema_of::<EntrySchema>),
            response: schema_of::<OutcomeSchema>,
            query: None,
            handler: post(submit_entry),
        },
        RouteSpec {
            method: "get",
            path: "/v1/equivocations",
            summary: "Equivocation proofs: pairs of entries an author signed at the same seq",
            access: Access::Public,
            responses: &[(200, "proofs")],
            request: None,
            response: schema_of::<EquivocationsResponse>,
            query: Some(LimitParams::json_schema),
            handler: get(equivocations),
        },
        RouteSpec {
            method: "post",
            path: "/v1/witness/add-checkpoint",
            summary: "C2SP tlog-witness add-checkpoint: submit a checkpoint of a feed this node holds (text: `old N`, consistency proof lines, a blank line, the signed note) and get this witness's cosignature line",
            access: Access::Public,
            responses: &[(200, "the cosignature line (text/plain)"), (403, "`bad_signature`: no valid signature of the feed's author"), (404, "`unknown_origin`: not a feed origin, or an author this node does not trust"), (409, "the old size is not the size this witness cosigned last; the body is that size (text/x.tlog.size)"), (422, "`inconsistent`: the proof or the checkpoint is inconsistent with what this witness cosigned or holds"), (503, "`not_yet`: this node does not hold the feed to that size yet; retry after a second")],
            request: Some(schema_of::<String>),
            response: schema_of::<String>,
            query: None,
            handler: post(witness::add_checkpoint),
        },
        RouteSpec {
            method: "post",
            path: "/v1/credentials",
            summary: "Issue an IPRightCredential (eddsa-jcs-2022) for a live right of this office to its holder's key",
            access: Access::Operator,
            responses: &[(201, "the signed credential, once its credential entry is committed (Location: its log record)"), (404, "unknown right"), (409, "right not this office's, not alive, or holder key differs"), (422, "invalid fields"), (503, "not logged: no credential")],
            request: Some(schema_of::<CredentialRequest>),
            response: schema_of::<CredentialSchema>,
            query: None,
            handler: post(issue_credential),
        },
        RouteSpec {
            method: "get",
            path: "/v1/status-lists/{issuer}/{purpose}/{n}",
            summary: "A W3C Bitstring Status List credential (eddsa-jcs-2022) of the credentials an issuer key of this office logged: purpose revocation or suspension, list n of 131072 statuses",
            access: Access::Public,
            responses: &[(200, "the signed list credential; Cache-Control: public, max-age=300"), (400, "malformed issuer, purpose or list number"), (404, "a key this node does not sign for, or a list with no credential")],
            request: None,
            response: schema_of::<StatusListCredentialSchema>,
            query: None,
            handler: get(status_list),
        },
        RouteSpec {
            method: "post",
            path: "/v1/keys/rotate",
            summary: "Rotate this node's own key (protocol §6.9.2): a key_rotation entry signed by the old key, committed before the node signs with the new one",
            access: Access::Operator,
            responses: &[(201, "rotated: the node signs with the new key"), (401, "no token"), (403, "wrong token"), (409, "key_rotated: the key rotated away already"), (422, "invalid_rotation or invalid fields")],
            request: Some(schema_of::<RotateRequestBody>),
            response: schema_of::<RotateResponse>,
            query: None,
            handler: post(rotate_key),
        },
        RouteSpec {
            method: "get",
            path: "/v1/credentials",
            summary: "The credential log: every credential logged for a right or a holder key (exactly one filter), oldest first; paged",
            access: Access::Public,
            responses: &[(200, "a page of logged credentials")],
            request: None,
            response: schema_of::<CredentialsPage>,
            query: Some(CredentialParams::json_schema),
            handler: get(list_credentials),
        },
        RouteSpec {
            method: "get",
            path: "/v1/credentials/{credential_id}",
            summary: "One logged credential (the id percent-encoded): its log entry, anchoring and status",
            access: Access::Public,
            responses: &[(200, "the logged credential"), (404, "not logged here")],
            request: None,
            response: schema_of::<crate::credential_log::LoggedCredential>,
            query: None,
            handler: get(get_credential),
        },
        RouteSpec {
            method: "post",
            path: "/v1/credentials/{credential_id}/revoke",
            summary: "Revoke a credential this office logged (final): writes a credential_status entry",
            access: Access::Operator,
            responses: &[(201, "revoked"), (401, "no token"), (403, "wrong token"), (404, "not logged here"), (409, "not_this_office or invalid_transition"), (422, "invalid fields")],
            request: Some(schema_of::<StatusChangeRequest>),
            response: schema_of::<StatusChanged>,
            query: None,
            handler: post(revoke_credential),
        },
        RouteSpec {
            method: "post",
            path: "/v1/credentials/{credential_id}/suspend",
            summary: "Suspend a credential this office logged: writes a credential_status entry",
            access: Access::Operator,
            responses: &[(201, "suspended"), (401, "no token"), (403, "wrong token"), (404, "not logged here"), (409, "not_this_office or invalid_transition"), (422, "invalid fields")],
            request: Some(schema_of::<StatusChangeRequest>),
            response: schema_of::<StatusChanged>,
            query: None,
            handler: post(suspend_credential),
        },
        RouteSpec {
            method: "post",
            path: "/v1/credentials/{credential_id}/reinstate",
            summary: "Reinstate a suspended credential this office logged: writes a credential_status entry",
            access: Access::Operator,
            responses: &[(201, "active again"), (401, "no token"), (403, "wrong token"), (404, "not logged here"), (409, "not_this_office or invalid_transition"), (422, "invalid fields")],
            request: Some(schema_of::<StatusChangeRequest>),
            response: schema_of::<StatusChanged>,
            query: None,
            handler: post(reinstate_credential),
        },
        RouteSpec {
            method: "post",
            path: "/v1/verify",
            summary: "Dry run: the verdict a holder-signed notice would get here, with every reason; or, for {\"notices\": [...]} (1 to 100), the verdict of each, in order",
            access: Access::Public,
            responses: &[(200, "the verdict, or a batch's verdicts"), (400, "malformed JSON"), (409, "this node is not a marketplace"), (413, "accepted, but too large to record as a notice entry"), (422, "not a notice, or not a batch of 1 to 100")],
            request: Some(openapi::holder_notice_or_batch),
            response: openapi::verify_response,
            query: None,
            handler: post(verify_notice),
        },
        RouteSpec {
            method: "post",
            path: "/v1/notices",
            summary: "Submit a holder-signed notice; accepted notices are recorded as notice entries and gossiped",
            access: Access::Public,
            responses: &[(201, "accepted and recorded, with the verdict"), (400, "malformed JSON"), (409, "this node is not a marketplace"), (413, "accepted, but too large to record as a notice entry"), (422, "rejected, with the verdict; or not a notice")],
            request: Some(openapi::holder_notice),
            response: schema_of::<NoticeAccepted>,
            query: None,
            handler: post(submit_notice),
        },
        RouteSpec {
            method: "post",
            path: "/v1/decisions",
            summary: "Record a takedown decision (removed, rejected, restored) for a notice recorded here; the seller id is replaced by a keyed hash",
            access: Access::Operator,
            responses: &[(201, "recorded"), (404, "unknown notice"), (409, "refused"), (422, "invalid fields")],
            request: Some(schema_of::<DecisionRequest>),
            response: schema_of::<OutcomeSchema>,
            query: None,
            handler: post(record_decision),
        },
        RouteSpec {
            method: "post",
            path: "/v1/counter-notices",
            summary: "Record a seller's counter-notice against a removal decision",
            access: Access::Operator,
            responses: &[(201, "recorded"), (404, "unknown decision"), (409, "refused"), (422, "invalid fields")],
            request: Some(schema_of::<CounterNoticeRequest>),
            response: schema_of::<OutcomeSchema>,
            query: None,
            handler: post(record_counter_notice),
        },
        RouteSpec {
            method: "get",
            path: "/v1/claims",
            summary: "Notices, decisions and counter-notices by listing, holder, seller reference, notice or right (exactly one filter)",
            access: Access::Public,
            responses: &[(200, "entries")],
            request: None,
            response: schema_of::<ClaimsResponse>,
            query: Some(ClaimParams::json_schema),
            handler: get(list_claims),
        },
        RouteSpec {
            method: "get",
            path: "/v1/holders/{did}/accuracy",
            summary: "A holder's notices over the policy window: filed, removed, rejected, reversed, and whether it meets the good-faith policy",
            access: Access::Public,
            responses: &[(200, "accuracy"), (409, "this node is not a marketplace")],
            request: None,
            response: schema_of::<AccuracySchema>,
            query: None,
            handler: get(holder_accuracy),
        },
        RouteSpec {
            method: "get",
            path: "/v1/sellers/{seller_ref}/strikes",
            summary: "A seller reference's strike points, their expiry, and the sanction tier reached, with reasons",
            access: Access::Public,
            responses: &[(200, "strikes"), (409, "this node is not a marketplace")],
            request: None,
            response: schema_of::<StrikesSchema>,
            query: None,
            handler: get(seller_strikes),
        },
        RouteSpec {
            method: "post",
            path: "/v1/screen",
            summary: "Screen up to 1000 marketplace listings against every live mark the node holds, catching obfuscated spellings (folded case, accents and width, look-alike letters, leetspeak, separators, spacing, doubled letters, one edit); matches best first with how each was found, and counterfeit indicators (docs/SCREENING.md)",
            access: Access::Public,
            responses: &[(200, "one result per listing, in order"), (413, "too large"), (422, "invalid listings")],
            request: Some(schema_of::<screen::ScreenRequest>),
            response: schema_of::<screen::ScreenResponse>,
            query: None,
            handler: post(screen::screen).layer(DefaultBodyLimit::max(screen::SCREEN_MAX_BODY_BYTES)),
        },
        RouteSpec {
            method: "get",
            path: "/v1/peers",
            summary: "Known peers: connected, blocked, gossip score, addresses",
            access: Access::Operator,
            responses: &[(200, "peers"), (401, "no token"), (403, "wrong token")],
            request: None,
            response: schema_of::<PeersResponse>,
            query: None,
            handler: get(list_peers),
        },
        RouteSpec {
            method: "post",
            path: "/v1/peers/{peer_id}/block",
            summary: "Block a peer: close its connections and refuse new ones (persisted)",
            access: Access::Operator,
            responses: &[(200, "blocked"), (400, "bad peer id"), (401, "no token"), (403, "wrong token")],
            request: None,
            response: schema_of::<BlockResponse>,
            query: None,
            handler: post(block_peer),
        },
        RouteSpec {
            method: "post",
            path: "/v1/peers/{peer_id}/unblock",
            summary: "Unblock a peer and redial it when its address is known",
            access: Access::Operator,
            responses: &[(200, "unblocked"), (400, "bad peer id"), (401, "no token"), (403, "wrong token")],
            request: None,
            response: schema_of::<BlockResponse>,
            query: None,
            handler: post(unblock_peer),
        },
        RouteSpec {
            method: "get",
            path: "/v1/trust",
            summary: "Every authority this node trusts and why: `source` trust_store or endorsement, and for an admitted one the endorsement entries that justify each jurisdiction",
            access: Access::Public,
            responses: &[(200, "the trusted authorities")],
            request: None,
            response: schema_of::<TrustResponse>,
            query: None,
            handler: get(list_trust),
        },
        RouteSpec {
            method: "post",
            path: "/v1/trust",
            summary: "Add an authority to the trust store, validated like the file, written to DATA_DIR/trust.toml before it takes effect (no restart)",
            access: Access::Operator,
            responses: &[(201, "added"), (401, "no token"), (403, "wrong token"), (409, "already listed, or a key of a listed authority"), (422, "invalid fields")],
            request: Some(schema_of::<AddRequest>),
            response: schema_of::<TrustChangeResponse>,
            query: None,
            handler: post(add_trusted),
        },
        RouteSpec {
            method: "post",
            path: "/v1/trust/endorsements",
            summary: "This office endorses another authority for a role and jurisdictions, or withdraws its endorsement: writes an authority v2 entry (protocol.md §6.8.1)",
            access: Access::Operator,
            responses: &[(201, "written"), (401, "no token"), (403, "wrong token"), (409, "this node is not an office of its own trust store, or its key rotated away"), (422, "invalid fields")],
            request: Some(schema_of::<EndorsementRequest>),
            response: schema_of::<EndorsementResponse>,
            query: None,
            handler: post(endorse),
        },
        RouteSpec {
            method: "delete",
            path: "/v1/trust/{did}",
            summary: "Remove an authority from the trust store (its stored entries stay; decisions from now on no longer trust it)",
            access: Access::Operator,
            responses: &[(200, "removed"), (400, "bad did"), (401, "no token"), (403, "wrong token"), (404, "not listed")],
            request: None,
            response: schema_of::<TrustChangeResponse>,
            query: None,
            handler: delete(remove_trusted),
        },
        RouteSpec {
            method: "put",
            path: "/v1/trust/{did}/jurisdictions",
            summary: "Replace the jurisdictions of an authority of the trust store",
            access: Access::Operator,
            responses: &[(200, "updated"), (400, "bad did"), (401, "no token"), (403, "wrong token"), (404, "not listed"), (422, "invalid jurisdictions")],
            request: Some(schema_of::<JurisdictionsRequest>),
            response: schema_of::<TrustChangeResponse>,
            query: None,
            handler: put(set_jurisdictions),
        },
        RouteSpec {
            method: "get",
            path: "/v1/openapi.json",
            summary: "This document",
            access: Access::Public,
            responses: &[(200, "OpenAPI 3.1 document")],
            request: None,
            response: openapi::document_schema,
            query: None,
            handler: get(openapi),
        },
        RouteSpec {
            method: "get",
            path: "/metrics",
            summary: "Prometheus metrics",
            access: Access::Public,
            responses: &[(200, "text exposition format")],
            request: None,
            response: openapi::metrics_schema,
            query: None,
            handler: get(metrics),
        },
    ]
    .into_iter()
    .chain(tiles::routes())
    .chain(proofs::routes())
    .map(|mut spec| {
        if !spec.takes_body() {
            spec.handler = spec
                .handler
                .route_layer(from_fn(refuse_unexpected_body));
        }
        spec
    })
    .collect()
}

/// Builds the router with every layer: limits, auth, rate limiting, metrics.
///
/// A path whose methods all have one access goes into the public or the operator router, whose
/// layer (rate limit, or auth) covers its unknown methods too. A path with methods of both
/// kinds (`GET` public, `POST` operator on `/v1/trust`) gets each method's layer on that method
/// alone, and its unknown methods answer 405 unauthenticated.
pub fn router(state: NodeState) -> Router {
    let limiter = Arc::new(RateLimiter::new(
        state.config.limits.rate_limit_per_second,
        state.config.limits.rate_limit_burst,
    ));
    let mut paths: Vec<(&'static str, Vec<RouteSpec>)> = Vec::new();
    for spec in routes() {
        match paths.iter_mut().find(|(path, _)| *path == spec.path) {
            Some((_, specs)) => specs.push(spec),
            None => paths.push((spec.path, vec![spec])),
        }
    }
    let mut public = Router::new();
    let mut operator = Router::new();
    let mut mixed = Router::new();
    for (path, specs) in paths {
        let all = |access: Access| specs.iter().all(|spec| spec.access == access);
        let (public_only, operator_only) = (all(Access::Public), all(Access::Operator));
        let mut handler: MethodRouter<NodeState> = MethodRouter::new();
        for spec in specs {
            let method = if public_only || operator_only {
                spec.handler
            } else {
                match spec.access {
                    Access::Public => spec
                        .handler
                        .route_layer(from_fn_with_state(limiter.clone(), rate_limit)),
                    Access::Operator => spec
                        .handler
                        .route_layer(from_fn_with_state(state.clone(), require_operator)),
                }
            };
            handler = handler.merge(method);
        }
        let handler = handler.fallback(method_not_allowed);
        if public_only {
            public = public.route(path, handler);
        } else if operator_only {
            operator = operator.route(path, handler);
        } else {
            mixed = mixed.route(path, handler);
        }
    }
    // The console's pages share the public routes' rate limiter: one budget per address.
    let console = crate::console::router(state.clone(), limiter.clone());
    let public = public.layer(from_fn_with_state(limiter, rate_limit));
    let operator = operator.layer(from_fn_with_state(state.clone(), require_operator));
    public
        .merge(operator)
        .merge(mixed)
        .merge(console)
        .fallback(not_found_route)
        .layer(DefaultBodyLimit::max(state.config.limits.max_body_bytes))
        .layer(from_fn(close_after_unread_body))
        .layer(from_fn_with_state(state.clone(), record_metrics))
        .layer(compression())
        .layer(tower::limit::GlobalConcurrencyLimitLayer::new(
            state.config.limits.max_concurrent_requests,
        ))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .with_state(state)
}

/// Answers of at least this many bytes are gzip-compressed for a client that asks for it.
pub const COMPRESS_ABOVE_BYTES: u16 = 1024;

/// Gzip for large answers (search pages, feeds, claims, OpenAPI) when the client sends
/// `Accept-Encoding: gzip`. Never for HTML: a console page carries a CSRF token next to text
/// the request chose, and compressing both would let an observer of sizes recover the token
/// (BREACH). Nor for event streams, images or gRPC (tower-http's defaults).
fn compression()
-> tower_http::compression::CompressionLayer<impl tower_http::compression::Predicate> {
    use tower_http::compression::predicate::{NotForContentType, Predicate, SizeAbove};
    tower_http::compression::CompressionLayer::new()
        .gzip(true)
        .no_br()
        .no_deflate()
        .no_zstd()
        .compress_when(
            SizeAbove::new(COMPRESS_ABOVE_BYTES)
                .and(NotForContentType::GRPC)
                .and(NotForContentType::IMAGES)
                .and(NotForContentType::SSE)
                .and(NotForContentType::const_new("text/html")),
        )
}

/// Serves the API on `listener` until `stop` turns true, then lets in-flight requests finish.
/// Client addresses reach the rate limiter through the connection info.
pub async fn serve(
    listener: TcpListener,
    state: NodeState,
    mut stop: watch::Receiver<bool>,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        let _ = stop.wait_for(|stop| *stop).await;
    })
    .await
}
