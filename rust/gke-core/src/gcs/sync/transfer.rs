//! One step at a time: upload, download or delete a file, each verified by size and checksum.

use std::io::Read;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use google_cloud_storage::streaming_source::{Payload, Seek, StreamingSource};

use super::checksums::Checksums;
use super::plan::{hash_file, step_path, Step};
use super::report::{SyncAction, SyncEntry};
use super::stream::{ChannelBatches, FolderSource, Message, SourceState, BATCH};
use super::Direction;
use crate::error::{Failure, GkeError, Result};
use crate::gcs::checksum::Hasher;
use crate::gcs::client::{GcsClient, RemoteObject};
use crate::gcs::folder::{FolderIo, LocalFile};
use crate::gcs::location::GcsLocation;
use crate::gcs::resumable::{self, SessionStore};

pub(super) struct Context {
    pub(super) client: GcsClient,
    pub(super) folder: Arc<dyn FolderIo>,
    pub(super) location: GcsLocation,
    pub(super) direction: Direction,
    pub(super) dry_run: bool,
    pub(super) sessions: Option<SessionStore>,
    /// What each file uploaded hashed to, remembered for the next run.
    pub(super) checksums: Arc<Checksums>,
    pub(super) done: Arc<AtomicU64>,
    /// Set after a refusal that every other transfer would meet too (401, 403).
    pub(super) abort: AtomicBool,
}

pub(super) async fn run_step(ctx: Arc<Context>, step: Step) -> SyncEntry {
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
const RESUMABLE_MIN: u64 = 16 * 1024 * 1024;

async fn upload(ctx: &Context, file: LocalFile, known_crc32c: Option<u32>) -> Result<()> {
    let read_at = std::time::SystemTime::now();
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
    // Read whole, unchanged, and GCS holds the same CRC32C.
    ctx.checksums.put(&file, read_at, streamed_crc, None);
    Ok(())
}

/// Streams an object into the folder; the folder's file appears only once size and checksum
/// match the object's metadata.
///
/// The received pieces go to a blocking writer in batches of [`BATCH`] bytes. The writer starts
/// with the first batch: an object smaller than a batch is received and verified whole before
/// any file is touched, then written on the spot in a folder of this host (a hand-over to a
/// blocking thread costs more than such a write), or handed over once.
async fn download(ctx: &Context, path: &str, object: RemoteObject) -> Result<()> {
    let name = ctx.location.object_name(path);
    let mut response = ctx
        .client
        .download(&ctx.location.bucket, &name, object.generation)
        .await?;
    let (tx, rx) = tokio::sync::mpsc::channel::<Message>(8);
    let mut rx = Some(rx);
    let mut writer = None;
    let mut start_writer = || {
        let (folder, target) = (ctx.folder.clone(), path.to_string());
        let rx = rx.take().expect("the writer starts once");
        tokio::task::spawn_blocking(move || {
            folder.write_batches(&target, Box::new(ChannelBatches::new(rx)))
        })
    };
    // Google's client checks the CRC32C the response announces (an error at the end of the
    // body otherwise): when that is the one the listing gave, hashing again is only counting.
    let announced = response.object().checksums.and_then(|c| c.crc32c);
    let checked_by_client = announced.is_some() && announced == object.checksums.crc32c;
    let mut hasher = Hasher::new(object.checksums.crc32c.is_none());
    let (mut received, mut writer_stopped) = (0u64, false);
    let mut failed: Option<GkeError> = None;
    let (mut batch, mut batched) = (Vec::new(), 0);
    while let Some(chunk) = response.next().await {
        match chunk {
            Ok(chunk) => {
                received += chunk.len() as u64;
                if !checked_by_client {
                    hasher.update(&chunk);
                }
                ctx.done.fetch_add(chunk.len() as u64, Ordering::Relaxed);
                batched += chunk.len();
                batch.push(chunk);
                if batched >= BATCH {
                    batched = 0;
                    writer.get_or_insert_with(&mut start_writer);
                    let pieces = Message::Data(std::mem::take(&mut batch));
                    if tx.send(pieces).await.is_err() {
                        // The writer stopped (its error is the one reported).
                        writer_stopped = true;
                        break;
                    }
                }
            }
            // Google's client saw the bytes differ from the CRC32C announced: as ours would say.
            Err(e) if is_checksum_mismatch(&e) => {
                failed = Some(GkeError::storage(MISMATCH));
                break;
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
        if received != object.size {
            failed = Some(GkeError::storage(format!(
                "got {received} bytes of {}: the download was cut short",
                object.size
            )));
        } else if !checked_by_client && hasher.matches(&object.checksums) == Some(false) {
            failed = Some(GkeError::storage(MISMATCH));
        }
    }
    let writer = match writer {
        Some(writer) => writer,
        // Nothing was handed over: the file is never touched.
        None => match failed {
            Some(reason) => return Err(reason),
            // A small file of this host's is written here and now: handing it to a blocking
            // thread would cost more (two context switches) than writing it.
            None if ctx.folder.writes_inline() => {
                let whole = std::iter::once(Ok(batch));
                return ctx.folder.write_batches(path, Box::new(whole));
            }
            None => start_writer(),
        },
    };
    if failed.is_none() && !batch.is_empty() {
        let _ = tx.send(Message::Data(batch)).await;
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
    match (written, failed) {
        // A writer that failed (a full disk, say) stopped the download: its error says why.
        (Err(e), _) if writer_stopped => Err(e),
        (_, Some(reason)) => Err(reason),
        (Err(e), None) => Err(e),
        (Ok(()), None) => Ok(()),
    }
}

const MISMATCH: &str = "the downloaded bytes do not match the object's checksum: they were corrupted on the way, nothing was written; run the sync again";

/// Whether Google's client stopped a download because its bytes did not match the checksum
/// the response announced.
fn is_checksum_mismatch(e: &google_cloud_storage::Error) -> bool {
    use google_cloud_storage::error::ReadError;
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(s) = source {
        if matches!(
            s.downcast_ref::<ReadError>(),
            Some(ReadError::ChecksumMismatch(_))
        ) {
            return true;
        }
        source = s.source();
    }
    false
}
