//! A Debian root booted with systemd as its init, in a container of its own
//! (`systemd-nspawn --boot`, loopback-only network): services start as their units say, under
//! their sandbox, timers are scheduled, and dpkg's scripts talk to a running systemd, as on a
//! server. A scratch copy of the `RELEASE-systemd` root `scripts/debian-root` caches; the
//! container is killed and the copy removed when dropped.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use super::debian_root::DebianRoot;

pub struct BootedRoot {
    root: DebianRoot,
    nspawn: Child,
    /// The container's init, as this machine sees it.
    init: u32,
}

impl BootedRoot {
    /// `release` (`bookworm`) booted, or `None`, said loudly, when this machine cannot boot one;
    /// CI fails instead.
    pub fn new(release: &str) -> Option<BootedRoot> {
        if !super::requires_tool("systemd-nspawn") || !super::requires_tool("nsenter") {
            return None;
        }
        let root = DebianRoot::new(&format!("{release}-systemd"))?;
        let nspawn = Command::new("systemd-nspawn")
            .args([
                "--quiet",
                "--register=no",
                "--keep-unit",
                "--private-network",
                "--boot",
                "--console=pipe",
                "-D",
            ])
            .arg(&root.path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("systemd-nspawn runs");
        let mut booted = BootedRoot {
            root,
            init: 0,
            nspawn,
        };
        booted.init = booted.wait_for_init();
        booted.wait_until_running();
        Some(booted)
    }

    /// nspawn's child, the container's systemd.
    fn wait_for_init(&mut self) -> u32 {
        let pid = self.nspawn.id();
        let started = Instant::now();
        loop {
            let children = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
                .unwrap_or_default();
            if let Some(child) = children.split_whitespace().next() {
                return child.parse().expect("a process id");
            }
            if let Ok(Some(status)) = self.nspawn.try_wait() {
                panic!("systemd-nspawn ended before booting: {status}");
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "systemd-nspawn started no init in 30 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn wait_until_running(&self) {
        let started = Instant::now();
        loop {
            let state = self.run(&["systemctl", "is-system-running"]);
            let state = String::from_utf8_lossy(&state.stdout).trim().to_string();
            if state == "running" || state == "degraded" {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the container did not finish booting in 60 s: `{state}`"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// `ARGS` run inside the container, as root.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new("nsenter");
        command
            .args(["-t", &self.init.to_string(), "-a", "--"])
            .args(args);
        super::debian_root::plain_environment(&mut command);
        command
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("nsenter runs")
    }

    /// Runs `ARGS` inside and returns its stdout; fails the test when it fails.
    pub fn ok(&self, args: &[&str]) -> String {
        let output = super::output_ok(&mut self.command(args));
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Copies `deb` in and installs it with dpkg, its output returned (stdout and stderr).
    pub fn install(&self, deb: &Path) -> String {
        let name = deb.file_name().expect("a file name").to_string_lossy();
        // Not /tmp: the booted system mounts its own there.
        std::fs::copy(deb, self.root.join("/var/tmp").join(&*name)).expect("copy the package");
        let output =
            super::output_ok(&mut self.command(&["dpkg", "-i", &format!("/var/tmp/{name}")]));
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    }

    /// A path inside the root.
    pub fn join(&self, path: &str) -> PathBuf {
        self.root.join(path)
    }

    /// `systemctl show -p PROPERTY --value UNIT`.
    pub fn property(&self, unit: &str, property: &str) -> String {
        self.ok(&["systemctl", "show", "-p", property, "--value", unit])
            .trim()
            .to_string()
    }

    /// Waits up to 30 s for `unit` to be active (a service that has just been started may
    /// still be coming up); its state at the end.
    pub fn wait_active(&self, unit: &str) -> String {
        let started = Instant::now();
        loop {
            let state = self.property(unit, "ActiveState");
            if state == "active" || started.elapsed() > Duration::from_secs(30) {
                return state;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The body of `url` fetched inside the container (its own loopback), retried for up to
    /// 30 s while the server comes up.
    pub fn fetch(&self, url: &str) -> String {
        let script = r#"
import sys, time, urllib.request
for attempt in range(300):
    try:
        print(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode(), end="")
        break
    except OSError as error:
        last = error
        time.sleep(0.1)
else:
    sys.exit(f"{sys.argv[1]}: {last}")
"#;
        self.ok(&["python3", "-c", script, url])
    }
}

impl Drop for BootedRoot {
    fn drop(&mut self) {
        // Killing the container's init kills everything in its PID namespace; nspawn follows.
        let _ = Command::new("kill")
            .args(["-KILL", &self.init.to_string()])
            .status();
        if self.nspawn.wait_timeout_secs(10).is_none() {
            let _ = self.nspawn.kill();
            let _ = self.nspawn.wait();
        }
    }
}

trait WaitTimeout {
    fn wait_timeout_secs(&mut self, seconds: u64) -> Option<std::process::ExitStatus>;
}

impl WaitTimeout for Child {
    fn wait_timeout_secs(&mut self, seconds: u64) -> Option<std::process::ExitStatus> {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(seconds) {
            if let Ok(Some(status)) = self.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}
