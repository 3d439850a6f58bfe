//! Where distributions come from: find-links directories and PEP 503 simple indexes.
//!
//! The resolver asks two things: which files exist for a name ([`PackageIndex::files`]) and
//! what one file's metadata says ([`PackageIndex::metadata`]). Metadata is read without the
//! whole wheel where the index allows: the PEP 658 `WHEEL_URL.metadata` file is tried first
//! (many indexes serve it without advertising it), then the wheel is downloaded into the cache,
//! where `pyship fetch` finds it again.

mod html;

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use pep508_rs::PackageName;
use pep508_rs::pep440_rs::VersionSpecifiers;
use reqwest::Url;

use crate::cache::{self, Cache};
use crate::diagnostics::Hint;
use crate::wheel::{Metadata, WheelFilename};

/// Why the index could not answer.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error("request to `{url}` failed")]
    Http {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("`{url}` answered HTTP {status}")]
    Status { url: String, status: u16 },
    #[error("find-links directory `{}` does not exist", path.display())]
    MissingFindLinks { path: PathBuf },
    #[error("failed to read `{}`", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("`{file}` is not a valid wheel: {message}")]
    BadWheel { file: String, message: String },
    #[error("hash mismatch for `{file}`: expected sha256 {expected}, got {actual}")]
    HashMismatch {
        file: String,
        expected: String,
        actual: String,
    },
    #[error("`{url}` is needed, but the network is off (`--offline`)")]
    Offline { url: String },
    #[error("invalid index URL `{url}`: {message}")]
    BadUrl { url: String, message: String },
}

impl Hint for IndexError {
    fn hint(&self) -> Option<String> {
        match self {
            IndexError::MissingFindLinks { .. } => Some(
                "create the directory and put the wheels there, or fix `find-links` in `[tool.pyship]`"
                    .into(),
            ),
            IndexError::Offline { .. } => Some(
                "run without `--offline` once to fill the cache, or add the wheels to a `find-links` directory"
                    .into(),
            ),
            IndexError::HashMismatch { .. } => Some(
                "the file changed since it was locked or the download was corrupted; re-run `pyship lock` if the change is expected"
                    .into(),
            ),
            IndexError::Http { .. } | IndexError::Status { .. } => {
                Some("check the index URL and your network, or use `--offline` with a wheelhouse".into())
            }
            _ => None,
        }
    }
}

/// A place distributions are found.
#[derive(Debug, Clone)]
pub enum Source {
    /// A local directory of wheels.
    FindLinks(PathBuf),
    /// A PEP 503 simple index, e.g. `https://pypi.org/simple/`.
    Simple(Url),
}

/// Where a file is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileLocation {
    Path(PathBuf),
    Url(Url),
}

/// One wheel a source offers.
#[derive(Debug, Clone)]
pub struct DistFile {
    pub file_name: String,
    pub wheel: WheelFilename,
    pub location: FileLocation,
    /// The sha256 the index published, if it did (always known for local files once read).
    pub sha256: Option<String>,
    pub requires_python: Option<VersionSpecifiers>,
    pub yanked: bool,
    /// The index URL the file came from, for the lockfile's `index` key.
    pub index: Option<String>,
}

/// Files by name, from every source, with caches for pages and metadata.
pub struct PackageIndex {
    sources: Vec<Source>,
    offline: bool,
    cache: Cache,
    client: OnceLock<reqwest::blocking::Client>,
    find_links: OnceLock<Result<HashMap<PackageName, Vec<DistFile>>, String>>,
    pages: Mutex<HashMap<PackageName, Arc<Vec<DistFile>>>>,
}

impl PackageIndex {
    /// An index over `sources`, searched in order; with `offline`, simple indexes are skipped.
    pub fn new(
        sources: Vec<Source>,
        offline: bool,
        cache: Cache,
    ) -> Result<PackageIndex, IndexError> {
        for source in &sources {
            if let Source::FindLinks(path) = source {
                if !path.is_dir() {
                    return Err(IndexError::MissingFindLinks { path: path.clone() });
                }
            }
        }
        Ok(PackageIndex {
            sources,
            offline,
            cache,
            client: OnceLock::new(),
            find_links: OnceLock::new(),
            pages: Mutex::new(HashMap::new()),
        })
    }

