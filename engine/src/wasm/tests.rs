//! Runtime tests with hand-written WAT modules.

use super::*;

/// A reducer-shaped module: `aos_alloc` always hands out address 1024,
/// `aos_step` runs `step` (which leaves an i64 on the stack).
pub(crate) fn module(step: &str, extra: &str) -> Vec<u8> {
    wat::parse_str(format!(
        r#"(module
            {extra}
            (memory (export "memory") 1)
            (func (export "aos_alloc") (param i32) (result i32) i32.const 1024)
            (func (export "aos_step") (param $p i32) (param $l i32) (result i64) {step}))"#
    ))
    .expect("test WAT is valid")
}

/// Returns the input unchanged.
const ECHO: &str = "local.get $p i64.extend_i32_u i64.const 32 i64.shl
                    local.get $l i64.extend_i32_u i64.or";

fn small() -> RuntimeConfig {
    RuntimeConfig {
        fuel_per_call: 100_000,
        memory_limit_bytes: 2 << 20,
        ..RuntimeConfig::default()
    }
}

fn instance(wasm: &[u8], config: RuntimeConfig) -> ReducerInstance {
    let rt = Runtime::new(config).unwrap();
    let (m, _) = rt.load(wasm, Hash::of(wasm)).unwrap();
    rt.instantiate(&m).unwrap()
}

fn load_err(wasm: &[u8]) -> WasmError {
    let rt = Runtime::new(small()).unwrap();
    rt.load(wasm, Hash::of(wasm)).unwrap_err()
}

#[test]
fn echo_copies_input_in_and_output_out_reusing_the_instance() {
    let mut inst = instance(&module(ECHO, ""), small());
    let mut out = Vec::new();
    for input in [&b"\xa3abc"[..], b"\xa0", b""] {
        inst.call(input, &mut out).unwrap();
        assert_eq!(out, input);
    }
    assert!(!inst.is_poisoned());
    assert_eq!(inst.memory_size(), 65536);
    assert!(inst.last_fuel_used() > 0);
}

#[test]
fn a_module_with_an_import_is_rejected_naming_it() {
    let wasm = module(ECHO, r#"(import "env" "foo" (func))"#);
    let err = load_err(&wasm);
    assert_eq!(
        err.to_string(),
        "module imports env.foo; reducers may not import anything"
    );
}

#[test]
fn a_missing_export_is_named() {
    let wasm = wat::parse_str(
        r#"(module (memory (export "memory") 1)
            (func (export "aos_alloc") (param i32) (result i32) i32.const 0))"#,
    )
    .unwrap();
    assert!(matches!(
        load_err(&wasm),
        WasmError::MissingExport { name: "aos_step" }
    ));
}

#[test]
fn a_wrong_signature_is_rejected() {
    let wasm = wat::parse_str(
        r#"(module (memory (export "memory") 1)
            (func (export "aos_alloc") (param i32) (result i32) i32.const 0)
            (func (export "aos_step") (param i32 i32) (result i32) i32.const 0))"#,
    )
    .unwrap();
    let err = load_err(&wasm).to_string();
    assert!(err.starts_with("export `aos_step` is a function"), "{err}");
    assert!(
        err.contains("expected a function (i32, i32) -> (i64)"),
        "{err}"
    );
}

#[test]
fn a_wrong_hash_is_refused() {
    let wasm = module(ECHO, "");
    let rt = Runtime::new(small()).unwrap();
    let err = rt.load(&wasm, Hash::ZERO).unwrap_err();
    assert!(matches!(err, WasmError::HashMismatch { .. }), "{err}");
}

#[test]
fn features_outside_the_deterministic_set_are_rejected() {
    // memory64, threads (shared memory) and multi-memory are off.
    for (memory, why) in [
        ("(memory (export \"memory\") i64 1)", "memory64"),
        ("(memory (export \"memory\") 1 1 shared)", "threads"),
        (
            "(memory (export \"memory\") 1) (memory 1)",
            "multiple memories",
        ),
    ] {
        let wasm = wat::parse_str(format!(
            r#"(module {memory}
                (func (export "aos_alloc") (param i32) (result i32) i32.const 0)
                (func (export "aos_step") (param i32 i32) (result i64) i64.const 0))"#
        ))
        .unwrap();
        let err = load_err(&wasm);
        assert!(matches!(err, WasmError::Invalid(_)), "{memory}: {err}");
        assert!(err.to_string().contains(why), "{memory}: {err}");
    }
    // relaxed SIMD is off, plain SIMD is on.
    let relaxed = "(func (param v128) (result v128) local.get 0 local.get 0 f32x4.relaxed_min)";
    assert!(matches!(
        load_err(&module(ECHO, relaxed)),
        WasmError::Invalid(_)
    ));
    let simd = "(func (param v128) (result v128) local.get 0 local.get 0 f32x4.min)";
    let rt = Runtime::new(small()).unwrap();
    let wasm = module(ECHO, simd);
    rt.load(&wasm, Hash::of(&wasm)).unwrap();
}

