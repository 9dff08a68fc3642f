//! Gzip on every core, pigz-style: the input is cut into blocks deflated in parallel, each ending
//! on a byte boundary (sync flush), concatenated into one ordinary gzip member that any
//! decompressor reads. Memory is bounded by the blocks in flight, whatever the input size.

use std::io::{self, Read};
use std::sync::{Arc, Mutex};

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
///
/// A pipeline, so that no core waits on another stage: this thread reads blocks and emits the
/// compressed pieces in order (`emit` hashes and sends them), `threads` workers deflate blocks
/// (and take their CRC), one more thread hashes the uncompressed bytes in order (the layer's
/// `diff_id`). At most `2 × threads + 2` blocks are in flight, whatever the input size; their
/// buffers and each worker's compressor are reused, not allocated (and cleared) per block.
pub fn compress<R: Read + ?Sized>(
    input: &mut R,
    level: u32,
    threads: usize,
    mut emit: impl FnMut(Vec<u8>) -> io::Result<()>,
) -> io::Result<Uncompressed> {
    use std::collections::BTreeMap;
    use std::sync::mpsc;

    type Deflated = (usize, io::Result<(Vec<u8>, Crc)>);
    let threads = threads.max(1);
    let in_flight_max = threads * 2 + 2;
    emit(vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff])?;
    let pool = Pool::default();
    std::thread::scope(|s| -> io::Result<Uncompressed> {
        let (work_tx, work_rx) = mpsc::channel::<(usize, Arc<Block>, bool)>();
        let work_rx = Arc::new(Mutex::new(work_rx));
        let (done_tx, done_rx) = mpsc::channel::<Deflated>();
        for _ in 0..threads {
            let (work_rx, done_tx) = (work_rx.clone(), done_tx.clone());
            s.spawn(move || {
                let mut deflater = Deflater::new(level);
                loop {
                    let next = work_rx.lock().map(|rx| rx.recv());
                    let Ok(Ok((index, block, finish))) = next else {
                        return;
                    };
                    let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        deflater.block(&block.data, finish)
                    }))
                    .unwrap_or_else(|_| Err(io::Error::other("a compression thread panicked")));
                    drop(block);
                    if done_tx.send((index, out)).is_err() {
                        return;
                    }
                }
            });
        }
        drop(done_tx);
        let (plain_tx, plain_rx) = mpsc::sync_channel::<Arc<Block>>(in_flight_max);
        let plain = s.spawn(move || {
            let mut hasher = Hasher::default();
            for block in plain_rx {
                hasher.update(&block.data);
            }
            hasher
        });

        let mut crc = Crc::new();
        let mut next = pool.read(input)?;
        let (mut sent, mut emitted) = (0usize, 0usize);
        let mut ready: BTreeMap<usize, (Vec<u8>, Crc)> = BTreeMap::new();
        let mut reading = true;
        loop {
            while reading && sent - emitted < in_flight_max {
                let last = next.data.len() < BLOCK;
                let following = if last { None } else { Some(pool.read(input)?) };
                let last = last || following.as_ref().is_some_and(|b| b.data.is_empty());
                let block = Arc::new(std::mem::replace(
                    &mut next,
                    following.unwrap_or_else(|| pool.block()),
                ));
                if !block.data.is_empty() {
                    plain_tx
                        .send(block.clone())
                        .map_err(|_| io::Error::other("the hashing thread stopped"))?;
                }
                work_tx
                    .send((sent, block, last))
                    .map_err(|_| io::Error::other("the compression threads stopped"))?;
                sent += 1;
                reading = !last;
            }
            if emitted == sent {
                break;
            }
            let (index, out) = done_rx
                .recv()
                .map_err(|_| io::Error::other("the compression threads stopped"))?;
            ready.insert(index, out?);
            while let Some((out, block_crc)) = ready.remove(&emitted) {
                crc.combine(&block_crc);
                emit(out)?;
                emitted += 1;
            }
        }
        drop(work_tx);
        drop(plain_tx);
        let hasher = plain
            .join()
            .map_err(|_| io::Error::other("the hashing thread panicked"))?;
        let size = hasher.len();
        let mut trailer = Vec::with_capacity(8);
        trailer.extend_from_slice(&crc.sum().to_le_bytes());
        trailer.extend_from_slice(&(size as u32).to_le_bytes());
        emit(trailer)?;
        Ok(Uncompressed {
            digest: hasher.finish(),
            size,
        })
    })
}

