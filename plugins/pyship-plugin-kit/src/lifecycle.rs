//! The lifecycle of a deployment, planned once from the manifest's facts and rendered by each
//! format into its own conventions: deb maintainer scripts, rpm scriptlets, the tarball's
//! `pyship-activate`. A format decides *how* an action is done (adduser or useradd, dpkg's
//! arguments or rpm's counts); *what* is done, and in which order, is decided here, so that
//! the formats cannot drift apart.
//!
//! The moments are neutral: before and after the files are installed (a first install or an
//! upgrade), before and after they are removed (not on upgrade), and purge (the operator asks
//! for the state to go too; only deb has it).
//!
//! Every format also tells the user's fragments what is happening in one variable,
//! `PYSHIP_ACTION` (`install`, `upgrade`, `remove`, `purge`, `abort`), beside its own
//! arguments, so that one fragment serves every format.

use std::path::{Path, PathBuf};

use pyship_plugin::{Deployment, HealthCheck, Service, SystemUser};

/// When an action runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Moment {
    /// Before the files are unpacked: install and upgrade.
    BeforeInstall,
    /// After the files are in place: install and upgrade.
    AfterInstall,
    /// Before the files are removed: removal only.
    BeforeRemove,
    /// After the files are removed: removal only.
    AfterRemove,
    /// The operator purges: the package's state goes too.
    Purge,
}

/// What is done, in neutral terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// The system group and user, created when missing; the home made and owned by the user
    /// when missing, and recorded as made (so that only a home the package made is removed).
    CreateAccount(SystemUser),
    /// A config file only root may read is made readable to the service's group.
    ShareConfigWithGroup { path: PathBuf, group: String },
    /// The modules compiled by the virtualenv's own interpreter (checked-hash pycs).
    CompileBytecode {
        python: PathBuf,
        site_packages: PathBuf,
    },
    /// Bytecode caches under the prefix removed before the files go, so directories empty.
    RemoveBytecode { prefix: PathBuf },
    /// The unit enabled on first install (an operator's `disable` kept on upgrade), started on
    /// install and restarted on upgrade, only where systemd runs.
    StartService { unit: String },
    /// The unit stopped (and disabled) on removal, where systemd runs.
    StopService { unit: String },
    /// systemd told that the unit is gone.
    ForgetService { unit: String },
    /// The unit's enablement state purged.
    PurgeService { unit: String },
    /// Caches written at run time removed under the prefix, then its empty directories.
    CleanPrefix { prefix: PathBuf },
    /// The account's home removed, only when [`Action::CreateAccount`] made it.
    RemoveHome { home: PathBuf },
    /// The health check, after the services (re)started: its failure fails the install or
    /// upgrade, naming the check (`pyship-activate` goes back to the release before).
    /// `services` says whether it waits for services the format starts only where systemd
    /// runs.
    CheckHealth {
        check: HealthCheck,
        python: PathBuf,
        user: Option<String>,
        services: bool,
    },
    /// The user's fragment (`scripts` in `[tool.pyship]`) for this moment.
    Fragment { path: PathBuf },
    /// A declared step (`install-steps`, `upgrade-steps`): `command` run as `user` (root when
    /// none) after a first install, or after an upgrade, with its output shown; a failure
    /// fails the operation, naming the step.
    RunStep {
        command: Vec<String>,
        user: Option<String>,
        on_upgrade: bool,
    },
}

/// The ordered actions of each moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub steps: Vec<(Moment, Action)>,
}

impl Plan {
    /// The actions of `moment`, in order.
    pub fn at(&self, moment: Moment) -> impl Iterator<Item = &Action> {
        self.steps
            .iter()
            .filter(move |(when, _)| *when == moment)
            .map(|(_, action)| action)
    }
}

/// A declared step as shell: announced, run as `user` with `runuser` (util-linux, on every
/// Debian and RHEL system), and on failure a message naming it and its status before the
/// script fails. `quote` is the format's shell quoting.
pub fn step_script(
    command: &[String],
    user: Option<&str>,
    on_upgrade: bool,
    quote: impl Fn(&str) -> String,
) -> String {
    let words: Vec<String> = command.iter().map(|word| quote(word)).collect();
    let shown = command.join(" ").replace(|c: char| c.is_control(), " ");
    let when = if on_upgrade { "upgrade" } else { "install" };
    let run = match user {
        Some(user) if user != "root" => {
            format!("runuser -u {} -- {}", quote(user), words.join(" "))
        }
        _ => words.join(" "),
    };
    format!(
        "echo {announce} >&2\nif {run}; then :; else\n    pyship_status=$?\n    echo {failed}\"$pyship_status)\" >&2\n    exit 1\nfi\n",
        announce = quote(&format!("pyship: {when} step: {shown}")),
        failed = quote(&format!(
            "pyship: the {when} step `{shown}` failed (exit status "
        )),
    )
}

