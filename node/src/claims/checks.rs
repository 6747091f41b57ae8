//! The checks a party without a registry can make on a holder's notice: signatures, the
//! credential's proof and dates, the notice's age, and (given a trust store) the issuer's trust.
//! Shared with the offline `rightsnet notice verify`.

use proto_types::body::{HolderNotice, VerdictReason};
use proto_types::claims::{self, VerifiedCredential};
use proto_types::timestamp::Timestamp;
use serde_json::Value;

use super::reason;
use crate::trust::Trust;

/// The checks a party without a registry can make: the notice's signature, the credential's
/// proof, that the credential is the holder's and for the notice's right, its validity dates,
/// the notice's age, and (given a trust store) whether the issuer is an office trusted for the
/// right's jurisdiction. Returns the reasons and the verified credential, if any.
pub fn offline_checks(
    notice_value: &Value,
    notice: &HolderNotice,
    trust: Option<&Trust>,
    now: &Timestamp,
    max_age_hours: u32,
    max_skew_seconds: u32,
) -> (Vec<VerdictReason>, Option<VerifiedCredential>) {
    let mut reasons = Vec::new();
    match claims::check_notice_signature(notice_value, notice) {
        Ok(_) => reasons.push(reason(
            "notice_signature",
            true,
            "the notice is signed by the holder key it names",
        )),
        Err(error) => reasons.push(reason("notice_signature", false, error.to_string())),
    }
    let credential = verify_credential(&notice.credential, &mut reasons);
    if let Some(credential) = &credential {
        let subject_ok = credential.subject == notice.holder;
        reasons.push(reason(
            "holder_key",
            subject_ok,
            if subject_ok {
                "the notice's holder key is the credential subject".to_owned()
            } else {
                format!(
                    "the notice is signed by {} but the credential was issued to {}",
                    notice.holder, credential.subject
                )
            },
        ));
        let right_ok = credential.right_id == notice.right_id;
        reasons.push(reason(
            "credential_right",
            right_ok,
            if right_ok {
                format!("the credential attests right {}", notice.right_id.as_str())
            } else {
                format!(
                    "the credential attests right {}, not {}",
                    credential.right_id.as_str(),
                    notice.right_id.as_str()
                )
            },
        ));
        dates_and_trust(
            credential,
            notice.right_id.jurisdiction(),
            trust.map(|trust| (trust, "this marketplace")),
            now,
            max_skew_seconds,
            &mut reasons,
        );
    }
    let age_millis = now.unix_millis() - notice.created.unix_millis();
    let max_age = i64::from(max_age_hours) * 3_600_000;
    let skew = i64::from(max_skew_seconds) * 1000;
    let fresh = age_millis <= max_age && age_millis >= -skew;
    reasons.push(reason(
        "notice_age",
        fresh,
        if fresh {
            format!("created {}", notice.created)
        } else if age_millis > max_age {
            format!(
                "the notice was created {} and is older than {max_age_hours} hours",
                notice.created
            )
        } else {
            format!(
                "the notice's creation time {} is in the future",
                notice.created
            )
        },
    ));
    (reasons, credential)
}

/// The checks anyone can make on a credential alone, given a trust store: the
/// `eddsa-jcs-2022` proof as `rightsnet vc verify` checks it (`proof`), the
/// `IPRightCredential` shape, the issuer as the proof's signer (`credential_proof`), the
/// validity dates, the proof's own dates, and (given a trust store) whether the issuer is an
/// office trusted for the right's jurisdiction. The same reason codes and checks as
/// [`offline_checks`] makes on a notice's credential; the console's credential check.
pub fn credential_checks(
    document: &Value,
    trust: Option<&Trust>,
    now: &Timestamp,
    max_skew_seconds: u32,
) -> (Vec<VerdictReason>, Option<VerifiedCredential>) {
    let mut reasons = Vec::new();
    if document.get("proof").is_none() {
        reasons.push(reason(
            "proof",
            false,
            "the document has no proof: nothing to verify",
        ));
    } else {
        match proto_types::data_integrity::verify(document) {
            Ok(verified) => reasons.push(reason(
                "proof",
                true,
                format!(
                    "a valid {} proof by {} for {}",
                    proto_types::data_integrity::CRYPTOSUITE,
                    verified.signer().to_did_key(),
                    verified.proof_purpose()
                ),
            )),
            Err(error) => reasons.push(reason("proof", false, error.to_string())),
        }
    }
    let credential = verify_credential(document, &mut reasons);
    if let Some(credential) = &credential {
        dates_and_trust(
            credential,
            credential.right_id.jurisdiction(),
            trust.map(|trust| (trust, "this node")),
            now,
            max_skew_seconds,
            &mut reasons,
        );
    }
    (reasons, credential)
}

