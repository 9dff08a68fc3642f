//! The local side of a sync: a directory (DSS's local managed folders), or anything else that
//! can list, stream, write and delete files (DSS's folder API, bridged from Python).

use std::collections::VecDeque;
use std::fs;
use std::io::{self, Read, Write};
use std::path::{Component, Path, PathBuf};
use std::time::SystemTime;

use bytes::Bytes;

use crate::error::{GkeError, Result};

/// One file of the local side; `path` is relative and `/`-separated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalFile {
    pub path: String,
    pub size: u64,
    /// Last modification, when the side knows it: with the size, how a change is noticed.
    pub modified: Option<SystemTime>,
}

/// What a listing found: the files, and the entries it could not list, each with why.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Listing {
    pub files: Vec<LocalFile>,
    pub unlisted: Vec<Unlisted>,
}

/// An entry of the folder that is not synced: a dangling link, a link loop, an unreadable
/// subfolder, a name that is not UTF-8...; the sync names it in its report and goes on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unlisted {
    /// Relative and `/`-separated; bytes that are not UTF-8 are shown as `\xNN`.
    pub path: String,
    pub reason: String,
    /// Whether the entry may hold data the sync leaves behind (an unreadable subfolder), as
    /// opposed to nothing to sync (a link to nothing).
    pub holds_data: bool,
}

/// Blocking file access; the sync calls it from tokio's blocking threads.
pub trait FolderIo: Send + Sync + 'static {
    /// What the side is, for the report (`/data/folder`, `managed folder 'in'`).
    fn describe(&self) -> String;
    /// What names this folder uniquely on this host, when its files' modification times can
    /// be trusted to change with their content: the key of its remembered checksums
    /// (`sync/checksums.rs`). `None`: every file is hashed at each sync.
    fn checksum_key(&self) -> Option<String> {
        None
    }
    /// Every file; an entry that cannot be read is [`Unlisted`], only a folder that cannot be
    /// listed at all is an error.
    fn list(&self) -> Result<Listing>;
    fn stat(&self, path: &str) -> Result<Option<LocalFile>>;
    fn open(&self, path: &str) -> Result<Box<dyn Read + Send>>;
    /// Writes `path` from `content`, which fails instead of ending when the download behind
    /// it was not verified: the file then must not appear (or keep its old content).
    fn write(&self, path: &str, content: Box<dyn Read + Send>) -> Result<()>;
    /// Writes `path` from a download's batches of received bytes, in order (an error in place
    /// of the end when the download was not verified); by default through [`write`].
    ///
    /// [`write`]: FolderIo::write
    fn write_batches(&self, path: &str, batches: Batches) -> Result<()> {
        self.write(path, Box::new(BatchReader::new(batches)))
    }
    /// Whether writing a small file (a create, a write and a rename) is quick enough to be
    /// done on an async task's own thread: true for a directory of this host, not for the DSS
    /// API.
    fn writes_inline(&self) -> bool {
        false
    }
    fn delete(&self, path: &str) -> Result<()>;
}

/// A download's received bytes, batch by batch; an error instead of the end when it was not
/// verified.
pub type Batches = Box<dyn Iterator<Item = io::Result<Vec<Bytes>>> + Send>;

/// [`Batches`] as a reader, for folders written from one.
pub struct BatchReader {
    batches: Batches,
    pending: VecDeque<Bytes>,
}

impl BatchReader {
    pub fn new(batches: Batches) -> Self {
        Self {
            batches,
            pending: VecDeque::new(),
        }
    }
}

impl Read for BatchReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pending.iter().all(Bytes::is_empty) {
            match self.batches.next() {
                Some(batch) => self.pending = batch?.into(),
                None => return Ok(0),
            }
        }
        let mut n = 0;
        while let Some(front) = self.pending.front_mut() {
            let take = (buf.len() - n).min(front.len());
            buf[n..n + take].copy_from_slice(&front[..take]);
            n += take;
            if take < front.len() {
                *front = front.slice(take..);
                break;
            }
            self.pending.pop_front();
        }
        Ok(n)
    }
}

