//! Child processes that die with pyship, and what dead runs leave behind.
//!
//! A Python child (a byte-compiler, a PEP 517 backend) must not outlive pyship: killed
//! mid-build, it would go on writing into a stage the next build is clearing. Without
//! `unsafe` there is no `PR_SET_PDEATHSIG`, so the child watches for itself: it moves into a
//! process group of its own and reads its stdin, a pipe whose other end only pyship holds.
//! When pyship exits, however it exits, the pipe closes and the child kills its whole group
//! (its own workers included).

use std::io;
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// Prepended to every Python script pyship runs; names are private so the script's own
/// globals are untouched.
const GUARD: &str = r#"
import os as _pyship_os, threading as _pyship_threading
_pyship_os.setpgid(0, 0)
def _pyship_guard():
    # The raw descriptor, not sys.stdin: a daemon thread must hold no lock at shutdown.
    try:
        while _pyship_os.read(0, 4096):
            pass
    finally:
        _pyship_os.killpg(0, 9)
_pyship_threading.Thread(target=_pyship_guard, daemon=True).start()
"#;

/// `python [FLAGS] -c SCRIPT`, guarded; add the script's arguments and run it with
/// [`output`].
pub fn python_script(python: &Path, flags: &[&str], script: &str) -> Command {
    let mut command = Command::new(python);
    crate::credentials::without_secrets(&mut command)
        .args(flags)
        .arg("-c")
        .arg(format!("{GUARD}\n{script}"));
    command
}

/// Runs a guarded command to completion, capturing its output, and holds its stdin open
/// until then.
pub fn output(mut command: Command) -> io::Result<Output> {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let lifeline = child.stdin.take();
    let output = child.wait_with_output();
    drop(lifeline);
    output
}

/// Removes `.NAME.PID.tmp` files in `directory` whose process is gone: what an artifact
/// writer killed mid-write leaves (a live process's temporaries are left alone).
pub fn remove_stale_temporaries(directory: &Path) {
    let Ok(entries) = std::fs::read_dir(directory) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else {
            continue;
        };
        let Some(pid) = name
            .strip_prefix('.')
            .and_then(|rest| rest.strip_suffix(".tmp"))
            .and_then(|rest| rest.rsplit_once('.'))
            .and_then(|(_, pid)| pid.parse::<u32>().ok())
        else {
            continue;
        };
        let alive = Path::new("/proc").join(pid.to_string()).exists();
        if !alive && entry.file_type().is_ok_and(|kind| kind.is_file()) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_temporaries_of_dead_processes_are_removed() {
        let directory = tempfile::tempdir().unwrap();
        let dead = directory.path().join(".app_1.0_all.deb.4000000000.tmp");
        let live = directory
            .path()
            .join(format!(".app_1.0_all.deb.{}.tmp", std::process::id()));
        let other = directory.path().join("app_1.0_all.deb");
        for path in [&dead, &live, &other] {
            std::fs::write(path, b"x").unwrap();
        }
        remove_stale_temporaries(directory.path());
        assert!(!dead.exists());
        assert!(live.exists());
        assert!(other.exists());
    }
}
