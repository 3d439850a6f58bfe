//! Services as operators run them: the unit settings real apps use, written into the unit,
//! checked on load, and verified by systemd itself in a Debian root.

use std::path::PathBuf;

use crate::support::booted_root::BootedRoot;
use crate::support::debian_root::DebianRoot;
use crate::support::{TestContext, output_ok, requires_tool};

const SETTINGS: &str = r#"[tool.pyship.service]
script = "hello-serve"
type = "exec"
exec-start-pre = [["hello-serve", "--check"]]
exec-reload = ["/bin/true"]
restart = "always"
restart-sec = "5s"
syslog-identifier = "hello"
environment-file = ["-/etc/default/hello"]
load-credential = { "db-password" = "/etc/hello/db-password" }
state-directory = ["hello"]
logs-directory = ["hello"]
runtime-directory = ["hello"]
cache-directory = ["hello"]
"#;

#[test]
fn unit_settings_real_apps_use_are_written_and_systemd_verifies_the_unit() {
    let context = TestContext::hello();
    context.add_before_deb_table(SETTINGS);
    let run = context.pyship(&["package", "deb", "--offline"]).success();
    let deb = PathBuf::from(run.stdout.trim());
    let Some(root) = DebianRoot::new("bookworm") else {
        return;
    };
    root.install(&deb);
    let unit = std::fs::read_to_string(root.join("/lib/systemd/system/hello.service")).unwrap();
    for line in [
        "Type=exec\n",
        "EnvironmentFile=-/etc/default/hello\n",
        "ExecStartPre=/opt/venvs/hello/bin/hello-serve --check\n",
        "ExecStart=/opt/venvs/hello/bin/hello-serve\n",
        "ExecReload=/bin/true\n",
        "Restart=always\n",
        "RestartSec=5s\n",
        "SyslogIdentifier=hello\n",
        "LoadCredential=db-password:/etc/hello/db-password\n",
        "RuntimeDirectory=hello\n",
        "StateDirectory=hello\n",
        "LogsDirectory=hello\n",
        "CacheDirectory=hello\n",
    ] {
        assert!(unit.contains(line), "{line}:\n{unit}");
    }
    // The pre-start step runs in the root as the unit says.
    let check = root.ok(&["/opt/venvs/hello/bin/hello-serve", "--check"]);
    assert_eq!(check.trim(), "ok: /opt/venvs/hello");
    if !requires_tool("systemd-analyze") {
        return;
    }
    systemd_verifies(&root.path, "hello.service");
}

/// systemd's own check of a unit installed under `root`: a minimal root has no systemd, so
/// the targets the unit names come from this machine's.
fn systemd_verifies(root: &std::path::Path, unit: &str) {
    let targets = root.join("usr/lib/systemd/system");
    std::fs::create_dir_all(&targets).unwrap();
    for entry in std::fs::read_dir("/usr/lib/systemd/system")
        .unwrap()
        .flatten()
    {
        if entry.file_name().to_string_lossy().ends_with(".target") {
            let _ = std::fs::copy(entry.path(), targets.join(entry.file_name()));
        }
    }
    let verified = output_ok(
        std::process::Command::new("systemd-analyze")
            .arg("verify")
            .arg(format!("--root={}", root.display()))
            .arg(format!("/lib/systemd/system/{unit}")),
    );
    let said = String::from_utf8_lossy(&verified.stderr);
    assert!(!said.contains(unit), "{said}");
}

