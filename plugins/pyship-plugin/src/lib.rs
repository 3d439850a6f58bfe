//! The pyship plugin protocol, versions 1, 2 and 3: the contract every format plugin speaks.
//!
//! pyship (the core) prepares a staged tree and hands it to an external executable
//! `pyship-FORMAT`. Everything that crosses that process boundary is defined here:
//!
//! * [`Describe`]: what `pyship-FORMAT describe` prints on stdout. pyship reads it to choose a
//!   protocol version both sides speak, to show the plugin in `pyship --list`, and to learn
//!   which layout (a virtualenv or a vendors directory) the plugin wants.
//! * [`Manifest`]: the JSON file pyship writes to `target/pyship/FORMAT/manifest.json` before it
//!   runs `pyship-FORMAT package --manifest PATH`. It carries the project metadata, the target
//!   interpreter, the staged tree, the locked packages, the output directory and the build's
//!   source facts; from version 2, facts instead of raw settings: the version's parts, the
//!   interpreter's package, the glibc bound and the deployment (service, user, config files,
//!   scripts, system packages), while version 1 plugins still get the raw `options` table.
//! * [`PackageResult`]: the one JSON document the plugin prints on stdout after `package`:
//!   the artifacts it wrote, with sizes and sha256 digests.
//!
//! # Wire rules
//!
//! * All documents are UTF-8 JSON objects whose field names are kebab-case.
//! * Readers ignore unknown fields, so a newer pyship or plugin may add optional fields without
//!   bumping the protocol version. Enums carry an `Unknown` variant for the same reason.
//! * The version changes only for a break: a removed or retyped field, a changed meaning.
//! * Paths are absolute and UTF-8. pyship refuses to stage into a non-UTF-8 path.
//! * A plugin writes logs and progress to stderr. On failure it exits non-zero with a human
//!   message on stderr; pyship shows that message as it is and adds one line naming the plugin.
//!
//! # Determinism
//!
//! Every archive format must give byte-identical output for the same staged tree and
//! `SOURCE_DATE_EPOCH`. [`walk_staged_tree`] is the one walker all plugins share: depth-first,
//! names sorted by bytes, parent directories explicit, modes normalized, owner root, and one mtime.
//!
//! # Writing a plugin in Rust
//!
//! ```no_run
//! use pyship_plugin::{Describe, Manifest, PackageResult, Plugin};
//!
//! struct Echo;
//! impl Plugin for Echo {
//!     fn describe(&self) -> Describe {
//!         Describe::new("echo", "prints the manifest", &["echo"])
//!     }
//!     fn package(&self, manifest: &Manifest) -> Result<PackageResult, String> {
//!         eprintln!("{}", manifest.project.name);
//!         Ok(PackageResult::new(Vec::new()))
//!     }
//! }
//!
//! fn main() -> std::process::ExitCode {
//!     pyship_plugin::main(Echo)
//! }
//! ```

#![allow(clippy::print_stdout, clippy::print_stderr)]

pub mod grammar;
mod runner;
pub mod time;
mod versions;
mod walk;

pub use runner::{
    LIFELINE_ENV, Plugin, log, main, read_manifest, temporary_ended, temporary_started,
};
pub use walk::{Entry, EntryKind, WalkError, walk_staged_tree};

pub use serde_json;
use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Every protocol version this crate speaks, oldest first.
///
/// Version 2 hands plugins facts instead of settings to parse: the manifest carries the
/// version's parts, the target's distribution package and minimum glibc, and whether the
/// tree is architecture-independent, and it no longer carries `options` (the raw
/// `[tool.pyship]` table). A plugin that speaks only 1 still gets a version 1 manifest.
///
/// Version 3 names system packages as a default (Debian's form, which each family's plugin
/// translates) plus per-family overrides, so neither pyship nor this crate keeps a list of
/// packaging families; a version 2 manifest still carries a `deb` and an `rpm` name, made by
/// [`Manifest::to_wire`].
pub const PROTOCOL_VERSIONS: &[u32] = &[1, 2, 3];

/// The newest protocol version this crate speaks.
pub const PROTOCOL_VERSION: u32 = 3;

