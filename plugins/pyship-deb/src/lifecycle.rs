//! What a deployment needs beyond its files: the systemd unit of `[tool.pyship.service]`, the
//! system account of `user`, and the maintainer scripts that create, enable, start, stop and
//! clean them up, combined with the user's own fragments the way debhelper does.
//!
//! The generated parts follow what Debian's helpers do for a service (dh_installsystemd,
//! adduser conventions), guarded so that they also work where systemd is not running (a
//! chroot, a container, an image build): units are enabled with `deb-systemd-helper` when it
//! is there and started or restarted only when systemd runs, through `deb-systemd-invoke`,
//! which honours `policy-rc.d`.
//!
//! Every script honours `$DPKG_ROOT` (set by `dpkg --root DIR --force-script-chrootless`, empty
//! otherwise): paths are taken under it, and the commands that must run on the installed system
//! (adduser, getent, the virtualenv's Python) run there through `chroot`.

use std::fmt::Write as _;
use std::path::Path;

use pyship_plugin::{Deployment, SystemUser};
use pyship_plugin_kit::lifecycle::{self, Action, Moment};
use pyship_plugin_kit::service::sh_quote;

/// The maintainer scripts of a package; `None` where it needs none.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Scripts {
    pub preinst: Option<String>,
    pub postinst: Option<String>,
    pub prerm: Option<String>,
    pub postrm: Option<String>,
    /// The `triggers` control file: the system Python's library directory, whose change
    /// (a point upgrade of the interpreter under the venv) calls `postinst triggered`.
    pub triggers: Option<String>,
}