    /// Parses an index URL, adding the trailing slash PEP 503 pages are relative to.
    pub fn parse_index_url(url: &str) -> Result<Url, IndexError> {
        let with_slash = if url.ends_with('/') {
            url.to_string()
        } else {
            format!("{url}/")
        };
        Url::parse(&with_slash).map_err(|error| IndexError::BadUrl {
            url: url.to_string(),
            message: error.to_string(),
        })
    }

    /// Whether indexes are skipped (`--offline`).
    pub fn is_offline(&self) -> bool {
        self.offline
    }

    /// The cache this index writes downloads to.
    pub fn cache(&self) -> &Cache {
        &self.cache
    }

    /// Every wheel offered for `name`, find-links first, then indexes in order; a file name
    /// seen in an earlier source hides the same name in later ones.
    pub fn files(&self, name: &PackageName) -> Result<Arc<Vec<DistFile>>, IndexError> {
        if let Some(files) = self.lock_pages().get(name) {
            return Ok(files.clone());
        }
        let mut files: Vec<DistFile> = Vec::new();
        for source in &self.sources {
            let found = match source {
                Source::FindLinks(_) => self.find_links_files(name)?,
                Source::Simple(url) if !self.offline => self.simple_files(url, name)?,
                Source::Simple(_) => Vec::new(),
            };
            for file in found {
                if !files.iter().any(|seen| seen.file_name == file.file_name) {
                    files.push(file);
                }
            }
        }
        let files = Arc::new(files);
        self.lock_pages().insert(name.clone(), files.clone());
        Ok(files)
    }

    fn lock_pages(&self) -> std::sync::MutexGuard<'_, HashMap<PackageName, Arc<Vec<DistFile>>>> {
        // A panic while holding the lock cannot leave the map half-updated: recover it.
        self.pages
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn find_links_files(&self, name: &PackageName) -> Result<Vec<DistFile>, IndexError> {
        let scanned = self.find_links.get_or_init(|| {
            let mut by_name: HashMap<PackageName, Vec<DistFile>> = HashMap::new();
            for source in &self.sources {
                let Source::FindLinks(directory) = source else {
                    continue;
                };
                let entries = std::fs::read_dir(directory)
                    .map_err(|error| format!("{}: {error}", directory.display()))?;
                let mut names: Vec<PathBuf> = entries
                    .filter_map(|entry| entry.ok().map(|entry| entry.path()))
                    .collect();
                names.sort();
                for path in names {
                    let Some(file_name) = path.file_name().and_then(|n| n.to_str()) else {
                        continue;
                    };
                    let Some(wheel) = WheelFilename::parse(file_name) else {
                        continue;
                    };
                    by_name
                        .entry(wheel.name.clone())
                        .or_default()
                        .push(DistFile {
                            file_name: file_name.to_string(),
                            wheel,
                            location: FileLocation::Path(path.clone()),
                            sha256: None,
                            requires_python: None,
                            yanked: false,
                            index: None,
                        });
                }
            }
            Ok(by_name)
        });
        match scanned {
            Ok(by_name) => Ok(by_name.get(name).cloned().unwrap_or_default()),
            Err(message) => Err(IndexError::Io {
                path: PathBuf::from(message),
                source: std::io::Error::other("cannot list directory"),
            }),
        }
    }

