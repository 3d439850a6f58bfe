//! An artifact's life on a clean server of its release: the previous release installed and
//! its conffiles edited (with `--upgrade-from`), this build installed (upgrading), checked,
//! rolled back and checked again, then purged (erased, for rpm), and what that left behind
//! reported.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use pyship_plugin::Service;

use super::managers::{Manager, Package};
use super::sandbox::{self, Account, Sandbox};
use super::{Check, Expectations, Health, Options};

/// A line verify adds to each conffile before an upgrade, to see that the upgrade kept it.
const EDIT_MARK: &str = "# edited on the server (pyship verify)";
/// How long a service without a health check must stay up to count as started.
const STAY_UP: Duration = Duration::from_secs(2);

/// Runs every check of `expect` in a copy of `options.template`, reporting each to
/// `on_check` as it ends. Errors are for what makes checking impossible (no root, a root of
/// another release or arch, an artifact of another project); a failed check is a
/// [`Check`] that did not pass.
pub fn verify(
    expect: &Expectations,
    options: &Options,
    release: Option<&str>,
    on_check: &mut dyn FnMut(&Check),
) -> anyhow::Result<Vec<Check>> {
    let manager = expect.manager;
    let new: Vec<Package> = expect
        .artifacts
        .iter()
        .map(|path| manager.read(path))
        .collect::<anyhow::Result<_>>()?;
    let old: Vec<Package> = options
        .upgrade_from
        .iter()
        .map(|path| manager.read(path))
        .collect::<anyhow::Result<_>>()?;
    let names: BTreeSet<&str> = new.iter().map(|package| package.name.as_str()).collect();
    for package in &old {
        if !names.contains(package.name.as_str()) {
            bail!(
                "`{}` is not an earlier release of this project: it is the package `{}`, and this build makes {}",
                package.path.display(),
                package.name,
                names
                    .iter()
                    .map(|name| format!("`{name}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
    }
    check_root(&options.template, release, manager, &new)?;
    let sandbox = Sandbox::new(&options.template, &options.work)?;
    let mut run = Run {
        sandbox,
        manager,
        expect,
        offline: options.offline,
        checks: Vec::new(),
        on_check,
        made_directories: BTreeSet::new(),
    };
    let before = run.sandbox.paths();
    let staged_new = run.copy_in("new", &new)?;
    if old.is_empty() {
        if run.install(
            &format!("install {}", file_names(&new)),
            Step::Fresh,
            &new,
            &staged_new,
        )? {
            run.check_running("after install")?;
        }
    } else {
        let staged_old = run.copy_in("old", &old)?;
        let old_version = old[0].version.clone();
        if run.install(
            &format!("install {}", file_names(&old)),
            Step::Fresh,
            &old,
            &staged_old,
        )? {
            let edited = run.edit_conffiles();
            if run.install(
                &format!("upgrade {old_version} to {}", new[0].version),
                Step::Upgrade,
                &new,
                &staged_new,
            )? {
                run.conffiles_kept(&edited);
                run.check_running("after upgrade")?;
            }
            if run.install(
                &format!("roll back to {old_version}"),
                Step::Rollback,
                &old,
                &staged_old,
            )? {
                run.check_running("after rollback")?;
            }
        }
    }
    run.purge(&new, &before)?;
    Ok(run.checks)
}

/// The root must be of the target's release and able to run the artifacts' arch.
fn check_root(
    root: &Path,
    release: Option<&str>,
    manager: Manager,
    packages: &[Package],
) -> anyhow::Result<()> {
    if !root.join("var/lib/dpkg/status").is_file() {
        bail!(
            "`{}` is not a Debian or Ubuntu root (no var/lib/dpkg/status): give one made with `debootstrap --variant=minbase RELEASE DIR`",
            root.display()
        );
    }
    if let Some(release) = release {
        let os_release = std::fs::read_to_string(root.join("etc/os-release"))
            .or_else(|_| std::fs::read_to_string(root.join("usr/lib/os-release")))
            .unwrap_or_default();
        let codename = os_release.lines().find_map(|line| {
            line.strip_prefix("VERSION_CODENAME=")
                .map(|value| value.trim_matches('"').to_string())
        });
        if let Some(codename) = codename.filter(|codename| !codename.is_empty()) {
            if codename != release {
                bail!(
                    "the root `{}` is {codename}, but the artifacts are built for {release}: give a root of {release}",
                    root.display()
                );
            }
        }
    }
    let output = Command::new("chroot")
        .arg(root)
        .args(["dpkg", "--print-architecture"])
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .output()
        .context("failed to run chroot")?;
    let arch = String::from_utf8_lossy(&output.stdout).trim().to_string();
    if !output.status.success() {
        bail!(
            "cannot run programs in the root `{}` (`chroot ROOT dpkg --print-architecture` failed: {}): is it a root of this machine's arch, and are you root?",
            root.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    if let Some(package) = packages
        .iter()
        .find(|package| !manager.runs_on(&package.arch, &arch))
    {
        bail!(
            "`{}` is for {}, but the root `{}` is {arch}",
            package.file_name(),
            package.arch,
            root.display()
        );
    }
    Ok(())
}

fn file_names(packages: &[Package]) -> String {
    packages
        .iter()
        .map(Package::file_name)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Which move an install is: rpm says which (`-i`, `-U`, `-U --oldpackage`); dpkg does not.
#[derive(Debug, Clone, Copy)]
enum Step {
    Fresh,
    Upgrade,
    Rollback,
}

struct Run<'a> {
    sandbox: Sandbox,
    manager: Manager,
    expect: &'a Expectations,
    offline: bool,
    checks: Vec<Check>,
    on_check: &'a mut dyn FnMut(&Check),
    /// Directories made here the way systemd makes them for a unit: not the package's.
    made_directories: BTreeSet<PathBuf>,
}

impl Run<'_> {
    fn record(&mut self, name: String, started: Instant, result: Result<String, String>) -> bool {
        let passed = result.is_ok();
        let check = Check {
            name,
            passed,
            seconds: (started.elapsed().as_secs_f64() * 100.0).round() / 100.0,
            detail: result.unwrap_or_else(|failure| failure),
        };
        (self.on_check)(&check);
        self.checks.push(check);
        passed
    }

    fn timeout(&self) -> Duration {
        self.expect.timeout
    }

    /// Copies `packages` into the root's `/tmp/pyship-verify/WHICH/`; their paths there.
    fn copy_in(&self, which: &str, packages: &[Package]) -> anyhow::Result<Vec<String>> {
        let directory = self.sandbox.join(format!("tmp/pyship-verify/{which}"));
        std::fs::create_dir_all(&directory)?;
        packages
            .iter()
            .map(|package| {
                let name = package.file_name();
                std::fs::copy(&package.path, directory.join(&name))
                    .with_context(|| format!("failed to copy `{}`", package.path.display()))?;
                Ok(format!("/tmp/pyship-verify/{which}/{name}"))
            })
            .collect()
    }

    /// Installs `packages` (dpkg: from `paths` inside the root) as `step` says; passes when
    /// every package is installed at its own version.
    fn install(
        &mut self,
        name: &str,
        step: Step,
        packages: &[Package],
        paths: &[String],
    ) -> anyhow::Result<bool> {
        let started = Instant::now();
        let installed = match self.manager {
            Manager::Dpkg => self.dpkg_install(packages, paths)?,
            Manager::Rpm => self.rpm_install(step, packages)?,
        };
        let result = match installed {
            Ok(detail) => match self.not_installed(packages)? {
                Some(failure) => Err(failure),
                None => Ok(detail),
            },
            Err(failure) => Err(failure),
        };
        Ok(self.record(name.to_string(), started, result))
    }

    /// `dpkg -i` (keeping edited conffiles, as unattended upgrades do); missing dependencies
    /// come from the release's archive unless offline.
    fn dpkg_install(
        &mut self,
        packages: &[Package],
        paths: &[String],
    ) -> anyhow::Result<Result<String, String>> {
        let mut argv: Vec<String> = ["dpkg", "--force-confdef", "--force-confold", "-i"]
            .map(String::from)
            .to_vec();
        argv.extend(paths.iter().cloned());
        let command = self.sandbox.command(&argv, None, &[], None, false);
        let outcome = self.sandbox.run(command, self.timeout())?;
        if outcome.success() {
            return Ok(Ok(String::new()));
        }
        let missing = missing_dependencies(&outcome.output);
        if missing.is_empty() {
            return Ok(Err(outcome.failure(self.timeout())));
        }
        if self.offline {
            return Ok(Err(format!(
                "dependencies missing from the root, and --offline fetches none: {}",
                missing.join(", ")
            )));
        }
        Ok(match self.install_from_archive(packages, paths) {
            Ok(()) => Ok(format!(
                "fetched from the release's archive: {}",
                missing.join(", ")
            )),
            Err(failure) => Err(format!(
                "dependencies missing ({}), and apt-get could not install them: {failure}",
                missing.join(", ")
            )),
        })
    }

    /// apt-get installs `paths` with what they need from the release's archive (network
    /// allowed), after dpkg left them unconfigured. The half-installed packages go first
    /// (their conffiles stay): apt resolves nothing while they are broken.
    fn install_from_archive(
        &mut self,
        packages: &[Package],
        paths: &[String],
    ) -> Result<(), String> {
        let _ = std::fs::copy("/etc/resolv.conf", self.sandbox.join("etc/resolv.conf"));
        let mut remove = vec![
            "dpkg".to_string(),
            "--remove".to_string(),
            "--force-depends".to_string(),
        ];
        remove.extend(packages.iter().map(|package| package.name.clone()));
        let mut install: Vec<String> = [
            "apt-get",
            "install",
            "-y",
            "-q",
            "--no-install-recommends",
            "--allow-downgrades",
            "-o",
            "Dpkg::Options::=--force-confdef",
            "-o",
            "Dpkg::Options::=--force-confold",
        ]
        .map(String::from)
        .to_vec();
        install.extend(paths.iter().cloned());
        let update: Vec<String> = ["apt-get", "update", "-q"].map(String::from).to_vec();
        // The archive may be slow: each step gets five times a check's time.
        let limit = self.timeout() * 5;
        for argv in [remove, update, install] {
            let command = self.sandbox.command(&argv, None, &[], None, true);
            let outcome = self
                .sandbox
                .run(command, limit)
                .map_err(|e| e.to_string())?;
            if !outcome.success() {
                return Err(format!("`{}` {}", argv.join(" "), outcome.failure(limit)));
            }
        }
        Ok(())
    }

    /// This machine's rpm, on the root's database, its scriptlets run inside the root. The
    /// root is Debian's, so Requires cannot be resolved: said, not hidden.
    fn rpm_install(
        &mut self,
        step: Step,
        packages: &[Package],
    ) -> anyhow::Result<Result<String, String>> {
        let mut argv = match step {
            Step::Fresh => vec!["-i".to_string()],
            Step::Upgrade => vec!["-U".to_string()],
            Step::Rollback => vec!["-U".to_string(), "--oldpackage".to_string()],
        };
        argv.push("--nodeps".into());
        argv.extend(
            packages
                .iter()
                .map(|package| package.path.display().to_string()),
        );
        let outcome = self.rpm(&argv)?;
        Ok(if outcome.success() {
            Ok(
                "Requires not resolved (rpm --nodeps in a Debian root standing in for the release)"
                    .into(),
            )
        } else {
            Err(outcome.failure(self.timeout()))
        })
    }

    /// `rpm --root=ROOT ARGS`, network-less like the checks.
    fn rpm(&mut self, args: &[String]) -> anyhow::Result<sandbox::Outcome> {
        let mut command = self.sandbox.host_command("rpm");
        command
            .arg(format!("--root={}", self.sandbox.root.display()))
            .args(args);
        self.sandbox.run(command, self.timeout())
    }

    /// Which of `packages` is not installed (and configured) at its own version (another
    /// package of the same name, from the archive, may have taken its place), and how it is
    /// instead.
    fn not_installed(&mut self, packages: &[Package]) -> anyhow::Result<Option<String>> {
        for package in packages {
            let (state, version) = match self.manager {
                Manager::Dpkg => {
                    let argv: Vec<String> = [
                        "dpkg-query",
                        "--show",
                        "--showformat=${Status}|${Version}",
                        &package.name,
                    ]
                    .map(String::from)
                    .to_vec();
                    let command = self.sandbox.command(&argv, None, &[], None, false);
                    let outcome = self.sandbox.run(command, self.timeout())?;
                    let text = outcome.output.trim().to_string();
                    let (status, version) = text.split_once('|').unwrap_or((&text, ""));
                    let state = if status == "install ok installed" {
                        None
                    } else {
                        Some(status.to_string())
                    };
                    (state, version.to_string())
                }
                Manager::Rpm => {
                    let args = [
                        "-q".to_string(),
                        "--queryformat".to_string(),
                        "%{VERSION}-%{RELEASE}".to_string(),
                        package.name.clone(),
                    ];
                    let outcome = self.rpm(&args)?;
                    let state = (!outcome.success()).then(|| "not installed".to_string());
                    (state, outcome.output.trim().to_string())
                }
            };
            if state.is_some() || version != package.version {
                return Ok(Some(format!(
                    "`{}` is `{}` at `{version}` after the install, not installed at {}",
                    package.name,
                    state.as_deref().unwrap_or("installed"),
                    package.version
                )));
            }
        }
        Ok(None)
    }

    /// Appends a line to each configuration file installed; the files edited.
    fn edit_conffiles(&mut self) -> Vec<PathBuf> {
        let mut edited = Vec::new();
        for file in &self.expect.config_files {
            let path = self.sandbox.join(file);
            if let Ok(mut text) = std::fs::read_to_string(&path) {
                text.push_str(&format!("\n{EDIT_MARK}\n"));
                if std::fs::write(&path, text).is_ok() {
                    edited.push(file.clone());
                }
            }
        }
        edited
    }

    fn conffiles_kept(&mut self, edited: &[PathBuf]) {
        for file in edited {
            let started = Instant::now();
            let kept = std::fs::read_to_string(self.sandbox.join(file))
                .is_ok_and(|text| text.contains(EDIT_MARK));
            let result = if kept {
                Ok(String::new())
            } else {
                Err("the upgrade replaced the operator's edit".to_string())
            };
            self.record(format!("conffile {} kept", file.display()), started, result);
        }
    }

    /// The services started as their users, the health check, the smoke commands; then the
    /// services stopped.
    fn check_running(&mut self, when: &str) -> anyhow::Result<()> {
        let mut running: Vec<(String, Child, PathBuf)> = Vec::new();
        for (unit, service) in self.expect.services.iter().flat_map(units_run) {
            let started = Instant::now();
            let name = format!("service {unit} starts ({when})");
            match self.start(&service)? {
                Ok(Some((child, log))) => running.push((unit.clone(), child, log)),
                Ok(None) => {
                    self.record(name, started, Ok("ran to its end (oneshot)".into()));
                    continue;
                }
                Err(failure) => {
                    self.record(name, started, Err(failure));
                    continue;
                }
            }
            // Up for a moment before anything else is asked of it (the health check, when
            // there is one, then waits for it to answer).
            let period = if self.expect.health.is_some() {
                STAY_UP / 4
            } else {
                STAY_UP
            };
            let result = self.stays_up(&mut running, period);
            if result.is_err() {
                // Ended: nothing more to ask of it.
                running.pop();
            }
            self.record(name, started, result);
        }
        if let Some(health) = self.expect.health.clone() {
            let started = Instant::now();
            let result = self.healthy(&health, &mut running)?;
            let what = match &health {
                Health::Url(url) => format!("health {url} ({when})"),
                Health::Command(argv) => format!("health `{}` ({when})", argv.join(" ")),
            };
            self.record(what, started, result);
        }
        for argv in self.expect.commands.clone() {
            let started = Instant::now();
            let command = self.sandbox.command(&argv, None, &[], None, false);
            let outcome = self.sandbox.run(command, self.timeout())?;
            let result = if outcome.success() {
                Ok(String::new())
            } else {
                Err(outcome.failure(self.timeout()))
            };
            self.record(format!("`{}` ({when})", argv.join(" ")), started, result);
        }
        for (_, mut child, _) in running {
            sandbox::kill_group(&mut child);
        }
        Ok(())
    }

    /// Starts `service` the way its unit would: its user, environment, directories and
    /// credentials, `ExecStartPre=` first. `Ok(None)` for a oneshot that ended well.
    #[allow(clippy::type_complexity)]
    fn start(
        &mut self,
        service: &Service,
    ) -> anyhow::Result<Result<Option<(Child, PathBuf)>, String>> {
        let user = service.user.as_deref().unwrap_or("root");
        let Some(account) = sandbox::account(&self.sandbox.root, user) else {
            return Ok(Err(format!(
                "its user `{user}` does not exist on the server after the install"
            )));
        };
        let environment = self.unit_environment(service, &account)?;
        let directory = service.working_directory.as_deref();
        for argv in &service.exec_start_pre {
            let argv: Vec<String> = argv
                .iter()
                .enumerate()
                .map(|(index, word)| {
                    if index == 0 {
                        word.trim_start_matches(['-', '+', '!', '@', ':'])
                            .to_string()
                    } else {
                        word.clone()
                    }
                })
                .collect();
            let command =
                self.sandbox
                    .command(&argv, Some(&account), &environment, directory, false);
            let outcome = self.sandbox.run(command, self.timeout())?;
            if !outcome.success() {
                return Ok(Err(format!(
                    "ExecStartPre `{}` {}",
                    argv.join(" "),
                    outcome.failure(self.timeout())
                )));
            }
        }
        let mut command = self.sandbox.command(
            &service.exec_start,
            Some(&account),
            &environment,
            directory,
            false,
        );
        if service.service_type.as_deref() == Some("oneshot") {
            let outcome = self.sandbox.run(command, self.timeout())?;
            return Ok(if outcome.success() {
                Ok(None)
            } else {
                Err(outcome.failure(self.timeout()))
            });
        }
        let (child, log) = self.sandbox.spawn(&mut command)?;
        Ok(Ok(Some((child, log))))
    }

    /// What systemd gives the unit's command: the account's variables, `Environment=`,
    /// `EnvironmentFile=` and the directories and credentials it makes (made here too).
    fn unit_environment(
        &mut self,
        service: &Service,
        account: &Account,
    ) -> anyhow::Result<Vec<(String, String)>> {
        let mut environment = vec![
            ("HOME".to_string(), account.home.clone()),
            ("USER".to_string(), account.name.clone()),
            ("LOGNAME".to_string(), account.name.clone()),
            ("SHELL".to_string(), account.shell.clone()),
        ];
        for file in &service.environment_files {
            let (optional, path) = match file.strip_prefix('-') {
                Some(path) => (true, path),
                None => (false, file.as_str()),
            };
            match std::fs::read_to_string(self.sandbox.join(path)) {
                Ok(text) => environment.extend(environment_file(&text)),
                Err(_) if optional => {}
                Err(_) => bail!(
                    "the service `{}` reads `{path}` (EnvironmentFile=), which the install did not create",
                    service.name
                ),
            }
        }
        environment.extend(
            service
                .environment
                .iter()
                .map(|(key, value)| (key.clone(), value.clone())),
        );
        for (kind, names) in &service.directories {
            let (base, variable) = match kind.as_str() {
                "runtime" => ("/run", "RUNTIME_DIRECTORY"),
                "state" => ("/var/lib", "STATE_DIRECTORY"),
                "logs" => ("/var/log", "LOGS_DIRECTORY"),
                "cache" => ("/var/cache", "CACHE_DIRECTORY"),
                _ => continue,
            };
            let mut paths = Vec::new();
            for name in names {
                let path = Path::new(base).join(name);
                self.make_owned_directory(&path, account)?;
                paths.push(path.display().to_string());
            }
            environment.push((variable.to_string(), paths.join(":")));
        }
        if !service.load_credentials.is_empty() {
            let directory = PathBuf::from(format!("/run/credentials/{}.service", service.name));
            self.make_owned_directory(&directory, account)?;
            for (id, source) in &service.load_credentials {
                let target = self.sandbox.join(directory.join(id));
                if std::fs::copy(self.sandbox.join(source), &target).is_ok() {
                    std::os::unix::fs::chown(&target, Some(account.uid), Some(account.gid))?;
                }
            }
            environment.push((
                "CREDENTIALS_DIRECTORY".to_string(),
                directory.display().to_string(),
            ));
        }
        Ok(environment)
    }

    fn make_owned_directory(&mut self, path: &Path, account: &Account) -> anyhow::Result<()> {
        let inside = self.sandbox.join(path);
        if !inside.exists() {
            std::fs::create_dir_all(&inside)?;
            self.made_directories.insert(path.to_path_buf());
        }
        std::os::unix::fs::chown(&inside, Some(account.uid), Some(account.gid))?;
        Ok(())
    }

    /// Every running service still runs after `period`; else which one ended, and its output.
    fn stays_up(
        &mut self,
        running: &mut [(String, Child, PathBuf)],
        period: Duration,
    ) -> Result<String, String> {
        let deadline = Instant::now() + period;
        while Instant::now() < deadline {
            if let Some(failure) = ended(running) {
                return Err(failure);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(String::new())
    }

    /// Tries `health` until it passes, a service ends, or the timeout.
    fn healthy(
        &mut self,
        health: &Health,
        running: &mut [(String, Child, PathBuf)],
    ) -> anyhow::Result<Result<String, String>> {
        let argv: Vec<String> = match health {
            Health::Url(url) => vec![
                "python3".into(),
                "-c".into(),
                concat!(
                    "import sys, urllib.request\n",
                    "try:\n",
                    "    urllib.request.urlopen(sys.argv[1], timeout=5)\n",
                    "except Exception as error:\n",
                    "    sys.exit(f'{sys.argv[1]}: {error}')\n",
                )
                .into(),
                url.clone(),
            ],
            Health::Command(argv) => argv.clone(),
        };
        let deadline = Instant::now() + self.timeout();
        let mut last = String::new();
        while Instant::now() < deadline {
            if let Some(failure) = ended(running) {
                return Ok(Err(failure));
            }
            let command = self.sandbox.command(&argv, None, &[], None, false);
            let outcome = self.sandbox.run(command, Duration::from_secs(10))?;
            if outcome.success() {
                return Ok(Ok(String::new()));
            }
            last = outcome.failure(Duration::from_secs(10));
            std::thread::sleep(Duration::from_millis(200));
        }
        Ok(Err(format!(
            "no answer within {}s; the last try {last}",
            self.timeout().as_secs()
        )))
    }

    /// Every package of the build removed for good (`dpkg --purge`, `rpm -e`), then what
    /// that left behind.
    fn purge(&mut self, packages: &[Package], before: &BTreeSet<PathBuf>) -> anyhow::Result<()> {
        let started = Instant::now();
        let removal = self.manager.removal();
        // The app first: the dependencies package is what it depends on.
        let names = packages.iter().rev().map(|package| package.name.clone());
        let outcome = match self.manager {
            Manager::Dpkg => {
                let mut argv = vec!["dpkg".to_string(), "--purge".to_string()];
                argv.extend(names);
                let command = self.sandbox.command(&argv, None, &[], None, false);
                self.sandbox.run(command, self.timeout())?
            }
            Manager::Rpm => {
                let mut args = vec!["-e".to_string(), "--nodeps".to_string()];
                args.extend(names);
                self.rpm(&args)?
            }
        };
        let result = if outcome.success() {
            Ok(String::new())
        } else {
            Err(outcome.failure(self.timeout()))
        };
        if !self.record(removal.into(), started, result) {
            return Ok(());
        }
        let started = Instant::now();
        // What other packages own (dependencies the install fetched) is theirs to remove.
        let owned = self.owned_by_packages()?;
        let after = self.sandbox.paths();
        let mut left: Vec<&PathBuf> = Vec::new();
        for path in after.difference(before) {
            let inside_listed = left.last().is_some_and(|top| path.starts_with(top));
            if !inside_listed && !owned.contains(path) && !self.not_the_packages(path) {
                left.push(path);
            }
        }
        // rpm, by design, keeps an edited configuration file as `.rpmsave`, the account and
        // its home, and directories no package owns (`/opt/venvs`, shared by every app, or
        // `/usr/lib/sysusers.d`, which the release's systemd owns): said, not failed.
        let mut saved: Vec<PathBuf> = Vec::new();
        if self.manager == Manager::Rpm {
            let root = self.sandbox.root.clone();
            let home = self.expect.home.clone();
            left.retain(|path| {
                let inside = root.join(path.strip_prefix("/").unwrap_or(path));
                let kept = path
                    .extension()
                    .is_some_and(|extension| extension == "rpmsave")
                    || home.as_deref() == Some(path.as_path())
                    || std::fs::read_dir(&inside).is_ok_and(|mut entries| {
                        entries.all(|entry| {
                            entry.is_ok_and(|entry| {
                                entry.path().extension().is_some_and(|e| e == "rpmsave")
                                    || entry.file_type().is_ok_and(|kind| kind.is_dir())
                            })
                        })
                    });
                if kept {
                    saved.push((*path).clone());
                }
                !kept
            });
        }
        let result = if left.is_empty() {
            Ok(if saved.is_empty() {
                String::new()
            } else {
                format!(
                    "kept, as rpm keeps them: {}",
                    saved
                        .iter()
                        .map(|path| path.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
        } else {
            let mut lines: Vec<String> = left
                .iter()
                .take(20)
                .map(|path| path.display().to_string())
                .collect();
            if left.len() > 20 {
                lines.push(format!("… and {} more", left.len() - 20));
            }
            Err(format!("left behind:\n    {}", lines.join("\n    ")))
        };
        self.record(format!("{removal} leaves nothing behind"), started, result);
        Ok(())
    }

    /// Every path an installed package lists (dpkg's `info/*.list`, rpm's database).
    fn owned_by_packages(&mut self) -> anyhow::Result<BTreeSet<PathBuf>> {
        let mut owned = BTreeSet::new();
        if self.manager == Manager::Rpm {
            let args = ["-qa", "--queryformat", "[%{FILENAMES}\n]"].map(String::from);
            owned.extend(self.rpm(&args)?.output.lines().map(PathBuf::from));
        }
        let Ok(entries) = std::fs::read_dir(self.sandbox.join("var/lib/dpkg/info")) else {
            return Ok(owned);
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path
                .extension()
                .is_some_and(|extension| extension == "list")
            {
                if let Ok(text) = std::fs::read_to_string(&path) {
                    owned.extend(text.lines().map(PathBuf::from));
                }
            }
        }
        Ok(owned)
    }

    /// Paths that change on any server without being the package's: logs, caches, dpkg's
    /// and apt's own state, the account databases' backups, verify's own files, and the
    /// directories systemd would make for the units.
    fn not_the_packages(&self, path: &Path) -> bool {
        const OTHERS: &[&str] = &[
            "/tmp",
            "/run",
            "/var/log",
            "/var/cache",
            "/var/lib/dpkg",
            "/var/lib/apt",
            "/var/lib/systemd/deb-systemd-helper-enabled",
            "/var/lib/systemd/deb-systemd-helper-masked",
            "/etc/passwd-",
            "/etc/group-",
            "/etc/shadow-",
            "/etc/gshadow-",
            "/etc/resolv.conf",
            // rpm's own database, on Debian's rpm in root's home.
            "/root/.rpmdb",
            "/var/lib/rpm",
        ];
        OTHERS.iter().any(|other| path.starts_with(other))
            || self
                .made_directories
                .iter()
                .any(|made| path.starts_with(made))
    }
}

/// Which of `running` ended, with its status and output, if one did.
fn ended(running: &mut [(String, Child, PathBuf)]) -> Option<String> {
    running.iter_mut().find_map(|(name, child, log)| {
        let status = child.try_wait().ok().flatten()?;
        let output = std::fs::read_to_string(log).unwrap_or_default();
        Some(format!(
            "the service `{name}` ended ({status}):\n{}",
            sandbox::last_lines(&output, 8)
        ))
    })
}

/// `KEY=VALUE` lines of an `EnvironmentFile=`, comments and blank lines skipped, one level
/// of quotes removed.
fn environment_file(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#') && !line.starts_with(';'))
        .filter_map(|line| {
            let (key, value) = line.split_once('=')?;
            let value = value.trim();
            let value = value
                .strip_prefix('"')
                .and_then(|rest| rest.strip_suffix('"'))
                .or_else(|| {
                    value
                        .strip_prefix('\'')
                        .and_then(|rest| rest.strip_suffix('\''))
                })
                .unwrap_or(value);
            Some((key.trim().to_string(), value.to_string()))
        })
        .collect()
}

/// The packages dpkg said are missing: `depends on NAME; however:`.
fn missing_dependencies(output: &str) -> Vec<String> {
    let mut missing: Vec<String> = output
        .lines()
        .filter_map(|line| {
            let rest = line.trim().split_once("depends on ")?.1;
            let name = rest.split(['(', ';', ' ']).next()?.trim();
            (!name.is_empty()).then(|| name.to_string())
        })
        .collect();
    missing.sort();
    missing.dedup();
    missing
}

/// The units verify runs for a service, each by name with what it runs: the service; each
/// instance of a template, `%i` in its commands and environment being the instance; a timer's
/// job once, to its end, as its timer would run it.
fn units_run(service: &Service) -> Vec<(String, Service)> {
    if service.on_calendar.is_some() {
        let mut job = service.clone();
        job.service_type = Some("oneshot".into());
        return vec![(
            format!("{} (the job of {}.timer)", service.name, service.name),
            job,
        )];
    }
    if service.instances.is_empty() {
        return vec![(service.name.clone(), service.clone())];
    }
    service
        .instances
        .iter()
        .map(|instance| {
            let expand = |word: &String| word.replace("%i", instance);
            let mut one = service.clone();
            one.name = format!("{}@{instance}", service.name);
            one.exec_start = service.exec_start.iter().map(expand).collect();
            one.exec_start_pre = service
                .exec_start_pre
                .iter()
                .map(|argv| argv.iter().map(expand).collect())
                .collect();
            one.environment = service
                .environment
                .iter()
                .map(|(key, value)| (key.clone(), expand(value)))
                .collect();
            (one.name.clone(), one)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dpkg_names_the_missing_dependencies() {
        let output = "dpkg: dependency problems prevent configuration of hello:\n hello depends on libpq5 (>= 12); however:\n  Package libpq5 is not installed.\n hello depends on python3.11; however:\n";
        assert_eq!(missing_dependencies(output), ["libpq5", "python3.11"]);
    }

    #[test]
    fn environment_files_read_as_systemd_reads_them() {
        let text = "# comment\n\nA=1\nB = \"two words\"\nC='x'\n; also a comment\nnot a line\n";
        assert_eq!(
            environment_file(text),
            [
                ("A".to_string(), "1".to_string()),
                ("B".to_string(), "two words".to_string()),
                ("C".to_string(), "x".to_string()),
            ]
        );
    }
}
