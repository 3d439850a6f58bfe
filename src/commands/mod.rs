//! One function per command, and the project context they share.
//!
//! Each later step runs the earlier ones it needs: `package` builds, `build` fetches,
//! `fetch` locks when the lockfile is missing or stale.

mod build;
mod export;
mod external;
mod fetch;
mod list;
mod lock;
mod package;
mod tree;

pub(crate) use build::build;
pub(crate) use export::export;
pub(crate) use external::{UnknownCommand, external};
pub(crate) use fetch::fetch;
pub(crate) use list::list;
pub(crate) use lock::lock;
pub(crate) use package::package;
pub(crate) use tree::tree;

use std::cell::OnceCell;
use std::path::Path;
use std::process::Command;

use anyhow::Context as _;

use crate::cache::Cache;
use crate::env_vars;
use crate::index::{PackageIndex, Source};
use crate::printer::Printer;
use crate::project::Project;
use crate::python::Interpreter;
use crate::sdist::SdistBuilder;
use crate::settings::GlobalSettings;

/// The default primary index.
pub(crate) const DEFAULT_INDEX_URL: &str = "https://pypi.org/simple";

/// How a command ended, when it did not fail with an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    Success,
    /// The command ran, and its answer is "no" (e.g. `lock --check` on a stale lock).
    Failure,
}

/// Everything a project command needs, loaded once.
pub(crate) struct ProjectContext {
    pub project: Project,
    /// Probed on first use: locking for presets needs no interpreter on this machine.
    interpreter: OnceCell<Interpreter>,
    pub cache: Cache,
    pub offline: bool,
    pub printer: Printer,
    pub source_date_epoch: u64,
}

impl ProjectContext {
    /// Loads the project in the settings' directory and probes its target interpreter.
    pub fn load(settings: &GlobalSettings, printer: Printer) -> anyhow::Result<ProjectContext> {
        let project = Project::load(&settings.directory)?;
        let source_date_epoch = source_date_epoch(&project.root);
        Ok(ProjectContext {
            project,
            interpreter: OnceCell::new(),
            cache: Cache::from_env(),
            offline: settings.offline,
            printer,
            source_date_epoch,
        })
    }

    /// The target interpreter (`[tool.pyship] interpreter`, default `/usr/bin/python3`).
    pub fn interpreter(&self) -> anyhow::Result<&Interpreter> {
        if let Some(interpreter) = self.interpreter.get() {
            return Ok(interpreter);
        }
        let path = self
            .project
            .config
            .interpreter
            .clone()
            .unwrap_or_else(|| "/usr/bin/python3".to_string());
        let interpreter = Interpreter::probe(Path::new(&path))?;
        self.printer.debug(format!(
            "target interpreter: {} ({}) Python {} on {}",
            interpreter.configured.display(),
            interpreter.resolved.display(),
            interpreter.target.python_full_version,
            interpreter.target.platform()
        ));
        Ok(self.interpreter.get_or_init(|| interpreter))
    }

    /// The package index over the project's find-links and indexes.
    pub fn index(&self) -> anyhow::Result<PackageIndex> {
        PackageIndex::new(self.sources()?, self.offline, self.cache.clone()).with_context(|| {
            format!(
                "in `[tool.pyship]` of `{}`",
                self.project.root.join("pyproject.toml").display()
            )
        })
    }

    /// Builds locked sdists with the target interpreter.
    pub fn sdist_builder(&self) -> anyhow::Result<SdistBuilder> {
        SdistBuilder::new(
            self.interpreter()?.clone(),
            self.sources()?,
            self.offline,
            self.cache.clone(),
            self.source_date_epoch,
            self.printer,
        )
    }

    /// The project's find-links directories and indexes, in search order.
    fn sources(&self) -> anyhow::Result<Vec<Source>> {
        let config = &self.project.config;
        let mut sources: Vec<Source> = config
            .find_links
            .iter()
            .map(|directory| Source::FindLinks(self.project.root.join(directory)))
            .collect();
        if !config.no_index {
            let primary = std::env::var(env_vars::PYSHIP_INDEX_URL)
                .ok()
                .filter(|url| !url.is_empty())
                .or_else(|| config.index_url.clone())
                .unwrap_or_else(|| DEFAULT_INDEX_URL.to_string());
            for url in std::iter::once(&primary).chain(&config.extra_index_url) {
                sources.push(Source::Simple(PackageIndex::parse_index_url(url)?));
            }
        }
        Ok(sources)
    }
}

/// `SOURCE_DATE_EPOCH`, else the project's last commit time, else now.
fn source_date_epoch(root: &Path) -> u64 {
    if let Some(epoch) = std::env::var(env_vars::SOURCE_DATE_EPOCH)
        .ok()
        .and_then(|value| value.trim().parse().ok())
    {
        return epoch;
    }
    if let Some(epoch) = git(root, &["log", "-1", "--format=%ct"]).and_then(|out| out.parse().ok())
    {
        return epoch;
    }
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |duration| duration.as_secs())
}

/// The trimmed output of a git command run in `root`, if it succeeds.
pub(crate) fn git(root: &Path, args: &[&str]) -> Option<String> {
    let output = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(args)
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8(output.stdout).ok()?.trim().to_string();
    (output.status.success() && !text.is_empty()).then_some(text)
}

/// The lock `export` and `tree` read: `--lockfile FILE`, else the project's pylock.toml.
pub(crate) fn read_lock(
    global: &GlobalSettings,
    lockfile: Option<std::path::PathBuf>,
) -> anyhow::Result<crate::lockfile::Lock> {
    let path = match lockfile {
        Some(path) => global.directory.join(path),
        None => Project::load(&global.directory)?.lockfile_path(),
    };
    crate::lockfile::Lock::read(&path).context("run `pyship lock` first")
}
