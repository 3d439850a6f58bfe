//! Where distributions come from: find-links directories and simple indexes.
//!
//! The resolver asks two things: which files exist for a name ([`PackageIndex::files`]) and
//! what one file's metadata says ([`PackageIndex::metadata`]). Both are safe to call from many
//! threads at once (the resolver prefetches in parallel): concurrent callers of the same key
//! wait for one request instead of repeating it.
//!
//! Which source a name comes from: every find-links directory, plus the *first* index (in
//! configuration order) that has a page for the name. Later indexes are not consulted for that
//! name, so a package published under the same name on a public index cannot shadow a
//! private one (dependency confusion); this is uv's `first-index` rule.
//!
//! Metadata is read without the whole wheel where possible: `WHEEL_URL.metadata` (PEP 658,
//! tried even when not advertised), then HTTP range requests for the zip's central directory
//! and the METADATA member, then the whole wheel, downloaded into the cache for `fetch`.

mod html;
mod http;
mod names;
mod range;
mod simple;

pub use crate::credentials::{redact, scrub_credentials, strip_credentials};
use http::Page;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Arc, OnceLock};

use pep508_rs::PackageName;
use pep508_rs::pep440_rs::{Version, VersionSpecifiers};
use reqwest::Url;

use crate::cache::{self, Cache};
use crate::diagnostics::Diagnostic;
use crate::parallel::SingleFlight;
use crate::wheel::{Metadata, WheelFilename, parse_sdist_filename};

/// Why the index could not answer.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error("request to `{url}` failed")]
    Http {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("`{url}` did not answer within {seconds} s ({attempts} attempts)")]
    Timeout {
        url: String,
        seconds: u64,
        attempts: u32,
    },
    #[error("reading the answer of `{url}` failed")]
    Body {
        url: String,
        #[source]
        source: std::io::Error,
    },
    #[error("`{url}` sent more than pyship accepts for one answer")]
    TooLarge { url: String },
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
    #[error("the metadata of `{file}` cannot be read: {message}")]
    BadMetadata { file: String, message: String },
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
    #[error("the metadata of sdist `{file}` is dynamic: it must be built to be known")]
    DynamicMetadata { file: String },
    #[error("`{url}` is not a valid index page: {message}")]
    BadPage { url: String, message: String },
}

impl Diagnostic for IndexError {
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
            IndexError::Timeout { .. } => Some(
                "check the index URL and your network; `PYSHIP_HTTP_TIMEOUT=SECONDS` waits longer, `--offline` uses the cache and find-links only"
                    .into(),
            ),
            IndexError::Http { .. } | IndexError::Status { .. } | IndexError::Body { .. } => {
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
    /// A simple index (PEP 503 HTML or PEP 691 JSON), e.g. `https://pypi.org/simple/`.
    Simple(Url),
}

/// Where a file is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileLocation {
    Path(PathBuf),
    Url(Url),
}

/// One file a source offers: a wheel, or an sdist.
#[derive(Debug, Clone)]
pub struct DistFile {
    pub file_name: String,
    pub name: PackageName,
    pub version: Version,
    /// The wheel's tags; `None` for an sdist or a source tree.
    pub wheel: Option<WheelFilename>,
    /// A local source tree (`name @ file:///dir`), built rather than downloaded.
    pub directory: bool,
    pub location: FileLocation,
    /// The sha256 the index published, if it did.
    pub sha256: Option<String>,
    pub requires_python: Option<VersionSpecifiers>,
    pub yanked: bool,
    /// The index URL the file came from, for the lockfile's `index` key.
    pub index: Option<String>,
    pub size: Option<u64>,
    /// RFC 3339, when the index says (PEP 700).
    pub upload_time: Option<String>,
    /// The index says `FILE.metadata` exists (PEP 658/714).
    pub metadata_advertised: bool,
}

impl DistFile {
    /// A wheel or sdist at `location`, with nothing else known yet; `None` when the name is
    /// neither a wheel's nor an sdist's.
    pub fn new(file_name: &str, location: FileLocation) -> Option<DistFile> {
        let (name, version, wheel) = match WheelFilename::parse(file_name) {
            Some(wheel) => (wheel.name.clone(), wheel.version.clone(), Some(wheel)),
            None => {
                let (name, version) = parse_sdist_filename(file_name)?;
                (name, version, None)
            }
        };
        Some(DistFile::bare(
            file_name.to_string(),
            name,
            version,
            wheel,
            location,
        ))
    }

    /// A local source tree of `name` at `version` (known from its built metadata).
    pub fn source_tree(name: PackageName, version: Version, path: PathBuf) -> DistFile {
        let file_name = path
            .file_name()
            .map_or_else(|| name.to_string(), |n| n.to_string_lossy().into_owned());
        DistFile {
            directory: true,
            ..DistFile::bare(file_name, name, version, None, FileLocation::Path(path))
        }
    }

