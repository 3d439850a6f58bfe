//! Getting locked wheels onto disk, hash-checked, downloads in parallel.
//!
//! Local wheels (a vendored wheelhouse) are checked where they are. Remote wheels go into the
//! content-addressed cache (`wheels-v1/SHA256/FILE`): a wheel already there is not fetched
//! again, and one downloaded while locking is moved in after its hash is checked.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use reqwest::Url;

use crate::cache::{self, Cache};
use crate::index::{IndexError, PackageIndex, redact};
use crate::lockfile::InstallItem;

/// How many downloads run at once.
const PARALLEL_DOWNLOADS: usize = 8;

/// Why a locked wheel could not be fetched.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("`{}` (locked for `{package}`) does not exist", path.display())]
    Missing { package: String, path: PathBuf },
    /// `actual` only for a download: the digest of a file on this machine is never printed
    /// (a lock could name any file to learn its digest).
    #[error(
        "hash mismatch for `{package}` (`{file}`): the lock says sha256 {expected}{}",
        .actual.as_ref().map_or_else(|| ", the file has another".to_string(), |actual| format!(", the download has {actual}"))
    )]
    HashMismatch {
        package: String,
        file: String,
        expected: String,
        actual: Option<String>,
    },
    #[error("`{}` (locked for `{package}`) {why}", path.display())]
    NotARegularFile {
        package: String,
        path: PathBuf,
        why: String,
    },
    #[error("failed to fetch `{package}`")]
    Index {
        package: String,
        #[source]
        source: IndexError,
    },
    #[error("`{package}` has an invalid URL `{url}`")]
    BadUrl { package: String, url: String },
}

impl crate::diagnostics::Diagnostic for FetchError {
    fn hint(&self) -> Option<String> {
        match self {
            FetchError::HashMismatch { .. } => Some(
                "the file changed since it was locked (a tampered cache, a changed wheelhouse or a corrupted download); run without `--offline` to fetch it again, or re-run `pyship lock` if the change is expected"
                    .into(),
            ),
            FetchError::Missing { .. } => Some("run `pyship fetch` (without `--offline`)".into()),
            _ => None,
        }
    }
}

/// Told about bytes and files as they arrive (progress display); called from worker threads.
/// Counted in bytes of the items' locked sizes: each item's bytes are told once, as they
/// download or, for a file already on disk, all at once when it is checked.
pub trait FetchReporter: Sync {
    /// `bytes` more of the locked files are on disk.
    fn on_bytes(&self, bytes: u64);
    /// `name` (a package) is on disk.
    fn on_fetched(&self, name: &str);
}

/// The sum of the items' locked sizes, the total that [`FetchReporter::on_bytes`] counts to;
/// unknown when a file to download has no size in the lock (an index without PEP 700 sizes).
/// Local files without one count nothing.
pub fn total_size(items: &[InstallItem]) -> Option<u64> {
    items
        .iter()
        .map(|item| match (item.file.size, &item.file.url) {
            (Some(size), _) => Some(size),
            (None, Some(_)) => None,
            (None, None) => Some(0),
        })
        .sum()
}

/// A locked wheel on disk.
#[derive(Debug, Clone)]
pub struct FetchedWheel {
    pub item: InstallItem,
    pub path: PathBuf,
    /// Whether it had to be downloaded in this run.
    pub downloaded: bool,
    /// Whether a cached copy failed its hash check and was replaced by a new download.
    pub repaired: bool,
}

/// Fetches every item; `lock_dir` anchors relative paths. Results keep the items' order.
pub fn fetch_all(
    items: &[InstallItem],
    lock_dir: &Path,
    index: &PackageIndex,
    reporter: &dyn FetchReporter,
) -> Result<Vec<FetchedWheel>, FetchError> {
    let results = crate::parallel::map(items, PARALLEL_DOWNLOADS, |item| {
        let size = item.file.size;
        // The most bytes told for this item: a retried download starts from 0 again, and
        // tells nothing until it passes what the failed attempt had told. Never more than
        // the locked size: a longer body fails its hash check anyway.
        let told = AtomicU64::new(0);
        let progress = |so_far: u64| {
            let so_far = size.map_or(so_far, |size| so_far.min(size));
            let before = told.fetch_max(so_far, Ordering::Relaxed);
            if so_far > before {
                reporter.on_bytes(so_far - before);
            }
        };
        let result = fetch_one(item, lock_dir, index, &progress);
        if let Some(size) = size {
            reporter.on_bytes(size.saturating_sub(told.load(Ordering::Relaxed)));
        }
        reporter.on_fetched(&item.package.name);
        result
    });
    // Report the first error in lock order.
    results.into_iter().collect()
}

