//! The `http` adapter: `http.request` answered from fixtures (mock) or over
//! the network with `ureq` (live).
//!
//! Every answer fits `sys/HttpRequestReceipt@1`. Status 0 means no HTTP
//! response was had (nothing sent, refused, unreachable, no fixture). 4xx
//! and 5xx responses are `ok` receipts: the plan reads `status` and decides.
//!
//! Live mode re-checks the host against the grant before any connection
//! (defence in depth behind the gate), with the same URL parser that `ureq`
//! connects with, and follows no redirects: a redirect to another host would
//! otherwise bypass the check, so the 3xx comes back to the plan instead.
//! Live errors say what happened in an `x-aos-error` response header, the
//! only text slot the receipt schema has.

use super::fixtures::HttpFixtures;
use super::{Adapter, AdapterOutcome};
use crate::effects::gate::url_host;
use crate::effects::{Intent, ReceiptStatus};
use crate::hash::Hash;
use crate::store::Store;
use crate::value::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::error::Error as StdError;
use std::io::{self, Read};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use url::{Host, Url};

pub const HTTP_ID: &str = "http";
/// Responses with a larger body give an `error` receipt.
pub const MAX_BODY_BYTES: usize = 8 << 20;
/// The header of a live error receipt that carries the error message.
pub const ERROR_HEADER: &str = "x-aos-error";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveHttpConfig {
    /// The whole request: connect, send, and read the full response.
    pub timeout: Duration,
    /// Grant name → the hosts it allows. A grant not listed allows nothing.
    pub allowed_hosts: BTreeMap<String, BTreeSet<String>>,
}

enum Mode {
    Mock(HttpFixtures),
    Live {
        config: LiveHttpConfig,
        agent: ureq::Agent,
    },
}

pub struct HttpAdapter {
    store: Store,
    mode: Mode,
    body_cap: usize,
}

/// The params of `http.request` (`sys/HttpRequestParams@1`).
struct Request {
    method: String,
    url: String,
    headers: BTreeMap<String, String>,
    body_ref: Option<Hash>,
}

/// What goes into the receipt payload.
struct Reply {
    status: u16,
    headers: BTreeMap<String, String>,
    body_ref: Option<Hash>,
    start_ns: u64,
    end_ns: u64,
}

impl Reply {
    fn nothing(start_ns: u64, end_ns: u64) -> Reply {
        Reply {
            status: 0,
            headers: BTreeMap::new(),
            body_ref: None,
            start_ns,
            end_ns,
        }
    }

    fn with_error(mut self, message: &str) -> Reply {
        self.headers
            .insert(ERROR_HEADER.to_string(), message.to_string());
        self
    }

    fn payload(&self) -> Value {
        Value::record([
            ("status", Value::Int(i128::from(self.status))),
            (
                "headers",
                Value::Map(
                    self.headers
                        .iter()
                        .map(|(k, v)| (Value::text(k), Value::text(v)))
                        .collect(),
                ),
            ),
            (
                "body_ref",
                self.body_ref
                    .map_or(Value::Null, |h| Value::Bytes(h.0.to_vec())),
            ),
            (
                "timings",
                Value::record([
                    ("start_ns", Value::Int(i128::from(self.start_ns))),
                    ("end_ns", Value::Int(i128::from(self.end_ns))),
                ]),
            ),
            ("adapter_id", Value::text(HTTP_ID)),
        ])
    }

    fn outcome(self, status: ReceiptStatus) -> AdapterOutcome {
        AdapterOutcome::Done {
            status,
            payload: self.payload(),
            cost_cents: 0,
        }
    }
}

