//! Copying one image from a local source to a registry: every blob checked (HEAD), mounted
//! from another repository of the registry when one is known to hold it, or uploaded —
//! streamed from the source file, compressed on the way when stored uncompressed — with
//! bounded parallelism; every digest verified; the manifest last, so an interrupted push never
//! leaves a tag pointing at missing blobs and running it again completes it.

use std::io::{self, Read};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt;
use tokio::sync::mpsc;

use crate::auth::credentials::GoogleCredentials;
use crate::config::params::{DOCKER_SOCKET, PUSH_PARALLELISM};
use crate::config::settings::PluginSettings;
use crate::error::{GkeError, Result};
use crate::push::artifact_registry::{self, RepositoryRef, TOKEN_USER};
use crate::push::blob_cache::{self, BlobCache, Compressed};
use crate::push::digest::{Digest, Hasher};
use crate::push::docker_daemon;
use crate::push::gzip;
use crate::push::image::{self, Image, Layer, Section};
use crate::push::reference::{Destination, Source};
use crate::push::registry::{Credentials, Registry};
use crate::push::report::{LayerReport, Outcome, PushReport};

/// How a push reaches its source and destination.
#[derive(Debug, Clone)]
pub struct PushOptions {
    /// Registry credentials; for Artifact Registry hosts, blank means `oauth2accesstoken` with
    /// an access token of the Google credentials below.
    pub credentials: Option<Credentials>,
    /// Service-account key (JSON text or path; blank: the default chain), for Artifact Registry.
    pub google_key: String,
    /// Plain HTTP to a registry that is not on loopback (loopback always is).
    pub insecure: bool,
    /// Create a missing Artifact Registry repository (DOCKER format).
    pub create_repository: bool,
    /// Blobs in flight at once.
    pub parallelism: usize,
    /// Gzip level (1-9) for layers stored uncompressed.
    pub compression_level: u32,
    pub docker_socket: PathBuf,
    /// Google APIs endpoint (Artifact Registry API), see `PluginSettings`.
    pub api_endpoint: Option<String>,
    /// Base URL serving Artifact Registry hosts' docker endpoint instead of `https://HOST`
    /// (a private endpoint, or a local registry in tests).
    pub registry_endpoint: Option<String>,
    /// Where the blob-info cache lives (`None`: no cache).
    pub cache_file: Option<PathBuf>,
}

impl Default for PushOptions {
    fn default() -> Self {
        Self {
            credentials: None,
            google_key: String::new(),
            insecure: false,
            create_repository: false,
            parallelism: PUSH_PARALLELISM,
            compression_level: 1,
            docker_socket: PathBuf::from(DOCKER_SOCKET),
            api_endpoint: None,
            registry_endpoint: None,
            cache_file: blob_cache::default_path(),
        }
    }
}

impl PushOptions {
    /// The defaults, with the endpoints given, else the environment's (as plugin settings
    /// left blank resolve them).
    pub fn notebook(api_endpoint: Option<String>, registry_endpoint: Option<String>) -> Self {
        let settings = PluginSettings {
            api_endpoint: api_endpoint.unwrap_or_default(),
            registry_endpoint: registry_endpoint.unwrap_or_default(),
            ..PluginSettings::default()
        };
        Self {
            api_endpoint: settings.api_endpoint(),
            registry_endpoint: settings.registry_endpoint(),
            ..Self::default()
        }
    }
}

/// Where a push is, for progress bars.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct PushProgress {
    pub bytes_done: u64,
    pub bytes_total: u64,
    pub layers_done: u64,
    pub layers_total: u64,
}

pub type Progress = Arc<dyn Fn(PushProgress) + Send + Sync>;

/// Counts bytes and layers, and tells `Progress` a few times per second.
struct Tracker {
    bytes: AtomicU64,
    layers: AtomicU64,
    total: PushProgress,
    last: Mutex<Instant>,
    callback: Option<Progress>,
}

impl Tracker {
    fn add(&self, bytes: u64, layers: u64) {
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
        self.layers.fetch_add(layers, Ordering::Relaxed);
        let due = {
            let mut last = self.last.lock().expect("no panics while held");
            if layers > 0 || last.elapsed() >= Duration::from_millis(250) {
                *last = Instant::now();
                true
            } else {
                false
            }
        };
        if due {
            self.tell();
        }
    }

