//! One function per command: resolve its settings, call one operation of `ops`, print the
//! result (data on stdout; status went to stderr through the reporter).

mod build;
mod cache;
mod docs;
mod export;
mod external;
mod fetch;
mod init;
mod list;
mod lock;
mod package;
mod publish;
mod run;
mod sbom;
mod tree;
mod verify;

pub(crate) use build::build;
pub(crate) use cache::cache;
pub(crate) use docs::{completions, man};
pub(crate) use export::export;
pub(crate) use external::{UnknownCommand, external};
pub(crate) use fetch::fetch;
pub(crate) use init::init;
pub(crate) use list::list;
pub(crate) use lock::lock;
pub(crate) use package::package;
pub(crate) use publish::publish;
pub(crate) use run::run;
pub(crate) use sbom::sbom;
pub(crate) use tree::tree;
pub(crate) use verify::verify;

use std::sync::Arc;

use anyhow::Context as _;

use crate::ops::Workspace;
use crate::printer::Printer;
use crate::project::Project;
use crate::settings::{GlobalSettings, IndexSettings};

/// How a command ended, when it did not fail with an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    Success,
    /// The command ran, and its answer is "no" (e.g. `lock --check` on a stale lock).
    Failure,
    /// The exit status of a program pyship ran for the user (`pyship run`).
    Code(u8),
}

/// The project in the settings' directory, with the index flags given on the command line,
/// reporting to `printer`.
pub(crate) fn workspace(
    global: &GlobalSettings,
    index: &IndexSettings,
    printer: Printer,
) -> anyhow::Result<Workspace> {
    Workspace::load(
        &project_directory(global),
        global.target_dir.as_deref(),
        index,
        global.offline,
        global.locked,
        Arc::new(printer),
    )
}

/// The project's directory: from a subdirectory, the project around it (cargo's and uv's
/// rule); the directory itself when none is (so that the error names it).
fn project_directory(global: &GlobalSettings) -> std::path::PathBuf {
    crate::project::enclosing_project(&global.directory).unwrap_or_else(|| global.directory.clone())
}

/// The lock `export` and `tree` read: `--lockfile FILE`, else the project's pylock.toml.
pub(crate) fn read_lock(
    global: &GlobalSettings,
    lockfile: Option<std::path::PathBuf>,
) -> anyhow::Result<crate::lockfile::Lock> {
    let path = match lockfile {
        Some(path) => global.directory.join(path),
        None => Project::load(&project_directory(global))?.lockfile_path(),
    };
    crate::lockfile::Lock::read(&path).context("run `pyship lock` first")
}
