//! Live `http` and `llm` adapters against servers the tests start on
//! 127.0.0.1, and both adapters through the [`Dispatcher`](super::Dispatcher).

use super::http::ERROR_HEADER;
use super::*;
use crate::effects::{Origin, OriginKind, TrustedKeys};
use crate::store::Store;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// What the fake server received.
pub(crate) struct Seen {
    pub head: String,
    pub body: Vec<u8>,
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn read_request(stream: &mut TcpStream) -> Seen {
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = find(&buf, b"\r\n\r\n") {
            break i + 4;
        }
        let n = stream.read(&mut chunk).unwrap();
        assert!(n > 0, "client closed before the end of the head");
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let len = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse::<usize>().unwrap())
        })
        .unwrap_or(0);
    while buf.len() < head_end + len {
        let n = stream.read(&mut chunk).unwrap();
        assert!(n > 0, "client closed before the end of the body");
        buf.extend_from_slice(&chunk[..n]);
    }
    Seen {
        head,
        body: buf[head_end..head_end + len].to_vec(),
    }
}

/// Answers one connection with `response` (hand-written HTTP/1.1) and
/// returns the server's base URL and what it received.
pub(crate) fn serve_once(response: String) -> (String, JoinHandle<Seen>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let handle = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let seen = read_request(&mut stream);
        stream.write_all(response.as_bytes()).unwrap();
        stream.flush().unwrap();
        seen
    });
    (base, handle)
}

fn intent(kind: &str, params: Value, grant: &str) -> Intent {
    Intent::new(
        kind,
        &params,
        grant,
        Origin {
            kind: OriginKind::Plan,
            name: "p".into(),
        },
        vec![],
    )
}

fn http_intent(method: &str, url: &str, headers: &[(&str, &str)], body: Option<Hash>) -> Intent {
    intent(
        "http.request",
        Value::record([
            ("method", Value::text(method)),
            ("url", Value::text(url)),
            (
                "headers",
                Value::Map(
                    headers
                        .iter()
                        .map(|(k, v)| (Value::text(*k), Value::text(*v)))
                        .collect(),
                ),
            ),
            (
                "body_ref",
                body.map_or(Value::Null, |h| Value::Bytes(h.0.to_vec())),
            ),
        ]),
        "net",
    )
}

fn live_http(store: &Store, hosts: &[&str], timeout_ms: u64) -> HttpAdapter {
    let mut allowed = BTreeMap::new();
    allowed.insert(
        "net".to_string(),
        hosts.iter().map(|h| h.to_string()).collect::<BTreeSet<_>>(),
    );
    HttpAdapter::live(
        LiveHttpConfig {
            timeout: Duration::from_millis(timeout_ms),
            allowed_hosts: allowed,
        },
        store.clone(),
    )
}

fn setup() -> (tempfile::TempDir, Store) {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(&tmp.path().join("store")).unwrap();
    (tmp, store)
}

/// (receipt status, HTTP status, headers, body_ref, start_ns, end_ns)
type HttpParts = (
    ReceiptStatus,
    i128,
    BTreeMap<String, String>,
    Option<Hash>,
    i128,
    i128,
);

pub(crate) fn http_parts(o: AdapterOutcome) -> HttpParts {
    let AdapterOutcome::Done {
        status, payload, ..
    } = o
    else {
        panic!("http never waits");
    };
    let headers = payload
        .get("headers")
        .and_then(Value::as_map)
        .unwrap()
        .iter()
        .map(|(k, v)| {
            (
                k.as_text().unwrap().to_string(),
                v.as_text().unwrap().to_string(),
            )
        })
        .collect();
    let body_ref = match payload.get("body_ref").unwrap() {
        Value::Null => None,
        v => Some(Hash::from_slice(v.as_bytes().unwrap()).unwrap()),
    };
    let t = payload.get("timings").unwrap();
    assert_eq!(payload.get("adapter_id"), Some(&Value::text("http")));
    (
        status,
        payload.get("status").and_then(Value::as_int).unwrap(),
        headers,
        body_ref,
        t.get("start_ns").and_then(Value::as_int).unwrap(),
        t.get("end_ns").and_then(Value::as_int).unwrap(),
    )
}