#[test]
fn a_trap_poisons_the_instance() {
    let mut inst = instance(&module("unreachable", ""), small());
    let mut out = vec![9];
    let err = inst.call(b"x", &mut out).unwrap_err();
    assert!(
        matches!(&err, CallError::Trap(m) if m.contains("unreachable")),
        "{err}"
    );
    assert!(out.is_empty());
    assert!(inst.is_poisoned());
    assert_eq!(inst.call(b"x", &mut out), Err(CallError::Poisoned));
}

#[test]
fn an_endless_loop_runs_out_of_fuel_at_the_same_point_every_time() {
    // Counts iterations at address 0 until the fuel is gone.
    let looping =
        "(loop $l (i32.store (i32.const 0) (i32.add (i32.load (i32.const 0)) (i32.const 1)))
                   (br $l)) unreachable";
    let wasm = module(looping, "");
    let mut counts = Vec::new();
    for _ in 0..2 {
        let mut inst = instance(&wasm, small());
        let err = inst.call(b"", &mut Vec::new()).unwrap_err();
        assert_eq!(err, CallError::OutOfFuel { fuel: 100_000 });
        assert!(inst.is_poisoned());
        counts.push(inst.peek(0, 4));
    }
    assert_eq!(counts[0], counts[1]);
    assert_ne!(counts[0], [0, 0, 0, 0]);
}

#[test]
fn growing_memory_forever_stops_at_the_limit() {
    let grow = "(loop $l (drop (memory.grow (i32.const 1))) (br $l)) unreachable";
    let mut inst = instance(&module(grow, ""), small());
    let err = inst.call(b"", &mut Vec::new()).unwrap_err();
    assert_eq!(err, CallError::MemoryLimit { limit: 2 << 20 });
    assert!(inst.memory_size() <= 2 << 20);
    assert!(inst.is_poisoned());
}

#[test]
fn deep_recursion_is_a_stack_overflow() {
    let rec = "call $rec unreachable";
    let extra = "(func $rec (call $rec))";
    let mut inst = instance(&module(rec, extra), small());
    let err = inst.call(b"", &mut Vec::new()).unwrap_err();
    // Fuel may run out first on tiny frames; give it plenty.
    assert!(
        matches!(err, CallError::StackOverflow),
        "{err} (fuel budget too small for the stack?)"
    );
}

#[test]
fn initial_memory_over_the_limit_fails_instantiation() {
    let wasm = wat::parse_str(
        r#"(module (memory (export "memory") 64)
            (func (export "aos_alloc") (param i32) (result i32) i32.const 0)
            (func (export "aos_step") (param i32 i32) (result i64) i64.const 0))"#,
    )
    .unwrap();
    let rt = Runtime::new(small()).unwrap();
    let (m, _) = rt.load(&wasm, Hash::of(&wasm)).unwrap();
    let err = rt.instantiate(&m).unwrap_err();
    assert!(
        err.to_string().contains("initial memory exceeds the limit"),
        "{err}"
    );
}

#[test]
fn a_result_outside_memory_is_a_bad_result_without_poisoning() {
    let wasm = module("i64.const 0xffff000000000010", "");
    let mut inst = instance(&wasm, small());
    let err = inst.call(b"", &mut Vec::new()).unwrap_err();
    assert!(
        matches!(&err, CallError::BadResult(m) if m.contains("outside guest memory")),
        "{err}"
    );
    assert!(!inst.is_poisoned());

    let bad_alloc = wat::parse_str(
        r#"(module (memory (export "memory") 1)
            (func (export "aos_alloc") (param i32) (result i32) i32.const -8)
            (func (export "aos_step") (param i32 i32) (result i64) i64.const 0))"#,
    )
    .unwrap();
    let mut inst = instance(&bad_alloc, small());
    let err = inst.call(b"abc", &mut Vec::new()).unwrap_err();
    assert!(
        matches!(&err, CallError::BadResult(m) if m.contains("aos_alloc(3)")),
        "{err}"
    );
}