    fn tell(&self) {
        if let Some(cb) = &self.callback {
            cb(PushProgress {
                bytes_done: self
                    .bytes
                    .load(Ordering::Relaxed)
                    .min(self.total.bytes_total),
                layers_done: self.layers.load(Ordering::Relaxed),
                ..self.total
            });
        }
    }
}

/// Everything a blob task shares.
struct Context {
    registry: Registry,
    destination: Destination,
    image_name: String,
    cache: Mutex<BlobCache>,
    tracker: Tracker,
    /// Blobs in flight at once.
    parallelism: usize,
    level: u32,
    threads: usize,
    /// Layers being compressed at once: each already uses every core, so more would only add
    /// memory (blocks in flight), not speed.
    compressing: tokio::sync::Semaphore,
}

/// Pushes `source` (skopeo syntax) to `destination` (`HOST/REPOSITORY[:TAG]`).
pub async fn push(
    source: &str,
    destination: &str,
    options: &PushOptions,
    progress: Option<Progress>,
) -> Result<PushReport> {
    let started = Instant::now();
    let src = Source::parse(source)?;
    let dst = Destination::parse(destination)?;
    let label = format!("{src} → {dst}");
    let ar = RepositoryRef::of(&dst);
    if options.parallelism == 0 || options.parallelism > 64 {
        return Err(GkeError::validation(
            "parallelism",
            format!("{} is out of range: use 1 to 64", options.parallelism),
        ));
    }
    let mut credentials = options.credentials.clone();
    let mut repository_created = false;
    if let Some(repo) = &ar {
        let google =
            GoogleCredentials::from_key_or_default(&options.google_key, "Service-account key")?;
        repository_created = artifact_registry::ensure_repository(
            &google,
            options.api_endpoint.clone(),
            repo,
            options.create_repository,
        )
        .await?;
        if credentials.is_none() {
            credentials = Some(Credentials {
                username: TOKEN_USER.to_string(),
                password: google.access_token().await?.into(),
            });
        }
    }
    let base = match (&ar, &options.registry_endpoint) {
        (Some(_), Some(endpoint)) => endpoint.trim_end_matches('/').to_string(),
        _ if dst.is_loopback() || options.insecure => format!("http://{}", dst.host),
        _ => format!("https://{}", dst.host),
    };
    let image = open(&src, &label, options).await?;
    let cache = BlobCache::load(options.cache_file.as_deref());
    let mut mount_from: Vec<String> = Vec::new();
    for layer in &image.layers {
        if let Some(d) = known_digest(layer, &cache) {
            for r in cache.mount_sources(&d.0, &dst.host, &dst.repository) {
                if !mount_from.contains(&r) {
                    mount_from.push(r);
                }
            }
        }
    }
    let registry = Registry::connect(
        &base,
        &label,
        &dst.repository,
        &mount_from,
        credentials.as_ref(),
    )
    .await?;
    let config_len = image.config.len() as u64;
    let ctx = Arc::new(Context {
        registry,
        destination: dst.clone(),
        image_name: label.clone(),
        cache: Mutex::new(cache),
        tracker: Tracker {
            bytes: AtomicU64::new(0),
            layers: AtomicU64::new(0),
            total: PushProgress {
                bytes_done: 0,
                bytes_total: image.stored_bytes() + config_len,
                layers_done: 0,
                layers_total: image.layers.len() as u64,
            },
            last: Mutex::new(Instant::now() - Duration::from_secs(1)),
            callback: progress,
        },
        parallelism: options.parallelism,
        level: options.compression_level.clamp(1, 9),
        threads: std::thread::available_parallelism().map_or(2, |n| n.get()),
        compressing: tokio::sync::Semaphore::new(2),
    });
    ctx.tracker.tell();
    let (layers, config_uploaded, digest) = match already_there(&ctx, &image).await {
        Some(done) => done,
        None => push_blobs_and_tag(&ctx, &image).await?,
    };
    ctx.cache.lock().expect("no panics while held").save();
    ctx.tracker.tell();
    let count = |o: Outcome| layers.iter().filter(|l| l.outcome == o).count();
    Ok(PushReport {
        source: src.to_string(),
        destination: dst.to_string(),
        digest: digest.to_string(),
        repository_created,
        layers_pushed: count(Outcome::Pushed),
        layers_skipped: count(Outcome::Skipped),
        layers_mounted: count(Outcome::Mounted),
        bytes_uploaded: layers
            .iter()
            .filter(|l| l.outcome == Outcome::Pushed)
            .map(|l| l.size)
            .sum::<u64>()
            + if config_uploaded { config_len } else { 0 },
        bytes_total: layers.iter().map(|l| l.size).sum::<u64>() + config_len,
        seconds: started.elapsed().as_secs_f64(),
        layers,
    })
}

