//! Locking: a [`LockPlan`] (from a project or from requirements files, see [`plan`]) resolved
//! once per target and assembled into one lock.

mod build_envs;
mod direct;
mod frozen;
pub(crate) mod plan;
pub(crate) mod txt;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context as _, bail};
use pep508_rs::Requirement;
use pep508_rs::pep440_rs::VersionSpecifiers;

use super::Workspace;
use crate::cache::{self, Cache};
use crate::index::PackageIndex;
use crate::lockfile::{self, Lock, LockfileError, Resolution};
use crate::pep517::WheelBuilder;
use crate::python::Target;
use crate::reporter::Reporter;
use crate::reporter::{ProgressKind, Step};
use crate::resolver::{self, Builder, Edge};
use crate::settings::LockSettings;

pub(crate) use plan::LockPlan;

/// Resolves the plan for every target and assembles the lock.
pub(crate) fn resolve(
    plan: &LockPlan,
    offline: bool,
    cache: &Cache,
    reporter: &Arc<dyn Reporter>,
) -> anyhow::Result<Lock> {
    check_requires_python(plan)?;
    let index = PackageIndex::new(plan.sources.clone(), offline, cache.clone())?
        .with_trace(crate::reporter::tracer(reporter.clone()));
    let mut options = plan.options.clone();
    let builder = match &plan.build_python {
        Some(python) => Some(Arc::new(WheelBuilder::new(
            python.clone(),
            plan.sources.clone(),
            offline,
            cache.clone(),
            0,
            reporter.clone(),
        )?)),
        None => None,
    };
    if let Some(builder) = &builder {
        options.metadata_builder = Some(Builder(builder.clone()));
    }
    options.constraints = plan.constraints.clone();
    if let Some(frozen) = &plan.frozen {
        options.constraint_origins = frozen
            .pins
            .iter()
            .map(|pin| (pin.name.clone(), pin.origin.clone()))
            .collect();
    }
    let all_requirements: Vec<Requirement> = plan
        .requirements
        .iter()
        .chain(plan.groups.values().flatten())
        .cloned()
        .collect();
    direct::allow_yanked_pins(&all_requirements, &mut options);
    direct::add_direct_references(&all_requirements, builder.as_deref(), &mut options)?;
    if let Some(frozen) = &plan.frozen {
        reporter.status(
            Step::Pinning,
            &format!(
                "{} versions frozen in `{}`",
                frozen.pins.len(),
                display_name(&frozen.path)
            ),
        );
    }
    let started = Instant::now();
    let mut resolutions = Vec::new();
    for target in &plan.targets {
        reporter.status(
            Step::Resolving,
            &format!(
                "for {} (Python {}, {})",
                target.name,
                target.python_full_version,
                target.platform()
            ),
        );
        let spinner = reporter.progress(
            Step::Resolving,
            ProgressKind::Spinner {
                message: target.name.clone(),
            },
        );
        let solution = spinner.while_waiting(
            &target.name,
            || index.longest_wait(),
            || {
                resolver::resolve(
                    &plan.root_name,
                    &plan.root_version,
                    &all_requirements,
                    &index,
                    target,
                    &options,
                )
            },
        )?;
        spinner.finish();
        for note in solution.skipped.iter().chain(&solution.held_back) {
            reporter.debug(note);
        }
        let packages = solution.packages;
        let main_roots = root_names(&plan.requirements, target);
        let groups = plan
            .groups
            .iter()
            .map(|(group, requirements)| (group.clone(), root_names(requirements, target)))
            .collect();
        resolutions.push(Resolution {
            target,
            packages,
            main_roots,
            groups,
        });
    }
    let mut lock = lockfile::assemble(
        &resolutions,
        &index,
        &plan.base_dir,
        plan.requires_python.clone(),
        plan.groups.keys().cloned().collect(),
        plan.inputs(),
    )?;
    if let Some(frozen) = &plan.frozen {
        frozen::hold_to(frozen, &mut lock, reporter.as_ref())?;
    }
    // A requirements.txt cannot hold them.
    if !writes_requirements_txt(plan) {
        lock.build_environments =
            build_envs::lock_build_environments(plan, &lock, &index, reporter.as_ref())?;
    }
    reporter.status(
        Step::Resolved,
        &format!(
            "{} packages in {:.2}s",
            lock.packages.len(),
            started.elapsed().as_secs_f64()
        ),
    );
    Ok(lock)
}

/// Every target must be a Python the project accepts.
fn check_requires_python(plan: &LockPlan) -> anyhow::Result<()> {
    let Some(requires_python) = &plan.requires_python else {
        return Ok(());
    };
    let specifiers = VersionSpecifiers::from_str(requires_python).with_context(|| {
        format!("invalid `requires-python = \"{requires_python}\"` in `[project]`")
    })?;
    for target in &plan.targets {
        if !specifiers.contains(&target.python_full_version) {
            bail!(
                "the project requires Python {requires_python}, but the target `{}` is Python {}",
                target.name,
                target.python_full_version
            );
        }
    }
    Ok(())
}

