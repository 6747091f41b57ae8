//! Strict JSON parsing and RFC 8785 (JSON Canonicalization Scheme) serialisation: the exact bytes
//! that are hashed and signed.
//!
//! Two halves:
//! - [`parse`] accepts only JSON that has one meaning: no duplicate object keys, no lone
//!   surrogates, no invalid UTF-8, no trailing bytes, no number that overflows an IEEE-754 double,
//!   and no nesting deeper than [`MAX_DEPTH`]. Anything a lenient parser would silently resolve
//!   (for example by keeping the last of two duplicate keys) is an error here, because two
//!   verifiers resolving it differently would disagree about what was signed.
//! - [`canonicalize`] writes a value in the RFC 8785 canonical form: no whitespace, object
//!   members sorted by the UTF-16 code units of their keys, the minimal string escapes, and
//!   every number written as ECMAScript's `Number.prototype.toString` writes the nearest double
//!   ([`format_number`]). The output is what a JavaScript JCS implementation produces.

use std::cell::Cell;
use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// Deepest nesting of arrays/objects accepted.
///
/// A top-level scalar has depth 0, `[]` and `{}` have depth 1, `[[]]` depth 2, and so on. Both
/// [`parse`] and [`canonicalize`] reject anything deeper, which also bounds their recursion.
pub const MAX_DEPTH: usize = 64;

/// Why JSON could not be parsed strictly or canonicalised.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JcsError {
    /// The input is not JSON (bad syntax, invalid UTF-8, a lone surrogate escape, trailing
    /// characters, …); the message is serde_json's and names the line and column.
    #[error("invalid json: {0}")]
    Syntax(String),
    /// An object has two members with the same key (compared after unescaping).
    #[error("duplicate object key {0:?}")]
    DuplicateKey(String),
    /// Arrays and objects are nested deeper than [`MAX_DEPTH`].
    #[error("json nested deeper than {MAX_DEPTH} arrays or objects")]
    TooDeep,
    /// A number in the input is too large in magnitude for an IEEE-754 double (such as `1e400`);
    /// the message is serde_json's and names the line and column.
    #[error("number out of range of an ieee 754 double: {0}")]
    NumberOutOfRange(String),
    /// A number is NaN or infinite, which JSON cannot represent.
    #[error("number is not finite")]
    NotFinite,
}

/// Strictly parses JSON bytes into a serde_json::Value: rejects duplicate object keys (anywhere,
/// at any depth), nesting deeper than MAX_DEPTH, invalid UTF-8, lone surrogates, trailing garbage,
/// numbers that overflow f64 (e.g. 1e400).
///
/// Whitespace around the value is allowed. Numbers are kept as serde_json gives them: integers
/// that fit become `u64`/`i64`, everything else an `f64` (correctly rounded); [`canonicalize`]
/// converts every number to a double anyway.
pub fn parse(input: &[u8]) -> Result<Value, JcsError> {
    let failure = Cell::new(None);
    let mut deserializer = serde_json::Deserializer::from_slice(input);
    let seed = StrictValue {
        depth: 0,
        failure: &failure,
    };
    let parsed = seed.deserialize(&mut deserializer);
    let result = parsed.and_then(|value| deserializer.end().map(|()| value));
    // A failure recorded by the visitor is more precise than the serde error carrying it.
    result.map_err(|error| failure.take().unwrap_or_else(|| classify(&error)))
}

/// RFC 8785 canonical form of a value.
///
/// Fails only if the value is nested deeper than [`MAX_DEPTH`] or holds a number that is not a
/// finite double (which a `Value` built by serde_json cannot, but a hand-built one might).
pub fn canonicalize(value: &Value) -> Result<Vec<u8>, JcsError> {
    let mut output = Vec::new();
    write_value(value, 0, &mut output)?;
    Ok(output)
}

/// [`canonicalize`] of the object `members` edited: without the members named in `skip`, and
/// with each `(name, value)` of `set` in place of the member of that name (added when it is
/// absent). Writes exactly what canonicalising the edited copy writes, without making the copy
/// (a signed document's signing input is the document without its signature or proof).
pub fn canonicalize_edited(
    members: &Map<String, Value>,
    skip: &[&str],
    set: &[(&str, &Value)],
) -> Result<Vec<u8>, JcsError> {
    let inner_depth = enter_container(0)?;
    let mut sorted: Vec<(&str, &Value)> = members
        .iter()
        .map(|(key, member)| (key.as_str(), member))
        .filter(|(key, _)| !skip.contains(key) && !set.iter().any(|(name, _)| name == key))
        .collect();
    sorted.extend(set.iter().filter(|(name, _)| !skip.contains(name)).copied());
    sort_members(&mut sorted);
    let mut output = Vec::new();
    output.push(b'{');
    for (index, (key, member)) in sorted.into_iter().enumerate() {
        if index > 0 {
            output.push(b',');
        }
        write_string(key, &mut output);
        output.push(b':');
        write_value(member, inner_depth, &mut output)?;
    }
    output.push(b'}');
    Ok(output)
}

