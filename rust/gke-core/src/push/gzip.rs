//! Gzip on every core, pigz-style: the input is cut into blocks deflated in parallel, each ending
//! on a byte boundary (sync flush), concatenated into one ordinary gzip member that any
//! decompressor reads. Memory is bounded by the blocks in flight, whatever the input size.

use std::io::{self, Read};

use flate2::{Compress, Compression, Crc, FlushCompress, Status};

use crate::push::digest::{Digest, Hasher};

/// Uncompressed bytes per block: large enough that the per-block flush costs nothing measurable.
pub const BLOCK: usize = 512 * 1024;

/// What compressing a stream found out about its uncompressed content.
#[derive(Debug, Clone)]
pub struct Uncompressed {
    /// The layer's `diff_id`.
    pub digest: Digest,
    pub size: u64,
}

/// Deflates `input` at `level` (0-9) on `threads` threads and hands each piece of the gzip
/// stream, in order, to `emit`.
pub fn compress<R: Read + ?Sized>(
    input: &mut R,
    level: u32,
    threads: usize,
    mut emit: impl FnMut(Vec<u8>) -> io::Result<()>,
) -> io::Result<Uncompressed> {
    let threads = threads.max(1);
    let batch = threads * 2;
    emit(vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff])?;
    let mut hasher = Hasher::default();
    let mut crc = Crc::new();
    let mut next = read_block(input)?;
    loop {
        let mut blocks = Vec::with_capacity(batch);
        while blocks.len() < batch && !next.is_empty() {
            blocks.push(std::mem::replace(&mut next, read_block(input)?));
        }
        let last = next.is_empty();
        if blocks.is_empty() {
            // Empty input: one final empty block.
            blocks.push(Vec::new());
        }
        let count = blocks.len();
        let compressed: Vec<io::Result<(Vec<u8>, Crc)>> = std::thread::scope(|s| {
            let handles: Vec<_> = blocks
                .iter()
                .enumerate()
                .map(|(i, block)| {
                    let finish = last && i + 1 == count;
                    s.spawn(move || deflate(block, level, finish))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err(io::Error::other("a compression thread panicked")))
                })
                .collect()
        });
        for (block, out) in blocks.iter().zip(compressed) {
            let (out, block_crc) = out?;
            hasher.update(block);
            crc.combine(&block_crc);
            emit(out)?;
        }
        if last {
            break;
        }
    }
    let size = hasher.len();
    let mut trailer = Vec::with_capacity(8);
    trailer.extend_from_slice(&crc.sum().to_le_bytes());
    trailer.extend_from_slice(&(size as u32).to_le_bytes());
    emit(trailer)?;
    Ok(Uncompressed {
        digest: hasher.finish(),
        size,
    })
}

fn read_block<R: Read + ?Sized>(input: &mut R) -> io::Result<Vec<u8>> {
    let mut block = Vec::with_capacity(BLOCK);
    input.take(BLOCK as u64).read_to_end(&mut block)?;
    Ok(block)
}

/// Whether samples of the block (start, middle, end) do not shrink at level 1: random or
/// already-compressed content. Such blocks are stored, as zlib itself stores blocks that
/// deflate would grow, without first spending a futile search on them (deflating random bytes
/// runs at well under 100 MB/s; storing them at memory speed).
fn incompressible(block: &[u8]) -> bool {
    const SAMPLE: usize = 8 * 1024;
    if block.len() < 4 * SAMPLE {
        return false;
    }
    let mut c = Compress::new(Compression::new(1), false);
    let mut out = Vec::with_capacity(2 * SAMPLE);
    [0, block.len() / 2 - SAMPLE / 2, block.len() - SAMPLE]
        .iter()
        .all(|&start| {
            c.reset();
            out.clear();
            let done = c.compress_vec(
                &block[start..start + SAMPLE],
                &mut out,
                FlushCompress::Finish,
            );
            matches!(done, Ok(Status::StreamEnd)) && out.len() * 100 > SAMPLE * 97
        })
}

