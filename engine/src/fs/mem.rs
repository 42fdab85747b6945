//! An in-memory file system that remembers what is durable. Every write,
//! length change and directory change stays *pending* until a sync makes it
//! durable (`sync_data` for a file's bytes, `sync_dir` for names). A crash
//! test stops the world at any operation (`crash_after`) and takes a
//! [`MemFs::crash_image`]: durable state plus each pending operation kept,
//! dropped or torn, chosen by a seed. This is how the journal and store are
//! tested against power loss (ARCHITECTURE.md, "Durability and recovery").

use super::{Fs, FsFile, Kind, OpenMode};
use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

#[derive(Debug, Clone)]
enum FileOp {
    Write { offset: u64, data: Vec<u8> },
    SetLen(u64),
}

#[derive(Debug, Clone, Default)]
struct MemFile {
    /// What a reader sees now.
    data: Vec<u8>,
    /// What survives a crash for sure.
    durable: Vec<u8>,
    /// Operations since the last sync, in order.
    pending: Vec<FileOp>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Node {
    File(u64),
    Dir,
}

#[derive(Debug, Clone)]
enum DirOp {
    Link(PathBuf, Node),
    Unlink(PathBuf),
    Rename(PathBuf, PathBuf),
}

impl DirOp {
    /// The directory whose sync makes this operation durable.
    fn dir(&self) -> Option<&Path> {
        match self {
            DirOp::Link(p, _) | DirOp::Unlink(p) | DirOp::Rename(_, p) => p.parent(),
        }
    }

    fn apply(&self, names: &mut BTreeMap<PathBuf, Node>) {
        match self {
            DirOp::Link(p, n) => {
                names.insert(p.clone(), *n);
            }
            DirOp::Unlink(p) => {
                names.remove(p);
            }
            DirOp::Rename(from, to) => {
                if let Some(n) = names.remove(from) {
                    names.insert(to.clone(), n);
                }
            }
        }
    }
}

#[derive(Debug, Default)]
struct State {
    files: BTreeMap<u64, MemFile>,
    names: BTreeMap<PathBuf, Node>,
    durable_names: BTreeMap<PathBuf, Node>,
    pending_dirs: Vec<DirOp>,
    next_id: u64,
    /// Mutating operations so far.
    ops: u64,
    /// Operation numbers (1-based) that were syncs.
    syncs: Vec<u64>,
    /// The operation after which everything fails.
    crash_after: Option<u64>,
    /// Bytes the files may hold in all; a write past it fails with ENOSPC.
    capacity: Option<u64>,
}

/// The in-memory file system; clones share one state.
#[derive(Clone, Default)]
pub struct MemFs {
    state: Arc<Mutex<State>>,
}

impl fmt::Debug for MemFs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MemFs")
    }
}

fn crashed() -> io::Error {
    io::Error::other("simulated power loss")
}

fn not_found(path: &Path) -> io::Error {
    io::Error::new(
        io::ErrorKind::NotFound,
        format!("{}: no such file", path.display()),
    )
}

/// A tiny deterministic generator for crash choices.
struct Rng(u64);

