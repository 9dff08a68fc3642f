//! The local side of a sync: a directory (DSS's local managed folders), or anything else that
//! can list, stream, write and delete files (DSS's folder API, bridged from Python).

use std::fs;
use std::io::{self, Read};
use std::path::{Component, Path, PathBuf};
use std::time::SystemTime;

use crate::error::{GkeError, Result};

/// One file of the local side; `path` is relative and `/`-separated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalFile {
    pub path: String,
    pub size: u64,
    /// Last modification, when the side knows it: with the size, how a change is noticed.
    pub modified: Option<SystemTime>,
}

/// Blocking file access; the sync calls it from tokio's blocking threads.
pub trait FolderIo: Send + Sync + 'static {
    /// What the side is, for the report (`/data/folder`, `managed folder 'in'`).
    fn describe(&self) -> String;
    fn list(&self) -> Result<Vec<LocalFile>>;
    fn stat(&self, path: &str) -> Result<Option<LocalFile>>;
    fn open(&self, path: &str) -> Result<Box<dyn Read + Send>>;
    /// Writes `path` from `content`, which fails instead of ending when the download behind
    /// it was not verified: the file then must not appear (or keep its old content).
    fn write(&self, path: &str, content: Box<dyn Read + Send>) -> Result<()>;
    fn delete(&self, path: &str) -> Result<()>;
}

/// What an interrupted download leaves behind; never listed, replaced on the next run.
const PARTIAL_SUFFIX: &str = ".gke-native-part";

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

    /// `relative` under the root, refusing anything that would leave it.
    fn resolve(&self, relative: &str) -> Result<PathBuf> {
        let rel = Path::new(relative);
        let safe =
            !relative.is_empty() && rel.components().all(|c| matches!(c, Component::Normal(_)));
        if !safe {
            return Err(GkeError::Storage(format!(
                "{relative:?} is not a file path inside the folder"
            )));
        }
        Ok(self.root.join(rel))
    }

    fn walk(&self, dir: &Path, prefix: &str, out: &mut Vec<LocalFile>) -> io::Result<()> {
        for entry in fs::read_dir(dir)? {
            let entry = entry?;
            let Some(name) = entry.file_name().to_str().map(str::to_string) else {
                tracing::warn!("skipping {}: its name is not UTF-8", entry.path().display());
                continue;
            };
            let rel = format!("{prefix}{name}");
            let mut kind = entry.file_type()?;
            if kind.is_symlink() {
                // Linked files are synced; linked directories are not followed (no cycles).
                kind = fs::metadata(entry.path())?.file_type();
                if kind.is_dir() {
                    continue;
                }
            }
            if kind.is_dir() {
                self.walk(&entry.path(), &format!("{rel}/"), out)?;
            } else if kind.is_file() {
                if name.ends_with(PARTIAL_SUFFIX) {
                    let _ = fs::remove_file(entry.path());
                    continue;
                }
                let meta = fs::metadata(entry.path())?;
                out.push(LocalFile {
                    path: rel,
                    size: meta.len(),
                    modified: meta.modified().ok(),
                });
            }
        }
        Ok(())
    }
}

fn io_error(what: &str, path: &Path, e: io::Error) -> GkeError {
    GkeError::Storage(format!("{what} {}: {e}", path.display()))
}

impl FolderIo for LocalDir {
    fn describe(&self) -> String {
        self.root.display().to_string()
    }

    fn list(&self) -> Result<Vec<LocalFile>> {
        let mut out = Vec::new();
        self.walk(&self.root, "", &mut out)
            .map_err(|e| io_error("listing", &self.root, e))?;
        out.sort_by(|a, b| a.path.cmp(&b.path));
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

    fn write(&self, path: &str, mut content: Box<dyn Read + Send>) -> Result<()> {
        let full = self.resolve(path)?;
        let parent = full.parent().unwrap_or(&self.root);
        fs::create_dir_all(parent).map_err(|e| io_error("creating", parent, e))?;
        let name = full.file_name().and_then(|n| n.to_str()).unwrap_or("file");
        let partial = parent.join(format!(".{name}{PARTIAL_SUFFIX}"));
        let outcome = (|| {
            let mut out = fs::File::create(&partial)?;
            io::copy(&mut content, &mut out)?;
            // Renamed into place only once verified: readers never see half a file.
            fs::rename(&partial, &full)
        })();
        outcome.map_err(|e| {
            let _ = fs::remove_file(&partial);
            io_error("writing", &full, e)
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

    #[test]
    fn lists_recursively_and_writes_atomically() {
        let root = temp_dir("localdir");
        fs::create_dir_all(root.join("a/b")).unwrap();
        fs::write(root.join("a/b/c.txt"), "abc").unwrap();
        fs::write(root.join("top"), "t").unwrap();
        fs::write(root.join("a/.x.gke-native-part"), "stale").unwrap();
        let dir = LocalDir::new(&root, "f").unwrap();
        let names: Vec<_> = dir
            .list()
            .unwrap()
            .into_iter()
            .map(|f| (f.path, f.size))
            .collect();
        assert_eq!(
            names,
            [("a/b/c.txt".to_string(), 3), ("top".to_string(), 1)]
        );
        assert!(!root.join("a/.x.gke-native-part").exists());

        dir.write("n/new.bin", Box::new(&b"data"[..])).unwrap();
        assert_eq!(fs::read(root.join("n/new.bin")).unwrap(), b"data");

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
        assert_eq!(dir.list().unwrap().len(), 3);

        for bad in ["../x", "/etc/passwd", ""] {
            assert!(dir.open(bad).is_err(), "{bad}");
        }
        dir.delete("top").unwrap();
        dir.delete("top").unwrap();
        assert_eq!(dir.stat("top").unwrap(), None);
        fs::remove_dir_all(root).unwrap();
    }
}
