//! `aos fork`, `aos export`, `aos import` and `aos diff` as a user runs
//! them: a fork replays to the state `aos state --at H` reports, an export
//! imports and replays to the source's hash, a hostile archive is refused
//! without a byte outside DEST, and `diff` says where two worlds part.

use crate::support::*;

fn reader_args<'a>(data: &'a tempfile::TempDir, cache: &'a std::path::Path) -> Vec<&'a str> {
    vec![
        "--json",
        "--data-dir",
        path_str(data.path()),
        "--cache-dir",
        path_str(cache),
    ]
}

#[test]
fn fork_then_replay_gives_the_state_at_the_fork_height() {
    let world = "worlds/05-chain-comp";
    let data = ran(world);
    let cache = shared_cache();
    let out = tempfile::tempdir().expect("tempdir");
    let dest = out.path().join("fork");
    let journal = cli_json("journal", world, &data, &[]);
    let head = journal["head"].as_u64().expect("head");
    let at = (head / 2..=head)
        .find(|h| {
            let mut args = vec!["fork", world, "--at"];
            let h = h.to_string();
            args.push(&h);
            args.push(path_str(&dest));
            args.extend(reader_args(&data, &cache));
            let r = aos(&args);
            if r.code != 0 {
                assert!(r.stderr.contains("inside a unit of work"), "{r:?}");
            }
            r.code == 0
        })
        .expect("a boundary in the second half");
    let state = cli_json("state", world, &data, &["--at", &at.to_string()]);
    let replay = aos(&["replay", path_str(&dest), "--json"]);
    assert_eq!(replay.code, 0, "{replay:?}");
    assert_eq!(
        replay.json()["state_hash"],
        state["state_hash"],
        "{replay:?}"
    );
    assert_eq!(replay.json()["entries"].as_u64(), Some(at), "{replay:?}");
    // A fork at the head holds the whole journal: diff finds where the two
    // forks part.
    let dest2 = out.path().join("fork2");
    let mut args = vec!["fork", world];
    args.push(path_str(&dest2));
    args.extend(reader_args(&data, &cache));
    let r = aos(&args);
    assert_eq!(r.code, 0, "{r:?}");
    let diff = aos(&["diff", path_str(&dest), path_str(&dest2), "--json"]);
    assert_eq!(diff.code, 1, "{diff:?}");
    assert_eq!(
        diff.json()["first_difference"].as_u64(),
        Some(at),
        "{diff:?}"
    );
    assert_eq!(diff.json()["entries"][0], serde_json::Value::Null);
    let same = aos(&["diff", path_str(&dest2), path_str(&dest2)]);
    assert_eq!(same.code, 0, "{same:?}");
    assert!(same.stdout.starts_with("same:"), "{same:?}");
}

