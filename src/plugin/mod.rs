//! Plugins: finding `pyship-NAME` executables, asking them to describe themselves, and
//! running them on a manifest.
//!
//! Discovery is cargo's: the directory of the running `pyship` first, then each PATH entry;
//! the first executable file named `pyship-NAME` wins. The filesystem is the registry.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod honours;
mod options;

pub use honours::{HonoursError, plugin_table};
pub use options::{OptionError, check_options};

/// See [`honours::check`].
pub use honours::check as check_honoured;

use pyship_plugin::{Describe, PROTOCOL_VERSIONS, PackageResult};

use crate::diagnostics::Diagnostic;

/// How long a `describe` call may take.
const DESCRIBE_TIMEOUT: Duration = Duration::from_secs(10);

/// The most of a describe answer (or its error output) that is read.
const DESCRIBE_OUTPUT_LIMIT: u64 = 1 << 20;

/// Why a plugin could not be used.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    #[error("no plugin `pyship-{name}` found for format `{name}`")]
    NotFound {
        name: String,
        available: Vec<String>,
    },
    #[error("plugin `pyship-{name}` (`{}`) could not describe itself: {message}", path.display())]
    Describe {
        name: String,
        path: PathBuf,
        message: String,
    },
    #[error(
        "plugin `pyship-{name}` (`{}`) speaks protocol {theirs:?}, but this pyship speaks {ours:?}",
        path.display()
    )]
    Incompatible {
        name: String,
        path: PathBuf,
        theirs: Vec<u32>,
        ours: Vec<u32>,
    },
    #[error("plugin `pyship-{name}` (`{}`) does not write format `{format}`", path.display())]
    WrongFormat {
        name: String,
        path: PathBuf,
        format: String,
    },
    #[error("plugin `pyship-{name}` (`{}`) failed ({status})", path.display())]
    Failed {
        name: String,
        path: PathBuf,
        status: String,
    },
    #[error("plugin `pyship-{name}` (`{}`) broke the protocol: {message}\n--- stdout\n{stdout}", path.display())]
    Protocol {
        name: String,
        path: PathBuf,
        message: String,
        stdout: String,
    },
    #[error(
        "plugin `pyship-{name}` (`{}`) wants the `{layout}` layout, which this pyship cannot stage",
        path.display()
    )]
    Layout {
        name: String,
        path: PathBuf,
        layout: String,
    },
    #[error("failed to run plugin `{}`", path.display())]
    Spawn {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl Diagnostic for PluginError {
    fn hint(&self) -> Option<String> {
        match self {
            PluginError::NotFound { available, .. } => Some(if available.is_empty() {
                "install a plugin next to `pyship` or on PATH; `pyship --list` shows what is installed".into()
            } else {
                format!(
                    "installed plugins: {}; `pyship --list` shows what each is",
                    available.join(", ")
                )
            }),
            PluginError::Incompatible { theirs, ours, .. } => {
                Some(if theirs.iter().max() < ours.iter().max() {
                    "upgrade the plugin".to_string()
                } else {
                    "upgrade pyship".to_string()
                })
            }
            PluginError::Failed { .. } => Some("rerun with `-v` for more detail".into()),
            _ => None,
        }
    }
}

/// The directories searched for plugins, in order.
fn search_path() -> Vec<PathBuf> {
    let mut directories = Vec::new();
    if let Some(directory) = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_path_buf))
    {
        directories.push(directory);
    }
    if let Some(path) = std::env::var_os("PATH") {
        // Only absolute entries: an empty one (a trailing `:`) or a relative one means the
        // current directory, where a `pyship-deb` of a checkout would run instead.
        directories.extend(std::env::split_paths(&path).filter(|entry| entry.is_absolute()));
    }
    directories
}

fn is_executable(path: &Path) -> bool {
    std::fs::metadata(path)
        .is_ok_and(|metadata| metadata.is_file() && metadata.permissions().mode() & 0o111 != 0)
}

/// The first executable `pyship-NAME` on the search path.
pub fn find_plugin(name: &str) -> Option<PathBuf> {
    search_path()
        .into_iter()
        .map(|directory| directory.join(format!("pyship-{name}")))
        .find(|path| is_executable(path))
}

