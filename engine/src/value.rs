//! The data model every AIR value is carried in: the CBOR data model without
//! floats or tags. Typed meaning (records, variants, sets, ...) comes from a
//! schema (`crate::types`); this module only knows shapes.

use std::fmt;

/// An untyped value. `Map` keeps entries in insertion order; the canonical
/// encoder sorts them (by encoded key bytes) when it writes them.
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum Value {
    Null,
    Bool(bool),
    /// Covers CBOR major types 0 and 1 (−2^64 ..= 2^64−1).
    Int(i128),
    Bytes(Vec<u8>),
    Text(String),
    Array(Vec<Value>),
    Map(Vec<(Value, Value)>),
}

impl Value {
    pub fn text(s: impl Into<String>) -> Value {
        Value::Text(s.into())
    }

    /// A map with text keys, the shape of a record.
    pub fn record<I, K>(fields: I) -> Value
    where
        I: IntoIterator<Item = (K, Value)>,
        K: Into<String>,
    {
        Value::Map(
            fields
                .into_iter()
                .map(|(k, v)| (Value::Text(k.into()), v))
                .collect(),
        )
    }

    pub fn as_text(&self) -> Option<&str> {
        match self {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_int(&self) -> Option<i128> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::Bytes(b) => Some(b),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&[(Value, Value)]> {
        match self {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    /// Looks up a text key in a map.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.as_text() == Some(key))
            .map(|(_, v)| v)
    }

    /// A short name of the shape, for error messages.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Bytes(_) => "a byte string",
            Value::Text(_) => "a text string",
            Value::Array(_) => "an array",
            Value::Map(_) => "a map",
        }
    }
}

/// What is wrong with one field of a record read with the `*_field`
/// readers: the one way decoded documents (journal entries, intents,
/// receipts, snapshots) are read field by field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub problem: FieldProblem,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldProblem {
    /// The value holding the field is not a map (its shape).
    NotAMap(&'static str),
    Missing,
    /// What the field should be, and the shape it has.
    Wrong(&'static str, &'static str),
    /// An array written by position with the wrong number of items: how
    /// many it should have, and has.
    Items(usize, usize),
    /// The field has the right shape but says something that cannot be.
    Invalid(String),
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = &self.field;
        match &self.problem {
            FieldProblem::NotAMap(found) => write!(f, "expected a map, found {found}"),
            FieldProblem::Missing => write!(f, "field `{name}` is missing"),
            FieldProblem::Wrong(expected, found) => {
                write!(f, "field `{name}` should be {expected}, found {found}")
            }
            FieldProblem::Invalid(why) => write!(f, "field `{name}`: {why}"),
            FieldProblem::Items(expected, found) => {
                write!(
                    f,
                    "field `{name}` should be an array of {expected} items, found {found}"
                )
            }
        }
    }
}

impl std::error::Error for FieldError {}

impl FieldError {
    /// `problem` with the value called `name` in its parent (a field name,
    /// or `[i]` for an item of an array).
    pub fn new(name: impl Into<String>, problem: FieldProblem) -> FieldError {
        FieldError {
            field: name.into(),
            problem,
        }
    }

    /// The same error seen from the value holding the one it names, itself
    /// called `outer` in its parent: `steps` then `[2][5]` reads
    /// `steps[2][5]`. Built on the way out, so reading never formats a path.
    pub fn within(mut self, outer: &str) -> FieldError {
        if !self.field.is_empty() && !self.field.starts_with('[') && !outer.is_empty() {
            self.field.insert(0, '.');
        }
        self.field.insert_str(0, outer);
        self
    }

    /// [`FieldError::within`] item `i` of an array.
    pub fn within_item(self, i: usize) -> FieldError {
        self.within(&format!("[{i}]"))
    }
}

/// Field readers: each says which field and what was wrong.
impl Value {
    pub fn field(&self, name: &str) -> Result<&Value, FieldError> {
        let problem = match self.as_map() {
            None => FieldProblem::NotAMap(self.kind_name()),
            Some(_) => match self.get(name) {
                Some(v) => return Ok(v),
                None => FieldProblem::Missing,
            },
        };
        Err(FieldError {
            field: name.to_string(),
            problem,
        })
    }

