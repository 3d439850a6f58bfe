//! A deterministic tar writer, streaming into any `Write` (a compressor, a file).
//!
//! Every member is owned by root:root, stamped with one mtime (`SOURCE_DATE_EPOCH`) and has
//! the mode it is given, so the bytes depend on the tree only. Names are written as given
//! (`./opt/x`, as dpkg-deb writes them; the tar crate would drop the leading `./`), with GNU
//! `././@LongLink` members for names and link targets over 100 bytes (what GNU tar writes).
//! Members are written as headers, contents and padding; the two zero blocks that end an
//! archive are written by [`TarWriter::finish`] only, so [`TarWriter::into_segment`] can end a
//! run of members that other runs follow (see [`crate::segments`]).

use std::io::{self, Read, Write};

/// An archive being written.
pub struct TarWriter<W: Write> {
    inner: W,
    mtime: u64,
}

/// A tar block: headers and padded contents come in these.
const BLOCK: usize = 512;

impl TarWriter<Vec<u8>> {
    /// A writer into memory (for small archives such as a control.tar).
    pub fn in_memory(mtime: u64) -> TarWriter<Vec<u8>> {
        TarWriter::new(Vec::new(), mtime)
    }
}

impl<W: Write> TarWriter<W> {
    /// A writer into `inner`, stamping every member with `mtime`.
    pub fn new(inner: W, mtime: u64) -> TarWriter<W> {
        TarWriter { inner, mtime }
    }

    /// Stamps the members that follow with `mtime`.
    pub fn set_mtime(&mut self, mtime: u64) {
        self.mtime = mtime;
    }

    /// A directory; `path` ends with `/`.
    pub fn directory(&mut self, path: &str, mode: u32) -> io::Result<()> {
        self.append(path, tar::EntryType::Directory, mode, None, &[])
    }

    /// A regular file.
    pub fn file(&mut self, path: &str, mode: u32, contents: &[u8]) -> io::Result<()> {
        self.append(path, tar::EntryType::Regular, mode, None, contents)
    }

    /// A regular file of `size` bytes streamed from `contents`; an error when it yields a
    /// different number of bytes (the file changed while being archived).
    pub fn file_from(
        &mut self,
        path: &str,
        mode: u32,
        size: u64,
        contents: impl Read,
    ) -> io::Result<()> {
        self.append_reader(path, tar::EntryType::Regular, mode, None, size, contents)
    }

    /// One entry of a staged-tree walk, archived as `name` (its contents streamed from its
    /// source file).
    pub fn entry(&mut self, name: &str, entry: &pyship_plugin::Entry) -> io::Result<()> {
        match &entry.kind {
            pyship_plugin::EntryKind::Directory => self.directory(&format!("{name}/"), entry.mode),
            pyship_plugin::EntryKind::File { size } => {
                let file = std::fs::File::open(&entry.source)?;
                self.file_from(name, entry.mode, *size, file)
            }
            pyship_plugin::EntryKind::Symlink { target } => self.symlink(name, target),
        }
    }

    /// A symbolic link.
    pub fn symlink(&mut self, path: &str, target: &str) -> io::Result<()> {
        self.append(path, tar::EntryType::Symlink, 0o777, Some(target), &[])
    }

    /// Ends the archive (two zero blocks) and returns what it was written into.
    pub fn finish(mut self) -> io::Result<W> {
        self.inner.write_all(&[0; 2 * BLOCK])?;
        Ok(self.inner)
    }

    /// Returns what the members were written into, without ending the archive: a segment
    /// that more members follow.
    pub fn into_segment(self) -> W {
        self.inner
    }

    fn append(
        &mut self,
        path: &str,
        kind: tar::EntryType,
        mode: u32,
        link: Option<&str>,
        contents: &[u8],
    ) -> io::Result<()> {
        self.append_reader(path, kind, mode, link, contents.len() as u64, contents)
    }