/// Nanoseconds since the Unix epoch (adapters run outside the deterministic core).
pub(crate) fn wall_now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// True when the error (or anything it was caused by) is an I/O timeout.
pub(crate) fn is_timeout(err: &(dyn StdError + 'static)) -> bool {
    let mut cur = Some(err);
    while let Some(e) = cur {
        if let Some(io) = e.downcast_ref::<io::Error>() {
            if matches!(
                io.kind(),
                io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
            ) {
                return true;
            }
            // An io::Error's `source` skips the error it wraps; look at that too.
            if let Some(inner) = io.get_ref() {
                cur = Some(inner);
                continue;
            }
        }
        cur = e.source();
    }
    false
}

/// Why a response body could not be had.
pub(crate) enum BodyError {
    TooLarge(usize),
    Timeout(io::Error),
    Io(io::Error),
}

impl BodyError {
    pub(crate) fn message(&self) -> String {
        match self {
            BodyError::TooLarge(cap) => format!("response body is larger than {cap} bytes"),
            BodyError::Timeout(e) => format!("timed out reading the response body: {e}"),
            BodyError::Io(e) => format!("reading the response body failed: {e}"),
        }
    }
}

/// Reads at most `cap` bytes; more is an error, so a huge body never fills memory.
pub(crate) fn read_capped(reader: impl Read, cap: usize) -> Result<Vec<u8>, BodyError> {
    let mut body = Vec::new();
    let limit = u64::try_from(cap).unwrap_or(u64::MAX).saturating_add(1);
    match reader.take(limit).read_to_end(&mut body) {
        Ok(_) if body.len() > cap => Err(BodyError::TooLarge(cap)),
        Ok(_) => Ok(body),
        Err(e) if is_timeout(&e) => Err(BodyError::Timeout(e)),
        Err(e) => Err(BodyError::Io(e)),
    }
}

/// An agent that never reads proxy settings from the environment and never
/// follows redirects (see the module docs).
pub(crate) fn agent(timeout: Duration) -> ureq::Agent {
    ureq::AgentBuilder::new()
        .timeout(timeout)
        .redirects(0)
        .user_agent(concat!("aos/", env!("CARGO_PKG_VERSION")))
        .build()
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
    let mut headers = BTreeMap::new();
    match p.get("headers") {
        None | Some(Value::Null) => {}
        Some(Value::Map(m)) => {
            for (k, v) in m {
                let (Some(k), Some(v)) = (k.as_text(), v.as_text()) else {
                    return Err("params `headers` must map text to text".into());
                };
                headers.insert(k.to_string(), v.to_string());
            }
        }
        Some(other) => {
            return Err(format!(
                "params `headers` should be a map, found {}",
                other.kind_name()
            ))
        }
    }
    let body_ref = match p.get("body_ref") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_bytes()
                .and_then(Hash::from_slice)
                .ok_or("params `body_ref` is not a hash")?,
        ),
    };
    Ok(Request {
        method: text("method")?,
        url: text("url")?,
        headers,
        body_ref,
    })
}

