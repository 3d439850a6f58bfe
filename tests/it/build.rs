//! `pyship build`: the staged virtualenv, compared with pip, and hostile wheels refused.

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::output_ok;
use crate::support::wheels::WheelSpec;
use crate::support::{TestContext, copy_flit, requires_tool};

fn files_under(root: &Path) -> BTreeSet<String> {
    fn walk(root: &Path, directory: &Path, out: &mut BTreeSet<String>) {
        for entry in std::fs::read_dir(directory).unwrap().flatten() {
            let path = entry.path();
            if entry.file_type().unwrap().is_dir() {
                walk(root, &path, out);
            } else {
                out.insert(path.strip_prefix(root).unwrap().display().to_string());
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(root, root, &mut out);
    out
}

#[test]
fn build_prints_the_staged_prefix_of_a_working_venv() {
    let context = TestContext::hello();
    let run = context.pyship(&["build", "--offline"]).success();
    let prefix = PathBuf::from(run.stdout.trim());
    assert_eq!(
        prefix,
        context.root.join("target/pyship/stage/opt/venvs/hello")
    );
    let launcher = std::fs::read_to_string(prefix.join("bin/hello-serve")).unwrap();
    assert!(
        launcher.starts_with("#!/opt/venvs/hello/bin/python\n"),
        "{launcher}"
    );
    assert!(
        launcher.contains("from hello.app import main"),
        "{launcher}"
    );
    let mode = std::fs::metadata(prefix.join("bin/hello-serve"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o755);
    let config = std::fs::read_to_string(prefix.join("pyvenv.cfg")).unwrap();
    assert!(
        config.contains("include-system-site-packages = false"),
        "{config}"
    );
    assert_eq!(
        std::fs::read_link(prefix.join("bin/python")).unwrap(),
        PathBuf::from("/usr/bin/python3.11")
    );
    // The staged interpreter runs the app from the staged tree (pyvenv.cfg sits next to bin/).
    let output = Command::new(prefix.join("bin/python"))
        .args([
            "-c",
            "import hello.app, sys; sys.exit(hello.app.main(['--check']))",
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // Bytecode is compiled for the final prefix, not the staging path.
    let pyc = prefix.join("lib/python3.11/site-packages/hello/__pycache__/app.cpython-311.pyc");
    let bytes = std::fs::read(pyc).unwrap();
    let text = String::from_utf8_lossy(&bytes);
    assert!(text.contains("/opt/venvs/hello/lib/python3.11/site-packages/hello/app.py"));
    assert!(!text.contains("target/pyship/stage"));
}

/// A second build with nothing changed reuses the staged tree; a changed source file, a
/// touched staged tree or another layout stage again.
#[test]
fn a_build_with_nothing_changed_does_nothing() {
    let context = TestContext::hello();
    let first = context.pyship(&["build", "--offline"]).success();
    assert!(first.stderr.contains("Staging /opt/venvs/hello"), "{first}");
    let started = std::time::Instant::now();
    let again = context.pyship(&["build", "--offline"]).success();
    let elapsed = started.elapsed();
    assert!(
        again.stderr.contains(
            "Fresh /opt/venvs/hello for cpython-3.11.2-x86_64-manylinux_2_36 (nothing changed)"
        ),
        "{again}"
    );
    assert!(!again.stderr.contains("Staging"), "{again}");
    assert_eq!(again.stdout, first.stdout);
    // Not a timed test: a bound no real staging meets, to catch a silent restage.
    assert!(elapsed.as_secs_f64() < 5.0, "{elapsed:?}");

    // A source file of the app changed: staged again, with the change; the dependencies come
    // installed and compiled from the cache, only the application is installed again.
    let app = context.root.join("src/hello/app.py");
    let source = std::fs::read_to_string(&app).unwrap();
    context.file("src/hello/app.py", &format!("{source}\nCHANGED = True\n"));
    let run = context.pyship(&["build", "--offline"]).success();
    assert!(run.stderr.contains("Staging"), "{run}");
    assert!(
        run.stderr.contains("(1 packages; 7 from the cache)"),
        "{run}"
    );
    let prefix = PathBuf::from(run.stdout.trim());
    let staged = prefix.join("lib/python3.11/site-packages/hello/app.py");
    assert!(
        std::fs::read_to_string(&staged)
            .unwrap()
            .contains("CHANGED = True")
    );

    // Someone wrote into the staged tree: it is not trusted as fresh.
    std::fs::write(prefix.join("stray.txt"), "x").unwrap();
    let run = context.pyship(&["build", "--offline"]).success();
    assert!(run.stderr.contains("Staging"), "{run}");
    assert!(!prefix.join("stray.txt").exists());
    let run = context.pyship(&["build", "--offline"]).success();
    assert!(run.stderr.contains("nothing changed"), "{run}");
}

/// Staged files are linked from installed trees in the cache, which are checked before use:
/// a cache file changed behind pyship's back is never linked, the wheel is installed again.
#[test]
fn staged_files_come_from_checked_installed_trees_in_the_cache() {
    use std::os::unix::fs::MetadataExt;
    let context = TestContext::hello();
    let run = context.pyship(&["build", "--offline"]).success();
    let prefix = PathBuf::from(run.stdout.trim());
    let module = prefix.join("lib/python3.11/site-packages/flask/app.py");
    let pyc = prefix.join("lib/python3.11/site-packages/flask/__pycache__/app.cpython-311.pyc");
    // The test's cache and project share a file system: hard links, not copies.
    assert!(std::fs::metadata(&module).unwrap().nlink() >= 2);
    let record = std::fs::read_to_string(
        prefix.join("lib/python3.11/site-packages/flask-3.0.3.dist-info/RECORD"),
    )
    .unwrap();
    assert!(
        record.contains("flask/__pycache__/app.cpython-311.pyc,sha256="),
        "the bytecode is in RECORD"
    );
    let original = std::fs::read(&module).unwrap();
    let original_pyc = std::fs::read(&pyc).unwrap();

    // Tamper with the cached copy (the staged file is the same inode): the next staging finds
    // the entry's hash wrong and installs flask from its wheel again.
    std::fs::remove_file(&module).unwrap();
    let cached = files_under(&context.cache.join("installed-v1"))
        .into_iter()
        .find(|path| path.ends_with("site-packages/flask/app.py"))
        .unwrap();
    std::fs::write(
        context.cache.join("installed-v1").join(&cached),
        b"import os; os.system('echo pwned')\n",
    )
    .unwrap();
    context.file("src/hello/extra.py", "X = 1\n");
    let run = context.pyship(&["build", "--offline"]).success();
    assert!(
        run.stderr.contains("(2 packages; 6 from the cache)"),
        "{run}"
    );
    assert_eq!(std::fs::read(&module).unwrap(), original);
    assert_eq!(
        std::fs::read(&pyc).unwrap(),
        original_pyc,
        "pycs are reproducible"
    );
}

#[test]
fn installed_files_match_what_pip_installs_from_the_same_wheels() {
    if !requires_tool("/usr/bin/python3.11") {
        return;
    }
    let context = TestContext::hello();
    let run = context.pyship(&["build", "--offline"]).success();
    let prefix = PathBuf::from(run.stdout.trim());
    let ours = files_under(&prefix.join("lib/python3.11/site-packages"));

    let venv = pip_venv(&context, &context.root.join("wheelhouse"), &[&context.root]);
    let pips = files_under(&venv.join("lib/python3.11/site-packages"));

    // The venv's own seed packages aside. pip's `direct_url.json` for the app names the
    // project's directory on the build machine; pyship leaves it out (see `ops::stage`).
    let comparable = |path: &&String| {
        let top = path.split('/').next().unwrap_or_default();
        !path.ends_with("/direct_url.json")
            && !path.ends_with("direct_url.cpython-311.pyc")
            && ![
                "pip",
                "setuptools",
                "pkg_resources",
                "_distutils_hack",
                "distutils-precedence.pth",
            ]
            .contains(&top)
            && !top.starts_with("pip-")
            && !top.starts_with("setuptools-")
    };
    let ours: BTreeSet<&String> = ours.iter().filter(comparable).collect();
    let pips: BTreeSet<&String> = pips.iter().filter(comparable).collect();
    assert!(ours.len() > 100, "{ours:?}");
    assert_eq!(
        ours.symmetric_difference(&pips).collect::<Vec<_>>(),
        Vec::<&&String>::new(),
        "pyship and pip installed different files"
    );
    for script in ["flask", "hello-serve"] {
        assert!(prefix.join("bin").join(script).is_file());
        assert!(venv.join("bin").join(script).is_file());
    }
    // Each RECORD lists the same files pip's does (bytecode included), direct_url.json aside.
    for record in ours
        .iter()
        .filter(|path| path.ends_with(".dist-info/RECORD"))
    {
        let listed = |root: &Path| -> BTreeSet<String> {
            std::fs::read_to_string(root.join("lib/python3.11/site-packages").join(record))
                .unwrap()
                .lines()
                .filter_map(|line| line.split(',').next())
                .filter(|path| !path.ends_with("direct_url.json"))
                .map(str::to_string)
                .collect()
        };
        assert_eq!(listed(&prefix), listed(&venv), "{record}");
    }
}

fn project_with_wheel(context: &TestContext, wheel: WheelSpec) {
    wheel.write(&context.root.join("wheels"));
    victim_project(context);
}

/// A project depending on `evil`, found in `wheels/` only.
fn victim_project(context: &TestContext) {
    context.file(
        "pyproject.toml",
        "[project]\nname = \"victim\"\nversion = \"1.0\"\ndependencies = [\"evil\"]\n\n[tool.pyship]\nfind-links = [\"wheels\"]\nno-index = true\n",
    );
}

#[test]
fn wheel_entries_escaping_the_prefix_are_refused() {
    let context = TestContext::new();
    project_with_wheel(
        &context,
        WheelSpec::new("evil", "1.0").file("../../../../escaped.py", b"print('x')\n", 0o100644),
    );
    let run = context.pyship(&["build"]).code(1);
    assert!(run.stderr.contains("is unsafe"), "{run}");
    assert!(run.stderr.contains("escaped.py"), "{run}");
    assert!(!context.root.join("target/pyship/escaped.py").exists());
    assert!(!context.root.join("target/escaped.py").exists());
    assert!(!context.root.join("escaped.py").exists());
}

#[test]
fn wheel_symlinks_are_refused() {
    let context = TestContext::new();
    project_with_wheel(
        &context,
        WheelSpec::new("evil", "1.0").file("evil/passwd", b"/etc/passwd", 0o120777),
    );
    let run = context.pyship(&["build"]).code(1);
    assert!(run.stderr.contains("is a symlink"), "{run}");
}

#[test]
fn tampered_wheel_contents_fail_the_record_check() {
    let context = TestContext::new();
    let wheel = WheelSpec::new("evil", "1.0").write(&context.root.join("wheels"));
    // Rewrite the module without updating RECORD.
    let bytes = std::fs::read(&wheel).unwrap();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut out = zip::ZipWriter::new(std::fs::File::create(&wheel).unwrap());
    for index in 0..archive.len() {
        let mut entry = archive.by_index(index).unwrap();
        let name = entry.name().to_string();
        let mut contents = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut contents).unwrap();
        if name == "evil/__init__.py" {
            contents = b"import os; os.system('echo pwned')\n".to_vec();
        }
        out.start_file(name, zip::write::SimpleFileOptions::default())
            .unwrap();
        std::io::Write::write_all(&mut out, &contents).unwrap();
    }
    out.finish().unwrap();
    victim_project(&context);
    let run = context.pyship(&["build"]).code(1);
    assert!(
        run.stderr.contains("does not match its RECORD hash"),
        "{run}"
    );
}

#[test]
fn executable_bits_come_only_from_the_wheel() {
    let context = TestContext::new();
    project_with_wheel(
        &context,
        WheelSpec::new("evil", "1.0")
            .file("evil/tool.sh", b"#!/bin/sh\n", 0o100755)
            .file("evil/data.txt", b"data\n", 0o100777 & !0o111),
    );
    // No build backend is needed to see the dependency installed: stop after the deps by
    // giving the app a backend that does not exist.
    let pyproject = context.read("pyproject.toml").replace(
        "[tool.pyship]",
        "[build-system]\nrequires = []\nbuild-backend = \"no_such_backend\"\n\n[tool.pyship]",
    );
    context.file("pyproject.toml", &pyproject);
    let run = context.pyship(&["build"]).code(1);
    assert!(run.stderr.contains("no_such_backend"), "{run}");
    let site = context
        .root
        .join("target/pyship/stage/opt/venvs/victim/lib/python3.11/site-packages/evil");
    let mode = |name: &str| {
        std::fs::metadata(site.join(name))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode("tool.sh"), 0o755);
    assert_eq!(mode("data.txt"), 0o644);
    assert_eq!(mode("__init__.py"), 0o644);
}

/// `--locked` and `--frozen` (CI): the lock is used as it is; missing or stale is an error that
/// says what to run, and pylock.toml is never written.
#[test]
fn locked_and_frozen_never_write_the_lock() {
    let context = TestContext::hello();
    let run = context.pyship(&["build", "--locked"]).code(1);
    assert!(
        run.stderr
            .contains("/pylock.toml` is missing, and `--locked` forbids writing it"),
        "{run}"
    );
    assert!(
        run.stderr
            .contains("hint: run `pyship lock` without `--locked` and commit pylock.toml"),
        "{run}"
    );
    assert!(!context.root.join("pylock.toml").exists());

    context.pyship(&["lock", "--offline"]).success();
    context.pyship(&["lock", "--locked", "--offline"]).success();
    let locked = context.read("pylock.toml");
    context.pyship(&["build", "--frozen"]).success();

    // A new requirement makes the lock stale: every command refuses to update it.
    let pyproject = context.read("pyproject.toml").replace(
        "\"markupsafe>=2.1\",",
        "\"markupsafe>=2.1\",\n    \"click>=8\",",
    );
    context.file("pyproject.toml", &pyproject);
    for args in [
        &["build", "--frozen"][..],
        &["package", "deb", "--frozen"][..],
        &["fetch", "--locked", "--offline"][..],
    ] {
        let run = context.pyship(args).code(1);
        assert!(
            run.stderr.contains(
                "/pylock.toml` is out of date (the requirements or targets changed), and `--locked` forbids updating it"
            ),
            "{args:?}: {run}"
        );
    }
    let run = context.pyship(&["lock", "--locked", "--offline"]).code(1);
    assert!(
        run.stderr
            .contains("is out of date (locking again gives a different result)"),
        "{run}"
    );
    assert_eq!(
        context.read("pylock.toml"),
        locked,
        "the lock was not touched"
    );
}

/// `pyship run`: the staged tree runs at its install prefix, in a mount namespace only the
/// command sees; pyship exits with the command's status and leaves no prefix behind.
#[test]
fn run_executes_the_staged_tree_at_its_install_prefix() {
    if !crate::support::can_run_in_place() {
        return;
    }
    let context = TestContext::hello();
    // A prefix of its own, so that nothing else on the machine is under it.
    let prefix = format!("/opt/pyship-run-test-{}/hello", std::process::id());
    context.set_install_prefix(&prefix);
    let script = format!("{prefix}/bin/hello-serve");
    let run = context
        .pyship(&["run", "--offline", "--", &script, "--check"])
        .success();
    assert_eq!(run.stdout.trim(), format!("ok: {prefix}"), "{run}");
    assert!(
        !Path::new(&prefix).parent().unwrap().exists(),
        "the prefix made for the run is gone"
    );
    let run = context.pyship(&["run", "--offline", "--", "sh", "-c", "exit 7"]);
    assert_eq!(run.code, Some(7), "{run}");
    // The virtualenv's bin/ is first on PATH, as after `activate`.
    let run = context
        .pyship(&["run", "--offline", "--", "hello-serve", "--check"])
        .success();
    assert_eq!(run.stdout.trim(), format!("ok: {prefix}"), "{run}");
    // target/ says what it is: ignored by git, skipped by backups.
    assert_eq!(context.read("target/.gitignore").lines().last(), Some("*"));
    assert!(context.root.join("target/CACHEDIR.TAG").is_file());

    // A dependency group's packages are there for the run, never in the artifact's tree.
    WheelSpec::new("probe", "1.0")
        .file("probe/who.py", b"WHO = 'probe'\n", 0o100644)
        .write(&context.root.join("wheelhouse"));
    let pyproject = context.read("pyproject.toml").replace(
        "[tool.pyship]",
        "[dependency-groups]\ntest = [\"probe\"]\n\n[tool.pyship]",
    );
    context.file("pyproject.toml", &pyproject);
    context
        .pyship(&["lock", "--offline", "--group", "test"])
        .success();
    let python = format!("{prefix}/bin/python");
    let import = "import probe.who, hello.app; print(probe.who.WHO, probe.who.__file__)";
    let run = context
        .pyship(&[
            "run",
            "--offline",
            "--group",
            "test",
            "--",
            &python,
            "-c",
            import,
        ])
        .success();
    assert_eq!(
        run.stdout.trim(),
        format!("probe {prefix}/lib/python3.11/site-packages/probe/who.py"),
        "{run}"
    );
    assert!(
        run.stderr.contains("packages of `test` for the run"),
        "{run}"
    );
    let staged = context
        .root
        .join("target/pyship/stage")
        .join(prefix.trim_start_matches('/'));
    assert!(!staged.join("lib/python3.11/site-packages/probe").exists());
    let run = context.pyship(&["run", "--offline", "--", &python, "-c", import]);
    assert_eq!(run.code, Some(1), "without --group, no probe: {run}");
    let run = context.pyship(&["run", "--offline", "--group", "docs", "--", "true"]);
    assert!(run.stderr.contains("pyship lock --group docs"), "{run}");
}

/// `pyship fetch --wheelhouse DIR`: exactly the locked files and a static PEP 503 index, which
/// pip installs from (as find-links and as an index) and pyship locks from offline.
#[test]
fn a_wheelhouse_serves_pip_and_pyship_offline() {
    let context = TestContext::hello();
    let run = context
        .pyship(&["fetch", "--offline", "--wheelhouse", "wh"])
        .success();
    let wheelhouse = context.root.join("wh");
    assert_eq!(run.stdout.trim(), wheelhouse.display().to_string(), "{run}");
    let lock = context.read("pylock.toml");
    let mut files: Vec<String> = std::fs::read_dir(&wheelhouse)
        .unwrap()
        .flatten()
        .filter(|entry| entry.path().is_file())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name != ".pyship-wheelhouse")
        .collect();
    files.sort();
    assert!(!files.is_empty());
    for file in &files {
        assert!(lock.contains(file.as_str()), "{file} is not locked");
    }
    let page = std::fs::read_to_string(wheelhouse.join("simple/flask/index.html")).unwrap();
    assert!(
        page.contains("<a href=\"../../flask-3.0.3-py3-none-any.whl#sha256="),
        "{page}"
    );

    // pip, from a fresh venv, by find-links and by the static index.
    let venv = context.temp.path().join("venv");
    assert!(
        Command::new("/usr/bin/python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .unwrap()
            .success()
    );
    let index_url = format!("file://{}/simple", wheelhouse.display());
    for args in [
        vec!["--no-index", "--find-links", wheelhouse.to_str().unwrap()],
        vec!["--index-url", index_url.as_str()],
    ] {
        output_ok(
            Command::new(venv.join("bin/pip"))
                .args([
                    "install",
                    "-q",
                    "--disable-pip-version-check",
                    "--force-reinstall",
                ])
                .args(&args)
                .args(["flask", "markupsafe"]),
        );
    }

    // Without the original wheelhouse, pyship locks from this one offline.
    std::fs::remove_dir_all(context.root.join("wheelhouse")).unwrap();
    std::fs::remove_file(context.root.join("pylock.toml")).unwrap();
    let pyproject = context
        .read("pyproject.toml")
        .replace("find-links = [\"wheelhouse\"]", "find-links = [\"wh\"]");
    context.file("pyproject.toml", &pyproject);
    context.pyship(&["lock", "--offline"]).success();

    // A file pyship copied earlier that the lock no longer holds is reported, then pruned; an
    // archive pyship did not put there is neither.
    std::fs::write(wheelhouse.join("old-1.0-py3-none-any.whl"), b"x").unwrap();
    std::fs::write(wheelhouse.join("unrelated-2.0.tar.gz"), b"mine").unwrap();
    let record = wheelhouse.join(".pyship-wheelhouse");
    let mut names = std::fs::read_to_string(&record).unwrap();
    assert!(names.contains("flask-"), "{names}");
    names.push_str("old-1.0-py3-none-any.whl\n");
    std::fs::write(&record, names).unwrap();
    let run = context
        .pyship(&["fetch", "--offline", "--wheelhouse", "wh"])
        .success();
    assert!(
        run.stderr
            .contains("holds files the lock does not: old-1.0-py3-none-any.whl"),
        "{run}"
    );
    let run = context
        .pyship(&["fetch", "--offline", "--wheelhouse", "wh", "--prune"])
        .success();
    assert!(run.stderr.contains("Pruned 1 files"), "{run}");
    assert!(!wheelhouse.join("old-1.0-py3-none-any.whl").exists());
    assert!(wheelhouse.join("unrelated-2.0.tar.gz").exists());
}

/// `[tool.pyship] build-depends` is checked against this machine's packages before anything is
/// built: a missing one is named with the command that installs it.
#[test]
fn missing_build_depends_are_named_with_the_install_command() {
    if !Path::new("/var/lib/dpkg/status").is_file() {
        assert!(
            std::env::var("PYSHIP_TEST_REQUIRE_EXTERNAL_TOOLS").as_deref() != Ok("1"),
            "CI runs on Debian"
        );
        eprintln!(
            "SKIPPING: build-depends are checked with dpkg, and this is not a Debian machine"
        );
        return;
    }
    let context = TestContext::hello();
    let original = context.read("pyproject.toml");
    let with = |depends: &str| {
        original.replace(
            "[tool.pyship]\n",
            &format!("[tool.pyship]\nbuild-depends = {depends}\n"),
        )
    };
    context.file(
        "pyproject.toml",
        &with(r#"["coreutils", "pyship-test-no-such-dev", { rpm = "only-on-rpm-devel" }]"#),
    );
    let run = context.pyship(&["build", "--offline"]).code(1);
    assert!(
        run.stderr
            .contains("run `apt-get install pyship-test-no-such-dev`"),
        "{run}"
    );
    assert!(!run.stderr.contains("only-on-rpm-devel"), "{run}");
    context.file("pyproject.toml", &with(r#"["coreutils"]"#));
    context.pyship(&["build", "--offline"]).success();
}

/// A pip-made venv with `packages` installed from `wheels` only.
fn pip_venv(context: &TestContext, wheels: &Path, packages: &[&Path]) -> PathBuf {
    let venv = context.temp.path().join("pip-venv");
    let status = Command::new("/usr/bin/python3.11")
        .args(["-m", "venv", "--without-pip"])
        .arg(&venv)
        .status()
        .unwrap();
    assert!(status.success());
    output_ok(
        Command::new("/usr/bin/python3.11")
            .args(["-m", "pip", "--python"])
            .arg(venv.join("bin/python"))
            .args([
                "install",
                "--quiet",
                "--no-index",
                "--no-cache-dir",
                "--find-links",
            ])
            .arg(wheels)
            .args(packages)
            .env_remove("PIP_FIND_LINKS"),
    );
    venv
}

/// Files with `.data/` in every scheme directory, a `.pth` file and entry points with extras
/// land where pip puts them, with pip's modes, RECORD rows and rewritten `#!python` lines.
#[test]
fn data_directories_pth_files_and_entry_point_extras_match_pip() {
    if !requires_tool("/usr/bin/python3.11") {
        return;
    }
    let context = TestContext::new();
    let data = "datawheel-1.0.data";
    WheelSpec::new("datawheel", "1.0")
        .file(
            "datawheel/cli.py",
            b"def main():\n    print('cli')\ndef gui():\n    pass\n",
            0o100644,
        )
        .file("datawheel.pth", b"import sys\n", 0o100644)
        .file(
            &format!("{data}/scripts/datawheel-tool"),
            b"#!python\nprint('tool')\n",
            0o100755,
        )
        .file(
            &format!("{data}/scripts/plain.sh"),
            b"#!/bin/sh\necho plain\n",
            0o100644,
        )
        .file(&format!("{data}/headers/datawheel.h"), b"int x;\n", 0o100644)
        .file(
            &format!("{data}/data/share/datawheel/defaults.conf"),
            b"a = 1\n",
            0o100644,
        )
        .file(&format!("{data}/purelib/datawheel_pure.py"), b"P = 1\n", 0o100644)
        .file(&format!("{data}/platlib/datawheel_plat.py"), b"Q = 2\n", 0o100644)
        .entry_points(
            "[console_scripts]\ndatawheel-cli = datawheel.cli:main [fancy]\ndatawheel-plain = datawheel.cli:main\n\n[gui_scripts]\ndatawheel-gui = datawheel.cli:gui\n",
        )
        .write(&context.root.join("wheels"));
    copy_flit(&context);
    context.file("consumer/__init__.py", "\"\"\"Uses datawheel.\"\"\"\n");
    context.file(
        "pyproject.toml",
        "[project]\nname = \"consumer\"\nversion = \"1.0\"\ndescription = \"x\"\ndependencies = [\"datawheel\"]\n\n[build-system]\nrequires = [\"flit_core>=3.4,<4\"]\nbuild-backend = \"flit_core.buildapi\"\n\n[tool.pyship]\nfind-links = [\"wheels\"]\nno-index = true\ninterpreter = \"/usr/bin/python3.11\"\n",
    );
    let run = context.pyship(&["build"]).success();
    let prefix = PathBuf::from(run.stdout.trim());
    // pip installs the project too, so that datawheel is a dependency there as well (no
    // REQUESTED); its `direct_url.json` for the app names the checkout (see `ops::stage`).
    let venv = pip_venv(&context, &context.root.join("wheels"), &[&context.root]);

    // Everything the wheels put anywhere in the venv; the venvs' own files aside.
    let installed = |root: &Path| -> BTreeSet<String> {
        files_under(root)
            .into_iter()
            .filter(|path| {
                !path.starts_with("bin/activate")
                    && !path.starts_with("bin/python")
                    && !path.starts_with("bin/Activate")
                    && path != "pyvenv.cfg"
                    && !path.ends_with("/direct_url.json")
            })
            .collect()
    };
    let ours = installed(&prefix);
    let pips = installed(&venv);
    assert!(
        ours.contains("include/site/python3.11/datawheel/datawheel.h"),
        "{ours:?}"
    );
    assert!(ours.contains("share/datawheel/defaults.conf"), "{ours:?}");
    assert!(
        ours.contains("lib/python3.11/site-packages/datawheel.pth"),
        "{ours:?}"
    );
    assert_eq!(
        ours.symmetric_difference(&pips).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "pyship and pip installed different files"
    );
    let mode = |root: &Path, path: &str| {
        std::fs::metadata(root.join(path))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    };
    for path in ours.iter().filter(|path| *path != "bin/plain.sh") {
        assert_eq!(mode(&prefix, path), mode(&venv, path), "mode of {path}");
    }
    // The one deliberate difference: pip keeps a `.data/scripts` entry's zip mode, so a
    // script packed without its x bit lands in bin/ unrunnable; pyship, as uv does, makes
    // every script it puts in bin/ executable.
    assert_eq!(mode(&prefix, "bin/plain.sh"), 0o755);
    assert_eq!(mode(&venv, "bin/plain.sh"), 0o644);
    // `#!python` names the venv's interpreter; other scripts are copied as they are.
    let tool = std::fs::read_to_string(prefix.join("bin/datawheel-tool")).unwrap();
    let pip_tool = std::fs::read_to_string(venv.join("bin/datawheel-tool")).unwrap();
    assert_eq!(tool, "#!/opt/venvs/consumer/bin/python\nprint('tool')\n");
    assert_eq!(
        pip_tool,
        format!("#!{}/bin/python\nprint('tool')\n", venv.display())
    );
    assert_eq!(
        std::fs::read(prefix.join("bin/plain.sh")).unwrap(),
        std::fs::read(venv.join("bin/plain.sh")).unwrap()
    );
    // The RECORD rows name the same files, pip's relative paths out of site-packages included.
    let record = "lib/python3.11/site-packages/datawheel-1.0.dist-info/RECORD";
    let listed = |root: &Path| -> BTreeSet<String> {
        std::fs::read_to_string(root.join(record))
            .unwrap()
            .lines()
            .filter_map(|line| line.split(',').next())
            .map(str::to_string)
            .collect()
    };
    assert_eq!(listed(&prefix), listed(&venv));
    // The entry point with an extra still gets its launcher (pip ignores the extra).
    let output = Command::new(prefix.join("bin/python"))
        .arg(prefix.join("bin/datawheel-cli"))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&output.stdout), "cli\n");
}

/// `activate` (bash, zsh), `activate.fish` and `activate.csh` put the venv's `bin` first on
/// PATH and `deactivate` puts PATH back, as CPython's venv scripts do.
#[test]
fn activation_scripts_work_in_each_shell() {
    let context = TestContext::hello();
    let run = context.pyship(&["build", "--offline"]).success();
    let prefix = PathBuf::from(run.stdout.trim());
    let bin = prefix.join("bin");
    let csh_script = context.temp.path().join("try.csh");
    std::fs::write(
        &csh_script,
        format!(
            "source {0}/activate.csh\necho $VIRTUAL_ENV\necho $path[1]\ndeactivate\necho $path[1]\nif (`alias deactivate` == \"\") echo gone\n",
            bin.display()
        ),
    )
    .unwrap();
    let shells: [(&str, &str, String); 3] = [
        (
            "/bin/bash",
            "-c",
            format!(
                ". {0}/activate; echo \"$VIRTUAL_ENV\"; echo \"${{PATH%%:*}}\"; deactivate; echo \"${{PATH%%:*}}\"; type deactivate >/dev/null 2>&1 || echo gone",
                bin.display()
            ),
        ),
        (
            "/usr/bin/fish",
            "-c",
            format!(
                "source {0}/activate.fish; echo $VIRTUAL_ENV; echo $PATH[1]; deactivate; echo $PATH[1]; functions -q deactivate; or echo gone",
                bin.display()
            ),
        ),
        // csh expands aliases when it reads a line, so the alias `deactivate` is only known
        // on the lines after the one that sources the script: a script file, not `-c`.
        ("/usr/bin/tcsh", "-f", csh_script.display().to_string()),
    ];
    for (shell, flag, script) in shells {
        if !requires_tool(shell) {
            continue;
        }
        let output = Command::new(shell)
            .arg(flag)
            .arg(&script)
            .env("PATH", "/usr/bin:/bin")
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&output.stdout),
            "/opt/venvs/hello\n/opt/venvs/hello/bin\n/usr/bin\ngone\n",
            "{shell}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

/// A pylock.toml another tool wrote (uv's) is never replaced by a build: used as it is when
/// it covers the target, else the build stops, says why and names the command that
/// re-locks, and the file is left untouched.
#[test]
fn a_lock_written_by_another_tool_is_used_as_it_is_or_refused() {
    let context = TestContext::new();
    let wheel = WheelSpec::new("dep", "1.0").write(&context.root.join("wheels"));
    copy_flit(&context);
    context.file("app/__init__.py", "\"\"\"The app.\"\"\"\n");
    context.file(
        "pyproject.toml",
        "[project]\nname = \"app\"\nversion = \"1.0\"\ndescription = \"x\"\ndependencies = [\"dep\"]\n\n\
         [build-system]\nrequires = [\"flit_core>=3.4,<4\"]\nbuild-backend = \"flit_core.buildapi\"\n\n\
         [tool.pyship]\ninterpreter = \"/usr/bin/python3.11\"\nfind-links = [\"wheels\"]\nno-index = true\n",
    );
    let sha256 = crate::support::sha256_file(&wheel);
    let lock = format!(
        "lock-version = \"1.0\"\ncreated-by = \"uv\"\nrequires-python = \">=3.9\"\n\n[[packages]]\nname = \"dep\"\nversion = \"1.0\"\nwheels = [{{ path = \"wheels/dep-1.0-py3-none-any.whl\", hashes = {{ sha256 = \"{sha256}\" }} }}]\n"
    );
    context.file("pylock.toml", &lock);
    let run = context.pyship(&["build", "--offline"]).success();
    assert!(run.stderr.contains("written by uv, used as it is"), "{run}");
    let site = PathBuf::from(run.stdout.trim()).join("lib/python3.11/site-packages");
    assert!(site.join("dep/__init__.py").is_file());
    assert_eq!(context.read("pylock.toml"), lock);

    let elsewhere = lock.replace(
        "requires-python = \">=3.9\"\n",
        "requires-python = \">=3.9\"\nenvironments = [\"sys_platform == 'win32'\"]\n",
    );
    context.file("pylock.toml", &elsewhere);
    let run = context.pyship(&["build", "--offline"]).code(1);
    assert!(
        run.stderr
            .contains("was written by uv and cannot be used for the target"),
        "{run}"
    );
    assert!(run.stderr.contains("`pyship lock` replaces it"), "{run}");
    assert_eq!(context.read("pylock.toml"), elsewhere);
}

/// A Python of the target's X.Y found as `pythonX.Y` on PATH (pyenv's shims, another
/// installation) builds and compiles for it when no configured path has one.
#[test]
fn a_matching_python_on_path_builds_for_the_target() {
    let context = TestContext::hello();
    let pyproject = context
        .read("pyproject.toml")
        .replace(
            "interpreter = \"/usr/bin/python3\"",
            "interpreter = \"/nonexistent/bin/python3\"\ntargets = [{ python = \"3.11\", platform = \"x86_64-manylinux_2_36\", interpreter = \"/nonexistent/bin/python3.11\" }]",
        );
    context.file("pyproject.toml", &pyproject);
    let shims = context.temp.path().join("shims");
    std::fs::create_dir_all(&shims).unwrap();
    std::os::unix::fs::symlink("/usr/bin/python3.11", shims.join("python3.11")).unwrap();
    let path = format!("{}:{}", shims.display(), std::env::var("PATH").unwrap());
    let run = crate::support::Run::from(
        context
            .command(&["build", "--offline"])
            .env("PATH", &path)
            .output()
            .unwrap(),
    );
    assert_eq!(run.code, Some(0), "{run}");
    assert!(
        run.stderr
            .contains("Compiled bytecode with `/usr/bin/python3.11`"),
        "{run}"
    );
}

/// Outside a git checkout and without SOURCE_DATE_EPOCH, two builds agree: the default is
/// pyproject.toml's modification time, not the time of the build.
#[test]
fn builds_outside_a_checkout_are_reproducible_without_source_date_epoch() {
    let context = TestContext::hello();
    let package = || {
        let run = crate::support::Run::from(
            context
                .command(&["package", "tarball", "--offline"])
                .env_remove("SOURCE_DATE_EPOCH")
                .output()
                .unwrap(),
        );
        assert_eq!(run.code, Some(0), "{run}");
        std::fs::read(run.stdout.trim()).unwrap()
    };
    let first = package();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    std::fs::remove_dir_all(context.root.join("target")).unwrap();
    let second = package();
    assert!(first == second, "two builds a second apart differ");
}

#[test]
fn target_dir_moves_all_of_pyships_work_out_of_the_project() {
    let mut context = TestContext::hello();
    let elsewhere = context.temp.path().join("elsewhere");
    let run = context
        .pyship(&[
            "package",
            "deb",
            "--offline",
            "--target-dir",
            elsewhere.to_str().unwrap(),
        ])
        .success();
    assert!(
        run.stdout
            .trim()
            .starts_with(elsewhere.join("pyship").to_str().unwrap()),
        "{run}"
    );
    assert!(!context.root.join("target").exists(), "{run}");
    assert!(elsewhere.join("CACHEDIR.TAG").is_file());
    // The environment says the same.
    context.env("PYSHIP_TARGET_DIR", elsewhere.join("env").to_str().unwrap());
    let run = context.pyship(&["build", "--offline"]).success();
    assert!(
        run.stdout
            .trim()
            .starts_with(elsewhere.join("env/pyship/stage").to_str().unwrap()),
        "{run}"
    );
    assert!(!context.root.join("target").exists(), "{run}");
}

#[test]
fn verbose_builds_say_why_a_tree_is_staged_again() {
    let context = TestContext::hello();
    let run = context.pyship(&["build", "--offline", "-v"]).success();
    assert!(run.stderr.contains("again: it was never staged"), "{run}");
    context.file("src/hello/extra.py", "X = 1\n");
    let run = context.pyship(&["build", "--offline", "-v"]).success();
    assert!(run.stderr.contains("again: its inputs changed"), "{run}");
}

/// Two dependencies that ship a console script of the same name (changedetection.io's
/// pyppeteer forks): the one installed last wins, as with pip and uv, with a warning naming
/// both; the project may choose; the venv's own files stay refused.
#[test]
fn a_console_script_two_dependencies_ship_is_installed_once_and_the_project_may_choose() {
    let context = TestContext::new();
    let wheels = context.root.join("wheels");
    for name in ["forka", "forkb"] {
        WheelSpec::new(name, "1.0")
            .entry_points(&format!("[console_scripts]\nfetch-browser = {name}:main\n"))
            .write(&wheels);
    }
    copy_flit(&context);
    let pyproject = |extra: &str| {
        format!(
            "[project]\nname = \"app\"\nversion = \"1.0\"\ndescription = \"x\"\ndependencies = [\"forka\", \"forkb\"]\n\n\
             [build-system]\nrequires = [\"flit_core>=3.4\"]\nbuild-backend = \"flit_core.buildapi\"\n\n\
             [tool.pyship]\ninterpreter = \"/usr/bin/python3.11\"\nfind-links = [\"wheels\"]\nno-index = true\n{extra}"
        )
    };
    context.file(
        "app/__init__.py",
        "\"\"\"App.\"\"\"\n__version__ = \"1.0\"\n",
    );
    context.file("pyproject.toml", &pyproject(""));
    let run = context.pyship(&["build", "--offline"]).success();
    assert!(
        run.stderr.contains(
            "`bin/fetch-browser` is shipped by both forka and forkb: forkb's is installed"
        ),
        "{run}"
    );
    let script = PathBuf::from(run.stdout.trim()).join("bin/fetch-browser");
    assert!(
        std::fs::read_to_string(&script)
            .unwrap()
            .contains("from forkb import main")
    );
    context.file(
        "pyproject.toml",
        &pyproject("scripts-from = { \"fetch-browser\" = \"ForkA\" }\n"),
    );
    let run = context.pyship(&["build", "--offline"]).success();
    assert!(!run.stderr.contains("is shipped by both"), "{run}");
    assert!(
        std::fs::read_to_string(&script)
            .unwrap()
            .contains("from forka import main")
    );
}

/// `include-pip`: pip in the venv, locked like any dependency (OctoPrint's plugin manager runs
/// it); Debian's own pip wheel stands in for an index.
#[test]
fn include_pip_puts_a_locked_pip_in_the_venv() {
    let debian_wheels = Path::new("/usr/share/python-wheels");
    if !debian_wheels.is_dir() {
        assert!(
            std::env::var("PYSHIP_TEST_REQUIRE_EXTERNAL_TOOLS").as_deref() != Ok("1"),
            "no /usr/share/python-wheels (python3-pip-whl, which python3.11-venv brings)"
        );
        eprintln!("SKIPPING: no /usr/share/python-wheels (python3-pip-whl)");
        return;
    }
    let context = TestContext::hello();
    let pyproject = context.read("pyproject.toml").replace(
        "find-links = [\"wheelhouse\"]",
        "find-links = [\"wheelhouse\", \"/usr/share/python-wheels\"]\ninclude-pip = true",
    );
    context.file("pyproject.toml", &pyproject);
    let run = context.pyship(&["build", "--offline"]).success();
    assert!(context.read("pylock.toml").contains("name = \"pip\""));
    let prefix = PathBuf::from(run.stdout.trim());
    assert!(prefix.join("bin/pip").is_file(), "{run}");
    let site = prefix.join("lib/python3.11/site-packages");
    let pip = std::fs::read_dir(&site)
        .unwrap()
        .flatten()
        .any(|entry| entry.file_name().to_string_lossy().starts_with("pip-"));
    assert!(pip, "no pip dist-info in {}", site.display());
}