/// A re-push of what the repository holds already: when the manifest this push would tag is
/// there (by digest), so is every blob it names (a registry accepts a manifest only once they
/// are), and the tag is all that is left: one HEAD, not one per blob. Whatever does not go
/// this way (a blob's digest not known before reading it, the manifest missing, the tag
/// refused) goes the whole way instead.
async fn already_there(
    ctx: &Arc<Context>,
    image: &Image,
) -> Option<(Vec<LayerReport>, bool, Digest)> {
    let blobs = {
        let cache = ctx.cache.lock().expect("no panics while held");
        image
            .layers
            .iter()
            .map(|layer| known_digest(layer, &cache))
            .collect::<Option<Vec<(Digest, u64)>>>()?
    };
    let manifest = image.manifest_for(&blobs);
    let (registry, repo) = (&ctx.registry, &ctx.destination.repository);
    let media_type = &image.manifest_media_type;
    match registry
        .has_manifest(repo, &Digest::of(&manifest), media_type)
        .await
    {
        Ok(true) => {}
        Ok(false) => return None,
        Err(e) => {
            tracing::debug!("{}: {e}; checking blob by blob", ctx.image_name);
            return None;
        }
    }
    let tagged = registry
        .put_manifest(repo, &ctx.destination.tag, media_type, manifest)
        .await;
    let digest = match tagged {
        Ok(digest) => digest,
        Err(e) => {
            tracing::info!("{}: {e}; checking blob by blob", ctx.image_name);
            return None;
        }
    };
    ctx.tracker.add(image.config.len() as u64, 0);
    let layers = image
        .layers
        .iter()
        .zip(blobs)
        .map(|(layer, (d, size))| done(ctx, layer, d, size, Outcome::Skipped))
        .collect();
    Some((layers, false, digest))
}

