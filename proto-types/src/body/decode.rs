//! Decoding a JSON value into a typed body while remembering where decoding failed, so that a
//! serde error becomes a [`BodyError`] with a field path such as `holder.country`.
//!
//! This is a thin deserializer over `&serde_json::Value`: objects and arrays are walked here (to
//! know the path of every value), everything else is handed to `serde_json`'s own deserializer.
//! The first, innermost failure records its path; outer levels leave it alone.

use std::cell::Cell;

use serde::de::value::BorrowedStrDeserializer;
use serde::de::{
    self, DeserializeOwned, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor,
};
use serde_json::Value;

use super::BodyError;

/// Field name used when the failure is not inside any field.
const ROOT_FIELD: &str = "body";

/// Decodes `value` as a `T`; on failure the error names the innermost field that failed.
/// Objects are required where `T` expects a struct (serde_json alone would accept an array).
pub(super) fn from_value<T: DeserializeOwned>(value: &Value) -> Result<T, BodyError> {
    let failure = Cell::new(None);
    let deserializer = Tracked {
        value,
        path: String::new(),
        failure: &failure,
    };
    T::deserialize(deserializer).map_err(|error| {
        let path = failure.take().unwrap_or_default();
        let message = error.to_string();
        // A missing field is noticed by the enclosing struct; name the field itself.
        let missing = message
            .strip_prefix("missing field `")
            .and_then(|rest| rest.strip_suffix('`'));
        let field = match missing {
            Some(name) => join(&path, name),
            None if path.is_empty() => ROOT_FIELD.to_owned(),
            None => path,
        };
        BodyError::new(field, message)
    })
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// Remembers `path` as the place of failure unless an inner value already did.
fn record(failure: &Cell<Option<String>>, path: &str) {
    let earlier = failure.take();
    failure.set(Some(earlier.unwrap_or_else(|| path.to_owned())));
}

fn unexpected(value: &Value) -> de::Unexpected<'_> {
    match value {
        Value::Null => de::Unexpected::Unit,
        Value::Bool(boolean) => de::Unexpected::Bool(*boolean),
        Value::Number(number) => {
            if let Some(unsigned) = number.as_u64() {
                de::Unexpected::Unsigned(unsigned)
            } else if let Some(signed) = number.as_i64() {
                de::Unexpected::Signed(signed)
            } else {
                de::Unexpected::Float(number.as_f64().unwrap_or(f64::NAN))
            }
        }
        Value::String(string) => de::Unexpected::Str(string),
        Value::Array(_) => de::Unexpected::Seq,
        Value::Object(_) => de::Unexpected::Map,
    }
}

struct Tracked<'de> {
    value: &'de Value,
    path: String,
    failure: &'de Cell<Option<String>>,
}

impl<'de> Tracked<'de> {
    fn visit_object<V: Visitor<'de>>(
        self,
        map: &'de serde_json::Map<String, Value>,
        visitor: V,
    ) -> Result<V::Value, serde_json::Error> {
        visitor.visit_map(TrackedMap {
            entries: map.iter(),
            pending: None,
            path: self.path,
            failure: self.failure,
        })
    }

    fn visit_array<V: Visitor<'de>>(
        self,
        items: &'de [Value],
        visitor: V,
    ) -> Result<V::Value, serde_json::Error> {
        let mut access = TrackedSeq {
            items: items.iter().enumerate(),
            path: self.path,
            failure: self.failure,
        };
        let result = visitor.visit_seq(&mut access)?;
        if access.items.len() == 0 {
            Ok(result)
        } else {
            Err(de::Error::invalid_length(
                items.len(),
                &"fewer elements in array",
            ))
        }
    }
}

impl<'de> Deserializer<'de> for Tracked<'de> {
    type Error = serde_json::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self.value {
            Value::Object(map) => self.visit_object(map, visitor),
            Value::Array(items) => self.visit_array(items, visitor),
            other => other.deserialize_any(visitor),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self.value {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        match self.value {
            Value::Object(map) => self.visit_object(map, visitor),
            other => Err(de::Error::invalid_type(unexpected(other), &visitor)),
        }
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self.value {
            Value::Object(map) => self.visit_object(map, visitor),
            other => Err(de::Error::invalid_type(unexpected(other), &visitor)),
        }
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self.value {
            Value::Array(items) => self.visit_array(items, visitor),
            other => Err(de::Error::invalid_type(unexpected(other), &visitor)),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        // Body enums are unit variants written as strings; serde_json handles those directly.
        self.value.deserialize_enum(name, variants, visitor)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf unit
        unit_struct tuple tuple_struct identifier ignored_any
    }
}

struct TrackedMap<'de> {
    entries: serde_json::map::Iter<'de>,
    pending: Option<(&'de Value, String)>,
    path: String,
    failure: &'de Cell<Option<String>>,
}

impl<'de> MapAccess<'de> for TrackedMap<'de> {
    type Error = serde_json::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Self::Error> {
        let Some((key, value)) = self.entries.next() else {
            return Ok(None);
        };
        let path = join(&self.path, key);
        let key_deserializer = BorrowedStrDeserializer::<serde_json::Error>::new(key.as_str());
        match seed.deserialize(key_deserializer) {
            Ok(decoded) => {
                self.pending = Some((value, path));
                Ok(Some(decoded))
            }
            Err(error) => {
                // An unknown field is refused here, when its key is read.
                record(self.failure, &path);
                Err(error)
            }
        }
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<S::Value, Self::Error> {
        let (value, path) = self
            .pending
            .take()
            .ok_or_else(|| de::Error::custom("map value requested before its key"))?;
        let deserializer = Tracked {
            value,
            path: path.clone(),
            failure: self.failure,
        };
        seed.deserialize(deserializer)
            .inspect_err(|_| record(self.failure, &path))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

struct TrackedSeq<'de> {
    items: std::iter::Enumerate<std::slice::Iter<'de, Value>>,
    path: String,
    failure: &'de Cell<Option<String>>,
}

impl<'de> SeqAccess<'de> for TrackedSeq<'de> {
    type Error = serde_json::Error;

    fn next_element_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, Self::Error> {
        let Some((index, value)) = self.items.next() else {
            return Ok(None);
        };
        let path = format!("{}[{index}]", self.path);
        let deserializer = Tracked {
            value,
            path: path.clone(),
            failure: self.failure,
        };
        seed.deserialize(deserializer)
            .map(Some)
            .inspect_err(|_| record(self.failure, &path))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}
