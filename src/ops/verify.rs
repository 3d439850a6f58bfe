//! `pyship verify`: package the project as `pyship package` does, then put each target's
//! artifacts through their life in a clean root of the target's release.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::bail;
use pyship_plugin::Manifest;
use serde::Serialize;

use super::Workspace;
use super::package::{PluginOutput, package_each};
use crate::env_vars;
use crate::project::HealthSpec;
use crate::reporter::Step;
use crate::verify::{self, Check, Expectations, Health, Manager, Options, sandbox};

/// How long any one check may take unless `[tool.pyship.verify] timeout` says.
const DEFAULT_TIMEOUT: u64 = 60;

/// What the user asked of a verify.
#[derive(Debug, Clone, Default)]
pub(crate) struct Request {
    pub format: String,
    pub target: Option<String>,
    /// A root of the target's release to copy, instead of the cached one.
    pub root: Option<PathBuf>,
    /// The previous release's artifacts.
    pub upgrade_from: Vec<PathBuf>,
    /// Seconds, overriding the setting.
    pub timeout: Option<u64>,
}

/// One target's verify.
#[derive(Debug, Serialize)]
pub(crate) struct TargetReport {
    pub target: String,
    /// The root the copy was made of.
    pub root: PathBuf,
    pub artifacts: Vec<PathBuf>,
    pub checks: Vec<Check>,
    pub passed: bool,
}

/// Packages the project and verifies each target's artifacts; `on_check` hears each check
/// as it ends, with its target.
pub(crate) fn verify(
    workspace: &Workspace,
    request: &Request,
    output: PluginOutput,
    on_check: &mut dyn FnMut(&str, &Check),
) -> anyhow::Result<Vec<TargetReport>> {
    let is_root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|output| String::from_utf8_lossy(&output.stdout).trim() == "0");
    if !is_root {
        bail!(
            "`pyship verify` needs root: it installs the artifacts into a copy of a root of the target's release with chroot and dpkg (or rpm --root), and runs the checks in a network namespace of their own; run it as root (CI jobs usually are), e.g. with sudo"
        );
    }
    let made = package_each(
        workspace,
        &request.format,
        request.target.as_deref(),
        output,
    )?;
    if made.len() > 1 && !request.upgrade_from.is_empty() {
        bail!(
            "`--upgrade-from` names the previous artifacts of one target, and the lock has {}: add `--target NAME`",
            made.len()
        );
    }
    let settings = workspace.project.config.verify.clone().unwrap_or_default();
    let timeout = Duration::from_secs(
        request
            .timeout
            .or(settings.timeout)
            .unwrap_or(DEFAULT_TIMEOUT)
            .max(1),
    );
    let mut reports = Vec::new();
    for (manifest, artifacts) in made {
        let manager = manager_of(&artifacts, &request.format)?;
        let target = manifest
            .target
            .name
            .clone()
            .unwrap_or_else(|| "the target".to_string());
        // An rpm is installed with this machine's rpm into a Debian root that has the
        // target's Python, standing in for the RPM release: no release to hold the root to.
        let (release, stand_in) = match manager {
            Manager::Dpkg => (
                manifest
                    .target
                    .distro
                    .as_ref()
                    .and_then(|distro| distro.codename.clone()),
                None,
            ),
            Manager::Rpm => (None, Some(debian_with_python(&manifest, &target)?)),
        };
        let template = match (&request.root, stand_in) {
            (Some(root), _) => root.clone(),
            (None, Some((id, codename))) => cached_root(workspace, &id, &codename)?,
            (None, None) => {
                let (id, codename) = release_of(&manifest, &target)?;
                cached_root(workspace, &id, &codename)?
            }
        };
        let standing_in = match manager {
            Manager::Rpm => format!(
                " (a Debian root with Python {} standing in for {target}: rpm --root, Requires not resolved)",
                manifest.target.python_version
            ),
            Manager::Dpkg => String::new(),
        };
        workspace.reporter.status(
            Step::Verifying,
            &format!(
                "{target} in a copy of `{}`{standing_in}",
                template.display()
            ),
        );
        let expect = expectations(manager, &manifest, &artifacts, &settings, timeout);
        let options = Options {
            template: template.clone(),
            upgrade_from: request.upgrade_from.clone(),
            offline: workspace.offline,
            work: workspace.project.target_dir().join("verify"),
        };
        let checks = verify::verify(&expect, &options, release.as_deref(), &mut |check| {
            on_check(&target, check)
        })?;
        reports.push(TargetReport {
            passed: checks.iter().all(|check| check.passed),
            target,
            root: template,
            artifacts: expect.artifacts,
            checks,
        });
    }
    Ok(reports)
}

