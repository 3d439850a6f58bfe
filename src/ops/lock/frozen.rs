//! A lock held to what the project froze: files whose hashes the freeze lists, and a word
//! about what it does not pin.

use anyhow::bail;

use crate::lockfile::Lock;
use crate::project::frozen::Frozen;
use crate::reporter::Reporter;

/// Keeps only the files of pinned packages whose sha256 the freeze lists (pip's
/// hash-checking mode, where the freeze gives hashes), and says which locked packages the
/// freeze does not pin and which of its pins the lock does not need.
pub(crate) fn hold_to(
    frozen: &Frozen,
    lock: &mut Lock,
    reporter: &dyn Reporter,
) -> anyhow::Result<()> {
    let file = frozen
        .path
        .file_name()
        .map_or_else(String::new, |name| name.to_string_lossy().into_owned());
    let mut not_pinned = Vec::new();
    for package in &mut lock.packages {
        // The project's own local trees are not the freeze's to pin.
        if package.directory.is_some() {
            continue;
        }
        let Some(pin) = frozen.pin(&package.name) else {
            not_pinned.push(format!("{} {}", package.name, package.version));
            continue;
        };
        if pin.sha256.is_empty() {
            continue;
        }
        let listed = |sha256: &str| pin.sha256.iter().any(|hash| hash == sha256);
        package.wheels.retain(|wheel| listed(&wheel.sha256));
        if package
            .sdist
            .as_ref()
            .is_some_and(|sdist| !listed(&sdist.sha256))
        {
            package.sdist = None;
        }
        if package.wheels.is_empty() && package.sdist.is_none() {
            bail!(
                "`{}` freezes `{}=={}` with hashes that none of its files on the index has; the index serves other files for that version than the ones frozen (refreeze, or check the index)",
                pin.origin,
                package.name,
                package.version
            );
        }
    }
    if !not_pinned.is_empty() {
        reporter.warning(&format!(
            "`{file}` does not pin {} (resolved afresh); freeze them too, so that every build ships the same",
            not_pinned.join(", ")
        ));
    }
    let unused: Vec<String> = frozen
        .pins
        .iter()
        .filter(|pin| {
            !lock
                .packages
                .iter()
                .any(|package| package.name == pin.name.as_ref())
        })
        .map(|pin| pin.name.to_string())
        .collect();
    if !unused.is_empty() {
        reporter.debug(&format!(
            "`{file}` pins packages this lock does not need: {}",
            unused.join(", ")
        ));
    }
    for name in &frozen.unpinned {
        reporter.debug(&format!(
            "`{file}` holds several versions of `{name}` (one per environment): resolved afresh"
        ));
    }
    Ok(())
}