/// A double-quoted shell word (lintian reads adduser's `--home` only unquoted or in double
/// quotes).
fn sh_double_quote(word: &str) -> String {
    let mut out = String::from("\"");
    for c in word.chars() {
        if matches!(c, '"' | '$' | '`' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// The scripts for `deployment`: the shared lifecycle plan rendered in dpkg's terms, the
/// user's fragments placed where the plan puts them. `site_packages` (absolute, on the
/// server) is set when the modules are compiled at install time.
pub fn scripts(
    package: &str,
    install_prefix: &Path,
    site_packages: Option<&Path>,
    python_version: &str,
    deployment: &Deployment,
) -> Result<Scripts, String> {
    // It names a directory in the `triggers` file: nothing else may ride along.
    pyship_plugin::grammar::python_version(python_version)?;
    let plan = lifecycle::plan(install_prefix, site_packages, deployment);
    let triggered = triggered(install_prefix, &plan);
    let script = |name: &str, moments: &[Moment]| -> Result<Option<String>, String> {
        let mut generated = String::new();
        let mut fragment = None;
        let mut generated_first = true;
        for moment in moments {
            for action in plan.at(*moment) {
                match action {
                    Action::Fragment { path } => {
                        // A fragment after the generated part (install) or before it (removal).
                        generated_first = !generated.is_empty() || *moment == Moment::AfterInstall;
                        fragment = Some(path.as_path());
                    }
                    action => generated.push_str(&render(package, action)),
                }
            }
        }
        if name == "postinst" {
            generated.insert_str(0, &triggered);
        }
        combine(name, &generated, fragment, generated_first)
    };
    Ok(Scripts {
        preinst: script("preinst", &[Moment::BeforeInstall])?,
        postinst: script("postinst", &[Moment::AfterInstall])?,
        prerm: script("prerm", &[Moment::BeforeRemove])?,
        postrm: script("postrm", &[Moment::AfterRemove, Moment::Purge])?,
        triggers: Some(format!(
            "interest-noawait /usr/lib/python{python_version}\n"
        )),
    })
}

/// `postinst triggered`: the system Python the venv runs on was upgraded (its library
/// directory changed); see [`lifecycle::interpreter_changed`].
fn triggered(install_prefix: &Path, plan: &lifecycle::Plan) -> String {
    format!(
        "if [ \"$1\" = triggered ]; then\n{}    exit 0\nfi\n",
        indent(&lifecycle::interpreter_changed(
            install_prefix,
            plan,
            sh_quote
        ))
    )
}

/// One action in dpkg's terms: guarded by the script's arguments so that it runs only for the
/// operation it belongs to (`configure`, `remove`, `purge`).
fn render(package: &str, action: &Action) -> String {
    let path = |path: &Path| sh_quote(&path.display().to_string());
    match action {
        Action::CreateAccount(user) => create_user(package, user),
        Action::CompileBytecode {
            python,
            site_packages,
        } => INSTALL_BYTECODE
            .replace("#PYTHON#", &path(python))
            .replace("#SITE#", &path(site_packages)),
        Action::ShareConfigWithGroup { path: file, group } => format!(
            "if [ \"$1\" = configure ]; then\n    pyship_in_root chgrp {} {}\nfi\n",
            sh_quote(group),
            path(file)
        ),
        // deb-systemd-helper (bookworm's 1.65) cannot read an instance's unit (it looks for
        // `NAME@INSTANCE.service`, fails, and re-enables it on upgrade): instances are enabled
        // by systemctl itself, on first install only.
        Action::StartService { unit } if unit.contains('@') => {
            INSTANCE_POSTINST.replace("#UNIT#", &sh_quote(unit))
        }
        Action::StartService { unit } => SERVICE_POSTINST.replace("#UNIT#", &sh_quote(unit)),
        Action::RemoveBytecode { prefix } => REMOVE_BYTECODE.replace("#PREFIX#", &path(prefix)),
        Action::StopService { unit } if unit.contains('@') => {
            INSTANCE_PRERM.replace("#UNIT#", &sh_quote(unit))
        }
        Action::StopService { unit } => SERVICE_PRERM.replace("#UNIT#", &sh_quote(unit)),
        // The instance was disabled while its template was there.
        Action::ForgetService { unit } if unit.contains('@') => SERVICE_POSTRM_RELOAD.to_string(),
        Action::ForgetService { unit } => SERVICE_POSTRM.replace("#UNIT#", &sh_quote(unit)),
        Action::PurgeService { unit } if unit.contains('@') => String::new(),
        Action::PurgeService { unit } => SERVICE_PURGE.replace("#UNIT#", &sh_quote(unit)),
        Action::CleanPrefix { prefix } => BYTECODE_POSTRM.replace("#PREFIX#", &path(prefix)),
        // The account's home holds the service's state: purge removes it, but only when this
        // package made it (the postinst left the marker); a home that was there before
        // (`/var/www`, another package's directory) is never removed.
        Action::RemoveHome { home } => {
            let marker = sh_quote(&lifecycle::home_marker(package));
            format!(
                "if [ \"$1\" = purge ] && [ -f \"$DPKG_ROOT\"{marker} ]; then\n    rm -rf \"$DPKG_ROOT\"{}\n    rm -f \"$DPKG_ROOT\"{marker}\n    rmdir \"$DPKG_ROOT\"/var/lib/pyship 2>/dev/null || true\nfi\n",
                path(home)
            )
        }
        Action::Fragment { .. } => String::new(),
        // Where systemd runs, the services have been (re)started: the check waits for them.
        Action::CheckHealth {
            check,
            python,
            user,
            services,
        } => {
            let body = lifecycle::health_step(
                check,
                python,
                user.as_deref(),
                "the new version is installed but not healthy (dpkg leaves it unconfigured): see `journalctl -e`, and go back by installing the previous version (`apt-get install NAME=VERSION` or `dpkg -i` its .deb)",
                sh_quote,
            );
            let running = if *services {
                " && [ -d \"$DPKG_ROOT\"/run/systemd/system ]"
            } else {
                ""
            };
            format!(
                "if [ \"$1\" = configure ] && [ -z \"${{DPKG_ROOT:-}}\" ]{running}; then\n{}fi\n",
                indent(&body)
            )
        }
        // Not when dpkg installs into another root: the package's programs are not runnable
        // there.
        Action::RunStep {
            command,
            user,
            on_upgrade,
        } => {
            let test = if *on_upgrade { "-n" } else { "-z" };
            let body = lifecycle::step_script(command, user.as_deref(), *on_upgrade, sh_quote);
            format!(
                "if [ \"$1\" = configure ] && [ {test} \"${{2:-}}\" ] && [ -z \"${{DPKG_ROOT:-}}\" ]; then\n{}fi\n",
                indent(&body)
            )
        }
    }
}

/// `text` indented by four spaces, line by line.
fn indent(text: &str) -> String {
    text.lines().map(|line| format!("    {line}\n")).collect()
}

/// One script from the generated part and the user's fragment. A fragment with a
/// `#DEBHELPER#` line is the whole script, the generated part put there (as debhelper
/// does); any other fragment runs in a subshell, after the generated part in `preinst` and
/// `postinst` and before it in `prerm` and `postrm`, so that an `exit 0` in it ends only it.
fn combine(
    name: &str,
    generated: &str,
    fragment: Option<&Path>,
    generated_first: bool,
) -> Result<Option<String>, String> {
    let helper = if generated.contains("pyship_in_root") {
        IN_ROOT
    } else {
        ""
    };
    let header = format!("#!/bin/sh\n# {name} written by pyship-deb\nset -e\n\n{helper}\n");
    // What the fragment is told, in the words every format uses.
    let action = if fragment.is_some() {
        PYSHIP_ACTION
    } else {
        ""
    };
    let Some(path) = fragment else {
        return Ok((!generated.is_empty()).then(|| format!("{header}{generated}\nexit 0\n")));
    };
    let text = std::fs::read_to_string(path)
        .map_err(|error| format!("failed to read `{}`: {error}", path.display()))?;
    if text.lines().any(|line| line.trim() == "#DEBHELPER#") {
        let mut out = String::new();
        for line in text.lines() {
            if line.trim() == "#DEBHELPER#" {
                let _ = writeln!(out, "# Generated by pyship-deb:");
                out.push_str(action);
                out.push_str(helper);
                out.push_str(generated);
            } else {
                out.push_str(line);
                out.push('\n');
            }
        }
        return Ok(Some(out));
    }
    // `:` keeps the subshell valid when the fragment holds only comments.
    let user_part = format!(
        "# From {}:\n(\n:\n{}\n)\n",
        path.file_name()
            .map_or_else(String::new, |name| name.to_string_lossy().into_owned()),
        text.trim_end()
    );
    let (first, second) = if generated_first {
        (generated.to_string(), user_part)
    } else {
        (user_part, generated.to_string())
    };
    Ok(Some(format!("{header}{action}{first}\n{second}\nexit 0\n")))
}

/// `PYSHIP_ACTION` from dpkg's arguments: `install`, `upgrade`, `remove`, `purge` or `abort`.
const PYSHIP_ACTION: &str = r##"case "${1:-}" in
    configure) if [ -n "${2:-}" ]; then PYSHIP_ACTION=upgrade; else PYSHIP_ACTION=install; fi ;;
    abort-*|failed-upgrade) PYSHIP_ACTION=abort ;;
    disappear) PYSHIP_ACTION=remove ;;
    *) PYSHIP_ACTION=${1:-} ;;
