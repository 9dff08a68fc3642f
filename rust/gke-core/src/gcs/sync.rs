//! The incremental sync between a folder and `gs://bucket/prefix`: plan (size, then CRC32C or
//! MD5 against the object's metadata), then parallel streamed transfers, each verified by
//! checksum, and a report listing every file with what happened to it.

use std::collections::{BTreeMap, HashMap};
use std::io::{self, Read};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt;
use google_cloud_storage::streaming_source::{Payload, Seek, SizeHint, StreamingSource};
use serde::Serialize;

use crate::error::{Failure, GkeError, Result};
use crate::gcs::checksum::{ChecksumKind, Hasher};
use crate::gcs::client::{GcsClient, RemoteObject};
use crate::gcs::folder::{FolderIo, LocalFile, Unlisted};
use crate::gcs::location::GcsLocation;
use crate::gcs::resumable::{self, SessionStore};
use crate::html::{Report, Verdict};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Folder → bucket.
    ToGcs,
    /// Bucket → folder.
    FromGcs,
}

impl Direction {
    pub fn parse(text: &str, field: &str) -> Result<Self> {
        match text.trim() {
            "to_gcs" | "upload" => Ok(Direction::ToGcs),
            "from_gcs" | "download" => Ok(Direction::FromGcs),
            other => Err(GkeError::validation(
                field,
                format!("{other:?} is not a direction: use \"to_gcs\" (folder → bucket) or \"from_gcs\" (bucket → folder)"),
            )),
        }
    }
}

/// Transfers at once: at least one, and no more than a host's connections can serve.
pub const PARALLELISM: std::ops::RangeInclusive<i64> = 1..=64;

/// `value` (`None`: a number too large for 64 bits, `shown` as the admin wrote it) as the
/// transfers at once, or the problem named by `field`.
pub fn check_parallelism(
    value: Option<i64>,
    shown: &dyn std::fmt::Display,
    field: &str,
) -> std::result::Result<usize, crate::error::Problem> {
    match value {
        Some(n) if PARALLELISM.contains(&n) => Ok(n as usize),
        _ => Err(crate::error::Problem::new(
            field,
            format!(
                "{shown} is out of range: use {} to {}",
                PARALLELISM.start(),
                PARALLELISM.end()
            ),
        )),
    }
}

/// What to sync and how.
#[derive(Debug, Clone)]
pub struct SyncOptions {
    pub location: GcsLocation,
    pub direction: Direction,
    /// Delete destination files that the source does not have.
    pub delete_extra: bool,
    /// Plan only: report what would move, move nothing.
    pub dry_run: bool,
    /// Transfers at once.
    pub parallelism: usize,
    /// Where sessions of unfinished large uploads are kept so that the next run resumes them
    /// ([`resumable::default_state_dir`]); `None`: they resume within a run only.
    pub state_dir: Option<PathBuf>,
}

/// What happened to one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum SyncAction {
    #[serde(rename = "uploaded")]
    Uploaded,
    #[serde(rename = "downloaded")]
    Downloaded,
    #[serde(rename = "skipped")]
    Skipped,
    #[serde(rename = "deleted")]
    Deleted,
    #[serde(rename = "failed")]
    Failed,
    #[serde(rename = "would upload")]
    WouldUpload,
    #[serde(rename = "would download")]
    WouldDownload,
    #[serde(rename = "would delete")]
    WouldDelete,
}

impl SyncAction {
    pub fn label(self) -> &'static str {
        match self {
            SyncAction::Uploaded => "uploaded",
            SyncAction::Downloaded => "downloaded",
            SyncAction::Skipped => "skipped",
            SyncAction::Deleted => "deleted",
            SyncAction::Failed => "failed",
            SyncAction::WouldUpload => "would upload",
            SyncAction::WouldDownload => "would download",
            SyncAction::WouldDelete => "would delete",
        }
    }
}

