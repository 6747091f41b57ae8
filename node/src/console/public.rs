//! The pages anyone may see: search, a right, the federation, the credential check and
//! screening. Reads are rate-limited like the public API; the two POST forms carry the
//! anonymous CSRF token (see `session`).

use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use proto_types::body::{HolderNotice, RightId, VerdictReason};
use serde::Deserialize;
use serde_json::Value;

use super::session::{CSRF_COOKIE, cookie, random_token};
use super::views::{
    CheckPage, CheckRow, EquivocationRow, FederationPage, FeedRow, HistoryRow, MatchRow, RightPage,
    RightRow, ScreenPage, ScreenRow, SearchPage, visible,
};
use super::{ConsoleState, MAX_CHECK_BYTES, MAX_SCREEN_LINES, error_page, query_encode, render};
use crate::api::{registered_by_trusted, screen_listings};
use crate::clock::today;
use crate::query::{self, SearchQuery};
use crate::screening::{DEFAULT_LIMIT, Listing, MAX_TITLE_CHARS};
use crate::storage::StorageError;

/// Rights per page of search results.
const SEARCH_PAGE: usize = 25;
/// Longest cursor accepted back from a "next page" link.
const MAX_CURSOR_CHARS: usize = 4096;
/// Most equivocation proofs shown.
const MAX_EQUIVOCATIONS: usize = 100;
/// What the offline notice check cannot see (as `rightsnet notice verify` says).
const NOT_CHECKED_NOTICE: [&str; 4] = [
    "registry: whether the right is alive and held by the credential's subject (a marketplace node's verdict checks it)",
    "nonce: whether the notice was submitted before (replays)",
    "territory and classes: the marketplace's policy",
    "credential_logged and credential_status: the credential log",
];
/// What the credential check cannot see.
const NOT_CHECKED_CREDENTIAL: [&str; 2] = [
    "registry: whether the right is still alive (see its page)",
    "credential_logged and credential_status: whether the issuer logged the credential, and revoked or suspended it",
];

/// A text as an `Option`: none when blank.
fn given(text: &str) -> Option<&str> {
    let text = text.trim();
    (!text.is_empty()).then_some(text)
}

/// A string field of a JSON view, or `—`.
fn text_of(value: &Value, key: &str) -> String {
    match value.get(key) {
        Some(Value::String(text)) => visible(text),
        Some(Value::Number(number)) => number.to_string(),
        _ => "—".to_owned(),
    }
}

/// The Nice classes of a JSON view, comma-separated.
fn classes_of(value: &Value) -> String {
    value
        .get("nice_classes")
        .and_then(Value::as_array)
        .map(|classes| {
            classes
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        })
        .filter(|text| !text.is_empty())
        .unwrap_or_else(|| "—".to_owned())
}

/// The mark text, else the title, of a JSON view.
fn mark_of(value: &Value) -> String {
    ["mark_text", "title"]
        .iter()
        .find_map(|key| value.get(*key).and_then(Value::as_str))
        .map_or_else(|| "—".to_owned(), visible)
}

/// The public forms' CSRF token for this browser, and the cookie to set when it has none yet.
fn public_csrf(console: &ConsoleState, headers: &HeaderMap) -> (String, Option<HeaderValue>) {
    match cookie(headers, CSRF_COOKIE) {
        Some(value) => (console.sessions.public_csrf(&value), None),
        None => {
            let value = random_token();
            let set = HeaderValue::from_str(&console.sessions.csrf_cookie(&value)).ok();
            (console.sessions.public_csrf(&value), set)
        }
    }
}