/// What the requirements ask for directly on `target`: each package, and each extra of it
/// they name.
fn root_names(requirements: &[Requirement], target: &Target) -> BTreeSet<Edge> {
    requirements
        .iter()
        .filter(|requirement| requirement.marker.evaluate(&target.markers, &[]))
        .flat_map(|requirement| {
            std::iter::once((requirement.name.clone(), None)).chain(
                requirement
                    .extras
                    .iter()
                    .map(|extra| (requirement.name.clone(), Some(extra.clone()))),
            )
        })
        .collect()
}

/// Why `--locked` stopped a run.
#[derive(Debug, thiserror::Error)]
pub enum LockedError {
    #[error("`{}` is missing, and `--locked` forbids writing it", path.display())]
    Missing { path: std::path::PathBuf },
    #[error("`{}` is out of date ({reason}), and `--locked` forbids updating it", path.display())]
    Stale {
        path: std::path::PathBuf,
        reason: String,
    },
}

impl crate::diagnostics::Diagnostic for LockedError {
    fn hint(&self) -> Option<String> {
        Some("run `pyship lock` without `--locked` and commit pylock.toml".into())
    }
}

/// A project's lock and the targets it was made for.
pub(crate) struct Locked {
    pub lock: Lock,
    pub targets: Vec<Target>,
}

/// The project's lock for its current inputs: the lockfile when fresh, else a new one,
/// written.
pub(crate) fn ensure_lock(workspace: &Workspace) -> anyhow::Result<Locked> {
    let path = workspace.project.lockfile_path();
    // A lock that exists but cannot be read is an error, never silently replaced: it may be
    // another tool's, hand-edited, or hostile, and the user must see why.
    let existing = match Lock::read(&path) {
        Ok(lock) => Some(lock),
        Err(LockfileError::Read { source, .. })
            if source.kind() == std::io::ErrorKind::NotFound =>
        {
            None
        }
        Err(error) => {
            return Err(anyhow::Error::new(error).context(format!(
                "cannot use `{}`; fix it, or delete it and run `pyship lock`",
                path.display()
            )));
        }
    };
    // Keep the groups the lock was made with: building must not drop a `--group test` lock.
    // Keep its targets too when the project names none and the lock was made for presets
    // (`pyship lock --target debian-11`): never re-lock for this machine behind the user's back.
    let preset_targets = existing
        .as_ref()
        .filter(|_| workspace.project.config.targets.is_empty())
        .map(|lock| plan::target_names(&lock.inputs))
        .filter(|names| {
            !names.is_empty()
                && names
                    .iter()
                    .all(|name| crate::python::PRESETS.iter().any(|p| p.name == name))
        })
        .unwrap_or_default();
    let settings = LockSettings {
        groups: existing
            .as_ref()
            .map(|lock| lock.dependency_groups.clone())
            .unwrap_or_default(),
        targets: preset_targets,
        ..LockSettings::default()
    };
    let plan = plan::for_project(workspace, &settings)?;
    let reporter = &workspace.reporter;
    if let Some(lock) = existing
        .as_ref()
        .filter(|lock| lock.created_by != lockfile::CREATED_BY)
    {
        return use_foreign_lock(lock.clone(), plan, reporter.as_ref());
    }
    if let Some(lock) = existing {
        if lock.inputs == plan.inputs() {
            reporter.debug(&format!("`{}` is up to date", plan.output.display()));
            return Ok(Locked {
                lock,
                targets: plan.targets,
            });
        }
        if workspace.locked {
            return Err(LockedError::Stale {
                path: plan.output.clone(),
                reason: "the requirements or targets changed".into(),
            }
            .into());
        }
        reporter.debug(&format!(
            "`{}` is stale: the requirements or targets changed",
            plan.output.display()
        ));
    } else if workspace.locked {
        return Err(LockedError::Missing {
            path: plan.output.clone(),
        }
        .into());
    }
    let lock = resolve(&plan, workspace.offline, &workspace.cache, reporter)?;
    let rendered = render(&plan, &lock);
    let existing = std::fs::read_to_string(&plan.output).ok();
    write(
        &plan.output,
        &rendered,
        existing.as_deref(),
        reporter.as_ref(),
    )?;
    Ok(Locked {
        lock,
        targets: plan.targets,
    })
}

