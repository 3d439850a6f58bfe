//! The operations, as a library: [`lock`], [`fetch`], [`stage`], [`package`].
//!
//! Each takes settings already merged (a [`Workspace`], or a [`lock::LockPlan`]) and returns
//! data: a lock, fetched files, a staged tree, artifacts. They report through the workspace's
//! [`Reporter`] and never print; the command line's `commands/` turn their results into output.
//! Later steps call the earlier ones they need: packaging stages, staging fetches what the lock
//! selects, fetching locks when the lockfile is missing or stale.

mod dynamic;
pub(crate) mod fetch;
mod fresh;
pub(crate) mod init;
pub(crate) mod lock;
pub(crate) mod package;
pub(crate) mod publish;
pub(crate) mod run;
pub(crate) mod stage;
pub(crate) mod verify;
pub(crate) mod wheelhouse;

use std::cell::OnceCell;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use anyhow::Context as _;

use crate::cache::Cache;
use crate::env_vars;
use crate::index::{PackageIndex, Source};
use crate::pep517::WheelBuilder;
use crate::project::Project;
use crate::python::{Interpreter, Target};
use crate::reporter::Reporter;
use crate::settings::{DEFAULT_INTERPRETER, IndexSettings};

/// A project and everything its operations share, resolved once.
pub(crate) struct Workspace {
    pub project: Project,
    /// Probed on first use: locking for presets needs no interpreter on this machine.
    interpreter: OnceCell<Interpreter>,
    pub index_settings: IndexSettings,
    pub cache: Cache,
    pub offline: bool,
    /// The lockfile is used as it is; a missing or stale one is an error (`--locked`).
    pub locked: bool,
    pub source_date_epoch: u64,
    pub reporter: Arc<dyn Reporter>,
}

impl Workspace {
    /// Loads the project in `directory`; `cli` holds the index flags given on the command line.
    pub fn load(
        directory: &Path,
        target_dir: Option<&Path>,
        cli: &IndexSettings,
        offline: bool,
        locked: bool,
        reporter: Arc<dyn Reporter>,
    ) -> anyhow::Result<Workspace> {
        let mut project = Project::load(directory)?;
        project.target_root = target_dir.map(Path::to_path_buf);
        let installed = || crate::plugin::list_plugins().into_keys().collect();
        for format in project.check_format_tables(installed)? {
            reporter.warning(&format!(
                "no plugin `pyship-{format}` is installed here: `[tool.pyship.{format}]` is read only by `pyship package {format}`"
            ));
        }
        let mut workspace = Workspace {
            index_settings: IndexSettings::for_project(cli, &project),
            source_date_epoch: source_date_epoch(&project.root)?,
            project,
            interpreter: OnceCell::new(),
            cache: Cache::from_env(),
            offline,
            locked,
            reporter,
        };
        if !workspace.project.dynamic.is_empty() {
            let interpreter = workspace.interpreter()?.clone();
            let sources = workspace.sources()?;
            dynamic::fill(
                &mut workspace.project,
                &interpreter,
                sources,
                offline,
                &workspace.cache,
                workspace.source_date_epoch,
                workspace.reporter.clone(),
            )?;
        }
        Ok(workspace)
    }

    /// The target interpreter (`[tool.pyship] interpreter`, else [`DEFAULT_INTERPRETER`]).
    pub fn interpreter(&self) -> anyhow::Result<&Interpreter> {
        if let Some(interpreter) = self.interpreter.get() {
            return Ok(interpreter);
        }
        let path = self
            .project
            .config
            .interpreter
            .as_deref()
            .unwrap_or(DEFAULT_INTERPRETER);
        let interpreter = Interpreter::probe(Path::new(path))?;
        self.reporter.debug(&format!(
            "target interpreter: {} ({}) Python {} on {}",
            interpreter.configured.display(),
            interpreter.resolved.display(),
            interpreter.target.python_full_version,
            interpreter.target.platform()
        ));
        Ok(self.interpreter.get_or_init(|| interpreter))
    }

    /// The project's find-links directories and indexes, in search order.
    pub fn sources(&self) -> anyhow::Result<Vec<Source>> {
        self.index_settings.sources().with_context(|| {
            format!(
                "in `[tool.pyship]` of `{}`",
                self.project.pyproject_path().display()
            )
        })
    }

    /// The package index over [`Self::sources`].
    pub fn index(&self) -> anyhow::Result<PackageIndex> {
        PackageIndex::new(self.sources()?, self.offline, self.cache.clone())
            .map(|index| index.with_trace(crate::reporter::tracer(self.reporter.clone())))
            .with_context(|| {
                format!(
                    "in `[tool.pyship]` of `{}`",
                    self.project.pyproject_path().display()
                )
            })
    }