/// Sorts members as RFC 8785 §3.2.3 says: by the UTF-16 code units of their names, which
/// differs from UTF-8 byte and char order for astral-plane characters against U+E000–U+FFFF.
/// Names of ASCII only (nearly all) compare as bytes, which is the same order for them.
fn sort_members<K: AsRef<str>, V>(members: &mut [(K, V)]) {
    members.sort_unstable_by(|(left, _), (right, _)| {
        let (left, right) = (left.as_ref(), right.as_ref());
        if left.is_ascii() && right.is_ascii() {
            left.cmp(right)
        } else {
            left.encode_utf16().cmp(right.encode_utf16())
        }
    });
}

/// A value canonicalised in one pass by [`canonicalize_owned`].
#[derive(Debug, Clone, PartialEq)]
pub struct Canonicalized {
    /// The value as [`parse`] reads its canonical bytes back: members in canonical order,
    /// every number as the double it is written as (`1.0` is `1`, `9007199254740993` is
    /// `9007199254740992`).
    pub value: Value,
    /// The RFC 8785 bytes, exactly what [`canonicalize`] writes.
    pub bytes: Vec<u8>,
    /// Where the top-level member asked for sits in `bytes`, with the comma that separates it
    /// from a neighbour: cutting this range out gives the canonical bytes of the object
    /// without that member. None when the value is not an object or has no such member.
    pub member: Option<std::ops::Range<usize>>,
}

impl Canonicalized {
    /// The canonical bytes without the member asked for (all of them when it is absent).
    pub fn bytes_without_member(&self) -> Vec<u8> {
        let range = self.member.clone().unwrap_or(0..0);
        let mut without = Vec::with_capacity(self.bytes.len().saturating_sub(range.len()));
        without.extend_from_slice(self.bytes.get(..range.start).unwrap_or_default());
        without.extend_from_slice(self.bytes.get(range.end..).unwrap_or_default());
        without
    }
}

/// [`canonicalize`] in one pass that also gives back the value as [`parse`] would read the
/// canonical bytes, without writing them and parsing them again, and where the top-level
/// member named `member` is (see [`Canonicalized`]). Fails exactly when [`canonicalize`] does.
///
/// Decoders that read fields from the canonical form (so that every verifier reads the same
/// number from `1.0` and `1`) use this instead of a second parse.
pub fn canonicalize_owned(value: Value, member: &str) -> Result<Canonicalized, JcsError> {
    let mut bytes = Vec::new();
    let mut range = None;
    let value = write_owned(value, 0, &mut bytes, Some((member, &mut range)))?;
    Ok(Canonicalized {
        value,
        bytes,
        member: range,
    })
}

/// [`write_value`] that consumes the value and returns it as [`parse`] would read what was
/// written; at the top level, records where the member named in `cut` sits.
fn write_owned(
    value: Value,
    depth: usize,
    output: &mut Vec<u8>,
    cut: Option<(&str, &mut Option<std::ops::Range<usize>>)>,
) -> Result<Value, JcsError> {
    Ok(match value {
        Value::Number(number) => {
            let double = number.as_f64().ok_or(JcsError::NotFinite)?;
            let text = format_number(double)?;
            output.extend_from_slice(text.as_bytes());
            // Read back by serde_json's own number parser, as `parse` would read it.
            let read_back: Number = text
                .parse()
                .map_err(|error: serde_json::Error| JcsError::Syntax(error.to_string()))?;
            Value::Number(read_back)
        }
        Value::Array(items) => {
            let inner_depth = enter_container(depth)?;
            output.push(b'[');
            let mut read_back = Vec::with_capacity(items.len());
            for (index, item) in items.into_iter().enumerate() {
                if index > 0 {
                    output.push(b',');
                }
                read_back.push(write_owned(item, inner_depth, output, None)?);
            }
            output.push(b']');
            Value::Array(read_back)
        }
        Value::Object(members) => {
            let inner_depth = enter_container(depth)?;
            let mut sorted: Vec<(String, Value)> = members.into_iter().collect();
            sort_members(&mut sorted);
            let count = sorted.len();
            let mut read_back = Map::with_capacity(count);
            output.push(b'{');
            let (cut_name, cut_range) = match cut {
                Some((name, range)) => (Some(name), Some(range)),
                None => (None, None),
            };
            let mut found = None;
            for (index, (key, member)) in sorted.into_iter().enumerate() {
                let comma_at = output.len();
                if index > 0 {
                    output.push(b',');
                }
                let key_at = output.len();
                write_string(&key, output);
                output.push(b':');
                let member = write_owned(member, inner_depth, output, None)?;
                if cut_name == Some(key.as_str()) {
                    // Take the comma before it, or the one after it when it comes first.
                    found = Some(if index > 0 {
                        comma_at..output.len()
                    } else if count > 1 {
                        key_at..output.len() + 1
                    } else {
                        key_at..output.len()
                    });
                }
                read_back.insert(key, member);
            }
            output.push(b'}');
            if let Some(range) = cut_range {
                *range = found;
            }
            Value::Object(read_back)
        }
        other => {
            write_value(&other, depth, output)?;
            other
        }
    })
}

