//! Field checks shared by every body: versions, bounded text, counts, hex and multibase strings.

use serde_json::Value;

use super::{BODY_VERSION, BodyError, MAX_SIGNATURE_CHARS};
use crate::keys::Signature;

/// Whether a text field is a single line or may hold line breaks and tabs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Lines {
    /// No control characters at all: names, identifiers, codes.
    Single,
    /// Line feeds, carriage returns and tabs allowed; other control characters refused.
    Multi,
}

/// A value shortened for quoting in an error message.
pub(super) fn truncated(value: &str) -> String {
    const QUOTE_CHARS: usize = 40;
    if value.chars().count() <= QUOTE_CHARS {
        value.to_owned()
    } else {
        let mut short: String = value.chars().take(QUOTE_CHARS).collect();
        short.push('…');
        short
    }
}

/// Checks that `v` is the one version defined for `what`.
pub(super) fn version(v: u32, what: &str) -> Result<(), BodyError> {
    if v == BODY_VERSION {
        Ok(())
    } else {
        Err(BodyError::new(
            "v",
            format!("unsupported version {v} of {what}"),
        ))
    }
}

/// Checks that `v` is one of the versions `defined` for `what`.
pub(super) fn version_in(v: u32, defined: &[u32], what: &str) -> Result<(), BodyError> {
    if defined.contains(&v) {
        Ok(())
    } else {
        Err(BodyError::new(
            "v",
            format!("unsupported version {v} of {what}"),
        ))
    }
}

/// Checks the version of a body before it is decoded, so that a later version is reported as
/// such and not as a list of unknown fields.
pub(super) fn version_of_value(
    value: &Value,
    defined: &[u32],
    what: &str,
) -> Result<(), BodyError> {
    let object = value
        .as_object()
        .ok_or_else(|| BodyError::new("body", format!("{what} body must be a JSON object")))?;
    let v = object
        .get("v")
        .ok_or_else(|| BodyError::new("v", "missing field `v`"))?;
    match v.as_u64() {
        Some(number) if defined.iter().any(|v| u64::from(*v) == number) => Ok(()),
        Some(number) => Err(BodyError::new(
            "v",
            format!("unsupported version {number} of {what}"),
        )),
        None => Err(BodyError::new(
            "v",
            format!("version must be an unsigned integer, got {v}"),
        )),
    }
}

fn is_allowed_char(character: char, lines: Lines) -> bool {
    !character.is_control() || (lines == Lines::Multi && matches!(character, '\n' | '\r' | '\t'))
}

/// Checks a text field that may be empty: at most `max_chars` characters, no control characters
/// other than those `lines` allows.
pub(super) fn text_may_be_empty(
    field: &str,
    value: &str,
    max_chars: usize,
    lines: Lines,
) -> Result<(), BodyError> {
    if value.chars().count() > max_chars {
        return Err(BodyError::new(
            field,
            format!("longer than {max_chars} characters"),
        ));
    }
    if !value
        .chars()
        .all(|character| is_allowed_char(character, lines))
    {
        let message = match lines {
            Lines::Single => "must not contain control characters",
            Lines::Multi => "must not contain control characters other than line breaks and tabs",
        };
        return Err(BodyError::new(field, message));
    }
    Ok(())
}

/// Checks a required text field: not empty or only whitespace, at most `max_chars` characters,
/// no control characters other than those `lines` allows.
pub(super) fn text(
    field: &str,
    value: &str,
    max_chars: usize,
    lines: Lines,
) -> Result<(), BodyError> {
    if value.trim().is_empty() {
        return Err(BodyError::new(field, "must not be empty"));
    }
    text_may_be_empty(field, value, max_chars, lines)
}

/// Checks an optional text field: when present, as [`text`].
pub(super) fn optional_text(
    field: &str,
    value: Option<&str>,
    max_chars: usize,
    lines: Lines,
) -> Result<(), BodyError> {
    match value {
        Some(value) => text(field, value, max_chars, lines),
        None => Ok(()),
    }
}

/// Checks the number of entries of an array field.
pub(super) fn count(field: &str, count: usize, min: usize, max: usize) -> Result<(), BodyError> {
    if count < min {
        let noun = if min == 1 { "entry" } else { "entries" };
        return Err(BodyError::new(
            field,
            format!("at least {min} {noun} required"),
        ));
    }
    if count > max {
        return Err(BodyError::new(
            field,
            format!("at most {max} entries allowed, got {count}"),
        ));
    }
    Ok(())
}

/// Checks a string of `min..=max` lowercase hex digits.
pub(super) fn lower_hex(field: &str, value: &str, min: usize, max: usize) -> Result<(), BodyError> {
    let length_ok = (min..=max).contains(&value.len());
    let digits_ok = value
        .bytes()
        .all(|byte| matches!(byte, b'0'..=b'9' | b'a'..=b'f'));
    if length_ok && digits_ok {
        return Ok(());
    }
    let message = if min == max {
        format!("must be {min} lowercase hex characters")
    } else {
        format!("must be {min} to {max} lowercase hex characters")
    };
    Err(BodyError::new(field, message))
}

/// Checks a multibase base58-btc (`z…`) Ed25519 signature: its form only, not what it signs.
pub(super) fn signature(field: &str, value: &str) -> Result<(), BodyError> {
    if value.len() > MAX_SIGNATURE_CHARS {
        return Err(BodyError::new(
            field,
            format!("longer than {MAX_SIGNATURE_CHARS} characters"),
        ));
    }
    if !value.starts_with('z') {
        return Err(BodyError::new(
            field,
            "must be multibase base58-btc starting with 'z'",
        ));
    }
    Signature::from_multibase(value)
        .map(|_| ())
        .map_err(|error| BodyError::new(field, error.to_string()))
}

/// The path of element `index` of the array at `field`.
pub(super) fn indexed(field: &str, index: usize) -> String {
    format!("{field}[{index}]")
}
