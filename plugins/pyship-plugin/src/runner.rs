//! Running a plugin: the [`Plugin`] trait and [`main`], which answers `describe`, reads the
//! manifest of `package`, watches the lifeline and prints the result. The wire types it
//! speaks are the crate root's; this is the process side of the protocol.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use serde::Serialize;

use crate::{Describe, Manifest, PROTOCOL_VERSIONS, PackageResult};

/// A format plugin: implement this and call [`main`] from the binary's `main`.
pub trait Plugin {
    /// The answer to `describe`.
    fn describe(&self) -> Describe;
    /// Write the artifacts for `manifest`; an `Err` is shown to the user as it is.
    fn package(&self, manifest: &Manifest) -> Result<PackageResult, String>;
}

/// Runs a plugin with the process's arguments: `describe` or `package --manifest PATH`.
///
/// A leading argument equal to the plugin's name is dropped, so `pyship-deb deb describe`
/// (how `pyship deb describe` calls it, cargo's argv convention) works like
/// `pyship-deb describe`.
pub fn main(plugin: impl Plugin) -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let description = plugin.describe();
    if args.first() == Some(&description.name) {
        args.remove(0);
    }
    match run(&plugin, &description, &args) {
        Ok(output) => {
            let mut stdout = std::io::stdout().lock();
            // A closed stdout is the reader's choice, not our failure.
            let _ = writeln!(stdout, "{output}");
            ExitCode::SUCCESS
        }
        Err(Failure::Usage(message)) => {
            eprintln!("error: {message}\n\n{}", usage(&description));
            ExitCode::from(2)
        }
        Err(Failure::Package(message)) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

enum Failure {
    Usage(String),
    Package(String),
}

fn usage(description: &Describe) -> String {
    format!(
        "Usage: pyship-{name} describe\n       pyship-{name} package --manifest PATH\n\n{summary}\nThis is a pyship plugin; it is usually run by `pyship package {name}`.",
        name = description.name,
        summary = description.summary
    )
}

/// What `--help` prints: the usage, then every option of `[tool.pyship.NAME]`.
fn help(description: &Describe) -> String {
    let mut text = usage(description);
    if description.options.is_empty() {
        text.push_str(&format!(
            "\n\nIt takes no options in `[tool.pyship.{}]`.",
            description.name
        ));
        return text;
    }
    text.push_str(&format!(
        "\n\nOptions, in `[tool.pyship.{}]` of pyproject.toml:",
        description.name
    ));
    let width = description
        .options
        .iter()
        .map(|option| option.name.len() + option.value_type.len() + 3)
        .max()
        .unwrap_or(0);
    for option in &description.options {
        let left = format!("{} ({})", option.name, option.value_type);
        text.push_str(&format!("\n  {left:<width$}  {}", option.doc));
    }
    text
}

fn run(plugin: &impl Plugin, description: &Describe, args: &[String]) -> Result<String, Failure> {
    match args.first().map(String::as_str) {
        Some("describe") => to_json(description),
        Some("package") => {
            let manifest_path = match &args[1..] {
                [flag, path] if flag == "--manifest" => PathBuf::from(path),
                [flag] if flag.starts_with("--manifest=") => {
                    PathBuf::from(&flag["--manifest=".len()..])
                }
                _ => return Err(Failure::Usage("`package` takes `--manifest PATH`".into())),
            };
            let manifest = read_manifest(&manifest_path).map_err(Failure::Package)?;
            watch_lifeline();
            let result = plugin.package(&manifest).map_err(Failure::Package)?;
            to_json(&result)
        }
        Some("--help" | "-h" | "help") => Ok(help(description)),
        Some(other) => Err(Failure::Usage(format!("unknown command `{other}`"))),
        None => Err(Failure::Usage(format!(
            "no command given; to make a {name} package of a project, run `pyship package {name}`",
            name = description.name
        ))),
    }
}

/// The environment variable by which pyship says the plugin's stdin is its lifeline: a pipe
/// only pyship holds, which closes when pyship exits however it exits.
pub const LIFELINE_ENV: &str = "PYSHIP_LIFELINE";

/// When pyship handed over a lifeline (`PYSHIP_LIFELINE=stdin`), ends this process as soon as
/// it closes: a plugin that outlived a killed pyship would go on writing into `target/`, and
/// could replace what a later run wrote there.
fn watch_lifeline() {
    if std::env::var(LIFELINE_ENV).as_deref() != Ok("stdin") {
        return;
    }
    std::thread::spawn(|| {
        let mut stdin = std::io::stdin().lock();
        let mut buffer = [0u8; 64];
        while matches!(std::io::Read::read(&mut stdin, &mut buffer), Ok(read) if read > 0) {}
        // What this process was writing goes with it: a later run must not find it.
        if let Ok(temporaries) = TEMPORARIES.lock() {
            for path in temporaries.iter() {
                let _ = std::fs::remove_file(path);
            }
        }
        std::process::exit(1);
    });
}

/// Files being written that the lifeline's end removes (see [`temporary_started`]).
static TEMPORARIES: std::sync::Mutex<Vec<std::path::PathBuf>> = std::sync::Mutex::new(Vec::new());

/// Says that `path` is a file being written, to be removed if pyship dies meanwhile (the
/// lifeline ends the process without running destructors).
pub fn temporary_started(path: &std::path::Path) {
    if let Ok(mut temporaries) = TEMPORARIES.lock() {
        temporaries.push(path.to_path_buf());
    }
}

/// Says that `path` was renamed into place or removed: no longer the lifeline's to remove.
pub fn temporary_ended(path: &std::path::Path) {
    if let Ok(mut temporaries) = TEMPORARIES.lock() {
        temporaries.retain(|temporary| temporary != path);
    }
}

/// Reads and checks a manifest file: it must parse and speak a protocol version of this crate.
pub fn read_manifest(path: &std::path::Path) -> Result<Manifest, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| format!("failed to read manifest `{}`: {error}", path.display()))?;
    let manifest: Manifest = serde_json::from_str(&text)
        .map_err(|error| format!("invalid manifest `{}`: {error}", path.display()))?;
    if !PROTOCOL_VERSIONS.contains(&manifest.protocol) {
        return Err(format!(
            "manifest `{}` uses protocol {}, but this plugin speaks {:?}; upgrade the plugin",
            path.display(),
            manifest.protocol,
            PROTOCOL_VERSIONS
        ));
    }
    Ok(manifest)
}

fn to_json(value: &impl Serialize) -> Result<String, Failure> {
    serde_json::to_string(value)
        .map_err(|error| Failure::Package(format!("failed to write JSON: {error}")))
}

/// Writes a progress line to stderr unless pyship was run with `-q` (`PYSHIP_QUIET`).
pub fn log(message: impl std::fmt::Display) {
    if std::env::var_os("PYSHIP_QUIET").is_none() {
        eprintln!("{message}");
    }
}
