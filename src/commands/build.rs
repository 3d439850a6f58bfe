//! `pyship build`: the virtualenv staged at its install prefix, everything installed.

use super::ExitStatus;
use crate::ops::{self, Workspace};
use crate::printer::Printer;

/// Stages the project and prints the staged prefix.
pub(crate) fn build(workspace: &Workspace, printer: &Printer) -> anyhow::Result<ExitStatus> {
    let staged = ops::stage::stage(workspace)?;
    printer.data(staged.venv.staged_prefix().display());
    Ok(ExitStatus::Success)
}
