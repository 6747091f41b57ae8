//! The marketplace's pages: the notice queue (accepted notices awaiting a decision, with the
//! verdict's checks; decisions and counter-notices recorded), the removals contested by a
//! counter-notice and when policy restores them, and the accountability views (a holder's
//! accuracy, a seller's strikes). The forms call the code of the JSON routes they mirror
//! (`POST /v1/decisions`, `POST /v1/counter-notices`), and the views the functions of
//! `GET /v1/holders/{did}/accuracy` and `GET /v1/sellers/{seller_ref}/strikes`.

use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use proto_types::body::{Body, DecisionOutcome};
use proto_types::entry::EntryId;
use proto_types::keys::PublicKey;
use serde::Deserialize;

use super::operator::{PageParams, page_params, recorded_redirect, require_session, signed_form};
use super::session::OperatorSession;
use super::views::{
    AccountabilityPage, AccuracyView, CheckRow, DecidedRow, FateRow, NoticeRow, NoticesPage,
    RestorationRow, RestorationsPage, StrikeRow, StrikesView, name_of, visible,
};
use super::{ConsoleState, error_page, render, see_other};
use crate::api::{
    ApiError, CounterNoticeRequest, DecisionRequest, counter_notice, decide as record_decision,
    marketplace_policy,
};
use crate::claims::{self, HolderAccuracy, SellerStrikes};
use crate::storage::StorageError;

/// Most entries of the marketplace's own feed the notice queue looks through (the latest).
pub const NOTICE_WINDOW: usize = 1000;
/// Byte budget of reading that window.
const NOTICE_WINDOW_BYTES: usize = 64 * 1024 * 1024;

/// The session of a marketplace operator, or the answer: sign in, or 409 on a node that is not
/// a marketplace.
fn market_session(
    console: &ConsoleState,
    headers: &HeaderMap,
) -> Result<OperatorSession, Box<Response>> {
    let session = require_session(console, headers)?;
    if let Err(error) = marketplace_policy(&console.node) {
        return Err(Box::new(error_page(
            console,
            Some(&session),
            error.status(),
            error.message(),
        )));
    }
    Ok(session)
}

/// A read of the store failed: logged, and a 500 page.
fn read_failed(
    console: &ConsoleState,
    session: &OperatorSession,
    what: &str,
    error: impl std::fmt::Display,
) -> Response {
    tracing::error!(%error, "console {what} read failed");
    error_page(
        console,
        Some(session),
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal error; see the node's log",
    )
}

/// What the notice queue reads: the notices of the window, each with what followed it.
struct Queue {
    pending: Vec<NoticeRow>,
    decided: Vec<DecidedRow>,
    /// The window's first and last seq (0, 0 for an empty feed), and the feed's head.
    from: u64,
    to: u64,
    head: u64,
}

/// The rows of what followed one notice: each decision and counter-notice, the last removal
/// that no counter-notice answered yet offering the counter-notice form.
fn follow_up_rows(
    notice_id: &EntryId,
    right_id: &str,
    follow_ups: &[proto_types::entry::Entry],
) -> Vec<DecidedRow> {
    let mut rows: Vec<DecidedRow> = Vec::new();
    for entry in follow_ups {
        match entry.body() {
            Body::Decision(decision) => {
                for row in &mut rows {
                    row.counterable = false;
                }
                rows.push(DecidedRow {
                    notice_id: notice_id.to_hex(),
                    right_id: right_id.to_owned(),
                    entry_id: entry.id().to_hex(),
                    kind: "decision",
                    outcome: name_of(decision.outcome),
                    reason: visible(&decision.reason),
                    seller_ref: decision.seller_ref.clone(),
                    deadline: decision
                        .counter_notice_deadline
                        .as_ref()
                        .map(ToString::to_string)
                        .unwrap_or_default(),
                    counterable: decision.outcome == DecisionOutcome::Removed,
                });
            }
            Body::CounterNotice(counter) => {
                for row in &mut rows {
                    row.counterable = false;
                }
                rows.push(DecidedRow {
                    notice_id: notice_id.to_hex(),
                    right_id: right_id.to_owned(),
                    entry_id: entry.id().to_hex(),
                    kind: "counter-notice",
                    outcome: "contested".to_owned(),
                    reason: visible(&counter.statement),
                    seller_ref: counter.seller_ref.clone(),
                    deadline: String::new(),
                    counterable: false,
                });
            }
            _ => {}
        }
    }
    rows
}