#[test]
fn live_request_sends_method_headers_body_and_stores_the_response() {
    let (_tmp, store) = setup();
    let (base, server) = serve_once(
        "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nX-Multi: a\r\nX-Multi: b\r\n\
         Content-Length: 5\r\nConnection: close\r\n\r\nhello"
            .into(),
    );
    let sent = store.put(b"{\"q\":1}").unwrap();
    let mut a = live_http(&store, &["127.0.0.1"], 5_000);
    assert!(a.is_live());
    let i = http_intent(
        "POST",
        &format!("{base}/items?x=1"),
        &[("X-Token", "t1")],
        Some(sent),
    );
    let (status, http, headers, body_ref, start, end) = http_parts(a.execute(&i));
    let seen = server.join().unwrap();
    assert!(
        seen.head.starts_with("POST /items?x=1 HTTP/1.1\r\n"),
        "{}",
        seen.head
    );
    assert!(
        seen.head.to_ascii_lowercase().contains("x-token: t1"),
        "{}",
        seen.head
    );
    assert_eq!(seen.body, b"{\"q\":1}");
    assert_eq!(status, ReceiptStatus::Ok, "a 404 is still an ok receipt");
    assert_eq!(http, 404);
    assert_eq!(headers["content-type"], "text/plain");
    assert_eq!(headers["x-multi"], "a, b");
    assert!(!headers.contains_key(ERROR_HEADER));
    let r = body_ref.expect("body stored");
    assert_eq!(store.get(&r).unwrap().as_deref(), Some(&b"hello"[..]));
    assert!(start > 0 && start <= end, "{start} {end}");
}

#[test]
fn redirects_are_returned_not_followed() {
    let (_tmp, store) = setup();
    let (base, server) = serve_once(
        "HTTP/1.1 302 Found\r\nLocation: http://elsewhere.invalid/\r\nContent-Length: 0\r\n\
         Connection: close\r\n\r\n"
            .into(),
    );
    let mut a = live_http(&store, &["127.0.0.1"], 5_000);
    let (status, http, headers, body_ref, ..) =
        http_parts(a.execute(&http_intent("GET", &format!("{base}/"), &[], None)));
    server.join().unwrap();
    assert_eq!((status, http, body_ref), (ReceiptStatus::Ok, 302, None));
    assert_eq!(headers["location"], "http://elsewhere.invalid/");
}

/// A listener that must never see a connection.
fn untouched() -> (TcpListener, String) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.set_nonblocking(true).unwrap();
    let base = format!("http://{}", l.local_addr().unwrap());
    (l, base)
}

fn assert_no_connection(l: &TcpListener) {
    match l.accept() {
        Err(e) => assert_eq!(e.kind(), ErrorKind::WouldBlock),
        Ok((_, peer)) => panic!("the adapter connected from {peer}"),
    }
}

#[test]
fn hosts_outside_the_grant_are_never_contacted() {
    let (_tmp, store) = setup();
    let (l, base) = untouched();
    let port = l.local_addr().unwrap().port();
    let cases = [
        // Host not in the grant's list.
        (
            live_http(&store, &["example.com"], 2_000),
            format!("{base}/x"),
            "not among",
        ),
        // The gate would read `example.com` here; `ureq` would connect to 127.0.0.1.
        (
            live_http(&store, &["example.com", "127.0.0.1"], 2_000),
            format!("http://127.0.0.1:{port}\\@example.com/"),
            "would connect",
        ),
        (
            live_http(&store, &["127.0.0.1"], 2_000),
            format!("ftp://127.0.0.1:{port}/"),
            "not http",
        ),
        (
            live_http(&store, &["127.0.0.1"], 2_000),
            "not a url".into(),
            "does not parse",
        ),
    ];
    for (mut a, url, needle) in cases {
        let (status, http, headers, body_ref, ..) =
            http_parts(a.execute(&http_intent("GET", &url, &[], None)));
        assert_eq!(
            (status, http, body_ref),
            (ReceiptStatus::Error, 0, None),
            "{url}"
        );
        let msg = &headers[ERROR_HEADER];
        assert!(
            msg.contains(needle) && msg.contains("nothing was sent"),
            "{url}: {msg}"
        );
    }
    // A grant the config does not list allows nothing.
    let mut a = live_http(&store, &["127.0.0.1"], 2_000);
    let mut other = http_intent("GET", &format!("{base}/"), &[], None);
    other.grant = "other".into();
    let (status, http, headers, ..) = http_parts(a.execute(&other));
    assert_eq!((status, http), (ReceiptStatus::Error, 0));
    assert!(
        headers[ERROR_HEADER].contains("grant `other`"),
        "{headers:?}"
    );
    assert_no_connection(&l);
}

