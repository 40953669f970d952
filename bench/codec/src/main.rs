//! gzip against zstd on the same payloads (issue 16, item 2): the bodies a
//! sync of 10 000 events up and 5 000 assignments down sends and receives,
//! as `sync-bench --capture DIR` wrote them uncompressed, each compressed
//! on its own as the sync does (one body a request). For every codec and
//! level: the bytes on the wire, and the CPU time (one thread, the median
//! of `--iterations` rounds) of the side that compresses and of the side
//! that decompresses — the phone compresses the upload and decompresses the
//! download. Usage:
//!
//! ```sh
//! cargo run --release --manifest-path bench/codec/Cargo.toml -- DIR [--iterations 7]
//! ```
//!
//! `--release` is the phone's profile (`opt-level = "z"`, LTO);
//! `--profile server` the server's.

use std::io::{Read, Write};
use std::path::Path;
use std::time::Instant;

/// A codec at a level.
#[derive(Clone, Copy)]
enum Codec {
    Gzip(u32),
    Zstd(i32),
    /// Compressed by the C library at the level, decompressed by `ruzstd`
    /// (pure Rust, decoder only): what a phone that only reads zstd would run.
    ZstdRust(i32),
}

impl Codec {
    fn name(self) -> String {
        match self {
            Codec::Gzip(l) => format!("gzip -{l}"),
            Codec::Zstd(l) => format!("zstd -{l}"),
            Codec::ZstdRust(l) => format!("zstd -{l}, ruzstd decoding"),
        }
    }

    fn compress(self, body: &[u8]) -> Vec<u8> {
        match self {
            Codec::Gzip(level) => {
                let mut enc = flate2::write::GzEncoder::new(
                    Vec::with_capacity(body.len() / 4),
                    flate2::Compression::new(level),
                );
                enc.write_all(body).expect("gzip in memory");
                enc.finish().expect("gzip in memory")
            }
            #[cfg(feature = "zstd")]
            Codec::Zstd(level) | Codec::ZstdRust(level) => {
                zstd::bulk::compress(body, level).expect("zstd in memory")
            }
            #[cfg(not(feature = "zstd"))]
            Codec::Zstd(_) | Codec::ZstdRust(_) => unreachable!("built without zstd"),
        }
    }

    fn decompress(self, packed: &[u8], size: usize) -> Vec<u8> {
        match self {
            Codec::Gzip(_) => {
                let mut out = Vec::with_capacity(size);
                flate2::read::GzDecoder::new(packed)
                    .read_to_end(&mut out)
                    .expect("gunzip");
                out
            }
            #[cfg(feature = "zstd")]
            Codec::Zstd(_) => zstd::bulk::decompress(packed, size).expect("unzstd"),
            #[cfg(feature = "zstd")]
            Codec::ZstdRust(_) => {
                let mut out = Vec::with_capacity(size);
                ruzstd::decoding::StreamingDecoder::new(packed)
                    .expect("a zstd frame")
                    .read_to_end(&mut out)
                    .expect("ruzstd");
                out
            }
            #[cfg(not(feature = "zstd"))]
            Codec::Zstd(_) | Codec::ZstdRust(_) => unreachable!("built without zstd"),
        }
    }
}

/// The codecs measured: the sync's own choices (the phone's upload at gzip
/// level 1, the server's responses at level 6) and zstd's usual levels.
const CODECS: [Codec; 9] = [
    Codec::Gzip(1),
    Codec::Gzip(6),
    Codec::Gzip(9),
    Codec::Zstd(1),
    Codec::ZstdRust(1),
    Codec::Zstd(3),
    Codec::ZstdRust(3),
    Codec::Zstd(9),
    Codec::Zstd(19),
];

/// One direction's bodies: (name, bytes).
fn bodies(dir: &Path, prefix: &str) -> Vec<Vec<u8>> {
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with(prefix) && n.ends_with(".json"))
        .collect();
    names.sort();
    names
        .iter()
        .map(|n| std::fs::read(dir.join(n)).expect("a captured body"))
        .collect()
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

/// (wire bytes, compress ms, decompress ms) of `codec` on `bodies`, each on its own.
fn measure(codec: Codec, bodies: &[Vec<u8>], iterations: usize) -> (usize, f64, f64) {
    let packed: Vec<Vec<u8>> = bodies.iter().map(|b| codec.compress(b)).collect();
    for (b, p) in bodies.iter().zip(&packed) {
        assert_eq!(
            &codec.decompress(p, b.len()),
            b,
            "{} round trip",
            codec.name()
        );
    }
    let (mut pack, mut unpack) = (vec![], vec![]);
    for _ in 0..iterations {
        let t = Instant::now();
        for b in bodies {
            std::hint::black_box(codec.compress(b));
        }
        pack.push(t.elapsed().as_secs_f64() * 1e3);
        let t = Instant::now();
        for (b, p) in bodies.iter().zip(&packed) {
            std::hint::black_box(codec.decompress(p, b.len()));
        }
        unpack.push(t.elapsed().as_secs_f64() * 1e3);
    }
    (
        packed.iter().map(Vec::len).sum(),
        median(pack),
        median(unpack),
    )
}

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = args
        .next()
        .expect("the directory sync-bench --capture wrote");
    let mut iterations = 7;
    while let Some(flag) = args.next() {
        match flag.as_str() {
            "--iterations" => {
                iterations = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .expect("--iterations N");
            }
            other => panic!("unknown flag {other}"),
        }
    }
    for (what, prefix, phone_side) in [
        (
            "upload (push bodies; the phone compresses)",
            "push-",
            "compress",
        ),
        (
            "download (pull pages; the phone decompresses)",
            "pull-",
            "decompress",
        ),
    ] {
        let bodies = bodies(Path::new(&dir), prefix);
        let raw: usize = bodies.iter().map(Vec::len).sum();
        println!(
            "{what}: {} bodies, {raw} bytes of JSON; median of {iterations}; phone side: {phone_side}",
            bodies.len()
        );
        println!("| codec | bytes | of the JSON | compress ms | decompress ms |");
        println!("|---|---:|---:|---:|---:|");
        for codec in CODECS {
            if matches!(codec, Codec::Zstd(_) | Codec::ZstdRust(_)) && cfg!(not(feature = "zstd")) {
                continue;
            }
            let (bytes, pack, unpack) = measure(codec, &bodies, iterations);
            println!(
                "| {} | {bytes} | {:.3} | {pack:.1} | {unpack:.1} |",
                codec.name(),
                bytes as f64 / raw as f64
            );
        }
    }
}