esac
export PYSHIP_ACTION
"##;

/// Runs a command on the system being installed: itself, or under `chroot "$DPKG_ROOT"`.
const IN_ROOT: &str = r##"pyship_in_root() {
    if [ -n "${DPKG_ROOT:-}" ]; then
        chroot "$DPKG_ROOT" "$@"
    else
        "$@"
    fi
}
"##;

/// The system account, created once with adduser's conventions for system users; its home
/// (when it has one) made and owned by it.
fn create_user(package: &str, user: &SystemUser) -> String {
    let name = sh_quote(&user.name);
    let group = sh_quote(&user.group);
    let mut text = String::new();
    let _ = writeln!(text, "if [ \"$1\" = configure ]; then");
    let _ = writeln!(
        text,
        "    if ! pyship_in_root getent group {group} >/dev/null; then\n        pyship_in_root addgroup --quiet --system {group}\n    fi"
    );
    let home = user.home.as_ref().map_or_else(
        || "/nonexistent".to_string(),
        |home| home.display().to_string(),
    );
    let _ = writeln!(
        text,
        "    if ! pyship_in_root getent passwd {name} >/dev/null; then\n        pyship_in_root adduser --quiet --system --ingroup {group} --home {} --no-create-home --shell {} --gecos {} {name}\n    fi",
        sh_double_quote(&home),
        sh_quote(&user.shell.display().to_string()),
        sh_quote(&format!("{package} service account"))
    );
    if user.home.is_some() {
        let home = sh_quote(&home);
        let _ = writeln!(
            text,
            "    if [ ! -d \"$DPKG_ROOT\"{home} ]; then\n        mkdir -p \"$DPKG_ROOT\"{home}\n        pyship_in_root chown {name}:{group} {home}\n        chmod 0750 \"$DPKG_ROOT\"{home}\n        mkdir -p \"$DPKG_ROOT\"/var/lib/pyship\n        : >\"$DPKG_ROOT\"{}\n    fi",
            sh_quote(&lifecycle::home_marker(package))
        );
    }
    let _ = writeln!(text, "fi");
    text
}

