//! Streaming compressors for archive members and whole artifacts: gzip, xz and zstd.
//!
//! Each writes as it is fed, so an archive is never held in memory whole. xz and zstd use
//! several threads; their output depends on the data and level only, never on how many
//! threads ran (xz compresses fixed-size blocks independently; zstd's multi-threaded mode is
//! defined not to depend on the worker count), which the tests check. gzip headers carry no
//! name and a zero time, so output depends on input only.

use std::io::{self, Write};

/// A compression and its level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// No compression.
    None,
    /// gzip (deflate), level 0-9.
    Gzip(u32),
    /// xz (LZMA2), preset 0-9.
    Xz(u32),
    /// zstd, level 1-22.
    Zstd(i32),
}

impl Compression {
    /// A compression by name with its usual default level: `none`, `gzip`, `xz`, `zstd`.
    pub fn from_name(name: &str) -> Option<Compression> {
        match name {
            "none" => Some(Compression::None),
            "gzip" | "gz" => Some(Compression::Gzip(6)),
            "xz" => Some(Compression::Xz(6)),
            "zstd" | "zst" => Some(Compression::Zstd(10)),
            _ => None,
        }
    }

    /// The file-name extension: `.gz`, `.xz`, `.zst`, or nothing.
    pub fn extension(self) -> &'static str {
        match self {
            Compression::None => "",
            Compression::Gzip(_) => ".gz",
            Compression::Xz(_) => ".xz",
            Compression::Zstd(_) => ".zst",
        }
    }
}

/// Threads for xz and zstd: the machine's cores, at most 8.
fn threads() -> u32 {
    std::thread::available_parallelism().map_or(1, |cores| cores.get().min(8) as u32)
}

/// The zstd window (log2 bytes) for `expected` input bytes: none below 8 MiB (the level's
/// own window does), else as large as the input, at most 128 MiB: the most a decoder accepts
/// without being told otherwise (dpkg does not tell it), and what it then needs in memory.
pub fn zstd_window_log(expected: u64) -> Option<u32> {
    (expected >= 8 << 20).then(|| (64 - (expected - 1).leading_zeros()).clamp(23, 27))
}

/// A compressing writer; [`Encoder::finish`] ends the stream and returns the inner writer.
pub enum Encoder<W: Write> {
    /// Passes bytes through.
    Plain(W),
    /// gzip.
    Gzip(flate2::write::GzEncoder<W>),
    /// xz.
    Xz(liblzma::write::XzEncoder<W>),
    /// zstd.
    Zstd(zstd::Encoder<'static, W>),
}

impl<W: Write> Encoder<W> {
    /// Starts a stream into `inner`.
    pub fn new(inner: W, compression: Compression) -> io::Result<Encoder<W>> {
        Self::with_threads(inner, compression, threads(), 0)
    }

    /// Starts a stream into `inner` for about `expected` bytes of input. zstd then matches
    /// across a window as large as the input ([`zstd_window_log`]): a big tree repeats itself
    /// at long distances (a module's source and its bytecode, a library bundled twice).
    pub fn for_input(inner: W, compression: Compression, expected: u64) -> io::Result<Encoder<W>> {
        Self::with_threads(inner, compression, threads(), expected)
    }

    fn with_threads(
        inner: W,
        compression: Compression,
        threads: u32,
        expected: u64,
    ) -> io::Result<Encoder<W>> {
        Ok(match compression {
            Compression::None => Encoder::Plain(inner),
            Compression::Gzip(level) => Encoder::Gzip(
                flate2::GzBuilder::new()
                    .mtime(0)
                    .write(inner, flate2::Compression::new(level)),
            ),
            Compression::Xz(preset) => {
                let stream = liblzma::stream::MtStreamBuilder::new()
                    .preset(preset)
                    .threads(threads)
                    // A fixed block size: blocks are the unit of parallel work, and the
                    // output depends on it, not on the thread count.
                    .block_size(8 << 20)
                    .check(liblzma::stream::Check::Crc64)
                    .encoder()
                    .map_err(io::Error::other)?;
                Encoder::Xz(liblzma::write::XzEncoder::new_stream(inner, stream))
            }
            Compression::Zstd(level) => {
                let mut encoder = zstd::Encoder::new(inner, level)?;
                encoder.multithread(threads)?;
                if let Some(window_log) = zstd_window_log(expected) {
                    encoder.long_distance_matching(true)?;
                    encoder.window_log(window_log)?;
                }
                encoder.include_checksum(true)?;
                Encoder::Zstd(encoder)
            }
        })
    }

