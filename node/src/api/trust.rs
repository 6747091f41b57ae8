//! The trust routes (protocol.md §11.4, §13): `GET /v1/trust` shows whom the node trusts and
//! why; the operator changes the trust store while the node runs (`POST /v1/trust`,
//! `DELETE /v1/trust/{did}`, `PUT /v1/trust/{did}/jurisdictions`), each change written
//! atomically to the data directory before it is answered ([`crate::trust::Trust::change_store`]);
//! and an office endorses another authority (`POST /v1/trust/endorsements`), which its writer
//! records as an `authority` v2 entry.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use proto_types::body::{AuthorityRole, Jurisdiction};
use proto_types::entry::EntryId;
use proto_types::keys::PublicKey;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::error::{ApiError, ApiResult};
use super::extract::{json_body, request};
use super::state::NodeState;
use crate::admission::{AdmittedAuthority, EndorsementRecord};
use crate::trust::{
    TRUST_FILE, TrustChangeError, TrustError, TrustSource, TrustStore, TrustedAuthority,
};

/// Why the node trusts an authority.
#[derive(Debug, Clone, Copy, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum AuthoritySource {
    /// Its own trust store lists it.
    TrustStore,
    /// Offices of its trust store endorse it (§13.3).
    Endorsement,
}

/// One endorsement counted for an admitted authority.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct EndorsementView {
    /// The `authority` v2 entry.
    entry_id: EntryId,
    /// The endorsing office (its original key, as the trust store lists it).
    #[schemars(with = "PublicKey")]
    endorser: String,
    /// The key that signed the entry (the endorser's, or a key it rotated to).
    #[schemars(with = "PublicKey")]
    author: String,
    /// The entry's seq in the author's feed.
    seq: u64,
}

/// The endorsements behind one admitted jurisdiction (none for a marketplace).
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct JustificationView {
    /// The jurisdiction admitted; absent for an authority admitted as a marketplace.
    #[serde(skip_serializing_if = "Option::is_none")]
    jurisdiction: Option<Jurisdiction>,
    /// The current endorsements that count, at least the threshold.
    endorsements: Vec<EndorsementView>,
}

/// One trusted authority in `GET /v1/trust`.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct TrustedView {
    /// The authority's key (original key; rotated-to keys speak for it).
    #[schemars(with = "PublicKey")]
    pub(crate) did: String,
    /// Its name.
    pub(crate) name: String,
    /// Office or marketplace.
    pub(crate) role: AuthorityRole,
    /// For an office, the jurisdictions it is trusted for.
    pub(crate) jurisdictions: Vec<Jurisdiction>,
    /// Why it is trusted.
    pub(crate) source: AuthoritySource,
    /// For an authority admitted by endorsement: per jurisdiction, the entries that justify it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) justification: Option<Vec<JustificationView>>,
    /// Present and true when a split-view proof against the authority (one of its keys) is
    /// stored: it signed two checkpoints that contradict each other (protocol §14.4).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) split_view: bool,
}

/// `GET /v1/trust`.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct TrustResponse {
    /// Where the trust store was read from at start, or `data_directory` once it was changed
    /// while the node ran.
    pub(crate) store_source: TrustSource,
    /// `[trust] endorsement_threshold`: 0 when admission by endorsement is off.
    pub(crate) endorsement_threshold: usize,
    /// Every authority the node trusts: the store's, then those admitted by endorsement, each
    /// ordered by key.
    pub(crate) authorities: Vec<TrustedView>,
}

/// `POST /v1/trust`, `PUT /v1/trust/{did}/jurisdictions`, `DELETE /v1/trust/{did}`: the
/// authority as the store lists it now (as it was, for a removal).
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct TrustChangeResponse {
    /// What was done: `added`, `updated` or `removed`.
    pub(crate) change: &'static str,
    /// The authority.
    pub(crate) authority: TrustedView,
    /// How many authorities the store lists now.
    pub(crate) store_size: usize,
}

impl JsonSchema for TrustSource {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        std::borrow::Cow::Borrowed("TrustSource")
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "enum": ["configured_file", "data_directory"],
            "description": "Where the trust store in force was read from: the configured `trust_store` file, or the node's copy in its data directory (written by changes made while it ran).",
        })
    }
}