/// Raw deflate of one block: sync-flushed (byte-aligned, not final) unless it is the last one.
fn deflate(block: &[u8], level: u32, finish: bool) -> io::Result<(Vec<u8>, Crc)> {
    let mut crc = Crc::new();
    crc.update(block);
    let level = if level > 0 && incompressible(block) {
        0
    } else {
        level
    };
    let mut c = Compress::new(Compression::new(level), false);
    let flush = if finish {
        FlushCompress::Finish
    } else {
        FlushCompress::Sync
    };
    let mut out = Vec::with_capacity(block.len() + block.len() / 16 + 1024);
    loop {
        if out.capacity() - out.len() < 1024 {
            out.reserve(64 * 1024);
        }
        let consumed = c.total_in() as usize;
        let status = c
            .compress_vec(&block[consumed..], &mut out, flush)
            .map_err(io::Error::other)?;
        let all_in = c.total_in() as usize == block.len();
        match (finish, status) {
            (true, Status::StreamEnd) => break,
            (false, _) if all_in && out.len() < out.capacity() => break,
            _ => {}
        }
    }
    Ok((out, crc))
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::read::GzDecoder;

    fn roundtrip(data: &[u8], threads: usize) {
        let mut gz = Vec::new();
        let info = compress(&mut &data[..], 1, threads, |piece| {
            gz.extend_from_slice(&piece);
            Ok(())
        })
        .unwrap();
        assert_eq!(info.size, data.len() as u64);
        assert_eq!(info.digest, Digest::of(data));
        let mut back = Vec::new();
        GzDecoder::new(&gz[..]).read_to_end(&mut back).unwrap();
        assert!(
            back == data,
            "{} bytes came back for {}",
            back.len(),
            data.len()
        );
    }

    #[test]
    fn any_size_decompresses_to_the_input() {
        let mut data = Vec::new();
        let mut x: u32 = 7;
        for i in 0..(BLOCK * 5 + 1234) {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            data.push(if i % 3 == 0 { (x >> 16) as u8 } else { b'a' });
        }
        roundtrip(&[], 2);
        roundtrip(b"hello", 2);
        roundtrip(&data[..BLOCK], 3);
        roundtrip(&data, 2);
        roundtrip(&data, 1);
    }

    #[test]
    fn random_blocks_are_stored_and_text_is_compressed() {
        let mut random = Vec::with_capacity(BLOCK);
        let mut x: u64 = 88_172_645_463_325_252;
        while random.len() < BLOCK {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            random.extend_from_slice(&x.to_le_bytes());
        }
        assert!(incompressible(&random));
        let (stored, _) = deflate(&random, 1, true).unwrap();
        assert!(stored.len() < BLOCK + BLOCK / 100, "{}", stored.len());
        let text: Vec<u8> = b"usr/lib/python3/dist-packages/ "
            .iter()
            .copied()
            .cycle()
            .take(BLOCK)
            .collect();
        assert!(!incompressible(&text));
        assert!(deflate(&text, 1, true).unwrap().0.len() < BLOCK / 10);
        roundtrip(&random, 2);
    }

    #[test]
    fn output_is_deterministic() {
        let data = vec![42u8; BLOCK * 3];
        let run = |threads| {
            let mut gz = Vec::new();
            compress(&mut &data[..], 1, threads, |p| {
                gz.extend_from_slice(&p);
                Ok(())
            })
            .unwrap();
            gz
        };
        assert_eq!(run(1), run(4));
    }

    #[test]
    fn output_is_unchanged() {
        // The gzip bytes of a fixed input are part of a pushed layer's digest: a change of
        // CRC or deflate code must leave them as they were (a zlib-rs upgrade that changes
        // them moves every layer digest; check it before updating this value).
        let mut data = Vec::new();
        let mut x: u32 = 7;
        for i in 0..(BLOCK * 2 + 4321) {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            data.push(if i % 5 == 0 {
                (x >> 16) as u8
            } else {
                b"layer"[i % 5]
            });
        }
        let mut gz = Vec::new();
        compress(&mut &data[..], 1, 2, |p| {
            gz.extend_from_slice(&p);
            Ok(())
        })
        .unwrap();
        assert_eq!(
            Digest::of(&gz).as_str(),
            "sha256:c1ec0a9454aa88d4d9ace05ca0f37596261a25300050b3e04ce75dbd8be6332a"
        );
    }
}
