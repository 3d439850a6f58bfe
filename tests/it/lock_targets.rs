//! Locking for deployment targets and pip-compile style: presets, --python/--platform,
//! re-locking, constraints, requirements.in, exports pip installs, groups and extras.

use std::path::Path;
use std::process::Command;

use crate::support::output_ok;
use crate::support::wheels::{SdistSpec, WheelSpec};
use crate::support::{TestContext, copy_flit, repo_root, requires_tool};

fn find<'a>(packages: &'a [toml::Table], name: &str) -> Option<&'a toml::Table> {
    packages.iter().find(|p| p["name"].as_str() == Some(name))
}

fn project(context: &TestContext, dependencies: &str, tool: &str) {
    context.file(
        "pyproject.toml",
        &format!(
            "[project]\nname = \"app\"\nversion = \"1.0\"\ndependencies = [{dependencies}]\n\n[tool.pyship]\nfind-links = [\"wheels\"]\nno-index = true\n{tool}"
        ),
    );
}

/// ```text
/// app ── core
///    └── tomli ; python_version < '3.11'   (only Debian 11's Python 3.9)
/// ```
#[test]
fn one_lock_serves_several_presets_with_markers_where_they_differ() {
    let context = TestContext::new();
    let wheels = context.root.join("wheels");
    WheelSpec::new("core", "1.0").write(&wheels);
    WheelSpec::new("tomli", "2.0").write(&wheels);
    project(&context, "\"core\", \"tomli; python_version < '3.11'\"", "");
    let run = context
        .pyship(&["lock", "--target", "debian-11", "--target", "debian-12"])
        .success();
    assert!(
        run.stderr
            .contains("Resolving for debian-11 (Python 3.9.2, x86_64-manylinux_2_31)"),
        "{run}"
    );
    let lock: toml::Table = toml::from_str(&context.read("pylock.toml")).unwrap();
    assert_eq!(lock["environments"].as_array().unwrap().len(), 2);
    let packages = context.locked_packages("pylock.toml");
    assert!(find(&packages, "core").unwrap().get("marker").is_none());
    let tomli = find(&packages, "tomli").unwrap();
    assert_eq!(
        tomli["marker"].as_str(),
        Some(
            "(python_full_version == '3.9.2' and platform_machine == 'x86_64' and sys_platform == 'linux')"
        )
    );
    // The same targets from [tool.pyship] give the same lock.
    let before = context.read("pylock.toml");
    project(
        &context,
        "\"core\", \"tomli; python_version < '3.11'\"",
        "targets = [\"debian-11\", \"debian-12\"]\n",
    );
    context.pyship(&["lock"]).success();
    assert_eq!(before, context.read("pylock.toml"));
}

#[test]
fn python_and_platform_flags_choose_the_wheels_of_that_target() {
    let context = TestContext::new();
    let wheels = context.root.join("wheels");
    WheelSpec::new("fast", "1.0")
        .tag("cp311-cp311-manylinux_2_28_x86_64")
        .write(&wheels);
    WheelSpec::new("fast", "1.0")
        .tag("cp312-cp312-manylinux_2_28_x86_64")
        .write(&wheels);
    WheelSpec::new("fast", "1.0")
        .tag("cp312-cp312-manylinux_2_28_aarch64")
        .write(&wheels);
    project(&context, "\"fast\"", "");
    context
        .pyship(&[
            "lock",
            "--python",
            "3.12",
            "--platform",
            "x86_64-manylinux_2_28",
        ])
        .success();
    let lock = context.read("pylock.toml");
    assert!(
        lock.contains("fast-1.0-cp312-cp312-manylinux_2_28_x86_64.whl"),
        "{lock}"
    );
    assert!(!lock.contains("cp311"), "{lock}");
    assert!(lock.contains("python_full_version == '3.12.0'"), "{lock}");

    context
        .pyship(&[
            "lock",
            "--python",
            "3.12",
            "--platform",
            "aarch64-manylinux_2_28",
        ])
        .success();
    assert!(
        context
            .read("pylock.toml")
            .contains("manylinux_2_28_aarch64.whl")
    );

    // An older glibc cannot take manylinux_2_28 wheels: the hint says why nothing fits.
    let run = context
        .pyship(&[
            "lock",
            "--python",
            "3.12",
            "--platform",
            "x86_64-manylinux_2_17",
        ])
        .code(3);
    assert!(
        run.stderr
            .contains("`fast` has 3 files, but none installs on the target"),
        "{run}"
    );

    let run = context.pyship(&["lock", "--target", "debian-99"]).code(1);
    assert!(
        run.stderr.contains("unknown target preset `debian-99`"),
        "{run}"
    );
    assert!(
        run.stderr
            .contains("hint: known presets: debian-11, debian-12"),
        "{run}"
    );
}