impl Rng {
    /// Spreads a small seed over the state (splitmix64), so neighbouring
    /// seeds choose differently from the first draw on.
    fn seeded(seed: u64) -> Rng {
        let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        Rng((z ^ (z >> 31)) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }
}

impl MemFs {
    pub fn new() -> MemFs {
        MemFs::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every mutating operation after the `n`th fails, as if the power went
    /// out there.
    pub fn crash_after(&self, n: u64) {
        self.lock().crash_after = Some(n);
    }

    /// Mutating operations performed so far.
    pub fn ops(&self) -> u64 {
        self.lock().ops
    }

    /// The numbers of the operations that were syncs.
    pub fn sync_points(&self) -> Vec<u64> {
        self.lock().syncs.clone()
    }

    /// What the disk could hold after power loss now: everything synced,
    /// and each pending operation kept, dropped or (for writes) torn, as
    /// `seed` chooses. `seed` 0 keeps every pending operation whole (a
    /// process kill: the OS still had the data).
    pub fn crash_image(&self, seed: u64) -> MemFs {
        let s = self.lock();
        let mut rng = Rng::seeded(seed);
        let choose = |rng: &mut Rng| if seed == 0 { 0 } else { rng.below(3) };
        let mut names = s.durable_names.clone();
        for op in &s.pending_dirs {
            if choose(&mut rng) != 1 {
                op.apply(&mut names);
            }
        }
        let mut files = BTreeMap::new();
        for node in names.values() {
            let Node::File(id) = node else { continue };
            let Some(f) = s.files.get(id) else { continue };
            let mut data = f.durable.clone();
            for op in &f.pending {
                match (choose(&mut rng), op) {
                    (1, _) => {}
                    (2, FileOp::Write { offset, data: d }) => {
                        // A torn write: a prefix lands, its last bytes garbled.
                        let keep = rng.below(d.len() as u64 + 1) as usize;
                        let mut part = d[..keep].to_vec();
                        if let Some(last) = part.last_mut() {
                            *last ^= 0x5a;
                        }
                        write_into(&mut data, *offset, &part);
                    }
                    (_, FileOp::Write { offset, data: d }) => write_into(&mut data, *offset, d),
                    (_, FileOp::SetLen(n)) => data.resize(*n as usize, 0),
                }
            }
            files.insert(
                *id,
                MemFile {
                    durable: data.clone(),
                    data,
                    pending: Vec::new(),
                },
            );
        }
        MemFs {
            state: Arc::new(Mutex::new(State {
                files,
                durable_names: names.clone(),
                names,
                pending_dirs: Vec::new(),
                next_id: s.next_id,
                ops: 0,
                syncs: Vec::new(),
                crash_after: None,
                capacity: None,
            })),
        }
    }

    /// Makes the disk full at `bytes` in all (`None`: unlimited): writes
    /// that would grow the files past it fail with ENOSPC, as a full disk
    /// does.
    pub fn set_capacity(&self, bytes: Option<u64>) {
        self.lock().capacity = bytes;
    }

    /// Bytes held by the files now.
    pub fn used(&self) -> u64 {
        self.lock().used()
    }

    /// The current bytes of a file (for tests that damage or inspect one).
    pub fn contents(&self, path: &Path) -> Option<Vec<u8>> {
        let s = self.lock();
        match s.names.get(path) {
            Some(Node::File(id)) => s.files.get(id).map(|f| f.data.clone()),
            _ => None,
        }
    }

    /// Replaces a file's bytes, durably (tests that plant damage).
    pub fn set_contents(&self, path: &Path, bytes: &[u8]) {
        let mut s = self.lock();
        let id = match s.names.get(path) {
            Some(Node::File(id)) => *id,
            _ => {
                let id = s.next_id;
                s.next_id += 1;
                s.names.insert(path.to_path_buf(), Node::File(id));
                s.durable_names.insert(path.to_path_buf(), Node::File(id));
                id
            }
        };
        s.files.insert(
            id,
            MemFile {
                data: bytes.to_vec(),
                durable: bytes.to_vec(),
                pending: Vec::new(),
            },
        );
    }
}

fn write_into(data: &mut Vec<u8>, offset: u64, bytes: &[u8]) {
    let at = offset as usize;
    if data.len() < at + bytes.len() {
        data.resize(at + bytes.len(), 0);
    }
    data[at..at + bytes.len()].copy_from_slice(bytes);
}

impl State {
    fn used(&self) -> u64 {
        self.files.values().map(|f| f.data.len() as u64).sum()
    }

    /// Fails with ENOSPC when growing file `id` to `new_len` overflows the
    /// capacity.
    fn room_for(&self, id: u64, new_len: u64) -> io::Result<()> {
        let Some(cap) = self.capacity else {
            return Ok(());
        };
        let old = self.files.get(&id).map_or(0, |f| f.data.len() as u64);
        if new_len > old && self.used() + (new_len - old) > cap {
            return Err(io::Error::from_raw_os_error(libc::ENOSPC));
        }
        Ok(())
    }

    /// Counts a mutating operation; fails once the crash point is passed.
    fn tick(&mut self) -> io::Result<()> {
        self.ops += 1;
        match self.crash_after {
            Some(n) if self.ops > n => Err(crashed()),
            _ => Ok(()),
        }
    }

