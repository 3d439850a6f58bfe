//! The on-disk cache: content-addressed wheels and metadata, written atomically.
//!
//! Buckets carry a version (`wheels-v1`) so a layout change never reads old entries wrongly.
//! Every write goes to a temporary file in the destination directory and is renamed into
//! place, so concurrent or interrupted runs leave each entry complete or absent.

pub mod manage;

use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::env_vars;

/// The cache root and its buckets.
#[derive(Debug, Clone)]
pub struct Cache {
    root: PathBuf,
}

impl Cache {
    /// The cache from `PYSHIP_CACHE_DIR`, `XDG_CACHE_HOME/pyship` or `~/.cache/pyship`.
    pub fn from_env() -> Cache {
        let root = std::env::var_os(env_vars::PYSHIP_CACHE_DIR)
            .map(PathBuf::from)
            .or_else(|| {
                std::env::var_os("XDG_CACHE_HOME").map(|dir| PathBuf::from(dir).join("pyship"))
            })
            .or_else(|| {
                std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache/pyship"))
            })
            .unwrap_or_else(|| std::env::temp_dir().join("pyship-cache"));
        Cache { root }
    }

    /// The cache's root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where a wheel with this sha256 is kept.
    pub fn wheel_path(&self, sha256: &str, file_name: &str) -> PathBuf {
        self.root
            .join("wheels-v1")
            .join(component(&sha256.to_ascii_lowercase()))
            .join(component(file_name))
    }

    /// The HTTP cache of index pages.
    pub fn http_dir(&self) -> PathBuf {
        self.root.join("http-v1")
    }

    /// Where metadata fetched from `url` is kept.
    pub fn metadata_path(&self, url: &str) -> PathBuf {
        self.root
            .join("metadata-v1")
            .join(format!("{}.METADATA", sha256_hex(url.as_bytes())))
    }

    /// Scratch space for builds (on the cache's filesystem, so results can be renamed in).
    pub fn build_dir(&self) -> PathBuf {
        self.root.join("builds-v1")
    }

    /// Where the wheel built from the sdist with this sha256 for a target is kept.
    pub fn built_wheel_dir(&self, sha256: &str, target: &str) -> PathBuf {
        self.root
            .join("built-v1")
            .join(component(&sha256.to_ascii_lowercase()))
            .join(component(target))
    }

    /// Wheels installed (and byte-compiled) for one layout each, linked into staged trees.
    pub fn installed_dir(&self) -> PathBuf {
        self.root.join("installed-v1")
    }

    /// Where whole wheels downloaded only to be hashed or read are kept, by URL.
    pub fn download_path(&self, url: &str, file_name: &str) -> PathBuf {
        self.root
            .join("downloads-v1")
            .join(sha256_hex(url.as_bytes()))
            .join(component(file_name))
    }
}

/// `value` as one path component: itself when it is a plain file name, else its hash. Callers
/// validate names where they read them, with errors that say where; this is the last line of
/// defence, so that no value can make a cache path leave the cache.
fn component(value: &str) -> String {
    if crate::wheel::is_plain_file_name(value) {
        value.to_string()
    } else {
        sha256_hex(value.as_bytes())
    }
}

/// Writes `contents` to `path` through a temporary file in the same directory.
pub fn write_atomically(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let directory = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(directory)?;
    let mut temporary = tempfile::NamedTempFile::new_in(directory)?;
    temporary.write_all(contents)?;
    temporary.as_file().sync_all()?;
    temporary.persist(path).map_err(|error| error.error)?;
    Ok(())
}

/// Lowercase hex sha256 of bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    pyship_plugin::hex(&Sha256::digest(bytes))
}

/// Lowercase hex sha256 of a file, streamed.
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher)?;
    Ok(pyship_plugin::hex(&hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_keys_stay_inside_the_cache() {
        let cache = Cache {
            root: PathBuf::from("/c"),
        };
        for path in [
            cache.wheel_path("../../x", "/tmp/evil.whl"),
            cache.wheel_path(&"a".repeat(64), "../../evil.whl"),
            cache.built_wheel_dir("..", "../t"),
            cache.download_path("u", "a/../../b"),
        ] {
            assert!(
                path.components().all(|c| matches!(
                    c,
                    std::path::Component::Normal(_) | std::path::Component::RootDir
                )),
                "{}",
                path.display()
            );
        }
    }
}