    fn simple_files(&self, index: &Url, name: &PackageName) -> Result<Vec<DistFile>, IndexError> {
        let page_url = index
            .join(&format!("{name}/"))
            .map_err(|error| IndexError::BadUrl {
                url: index.to_string(),
                message: error.to_string(),
            })?;
        let Some(body) = self.get(&page_url)? else {
            return Ok(Vec::new());
        };
        let html = String::from_utf8_lossy(&body);
        let mut files = Vec::new();
        for anchor in html::parse_anchors(&html) {
            let Ok(mut url) = page_url.join(&anchor.href) else {
                continue;
            };
            let sha256 = url
                .fragment()
                .and_then(|fragment| fragment.strip_prefix("sha256="))
                .map(str::to_ascii_lowercase);
            url.set_fragment(None);
            let file_name = url
                .path_segments()
                .and_then(|mut segments| segments.next_back())
                .map(percent_decode)
                .unwrap_or_else(|| anchor.text.clone());
            let Some(wheel) = WheelFilename::parse(&file_name) else {
                continue;
            };
            let requires_python = anchor
                .requires_python
                .as_deref()
                .and_then(|text| VersionSpecifiers::from_str(text).ok());
            files.push(DistFile {
                file_name,
                wheel,
                location: FileLocation::Url(url),
                sha256,
                requires_python,
                yanked: anchor.yanked,
                index: Some(index.as_str().trim_end_matches('/').to_string()),
            });
        }
        Ok(files)
    }

    /// A file's metadata: from the local wheel, the `.metadata` file, or the whole wheel.
    pub fn metadata(&self, file: &DistFile) -> Result<Metadata, IndexError> {
        let text = match &file.location {
            FileLocation::Path(path) => read_wheel_metadata(path, &file.wheel)?,
            FileLocation::Url(url) => self.remote_metadata(file, url)?,
        };
        Metadata::parse(&text).map_err(|message| IndexError::BadWheel {
            file: file.file_name.clone(),
            message,
        })
    }

    fn remote_metadata(&self, file: &DistFile, url: &Url) -> Result<String, IndexError> {
        let cached = self.cache.metadata_path(url.as_str());
        if let Ok(text) = std::fs::read_to_string(&cached) {
            return Ok(text);
        }
        let metadata_url =
            Url::parse(&format!("{url}.metadata")).map_err(|error| IndexError::BadUrl {
                url: url.to_string(),
                message: error.to_string(),
            })?;
        let text = match self.get(&metadata_url) {
            Ok(Some(body)) if Metadata::parse(&String::from_utf8_lossy(&body)).is_ok() => {
                String::from_utf8_lossy(&body).into_owned()
            }
            // No PEP 658 file (or a broken one): read METADATA out of the whole wheel.
            Ok(_) | Err(IndexError::Status { .. }) => {
                let path = self.download(file)?;
                read_wheel_metadata(&path, &file.wheel)?
            }
            Err(error) => return Err(error),
        };
        cache::write_atomically(&cached, text.as_bytes()).map_err(|source| IndexError::Io {
            path: cached,
            source,
        })?;
        Ok(text)
    }

    /// The file's sha256: published by the index, or computed from the file itself.
    pub fn sha256(&self, file: &DistFile) -> Result<String, IndexError> {
        if let Some(sha256) = &file.sha256 {
            return Ok(sha256.clone());
        }
        let path = match &file.location {
            FileLocation::Path(path) => path.clone(),
            FileLocation::Url(_) => self.download(file)?,
        };
        cache::sha256_file(&path).map_err(|source| IndexError::Io { path, source })
    }

    /// Downloads a remote wheel into the cache (once), checking the published hash.
    pub fn download(&self, file: &DistFile) -> Result<PathBuf, IndexError> {
        let url = match &file.location {
            FileLocation::Path(path) => return Ok(path.clone()),
            FileLocation::Url(url) => url,
        };
        let path = self.cache.download_path(url.as_str(), &file.file_name);
        if path.is_file() {
            return Ok(path);
        }
        let body = self.get(url)?.ok_or_else(|| IndexError::Status {
            url: url.to_string(),
            status: 404,
        })?;
        if let Some(expected) = &file.sha256 {
            let actual = cache::sha256_hex(&body);
            if &actual != expected {
                return Err(IndexError::HashMismatch {
                    file: file.file_name.clone(),
                    expected: expected.clone(),
                    actual,
                });
            }
        }
        cache::write_atomically(&path, &body).map_err(|source| IndexError::Io {
            path: path.clone(),
            source,
        })?;
        Ok(path)
    }

