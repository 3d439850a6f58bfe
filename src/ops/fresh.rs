//! Whether a staged tree is still what staging would make now, so that a second `pyship
//! build` with nothing changed does nothing (as cargo's fingerprints do).
//!
//! A stamp beside the staged tree records two fingerprints: of the inputs (this pyship, the
//! target and its settings, the locked files' hashes, the project's source files and local
//! source trees by path, size, mode and modification time, and the interpreters that decide
//! bytecode) and of the staged tree as staging left it. Both must match for the tree to be
//! reused; anything that touched the tree since (a command run in it, a hand edit) makes it
//! stale. The stamp is removed before staging starts and written after it ends, so an
//! interrupted staging is never taken for a fresh one.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::project::BytecodeMode;
use crate::venv::StagedVenv;

/// What a stamp keeps of a staging, to hand out again without redoing it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Stamp {
    inputs: String,
    tree: String,
    pub bytecode: BytecodeMode,
    pub venv: StagedVenv,
    pub packages: Vec<pyship_plugin::Package>,
}

/// The stamp's path for the tree staged at `staging_root`.
fn stamp_path(staging_root: &Path) -> PathBuf {
    let mut name = staging_root
        .file_name()
        .map(|name| name.to_os_string())
        .unwrap_or_default();
    name.push(".stamp.json");
    staging_root.with_file_name(name)
}

/// Builds the inputs' fingerprint.
pub(crate) struct Inputs(Sha256);

impl Inputs {
    pub fn new() -> Inputs {
        let mut hasher = Sha256::new();
        hasher.update(env!("CARGO_PKG_VERSION"));
        // A rebuilt pyship may stage differently under the same version (a developer's).
        if let Ok(metadata) = std::env::current_exe().and_then(std::fs::metadata) {
            hasher.update(format!("{}:{}", metadata.len(), metadata.mtime_nsec()));
        }
        Inputs(hasher)
    }

    /// A fact that changes the result (a path, a setting, a hash).
    pub fn fact(&mut self, fact: impl std::fmt::Display) -> &mut Self {
        let fact = fact.to_string();
        self.0.update((fact.len() as u64).to_le_bytes());
        self.0.update(fact);
        self
    }

    /// The files under `root` (hidden entries, `__pycache__` and `skip` left out).
    pub fn tree(&mut self, root: &Path, skip: &Path) -> &mut Self {
        let fingerprint = tree_fingerprint(root, |path| {
            path == skip
                || path.file_name().is_some_and(|name| {
                    name.to_string_lossy().starts_with('.') || name == "__pycache__"
                })
        });
        self.fact(fingerprint)
    }

    /// The files under `root` like [`Self::tree`], `skips` left out too (a lockfile, which a
    /// lock writes after reading the tree).
    pub fn tree_without(&mut self, root: &Path, skips: &[PathBuf]) -> &mut Self {
        let fingerprint = tree_fingerprint(root, |path| {
            skips.iter().any(|skip| path == skip)
                || path.file_name().is_some_and(|name| {
                    name.to_string_lossy().starts_with('.') || name == "__pycache__"
                })
        });
        self.fact(fingerprint)
    }

    /// A file's identity (an interpreter): its path, size and modification time.
    pub fn file(&mut self, path: &Path) -> &mut Self {
        let identity = std::fs::metadata(path)
            .map(|m| format!("{}:{}:{}", m.len(), m.mtime(), m.mtime_nsec()))
            .unwrap_or_else(|_| "missing".into());
        self.fact(format!("{}={identity}", path.display()))
    }

    pub fn finish(&self) -> String {
        pyship_plugin::hex(&self.0.clone().finalize())
    }
}

