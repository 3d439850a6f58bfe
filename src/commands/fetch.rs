//! `pyship fetch`: locked files on disk, hash-checked.

use super::ExitStatus;
use crate::ops::{self, Workspace};

/// Locks if needed, then fetches every locked wheel (all targets), and the sdists of packages
/// that have no wheel.
pub(crate) fn fetch(workspace: &Workspace) -> anyhow::Result<ExitStatus> {
    let locked = ops::lock::ensure_lock(workspace)?;
    ops::fetch::fetch(workspace, &locked.lock.all_files())?;
    Ok(ExitStatus::Success)
}
