//! What a marketplace records, and the policy that shapes it: the `notice` entry of an accepted
//! notice (and whether it fits in an entry at all), a takedown `decision` (its seller reference,
//! its listings, the counter-notice deadline a removal opens), and a seller's `counter_notice`
//! (which answers only a removal). Each body is built as a typed value and validated here; the
//! API parses requests, loads entries, calls these and renders what they return.

use hmac::{Hmac, Mac};
use proto_types::body::{
    Body, CounterNoticeV1, DecisionOutcome, DecisionV1, EntryKind, Evidence, HolderNotice,
    NoticeV1, Verdict,
};
use proto_types::entry::{Entry, EntryId, MAX_ENTRY_BYTES, max_entry_len};
use proto_types::keys::PublicKey;
use proto_types::timestamp::{Date, TimeError};
use sha2::Sha256;

/// Longest seller id a marketplace may give for a decision, in bytes.
pub const MAX_SELLER_ID_BYTES: usize = 256;

/// Why a decision or counter-notice cannot be recorded. The messages are the API's.
#[derive(Debug, thiserror::Error)]
pub enum ClaimError {
    /// The seller id is blank or longer than [`MAX_SELLER_ID_BYTES`].
    #[error("seller_id: 1 to {} bytes", MAX_SELLER_ID_BYTES)]
    SellerId,
    /// No entry with this id is stored here.
    #[error("no {kind} {id} is known to this node")]
    UnknownEntry {
        /// The kind the caller named the entry as.
        kind: EntryKind,
        /// The id.
        id: EntryId,
    },
    /// The entry is of another kind, or another author's: only this marketplace's own notices
    /// and decisions are answered here.
    #[error("entry {id} is not a {kind} recorded by this marketplace")]
    NotRecordedHere {
        /// The kind the caller named the entry as.
        kind: EntryKind,
        /// The id.
        id: EntryId,
    },
    /// A counter-notice was filed against a decision that removed nothing.
    #[error("a counter-notice answers a removal; this decision did not remove anything")]
    NotARemoval,
    /// The body would not be valid (a field out of bounds, a duplicate listing, …).
    #[error("{0}")]
    Invalid(#[from] proto_types::body::BodyError),
    /// The store holds an entry of a kind whose body is of another kind: a bug, not input.
    #[error("{0}")]
    Inconsistent(&'static str),
    /// The counter-notice deadline is beyond the calendar the node can write.
    #[error("counter-notice deadline: {0}")]
    Deadline(#[from] TimeError),
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

/// Checks a seller id before anything is looked up: not blank, at most
/// [`MAX_SELLER_ID_BYTES`] bytes.
pub fn check_seller_id(seller_id: &str) -> Result<(), ClaimError> {
    if seller_id.trim().is_empty() || seller_id.len() > MAX_SELLER_ID_BYTES {
        return Err(ClaimError::SellerId);
    }
    Ok(())
}

/// Until when a seller may answer a decision with a counter-notice: `counter_notice_days`
/// after `today` for a removal; no deadline for any other outcome (nothing to answer).
pub fn counter_notice_deadline(
    outcome: DecisionOutcome,
    today: &Date,
    counter_notice_days: u32,
) -> Result<Option<Date>, TimeError> {
    match outcome {
        DecisionOutcome::Removed => today
            .add_days(i32::try_from(counter_notice_days).unwrap_or(i32::MAX))
            .map(Some),
        DecisionOutcome::Rejected | DecisionOutcome::Restored => Ok(None),
    }
}

/// The entry `id` as this marketplace's own entry of `kind`: `stored` is what the store holds
/// under `id`.
pub fn recorded_here(
    stored: Option<Entry>,
    id: EntryId,
    kind: EntryKind,
    marketplace: &PublicKey,
) -> Result<Entry, ClaimError> {
    let entry = stored.ok_or(ClaimError::UnknownEntry { kind, id })?;
    if entry.kind() != kind || entry.author() != marketplace {
        return Err(ClaimError::NotRecordedHere { kind, id });
    }
    Ok(entry)
}

/// The body of the `notice` entry that records an accepted notice: the notice as received,
/// with its verdict.
pub fn notice_body(notice: &HolderNotice, verdict: &Verdict) -> Body {
    Body::Notice(NoticeV1 {
        v: 1,
        notice: notice.clone(),
        verdict: verdict.clone(),
    })
}

/// An accepted notice whose `notice` entry would be over [`MAX_ENTRY_BYTES`]: it passes every
/// check, but cannot be recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "the notice passes every check, but its notice entry would be up to {size} bytes, over the limit of {MAX_ENTRY_BYTES} bytes"
)]
pub struct NoticeTooLarge {
    /// The most bytes the entry could take.
    pub size: usize,
}

/// Whether the notice entry recording `notice` with `verdict` fits in an entry when signed by
/// `marketplace`. Only an accepted notice is recorded, so a refused one always passes. The dry
/// run and the submission both ask, so the dry run promises nothing the submission cannot keep.
/// Canonicalising is CPU work: call it off the async executor.
pub fn recordable(
    marketplace: &PublicKey,
    notice: &HolderNotice,
    verdict: &Verdict,
) -> Result<(), NoticeTooLarge> {
    if !verdict.accepted {
        return Ok(());
    }
    // A notice that decoded always canonicalises; an error here would be a bug, and the append
    // would then refuse the entry with its own error.
    let size = max_entry_len(marketplace, &notice_body(notice, verdict)).unwrap_or(0);
    if size > MAX_ENTRY_BYTES {
        return Err(NoticeTooLarge { size });
    }
    Ok(())
}

/// A takedown decision as the operator states it.
#[derive(Debug, Clone)]
pub struct DecisionInput {
    /// What was done.
    pub outcome: DecisionOutcome,
    /// Why.
    pub reason: String,
    /// The seller's reference ([`seller_ref`] of the seller id).
    pub seller_ref: String,
    /// The listings decided on; every listing of the notice when none are named.
    pub listing_ids: Option<Vec<String>>,
}

/// The `decision` body for `notice` (this marketplace's own notice entry): the listings default
/// to the notice's, and a removal opens a counter-notice window of `counter_notice_days` from
/// `today`.
pub fn decision_body(
    notice: &Entry,
    input: DecisionInput,
    counter_notice_days: u32,
    today: &Date,
) -> Result<Body, ClaimError> {
    let Body::Notice(recorded) = notice.body() else {
        return Err(ClaimError::Inconsistent(
            "notice entry without a notice body",
        ));
    };
    let listing_ids = input.listing_ids.unwrap_or_else(|| {
        recorded
            .notice
            .listings
            .iter()
            .map(|listing| listing.id.clone())
            .collect()
    });
    let body = Body::Decision(DecisionV1 {
        v: 1,
        notice_id: notice.id(),
        listing_ids,
        outcome: input.outcome,
        reason: input.reason,
        seller_ref: input.seller_ref,
        counter_notice_deadline: counter_notice_deadline(
            input.outcome,
            today,
            counter_notice_days,
        )?,
    });
    body.validate()?;
    Ok(body)
}

/// The removal a counter-notice against `decision` (this marketplace's own decision entry)
/// answers; refused when the decision removed nothing.
pub fn removal(decision: &Entry) -> Result<&DecisionV1, ClaimError> {
    let Body::Decision(recorded) = decision.body() else {
        return Err(ClaimError::Inconsistent(
            "decision entry without a decision body",
        ));
    };
    if recorded.outcome != DecisionOutcome::Removed {
        return Err(ClaimError::NotARemoval);
    }
    Ok(recorded)
}

/// The `counter_notice` body answering `removal` (the body of decision `decision_id`, see
/// [`removal`]): same notice, same seller reference.
pub fn counter_notice_body(
    decision_id: EntryId,
    removal: &DecisionV1,
    statement: String,
    evidence: Vec<Evidence>,
) -> Result<Body, ClaimError> {
    let body = Body::CounterNotice(CounterNoticeV1 {
        v: 1,
        decision_id,
        notice_id: removal.notice_id,
        seller_ref: removal.seller_ref.clone(),
        statement,
        evidence,
    });
    body.validate()?;
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto_types::body::examples;
    use proto_types::entry::UnsignedEntry;
    use proto_types::keys::SecretKey;
    use proto_types::timestamp::Timestamp;
    use serde_json::Value;

    fn entry(key: &SecretKey, kind: EntryKind, body: Value) -> Entry {
        UnsignedEntry {
            seq: 1,
            prev: None,
            timestamp: Timestamp::from_unix_millis(1_700_000_000_000).expect("a timestamp"),
            body: Body::decode(kind, &body).expect("an example body"),
        }
        .sign(key)
        .expect("signs")
        .into_entry()
    }

    fn date(text: &str) -> Date {
        Date::parse(text).expect("a date")
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

    #[test]
    fn seller_ids_are_one_to_256_bytes_and_not_blank() {
        assert!(check_seller_id("seller-7781").is_ok());
        assert!(check_seller_id(&"x".repeat(MAX_SELLER_ID_BYTES)).is_ok());
        for bad in [String::new(), " \t".to_owned(), "x".repeat(257)] {
            let error = check_seller_id(&bad).expect_err("refused");
            assert_eq!(error.to_string(), "seller_id: 1 to 256 bytes");
        }
    }

    #[test]
    fn only_a_removal_opens_a_counter_notice_window() {
        let today = date("2026-01-30");
        assert_eq!(
            counter_notice_deadline(DecisionOutcome::Removed, &today, 10).expect("in range"),
            Some(date("2026-02-09"))
        );
        assert_eq!(
            counter_notice_deadline(DecisionOutcome::Removed, &today, 0).expect("in range"),
            Some(today.clone())
        );
        for outcome in [DecisionOutcome::Rejected, DecisionOutcome::Restored] {
            assert_eq!(
                counter_notice_deadline(outcome, &today, 10).expect("no date"),
                None
            );
        }
        assert!(
            counter_notice_deadline(DecisionOutcome::Removed, &today, u32::MAX).is_err(),
            "a window past the calendar is an error, not a wrapped date"
        );
    }

    #[test]
    fn only_this_marketplaces_own_entries_of_the_named_kind_are_answered() {
        let market = SecretKey::from_seed(&examples::MARKETPLACE_SEED);
        let notice = entry(&market, EntryKind::Notice, examples::notice());
        let id = notice.id();
        let found = recorded_here(
            Some(notice.clone()),
            id,
            EntryKind::Notice,
            &market.public_key(),
        )
        .expect("own notice");
        assert_eq!(found.id(), id);
        let unknown =
            recorded_here(None, id, EntryKind::Notice, &market.public_key()).expect_err("unknown");
        assert_eq!(
            unknown.to_string(),
            format!("no notice {id} is known to this node")
        );
        let wrong_kind = recorded_here(
            Some(notice.clone()),
            id,
            EntryKind::Decision,
            &market.public_key(),
        )
        .expect_err("not a decision");
        assert_eq!(
            wrong_kind.to_string(),
            format!("entry {id} is not a decision recorded by this marketplace")
        );
        let stranger = SecretKey::generate().public_key();
        assert!(matches!(
            recorded_here(Some(notice), id, EntryKind::Notice, &stranger),
            Err(ClaimError::NotRecordedHere { .. })
        ));
    }

    #[test]
    fn a_decision_defaults_to_the_notices_listings_and_a_removal_carries_its_deadline() {
        let market = SecretKey::from_seed(&examples::MARKETPLACE_SEED);
        let notice = entry(&market, EntryKind::Notice, examples::notice());
        let Body::Notice(recorded) = notice.body() else {
            unreachable!("a notice entry")
        };
        let listings: Vec<String> = recorded
            .notice
            .listings
            .iter()
            .map(|listing| listing.id.clone())
            .collect();
        assert!(!listings.is_empty());
        let input = |outcome, listing_ids| DecisionInput {
            outcome,
            reason: "counterfeit confirmed".to_owned(),
            seller_ref: seller_ref(&[7u8; 32], "seller-1"),
            listing_ids,
        };
        let today = date("2026-03-01");
        let body = decision_body(&notice, input(DecisionOutcome::Removed, None), 14, &today)
            .expect("a removal");
        let Body::Decision(decision) = body else {
            unreachable!("a decision body")
        };
        assert_eq!(decision.notice_id, notice.id());
        assert_eq!(decision.listing_ids, listings);
        assert_eq!(decision.counter_notice_deadline, Some(date("2026-03-15")));
        let body = decision_body(
            &notice,
            input(
                DecisionOutcome::Rejected,
                Some(vec!["listing-1".to_owned()]),
            ),
            14,
            &today,
        )
        .expect("a rejection");
        let Body::Decision(decision) = body else {
            unreachable!("a decision body")
        };
        assert_eq!(decision.listing_ids, ["listing-1"]);
        assert_eq!(decision.counter_notice_deadline, None);
        let duplicate = decision_body(
            &notice,
            input(
                DecisionOutcome::Removed,
                Some(vec!["a".to_owned(), "a".to_owned()]),
            ),
            14,
            &today,
        )
        .expect_err("duplicate listings");
        assert!(matches!(duplicate, ClaimError::Invalid(_)), "{duplicate}");
        assert!(duplicate.to_string().starts_with("listing_ids[1]: "));
        let decision_entry = entry(&market, EntryKind::Decision, examples::decision());
        assert!(matches!(
            decision_body(
                &decision_entry,
                input(DecisionOutcome::Removed, None),
                14,
                &today
            ),
            Err(ClaimError::Inconsistent(_))
        ));
    }

    #[test]
    fn a_counter_notice_answers_only_a_removal_with_its_notice_and_seller() {
        let market = SecretKey::from_seed(&examples::MARKETPLACE_SEED);
        let removed = entry(&market, EntryKind::Decision, examples::decision());
        let answered = removal(&removed).expect("the example removes");
        let body =
            counter_notice_body(removed.id(), answered, "bought lawfully".to_owned(), vec![])
                .expect("a counter-notice");
        let Body::CounterNotice(counter) = body else {
            unreachable!("a counter-notice body")
        };
        assert_eq!(counter.decision_id, removed.id());
        assert_eq!(counter.notice_id, answered.notice_id);
        assert_eq!(counter.seller_ref, answered.seller_ref);
        let blank = counter_notice_body(removed.id(), answered, String::new(), vec![])
            .expect_err("a statement is required");
        assert!(blank.to_string().starts_with("statement: "), "{blank}");
        let mut rejected = examples::decision();
        rejected["outcome"] = "rejected".into();
        rejected
            .as_object_mut()
            .expect("an object")
            .remove("counter_notice_deadline");
        let rejected = entry(&market, EntryKind::Decision, rejected);
        assert!(matches!(removal(&rejected), Err(ClaimError::NotARemoval)));
        let notice = entry(&market, EntryKind::Notice, examples::notice());
        assert!(matches!(removal(&notice), Err(ClaimError::Inconsistent(_))));
    }

    #[test]
    fn only_an_accepted_notice_must_fit_in_an_entry() {
        let market = SecretKey::from_seed(&examples::MARKETPLACE_SEED);
        let Body::Notice(recorded) = entry(&market, EntryKind::Notice, examples::notice())
            .body()
            .clone()
        else {
            unreachable!("a notice entry")
        };
        let mut verdict = recorded.verdict.clone();
        verdict.accepted = true;
        assert_eq!(
            recordable(&market.public_key(), &recorded.notice, &verdict),
            Ok(())
        );
        // A verdict of many long reasons makes the entry too large to record.
        let mut reason = verdict.reasons[0].clone();
        reason.message = "x".repeat(500);
        verdict.reasons = vec![reason; 200];
        let too_large =
            recordable(&market.public_key(), &recorded.notice, &verdict).expect_err("too large");
        assert!(too_large.size > MAX_ENTRY_BYTES);
        assert!(
            too_large
                .to_string()
                .contains("over the limit of 65535 bytes"),
            "{too_large}"
        );
        verdict.accepted = false;
        assert_eq!(
            recordable(&market.public_key(), &recorded.notice, &verdict),
            Ok(())
        );
    }
}
