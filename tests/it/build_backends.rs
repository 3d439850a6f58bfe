//! The application built by each common PEP 517 backend, and a setup.py-only sdist, in
//! isolated environments locked from `testdata/build-backends` (real backend wheels); the
//! project's checkout is left as it was.

use std::path::{Path, PathBuf};

use crate::support::wheels::SdistSpec;
use crate::support::{TestContext, repo_root};

/// A project `app` (package `app/`) built by `backend`: `[build-system]` text, plus any
/// backend-specific tables. Returns the staged site-packages after `pyship build`.
fn build_app_with(context: &TestContext, build_system: &str, extra: &str) -> PathBuf {
    context.file("app/__init__.py", "\"\"\"The app.\"\"\"\nVALUE = 42\n");
    context.file("README.md", "The app.\n");
    context.file(
        "pyproject.toml",
        &format!(
            "[project]\nname = \"app\"\nversion = \"1.0\"\ndescription = \"x\"\nreadme = \"README.md\"\nrequires-python = \">=3.9\"\ndependencies = []\n\n\
             {build_system}\n{extra}\n\
             [tool.pyship]\ninterpreter = \"/usr/bin/python3.11\"\nfind-links = [{:?}]\nno-index = true\n",
            repo_root().join("testdata/build-backends").display().to_string()
        ),
    );
    let run = context.pyship(&["build", "--offline"]).success();
    let site = PathBuf::from(run.stdout.trim()).join("lib/python3.11/site-packages");
    assert_eq!(
        std::fs::read_to_string(site.join("app/__init__.py")).unwrap(),
        "\"\"\"The app.\"\"\"\nVALUE = 42\n"
    );
    assert!(site.join("app-1.0.dist-info/METADATA").is_file());
    assert_clean(&context.root);
    site
}

/// Nothing a build leaves behind (`build/`, `*.egg-info`) in the checkout.
fn assert_clean(root: &Path) {
    let leftovers: Vec<String> = std::fs::read_dir(root)
        .unwrap()
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name == "build" || name.ends_with(".egg-info"))
        .collect();
    assert!(leftovers.is_empty(), "left in the checkout: {leftovers:?}");
}

#[test]
fn setuptools_builds_the_app() {
    let context = TestContext::new();
    build_app_with(
        &context,
        "[build-system]\nrequires = [\"setuptools>=61\"]\nbuild-backend = \"setuptools.build_meta\"\n",
        "[tool.setuptools]\npackages = [\"app\"]\n",
    );
}

#[test]
fn hatchling_builds_the_app() {
    let context = TestContext::new();
    build_app_with(
        &context,
        "[build-system]\nrequires = [\"hatchling\"]\nbuild-backend = \"hatchling.build\"\n",
        "[tool.hatch.build.targets.wheel]\npackages = [\"app\"]\n",
    );
    // hatchling's own requirements came in through the locked environment.
    let lock = context.read("pylock.toml");
    for requirement in [
        "hatchling",
        "packaging",
        "pathspec",
        "pluggy",
        "tomlkit",
        "trove-classifiers",
    ] {
        assert!(
            lock.contains(&format!("name = \"{requirement}\"")),
            "{requirement}: {lock}"
        );
    }
}

#[test]
fn pdm_backend_builds_the_app() {
    let context = TestContext::new();
    build_app_with(
        &context,
        "[build-system]\nrequires = [\"pdm-backend\"]\nbuild-backend = \"pdm.backend\"\n",
        "",
    );
}

#[test]
fn poetry_core_builds_the_app() {
    let context = TestContext::new();
    build_app_with(
        &context,
        "[build-system]\nrequires = [\"poetry-core>=2\"]\nbuild-backend = \"poetry.core.masonry.api\"\n",
        "",
    );
}

/// An sdist with only a setup.py (no pyproject.toml) builds with PEP 517's legacy setuptools
/// backend, whose requirement is locked like any other.
#[test]
fn a_setup_py_only_sdist_builds_with_legacy_setuptools() {
    let context = TestContext::new();
    let sdists = context.root.join("sdists");
    SdistSpec::new("legacy", "1.0")
        .metadata_version("2.1")
        .setup_py_only()
        .write(&sdists);
    build_app_with(
        &context,
        "[build-system]\nrequires = [\"pdm-backend\"]\nbuild-backend = \"pdm.backend\"\n",
        "",
    );
    let pyproject = context
        .read("pyproject.toml")
        .replace("dependencies = []", "dependencies = [\"legacy\"]")
        .replace("find-links = [", "find-links = [\"sdists\", ");
    context.file("pyproject.toml", &pyproject);
    let run = context.pyship(&["build", "--offline", "-v"]).success();
    assert!(run.stderr.contains("legacy 1.0 from its sdist"), "{run}");
    let site = PathBuf::from(run.stdout.trim()).join("lib/python3.11/site-packages");
    assert_eq!(
        std::fs::read_to_string(site.join("legacy/__init__.py")).unwrap(),
        "\"\"\"The legacy package.\"\"\"\n"
    );
    let table: toml::Table = toml::from_str(&context.read("pylock.toml")).unwrap();
    let environments = table["tool"]["pyship"]["build-environments"]
        .as_array()
        .unwrap();
    let legacy = environments
        .iter()
        .find(|environment| environment["used-by"][0].as_str() == Some("legacy"))
        .expect("an environment for legacy");
    assert_eq!(legacy["requires"][0].as_str(), Some("setuptools>=40.8.0"));
    assert_eq!(legacy["packages"][0]["name"].as_str(), Some("setuptools"));
}