/// parse + canonicalize.
pub fn canonicalize_bytes(input: &[u8]) -> Result<Vec<u8>, JcsError> {
    canonicalize(&parse(input)?)
}

/// The ECMAScript Number.prototype.toString form of a finite double, as RFC 8785 requires.
///
/// Negative zero is written `0`; NaN and the infinities are [`JcsError::NotFinite`].
pub fn format_number(value: f64) -> Result<String, JcsError> {
    if !value.is_finite() {
        return Err(JcsError::NotFinite);
    }
    if value == 0.0 {
        return Ok("0".to_owned());
    }
    let mut text = String::new();
    if value.is_sign_negative() {
        text.push('-');
    }

    // Rust's `{:e}` without a precision prints the shortest digit string that reads back as the
    // same double, and of those the closest, as ECMAScript specifies. On an exact tie between
    // two closest candidates, though, it rounds up where ECMAScript takes the even one
    // (0x43143ff3c1cb0959 is 1424953923781206.25: ECMAScript "…206.2", `{:e}` "…206.3"). Rust's
    // fixed-precision form rounds the exact value half to even, so with the shortest length it
    // gives ECMAScript's choice whenever that choice reads back as the same double; when it does
    // not (just above a power of two the lower half-gap is narrower, so the closest candidate
    // can fall outside it) the shortest form, which does read back, is used.
    let magnitude = value.abs();
    let shortest = format!("{magnitude:e}");
    let digit_count = shortest
        .split('e')
        .next()
        .unwrap_or_default()
        .chars()
        .filter(char::is_ascii_digit)
        .count();
    let correctly_rounded = format!("{:.*e}", digit_count.saturating_sub(1), magnitude);
    let scientific = if correctly_rounded.parse::<f64>() == Ok(magnitude) {
        correctly_rounded
    } else {
        shortest
    };
    let (mantissa, exponent_text) = scientific
        .split_once('e')
        .unwrap_or((scientific.as_str(), "0"));
    let digits: Vec<char> = mantissa.chars().filter(char::is_ascii_digit).collect();
    let exponent_magnitude = exponent_text
        .chars()
        .filter_map(|character| character.to_digit(10))
        .fold(0_i32, |total, digit| {
            total.saturating_mul(10).saturating_add(digit as i32)
        });
    let exponent = if exponent_text.starts_with('-') {
        -exponent_magnitude
    } else {
        exponent_magnitude
    };

    // ECMAScript's names: the value is 0.d1…dk × 10^n, with k digits.
    let digit_count = digits.len() as i32;
    let point_position = exponent + 1;

    if digit_count <= point_position && point_position <= 21 {
        // An integer: the digits then zeros, up to 21 digits long.
        text.extend(digits.iter());
        text.extend(std::iter::repeat_n(
            '0',
            (point_position - digit_count) as usize,
        ));
    } else if 0 < point_position && point_position <= 21 {
        // A decimal point inside the digits.
        push_digits_with_point(&mut text, &digits, point_position as usize);
    } else if -6 < point_position && point_position <= 0 {
        // A small fraction: "0.", then zeros, then the digits.
        text.push_str("0.");
        text.extend(std::iter::repeat_n(
            '0',
            point_position.unsigned_abs() as usize,
        ));
        text.extend(digits.iter());
    } else {
        // Exponent form: d1[.d2…dk]e±(n−1), with an explicit "+".
        push_digits_with_point(&mut text, &digits, 1);
        let shown_exponent = point_position - 1;
        text.push('e');
        text.push(if shown_exponent < 0 { '-' } else { '+' });
        text.push_str(&shown_exponent.unsigned_abs().to_string());
    }
    Ok(text)
}

/// Appends `digits` with a decimal point before the digit at `point_index`, or none if that
/// index is at or past the end.
fn push_digits_with_point(text: &mut String, digits: &[char], point_index: usize) {
    for (index, digit) in digits.iter().enumerate() {
        if index == point_index {
            text.push('.');
        }
        text.push(*digit);
    }
}

/// Turns an error serde_json raised itself into a [`JcsError`].
fn classify(error: &serde_json::Error) -> JcsError {
    let message = error.to_string();
    // serde_json reports a number overflowing f64 as a syntax error; its message is the only way
    // to tell it apart. The unit tests pin this message.
    if message.starts_with("number out of range") {
        JcsError::NumberOutOfRange(message)
    } else {
        JcsError::Syntax(message)
    }
}

/// A `DeserializeSeed` and `Visitor` that builds a `Value` strictly: it counts nesting and
/// rejects duplicate keys, which serde_json's own `Value` silently resolves to the last one.
#[derive(Clone, Copy)]
struct StrictValue<'failure> {
    /// How many arrays and objects enclose the value being built.
    depth: usize,
    /// Where the visitor records why it failed, since serde's error type only carries a message.
    failure: &'failure Cell<Option<JcsError>>,
}

