//! The `llm` adapter: `llm.generate` answered from fixtures (mock) or by an
//! OpenAI-compatible chat-completions endpoint (live).
//!
//! The prompt is the text of the `input_ref` blob; the answer's text goes to
//! the store and the receipt (`sys/LlmGenerateReceipt@1`) carries its ref.
//! The receipt schema has no error field, so a failed generation is an
//! `error` (or `timeout`) receipt whose `output_ref` names a blob holding the
//! error message, with zero token usage and cost.
//!
//! Live egress is granted, not configured (ARCHITECTURE.md "Adapters and
//! fixtures"): the world's `llm.config.json` says where the endpoint is, but
//! a request goes out only when the intent's grant lists the endpoint's host
//! in its `hosts`, checked with the http adapter's URL check before any
//! connection, and the API key comes only from the environment variable the
//! grant names in `api_key_env`, read after the host passed.

use super::fixtures::LlmFixtures;
use super::http::{agent, allowed_url, is_timeout, read_capped, BodyError, MAX_BODY_BYTES};
use super::{Adapter, AdapterOutcome};
use crate::effects::{Intent, ReceiptStatus};
use crate::hash::Hash;
use crate::store::Store;
use crate::value::Value;
use serde_json::{json, Value as Json};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use thiserror::Error;
use url::Url;

pub const LLM_ID: &str = "llm";
/// The `provider_id` of mock receipts.
pub const MOCK_PROVIDER: &str = "mock";

/// What one `llm.basic` grant lets a live request do: read from its params
/// `hosts` and `api_key_env`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LlmGrantEgress {
    /// The hosts the endpoint may be on. Empty allows nothing.
    pub hosts: BTreeSet<String>,
    /// The environment variable holding the API key (sent as
    /// `Authorization: Bearer <key>`); `None` sends no key.
    pub api_key_env: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveLlmConfig {
    /// E.g. `https://api.openai.com/v1`; requests go to `{base_url}/chat/completions`.
    pub base_url: String,
    pub timeout: Duration,
    /// Grant name → what it allows. A grant not listed allows nothing.
    pub grants: BTreeMap<String, LlmGrantEgress>,
}

#[derive(Debug, Error)]
pub enum LlmConfigError {
    #[error("cannot read llm config {file}: {source}")]
    Io {
        file: PathBuf,
        source: std::io::Error,
    },
    #[error("llm config {file} is not valid JSON (line {line}, column {column}): {message}")]
    Json {
        file: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("llm config {file} at {path}: {problem}")]
    Shape {
        file: PathBuf,
        path: String,
        problem: String,
    },
}

/// Reads an environment variable for the live adapter: the process
/// environment, or in tests a stand-in that records what was asked.
#[derive(Clone)]
pub struct EnvLookup(Arc<LookupFn>);

type LookupFn = dyn Fn(&str) -> Option<String> + Send + Sync;

impl EnvLookup {
    pub fn process() -> EnvLookup {
        EnvLookup(Arc::new(|name| std::env::var(name).ok()))
    }

    pub fn new(lookup: impl Fn(&str) -> Option<String> + Send + Sync + 'static) -> EnvLookup {
        EnvLookup(Arc::new(lookup))
    }

    fn get(&self, name: &str) -> Option<String> {
        (self.0)(name)
    }
}

impl fmt::Debug for EnvLookup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EnvLookup")
    }
}

impl LiveLlmConfig {
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

    /// Reads `{"base_url": "...", "timeout_ms": N}` (`timeout_ms`
    /// optional). The grants are left empty: they come from the manifest.
    pub fn from_file(path: &Path) -> Result<LiveLlmConfig, LlmConfigError> {
        let bytes = std::fs::read(path).map_err(|source| LlmConfigError::Io {
            file: path.to_path_buf(),
            source,
        })?;
        let doc: Json = serde_json::from_slice(&bytes).map_err(|e| LlmConfigError::Json {
            file: path.to_path_buf(),
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        })?;
        Self::from_json(path, &doc)
    }

