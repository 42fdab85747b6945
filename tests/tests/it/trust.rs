//! Trust boundaries (ARCHITECTURE.md "Build trust", "Adapters and
//! fixtures"): commands that read history never build; a reducer source
//! outside the world's project tree builds only when the user trusts it
//! (flag or record); live llm requests reach only the hosts the grant
//! allows, with only the key variable the grant names.

use crate::support::*;
use std::path::{Path, PathBuf};

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, text).expect("write");
}

fn reducers() -> PathBuf {
    repo_root()
        .join("reducers")
        .canonicalize()
        .expect("reducers/")
}

/// Points the faulty world's module at `source`.
fn set_source(world: &Path, source: &str) {
    let module = format!(
        r#"{{"$kind": "defmodule", "name": "test/Faulty@1", "module_kind": "reducer",
            "source": "{source}",
            "abi": {{"reducer": {{"state": "test/FaultyState@1", "event": "test/FaultyInput@1"}}}}}}"#
    );
    write(&world.join("air/module.air.json"), &module);
}

/// A crate whose build script writes `<crate>/../build-script-ran`: the
/// sign that something built it.
fn marker_crate(dir: &Path) {
    write(
        &dir.join("Cargo.toml"),
        "[package]\nname = \"marker\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
         [lib]\ncrate-type = [\"cdylib\"]\n\n[workspace]\n",
    );
    write(
        &dir.join("build.rs"),
        "fn main() {\n    let dir = std::env::var(\"CARGO_MANIFEST_DIR\").unwrap();\n    \
         std::fs::write(std::path::Path::new(&dir).join(\"../build-script-ran\"), \"ran\").unwrap();\n}\n",
    );
    write(&dir.join("src/lib.rs"), "");
}

const EVENTS: &str = r#"[{"schema": "test/FaultyInput@1", "value": "Ok"},
                          {"schema": "test/FaultyInput@1", "value": "Ok"}]"#;

