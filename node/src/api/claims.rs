//! Claims on a marketplace: judge a holder's notice (dry run) and submit it, record a decision
//! and a counter-notice, list claims by index, and the accountability views. The verdict, the
//! bodies recorded and their deadlines are [`crate::claims`]'s; these handlers parse, load,
//! call it and render.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use proto_types::body::{DecisionOutcome, EntryKind, Evidence, HolderNotice, Verdict};
use proto_types::entry::{Entry, EntryId};
use proto_types::keys::PublicKey;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use super::credentials::refuse_if_own_key_rotated;
use super::error::{ApiError, ApiResult};
use super::extract::{json_body, query_params, request};
use super::outcome::outcome_response;
use super::schemas::{
    BatchVerdict, Claim, ClaimsResponse, NoticeAccepted, NoticeRejected, VerifyBatchResponse,
    VerifyResponse,
};
use super::state::NodeState;
use crate::claims::{self, DecisionInput, VerdictContext};
use crate::config::MarketplacePolicy;
use crate::ingest::IngestOutcome;
use crate::storage::{ClaimIndex, StorageError};

/// Default and most entries of `GET /v1/claims` below the node's page size.
const DEFAULT_CLAIMS: usize = 100;
/// Longest filter value of `GET /v1/claims`, in bytes.
const MAX_FILTER_BYTES: usize = 256;

/// The node's marketplace policy, or 409 `not_a_marketplace`.
pub(crate) fn marketplace_policy(state: &NodeState) -> ApiResult<MarketplacePolicy> {
    state.config.marketplace.clone().ok_or_else(|| {
        ApiError::new(
            StatusCode::CONFLICT,
            "not_a_marketplace",
            "this node has no [marketplace] policy; notices go to marketplace nodes",
        )
    })
}

/// Most notices one batch of `POST /v1/verify` carries (the body stays within the node's
/// `limits.max_body_bytes`).
pub const MAX_VERIFY_BATCH: usize = 100;

/// What a verdict needs besides the store, taken from the node before the blocking pool runs
/// it: 409 `not_a_marketplace` on a node without a policy, 409 when this marketplace's key
/// was rotated away (it could not record the notice; the dry run says the same as the
/// submission would).
struct Judge {
    policy: MarketplacePolicy,
    ingest: crate::ingest::Ingest,
    transparency: std::sync::Arc<crate::transparency::Transparency>,
    marketplace: PublicKey,
}

impl Judge {
    fn new(state: &NodeState) -> ApiResult<Self> {
        let policy = marketplace_policy(state)?;
        refuse_if_own_key_rotated(state)?;
        Ok(Self {
            policy,
            ingest: state.ingest.clone(),
            transparency: state.transparency.clone(),
            marketplace: state.authority,
        })
    }

    /// The verdict context over `store`, now.
    fn context<'a>(&'a self, store: &'a crate::storage::Store) -> VerdictContext<'a> {
        VerdictContext {
            store,
            trust: self.ingest.trust(),
            marketplace: &self.marketplace,
            policy: &self.policy,
            now: crate::clock::now(),
            transparency: Some(&self.transparency),
        }
    }
}

/// Decodes a notice and computes its verdict on the blocking pool. An accepted notice that
/// could not be recorded because its `notice` entry would be too large is refused with 413, by
/// the dry run and the submission alike.
async fn judge(
    state: &NodeState,
    object: serde_json::Map<String, Value>,
) -> ApiResult<(HolderNotice, Verdict)> {
    let judge = Judge::new(state)?;
    let value = Value::Object(object);
    let notice = HolderNotice::decode(&value)
        .map_err(|error| ApiError::unprocessable("invalid_notice", error.to_string()))?;
    let for_verdict = notice.clone();
    let (verdict, recordable) = state
        .reader()
        .run(move |store| {
            let verdict = claims::verdict(&value, &for_verdict, &judge.context(store))?;
            let recordable = claims::recordable(&judge.marketplace, &for_verdict, &verdict);
            Ok::<_, StorageError>((verdict, recordable))
        })
        .await?;
    recordable?;
    Ok((notice, verdict))
}

/// The notices of a batch body `{"notices": [...]}`, or `None` for a body that is one notice.
/// 422 `invalid_batch` for a `notices` member that is not an array of 1 to
/// [`MAX_VERIFY_BATCH`] items, or that comes with other members.
fn batch_of(object: &mut serde_json::Map<String, Value>) -> ApiResult<Option<Vec<Value>>> {
    if !object.contains_key("notices") {
        return Ok(None);
    }
    let invalid = |message: String| ApiError::unprocessable("invalid_batch", message);
    if object.len() != 1 {
        return Err(invalid(
            "a batch is {\"notices\": [...]} with no other member".to_owned(),
        ));
    }
    match object.remove("notices") {
        Some(Value::Array(items)) if (1..=MAX_VERIFY_BATCH).contains(&items.len()) => {
            Ok(Some(items))
        }
        _ => Err(invalid(format!(
            "notices: an array of 1 to {MAX_VERIFY_BATCH} notices"
        ))),
    }
}

