//! The build environments a lock records, so that every PEP 517 build is reproducible and
//! works offline: for the project's own wheel, and for each sdist or source tree a target
//! builds, `[build-system] requires` resolved by pyship's resolver (wheels only: a build
//! requirement is never itself built) for the Python on this machine that will run the build.
//!
//! Environments are keyed by (requirements, Python X.Y): sdists with the same
//! `[build-system]` share one, and `used-by` says who uses it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use pep508_rs::PackageName;
use pep508_rs::pep440_rs::Version;

use super::LockPlan;
use crate::index::PackageIndex;
use crate::lockfile::{BuildEnvironment, InstallItem, Lock, LockedPackage, locked_file};
use crate::ops::{matching_python, probe_existing};
use crate::project::{BuildSystem, parse_build_system, read_build_system};
use crate::python::Interpreter;
use crate::reporter::{Progress, Reporter};
use crate::resolver::{self, OnlyBinary, ResolveOptions};

/// One environment to lock: who uses it, and the Python that runs their builds.
struct Wanted {
    python: Interpreter,
    used_by: BTreeSet<String>,
}

/// The build environments of `lock`'s builds. One that cannot be resolved (a build
/// requirement without wheels, say) is left out with a warning: the build then resolves its
/// requirements when it runs, as it would without a lock.
pub(crate) fn lock_build_environments(
    plan: &LockPlan,
    lock: &Lock,
    index: &PackageIndex,
    reporter: &dyn Reporter,
) -> anyhow::Result<Vec<BuildEnvironment>> {
    let mut probed: BTreeMap<PathBuf, Option<Interpreter>> = BTreeMap::new();
    // Each path probed once, however many targets name it.
    let mut probe = |path: &Path| {
        probed
            .entry(path.to_path_buf())
            .or_insert_with(|| probe_existing(path))
            .clone()
    };
    let mut wanted: BTreeMap<(Vec<String>, String), Wanted> = BTreeMap::new();
    let mut want = |requires: Vec<String>, python: &Interpreter, user: String| {
        wanted
            .entry((requires, python.target.python_version()))
            .or_insert_with(|| Wanted {
                python: python.clone(),
                used_by: BTreeSet::new(),
            })
            .used_by
            .insert(user);
    };
    for (target, candidates) in plan.targets.iter().zip(&plan.build_candidates) {
        let matching = matching_python(candidates, target, &mut probe);
        if let Some((name, requires)) = &plan.app_build {
            let app_python = matching
                .clone()
                .or_else(|| plan.app_build_fallback.as_deref().and_then(&mut probe));
            if let Some(python) = app_python {
                want(requires.clone(), &python, name.clone());
            }
        }
        // Without a matching Python, this target's sdists cannot be built here at all;
        // staging says so.
        let Some(python) = matching else { continue };
        for item in lock.select_with_groups(target, &lock.dependency_groups)? {
            if !item.is_sdist() && !item.is_source_tree() {
                continue;
            }
            let build_system = build_system_of(&item, &plan.base_dir, index)?;
            want(build_system.requires, &python, item.package.name.clone());
        }
    }

    let mut environments = Vec::new();
    for ((requires, python_version), wanted) in wanted {
        match resolve_environment(plan, &requires, &wanted.python, index) {
            Ok(packages) => environments.push(BuildEnvironment {
                requires,
                python: python_version,
                used_by: wanted.used_by.into_iter().collect(),
                packages,
            }),
            Err(error) => reporter.warning(&format!(
                "the build requirements {requires:?} of {} were not locked ({error:#}); their builds will resolve them when they run",
                wanted.used_by.into_iter().collect::<Vec<_>>().join(", ")
            )),
        }
    }
    Ok(environments)
}

/// The `[build-system]` of a locked sdist (read from the archive, fetched and hash-checked
/// first) or source tree.
fn build_system_of(
    item: &InstallItem,
    base_dir: &Path,
    index: &PackageIndex,
) -> anyhow::Result<BuildSystem> {
    if item.is_source_tree() {
        let directory = base_dir.join(item.file.path.as_deref().unwrap_or_default());
        return Ok(read_build_system(&directory)?);
    }
    let fetched = crate::fetch::fetch_all(
        std::slice::from_ref(item),
        base_dir,
        index,
        &Progress::hidden(),
    )?;
    let sdist = &fetched[0].path;
    match crate::sdist_archive::read_top_level(sdist, "pyproject.toml")? {
        Some(text) => Ok(parse_build_system(&sdist.join("pyproject.toml"), &text)?),
        // PEP 517: no pyproject.toml means legacy setuptools.
        None => Ok(BuildSystem::default()),
    }
}

/// `requires` resolved for `python`, wheels only, under the plan's cut-off date.
fn resolve_environment(
    plan: &LockPlan,
    requires: &[String],
    python: &Interpreter,
    index: &PackageIndex,
) -> anyhow::Result<Vec<LockedPackage>> {
    let requirements = requires
        .iter()
        .map(|requirement| {
            crate::pep508::parse_requirement(requirement)
                .map_err(|message| anyhow::anyhow!("`{requirement}`: {message}"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let options = ResolveOptions {
        only_binary: OnlyBinary::All,
        exclude_newer: plan.options.exclude_newer.clone(),
        prerelease: plan.options.prerelease,
        ..ResolveOptions::default()
    };
    let root = PackageName::from_str("pyship-build-env").expect("a valid name");
    let solution = resolver::resolve(
        &root,
        &Version::new([0]),
        &requirements,
        index,
        &python.target,
        &options,
    )?;
    solution
        .packages
        .iter()
        .map(|package| {
            Ok(LockedPackage {
                name: package.name.to_string(),
                version: package.version.to_string(),
                marker: None,
                index: None,
                dependencies: Vec::new(),
                wheels: vec![locked_file(&package.file, index, &plan.base_dir)?],
                sdist: None,
                directory: None,
            })
        })
        .collect()
}