    /// As [`from_file`](Self::from_file) for a parsed document.
    pub fn from_json(file: &Path, doc: &Json) -> Result<LiveLlmConfig, LlmConfigError> {
        let shape = |path: &str, problem: String| LlmConfigError::Shape {
            file: file.to_path_buf(),
            path: path.to_string(),
            problem,
        };
        let Json::Object(obj) = doc else {
            return Err(shape("$", "expected an object".into()));
        };
        const FIELDS: &[&str] = &["base_url", "timeout_ms"];
        if let Some(k) = obj.keys().find(|k| !FIELDS.contains(&k.as_str())) {
            // The key's variable is named where governance sees it: a file
            // beside the world must not pick which secret leaves the machine.
            let hint = match k.as_str() {
                "api_key_env" | "api_key" => {
                    "; name the API key's environment variable in the llm grant's params \
                     (`api_key_env`) and list the endpoint's host in its `hosts`"
                }
                _ => "",
            };
            return Err(shape(
                &format!("$.{k}"),
                format!("unknown field; the fields are {}{hint}", FIELDS.join(", ")),
            ));
        }
        let base_url = match obj.get("base_url") {
            Some(Json::String(s)) if s.starts_with("http://") || s.starts_with("https://") => {
                s.clone()
            }
            Some(_) => {
                return Err(shape(
                    "$.base_url",
                    "expected an http:// or https:// URL string".into(),
                ))
            }
            None => return Err(shape("$", "the field `base_url` is missing".into())),
        };
        let timeout = match obj.get("timeout_ms") {
            None => Self::DEFAULT_TIMEOUT,
            Some(v) => Duration::from_millis(v.as_u64().filter(|n| *n > 0).ok_or_else(|| {
                shape(
                    "$.timeout_ms",
                    "expected a positive whole number of milliseconds".into(),
                )
            })?),
        };
        Ok(LiveLlmConfig {
            base_url,
            timeout,
            grants: BTreeMap::new(),
        })
    }

    /// Where requests go: `{base_url}/chat/completions`.
    pub fn endpoint(&self) -> String {
        format!("{}/chat/completions", self.base_url.trim_end_matches('/'))
    }
}

enum Mode {
    Mock(LlmFixtures),
    Live {
        config: LiveLlmConfig,
        agent: ureq::Agent,
        env: EnvLookup,
    },
}

/// Where one request is answered: by fixtures, or by the endpoint with the
/// key its grant allows.
enum Route<'a> {
    Mock(&'a LlmFixtures),
    Live {
        agent: &'a ureq::Agent,
        url: Url,
        key: Option<String>,
    },
}

pub struct LlmAdapter {
    store: Store,
    mode: Mode,
}

/// The params of `llm.generate` (`sys/LlmGenerateParams@1`) the adapter uses.
struct Request {
    provider: String,
    model: String,
    temperature: String,
    max_tokens: u64,
    input_ref: Hash,
}

struct Generated {
    output: String,
    prompt_tokens: u64,
    completion_tokens: u64,
    cost_cents: u64,
}

fn parse_request(intent: &Intent) -> Result<Request, String> {
    let p = intent
        .params_value()
        .map_err(|e| format!("params do not decode: {e}"))?;
    let text = |k: &str| {
        p.get(k)
            .and_then(Value::as_text)
            .map(str::to_string)
            .ok_or_else(|| format!("params lack a text `{k}`"))
    };
    Ok(Request {
        provider: text("provider")?,
        model: text("model")?,
        temperature: text("temperature")?,
        max_tokens: p
            .get("max_tokens")
            .and_then(Value::as_int)
            .and_then(|i| u64::try_from(i).ok())
            .ok_or("params lack a natural `max_tokens`")?,
        input_ref: p
            .get("input_ref")
            .and_then(Value::as_bytes)
            .and_then(Hash::from_slice)
            .ok_or("params lack a hash `input_ref`")?,
    })
}

/// The payload of a receipt: `output_ref` is the stored text's hash.
fn payload(output_ref: Hash, prompt: u64, completion: u64, cost: u64, provider: &str) -> Value {
    Value::record([
        ("output_ref", Value::Bytes(output_ref.0.to_vec())),
        (
            "token_usage",
            Value::record([
                ("prompt", Value::Int(i128::from(prompt))),
                ("completion", Value::Int(i128::from(completion))),
            ]),
        ),
        ("cost_cents", Value::Int(i128::from(cost))),
        ("provider_id", Value::text(provider)),
    ])
}

/// Failure with the message in a blob. Should the store fail too, the ref
/// is still the message's hash, so the receipt keeps its shape.
fn failure(store: &Store, status: ReceiptStatus, message: &str, provider: &str) -> AdapterOutcome {
    let text = format!("llm.generate failed: {message}");
    let r = store
        .put(text.as_bytes())
        .unwrap_or_else(|_| Hash::of(text.as_bytes()));
    AdapterOutcome::Done {
        status,
        payload: payload(r, 0, 0, 0, provider),
        cost_cents: 0,
    }
}

/// A failed live call, with whether it was a timeout.
struct LiveError {
    timeout: bool,
    message: String,
}

