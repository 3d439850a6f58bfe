//! `pyship lock`: resolve the project's dependencies into pylock.toml.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context as _, bail};
use pep508_rs::pep440_rs::VersionSpecifiers;

use super::{ExitStatus, ProjectContext};
use crate::cache;
use crate::index::FileLocation;
use crate::lockfile::{Lock, LockInputs, LockedPackage, LockedWheel};
use crate::printer::verb;
use crate::resolver;

/// Writes the lockfile, or with `check`, only reports whether it is up to date.
pub(crate) fn lock(context: &ProjectContext, check: bool) -> anyhow::Result<ExitStatus> {
    let path = context.project.lockfile_path();
    let lock = resolve_lock(context)?;
    let rendered = lock.render();
    let existing = std::fs::read_to_string(&path).ok();
    if check {
        return Ok(if existing.as_deref() == Some(rendered.as_str()) {
            context.printer.status(verb::FRESH, display_name(&path));
            ExitStatus::Success
        } else {
            context.printer.warning(format!(
                "`{}` is {}; run `pyship lock` to update it",
                path.display(),
                if existing.is_some() {
                    "out of date"
                } else {
                    "missing"
                }
            ));
            ExitStatus::Failure
        });
    }
    write_lock(context, &path, &rendered, existing.as_deref())?;
    Ok(ExitStatus::Success)
}

/// The lock for the current inputs: the lockfile when it is fresh, else a new resolution
/// (written to disk).
pub(crate) fn ensure_lock(context: &ProjectContext) -> anyhow::Result<Lock> {
    let path = context.project.lockfile_path();
    if path.is_file() {
        let lock = Lock::read(&path)?;
        if lock.inputs == current_inputs(context) {
            context
                .printer
                .debug(format!("`{}` is up to date", path.display()));
            return Ok(lock);
        }
        context.printer.debug(format!(
            "`{}` is stale: the requirements or target changed",
            path.display()
        ));
    }
    let lock = resolve_lock(context)?;
    let rendered = lock.render();
    let existing = std::fs::read_to_string(&path).ok();
    write_lock(context, &path, &rendered, existing.as_deref())?;
    Ok(lock)
}

fn write_lock(
    context: &ProjectContext,
    path: &Path,
    rendered: &str,
    existing: Option<&str>,
) -> anyhow::Result<()> {
    if existing == Some(rendered) {
        context.printer.status(verb::FRESH, display_name(path));
        return Ok(());
    }
    cache::write_atomically(path, rendered.as_bytes())
        .with_context(|| format!("failed to write `{}`", path.display()))?;
    context.printer.status(verb::LOCKED, display_name(path));
    Ok(())
}

fn display_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |name| name.to_string_lossy().into_owned(),
    )
}

/// What a lock made now would be made from.
fn current_inputs(context: &ProjectContext) -> LockInputs {
    let interpreter = &context.interpreter;
    let platform = match interpreter.glibc {
        Some((major, minor)) => format!("{}-manylinux_{major}_{minor}", interpreter.arch),
        None => format!("{}-linux", interpreter.arch),
    };
    LockInputs {
        requirements: context
            .project
            .dependencies
            .iter()
            .map(ToString::to_string)
            .collect(),
        python_full_version: interpreter.python_full_version.to_string(),
        platform,
    }
}

/// Resolves the project's dependencies and turns the result into a lock.
fn resolve_lock(context: &ProjectContext) -> anyhow::Result<Lock> {
    let project = &context.project;
    let started = Instant::now();
    context.printer.status(
        verb::RESOLVING,
        format!(
            "dependencies of `{}` for Python {} ({})",
            project.name, context.interpreter.python_full_version, context.interpreter.arch
        ),
    );
    if let Some(requires_python) = &project.requires_python {
        let specifiers: VersionSpecifiers = requires_python.parse().with_context(|| {
            format!("invalid `requires-python = \"{requires_python}\"` in `[project]`")
        })?;
        if !specifiers.contains(&context.interpreter.python_full_version) {
            bail!(
                "the project requires Python {requires_python}, but the target interpreter `{}` is Python {}",
                context.interpreter.configured.display(),
                context.interpreter.python_full_version
            );
        }
    }
    let index = context.index()?;
    let version = project
        .version
        .parse()
        .context("the project version is not PEP 440")?;
    let resolved = resolver::resolve(
        &project.name,
        &version,
        &project.dependencies,
        &index,
        &context.interpreter,
    )?;
    let mut packages = Vec::with_capacity(resolved.len());
    for package in resolved {
        let file = &package.file;
        let sha256 = index
            .sha256(file)
            .with_context(|| format!("failed to hash `{}`", file.file_name))?;
        let (url, path, size) = match &file.location {
            FileLocation::Url(url) => (Some(url.to_string()), None, None),
            FileLocation::Path(path) => (
                None,
                Some(lock_relative(&project.root, path)),
                std::fs::metadata(path).ok().map(|metadata| metadata.len()),
            ),
        };
        packages.push(LockedPackage {
            name: package.name.to_string(),
            version: package.version.to_string(),
            index: file.index.clone(),
            dependencies: package
                .dependencies
                .iter()
                .map(ToString::to_string)
                .collect(),
            wheel: LockedWheel {
                name: file.file_name.clone(),
                url,
                path,
                size,
                sha256,
            },
        });
    }
    context.printer.status(
        verb::RESOLVED,
        format!(
            "{} packages in {:.2}s",
            packages.len(),
            started.elapsed().as_secs_f64()
        ),
    );
    let markers = &context.interpreter;
    Ok(Lock {
        requires_python: project.requires_python.clone(),
        environments: vec![format!(
            "python_full_version == '{}' and platform_machine == '{}' and sys_platform == 'linux'",
            markers.python_full_version, markers.arch
        )],
        packages,
        inputs: current_inputs(context),
    })
}

/// A path as the lockfile records it: relative to the project when inside it.
fn lock_relative(root: &Path, path: &Path) -> String {
    match path.strip_prefix(root) {
        Ok(relative) => relative
            .components()
            .map(|component| component.as_os_str().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("/"),
        Err(_) => path.display().to_string(),
    }
}
