//! The project: `pyproject.toml` read into what the other modules need.
//!
//! `[project]` gives the standard metadata and dependencies (PEP 621), `[build-system]` the
//! PEP 517 backend, and `[tool.pyship]` the deployment settings. Unknown `[tool.pyship]` keys
//! are errors that name the key and its line, since a misspelt setting silently ignored is how
//! deploys drift. Sub-tables of `[tool.pyship]` are format options, handed to plugins as-is.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use pep508_rs::{PackageName, Requirement};
use serde::{Deserialize, Serialize};

use crate::diagnostics::{Diagnostic, edit_distance};

mod checks;
pub mod files;
pub mod frozen;
mod poetry;
mod requirements_in;
mod schema;

pub use requirements_in::RequirementsIn;

/// The file pyship reads its project from.
pub const PYPROJECT: &str = "pyproject.toml";

/// The nearest directory from `start` up that holds a `pyproject.toml`.
pub fn enclosing_project(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .find(|directory| directory.join(PYPROJECT).is_file())
        .map(Path::to_path_buf)
}

/// Keys `[tool.pyship]` accepts (sub-tables aside): [`PyshipConfig`]'s own fields.
fn known_keys() -> &'static [&'static str] {
    schema::keys_of::<PyshipConfig>()
}

/// Why a project could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ProjectError {
    #[error("no `pyproject.toml` in `{}`", directory.display())]
    Missing { directory: PathBuf },
    #[error("failed to read `{}`", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("failed to parse `{}`: {message}", path.display())]
    Parse { path: PathBuf, message: String },
    #[error("unknown key `{key}` in `[tool.pyship]` at `{}:{line}:{column}`", path.display())]
    UnknownKey {
        path: PathBuf,
        key: String,
        line: usize,
        column: usize,
    },
    #[error(
        "`[tool.pyship.{format}]` at `{}:{line}` is neither a setting nor the table of an installed format",
        path.display()
    )]
    UnknownFormat {
        path: PathBuf,
        format: String,
        line: usize,
        suggestion: Option<String>,
    },
    #[error("`{}` has no `[project]` table", path.display())]
    NoProjectTable { path: PathBuf },
    #[error("`[project] {field}` is missing in `{}`", path.display())]
    MissingField { path: PathBuf, field: &'static str },
    #[error("invalid {what} `{value}` in `{}`: {message}", path.display())]
    Invalid {
        path: PathBuf,
        what: &'static str,
        value: String,
        message: String,
    },
    #[error("invalid `{key}` = `{value}` in `[tool.pyship]` at `{}:{line}`: {message}", path.display())]
    InvalidSetting {
        path: PathBuf,
        line: usize,
        key: String,
        value: String,
        message: String,
    },
    #[error("invalid {what} `{value}` at `{}:{line}`: {message}", path.display())]
    InvalidRequirement {
        path: PathBuf,
        line: usize,
        what: &'static str,
        value: String,
        message: String,
    },
}

impl Diagnostic for ProjectError {
    fn hint(&self) -> Option<String> {
        match self {
            ProjectError::Missing { .. } => Some(
                "run pyship in a Python project's directory, or pass `-C DIR` (`--directory`); `pyship init` writes a pyproject.toml for an app that has none (a requirements.txt and its source files)"
                    .into(),
            ),
            ProjectError::NoProjectTable { .. } => Some(
                "`pyship init` adds one (with the app's name and version) and the `[tool.pyship]` settings to ship it".into(),
            ),
            ProjectError::UnknownKey { key, .. } => {
                let suggestion = known_keys()
                    .iter()
                    .min_by_key(|known| edit_distance(key, known))
                    .filter(|known| edit_distance(key, known) <= 3);
                Some(match suggestion {
                    Some(known) => format!("did you mean `{known}`?"),
                    None => format!("known keys are: {}", known_keys().join(", ")),
                })
            }
            ProjectError::UnknownFormat {
                format, suggestion, ..
            } => Some(match suggestion {
                Some(known) => format!("did you mean `[tool.pyship.{known}]`?"),
                None => format!(
                    "a table under `[tool.pyship]` holds a format's options (`[tool.pyship.deb]`), read by the plugin `pyship-{format}`; known settings are: {}",
                    known_keys().join(", ")
                ),
            }),
            ProjectError::MissingField { field: "version", .. } => Some(
                "set `version` in `[project]`, or list it in `dynamic = [\"version\"]` for the backend to provide (setuptools_scm, hatch-vcs)".into(),
            ),
            _ => None,
        }
    }
}

