//! One live reducer instance and the call path of a step.

use super::{RuntimeConfig, WasmError};
use aos_sdk::abi::{
    self, field, EXPORT_ALLOC, EXPORT_INPUT, EXPORT_MEMORY, EXPORT_RUN, EXPORT_STEP,
};
use thiserror::Error;
use wasmtime::{
    ExternType, Instance, Memory, Module, ResourceLimiter, Store, Trap, TypedFunc, ValType,
};

/// Why a step did not produce an output document.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum CallError {
    #[error("reducer ran out of fuel (budget {fuel} per call)")]
    OutOfFuel { fuel: u64 },
    #[error("reducer exceeded its memory limit of {limit} bytes")]
    MemoryLimit { limit: usize },
    #[error("reducer overflowed its stack")]
    StackOverflow,
    #[error("reducer trapped: {0}")]
    Trap(String),
    #[error("reducer returned an unreadable result: {0}")]
    BadResult(String),
    #[error("reducer error: {0}")]
    ReducerError(String),
    #[error("input document of {len} bytes does not fit in a 32-bit guest")]
    InputTooLarge { len: usize },
    #[error(
        "this reducer instance trapped earlier and must not be re-entered; instantiate it afresh"
    )]
    Poisoned,
}

impl CallError {
    /// True when the instance is poisoned by this error.
    pub fn is_trap(&self) -> bool {
        matches!(
            self,
            CallError::OutOfFuel { .. }
                | CallError::MemoryLimit { .. }
                | CallError::StackOverflow
                | CallError::Trap(_)
        )
    }
}

/// Store data: the limiter that caps memory and remembers that it did.
struct Limits {
    memory_limit: usize,
    hit_memory_limit: bool,
}

/// Wasm tables hold function references; no reducer needs more than this.
const TABLE_ELEMENTS_LIMIT: usize = 100_000;

impl ResourceLimiter for Limits {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.memory_limit {
            // An error (not `Ok(false)`) traps right at the `memory.grow`,
            // so the cause is unambiguous and no guest code runs on.
            self.hit_memory_limit = true;
            return Err(wasmtime::format_err!(
                "memory limit of {} bytes reached",
                self.memory_limit
            ));
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= TABLE_ELEMENTS_LIMIT)
    }
}

/// The one-call path of a module that exports `aos_input` and `aos_run`
/// (ARCHITECTURE.md "Reducers: ABI, runtime, builds").
struct OneCall {
    run: TypedFunc<i32, i64>,
    /// Where the input buffer starts in guest memory, and its capacity
    /// (checked to lie inside memory once; memory never shrinks).
    at: usize,
    capacity: usize,
}

/// A live instance, reused for every step until it traps.
pub struct ReducerInstance {
    store: Store<Limits>,
    memory: Memory,
    alloc: TypedFunc<i32, i32>,
    step: TypedFunc<(i32, i32), i64>,
    one_call: Option<OneCall>,
    fuel: u64,
    memory_limit: usize,
    last_fuel_used: u64,
    poisoned: bool,
}

impl std::fmt::Debug for ReducerInstance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReducerInstance")
            .field("poisoned", &self.poisoned)
            .field("memory_size", &self.memory_size())
            .finish_non_exhaustive()
    }
}

