//! The locked dependency tree as text (`pyship tree`): from the lock's requirements down, or
//! inverted (who needs a package), from one package, to a depth.

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

use pep508_rs::{PackageName, Requirement};

use super::Lock;

/// How to draw the tree.
#[derive(Debug, Clone, Default)]
pub struct TreeOptions {
    /// Show who depends on each package instead of what it depends on.
    pub invert: bool,
    /// Start from these packages only (normalized or not).
    pub packages: Vec<String>,
    /// Levels below the roots to show; `None` for all.
    pub depth: Option<usize>,
}

/// Why a tree could not be drawn.
#[derive(Debug, thiserror::Error)]
#[error("the lock has no package `{name}`{}", suggestion.as_ref().map(|s| format!("; did you mean `{s}`?")).unwrap_or_default())]
pub struct NoSuchPackage {
    pub name: String,
    pub suggestion: Option<String>,
}

/// The tree's lines: `flask v3.0.3`, then `├── click v8.1.8`…; a package shown before is
/// marked `(*)` and not expanded again.
pub fn render_tree(lock: &Lock, options: &TreeOptions) -> Result<Vec<String>, NoSuchPackage> {
    let graph = Graph::of(lock, options)?;
    let mut lines = Vec::new();
    let mut shown = BTreeSet::new();
    for root in &graph.roots {
        draw(
            root,
            &graph.edges,
            &graph.versions,
            ("", ""),
            0,
            options.depth,
            &mut shown,
            &mut lines,
        );
    }
    Ok(lines)
}

/// The same tree as JSON: a list of `{"name", "version", "dependencies": [...]}`; a package
/// shown before is `{"name", "version", "repeated": true}`.
pub fn tree_json(lock: &Lock, options: &TreeOptions) -> Result<serde_json::Value, NoSuchPackage> {
    fn node(
        name: &str,
        graph: &Graph<'_>,
        level: usize,
        depth: Option<usize>,
        shown: &mut BTreeSet<String>,
    ) -> serde_json::Value {
        let version = graph.versions.get(name).copied().unwrap_or_default();
        if !shown.insert(name.to_string()) {
            return serde_json::json!({"name": name, "version": version, "repeated": true});
        }
        let children: Vec<serde_json::Value> = if depth.is_some_and(|depth| level >= depth) {
            Vec::new()
        } else {
            graph
                .edges
                .get(name)
                .into_iter()
                .flatten()
                .map(|child| node(child, graph, level + 1, depth, shown))
                .collect()
        };
        serde_json::json!({"name": name, "version": version, "dependencies": children})
    }
    let graph = Graph::of(lock, options)?;
    let mut shown = BTreeSet::new();
    Ok(serde_json::Value::Array(
        graph
            .roots
            .iter()
            .map(|root| node(root, &graph, 0, options.depth, &mut shown))
            .collect(),
    ))
}

/// The lock's packages as a graph (inverted when asked), and where to start.
struct Graph<'l> {
    versions: BTreeMap<&'l str, &'l str>,
    edges: BTreeMap<&'l str, BTreeSet<&'l str>>,
    roots: Vec<String>,
}

impl<'l> Graph<'l> {
    fn of(lock: &'l Lock, options: &TreeOptions) -> Result<Graph<'l>, NoSuchPackage> {
        let versions: BTreeMap<&str, &str> = lock
            .packages
            .iter()
            .map(|package| (package.name.as_str(), package.version.as_str()))
            .collect();
        let mut edges: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for package in &lock.packages {
            let children = edges.entry(package.name.as_str()).or_default();
            for dependency in &package.dependencies {
                if PackageName::from_str(dependency).is_ok()
                    && versions.contains_key(dependency.as_str())
                {
                    children.insert(dependency.as_str());
                }
            }
        }
        if options.invert {
            let mut inverted: BTreeMap<&str, BTreeSet<&str>> = versions
                .keys()
                .map(|name| (*name, BTreeSet::new()))
                .collect();
            for (parent, children) in &edges {
                for child in children {
                    inverted.entry(child).or_default().insert(parent);
                }
            }
            edges = inverted;
        }
        let roots: Vec<String> = if options.packages.is_empty() {
            default_roots(lock, &edges, &versions, options.invert)
        } else {
            options
                .packages
                .iter()
                .map(|name| {
                    let normalized = PackageName::from_str(name)
                        .map(|name| name.to_string())
                        .unwrap_or_else(|_| name.clone());
                    if versions.contains_key(normalized.as_str()) {
                        Ok(normalized)
                    } else {
                        Err(NoSuchPackage {
                            name: name.clone(),
                            suggestion: versions
                                .keys()
                                .min_by_key(|known| {
                                    crate::diagnostics::edit_distance(&normalized, known)
                                })
                                .filter(|known| {
                                    crate::diagnostics::edit_distance(&normalized, known) <= 2
                                })
                                .map(|known| known.to_string()),
                        })
                    }
                })
                .collect::<Result<_, _>>()?
        };
        Ok(Graph {
            versions,
            edges,
            roots,
        })
    }
}

/// The roots when none is asked for: the lock's own requirements (what nothing depends on, for
/// another tool's lock); inverted, the packages that depend on nothing.
fn default_roots(
    lock: &Lock,
    edges: &BTreeMap<&str, BTreeSet<&str>>,
    versions: &BTreeMap<&str, &str>,
    invert: bool,
) -> Vec<String> {
    if invert {
        // Packages nothing depends on below: the leaves of the normal tree.
        return lock
            .packages
            .iter()
            .filter(|package| {
                !package
                    .dependencies
                    .iter()
                    .any(|dependency| versions.contains_key(dependency.as_str()))
            })
            .map(|package| package.name.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
    }
    let requested: BTreeSet<String> = lock
        .inputs
        .requirements
        .iter()
        .filter_map(|line| {
            let requirement = line.split(" ; group ").next().unwrap_or(line);
            Requirement::<pep508_rs::VerbatimUrl>::from_str(requirement).ok()
        })
        .map(|requirement| requirement.name.to_string())
        .filter(|name| versions.contains_key(name.as_str()))
        .collect();
    if !requested.is_empty() {
        return requested.into_iter().collect();
    }
    let depended: BTreeSet<&str> = edges.values().flatten().copied().collect();
    versions
        .keys()
        .filter(|name| !depended.contains(*name))
        .map(|name| name.to_string())
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn draw(
    name: &str,
    edges: &BTreeMap<&str, BTreeSet<&str>>,
    versions: &BTreeMap<&str, &str>,
    (prefix, child_prefix): (&str, &str),
    level: usize,
    depth: Option<usize>,
    shown: &mut BTreeSet<String>,
    lines: &mut Vec<String>,
) {
    let Some(version) = versions.get(name) else {
        return;
    };
    let children: Vec<&str> = edges
        .get(name)
        .map(|children| children.iter().copied().collect())
        .unwrap_or_default();
    let repeated = !shown.insert(name.to_string());
    let marker = if repeated && !children.is_empty() {
        " (*)"
    } else {
        ""
    };
    lines.push(format!("{prefix}{name} v{version}{marker}"));
    if repeated || depth.is_some_and(|depth| level >= depth) {
        return;
    }
    for (position, child) in children.iter().enumerate() {
        let last = position + 1 == children.len();
        let (branch, next) = if last {
            ("└── ", "    ")
        } else {
            ("├── ", "│   ")
        };
        draw(
            child,
            edges,
            versions,
            (
                &format!("{child_prefix}{branch}"),
                &format!("{child_prefix}{next}"),
            ),
            level + 1,
            depth,
            shown,
            lines,
        );
    }
}