/// The answer to `pyship-FORMAT describe`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Describe {
    /// Protocol versions the plugin speaks; pyship picks the highest one it also speaks.
    pub protocols: Vec<u32>,
    /// The plugin's name: `deb` for `pyship-deb`.
    pub name: String,
    /// One line for `pyship --list`.
    #[serde(default)]
    pub summary: String,
    /// The formats the plugin writes (`pyship package FORMAT`).
    #[serde(default)]
    pub formats: Vec<String>,
    /// The staged layout the plugin wants.
    #[serde(default)]
    pub layout: LayoutKind,
    /// The options the plugin reads from `[tool.pyship.FORMAT]`, for documentation.
    #[serde(default)]
    pub options: Vec<OptionDoc>,
    /// Where the virtualenv is installed, as a template of `{prefix}` (the project's
    /// `install-prefix`) and `{version}` (the release: the project version, `-N` added for a
    /// build number): `{prefix}/releases/{version}` keeps releases side by side. Default:
    /// `{prefix}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub install_prefix: Option<String>,
    /// The deployment facts the plugin acts on (names of [`DEPLOYMENT_FACTS`]). pyship
    /// refuses to package a project that sets a fact the format would silently go without,
    /// unless the project says so (`[tool.pyship.FORMAT] ignore = [...]`). Absent: the
    /// plugin does not say, and nothing is checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub honours: Option<Vec<String>>,
    /// What the plugin is: a format (`pyship package NAME`, the default) or a publisher
    /// (`pyship publish NAME DESTINATION`), which takes artifacts somewhere.
    #[serde(default)]
    pub role: PluginRole,
    /// For a publisher: the formats whose artifacts it takes (`["deb"]` for an APT
    /// repository); `pyship publish` packages the first one when it is given no artifacts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accepts: Vec<String>,
}

/// What a plugin is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum PluginRole {
    /// Writes artifacts: `pyship-NAME package --manifest PATH`.
    #[default]
    Format,
    /// Takes artifacts to a destination: `pyship-NAME publish --request PATH`.
    Publisher,
    /// A role this crate does not know yet.
    #[serde(other)]
    Unknown,
}

/// What pyship writes for `pyship-NAME publish --request PATH`
/// (`target/pyship/publish/NAME/request.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct PublishRequest {
    /// The protocol version of this document.
    pub protocol: u32,
    /// The publisher's name.
    pub publisher: String,
    /// Where to publish, as the user gave it (a directory, a URL: the publisher's to read).
    pub destination: String,
    /// The artifacts, as `pyship package` returned them (with their sha256, which a publisher
    /// checks before it uses a file).
    pub artifacts: Vec<Artifact>,
    /// `[tool.pyship.NAME]` of the project, as written.
    #[serde(default)]
    pub options: serde_json::Map<String, serde_json::Value>,
    /// The project's name and release, for publishers that record them.
    pub project: String,
    pub release: String,
    /// The build's `SOURCE_DATE_EPOCH`.
    pub source_date_epoch: u64,
}

/// What a publisher prints on stdout after `publish`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct PublishResult {
    /// The protocol version of this document.
    pub protocol: u32,
    /// Where each artifact can now be found (a path or URL), in the order given.
    pub published: Vec<Published>,
}

/// One artifact, published.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Published {
    /// The artifact's path as it was given.
    pub artifact: PathBuf,
    /// Where it is now.
    pub location: String,
}

/// The deployment facts a plugin may honour, as `Describe::honours` names them.
pub const DEPLOYMENT_FACTS: &[&str] = &[
    "steps",
    "services",
    "build-number",
    "run-depends",
    "user",
    "config-files",
    "scripts.preinst",
    "scripts.postinst",
    "scripts.prerm",
    "scripts.postrm",
    "service",
    "commands",
];

impl Describe {
    /// A description speaking every protocol version of this crate, wanting a virtualenv.
    pub fn new(name: &str, summary: &str, formats: &[&str]) -> Self {
        Describe {
            protocols: PROTOCOL_VERSIONS.to_vec(),
            name: name.to_string(),
            summary: summary.to_string(),
            formats: formats.iter().map(|format| format.to_string()).collect(),
            layout: LayoutKind::Venv,
            options: Vec::new(),
            install_prefix: None,
            honours: None,
            role: PluginRole::Format,
            accepts: Vec::new(),
        }
    }

