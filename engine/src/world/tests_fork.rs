//! Fork, export, import and compare: a fork at H replays to the state the
//! source had at H and goes on on its own (its own keys; the inherited ones
//! verify the shared receipts); an export imports to the same journal and
//! state; a hostile archive is refused without a byte outside the
//! destination; `compare` finds the first differing height.

use super::tests_snapshots::{demo, options, run_demo};
use super::*;
use std::fs;

const DEMOS: [&str; 4] = [
    "00-counter",
    "03-fetch-notify",
    "05-chain-comp",
    "06-safe-upgrade",
];

/// Opens the world at `dir` (data in `dir/.aos`) as a reader replaying
/// from genesis.
fn open_reader(dir: &Path) -> World {
    let opts = WorldOptions {
        read_only: true,
        from_snapshot: false,
        build: crate::build::BuildMode::StoreOnly,
        // A fork at 0 is a fresh world, which would take its events.json.
        scripted_events: false,
        ..WorldOptions::default()
    };
    World::open(dir, opts, &mut |_| {}).unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
}

/// A boundary near the middle of the journal.
fn middle(w: &World) -> u64 {
    w.boundaries.at_or_below(w.head() / 2)
}

#[test]
fn a_fork_replays_to_the_source_state_at_its_height_for_every_demo_world() {
    for name in DEMOS {
        let tmp = tempfile::tempdir().unwrap();
        let mut source = run_demo(name, &tmp.path().join("data"), None);
        let first = source.boundaries.above(0).unwrap();
        for height in [first, middle(&source), source.head()] {
            let expected = source.state_at(height).unwrap().hash();
            let dest = tmp.path().join(format!("fork-{height}"));
            let report = source.fork_to(height, &dest).unwrap();
            assert_eq!((report.height, report.state_hash), (height, expected));
            let mut fork = open_reader(&dest);
            assert_eq!(fork.head(), height, "{name}");
            assert_eq!(
                fork.verify_replay().unwrap(),
                expected,
                "{name} at {height}"
            );
            let diff = compare(&mut source, &mut fork).unwrap();
            let differs = (height < source.head()).then_some(height);
            assert_eq!(diff.first_difference, differs, "{name} at {height}");
        }
        // No module builds from a source: each is pinned to its wasm.
        for file in walk_files(&tmp.path().join(format!("fork-{first}/air"))) {
            let air = fs::read_to_string(&file).unwrap();
            assert!(!air.contains("\"source\""), "{name}: {air}");
        }
    }
}

#[test]
fn a_fork_keeps_no_secret_and_steps_on_with_its_own_keys() {
    let tmp = tempfile::tempdir().unwrap();
    let mut source = run_demo("03-fetch-notify", &tmp.path().join("data"), None);
    assert!(source
        .effects()
        .unwrap()
        .iter()
        .any(|e| !e.receipt.is_empty()));
    let dest = tmp.path().join("fork");
    let report = source.fork_to(source.head(), &dest).unwrap();
    assert!(report.inherited_keys >= 1, "{report:?}");
    let keys = dest.join(".aos/keys");
    let mut found = Vec::new();
    for entry in walk_files(&dest) {
        assert_ne!(
            entry.extension().and_then(|e| e.to_str()),
            Some("key"),
            "{entry:?}"
        );
        found.push(entry);
    }
    assert!(found.iter().any(|p| p.starts_with(keys.join("inherited"))));
    // A writer of the fork replays the shared receipts with the inherited
    // keys and signs new ones with its own.
    let opts = WorldOptions {
        auto_dispatch: true,
        cache_dir: Some(tmp.path().join("cache")),
        ..WorldOptions::default()
    };
    let mut fork = World::open(&dest, opts, &mut |_| {}).unwrap();
    let events = demo("03-fetch-notify").join("events.json");
    let text = fs::read_to_string(&events).unwrap();
    fork.inject_events(&events, &text).unwrap();
    fork.run_until_idle(10_000).unwrap();
    assert!(fork.head() > report.height);
    let own = fs::read_to_string(keys.join("http.pub")).unwrap();
    let source_key = fs::read_to_string(tmp.path().join("data/keys/http.pub")).unwrap();
    assert_ne!(own, source_key, "the fork signs with a key of its own");
    drop(fork);
    let hash = open_reader(&dest).verify_replay().unwrap();
    assert_eq!(hash, {
        let again = open_reader(&dest);
        again.state_hash()
    });
}