/// `response` with the anonymous CSRF cookie set, when there is one to set.
pub(super) fn with_cookie(mut response: Response, set_cookie: Option<HeaderValue>) -> Response {
    if let Some(value) = set_cookie {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// The query of `/search`: the form's fields (blank ones are not filters) and the cursor of a
/// "next page" link. Unknown parameters are ignored, as a browser form may add some.
#[derive(Debug, Default, Deserialize)]
pub(super) struct SearchForm {
    #[serde(default)]
    mark: String,
    #[serde(default)]
    class: String,
    #[serde(default)]
    jurisdiction: String,
    #[serde(default)]
    holder: String,
    #[serde(default)]
    cursor: String,
}

/// `GET /`: the search form.
pub(super) async fn home(State(console): State<ConsoleState>, headers: HeaderMap) -> Response {
    let session = console.sessions.current(&headers);
    render(
        StatusCode::OK,
        &SearchPage {
            layout: console.layout(session.as_ref()),
            mark: String::new(),
            class: String::new(),
            jurisdiction: String::new(),
            holder: String::new(),
            searched: false,
            message: None,
            rows: Vec::new(),
            next_href: None,
            total: None,
        },
    )
}

/// `GET /search?mark=…&class=…&jurisdiction=…&holder=…`: the same search as `GET /v1/rights`
/// ([`query::search`]), a page of results with a link to the next.
pub(super) async fn search(
    State(console): State<ConsoleState>,
    headers: HeaderMap,
    query: Result<Query<SearchForm>, QueryRejection>,
) -> Response {
    let session = console.sessions.current(&headers);
    let form = match query {
        Ok(Query(form)) => form,
        Err(rejection) => {
            return error_page(
                &console,
                session.as_ref(),
                StatusCode::BAD_REQUEST,
                rejection.body_text(),
            );
        }
    };
    let mut page = SearchPage {
        layout: console.layout(session.as_ref()),
        mark: form.mark.clone(),
        class: form.class.clone(),
        jurisdiction: form.jurisdiction.clone(),
        holder: form.holder.clone(),
        searched: true,
        message: None,
        rows: Vec::new(),
        next_href: None,
        total: None,
    };
    let refuse = |mut page: SearchPage, message: String| {
        page.searched = false;
        page.message = Some(message);
        render(StatusCode::BAD_REQUEST, &page)
    };
    let class = match given(&form.class).map(str::parse::<u8>) {
        None => None,
        Some(Ok(class)) => Some(class),
        Some(Err(_)) => return refuse(page, "class: a Nice class, 1 to 45".to_owned()),
    };
    if form.cursor.len() > MAX_CURSOR_CHARS {
        return refuse(page, "cursor is not one this node issued".to_owned());
    }
    let jurisdiction = given(&form.jurisdiction).map(str::to_ascii_uppercase);
    let search = match SearchQuery::new(
        given(&form.mark),
        false,
        class,
        jurisdiction.as_deref(),
        given(&form.holder),
        SEARCH_PAGE,
        given(&form.cursor),
    ) {
        Ok(search) => search,
        Err(error) => return refuse(page, error),
    };
    let found = console
        .node
        .reader()
        .run(move |store| query::search(store, &search))
        .await;
    let found = match found {
        Ok(found) => found,
        Err(error) => {
            tracing::error!(%error, "console search failed");
            return error_page(
                &console,
                session.as_ref(),
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal error; see the node's log",
            );
        }
    };
    let today = today();
    page.rows = found
        .rights
        .iter()
        .map(|hit| {
            let summary = query::right_summary(&hit.right, &today);
            RightRow {
                matched: match hit.matched {
                    Some(query::MarkMatch::Exact) => "exact mark",
                    Some(query::MarkMatch::Words) => "every word",
                    Some(query::MarkMatch::Prefix) => "last word as prefix",
                    None => "",
                },
                right_id: text_of(&summary, "right_id"),
                mark: mark_of(&summary),
                jurisdiction: text_of(&summary, "jurisdiction"),
                classes: classes_of(&summary),
                holder: summary
                    .get("holder")
                    .map_or_else(|| "—".to_owned(), |holder| text_of(holder, "name")),
                status: text_of(&summary, "status"),
                liveness: summary
                    .get("liveness")
                    .map_or_else(|| "—".to_owned(), |liveness| text_of(liveness, "state")),
            }
        })
        .collect();
    page.total = found.total.map(|total| {
        let rights = if total.value == 1 { "right" } else { "rights" };
        if total.exact {
            format!("{} {rights} found", total.value)
        } else {
            format!("At least {} {rights} found", total.value)
        }
    });
    page.next_href = found.next_cursor.map(|cursor| {
        format!(
            "/search?mark={}&class={}&jurisdiction={}&holder={}&cursor={}",
            query_encode(&form.mark),
            query_encode(&form.class),
            query_encode(&form.jurisdiction),
            query_encode(&form.holder),
            query_encode(&cursor)
        )
    });
    render(StatusCode::OK, &page)
}

/// `GET /rights/{right_id}`: the right's state, liveness today and history, as
/// `GET /v1/rights/{id}` gives them.
pub(super) async fn right(
    State(console): State<ConsoleState>,
    headers: HeaderMap,
    Path(right_id): Path<String>,
) -> Response {
    let session = console.sessions.current(&headers);
    let right_id = match RightId::parse(&right_id) {
        Ok(right_id) => right_id,
        Err(error) => {
            return error_page(
                &console,
                session.as_ref(),
                StatusCode::BAD_REQUEST,
                format!("not a right id: {error}"),
            );
        }
    };
    let id = right_id.as_str().to_owned();
    let loaded = console
        .node
        .reader()
        .run(move |store| store.right(&id))
        .await;
    let right = match loaded {
        Ok(Some(right)) => right,
        Ok(None) => {
            return error_page(
                &console,
                session.as_ref(),
                StatusCode::NOT_FOUND,
                format!("no right {} is known to this node", right_id.as_str()),
            );
        }
        Err(error) => {
            tracing::error!(%error, "console right read failed");
            return error_page(
                &console,
                session.as_ref(),
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal error; see the node's log",
            );
        }
    };
    let view = query::right_json(&right, &today());
    let holder = view.get("holder").cloned().unwrap_or(Value::Null);
    let liveness = view.get("liveness").cloned().unwrap_or(Value::Null);
    let history = view
        .get("history")
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .map(|item| HistoryRow {
                    entry_id: text_of(item, "entry_id"),
                    seq: text_of(item, "seq"),
                    change: text_of(item, "change"),
                    effective_date: text_of(item, "effective_date"),
                    timestamp: text_of(item, "timestamp"),
                })
                .collect()
        })
        .unwrap_or_default();
    let page = RightPage {
        layout: console.layout(session.as_ref()),
        right_id: text_of(&view, "right_id"),
        right_type: text_of(&view, "right_type"),
        jurisdiction: text_of(&view, "jurisdiction"),
        number: text_of(&view, "number"),
        mark: mark_of(&view),
        classes: classes_of(&view),
        holder_name: text_of(&holder, "name"),
        holder_country: text_of(&holder, "country"),
        holder_key: text_of(&holder, "key"),
        filing_date: text_of(&view, "filing_date"),
        registration_date: text_of(&view, "registration_date"),
        expiry_date: text_of(&view, "expiry_date"),
        status: text_of(&view, "status"),
        liveness: text_of(&liveness, "state"),
        liveness_entry: liveness
            .get("entry_id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        registered_by: text_of(&view, "registered_by"),
        registered_by_trusted: registered_by_trusted(&console.node, &right),
        as_of: text_of(&view, "as_of"),
        history,
        office_actions: session.is_some() && {
            let trust = console.node.ingest.trust();
            trust.root(&right.registered_by) == trust.root(&console.node.authority)
        },
    };
    render(StatusCode::OK, &page)
}

/// `GET /federation`: the feeds this node holds with their authorities and heads (as
/// `GET /v1/feeds` and `GET /v1/status`), its peers, and equivocation proofs (as
/// `GET /v1/equivocations`).
pub(super) async fn federation(
    State(console): State<ConsoleState>,
    headers: HeaderMap,
) -> Response {
    let session = console.sessions.current(&headers);
    let read = console
        .node
        .reader()
        .run(|store| {
            Ok::<_, StorageError>((
                store.heads()?,
                store.equivocations(MAX_EQUIVOCATIONS)?,
                store.checkpoint_equivocations(MAX_EQUIVOCATIONS)?.len(),
            ))
        })
        .await;
    let (heads, equivocations, checkpoint_equivocations) = match read {
        Ok(read) => read,
        Err(error) => {
            tracing::error!(%error, "console federation read failed");
            return error_page(
                &console,
                session.as_ref(),
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal error; see the node's log",
            );
        }
    };
    let trust = console.node.ingest.trust();
    let feeds = heads
        .iter()
        .map(|(author, head)| {
            let authority = trust.get(author);
            FeedRow {
                name: authority
                    .as_ref()
                    .map_or_else(|| "(not in the trust store)".to_owned(), |a| a.name.clone()),
                role: authority
                    .as_ref()
                    .and_then(|a| serde_json::to_value(a.role).ok())
                    .and_then(|role| role.as_str().map(str::to_owned))
                    .unwrap_or_else(|| "—".to_owned()),
                author: author.to_did_key(),
                seq: head.seq,
                head: head.id.to_string(),
            }
        })
        .collect();
    let entry_count = heads.iter().map(|(_, head)| head.seq).sum();
    let equivocations = equivocations
        .iter()
        .map(|proof| EquivocationRow {
            author: text_of(proof, "author"),
            seq: text_of(proof, "seq"),
            detail: serde_json::to_string(proof)
                .unwrap_or_default()
                .chars()
                .take(400)
                .collect(),
        })
        .collect();
    let peers = console.node.peers.snapshot();
    let signing_key = console.node.ingest.signing_key();
    render(
        StatusCode::OK,
        &FederationPage {
            layout: console.layout(session.as_ref()),
            authority: trust.root(&signing_key).to_did_key(),
            peer_id: peers.peer_id.unwrap_or_else(|| "—".to_owned()),
            listen_addrs: peers.listen_addrs,
            connected: peers.connected,
            feeds,
            entry_count,
            equivocations,
            checkpoint_equivocations,
        },
    )
}

/// An empty credential check page.
fn check_page(console: &ConsoleState, headers: &HeaderMap, form_csrf: String) -> CheckPage {
    let session = console.sessions.current(headers);
    CheckPage {
        layout: console.layout(session.as_ref()),
        form_csrf,
        document: String::new(),
        checked: false,
        kind: String::new(),
        passed: false,
        message: None,
        checks: Vec::new(),
        not_checked: Vec::new(),
    }
}

/// `GET /check`: the credential check form.
pub(super) async fn check_form(
    State(console): State<ConsoleState>,
    headers: HeaderMap,
) -> Response {
    let (csrf, set_cookie) = public_csrf(&console, &headers);
    let page = check_page(&console, &headers, csrf);
    with_cookie(render(StatusCode::OK, &page), set_cookie)
}

/// The credential check's form.
#[derive(Debug, Deserialize)]
pub(super) struct CheckForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    credential: String,
}

