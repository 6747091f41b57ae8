//! Claims on a marketplace node: the verdict on a holder's notice, decisions, counter-notices,
//! seller references, and the accountability views (holder accuracy, seller strikes).
//!
//! A verdict lists every check with its outcome, never a bare boolean. The checks that need no
//! registry (signatures, proof, dates, policy) are in [`offline_checks`], shared with the
//! offline `rightsnet notice verify`; [`verdict`] adds the registry, key rotation, nonce and
//! policy checks. `docs/protocol.md` §6.5.4 lists every check normatively; keep them in step.

use hmac::{Hmac, Mac};
use proto_types::body::{
    DecisionOutcome, HolderNotice, Jurisdiction, NoticeV1, Verdict, VerdictReason,
};
use proto_types::claims::{self, VerifiedCredential};
use proto_types::entry::{Entry, EntryId};
use proto_types::keys::PublicKey;
use proto_types::timestamp::Timestamp;
use serde::Serialize;
use serde_json::Value;
use sha2::Sha256;

use crate::config::MarketplacePolicy;
use crate::rights::{Liveness, RightState};
use crate::storage::{ClaimIndex, StorageError, Store};
use crate::trust::Trust;

/// Most claim entries read for one accountability view.
pub const MAX_VIEW_ENTRIES: usize = 10_000;

fn reason(code: &str, ok: bool, message: impl Into<String>) -> VerdictReason {
    let mut message: String = message.into();
    if message.chars().count() > 500 {
        message = message.chars().take(497).collect::<String>() + "...";
    }
    VerdictReason {
        code: code.to_owned(),
        ok,
        message,
        entry_id: None,
    }
}

/// The checks a party without a registry can make: the notice's signature, the credential's
/// proof, that the credential is the holder's and for the notice's right, its validity dates,
/// the notice's age, and (given a trust store) whether the issuer is an office trusted for the
/// right's jurisdiction. Returns the reasons and the verified credential, if any.
pub fn offline_checks(
    notice_value: &Value,
    notice: &HolderNotice,
    trust: Option<&Trust>,
    now: &Timestamp,
    max_age_hours: u32,
    max_skew_seconds: u32,
) -> (Vec<VerdictReason>, Option<VerifiedCredential>) {
    let mut reasons = Vec::new();
    match claims::verify_notice(notice_value) {
        Ok(_) => reasons.push(reason(
            "notice_signature",
            true,
            "the notice is signed by the holder key it names",
        )),
        Err(error) => reasons.push(reason("notice_signature", false, error.to_string())),
    }
    let credential = match claims::read_credential(&notice.credential) {
        Err(error) => {
            reasons.push(reason("credential_shape", false, error.to_string()));
            None
        }
        Ok(_) => {
            reasons.push(reason(
                "credential_shape",
                true,
                "the credential is a VC Data Model 2.0 IPRightCredential",
            ));
            match claims::verify_credential(&notice.credential) {
                Ok(credential) => {
                    reasons.push(reason(
                        "credential_proof",
                        true,
                        format!(
                            "the credential's eddsa-jcs-2022 proof is valid and made by its issuer {}",
                            credential.issuer
                        ),
                    ));
                    Some(credential)
                }
                Err(error) => {
                    reasons.push(reason("credential_proof", false, error.to_string()));
                    None
                }
            }
        }
    };
    if let Some(credential) = &credential {
        let subject_ok = credential.subject == notice.holder;
        reasons.push(reason(
            "holder_key",
            subject_ok,
            if subject_ok {
                "the notice's holder key is the credential subject".to_owned()
            } else {
                format!(
                    "the notice is signed by {} but the credential was issued to {}",
                    notice.holder, credential.subject
                )
            },
        ));
        let right_ok = credential.right_id == notice.right_id;
        reasons.push(reason(
            "credential_right",
            right_ok,
            if right_ok {
                format!("the credential attests right {}", notice.right_id.as_str())
            } else {
                format!(
                    "the credential attests right {}, not {}",
                    credential.right_id.as_str(),
                    notice.right_id.as_str()
                )
            },
        ));
        reasons.push(validity(credential, now));
        reasons.push(proof_dates(credential, now, max_skew_seconds));
        if let Some(trust) = trust {
            let jurisdiction = notice.right_id.jurisdiction();
            let trusted = trust.office_for(&credential.issuer, jurisdiction);
            let name = trust.get(&credential.issuer).map_or_else(
                || credential.issuer.to_did_key(),
                |authority| authority.name,
            );
            reasons.push(reason(
                "issuer_trusted",
                trusted,
                if trusted {
                    format!(
                        "the issuer {name} is an office trusted for {}",
                        jurisdiction.as_str()
                    )
                } else {
                    format!(
                        "the issuer {name} is not an office this marketplace trusts for {}",
                        jurisdiction.as_str()
                    )
                },
            ));
        }
    }
    let age_millis = now.unix_millis() - notice.created.unix_millis();
    let max_age = i64::from(max_age_hours) * 3_600_000;
    let skew = i64::from(max_skew_seconds) * 1000;
    let fresh = age_millis <= max_age && age_millis >= -skew;
    reasons.push(reason(
        "notice_age",
        fresh,
        if fresh {
            format!("created {}", notice.created)
        } else if age_millis > max_age {
            format!(
                "the notice was created {} and is older than {max_age_hours} hours",
                notice.created
            )
        } else {
            format!(
                "the notice's creation time {} is in the future",
                notice.created
            )
        },
    ));
    (reasons, credential)
}