/// A fork taken between a `blob.put`'s receipt and the `blob.get` that
/// follows finds the blob published: its namespace index is rebuilt from
/// the prefix, as it stood at the fork's height.
#[test]
fn a_fork_publishes_the_blobs_its_prefix_put() {
    let tmp = tempfile::tempdir().unwrap();
    let mut source = run_demo("02-blob-echo", &tmp.path().join("data"), None);
    let entries = source.entries(0, source.head()).unwrap();
    let intents: Vec<u64> = entries
        .iter()
        .filter(|e| e.kind == "EffectIntent")
        .map(|e| e.seq)
        .collect();
    assert_eq!(intents.len(), 2, "a put, then a get: {entries:?}");
    let get_intent = intents[1];
    let height = source.boundaries.above(get_intent).unwrap();
    let get_receipt = entries
        .iter()
        .rfind(|e| e.kind == "EffectReceipt")
        .unwrap()
        .seq;
    assert!(height <= get_receipt, "{height} {get_receipt}");
    let dest = tmp.path().join("fork");
    let report = source.fork_to(height, &dest).unwrap();
    assert_eq!(report.published_blobs, 1, "{report:?}");
    // Before the put's receipt there is nothing to publish.
    let early = source.fork_to(intents[0] + 1, &tmp.path().join("early"));
    if let Ok(early) = early {
        assert_eq!(early.published_blobs, 0, "{early:?}");
    }
    let opts = WorldOptions {
        auto_dispatch: true,
        cache_dir: Some(tmp.path().join("cache")),
        ..WorldOptions::default()
    };
    let mut fork = World::open(&dest, opts, &mut |_| {}).unwrap();
    fork.run_until_idle(100).unwrap();
    let state = fork.states().unwrap()[0].value.clone().unwrap();
    assert_eq!(
        state.get("matches"),
        Some(&crate::value::Value::Bool(true)),
        "{state:?}"
    );
}

#[test]
fn a_blob_index_that_cannot_be_written_fails_the_fork_and_names_it() {
    let tmp = tempfile::tempdir().unwrap();
    let source = run_demo("02-blob-echo", &tmp.path().join("data"), None);
    // The index's folder would go under a regular file.
    let file = tmp.path().join("not-a-folder");
    fs::write(&file, b"x").unwrap();
    let index = file.join("blob-index");
    let err = source
        .rebuild_blob_index(source.head(), &index)
        .expect_err("cannot write");
    assert!(
        matches!(&err, WorldError::Io { op: "write", path, .. } if path == &index),
        "{err}"
    );
    assert!(err.to_string().contains("not-a-folder/blob-index"), "{err}");
}

fn walk_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

