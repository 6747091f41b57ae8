//! Register-or-update: how an office's register, replayed by an importer, becomes entries.
//!
//! A record for a right the office has not registered becomes a `registration` entry. A record
//! for a right it has registered becomes what changed, in this order: a corrective
//! `registration` (mark, classes, dates, numbers…), `assigned` (new holder), `renewed` (later
//! expiry), and `cancelled` / `expired` / `restored` (status). An identical record writes
//! nothing, and a record whose status date is older than the right's latest change is older
//! news and writes nothing either, so importing the same file twice adds nothing (registers
//! that carry status dates replay safely even when one file holds several states of a right).

use proto_types::body::{
    Body, EntryKind, Holder, RegistrationV1, RightStatus, StatusChange, StatusV1,
};
use proto_types::timestamp::Date;

use crate::ingest::{Ingest, IngestError, IngestOutcome, Source};
use crate::rights::RightState;

/// Most records in one batch request.
pub const MAX_BATCH_ITEMS: usize = 1000;

fn status_body(
    registration: &RegistrationV1,
    change: StatusChange,
    effective_date: Date,
    new_expiry_date: Option<Date>,
    new_holder: Option<Holder>,
) -> Result<Body, IngestError> {
    let body = StatusV1 {
        v: 1,
        right_id: registration.right_id.clone(),
        change,
        effective_date,
        new_expiry_date,
        new_holder,
        reason: Some("register import".to_owned()),
        reference: None,
    };
    let value = serde_json::to_value(&body).map_err(|e| IngestError::Refused(e.to_string()))?;
    Body::decode(EntryKind::Status, &value).map_err(|error| IngestError::Refused(error.to_string()))
}

/// Whether the record differs from the state in anything a status entry cannot express.
fn needs_correction(current: &RightState, record: &RegistrationV1) -> bool {
    current.right_type != record.right_type
        || current.number != record.number
        || current.application_number != record.application_number
        || current.mark_text != record.mark_text
        || current.title != record.title
        || current.image_digest != record.image_digest
        || current.nice_classes != record.nice_classes
        || current.filing_date != record.filing_date
        || current.registration_date != record.registration_date
        // Filed → registered has no status change of its own.
        || (current.status == RightStatus::Filed && record.status == RightStatus::Registered)
}

/// Whether `record` is an application that ended before it was registered (abandoned, refused,
/// withdrawn: `cancelled`, with no registration date). It was never a right: for a right the node does
/// not know it writes nothing; for a known (filed) one it is the status change that ends it.
pub fn never_registered(record: &RegistrationV1) -> bool {
    // Only `cancelled`: that is how importers write a dead application (docs/IMPORT.md); an
    // `expired` record without a registration date may be a registration whose register left
    // the date out, and is kept.
    record.registration_date.is_none() && record.status == RightStatus::Cancelled
}

/// Registers `record` or applies what changed since the office last registered it. Returns
/// no outcome at all for an application that ended before registration and is unknown here
/// ([`never_registered`]).
/// `status_date` is when the record's status took effect, if the register says.
pub async fn upsert(
    ingest: &Ingest,
    record: RegistrationV1,
    status_date: Option<Date>,
) -> Result<Vec<IngestOutcome>, IngestError> {
    let store = ingest.store().clone();
    let right_id = record.right_id.as_str().to_owned();
    let current = tokio::task::spawn_blocking(move || store.right(&right_id))
        .await
        .map_err(|_| IngestError::Closed)??;
    let Some(current) = current else {
        if never_registered(&record) {
            return Ok(Vec::new());
        }
        return Ok(vec![
            ingest
                .append_from(Body::Registration(record), Source::Bulk)
                .await?,
        ]);
    };
    let own = ingest.trust().root(ingest.authority());
    if current.registered_by != own {
        return Err(IngestError::Refused(format!(
            "right {} was registered by {}, not by this office",
            current.right_id, current.registered_by
        )));
    }
    // A record dated before the right's latest change is older news (a file replayed, or an
    // earlier line of the same file): it changes nothing.
    let latest = current
        .history
        .iter()
        .map(|item| &item.effective_date)
        .max();
    if let (Some(date), Some(latest)) = (&status_date, latest) {
        if date < latest {
            return Ok(vec![IngestOutcome::Unchanged {
                last_entry: current.last_entry,
            }]);
        }
    }
    let today = crate::clock::today();
    let effective = status_date.clone().unwrap_or_else(|| today.clone());
    let mut outcomes = Vec::new();
    // Filed → registered has no status change of its own: the correction that registers an
    // application also sets the expiry of its first term (protocol §6.3).
    let registers_filed =
        current.status == RightStatus::Filed && record.status == RightStatus::Registered;
    let expiry_after_correction = if registers_filed {
        record.expiry_date.clone()
    } else {
        current.expiry_date.clone()
    };
    if needs_correction(&current, &record) {
        // Correct the record but keep holder, expiry and status: those follow as status entries.
        let mut correction = record.clone();
        correction.holder = current.holder.clone();
        correction.expiry_date = expiry_after_correction.clone();
        if !registers_filed {
            correction.status = current.status;
        }
        outcomes.push(
            ingest
                .append_from(Body::Registration(correction), Source::Bulk)
                .await?,
        );
    }
    if record.holder != current.holder && current.status != RightStatus::Cancelled {
        let body = status_body(
            &record,
            StatusChange::Assigned,
            effective.clone(),
            None,
            Some(record.holder.clone()),
        )?;
        outcomes.push(ingest.append_from(body, Source::Bulk).await?);
    }
    let later_expiry = match (&record.expiry_date, &expiry_after_correction) {
        (Some(new), Some(old)) => new > old,
        (Some(_), None) => true,
        _ => false,
    };
    let restoring = matches!(
        current.status,
        RightStatus::Cancelled | RightStatus::Expired
    ) && record.status == RightStatus::Registered;
    if later_expiry && record.status == RightStatus::Registered && !restoring {
        // Dated by the register when it says, else from the end of the old term.
        let from = match &status_date {
            Some(date) => date.clone(),
            None => current
                .expiry_date
                .clone()
                .unwrap_or_else(|| effective.clone()),
        };
        let body = status_body(
            &record,
            StatusChange::Renewed,
            from,
            record.expiry_date.clone(),
            None,
        )?;
        outcomes.push(ingest.append_from(body, Source::Bulk).await?);
    }
    let change = match (current.status, record.status) {
        (RightStatus::Registered | RightStatus::Filed, RightStatus::Cancelled) => {
            Some(StatusChange::Cancelled)
        }
        (RightStatus::Registered | RightStatus::Filed, RightStatus::Expired) => {
            Some(StatusChange::Expired)
        }
        (RightStatus::Cancelled | RightStatus::Expired, RightStatus::Registered) => {
            Some(StatusChange::Restored)
        }
        _ => None,
    };
    if let Some(change) = change {
        let new_expiry = if change == StatusChange::Restored {
            record.expiry_date.clone()
        } else {
            None
        };
        let body = status_body(&record, change, effective, new_expiry, None)?;
        outcomes.push(ingest.append_from(body, Source::Bulk).await?);
    }
    if outcomes.is_empty() {
        outcomes.push(IngestOutcome::Unchanged {
            last_entry: current.last_entry,
        });
    }
    Ok(outcomes)
}