    /// The interpreters that may build for `target`, best first: the `build-interpreter`
    /// setting, the target's own interpreter path, the project's interpreter, then
    /// `pythonX.Y` of the target's X.Y in each PATH directory.
    pub fn build_python_candidates(&self, target: &Target) -> Vec<PathBuf> {
        let config = &self.project.config;
        let mut candidates: Vec<PathBuf> = Vec::new();
        candidates.extend(config.build_interpreter.iter().map(PathBuf::from));
        candidates.extend(target.interpreter.iter().cloned());
        candidates.push(PathBuf::from(
            config.interpreter.as_deref().unwrap_or(DEFAULT_INTERPRETER),
        ));
        // Then `pythonX.Y` on PATH (pyenv, a distribution's other versions), as uv looks.
        let name = format!("python{}", target.python_version());
        if let Some(path) = std::env::var_os("PATH") {
            candidates.extend(
                std::env::split_paths(&path)
                    .filter(|directory| directory.is_absolute())
                    .map(|directory| directory.join(&name))
                    .filter(|candidate| candidate.is_file()),
            );
        }
        let mut seen = std::collections::HashSet::new();
        candidates.retain(|candidate| seen.insert(candidate.clone()));
        candidates
    }

    /// A Python on this machine that can build and byte-compile for `target` (same X.Y),
    /// the first of [`Self::build_python_candidates`]; `None` when there is none.
    pub fn build_python(&self, target: &Target) -> Option<Interpreter> {
        matching_python(
            &self.build_python_candidates(target),
            target,
            probe_existing,
        )
    }

    /// Builds wheels (of locked sdists and source trees) with `python`.
    pub fn wheel_builder(&self, python: &Interpreter) -> anyhow::Result<WheelBuilder> {
        WheelBuilder::new(
            python.clone(),
            self.sources()?,
            self.offline,
            self.cache.clone(),
            self.source_date_epoch,
            self.reporter.clone(),
        )
    }
}

/// The first of `candidates` (interpreter paths, best first) that `probe` finds and that has
/// `target`'s Python X.Y: the one that builds and byte-compiles for it.
pub(crate) fn matching_python(
    candidates: &[PathBuf],
    target: &Target,
    probe: impl FnMut(&Path) -> Option<Interpreter>,
) -> Option<Interpreter> {
    candidates
        .iter()
        .map(PathBuf::as_path)
        .filter_map(probe)
        .find(|interpreter| interpreter.target.python_minor == target.python_minor)
}

/// The interpreter at `path`, when there is one that runs.
pub(crate) fn probe_existing(path: &Path) -> Option<Interpreter> {
    path.exists()
        .then(|| Interpreter::probe(path).ok())
        .flatten()
}

/// `SOURCE_DATE_EPOCH`, else the project's last commit time, else pyproject.toml's
/// modification time. A value every format
/// cannot record (RPM's times are 32-bit) or that is not a number is refused: it would give a
/// corrupt archive or a wrapped date, not an error, further on.
fn source_date_epoch(root: &Path) -> anyhow::Result<u64> {
    let limit = pyship_plugin::grammar::MAX_SOURCE_DATE_EPOCH;
    if let Ok(value) = std::env::var(env_vars::SOURCE_DATE_EPOCH) {
        if !value.trim().is_empty() {
            return match value.trim().parse::<u64>() {
                Ok(epoch) if epoch <= limit => Ok(epoch),
                _ => anyhow::bail!(
                    "SOURCE_DATE_EPOCH is `{}`: it must be whole seconds since 1970 from 0 to {limit} (2106-02-07), the range every package format records",
                    value.escape_debug()
                ),
            };
        }
    }
    if let Some(epoch) = git(root, &["log", "-1", "--format=%ct"]).and_then(|out| out.parse().ok())
    {
        return Ok(epoch);
    }
    // Outside a checkout: when pyproject.toml last changed, so that two builds of the same
    // project agree (and a rebuild reuses what is compressed) instead of differing by the
    // time they ran.
    let modified = std::fs::metadata(root.join(crate::project::PYPROJECT))
        .and_then(|metadata| metadata.modified())
        .ok()
        .and_then(|time| time.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|duration| duration.as_secs());
    Ok(modified
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |duration| duration.as_secs())
        })
        .min(limit))
}

/// The trimmed output of a git command run in `root`, if it succeeds.
pub(crate) fn git(root: &Path, args: &[&str]) -> Option<String> {
    let output = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(args)
        // Read the checkout, never refresh its index behind the user's back.
        .env("GIT_OPTIONAL_LOCKS", "0")
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8(output.stdout).ok()?.trim().to_string();
    (output.status.success() && !text.is_empty()).then_some(text)
}