#[test]
fn bad_requests_are_refused_before_connecting() {
    let (_tmp, store) = setup();
    let (l, base) = untouched();
    let mut a = live_http(&store, &["127.0.0.1"], 2_000);
    let url = format!("{base}/");
    let missing = Hash::of(b"never stored");
    let cases = [
        (
            http_intent("GET", &url, &[], Some(missing)),
            "not in the store",
        ),
        (
            http_intent("GET / HTTP/1.1\r\nX:", &url, &[], None),
            "not an HTTP method",
        ),
        (intent("http.request", Value::Null, "net"), "params lack"),
    ];
    for (i, needle) in cases {
        let (status, http, headers, ..) = http_parts(a.execute(&i));
        assert_eq!((status, http), (ReceiptStatus::Error, 0));
        assert!(headers[ERROR_HEADER].contains(needle), "{headers:?}");
    }
    assert_no_connection(&l);
}

#[test]
fn a_silent_server_times_out() {
    let (_tmp, store) = setup();
    // The kernel completes the handshake from the backlog; nobody answers.
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", l.local_addr().unwrap());
    let mut a = live_http(&store, &["127.0.0.1"], 200);
    let (status, http, headers, body_ref, ..) =
        http_parts(a.execute(&http_intent("GET", &url, &[], None)));
    assert_eq!(
        (status, http, body_ref),
        (ReceiptStatus::Timeout, 0, None),
        "{headers:?}"
    );
    drop(l);
}

#[test]
fn a_refused_connection_is_an_error() {
    let (_tmp, store) = setup();
    let url = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/", l.local_addr().unwrap())
    };
    let mut a = live_http(&store, &["127.0.0.1"], 2_000);
    let (status, http, headers, ..) = http_parts(a.execute(&http_intent("GET", &url, &[], None)));
    assert_eq!((status, http), (ReceiptStatus::Error, 0));
    assert!(!headers[ERROR_HEADER].is_empty());
}

#[test]
fn an_oversized_body_is_an_error() {
    let (_tmp, store) = setup();
    let (base, server) =
        serve_once("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello".into());
    let mut a = live_http(&store, &["127.0.0.1"], 5_000).with_body_cap(4);
    let (status, http, headers, body_ref, ..) =
        http_parts(a.execute(&http_intent("GET", &format!("{base}/"), &[], None)));
    server.join().unwrap();
    assert_eq!((status, http, body_ref), (ReceiptStatus::Error, 200, None));
    assert!(
        headers[ERROR_HEADER].contains("larger than 4 bytes"),
        "{headers:?}"
    );
    assert!(!store.contains(&Hash::of(b"hello")));
}

// ---- llm ----

fn llm_intent(store: &Store, model: &str, prompt: &str) -> Intent {
    let input = store.put(prompt.as_bytes()).unwrap();
    intent(
        "llm.generate",
        Value::record([
            ("provider", Value::text("openai")),
            ("model", Value::text(model)),
            ("temperature", Value::text("0.5")),
            ("max_tokens", Value::Int(64)),
            ("input_ref", Value::Bytes(input.0.to_vec())),
            ("tools", Value::Null),
        ]),
        "llm",
    )
}

