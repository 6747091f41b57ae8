//! The restoration sweep of a marketplace node: removals whose counter-notice deadline passed
//! without the holder acting are restored by policy (see [`claims::due_restorations`]).

use proto_types::body::{Body, DecisionOutcome, DecisionV1};
use proto_types::keys::PublicKey;

use crate::claims;
use crate::clock::today;
use crate::ingest::Ingest;

/// How often a marketplace restores removals whose counter-notice went uncontested.
pub const RESTORE_SWEEP_INTERVAL: std::time::Duration = std::time::Duration::from_secs(60);

/// Records a `restored` decision for every removal whose counter-notice deadline passed
/// without the holder acting. Returns how many it restored.
pub async fn restore_uncontested(ingest: &Ingest) -> anyhow::Result<usize> {
    let authority = *ingest.authority();
    if ingest.trust().rotated_at(&authority).is_some() {
        // The node cannot sign with a rotated-away key (logged at start and refused with
        // `key_rotated`); the sweep resumes once the operator configures the new key.
        return Ok(0);
    }
    // Counter-notices recorded under an earlier key of this marketplace are its own too.
    let own = ingest.trust().root(&authority);
    let due = {
        let ingest = ingest.clone();
        tokio::task::spawn_blocking(move || {
            claims::due_restorations(
                ingest.store(),
                |author: &PublicKey| ingest.trust().root(author) == own,
                &today(),
            )
        })
        .await??
    };
    let mut restored = 0;
    for item in due {
        let deadline = item
            .removal
            .counter_notice_deadline
            .as_ref()
            .map_or_else(String::new, |date| date.to_string());
        let body = Body::Decision(DecisionV1 {
            v: 1,
            notice_id: item.notice_id,
            listing_ids: item.removal.listing_ids.clone(),
            outcome: DecisionOutcome::Restored,
            reason: format!(
                "restored by policy: the seller's counter-notice was not contested before {deadline}"
            ),
            seller_ref: item.removal.seller_ref.clone(),
            counter_notice_deadline: None,
        });
        ingest.append(body).await?;
        restored += 1;
    }
    Ok(restored)
}
