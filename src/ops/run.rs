//! Running a command against a staged tree as it will run on the server: in a private mount
//! namespace (`unshare`), with the staged prefix bound over the install prefix, so that the
//! virtualenv's absolute paths (shebangs, `pyvenv.cfg`) resolve to the staged files. Nothing
//! outside the namespace sees the mount; it ends with the command.

use std::ffi::OsString;
use std::path::Path;
use std::process::Command;

use anyhow::{Context as _, bail};

use crate::venv::StagedVenv;

/// Runs `command` with `venv` bound at its install prefix and returns its exit status (128 +
/// the signal when a signal ended it, as shells report).
pub(crate) fn run_in_place(venv: &StagedVenv, command: &[OsString]) -> anyhow::Result<u8> {
    let prefix = &venv.install_prefix;
    let staged = venv.staged_prefix();
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|output| String::from_utf8_lossy(&output.stdout).trim() == "0");
    // The mount needs a directory to cover. What is made for the run is removed after it:
    // the prefix up to the first directory that did not exist.
    let created = if prefix.is_dir() {
        None
    } else if is_root {
        let first_missing = prefix
            .ancestors()
            .take_while(|ancestor| !ancestor.exists())
            .last()
            .map(Path::to_path_buf);
        std::fs::create_dir_all(prefix)
            .with_context(|| format!("failed to create `{}` for the run", prefix.display()))?;
        first_missing
    } else {
        bail!(
            "`{}` does not exist here, and only root may create it: create it (empty), or run as root",
            prefix.display()
        );
    };
    let mut unshare = Command::new("unshare");
    if !is_root {
        // Unprivileged user namespaces, where the kernel allows them.
        unshare.args(["--user", "--map-root-user"]);
    }
    unshare
        .args(["--mount", "--propagation", "private", "--", "sh", "-c"])
        .arg(r#"mount --bind "$1" "$2" && shift 2 && exec "$@""#)
        .arg("pyship-run")
        .arg(&staged)
        .arg(prefix)
        .args(command);
    let status = unshare
        .status()
        .context("failed to run `unshare` (util-linux) for the mount namespace");
    if let Some(first_missing) = created {
        remove_if_empty(prefix, &first_missing);
    }
    let status = status?;
    use std::os::unix::process::ExitStatusExt as _;
    Ok(match (status.code(), status.signal()) {
        (Some(code), _) => u8::try_from(code).unwrap_or(1),
        (None, Some(signal)) => u8::try_from(128 + signal).unwrap_or(1),
        (None, None) => 1,
    })
}

/// Removes `path` and its parents up to `last`, as long as they are empty.
fn remove_if_empty(path: &Path, last: &Path) {
    for directory in path.ancestors() {
        if std::fs::remove_dir(directory).is_err() || directory == last {
            break;
        }
    }
}
