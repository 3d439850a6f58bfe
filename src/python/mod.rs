//! The target interpreter: what it is (version, markers, platform) and which wheels it takes.
//!
//! pyship locks and builds for the deployment target, not for whatever runs pyship, so every
//! marker and wheel tag is evaluated against facts probed from the target interpreter
//! (`probe.py`, run with `-I` so that no `PYTHON*` variable or user site changes the answer).

mod tags;
mod target;

pub use tags::TagPriorities;
pub use target::{PRESETS, Preset, Target, TargetError};

use std::path::{Path, PathBuf};
use std::process::Command;

use pep508_rs::{MarkerEnvironment, MarkerEnvironmentBuilder};
use serde::Deserialize;

const PROBE: &str = include_str!("probe.py");

/// Why the target interpreter could not be used.
#[derive(Debug, thiserror::Error)]
pub enum InterpreterError {
    #[error("target interpreter `{}` was not found", path.display())]
    NotFound { path: PathBuf },
    #[error("failed to run target interpreter `{}`", path.display())]
    Run {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("target interpreter `{}` failed to describe itself:\n{stderr}", path.display())]
    Probe { path: PathBuf, stderr: String },
    #[error("target interpreter `{}` printed an answer pyship cannot read: {message}", path.display())]
    Parse { path: PathBuf, message: String },
}

/// The facts `probe.py` prints.
#[derive(Debug, Clone, Deserialize)]
struct Probe {
    markers: ProbeMarkers,
    executable: String,
    libc: String,
    libc_version: String,
}

#[derive(Debug, Clone, Deserialize)]
struct ProbeMarkers {
    implementation_name: String,
    implementation_version: String,
    os_name: String,
    platform_machine: String,
    platform_python_implementation: String,
    platform_release: String,
    platform_system: String,
    platform_version: String,
    python_full_version: String,
    python_version: String,
    sys_platform: String,
}

/// A probed target interpreter.
#[derive(Debug, Clone)]
pub struct Interpreter {
    /// The path as configured, e.g. `/usr/bin/python3`.
    pub configured: PathBuf,
    /// The real file behind it, e.g. `/usr/bin/python3.11`: the virtualenv links here so it
    /// keeps working when `python3` is pointed at another version.
    pub resolved: PathBuf,
    /// What it runs: version, markers, platform, wheel tags.
    pub target: Target,
}

impl Interpreter {
    /// Runs `probe.py` with `path` and derives everything else from its answer.
    pub fn probe(path: &Path) -> Result<Interpreter, InterpreterError> {
        let output = Command::new(path)
            .args(["-I", "-c", PROBE])
            .output()
            .map_err(|source| {
                if source.kind() == std::io::ErrorKind::NotFound {
                    InterpreterError::NotFound {
                        path: path.to_path_buf(),
                    }
                } else {
                    InterpreterError::Run {
                        path: path.to_path_buf(),
                        source,
                    }
                }
            })?;
        if !output.status.success() {
            return Err(InterpreterError::Probe {
                path: path.to_path_buf(),
                stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
            });
        }
        let parse_error = |message: String| InterpreterError::Parse {
            path: path.to_path_buf(),
            message,
        };
        let probe: Probe = serde_json::from_slice(&output.stdout)
            .map_err(|error| parse_error(error.to_string()))?;
        Self::from_probe(path, probe).map_err(parse_error)
    }

    fn from_probe(path: &Path, probe: Probe) -> Result<Interpreter, String> {
        let m = &probe.markers;
        let markers = MarkerEnvironment::try_from(MarkerEnvironmentBuilder {
            implementation_name: &m.implementation_name,
            implementation_version: &m.implementation_version,
            os_name: &m.os_name,
            platform_machine: &m.platform_machine,
            platform_python_implementation: &m.platform_python_implementation,
            platform_release: &m.platform_release,
            platform_system: &m.platform_system,
            platform_version: &m.platform_version,
            python_full_version: &m.python_full_version,
            python_version: &m.python_version,
            sys_platform: &m.sys_platform,
        })
        .map_err(|error| error.to_string())?;
        let glibc = if probe.libc == "glibc" {
            let mut parts = probe.libc_version.split('.');
            match (parts.next().map(str::parse), parts.next().map(str::parse)) {
                (Some(Ok(major)), Some(Ok(minor))) => Some((major, minor)),
                _ => None,
            }
        } else {
            None
        };
        let implementation = if m.implementation_name == "cpython" {
            "cp"
        } else {
            "pp"
        };
        let mut target = Target::from_markers(markers, implementation, glibc)?;
        let resolved = std::fs::canonicalize(&probe.executable)
            .unwrap_or_else(|_| PathBuf::from(&probe.executable));
        target.interpreter = Some(resolved.clone());
        Ok(Interpreter {
            configured: path.to_path_buf(),
            resolved,
            target,
        })
    }
}