/// setuptools' automatic discovery in a flat layout, built twice: the second time `target/`
/// exists, and the backend must not see it ("Multiple top-level packages discovered").
#[test]
fn a_flat_layout_setuptools_project_builds_with_target_present() {
    let context = TestContext::new();
    context.file("mysite/__init__.py", "VALUE = 1\n");
    context.file(
        "pyproject.toml",
        &format!(
            "[project]\nname = \"mysite\"\nversion = \"1.0\"\n\n\
             [build-system]\nrequires = [\"setuptools>=61\"]\nbuild-backend = \"setuptools.build_meta\"\n\n\
             [tool.pyship]\ninterpreter = \"/usr/bin/python3.11\"\nfind-links = [{:?}]\nno-index = true\n",
            repo_root().join("testdata/build-backends").display().to_string()
        ),
    );
    context.pyship(&["build", "--offline"]).success();
    // A source change, so the second build really builds, with `target/` full.
    context.file("mysite/__init__.py", "VALUE = 2\n");
    let run = context.pyship(&["build", "--offline"]).success();
    let site = PathBuf::from(run.stdout.trim()).join("lib/python3.11/site-packages");
    assert_eq!(
        std::fs::read_to_string(site.join("mysite/__init__.py")).unwrap(),
        "VALUE = 2\n"
    );
    let top_level = std::fs::read_to_string(site.join("mysite-1.0.dist-info/top_level.txt"))
        .unwrap_or_default();
    assert!(!top_level.contains("target"), "{top_level}");
    assert!(!site.join("target").exists());
    assert_clean(&context.root);
}

/// A uv-style project: one module, no `[build-system]` (PEP 517's legacy setuptools). Where
/// only one top-level name remains, setuptools once took `target/` for the app silently.
#[test]
fn a_single_module_project_without_build_system_ships_its_module() {
    let context = TestContext::new();
    context.file("main.py", "def main():\n    print('hi')\n");
    context.file(
        "pyproject.toml",
        &format!(
            "[project]\nname = \"solo\"\nversion = \"1.0\"\n\n[project.scripts]\nsolo = \"main:main\"\n\n\
             [tool.pyship]\ninterpreter = \"/usr/bin/python3.11\"\nfind-links = [{:?}]\nno-index = true\n",
            repo_root().join("testdata/build-backends").display().to_string()
        ),
    );
    context.pyship(&["build", "--offline"]).success();
    context.file("main.py", "def main():\n    print('hello')\n");
    let run = context.pyship(&["build", "--offline"]).success();
    let prefix = PathBuf::from(run.stdout.trim());
    let site = prefix.join("lib/python3.11/site-packages");
    assert_eq!(
        std::fs::read_to_string(site.join("main.py")).unwrap(),
        "def main():\n    print('hello')\n"
    );
    assert!(!site.join("target").exists());
    assert!(prefix.join("bin/solo").is_file());
}

/// `[project]` settings for a project built offline from the build backends and the hello
/// app's wheels.
fn offline_settings() -> String {
    format!(
        "[tool.pyship]\ninterpreter = \"/usr/bin/python3.11\"\nfind-links = [{:?}, {:?}]\nno-index = true\n",
        repo_root()
            .join("testdata/build-backends")
            .display()
            .to_string(),
        repo_root()
            .join("testdata/apps/hello/wheelhouse")
            .display()
            .to_string()
    )
}

