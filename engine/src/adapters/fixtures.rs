//! Canned answers for the mock `http` and `llm` adapters, read from a world's
//! `fixtures/` folder: `fixtures/<kind>.json` is the default set and
//! `fixtures/<set>/<kind>.json` a named one. A missing file means "no
//! fixtures" (every request misses); a file that is there must be well
//! formed, and errors name the file, the JSON path and what is wrong.

use serde_json::Value as Json;
use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// The folder under a world that holds the fixtures.
pub const FIXTURES_DIR: &str = "fixtures";

#[derive(Debug, Error)]
pub enum FixtureError {
    #[error("cannot read fixture file {file}: {source}")]
    Io { file: PathBuf, source: io::Error },
    #[error("fixture file {file} is not valid JSON (line {line}, column {column}): {message}")]
    Json {
        file: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("fixture file {file} at {path}: {problem}")]
    Shape {
        file: PathBuf,
        /// JSON-path-like: `$`, `$[2]`, `$[2].status`.
        path: String,
        problem: String,
    },
    #[error("fixture set `{set}` does not exist in {dir}; {}", sets_text(.available))]
    UnknownSet {
        set: String,
        dir: PathBuf,
        available: Vec<String>,
    },
}

fn sets_text(sets: &[String]) -> String {
    if sets.is_empty() {
        "there are no named sets".to_string()
    } else {
        format!("the sets are: {}", sets.join(", "))
    }
}

/// The named fixture sets of a world: the sub-folders of `fixtures/`, sorted.
pub fn fixture_sets(world_dir: &Path) -> Vec<String> {
    let Ok(entries) = fs::read_dir(world_dir.join(FIXTURES_DIR)) else {
        return Vec::new();
    };
    let mut sets: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| !n.starts_with('.'))
        .collect();
    sets.sort();
    sets
}

/// Where `<file>` of the chosen set lives; an unknown set is an error.
fn fixture_path(world_dir: &Path, set: Option<&str>, file: &str) -> Result<PathBuf, FixtureError> {
    let dir = world_dir.join(FIXTURES_DIR);
    let Some(set) = set else {
        return Ok(dir.join(file));
    };
    let sets = fixture_sets(world_dir);
    // Only a listed name is accepted, so `..` or `a/b` can never leave the folder.
    if sets.iter().any(|s| s == set) {
        Ok(dir.join(set).join(file))
    } else {
        Err(FixtureError::UnknownSet {
            set: set.to_string(),
            dir,
            available: sets,
        })
    }
}

/// Reads and parses a fixture file; `Ok(None)` when it does not exist.
fn read_json(file: &Path) -> Result<Option<Json>, FixtureError> {
    let bytes = match fs::read(file) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(FixtureError::Io {
                file: file.to_path_buf(),
                source,
            })
        }
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| FixtureError::Json {
            file: file.to_path_buf(),
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        })
}

fn json_kind(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

/// Reads one fixture entry (a JSON object) with path-aware errors.
struct Entry<'a> {
    file: &'a Path,
    path: String,
    obj: &'a serde_json::Map<String, Json>,
}

