//! The plugin contract, tested with `testdata/plugins/pyship-echo`, a plugin in Python.

use std::path::PathBuf;

use crate::support::{TestContext, repo_root};

fn echo_context() -> TestContext {
    let mut context = TestContext::hello();
    context.path_prepend(&repo_root().join("testdata/plugins"));
    context
}

#[test]
fn python_plugin_receives_a_manifest_the_protocol_crate_parses() {
    let context = echo_context();
    let run = context.pyship(&["package", "echo", "--offline"]).success();
    let artifact = PathBuf::from(run.stdout.trim());
    assert_eq!(
        artifact,
        context.root.join("target/pyship/echo-manifest.json")
    );
    assert!(run.stderr.contains("pyship-echo: packaging hello"), "{run}");
    // The plugin copied the manifest it got: it must parse with the protocol types.
    let manifest: pyship_plugin::Manifest =
        serde_json::from_str(&std::fs::read_to_string(&artifact).unwrap()).unwrap();
    assert_eq!(manifest.protocol, 1);
    assert_eq!(manifest.format, "echo");
    assert_eq!(manifest.project.name, "hello");
    assert_eq!(manifest.project.version, "0.1.0");
    assert_eq!(manifest.project.scripts["hello-serve"], "hello.app:main");
    assert_eq!(
        manifest.layout.install_prefix,
        PathBuf::from("/opt/venvs/hello")
    );
    assert!(
        manifest
            .layout
            .staging_root
            .join("opt/venvs/hello/bin/hello-serve")
            .is_file()
    );
    assert_eq!(manifest.target.python_version, "3.11");
    assert_eq!(manifest.source.source_date_epoch, Some(1_700_000_000));
    assert_eq!(manifest.output_dir, context.root.join("target/pyship"));
    let names: Vec<&str> = manifest.packages.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "blinker",
            "click",
            "flask",
            "itsdangerous",
            "jinja2",
            "markupsafe",
            "werkzeug",
            "hello"
        ]
    );
    for package in &manifest.packages {
        assert!(package.wheel.is_file(), "{}", package.wheel.display());
        assert_eq!(package.sha256.len(), 64);
    }
    assert!(
        !manifest
            .packages
            .iter()
            .find(|p| p.name == "markupsafe")
            .unwrap()
            .pure
    );
    assert!(manifest.options.contains_key("find-links"));
    // The manifest stays on disk so the step can be rerun by hand.
    assert!(
        context
            .root
            .join("target/pyship/echo/manifest.json")
            .is_file()
    );
}

#[test]
fn plugin_speaking_another_protocol_is_refused_clearly() {
    let mut context = echo_context();
    context.env("PYSHIP_ECHO_MODE", "bad-protocol");
    let run = context.pyship(&["package", "echo", "--offline"]).code(1);
    assert!(run.stderr.contains("plugin `pyship-echo`"), "{run}");
    assert!(run.stderr.contains("testdata/plugins/pyship-echo"), "{run}");
    assert!(
        run.stderr
            .contains("speaks protocol [99], but this pyship speaks [1, 2, 3]"),
        "{run}"
    );
    assert!(run.stderr.contains("hint: upgrade pyship"), "{run}");
}

#[test]
fn plugin_printing_non_json_is_a_protocol_error_showing_its_output() {
    let mut context = echo_context();
    context.env("PYSHIP_ECHO_MODE", "not-json");
    let run = context.pyship(&["package", "echo", "--offline"]).code(1);
    assert!(run.stderr.contains("broke the protocol"), "{run}");
    assert!(run.stderr.contains("--- stdout\nthis is not JSON"), "{run}");
    assert!(run.stdout.is_empty(), "{run}");
}

#[test]
fn plugin_failing_shows_its_message_and_one_line_from_pyship() {
    let mut context = echo_context();
    context.env("PYSHIP_ECHO_MODE", "fail");
    let run = context.pyship(&["package", "echo", "--offline"]).code(1);
    assert!(
        run.stderr.contains("pyship-echo: failing on purpose"),
        "{run}"
    );
    assert!(run.stderr.contains("error: plugin `pyship-echo`"), "{run}");
    assert!(run.stderr.contains("failed (exit status: 3)"), "{run}");
    assert!(run.stderr.contains("hint: rerun with `-v`"), "{run}");
}

