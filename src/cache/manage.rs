//! `pyship cache size | prune | clean`: what the cache holds, and removing it safely.
//!
//! Only what pyship itself puts in the cache root is ever removed: its buckets (`NAME-vN`
//! directories) and the temporary files of interrupted writes, never the root itself when
//! something else lives there, so a mistaken `PYSHIP_CACHE_DIR=$HOME` loses nothing else.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::Cache;

/// The buckets this pyship reads and writes; other `NAME-vN` directories are older layouts.
pub const BUCKETS: &[&str] = &[
    "wheels-v1",
    "http-v1",
    "metadata-v1",
    "downloads-v1",
    "built-v1",
    "builds-v1",
    "installed-v1",
];

/// An installed tree no build has used for this long is pruned (a build installs it again
/// from its wheel when needed).
const UNUSED_INSTALLED_TREE: Duration = Duration::from_secs(30 * 24 * 3600);

/// Scratch whose writer may still be running is left alone for this long.
const IN_USE: Duration = Duration::from_secs(3600);

/// Files and bytes, of one bucket or of what an operation removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Usage {
    pub files: u64,
    pub bytes: u64,
}

impl Usage {
    fn add(&mut self, other: &Usage) {
        self.files += other.files;
        self.bytes += other.bytes;
    }
}

/// What each bucket holds, in [`BUCKETS`] order then older layouts by name.
pub fn usage(cache: &Cache) -> Vec<(String, Usage)> {
    pyship_buckets(&cache.root)
        .into_iter()
        .map(|name| {
            let usage = measure(&cache.root.join(&name));
            (name, usage)
        })
        .collect()
}

/// Removes what no later run will read: older bucket layouts, build scratch, the temporary
/// files of interrupted writes (those untouched for an hour, so that a run going on now keeps
/// its own), and installed trees no build has used for 30 days.
pub fn prune(cache: &Cache) -> std::io::Result<Usage> {
    let mut removed = Usage::default();
    for name in pyship_buckets(&cache.root) {
        let path = cache.root.join(&name);
        if !BUCKETS.contains(&name.as_str()) {
            removed.add(&remove(&path)?);
        } else if name == "installed-v1" {
            for entry in std::fs::read_dir(&path)?.flatten() {
                let unused = if entry.file_name().to_string_lossy().starts_with(".tmp") {
                    IN_USE
                } else {
                    UNUSED_INSTALLED_TREE
                };
                // An entry's `entry.json` is touched each time a build uses it.
                let marker = entry.path().join("entry.json");
                let probe = if marker.exists() {
                    marker
                } else {
                    entry.path()
                };
                if untouched_for(&probe, unused) {
                    removed.add(&remove(&entry.path())?);
                }
            }
        } else if name == "builds-v1" {
            for entry in std::fs::read_dir(&path)?.flatten() {
                if untouched_for(&entry.path(), IN_USE) {
                    removed.add(&remove(&entry.path())?);
                }
            }
        } else {
            remove_stale_temporaries(&path, &mut removed)?;
        }
    }
    Ok(removed)
}

/// Removes every bucket, then the root if nothing else is in it.
pub fn clean(cache: &Cache) -> std::io::Result<Usage> {
    let mut removed = Usage::default();
    for name in pyship_buckets(&cache.root) {
        removed.add(&remove(&cache.root.join(name))?);
    }
    // Fails harmlessly when the root holds something pyship did not put there.
    let _ = std::fs::remove_dir(&cache.root);
    Ok(removed)
}

/// The names of the root's directories that look like pyship buckets (`NAME-vN`), sorted
/// with the current ones first.
fn pyship_buckets(root: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(root) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .flatten()
        .filter(|entry| entry.file_type().is_ok_and(|kind| kind.is_dir()))
        .filter_map(|entry| entry.file_name().into_string().ok())
        .filter(|name| is_bucket_name(name))
        .collect();
    names.sort_by_key(|name| {
        (
            BUCKETS
                .iter()
                .position(|b| b == name)
                .unwrap_or(BUCKETS.len()),
            name.clone(),
        )
    });
    names
}

/// A bucket of this pyship or another layout of one of its buckets (`wheels-v0`): one of
/// pyship's own names, `-v`, digits. Any other `NAME-vN` (`backup-v2`) is not pyship's.
fn is_bucket_name(name: &str) -> bool {
    let Some((stem, version)) = name.rsplit_once("-v") else {
        return false;
    };
    BUCKETS
        .iter()
        .any(|bucket| bucket.rsplit_once("-v").is_some_and(|(own, _)| own == stem))
        && !version.is_empty()
        && version.bytes().all(|b| b.is_ascii_digit())
}