    /// A file with nothing known beyond its name, version, tags and location.
    fn bare(
        file_name: String,
        name: PackageName,
        version: Version,
        wheel: Option<WheelFilename>,
        location: FileLocation,
    ) -> DistFile {
        DistFile {
            file_name,
            name,
            version,
            wheel,
            directory: false,
            location,
            sha256: None,
            requires_python: None,
            yanked: false,
            index: None,
            size: None,
            upload_time: None,
            metadata_advertised: false,
        }
    }

    /// Whether this is an sdist.
    pub fn is_sdist(&self) -> bool {
        self.wheel.is_none() && !self.directory
    }
}

/// Every find-links file by name, read once; or the directory that could not be read.
type FindLinksScan = Result<HashMap<PackageName, Vec<DistFile>>, (PathBuf, String)>;

/// Files by name, from every source, with caches for pages and metadata.
pub struct PackageIndex {
    sources: Vec<Source>,
    cache: Cache,
    http: http::HttpClient,
    find_links: OnceLock<FindLinksScan>,
    pages: SingleFlight<PackageName, Arc<Vec<DistFile>>>,
    metadata: SingleFlight<String, Arc<Metadata>>,
}

impl PackageIndex {
    /// An index over `sources`, searched in order; with `offline`, indexes answer only from
    /// the cache.
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
        let index_hosts = sources
            .iter()
            .filter_map(|source| match source {
                Source::Simple(url) => url.host_str().map(str::to_string),
                Source::FindLinks(_) => None,
            })
            .collect();
        // Credentials in an index URL are kept apart and sent by host, so that page URLs,
        // file URLs, lock entries and cache records made from it never hold them.
        let mut index_credentials = Vec::new();
        let sources = sources
            .into_iter()
            .map(|source| match source {
                Source::Simple(url) if !url.username().is_empty() || url.password().is_some() => {
                    if let Some(authority) = http::host_and_port(&url) {
                        let login = simple::percent_decode(url.username());
                        let password = simple::percent_decode(url.password().unwrap_or_default());
                        index_credentials.push((authority, login, password));
                    }
                    Source::Simple(strip_credentials(&url))
                }
                other => other,
            })
            .collect();
        Ok(PackageIndex {
            sources,
            http: http::HttpClient::new(offline, cache.http_dir(), index_hosts, index_credentials),
            cache,
            find_links: OnceLock::new(),
            pages: SingleFlight::new(),
            metadata: SingleFlight::new(),
        })
    }

    /// Parses an index URL, adding the trailing slash simple-index pages are relative to.
    pub fn parse_index_url(url: &str) -> Result<Url, IndexError> {
        let with_slash = if url.ends_with('/') {
            url.to_string()
        } else {
            format!("{url}/")
        };
        Url::parse(&with_slash).map_err(|error| IndexError::BadUrl {
            url: scrub_credentials(url),
            message: error.to_string(),
        })
    }

    /// The request that has been waiting longest (redacted URL), and for how long.
    pub fn longest_wait(&self) -> Option<(String, std::time::Duration)> {
        self.http.longest_wait()
    }

    /// Whether indexes answer only from the cache (`--offline`).
    pub fn is_offline(&self) -> bool {
        self.http.is_offline()
    }

    /// The cache this index writes downloads to.
    pub fn cache(&self) -> &Cache {
        &self.cache
    }

    /// Every wheel offered for `name`: find-links first, then the first index with a page for
    /// the name. A file name seen earlier hides the same name later.
    pub fn files(&self, name: &PackageName) -> Result<Arc<Vec<DistFile>>, IndexError> {
        self.pages.get_or_try(name, || {
            let mut files = self.find_links_files(name)?;
            let mut seen: HashSet<String> = files.iter().map(|f| f.file_name.clone()).collect();
            for source in &self.sources {
                let Source::Simple(index) = source else {
                    continue;
                };
                match self.simple_files(index, name) {
                    Ok(Some(found)) => {
                        files.extend(
                            found
                                .into_iter()
                                .filter(|file| seen.insert(file.file_name.clone())),
                        );
                        break;
                    }
                    Ok(None) => {}
                    // Offline and never cached: as if the index did not have it.
                    Err(IndexError::Offline { .. }) => {}
                    Err(error) => return Err(error),
                }
            }
            Ok(Arc::new(files))
        })
    }

    fn find_links_files(&self, name: &PackageName) -> Result<Vec<DistFile>, IndexError> {
        let scanned = self.find_links.get_or_init(|| {
            let mut by_name: HashMap<PackageName, Vec<DistFile>> = HashMap::new();
            for source in &self.sources {
                let Source::FindLinks(directory) = source else {
                    continue;
                };
                let entries = std::fs::read_dir(directory)
                    .map_err(|error| (directory.clone(), error.to_string()))?;
                let mut paths: Vec<PathBuf> = entries
                    .filter_map(|entry| entry.ok().map(|entry| entry.path()))
                    .collect();
                paths.sort();
                for path in paths {
                    let Some(file_name) = path
                        .file_name()
                        .and_then(|n| n.to_str())
                        .map(str::to_string)
                    else {
                        continue;
                    };
                    let size = std::fs::metadata(&path).ok().map(|m| m.len());
                    let Some(file) = DistFile::new(&file_name, FileLocation::Path(path)) else {
                        continue;
                    };
                    by_name
                        .entry(file.name.clone())
                        .or_default()
                        .push(DistFile { size, ..file });
                }
            }
            Ok(by_name)
        });
        match scanned {
            Ok(by_name) => Ok(by_name.get(name).cloned().unwrap_or_default()),
            Err((directory, message)) => Err(IndexError::Io {
                path: directory.clone(),
                source: std::io::Error::other(message.clone()),
            }),
        }
    }

    /// Tells `trace` of every request it sends, and of what came back (`-vv`).
    pub fn with_trace(mut self, trace: http::Trace) -> PackageIndex {
        self.http.set_trace(trace);
        self
    }

    /// Where `name` was looked for and not found: each index page's URL with the HTTP status
    /// its server gave (`https://pypi.org/simpel/six/ (HTTP 404)`), for messages.
    pub fn where_missing(&self, name: &PackageName) -> Vec<String> {
        self.sources
            .iter()
            .filter_map(|source| match source {
                Source::Simple(index) => index.join(&format!("{name}/")).ok(),
                Source::FindLinks(_) => None,
            })
            .filter_map(|url| {
                self.http
                    .missing_status(&url)
                    .map(|status| format!("{} (HTTP {status})", redact(&url)))
            })
            .collect()
    }

    /// The known project name closest to `name` (a likely misspelling), from the
    /// find-links directories and the indexes' root pages; `None` when nothing is close or
    /// the names cannot be had (offline with nothing cached, say). For error messages only.
    pub fn closest_name(&self, name: &PackageName) -> Option<PackageName> {
        let mut known: Vec<String> = match self.find_links.get() {
            Some(Ok(by_name)) => by_name.keys().map(ToString::to_string).collect(),
            _ => Vec::new(),
        };
        for source in &self.sources {
            let Source::Simple(index) = source else {
                continue;
            };
            if let Ok(Some(Ok(names))) =
                self.http
                    .get_page(index, simple::ACCEPT, names::parse_root_page)
            {
                known.extend(names);
            }
        }
        names::closest(name, known.iter().map(String::as_str))
    }

    /// The index's files for `name`, or `None` when it has no page for it.
    fn simple_files(
        &self,
        index: &Url,
        name: &PackageName,
    ) -> Result<Option<Vec<DistFile>>, IndexError> {
        let page_url = index
            .join(&format!("{name}/"))
            .map_err(|error| IndexError::BadUrl {
                url: redact(index),
                message: error.to_string(),
            })?;
        let label = redact(index).trim_end_matches('/').to_string();
        let parse = |page: &Page| simple::parse_page(&page_url, page, &label, name);
        let Some(parsed) = self.http.get_page(&page_url, simple::ACCEPT, parse)? else {
            return Ok(None);
        };
        parsed.map(Some).map_err(|error| IndexError::BadPage {
            url: redact(&page_url),
            message: error.0,
        })
    }

    /// A file's metadata: from the local wheel, `.metadata`, byte ranges, or the whole wheel.
    pub fn metadata(&self, file: &DistFile) -> Result<Arc<Metadata>, IndexError> {
        let key = match &file.location {
            FileLocation::Path(path) => path.display().to_string(),
            FileLocation::Url(url) => url.to_string(),
        };
        self.metadata.get_or_try(&key, || {
            let text = match (&file.location, &file.wheel) {
                (FileLocation::Path(path), Some(wheel)) => read_wheel_metadata(path, wheel)?,
                (FileLocation::Url(url), Some(wheel)) => self.remote_metadata(file, url, wheel)?,
                (_, None) => self.sdist_metadata(file)?,
            };
            Metadata::parse(&text)
                .map(Arc::new)
                .map_err(|message| IndexError::BadMetadata {
                    file: file.file_name.clone(),
                    message,
                })
        })
    }

    /// PKG-INFO of an sdist, when its Requires-Dist is static (core metadata 2.2+ and not
    /// listed as `Dynamic`); otherwise only building can tell ([`IndexError::DynamicMetadata`]).
    fn sdist_metadata(&self, file: &DistFile) -> Result<String, IndexError> {
        let path = self.download(file)?;
        let text = crate::sdist_archive::read_pkg_info(&path)
            .map_err(|error| IndexError::BadWheel {
                file: file.file_name.clone(),
                message: error.to_string(),
            })?
            .ok_or_else(|| IndexError::DynamicMetadata {
                file: file.file_name.clone(),
            })?;
        if crate::wheel::Metadata::is_static(&text) {
            Ok(text)
        } else {
            Err(IndexError::DynamicMetadata {
                file: file.file_name.clone(),
            })
        }
    }

    fn remote_metadata(
        &self,
        file: &DistFile,
        url: &Url,
        wheel: &WheelFilename,
    ) -> Result<String, IndexError> {
        let cached = self.cache.metadata_path(url.as_str());
        if let Ok(text) = std::fs::read_to_string(&cached) {
            return Ok(text);
        }
        let text = self.fetch_metadata(file, url, wheel)?;
        // The cache is an optimization: a failed write must not fail the lock.
        let _ = cache::write_atomically(&cached, text.as_bytes());
        Ok(text)
    }

    fn fetch_metadata(
        &self,
        file: &DistFile,
        url: &Url,
        wheel: &WheelFilename,
    ) -> Result<String, IndexError> {
        let parses = |text: &str| Metadata::parse(text).is_ok();
        let by_range =
            || range::metadata_by_range(&self.http, url, wheel).filter(|text| parses(text));
        // An advertised `.metadata` is one small request. Unadvertised, it usually is not
        // there (a wasted round trip), so byte ranges of the wheel go first; some indexes serve
        // `.metadata` without saying so, which still beats downloading the whole wheel.
        if !file.metadata_advertised {
            if let Some(text) = by_range() {
                return Ok(text);
            }
        }
        let metadata_url =
            Url::parse(&format!("{url}.metadata")).map_err(|error| IndexError::BadUrl {
                url: redact(url),
                message: error.to_string(),
            })?;
        match self.http.get(&metadata_url) {
            Ok(Some(body)) => {
                let text = String::from_utf8_lossy(&body).into_owned();
                if parses(&text) {
                    return Ok(text);
                }
            }
            // No PEP 658 file: try the next way.
            Ok(None) | Err(IndexError::Status { .. }) => {}
            Err(error) => return Err(error),
        }
        if file.metadata_advertised {
            if let Some(text) = by_range() {
                return Ok(text);
            }
        }
        let path = self.download(file)?;
        read_wheel_metadata(&path, wheel)
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
        // A cached copy is used only when it still has the published hash (the cache may have
        // been tampered with); without one, whoever uses the file checks the lock's hash.
        if path.is_file() {
            match &file.sha256 {
                Some(expected) if cache::sha256_file(&path).ok().as_ref() != Some(expected) => {
                    let _ = std::fs::remove_file(&path);
                }
                _ => return Ok(path),
            }
        }
        let body = self.get(url)?.ok_or_else(|| IndexError::Status {
            url: redact(url),
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

    /// GETs `url` (no caching): `Ok(None)` on 404/410; retries transient failures.
    pub fn get(&self, url: &Url) -> Result<Option<Vec<u8>>, IndexError> {
        self.http.get(url)
    }

    /// [`Self::get`], telling `progress` the bytes received so far.
    pub fn get_with_progress(
        &self,
        url: &Url,
        progress: &dyn Fn(u64),
    ) -> Result<Option<Vec<u8>>, IndexError> {
        self.http.get_with_progress(url, progress)
    }
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
    let entry = archive
        .by_name(&entry_name)
        .map_err(|error| bad(error.to_string()))?;
    crate::limits::read_text_capped(entry, crate::limits::METADATA_FILE)
        .map_err(|error| bad(format!("unreadable METADATA: {error}")))
}

/// The file names [`simple::parse_page`] takes from a page body (for the fuzz tests).
#[cfg(test)]
pub fn parse_page_for_fuzzing(body: &str, json: bool) -> Vec<String> {
    let page = Page {
        body: body.as_bytes().to_vec(),
        content_type: if json {
            "application/vnd.pypi.simple.v1+json".into()
        } else {
            "text/html".into()
        },
    };
    let url = Url::parse("https://example.com/simple/a/").expect("a valid URL");
    let name = PackageName::from_str("a").expect("a valid name");
    simple::parse_page(&url, &page, "https://example.com/simple", &name)
        .map(|files| files.into_iter().map(|file| file.file_name).collect())
        .unwrap_or_default()
}
