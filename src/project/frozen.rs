//! The versions a project has already frozen: a `pip freeze`-style `requirements.txt` (every
//! entry `NAME==VERSION`, hashes when given) or a `uv.lock`. What the project froze is what
//! ships: `pyship lock` takes these pins as constraints, so the resolution is the frozen one
//! (or fails, naming the pin, when it conflicts with the target or the project).
//!
//! Found beside `pyproject.toml` (`uv.lock` first, then a `requirements.txt` whose entries
//! are all pins: one with ranges is an input list, not a freeze), or named by
//! `[tool.pyship] frozen = "PATH"`; `frozen = false` ignores them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use pep508_rs::pep440_rs::{Operator, Version};
use pep508_rs::{PackageName, Requirement, VersionOrUrl};
use serde::Deserialize;

use super::RequirementsIn;

/// `[tool.pyship] frozen`: a file, or `false` for none.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum FrozenSetting {
    File(String),
    Enabled(bool),
}

/// One frozen version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pin {
    pub name: PackageName,
    pub version: Version,
    /// The markers it was frozen under (`; sys_platform == "win32"`), as written.
    pub marker: Option<String>,
    /// The sha256 digests (lowercase hex) its files may have; empty when none were given.
    pub sha256: Vec<String>,
    /// Where it is written: `requirements.txt:12`.
    pub origin: String,
}

/// Everything a frozen file pins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frozen {
    pub path: PathBuf,
    pub pins: Vec<Pin>,
    /// Names frozen more than once (a uv.lock forked by markers): not pinned, for `-v`.
    pub unpinned: Vec<String>,
}

/// Why a frozen file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum FrozenError {
    #[error("failed to read `{}`", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("`{}` is not a uv.lock pyship can read: {message}", path.display())]
    UvLock { path: PathBuf, message: String },
    #[error(transparent)]
    Requirements(#[from] super::requirements_in::RequirementsError),
    #[error(
        "`{origin}`: `{requirement}` is not a pin; a frozen requirements file pins every entry as `NAME==VERSION`"
    )]
    NotAPin { origin: String, requirement: String },
}

impl crate::diagnostics::Diagnostic for FrozenError {
    fn hint(&self) -> Option<String> {
        match self {
            FrozenError::NotAPin { .. } => Some(
                "freeze it with `pip freeze > requirements.txt` (or `pip-compile`), or set `frozen = false` in `[tool.pyship]` to resolve afresh"
                    .into(),
            ),
            _ => None,
        }
    }
}

/// The frozen file of the project at `root`, if any: the setting's, else `uv.lock`, else a
/// `requirements.txt` made only of pins.
pub fn discover(
    root: &Path,
    setting: Option<&FrozenSetting>,
) -> Result<Option<Frozen>, FrozenError> {
    match setting {
        Some(FrozenSetting::Enabled(false)) => Ok(None),
        Some(FrozenSetting::File(file)) => {
            let path = root.join(file);
            if path.file_name().is_some_and(|name| name == "uv.lock") {
                read_uv_lock(&path).map(Some)
            } else {
                read_requirements(&path, true)
            }
        }
        Some(FrozenSetting::Enabled(true)) | None => {
            let uv_lock = root.join("uv.lock");
            if uv_lock.is_file() {
                return read_uv_lock(&uv_lock).map(Some);
            }
            let requirements = root.join("requirements.txt");
            if requirements.is_file() {
                return read_requirements(&requirements, false);
            }
            Ok(None)
        }
    }
    .map(|frozen| frozen.filter(|frozen| !frozen.pins.is_empty()))
}

/// A requirements file's pins; `None` when it is not a freeze (some entry is not `==`), an
/// error then if `required`.
fn read_requirements(path: &Path, required: bool) -> Result<Option<Frozen>, FrozenError> {
    let mut files = RequirementsIn::default();
    files.read(path)?;
    let display = path.file_name().map_or_else(
        || path.display().to_string(),
        |name| name.to_string_lossy().into_owned(),
    );
    let mut pins = Vec::new();
    for (index, requirement) in files.requirements.iter().enumerate() {
        let origin = format!("{display}:{}", files.lines[index]);
        let Some(version) = exact_version(requirement) else {
            if required {
                return Err(FrozenError::NotAPin {
                    origin,
                    requirement: requirement.to_string(),
                });
            }
            return Ok(None);
        };
        let sha256 = files.hashes[index]
            .iter()
            .filter_map(|hash| hash.strip_prefix("sha256:"))
            .map(str::to_ascii_lowercase)
            .collect();
        pins.push(Pin {
            name: requirement.name.clone(),
            version,
            marker: requirement
                .marker
                .contents()
                .map(|marker| marker.to_string()),
            sha256,
            origin,
        });
    }
    Ok(Some(Frozen {
        path: path.to_path_buf(),
        pins,
        unpinned: Vec::new(),
    }))
}

/// `NAME==VERSION` (no wildcard, no URL): the version.
fn exact_version(requirement: &Requirement) -> Option<Version> {
    let Some(VersionOrUrl::VersionSpecifier(specifiers)) = &requirement.version_or_url else {
        return None;
    };
    match specifiers.iter().collect::<Vec<_>>().as_slice() {
        [specifier] if matches!(specifier.operator(), Operator::Equal | Operator::ExactEqual) => {
            Some(specifier.version().clone())
        }
        _ => None,
    }
}

#[derive(Deserialize)]
struct UvLock {
    #[serde(default)]
    package: Vec<UvPackage>,
}

#[derive(Deserialize)]
struct UvPackage {
    name: String,
    version: Option<String>,
    #[serde(default)]
    source: BTreeMap<String, toml::Value>,
    sdist: Option<UvFile>,
    #[serde(default)]
    wheels: Vec<UvFile>,
}

