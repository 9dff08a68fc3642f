//! The incremental sync between a folder and `gs://bucket/prefix`: plan (size, then CRC32C or
//! MD5 against the object's metadata), then parallel streamed transfers, each verified by
//! checksum, and a report listing every file with what happened to it.
//! Here the direction, options and `sync()`; plan.rs decides, transfer.rs moves, report.rs tells,
//! checksums.rs remembers what the folder's files hashed to between runs.

mod checksums;
mod plan;
mod report;
mod stream;
mod transfer;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde::Serialize;

use crate::error::{GkeError, Result};
use crate::gcs::client::{GcsClient, RemoteObject};
use crate::gcs::folder::{FolderIo, LocalFile};
use crate::gcs::location::GcsLocation;
use crate::gcs::resumable::SessionStore;

use checksums::Checksums;
use plan::{plan, step_path, Step};
pub use report::{SyncAction, SyncEntry, SyncReport};
use transfer::{run_step, Context};

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

/// Transfers at once when a sync does not say (the recipe's default, and the notebook's).
pub const DEFAULT_PARALLELISM: usize = 16;

/// A number as a caller gave it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Given {
    /// A whole number; `None` when it is too large for 64 bits.
    Whole(Option<i64>),
    /// Not a whole number at all (a float, a bool, a string).
    NotWhole,
}

/// `value` (`shown` as the admin or caller wrote it) as the transfers at once, or the problem
/// named by `field`.
pub fn check_parallelism(
    value: Given,
    shown: &dyn std::fmt::Display,
    field: &str,
) -> std::result::Result<usize, crate::error::Problem> {
    let why = match value {
        Given::Whole(Some(n)) if PARALLELISM.contains(&n) => return Ok(n as usize),
        Given::Whole(_) => "is out of range",
        Given::NotWhole => "is not a whole number",
    };
    Err(crate::error::Problem::new(
        field,
        format!(
            "{shown} {why}: use {} to {}",
            PARALLELISM.start(),
            PARALLELISM.end()
        ),
    ))
}

/// Which way a sync goes, from its two ends as a caller names them.
#[derive(Debug, Clone)]
pub struct SyncRequest {
    pub location: GcsLocation,
    pub direction: Direction,
}

impl SyncRequest {
    /// `src` and `dst` as given (their text, `None` when not text): exactly one must be a
    /// `gs://bucket/prefix` URL, the other is the folder. Problems name `src` or `dst`.
    pub fn between(src: Option<&str>, dst: Option<&str>) -> Result<Self> {
        fn gs_url(v: Option<&str>) -> Option<&str> {
            v.filter(|s| s.trim_start().starts_with("gs://"))
        }
        let (url, direction) = match (gs_url(src), gs_url(dst)) {
            (None, Some(url)) => (url, Direction::ToGcs),
            (Some(url), None) => (url, Direction::FromGcs),
            _ => {
                return Err(GkeError::validation(
                    "src, dst",
                    "one must be a gs://bucket/prefix URL and the other a folder",
                ))
            }
        };
        let request = |location| Self {
            location,
            direction,
        };
        let bucket_field = match direction {
            Direction::ToGcs => "dst",
            Direction::FromGcs => "src",
        };
        GcsLocation::parse(url, bucket_field).map(request)
    }

    /// The argument that names the folder: `src` for an upload, `dst` for a download.
    pub fn folder_field(&self) -> &'static str {
        match self.direction {
            Direction::ToGcs => "src",
            Direction::FromGcs => "dst",
        }
    }

    /// The options of this sync; unfinished large uploads resume from
    /// [`resumable::default_state_dir`](crate::gcs::resumable::default_state_dir).
    pub fn options(self, delete_extra: bool, dry_run: bool, parallelism: usize) -> SyncOptions {
        SyncOptions {
            location: self.location,
            direction: self.direction,
            delete_extra,
            dry_run,
            parallelism,
            state_dir: crate::gcs::resumable::default_state_dir(),
        }
    }
}

/// Where the folders' checksums are kept: beside the upload sessions' folder.
fn checksums_dir(state_dir: &std::path::Path) -> PathBuf {
    match state_dir.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.join("gcs-checksums"),
        _ => state_dir.join("checksums"),
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
    /// ([`resumable::default_state_dir`]), and beside it the folders' checksums; `None`:
    /// uploads resume within a run only and every file is hashed.
    pub state_dir: Option<PathBuf>,
}

/// Called with (bytes done, bytes to move) a few times per second.
pub type Progress = Arc<dyn Fn(u64, u64) + Send + Sync>;

const PROGRESS_EVERY: Duration = Duration::from_millis(250);

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

    let checksums = Arc::new(match folder.checksum_key() {
        Some(key) => Checksums::load(
            options.state_dir.as_deref().map(checksums_dir).as_deref(),
            &key,
        ),
        None => Checksums::load(None, ""),
    });
    checksums.retain(&local);
    let steps = plan(
        folder.clone(),
        &local,
        &listing.unlisted,
        &remote,
        options,
        &checksums,
    )
    .await;
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
        checksums: checksums.clone(),
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
    checksums.save();
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::html::ToHtml;

    #[test]
    fn the_gs_url_end_is_the_bucket_and_parallelism_is_named() {
        let up = SyncRequest::between(Some("/data"), Some(" gs://bkt/p")).unwrap();
        assert_eq!((up.direction, up.folder_field()), (Direction::ToGcs, "src"));
        let down = SyncRequest::between(Some("gs://bkt/p"), None).unwrap();
        assert_eq!(
            (down.direction, down.folder_field()),
            (Direction::FromGcs, "dst")
        );
        for (src, dst) in [(None, None), (Some("gs://a1a"), Some("gs://b1b"))] {
            let e = SyncRequest::between(src, dst).unwrap_err().to_string();
            assert!(e.contains("src, dst: one must be a gs://"), "{e}");
        }
        let e = SyncRequest::between(Some("gs://Bad"), Some("/d")).unwrap_err();
        assert!(e.to_string().contains("src: "), "{e}");
        assert_eq!(check_parallelism(Given::Whole(Some(64)), &64, "p"), Ok(64));
        let e = check_parallelism(Given::NotWhole, &"2.5", "p").unwrap_err();
        assert_eq!(e.message, "2.5 is not a whole number: use 1 to 64");
        let e = check_parallelism(Given::Whole(None), &"2**70", "p").unwrap_err();
        assert_eq!(e.message, "2**70 is out of range: use 1 to 64");
    }

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
}
