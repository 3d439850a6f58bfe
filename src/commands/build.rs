//! `pyship build`: the virtualenv staged at its install prefix, everything installed, for
//! each target of the lock.

use super::ExitStatus;
use crate::ops::{self, Workspace};
use crate::printer::Printer;

/// Stages the project for each target (or the one named) and prints the staged prefixes.
pub(crate) fn build(
    workspace: &Workspace,
    target: Option<&str>,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    for staged in ops::stage::stage_targets(workspace, target)? {
        printer.data(staged.venv.staged_prefix().display());
    }
    Ok(ExitStatus::Success)
}