/// One row of the report (and of the recipe's output dataset).
#[derive(Debug, Clone, Serialize)]
pub struct SyncEntry {
    /// Relative to the folder and to the prefix, `/`-separated.
    pub path: String,
    pub action: SyncAction,
    /// Bytes moved (for skipped files: their size; for deletions: 0).
    pub bytes: u64,
    /// Why: "new", "size differs", "same size and CRC32C", or the error.
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct SyncReport {
    pub source: String,
    pub destination: String,
    pub dry_run: bool,
    pub entries: Vec<SyncEntry>,
    pub elapsed_seconds: f64,
}

impl SyncReport {
    /// Files and bytes per action, in the order of [`SyncAction`].
    pub fn counts(&self) -> BTreeMap<&'static str, (u64, u64)> {
        let mut out = BTreeMap::new();
        for e in &self.entries {
            let c = out.entry(e.action.label()).or_insert((0, 0));
            c.0 += 1;
            c.1 += e.bytes;
        }
        out
    }

    pub fn failures(&self) -> Vec<&SyncEntry> {
        self.entries
            .iter()
            .filter(|e| e.action == SyncAction::Failed)
            .collect()
    }

    pub fn summary(&self) -> String {
        let counts = self.counts();
        let parts: Vec<String> = counts
            .iter()
            .map(|(action, (files, bytes))| format!("{files} {action} ({})", human_bytes(*bytes)))
            .collect();
        format!(
            "{} → {}{}: {} in {:.1}s",
            self.source,
            self.destination,
            if self.dry_run { " (dry run)" } else { "" },
            if parts.is_empty() {
                "nothing to sync".to_string()
            } else {
                parts.join(", ")
            },
            self.elapsed_seconds
        )
    }

    /// A storage error naming the failed files, or `Ok` when none failed.
    pub fn check(&self) -> Result<()> {
        let failures = self.failures();
        let Some(first) = failures.first() else {
            return Ok(());
        };
        Err(GkeError::storage(format!(
            "{} of {} files failed to sync ({} → {}); first: {}: {}",
            failures.len(),
            self.entries.len(),
            self.source,
            self.destination,
            first.path,
            first.reason
        )))
    }

    pub fn to_html(&self) -> String {
        let failures = self.failures();
        let verdict = if failures.is_empty() {
            Verdict::Ok
        } else {
            Verdict::Failed
        };
        let counts: Vec<Vec<String>> = self
            .counts()
            .into_iter()
            .map(|(a, (files, bytes))| vec![a.to_string(), files.to_string(), human_bytes(bytes)])
            .collect();
        let mut report = Report::new("GCS sync")
            .verdict(verdict, &self.summary())
            .table(&["action", "files", "bytes"], counts);
        let shown: Vec<&SyncEntry> = self
            .entries
            .iter()
            .filter(|e| e.action != SyncAction::Skipped)
            .take(200)
            .collect();
        if !shown.is_empty() {
            report = report.table(
                &["path", "action", "bytes", "reason"],
                shown.into_iter().map(|e| {
                    vec![
                        e.path.clone(),
                        e.action.label().to_string(),
                        e.bytes.to_string(),
                        e.reason.clone(),
                    ]
                }),
            );
        }
        report.finish()
    }
}

fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// Called with (bytes done, bytes to move) a few times per second.
pub type Progress = Arc<dyn Fn(u64, u64) + Send + Sync>;

const PROGRESS_EVERY: Duration = Duration::from_millis(250);
const CHUNK: usize = 1024 * 1024;