/// Rows of verdict reasons.
fn check_rows(reasons: &[VerdictReason]) -> Vec<CheckRow> {
    reasons
        .iter()
        .map(|reason| CheckRow {
            code: reason.code.clone(),
            ok: reason.ok,
            message: visible(&reason.message),
        })
        .collect()
}

/// `POST /check`: runs the offline checks on a pasted credential, or on a holder's notice and
/// its credential, and shows each with its reason.
pub(super) async fn check(
    State(console): State<ConsoleState>,
    headers: HeaderMap,
    form: Result<Form<CheckForm>, FormRejection>,
) -> Response {
    let session = console.sessions.current(&headers);
    let form = match form {
        Ok(Form(form)) => form,
        Err(rejection) => {
            return error_page(
                &console,
                session.as_ref(),
                rejection.status(),
                rejection.body_text(),
            );
        }
    };
    if !console.sessions.public_csrf_ok(&headers, &form.csrf) {
        return error_page(
            &console,
            session.as_ref(),
            StatusCode::FORBIDDEN,
            "the form's csrf token is missing or wrong; reload the page and submit again",
        );
    }
    let (csrf, set_cookie) = public_csrf(&console, &headers);
    let mut page = check_page(&console, &headers, csrf);
    if form.credential.len() > MAX_CHECK_BYTES {
        page.message = Some(format!(
            "the credential is larger than {} KiB",
            MAX_CHECK_BYTES / 1024
        ));
        return with_cookie(render(StatusCode::PAYLOAD_TOO_LARGE, &page), set_cookie);
    }
    page.document = form.credential.clone();
    let value = match proto_types::jcs::parse(form.credential.trim().as_bytes()) {
        Ok(value @ Value::Object(_)) => value,
        Ok(_) => {
            page.message = Some("a credential is a JSON object".to_owned());
            return with_cookie(render(StatusCode::UNPROCESSABLE_ENTITY, &page), set_cookie);
        }
        Err(error) => {
            page.message = Some(format!("invalid JSON: {error}"));
            return with_cookie(render(StatusCode::UNPROCESSABLE_ENTITY, &page), set_cookie);
        }
    };
    let policy = console.node.config.marketplace.as_ref();
    let max_age_hours = policy.map_or_else(crate::config::default_notice_max_age_hours, |p| {
        p.notice_max_age_hours
    });
    let max_skew = policy.map_or_else(crate::config::default_notice_max_skew_seconds, |p| {
        p.notice_max_skew_seconds
    });
    let now = crate::clock::now();
    let trust = console.node.ingest.trust();
    // A holder's notice carries its credential; anything else is checked as a credential.
    let reasons = if value.get("credential").is_some() && value.get("listings").is_some() {
        match HolderNotice::decode(&value) {
            Ok(notice) => {
                page.kind = "notice".to_owned();
                page.not_checked = NOT_CHECKED_NOTICE.to_vec();
                crate::claims::offline_checks(
                    &value,
                    &notice,
                    Some(trust),
                    &now,
                    max_age_hours,
                    max_skew,
                )
                .0
            }
            Err(error) => {
                page.message = Some(format!("not a notice: {error}"));
                return with_cookie(render(StatusCode::UNPROCESSABLE_ENTITY, &page), set_cookie);
            }
        }
    } else {
        page.kind = "credential".to_owned();
        page.not_checked = NOT_CHECKED_CREDENTIAL.to_vec();
        crate::claims::credential_checks(&value, Some(trust), &now, max_skew).0
    };
    page.checked = true;
    page.passed = reasons.iter().all(|reason| reason.ok);
    page.checks = check_rows(&reasons);
    with_cookie(render(StatusCode::OK, &page), set_cookie)
}