/// All of `pieces` written to `out` in as few calls as the system allows (no copy into a
/// buffer of ours first).
fn write_pieces(out: &mut fs::File, pieces: &[Bytes]) -> io::Result<()> {
    let mut slices: Vec<io::IoSlice> = pieces
        .iter()
        .filter(|p| !p.is_empty())
        .map(|p| io::IoSlice::new(p))
        .collect();
    let mut rest = &mut slices[..];
    while !rest.is_empty() {
        match out.write_vectored(rest) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => io::IoSlice::advance_slices(&mut rest, n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// The end of the name of a download in progress: `.NAME.PID-RANDOM.gke-native-part`,
/// renamed to NAME once verified. Unique to each download, so that syncs into one folder
/// never share one; never listed (whichever run it belongs to), never deleted by a listing.
const PARTIAL_SUFFIX: &str = ".gke-native-part";

/// The size of the writes of a download.
const WRITE_BLOCK: usize = 256 * 1024;

/// Room kept in a 255-byte file name for the dot, the tag and the suffix.
const PARTIAL_NAME_MAX: usize = 200;

/// A partial name for `name` that no other download (in this process or another) uses.
fn partial_name(name: &str) -> String {
    let mut cut = name.len().min(PARTIAL_NAME_MAX);
    while !name.is_char_boundary(cut) {
        cut -= 1;
    }
    format!(
        ".{}.{}-{:016x}{PARTIAL_SUFFIX}",
        &name[..cut],
        std::process::id(),
        rand::random::<u64>()
    )
}

/// Whether `name` is a download in progress ([`partial_name`]), of whichever run; a user's
/// own `x.gke-native-part` is not.
fn is_partial_name(name: &str) -> bool {
    let Some(stem) = name
        .strip_suffix(PARTIAL_SUFFIX)
        .filter(|_| name.starts_with('.'))
    else {
        return false;
    };
    let Some((_, tag)) = stem[1..].rsplit_once('.') else {
        return false;
    };
    let Some((pid, random)) = tag.split_once('-') else {
        return false;
    };
    !pid.is_empty()
        && pid.bytes().all(|b| b.is_ascii_digit())
        && random.len() == 16
        && random.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A file name as the report shows it: UTF-8 as is, other bytes as `\xNN`.
fn display_name(name: &std::ffi::OsStr) -> String {
    use std::os::unix::ffi::OsStrExt;
    let mut out = String::new();
    for chunk in name.as_bytes().utf8_chunks() {
        out.push_str(chunk.valid());
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02X}"));
        }
    }
    out
}

/// A directory on this host.
#[derive(Debug, Clone)]
pub struct LocalDir {
    root: PathBuf,
}

impl LocalDir {
    pub fn new(root: impl Into<PathBuf>, field: &str) -> Result<Self> {
        let root = root.into();
        if !root.is_dir() {
            return Err(GkeError::validation(
                field,
                format!("{} is not a directory", root.display()),
            ));
        }
        Ok(Self { root })
    }

    /// Writes `path` through `fill` into a new partial file beside it, renamed into place once
    /// `fill` succeeded: readers never see half a file, and a failed write leaves nothing.
    fn write_with(
        &self,
        path: &str,
        fill: impl FnOnce(&mut fs::File) -> io::Result<()>,
    ) -> Result<()> {
        let full = self.resolve(path)?;
        let parent = full.parent().unwrap_or(&self.root);
        let name = full.file_name().and_then(|n| n.to_str()).unwrap_or("file");
        let partial = parent.join(partial_name(name));
        // Exclusive: never writes through a file (or a link) that is already there.
        let create = || {
            fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&partial)
        };
        // The folder is made when it is missing, not asked for before every file (a mkdir
        // takes the lock of the folder above, which parallel downloads contend for).
        let out = match create() {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                fs::create_dir_all(parent).map_err(|e| io_error("creating", parent, e))?;
                create()
            }
            other => other,
        };
        let mut created = false;
        let outcome = (|| {
            let mut out = out?;
            created = true;
            fill(&mut out)?;
            drop(out);
            fs::rename(&partial, &full)
        })();
        outcome.map_err(|e| {
            if created {
                let _ = fs::remove_file(&partial);
            }
            io_error("writing", &full, e)
        })
    }

    /// `relative` under the root, refusing anything that would leave it.
    fn resolve(&self, relative: &str) -> Result<PathBuf> {
        let rel = Path::new(relative);
        let safe =
            !relative.is_empty() && rel.components().all(|c| matches!(c, Component::Normal(_)));
        if !safe {
            return Err(GkeError::storage(format!(
                "{relative:?} is not a file path inside the folder"
            )));
        }
        Ok(self.root.join(rel))
    }

    /// Lists `dir` (`prefix` is its relative path with a trailing `/`) into `out`. Only the
    /// root's own listing failing is an error; anything below is put in `out.unlisted`.
    fn walk(&self, dir: &Path, prefix: &str, out: &mut Listing) -> io::Result<()> {
        let unlisted = |out: &mut Listing, path: String, reason: String, holds_data: bool| {
            tracing::warn!("not syncing {path}: {reason}");
            out.unlisted.push(Unlisted {
                path,
                reason,
                holds_data,
            });
        };
        let this = prefix.trim_end_matches('/').to_string();
        let entries = match fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) if prefix.is_empty() => return Err(e),
            Err(e) => {
                unlisted(
                    out,
                    this,
                    format!("the subfolder cannot be read: {e}"),
                    true,
                );
                return Ok(());
            }
        };
        for entry in entries {
            let entry = match entry {
                Ok(entry) => entry,
                Err(e) if prefix.is_empty() => return Err(e),
                Err(e) => {
                    let reason = format!("the subfolder could not be read to the end: {e}");
                    unlisted(out, this, reason, true);
                    return Ok(());
                }
            };
            let os_name = entry.file_name();
            let Some(name) = os_name.to_str().map(str::to_string) else {
                let reason =
                    "its name is not UTF-8, and GCS object names are: rename it to sync it";
                unlisted(
                    out,
                    format!("{prefix}{}", display_name(&os_name)),
                    reason.into(),
                    true,
                );
                continue;
            };
            let rel = format!("{prefix}{name}");
            let mut kind = match entry.file_type() {
                Ok(kind) => kind,
                Err(e) => {
                    unlisted(out, rel, format!("cannot be read: {e}"), true);
                    continue;
                }
            };
            if kind.is_symlink() {
                match fs::metadata(entry.path()) {
                    Ok(meta) => kind = meta.file_type(),
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {
                        let target = fs::read_link(entry.path())
                            .map(|t| format!(" ({})", t.display()))
                            .unwrap_or_default();
                        let reason = format!("a symbolic link whose target{target} does not exist");
                        unlisted(out, rel, reason, false);
                        continue;
                    }
                    Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
                        let reason = "a symbolic link that loops (it leads back to itself)";
                        unlisted(out, rel, reason.into(), false);
                        continue;
                    }
                    Err(e) => {
                        unlisted(
                            out,
                            rel,
                            format!("a symbolic link that cannot be followed: {e}"),
                            true,
                        );
                        continue;
                    }
                }
                if kind.is_dir() {
                    // Linked directories are not followed: no cycles, no syncing outside the folder.
                    let reason =
                        "a symbolic link to a directory: links to directories are not followed";
                    unlisted(out, rel, reason.into(), false);
                    continue;
                }
            }
            if kind.is_dir() {
                self.walk(&entry.path(), &format!("{rel}/"), out)?;
            } else if kind.is_file() {
                if is_partial_name(&name) {
                    // A download in progress (this run's or another's), or one a killed run left.
                    continue;
                }
                match fs::metadata(entry.path()) {
                    Ok(meta) => out.files.push(LocalFile {
                        path: rel,
                        size: meta.len(),
                        modified: meta.modified().ok(),
                    }),
                    Err(e) => unlisted(out, rel, format!("cannot be read: {e}"), true),
                }
            } else {
                unlisted(
                    out,
                    rel,
                    "not a regular file (a socket, pipe or device)".into(),
                    false,
                );
            }
        }
        Ok(())
    }
}

