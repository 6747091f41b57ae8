//! The accountability views of a marketplace: a holder's notice accuracy against the good-faith
//! policy, and a seller reference's strike points and sanction tier. Computed on request from
//! the claims index, at most [`MAX_VIEW_ENTRIES`](super::MAX_VIEW_ENTRIES) entries each.

use proto_types::body::{DecisionOutcome, HolderNotice, NoticeV1, ReasonCode};
use proto_types::entry::{Entry, EntryId};
use proto_types::keys::PublicKey;
use proto_types::timestamp::Timestamp;
use serde::Serialize;

use super::{MAX_VIEW_ENTRIES, follow_ups, load};
use crate::config::MarketplacePolicy;
use crate::storage::{ClaimIndex, StorageError, Store};

/// What became of one notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Fate {
    /// No decision yet.
    Pending,
    /// The latest decision removed the listings.
    Removed,
    /// The latest decision rejected the notice (or restored without a counter-notice).
    Rejected,
    /// Removed, then restored after a counter-notice.
    Reversed,
}

/// The fate of a notice from its follow-ups, oldest first: the latest decision decides, and a
/// restoration counts as a reversal only after a removal that a counter-notice answered.
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

impl Fate {
    /// The fate's name, as the JSON gives it.
    pub fn as_str(self) -> &'static str {
        match self {
            Fate::Pending => "pending",
            Fate::Removed => "removed",
            Fate::Rejected => "rejected",
            Fate::Reversed => "reversed",
        }
    }
}

/// One notice of a holder's accuracy view.
#[derive(Debug, Clone, Serialize)]
pub struct HolderNoticeFate {
    /// The notice entry.
    pub notice_id: EntryId,
    /// The right it invoked.
    pub right_id: String,
    /// When the marketplace recorded it.
    pub recorded_at: Timestamp,
    /// What became of it.
    pub fate: Fate,
}

/// A holder's notice accuracy over the policy window (`GET /v1/holders/{did}/accuracy`).
#[derive(Debug, Clone, Serialize)]
pub struct HolderAccuracy {
    /// The holder, as a did:key.
    pub holder: String,
    /// The policy window, in days.
    pub window_days: u32,
    /// Notices recorded in the window.
    pub filed: u64,
    /// Of them, removed (including the removals later reversed).
    pub removed: u64,
    /// Rejected.
    pub rejected: u64,
    /// Removed, then restored after a counter-notice.
    pub reversed_after_counter_notice: u64,
    /// Not decided yet.
    pub pending: u64,
    /// Lasting removals over decided notices (none decided: `None`).
    pub success_ratio: Option<f64>,
    /// Reversals over removals (none removed: `None`).
    pub reversal_ratio: Option<f64>,
    /// Whether the ratios meet the marketplace's good-faith policy.
    pub meets_good_faith_policy: bool,
    /// Why not, one sentence per ratio that misses the policy.
    pub reasons: Vec<String>,
    /// The notices of the window, oldest first.
    pub notices: Vec<HolderNoticeFate>,
}

