//! What the API answers, as types: every JSON body a handler builds is one of the structs here
//! (deriving `Serialize` for the wire and [`JsonSchema`] for the OpenAPI document), so the
//! document is generated from what is sent. Values the domain renders as JSON itself (a right's
//! view, the accountability views, ingest outcomes, credentials, peers, equivocation proofs) get
//! a hand-written schema here; `tests/openapi.rs` checks every answer of the handler tests
//! against the document, so a hand-written schema that stops telling the truth fails a test.
//!
//! Field order and names are the wire format: do not reorder or rename without a version.

use std::borrow::Cow;

use proto_types::body::{AuthorityRole, EntryKind, Verdict};
use proto_types::entry::{EntryId, MAX_SEQ};
use proto_types::keys::PublicKey;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::Serialize;
use serde_json::Value;

/// A function giving the schema of a request or response body, registering what it references
/// under `#/components/schemas`.
pub type SchemaFn = fn(&mut SchemaGenerator) -> Schema;

/// The schema of `T`: a `$ref` to its component when it has a name.
pub(super) fn schema_of<T: JsonSchema>(generator: &mut SchemaGenerator) -> Schema {
    generator.subschema_for::<T>()
}

/// Implements [`JsonSchema`] for a type that is serialised from a domain `Value`, with a
/// hand-written schema.
macro_rules! described {
    ($(#[$doc:meta])* $type:ident, $name:literal, |$generator:ident| $schema:expr) => {
        $(#[$doc])*
        pub(super) struct $type;

        impl JsonSchema for $type {
            fn schema_name() -> Cow<'static, str> {
                Cow::Borrowed($name)
            }

            fn json_schema($generator: &mut SchemaGenerator) -> Schema {
                $schema
            }
        }
    };
}

/// The body of every error: a stable machine code and a human message. Some errors carry more
/// (a 409 ingest outcome names the entries; a rejected notice carries its verdict).
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(rename = "Error")]
pub(super) struct ErrorBody<'a> {
    /// A stable machine code, snake_case (`bad_query`, `not_found`, `rate_limited`, …).
    #[schemars(regex(pattern = "^[a-z][a-z0-9_]*$"))]
    pub(super) code: &'a str,
    /// What went wrong, for a human.
    pub(super) message: &'a str,
}

described!(
    /// The kind of a feed entry.
    EntryKindSchema,
    "EntryKind",
    |_generator| {
        let kinds: Vec<Value> = EntryKind::ALL
            .iter()
            .map(|kind| Value::from(kind.to_string()))
            .collect();
        json_schema!({"type": "string", "enum": kinds})
    }
);

described!(
    /// A signed feed entry as stored and served.
    EntrySchema,
    "Entry",
    |generator| {
        let author = generator.subschema_for::<PublicKey>();
        let id = generator.subschema_for::<EntryId>();
        let timestamp = generator.subschema_for::<proto_types::timestamp::Timestamp>();
        let kind = generator.subschema_for::<EntryKindSchema>();
        let signature = proto_types::schema::signature(generator);
        json_schema!({
            "type": "object",
            "description": "A feed entry signed by its author (protocol.md §3): envelope version, author, seq, the previous entry's id (null at seq 1), timestamp, kind, the kind's body and an Ed25519 signature over the canonical form without `signature`. At most 64 KiB canonical.",
            "required": ["v", "author", "seq", "prev", "timestamp", "kind", "body", "signature"],
            "properties": {
                "v": {"type": "integer", "const": 1},
                "author": author,
                "seq": {"type": "integer", "minimum": 1, "maximum": MAX_SEQ},
                "prev": {"anyOf": [{"type": "null"}, id]},
                "timestamp": timestamp,
                "kind": kind,
                "body": {"type": "object", "description": "The body of `kind` (protocol.md §4)"},
                "signature": signature,
            },
            "additionalProperties": false,
        })
    }
);

