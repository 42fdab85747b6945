//! Persisted snapshots (ARCHITECTURE.md, "Snapshots"): the kernel state at
//! a unit boundary, stored as a store object and listed in the journal
//! folder's `snapshots` file, so an open loads the newest valid one and
//! replays only the journal after it. The list is a cache beside the
//! journal, which stays the only truth: a listed snapshot is used only when
//! its object's hash, its state hash, its height (a unit boundary within the
//! journal), the journal entry just before it and the manifest in force
//! there all match; anything else is ignored with a note. Being in the
//! journal folder, the list moves with its journal when one is set aside.
//!
//! The file is text, one snapshot per line after a header:
//!
//! ```text
//! aos-snapshots 1
//! <height> <state hash> <object hash> <hash of entry height-1> <manifest hash>
//! ```

use super::{Boundaries, OpenEvent, Stage, World, WorldError};
use crate::fs::{Fs, Kind};
use crate::hash::Hash;
use crate::kernel::KernelState;
use std::io;
use std::path::{Path, PathBuf};

const FILE: &str = "snapshots";
const HEADER: &str = "aos-snapshots 1";
/// The newest snapshots kept in the list (older objects stay in the store).
pub(super) const KEEP: usize = 8;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Listed {
    pub(super) height: u64,
    pub(super) state_hash: Hash,
    /// The store object holding the encoded state.
    pub(super) object: Hash,
    /// Hash of the journal entry at `height - 1`: ties the snapshot to
    /// this journal, not one set aside or rewritten since.
    pub(super) last_entry: Hash,
    /// The manifest in force at `height`.
    pub(super) manifest: Hash,
}

/// The list as found, with what could not be read in it.
#[derive(Debug, Default)]
pub(super) struct List {
    /// Ascending by height.
    pub(super) items: Vec<Listed>,
    pub(super) problems: Vec<String>,
}

pub(super) fn path(journal_dir: &Path) -> PathBuf {
    journal_dir.join(FILE)
}

/// Reads the list; a missing file is an empty list, an unreadable line a
/// problem (the rest is still used).
pub(super) fn read(fs: &dyn Fs, journal_dir: &Path) -> List {
    let file = path(journal_dir);
    let mut list = List::default();
    match fs.kind(&file) {
        Ok(None) => return list,
        Ok(Some(Kind::File)) => {}
        Ok(Some(_)) => {
            list.problems.push(format!(
                "{} is not a regular file: snapshots are not used",
                file.display()
            ));
            return list;
        }
        Err(e) => {
            list.problems
                .push(format!("{}: {e}: snapshots are not used", file.display()));
            return list;
        }
    }
    let text = match fs.read(&file) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(e) => {
            list.problems
                .push(format!("{}: {e}: snapshots are not used", file.display()));
            return list;
        }
    };
    let mut lines = text.lines().enumerate();
    if lines.next().map(|(_, l)| l) != Some(HEADER) {
        list.problems.push(format!(
            "{}: not a snapshot list (no \"{HEADER}\" header): snapshots are not used",
            file.display()
        ));
        return list;
    }
    for (i, line) in lines {
        match parse_line(line) {
            Some(item) => list.items.push(item),
            None => list.problems.push(format!(
                "{} line {}: not a snapshot record: ignored",
                file.display(),
                i + 1
            )),
        }
    }
    list.items.sort_by_key(|s| s.height);
    list.items.dedup_by_key(|s| s.height);
    list
}

fn parse_line(line: &str) -> Option<Listed> {
    let mut parts = line.split(' ');
    let item = Listed {
        height: parts.next()?.parse().ok()?,
        state_hash: Hash::parse(parts.next()?)?,
        object: Hash::parse(parts.next()?)?,
        last_entry: Hash::parse(parts.next()?)?,
        manifest: Hash::parse(parts.next()?)?,
    };
    parts.next().is_none().then_some(item)
}

/// Replaces the list (atomically: a crash leaves the old one or the new).
pub(super) fn write(fs: &dyn Fs, journal_dir: &Path, items: &[Listed]) -> io::Result<()> {
    let mut text = format!("{HEADER}\n");
    for s in items {
        text.push_str(&format!(
            "{} {} {} {} {}\n",
            s.height,
            s.state_hash.to_hex(),
            s.object.to_hex(),
            s.last_entry.to_hex(),
            s.manifest.to_hex()
        ));
    }
    crate::fs::write_atomic_with(fs, &path(journal_dir), text.as_bytes())
}