/// Reads [`NOTICE_WINDOW`] entries of the marketplace's own feed, the latest or those before
/// seq `before`: its notices, and for each the decisions and counter-notices recorded under it
/// (the claims index, whatever their seq).
fn read_queue(
    store: &crate::storage::Store,
    marketplace: &proto_types::keys::PublicKey,
    before: Option<u64>,
) -> Result<Queue, StorageError> {
    let head = store
        .heads()?
        .into_iter()
        .find(|(author, _)| author == marketplace)
        .map_or(0, |(_, head)| head.seq);
    let to = before.map_or(head, |before| before.saturating_sub(1).min(head));
    let from = to.saturating_sub(NOTICE_WINDOW as u64 - 1).max(1);
    let mut queue = Queue {
        pending: Vec::new(),
        decided: Vec::new(),
        from: if to == 0 { 0 } else { from },
        to,
        head,
    };
    if to == 0 {
        return Ok(queue);
    }
    let count = usize::try_from(to - from + 1).unwrap_or(NOTICE_WINDOW);
    for bytes in store.feed(marketplace, from, count, NOTICE_WINDOW_BYTES)? {
        let Ok(entry) = proto_types::entry::Entry::decode(&bytes) else {
            continue;
        };
        let Body::Notice(notice) = entry.body() else {
            continue;
        };
        let id = entry.id();
        let right_id = notice.notice.right_id.as_str();
        let follow_ups = claims::follow_ups(store, &id)?;
        let decided = follow_ups
            .iter()
            .any(|entry| matches!(entry.body(), Body::Decision(_)));
        // Newest notice first, each notice's follow-ups oldest first.
        let mut rows = follow_up_rows(&id, right_id, &follow_ups);
        rows.reverse();
        queue.decided.extend(rows);
        if !decided && notice.verdict.accepted {
            queue.pending.push(NoticeRow {
                id: id.to_hex(),
                right_id: right_id.to_owned(),
                holder: notice.notice.holder.to_did_key(),
                listings: notice
                    .notice
                    .listings
                    .iter()
                    .map(|listing| visible(&listing.id))
                    .collect::<Vec<_>>()
                    .join(", "),
                reason: name_of(notice.notice.reason),
                created: notice.notice.created.as_str().to_owned(),
                accepted: notice.verdict.accepted,
                checks: notice
                    .verdict
                    .reasons
                    .iter()
                    .map(|reason| CheckRow {
                        code: reason.code.clone(),
                        ok: reason.ok,
                        message: visible(&reason.message),
                    })
                    .collect(),
            });
        }
    }
    queue.pending.reverse();
    queue.decided.reverse();
    Ok(queue)
}

/// The notice queue page, with `recorded` (a decision just recorded) or `message` (why one
/// was not).
async fn notices_page(
    console: &ConsoleState,
    session: &OperatorSession,
    status: StatusCode,
    recorded: Option<String>,
    message: Option<String>,
    before: Option<u64>,
) -> Response {
    if let Err(error) = marketplace_policy(&console.node) {
        return error_page(console, Some(session), error.status(), error.message());
    }
    let marketplace = console.node.authority;
    let queue = console
        .node
        .reader()
        .run(move |store| read_queue(store, &marketplace, before))
        .await;
    let queue = match queue {
        Ok(queue) => queue,
        Err(error) => return read_failed(console, session, "notice queue", error),
    };
    render(
        status,
        &NoticesPage {
            layout: console.layout(Some(session)),
            recorded,
            message,
            pending: queue.pending,
            decided: queue.decided,
            window: NOTICE_WINDOW,
            from: queue.from,
            to: queue.to,
            head: queue.head,
            older_href: (queue.from > 1)
                .then(|| format!("/operator/notices?before={}", queue.from)),
            newer_href: (queue.to < queue.head).then(|| "/operator/notices".to_owned()),
        },
    )
}

/// `GET /operator/notices`: accepted notices awaiting a decision, with the verdict's checks
/// and a decision form each; then the notices decided. The latest [`NOTICE_WINDOW`] entries of
/// the feed, or with `?before=seq` those before it (the page links to the older window).
pub(super) async fn notices(
    State(console): State<ConsoleState>,
    headers: HeaderMap,
    params: Result<Query<PageParams>, QueryRejection>,
) -> Response {
    let session = match market_session(&console, &headers) {
        Ok(session) => session,
        Err(response) => return *response,
    };
    let params = page_params(params);
    let before = match params.before.as_deref().map(str::parse::<u64>) {
        None => None,
        Some(Ok(before)) if before >= 1 => Some(before),
        Some(_) => {
            return error_page(
                &console,
                Some(&session),
                StatusCode::UNPROCESSABLE_ENTITY,
                "before: a sequence number of this marketplace's feed (1 or more)",
            );
        }
    };
    notices_page(
        &console,
        &session,
        StatusCode::OK,
        params.recorded,
        None,
        before,
    )
    .await
}

