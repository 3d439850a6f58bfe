//! One lock from several per-target resolutions.
//!
//! A package at the same version on every target is one entry with the union of the wheels
//! each target installs. A package only some targets need gets a `marker` naming those
//! targets' environments, so one lockfile serves a fleet of different servers (PEP 751
//! `environments` + per-package markers). A package only dependency groups need gets a
//! `'GROUP' in dependency_groups` marker and is left out of the shipped tree.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use pep508_rs::PackageName;
use pep508_rs::pep440_rs::Version;

use super::{Lock, LockInputs, LockedPackage, LockedWheel};
use crate::index::{DistFile, FileLocation, IndexError, PackageIndex, strip_credentials};
use crate::python::Target;
use crate::resolver::{Edge, ResolvedPackage};

/// One target's resolution, with what its main requirements and each group ask for directly
/// (a package, and an extra of it when one is named).
pub struct Resolution<'a> {
    pub target: &'a Target,
    pub packages: Vec<ResolvedPackage>,
    pub main_roots: BTreeSet<Edge>,
    pub groups: BTreeMap<String, BTreeSet<Edge>>,
}

#[derive(Default)]
struct Entry {
    targets: BTreeSet<usize>,
    wheels: BTreeMap<String, LockedWheel>,
    sdist: Option<LockedWheel>,
    directory: Option<String>,
    dependencies: BTreeSet<String>,
    index: Option<String>,
    main: bool,
    groups: BTreeSet<String>,
}

/// Builds the lock; `base_dir` anchors the relative paths of local wheels.
pub fn assemble(
    resolutions: &[Resolution<'_>],
    index: &PackageIndex,
    base_dir: &Path,
    requires_python: Option<String>,
    dependency_groups: Vec<String>,
    inputs: LockInputs,
) -> Result<Lock, IndexError> {
    let mut entries: BTreeMap<(PackageName, Version), Entry> = BTreeMap::new();
    for (position, resolution) in resolutions.iter().enumerate() {
        let main = reachable(&resolution.packages, &resolution.main_roots);
        let groups: Vec<(&String, BTreeSet<PackageName>)> = resolution
            .groups
            .iter()
            .map(|(group, roots)| (group, reachable(&resolution.packages, roots)))
            .collect();
        for package in &resolution.packages {
            let entry = entries
                .entry((package.name.clone(), package.version.clone()))
                .or_default();
            entry.targets.insert(position);
            entry
                .dependencies
                .extend(package.dependencies.iter().map(ToString::to_string));
            entry.main |= main.contains(&package.name);
            for (group, members) in &groups {
                if members.contains(&package.name) {
                    entry.groups.insert((*group).clone());
                }
            }
            let file = &package.file;
            if let (true, FileLocation::Path(path)) = (file.directory, &file.location) {
                entry.directory = Some(relative_to(base_dir, path));
                continue;
            }
            entry.index = entry.index.take().or_else(|| file.index.clone());
            if entry.sdist.is_none() {
                if let Some(sdist) = &package.sdist {
                    entry.sdist = Some(locked_file(sdist, index, base_dir)?);
                }
            }
            if !file.is_sdist() && !entry.wheels.contains_key(&file.file_name) {
                entry
                    .wheels
                    .insert(file.file_name.clone(), locked_file(file, index, base_dir)?);
            }
        }
    }
    let environments: Vec<String> = resolutions
        .iter()
        .map(|resolution| resolution.target.environment_marker())
        .collect();
    let packages = entries
        .into_iter()
        .map(|((name, version), entry)| {
            let marker = if !entry.main && !entry.groups.is_empty() {
                Some(
                    entry
                        .groups
                        .iter()
                        .map(|group| format!("'{group}' in dependency_groups"))
                        .collect::<Vec<_>>()
                        .join(" or "),
                )
            } else if entry.targets.len() < resolutions.len() {
                let markers: Vec<String> = entry
                    .targets
                    .iter()
                    .map(|position| format!("({})", environments[*position]))
                    .collect();
                Some(markers.join(" or "))
            } else {
                None
            };
            LockedPackage {
                name: name.to_string(),
                version: version.to_string(),
                marker,
                index: entry.index,
                dependencies: entry.dependencies.into_iter().collect(),
                wheels: entry.wheels.into_values().collect(),
                sdist: entry.sdist,
                directory: entry.directory,
            }
        })
        .collect();
    Ok(Lock {
        requires_python,
        environments,
        dependency_groups,
        packages,
        inputs,
        created_by: super::CREATED_BY.into(),
        build_environments: Vec::new(),
    })
}

/// A wheel or sdist as the lock records it: where it is, its size, upload time and sha256.
pub fn locked_file(
    file: &DistFile,
    index: &PackageIndex,
    base_dir: &Path,
) -> Result<LockedWheel, IndexError> {
    let (url, path) = match &file.location {
        // A lock is shared and committed: it never carries credentials.
        FileLocation::Url(url) => (Some(strip_credentials(url).to_string()), None),
        FileLocation::Path(path) => (None, Some(relative_to(base_dir, path))),
    };
    Ok(LockedWheel {
        name: file.file_name.clone(),
        url,
        path,
        size: file.size,
        // Written unquoted (a TOML datetime): only what parses as one, as it renders.
        upload_time: file
            .upload_time
            .as_deref()
            .and_then(|time| time.parse::<toml::value::Datetime>().ok())
            .map(|time| time.to_string()),
        sha256: index.sha256(file)?,
    })
}

/// The packages reachable from `roots` through the resolved dependency edges.
fn reachable(packages: &[ResolvedPackage], roots: &BTreeSet<Edge>) -> BTreeSet<PackageName> {
    let by_name: BTreeMap<&PackageName, &ResolvedPackage> = packages
        .iter()
        .map(|package| (&package.name, package))
        .collect();
    // Walk (package, extra) pairs: an extra's edges count only where something asks for it.
    let mut seen: BTreeSet<Edge> = BTreeSet::new();
    let mut stack: Vec<Edge> = roots.iter().cloned().collect();
    while let Some((name, extra)) = stack.pop() {
        if !seen.insert((name.clone(), extra.clone())) {
            continue;
        }
        if extra.is_some() {
            stack.push((name.clone(), None));
        }
        if let Some(package) = by_name.get(&name) {
            if let Some(edges) = package.edges.get(&extra) {
                stack.extend(edges.iter().cloned());
            }
        }
    }
    seen.into_iter().map(|(name, _)| name).collect()
}

/// A local path as the lock records it: relative to `base` when inside it, `/`-separated.
fn relative_to(base: &Path, path: &Path) -> String {
    match path.strip_prefix(base) {
        Ok(relative) => relative
            .components()
            .map(|component| component.as_os_str().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("/"),
        Err(_) => path.display().to_string(),
    }
}
