//! Fetching: locked files on disk, hash-checked.

use super::Workspace;
use crate::fetch::{FetchedWheel, fetch_all};
use crate::lockfile::InstallItem;
use crate::reporter::{ProgressKind, Step};

/// Fetches `items` (wheels, sdists, source trees of the lock) and reports what was downloaded.
pub(crate) fn fetch(
    workspace: &Workspace,
    items: &[InstallItem],
) -> anyhow::Result<Vec<FetchedWheel>> {
    check_source_trees(workspace, items)?;
    let index = workspace.index()?;
    let reporter = workspace.reporter.as_ref();
    let progress = reporter.progress(
        Step::Fetching,
        ProgressKind::Bytes {
            total: crate::fetch::total_size(items),
        },
    );
    let wheels = progress.while_waiting(
        "",
        || index.longest_wait(),
        || fetch_all(items, &workspace.project.root, &index, &progress),
    )?;
    progress.finish();
    for wheel in wheels.iter().filter(|wheel| wheel.repaired) {
        reporter.warning(&format!(
            "the cached `{}` did not match its locked sha256; it was downloaded again",
            wheel.item.file.name
        ));
    }
    let downloaded: Vec<&FetchedWheel> = wheels.iter().filter(|wheel| wheel.downloaded).collect();
    let bytes: u64 = downloaded
        .iter()
        .filter_map(|wheel| std::fs::metadata(&wheel.path).ok())
        .map(|metadata| metadata.len())
        .sum();
    if downloaded.is_empty() {
        reporter.status(Step::Fresh, &format!("{} files, all on disk", wheels.len()));
    } else {
        reporter.status(
            Step::Downloaded,
            &format!(
                "{} files ({:.1} MiB)",
                downloaded.len(),
                bytes as f64 / (1024.0 * 1024.0)
            ),
        );
    }
    Ok(wheels)
}

/// A lock's `directory` entry is built and shipped with no hash, from whatever is there now:
/// one written by another tool (or by hand) could name any directory of this machine (another
/// checkout's `.env`, `~/.ssh`). Directories inside the project are its own; one outside is
/// used only when the project declares it: a `name @ file://` requirement of
/// `pyproject.toml`, or an entry of `[tool.pyship] allow-directories`.
fn check_source_trees(workspace: &Workspace, items: &[InstallItem]) -> anyhow::Result<()> {
    let project = &workspace.project;
    let canonical = |path: &std::path::Path| std::fs::canonicalize(path).ok();
    let mut allowed: Vec<std::path::PathBuf> = project
        .config
        .allow_directories
        .iter()
        .filter_map(|directory| canonical(&project.root.join(directory)))
        .collect();
    let requirements = project
        .dependencies
        .iter()
        .chain(project.optional_dependencies.values().flatten())
        .chain(project.dependency_groups.values().flatten());
    for requirement in requirements {
        if let Some(pep508_rs::VersionOrUrl::Url(url)) = &requirement.version_or_url {
            if let Some(path) = url.to_file_path().ok().and_then(|path| canonical(&path)) {
                allowed.push(path);
            }
        }
    }
    let root = canonical(&project.root).unwrap_or_else(|| project.root.clone());
    for item in items.iter().filter(|item| item.is_source_tree()) {
        let Some(path) = &item.file.path else {
            continue;
        };
        let Some(directory) = canonical(&project.root.join(path)) else {
            continue; // fetching names the missing directory
        };
        if !directory.starts_with(&root) && !allowed.contains(&directory) {
            anyhow::bail!(
                "the lock builds `{}` from the directory `{}`, which is outside the project and not one it declares; add it to `[tool.pyship] allow-directories` if it is meant to be shipped, or lock again with `pyship lock`",
                item.package.name,
                directory.display()
            );
        }
    }
    Ok(())
}