#[test]
fn missing_plugin_names_the_format_and_what_is_installed() {
    let context = TestContext::hello();
    let run = context.pyship(&["package", "rpmm", "--offline"]).code(1);
    assert!(
        run.stderr.contains("no plugin `pyship-rpmm` found"),
        "{run}"
    );
    assert!(
        run.stderr.contains("installed plugins: apt, deb, rpm"),
        "{run}"
    );
}

#[test]
fn a_version_2_plugin_gets_facts_and_a_version_1_plugin_gets_options() {
    let mut context = echo_context();
    context.env("PYSHIP_ECHO_PROTOCOLS", "1,2");
    let run = context.pyship(&["package", "echo", "--offline"]).success();
    assert!(
        run.stderr.contains(
            "pyship-echo: release 0.1.0, interpreter package python3.11, glibc >= 2.17, arch-independent False"
        ),
        "{run}"
    );
    let manifest: pyship_plugin::Manifest =
        serde_json::from_str(&std::fs::read_to_string(run.stdout.trim()).unwrap()).unwrap();
    assert_eq!(manifest.protocol, 2);
    assert!(manifest.options.is_empty());
    assert_eq!(
        manifest
            .project
            .version_parts
            .as_ref()
            .map(|parts| parts.release.clone()),
        Some(vec![0, 1, 0])
    );

    let mut context = echo_context();
    context.env("PYSHIP_ECHO_PROTOCOLS", "1");
    let run = context.pyship(&["package", "echo", "--offline"]).success();
    let manifest: pyship_plugin::Manifest =
        serde_json::from_str(&std::fs::read_to_string(run.stdout.trim()).unwrap()).unwrap();
    assert_eq!(manifest.protocol, 1);
    assert!(manifest.options.contains_key("install-prefix"));
    assert!(manifest.project.version_parts.is_none() && manifest.target.min_glibc.is_none());
}

#[test]
fn format_options_are_checked_against_what_the_plugin_declares() {
    let context = TestContext::hello();
    let pyproject = context.read("pyproject.toml");
    let line = pyproject
        .lines()
        .position(|line| line == "[tool.pyship.deb]")
        .unwrap()
        + 2;
    context.file(
        "pyproject.toml",
        &pyproject.replace(
            "[tool.pyship.deb]\n",
            "[tool.pyship.deb]\nrevison = \"2\"\n",
        ),
    );
    let run = context.pyship(&["package", "deb", "--offline"]).code(1);
    assert!(
        run.stderr.contains(&format!(
            "unknown key `revison` in `[tool.pyship.deb]` at `{}:{line}`",
            context.root.join("pyproject.toml").display()
        )),
        "{run}"
    );
    assert!(
        run.stderr.contains("hint: did you mean `revision`?"),
        "{run}"
    );

    context.file(
        "pyproject.toml",
        &pyproject.replace("[tool.pyship.deb]\n", "[tool.pyship.deb]\nrevision = 2\n"),
    );
    let run = context.pyship(&["package", "deb", "--offline"]).code(1);
    assert!(
        run.stderr.contains("must be a string, not an integer"),
        "{run}"
    );
    assert!(
        !context
            .root
            .join("target/pyship/hello_0.1.0-1_amd64.deb")
            .exists()
    );
}

#[test]
fn help_for_a_format_lists_its_options() {
    let context = TestContext::new();
    for args in [&["help", "deb"][..], &["deb", "--help"][..]] {
        let run = context.pyship(args).success();
        assert!(
            run.stdout
                .contains("Options, in `[tool.pyship.deb]` of pyproject.toml:"),
            "{run}"
        );
        assert!(run.stdout.contains("revision (string)"), "{run}");
        assert!(run.stdout.contains("compression (string)"), "{run}");
    }
}

