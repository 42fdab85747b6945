//! Opening `$VISUAL` / `$EDITOR` from the inspector (key `E`).
//!
//! The editor gets the real terminal: the input thread is paused (so it
//! does not steal the editor's keys), raw mode and the alternate screen are
//! left, the editor runs to its end, and the inspector's terminal is set up
//! again, also when the editor could not start.

use crate::work::EditRequest;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// The editor's command line: `$VISUAL`, else `$EDITOR`, else `vi`; split
/// on whitespace so `EDITOR="code -w"` works.
pub fn editor_program(visual: Option<&str>, editor: Option<&str>) -> Vec<String> {
    [visual, editor]
        .into_iter()
        .flatten()
        .map(|v| v.split_whitespace().map(str::to_string).collect::<Vec<_>>())
        .find(|words| !words.is_empty())
        .unwrap_or_else(|| vec!["vi".to_string()])
}

/// The editor's arguments, in the `+LINE FILE` convention every common
/// terminal editor understands.
pub fn editor_args(req: &EditRequest) -> Vec<String> {
    let mut args = Vec::new();
    if let Some(line) = req.line {
        args.push(format!("+{line}"));
    }
    args.push(req.file.display().to_string());
    args
}

/// Runs the editor and waits for it. The error says what went wrong in a
/// form fit for the status line.
pub fn run_editor(program: &[String], req: &EditRequest) -> Result<(), String> {
    let (name, fixed) = program
        .split_first()
        .ok_or_else(|| "no editor command (set $VISUAL or $EDITOR)".to_string())?;
    let mut cmd = Command::new(name);
    cmd.args(fixed).args(editor_args(req));
    // Editors that look for project files (rust-analyzer, .editorconfig)
    // find them from the file's folder.
    if let Some(dir) = req.file.parent().filter(|d| d.is_dir()) {
        cmd.current_dir(dir);
    }
    let status = cmd
        .status()
        .map_err(|e| format!("cannot start the editor `{name}`: {e} (set $VISUAL or $EDITOR)"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("the editor `{name}` exited with {status}"))
    }
}

/// Lets the UI thread stop the input thread from reading the terminal while
/// another program has it.
#[derive(Default)]
pub struct InputGate {
    paused: AtomicBool,
    reading: Mutex<()>,
}

/// Held by the UI thread while the input thread must not read.
pub struct Paused<'a> {
    gate: &'a InputGate,
    _reading: MutexGuard<'a, ()>,
}

impl Drop for Paused<'_> {
    fn drop(&mut self) {
        self.gate.paused.store(false, Ordering::SeqCst);
    }
}

impl InputGate {
    /// For the input thread: a guard to hold while polling and reading, or
    /// `None` (after a short sleep) while paused.
    pub fn enter(&self) -> Option<MutexGuard<'_, ()>> {
        if self.paused.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(20));
            return None;
        }
        let guard = self.reading.lock().unwrap_or_else(|e| e.into_inner());
        if self.paused.load(Ordering::SeqCst) {
            return None;
        }
        Some(guard)
    }

    /// For the UI thread: waits for a read in progress to end and keeps the
    /// input thread off the terminal until the returned guard is dropped.
    pub fn pause(&self) -> Paused<'_> {
        self.paused.store(true, Ordering::SeqCst);
        let reading = self.reading.lock().unwrap_or_else(|e| e.into_inner());
        Paused {
            gate: self,
            _reading: reading,
        }
    }
}

/// Leaves the inspector's terminal, runs the editor, and enters it again.
/// The editor's own failure comes back as the error; failing to set the
/// terminal up again is reported too (the caller then redraws anyway).
pub fn edit_suspended(
    gate: &InputGate,
    program: &[String],
    req: &EditRequest,
) -> Result<(), String> {
    let paused = gate.pause();
    crate::terminal::restore();
    let result = run_editor(program, req);
    let back = resume();
    drop(paused);
    match (result, back) {
        (Err(e), _) => Err(e),
        (Ok(()), Err(e)) => Err(format!("restoring the terminal after the editor: {e}")),
        (Ok(()), Ok(())) => Ok(()),
    }
}

fn resume() -> std::io::Result<()> {
    crate::terminal::enter()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;
    use std::path::PathBuf;
    use std::sync::Arc;

    fn req(line: Option<u32>) -> EditRequest {
        EditRequest {
            file: PathBuf::from("/w/counter/src/lib.rs"),
            line,
        }
    }

    #[test]
    fn visual_wins_then_editor_then_vi() {
        assert_eq!(editor_program(Some("hx"), Some("nano")), ["hx"]);
        assert_eq!(editor_program(None, Some("code -w")), ["code", "-w"]);
        assert_eq!(editor_program(Some("  "), Some("nano")), ["nano"]);
        assert_eq!(editor_program(None, None), ["vi"]);
    }

    #[test]
    fn the_line_goes_first_as_plus_line() {
        assert_eq!(
            editor_args(&req(Some(12))),
            ["+12", "/w/counter/src/lib.rs"]
        );
        assert_eq!(editor_args(&req(None)), ["/w/counter/src/lib.rs"]);
    }

    #[test]
    fn a_fake_editor_gets_line_and_file() {
        let t = tempfile::tempdir().unwrap();
        let log = t.path().join("args");
        let script = t.path().join("ed.sh");
        std::fs::write(
            &script,
            format!("#!/bin/sh\necho \"$@\" > {}\n", log.display()),
        )
        .unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let program = vec![script.display().to_string(), "--wait".to_string()];
        run_editor(&program, &req(Some(7))).unwrap();
        assert_eq!(
            std::fs::read_to_string(&log).unwrap().trim(),
            "--wait +7 /w/counter/src/lib.rs"
        );
    }

    #[test]
    fn editor_failures_are_explained() {
        let missing = vec!["/nonexistent/aos-editor".to_string()];
        let err = run_editor(&missing, &req(None)).unwrap_err();
        assert!(
            err.contains("cannot start the editor `/nonexistent/aos-editor`"),
            "{err}"
        );
        let err = run_editor(&["false".to_string()], &req(None)).unwrap_err();
        assert!(err.contains("`false` exited with"), "{err}");
        assert!(run_editor(&[], &req(None))
            .unwrap_err()
            .contains("no editor"));
    }

    #[test]
    fn a_paused_gate_keeps_the_reader_out_until_resumed() {
        let gate = Arc::new(InputGate::default());
        assert!(gate.enter().is_some());
        let paused = gate.pause();
        assert!(gate.enter().is_none());
        let g2 = gate.clone();
        let reader = std::thread::spawn(move || loop {
            if g2.enter().is_some() {
                return;
            }
        });
        std::thread::sleep(Duration::from_millis(60));
        assert!(!reader.is_finished(), "the reader waits while paused");
        drop(paused);
        reader.join().unwrap();
    }
}