/// A loaded project.
#[derive(Debug, Clone)]
pub struct Project {
    /// The directory holding `pyproject.toml`.
    pub root: PathBuf,
    /// The normalized name.
    pub name: PackageName,
    /// The version as written.
    pub version: String,
    /// The version, parsed (PEP 440).
    pub parsed_version: pep508_rs::pep440_rs::Version,
    pub summary: Option<String>,
    pub license: Option<String>,
    pub maintainer: Option<String>,
    pub homepage: Option<String>,
    /// `[project.scripts]`.
    pub scripts: BTreeMap<String, String>,
    /// `[project] requires-python` as written.
    pub requires_python: Option<String>,
    /// `[project] dependencies`, parsed.
    pub dependencies: Vec<Requirement>,
    /// `[project.optional-dependencies]`, parsed, by extra.
    pub optional_dependencies: BTreeMap<String, Vec<Requirement>>,
    /// `[dependency-groups]` (PEP 735), includes expanded, by group.
    pub dependency_groups: BTreeMap<String, Vec<Requirement>>,
    /// `[build-system]`, with PEP 517's default when absent.
    pub build_system: BuildSystem,
    /// `[tool.pyship]`.
    pub config: PyshipConfig,
    /// `[tool.pyship]` as written, format tables removed: passed to plugins.
    pub raw_options: toml::Table,
    /// `[tool.pyship.FORMAT]` tables, by format.
    pub format_options: BTreeMap<String, toml::Table>,
    /// The text of `pyproject.toml`, for messages that point at a line.
    pub text: String,
    /// The fields of `[project]` its backend provides (PEP 621's `dynamic`, or every one for
    /// a setup.py project without `[project]`): filled in from the backend's metadata when
    /// the workspace loads, placeholders until then.
    pub dynamic: Vec<String>,
    /// `--target-dir`: where pyship works instead of `target/` (absolute).
    pub target_root: Option<PathBuf>,
}

/// The fields pyship reads from the backend's metadata when `[project]` says they are
/// dynamic.
pub const DYNAMIC_FIELDS: &[&str] = &[
    "name",
    "version",
    "dependencies",
    "requires-python",
    "description",
];

/// `[build-system]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct BuildSystem {
    #[serde(default)]
    pub requires: Vec<String>,
    pub build_backend: Option<String>,
    #[serde(default)]
    pub backend_path: Vec<String>,
}

impl Default for BuildSystem {
    /// PEP 517: a project with no `[build-system]` is built with legacy setuptools.
    fn default() -> Self {
        BuildSystem {
            requires: vec!["setuptools>=40.8.0".into()],
            build_backend: None,
            backend_path: Vec::new(),
        }
    }
}

/// `[tool.pyship]`: deployment settings.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct PyshipConfig {
    /// Where the virtualenv lives on the target; default `/opt/venvs/NAME`.
    pub install_prefix: Option<String>,
    /// The target interpreter; default `/usr/bin/python3`.
    pub interpreter: Option<String>,
    /// A Python on this machine that builds and byte-compiles for targets whose own
    /// interpreter is not here (same X.Y as the target).
    pub build_interpreter: Option<String>,
    /// When modules are byte-compiled: at build time, on the server at install time, or not.
    pub bytecode: Option<BytecodeMode>,
    /// Directories of wheels, relative to the project.
    #[serde(default)]
    pub find_links: Vec<String>,
    /// Where `pyship fetch` keeps a copy of every locked file, relative to the project.
    pub wheelhouse: Option<String>,
    /// The primary simple index.
    pub index_url: Option<String>,
    /// Further simple indexes.
    #[serde(default)]
    pub extra_index_url: Vec<String>,
    /// Use no index at all, only find-links.
    #[serde(default)]
    pub no_index: bool,
    /// `Name <email>` for package metadata, overriding `[project] maintainers`.
    pub maintainer: Option<String>,
    /// Deployment targets to lock for: presets (`debian-12`) or `{ python, platform }`.
    #[serde(default)]
    pub targets: Vec<TargetSpec>,
    /// Extras of the project to install.
    #[serde(default)]
    pub extras: Vec<String>,
    /// The build number: a Debian revision, an RPM release.
    pub build_number: Option<u64>,
    /// System packages needed at run time.
    #[serde(default)]
    pub run_depends: Vec<SystemPackageSpec>,
    /// System packages needed to build sdists.
    #[serde(default)]
    pub build_depends: Vec<SystemPackageSpec>,
    /// A system account for the application.
    pub user: Option<UserSpec>,
    /// Project files installed as configuration.
    #[serde(default)]
    pub config_files: Vec<ConfigFileSpec>,
    /// A directory of maintainer-script fragments (`preinst`, `postinst`, `prerm`, `postrm`).
    pub scripts: Option<String>,
    /// `[tool.pyship.service]`: a long-running service.
    pub service: Option<ServiceSpec>,
    /// `[[tool.pyship.services]]`: more services beside it (a worker, a scheduler), each with
    /// a `name` of its own.
    #[serde(default)]
    pub services: Vec<ServiceSpec>,
    /// Directories outside the project that a lock may build from (relative to the project).
    #[serde(default)]
    pub allow_directories: Vec<String>,
    /// Console scripts linked into `/usr/bin` by the packages.
    #[serde(default)]
    pub commands: Vec<String>,
    /// The project's frozen versions: a pinned requirements file or a `uv.lock` (found
    /// beside `pyproject.toml` when not set), or `false` to resolve afresh.
    pub frozen: Option<frozen::FrozenSetting>,
    /// Requirements files (pip's format) whose entries are dependencies too, beside
    /// `[project] dependencies`: the list of an app that is not a Python package.
    #[serde(default)]
    pub requirements: Vec<String>,
    /// Ship the project's files instead of building it: `true` for every source file, or the
    /// files and directories to ship. For apps that are not Python packages.
    pub app_files: Option<AppFilesSpec>,
    /// Where the app's files go, relative to the install prefix: `app` by default.
    pub app_directory: Option<String>,
    /// Commands run once after a first install (a console script or a command, then its
    /// arguments), as the service's user, before the service starts.
    #[serde(default)]
    pub install_steps: Vec<Vec<String>>,
    /// Commands run after every upgrade (migrations), likewise.
    #[serde(default)]
    pub upgrade_steps: Vec<Vec<String>>,
    /// pip inside the virtualenv (locked and hash-checked like any dependency), for apps that
    /// run it themselves (plugin managers, updaters), as dh-virtualenv's venvs have it.
    #[serde(default)]
    pub include_pip: bool,
    /// Where two distributions ship a console script of the same name, the one whose script
    /// is installed: script name to distribution name (normalized on load).
    #[serde(default)]
    pub scripts_from: BTreeMap<String, String>,
    /// `[tool.pyship.verify]`: what `pyship verify` checks in the installed artifact.
    pub verify: Option<VerifySpec>,
    /// What says a new version works on the server, checked after its services (re)start: a
    /// URL or a command, as `[tool.pyship.verify] health`.
    pub health_check: Option<HealthSpec>,
    /// Seconds the health check may take to pass (default 30).
    pub health_timeout: Option<u64>,
}