    /// The field read by `read`, which names what it expects.
    fn read_field<'a, T>(
        &'a self,
        name: &str,
        expected: &'static str,
        read: impl FnOnce(&'a Value) -> Option<T>,
    ) -> Result<T, FieldError> {
        let v = self.field(name)?;
        read(v).ok_or_else(|| FieldError {
            field: name.to_string(),
            problem: FieldProblem::Wrong(expected, v.kind_name()),
        })
    }

    pub fn text_field(&self, name: &str) -> Result<&str, FieldError> {
        self.read_field(name, "text", Value::as_text)
    }

    pub fn bytes_field(&self, name: &str) -> Result<&[u8], FieldError> {
        self.read_field(name, "a byte string", Value::as_bytes)
    }

    pub fn u64_field(&self, name: &str) -> Result<u64, FieldError> {
        self.read_field(name, "a natural number below 2^64", |v| {
            v.as_int().and_then(|i| u64::try_from(i).ok())
        })
    }

    pub fn hash_field(&self, name: &str) -> Result<crate::hash::Hash, FieldError> {
        self.read_field(name, "a 32-byte hash", |v| {
            v.as_bytes().and_then(crate::hash::Hash::from_slice)
        })
    }

    pub fn bool_field(&self, name: &str) -> Result<bool, FieldError> {
        self.read_field(name, "a boolean", |v| match v {
            Value::Bool(b) => Some(*b),
            _ => None,
        })
    }

    pub fn array_field(&self, name: &str) -> Result<&[Value], FieldError> {
        self.read_field(name, "an array", Value::as_array)
    }

    /// A byte string, or nothing when the field is null or absent.
    pub fn opt_bytes_field(&self, name: &str) -> Result<Option<&[u8]>, FieldError> {
        match self.get(name) {
            None | Some(Value::Null) if self.as_map().is_some() => Ok(None),
            _ => self.bytes_field(name).map(Some),
        }
    }
}

/// Readers for a value itself, not a field of it (an item of a positional
/// array, a field already looked up): `name` is what its parent calls it,
/// for the error.
impl Value {
    /// This value read by `read`, which names what it expects.
    pub fn read_as<'a, T>(
        &'a self,
        name: &str,
        expected: &'static str,
        read: impl FnOnce(&'a Value) -> Option<T>,
    ) -> Result<T, FieldError> {
        read(self)
            .ok_or_else(|| FieldError::new(name, FieldProblem::Wrong(expected, self.kind_name())))
    }

    pub fn text_as(&self, name: &str) -> Result<&str, FieldError> {
        self.read_as(name, "text", Value::as_text)
    }

    pub fn bytes_as(&self, name: &str) -> Result<&[u8], FieldError> {
        self.read_as(name, "a byte string", Value::as_bytes)
    }

    pub fn u64_as(&self, name: &str) -> Result<u64, FieldError> {
        self.read_as(name, "a natural number below 2^64", |v| {
            v.as_int().and_then(|i| u64::try_from(i).ok())
        })
    }

    pub fn hash_as(&self, name: &str) -> Result<crate::hash::Hash, FieldError> {
        self.read_as(name, "a 32-byte hash", |v| {
            v.as_bytes().and_then(crate::hash::Hash::from_slice)
        })
    }

    pub fn array_as(&self, name: &str) -> Result<&[Value], FieldError> {
        self.read_as(name, "an array", Value::as_array)
    }

    pub fn map_as(&self, name: &str) -> Result<&[(Value, Value)], FieldError> {
        self.read_as(name, "a map", Value::as_map)
    }

    /// `None` for null, else what `read` makes of the value.
    pub fn or_null<'a, T>(
        &'a self,
        read: impl FnOnce(&'a Value) -> Result<T, FieldError>,
    ) -> Result<Option<T>, FieldError> {
        match self {
            Value::Null => Ok(None),
            v => read(v).map(Some),
        }
    }