/// An empty screening page.
fn screen_page(console: &ConsoleState, headers: &HeaderMap, form_csrf: String) -> ScreenPage {
    let session = console.sessions.current(headers);
    ScreenPage {
        layout: console.layout(session.as_ref()),
        form_csrf,
        titles: String::new(),
        class: String::new(),
        screened: false,
        message: None,
        results: Vec::new(),
        flagged: 0,
    }
}

/// `GET /screen`: the screening form.
pub(super) async fn screen_form(
    State(console): State<ConsoleState>,
    headers: HeaderMap,
) -> Response {
    let (csrf, set_cookie) = public_csrf(&console, &headers);
    let page = screen_page(&console, &headers, csrf);
    with_cookie(render(StatusCode::OK, &page), set_cookie)
}

/// The screening form.
#[derive(Debug, Deserialize)]
pub(super) struct ScreenForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    titles: String,
    #[serde(default)]
    class: String,
}

/// `POST /screen`: screens pasted titles with the code of `POST /v1/screen`.
pub(super) async fn screen(
    State(console): State<ConsoleState>,
    headers: HeaderMap,
    form: Result<Form<ScreenForm>, FormRejection>,
) -> Response {
    let session = console.sessions.current(&headers);
    let form = match form {
        Ok(Form(form)) => form,
        Err(rejection) => {
            return error_page(
                &console,
                session.as_ref(),
                rejection.status(),
                rejection.body_text(),
            );
        }
    };
    if !console.sessions.public_csrf_ok(&headers, &form.csrf) {
        return error_page(
            &console,
            session.as_ref(),
            StatusCode::FORBIDDEN,
            "the form's csrf token is missing or wrong; reload the page and submit again",
        );
    }
    let (csrf, set_cookie) = public_csrf(&console, &headers);
    let mut page = screen_page(&console, &headers, csrf);
    page.titles = form.titles.clone();
    page.class = form.class.clone();
    let refuse = |mut page: ScreenPage, message: String| {
        page.message = Some(message);
        with_cookie(
            render(StatusCode::UNPROCESSABLE_ENTITY, &page),
            set_cookie.clone(),
        )
    };
    let class = match given(&form.class).map(str::parse::<u8>) {
        None => None,
        Some(Ok(class)) if (1..=45).contains(&class) => Some(class),
        Some(_) => return refuse(page, "class: a Nice class, 1 to 45".to_owned()),
    };
    let lines: Vec<(usize, &str)> = form
        .titles
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(number, line)| (number + 1, line.trim()))
        .collect();
    if lines.is_empty() {
        return refuse(page, "paste at least one title".to_owned());
    }
    if lines.len() > MAX_SCREEN_LINES {
        return refuse(page, format!("at most {MAX_SCREEN_LINES} titles at once"));
    }
    if let Some((number, _)) = lines
        .iter()
        .find(|(_, line)| line.chars().count() > MAX_TITLE_CHARS)
    {
        return refuse(
            page,
            format!("line {number}: a title has at most {MAX_TITLE_CHARS} characters"),
        );
    }
    let listings: Vec<Listing> = lines
        .iter()
        .map(|(number, title)| Listing {
            id: format!("line-{number}"),
            title: (*title).to_owned(),
            description: None,
            class,
            jurisdictions: None,
        })
        .collect();
    let results = match screen_listings(&console.node, listings, DEFAULT_LIMIT).await {
        Ok(results) => results,
        Err(error) => {
            return with_cookie(
                error_page(
                    &console,
                    session.as_ref(),
                    error.status(),
                    error.message().to_owned(),
                ),
                set_cookie,
            );
        }
    };
    page.results = lines
        .iter()
        .zip(results)
        .map(|((number, title), result)| ScreenRow {
            line: *number,
            title: visible(title),
            matches: result
                .matches
                .iter()
                .map(|found| MatchRow {
                    right_id: found.right_id.clone(),
                    mark: visible(&found.mark),
                    score: format!("{:.2}", found.score),
                    how: found.how.join(", "),
                    liveness: found.liveness.to_owned(),
                    jurisdiction: found.jurisdiction.clone(),
                })
                .collect(),
            indicators: if result.indicators.is_empty() {
                "—".to_owned()
            } else {
                result.indicators.join(", ")
            },
        })
        .collect();
    page.flagged = page
        .results
        .iter()
        .filter(|row| !row.matches.is_empty())
        .count();
    page.screened = true;
    with_cookie(render(StatusCode::OK, &page), set_cookie)
}
