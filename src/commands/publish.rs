//! `pyship publish NAME DESTINATION`: artifacts handed to a publisher plugin.

use std::path::Path;

use super::ExitStatus;
use super::package::plugin_output;
use crate::ops::{self, Workspace};
use crate::printer::Printer;
use crate::reporter::Step;

/// Publishes and prints where each artifact is now.
pub(crate) fn publish(
    workspace: &Workspace,
    name: &str,
    destination: &str,
    artifacts: Option<&Path>,
    target: Option<&str>,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    let result = ops::publish::publish(
        workspace,
        name,
        destination,
        artifacts,
        target,
        plugin_output(printer),
    )?;
    for published in &result.published {
        let file = published
            .artifact
            .file_name()
            .map_or_else(String::new, |name| name.to_string_lossy().into_owned());
        printer.status(Step::Published, format!("`{file}`"));
    }
    for published in &result.published {
        printer.data(&published.location);
    }
    Ok(ExitStatus::Success)
}