/// Every blob checked and pushed when missing, then the manifest tagged: the layers' reports,
/// whether the config was uploaded, the manifest's digest.
async fn push_blobs_and_tag(
    ctx: &Arc<Context>,
    image: &Image,
) -> Result<(Vec<LayerReport>, bool, Digest)> {
    let results: Vec<Result<LayerReport>> = futures::stream::iter(image.layers.iter().cloned())
        .map(|layer| {
            let ctx = ctx.clone();
            async move {
                tokio::spawn(push_layer(ctx, layer))
                    .await
                    .unwrap_or_else(|e| {
                        Err(GkeError::registry(format!("a layer upload stopped: {e}")))
                    })
            }
        })
        .buffered(ctx.parallelism)
        .collect()
        .await;
    let mut layers = Vec::new();
    let mut first_error = None;
    for r in results {
        match r {
            Ok(l) => layers.push(l),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    if let Some(e) = first_error {
        ctx.cache.lock().expect("no panics while held").save();
        return Err(e);
    }
    let (_, config_uploaded) = push_config(ctx, image).await?;
    let blobs: Vec<(Digest, u64)> = layers.iter().map(|l| (l.digest.clone(), l.size)).collect();
    let manifest = image.manifest_for(&blobs);
    let digest = ctx
        .registry
        .put_manifest(
            &ctx.destination.repository,
            &ctx.destination.tag,
            &image.manifest_media_type,
            manifest,
        )
        .await?;
    Ok((layers, config_uploaded, digest))
}

/// Reads the source into an `Image` (spooling a Docker Engine's save stream to a temp file).
async fn open(src: &Source, label: &str, options: &PushOptions) -> Result<Image> {
    let label = label.to_string();
    match src.clone() {
        Source::DockerDaemon { name, tag } => {
            let reference = format!("{name}:{tag}");
            let spool = docker_daemon::save(&options.docker_socket, &reference).await?;
            tokio::task::spawn_blocking(move || {
                let path = spool.to_path_buf();
                image::docker_archive(&path, &label, Some(spool))
            })
            .await
            .map_err(|e| GkeError::registry(format!("reading the image stopped: {e}")))?
        }
        Source::DockerArchive { path } => {
            tokio::task::spawn_blocking(move || image::docker_archive(&path, &label, None))
                .await
                .map_err(|e| GkeError::registry(format!("reading the image stopped: {e}")))?
        }
        Source::Oci { dir, tag } => {
            tokio::task::spawn_blocking(move || image::oci_layout(&dir, tag.as_deref(), &label))
                .await
                .map_err(|e| GkeError::registry(format!("reading the image stopped: {e}")))?
        }
    }
}

/// The digest and size the layer will have in the registry, when known without reading it.
fn known_digest(layer: &Layer, cache: &BlobCache) -> Option<(Digest, u64)> {
    if layer.gzip {
        layer.stored_digest.clone().map(|d| (d, layer.section.len))
    } else {
        let c = cache.compressed(layer.diff_id.as_ref().or(layer.stored_digest.as_ref())?)?;
        Some((c.digest.clone(), c.size))
    }
}

fn corrupt(ctx: &Context, e: io::Error) -> GkeError {
    GkeError::registry(format!(
        "{}: {e}; nothing was tagged. The source is corrupt or truncated: save or copy the image again",
        ctx.image_name
    ))
}

async fn push_layer(ctx: Arc<Context>, mut layer: Layer) -> Result<LayerReport> {
    let repo = ctx.destination.repository.clone();
    if layer.gzip && layer.stored_digest.is_none() {
        let section = layer.section.clone();
        let digest = tokio::task::spawn_blocking(move || image::hash_section(&section))
            .await
            .map_err(|e| GkeError::registry(format!("hashing a layer stopped: {e}")))?
            .map_err(|e| corrupt(&ctx, e))?;
        layer.stored_digest = Some(digest);
    }
    let known = known_digest(&layer, &ctx.cache.lock().expect("no panics while held"));
    if let Some((digest, size)) = &known {
        if ctx.registry.has_blob(&repo, digest).await?.is_some() {
            return Ok(done(&ctx, &layer, digest.clone(), *size, Outcome::Skipped));
        }
        let sources = ctx
            .cache
            .lock()
            .expect("no panics while held")
            .mount_sources(digest, &ctx.destination.host, &repo);
        for from in sources {
            if ctx.registry.mount(&repo, digest, &from).await?
                && ctx.registry.has_blob(&repo, digest).await?.is_some()
            {
                return Ok(done(&ctx, &layer, digest.clone(), *size, Outcome::Mounted));
            }
        }
    }
    // A streamed upload refused because the registry's token expired cannot be replayed
    // request by request: the blob is sent once more with the renewed token.
    let mut tries = 0;
    let (digest, size) = loop {
        let generation = ctx.registry.token_generation();
        let sent = if layer.gzip {
            let digest = layer.stored_digest.clone().expect("hashed above");
            upload_whole(&ctx, &layer.section, &digest)
                .await
                .map(|()| (digest, layer.section.len))
        } else {
            upload_compressed(&ctx, &layer).await
        };
        match sent {
            Err(e) if tries == 0 && ctx.registry.token_generation() != generation => {
                tracing::info!("{}: {e}; sending the layer again", ctx.image_name);
                tries += 1;
            }
            other => break other?,
        }
    };
    match ctx.registry.has_blob(&repo, &digest).await? {
        Some(served) if served == size || served == 0 => {}
        other => {
            return Err(GkeError::registry(format!(
                "{}: after its upload the registry reports blob {digest} as {}; nothing was tagged: run the push again",
                ctx.image_name,
                other.map_or("missing".to_string(), |s| format!("{s} bytes, not {size}"))
            )))
        }
    }
    let mut report = done(&ctx, &layer, digest, size, Outcome::Pushed);
    report.compressed = !layer.gzip;
    Ok(report)
}

fn done(ctx: &Context, layer: &Layer, digest: Digest, size: u64, outcome: Outcome) -> LayerReport {
    if outcome != Outcome::Pushed {
        ctx.tracker.add(layer.section.len, 0);
    }
    ctx.tracker.add(0, 1);
    ctx.cache
        .lock()
        .expect("no panics while held")
        .remember_location(
            digest.clone(),
            &ctx.destination.host,
            &ctx.destination.repository,
        );
    LayerReport {
        digest,
        size,
        outcome,
        compressed: false,
    }
}

/// A body fed by a blocking producer through a small channel: memory stays bounded.
fn channel_body() -> (
    mpsc::Sender<io::Result<Bytes>>,
    mpsc::Receiver<io::Result<Bytes>>,
) {
    mpsc::channel(4)
}

fn body_of(rx: mpsc::Receiver<io::Result<Bytes>>) -> reqwest::Body {
    reqwest::Body::wrap_stream(futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    }))
}

