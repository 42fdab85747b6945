//! Checks a module's shape before compiling it: no imports, the ABI exports.

use super::WasmError;
use aos_sdk::abi::{EXPORT_ALLOC, EXPORT_MEMORY, EXPORT_STEP};
use wasmparser::{Encoding, ExternalKind, Parser, Payload};

/// The exports every reducer must have, with the kind each must be.
const REQUIRED: [(&str, ExternalKind); 3] = [
    (EXPORT_MEMORY, ExternalKind::Memory),
    (EXPORT_ALLOC, ExternalKind::Func),
    (EXPORT_STEP, ExternalKind::Func),
];

/// Parses just enough of `wasm` to reject what can never be a reducer.
pub(crate) fn check_shape(wasm: &[u8]) -> Result<(), WasmError> {
    let mut imports = Vec::new();
    let mut exports = Vec::new();
    for payload in Parser::new(0).parse_all(wasm) {
        let payload = payload.map_err(|e| WasmError::Invalid(e.to_string()))?;
        match payload {
            Payload::Version {
                encoding: Encoding::Component,
                ..
            } => {
                return Err(WasmError::Invalid(
                    "this is a WebAssembly component; reducers are core modules".into(),
                ))
            }
            Payload::ImportSection(section) => {
                for import in section.into_imports() {
                    let import = import.map_err(|e| WasmError::Invalid(e.to_string()))?;
                    imports.push(format!("{}.{}", import.module, import.name));
                }
            }
            Payload::ExportSection(section) => {
                for export in section {
                    let export = export.map_err(|e| WasmError::Invalid(e.to_string()))?;
                    exports.push((export.name.to_string(), export.kind));
                }
            }
            _ => {}
        }
    }
    if !imports.is_empty() {
        return Err(WasmError::HasImports { imports });
    }
    for (name, kind) in REQUIRED {
        match exports.iter().find(|(n, _)| n == name) {
            None => return Err(WasmError::MissingExport { name }),
            Some((_, found)) if *found != kind => {
                return Err(WasmError::BadExport {
                    name,
                    expected: kind_name(kind).to_string(),
                    found: kind_name(*found).to_string(),
                })
            }
            Some(_) => {}
        }
    }
    Ok(())
}

fn kind_name(kind: ExternalKind) -> &'static str {
    match kind {
        ExternalKind::Func | ExternalKind::FuncExact => "a function",
        ExternalKind::Table => "a table",
        ExternalKind::Memory => "a memory",
        ExternalKind::Global => "a global",
        ExternalKind::Tag => "a tag",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wasm(text: &str) -> Vec<u8> {
        wat::parse_str(text).expect("test WAT is valid")
    }

    const ABI: &str = r#"
        (memory (export "memory") 1)
        (func (export "aos_alloc") (param i32) (result i32) i32.const 0)
        (func (export "aos_step") (param i32 i32) (result i64) i64.const 0)
    "#;

    #[test]
    fn a_minimal_reducer_passes() {
        check_shape(&wasm(&format!("(module {ABI})"))).unwrap();
    }

    #[test]
    fn imports_are_listed_by_name() {
        let m = wasm(&format!(
            r#"(module (import "env" "foo" (func)) (import "wasi" "clock" (global i32)) {ABI})"#
        ));
        let err = check_shape(&m).unwrap_err();
        assert_eq!(
            err.to_string(),
            "module imports env.foo, wasi.clock; reducers may not import anything"
        );
    }

    #[test]
    fn missing_and_mistyped_exports_are_named() {
        let m = wasm(
            r#"(module (memory (export "memory") 1) (func (export "aos_alloc") (param i32) (result i32) i32.const 0))"#,
        );
        let err = check_shape(&m).unwrap_err();
        assert!(
            matches!(err, WasmError::MissingExport { name: "aos_step" }),
            "{err}"
        );
        assert!(err.to_string().contains("`aos_step`"), "{err}");

        let m = wasm(
            r#"(module (global (export "memory") i32 (i32.const 0)) (func (export "aos_alloc") (param i32) (result i32) i32.const 0) (func (export "aos_step") (param i32 i32) (result i64) i64.const 0))"#,
        );
        let err = check_shape(&m).unwrap_err();
        assert_eq!(
            err.to_string(),
            "export `memory` is a global, expected a memory"
        );
    }

    #[test]
    fn garbage_and_components_are_rejected() {
        let err = check_shape(b"\0asm\x01\0\0\0\x99").unwrap_err();
        assert!(matches!(err, WasmError::Invalid(_)), "{err}");
        let err = check_shape(b"not wasm at all").unwrap_err();
        assert!(matches!(err, WasmError::Invalid(_)), "{err}");
        let component = wasm("(component)");
        let err = check_shape(&component).unwrap_err();
        assert!(err.to_string().contains("component"), "{err}");
    }
}