/// Input buffers given back when the last stage is done with them.
#[derive(Clone, Default)]
struct Pool(Arc<Mutex<Vec<Vec<u8>>>>);

/// One block of input; its buffer returns to the pool when dropped.
struct Block {
    data: Vec<u8>,
    pool: Pool,
}

impl Pool {
    fn block(&self) -> Block {
        let data = self
            .0
            .lock()
            .ok()
            .and_then(|mut free| free.pop())
            .unwrap_or_else(|| Vec::with_capacity(BLOCK));
        Block {
            data,
            pool: self.clone(),
        }
    }

    /// The next block of `input`: `BLOCK` bytes, fewer only at its end.
    fn read<R: Read + ?Sized>(&self, input: &mut R) -> io::Result<Block> {
        let mut block = self.block();
        input.take(BLOCK as u64).read_to_end(&mut block.data)?;
        Ok(block)
    }
}

impl Drop for Block {
    fn drop(&mut self) {
        let mut data = std::mem::take(&mut self.data);
        data.clear();
        if let Ok(mut free) = self.pool.0.lock() {
            free.push(data);
        }
    }
}

/// A worker's compressors, reset for each block rather than made (and their tables cleared)
/// anew: the output is the same bytes.
struct Deflater {
    level: u32,
    main: Compress,
    stored: Compress,
    probe: Compress,
}

impl Deflater {
    fn new(level: u32) -> Self {
        Self {
            level,
            main: Compress::new(Compression::new(level), false),
            stored: Compress::new(Compression::new(0), false),
            probe: Compress::new(Compression::new(1), false),
        }
    }

    /// Raw deflate of one block: sync-flushed (byte-aligned, not final) unless it is the last
    /// one.
    fn block(&mut self, block: &[u8], finish: bool) -> io::Result<(Vec<u8>, Crc)> {
        let mut crc = Crc::new();
        crc.update(block);
        let c = if self.level > 0 && incompressible(&mut self.probe, block) {
            &mut self.stored
        } else {
            &mut self.main
        };
        c.reset();
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
}

/// Whether samples of the block (start, middle, end) do not shrink at level 1 (`probe`): random
/// or already-compressed content. Such blocks are stored, as zlib itself stores blocks that
/// deflate would grow, without first spending a futile search on them (deflating random bytes
/// runs at well under 100 MB/s; storing them at memory speed).
fn incompressible(probe: &mut Compress, block: &[u8]) -> bool {
    const SAMPLE: usize = 8 * 1024;
    if block.len() < 4 * SAMPLE {
        return false;
    }
    let mut out = Vec::with_capacity(2 * SAMPLE);
    [0, block.len() / 2 - SAMPLE / 2, block.len() - SAMPLE]
        .iter()
        .all(|&start| {
            probe.reset();
            out.clear();
            let done = probe.compress_vec(
                &block[start..start + SAMPLE],
                &mut out,
                FlushCompress::Finish,
            );
            matches!(done, Ok(Status::StreamEnd)) && out.len() * 100 > SAMPLE * 97
        })
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
        assert!(incompressible(
            &mut Compress::new(Compression::new(1), false),
            &random
        ));
        let (stored, _) = Deflater::new(1).block(&random, true).unwrap();
        assert!(stored.len() < BLOCK + BLOCK / 100, "{}", stored.len());
        let text: Vec<u8> = b"usr/lib/python3/dist-packages/ "
            .iter()
            .copied()
            .cycle()
            .take(BLOCK)
            .collect();
        assert!(!incompressible(
            &mut Compress::new(Compression::new(1), false),
            &text
        ));
        assert!(Deflater::new(1).block(&text, true).unwrap().0.len() < BLOCK / 10);
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