    /// The same description, saying which deployment facts the plugin honours.
    pub fn honouring(mut self, facts: &[&str]) -> Self {
        self.honours = Some(facts.iter().map(|fact| fact.to_string()).collect());
        self
    }
}

/// One option a plugin reads from `[tool.pyship.FORMAT]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct OptionDoc {
    /// The TOML key.
    pub name: String,
    /// The value's type, e.g. `string` or `array<string>`.
    #[serde(rename = "type")]
    pub value_type: String,
    /// What it does.
    #[serde(default)]
    pub doc: String,
}

impl OptionDoc {
    /// An option named `name` of type `value_type` (`string`, `integer`, `boolean`,
    /// `array<string>`), documented by `doc`.
    pub fn new(name: &str, value_type: &str, doc: &str) -> OptionDoc {
        OptionDoc {
            name: name.into(),
            value_type: value_type.into(),
            doc: doc.into(),
        }
    }
}

/// Which staged layout a plugin packages.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum LayoutKind {
    /// A virtualenv at its final install prefix, staged under a staging root (DESTDIR-style).
    #[default]
    Venv,
    /// A plain directory of installed packages for `site.addsitedir`.
    Vendors,
    /// A layout this crate does not know yet.
    #[serde(other)]
    Unknown,
}

/// The manifest pyship writes for `pyship-FORMAT package --manifest PATH`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Manifest {
    /// The protocol version pyship chose for this run.
    pub protocol: u32,
    /// The version of pyship that wrote the manifest.
    pub pyship_version: String,
    /// The format asked for: `deb` in `pyship package deb`.
    pub format: String,
    /// The application's metadata from `[project]` and `[tool.pyship]`.
    pub project: Project,
    /// The interpreter and platform the staged tree runs on.
    pub target: Target,
    /// Where the staged tree is.
    pub layout: Layout,
    /// Every locked package installed into the staged tree, sorted by name.
    #[serde(default)]
    pub packages: Vec<Package>,
    /// `[tool.pyship]` as the user wrote it (format tables removed). Protocol 1 only: from
    /// version 2 on, what a plugin needs of it comes as facts.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub options: serde_json::Map<String, serde_json::Value>,
    /// `[tool.pyship.FORMAT]` as the user wrote it.
    #[serde(default)]
    pub format_options: serde_json::Map<String, serde_json::Value>,
    /// The directory the plugin writes its artifacts to; it exists.
    pub output_dir: PathBuf,
    /// Facts about the source the artifact is built from.
    #[serde(default)]
    pub source: Source,
    /// What the deployment needs beyond the files: a service, a system user, config files,
    /// maintainer-script fragments, system packages (protocol 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment: Option<Deployment>,
    /// Software bills of materials of what the artifact holds (`NAME.cdx.json`, CycloneDX;
    /// `NAME.spdx.json`, SPDX), absolute paths: a plugin ships them as documentation
    /// (`/usr/share/doc/PACKAGE/`, beside a tarball's release).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sboms: Vec<PathBuf>,
}

/// The deployment intent from `[tool.pyship]`, checked and resolved by pyship: every path is
/// absolute, every reference exists.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Deployment {
    /// The build number (a Debian revision, an RPM release), when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build_number: Option<u64>,
    /// System packages needed at run time, each with its name per packaging family.
    #[serde(default)]
    pub run_depends: Vec<SystemPackage>,
    /// System packages needed to build sdists (checked on the build machine).
    #[serde(default)]
    pub build_depends: Vec<SystemPackage>,
    /// A system account to create for the application.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<SystemUser>,
    /// Files installed from the project, kept across upgrades when the operator edited them.
    #[serde(default)]
    pub config_files: Vec<ConfigFile>,
    /// The user's own maintainer-script fragments, by phase.
    #[serde(default)]
    pub scripts: MaintainerScripts,
    /// A long-running service to install, enable and start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<Service>,
    /// More services beside `service` (a web server and its worker), each a unit of its own,
    /// installed, enabled and started alike.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<Service>,
    /// Console scripts of the virtualenv to put on every user's PATH: `/usr/bin/NAME`, a
    /// symbolic link to `PREFIX/bin/NAME` (checked to exist in the staged tree).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub commands: Vec<String>,
    /// Commands run once after a first install (create a database, generate keys), each an
    /// absolute argv, as the service's user (else the account, else root), before the
    /// service starts; a failure fails the installation.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub install_steps: Vec<Vec<String>>,
    /// Commands run after every upgrade (migrations), likewise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub upgrade_steps: Vec<Vec<String>>,
    /// What says the new version works, checked after the services (re)start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check: Option<HealthCheck>,
}

