//! Builder tests. The counter is built for real (slow only the first time:
//! the reducers workspace keeps its target dir).

use super::testing::{built, reducers_dir};
use super::*;
use crate::cbor;
use crate::value::Value;
use crate::wasm::{self, CallError, ReducerInstance, Runtime, RuntimeConfig};

fn collect(req: &BuildRequest) -> (Result<BuiltModule, BuildError>, Vec<BuildProgress>) {
    let mut seen = Vec::new();
    let r = build_reducer(req, &mut |p| seen.push(p));
    (r, seen)
}

#[test]
fn counter_builds_caches_and_rebuilds_to_the_same_bytes() {
    let cache = tempfile::tempdir().unwrap();
    let mut req = BuildRequest::new(reducers_dir().join("counter"), cache.path());
    let (first, seen) = collect(&req);
    let first = first.unwrap();
    assert!(!first.from_cache);
    assert!(first.wasm.starts_with(b"\0asm"));
    assert_eq!(first.wasm_hash, Hash::of(&first.wasm));
    assert!(matches!(&seen[0], BuildProgress::Started { crate_name } if crate_name == "counter"));
    assert!(matches!(seen.last(), Some(BuildProgress::Finished { .. })));
    assert!(seen
        .iter()
        .any(|p| matches!(p, BuildProgress::Compiling { unit, .. } if unit == "counter")));
    assert!(
        first.wasm.len() < 150 * 1024,
        "counter.wasm grew to {} bytes",
        first.wasm.len()
    );

    // A warm build never runs cargo.
    req.cargo = Some("/nonexistent/cargo".into());
    let (second, seen) = collect(&req);
    let second = second.unwrap();
    assert!(second.from_cache);
    assert_eq!(second.wasm_hash, first.wasm_hash);
    assert_eq!(second.fingerprint, first.fingerprint);
    assert_eq!(
        seen,
        [BuildProgress::CacheHit {
            fingerprint: first.fingerprint
        }]
    );

    // --force skips the cache, so the bogus cargo is run and named.
    req.force = true;
    let err = build_reducer(&req, &mut |_| {}).unwrap_err();
    assert!(
        matches!(&err, BuildError::Spawn { program, .. } if program == "/nonexistent/cargo"),
        "{err}"
    );

    // A forced real rebuild gives the same bytes.
    req.cargo = None;
    let third = build_reducer(&req, &mut |_| {}).unwrap();
    assert!(!third.from_cache);
    assert_eq!(third.wasm_hash, first.wasm_hash);
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// A dependency-free crate (fast to build, own target dir).
fn temp_crate(lib_rs: &str, cdylib: bool) -> tempfile::TempDir {
    let t = tempfile::tempdir().unwrap();
    let crate_type = if cdylib {
        "[lib]\ncrate-type = [\"cdylib\"]\n"
    } else {
        ""
    };
    write(
        &t.path().join("Cargo.toml"),
        &format!("[package]\nname = \"scratch\"\nversion = \"0.1.0\"\nedition = \"2021\"\n{crate_type}\n[workspace]\n"),
    );
    write(&t.path().join("src/lib.rs"), lib_rs);
    t
}

#[test]
fn a_compile_error_names_file_and_line() {
    let t = temp_crate("pub fn f() -> u32 {\n    \"not a number\"\n}\n", true);
    let cache = tempfile::tempdir().unwrap();
    let err = build_reducer(&BuildRequest::new(t.path(), cache.path()), &mut |_| {}).unwrap_err();
    let BuildError::Compile {
        crate_name,
        messages,
    } = &err
    else {
        panic!("expected a compile error, got {err}");
    };
    assert_eq!(crate_name, "scratch");
    let e = messages
        .iter()
        .find(|m| m.level == "error")
        .expect("an error message");
    assert!(e.file.as_ref().unwrap().ends_with("src/lib.rs"), "{e:?}");
    assert_eq!(e.line, Some(2));
    assert_eq!(e.column, Some(5));
    assert!(err.to_string().contains("mismatched types"), "{err}");
}

#[test]
fn a_crate_without_cdylib_has_no_artifact_and_says_how_to_fix_it() {
    let t = temp_crate("pub fn f() -> u32 { 1 }\n", false);
    let cache = tempfile::tempdir().unwrap();
    let err = build_reducer(&BuildRequest::new(t.path(), cache.path()), &mut |_| {}).unwrap_err();
    assert!(matches!(err, BuildError::NoArtifact { .. }), "{err}");
    assert!(err.to_string().contains("crate-type"), "{err}");
}

#[test]
fn a_wasm_file_is_taken_as_is_without_cargo() {
    let t = tempfile::tempdir().unwrap();
    let wasm = crate::wasm::tests::module("i64.const 0", r#"(import "env" "foo" (func))"#);
    let path = t.path().join("imports.wasm");
    std::fs::write(&path, &wasm).unwrap();
    let mut req = BuildRequest::new(&path, t.path().join("cache"));
    req.cargo = Some("/nonexistent/cargo".into());
    let m = build_reducer(&req, &mut |_| {}).unwrap();
    assert_eq!(m.wasm, wasm);
    assert_eq!(m.fingerprint, m.wasm_hash);
    // ... and the runtime then refuses it, naming the import.
    let rt = Runtime::new(RuntimeConfig::default()).unwrap();
    let err = rt.load(&m.wasm, m.wasm_hash).unwrap_err();
    assert!(err.to_string().contains("imports env.foo"), "{err}");
}

#[test]
fn bad_sources_are_named() {
    let t = tempfile::tempdir().unwrap();
    let cases = [
        (t.path().join("missing"), "cannot read the reducer source"),
        (t.path().to_path_buf(), "no Cargo.toml"),
        (
            t.path().join("notes.txt"),
            "expected a crate directory or a .wasm file",
        ),
    ];
    std::fs::write(t.path().join("notes.txt"), "hi").unwrap();
    for (path, why) in cases {
        let err = build_reducer(&BuildRequest::new(&path, t.path()), &mut |_| {}).unwrap_err();
        assert!(
            matches!(&err, BuildError::BadSource { path: p, .. } if *p == path),
            "{err}"
        );
        assert!(err.to_string().contains(why), "{err}");
    }
}

#[test]
fn source_dirs_of_a_reducer_include_the_sdk() {
    let dir = reducers_dir();
    let dirs = source_dirs(&dir.join("counter")).unwrap();
    assert_eq!(dirs, [dir.join("counter"), dir.join("sdk")]);
    let t = tempfile::tempdir().unwrap();
    let wasm = t.path().join("m.wasm");
    std::fs::write(&wasm, b"\0asm").unwrap();
    let canonical = wasm.canonicalize().unwrap();
    assert_eq!(source_dirs(&wasm).unwrap(), [canonical]);
    let err = source_dirs(&t.path().join("missing")).unwrap_err();
    assert!(
        err.to_string().contains("cannot resolve") && err.to_string().contains("missing"),
        "{err}"
    );
    std::fs::write(t.path().join("Cargo.toml"), "[workspace]\n").unwrap();
    let err = source_dirs(t.path()).unwrap_err();
    assert!(err.to_string().contains("no [package] name"), "{err}");
}

#[cfg(unix)]
mod fake_tools {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    const MISSING: &str = r#"printf '%s\n' '{"reason":"compiler-message","message":{"level":"error","message":"cannot find crate for `core`","rendered":"error[E0463]: can'"'"'t find crate for `core`\n  = note: the `wasm32-unknown-unknown` target may not be installed\n","spans":[]}}'
exit 101"#;

    fn request(t: &tempfile::TempDir, cargo: PathBuf, rustup: PathBuf) -> BuildRequest {
        let krate = temp_crate("", true);
        let dir = t.path().join("crate");
        std::fs::rename(krate.path(), &dir).unwrap();
        let mut req = BuildRequest::new(&dir, t.path().join("cache"));
        req.cargo = Some(cargo);
        req.rustup = Some(rustup);
        req
    }

    #[test]
    fn a_missing_target_that_rustup_cannot_add_names_the_command() {
        let t = tempfile::tempdir().unwrap();
        let cargo = script(t.path(), "cargo", MISSING);
        let rustup = script(t.path(), "rustup", "echo 'error: no network' >&2\nexit 1");
        let req = request(&t, cargo, rustup);
        let (r, seen) = collect(&req);
        let err = r.unwrap_err();
        assert!(matches!(err, BuildError::TargetMissing { .. }), "{err}");
        let msg = err.to_string();
        assert!(
            msg.contains("run `rustup target add wasm32-unknown-unknown` yourself"),
            "{msg}"
        );
        assert!(msg.contains("no network"), "{msg}");
        assert!(seen.contains(&BuildProgress::InstallingTarget {
            command: "rustup target add wasm32-unknown-unknown".into()
        }));
    }

    #[test]
    fn a_missing_target_is_added_and_the_build_retried() {
        let t = tempfile::tempdir().unwrap();
        let wasm_file = t.path().join("out.wasm");
        std::fs::write(&wasm_file, b"\0asm\x01\0\0\0").unwrap();
        let marker = t.path().join("installed");
        let artifact = format!(
            r#"{{"reason":"compiler-artifact","target":{{"name":"scratch","kind":["cdylib"]}},"filenames":["{}"]}}"#,
            wasm_file.display()
        );
        let cargo = script(
            t.path(),
            "cargo",
            &format!(
                "if [ -e {m} ]; then printf '%s\\n' '{artifact}'; exit 0; fi\n{MISSING}",
                m = marker.display()
            ),
        );
        let rustup = script(
            t.path(),
            "rustup",
            &format!("touch {}\necho installed", marker.display()),
        );
        let req = request(&t, cargo, rustup);
        let (r, seen) = collect(&req);
        let m = r.unwrap();
        assert_eq!(m.wasm, b"\0asm\x01\0\0\0");
        assert!(seen.iter().any(|p| matches!(p, BuildProgress::TargetInstalled { output, .. } if output.contains("installed"))));
    }

    #[test]
    fn cargo_failing_without_diagnostics_reports_its_stderr() {
        let t = tempfile::tempdir().unwrap();
        let cargo = script(
            t.path(),
            "cargo",
            "echo 'error: failed to parse lock file' >&2\nexit 101",
        );
        let req = request(&t, cargo, "/nonexistent/rustup".into());
        let err = build_reducer(&req, &mut |_| {}).unwrap_err();
        let BuildError::Cargo {
            command, stderr, ..
        } = &err
        else {
            panic!("expected a cargo error, got {err}");
        };
        assert!(
            command.contains("build --release --target wasm32-unknown-unknown"),
            "{command}"
        );
        assert!(stderr.contains("failed to parse lock file"));
    }
}

// ---- the built counter and faulty reducers in the runtime ----

fn item(v: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    cbor::encode_item(v, &mut out);
    out
}

fn text(s: &str) -> Value {
    Value::text(s)
}

fn start(target: u64) -> Vec<u8> {
    cbor::encode(&Value::record([(
        "Start",
        Value::record([("target", Value::Int(target as i128))]),
    )]))
}

fn tick() -> Vec<u8> {
    cbor::encode(&text("Tick"))
}

fn counter_instance(config: RuntimeConfig) -> ReducerInstance {
    let m = built("counter");
    let rt = Runtime::new(config).unwrap();
    let (module, _) = rt.load(&m.wasm, m.wasm_hash).unwrap();
    rt.instantiate(&module).unwrap()
}

/// One step through the ABI; returns the new state's CBOR.
fn step(
    inst: &mut ReducerInstance,
    state: Option<&[u8]>,
    schema: &str,
    event: &[u8],
) -> Result<wasm::StepOutput, CallError> {
    let mut input = Vec::new();
    wasm::encode_input(&mut input, state, schema, event, None, 0);
    let mut out = Vec::new();
    inst.call(&input, &mut out)?;
    wasm::decode_output(&out)
}

#[test]
fn the_counter_counts_to_done_through_the_abi() {
    let mut inst = counter_instance(RuntimeConfig::default());
    // The SDK exports the one-call ABI (ARCHITECTURE.md "Reducers: ABI").
    assert!(inst.has_one_call());
    let mut state = step(&mut inst, None, "counter/Event@1", &start(3))
        .unwrap()
        .state;
    for _ in 0..3 {
        state = step(&mut inst, state.as_deref(), "counter/Event@1", &tick())
            .unwrap()
            .state;
    }
    let got = cbor::decode(&state.unwrap()).unwrap();
    let want = Value::record([("pc", text("Done")), ("remaining", Value::Int(0))]);
    assert_eq!(cbor::encode(&got), cbor::encode(&want));
}

#[test]
fn guest_memory_stays_flat_over_many_steps() {
    let mut inst = counter_instance(RuntimeConfig::default());
    let mut input = Vec::new();
    let mut out = Vec::new();
    let mut state: Option<Vec<u8>> = None;
    let mut baseline = 0;
    for i in 0..100_000u32 {
        let event = if i % 50 == 0 { start(40) } else { tick() };
        wasm::encode_input(
            &mut input,
            state.as_deref(),
            "counter/Event@1",
            &event,
            None,
            i as u64,
        );
        inst.call(&input, &mut out).unwrap();
        state = wasm::decode_output(&out).unwrap().state;
        if i == 10 {
            baseline = inst.memory_size();
        }
    }
    assert_eq!(inst.memory_size(), baseline);
}

fn faulty(config: RuntimeConfig) -> ReducerInstance {
    let m = built("faulty");
    let rt = Runtime::new(config).unwrap();
    let (module, _) = rt.load(&m.wasm, m.wasm_hash).unwrap();
    rt.instantiate(&module).unwrap()
}

fn faulty_step(inst: &mut ReducerInstance, event: &Value) -> Result<wasm::StepOutput, CallError> {
    step(inst, None, "test/FaultyInput@1", &cbor::encode(event))
}

#[test]
fn the_faulty_reducer_fails_in_every_advertised_way() {
    let config = RuntimeConfig {
        fuel_per_call: 5_000_000,
        memory_limit_bytes: 16 << 20,
        ..RuntimeConfig::default()
    };
    let mut inst = faulty(config.clone());
    let out = faulty_step(&mut inst, &text("Ok")).unwrap();
    assert_eq!(
        cbor::decode(&out.state.unwrap()).unwrap(),
        Value::record([("count", Value::Int(1))])
    );

    let out = faulty_step(
        &mut inst,
        &Value::record([("Emit", Value::record([("n", Value::Int(3))]))]),
    )
    .unwrap();
    assert_eq!(out.domain_events.len(), 3);
    assert!(out
        .domain_events
        .iter()
        .all(|e| e.schema == "test/FaultyEvent@1" && e.value == item(&text("Ok"))));

    let out = faulty_step(&mut inst, &text("BadState")).unwrap();
    assert_eq!(
        cbor::decode(&out.state.unwrap()).unwrap(),
        Value::record([("count", text("not a number"))])
    );

    let err = faulty_step(&mut inst, &text("Refuse")).unwrap_err();
    assert_eq!(
        err,
        CallError::ReducerError("faulty reducer refuses this event".into())
    );
    let err = faulty_step(&mut inst, &text("NoSuchVariant")).unwrap_err();
    assert!(
        matches!(&err, CallError::ReducerError(m) if m.starts_with("cannot decode event `test/FaultyInput@1`")),
        "{err}"
    );
    assert!(!inst.is_poisoned(), "reducer errors do not poison");

    let err = faulty_step(&mut inst, &text("Trap")).unwrap_err();
    assert!(
        matches!(&err, CallError::Trap(m) if m.contains("unreachable")),
        "{err}"
    );
    assert!(inst.is_poisoned());

    let mut inst = faulty(config.clone());
    assert_eq!(
        faulty_step(&mut inst, &text("Loop")).unwrap_err(),
        CallError::OutOfFuel { fuel: 5_000_000 }
    );

    let mut inst = faulty(config);
    assert_eq!(
        faulty_step(&mut inst, &text("Alloc")).unwrap_err(),
        CallError::MemoryLimit { limit: 16 << 20 }
    );
}

/// Per-call cost of a counter Tick on a reused instance:
/// `cargo test -p aos-engine --release --lib tick_step_cost -- --ignored --nocapture`
#[test]
#[ignore]
fn tick_step_cost() {
    let mut inst = counter_instance(RuntimeConfig::default());
    let state = cbor::encode(&Value::record([
        ("pc", text("Counting")),
        ("remaining", Value::Int(1 << 40)),
    ]));
    let mut input = Vec::new();
    wasm::encode_input(
        &mut input,
        Some(&state),
        "counter/Event@1",
        &tick(),
        None,
        0,
    );
    let mut out = Vec::new();
    for _ in 0..10_000 {
        inst.call(&input, &mut out).unwrap();
    }
    let n = 1_000_000;
    let t = Instant::now();
    for _ in 0..n {
        inst.call(&input, &mut out).unwrap();
    }
    let per = t.elapsed().as_nanos() as f64 / n as f64;
    println!(
        "counter Tick: {per:.0} ns per call, {} fuel, module {} bytes, memory {} bytes, input {} bytes",
        inst.last_fuel_used(),
        built("counter").wasm.len(),
        inst.memory_size(),
        input.len()
    );
}