#[derive(Deserialize)]
struct UvFile {
    hash: Option<String>,
}

/// A uv.lock's pins: every package from an index, with the hashes of its files. The project
/// itself and packages from paths, URLs or git are not pins.
fn read_uv_lock(path: &Path) -> Result<Frozen, FrozenError> {
    let text = std::fs::read_to_string(path).map_err(|source| FrozenError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let invalid = |message: String| FrozenError::UvLock {
        path: path.to_path_buf(),
        message,
    };
    let lock: UvLock = toml::from_str(&text).map_err(|error| invalid(error.to_string()))?;
    let mut by_name: BTreeMap<PackageName, Vec<(Version, Vec<String>)>> = BTreeMap::new();
    for package in &lock.package {
        if !package.source.contains_key("registry") {
            continue;
        }
        let name = PackageName::from_str(&package.name)
            .map_err(|error| invalid(format!("package `{}`: {error}", package.name)))?;
        let Some(version) = &package.version else {
            continue;
        };
        let version = Version::from_str(version)
            .map_err(|error| invalid(format!("package `{}` version: {error}", package.name)))?;
        let sha256 = package
            .sdist
            .iter()
            .chain(&package.wheels)
            .filter_map(|file| file.hash.as_deref()?.strip_prefix("sha256:"))
            .map(str::to_ascii_lowercase)
            .collect();
        by_name.entry(name).or_default().push((version, sha256));
    }
    let mut pins = Vec::new();
    let mut unpinned = Vec::new();
    for (name, mut versions) in by_name {
        versions.dedup_by(|a, b| a.0 == b.0);
        if versions.len() > 1 {
            unpinned.push(name.to_string());
            continue;
        }
        let (version, sha256) = versions.remove(0);
        pins.push(Pin {
            origin: format!("uv.lock: {name} {version}"),
            name,
            version,
            marker: None,
            sha256,
        });
    }
    Ok(Frozen {
        path: path.to_path_buf(),
        pins,
        unpinned,
    })
}

impl Frozen {
    /// The pins as constraints (`NAME==VERSION ; MARKER`).
    pub fn constraints(&self) -> Vec<Requirement> {
        self.pins
            .iter()
            .filter_map(|pin| {
                let text = match &pin.marker {
                    Some(marker) => format!("{}=={} ; {marker}", pin.name, pin.version),
                    None => format!("{}=={}", pin.name, pin.version),
                };
                crate::pep508::parse_requirement(&text).ok()
            })
            .collect()
    }

    /// The pin of `name`, if any.
    pub fn pin(&self, name: &str) -> Option<&Pin> {
        let name = PackageName::from_str(name).ok()?;
        self.pins.iter().find(|pin| pin.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(directory: &Path, name: &str, text: &str) {
        std::fs::write(directory.join(name), text).unwrap();
    }

    #[test]
    fn a_pip_freeze_is_frozen_and_a_list_of_ranges_is_not() {
        let root = tempfile::tempdir().unwrap();
        write(
            root.path(),
            "requirements.txt",
            "# pip freeze\nFlask==3.1.0 \\\n    --hash=sha256:ABCD --hash sha256:ef01\ngunicorn==23.0.0 ; sys_platform == 'linux'\n",
        );
        let frozen = discover(root.path(), None).unwrap().unwrap();
        assert_eq!(frozen.pins.len(), 2);
        assert_eq!(frozen.pins[0].name.as_ref(), "flask");
        assert_eq!(frozen.pins[0].sha256, ["abcd", "ef01"]);
        assert_eq!(frozen.pins[0].origin, "requirements.txt:2");
        assert!(frozen.pins[1].marker.is_some());
        let constraints = frozen.constraints();
        assert_eq!(constraints[0].to_string(), "flask==3.1.0");
        write(
            root.path(),
            "requirements.txt",
            "flask>=3\ngunicorn==23.0.0\n",
        );
        assert!(discover(root.path(), None).unwrap().is_none());
        // Named in the settings, a range is an error naming the line.
        let error = discover(
            root.path(),
            Some(&FrozenSetting::File("requirements.txt".into())),
        )
        .unwrap_err();
        assert!(error.to_string().contains("requirements.txt:1"), "{error}");
        assert!(
            discover(root.path(), Some(&FrozenSetting::Enabled(false)))
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn a_uv_lock_pins_what_came_from_an_index() {
        let root = tempfile::tempdir().unwrap();
        write(
            root.path(),
            "uv.lock",
            r#"version = 1
requires-python = ">=3.11"

[[package]]
name = "app"
version = "0.1.0"
source = { editable = "." }

[[package]]
name = "flask"
version = "3.1.0"
source = { registry = "https://pypi.org/simple" }
sdist = { url = "https://x/flask-3.1.0.tar.gz", hash = "sha256:AA", size = 1 }
wheels = [{ url = "https://x/flask-3.1.0-py3-none-any.whl", hash = "sha256:bb", size = 1 }]

[[package]]
name = "numpy"
version = "1.26.4"
source = { registry = "https://pypi.org/simple" }

[[package]]
name = "numpy"
version = "2.1.0"
source = { registry = "https://pypi.org/simple" }
"#,
        );
        let frozen = discover(root.path(), None).unwrap().unwrap();
        assert_eq!(frozen.pins.len(), 1, "{frozen:?}");
        assert_eq!(frozen.pins[0].sha256, ["aa", "bb"]);
        assert_eq!(frozen.unpinned, ["numpy"]);
        write(root.path(), "uv.lock", "version = [\n");
        assert!(discover(root.path(), None).is_err());
    }
}
