//! The project's source files: what a build of the app may see.
//!
//! A PEP 517 backend run in the project directory sees everything there, pyship's own
//! `target/` included, and setuptools' automatic discovery takes it for a package ("Multiple
//! top-level packages discovered in a flat-layout: ['target', 'mysite']", or worse, a wheel of
//! `target` alone). So the app is built from a copy of its source files: in a git checkout the
//! files git tracks or would track (`.gitignore` honoured), elsewhere every file but hidden
//! ones, bytecode caches and virtualenvs; never the target directory.

use std::path::{Component, Path, PathBuf};
use std::process::Command;

use anyhow::Context as _;

/// The project's source files under `root`, relative to it and sorted, without anything
/// under `skip` (pyship's target directory).
pub fn source_files(root: &Path, skip: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let relative_skip = skip.strip_prefix(root).unwrap_or(skip).to_path_buf();
    let mut files = match git_files(root) {
        // Nothing listed: a project git ignores as a whole; its files are still its sources.
        Some(files) if !files.is_empty() => files,
        _ => walked_files(root)
            .with_context(|| format!("failed to list the files of `{}`", root.display()))?,
    };
    files.retain(|file| {
        !file.starts_with(&relative_skip)
            && file
                .components()
                .all(|component| matches!(component, Component::Normal(_)))
    });
    files.sort();
    files.dedup();
    Ok(files)
}

/// A checkout's git directories: its own (HEAD, index) and the common one (objects, refs).
struct GitDirs {
    own: PathBuf,
    common: PathBuf,
    object_format: String,
}

/// The git directories of the checkout whose top is `root`; `None` when `root` is not the top
/// of a work tree (a project in a subdirectory keeps to its own files).
fn git_dirs_of_top(root: &Path) -> Option<GitDirs> {
    let output = Command::new("git")
        .arg("-C")
        .arg(root)
        .env("GIT_OPTIONAL_LOCKS", "0")
        .args([
            "rev-parse",
            "--show-toplevel",
            "--absolute-git-dir",
            "--git-common-dir",
            "--show-object-format",
        ])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    let text = String::from_utf8(output.stdout).ok()?;
    let mut lines = text.lines();
    let top = std::fs::canonicalize(lines.next()?).ok()?;
    if top != std::fs::canonicalize(root).ok()? {
        return None;
    }
    let own = PathBuf::from(lines.next()?);
    let common = std::fs::canonicalize(root.join(lines.next()?)).ok()?;
    let object_format = lines.next().unwrap_or("sha1").to_string();
    Some(GitDirs {
        own,
        common,
        object_format,
    })
}

/// A git directory at `destination` with the checkout's HEAD, refs, index and shallow list
/// (copies) and its objects (borrowed through `objects/info/alternates`); a config of its
/// own, since the checkout's may hold credentials in remote URLs.
fn borrow_history(git: &GitDirs, destination: &Path) -> anyhow::Result<()> {
    let copy = |from: &Path, to: &Path| -> anyhow::Result<()> {
        if from.is_file() {
            if let Some(parent) = to.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::copy(from, to)
                .with_context(|| format!("failed to copy `{}`", from.display()))?;
        }
        Ok(())
    };
    std::fs::create_dir_all(destination.join("objects/info"))?;
    copy(&git.own.join("HEAD"), &destination.join("HEAD"))?;
    copy(&git.own.join("index"), &destination.join("index"))?;
    copy(
        &git.common.join("packed-refs"),
        &destination.join("packed-refs"),
    )?;
    copy(&git.common.join("shallow"), &destination.join("shallow"))?;
    let refs = git.common.join("refs");
    let listed = walked_files(&refs).unwrap_or_default();
    copy_files(&refs, &listed, &destination.join("refs"))?;
    std::fs::write(
        destination.join("objects/info/alternates"),
        format!("{}\n", git.common.join("objects").display()),
    )?;
    let extensions = if git.object_format == "sha1" {
        String::new()
    } else {
        format!("[extensions]\n\tobjectformat = {}\n", git.object_format)
    };
    let version = if extensions.is_empty() { 0 } else { 1 };
    std::fs::write(
        destination.join("config"),
        format!("[core]\n\trepositoryformatversion = {version}\n\tbare = false\n{extensions}"),
    )?;
    Ok(())
}