/// The decision form.
#[derive(Debug, Deserialize)]
pub(super) struct DecisionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    notice_id: String,
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    seller_id: String,
}

/// `POST /operator/decisions`: records a decision with the code of `POST /v1/decisions`.
pub(super) async fn decide(
    State(console): State<ConsoleState>,
    headers: HeaderMap,
    form: Result<Form<DecisionForm>, FormRejection>,
) -> Response {
    let (session, form) = match signed_form(&console, &headers, form, |form| &form.csrf) {
        Ok(signed) => signed,
        Err(response) => return *response,
    };
    let outcome = match form.outcome.as_str() {
        "removed" => DecisionOutcome::Removed,
        "rejected" => DecisionOutcome::Rejected,
        _ => {
            return notices_refusal(
                &console,
                &session,
                ApiError::invalid_field("outcome: removed or rejected"),
            )
            .await;
        }
    };
    let request = DecisionRequest {
        notice_id: form.notice_id.trim().to_owned(),
        outcome,
        reason: form.reason.trim().to_owned(),
        seller_id: form.seller_id.trim().to_owned(),
        listing_ids: None,
    };
    if request.reason.is_empty()
        || request.reason.chars().count() > proto_types::body::MAX_DECISION_REASON_CHARS
    {
        return notices_refusal(
            &console,
            &session,
            ApiError::invalid_field(format!(
                "reason: 1 to {} characters",
                proto_types::body::MAX_DECISION_REASON_CHARS
            )),
        )
        .await;
    }
    match record_decision(&console.node, request).await {
        Ok(outcome) => recorded_redirect(&outcome, "/operator/notices"),
        Err(error) => notices_refusal(&console, &session, error).await,
    }
}

/// The notice queue with why a decision or counter-notice was refused, answered with the
/// refusal's status.
async fn notices_refusal(
    console: &ConsoleState,
    session: &OperatorSession,
    error: ApiError,
) -> Response {
    notices_page(
        console,
        session,
        error.status(),
        None,
        Some(error.message().to_owned()),
        None,
    )
    .await
}

/// The counter-notice form.
#[derive(Debug, Deserialize)]
pub(super) struct CounterNoticeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    decision_id: String,
    #[serde(default)]
    statement: String,
}

/// `POST /operator/counter-notices`: records the seller's counter-notice against a removal with
/// the code of `POST /v1/counter-notices`.
pub(super) async fn record_counter_notice(
    State(console): State<ConsoleState>,
    headers: HeaderMap,
    form: Result<Form<CounterNoticeForm>, FormRejection>,
) -> Response {
    let (session, form) = match signed_form(&console, &headers, form, |form| &form.csrf) {
        Ok(signed) => signed,
        Err(response) => return *response,
    };
    let statement = form.statement.trim().to_owned();
    let result = if statement.is_empty()
        || statement.chars().count() > proto_types::body::MAX_COUNTER_STATEMENT_CHARS
    {
        Err(ApiError::invalid_field(format!(
            "statement: 1 to {} characters",
            proto_types::body::MAX_COUNTER_STATEMENT_CHARS
        )))
    } else {
        counter_notice(
            &console.node,
            CounterNoticeRequest {
                decision_id: form.decision_id.trim().to_owned(),
                statement,
                evidence: Vec::new(),
            },
        )
        .await
    };
    match result {
        Ok(outcome) => recorded_redirect(&outcome, "/operator/notices"),
        Err(error) => notices_refusal(&console, &session, error).await,
    }
}

