//! What every publisher needs: one publish at a time per repository, files written whole or
//! not at all, and names that are safe as paths and index fields.

use std::io::Write;
use std::path::{Path, PathBuf};

/// A name that becomes a path or an index field: letters, digits and `._+-`.
pub fn check_name(what: &str, value: &str) -> Result<(), String> {
    let valid = !value.is_empty()
        && !value.starts_with(['.', '-'])
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._+-".contains(c));
    if valid {
        Ok(())
    } else {
        Err(format!(
            "the {what} `{}` is not a plain name (letters, digits and `._+-`)",
            value.escape_debug()
        ))
    }
}

/// One publish at a time: a lock file in the repository holds the publisher's pid; a lock
/// whose process is gone is taken over.
pub struct Lock {
    path: PathBuf,
}

impl Lock {
    /// Takes `root/name`, waiting up to five minutes for another publisher to let go.
    pub fn take(root: &Path, name: &str) -> Result<Lock, String> {
        let path = root.join(name);
        let started = std::time::Instant::now();
        loop {
            match std::fs::File::create_new(&path) {
                Ok(mut file) => {
                    let _ = write!(file, "{}", std::process::id());
                    return Ok(Lock { path });
                }
                Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
                    let holder = std::fs::read_to_string(&path).unwrap_or_default();
                    let alive = holder
                        .trim()
                        .parse::<u32>()
                        .is_ok_and(|pid| Path::new(&format!("/proc/{pid}")).exists());
                    if !alive {
                        let _ = std::fs::remove_file(&path);
                        continue;
                    }
                    if started.elapsed() > std::time::Duration::from_secs(300) {
                        return Err(format!(
                            "another publish (process {}) holds `{}` for 5 minutes",
                            holder.trim(),
                            path.display()
                        ));
                    }
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
                Err(error) => {
                    return Err(format!("failed to lock `{}`: {error}", path.display()));
                }
            }
        }
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Writes `path` whole or not at all: a temporary beside it, renamed over it.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let failed = |error: std::io::Error| format!("failed to write `{}`: {error}", path.display());
    let directory = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(directory).map_err(failed)?;
    let temporary = directory.join(format!(
        ".{}.{}.tmp",
        path.file_name().unwrap_or_default().to_string_lossy(),
        std::process::id()
    ));
    pyship_plugin::temporary_started(&temporary);
    let written = std::fs::File::create(&temporary)
        .and_then(|mut file| file.write_all(bytes).and_then(|()| file.sync_all()))
        .and_then(|()| std::fs::rename(&temporary, path));
    pyship_plugin::temporary_ended(&temporary);
    if written.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    written.map_err(failed)
}