/// Bytecode compiled on the server, by the interpreter that will import it (checked-hash
/// pycs, valid whatever mtimes dpkg sets); a module that does not compile is the package's
/// bug, as with pip, and does not fail the installation.
const INSTALL_BYTECODE: &str = r##"if [ "$1" = configure ]; then
    pyship_in_root #PYTHON# -I -m compileall -q -f -j0 --invalidation-mode checked-hash #SITE# >/dev/null || true
fi
"##;

/// The pycs compiled at install time belong to no package: removed before dpkg removes the
/// files, so that the directories empty.
const REMOVE_BYTECODE: &str = r##"if [ "$1" = remove ] || [ "$1" = deconfigure ]; then
    if [ -d "$DPKG_ROOT"#PREFIX# ]; then
        find "$DPKG_ROOT"#PREFIX# -depth -type d -name __pycache__ -exec rm -rf {} + 2>/dev/null || true
    fi
fi
"##;

const SERVICE_POSTINST: &str = r##"if [ "$1" = configure ] || [ "$1" = abort-upgrade ] || [ "$1" = abort-deconfigure ] || [ "$1" = abort-remove ]; then
    # Enable on first install; on upgrade keep the administrator's choice.
    if command -v deb-systemd-helper >/dev/null; then
        deb-systemd-helper unmask #UNIT# >/dev/null || true
        if deb-systemd-helper --quiet was-enabled #UNIT#; then
            deb-systemd-helper enable #UNIT# >/dev/null || true
        else
            deb-systemd-helper update-state #UNIT# >/dev/null || true
        fi
    fi
    # Start on install, restart on upgrade; only where systemd runs.
    if [ -d "$DPKG_ROOT"/run/systemd/system ]; then
        systemctl --system daemon-reload >/dev/null || true
        if [ -n "$2" ]; then
            deb-systemd-invoke restart #UNIT# >/dev/null || true
        else
            deb-systemd-invoke start #UNIT# >/dev/null || true
        fi
    fi
fi
"##;

const INSTANCE_POSTINST: &str = r##"if [ "$1" = configure ] || [ "$1" = abort-upgrade ] || [ "$1" = abort-deconfigure ] || [ "$1" = abort-remove ]; then
    # Enable on first install; on upgrade keep the administrator's choice.
    if [ -z "$2" ] && command -v systemctl >/dev/null; then
        systemctl --quiet enable #UNIT# >/dev/null 2>&1 || true
    fi
    if [ -d "$DPKG_ROOT"/run/systemd/system ]; then
        systemctl --system daemon-reload >/dev/null || true
        if [ -n "$2" ]; then
            if systemctl --quiet is-enabled #UNIT# 2>/dev/null; then
                deb-systemd-invoke restart #UNIT# >/dev/null || true
            fi
        else
            deb-systemd-invoke start #UNIT# >/dev/null || true
        fi
    fi
fi
"##;

const INSTANCE_PRERM: &str = r##"if [ "$1" = remove ]; then
    if [ -d "$DPKG_ROOT"/run/systemd/system ]; then
        deb-systemd-invoke stop #UNIT# >/dev/null || true
    fi
    if command -v systemctl >/dev/null; then
        systemctl --quiet disable #UNIT# >/dev/null 2>&1 || true
    fi
fi
"##;

const SERVICE_POSTRM_RELOAD: &str = r##"if [ "$1" = remove ] && [ -d "$DPKG_ROOT"/run/systemd/system ]; then
    systemctl --system daemon-reload >/dev/null || true
fi
"##;

const SERVICE_PRERM: &str = r##"if [ "$1" = remove ] && [ -d "$DPKG_ROOT"/run/systemd/system ]; then
    deb-systemd-invoke stop #UNIT# >/dev/null || true
fi
"##;

const SERVICE_POSTRM: &str = r##"if [ "$1" = remove ] && [ -d "$DPKG_ROOT"/run/systemd/system ]; then
    systemctl --system daemon-reload >/dev/null || true
fi
if [ "$1" = remove ] && command -v deb-systemd-helper >/dev/null; then
    deb-systemd-helper mask #UNIT# >/dev/null || true
fi
"##;

const SERVICE_PURGE: &str = r##"if [ "$1" = purge ] && command -v deb-systemd-helper >/dev/null; then
    deb-systemd-helper purge #UNIT# >/dev/null || true
    deb-systemd-helper unmask #UNIT# >/dev/null || true
fi
"##;

/// Bytecode caches Python may write at run time belong to no package: remove and purge
/// delete them so that nothing stays under the install prefix.
const BYTECODE_POSTRM: &str = r##"if [ "$1" = remove ] || [ "$1" = purge ]; then
    if [ -d "$DPKG_ROOT"#PREFIX# ]; then
        find "$DPKG_ROOT"#PREFIX# -depth -type d -name __pycache__ -exec rm -rf {} + 2>/dev/null || true
        find "$DPKG_ROOT"#PREFIX# -depth -type d -empty -delete 2>/dev/null || true
    fi
fi
"##;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fragments_with_the_debhelper_token_hold_the_generated_part() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("postinst");
        std::fs::write(
            &path,
            "#!/bin/sh\nset -e\necho before\n#DEBHELPER#\necho after\n",
        )
        .unwrap();
        let script = combine("postinst", "echo generated\n", Some(&path), true)
            .unwrap()
            .unwrap();
        let before = script.find("before").unwrap();
        let generated = script.find("generated").unwrap();
        let after = script.find("after").unwrap();
        assert!(before < generated && generated < after, "{script}");
        assert!(!script.contains("#DEBHELPER#"));
    }

    #[test]
    fn other_fragments_run_in_a_subshell_around_the_generated_part() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("prerm");
        std::fs::write(&path, "#!/bin/sh\necho mine\nexit 0\n").unwrap();
        let script = combine("prerm", "echo generated\n", Some(&path), false)
            .unwrap()
            .unwrap();
        assert!(script.find("mine").unwrap() < script.find("generated").unwrap());
        assert!(
            script.contains("(\n:\n#!/bin/sh\necho mine\nexit 0\n)\n"),
            "{script}"
        );
        assert!(script.starts_with("#!/bin/sh\n") && script.contains("set -e\n"));
        assert_eq!(combine("preinst", "", None, true).unwrap(), None);
    }
}