/// The health check as shell: a function `pyship_health_check` that tries it every second
/// until it passes (status 0) or the timeout ends (status 1), and `pyship_health_what`, the
/// check as said to the operator. A URL is fetched by the venv's own Python (every server
/// that runs the app has it); a command runs as `user` with `runuser`.
pub fn health_script(
    check: &HealthCheck,
    python: &Path,
    user: Option<&str>,
    quote: impl Fn(&str) -> String,
) -> String {
    let (probe, what) = match &check.url {
        Some(url) => (
            format!(
                "{} -c {} {}",
                quote(&python.display().to_string()),
                quote("import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=5)"),
                quote(url)
            ),
            url.clone(),
        ),
        None => {
            let words: Vec<String> = check.command.iter().map(|word| quote(word)).collect();
            let run = match user {
                Some(user) if user != "root" => {
                    format!("runuser -u {} -- {}", quote(user), words.join(" "))
                }
                _ => words.join(" "),
            };
            (run, check.command.join(" "))
        }
    };
    format!(
        "pyship_health_what={what}\npyship_health_check() {{\n    pyship_deadline=$(( $(date +%s) + {timeout} ))\n    while :; do\n        if {probe} >/dev/null 2>&1; then return 0; fi\n        [ \"$(date +%s)\" -lt \"$pyship_deadline\" ] || return 1\n        sleep 1\n    done\n}}\n",
        what = quote(&what.replace(|c: char| c.is_control(), " ")),
        timeout = check.timeout,
    )
}

/// The health check as a step of a format's script: announced, tried, and on failure a
/// message naming it and saying how to go back (`back`, in the format's terms) before the
/// script fails.
pub fn health_step(
    check: &HealthCheck,
    python: &Path,
    user: Option<&str>,
    back: &str,
    quote: impl Fn(&str) -> String + Copy,
) -> String {
    format!(
        "{}echo \"pyship: health check: $pyship_health_what (up to {timeout} s)\" >&2\nif pyship_health_check; then\n    echo \"pyship: healthy: $pyship_health_what\" >&2\nelse\n    echo \"pyship: the health check $pyship_health_what did not pass in {timeout} s; \"{back} >&2\n    exit 1\nfi\n",
        health_script(check, python, user, quote),
        timeout = check.timeout,
        back = quote(back),
    )
}

/// What a package does when the system Python under its venv was upgraded (a dpkg trigger,
/// an rpm file trigger on the interpreter's library directory): the venv's interpreter is
/// checked to start, install-time bytecode recompiled, and running services restarted, so
/// that none keeps running the old interpreter against the new standard library. Never
/// fails: a failure here would fail the interpreter's own upgrade; a broken venv is said.
pub fn interpreter_changed(
    install_prefix: &Path,
    plan: &Plan,
    quote: impl Fn(&str) -> String,
) -> String {
    let python = quote(&install_prefix.join("bin/python").display().to_string());
    let mut out = format!(
        "if ! {python} -c 'import encodings, site' >/dev/null 2>&1; then\n    echo {} >&2\nfi\n",
        quote(&format!(
            "pyship: {} does not start after the system Python changed; reinstall this package",
            install_prefix.join("bin/python").display()
        ))
    );
    for action in plan.at(Moment::AfterInstall) {
        match action {
            Action::CompileBytecode {
                python,
                site_packages,
            } => {
                out.push_str(&format!(
                    "{} -I -m compileall -q -f -j0 --invalidation-mode checked-hash {} >/dev/null 2>&1 || true\n",
                    quote(&python.display().to_string()),
                    quote(&site_packages.display().to_string())
                ));
            }
            Action::StartService { unit } => {
                out.push_str(&format!(
                    "if [ -d /run/systemd/system ]; then systemctl try-restart {} >/dev/null 2>&1 || true; fi\n",
                    quote(unit)
                ));
            }
            _ => {}
        }
    }
    out
}

/// Where the package records that it made an account's home: `/var/lib/pyship/PACKAGE.home-created`.
pub fn home_marker(package: &str) -> String {
    format!("/var/lib/pyship/{package}.home-created")
}