/// A lock another tool wrote (uv's pylock.toml, say) is used as it is when it covers every
/// target; otherwise the build stops with the reason and the command that replaces it. It
/// has no pyship inputs to tell staleness by, and replacing it would discard the user's
/// tool's decisions behind their back.
fn use_foreign_lock(lock: Lock, plan: LockPlan, reporter: &dyn Reporter) -> anyhow::Result<Locked> {
    let tool = if lock.created_by.is_empty() {
        "another tool"
    } else {
        lock.created_by.as_str()
    };
    for target in &plan.targets {
        if let Err(error) = lock.select(target) {
            bail!(
                "`{}` was written by {tool} and cannot be used for the target `{}`: {error}; `pyship lock` replaces it with a lock of pyship's (or re-lock with {tool} for this target)",
                plan.output.display(),
                target.name
            );
        }
    }
    reporter.status(
        Step::Fresh,
        &format!(
            "{} (written by {tool}, used as it is)",
            display_name(&plan.output)
        ),
    );
    Ok(Locked {
        lock,
        targets: plan.targets,
    })
}

/// The lock as written to the plan's output: pylock.toml, or requirements.txt for `.txt`.
pub(crate) fn render(plan: &LockPlan, lock: &Lock) -> String {
    if writes_requirements_txt(plan) {
        lockfile::export_requirements_txt(lock, &plan.annotations)
    } else {
        lock.render()
    }
}

/// Whether the plan's output is a requirements.txt (`-o -` or a `.txt` file).
fn writes_requirements_txt(plan: &LockPlan) -> bool {
    plan.stdout || plan.output.extension().is_some_and(|ext| ext == "txt")
}

/// Writes `rendered` to `path` atomically, unless it already holds exactly that.
pub(crate) fn write(
    path: &Path,
    rendered: &str,
    existing: Option<&str>,
    reporter: &dyn Reporter,
) -> anyhow::Result<()> {
    let name = display_name(path);
    if existing == Some(rendered) {
        reporter.status(Step::Fresh, &name);
        return Ok(());
    }
    cache::write_atomically(path, rendered.as_bytes())
        .with_context(|| format!("failed to write `{}`", path.display()))?;
    if let Some(existing) = existing {
        for (step, change) in changes(path, existing, rendered) {
            reporter.status(step, &change);
        }
    }
    reporter.status(Step::Locked, &name);
    Ok(())
}

/// What a new pylock.toml changes of the old one, as uv says it: `Updated click v8.1.8 ->
/// v8.5.1`, `Added`, `Removed`; nothing when either is not a pylock pyship reads.
fn changes(path: &Path, old: &str, new: &str) -> Vec<(Step, String)> {
    let versions = |text: &str| -> Option<BTreeMap<String, BTreeSet<String>>> {
        let lock = Lock::parse(path, text).ok()?;
        let mut versions: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for package in lock.packages {
            versions
                .entry(package.name)
                .or_default()
                .insert(format!("v{}", package.version));
        }
        Some(versions)
    };
    let (Some(old), Some(new)) = (versions(old), versions(new)) else {
        return Vec::new();
    };
    let join = |set: &BTreeSet<String>| set.iter().cloned().collect::<Vec<_>>().join(", ");
    let mut changes = Vec::new();
    for (name, versions) in &new {
        match old.get(name) {
            None => changes.push((Step::Added, format!("{name} {}", join(versions)))),
            Some(before) if before != versions => changes.push((
                Step::Updated,
                format!("{name} {} -> {}", join(before), join(versions)),
            )),
            Some(_) => {}
        }
    }
    for (name, versions) in &old {
        if !new.contains_key(name) {
            changes.push((Step::Removed, format!("{name} {}", join(versions))));
        }
    }
    changes
}

/// The result of a lock as one JSON object (`pyship lock --message-format json`): where it
/// was written, whether it changed, its targets and packages.
pub(crate) fn summary(plan: &LockPlan, lock: &Lock, written: bool) -> serde_json::Value {
    serde_json::json!({
        "lockfile": plan.output,
        "written": written,
        "targets": plan.targets.iter().map(|target| &target.name).collect::<Vec<_>>(),
        "packages": lock
            .packages
            .iter()
            .map(|package| serde_json::json!({"name": package.name, "version": package.version}))
            .collect::<Vec<_>>(),
    })
}

/// The file name alone, for status lines.
pub(crate) fn display_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |name| name.to_string_lossy().into_owned(),
    )
}

/// A warning when a `.toml` output is not named as PEP 751 names lock files.
pub(crate) fn file_name_warning(output: &Path) -> Option<String> {
    let name = output.file_name()?.to_str()?;
    let pep751_name = name == "pylock.toml"
        || name
            .strip_prefix("pylock.")
            .and_then(|rest| rest.strip_suffix(".toml"))
            .is_some_and(|middle| !middle.is_empty() && !middle.contains('.'));
    (name.ends_with(".toml") && !pep751_name).then(|| {
        format!(
            "PEP 751 names lock files `pylock.toml` or `pylock.NAME.toml`; other tools may refuse `{name}`"
        )
    })
}