/// The sandbox of each `hardening` level, scored by systemd's own
/// `systemd-analyze security --offline`, and the unit still verified by systemd.
#[test]
fn the_sandbox_is_scored_by_systemd_for_every_level() {
    if !requires_tool("systemd-analyze") || !requires_tool("dpkg-deb") {
        return;
    }
    let context = TestContext::hello();
    context.add_before_deb_table(
        "user = { name = \"hello\", home = \"/var/lib/hello\" }\n\
         [tool.pyship.service]\nscript = \"hello-serve\"\nstate-directory = [\"hello\"]\n\
         read-write-paths = [\"/srv/hello\"]\n",
    );
    let pyproject = context.read("pyproject.toml");
    let mut scores = Vec::new();
    for level in [None, Some("strict"), Some("none")] {
        let setting = level.map_or(String::new(), |level| format!("hardening = \"{level}\"\n"));
        context.file(
            "pyproject.toml",
            &pyproject.replace(
                "script = \"hello-serve\"\n",
                &format!("script = \"hello-serve\"\n{setting}"),
            ),
        );
        let run = context.pyship(&["package", "deb", "--offline"]).success();
        let tree = tempfile::tempdir().unwrap();
        output_ok(
            std::process::Command::new("dpkg-deb")
                .arg("-x")
                .arg(run.stdout.trim())
                .arg(tree.path()),
        );
        let unit =
            std::fs::read_to_string(tree.path().join("lib/systemd/system/hello.service")).unwrap();
        let analyzed = output_ok(
            std::process::Command::new("systemd-analyze")
                .args(["security", "--offline=true", "--no-pager"])
                .arg(format!("--root={}", tree.path().display()))
                .arg("hello.service"),
        );
        let said = String::from_utf8_lossy(&analyzed.stdout);
        let score: f64 = said
            .split("Overall exposure level for hello.service: ")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|score| score.parse().ok())
            .unwrap_or_else(|| panic!("no score in\n{said}"));
        scores.push(score);
        if level != Some("none") {
            assert!(
                unit.contains("ReadWritePaths=-/var/lib/hello -/srv/hello\n"),
                "{unit}"
            );
            systemd_verifies(tree.path(), "hello.service");
        } else {
            assert!(!unit.contains("Protect"), "{unit}");
        }
        if level == Some("strict") {
            assert!(unit.contains("ProtectSystem=strict\n"), "{unit}");
            assert_eq!(unit.matches("ProtectSystem=").count(), 1, "{unit}");
        }
    }
    // systemd 252 scores 4.4, 1.7 and 9.2.
    let [default, strict, none] = scores[..] else {
        unreachable!()
    };
    assert!(default <= 5.0, "default: {default}");
    assert!(strict <= 2.5, "strict: {strict}");
    assert!(none >= 9.0, "none: {none}");

    // A level that is not one, and a level beside a unit file written by hand.
    for (bad, message) in [
        ("hardening = \"tight\"\n", "default, strict, none"),
        (
            "hardening = \"strict\"\nunit-file = \"pyproject.toml\"\n",
            "installed as written",
        ),
        (
            "read-write-paths = [\"/srv/../etc\"]\n",
            "plain absolute path",
        ),
        ("read-write-paths = [\"srv\"]\n", "plain absolute path"),
        (
            "read-write-paths = [\"/srv\\nUser=root\"]\n",
            "plain absolute path",
        ),
    ] {
        context.file(
            "pyproject.toml",
            &pyproject
                .replace("read-write-paths = [\"/srv/hello\"]\n", "")
                .replace(
                    "script = \"hello-serve\"\n",
                    &format!("script = \"hello-serve\"\n{bad}"),
                ),
        );
        let run = context.pyship(&["lock", "--offline"]).code(1);
        assert!(run.stderr.contains("pyproject.toml:"), "{bad}: {run}");
        assert!(run.stderr.contains(message), "{bad}: {run}");
    }
}