/// `[tool.pyship.verify]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct VerifySpec {
    /// Smoke commands run inside the root after install, upgrade and rollback, each a command
    /// and its arguments, expected to exit 0.
    #[serde(default)]
    pub commands: Vec<Vec<String>>,
    /// What says the services are up: an `http://` URL that must answer 2xx or 3xx, or a
    /// command that must exit 0; tried until it passes or the timeout ends.
    pub health: Option<HealthSpec>,
    /// Seconds any one check may take (default 60).
    pub timeout: Option<u64>,
}

/// `health = "http://127.0.0.1:8000/"` or `health = ["cmd", "arg"]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum HealthSpec {
    Url(String),
    Command(Vec<String>),
}

/// `app-files = true` or `app-files = ["manage.py", "mysite"]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum AppFilesSpec {
    All(bool),
    Paths(Vec<String>),
}

/// The directory an app's files go to under the prefix, when `app-directory` is not set.
pub const DEFAULT_APP_DIRECTORY: &str = "app";

/// A system package: the same name everywhere, or a name per packaging family.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum SystemPackageSpec {
    Everywhere(String),
    PerFamily(BTreeMap<String, String>),
}

/// `user = "NAME"` or `user = { name, group, home, shell }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum UserSpec {
    Name(String),
    Table(UserTable),
}

/// The table form of `user`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct UserTable {
    pub name: String,
    pub group: Option<String>,
    pub home: Option<String>,
    pub shell: Option<String>,
}

/// One entry of `config-files`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ConfigFileSpec {
    /// Relative to the project.
    pub source: String,
    /// Absolute, e.g. `/etc/hello/hello.toml`.
    pub target: String,
    /// Octal permission bits as a string, e.g. `"0640"`.
    pub mode: Option<String>,
}