/// The one package manager that installs every artifact of a target.
fn manager_of(artifacts: &[pyship_plugin::Artifact], format: &str) -> anyhow::Result<Manager> {
    let mut managers = artifacts.iter().map(|artifact| {
        Manager::for_kind(&artifact.kind).ok_or_else(|| {
            anyhow::anyhow!(
                "`pyship verify` installs .deb and .rpm artifacts; `{}` ({} artifact of `pyship-{format}`) cannot be checked yet",
                artifact.path.display(),
                artifact.kind
            )
        })
    });
    let Some(first) = managers.next() else {
        bail!("`pyship-{format}` made no artifact to verify");
    };
    let first = first?;
    for manager in managers {
        if manager? != first {
            bail!("`pyship-{format}` made artifacts of more than one kind for one target");
        }
    }
    Ok(first)
}

/// The Debian or Ubuntu release a target is: its `ID` and codename.
fn release_of(manifest: &Manifest, target: &str) -> anyhow::Result<(String, String)> {
    manifest
        .target
        .distro
        .as_ref()
        .and_then(|distro| {
            distro
                .codename
                .as_ref()
                .map(|codename| (distro.id.clone(), codename.clone()))
        })
        .ok_or_else(|| {
            anyhow::anyhow!(
                "the target `{target}` names no Debian or Ubuntu release to make a root of: give a root of the servers' release with `--root DIR` (made with `debootstrap --variant=minbase RELEASE DIR`), or lock for a preset (`--target debian-12`)"
            )
        })
}

/// The Debian release whose system Python is the target's X.Y, for an rpm's stand-in root.
fn debian_with_python(manifest: &Manifest, target: &str) -> anyhow::Result<(String, String)> {
    let python = &manifest.target.python_version;
    crate::python::PRESETS
        .iter()
        .filter(|preset| preset.distro.0 == "debian")
        .find(|preset| {
            preset.python.split('.').take(2).collect::<Vec<_>>().join(".") == *python
        })
        .and_then(|preset| {
            preset
                .distro
                .2
                .map(|codename| ("debian".to_string(), codename.to_string()))
        })
        .ok_or_else(|| {
            anyhow::anyhow!(
                "no Debian release has Python {python} to stand in for `{target}`: give a root with `--root DIR` whose `{}` runs",
                manifest.target.interpreter.display()
            )
        })
}

/// The cached root of a release, made once per machine.
fn cached_root(workspace: &Workspace, id: &str, codename: &str) -> anyhow::Result<PathBuf> {
    let mirror = match id {
        "debian" => std::env::var(env_vars::PYSHIP_DEBIAN_MIRROR)
            .unwrap_or_else(|_| "http://deb.debian.org/debian".into()),
        "ubuntu" => std::env::var(env_vars::PYSHIP_UBUNTU_MIRROR)
            .unwrap_or_else(|_| "http://archive.ubuntu.com/ubuntu".into()),
        other => bail!("`pyship verify` makes no root of {other}: give one with `--root DIR`"),
    };
    let roots = sandbox::roots_dir(workspace.cache.root());
    sandbox::cached_root(&roots, codename, &mirror, || {
        workspace.reporter.status(
            Step::Building,
            &format!(
                "a minimal {codename} root with debootstrap (once per machine) in `{}`",
                roots.join(codename).display()
            ),
        );
    })
}

/// What the checks hold the artifacts to: the deployment facts the plugin was given, and
/// `[tool.pyship.verify]`.
fn expectations(
    manager: Manager,
    manifest: &Manifest,
    artifacts: &[pyship_plugin::Artifact],
    settings: &crate::project::VerifySpec,
    timeout: Duration,
) -> Expectations {
    let deployment = manifest.deployment.clone().unwrap_or_default();
    Expectations {
        manager,
        artifacts: artifacts
            .iter()
            .map(|artifact| artifact.path.clone())
            .collect(),
        services: deployment.all_services().cloned().collect(),
        home: deployment.user.as_ref().and_then(|user| user.home.clone()),
        config_files: deployment
            .config_files
            .iter()
            .map(|file| file.target.clone())
            .collect(),
        commands: settings.commands.clone(),
        // The project's own health check, when verify names none.
        health: match &settings.health {
            Some(HealthSpec::Url(url)) => Some(Health::Url(url.clone())),
            Some(HealthSpec::Command(argv)) => Some(Health::Command(argv.clone())),
            None => deployment
                .health_check
                .as_ref()
                .map(|check| match &check.url {
                    Some(url) => Health::Url(url.clone()),
                    None => Health::Command(check.command.clone()),
                }),
        },
        timeout,
    }
}
