//! A JSON body read straight into the route's fields: serde's visitor sees the
//! top-level object, compares each member's name where the parser holds it, and
//! turns a member the route reads into a `FieldValue` (the others are parsed and
//! dropped), with no `serde_json::Value` tree (and its map) in between.

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::{FieldValue, Fields};

/// What a JSON body holds at the top.
pub(super) enum Top<'w> {
    Object(Fields<'w>),
    Null,
    /// Anything else, by Python's type name (DRF's "Expected a dictionary of items but got type "list".").
    Other(&'static str),
}

/// Reads a body's top, keeping the members of these names (the route's body fields).
pub(super) struct TopSeed<'w>(pub &'w [String]);

impl<'de, 'w> DeserializeSeed<'de> for TopSeed<'w> {
    type Value = Top<'w>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Top<'w>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, 'w> Visitor<'de> for TopSeed<'w> {
    type Value = Top<'w>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Top<'w>, A::Error> {
        let mut fields = Fields::new(self.0);
        while let Some(slot) = map.next_key_seed(Key(self.0))? {
            match slot {
                // A repeated name takes the last value, as Python's `json` does.
                Some(i) => fields.set(i, map.next_value_seed(Field)?),
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Top::Object(fields))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Top<'w>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Top::Other("list"))
    }

    fn visit_unit<E>(self) -> Result<Top<'w>, E> {
        Ok(Top::Null)
    }

    fn visit_bool<E>(self, _: bool) -> Result<Top<'w>, E> {
        Ok(Top::Other("bool"))
    }

    fn visit_i64<E>(self, _: i64) -> Result<Top<'w>, E> {
        Ok(Top::Other("int"))
    }

    fn visit_u64<E>(self, _: u64) -> Result<Top<'w>, E> {
        Ok(Top::Other("int"))
    }

    fn visit_f64<E>(self, _: f64) -> Result<Top<'w>, E> {
        Ok(Top::Other("float"))
    }

    fn visit_str<E>(self, _: &str) -> Result<Top<'w>, E> {
        Ok(Top::Other("str"))
    }
}

/// A member's name, as the slot of a kept one (None: not read), compared
/// where the parser holds it: no copy of any name.
struct Key<'w>(&'w [String]);

impl<'de> DeserializeSeed<'de> for Key<'_> {
    type Value = Option<usize>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<usize>, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key<'_> {
    type Value = Option<usize>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a member name")
    }

    fn visit_str<E>(self, s: &str) -> Result<Option<usize>, E> {
        Ok(self.0.iter().position(|n| n == s))
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