impl StrictValue<'_> {
    /// Records `failure` and returns a serde error that stops the parse.
    fn fail<E: de::Error>(self, failure: JcsError) -> E {
        let message = failure.to_string();
        self.failure.set(Some(failure));
        E::custom(message)
    }

    /// The seed for the members of an array or object at this level, or an error if entering
    /// it would exceed [`MAX_DEPTH`].
    fn enter<E: de::Error>(self) -> Result<Self, E> {
        let depth = self.depth.saturating_add(1);
        if depth > MAX_DEPTH {
            return Err(self.fail(JcsError::TooDeep));
        }
        Ok(Self {
            depth,
            failure: self.failure,
        })
    }
}

impl<'de> DeserializeSeed<'de> for StrictValue<'_> {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StrictValue<'_> {
    type Value = Value;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("any JSON value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<Value, E> {
        Ok(Value::Bool(value))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Value, E> {
        Ok(Value::Number(Number::from(value)))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Value, E> {
        Ok(Value::Number(Number::from(value)))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Value, E> {
        // serde_json reports overflow itself and never produces a non-finite double; this is a
        // backstop for that.
        match Number::from_f64(value) {
            Some(number) => Ok(Value::Number(number)),
            None => Err(self.fail(JcsError::NotFinite)),
        }
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Value, E> {
        Ok(Value::String(value.to_owned()))
    }

    fn visit_string<E: de::Error>(self, value: String) -> Result<Value, E> {
        Ok(Value::String(value))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let inner = self.enter()?;
        let mut items = Vec::new();
        while let Some(item) = access.next_element_seed(inner)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let inner = self.enter()?;
        let mut members = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            if members.contains_key(&key) {
                return Err(self.fail(JcsError::DuplicateKey(key)));
            }
            let value = access.next_value_seed(inner)?;
            members.insert(key, value);
        }
        Ok(Value::Object(members))
    }
}

/// Appends the canonical form of `value`, which is enclosed by `depth` arrays and objects.
fn write_value(value: &Value, depth: usize, output: &mut Vec<u8>) -> Result<(), JcsError> {
    match value {
        Value::Null => output.extend_from_slice(b"null"),
        Value::Bool(true) => output.extend_from_slice(b"true"),
        Value::Bool(false) => output.extend_from_slice(b"false"),
        Value::Number(number) => {
            // RFC 8785 §3.2.2.3: every number is first an IEEE-754 double, so integers beyond
            // 2^53 are written as the nearest double, as a JavaScript verifier sees them.
            let double = number.as_f64().ok_or(JcsError::NotFinite)?;
            output.extend_from_slice(format_number(double)?.as_bytes());
        }
        Value::String(text) => write_string(text, output),
        Value::Array(items) => {
            let inner_depth = enter_container(depth)?;
            output.push(b'[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    output.push(b',');
                }
                write_value(item, inner_depth, output)?;
            }
            output.push(b']');
        }
        Value::Object(members) => {
            let inner_depth = enter_container(depth)?;
            let mut sorted: Vec<(&String, &Value)> = members.iter().collect();
            sort_members(&mut sorted);
            output.push(b'{');
            for (index, (key, member)) in sorted.into_iter().enumerate() {
                if index > 0 {
                    output.push(b',');
                }
                write_string(key, output);
                output.push(b':');
                write_value(member, inner_depth, output)?;
            }
            output.push(b'}');
        }
    }
    Ok(())
}

/// The depth inside an array or object enclosed by `depth` others, or an error past
/// [`MAX_DEPTH`].
fn enter_container(depth: usize) -> Result<usize, JcsError> {
    let inner_depth = depth.saturating_add(1);
    if inner_depth > MAX_DEPTH {
        return Err(JcsError::TooDeep);
    }
    Ok(inner_depth)
}

/// Appends `text` as a JSON string per RFC 8785 §3.2.2.2: only `"`, `\` and U+0000–U+001F are
/// escaped, with the short forms where JSON has them and lowercase `\u00xx` otherwise; everything
/// else, including U+007F, U+2028, U+2029 and `/`, is written as literal UTF-8.
fn write_string(text: &str, output: &mut Vec<u8>) {
    output.push(b'"');
    // Every byte that needs escaping is ASCII, and ASCII bytes never occur inside a multi-byte
    // UTF-8 sequence, so working byte by byte keeps the other characters intact.
    for &byte in text.as_bytes() {
        match byte {
            b'"' => output.extend_from_slice(b"\\\""),
            b'\\' => output.extend_from_slice(b"\\\\"),
            0x08 => output.extend_from_slice(b"\\b"),
            b'\t' => output.extend_from_slice(b"\\t"),
            b'\n' => output.extend_from_slice(b"\\n"),
            0x0c => output.extend_from_slice(b"\\f"),
            b'\r' => output.extend_from_slice(b"\\r"),
            0x00..=0x1f => output.extend_from_slice(format!("\\u{byte:04x}").as_bytes()),
            _ => output.push(byte),
        }
    }
    output.push(b'"');
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn canonical_text(input: &str) -> String {
        String::from_utf8(canonicalize_bytes(input.as_bytes()).unwrap()).unwrap()
    }

    fn nested_arrays(depth: usize) -> String {
        format!("{}{}", "[".repeat(depth), "]".repeat(depth))
    }

    fn nested_objects(depth: usize) -> String {
        format!("{}1{}", r#"{"a":"#.repeat(depth), "}".repeat(depth))
    }

    /// RFC 8785 Appendix B, every row: IEEE-754 bit patterns and their canonical text.
    const NUMBER_TABLE: &[(u64, &str)] = &[
        (0x0000000000000000, "0"),
        (0x8000000000000000, "0"),
        (0x0000000000000001, "5e-324"),
        (0x8000000000000001, "-5e-324"),
        (0x7fefffffffffffff, "1.7976931348623157e+308"),
        (0xffefffffffffffff, "-1.7976931348623157e+308"),
        (0x4340000000000000, "9007199254740992"),
        (0xc340000000000000, "-9007199254740992"),
        (0x4430000000000000, "295147905179352830000"),
        (0x44b52d02c7e14af5, "9.999999999999997e+22"),
        (0x44b52d02c7e14af6, "1e+23"),
        (0x44b52d02c7e14af7, "1.0000000000000001e+23"),
        (0x444b1ae4d6e2ef4e, "999999999999999700000"),
        (0x444b1ae4d6e2ef4f, "999999999999999900000"),
        (0x444b1ae4d6e2ef50, "1e+21"),
        (0x3eb0c6f7a0b5ed8c, "9.999999999999997e-7"),
        (0x3eb0c6f7a0b5ed8d, "0.000001"),
        (0x41b3de4355555553, "333333333.3333332"),
        (0x41b3de4355555554, "333333333.33333325"),
        (0x41b3de4355555555, "333333333.3333333"),
        (0x41b3de4355555556, "333333333.3333334"),
        (0x41b3de4355555557, "333333333.33333343"),
        (0xbecbf647612f3696, "-0.0000033333333333333333"),
        (0x43143ff3c1cb0959, "1424953923781206.2"),
    ];

    #[test]
    fn rfc8785_number_table() {
        for &(bits, expected) in NUMBER_TABLE {
            let value = f64::from_bits(bits);
            assert_eq!(format_number(value).unwrap(), expected, "bits {bits:#018x}");
            // The same number through canonicalize, and through parse of its own text.
            let number = Value::Number(Number::from_f64(value).unwrap());
            assert_eq!(canonicalize(&number).unwrap(), expected.as_bytes());
            assert_eq!(canonical_text(expected), expected);
        }
    }

    #[test]
    fn ties_and_power_of_two_boundaries_match_javascript() {
        // Expected strings from Node.js `String(x)`. The first two are exact ties between two
        // shortest candidates (ECMAScript takes the even one); the last two are powers of two
        // whose closest shortest candidate does not read back as the same double.
        let cases: &[(u64, &str)] = &[
            (0xc2eebe781c83fda4, "-270427262033901.12"),
            (0x42e221f4f3b896b4, "159496422671541.62"),
            (0x0060000000000000, "7.120236347223045e-307"),
            (0x0100000000000000, "7.291122019556398e-304"),
        ];
        for &(bits, expected) in cases {
            assert_eq!(
                format_number(f64::from_bits(bits)).unwrap(),
                expected,
                "bits {bits:#018x}"
            );
        }
    }

    #[test]
    fn non_finite_numbers_are_rejected() {
        for bits in [
            0x7ff8000000000000_u64,
            0x7ff0000000000000,
            0xfff0000000000000,
        ] {
            assert_eq!(
                format_number(f64::from_bits(bits)),
                Err(JcsError::NotFinite)
            );
        }
        assert_eq!(format_number(f64::NAN), Err(JcsError::NotFinite));
        assert_eq!(format_number(f64::INFINITY), Err(JcsError::NotFinite));
        assert_eq!(format_number(f64::NEG_INFINITY), Err(JcsError::NotFinite));
    }

    #[test]
    fn number_layout_boundaries() {
        let cases: &[(f64, &str)] = &[
            (1.0, "1"),
            (-1.0, "-1"),
            (100.0, "100"),
            (1.5, "1.5"),
            (0.1, "0.1"),
            (123.456, "123.456"),
            (1e20, "100000000000000000000"),
            (1e21, "1e+21"),
            (1.5e21, "1.5e+21"),
            (1e-6, "0.000001"),
            (1.5e-6, "0.0000015"),
            (1e-7, "1e-7"),
            (1.5e-7, "1.5e-7"),
            (1e30, "1e+30"),
            (1.23e-18, "1.23e-18"),
            (-0.0, "0"),
        ];
        for &(value, expected) in cases {
            assert_eq!(format_number(value).unwrap(), expected, "{value:e}");
        }
    }

    #[test]
    fn rfc8785_example_object() {
        let input = r#"{
          "numbers": [333333333.33333329, 1E30, 4.50,
                      2e-3, 0.000000000000000000000000001],
          "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
          "literals": [null, true, false]
        }"#;
        assert_eq!(
            canonical_text(input),
            r#"{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}"#
        );
        // The same with the euro sign written literally, as the brief's copy of the example has it.
        let literal_euro = input.replace(r"\u20ac", "€");
        assert_eq!(canonical_text(&literal_euro), canonical_text(input));
    }

    #[test]
    fn rfc8785_sorting_example() {
        let input = r#"{
          "\u20ac": "Euro Sign",
          "\r": "Carriage Return",
          "\ufb33": "Hebrew Letter Dalet With Dagesh",
          "1": "One",
          "\ud83d\ude00": "Emoji: Grinning Face",
          "\u0080": "Control",
          "\u00f6": "Latin Small Letter O With Diaeresis"
        }"#;
        let expected = concat!(
            "{",
            "\"\\r\":\"Carriage Return\",",
            "\"1\":\"One\",",
            "\"\u{80}\":\"Control\",",
            "\"\u{f6}\":\"Latin Small Letter O With Diaeresis\",",
            "\"\u{20ac}\":\"Euro Sign\",",
            "\"\u{1f600}\":\"Emoji: Grinning Face\",",
            "\"\u{fb33}\":\"Hebrew Letter Dalet With Dagesh\"",
            "}"
        );
        assert_eq!(canonical_text(input), expected);
    }

    #[test]
    fn sorting_uses_utf16_not_utf8() {
        // In UTF-8 and in char order U+E000 sorts before U+1F600; in UTF-16 the surrogate
        // 0xD83D sorts before 0xE000.
        let value = json!({ "\u{e000}": 1, "\u{1f600}": 2 });
        assert_eq!(
            String::from_utf8(canonicalize(&value).unwrap()).unwrap(),
            "{\"\u{1f600}\":2,\"\u{e000}\":1}"
        );
    }

    /// Strips one trailing newline from a vector file, if present.
    fn without_final_newline(bytes: &[u8]) -> &[u8] {
        bytes.strip_suffix(b"\n").unwrap_or(bytes)
    }

    #[test]
    fn w3c_eddsa_jcs_2022_document_vector() {
        let unsigned = include_bytes!("../testdata/w3c-vc-di-eddsa/unsigned.json");
        let expected = include_bytes!("../testdata/w3c-vc-di-eddsa/canonDocJCS.txt");
        let canonical = canonicalize_bytes(unsigned).unwrap();
        assert!(!canonical.ends_with(b"\n"));
        assert_eq!(canonical, without_final_newline(expected));
    }

    #[test]
    fn w3c_eddsa_jcs_2022_proof_config_vector() {
        let config = include_bytes!("../testdata/w3c-vc-di-eddsa/proofConfigJCS.json");
        let expected = include_bytes!("../testdata/w3c-vc-di-eddsa/proofCanonJCS.txt");
        let canonical = canonicalize_bytes(config).unwrap();
        assert_eq!(canonical, without_final_newline(expected));
    }

    #[test]
    fn duplicate_keys_are_rejected() {
        assert_eq!(
            parse(br#"{"a":1,"a":2}"#),
            Err(JcsError::DuplicateKey("a".to_owned()))
        );
        assert_eq!(
            parse(br#"{"a":1,"b":[{"c":1,"x":{"d":true,"d":true}}]}"#),
            Err(JcsError::DuplicateKey("d".to_owned()))
        );
        // Keys are compared after unescaping.
        assert_eq!(
            parse(br#"{"a":1,"\u0061":1}"#),
            Err(JcsError::DuplicateKey("a".to_owned()))
        );
        // The same key in sibling objects is fine.
        assert!(parse(br#"[{"a":1},{"a":2}]"#).is_ok());
        assert!(parse(br#"{"a":{"a":1}}"#).is_ok());
    }

    #[test]
    fn nesting_is_limited() {
        assert!(parse(nested_arrays(MAX_DEPTH).as_bytes()).is_ok());
        assert_eq!(
            parse(nested_arrays(MAX_DEPTH + 1).as_bytes()),
            Err(JcsError::TooDeep)
        );
        assert!(parse(nested_objects(MAX_DEPTH).as_bytes()).is_ok());
        assert_eq!(
            parse(nested_objects(MAX_DEPTH + 1).as_bytes()),
            Err(JcsError::TooDeep)
        );
        assert_eq!(
            canonicalize_bytes(nested_arrays(MAX_DEPTH).as_bytes()).unwrap(),
            nested_arrays(MAX_DEPTH).as_bytes()
        );
    }

    #[test]
    fn very_deep_input_is_rejected_without_overflowing_the_stack() {
        let input = "[".repeat(100_000);
        assert_eq!(parse(input.as_bytes()), Err(JcsError::TooDeep));
        let input = r#"{"a":"#.repeat(100_000);
        assert_eq!(parse(input.as_bytes()), Err(JcsError::TooDeep));
    }

    #[test]
    fn canonicalize_rejects_values_nested_too_deep() {
        let mut value = Value::Null;
        for _ in 0..MAX_DEPTH {
            value = Value::Array(vec![value]);
        }
        assert!(canonicalize(&value).is_ok());
        let value = Value::Array(vec![value]);
        assert_eq!(canonicalize(&value), Err(JcsError::TooDeep));
        let value = json!({ "a": value });
        assert_eq!(canonicalize(&value), Err(JcsError::TooDeep));
    }

    #[test]
    fn invalid_strings_are_rejected() {
        for input in [
            &br#""\ud800""#[..],
            br#""\udc00""#,
            br#""\ud800x""#,
            br#""\ud800\u0041""#,
            br#"{"\ud800":1}"#,
            b"\"\xff\"",
            b"\"\xed\xa0\x80\"",
            b"\"\xc0\xaf\"",
            b"\"a\x01b\"",
            b"\"\\x\"",
        ] {
            assert!(
                matches!(parse(input), Err(JcsError::Syntax(_))),
                "{:?} gave {:?}",
                String::from_utf8_lossy(input),
                parse(input)
            );
        }
        // A proper surrogate pair is one astral character.
        assert_eq!(
            parse(br#""\ud83d\ude00""#).unwrap(),
            Value::String("\u{1f600}".to_owned())
        );
    }

    #[test]
    fn numbers_overflowing_f64_are_rejected() {
        for input in [
            "1e400",
            "-1e400",
            "[1E+400]",
            &format!("1{}", "0".repeat(400)),
        ] {
            assert!(
                matches!(parse(input.as_bytes()), Err(JcsError::NumberOutOfRange(_))),
                "{input} gave {:?}",
                parse(input.as_bytes())
            );
        }
        // Underflow is not an error: it rounds to zero, as in JavaScript.
        assert_eq!(canonical_text("1e-400"), "0");
    }

    #[test]
    fn trailing_garbage_is_rejected() {
        for input in ["{} x", "1 2", "{}}", "[]]", "\"a\"\"b\"", "null,", "{}\0"] {
            assert!(
                matches!(parse(input.as_bytes()), Err(JcsError::Syntax(_))),
                "{input:?} gave {:?}",
                parse(input.as_bytes())
            );
        }
        assert_eq!(canonical_text(" \t\r\n{ } \n"), "{}");
    }

    #[test]
    fn non_json_is_rejected_with_a_position() {
        for input in [
            "",
            "{",
            "[1,]",
            "{'a':1}",
            "NaN",
            "Infinity",
            "01",
            "+1",
            ".5",
            "\u{feff}1",
        ] {
            let result = parse(input.as_bytes());
            assert!(
                matches!(
                    &result,
                    Err(JcsError::Syntax(message))
                        if message.contains("line") && message.contains("column")
                ),
                "{input:?} gave {result:?}"
            );
        }
    }

    #[test]
    fn string_escaping() {
        let input = r#""\u0000\u0001\b\t\n\u000b\f\r\u000e\u001f \u007f\u2028\u2029/\"\\é😀""#;
        assert_eq!(
            canonical_text(input),
            "\"\\u0000\\u0001\\b\\t\\n\\u000b\\f\\r\\u000e\\u001f \u{7f}\u{2028}\u{2029}/\\\"\\\\é😀\""
        );
        assert_eq!(canonical_text(r#""\/\u00e9\u0041""#), "\"/éA\"");
    }

    #[test]
    fn integers_become_the_nearest_double() {
        assert_eq!(canonical_text("9007199254740993"), "9007199254740992");
        assert_eq!(canonical_text("-9007199254740993"), "-9007199254740992");
        assert_eq!(
            canonical_text("18446744073709551615"),
            "18446744073709552000"
        );
        assert_eq!(
            canonical_text("-9223372036854775808"),
            "-9223372036854776000"
        );
        assert_eq!(
            canonical_text("18446744073709551616"),
            "18446744073709552000"
        );
        assert_eq!(
            canonical_text("123456789012345678901234"),
            "1.2345678901234569e+23"
        );
        assert_eq!(canonical_text("-0"), "0");
        assert_eq!(canonical_text("-0.0"), "0");
        assert_eq!(canonical_text("0e10"), "0");
        assert_eq!(canonical_text("[-0,0.0,-0e-5]"), "[0,0,0]");
        assert_eq!(
            canonicalize(&json!(u64::MAX)).unwrap(),
            b"18446744073709552000"
        );
        assert_eq!(
            canonicalize(&json!(i64::MIN)).unwrap(),
            b"-9223372036854776000"
        );
    }

    #[test]
    fn output_has_no_whitespace() {
        assert_eq!(
            canonical_text("[ 1 , { \"b\" : [ ] , \"a\" : { } } , \"x y\" ]"),
            r#"[1,{"a":{},"b":[]},"x y"]"#
        );
    }

    #[test]
    fn error_messages_are_lowercase_without_a_trailing_period() {
        let errors = [
            JcsError::Syntax("x".to_owned()),
            JcsError::DuplicateKey("x".to_owned()),
            JcsError::TooDeep,
            JcsError::NumberOutOfRange("x".to_owned()),
            JcsError::NotFinite,
        ];
        for error in errors {
            let message = error.to_string();
            assert!(!message.ends_with('.'), "{message}");
            assert_eq!(message, message.to_lowercase(), "{message}");
        }
    }

    fn finite_f64() -> impl Strategy<Value = f64> {
        use proptest::num::f64 as float;
        float::POSITIVE | float::NEGATIVE | float::NORMAL | float::SUBNORMAL | float::ZERO
    }

    fn arbitrary_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<u64>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            finite_f64().prop_map(|double| Value::Number(Number::from_f64(double).unwrap())),
            any::<String>().prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 64, 8, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
                prop::collection::btree_map(any::<String>(), inner, 0..8)
                    .prop_map(|members| Value::Object(members.into_iter().collect())),
            ]
        })
    }

    /// The value with every number replaced by its double, and negative zero by zero, which is
    /// all the information the canonical form keeps.
    fn normalise_numbers(value: &Value) -> Value {
        match value {
            Value::Number(number) => {
                let double = number.as_f64().unwrap();
                let double = if double == 0.0 { 0.0 } else { double };
                Value::Number(Number::from_f64(double).unwrap())
            }
            Value::Array(items) => Value::Array(items.iter().map(normalise_numbers).collect()),
            Value::Object(members) => Value::Object(
                members
                    .iter()
                    .map(|(key, member)| (key.clone(), normalise_numbers(member)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    proptest! {
        #[test]
        fn canonicalisation_is_idempotent(value in arbitrary_json()) {
            let canonical = canonicalize(&value).unwrap();
            let again = canonicalize(&parse(&canonical).unwrap()).unwrap();
            prop_assert_eq!(again, canonical);
        }

        #[test]
        fn formatted_numbers_read_back_exactly(value in finite_f64()) {
            let text = format_number(value).unwrap();
            let read_back: f64 = text.parse().unwrap();
            prop_assert!(
                read_back == value || (read_back == 0.0 && value == 0.0),
                "{} read back as {}", value, read_back
            );
        }

        #[test]
        fn canonical_output_reads_back_as_the_input(value in arbitrary_json()) {
            let canonical = canonicalize(&value).unwrap();
            let read_back = parse(&canonical).unwrap();
            prop_assert_eq!(normalise_numbers(&read_back), normalise_numbers(&value));
        }

        #[test]
        fn one_pass_canonicalisation_is_canonicalize_then_parse(
            value in arbitrary_json(),
            pick in any::<prop::sample::Index>(),
            respell in any::<bool>(),
        ) {
            // Pick a member to cut: one of the object's keys, or one it does not have.
            let member = match &value {
                Value::Object(members) if !members.is_empty() => {
                    members.keys().nth(pick.index(members.len())).cloned().unwrap()
                }
                _ => "absent".to_owned(),
            };
            // Integers also as doubles (`1` as `1.0`), as another encoder may have written them.
            let input = if respell { normalise_numbers(&value) } else { value.clone() };
            let expected_bytes = canonicalize(&input).unwrap();
            let expected_value = parse(&expected_bytes).unwrap();
            let one_pass = canonicalize_owned(input, &member).unwrap();
            prop_assert_eq!(&one_pass.bytes, &expected_bytes);
            // Order matters too (preserve_order): compare the serialisations.
            prop_assert_eq!(
                serde_json::to_string(&one_pass.value).unwrap(),
                serde_json::to_string(&expected_value).unwrap()
            );
            let mut without = value.clone();
            if let Value::Object(members) = &mut without {
                members.remove(&member);
            }
            prop_assert_eq!(one_pass.bytes_without_member(), canonicalize(&without).unwrap());
            prop_assert_eq!(
                one_pass.member.is_some(),
                value.as_object().is_some_and(|members| members.contains_key(&member))
            );
        }

        #[test]
        fn edited_canonicalisation_is_the_edited_copy_canonicalised(
            object in prop::collection::btree_map(
                "[a-z@é\u{10000}\u{e000}]{1,3}",
                arbitrary_json(),
                0..8,
            ),
            pick in any::<prop::sample::Index>(),
            replacement in arbitrary_json(),
            skip_absent in any::<bool>(),
            name in "[a-z@é\u{10000}\u{e000}]{1,3}",
        ) {
            let members: &Map<String, Value> = &object.into_iter().collect();
            // Skip one of the object's members (or one it does not have), and set another
            // (present or not) to `replacement`.
            let skipped = if members.is_empty() || skip_absent {
                "absent".to_owned()
            } else {
                members.keys().nth(pick.index(members.len())).cloned().unwrap()
            };
            let mut copy = members.clone();
            copy.remove(&skipped);
            if name != skipped {
                copy.insert(name.clone(), replacement.clone());
            }
            let edited = canonicalize_edited(
                members,
                &[skipped.as_str()],
                &[(name.as_str(), &replacement)],
            ).unwrap();
            prop_assert_eq!(edited, canonicalize(&Value::Object(copy)).unwrap());
        }

        #[test]
        fn formatted_numbers_match_serde_json_reading(value in finite_f64()) {
            // serde_json (float_roundtrip) must read our text as the same double, since other
            // nodes parse canonical bytes with it.
            let text = format_number(value).unwrap();
            let parsed = parse(text.as_bytes()).unwrap();
            prop_assert_eq!(parsed.as_f64().unwrap(), if value == 0.0 { 0.0 } else { value });
        }
    }
}
