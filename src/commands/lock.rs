//! `pyship lock`: resolve requirements for every target into pylock.toml or requirements.txt.
//!
//! Two ways in: a project (`[project]` dependencies, settings from `[tool.pyship]`, flags on
//! top) or pip-compile style files (`-r requirements.in`, every setting from flags and the
//! files); both become a plan that `ops::lock` resolves.

use std::sync::Arc;

use super::{ExitStatus, workspace};
use crate::cache::Cache;
use crate::lockfile;
use crate::ops::lock::{self, plan};
use crate::printer::Printer;
use crate::reporter::Reporter;
use crate::reporter::Step;
use crate::settings::{GlobalSettings, LockSettings};

/// `pyship lock` for a project, or pip-compile style with `-r`; with `--check`, only says
/// whether the lockfile is current and prints what would change.
pub(crate) fn lock(
    global: &GlobalSettings,
    mut settings: LockSettings,
    printer: Printer,
) -> anyhow::Result<ExitStatus> {
    // `--find-links` is relative to the project directory, as `-C` makes it current.
    for directory in &mut settings.index.find_links {
        *directory = global.directory.join(&*directory);
    }
    let reporter: Arc<dyn Reporter> = Arc::new(printer);
    let plan = if settings.requirements.is_empty() {
        plan::for_project(&workspace(global, &settings.index, printer)?, &settings)?
    } else {
        plan::for_requirements(&global.directory, &settings, &printer)?
    };
    if let Some(warning) = lock::file_name_warning(&plan.output) {
        printer.warning(warning);
    }
    let locked_to_stdout = plan.stdout;
    let existing = (!locked_to_stdout)
        .then(|| std::fs::read_to_string(&plan.output).ok())
        .flatten();
    let locked = lock::resolve(&plan, global.offline, &Cache::from_env(), &reporter)?;
    let rendered = lock::render(&plan, &locked);
    if locked_to_stdout {
        printer.data(rendered.trim_end());
        return Ok(ExitStatus::Success);
    }
    if global.locked && existing.as_deref() != Some(rendered.as_str()) {
        return Err(match existing {
            None => lock::LockedError::Missing { path: plan.output },
            Some(_) => lock::LockedError::Stale {
                path: plan.output,
                reason: "locking again gives a different result".into(),
            },
        }
        .into());
    }
    if !settings.check {
        lock::write(&plan.output, &rendered, existing.as_deref(), &printer)?;
        if settings.json {
            let written = existing.as_deref() != Some(rendered.as_str());
            printer.data(lock::summary(&plan, &locked, written));
        }
        return Ok(ExitStatus::Success);
    }
    if existing.as_deref() == Some(rendered.as_str()) {
        printer.status(Step::Fresh, lock::display_name(&plan.output));
        return Ok(ExitStatus::Success);
    }
    printer.warning(format!(
        "`{}` is {}; run `pyship lock` to update it",
        plan.output.display(),
        if existing.is_some() {
            "out of date"
        } else {
            "missing"
        }
    ));
    // What would change, as data on stdout: `+ name version`, `- …`, `~ old -> new`.
    for line in lockfile::diff_pins(existing.as_deref().unwrap_or(""), &rendered) {
        printer.data(line);
    }
    Ok(ExitStatus::Failure)
}