impl ReducerInstance {
    #[allow(
        clippy::expect_used,
        reason = "invariant: fuel is enabled in the deterministic config"
    )]
    pub(super) fn new(
        engine: &wasmtime::Engine,
        config: &RuntimeConfig,
        module: &Module,
    ) -> Result<ReducerInstance, WasmError> {
        let limits = Limits {
            memory_limit: config.memory_limit_bytes,
            hit_memory_limit: false,
        };
        let mut store = Store::new(engine, limits);
        store.limiter(|l| l as &mut dyn ResourceLimiter);
        // Start functions and data initialisers run under the same budget.
        store
            .set_fuel(config.fuel_per_call)
            .expect("fuel is enabled in the deterministic config");
        let inst = Instance::new(&mut store, module, &[]).map_err(|e| {
            if store.data().hit_memory_limit {
                WasmError::Instantiate(format!(
                    "initial memory exceeds the limit of {} bytes",
                    config.memory_limit_bytes
                ))
            } else {
                WasmError::Instantiate(format!("{e:#}"))
            }
        })?;
        let missing = |name: &str| WasmError::Instantiate(format!("export `{name}` is missing"));
        let memory = inst
            .get_memory(&mut store, EXPORT_MEMORY)
            .ok_or_else(|| missing(EXPORT_MEMORY))?;
        let alloc = inst
            .get_typed_func::<i32, i32>(&mut store, EXPORT_ALLOC)
            .map_err(|e| WasmError::Instantiate(format!("{EXPORT_ALLOC}: {e:#}")))?;
        let step = inst
            .get_typed_func::<(i32, i32), i64>(&mut store, EXPORT_STEP)
            .map_err(|e| WasmError::Instantiate(format!("{EXPORT_STEP}: {e:#}")))?;
        let one_call = one_call(&mut store, &inst, memory, config.fuel_per_call)?;
        Ok(ReducerInstance {
            store,
            memory,
            alloc,
            step,
            one_call,
            fuel: config.fuel_per_call,
            memory_limit: config.memory_limit_bytes,
            last_fuel_used: 0,
            poisoned: false,
        })
    }

    /// Runs one step and copies the result out into `out` (cleared first).
    /// A module with the one-call exports whose input buffer holds `input`
    /// takes one guest call: the input is written at the buffer and
    /// `aos_run` runs the step. Otherwise `input` is copied in via
    /// `aos_alloc` and `aos_step` runs it; each of the two guest calls gets
    /// the full fuel budget. Which path a step takes depends only on the
    /// module and the input's length, so replay takes the same one.
    pub fn call(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<(), CallError> {
        out.clear();
        if self.poisoned {
            return Err(CallError::Poisoned);
        }
        let len = i32::try_from(input.len())
            .map_err(|_| CallError::InputTooLarge { len: input.len() })?;
        if let Some(one) = &self.one_call {
            if input.len() <= one.capacity {
                let at = one.at;
                let dst = self
                    .memory
                    .data_mut(&mut self.store)
                    .get_mut(at..at + input.len())
                    .ok_or_else(|| {
                        CallError::BadResult(format!(
                            "input buffer at {at} lies outside guest memory"
                        ))
                    })?;
                dst.copy_from_slice(input);
                set_fuel(&mut self.store, self.fuel);
                let packed = match one.run.call(&mut self.store, len) {
                    Ok(r) => r,
                    Err(e) => return Err(self.trapped(e)),
                };
                return self.take_output(packed, out);
            }
        }
        self.set_fuel();
        let ptr = match self.alloc.call(&mut self.store, len) {
            Ok(p) => p,
            Err(e) => return Err(self.trapped(e)),
        };
        let start = ptr as u32 as usize;
        let dst = self
            .memory
            .data_mut(&mut self.store)
            .get_mut(start..start + input.len())
            .ok_or_else(|| {
                CallError::BadResult(format!(
                    "aos_alloc({len}) returned {start}, outside guest memory"
                ))
            })?;
        dst.copy_from_slice(input);
        self.set_fuel();
        let packed = match self.step.call(&mut self.store, (ptr, len)) {
            Ok(r) => r,
            Err(e) => return Err(self.trapped(e)),
        };
        self.take_output(packed, out)
    }

    /// Copies the output document at the packed result of a step out of
    /// guest memory into `out` and reads an error document.
    fn take_output(&mut self, packed: i64, out: &mut Vec<u8>) -> Result<(), CallError> {
        self.last_fuel_used = self.fuel - self.store.get_fuel().unwrap_or(0);
        let (p, l) = abi::unpack(packed);
        let (p, l) = (p as usize, l as usize);
        let src = self.memory.data(&self.store).get(p..p + l).ok_or_else(|| {
            CallError::BadResult(format!(
                "result at {p} with length {l} lies outside guest memory ({} bytes)",
                self.memory.data_size(&self.store)
            ))
        })?;
        out.extend_from_slice(src);
        check_error_document(out)
    }

    /// True when steps whose input fits the module's input buffer take one
    /// guest call (ARCHITECTURE.md "Reducers: ABI, runtime, builds").
    pub fn has_one_call(&self) -> bool {
        self.one_call.is_some()
    }

    /// True after any trap; the instance must then be dropped.
    pub fn is_poisoned(&self) -> bool {
        self.poisoned
    }

    /// Current size of the guest's linear memory in bytes.
    pub fn memory_size(&self) -> usize {
        self.memory.data_size(&self.store)
    }

    /// Fuel burnt by the last successful `aos_step` (deterministic).
    pub fn last_fuel_used(&self) -> u64 {
        self.last_fuel_used
    }

    /// Reads guest memory (tests inspect what a trapped guest left behind).
    #[cfg(test)]
    pub(super) fn peek(&self, at: usize, len: usize) -> Vec<u8> {
        self.memory.data(&self.store)[at..at + len].to_vec()
    }

    fn set_fuel(&mut self) {
        set_fuel(&mut self.store, self.fuel);
    }

    fn trapped(&mut self, err: wasmtime::Error) -> CallError {
        self.poisoned = true;
        if self.store.data().hit_memory_limit {
            return CallError::MemoryLimit {
                limit: self.memory_limit,
            };
        }
        match err.downcast_ref::<Trap>() {
            Some(Trap::OutOfFuel) => CallError::OutOfFuel { fuel: self.fuel },
            Some(Trap::StackOverflow) => CallError::StackOverflow,
            Some(trap) => CallError::Trap(trap.to_string()),
            None => CallError::Trap(format!("{err:#}")),
        }
    }
}

