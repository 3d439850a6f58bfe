//! PEP 517 builds in isolated environments whose requirements come from the lock: the
//! application's own wheel and sdists' builds, reproducible and offline from a wheelhouse.

use std::path::PathBuf;

use crate::support::index_server::IndexServer;
use crate::support::wheels::SdistSpec;
use crate::support::{TestContext, repo_root};

const FLIT: &str = "flit_core-3.9.0-py3-none-any.whl";

/// An app built with flit_core that depends on `core`, which the index has only as an sdist
/// (built with flit_core too); pyproject.toml gets `tool` appended to `[tool.pyship]`.
fn app_on_an_sdist(context: &TestContext, tool: &str) {
    context.file("app/__init__.py", "\"\"\"The app.\"\"\"\n");
    context.file(
        "pyproject.toml",
        &format!(
            "[project]\nname = \"app\"\nversion = \"1.0\"\ndescription = \"x\"\ndependencies = [\"core\"]\n\n\
             [build-system]\nrequires = [\"flit_core>=3.4,<4\"]\nbuild-backend = \"flit_core.buildapi\"\n\n\
             [tool.pyship]\ninterpreter = \"/usr/bin/python3.11\"\n{tool}"
        ),
    );
}

/// The app alone (flit_core from `wheels/`), locked offline.
fn locked_app_without_dependencies() -> TestContext {
    let context = TestContext::new();
    crate::support::copy_flit(&context);
    app_on_an_sdist(&context, "find-links = [\"wheels\"]\nno-index = true\n");
    context.file(
        "pyproject.toml",
        &context
            .read("pyproject.toml")
            .replace("dependencies = [\"core\"]", "dependencies = []"),
    );
    context.pyship(&["lock", "--offline"]).success();
    context
}

fn build_environments(context: &TestContext) -> Vec<toml::Value> {
    let table: toml::Table = toml::from_str(&context.read("pylock.toml")).unwrap();
    table["tool"]["pyship"]
        .get("build-environments")
        .and_then(toml::Value::as_array)
        .cloned()
        .unwrap_or_default()
}

#[test]
fn build_requirements_are_locked_and_build_offline_from_a_wheelhouse() {
    let mut context = TestContext::new();
    let files = context.temp.path().join("index-files");
    SdistSpec::new("core", "1.0").write(&files);
    std::fs::copy(
        repo_root()
            .join("testdata/apps/hello/wheelhouse")
            .join(FLIT),
        files.join(FLIT),
    )
    .unwrap();
    let server = IndexServer::start(&files);
    context.env("PYSHIP_INDEX_URL", &server.url());
    app_on_an_sdist(&context, "");

    // The app and the sdist share one environment: same requirements, same Python.
    context.pyship(&["lock"]).success();
    let environments = build_environments(&context);
    assert_eq!(environments.len(), 1, "{environments:?}");
    let environment = &environments[0];
    let used_by: Vec<&str> = environment["used-by"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(toml::Value::as_str)
        .collect();
    assert_eq!(used_by, ["app", "core"]);
    let wheel = &environment["packages"][0]["wheels"][0];
    assert_eq!(wheel["name"].as_str(), Some(FLIT));
    assert!(
        wheel["url"]
            .as_str()
            .unwrap()
            .starts_with("http://127.0.0.1"),
        "{wheel:?}"
    );

    // fetch puts the build requirements into the wheelhouse and its index too.
    context.pyship(&["fetch", "--wheelhouse", "wh"]).success();
    let wheelhouse = context.root.join("wh");
    assert!(wheelhouse.join(FLIT).is_file());
    assert!(wheelhouse.join("core-1.0.tar.gz").is_file());
    let page = std::fs::read_to_string(wheelhouse.join("simple/flit-core/index.html")).unwrap();
    assert!(page.contains(FLIT), "{page}");

    // No index, no cache: locked from the wheelhouse, built offline from it.
    drop(server);
    std::fs::remove_dir_all(&context.cache).unwrap();
    context.env("PYSHIP_INDEX_URL", "http://127.0.0.1:9/simple");
    app_on_an_sdist(&context, "find-links = [\"wh\"]\nno-index = true\n");
    context.pyship(&["lock", "--offline"]).success();
    let environments = build_environments(&context);
    assert_eq!(
        environments[0]["packages"][0]["wheels"][0]["path"].as_str(),
        Some(format!("wh/{FLIT}").as_str())
    );
    let run = context
        .pyship(&["build", "--offline", "--locked", "-v"])
        .success();
    assert!(run.stderr.contains("core 1.0 from its sdist"), "{run}");
    assert!(!run.stderr.contains("not in the lock"), "{run}");
    let prefix = PathBuf::from(run.stdout.trim());
    let site = prefix.join("lib/python3.11/site-packages");
    assert!(site.join("core/__init__.py").is_file());
    assert!(site.join("app/__init__.py").is_file());
}

/// A build requirement whose file no longer matches the lock's hash stops the build: the
/// locked environment is what builds use, checked like every other locked file.
#[test]
fn a_build_requirement_that_does_not_match_the_lock_stops_the_build() {
    let context = locked_app_without_dependencies();
    assert_eq!(build_environments(&context).len(), 1);
    // Same name, other bytes: a wheel swapped in the find-links directory after locking.
    let wheel = context.root.join("wheels").join(FLIT);
    let mut bytes = std::fs::read(&wheel).unwrap();
    bytes.extend_from_slice(b"\0");
    std::fs::write(&wheel, bytes).unwrap();
    let run = context.pyship(&["build", "--offline", "--locked"]).code(1);
    assert!(
        run.stderr.contains("hash mismatch for `flit-core`"),
        "{run}"
    );
    assert!(run.stderr.contains("build requirements of `app`"), "{run}");
}

/// A lock without build environments (another tool's, or an older pyship's) still builds:
/// the requirements are resolved when the build runs, and `-v` says so.
#[test]
fn a_lock_without_build_environments_resolves_them_at_build_time() {
    let context = locked_app_without_dependencies();
    let lock = context.read("pylock.toml");
    let cut = lock.find("\n[[tool.pyship.build-environments]]").unwrap();
    context.file("pylock.toml", &lock[..cut + 1]);
    let run = context
        .pyship(&["build", "--offline", "--locked", "-v"])
        .success();
    assert!(
        run.stderr
            .contains("are not in the lock: resolving them now"),
        "{run}"
    );
}

/// The backend runs isolated, as pip's builds do: the interpreter's own site-packages
/// (Debian's `dist-packages`, with whatever the machine installed there) are not on its path,
/// only the standard library, the build environment and the tree.
#[test]
fn the_build_backend_does_not_see_the_interpreters_site_packages() {
    let context = locked_app_without_dependencies();
    context.file(
        "_backend/isolated.py",
        "import sys\n\
         leaks = [p for p in sys.path if p.rstrip('/').endswith(('site-packages', 'dist-packages'))]\n\
         if leaks:\n    raise SystemExit(f'site-packages on the build path: {leaks}')\n\
         from flit_core.buildapi import *\n",
    );
    context.file(
        "pyproject.toml",
        &context.read("pyproject.toml").replace(
            "build-backend = \"flit_core.buildapi\"",
            "build-backend = \"isolated\"\nbackend-path = [\"_backend\"]",
        ),
    );
    context.pyship(&["lock", "--offline"]).success();
    let run = context
        .pyship(&["build", "--offline", "--locked"])
        .success();
    let prefix = PathBuf::from(run.stdout.trim());
    assert!(
        prefix
            .join("lib/python3.11/site-packages/app/__init__.py")
            .is_file()
    );
}
