//! Events files: `events.json` (the scripted external events a fresh
//! journal starts with, and the shadow workload) and the files `aos run
//! --events` journals. Both are an array of `{"schema", "value"}` objects.

use super::WorldError;
use crate::air::json::parse_strict;
use crate::air::Air;
use crate::entry::{Entry, Origin};
use crate::kernel::event_from_json;
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
    let err = |message: String| WorldError::Events {
        file: file.to_path_buf(),
        message,
    };
    // Strict: a key written twice is refused (serde_json keeps the last).
    let json = parse_strict(text.as_bytes())
        .map_err(|e| err(format!("{}:{}: {}", e.line, e.column, e.message)))?;
    let items = json
        .as_array()
        .ok_or_else(|| err("expected an array of {\"schema\", \"value\"} objects".into()))?;
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let schema = item
            .get("schema")
            .and_then(|s| s.as_str())
            .ok_or_else(|| err(format!("$[{i}].schema: missing or not a string")))?;
        let value = item
            .get("value")
            .ok_or_else(|| err(format!("$[{i}].value: missing")))?;
        let value =
            event_from_json(air, schema, value).map_err(|m| err(format!("$[{i}].value: {m}")))?;
        out.push(Entry::DomainEvent {
            schema: schema.to_string(),
            value,
            key: None,
            origin: Origin::External,
        });
    }
    Ok(out)
}

/// The inject parser: `json` typed by a person (strict JSON, either lens)
/// as the canonical value of an external event of `schema`.
pub(crate) fn inject_value(air: &Air, schema: &str, json: &str) -> Result<Vec<u8>, WorldError> {
    let parsed = super::parse_json(json)?;
    event_from_json(air, schema, &parsed).map_err(WorldError::Rejected)
}
