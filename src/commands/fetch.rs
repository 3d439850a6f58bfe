//! `pyship fetch`: locked wheels on disk, hash-checked.

use super::lock::ensure_lock;
use super::{ExitStatus, ProjectContext};
use crate::fetch::{FetchedWheel, fetch_all};
use crate::lockfile::InstallItem;
use crate::printer::verb;
use crate::reporter::Progress;

/// Locks if needed, then fetches every locked wheel (all targets), and the sdists of packages
/// that have no wheel.
pub(crate) fn fetch(context: &ProjectContext) -> anyhow::Result<ExitStatus> {
    let lock = ensure_lock(context)?;
    ensure_fetched(context, &lock.all_files())?;
    Ok(ExitStatus::Success)
}

/// Fetches `items` and reports what was downloaded.
pub(crate) fn ensure_fetched(
    context: &ProjectContext,
    items: &[InstallItem],
) -> anyhow::Result<Vec<FetchedWheel>> {
    let index = context.index()?;
    let progress = Progress::bar(&context.printer, items.len() as u64, verb::FETCHING);
    let wheels = progress.while_waiting(
        "",
        || index.longest_wait(),
        || fetch_all(items, &context.project.root, &index, &progress),
    )?;
    progress.finish();
    for wheel in wheels.iter().filter(|wheel| wheel.repaired) {
        context.printer.warning(format!(
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
        context
            .printer
            .status(verb::FRESH, format!("{} files, all on disk", wheels.len()));
    } else {
        context.printer.status(
            verb::DOWNLOADED,
            format!(
                "{} files ({:.1} MiB)",
                downloaded.len(),
                bytes as f64 / (1024.0 * 1024.0)
            ),
        );
    }
    Ok(wheels)
}
