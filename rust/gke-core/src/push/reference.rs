//! Image names as skopeo spells them: sources `docker-daemon:NAME[:TAG]`,
//! `docker-archive:PATH`, `oci:DIR[:TAG]`; destinations `[docker://]HOST[:PORT]/PATH[:TAG]`.

use std::fmt;
use std::path::PathBuf;

use crate::error::{GkeError, Result};

/// Where an image is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// An image of the local Docker Engine, `name:tag`.
    DockerDaemon { name: String, tag: String },
    /// A `docker save` tar file (legacy layout, or the OCI layout current Docker writes).
    DockerArchive { path: PathBuf },
    /// An OCI image layout directory, the image tagged `tag` in its index (or its only one).
    Oci { dir: PathBuf, tag: Option<String> },
}

impl Source {
    pub fn parse(text: &str) -> Result<Self> {
        let text = text.trim();
        let bad = |what: &str| {
            GkeError::validation(
                "source",
                format!("'{text}' {what}: use docker-daemon:NAME[:TAG], docker-archive:PATH or oci:DIR[:TAG]"),
            )
        };
        if let Some(rest) = text.strip_prefix("docker-daemon:") {
            let (name, tag) = split_tag(rest);
            if name.is_empty() {
                return Err(bad("names no image"));
            }
            Ok(Source::DockerDaemon {
                name: name.to_string(),
                tag: tag.unwrap_or("latest").to_string(),
            })
        } else if let Some(path) = text.strip_prefix("docker-archive:") {
            if path.is_empty() {
                return Err(bad("names no file"));
            }
            Ok(Source::DockerArchive { path: path.into() })
        } else if let Some(rest) = text.strip_prefix("oci:") {
            let (dir, tag) = split_tag(rest);
            if dir.is_empty() {
                return Err(bad("names no directory"));
            }
            Ok(Source::Oci {
                dir: dir.into(),
                tag: tag.map(str::to_string),
            })
        } else {
            Err(bad("has no known transport"))
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::DockerDaemon { name, tag } => write!(f, "docker-daemon:{name}:{tag}"),
            Source::DockerArchive { path } => write!(f, "docker-archive:{}", path.display()),
            Source::Oci {
                dir,
                tag: Some(tag),
            } => write!(f, "oci:{}:{tag}", dir.display()),
            Source::Oci { dir, tag: None } => write!(f, "oci:{}", dir.display()),
        }
    }
}

/// `NAME:TAG` → (NAME, Some(TAG)); a colon followed by a path or a port is not a tag.
fn split_tag(text: &str) -> (&str, Option<&str>) {
    match text.rsplit_once(':') {
        Some((name, tag)) if !tag.is_empty() && !tag.contains('/') => (name, Some(tag)),
        _ => (text, None),
    }
}

/// The longest repository name (the path after the host) registries accept.
const MAX_REPOSITORY_NAME: usize = 255;

