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
    /// How the mark matched a mark search (empty for other searches).
    pub matched: &'static str,
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
    /// The first page's total ("12 rights found", "At least 500 rights found").
    pub total: Option<String>,
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
    /// An operator is signed in and this office registered the right: the page links to
    /// correcting it, recording a status change and issuing a credential.
    pub office_actions: bool,
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

/// A decision or a counter-notice recorded under a notice.
pub(crate) struct DecidedRow {
    pub notice_id: String,
    pub right_id: String,
    /// The decision or counter-notice entry.
    pub entry_id: String,
    /// `decision` or `counter-notice`.
    pub kind: &'static str,
    /// The decision's outcome, or `contested` for a counter-notice.
    pub outcome: String,
    /// The decision's reason, or the seller's statement.
    pub reason: String,
    pub seller_ref: String,
    /// A removal's counter-notice deadline.
    pub deadline: String,
    /// The latest removal of its notice, not answered yet: the counter-notice form is offered.
    pub counterable: bool,
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
    /// The window's first and last seq of the marketplace's feed (0, 0 when it is empty), and
    /// the feed's head.
    pub from: u64,
    pub to: u64,
    pub head: u64,
    /// The window before this one, when there is one.
    pub older_href: Option<String>,
    /// The latest window, when this is not it.
    pub newer_href: Option<String>,
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
    /// The form starts from a right's state: registering it again corrects it.
    pub correcting: bool,
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

/// A removal contested by a counter-notice.
pub(crate) struct RestorationRow {
    pub notice_id: String,
    pub right_id: String,
    pub listings: String,
    pub seller_ref: String,
    pub deadline: String,
    /// The deadline has passed: the sweep restores it.
    pub due: bool,
}

/// `/operator/restorations`.
#[derive(Template)]
#[template(path = "console/restorations.html")]
pub(crate) struct RestorationsPage {
    pub layout: Layout,
    pub rows: Vec<RestorationRow>,
    pub due: usize,
    pub today: String,
    pub sweep_seconds: u64,
}

/// One notice of a holder and what became of it.
pub(crate) struct FateRow {
    pub notice_id: String,
    pub right_id: String,
    pub recorded_at: String,
    pub fate: &'static str,
}

/// A holder's accuracy against the good-faith policy.
pub(crate) struct AccuracyView {
    pub holder: String,
    pub window_days: u32,
    pub filed: u64,
    pub removed: u64,
    pub rejected: u64,
    pub reversed: u64,
    pub pending: u64,
    pub success: String,
    pub reversal: String,
    pub meets: bool,
    pub reasons: Vec<String>,
    pub notices: Vec<FateRow>,
}

/// One strike of a seller.
pub(crate) struct StrikeRow {
    pub decision_id: String,
    pub notice_id: String,
    pub points: u32,
    pub reason: String,
    pub notice_reason: String,
    pub right_id: String,
    pub recorded_at: String,
    pub expires_at: String,
    pub active: bool,
}

/// A seller's strikes and sanction tier.
pub(crate) struct StrikesView {
    pub seller_ref: String,
    pub active_points: u32,
    pub sanction: String,
    pub explanation: String,
    pub expiry_days: u32,
    pub strikes: Vec<StrikeRow>,
}

/// `/operator/accountability`.
#[derive(Template)]
#[template(path = "console/accountability.html")]
pub(crate) struct AccountabilityPage {
    pub layout: Layout,
    pub holder: String,
    pub seller_ref: String,
    pub message: Option<String>,
    pub accuracy: Option<AccuracyView>,
    pub strikes: Option<StrikesView>,
}

/// The name of a serde enum value (`removed`, `counterfeit`, `trademark`), or empty.
pub(crate) fn name_of(value: impl serde::Serialize) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|value| value.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// `/operator/credentials`: the form's values are kept when it is shown again with an error.
#[derive(Template)]
#[template(path = "console/credentials.html")]
pub(crate) struct CredentialPage {
    pub layout: Layout,
    pub message: Option<String>,
    pub right_id: String,
    pub holder: String,
    pub valid_until: String,
    /// Whether the page starts from a right (its logged credentials are listed).
    pub listed: bool,
    pub logged: Vec<LoggedRow>,
    pub most_listed: usize,
    /// Every credential reason code, for the status change forms.
    pub reason_codes: Vec<String>,
    /// The status change entry just recorded.
    pub recorded: Option<String>,
}

/// A credential logged for a right, with the status changes this office may make to it.
pub(crate) struct LoggedRow {
    pub credential_id: String,
    pub subject: String,
    pub valid_from: String,
    pub valid_until: String,
    pub logged_at: String,
    pub status: String,
    /// The reason code of the change that set the status (empty when none did).
    pub reason_code: String,
    pub effective: bool,
    /// `revoke`, `suspend`, `reinstate`: what may come next (empty when nothing may).
    pub changes: Vec<String>,
}

/// One authority this node trusts.
pub(crate) struct TrustRow {
    pub did: String,
    pub name: String,
    pub role: String,
    pub jurisdictions: String,
    /// `trust store` or `endorsed`.
    pub source: &'static str,
    pub split_view: bool,
    /// This node's own authority.
    pub own: bool,
    /// Listed in the trust store and not this node: the operator may remove it.
    pub removable: bool,
}

/// `/operator/trust`.
#[derive(Template)]
#[template(path = "console/trust.html")]
pub(crate) struct TrustPage {
    pub layout: Layout,
    pub recorded: Option<String>,
    /// An endorsement entry just recorded.
    pub endorsed: Option<String>,
    /// This node's authority is an office of its own trust store: its endorsements count.
    pub can_endorse: bool,
    pub message: Option<String>,
    pub rows: Vec<TrustRow>,
    pub endorsement_threshold: usize,
    /// This node's authority (its original key).
    pub own_did: String,
    /// The key the node signs with now.
    pub signing_key: String,
    /// The signing key has rotated away (the node must be given its new key).
    pub rotated: bool,
}

/// One recent import run.
pub(crate) struct ImportRow {
    pub file: String,
    pub id: String,
    pub state: &'static str,
    pub started: String,
    pub last: String,
    pub batches: u64,
    pub items: u64,
    pub written: u64,
    pub unchanged: u64,
    pub skipped: u64,
    pub refused: u64,
    /// Of the file read, or a dash.
    pub progress: String,
    /// The same, 0–100, for the progress bar.
    pub percent: u32,
    /// Records per second.
    pub rate: String,
    pub eta: String,
}

/// `/operator/imports`.
#[derive(Template)]
#[template(path = "console/imports.html")]
pub(crate) struct ImportsPage {
    pub layout: Layout,
    pub rows: Vec<ImportRow>,
    pub max_runs: usize,
}

/// `/entries/{entry_id}/proof`: an entry's inclusion proof and its checks.
#[derive(Template)]
#[template(path = "console/proof.html")]
pub(crate) struct ProofPage {
    pub layout: Layout,
    pub entry_id: String,
    pub author: String,
    /// The author's name in the trust store (empty when not trusted).
    pub author_name: String,
    pub seq: u64,
    pub kind: String,
    pub origin: String,
    pub size: u64,
    pub index: u64,
    /// The checkpoint's root hash, base64 as in the checkpoint note.
    pub root: String,
    pub valid: bool,
    /// Whether the node has a witness policy (the `witnesses` check ran).
    pub has_policy: bool,
    pub checks: Vec<CheckRow>,
    /// The C2SP tlog-proof text, as `GET /v1/entries/{id}/proof` serves it.
    pub proof_text: String,
}