/// `git ls-files` of a checkout: tracked files that still exist, and untracked ones that are
/// not ignored. `None` outside a checkout or without git.
fn git_files(root: &Path) -> Option<Vec<PathBuf>> {
    let output = Command::new("git")
        .arg("-C")
        .arg(root)
        .env("GIT_OPTIONAL_LOCKS", "0")
        .args([
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    use std::os::unix::ffi::OsStrExt;
    Some(
        output
            .stdout
            .split(|byte| *byte == 0)
            .filter(|name| !name.is_empty())
            .map(|name| PathBuf::from(std::ffi::OsStr::from_bytes(name)))
            // Deleted but not yet committed: not a source file any more.
            .filter(|name| root.join(name).symlink_metadata().is_ok())
            .collect(),
    )
}

/// Every file under `root` but hidden entries, `__pycache__` and virtualenvs.
fn walked_files(root: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut pending = vec![PathBuf::new()];
    while let Some(relative) = pending.pop() {
        for entry in std::fs::read_dir(root.join(&relative))? {
            let entry = entry?;
            let name = entry.file_name();
            if name.to_string_lossy().starts_with('.') || name == "__pycache__" {
                continue;
            }
            let path = relative.join(&name);
            let kind = entry.file_type()?;
            if kind.is_dir() {
                if !entry.path().join("pyvenv.cfg").exists() {
                    pending.push(path);
                }
            } else {
                files.push(path);
            }
        }
    }
    Ok(files)
}

/// A copy of source files, removed when dropped: it holds `pyproject.toml`, which may hold an
/// index URL with a credential, and nothing that holds one may outlive its use.
pub struct SourceCopy {
    path: PathBuf,
}

impl SourceCopy {
    /// Copies `files` (relative to `root`) to a fresh `destination` (always the same
    /// directory, so that paths a build records do not vary between builds).
    pub fn new(root: &Path, files: &[PathBuf], destination: &Path) -> anyhow::Result<SourceCopy> {
        let copy = SourceCopy {
            path: destination.to_path_buf(),
        };
        copy_files(root, files, destination)?;
        // Versions from git tags (setuptools_scm, hatch-vcs) need the checkout's history: the
        // copy gets a git directory of its own that borrows the checkout's objects, so that git
        // run there (by a backend, which may refresh an index) never writes into the checkout.
        if let Some(git) = git_dirs_of_top(root) {
            borrow_history(&git, &destination.join(".git"))?;
        }
        Ok(copy)
    }

    /// Where the copy is.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for SourceCopy {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Copies `files` (relative to `root`) to a fresh `destination`: regular files with their
/// permission bits, symbolic links as links. Whatever `destination` held is removed first.
pub fn copy_files(root: &Path, files: &[PathBuf], destination: &Path) -> anyhow::Result<()> {
    if destination.symlink_metadata().is_ok() {
        std::fs::remove_dir_all(destination)
            .with_context(|| format!("failed to remove `{}`", destination.display()))?;
    }
    std::fs::create_dir_all(destination)
        .with_context(|| format!("failed to create `{}`", destination.display()))?;
    for file in files {
        let from = root.join(file);
        let to = destination.join(file);
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("failed to create `{}`", parent.display()))?;
        }
        let metadata = from
            .symlink_metadata()
            .with_context(|| format!("failed to read `{}`", from.display()))?;
        let copied = if metadata.file_type().is_symlink() {
            std::fs::read_link(&from).and_then(|target| std::os::unix::fs::symlink(target, &to))
        } else if metadata.is_dir() {
            // A git submodule: listed as one entry, copied whole (its own files only).
            let inner = walked_files(&from).unwrap_or_default();
            copy_files(&from, &inner, &to)?;
            Ok(())
        } else {
            std::fs::copy(&from, &to).map(|_| ())
        };
        copied.with_context(|| {
            format!("failed to copy `{}` to `{}`", from.display(), to.display())
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outside_a_checkout_hidden_files_caches_venvs_and_the_target_are_left_out() {
        let root = tempfile::tempdir().unwrap();
        let root = root.path();
        for file in [
            "app.py",
            "mysite/__init__.py",
            "mysite/__pycache__/x.pyc",
            ".env",
            "target/pyship/stage/x",
            "venv/pyvenv.cfg",
            "venv/lib/y.py",
        ] {
            std::fs::create_dir_all(root.join(file).parent().unwrap()).unwrap();
            std::fs::write(root.join(file), "").unwrap();
        }
        let files = source_files(root, &root.join("target")).unwrap();
        assert_eq!(
            files,
            [PathBuf::from("app.py"), PathBuf::from("mysite/__init__.py")]
        );
        let copy = tempfile::tempdir().unwrap();
        let sources = SourceCopy::new(root, &files, &copy.path().join("src")).unwrap();
        assert!(sources.path().join("mysite/__init__.py").is_file());
        assert!(!sources.path().join("target").exists());
        drop(sources);
        assert!(!copy.path().join("src").exists());
    }
}