impl<'a> Entry<'a> {
    fn new(
        file: &'a Path,
        index: usize,
        v: &'a Json,
        allowed: &[&str],
    ) -> Result<Self, FixtureError> {
        let path = format!("$[{index}]");
        let Json::Object(obj) = v else {
            return Err(shape(
                file,
                &path,
                format!("expected an object, found {}", json_kind(v)),
            ));
        };
        // Unknown keys are refused so a typo (`stauts`) is not silently ignored.
        if let Some(k) = obj.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(shape(
                file,
                &format!("{path}.{k}"),
                format!("unknown field; the fields are {}", allowed.join(", ")),
            ));
        }
        Ok(Entry { file, path, obj })
    }

    fn err(&self, key: &str, problem: String) -> FixtureError {
        shape(self.file, &format!("{}.{key}", self.path), problem)
    }

    fn text(&self, key: &str) -> Result<Option<String>, FixtureError> {
        match self.obj.get(key) {
            None => Ok(None),
            Some(Json::String(s)) => Ok(Some(s.clone())),
            Some(v) => Err(self.err(key, format!("expected a string, found {}", json_kind(v)))),
        }
    }

    fn required_text(&self, key: &str) -> Result<String, FixtureError> {
        self.text(key)?.ok_or_else(|| {
            shape(
                self.file,
                &self.path,
                format!("the field `{key}` is missing"),
            )
        })
    }

    fn nat(&self, key: &str, max: u64) -> Result<Option<u64>, FixtureError> {
        match self.obj.get(key) {
            None => Ok(None),
            Some(v) => v.as_u64().filter(|n| *n <= max).map(Some).ok_or_else(|| {
                self.err(
                    key,
                    format!(
                        "expected a whole number from 0 to {max}, found {}",
                        shown(v)
                    ),
                )
            }),
        }
    }

    fn text_map(&self, key: &str) -> Result<BTreeMap<String, String>, FixtureError> {
        match self.obj.get(key) {
            None => Ok(BTreeMap::new()),
            Some(Json::Object(m)) => m
                .iter()
                .map(|(k, v)| match v {
                    Json::String(s) => Ok((k.clone(), s.clone())),
                    other => Err(self.err(
                        &format!("{key}.{k}"),
                        format!("expected a string, found {}", json_kind(other)),
                    )),
                })
                .collect(),
            Some(v) => Err(self.err(key, format!("expected an object, found {}", json_kind(v)))),
        }
    }
}

fn shown(v: &Json) -> String {
    match v {
        Json::Number(n) => n.to_string(),
        other => json_kind(other).to_string(),
    }
}

fn shape(file: &Path, path: &str, problem: String) -> FixtureError {
    FixtureError::Shape {
        file: file.to_path_buf(),
        path: path.to_string(),
        problem,
    }
}

/// The entries of a fixture file, which must be a JSON array.
fn entries(file: &Path, doc: &Json) -> Result<Vec<(usize, Json)>, FixtureError> {
    match doc {
        Json::Array(items) => Ok(items.iter().cloned().enumerate().collect()),
        other => Err(shape(
            file,
            "$",
            format!("expected an array of fixtures, found {}", json_kind(other)),
        )),
    }
}

/// One canned HTTP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpFixture {
    pub method: String,
    pub url: String,
    pub status: u16,
    pub headers: BTreeMap<String, String>,
    pub body: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpFixtures {
    pub fixtures: Vec<HttpFixture>,
}

impl HttpFixtures {
    pub const FILE: &'static str = "http.json";

    pub fn new(fixtures: Vec<HttpFixture>) -> HttpFixtures {
        HttpFixtures { fixtures }
    }

    /// Reads `fixtures/http.json` (no set) or `fixtures/<set>/http.json`.
    pub fn load(world_dir: &Path, set: Option<&str>) -> Result<HttpFixtures, FixtureError> {
        let file = fixture_path(world_dir, set, Self::FILE)?;
        match read_json(&file)? {
            None => Ok(HttpFixtures::default()),
            Some(doc) => Self::from_json(&file, &doc),
        }
    }

    /// Reads fixtures from a parsed document; `file` only names it in errors.
    #[allow(clippy::expect_used, reason = "invariant: checked to be at most 999")]
    pub fn from_json(file: &Path, doc: &Json) -> Result<HttpFixtures, FixtureError> {
        const FIELDS: &[&str] = &["method", "url", "status", "headers", "body"];
        let mut fixtures = Vec::new();
        for (i, v) in entries(file, doc)? {
            let e = Entry::new(file, i, &v, FIELDS)?;
            let status = e
                .nat("status", 999)?
                .ok_or_else(|| shape(file, &e.path, "the field `status` is missing".into()))?;
            if status < 100 {
                return Err(e.err(
                    "status",
                    format!("expected an HTTP status from 100 to 999, found {status}"),
                ));
            }
            fixtures.push(HttpFixture {
                method: e.required_text("method")?,
                url: e.required_text("url")?,
                status: u16::try_from(status).expect("checked to be at most 999"),
                headers: e.text_map("headers")?,
                body: e.text("body")?.unwrap_or_default(),
            });
        }
        Ok(HttpFixtures { fixtures })
    }