#[test]
fn a_fork_is_refused_inside_a_unit_beyond_the_head_or_onto_something() {
    let tmp = tempfile::tempdir().unwrap();
    let mut source = run_demo("03-fetch-notify", &tmp.path().join("data"), None);
    let inside = (1..source.head())
        .find(|h| !source.boundaries.contains(*h))
        .expect("a unit of two entries");
    let err = source
        .fork_to(inside, &tmp.path().join("a"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("inside a unit of work"), "{err}");
    let err = source
        .fork_to(source.head() + 1, &tmp.path().join("b"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("the journal ends at"), "{err}");
    let err = source
        .fork_to(0, &tmp.path().join("z"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("a fresh world"), "{err}");
    fs::create_dir(tmp.path().join("c")).unwrap();
    let err = source
        .fork_to(source.head(), &tmp.path().join("c"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("already exists"), "{err}");
    for dir in ["a", "b", "z"] {
        assert!(!tmp.path().join(dir).exists());
    }
}

#[test]
fn an_export_imports_to_the_same_journal_and_state() {
    for name in ["03-fetch-notify", "06-safe-upgrade"] {
        let tmp = tempfile::tempdir().unwrap();
        let mut source = run_demo(name, &tmp.path().join("data"), None);
        let file = tmp.path().join("w.aosx");
        let report = source.export_to(&file).unwrap();
        assert_eq!(report.state_hash, source.state_hash());
        assert!(report.archive_bytes > 0 && report.archive_bytes < report.raw_bytes);
        let err = source.export_to(&file).unwrap_err().to_string();
        assert!(err.contains("already exists"), "{err}");
        let dest = tmp.path().join("imported");
        let imported = import(&file, &dest).unwrap();
        assert_eq!(
            imported.recorded,
            Some((source.head(), source.state_hash()))
        );
        let mut back = open_reader(&dest);
        assert_eq!(back.verify_replay().unwrap(), source.state_hash(), "{name}");
        assert!(compare(&mut source, &mut back).unwrap().same());
        // Nothing secret, no cache, no lock travelled.
        for path in walk_files(&dest) {
            let text = path.to_string_lossy();
            assert!(
                !text.ends_with(".key") && !text.contains("/cache/") && !text.ends_with("/lock"),
                "{text}"
            );
        }
    }
}

/// A zstd tar holding one entry written with a raw header.
fn hostile(path: &Path, name: &[u8], kind: tar::EntryType, link: Option<&str>) {
    let out = fs::File::create(path).unwrap();
    let mut builder = tar::Builder::new(zstd::Encoder::new(out, 1).unwrap().auto_finish());
    let mut ok = tar::Header::new_ustar();
    ok.set_path("air").unwrap();
    ok.set_entry_type(tar::EntryType::Directory);
    ok.set_size(0);
    ok.set_cksum();
    builder.append(&ok, std::io::empty()).unwrap();
    let mut header = tar::Header::new_old();
    header.as_old_mut().name[..name.len()].copy_from_slice(name);
    header.set_entry_type(kind);
    header.set_mode(0o644);
    if let Some(target) = link {
        header.set_link_name(target).unwrap();
    }
    let body = b"pwned";
    header.set_size(if kind == tar::EntryType::Regular {
        body.len() as u64
    } else {
        0
    });
    header.set_cksum();
    let data: &[u8] = if kind == tar::EntryType::Regular {
        body
    } else {
        &[]
    };
    builder.append(&header, data).unwrap();
    builder.into_inner().unwrap();
}

#[test]
fn a_hostile_archive_is_refused_without_writing_outside_dest() {
    let tmp = tempfile::tempdir().unwrap();
    let cases: [(&[u8], tar::EntryType, Option<&str>, &str); 5] = [
        (
            b"../escaped",
            tar::EntryType::Regular,
            None,
            "not a plain relative path",
        ),
        (
            b"air/../../escaped",
            tar::EntryType::Regular,
            None,
            "not a plain relative path",
        ),
        (
            b"/tmp/escaped-abs",
            tar::EntryType::Regular,
            None,
            "not a plain relative path",
        ),
        (
            b"air/link",
            tar::EntryType::Symlink,
            Some("/etc"),
            "symlink",
        ),
        (
            b"air/hard",
            tar::EntryType::Link,
            Some("/etc/passwd"),
            "hard link",
        ),
    ];
    for (i, (name, kind, link, why)) in cases.into_iter().enumerate() {
        let file = tmp.path().join(format!("bad-{i}.aosx"));
        hostile(&file, name, kind, link);
        let dest = tmp.path().join(format!("dest-{i}"));
        let err = import(&file, &dest).unwrap_err().to_string();
        assert!(err.contains(why) && err.contains("refused"), "{i}: {err}");
        assert!(!dest.exists(), "{i}: what was written is removed");
        assert!(!tmp.path().join("escaped").exists());
    }
    assert!(!Path::new("/tmp/escaped-abs").exists());
    // Not an archive at all, and an archive that is no world.
    let junk = tmp.path().join("junk");
    fs::write(&junk, b"hello").unwrap();
    let err = import(&junk, &tmp.path().join("j"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("not a zstd-compressed tar"), "{err}");
    let empty = tmp.path().join("empty.aosx");
    hostile(&empty, b"air/readme", tar::EntryType::Regular, None);
    let err = import(&empty, &tmp.path().join("e"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("not an exported world"), "{err}");
    assert!(!tmp.path().join("e").exists());
    // An existing destination is never written into.
    fs::create_dir(tmp.path().join("there")).unwrap();
    let err = import(&empty, &tmp.path().join("there"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("already exists"), "{err}");
}

#[test]
fn compare_finds_where_two_runs_part() {
    let tmp = tempfile::tempdir().unwrap();
    let mut a = run_demo("00-counter", &tmp.path().join("a"), None);
    let mut b = World::open(
        &demo("00-counter"),
        options(&tmp.path().join("b"), None),
        &mut |_| {},
    )
    .unwrap();
    b.run_until_idle(2).unwrap();
    b.inject("demo/CounterEvent@1", r#"{"Start": {"target": 7}}"#)
        .unwrap();
    b.run_until_idle(100).unwrap();
    let diff = compare(&mut a, &mut b).unwrap();
    let at = diff.first_difference.expect("they part");
    assert!(at > 0 && at < a.head(), "{diff:?}");
    assert!(diff.entries.0.is_some() || diff.entries.1.is_some());
    assert!(!diff.cells.is_empty(), "{diff:?}");
    assert!(!diff.same());
}
