//! A clean root of the target's release to install an artifact in, apart from this machine:
//! a copy of a cached minimal root (made once per machine with `debootstrap
//! --variant=minbase`, or given by the user), entered with `chroot`, inside a network
//! namespace of its own that has only a loopback interface. The copy and the namespace go
//! when the sandbox is dropped.
//!
//! Every command runs with a timeout, in a process group of its own, so that a check that
//! hangs (a server that never answers, a script waiting for input) is killed with everything
//! it started.

use std::fs::File;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

/// The file that says a cached root is complete.
const COMPLETE: &str = ".pyship-root-complete";
/// What every root holds besides minbase: the interpreter a system-Python artifact runs on,
/// adduser for system accounts, and deb-systemd-helper for units.
const INCLUDE: &str = "python3,adduser,init-system-helpers";

/// Where cached roots live: `PYSHIP_ROOTS`, else the cache's `roots-v1`.
pub fn roots_dir(cache_root: &Path) -> PathBuf {
    std::env::var_os(crate::env_vars::PYSHIP_ROOTS)
        .map(PathBuf::from)
        .unwrap_or_else(|| cache_root.join("roots-v1"))
}

/// The cached root of `codename`, made the first time with debootstrap from `mirror`. One
/// A half-made root never has the final name.
pub fn cached_root(
    roots: &Path,
    codename: &str,
    mirror: &str,
    on_make: impl FnOnce(),
) -> anyhow::Result<PathBuf> {
    let root = roots.join(codename);
    if root.join(COMPLETE).is_file() {
        return Ok(root);
    }
    std::fs::create_dir_all(roots)
        .with_context(|| format!("failed to create `{}`", roots.display()))?;
    if which("debootstrap").is_none() {
        bail!(
            "no root of `{codename}` is cached in `{}`, and debootstrap, which makes one, is not installed: install it (`apt-get install debootstrap`), or give a root of the servers' release with `--root DIR`",
            roots.display()
        );
    }
    on_make();
    let scratch = tempfile::Builder::new()
        .prefix(&format!(".{codename}."))
        .tempdir_in(roots)?;
    let log = scratch.path().with_extension("log");
    let made = Command::new("debootstrap")
        .args([
            "--variant=minbase",
            &format!("--include={INCLUDE}"),
            codename,
        ])
        .arg(scratch.path())
        .arg(mirror)
        .stdout(File::create(&log)?)
        .stderr(File::create(&log)?)
        .status()
        .context("failed to run debootstrap")?;
    if !made.success() {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let _ = std::fs::remove_file(&log);
        bail!(
            "debootstrap could not make a `{codename}` root from {mirror}; its last lines:\n{}",
            last_lines(&text, 15)
        );
    }
    let _ = std::fs::remove_file(&log);
    // Packages are installed with dpkg alone: nothing in the root may start a service.
    let policy = scratch.path().join("usr/sbin/policy-rc.d");
    std::fs::write(&policy, "#!/bin/sh\nexit 101\n")?;
    set_mode(&policy, 0o755)?;
    let _ = Command::new("apt-get")
        .arg("-o")
        .arg(format!("Dir={}", scratch.path().display()))
        .arg("clean")
        .stderr(Stdio::null())
        .status();
    std::fs::write(scratch.path().join(COMPLETE), b"")?;
    // Two runs may make the same root at once: the first rename wins, and the other run
    // uses that root and drops its own. A root left half-made (without the mark) goes.
    if root.exists() && !root.join(COMPLETE).is_file() {
        let _ = std::fs::remove_dir_all(&root);
    }
    let made = scratch.keep();
    if std::fs::rename(&made, &root).is_err() {
        let _ = std::fs::remove_dir_all(&made);
        if !root.join(COMPLETE).is_file() {
            bail!(
                "failed to put the new root in place at `{}`",
                root.display()
            );
        }
    }
    Ok(root)
}

