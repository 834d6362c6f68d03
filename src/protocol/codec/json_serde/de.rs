//! A `serde::Deserializer` for `&Value`: what `serde_json::from_str` does, minus numbers and
//! arrays.

#[allow(unused_imports)]
use crate::prelude::*;
use core::fmt::Display;

use serde::de::{self, DeserializeSeed, Expected, Unexpected, Visitor};
use serde::forward_to_deserialize_any;

use super::Error;
use crate::protocol::json::Value;

// Every way serde reports a mismatch becomes the one fixed `Error`: the defaults would format
// `Unexpected` (and with it floats) into a message.
impl de::Error for Error {
    fn custom<T: Display>(_: T) -> Self {
        Error
    }
    fn invalid_type(_: Unexpected<'_>, _: &dyn Expected) -> Self {
        Error
    }
    fn invalid_value(_: Unexpected<'_>, _: &dyn Expected) -> Self {
        Error
    }
    fn invalid_length(_: usize, _: &dyn Expected) -> Self {
        Error
    }
    fn unknown_variant(_: &str, _: &'static [&'static str]) -> Self {
        Error
    }
    fn unknown_field(_: &str, _: &'static [&'static str]) -> Self {
        Error
    }
    fn missing_field(_: &'static str) -> Self {
        Error
    }
    fn duplicate_field(_: &'static str) -> Self {
        Error
    }
}

impl<'de> de::Deserializer<'de> for &'de Value {
    type Error = Error;

    /// The value as what it is.
    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::String(s) => visitor.visit_borrowed_str(s),
            Value::Object(members) => visitor.visit_map(MapAccess { members, value: None }),
            // No call has a number or a list. (serde_json would also read a struct from an
            // array of its fields in order; no sender writes one, so refusing it keeps that
            // code out of the wasm.)
            Value::Number(_) | Value::Array(_) => Err(Error),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, _: &'static str, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    /// serde's externally tagged form: `"variant"` for a unit variant, `{ "variant": value }`
    /// for any variant (a unit variant's value is `null`).
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self {
            Value::String(variant) => visitor.visit_enum(EnumAccess { variant, value: None }),
            Value::Object(members) => match members.as_slice() {
                [(variant, value)] => visitor.visit_enum(EnumAccess { variant, value: Some(value) }),
                _ => Err(Error),
            },
            _ => Err(Error),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map struct identifier
    }
}

/// An object's members, in document order (json.rs has refused duplicate names).
struct MapAccess<'de> {
    members: &'de [(String, Value)],
    /// The value of the member whose name was just read.
    value: Option<&'de Value>,
}

impl<'de> de::MapAccess<'de> for MapAccess<'de> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, Error> {
        let Some(((name, value), rest)) = self.members.split_first() else {
            return Ok(None);
        };
        self.members = rest;
        self.value = Some(value);
        seed.deserialize(Name(name)).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        seed.deserialize(self.value.take().ok_or(Error)?)
    }
}

/// A member or variant name: a string, and nothing else.
struct Name<'de>(&'de str);

impl<'de> de::Deserializer<'de> for Name<'de> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_borrowed_str(self.0)
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}

/// An enum's variant name and, in the `{ "variant": value }` form, its value.
struct EnumAccess<'de> {
    variant: &'de str,
    value: Option<&'de Value>,
}

impl<'de> de::EnumAccess<'de> for EnumAccess<'de> {
    type Error = Error;
    type Variant = VariantAccess<'de>;

    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, VariantAccess<'de>), Error> {
        let variant = seed.deserialize(Name(self.variant))?;
        Ok((variant, VariantAccess(self.value)))
    }
}

/// The variant's value: `None` when the variant was a bare string.
struct VariantAccess<'de>(Option<&'de Value>);

impl<'de> de::VariantAccess<'de> for VariantAccess<'de> {
    type Error = Error;

    fn unit_variant(self) -> Result<(), Error> {
        match self.0 {
            None | Some(Value::Null) => Ok(()),
            Some(_) => Err(Error),
        }
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, Error> {
        seed.deserialize(self.0.ok_or(Error)?)
    }

    // No call is a tuple or struct variant.
    fn tuple_variant<V: Visitor<'de>>(self, _: usize, _: V) -> Result<V::Value, Error> {
        Err(Error)
    }

    fn struct_variant<V: Visitor<'de>>(self, _: &'static [&'static str], _: V) -> Result<V::Value, Error> {
        Err(Error)
    }
}
