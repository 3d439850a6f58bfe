//! Saying why a package was locked below its newest release because of a deeper package.
//!
//! A lock can be valid and still surprising: `pyopenssl` 22.0.0 (2022) beside `cryptography`
//! 51, because every newer `pyopenssl` needs `cryptography<51`. When the newest release of a
//! locked package is excluded by its *own* requirement on another locked package, that trade
//! deserves a line in `-v`: it is where a lock that satisfies every requirement can still
//! fail at import. (A package held back by what others require of it, `sphinx<7`, is the
//! ordinary case and says nothing.)

use std::collections::HashMap;

use pep508_rs::PackageName;
use pep508_rs::pep440_rs::Version;

use super::ResolvedPackage;
use super::candidates::Candidate;
use crate::python::Target;
use crate::wheel::Metadata;

/// One line per locked package whose newest release (`newest`) requires, for `target`, a
/// version of another locked package that the lock does not have.
pub fn notes(
    packages: &[ResolvedPackage],
    target: &Target,
    newest: impl Fn(&PackageName) -> Option<Candidate>,
    metadata: impl Fn(&PackageName, &Version) -> Option<std::sync::Arc<Metadata>>,
) -> Vec<String> {
    let locked: HashMap<&PackageName, &ResolvedPackage> = packages
        .iter()
        .map(|package| (&package.name, package))
        .collect();
    let mut notes = Vec::new();
    for package in packages {
        let Some(newest) = newest(&package.name) else {
            continue;
        };
        if newest.version <= package.version {
            continue;
        }
        let Some(newest_metadata) = metadata(&package.name, &newest.version) else {
            continue;
        };
        let blocking = newest_metadata
            .requires_dist
            .iter()
            .find_map(|requirement| {
                if !requirement.marker.evaluate(&target.markers, &[]) {
                    return None;
                }
                let other = locked.get(&requirement.name)?;
                let Some(pep508_rs::VersionOrUrl::VersionSpecifier(specifiers)) =
                    &requirement.version_or_url
                else {
                    return None;
                };
                (!specifiers.contains(&other.version)).then(|| {
                    format!(
                        "{} {specifiers}` (the lock has {} {})",
                        requirement.name, other.name, other.version
                    )
                })
            });
        if let Some(blocking) = blocking {
            notes.push(format!(
                "{} is locked at {}{}, not its newest {}{}, because {} requires `{blocking}",
                package.name,
                package.version,
                released(&package.file.upload_time),
                newest.version,
                released(&newest.file.upload_time),
                newest.version,
            ));
        }
    }
    notes
}

/// " (2022-01-29)" from an RFC 3339 upload time, or nothing.
fn released(upload_time: &Option<String>) -> String {
    upload_time
        .as_deref()
        .and_then(|time| time.get(..10))
        .map(|date| format!(" ({date})"))
        .unwrap_or_default()
}