#[test]
fn bad_unit_settings_stop_every_command_with_their_line() {
    let context = TestContext::hello();
    for (bad, key) in [
        ("type = \"sometimes\"", "service.type"),
        ("restart-sec = \"soon\"", "service.restart-sec"),
        ("state-directory = [\"../etc\"]", "service.state-directory"),
        (
            "environment-file = [\"etc/default/x\"]",
            "service.environment-file",
        ),
        (
            "load-credential = { \"a b\" = \"/etc/x\" }",
            "service.load-credential",
        ),
        ("exec-start-pre = [[]]", "service.exec-start-pre"),
        // A newline, `..` and a path where a name goes, for every new value a unit holds.
        (
            "exec-start-pre = [[\"hello-serve\", \"a\\nExecStart=/bin/sh\"]]",
            "service.exec-start-pre",
        ),
        ("exec-reload = [\"/bin/kill\\n\"]", "service.exec-reload"),
        (
            "environment-file = [\"/etc/../shadow\"]",
            "service.environment-file",
        ),
        (
            "environment-file = [\"/etc/x\\nUser=root\"]",
            "service.environment-file",
        ),
        (
            "load-credential = { db = \"/etc/../shadow\" }",
            "service.load-credential",
        ),
        (
            "state-directory = [\"/var/lib/hello\"]",
            "service.state-directory",
        ),
        ("logs-directory = [\"a\\nb\"]", "service.logs-directory"),
        ("syslog-identifier = \"a\\nb\"", "service.syslog-identifier"),
        ("on-calendar = \"daily\\nUser=root\"", "service.on-calendar"),
        (
            "on-calendar = \"daily\"\nrestart = \"always\"",
            "service.restart",
        ),
        ("instances = [\"../x\"]", "service.instances"),
        ("instances = [\"a\\nb\"]", "service.instances"),
        ("instances = [\"1\", \"1\"]", "service.instances"),
        (
            "instances = [\"1\"]\non-calendar = \"daily\"",
            "service.instances",
        ),
        ("name = \"hello@\"", "service.name"),
    ] {
        let pyproject = context.read("pyproject.toml");
        context.add_before_deb_table(&format!(
            "[tool.pyship.service]\nscript = \"hello-serve\"\n{bad}\n"
        ));
        let run = context.pyship(&["lock", "--offline"]).code(1);
        assert!(run.stderr.contains("pyproject.toml:"), "{bad}: {run}");
        assert!(run.stderr.contains(key), "{bad}: {run}");
        context.file("pyproject.toml", &pyproject);
    }
    // The same for the settings the scripts and the layout take.
    for (bad, key) in [
        (
            "install-steps = [[\"/bin/sh\", \"-c\\nrm\"]]",
            "install-steps",
        ),
        ("upgrade-steps = [[]]", "upgrade-steps"),
        ("app-directory = \"../etc\"", "app-directory"),
        ("app-directory = \"/etc\"", "app-directory"),
        ("app-directory = \"a\\nb\"", "app-directory"),
        ("app-files = [\"../secrets\"]", "app-files"),
        ("app-files = [\"/etc/passwd\"]", "app-files"),
        ("scripts-from = { \"a\\nb\" = \"x\" }", "scripts-from"),
        (
            "health-check = \"http://127.0.0.1:8000/\\nExecStart=x\"",
            "health-check",
        ),
        ("health-check = \"/etc/passwd\"", "health-check"),
        ("health-check = [\"/bin/sh\\nrm\"]", "health-check"),
        ("health-check = []", "health-check"),
        ("health-timeout = 0", "health-timeout"),
    ] {
        let pyproject = context.read("pyproject.toml");
        let with_bad = pyproject.replace("[tool.pyship]\n", &format!("[tool.pyship]\n{bad}\n"));
        context.file("pyproject.toml", &with_bad);
        let run = context.pyship(&["lock", "--offline"]).code(1);
        assert!(run.stderr.contains("pyproject.toml:"), "{bad}: {run}");
        assert!(run.stderr.contains(key), "{bad}: {run}");
        context.file("pyproject.toml", &pyproject);
    }
}

