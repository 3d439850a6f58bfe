//! Test support: a temporary project per test, the built binaries, wheels made on the fly,
//! and a local PEP 503 index server, so that the suite needs no network.

#![allow(dead_code)]

pub mod booted_root;
pub mod debian_root;
pub mod index_server;
pub mod wheels;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// A fixed SOURCE_DATE_EPOCH (2023-11-14) so archives are comparable.
pub const SOURCE_DATE_EPOCH: &str = "1700000000";

/// The repository root.
/// Puts flit_core (from the hello app's wheelhouse) into the project's `wheels/`, for projects
/// whose own wheel flit builds offline.
pub fn copy_flit(context: &TestContext) {
    let wheelhouse = repo_root().join("testdata/apps/hello/wheelhouse");
    std::fs::create_dir_all(context.root.join("wheels")).unwrap();
    std::fs::copy(
        wheelhouse.join("flit_core-3.9.0-py3-none-any.whl"),
        context.root.join("wheels/flit_core-3.9.0-py3-none-any.whl"),
    )
    .unwrap();
}

/// Whether `pyship run` can be tested here: it needs `unshare` and root (it creates the
/// install prefix). Says `SKIPPING` when not; CI runs as root and fails instead.
pub fn can_run_in_place() -> bool {
    if !requires_tool("unshare") {
        return false;
    }
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|output| String::from_utf8_lossy(&output.stdout).trim() == "0");
    if !is_root {
        eprintln!("SKIPPING: `pyship run` creates the install prefix, which needs root");
        assert!(
            std::env::var("PYSHIP_TEST_REQUIRE_EXTERNAL_TOOLS").as_deref() != Ok("1"),
            "CI runs as root"
        );
    }
    is_root
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The `pyship` binary under test.
pub fn pyship_exe() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_pyship"))
}

/// Builds every workspace binary (the plugins) next to `pyship` once per test run (cargo's
/// own tests do the same for helper binaries): `cargo test` builds only this package's
/// binaries. A new plugin crate is picked up without touching this file.
pub fn ensure_plugins_built() {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let exe = pyship_exe();
        let profile_dir = exe.parent().expect("the binary has a directory");
        let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        command
            .current_dir(repo_root())
            .args(["build", "--quiet", "--workspace", "--bins"]);
        if profile_dir
            .file_name()
            .is_some_and(|name| name == "release")
        {
            command.arg("--release");
        }
        if let Some(target_dir) = profile_dir.parent() {
            command.env("CARGO_TARGET_DIR", target_dir);
        }
        let status = command.status().expect("cargo runs");
        assert!(status.success(), "building the plugins failed");
        assert!(profile_dir.join("pyship-deb").is_file());
    });
}

/// Whether an external tool is on PATH. Missing tools skip a test, unless
/// `PYSHIP_TEST_REQUIRE_EXTERNAL_TOOLS=1` (set by CI), where they fail it.
pub fn requires_tool(tool: &str) -> bool {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|output| output.status.success());
    if !found {
        if std::env::var("PYSHIP_TEST_REQUIRE_EXTERNAL_TOOLS").is_ok_and(|v| v == "1") {
            panic!("`{tool}` is required (PYSHIP_TEST_REQUIRE_EXTERNAL_TOOLS=1) but not on PATH");
        }
        eprintln!("skipping: `{tool}` is not installed");
    }
    found
}

/// A temporary project directory with its own HOME and cache.
pub struct TestContext {
    pub temp: tempfile::TempDir,
    pub root: PathBuf,
    pub cache: PathBuf,
    extra_env: Vec<(String, String)>,
    extra_path: Vec<PathBuf>,
}

impl TestContext {
    /// An empty project directory.
    pub fn new() -> TestContext {
        ensure_plugins_built();
        let temp = tempfile::tempdir().expect("a temporary directory");
        let root = temp.path().join("project");
        std::fs::create_dir_all(&root).expect("create project dir");
        TestContext {
            cache: temp.path().join("cache"),
            root,
            temp,
            extra_env: Vec::new(),
            extra_path: Vec::new(),
        }
    }

    /// A copy of `testdata/apps/hello` (sources, pyproject and wheelhouse; no lock).
    pub fn hello() -> TestContext {
        let context = TestContext::new();
        copy_tree(&repo_root().join("testdata/apps/hello"), &context.root);
        let _ = std::fs::remove_file(context.root.join("pylock.toml"));
        let _ = std::fs::remove_dir_all(context.root.join("target"));
        context
    }

    /// The hello app installed at `prefix` instead of `/opt/venvs/hello`.
    pub fn set_install_prefix(&self, prefix: &str) {
        let pyproject = self.read("pyproject.toml").replace(
            "install-prefix = \"/opt/venvs/hello\"",
            &format!("install-prefix = \"{prefix}\""),
        );
        self.file("pyproject.toml", &pyproject);
    }

    /// `text` (settings of `[tool.pyship]`, or tables of their own) put into the hello app's
    /// pyproject.toml just before its `[tool.pyship.deb]` table.
    pub fn add_before_deb_table(&self, text: &str) {
        let pyproject = self.read("pyproject.toml");
        assert!(
            pyproject.contains("[tool.pyship.deb]\n"),
            "no [tool.pyship.deb] table"
        );
        self.file(
            "pyproject.toml",
            &pyproject.replace(
                "[tool.pyship.deb]\n",
                &format!("{text}\n[tool.pyship.deb]\n"),
            ),
        );
    }