/// `[tool.pyship.service]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ServiceSpec {
    /// The unit name (default: the project name).
    pub name: Option<String>,
    /// A console script of the virtualenv to run…
    pub script: Option<String>,
    /// …or a command: an absolute path, or one relative to the install prefix.
    #[serde(default)]
    pub command: Vec<String>,
    /// Arguments after the script or command.
    #[serde(default)]
    pub args: Vec<String>,
    pub user: Option<String>,
    pub group: Option<String>,
    pub working_directory: Option<String>,
    #[serde(default)]
    pub environment: BTreeMap<String, String>,
    /// systemd `Restart=` (default `on-failure`).
    pub restart: Option<String>,
    /// A unit file in the project, used as it is.
    pub unit_file: Option<String>,
    /// systemd's `Type=` (`simple`, `exec`, `notify`, …).
    #[serde(rename = "type")]
    pub service_type: Option<String>,
    /// Commands run before the service starts (`ExecStartPre=`): each a console script or a
    /// command, then its arguments.
    #[serde(default)]
    pub exec_start_pre: Vec<Vec<String>>,
    /// The command that reloads the service (`ExecReload=`).
    #[serde(default)]
    pub exec_reload: Vec<String>,
    /// systemd's `RestartSec=` (`5s`).
    pub restart_sec: Option<String>,
    /// systemd's `SyslogIdentifier=`.
    pub syslog_identifier: Option<String>,
    /// Files of `VAR=value` lines (`EnvironmentFile=`; a leading `-`: may be missing).
    #[serde(default)]
    pub environment_file: Vec<String>,
    /// Secrets handed to the service: name to file (`LoadCredential=`).
    #[serde(default)]
    pub load_credential: BTreeMap<String, String>,
    /// A calendar event (`daily`, `*-*-* 03:00:00`): the service is a job its timer runs.
    pub on_calendar: Option<String>,
    /// Instances of a template unit (`NAME@INSTANCE.service`); `%i` in its commands.
    #[serde(default)]
    pub instances: Vec<String>,
    /// The sandbox written into the unit: `default` (when absent), `strict` or `none`.
    pub hardening: Option<String>,
    /// Paths the service writes although the sandbox makes the system read-only.
    #[serde(default)]
    pub read_write_paths: Vec<String>,
    /// Directories systemd makes under `/run`, `/var/lib`, `/var/log`, `/var/cache`, owned by
    /// the service's user.
    #[serde(default)]
    pub runtime_directory: Vec<String>,
    #[serde(default)]
    pub state_directory: Vec<String>,
    #[serde(default)]
    pub logs_directory: Vec<String>,
    #[serde(default)]
    pub cache_directory: Vec<String>,
}

/// `[tool.pyship] bytecode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum BytecodeMode {
    /// Compiled at build time with a matching interpreter on this machine.
    Build,
    /// Compiled on the server by the package's scripts, removed before removal.
    Install,
    /// Not compiled (Python writes caches at run time where it may).
    None,
}

/// One entry of `[tool.pyship] targets`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum TargetSpec {
    /// A preset name, e.g. `debian-12`.
    Preset(String),
    /// An explicit target.
    Explicit {
        preset: Option<String>,
        python: Option<String>,
        platform: Option<String>,
        arch: Option<String>,
        /// The interpreter on the server (default: the preset's).
        interpreter: Option<String>,
    },
}

#[derive(Deserialize)]
struct PyProjectToml {
    project: Option<ProjectTable>,
    #[serde(default)]
    tool: OtherTools,
    #[serde(rename = "build-system")]
    build_system: Option<BuildSystem>,
    #[serde(rename = "dependency-groups", default)]
    dependency_groups: BTreeMap<String, Vec<GroupEntry>>,
}

/// The `[tool]` tables pyship reads besides its own.
#[derive(Deserialize, Default)]
struct OtherTools {
    /// Read only when there is no `[project]`, and only then checked.
    poetry: Option<toml::Value>,
}

/// An entry of a PEP 735 dependency group.
#[derive(Deserialize)]
#[serde(untagged)]
enum GroupEntry {
    Requirement(String),
    Include {
        #[serde(rename = "include-group")]
        include_group: String,
    },
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
struct ProjectTable {
    name: Option<String>,
    version: Option<String>,
    description: Option<String>,
    requires_python: Option<String>,
    license: Option<License>,
    #[serde(default)]
    maintainers: Vec<Person>,
    #[serde(default)]
    authors: Vec<Person>,
    #[serde(default)]
    dependencies: Vec<String>,
    #[serde(default)]
    optional_dependencies: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    scripts: BTreeMap<String, String>,
    #[serde(default)]
    urls: BTreeMap<String, String>,
    /// PEP 621's fields the backend provides (`version` from setuptools_scm, `dependencies`
    /// from setup.py).
    #[serde(default)]
    dynamic: Vec<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum License {
    Expression(String),
    Table {
        text: Option<String>,
        file: Option<String>,
    },
}

#[derive(Deserialize)]
struct Person {
    name: Option<String>,
    email: Option<String>,
}

impl Person {
    fn render(&self) -> Option<String> {
        match (&self.name, &self.email) {
            (Some(name), Some(email)) => Some(format!("{name} <{email}>")),
            (None, Some(email)) => Some(format!("<{email}>")),
            (Some(name), None) => Some(name.clone()),
            (None, None) => None,
        }
    }
}

impl Project {
    /// Loads `DIRECTORY/pyproject.toml`.
    pub fn load(directory: &Path) -> Result<Project, ProjectError> {
        let path = directory.join(PYPROJECT);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                return Err(ProjectError::Missing {
                    directory: directory.to_path_buf(),
                });
            }
            Err(source) => return Err(ProjectError::Read { path, source }),
        };
        let project = Self::parse(directory, &path, &text)?;
        checks::check_files(&project)?;
        Ok(project)
    }

