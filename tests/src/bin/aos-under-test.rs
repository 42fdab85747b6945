//! The `aos` program, built as this crate's own binary so the integration
//! tests run exactly what `cargo test` compiled (same profile and features).

fn main() -> std::process::ExitCode {
    aos::main()
}
