//! The `status` body: a later change of a registered right.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::BodyError;
use super::check::{self, Lines};
use super::values::{Holder, RightId};
use crate::timestamp::Date;

/// Longest reason of a status change, in characters.
pub const MAX_STATUS_REASON_CHARS: usize = 1000;
/// Longest office reference of a status change (a file or decision number), in characters.
pub const MAX_REFERENCE_CHARS: usize = 200;

/// What happened to a right.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum StatusChange {
    /// Renewed for a new term; `new_expiry_date` is required.
    Renewed,
    /// Transferred to a new holder; `new_holder` is required.
    Assigned,
    /// Cancelled, revoked or invalidated.
    Cancelled,
    /// Lapsed at the end of its term.
    Expired,
    /// Restored after lapsing or cancellation; may carry a `new_expiry_date`.
    Restored,
}

impl StatusChange {
    /// The change as written in JSON, e.g. `renewed`.
    pub fn as_str(&self) -> &'static str {
        match self {
            StatusChange::Renewed => "renewed",
            StatusChange::Assigned => "assigned",
            StatusChange::Cancelled => "cancelled",
            StatusChange::Expired => "expired",
            StatusChange::Restored => "restored",
        }
    }
}

/// Version 1 of a `status` body: a change of a right, effective on a date. The current state of
/// a right is the fold of its registration and status entries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusV1 {
    /// The body version, always 1.
    #[schemars(schema_with = "super::fields::version")]
    pub v: u32,
    /// The right that changed.
    pub right_id: RightId,
    /// What happened.
    pub change: StatusChange,
    /// When the change takes effect.
    pub effective_date: Date,
    /// The new expiry date: required when renewed, allowed when restored, absent otherwise;
    /// after `effective_date`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_expiry_date: Option<Date>,
    /// The new holder: required when assigned, absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_holder: Option<Holder>,
    /// Why, in words, at most [`MAX_STATUS_REASON_CHARS`] characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = MAX_STATUS_REASON_CHARS), regex(pattern = super::fields::MULTI_LINE))]
    pub reason: Option<String>,
    /// The office's reference for the change, at most [`MAX_REFERENCE_CHARS`] characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = MAX_REFERENCE_CHARS), regex(pattern = super::fields::SINGLE_LINE))]
    pub reference: Option<String>,
}

impl StatusV1 {
    /// Checks every field and which fields each kind of change requires or forbids.
    pub fn validate(&self) -> Result<(), BodyError> {
        check::version(self.v, "status")?;
        let change = self.change.as_str();
        match (self.change, &self.new_expiry_date) {
            (StatusChange::Renewed, None) => {
                return Err(BodyError::new(
                    "new_expiry_date",
                    "required when the change is renewed",
                ));
            }
            (StatusChange::Renewed | StatusChange::Restored, Some(new_expiry_date)) => {
                if new_expiry_date <= &self.effective_date {
                    return Err(BodyError::new(
                        "new_expiry_date",
                        format!(
                            "{new_expiry_date} is not after the effective date {}",
                            self.effective_date
                        ),
                    ));
                }
            }
            (_, Some(_)) => {
                return Err(BodyError::new(
                    "new_expiry_date",
                    format!("only allowed when renewed or restored, not when {change}"),
                ));
            }
            (_, None) => {}
        }
        match (self.change, &self.new_holder) {
            (StatusChange::Assigned, None) => {
                return Err(BodyError::new(
                    "new_holder",
                    "required when the change is assigned",
                ));
            }
            (StatusChange::Assigned, Some(holder)) => {
                holder
                    .validate()
                    .map_err(|error| error.within("new_holder"))?;
            }
            (_, Some(_)) => {
                return Err(BodyError::new(
                    "new_holder",
                    format!("only allowed when assigned, not when {change}"),
                ));
            }
            (_, None) => {}
        }
        check::optional_text(
            "reason",
            self.reason.as_deref(),
            MAX_STATUS_REASON_CHARS,
            Lines::Multi,
        )?;
        check::optional_text(
            "reference",
            self.reference.as_deref(),
            MAX_REFERENCE_CHARS,
            Lines::Single,
        )
    }
}
