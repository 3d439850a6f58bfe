//! `pyship init`: the settings that ship the project, written into its pyproject.toml.

use std::path::Path;

use super::ExitStatus;
use crate::ops::init;
use crate::printer::Printer;
use crate::reporter::Step;

/// Plans and writes the settings; prints the pyproject.toml written.
pub(crate) fn init(directory: &Path, printer: &Printer) -> anyhow::Result<ExitStatus> {
    let plan = init::plan(directory)?;
    for finding in &plan.findings {
        printer.status(Step::Found, finding);
    }
    init::write(&plan)?;
    let verb = if plan.created {
        "created"
    } else {
        "added `[tool.pyship]` to"
    };
    printer.status(
        Step::Finished,
        format!("{verb} `{}`", plan.pyproject.display()),
    );
    if let Some((path, _)) = &plan.gitignore {
        printer.status(
            Step::Finished,
            format!("`/target/` added to `{}`", path.display()),
        );
    }
    printer.data(plan.pyproject.display());
    Ok(ExitStatus::Success)
}
