//! What earlier pushes learned, kept between runs (like skopeo's blob-info cache): the gzip
//! digest each uncompressed layer compressed to (a warm re-push of a `docker-archive` checks the
//! registry instead of compressing again), and which repositories of a registry hold each blob
//! (for cross-repository mounts). No secrets; written atomically, mode 0600.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::push::digest::Digest;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Compressed {
    pub digest: Digest,
    pub size: u64,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct BlobCache {
    /// diff_id → the gzip blob it was compressed to.
    compressed: BTreeMap<Digest, Compressed>,
    /// digest → `host/repository` known to hold it.
    locations: BTreeMap<Digest, BTreeSet<String>>,
    #[serde(skip)]
    path: Option<PathBuf>,
}

/// `$XDG_CACHE_HOME/gke-native/blob-info.json`, else `~/.cache/…`.
pub fn default_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("gke-native").join("blob-info.json"))
}

impl BlobCache {
    /// The cache at `path`; empty when missing or unreadable (it is only a hint).
    pub fn load(path: Option<&Path>) -> Self {
        let mut cache: Self = path
            .and_then(|p| std::fs::read(p).ok())
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        cache.path = path.map(Path::to_path_buf);
        cache
    }

    pub fn compressed(&self, diff_id: &Digest) -> Option<&Compressed> {
        self.compressed.get(diff_id)
    }

    pub fn remember_compressed(&mut self, diff_id: Digest, blob: Compressed) {
        self.compressed.insert(diff_id, blob);
    }

    /// Other repositories of `host` known to hold `digest`.
    pub fn mount_sources(&self, digest: &Digest, host: &str, repository: &str) -> Vec<String> {
        let prefix = format!("{host}/");
        self.locations
            .get(digest)
            .into_iter()
            .flatten()
            .filter_map(|l| l.strip_prefix(&prefix))
            .filter(|r| *r != repository)
            .map(str::to_string)
            .collect()
    }

    pub fn remember_location(&mut self, digest: Digest, host: &str, repository: &str) {
        self.locations
            .entry(digest)
            .or_default()
            .insert(format!("{host}/{repository}"));
    }

    /// Writes the cache back (best effort: a failure only costs the next push some time).
    pub fn save(&self) {
        let Some(path) = &self.path else { return };
        let write = || -> std::io::Result<()> {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            crate::net::private_file::write_private(
                path,
                &serde_json::to_vec(self).unwrap_or_default(),
            )
            .map_err(std::io::Error::other)
        };
        if let Err(e) = write() {
            tracing::debug!("blob cache {} not written: {e}", path.display());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn survives_a_round_trip_and_offers_other_repositories() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c/blob-info.json");
        let d = Digest::of(b"x");
        let mut cache = BlobCache::load(Some(&path));
        cache.remember_compressed(
            d.clone(),
            Compressed {
                digest: Digest::of(b"y"),
                size: 3,
            },
        );
        cache.remember_location(d.clone(), "reg:5000", "a/b");
        cache.remember_location(d.clone(), "reg:5000", "c");
        cache.remember_location(d.clone(), "other", "z");
        cache.save();
        let back = BlobCache::load(Some(&path));
        assert_eq!(back.compressed(&d).unwrap().size, 3);
        assert_eq!(
            back.mount_sources(&d, "reg:5000", "c"),
            vec!["a/b".to_string()]
        );
    }
}