#[test]
fn an_error_document_is_a_reducer_error() {
    // {"error": "nope"} at address 16, 12 bytes.
    let wasm = module(
        "i64.const 0x100000000c",
        r#"(data (i32.const 16) "\a1\65error\64nope")"#,
    );
    let mut inst = instance(&wasm, small());
    let err = inst.call(b"", &mut Vec::new()).unwrap_err();
    assert_eq!(err, CallError::ReducerError("nope".into()));
    assert!(!inst.is_poisoned());
}

#[test]
fn fuel_use_is_deterministic() {
    let wasm = module(ECHO, "");
    let a = {
        let mut i = instance(&wasm, small());
        i.call(b"abc", &mut Vec::new()).unwrap();
        i.last_fuel_used()
    };
    let mut i = instance(&wasm, small());
    i.call(b"abc", &mut Vec::new()).unwrap();
    assert_eq!(i.last_fuel_used(), a);
}

#[test]
fn warm_load_comes_from_the_disk_cache() {
    let dir = tempfile::tempdir().unwrap();
    let config = RuntimeConfig {
        cache_dir: Some(dir.path().to_path_buf()),
        ..small()
    };
    let wasm = module(ECHO, "");
    let hash = Hash::of(&wasm);
    let rt = Runtime::new(config.clone()).unwrap();
    let (_, src) = rt.load(&wasm, hash).unwrap();
    assert_eq!(src, ModuleSource::Compiled { cache_error: None });
    let path = rt.cache_path(&hash).unwrap();
    assert!(path.starts_with(dir.path().join(rt.fingerprint())));
    assert!(path.is_file());

    // A new runtime (a new process, in effect) finds it.
    let rt2 = Runtime::new(config).unwrap();
    assert_eq!(rt2.fingerprint(), rt.fingerprint());
    let (m, src) = rt2.load(&wasm, hash).unwrap();
    assert_eq!(src, ModuleSource::DiskCache);
    let mut out = Vec::new();
    rt2.instantiate(&m).unwrap().call(b"hi", &mut out).unwrap();
    assert_eq!(out, b"hi");
}

#[test]
fn a_corrupt_cache_file_falls_back_to_compiling_and_is_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let config = RuntimeConfig {
        cache_dir: Some(dir.path().to_path_buf()),
        ..small()
    };
    let wasm = module(ECHO, "");
    let hash = Hash::of(&wasm);
    let rt = Runtime::new(config).unwrap();
    let path = rt.cache_path(&hash).unwrap();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, b"definitely not a compiled module").unwrap();
    let (m, src) = rt.load(&wasm, hash).unwrap();
    assert_eq!(src, ModuleSource::Compiled { cache_error: None });
    rt.instantiate(&m)
        .unwrap()
        .call(b"", &mut Vec::new())
        .unwrap();
    assert_eq!(rt.load(&wasm, hash).unwrap().1, ModuleSource::DiskCache);
}

#[test]
fn an_unwritable_cache_is_reported_but_not_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, b"").unwrap();
    let config = RuntimeConfig {
        // A directory cannot be created under a plain file.
        cache_dir: Some(blocker.join("cache")),
        ..small()
    };
    let wasm = module(ECHO, "");
    let rt = Runtime::new(config).unwrap();
    let (_, src) = rt.load(&wasm, Hash::of(&wasm)).unwrap();
    match src {
        ModuleSource::Compiled {
            cache_error: Some(e),
        } => assert!(e.contains("cannot cache"), "{e}"),
        other => panic!("expected a cache error, got {other:?}"),
    }
}

/// Host-side cost of one step with a guest that does nothing (echo):
/// `cargo test -p aos-engine --release --lib echo_call_cost -- --ignored --nocapture`
#[test]
#[ignore]
fn echo_call_cost() {
    let mut inst = instance(&module(ECHO, ""), RuntimeConfig::default());
    let input = vec![0u8; 108];
    let mut out = Vec::new();
    let n = 1_000_000;
    let t = std::time::Instant::now();
    for _ in 0..n {
        inst.call(&input, &mut out).unwrap();
    }
    let per = t.elapsed().as_nanos() as f64 / n as f64;
    println!("echo step: {per:.0} ns per call (108-byte input)");
}

