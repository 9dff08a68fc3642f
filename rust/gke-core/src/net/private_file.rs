//! Files only the owner may read: keys, kubeconfigs, cached tokens, saved upload sessions.
//! Each is written whole, private from its first byte, and never through a file or symbolic
//! link someone else planted on its path.

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::Path;

use crate::error::{GkeError, Result};

/// Writes `content` to `path`, readable and writable by this user only. A missing folder is
/// created first, private too (0700; an existing one is left as it is). The content goes to
/// a new file of a random name in the same folder, created exclusively with mode 0600 (so no
/// existing file or link is ever opened; `tempfile` does this well), synced, then renamed over
/// `path`: that replaces a link there rather than following it, and a reader sees the old
/// file or the new one, never a part.
pub fn write_private(path: &Path, content: &[u8]) -> Result<()> {
    let fail = |e: std::io::Error| GkeError::file("write", path, e);
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(fail)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut file = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".tmp")
        .permissions(std::fs::Permissions::from_mode(0o600))
        .tempfile_in(dir)
        .map_err(fail)?;
    file.write_all(content).map_err(fail)?;
    file.as_file().sync_all().map_err(fail)?;
    file.persist(path).map_err(|e| fail(e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::symlink_metadata(path)
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    }

    #[test]
    fn private_files_are_0600() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kubeconfig");
        write_private(&path, b"x").unwrap();
        assert_eq!(mode(&path), 0o600);
        // Only the file itself is left: no temporary file.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_missing_folder_is_created_0700() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let sessions = dir.path().join("gke-native").join("gcs-uploads");
        let path = sessions.join("0123.json");
        write_private(&path, b"{}").unwrap();
        assert_eq!(mode(&sessions), 0o700);
        assert_eq!(mode(&dir.path().join("gke-native")), 0o700);
        assert_eq!(mode(&path), 0o600);
        // An existing folder keeps its mode.
        write_private(&dir.path().join("other"), b"{}").unwrap();
        assert_eq!(mode(dir.path()), 0o755);
    }

    #[test]
    fn an_existing_0644_file_ends_0600() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kubeconfig");
        // Planted at the target, and at the temporary name earlier versions used.
        let old_tmp = path.with_extension(format!("tmp{}", std::process::id()));
        for planted in [&path, &old_tmp] {
            std::fs::write(planted, b"old").unwrap();
            std::fs::set_permissions(planted, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
        write_private(&path, b"secret").unwrap();
        assert_eq!(mode(&path), 0o600);
        assert_eq!(std::fs::read(&path).unwrap(), b"secret");
        assert_eq!(std::fs::read(&old_tmp).unwrap(), b"old");
    }

    #[test]
    fn planted_symlinks_are_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        let path = dir.path().join("gke-native-sa-key.json");
        let victim = elsewhere.path().join("victim");
        std::fs::write(&victim, b"untouched").unwrap();
        std::fs::set_permissions(&victim, std::fs::Permissions::from_mode(0o644)).unwrap();
        let old_tmp = path.with_extension(format!("tmp{}", std::process::id()));
        std::os::unix::fs::symlink(&victim, &old_tmp).unwrap();
        std::os::unix::fs::symlink(&victim, &path).unwrap();
        write_private(&path, b"secret").unwrap();
        assert_eq!(std::fs::read(&victim).unwrap(), b"untouched");
        assert_eq!(mode(&victim), 0o644);
        let meta = std::fs::symlink_metadata(&path).unwrap();
        assert!(
            meta.file_type().is_file(),
            "the link was replaced by a file"
        );
        assert_eq!(mode(&path), 0o600);
        assert_eq!(std::fs::read(&path).unwrap(), b"secret");
    }
}