/// (receipt status, output text, prompt tokens, completion tokens, cost, provider, outcome cost)
pub(crate) fn llm_parts(
    store: &Store,
    o: AdapterOutcome,
) -> (ReceiptStatus, String, i128, i128, i128, String, u64) {
    let AdapterOutcome::Done {
        status,
        payload,
        cost_cents,
    } = o
    else {
        panic!("llm never waits");
    };
    let r = Hash::from_slice(payload.get("output_ref").and_then(Value::as_bytes).unwrap()).unwrap();
    let text = String::from_utf8(store.get(&r).unwrap().expect("output stored")).unwrap();
    let usage = payload.get("token_usage").unwrap();
    (
        status,
        text,
        usage.get("prompt").and_then(Value::as_int).unwrap(),
        usage.get("completion").and_then(Value::as_int).unwrap(),
        payload.get("cost_cents").and_then(Value::as_int).unwrap(),
        payload
            .get("provider_id")
            .and_then(Value::as_text)
            .unwrap()
            .to_string(),
        cost_cents,
    )
}

/// The grant `llm` of the llm tests: which hosts it allows and which
/// variable it names for the key.
fn llm_grant(hosts: &[&str], key_var: Option<&str>) -> BTreeMap<String, LlmGrantEgress> {
    [(
        "llm".to_string(),
        LlmGrantEgress {
            hosts: hosts.iter().map(|h| h.to_string()).collect(),
            api_key_env: key_var.map(str::to_string),
        },
    )]
    .into()
}

/// A live llm adapter at `base` under `grants`, whose environment is `env`;
/// every variable it reads is logged in the returned list.
fn live_llm_env(
    store: &Store,
    base: &str,
    grants: BTreeMap<String, LlmGrantEgress>,
    env: &[(&str, &str)],
    timeout_ms: u64,
) -> (LlmAdapter, Arc<Mutex<Vec<String>>>) {
    let read = Arc::new(Mutex::new(Vec::new()));
    let vars: BTreeMap<String, String> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let log = read.clone();
    let lookup = EnvLookup::new(move |name| {
        log.lock().unwrap().push(name.to_string());
        vars.get(name).cloned()
    });
    let adapter = LlmAdapter::live_with_env(
        LiveLlmConfig {
            base_url: format!("{base}/v1/"),
            timeout: Duration::from_millis(timeout_ms),
            grants,
        },
        store.clone(),
        lookup,
    );
    (adapter, read)
}

/// A live llm adapter whose grant allows 127.0.0.1 and, with `key`, names
/// `AOS_TEST_KEY` holding it.
fn live_llm(store: &Store, base: &str, key: Option<&str>, timeout_ms: u64) -> LlmAdapter {
    let var = key.map(|_| "AOS_TEST_KEY");
    let env: Vec<(&str, &str)> = key.map(|k| ("AOS_TEST_KEY", k)).into_iter().collect();
    live_llm_env(
        store,
        base,
        llm_grant(&["127.0.0.1"], var),
        &env,
        timeout_ms,
    )
    .0
}

fn json_response(status: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    )
}

#[test]
fn live_llm_posts_chat_completions_and_stores_the_answer() {
    let (_tmp, store) = setup();
    let (base, server) = serve_once(json_response(
        "200 OK",
        r#"{"choices":[{"message":{"role":"assistant","content":"Paris."}}],
            "usage":{"prompt_tokens":12,"completion_tokens":2}}"#,
    ));
    let mut a = live_llm(&store, &base, Some("sk-test"), 5_000);
    assert!(a.is_live());
    let got = llm_parts(
        &store,
        a.execute(&llm_intent(&store, "gpt-x", "Capital of France?")),
    );
    let seen = server.join().unwrap();
    assert!(
        seen.head.starts_with("POST /v1/chat/completions HTTP/1.1"),
        "{}",
        seen.head
    );
    assert!(seen
        .head
        .to_ascii_lowercase()
        .contains("authorization: bearer sk-test"));
    let sent: serde_json::Value = serde_json::from_slice(&seen.body).unwrap();
    assert_eq!(
        sent,
        serde_json::json!({"model": "gpt-x", "max_tokens": 64, "temperature": 0.5,
            "messages": [{"role": "user", "content": "Capital of France?"}]})
    );
    assert_eq!(
        got,
        (
            ReceiptStatus::Ok,
            "Paris.".into(),
            12,
            2,
            0,
            "openai".into(),
            0
        )
    );
}