/// The body of `POST /v1/trust`: an authority as a trust-store file lists it.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AddRequest {
    /// The authority's key.
    #[schemars(with = "PublicKey")]
    pub(crate) did: String,
    /// Its name: one line, 1 to 200 characters, not only whitespace.
    #[schemars(length(min = 1, max = crate::trust::MAX_TRUSTED_NAME_CHARS), regex(pattern = proto_types::schema::SINGLE_LINE))]
    pub(crate) name: String,
    /// Office or marketplace.
    pub(crate) role: AuthorityRole,
    /// For an office, the jurisdictions it may register and attest (at least one); distinct, at
    /// most 64.
    #[serde(default)]
    #[schemars(with = "Vec<Jurisdiction>", length(max = crate::trust::MAX_TRUSTED_JURISDICTIONS))]
    pub(crate) jurisdictions: Vec<String>,
}

/// The body of `PUT /v1/trust/{did}/jurisdictions`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct JurisdictionsRequest {
    /// The jurisdictions, replacing the listed ones: distinct, at most 64, at least one for an
    /// office.
    #[schemars(with = "Vec<Jurisdiction>", length(max = crate::trust::MAX_TRUSTED_JURISDICTIONS))]
    pub(crate) jurisdictions: Vec<String>,
}

fn view(authority: &TrustedAuthority, admitted: Option<&AdmittedAuthority>) -> TrustedView {
    TrustedView {
        did: authority.did.to_did_key(),
        name: authority.name.clone(),
        role: authority.role,
        jurisdictions: authority.jurisdictions.clone(),
        source: match admitted {
            Some(_) => AuthoritySource::Endorsement,
            None => AuthoritySource::TrustStore,
        },
        justification: admitted.map(|admitted| {
            admitted
                .justification
                .iter()
                .map(|item| JustificationView {
                    jurisdiction: item.jurisdiction.clone(),
                    endorsements: item.endorsements.iter().map(endorsement_view).collect(),
                })
                .collect()
        }),
        split_view: false,
    }
}

fn endorsement_view(record: &EndorsementRecord) -> EndorsementView {
    EndorsementView {
        entry_id: record.entry_id,
        endorser: record.endorser.to_did_key(),
        author: record.author.to_did_key(),
        seq: record.seq,
    }
}

/// Every authority the node trusts, with why.
pub(super) async fn list_trust(State(state): State<NodeState>) -> ApiResult {
    Ok(Json(trust_view(&state).await?).into_response())
}

/// Every authority the node trusts, with why: the one path of `GET /v1/trust` and the
/// console's trust page.
pub(crate) async fn trust_view(state: &NodeState) -> ApiResult<TrustResponse> {
    let trust = state.ingest.trust();
    let view_now = trust.view();
    let mut authorities: Vec<TrustedView> = view_now
        .store
        .sorted()
        .iter()
        .map(|authority| view(authority, None))
        .collect();
    authorities.extend(
        view_now
            .admitted
            .sorted()
            .into_iter()
            .map(|admitted| view(&admitted.authority, Some(admitted))),
    );
    let flagged = state
        .reader()
        .run(|store| store.split_view_authors())
        .await?;
    for authority in &mut authorities {
        authority.split_view = flagged
            .iter()
            .any(|key| trust.root(key).to_did_key() == authority.did);
    }
    Ok(TrustResponse {
        store_source: view_now.source,
        endorsement_threshold: trust.endorsement_threshold(),
        authorities,
    })
}

/// A `did:key` from the path, or 400 `bad_did`.
fn path_did(text: &str) -> ApiResult<PublicKey> {
    PublicKey::from_did_key(text)
        .map_err(|error| ApiError::bad_request("bad_did", error.to_string()))
}

fn jurisdictions(list: &[String]) -> ApiResult<Vec<Jurisdiction>> {
    list.iter()
        .map(|code| {
            Jurisdiction::parse(code)
                .map_err(|error| ApiError::invalid_field(format!("jurisdictions: {error}")))
        })
        .collect()
}

impl From<TrustChangeError> for ApiError {
    fn from(error: TrustChangeError) -> Self {
        match error {
            TrustChangeError::Invalid(TrustError::Duplicate(_)) => {
                Self::new(StatusCode::CONFLICT, "duplicate", error.to_string())
            }
            TrustChangeError::Invalid(TrustError::NotListed(_)) => {
                Self::not_found(error.to_string())
            }
            TrustChangeError::Invalid(_) => Self::invalid_field(error.to_string()),
            TrustChangeError::Persist(_) => Self::internal(error),
        }
    }
}