/// Property: the account values of a deployment, arbitrary, are either refused by the
/// deployment check, or the postinst, run with stand-ins for adduser and its helpers, passes
/// each of them to adduser as exactly one argument, unchanged.
#[cfg(test)]
mod account_fuzz {
    use std::path::PathBuf;

    use proptest::prelude::*;
    use pyship_plugin::{Deployment, SystemUser};

    /// Mostly names and paths that may well be valid, sometimes hostile text.
    fn value() -> impl Strategy<Value = String> {
        let name = proptest::collection::vec(
            proptest::sample::select(&["app", "a", "_", "-", "1", "x", "www-data"][..]),
            1..4,
        )
        .prop_map(|pieces| pieces.concat());
        let path = proptest::collection::vec(
            proptest::sample::select(&["var", "lib", "srv", "app", "x-1", "a_b", "bin", "sh"][..]),
            1..4,
        )
        .prop_map(|pieces| format!("/{}", pieces.join("/")));
        let piece = prop_oneof![
            4 => proptest::sample::select(&[
                "app", "_x", "-", "/", "/var/lib/", "..", " ", "\n", "'", "\"", "$(id)", "`id`",
                "\\", ";", "*", "~", "é", "/bin/sh",
            ][..]).prop_map(str::to_string),
            1 => any::<String>(),
        ];
        let hostile = proptest::collection::vec(piece, 0..5).prop_map(|pieces| pieces.concat());
        prop_oneof![2 => name, 2 => path, 1 => hostile]
    }

