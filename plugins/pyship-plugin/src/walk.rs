//! The one deterministic walk over a staged tree that every archive plugin uses.
//!
//! Archives must not depend on the build machine's directory order, umask, owner or clock
//! (cargo-deb and nfpm do the same), so the walk:
//! * goes depth-first with names sorted by bytes, so every directory is emitted explicitly
//!   and right before its contents;
//! * normalizes modes to 0755 (directories, files with any executable bit) or 0644;
//! * leaves owner and mtime to the archive writer, which uses root and `SOURCE_DATE_EPOCH`;
//! * refuses what a package must not carry: non-UTF-8 names, sockets, devices and fifos.

use std::fmt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// One entry of a staged tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Path relative to the staging root, `/`-separated, no leading `./` or `/`.
    pub path: String,
    /// What the entry is.
    pub kind: EntryKind,
    /// Normalized permission bits: 0o755 or 0o644 (0o777 for symlinks).
    pub mode: u32,
    /// The entry's location on disk, for reading file contents.
    pub source: PathBuf,
}

/// The kinds of entries a staged tree may hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    /// A directory.
    Directory,
    /// A regular file of this many bytes.
    File {
        /// Size in bytes.
        size: u64,
    },
    /// A symbolic link to this target, kept as written.
    Symlink {
        /// The link's target.
        target: String,
    },
}

/// Why a staged tree cannot be walked.
#[derive(Debug)]
pub enum WalkError {
    /// Reading the tree failed.
    Io {
        /// The path being read.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A name that is not UTF-8.
    NonUtf8(PathBuf),
    /// A socket, device or fifo.
    Special(PathBuf),
}

impl fmt::Display for WalkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WalkError::Io { path, source } => {
                write!(f, "failed to read `{}`: {source}", path.display())
            }
            WalkError::NonUtf8(path) => write!(
                f,
                "staged path `{}` is not UTF-8; packages need UTF-8 names",
                path.display()
            ),
            WalkError::Special(path) => write!(
                f,
                "staged path `{}` is a socket, device or fifo, which a package cannot carry",
                path.display()
            ),
        }
    }
}

impl std::error::Error for WalkError {}

/// Walks everything below `root` (not `root` itself) in archive order.
pub fn walk_staged_tree(root: &Path) -> Result<Vec<Entry>, WalkError> {
    let mut entries = Vec::new();
    walk_directory(root, "", &mut entries)?;
    Ok(entries)
}

fn walk_directory(directory: &Path, prefix: &str, out: &mut Vec<Entry>) -> Result<(), WalkError> {
    let io_error = |path: &Path| {
        let path = path.to_path_buf();
        move |source| WalkError::Io { path, source }
    };
    let mut children = Vec::new();
    for child in std::fs::read_dir(directory).map_err(io_error(directory))? {
        let child = child.map_err(io_error(directory))?;
        let name = child
            .file_name()
            .into_string()
            .map_err(|_| WalkError::NonUtf8(child.path()))?;
        children.push((name, child.path()));
    }
    // Depth-first with names sorted by bytes: a directory is always followed by its own
    // contents, which is what tar readers and dpkg expect, and the order never depends on
    // the filesystem.
    children.sort();
    for (name, source) in children {
        let path = format!("{prefix}{name}");
        let metadata = std::fs::symlink_metadata(&source).map_err(io_error(&source))?;
        let file_type = metadata.file_type();
        if file_type.is_symlink() {
            let target = std::fs::read_link(&source).map_err(io_error(&source))?;
            let target = target
                .into_os_string()
                .into_string()
                .map_err(|_| WalkError::NonUtf8(source.clone()))?;
            out.push(Entry {
                path,
                kind: EntryKind::Symlink { target },
                mode: 0o777,
                source,
            });
        } else if file_type.is_dir() {
            out.push(Entry {
                path: path.clone(),
                kind: EntryKind::Directory,
                mode: 0o755,
                source: source.clone(),
            });
            walk_directory(&source, &format!("{path}/"), out)?;
        } else if file_type.is_file() {
            let executable = metadata.permissions().mode() & 0o111 != 0;
            out.push(Entry {
                path,
                kind: EntryKind::File {
                    size: metadata.len(),
                },
                mode: if executable { 0o755 } else { 0o644 },
                source,
            });
        } else {
            return Err(WalkError::Special(source));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walk_is_sorted_with_parents_first_and_modes_normalized() {
        let root = std::env::temp_dir().join(format!("pyship-walk-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("b/c")).unwrap();
        std::fs::write(root.join("b/c/run"), "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(root.join("b/c/run"), std::fs::Permissions::from_mode(0o700))
            .unwrap();
        std::fs::write(root.join("a.txt"), "x").unwrap();
        std::fs::set_permissions(root.join("a.txt"), std::fs::Permissions::from_mode(0o600))
            .unwrap();
        std::os::unix::fs::symlink("/usr/bin/python3", root.join("b/python")).unwrap();

        let entries = walk_staged_tree(&root).unwrap();
        let listing: Vec<(String, u32)> =
            entries.iter().map(|e| (e.path.clone(), e.mode)).collect();
        assert_eq!(
            listing,
            vec![
                ("a.txt".to_string(), 0o644),
                ("b".to_string(), 0o755),
                ("b/c".to_string(), 0o755),
                ("b/c/run".to_string(), 0o755),
                ("b/python".to_string(), 0o777),
            ]
        );
        assert_eq!(
            entries[4].kind,
            EntryKind::Symlink {
                target: "/usr/bin/python3".into()
            }
        );
        std::fs::remove_dir_all(&root).unwrap();
    }
}
