//! Resolver behaviours that pip and uv agree on, each against a find-links directory of
//! generated wheels: post-releases, Requires-Python upper bounds, `python_full_version`
//! markers and which of several compatible wheels a version installs.

use crate::support::wheels::WheelSpec;
use crate::support::{TestContext, copy_flit};

fn project(context: &TestContext, dependencies: &str) {
    context.file(
        "pyproject.toml",
        &format!(
            "[project]\nname = \"app\"\nversion = \"1.0\"\ndependencies = [{dependencies}]\n\n[tool.pyship]\nfind-links = [\"wheels\"]\nno-index = true\n"
        ),
    );
}

/// The version `requirement` locks `a` at, or `None` when the lock is unsatisfiable.
fn locked(context: &TestContext, requirement: &str) -> Option<String> {
    project(context, &format!("\"{requirement}\""));
    let run = context.pyship(&["lock", "--upgrade"]);
    match run.code {
        Some(0) => Some(context.locked_version("a")),
        Some(3) => None,
        _ => panic!("{requirement}: {run}"),
    }
}

/// PEP 440: `==1.0` and `<=1.0` mean 1.0 itself; `>1.0` excludes 1.0's post-releases;
/// `>=`, `~=` and `!=1.0` take them.
#[test]
fn post_releases_follow_pep_440() {
    let context = TestContext::new();
    let wheels = context.root.join("wheels");
    for version in ["1.0", "1.0.post1", "1.0.post2"] {
        WheelSpec::new("a", version).write(&wheels);
    }
    let cases = [
        ("a", Some("1.0.post2")),
        ("a==1.0", Some("1.0")),
        ("a==1.0.post1", Some("1.0.post1")),
        ("a<=1.0", Some("1.0")),
        ("a>=1.0", Some("1.0.post2")),
        ("a~=1.0", Some("1.0.post2")),
        ("a!=1.0.post2", Some("1.0.post1")),
        ("a>1.0", None),
        ("a>1.0.post1", Some("1.0.post2")),
    ];
    for (requirement, expected) in cases {
        assert_eq!(
            locked(&context, requirement).as_deref(),
            expected,
            "{requirement}"
        );
    }
}

/// A release whose Requires-Python has an upper bound below the target is passed over for
/// the newest one that admits it, whether the bound is in the index page or only in the
/// metadata (find-links has no page).
#[test]
fn requires_python_upper_bounds_pass_over_releases() {
    let context = TestContext::new();
    let wheels = context.root.join("wheels");
    WheelSpec::new("a", "1.0")
        .requires_python(Some(">=3.6"))
        .write(&wheels);
    WheelSpec::new("a", "2.0")
        .requires_python(Some(">=3.8,<3.11"))
        .write(&wheels);
    WheelSpec::new("a", "3.0")
        .requires_python(Some(">=3.7,!=3.11.*"))
        .write(&wheels);
    assert_eq!(locked(&context, "a").as_deref(), Some("1.0"));
    assert_eq!(locked(&context, "a>=2").as_deref(), None);
    let run = context.pyship(&["lock"]).code(3);
    assert!(run.stderr.contains("requires Python"), "{run}");
}

/// `python_full_version` markers compare the target's full version (3.11.2 here), not X.Y.
#[test]
fn python_full_version_markers_use_the_full_version() {
    let context = TestContext::new();
    let wheels = context.root.join("wheels");
    for name in ["a", "newer", "older", "exact"] {
        WheelSpec::new(name, "1.0").write(&wheels);
    }
    project(
        &context,
        "\"a\", \"newer ; python_full_version >= '3.11.1'\", \"older ; python_full_version < '3.11.1'\", \"exact ; python_full_version == '3.11.2'\"",
    );
    context
        .pyship(&[
            "lock",
            "--python",
            "3.11.2",
            "--platform",
            "x86_64-manylinux_2_36",
        ])
        .success();
    assert_eq!(context.pins(), ["a==1.0", "exact==1.0", "newer==1.0"]);
    context
        .pyship(&[
            "lock",
            "--python",
            "3.11.0",
            "--platform",
            "x86_64-manylinux_2_36",
        ])
        .success();
    assert_eq!(context.pins(), ["a==1.0", "older==1.0"]);
}

/// Of several wheels of one version that the target accepts, the most specific tag
/// installs (CPython ABI over abi3 over pure; the newest manylinux the target allows), as
/// pip's tag order says.
#[test]
fn the_most_specific_compatible_wheel_is_installed() {
    let context = TestContext::new();
    let wheels = context.root.join("wheels");
    let tags = [
        "py3-none-any",
        "cp37-abi3-manylinux_2_17_x86_64",
        "cp311-cp311-manylinux_2_17_x86_64",
        "cp311-cp311-manylinux_2_28_x86_64",
        "cp311-cp311-manylinux_2_99_x86_64",
        "cp312-cp312-manylinux_2_28_x86_64",
    ];
    for tag in tags {
        WheelSpec::new("a", "1.0")
            .tag(tag)
            .file("a/tag.txt", tag.as_bytes(), 0o100644)
            .write(&wheels);
    }
    copy_flit(&context);
    context.file("app/__init__.py", "\"\"\"The app.\"\"\"\n");
    context.file(
        "pyproject.toml",
        "[project]\nname = \"app\"\nversion = \"1.0\"\ndescription = \"x\"\ndependencies = [\"a\"]\n\
         [build-system]\nrequires = [\"flit_core>=3.4\"]\nbuild-backend = \"flit_core.buildapi\"\n\
         [tool.pyship]\nfind-links = [\"wheels\"]\nno-index = true\n",
    );
    let run = context.pyship(&["build"]).success();
    let site = std::path::Path::new(run.stdout.trim()).join("lib/python3.11/site-packages");
    assert_eq!(
        std::fs::read_to_string(site.join("a/tag.txt")).unwrap(),
        "cp311-cp311-manylinux_2_28_x86_64",
        "{run}"
    );
}
