//! Reading JSON strictly (a duplicate object key is a syntax error with its
//! line, column and JSON path, not a silently dropped value) and turning
//! JSON into the [`Value`] a node is hashed as. AIR files, events files and
//! injected events all read through [`parse_strict`].

use crate::clip::clip_quoted;
use crate::types::field_segment;
use crate::value::Value;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value as Json};
use std::cell::RefCell;
use std::fmt;

/// A syntax error: 1-based line and column, and what is wrong.
#[derive(Debug)]
pub(crate) struct SyntaxError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

pub(crate) fn parse_strict(bytes: &[u8]) -> Result<Json, SyntaxError> {
    parse_strict_at(bytes, Vec::new())
}

/// [`parse_strict`] of a value found at `path` in a larger document (so a
/// duplicate key is named by its whole path).
fn parse_strict_at(bytes: &[u8], path: Vec<Seg>) -> Result<Json, SyntaxError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let path = RefCell::new(path);
    let result = Strict { path: &path }
        .deserialize(&mut de)
        .and_then(|v| de.end().map(|()| v));
    result.map_err(|e| syntax_error(&e))
}

fn syntax_error(e: &serde_json::Error) -> SyntaxError {
    // serde_json appends " at line L column C"; the diagnostic has its own.
    let full = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    SyntaxError {
        line: e.line(),
        column: e.column(),
        message: full.strip_suffix(&suffix).unwrap_or(&full).to_string(),
    }
}

/// Reads a top-level JSON array from `reader` one element at a time: the
/// bytes of each element are found by a small scanner (nesting, strings,
/// escapes), then read strictly from a slice and handed to `each` with
/// their index, so memory holds one element, never the document. Positions
/// in errors are the document's. An error from `each` stops the reading and
/// is returned as it is (`Err(Ok(e))`); a syntax error is `Err(Err(_))`.
pub(crate) fn for_each_array_element<R: std::io::BufRead, E>(
    mut reader: R,
    mut each: impl FnMut(usize, Json) -> Result<(), E>,
) -> Result<usize, Result<E, SyntaxError>> {
    let mut scan = Scanner::default();
    // The bytes of an element that began in an earlier buffer.
    let mut element = Vec::new();
    // Where the current element starts (line, column), 1-based.
    let mut at = (1, 1);
    let (mut index, mut started, mut closed) = (0, false, false);
    loop {
        let buf = reader.fill_buf().map_err(|e| {
            let place = scan.place(scan.offset);
            Err(scan.error(place, &format!("cannot read: {e}")))
        })?;
        if buf.is_empty() {
            break;
        }
        let n = buf.len();
        let base = scan.offset;
        // Where the current element's bytes begin in this buffer: elements
        // are copied a span at a time, not a byte at a time.
        let mut span: Option<usize> = (!element.is_empty()).then_some(0);
        let mut i = 0;
        while i < n {
            // Inside an element, bytes that change no state are skipped in
            // a tight loop (not after a backslash: that byte is escaped).
            if span.is_some() && !scan.escaped {
                while i < n && PLAIN[usize::from(buf[i])] {
                    i += 1;
                }
                if i == n {
                    break;
                }
            }
            let b = buf[i];
            i += 1;
            let offset = base + i as u64 - 1;
            let outer = scan.depth == 0 && !scan.in_string;
            scan.advance(b, offset);
            if closed {
                if !b.is_ascii_whitespace() {
                    return Err(Err(scan.error(scan.place(offset), "trailing characters")));
                }
                continue;
            }
            if !started {
                match b {
                    b'[' => {
                        // Depth counts nesting inside the elements.
                        started = true;
                        scan.depth = 0;
                    }
                    _ if b.is_ascii_whitespace() => {}
                    _ => return Err(Err(scan.error(scan.place(offset), "expected `[`"))),
                }
                continue;
            }
            // A `,` or `]` read outside every element ends the current one.
            if !(outer && matches!(b, b',' | b']')) {
                if span.is_none() {
                    if b.is_ascii_whitespace() {
                        continue;
                    }
                    at = scan.place(offset);
                    span = Some(i - 1);
                }
                continue;
            }
            let Some(from) = span.take() else {
                if b == b']' && index == 0 {
                    closed = true;
                    continue;
                }
                return Err(Err(scan.error(scan.place(offset), "expected a value")));
            };
            let bytes: &[u8] = if element.is_empty() {
                &buf[from..i - 1]
            } else {
                element.extend_from_slice(&buf[from..i - 1]);
                &element
            };
            let json = parse_strict_at(bytes, vec![Seg::Index(index)]).map_err(|e| {
                Err(SyntaxError {
                    line: at.0 + e.line - 1,
                    column: if e.line == 1 {
                        at.1 + e.column - 1
                    } else {
                        e.column
                    },
                    message: e.message,
                })
            })?;
            element.clear();
            each(index, json).map_err(Ok)?;
            index += 1;
            closed = b == b']';
        }
        if let Some(from) = span {
            element.extend_from_slice(&buf[from..]);
        }
        scan.offset = base + n as u64;
        reader.consume(n);
    }
    if !closed {
        let place = scan.place(scan.offset);
        return Err(Err(scan.error(place, "EOF while parsing a list")));
    }
    Ok(index)
}