    /// The first fixture for this method (ASCII case folded) and exact URL.
    pub fn find(&self, method: &str, url: &str) -> Option<&HttpFixture> {
        self.fixtures
            .iter()
            .find(|f| f.url == url && f.method.eq_ignore_ascii_case(method))
    }

    pub fn is_empty(&self) -> bool {
        self.fixtures.is_empty()
    }

    pub fn len(&self) -> usize {
        self.fixtures.len()
    }
}

/// One canned LLM answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LlmFixture {
    pub model: String,
    /// When set, the fixture answers only prompts containing this text.
    pub input_contains: Option<String>,
    pub output: String,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub cost_cents: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LlmFixtures {
    pub fixtures: Vec<LlmFixture>,
}

impl LlmFixtures {
    pub const FILE: &'static str = "llm.json";

    pub fn new(fixtures: Vec<LlmFixture>) -> LlmFixtures {
        LlmFixtures { fixtures }
    }

    /// Reads `fixtures/llm.json` (no set) or `fixtures/<set>/llm.json`.
    pub fn load(world_dir: &Path, set: Option<&str>) -> Result<LlmFixtures, FixtureError> {
        let file = fixture_path(world_dir, set, Self::FILE)?;
        match read_json(&file)? {
            None => Ok(LlmFixtures::default()),
            Some(doc) => Self::from_json(&file, &doc),
        }
    }

    /// Reads fixtures from a parsed document; `file` only names it in errors.
    pub fn from_json(file: &Path, doc: &Json) -> Result<LlmFixtures, FixtureError> {
        const FIELDS: &[&str] = &[
            "model",
            "input_contains",
            "output",
            "prompt_tokens",
            "completion_tokens",
            "cost_cents",
        ];
        let mut fixtures = Vec::new();
        for (i, v) in entries(file, doc)? {
            let e = Entry::new(file, i, &v, FIELDS)?;
            fixtures.push(LlmFixture {
                model: e.required_text("model")?,
                input_contains: e.text("input_contains")?,
                output: e.required_text("output")?,
                prompt_tokens: e.nat("prompt_tokens", u64::MAX)?.unwrap_or(0),
                completion_tokens: e.nat("completion_tokens", u64::MAX)?.unwrap_or(0),
                cost_cents: e.nat("cost_cents", u64::MAX)?.unwrap_or(0),
            });
        }
        Ok(LlmFixtures { fixtures })
    }

    /// The first fixture for `model` whose `input_contains` (if any) occurs in `input`.
    pub fn find(&self, model: &str, input: &str) -> Option<&LlmFixture> {
        self.fixtures.iter().find(|f| {
            f.model == model
                && f.input_contains
                    .as_deref()
                    .is_none_or(|needle| input.contains(needle))
        })
    }

    pub fn is_empty(&self) -> bool {
        self.fixtures.is_empty()
    }

    pub fn len(&self) -> usize {
        self.fixtures.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn world(files: &[(&str, &str)]) -> tempfile::TempDir {
        let tmp = tempfile::tempdir().unwrap();
        for (rel, text) in files {
            let p = tmp.path().join(rel);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, text).unwrap();
        }
        tmp
    }

    fn shape_err(e: FixtureError) -> (String, String) {
        match e {
            FixtureError::Shape { path, problem, .. } => (path, problem),
            other => panic!("expected a shape error, got {other}"),
        }
    }