/// The verdicts of a batch, in order, computed in one trip to the blocking pool with one
/// verdict context: each item is `{"verdict": …}`, or `{"error": {"code", "message"}}` for a
/// notice that would be accepted but is too large to record (`too_large`, where a single dry
/// run answers 413). A batch with an item that is not a notice is refused whole with 422
/// `invalid_notice` naming the item, as a single dry run refuses it.
async fn judge_batch(state: &NodeState, items: Vec<Value>) -> ApiResult<Vec<BatchVerdict>> {
    let judge = Judge::new(state)?;
    let mut notices = Vec::with_capacity(items.len());
    for (index, value) in items.iter().enumerate() {
        notices.push(HolderNotice::decode(value).map_err(|error| {
            ApiError::unprocessable("invalid_notice", format!("notices[{index}]: {error}"))
        })?);
    }
    let verdicts = state
        .reader()
        .run(move |store| {
            let context = judge.context(store);
            let mut verdicts = Vec::with_capacity(items.len());
            for (value, notice) in items.iter().zip(&notices) {
                let verdict = claims::verdict(value, notice, &context)?;
                verdicts.push(
                    match claims::recordable(&judge.marketplace, notice, &verdict) {
                        Ok(()) => BatchVerdict {
                            verdict: Some(verdict),
                            error: None,
                        },
                        Err(too_large) => {
                            let error = ApiError::from(too_large);
                            BatchVerdict::error(error.code(), error.message().to_owned())
                        }
                    },
                );
            }
            Ok::<_, StorageError>(verdicts)
        })
        .await?;
    Ok(verdicts)
}

/// Dry run: the verdict a notice would get here; or, for `{"notices": [...]}`, the verdict of
/// each (a marketplace re-checking its queue).
pub(super) async fn verify_notice(
    State(state): State<NodeState>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult {
    let mut object = json_body(body)?;
    if let Some(items) = batch_of(&mut object)? {
        let verdicts = judge_batch(&state, items).await?;
        return Ok(Json(VerifyBatchResponse { verdicts }).into_response());
    }
    let (_, verdict) = judge(&state, object).await?;
    Ok(Json(VerifyResponse { verdict }).into_response())
}

/// Submits a notice: 201 with its entry id when accepted and recorded, 422 with the verdict
/// when rejected.
pub(super) async fn submit_notice(
    State(state): State<NodeState>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult {
    let (notice, verdict) = judge(&state, json_body(body)?).await?;
    if !verdict.accepted {
        let failed: Vec<String> = verdict
            .reasons
            .iter()
            .filter(|reason| !reason.ok)
            .map(|reason| format!("{}: {}", reason.code, reason.message))
            .collect();
        return Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(NoticeRejected {
                code: "notice_rejected",
                message: failed.join("; "),
                verdict,
            }),
        )
            .into_response());
    }
    match state
        .ingest
        .append(claims::notice_body(&notice, &verdict))
        .await?
    {
        IngestOutcome::Stored { id, .. } => Ok((
            StatusCode::CREATED,
            Json(NoticeAccepted {
                notice_id: id,
                verdict,
            }),
        )
            .into_response()),
        other => Err(ApiError::internal(format!("unexpected outcome {other:?}"))),
    }
}

/// Loads this marketplace's own entry `id` of `kind` (named by the request field `kind`).
async fn own_entry(state: &NodeState, id: &str, kind: EntryKind) -> ApiResult<Entry> {
    let id = EntryId::from_hex(id)
        .map_err(|error| ApiError::invalid_field(format!("{kind}: {error}")))?;
    let stored = state.reader().run(move |store| store.entry(&id)).await?;
    Ok(claims::recorded_here(stored, id, kind, &state.authority)?)
}

/// The body of `POST /v1/decisions`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct DecisionRequest {
    /// The notice decided on: a notice entry recorded by this marketplace.
    #[schemars(with = "EntryId")]
    pub(crate) notice_id: String,
    /// What was done.
    pub(crate) outcome: DecisionOutcome,
    /// Why, 1 to 1000 characters.
    #[schemars(length(min = 1, max = proto_types::body::MAX_DECISION_REASON_CHARS), regex(pattern = proto_types::schema::MULTI_LINE))]
    pub(crate) reason: String,
    /// The seller's id on the marketplace, not blank, at most 256 bytes; only its keyed hash is
    /// recorded.
    #[schemars(length(min = 1, max = 64), regex(pattern = proto_types::schema::SINGLE_LINE))]
    pub(crate) seller_id: String,
    /// The listings the decision covers (default: the notice's), 1 to 100, distinct.
    #[schemars(length(min = 1, max = proto_types::body::MAX_DECISION_LISTINGS), inner(length(min = 1, max = proto_types::body::MAX_LISTING_ID_CHARS), regex(pattern = proto_types::schema::SINGLE_LINE)))]
    pub(crate) listing_ids: Option<Vec<String>>,
}