    /// Stand-ins that log their arguments one a line, then `---`.
    fn stubs(directory: &std::path::Path) {
        let log = directory.join("log");
        for name in ["getent", "addgroup", "adduser", "chown", "chroot"] {
            let body = match name {
                "getent" => "exit 2".to_string(),
                "chroot" => "shift\nexec \"$@\"".to_string(),
                _ => format!(
                    "printf '%s\\n' {name} \"$@\" >>'{}'\necho --- >>'{}'",
                    log.display(),
                    log.display()
                ),
            };
            let path = directory.join(name);
            std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
            std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755))
                .unwrap();
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
        #[test]
        fn account_values_are_refused_or_passed_as_one_argument_each(
            field in 0usize..4,
            text in value(),
        ) {
            let mut user = SystemUser {
                name: "app".into(),
                group: "app".into(),
                home: Some(PathBuf::from("/var/lib/app")),
                shell: PathBuf::from("/usr/sbin/nologin"),
            };
            match field {
                0 => user.name = text.clone(),
                1 => user.group = text.clone(),
                2 => user.home = Some(PathBuf::from(&text)),
                _ => user.shell = PathBuf::from(&text),
            }
            let deployment = Deployment { user: Some(user.clone()), ..Deployment::default() };
            if pyship_plugin_kit::service::check_deployment(&deployment).is_err() {
                return Ok(());
            }
            let scripts = super::scripts(
                "app-pkg",
                std::path::Path::new("/opt/venvs/app"),
                None,
                "3.11",
                &deployment,
            )
            .map_err(TestCaseError::fail)?;
            let postinst = scripts.postinst.expect("a postinst creates the account");
            let scratch = tempfile::tempdir().unwrap();
            let bin = scratch.path().join("bin");
            let root = scratch.path().join("root");
            std::fs::create_dir_all(&bin).unwrap();
            std::fs::create_dir_all(&root).unwrap();
            stubs(&bin);
            let script = scratch.path().join("postinst");
            std::fs::write(&script, &postinst).unwrap();
            let status = std::process::Command::new("sh")
                .arg(&script)
                .arg("configure")
                .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
                .env("DPKG_ROOT", &root)
                .status()
                .unwrap();
            prop_assert!(status.success(), "{}", postinst);
            let log = std::fs::read_to_string(bin.join("log")).unwrap();
            let calls: Vec<Vec<&str>> = log
                .split("---\n")
                .filter(|call| !call.is_empty())
                .map(|call| call.lines().collect())
                .collect();
            let home = user.home.as_ref().unwrap().display().to_string();
            let shell = user.shell.display().to_string();
            let expected_adduser = vec![
                "adduser", "--quiet", "--system", "--ingroup", user.group.as_str(),
                "--home", home.as_str(), "--no-create-home", "--shell", shell.as_str(),
                "--gecos", "app-pkg service account", user.name.as_str(),
            ];
            prop_assert_eq!(
                &calls[0],
                &vec!["addgroup", "--quiet", "--system", user.group.as_str()]
            );
            prop_assert_eq!(&calls[1], &expected_adduser);
            let owner = format!("{}:{}", user.name, user.group);
            prop_assert_eq!(&calls[2], &vec!["chown", owner.as_str(), home.as_str()]);
            prop_assert!(root.join(home.trim_start_matches('/')).is_dir());
        }
    }
}