/// The plugin `pyship-NAME`, or an error naming what is installed.
pub fn find_required(name: &str) -> Result<PathBuf, PluginError> {
    find_plugin(name).ok_or_else(|| PluginError::NotFound {
        name: name.to_string(),
        available: list_plugins().into_keys().collect(),
    })
}

/// Every plugin on the search path, by name; the first one found per name wins.
pub fn list_plugins() -> BTreeMap<String, PathBuf> {
    let mut plugins = BTreeMap::new();
    for directory in search_path() {
        let Ok(entries) = std::fs::read_dir(&directory) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(file_name) = entry.file_name().into_string() else {
                continue;
            };
            let Some(name) = file_name.strip_prefix("pyship-") else {
                continue;
            };
            // Skip build by-products such as `pyship-deb.d`.
            if name.is_empty() || name.contains('.') {
                continue;
            }
            let path = entry.path();
            if is_executable(&path) {
                plugins.entry(name.to_string()).or_insert(path);
            }
        }
    }
    plugins
}

/// Runs `PATH describe` and parses its answer.
pub fn describe(name: &str, path: &Path) -> Result<Describe, PluginError> {
    let failed = |message: String| PluginError::Describe {
        name: name.to_string(),
        path: path.to_path_buf(),
        message,
    };
    // In a process group of its own, so that what it leaves running can be killed with it.
    let mut child = crate::credentials::without_secrets(&mut Command::new(path))
        .arg("describe")
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| PluginError::Spawn {
            path: path.to_path_buf(),
            source,
        })?;
    let group = child.id();
    // Its output is read on threads: a plugin that leaves a child holding stdout open, or
    // writes more than a pipe holds, must not keep pyship waiting past the limit.
    let reader = |pipe: Option<Box<dyn Read + Send>>| {
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut text = String::new();
            if let Some(pipe) = pipe {
                let _ = pipe.take(DESCRIBE_OUTPUT_LIMIT).read_to_string(&mut text);
            }
            let _ = sender.send(text);
        });
        receiver
    };
    let stdout = reader(
        child
            .stdout
            .take()
            .map(|pipe| Box::new(pipe) as Box<dyn Read + Send>),
    );
    let stderr = reader(
        child
            .stderr
            .take()
            .map(|pipe| Box::new(pipe) as Box<dyn Read + Send>),
    );
    let started = Instant::now();
    let timed_out = || {
        kill_group(group);
        failed(format!(
            "no answer in {}s (its output stayed open; a process it started may still hold it)",
            DESCRIBE_TIMEOUT.as_secs()
        ))
    };
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() > DESCRIBE_TIMEOUT => {
                let error = timed_out();
                let _ = child.kill();
                let _ = child.wait();
                return Err(error);
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(error) => return Err(failed(error.to_string())),
        }
    };
    let remaining = || DESCRIBE_TIMEOUT.saturating_sub(started.elapsed());
    // It answered and exited; what it left running in its group and still holding its
    // output is killed after a moment, so that its answer can be read.
    let stdout = match stdout.recv_timeout(Duration::from_millis(500).min(remaining())) {
        Ok(stdout) => stdout,
        Err(_) => {
            kill_group(group);
            stdout.recv_timeout(remaining()).map_err(|_| timed_out())?
        }
    };
    if !status.success() {
        let stderr = stderr.recv_timeout(remaining()).unwrap_or_default();
        return Err(failed(format!("{status}: {}", stderr.trim())));
    }
    serde_json::from_str(stdout.trim()).map_err(|error| {
        failed(format!(
            "its answer is not a describe document ({error}): {}",
            head(&stdout)
        ))
    })
}

/// `kill -KILL -- -PGID`: a plugin run in a process group of its own, and whatever it left
/// in that group.
fn kill_group(group: u32) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{group}")])
        .stderr(Stdio::null())
        .status();
}

/// The highest protocol version both sides speak.
pub fn negotiate(name: &str, path: &Path, describe: &Describe) -> Result<u32, PluginError> {
    describe
        .protocols
        .iter()
        .filter(|version| PROTOCOL_VERSIONS.contains(version))
        .max()
        .copied()
        .ok_or_else(|| PluginError::Incompatible {
            name: name.to_string(),
            path: path.to_path_buf(),
            theirs: describe.protocols.clone(),
            ours: PROTOCOL_VERSIONS.to_vec(),
        })
}

