//! `pyship sbom`: the bill of materials of what an artifact would hold, printed.

use super::ExitStatus;
use crate::cli::SbomFormat;
use crate::ops::{self, Workspace};
use crate::printer::Printer;

/// Stages the target (or the one named) and prints its document.
pub(crate) fn sbom(
    workspace: &Workspace,
    format: SbomFormat,
    target: Option<&str>,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    let documents = ops::package::sboms(workspace, target)?;
    if documents.len() > 1 {
        let names: Vec<&str> = documents.iter().map(|(name, ..)| name.as_str()).collect();
        anyhow::bail!(
            "the lock has {} targets ({}): name one with `--target`",
            names.len(),
            names.join(", ")
        );
    }
    for (_, cyclonedx, spdx) in documents {
        let text = match format {
            SbomFormat::Cyclonedx => cyclonedx,
            SbomFormat::Spdx => spdx,
        };
        printer.data(text.trim_end());
    }
    Ok(ExitStatus::Success)
}
