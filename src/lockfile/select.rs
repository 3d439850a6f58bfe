//! Choosing, from a lock, what one interpreter installs: the packages whose marker holds for
//! it (group-only packages are left out) and, for each, the wheel its tags rank best, or the
//! sdist (to build) when no locked wheel fits.

use super::{Lock, LockedPackage, LockedWheel};
use crate::python::Target;

/// Why the lock cannot be installed on a target.
#[derive(Debug, thiserror::Error)]
pub enum SelectError {
    #[error(
        "the lock has no wheel of `{package}` {version} for this target (Python {python}, {platform})"
    )]
    NoWheel {
        package: String,
        version: String,
        python: String,
        platform: String,
    },
    #[error(
        "the lock does not cover this interpreter (Python {python} on {arch}); it was made for: {}",
        environments.join("; ")
    )]
    NotCovered {
        python: String,
        arch: String,
        environments: Vec<String>,
    },
    #[error("package `{package}` has an invalid marker `{marker}`: {message}")]
    BadMarker {
        package: String,
        marker: String,
        message: String,
    },
}

impl crate::diagnostics::Diagnostic for SelectError {
    fn hint(&self) -> Option<String> {
        match self {
            SelectError::NoWheel { .. } => Some(
                "lock for this target too (`[tool.pyship] targets`, or `pyship lock --target`)"
                    .into(),
            ),
            SelectError::NotCovered { .. } => Some(
                "add this interpreter's target to `[tool.pyship] targets` (or drop `targets` to lock for it) and run `pyship lock`"
                    .into(),
            ),
            SelectError::BadMarker { .. } => None,
        }
    }
}

/// A package with the one file to install: a wheel, or an sdist to build first.
#[derive(Debug, Clone)]
pub struct InstallItem {
    pub package: LockedPackage,
    pub file: LockedWheel,
}

impl InstallItem {
    /// Whether the file is an sdist, to be built into a wheel before installing.
    pub fn is_sdist(&self) -> bool {
        !self.is_source_tree()
            && (self.file.name.ends_with(".tar.gz") || self.file.name.ends_with(".zip"))
    }

    /// Whether the package is a local source tree (`file.path` is the directory).
    pub fn is_source_tree(&self) -> bool {
        self.package.directory.is_some()
    }
}

impl Lock {
    /// What `target` installs from this lock.
    pub fn select(&self, target: &Target) -> Result<Vec<InstallItem>, SelectError> {
        self.select_with_groups(target, &[])
    }

    /// What `target` installs from this lock with the dependency `groups` too (packages only
    /// groups need are left out of the artifact, but a test run may want them).
    pub fn select_with_groups(
        &self,
        target: &Target,
        groups: &[String],
    ) -> Result<Vec<InstallItem>, SelectError> {
        // The lock must have been made for this environment, or its choices mean nothing here.
        let covered = self.environments.is_empty()
            || self.environments.iter().any(|environment| {
                crate::pep508::parse_marker(environment)
                    .is_ok_and(|marker| marker.evaluate(&target.markers, &[]))
            });
        if !covered {
            return Err(SelectError::NotCovered {
                python: target.python_full_version.to_string(),
                arch: target.arch.clone(),
                environments: self.environments.clone(),
            });
        }
        let mut items = Vec::new();
        for package in &self.packages {
            if let Some(marker) = &package.marker {
                // Group-only packages are for testing the artifact, not part of it. pyship
                // writes their marker as `'NAME' in dependency_groups` terms only.
                if marker.contains("dependency_groups") {
                    let wanted = groups.iter().any(|group| {
                        marker.contains(&format!("'{group}' in dependency_groups"))
                            || marker.contains(&format!("\"{group}\" in dependency_groups"))
                    });
                    if wanted {
                        items.push(self.item(package, target)?);
                    }
                    continue;
                }
                let tree = crate::pep508::parse_marker(marker).map_err(|message| {
                    SelectError::BadMarker {
                        package: package.name.clone(),
                        marker: marker.clone(),
                        message,
                    }
                })?;
                if !tree.evaluate(&target.markers, &[]) {
                    continue;
                }
            }
            items.push(self.item(package, target)?);
        }
        Ok(items)
    }

    /// `package` with the file `target` installs: its source tree, the wheel its tags rank
    /// best, or its sdist.
    fn item(&self, package: &LockedPackage, target: &Target) -> Result<InstallItem, SelectError> {
        if let Some(directory) = &package.directory {
            return Ok(InstallItem {
                package: package.clone(),
                file: LockedWheel {
                    name: package.name.clone(),
                    url: None,
                    path: Some(directory.clone()),
                    size: None,
                    upload_time: None,
                    sha256: String::new(),
                },
            });
        }
        let best = self
            .best_wheel(package, target)
            .or_else(|| package.sdist.clone())
            .ok_or_else(|| SelectError::NoWheel {
                package: package.name.clone(),
                version: package.version.clone(),
                python: target.python_full_version.to_string(),
                platform: target.platform(),
            })?;
        Ok(InstallItem {
            package: package.clone(),
            file: best,
        })
    }

    /// The wheel of `package` that `target`'s tags rank best.
    pub(super) fn best_wheel(
        &self,
        package: &LockedPackage,
        target: &Target,
    ) -> Option<LockedWheel> {
        package
            .wheels
            .iter()
            .filter_map(|wheel| {
                let parsed = crate::wheel::WheelFilename::parse(&wheel.name)?;
                let rank = target
                    .tags
                    .rank(&parsed.python, &parsed.abi, &parsed.platform)?;
                Some((rank, wheel))
            })
            .min_by_key(|(rank, _)| *rank)
            .map(|(_, wheel)| wheel.clone())
    }

    /// Every wheel of every package, the sdist of packages that have no wheel, and the
    /// build environments' wheels (for `pyship fetch`, which fills the cache or a
    /// wheelhouse for all targets, builds included).
    pub fn all_files(&self) -> Vec<InstallItem> {
        let mut seen = std::collections::HashSet::new();
        self.packages
            .iter()
            .flat_map(|package| {
                let sdist = package.sdist.iter().filter(|_| package.wheels.is_empty());
                package.wheels.iter().chain(sdist).map(|file| InstallItem {
                    package: package.clone(),
                    file: file.clone(),
                })
            })
            .chain(self.build_environments.iter().flat_map(|environment| {
                environment.packages.iter().flat_map(|package| {
                    package.wheels.iter().map(|file| InstallItem {
                        package: package.clone(),
                        file: file.clone(),
                    })
                })
            }))
            // A build requirement may also be a dependency, or in several environments.
            .filter(|item| seen.insert(item.file.sha256.clone()))
            .collect()
    }
}