/// Milliseconds since the Unix epoch of an RFC 3339 date-time.
fn date_time_millis(text: &str) -> Result<i64, time::error::Parse> {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map(|instant| (instant.unix_timestamp_nanos() / 1_000_000) as i64)
}

/// The proof's own dates: `created` not later than now plus the tolerated skew, `expires` (when
/// present) later than now. Both were checked to be RFC 3339 date-times by the proof check.
fn proof_dates(
    credential: &VerifiedCredential,
    now: &Timestamp,
    skew_seconds: u32,
) -> VerdictReason {
    let now_millis = now.unix_millis();
    let skew = i64::from(skew_seconds) * 1000;
    let parse = |text: &Option<String>| text.as_deref().map(date_time_millis);
    match (
        parse(&credential.proof_created),
        parse(&credential.proof_expires),
    ) {
        (Some(Err(_)), _) => reason(
            "proof_dates",
            false,
            "the proof's created is not a date-time",
        ),
        (_, Some(Err(_))) => reason(
            "proof_dates",
            false,
            "the proof's expires is not a date-time",
        ),
        (Some(Ok(created)), _) if created > now_millis + skew => reason(
            "proof_dates",
            false,
            format!(
                "the proof was created in the future ({})",
                credential.proof_created.as_deref().unwrap_or("")
            ),
        ),
        (_, Some(Ok(expires))) if expires <= now_millis => reason(
            "proof_dates",
            false,
            format!(
                "the proof expired at {}",
                credential.proof_expires.as_deref().unwrap_or("")
            ),
        ),
        _ => reason(
            "proof_dates",
            true,
            "the proof was not created in the future and has not expired",
        ),
    }
}

fn validity(credential: &VerifiedCredential, now: &Timestamp) -> VerdictReason {
    let parse = |text: &Option<String>| text.as_deref().map(date_time_millis);
    let now_millis = now.unix_millis();
    match (
        parse(&credential.valid_from),
        parse(&credential.valid_until),
    ) {
        (Some(Err(_)), _) => reason("credential_validity", false, "validFrom is not a date-time"),
        (_, Some(Err(_))) => reason(
            "credential_validity",
            false,
            "validUntil is not a date-time",
        ),
        (Some(Ok(from)), _) if from > now_millis => reason(
            "credential_validity",
            false,
            "the credential is not valid yet (validFrom is in the future)",
        ),
        (_, Some(Ok(until))) if until < now_millis => reason(
            "credential_validity",
            false,
            format!(
                "the credential expired at {}",
                credential.valid_until.as_deref().unwrap_or("")
            ),
        ),
        _ => reason(
            "credential_validity",
            true,
            "the credential is within its validity period",
        ),
    }
}