fn io_error(what: &str, path: &Path, e: io::Error) -> GkeError {
    GkeError::storage(format!("{what} {}: {e}", path.display()))
}

impl FolderIo for LocalDir {
    fn describe(&self) -> String {
        self.root.display().to_string()
    }

    fn checksum_key(&self) -> Option<String> {
        fs::canonicalize(&self.root)
            .ok()
            .map(|p| p.display().to_string())
    }

    fn list(&self) -> Result<Listing> {
        let mut out = Listing::default();
        self.walk(&self.root, "", &mut out)
            .map_err(|e| io_error("listing", &self.root, e))?;
        out.files.sort_by(|a, b| a.path.cmp(&b.path));
        out.unlisted.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(out)
    }

    fn stat(&self, path: &str) -> Result<Option<LocalFile>> {
        let full = self.resolve(path)?;
        match fs::metadata(&full) {
            Ok(meta) => Ok(Some(LocalFile {
                path: path.to_string(),
                size: meta.len(),
                modified: meta.modified().ok(),
            })),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_error("reading", &full, e)),
        }
    }

    fn open(&self, path: &str) -> Result<Box<dyn Read + Send>> {
        let full = self.resolve(path)?;
        let file = fs::File::open(&full).map_err(|e| io_error("opening", &full, e))?;
        Ok(Box::new(file))
    }

    fn writes_inline(&self) -> bool {
        true
    }

    fn write(&self, path: &str, mut content: Box<dyn Read + Send>) -> Result<()> {
        self.write_with(path, |out| {
            // Written in large blocks, not in the pieces the reader gives.
            let mut out = io::BufWriter::with_capacity(WRITE_BLOCK, out);
            io::copy(&mut content, &mut out)?;
            out.flush()
        })
    }

    fn write_batches(&self, path: &str, batches: Batches) -> Result<()> {
        self.write_with(path, |out| {
            for batch in batches {
                write_pieces(out, &batch?)?;
            }
            Ok(())
        })
    }

    fn delete(&self, path: &str) -> Result<()> {
        let full = self.resolve(path)?;
        match fs::remove_file(&full) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(io_error("deleting", &full, e)),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("gke-native-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn batches(items: Vec<io::Result<Vec<&'static str>>>) -> Batches {
        Box::new(items.into_iter().map(|item| {
            item.map(|texts| {
                texts
                    .into_iter()
                    .map(|t| Bytes::from_static(t.as_bytes()))
                    .collect()
            })
        }))
    }

    #[test]
    fn batches_are_written_whole_or_not_at_all() {
        let root = temp_dir("batches");
        let dir = LocalDir::new(&root, "folder").unwrap();
        let whole = batches(vec![Ok(vec!["ab", "", "c"]), Ok(vec![]), Ok(vec!["def"])]);
        dir.write_batches("new/f.txt", whole).unwrap();
        assert_eq!(fs::read(root.join("new/f.txt")).unwrap(), b"abcdef");
        // A download that fails after its first batch: the old file stays, nothing else.
        let failed = batches(vec![Ok(vec!["xyz"]), Err(io::Error::other("checksum"))]);
        let error = dir.write_batches("new/f.txt", failed).unwrap_err();
        assert!(error.to_string().contains("checksum"), "{error}");
        assert_eq!(fs::read(root.join("new/f.txt")).unwrap(), b"abcdef");
        assert_eq!(fs::read_dir(root.join("new")).unwrap().count(), 1);
        // Through a reader, as the DSS API's folders are written: the same bytes.
        let mut out = Vec::new();
        BatchReader::new(batches(vec![Ok(vec!["a", "bc"]), Ok(vec!["d"])]))
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, b"abcd");
        fs::remove_dir_all(&root).unwrap();
    }

    mod generated {
        use super::*;
        use proptest::prelude::*;

        /// Batches of pieces (empty ones included), as a download hands them over.
        fn batches_of() -> impl Strategy<Value = Vec<Vec<Vec<u8>>>> {
            let piece = proptest::collection::vec(any::<u8>(), 0..40);
            proptest::collection::vec(proptest::collection::vec(piece, 0..6), 0..6)
        }

        fn boxed(batches: &[Vec<Vec<u8>>], fail: bool) -> Batches {
            let mut items: Vec<io::Result<Vec<Bytes>>> = batches
                .iter()
                .map(|b| Ok(b.iter().map(|p| Bytes::from(p.clone())).collect()))
                .collect();
            if fail {
                items.push(Err(io::Error::other("checksum")));
            }
            Box::new(items.into_iter())
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 200, failure_persistence: None, ..ProptestConfig::default() })]
            /// Whatever the batches and the reader's buffer: the bytes in order, through a
            /// reader (the DSS API's folders) and through `writev` (a local folder); a failed
            /// download leaves the file there as it was and nothing beside it.
            #[test]
            fn batches_arrive_whole_in_order_or_not_at_all(
                batches in batches_of(),
                step in 1usize..50,
                fail in any::<bool>(),
            ) {
                let whole: Vec<u8> = batches.iter().flatten().flatten().copied().collect();
                let mut reader = BatchReader::new(boxed(&batches, false));
                let (mut read, mut buf) = (Vec::new(), vec![0u8; step]);
                loop {
                    match reader.read(&mut buf).unwrap() {
                        0 => break,
                        n => read.extend_from_slice(&buf[..n]),
                    }
                }
                prop_assert_eq!(&read, &whole);

                let root = temp_dir("generated-batches");
                let dir = LocalDir::new(&root, "folder").unwrap();
                fs::write(root.join("f"), b"before").unwrap();
                let written = dir.write_batches("f", boxed(&batches, fail));
                prop_assert_eq!(written.is_err(), fail);
                let expected: &[u8] = if fail { b"before" } else { &whole };
                prop_assert_eq!(fs::read(root.join("f")).unwrap(), expected);
                prop_assert_eq!(fs::read_dir(&root).unwrap().count(), 1);
                fs::remove_dir_all(&root).unwrap();
            }
        }
    }

    fn files(dir: &LocalDir) -> Vec<(String, u64)> {
        let listing = dir.list().unwrap();
        listing
            .files
            .into_iter()
            .map(|f| (f.path, f.size))
            .collect()
    }

    #[test]
    fn lists_recursively_and_writes_atomically() {
        let root = temp_dir("localdir");
        fs::create_dir_all(root.join("a/b")).unwrap();
        fs::write(root.join("a/b/c.txt"), "abc").unwrap();
        fs::write(root.join("top"), "t").unwrap();
        let dir = LocalDir::new(&root, "f").unwrap();
        assert_eq!(
            files(&dir),
            [("a/b/c.txt".to_string(), 3), ("top".to_string(), 1)]
        );

        dir.write("n/new.bin", Box::new(&b"data"[..])).unwrap();
        assert_eq!(fs::read(root.join("n/new.bin")).unwrap(), b"data");
        assert_eq!(
            fs::read_dir(root.join("n")).unwrap().count(),
            1,
            "no partial left"
        );

        struct Failing;
        impl Read for Failing {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::Error::other("checksum mismatch"))
            }
        }
        assert!(dir.write("top", Box::new(Failing)).is_err());
        assert_eq!(
            fs::read(root.join("top")).unwrap(),
            b"t",
            "old content kept"
        );
        assert_eq!(dir.list().unwrap().files.len(), 3);
        assert_eq!(
            fs::read_dir(&root).unwrap().count(),
            3,
            "the partial was removed"
        );

        for bad in ["../x", "/etc/passwd", ""] {
            assert!(dir.open(bad).is_err(), "{bad}");
        }
        dir.delete("top").unwrap();
        dir.delete("top").unwrap();
        assert_eq!(dir.stat("top").unwrap(), None);
        fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn users_part_files_are_files_and_partials_are_unique() {
        let root = temp_dir("partials");
        fs::write(root.join("x.gke-native-part"), "mine").unwrap();
        fs::write(root.join(".y.gke-native-part"), "mine too").unwrap();
        // A download another run has in progress here.
        let theirs = partial_name("z");
        fs::write(root.join(&theirs), "half").unwrap();
        let dir = LocalDir::new(&root, "f").unwrap();
        assert_eq!(
            files(&dir),
            [
                (".y.gke-native-part".to_string(), 8),
                ("x.gke-native-part".to_string(), 4)
            ]
        );
        assert_eq!(
            fs::read(root.join(&theirs)).unwrap(),
            b"half",
            "never deleted"
        );

        assert_ne!(partial_name("z"), partial_name("z"));
        assert!(is_partial_name(&partial_name("z")));
        assert!(is_partial_name(&partial_name(&"é".repeat(200))));
        assert!(partial_name(&"é".repeat(200)).len() <= 255);
        for user in [
            "x.gke-native-part",
            ".x.gke-native-part",
            ".a.1-zz.gke-native-part",
        ] {
            assert!(!is_partial_name(user), "{user}");
        }
        fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn entries_that_cannot_be_read_are_named_not_fatal() {
        use std::os::unix::ffi::OsStrExt;
        use std::os::unix::fs::symlink;
        let root = temp_dir("unlisted");
        fs::create_dir_all(root.join("d")).unwrap();
        fs::write(root.join("d/ok"), "ok").unwrap();
        symlink(root.join("nowhere"), root.join("d/dangling")).unwrap();
        symlink(root.join("loop"), root.join("loop")).unwrap();
        symlink(root.join("d"), root.join("linked-dir")).unwrap();
        fs::write(root.join("d/ok"), "ok").unwrap();
        let odd = std::ffi::OsStr::from_bytes(b"caf\xe9.txt");
        fs::write(root.join("d").join(odd), "latin-1").unwrap();
        let dir = LocalDir::new(&root, "f").unwrap();
        let listing = dir.list().unwrap();
        assert_eq!(
            listing
                .files
                .iter()
                .map(|f| f.path.as_str())
                .collect::<Vec<_>>(),
            ["d/ok"]
        );
        let unlisted: Vec<(&str, bool)> = listing
            .unlisted
            .iter()
            .map(|u| (u.path.as_str(), u.holds_data))
            .collect();
        assert_eq!(
            unlisted,
            [
                ("d/caf\\xE9.txt", true),
                ("d/dangling", false),
                ("linked-dir", false),
                ("loop", false)
            ]
        );
        let reason = |p: &str| {
            &listing
                .unlisted
                .iter()
                .find(|u| u.path == p)
                .unwrap()
                .reason
        };
        assert!(reason("d/dangling").contains("does not exist"));
        assert!(reason("loop").contains("loops"));
        assert!(reason("d/caf\\xE9.txt").contains("not UTF-8"));
        fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn an_unreadable_subfolder_is_named_not_fatal() {
        use std::os::unix::fs::PermissionsExt;
        let root = temp_dir("unreadable");
        fs::create_dir_all(root.join("locked")).unwrap();
        fs::write(root.join("locked/secret"), "s").unwrap();
        fs::write(root.join("open"), "o").unwrap();
        fs::set_permissions(root.join("locked"), fs::Permissions::from_mode(0o000)).unwrap();
        let dir = LocalDir::new(&root, "f").unwrap();
        // As root, this thread gives up reading what it has no permission for.
        let listing = std::thread::spawn(move || {
            for cap in [
                caps::Capability::CAP_DAC_OVERRIDE,
                caps::Capability::CAP_DAC_READ_SEARCH,
            ] {
                let _ = caps::drop(None, caps::CapSet::Effective, cap);
            }
            dir.list()
        })
        .join()
        .unwrap()
        .unwrap();
        fs::set_permissions(root.join("locked"), fs::Permissions::from_mode(0o700)).unwrap();
        assert_eq!(listing.files.len(), 1);
        assert_eq!(listing.unlisted.len(), 1);
        let u = &listing.unlisted[0];
        assert_eq!((u.path.as_str(), u.holds_data), ("locked", true));
        assert!(
            u.reason.contains("cannot be read") && u.reason.contains("ermission"),
            "{u:?}"
        );
        fs::remove_dir_all(root).unwrap();
    }
}