/// A module with the one-call exports: its input buffer is at 2048 and
/// holds 16 bytes; `aos_run` answers `R` followed by the input, `aos_step`
/// echoes (so a test sees which path a step took). `input` is the body of
/// `aos_input`.
fn one_call_module(input: &str) -> Vec<u8> {
    module(
        ECHO,
        &format!(
            r#"(func (export "aos_input") (result i64) {input})
               (func (export "aos_run") (param $l i32) (result i64)
                 i32.const 2047 i32.const 82 i32.store8
                 i64.const 2047 i64.const 32 i64.shl
                 local.get $l i32.const 1 i32.add i64.extend_i32_u i64.or)"#
        ),
    )
}

/// Packs (2048, 16) as `aos_input` returns it.
const BUFFER_2048_16: &str = "i64.const 0x0000080000000010";

#[test]
fn a_one_call_module_takes_one_call_and_larger_inputs_the_two_call_path() {
    let mut inst = instance(&one_call_module(BUFFER_2048_16), small());
    assert!(inst.has_one_call());
    let mut out = Vec::new();
    for input in [&b""[..], b"\xa1abc", &[7; 16]] {
        inst.call(input, &mut out).unwrap();
        assert_eq!(out[0], b'R');
        assert_eq!(&out[1..], input);
        assert!(inst.last_fuel_used() > 0);
    }
    // 17 bytes do not fit the buffer: `aos_alloc` + `aos_step` (echo).
    inst.call(&[9; 17], &mut out).unwrap();
    assert_eq!(out, [9; 17]);
    // The one-call path again afterwards.
    inst.call(b"x", &mut out).unwrap();
    assert_eq!(out, b"Rx");
}

#[test]
fn a_two_call_module_keeps_the_two_call_path() {
    let mut inst = instance(&module(ECHO, ""), small());
    assert!(!inst.has_one_call());
    let mut out = Vec::new();
    inst.call(b"\xa0", &mut out).unwrap();
    assert_eq!(out, b"\xa0");
    // A capacity of 0 means "no buffer": every step takes two calls.
    let mut inst = instance(&one_call_module("i64.const 0x0000080000000000"), small());
    assert!(!inst.has_one_call());
    inst.call(b"\xa0", &mut out).unwrap();
    assert_eq!(out, b"\xa0");
}

#[test]
fn one_call_exports_come_in_pairs_with_the_abi_signatures() {
    let only_input = module(
        ECHO,
        r#"(func (export "aos_input") (result i64) i64.const 0)"#,
    );
    assert!(matches!(
        load_err(&only_input),
        WasmError::MissingExport { name: "aos_run" }
    ));
    let only_run = module(
        ECHO,
        r#"(func (export "aos_run") (param i32) (result i64) i64.const 0)"#,
    );
    assert!(matches!(
        load_err(&only_run),
        WasmError::MissingExport { name: "aos_input" }
    ));
    let wrong = module(
        ECHO,
        r#"(func (export "aos_input") (result i32) i32.const 0)
           (func (export "aos_run") (param i32) (result i64) i64.const 0)"#,
    );
    assert!(matches!(
        load_err(&wrong),
        WasmError::BadExport {
            name: "aos_input",
            ..
        }
    ));
}

#[test]
fn a_bad_input_buffer_refuses_the_instance_without_a_panic() {
    let rt = Runtime::new(small()).unwrap();
    let err = |input: &str| {
        let wasm = one_call_module(input);
        let (m, _) = rt.load(&wasm, Hash::of(&wasm)).unwrap();
        rt.instantiate(&m).unwrap_err().to_string()
    };
    // (65530, 16) runs past the one page of memory.
    let e = err("i64.const 0x0000fffa00000010");
    assert!(e.contains("outside guest memory"), "{e}");
    // (0xffffffff, 0xffffffff) overflows no address arithmetic.
    let e = err("i64.const -1");
    assert!(e.contains("outside guest memory"), "{e}");
    let e = err("unreachable");
    assert!(e.contains("aos_input"), "{e}");
}