/// Records a takedown decision on a notice recorded here; the seller id becomes a keyed hash.
pub(super) async fn record_decision(
    State(state): State<NodeState>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult {
    marketplace_policy(&state)?;
    let request: DecisionRequest = request(json_body(body)?)?;
    Ok(outcome_response(decide(&state, request).await?))
}

/// Records the decision `request` on a notice recorded here, the seller id replaced by its
/// keyed hash: the one path of `POST /v1/decisions` and the console's decision form.
pub(crate) async fn decide(
    state: &NodeState,
    request: DecisionRequest,
) -> ApiResult<IngestOutcome> {
    let policy = marketplace_policy(state)?;
    claims::check_seller_id(&request.seller_id)?;
    let notice = own_entry(state, &request.notice_id, EntryKind::Notice).await?;
    let seller_key = state
        .seller_key
        .as_ref()
        .ok_or_else(|| ApiError::internal("marketplace without a seller key"))?;
    let input = DecisionInput {
        outcome: request.outcome,
        reason: request.reason,
        seller_ref: claims::seller_ref(seller_key, &request.seller_id),
        listing_ids: request.listing_ids,
    };
    let body = claims::decision_body(
        &notice,
        input,
        policy.counter_notice_days,
        &crate::clock::today(),
    )?;
    Ok(state.ingest.append(body).await?)
}

/// The body of `POST /v1/counter-notices`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CounterNoticeRequest {
    /// The removal decision answered: a decision entry recorded by this marketplace.
    #[schemars(with = "EntryId")]
    pub(crate) decision_id: String,
    /// The seller's statement, 1 to 5000 characters.
    #[schemars(length(min = 1, max = proto_types::body::MAX_COUNTER_STATEMENT_CHARS), regex(pattern = proto_types::schema::MULTI_LINE))]
    pub(crate) statement: String,
    /// Evidence, at most the protocol's number of items.
    #[serde(default)]
    #[schemars(with = "Vec<Evidence>", length(max = proto_types::body::MAX_EVIDENCE_ITEMS))]
    pub(crate) evidence: Vec<Value>,
}

/// Records a seller's counter-notice against a removal recorded here.
pub(super) async fn record_counter_notice(
    State(state): State<NodeState>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult {
    marketplace_policy(&state)?;
    let request: CounterNoticeRequest = request(json_body(body)?)?;
    Ok(outcome_response(counter_notice(&state, request).await?))
}

/// Records the counter-notice `request` against a removal recorded here: the one path of
/// `POST /v1/counter-notices` and the console's counter-notice form.
pub(crate) async fn counter_notice(
    state: &NodeState,
    request: CounterNoticeRequest,
) -> ApiResult<IngestOutcome> {
    marketplace_policy(state)?;
    let decision = own_entry(state, &request.decision_id, EntryKind::Decision).await?;
    let removal = claims::removal(&decision)?;
    let evidence = Evidence::decode_list("evidence", request.evidence)
        .map_err(|error| ApiError::invalid_field(error.to_string()))?;
    let body = claims::counter_notice_body(decision.id(), removal, request.statement, evidence)?;
    Ok(state.ingest.append(body).await?)
}

/// The query of `GET /v1/claims`: exactly one filter, and a limit.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ClaimParams {
    /// Listing id (give exactly one of listing, holder, seller_ref, notice, right).
    #[schemars(length(min = 1, max = proto_types::body::MAX_LISTING_ID_CHARS), regex(pattern = proto_types::schema::SINGLE_LINE))]
    listing: Option<String>,
    /// Holder did:key.
    #[schemars(with = "Option<PublicKey>")]
    holder: Option<String>,
    /// Seller reference (64 hex).
    #[schemars(regex(pattern = proto_types::schema::HEX_64))]
    seller_ref: Option<String>,
    /// Notice entry id: its decisions and counter-notices.
    #[schemars(with = "Option<EntryId>")]
    notice: Option<String>,
    /// Right id.
    #[schemars(with = "Option<proto_types::body::RightId>")]
    right: Option<String>,
    /// Most entries (default 100).
    limit: Option<usize>,
}

