//! `pyship package FORMAT`: the artifacts a plugin makes of the staged project.

use super::ExitStatus;
use crate::ops::package::PluginOutput;
use crate::ops::{self, Workspace};
use crate::printer::{Printer, Verbosity, verb};

/// Packages the project in `format` and prints the artifact paths.
pub(crate) fn package(
    workspace: &Workspace,
    format: &str,
    target: Option<&str>,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    let output = PluginOutput {
        verbose: printer.verbosity() >= Verbosity::Verbose,
        quiet: printer.verbosity() <= Verbosity::Quiet,
        color: printer.color(),
    };
    let artifacts = ops::package::package(workspace, format, target, output)?;
    let root = &workspace.project.root;
    for artifact in &artifacts {
        let relative = artifact.path.strip_prefix(root).unwrap_or(&artifact.path);
        printer.status(verb::FINISHED, format!("`{}`", relative.display()));
    }
    for artifact in &artifacts {
        printer.data(artifact.path.display());
    }
    Ok(ExitStatus::Success)
}