    fn file_id(&self, path: &Path) -> io::Result<u64> {
        match self.names.get(path) {
            Some(Node::File(id)) => Ok(*id),
            Some(Node::Dir) => Err(io::Error::other(format!(
                "{} is a directory",
                path.display()
            ))),
            None => Err(not_found(path)),
        }
    }

    fn file(&mut self, id: u64) -> io::Result<&mut MemFile> {
        self.files
            .get_mut(&id)
            .ok_or_else(|| io::Error::other("file was removed"))
    }
}

impl Fs for MemFs {
    fn list(&self, dir: &Path) -> io::Result<Vec<(String, Kind)>> {
        let s = self.lock();
        if dir != Path::new("") && s.names.get(dir) != Some(&Node::Dir) {
            return Err(not_found(dir));
        }
        Ok(s.names
            .iter()
            .filter(|(p, _)| p.parent() == Some(dir))
            .filter_map(|(p, n)| {
                let name = p.file_name()?.to_str()?.to_owned();
                Some((
                    name,
                    match n {
                        Node::File(_) => Kind::File,
                        Node::Dir => Kind::Dir,
                    },
                ))
            })
            .collect())
    }

    fn kind(&self, path: &Path) -> io::Result<Option<Kind>> {
        Ok(self.lock().names.get(path).map(|n| match n {
            Node::File(_) => Kind::File,
            Node::Dir => Kind::Dir,
        }))
    }

    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        let mut s = self.lock();
        let mut missing = Vec::new();
        for a in dir.ancestors() {
            if a.as_os_str().is_empty() {
                break;
            }
            match s.names.get(a) {
                Some(Node::Dir) => break,
                Some(Node::File(_)) => {
                    return Err(io::Error::other(format!("{} is a file", a.display())))
                }
                None => missing.push(a.to_path_buf()),
            }
        }
        if !missing.is_empty() {
            s.tick()?;
        }
        for p in missing {
            // Directories are made durable at once: the code under test
            // syncs the files inside them, and that is what is checked.
            s.names.insert(p.clone(), Node::Dir);
            s.durable_names.insert(p, Node::Dir);
        }
        Ok(())
    }

    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        let s = self.lock();
        let id = s.file_id(path)?;
        s.files
            .get(&id)
            .map(|f| f.data.clone())
            .ok_or_else(|| not_found(path))
    }

    fn open(&self, path: &Path, mode: OpenMode) -> io::Result<Box<dyn FsFile>> {
        let mut s = self.lock();
        let exists = s.names.contains_key(path);
        let id = match (mode, exists) {
            (OpenMode::CreateNew, true) => {
                return Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    format!("{} exists", path.display()),
                ))
            }
            (OpenMode::CreateNew, false) | (OpenMode::ReadWrite, false) => {
                match path.parent() {
                    Some(p) if p.as_os_str().is_empty() || s.names.get(p) == Some(&Node::Dir) => {}
                    _ => return Err(not_found(path)),
                }
                s.tick()?;
                let id = s.next_id;
                s.next_id += 1;
                s.files.insert(id, MemFile::default());
                s.names.insert(path.to_path_buf(), Node::File(id));
                s.pending_dirs
                    .push(DirOp::Link(path.to_path_buf(), Node::File(id)));
                id
            }
            _ => s.file_id(path)?,
        };
        Ok(Box::new(MemHandle {
            fs: self.clone(),
            id,
        }))
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        let mut s = self.lock();
        s.tick()?;
        let node = s.names.remove(from).ok_or_else(|| not_found(from))?;
        s.names.insert(to.to_path_buf(), node);
        s.pending_dirs
            .push(DirOp::Rename(from.to_path_buf(), to.to_path_buf()));
        Ok(())
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        let mut s = self.lock();
        s.tick()?;
        s.file_id(path)?;
        s.names.remove(path);
        s.pending_dirs.push(DirOp::Unlink(path.to_path_buf()));
        Ok(())
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        let mut s = self.lock();
        s.tick()?;
        let n = s.ops;
        s.syncs.push(n);
        let pending = std::mem::take(&mut s.pending_dirs);
        let mut rest = Vec::new();
        for op in pending {
            if op.dir() == Some(dir) {
                op.apply(&mut s.durable_names);
            } else {
                rest.push(op);
            }
        }
        s.pending_dirs = rest;
        Ok(())
    }
}