#[test]
fn history_commands_never_build_and_take_the_code_from_the_store() {
    let world = faulty_world(EVENTS);
    let w = path_str(world.path());
    marker_crate(&world.path().join("marker"));
    let marker = world.path().join("build-script-ran");
    set_source(world.path(), "marker");
    let shared = shared_cache();
    let readers: [&[&str]; 3] = [
        &["journal", w, "--json"],
        &["state", w, "--json"],
        &["check", w, "--lock", "--json"],
    ];

    // Nothing built yet: each says how to build, and runs nothing.
    for args in readers {
        let r = aos(args);
        assert_eq!(r.code, 1, "{args:?}: {r:?}");
        assert!(
            r.stderr.contains(&format!(
                "reducer test/Faulty@1: has not been built into this world's store, and this \
                 command never builds: run `aos build {w}` (or `aos run`) first"
            )),
            "{args:?}: {r:?}"
        );
    }
    let r = aos(&["check", w]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(!marker.exists(), "nothing ran the crate's build script");

    // Run the world on the (trusted) faulty reducer, then point the module
    // back at the marker crate.
    set_source(world.path(), path_str(&reducers().join("faulty")));
    let build = ["build", w, "--cache-dir", path_str(&shared)];
    let r = aos(&["run", w, "--until-idle", "--cache-dir", path_str(&shared)]);
    assert_eq!(r.code, 0, "{r:?}");

    // A damaged last-build record, then a wasm missing from the store: each
    // is named, with the command that mends it.
    let record = world.path().join(".aos/last-build.json");
    let good = std::fs::read_to_string(&record).expect("last-build record");
    std::fs::write(&record, "not json").expect("damage");
    let r = aos(&["journal", w]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr
            .contains("last-build.json is not a last-build record")
            && r.stderr
                .contains(&format!("`aos build {w}` writes it again")),
        "{r:?}"
    );
    assert_eq!(aos(&build).code, 0);
    assert_eq!(std::fs::read_to_string(&record).expect("rewritten"), good);
    let json: serde_json::Value = serde_json::from_str(&good).expect("record JSON");
    let wasm = json["modules"]["test/Faulty@1"].as_str().expect("hash");
    let hex = wasm.trim_start_matches("sha256:");
    let object = world
        .path()
        .join(".aos/store")
        .join(&hex[..2])
        .join(&hex[2..]);
    std::fs::remove_file(&object).expect("remove the wasm from the store");
    let r = aos(&["state", w, "--json"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains(&format!(
            "reducer test/Faulty@1: its wasm {wasm} (its last build) is not in the store, and this \
             command never builds: run `aos build {w}` (or `aos run`) first"
        )),
        "{r:?}"
    );
    assert_eq!(aos(&build).code, 0);
    set_source(world.path(), "marker");

    let r = aos(&["journal", w, "--json"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.json()["entries"].as_array().expect("entries").len() > 3);
    let r = aos(&["state", w, "--json"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(r.json()["reducers"][0]["state"]["count"], 2, "{r:?}");
    let r = aos(&["check", w, "--lock", "--json"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(r.json()["ok"], true);
    assert!(!marker.exists(), "reading history never builds");

    // Building is what runs the crate's build script.
    let r = aos(&["build", w]);
    assert!(
        marker.exists(),
        "`aos build` builds the marker crate: {r:?}"
    );
}

/// A copy of 00-counter with a `.git` of its own, so its project tree is
/// the copy and the repo's `reducers/` lies outside it.
fn counter_outside_its_reducers() -> tempfile::TempDir {
    let world = copy_world("00-counter");
    std::fs::create_dir(world.path().join(".git")).expect("mkdir .git");
    world
}

#[test]
fn sources_outside_the_project_are_refused_until_trusted() {
    let world = counter_outside_its_reducers();
    let w = path_str(world.path());
    let root = world.path().canonicalize().expect("canonical world");
    let config = tempfile::tempdir().expect("tempdir");
    let env = [("AOS_CONFIG_DIR", path_str(config.path()))];
    let shared = shared_cache();
    let cache = path_str(&shared);
    let counter = reducers().join("counter");

    let r = aos_env(&["build", w, "--cache-dir", cache], &env);
    assert_eq!(r.code, 1, "{r:?}");
    for needle in [
        format!(
            "building reducer demo/Counter@1: its source {} is outside the world's project tree {}",
            counter.display(),
            root.display()
        ),
        "runs the crate's build scripts and procedural macros natively on this machine".into(),
        format!("--trust-source {}", counter.display()),
        format!("aos trust {}", counter.display()),
    ] {
        assert!(r.stderr.contains(&needle), "{needle}: {r:?}");
    }
    // The inspector refuses it the same way (wide, so the line does not wrap).
    let h = aos_env(
        &[
            "headless",
            w,
            "--keys",
            "n",
            "--size",
            "220x30",
            "--cache-dir",
            cache,
        ],
        &env,
    );
    assert!(
        h.stdout
            .contains("building reducer demo/Counter@1: its source")
            && h.stdout.contains("is outside the world's project tree"),
        "{h:?}"
    );

    // Trusted by flag: the crate and its path dependency (the sdk) build.
    let reducers = reducers();
    let flag = ["--trust-source", path_str(&reducers)];
    let r = aos_env(&["build", w, "--cache-dir", cache, flag[0], flag[1]], &env);
    assert_eq!(r.code, 0, "{r:?}");
    let h = aos_env(
        &[
            "headless",
            w,
            "--keys",
            "n",
            "--cache-dir",
            cache,
            "--expect",
            "remaining",
            flag[0],
            flag[1],
        ],
        &env,
    );
    assert_eq!(h.code, 0, "{h:?}");
    // Trusting the crate alone leaves its sdk dependency outside.
    let r = aos_env(
        &[
            "build",
            w,
            "--cache-dir",
            cache,
            "--trust-source",
            path_str(&counter),
        ],
        &env,
    );
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains(&format!(
            "{}, a path dependency of its source {},",
            reducers.join("sdk").display(),
            counter.display()
        )),
        "{r:?}"
    );

    // Trusted by the record `aos trust` writes.
    let r = aos_env(&["trust", path_str(&reducers)], &env);
    assert_eq!(r.code, 0, "{r:?}");
    let record = std::fs::read_to_string(config.path().join("trusted-sources")).expect("record");
    assert!(
        record.lines().any(|l| l == reducers.display().to_string()),
        "{record}"
    );
    let r = aos_env(&["trust"], &env);
    assert!(r.stdout.contains(&reducers.display().to_string()), "{r:?}");
    let r = aos_env(&["run", w, "--until-idle", "--cache-dir", cache], &env);
    assert_eq!(r.code, 0, "{r:?}");

    let r = aos_env(&["trust", "/no/such/aos/folder"], &env);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr.contains("cannot trust /no/such/aos/folder"),
        "{r:?}"
    );
    let nowhere = [
        ("AOS_CONFIG_DIR", ""),
        ("XDG_CONFIG_HOME", ""),
        ("HOME", ""),
    ];
    let r = aos_env(&["trust", path_str(&reducers)], &nowhere);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("cannot find a config dir"), "{r:?}");
    for args in [
        &["build", w, "--trust-source", "/no/such/aos/folder"][..],
        &[
            "headless",
            w,
            "--keys",
            "n",
            "--trust-source",
            "/no/such/aos/folder",
        ],
    ] {
        let r = aos_env(args, &env);
        assert_eq!(r.code, 2, "{args:?}: {r:?}");
        assert!(
            r.stderr
                .contains("--trust-source /no/such/aos/folder: cannot resolve it"),
            "{args:?}: {r:?}"
        );
    }
}

#[test]
fn a_source_escaping_with_dot_dot_is_refused() {
    let top = tempfile::tempdir().expect("tempdir");
    let world = top.path().join("a/b/world");
    for (rel, text) in [
        ("air/schemas.air.json", FAULTY_SCHEMAS),
        ("air/manifest.air.json", FAULTY_MANIFEST),
        (".git/HEAD", ""),
    ] {
        write(&world.join(rel), text);
    }
    marker_crate(&top.path().join("crate"));
    set_source(&world, "../../../crate");
    let w = path_str(&world);
    let r = aos(&["run", w, "--cache-dir", path_str(&shared_cache())]);
    assert_eq!(r.code, 1, "{r:?}");
    let canonical = |p: &Path| p.canonicalize().expect("canonical");
    assert!(
        r.stderr.contains(&format!(
            "building reducer test/Faulty@1: its source {} is outside the world's project tree {}",
            canonical(&top.path().join("crate")).display(),
            canonical(&world).display()
        )),
        "{r:?}"
    );
    assert!(
        !top.path().join("build-script-ran").exists(),
        "the refused crate was not built"
    );
}

// ---- live llm egress ----

/// A plan-only world whose plan asks the llm once under grant `llm`, which
/// allows `hosts` and names the key variable `AOS_IT_GRANTED_KEY`.
fn llm_world(base: &str, hosts: &str) -> tempfile::TempDir {
    let manifest = format!(
        r#"{{"$kind": "manifest", "schemas": [{{"name": "demo/Ask@1"}}], "modules": [],
            "plans": [{{"name": "demo/ask@1"}}], "caps": [{{"name": "demo/llm@1"}}],
            "policies": [{{"name": "demo/policy@1"}}], "routing": {{"events": []}}, "triggers": [],
            "defaults": {{"policy": "demo/policy@1", "cap_grants": [{{"name": "llm", "cap": "demo/llm@1",
              "params": {{"hosts": {hosts}, "api_key_env": "AOS_IT_GRANTED_KEY"}}}}]}}}}"#
    );
    temp_world(&[
        (
            "air/schemas.air.json",
            r#"[{"$kind": "defschema", "name": "demo/Ask@1", "type": {"record": {"prompt": {"hash": {}}}}}]"#,
        ),
        (
            "air/caps.air.json",
            r#"[{"$kind": "defcap", "name": "demo/llm@1", "cap_type": "llm.basic",
                 "schema": {"record": {"hosts": {"set": {"text": {}}}, "api_key_env": {"text": {}}}}},
                {"$kind": "defpolicy", "name": "demo/policy@1", "rules": [
                 {"when": {"effect_kind": "llm.generate", "origin_kind": "plan"}, "decision": "allow"},
                 {"when": {}, "decision": "deny"}]}]"#,
        ),
        ("air/manifest.air.json", &manifest),
        (
            "plans/ask.air.json",
            r#"{"$kind": "defplan", "name": "demo/ask@1", "input": "demo/Ask@1",
                "steps": [
                  {"id": "ask", "op": "emit_effect", "kind": "llm.generate", "cap": "llm",
                   "params": {"record": {"provider": {"text": "openai"}, "model": {"text": "m"},
                     "temperature": {"dec128": "0"}, "max_tokens": {"nat": 8},
                     "input_ref": {"ref": "@plan.input.prompt"}, "tools": {"option": null}}},
                   "bind": {"effect_id_as": "h"}},
                  {"id": "wait", "op": "await_receipt", "for": {"ref": "@var:h"}, "bind": {"as": "r"}},
                  {"id": "done", "op": "end"}],
                "edges": [{"from": "ask", "to": "wait"}, {"from": "wait", "to": "done"}],
                "required_caps": ["llm"], "allowed_effects": ["llm.generate"]}"#,
        ),
        (
            "llm.config.json",
            &format!(r#"{{"base_url": "{base}/v1"}}"#),
        ),
    ])
}