    pub(crate) fn parse(
        directory: &Path,
        path: &Path,
        text: &str,
    ) -> Result<Project, ProjectError> {
        let parse_error = |message: String| ProjectError::Parse {
            path: path.to_path_buf(),
            message,
        };
        // toml's messages name the line and column and show the line with a caret.
        let document: PyProjectToml =
            toml::from_str(text).map_err(|error| parse_error(error.to_string()))?;
        let (mut config, raw_options, format_options) = read_tool_table(path, text)?;
        checks::check_settings(path, text, &mut config, &format_options)?;
        let table = match (document.project, document.tool.poetry) {
            (Some(table), _) => table,
            // A Poetry project: its metadata read as it is.
            (None, Some(poetry)) => poetry::PoetryTable::deserialize(poetry)
                .map_err(|error| error.to_string())
                .and_then(poetry::PoetryTable::into_project)
                .map_err(|message| parse_error(format!("`[tool.poetry]`: {message}")))?,
            // A setup.py (or setup.cfg) project: everything comes from its backend.
            (None, None)
                if directory.join("setup.py").is_file()
                    || directory.join("setup.cfg").is_file() =>
            {
                ProjectTable {
                    name: directory
                        .file_name()
                        .map(|name| name.to_string_lossy().into_owned())
                        .filter(|name| PackageName::from_str(name).is_ok())
                        .or_else(|| Some("app".into())),
                    dynamic: DYNAMIC_FIELDS
                        .iter()
                        .map(|field| field.to_string())
                        .collect(),
                    ..ProjectTable::default()
                }
            }
            (None, None) => {
                return Err(ProjectError::NoProjectTable {
                    path: path.to_path_buf(),
                });
            }
        };
        let dynamic: Vec<String> = table
            .dynamic
            .iter()
            .filter(|field| DYNAMIC_FIELDS.contains(&field.as_str()))
            .cloned()
            .collect();
        let missing = |field| ProjectError::MissingField {
            path: path.to_path_buf(),
            field,
        };
        let raw_name = table.name.ok_or_else(|| missing("name"))?;
        let name = PackageName::from_str(&raw_name).map_err(|error| ProjectError::Invalid {
            path: path.to_path_buf(),
            what: "project name",
            value: raw_name.clone(),
            message: error.to_string(),
        })?;
        // A dynamic version is the backend's: a placeholder until the workspace asks it.
        let version = match table.version {
            Some(version) => version,
            None if dynamic.iter().any(|field| field == "version") => "0".to_string(),
            None => return Err(missing("version")),
        };
        let parsed_version =
            pep508_rs::pep440_rs::Version::from_str(&version).map_err(|error| {
                ProjectError::Invalid {
                    path: path.to_path_buf(),
                    what: "version",
                    value: version.clone(),
                    message: error.to_string(),
                }
            })?;
        let parse_all = |what: &'static str, items: &[String]| {
            items
                .iter()
                .map(|item| {
                    crate::pep508::parse_requirement(item).map_err(|message| {
                        ProjectError::InvalidRequirement {
                            path: path.to_path_buf(),
                            line: text
                                .find(item.as_str())
                                .map_or(0, |offset| line_and_column(text, offset).0),
                            what,
                            value: item.clone(),
                            message,
                        }
                    })
                })
                .collect::<Result<Vec<_>, _>>()
        };
        let dependencies = parse_all("dependency", &table.dependencies)?;
        let optional_dependencies = table
            .optional_dependencies
            .iter()
            .map(|(extra, items)| Ok((extra.clone(), parse_all("optional dependency", items)?)))
            .collect::<Result<BTreeMap<_, _>, ProjectError>>()?;
        let mut dependency_groups = BTreeMap::new();
        for group in document.dependency_groups.keys() {
            let mut items = Vec::new();
            expand_group(
                path,
                &document.dependency_groups,
                group,
                &mut Vec::new(),
                &mut items,
            )?;
            dependency_groups.insert(group.clone(), parse_all("dependency group entry", &items)?);
        }
        let license = table.license.and_then(|license| match license {
            License::Expression(expression) => Some(expression),
            License::Table { text, file } => text.or(file),
        });
        let maintainer = config.maintainer.clone().or_else(|| {
            table
                .maintainers
                .iter()
                .chain(&table.authors)
                .find_map(Person::render)
        });
        let homepage = table
            .urls
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case("homepage"))
            .or_else(|| table.urls.iter().next())
            .map(|(_, url)| url.clone());
        for (what, value) in [("maintainer", &maintainer), ("homepage", &homepage)] {
            if let Some(value) = value {
                let refusal = pyship_plugin::grammar::single_line(value)
                    .err()
                    .or_else(|| {
                        (what == "homepage" && value.contains(' '))
                            .then(|| "a URL has no spaces".to_string())
                    });
                if let Some(message) = refusal {
                    return Err(ProjectError::Invalid {
                        path: path.to_path_buf(),
                        what,
                        value: value.escape_debug().to_string(),
                        message,
                    });
                }
            }
        }
        // The summary is one line wherever it goes (a control file's synopsis, a unit's
        // Description=): its first line, with any other control character dropped.
        let summary = table.description.map(|description| {
            description
                .lines()
                .next()
                .unwrap_or_default()
                .chars()
                .filter(|c| !c.is_control())
                .collect::<String>()
                .trim()
                .to_string()
        });
        Ok(Project {
            root: directory.to_path_buf(),
            name,
            version,
            parsed_version,
            summary,
            license,
            maintainer,
            homepage,
            scripts: table.scripts,
            requires_python: table.requires_python,
            dependencies,
            optional_dependencies,
            dependency_groups,
            build_system: document.build_system.unwrap_or_default(),
            config,
            raw_options,
            format_options,
            text: text.to_string(),
            dynamic,
            target_root: None,
        })
    }

    /// Checks the format tables (`[tool.pyship.FORMAT]`) against the plugins `installed`
    /// (asked for only when there is such a table; pyship's own formats are plugins like any
    /// other, found beside its executable, so no list of them is kept here): a table that looks like a misspelt format or setting
    /// (`[tool.pyship.debian]`, `[tool.pyship.python]`) is refused; the names of tables for
    /// formats that are not installed here are returned, for a warning.
    pub fn check_format_tables(
        &self,
        installed: impl FnOnce() -> Vec<String>,
    ) -> Result<Vec<String>, ProjectError> {
        /// Names that are settings (now or planned), never formats.
        const NOT_FORMATS: &[&str] = &["python", "deployment", "tool", "pyship", "project"];
        let mut not_installed = Vec::new();
        let mut installed = Some(installed);
        let mut found: Vec<String> = Vec::new();
        for format in self.format_options.keys() {
            if let Some(list) = installed.take() {
                found = list();
            }
            if found.contains(format) {
                continue;
            }
            let installed = &found;
            let close = installed
                .iter()
                .map(String::as_str)
                .chain(known_keys().iter().copied())
                .filter(|known| {
                    // Short names are close to many others (`apt` and `rpm`): one edit only.
                    let most = if format.len() >= 5 { 2 } else { 1 };
                    edit_distance(format, known) <= most
                        || known.starts_with(format.as_str())
                        || format.starts_with(known)
                })
                .min_by_key(|known| edit_distance(format, known))
                .map(str::to_string);
            if close.is_some() || NOT_FORMATS.contains(&format.as_str()) {
                return Err(ProjectError::UnknownFormat {
                    path: self.pyproject_path(),
                    format: format.clone(),
                    line: self.line_of(&["tool", "pyship", format]),
                    suggestion: close,
                });
            }
            not_installed.push(format.clone());
        }
        Ok(not_installed)
    }

    /// `pyproject.toml`'s path.
    pub fn pyproject_path(&self) -> PathBuf {
        self.root.join(PYPROJECT)
    }

    /// The 1-based line where the key at `path` (e.g. `["tool", "pyship", "service", "user"]`) is
    /// written; 0 when it is not found.
    pub fn line_of(&self, path: &[&str]) -> usize {
        match key_path_offset(&self.text, path) {
            0 => 0,
            offset => line_and_column(&self.text, offset).0,
        }
    }

    /// The install prefix on the target.
    pub fn install_prefix(&self) -> PathBuf {
        self.config
            .install_prefix
            .as_ref()
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(format!("/opt/venvs/{}", self.name)))
    }

    /// `target/pyship` (under `--target-dir`, else the project's `target/`): pyship's work and
    /// output directory.
    pub fn target_dir(&self) -> PathBuf {
        self.target_root().join("pyship")
    }

    /// The directory pyship claims for its work: `--target-dir` (or `PYSHIP_TARGET_DIR`),
    /// else the project's `target/`.
    pub fn target_root(&self) -> PathBuf {
        self.target_root
            .clone()
            .unwrap_or_else(|| self.root.join("target"))
    }

    /// The lockfile's path.
    pub fn lockfile_path(&self) -> PathBuf {
        self.root.join("pylock.toml")
    }
}