/// Gives the next guest call the full budget.
#[allow(
    clippy::expect_used,
    reason = "invariant: fuel is enabled in the deterministic config"
)]
fn set_fuel(store: &mut Store<Limits>, fuel: u64) {
    store
        .set_fuel(fuel)
        .expect("fuel is enabled in the deterministic config");
}

/// Asks a module with the one-call exports where its input buffer is
/// (once, under a fresh fuel budget); `None` for a two-call module or a
/// buffer of capacity 0. A buffer outside memory, or a trap, refuses the
/// instance.
fn one_call(
    store: &mut Store<Limits>,
    inst: &Instance,
    memory: Memory,
    fuel: u64,
) -> Result<Option<OneCall>, WasmError> {
    if inst.get_export(&mut *store, EXPORT_INPUT).is_none() {
        return Ok(None);
    }
    let bad = |what: String| WasmError::Instantiate(format!("{EXPORT_INPUT}: {what}"));
    let input = inst
        .get_typed_func::<(), i64>(&mut *store, EXPORT_INPUT)
        .map_err(|e| bad(format!("{e:#}")))?;
    let run = inst
        .get_typed_func::<i32, i64>(&mut *store, EXPORT_RUN)
        .map_err(|e| WasmError::Instantiate(format!("{EXPORT_RUN}: {e:#}")))?;
    set_fuel(store, fuel);
    let packed = input
        .call(&mut *store, ())
        .map_err(|e| bad(format!("{e:#}")))?;
    let (at, capacity) = abi::unpack(packed);
    let (at, capacity) = (at as usize, capacity as usize);
    if capacity == 0 {
        return Ok(None);
    }
    let size = memory.data_size(&*store);
    if at.checked_add(capacity).is_none_or(|end| end > size) {
        return Err(bad(format!(
            "input buffer at {at} of {capacity} bytes lies outside guest memory ({size} bytes)"
        )));
    }
    Ok(Some(OneCall { run, at, capacity }))
}