/// A health check run after install and upgrade: an `http://` URL that must answer 2xx or 3xx,
/// or a command (an absolute argv) that must exit 0, tried until it passes or `timeout`
/// seconds have gone.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct HealthCheck {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub command: Vec<String>,
    pub timeout: u64,
}

impl Service {
    /// The unit files installed for the service: `NAME.service` (`NAME@.service` for a
    /// template), and `NAME.timer` for a job on a calendar.
    pub fn unit_files(&self) -> Vec<String> {
        let mut files = vec![if self.instances.is_empty() {
            format!("{}.service", self.name)
        } else {
            format!("{}@.service", self.name)
        }];
        if self.on_calendar.is_some() {
            files.push(format!("{}.timer", self.name));
        }
        files
    }

    /// The units enabled and started on install, restarted on upgrade: the timer of a job,
    /// each instance of a template, else the service.
    pub fn started_units(&self) -> Vec<String> {
        if self.on_calendar.is_some() {
            vec![format!("{}.timer", self.name)]
        } else if !self.instances.is_empty() {
            self.instances
                .iter()
                .map(|instance| format!("{}@{instance}.service", self.name))
                .collect()
        } else {
            vec![format!("{}.service", self.name)]
        }
    }

    /// The units stopped on removal: those started, and a timer's job (it may be running).
    pub fn stopped_units(&self) -> Vec<String> {
        let mut units = self.started_units();
        if self.on_calendar.is_some() {
            units.push(format!("{}.service", self.name));
        }
        units
    }
}

impl Deployment {
    /// Every service: `service`, then `services`.
    pub fn all_services(&self) -> impl Iterator<Item = &Service> {
        self.service.iter().chain(&self.services)
    }
}

/// One system package: a default name in Debian's form (`libpq5 (>= 15)`), which each
/// family's plugin writes its own way, and names for particular families that replace it
/// there (`{"rpm": "libpq"}`). Protocol 3; a version 2 document (`{"deb": …, "rpm": …}`) reads
/// as per-family names only.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct SystemPackage {
    /// The name everywhere no per-family name is given, with an optional version bound in
    /// Debian's form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    /// Names for particular packaging families (`deb`, `rpm`, `apk`, …), in their own form.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub per_family: BTreeMap<String, String>,
}

impl SystemPackage {
    /// The name for `family`: its own name, else the default made into the family's form by
    /// `from_default`; none when the package is for other families only.
    pub fn name_for(&self, family: &str, from_default: impl Fn(&str) -> String) -> Option<String> {
        match self.per_family.get(family) {
            Some(name) => Some(name.clone()),
            None => self.default.as_deref().map(from_default),
        }
    }
}

impl<'de> Deserialize<'de> for SystemPackage {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(rename_all = "kebab-case", deny_unknown_fields)]
        struct Version3 {
            #[serde(default)]
            default: Option<String>,
            #[serde(default)]
            per_family: BTreeMap<String, String>,
        }
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Either {
            Version3(Version3),
            Version2(BTreeMap<String, String>),
        }
        Ok(match Either::deserialize(deserializer)? {
            Either::Version3(Version3 {
                default,
                per_family,
            }) => SystemPackage {
                default,
                per_family,
            },
            Either::Version2(per_family) => SystemPackage {
                default: None,
                per_family,
            },
        })
    }
}

/// When the modules are byte-compiled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Bytecode {
    /// At build time: the pycs are in the staged tree.
    #[serde(rename = "build")]
    AtBuild,
    /// On the server at install time, with the target's interpreter; removed before removal.
    #[serde(rename = "install")]
    AtInstall,
    /// Not at all.
    #[serde(rename = "none")]
    Never,
    /// A policy this crate does not know yet.
    #[serde(other)]
    Unknown,
}

/// A system account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct SystemUser {
    /// The user name.
    pub name: String,
    /// Its primary group (default: the user name).
    pub group: String,
    /// Its home directory, created and owned by it when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub home: Option<PathBuf>,
    /// Its login shell.
    pub shell: PathBuf,
}