/// Files and bytes under `path` (symlinks counted, never followed).
fn measure(path: &Path) -> Usage {
    let mut usage = Usage::default();
    let mut pending: Vec<PathBuf> = vec![path.to_path_buf()];
    while let Some(path) = pending.pop() {
        let Ok(metadata) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        if metadata.is_dir() {
            if let Ok(entries) = std::fs::read_dir(&path) {
                pending.extend(entries.flatten().map(|entry| entry.path()));
            }
        } else {
            usage.files += 1;
            usage.bytes += metadata.len();
        }
    }
    usage
}

/// Removes `path` (a directory tree or a file) and says what it held.
fn remove(path: &Path) -> std::io::Result<Usage> {
    let usage = measure(path);
    let result = if std::fs::symlink_metadata(path)?.is_dir() {
        std::fs::remove_dir_all(path)
    } else {
        std::fs::remove_file(path)
    };
    match result {
        // Removed meanwhile by another run: the same outcome.
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(Usage::default()),
        other => other.map(|()| usage),
    }
}

/// Removes `.tmp*` files (what [`super::write_atomically`] leaves when killed) under `path`.
fn remove_stale_temporaries(path: &Path, removed: &mut Usage) -> std::io::Result<()> {
    let mut pending = vec![path.to_path_buf()];
    while let Some(directory) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&directory) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            let temporary = entry.file_name().to_string_lossy().starts_with(".tmp");
            if kind.is_dir() && temporary && untouched_for(&path, IN_USE) {
                // An installed-tree entry whose writer was interrupted.
                removed.add(&remove(&path)?);
            } else if kind.is_dir() {
                pending.push(path);
            } else if temporary && untouched_for(&path, IN_USE) {
                removed.add(&remove(&path)?);
            }
        }
    }
    Ok(())
}

fn untouched_for(path: &Path, age: Duration) -> bool {
    std::fs::symlink_metadata(path)
        .and_then(|metadata| metadata.modified())
        .ok()
        .and_then(|modified| SystemTime::now().duration_since(modified).ok())
        .is_some_and(|elapsed| elapsed >= age)
}

/// `bytes` as people read sizes: `812 B`, `3.4 KiB`, `52.3 MiB`, `1.2 GiB`.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_pyship_buckets_are_touched() {
        let root = tempfile::tempdir().unwrap();
        let cache = Cache {
            root: root.path().to_path_buf(),
        };
        let write = |path: &str, bytes: usize| {
            let path = root.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, vec![b'x'; bytes]).unwrap();
        };
        write("wheels-v1/ab/a-1.0-py3-none-any.whl", 100);
        write("wheels-v1/ab/.tmpXYZ", 7);
        write("wheels-v0/old.whl", 50);
        write("builds-v1/.tmpbuild/setup.py", 10);
        write("backup-v2/thesis.tex", 30);
        write("Documents/thesis.tex", 1);
        assert_eq!(
            usage(&cache)
                .into_iter()
                .map(|(name, usage)| (name, usage.bytes))
                .collect::<Vec<_>>(),
            [
                ("wheels-v1".to_string(), 107),
                ("builds-v1".to_string(), 10),
                ("wheels-v0".to_string(), 50)
            ]
        );
        // Fresh scratch may be a running build's: prune leaves it; the old layout goes.
        assert_eq!(
            prune(&cache).unwrap(),
            Usage {
                files: 1,
                bytes: 50
            }
        );
        assert!(root.path().join("builds-v1/.tmpbuild/setup.py").exists());
        assert_eq!(
            clean(&cache).unwrap(),
            Usage {
                files: 3,
                bytes: 117
            }
        );
        assert!(root.path().join("Documents/thesis.tex").exists());
        assert!(root.path().join("backup-v2/thesis.tex").exists());
        assert!(!root.path().join("wheels-v1").exists());
    }

    #[test]
    fn prune_removes_installed_trees_no_build_used_for_30_days() {
        let root = tempfile::tempdir().unwrap();
        let cache = Cache {
            root: root.path().to_path_buf(),
        };
        for (entry, age_days) in [("used", 1), ("unused", 31)] {
            let directory = cache.installed_dir().join(entry);
            std::fs::create_dir_all(directory.join("tree")).unwrap();
            std::fs::write(directory.join("tree/module.py"), "x = 1\n").unwrap();
            let marker = std::fs::File::create(directory.join("entry.json")).unwrap();
            let then = SystemTime::now() - Duration::from_secs(age_days * 24 * 3600);
            marker.set_modified(then).unwrap();
        }
        assert_eq!(prune(&cache).unwrap().files, 2);
        assert!(cache.installed_dir().join("used/tree/module.py").exists());
        assert!(!cache.installed_dir().join("unused").exists());
    }

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(human_bytes(812), "812 B");
        assert_eq!(human_bytes(3 * 1024 + 400), "3.4 KiB");
        assert_eq!(human_bytes(52 * 1024 * 1024 + 300 * 1024), "52.3 MiB");
    }
}