/// An HTTP method must be a token; anything else could rewrite the request line.
fn valid_method(m: &str) -> bool {
    !m.is_empty()
        && m.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

impl HttpAdapter {
    pub fn mock(fixtures: HttpFixtures, store: Store) -> HttpAdapter {
        HttpAdapter {
            store,
            mode: Mode::Mock(fixtures),
            body_cap: MAX_BODY_BYTES,
        }
    }

    pub fn live(config: LiveHttpConfig, store: Store) -> HttpAdapter {
        let agent = agent(config.timeout);
        HttpAdapter {
            store,
            mode: Mode::Live { config, agent },
            body_cap: MAX_BODY_BYTES,
        }
    }

    /// Changes the response body cap (default [`MAX_BODY_BYTES`]).
    pub fn with_body_cap(mut self, bytes: usize) -> HttpAdapter {
        self.body_cap = bytes;
        self
    }

    pub fn is_live(&self) -> bool {
        matches!(self.mode, Mode::Live { .. })
    }

    fn mock_answer(&self, fixtures: &HttpFixtures, intent: &Intent) -> AdapterOutcome {
        let miss = || Reply::nothing(0, 0).outcome(ReceiptStatus::Error);
        let Ok(req) = parse_request(intent) else {
            return miss();
        };
        let Some(f) = fixtures.find(&req.method, &req.url) else {
            return miss();
        };
        let body_ref = if f.body.is_empty() {
            None
        } else {
            match self.store.put(f.body.as_bytes()) {
                Ok(h) => Some(h),
                Err(_) => return miss(),
            }
        };
        Reply {
            status: f.status,
            headers: f.headers.clone(),
            body_ref,
            start_ns: 0,
            end_ns: 0,
        }
        .outcome(ReceiptStatus::Ok)
    }
}

/// The URL `ureq` will connect to, if its host is one the grant allows.
fn checked_url(config: &LiveHttpConfig, grant: &str, url: &str) -> Result<Url, String> {
    allowed_url(url, grant, config.allowed_hosts.get(grant))
}

/// The URL `ureq` will connect to, if its host is among `allowed` (the
/// hosts `grant` lists; `None` when the grant lists none, which allows
/// nothing). Shared by the http and the llm adapter: every live connection
/// is checked the same way (ARCHITECTURE.md "Adapters and fixtures").
pub(crate) fn allowed_url(
    url: &str,
    grant: &str,
    allowed: Option<&BTreeSet<String>>,
) -> Result<Url, String> {
    let parsed = Url::parse(url).map_err(|e| format!("URL `{url}` does not parse: {e}"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(format!("URL `{url}` is not http or https"));
    }
    let host = match parsed.host() {
        Some(Host::Domain(d)) => d.to_ascii_lowercase(),
        Some(Host::Ipv4(a)) => a.to_string(),
        Some(Host::Ipv6(a)) => a.to_string(),
        None => return Err(format!("URL `{url}` has no host")),
    };
    // The gate judged the host it read; connecting to a different reading
    // of the same text (`\`, numeric IPv4 forms, IDNA) would dodge it.
    let gate_host = url_host(url);
    if gate_host.as_deref() != Some(host.as_str()) {
        return Err(format!(
            "URL `{url}` reads as host `{}` to the gate but would connect to `{host}`",
            gate_host.unwrap_or_default()
        ));
    }
    let allowed = allowed.ok_or_else(|| {
        format!("grant `{grant}` allows no hosts for live requests (host `{host}`)")
    })?;
    if !allowed.iter().any(|h| h.eq_ignore_ascii_case(&host)) {
        let list: Vec<&str> = allowed.iter().map(String::as_str).collect();
        return Err(format!(
            "host `{host}` is not among the hosts grant `{grant}` allows: {list:?}"
        ));
    }
    Ok(parsed)
}

fn response_headers(resp: &ureq::Response) -> BTreeMap<String, String> {
    let mut names = resp.headers_names();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .filter_map(|n| {
            // Header values that are not text are left out (the schema is text → text).
            let values = resp.all(&n);
            (!values.is_empty()).then(|| {
                let joined = values.join(", ");
                (n, joined)
            })
        })
        .collect()
}

impl HttpAdapter {
    fn live_answer(
        &self,
        config: &LiveHttpConfig,
        agent: &ureq::Agent,
        intent: &Intent,
    ) -> AdapterOutcome {
        let start = wall_now_ns();
        let refuse = |msg: String| {
            Reply::nothing(start, wall_now_ns())
                .with_error(&format!("{msg}; nothing was sent"))
                .outcome(ReceiptStatus::Error)
        };
        let req = match parse_request(intent) {
            Ok(r) => r,
            Err(e) => return refuse(e),
        };
        let url = match checked_url(config, &intent.grant, &req.url) {
            Ok(u) => u,
            Err(e) => return refuse(e),
        };
        if !valid_method(&req.method) {
            return refuse(format!("`{}` is not an HTTP method", req.method));
        }
        let body = match req.body_ref.map(|r| (r, self.store.get(&r))) {
            None => None,
            Some((_, Ok(Some(b)))) => Some(b),
            Some((r, Ok(None))) => {
                return refuse(format!("request body blob {r} is not in the store"))
            }
            Some((r, Err(e))) => return refuse(format!("request body blob {r}: {e}")),
        };
        let mut call = agent.request_url(&req.method, &url);
        for (k, v) in &req.headers {
            call = call.set(k, v);
        }
        let result = match &body {
            Some(b) => call.send_bytes(b),
            None => call.call(),
        };
        let resp = match result {
            Ok(r) | Err(ureq::Error::Status(_, r)) => r,
            Err(ureq::Error::Transport(t)) => {
                let status = if is_timeout(&t) {
                    ReceiptStatus::Timeout
                } else {
                    ReceiptStatus::Error
                };
                return Reply::nothing(start, wall_now_ns())
                    .with_error(&t.to_string())
                    .outcome(status);
            }
        };
        let mut reply = Reply {
            status: resp.status(),
            headers: response_headers(&resp),
            body_ref: None,
            start_ns: start,
            end_ns: 0,
        };
        let read = read_capped(resp.into_reader(), self.body_cap);
        reply.end_ns = wall_now_ns();
        match read {
            Ok(bytes) if bytes.is_empty() => reply.outcome(ReceiptStatus::Ok),
            Ok(bytes) => match self.store.put(&bytes) {
                Ok(h) => {
                    reply.body_ref = Some(h);
                    reply.outcome(ReceiptStatus::Ok)
                }
                Err(e) => reply
                    .with_error(&format!("storing the response body failed: {e}"))
                    .outcome(ReceiptStatus::Error),
            },
            Err(e) => {
                let status = match e {
                    BodyError::Timeout(_) => ReceiptStatus::Timeout,
                    _ => ReceiptStatus::Error,
                };
                reply.with_error(&e.message()).outcome(status)
            }
        }
    }
}

impl Adapter for HttpAdapter {
    fn id(&self) -> &str {
        HTTP_ID
    }

    fn kinds(&self) -> &[&str] {
        &["http.request"]
    }

    fn execute(&mut self, intent: &Intent) -> AdapterOutcome {
        match &self.mode {
            Mode::Mock(f) => self.mock_answer(f, intent),
            Mode::Live { config, agent } => self.live_answer(config, agent, intent),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::fixtures::HttpFixture;
    use crate::adapters::tests_http::http_parts;
    use crate::effects::{Origin, OriginKind};

    fn get(url: &str) -> Intent {
        Intent::new(
            "http.request",
            &Value::record([
                ("method", Value::text("GET")),
                ("url", Value::text(url)),
                ("headers", Value::Map(vec![])),
                ("body_ref", Value::Null),
            ]),
            "net",
            Origin {
                kind: OriginKind::Plan,
                name: "p".into(),
            },
            vec![],
        )
    }

    fn mock() -> (tempfile::TempDir, Store, HttpAdapter) {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::open(&tmp.path().join("store")).unwrap();
        let fixture = |url: &str, status, body: &str| HttpFixture {
            method: "get".into(),
            url: url.into(),
            status,
            headers: [("content-type".to_string(), "text/plain".to_string())].into(),
            body: body.into(),
        };
        let f = HttpFixtures::new(vec![
            fixture("https://a.io/x", 200, "hello"),
            fixture("https://a.io/x", 500, "shadowed"),
            fixture("https://a.io/empty", 204, ""),
        ]);
        let a = HttpAdapter::mock(f, store.clone());
        (tmp, store, a)
    }

    #[test]
    fn mock_hit_is_deterministic_and_stores_the_body() {
        let (_tmp, store, mut a) = mock();
        assert!(!a.is_live());
        let first = a.execute(&get("https://a.io/x"));
        assert_eq!(
            a.execute(&get("https://a.io/x")),
            first,
            "same answer twice"
        );
        let want = Value::record([
            ("status", Value::Int(200)),
            (
                "headers",
                Value::Map(vec![(
                    Value::text("content-type"),
                    Value::text("text/plain"),
                )]),
            ),
            ("body_ref", Value::Bytes(Hash::of(b"hello").0.to_vec())),
            (
                "timings",
                Value::record([("start_ns", Value::Int(0)), ("end_ns", Value::Int(0))]),
            ),
            ("adapter_id", Value::text("http")),
        ]);
        assert_eq!(
            first,
            AdapterOutcome::Done {
                status: ReceiptStatus::Ok,
                payload: want,
                cost_cents: 0
            }
        );
        assert_eq!(
            store.get(&Hash::of(b"hello")).unwrap().as_deref(),
            Some(&b"hello"[..])
        );
        let (status, http, _, body_ref, ..) = http_parts(a.execute(&get("https://a.io/empty")));
        assert_eq!((status, http, body_ref), (ReceiptStatus::Ok, 204, None));
    }

    #[test]
    fn mock_miss_and_bad_params_are_status_0_errors() {
        let (_tmp, _store, mut a) = mock();
        let bad = Intent::new(
            "http.request",
            &Value::Int(1),
            "net",
            Origin {
                kind: OriginKind::Plan,
                name: "p".into(),
            },
            vec![],
        );
        for i in [get("https://a.io/y"), get("https://a.io/x/"), bad] {
            let (status, http, headers, body_ref, start, end) = http_parts(a.execute(&i));
            assert_eq!((status, http, body_ref), (ReceiptStatus::Error, 0, None));
            assert!(headers.is_empty());
            assert_eq!((start, end), (0, 0));
        }
    }

    #[test]
    fn params_shapes_are_checked() {
        let with = |headers: Value, body_ref: Value| {
            let mut i = get("https://a.io/x");
            i.params = crate::cbor::encode(&Value::record([
                ("method", Value::text("GET")),
                ("url", Value::text("https://a.io/x")),
                ("headers", headers),
                ("body_ref", body_ref),
            ]));
            parse_request(&i)
        };
        assert!(with(Value::Null, Value::Null).is_ok());
        let e = with(Value::Int(1), Value::Null).err().unwrap();
        assert!(e.contains("should be a map"), "{e}");
        let e = with(
            Value::Map(vec![(Value::text("a"), Value::Int(1))]),
            Value::Null,
        )
        .err()
        .unwrap();
        assert!(e.contains("text to text"), "{e}");
        let e = with(Value::Null, Value::Bytes(vec![1])).err().unwrap();
        assert!(e.contains("not a hash"), "{e}");
        let mut raw = get("https://a.io/x");
        raw.params = vec![0xff];
        assert!(parse_request(&raw).err().unwrap().contains("decode"));
    }

    #[test]
    fn methods_must_be_tokens() {
        assert!(valid_method("GET") && valid_method("M-SEARCH"));
        assert!(!valid_method("") && !valid_method("GET /") && !valid_method("G\r\nX"));
    }

    struct Failing;
    impl Read for Failing {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            Err(io::Error::other("boom"))
        }
    }

    #[test]
    fn capped_reads() {
        assert_eq!(read_capped(&b"abcd"[..], 4).ok(), Some(b"abcd".to_vec()));
        assert!(matches!(
            read_capped(&b"abcde"[..], 4),
            Err(BodyError::TooLarge(4))
        ));
        let e = read_capped(Failing, 4).err().unwrap();
        assert!(matches!(e, BodyError::Io(_)) && e.message().contains("boom"));
        let t = io::Error::new(io::ErrorKind::TimedOut, "slow");
        assert!(is_timeout(&t));
        let wrapped = io::Error::other(t);
        assert!(is_timeout(&wrapped), "found through the source chain");
        assert!(!is_timeout(&io::Error::other("x")));
    }
}