/// The stamp of the tree at `staging_root` when it was staged from `inputs` and has not been
/// touched since; else why it must be staged again (for `-v`).
pub(crate) fn fresh(staging_root: &Path, inputs: &Inputs) -> Result<Stamp, &'static str> {
    let text = std::fs::read_to_string(stamp_path(staging_root))
        .map_err(|_| "it was never staged, or its staging did not finish")?;
    let stamp: Stamp =
        serde_json::from_str(&text).map_err(|_| "its stamp is from another pyship")?;
    if stamp.inputs != inputs.finish() {
        return Err(
            "its inputs changed (the lock, the target, the settings, the project's files, the interpreter or this pyship)",
        );
    }
    if stamp.tree != staged_tree(staging_root) {
        return Err("the staged tree was changed since (a command run in it, an edit)");
    }
    Ok(stamp)
}

/// Forgets the stamp, before the tree is changed.
pub(crate) fn forget(staging_root: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(stamp_path(staging_root)) {
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => Err(error),
        _ => Ok(()),
    }
}

/// Records that the tree at `staging_root` is what `inputs` stage.
pub(crate) fn remember(
    staging_root: &Path,
    inputs: &Inputs,
    bytecode: BytecodeMode,
    venv: &StagedVenv,
    packages: &[pyship_plugin::Package],
) -> std::io::Result<()> {
    let stamp = Stamp {
        inputs: inputs.finish(),
        tree: staged_tree(staging_root),
        bytecode,
        venv: venv.clone(),
        packages: packages.to_vec(),
    };
    let text = serde_json::to_string(&stamp).map_err(std::io::Error::other)?;
    crate::cache::write_atomically(&stamp_path(staging_root), text.as_bytes())
}

fn staged_tree(staging_root: &Path) -> String {
    tree_fingerprint(staging_root, |_| false)
}

/// A hash of every entry under `root` (sorted paths, kinds, sizes, modes, times and link
/// targets), entries for which `skip` says so left out with what they hold.
fn tree_fingerprint(root: &Path, skip: impl Fn(&Path) -> bool) -> String {
    let mut hasher = Sha256::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(directory) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&directory) else {
            continue;
        };
        let mut paths: Vec<PathBuf> = entries.flatten().map(|entry| entry.path()).collect();
        paths.sort();
        for path in paths {
            if skip(&path) {
                continue;
            }
            let Ok(metadata) = std::fs::symlink_metadata(&path) else {
                continue;
            };
            let relative = path.strip_prefix(root).unwrap_or(&path);
            let link = std::fs::read_link(&path).unwrap_or_default();
            hasher.update(format!(
                "{}\0{:o}\0{}\0{}.{}\0{}\n",
                relative.display(),
                metadata.permissions().mode(),
                metadata.len(),
                metadata.mtime(),
                metadata.mtime_nsec(),
                link.display()
            ));
            if metadata.is_dir() {
                pending.push(path);
            }
        }
    }
    pyship_plugin::hex(&hasher.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_touched_tree_or_changed_inputs_are_not_fresh() {
        let root = tempfile::tempdir().unwrap();
        let staged = root.path().join("stage");
        std::fs::create_dir_all(staged.join("opt/app")).unwrap();
        std::fs::write(staged.join("opt/app/x.py"), "x = 1\n").unwrap();
        let venv = StagedVenv {
            staging_root: staged.clone(),
            install_prefix: PathBuf::from("/opt/app"),
            site_packages: PathBuf::from("lib"),
            own_files: Vec::new(),
        };
        let mut inputs = Inputs::new();
        inputs.fact("lock hash 1");
        assert!(fresh(&staged, &inputs).is_err(), "no stamp yet");
        remember(&staged, &inputs, BytecodeMode::Build, &venv, &[]).unwrap();
        assert!(fresh(&staged, &inputs).is_ok());

        let mut changed = Inputs::new();
        changed.fact("lock hash 2");
        assert!(fresh(&staged, &changed).is_err());

        std::fs::write(staged.join("opt/app/y.py"), "y = 1\n").unwrap();
        assert!(fresh(&staged, &inputs).is_err(), "a file appeared");
        remember(&staged, &inputs, BytecodeMode::Build, &venv, &[]).unwrap();
        forget(&staged).unwrap();
        assert!(fresh(&staged, &inputs).is_err(), "forgotten");
    }
}