described!(
    /// What the ingest path did with an entry.
    OutcomeSchema,
    "IngestOutcome",
    |generator| {
        let id = generator.subschema_for::<EntryId>();
        json_schema!({
            "type": "object",
            "description": "What the node did with an entry: `stored` (201), `duplicate` or `unchanged` (200), `held_back` until earlier entries arrive (202); `equivocation` and `forked_branch` are 409 errors with these fields and a code and message.",
            "required": ["outcome"],
            "properties": {
                "outcome": {"type": "string", "enum": ["stored", "duplicate", "unchanged", "held_back", "equivocation", "forked_branch"]},
                "id": id,
                "author": {"type": "string"},
                "seq": {"type": "integer", "minimum": 0},
                "ineffective": {"type": "string"},
                "missing_from": {"type": "integer", "minimum": 1},
            },
        })
    }
);

described!(
    /// A right's state, liveness on `as_of`, and history.
    RightSchema,
    "Right",
    |generator| {
        let summary = generator.subschema_for::<RightSummarySchema>();
        let key = generator.subschema_for::<PublicKey>();
        let id = generator.subschema_for::<EntryId>();
        let date = generator.subschema_for::<proto_types::timestamp::Date>();
        let timestamp = generator.subschema_for::<proto_types::timestamp::Timestamp>();
        json_schema!({
            "description": "A right as this node holds it: the fields of its registration as corrected and changed since, its liveness on `as_of` (today), who registered it, and the entries that changed it, oldest first.",
            "allOf": [summary, {
                "type": "object",
                "required": ["registered_by", "last_entry", "history", "as_of"],
                "properties": {
                    "registered_by": key,
                    "registered_by_trusted": {"type": "boolean", "description": "Whether the authority that registered the right is, now, an office this node trusts for its jurisdiction (protocol.md §13.2): false after it was removed from the trust store or lost the jurisdiction"},
                    "last_entry": id,
                    "as_of": date,
                    "history": {"type": "array", "items": {
                        "type": "object",
                        "required": ["entry_id", "seq", "change", "effective_date", "timestamp"],
                        "properties": {
                            "entry_id": id,
                            "seq": {"type": "integer", "minimum": 1},
                            "change": {"type": "string", "enum": ["registration", "correction", "renewed", "assigned", "cancelled", "expired", "restored"]},
                            "effective_date": date,
                            "timestamp": timestamp,
                        },
                    }},
                },
            }],
        })
    }
);

described!(
    /// A search's bounded total.
    TotalSchema,
    "SearchTotal",
    |_generator| {
        json_schema!({
            "type": "object",
            "description": "How many rights a search finds, counted within bounds (500 rights, 5 000 index keys): `eq` when `value` is all of them, `gte` when it is a lower bound",
            "required": ["value", "relation"],
            "properties": {
                "value": {"type": "integer", "minimum": 0, "maximum": crate::query::MAX_COUNT},
                "relation": {"type": "string", "enum": ["eq", "gte"]},
            },
        })
    }
);

described!(
    /// A right in search results.
    RightSummarySchema,
    "RightSummary",
    |generator| {
        let right_id = generator.subschema_for::<proto_types::body::RightId>();
        let right_type = generator.subschema_for::<proto_types::body::RightType>();
        let jurisdiction = generator.subschema_for::<proto_types::body::Jurisdiction>();
        let holder = generator.subschema_for::<proto_types::body::Holder>();
        let status = generator.subschema_for::<proto_types::body::RightStatus>();
        let date = generator.subschema_for::<proto_types::timestamp::Date>();
        let id = generator.subschema_for::<EntryId>();
        json_schema!({
            "type": "object",
            "required": ["right_id", "right_type", "jurisdiction", "number", "nice_classes", "holder", "status", "liveness"],
            "properties": {
                "right_id": right_id,
                "right_type": right_type,
                "jurisdiction": jurisdiction,
                "number": {"type": "string"},
                "application_number": {"type": "string"},
                "mark_text": {"type": ["string", "null"]},
                "title": {"type": ["string", "null"]},
                "image_digest": {"type": "string"},
                "nice_classes": {"type": "array", "items": {"type": "integer", "minimum": 1, "maximum": 45}},
                "holder": holder,
                "filing_date": date,
                "registration_date": date,
                "expiry_date": {"anyOf": [{"type": "null"}, date]},
                "status": status,
                "registered_by_trusted": {"type": "boolean", "description": "Whether the authority that registered the right is, now, an office this node trusts for its jurisdiction (protocol.md §13.2)"},
                "match": {"type": "string", "enum": ["exact", "words", "prefix"], "description": "In the results of a mark search: how the mark matched (its ranking tier, best first): `exact` (the whole folded mark is the folded query), `words` (every word of the query is a whole word of the mark), `prefix` (every word but the last is, and the last begins a word of the mark)"},
                "liveness": {
                    "type": "object",
                    "description": "Whether the right is alive today: `alive`, `not_registered`, `cancelled` (by `entry_id`) or `expired` (by `entry_id`, on `expiry_date` when known)",
                    "required": ["state"],
                    "properties": {
                        "state": {"type": "string", "enum": ["alive", "not_registered", "cancelled", "expired"]},
                        "entry_id": id,
                        "expiry_date": date,
                    },
                },
            },
        })
    }
);