fn send(tx: &mpsc::Sender<io::Result<Bytes>>, bytes: Vec<u8>) -> io::Result<()> {
    tx.blocking_send(Ok(Bytes::from(bytes)))
        .map_err(|_| io::Error::other("the upload stopped"))
}

/// Fails the producer and the request it feeds, so that the registry never completes the blob.
fn abort<T>(tx: &mpsc::Sender<io::Result<Bytes>>, e: io::Error) -> io::Result<T> {
    let _ = tx.blocking_send(Err(io::Error::new(e.kind(), e.to_string())));
    Err(e)
}

/// A gzip blob whose digest the source names, in one PUT streamed from the file.
async fn upload_whole(ctx: &Arc<Context>, section: &Section, digest: &Digest) -> Result<()> {
    let upload = ctx
        .registry
        .start_upload(&ctx.destination.repository)
        .await?;
    let (tx, rx) = channel_body();
    let (section2, expected, tracker_ctx) = (section.clone(), digest.clone(), ctx.clone());
    let producer = tokio::task::spawn_blocking(move || -> io::Result<()> {
        let mut reader = match section2.open() {
            Ok(r) => r,
            Err(e) => return abort(&tx, e),
        };
        let mut hasher = Hasher::default();
        loop {
            let mut chunk = vec![0u8; 256 * 1024];
            let n = match reader.read(&mut chunk) {
                Ok(n) => n,
                Err(e) => return abort(&tx, e),
            };
            if n == 0 {
                break;
            }
            chunk.truncate(n);
            hasher.update(&chunk);
            tracker_ctx.tracker.add(n as u64, 0);
            // The last chunk is held back until the digest is checked.
            if hasher.len() == section2.len {
                let got = hasher.clone().finish();
                if got != expected {
                    return abort(
                        &tx,
                        io::Error::other(format!(
                            "digest mismatch: a layer named {expected} holds {got}"
                        )),
                    );
                }
            }
            send(&tx, chunk)?;
        }
        if hasher.len() != section2.len {
            return abort(
                &tx,
                io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("layer {} is cut short", expected.short()),
                ),
            );
        }
        Ok(())
    });
    let sent = ctx
        .registry
        .put_whole(&upload, digest, body_of(rx), section.len)
        .await;
    let produced = producer
        .await
        .map_err(|e| GkeError::registry(format!("reading a layer stopped: {e}")))?;
    if let Err(e) = produced {
        ctx.registry.cancel(&upload.location).await;
        return Err(corrupt(ctx, e));
    }
    sent
}

