//! `pyship package rpm`: checked with Debian's rpm tools, installed, upgraded and erased with
//! `rpm --root` in a Debian root of its own (its own rpm database; the scriptlets run there).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::debian_root::DebianRoot;
use crate::support::output_ok;
use crate::support::{TestContext, requires_tool};

fn package(context: &TestContext) -> PathBuf {
    let run = context.pyship(&["package", "rpm", "--offline"]).success();
    PathBuf::from(run.stdout.trim())
}

fn rpm(args: &[&str], path: &Path) -> String {
    let output = output_ok(Command::new("rpm").args(args).arg(path));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn rpm_tools_accept_the_package_and_it_is_reproducible() {
    if !requires_tool("rpm") {
        return;
    }
    let context = TestContext::hello();
    let path = package(&context);
    assert!(
        path.ends_with("hello-0.1.0-1.x86_64.rpm"),
        "{}",
        path.display()
    );
    let info = rpm(&["-qip"], &path);
    for line in [
        "Name        : hello\n",
        "Version     : 0.1.0\n",
        "Release     : 1\n",
        "Architecture: x86_64\n",
        "License     : MIT\n",
        "Build Host  : pyship\n",
        "URL         : https://example.com/hello\n",
    ] {
        assert!(info.contains(line), "missing {line:?} in\n{info}");
    }
    let requires = rpm(&["-qp", "--requires"], &path);
    assert!(
        requires.lines().any(|line| line == "python3.11"),
        "{requires}"
    );
    let files = rpm(&["-qlp"], &path);
    assert!(
        files
            .lines()
            .any(|line| line == "/opt/venvs/hello/bin/hello-serve"),
        "{files}"
    );
    assert!(
        !files.lines().any(|line| line == "/opt"),
        "shared directories are not owned"
    );
    assert!(rpm(&["-K"], &path).contains("digests OK"));
    // The other payloads rpm reads.
    for (compression, payload) in [("xz", "xz"), ("gzip", "gzip")] {
        let other = TestContext::hello();
        let pyproject = other.read("pyproject.toml").replace(
            "[tool.pyship.deb]\n",
            &format!("[tool.pyship.rpm]\ncompression = \"{compression}\"\nrecommends = [\"postgresql\"]\nsuggests = [\"nginx >= 1.20\"]\n\n[tool.pyship.deb]\n"),
        );
        other.file("pyproject.toml", &pyproject);
        let built = package(&other);
        let format = rpm(&["-qp", "--queryformat", "%{PAYLOADCOMPRESSOR}"], &built);
        assert_eq!(format, payload);
        // Weak dependencies, as rpm reads them back.
        assert_eq!(rpm(&["-qp", "--recommends"], &built).trim(), "postgresql");
        assert_eq!(rpm(&["-qp", "--suggests"], &built).trim(), "nginx >= 1.20");
        assert!(rpm(&["-K"], &built).contains("digests OK"));
        assert!(rpm(&["-qlp"], &built).contains("/opt/venvs/hello/bin/hello-serve"));
    }
    let again = TestContext::hello();
    assert!(
        std::fs::read(&path).unwrap() == std::fs::read(package(&again)).unwrap(),
        "two builds of the same inputs differ"
    );
}

#[test]
fn a_service_rpm_installs_upgrades_keeping_config_and_erases_clean() {
    if !requires_tool("rpm") {
        return;
    }
    let Some(root) = DebianRoot::new("bookworm") else {
        return;
    };
    let context = crate::deb_lifecycle::service_project(8000);
    let first = package(&context);
    let root_arg = format!("--root={}", root.path.display());
    let rpm_in_root = |args: &[&str]| {
        output_ok(Command::new("rpm").arg(&root_arg).args(args));
    };
    rpm_in_root(&["--initdb"]);
    rpm_in_root(&["-i", "--nodeps", first.to_str().unwrap()]);
    let passwd = root.ok(&["getent", "passwd", "hello"]);
    assert!(
        passwd.contains(":/var/lib/hello:/usr/sbin/nologin"),
        "{passwd}"
    );
    assert_eq!(
        root.ok(&["stat", "-c", "%U:%G %a", "/etc/hello/hello.toml"]),
        "root:hello 640\n"
    );
    assert!(root.join("/usr/lib/systemd/system/hello.service").is_file());
    assert_eq!(
        root.ok(&["/opt/venvs/hello/bin/hello-serve", "--check"])
            .trim(),
        "ok: /opt/venvs/hello"
    );

    std::fs::write(
        root.join("/etc/hello/hello.toml"),
        "greeting = \"edited\"\n",
    )
    .unwrap();
    let pyproject = context
        .read("pyproject.toml")
        .replace("version = \"0.1.0\"", "version = \"0.2.0\"");
    context.file("pyproject.toml", &pyproject);
    let second = package(&context);
    rpm_in_root(&["-U", "--nodeps", second.to_str().unwrap()]);
    assert_eq!(
        std::fs::read_to_string(root.join("/etc/hello/hello.toml")).unwrap(),
        "greeting = \"edited\"\n",
        "%config(noreplace) keeps the operator's edit"
    );
    root.ok(&["/opt/venvs/hello/bin/hello-serve", "--check"]);

    rpm_in_root(&["-e", "hello"]);
    assert!(
        !root.join("/opt/venvs/hello").exists(),
        "erase left the prefix"
    );
    assert!(!root.join("/usr/lib/systemd/system/hello.service").exists());
}

/// Units of a template and a timer, the file trigger on the interpreter's own modules, and
/// the health check, which `rpm --root` runs in a Debian root (no services there, so it runs
/// whether or not systemd does): a check that does not pass fails the upgrade, naming it.
#[test]
fn rpm_ships_templates_timers_the_interpreter_trigger_and_the_health_check() {
    if !requires_tool("rpm") {
        return;
    }
    let context = TestContext::hello();
    context.add_before_deb_table(
        "health-check = [\"/bin/sh\", \"-c\", \"test -e /etc/hello-healthy\"]\nhealth-timeout = 1\n",
    );
    let plain = package(&context);
    let triggers = output_ok(
        Command::new("rpm")
            .args(["-qp", "--filetriggers"])
            .arg(&plain),
    );
    let triggers = String::from_utf8_lossy(&triggers.stdout);
    assert!(
        triggers.contains(
            "filetriggerin scriptlet (using /bin/sh) -- /usr/lib64/python3.11/lib-dynload/"
        ) && triggers.contains("/opt/venvs/hello/bin/python"),
        "{triggers}"
    );
    let Some(root) = DebianRoot::new("bookworm") else {
        return;
    };
    let root_arg = format!("--root={}", root.path.display());
    let rpm_in_root = |args: &[&str]| {
        Command::new("rpm")
            .arg(&root_arg)
            .args(args)
            .output()
            .unwrap()
    };
    assert!(rpm_in_root(&["--initdb"]).status.success());
    std::fs::write(root.join("/etc/hello-healthy"), "").unwrap();
    let installed = rpm_in_root(&["-i", "--nodeps", plain.to_str().unwrap()]);
    let said = String::from_utf8_lossy(&installed.stderr);
    assert!(installed.status.success(), "{said}");
    assert!(
        said.contains("pyship: healthy: /bin/sh -c test -e /etc/hello-healthy"),
        "{said}"
    );

    std::fs::remove_file(root.join("/etc/hello-healthy")).unwrap();
    context.set_version("0.2.0");
    let unhealthy = package(&context);
    let upgraded = rpm_in_root(&["-U", "--nodeps", unhealthy.to_str().unwrap()]);
    let said = String::from_utf8_lossy(&upgraded.stderr);
    // rpm keeps the upgrade and warns that %post failed (a %post cannot undo a transaction).
    assert!(
        said.contains("%post(hello-0:0.2.0-1.x86_64) scriptlet failed, exit status 1"),
        "{said}"
    );
    assert!(
        said.contains("pyship: the health check /bin/sh -c test -e /etc/hello-healthy did not pass in 1 s; the new version is installed but not healthy"),
        "{said}"
    );

    // A template and a timer: their unit files, none enabled by rpm itself (RHEL's presets).
    let context = TestContext::hello();
    context.add_before_deb_table(
        "[[tool.pyship.services]]\nname = \"hello-web\"\nscript = \"hello-serve\"\nargs = [\"--port\", \"810%i\"]\ninstances = [\"1\", \"2\"]\n\n[[tool.pyship.services]]\nname = \"hello-check\"\nscript = \"hello-serve\"\nargs = [\"--check\"]\non-calendar = \"daily\"\n",
    );
    let units = package(&context);
    let files = output_ok(Command::new("rpm").args(["-qpl"]).arg(&units));
    let files = String::from_utf8_lossy(&files.stdout);
    for unit in [
        "hello-web@.service",
        "hello-check.service",
        "hello-check.timer",
    ] {
        assert!(
            files.contains(&format!("/usr/lib/systemd/system/{unit}\n")),
            "{unit}: {files}"
        );
    }
    let scripts = output_ok(Command::new("rpm").args(["-qp", "--scripts"]).arg(&units));
    let scripts = String::from_utf8_lossy(&scripts.stdout);
    for unit in [
        "hello-web@1.service",
        "hello-web@2.service",
        "hello-check.timer",
    ] {
        assert!(
            scripts.contains(&format!("systemctl start '{unit}'")),
            "{unit}: {scripts}"
        );
    }
    assert!(
        scripts.contains("systemctl stop 'hello-check.service'"),
        "{scripts}"
    );
}
