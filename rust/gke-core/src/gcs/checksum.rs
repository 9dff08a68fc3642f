//! CRC32C and MD5 as GCS keeps them (base64 of the big-endian CRC, base64 of the MD5 digest).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

/// What GCS says it holds for an object, for comparing with a local file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ObjectChecksums {
    pub crc32c: Option<u32>,
    pub md5: Option<[u8; 16]>,
}

impl ObjectChecksums {
    /// From the JSON API's `crc32c` and `md5Hash` fields (either may be missing: composite
    /// objects have no MD5, some emulators no CRC32C).
    pub fn from_json(crc32c: Option<&str>, md5_hash: Option<&str>) -> Self {
        Self {
            crc32c: crc32c.and_then(decode_crc32c),
            md5: md5_hash.and_then(decode_md5),
        }
    }

    /// Which checksum a comparison uses: CRC32C when the object has one, else MD5.
    pub fn preferred(&self) -> Option<ChecksumKind> {
        match (self.crc32c, self.md5) {
            (Some(_), _) => Some(ChecksumKind::Crc32c),
            (None, Some(_)) => Some(ChecksumKind::Md5),
            (None, None) => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChecksumKind {
    Crc32c,
    Md5,
}

impl ChecksumKind {
    pub fn name(self) -> &'static str {
        match self {
            ChecksumKind::Crc32c => "CRC32C",
            ChecksumKind::Md5 => "MD5",
        }
    }
}

pub fn decode_crc32c(text: &str) -> Option<u32> {
    let bytes: [u8; 4] = STANDARD.decode(text).ok()?.try_into().ok()?;
    Some(u32::from_be_bytes(bytes))
}

pub fn encode_crc32c(crc: u32) -> String {
    STANDARD.encode(crc.to_be_bytes())
}

pub fn decode_md5(text: &str) -> Option<[u8; 16]> {
    STANDARD.decode(text).ok()?.try_into().ok()
}

/// CRC32C and MD5 computed together over a stream of chunks, MD5 only when asked for.
#[derive(Clone)]
pub struct Hasher {
    crc: u32,
    md5: Option<md5::Context>,
    len: u64,
}

impl Hasher {
    pub fn new(with_md5: bool) -> Self {
        Self {
            crc: 0,
            md5: with_md5.then(md5::Context::new),
            len: 0,
        }
    }

    pub fn update(&mut self, chunk: &[u8]) {
        self.crc = crc32c::crc32c_append(self.crc, chunk);
        if let Some(md5) = &mut self.md5 {
            md5.consume(chunk);
        }
        self.len += chunk.len() as u64;
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn crc32c(&self) -> u32 {
        self.crc
    }

    pub fn finish(self) -> ObjectChecksums {
        ObjectChecksums {
            crc32c: Some(self.crc),
            md5: self.md5.map(|m| m.finalize().into()),
        }
    }

    /// Whether what was hashed matches what GCS holds, by the checksum GCS has: `None` when
    /// the object has none this hasher computed.
    pub fn matches(&self, expected: &ObjectChecksums) -> Option<bool> {
        if let Some(crc) = expected.crc32c {
            return Some(crc == self.crc);
        }
        match (expected.md5, &self.md5) {
            (Some(md5), Some(h)) => Some(h.clone().finalize().0 == md5),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_what_gcs_reports_for_hello() {
        // fake-gcs-server and GCS report these for the 5 bytes "hello".
        let expected =
            ObjectChecksums::from_json(Some("mnG7TA=="), Some("XUFAKrxLKna5cZ2REBfFkg=="));
        let mut h = Hasher::new(true);
        h.update(b"hel");
        h.update(b"lo");
        assert_eq!(h.len(), 5);
        assert_eq!(encode_crc32c(h.crc32c()), "mnG7TA==");
        assert_eq!(h.matches(&expected), Some(true));
        assert_eq!(h.clone().finish(), expected);
        let md5_only = ObjectChecksums {
            crc32c: None,
            ..expected
        };
        assert_eq!(md5_only.preferred(), Some(ChecksumKind::Md5));
        assert_eq!(h.matches(&md5_only), Some(true));
        assert_eq!(Hasher::new(false).matches(&md5_only), None);
        assert_eq!(ObjectChecksums::from_json(Some("bad"), None).crc32c, None);
    }
}