#[test]
fn version_3_plugins_get_system_packages_as_a_default_and_names_per_family() {
    let mut context = echo_context();
    context.env("PYSHIP_ECHO_PROTOCOLS", "1,2,3");
    let pyproject = context.read("pyproject.toml").replace(
        "[tool.pyship.deb]\n",
        "run-depends = [\"libpq5 (>= 15)\", { default = \"libssl3\", rpm = \"openssl-libs\" }, { apk = \"libpq\" }]\n\n[tool.pyship.deb]\n",
    );
    context.file("pyproject.toml", &pyproject);
    let run = context.pyship(&["package", "echo", "--offline"]).success();
    let text = std::fs::read_to_string(run.stdout.trim()).unwrap();
    let wire: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(wire["protocol"], 3, "{text}");
    assert_eq!(
        wire["deployment"]["run-depends"],
        serde_json::json!([
            {"default": "libpq5 (>= 15)"},
            {"default": "libssl3", "per-family": {"rpm": "openssl-libs"}},
            {"per-family": {"apk": "libpq"}},
        ]),
        "{text}"
    );
    let manifest: pyship_plugin::Manifest = serde_json::from_str(&text).unwrap();
    let depends = manifest.deployment.expect("a deployment").run_depends;
    let rpm = |index: usize| {
        depends[index].name_for("rpm", pyship_plugin::grammar::rpm_form_of_deb_package)
    };
    assert_eq!(rpm(0).as_deref(), Some("libpq5 >= 15"));
    assert_eq!(rpm(1).as_deref(), Some("openssl-libs"));
    assert_eq!(rpm(2), None);
}

#[test]
fn the_deployment_intent_reaches_version_2_plugins_resolved() {
    let mut context = echo_context();
    context.env("PYSHIP_ECHO_PROTOCOLS", "1,2");
    context.file("deploy/hello.toml", "greeting = \"hi\"\n");
    context.file("deploy/scripts/postinst", "echo configured\n");
    let pyproject = context.read("pyproject.toml").replace(
        "[tool.pyship.deb]\n",
        r#"build-number = 3
run-depends = ["libpq5", { deb = "libssl3", rpm = "openssl-libs" }]
user = { name = "hello", home = "/var/lib/hello" }
config-files = [{ source = "deploy/hello.toml", target = "/etc/hello//hello.toml", mode = "0640" }]
scripts = "deploy/scripts"

[tool.pyship.service]
script = "hello-serve"
args = ["--port", "8000"]
environment = { HELLO_ENV = "production" }

[tool.pyship.deb]
"#,
    );
    context.file("pyproject.toml", &pyproject);
    let run = context.pyship(&["package", "echo", "--offline"]).success();
    let manifest: pyship_plugin::Manifest =
        serde_json::from_str(&std::fs::read_to_string(run.stdout.trim()).unwrap()).unwrap();
    let deployment = manifest.deployment.expect("a deployment");
    assert_eq!(deployment.build_number, Some(3));
    // Version 2 plugins get a name per family they know, made by the protocol crate.
    let names = |index: usize| deployment.run_depends[index].per_family.clone();
    assert_eq!(names(0)["rpm"], "libpq5");
    assert_eq!(names(0)["deb"], "libpq5");
    assert_eq!(names(1)["rpm"], "openssl-libs");
    assert!(deployment.run_depends[0].default.is_none());
    let user = deployment.user.expect("a user");
    assert_eq!(
        (user.name.as_str(), user.group.as_str()),
        ("hello", "hello")
    );
    assert_eq!(user.shell, PathBuf::from("/usr/sbin/nologin"));
    assert_eq!(
        deployment.config_files[0].target,
        PathBuf::from("/etc/hello/hello.toml")
    );
    assert_eq!(deployment.config_files[0].mode, 0o640);
    assert!(deployment.config_files[0].source.is_absolute());
    assert!(
        deployment.scripts.after_install.is_some() && deployment.scripts.before_remove.is_none()
    );
    let service = deployment.service.expect("a service");
    assert_eq!(
        service.exec_start,
        ["/opt/venvs/hello/bin/hello-serve", "--port", "8000"]
    );
    assert_eq!(service.user.as_deref(), Some("hello"));
    assert_eq!(service.restart, "on-failure");

    // References that do not resolve are errors with their line.
    let broken = pyproject
        .replace("deploy/hello.toml\"", "deploy/missing.toml\"")
        .replace("script = \"hello-serve\"", "script = \"no-such-script\"");
    context.file("pyproject.toml", &broken);
    let run = context.pyship(&["package", "echo", "--offline"]).code(1);
    assert!(
        run.stderr.contains("deploy/missing.toml` does not exist"),
        "{run}"
    );
    assert!(run.stderr.contains("pyproject.toml:"), "{run}");
    context.file(
        "pyproject.toml",
        &pyproject.replace("script = \"hello-serve\"", "script = \"no-such-script\""),
    );
    let run = context.pyship(&["package", "echo", "--offline"]).code(1);
    assert!(
        run.stderr
            .contains("`no-such-script` is not a console script"),
        "{run}"
    );
}

