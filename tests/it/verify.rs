//! `pyship verify`: the hello service's .deb put through its life by pyship itself, in a copy
//! of the cached Debian 12 root, and the failures it must name.

use std::path::PathBuf;

use crate::deb_lifecycle::{free_port, service_project};
use crate::support::TestContext;
use crate::support::debian_root::cached_roots;

/// The hello service for Debian 12, with a smoke command and a health check.
fn verify_project(roots: &std::path::Path) -> TestContext {
    let port = free_port();
    let mut context = service_project(port);
    let pyproject = context
        .read("pyproject.toml")
        .replace("[tool.pyship]\n", "[tool.pyship]\ntargets = [\"debian-12\"]\n")
        .replace(
            "[tool.pyship.deb]\n",
            &format!(
                "[tool.pyship.verify]\ncommands = [[\"/opt/venvs/hello/bin/hello-serve\", \"--check\"]]\nhealth = \"http://127.0.0.1:{port}/\"\n\n[tool.pyship.deb]\n"
            ),
        );
    context.file("pyproject.toml", &pyproject);
    context.env("PYSHIP_ROOTS", &roots.display().to_string());
    context
}

#[derive(serde::Deserialize)]
struct Report {
    passed: bool,
    targets: Vec<TargetReport>,
}

#[derive(serde::Deserialize)]
struct TargetReport {
    target: String,
    checks: Vec<Check>,
}

#[derive(serde::Deserialize)]
struct Check {
    name: String,
    passed: bool,
    seconds: f64,
}

#[test]
fn verify_installs_upgrades_rolls_back_and_purges_the_service_in_a_clean_root() {
    let Some(roots) = cached_roots("bookworm") else {
        return;
    };
    let context = verify_project(&roots);
    context.set_version("0.0.9");
    let old = PathBuf::from(
        context
            .pyship(&["package", "deb", "--offline"])
            .success()
            .stdout
            .trim(),
    );
    let previous = context.temp.path().join(old.file_name().unwrap());
    std::fs::copy(&old, &previous).unwrap();
    context.set_version("0.1.0");
    let run = context
        .pyship(&[
            "verify",
            "deb",
            "--offline",
            "--upgrade-from",
            previous.to_str().unwrap(),
            "--message-format",
            "json",
        ])
        .success();
    let report: Report = serde_json::from_str(run.stdout.trim()).unwrap_or_else(|error| {
        panic!("the report is JSON ({error}):\n{run}");
    });
    assert!(report.passed, "{run}");
    let target = &report.targets[0];
    assert_eq!(target.target, "debian-12");
    let names: Vec<&str> = target.checks.iter().map(|c| c.name.as_str()).collect();
    for expected in [
        "install hello_0.0.9-1~deb12_amd64.deb",
        "upgrade 0.0.9-1~deb12 to 0.1.0-1~deb12",
        "conffile /etc/hello/hello.toml kept",
        "service hello starts (after upgrade)",
        "`/opt/venvs/hello/bin/hello-serve --check` (after upgrade)",
        "roll back to 0.0.9-1~deb12",
        "service hello starts (after rollback)",
        "purge",
        "purge leaves nothing behind",
    ] {
        assert!(
            names.contains(&expected),
            "no check `{expected}` in {names:?}"
        );
    }
    assert!(
        names
            .iter()
            .any(|name| name.starts_with("health http://127.0.0.1:")),
        "{names:?}"
    );
    assert!(target.checks.iter().all(|c| c.passed && c.seconds >= 0.0));

    // The human form: a line per check, and the same verdict.
    let human = context.pyship(&["verify", "deb", "--offline"]).success();
    assert!(
        human
            .stdout
            .contains("debian-12: install hello_0.1.0-1~deb12_amd64.deb"),
        "{human}"
    );
    assert!(!human.stdout.contains("FAILED"), "{human}");
    assert!(
        human.stderr.contains("Finished 6 checks, 0 failed"),
        "{human}"
    );
}

#[test]
fn verify_names_a_dying_service_a_hanging_check_a_missing_dependency_and_leftovers() {
    let Some(roots) = cached_roots("bookworm") else {
        return;
    };
    let context = verify_project(&roots);
    let pyproject = context
        .read("pyproject.toml")
        // The service dies at start (a bad argument), a smoke command hangs.
        .replace(
            "args = [\"--port\", ",
            "args = [\"--port\", \"not-a-port\", \"--unused\", ",
        )
        .replace(
            "commands = [[\"/opt/venvs/hello/bin/hello-serve\", \"--check\"]]",
            "commands = [[\"sleep\", \"600\"]]",
        );
    context.file("pyproject.toml", &pyproject);
    // A postinst that leaves data no purge removes.
    context.file(
        "deploy/scripts/postinst",
        "#!/bin/sh\nset -e\nmkdir -p /srv/hello-data\ntouch /srv/hello-data/cache\nexit 0\n",
    );
    let run = context
        .pyship(&["verify", "deb", "--offline", "--timeout", "3"])
        .code(1);
    assert!(run.stdout.contains("FAILED"), "{run}");
    assert!(
        run.stdout
            .contains("service hello starts (after install)\n    the service `hello` ended"),
        "{run}"
    );
    assert!(
        run.stdout.contains("invalid int value: 'not-a-port'"),
        "{run}"
    );
    assert!(
        run.stdout
            .contains("`sleep 600` (after install)\n    timed out after 3s"),
        "{run}"
    );
    assert!(
        run.stdout
            .contains("purge leaves nothing behind\n    left behind:\n        /srv/hello-data\n"),
        "{run}"
    );
    assert!(
        !run.stdout.contains("/srv/hello-data/cache"),
        "a directory left behind is named once: {run}"
    );

    // Offline, a Depends the root lacks is named, not fetched.
    let pyproject = context.read("pyproject.toml").replace(
        "targets = [\"debian-12\"]\n",
        "targets = [\"debian-12\"]\nrun-depends = [\"libpq5\"]\n",
    );
    context.file("pyproject.toml", &pyproject);
    let run = context
        .pyship(&["verify", "deb", "--offline", "--timeout", "3"])
        .code(1);
    assert!(
        run.stdout
            .contains("dependencies missing from the root, and --offline fetches none: libpq5"),
        "{run}"
    );
}

