//! A marketplace's verdict on a holder's notice: the offline checks plus the credential log
//! (key rotation by anchoring, logged, status: `log_checks`), the registry, territory, classes,
//! listing classes and nonce, each a reason with the entry that decided it where one did; and
//! `registry_checkpoint`: the checkpoint of the registering office's feed that covers the
//! registry state relied on, its cosigners and the witness policy (protocol §14.4).

use proto_types::body::{HolderNotice, Jurisdiction, Verdict, VerdictReason};
use proto_types::claims::VerifiedCredential;
use proto_types::keys::PublicKey;

use proto_types::timestamp::Timestamp;
use serde_json::Value;

use super::{offline_checks, reason};
use crate::config::MarketplacePolicy;
use crate::rights::{Liveness, RightState};
use crate::storage::{ClaimIndex, StorageError, Store};
use crate::transparency::Transparency;
use crate::transparency::policy::checkpoint_relied;
use crate::trust::Trust;

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
    /// The witness policy and split-view flags; none: no `registry_checkpoint` reason.
    pub transparency: Option<&'a Transparency>,
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
        reasons.extend(super::log_checks::log_reasons(
            context,
            &notice.credential,
            credential,
        )?);
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
    // A right registered by an authority this node no longer trusts for its jurisdiction
    // (removed from the trust store, or an admission withdrawn) fails `registry` (§13.2).
    let untrusted_registrar = right.as_ref().filter(|right| {
        !context
            .trust
            .office_for(&right.registered_by, &right.jurisdiction)
    });
    reasons.push(match untrusted_registrar {
        Some(right) => reason(
            "registry",
            false,
            format!(
                "right {} was registered by {}, an authority no longer trusted here for {}",
                right.right_id,
                right.registered_by.to_did_key(),
                right.jurisdiction.as_str()
            ),
        ),
        None => registry_reason(
            right.as_ref(),
            notice,
            credential.as_ref(),
            issuer_authority.as_ref(),
            &context.now,
        ),
    });
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
    if let (Some(right), Some(transparency)) = (right.as_ref(), context.transparency) {
        reasons.push(checkpoint_reason(context.store, transparency, right)?);
    }
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

/// Most characters of a `registry_checkpoint` message (a reason's message bound).
const MAX_CHECKPOINT_MESSAGE_CHARS: usize = proto_types::body::MAX_VERDICT_MESSAGE_CHARS;

/// `registry_checkpoint`: which checkpoint of the registering office's feed covers the entry
/// that last set the right's state, who cosigned it, and whether the witness policy accepts it.
/// It informs (a registration is usually verified before its checkpoint is cosigned, so a
/// policy not met yet does not refuse the notice); it fails only when the office signed two
/// contradicting checkpoints (a split view): then its registry proves nothing.
fn checkpoint_reason(
    store: &Store,
    transparency: &Transparency,
    right: &RightState,
) -> Result<VerdictReason, StorageError> {
    let Some(entry) = store.entry(&right.last_entry)? else {
        return Ok(reason(
            "registry_checkpoint",
            true,
            "the entry that set the right's state is not stored here",
        ));
    };
    let author = *entry.author();
    let seq = entry.seq();
    let origin = proto_types::checkpoint::feed_origin(&author);
    let policy = transparency.policy();
    let mut result = if transparency.is_flagged(&author) {
        reason(
            "registry_checkpoint",
            false,
            format!(
                "split view: {origin} signed two checkpoints that contradict each other (see GET /v1/equivocations)"
            ),
        )
    } else {
        match checkpoint_relied(store, &author, seq, policy)? {
            None => reason(
                "registry_checkpoint",
                true,
                format!(
                    "no checkpoint of {origin} covers seq {seq} yet{}",
                    if policy.is_some() {
                        "; witness policy not met yet"
                    } else {
                        ""
                    }
                ),
            ),
            Some(relied) => {
                let policy_text = match (&relied.policy_met, &relied.policy_counted) {
                    (Some(true), Some(counted)) => {
                        format!("; witness policy met ({})", counted.join(", "))
                    }
                    (Some(false), _) => "; witness policy not met".to_owned(),
                    _ => String::new(),
                };
                reason(
                    "registry_checkpoint",
                    true,
                    format!(
                        "seq {seq} of {} is covered by checkpoint size {} root {}, with {} witness cosignatures{policy_text}",
                        relied.origin,
                        relied.size,
                        relied.root,
                        relied.cosigners.len()
                    ),
                )
            }
        }
    };
    result.message = result
        .message
        .chars()
        .take(MAX_CHECKPOINT_MESSAGE_CHARS)
        .collect();
    result.entry_id = Some(right.last_entry);
    Ok(result)
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
