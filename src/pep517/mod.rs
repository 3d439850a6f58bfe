//! A PEP 517 frontend: building wheels (the application's, and locked sdists') and metadata.
//!
//! The backend's requirements (`[build-system] requires`) come from the lock's build
//! environment for them (locked by `ops::lock`, fetched and hash-checked like every locked
//! file), or, with no lock (while locking) or a lock without one, are resolved for the
//! interpreter with pyship's own resolver. They are installed into a build environment of
//! their own (one per `requires` list in a run, shared by the builds that need it: a backend
//! only reads it); the interpreter then runs `backend.py` with `-S` (none of its own
//! site-packages: the build sees the standard library, the environment and the tree), which
//! calls the backend's `build_wheel` or `prepare_metadata_for_build_wheel` hook with
//! `SOURCE_DATE_EPOCH` set.

use crate::sdist_archive::extract;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use pep508_rs::PackageName;

use crate::cache::{self, Cache};
use crate::index::{PackageIndex, Source};
use crate::lockfile::Lock;
use crate::project::{BuildSystem, PYPROJECT, parse_build_system, read_build_system};
use crate::python::Interpreter;
use crate::reporter::{Progress, Reporter};
use crate::resolver::{self, MetadataBuilder, ResolveOptions};
use crate::wheel::{self, Scheme};
use std::sync::Arc;

use crate::parallel::SingleFlight;

const BACKEND_RUNNER: &str = include_str!("backend.py");

/// PEP 517's fallback when `[build-system] build-backend` is absent.
const LEGACY_BACKEND: &str = "setuptools.build_meta:__legacy__";

/// Why a build failed.
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
    #[error("the build backend produced nothing usable in `{}`", directory.display())]
    NoOutput { directory: PathBuf },
}

/// What the backend is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hook {
    Wheel,
    Metadata,
}

/// A source tree and how to build it.
pub struct BuildRequest<'a> {
    pub source_dir: &'a Path,
    pub build_system: &'a BuildSystem,
    pub interpreter: &'a Interpreter,
    /// A scratch directory, cleared first.
    pub work_dir: &'a Path,
    pub source_date_epoch: u64,
    /// The build environment: `requires` installed by [`prepare_environment`]. The backend
    /// only reads it, so builds may share one.
    pub environment: &'a Path,
}

/// A build environment's wheels: (path, sha256 to check it against, if known).
pub type EnvironmentWheels = Vec<(PathBuf, Option<String>)>;

/// Installs the build requirements `requires` into `directory` (cleared first) for
/// `interpreter`: the lock's wheels for them when `locked` has them (path, sha256; fetched and
/// checked), else resolved from `index` now.
pub fn prepare_environment(
    requires: &[String],
    locked: Option<&[(PathBuf, String)]>,
    index: &PackageIndex,
    interpreter: &Interpreter,
    directory: &Path,
    reporter: &dyn Reporter,
) -> anyhow::Result<()> {
    let wheels = environment_wheels(requires, locked, index, interpreter, reporter)?;
    install_environment(&wheels, interpreter, directory)
}

