//! `pyship package FORMAT`: the artifacts a plugin makes of the staged project.

use super::ExitStatus;
use crate::cli::MessageFormat;
use crate::ops::package::PluginOutput;
use crate::ops::{self, Workspace};
use crate::printer::{Printer, Verbosity};
use crate::reporter::Step;

/// How a plugin should print, from pyship's own verbosity.
pub(crate) fn plugin_output(printer: &Printer) -> PluginOutput {
    PluginOutput {
        verbose: printer.verbosity() >= Verbosity::Verbose,
        quiet: printer.verbosity() <= Verbosity::Quiet,
        color: printer.color(),
    }
}

/// Packages the project in `format` and prints the artifact paths (or, as JSON, the
/// artifacts with their sizes and sha256s).
pub(crate) fn package(
    workspace: &Workspace,
    format: &str,
    target: Option<&str>,
    message_format: MessageFormat,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    let artifacts = ops::package::package(workspace, format, target, plugin_output(printer))?;
    let root = &workspace.project.root;
    for artifact in &artifacts {
        let relative = artifact.path.strip_prefix(root).unwrap_or(&artifact.path);
        printer.status(Step::Finished, format!("`{}`", relative.display()));
    }
    match message_format {
        MessageFormat::Json => {
            // The plugin's result, and the bills of materials written beside each artifact.
            let mut result =
                serde_json::to_value(pyship_plugin::PackageResult::new(artifacts.clone()))?;
            let mut sboms = Vec::new();
            for artifact in &artifacts {
                let [cyclonedx, spdx] = ops::package::sboms_beside(&artifact.path);
                let provenance = ops::package::provenance_beside(&artifact.path);
                for (path, kind) in [
                    (cyclonedx, "cyclonedx"),
                    (spdx, "spdx"),
                    (provenance, "provenance"),
                ] {
                    let Ok(bytes) = std::fs::read(&path) else {
                        continue;
                    };
                    sboms.push(serde_json::json!({
                        "path": path,
                        "kind": kind,
                        "describes": artifact.path,
                        "size": bytes.len(),
                        "sha256": crate::cache::sha256_hex(&bytes),
                    }));
                }
            }
            result["sboms"] = serde_json::Value::Array(sboms);
            printer.data(serde_json::to_string(&result)?);
        }
        MessageFormat::Human => {
            for artifact in &artifacts {
                printer.data(artifact.path.display());
            }
        }
    }
    Ok(ExitStatus::Success)
}