/// Everything a marketplace's verdict needs besides the notice.
pub struct VerdictContext<'a> {
    /// The store (registry, nonces).
    pub store: &'a Store,
    /// The trust store with rotations.
    pub trust: &'a Trust,
    /// This marketplace's authority.
    pub marketplace: &'a PublicKey,
    /// Its policy.
    pub policy: &'a MarketplacePolicy,
    /// Now.
    pub now: Timestamp,
}

/// The verdict on a notice: every check, with the entry that decided it where one did.
pub fn verdict(
    notice_value: &Value,
    notice: &HolderNotice,
    context: &VerdictContext<'_>,
) -> Result<Verdict, StorageError> {
    let policy = context.policy;
    let mut reasons = Vec::new();
    let addressed = &notice.marketplace == context.marketplace;
    reasons.push(reason(
        "marketplace",
        addressed,
        if addressed {
            "the notice is addressed to this marketplace".to_owned()
        } else {
            format!(
                "the notice is addressed to {}, not to this marketplace",
                notice.marketplace
            )
        },
    ));
    let (offline, credential) = offline_checks(
        notice_value,
        notice,
        Some(context.trust),
        &context.now,
        policy.notice_max_age_hours,
        policy.notice_max_skew_seconds,
    );
    reasons.extend(offline);
    if let Some(credential) = &credential {
        reasons.push(rotation_reason(context, &credential.issuer)?);
    }

    let jurisdiction = notice.right_id.jurisdiction();
    let accepted = policy
        .accepted_jurisdictions
        .iter()
        .any(|code| Jurisdiction::parse(code).ok().as_ref() == Some(jurisdiction));
    reasons.push(reason(
        "territory",
        accepted,
        if accepted {
            format!(
                "this marketplace enforces rights of {}",
                jurisdiction.as_str()
            )
        } else {
            format!(
                "this marketplace does not enforce rights of {} (accepted: {})",
                jurisdiction.as_str(),
                policy.accepted_jurisdictions.join(", ")
            )
        },
    ));

    let right = context.store.right(notice.right_id.as_str())?;
    // The authority a trusted issuer speaks for (its original key after rotations). An issuer
    // that is not trusted for the jurisdiction already fails `issuer_trusted`.
    let issuer_authority = credential
        .as_ref()
        .filter(|credential| {
            context
                .trust
                .office_for(&credential.issuer, notice.right_id.jurisdiction())
        })
        .map(|credential| context.trust.root(&credential.issuer));
    reasons.push(registry_reason(
        right.as_ref(),
        notice,
        credential.as_ref(),
        issuer_authority.as_ref(),
        &context.now,
    ));
    let classes: Vec<u8> = right
        .as_ref()
        .map(|right| right.nice_classes.clone())
        .or_else(|| credential.as_ref().map(|c| c.nice_classes.clone()))
        .unwrap_or_default();
    let uncovered: Vec<String> = notice
        .listings
        .iter()
        .filter_map(|listing| {
            listing
                .class
                .filter(|class| !classes.contains(class))
                .map(|class| format!("{} (class {class})", listing.id))
        })
        .collect();
    reasons.push(reason(
        "classes",
        uncovered.is_empty(),
        if uncovered.is_empty() {
            "the right's classes cover every listing category given".to_owned()
        } else {
            format!(
                "the right's classes {classes:?} do not cover: {}",
                uncovered.join(", ")
            )
        },
    ));
    reasons.push(listing_class_reason(notice, policy));
    let seen = context
        .store
        .claim_ids(ClaimIndex::Nonce, &notice.nonce, 1)?;
    let mut nonce = reason(
        "nonce",
        seen.is_empty(),
        if seen.is_empty() {
            "the nonce has not been seen before".to_owned()
        } else {
            "replayed: a notice with this nonce was already recorded".to_owned()
        },
    );
    nonce.entry_id = seen.first().copied();
    reasons.push(nonce);
    let accepted = reasons.iter().all(|reason| reason.ok);
    Ok(Verdict {
        accepted,
        checked_at: context.now.clone(),
        reasons,
    })
}