/// Declared first-run and upgrade steps (pretix's `migrate`, synapse's key generation): run
/// as the service's account before it starts, shown, and a failure fails the installation
/// naming the step.
#[test]
fn install_and_upgrade_steps_run_as_the_account_and_a_failure_names_the_step() {
    let context = TestContext::hello();
    context.add_before_deb_table(
        r#"user = { name = "hello", home = "/var/lib/hello" }
install-steps = [["/bin/sh", "-c", "id -un >> /var/lib/hello/installed-by"]]
upgrade-steps = [["/bin/sh", "-c", "echo upgraded >> /var/lib/hello/upgrades"]]
"#,
    );
    let first = PathBuf::from(
        context
            .pyship(&["package", "deb", "--offline"])
            .success()
            .stdout
            .trim(),
    );
    context.set_version("0.2.0");
    let second = PathBuf::from(
        context
            .pyship(&["package", "deb", "--offline"])
            .success()
            .stdout
            .trim(),
    );
    let Some(root) = DebianRoot::new("bookworm") else {
        return;
    };
    let name = |deb: &PathBuf| deb.file_name().unwrap().to_string_lossy().into_owned();
    for deb in [&first, &second] {
        std::fs::copy(deb, root.join(&format!("/tmp/{}", name(deb)))).unwrap();
    }
    let output = root.run(&["dpkg", "-i", &format!("/tmp/{}", name(&first))]);
    assert!(output.status.success(), "{output:?}");
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(said.contains("pyship: install step: /bin/sh -c"), "{said}");
    let read = |path: &str| std::fs::read_to_string(root.join(path)).unwrap_or_default();
    assert_eq!(read("/var/lib/hello/installed-by"), "hello\n");
    assert_eq!(read("/var/lib/hello/upgrades"), "");
    root.ok(&["dpkg", "-i", &format!("/tmp/{}", name(&second))]);
    assert_eq!(
        read("/var/lib/hello/installed-by"),
        "hello\n",
        "not again on upgrade"
    );
    assert_eq!(read("/var/lib/hello/upgrades"), "upgraded\n");

    // A failing step fails the installation, and says which.
    let context = TestContext::hello();
    context.add_before_deb_table("install-steps = [[\"/bin/false\"]]\n");
    let failing = PathBuf::from(
        context
            .pyship(&["package", "deb", "--offline"])
            .success()
            .stdout
            .trim(),
    );
    root.ok(&["dpkg", "--purge", "hello"]);
    std::fs::copy(&failing, root.join("/tmp/failing.deb")).unwrap();
    let output = root.run(&["dpkg", "-i", "/tmp/failing.deb"]);
    assert!(!output.status.success());
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(
        said.contains("pyship: the install step `/bin/false` failed (exit status 1)"),
        "{said}"
    );
}

#[test]
fn rpm_scriptlets_run_the_same_steps() {
    if !requires_tool("rpm") {
        return;
    }
    let context = TestContext::hello();
    context.add_before_deb_table(
        "install-steps = [[\"hello-serve\", \"--check\"]]\nupgrade-steps = [[\"/bin/true\"]]\n",
    );
    let run = context.pyship(&["package", "rpm", "--offline"]).success();
    let scripts = output_ok(
        std::process::Command::new("rpm")
            .args(["-qp", "--scripts"])
            .arg(run.stdout.trim()),
    );
    let scripts = String::from_utf8_lossy(&scripts.stdout);
    assert!(
        scripts.contains("if [ $1 -eq 1 ]; then\n    echo 'pyship: install step: /opt/venvs/hello/bin/hello-serve --check' >&2"),
        "{scripts}"
    );
    assert!(
        scripts.contains("if [ $1 -gt 1 ]; then\n    echo 'pyship: upgrade step: /bin/true' >&2"),
        "{scripts}"
    );
}

