//! A `serde::Serializer` writing compact JSON text: what `serde_json::to_string` writes, for
//! the shapes the messages have.

#[allow(unused_imports)]
use crate::prelude::*;
use core::fmt::Display;

use serde::ser::{self, Impossible, Serialize};

use super::Error;
use crate::protocol::json::{write_string, write_u64};

impl ser::Error for Error {
    fn custom<T: Display>(_: T) -> Self {
        Error
    }
}

/// The newtype name by which [`RawJson`] asks [`Writer`] for its text to be written verbatim.
const RAW_JSON: &str = "$oidc_worker::RawJson";

/// JSON text written as it is: a value the core already holds as text (claims, `{ appState }`).
/// The text must be one JSON value; only text the core produced or validated is wrapped so.
/// (Any other serializer writes it as a string.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawJson<'a>(pub &'a str);

impl Serialize for RawJson<'_> {
    fn serialize<S: ser::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_newtype_struct(RAW_JSON, self.0)
    }
}

/// The text written so far.
#[derive(Default)]
pub(super) struct Writer {
    out: String,
    /// The next string is [`RawJson`]'s text.
    raw: bool,
}

impl Writer {
    pub(super) fn into_string(self) -> String {
        self.out
    }

    #[inline(never)]
    fn push(&mut self, text: &str) -> Result<(), Error> {
        self.out.push_str(text);
        Ok(())
    }
}

impl<'a> ser::Serializer for &'a mut Writer {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Impossible<(), Error>;
    type SerializeTuple = Impossible<(), Error>;
    type SerializeTupleStruct = Impossible<(), Error>;
    type SerializeTupleVariant = Impossible<(), Error>;
    type SerializeMap = Impossible<(), Error>;
    type SerializeStruct = Object<'a>;
    type SerializeStructVariant = Impossible<(), Error>;

    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.push(if v { "true" } else { "false" })
    }

    fn serialize_u8(self, v: u8) -> Result<(), Error> {
        self.serialize_u64(v.into())
    }

    fn serialize_u16(self, v: u16) -> Result<(), Error> {
        self.serialize_u64(v.into())
    }

    fn serialize_u32(self, v: u32) -> Result<(), Error> {
        self.serialize_u64(v.into())
    }

    fn serialize_u64(self, v: u64) -> Result<(), Error> {
        write_u64(&mut self.out, v);
        Ok(())
    }

    fn serialize_str(self, v: &str) -> Result<(), Error> {
        if core::mem::take(&mut self.raw) {
            self.out.push_str(v);
        } else {
            write_string(&mut self.out, v);
        }
        Ok(())
    }

    fn serialize_none(self) -> Result<(), Error> {
        self.push("null")
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }

    /// An untagged enum's unit variant (`ReplyValue::Null`).
    fn serialize_unit(self) -> Result<(), Error> {
        self.push("null")
    }

    /// The tag of an adjacently tagged enum (`Event`'s `name`).
    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Result<(), Error> {
        self.serialize_str(variant)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, name: &'static str, value: &T) -> Result<(), Error> {
        self.raw = name == RAW_JSON;
        let written = value.serialize(&mut *self);
        self.raw = false;
        written
    }

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Object<'a>, Error> {
        self.out.push('{');
        Ok(Object { writer: self, first: true })
    }

    // Nothing the messages hold; serde_json would write these, so refusing them is what keeps
    // a new field of such a type from passing unnoticed (tests compare with serde_json).
    fn serialize_i8(self, _: i8) -> Result<(), Error> {
        Err(Error)
    }
    fn serialize_i16(self, _: i16) -> Result<(), Error> {
        Err(Error)
    }
    fn serialize_i32(self, _: i32) -> Result<(), Error> {
        Err(Error)
    }
    fn serialize_i64(self, _: i64) -> Result<(), Error> {
        Err(Error)
    }
    fn serialize_f32(self, _: f32) -> Result<(), Error> {
        Err(Error)
    }
    fn serialize_f64(self, _: f64) -> Result<(), Error> {
        Err(Error)
    }
    fn serialize_char(self, _: char) -> Result<(), Error> {
        Err(Error)
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<(), Error> {
        Err(Error)
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Error> {
        Err(Error)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(self, _: &'static str, _: u32, _: &'static str, _: &T) -> Result<(), Error> {
        Err(Error)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Error> {
        Err(Error)
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Error> {
        Err(Error)
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeTupleStruct, Error> {
        Err(Error)
    }
    fn serialize_tuple_variant(self, _: &'static str, _: u32, _: &'static str, _: usize) -> Result<Self::SerializeTupleVariant, Error> {
        Err(Error)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Error> {
        Err(Error)
    }
    fn serialize_struct_variant(self, _: &'static str, _: u32, _: &'static str, _: usize) -> Result<Self::SerializeStructVariant, Error> {
        Err(Error)
    }
}

/// A struct being written as an object: `{"name":value,...}`.
pub(super) struct Object<'a> {
    writer: &'a mut Writer,
    first: bool,
}

impl Object<'_> {
    /// `,"name":` (no comma before the first member); not generic, so written once.
    #[inline(never)]
    fn name(&mut self, name: &str) {
        let out = &mut self.writer.out;
        if !core::mem::replace(&mut self.first, false) {
            out.push(',');
        }
        write_string(out, name);
        out.push(':');
    }
}

impl ser::SerializeStruct for Object<'_> {
    type Ok = ();
    type Error = Error;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, name: &'static str, value: &T) -> Result<(), Error> {
        self.name(name);
        value.serialize(&mut *self.writer)
    }

    fn end(self) -> Result<(), Error> {
        self.writer.push("}")
    }
}
