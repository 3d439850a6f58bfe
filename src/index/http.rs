//! HTTP for indexes: one client, retries with backoff, credentials, and an on-disk cache.
//!
//! Index pages are cached under `http-v1/` with their validators. A page younger than its
//! `Cache-Control: max-age` is used without a request; an older one is revalidated with
//! `If-None-Match`/`If-Modified-Since` (a 304 costs one round trip and no body). `no-store`
//! pages are not written. With `--offline`, any cached page is used, however old. Entries are
//! written body first, then metadata, each atomically, so concurrent runs only ever see whole
//! entries.
//!
//! Credentials come from the URL (`https://user:pass@host/simple`) or `~/.netrc`, and are never
//! printed: every URL in a message goes through [`redact`].

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use reqwest::Url;
use reqwest::header::{
    ACCEPT, CACHE_CONTROL, CONTENT_TYPE, ETAG, HeaderMap, IF_MODIFIED_SINCE, IF_NONE_MATCH,
    LAST_MODIFIED, RANGE,
};
use serde::{Deserialize, Serialize};

use super::IndexError;
use crate::cache::{self, sha256_hex};
use crate::credentials::{redact, strip_credentials};

/// How many times a request is tried before its error is reported.
const ATTEMPTS: u32 = 3;

/// Freshness given to a page whose server sends neither `Cache-Control` nor validators:
/// PyPI's own `max-age` for simple pages. Mirrors and proxies often strip the headers; without
/// this, every lock would download every page again. `PYSHIP_PAGE_TTL` (seconds) overrides it,
/// and 0 makes every run ask again.
const HEURISTIC_MAX_AGE: u64 = 600;

/// Seconds to wait for a connection, for an answer's headers and for each read of its body,
/// unless `PYSHIP_HTTP_TIMEOUT` says otherwise (uv's default, too). A server that never
/// answers costs at most `ATTEMPTS` times this, plus backoff, before the error names it.
const DEFAULT_TIMEOUT_SECONDS: u64 = 30;

/// The most an index page or metadata file may hold; a longer answer is refused.
const MAX_PAGE_BYTES: u64 = 512 * 1024 * 1024;

/// The per-operation timeout.
pub fn timeout() -> Duration {
    Duration::from_secs(
        std::env::var(crate::env_vars::PYSHIP_HTTP_TIMEOUT)
            .ok()
            .and_then(|value| value.trim().parse().ok())
            .filter(|seconds| *seconds > 0)
            .unwrap_or(DEFAULT_TIMEOUT_SECONDS),
    )
}

/// A response body and its content type.
#[derive(Debug, Clone)]
pub struct Page {
    pub body: Vec<u8>,
    pub content_type: String,
}

/// What the cache keeps next to a body.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct CachePolicy {
    url: String,
    content_type: String,
    etag: Option<String>,
    last_modified: Option<String>,
    /// Seconds since the epoch when the body was stored or last revalidated.
    stored: u64,
    /// `max-age`, or 0 when the page must be revalidated every time.
    max_age: u64,
}

/// The HTTP client every index request goes through.
pub struct HttpClient {
    offline: bool,
    cache_dir: PathBuf,
    /// Hosts of the configured indexes: the only ones environment credentials are sent to.
    index_hosts: Vec<String>,
    /// Credentials written into index URLs, by `host:port`, taken out of the URLs so that no
    /// URL derived from an index page carries them.
    index_credentials: Vec<(String, String, String)>,
    client: OnceLock<reqwest::blocking::Client>,
    netrc: OnceLock<Vec<NetrcEntry>>,
    /// Requests under way, by id: when each started and its URL (redacted), so a progress
    /// display can say what is being waited for.
    in_flight: Mutex<HashMap<u64, (Instant, String)>>,
    next_id: AtomicU64,
    /// Pages the servers said they do not have (404, 410), by URL (redacted), with the
    /// status: for messages that say where a package was looked for.
    missing: Mutex<HashMap<String, u16>>,
    /// Told every request and its answer (`-vv`).
    trace: Option<Trace>,
}

/// Where requests are told (`GET URL`, `200 URL (N bytes, Ms)`), for `-vv`.
pub type Trace = std::sync::Arc<dyn Fn(&str) + Send + Sync>;

#[derive(Debug, Clone)]
struct NetrcEntry {
    machine: Option<String>,
    login: String,
    password: String,
}

