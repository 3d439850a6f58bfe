//! A wheelhouse: exactly the locked files in one directory, with a static PEP 503 `simple/`
//! index over them, so that the directory can be committed, used with `--offline` as
//! find-links, or served to many build machines by any static file server (pip's
//! `--index-url URL/simple`, `--find-links DIR`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::str::FromStr;

use anyhow::Context as _;

use pep508_rs::PackageName;

use crate::cache::{sha256_file, write_atomically};
use crate::fetch::FetchedWheel;

/// What writing a wheelhouse did.
#[derive(Debug, Default)]
pub(crate) struct WheelhouseReport {
    /// Files copied in this run (the others were there with the right hash).
    pub copied: usize,
    /// Files in the directory that the lock does not hold.
    pub stale: Vec<String>,
    /// Whether the stale files were removed.
    pub pruned: bool,
}

/// The files pyship copied into a wheelhouse, one name a line: what `--prune` may remove.
const RECORD: &str = ".pyship-wheelhouse";

/// A file name with no path in it.
fn is_plain_file_name(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains(['/', '\\', '\0'])
}

/// PEP 503's normalized project name (what `PackageName` keeps).
fn normalized(name: &str) -> String {
    PackageName::from_str(name).map_or_else(|_| name.to_ascii_lowercase(), |name| name.to_string())
}

/// Copies every fetched file (source trees aside) into `directory`, writes `simple/`, and
/// reports (or, with `prune`, removes) the files that the lock no longer holds.
pub(crate) fn write(
    directory: &Path,
    fetched: &[FetchedWheel],
    prune: bool,
) -> anyhow::Result<WheelhouseReport> {
    std::fs::create_dir_all(directory)
        .with_context(|| format!("failed to create `{}`", directory.display()))?;
    let mut report = WheelhouseReport::default();
    let mut projects: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for wheel in fetched.iter().filter(|wheel| !wheel.item.is_source_tree()) {
        let file = &wheel.item.file;
        let destination = directory.join(&file.name);
        if sha256_file(&destination).ok().as_deref() != Some(file.sha256.as_str()) {
            let bytes = std::fs::read(&wheel.path)
                .with_context(|| format!("failed to read `{}`", wheel.path.display()))?;
            write_atomically(&destination, &bytes)
                .with_context(|| format!("failed to write `{}`", destination.display()))?;
            report.copied += 1;
        }
        projects
            .entry(normalized(&wheel.item.package.name))
            .or_default()
            .insert(file.name.clone(), file.sha256.clone());
    }
    // Only files pyship put here are ever its to prune: the record lists them (a wheelhouse
    // may be a directory that holds other archives too).
    let record_path = directory.join(RECORD);
    let recorded: BTreeSet<String> = std::fs::read_to_string(&record_path)
        .unwrap_or_default()
        .lines()
        .filter(|name| is_plain_file_name(name))
        .map(str::to_string)
        .collect();
    let locked: BTreeSet<&String> = projects.values().flat_map(BTreeMap::keys).collect();
    let mut kept: BTreeSet<String> = locked.iter().map(|name| name.to_string()).collect();
    for name in &recorded {
        let path = directory.join(name);
        if locked.contains(name) || !path.is_file() {
            continue;
        }
        if prune {
            std::fs::remove_file(&path)
                .with_context(|| format!("failed to remove `{}`", path.display()))?;
        } else {
            kept.insert(name.clone());
        }
        report.stale.push(name.clone());
    }
    let record: String = kept.iter().map(|name| format!("{name}\n")).collect();
    write_atomically(&record_path, record.as_bytes())
        .with_context(|| format!("failed to write `{}`", record_path.display()))?;
    report.pruned = prune;
    write_index(directory, &projects)?;
    Ok(report)
}

/// `simple/index.html` and `simple/PROJECT/index.html`, links relative to the wheelhouse.
fn write_index(
    directory: &Path,
    projects: &BTreeMap<String, BTreeMap<String, String>>,
) -> anyhow::Result<()> {
    let simple = directory.join("simple");
    let page = |title: &str, links: String| {
        format!(
            "<!DOCTYPE html>\n<html>\n<head><meta name=\"pypi:repository-version\" content=\"1.0\"><title>{title}</title></head>\n<body>\n{links}</body>\n</html>\n"
        )
    };
    let mut root_links = String::new();
    for (project, files) in projects {
        root_links.push_str(&format!("<a href=\"{project}/\">{project}</a>\n"));
        let links: String = files
            .iter()
            .map(|(name, sha256)| format!("<a href=\"../../{name}#sha256={sha256}\">{name}</a>\n"))
            .collect();
        let path = simple.join(project).join("index.html");
        write_atomically(
            &path,
            page(&format!("Links for {project}"), links).as_bytes(),
        )
        .with_context(|| format!("failed to write `{}`", path.display()))?;
    }
    let path = simple.join("index.html");
    write_atomically(&path, page("Simple index", root_links).as_bytes())
        .with_context(|| format!("failed to write `{}`", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::normalized;

    #[test]
    fn names_are_normalized_as_pep_503_says() {
        assert_eq!(normalized("Flask_SQLAlchemy"), "flask-sqlalchemy");
        assert_eq!(normalized("zope.interface"), "zope-interface");
        assert_eq!(normalized("a--b__c"), "a-b-c");
    }
}