/// `GET /operator/restorations`: removals a seller contested, when policy restores each (the
/// marketplace's sweep records the `restored` decision once the deadline has passed), and
/// which are due now.
pub(super) async fn restorations(
    State(console): State<ConsoleState>,
    headers: HeaderMap,
) -> Response {
    let session = match market_session(&console, &headers) {
        Ok(session) => session,
        Err(response) => return *response,
    };
    let ingest = console.node.ingest.clone();
    let read = console
        .node
        .reader()
        .run(move |store| {
            let trust = ingest.trust();
            let own = trust.root(&ingest.signing_key());
            let contested =
                claims::contested_removals(store, |author: &PublicKey| trust.root(author) == own)?;
            let today = crate::clock::today();
            let mut rows = Vec::with_capacity(contested.len());
            for item in contested {
                let right_id = match store
                    .entry(&item.notice_id)?
                    .as_ref()
                    .map(|entry| entry.body())
                {
                    Some(Body::Notice(notice)) => notice.notice.right_id.as_str().to_owned(),
                    _ => String::new(),
                };
                rows.push(RestorationRow {
                    notice_id: item.notice_id.to_hex(),
                    right_id,
                    listings: item
                        .removal
                        .listing_ids
                        .iter()
                        .map(|id| visible(id))
                        .collect::<Vec<_>>()
                        .join(", "),
                    seller_ref: item.removal.seller_ref.clone(),
                    deadline: item
                        .removal
                        .counter_notice_deadline
                        .as_ref()
                        .map(ToString::to_string)
                        .unwrap_or_default(),
                    due: item.is_due(&today),
                });
            }
            Ok::<_, StorageError>((rows, today.to_string()))
        })
        .await;
    let (rows, today) = match read {
        Ok(read) => read,
        Err(error) => return read_failed(&console, &session, "restorations", error),
    };
    render(
        StatusCode::OK,
        &RestorationsPage {
            layout: console.layout(Some(&session)),
            due: rows.iter().filter(|row| row.due).count(),
            rows,
            today,
            sweep_seconds: claims::RESTORE_SWEEP_INTERVAL.as_secs(),
        },
    )
}

/// The query of the accountability page: a holder, a seller reference, or neither.
#[derive(Debug, Default, Deserialize)]
pub(super) struct AccountabilityParams {
    #[serde(default)]
    holder: Option<String>,
    #[serde(default)]
    seller_ref: Option<String>,
}

/// A ratio as a percentage with one decimal, or a dash when there is none.
fn percent(ratio: Option<f64>) -> String {
    ratio.map_or_else(|| "—".to_owned(), |ratio| format!("{:.1} %", ratio * 100.0))
}

fn accuracy_view(accuracy: HolderAccuracy) -> AccuracyView {
    AccuracyView {
        holder: accuracy.holder,
        window_days: accuracy.window_days,
        filed: accuracy.filed,
        removed: accuracy.removed,
        rejected: accuracy.rejected,
        reversed: accuracy.reversed_after_counter_notice,
        pending: accuracy.pending,
        success: percent(accuracy.success_ratio),
        reversal: percent(accuracy.reversal_ratio),
        meets: accuracy.meets_good_faith_policy,
        reasons: accuracy.reasons,
        notices: accuracy
            .notices
            .into_iter()
            .rev()
            .map(|notice| FateRow {
                notice_id: notice.notice_id.to_hex(),
                right_id: notice.right_id,
                recorded_at: notice.recorded_at.as_str().to_owned(),
                fate: notice.fate.as_str(),
            })
            .collect(),
    }
}

fn strikes_view(strikes: SellerStrikes) -> StrikesView {
    StrikesView {
        seller_ref: strikes.seller_ref,
        active_points: strikes.active_points,
        sanction: strikes.sanction.unwrap_or_else(|| "none".to_owned()),
        explanation: strikes.explanation,
        expiry_days: strikes.strike_expiry_days,
        strikes: strikes
            .strikes
            .into_iter()
            .rev()
            .map(|strike| StrikeRow {
                decision_id: strike.decision_id.to_hex(),
                notice_id: strike.notice_id.to_hex(),
                points: strike.points,
                reason: visible(&strike.reason),
                notice_reason: strike.notice_reason.map(name_of).unwrap_or_default(),
                right_id: strike.right_id.unwrap_or_default(),
                recorded_at: strike.recorded_at.as_str().to_owned(),
                expires_at: strike
                    .expires_at
                    .map(|at| at.as_str().to_owned())
                    .unwrap_or_default(),
                active: strike.active,
            })
            .collect(),
    }
}

