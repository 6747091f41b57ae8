//! The `decision` and `counter_notice` bodies: a marketplace's takedown outcome for a notice, and
//! a seller's response to it.

use std::collections::HashSet;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::BodyError;
use super::check::{self, Lines};
use super::values::{Evidence, MAX_LISTING_ID_CHARS};
use crate::entry::EntryId;
use crate::timestamp::Date;

/// Most listings one decision covers.
pub const MAX_DECISION_LISTINGS: usize = 100;
/// Longest decision reason, in characters.
pub const MAX_DECISION_REASON_CHARS: usize = 1000;
/// Longest counter-notice statement, in characters.
pub const MAX_COUNTER_STATEMENT_CHARS: usize = 5000;
/// Length of a seller reference: a keyed hash in lowercase hex, never a raw seller id.
pub const SELLER_REF_HEX_CHARS: usize = 64;

/// What a marketplace did with the listings of a notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DecisionOutcome {
    /// The listings were taken down; the seller may file a counter-notice until the deadline.
    Removed,
    /// The notice was rejected; the listings stay.
    Rejected,
    /// Listings taken down earlier were put back (after a counter-notice, usually).
    Restored,
}

/// Version 1 of a `decision` body: a marketplace's takedown outcome for a notice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionV1 {
    /// The body version, always 1.
    #[schemars(schema_with = "super::fields::version")]
    pub v: u32,
    /// The `notice` entry decided on.
    pub notice_id: EntryId,
    /// The listings the decision covers, 1 to [`MAX_DECISION_LISTINGS`], distinct.
    #[schemars(length(min = 1, max = MAX_DECISION_LISTINGS), inner(length(min = 1, max = super::MAX_LISTING_ID_CHARS), regex(pattern = super::fields::SINGLE_LINE)))]
    pub listing_ids: Vec<String>,
    /// What was done.
    pub outcome: DecisionOutcome,
    /// Why, 1 to [`MAX_DECISION_REASON_CHARS`] characters.
    #[schemars(length(min = 1, max = MAX_DECISION_REASON_CHARS), regex(pattern = super::fields::MULTI_LINE))]
    pub reason: String,
    /// The seller, pseudonymously: a keyed hash scoped to the marketplace, 64 lowercase hex
    /// characters. Never a raw seller id.
    #[schemars(regex(pattern = super::fields::HEX_64))]
    pub seller_ref: String,
    /// Until when the seller may file a counter-notice; required when removed, absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counter_notice_deadline: Option<Date>,
}

impl DecisionV1 {
    /// Checks every field, and that only removals carry a counter-notice deadline.
    pub fn validate(&self) -> Result<(), BodyError> {
        check::version(self.v, "decision")?;
        check::count(
            "listing_ids",
            self.listing_ids.len(),
            1,
            MAX_DECISION_LISTINGS,
        )?;
        let mut ids = HashSet::with_capacity(self.listing_ids.len());
        for (index, id) in self.listing_ids.iter().enumerate() {
            let field = check::indexed("listing_ids", index);
            check::text(&field, id, MAX_LISTING_ID_CHARS, Lines::Single)?;
            if !ids.insert(id.as_str()) {
                return Err(BodyError::new(
                    field,
                    format!("duplicate listing id {:?}", check::truncated(id)),
                ));
            }
        }
        check::text(
            "reason",
            &self.reason,
            MAX_DECISION_REASON_CHARS,
            Lines::Multi,
        )?;
        check::lower_hex(
            "seller_ref",
            &self.seller_ref,
            SELLER_REF_HEX_CHARS,
            SELLER_REF_HEX_CHARS,
        )?;
        match (self.outcome, &self.counter_notice_deadline) {
            (DecisionOutcome::Removed, None) => Err(BodyError::new(
                "counter_notice_deadline",
                "required when the outcome is removed",
            )),
            (DecisionOutcome::Rejected | DecisionOutcome::Restored, Some(_)) => {
                Err(BodyError::new(
                    "counter_notice_deadline",
                    "only allowed when the outcome is removed",
                ))
            }
            _ => Ok(()),
        }
    }
}

/// Version 1 of a `counter_notice` body: a seller's response to a decision, recorded by the
/// marketplace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CounterNoticeV1 {
    /// The body version, always 1.
    #[schemars(schema_with = "super::fields::version")]
    pub v: u32,
    /// The `decision` entry answered.
    pub decision_id: EntryId,
    /// The `notice` entry that decision was about.
    pub notice_id: EntryId,
    /// The seller, as in the decision: 64 lowercase hex characters.
    #[schemars(regex(pattern = super::fields::HEX_64))]
    pub seller_ref: String,
    /// The seller's statement, 1 to [`MAX_COUNTER_STATEMENT_CHARS`] characters.
    #[schemars(length(min = 1, max = MAX_COUNTER_STATEMENT_CHARS), regex(pattern = super::fields::MULTI_LINE))]
    pub statement: String,
    /// Evidence, at most [`MAX_EVIDENCE_ITEMS`](super::MAX_EVIDENCE_ITEMS) items.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = super::MAX_EVIDENCE_ITEMS))]
    pub evidence: Vec<Evidence>,
}

impl CounterNoticeV1 {
    /// Checks every field.
    pub fn validate(&self) -> Result<(), BodyError> {
        check::version(self.v, "counter_notice")?;
        check::lower_hex(
            "seller_ref",
            &self.seller_ref,
            SELLER_REF_HEX_CHARS,
            SELLER_REF_HEX_CHARS,
        )?;
        check::text(
            "statement",
            &self.statement,
            MAX_COUNTER_STATEMENT_CHARS,
            Lines::Multi,
        )?;
        Evidence::validate_list("evidence", &self.evidence)
    }
}
