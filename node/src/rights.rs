//! The current state of a right: the fold of its `registration` and `status` entries.
//!
//! Only entries of the authority that registered a right change it, in that authority's feed
//! order, so every node folds the same entries in the same order and reaches the same state.
//! An entry that cannot change the state (a status for an unknown right, a renewal of a
//! cancelled right, another authority's registration of the same right) is stored in its feed
//! like any other but is *ineffective*: the fold returns the reason and the state is unchanged.

use proto_types::body::{
    Digest, Holder, Jurisdiction, RegistrationV1, RightId, RightStatus, RightType, StatusChange,
    StatusV1,
};
use proto_types::entry::{Entry, EntryId};
use proto_types::keys::PublicKey;
use proto_types::timestamp::{Date, Timestamp};
use serde::{Deserialize, Serialize};

/// Most history items kept in a right's state; older ones are dropped (the feed keeps them all).
pub const MAX_HISTORY: usize = 256;

/// One entry that changed a right.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryItem {
    /// The entry's id.
    pub entry_id: EntryId,
    /// Its `seq` in the registering authority's feed.
    pub seq: u64,
    /// What the entry did to the right.
    pub change: HistoryChange,
    /// The date the change takes effect (the filing date for a registration).
    pub effective_date: Date,
    /// When the authority wrote the entry.
    pub timestamp: Timestamp,
}

/// What one entry of a right's history did. Written (in the API and in the stored state) as
/// the lowercase word: `registration`, `correction`, or the status change (`renewed`,
/// `assigned`, `cancelled`, `expired`, `restored`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HistoryChange {
    /// The first registration entry of the right.
    Registration,
    /// A later registration entry by the same authority (protocol §6.3).
    Correction,
    /// A `renewed` status entry.
    Renewed,
    /// An `assigned` status entry.
    Assigned,
    /// A `cancelled` status entry.
    Cancelled,
    /// An `expired` status entry.
    Expired,
    /// A `restored` status entry.
    Restored,
}

impl From<StatusChange> for HistoryChange {
    fn from(change: StatusChange) -> Self {
        match change {
            StatusChange::Renewed => Self::Renewed,
            StatusChange::Assigned => Self::Assigned,
            StatusChange::Cancelled => Self::Cancelled,
            StatusChange::Expired => Self::Expired,
            StatusChange::Restored => Self::Restored,
        }
    }
}

/// The current state of a right.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RightState {
    /// The right's id, `FR-TM-4123456` (written as that text).
    pub right_id: RightId,
    /// Trademark, design, patent or copyright.
    pub right_type: RightType,
    /// Where the right is registered.
    pub jurisdiction: Jurisdiction,
    /// Registration (or application) number.
    pub number: String,
    /// Application number, if different.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application_number: Option<String>,
    /// The mark's verbal element.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mark_text: Option<String>,
    /// Title of a design, patent or work.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Digest of the mark's image, for figurative marks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_digest: Option<Digest>,
    /// Nice classes covered.
    pub nice_classes: Vec<u8>,
    /// The current holder.
    pub holder: Holder,
    /// Filing date.
    pub filing_date: Date,
    /// Registration date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration_date: Option<Date>,
    /// Current expiry date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiry_date: Option<Date>,
    /// Status as recorded (see [`RightState::liveness`] for whether it is alive on a date).
    pub status: RightStatus,
    /// The authority that registered the right (its original key, across rotations); only it
    /// can change it.
    pub registered_by: PublicKey,
    /// The entry that last changed the right.
    pub last_entry: EntryId,
    /// The entries that changed the right, oldest first (at most [`MAX_HISTORY`]).
    pub history: Vec<HistoryItem>,
}

