//! Patterns and schemas of single fields, for the `#[schemars]` attributes of the body types
//! (the `schema` module re-exports them). Patterns are ECMA-262 regular expressions, anchored;
//! lengths count Unicode code points, as the validators do.

use schemars::{Schema, SchemaGenerator, json_schema};

use super::{BODY_VERSION, MAX_NICE_CLASSES, MAX_SIGNATURE_CHARS, NiceClass};

/// A required single-line text: not only whitespace, no control characters (Unicode `Cc`, what
/// `char::is_control` refuses). Use with `length(min = 1, max = …)`.
pub const SINGLE_LINE: &str = "^[^\\u0000-\\u001F\\u007F-\\u009F]*[^\\s\\u0000-\\u001F\\u007F-\\u009F][^\\u0000-\\u001F\\u007F-\\u009F]*$";

/// A required text that may hold line breaks and tabs: not only whitespace, no other control
/// characters. Use with `length(min = 1, max = …)`.
pub const MULTI_LINE: &str = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*[^\\s\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F][^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$";

/// A single-line text that may be empty: no control characters.
pub const SINGLE_LINE_MAY_BE_EMPTY: &str = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$";

/// A text that may be empty and may hold line breaks and tabs, no other control characters.
pub const MULTI_LINE_MAY_BE_EMPTY: &str =
    "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$";

/// A `http://` or `https://` URL without whitespace or control characters.
pub const URL: &str = "^https?://[^\\s\\u0000-\\u001F\\u007F-\\u009F]*$";

/// A seller reference: 64 lowercase hex characters.
pub const HEX_64: &str = "^[0-9a-f]{64}$";

/// A notice nonce: 32 to 64 lowercase hex characters.
pub const NONCE: &str = "^[0-9a-f]{32,64}$";

/// A verdict reason code: snake_case ASCII starting with a letter.
pub const REASON_CODE: &str = "^[a-z][a-z0-9_]*$";

/// An Ed25519 signature (64 bytes), multibase base58-btc: `z` and 86 to 88 base58 characters.
pub fn signature(_generator: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "string",
        "description": "An Ed25519 signature (64 bytes), multibase base58-btc",
        "pattern": "^z[1-9A-HJ-NP-Za-km-z]{86,88}$",
        "maxLength": MAX_SIGNATURE_CHARS,
    })
}

/// A W3C Verifiable Credential (VC Data Model 2.0) with a Data Integrity proof, as the holder's
/// home office issued it; at most 16 KiB in canonical form.
pub fn credential(_generator: &mut SchemaGenerator) -> Schema {
    // The body only bounds the credential's size; its shape, proof and issuer are verdict
    // checks (`credential_shape`, `credential_proof`, …), which a notice can fail and still be
    // recorded with its verdict. The schema says no more than the body's validator.
    json_schema!({
        "type": "object",
        "description": "A W3C Verifiable Credential 2.0 (types VerifiableCredential and IPRightCredential) with an eddsa-jcs-2022 Data Integrity proof, issued by the holder's home office; at most 16 KiB canonical. Its shape and proof are checked by the verdict, not refused here.",
    })
}

/// The body version: always 1.
pub fn version(_generator: &mut SchemaGenerator) -> Schema {
    json_schema!({"type": "integer", "const": BODY_VERSION})
}

/// Nice classes of a trademark: strictly ascending (stated; JSON Schema cannot say it), at most
/// 45.
pub fn nice_classes(_generator: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "array",
        "items": {"type": "integer", "minimum": NiceClass::MIN, "maximum": NiceClass::MAX},
        "uniqueItems": true,
        "maxItems": MAX_NICE_CLASSES,
        "description": "Nice classes, strictly ascending",
    })
}

/// An optional Nice class of a listing.
pub fn listing_class(_generator: &mut SchemaGenerator) -> Schema {
    json_schema!({"anyOf": [
        {"type": "integer", "minimum": NiceClass::MIN, "maximum": NiceClass::MAX},
        {"type": "null"},
    ]})
}