/// A one-entry map whose key is `error` (checked against the ABI in tests).
const ERROR_PREFIX: &[u8] = b"\xa1\x65error";

/// Turns the SDK's `{error: text}` document into [`CallError::ReducerError`]
/// without decoding the whole output: only a one-entry map is looked at
/// (a normal output has at least three entries).
fn check_error_document(out: &[u8]) -> Result<(), CallError> {
    let body = out
        .strip_prefix(&crate::cbor::SELF_DESCRIBE[..])
        .unwrap_or(out);
    if !body.starts_with(ERROR_PREFIX) {
        return Ok(());
    }
    match crate::cbor::decode(body) {
        Ok(doc) => match doc.get(field::ERROR).and_then(|v| v.as_text()) {
            Some(message) => Err(CallError::ReducerError(message.to_string())),
            None => Err(CallError::BadResult(
                "error document whose `error` is not text".into(),
            )),
        },
        Err(e) => Err(CallError::BadResult(format!("error document: {e}"))),
    }
}

/// The ABI exports must have exactly the ABI's signatures; the one-call
/// exports are optional, but both or neither.
pub(super) fn check_signatures(module: &Module) -> Result<(), WasmError> {
    let one_call =
        module.get_export(EXPORT_INPUT).is_some() || module.get_export(EXPORT_RUN).is_some();
    let want: [(&'static str, &[ValType], &[ValType], bool); 4] = [
        (EXPORT_ALLOC, &[ValType::I32], &[ValType::I32], true),
        (
            EXPORT_STEP,
            &[ValType::I32, ValType::I32],
            &[ValType::I64],
            true,
        ),
        (EXPORT_INPUT, &[], &[ValType::I64], one_call),
        (EXPORT_RUN, &[ValType::I32], &[ValType::I64], one_call),
    ];
    for (name, params, results, required) in want {
        if !required {
            continue;
        }
        let Some(ExternType::Func(ty)) = module.get_export(name) else {
            return Err(WasmError::MissingExport { name });
        };
        let same = |a: &[ValType], b: &mut dyn ExactSizeIterator<Item = ValType>| {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| ValType::eq(x, &y))
        };
        if !same(params, &mut ty.params()) || !same(results, &mut ty.results()) {
            return Err(WasmError::BadExport {
                name,
                expected: describe(params, results),
                found: format!("a function {ty}"),
            });
        }
    }
    Ok(())
}

fn describe(params: &[ValType], results: &[ValType]) -> String {
    let list = |v: &[ValType]| {
        v.iter()
            .map(|t| t.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!("a function ({}) -> ({})", list(params), list(results))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_prefix_is_the_abi_error_key() {
        let mut want = vec![0xa1, 0x60 | field::ERROR.len() as u8];
        want.extend_from_slice(field::ERROR.as_bytes());
        assert_eq!(ERROR_PREFIX, &want[..]);
    }

    #[test]
    fn error_document_checks() {
        assert_eq!(check_error_document(b"\xa3"), Ok(()));
        assert_eq!(
            check_error_document(b"\xa1\x65error\x62no"),
            Err(CallError::ReducerError("no".into()))
        );
        assert!(matches!(
            check_error_document(b"\xd9\xd9\xf7\xa1\x65error\x01"),
            Err(CallError::BadResult(m)) if m.contains("not text")
        ));
        assert!(matches!(
            check_error_document(b"\xa1\x65error\x62n"),
            Err(CallError::BadResult(_))
        ));
    }

    #[test]
    fn only_traps_poison() {
        assert!(CallError::OutOfFuel { fuel: 1 }.is_trap());
        assert!(CallError::StackOverflow.is_trap());
        assert!(!CallError::ReducerError("x".into()).is_trap());
        assert!(!CallError::BadResult("x".into()).is_trap());
    }
}