described!(
    /// A holder's notice accuracy.
    AccuracySchema,
    "HolderAccuracy",
    |generator| {
        let key = generator.subschema_for::<PublicKey>();
        let id = generator.subschema_for::<EntryId>();
        let timestamp = generator.subschema_for::<proto_types::timestamp::Timestamp>();
        json_schema!({
            "type": "object",
            "required": ["holder", "window_days", "filed", "removed", "rejected", "reversed_after_counter_notice", "pending", "success_ratio", "reversal_ratio", "meets_good_faith_policy", "reasons", "notices"],
            "properties": {
                "holder": key,
                "window_days": {"type": "integer", "minimum": 0},
                "filed": {"type": "integer", "minimum": 0},
                "removed": {"type": "integer", "minimum": 0},
                "rejected": {"type": "integer", "minimum": 0},
                "reversed_after_counter_notice": {"type": "integer", "minimum": 0},
                "pending": {"type": "integer", "minimum": 0},
                "success_ratio": {"type": ["number", "null"]},
                "reversal_ratio": {"type": ["number", "null"]},
                "meets_good_faith_policy": {"type": "boolean"},
                "reasons": {"type": "array", "items": {"type": "string"}},
                "notices": {"type": "array", "items": {
                    "type": "object",
                    "required": ["notice_id", "right_id", "recorded_at", "fate"],
                    "properties": {
                        "notice_id": id,
                        "right_id": {"type": "string"},
                        "recorded_at": timestamp,
                        "fate": {"type": "string", "enum": ["pending", "removed", "rejected", "reversed"]},
                    },
                }},
            },
        })
    }
);

described!(
    /// A seller reference's strikes.
    StrikesSchema,
    "SellerStrikes",
    |generator| {
        let id = generator.subschema_for::<EntryId>();
        let timestamp = generator.subschema_for::<proto_types::timestamp::Timestamp>();
        json_schema!({
            "type": "object",
            "required": ["seller_ref", "active_points", "sanction", "explanation", "strike_expiry_days", "strikes"],
            "properties": {
                "seller_ref": {"type": "string", "pattern": proto_types::schema::HEX_64},
                "active_points": {"type": "integer", "minimum": 0},
                "sanction": {"type": ["string", "null"]},
                "explanation": {"type": "string"},
                "strike_expiry_days": {"type": "integer", "minimum": 0},
                "strikes": {"type": "array", "items": {
                    "type": "object",
                    "required": ["decision_id", "notice_id", "points", "reason", "recorded_at", "active"],
                    "properties": {
                        "decision_id": id,
                        "notice_id": id,
                        "points": {"type": "integer", "minimum": 0},
                        "reason": {"type": "string"},
                        "notice_reason": {"type": ["string", "null"]},
                        "right_id": {"type": ["string", "null"]},
                        "recorded_at": timestamp,
                        "expires_at": {"anyOf": [{"type": "null"}, timestamp]},
                        "active": {"type": "boolean"},
                    },
                }},
            },
        })
    }
);

described!(
    /// A signed credential.
    CredentialSchema,
    "Credential",
    |_generator| json_schema!({
        "type": "object",
        "description": "A W3C Verifiable Credential 2.0 of type IPRightCredential with an eddsa-jcs-2022 Data Integrity proof",
        "required": ["@context", "type", "issuer", "credentialSubject", "proof"],
    })
);

