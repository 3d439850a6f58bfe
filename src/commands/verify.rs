//! `pyship verify [FORMAT]`: a line per check as it ends, or one JSON report.

use std::path::Path;

use super::ExitStatus;
use super::package::plugin_output;
use crate::cli::{MessageFormat, VerifyArgs};
use crate::ops::verify::{Request, TargetReport};
use crate::ops::{self, Workspace};
use crate::printer::Printer;
use crate::reporter::Step;

/// Verifies the project's artifacts; exit 1 when a check failed.
pub(crate) fn verify(
    workspace: &Workspace,
    args: VerifyArgs,
    printer: &Printer,
    directory: &Path,
) -> anyhow::Result<ExitStatus> {
    let request = Request {
        format: args.format,
        target: args.target,
        root: args.root.map(|root| directory.join(root)),
        upgrade_from: args
            .upgrade_from
            .iter()
            .map(|path| directory.join(path))
            .collect(),
        timeout: args.timeout,
    };
    let human = args.message_format == MessageFormat::Human;
    let reports = ops::verify::verify(
        workspace,
        &request,
        plugin_output(printer),
        &mut |target, check| {
            if human {
                let verdict = if check.passed { "ok" } else { "FAILED" };
                let detail = if check.detail.is_empty() {
                    String::new()
                } else {
                    format!("\n    {}", check.detail.replace('\n', "\n    "))
                };
                printer.data(format!(
                    "{verdict:6} {:>6.2}s  {target}: {}{detail}",
                    check.seconds, check.name
                ));
            }
        },
    )?;
    let passed = reports.iter().all(|report| report.passed);
    match args.message_format {
        MessageFormat::Json => printer.data(serde_json::to_string(&Report {
            passed,
            targets: &reports,
        })?),
        MessageFormat::Human => {
            let (checks, failed) = reports.iter().fold((0, 0), |(checks, failed), report| {
                (
                    checks + report.checks.len(),
                    failed + report.checks.iter().filter(|c| !c.passed).count(),
                )
            });
            printer.status(
                Step::Finished,
                format!(
                    "{checks} checks, {failed} failed, on {} target{}",
                    reports.len(),
                    if reports.len() == 1 { "" } else { "s" }
                ),
            );
        }
    }
    Ok(if passed {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}

#[derive(serde::Serialize)]
struct Report<'a> {
    passed: bool,
    targets: &'a [TargetReport],
}
