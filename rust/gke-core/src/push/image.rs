//! An image read from its source, ready to push: its config, and each layer as a section of a
//! local file (never loaded in memory), with what the source says its digests are.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;

use crate::error::{GkeError, Result};
use crate::push::digest::{Digest, Hasher};

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
pub const DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";

/// A byte range of a local file.
#[derive(Debug, Clone)]
pub struct Section {
    pub path: Arc<PathBuf>,
    pub offset: u64,
    pub len: u64,
}

impl Section {
    pub fn open(&self) -> io::Result<io::Take<File>> {
        let mut f = File::open(self.path.as_path())?;
        f.seek(SeekFrom::Start(self.offset))?;
        Ok(f.take(self.len))
    }
}

#[derive(Debug, Clone)]
pub struct Layer {
    pub section: Section,
    /// Stored gzip-compressed (pushed as is) or as a plain tar (compressed on the way).
    pub gzip: bool,
    /// The digest of the stored bytes, when the source names it (verified while reading).
    pub stored_digest: Option<Digest>,
    /// The digest of the uncompressed tar, from the image config.
    pub diff_id: Option<Digest>,
    /// The media type the pushed (gzip) layer gets.
    pub media_type: String,
}

#[derive(Debug)]
pub struct Image {
    /// The source, as the user named it (for messages).
    pub name: String,
    pub config: Vec<u8>,
    pub config_media_type: String,
    pub manifest_media_type: String,
    pub layers: Vec<Layer>,
    /// The source's own manifest when it can be pushed unchanged (every layer already gzip):
    /// the pushed image then has the source's digest.
    pub manifest: Option<Vec<u8>>,
    /// A spooled `docker save` stream, deleted with the image.
    pub spool: Option<tempfile::TempPath>,
}

impl Image {
    /// The manifest for the pushed blobs: `blobs` are (digest, size) of each pushed layer.
    pub fn manifest_for(&self, blobs: &[(Digest, u64)]) -> Vec<u8> {
        if let Some(original) = &self.manifest {
            return original.clone();
        }
        let layers: Vec<Value> = self
            .layers
            .iter()
            .zip(blobs)
            .map(|(l, (digest, size))| {
                serde_json::json!({"mediaType": l.media_type, "size": size, "digest": digest})
            })
            .collect();
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": self.manifest_media_type,
            "config": {
                "mediaType": self.config_media_type,
                "size": self.config.len(),
                "digest": Digest::of(&self.config),
            },
            "layers": layers,
        });
        serde_json::to_vec_pretty(&manifest).unwrap_or_default()
    }

    /// Every layer's byte count as stored in the source.
    pub fn stored_bytes(&self) -> u64 {
        self.layers.iter().map(|l| l.section.len).sum()
    }
}

fn corrupt(name: &str, what: impl std::fmt::Display) -> GkeError {
    GkeError::registry(format!(
        "{name}: {what}. The source is corrupt or truncated: save or copy the image again"
    ))
}

fn diff_ids(config: &[u8]) -> Vec<Option<Digest>> {
    let v: Value = serde_json::from_slice(config).unwrap_or_default();
    v["rootfs"]["diff_ids"]
        .as_array()
        .map(|ids| {
            ids.iter()
                .map(|d| d.as_str().and_then(Digest::parse))
                .collect()
        })
        .unwrap_or_default()
}

fn starts_with_gzip(section: &Section) -> io::Result<bool> {
    let mut magic = [0u8; 2];
    let mut r = section.open()?;
    let n = r.read(&mut magic)?;
    Ok(n == 2 && magic == [0x1f, 0x8b])
}

fn read_all(section: &Section) -> io::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(section.len as usize);
    section.open()?.read_to_end(&mut out)?;
    Ok(out)
}