#[test]
fn verify_refuses_a_root_of_another_release_and_an_artifact_of_another_project() {
    let (Some(roots), Some(_)) = (cached_roots("bookworm"), cached_roots("bullseye")) else {
        return;
    };
    let context = verify_project(&roots);
    let run = context
        .pyship(&[
            "verify",
            "deb",
            "--offline",
            "--root",
            roots.join("bullseye").to_str().unwrap(),
        ])
        .code(1);
    assert!(
        run.stderr.contains(
            "is bullseye, but the artifacts are built for bookworm: give a root of bookworm"
        ),
        "{run}"
    );

    // Artifacts verify cannot install are refused, naming them.
    let plain = TestContext::hello();
    let run = plain.pyship(&["verify", "tarball", "--offline"]).code(1);
    assert!(
        run.stderr
            .contains("(tarball artifact of `pyship-tarball`) cannot be checked yet"),
        "{run}"
    );

    // A .deb of another package is no earlier release of this one.
    let other = context.temp.path().join("other");
    std::fs::create_dir_all(other.join("DEBIAN")).unwrap();
    std::fs::write(
        other.join("DEBIAN/control"),
        "Package: other\nVersion: 1.0\nArchitecture: all\nMaintainer: A <a@example.com>\nDescription: another project\n",
    )
    .unwrap();
    let deb = context.temp.path().join("other_1.0_all.deb");
    crate::support::output_ok(
        std::process::Command::new("dpkg-deb")
            .args(["--build", "--root-owner-group"])
            .arg(&other)
            .arg(&deb),
    );
    let run = context
        .pyship(&[
            "verify",
            "deb",
            "--offline",
            "--upgrade-from",
            deb.to_str().unwrap(),
        ])
        .code(1);
    assert!(
        run.stderr.contains(
            "is not an earlier release of this project: it is the package `other`, and this build makes `hello`"
        ),
        "{run}"
    );
}

#[test]
fn verify_settings_are_checked_on_load() {
    let context = TestContext::hello();
    for (bad, says) in [
        ("health = \"ftp://example.com/\"", "an http:// URL"),
        ("commands = [[]]", "a command and its arguments, not empty"),
        (
            "commands = [[\"echo\", \"two\\nlines\"]]",
            "must be one line",
        ),
        ("timeout = 0", "at least 1"),
        ("comands = []", "unknown field `comands`"),
    ] {
        let pyproject = context.read("pyproject.toml");
        let with_bad = pyproject.replace(
            "[tool.pyship.deb]\n",
            &format!("[tool.pyship.verify]\n{bad}\n\n[tool.pyship.deb]\n"),
        );
        context.file("pyproject.toml", &with_bad);
        let run = context.pyship(&["verify", "deb"]).code(1);
        assert!(run.stderr.contains(says), "{bad}: {run}");
        assert!(run.stderr.contains("pyproject.toml"), "{bad}: {run}");
        context.file("pyproject.toml", &pyproject);
    }
}

/// An rpm for RHEL 9, installed with this machine's rpm into a Debian root that has RHEL 9's
/// Python (3.9, bullseye), upgraded, rolled back and erased; what rpm keeps by design is said.
#[test]
fn verify_puts_an_rpm_through_its_life_in_a_stand_in_root() {
    let (Some(roots), Some(_)) = (cached_roots("bullseye"), cached_roots("bookworm")) else {
        return;
    };
    let context = verify_project(&roots);
    let pyproject = context
        .read("pyproject.toml")
        .replace("targets = [\"debian-12\"]", "targets = [\"rhel-9\"]");
    context.file("pyproject.toml", &pyproject);
    context.set_version("0.0.9");
    let old = PathBuf::from(
        context
            .pyship(&["package", "rpm", "--offline"])
            .success()
            .stdout
            .trim(),
    );
    let previous = context.temp.path().join(old.file_name().unwrap());
    std::fs::copy(&old, &previous).unwrap();
    context.set_version("0.1.0");
    let run = context
        .pyship(&[
            "verify",
            "rpm",
            "--offline",
            "--upgrade-from",
            previous.to_str().unwrap(),
        ])
        .success();
    assert!(
        run.stderr.contains("bullseye` (a Debian root with Python 3.9 standing in for rhel-9: rpm --root, Requires not resolved)"),
        "{run}"
    );
    for line in [
        "ok",
        "rhel-9: upgrade 0.0.9-1.el9 to 0.1.0-1.el9",
        "rhel-9: conffile /etc/hello/hello.toml kept",
        "rhel-9: service hello starts (after upgrade)",
        "rhel-9: roll back to 0.0.9-1.el9",
        "rhel-9: service hello starts (after rollback)",
        "rhel-9: erase leaves nothing behind\n    kept, as rpm keeps them: /etc/hello, /opt/venvs",
    ] {
        assert!(run.stdout.contains(line), "no `{line}`: {run}");
    }
    assert!(!run.stdout.contains("FAILED"), "{run}");
}
