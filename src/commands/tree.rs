//! `pyship tree`: the locked dependency tree, from the lock's `dependencies` entries.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::str::FromStr;

use pep508_rs::{PackageName, Requirement};

use super::{ExitStatus, read_lock};
use crate::lockfile::LockedPackage;
use crate::printer::Printer;
use crate::settings::GlobalSettings;

/// Prints the tree on stdout, each package once in full; repeats are marked `(*)`.
pub(crate) fn tree(
    global: &GlobalSettings,
    lockfile: Option<PathBuf>,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    let lock = read_lock(global, lockfile)?;
    let by_name: BTreeMap<String, &LockedPackage> = lock
        .packages
        .iter()
        .map(|package| (package.name.clone(), package))
        .collect();
    let mut roots: BTreeSet<String> = lock
        .inputs
        .requirements
        .iter()
        .filter_map(|line| {
            let requirement = line.split(" ; group ").next().unwrap_or(line);
            Requirement::<pep508_rs::VerbatimUrl>::from_str(requirement).ok()
        })
        .map(|requirement| requirement.name.to_string())
        .filter(|name| by_name.contains_key(name))
        .collect();
    if roots.is_empty() {
        // A lock written by another tool: start from packages nothing depends on.
        let depended: BTreeSet<&String> = lock
            .packages
            .iter()
            .flat_map(|package| &package.dependencies)
            .collect();
        roots = by_name
            .keys()
            .filter(|name| !depended.contains(name))
            .cloned()
            .collect();
    }
    let mut shown = BTreeSet::new();
    for root in &roots {
        print_node(root, &by_name, "", "", &mut shown, printer);
    }
    Ok(ExitStatus::Success)
}

fn print_node(
    name: &str,
    by_name: &BTreeMap<String, &LockedPackage>,
    prefix: &str,
    child_prefix: &str,
    shown: &mut BTreeSet<String>,
    printer: &Printer,
) {
    let Some(package) = by_name.get(name) else {
        return;
    };
    let repeated = !shown.insert(name.to_string());
    let marker = if repeated && !package.dependencies.is_empty() {
        " (*)"
    } else {
        ""
    };
    printer.data(format!(
        "{prefix}{} v{}{marker}",
        package.name, package.version
    ));
    if repeated {
        return;
    }
    let dependencies: Vec<&String> = package
        .dependencies
        .iter()
        .filter(|dependency| {
            PackageName::from_str(dependency).is_ok() && by_name.contains_key(*dependency)
        })
        .collect();
    for (position, dependency) in dependencies.iter().enumerate() {
        let last = position + 1 == dependencies.len();
        let (branch, next) = if last {
            ("└── ", "    ")
        } else {
            ("├── ", "│   ")
        };
        print_node(
            dependency,
            by_name,
            &format!("{child_prefix}{branch}"),
            &format!("{child_prefix}{next}"),
            shown,
            printer,
        );
    }
}
