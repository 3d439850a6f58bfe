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
    // Made for the run and removed after it, even when pyship is killed (-9) and cannot: a
    // guardian in a process group of its own waits for pyship's end (its stdin closes) and
    // removes what is still empty.
    let guardian = created
        .as_ref()
        .and_then(|first_missing| spawn_guardian(prefix, first_missing));
    // The command gets SIGKILL when pyship dies (`setpriv --pdeathsig`, kept across the
    // execs of unshare and sh), so that a killed pyship leaves nothing running.
    let mut unshare = if Path::new(SETPRIV).exists() {
        let mut command = Command::new(SETPRIV);
        command.args(["--pdeathsig", "KILL", "--", "unshare"]);
        command
    } else {
        Command::new("unshare")
    };
    if !is_root {
        // Unprivileged user namespaces, where the kernel allows them.
        unshare.args(["--user", "--map-root-user"]);
    }
    // The virtualenv's `bin/` first on PATH, as `activate` does, so that `pyship run --
    // hello-serve` finds the app's console scripts.
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut search = vec![prefix.join("bin")];
    search.extend(std::env::split_paths(&path));
    if let Ok(joined) = std::env::join_paths(search) {
        unshare.env("PATH", joined);
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
    drop(guardian);
    let status = status?;
    use std::os::unix::process::ExitStatusExt as _;
    Ok(match (status.code(), status.signal()) {
        (Some(code), _) => u8::try_from(code).unwrap_or(1),
        (None, Some(signal)) => u8::try_from(128 + signal).unwrap_or(1),
        (None, None) => 1,
    })
}

/// util-linux's `setpriv`, which sets the parent-death signal before it execs.
const SETPRIV: &str = "/usr/bin/setpriv";

/// A shell that waits until its stdin (held by this process only) closes, then removes
/// `prefix` and its parents up to `last` while they are empty, retrying for a few seconds
/// while a dying namespace still holds the mount. The returned stdin keeps it waiting.
fn spawn_guardian(prefix: &Path, last: &Path) -> Option<std::process::ChildStdin> {
    use std::os::unix::process::CommandExt as _;
    let directories: Vec<&Path> = prefix
        .ancestors()
        .take_while(|directory| directory.starts_with(last))
        .collect();
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(
            r#"cat >/dev/null
for d in "$@"; do
    n=0
    while [ -d "$d" ] && ! rmdir "$d" 2>/dev/null; do
        n=$((n + 1))
        [ "$n" -lt 50 ] || exit 0
        sleep 0.1
    done
done"#,
        )
        .arg("pyship-run-guardian")
        .args(directories)
        .process_group(0)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .ok()?;
    child.stdin.take()
}

/// Removes `path` and its parents up to `last`, as long as they are empty.
fn remove_if_empty(path: &Path, last: &Path) {
    for directory in path.ancestors() {
        if std::fs::remove_dir(directory).is_err() || directory == last {
            break;
        }
    }
}
