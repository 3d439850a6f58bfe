//! One lifecycle, every format: the same project (a service with its account, a config file
//! and the user's four fragments) installed, upgraded keeping an edited config, downgraded,
//! removed and purged as deb (dpkg in a Debian root), as rpm (`rpm --root` in a Debian root)
//! and as a tarball (`pyship-activate` in a Debian root). The fragments log the neutral
//! `PYSHIP_ACTION` every format tells them: the logs must agree across formats.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::deb_lifecycle::service_project;
use crate::support::debian_root::DebianRoot;
use crate::support::{TestContext, output_ok, requires_tool};

const LOG: &str = "/var/log/pyship-lifecycle.log";

/// The service project with four fragments that log their name and `PYSHIP_ACTION`.
fn project() -> TestContext {
    let context = service_project(8000);
    for name in ["preinst", "postinst", "prerm", "postrm"] {
        context.file(
            &format!("deploy/scripts/{name}"),
            &format!("#!/bin/sh\necho \"{name} $PYSHIP_ACTION\" >>{LOG}\nexit 0\n"),
        );
    }
    context
}

/// Builds `format` for versions 0.1.0 and 0.2.0 and returns both artifacts (copied out).
fn two_versions(context: &TestContext, format: &str) -> (PathBuf, PathBuf) {
    let mut built = Vec::new();
    for version in ["0.1.0", "0.2.0"] {
        context.set_version(version);
        let run = context.pyship(&["package", format, "--offline"]).success();
        let artifact = PathBuf::from(run.stdout.trim());
        let kept = context.temp.path().join(artifact.file_name().unwrap());
        std::fs::copy(&artifact, &kept).unwrap();
        built.push(kept);
    }
    let second = built.pop().unwrap();
    (built.pop().unwrap(), second)
}

/// The log's lines since the last call, sorted (the order between packages differs by
/// format; what each fragment was told must not).
fn take_log(root: &DebianRoot) -> Vec<String> {
    let path = root.join(LOG);
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let _ = std::fs::remove_file(&path);
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    lines.sort();
    lines
}

fn lines(items: &[&str]) -> Vec<String> {
    let mut lines: Vec<String> = items.iter().map(|item| item.to_string()).collect();
    lines.sort();
    lines
}

fn edit_config(root: &DebianRoot) {
    std::fs::write(
        root.join("/etc/hello/hello.toml"),
        "greeting = \"edited\"\n",
    )
    .unwrap();
}

fn assert_config_kept(root: &DebianRoot) {
    assert_eq!(
        std::fs::read_to_string(root.join("/etc/hello/hello.toml")).unwrap(),
        "greeting = \"edited\"\n",
        "the operator's edit was not kept"
    );
}

/// The console script under `prefix` runs, from the release at `installed`.
fn check(root: &DebianRoot, prefix: &str, installed: &str) {
    assert_eq!(
        root.ok(&[&format!("{prefix}/bin/hello-serve"), "--check"])
            .trim(),
        format!("ok: {installed}")
    );
}

