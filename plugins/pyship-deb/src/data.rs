//! data.tar: the package's files as tar members, compressed in segments kept between builds,
//! with the md5sums dpkg records for them.
//!
//! With gzip, each distribution in site-packages (its package directories, `.libs` and
//! `.dist-info`, which sort next to each other) is a segment of its own and the rest of the
//! tree falls into segments between them; dpkg reads the concatenated gzip members as one
//! data.tar, so a build after an app-only change compresses the app's segment and copies the
//! others. zstd and xz are one segment, as dpkg reads only the first frame or stream (see
//! [`pyship_plugin_kit::segments`]); an unchanged tree is then copied whole.
//!
//! A segment's key covers its members' names, modes, kinds and mtime stamps, the
//! compression and each file's contents: for a file of the staged tree that is a hard link
//! into pyship's content-addressed cache (never rewritten in place), by its identity (device,
//! inode, size, modification time); for any other file (what the stage and this plugin write
//! each run: `pyvenv.cfg`, activation scripts, docs, units, configuration files; every file
//! when the stage had to copy), by its sha256.

use std::fs::File;
use std::io::{self, Read, Write};
use std::ops::Range;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use md5::{Digest as _, Md5};
use pyship_plugin::{Entry, EntryKind, hex};
use pyship_plugin_kit::compress::{Compression, Encoder};
use pyship_plugin_kit::segments::{Segment, SegmentCache};
use pyship_plugin_kit::tar::TarWriter;
use pyship_plugin_kit::tree::tar_size;
use sha2::Sha256;

/// Bumped when the bytes a segment holds change for the same key.
const SEGMENT_FORMAT: &str = "pyship-deb data.tar segment 1";

/// A compressed data.tar as segments.
pub struct DataTar {
    /// `data.tar.zst` and so on.
    pub name: String,
    /// The compressed bytes, in order.
    pub segments: Vec<Segment>,
    /// `md5sums` of every file, in archive order.
    pub md5sums: String,
}

impl DataTar {
    /// The compressed size.
    pub fn size(&self) -> u64 {
        self.segments.iter().map(|segment| segment.size).sum()
    }
}

/// data.tar of `entries` (a `./` root stamped `root_mtime`, then each entry stamped as
/// `stamp` says, then the end of the archive), compressed with `compression`, each segment
/// from `cache` when it holds it. Files under `staged` are keyed by their identity, others by
/// their contents.
pub fn write(
    entries: &[Entry],
    staged: &Path,
    root_mtime: u64,
    stamp: &dyn Fn(&Entry) -> u64,
    compression: Compression,
    cache: &mut SegmentCache,
) -> Result<DataTar, String> {
    let failed = |error: io::Error| format!("failed to write data.tar: {error}");
    let runs: Vec<Range<usize>> = if concatenates(compression) {
        runs_by_distribution(entries)
    } else {
        std::iter::once(0..entries.len()).collect()
    };
    let mut segments = Vec::with_capacity(runs.len());
    let mut md5sums = String::new();
    for (index, run) in runs.iter().enumerate() {
        let run = Run {
            entries: &entries[run.clone()],
            first: index == 0,
            last: index + 1 == runs.len(),
            root_mtime,
            stamp,
            compression,
        };
        let key = run.key(staged).map_err(failed)?;
        let segment = cache.segment(&key, |out| run.write(out)).map_err(failed)?;
        md5sums.push_str(&segment.note);
        segments.push(segment);
    }
    Ok(DataTar {
        name: format!("data.tar{}", compression.extension()),
        segments,
        md5sums,
    })
}

/// Whether dpkg reads concatenated streams of `compression` as one.
fn concatenates(compression: Compression) -> bool {
    matches!(compression, Compression::Gzip(_) | Compression::None)
}

/// Contiguous runs of `entries` (sorted by path components), one per distribution in a
/// site-packages directory, with everything else in runs between them. Always at least one
/// run, so an empty tree still gets its root and end.
fn runs_by_distribution(entries: &[Entry]) -> Vec<Range<usize>> {
    let mut runs: Vec<Range<usize>> = Vec::new();
    let mut current: Option<&str> = None;
    for (index, entry) in entries.iter().enumerate() {
        let group = distribution_of(&entry.path);
        match runs.last_mut() {
            Some(run) if current == Some(group) => run.end = index + 1,
            _ => runs.push(index..index + 1),
        }
        current = Some(group);
    }
    if runs.is_empty() {
        runs.push(0..0);
    }
    runs
}

/// The distribution a path in site-packages belongs to, by the first part of its top-level
/// name (`numpy` for `numpy/`, `numpy.libs/` and `numpy-2.1.0.dist-info/`); `""` elsewhere.
fn distribution_of(path: &str) -> &str {
    match path.split_once("/site-packages/") {
        Some((_, inside)) => {
            let top = inside.split('/').next().unwrap_or(inside);
            top.split(['-', '.']).next().unwrap_or(top)
        }
        None => "",
    }
}

