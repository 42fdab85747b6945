//! Shared test fixtures: the real reducers of `reducers/`, built once per
//! test process (cargo's own caching makes a rebuild cheap).

use super::{build_reducer, BuildRequest, BuiltModule};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;

/// The `reducers/` workspace of this repository.
pub(crate) fn reducers_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../reducers")
        .canonicalize()
        .expect("the repository has a reducers/ directory")
}

/// Builds `reducers/<name>` (or takes it from a cache kept in the reducers
/// workspace's target dir, which is gitignored).
pub(crate) fn built(name: &str) -> BuiltModule {
    static BUILT: Mutex<BTreeMap<String, BuiltModule>> = Mutex::new(BTreeMap::new());
    let mut map = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(m) = map.get(name) {
        return m.clone();
    }
    let dir = reducers_dir();
    let req = BuildRequest::new(dir.join(name), dir.join("target/aos-engine-tests/modules"));
    let m = build_reducer(&req, &mut |_| {})
        .unwrap_or_else(|e| panic!("building reducers/{name} for the tests failed: {e}"));
    map.insert(name.to_string(), m.clone());
    m
}
