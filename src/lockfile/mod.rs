//! `pylock.toml` (PEP 751): written byte-stable, read back for fetch and build.
//!
//! The file is rendered by hand rather than through a TOML serializer so that its bytes depend
//! only on the lock's content: packages sorted by name, keys in the order PEP 751 lists them.
//! pyship's own inputs (the requirements and the target it locked for) live under
//! `[tool.pyship]`, which PEP 751 reserves for tools; they tell later steps whether the lock
//! is stale.

mod assemble;
mod export;
mod select;
mod tree;

pub use assemble::{Resolution, assemble, locked_file};
pub use export::{TxtAnnotations, diff_pins, export_requirements_txt, pinned_in_requirements_txt};
pub use select::{InstallItem, SelectError};
pub use tree::{TreeOptions, render_tree, tree_json};

use crate::python::Target;

use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::Deserialize;

/// Why a lockfile could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LockfileError {
    #[error("failed to read `{}`", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("failed to parse `{}`: {message}", path.display())]
    Parse { path: PathBuf, message: String },
    #[error("`{}`: package `{package}` has no wheel pyship can install", path.display())]
    NoWheel { path: PathBuf, package: String },
    #[error("`{}`: package `{package}`: {message}", path.display())]
    BadFile {
        path: PathBuf,
        package: String,
        message: String,
    },
}

/// What pyship writes as PEP 751 `created-by`.
pub const CREATED_BY: &str = "pyship";

/// A lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lock {
    pub requires_python: Option<String>,
    /// PEP 508 markers of the environments this lock is for.
    pub environments: Vec<String>,
    /// Dependency groups (PEP 735) locked besides the main dependencies.
    pub dependency_groups: Vec<String>,
    pub packages: Vec<LockedPackage>,
    pub inputs: LockInputs,
    /// The tool that wrote the lock (PEP 751 `created-by`): pyship's own are re-locked when
    /// stale; another tool's are used as they are, never replaced behind the user's back.
    pub created_by: String,
    /// The wheels each PEP 517 build runs with (the application's, and sdists' and source
    /// trees' the targets build), so builds are reproducible and work offline.
    pub build_environments: Vec<BuildEnvironment>,
}

/// The locked wheels of one isolated build environment: `[build-system] requires` resolved
/// for the Python that runs the build. Kept under `[tool.pyship]`: PEP 751 has no place
/// for build requirements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildEnvironment {
    /// The `[build-system] requires` it was resolved from, as the source tree lists them.
    pub requires: Vec<String>,
    /// The `X.Y` of the Python that runs the build.
    pub python: String,
    /// What builds in it: the project, packages built from an sdist or a source tree.
    pub used_by: Vec<String>,
    /// One package per distribution, with the wheels (only `name`, `version` and `wheels`
    /// are used).
    pub packages: Vec<LockedPackage>,
}

/// One locked package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockedPackage {
    pub name: String,
    pub version: String,
    /// When the package is needed only in some environments or groups (PEP 751 `marker`).
    pub marker: Option<String>,
    /// The index it came from, when not a local file.
    pub index: Option<String>,
    pub dependencies: Vec<String>,
    /// The wheels of this version the locked targets install, sorted by name.
    pub wheels: Vec<LockedWheel>,
    /// The version's sdist (same fields as a wheel entry), built where no wheel fits.
    pub sdist: Option<LockedWheel>,
    /// A local source tree (relative to the lockfile, or absolute), built at install time.
    pub directory: Option<String>,
}

/// The wheel a package is installed from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockedWheel {
    pub name: String,
    pub url: Option<String>,
    /// Relative to the lockfile's directory, or absolute.
    pub path: Option<String>,
    pub size: Option<u64>,
    pub upload_time: Option<String>,
    pub sha256: String,
}

/// What the lock was made from: when these change, the lock is stale.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct LockInputs {
    #[serde(default)]
    pub requirements: Vec<String>,
    #[serde(default)]
    pub constraints: Vec<String>,
    /// Every target: name, Python version and platform.
    #[serde(default)]
    pub targets: Vec<String>,
    /// The project's `[build-system] requires` (its build environment is locked).
    #[serde(default)]
    pub build_requires: Vec<String>,
}

