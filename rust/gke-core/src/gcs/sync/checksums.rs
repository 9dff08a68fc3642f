//! What the folder's files hashed to, kept between runs: a file whose size and modification time
//! are those it had when it was last read has the same CRC32C (and MD5) as then, so a re-sync
//! with nothing changed reads no file, only their metadata (as `rclone` compares size and time).
//!
//! Kept in one JSON file per folder beside the upload sessions (mode 0600), loaded at the start
//! of a sync and written at its end. A file read less than [`SETTLE`] after it was modified is
//! not remembered: it may change again within the same tick of its clock (git's "racy" files).
//! An entry that does not match the file as listed (size, time) is ignored and replaced; a
//! missing or unreadable cache is an empty one.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::gcs::checksum::ObjectChecksums;
use crate::gcs::folder::LocalFile;

/// How long after its last modification a file must have been read for its checksum to be kept.
pub const SETTLE: Duration = Duration::from_secs(1);

/// The version of the file's format: another one is read as empty.
const FORMAT: u32 = 1;

/// One file as it was when read: size, modification time (ns since the epoch), checksums.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Known {
    size: u64,
    mtime_ns: u128,
    crc32c: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    md5: Option<[u8; 16]>,
}

#[derive(Serialize, Deserialize)]
struct Saved {
    format: u32,
    folder: String,
    files: HashMap<String, Known>,
}

/// The remembered checksums of one folder's files.
pub(super) struct Checksums {
    file: Option<PathBuf>,
    folder: String,
    known: Mutex<HashMap<String, Known>>,
    changed: AtomicBool,
}

fn nanos(time: SystemTime) -> Option<u128> {
    time.duration_since(UNIX_EPOCH).ok().map(|d| d.as_nanos())
}

impl Checksums {
    /// The cache of the folder `key` ([`FolderIo::checksum_key`](crate::gcs::folder::FolderIo))
    /// under `dir`; `None`: nothing is remembered (every file is hashed).
    pub(super) fn load(dir: Option<&Path>, folder: &str) -> Self {
        let file = dir.map(|d| d.join(format!("{}.json", id(folder))));
        let known = file
            .as_deref()
            .and_then(|f| std::fs::read(f).ok())
            .and_then(|bytes| serde_json::from_slice::<Saved>(&bytes).ok())
            .filter(|s| s.format == FORMAT && s.folder == folder)
            .map(|s| s.files)
            .unwrap_or_default();
        Self {
            file,
            folder: folder.to_string(),
            known: Mutex::new(known),
            changed: AtomicBool::new(false),
        }
    }

    /// The checksums `file` had when last read, if it has not changed since (size and time).
    pub(super) fn get(&self, file: &LocalFile) -> Option<ObjectChecksums> {
        self.file.as_ref()?;
        let mtime = nanos(file.modified?)?;
        let known = self.known.lock().expect("no panics while held");
        let k = known.get(&file.path)?;
        (k.size == file.size && k.mtime_ns == mtime).then_some(ObjectChecksums {
            crc32c: Some(k.crc32c),
            md5: k.md5,
        })
    }

    /// Remembers what `file` (as listed) hashed to, read from `read_at` on.
    pub(super) fn put(
        &self,
        file: &LocalFile,
        read_at: SystemTime,
        crc32c: u32,
        md5: Option<[u8; 16]>,
    ) {
        let (Some(modified), Some(_)) = (file.modified, &self.file) else {
            return;
        };
        let settled = read_at
            .duration_since(modified)
            .is_ok_and(|since| since >= SETTLE);
        let Some(mtime_ns) = nanos(modified).filter(|_| settled) else {
            return;
        };
        let mut known = self.known.lock().expect("no panics while held");
        let md5 = md5.or_else(|| {
            // An MD5 computed earlier of the same content is still its MD5.
            known
                .get(&file.path)
                .filter(|k| k.size == file.size && k.mtime_ns == mtime_ns && k.crc32c == crc32c)
                .and_then(|k| k.md5)
        });
        let entry = Known {
            size: file.size,
            mtime_ns,
            crc32c,
            md5,
        };
        if known.insert(file.path.clone(), entry) != Some(entry) {
            self.changed.store(true, Ordering::Relaxed);
        }
    }