impl LiveError {
    fn error(message: String) -> LiveError {
        LiveError {
            timeout: false,
            message,
        }
    }
}

/// How much of an error response body to quote in the message.
const QUOTE_CHARS: usize = 500;

fn quote(body: &[u8]) -> String {
    String::from_utf8_lossy(body)
        .chars()
        .take(QUOTE_CHARS)
        .collect()
}

/// The endpoint and the API key a live request under `grant` may use. The
/// host is checked first, and only then is the grant's key variable read:
/// a request refused here has read no secret and sent nothing.
fn egress(
    config: &LiveLlmConfig,
    env: &EnvLookup,
    grant: &str,
) -> Result<(Url, Option<String>), String> {
    let allowed = config.grants.get(grant);
    let url = allowed_url(&config.endpoint(), grant, allowed.map(|g| &g.hosts))?;
    let key = match allowed.and_then(|g| g.api_key_env.as_deref()) {
        None => None,
        Some(var) => Some(env.get(var).ok_or_else(|| {
            format!("grant `{grant}` names the API key variable `{var}`, which is not set")
        })?),
    };
    Ok((url, key))
}

fn call_live(
    agent: &ureq::Agent,
    url: &Url,
    key: Option<&str>,
    req: &Request,
    input: &str,
) -> Result<Generated, LiveError> {
    let temperature: f64 = req
        .temperature
        .trim()
        .parse()
        .ok()
        .filter(|t: &f64| t.is_finite())
        .ok_or_else(|| {
            LiveError::error(format!("temperature `{}` is not a number", req.temperature))
        })?;
    let body = json!({
        "model": req.model,
        "messages": [{"role": "user", "content": input}],
        "max_tokens": req.max_tokens,
        "temperature": temperature,
    });
    let mut call = agent
        .request_url("POST", url)
        .set("content-type", "application/json")
        .set("accept", "application/json");
    if let Some(key) = key {
        call = call.set("authorization", &format!("Bearer {key}"));
    }
    let resp = match call.send_bytes(body.to_string().as_bytes()) {
        Ok(r) | Err(ureq::Error::Status(_, r)) => r,
        Err(ureq::Error::Transport(t)) => {
            return Err(LiveError {
                timeout: is_timeout(&t),
                message: t.to_string(),
            })
        }
    };
    let status = resp.status();
    let bytes = read_capped(resp.into_reader(), MAX_BODY_BYTES).map_err(|e| LiveError {
        timeout: matches!(e, BodyError::Timeout(_)),
        message: format!("{url}: {}", e.message()),
    })?;
    if !(200..300).contains(&status) {
        return Err(LiveError::error(format!(
            "{url} answered HTTP {status}: {}",
            quote(&bytes)
        )));
    }
    let doc: Json = serde_json::from_slice(&bytes).map_err(|e| {
        LiveError::error(format!(
            "{url} answered with JSON that does not parse ({e}): {}",
            quote(&bytes)
        ))
    })?;
    let output = doc
        .pointer("/choices/0/message/content")
        .and_then(Json::as_str)
        .ok_or_else(|| {
            LiveError::error(format!(
                "{url} answered without a text `choices[0].message.content`: {}",
                quote(&bytes)
            ))
        })?;
    let tokens = |k: &str| {
        doc.pointer(&format!("/usage/{k}"))
            .and_then(Json::as_u64)
            .unwrap_or(0)
    };
    Ok(Generated {
        output: output.to_string(),
        prompt_tokens: tokens("prompt_tokens"),
        completion_tokens: tokens("completion_tokens"),
        // Prices differ by provider and change; live cost is not estimated.
        cost_cents: 0,
    })
}

impl LlmAdapter {
    pub fn mock(fixtures: LlmFixtures, store: Store) -> LlmAdapter {
        LlmAdapter {
            store,
            mode: Mode::Mock(fixtures),
        }
    }

    /// A live adapter reading API keys from the process environment.
    pub fn live(config: LiveLlmConfig, store: Store) -> LlmAdapter {
        Self::live_with_env(config, store, EnvLookup::process())
    }

    /// A live adapter reading the variables the grants name through `env`.
    pub fn live_with_env(config: LiveLlmConfig, store: Store, env: EnvLookup) -> LlmAdapter {
        let agent = agent(config.timeout);
        LlmAdapter {
            store,
            mode: Mode::Live { config, agent, env },
        }
    }

    pub fn is_live(&self) -> bool {
        matches!(self.mode, Mode::Live { .. })
    }