/// Refuses a filter value that is not of its kind, as the OpenAPI document states each one:
/// a listing id (1 to 200 characters, one line), a did:key, a seller reference or a notice id
/// (64 lowercase hex), a right id. No stored claim is under a malformed value.
fn check_filter(index: ClaimIndex, value: &str) -> Result<(), String> {
    let hex_64 = |name: &str| {
        if value.len() == 64
            && value
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        {
            Ok(())
        } else {
            Err(format!("{name}: 64 lowercase hex characters"))
        }
    };
    match index {
        ClaimIndex::Listing => {
            let control = |c: char| matches!(c, '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}');
            let chars = value.chars().count();
            if chars > proto_types::body::MAX_LISTING_ID_CHARS
                || value.chars().any(control)
                || value.chars().all(char::is_whitespace)
            {
                return Err(format!(
                    "listing: 1 to {} characters on one line",
                    proto_types::body::MAX_LISTING_ID_CHARS
                ));
            }
            Ok(())
        }
        ClaimIndex::Holder => PublicKey::from_did_key(value)
            .map(|_| ())
            .map_err(|error| format!("holder: {error}")),
        ClaimIndex::SellerRef => hex_64("seller_ref"),
        ClaimIndex::Notice => hex_64("notice"),
        ClaimIndex::Right => proto_types::body::RightId::parse(value)
            .map(|_| ())
            .map_err(|error| format!("right: {error}")),
        // Not a filter of `GET /v1/claims`.
        ClaimIndex::Nonce | ClaimIndex::Kind => Ok(()),
    }
}

/// Notices, decisions and counter-notices under one claims index value.
pub(super) async fn list_claims(
    State(state): State<NodeState>,
    params: Result<Query<ClaimParams>, QueryRejection>,
) -> ApiResult {
    let params = query_params(params)?;
    let limit = params
        .limit
        .unwrap_or(DEFAULT_CLAIMS)
        .clamp(1, state.config.limits.max_page_size);
    let filters = [
        (ClaimIndex::Listing, params.listing),
        (ClaimIndex::Holder, params.holder),
        (ClaimIndex::SellerRef, params.seller_ref),
        (ClaimIndex::Notice, params.notice),
        (ClaimIndex::Right, params.right),
    ];
    let mut given = filters
        .into_iter()
        .filter_map(|(index, value)| value.map(|v| (index, v)));
    let (Some((index, value)), None) = (given.next(), given.next()) else {
        return Err(ApiError::bad_request(
            "bad_query",
            "give exactly one of listing, holder, seller_ref, notice, right",
        ));
    };
    if value.is_empty() || value.len() > MAX_FILTER_BYTES || value.contains('\0') {
        return Err(ApiError::bad_request(
            "bad_query",
            format!("filter value must be 1 to {MAX_FILTER_BYTES} bytes"),
        ));
    }
    check_filter(index, &value).map_err(|error| ApiError::bad_request("bad_query", error))?;
    let entries = state
        .reader()
        .run(move |store| {
            let ids = store.claim_ids(index, &value, limit)?;
            let mut entries = Vec::with_capacity(ids.len());
            for id in ids {
                if let Some(entry) = store.entry(&id)? {
                    entries.push(Claim {
                        id,
                        kind: entry.kind(),
                        entry: entry.value().clone(),
                    });
                }
            }
            Ok::<_, StorageError>(entries)
        })
        .await?;
    Ok(Json(ClaimsResponse { claims: entries }).into_response())
}

/// A holder's notice accuracy against the good-faith policy.
pub(super) async fn holder_accuracy(
    State(state): State<NodeState>,
    Path(did): Path<String>,
) -> ApiResult {
    let policy = marketplace_policy(&state)?;
    let holder = PublicKey::from_did_key(&did)
        .map_err(|error| ApiError::bad_request("bad_holder", error.to_string()))?;
    let view = state
        .reader()
        .run(move |store| claims::holder_accuracy(store, &holder, &policy, &crate::clock::now()))
        .await?;
    Ok(Json(view).into_response())
}

/// A seller reference's strike points and sanction tier.
pub(super) async fn seller_strikes(
    State(state): State<NodeState>,
    Path(seller_ref): Path<String>,
) -> ApiResult {
    let policy = marketplace_policy(&state)?;
    if seller_ref.len() != proto_types::body::SELLER_REF_HEX_CHARS
        || !seller_ref
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        return Err(ApiError::bad_request(
            "bad_seller_ref",
            "a seller reference is 64 lowercase hex characters",
        ));
    }
    let view = state
        .reader()
        .run(move |store| claims::seller_strikes(store, &seller_ref, &policy, &crate::clock::now()))
        .await?;
    Ok(Json(view).into_response())
}