/// The account declared the way current Debian and RHEL packages do it, besides the postinst:
/// `sysusers.d` and `tmpfiles.d` files that systemd's own tools accept, making the user, its
/// group and its home in a root that never ran the package's scripts.
#[test]
fn the_account_is_declared_for_systemd_sysusers_and_tmpfiles() {
    if !requires_tool("systemd-sysusers") || !requires_tool("dpkg-deb") {
        return;
    }
    let context = TestContext::hello();
    context.add_before_deb_table(
        "user = { name = \"hello\", group = \"web\", home = \"/var/lib/hello\" }\n",
    );
    let run = context.pyship(&["package", "deb", "--offline"]).success();
    let Some(root) = DebianRoot::new("bookworm") else {
        return;
    };
    // Only the files, unpacked: no maintainer script runs.
    output_ok(
        std::process::Command::new("dpkg-deb")
            .arg("-x")
            .arg(run.stdout.trim())
            .arg(&root.path),
    );
    let sysusers = std::fs::read_to_string(root.join("/usr/lib/sysusers.d/hello.conf")).unwrap();
    assert!(sysusers.contains("g web -\n"), "{sysusers}");
    output_ok(
        std::process::Command::new("systemd-sysusers")
            .arg(format!("--root={}", root.path.display())),
    );
    let passwd = std::fs::read_to_string(root.join("/etc/passwd")).unwrap();
    let line = passwd
        .lines()
        .find(|line| line.starts_with("hello:"))
        .unwrap_or_else(|| panic!("no hello in\n{passwd}"));
    assert!(
        line.ends_with(":/var/lib/hello:/usr/sbin/nologin"),
        "{line}"
    );
    output_ok(
        std::process::Command::new("systemd-tmpfiles")
            .arg(format!("--root={}", root.path.display()))
            .arg("--create")
            .arg(root.join("/usr/lib/tmpfiles.d/hello.conf")),
    );
    let owner = root.ok(&["stat", "-c", "%U:%G %a", "/var/lib/hello"]);
    assert_eq!(owner, "hello:web 750\n");
}

/// A web server and its worker from one project: two units, each installed, enabled and
/// removed like the one service.
#[test]
fn several_services_are_each_a_unit_installed_enabled_and_removed() {
    let context = TestContext::hello();
    context.add_before_deb_table(
        r#"user = { name = "hello", home = "/var/lib/hello" }

[tool.pyship.service]
script = "hello-serve"

[[tool.pyship.services]]
name = "hello-worker"
script = "hello-serve"
args = ["--port", "8001"]
restart = "always"
"#,
    );
    let run = context.pyship(&["package", "deb", "--offline"]).success();
    let deb = PathBuf::from(run.stdout.trim());
    let Some(root) = DebianRoot::new("bookworm") else {
        return;
    };
    root.install(&deb);
    for unit in ["hello", "hello-worker"] {
        let path = root.join(&format!("/lib/systemd/system/{unit}.service"));
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("User=hello\n"), "{unit}: {text}");
        assert!(
            root.join(&format!(
                "/etc/systemd/system/multi-user.target.wants/{unit}.service"
            ))
            .is_symlink(),
            "{unit} is enabled"
        );
    }
    let worker =
        std::fs::read_to_string(root.join("/lib/systemd/system/hello-worker.service")).unwrap();
    assert!(
        worker.contains("ExecStart=/opt/venvs/hello/bin/hello-serve --port 8001\n")
            && worker.contains("Restart=always\n"),
        "{worker}"
    );
    root.ok(&["dpkg", "--purge", "hello"]);
    for unit in ["hello", "hello-worker"] {
        assert!(
            !root
                .join(&format!("/lib/systemd/system/{unit}.service"))
                .exists()
        );
        assert!(
            !root
                .join(&format!(
                    "/etc/systemd/system/multi-user.target.wants/{unit}.service"
                ))
                .exists(),
            "{unit} is not enabled any more"
        );
    }

    // Each extra service needs a name of its own.
    let context = TestContext::hello();
    context.add_before_deb_table("[[tool.pyship.services]]\nscript = \"hello-serve\"\n");
    let run = context.pyship(&["lock", "--offline"]).code(1);
    assert!(run.stderr.contains("needs a `name`"), "{run}");
}