/// A snapshot is saved at close when at least this many entries followed
/// the newest one (smaller worlds replay faster than they snapshot).
pub(super) const AT_CLOSE_MIN: u64 = 4096;
/// Snapshots are taken (periodically and at close) only while at most this
/// many items wait in the inbox: an inbox holds each event's value, so a
/// million queued events would make a snapshot of hundreds of megabytes.
/// The next quiet moment takes it instead.
pub(super) const INBOX_MAX: usize = 1024;

impl World {
    /// Height of the newest listed snapshot (0: none).
    pub(super) fn newest_snapshot(&self) -> u64 {
        self.snapshots.last().map_or(0, |s| s.height)
    }

    /// The height of the snapshot this open started from, when it did not
    /// replay from genesis; the part below it is verified by
    /// [`World::verifier`](super::World::verifier).
    pub fn opened_from_snapshot(&self) -> Option<u64> {
        self.opened_from
    }

    /// How many journal records open read: those of the segment being
    /// appended to and of any sealed one without a valid index file
    /// (ARCHITECTURE.md, "The segment index").
    pub fn records_read_at_open(&self) -> u64 {
        self.scanned_at_open
    }

    /// The state of the newest listed snapshot in `(above, target]`, for
    /// time travel to start from instead of an older checkpoint. One that
    /// does not check out is skipped (open already reported the newest).
    pub(super) fn listed_state(&self, above: u64, target: u64) -> Option<KernelState> {
        self.snapshots
            .iter()
            .rev()
            .filter(|s| s.height > above && s.height <= target)
            .find_map(|s| load_listed(self, s, &self.boundaries).ok())
    }

    /// Saves the head state as a snapshot and lists it. Writers only; the
    /// journal must be committed up to the head. `Ok(false)`: nothing to
    /// save (an empty journal, or the head is already listed).
    pub fn save_snapshot(&mut self) -> Result<bool, WorldError> {
        let height = self.head.height;
        if self.is_read_only() || height == 0 || self.newest_snapshot() == height {
            return Ok(false);
        }
        let bytes = self.head.encode();
        let object = self.store.put(&bytes)?;
        let last_entry = Hash::of(&self.journal.read(height - 1)?);
        self.snapshots.push(Listed {
            height,
            state_hash: self.head.hash(),
            object,
            last_entry,
            manifest: self.program.manifest_hash,
        });
        let drop = self.snapshots.len().saturating_sub(KEEP);
        self.snapshots.drain(..drop);
        let dir = self.journal.dir().to_path_buf();
        write(self.fs.as_ref(), &dir, &self.snapshots).map_err(|source| WorldError::Io {
            op: "write",
            path: path(&dir),
            source,
        })?;
        Ok(true)
    }

    /// After a commit: saves a snapshot when `snapshot_every` entries
    /// followed the newest one. A snapshot is a cache, so failing to save
    /// one fails nothing journaled; it is noted.
    pub(super) fn snapshot_if_due(&mut self) {
        let every = self.snapshot_every;
        if every == 0
            || self.head.height < self.newest_snapshot() + every
            || self.head.inbox.len() > INBOX_MAX
        {
            return;
        }
        if let Err(e) = self.save_snapshot() {
            self.notes
                .push(format!("snapshot at #{} not saved: {e}", self.head.height));
        }
    }
}

/// Why a listed snapshot cannot start this journal, or its state.
fn load_listed(world: &World, s: &Listed, boundaries: &Boundaries) -> Result<KernelState, String> {
    let len = world.journal.len();
    if s.height == 0 || s.height > len {
        return Err(format!("the journal has {len} entries"));
    }
    if !boundaries.contains(s.height) {
        return Err("it is not at a unit boundary of this journal".into());
    }
    let entry = world
        .journal
        .read(s.height - 1)
        .map_err(|e| e.to_string())?;
    if Hash::of(&entry) != s.last_entry {
        return Err(format!(
            "entry #{} is not the one it followed: it belongs to another journal",
            s.height - 1
        ));
    }
    let bytes = match world.store.get(&s.object) {
        Ok(Some(bytes)) => bytes,
        Ok(None) => return Err(format!("its object {} is missing", s.object.short())),
        Err(e) => return Err(e.to_string()),
    };
    let state = KernelState::decode(&bytes).map_err(|e| format!("unreadable: {e}"))?;
    let hash = state.hash();
    if state.height != s.height || hash != s.state_hash {
        return Err(format!(
            "its state hashes to {} at #{}, not {} at #{}",
            hash.short(),
            state.height,
            s.state_hash.short(),
            s.height
        ));
    }
    Ok(state)
}