#[test]
fn export_then_import_replays_to_the_source_hash() {
    let world = "worlds/03-fetch-notify";
    let data = ran(world);
    let cache = shared_cache();
    let hash = replay_hash(world, &data);
    let out = tempfile::tempdir().expect("tempdir");
    let file = out.path().join("w.aosx");
    let mut args = vec!["export", world, path_str(&file)];
    args.extend(reader_args(&data, &cache));
    let r = aos(&args);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(r.json()["state_hash"].as_str(), Some(hash.as_str()));
    let dest = out.path().join("imported");
    let r = aos(&["import", path_str(&file), path_str(&dest), "--json"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(r.json()["matches"], true, "{r:?}");
    let replay = aos(&["replay", path_str(&dest), "--json"]);
    assert_eq!(replay.json()["state_hash"].as_str(), Some(hash.as_str()));
    // Importing onto something that exists is refused.
    let again = aos(&["import", path_str(&file), path_str(&dest)]);
    assert_eq!(again.code, 2, "{again:?}");
    assert!(again.stderr.contains("already exists"), "{again:?}");
}

#[test]
fn a_hostile_archive_is_refused_and_nothing_is_written_outside_dest() {
    let out = tempfile::tempdir().expect("tempdir");
    let file = out.path().join("evil.aosx");
    let bytes = {
        let mut tar = Vec::new();
        let mut header = [0u8; 512];
        let name = b"../outside.txt";
        header[..name.len()].copy_from_slice(name);
        header[100..107].copy_from_slice(b"0000644");
        header[124..135].copy_from_slice(b"00000000005");
        header[156] = b'0';
        header[148..156].copy_from_slice(b"        ");
        let sum: u32 = header.iter().map(|b| u32::from(*b)).sum();
        header[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
        tar.extend_from_slice(&header);
        let mut body = [0u8; 512];
        body[..5].copy_from_slice(b"pwned");
        tar.extend_from_slice(&body);
        tar.extend_from_slice(&[0u8; 1024]);
        zstd_frame(&tar)
    };
    std::fs::write(&file, bytes).expect("write");
    let dest = out.path().join("sub").join("dest");
    std::fs::create_dir(out.path().join("sub")).expect("mkdir");
    let r = aos(&["import", path_str(&file), path_str(&dest)]);
    assert_ne!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains("refused"), "{r:?}");
    assert!(!dest.exists(), "{r:?}");
    assert!(!out.path().join("sub").join("outside.txt").exists());
}

/// `data` as one zstd frame of raw blocks (no compression needed to test
/// what an importer does with the tar inside).
fn zstd_frame(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x28, 0xb5, 0x2f, 0xfd];
    // Frame header: single segment, 4-byte content size.
    out.push(0b1010_0000);
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    let chunks: Vec<&[u8]> = data.chunks(100_000).collect();
    for (i, chunk) in chunks.iter().enumerate() {
        let last = u32::from(i + 1 == chunks.len());
        let header = last | ((chunk.len() as u32) << 3);
        out.extend_from_slice(&header.to_le_bytes()[..3]);
        out.extend_from_slice(chunk);
    }
    out
}

/// 05's README: fork the successful run before the reservation's receipt,
/// and the fork takes the compensation path while the original stays.
#[test]
fn the_05_readme_fork_takes_the_other_path_from_the_same_past() {
    let world = "worlds/05-chain-comp";
    let data = ran(world);
    let cache = shared_cache();
    let out = tempfile::tempdir().expect("tempdir");
    let fork = out.path().join("05-fork");
    let mut args = vec!["fork", world, "--at", "18", path_str(&fork)];
    args.extend(reader_args(&data, &cache));
    let r = aos(&args);
    assert_eq!(r.code, 0, "{r:?}");
    let at18 = cli_json("state", world, &data, &["--at", "18"]);
    assert_eq!(r.json()["state_hash"], at18["state_hash"]);
    let run = aos(&[
        "run",
        path_str(&fork),
        "--fixtures",
        "reserve-fails",
        "--until-idle",
        "--cache-dir",
        path_str(&cache),
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    let state = aos(&["state", path_str(&fork), "--json"]);
    assert_eq!(
        state.json()["reducers"][0]["state"]["phase"],
        "Refunded",
        "{state:?}"
    );
    let source = cli_json("state", world, &data, &[]);
    assert_eq!(source["reducers"][0]["state"]["phase"], "Completed");
    // diff against the source, through a fork of it at its head.
    let head = out.path().join("head");
    let mut args = vec!["fork", world, path_str(&head)];
    args.extend(reader_args(&data, &cache));
    assert_eq!(aos(&args).code, 0);
    let diff = aos(&["diff", path_str(&head), path_str(&fork), "--json"]);
    assert_eq!(diff.json()["first_difference"], 18, "{diff:?}");
}

/// `F` in the inspector: the prompt offers a folder beside the world, the
/// fork is made at the cursor, and `y` opens it.
#[test]
fn f_forks_at_the_cursor_and_offers_to_open_the_fork() {
    let world = "worlds/03-fetch-notify";
    let data = ran(world);
    let out = tempfile::tempdir().expect("tempdir");
    let dest = out.path().join("fork");
    for size in ["120x40", "80x24"] {
        let r = headless(world, &data, &["--keys", "b b b F", "--size", size]);
        assert_eq!(r.code, 0, "{r:?}");
        assert!(
            r.stdout
                .contains("fork into: worlds/03-fetch-notify-fork-9"),
            "{r:?}"
        );
        insta::assert_snapshot!(format!("fork_prompt_{size}"), scrub(&r.stdout));
    }
    let text = format!(
        "key b\nkey b\nkey b\nkey F\nkey C-u\ntype {}\nkey Enter\nexpect open it now? y/n\nkey y\nwait build\nexpect aos · fork\nexpect 9 entries\n",
        dest.display()
    );
    let file = script(&text);
    let r = headless(
        world,
        &data,
        &["--script", path_str(file.path()), "--size", "120x40"],
    );
    assert_eq!(r.code, 0, "{r:?}");
    let state = cli_json("state", world, &data, &["--at", "9"]);
    let replay = aos(&["replay", path_str(&dest), "--json"]);
    assert_eq!(
        replay.json()["state_hash"],
        state["state_hash"],
        "{replay:?}"
    );
    assert!(!repo_root().join("worlds/03-fetch-notify-fork-9").exists());
}

/// `F` into a folder that exists: the error is shown and the prompt stays
/// open with the text, so it can be corrected; nothing is written.
#[test]
fn f_into_a_folder_that_exists_says_so_and_keeps_the_prompt() {
    let world = "worlds/03-fetch-notify";
    let data = ran(world);
    let taken = tempfile::tempdir().expect("tempdir");
    let before = std::fs::read_dir(taken.path()).expect("list").count();
    let text = format!(
        "key b\nkey F\nkey C-u\ntype {}\nkey Enter\nexpect already exists\nexpect fork into:\n",
        taken.path().display()
    );
    let file = script(&text);
    let r = headless(world, &data, &["--script", path_str(file.path())]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(
        std::fs::read_dir(taken.path()).expect("list").count(),
        before
    );
}
