//! The command line itself: help, --list, unknown commands, external subcommands.

use crate::support::{TestContext, repo_root};

#[test]
fn help_teaches_the_commands_and_exit_codes() {
    let context = TestContext::new();
    let run = context.pyship(&["--help"]).success();
    for needle in [
        "lock",
        "fetch",
        "build",
        "package",
        "Exit status:",
        "pyship-NAME",
    ] {
        assert!(run.stdout.contains(needle), "help lacks {needle}:\n{run}");
    }
}

#[test]
fn no_arguments_shows_help_and_fails_as_usage() {
    let context = TestContext::new();
    let run = context.pyship(&[]).code(2);
    assert!(run.stderr.contains("Usage:"), "{run}");
}

#[test]
fn list_shows_builtins_and_plugins_with_summaries() {
    let mut context = TestContext::new();
    context.path_prepend(&repo_root().join("testdata/plugins"));
    let run = context.pyship(&["--list"]).success();
    assert!(run.stdout.contains("lock"), "{run}");
    assert!(
        run.stdout.contains("deb             Debian .deb packages"),
        "{run}"
    );
    assert!(
        run.stdout.contains("echo            copies the manifest"),
        "{run}"
    );
}

#[test]
fn unknown_command_suggests_a_similar_one_and_exits_2() {
    let context = TestContext::new();
    let run = context.pyship(&["debb"]).code(2);
    assert!(
        run.stderr.contains("error: no such command: `debb`"),
        "{run}"
    );
    assert!(
        run.stderr
            .contains("help: a command with a similar name exists: `deb`"),
        "{run}"
    );
    assert!(
        run.stderr
            .contains("help: view all installed commands with `pyship --list`"),
        "{run}"
    );
    assert!(
        run.stderr
            .contains("available commands: init, lock, fetch, build, package, publish, verify, sbom, run, export, tree, cache, completions, man, apt, deb, rpm, tarball, vendors"),
        "{run}"
    );
}

#[test]
fn external_subcommand_runs_the_plugin_with_cargo_argv() {
    let mut context = TestContext::new();
    context.path_prepend(&repo_root().join("testdata/plugins"));
    // `pyship echo describe` runs `pyship-echo echo describe`.
    let run = context.pyship(&["echo", "describe"]).success();
    let describe: pyship_plugin::Describe =
        serde_json::from_str(run.stdout.trim()).expect("a describe document");
    assert_eq!(describe.name, "echo");
    // The Rust helper strips the name too: `pyship deb describe`.
    let run = context.pyship(&["deb", "describe"]).success();
    assert!(run.stdout.contains("\"formats\":[\"deb\"]"), "{run}");
}

#[test]
fn external_subcommand_passes_the_exit_code_on() {
    let context = TestContext::new();
    let run = context.pyship(&["deb", "no-such-verb"]);
    assert_eq!(run.code, Some(2), "{run}");
    assert!(
        run.stderr.contains("unknown command `no-such-verb`"),
        "{run}"
    );
}

/// `pyship deb` (a format listed by `--list`) with nothing else points to `pyship package deb`.
#[test]
fn a_format_run_as_a_command_points_to_package() {
    let context = TestContext::hello();
    let run = context.pyship(&["deb"]);
    assert_eq!(run.code, Some(2), "{run}");
    assert!(run.stderr.contains("run `pyship package deb`"), "{run}");
}

/// Errors are never silenced (`-qq` included), and `error:`/`hint:` are coloured when colour
/// is on: CLICOLOR_FORCE turns it on into a pipe, NO_COLOR and `--color never` off.
#[test]
fn errors_show_with_qq_and_are_coloured_when_asked() {
    let context = TestContext::new();
    let run = |args: &[&str], force: bool| {
        let mut command = context.command(args);
        command.env_remove("NO_COLOR");
        if force {
            command.env("CLICOLOR_FORCE", "1");
        }
        crate::support::Run::from(command.output().unwrap())
    };
    let quiet = run(&["-qq", "lock"], false);
    assert_eq!(quiet.code, Some(1), "{quiet}");
    assert!(
        quiet.stderr.contains("error: no `pyproject.toml`"),
        "{quiet}"
    );
    let coloured = run(&["lock"], true);
    assert!(
        coloured
            .stderr
            .contains("\x1b[1;31merror\x1b[0m: no `pyproject.toml`")
            && coloured.stderr.contains("\x1b[1;36mhint\x1b[0m:"),
        "{coloured}"
    );
    let never = run(&["--color", "never", "lock"], true);
    assert!(!never.stderr.contains('\x1b'), "{never}");
}

#[test]
fn commands_find_the_project_from_a_subdirectory() {
    let context = crate::support::TestContext::hello();
    let run = context
        .command(&["lock", "--offline"])
        .current_dir(context.root.join("src/hello"))
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(context.root.join("pylock.toml").is_file());
    assert!(!context.root.join("src/hello/pylock.toml").exists());
}

#[test]
fn completions_and_the_manual_come_from_the_command_line_definition() {
    let context = crate::support::TestContext::new();
    let run = context.pyship(&["completions", "bash"]).success();
    assert!(run.stdout.contains("_pyship()"), "{run}");
    assert!(run.stdout.contains("package"), "{run}");
    let script = context.temp.path().join("pyship.bash");
    std::fs::write(&script, &run.stdout).unwrap();
    let checked = std::process::Command::new("bash")
        .arg("-n")
        .arg(&script)
        .status()
        .unwrap();
    assert!(checked.success(), "bash refuses the completion script");
    let run = context.pyship(&["completions", "fish"]).success();
    assert!(run.stdout.contains("complete -c pyship"), "{run}");
    let run = context.pyship(&["man"]).success();
    assert!(run.stdout.contains(".TH pyship 1"), "{run}");
    assert!(run.stdout.contains("init"), "{run}");
}