#[test]
fn relocking_keeps_locked_versions_until_asked_to_upgrade() {
    let context = TestContext::new();
    let wheels = context.root.join("wheels");
    WheelSpec::new("dep", "1.0").write(&wheels);
    WheelSpec::new("other", "1.0").write(&wheels);
    project(&context, "\"dep\", \"other\"", "");
    context.pyship(&["lock"]).success();
    WheelSpec::new("dep", "2.0").write(&wheels);
    WheelSpec::new("other", "2.0").write(&wheels);
    context.pyship(&["lock"]).success();
    let version = |name: &str| {
        find(&context.locked_packages("pylock.toml"), name).unwrap()["version"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(
        (version("dep"), version("other")),
        ("1.0".into(), "1.0".into())
    );
    // --check shows what an upgrade would change, as data.
    let run = context.pyship(&["lock", "--check", "--upgrade"]).code(1);
    assert_eq!(
        run.stdout, "~ dep 1.0 -> 2.0\n~ other 1.0 -> 2.0\n",
        "{run}"
    );
    context
        .pyship(&["lock", "--upgrade-package", "dep"])
        .success();
    assert_eq!(
        (version("dep"), version("other")),
        ("2.0".into(), "1.0".into())
    );
    context.pyship(&["lock", "--upgrade"]).success();
    assert_eq!(version("other"), "2.0");
}

/// pip-compile style: requirements.in with includes, constraints and find-links, written as
/// requirements.txt that pip installs with `--require-hashes`.
#[test]
fn requirements_in_locks_to_a_requirements_txt_pip_installs_with_hashes() {
    let context = TestContext::new();
    let wheels = context.root.join("wheels");
    WheelSpec::new("dep", "1.0")
        .requires(&["base"])
        .write(&wheels);
    WheelSpec::new("dep", "2.0")
        .requires(&["base"])
        .write(&wheels);
    WheelSpec::new("base", "1.0").write(&wheels);
    WheelSpec::new("base", "1.5").write(&wheels);
    context.file(
        "requirements.in",
        "# what we run\n-r more.in\n--find-links wheels\n--no-index\ndep\n",
    );
    context.file("more.in", "base\n");
    context.file("constraints.txt", "base<1.5\n");
    let lock_args = [
        "lock",
        "-r",
        "requirements.in",
        "-c",
        "constraints.txt",
        "-o",
        "requirements.txt",
    ];
    let run = context.pyship(&lock_args).success();
    let text = context.read("requirements.txt");
    assert!(
        text.contains("base==1.0 \\\n    --hash=sha256:"),
        "{run}\n{text}"
    );
    assert!(text.contains("dep==2.0 \\\n    --hash=sha256:"), "{text}");
    assert!(!context.root.join("pylock.toml").exists());
    // Locking again changes nothing.
    let run = context.pyship(&lock_args).success();
    assert!(run.stderr.contains("Fresh requirements.txt"), "{run}");
    // As pip-compile writes it: the command that regenerates it, and what pulled in each pin.
    assert!(
        text.starts_with(
            "# This file is generated by pyship; to update it, edit the inputs and run:\n#    pyship lock -r requirements.in -c constraints.txt -o requirements.txt\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("    # via\n    #   -r more.in\n    #   dep\n"),
        "{text}"
    );
    assert!(text.contains("    # via -r requirements.in\n"), "{text}");

    // A pin edited by hand is kept on the next lock while it still fits (pip-compile's rule).
    context.file(
        "requirements.txt",
        &text.replace("dep==2.0 \\", "dep==1.0 \\"),
    );
    context.pyship(&lock_args).success();
    let edited = context.read("requirements.txt");
    assert!(edited.contains("dep==1.0 \\\n"), "{edited}");
    let mut upgrade = lock_args.to_vec();
    upgrade.extend(["--upgrade-package", "dep"]);
    context.pyship(&upgrade).success();
    assert_eq!(context.read("requirements.txt"), text);

    // `-o -`: the same text on stdout, no file written or read.
    let run = context
        .pyship(&[
            "lock",
            "-q",
            "-r",
            "requirements.in",
            "-c",
            "constraints.txt",
            "-o",
            "-",
        ])
        .success();
    assert!(run.stdout.contains("dep==2.0 \\\n"), "{run}");
    assert!(
        run.stdout
            .contains("#    pyship lock -r requirements.in -c constraints.txt -o -\n"),
        "{run}"
    );
    assert!(!context.root.join("-").exists());
    // A `--find-links` given on the command line shows as given, not as an absolute path.
    let run = context
        .pyship(&[
            "lock",
            "-q",
            "-r",
            "requirements.in",
            "-o",
            "-",
            "-f",
            "wheels",
        ])
        .success();
    assert!(
        run.stdout
            .contains("#    pyship lock -r requirements.in -o - --find-links wheels\n"),
        "{run}"
    );

    if !requires_tool("/usr/bin/python3.11") {
        return;
    }
    let venv = context.temp.path().join("venv");
    assert!(
        Command::new("/usr/bin/python3.11")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .unwrap()
            .success()
    );
    output_ok(
        Command::new(venv.join("bin/pip"))
            .args([
                "install",
                "--quiet",
                "--no-index",
                "--require-hashes",
                "-r",
                "requirements.txt",
            ])
            .current_dir(&context.root)
            .env_remove("PIP_FIND_LINKS"),
    );
    let freeze = Command::new(venv.join("bin/pip"))
        .arg("freeze")
        .output()
        .unwrap();
    let freeze = String::from_utf8_lossy(&freeze.stdout);
    assert!(
        freeze.contains("base==1.0") && freeze.contains("dep==2.0"),
        "{freeze}"
    );
}

#[test]
fn requirements_in_errors_name_the_file_and_line() {
    let context = TestContext::new();
    context.file("requirements.in", "flask\n\nflask >= = 3\n");
    let run = context.pyship(&["lock", "-r", "requirements.in"]).code(1);
    assert!(run.stderr.contains("requirements.in:3`"), "{run}");
}

#[test]
fn no_binary_locks_the_sdist_even_where_a_wheel_fits() {
    let context = TestContext::new();
    let wheels = context.root.join("wheels");
    copy_flit(&context);
    WheelSpec::new("core", "1.0").write(&wheels);
    SdistSpec::new("core", "1.0").write(&wheels);
    project(&context, "\"core\"", "");
    context.pyship(&["lock"]).success();
    let core = find(&context.locked_packages("pylock.toml"), "core")
        .unwrap()
        .clone();
    assert!(
        core.get("wheels").is_some() && core.get("sdist").is_some(),
        "{core:?}"
    );
    context.pyship(&["lock", "--no-binary", "core"]).success();
    let core = find(&context.locked_packages("pylock.toml"), "core")
        .unwrap()
        .clone();
    assert!(core.get("wheels").is_none(), "{core:?}");
    assert_eq!(core["sdist"]["name"].as_str(), Some("core-1.0.tar.gz"));
}

#[test]
fn export_writes_what_pip_needs_and_tree_shows_the_graph() {
    let context = TestContext::hello();
    context.pyship(&["lock", "--offline"]).success();
    let run = context.pyship(&["export"]).success();
    assert!(
        run.stdout.starts_with("# This file is generated by pyship"),
        "{run}"
    );
    assert!(run.stdout.contains("--find-links wheelhouse\n"), "{run}");
    assert!(
        run.stdout
            .contains("flask==3.0.3 \\\n    --hash=sha256:34e815df"),
        "{run}"
    );
    let run = context.pyship(&["tree"]).success();
    assert!(
        run.stdout
            .contains("flask v3.0.3\n├── blinker v1.9.0\n├── click v8.5.1\n"),
        "{run}"
    );
    assert!(run.stdout.contains("│   └── markupsafe v3.0.4\n"), "{run}");
}

#[test]
fn a_pylock_written_by_uv_is_read() {
    let context = TestContext::new();
    let uv_lock = repo_root().join("testdata/pylock/uv-flask-redis.toml");
    let run = context
        .pyship(&["export", "--lockfile", uv_lock.to_str().unwrap()])
        .success();
    assert!(
        run.stdout.contains(
            "async-timeout==5.0.1 ; python_full_version < '3.11.3' \\\n    --hash=sha256:"
        ),
        "{run}"
    );
    let run = context
        .pyship(&["tree", "--lockfile", uv_lock.to_str().unwrap()])
        .success();
    assert!(run.stdout.contains("redis v8.1.0"), "{run}");
}

#[test]
fn dependency_groups_are_locked_but_not_shipped_and_extras_are() {
    let context = TestContext::new();
    let wheels = context.root.join("wheels");
    WheelSpec::new("core", "1.0").write(&wheels);
    WheelSpec::new("checker", "1.0")
        .requires(&["core"])
        .write(&wheels);
    WheelSpec::new("speedups", "1.0").write(&wheels);
    copy_flit(&context);
    context.file("app/__init__.py", "\"\"\"The app.\"\"\"\n");
    context.file(
        "pyproject.toml",
        "[project]\nname = \"app\"\nversion = \"1.0\"\ndescription = \"x\"\ndependencies = [\"core\"]\n\
         [project.optional-dependencies]\nfast = [\"speedups\"]\n\
         [dependency-groups]\ntest = [\"checker\"]\nall = [{include-group = \"test\"}]\n\
         [build-system]\nrequires = [\"flit_core>=3.4\"]\nbuild-backend = \"flit_core.buildapi\"\n\
         [tool.pyship]\nfind-links = [\"wheels\"]\nno-index = true\nextras = [\"fast\"]\n",
    );
    context.pyship(&["lock", "--group", "all"]).success();
    let packages = context.locked_packages("pylock.toml");
    assert_eq!(
        find(&packages, "checker").unwrap()["marker"].as_str(),
        Some("'all' in dependency_groups")
    );
    assert!(find(&packages, "core").unwrap().get("marker").is_none());
    assert!(
        find(&packages, "speedups").is_some(),
        "the configured extra is locked"
    );
    let run = context.pyship(&["lock", "--group", "nope"]).code(1);
    assert!(run.stderr.contains("no dependency group `nope`"), "{run}");

    // Exported for pip: without the group its package stays out; with it, it is there
    // without the marker pip would not understand.
    context.pyship(&["lock", "--group", "all"]).success();
    let plain = context.pyship(&["export"]).success();
    assert!(!plain.stdout.contains("checker=="), "{plain}");
    let with_group = context.pyship(&["export", "--group", "all"]).success();
    assert!(
        with_group.stdout.contains("checker==1.0 \\\n"),
        "{with_group}"
    );
    assert!(
        !with_group.stdout.contains("dependency_groups"),
        "{with_group}"
    );
    let run = context.pyship(&["export", "--group", "docs"]).code(1);
    assert!(
        run.stderr
            .contains("the lock has no dependency group `docs` (it has all): lock it with `pyship lock --group docs`"),
        "{run}"
    );

    // Build with the lock as it is: the group's packages stay out of the tree.
    context.pyship(&["lock", "--group", "all"]).success();
    let site = |name: &str| {
        context
            .root
            .join("target/pyship/stage/opt/venvs/app/lib/python3.11/site-packages")
            .join(name)
    };
    let run = context.pyship(&["build"]).success();
    assert!(Path::new(run.stdout.trim()).is_dir(), "{run}");
    // The build used the lock as it was, group included.
    assert!(
        context
            .read("pylock.toml")
            .contains("'all' in dependency_groups")
    );
    assert!(site("core").is_dir());
    assert!(site("speedups").is_dir());
    assert!(!site("checker").exists());
}

/// A release whose metadata does not parse is skipped, not the end of the lock (pip and uv
/// agree); a broken line of an extra nobody asks for is ignored.
#[test]
fn a_release_with_broken_metadata_is_skipped() {
    let context = TestContext::new();
    let wheels = context.root.join("wheels");
    WheelSpec::new("a", "1.0").write(&wheels);
    WheelSpec::new("a", "2.0")
        .requires(&["b (>=1.0.*)"])
        .write(&wheels);
    WheelSpec::new("a", "3.0")
        .requires(&["b (>=1.0.*) ; extra == 'docs'"])
        .write(&wheels);
    let locked = |requirement: &str| {
        project(&context, &format!("\"{requirement}\""), "");
        let run = context.pyship(&["lock"]);
        assert_eq!(run.code, Some(0), "{requirement}: {run}");
        context.locked_version("a")
    };
    assert_eq!(
        locked("a"),
        "3.0",
        "the broken line is in an extra nobody asked for"
    );
    assert_eq!(
        locked("a<3"),
        "1.0",
        "2.0's metadata cannot be read: skipped"
    );
    assert_eq!(
        locked("a[docs]"),
        "1.0",
        "3.0 with its docs extra cannot be read"
    );
    // `-v` says what was passed over and why.
    let run = context.pyship(&["-v", "lock", "--upgrade"]).success();
    assert!(
        run.stderr.contains(
            "skipped a[docs] 3.0: its metadata has the unreadable `Requires-Dist: b (>=1.0.*)"
        ),
        "{run}"
    );
    let run = context.pyship(&["lock", "--upgrade"]).success();
    assert!(!run.stderr.contains("skipped"), "{run}");
}

/// An extra that only a dependency group asks for (`test = ["core[t]"]`) does not bring its
/// packages into the shipped tree, though `core` itself ships.
#[test]
fn extras_asked_for_by_a_group_stay_out_of_the_shipped_tree() {
    let context = TestContext::new();
    let wheels = context.root.join("wheels");
    copy_flit(&context);
    WheelSpec::new("core", "1.0")
        .requires(&["tdep ; extra == 't'"])
        .write(&wheels);
    WheelSpec::new("tdep", "1.0").write(&wheels);
    context.file("app/__init__.py", "\"\"\"The app.\"\"\"\n");
    context.file(
        "pyproject.toml",
        "[project]\nname = \"app\"\nversion = \"1.0\"\ndescription = \"x\"\ndependencies = [\"core\"]\n\
         [dependency-groups]\ntest = [\"core[t]\"]\n\
         [build-system]\nrequires = [\"flit_core>=3.4\"]\nbuild-backend = \"flit_core.buildapi\"\n\
         [tool.pyship]\nfind-links = [\"wheels\"]\nno-index = true\n",
    );
    context.pyship(&["lock", "--group", "test"]).success();
    let packages = context.locked_packages("pylock.toml");
    assert!(find(&packages, "core").unwrap().get("marker").is_none());
    assert_eq!(
        find(&packages, "tdep").unwrap()["marker"].as_str(),
        Some("'test' in dependency_groups"),
        "{packages:?}"
    );
    let run = context.pyship(&["build"]).success();
    let site = Path::new(run.stdout.trim()).join("lib/python3.11/site-packages");
    assert!(site.join("core").is_dir());
    assert!(
        !site.join("tdep").exists(),
        "a group's extra leaked into the tree"
    );
}

#[test]
fn direct_references_to_wheels_are_locked_from_where_they_point() {
    let context = TestContext::new();
    let elsewhere = context.temp.path().join("elsewhere");
    let wheel = WheelSpec::new("dep", "3.0")
        .requires(&["base"])
        .write(&elsewhere);
    WheelSpec::new("base", "1.0").write(&context.root.join("wheels"));
    let url = format!("file://{}", wheel.display());
    project(&context, &format!("\"dep @ {url}\""), "");
    context.pyship(&["lock"]).success();
    let packages = context.locked_packages("pylock.toml");
    let dep = find(&packages, "dep").unwrap();
    assert_eq!(dep["version"].as_str(), Some("3.0"));
    let wheels = dep["wheels"].as_array().unwrap();
    assert_eq!(wheels[0]["path"].as_str(), Some(wheel.to_str().unwrap()));
    assert!(find(&packages, "base").is_some());

    // An sdist works the same way; a VCS URL is not supported yet.
    let sdist = SdistSpec::new("dep", "4.0")
        .requires(&["base"])
        .write(&elsewhere);
    project(
        &context,
        &format!("\"dep @ file://{}\"", sdist.display()),
        "",
    );
    copy_flit(&context);
    context.pyship(&["lock"]).success();
    let locked = context.locked_packages("pylock.toml");
    let dep = find(&locked, "dep").unwrap();
    assert_eq!(dep["version"].as_str(), Some("4.0"));
    assert_eq!(dep["sdist"]["path"].as_str(), Some(sdist.to_str().unwrap()));

    project(&context, "\"dep @ git+https://example.com/dep.git\"", "");
    let run = context.pyship(&["lock"]).code(1);
    assert!(
        run.stderr.contains("VCS URLs are not supported yet"),
        "{run}"
    );
}

/// `slow` has only an sdist: its static PKG-INFO (core metadata 2.2) gives its dependencies,
/// the lock records the sdist, and the build builds it with its backend, once.
#[test]
fn sdist_only_packages_are_locked_from_pkg_info_and_built_when_staging() {
    let context = TestContext::new();
    let wheels = context.root.join("wheels");
    copy_flit(&context);
    WheelSpec::new("core", "1.0").write(&wheels);
    SdistSpec::new("slow", "1.0")
        .requires(&["core"])
        .write(&wheels);
    context.file("app/__init__.py", "\"\"\"The app.\"\"\"\n");
    context.file(
        "pyproject.toml",
        "[project]\nname = \"app\"\nversion = \"1.0\"\ndescription = \"x\"\ndependencies = [\"slow\"]\n\
         [build-system]\nrequires = [\"flit_core>=3.4\"]\nbuild-backend = \"flit_core.buildapi\"\n\
         [tool.pyship]\nfind-links = [\"wheels\"]\nno-index = true\n",
    );
    context.pyship(&["lock"]).success();
    let packages = context.locked_packages("pylock.toml");
    let slow = find(&packages, "slow").unwrap();
    assert_eq!(
        slow["sdist"]["name"].as_str(),
        Some("slow-1.0.tar.gz"),
        "{slow:?}"
    );
    assert!(slow.get("wheels").is_none(), "{slow:?}");
    assert!(
        find(&packages, "core").is_some(),
        "PKG-INFO's Requires-Dist was read"
    );

    let run = context.pyship(&["build"]).success();
    assert!(
        run.stderr.contains("Building slow 1.0 from its sdist"),
        "{run}"
    );
    let site = context
        .root
        .join("target/pyship/stage/opt/venvs/app/lib/python3.11/site-packages");
    assert!(site.join("slow/__init__.py").is_file(), "{run}");
    assert!(site.join("slow-1.0.dist-info/RECORD").is_file());
    // The built wheel is cached by the sdist's hash: a second build reuses it.
    let built = std::fs::read_dir(context.cache.join("built-v1"))
        .unwrap()
        .count();
    assert_eq!(built, 1);

    let run = context.pyship(&["lock", "--only-binary", ":all:"]).code(3);
    assert!(
        run.stderr.contains("`slow` has 1 files, but none installs"),
        "{run}"
    );
}

/// Below core metadata 2.2, PKG-INFO's dependencies are not trusted: the backend's
/// `prepare_metadata_for_build_wheel` hook tells them.
#[test]
fn dynamic_sdist_metadata_is_built_through_the_backend() {
    let context = TestContext::new();
    let wheels = context.root.join("wheels");
    copy_flit(&context);
    WheelSpec::new("core", "1.0").write(&wheels);
    SdistSpec::new("legacy", "2.0")
        .requires(&["core"])
        .metadata_version("2.1")
        .write(&wheels);
    project(&context, "\"legacy\"", "");
    context.pyship(&["lock"]).success();
    let packages = context.locked_packages("pylock.toml");
    assert!(find(&packages, "legacy").is_some());
    assert!(
        find(&packages, "core").is_some(),
        "the built metadata's Requires-Dist was read"
    );
    assert_eq!(
        find(&packages, "legacy").unwrap()["dependencies"][0]["name"].as_str(),
        Some("core")
    );
}

/// A lock for a release whose Python is not on this machine (Debian 11's 3.9) stages a
/// virtualenv for that release: its interpreter, its site-packages, its wheels; the bytecode
/// is left to the server. (This used to be refused: "the lock does not cover this
/// interpreter".)
#[test]
fn a_target_whose_python_is_not_here_is_staged_for_its_own_interpreter() {
    let context = TestContext::new();
    let wheels = context.root.join("wheels");
    copy_flit(&context);
    WheelSpec::new("core", "1.0").write(&wheels);
    SdistSpec::new("slow", "1.0").write(&wheels);
    context.file("app/__init__.py", "\"\"\"The app.\"\"\"\n");
    let pyproject = |dependencies: &str| {
        format!(
            "[project]\nname = \"app\"\nversion = \"1.0\"\ndescription = \"x\"\ndependencies = [{dependencies}]\n\
             [build-system]\nrequires = [\"flit_core>=3.4\"]\nbuild-backend = \"flit_core.buildapi\"\n\
             [tool.pyship]\nfind-links = [\"wheels\"]\nno-index = true\ntargets = [\"debian-11\"]\n"
        )
    };
    context.file("pyproject.toml", &pyproject("\"core\""));
    context.pyship(&["lock"]).success();
    let run = context.pyship(&["build"]).success();
    let prefix = context.root.join("target/pyship/stage/opt/venvs/app");
    assert_eq!(run.stdout.trim(), prefix.display().to_string(), "{run}");
    assert_eq!(
        std::fs::read_link(prefix.join("bin/python")).unwrap(),
        Path::new("/usr/bin/python3.9")
    );
    assert!(prefix.join("lib/python3.9/site-packages/core").is_dir());
    assert!(prefix.join("lib/python3.9/site-packages/app").is_dir());
    let cfg = std::fs::read_to_string(prefix.join("pyvenv.cfg")).unwrap();
    assert!(cfg.contains("version = 3.9.2\n"), "{cfg}");
    assert!(
        run.stderr.contains("left to the server at install time"),
        "{run}"
    );
    assert!(
        !prefix
            .join("lib/python3.9/site-packages/app/__pycache__")
            .exists(),
        "no pyc for another Python's magic number"
    );

    // A target the lock lacks: the error names the fix.
    let run = context.pyship(&["build", "--target", "debian-13"]).code(1);
    assert!(
        run.stderr.contains(
            "the lock has no target `debian-13` (it has debian-11); add `\"debian-13\"` to `[tool.pyship] targets` and run `pyship lock`"
        ),
        "{run}"
    );
    // A misspelt target is named with the one meant.
    let run = context.pyship(&["build", "--target", "debain-11"]).code(1);
    assert!(run.stderr.contains("did you mean `debian-11`?"), "{run}");
    let run = context.pyship(&["build", "--target", "debain-12"]).code(1);
    assert!(
        run.stderr.contains("did you mean the preset `debian-12`?"),
        "{run}"
    );

    // An sdist cannot be built for Python 3.9 here: the error names the package and the ways
    // out.
    context.file("pyproject.toml", &pyproject("\"core\", \"slow\""));
    context.pyship(&["lock"]).success();
    let run = context.pyship(&["build"]).code(1);
    assert!(
        run.stderr.contains(
            "`slow 1.0` has no wheel for the target `debian-11`, and building one needs Python 3.9 on this machine"
        ) && run.stderr.contains("--only-binary slow"),
        "{run}"
    );
}

/// A custom target names its interpreter on the server; without one, the error says what to
/// add.
#[test]
fn a_custom_target_is_staged_for_the_interpreter_it_names() {
    let context = TestContext::new();
    let wheels = context.root.join("wheels");
    copy_flit(&context);
    WheelSpec::new("core", "1.0").write(&wheels);
    context.file("app/__init__.py", "\"\"\"The app.\"\"\"\n");
    let pyproject = |target: &str| {
        format!(
            "[project]\nname = \"app\"\nversion = \"1.0\"\ndescription = \"x\"\ndependencies = [\"core\"]\n\
             [build-system]\nrequires = [\"flit_core>=3.4\"]\nbuild-backend = \"flit_core.buildapi\"\n\
             [tool.pyship]\nfind-links = [\"wheels\"]\nno-index = true\ntargets = [{target}]\n"
        )
    };
    context.file(
        "pyproject.toml",
        &pyproject(
            "{ python = \"3.12.4\", platform = \"x86_64-manylinux_2_28\", interpreter = \"/opt/python/bin/python3.12\" }",
        ),
    );
    let run = context.pyship(&["build", "--offline"]).success();
    let prefix = std::path::PathBuf::from(run.stdout.trim());
    assert_eq!(
        std::fs::read_link(prefix.join("bin/python")).unwrap(),
        Path::new("/opt/python/bin/python3.12")
    );
    assert!(prefix.join("lib/python3.12/site-packages/core").is_dir());

    context.file(
        "pyproject.toml",
        &pyproject("{ python = \"3.12.4\", platform = \"x86_64-manylinux_2_28\" }"),
    );
    let run = context.pyship(&["build", "--offline"]).code(1);
    assert!(
        run.stderr
            .contains("names no interpreter: add `interpreter = \"/usr/bin/python3.12\"`"),
        "{run}"
    );
}

/// `mylib @ file:///…/mylib` names a source tree: built to learn its version and
/// dependencies, locked as a PEP 751 `directory`, built again when staging.
#[test]
fn local_source_trees_are_locked_as_directories_and_built() {
    let context = TestContext::new();
    let wheels = context.root.join("wheels");
    copy_flit(&context);
    WheelSpec::new("core", "1.0").write(&wheels);
    let tree = context.root.join("libs/mylib");
    std::fs::create_dir_all(tree.join("mylib")).unwrap();
    std::fs::write(tree.join("mylib/__init__.py"), "\"\"\"My lib.\"\"\"\n").unwrap();
    std::fs::write(
        tree.join("pyproject.toml"),
        "[build-system]\nrequires = [\"flit_core>=3.4\"]\nbuild-backend = \"flit_core.buildapi\"\n\
         [project]\nname = \"mylib\"\nversion = \"2.5\"\ndescription = \"x\"\ndependencies = [\"core\"]\n",
    )
    .unwrap();
    copy_flit(&context);
    context.file("app/__init__.py", "\"\"\"The app.\"\"\"\n");
    context.file(
        "pyproject.toml",
        &format!(
            "[project]\nname = \"app\"\nversion = \"1.0\"\ndescription = \"x\"\ndependencies = [\"mylib @ file://{}\"]\n\
             [build-system]\nrequires = [\"flit_core>=3.4\"]\nbuild-backend = \"flit_core.buildapi\"\n\
             [tool.pyship]\nfind-links = [\"wheels\"]\nno-index = true\n",
            tree.display()
        ),
    );
    context.pyship(&["lock"]).success();
    let locked = context.locked_packages("pylock.toml");
    let mylib = find(&locked, "mylib").unwrap();
    assert_eq!(mylib["version"].as_str(), Some("2.5"));
    assert_eq!(mylib["directory"]["path"].as_str(), Some("libs/mylib"));
    assert!(
        find(&locked, "core").is_some(),
        "the tree's dependencies are locked"
    );

    let run = context.pyship(&["build"]).success();
    assert!(run.stderr.contains("Building mylib from"), "{run}");
    let site = context
        .root
        .join("target/pyship/stage/opt/venvs/app/lib/python3.11/site-packages");
    assert!(site.join("mylib/__init__.py").is_file(), "{run}");
    let run = context.pyship(&["export"]).success();
    assert!(
        run.stdout
            .contains("# mylib==2.5 is the local source tree `libs/mylib`"),
        "{run}"
    );
}

/// A requirements file's conflict names "your requirements", not a made-up project.
#[test]
fn conflicts_in_requirements_files_name_your_requirements() {
    let context = TestContext::new();
    let wheels = context.root.join("wheels");
    WheelSpec::new("a", "1.0")
        .requires(&["b>=2"])
        .write(&wheels);
    WheelSpec::new("b", "1.0").write(&wheels);
    context.file("requirements.in", "--find-links wheels\n--no-index\na\n");
    let run = context
        .pyship(&[
            "lock",
            "-r",
            "requirements.in",
            "--python",
            "3.11",
            "--platform",
            "x86_64-manylinux_2_36",
        ])
        .code(3);
    assert!(run.stderr.contains("your requirements"), "{run}");
    assert!(!run.stderr.contains("requirements 0"), "{run}");
}

/// PEP 440 local versions: `==1.2.3` and `<=1.2.3` match `1.2.3+foo`, `!=1.2.3` refuses it.
#[test]
fn local_versions_match_as_pep_440_says() {
    let context = TestContext::new();
    WheelSpec::new("a", "1.2.3+foo").write(&context.root.join("wheels"));
    for requirement in ["a==1.2.3", "a<=1.2.3", "a==1.2.3+foo", "a>=1.2"] {
        project(&context, &format!("\"{requirement}\""), "");
        let run = context.pyship(&["lock"]);
        assert_eq!(run.code, Some(0), "{requirement}: {run}");
        assert_eq!(context.locked_version("a"), "1.2.3+foo", "{requirement}");
    }
    for requirement in ["a!=1.2.3", "a>1.2.3", "a==1.2.3+bar"] {
        project(&context, &format!("\"{requirement}\""), "");
        let run = context.pyship(&["lock"]).code(3);
        assert!(
            run.stderr.contains("cannot be satisfied"),
            "{requirement}: {run}"
        );
    }
}

/// `sphinx<7` with `docutils`, in either order, locks the newest sphinx below 7 and the
/// docutils it allows (what uv picks), not an old sphinx under the newest docutils.
#[test]
fn versions_do_not_depend_on_the_order_of_the_requirements() {
    let context = TestContext::new();
    let wheels = context.root.join("wheels");
    WheelSpec::new("sphinx", "3.5.3")
        .requires(&["docutils>=0.12"])
        .write(&wheels);
    WheelSpec::new("sphinx", "6.2.1")
        .requires(&["docutils>=0.18.1,<0.20"])
        .write(&wheels);
    WheelSpec::new("sphinx", "7.0.0")
        .requires(&["docutils>=0.18.1,<0.21"])
        .write(&wheels);
    for version in ["0.18.1", "0.19", "0.20", "0.23"] {
        WheelSpec::new("docutils", version).write(&wheels);
    }
    for dependencies in ["\"sphinx<7\", \"docutils\"", "\"docutils\", \"sphinx<7\""] {
        project(&context, dependencies, "");
        context.pyship(&["lock", "--upgrade"]).success();
        assert_eq!(context.locked_version("sphinx"), "6.2.1", "{dependencies}");
        assert_eq!(context.locked_version("docutils"), "0.19", "{dependencies}");
    }
}

/// `--python PATH` locks for that interpreter, as probed (uv takes a path too).
#[test]
fn python_takes_an_interpreter_path() {
    let context = TestContext::new();
    WheelSpec::new("core", "1.0").write(&context.root.join("wheels"));
    project(&context, "\"core\"", "");
    context
        .pyship(&["lock", "--python", "/usr/bin/python3.11"])
        .success();
    let lock = context.read("pylock.toml");
    assert!(lock.contains("python_full_version == '3.11."), "{lock}");
    let run = context
        .pyship(&["lock", "--python", "/nonexistent/python3"])
        .code(1);
    assert!(run.stderr.contains("must be a Python interpreter"), "{run}");
}