impl HttpClient {
    /// A client caching under `cache_dir`; with `offline`, it never touches the network.
    pub fn new(
        offline: bool,
        cache_dir: PathBuf,
        index_hosts: Vec<String>,
        index_credentials: Vec<(String, String, String)>,
    ) -> HttpClient {
        HttpClient {
            offline,
            cache_dir,
            index_hosts,
            index_credentials,
            client: OnceLock::new(),
            netrc: OnceLock::new(),
            in_flight: Mutex::new(HashMap::new()),
            missing: Mutex::new(HashMap::new()),
            trace: None,
            next_id: AtomicU64::new(0),
        }
    }

    /// The request that has been waiting longest, and for how long.
    pub fn longest_wait(&self) -> Option<(String, Duration)> {
        let in_flight = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
        in_flight
            .values()
            .min_by_key(|(started, _)| *started)
            .map(|(started, url)| (url.clone(), started.elapsed()))
    }

    /// Whether requests are refused.
    pub fn is_offline(&self) -> bool {
        self.offline
    }

    fn client(&self) -> &reqwest::blocking::Client {
        self.client.get_or_init(|| {
            reqwest::blocking::Client::builder()
                .user_agent(concat!("pyship/", env!("CARGO_PKG_VERSION")))
                // Per operation: the headers, then each read of the body (a slow download
                // that keeps moving is fine; a silent server is not).
                .connect_timeout(timeout())
                .timeout(timeout())
                .pool_max_idle_per_host(16)
                .build()
                // Building fails only when the TLS backend cannot start; the default client
                // then reports the same problem on first use, with the URL.
                .unwrap_or_else(|_| reqwest::blocking::Client::new())
        })
    }

    /// GETs an index page through the cache and parses it: `Ok(None)` when the server has no
    /// such page. A cached body that does not parse is a miss, fetched again, so a corrupt
    /// cache entry never breaks a lock; a page from the server that does not parse is the
    /// parser's error.
    pub fn get_page<T, E>(
        &self,
        url: &Url,
        accept: &str,
        parse: impl Fn(&Page) -> Result<T, E>,
    ) -> Result<Option<Result<T, E>>, IndexError> {
        let key = sha256_hex(url.as_str().as_bytes());
        let body_path = self.cache_dir.join(format!("{key}.body"));
        let policy_path = self.cache_dir.join(format!("{key}.json"));
        let mut cached = read_cached(&policy_path, &body_path);
        if let Some((policy, page)) = &cached {
            if self.offline || now().saturating_sub(policy.stored) < policy.max_age {
                match parse(page) {
                    Ok(value) => return Ok(Some(Ok(value))),
                    Err(_) => cached = None,
                }
            }
        }
        if self.offline {
            return Err(IndexError::Offline { url: redact(url) });
        }
        let mut headers = HeaderMap::new();
        if let Ok(value) = accept.parse() {
            headers.insert(ACCEPT, value);
        }
        let plain_headers = headers.clone();
        if let Some((policy, _)) = &cached {
            if let Some(etag) = policy.etag.as_deref().and_then(|v| v.parse().ok()) {
                headers.insert(IF_NONE_MATCH, etag);
            }
            if let Some(date) = policy.last_modified.as_deref().and_then(|v| v.parse().ok()) {
                headers.insert(IF_MODIFIED_SINCE, date);
            }
        }
        let mut response = self.send(url, headers, MAX_PAGE_BYTES)?;
        if response.status.as_u16() == 304 {
            if let Some((mut policy, page)) = cached {
                if let Ok(value) = parse(&page) {
                    policy.stored = now();
                    policy.max_age = max_age(&response.headers).unwrap_or(policy.max_age);
                    write_policy(&policy_path, &policy);
                    return Ok(Some(Ok(value)));
                }
            }
            // Not modified, but what we hold is unusable: ask for the page itself.
            response = self.send(url, plain_headers, MAX_PAGE_BYTES)?;
        }
        let status = response.status.as_u16();
        let Some(response) = successful(url, response)? else {
            if let Ok(mut missing) = self.missing.lock() {
                missing.insert(redact(url), status);
            }
            return Ok(None);
        };
        let header = |name| {
            response
                .headers
                .get(name)
                .and_then(|value| value.to_str().ok())
                .map(str::to_string)
        };
        let content_type = header(CONTENT_TYPE).unwrap_or_default();
        let no_store = header(CACHE_CONTROL).is_some_and(|value| value.contains("no-store"));
        let page = Page {
            body: response.body,
            content_type,
        };
        let parsed = parse(&page);
        if !no_store && parsed.is_ok() {
            let etag = header(ETAG);
            let last_modified = header(LAST_MODIFIED);
            let max_age = max_age(&response.headers).unwrap_or_else(|| {
                if etag.is_none() && last_modified.is_none() {
                    heuristic_max_age()
                } else {
                    0
                }
            });
            let policy = CachePolicy {
                url: strip_credentials(url).to_string(),
                content_type: page.content_type.clone(),
                etag,
                last_modified,
                stored: now(),
                max_age,
            };
            // The cache is an optimization: a failed write must not fail the lock.
            if cache::write_atomically(&body_path, &page.body).is_ok() {
                write_policy(&policy_path, &policy);
            }
        }
        Ok(Some(parsed))
    }

