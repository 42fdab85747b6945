//! Reading the fields of one JSON object of an AIR file and reporting what
//! is wrong with them (missing, wrong JSON type, unknown, bad names), for
//! every kind of node. A leaf: the node readers depend on it, never the
//! reverse.

use super::diag::Sink;
use super::is_valid_name;
use crate::types::{field_segment, json_kind};
use serde_json::{Map, Value as Json};
use std::path::Path;

/// Field access on one JSON object that reports what is wrong.
pub(super) struct Fields<'a, 's> {
    pub(super) obj: &'a Map<String, Json>,
    pub(super) path: String,
    pub(super) file: &'a Path,
    pub(super) sink: &'s mut Sink,
    what: &'static str,
}

impl<'a, 's> Fields<'a, 's> {
    /// `json` must be an object; otherwise reports and returns None.
    pub(super) fn of(
        json: &'a Json,
        path: &str,
        file: &'a Path,
        sink: &'s mut Sink,
        what: &'static str,
    ) -> Option<Fields<'a, 's>> {
        match json {
            Json::Object(obj) => Some(Fields {
                obj,
                path: path.to_string(),
                file,
                sink,
                what,
            }),
            other => {
                sink.at(
                    file,
                    path,
                    format!("expected {what} (an object), found {}", json_kind(other)),
                );
                None
            }
        }
    }

    pub(super) fn path_of(&self, key: &str) -> String {
        format!("{}{}", self.path, field_segment(key))
    }

    pub(super) fn report(&mut self, path: &str, message: String) {
        self.sink.at(self.file, path, message);
    }

    pub(super) fn get(&mut self, key: &str, required: bool) -> Option<&'a Json> {
        let found = self.obj.get(key);
        if found.is_none() && required {
            let (path, what) = (self.path.clone(), self.what);
            self.report(&path, format!("missing required field `{key}` in {what}"));
        }
        found
    }

    fn typed<T>(
        &mut self,
        key: &str,
        required: bool,
        want: &str,
        pick: impl Fn(&'a Json) -> Option<T>,
    ) -> Option<T> {
        let j = self.get(key, required)?;
        let picked = pick(j);
        if picked.is_none() {
            let path = self.path_of(key);
            self.report(
                &path,
                format!("`{key}` must be {want}, found {}", json_kind(j)),
            );
        }
        picked
    }

    pub(super) fn str(&mut self, key: &str, required: bool) -> Option<&'a str> {
        self.typed(key, required, "a string", Json::as_str)
    }

    pub(super) fn object(&mut self, key: &str, required: bool) -> Option<&'a Json> {
        self.typed(key, required, "an object", |j| j.is_object().then_some(j))
    }

    pub(super) fn array(&mut self, key: &str, required: bool) -> Option<&'a Vec<Json>> {
        self.typed(key, required, "an array", Json::as_array)
    }

    /// A `namespace/name@version` string.
    pub(super) fn name(&mut self, key: &str, required: bool) -> Option<&'a str> {
        let name = self.str(key, required)?;
        if !is_valid_name(name) {
            let path = self.path_of(key);
            self.report(&path, bad_name(name));
            return None;
        }
        Some(name)
    }

    /// Reports every key not in `allowed`.
    pub(super) fn no_others(&mut self, allowed: &[&str]) {
        let extra: Vec<&String> = self
            .obj
            .keys()
            .filter(|k| !allowed.contains(&k.as_str()))
            .collect();
        for key in extra {
            let path = self.path_of(key);
            let msg = format!(
                "unknown field `{key}` in {} (expected: {})",
                self.what,
                allowed.join(", ")
            );
            self.report(&path, msg);
        }
    }

    /// A sub-object, for nested fields.
    pub(super) fn nested<'t>(
        &'t mut self,
        key: &str,
        required: bool,
        what: &'static str,
    ) -> Option<Fields<'a, 't>> {
        let j = self.object(key, required)?;
        let path = self.path_of(key);
        Fields::of(j, &path, self.file, self.sink, what)
    }
}

pub(super) fn bad_name(name: &str) -> String {
    format!("bad name {name:?}: names are namespace/name@version, e.g. demo/Counter@1")
}