/// Bytes that change no scanner state inside an element: all but quotes,
/// backslashes, brackets, braces, commas and newlines.
const PLAIN: [bool; 256] = {
    let mut table = [true; 256];
    let special = b"\"\\[]{},\n";
    let mut k = 0;
    while k < special.len() {
        table[special[k] as usize] = false;
        k += 1;
    }
    table
};

/// Where a byte stream is: nesting, strings, and the line count (a column
/// is worked out only when a place is wanted).
struct Scanner {
    /// Bytes before the current buffer.
    offset: u64,
    line: usize,
    /// Offset of the first byte of the current line.
    line_start: u64,
    /// Open `[` and `{` inside the outer array's elements.
    depth: usize,
    in_string: bool,
    escaped: bool,
}

impl Default for Scanner {
    fn default() -> Self {
        Scanner {
            offset: 0,
            line: 1,
            line_start: 0,
            depth: 0,
            in_string: false,
            escaped: false,
        }
    }
}

impl Scanner {
    /// Reads byte `b` at `offset`.
    #[inline]
    fn advance(&mut self, b: u8, offset: u64) {
        if b == b'\n' {
            self.line += 1;
            self.line_start = offset + 1;
        }
        if self.in_string {
            match (self.escaped, b) {
                (true, _) => self.escaped = false,
                (false, b'\\') => self.escaped = true,
                (false, b'"') => self.in_string = false,
                _ => {}
            }
            return;
        }
        match b {
            b'"' => self.in_string = true,
            b'[' | b'{' => self.depth += 1,
            b']' | b'}' => self.depth = self.depth.saturating_sub(1),
            _ => {}
        }
    }

    /// The 1-based (line, column) of the byte at `offset`, on the current
    /// line (every place asked for is one: never a newline already read).
    fn place(&self, offset: u64) -> (usize, usize) {
        (
            self.line,
            offset.saturating_sub(self.line_start) as usize + 1,
        )
    }

    fn error(&self, (line, column): (usize, usize), message: &str) -> SyntaxError {
        SyntaxError {
            line,
            column,
            message: message.to_string(),
        }
    }
}

/// One step into the document; the stack of them is the JSON path of the
/// value being read, rendered only when a duplicate key is found.
enum Seg {
    Key(String),
    Index(usize),
}