/// Plugins are other people's programs: they get the environment without pyship's index
/// credentials, index URLs, and anything named like a secret.
#[test]
fn plugins_get_no_secrets_from_the_environment() {
    let mut context = echo_context();
    context
        .env("PYSHIP_ECHO_MODE", "env")
        .env("PYSHIP_INDEX_PASSWORD", "secret-1")
        .env("PYSHIP_INDEX_USERNAME", "bob")
        .env("GITHUB_TOKEN", "secret-2")
        .env("DEPLOY_API_KEY", "secret-3")
        .env(
            "PIP_EXTRA_INDEX_URL",
            "https://bob:secret-4@example.invalid/simple",
        )
        .env("SOME_URL", "https://bob:secret-5@example.invalid/x")
        .env("PYSHIP_TEST_HARMLESS", "kept");
    context.pyship(&["package", "echo", "--offline"]).success();
    let environment =
        std::fs::read_to_string(context.root.join("target/pyship/echo-env.json")).unwrap();
    assert!(!environment.contains("secret-"), "{environment}");
    assert!(
        !environment.contains("PYSHIP_INDEX_USERNAME"),
        "{environment}"
    );
    assert!(
        environment.contains("\"PYSHIP_TEST_HARMLESS\": \"kept\""),
        "{environment}"
    );
    assert!(environment.contains("\"PATH\""), "{environment}");
}

/// A plugin whose `describe` leaves a process holding its stdout does not keep pyship
/// waiting: what it left is killed once it has answered.
#[test]
fn a_describe_that_leaves_a_child_holding_stdout_does_not_hold_pyship() {
    let mut context = echo_context();
    context.env("PYSHIP_ECHO_MODE", "hold-stdout");
    let started = std::time::Instant::now();
    context.pyship(&["package", "echo", "--offline"]).success();
    assert!(
        started.elapsed() < std::time::Duration::from_secs(8),
        "took {:?}",
        started.elapsed()
    );
    std::thread::sleep(std::time::Duration::from_millis(200));
    let left = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|entry| std::fs::read(entry.path().join("cmdline")).ok())
        .any(|cmdline| String::from_utf8_lossy(&cmdline).contains("61.5"));
    assert!(!left, "the describe's child is still running");
}

