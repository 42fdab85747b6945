//! `y`: the selection as JSON, for the clipboard (ARCHITECTURE.md,
//! "Inspector, headless mode and CLI"). What is selected depends on the
//! focused pane: a journal entry, a reducer's state, an intent, a
//! definition's JSON, a diagnostic. The runner writes it to the terminal as
//! OSC 52; here it only becomes a `Cmd::Copy` and a note.

use super::{App, Cmd};
use crate::pane::Pane;
use crate::session::Entry;
use crate::tree::LineKind;
use serde_json::{json, Map, Value as Json};

pub(super) fn copy(app: &mut App) -> Vec<Cmd> {
    match selection(app) {
        Ok((what, json)) => {
            let text = match serde_json::to_string_pretty(&json) {
                Ok(t) => t,
                Err(e) => {
                    app.error(format!("copy: {e}"));
                    return vec![];
                }
            };
            app.info(format!("copied {what} as JSON ({} bytes)", text.len()));
            vec![Cmd::Copy(text)]
        }
        Err(why) => {
            app.info(why);
            vec![]
        }
    }
}

/// What `y` copies in the focused pane, named for the note.
fn selection(app: &App) -> Result<(String, Json), String> {
    let Some(s) = app.session.as_ref() else {
        return Err("nothing to copy: the world is not open".into());
    };
    match app.focus {
        Pane::Journal => {
            let seq = super::filter::selected_seq(app);
            let entry = s
                .entries(seq, seq.saturating_add(1))?
                .into_iter()
                .next()
                .ok_or("nothing to copy: the journal is empty")?;
            Ok((format!("entry #{seq}"), entry_json(&entry)))
        }
        Pane::State => {
            // The cell the selected line belongs to: headers start cells.
            let upto = (app.state.selected as usize + 1).min(app.view.tree.len());
            let n = app.view.tree[..upto]
                .iter()
                .filter(|l| l.kind == LineKind::Header)
                .count();
            let cell = n
                .checked_sub(1)
                .and_then(|i| app.view.states.get(i))
                .ok_or("nothing to copy: no state here")?;
            let value = match (&cell.value, s.schemas().schema(&cell.schema)) {
                (Some(v), Some(ty)) => aos_engine::types::to_sugar(v, ty, s.schemas()),
                (Some(v), None) => Json::String(format!("{v:?}")),
                (None, _) => Json::Null,
            };
            let mut j = json!({"reducer": cell.reducer, "schema": cell.schema, "value": value});
            if let Some(k) = &cell.key {
                j["key"] = Json::String(k.clone());
            }
            Ok((format!("{}'s state", cell.reducer), j))
        }
        Pane::Effects => {
            let e = app
                .selected_effect()
                .ok_or("nothing to copy: no intent selected")?;
            let params =
                serde_json::from_str(&e.params).unwrap_or_else(|_| Json::String(e.params.clone()));
            let (_, status, _) = crate::effects::status_label(e.status);
            Ok((
                format!("intent {}", e.intent_hash.short()),
                json!({
                    "intent_hash": e.intent_hash.to_string(),
                    "seq": e.seq,
                    "kind": e.kind,
                    "params": params,
                    "origin": e.origin,
                    "grant": e.grant,
                    "decision": crate::effects::decision(e),
                    "reason": e.reason,
                    "status": status,
                    "receipt": e.receipt,
                }),
            ))
        }
        Pane::Manifest => {
            let (kind, name, hash) = super::govern::selected_def(app)
                .ok_or("nothing to copy: no definition selected")?;
            let def = s
                .def_json(&kind, &name)
                .and_then(|t| serde_json::from_str(&t).ok())
                .unwrap_or(Json::Null);
            Ok((
                name.clone(),
                json!({"kind": kind, "name": name, "hash": hash.to_string(), "def": def}),
            ))
        }
        Pane::Build => {
            let d = app
                .live
                .diagnostics
                .get(app.live.selected)
                .ok_or("nothing to copy: no diagnostic selected")?;
            Ok((
                "the diagnostic".into(),
                json!({"level": d.level, "message": d.message, "rendered": d.rendered}),
            ))
        }
        Pane::Plans => {
            Err("y copies in the journal, state, effects, manifest and build panes".into())
        }
    }
}

/// An entry as JSON: its detail lines (`key: value`) as fields, values
/// that are JSON kept as JSON, a repeated key as a list.
pub fn entry_json(e: &Entry) -> Json {
    let mut details = Map::new();
    for line in &e.details {
        let (key, value) = line.split_once(": ").unwrap_or((line.as_str(), ""));
        let value = serde_json::from_str(value).unwrap_or_else(|_| Json::String(value.into()));
        match details.get_mut(key) {
            Some(Json::Array(list)) => list.push(value),
            Some(old) => *old = Json::Array(vec![old.take(), value]),
            None => {
                details.insert(key.to_string(), value);
            }
        }
    }
    json!({
        "seq": e.seq,
        "kind": e.kind,
        "summary": e.summary,
        "is_error": e.is_error,
        "details": details,
    })
}