fn render(path: &[Seg]) -> String {
    let mut out = String::from("$");
    for seg in path {
        match seg {
            Seg::Key(k) => out.push_str(&field_segment(k)),
            Seg::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// Reads one JSON value, keeping the path stack up to date.
#[derive(Clone, Copy)]
struct Strict<'p> {
    path: &'p RefCell<Vec<Seg>>,
}

impl<'de> DeserializeSeed<'de> for Strict<'_> {
    type Value = Json;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Json, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Strict<'_> {
    type Value = Json;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, b: bool) -> Result<Json, E> {
        Ok(Json::Bool(b))
    }
    fn visit_i64<E>(self, i: i64) -> Result<Json, E> {
        Ok(Json::Number(i.into()))
    }
    fn visit_u64<E>(self, u: u64) -> Result<Json, E> {
        Ok(Json::Number(u.into()))
    }
    fn visit_f64<E: de::Error>(self, x: f64) -> Result<Json, E> {
        Number::from_f64(x)
            .map(Json::Number)
            .ok_or_else(|| E::custom("number out of range"))
    }
    fn visit_str<E>(self, s: &str) -> Result<Json, E> {
        Ok(Json::String(s.to_string()))
    }
    fn visit_string<E>(self, s: String) -> Result<Json, E> {
        Ok(Json::String(s))
    }
    fn visit_unit<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
        let mut out = Vec::new();
        loop {
            self.path.borrow_mut().push(Seg::Index(out.len()));
            let item = seq.next_element_seed(self);
            self.path.borrow_mut().pop();
            match item? {
                Some(v) => out.push(v),
                None => return Ok(Json::Array(out)),
            }
        }
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                let mut path = self.path.borrow_mut();
                path.push(Seg::Key(key.clone()));
                let at = render(&path);
                path.pop();
                return Err(de::Error::custom(format!(
                    "duplicate key {} at {}",
                    clip_quoted(&key),
                    crate::clip::clip(&at)
                )));
            }
            self.path.borrow_mut().push(Seg::Key(key.clone()));
            let value = map.next_value_seed(self);
            self.path.borrow_mut().pop();
            out.insert(key, value?);
        }
        Ok(Json::Object(out))
    }
}

