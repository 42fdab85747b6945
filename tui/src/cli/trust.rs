//! Build trust on the command line (ARCHITECTURE.md "Build trust"): the
//! folders outside a world's project tree that the user lets it build
//! from. They come from `--trust-source PATH` (repeatable) and from a
//! record outside every world, `<config>/trusted-sources` (one absolute
//! path a line), which `aos trust PATH` writes. `<config>` is
//! `$AOS_CONFIG_DIR`, else `$XDG_CONFIG_HOME/aos`, else `~/.config/aos`.
//! The CLI reads them and hands the list to the engine.

use super::error::CliError;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The record's file name inside the config dir.
pub const RECORD: &str = "trusted-sources";

#[derive(Debug, clap::Args)]
pub struct TrustArgs {
    /// Folders (or crates) to trust from now on; without any, list the record.
    pub paths: Vec<PathBuf>,
}

/// aos's config dir, from the environment as `var` reads it.
fn config_dir(var: impl Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    let set = |name: &str| var(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(dir) = set("AOS_CONFIG_DIR") {
        return Some(dir);
    }
    // The XDG spec ignores a relative XDG_CONFIG_HOME.
    if let Some(xdg) = set("XDG_CONFIG_HOME").filter(|p| p.is_absolute()) {
        return Some(xdg.join("aos"));
    }
    set("HOME").map(|home| home.join(".config").join("aos"))
}

/// Where the record is for this process, if a config dir can be found.
fn record_file() -> Option<PathBuf> {
    config_dir(|name| std::env::var_os(name)).map(|dir| dir.join(RECORD))
}

/// The trusted folders in the record at `file` (none when it does not
/// exist). Blank lines and `#` comments are skipped.
fn read_record(file: &Path) -> Result<Vec<PathBuf>, CliError> {
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(CliError::usage(format!(
                "cannot read the trusted-sources record {}: {e}",
                file.display()
            )))
        }
    };
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let path = PathBuf::from(line);
        if !path.is_absolute() {
            return Err(CliError::usage(format!(
                "{}:{}: `{line}` is not an absolute path (`aos trust PATH` writes absolute ones)",
                file.display(),
                i + 1
            )));
        }
        out.push(path);
    }
    Ok(out)
}

/// A path the user names, resolved (symlinks too), as the engine compares it.
fn resolve(path: &Path, what: &str) -> Result<PathBuf, CliError> {
    path.canonicalize().map_err(|e| {
        CliError::usage(format!(
            "{what} {}: cannot resolve it ({e}); name an existing folder",
            path.display()
        ))
    })
}

/// The folders an open may build from outside the world's project tree:
/// the `--trust-source` flags, then the record.
pub fn trusted_sources(flags: &[PathBuf]) -> Result<Vec<PathBuf>, CliError> {
    let mut out = flags
        .iter()
        .map(|p| resolve(p, "--trust-source"))
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(file) = record_file() {
        out.extend(read_record(&file)?);
    }
    Ok(out)
}

/// `aos trust [PATH]...`: adds folders to the record, or lists it.
pub fn run(args: &TrustArgs) -> Result<ExitCode, CliError> {
    let file = record_file().ok_or_else(|| {
        CliError::usage("cannot find a config dir for the trusted-sources record: set AOS_CONFIG_DIR, XDG_CONFIG_HOME or HOME")
    })?;
    let mut trusted = read_record(&file)?;
    if args.paths.is_empty() {
        println!("trusted sources ({}):", file.display());
        if trusted.is_empty() {
            println!("  none");
        }
        for t in &trusted {
            println!("  {}", t.display());
        }
        return Ok(ExitCode::SUCCESS);
    }
    let mut added = Vec::new();
    for path in &args.paths {
        let path = resolve(path, "cannot trust")?;
        if !trusted.contains(&path) {
            trusted.push(path.clone());
            added.push(path);
        }
    }
    write_record(&file, &trusted)?;
    for p in &args.paths {
        eprintln!(
            "trusted {}: worlds may build reducer crates from it (their build scripts run on this machine)",
            p.display()
        );
    }
    println!("{} ({} added)", file.display(), added.len());
    Ok(ExitCode::SUCCESS)
}

fn write_record(file: &Path, trusted: &[PathBuf]) -> Result<(), CliError> {
    let fail = |e: std::io::Error| {
        CliError::usage(format!(
            "cannot write the trusted-sources record {}: {e}",
            file.display()
        ))
    };
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir).map_err(fail)?;
    }
    let mut text = String::from(
        "# Folders aos may build reducer crates from although they lie outside a\n\
         # world's project tree: their build scripts run on this machine.\n",
    );
    for t in trusted {
        text.push_str(&t.display().to_string());
        text.push('\n');
    }
    let tmp = file.with_extension(format!("{}.tmp", std::process::id()));
    std::fs::write(&tmp, text).map_err(fail)?;
    std::fs::rename(&tmp, file).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        fail(e)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir_with(vars: &[(&str, &str)]) -> Option<PathBuf> {
        config_dir(|name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| OsString::from(v))
        })
    }

    #[test]
    fn the_config_dir_follows_aos_then_xdg_then_home() {
        let all = [
            ("AOS_CONFIG_DIR", "/a"),
            ("XDG_CONFIG_HOME", "/x"),
            ("HOME", "/h"),
        ];
        assert_eq!(dir_with(&all), Some(PathBuf::from("/a")));
        assert_eq!(dir_with(&all[1..]), Some(PathBuf::from("/x/aos")));
        assert_eq!(dir_with(&all[2..]), Some(PathBuf::from("/h/.config/aos")));
        assert_eq!(
            dir_with(&[
                ("AOS_CONFIG_DIR", ""),
                ("XDG_CONFIG_HOME", "rel"),
                ("HOME", "/h")
            ]),
            Some(PathBuf::from("/h/.config/aos")),
            "empty and relative values are ignored"
        );
        assert_eq!(dir_with(&[]), None);
    }

    #[test]
    fn the_record_round_trips_and_its_errors_name_the_file() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("aos").join(RECORD);
        assert!(read_record(&file).unwrap().is_empty(), "no record yet");
        let list = vec![PathBuf::from("/one"), PathBuf::from("/two")];
        write_record(&file, &list).unwrap();
        assert_eq!(read_record(&file).unwrap(), list);
        std::fs::write(&file, "# note\n\n/abs\nrelative/path\n").unwrap();
        let e = read_record(&file).unwrap_err();
        assert!(
            e.message.ends_with("trusted-sources:4: `relative/path` is not an absolute path (`aos trust PATH` writes absolute ones)"),
            "{e}"
        );
        std::fs::remove_file(&file).unwrap();
        std::fs::create_dir(&file).unwrap();
        let e = read_record(&file).unwrap_err();
        assert!(
            e.message
                .starts_with("cannot read the trusted-sources record"),
            "{e}"
        );
        let e = write_record(&file, &list).unwrap_err();
        assert!(
            e.message
                .starts_with("cannot write the trusted-sources record"),
            "{e}"
        );
    }

    #[test]
    fn a_flag_naming_nothing_is_an_error() {
        let e = trusted_sources(&[PathBuf::from("/no/such/aos/folder")]).unwrap_err();
        assert!(
            e.message
                .starts_with("--trust-source /no/such/aos/folder: cannot resolve it"),
            "{e}"
        );
        assert_eq!(e.code, 2);
    }
}