/// A web service under the strict sandbox, a template with two instances and a job on a
/// timer from one project, in a Debian 12 root booted with systemd: installed, served,
/// upgraded (an instance the operator disabled stays disabled), rolled back and purged, as
/// dpkg and systemd do it on a server.
#[test]
fn a_service_a_template_and_a_timer_run_under_systemd_through_their_lifecycle() {
    let context = TestContext::hello();
    context.add_before_deb_table(
        r#"user = { name = "hello", home = "/var/lib/hello" }
health-check = "http://127.0.0.1:8000/"

[tool.pyship.service]
script = "hello-serve"
hardening = "strict"
state-directory = ["hello"]

[[tool.pyship.services]]
name = "hello-web"
script = "hello-serve"
args = ["--port", "810%i"]
instances = ["1", "2"]

[[tool.pyship.services]]
name = "hello-check"
script = "hello-serve"
args = ["--check"]
on-calendar = "*-*-* 03:00:00"
"#,
    );
    let old = PathBuf::from(
        context
            .pyship(&["package", "deb", "--offline"])
            .success()
            .stdout
            .trim(),
    );
    let pyproject = context.read("pyproject.toml");
    context.file(
        "pyproject.toml",
        &pyproject.replace("version = \"0.1.0\"", "version = \"0.2.0\""),
    );
    let new = PathBuf::from(
        context
            .pyship(&["package", "deb", "--offline"])
            .success()
            .stdout
            .trim(),
    );
    // A build whose health check cannot pass (nothing answers there).
    context.file(
        "pyproject.toml",
        &pyproject
            .replace("version = \"0.1.0\"", "version = \"0.3.0\"")
            .replace(
                "health-check = \"http://127.0.0.1:8000/\"",
                "health-check = \"http://127.0.0.1:8999/\"\nhealth-timeout = 2",
            ),
    );
    let unhealthy = PathBuf::from(
        context
            .pyship(&["package", "deb", "--offline"])
            .success()
            .stdout
            .trim(),
    );
    let Some(server) = BootedRoot::new("bookworm") else {
        return;
    };
    let said = server.install(&old);
    assert!(!said.contains("error"), "{said}");
    assert!(
        said.contains("pyship: healthy: http://127.0.0.1:8000/"),
        "{said}"
    );
    let units = [
        "hello.service",
        "hello-web@1.service",
        "hello-web@2.service",
        "hello-check.timer",
    ];
    for unit in units {
        assert_eq!(server.wait_active(unit), "active", "{unit}");
        assert_eq!(server.property(unit, "UnitFileState"), "enabled", "{unit}");
    }
    for (port, unit) in [
        (8000, "hello"),
        (8101, "hello-web@1"),
        (8102, "hello-web@2"),
    ] {
        let body = server.fetch(&format!("http://127.0.0.1:{port}/?name={unit}"));
        assert_eq!(body, format!("Hello, {unit}!\n"));
        assert_eq!(server.property(unit, "User"), "hello", "{unit}");
    }
    // The sandbox holds: the strict service's view of the system is read-only but its state.
    let pid = server.property("hello.service", "MainPID");
    let write = |path: &str| {
        server
            .run(&["nsenter", "-t", &pid, "-m", "--", "touch", path])
            .status
            .success()
    };
    assert!(!write("/etc/pyship-was-here"), "/etc is read-only to it");
    assert!(!write("/opt/venvs/hello/pyship-was-here"), "so is its venv");
    assert!(write("/var/lib/hello/pyship-was-here"), "its state is not");
    // The job is scheduled, not run at boot; run now, it ends well as its user.
    let timers = server.ok(&["systemctl", "list-timers", "--all", "--no-pager"]);
    assert!(timers.contains("hello-check.timer"), "{timers}");
    assert_eq!(
        server.property("hello-check.service", "UnitFileState"),
        "static"
    );
    server.ok(&["systemctl", "start", "hello-check.service"]);
    assert_eq!(server.property("hello-check.service", "Result"), "success");
    let journal = server.ok(&["journalctl", "-u", "hello-check.service", "--no-pager"]);
    assert!(journal.contains("ok: /opt/venvs/hello"), "{journal}");

    // The system Python is upgraded under the venv (its library directory changes): dpkg
    // calls `postinst triggered`, which restarts the running services on the new interpreter.
    let before = server.property("hello.service", "MainPID");
    server.ok(&["dpkg-trigger", "--no-await", "/usr/lib/python3.11"]);
    server.ok(&["dpkg", "--triggers-only", "--pending"]);
    assert_eq!(server.wait_active("hello.service"), "active");
    assert_ne!(
        server.property("hello.service", "MainPID"),
        before,
        "restarted"
    );
    assert_eq!(
        server.fetch("http://127.0.0.1:8000/?name=py"),
        "Hello, py!\n"
    );

    // The operator turns one instance off; the upgrade keeps it off and restarts the rest.
    server.ok(&["systemctl", "disable", "--now", "hello-web@2.service"]);
    let before = server.property("hello-web@1.service", "MainPID");
    let said = server.install(&new);
    assert!(!said.contains("error"), "{said}");
    assert_eq!(
        server.property("hello-web@2.service", "UnitFileState"),
        "disabled"
    );
    assert_eq!(
        server.property("hello-web@2.service", "ActiveState"),
        "inactive"
    );
    assert_eq!(server.wait_active("hello-web@1.service"), "active");
    assert_ne!(
        server.property("hello-web@1.service", "MainPID"),
        before,
        "restarted"
    );
    assert_eq!(
        server.fetch("http://127.0.0.1:8000/?name=up"),
        "Hello, up!\n"
    );

    // An upgrade that is not healthy fails, saying so and how to go back.
    let name = unhealthy
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    std::fs::copy(&unhealthy, server.join("/var/tmp").join(&name)).unwrap();
    let failed = server.run(&["dpkg", "-i", &format!("/var/tmp/{name}")]);
    let said = String::from_utf8_lossy(&failed.stderr);
    assert!(!failed.status.success(), "{said}");
    assert!(
        said.contains("pyship: the health check http://127.0.0.1:8999/ did not pass in 2 s; the new version is installed but not healthy"),
        "{said}"
    );

    // Rolled back to the previous build: running again, as before.
    server.install(&old);
    let version = server.ok(&["dpkg-query", "-W", "-f=${Version}", "hello"]);
    assert!(version.starts_with("0.1.0"), "{version}");
    assert_eq!(
        server.fetch("http://127.0.0.1:8101/?name=back"),
        "Hello, back!\n"
    );

    // Purged: nothing of it is loaded, enabled or running.
    server.ok(&["dpkg", "--purge", "hello"]);
    for unit in units.iter().chain(&["hello-check.service"]) {
        assert_eq!(server.property(unit, "LoadState"), "not-found", "{unit}");
    }
    let loaded = server.ok(&[
        "systemctl",
        "list-units",
        "--all",
        "--plain",
        "--no-legend",
        "hello*",
    ]);
    assert!(loaded.trim().is_empty(), "{loaded}");
    let processes = server.ok(&[
        "python3",
        "-c",
        "import glob, os; print(*[p for p in glob.glob('/proc/[0-9]*/cmdline') if b'hello-serve' in open(p, 'rb').read() and p != f'/proc/{os.getpid()}/cmdline'])",
    ]);
    assert!(processes.trim().is_empty(), "{processes}");
    let wants = server.ok(&["find", "/etc/systemd/system", "-name", "hello*"]);
    assert!(wants.trim().is_empty(), "{wants}");
}