/// A file of the project installed as configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct ConfigFile {
    /// The file in the project.
    pub source: PathBuf,
    /// Where it is installed, e.g. `/etc/hello/hello.toml`.
    pub target: PathBuf,
    /// Its permission bits, e.g. `0o640` (420 = 0o644 by default).
    pub mode: u32,
}

/// Paths of the user's script fragments, by the moment they run at; each is optional.
/// Protocol 3 names the moments neutrally; version 2 used Debian's names (`preinst`,
/// `postinst`, `prerm`, `postrm`), which still read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct MaintainerScripts {
    /// Runs before the files are unpacked (the user's `preinst`).
    #[serde(default, skip_serializing_if = "Option::is_none", alias = "preinst")]
    pub before_install: Option<PathBuf>,
    /// Runs after the files are in place (`postinst`).
    #[serde(default, skip_serializing_if = "Option::is_none", alias = "postinst")]
    pub after_install: Option<PathBuf>,
    /// Runs before the files are removed (`prerm`).
    #[serde(default, skip_serializing_if = "Option::is_none", alias = "prerm")]
    pub before_remove: Option<PathBuf>,
    /// Runs after the files are removed (`postrm`).
    #[serde(default, skip_serializing_if = "Option::is_none", alias = "postrm")]
    pub after_remove: Option<PathBuf>,
}

/// A long-running service (a systemd unit on the target).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Service {
    /// The unit's name without `.service`: the package name by default.
    pub name: String,
    /// The command and its arguments, absolute (`/opt/venvs/hello/bin/hello-serve`).
    #[serde(default)]
    pub exec_start: Vec<String>,
    /// The account it runs as (default: the system user, else root).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Its group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Its working directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_directory: Option<PathBuf>,
    /// Environment variables.
    #[serde(default)]
    pub environment: BTreeMap<String, String>,
    /// systemd's `Restart=`: `on-failure` by default.
    pub restart: String,
    /// A unit file the user wrote, used instead of a generated one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit_file: Option<PathBuf>,
    /// systemd's `Type=` (`simple` when absent).
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub service_type: Option<String>,
    /// Commands run before the service starts (`ExecStartPre=`), each an absolute argv.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exec_start_pre: Vec<Vec<String>>,
    /// The command that reloads it (`ExecReload=`), an absolute argv.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exec_reload: Vec<String>,
    /// systemd's `RestartSec=`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart_sec: Option<String>,
    /// systemd's `SyslogIdentifier=`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub syslog_identifier: Option<String>,
    /// Files of `VAR=value` lines read at start (`EnvironmentFile=`), absolute; a leading `-`
    /// means it may be missing.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub environment_files: Vec<String>,
    /// Secrets handed to the service (`LoadCredential=ID:PATH`), by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub load_credentials: BTreeMap<String, PathBuf>,
    /// A calendar event (`OnCalendar=`): the service is a job run by `NAME.timer`, which is
    /// what is enabled and started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_calendar: Option<String>,
    /// Instances of a template: the unit is `NAME@.service` and `NAME@INSTANCE.service` is
    /// enabled and started for each; `%i` in its commands is the instance.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub instances: Vec<String>,
    /// The sandbox pyship writes into the unit: `default`, `strict` or `none` (see
    /// [`grammar::HARDENING_LEVELS`]); absent means none (a core that predates the setting
    /// sends none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hardening: Option<String>,
    /// Paths the service may write although the sandbox makes the system read-only
    /// (`ReadWritePaths=`), absolute.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub read_write_paths: Vec<PathBuf>,
    /// Directories systemd makes and owns for the service, by kind: `runtime` (`/run`),
    /// `state` (`/var/lib`), `logs` (`/var/log`), `cache` (`/var/cache`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub directories: BTreeMap<String, Vec<String>>,
}

/// The kinds of [`Service::directories`] and the unit settings they become.
pub const SERVICE_DIRECTORY_KINDS: &[(&str, &str)] = &[
    ("runtime", "RuntimeDirectory"),
    ("state", "StateDirectory"),
    ("logs", "LogsDirectory"),
    ("cache", "CacheDirectory"),
];