/// PEP 621's `dynamic`: the version and the dependencies come from setuptools' own settings.
#[test]
fn dynamic_version_and_dependencies_come_from_the_backend() {
    let context = TestContext::new();
    context.file("app/__init__.py", "__version__ = \"1.2.3\"\n");
    context.file("requirements.in", "click>=8\n");
    context.file(
        "pyproject.toml",
        &format!(
            "[project]\nname = \"app\"\ndynamic = [\"version\", \"dependencies\"]\n\n\
             [build-system]\nrequires = [\"setuptools>=61\"]\nbuild-backend = \"setuptools.build_meta\"\n\n\
             [tool.setuptools]\npackages = [\"app\"]\n\n\
             [tool.setuptools.dynamic]\nversion = {{ attr = \"app.__version__\" }}\ndependencies = {{ file = [\"requirements.in\"] }}\n\n{}",
            offline_settings()
        ),
    );
    let run = context.pyship(&["lock", "--offline"]).success();
    assert!(
        run.stderr
            .contains("its backend provides version, dependencies"),
        "{run}"
    );
    assert!(run.stderr.contains("Resolved 1 packages"), "{run}");
    assert_eq!(context.locked_version("click"), "8.5.1");
    let run = context.pyship(&["build", "--offline"]).success();
    // Asked once: the second command finds it remembered.
    assert!(!run.stderr.contains("its backend provides"), "{run}");
    let site = PathBuf::from(run.stdout.trim()).join("lib/python3.11/site-packages");
    assert!(site.join("app-1.2.3.dist-info/METADATA").is_file());
    assert_clean(&context.root);
}

/// A setup.py project with no `[project]` at all: everything from setup.py.
#[test]
fn a_setup_py_project_ships_with_its_install_requires() {
    let context = TestContext::new();
    context.file("legacy/__init__.py", "");
    context.file(
        "setup.py",
        "from setuptools import setup\nsetup(name='legacy', version='2.0', install_requires=['click'], packages=['legacy'])\n",
    );
    context.file("pyproject.toml", &offline_settings());
    let run = context.pyship(&["lock", "--offline"]).success();
    assert!(run.stderr.contains("Resolved 1 packages"), "{run}");
    let run = context.pyship(&["build", "--offline"]).success();
    let prefix = PathBuf::from(run.stdout.trim());
    // The name came from setup.py too: the default prefix is named after it.
    assert!(prefix.ends_with("opt/venvs/legacy"), "{}", prefix.display());
    assert!(
        prefix
            .join("lib/python3.11/site-packages/legacy-2.0.dist-info")
            .is_dir()
    );
}

/// `pyship init` names a setup.py project as setup.py (or setup.cfg) does, not after its
/// directory.
#[test]
fn init_names_a_setup_py_project_as_it_names_itself() {
    let context = TestContext::new();
    context.file("legacy/__init__.py", "");
    context.file(
        "setup.py",
        "from setuptools import setup\nsetup(\n    name = \"legacy-app\",\n    version='2.0',\n    packages=['legacy'],\n)\n",
    );
    context.pyship(&["init"]).success();
    let written = context.read("pyproject.toml");
    assert!(
        written.contains("install-prefix = \"/opt/venvs/legacy-app\""),
        "{written}"
    );
    assert!(
        !written.contains("[project]"),
        "setup.py keeps its metadata: {written}"
    );

    let context = TestContext::new();
    context.file("legacy/__init__.py", "");
    context.file("setup.py", "from setuptools import setup\nsetup()\n");
    context.file("setup.cfg", "[metadata]\nname = from-cfg\nversion = 1.0\n");
    context.pyship(&["init"]).success();
    assert!(
        context
            .read("pyproject.toml")
            .contains("/opt/venvs/from-cfg")
    );
}

/// A version from git tags (setuptools_scm), read from the checkout's history although the
/// build runs on a copy of its files.
#[test]
fn a_version_from_git_tags_is_the_checkouts() {
    let context = TestContext::new();
    context.file("app/__init__.py", "");
    context.file(
        "pyproject.toml",
        &format!(
            "[project]\nname = \"app\"\ndynamic = [\"version\"]\n\n\
             [build-system]\nrequires = [\"setuptools>=64\", \"setuptools_scm>=8\"]\nbuild-backend = \"setuptools.build_meta\"\n\n\
             [tool.setuptools]\npackages = [\"app\"]\n\n[tool.setuptools_scm]\n\n{}",
            offline_settings()
        ),
    );
    let git = |args: &[&str]| {
        crate::support::output_ok(
            std::process::Command::new("git")
                .args(["-c", "user.name=t", "-c", "user.email=t@e", "-C"])
                .arg(&context.root)
                .args(args),
        )
    };
    git(&["init", "-q"]);
    git(&["add", "."]);
    git(&["commit", "-qm", "first"]);
    git(&["tag", "v1.4.0"]);
    let index_before = std::fs::read(context.root.join(".git/index")).unwrap();
    let run = context.pyship(&["build", "--offline"]).success();
    let site = PathBuf::from(run.stdout.trim()).join("lib/python3.11/site-packages");
    assert!(site.join("app-1.4.0.dist-info").is_dir(), "{run}");
    // The checkout's index is read, never rewritten.
    assert_eq!(
        std::fs::read(context.root.join(".git/index")).unwrap(),
        index_before
    );
}
