//! Restorations by policy: a removal whose counter-notice deadline passed without the holder
//! acting is restored. [`contested_removals`] lists the removals a counter-notice answered,
//! [`due_restorations`] those whose deadline passed; [`restore_uncontested`] is
//! the marketplace's sweep that records a `restored` decision for each, every
//! [`RESTORE_SWEEP_INTERVAL`].

use proto_types::body::{Body, DecisionOutcome, DecisionV1};
use proto_types::entry::EntryId;
use proto_types::keys::PublicKey;
use proto_types::timestamp::Date;

use super::{MAX_VIEW_ENTRIES, follow_ups};
use crate::clock::today;
use crate::ingest::Ingest;
use crate::storage::{ClaimIndex, StorageError, Store};

/// How often a marketplace restores removals whose counter-notice went uncontested.
pub const RESTORE_SWEEP_INTERVAL: std::time::Duration = std::time::Duration::from_secs(60);

/// A removal the seller contested with a counter-notice: restored by policy once its deadline
/// passes without a later decision.
#[derive(Debug, Clone)]
pub struct DueRestoration {
    /// The notice.
    pub notice_id: EntryId,
    /// The removal the counter-notice answered.
    pub removal: DecisionV1,
}

/// Removals by this marketplace (every key for which `is_own` holds: its key and the keys it
/// rotated from) that a seller contested and no later decision answered: the latest decision on
/// the notice is a removal, and the seller filed a counter-notice after it. Policy restores each
/// once its counter-notice deadline has passed ([`due_restorations`]); a holder who acts, e.g.
/// by going to court, gets a new decision recorded by the marketplace before the deadline.
pub fn contested_removals(
    store: &Store,
    is_own: impl Fn(&PublicKey) -> bool,
) -> Result<Vec<DueRestoration>, StorageError> {
    let mut contested = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for id in store.claim_ids(ClaimIndex::Kind, "counter_notice", MAX_VIEW_ENTRIES)? {
        let Some(counter) = store.entry(&id)? else {
            continue;
        };
        let Body::CounterNotice(body) = counter.body() else {
            continue;
        };
        if !is_own(counter.author()) || !seen.insert(body.notice_id) {
            continue;
        }
        let follow_ups = follow_ups(store, &body.notice_id)?;
        let last_decision = follow_ups
            .iter()
            .rposition(|entry| matches!(entry.body(), Body::Decision(_)));
        let Some(position) = last_decision else {
            continue;
        };
        let Body::Decision(decision) = follow_ups[position].body() else {
            continue;
        };
        let countered_after = follow_ups[position + 1..]
            .iter()
            .any(|entry| matches!(entry.body(), Body::CounterNotice(_)));
        if decision.outcome == DecisionOutcome::Removed && countered_after {
            contested.push(DueRestoration {
                notice_id: body.notice_id,
                removal: decision.clone(),
            });
        }
    }
    Ok(contested)
}

impl DueRestoration {
    /// Whether policy restores it on `today`: its counter-notice deadline has passed.
    pub fn is_due(&self, today: &Date) -> bool {
        self.removal
            .counter_notice_deadline
            .as_ref()
            .is_some_and(|deadline| deadline < today)
    }
}

/// The [`contested_removals`] that policy restores on `today`: their counter-notice deadline
/// has passed without a later decision.
pub fn due_restorations(
    store: &Store,
    is_own: impl Fn(&PublicKey) -> bool,
    today: &Date,
) -> Result<Vec<DueRestoration>, StorageError> {
    let mut due = contested_removals(store, is_own)?;
    due.retain(|item| item.is_due(today));
    Ok(due)
}

/// Records a `restored` decision for every removal whose counter-notice deadline passed
/// without the holder acting. Returns how many it restored.
pub async fn restore_uncontested(ingest: &Ingest) -> anyhow::Result<usize> {
    let authority = ingest.signing_key();
    if ingest.trust().rotated_at(&authority).is_some() {
        // The node cannot sign with a rotated-away key (logged at start and refused with
        // `key_rotated`); the sweep resumes once the operator configures the new key.
        return Ok(0);
    }
    // Counter-notices recorded under an earlier key of this marketplace are its own too.
    let own = ingest.trust().root(&authority);
    let due = {
        let ingest = ingest.clone();
        ingest
            .reader()
            .run(move |store| {
                due_restorations(
                    store,
                    |author: &PublicKey| ingest.trust().root(author) == own,
                    &today(),
                )
            })
            .await?
    };
    let mut restored = 0;
    for item in due {
        ingest.append(restoration(&item)).await?;
        restored += 1;
    }
    Ok(restored)
}

/// The `restored` decision that answers a due restoration.
fn restoration(item: &DueRestoration) -> Body {
    let deadline = item
        .removal
        .counter_notice_deadline
        .as_ref()
        .map_or_else(String::new, |date| date.to_string());
    Body::Decision(DecisionV1 {
        v: 1,
        notice_id: item.notice_id,
        listing_ids: item.removal.listing_ids.clone(),
        outcome: DecisionOutcome::Restored,
        reason: format!(
            "restored by policy: the seller's counter-notice was not contested before {deadline}"
        ),
        seller_ref: item.removal.seller_ref.clone(),
        counter_notice_deadline: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto_types::body::{EntryKind, examples};
    use proto_types::entry::{UnsignedEntry, VerifiedEntry};
    use proto_types::keys::SecretKey;
    use proto_types::timestamp::Timestamp;
    use serde_json::{Value, json};

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
    fn a_restoration_restores_the_removals_listings_for_the_same_seller_and_says_why() {
        let Body::Decision(removal) =
            Body::decode(EntryKind::Decision, &examples::decision()).expect("the example")
        else {
            unreachable!("a decision body")
        };
        let notice_id = EntryId([5; 32]);
        let body = restoration(&DueRestoration {
            notice_id,
            removal: removal.clone(),
        });
        body.validate().expect("a valid decision");
        let Body::Decision(restored) = body else {
            unreachable!("a decision body")
        };
        assert_eq!(restored.notice_id, notice_id);
        assert_eq!(restored.outcome, DecisionOutcome::Restored);
        assert_eq!(restored.listing_ids, removal.listing_ids);
        assert_eq!(restored.seller_ref, removal.seller_ref);
        assert_eq!(restored.counter_notice_deadline, None);
        assert_eq!(
            restored.reason,
            "restored by policy: the seller's counter-notice was not contested before 2026-12-12"
        );
    }
}