impl Manifest {
    /// A string option from `[tool.pyship.FORMAT]`.
    pub fn format_option_str(&self, key: &str) -> Option<&str> {
        self.format_options
            .get(key)
            .and_then(|value| value.as_str())
    }

    /// A list-of-strings option from `[tool.pyship.FORMAT]`; a non-list or a non-string item
    /// is an error naming the key.
    pub fn format_option_strings(&self, key: &str) -> Result<Vec<String>, String> {
        match self.format_options.get(key) {
            None => Ok(Vec::new()),
            Some(serde_json::Value::Array(items)) => items
                .iter()
                .map(|item| {
                    item.as_str().map(str::to_string).ok_or_else(|| {
                        format!(
                            "`tool.pyship.{}.{key}` must be a list of strings",
                            self.format
                        )
                    })
                })
                .collect(),
            Some(_) => Err(format!(
                "`tool.pyship.{}.{key}` must be a list of strings",
                self.format
            )),
        }
    }
}

/// The application's metadata.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Project {
    /// The normalized project name (PEP 503), e.g. `hello`.
    pub name: String,
    /// The PEP 440 version, e.g. `0.1.0`.
    pub version: String,
    /// `[project] description`.
    #[serde(default)]
    pub summary: Option<String>,
    /// The license expression or text.
    #[serde(default)]
    pub license: Option<String>,
    /// `Name <email>` of the maintainer.
    #[serde(default)]
    pub maintainer: Option<String>,
    /// The project's home page.
    #[serde(default)]
    pub homepage: Option<String>,
    /// Console scripts: name to `module:function`.
    #[serde(default)]
    pub scripts: BTreeMap<String, String>,
    /// `version` split into its PEP 440 parts (protocol 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_parts: Option<VersionParts>,
    /// The release: the version, with `-N` for a build number (`1.4.0-3`), as directories
    /// and file names use it (protocol 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release: Option<String>,
}

/// A PEP 440 version's parts: `1!2.0rc1.post2.dev3+local.4`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct VersionParts {
    /// The epoch, 0 when the version has none.
    #[serde(default)]
    pub epoch: u64,
    /// The release numbers: `[2, 0]`.
    pub release: Vec<u64>,
    /// A pre-release: `a`, `b` or `rc`, and its number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pre: Option<PreRelease>,
    /// The post-release number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post: Option<u64>,
    /// The development-release number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dev: Option<u64>,
    /// The local version label, as normalized: `local.4`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local: Option<String>,
}

/// A pre-release marker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct PreRelease {
    /// `a`, `b` or `rc`.
    pub kind: PreReleaseKind,
    /// Its number.
    pub number: u64,
}

/// The kind of a pre-release.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum PreReleaseKind {
    /// Alpha.
    A,
    /// Beta.
    B,
    /// Release candidate.
    Rc,
    /// A kind this crate does not know yet.
    #[serde(other)]
    Unknown,
}

impl PreReleaseKind {
    /// As PEP 440 writes it: `a`, `b`, `rc`.
    pub fn as_str(self) -> &'static str {
        match self {
            PreReleaseKind::A => "a",
            PreReleaseKind::B => "b",
            PreReleaseKind::Rc => "rc",
            PreReleaseKind::Unknown => "unknown",
        }
    }
}

/// The target interpreter and platform.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Target {
    /// `3.11`.
    pub python_version: String,
    /// `3.11.2`.
    #[serde(default)]
    pub python_full_version: String,
    /// The interpreter the virtualenv links to, e.g. `/usr/bin/python3.11`.
    pub interpreter: PathBuf,
    /// The machine architecture as Python names it: `x86_64`, `aarch64`.
    pub arch: String,
    /// Wheel platform tags the target accepts, most specific first.
    #[serde(default)]
    pub platform_tags: Vec<String>,
    /// The target's name: a preset such as `debian-12`, or a label (protocol 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The distribution package that provides the interpreter, e.g. `python3.11` (protocol 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distro_package: Option<String>,
    /// The lowest glibc every installed wheel runs on, e.g. `2.17`; none when no wheel
    /// needs one (protocol 2). For each wheel the lowest of its alternative tags counts;
    /// across wheels the highest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_glibc: Option<String>,
    /// Whether every installed file is architecture-independent: all wheels pure
    /// (protocol 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arch_independent: Option<bool>,
    /// The shared libraries (sonames, e.g. `libpq.so.5`) the installed ELF files need from the
    /// system: not bundled in the tree, not glibc's (protocol 2). A deb plugin maps them to
    /// packages, an rpm plugin to `libpq.so.5()(64bit)` capabilities.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub needed_libraries: Option<Vec<String>>,
    /// When the modules are byte-compiled (protocol 2): `build`, `install` or `none`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytecode: Option<Bytecode>,
    /// The distribution the target is a release of, for a preset target (protocol 2, from
    /// pyship 0.1 with this field): what a plugin needs for release suffixes (`~deb12`),
    /// dist tags (`.el9`), repository suites (`bookworm`) and format defaults.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distro: Option<Distro>,
}

