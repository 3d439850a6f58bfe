//! Compressed segments of an archive, kept between builds so a warm build compresses only
//! what changed.
//!
//! A segment is a run of archive members compressed as one independent stream (a gzip
//! member, a zstd frame, an xz stream); an archive's compressed bytes are its segments one
//! after the other. Whether a reader takes concatenated streams for one archive depends on
//! the reader: dpkg (1.20 to 1.22, checked) does for gzip members but stops after the first
//! zstd frame or xz stream, so a .deb compressed with zstd or xz is one segment (an unchanged
//! tree still costs no compression) and one compressed with gzip can be many.
//!
//! The caller names each segment by a key derived from everything that goes into it and
//! gives a note to keep beside it (a deb keeps the members' md5sums). A cached segment is
//! checked against the sha256 recorded when it was written before it is used; a damaged or
//! half-written one is made again. [`SegmentCache::prune`] removes what a build did not use,
//! so the cache holds one build's segments.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use pyship_plugin::hex;
use sha2::{Digest, Sha256};

/// A segment on disk, ready to be copied into an archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// The compressed bytes.
    pub path: PathBuf,
    /// Their length.
    pub size: u64,
    /// What the caller kept beside them.
    pub note: String,
    /// Whether the segment came from the cache (not compressed in this build).
    pub reused: bool,
}

/// A directory of segments named by their keys.
pub struct SegmentCache {
    directory: PathBuf,
    used: BTreeSet<String>,
}

impl SegmentCache {
    /// The cache in `directory` (created when missing).
    pub fn open(directory: &Path) -> io::Result<SegmentCache> {
        std::fs::create_dir_all(directory)?;
        Ok(SegmentCache {
            directory: directory.to_path_buf(),
            used: BTreeSet::new(),
        })
    }

    /// The segment cached under `key` (hex), or the one `make` writes, which is then cached.
    /// `make` writes the compressed stream and returns the note.
    pub fn segment(
        &mut self,
        key: &str,
        make: impl FnOnce(&mut dyn Write) -> io::Result<String>,
    ) -> io::Result<Segment> {
        if key.is_empty() || !key.bytes().all(|byte| byte.is_ascii_hexdigit()) {
            return Err(io::Error::other(format!("invalid segment key `{key}`")));
        }
        self.used.insert(key.to_string());
        let data = self.directory.join(format!("{key}.seg"));
        let note_path = self.directory.join(format!("{key}.note"));
        if let Some(segment) = cached(&data, &note_path) {
            return Ok(segment);
        }
        // Written beside, then renamed: data first, the note last, since a note is what
        // makes an entry count.
        let _ = std::fs::remove_file(&note_path);
        let temporary = |path: &Path| path.with_extension(format!("{}.tmp", std::process::id()));
        let data_temporary = temporary(&data);
        let mut writer = HashingWriter {
            inner: BufWriter::with_capacity(1 << 20, File::create(&data_temporary)?),
            hasher: Sha256::new(),
            size: 0,
        };
        let made = make(&mut writer).and_then(|note| {
            writer.inner.flush()?;
            Ok(note)
        });
        let note = match made {
            Ok(note) => note,
            Err(error) => {
                let _ = std::fs::remove_file(&data_temporary);
                return Err(error);
            }
        };
        let sha256 = hex(&writer.hasher.finalize());
        let size = writer.size;
        drop(writer.inner);
        std::fs::rename(&data_temporary, &data)?;
        let note_temporary = temporary(&note_path);
        std::fs::write(&note_temporary, format!("{sha256} {size}\n{note}"))?;
        std::fs::rename(&note_temporary, &note_path)?;
        Ok(Segment {
            path: data,
            size,
            note,
            reused: false,
        })
    }

    /// Removes every segment this cache's builds did not use (and leftover temporaries).
    pub fn prune(&self) -> io::Result<()> {
        for item in std::fs::read_dir(&self.directory)? {
            let path = item?.path();
            let name = path
                .file_name()
                .and_then(|name| name.to_str())
                .unwrap_or("");
            let key = name.split('.').next().unwrap_or("");
            let ours = name.ends_with(".tmp") || name.ends_with(".seg") || name.ends_with(".note");
            if ours && (!self.used.contains(key) || name.ends_with(".tmp")) {
                std::fs::remove_file(&path)?;
            }
        }
        Ok(())
    }
}