/// Opens from the newest listed snapshot that checks out (`indexed`: what
/// the open's scan collected), governance followed up to the snapshot, and its
/// state returned for the tail to be replayed onto. `None`: no usable
/// snapshot (each one tried and refused is noted), so open replays from
/// genesis as before. A writer drops refused snapshots from the list.
pub(super) fn start_from_snapshot(
    world: &mut World,
    list: List,
    indexed: super::index::Indexed,
    progress: &mut dyn FnMut(OpenEvent),
) -> Result<Option<KernelState>, WorldError> {
    let journal_dir = world.journal.dir().to_path_buf();
    world.notes.extend(list.problems);
    world.snapshots = list.items;
    let mut chosen = None;
    let mut refused = Vec::new();
    for s in world.snapshots.iter().rev() {
        match load_listed(world, s, &indexed.boundaries) {
            Ok(state) => {
                chosen = Some(state);
                break;
            }
            Err(why) => refused.push((s.height, why)),
        }
    }
    for (height, why) in &refused {
        world
            .notes
            .push(format!("snapshot at #{height} ignored: {why}"));
    }
    world
        .snapshots
        .retain(|s| !refused.iter().any(|(h, _)| *h == s.height));
    if !refused.is_empty() && !world.is_read_only() {
        if let Err(e) = write(world.fs.as_ref(), &journal_dir, &world.snapshots) {
            world.notes.push(format!(
                "the snapshot list {} could not be rewritten: {e}",
                path(&journal_dir).display()
            ));
        }
    }
    let Some(state) = chosen else {
        return Ok(None);
    };
    let height = state.height;
    let before = (
        world.air.clone(),
        world.program.clone(),
        world.programs.clone(),
    );
    for &seq in indexed.governance.iter().take_while(|&&g| g < height) {
        world.observe_governance(seq)?;
    }
    let listed = world.snapshots.iter().find(|s| s.height == height);
    if listed.map(|s| s.manifest) != Some(world.program.manifest_hash) {
        // Written under another manifest than this journal has there (the
        // code changed without a record): replay from genesis instead.
        world.notes.push(format!(
            "snapshot at #{height} ignored: it was taken under another manifest"
        ));
        (world.air, world.program, world.programs) = before;
        world.gov = Default::default();
        world.reducers.reset();
        return Ok(None);
    }
    for (seq, entry) in &indexed.effects {
        world.index_effects(*seq, std::slice::from_ref(entry));
    }
    world.boundaries = indexed.boundaries;
    world.boundaries.truncate(height);
    say_progress(
        progress,
        format!(
            "from the snapshot at #{height}: replaying the {} entries after it",
            world.journal.len() - height
        ),
    );
    Ok(Some(state))
}

fn say_progress(progress: &mut dyn FnMut(OpenEvent), message: String) {
    progress(OpenEvent::Progress {
        stage: Stage::Replay,
        message,
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::mem::MemFs;

    fn item(height: u64) -> Listed {
        Listed {
            height,
            state_hash: Hash::of(b"state"),
            object: Hash::of(b"object"),
            last_entry: Hash::of(b"entry"),
            manifest: Hash::of(b"manifest"),
        }
    }

    #[test]
    fn the_list_round_trips_and_bad_lines_are_reported_not_fatal() {
        let fs = MemFs::new();
        let dir = Path::new("/j");
        fs.create_dir_all(dir).expect("mkdir");
        assert!(read(&fs, dir).items.is_empty());
        write(&fs, dir, &[item(10), item(30)]).expect("write");
        let list = read(&fs, dir);
        assert_eq!(list.items, vec![item(10), item(30)]);
        assert!(list.problems.is_empty());

        let mut text = fs.contents(&path(dir)).expect("file");
        text.extend_from_slice(b"40 not-a-hash\n");
        fs.set_contents(&path(dir), &text);
        let list = read(&fs, dir);
        assert_eq!(list.items.len(), 2);
        assert!(list.problems[0].contains("line 4"), "{:?}", list.problems);

        fs.set_contents(&path(dir), b"something else\n");
        let list = read(&fs, dir);
        assert!(list.items.is_empty());
        assert!(list.problems[0].contains("header"), "{:?}", list.problems);
    }
}