described!(
    /// A signed W3C Bitstring Status List credential (protocol.md §7.5).
    StatusListCredentialSchema,
    "BitstringStatusListCredential",
    |generator| {
        let did = generator.subschema_for::<PublicKey>();
        json_schema!({
            "type": "object",
            "description": "A W3C Bitstring Status List v1.0 credential with an eddsa-jcs-2022 Data Integrity proof by its issuer",
            "required": ["@context", "id", "type", "issuer", "validFrom", "validUntil", "credentialSubject", "proof"],
            "properties": {
                "@context": {"type": "array", "prefixItems": [{"const": "https://www.w3.org/ns/credentials/v2"}], "minItems": 1},
                "id": {"type": "string", "description": "This list's URL"},
                "type": {"type": "array", "items": {"type": "string"}, "allOf": [{"contains": {"const": "VerifiableCredential"}}, {"contains": {"const": "BitstringStatusListCredential"}}]},
                "issuer": did,
                "validFrom": {"type": "string", "format": "date-time"},
                "validUntil": {"type": "string", "format": "date-time"},
                "credentialSubject": {
                    "type": "object",
                    "required": ["id", "type", "statusPurpose", "encodedList"],
                    "properties": {
                        "id": {"type": "string", "pattern": "#list$"},
                        "type": {"const": "BitstringStatusList"},
                        "statusPurpose": {"enum": ["revocation", "suspension"]},
                        "encodedList": {"type": "string", "pattern": "^u[A-Za-z0-9_-]+$", "description": "Multibase base64url (no padding) of the GZIP of 131072 bits"},
                    },
                },
                "proof": {
                    "type": "object",
                    "required": ["type", "cryptosuite", "verificationMethod", "proofPurpose", "proofValue"],
                    "properties": {
                        "type": {"const": "DataIntegrityProof"},
                        "cryptosuite": {"const": "eddsa-jcs-2022"},
                        "proofPurpose": {"const": "assertionMethod"},
                    },
                },
            },
        })
    }
);

described!(
    /// A known peer.
    PeerSchema,
    "Peer",
    |_generator| json_schema!({
        "type": "object",
        "required": ["peer_id", "connected", "blocked", "addresses"],
        "properties": {
            "peer_id": {"type": "string"},
            "connected": {"type": "boolean"},
            "blocked": {"type": "boolean"},
            "blocked_by": {"type": "string", "enum": ["operator", "node"]},
            "block_expires_in_secs": {"type": "integer", "minimum": 0},
            "score": {"type": ["number", "null"]},
            "addresses": {"type": "array", "items": {"type": "string"}},
        },
    })
);

described!(
    /// An equivocation proof.
    ProofSchema,
    "EquivocationProof",
    |generator| {
        let key = generator.subschema_for::<PublicKey>();
        let entry = generator.subschema_for::<EntrySchema>();
        json_schema!({
            "type": "object",
            "description": "Two entries one author signed at the same seq; each verifiable on its own",
            "required": ["author", "seq", "first", "second"],
            "properties": {"author": key, "seq": {"type": "integer", "minimum": 1}, "first": entry, "second": entry},
        })
    }
);

described!(
    /// One result of a batch.
    BatchResultSchema,
    "BatchResult",
    |generator| {
        let error = generator.subschema_for::<ErrorBody<'static>>();
        let outcome = generator.subschema_for::<OutcomeSchema>();
        let right_id = generator.subschema_for::<proto_types::body::RightId>();
        json_schema!({
            "type": "object",
            "description": "The result of one item, by its index: the outcomes of the entries written (none when the record was identical; `skipped` says why when nothing could be), or the item's error",
            "required": ["index"],
            "properties": {
                "index": {"type": "integer", "minimum": 0},
                "right_id": right_id,
                "outcomes": {"type": "array", "items": outcome},
                "skipped": {"type": "string"},
                "error": error,
            },
        })
    }
);

/// One feed's head in `GET /v1/status`.
#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct StatusFeed {
    /// The author.
    #[schemars(with = "PublicKey")]
    pub(super) author: String,
    /// The author's name in the trust store.
    pub(super) name: Option<String>,
    /// Latest seq held.
    pub(super) seq: u64,
    /// That entry's id.
    pub(super) id: EntryId,
    /// The latest checkpoint of the feed this node holds (size, cosigners), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) checkpoint: Option<StatusCheckpoint>,
    /// Whether a split-view proof against the feed's authority is stored (protocol §14.4):
    /// its author signed two checkpoints that contradict each other.
    pub(super) split_view: bool,
}

