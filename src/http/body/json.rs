//! A JSON body read straight into named fields: serde's visitor sees the
//! top-level object and turns each member into a `FieldValue` as it is parsed,
//! with no `serde_json::Value` tree (and its map) in between.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::{FieldValue, Fields};

/// What a JSON body holds at the top.
pub(super) enum Top {
    Object(Fields),
    Null,
    /// Anything else, by Python's type name (DRF's "Expected a dictionary of items but got type "list".").
    Other(&'static str),
}

impl<'de> de::Deserialize<'de> for Top {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(TopVisitor)
    }
}

struct TopVisitor;

impl<'de> Visitor<'de> for TopVisitor {
    type Value = Top;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Top, A::Error> {
        let mut fields = Fields::with_capacity(map.size_hint().unwrap_or(0));
        while let Some(name) = map.next_key::<String>()? {
            // A repeated name keeps its first place and takes the last value, as
            // Python's `json` (and the order-preserving map this replaced) does.
            fields.insert(name, map.next_value_seed(Field)?);
        }
        Ok(Top::Object(fields))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Top, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Top::Other("list"))
    }

    fn visit_unit<E>(self) -> Result<Top, E> {
        Ok(Top::Null)
    }

    fn visit_bool<E>(self, _: bool) -> Result<Top, E> {
        Ok(Top::Other("bool"))
    }

    fn visit_i64<E>(self, _: i64) -> Result<Top, E> {
        Ok(Top::Other("int"))
    }

    fn visit_u64<E>(self, _: u64) -> Result<Top, E> {
        Ok(Top::Other("int"))
    }

    fn visit_f64<E>(self, _: f64) -> Result<Top, E> {
        Ok(Top::Other("float"))
    }

    fn visit_str<E>(self, _: &str) -> Result<Top, E> {
        Ok(Top::Other("str"))
    }
}

/// One member's value.
struct Field;

impl<'de> DeserializeSeed<'de> for Field {
    type Value = FieldValue;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<FieldValue, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Field {
    type Value = FieldValue;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_string<E>(self, s: String) -> Result<FieldValue, E> {
        Ok(FieldValue::Text(s))
    }

    fn visit_str<E>(self, s: &str) -> Result<FieldValue, E> {
        Ok(FieldValue::Text(s.to_owned()))
    }

    // Numbers as serde_json writes them (DRF's CharField takes `5` as "5").
    fn visit_i64<E>(self, n: i64) -> Result<FieldValue, E> {
        Ok(FieldValue::Number(serde_json::Number::from(n).to_string()))
    }

    fn visit_u64<E>(self, n: u64) -> Result<FieldValue, E> {
        Ok(FieldValue::Number(serde_json::Number::from(n).to_string()))
    }

    fn visit_f64<E>(self, n: f64) -> Result<FieldValue, E> {
        // JSON has no NaN or infinity: the parser never hands one over.
        Ok(FieldValue::Number(serde_json::Number::from_f64(n).map(|n| n.to_string()).unwrap_or_default()))
    }

    fn visit_bool<E>(self, b: bool) -> Result<FieldValue, E> {
        Ok(FieldValue::Bool(b))
    }

    fn visit_unit<E>(self) -> Result<FieldValue, E> {
        Ok(FieldValue::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<FieldValue, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(FieldValue::Nested)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<FieldValue, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(FieldValue::Nested)
    }
}