/// A credential signed by a key its office has rotated away from is refused, whenever it was
/// signed: the rotation may be the office's answer to a compromised key.
fn rotation_reason(
    context: &VerdictContext<'_>,
    issuer: &PublicKey,
) -> Result<VerdictReason, StorageError> {
    let Some(seq) = context.trust.rotated_at(issuer) else {
        return Ok(reason(
            "issuer_key_rotated",
            true,
            "the issuer key has not been rotated away",
        ));
    };
    let mut rotated = reason(
        "issuer_key_rotated",
        false,
        format!(
            "the issuer key {issuer} was retired by its key_rotation entry (seq {seq}); the office signs with its new key"
        ),
    );
    rotated.entry_id = context.store.entry_id_at(issuer, seq)?;
    Ok(rotated)
}

/// Listings without a class escape the classes check; the policy may require one.
fn listing_class_reason(notice: &HolderNotice, policy: &MarketplacePolicy) -> VerdictReason {
    let missing: Vec<&str> = notice
        .listings
        .iter()
        .filter(|listing| listing.class.is_none())
        .map(|listing| listing.id.as_str())
        .collect();
    if missing.is_empty() {
        reason("listing_class", true, "every listing gives its class")
    } else if policy.require_listing_class {
        reason(
            "listing_class",
            false,
            format!(
                "this marketplace requires a class for every listing; missing for: {}",
                missing.join(", ")
            ),
        )
    } else {
        reason(
            "listing_class",
            true,
            format!(
                "listings without a class are not checked against the right's classes: {}",
                missing.join(", ")
            ),
        )
    }
}

fn registry_reason(
    right: Option<&RightState>,
    notice: &HolderNotice,
    credential: Option<&VerifiedCredential>,
    issuer_authority: Option<&PublicKey>,
    now: &Timestamp,
) -> VerdictReason {
    let Some(right) = right else {
        return reason(
            "registry",
            false,
            format!(
                "right {} is not in this node's registry",
                notice.right_id.as_str()
            ),
        );
    };
    let mut result = match right.liveness(&now.date()) {
        Liveness::Alive => {
            if right.holder.key.as_ref() != Some(&notice.holder) {
                let holder = right
                    .holder
                    .key
                    .map_or_else(|| "no key".to_owned(), |key| key.to_did_key());
                let mut assigned = reason(
                    "registry",
                    false,
                    format!(
                        "the registry names {} ({holder}) as the holder of {}, not the notice's holder",
                        right.holder.name, right.right_id
                    ),
                );
                assigned.entry_id =
                    Some(right.last_change_of(crate::rights::HistoryChange::Assigned));
                return assigned;
            }
            // Only the office that registered the right attests it: another office trusted
            // for the same jurisdiction does not speak for this register.
            if let Some(issuer) = issuer_authority.filter(|issuer| **issuer != right.registered_by)
            {
                return reason(
                    "registry",
                    false,
                    format!(
                        "right {} was registered by {}, but the credential was issued by {}",
                        right.right_id,
                        right.registered_by.to_did_key(),
                        issuer.to_did_key()
                    ),
                );
            }
            reason(
                "registry",
                true,
                format!(
                    "right {} is alive and held by the notice's holder",
                    right.right_id
                ),
            )
        }
        Liveness::Cancelled { entry_id } => {
            let mut cancelled = reason(
                "registry",
                false,
                format!("right {} was cancelled by entry {entry_id}", right.right_id),
            );
            cancelled.entry_id = Some(entry_id);
            return cancelled;
        }
        Liveness::Expired {
            entry_id,
            expiry_date,
        } => {
            let mut expired = reason(
                "registry",
                false,
                format!(
                    "right {} expired{}",
                    right.right_id,
                    expiry_date.map(|d| format!(" on {d}")).unwrap_or_default()
                ),
            );
            expired.entry_id = Some(entry_id);
            return expired;
        }
        Liveness::NotRegistered => reason(
            "registry",
            false,
            format!("right {} is filed but not registered", right.right_id),
        ),
    };
    if let Some(entry) = credential.and_then(|c| c.registration_entry) {
        result.entry_id = Some(entry);
    }
    result
}

