//! The wasm each reducer module was last built to, kept beside the store
//! as `<data>/last-build.json` (`{"modules": {NAME: "sha256:…"}}`).
//!
//! Commands that only read history (`aos journal`, `aos state`, `aos check
//! --lock`) never build (ARCHITECTURE.md "Build trust"): they load this
//! wasm from the store by hash, so they run no build script even on a world
//! whose sources nobody trusted.

use crate::hash::Hash;
use serde_json::{json, Value as Json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const FILE: &str = "last-build.json";

pub fn file(data: &Path) -> PathBuf {
    data.join(FILE)
}

/// Module name → wasm hash; empty when nothing was built yet. A record that
/// cannot be read or parsed is an error naming the file.
pub fn load(data: &Path) -> Result<BTreeMap<String, Hash>, String> {
    let path = file(data);
    let bytes = match crate::fs::Fs::read(&crate::fs::RealFs, &path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    let bad = |why: &str| format!("{} is not a last-build record: {why}", path.display());
    let doc: Json = serde_json::from_slice(&bytes).map_err(|e| bad(&e.to_string()))?;
    let modules = doc
        .get("modules")
        .and_then(Json::as_object)
        .ok_or_else(|| bad("it has no `modules` object"))?;
    modules
        .iter()
        .map(|(name, hash)| {
            let hash = hash
                .as_str()
                .and_then(Hash::parse)
                .ok_or_else(|| bad(&format!("`modules.{name}` is not a sha256:<hex> hash")))?;
            Ok((name.clone(), hash))
        })
        .collect()
}

/// Records `built` over what was recorded (other modules keep their
/// entry). Written aside and renamed, so a reader never sees half a file;
/// nothing is written when nothing changed.
pub fn record(data: &Path, built: &BTreeMap<String, Hash>) -> std::io::Result<()> {
    let mut all = load(data).unwrap_or_default();
    let before = all.clone();
    all.extend(built.iter().map(|(k, v)| (k.clone(), *v)));
    if all == before {
        return Ok(());
    }
    let modules: serde_json::Map<String, Json> = all
        .iter()
        .map(|(k, v)| (k.clone(), Json::String(v.to_string())))
        .collect();
    let text =
        serde_json::to_vec_pretty(&json!({ "modules": modules })).map_err(std::io::Error::other)?;
    std::fs::create_dir_all(data)?;
    crate::fs::write_file_atomic(&file(data), &text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_merge_and_read_back() {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("data");
        assert!(load(&data).unwrap().is_empty(), "nothing built yet");
        let (a, b) = (Hash::of(b"a"), Hash::of(b"b"));
        record(&data, &[("m/A@1".to_string(), a)].into()).unwrap();
        record(&data, &[("m/B@1".to_string(), b)].into()).unwrap();
        let got = load(&data).unwrap();
        assert_eq!(got, [("m/A@1".into(), a), ("m/B@1".into(), b)].into());
        let c = Hash::of(b"c");
        record(&data, &[("m/A@1".to_string(), c)].into()).unwrap();
        assert_eq!(load(&data).unwrap()["m/A@1"], c, "a rebuild replaces");
    }

    #[test]
    fn a_damaged_record_is_an_error_naming_it() {
        let tmp = tempfile::tempdir().unwrap();
        let cases = [
            ("not json", "last-build.json is not a last-build record"),
            ("{}", "no `modules` object"),
            (
                r#"{"modules": {"m/A@1": "md5:00"}}"#,
                "`modules.m/A@1` is not",
            ),
        ];
        for (text, needle) in cases {
            std::fs::write(file(tmp.path()), text).unwrap();
            let e = load(tmp.path()).unwrap_err();
            assert!(e.contains(needle), "{text}: {e}");
        }
        std::fs::remove_file(file(tmp.path())).unwrap();
        std::fs::create_dir(file(tmp.path())).unwrap();
        let e = load(tmp.path()).unwrap_err();
        assert!(e.starts_with("cannot read"), "{e}");
    }
}