#[test]
fn live_llm_failures_are_receipts_with_a_message_blob() {
    let bodies = [
        (
            "500 Internal Server Error",
            r#"{"error":"overloaded"}"#,
            "HTTP 500",
        ),
        ("200 OK", "not json", "does not parse"),
        ("200 OK", r#"{"choices":[]}"#, "choices[0].message.content"),
    ];
    for (status_line, body, needle) in bodies {
        let (_tmp, store) = setup();
        let (base, server) = serve_once(json_response(status_line, body));
        let mut a = live_llm(&store, &base, None, 5_000);
        let (status, text, p, c, cost, ..) =
            llm_parts(&store, a.execute(&llm_intent(&store, "m", "hi")));
        let seen = server.join().unwrap();
        assert!(!seen.head.to_ascii_lowercase().contains("authorization"));
        assert_eq!(
            (status, p, c, cost),
            (ReceiptStatus::Error, 0, 0, 0),
            "{text}"
        );
        assert!(text.contains(needle), "{text}");
    }
}

#[test]
fn live_llm_times_out_on_a_silent_server() {
    let (_tmp, store) = setup();
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", l.local_addr().unwrap());
    let mut a = live_llm(&store, &base, None, 200);
    let (status, text, ..) = llm_parts(&store, a.execute(&llm_intent(&store, "m", "hi")));
    assert_eq!(status, ReceiptStatus::Timeout, "{text}");
    drop(l);
}

#[test]
fn live_llm_refuses_a_bad_temperature_before_connecting() {
    let (_tmp, store) = setup();
    let (l, base) = untouched();
    let mut a = live_llm(&store, &base, None, 2_000);
    let mut i = llm_intent(&store, "m", "hi");
    let mut p = i.params_value().unwrap();
    if let Value::Map(m) = &mut p {
        for (k, v) in m.iter_mut() {
            if k.as_text() == Some("temperature") {
                *v = Value::text("warm");
            }
        }
    }
    i.params = crate::cbor::encode(&p);
    let (status, text, ..) = llm_parts(&store, a.execute(&i));
    assert_eq!(status, ReceiptStatus::Error);
    assert!(text.contains("temperature `warm`"), "{text}");
    assert_no_connection(&l);
}

#[test]
fn live_llm_never_contacts_a_host_its_grant_does_not_allow() {
    let (_tmp, store) = setup();
    let (l, base) = untouched();
    let env = [("AOS_TEST_KEY", "sk-secret")];
    let key = Some("AOS_TEST_KEY");
    let cases = [
        (llm_grant(&["api.example.com"], key), "llm", "not among"),
        (llm_grant(&[], key), "llm", "not among"),
        // The intent's grant is not an llm grant the config knows.
        (
            llm_grant(&["127.0.0.1"], key),
            "other",
            "grant `other` allows no hosts",
        ),
    ];
    for (grants, grant, needle) in cases {
        let (mut a, read) = live_llm_env(&store, &base, grants, &env, 2_000);
        let mut i = llm_intent(&store, "m", "hi");
        i.grant = grant.into();
        let (status, text, ..) = llm_parts(&store, a.execute(&i));
        assert_eq!(status, ReceiptStatus::Error, "{text}");
        assert!(
            text.contains(needle) && text.contains("nothing was sent"),
            "{text}"
        );
        assert!(
            read.lock().unwrap().is_empty(),
            "no key variable is read for a refused host"
        );
    }
    assert_no_connection(&l);
}

#[test]
fn live_llm_reads_and_sends_only_the_key_its_grant_names() {
    let (_tmp, store) = setup();
    let env = [
        ("AOS_GRANTED_KEY", "sk-granted"),
        ("AOS_OTHER_KEY", "sk-other"),
    ];
    let (base, server) = serve_once(json_response(
        "200 OK",
        r#"{"choices":[{"message":{"content":"ok"}}]}"#,
    ));
    let grants = llm_grant(&["127.0.0.1"], Some("AOS_GRANTED_KEY"));
    let (mut a, read) = live_llm_env(&store, &base, grants, &env, 5_000);
    let (status, text, ..) = llm_parts(&store, a.execute(&llm_intent(&store, "m", "hi")));
    let seen = server.join().unwrap();
    assert_eq!(status, ReceiptStatus::Ok, "{text}");
    let head = seen.head.to_ascii_lowercase();
    assert!(head.contains("authorization: bearer sk-granted"), "{head}");
    assert!(!head.contains("sk-other"), "{head}");
    assert_eq!(*read.lock().unwrap(), ["AOS_GRANTED_KEY"]);

    // A grant naming no variable sends no key and reads none.
    let (base, server) = serve_once(json_response(
        "200 OK",
        r#"{"choices":[{"message":{"content":"ok"}}]}"#,
    ));
    let (mut a, read) = live_llm_env(&store, &base, llm_grant(&["127.0.0.1"], None), &env, 5_000);
    let (status, ..) = llm_parts(&store, a.execute(&llm_intent(&store, "m", "hi")));
    let seen = server.join().unwrap();
    assert_eq!(status, ReceiptStatus::Ok);
    assert!(!seen.head.to_ascii_lowercase().contains("authorization"));
    assert!(read.lock().unwrap().is_empty());
}

#[test]
fn live_llm_refuses_when_the_grants_key_variable_is_unset() {
    let (_tmp, store) = setup();
    let (l, base) = untouched();
    let grants = llm_grant(&["127.0.0.1"], Some("AOS_UNSET_KEY"));
    let (mut a, read) = live_llm_env(&store, &base, grants, &[("AOS_OTHER_KEY", "sk")], 2_000);
    let (status, text, ..) = llm_parts(&store, a.execute(&llm_intent(&store, "m", "hi")));
    assert_eq!(status, ReceiptStatus::Error);
    assert!(
        text.contains("grant `llm` names the API key variable `AOS_UNSET_KEY`, which is not set")
            && text.contains("nothing was sent"),
        "{text}"
    );
    assert_eq!(*read.lock().unwrap(), ["AOS_UNSET_KEY"]);
    assert_no_connection(&l);
}

// ---- through the dispatcher ----

#[test]
fn dispatcher_signs_http_and_llm_receipts() {
    let (tmp, store) = setup();
    let keys = tmp.path().join("keys");
    let mut d = Dispatcher::new(crate::effects::Keyring::open(&keys, &[]).unwrap());
    let http = HttpFixtures::new(vec![HttpFixture {
        method: "GET".into(),
        url: "https://a.io/x".into(),
        status: 200,
        headers: BTreeMap::new(),
        body: "b".into(),
    }]);
    d.add(Box::new(HttpAdapter::mock(http, store.clone())))
        .unwrap();
    let llm = LlmFixtures::new(vec![LlmFixture {
        model: "m".into(),
        input_contains: None,
        output: "o".into(),
        prompt_tokens: 1,
        completion_tokens: 2,
        cost_cents: 7,
    }]);
    d.add(Box::new(LlmAdapter::mock(llm, store.clone())))
        .unwrap();
    let trusted = TrustedKeys::load(&keys).unwrap();

    let h = http_intent("GET", "https://a.io/x", &[], None);
    let r = d.dispatch(&h).unwrap().expect("http answers at once");
    assert_eq!(
        (r.adapter_id.as_str(), r.status),
        ("http", ReceiptStatus::Ok)
    );
    assert_eq!(r.verify_trusted(&trusted, &h.intent_hash()), Ok(()));

    let g = llm_intent(&store, "m", "hi");
    let r = d.dispatch(&g).unwrap().expect("llm answers at once");
    assert_eq!((r.adapter_id.as_str(), r.cost_cents), ("llm", 7));
    assert_eq!(r.verify_trusted(&trusted, &g.intent_hash()), Ok(()));
    // A receipt checked against another intent does not verify.
    assert!(r.verify_trusted(&trusted, &h.intent_hash()).is_err());
}