#[test]
fn deb_and_rpm_run_one_lifecycle_and_tell_the_fragments_the_same() {
    if !requires_tool("rpm") {
        return;
    }
    let context = project();
    let (deb1, deb2) = two_versions(&context, "deb");
    let (rpm1, rpm2) = two_versions(&context, "rpm");
    let mut logs: Vec<(&str, Vec<Vec<String>>)> = Vec::new();

    // deb, with dpkg in a root of its own.
    let Some(root) = DebianRoot::new("bookworm") else {
        return;
    };
    let mut deb_log = Vec::new();
    root.install(&deb1);
    deb_log.push(take_log(&root));
    root.ok(&["getent", "passwd", "hello"]);
    check(&root, "/opt/venvs/hello", "/opt/venvs/hello");
    edit_config(&root);
    root.install(&deb2);
    deb_log.push(take_log(&root));
    assert_config_kept(&root);
    root.install(&deb1);
    deb_log.push(take_log(&root));
    assert_config_kept(&root);
    check(&root, "/opt/venvs/hello", "/opt/venvs/hello");
    root.ok(&["dpkg", "--remove", "hello"]);
    deb_log.push(take_log(&root));
    assert!(!root.join("/opt/venvs/hello").exists());
    root.ok(&["dpkg", "--purge", "hello"]);
    let purge = take_log(&root);
    assert_eq!(purge, lines(&["postrm purge"]));
    assert!(!root.join("/etc/hello").exists() && !root.join("/var/lib/hello").exists());
    logs.push(("deb", deb_log));

    // rpm, with `rpm --root` in another root.
    let Some(root) = DebianRoot::new("bookworm") else {
        return;
    };
    let root_arg = format!("--root={}", root.path.display());
    let rpm = |args: &[&str], package: Option<&Path>| {
        output_ok(Command::new("rpm").arg(&root_arg).args(args).args(package));
    };
    let mut rpm_log = Vec::new();
    rpm(&["--initdb"], None);
    rpm(&["-i", "--nodeps"], Some(&rpm1));
    rpm_log.push(take_log(&root));
    root.ok(&["getent", "passwd", "hello"]);
    check(&root, "/opt/venvs/hello", "/opt/venvs/hello");
    edit_config(&root);
    rpm(&["-U", "--nodeps"], Some(&rpm2));
    rpm_log.push(take_log(&root));
    assert_config_kept(&root);
    rpm(&["-U", "--nodeps", "--oldpackage"], Some(&rpm1));
    rpm_log.push(take_log(&root));
    assert_config_kept(&root);
    check(&root, "/opt/venvs/hello", "/opt/venvs/hello");
    rpm(&["-e", "hello"], None);
    rpm_log.push(take_log(&root));
    assert!(!root.join("/opt/venvs/hello").exists());
    logs.push(("rpm", rpm_log));

    let expected = vec![
        lines(&["preinst install", "postinst install"]),
        lines(&[
            "preinst upgrade",
            "postinst upgrade",
            "prerm upgrade",
            "postrm upgrade",
        ]),
        lines(&[
            "preinst upgrade",
            "postinst upgrade",
            "prerm upgrade",
            "postrm upgrade",
        ]),
        lines(&["prerm remove", "postrm remove"]),
    ];
    for (format, log) in logs {
        assert_eq!(log, expected, "{format}: what the fragments were told");
    }
}

#[test]
fn the_tarball_runs_the_install_moments_of_the_same_lifecycle() {
    let Some(root) = DebianRoot::new("bookworm") else {
        return;
    };
    let context = project();
    // A tarball has no services, config files or removal: said explicitly, it packages
    // without them (see the test below for the refusal otherwise).
    context.add_before_deb_table("[tool.pyship.tarball]\nignore = [\"service\", \"config-files\", \"scripts.prerm\", \"scripts.postrm\"]\n");
    let (first, second) = two_versions(&context, "tarball");
    let extract = |archive: &Path| {
        output_ok(
            Command::new("tar")
                .args(["--zstd", "-xf"])
                .arg(archive)
                .arg("-C")
                .arg(&root.path),
        );
    };
    extract(&first);
    root.ok(&["/opt/venvs/hello/releases/0.1.0/pyship-activate"]);
    assert_eq!(
        take_log(&root),
        lines(&["preinst install", "postinst install"])
    );
    root.ok(&["getent", "passwd", "hello"]);
    check(
        &root,
        "/opt/venvs/hello/current",
        "/opt/venvs/hello/releases/0.1.0",
    );
    extract(&second);
    root.ok(&["/opt/venvs/hello/releases/0.2.0/pyship-activate"]);
    assert_eq!(
        take_log(&root),
        lines(&["preinst upgrade", "postinst upgrade"])
    );
    root.ok(&["/opt/venvs/hello/current/pyship-activate", "--rollback"]);
    assert_eq!(
        take_log(&root),
        lines(&["preinst rollback", "postinst rollback"])
    );
    check(
        &root,
        "/opt/venvs/hello/current",
        "/opt/venvs/hello/releases/0.1.0",
    );
}

/// A setting the chosen format would silently go without is refused, naming the setting,
/// the format and what it honours, until the project says it packages without it.
#[test]
fn a_setting_the_format_would_ignore_is_refused() {
    let context = project();
    let run = context.pyship(&["package", "tarball", "--offline"]);
    assert_eq!(run.code, Some(1), "{run}");
    assert!(
        run.stderr.contains("`config-files` is set in")
            && run.stderr.contains("`pyship-tarball` does not honour it"),
        "{run}"
    );
    assert!(run.stderr.contains("ignore = [\"config-files\"]"), "{run}");
    assert!(
        !context.root.join("target/pyship/stage").exists(),
        "refused before staging"
    );
    context.add_before_deb_table("[tool.pyship.vendors]\nignore = [\"servicez\"]\n");
    let run = context.pyship(&["package", "vendors", "--offline"]);
    assert_eq!(run.code, Some(1), "{run}");
    assert!(run.stderr.contains("names `servicez`"), "{run}");
    assert!(
        run.stderr.contains("scripts.postinst"),
        "the hint lists the facts: {run}"
    );
}
