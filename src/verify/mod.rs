//! `pyship verify`: the artifact itself tested before it ships, the way a clean server of the
//! target's release meets it — installed, its services started as their users, the project's
//! checks run, upgraded from the previous artifact and rolled back, purged — each step a
//! [`Check`] with its time.

mod lifecycle;
mod managers;
pub mod sandbox;

use std::path::PathBuf;
use std::time::Duration;

use pyship_plugin::Service;
use serde::Serialize;

pub use lifecycle::verify;
pub use managers::Manager;

/// One step of a verify and how it went.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// What was checked: `install hello_0.1.0-1_amd64.deb`, `service hello`, `purge`.
    pub name: String,
    pub passed: bool,
    pub seconds: f64,
    /// Why it failed, or what it saw.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

/// What the project declared, that the checks hold the installed artifact to.
#[derive(Debug, Clone)]
pub struct Expectations {
    /// What installs the artifacts.
    pub manager: Manager,
    /// The artifacts of this build, installed together.
    pub artifacts: Vec<PathBuf>,
    pub services: Vec<Service>,
    /// The home of the account the package declares.
    pub home: Option<PathBuf>,
    /// Configuration files (conffiles): edited before an upgrade, and expected kept.
    pub config_files: Vec<PathBuf>,
    /// `[tool.pyship.verify] commands`.
    pub commands: Vec<Vec<String>>,
    pub health: Option<Health>,
    /// How long any one check may take.
    pub timeout: Duration,
}

/// What says the services are up.
#[derive(Debug, Clone)]
pub enum Health {
    Url(String),
    Command(Vec<String>),
}

/// Where the root comes from, and what else the run does.
#[derive(Debug, Clone)]
pub struct Options {
    /// The root to copy: the cached root of the target's release, or the user's.
    pub template: PathBuf,
    /// The previous release's artifacts: installed first, then upgraded from and rolled back to.
    pub upgrade_from: Vec<PathBuf>,
    /// Never fetch missing dependencies from the release's archive.
    pub offline: bool,
    /// Where the scratch copies of the root go.
    pub work: PathBuf,
}