    /// The items of an array of exactly `N` (a record written by position).
    pub fn items_as<const N: usize>(&self, name: &str) -> Result<&[Value; N], FieldError> {
        let items = self.array_as(name)?;
        <&[Value; N]>::try_from(items)
            .map_err(|_| FieldError::new(name, FieldProblem::Items(N, items.len())))
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => write!(f, "null"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Bytes(b) => {
                write!(f, "h'")?;
                for byte in b {
                    write!(f, "{byte:02x}")?;
                }
                write!(f, "'")
            }
            Value::Text(s) => write!(f, "{s:?}"),
            Value::Array(a) => f.debug_list().entries(a).finish(),
            Value::Map(m) => f
                .debug_map()
                .entries(m.iter().map(|(k, v)| (k, v)))
                .finish(),
        }
    }
}

#[cfg(test)]
mod field_tests {
    use super::*;
    use crate::hash::Hash;

    #[test]
    fn value_readers_name_the_value_and_paths_build_on_the_way_out() {
        let v = Value::Array(vec![Value::Int(1), Value::text("x"), Value::Null]);
        let [n, t, z] = v.items_as::<3>("row").expect("three");
        assert_eq!(n.u64_as("[0]"), Ok(1));
        assert_eq!(t.text_as("[1]"), Ok("x"));
        assert_eq!(z.or_null(|z| z.u64_as("[2]")), Ok(None));
        assert_eq!(n.or_null(|n| n.u64_as("[0]")), Ok(Some(1)));
        let e = t
            .u64_as("[1]")
            .expect_err("text")
            .within("row")
            .within_item(4)
            .within("rows");
        assert_eq!(
            e.to_string(),
            "field `rows[4].row[1]` should be a natural number below 2^64, found a text string"
        );
        let e = v
            .items_as::<2>("")
            .expect_err("three, not two")
            .within_item(0);
        assert_eq!(
            e.to_string(),
            "field `[0]` should be an array of 2 items, found 3"
        );
        let e = n.items_as::<2>("pair").expect_err("not an array");
        assert_eq!(
            e.to_string(),
            "field `pair` should be an array, found an integer"
        );
        let e = FieldError::new("at", FieldProblem::Invalid("7 is not a status".into()));
        assert_eq!(
            e.within("steps").to_string(),
            "field `steps.at`: 7 is not a status"
        );
        assert!(n.hash_as("h").is_err() && n.map_as("m").is_err() && n.bytes_as("b").is_err());
        assert!(t.array_as("a").is_err());
    }

    #[test]
    fn field_readers_name_the_field_and_what_is_wrong() {
        let h = Hash::of(b"x");
        let v = Value::record([
            ("t", Value::text("a")),
            ("n", Value::Int(7)),
            ("neg", Value::Int(-1)),
            ("b", Value::Bytes(vec![1])),
            ("h", Value::Bytes(h.0.to_vec())),
            ("z", Value::Null),
            ("ok", Value::Bool(true)),
            ("list", Value::Array(vec![Value::Null])),
        ]);
        assert_eq!(v.text_field("t"), Ok("a"));
        assert_eq!(v.u64_field("n"), Ok(7));
        assert_eq!(v.bytes_field("b"), Ok(&[1u8][..]));
        assert_eq!(v.hash_field("h"), Ok(h));
        assert_eq!(v.bool_field("ok"), Ok(true));
        assert_eq!(v.array_field("list").map(<[Value]>::len), Ok(1));
        assert_eq!(v.opt_bytes_field("z"), Ok(None));
        assert_eq!(v.opt_bytes_field("absent"), Ok(None));
        assert_eq!(v.opt_bytes_field("b"), Ok(Some(&[1u8][..])));
        let says = |e: FieldError| e.to_string();
        assert_eq!(
            says(v.text_field("absent").unwrap_err()),
            "field `absent` is missing"
        );
        assert_eq!(
            says(v.u64_field("neg").unwrap_err()),
            "field `neg` should be a natural number below 2^64, found an integer"
        );
        assert_eq!(
            says(v.hash_field("b").unwrap_err()),
            "field `b` should be a 32-byte hash, found a byte string"
        );
        assert_eq!(
            says(v.opt_bytes_field("t").unwrap_err()),
            "field `t` should be a byte string, found a text string"
        );
        assert_eq!(
            says(Value::Int(1).text_field("t").unwrap_err()),
            "expected a map, found an integer"
        );
        assert!(Value::Int(1).opt_bytes_field("t").is_err());
    }
}