struct MemHandle {
    fs: MemFs,
    id: u64,
}

impl MemHandle {
    fn mutate(&mut self, op: FileOp) -> io::Result<()> {
        let mut s = self.fs.lock();
        s.tick()?;
        if let FileOp::Write { offset, data } = &op {
            s.room_for(self.id, offset + data.len() as u64)?;
        }
        let f = s.file(self.id)?;
        match &op {
            FileOp::Write { offset, data } => write_into(&mut f.data, *offset, data),
            FileOp::SetLen(n) => f.data.resize(*n as usize, 0),
        }
        f.pending.push(op);
        Ok(())
    }
}

impl FsFile for MemHandle {
    fn len(&self) -> io::Result<u64> {
        let mut s = self.fs.lock();
        Ok(s.file(self.id)?.data.len() as u64)
    }

    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        let mut s = self.fs.lock();
        let f = s.file(self.id)?;
        let at = offset as usize;
        let src = f
            .data
            .get(at..at + buf.len())
            .ok_or_else(|| io::Error::from(io::ErrorKind::UnexpectedEof))?;
        buf.copy_from_slice(src);
        Ok(())
    }

    fn append(&mut self, data: &[u8]) -> io::Result<()> {
        let offset = self.len()?;
        self.mutate(FileOp::Write {
            offset,
            data: data.to_vec(),
        })
    }

    fn write_at(&mut self, data: &[u8], offset: u64) -> io::Result<()> {
        self.mutate(FileOp::Write {
            offset,
            data: data.to_vec(),
        })
    }

    fn set_len(&mut self, len: u64) -> io::Result<()> {
        self.mutate(FileOp::SetLen(len))
    }

    fn sync_data(&mut self) -> io::Result<()> {
        let mut s = self.fs.lock();
        s.tick()?;
        let n = s.ops;
        s.syncs.push(n);
        let f = s.file(self.id)?;
        f.durable = f.data.clone();
        f.pending.clear();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> PathBuf {
        PathBuf::from(s)
    }

    #[test]
    fn synced_data_survives_and_unsynced_data_may_not() {
        let fs = MemFs::new();
        fs.create_dir_all(&p("/d")).expect("mkdir");
        let mut f = fs.open(&p("/d/a"), OpenMode::CreateNew).expect("create");
        f.append(b"hello").expect("write");
        f.sync_data().expect("sync");
        fs.sync_dir(&p("/d")).expect("sync dir");
        f.append(b" world").expect("write");
        assert_eq!(fs.read(&p("/d/a")).expect("read"), b"hello world");
        let mut outcomes = std::collections::BTreeSet::new();
        for seed in 1..40 {
            let img = fs.crash_image(seed);
            let got = img.read(&p("/d/a")).expect("synced file exists");
            assert!(got.starts_with(b"hello"), "{got:?}");
            outcomes.insert(got);
        }
        assert!(outcomes.len() >= 3, "kept, dropped and torn all happen");
        assert_eq!(
            fs.crash_image(0).read(&p("/d/a")).expect("read"),
            b"hello world"
        );
    }

    #[test]
    fn a_name_not_synced_in_its_directory_may_vanish() {
        let fs = MemFs::new();
        fs.create_dir_all(&p("/d")).expect("mkdir");
        let mut f = fs.open(&p("/d/a"), OpenMode::CreateNew).expect("create");
        f.append(b"x").expect("write");
        f.sync_data().expect("sync");
        let vanished = (1..20).any(|seed| fs.crash_image(seed).kind(&p("/d/a")).ok() == Some(None));
        assert!(vanished);
    }

    #[test]
    fn after_the_crash_point_everything_fails() {
        let fs = MemFs::new();
        fs.create_dir_all(&p("/d")).expect("mkdir");
        fs.crash_after(2);
        let mut f = fs.open(&p("/d/a"), OpenMode::CreateNew).expect("op 2");
        assert!(f.append(b"x").is_err());
        assert!(f.sync_data().is_err());
        assert_eq!(fs.ops(), 4);
    }
}
