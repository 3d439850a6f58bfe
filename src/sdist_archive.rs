//! Reading sdists (`.tar.gz`, `.zip`) as untrusted archives: a leaf module, so that the
//! index (which reads an sdist's PKG-INFO) and the PEP 517 frontend (which unpacks sdists to
//! build them) both use it without depending on each other.
//!
//! An sdist holds one top-level directory `NAME-VERSION/` with `PKG-INFO` and the sources.
//! Extraction writes regular files and directories only: entries with absolute paths, `..`
//! components, links or devices are refused, and modes are reduced to 0644/0755.

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};

use crate::limits;

/// Why an sdist could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("failed to read sdist `{}`", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("sdist `{}` is unsafe: entry `{entry}` {reason}", path.display())]
    Unsafe {
        path: PathBuf,
        entry: String,
        reason: &'static str,
    },
    #[error("sdist `{}` is not a `.tar.gz` or `.zip` with one top-level directory", path.display())]
    Layout { path: PathBuf },
}

fn is_zip(path: &Path) -> bool {
    path.extension().is_some_and(|extension| extension == "zip")
}

/// Refuses names that could write outside the extraction directory.
fn checked(path: &Path, name: &str) -> Result<PathBuf, ArchiveError> {
    let unsafe_entry = |reason| ArchiveError::Unsafe {
        path: path.to_path_buf(),
        entry: name.to_string(),
        reason,
    };
    let mut clean = PathBuf::new();
    for component in Path::new(name).components() {
        match component {
            Component::Normal(part) => clean.push(part),
            Component::CurDir => {}
            _ => return Err(unsafe_entry("leaves the extraction directory")),
        }
    }
    Ok(clean)
}

/// The text of the top-level `PKG-INFO`, if there is one.
pub fn read_pkg_info(path: &Path) -> Result<Option<String>, ArchiveError> {
    read_top_level(path, "PKG-INFO")
}

/// The text of the file `file_name` in the sdist's top-level directory (`PKG-INFO`,
/// `pyproject.toml`), if there is one; read with the metadata size cap.
pub fn read_top_level(path: &Path, file_name: &str) -> Result<Option<String>, ArchiveError> {
    let read_error = |source| ArchiveError::Read {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(read_error)?;
    let is_wanted = |name: &str| {
        let parts: Vec<&str> = name.trim_start_matches("./").split('/').collect();
        parts.len() == 2 && parts[1] == file_name
    };
    if is_zip(path) {
        let mut archive =
            zip::ZipArchive::new(file).map_err(|error| read_error(std::io::Error::other(error)))?;
        let Some(name) = archive
            .file_names()
            .find(|name| is_wanted(name))
            .map(str::to_string)
        else {
            return Ok(None);
        };
        let entry = archive
            .by_name(&name)
            .map_err(|error| read_error(std::io::Error::other(error)))?;
        let text = limits::read_text_capped(entry, limits::METADATA_FILE).map_err(read_error)?;
        return Ok(Some(text));
    }
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    for entry in archive.entries().map_err(read_error)? {
        let mut entry = entry.map_err(read_error)?;
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        if is_wanted(&name) && entry.header().entry_type().is_file() {
            let text =
                limits::read_text_capped(&mut entry, limits::METADATA_FILE).map_err(read_error)?;
            return Ok(Some(text));
        }
    }
    Ok(None)
}

/// Extracts `path` into `destination` and returns the source tree's root (the one top-level
/// directory).
pub fn extract(path: &Path, destination: &Path) -> Result<PathBuf, ArchiveError> {
    let read_error = |source| ArchiveError::Read {
        path: path.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(destination).map_err(read_error)?;
    // What the whole archive may still unpack to; declared sizes are not trusted, and files
    // are streamed to disk, so a bomb costs no more than the limit.
    let mut budget = limits::max_unpacked_size();
    let mut write = |relative: &Path, reader: &mut dyn Read, executable: bool| {
        let target = destination.join(relative);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(read_error)?;
        }
        let mut out = std::fs::File::create(&target).map_err(read_error)?;
        let written = std::io::copy(&mut reader.take(budget.saturating_add(1)), &mut out)
            .map_err(read_error)?;
        if written > budget {
            return Err(ArchiveError::Unsafe {
                path: path.to_path_buf(),
                entry: relative.display().to_string(),
                reason: "makes the archive unpack to more than the limit (`PYSHIP_MAX_UNPACKED_SIZE` raises it)",
            });
        }
        budget -= written;
        let mode = if executable { 0o755 } else { 0o644 };
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(mode)).map_err(read_error)
    };
    let file = std::fs::File::open(path).map_err(read_error)?;
    if is_zip(path) {
        let mut archive =
            zip::ZipArchive::new(file).map_err(|error| read_error(std::io::Error::other(error)))?;
        for index in 0..archive.len() {
            let mut entry = archive
                .by_index(index)
                .map_err(|error| read_error(std::io::Error::other(error)))?;
            let relative = checked(path, entry.name())?;
            let mode = entry.unix_mode().unwrap_or(0o644);
            if mode & 0o170000 == 0o120000 {
                return Err(ArchiveError::Unsafe {
                    path: path.to_path_buf(),
                    entry: entry.name().to_string(),
                    reason: "is a symlink",
                });
            }
            if entry.is_dir() {
                std::fs::create_dir_all(destination.join(&relative)).map_err(read_error)?;
                continue;
            }
            write(&relative, &mut entry, mode & 0o111 != 0)?;
        }
    } else {
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
        for entry in archive.entries().map_err(read_error)? {
            let mut entry = entry.map_err(read_error)?;
            let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            let relative = checked(path, &name)?;
            let kind = entry.header().entry_type();
            if kind.is_dir() {
                std::fs::create_dir_all(destination.join(&relative)).map_err(read_error)?;
            } else if kind.is_file() {
                let mode = entry.header().mode().unwrap_or(0o644);
                write(&relative, &mut entry, mode & 0o111 != 0)?;
            } else if kind.is_pax_global_extensions() || kind.is_pax_local_extensions() {
                // Metadata for the entries, consumed by the tar reader.
            } else {
                return Err(ArchiveError::Unsafe {
                    path: path.to_path_buf(),
                    entry: name,
                    reason: "is a link or special file",
                });
            }
        }
    }
    let mut tops: Vec<PathBuf> = std::fs::read_dir(destination)
        .map_err(read_error)?
        .flatten()
        .map(|entry| entry.path())
        .filter(|entry| entry.is_dir())
        .collect();
    match tops.len() {
        1 => Ok(tops.remove(0)),
        _ => Err(ArchiveError::Layout {
            path: path.to_path_buf(),
        }),
    }
}