/// The entry at `data` and `note_path` when both are there and the data has the size and
/// sha256 its note recorded.
fn cached(data: &Path, note_path: &Path) -> Option<Segment> {
    let recorded = std::fs::read_to_string(note_path).ok()?;
    let (head, note) = recorded.split_once('\n')?;
    let (sha256, size) = head.split_once(' ')?;
    let size: u64 = size.parse().ok()?;
    let mut file = File::open(data).ok()?;
    let mut hasher = Sha256::new();
    let read = io::copy(&mut (&mut file).take(size + 1), &mut hasher).ok()?;
    (read == size && hex(&hasher.finalize()) == sha256).then(|| Segment {
        path: data.to_path_buf(),
        size,
        note: note.to_string(),
        reused: true,
    })
}

/// Counts and hashes what passes through.
struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    size: u64,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buffer: &[u8]) -> io::Result<usize> {
        let written = self.inner.write(buffer)?;
        self.hasher.update(&buffer[..written]);
        self.size += written as u64;
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Every segment's bytes in order, as one reader (for copying into an archive).
pub fn concatenated(segments: &[Segment]) -> io::Result<impl Read> {
    let mut reader: Box<dyn Read> = Box::new(io::empty());
    for segment in segments {
        reader = Box::new(reader.chain(File::open(&segment.path)?));
    }
    Ok(reader)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn make(
        bytes: &'static [u8],
        note: &'static str,
    ) -> impl FnOnce(&mut dyn Write) -> io::Result<String> {
        move |out| {
            out.write_all(bytes)?;
            Ok(note.to_string())
        }
    }

    #[test]
    fn a_segment_is_made_once_then_reused_until_damaged() {
        let directory = tempfile::tempdir().unwrap();
        let mut cache = SegmentCache::open(directory.path()).unwrap();
        let first = cache.segment("ab12", make(b"hello", "n1\n")).unwrap();
        assert!(!first.reused);
        assert_eq!((first.size, first.note.as_str()), (5, "n1\n"));
        let mut cache = SegmentCache::open(directory.path()).unwrap();
        let again = cache
            .segment("ab12", |_| panic!("a cached segment is not made again"))
            .unwrap();
        assert!(again.reused);
        assert_eq!(again.note, "n1\n");
        // Damaged (same size, other bytes): made again.
        std::fs::write(&again.path, b"HELLO").unwrap();
        let remade = cache.segment("ab12", make(b"hello", "n1\n")).unwrap();
        assert!(!remade.reused);
        assert_eq!(std::fs::read(&remade.path).unwrap(), b"hello");
        let mut joined = String::new();
        let second = cache.segment("cd34", make(b" world", "")).unwrap();
        concatenated(&[remade, second])
            .unwrap()
            .read_to_string(&mut joined)
            .unwrap();
        assert_eq!(joined, "hello world");
    }

    #[test]
    fn a_failed_make_leaves_nothing_and_prune_keeps_only_what_was_used() {
        let directory = tempfile::tempdir().unwrap();
        let mut cache = SegmentCache::open(directory.path()).unwrap();
        cache.segment("aa", make(b"a", "")).unwrap();
        cache.segment("bb", make(b"b", "")).unwrap();
        let failed = cache.segment("cc", |out| {
            out.write_all(b"partial")?;
            Err(io::Error::other("disk full"))
        });
        assert!(failed.is_err());
        assert!(cache.segment("../x", make(b"x", "")).is_err());
        let mut next = SegmentCache::open(directory.path()).unwrap();
        next.segment("bb", make(b"b", "")).unwrap();
        next.prune().unwrap();
        let mut names: Vec<String> = std::fs::read_dir(directory.path())
            .unwrap()
            .map(|item| item.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["bb.note", "bb.seg"]);
    }
}