/// The first string anywhere in `value` that holds a control character.
fn first_multi_line_string(value: &toml::Value) -> Option<&str> {
    match value {
        toml::Value::String(text) => text.contains(char::is_control).then_some(text.as_str()),
        toml::Value::Array(items) => items.iter().find_map(first_multi_line_string),
        toml::Value::Table(table) => table.values().find_map(first_multi_line_string),
        _ => None,
    }
}

impl Lock {
    /// The file's text.
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str("# This file is generated by pyship; run `pyship lock` to update it.\n");
        out.push_str("lock-version = \"1.0\"\n");
        let _ = writeln!(out, "environments = {}", array(&self.environments));
        if let Some(requires_python) = &self.requires_python {
            let _ = writeln!(out, "requires-python = {}", quote(requires_python));
        }
        if !self.dependency_groups.is_empty() {
            let _ = writeln!(
                out,
                "dependency-groups = {}",
                array(&self.dependency_groups)
            );
        }
        let _ = writeln!(out, "created-by = {}", quote(&self.created_by));
        for package in &self.packages {
            out.push_str("\n[[packages]]\n");
            let _ = writeln!(out, "name = {}", quote(&package.name));
            let _ = writeln!(out, "version = {}", quote(&package.version));
            if let Some(marker) = &package.marker {
                let _ = writeln!(out, "marker = {}", quote(marker));
            }
            if let Some(index) = &package.index {
                let _ = writeln!(out, "index = {}", quote(index));
            }
            if !package.dependencies.is_empty() {
                let dependencies: Vec<String> = package
                    .dependencies
                    .iter()
                    .map(|name| format!("{{ name = {} }}", quote(name)))
                    .collect();
                let _ = writeln!(out, "dependencies = [{}]", dependencies.join(", "));
            }
            if let Some(directory) = &package.directory {
                let _ = writeln!(
                    out,
                    "directory = {{ path = {}, editable = false }}",
                    quote(directory)
                );
            }
            if let Some(sdist) = &package.sdist {
                let _ = writeln!(out, "sdist = {{ {} }}", file_fields(sdist).join(", "));
            }
            if package.wheels.is_empty() {
                continue;
            }
            out.push_str("wheels = [\n");
            for wheel in &package.wheels {
                let _ = writeln!(out, "    {{ {} }},", file_fields(wheel).join(", "));
            }
            out.push_str("]\n");
        }
        out.push_str("\n[tool.pyship]\n");
        let _ = writeln!(out, "requirements = {}", array(&self.inputs.requirements));
        if !self.inputs.constraints.is_empty() {
            let _ = writeln!(out, "constraints = {}", array(&self.inputs.constraints));
        }
        let _ = writeln!(out, "targets = {}", array(&self.inputs.targets));
        if !self.inputs.build_requires.is_empty() {
            let _ = writeln!(
                out,
                "build-requires = {}",
                array(&self.inputs.build_requires)
            );
        }
        for environment in &self.build_environments {
            out.push_str("\n[[tool.pyship.build-environments]]\n");
            let _ = writeln!(out, "requires = {}", array(&environment.requires));
            let _ = writeln!(out, "python = {}", quote(&environment.python));
            let _ = writeln!(out, "used-by = {}", array(&environment.used_by));
            out.push_str("packages = [\n");
            for package in &environment.packages {
                let wheels: Vec<String> = package
                    .wheels
                    .iter()
                    .map(|wheel| format!("{{ {} }}", file_fields(wheel).join(", ")))
                    .collect();
                let _ = writeln!(
                    out,
                    "    {{ name = {}, version = {}, wheels = [{}] }},",
                    quote(&package.name),
                    quote(&package.version),
                    wheels.join(", ")
                );
            }
            out.push_str("]\n");
        }
        out
    }

    /// The locked build environment for a source tree whose `[build-system] requires` is
    /// `requires`, built by `python`: one wheel per package, the best its tags allow.
    /// `None` when the lock has none for these requirements and this Python (a lock from
    /// another tool, or an older pyship), or a wheel does not fit.
    pub fn build_environment(
        &self,
        requires: &[String],
        python: &Target,
    ) -> Option<Vec<InstallItem>> {
        let environment = self.build_environments.iter().find(|environment| {
            environment.requires == requires && environment.python == python.python_version()
        })?;
        environment
            .packages
            .iter()
            .map(|package| {
                self.best_wheel(package, python).map(|file| InstallItem {
                    package: package.clone(),
                    file,
                })
            })
            .collect()
    }

    /// Reads a lockfile.
    pub fn read(path: &Path) -> Result<Lock, LockfileError> {
        let text = std::fs::read_to_string(path).map_err(|source| LockfileError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(path, &text)
    }

    /// Parses lockfile text; `path` is for messages.
    pub fn parse(path: &Path, text: &str) -> Result<Lock, LockfileError> {
        let parse_error = |message: String| LockfileError::Parse {
            path: path.to_path_buf(),
            message,
        };
        // No string of a lock is ever more than one line: a newline in a version, marker,
        // environment or path would become lines of their own where they are written out
        // (`pyship export` would gain `--index-url` lines).
        let value: toml::Table =
            toml::from_str(text).map_err(|error| parse_error(error.to_string()))?;
        if let Some(bad) = first_multi_line_string(&toml::Value::Table(value)) {
            return Err(parse_error(format!(
                "the value `{}` holds a control character; a lock's values are single lines",
                bad.escape_debug()
            )));
        }
        let file: LockFile =
            toml::from_str(text).map_err(|error| parse_error(error.to_string()))?;
        let packages = file
            .packages
            .into_iter()
            .map(|package| {
                let (wheels, sdist) =
                    checked_files(path, &package.name, package.wheels, package.sdist, "")?;
                let directory = package.directory.map(|directory| directory.path);
                if wheels.is_empty() && sdist.is_none() && directory.is_none() {
                    return Err(LockfileError::NoWheel {
                        path: path.to_path_buf(),
                        package: package.name.clone(),
                    });
                }
                Ok(LockedPackage {
                    name: package.name,
                    version: package.version.unwrap_or_default(),
                    marker: package.marker,
                    index: package.index,
                    dependencies: package.dependencies.into_iter().map(|d| d.name).collect(),
                    wheels,
                    sdist,
                    directory,
                })
            })
            .collect::<Result<Vec<_>, LockfileError>>()?;
        let tool = file.tool.pyship.unwrap_or_default();
        let build_environments = tool
            .build_environments
            .into_iter()
            .map(|environment| {
                let packages = environment
                    .packages
                    .into_iter()
                    .map(|package| {
                        let (wheels, _) = checked_files(
                            path,
                            &package.name,
                            package.wheels,
                            None,
                            "in a build environment: ",
                        )?;
                        Ok(LockedPackage {
                            name: package.name,
                            version: package.version,
                            marker: None,
                            index: None,
                            dependencies: Vec::new(),
                            wheels,
                            sdist: None,
                            directory: None,
                        })
                    })
                    .collect::<Result<Vec<_>, LockfileError>>()?;
                Ok(BuildEnvironment {
                    requires: environment.requires,
                    python: environment.python,
                    used_by: environment.used_by,
                    packages,
                })
            })
            .collect::<Result<Vec<_>, LockfileError>>()?;
        Ok(Lock {
            requires_python: file.requires_python,
            environments: file.environments,
            dependency_groups: file.dependency_groups,
            packages,
            inputs: tool.inputs,
            created_by: file.created_by.unwrap_or_default(),
            build_environments,
        })
    }
}

