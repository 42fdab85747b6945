//! The `blob` adapter over the content-addressed store.
//!
//! How bytes reach the store: `sys/BlobPutParams@1` carries only
//! `{namespace, blob_ref}`, so the bytes are in the CAS before the intent is
//! enqueued — the kernel (or the SDK's host side) puts the reducer's payload
//! with `Store::put`, which is idempotent and content-addressed, and writes
//! the resulting ref into the params. `blob.put` then *publishes* the ref in
//! the namespace: it checks the bytes are there, records the ref under the
//! namespace and answers `{blob_ref, size}`. `blob.get {namespace, key}` takes
//! the key as the ref's text (`sha256:<hex>` or bare hex) and answers
//! `{blob_ref, size}` when the ref was published in that namespace.
//!
//! Failures keep the receipt schema (so the result event stays well-typed):
//! `status: error`, `blob_ref` = the requested ref (or the zero hash when the
//! key is not a ref) and `size: 0`.
//!
//! The namespace index lives in files under the adapter's own directory
//! (`<index>/<hex of namespace>/<ref hex>`), outside the deterministic core.

use super::{Adapter, AdapterOutcome};
use crate::effects::{Intent, ReceiptStatus};
use crate::hash::{hex, Hash};
use crate::store::Store;
use crate::value::Value;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

pub const BLOB_ID: &str = "blob";

#[derive(Debug, Clone)]
pub struct BlobAdapter {
    store: Store,
    index: PathBuf,
}

fn receipt(status: ReceiptStatus, blob_ref: Hash, size: u64) -> AdapterOutcome {
    AdapterOutcome::Done {
        status,
        payload: Value::record([
            ("blob_ref", Value::Bytes(blob_ref.0.to_vec())),
            ("size", Value::Int(size as i128)),
        ]),
        cost_cents: 0,
    }
}

impl BlobAdapter {
    /// `index` is the directory for the namespace index (created if needed).
    pub fn open(store: Store, index: &Path) -> io::Result<BlobAdapter> {
        fs::create_dir_all(index)?;
        Ok(BlobAdapter {
            store,
            index: index.to_path_buf(),
        })
    }

    fn marker(&self, namespace: &str, r: &Hash) -> PathBuf {
        marker(&self.index, namespace, r)
    }

    /// Records `r` as published in `namespace` in the index at `index`:
    /// what a successful `blob.put` does, and what a fork does for each one
    /// its journal holds.
    pub fn publish(index: &Path, namespace: &str, r: &Hash) -> io::Result<()> {
        let marker = marker(index, namespace, r);
        marker
            .parent()
            .map_or(Ok(()), fs::create_dir_all)
            .and_then(|()| crate::fs::write_file_atomic(&marker, b""))
    }

    fn size_of(&self, r: &Hash) -> Option<u64> {
        // `get` re-hashes the bytes, so a damaged object is never published.
        self.store.get(r).ok().flatten().map(|b| b.len() as u64)
    }

    fn put(&self, params: &Value) -> AdapterOutcome {
        let Some((ns, r)) = put_target(params) else {
            let r = params
                .get("blob_ref")
                .and_then(Value::as_bytes)
                .and_then(Hash::from_slice);
            return receipt(ReceiptStatus::Error, r.unwrap_or(Hash::ZERO), 0);
        };
        let Some(size) = self.size_of(&r) else {
            return receipt(ReceiptStatus::Error, r, 0);
        };
        match BlobAdapter::publish(&self.index, ns, &r) {
            Ok(()) => receipt(ReceiptStatus::Ok, r, size),
            Err(_) => receipt(ReceiptStatus::Error, r, 0),
        }
    }

    fn get(&self, params: &Value) -> AdapterOutcome {
        let ns = params.get("namespace").and_then(Value::as_text);
        let r = params
            .get("key")
            .and_then(Value::as_text)
            .and_then(Hash::parse);
        let (Some(ns), Some(r)) = (ns, r) else {
            return receipt(ReceiptStatus::Error, r.unwrap_or(Hash::ZERO), 0);
        };
        if !self.marker(ns, &r).exists() {
            return receipt(ReceiptStatus::Error, r, 0);
        }
        match self.size_of(&r) {
            Some(size) => receipt(ReceiptStatus::Ok, r, size),
            None => receipt(ReceiptStatus::Error, r, 0),
        }
    }
}