/// Collects a group's requirement strings, following `include-group` (PEP 735) and refusing
/// cycles and unknown groups.
fn expand_group(
    path: &Path,
    groups: &BTreeMap<String, Vec<GroupEntry>>,
    group: &str,
    stack: &mut Vec<String>,
    out: &mut Vec<String>,
) -> Result<(), ProjectError> {
    let invalid = |message: String| ProjectError::Invalid {
        path: path.to_path_buf(),
        what: "dependency group",
        value: group.to_string(),
        message,
    };
    if stack.iter().any(|seen| seen == group) {
        return Err(invalid(format!(
            "it includes itself through {}",
            stack.join(" -> ")
        )));
    }
    let entries = groups
        .get(group)
        .ok_or_else(|| invalid("no such group in `[dependency-groups]`".into()))?;
    stack.push(group.to_string());
    for entry in entries {
        match entry {
            GroupEntry::Requirement(requirement) => out.push(requirement.clone()),
            GroupEntry::Include { include_group } => {
                expand_group(path, groups, include_group, stack, out)?
            }
        }
    }
    stack.pop();
    Ok(())
}

/// The `[build-system]` of the source tree in `directory` (PEP 517's default when there is no
/// `pyproject.toml` or no table).
pub fn read_build_system(directory: &Path) -> Result<BuildSystem, ProjectError> {
    let path = directory.join(PYPROJECT);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Ok(BuildSystem::default());
        }
        Err(source) => return Err(ProjectError::Read { path, source }),
    };
    parse_build_system(&path, &text)
}