/// The marketplace's keyed hash of its own seller id: no raw seller identity leaves it.
pub fn seller_ref(key: &[u8; 32], seller_id: &str) -> String {
    // HMAC accepts keys of any length; a 32-byte key cannot fail.
    match <Hmac<Sha256> as Mac>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(seller_id.as_bytes());
            hex::encode(mac.finalize().into_bytes())
        }
        Err(_) => unreachable!("HMAC-SHA256 takes keys of any length"),
    }
}

/// A claim entry with what the accountability views need.
#[derive(Debug, Clone)]
struct ClaimEntry {
    entry: Entry,
}

fn load(store: &Store, ids: &[EntryId]) -> Result<Vec<ClaimEntry>, StorageError> {
    let mut entries = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(entry) = store.entry(id)? {
            entries.push(ClaimEntry { entry });
        }
    }
    Ok(entries)
}

/// The decisions and counter-notices recorded for a notice, oldest first.
fn follow_ups(store: &Store, notice_id: &EntryId) -> Result<Vec<Entry>, StorageError> {
    let ids = store.claim_ids(ClaimIndex::Notice, &notice_id.to_hex(), MAX_VIEW_ENTRIES)?;
    let mut entries: Vec<Entry> = load(store, &ids)?.into_iter().map(|c| c.entry).collect();
    entries.sort_by(|a, b| a.timestamp().cmp(b.timestamp()).then(a.seq().cmp(&b.seq())));
    Ok(entries)
}

/// A removal to restore: the seller's counter-notice went uncontested past the deadline.
#[derive(Debug, Clone)]
pub struct DueRestoration {
    /// The notice.
    pub notice_id: EntryId,
    /// The removal the counter-notice answered.
    pub removal: proto_types::body::DecisionV1,
}

/// Removals by this marketplace (every key for which `is_own` holds: its key and the keys it
/// rotated from) that policy restores on `today`: the latest decision on the notice is a
/// removal whose counter-notice deadline has passed, and the seller filed a counter-notice
/// after it that no later decision answered (a holder who acts, e.g. by going to court, gets a
/// new decision recorded by the marketplace before the deadline).
pub fn due_restorations(
    store: &Store,
    is_own: impl Fn(&PublicKey) -> bool,
    today: &proto_types::timestamp::Date,
) -> Result<Vec<DueRestoration>, StorageError> {
    let mut due = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for id in store.claim_ids(ClaimIndex::Kind, "counter_notice", MAX_VIEW_ENTRIES)? {
        let Some(counter) = store.entry(&id)? else {
            continue;
        };
        let proto_types::body::Body::CounterNotice(body) = counter.body() else {
            continue;
        };
        if !is_own(counter.author()) || !seen.insert(body.notice_id) {
            continue;
        }
        let follow_ups = follow_ups(store, &body.notice_id)?;
        let last_decision = follow_ups
            .iter()
            .rposition(|entry| matches!(entry.body(), proto_types::body::Body::Decision(_)));
        let Some(position) = last_decision else {
            continue;
        };
        let proto_types::body::Body::Decision(decision) = follow_ups[position].body() else {
            continue;
        };
        let countered_after = follow_ups[position + 1..]
            .iter()
            .any(|entry| matches!(entry.body(), proto_types::body::Body::CounterNotice(_)));
        let expired = decision
            .counter_notice_deadline
            .as_ref()
            .is_some_and(|deadline| deadline < today);
        if decision.outcome == DecisionOutcome::Removed && countered_after && expired {
            due.push(DueRestoration {
                notice_id: body.notice_id,
                removal: decision.clone(),
            });
        }
    }
    Ok(due)
}

