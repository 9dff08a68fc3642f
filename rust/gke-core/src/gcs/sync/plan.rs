//! The plan: each file against its counterpart, by size, then checksum (hashed in parallel).

use std::collections::HashMap;
use std::io::Read;
use std::sync::Arc;

use futures::StreamExt;

use super::report::{SyncAction, SyncEntry};
use super::{Direction, SyncOptions};
use crate::error::{GkeError, Result};
use crate::gcs::checksum::{ChecksumKind, Hasher};
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

/// Compares every file with its counterpart; hashes (in parallel) only same-size pairs.
/// The folder's entries that could not be listed are reported, and what GCS holds under them
/// is never deleted.
pub(super) async fn plan(
    folder: Arc<dyn FolderIo>,
    local: &HashMap<String, LocalFile>,
    unlisted: &[Unlisted],
    remote: &HashMap<String, RemoteObject>,
    options: &SyncOptions,
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
                Some(kind) => to_hash.push((l.clone().unwrap(), r.clone().unwrap(), kind)),
            },
        }
    }
    let hashed: Vec<Step> = futures::stream::iter(to_hash)
        .map(|(lf, ro, kind)| {
            let folder = folder.clone();
            async move {
                let path = lf.path.clone();
                let size = lf.size;
                let hashed = tokio::task::spawn_blocking(move || {
                    hash_file_sized(folder.as_ref(), &path, size, kind == ChecksumKind::Md5)
                })
                .await
                .map_err(|e| GkeError::storage(format!("internal error: {e}")))
                .and_then(|r| r);
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

fn compare(
    lf: LocalFile,
    ro: RemoteObject,
    kind: ChecksumKind,
    hashed: Result<Hasher>,
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
        Ok(h) if h.matches(&ro.checksums) == Some(true) => Step::Done(SyncEntry {
            path: lf.path,
            action: SyncAction::Skipped,
            bytes: size,
            reason: format!("same size and {}", kind.name()),
        }),
        Ok(h) => Step::Transfer {
            path: lf.path.clone(),
            known_crc32c: to_gcs.then_some(h.crc32c()),
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
}
