//! SHA-256 throughput of `sha2` and of `ring::digest` over 256 MiB fed in 1 MiB pieces (as a
//! layer goes through push/digest.rs), best of 5 runs each, on this machine's CPU.

use std::time::Instant;

use sha2::Digest as _;

const PIECE: usize = 1 << 20;
const PIECES: usize = 256;
const RUNS: usize = 5;

/// The fastest of `RUNS` runs of `hash`, in seconds, and the digest it gave.
fn best(hash: impl Fn() -> Vec<u8>) -> (f64, Vec<u8>) {
    let mut fastest = f64::INFINITY;
    let mut digest = Vec::new();
    for _ in 0..RUNS {
        let start = Instant::now();
        digest = std::hint::black_box(hash());
        fastest = fastest.min(start.elapsed().as_secs_f64());
    }
    (fastest, digest)
}

fn main() {
    let mut piece = vec![0u8; PIECE];
    let mut x: u64 = 88_172_645_463_325_252;
    for word in piece.chunks_mut(8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        word.copy_from_slice(&x.to_le_bytes());
    }
    let piece = &piece[..];
    let (sha2_s, sha2_digest) = best(|| {
        let mut h = sha2::Sha256::new();
        for _ in 0..PIECES {
            h.update(std::hint::black_box(piece));
        }
        h.finalize().to_vec()
    });
    let (ring_s, ring_digest) = best(|| {
        let mut h = ring::digest::Context::new(&ring::digest::SHA256);
        for _ in 0..PIECES {
            h.update(std::hint::black_box(piece));
        }
        h.finish().as_ref().to_vec()
    });
    assert_eq!(sha2_digest, ring_digest, "the two disagree");
    #[cfg(target_arch = "x86_64")]
    let sha_ni = std::arch::is_x86_feature_detected!("sha");
    #[cfg(not(target_arch = "x86_64"))]
    let sha_ni = false;
    let mib = (PIECE * PIECES) as f64 / (1 << 20) as f64;
    println!(
        "SHA-256 of {mib:.0} MiB in 1 MiB pieces, best of {RUNS} (CPU SHA extensions: {}):",
        if sha_ni { "yes" } else { "no" }
    );
    for (name, s) in [("sha2", sha2_s), ("ring", ring_s)] {
        println!("  {name:5} {:7.1} ms  {:6.0} MiB/s", s * 1000.0, mib / s);
    }
}