/// A `docker save` tar file: Docker's `manifest.json` describes both the legacy layout
/// (`<id>/layer.tar`) and the OCI layout current Docker writes (`blobs/sha256/<hex>`).
pub fn docker_archive(path: &Path, name: &str, spool: Option<tempfile::TempPath>) -> Result<Image> {
    let file = File::open(path)
        .map_err(|e| GkeError::registry(format!("{name}: cannot open {}: {e}", path.display())))?;
    let file_len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let shared = Arc::new(path.to_path_buf());
    // name → (section, or the link target of a symlink)
    let mut entries: HashMap<String, std::result::Result<Section, String>> = HashMap::new();
    let mut archive = tar::Archive::new(file);
    let iter = archive
        .entries()
        .map_err(|e| corrupt(name, format!("not a tar archive ({e})")))?;
    for entry in iter {
        let entry = entry.map_err(|e| corrupt(name, format!("unreadable tar entry ({e})")))?;
        let entry_name = entry
            .path()
            .map_err(|e| corrupt(name, e))?
            .to_string_lossy()
            .trim_start_matches("./")
            .to_string();
        let kind = entry.header().entry_type();
        if kind.is_file() {
            let section = Section {
                path: shared.clone(),
                offset: entry.raw_file_position(),
                len: entry.size(),
            };
            if section.offset + section.len > file_len {
                return Err(corrupt(name, format!("{entry_name} is cut short")));
            }
            entries.insert(entry_name, Ok(section));
        } else if kind.is_symlink() || kind.is_hard_link() {
            if let Ok(Some(target)) = entry.link_name() {
                let target = target.to_string_lossy().to_string();
                let resolved = if kind.is_symlink() {
                    let dir = Path::new(&entry_name).parent().unwrap_or(Path::new(""));
                    normalize(&dir.join(target))
                } else {
                    target
                };
                entries.insert(entry_name, Err(resolved));
            }
        }
    }
    let lookup = |wanted: &str| -> Result<Section> {
        let mut key = wanted.trim_start_matches("./").to_string();
        for _ in 0..8 {
            match entries.get(&key) {
                Some(Ok(section)) => return Ok(section.clone()),
                Some(Err(target)) => key = target.clone(),
                None => break,
            }
        }
        Err(corrupt(name, format!("the archive lacks {wanted}")))
    };
    let manifest = lookup("manifest.json").map_err(|_| {
        corrupt(
            name,
            "no manifest.json: not a docker-archive (docker save output)",
        )
    })?;
    let manifest: Value =
        serde_json::from_slice(&read_all(&manifest).map_err(|e| corrupt(name, e))?)
            .map_err(|e| corrupt(name, format!("manifest.json is not JSON ({e})")))?;
    let images = manifest.as_array().cloned().unwrap_or_default();
    let image = match images.as_slice() {
        [one] => one,
        [] => return Err(corrupt(name, "manifest.json lists no image")),
        _ => {
            return Err(GkeError::registry(format!(
                "{name}: the archive holds {} images: save one image per archive",
                images.len()
            )))
        }
    };
    let config_path = image["Config"].as_str().unwrap_or_default();
    let config_section = lookup(config_path)?;
    let config = read_all(&config_section).map_err(|e| corrupt(name, e))?;
    if let Some(expected) = blob_digest(config_path) {
        if Digest::of(&config) != expected {
            return Err(corrupt(
                name,
                format!("digest mismatch: the config {config_path} is not {expected}"),
            ));
        }
    }
    let ids = diff_ids(&config);
    let layer_paths: Vec<&str> = image["Layers"]
        .as_array()
        .map(|l| l.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if layer_paths.len() != ids.len() {
        return Err(corrupt(
            name,
            format!(
                "{} layers for {} diff_ids in the config",
                layer_paths.len(),
                ids.len()
            ),
        ));
    }
    let mut layers = Vec::new();
    for (path, diff_id) in layer_paths.iter().zip(ids) {
        let section = lookup(path)?;
        let gzip = starts_with_gzip(&section).map_err(|e| corrupt(name, e))?;
        let stored_digest =
            blob_digest(path).or_else(|| (!gzip).then(|| diff_id.clone()).flatten());
        layers.push(Layer {
            section,
            gzip,
            stored_digest,
            diff_id,
            media_type: DOCKER_LAYER_GZIP.to_string(),
        });
    }
    Ok(Image {
        name: name.to_string(),
        config,
        config_media_type: DOCKER_CONFIG.to_string(),
        manifest_media_type: DOCKER_MANIFEST.to_string(),
        layers,
        manifest: None,
        spool,
    })
}

/// `blobs/sha256/<hex>` names its content's digest.
fn blob_digest(path: &str) -> Option<Digest> {
    let hex = path
        .trim_start_matches("./")
        .strip_prefix("blobs/sha256/")?;
    Digest::parse(&format!("sha256:{hex}"))
}

fn normalize(path: &Path) -> String {
    let mut parts: Vec<String> = Vec::new();
    for c in path.components() {
        match c {
            std::path::Component::ParentDir => {
                parts.pop();
            }
            std::path::Component::Normal(p) => parts.push(p.to_string_lossy().to_string()),
            _ => {}
        }
    }
    parts.join("/")
}

/// An OCI image layout directory (`oci-layout`, `index.json`, `blobs/sha256/…`).
pub fn oci_layout(dir: &Path, tag: Option<&str>, name: &str) -> Result<Image> {
    let index_path = dir.join("index.json");
    let index = std::fs::read(&index_path).map_err(|e| {
        GkeError::registry(format!(
            "{name}: no OCI layout at {} ({e}): check the directory",
            dir.display()
        ))
    })?;
    let index: Value = serde_json::from_slice(&index)
        .map_err(|e| corrupt(name, format!("index.json is not JSON ({e})")))?;
    let manifests = index["manifests"].as_array().cloned().unwrap_or_default();
    let ref_name = |m: &Value| {
        m["annotations"]["org.opencontainers.image.ref.name"]
            .as_str()
            .map(str::to_string)
    };
    let chosen = match tag {
        Some(tag) => manifests
            .iter()
            .find(|m| ref_name(m).as_deref() == Some(tag)),
        None if manifests.len() == 1 => manifests.first(),
        None => None,
    };
    let Some(descriptor) = chosen else {
        let tags: Vec<String> = manifests.iter().filter_map(ref_name).collect();
        return Err(GkeError::registry(format!(
            "{name}: unknown image: the layout's tags are [{}]; name one as oci:DIR:TAG",
            tags.join(", ")
        )));
    };
    let blob = |d: &Value, what: &str| -> Result<(Section, Digest)> {
        let digest = d["digest"]
            .as_str()
            .and_then(Digest::parse)
            .ok_or_else(|| corrupt(name, format!("{what} has no sha256 digest")))?;
        let path = Arc::new(dir.join("blobs").join("sha256").join(digest.hex()));
        let len = std::fs::metadata(path.as_path())
            .map_err(|e| corrupt(name, format!("{what} {digest} is missing ({e})")))?
            .len();
        if let Some(size) = d["size"].as_u64() {
            if size != len {
                return Err(corrupt(
                    name,
                    format!("{what} {digest} has {len} bytes, not {size}"),
                ));
            }
        }
        Ok((
            Section {
                path,
                offset: 0,
                len,
            },
            digest,
        ))
    };
    let small = |d: &Value, what: &str| -> Result<Vec<u8>> {
        let (section, digest) = blob(d, what)?;
        let bytes = read_all(&section).map_err(|e| corrupt(name, e))?;
        if Digest::of(&bytes) != digest {
            return Err(corrupt(
                name,
                format!("digest mismatch: {what} is not {digest}"),
            ));
        }
        Ok(bytes)
    };
    let manifest_bytes = small(descriptor, "the manifest")?;
    let manifest: Value = serde_json::from_slice(&manifest_bytes)
        .map_err(|e| corrupt(name, format!("the manifest is not JSON ({e})")))?;
    let media_type = manifest["mediaType"]
        .as_str()
        .or(descriptor["mediaType"].as_str())
        .unwrap_or(OCI_MANIFEST)
        .to_string();
    if media_type == OCI_INDEX || manifest["manifests"].is_array() {
        return Err(GkeError::registry(format!(
            "{name}: a multi-platform image index: push one platform's image"
        )));
    }
    let config = small(&manifest["config"], "the config")?;
    let config_media_type = manifest["config"]["mediaType"]
        .as_str()
        .unwrap_or(OCI_CONFIG)
        .to_string();
    let ids = diff_ids(&config);
    let mut layers = Vec::new();
    let mut all_gzip = true;
    for (i, d) in manifest["layers"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        let (section, digest) = blob(d, &format!("layer {}", i + 1))?;
        let layer_type = d["mediaType"].as_str().unwrap_or_default();
        let gzip = layer_type.ends_with("gzip");
        if !gzip && !layer_type.ends_with(".tar") && !layer_type.ends_with("tar") {
            return Err(GkeError::registry(format!(
                "{name}: layer {} is {layer_type}: only gzip and uncompressed layers are supported",
                i + 1
            )));
        }
        all_gzip &= gzip;
        let pushed_type = if gzip {
            layer_type.to_string()
        } else if layer_type.starts_with("application/vnd.docker") {
            DOCKER_LAYER_GZIP.to_string()
        } else {
            OCI_LAYER_GZIP.to_string()
        };
        layers.push(Layer {
            section,
            gzip,
            stored_digest: Some(digest),
            diff_id: ids.get(i).cloned().flatten(),
            media_type: pushed_type,
        });
    }
    Ok(Image {
        name: name.to_string(),
        config,
        config_media_type,
        manifest_media_type: media_type,
        layers,
        manifest: all_gzip.then_some(manifest_bytes),
        spool: None,
    })
}

/// Hashes a section (for gzip layers whose source does not name their digest).
pub fn hash_section(section: &Section) -> io::Result<Digest> {
    let mut r = section.open()?;
    let mut h = Hasher::default();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    if h.len() != section.len {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the file is cut short",
        ));
    }
    Ok(h.finish())
}
