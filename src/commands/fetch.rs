//! `pyship fetch`: locked files on disk, hash-checked; optionally a wheelhouse.

use std::path::PathBuf;

use super::ExitStatus;
use crate::ops::{self, Workspace};
use crate::printer::Printer;
use crate::reporter::Step;

/// Locks if needed, then fetches every locked wheel (all targets), and the sdists of packages
/// that have no wheel; with a wheelhouse (the flag, else `[tool.pyship] wheelhouse`), copies
/// them there with a static index and prints its path.
pub(crate) fn fetch(
    workspace: &Workspace,
    wheelhouse: Option<PathBuf>,
    prune: bool,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    let locked = ops::lock::ensure_lock(workspace)?;
    let fetched = ops::fetch::fetch(workspace, &locked.lock.all_files())?;
    let project = &workspace.project;
    let Some(directory) = wheelhouse.or_else(|| {
        project
            .config
            .wheelhouse
            .as_ref()
            .map(|directory| project.root.join(directory))
    }) else {
        return Ok(ExitStatus::Success);
    };
    let report = ops::wheelhouse::write(&directory, &fetched, prune)?;
    printer.status(
        Step::Finished,
        format!(
            "wheelhouse `{}`: {} files, {} copied",
            directory.display(),
            fetched.len(),
            report.copied
        ),
    );
    if !report.stale.is_empty() {
        if report.pruned {
            printer.status(
                Step::Pruned,
                format!("{} files the lock no longer holds", report.stale.len()),
            );
        } else {
            printer.warning(format!(
                "the wheelhouse holds files the lock does not: {}; `pyship fetch --prune` removes them",
                report.stale.join(", ")
            ));
        }
    }
    printer.data(directory.display());
    Ok(ExitStatus::Success)
}