    /// `[project] version` set to `version`.
    pub fn set_version(&self, version: &str) {
        let pyproject = self.read("pyproject.toml");
        let line = pyproject
            .lines()
            .find(|line| line.starts_with("version = "))
            .expect("a version line")
            .to_string();
        self.file(
            "pyproject.toml",
            &pyproject.replace(&line, &format!("version = \"{version}\"")),
        );
    }

    /// Writes a file under the project.
    pub fn file(&self, relative: &str, contents: &str) -> &Self {
        let path = self.root.join(relative);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("create dirs");
        std::fs::write(path, contents).expect("write file");
        self
    }

    /// Reads a file under the project.
    pub fn read(&self, relative: &str) -> String {
        std::fs::read_to_string(self.root.join(relative))
            .unwrap_or_else(|error| panic!("read {relative}: {error}"))
    }

    /// The `[[packages]]` tables of a lockfile under the project.
    pub fn locked_packages(&self, lockfile: &str) -> Vec<toml::Table> {
        let lock: toml::Table = toml::from_str(&self.read(lockfile)).expect("the lock parses");
        lock["packages"]
            .as_array()
            .expect("a packages array")
            .iter()
            .map(|package| package.as_table().expect("a package table").clone())
            .collect()
    }

    /// `name==version` for each package of `pylock.toml`, in lock order.
    pub fn pins(&self) -> Vec<String> {
        self.locked_packages("pylock.toml")
            .iter()
            .map(|p| {
                format!(
                    "{}=={}",
                    p["name"].as_str().unwrap(),
                    p["version"].as_str().unwrap()
                )
            })
            .collect()
    }

    /// The version `pylock.toml` pins `name` at.
    pub fn locked_version(&self, name: &str) -> String {
        self.locked_packages("pylock.toml")
            .iter()
            .find(|package| package["name"].as_str() == Some(name))
            .and_then(|package| package["version"].as_str().map(str::to_string))
            .unwrap_or_else(|| panic!("{name} not locked"))
    }

    /// Sets an environment variable for every pyship run.
    pub fn env(&mut self, key: &str, value: &str) -> &mut Self {
        self.extra_env.push((key.to_string(), value.to_string()));
        self
    }

    /// Puts a directory first on PATH for every pyship run.
    pub fn path_prepend(&mut self, directory: &Path) -> &mut Self {
        self.extra_path.push(directory.to_path_buf());
        self
    }

    /// `pyship ARGS` in the project directory, with a hermetic environment.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(pyship_exe());
        command.args(args).current_dir(&self.root);
        for (key, _) in std::env::vars() {
            if key.starts_with("PYSHIP_")
                || key.starts_with("PIP_")
                || key.to_ascii_lowercase().ends_with("_proxy")
            {
                command.env_remove(&key);
            }
        }
        let home = self.temp.path().join("home");
        let mut path = self.extra_path.clone();
        path.extend(std::env::split_paths(
            &std::env::var_os("PATH").unwrap_or_default(),
        ));
        command
            .env("HOME", &home)
            .env("XDG_CACHE_HOME", home.join(".cache"))
            .env("PYSHIP_CACHE_DIR", &self.cache)
            // Any request not aimed at a test server fails at once instead of leaving the machine.
            .env("PYSHIP_INDEX_URL", "http://127.0.0.1:9/simple")
            .env("NO_COLOR", "1")
            .env("PYSHIP_NO_PROGRESS", "1")
            .env("SOURCE_DATE_EPOCH", SOURCE_DATE_EPOCH)
            .env("PATH", std::env::join_paths(path).expect("a valid PATH"));
        for (key, value) in &self.extra_env {
            command.env(key, value);
        }
        command
    }

    /// Runs `pyship ARGS`.
    pub fn pyship(&self, args: &[&str]) -> Run {
        Run::from(self.command(args).output().expect("pyship runs"))
    }
}

/// A finished run, with text output.
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(output: Output) -> Run {
        Run {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

impl Run {
    /// Asserts success and returns self.
    pub fn success(self) -> Run {
        assert_eq!(self.code, Some(0), "expected success\n{self}");
        self
    }

    /// Asserts the exit code and returns self.
    pub fn code(self, code: i32) -> Run {
        assert_eq!(self.code, Some(code), "expected exit code {code}\n{self}");
        self
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit code: {:?}\n----- stdout -----\n{}\n----- stderr -----\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Copies a directory tree, skipping `target/` and `__pycache__/`.
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create dir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("dir entry");
        let name = entry.file_name();
        if name == "target" || name == "__pycache__" {
            continue;
        }
        let source = entry.path();
        let destination = to.join(&name);
        if entry.file_type().expect("file type").is_dir() {
            copy_tree(&source, &destination);
        } else {
            std::fs::copy(&source, &destination).expect("copy file");
        }
    }
}

/// sha256 of a file, hex.
pub fn sha256_file(path: &Path) -> String {
    use sha2::Digest;
    let bytes = std::fs::read(path).expect("read file");
    sha2::Sha256::digest(&bytes)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Runs `command` and asserts that it succeeded, showing the command and its output if not.
pub fn output_ok(command: &mut Command) -> Output {
    let output = command.output().expect("the command starts");
    assert!(
        output.status.success(),
        "{command:?} failed ({}):\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}