/// A path component as the OCI distribution spec defines it:
/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*` (so never `.`, `..`, or empty).
fn valid_path_component(part: &str) -> bool {
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let bytes = part.as_bytes();
    let (Some(&first), Some(&last)) = (bytes.first(), bytes.last()) else {
        return false;
    };
    if !alnum(first) || !alnum(last) {
        return false;
    }
    // Between alphanumeric runs: one '.', one or two '_', or any number of '-'.
    bytes
        .split(|&b| alnum(b))
        .filter(|sep| !sep.is_empty())
        .all(|sep| matches!(sep, b"." | b"_" | b"__") || sep.iter().all(|&b| b == b'-'))
}

/// `name[:port]`: DNS labels (letters, digits, inner dashes) joined by dots, or a bracketed
/// IPv6 address, with an optional port.
fn valid_host(host: &str) -> bool {
    let (name, port) = match host.strip_prefix('[') {
        Some(v6) => match v6.split_once(']') {
            Some((addr, rest)) => {
                if addr.parse::<std::net::Ipv6Addr>().is_err() {
                    return false;
                }
                (None, rest.strip_prefix(':'))
            }
            None => return false,
        },
        None => match host.split_once(':') {
            Some((name, port)) => (Some(name), Some(port)),
            None => (Some(host), None),
        },
    };
    let port_ok = port.is_none_or(|p| p.parse::<u16>().is_ok_and(|p| p > 0));
    let name_ok = name.is_none_or(|name| {
        !name.is_empty()
            && name.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            })
    });
    port_ok && name_ok
}

/// An image in a registry: `host[:port]/repository:tag`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    pub host: String,
    pub repository: String,
    pub tag: String,
}

impl Destination {
    pub fn parse(text: &str) -> Result<Self> {
        let raw = text.trim();
        let rest = raw.strip_prefix("docker://").unwrap_or(raw);
        let bad = |what: &str| {
            GkeError::validation(
                "destination",
                format!("'{raw}' {what}: use HOST/REPOSITORY[:TAG], e.g. europe-west1-docker.pkg.dev/my-project/dss/dku-exec-base:13.2"),
            )
        };
        let Some((host, path)) = rest.split_once('/') else {
            return Err(bad("names no repository"));
        };
        if !(host.contains('.') || host.contains(':') || host == "localhost") {
            return Err(bad("does not start with a registry host"));
        }
        if path.contains('@') {
            return Err(bad("names a digest: push to a tag"));
        }
        if !valid_host(host) {
            return Err(bad("has an invalid registry host"));
        }
        let (repository, tag) = split_tag(path);
        if let Some(part) = repository.split('/').find(|p| !valid_path_component(p)) {
            let what = match part {
                "" => "has an empty path component ('//' or a trailing '/')".to_string(),
                "." | ".." => format!("has a '{part}' path component: registries take it literally or refuse it, so name the repository directly"),
                _ => format!("has an invalid path component '{part}' (lowercase letters and digits, joined by single '.', '_' or '__', or by dashes)"),
            };
            return Err(bad(&what));
        }
        if repository.len() > MAX_REPOSITORY_NAME {
            return Err(bad(&format!(
                "has a repository name longer than {MAX_REPOSITORY_NAME} characters"
            )));
        }
        let tag = tag.unwrap_or("latest");
        let valid_tag = tag.len() <= 128
            && !tag.starts_with(['.', '-'])
            && tag
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if !valid_tag {
            return Err(bad("has an invalid tag (up to 128 letters, digits, '_', '.' and '-', not starting with '.' or '-')"));
        }
        Ok(Self {
            host: host.to_string(),
            repository: repository.to_string(),
            tag: tag.to_string(),
        })
    }

    /// Whether the host is this machine: such registries are spoken to over plain HTTP.
    pub fn is_loopback(&self) -> bool {
        let name = match self.host.strip_prefix('[') {
            Some(v6) => v6.split(']').next().unwrap_or_default(),
            None => self.host.split(':').next().unwrap_or_default(),
        };
        name == "localhost" || name == "::1" || name.starts_with("127.")
    }
}

impl fmt::Display for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}:{}", self.host, self.repository, self.tag)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_as_skopeo_names_them() {
        assert_eq!(
            Source::parse("docker-daemon:dku-exec-base-abc:13.2").unwrap(),
            Source::DockerDaemon {
                name: "dku-exec-base-abc".into(),
                tag: "13.2".into()
            }
        );
        assert_eq!(
            Source::parse("docker-daemon:reg.example:5000/x").unwrap(),
            Source::DockerDaemon {
                name: "reg.example:5000/x".into(),
                tag: "latest".into()
            }
        );
        assert_eq!(
            Source::parse("oci:/tmp/layout:v1").unwrap(),
            Source::Oci {
                dir: "/tmp/layout".into(),
                tag: Some("v1".into())
            }
        );
        assert_eq!(
            Source::parse("docker-archive:/tmp/a.tar").unwrap(),
            Source::DockerArchive {
                path: "/tmp/a.tar".into()
            }
        );
        let e = Source::parse("/tmp/a.tar").unwrap_err().to_string();
        assert!(
            e.contains("no known transport") && e.contains("docker-archive:PATH"),
            "{e}"
        );
    }

    #[test]
    fn destinations() {
        let d = Destination::parse("docker://127.0.0.1:5000/dss/base:1").unwrap();
        assert_eq!(
            (d.host.as_str(), d.repository.as_str(), d.tag.as_str()),
            ("127.0.0.1:5000", "dss/base", "1")
        );
        assert!(d.is_loopback());
        let d = Destination::parse("europe-west1-docker.pkg.dev/p/r/img").unwrap();
        assert_eq!(d.tag, "latest");
        assert!(!d.is_loopback());
        for bad in [
            "img:1",
            "host.example/Upper",
            "host.example/a@sha256:00",
            "host.example/a:b c",
        ] {
            assert!(Destination::parse(bad).is_err(), "{bad}");
        }
        for ok in [
            "reg.example/a.b/c_d/e__f/g---h:v1.0",
            "[::1]:5000/dss/base",
            "localhost/x",
        ] {
            assert!(Destination::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn dot_segments_and_bad_components_are_refused_naming_the_field() {
        for (bad, says) in [
            ("host.example/team-a/../team-b/img", "'..' path component"),
            ("host.example/team-a/./img", "'.' path component"),
            ("host.example/team-a//img", "empty path component"),
            ("host.example/team-a/img/", "empty path component"),
            ("host.example/-a/img", "invalid path component '-a'"),
            ("host.example/a./img", "invalid path component 'a.'"),
            ("host.example/a..b/img", "invalid path component 'a..b'"),
            ("host.example/a___b/img", "invalid path component 'a___b'"),
            ("host.example/img:.hidden", "invalid tag"),
            ("host.example/img:-x", "invalid tag"),
            ("..:5000/img", "invalid registry host"),
            ("host..example/img", "invalid registry host"),
            ("host.example:0/img", "invalid registry host"),
        ] {
            let e = Destination::parse(bad).unwrap_err();
            let text = e.to_string();
            assert!(matches!(e, GkeError::Validation(_)), "{bad}: {text}");
            assert!(
                text.contains(&format!("- destination: '{bad}' ")),
                "{bad}: {text}"
            );
            assert!(text.contains(says), "{bad}: {text}");
        }
        let long = format!("host.example/{}", "a".repeat(256));
        assert!(Destination::parse(&long)
            .unwrap_err()
            .to_string()
            .contains("longer than 255"));
    }
}