/// Runs `PATH package --manifest MANIFEST`, each line of its stderr handed to `on_stderr` as
/// it comes, and parses the result.
pub fn run_package(
    name: &str,
    path: &Path,
    manifest: &Path,
    environment: &[(&str, OsString)],
    on_stderr: &(dyn Fn(&str) + Sync),
) -> Result<PackageResult, PluginError> {
    let stdout = run_command(
        name,
        path,
        &[
            "package".as_ref(),
            "--manifest".as_ref(),
            manifest.as_os_str(),
        ],
        environment,
        on_stderr,
    )?;
    let result: PackageResult = parse_result(name, path, &stdout)?;
    check_protocol(name, path, result.protocol, &stdout)?;
    Ok(result)
}

/// Runs `PATH publish --request REQUEST` (a publisher) and parses the result.
pub fn run_publish(
    name: &str,
    path: &Path,
    request: &Path,
    environment: &[(&str, OsString)],
    on_stderr: &(dyn Fn(&str) + Sync),
) -> Result<pyship_plugin::PublishResult, PluginError> {
    let stdout = run_command(
        name,
        path,
        &[
            "publish".as_ref(),
            "--request".as_ref(),
            request.as_os_str(),
        ],
        environment,
        on_stderr,
    )?;
    let result: pyship_plugin::PublishResult = parse_result(name, path, &stdout)?;
    check_protocol(name, path, result.protocol, &stdout)?;
    Ok(result)
}

/// Runs the plugin with `args`, each line of its stderr handed to `on_stderr` as it comes,
/// and returns its stdout. Its stdin is a lifeline: a pipe only pyship holds, closed when
/// pyship exits however it exits, so that the plugin ends with it (plugins built on
/// `pyship_plugin::main` watch it).
fn run_command(
    name: &str,
    path: &Path,
    args: &[&std::ffi::OsStr],
    environment: &[(&str, OsString)],
    on_stderr: &(dyn Fn(&str) + Sync),
) -> Result<String, PluginError> {
    let spawn_error = |source| PluginError::Spawn {
        path: path.to_path_buf(),
        source,
    };
    let mut child = crate::credentials::without_secrets(&mut Command::new(path))
        .args(args)
        .envs(environment.iter().map(|(key, value)| (key, value)))
        .env(pyship_plugin::LIFELINE_ENV, "stdin")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(spawn_error)?;
    let lifeline = child.stdin.take();
    let stderr = child.stderr.take();
    // Its stderr is passed on line by line while it runs (above a spinner, on a terminal).
    let output = std::thread::scope(|scope| {
        if let Some(stderr) = stderr {
            scope.spawn(move || {
                use std::io::BufRead as _;
                for line in std::io::BufReader::new(stderr)
                    .split(b'\n')
                    .map_while(Result::ok)
                {
                    on_stderr(String::from_utf8_lossy(&line).trim_end_matches('\r'));
                }
            });
        }
        child.wait_with_output()
    })
    .map_err(spawn_error)?;
    drop(lifeline);
    if !output.status.success() {
        return Err(PluginError::Failed {
            name: name.to_string(),
            path: path.to_path_buf(),
            status: output.status.to_string(),
        });
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

fn protocol_error(name: &str, path: &Path, message: String, stdout: &str) -> PluginError {
    PluginError::Protocol {
        name: name.to_string(),
        path: path.to_path_buf(),
        message,
        stdout: head(stdout),
    }
}

/// The one JSON result a plugin prints.
fn parse_result<T: serde::de::DeserializeOwned>(
    name: &str,
    path: &Path,
    stdout: &str,
) -> Result<T, PluginError> {
    if stdout.trim().is_empty() {
        return Err(protocol_error(
            name,
            path,
            "it printed no result on stdout".into(),
            stdout,
        ));
    }
    serde_json::from_str(stdout.trim()).map_err(|error| {
        protocol_error(
            name,
            path,
            format!("its result is not valid JSON: {error}"),
            stdout,
        )
    })
}

fn check_protocol(name: &str, path: &Path, protocol: u32, stdout: &str) -> Result<(), PluginError> {
    if PROTOCOL_VERSIONS.contains(&protocol) {
        Ok(())
    } else {
        Err(protocol_error(
            name,
            path,
            format!("its result uses protocol {protocol}"),
            stdout,
        ))
    }
}

/// The first bytes of a plugin's output, for error messages.
fn head(text: &str) -> String {
    let mut end = text.len().min(400);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].trim_end().to_string()
}