/// What became of one notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
enum Fate {
    Pending,
    Removed,
    Rejected,
    /// Removed, then restored after a counter-notice.
    Reversed,
}

fn fate(follow_ups: &[Entry]) -> Fate {
    let mut fate = Fate::Pending;
    let mut countered = false;
    for entry in follow_ups {
        match entry.body() {
            proto_types::body::Body::Decision(decision) => {
                fate = match decision.outcome {
                    DecisionOutcome::Removed => Fate::Removed,
                    DecisionOutcome::Rejected => Fate::Rejected,
                    DecisionOutcome::Restored if fate == Fate::Removed && countered => {
                        Fate::Reversed
                    }
                    DecisionOutcome::Restored => Fate::Rejected,
                };
            }
            proto_types::body::Body::CounterNotice(_) => countered = true,
            _ => {}
        }
    }
    fate
}

/// A holder's notice accuracy over the policy window, and whether it meets the good-faith
/// policy.
pub fn holder_accuracy(
    store: &Store,
    holder: &PublicKey,
    policy: &MarketplacePolicy,
    now: &Timestamp,
) -> Result<Value, StorageError> {
    let ids = store.claim_ids(ClaimIndex::Holder, &holder.to_did_key(), MAX_VIEW_ENTRIES)?;
    let window_start = now.unix_millis() - i64::from(policy.accuracy_window_days) * 86_400_000;
    let (mut filed, mut removed, mut rejected, mut reversed, mut pending) =
        (0u64, 0u64, 0u64, 0u64, 0u64);
    let mut notices = Vec::new();
    for claim in load(store, &ids)? {
        let entry = &claim.entry;
        let proto_types::body::Body::Notice(NoticeV1 { notice, .. }) = entry.body() else {
            continue;
        };
        if entry.timestamp().unix_millis() < window_start {
            continue;
        }
        filed += 1;
        let fate = fate(&follow_ups(store, &entry.id())?);
        match fate {
            Fate::Pending => pending += 1,
            Fate::Removed => removed += 1,
            Fate::Rejected => rejected += 1,
            Fate::Reversed => {
                removed += 1;
                reversed += 1;
            }
        }
        notices.push(serde_json::json!({
            "notice_id": entry.id(),
            "right_id": notice.right_id.as_str(),
            "recorded_at": entry.timestamp(),
            "fate": fate,
        }));
    }
    let decided = filed - pending;
    let success_ratio = if decided == 0 {
        None
    } else {
        Some((removed - reversed) as f64 / decided as f64)
    };
    let reversal_ratio = if removed == 0 {
        None
    } else {
        Some(reversed as f64 / removed as f64)
    };
    let mut reasons = Vec::new();
    if let Some(ratio) = success_ratio {
        if ratio < policy.min_success_ratio {
            reasons.push(format!(
                "{:.1} % of decided notices led to a lasting removal; the policy requires at least {:.1} %",
                ratio * 100.0,
                policy.min_success_ratio * 100.0
            ));
        }
    }
    if let Some(ratio) = reversal_ratio {
        if ratio > policy.max_reversal_ratio {
            reasons.push(format!(
                "{:.1} % of removals were reversed after a counter-notice; the policy allows at most {:.1} %",
                ratio * 100.0,
                policy.max_reversal_ratio * 100.0
            ));
        }
    }
    Ok(serde_json::json!({
        "holder": holder.to_did_key(),
        "window_days": policy.accuracy_window_days,
        "filed": filed,
        "removed": removed,
        "rejected": rejected,
        "reversed_after_counter_notice": reversed,
        "pending": pending,
        "success_ratio": success_ratio,
        "reversal_ratio": reversal_ratio,
        "meets_good_faith_policy": reasons.is_empty(),
        "reasons": reasons,
        "notices": notices,
    }))
}