    /// GETs `url`: `Ok(None)` on 404/410, retrying connection failures and 5xx answers.
    pub fn get(&self, url: &Url) -> Result<Option<Vec<u8>>, IndexError> {
        if self.offline {
            return Err(IndexError::Offline {
                url: url.to_string(),
            });
        }
        let client = self.client.get_or_init(|| {
            reqwest::blocking::Client::builder()
                .user_agent(concat!("pyship/", env!("CARGO_PKG_VERSION")))
                .connect_timeout(Duration::from_secs(10))
                .timeout(Duration::from_secs(300))
                .build()
                // Building a client fails only when the TLS backend cannot initialize.
                .unwrap_or_else(|_| reqwest::blocking::Client::new())
        });
        let mut attempt = 0;
        loop {
            attempt += 1;
            let result = client.get(url.clone()).send().and_then(|response| {
                let status = response.status();
                response.bytes().map(|body| (status, body))
            });
            match result {
                Ok((status, body)) if status.is_success() => return Ok(Some(body.to_vec())),
                Ok((status, _)) if status.as_u16() == 404 || status.as_u16() == 410 => {
                    return Ok(None);
                }
                Ok((status, _)) if status.is_server_error() && attempt < 3 => {}
                Ok((status, _)) => {
                    return Err(IndexError::Status {
                        url: redact(url),
                        status: status.as_u16(),
                    });
                }
                Err(error)
                    if attempt < 3
                        && (error.is_connect() || error.is_timeout() || error.is_body()) => {}
                Err(source) => {
                    return Err(IndexError::Http {
                        url: redact(url),
                        source: source.without_url(),
                    });
                }
            }
            std::thread::sleep(Duration::from_millis(200 * 4u64.pow(attempt - 1)));
        }
    }
}

/// A URL with any password removed, for messages.
fn redact(url: &Url) -> String {
    let mut url = url.clone();
    if url.password().is_some() {
        let _ = url.set_password(Some("****"));
    }
    url.to_string()
}

/// `%2B` → `+` in a path segment.
fn percent_decode(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' && index + 2 < bytes.len() {
            let digits = std::str::from_utf8(&bytes[index + 1..index + 3]).unwrap_or("");
            if let Ok(value) = u8::from_str_radix(digits, 16) {
                out.push(value);
                index += 3;
                continue;
            }
        }
        out.push(bytes[index]);
        index += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Reads `NAME-VERSION.dist-info/METADATA` out of a wheel file.
pub fn read_wheel_metadata(path: &Path, wheel: &WheelFilename) -> Result<String, IndexError> {
    let bad = |message: String| IndexError::BadWheel {
        file: path.display().to_string(),
        message,
    };
    let file = std::fs::File::open(path).map_err(|source| IndexError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut archive = zip::ZipArchive::new(file).map_err(|error| bad(error.to_string()))?;
    let entry_name = archive
        .file_names()
        .filter(|name| name.ends_with(".dist-info/METADATA") && name.matches('/').count() == 1)
        .find(|name| {
            let directory = name.trim_end_matches(".dist-info/METADATA");
            directory
                .rsplit_once('-')
                .and_then(|(dist, _)| PackageName::from_str(dist).ok())
                .is_some_and(|dist| dist == wheel.name)
        })
        .map(str::to_string)
        .ok_or_else(|| bad("no `.dist-info/METADATA` for this name".into()))?;
    let mut text = String::new();
    archive
        .by_name(&entry_name)
        .map_err(|error| bad(error.to_string()))?
        .read_to_string(&mut text)
        .map_err(|error| bad(format!("unreadable METADATA: {error}")))?;
    Ok(text)
}
