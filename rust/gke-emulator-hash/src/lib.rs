//! The checksums GCS keeps for every object, for gke-emulator's Cloud Storage surface. A crate of
//! its own so that it can be optimized in debug builds (see the workspace's `Cargo.toml`): the
//! hashing code of `crc32c` and `md5` is inlined into its caller, and unoptimized it would cost
//! the emulator more CPU than the clients it serves.

/// CRC32C (Castagnoli) and MD5 of `data`.
#[inline(never)]
pub fn crc32c_md5(data: &[u8]) -> (u32, [u8; 16]) {
    (crc32c::crc32c(data), md5::compute(data).0)
}

/// Position of `needle` in `haystack` (multipart bodies are searched for their boundary).
#[inline(never)]
pub fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    let (&first, rest) = needle.split_first()?;
    let mut from = 0;
    while from + needle.len() <= haystack.len() {
        let at = from
            + haystack[from..=haystack.len() - needle.len()]
                .iter()
                .position(|&b| b == first)?;
        if haystack[at + 1..at + needle.len()] == *rest {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        // RFC 3720's CRC32C check value and RFC 1321's MD5 of "abc".
        assert_eq!(crc32c_md5(b"123456789").0, 0xE306_9283);
        assert_eq!(
            crc32c_md5(b"abc").1,
            *b"\x90\x01\x50\x98\x3c\xd2\x4f\xb0\xd6\x96\x3f\x7d\x28\xe1\x7f\x72"
        );
        assert_eq!(find(b"abcabd", b"abd"), Some(3));
        assert_eq!(find(b"ab", b"abc"), None);
    }
}