    /// Ends the stream.
    pub fn finish(self) -> io::Result<W> {
        match self {
            Encoder::Plain(inner) => Ok(inner),
            Encoder::Gzip(encoder) => encoder.finish(),
            Encoder::Xz(encoder) => encoder.finish(),
            Encoder::Zstd(encoder) => encoder.finish(),
        }
    }
}

impl<W: Write> Write for Encoder<W> {
    fn write(&mut self, buffer: &[u8]) -> io::Result<usize> {
        match self {
            Encoder::Plain(inner) => inner.write(buffer),
            Encoder::Gzip(encoder) => encoder.write(buffer),
            Encoder::Xz(encoder) => encoder.write(buffer),
            Encoder::Zstd(encoder) => encoder.write(buffer),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Encoder::Plain(inner) => inner.flush(),
            Encoder::Gzip(encoder) => encoder.flush(),
            Encoder::Xz(encoder) => encoder.flush(),
            Encoder::Zstd(encoder) => encoder.flush(),
        }
    }
}

/// `data` compressed in memory (for small members).
pub fn compress(data: &[u8], compression: Compression) -> io::Result<Vec<u8>> {
    let mut encoder = Encoder::new(Vec::new(), compression)?;
    encoder.write_all(data)?;
    encoder.finish()
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    /// 24 MB that compress somewhat, as files in a tree do (several xz blocks).
    fn sample() -> Vec<u8> {
        (0..24_000_000u32)
            .map(|i| ((i / 7) ^ (i.wrapping_mul(2_654_435_761) >> 29)) as u8)
            .collect()
    }

    fn decompress(data: &[u8], compression: Compression) -> Vec<u8> {
        let mut out = Vec::new();
        match compression {
            Compression::None => out = data.to_vec(),
            Compression::Gzip(_) => {
                flate2::read::GzDecoder::new(data)
                    .read_to_end(&mut out)
                    .unwrap();
            }
            Compression::Xz(_) => {
                liblzma::read::XzDecoder::new_multi_decoder(data)
                    .read_to_end(&mut out)
                    .unwrap();
            }
            Compression::Zstd(_) => {
                zstd::Decoder::new(data)
                    .unwrap()
                    .read_to_end(&mut out)
                    .unwrap();
            }
        }
        out
    }

    #[test]
    fn every_compression_round_trips_and_ignores_the_thread_count() {
        let data = sample();
        for (compression, expected) in [
            (Compression::None, 0),
            (Compression::Gzip(6), 0),
            (Compression::Xz(1), 0),
            (Compression::Zstd(3), 0),
            // With long-distance matching in a 32 MiB window.
            (Compression::Zstd(3), data.len() as u64),
        ] {
            let mut outputs = Vec::new();
            for threads in [1, 3] {
                let mut encoder =
                    Encoder::with_threads(Vec::new(), compression, threads, expected).unwrap();
                for chunk in data.chunks(100_000) {
                    encoder.write_all(chunk).unwrap();
                }
                outputs.push(encoder.finish().unwrap());
            }
            assert_eq!(outputs[0], outputs[1], "{compression:?} depends on threads");
            assert_eq!(
                decompress(&outputs[0], compression),
                data,
                "{compression:?}"
            );
        }
    }

    #[test]
    fn the_zstd_window_grows_with_the_input_up_to_what_decoders_accept() {
        assert_eq!(zstd_window_log(5 << 20), None);
        assert_eq!(zstd_window_log(8 << 20), Some(23));
        assert_eq!(zstd_window_log((8 << 20) + 1), Some(24));
        assert_eq!(zstd_window_log(100 << 20), Some(27));
        assert_eq!(zstd_window_log(5 << 30), Some(27));
    }

    #[test]
    fn names_map_to_compressions() {
        assert_eq!(Compression::from_name("zstd"), Some(Compression::Zstd(10)));
        assert_eq!(
            Compression::from_name("xz").map(Compression::extension),
            Some(".xz")
        );
        assert_eq!(Compression::from_name("lz4"), None);
    }
}
