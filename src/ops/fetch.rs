//! Fetching: locked files on disk, hash-checked.

use super::Workspace;
use crate::fetch::{FetchedWheel, fetch_all};
use crate::lockfile::InstallItem;
use crate::printer::verb;

/// Fetches `items` (wheels, sdists, source trees of the lock) and reports what was downloaded.
pub(crate) fn fetch(
    workspace: &Workspace,
    items: &[InstallItem],
) -> anyhow::Result<Vec<FetchedWheel>> {
    let index = workspace.index()?;
    let reporter = workspace.reporter.as_ref();
    let progress = reporter.bytes_bar(crate::fetch::total_size(items), verb::FETCHING);
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
        reporter.status(verb::FRESH, &format!("{} files, all on disk", wheels.len()));
    } else {
        reporter.status(
            verb::DOWNLOADED,
            &format!(
                "{} files ({:.1} MiB)",
                downloaded.len(),
                bytes as f64 / (1024.0 * 1024.0)
            ),
        );
    }
    Ok(wheels)
}