/// A distribution release, as its `/etc/os-release` names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Distro {
    /// `ID`: `debian`, `ubuntu`, `rhel`.
    pub id: String,
    /// `VERSION_ID`: `12`, `24.04`, `9`.
    pub version_id: String,
    /// `VERSION_CODENAME`: `bookworm`, `noble`; none for RHEL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub codename: Option<String>,
}

/// Where the staged tree is and what shape it has.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Layout {
    /// The layout kind.
    pub kind: LayoutKind,
    /// The directory that stands for `/` on the target: the install prefix is staged at
    /// `staging-root` + `install-prefix`.
    pub staging_root: PathBuf,
    /// The absolute path the application is installed at on the target.
    pub install_prefix: PathBuf,
}

/// One locked package installed in the staged tree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Package {
    /// The normalized name.
    pub name: String,
    /// The version.
    pub version: String,
    /// The wheel file the package was installed from.
    pub wheel: PathBuf,
    /// The wheel's sha256, lowercase hex.
    pub sha256: String,
    /// Whether the wheel is pure Python (`Root-Is-Purelib` and a `none-any` tag).
    pub pure: bool,
    /// v2: the license its metadata declares (`License-Expression`, else a one-line
    /// `License`, else its license classifiers), for copyright files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license: Option<String>,
}

/// Facts about the source the artifact is built from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Source {
    /// The commit of the project's git checkout, if it is one.
    #[serde(default)]
    pub git_commit: Option<String>,
    /// The branch checked out, if any.
    #[serde(default)]
    pub git_branch: Option<String>,
    /// The timestamp every archive entry carries (seconds since the epoch).
    #[serde(default)]
    pub source_date_epoch: Option<u64>,
    /// Whether the checkout had uncommitted changes (protocol 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dirty: Option<bool>,
}

/// What `pyship-FORMAT package` prints on stdout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct PackageResult {
    /// The protocol version of this document.
    pub protocol: u32,
    /// The files written, in the order they should be shown.
    pub artifacts: Vec<Artifact>,
}

impl PackageResult {
    /// A result in the current protocol version.
    pub fn new(artifacts: Vec<Artifact>) -> Self {
        PackageResult {
            protocol: PROTOCOL_VERSION,
            artifacts,
        }
    }
}

/// One file a plugin wrote.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Artifact {
    /// Absolute path of the file.
    pub path: PathBuf,
    /// The format, e.g. `deb`.
    pub kind: String,
    /// Size in bytes.
    pub size: u64,
    /// sha256 of the file, lowercase hex.
    pub sha256: String,
}

