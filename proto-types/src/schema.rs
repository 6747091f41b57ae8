//! JSON Schemas of the protocol's values, for the node's OpenAPI document (issue 11).
//!
//! The body types derive [`schemars::JsonSchema`]; the values that serialise as checked strings
//! (keys, ids, dates, codes) implement it here by hand, so that each schema says what the
//! validator accepts: formats, patterns and bounds. The schemas describe the *shape* a value must
//! have; rules between fields (a right id that must match its jurisdiction, type and number; a
//! signature that must verify) are checked by the node and stated in the descriptions.
//!
//! Patterns are ECMA-262 regular expressions, as JSON Schema 2020-12 and OpenAPI 3.1 use, and
//! are anchored. Lengths count Unicode code points, as the validators do.

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};

use crate::body::codes::{ISO_3166_ALPHA2, REGIONAL_OFFICE_CODES};
use crate::body::{
    CountryCode, CredentialId, Digest, Jurisdiction, MAX_RIGHT_NUMBER_CHARS, NiceClass, RightId,
};
use crate::entry::EntryId;
use crate::keys::PublicKey;
use crate::timestamp::{Date, Timestamp};

// The patterns and field schemas the body types' derives use live beside them, in the body
// module (so that the bodies do not import this module, which imports them); named here too.
pub use crate::body::fields::*;

/// The regular expression of the jurisdiction codes: ISO 3166-1 alpha-2 countries and regional
/// offices.
fn jurisdiction_pattern() -> String {
    let mut codes: Vec<&str> = ISO_3166_ALPHA2.to_vec();
    codes.extend_from_slice(&REGIONAL_OFFICE_CODES);
    format!("^({})$", codes.join("|"))
}

/// Implements [`JsonSchema`] for a type with a fixed, hand-written schema.
macro_rules! fixed_schema {
    ($type:ty, $name:literal, $schema:expr) => {
        impl JsonSchema for $type {
            fn schema_name() -> Cow<'static, str> {
                Cow::Borrowed($name)
            }

            fn json_schema(_generator: &mut SchemaGenerator) -> Schema {
                $schema
            }
        }
    };
}

fixed_schema!(
    PublicKey,
    "PublicKey",
    json_schema!({
        "type": "string",
        "description": "An Ed25519 public key as a did:key identifier",
        "pattern": "^did:key:z6Mk(?:[f-km-v][1-9A-HJ-NP-Za-km-z]{43}|e[T-Za-km-z][1-9A-HJ-NP-Za-km-z]{42}|w[1-9A-HJ-NP-Za-g][1-9A-HJ-NP-Za-km-z]{42})$",
        "examples": ["did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp"],
    })
);

fixed_schema!(
    CredentialId,
    "CredentialId",
    json_schema!({
        "type": "string",
        "description": "A credential's id: an absolute URI of URI characters, starting with a letter",
        "pattern": "^[A-Za-z][A-Za-z0-9._~/?#@!$&'()*+,;=%-]*:[A-Za-z0-9._~:/?#@!$&'()*+,;=%-]*$",
        "minLength": 1,
        "maxLength": 200,
    })
);

fixed_schema!(
    EntryId,
    "EntryId",
    json_schema!({
        "type": "string",
        "description": "An entry id: the SHA-256 of the entry's canonical bytes, 64 lowercase hex characters",
        "pattern": "^[0-9a-f]{64}$",
        "minLength": 64,
        "maxLength": 64,
    })
);

fixed_schema!(
    Timestamp,
    "Timestamp",
    json_schema!({
        "type": "string",
        "format": "date-time",
        "description": "An instant in UTC, YYYY-MM-DDTHH:MM:SS[.fff]Z, years 1970 to 9999, at most millisecond precision",
        "pattern": "^(19[7-9][0-9]|[2-9][0-9]{3})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\\.[0-9]{1,3})?Z$",
    })
);

fixed_schema!(
    Date,
    "Date",
    json_schema!({
        "type": "string",
        "format": "date",
        "description": "A calendar date, YYYY-MM-DD, years 1970 to 9999",
        "pattern": "^(19[7-9][0-9]|[2-9][0-9]{3})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$",
    })
);

fixed_schema!(Jurisdiction, "Jurisdiction", {
    let pattern = jurisdiction_pattern();
    json_schema!({
        "type": "string",
        "description": "Where a right is registered: an uppercase ISO 3166-1 alpha-2 country code, or a regional office code (EM, WO, EP, …)",
        "pattern": pattern,
        "minLength": 2,
        "maxLength": 2,
    })
});

fixed_schema!(CountryCode, "CountryCode", {
    let pattern = format!("^({})$", ISO_3166_ALPHA2.join("|"));
    json_schema!({
        "type": "string",
        "description": "An uppercase ISO 3166-1 alpha-2 country code",
        "pattern": pattern,
        "minLength": 2,
        "maxLength": 2,
    })
});

fixed_schema!(RightId, "RightId", {
    let codes: Vec<&str> = ISO_3166_ALPHA2
        .iter()
        .chain(REGIONAL_OFFICE_CODES.iter())
        .copied()
        .collect();
    let pattern = format!(
        "^({})-(TM|DS|PT|CR)-[A-Za-z0-9]{{1,{MAX_RIGHT_NUMBER_CHARS}}}$",
        codes.join("|")
    );
    json_schema!({
        "type": "string",
        "description": "A right's id: <JURISDICTION>-<TYPECODE>-<NUMBER>, TYPECODE one of TM, DS, PT, CR",
        "pattern": pattern,
        "examples": ["FR-TM-4123456"],
    })
});

fixed_schema!(
    Digest,
    "Digest",
    json_schema!({
        "type": "string",
        "description": "A SHA-256 digest: \"sha256:\" and 64 lowercase hex characters",
        "pattern": "^sha256:[0-9a-f]{64}$",
    })
);

fixed_schema!(
    NiceClass,
    "NiceClass",
    json_schema!({
        "type": "integer",
        "minimum": NiceClass::MIN,
        "maximum": NiceClass::MAX,
        "description": "A Nice class, 1 to 45",
    })
);

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn hand_written_schemas_name_their_bounds() {
        let mut generator = SchemaGenerator::default();
        let pattern = |schema: Schema| {
            schema
                .get("pattern")
                .and_then(|value| value.as_str())
                .expect("a pattern")
                .to_owned()
        };
        assert_eq!(
            EntryId::json_schema(&mut generator).get("maxLength"),
            Some(&serde_json::json!(64))
        );
        assert!(pattern(Jurisdiction::json_schema(&mut generator)).contains("|EM|"));
        assert!(!pattern(CountryCode::json_schema(&mut generator)).contains("|EM|"));
        assert!(SINGLE_LINE.starts_with("^[^\\u0000"));
    }
}