/// Applies `change` to the store: persisted to the data directory (off the executor) before
/// it takes effect and before the answer.
async fn change_store(
    state: &NodeState,
    change: impl FnOnce(&TrustStore) -> Result<TrustStore, TrustError> + Send + 'static,
) -> ApiResult<std::sync::Arc<TrustStore>> {
    let ingest = state.ingest.clone();
    let path = state.config.data_dir.join(TRUST_FILE);
    let changed = tokio::task::spawn_blocking(move || {
        ingest.trust().change_store(change, |store| {
            let text = store.to_toml_checked()?;
            crate::files::write_file_atomically(&path, text.as_bytes(), 0o644)
        })
    })
    .await
    .map_err(ApiError::internal)??;
    Ok(changed)
}

fn changed(
    change: &'static str,
    authority: &TrustedAuthority,
    store: &TrustStore,
) -> TrustChangeResponse {
    TrustChangeResponse {
        change,
        authority: view(authority, None),
        store_size: store.len(),
    }
}

/// Adds an authority to the store (201), or 409 `duplicate` when its key is listed or speaks
/// for a listed authority through a key rotation.
pub(super) async fn add_trusted(
    State(state): State<NodeState>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult {
    let request: AddRequest = request(json_body(body)?)?;
    let added = add_authority(&state, request).await?;
    Ok((StatusCode::CREATED, Json(added)).into_response())
}

/// Adds the authority `request` describes to the trust store: the one path of `POST /v1/trust`
/// and the console's trust page.
pub(crate) async fn add_authority(
    state: &NodeState,
    request: AddRequest,
) -> ApiResult<TrustChangeResponse> {
    let did = PublicKey::from_did_key(&request.did)
        .map_err(|error| ApiError::invalid_field(format!("did: {error}")))?;
    let authority = TrustedAuthority {
        did,
        name: request.name,
        role: request.role,
        jurisdictions: jurisdictions(&request.jurisdictions)?,
    };
    authority
        .validate()
        .map_err(|error| ApiError::invalid_field(error.to_string()))?;
    let trust = state.ingest.trust();
    let root = trust.root(&did);
    if root != did {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "duplicate",
            format!(
                "{did} speaks for {root} through a key rotation; that authority's entry governs it"
            ),
        ));
    }
    if trust.rotated_at(&did).is_some() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "duplicate",
            format!("{did} has rotated away; its authority's entry governs it"),
        ));
    }
    let added = authority.clone();
    let store = change_store(state, move |store| store.with_added(added)).await?;
    tracing::info!(authority = %did, name = %authority.name, "trust store: authority added");
    Ok(changed("added", &authority, &store))
}

/// Removes an authority from the store; 404 when it is not listed.
pub(super) async fn remove_trusted(
    State(state): State<NodeState>,
    Path(did): Path<String>,
) -> ApiResult {
    Ok(Json(remove_authority(&state, &did).await?).into_response())
}

/// Removes the authority `did` from the trust store: the one path of `DELETE /v1/trust/{did}`
/// and the console's trust page.
pub(crate) async fn remove_authority(
    state: &NodeState,
    did: &str,
) -> ApiResult<TrustChangeResponse> {
    let did = path_did(did)?;
    let before = state
        .ingest
        .trust()
        .base()
        .store()
        .get(&did)
        .cloned()
        .ok_or_else(|| ApiError::not_found(format!("the trust store does not list {did}")))?;
    let store = change_store(state, move |store| store.with_removed(&did)).await?;
    tracing::info!(authority = %did, "trust store: authority removed");
    Ok(changed("removed", &before, &store))
}