/// Whether a right is alive on a given date, and if not, what says so.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Liveness {
    /// Registered and not expired.
    Alive,
    /// Filed but not registered.
    NotRegistered,
    /// Cancelled by the entry named.
    Cancelled {
        /// The cancelling entry.
        entry_id: EntryId,
    },
    /// Expired: by an `expired` entry, or because its expiry date has passed.
    Expired {
        /// The entry that recorded the expiry, or the last entry when the date ran out.
        entry_id: EntryId,
        /// The expiry date, when known.
        #[serde(skip_serializing_if = "Option::is_none")]
        expiry_date: Option<Date>,
    },
}

impl RightState {
    /// Whether the right is alive on `today`.
    pub fn liveness(&self, today: &Date) -> Liveness {
        match self.status {
            RightStatus::Cancelled => Liveness::Cancelled {
                entry_id: self.last_change_of(HistoryChange::Cancelled),
            },
            RightStatus::Expired => Liveness::Expired {
                entry_id: self.last_change_of(HistoryChange::Expired),
                expiry_date: self.expiry_date.clone(),
            },
            RightStatus::Filed => Liveness::NotRegistered,
            RightStatus::Registered => match &self.expiry_date {
                Some(expiry) if expiry < today => Liveness::Expired {
                    entry_id: self.last_entry,
                    expiry_date: Some(expiry.clone()),
                },
                _ => Liveness::Alive,
            },
        }
    }

    /// The latest entry of the history that made `change`, or the right's last entry.
    pub fn last_change_of(&self, change: HistoryChange) -> EntryId {
        self.last_of(&[change]).unwrap_or(self.last_entry)
    }

    /// The latest entry of the history that made one of `changes`, if any is kept.
    pub fn last_of(&self, changes: &[HistoryChange]) -> Option<EntryId> {
        self.history
            .iter()
            .rev()
            .find(|item| changes.contains(&item.change))
            .map(|item| item.entry_id)
    }

    fn record(&mut self, entry: &EntryMeta, change: HistoryChange, effective_date: Date) {
        self.last_entry = entry.id;
        self.history.push(HistoryItem {
            entry_id: entry.id,
            seq: entry.seq,
            change,
            effective_date,
            timestamp: entry.timestamp.clone(),
        });
        if self.history.len() > MAX_HISTORY {
            let excess = self.history.len() - MAX_HISTORY;
            self.history.drain(..excess);
        }
    }
}

/// What the fold needs to know of the entry it applies.
#[derive(Debug, Clone)]
pub struct EntryMeta {
    /// The entry's author.
    pub author: PublicKey,
    /// The authority the author speaks for: its original key, which differs from `author`
    /// after a key rotation.
    pub authority: PublicKey,
    /// The entry's id.
    pub id: EntryId,
    /// The entry's `seq`.
    pub seq: u64,
    /// The entry's timestamp.
    pub timestamp: Timestamp,
}

impl EntryMeta {
    /// The meta of a decoded entry whose author speaks for `authority`.
    pub fn of(entry: &Entry, authority: PublicKey) -> Self {
        Self {
            author: *entry.author(),
            authority,
            id: entry.id(),
            seq: entry.seq(),
            timestamp: entry.timestamp().clone(),
        }
    }
}

/// Whether two states describe the same right identically, ignoring history.
pub fn same_content(left: &RightState, right: &RightState) -> bool {
    let strip = |state: &RightState| {
        let mut state = state.clone();
        state.history.clear();
        state.last_entry = EntryId([0; 32]);
        state
    };
    strip(left) == strip(right)
}

