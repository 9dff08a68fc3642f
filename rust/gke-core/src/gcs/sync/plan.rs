//! The plan: each file against its counterpart, by size, then checksum (hashed in parallel).

use std::collections::HashMap;
use std::io::Read;
use std::sync::Arc;

use futures::StreamExt;

use super::checksums::Checksums;
use super::report::{SyncAction, SyncEntry};
use super::{Direction, SyncOptions};
use crate::error::{GkeError, Result};
use crate::gcs::checksum::{ChecksumKind, Hasher, ObjectChecksums};
use crate::gcs::client::RemoteObject;
use crate::gcs::folder::{FolderIo, LocalFile, Unlisted};

/// What the plan decided for one file.
pub(super) enum Step {
    Transfer {
        /// Relative to the folder and the prefix.
        path: String,
        local: Option<LocalFile>,
        remote: Option<RemoteObject>,
        size: u64,
        reason: String,
        known_crc32c: Option<u32>,
    },
    Delete {
        /// Relative to the folder and the prefix.
        path: String,
        /// The object to delete (uploads); `None`: the folder's file (downloads).
        remote: Option<RemoteObject>,
    },
    Done(SyncEntry),
}

pub(super) fn step_path(step: &Step) -> String {
    match step {
        Step::Transfer { path, .. } | Step::Delete { path, .. } => path.clone(),
        Step::Done(e) => e.path.clone(),
    }
}