/// The plan for `deployment` of the package `package` installed at `install_prefix`;
/// `site_packages` is set when the modules are compiled on the server.
pub fn plan(install_prefix: &Path, site_packages: Option<&Path>, deployment: &Deployment) -> Plan {
    let mut steps = Vec::new();
    let mut add = |moment, action| steps.push((moment, action));
    let fragments = &deployment.scripts;
    // A timer's job is not enabled (its timer is) but may be running when the package goes.
    let units: Vec<String> = deployment
        .all_services()
        .flat_map(Service::started_units)
        .collect();
    let stopped: Vec<String> = deployment
        .all_services()
        .flat_map(Service::stopped_units)
        .collect();

    if let Some(path) = &fragments.before_install {
        add(
            Moment::BeforeInstall,
            Action::Fragment { path: path.clone() },
        );
    }

    if let Some(user) = &deployment.user {
        add(Moment::AfterInstall, Action::CreateAccount(user.clone()));
    }
    if let Some(site_packages) = site_packages {
        add(
            Moment::AfterInstall,
            Action::CompileBytecode {
                python: install_prefix.join("bin/python"),
                site_packages: site_packages.to_path_buf(),
            },
        );
    }
    if let Some(user) = &deployment.user {
        for file in &deployment.config_files {
            if file.mode & 0o004 == 0 && file.mode & 0o040 != 0 {
                add(
                    Moment::AfterInstall,
                    Action::ShareConfigWithGroup {
                        path: file.target.clone(),
                        group: user.group.clone(),
                    },
                );
            }
        }
    }
    // Declared steps before the service (re)starts: a migration must precede the new code.
    let step_user = deployment
        .service
        .as_ref()
        .and_then(|service| service.user.clone())
        .or_else(|| deployment.user.as_ref().map(|user| user.name.clone()));
    for (steps, on_upgrade) in [
        (&deployment.install_steps, false),
        (&deployment.upgrade_steps, true),
    ] {
        for command in steps {
            add(
                Moment::AfterInstall,
                Action::RunStep {
                    command: command.clone(),
                    user: step_user.clone(),
                    on_upgrade,
                },
            );
        }
    }
    for unit in &units {
        add(
            Moment::AfterInstall,
            Action::StartService { unit: unit.clone() },
        );
    }
    if let Some(check) = &deployment.health_check {
        add(
            Moment::AfterInstall,
            Action::CheckHealth {
                check: check.clone(),
                python: install_prefix.join("bin/python"),
                user: step_user.clone(),
                services: !units.is_empty(),
            },
        );
    }
    // The user's step runs last: the account, bytecode and service are there.
    if let Some(path) = &fragments.after_install {
        add(
            Moment::AfterInstall,
            Action::Fragment { path: path.clone() },
        );
    }

    // Removal mirrors it: the user's step first, while everything is still there.
    if let Some(path) = &fragments.before_remove {
        add(
            Moment::BeforeRemove,
            Action::Fragment { path: path.clone() },
        );
    }
    if site_packages.is_some() {
        add(
            Moment::BeforeRemove,
            Action::RemoveBytecode {
                prefix: install_prefix.to_path_buf(),
            },
        );
    }
    for unit in &stopped {
        add(
            Moment::BeforeRemove,
            Action::StopService { unit: unit.clone() },
        );
    }
    if let Some(path) = &fragments.after_remove {
        add(Moment::AfterRemove, Action::Fragment { path: path.clone() });
    }
    for unit in &units {
        add(
            Moment::AfterRemove,
            Action::ForgetService { unit: unit.clone() },
        );
    }
    add(
        Moment::AfterRemove,
        Action::CleanPrefix {
            prefix: install_prefix.to_path_buf(),
        },
    );
    for unit in &units {
        add(Moment::Purge, Action::PurgeService { unit: unit.clone() });
    }
    if let Some(home) = deployment.user.as_ref().and_then(|user| user.home.clone()) {
        add(Moment::Purge, Action::RemoveHome { home });
    }
    Plan { steps }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pyship_plugin::{ConfigFile, MaintainerScripts};

    #[test]
    fn the_plan_orders_each_moment() {
        let deployment = Deployment {
            user: Some(SystemUser {
                name: "app".into(),
                group: "app".into(),
                home: Some("/var/lib/app".into()),
                shell: "/usr/sbin/nologin".into(),
            }),
            config_files: vec![ConfigFile {
                source: "/p/app.toml".into(),
                target: "/etc/app/app.toml".into(),
                mode: 0o640,
            }],
            scripts: MaintainerScripts {
                before_install: None,
                after_install: Some("/p/postinst".into()),
                before_remove: Some("/p/prerm".into()),
                after_remove: None,
            },
            service: Some(Service {
                name: "app".into(),
                exec_start: vec!["/opt/app/bin/app".into()],
                user: None,
                group: None,
                working_directory: None,
                environment: Default::default(),
                restart: "on-failure".into(),
                ..Service::default()
            }),
            ..Deployment::default()
        };
        let plan = plan(
            Path::new("/opt/app"),
            Some(Path::new("/opt/app/lib/python3.11/site-packages")),
            &deployment,
        );
        let kinds = |moment| {
            plan.at(moment)
                .map(|action| {
                    format!("{action:?}")
                        .split([' ', '(', '{'])
                        .next()
                        .unwrap()
                        .to_string()
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(
            kinds(Moment::AfterInstall),
            [
                "CreateAccount",
                "CompileBytecode",
                "ShareConfigWithGroup",
                "StartService",
                "Fragment"
            ]
        );
        assert_eq!(
            kinds(Moment::BeforeRemove),
            ["Fragment", "RemoveBytecode", "StopService"]
        );
        assert_eq!(kinds(Moment::AfterRemove), ["ForgetService", "CleanPrefix"]);
        assert_eq!(kinds(Moment::Purge), ["PurgeService", "RemoveHome"]);
        assert_eq!(kinds(Moment::BeforeInstall), Vec::<String>::new());
    }
}