    /// GETs `url` without caching: `Ok(None)` on 404/410.
    pub fn get(&self, url: &Url) -> Result<Option<Vec<u8>>, IndexError> {
        self.get_with(url, HeaderMap::new(), None)
    }

    /// Like [`Self::get`], telling `progress` how many bytes of the body have arrived so far
    /// (from 0 again when a failed attempt is retried).
    pub fn get_with_progress(
        &self,
        url: &Url,
        progress: &dyn Fn(u64),
    ) -> Result<Option<Vec<u8>>, IndexError> {
        self.get_with(url, HeaderMap::new(), Some(progress))
    }

    /// GETs a byte range of `url` (`bytes=START-END` or `bytes=-SUFFIX`), with the file's
    /// total size from Content-Range: `Ok(None)` unless the server answers 206.
    pub fn get_range(&self, url: &Url, range: &str) -> Result<Option<(Vec<u8>, u64)>, IndexError> {
        if self.offline {
            return Err(IndexError::Offline { url: redact(url) });
        }
        let mut headers = HeaderMap::new();
        if let Ok(value) = range.parse() {
            headers.insert(RANGE, value);
        }
        let response = self.send(url, headers, MAX_PAGE_BYTES)?;
        if response.status.as_u16() != 206 {
            return Ok(None);
        }
        // `Content-Range: bytes 100-199/5000`
        let total = response
            .headers
            .get(reqwest::header::CONTENT_RANGE)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.rsplit('/').next())
            .and_then(|total| total.trim().parse().ok());
        Ok(total.map(|total| (response.body, total)))
    }

    fn get_with(
        &self,
        url: &Url,
        headers: HeaderMap,
        progress: Option<&dyn Fn(u64)>,
    ) -> Result<Option<Vec<u8>>, IndexError> {
        if self.offline {
            return Err(IndexError::Offline { url: redact(url) });
        }
        let response =
            self.send_reporting(url, headers, crate::limits::max_unpacked_size(), progress)?;
        Ok(successful(url, response)?.map(|response| response.body))
    }

    /// Sends a GET, retrying connection failures, timeouts, truncated bodies and 5xx answers
    /// with exponential backoff. Bodies are read with a per-read timeout and a size cap.
    fn send(&self, url: &Url, headers: HeaderMap, max_body: u64) -> Result<Response, IndexError> {
        self.send_reporting(url, headers, max_body, None)
    }

    /// [`Self::send`], with the body's progress told to `progress`.
    fn send_reporting(
        &self,
        url: &Url,
        headers: HeaderMap,
        max_body: u64,
        progress: Option<&dyn Fn(u64)>,
    ) -> Result<Response, IndexError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.in_flight
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, (Instant::now(), redact(url)));
        let started = Instant::now();
        if let Some(trace) = &self.trace {
            trace(&format!("GET {}", redact(url)));
        }
        let result = self.send_with_retries(url, headers, max_body, progress);
        self.in_flight
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&id);
        if let Some(trace) = &self.trace {
            trace(&match &result {
                Ok(response) => format!(
                    "{} {} ({} bytes, {} ms)",
                    response.status.as_u16(),
                    redact(url),
                    response.body.len(),
                    started.elapsed().as_millis()
                ),
                Err(error) => format!("failed {}: {error}", redact(url)),
            });
        }
        result
    }

    fn send_with_retries(
        &self,
        url: &Url,
        headers: HeaderMap,
        max_body: u64,
        progress: Option<&dyn Fn(u64)>,
    ) -> Result<Response, IndexError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut request = self.client().get(url.clone()).headers(headers.clone());
            if url.username().is_empty() {
                if let Some((login, password)) = self.credentials_for(url) {
                    request = request.basic_auth(login, Some(password));
                }
            }
            let result = request.send().map_err(Failure::Http).and_then(|response| {
                let status = response.status();
                let headers = response.headers().clone();
                let mut body = Vec::new();
                let mut capped = response.take(max_body.saturating_add(1));
                match progress {
                    None => {
                        capped.read_to_end(&mut body).map_err(Failure::Body)?;
                    }
                    Some(progress) => read_reporting(&mut capped, &mut body, progress)?,
                }
                if body.len() as u64 > max_body {
                    return Err(Failure::TooLarge);
                }
                Ok(Response {
                    status,
                    headers,
                    body,
                })
            });
            let retry = match &result {
                Ok(response) => response.status.is_server_error(),
                Err(Failure::Http(error)) => {
                    error.is_connect() || error.is_timeout() || error.is_body()
                }
                Err(Failure::Body(_)) => true,
                Err(Failure::TooLarge) => false,
            };
            if !retry || attempt >= ATTEMPTS {
                return result.map_err(|failure| failure.into_error(url, attempt));
            }
            std::thread::sleep(Duration::from_millis(100 * 4u64.pow(attempt - 1)));
        }
    }

    /// Credentials for a URL without its own: `PYSHIP_INDEX_USERNAME`/`PYSHIP_INDEX_PASSWORD`
    /// for the configured indexes' hosts, else `~/.netrc` (or `$NETRC`).
    fn credentials_for(&self, url: &Url) -> Option<(String, String)> {
        let host = url.host_str()?;
        let authority = host_and_port(url)?;
        if let Some((_, login, password)) = self
            .index_credentials
            .iter()
            .find(|(index_authority, ..)| *index_authority == authority)
        {
            return Some((login.clone(), password.clone()));
        }
        if self.index_hosts.iter().any(|index_host| index_host == host) {
            if let Ok(login) = std::env::var(crate::env_vars::PYSHIP_INDEX_USERNAME) {
                let password =
                    std::env::var(crate::env_vars::PYSHIP_INDEX_PASSWORD).unwrap_or_default();
                return Some((login, password));
            }
        }
        self.netrc_for(url)
            .map(|entry| (entry.login, entry.password))
    }

    fn netrc_for(&self, url: &Url) -> Option<NetrcEntry> {
        let entries = self.netrc.get_or_init(|| {
            let path = std::env::var_os("NETRC").map(PathBuf::from).or_else(|| {
                std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".netrc"))
            });
            path.and_then(|path| std::fs::read_to_string(path).ok())
                .map(|text| parse_netrc(&text))
                .unwrap_or_default()
        });
        let host = url.host_str()?;
        entries
            .iter()
            .find(|entry| entry.machine.as_deref() == Some(host))
            .or_else(|| entries.iter().find(|entry| entry.machine.is_none()))
            .cloned()
    }
}