/// The `[build-system]` of a pyproject.toml's `text` (`path` for messages).
pub fn parse_build_system(path: &Path, text: &str) -> Result<BuildSystem, ProjectError> {
    #[derive(Deserialize)]
    struct Document {
        #[serde(rename = "build-system")]
        build_system: Option<BuildSystem>,
    }
    let document: Document = toml::from_str(text).map_err(|error| ProjectError::Parse {
        path: path.to_path_buf(),
        message: error.to_string(),
    })?;
    Ok(document.build_system.unwrap_or_default())
}

type ToolTables = (PyshipConfig, toml::Table, BTreeMap<String, toml::Table>);

/// Splits `[tool.pyship]` into settings and per-format tables, refusing unknown keys.
fn read_tool_table(path: &Path, text: &str) -> Result<ToolTables, ProjectError> {
    let parse_error = |message: String| ProjectError::Parse {
        path: path.to_path_buf(),
        message,
    };
    let document: toml::Table = toml::from_str(text).map_err(|e| parse_error(e.to_string()))?;
    let Some(pyship) = document
        .get("tool")
        .and_then(toml::Value::as_table)
        .and_then(|tool| tool.get("pyship"))
    else {
        return Ok(Default::default());
    };
    let Some(pyship) = pyship.as_table() else {
        return Err(parse_error("`tool.pyship` must be a table".into()));
    };
    let mut settings = toml::Table::new();
    let mut formats = BTreeMap::new();
    for (key, value) in pyship {
        // Known keys first: `service` and `user` may be tables without being formats.
        if known_keys().contains(&key.as_str()) {
            settings.insert(key.clone(), value.clone());
        } else if let toml::Value::Table(table) = value {
            formats.insert(key.clone(), table.clone());
        } else {
            let (line, column) = line_and_column(text, key_offset(text, key));
            return Err(ProjectError::UnknownKey {
                path: path.to_path_buf(),
                key: key.clone(),
                line,
                column,
            });
        }
    }
    let config: PyshipConfig = toml::Value::Table(settings.clone())
        .try_into()
        .map_err(|error: toml::de::Error| parse_error(format!("in `[tool.pyship]`: {error}")))?;
    Ok((config, settings, formats))
}

/// Where the key `tool.pyship.KEY` is written, from toml_edit's spans (0 when unknown).
fn key_offset(text: &str, key: &str) -> usize {
    key_path_offset(text, &["tool", "pyship", key])
}

/// Where the key at `path` (tables, then the key) is written (0 when unknown).
fn key_path_offset(text: &str, path: &[&str]) -> usize {
    let Ok(document) = toml_edit::ImDocument::parse(text) else {
        return 0;
    };
    let Some((last, tables)) = path.split_last() else {
        return 0;
    };
    let mut table = document.as_table() as &dyn toml_edit::TableLike;
    for name in tables {
        let Some(next) = table.get(name).and_then(|item| item.as_table_like()) else {
            return 0;
        };
        table = next;
    }
    table
        .get_key_value(last)
        .and_then(|(key, _)| key.span())
        .map_or(0, |span| span.start)
}