/// `aos run WORLD --live` starting the ask plan on a stored prompt, with
/// the granted and another key in the environment; the run and the plan's
/// status.
fn run_live(world: &tempfile::TempDir) -> (Run, String) {
    let data = world.path().join(".aos");
    let store = aos_engine::store::Store::open(&data.join("store")).expect("store");
    let prompt = store.put(b"say hi").expect("put");
    let w = path_str(world.path());
    let start = format!("demo/ask@1={{\"prompt\": \"{prompt}\"}}");
    let env = [
        ("AOS_IT_GRANTED_KEY", "sk-granted"),
        ("AOS_IT_OTHER_KEY", "sk-other"),
    ];
    let run = aos_env(
        &["run", w, "--live", "--start", &start, "--until-idle"],
        &env,
    );
    let state = aos(&["state", w, "--json"]);
    assert_eq!(state.code, 0, "{state:?}");
    let status = state.json()["plans"][0]["status"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    (run, status)
}

#[test]
fn live_llm_reaches_only_granted_hosts_with_only_the_granted_key() {
    let server = Recorder::start();
    let endpoint = format!("{}/v1/chat/completions", server.base);

    let refused = llm_world(&server.base, r#"["api.example.com"]"#);
    let (r, status) = run_live(&refused);
    assert_eq!(r.code, 0, "{r:?}");
    let line = format!(
        "aos: live: no llm grant lists host 127.0.0.1 of {endpoint} in its `hosts`, so every live llm.generate is refused"
    );
    assert_eq!(r.stderr.matches(&line).count(), 1, "said once: {r:?}");
    assert_eq!(status, "failed", "{r:?}");

    let granted = llm_world(&server.base, r#"["127.0.0.1"]"#);
    let (r, status) = run_live(&granted);
    assert_eq!(r.code, 0, "{r:?}");
    let line = format!(
        "aos: live: llm.generate may reach 127.0.0.1 at {endpoint} (grant `llm`), with the API key in $AOS_IT_GRANTED_KEY"
    );
    assert_eq!(r.stderr.matches(&line).count(), 1, "said once: {r:?}");
    assert!(
        r.stderr
            .contains("aos: live: no grant lists hosts, so every live http.request is refused"),
        "{r:?}"
    );
    assert_eq!(status, "completed", "{r:?}");

    let heads = server.stop();
    assert_eq!(heads.len(), 1, "only the granted run connected: {heads:?}");
    assert!(
        heads[0].contains("authorization: bearer sk-granted") && !heads[0].contains("sk-other"),
        "{}",
        heads[0]
    );
}