fn fetch_one(
    item: &InstallItem,
    lock_dir: &Path,
    index: &PackageIndex,
    progress: &dyn Fn(u64),
) -> Result<FetchedWheel, FetchError> {
    let package = &item.package.name;
    let wheel = &item.file;
    let fetched = |path: PathBuf, downloaded: bool, repaired: bool| FetchedWheel {
        item: item.clone(),
        path,
        downloaded,
        repaired,
    };
    let check = |path: &Path| check_hash(package, &wheel.sha256, wheel.size, path);
    if let Some(path) = &wheel.path {
        let path = lock_dir.join(path);
        // A source tree has no hash: it is built from what is on disk now.
        if !item.is_source_tree() {
            check(&path)?;
        }
        return Ok(fetched(path, false, false));
    }
    let url = wheel.url.as_deref().unwrap_or_default();
    let cache: &Cache = index.cache();
    let cached = cache.wheel_path(&wheel.sha256, &wheel.name);
    // The cache is not trusted: anything with write access to it could have replaced a file
    // since it was stored, so it is hashed again on every use (about 1 s per GB). A bad entry
    // is removed and fetched again when the network is on.
    let mut repaired = false;
    if cached.is_file() {
        match check(&cached) {
            Ok(()) => return Ok(fetched(cached, false, false)),
            Err(FetchError::HashMismatch { .. }) if !index.is_offline() => {
                let _ = std::fs::remove_file(&cached);
                repaired = true;
            }
            Err(error) => return Err(error),
        }
    }
    // Downloaded while locking (to read its metadata or hash)? Check it and move it in.
    let downloaded = cache.download_path(url, &wheel.name);
    if downloaded.is_file() {
        if check(&downloaded).is_ok() {
            if let Some(parent) = cached.parent() {
                let _ = std::fs::create_dir_all(parent);
            }
            if std::fs::rename(&downloaded, &cached).is_ok() && check(&cached).is_ok() {
                return Ok(fetched(cached, false, repaired));
            }
        } else {
            let _ = std::fs::remove_file(&downloaded);
        }
    }
    let parsed = Url::parse(url).map_err(|_| FetchError::BadUrl {
        package: package.clone(),
        url: url.to_string(),
    })?;
    let index_error = |source| FetchError::Index {
        package: package.clone(),
        source,
    };
    let body = index
        .get_with_progress(&parsed, progress)
        .map_err(index_error)?
        .ok_or_else(|| {
            index_error(IndexError::Status {
                url: redact(&parsed),
                status: 404,
            })
        })?;
    let actual = cache::sha256_hex(&body);
    if actual != wheel.sha256 {
        return Err(FetchError::HashMismatch {
            package: package.clone(),
            file: redact(&parsed),
            expected: wheel.sha256.clone(),
            actual: Some(actual),
        });
    }
    cache::write_atomically(&cached, &body).map_err(|source| {
        index_error(IndexError::Io {
            path: cached.clone(),
            source,
        })
    })?;
    Ok(fetched(cached, true, repaired))
}

/// Checks that the file at `path` is a regular file of at most the locked size (any archive
/// limit when the lock gives none) with the locked sha256. A lock is input like any other: a
/// `path` naming `/dev/zero` or a FIFO must not hang the build, and a wrong hash must not
/// print the digest of a file of this machine.
pub fn check_hash(
    package: &str,
    expected: &str,
    size: Option<u64>,
    path: &Path,
) -> Result<(), FetchError> {
    let missing = || FetchError::Missing {
        package: package.to_string(),
        path: path.to_path_buf(),
    };
    let metadata = std::fs::metadata(path).map_err(|_| missing())?;
    let limit = crate::limits::max_unpacked_size();
    let why = if !metadata.is_file() {
        Some("is not a regular file; a lock names wheel and sdist files only".to_string())
    } else if metadata.len() > limit {
        Some(format!(
            "is larger than {limit} bytes (PYSHIP_MAX_UNPACKED_SIZE)"
        ))
    } else {
        None
    };
    if let Some(why) = why {
        return Err(FetchError::NotARegularFile {
            package: package.to_string(),
            path: path.to_path_buf(),
            why,
        });
    }
    // A file of another size than the locked one cannot have the locked hash: not read.
    let other_size = size.is_some_and(|size| size != metadata.len());
    if other_size || cache::sha256_file(path).map_err(|_| missing())? != expected {
        return Err(FetchError::HashMismatch {
            package: package.to_string(),
            file: path.display().to_string(),
            expected: expected.to_string(),
            actual: None,
        });
    }
    Ok(())
}
