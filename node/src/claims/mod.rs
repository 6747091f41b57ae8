//! Claims on a marketplace node: the verdict on a holder's notice, what the marketplace
//! records (notices, decisions with their deadlines, counter-notices, seller references), the
//! restorations policy makes, and the accountability views (holder accuracy, seller strikes).
//!
//! A verdict lists every check with its outcome, never a bare boolean. The checks that need no
//! registry (signatures, proof, dates, policy) are in [`offline_checks`], shared with the
//! offline `rightsnet notice verify`; [`verdict`] adds the credential log (`log_checks`: key
//! rotation judged by anchoring, `credential_logged`, `credential_status`), the registry, nonce
//! and policy checks. `docs/protocol.md` §6.5.4 lists every check normatively; keep them in step.
//!
//! Rooms: `checks` (the offline checks), `verdict` (the marketplace's verdict), `log_checks`
//! (its checks against the credential log), `records` (the
//! bodies a marketplace records and the policy that shapes them), `restorations` (removals
//! restored by policy, and the sweep that records them), `accountability` (holder accuracy,
//! seller strikes). Everything here is plain functions over typed inputs and the store; the API
//! only parses, calls them and renders.

mod accountability;
mod checks;
mod log_checks;
mod records;
mod restorations;
mod verdict;

pub use self::accountability::{
    Fate, HolderAccuracy, HolderNoticeFate, SellerStrikes, Strike, holder_accuracy, seller_strikes,
};
pub use self::checks::{credential_checks, offline_checks};
pub use self::records::{
    ClaimError, DecisionInput, MAX_SELLER_ID_BYTES, NoticeTooLarge, check_seller_id,
    counter_notice_body, counter_notice_deadline, decision_body, notice_body, recordable,
    recorded_here, removal, seller_ref,
};
pub use self::restorations::{
    DueRestoration, RESTORE_SWEEP_INTERVAL, contested_removals, due_restorations,
    restore_uncontested,
};
pub use self::verdict::{VerdictContext, verdict};

use proto_types::body::VerdictReason;
use proto_types::entry::{Entry, EntryId};

use crate::storage::{ClaimIndex, StorageError, Store};

/// Most claim entries read for one accountability view.
pub const MAX_VIEW_ENTRIES: usize = 10_000;

/// One verdict reason; a message over 500 characters is cut (the protocol's bound).
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

/// Loads the entries `ids` names, skipping any the store does not hold.
fn load(store: &Store, ids: &[EntryId]) -> Result<Vec<Entry>, StorageError> {
    let mut entries = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(entry) = store.entry(id)? {
            entries.push(entry);
        }
    }
    Ok(entries)
}

/// The decisions and counter-notices recorded for a notice, oldest first.
pub fn follow_ups(store: &Store, notice_id: &EntryId) -> Result<Vec<Entry>, StorageError> {
    let ids = store.claim_ids(ClaimIndex::Notice, &notice_id.to_hex(), MAX_VIEW_ENTRIES)?;
    let mut entries = load(store, &ids)?;
    entries.sort_by(|a, b| a.timestamp().cmp(b.timestamp()).then(a.seq().cmp(&b.seq())));
    Ok(entries)
}