/// Compares every file with its counterpart; hashes (in parallel) only same-size pairs whose
/// checksum is not remembered from an earlier run (`checksums`), and remembers what it hashed.
/// The folder's entries that could not be listed are reported, and what GCS holds under them
/// is never deleted.
pub(super) async fn plan(
    folder: Arc<dyn FolderIo>,
    local: &HashMap<String, LocalFile>,
    unlisted: &[Unlisted],
    remote: &HashMap<String, RemoteObject>,
    options: &SyncOptions,
    checksums: &Arc<Checksums>,
) -> Vec<Step> {
    let to_gcs = options.direction == Direction::ToGcs;
    let mut paths: Vec<&String> = if to_gcs {
        local.keys().collect()
    } else {
        remote.keys().collect()
    };
    paths.sort();
    let mut steps = Vec::new();
    let mut to_hash = Vec::new();
    for path in paths {
        let l = local.get(path).cloned();
        let r = remote.get(path).cloned();
        let size = if to_gcs {
            l.as_ref().map_or(0, |l| l.size)
        } else {
            r.as_ref().map_or(0, |r| r.size)
        };
        let transfer = |reason: String| Step::Transfer {
            path: path.clone(),
            local: l.clone(),
            remote: r.clone(),
            size,
            reason,
            known_crc32c: None,
        };
        match (&l, &r) {
            (_, None) | (None, _) => steps.push(transfer("new".into())),
            (Some(lf), Some(ro)) if lf.size != ro.size => steps.push(transfer(format!(
                "size differs (folder {}, GCS {})",
                lf.size, ro.size
            ))),
            (Some(_), Some(ro)) => match ro.checksums.preferred() {
                None => steps.push(transfer(
                    "the object has no CRC32C or MD5 to compare".into(),
                )),
                Some(kind) => {
                    let (lf, ro) = (l.clone().unwrap(), r.clone().unwrap());
                    match checksums.get(&lf).and_then(|c| Known::of(c, kind)) {
                        Some(known) => steps.push(compare(lf, ro, kind, Ok(known), to_gcs)),
                        None => to_hash.push((lf, ro, kind)),
                    }
                }
            },
        }
    }
    let hashed: Vec<Step> = futures::stream::iter(to_hash)
        .map(|(lf, ro, kind)| {
            let folder = folder.clone();
            let checksums = checksums.clone();
            async move {
                let path = lf.path.clone();
                let size = lf.size;
                let read_at = std::time::SystemTime::now();
                let hashed = tokio::task::spawn_blocking(move || {
                    hash_file_sized(folder.as_ref(), &path, size, kind == ChecksumKind::Md5)
                })
                .await
                .map_err(|e| GkeError::storage(format!("internal error: {e}")))
                .and_then(|r| r)
                .map(|h| {
                    let sums = h.finish();
                    let crc = sums.crc32c.expect("a hasher computes CRC32C");
                    checksums.put(&lf, read_at, crc, sums.md5);
                    Known::of(sums, kind).expect("the hasher computed the kind compared")
                });
                compare(lf, ro, kind, hashed, to_gcs)
            }
        })
        .buffer_unordered(options.parallelism.max(4))
        .collect()
        .await;
    steps.extend(hashed);

    // Destination files the source lacks, by their path relative to the folder and prefix.
    let extra: Vec<(String, Option<RemoteObject>, u64)> = if to_gcs {
        remote
            .iter()
            .filter(|(p, _)| !local.contains_key(*p))
            .map(|(p, r)| (p.clone(), Some(r.clone()), r.size))
            .collect()
    } else {
        local
            .iter()
            .filter(|(p, _)| !remote.contains_key(*p))
            .map(|(p, l)| (p.clone(), None, l.size))
            .collect()
    };
    for u in unlisted {
        // Downloads replace what is there (the entry is not read): a row for the object then.
        if !to_gcs && remote.contains_key(&u.path) {
            continue;
        }
        let failed = to_gcs && u.holds_data;
        steps.push(Step::Done(SyncEntry {
            path: u.path.clone(),
            action: if failed {
                SyncAction::Failed
            } else {
                SyncAction::Skipped
            },
            bytes: 0,
            reason: format!(
                "{}: {}",
                if failed { "not synced" } else { "skipped" },
                u.reason
            ),
        }));
    }
    let unread = |path: &str| {
        unlisted.iter().find(|u| {
            path.strip_prefix(u.path.as_str())
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        })
    };
    for (path, remote, size) in extra {
        let kept = if to_gcs { unread(&path) } else { None };
        if let Some(u) = kept {
            // The folder's side of it is unknown: the object is kept, and said so unless
            // the entry's own row already does.
            if u.path != path {
                steps.push(Step::Done(SyncEntry {
                    path,
                    action: SyncAction::Skipped,
                    bytes: size,
                    reason: format!("not deleted: the folder's {} was not read", u.path),
                }));
            }
        } else if options.delete_extra {
            steps.push(Step::Delete { path, remote });
        } else {
            steps.push(Step::Done(SyncEntry {
                path,
                action: SyncAction::Skipped,
                bytes: size,
                reason: "only in the destination; deleting extra files is off".into(),
            }));
        }
    }
    steps
}

/// A file's checksums as compared: the CRC32C (always known) and the MD5 when `kind` needs it.
struct Known(ObjectChecksums);

impl Known {
    fn of(sums: ObjectChecksums, kind: ChecksumKind) -> Option<Self> {
        let usable = match kind {
            ChecksumKind::Crc32c => sums.crc32c.is_some(),
            ChecksumKind::Md5 => sums.md5.is_some(),
        };
        usable.then_some(Self(sums))
    }

    /// Whether it matches what GCS holds, by the checksum `kind`.
    fn matches(&self, remote: &ObjectChecksums, kind: ChecksumKind) -> bool {
        match kind {
            ChecksumKind::Crc32c => remote.crc32c.is_some() && remote.crc32c == self.0.crc32c,
            ChecksumKind::Md5 => remote.md5.is_some() && remote.md5 == self.0.md5,
        }
    }
}

fn compare(
    lf: LocalFile,
    ro: RemoteObject,
    kind: ChecksumKind,
    hashed: Result<Known>,
    to_gcs: bool,
) -> Step {
    let size = lf.size;
    match hashed {
        Err(e) => Step::Done(SyncEntry {
            path: lf.path,
            action: SyncAction::Failed,
            bytes: 0,
            reason: format!("reading the folder's file: {e}"),
        }),
        Ok(h) if h.matches(&ro.checksums, kind) => Step::Done(SyncEntry {
            path: lf.path,
            action: SyncAction::Skipped,
            bytes: size,
            reason: format!("same size and {}", kind.name()),
        }),
        Ok(h) => Step::Transfer {
            path: lf.path.clone(),
            known_crc32c: h.0.crc32c.filter(|_| to_gcs),
            local: Some(lf),
            remote: Some(ro),
            size,
            reason: format!("{} differs", kind.name()),
        },
    }
}

