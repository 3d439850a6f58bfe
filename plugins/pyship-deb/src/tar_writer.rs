//! Tar members named the way dpkg-deb names them: `./`, `./opt/`, `./opt/x`.
//!
//! The tar crate normalizes paths and drops the leading `./`, so names are written into the
//! header here, with GNU `././@LongLink` members for names and link targets over 100 bytes
//! (what GNU tar, and so dpkg-deb, writes).

use std::io;

/// An archive being written in memory.
pub struct TarWriter {
    builder: tar::Builder<Vec<u8>>,
    mtime: u64,
}

impl TarWriter {
    /// A writer stamping every member with `mtime`.
    pub fn new(mtime: u64) -> TarWriter {
        TarWriter {
            builder: tar::Builder::new(Vec::new()),
            mtime,
        }
    }

    /// A directory; `path` ends with `/`.
    pub fn directory(&mut self, path: &str, mode: u32) -> io::Result<()> {
        self.append(path, tar::EntryType::Directory, mode, None, &[])
    }

    /// A regular file.
    pub fn file(&mut self, path: &str, mode: u32, contents: &[u8]) -> io::Result<()> {
        self.append(path, tar::EntryType::Regular, mode, None, contents)
    }

    /// A symbolic link.
    pub fn symlink(&mut self, path: &str, target: &str) -> io::Result<()> {
        self.append(path, tar::EntryType::Symlink, 0o777, Some(target), &[])
    }

    /// The finished archive.
    pub fn finish(self) -> io::Result<Vec<u8>> {
        self.builder.into_inner()
    }

    fn append(
        &mut self,
        path: &str,
        kind: tar::EntryType,
        mode: u32,
        link: Option<&str>,
        contents: &[u8],
    ) -> io::Result<()> {
        if path.len() > 100 {
            self.long_link(tar::EntryType::GNULongName, path)?;
        }
        let mut header = self.header(kind, mode, contents.len() as u64);
        set_field(&mut header.as_old_mut().name, path);
        if let Some(target) = link {
            if target.len() > 100 {
                self.long_link(tar::EntryType::GNULongLink, target)?;
            }
            set_field(&mut header.as_old_mut().linkname, target);
        }
        header.set_cksum();
        self.builder.append(&header, contents)
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
        self.builder.append(&header, data.as_slice())
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
        let mut writer = TarWriter::new(7);
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
}
