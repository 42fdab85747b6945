//! 07-llm-summarizer live (`--live`): against a local OpenAI-compatible
//! server started here, the page is fetched and summarised with the key the
//! grant names; with the endpoint's host missing from the llm grant, the
//! summary request never connects. (Mock mode and the over-budget fixtures
//! are the world's own scenarios, run by `aos test`.)

use crate::support::*;

/// A copy of 07 whose grants allow the local server for http, and `llm_hosts`
/// for the llm; one page to summarise; the endpoint at the local server.
fn live_world(server: &Recorder, llm_hosts: &str) -> tempfile::TempDir {
    let world = copy_world("07-llm-summarizer");
    let manifest = world.path().join("air/manifest.air.json");
    let text = std::fs::read_to_string(&manifest).expect("manifest");
    let text = text
        .replace(r#""hosts": ["example.com"]"#, r#""hosts": ["127.0.0.1"]"#)
        .replace(
            r#""hosts": ["api.openai.com"]"#,
            &format!(r#""hosts": {llm_hosts}"#),
        );
    std::fs::write(&manifest, text).expect("write manifest");
    std::fs::write(
        world.path().join("events.json"),
        format!(
            r#"[{{"schema": "demo/SummarizerEvent@1", "value": {{"Summarize": {{"url": "{}/article.html"}}}}}}]"#,
            server.base
        ),
    )
    .expect("events");
    std::fs::write(
        world.path().join("llm.config.json"),
        format!(r#"{{"base_url": "{}/v1"}}"#, server.base),
    )
    .expect("llm config");
    world
}

fn run_live(world: &tempfile::TempDir) -> serde_json::Value {
    let data = world.path().join("data");
    let reducers = repo_root().join("reducers");
    let cache = shared_cache();
    let common = [
        "--data-dir",
        path_str(&data),
        "--cache-dir",
        path_str(&cache),
        "--trust-source",
        path_str(&reducers),
    ];
    let w = path_str(world.path());
    let run = aos_env(
        &[&["run", w, "--live", "--until-idle"][..], &common].concat(),
        &[("OPENAI_API_KEY", "sk-test-key")],
    );
    assert_eq!(run.code, 0, "{run:?}");
    // `state` never builds, so it takes no --trust-source.
    let state = aos(&[&["state", w, "--json"][..], &common[..4]].concat());
    assert_eq!(state.code, 0, "{state:?}");
    state.json()
}

#[test]
fn live_the_page_is_summarised_by_the_granted_endpoint_with_the_granted_key() {
    let server = Recorder::start();
    let world = live_world(&server, r#"["127.0.0.1"]"#);
    let state = run_live(&world);
    let s = &state["reducers"][0]["state"];
    assert_eq!(
        s["summaries"][0]["url"],
        format!("{}/article.html", server.base),
        "{state}"
    );
    assert_eq!(state["plans"][0]["status"], "completed", "{state}");
    let heads = server.stop();
    assert_eq!(heads.len(), 2, "the page and the completion: {heads:?}");
    assert!(heads[0].starts_with("get /article.html"), "{}", heads[0]);
    assert!(
        heads[1].starts_with("post /v1/chat/completions")
            && heads[1].contains("authorization: bearer sk-test-key"),
        "{}",
        heads[1]
    );
}

#[test]
fn live_an_endpoint_the_llm_grant_does_not_list_is_never_contacted() {
    let server = Recorder::start();
    let world = live_world(&server, r#"["api.openai.com"]"#);
    let state = run_live(&world);
    let s = &state["reducers"][0]["state"];
    assert_eq!(s["summaries"], serde_json::json!([]), "{state}");
    let heads = server.stop();
    assert_eq!(heads.len(), 1, "only the page was fetched: {heads:?}");
    assert!(heads[0].starts_with("get /article.html"), "{}", heads[0]);
}