    fn generate(&self, intent: &Intent) -> AdapterOutcome {
        // Mock receipts always name the mock provider; live ones the provider asked for.
        let live = self.is_live();
        let provider_of = |req: Option<&Request>| match (live, req) {
            (false, _) => MOCK_PROVIDER.to_string(),
            (true, Some(r)) => r.provider.clone(),
            (true, None) => String::new(),
        };
        let req = match parse_request(intent) {
            Ok(r) => r,
            Err(e) => return failure(&self.store, ReceiptStatus::Error, &e, &provider_of(None)),
        };
        let provider = provider_of(Some(&req));
        let fail = |status, msg: &str| failure(&self.store, status, msg, &provider);
        let route = match &self.mode {
            Mode::Mock(fixtures) => Route::Mock(fixtures),
            Mode::Live { config, agent, env } => match egress(config, env, &intent.grant) {
                Ok((url, key)) => Route::Live { agent, url, key },
                Err(e) => return fail(ReceiptStatus::Error, &format!("{e}; nothing was sent")),
            },
        };
        let input = match self.store.get(&req.input_ref) {
            Ok(Some(b)) => String::from_utf8_lossy(&b).into_owned(),
            Ok(None) => {
                return fail(
                    ReceiptStatus::Error,
                    &format!("input blob {} is not in the store", req.input_ref),
                )
            }
            Err(e) => return fail(ReceiptStatus::Error, &e.to_string()),
        };
        let generated = match route {
            Route::Mock(fixtures) => match fixtures.find(&req.model, &input) {
                Some(f) => Generated {
                    output: f.output.clone(),
                    prompt_tokens: f.prompt_tokens,
                    completion_tokens: f.completion_tokens,
                    cost_cents: f.cost_cents,
                },
                None => {
                    return fail(
                        ReceiptStatus::Error,
                        &format!("no llm fixture for model `{}` matches the input", req.model),
                    )
                }
            },
            Route::Live { agent, url, key } => {
                match call_live(agent, &url, key.as_deref(), &req, &input) {
                    Ok(g) => g,
                    Err(e) => {
                        let status = if e.timeout {
                            ReceiptStatus::Timeout
                        } else {
                            ReceiptStatus::Error
                        };
                        return fail(status, &e.message);
                    }
                }
            }
        };
        let output_ref = match self.store.put(generated.output.as_bytes()) {
            Ok(h) => h,
            Err(e) => {
                return fail(
                    ReceiptStatus::Error,
                    &format!("storing the output failed: {e}"),
                )
            }
        };
        AdapterOutcome::Done {
            status: ReceiptStatus::Ok,
            payload: payload(
                output_ref,
                generated.prompt_tokens,
                generated.completion_tokens,
                generated.cost_cents,
                &provider,
            ),
            cost_cents: generated.cost_cents,
        }
    }
}

impl Adapter for LlmAdapter {
    fn id(&self) -> &str {
        LLM_ID
    }

    fn kinds(&self) -> &[&str] {
        &["llm.generate"]
    }