fn marker(index: &Path, namespace: &str, r: &Hash) -> PathBuf {
    // Hex keeps any namespace text a single safe path component.
    index.join(hex(namespace.as_bytes())).join(r.to_hex())
}

/// The namespace and ref a `blob.put` intent's params name.
pub fn put_target(params: &Value) -> Option<(&str, Hash)> {
    let ns = params.get("namespace").and_then(Value::as_text)?;
    let r = params
        .get("blob_ref")
        .and_then(Value::as_bytes)
        .and_then(Hash::from_slice)?;
    Some((ns, r))
}

impl Adapter for BlobAdapter {
    fn id(&self) -> &str {
        BLOB_ID
    }

    fn kinds(&self) -> &[&str] {
        &["blob.put", "blob.get"]
    }

    fn execute(&mut self, intent: &Intent) -> AdapterOutcome {
        let params = intent.params_value().unwrap_or(Value::Null);
        match intent.kind.as_str() {
            "blob.put" => self.put(&params),
            "blob.get" => self.get(&params),
            _ => receipt(ReceiptStatus::Error, Hash::ZERO, 0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::effects::{Origin, OriginKind};

    fn intent(kind: &str, params: Value) -> Intent {
        Intent::new(
            kind,
            &params,
            "g",
            Origin {
                kind: OriginKind::Reducer,
                name: "r".into(),
            },
            vec![],
        )
    }

    fn put(ns: &str, r: &Hash) -> Intent {
        intent(
            "blob.put",
            Value::record([
                ("namespace", Value::text(ns)),
                ("blob_ref", Value::Bytes(r.0.to_vec())),
            ]),
        )
    }

    fn get(ns: &str, key: &str) -> Intent {
        intent(
            "blob.get",
            Value::record([("namespace", Value::text(ns)), ("key", Value::text(key))]),
        )
    }

    fn parts(o: AdapterOutcome) -> (ReceiptStatus, Hash, i128) {
        match o {
            AdapterOutcome::Done {
                status, payload, ..
            } => (
                status,
                payload
                    .get("blob_ref")
                    .and_then(Value::as_bytes)
                    .and_then(Hash::from_slice)
                    .unwrap(),
                payload.get("size").and_then(Value::as_int).unwrap(),
            ),
            AdapterOutcome::Pending => panic!("blob never waits"),
        }
    }

    fn setup() -> (tempfile::TempDir, Store, BlobAdapter) {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::open(&tmp.path().join("store")).unwrap();
        let a = BlobAdapter::open(store.clone(), &tmp.path().join("idx")).unwrap();
        (tmp, store, a)
    }

    #[test]
    fn put_then_get_by_namespace_and_key() {
        let (_tmp, store, mut a) = setup();
        let r = store.put(b"echo me").unwrap();
        assert_eq!(
            parts(a.execute(&put("echo/x", &r))),
            (ReceiptStatus::Ok, r, 7)
        );
        assert_eq!(
            parts(a.execute(&get("echo/x", &r.to_string()))),
            (ReceiptStatus::Ok, r, 7)
        );
        assert_eq!(
            parts(a.execute(&get("echo/x", &r.to_hex()))).0,
            ReceiptStatus::Ok
        );
        // Published in one namespace is not visible in another.
        assert_eq!(
            parts(a.execute(&get("other", &r.to_string()))),
            (ReceiptStatus::Error, r, 0)
        );
    }

    #[test]
    fn put_of_bytes_not_in_the_store_fails() {
        let (_tmp, _store, mut a) = setup();
        let r = Hash::of(b"never stored");
        assert_eq!(
            parts(a.execute(&put("n", &r))),
            (ReceiptStatus::Error, r, 0)
        );
    }

    #[test]
    fn malformed_params_fail_with_schema_shaped_payloads() {
        let (_tmp, _store, mut a) = setup();
        assert_eq!(
            parts(a.execute(&get("n", "not a ref"))),
            (ReceiptStatus::Error, Hash::ZERO, 0)
        );
        assert_eq!(
            parts(a.execute(&intent("blob.put", Value::Null))).0,
            ReceiptStatus::Error
        );
        assert_eq!(
            parts(a.execute(&intent("blob.delete", Value::Null))).0,
            ReceiptStatus::Error
        );
    }
}