/// What a command in the sandbox did.
#[derive(Debug)]
pub struct Outcome {
    /// `None` when the timeout killed it.
    pub status: Option<ExitStatus>,
    /// Its stdout and stderr, interleaved as written.
    pub output: String,
}

impl Outcome {
    pub fn success(&self) -> bool {
        self.status.is_some_and(|status| status.success())
    }

    /// "exited with status 1", "timed out after 60s", with the output's last lines.
    pub fn failure(&self, timeout: Duration) -> String {
        let how = match self.status {
            None => format!("timed out after {}s", timeout.as_secs()),
            Some(status) => match status.code() {
                Some(code) => format!("exited with status {code}"),
                None => format!("was killed ({status})"),
            },
        };
        let tail = last_lines(&self.output, 8);
        if tail.is_empty() {
            how
        } else {
            format!("{how}:\n{tail}")
        }
    }
}

/// A copy of a root, with a network namespace of its own.
pub struct Sandbox {
    scratch: tempfile::TempDir,
    pub root: PathBuf,
    namespace: String,
    logs: usize,
}

impl Sandbox {
    /// Copies `template` under `work` and makes the namespace.
    pub fn new(template: &Path, work: &Path) -> anyhow::Result<Sandbox> {
        std::fs::create_dir_all(work)?;
        let scratch = tempfile::Builder::new().prefix("root.").tempdir_in(work)?;
        let root = scratch.path().join("root");
        let copied = Command::new("cp")
            .args(["-a", "--reflink=auto"])
            .arg(template)
            .arg(&root)
            .status()
            .context("failed to run cp")?;
        if !copied.success() {
            bail!("failed to copy the root `{}`", template.display());
        }
        let namespace = format!(
            "pyship-verify-{}-{}",
            std::process::id(),
            scratch
                .path()
                .file_name()
                .map_or_else(String::new, |name| name.to_string_lossy().replace('.', "-"))
        );
        let added = Command::new("ip")
            .args(["netns", "add", &namespace])
            .output();
        match added {
            Ok(output) if output.status.success() => {}
            Ok(output) => bail!(
                "failed to make a network namespace for the checks (`ip netns add`): {}",
                String::from_utf8_lossy(&output.stderr).trim()
            ),
            Err(_) => bail!(
                "`ip` (iproute2) is missing: the checks run in a network namespace of their own; install it (`apt-get install iproute2`)"
            ),
        }
        let sandbox = Sandbox {
            scratch,
            root,
            namespace,
            logs: 0,
        };
        let up = Command::new("ip")
            .args(["-n", &sandbox.namespace, "link", "set", "lo", "up"])
            .status()?;
        if !up.success() {
            bail!("failed to bring up the loopback interface of the checks' namespace");
        }
        Ok(sandbox)
    }

    /// A path inside the root.
    pub fn join(&self, path: impl AsRef<Path>) -> PathBuf {
        let path = path.as_ref();
        self.root.join(path.strip_prefix("/").unwrap_or(path))
    }