    #[test]
    fn loads_default_and_named_sets() {
        let w = world(&[
            (
                "fixtures/http.json",
                r#"[{"method":"GET","url":"https://a.io/x","status":200,
                     "headers":{"content-type":"text/plain"},"body":"hi"},
                    {"method":"GET","url":"https://a.io/x","status":500}]"#,
            ),
            (
                "fixtures/failing/http.json",
                r#"[{"method":"POST","url":"https://a.io/x","status":503}]"#,
            ),
            ("fixtures/empty/README", "no json here"),
        ]);
        let d = HttpFixtures::load(w.path(), None).unwrap();
        assert_eq!(d.len(), 2);
        let hit = d.find("get", "https://a.io/x").unwrap();
        assert_eq!(
            (hit.status, hit.body.as_str()),
            (200, "hi"),
            "first match wins"
        );
        assert_eq!(hit.headers["content-type"], "text/plain");
        assert!(
            d.find("GET", "https://a.io/x?").is_none(),
            "URL match is exact"
        );
        assert!(d.find("POST", "https://a.io/x").is_none());

        let f = HttpFixtures::load(w.path(), Some("failing")).unwrap();
        assert_eq!(f.find("POST", "https://a.io/x").unwrap().status, 503);
        assert_eq!(f.find("POST", "https://a.io/x").unwrap().body, "");
        assert!(HttpFixtures::load(w.path(), Some("empty"))
            .unwrap()
            .is_empty());
        assert_eq!(fixture_sets(w.path()), vec!["empty", "failing"]);
    }

    #[test]
    fn missing_files_mean_no_fixtures() {
        let w = world(&[]);
        assert!(HttpFixtures::load(w.path(), None).unwrap().is_empty());
        assert!(LlmFixtures::load(w.path(), None).unwrap().is_empty());
        assert!(fixture_sets(w.path()).is_empty());
    }

    #[test]
    fn unknown_set_names_the_sets_that_exist() {
        let w = world(&[
            ("fixtures/ok/http.json", "[]"),
            ("fixtures/slow/llm.json", "[]"),
        ]);
        for bad in ["nope", "..", "ok/../slow", ""] {
            let e = HttpFixtures::load(w.path(), Some(bad)).unwrap_err();
            let msg = e.to_string();
            assert!(matches!(e, FixtureError::UnknownSet { .. }), "{msg}");
            assert!(
                msg.contains(&format!("`{bad}`")) && msg.contains("ok, slow"),
                "{msg}"
            );
        }
        let bare = world(&[]);
        let msg = LlmFixtures::load(bare.path(), Some("x"))
            .unwrap_err()
            .to_string();
        assert!(msg.contains("there are no named sets"), "{msg}");
    }

    #[test]
    fn malformed_json_names_file_and_position() {
        let w = world(&[("fixtures/http.json", "[{\"method\": \"GET\",\n  oops}]")]);
        let e = HttpFixtures::load(w.path(), None).unwrap_err();
        let msg = e.to_string();
        assert!(matches!(e, FixtureError::Json { line: 2, .. }), "{msg}");
        assert!(msg.contains("http.json") && msg.contains("line 2"), "{msg}");
    }

    #[test]
    fn unreadable_file_is_an_io_error() {
        // A directory where the file should be cannot be read as one.
        let w = world(&[("fixtures/http.json/x", "")]);
        let e = HttpFixtures::load(w.path(), None).unwrap_err();
        assert!(matches!(e, FixtureError::Io { .. }), "{e}");
        assert!(e.to_string().contains("http.json"), "{e}");
    }

    #[test]
    fn http_shape_errors_name_the_path() {
        let f = Path::new("w/fixtures/http.json");
        let cases: &[(&str, &str, &str)] = &[
            (r#"{"method":"GET"}"#, "$", "array"),
            (r#"[3]"#, "$[0]", "object"),
            (r#"[{"method":"GET","url":"u"}]"#, "$[0]", "`status`"),
            (r#"[{"url":"u","status":200}]"#, "$[0]", "`method`"),
            (r#"[{"method":"GET","status":200}]"#, "$[0]", "`url`"),
            (
                r#"[{"method":1,"url":"u","status":200}]"#,
                "$[0].method",
                "string",
            ),
            (
                r#"[{"method":"GET","url":"u","status":"200"}]"#,
                "$[0].status",
                "string",
            ),
            (
                r#"[{"method":"GET","url":"u","status":1000}]"#,
                "$[0].status",
                "1000",
            ),
            (
                r#"[{"method":"GET","url":"u","status":99}]"#,
                "$[0].status",
                "99",
            ),
            (
                r#"[{"method":"GET","url":"u","status":-1}]"#,
                "$[0].status",
                "-1",
            ),
            (
                r#"[{"method":"GET","url":"u","status":200,"headers":[]}]"#,
                "$[0].headers",
                "object",
            ),
            (
                r#"[{"method":"GET","url":"u","status":200,"headers":{"a":1}}]"#,
                "$[0].headers.a",
                "string",
            ),
            (
                r#"[{"method":"GET","url":"u","status":200,"body":{}}]"#,
                "$[0].body",
                "string",
            ),
            (
                r#"[{"method":"GET","url":"u","status":200},{"method":"GET","url":"u","stauts":200}]"#,
                "$[1].stauts",
                "unknown field",
            ),
        ];
        for (text, path, needle) in cases {
            let doc: Json = serde_json::from_str(text).unwrap();
            let e = HttpFixtures::from_json(f, &doc).unwrap_err();
            let msg = e.to_string();
            assert!(msg.contains("w/fixtures/http.json"), "{msg}");
            let (p, problem) = shape_err(e);
            assert_eq!(&p, path, "{text}: {problem}");
            assert!(problem.contains(needle), "{text}: {problem}");
        }
    }

    #[test]
    fn llm_fixtures_match_by_model_then_input() {
        let w = world(&[(
            "fixtures/llm.json",
            r#"[{"model":"m","input_contains":"weather","output":"sunny",
                 "prompt_tokens":3,"completion_tokens":1,"cost_cents":2},
                {"model":"m","output":"generic"}]"#,
        )]);
        let l = LlmFixtures::load(w.path(), None).unwrap();
        assert_eq!(l.find("m", "the weather today?").unwrap().output, "sunny");
        let g = l.find("m", "hello").unwrap();
        assert_eq!(
            (g.output.as_str(), g.prompt_tokens, g.cost_cents),
            ("generic", 0, 0)
        );
        assert!(l.find("other", "weather").is_none());
    }

    #[test]
    fn the_demo_worlds_fixtures_load() {
        let worlds = Path::new(env!("CARGO_MANIFEST_DIR")).join("../worlds");
        let Ok(dirs) = fs::read_dir(&worlds) else {
            return;
        };
        for w in dirs.filter_map(Result::ok).map(|e| e.path()) {
            let sets = fixture_sets(&w);
            for set in std::iter::once(None).chain(sets.iter().map(|s| Some(s.as_str()))) {
                if let Err(e) = HttpFixtures::load(&w, set) {
                    panic!("{}: {e}", w.display());
                }
                if let Err(e) = LlmFixtures::load(&w, set) {
                    panic!("{}: {e}", w.display());
                }
            }
        }
    }

    #[test]
    fn llm_shape_errors_name_the_path() {
        let f = Path::new("llm.json");
        let cases: &[(&str, &str, &str)] = &[
            (r#"[{"output":"o"}]"#, "$[0]", "`model`"),
            (r#"[{"model":"m"}]"#, "$[0]", "`output`"),
            (
                r#"[{"model":"m","output":"o","cost_cents":1.5}]"#,
                "$[0].cost_cents",
                "1.5",
            ),
            (
                r#"[{"model":"m","output":"o","input_contains":true}]"#,
                "$[0].input_contains",
                "boolean",
            ),
            (
                r#"[{"model":"m","output":"o","prompt":"x"}]"#,
                "$[0].prompt",
                "unknown field",
            ),
        ];
        for (text, path, needle) in cases {
            let doc: Json = serde_json::from_str(text).unwrap();
            let (p, problem) = shape_err(LlmFixtures::from_json(f, &doc).unwrap_err());
            assert_eq!(&p, path, "{text}: {problem}");
            assert!(problem.contains(needle), "{text}: {problem}");
        }
    }
}