/// An uncompressed layer gzipped on every core on its way out: PATCH (streamed, or in chunks
/// when the registry asks), then PUT with the digest learned at the end.
async fn upload_compressed(ctx: &Arc<Context>, layer: &Layer) -> Result<(Digest, u64)> {
    let _slot = ctx
        .compressing
        .acquire()
        .await
        .map_err(|e| GkeError::registry(format!("compression stopped: {e}")))?;
    let upload = ctx
        .registry
        .start_upload(&ctx.destination.repository)
        .await?;
    let (tx, rx) = channel_body();
    let (section, diff_id, pctx) = (
        layer.section.clone(),
        layer.diff_id.clone().or(layer.stored_digest.clone()),
        ctx.clone(),
    );
    let producer = tokio::task::spawn_blocking(move || -> io::Result<(Digest, u64, Digest)> {
        let reader = match section.open() {
            Ok(r) => r,
            Err(e) => return abort(&tx, e),
        };
        let mut reader = Counting {
            inner: reader,
            ctx: &pctx,
        };
        let mut hasher = Hasher::default();
        let info = gzip::compress(&mut reader, pctx.level, pctx.threads, |piece| {
            hasher.update(&piece);
            send(&tx, piece)
        });
        let info = match info {
            Ok(info) => info,
            Err(e) => return abort(&tx, e),
        };
        if info.size != section.len {
            return abort(
                &tx,
                io::Error::new(io::ErrorKind::UnexpectedEof, "a layer is cut short"),
            );
        }
        if let Some(expected) = &diff_id {
            if &info.digest != expected {
                return abort(
                    &tx,
                    io::Error::other(format!(
                        "digest mismatch: the layer with diff_id {expected} holds {}",
                        info.digest
                    )),
                );
            }
        }
        Ok((hasher.clone().finish(), hasher.len(), info.digest))
    });
    let sent = match upload.chunk_min {
        None => {
            ctx.registry
                .patch(&upload.location, body_of(rx), None)
                .await
        }
        Some(min) => patch_chunks(ctx, &upload.location, rx, min.max(8 << 20)).await,
    };
    let produced = producer
        .await
        .map_err(|e| GkeError::registry(format!("compressing a layer stopped: {e}")))?;
    let (digest, size, diff_id) = match produced {
        Ok(p) => p,
        Err(e) => {
            ctx.registry.cancel(&upload.location).await;
            return Err(corrupt(ctx, e));
        }
    };
    let location = sent?;
    ctx.registry.finish(&location, &digest).await?;
    ctx.cache
        .lock()
        .expect("no panics while held")
        .remember_compressed(
            diff_id,
            Compressed {
                digest: digest.clone(),
                size,
            },
        );
    Ok((digest, size))
}

/// PATCHes of at least `chunk` bytes each (the registry's minimum), with Content-Range.
async fn patch_chunks(
    ctx: &Context,
    start: &reqwest::Url,
    mut rx: mpsc::Receiver<io::Result<Bytes>>,
    chunk: u64,
) -> Result<reqwest::Url> {
    let mut location = start.clone();
    let mut offset = 0u64;
    let mut buffer: Vec<u8> = Vec::new();
    loop {
        let item = rx.recv().await;
        let end = match item {
            Some(Ok(bytes)) => {
                buffer.extend_from_slice(&bytes);
                false
            }
            Some(Err(e)) => return Err(GkeError::registry(format!("{}: {e}", ctx.image_name))),
            None => true,
        };
        if (buffer.len() as u64 >= chunk || end) && !buffer.is_empty() {
            let len = buffer.len() as u64;
            let body = reqwest::Body::from(std::mem::take(&mut buffer));
            location = ctx
                .registry
                .patch(&location, body, Some((offset, offset + len - 1)))
                .await?;
            offset += len;
        }
        if end {
            return Ok(location);
        }
    }
}

/// Counts bytes read into the progress.
struct Counting<'a, R> {
    inner: R,
    ctx: &'a Context,
}

impl<R: Read> Read for Counting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.ctx.tracker.add(n as u64, 0);
        Ok(n)
    }
}

/// The config blob, from memory; returns its digest and whether it was uploaded.
async fn push_config(ctx: &Context, image: &Image) -> Result<(Digest, bool)> {
    let repo = &ctx.destination.repository;
    let digest = Digest::of(&image.config);
    if ctx.registry.has_blob(repo, &digest).await?.is_some() {
        ctx.tracker.add(image.config.len() as u64, 0);
        return Ok((digest, false));
    }
    let upload = ctx.registry.start_upload(repo).await?;
    let len = image.config.len() as u64;
    ctx.registry
        .put_whole(
            &upload,
            &digest,
            reqwest::Body::from(image.config.clone()),
            len,
        )
        .await?;
    if ctx.registry.has_blob(repo, &digest).await?.is_none() {
        return Err(GkeError::registry(format!(
            "{}: the registry does not show the config blob {digest} after its upload; nothing was tagged: run the push again",
            ctx.image_name
        )));
    }
    ctx.tracker.add(len, 0);
    Ok((digest, true))
}
