//! Building the application's own wheel through its PEP 517 backend.
//!
//! The backend's requirements (`[build-system] requires`) are resolved for the target with
//! pyship's own resolver, fetched, and installed into an isolated build directory; the target
//! interpreter then runs `backend.py`, which calls the backend's `build_wheel` hook with
//! `SOURCE_DATE_EPOCH` set. Building dependencies from sdists is a later step.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::str::FromStr;

use pep508_rs::{PackageName, Requirement};

use crate::index::PackageIndex;
use crate::printer::Printer;
use crate::project::Project;
use crate::python::Interpreter;
use crate::resolver::{self, ResolveOptions};
use crate::wheel::{self, Scheme};

const BACKEND_RUNNER: &str = include_str!("backend.py");

/// PEP 517's fallback when `[build-system] build-backend` is absent.
const LEGACY_BACKEND: &str = "setuptools.build_meta:__legacy__";

/// Why the application's wheel could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("invalid `[build-system] requires` entry `{requirement}`: {message}")]
    Requirement {
        requirement: String,
        message: String,
    },
    #[error("the build backend `{backend}` failed ({status}):\n{output}")]
    Backend {
        backend: String,
        status: String,
        output: String,
    },
    #[error("failed to run the build backend with `{}`", interpreter.display())]
    Run {
        interpreter: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the build backend did not produce a wheel in `{}`", directory.display())]
    NoWheel { directory: PathBuf },
}

/// Builds the project's wheel into `output_dir` and returns its path.
pub fn build_project_wheel(
    project: &Project,
    interpreter: &Interpreter,
    index: &PackageIndex,
    work_dir: &Path,
    source_date_epoch: u64,
    printer: &Printer,
) -> anyhow::Result<PathBuf> {
    let build_system = &project.build_system;
    let requirements = build_system
        .requires
        .iter()
        .map(|requirement| {
            Requirement::from_str(requirement).map_err(|error| BuildError::Requirement {
                requirement: requirement.clone(),
                message: error.message.to_string(),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let backend = build_system
        .build_backend
        .clone()
        .unwrap_or_else(|| LEGACY_BACKEND.to_string());

    let environment = work_dir.join("build-env");
    let output_dir = work_dir.join("wheel");
    for directory in [&environment, &output_dir] {
        if directory.exists() {
            std::fs::remove_dir_all(directory)?;
        }
        std::fs::create_dir_all(directory)?;
    }

    let build_root = PackageName::from_str("pyship-build-env").expect("a valid name");
    let version = pep508_rs::pep440_rs::Version::new([0]);
    let packages = resolver::resolve(
        &build_root,
        &version,
        &requirements,
        index,
        &interpreter.target,
        &ResolveOptions::default(),
    )?;
    let scheme = Scheme {
        purelib: environment.clone(),
        platlib: environment.clone(),
        scripts: environment.join("bin"),
        data: environment.join("data"),
        headers: environment.join("include"),
        python: interpreter.resolved.display().to_string(),
    };
    for package in &packages {
        let path = index.download(&package.file)?;
        wheel::install_wheel(&path, &scheme)?;
    }

    let mut python_path = vec![environment.clone()];
    python_path.extend(
        build_system
            .backend_path
            .iter()
            .map(|path| project.root.join(path)),
    );
    let python_path = std::env::join_paths(&python_path)?;
    let result_file = work_dir.join("wheel-name.txt");
    let output = Command::new(&interpreter.resolved)
        .arg("-c")
        .arg(BACKEND_RUNNER)
        .arg(&backend)
        .arg(&output_dir)
        .arg(&result_file)
        .current_dir(&project.root)
        .env("PYTHONPATH", python_path)
        .env("PYTHONNOUSERSITE", "1")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("SOURCE_DATE_EPOCH", source_date_epoch.to_string())
        .output()
        .map_err(|source| BuildError::Run {
            interpreter: interpreter.resolved.clone(),
            source,
        })?;
    let combined = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    if !output.status.success() {
        return Err(BuildError::Backend {
            backend,
            status: output.status.to_string(),
            output: combined.trim_end().to_string(),
        }
        .into());
    }
    for line in combined.lines() {
        printer.debug(format!("build backend: {line}"));
    }
    let wheel_name = std::fs::read_to_string(&result_file).unwrap_or_default();
    let wheel_path = output_dir.join(wheel_name.trim());
    if wheel_name.trim().is_empty() || !wheel_path.is_file() {
        return Err(BuildError::NoWheel {
            directory: output_dir,
        }
        .into());
    }
    Ok(wheel_path)
}
