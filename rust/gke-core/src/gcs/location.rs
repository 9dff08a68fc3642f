//! `gs://bucket/prefix` as admins write it, parsed once and checked against GCS's naming rules.

use std::fmt;

use crate::error::{GkeError, Result};

/// Object names are at most 1024 bytes; room is kept for the files' own paths.
const MAX_PREFIX: usize = 512;

/// A bucket and an object-name prefix (empty, or ending with `/`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct GcsLocation {
    pub bucket: String,
    pub prefix: String,
}

impl GcsLocation {
    /// `gs://bucket/some/prefix`, or a bucket and a prefix given apart (the recipe's fields).
    pub fn parse(url: &str, field: &str) -> Result<Self> {
        let rest = url.trim().strip_prefix("gs://").ok_or_else(|| {
            GkeError::validation(field, format!("{url:?} is not a gs://bucket/prefix URL"))
        })?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        Self::new(bucket, prefix, field)
    }

    pub fn new(bucket: &str, prefix: &str, field: &str) -> Result<Self> {
        Self::from_fields(bucket, field, prefix, field)
    }

    /// A bucket and a prefix from two fields of a form, each named in its problems.
    pub fn from_fields(
        bucket: &str,
        bucket_field: &str,
        prefix: &str,
        prefix_field: &str,
    ) -> Result<Self> {
        let bucket = bucket.trim();
        check_bucket_name(bucket).map_err(|m| GkeError::validation(bucket_field, m))?;
        let field = prefix_field;
        let prefix = prefix.trim().trim_start_matches('/');
        if let Some(c) = prefix.chars().find(|c| c.is_control()) {
            return Err(GkeError::validation(
                field,
                format!(
                    "prefix {prefix:?} contains the control character {:?}: GCS object names cannot hold NUL, line breaks or other control characters; remove it",
                    c
                ),
            ));
        }
        if prefix.len() > MAX_PREFIX {
            return Err(GkeError::validation(
                field,
                format!(
                    "the prefix is {} bytes long: GCS object names are at most 1024 bytes, so keep the prefix under {MAX_PREFIX}",
                    prefix.len()
                ),
            ));
        }
        let prefix = if prefix.is_empty() || prefix.ends_with('/') {
            prefix.to_string()
        } else {
            format!("{prefix}/")
        };
        if prefix.contains("//") || prefix.split('/').any(|s| s == "." || s == "..") {
            return Err(GkeError::validation(
                field,
                format!("prefix {prefix:?} has an empty, '.' or '..' segment"),
            ));
        }
        Ok(Self {
            bucket: bucket.to_string(),
            prefix,
        })
    }

    /// The object name of a file at `relative` (a `/`-separated path) under this location.
    pub fn object_name(&self, relative: &str) -> String {
        format!("{}{}", self.prefix, relative)
    }
}

impl fmt::Display for GcsLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "gs://{}/{}", self.bucket, self.prefix)
    }
}

/// GCS bucket names: 3–63 characters (up to 222 with dots) of lowercase letters, digits, `-`,
/// `_` and `.`, starting and ending with a letter or digit.
fn check_bucket_name(name: &str) -> std::result::Result<(), String> {
    let max = if name.contains('.') { 222 } else { 63 };
    let ok_chars = name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c));
    let ends_ok = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if name.len() < 3 || name.len() > max || !ok_chars {
        return Err(format!(
            "bucket name {name:?} must be 3-63 characters of lowercase letters, digits, '-', '_' and '.'"
        ));
    }
    if !ends_ok(name.chars().next()) || !ends_ok(name.chars().last()) {
        return Err(format!(
            "bucket name {name:?} must start and end with a lowercase letter or a digit"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_prefixes_are_normalised() {
        let l = GcsLocation::parse("gs://my-bucket/data/in", "f").unwrap();
        assert_eq!(
            (l.bucket.as_str(), l.prefix.as_str()),
            ("my-bucket", "data/in/")
        );
        assert_eq!(l.object_name("a/b.csv"), "data/in/a/b.csv");
        assert_eq!(l.to_string(), "gs://my-bucket/data/in/");
        let l = GcsLocation::parse("gs://my-bucket", "f").unwrap();
        assert_eq!(l.prefix, "");
        let l = GcsLocation::new("b12", "/x/", "f").unwrap();
        assert_eq!(l.prefix, "x/");
    }

    #[test]
    fn bad_names_say_what_is_wrong() {
        for (url, needle) in [
            ("s3://b/x", "is not a gs://"),
            ("gs://My_Bucket/x", "lowercase"),
            ("gs://ab", "3-63"),
            ("gs://-abc", "start and end"),
            ("gs://abc/x/../y", "'..'"),
            ("gs://abc/x\0y", "control character '\\0'"),
            ("gs://abc/x\ny", "control character '\\n'"),
            ("gs://abc/x\ry/", "line breaks"),
        ] {
            let e = GcsLocation::parse(url, "Bucket").unwrap_err().to_string();
            assert!(e.contains("Bucket: ") && e.contains(needle), "{url}: {e}");
        }
        let e = GcsLocation::from_fields("abc", "Bucket", "a\nb", "Prefix").unwrap_err();
        assert!(e.to_string().contains("Prefix: prefix \"a\\nb\""), "{e}");
        let e = GcsLocation::from_fields("abc", "Bucket", &"p".repeat(600), "Prefix");
        assert!(e
            .unwrap_err()
            .to_string()
            .contains("Prefix: the prefix is 600 bytes"));
    }
}