pub(super) fn hash_file(folder: &dyn FolderIo, path: &str, with_md5: bool) -> Result<Hasher> {
    hash_file_sized(folder, path, u64::MAX, with_md5)
}

/// [`hash_file`] of a file expected to be `size` bytes: the buffer fits the file, so that a
/// re-sync of many small files does not clear 256 KiB for each.
fn hash_file_sized(folder: &dyn FolderIo, path: &str, size: u64, with_md5: bool) -> Result<Hasher> {
    let mut reader = folder.open(path)?;
    let mut hasher = Hasher::new(with_md5);
    let mut buf = vec![0u8; size.saturating_add(1).clamp(4096, 256 * 1024) as usize];
    loop {
        let n = reader
            .read(&mut buf)
            .map_err(|e| GkeError::storage(format!("reading {path}: {e}")))?;
        if n == 0 {
            return Ok(hasher);
        }
        hasher.update(&buf[..n]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gcs::location::GcsLocation;

    #[tokio::test]
    async fn what_the_folder_could_not_list_is_reported_and_never_deleted() {
        use crate::gcs::folder::LocalDir;
        let root = std::env::temp_dir().join(format!("gke-native-plan-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).unwrap();
        let folder: Arc<dyn FolderIo> = Arc::new(LocalDir::new(&root, "f").unwrap());
        let object = |name: &str| {
            let o = RemoteObject {
                name: format!("p/{name}"),
                size: 3,
                generation: 1,
                checksums: Default::default(),
            };
            (name.to_string(), o)
        };
        let remote: HashMap<String, RemoteObject> =
            ["locked/a", "locked/b/c", "lockedness", "link", "gone"]
                .into_iter()
                .map(object)
                .collect();
        let unlisted = |path: &str, holds_data| Unlisted {
            path: path.into(),
            reason: "why".into(),
            holds_data,
        };
        let unlisted = [unlisted("locked", true), unlisted("link", false)];
        let options = SyncOptions {
            location: GcsLocation::parse("gs://bkt/p", "f").unwrap(),
            direction: Direction::ToGcs,
            delete_extra: true,
            dry_run: false,
            parallelism: 4,
            state_dir: None,
        };
        let steps = plan(
            folder.clone(),
            &HashMap::new(),
            &unlisted,
            &remote,
            &options,
            &Arc::new(Checksums::load(None, "")),
        )
        .await;
        let mut rows: Vec<(String, String)> = steps
            .into_iter()
            .map(|s| match s {
                Step::Done(e) => (e.path, e.action.label().to_string()),
                Step::Delete { path, .. } => (path, "delete".into()),
                Step::Transfer { path, .. } => (path, "transfer".into()),
            })
            .collect();
        rows.sort();
        let expected = [
            ("gone", "delete"),
            ("link", "skipped"),
            ("locked", "failed"),
            ("locked/a", "skipped"),
            ("locked/b/c", "skipped"),
            ("lockedness", "delete"),
        ];
        let expected: Vec<(String, String)> = expected
            .iter()
            .map(|(p, a)| (p.to_string(), a.to_string()))
            .collect();
        assert_eq!(rows, expected);
        std::fs::remove_dir_all(root).unwrap();
    }

    /// A local folder that counts the files it opens.
    struct Counting {
        inner: crate::gcs::folder::LocalDir,
        opened: std::sync::atomic::AtomicUsize,
    }

    impl FolderIo for Counting {
        fn describe(&self) -> String {
            self.inner.describe()
        }
        fn checksum_key(&self) -> Option<String> {
            self.inner.checksum_key()
        }
        fn list(&self) -> Result<crate::gcs::folder::Listing> {
            self.inner.list()
        }
        fn stat(&self, path: &str) -> Result<Option<LocalFile>> {
            self.inner.stat(path)
        }
        fn open(&self, path: &str) -> Result<Box<dyn Read + Send>> {
            self.opened
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            self.inner.open(path)
        }
        fn write(&self, path: &str, content: Box<dyn Read + Send>) -> Result<()> {
            self.inner.write(path, content)
        }
        fn delete(&self, path: &str) -> Result<()> {
            self.inner.delete(path)
        }
    }

    #[tokio::test]
    async fn a_second_plan_reads_only_the_files_that_changed() {
        use crate::gcs::checksum::ObjectChecksums;
        let root = tempfile::tempdir().unwrap();
        let state = tempfile::tempdir().unwrap();
        let hour_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
        for (name, content) in [("a", "aaa"), ("b", "bbb"), ("c", "ccc")] {
            let path = root.path().join(name);
            std::fs::write(&path, content).unwrap();
            std::fs::File::options()
                .write(true)
                .open(&path)
                .unwrap()
                .set_modified(hour_ago)
                .unwrap();
        }
        let folder = Arc::new(Counting {
            inner: crate::gcs::folder::LocalDir::new(root.path(), "f").unwrap(),
            opened: Default::default(),
        });
        let crc = |text: &str| Some(crc32c::crc32c(text.as_bytes()));
        // GCS holds a and b as they are, and another c of the same size.
        let remote: HashMap<String, RemoteObject> = [("a", "aaa"), ("b", "bbb"), ("c", "xxx")]
            .into_iter()
            .map(|(name, content)| {
                let o = RemoteObject {
                    name: format!("p/{name}"),
                    size: 3,
                    generation: 1,
                    checksums: ObjectChecksums {
                        crc32c: crc(content),
                        md5: None,
                    },
                };
                (name.to_string(), o)
            })
            .collect();
        let options = SyncOptions {
            location: GcsLocation::parse("gs://bkt/p", "f").unwrap(),
            direction: Direction::ToGcs,
            delete_extra: false,
            dry_run: false,
            parallelism: 4,
            state_dir: Some(state.path().to_path_buf()),
        };
        let run = |folder: Arc<Counting>| {
            let (remote, options, key) = (remote.clone(), options.clone(), folder.checksum_key());
            let dir = state.path().to_path_buf();
            async move {
                let local: HashMap<String, LocalFile> = folder
                    .list()
                    .unwrap()
                    .files
                    .into_iter()
                    .map(|f| (f.path.clone(), f))
                    .collect();
                let checksums = Arc::new(Checksums::load(Some(&dir), &key.unwrap()));
                let steps = plan(folder, &local, &[], &remote, &options, &checksums).await;
                checksums.save();
                let mut rows: Vec<(String, &str)> = steps
                    .iter()
                    .map(|s| match s {
                        Step::Done(e) => (e.path.clone(), "same"),
                        s => (step_path(s), "transfer"),
                    })
                    .collect();
                rows.sort();
                rows
            }
        };
        let expected = [("a", "same"), ("b", "same"), ("c", "transfer")]
            .map(|(p, r)| (p.to_string(), r))
            .to_vec();
        assert_eq!(run(folder.clone()).await, expected);
        assert_eq!(folder.opened.load(std::sync::atomic::Ordering::Relaxed), 3);
        // Nothing changed: no file is read again.
        assert_eq!(run(folder.clone()).await, expected);
        assert_eq!(folder.opened.load(std::sync::atomic::Ordering::Relaxed), 3);
        // b rewritten with other bytes of the same size: read again, and found different.
        std::fs::write(root.path().join("b"), "BBB").unwrap();
        let rows = run(folder.clone()).await;
        assert_eq!(rows[1], ("b".to_string(), "transfer"));
        assert_eq!(folder.opened.load(std::sync::atomic::Ordering::Relaxed), 4);
    }
}
