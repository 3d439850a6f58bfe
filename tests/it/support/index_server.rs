//! A PEP 503 simple index on 127.0.0.1, serving the wheels of one directory.
//!
//! Like the index these machines reach, it serves HTML pages with `#sha256=` fragments and
//! `WHEEL.metadata` files without advertising them (PEP 658). It records every request path
//! and can be told to answer a path with an error status, for fault tests.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

#[derive(Default)]
struct State {
    requests: Vec<String>,
    faults: HashMap<String, u16>,
}

/// A running index; stops when dropped.
pub struct IndexServer {
    address: String,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl IndexServer {
    /// Serves the `.whl` files of `directory`.
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

    /// Every request path so far.
    pub fn requests(&self) -> Vec<String> {
        self.state.lock().expect("state").requests.clone()
    }

    /// Answers requests for paths ending with `suffix` with `status`.
    pub fn fail(&self, suffix: &str, status: u16) {
        self.state
            .lock()
            .expect("state")
            .faults
            .insert(suffix.to_string(), status);
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

fn handle(mut stream: TcpStream, directory: &Path, state: &Mutex<State>) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone stream"));
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    // Drain the headers; requests have no body.
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).map_or(true, |n| n == 0) || line == "\r\n" {
            break;
        }
    }
    let path = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or("/")
        .to_string();
    let fault = {
        let mut state = state.lock().expect("state");
        state.requests.push(path.clone());
        state
            .faults
            .iter()
            .find(|(suffix, _)| path.ends_with(suffix.as_str()))
            .map(|(_, status)| *status)
    };
    let (status, content_type, body) = match fault {
        Some(status) => (status, "text/plain", b"injected fault\n".to_vec()),
        None => respond(&path, directory),
    };
    let reason = match status {
        200 => "OK",
        404 => "Not Found",
        _ => "Error",
    };
    let header = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(header.as_bytes());
    let _ = stream.write_all(&body);
    let _ = stream.flush();
}

fn wheels(directory: &Path) -> Vec<PathBuf> {
    let mut wheels: Vec<PathBuf> = std::fs::read_dir(directory)
        .map(|entries| {
            entries
                .flatten()
                .map(|entry| entry.path())
                .filter(|path| path.extension().is_some_and(|ext| ext == "whl"))
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

fn respond(path: &str, directory: &Path) -> (u16, &'static str, Vec<u8>) {
    let not_found = (404, "text/plain", b"not found\n".to_vec());
    if let Some(project) = path.strip_prefix("/simple/") {
        let project = project.trim_end_matches('/');
        let mut html = String::from("<!DOCTYPE html>\n<html><body>\n");
        let mut found = false;
        for wheel in wheels(directory) {
            let file_name = wheel
                .file_name()
                .expect("a name")
                .to_string_lossy()
                .into_owned();
            let name = file_name.split('-').next().unwrap_or_default();
            if normalize(name) != normalize(project) {
                continue;
            }
            found = true;
            html.push_str(&format!(
                "<a href=\"../../files/{file_name}#sha256={}\">{file_name}</a><br/>\n",
                super::sha256_file(&wheel)
            ));
        }
        html.push_str("</body></html>\n");
        return if found {
            (200, "text/html", html.into_bytes())
        } else {
            not_found
        };
    }
    if let Some(file) = path.strip_prefix("/files/") {
        if let Some(wheel_name) = file.strip_suffix(".metadata") {
            let wheel = directory.join(wheel_name);
            return match read_metadata(&wheel) {
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
