//! The view structs of the console's templates (`node/templates/console/`): plain, already
//! formatted strings and lists, so templates hold no logic beyond loops and conditions. Every
//! value is HTML-escaped by askama when rendered.

use askama::Template;

/// The frame of every page.
pub(crate) struct Layout {
    /// The node's authority: its name in the trust store, or its did:key.
    pub node_name: String,
    /// Whether an operator session is open (the header shows the sign-out form).
    pub signed_in: bool,
    /// The session's CSRF token (empty when signed out).
    pub csrf: String,
    /// Whether this node is a marketplace (the notice queue exists).
    pub is_marketplace: bool,
}

/// One check with its outcome and reason.
pub(crate) struct CheckRow {
    pub code: String,
    pub ok: bool,
    pub message: String,
}

/// An error.
#[derive(Template)]
#[template(path = "console/error.html")]
pub(crate) struct ErrorPage {
    pub layout: Layout,
    pub status: u16,
    pub title: String,
    pub message: String,
}

/// One right in search results.
pub(crate) struct RightRow {
    pub right_id: String,
    pub mark: String,
    pub jurisdiction: String,
    pub classes: String,
    pub holder: String,
    pub status: String,
    pub liveness: String,
}

/// `/` and `/search`.
#[derive(Template)]
#[template(path = "console/search.html")]
pub(crate) struct SearchPage {
    pub layout: Layout,
    pub mark: String,
    pub class: String,
    pub jurisdiction: String,
    pub holder: String,
    pub searched: bool,
    pub message: Option<String>,
    pub rows: Vec<RightRow>,
    pub next_href: Option<String>,
}

/// One entry of a right's history.
pub(crate) struct HistoryRow {
    pub entry_id: String,
    pub seq: String,
    pub change: String,
    pub effective_date: String,
    pub timestamp: String,
}

/// `/rights/{right_id}`.
#[derive(Template)]
#[template(path = "console/right.html")]
pub(crate) struct RightPage {
    pub layout: Layout,
    pub right_id: String,
    pub right_type: String,
    pub jurisdiction: String,
    pub number: String,
    pub mark: String,
    pub classes: String,
    pub holder_name: String,
    pub holder_country: String,
    pub holder_key: String,
    pub filing_date: String,
    pub registration_date: String,
    pub expiry_date: String,
    pub status: String,
    pub liveness: String,
    pub liveness_entry: String,
    pub registered_by: String,
    pub registered_by_trusted: bool,
    pub as_of: String,
    pub history: Vec<HistoryRow>,
}

/// One feed this node holds.
pub(crate) struct FeedRow {
    pub name: String,
    pub role: String,
    pub author: String,
    pub seq: u64,
    pub head: String,
}

/// One equivocation proof.
pub(crate) struct EquivocationRow {
    pub author: String,
    pub seq: String,
    pub detail: String,
}

/// `/federation`.
#[derive(Template)]
#[template(path = "console/federation.html")]
pub(crate) struct FederationPage {
    pub layout: Layout,
    pub authority: String,
    pub peer_id: String,
    pub listen_addrs: Vec<String>,
    pub connected: Vec<String>,
    pub feeds: Vec<FeedRow>,
    pub entry_count: u64,
    pub equivocations: Vec<EquivocationRow>,
    pub checkpoint_equivocations: usize,
}

/// `/check`.
#[derive(Template)]
#[template(path = "console/check.html")]
pub(crate) struct CheckPage {
    pub layout: Layout,
    pub form_csrf: String,
    pub document: String,
    pub checked: bool,
    pub kind: String,
    pub passed: bool,
    pub message: Option<String>,
    pub checks: Vec<CheckRow>,
    pub not_checked: Vec<&'static str>,
}

/// One right a listing title matched.
pub(crate) struct MatchRow {
    pub right_id: String,
    pub mark: String,
    pub score: String,
    pub how: String,
    pub liveness: String,
    pub jurisdiction: String,
}

