//! `pyship export`: the project's lock in another format.

use anyhow::Context as _;

use super::{ExitStatus, read_lock};
use crate::cache;
use crate::cli::ExportArgs;
use crate::lockfile::export_requirements_txt;
use crate::printer::Printer;
use crate::reporter::Step;
use crate::settings::GlobalSettings;

/// Writes requirements.txt from the lock, to `output` or stdout.
pub(crate) fn export(
    global: &GlobalSettings,
    args: ExportArgs,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    let lock = read_lock(global, args.lockfile)?;
    for group in &args.groups {
        if !lock.dependency_groups.contains(group) {
            let locked = if lock.dependency_groups.is_empty() {
                "none".to_string()
            } else {
                lock.dependency_groups.join(", ")
            };
            anyhow::bail!(
                "the lock has no dependency group `{group}` (it has {locked}): lock it with `pyship lock --group {group}`"
            );
        }
    }
    let mut annotations = crate::ops::lock::txt::for_lock(&lock);
    annotations.without_hashes = args.no_hashes;
    annotations.groups = args.groups;
    let output = args.output;
    let text = export_requirements_txt(&lock, &annotations);
    match output {
        Some(output) => {
            let output = global.directory.join(output);
            cache::write_atomically(&output, text.as_bytes())
                .with_context(|| format!("failed to write `{}`", output.display()))?;
            printer.status(Step::Finished, format!("`{}`", output.display()));
        }
        None => printer.data(text.trim_end()),
    }
    Ok(ExitStatus::Success)
}