/// The latest checkpoint of a feed in `GET /v1/status`.
#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct StatusCheckpoint {
    /// Its tree size.
    pub(super) size: u64,
    /// How many witness cosignatures of it this node holds.
    pub(super) cosignatures: usize,
}

/// This node's witness key in `GET /v1/status` (protocol §14.4).
#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct WitnessStatus {
    /// The key name, `rightsnet/witness/<did:key>`.
    pub(super) name: String,
    /// The signed-note verifier key, as a witness policy lists it.
    pub(super) vkey: String,
}

/// `GET /v1/status`.
#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct StatusResponse {
    /// The authority this node signs for: its identifier, the original key of its chain of
    /// rotations (protocol §7.6).
    #[schemars(with = "PublicKey")]
    pub(super) authority: String,
    /// The key the node signs with now.
    #[schemars(with = "PublicKey")]
    pub(super) signing_key: String,
    /// The rotations of its authority, oldest first.
    pub(super) key_history: Vec<KeyHistoryItem>,
    /// Its name in the trust store.
    pub(super) name: Option<String>,
    /// The node's libp2p peer id, once the swarm runs.
    pub(super) peer_id: Option<String>,
    /// Its federation addresses.
    pub(super) p2p_addrs: Vec<String>,
    /// Connected peers.
    pub(super) peers: Vec<String>,
    /// How many.
    pub(super) peer_count: usize,
    /// Every feed's head.
    pub(super) feeds: Vec<StatusFeed>,
    /// Entries held, summed over the feeds' heads.
    pub(super) entry_count: u64,
    /// The node's version.
    pub(super) version: &'static str,
    /// This node's witness key: it cosigns the checkpoints of the feeds it holds.
    pub(super) witness: WitnessStatus,
}

/// One rotation in `GET /v1/status`'s `key_history`.
#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct KeyHistoryItem {
    /// The key rotated away from.
    #[schemars(with = "PublicKey")]
    pub(super) old_key: String,
    /// The key rotated to.
    #[schemars(with = "PublicKey")]
    pub(super) new_key: String,
    /// The `key_rotation` entry.
    pub(super) entry_id: EntryId,
    /// Its seq in the old key's feed.
    pub(super) seq: u64,
    /// For a compromise rotation: the first distrusted seq of the old key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) compromised_since: Option<u64>,
}

/// One feed in `GET /v1/feeds`.
#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct FeedView {
    /// The author.
    #[schemars(with = "PublicKey")]
    pub(super) author: String,
    /// The author's name in the trust store.
    pub(super) name: Option<String>,
    /// The author's role in the trust store.
    pub(super) role: Option<AuthorityRole>,
    /// Latest seq held.
    pub(super) seq: u64,
    /// That entry's id.
    pub(super) id: EntryId,
}

/// `GET /v1/feeds`.
#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct FeedsResponse {
    /// Every feed this node holds.
    pub(super) feeds: Vec<FeedView>,
}

/// `GET /v1/feeds/{author}`.
#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct FeedPage {
    /// Entries in seq order.
    #[schemars(with = "Vec<EntrySchema>")]
    pub(super) entries: Vec<Value>,
    /// The `from` of the next page; null when this page is empty.
    pub(super) next_from: Option<u64>,
}

/// `GET /v1/entries/{id}`.
#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct EntryResponse {
    /// The entry id.
    pub(super) id: EntryId,
    /// The entry.
    #[schemars(with = "EntrySchema")]
    pub(super) entry: Value,
    /// Whether it changed any state.
    pub(super) effective: bool,
    /// When it did not, why.
    pub(super) ineffective_reason: Option<String>,
}

/// `GET /v1/equivocations`.
#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct EquivocationsResponse {
    /// The proofs.
    #[schemars(with = "Vec<ProofSchema>")]
    pub(super) equivocations: Vec<Value>,
    /// Checkpoint equivocation (split-view) proofs (protocol §14.4): each with `kind`,
    /// `origin`, `author`, the two signed notes `first` and `second`, their sizes and roots,
    /// and for different sizes the `consistency` proof (base64 hashes).
    pub(super) checkpoint_equivocations: Vec<Value>,
}