/// Whether `text` is a seller reference: 64 lowercase hex characters.
fn is_seller_ref(text: &str) -> bool {
    text.len() == proto_types::body::SELLER_REF_HEX_CHARS
        && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// `GET /operator/accountability?holder=…` or `?seller_ref=…`: a holder's notice accuracy
/// against the good-faith policy, or a seller's strikes and sanction tier, with their reasons.
pub(super) async fn accountability(
    State(console): State<ConsoleState>,
    headers: HeaderMap,
    params: Result<Query<AccountabilityParams>, QueryRejection>,
) -> Response {
    let session = match market_session(&console, &headers) {
        Ok(session) => session,
        Err(response) => return *response,
    };
    let params = params.map(|Query(params)| params).unwrap_or_default();
    let holder = params
        .holder
        .map(|text| text.trim().to_owned())
        .filter(|text| !text.is_empty());
    let seller_ref = params
        .seller_ref
        .map(|text| text.trim().to_ascii_lowercase())
        .filter(|text| !text.is_empty());
    accountability_page(&console, &session, holder, seller_ref, None).await
}

/// The accountability page for a holder or a seller reference (either may be absent), with
/// `message` (why a lookup could not be made).
async fn accountability_page(
    console: &ConsoleState,
    session: &OperatorSession,
    holder: Option<String>,
    seller_ref: Option<String>,
    message: Option<String>,
) -> Response {
    let Ok(policy) = marketplace_policy(&console.node) else {
        return error_page(
            console,
            Some(session),
            StatusCode::CONFLICT,
            "not a marketplace",
        );
    };
    let mut page = AccountabilityPage {
        layout: console.layout(Some(session)),
        holder: holder.clone().unwrap_or_default(),
        seller_ref: seller_ref.clone().unwrap_or_default(),
        message,
        accuracy: None,
        strikes: None,
    };
    let mut status = StatusCode::OK;
    let holder_key = match holder.as_deref().map(PublicKey::from_did_key) {
        Some(Ok(key)) => Some(key),
        Some(Err(error)) => {
            page.message = Some(format!("holder: {error}"));
            status = StatusCode::UNPROCESSABLE_ENTITY;
            None
        }
        None => None,
    };
    let seller_ref = match seller_ref {
        Some(text) if is_seller_ref(&text) => Some(text),
        Some(_) => {
            page.message = Some(
                "seller reference: 64 hexadecimal characters (or give the seller's id below)"
                    .to_owned(),
            );
            status = StatusCode::UNPROCESSABLE_ENTITY;
            None
        }
        None => None,
    };
    if holder_key.is_some() || seller_ref.is_some() {
        let read = console
            .node
            .reader()
            .run(move |store| {
                let now = crate::clock::now();
                let accuracy = holder_key
                    .map(|key| claims::holder_accuracy(store, &key, &policy, &now))
                    .transpose()?;
                let strikes = seller_ref
                    .map(|seller| claims::seller_strikes(store, &seller, &policy, &now))
                    .transpose()?;
                Ok::<_, StorageError>((accuracy, strikes))
            })
            .await;
        match read {
            Ok((accuracy, strikes)) => {
                page.accuracy = accuracy.map(accuracy_view);
                page.strikes = strikes.map(strikes_view);
            }
            Err(error) => return read_failed(console, session, "accountability", error),
        }
    }
    render(status, &page)
}

/// The seller lookup form: the seller's id on the marketplace, turned into its reference.
#[derive(Debug, Deserialize)]
pub(super) struct SellerForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    seller_id: String,
}

/// `POST /operator/accountability`: the seller's id becomes its keyed reference (the id itself
/// is never recorded, nor put in a URL), then the page shows that reference's strikes.
pub(super) async fn seller_lookup(
    State(console): State<ConsoleState>,
    headers: HeaderMap,
    form: Result<Form<SellerForm>, FormRejection>,
) -> Response {
    let (session, form) = match signed_form(&console, &headers, form, |form| &form.csrf) {
        Ok(signed) => signed,
        Err(response) => return *response,
    };
    if let Err(error) = marketplace_policy(&console.node) {
        return error_page(&console, Some(&session), error.status(), error.message());
    }
    let seller_id = form.seller_id.trim();
    if let Err(error) = claims::check_seller_id(seller_id) {
        let error = ApiError::from(error);
        return accountability_page(
            &console,
            &session,
            None,
            None,
            Some(error.message().to_owned()),
        )
        .await;
    }
    let Some(seller_key) = console.node.seller_key.as_ref() else {
        return read_failed(
            &console,
            &session,
            "seller key",
            "marketplace without a seller key",
        );
    };
    let seller_ref = claims::seller_ref(seller_key, seller_id);
    see_other(&format!("/operator/accountability?seller_ref={seller_ref}"))
}
