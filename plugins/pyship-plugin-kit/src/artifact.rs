//! Writing an artifact so that it is complete or absent, and describing it for the result.
//!
//! An artifact is written to `.NAME.PID.tmp` beside its final path and renamed into place
//! only when whole: a failed or killed plugin never leaves a half-written package where the
//! old one was. pyship removes the temporaries of dead processes before the next run (the
//! PID in the name says whose it is). The sha256 and size are computed while writing.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use pyship_plugin::{Artifact, hex};
use sha2::{Digest, Sha256};

/// The build's `SOURCE_DATE_EPOCH` (0 when the manifest has none), refused past what every
/// format records (RPM's 32-bit times): a larger one would wrap or corrupt an archive.
pub fn source_date_epoch(manifest: &pyship_plugin::Manifest) -> Result<u64, String> {
    let epoch = manifest.source.source_date_epoch.unwrap_or(0);
    if epoch > pyship_plugin::grammar::MAX_SOURCE_DATE_EPOCH {
        return Err(format!(
            "SOURCE_DATE_EPOCH {epoch} is past what package formats record (at most {})",
            pyship_plugin::grammar::MAX_SOURCE_DATE_EPOCH
        ));
    }
    Ok(epoch)
}

/// `base/NAME` as a work directory of the plugin's own: created when missing, refused when it
/// is a symbolic link or not a directory. Plugins clear and rewrite their work directories,
/// and a link there (`target/pyship/deb -> /somewhere`) would make them clear another place.
pub fn work_dir(base: &Path, name: &str) -> Result<PathBuf, String> {
    let path = base.join(name);
    let failed = |error: io::Error| format!("failed to create `{}`: {error}", path.display());
    std::fs::create_dir_all(base).map_err(failed)?;
    match std::fs::symlink_metadata(&path) {
        Ok(metadata) if metadata.file_type().is_symlink() || !metadata.is_dir() => Err(format!(
            "`{}` is not a directory of its own (a symbolic link or a file); the plugin writes and clears its work there, so remove it and run again",
            path.display()
        )),
        Ok(_) => Ok(path),
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            match std::fs::create_dir(&path) {
                Ok(()) => Ok(path),
                // Another run made it meanwhile.
                Err(error) if error.kind() == io::ErrorKind::AlreadyExists => work_dir(base, name),
                Err(error) => Err(failed(error)),
            }
        }
        Err(error) => Err(failed(error)),
    }
}

/// An artifact being written.
pub struct ArtifactFile {
    path: PathBuf,
    temporary: PathBuf,
    writer: Option<BufWriter<File>>,
    hasher: Sha256,
    size: u64,
}

impl ArtifactFile {
    /// Starts writing the artifact that will be `path`.
    pub fn create(path: &Path) -> io::Result<ArtifactFile> {
        let directory = path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(directory)?;
        let name = path
            .file_name()
            .and_then(|name| name.to_str())
            .unwrap_or("artifact");
        let temporary = directory.join(format!(".{name}.{}.tmp", std::process::id()));
        let file = File::create(&temporary)?;
        pyship_plugin::temporary_started(&temporary);
        Ok(ArtifactFile {
            path: path.to_path_buf(),
            temporary,
            writer: Some(BufWriter::with_capacity(1 << 20, file)),
            hasher: Sha256::new(),
            size: 0,
        })
    }

    /// Renames the finished file into place and describes it as an artifact of `kind`.
    pub fn commit(mut self, kind: &str) -> io::Result<Artifact> {
        if let Some(writer) = self.writer.take() {
            let file = writer.into_inner().map_err(|error| error.into_error())?;
            file.sync_all()?;
        }
        std::fs::rename(&self.temporary, &self.path)?;
        Ok(Artifact {
            path: self.path.clone(),
            kind: kind.to_string(),
            size: self.size,
            sha256: hex(&std::mem::take(&mut self.hasher).finalize()),
        })
    }
}

impl Write for ArtifactFile {
    fn write(&mut self, buffer: &[u8]) -> io::Result<usize> {
        let writer = self
            .writer
            .as_mut()
            .ok_or_else(|| io::Error::other("the artifact is already committed"))?;
        let written = writer.write(buffer)?;
        self.hasher.update(&buffer[..written]);
        self.size += written as u64;
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        match self.writer.as_mut() {
            Some(writer) => writer.flush(),
            None => Ok(()),
        }
    }
}

impl Drop for ArtifactFile {
    /// An artifact dropped before [`ArtifactFile::commit`] (an error on the way) leaves
    /// nothing behind.
    fn drop(&mut self) {
        if self.writer.is_some() {
            self.writer = None;
            let _ = std::fs::remove_file(&self.temporary);
        }
        pyship_plugin::temporary_ended(&self.temporary);
    }
}

/// The bills of materials the manifest hands over, each by its file name with its bytes, to
/// ship as documentation. A name that is not a plain `*.json` file name is refused: it
/// becomes a path inside the artifact.
pub fn sboms(manifest: &pyship_plugin::Manifest) -> Result<Vec<(String, Vec<u8>)>, String> {
    manifest
        .sboms
        .iter()
        .map(|path| {
            let name = path
                .file_name()
                .and_then(|name| name.to_str())
                .filter(|name| {
                    name.ends_with(".json")
                        && !name.starts_with('.')
                        && name
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || "._+-".contains(c))
                })
                .ok_or_else(|| {
                    format!(
                        "the bill of materials `{}` is not a plain `NAME.json` file",
                        path.display()
                    )
                })?;
            let bytes = std::fs::read(path)
                .map_err(|error| format!("failed to read `{}`: {error}", path.display()))?;
            Ok((name.to_string(), bytes))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bills_of_materials_with_names_that_are_not_plain_are_refused() {
        let directory = tempfile::tempdir().unwrap();
        let mut manifest: pyship_plugin::Manifest = pyship_plugin::serde_json::from_str(
            include_str!("../../../testdata/protocol/v2/manifest.json"),
        )
        .unwrap();
        for name in ["hello.cdx.json", "a\nb.json", ".hidden.json", "hello.txt"] {
            std::fs::write(directory.path().join(name), "{}").unwrap();
        }
        manifest.sboms = vec![directory.path().join("hello.cdx.json")];
        assert_eq!(sboms(&manifest).unwrap()[0].0, "hello.cdx.json");
        for bad in ["a\nb.json", ".hidden.json", "hello.txt", ".."] {
            manifest.sboms = vec![directory.path().join(bad)];
            assert!(sboms(&manifest).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn artifacts_appear_whole_with_their_hash_or_not_at_all() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("app_1.0_all.deb");
        let mut file = ArtifactFile::create(&path).unwrap();
        file.write_all(b"hello").unwrap();
        assert!(!path.exists());
        let artifact = file.commit("deb").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"hello");
        assert_eq!(artifact.size, 5);
        assert_eq!(artifact.sha256, hex(&Sha256::digest(b"hello")));

        let abandoned = directory.path().join("other.deb");
        let mut file = ArtifactFile::create(&abandoned).unwrap();
        file.write_all(b"half").unwrap();
        drop(file);
        let left: Vec<_> = std::fs::read_dir(directory.path()).unwrap().collect();
        assert_eq!(left.len(), 1, "{left:?}");
    }
}