/// Why an entry did not change a right.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Ineffective {
    /// Another authority registered this right first.
    #[error("right {right_id} is already registered by {registered_by}")]
    RegisteredByOther {
        /// The right.
        right_id: RightId,
        /// Who registered it.
        registered_by: String,
    },
    /// A status change for a right this node has no registration of.
    #[error("no registration of right {0} is known")]
    UnknownRight(RightId),
    /// A status change by an authority that did not register the right.
    #[error("only the registering authority {0} may change this right")]
    NotRegistrant(String),
    /// A registration entry for a right already registered (a correction) that changes what
    /// only a status change may change: the holder, the expiry date or the status.
    #[error(
        "right {right_id} is already registered; a correcting registration cannot change its {field}: record {use_instead} (POST /v1/rights/{right_id}/status) instead"
    )]
    CorrectionChanges {
        /// The right.
        right_id: RightId,
        /// `holder`, `expiry_date` or `status`.
        field: &'static str,
        /// The status change that expresses it.
        use_instead: &'static str,
    },
    /// The change makes no sense in the right's current status.
    #[error("cannot apply {change} to a right whose status is {status}")]
    InvalidTransition {
        /// The change.
        change: String,
        /// The current status.
        status: String,
    },
}

fn status_name(status: &RightStatus) -> String {
    serde_json::to_value(status)
        .ok()
        .and_then(|value| value.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn change_name(change: &StatusChange) -> String {
    serde_json::to_value(change)
        .ok()
        .and_then(|value| value.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// Applies a `registration` entry to the right's current state (none when unknown).
pub fn apply_registration(
    current: Option<&RightState>,
    entry: &EntryMeta,
    body: &RegistrationV1,
) -> Result<RightState, Ineffective> {
    let mut history = Vec::new();
    if let Some(current) = current {
        if current.registered_by != entry.authority {
            return Err(Ineffective::RegisteredByOther {
                right_id: current.right_id.clone(),
                registered_by: current.registered_by.to_did_key(),
            });
        }
        // A new registration entry by the same office corrects the record (mark, classes,
        // numbers, dates); history is kept and the entry shows in it as a `correction`. What
        // has a status change of its own (holder, expiry, status) is never changed silently.
        let refuse = |field, use_instead| {
            Err(Ineffective::CorrectionChanges {
                right_id: current.right_id.clone(),
                field,
                use_instead,
            })
        };
        if body.holder != current.holder {
            return refuse("holder", "an `assigned` status change with the new holder");
        }
        // Filed → registered has no status change of its own; a correction records it, with
        // the expiry date of the first term.
        let registers_filed =
            current.status == RightStatus::Filed && body.status == RightStatus::Registered;
        if body.expiry_date != current.expiry_date && !registers_filed {
            return refuse("expiry_date", "a `renewed` status change");
        }
        if body.status != current.status && !registers_filed {
            return refuse(
                "status",
                "a `cancelled`, `expired` or `restored` status change",
            );
        }
        history = current.history.clone();
    }
    let change = if current.is_some() {
        HistoryChange::Correction
    } else {
        HistoryChange::Registration
    };
    let mut state = RightState {
        right_id: body.right_id.clone(),
        right_type: body.right_type,
        jurisdiction: body.jurisdiction.clone(),
        number: body.number.clone(),
        application_number: body.application_number.clone(),
        mark_text: body.mark_text.clone(),
        title: body.title.clone(),
        image_digest: body.image_digest.clone(),
        nice_classes: body.nice_classes.clone(),
        holder: body.holder.clone(),
        filing_date: body.filing_date.clone(),
        registration_date: body.registration_date.clone(),
        expiry_date: body.expiry_date.clone(),
        status: body.status,
        registered_by: entry.authority,
        last_entry: entry.id,
        history,
    };
    state.record(entry, change, body.filing_date.clone());
    Ok(state)
}

/// Applies a `status` entry to the right's current state (none when unknown).
pub fn apply_status(
    current: Option<&RightState>,
    entry: &EntryMeta,
    body: &StatusV1,
) -> Result<RightState, Ineffective> {
    let current = current.ok_or_else(|| Ineffective::UnknownRight(body.right_id.clone()))?;
    if current.registered_by != entry.authority {
        return Err(Ineffective::NotRegistrant(
            current.registered_by.to_did_key(),
        ));
    }
    let invalid = || Ineffective::InvalidTransition {
        change: change_name(&body.change),
        status: status_name(&current.status),
    };
    let mut state = current.clone();
    match body.change {
        StatusChange::Renewed => {
            if matches!(current.status, RightStatus::Cancelled | RightStatus::Filed) {
                return Err(invalid());
            }
            state.status = RightStatus::Registered;
            state.expiry_date = body.new_expiry_date.clone();
        }
        StatusChange::Assigned => {
            if current.status == RightStatus::Cancelled {
                return Err(invalid());
            }
            if let Some(holder) = &body.new_holder {
                state.holder = holder.clone();
            }
        }
        StatusChange::Cancelled => {
            if current.status == RightStatus::Cancelled {
                return Err(invalid());
            }
            state.status = RightStatus::Cancelled;
        }
        StatusChange::Expired => {
            if matches!(
                current.status,
                RightStatus::Cancelled | RightStatus::Expired
            ) {
                return Err(invalid());
            }
            state.status = RightStatus::Expired;
        }
        StatusChange::Restored => {
            if !matches!(
                current.status,
                RightStatus::Cancelled | RightStatus::Expired
            ) {
                return Err(invalid());
            }
            state.status = RightStatus::Registered;
            if let Some(expiry) = &body.new_expiry_date {
                state.expiry_date = Some(expiry.clone());
            }
        }
    }
    state.record(entry, body.change.into(), body.effective_date.clone());
    Ok(state)
}

/// An entry of a right's history, read back for [`refold`]: its meta and its body.
pub enum FoldEntry<'a> {
    /// A `registration` entry.
    Registration(EntryMeta, &'a RegistrationV1),
    /// A `status` entry.
    Status(EntryMeta, &'a StatusV1),
}

/// What [`refold`] found: the right's state (none when no registration counts any more) and
/// the entries of the history that no longer apply, with the reason.
pub struct Refolded {
    /// The right's state folded again.
    pub state: Option<RightState>,
    /// History entries that the fold without the distrusted ones refuses.
    pub ineffective: Vec<(EntryId, Ineffective)>,
}

/// Folds a right again, from scratch, from the entries of its history that still count, in
/// their original order (protocol §6.9.1: the rights a compromised range changed are folded
/// again from the authority's entries without it). Pure.
pub fn refold<'a>(entries: impl IntoIterator<Item = FoldEntry<'a>>) -> Refolded {
    let mut state: Option<RightState> = None;
    let mut ineffective = Vec::new();
    for entry in entries {
        let (id, result) = match entry {
            FoldEntry::Registration(meta, body) => {
                (meta.id, apply_registration(state.as_ref(), &meta, body))
            }
            FoldEntry::Status(meta, body) => (meta.id, apply_status(state.as_ref(), &meta, body)),
        };
        match result {
            Ok(next) => state = Some(next),
            Err(reason) => ineffective.push((id, reason)),
        }
    }
    Refolded { state, ineffective }
}

#[cfg(test)]
mod history_tests {
    use super::*;

    /// The words are part of the API and of the stored state: pinned here.
    #[test]
    fn history_changes_are_written_as_the_protocols_words() {
        let words = [
            (HistoryChange::Registration, "registration"),
            (HistoryChange::Correction, "correction"),
            (HistoryChange::Renewed, "renewed"),
            (HistoryChange::Assigned, "assigned"),
            (HistoryChange::Cancelled, "cancelled"),
            (HistoryChange::Expired, "expired"),
            (HistoryChange::Restored, "restored"),
        ];
        for (change, word) in words {
            assert_eq!(serde_json::to_value(change).unwrap(), word);
            let back: HistoryChange = serde_json::from_value(serde_json::json!(word)).unwrap();
            assert_eq!(back, change);
        }
        for status in [
            StatusChange::Renewed,
            StatusChange::Assigned,
            StatusChange::Cancelled,
            StatusChange::Expired,
            StatusChange::Restored,
        ] {
            let change: HistoryChange = status.into();
            assert_eq!(serde_json::to_value(change).unwrap(), status.as_str());
        }
    }
}