/// What the plan decided for one file.
enum Step {
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

/// Runs one sync: `folder` is the local side, `options.location` the bucket side.
pub async fn sync(
    client: &GcsClient,
    folder: Arc<dyn FolderIo>,
    options: &SyncOptions,
    progress: Option<Progress>,
) -> Result<SyncReport> {
    let started = Instant::now();
    let loc = &options.location;
    let (source, destination) = match options.direction {
        Direction::ToGcs => (folder.describe(), loc.to_string()),
        Direction::FromGcs => (loc.to_string(), folder.describe()),
    };
    tracing::info!(
        "GCS sync {source} → {destination} as {}{}",
        client.identity(),
        if options.dry_run { " (dry run)" } else { "" }
    );
    let listing = {
        let folder = folder.clone();
        tokio::task::spawn_blocking(move || folder.list())
    };
    let (local, remote) = tokio::join!(listing, client.list(&loc.bucket, &loc.prefix));
    let listing = local.map_err(|e| GkeError::storage(format!("listing the folder: {e}")))??;
    let remote: HashMap<String, RemoteObject> = remote?
        .into_iter()
        .filter_map(|o| {
            let rel = o.name.strip_prefix(&loc.prefix)?.to_string();
            // "Folder" placeholder objects (name ending in '/') hold no file.
            (!rel.is_empty() && !rel.ends_with('/')).then_some((rel, o))
        })
        .collect();
    let local: HashMap<String, LocalFile> = listing
        .files
        .into_iter()
        .map(|f| (f.path.clone(), f))
        .collect();
    tracing::info!(
        "{} files in the folder, {} objects under {loc}",
        local.len(),
        remote.len()
    );

    let steps = plan(folder.clone(), &local, &listing.unlisted, &remote, options).await;
    let total: u64 = steps
        .iter()
        .map(|s| match s {
            Step::Transfer { size, .. } => *size,
            _ => 0,
        })
        .sum();

    let done = Arc::new(AtomicU64::new(0));
    let ticker = progress.clone().map(|p| {
        let done = done.clone();
        tokio::spawn(async move {
            let mut last = u64::MAX;
            loop {
                let now = done.load(Ordering::Relaxed);
                if now != last {
                    last = now;
                    let p = p.clone();
                    let _ = tokio::task::spawn_blocking(move || p(now, total)).await;
                }
                tokio::time::sleep(PROGRESS_EVERY).await;
            }
        })
    });

    let ctx = Arc::new(Context {
        client: client.clone(),
        folder,
        location: loc.clone(),
        direction: options.direction,
        dry_run: options.dry_run,
        sessions: options.state_dir.clone().map(SessionStore::new),
        done: done.clone(),
        abort: AtomicBool::new(false),
    });
    let mut entries: Vec<SyncEntry> = futures::stream::iter(steps)
        .map(|step| {
            let ctx = ctx.clone();
            async move {
                match step {
                    Step::Done(entry) => entry,
                    step => {
                        let path = step_path(&step);
                        tokio::spawn(run_step(ctx, step))
                            .await
                            .unwrap_or_else(|e| SyncEntry {
                                path,
                                action: SyncAction::Failed,
                                bytes: 0,
                                reason: format!("internal error: {e}"),
                            })
                    }
                }
            }
        })
        .buffer_unordered(options.parallelism.max(1))
        .collect()
        .await;
    if let Some(t) = ticker {
        t.abort();
    }
    if let Some(p) = progress {
        let now = done.load(Ordering::Relaxed);
        let _ = tokio::task::spawn_blocking(move || p(now, total)).await;
    }
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    let report = SyncReport {
        source,
        destination,
        dry_run: options.dry_run,
        entries,
        elapsed_seconds: started.elapsed().as_secs_f64(),
    };
    tracing::info!("{}", report.summary());
    Ok(report)
}

fn step_path(step: &Step) -> String {
    match step {
        Step::Transfer { path, .. } | Step::Delete { path, .. } => path.clone(),
        Step::Done(e) => e.path.clone(),
    }
}

/// Compares every file with its counterpart; hashes (in parallel) only same-size pairs.
/// The folder's entries that could not be listed are reported, and what GCS holds under them
/// is never deleted.
async fn plan(
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

fn hash_file(folder: &dyn FolderIo, path: &str, with_md5: bool) -> Result<Hasher> {
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

struct Context {
    client: GcsClient,
    folder: Arc<dyn FolderIo>,
    location: GcsLocation,
    direction: Direction,
    dry_run: bool,
    sessions: Option<SessionStore>,
    done: Arc<AtomicU64>,
    /// Set after a refusal that every other transfer would meet too (401, 403).
    abort: AtomicBool,
}

async fn run_step(ctx: Arc<Context>, step: Step) -> SyncEntry {
    let path = step_path(&step);
    let (action, bytes, reason) = match step {
        Step::Done(entry) => return entry,
        Step::Transfer { size, reason, .. } if ctx.dry_run => {
            let action = match ctx.direction {
                Direction::ToGcs => SyncAction::WouldUpload,
                Direction::FromGcs => SyncAction::WouldDownload,
            };
            (action, size, reason)
        }
        Step::Delete { .. } if ctx.dry_run => (
            SyncAction::WouldDelete,
            0,
            "only in the destination".to_string(),
        ),
        _ if ctx.abort.load(Ordering::Relaxed) => (
            SyncAction::Failed,
            0,
            "not attempted: an earlier transfer was refused (see the first failure)".to_string(),
        ),
        Step::Transfer {
            local,
            remote,
            size,
            reason,
            known_crc32c,
            ..
        } => {
            let outcome = match ctx.direction {
                Direction::ToGcs => upload(&ctx, local.expect("uploads have a file"), known_crc32c)
                    .await
                    .map(|_| SyncAction::Uploaded),
                Direction::FromGcs => {
                    download(&ctx, &path, remote.expect("downloads have an object"))
                        .await
                        .map(|_| SyncAction::Downloaded)
                }
            };
            match outcome {
                Ok(action) => (action, size, reason),
                Err(e) => (SyncAction::Failed, 0, failure(&ctx, e)),
            }
        }
        Step::Delete { remote, .. } => {
            let outcome = match (ctx.direction, remote) {
                (Direction::ToGcs, Some(r)) => {
                    ctx.client
                        .delete(
                            &ctx.location.bucket,
                            &ctx.location.object_name(&path),
                            Some(r.generation),
                        )
                        .await
                }
                _ => {
                    let folder = ctx.folder.clone();
                    let p = path.clone();
                    tokio::task::spawn_blocking(move || folder.delete(&p))
                        .await
                        .map_err(|e| GkeError::storage(format!("internal error: {e}")))
                        .and_then(|r| r)
                }
            };
            match outcome {
                Ok(()) => (
                    SyncAction::Deleted,
                    0,
                    "only in the destination".to_string(),
                ),
                Err(e) => (SyncAction::Failed, 0, failure(&ctx, e)),
            }
        }
    };
    if action == SyncAction::Failed {
        tracing::warn!("{path}: {reason}");
    }
    SyncEntry {
        path,
        action,
        bytes,
        reason,
    }
}

fn failure(ctx: &Context, e: GkeError) -> String {
    if matches!(e.status(), Some(401 | 403)) {
        ctx.abort.store(true, Ordering::Relaxed);
    }
    e.to_string()
}

/// Files up to this size are read once into memory, hashed and sent from there; larger ones
/// are read twice (hash, then stream), never held whole.
const IN_MEMORY_MAX: u64 = 8 * 1024 * 1024;

/// From this size on, a file goes through a resumable session (two requests, resumable across
/// runs); below, one multipart request carries metadata and content: per request, an upload
/// costs GCS (and an emulator) more than the bytes of a small file do.
pub const RESUMABLE_MIN: u64 = 16 * 1024 * 1024;

async fn upload(ctx: &Context, file: LocalFile, known_crc32c: Option<u32>) -> Result<()> {
    let name = ctx.location.object_name(&file.path);
    let bucket = &ctx.location.bucket;
    // The CRC32C goes with the upload's metadata, so that GCS itself refuses other content.
    let (uploaded, sent, streamed_crc, known_crc32c) = if file.size <= IN_MEMORY_MAX {
        let folder = ctx.folder.clone();
        let path = file.path.clone();
        let limit = file.size + 1;
        let data = tokio::task::spawn_blocking(move || {
            let mut data = Vec::with_capacity(limit as usize);
            folder
                .open(&path)?
                .take(limit)
                .read_to_end(&mut data)
                .map_err(|e| GkeError::storage(format!("reading {path}: {e}")))?;
            Ok::<_, GkeError>(data)
        })
        .await
        .map_err(|e| GkeError::storage(format!("internal error: {e}")))??;
        let mut hasher = Hasher::new(false);
        hasher.update(&data);
        let crc = hasher.crc32c();
        let sent = data.len() as u64;
        let payload = Payload::from(Bytes::from(data));
        let uploaded = ctx.client.upload(bucket, &name, payload, crc).await;
        ctx.done.fetch_add(sent, Ordering::Relaxed);
        (uploaded, sent, crc, known_crc32c.unwrap_or(crc))
    } else {
        let known_crc32c = match known_crc32c {
            Some(crc) => crc,
            None => {
                let folder = ctx.folder.clone();
                let path = file.path.clone();
                tokio::task::spawn_blocking(move || hash_file(folder.as_ref(), &path, false))
                    .await
                    .map_err(|e| GkeError::storage(format!("internal error: {e}")))??
                    .crc32c()
            }
        };
        let state = Arc::new(Mutex::new(SourceState {
            hasher: Hasher::new(false),
            reported: 0,
        }));
        let source = |state: &Arc<Mutex<SourceState>>| {
            FolderSource::new(
                ctx.folder.clone(),
                file.path.clone(),
                file.size,
                ctx.done.clone(),
                state.clone(),
            )
        };
        let uploaded = if file.size >= RESUMABLE_MIN {
            let body_from = |offset: u64| {
                let mut source = source(&state);
                async move {
                    // Re-reads (and hashes) the part GCS already has, so that the CRC32C
                    // compared at the end covers the whole file as it is now.
                    source
                        .seek(offset)
                        .await
                        .map_err(|e| GkeError::storage(format!("reading {}: {e}", source.path)))?;
                    let stream = futures::stream::unfold(source, |mut s| async move {
                        s.next().await.map(|chunk| (chunk, s))
                    });
                    Ok(reqwest::Body::wrap_stream(stream))
                }
            };
            resumable::upload(
                &ctx.client,
                bucket,
                &name,
                file.size,
                known_crc32c,
                ctx.sessions.as_ref(),
                body_from,
            )
            .await
        } else {
            ctx.client
                .upload(bucket, &name, source(&state), known_crc32c)
                .await
        };
        let (sent, streamed) = {
            let s = state.lock().expect("no panics while held");
            (s.hasher.len(), s.hasher.crc32c())
        };
        let (sent, streamed) = if uploaded.is_ok() && sent == 0 && file.size > 0 {
            // An earlier run had sent everything; what GCS holds is checked against the file
            // as it is now.
            let folder = ctx.folder.clone();
            let path = file.path.clone();
            let h = tokio::task::spawn_blocking(move || hash_file(folder.as_ref(), &path, false))
                .await
                .map_err(|e| GkeError::storage(format!("internal error: {e}")))??;
            ctx.done.fetch_add(file.size, Ordering::Relaxed);
            (h.len(), h.crc32c())
        } else {
            (sent, streamed)
        };
        (uploaded, sent, streamed, known_crc32c)
    };
    let folder = ctx.folder.clone();
    let path = file.path.clone();
    let after = tokio::task::spawn_blocking(move || folder.stat(&path))
        .await
        .map_err(|e| GkeError::storage(format!("internal error: {e}")))??;
    // Changed: its size or time moved, or all of it was read and gave other bytes. An upload
    // cut short (a reset the retries did not cure) read only part: that is not a change.
    let changed = after.as_ref().map(|a| (a.size, a.modified)) != Some((file.size, file.modified))
        || (sent == file.size && known_crc32c != streamed_crc);
    const CHANGED: &str =
        "the file changed while it was being uploaded; the object was not kept: run the sync again";
    let upload = match uploaded {
        Ok(upload) => upload,
        // The bucket was listed a moment ago: a 404 now is the resumable session GCS forgot.
        Err(e) if !changed && e.status() == Some(404) => {
            return Err(GkeError::Storage(Failure::refused(
                format!("GCS lost the upload session (the service restarted or the session expired); nothing was kept: run the sync again ({e})"),
                404,
                Some("NOT_FOUND".into()),
            )))
        }
        Err(e) if !changed => return Err(e),
        Err(_) => {
            // GCS refuses content that does not match the CRC32C announced; an emulator may
            // have kept it: remove what we sent, never an older good version.
            if let Ok(Some(o)) = ctx.client.get_object(&ctx.location.bucket, &name).await {
                if o.checksums.crc32c == Some(streamed_crc) && o.size == sent {
                    let _ = ctx
                        .client
                        .delete(&ctx.location.bucket, &name, Some(o.generation))
                        .await;
                }
            }
            return Err(GkeError::storage(CHANGED.to_string()));
        }
    };
    let corrupt = upload.size != sent
        || upload
            .checksums
            .crc32c
            .is_some_and(|crc| crc != streamed_crc);
    if changed || corrupt {
        // What GCS holds is not a version of the file: remove it rather than leave it.
        let _ = ctx
            .client
            .delete(&ctx.location.bucket, &name, Some(upload.generation))
            .await;
        return Err(GkeError::storage(if changed {
            CHANGED.to_string()
        } else {
            format!(
                "GCS holds {} bytes with another CRC32C than the {sent} bytes sent; the object was removed: run the sync again",
                upload.size
            )
        }));
    }
    Ok(())
}

/// Streams an object into the folder; the folder's file appears only once size and checksum
/// match the object's metadata.
async fn download(ctx: &Context, path: &str, object: RemoteObject) -> Result<()> {
    let name = ctx.location.object_name(path);
    let mut response = ctx
        .client
        .download(&ctx.location.bucket, &name, object.generation)
        .await?;
    let (tx, rx) = tokio::sync::mpsc::channel::<Message>(8);
    let folder = ctx.folder.clone();
    let target = path.to_string();
    let writer = tokio::task::spawn_blocking(move || {
        folder.write(
            &target,
            Box::new(ChannelReader {
                rx,
                current: Bytes::new(),
            }),
        )
    });
    let mut hasher = Hasher::new(object.checksums.crc32c.is_none());
    let mut failed: Option<GkeError> = None;
    while let Some(chunk) = response.next().await {
        match chunk {
            Ok(chunk) => {
                hasher.update(&chunk);
                ctx.done.fetch_add(chunk.len() as u64, Ordering::Relaxed);
                if tx.send(Message::Data(chunk)).await.is_err() {
                    break;
                }
            }
            Err(e) => {
                failed = Some(ctx.client.crate_error(
                    &format!("downloading gs://{}/{name}", ctx.location.bucket),
                    e,
                ));
                break;
            }
        }
    }
    if failed.is_none() {
        if hasher.len() != object.size {
            failed = Some(GkeError::storage(format!(
                "got {} bytes of {}: the download was cut short",
                hasher.len(),
                object.size
            )));
        } else if hasher.matches(&object.checksums) == Some(false) {
            failed = Some(GkeError::storage(
                "the downloaded bytes do not match the object's checksum",
            ));
        }
    }
    let _ = tx
        .send(match &failed {
            None => Message::End,
            Some(reason) => Message::Fail(reason.to_string()),
        })
        .await;
    drop(tx);
    let written = writer
        .await
        .map_err(|e| GkeError::storage(format!("internal error: {e}")))?;
    match (failed, written) {
        (Some(reason), _) => Err(reason),
        (None, Err(e)) => Err(e),
        (None, Ok(())) => Ok(()),
    }
}

enum Message {
    Data(Bytes),
    /// Everything was received and verified.
    End,
    Fail(String),
}

/// The blocking end of a download: reads what the async side received, and fails instead of
/// ending unless the download was verified.
struct ChannelReader {
    rx: tokio::sync::mpsc::Receiver<Message>,
    current: Bytes,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.blocking_recv() {
                Some(Message::Data(b)) => self.current = b,
                Some(Message::End) => return Ok(0),
                Some(Message::Fail(reason)) => return Err(io::Error::other(reason)),
                None => return Err(io::Error::other("the download stopped")),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        self.current = self.current.slice(n..);
        Ok(n)
    }
}

struct SourceState {
    hasher: Hasher,
    /// Bytes already counted in the progress (a resumed upload re-sends some).
    reported: u64,
}

/// A file of the folder as an upload payload: read in 1 MiB chunks on blocking threads,
/// hashed as it goes, capped at the size the plan saw; seekable so that a resumable upload
/// can restart from where GCS says it stopped.
struct FolderSource {
    folder: Arc<dyn FolderIo>,
    path: String,
    size: u64,
    offset: u64,
    /// In a mutex only to make the source `Sync`, as the client wants; never contended.
    reader: Mutex<Option<Box<dyn Read + Send>>>,
    done: Arc<AtomicU64>,
    state: Arc<Mutex<SourceState>>,
}

impl FolderSource {
    fn new(
        folder: Arc<dyn FolderIo>,
        path: String,
        size: u64,
        done: Arc<AtomicU64>,
        state: Arc<Mutex<SourceState>>,
    ) -> Self {
        Self {
            folder,
            path,
            size,
            offset: 0,
            reader: Mutex::new(None),
            done,
            state,
        }
    }
}

impl StreamingSource for FolderSource {
    type Error = io::Error;

    async fn next(&mut self) -> Option<std::result::Result<Bytes, io::Error>> {
        if self.offset >= self.size {
            return None;
        }
        let want = CHUNK.min((self.size - self.offset) as usize);
        let folder = self.folder.clone();
        let path = self.path.clone();
        let reader = self.reader.get_mut().expect("no panics while held").take();
        let read = tokio::task::spawn_blocking(move || {
            let mut reader = match reader {
                Some(r) => r,
                None => folder.open(&path).map_err(io::Error::other)?,
            };
            let mut buf = vec![0u8; want];
            let mut filled = 0;
            while filled < want {
                let n = reader.read(&mut buf[filled..])?;
                if n == 0 {
                    return Err(io::Error::other(
                        "the file got shorter while it was being uploaded",
                    ));
                }
                filled += n;
            }
            Ok((reader, buf))
        })
        .await
        .unwrap_or_else(|e| Err(io::Error::other(e)));
        match read {
            Err(e) => Some(Err(e)),
            Ok((reader, buf)) => {
                *self.reader.get_mut().expect("no panics while held") = Some(reader);
                self.offset += buf.len() as u64;
                let mut state = self.state.lock().expect("no panics while held");
                state.hasher.update(&buf);
                if self.offset > state.reported {
                    self.done
                        .fetch_add(self.offset - state.reported, Ordering::Relaxed);
                    state.reported = self.offset;
                }
                Some(Ok(Bytes::from(buf)))
            }
        }
    }

    async fn size_hint(&self) -> std::result::Result<SizeHint, io::Error> {
        Ok(SizeHint::with_exact(self.size))
    }
}

impl Seek for FolderSource {
    type Error = io::Error;

    async fn seek(&mut self, offset: u64) -> std::result::Result<(), io::Error> {
        if offset == self.offset && self.reader.get_mut().is_ok_and(|r| r.is_some()) {
            return Ok(());
        }
        // Reopen and re-read up to `offset`, so the running CRC32C covers the whole file.
        let folder = self.folder.clone();
        let path = self.path.clone();
        let (reader, hasher) = tokio::task::spawn_blocking(move || {
            let mut reader = folder.open(&path).map_err(io::Error::other)?;
            let mut hasher = Hasher::new(false);
            let mut left = offset;
            let mut buf = vec![0u8; CHUNK];
            while left > 0 {
                let want = buf.len().min(left as usize);
                let n = reader.read(&mut buf[..want])?;
                if n == 0 {
                    return Err(io::Error::other("the file got shorter during the upload"));
                }
                hasher.update(&buf[..n]);
                left -= n as u64;
            }
            Ok::<_, io::Error>((reader, hasher))
        })
        .await
        .unwrap_or_else(|e| Err(io::Error::other(e)))?;
        *self.reader.get_mut().expect("no panics while held") = Some(reader);
        self.offset = offset;
        self.state.lock().expect("no panics while held").hasher = hasher;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directions_and_summaries_read_well() {
        assert_eq!(Direction::parse("to_gcs", "d").unwrap(), Direction::ToGcs);
        assert!(Direction::parse("sideways", "Direction")
            .unwrap_err()
            .to_string()
            .contains("Direction: \"sideways\" is not a direction"));
        let entry = |action, bytes| SyncEntry {
            path: "a<b>".into(),
            action,
            bytes,
            reason: "new".into(),
        };
        let report = SyncReport {
            source: "/f".into(),
            destination: "gs://b/p/".into(),
            dry_run: false,
            entries: vec![
                entry(SyncAction::Uploaded, 2048),
                entry(SyncAction::Skipped, 10),
                entry(SyncAction::Failed, 0),
            ],
            elapsed_seconds: 1.25,
        };
        assert_eq!(
            report.summary(),
            "/f → gs://b/p/: 1 failed (0 B), 1 skipped (10 B), 1 uploaded (2.0 KiB) in 1.2s"
        );
        let err = report.check().unwrap_err().to_string();
        assert!(err.starts_with("1 of 3 files failed"), "{err}");
        let html = report.to_html();
        assert!(
            html.contains("a&lt;b&gt;") && html.contains("Failed: "),
            "{html}"
        );
        assert_eq!(
            serde_json::to_value(SyncAction::WouldUpload).unwrap(),
            "would upload"
        );
    }

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