    /// Keeps only the files `present` still lists.
    pub(super) fn retain(&self, present: &HashMap<String, LocalFile>) {
        let mut known = self.known.lock().expect("no panics while held");
        let before = known.len();
        known.retain(|path, _| present.contains_key(path));
        if known.len() != before {
            self.changed.store(true, Ordering::Relaxed);
        }
    }

    /// Writes what changed (mode 0600, replaced at once); a failure is logged, never fatal:
    /// the next run hashes again.
    pub(super) fn save(&self) {
        let Some(file) = &self.file else { return };
        if !self.changed.load(Ordering::Relaxed) {
            return;
        }
        let saved = Saved {
            format: FORMAT,
            folder: self.folder.clone(),
            files: self.known.lock().expect("no panics while held").clone(),
        };
        let written = serde_json::to_vec(&saved)
            .map_err(|e| e.to_string())
            .and_then(|bytes| {
                crate::net::private_file::write_private(file, &bytes).map_err(|e| e.to_string())
            });
        if let Err(e) = written {
            tracing::warn!("the folder's checksums were not kept for the next sync: {e}");
        }
    }
}

/// A file name for `folder` (64 bits of CRC32C; the file also names its folder, so that a
/// collision is an empty cache, never another folder's checksums).
fn id(folder: &str) -> String {
    let bytes = folder.as_bytes();
    let salted = crc32c::crc32c_append(0x9e37_79b9, bytes);
    format!("{:08x}{salted:08x}", crc32c::crc32c(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, size: u64, modified: SystemTime) -> LocalFile {
        LocalFile {
            path: path.into(),
            size,
            modified: Some(modified),
        }
    }

    #[test]
    fn a_file_as_it_was_read_keeps_its_checksum_and_any_change_forgets_it() {
        let dir = tempfile::tempdir().unwrap();
        let then = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let read = then + Duration::from_secs(5);
        let a = file("a.csv", 10, then);
        let cache = Checksums::load(Some(dir.path()), "/data/folder");
        cache.put(&a, read, 42, None);
        cache.put(
            &file("racy", 1, then),
            then + Duration::from_millis(200),
            7,
            None,
        );
        cache.save();

        let again = Checksums::load(Some(dir.path()), "/data/folder");
        assert_eq!(again.get(&a).and_then(|c| c.crc32c), Some(42));
        assert_eq!(
            again.get(&file("racy", 1, then)),
            None,
            "read too soon after a change"
        );
        assert_eq!(again.get(&file("a.csv", 11, then)), None, "size changed");
        let touched = then + Duration::from_nanos(1);
        assert_eq!(again.get(&file("a.csv", 10, touched)), None, "time changed");
        let no_time = LocalFile {
            modified: None,
            ..a.clone()
        };
        assert_eq!(again.get(&no_time), None);
        // Another folder does not see it; a corrupt cache is an empty one.
        assert_eq!(Checksums::load(Some(dir.path()), "/other").get(&a), None);
        let saved = dir.path().join(format!("{}.json", id("/data/folder")));
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&saved).unwrap().permissions().mode() & 0o777,
            0o600
        );
        std::fs::write(&saved, b"{not json").unwrap();
        assert_eq!(
            Checksums::load(Some(dir.path()), "/data/folder").get(&a),
            None
        );
    }

    #[test]
    fn files_no_longer_listed_are_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let then = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let cache = Checksums::load(Some(dir.path()), "f");
        for name in ["a", "b"] {
            cache.put(&file(name, 1, then), then + SETTLE, 1, Some([9; 16]));
        }
        let present: HashMap<String, LocalFile> = [("a".to_string(), file("a", 1, then))].into();
        cache.retain(&present);
        cache.save();
        let again = Checksums::load(Some(dir.path()), "f");
        assert_eq!(again.get(&file("a", 1, then)).unwrap().md5, Some([9; 16]));
        assert_eq!(again.get(&file("b", 1, then)), None);
    }
}