/// An empty PATH entry (a trailing `:`) or a relative one is the current directory: a
/// `pyship-FORMAT` there is never run.
#[test]
fn plugins_are_not_found_in_the_current_directory() {
    let context = TestContext::hello();
    let marker = context.temp.path().join("hijacked");
    let plugin = context.root.join("pyship-hijack");
    std::fs::write(
        &plugin,
        format!("#!/bin/sh\ntouch {}\nexit 1\n", marker.display()),
    )
    .unwrap();
    std::fs::set_permissions(&plugin, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let path = format!("{}:", std::env::var("PATH").unwrap());
    for args in [
        &["package", "hijack", "--offline"][..],
        &["hijack"],
        &["--list"],
    ] {
        for path in [path.as_str(), ".", "/usr/bin:."] {
            let run = crate::support::Run::from(
                context.command(args).env("PATH", path).output().unwrap(),
            );
            assert!(
                !marker.exists(),
                "{args:?} with PATH={path} ran ./pyship-hijack\n{run}"
            );
            assert!(!run.stdout.contains("hijack"), "{run}");
        }
    }
}

/// A publisher plugin takes artifacts to a destination: this build's (packaged in the format
/// it accepts) or those `pyship package --message-format json` listed, checked first.
#[test]
fn publishers_take_this_builds_artifacts_or_a_listed_set() {
    let context = echo_context();
    let destination = context.temp.path().join("repository");
    let run = context
        .pyship(&[
            "publish",
            "copydir",
            destination.to_str().unwrap(),
            "--offline",
        ])
        .success();
    let published = destination.join("hello_0.1.0-1_amd64.deb");
    assert_eq!(run.stdout.trim(), published.display().to_string(), "{run}");
    assert!(run.stderr.contains("Packaging deb"), "{run}");
    assert!(
        run.stderr.contains("Published `hello_0.1.0-1_amd64.deb`"),
        "{run}"
    );
    let built = context.root.join("target/pyship/hello_0.1.0-1_amd64.deb");
    assert_eq!(
        std::fs::read(&published).unwrap(),
        std::fs::read(&built).unwrap()
    );

    // Package once (the artifact a CI run certifies), publish that set later.
    let run = context
        .pyship(&["package", "deb", "--offline", "--message-format", "json"])
        .success();
    let result: pyship_plugin::PackageResult = serde_json::from_str(run.stdout.trim()).unwrap();
    assert_eq!(result.artifacts.len(), 1);
    assert_eq!(result.artifacts[0].path, built);
    let listed = context.temp.path().join("artifacts.json");
    std::fs::write(&listed, &run.stdout).unwrap();
    let elsewhere = context.temp.path().join("elsewhere");
    let run = context
        .pyship(&[
            "publish",
            "copydir",
            elsewhere.to_str().unwrap(),
            "--artifacts",
            listed.to_str().unwrap(),
        ])
        .success();
    assert!(!run.stderr.contains("Packaging"), "{run}");
    assert!(elsewhere.join("hello_0.1.0-1_amd64.deb").is_file());

    // A listed artifact that changed since is refused before the publisher runs.
    let mut bytes = std::fs::read(&built).unwrap();
    bytes.push(0);
    std::fs::write(&built, bytes).unwrap();
    let run = context.pyship(&[
        "publish",
        "copydir",
        context.temp.path().join("third").to_str().unwrap(),
        "--artifacts",
        listed.to_str().unwrap(),
    ]);
    assert_eq!(run.code, Some(1), "{run}");
    assert!(
        run.stderr.contains("changed since it was packaged"),
        "{run}"
    );
    assert!(!context.temp.path().join("third").exists());

    // A format is not a publisher.
    let run = context.pyship(&["publish", "deb", "/tmp/x", "--offline"]);
    assert_eq!(run.code, Some(1), "{run}");
    assert!(run.stderr.contains("is not a publisher"), "{run}");
}

#[test]
fn on_a_terminal_a_spinner_turns_while_the_plugin_works_and_its_lines_go_above() {
    if !crate::support::requires_tool("script") {
        return;
    }
    let mut context = echo_context();
    context.env("PYSHIP_ECHO_MODE", "slow");
    context.pyship(&["build", "--offline"]).success();
    let screen = crate::hardening::on_a_terminal(&context, "package echo --offline");
    assert!(screen.contains("echo (pyship-echo)"), "{screen}");
    assert!(screen.contains("pyship-echo: packaging hello"), "{screen}");
    assert!(screen.contains("pyship-echo: still here"), "{screen}");
    // Off a terminal, the plugin's lines come as they are, without drawing.
    let run = context.pyship(&["package", "echo", "--offline"]).success();
    assert!(
        run.stderr
            .contains("pyship-echo: packaging hello\npyship-echo: still here\n"),
        "{run}"
    );
    assert!(!run.stderr.contains("echo (pyship-echo)"), "{run}");
}
