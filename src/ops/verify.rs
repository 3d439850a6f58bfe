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
use crate::verify::{self, Check, Expectations, Health, Options, sandbox};

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
            "`pyship verify` needs root: it installs the artifacts into a copy of a root of the target's release with chroot and dpkg, and runs the checks in a network namespace of their own; run it as root (CI jobs usually are), e.g. with sudo"
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
        if let Some(artifact) = artifacts
            .iter()
            .find(|artifact| !verify::can_install(&artifact.kind))
        {
            bail!(
                "`pyship verify` installs .deb artifacts in a root of the target's release; `{}` ({} artifact of `pyship-{}`) cannot be checked yet",
                artifact.path.display(),
                artifact.kind,
                request.format
            );
        }
        let target = manifest
            .target
            .name
            .clone()
            .unwrap_or_else(|| "the target".to_string());
        let release = manifest
            .target
            .distro
            .as_ref()
            .and_then(|distro| distro.codename.clone());
        let template = match &request.root {
            Some(root) => root.clone(),
            None => cached_root(workspace, &manifest, &target)?,
        };
        workspace.reporter.status(
            Step::Verifying,
            &format!("{target} in a copy of `{}`", template.display()),
        );
        let expect = expectations(&manifest, &artifacts, &settings, timeout);
        let options = Options {
            template: template.clone(),
            upgrade_from: request.upgrade_from.clone(),
            offline: workspace.offline,
            work: workspace.project.target_dir().join("verify"),
        };
        let checks = verify::verify_deb(&expect, &options, release.as_deref(), &mut |check| {
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

/// The cached root of the target's release, made once per machine.
fn cached_root(
    workspace: &Workspace,
    manifest: &Manifest,
    target: &str,
) -> anyhow::Result<PathBuf> {
    let Some((id, codename)) = manifest.target.distro.as_ref().and_then(|distro| {
        distro
            .codename
            .as_ref()
            .map(|codename| (distro.id.clone(), codename.clone()))
    }) else {
        bail!(
            "the target `{target}` names no Debian or Ubuntu release to make a root of: give a root of the servers' release with `--root DIR` (made with `debootstrap --variant=minbase RELEASE DIR`), or lock for a preset (`--target debian-12`)"
        );
    };
    let mirror = match id.as_str() {
        "debian" => std::env::var(env_vars::PYSHIP_DEBIAN_MIRROR)
            .unwrap_or_else(|_| "http://deb.debian.org/debian".into()),
        "ubuntu" => std::env::var(env_vars::PYSHIP_UBUNTU_MIRROR)
            .unwrap_or_else(|_| "http://archive.ubuntu.com/ubuntu".into()),
        other => bail!(
            "the target `{target}` is {other}, which `pyship verify` makes no root of: give one with `--root DIR`"
        ),
    };
    let roots = sandbox::roots_dir(workspace.cache.root());
    sandbox::cached_root(&roots, &codename, &mirror, || {
        workspace.reporter.status(
            Step::Building,
            &format!(
                "a minimal {codename} root with debootstrap (once per machine) in `{}`",
                roots.join(&codename).display()
            ),
        );
    })
}

/// What the checks hold the artifacts to: the deployment facts the plugin was given, and
/// `[tool.pyship.verify]`.
fn expectations(
    manifest: &Manifest,
    artifacts: &[pyship_plugin::Artifact],
    settings: &crate::project::VerifySpec,
    timeout: Duration,
) -> Expectations {
    let deployment = manifest.deployment.clone().unwrap_or_default();
    Expectations {
        artifacts: artifacts
            .iter()
            .map(|artifact| artifact.path.clone())
            .collect(),
        services: deployment.all_services().cloned().collect(),
        config_files: deployment
            .config_files
            .iter()
            .map(|file| file.target.clone())
            .collect(),
        commands: settings.commands.clone(),
        health: settings.health.as_ref().map(|health| match health {
            HealthSpec::Url(url) => Health::Url(url.clone()),
            HealthSpec::Command(argv) => Health::Command(argv.clone()),
        }),
        timeout,
    }
}