/// Reads `reader` to its end into `body`, telling `progress` the length so far after each chunk.
fn read_reporting(
    reader: &mut impl Read,
    body: &mut Vec<u8>,
    progress: &dyn Fn(u64),
) -> Result<(), Failure> {
    progress(0);
    let mut chunk = vec![0; 256 * 1024];
    loop {
        match reader.read(&mut chunk) {
            Ok(0) => return Ok(()),
            Ok(read) => {
                body.extend_from_slice(&chunk[..read]);
                progress(body.len() as u64);
            }
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
            Err(error) => return Err(Failure::Body(error)),
        }
    }
}

/// How one attempt failed.
enum Failure {
    Http(reqwest::Error),
    Body(std::io::Error),
    TooLarge,
}

impl Failure {
    fn into_error(self, url: &Url, attempts: u32) -> IndexError {
        let timed_out = match &self {
            Failure::Http(error) => error.is_timeout(),
            Failure::Body(error) => {
                error.kind() == std::io::ErrorKind::TimedOut
                    || error
                        .get_ref()
                        .and_then(|inner| inner.downcast_ref::<reqwest::Error>())
                        .is_some_and(reqwest::Error::is_timeout)
            }
            Failure::TooLarge => false,
        };
        if timed_out {
            return IndexError::Timeout {
                url: redact(url),
                seconds: timeout().as_secs(),
                attempts,
            };
        }
        match self {
            Failure::Http(source) => IndexError::Http {
                url: redact(url),
                source: source.without_url(),
            },
            Failure::Body(source) => IndexError::Body {
                url: redact(url),
                source,
            },
            Failure::TooLarge => IndexError::TooLarge { url: redact(url) },
        }
    }
}