    fn execute(&mut self, intent: &Intent) -> AdapterOutcome {
        self.generate(intent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::fixtures::LlmFixture;
    use crate::adapters::tests_http::llm_parts;
    use crate::effects::{Origin, OriginKind};

    fn gen(store: &Store, model: &str, prompt: &str) -> Intent {
        let input = store.put(prompt.as_bytes()).unwrap();
        gen_ref(model, input)
    }

    fn gen_ref(model: &str, input: Hash) -> Intent {
        Intent::new(
            "llm.generate",
            &Value::record([
                ("provider", Value::text("openai")),
                ("model", Value::text(model)),
                ("temperature", Value::text("0")),
                ("max_tokens", Value::Int(10)),
                ("input_ref", Value::Bytes(input.0.to_vec())),
                ("tools", Value::Null),
            ]),
            "llm",
            Origin {
                kind: OriginKind::Plan,
                name: "p".into(),
            },
            vec![],
        )
    }

    fn mock() -> (tempfile::TempDir, Store, LlmAdapter) {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::open(&tmp.path().join("store")).unwrap();
        let f = LlmFixtures::new(vec![
            LlmFixture {
                model: "m".into(),
                input_contains: Some("weather".into()),
                output: "sunny".into(),
                prompt_tokens: 5,
                completion_tokens: 1,
                cost_cents: 3,
            },
            LlmFixture {
                model: "m".into(),
                input_contains: None,
                output: "generic".into(),
                prompt_tokens: 1,
                completion_tokens: 1,
                cost_cents: 0,
            },
        ]);
        let a = LlmAdapter::mock(f, store.clone());
        (tmp, store, a)
    }

    #[test]
    fn mock_answers_by_model_and_input() {
        let (_tmp, store, mut a) = mock();
        assert!(!a.is_live());
        let i = gen(&store, "m", "what is the weather?");
        let first = a.execute(&i);
        assert_eq!(a.execute(&i), first, "deterministic");
        assert_eq!(
            llm_parts(&store, first),
            (ReceiptStatus::Ok, "sunny".into(), 5, 1, 3, "mock".into(), 3)
        );
        let other = llm_parts(&store, a.execute(&gen(&store, "m", "hello")));
        assert_eq!((other.0, other.1.as_str()), (ReceiptStatus::Ok, "generic"));
    }

    #[test]
    fn mock_failures_carry_a_message_blob() {
        let (_tmp, store, mut a) = mock();
        let cases = [
            (
                gen(&store, "other", "weather"),
                "no llm fixture for model `other`",
            ),
            (gen_ref("m", Hash::of(b"absent")), "is not in the store"),
            (
                Intent::new(
                    "llm.generate",
                    &Value::Null,
                    "llm",
                    Origin {
                        kind: OriginKind::Plan,
                        name: "p".into(),
                    },
                    vec![],
                ),
                "params lack",
            ),
        ];
        for (i, needle) in cases {
            let (status, text, p, c, cost, provider, outcome_cost) =
                llm_parts(&store, a.execute(&i));
            assert_eq!(
                (status, p, c, cost, provider.as_str(), outcome_cost),
                (ReceiptStatus::Error, 0, 0, 0, "mock", 0)
            );
            assert!(text.contains(needle), "{text}");
        }
    }

    fn config(doc: &str) -> Result<LiveLlmConfig, LlmConfigError> {
        let doc: Json = serde_json::from_str(doc).unwrap();
        LiveLlmConfig::from_json(Path::new("llm.config.json"), &doc)
    }

    #[test]
    fn config_reads_the_endpoint_and_timeout() {
        let c = config(r#"{"base_url":"https://llm.example/v1/","timeout_ms":1500}"#).unwrap();
        assert_eq!(c.endpoint(), "https://llm.example/v1/chat/completions");
        assert_eq!(c.timeout, Duration::from_millis(1500));
        assert!(c.grants.is_empty(), "grants come from the manifest");
        let local = config(r#"{"base_url":"http://127.0.0.1:8080"}"#).unwrap();
        assert_eq!(local.timeout, LiveLlmConfig::DEFAULT_TIMEOUT);
    }

    #[test]
    fn config_errors_say_what_and_where() {
        let cases = [
            (r#"[]"#, "$", "object"),
            (r#"{}"#, "$", "`base_url`"),
            (r#"{"base_url":"ftp://x"}"#, "$.base_url", "http"),
            (
                r#"{"base_url":"https://x","api_key":"sk"}"#,
                "$.api_key",
                "llm grant's params (`api_key_env`)",
            ),
            // The key's variable is the grant's to name, not this file's.
            (
                r#"{"base_url":"https://x","api_key_env":"OPENAI_API_KEY"}"#,
                "$.api_key_env",
                "llm grant's params (`api_key_env`)",
            ),
            (
                r#"{"base_url":"https://x","timeout_ms":0}"#,
                "$.timeout_ms",
                "positive",
            ),
            (
                r#"{"base_url":"https://x","other":1}"#,
                "$.other",
                "unknown field",
            ),
        ];
        for (doc, want_path, needle) in cases {
            match config(doc).unwrap_err() {
                LlmConfigError::Shape { path, problem, .. } => {
                    assert_eq!(path, want_path, "{doc}");
                    assert!(problem.contains(needle), "{doc}: {problem}");
                }
                other => panic!("{doc}: {other}"),
            }
        }
    }

    #[test]
    fn config_file_errors() {
        let tmp = tempfile::tempdir().unwrap();
        let missing = LiveLlmConfig::from_file(&tmp.path().join("none.json")).unwrap_err();
        assert!(matches!(missing, LlmConfigError::Io { .. }), "{missing}");
        let bad = tmp.path().join("bad.json");
        std::fs::write(&bad, "{\n oops").unwrap();
        let e = LiveLlmConfig::from_file(&bad).unwrap_err();
        assert!(matches!(e, LlmConfigError::Json { line: 2, .. }), "{e}");
        assert!(e.to_string().contains("bad.json"), "{e}");
        let good = tmp.path().join("good.json");
        std::fs::write(&good, r#"{"base_url":"http://127.0.0.1:1/v1"}"#).unwrap();
        assert_eq!(
            LiveLlmConfig::from_file(&good).unwrap().base_url,
            "http://127.0.0.1:1/v1"
        );
    }
}