/// A holder's notice accuracy over the policy window, and whether it meets the good-faith
/// policy.
pub fn holder_accuracy(
    store: &Store,
    holder: &PublicKey,
    policy: &MarketplacePolicy,
    now: &Timestamp,
) -> Result<HolderAccuracy, StorageError> {
    let ids = store.claim_ids(ClaimIndex::Holder, &holder.to_did_key(), MAX_VIEW_ENTRIES)?;
    let window_start = now.unix_millis() - i64::from(policy.accuracy_window_days) * 86_400_000;
    let (mut filed, mut removed, mut rejected, mut reversed, mut pending) =
        (0u64, 0u64, 0u64, 0u64, 0u64);
    let mut notices = Vec::new();
    for entry in &load(store, &ids)? {
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
        notices.push(HolderNoticeFate {
            notice_id: entry.id(),
            right_id: notice.right_id.as_str().to_owned(),
            recorded_at: entry.timestamp().clone(),
            fate,
        });
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
    Ok(HolderAccuracy {
        holder: holder.to_did_key(),
        window_days: policy.accuracy_window_days,
        filed,
        removed,
        rejected,
        reversed_after_counter_notice: reversed,
        pending,
        success_ratio,
        reversal_ratio,
        meets_good_faith_policy: reasons.is_empty(),
        reasons,
        notices,
    })
}

/// Strike points of a removal: counterfeits weigh more than other infringements.
fn strike_points(notice: Option<&HolderNotice>) -> u32 {
    match notice.map(|notice| notice.reason) {
        Some(ReasonCode::Counterfeit) => 2,
        _ => 1,
    }
}

/// One strike of a seller reference: a removal that was not reversed.
#[derive(Debug, Clone, Serialize)]
pub struct Strike {
    /// The removal decision.
    pub decision_id: EntryId,
    /// The notice it decided.
    pub notice_id: EntryId,
    /// Its points (a counterfeit weighs 2, other infringements 1).
    pub points: u32,
    /// The decision's reason.
    pub reason: String,
    /// The notice's reason code, when the notice is stored.
    pub notice_reason: Option<ReasonCode>,
    /// The right the notice invoked, when the notice is stored.
    pub right_id: Option<String>,
    /// When the removal was recorded.
    pub recorded_at: Timestamp,
    /// When the strike stops counting.
    pub expires_at: Option<Timestamp>,
    /// Whether it counts today.
    pub active: bool,
}

/// A seller reference's strikes and sanction tier (`GET /v1/sellers/{seller_ref}/strikes`).
#[derive(Debug, Clone, Serialize)]
pub struct SellerStrikes {
    /// The seller reference (the keyed hash of the seller's id).
    pub seller_ref: String,
    /// Points of the strikes that have not expired.
    pub active_points: u32,
    /// The highest sanction tier those points reach, if any.
    pub sanction: Option<String>,
    /// The tier reached and why, in a sentence.
    pub explanation: String,
    /// How long a strike counts, in days.
    pub strike_expiry_days: u32,
    /// Every strike, oldest first, expired ones included.
    pub strikes: Vec<Strike>,
}

/// A seller reference's active strike points, its sanction tier, and the reason for each
/// strike.
pub fn seller_strikes(
    store: &Store,
    seller_ref: &str,
    policy: &MarketplacePolicy,
    now: &Timestamp,
) -> Result<SellerStrikes, StorageError> {
    let ids = store.claim_ids(ClaimIndex::SellerRef, seller_ref, MAX_VIEW_ENTRIES)?;
    let expiry_millis = i64::from(policy.strike_expiry_days) * 86_400_000;
    let mut active = 0u32;
    let mut strikes = Vec::new();
    let mut counted_notices = std::collections::HashSet::new();
    for entry in &load(store, &ids)? {
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
        strikes.push(Strike {
            decision_id: entry.id(),
            notice_id: decision.notice_id,
            points,
            reason: decision.reason.clone(),
            notice_reason: holder_notice.map(|n| n.reason),
            right_id: holder_notice.map(|n| n.right_id.as_str().to_owned()),
            recorded_at: entry.timestamp().clone(),
            expires_at,
            active: !expired,
        });
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
    Ok(SellerStrikes {
        seller_ref: seller_ref.to_owned(),
        active_points: active,
        sanction,
        explanation,
        strike_expiry_days: policy.strike_expiry_days,
        strikes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto_types::body::{Body, EntryKind, examples};
    use proto_types::entry::UnsignedEntry;
    use proto_types::keys::SecretKey;
    use serde_json::{Value, json};

    fn entry(kind: EntryKind, body: Value) -> Entry {
        UnsignedEntry {
            seq: 1,
            prev: None,
            timestamp: Timestamp::from_unix_millis(1_700_000_000_000).expect("a timestamp"),
            body: Body::decode(kind, &body).expect("an example body"),
        }
        .sign(&SecretKey::from_seed(&examples::MARKETPLACE_SEED))
        .expect("signs")
        .into_entry()
    }

    fn decision(outcome: &str) -> Entry {
        let mut body = examples::decision();
        body["outcome"] = json!(outcome);
        if outcome != "removed" {
            body.as_object_mut()
                .expect("an object")
                .remove("counter_notice_deadline");
        }
        entry(EntryKind::Decision, body)
    }

    #[test]
    fn the_latest_decision_decides_and_only_a_contested_removal_is_reversed() {
        let counter = entry(EntryKind::CounterNotice, examples::counter_notice());
        let (removed, rejected, restored) = (
            decision("removed"),
            decision("rejected"),
            decision("restored"),
        );
        assert_eq!(fate(&[]), Fate::Pending);
        assert_eq!(fate(std::slice::from_ref(&counter)), Fate::Pending);
        assert_eq!(fate(std::slice::from_ref(&removed)), Fate::Removed);
        assert_eq!(fate(std::slice::from_ref(&rejected)), Fate::Rejected);
        assert_eq!(fate(&[removed.clone(), rejected]), Fate::Rejected);
        assert_eq!(
            fate(&[removed.clone(), counter.clone(), restored.clone()]),
            Fate::Reversed
        );
        // A restoration nobody asked for by a counter-notice is the marketplace changing its
        // mind: the notice did not lead to a lasting removal, but was not reversed either.
        assert_eq!(fate(&[removed.clone(), restored.clone()]), Fate::Rejected);
        assert_eq!(fate(&[restored]), Fate::Rejected);
        assert_eq!(fate(&[removed.clone(), counter, removed]), Fate::Removed);
    }

    #[test]
    fn a_counterfeit_weighs_two_strike_points_and_anything_else_one() {
        let Body::Notice(recorded) = entry(EntryKind::Notice, examples::notice()).body().clone()
        else {
            unreachable!("a notice body")
        };
        let mut notice = recorded.notice;
        assert_eq!(notice.reason, proto_types::body::ReasonCode::Counterfeit);
        assert_eq!(strike_points(Some(&notice)), 2);
        notice.reason = proto_types::body::ReasonCode::TrademarkInfringement;
        assert_eq!(strike_points(Some(&notice)), 1);
        assert_eq!(
            strike_points(None),
            1,
            "a removal whose notice is gone still counts"
        );
    }
}