    /// `argv` inside the root, as `user` (root when `None`), with exactly `environment` (and a
    /// plain PATH), in `directory`; network-less unless `network`.
    pub fn command(
        &self,
        argv: &[String],
        user: Option<&Account>,
        environment: &[(String, String)],
        directory: Option<&Path>,
        network: bool,
    ) -> Command {
        let mut command = if network {
            Command::new("chroot")
        } else {
            let mut command = Command::new("ip");
            command.args(["netns", "exec", &self.namespace, "chroot"]);
            command
        };
        if let Some(account) = user {
            command.arg(format!("--userspec={}:{}", account.uid, account.gid));
        }
        command
            .arg(&self.root)
            .args(["env", "-i"])
            .arg("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
            .arg("LC_ALL=C.UTF-8")
            .arg("DEBIAN_FRONTEND=noninteractive")
            .args(
                environment
                    .iter()
                    .map(|(key, value)| format!("{key}={value}")),
            );
        // chroot starts in `/`: the shell changes directory, then becomes the command.
        if let Some(directory) = directory {
            command
                .args(["/bin/sh", "-c", "cd \"$0\" && exec \"$@\""])
                .arg(directory);
        }
        command.args(argv);
        command.env_clear().env(
            "PATH",
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        );
        command
    }

    /// `program` run on this machine (not in the root), but in the checks' namespace.
    pub fn host_command(&self, program: &str) -> Command {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", &self.namespace, program]);
        command
    }

    /// Runs `command` to its end or until `timeout`, then kills its whole group.
    pub fn run(&mut self, mut command: Command, timeout: Duration) -> anyhow::Result<Outcome> {
        let (mut child, log) = self.spawn(&mut command)?;
        let status = wait_until(&mut child, Instant::now() + timeout);
        if status.is_none() {
            kill_group(&mut child);
        }
        Ok(Outcome {
            status,
            output: std::fs::read_to_string(&log).unwrap_or_default(),
        })
    }

    /// Starts `command` in the background, in a group of its own, its output in a log.
    pub fn spawn(&mut self, command: &mut Command) -> anyhow::Result<(Child, PathBuf)> {
        self.logs += 1;
        let log = self.scratch.path().join(format!("{}.log", self.logs));
        let file = File::create(&log)?;
        let child = command
            .stdin(Stdio::null())
            .stdout(file.try_clone()?)
            .stderr(file)
            .process_group(0)
            .spawn()
            .context("failed to start chroot")?;
        Ok((child, log))
    }

    /// Every path in the root (relative), for what a purge leaves behind.
    pub fn paths(&self) -> std::collections::BTreeSet<PathBuf> {
        let mut found = std::collections::BTreeSet::new();
        let mut stack = vec![self.root.clone()];
        while let Some(directory) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&directory) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                if entry.file_type().is_ok_and(|kind| kind.is_dir()) {
                    stack.push(path.clone());
                }
                if let Ok(relative) = path.strip_prefix(&self.root) {
                    found.insert(Path::new("/").join(relative));
                }
            }
        }
        found
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "delete", &self.namespace])
            .stderr(Stdio::null())
            .status();
    }
}

/// An account of the root, from its own `/etc/passwd` (the host has none of its users).
#[derive(Debug, Clone)]
pub struct Account {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub home: String,
    pub shell: String,
}

/// `name`'s entry in the root's `/etc/passwd`.
pub fn account(root: &Path, name: &str) -> Option<Account> {
    let passwd = std::fs::read_to_string(root.join("etc/passwd")).ok()?;
    passwd.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        (fields.len() >= 7 && fields[0] == name).then(|| Account {
            name: name.to_string(),
            uid: fields[2].parse().unwrap_or(u32::MAX),
            gid: fields[3].parse().unwrap_or(u32::MAX),
            home: fields[5].to_string(),
            shell: fields[6].to_string(),
        })
    })
}

/// Waits for `child` until `deadline`; `None` when it is still running then.
pub fn wait_until(child: &mut Child, deadline: Instant) -> Option<ExitStatus> {
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() >= deadline => return None,
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(_) => return None,
        }
    }
}

/// Ends `child`'s whole process group: TERM, then KILL after 5 s.
pub fn kill_group(child: &mut Child) {
    let group = format!("-{}", child.id());
    let signal = |name: &str| {
        let _ = Command::new("kill")
            .args([name, "--", &group])
            .stderr(Stdio::null())
            .status();
    };
    signal("-TERM");
    if wait_until(child, Instant::now() + Duration::from_secs(5)).is_none() {
        signal("-KILL");
        let _ = child.wait();
    }
}

/// The last `count` non-empty lines of `text`, indented.
pub fn last_lines(text: &str, count: usize) -> String {
    let lines: Vec<&str> = text
        .lines()
        .filter(|line| !line.trim().is_empty())
        .collect();
    lines[lines.len().saturating_sub(count)..]
        .iter()
        .map(|line| format!("    {line}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|directory| directory.join(program))
            .find(|candidate| candidate.is_file())
    })
}

fn set_mode(path: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}
