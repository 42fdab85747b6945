//! Events files: `events.json` (the scripted external events a fresh
//! journal starts with, and the shadow workload) and the files `aos run
//! --events` journals. Both are an array of `{"schema", "value"}` objects.

use super::WorldError;
use crate::air::json::{for_each_array_element, parse_strict};
use crate::air::Air;
use crate::entry::{Entry, Origin};
use crate::kernel::event_from_json;
use serde_json::Value as Json;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

/// Reads `events.json`: an array of `{"schema": NAME, "value": VALUE}` with
/// the value in either lens. Every problem names the file and the index.
pub(super) fn scripted_events(dir: &Path, air: &Air) -> Result<Vec<Entry>, WorldError> {
    let file = dir.join("events.json");
    let text = match std::fs::read_to_string(&file) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(WorldError::Io {
                op: "read",
                path: file,
                source,
            })
        }
    };
    events_from_json(&file, &text, air)
}

pub(crate) fn events_from_json(
    file: &Path,
    text: &str,
    air: &Air,
) -> Result<Vec<Entry>, WorldError> {
    let mut out = Vec::new();
    for_each_event(file, text.as_bytes(), air, &mut |_, entry| {
        out.push(entry);
        Ok(())
    })?;
    Ok(out)
}

/// Reads an events file from `reader` one event at a time and hands each,
/// typed and canonical, to `each` with its index; memory holds one event,
/// never the file. Two forms: a JSON array of `{"schema", "value"}` objects,
/// or NDJSON (one such object per line; blank lines are skipped), told
/// apart by the first character. Every problem names the file and the
/// place (line and column, or `$[index]`); an error from `each` stops the
/// reading and is returned as it is.
pub(crate) fn for_each_event(
    file: &Path,
    reader: impl Read,
    air: &Air,
    each: &mut dyn FnMut(usize, Entry) -> Result<(), WorldError>,
) -> Result<usize, WorldError> {
    let err = |message: String| WorldError::Events {
        file: file.to_path_buf(),
        message,
    };
    let mut reader = BufReader::with_capacity(64 * 1024, reader);
    let first = loop {
        let buf = reader
            .fill_buf()
            .map_err(|e| err(format!("cannot read it: {e}")))?;
        match buf.iter().position(|b| !b.is_ascii_whitespace()) {
            Some(i) => {
                let b = buf[i];
                reader.consume(i);
                break Some(b);
            }
            None if buf.is_empty() => break None,
            None => {
                let n = buf.len();
                reader.consume(n);
            }
        }
    };
    // `place` names the event in an error; it is only built for one.
    let mut typed = |index: usize, item: &Json, place: &dyn Fn() -> String| {
        let schema = item
            .get("schema")
            .and_then(|s| s.as_str())
            .ok_or_else(|| err(format!("{}.schema: missing or not a string", place())))?;
        let value = item
            .get("value")
            .ok_or_else(|| err(format!("{}.value: missing", place())))?;
        let value = event_from_json(air, schema, value)
            .map_err(|m| err(format!("{}.value: {m}", place())))?;
        each(
            index,
            Entry::DomainEvent {
                schema: schema.to_string(),
                value,
                key: None,
                origin: Origin::External,
            },
        )
    };
    match first {
        Some(b'[') => for_each_array_element(reader, |i, item| typed(i, &item, &|| format!("$[{i}]")))
            .map_err(|e| match e {
                Ok(stopped) => stopped,
                Err(e) => err(format!("{}:{}: {}", e.line, e.column, e.message)),
            }),
        Some(b'{') => {
            let mut line = Vec::new();
            let (mut number, mut index) = (0, 0);
            loop {
                line.clear();
                number += 1;
                let n = reader
                    .read_until(b'\n', &mut line)
                    .map_err(|e| err(format!("cannot read line {number}: {e}")))?;
                if n == 0 {
                    return Ok(index);
                }
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                let item = parse_strict(&line)
                    .map_err(|e| err(format!("{number}:{}: {}", e.column, e.message)))?;
                typed(index, &item, &|| format!("line {number}: $"))?;
                index += 1;
            }
        }
        Some(_) => Err(err(
            "expected a JSON array of {\"schema\", \"value\"} objects, or one such object per line (NDJSON)".into(),
        )),
        None => Err(err("the file is empty: expected a JSON array of events, or NDJSON".into())),
    }
}

/// The inject parser: `json` typed by a person (strict JSON, either lens)
/// as the canonical value of an external event of `schema`.
pub(crate) fn inject_value(air: &Air, schema: &str, json: &str) -> Result<Vec<u8>, WorldError> {
    let parsed = super::parse_json(json)?;
    event_from_json(air, schema, &parsed).map_err(WorldError::Rejected)
}