/// Replaces the jurisdictions of a listed authority; 404 when it is not listed.
pub(super) async fn set_jurisdictions(
    State(state): State<NodeState>,
    Path(did): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult {
    let request: JurisdictionsRequest = request(json_body(body)?)?;
    Ok(Json(replace_jurisdictions(&state, &did, request).await?).into_response())
}

/// Replaces the jurisdictions of the listed authority `did`: the one path of
/// `PUT /v1/trust/{did}/jurisdictions` and the console's trust page.
pub(crate) async fn replace_jurisdictions(
    state: &NodeState,
    did: &str,
    request: JurisdictionsRequest,
) -> ApiResult<TrustChangeResponse> {
    let did = path_did(did)?;
    let list = jurisdictions(&request.jurisdictions)?;
    let store = change_store(state, move |store| store.with_jurisdictions(&did, list)).await?;
    let authority = store
        .get(&did)
        .cloned()
        .ok_or_else(|| ApiError::internal("a changed authority is missing from the store"))?;
    tracing::info!(authority = %did, jurisdictions = ?authority.jurisdictions, "trust store: jurisdictions replaced");
    Ok(changed("updated", &authority, &store))
}

/// The body of `POST /v1/trust/endorsements`: the `authority` v2 entry to write (§6.8.1).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct EndorsementRequest {
    /// The endorsed authority's key: not this node's authority.
    #[schemars(with = "PublicKey")]
    pub(crate) subject: String,
    /// The endorsed authority's name: one line, 1 to 200 characters, not only whitespace.
    #[schemars(length(min = 1, max = proto_types::body::MAX_AUTHORITY_NAME_CHARS), regex(pattern = proto_types::schema::SINGLE_LINE))]
    pub(crate) name: String,
    /// The role endorsed.
    pub(crate) role: AuthorityRole,
    /// For an office, the jurisdictions this office vouches for (at least one); distinct, at
    /// most 64.
    #[serde(default)]
    #[schemars(with = "Vec<Jurisdiction>", length(max = proto_types::body::MAX_AUTHORITY_JURISDICTIONS))]
    pub(crate) jurisdictions: Vec<String>,
    /// How to reach the endorsed authority: one line, at most 200 characters.
    #[schemars(length(min = 1, max = proto_types::body::MAX_CONTACT_CHARS), regex(pattern = proto_types::schema::SINGLE_LINE))]
    pub(crate) contact: Option<String>,
    /// `true` withdraws this office's endorsement of `subject` (leave it out otherwise).
    pub(crate) withdrawn: Option<bool>,
}

/// `POST /v1/trust/endorsements`.
#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct EndorsementResponse {
    /// The `authority` v2 entry written.
    entry_id: EntryId,
    /// Its seq in this node's feed.
    seq: u64,
    /// Why it changed nothing here, when it did not take effect on this node.
    #[serde(skip_serializing_if = "Option::is_none")]
    ineffective: Option<String>,
}

/// `POST /v1/trust/endorsements`: [`endorse_authority`], answered 201 with the entry.
pub(super) async fn endorse(
    State(state): State<NodeState>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult {
    let request: EndorsementRequest = request(json_body(body)?)?;
    match endorse_authority(&state, request).await? {
        crate::ingest::IngestOutcome::Stored {
            id,
            seq,
            ineffective,
            ..
        } => Ok((
            StatusCode::CREATED,
            Json(EndorsementResponse {
                entry_id: id,
                seq,
                ineffective,
            }),
        )
            .into_response()),
        other => Err(ApiError::internal(format!(
            "an endorsement was not stored: {other:?}"
        ))),
    }
}

/// Writes an `authority` v2 entry: this office endorses `subject`, or withdraws its
/// endorsement. 409 `not_an_office` when this node's authority is not an office of its own
/// trust store (no other node would count it either); 422 for a field that is not valid or a
/// subject that is this office. Shared by the JSON route and the console's trust page.
pub(crate) async fn endorse_authority(
    state: &NodeState,
    request: EndorsementRequest,
) -> ApiResult<crate::ingest::IngestOutcome> {
    let subject = PublicKey::from_did_key(&request.subject)
        .map_err(|error| ApiError::invalid_field(format!("subject: {error}")))?;
    let body = proto_types::body::AuthorityV1 {
        v: 2,
        subject: Some(subject),
        name: request.name,
        role: request.role,
        jurisdictions: jurisdictions(&request.jurisdictions)?,
        contact: request.contact,
        withdrawn: request.withdrawn,
    };
    body.validate()
        .map_err(|error| ApiError::invalid_field(error.to_string()))?;
    let trust = state.ingest.trust();
    if !trust.is_endorser(&state.authority) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "not_an_office",
            "this node's authority is not an office of its own trust store; its endorsements would not count",
        ));
    }
    if subject == state.authority || trust.root(&subject) == trust.root(&state.authority) {
        return Err(ApiError::invalid_field(
            "subject: an office does not endorse itself or its own keys",
        ));
    }
    match state
        .ingest
        .append(proto_types::body::Body::Authority(body))
        .await?
    {
        stored @ crate::ingest::IngestOutcome::Stored { .. } => Ok(stored),
        other => Err(ApiError::internal(format!(
            "an endorsement was not stored: {other:?}"
        ))),
    }
}