    fn append_reader(
        &mut self,
        path: &str,
        kind: tar::EntryType,
        mode: u32,
        link: Option<&str>,
        size: u64,
        contents: impl Read,
    ) -> io::Result<()> {
        if path.len() > 100 {
            self.long_link(tar::EntryType::GNULongName, path)?;
        }
        let mut header = self.header(kind, mode, size);
        set_field(&mut header.as_old_mut().name, path);
        if let Some(target) = link {
            if target.len() > 100 {
                self.long_link(tar::EntryType::GNULongLink, target)?;
            }
            set_field(&mut header.as_old_mut().linkname, target);
        }
        header.set_cksum();
        self.write_member(path, &header, size, contents)
    }

    /// A header, then exactly `size` bytes of `contents` (fewer is an error: the file changed
    /// while it was archived; more are not read) padded to a whole block.
    fn write_member(
        &mut self,
        path: &str,
        header: &tar::Header,
        size: u64,
        contents: impl Read,
    ) -> io::Result<()> {
        self.inner.write_all(header.as_bytes())?;
        let copied = io::copy(&mut contents.take(size), &mut self.inner)?;
        if copied != size {
            return Err(io::Error::other(format!(
                "`{path}` changed while it was archived ({copied} bytes instead of {size})"
            )));
        }
        let padding = (BLOCK - (size % BLOCK as u64) as usize) % BLOCK;
        self.inner.write_all(&[0; BLOCK][..padding])
    }

    fn header(&self, kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(kind);
        header.set_mode(mode);
        header.set_size(size);
        header.set_mtime(self.mtime);
        header.set_uid(0);
        header.set_gid(0);
        // Fixed names that always fit their fields.
        let _ = header.set_username("root");
        let _ = header.set_groupname("root");
        header
    }

    /// A GNU long-name or long-link member carrying `value` for the member that follows.
    fn long_link(&mut self, kind: tar::EntryType, value: &str) -> io::Result<()> {
        let mut data = value.as_bytes().to_vec();
        data.push(0);
        let mut header = self.header(kind, 0o644, data.len() as u64);
        header.set_mtime(0);
        set_field(&mut header.as_old_mut().name, "././@LongLink");
        header.set_cksum();
        self.write_member(value, &header, data.len() as u64, data.as_slice())
    }
}

/// Copies as much of `value` as fits into a NUL-padded header field.
fn set_field(field: &mut [u8], value: &str) {
    field.fill(0);
    let bytes = value.as_bytes();
    let length = bytes.len().min(field.len());
    field[..length].copy_from_slice(&bytes[..length]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_names_survive_a_round_trip() {
        let long = format!("./opt/{}/file.py", "d".repeat(120));
        let target = format!("/{}", "t".repeat(150));
        let mut writer = TarWriter::in_memory(7);
        writer.directory("./", 0o755).unwrap();
        writer.file(&long, 0o644, b"x").unwrap();
        writer.symlink("./opt/link", &target).unwrap();
        let bytes = writer.finish().unwrap();
        let mut archive = tar::Archive::new(bytes.as_slice());
        let entries: Vec<(String, Option<String>, u64)> = archive
            .entries()
            .unwrap()
            .map(|entry| {
                let entry = entry.unwrap();
                let path = String::from_utf8(entry.path_bytes().to_vec()).unwrap();
                let link = entry
                    .link_name_bytes()
                    .map(|link| String::from_utf8(link.to_vec()).unwrap());
                (path, link, entry.header().mtime().unwrap())
            })
            .collect();
        assert_eq!(entries[0].0, "./");
        assert_eq!(entries[1].0, long);
        assert_eq!(entries[2].1.as_deref(), Some(target.as_str()));
        assert_eq!(entries[1].2, 7);
    }

    #[test]
    fn a_file_that_shrinks_while_archived_is_an_error() {
        let mut writer = TarWriter::in_memory(0);
        assert!(writer.file_from("./a", 0o644, 10, &b"short"[..]).is_err());
        let mut writer = TarWriter::in_memory(0);
        writer.file_from("./a", 0o644, 5, &b"exact"[..]).unwrap();
    }
}