/// The value a JSON document is hashed as: objects become text-keyed maps,
/// integers `Int`, strings `Text`. Floats have no canonical form in AIR:
/// each one is reported (path under `path`, message) and hashed as null.
pub(super) fn to_value(json: &Json, path: &str, problems: &mut Vec<(String, String)>) -> Value {
    match json {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::Int(i.into())
            } else if let Some(u) = n.as_u64() {
                Value::Int(u.into())
            } else {
                problems.push((
                    path.to_string(),
                    format!(
                        "floating-point number {n}: AIR has no floats (use an integer, or a \
                         dec128 decimal string)"
                    ),
                ));
                Value::Null
            }
        }
        Json::String(s) => Value::Text(s.clone()),
        Json::Array(items) => Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, x)| to_value(x, &format!("{path}[{i}]"), problems))
                .collect(),
        ),
        Json::Object(obj) => Value::Map(
            obj.iter()
                .map(|(k, x)| {
                    let sub = format!("{path}{}", field_segment(k));
                    (Value::Text(k.clone()), to_value(x, &sub, problems))
                })
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn duplicate_keys_are_syntax_errors_with_position() {
        let text = b"{\n  \"a\": 1,\n  \"a\": 2\n}";
        let e = parse_strict(text).expect_err("duplicate key rejected");
        assert_eq!(
            (e.line, e.message.as_str()),
            (3, "duplicate key \"a\" at $.a")
        );
        let nested = br#"[{"value": {"Start": {"target": 1, "target": 2}}}]"#;
        let e = parse_strict(nested).expect_err("nested duplicate rejected");
        assert_eq!(
            e.message,
            "duplicate key \"target\" at $[0].value.Start.target"
        );
        let odd = br#"{"a b": [0, {"x": 1, "x": 1}]}"#;
        let e = parse_strict(odd).expect_err("duplicate rejected");
        assert_eq!(e.message, "duplicate key \"x\" at $[\"a b\"][1].x");
    }

    #[test]
    fn ordinary_syntax_errors_keep_position_without_suffix() {
        let e = parse_strict(b"[\n  {\"a\": 1,}\n]").expect_err("trailing comma");
        assert_eq!((e.line, e.column), (2, 11));
        assert!(!e.message.contains("line"), "{}", e.message);
        let e = parse_strict(b"{} x").expect_err("trailing garbage");
        assert_eq!(e.line, 1);
        assert!(parse_strict(b"").is_err());
    }

    fn elements(text: &str) -> Result<Vec<Json>, SyntaxError> {
        let mut out = Vec::new();
        let r = for_each_array_element(text.as_bytes(), |_, j| {
            out.push(j);
            Ok::<(), ()>(())
        });
        match r {
            Ok(n) => {
                assert_eq!(n, out.len());
                Ok(out)
            }
            Err(Err(e)) => Err(e),
            Err(Ok(())) => unreachable!("each never fails here"),
        }
    }

    #[test]
    fn array_elements_stream_with_document_positions() {
        let text = "[\n {\"a\": [1, {\"b\": \"],}[\\\"\"}]},\n 2 ,\"x,]\" , [] ]  \n";
        let got = elements(text).expect("reads");
        assert_eq!(
            got,
            vec![
                json!({"a": [1, {"b": "],}[\""}]}),
                json!(2),
                json!("x,]"),
                json!([])
            ]
        );
        assert_eq!(elements(" [ ] ").expect("empty"), Vec::<Json>::new());
        // Errors carry the document's line and column, and the element's path.
        let e = elements("[1,\n  {\"k\": 1, \"k\": 2}]").expect_err("duplicate");
        assert_eq!(
            (e.line, e.message.as_str()),
            (2, "duplicate key \"k\" at $[1].k")
        );
        // The same place the whole-document parser names.
        for text in [
            "[1,\n  {\"k\": tru}]",
            "[1,\n  {\"k\":\n [1 2]}]",
            "[\"a\", 1.5e999]",
        ] {
            let e = elements(text).expect_err(text);
            let whole = parse_strict(text.as_bytes()).expect_err(text);
            assert_eq!((e.line, e.column), (whole.line, whole.column), "{text}");
        }
        for (bad, why) in [
            ("[1,]", "expected a value"),
            ("[,1]", "expected a value"),
            ("[1 2]", "trailing characters"),
            ("[1] x", "trailing characters"),
            ("{}", "expected `[`"),
            ("[1, 2", "EOF while parsing a list"),
            ("", "EOF while parsing a list"),
        ] {
            let e = elements(bad).expect_err(bad);
            assert!(e.message.contains(why), "{bad}: {}", e.message);
        }
        // A huge element is read whole, a byte at a time across buffers.
        let big = format!("[\"{}\"]", "y".repeat(200_000));
        let reader = std::io::BufReader::with_capacity(7, big.as_bytes());
        let mut len = 0;
        for_each_array_element(reader, |_, j| {
            len = j.as_str().map_or(0, str::len);
            Ok::<(), ()>(())
        })
        .expect("reads");
        assert_eq!(len, 200_000);
    }

    #[test]
    fn escapes_and_nesting_split_across_any_buffer_boundary_read_the_same() {
        let text = "[ {\"a\\\\\": \"x\\\"],{y\\\\\", \"b\": [1, {\"c\": \"\\u005d\"}]},\n\"q\\\\\" , [[],{}] ,\n 7 ]";
        let whole = parse_strict(text.as_bytes()).expect("valid JSON");
        let expected = whole.as_array().expect("an array").clone();
        for cap in 1..24 {
            let reader = std::io::BufReader::with_capacity(cap, text.as_bytes());
            let mut got = Vec::new();
            for_each_array_element(reader, |_, j| {
                got.push(j);
                Ok::<(), ()>(())
            })
            .unwrap_or_else(|_| panic!("buffer of {cap} bytes"));
            assert_eq!(got, expected, "buffer of {cap} bytes");
        }
    }

    #[test]
    fn parses_all_json_shapes_in_order() {
        let v = parse_strict(br#"{"z": [1, -2, 1.5, "s", true, null], "a": {}}"#).ok();
        assert_eq!(
            v,
            Some(json!({"z": [1, -2, 1.5, "s", true, null], "a": {}}))
        );
        let keys: Vec<String> = v.unwrap().as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, ["z", "a"]);
    }

    #[test]
    fn floats_are_reported_with_paths() {
        let mut problems = vec![];
        let v = to_value(
            &json!({"a": [1, 2.5], "b c": u64::MAX, "d": -3}),
            "$[0]",
            &mut problems,
        );
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].0, "$[0].a[1]");
        assert_eq!(v.get("b c"), Some(&Value::Int(u64::MAX.into())));
        assert_eq!(v.get("d"), Some(&Value::Int(-3)));
        assert_eq!(
            v.get("a"),
            Some(&Value::Array(vec![Value::Int(1), Value::Null]))
        );
    }
}