/// Strike points of a removal: counterfeits weigh more than other infringements.
fn strike_points(notice: Option<&HolderNotice>) -> u32 {
    match notice.map(|notice| notice.reason) {
        Some(proto_types::body::ReasonCode::Counterfeit) => 2,
        _ => 1,
    }
}

/// A seller reference's active strike points, its sanction tier, and the reason for each
/// strike.
pub fn seller_strikes(
    store: &Store,
    seller_ref: &str,
    policy: &MarketplacePolicy,
    now: &Timestamp,
) -> Result<Value, StorageError> {
    let ids = store.claim_ids(ClaimIndex::SellerRef, seller_ref, MAX_VIEW_ENTRIES)?;
    let expiry_millis = i64::from(policy.strike_expiry_days) * 86_400_000;
    let mut active = 0u32;
    let mut strikes = Vec::new();
    let mut counted_notices = std::collections::HashSet::new();
    for claim in load(store, &ids)? {
        let entry = &claim.entry;
        let proto_types::body::Body::Decision(decision) = entry.body() else {
            continue;
        };
        if decision.outcome != DecisionOutcome::Removed
            || !counted_notices.insert(decision.notice_id)
        {
            continue;
        }
        // A removal reversed after a counter-notice is no strike.
        if fate(&follow_ups(store, &decision.notice_id)?) == Fate::Reversed {
            continue;
        }
        let notice = store.entry(&decision.notice_id)?;
        let holder_notice = notice.as_ref().and_then(|entry| match entry.body() {
            proto_types::body::Body::Notice(notice) => Some(&notice.notice),
            _ => None,
        });
        let points = strike_points(holder_notice);
        let age = now.unix_millis() - entry.timestamp().unix_millis();
        let expired = age > expiry_millis;
        if !expired {
            active += points;
        }
        let expires_at =
            Timestamp::from_unix_millis(entry.timestamp().unix_millis() + expiry_millis).ok();
        strikes.push(serde_json::json!({
            "decision_id": entry.id(),
            "notice_id": decision.notice_id,
            "points": points,
            "reason": decision.reason,
            "notice_reason": holder_notice.map(|n| n.reason),
            "right_id": holder_notice.map(|n| n.right_id.as_str().to_owned()),
            "recorded_at": entry.timestamp(),
            "expires_at": expires_at,
            "active": !expired,
        }));
    }
    let sanction = policy
        .strike_tiers
        .iter()
        .rev()
        .find(|tier| active >= tier.points)
        .map(|tier| tier.sanction.clone());
    let explanation = match &sanction {
        Some(name) => format!(
            "{active} active strike points reach the {name} tier ({} points)",
            policy
                .strike_tiers
                .iter()
                .rev()
                .find(|tier| active >= tier.points)
                .map_or(0, |tier| tier.points)
        ),
        None => format!("{active} active strike points are below every sanction tier"),
    };
    Ok(serde_json::json!({
        "seller_ref": seller_ref,
        "active_points": active,
        "sanction": sanction,
        "explanation": explanation,
        "strike_expiry_days": policy.strike_expiry_days,
        "strikes": strikes,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto_types::body::{Body, EntryKind, examples};
    use proto_types::entry::{UnsignedEntry, VerifiedEntry};
    use proto_types::keys::SecretKey;
    use proto_types::timestamp::Date;
    use serde_json::json;

    fn append(
        store: &crate::storage::StoreWriter,
        key: &SecretKey,
        seq: u64,
        prev: Option<EntryId>,
        kind: EntryKind,
        body: Value,
    ) -> VerifiedEntry {
        let entry = UnsignedEntry {
            seq,
            prev,
            timestamp: Timestamp::from_unix_millis(1_700_000_000_000 + seq as i64 * 1000).unwrap(),
            body: Body::decode(kind, &body).unwrap(),
        }
        .sign(key)
        .unwrap();
        let mut batch = store.batch();
        batch.put_entry(&entry);
        batch.put_claim_indexes(&entry);
        store.commit(batch, false).unwrap();
        entry
    }

    #[test]
    fn uncontested_counter_notices_are_due_for_restoration_after_the_deadline() {
        let dir = tempfile::tempdir().unwrap();
        let (_, store) = Store::open(dir.path()).unwrap();
        let market = SecretKey::from_seed(&examples::MARKETPLACE_SEED);
        let notice = append(
            &store,
            &market,
            1,
            None,
            EntryKind::Notice,
            examples::notice(),
        );
        let mut decision = examples::decision();
        decision["notice_id"] = json!(notice.id());
        decision["outcome"] = json!("removed");
        decision["counter_notice_deadline"] = json!("2026-01-10");
        let decision = append(
            &store,
            &market,
            2,
            Some(notice.id()),
            EntryKind::Decision,
            decision,
        );
        let before = due_restorations(
            &store,
            |key: &PublicKey| *key == market.public_key(),
            &Date::parse("2026-01-11").unwrap(),
        )
        .unwrap();
        assert!(before.is_empty(), "no counter-notice yet");
        let mut counter = examples::counter_notice();
        counter["notice_id"] = json!(notice.id());
        counter["decision_id"] = json!(decision.id());
        let counter = append(
            &store,
            &market,
            3,
            Some(decision.id()),
            EntryKind::CounterNotice,
            counter,
        );
        let early = due_restorations(
            &store,
            |key: &PublicKey| *key == market.public_key(),
            &Date::parse("2026-01-09").unwrap(),
        )
        .unwrap();
        assert!(early.is_empty(), "deadline not passed");
        let due = due_restorations(
            &store,
            |key: &PublicKey| *key == market.public_key(),
            &Date::parse("2026-01-11").unwrap(),
        )
        .unwrap();
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].notice_id, notice.id());
        // Someone else's counter-notices are not this marketplace's to restore.
        let other = due_restorations(
            &store,
            |key: &PublicKey| *key == SecretKey::generate().public_key(),
            &Date::parse("2026-01-11").unwrap(),
        )
        .unwrap();
        assert!(other.is_empty());
        // The holder acted: the marketplace recorded a new removal after the counter-notice.
        let mut upheld = examples::decision();
        upheld["notice_id"] = json!(notice.id());
        upheld["outcome"] = json!("removed");
        upheld["counter_notice_deadline"] = json!("2026-01-10");
        append(
            &store,
            &market,
            4,
            Some(counter.id()),
            EntryKind::Decision,
            upheld,
        );
        let after = due_restorations(
            &store,
            |key: &PublicKey| *key == market.public_key(),
            &Date::parse("2026-01-11").unwrap(),
        )
        .unwrap();
        assert!(
            after.is_empty(),
            "a decision after the counter-notice answers it"
        );
    }

    #[test]
    fn seller_refs_are_keyed_and_stable() {
        let key = [7u8; 32];
        assert_eq!(seller_ref(&key, "seller-1"), seller_ref(&key, "seller-1"));
        assert_ne!(seller_ref(&key, "seller-1"), seller_ref(&key, "seller-2"));
        assert_ne!(
            seller_ref(&key, "seller-1"),
            seller_ref(&[8u8; 32], "seller-1")
        );
        assert_eq!(seller_ref(&key, "seller-1").len(), 64);
    }
}
