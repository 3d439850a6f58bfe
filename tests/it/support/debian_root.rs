//! A minimal Debian root of its own for each test that installs packages: a copy of the root
//! `scripts/debian-root` makes once per machine (debootstrap, cached outside the work tree),
//! entered with `chroot`. Nothing is installed on the test machine itself.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use super::repo_root;

/// Whether tests must not skip (CI).
fn required() -> bool {
    std::env::var("PYSHIP_TEST_REQUIRE_EXTERNAL_TOOLS").is_ok_and(|value| value == "1")
}

/// What a command run in a root sees of the environment: a Debian PATH, a UTF-8 locale, no
/// questions from apt; nothing of this machine's.
pub fn plain_environment(command: &mut Command) {
    command
        .env_clear()
        .env(
            "PATH",
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        )
        .env("LC_ALL", "C.UTF-8")
        .env("DEBIAN_FRONTEND", "noninteractive");
}

/// A scratch copy of a minimal Debian root, removed when dropped.
pub struct DebianRoot {
    _scratch: tempfile::TempDir,
    pub path: PathBuf,
}

/// The directory of cached roots (for `PYSHIP_ROOTS`) with the `release` root made in it, or
/// `None`, said loudly, when this machine cannot make one; CI fails instead.
pub fn cached_roots(release: &str) -> Option<PathBuf> {
    let root = DebianRoot::cached(release)?;
    Some(root.parent().expect("roots have a parent").to_path_buf())
}

impl DebianRoot {
    /// The cached `release` root itself (never to be written to), made when missing.
    fn cached(release: &str) -> Option<PathBuf> {
        let is_root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|output| String::from_utf8_lossy(&output.stdout).trim() == "0");
        if !is_root {
            assert!(
                !required(),
                "installing into a Debian root needs root (chroot)"
            );
            eprintln!("SKIPPING: installing into a Debian root needs root (chroot)");
            return None;
        }
        let made = Command::new(repo_root().join("scripts/debian-root"))
            .arg(release)
            .output()
            .expect("scripts/debian-root runs");
        if !made.status.success() {
            let why = String::from_utf8_lossy(&made.stderr);
            assert!(!required(), "scripts/debian-root {release} failed:\n{why}");
            eprintln!("SKIPPING: no {release} root on this machine:\n{why}");
            return None;
        }
        Some(PathBuf::from(String::from_utf8_lossy(&made.stdout).trim()))
    }

    /// A fresh copy of the cached `release` root (`bookworm`, …), or `None`, said loudly, when
    /// this machine cannot make one (not root, or debootstrap failed); CI fails instead.
    pub fn new(release: &str) -> Option<DebianRoot> {
        let cached = DebianRoot::cached(release)?;
        let scratch = tempfile::tempdir().expect("a temporary directory");
        let path = scratch.path().join(release);
        let copied = Command::new("cp")
            .args(["-a", "--reflink=auto"])
            .arg(&cached)
            .arg(&path)
            .status()
            .expect("cp runs");
        assert!(copied.success(), "copying {} failed", cached.display());
        Some(DebianRoot {
            _scratch: scratch,
            path,
        })
    }

    /// `chroot ROOT ARGS`, with a plain environment.
    pub fn command(&self, args: &[&str]) -> Command {
        self.chroot(None, args)
    }

    /// `ARGS` run in the root as its `user` (ids read in the root, as the host has none).
    pub fn command_as(&self, user: &str, args: &[&str]) -> Command {
        let id = |flag: &str| self.ok(&["id", flag, user]).trim().to_string();
        self.chroot(Some(format!("--userspec={}:{}", id("-u"), id("-g"))), args)
    }

    fn chroot(&self, userspec: Option<String>, args: &[&str]) -> Command {
        let mut command = Command::new("chroot");
        command.args(userspec).arg(&self.path).args(args);
        plain_environment(&mut command);
        command
    }

    /// Runs `ARGS` in the root.
    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("chroot runs")
    }

    /// Runs `ARGS` in the root and returns its stdout; fails the test when it fails.
    pub fn ok(&self, args: &[&str]) -> String {
        let output = super::output_ok(&mut self.command(args));
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Copies `deb` into the root and installs it with dpkg.
    pub fn install(&self, deb: &Path) -> String {
        let name = deb.file_name().expect("a file name").to_string_lossy();
        std::fs::copy(deb, self.path.join("tmp").join(&*name)).expect("copy the package");
        self.ok(&["dpkg", "-i", &format!("/tmp/{name}")])
    }

    /// A path inside the root.
    pub fn join(&self, path: &str) -> PathBuf {
        self.path.join(path.trim_start_matches('/'))
    }
}