/// One segment's members and how they are written.
struct Run<'a> {
    entries: &'a [Entry],
    /// Starts the archive (holds the `./` root).
    first: bool,
    /// Ends the archive (holds the two zero blocks).
    last: bool,
    root_mtime: u64,
    stamp: &'a dyn Fn(&Entry) -> u64,
    compression: Compression,
}

impl Run<'_> {
    /// The hex sha256 of everything that decides the segment's bytes.
    fn key(&self, staged: &Path) -> io::Result<String> {
        let mut hasher = Sha256::new();
        let mut line = |text: String| {
            hasher.update(text.as_bytes());
            hasher.update(b"\n");
        };
        line(SEGMENT_FORMAT.to_string());
        // The root's stamp is in the first segment only.
        let root = self.first.then_some(self.root_mtime);
        line(format!(
            "{:?} root={root:?} last={}",
            self.compression, self.last
        ));
        for entry in self.entries {
            let what = match &entry.kind {
                EntryKind::Directory => "directory".to_string(),
                EntryKind::Symlink { target } => format!("symlink {target}"),
                EntryKind::File { size } => {
                    format!("file {size} {}", file_identity(&entry.source, staged)?)
                }
            };
            let mtime = (self.stamp)(entry);
            line(format!("{}\0{:o}\0{mtime}\0{what}", entry.path, entry.mode));
        }
        Ok(hex(&sha2::Digest::finalize(hasher)))
    }

    /// Writes the compressed members into `out` and returns their md5sums lines.
    fn write(&self, out: &mut dyn Write) -> io::Result<String> {
        let encoder = Encoder::for_input(out, self.compression, tar_size(self.entries))?;
        let mut writer = TarWriter::new(encoder, self.root_mtime);
        let mut md5sums = String::new();
        if self.first {
            writer.directory("./", 0o755)?;
        }
        for entry in self.entries {
            writer.set_mtime((self.stamp)(entry));
            let path = format!("./{}", entry.path);
            match &entry.kind {
                EntryKind::Directory => writer.directory(&format!("{path}/"), entry.mode)?,
                EntryKind::File { size } => {
                    let file = File::open(&entry.source).map_err(|error| {
                        io::Error::new(
                            error.kind(),
                            format!("failed to read `{}`: {error}", entry.source.display()),
                        )
                    })?;
                    let mut hashing = Md5Reader {
                        inner: file,
                        hasher: Md5::new(),
                    };
                    writer.file_from(&path, entry.mode, *size, &mut hashing)?;
                    md5sums.push_str(&format!(
                        "{}  {}\n",
                        hex(&hashing.hasher.finalize()),
                        entry.path
                    ));
                }
                EntryKind::Symlink { target } => writer.symlink(&path, target)?,
            }
        }
        let encoder = if self.last {
            writer.finish()?
        } else {
            writer.into_segment()
        };
        encoder.finish()?;
        Ok(md5sums)
    }
}

/// What stands for a file's contents in a key: its identity when it is a file of the staged
/// tree linked from pyship's cache (more than one link), else its sha256 (files the stage or
/// this plugin writes each run: `pyvenv.cfg`, activation scripts, docs).
fn file_identity(source: &Path, staged: &Path) -> io::Result<String> {
    let metadata = std::fs::symlink_metadata(source)?;
    if source.starts_with(staged) && metadata.nlink() > 1 {
        return Ok(format!(
            "dev={} ino={} size={} mtime={}.{}",
            metadata.dev(),
            metadata.ino(),
            metadata.size(),
            metadata.mtime(),
            metadata.mtime_nsec()
        ));
    }
    let mut hasher = Sha256::new();
    io::copy(&mut File::open(source)?, &mut hasher)?;
    Ok(format!("sha256={}", hex(&sha2::Digest::finalize(hasher))))
}

/// md5 of what passes through (for `md5sums`).
struct Md5Reader<R> {
    inner: R,
    hasher: Md5,
}

impl<R: Read> Read for Md5Reader<R> {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        let read = self.inner.read(buffer)?;
        self.hasher.update(&buffer[..read]);
        Ok(read)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str) -> Entry {
        Entry {
            path: path.to_string(),
            kind: EntryKind::Directory,
            mode: 0o755,
            source: path.into(),
        }
    }

    #[test]
    fn each_distribution_is_a_run_of_its_own() {
        let sp = "opt/app/lib/python3.11/site-packages";
        let paths = [
            "opt".to_string(),
            sp.to_string(),
            format!("{sp}/numpy"),
            format!("{sp}/numpy/core"),
            format!("{sp}/numpy-2.1.0.dist-info"),
            format!("{sp}/numpy.libs"),
            format!("{sp}/six-1.16.0.dist-info"),
            format!("{sp}/six.py"),
            "opt/app/pyvenv.cfg".to_string(),
            "usr/share/doc".to_string(),
        ];
        let entries: Vec<Entry> = paths.iter().map(|path| entry(path)).collect();
        assert_eq!(runs_by_distribution(&entries), [0..2, 2..6, 6..8, 8..10]);
        let empty = runs_by_distribution(&[]);
        assert_eq!((empty.len(), empty[0].clone()), (1, 0..0));
    }
}