/// The credential's shape (`credential_shape`) and its issuer's proof (`credential_proof`):
/// the verified credential when both hold.
fn verify_credential(
    document: &Value,
    reasons: &mut Vec<VerdictReason>,
) -> Option<VerifiedCredential> {
    let content = match claims::read_credential(document) {
        Ok(content) => content,
        Err(error) => {
            reasons.push(reason("credential_shape", false, error.to_string()));
            return None;
        }
    };
    reasons.push(reason(
        "credential_shape",
        true,
        "the credential is a VC Data Model 2.0 IPRightCredential",
    ));
    match claims::verify_read_credential(document, content) {
        Ok(credential) => {
            reasons.push(reason(
                "credential_proof",
                true,
                format!(
                    "the credential's eddsa-jcs-2022 proof is valid and made by its issuer {}",
                    credential.issuer
                ),
            ));
            Some(credential)
        }
        Err(error) => {
            reasons.push(reason("credential_proof", false, error.to_string()));
            None
        }
    }
}

/// A verified credential's validity dates, its proof's dates, and (given a trust store and
/// who trusts, for the message) whether its issuer is an office trusted for `jurisdiction`.
fn dates_and_trust(
    credential: &VerifiedCredential,
    jurisdiction: &proto_types::body::Jurisdiction,
    trust: Option<(&Trust, &str)>,
    now: &Timestamp,
    max_skew_seconds: u32,
    reasons: &mut Vec<VerdictReason>,
) {
    reasons.push(validity(credential, now));
    reasons.push(proof_dates(credential, now, max_skew_seconds));
    let Some((trust, truster)) = trust else {
        return;
    };
    let trusted = trust.office_for(&credential.issuer, jurisdiction);
    let name = trust.get(&credential.issuer).map_or_else(
        || credential.issuer.to_did_key(),
        |authority| authority.name,
    );
    reasons.push(reason(
        "issuer_trusted",
        trusted,
        if trusted {
            format!(
                "the issuer {name} is an office trusted for {}",
                jurisdiction.as_str()
            )
        } else {
            format!(
                "the issuer {name} is not an office {truster} trusts for {}",
                jurisdiction.as_str()
            )
        },
    ));
}

/// Milliseconds since the Unix epoch of an RFC 3339 date-time.
fn date_time_millis(text: &str) -> Result<i64, time::error::Parse> {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map(|instant| (instant.unix_timestamp_nanos() / 1_000_000) as i64)
}

/// The proof's own dates: `created` not later than now plus the tolerated skew, `expires` (when
/// present) later than now. Both were checked to be RFC 3339 date-times by the proof check.
fn proof_dates(
    credential: &VerifiedCredential,
    now: &Timestamp,
    skew_seconds: u32,
) -> VerdictReason {
    let now_millis = now.unix_millis();
    let skew = i64::from(skew_seconds) * 1000;
    let parse = |text: &Option<String>| text.as_deref().map(date_time_millis);
    match (
        parse(&credential.proof_created),
        parse(&credential.proof_expires),
    ) {
        (Some(Err(_)), _) => reason(
            "proof_dates",
            false,
            "the proof's created is not a date-time",
        ),
        (_, Some(Err(_))) => reason(
            "proof_dates",
            false,
            "the proof's expires is not a date-time",
        ),
        (Some(Ok(created)), _) if created > now_millis + skew => reason(
            "proof_dates",
            false,
            format!(
                "the proof was created in the future ({})",
                credential.proof_created.as_deref().unwrap_or("")
            ),
        ),
        (_, Some(Ok(expires))) if expires <= now_millis => reason(
            "proof_dates",
            false,
            format!(
                "the proof expired at {}",
                credential.proof_expires.as_deref().unwrap_or("")
            ),
        ),
        _ => reason(
            "proof_dates",
            true,
            "the proof was not created in the future and has not expired",
        ),
    }
}

fn validity(credential: &VerifiedCredential, now: &Timestamp) -> VerdictReason {
    let parse = |text: &Option<String>| text.as_deref().map(date_time_millis);
    let now_millis = now.unix_millis();
    match (
        parse(&credential.valid_from),
        parse(&credential.valid_until),
    ) {
        (Some(Err(_)), _) => reason("credential_validity", false, "validFrom is not a date-time"),
        (_, Some(Err(_))) => reason(
            "credential_validity",
            false,
            "validUntil is not a date-time",
        ),
        (Some(Ok(from)), _) if from > now_millis => reason(
            "credential_validity",
            false,
            "the credential is not valid yet (validFrom is in the future)",
        ),
        (_, Some(Ok(until))) if until < now_millis => reason(
            "credential_validity",
            false,
            format!(
                "the credential expired at {}",
                credential.valid_until.as_deref().unwrap_or("")
            ),
        ),
        _ => reason(
            "credential_validity",
            true,
            "the credential is within its validity period",
        ),
    }
}
