//! A simple index on 127.0.0.1, serving the wheels of one directory.
//!
//! Like the index these machines reach, it serves PEP 503 HTML pages with `#sha256=`
//! fragments and `WHEEL.metadata` files without advertising them (PEP 658), and answers byte
//! ranges. It can also speak PEP 691 JSON (with sizes, upload times and, as PyPI does there,
//! `core-metadata` advertised), mark files yanked,
//! and give wrong answers on purpose. It records every request.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// A wrong answer to give on purpose.
#[derive(Clone)]
enum Fault {
    Status(u16),
    /// A 200 with this content type and body instead of the real one.
    Body(&'static str, Vec<u8>),
}

#[derive(Default)]
struct State {
    requests: Vec<String>,
    faults: HashMap<String, Fault>,
    yanked: Vec<String>,
    upload_times: HashMap<String, String>,
    requires_python: HashMap<String, String>,
    json: bool,
}

/// A running index; stops when dropped.
pub struct IndexServer {
    address: String,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl IndexServer {
    /// Serves the `.whl` and `.tar.gz` files of `directory`.
    pub fn start(directory: &Path) -> IndexServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a local port");
        let address = listener.local_addr().expect("an address").to_string();
        let state = Arc::new(Mutex::new(State::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let directory = directory.to_path_buf();
        let thread = {
            let state = state.clone();
            let stop = stop.clone();
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let state = state.clone();
                    let directory = directory.clone();
                    std::thread::spawn(move || handle(stream, &directory, &state));
                }
            })
        };
        IndexServer {
            address,
            state,
            stop,
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT/simple`.
    pub fn url(&self) -> String {
        format!("http://{}/simple", self.address)
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("state")
    }

    /// Every request so far: the path, then ` range=…` and ` auth=…` when sent.
    pub fn requests(&self) -> Vec<String> {
        self.state().requests.clone()
    }

    /// Answers PEP 691 JSON when the client asks for it (by default, HTML only).
    pub fn serve_json(&self) {
        self.state().json = true;
    }

    /// Marks a file yanked (PEP 592).
    pub fn yank(&self, file_name: &str) {
        self.state().yanked.push(file_name.to_string());
    }

    /// Sets a file's upload time (PEP 700; shown in JSON pages).
    pub fn uploaded(&self, file_name: &str, time: &str) {
        self.state()
            .upload_times
            .insert(file_name.to_string(), time.to_string());
    }

    /// Publishes a file's Requires-Python on the page (PEP 503 `data-requires-python`, PEP 691
    /// `requires-python`), as PyPI does.
    pub fn requires_python(&self, file_name: &str, specifiers: &str) {
        self.state()
            .requires_python
            .insert(file_name.to_string(), specifiers.to_string());
    }

    /// Answers requests for paths ending with `suffix` with `status`.
    pub fn fail(&self, suffix: &str, status: u16) {
        self.state()
            .faults
            .insert(suffix.to_string(), Fault::Status(status));
    }

    /// Answers requests for paths ending with `suffix` with a 200 and a wrong body.
    pub fn fail_with_body(&self, suffix: &str, content_type: &'static str, body: &[u8]) {
        self.state()
            .faults
            .insert(suffix.to_string(), Fault::Body(content_type, body.to_vec()));
    }
}

impl Drop for IndexServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(&self.address);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

struct PageOptions {
    json: bool,
    yanked: Vec<String>,
    upload_times: HashMap<String, String>,
    requires_python: HashMap<String, String>,
}

fn handle(mut stream: TcpStream, directory: &Path, state: &Mutex<State>) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone stream"));
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    // Read the headers acted on; requests have no body.
    let mut range = None;
    let mut authorization = None;
    let mut accepts_json = false;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).map_or(true, |n| n == 0) || line == "\r\n" {
            break;
        }
        let lower = line.to_ascii_lowercase();
        if lower.starts_with("authorization:") {
            authorization = Some(line["authorization:".len()..].trim().to_string());
        }
        if let Some(value) = lower.strip_prefix("range:") {
            range = Some(value.trim().to_string());
        }
        if lower.starts_with("accept:") && lower.contains("application/vnd.pypi.simple.v1+json") {
            accepts_json = true;
        }
    }
    let path = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or("/")
        .to_string();
    let (fault, options) = {
        let mut state = state.lock().expect("state");
        let mut logged = path.clone();
        if let Some(range) = &range {
            logged.push_str(&format!(" range={range}"));
        }
        if let Some(authorization) = &authorization {
            logged.push_str(&format!(" auth={authorization}"));
        }
        state.requests.push(logged);
        let fault = state
            .faults
            .iter()
            .find(|(suffix, _)| path.ends_with(suffix.as_str()))
            .map(|(_, fault)| fault.clone());
        let options = PageOptions {
            json: state.json && accepts_json,
            yanked: state.yanked.clone(),
            upload_times: state.upload_times.clone(),
            requires_python: state.requires_python.clone(),
        };
        (fault, options)
    };
    let (mut status, content_type, mut body) = match fault {
        Some(Fault::Status(status)) => (status, "text/plain", b"injected fault\n".to_vec()),
        Some(Fault::Body(content_type, body)) => (200, content_type, body),
        None => respond(&path, directory, &options),
    };
    let mut extra = String::new();
    if let (200, Some(range)) = (status, range.as_deref()) {
        if let Some((start, end)) = byte_range(range, body.len()) {
            extra = format!("Content-Range: bytes {start}-{end}/{}\r\n", body.len());
            body = body[start..=end].to_vec();
            status = 206;
        }
    }
    let reason = match status {
        200 => "OK",
        206 => "Partial Content",
        404 => "Not Found",
        _ => "Error",
    };
    let header = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n{extra}Connection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(header.as_bytes());
    let _ = stream.write_all(&body);
    let _ = stream.flush();
}

/// `bytes=START-END`, `bytes=START-` or `bytes=-SUFFIX`, as inclusive offsets.
fn byte_range(range: &str, length: usize) -> Option<(usize, usize)> {
    let spec = range.strip_prefix("bytes=")?;
    let (start, end) = spec.split_once('-')?;
    let last = length.checked_sub(1)?;
    if start.is_empty() {
        let suffix: usize = end.parse().ok()?;
        return Some((length.saturating_sub(suffix), last));
    }
    let start: usize = start.parse().ok()?;
    let end = if end.is_empty() {
        last
    } else {
        end.parse::<usize>().ok()?.min(last)
    };
    (start <= end).then_some((start, end))
}

fn distributions(directory: &Path) -> Vec<PathBuf> {
    let mut wheels: Vec<PathBuf> = std::fs::read_dir(directory)
        .map(|entries| {
            entries
                .flatten()
                .map(|entry| entry.path())
                .filter(|path| {
                    let name = path.to_string_lossy();
                    name.ends_with(".whl") || name.ends_with(".tar.gz")
                })
                .collect()
        })
        .unwrap_or_default();
    wheels.sort();
    wheels
}

/// PEP 503 name normalization.
fn normalize(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        let c = c.to_ascii_lowercase();
        if matches!(c, '-' | '_' | '.') {
            if !out.ends_with('-') {
                out.push('-');
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn respond(path: &str, directory: &Path, options: &PageOptions) -> (u16, &'static str, Vec<u8>) {
    let not_found = (404, "text/plain", b"not found\n".to_vec());
    if path == "/simple/" {
        return root_page(directory, options);
    }
    if let Some(project) = path.strip_prefix("/simple/") {
        let project = project.trim_end_matches('/');
        let mut html = String::from("<!DOCTYPE html>\n<html><body>\n");
        let mut files = Vec::new();
        for wheel in distributions(directory) {
            let file_name = wheel
                .file_name()
                .expect("a name")
                .to_string_lossy()
                .into_owned();
            let name = file_name.split('-').next().unwrap_or_default();
            if normalize(name) != normalize(project) {
                continue;
            }
            let sha256 = super::sha256_file(&wheel);
            let yanked = options.yanked.contains(&file_name);
            let requires_python = options.requires_python.get(&file_name);
            html.push_str(&format!(
                "<a href=\"../../files/{file_name}#sha256={sha256}\"{}{}>{file_name}</a><br/>\n",
                if yanked { " data-yanked=\"\"" } else { "" },
                requires_python
                    .map(|spec| format!(
                        " data-requires-python=\"{}\"",
                        spec.replace('>', "&gt;").replace('<', "&lt;")
                    ))
                    .unwrap_or_default()
            ));
            let size = std::fs::metadata(&wheel).map(|m| m.len()).unwrap_or(0);
            let upload_time = options
                .upload_times
                .get(&file_name)
                .map(|time| format!(",\"upload-time\":\"{time}\""))
                .unwrap_or_default();
            let core_metadata = file_name.ends_with(".whl");
            files.push(format!(
                "{{\"filename\":\"{file_name}\",\"url\":\"../../files/{file_name}\",\"hashes\":{{\"sha256\":\"{sha256}\"}},\"yanked\":{yanked},\"size\":{size},\"core-metadata\":{core_metadata}{upload_time}{}}}",
                requires_python
                    .map(|spec| format!(",\"requires-python\":\"{spec}\""))
                    .unwrap_or_default()
            ));
        }
        html.push_str("</body></html>\n");
        if files.is_empty() {
            return not_found;
        }
        if options.json {
            let json = format!(
                "{{\"meta\":{{\"api-version\":\"1.1\"}},\"name\":\"{project}\",\"files\":[{}]}}",
                files.join(",")
            );
            return (
                200,
                "application/vnd.pypi.simple.v1+json",
                json.into_bytes(),
            );
        }
        return (200, "text/html", html.into_bytes());
    }
    if let Some(file) = path.strip_prefix("/files/") {
        if let Some(wheel_name) = file.strip_suffix(".metadata") {
            return match read_metadata(&directory.join(wheel_name)) {
                Some(metadata) => (200, "text/plain", metadata.into_bytes()),
                None => not_found,
            };
        }
        return match std::fs::read(directory.join(file)) {
            Ok(bytes) => (200, "application/octet-stream", bytes),
            Err(_) => not_found,
        };
    }
    not_found
}

/// The root page: every project with a wheel here (PEP 503 anchors or PEP 691 `projects`).
fn root_page(directory: &Path, options: &PageOptions) -> (u16, &'static str, Vec<u8>) {
    let mut projects: Vec<String> = distributions(directory)
        .iter()
        .filter_map(|wheel| {
            wheel
                .file_name()?
                .to_str()?
                .split('-')
                .next()
                .map(normalize)
        })
        .collect();
    projects.dedup();
    if options.json {
        let listed: Vec<String> = projects
            .iter()
            .map(|name| format!("{{\"name\":\"{name}\"}}"))
            .collect();
        let json = format!(
            "{{\"meta\":{{\"api-version\":\"1.0\"}},\"projects\":[{}]}}",
            listed.join(",")
        );
        return (
            200,
            "application/vnd.pypi.simple.v1+json",
            json.into_bytes(),
        );
    }
    let anchors: String = projects
        .iter()
        .map(|name| format!("<a href=\"{name}/\">{name}</a>\n"))
        .collect();
    let html = format!("<!DOCTYPE html>\n<html><body>\n{anchors}</body></html>\n");
    (200, "text/html", html.into_bytes())
}

fn read_metadata(wheel: &Path) -> Option<String> {
    let file = std::fs::File::open(wheel).ok()?;
    let mut archive = zip::ZipArchive::new(file).ok()?;
    let name = archive
        .file_names()
        .find(|name| name.ends_with(".dist-info/METADATA"))?
        .to_string();
    let mut text = String::new();
    archive
        .by_name(&name)
        .ok()?
        .read_to_string(&mut text)
        .ok()?;
    Some(text)
}