/// `GET /v1/rights`.
#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct SearchResponse {
    /// A page of rights.
    #[schemars(with = "Vec<RightSummarySchema>")]
    pub(super) rights: Vec<Value>,
    /// The cursor of the next page; null on the last.
    pub(super) next_cursor: Option<String>,
    /// On the first page (no cursor given): how many rights the search finds, counted up to
    /// 500 rights and 5 000 index keys; `relation` is `eq` when that is all of them, `gte`
    /// when counting stopped at a bound and `value` is a lower bound.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<TotalSchema>")]
    pub(super) total: Option<Value>,
}

/// `POST /v1/registrations/batch`.
#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct BatchResponse {
    /// One result per item, in order.
    #[schemars(with = "Vec<BatchResultSchema>")]
    pub(super) results: Vec<Value>,
}

/// `POST /v1/verify`.
#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct VerifyResponse {
    /// The verdict the notice would get.
    pub(super) verdict: Verdict,
}

/// `POST /v1/verify` with a batch `{"notices": [...]}`.
#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct VerifyBatchResponse {
    /// One item per notice, in the order given.
    pub(super) verdicts: Vec<BatchVerdict>,
}

/// One notice of a batch: its verdict, or why it has none.
#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct BatchVerdict {
    /// The verdict the notice would get (absent when `error` is given).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) verdict: Option<Verdict>,
    /// Why the item has no verdict: `too_large` (it would be accepted, but is too large to
    /// record).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) error: Option<BatchError>,
}

impl BatchVerdict {
    /// An item without a verdict.
    pub(super) fn error(code: &'static str, message: String) -> Self {
        Self {
            verdict: None,
            error: Some(BatchError { code, message }),
        }
    }
}

/// Why a notice of a batch has no verdict.
#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct BatchError {
    /// A stable machine code.
    #[schemars(regex(pattern = "^[a-z][a-z0-9_]*$"))]
    pub(super) code: &'static str,
    /// What went wrong, for a human.
    pub(super) message: String,
}

/// `POST /v1/notices`, accepted.
#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct NoticeAccepted {
    /// The notice entry recorded.
    pub(super) notice_id: EntryId,
    /// Its verdict.
    pub(super) verdict: Verdict,
}

/// `POST /v1/notices`, rejected (422).
#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct NoticeRejected {
    /// `notice_rejected`.
    pub(super) code: &'static str,
    /// The failed reasons.
    pub(super) message: String,
    /// The verdict.
    pub(super) verdict: Verdict,
}

/// One claim in `GET /v1/claims`.
#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct Claim {
    /// The entry id.
    pub(super) id: EntryId,
    /// Its kind: notice, decision or counter_notice.
    #[schemars(with = "EntryKindSchema")]
    pub(super) kind: EntryKind,
    /// The entry.
    #[schemars(with = "EntrySchema")]
    pub(super) entry: Value,
}

/// `GET /v1/claims`.
#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct ClaimsResponse {
    /// The entries, in index order.
    pub(super) claims: Vec<Claim>,
}

/// `GET /v1/peers`.
#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct PeersResponse {
    /// Known peers.
    #[schemars(with = "Vec<PeerSchema>")]
    pub(super) peers: Vec<crate::network::PeerInfo>,
}

/// `POST /v1/peers/{peer_id}/block` and `…/unblock`.
#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct BlockResponse {
    /// The peer.
    pub(super) peer_id: String,
    /// Whether it is blocked now.
    pub(super) blocked: bool,
    /// Whether this request changed that.
    pub(super) changed: bool,
}

/// A page of the credential log.
#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct CredentialsPage {
    /// Credentials, oldest logged first.
    pub(super) credentials: Vec<crate::credential_log::LoggedCredential>,
    /// Where the next page starts, when there may be one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) next_cursor: Option<String>,
}

/// What a status change answers.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct StatusChanged {
    /// The `credential_status` entry written.
    pub(crate) entry_id: EntryId,
    /// The credential's status now.
    pub(crate) status: proto_types::body::CredentialStatusKind,
}