/// One screened title.
pub(crate) struct ScreenRow {
    pub line: usize,
    pub title: String,
    pub matches: Vec<MatchRow>,
    pub indicators: String,
}

/// `/screen`.
#[derive(Template)]
#[template(path = "console/screen.html")]
pub(crate) struct ScreenPage {
    pub layout: Layout,
    pub form_csrf: String,
    pub titles: String,
    pub class: String,
    pub screened: bool,
    pub message: Option<String>,
    pub results: Vec<ScreenRow>,
    pub flagged: usize,
}

/// `/operator/sign-in`.
#[derive(Template)]
#[template(path = "console/sign_in.html")]
pub(crate) struct SignInPage {
    pub layout: Layout,
    pub form_csrf: String,
    pub message: Option<String>,
}

/// `/operator`.
#[derive(Template)]
#[template(path = "console/operator.html")]
pub(crate) struct OperatorHome {
    pub layout: Layout,
}

/// A notice awaiting a decision.
pub(crate) struct NoticeRow {
    pub id: String,
    pub right_id: String,
    pub holder: String,
    pub listings: String,
    pub reason: String,
    pub created: String,
    pub accepted: bool,
    pub checks: Vec<CheckRow>,
}

/// A notice with its decision.
pub(crate) struct DecidedRow {
    pub notice_id: String,
    pub right_id: String,
    pub decision_id: String,
    pub outcome: String,
    pub reason: String,
}

/// `/operator/notices`.
#[derive(Template)]
#[template(path = "console/notices.html")]
pub(crate) struct NoticesPage {
    pub layout: Layout,
    pub recorded: Option<String>,
    pub message: Option<String>,
    pub pending: Vec<NoticeRow>,
    pub decided: Vec<DecidedRow>,
    pub window: usize,
}

/// `/operator/register`: the form's values are kept when it is shown again with an error.
#[derive(Template)]
#[template(path = "console/register.html")]
pub(crate) struct RegisterPage {
    pub layout: Layout,
    pub message: Option<String>,
    pub recorded: Option<String>,
    pub right_type: String,
    pub jurisdiction: String,
    pub number: String,
    pub mark_text: String,
    pub nice_classes: String,
    pub holder_name: String,
    pub holder_country: String,
    pub holder_key: String,
    pub filing_date: String,
    pub registration_date: String,
    pub expiry_date: String,
}

/// `/operator/status`.
#[derive(Template)]
#[template(path = "console/status.html")]
pub(crate) struct StatusPage {
    pub layout: Layout,
    pub message: Option<String>,
    pub recorded: Option<String>,
    pub right_id: String,
    pub change: String,
    pub effective_date: String,
    pub new_expiry_date: String,
    pub new_holder_name: String,
    pub new_holder_country: String,
    pub new_holder_key: String,
    pub reason: String,
}

/// `text` with every bidirectional formatting character (the embeddings, overrides and
/// isolates of Unicode's bidi algorithm, and the directional marks) shown as its code point in
/// brackets (`[U+202E]` for a right-to-left override): user
/// data cannot reorder what the page shows around it (a right-to-left override in a mark would
/// otherwise make `gpj.exe` read `exe.jpg`). HTML escaping is askama's.
pub(crate) fn visible(text: &str) -> String {
    let bidi = |c: char| {
        matches!(
            c,
            '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
        )
    };
    if !text.chars().any(bidi) {
        return text.to_owned();
    }
    text.chars()
        .map(|c| {
            if bidi(c) {
                format!("[U+{:04X}]", u32::from(c))
            } else {
                c.to_string()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::visible;

    #[test]
    fn console_shows_bidi_controls_instead_of_obeying_them() {
        assert_eq!(visible("abc\u{202E}gpj.exe"), "abc[U+202E]gpj.exe");
        assert_eq!(visible("Lumière"), "Lumière");
    }
}