/// The lowercase hex form of a digest.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(DIGITS[usize::from(byte >> 4)] as char);
        out.push(DIGITS[usize::from(byte & 0xf)] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example(name: &str) -> String {
        example_of(1, name)
    }

    fn example_of(version: u32, name: &str) -> String {
        let path = format!(
            "{}/../../testdata/protocol/v{version}/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{path}: {error}"))
    }

    #[test]
    fn example_documents_parse() {
        let describe: Describe = serde_json::from_str(&example("describe.json")).unwrap();
        assert_eq!(describe.protocols, vec![1]);
        assert_eq!(describe.layout, LayoutKind::Venv);
        let manifest: Manifest = serde_json::from_str(&example("manifest.json")).unwrap();
        assert_eq!(manifest.project.name, "hello");
        assert_eq!(manifest.packages.len(), 1);
        let result: PackageResult = serde_json::from_str(&example("result.json")).unwrap();
        assert_eq!(result.artifacts[0].kind, "deb");
    }

    #[test]
    fn version_2_documents_carry_facts_and_no_raw_options() {
        let describe: Describe = serde_json::from_str(&example_of(2, "describe.json")).unwrap();
        assert_eq!(describe.protocols, vec![1, 2]);
        let manifest: Manifest = serde_json::from_str(&example_of(2, "manifest.json")).unwrap();
        assert_eq!(manifest.protocol, 2);
        let parts = manifest.project.version_parts.as_ref().unwrap();
        assert_eq!((parts.epoch, parts.release.as_slice()), (1, &[2, 0][..]));
        assert_eq!(
            parts.pre.as_ref().map(|pre| pre.kind),
            Some(PreReleaseKind::Rc)
        );
        assert_eq!(manifest.target.min_glibc.as_deref(), Some("2.17"));
        assert_eq!(
            manifest.target.distro_package.as_deref(),
            Some("python3.11")
        );
        assert_eq!(manifest.source.dirty, Some(false));
        assert_eq!(
            manifest.packages[0].license.as_deref(),
            Some("BSD-3-Clause")
        );
        assert!(manifest.options.is_empty());
        // It round-trips without gaining an `options` key.
        let text = serde_json::to_string(&manifest).unwrap();
        assert!(!text.contains("\"options\""), "{text}");
        assert_eq!(serde_json::from_str::<Manifest>(&text).unwrap(), manifest);
        let result: PackageResult = serde_json::from_str(&example_of(2, "result.json")).unwrap();
        assert_eq!(result.protocol, 2);
        // A version 1 manifest still parses, with no facts.
        let v1: Manifest = serde_json::from_str(&example("manifest.json")).unwrap();
        assert!(v1.project.version_parts.is_none() && v1.target.min_glibc.is_none());
        assert!(v1.packages.iter().all(|package| package.license.is_none()));
    }

    #[test]
    fn version_3_documents_name_system_packages_by_default_and_family() {
        let describe: Describe = serde_json::from_str(&example_of(3, "describe.json")).unwrap();
        assert_eq!(describe.protocols, vec![1, 2, 3]);
        let manifest: Manifest = serde_json::from_str(&example_of(3, "manifest.json")).unwrap();
        assert_eq!(manifest.target.bytecode, Some(Bytecode::AtBuild));
        let depends = &manifest.deployment.as_ref().unwrap().run_depends;
        let deb = |index: usize| depends[index].name_for("deb", str::to_string);
        assert_eq!(deb(0).as_deref(), Some("libpq5 (>= 15)"));
        assert_eq!(deb(1).as_deref(), Some("libssl3"));
        assert_eq!(
            depends[1].name_for("rpm", |_| unreachable!()).as_deref(),
            Some("openssl-libs")
        );
        // What it writes reads back the same.
        let again: Manifest = serde_json::from_value(manifest.to_wire()).unwrap();
        assert_eq!(again, manifest);
        let result: PackageResult = serde_json::from_str(&example_of(3, "result.json")).unwrap();
        assert_eq!(result.protocol, 3);
    }

    #[test]
    fn unknown_fields_and_layouts_are_tolerated() {
        let describe: Describe = serde_json::from_str(
            r#"{"protocols":[1,2],"name":"x","layout":"container","new-field":true}"#,
        )
        .unwrap();
        assert_eq!(describe.layout, LayoutKind::Unknown);
        assert!(describe.formats.is_empty());
        let kind: PreReleaseKind = serde_json::from_str("\"gamma\"").unwrap();
        assert_eq!(kind, PreReleaseKind::Unknown);
        let bytecode: Bytecode = serde_json::from_str("\"lazily\"").unwrap();
        assert_eq!(bytecode, Bytecode::Unknown);
    }

    #[test]
    fn manifest_round_trips() {
        let manifest: Manifest = serde_json::from_str(&example("manifest.json")).unwrap();
        let text = serde_json::to_string(&manifest).unwrap();
        let again: Manifest = serde_json::from_str(&text).unwrap();
        assert_eq!(manifest, again);
    }

    #[test]
    fn hex_is_lowercase() {
        assert_eq!(hex(&[0x00, 0xab, 0x7f]), "00ab7f");
    }
}