/// A package entry's files as locked files, and its name checked: each a plain wheel (or
/// sdist) file name with a sha256 (see [`WheelEntry::into_file`]). `context` starts every
/// message (where in the lock the package is).
fn checked_files(
    path: &Path,
    name: &str,
    wheels: Vec<WheelEntry>,
    sdist: Option<WheelEntry>,
    context: &str,
) -> Result<(Vec<LockedWheel>, Option<LockedWheel>), LockfileError> {
    let bad_file = |message: String| LockfileError::BadFile {
        path: path.to_path_buf(),
        package: name.to_string(),
        message: format!("{context}{message}"),
    };
    let wheels = wheels
        .into_iter()
        .map(|entry| entry.into_file(FileKind::Wheel))
        .collect::<Result<Vec<_>, _>>()
        .map_err(bad_file)?;
    let sdist = sdist
        .map(|entry| entry.into_file(FileKind::Sdist))
        .transpose()
        .map_err(bad_file)?;
    if pep508_rs::PackageName::from_str(name).is_err() {
        return Err(bad_file("the name is not a valid package name".into()));
    }
    Ok((wheels, sdist))
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct LockFile {
    created_by: Option<String>,
    #[serde(default)]
    environments: Vec<String>,
    requires_python: Option<String>,
    #[serde(default)]
    dependency_groups: Vec<String>,
    #[serde(default)]
    packages: Vec<PackageEntry>,
    #[serde(default)]
    tool: ToolEntry,
}

#[derive(Deserialize, Default)]
struct ToolEntry {
    pyship: Option<PyshipEntry>,
}

/// `[tool.pyship]` of a lock.
#[derive(Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
struct PyshipEntry {
    #[serde(flatten)]
    inputs: LockInputs,
    #[serde(default)]
    build_environments: Vec<BuildEnvironmentEntry>,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct BuildEnvironmentEntry {
    requires: Vec<String>,
    python: String,
    #[serde(default)]
    used_by: Vec<String>,
    #[serde(default)]
    packages: Vec<BuildPackageEntry>,
}

#[derive(Deserialize)]
struct BuildPackageEntry {
    name: String,
    version: String,
    #[serde(default)]
    wheels: Vec<WheelEntry>,
}

#[derive(Deserialize)]
struct PackageEntry {
    name: String,
    version: Option<String>,
    marker: Option<String>,
    index: Option<String>,
    #[serde(default)]
    dependencies: Vec<DependencyEntry>,
    #[serde(default)]
    wheels: Vec<WheelEntry>,
    sdist: Option<WheelEntry>,
    directory: Option<DirectoryEntry>,
}

#[derive(Deserialize)]
struct DirectoryEntry {
    path: String,
}

#[derive(Deserialize)]
struct DependencyEntry {
    name: String,
}

#[derive(Deserialize)]
struct WheelEntry {
    name: Option<String>,
    url: Option<String>,
    path: Option<String>,
    size: Option<u64>,
    #[serde(rename = "upload-time")]
    upload_time: Option<toml::value::Datetime>,
    #[serde(default)]
    hashes: Hashes,
}

/// Which kind of file a lock entry must name.
#[derive(Clone, Copy)]
enum FileKind {
    Wheel,
    Sdist,
}

impl WheelEntry {
    /// The entry as a locked file. A lock is hostile input: the entry needs a URL or path, a
    /// sha256 (pyship installs nothing it cannot check; any case of hex is accepted), and a
    /// name that is a plain wheel or sdist file name, since fetch writes the file under that
    /// name. The name defaults to the last part of the URL or path, as uv writes it.
    fn into_file(self, kind: FileKind) -> Result<LockedWheel, String> {
        let location = self
            .url
            .as_deref()
            .or(self.path.as_deref())
            .ok_or("a file entry has neither `url` nor `path`")?;
        let name = self
            .name
            .or_else(|| location.rsplit('/').next().map(str::to_string))
            .unwrap_or_default();
        let valid_name = match kind {
            FileKind::Wheel => crate::wheel::WheelFilename::parse(&name).is_some(),
            FileKind::Sdist => crate::wheel::parse_sdist_filename(&name).is_some(),
        };
        if !valid_name {
            let what = match kind {
                FileKind::Wheel => "wheel",
                FileKind::Sdist => "sdist",
            };
            return Err(format!(
                "`{}` is not a plain {what} file name",
                name.escape_debug()
            ));
        }
        let sha256 = self.hashes.sha256.ok_or_else(|| {
            format!("`{name}` has no sha256 hash; pyship installs only hash-checked files")
        })?;
        if !crate::wheel::is_sha256_hex(&sha256) {
            return Err(format!(
                "the sha256 of `{name}` is not 64 hex digits: `{}`",
                sha256.escape_debug()
            ));
        }
        Ok(LockedWheel {
            name,
            url: self.url,
            path: self.path,
            size: self.size,
            upload_time: self.upload_time.map(|time| time.to_string()),
            sha256: sha256.to_ascii_lowercase(),
        })
    }
}

#[derive(Deserialize, Default)]
struct Hashes {
    sha256: Option<String>,
}

/// The inline-table fields of a wheel or sdist entry, in PEP 751's order.
fn file_fields(file: &LockedWheel) -> Vec<String> {
    let mut fields = vec![format!("name = {}", quote(&file.name))];
    if let Some(url) = &file.url {
        fields.push(format!("url = {}", quote(url)));
    }
    if let Some(path) = &file.path {
        fields.push(format!("path = {}", quote(path)));
    }
    if let Some(upload_time) = &file.upload_time {
        fields.push(format!("upload-time = {upload_time}"));
    }
    if let Some(size) = file.size {
        fields.push(format!("size = {size}"));
    }
    fields.push(format!("hashes = {{ sha256 = {} }}", quote(&file.sha256)));
    fields
}

/// A TOML basic string, without credentials.
fn quote(value: &str) -> String {
    // A lock is committed and shared: no URL in it carries credentials.
    let value = &crate::index::scrub_credentials(value);
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn array(values: &[String]) -> String {
    let items: Vec<String> = values.iter().map(|value| quote(value)).collect();
    format!("[{}]", items.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example() -> Lock {
        Lock {
            requires_python: Some(">=3.9".into()),
            environments: vec!["python_full_version == \"3.11.2\"".into()],
            dependency_groups: vec!["test".into()],
            packages: vec![LockedPackage {
                name: "flask".into(),
                version: "3.0.3".into(),
                marker: Some("sys_platform == 'linux'".into()),
                index: None,
                dependencies: vec!["click".into(), "werkzeug".into()],
                wheels: vec![
                    LockedWheel {
                        name: "flask-3.0.3-py3-none-any.whl".into(),
                        url: None,
                        path: Some("wheelhouse/flask-3.0.3-py3-none-any.whl".into()),
                        size: Some(101735),
                        upload_time: None,
                        sha256: "ab".repeat(32),
                    },
                    LockedWheel {
                        name: "flask-3.0.3-py2-none-any.whl".into(),
                        url: Some("https://example.com/flask-3.0.3-py2-none-any.whl".into()),
                        path: None,
                        size: None,
                        upload_time: Some("2024-04-07T19:26:08.569Z".into()),
                        sha256: "cd".repeat(32),
                    },
                ],
                directory: None,
                sdist: Some(LockedWheel {
                    name: "flask-3.0.3.tar.gz".into(),
                    url: Some("https://example.com/flask-3.0.3.tar.gz".into()),
                    path: None,
                    size: Some(676315),
                    upload_time: None,
                    sha256: "ef".repeat(32),
                }),
            }],
            inputs: LockInputs {
                requirements: vec!["flask>=3".into()],
                constraints: vec!["click<9".into()],
                targets: vec!["debian-12".into()],
                build_requires: vec!["flit_core>=3.4,<4".into()],
            },
            created_by: CREATED_BY.into(),
            build_environments: vec![BuildEnvironment {
                requires: vec!["flit_core>=3.4,<4".into()],
                python: "3.11".into(),
                used_by: vec!["hello".into()],
                packages: vec![LockedPackage {
                    name: "flit-core".into(),
                    version: "3.9.0".into(),
                    marker: None,
                    index: None,
                    dependencies: Vec::new(),
                    wheels: vec![LockedWheel {
                        name: "flit_core-3.9.0-py3-none-any.whl".into(),
                        url: Some("https://example.com/flit_core-3.9.0-py3-none-any.whl".into()),
                        path: None,
                        size: Some(63164),
                        upload_time: None,
                        sha256: "cd".repeat(32),
                    }],
                    sdist: None,
                    directory: None,
                }],
            }],
        }
    }

    #[test]
    fn render_then_read_round_trips() {
        let lock = example();
        let text = lock.render();
        let again = Lock::parse(Path::new("pylock.toml"), &text).unwrap();
        assert_eq!(lock, again);
        // The output is valid TOML with PEP 751's required keys.
        let value: toml::Table = toml::from_str(&text).unwrap();
        assert_eq!(value["lock-version"].as_str(), Some("1.0"));
        assert_eq!(value["created-by"].as_str(), Some("pyship"));
    }

    #[test]
    fn credentials_never_reach_the_text() {
        assert_eq!(
            quote("a @ https://bob:hunter2@example.com/a-1.0-py3-none-any.whl"),
            "\"a @ https://example.com/a-1.0-py3-none-any.whl\""
        );
        assert_eq!(
            crate::index::scrub_credentials("https://token@h/simple https://h2/x"),
            "https://h/simple https://h2/x"
        );
    }

    #[test]
    fn strings_are_escaped() {
        assert_eq!(quote("a\"b\\c"), "\"a\\\"b\\\\c\"");
    }
}