/// 1-based line and column of a byte offset.
fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.len() - before.rfind('\n').map_or(0, |index| index + 1) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Project, ProjectError> {
        Project::parse(Path::new("/p"), Path::new("/p/pyproject.toml"), text)
    }

    #[test]
    fn reads_metadata_and_format_tables() {
        let project = parse(
            r#"
[project]
name = "My_App"
version = "1.0"
dependencies = ["flask>=3", "redis; python_version < '3'"]
maintainers = [{name = "A", email = "a@example.com"}]

[tool.pyship]
find-links = ["wheels"]

[tool.pyship.deb]
depends = ["libpq5"]
"#,
        )
        .unwrap();
        assert_eq!(project.name.as_ref(), "my-app");
        assert_eq!(project.dependencies.len(), 2);
        assert_eq!(project.maintainer.as_deref(), Some("A <a@example.com>"));
        assert_eq!(project.config.find_links, vec!["wheels"]);
        assert!(project.format_options["deb"].contains_key("depends"));
        assert_eq!(project.install_prefix(), PathBuf::from("/opt/venvs/my-app"));
    }

    #[test]
    fn unknown_tool_pyship_key_names_the_key_and_line() {
        let error = parse(
            "[project]\nname = \"a\"\nversion = \"1\"\n\n[tool.pyship]\ninstal-prefix = \"/x\"\n",
        )
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "unknown key `instal-prefix` in `[tool.pyship]` at `/p/pyproject.toml:6:1`"
        );
        assert_eq!(
            error.hint().as_deref(),
            Some("did you mean `install-prefix`?")
        );
    }

    #[test]
    fn invalid_dependencies_name_the_line() {
        let error = parse(
            "[project]\nname = \"a\"\nversion = \"1\"\ndependencies = [\n  \"flask\",\n  \"redis >= = 4\",\n]\n",
        )
        .unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("invalid dependency `redis >= = 4` at `/p/pyproject.toml:6`"),
            "{error}"
        );
    }

    #[test]
    fn install_prefixes_are_normalized_or_refused_with_their_line() {
        let text = "[project]\nname = \"a\"\nversion = \"1\"\n\n[tool.pyship]\ninstall-prefix = \"/opt/../../elsewhere\"\n";
        let error = Project::parse(Path::new("/p"), Path::new("/p/pyproject.toml"), text)
            .unwrap_err()
            .to_string();
        assert!(error.contains("/p/pyproject.toml:6"), "{error}");
        assert!(error.contains("`..`"), "{error}");
    }

    /// docs/configuration.md is the reference: every key `[tool.pyship]` and its tables accept
    /// is shown there as it is written.
    #[test]
    fn the_configuration_reference_shows_every_key() {
        let reference = include_str!("../../docs/configuration.md");
        let service = schema::keys_of::<ServiceSpec>();
        for key in known_keys().iter().chain(service) {
            let written = [
                format!("\n{key} = "),
                format!("\n# {key} = "),
                format!("{{ {key} = "),
                format!("\n[tool.pyship.{key}]"),
                format!("\n[[tool.pyship.{key}]]"),
            ];
            assert!(
                written.iter().any(|form| reference.contains(form.as_str())),
                "docs/configuration.md does not show `{key} = …`"
            );
        }
        // And nothing it shows as a setting of [tool.pyship] is unknown.
        let document: toml::Table = toml::from_str(
            reference
                .split("```toml\n")
                .nth(1)
                .and_then(|block| block.split("```").next())
                .expect("a toml block"),
        )
        .expect("the reference's example is TOML");
        let pyship = document["tool"]["pyship"].as_table().unwrap();
        for (key, value) in pyship {
            assert!(
                known_keys().contains(&key.as_str()) || value.is_table(),
                "docs/configuration.md shows an unknown key `{key}`"
            );
        }
    }

    #[test]
    fn format_tables_are_installed_formats_or_look_like_none() {
        let with_table = |name: &str| {
            parse(&format!(
                "[project]\nname = \"a\"\nversion = \"1\"\n\n[tool.pyship.{name}]\nx = 1\n"
            ))
            .unwrap()
        };
        let installed = || ["echo", "deb", "tarball"].map(str::to_string).to_vec();
        for format in ["echo", "deb"] {
            assert!(
                with_table(format)
                    .check_format_tables(installed)
                    .unwrap()
                    .is_empty()
            );
        }
        // No table, no search for plugins.
        assert!(
            parse("[project]\nname = \"a\"\nversion = \"1\"\n")
                .unwrap()
                .check_format_tables(|| unreachable!("no search without a format table"))
                .unwrap()
                .is_empty()
        );
        // A short name one edit from nothing known: a format not installed here, a warning.
        assert_eq!(
            with_table("apt").check_format_tables(installed).unwrap(),
            ["apt"]
        );
        for typo in ["debian", "tarbal", "python"] {
            assert!(
                with_table(typo).check_format_tables(installed).is_err(),
                "{typo}"
            );
        }
    }

    #[test]
    fn malformed_toml_names_the_line() {
        let error = parse("[project]\nname = \"a\"\nversion = 1.0.0\n").unwrap_err();
        assert!(error.to_string().contains("line 3"), "{error}");
    }
}