struct Response {
    status: reqwest::StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl HttpClient {
    /// Tells `trace` of every request from now on.
    pub fn set_trace(&mut self, trace: Trace) {
        self.trace = Some(trace);
    }

    /// The HTTP status a server gave for `url` when it had no such page (404, 410).
    pub fn missing_status(&self, url: &Url) -> Option<u16> {
        self.missing.lock().ok()?.get(&redact(url)).copied()
    }
}

/// The response when it succeeded, `None` when the server has no such thing (404, 410), and
/// an error naming the URL for any other status.
fn successful(url: &Url, response: Response) -> Result<Option<Response>, IndexError> {
    match response.status.as_u16() {
        404 | 410 => Ok(None),
        _ if response.status.is_success() => Ok(Some(response)),
        status => Err(IndexError::Status {
            url: redact(url),
            status,
        }),
    }
}

fn heuristic_max_age() -> u64 {
    std::env::var(crate::env_vars::PYSHIP_PAGE_TTL)
        .ok()
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or(HEURISTIC_MAX_AGE)
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |duration| duration.as_secs())
}

/// `max-age` from Cache-Control; `no-cache` means revalidate every time.
fn max_age(headers: &HeaderMap) -> Option<u64> {
    let value = headers.get(CACHE_CONTROL)?.to_str().ok()?;
    if value.contains("no-cache") {
        return Some(0);
    }
    value.split(',').find_map(|directive| {
        directive
            .trim()
            .strip_prefix("max-age=")
            .and_then(|seconds| seconds.trim().parse().ok())
    })
}

fn read_cached(policy_path: &Path, body_path: &Path) -> Option<(CachePolicy, Page)> {
    let policy: CachePolicy = serde_json::from_slice(&std::fs::read(policy_path).ok()?).ok()?;
    let body = std::fs::read(body_path).ok()?;
    let content_type = policy.content_type.clone();
    Some((policy, Page { body, content_type }))
}

fn write_policy(path: &Path, policy: &CachePolicy) {
    if let Ok(json) = serde_json::to_vec(policy) {
        let _ = cache::write_atomically(path, &json);
    }
}

/// `host:port` of a URL (the port its scheme implies when none is written).
pub fn host_and_port(url: &Url) -> Option<String> {
    Some(format!(
        "{}:{}",
        url.host_str()?,
        url.port_or_known_default()?
    ))
}

/// `machine HOST login USER password PASS` and `default login … password …` entries.
fn parse_netrc(text: &str) -> Vec<NetrcEntry> {
    let mut entries = Vec::new();
    let mut tokens = text.split_whitespace();
    let mut current: Option<(Option<String>, String, String)> = None;
    while let Some(token) = tokens.next() {
        match token {
            "machine" | "default" => {
                if let Some((machine, login, password)) = current.take() {
                    entries.push(NetrcEntry {
                        machine,
                        login,
                        password,
                    });
                }
                let machine = if token == "machine" {
                    tokens.next().map(str::to_string)
                } else {
                    None
                };
                current = Some((machine, String::new(), String::new()));
            }
            "login" => {
                if let (Some(entry), Some(value)) = (current.as_mut(), tokens.next()) {
                    entry.1 = value.to_string();
                }
            }
            "password" => {
                if let (Some(entry), Some(value)) = (current.as_mut(), tokens.next()) {
                    entry.2 = value.to_string();
                }
            }
            _ => {}
        }
    }
    if let Some((machine, login, password)) = current {
        entries.push(NetrcEntry {
            machine,
            login,
            password,
        });
    }
    entries
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn netrc_entries_are_read() {
        let entries = parse_netrc(
            "machine pypi.example.com\n  login alice\n  password s3cret\ndefault login bob password x\n",
        );
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].machine.as_deref(), Some("pypi.example.com"));
        assert_eq!(entries[0].password, "s3cret");
        assert_eq!(entries[1].machine, None);
    }

    #[test]
    fn passwords_are_redacted() {
        let url = Url::parse("https://alice:s3cret@example.com/simple/").unwrap();
        assert_eq!(redact(&url), "https://alice:****@example.com/simple/");
    }
}