/// The wheels of the build environment for `requires`: `locked`'s, or resolved from `index`
/// for `interpreter` and downloaded.
pub fn environment_wheels(
    requires: &[String],
    locked: Option<&[(PathBuf, String)]>,
    index: &PackageIndex,
    interpreter: &Interpreter,
    reporter: &dyn Reporter,
) -> anyhow::Result<EnvironmentWheels> {
    if let Some(locked) = locked {
        return Ok(locked
            .iter()
            .map(|(path, sha256)| (path.clone(), Some(sha256.clone())))
            .collect());
    }
    let requirements = requires
        .iter()
        .map(|requirement| {
            crate::pep508::parse_requirement(requirement).map_err(|message| {
                BuildError::Requirement {
                    requirement: requirement.clone(),
                    message,
                }
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    reporter.debug(&format!(
        "the build requirements {requires:?} are not in the lock: resolving them now"
    ));
    let build_root = PackageName::from_str("pyship-build-env").expect("a valid name");
    let version = pep508_rs::pep440_rs::Version::new([0]);
    let packages = resolver::resolve(
        &build_root,
        &version,
        &requirements,
        index,
        &interpreter.target,
        &ResolveOptions::default(),
    )?
    .packages;
    packages
        .iter()
        .map(|package| {
            let path = index.download(&package.file)?;
            Ok((path, package.file.sha256.clone()))
        })
        .collect()
}

/// Installs `wheels` into `directory` (cleared first) for `interpreter`.
pub fn install_environment(
    wheels: &EnvironmentWheels,
    interpreter: &Interpreter,
    directory: &Path,
) -> anyhow::Result<()> {
    if directory.exists() {
        std::fs::remove_dir_all(directory)?;
    }
    std::fs::create_dir_all(directory)?;
    let scheme = environment_scheme(directory, interpreter);
    let mut installation = wheel::Installation::new(crate::limits::max_unpacked_size());
    for (path, sha256) in wheels {
        installation.install(path, sha256.as_deref(), &scheme)?;
    }
    Ok(())
}

/// Where a build environment's files go: one directory on `PYTHONPATH`, scripts in `bin/`.
fn environment_scheme(directory: &Path, interpreter: &Interpreter) -> Scheme {
    Scheme {
        purelib: directory.to_path_buf(),
        platlib: directory.to_path_buf(),
        scripts: directory.join("bin"),
        data: directory.join("data"),
        headers: directory.join("include"),
        python: interpreter.resolved.display().to_string(),
        python_flags: String::new(),
        launcher_prelude: String::new(),
    }
}

/// Builds a wheel and returns its path (inside `work_dir`).
pub fn build_wheel(request: &BuildRequest<'_>, reporter: &dyn Reporter) -> anyhow::Result<PathBuf> {
    let answer = run_backend(request, Hook::Wheel, reporter)?;
    Ok(answer)
}

/// The core metadata the backend reports, without building the wheel when the backend has
/// `prepare_metadata_for_build_wheel`.
pub fn prepare_metadata(
    request: &BuildRequest<'_>,
    reporter: &dyn Reporter,
) -> anyhow::Result<String> {
    let answer = run_backend(request, Hook::Metadata, reporter)?;
    if answer.is_dir() {
        return Ok(std::fs::read_to_string(answer.join("METADATA"))?);
    }
    // A wheel: read its METADATA.
    let file = std::fs::File::open(&answer)?;
    let mut archive = zip::ZipArchive::new(file)?;
    let name = archive
        .file_names()
        .find(|name| name.ends_with(".dist-info/METADATA") && name.matches('/').count() == 1)
        .map(str::to_string)
        .ok_or_else(|| BuildError::NoOutput {
            directory: answer.clone(),
        })?;
    let mut text = String::new();
    archive.by_name(&name)?.read_to_string(&mut text)?;
    Ok(text)
}

/// Sets up the build environment and runs one hook; returns the wheel or `.dist-info` path.
fn run_backend(
    request: &BuildRequest<'_>,
    hook: Hook,
    reporter: &dyn Reporter,
) -> anyhow::Result<PathBuf> {
    let build_system = request.build_system;
    let backend = build_system
        .build_backend
        .clone()
        .unwrap_or_else(|| LEGACY_BACKEND.to_string());
    let output_dir = request.work_dir.join("output");
    if output_dir.exists() {
        std::fs::remove_dir_all(&output_dir)?;
    }
    std::fs::create_dir_all(&output_dir)?;
    let environment = request.environment.to_path_buf();
    let scheme = environment_scheme(&environment, request.interpreter);

    let mut python_path = vec![environment.clone()];
    python_path.extend(
        build_system
            .backend_path
            .iter()
            .map(|path| request.source_dir.join(path)),
    );
    let python_path = std::env::join_paths(&python_path)?;
    let result_file = request.work_dir.join("hook-answer.txt");
    let _ = std::fs::remove_file(&result_file);
    let mode = match hook {
        Hook::Wheel => "wheel",
        Hook::Metadata => "metadata",
    };
    // `-S`: the interpreter's own site-packages (and the `.pth` files there) stay out of the
    // build, which sees only the standard library, its environment and the source tree, as
    // pip's isolated builds do.
    let mut command =
        crate::process::python_script(&request.interpreter.resolved, &["-S"], BACKEND_RUNNER);
    command
        .arg(mode)
        .arg(&backend)
        .arg(&output_dir)
        .arg(&result_file)
        .current_dir(request.source_dir)
        .env("PYTHONPATH", python_path)
        .env("PYTHONNOUSERSITE", "1")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        // A copy of a checkout points at the project's git directory (for setuptools_scm,
        // hatch-vcs): git may read it, never refresh its index behind the user's back.
        .env("GIT_OPTIONAL_LOCKS", "0")
        .env("SOURCE_DATE_EPOCH", request.source_date_epoch.to_string());
    // Backends that drive a binary of their own (uv_build) look for it on PATH.
    let mut path = vec![scheme.scripts.clone()];
    path.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    command.env("PATH", std::env::join_paths(path)?);
    let leftovers_before = build_leftovers(request.source_dir);
    let output = crate::process::output(command).map_err(|source| BuildError::Run {
        interpreter: request.interpreter.resolved.clone(),
        source,
    });
    // setuptools writes `build/` and `*.egg-info` into the tree it builds; the project's
    // checkout is left as the build found it.
    for leftover in build_leftovers(request.source_dir).difference(&leftovers_before) {
        let _ = std::fs::remove_dir_all(leftover);
    }
    let output = output?;
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
        reporter.debug(&format!("build backend: {line}"));
    }
    let answer = std::fs::read_to_string(&result_file).unwrap_or_default();
    let name = answer
        .strip_prefix("wheel:")
        .or_else(|| answer.strip_prefix("metadata:"))
        .unwrap_or_default()
        .trim();
    let path = output_dir.join(name);
    if name.is_empty() || !path.exists() {
        return Err(BuildError::NoOutput {
            directory: output_dir,
        }
        .into());
    }
    Ok(path)
}

/// The directories backends leave in the tree they build: `build/`, and `*.egg-info` at the
/// top or one level down (`src/NAME.egg-info`).
fn build_leftovers(source_dir: &Path) -> std::collections::BTreeSet<PathBuf> {
    let mut found = std::collections::BTreeSet::new();
    let build = source_dir.join("build");
    if build.is_dir() {
        found.insert(build);
    }
    let egg_info = |directory: &Path, found: &mut std::collections::BTreeSet<PathBuf>| {
        let mut subdirectories = Vec::new();
        for entry in std::fs::read_dir(directory).into_iter().flatten().flatten() {
            let path = entry.path();
            if !entry.file_type().is_ok_and(|kind| kind.is_dir()) {
                continue;
            }
            if path.extension().is_some_and(|ext| ext == "egg-info") {
                found.insert(path);
            } else {
                subdirectories.push(path);
            }
        }
        subdirectories
    };
    for subdirectory in egg_info(source_dir, &mut found) {
        egg_info(&subdirectory, &mut found);
    }
    found
}

/// Builds wheels through PEP 517 (locked sdists and local source trees): metadata while resolving, wheels while staging, each once per sdist
/// hash and interpreter (cached under `built-v1/`).
pub struct WheelBuilder {
    interpreter: Interpreter,
    index: PackageIndex,
    cache: Cache,
    source_date_epoch: u64,
    reporter: Arc<dyn Reporter>,
    /// Built metadata by sdist sha256: the solver and the prefetcher may ask for the same
    /// one at once, and the second waits for the first's result.
    metadata: SingleFlight<String, String>,
    /// Build environments' wheels by `requires`, resolved and downloaded once.
    wheels: SingleFlight<Vec<String>, Arc<EnvironmentWheels>>,
    /// Build environments by `requires`, each installed once and shared by the builds that
    /// need it.
    environments: SingleFlight<Vec<String>, Arc<tempfile::TempDir>>,
    /// The lock whose build environments builds use, and the directory its paths are
    /// relative to; none while locking.
    lock: Option<(Arc<Lock>, PathBuf)>,
}

impl WheelBuilder {
    /// A builder using `interpreter`, with build requirements from `sources`.
    pub fn new(
        interpreter: Interpreter,
        sources: Vec<Source>,
        offline: bool,
        cache: Cache,
        source_date_epoch: u64,
        reporter: Arc<dyn Reporter>,
    ) -> anyhow::Result<WheelBuilder> {
        Ok(WheelBuilder {
            index: PackageIndex::new(sources, offline, cache.clone())?
                .with_trace(crate::reporter::tracer(reporter.clone())),
            interpreter,
            cache,
            source_date_epoch,
            reporter,
            metadata: SingleFlight::new(),
            wheels: SingleFlight::new(),
            environments: SingleFlight::new(),
            lock: None,
        })
    }

    /// Builds with the build environments `lock` records (paths relative to `lock_dir`).
    pub fn with_lock(mut self, lock: Arc<Lock>, lock_dir: PathBuf) -> WheelBuilder {
        self.lock = Some((lock, lock_dir));
        self
    }

    /// The lock's wheels for `requires` on this builder's Python, fetched and hash-checked.
    fn locked_environment(
        &self,
        requires: &[String],
    ) -> anyhow::Result<Option<Vec<(PathBuf, String)>>> {
        let Some((lock, lock_dir)) = &self.lock else {
            return Ok(None);
        };
        fetch_locked_environment(lock, lock_dir, requires, &self.interpreter, &self.index)
    }

    /// The wheels of the build environment for `requires`, resolved and downloaded once.
    fn environment_wheels(&self, requires: &[String]) -> anyhow::Result<Arc<EnvironmentWheels>> {
        self.wheels.get_or_try(&requires.to_vec(), || {
            let locked = self.locked_environment(requires)?;
            environment_wheels(
                requires,
                locked.as_deref(),
                &self.index,
                &self.interpreter,
                self.reporter.as_ref(),
            )
            .map(Arc::new)
        })
    }

    /// The build environment for `requires`, installed on first use.
    fn environment(&self, requires: &[String]) -> anyhow::Result<Arc<tempfile::TempDir>> {
        self.environments.get_or_try(&requires.to_vec(), || {
            let wheels = self.environment_wheels(requires)?;
            std::fs::create_dir_all(self.cache.build_dir())?;
            let directory = tempfile::tempdir_in(self.cache.build_dir())?;
            install_environment(&wheels, &self.interpreter, directory.path())?;
            Ok(Arc::new(directory))
        })
    }

    /// Runs `run` on a build request for the source tree `directory`, with scratch space.
    fn with_directory<T>(
        &self,
        directory: &Path,
        run: impl FnOnce(&BuildRequest<'_>) -> anyhow::Result<T>,
    ) -> anyhow::Result<T> {
        std::fs::create_dir_all(self.cache.build_dir())?;
        let scratch = tempfile::tempdir_in(self.cache.build_dir())?;
        let build_system = read_build_system(directory)?;
        let environment = self.environment(&build_system.requires)?;
        let request = BuildRequest {
            source_dir: directory,
            build_system: &build_system,
            interpreter: &self.interpreter,
            work_dir: scratch.path(),
            source_date_epoch: self.source_date_epoch,
            environment: environment.path(),
        };
        run(&request)
    }

    /// Like [`Self::with_directory`], on the tree unpacked from `sdist`. The build
    /// environment its `pyproject.toml` asks for is prepared while the tree is unpacked.
    fn with_source<T>(
        &self,
        sdist: &Path,
        run: impl FnOnce(&BuildRequest<'_>) -> anyhow::Result<T>,
    ) -> anyhow::Result<T> {
        std::fs::create_dir_all(self.cache.build_dir())?;
        let unpacked = tempfile::tempdir_in(self.cache.build_dir())?;
        // A guess read from the archive: the unpacked tree's own file is the one the build
        // uses (and its environment is prepared then, should the two differ).
        let expected = crate::sdist_archive::read_top_level(sdist, PYPROJECT)
            .ok()
            .flatten()
            .map(|text| parse_build_system(Path::new(PYPROJECT), &text))
            .unwrap_or_else(|| Ok(BuildSystem::default()));
        std::thread::scope(|scope| {
            if let Ok(expected) = expected {
                // Errors are met again, and reported, when the build asks for it.
                scope.spawn(move || self.environment(&expected.requires).map(drop));
            }
            let source_dir = extract(sdist, &unpacked.path().join("src"))?;
            self.with_directory(&source_dir, run)
        })
    }

    /// Builds the request's wheel and moves it into `output`.
    fn build_into(&self, request: &BuildRequest<'_>, output: &Path) -> anyhow::Result<PathBuf> {
        let built = build_wheel(request, self.reporter.as_ref())?;
        let name = built.file_name().ok_or_else(|| BuildError::NoOutput {
            directory: built.clone(),
        })?;
        let destination = output.join(name);
        cache::write_atomically(&destination, &std::fs::read(&built)?)?;
        Ok(destination)
    }

    /// The wheel built from `sdist` (whose sha256 is `sha256`), built once and cached.
    pub fn wheel(&self, sdist: &Path, sha256: &str) -> anyhow::Result<PathBuf> {
        let directory = self
            .cache
            .built_wheel_dir(sha256, &self.interpreter.target.name);
        if let Some(existing) = std::fs::read_dir(&directory).ok().and_then(|entries| {
            entries
                .flatten()
                .map(|entry| entry.path())
                .find(|path| path.extension().is_some_and(|ext| ext == "whl"))
        }) {
            return Ok(existing);
        }
        self.with_source(sdist, |request| self.build_into(request, &directory))
    }

    /// The metadata of the source tree in `directory` (a `name @ file:///dir` requirement).
    pub fn directory_metadata(&self, directory: &Path) -> anyhow::Result<String> {
        self.with_directory(directory, |request| {
            prepare_metadata(request, self.reporter.as_ref())
        })
    }

    /// A wheel of the source tree in `directory`, built now (a tree has no hash to cache by),
    /// kept in `output`.
    pub fn directory_wheel(&self, directory: &Path, output: &Path) -> anyhow::Result<PathBuf> {
        self.with_directory(directory, |request| self.build_into(request, output))
    }
}

/// `lock`'s build environment for `requires` on `python`: its wheels fetched (into the cache,
/// or checked where a wheelhouse holds them) and hash-checked, as (path, sha256). `None` when
/// the lock has none (a lock from another tool, or an older pyship).
pub fn fetch_locked_environment(
    lock: &Lock,
    lock_dir: &Path,
    requires: &[String],
    python: &Interpreter,
    index: &PackageIndex,
) -> anyhow::Result<Option<Vec<(PathBuf, String)>>> {
    let Some(items) = lock.build_environment(requires, &python.target) else {
        return Ok(None);
    };
    let fetched = crate::fetch::fetch_all(&items, lock_dir, index, &Progress::hidden())?;
    Ok(Some(
        fetched
            .into_iter()
            .map(|wheel| (wheel.path, wheel.item.file.sha256))
            .collect(),
    ))
}

impl MetadataBuilder for WheelBuilder {
    fn build_metadata(&self, sdist: &Path, sha256: &str) -> Result<String, String> {
        self.metadata.get_or_try(&sha256.to_string(), || {
            let cached = self.cache.metadata_path(&format!("built:{sha256}"));
            if let Ok(text) = std::fs::read_to_string(&cached) {
                return Ok(text);
            }
            let text = self
                .with_source(sdist, |request| {
                    prepare_metadata(request, self.reporter.as_ref())
                })
                .map_err(|error| format!("{error:#}"))?;
            let _ = cache::write_atomically(&cached, text.as_bytes());
            Ok(text)
        })
    }

    fn expect_build(&self) {
        // Most sdists that need a build have no `[build-system]`: resolving and downloading
        // setuptools now takes that off the path of the build that follows. Errors are met
        // again, and reported, by a build that needs them.
        let _ = self.environment_wheels(&BuildSystem::default().requires);
    }
}
