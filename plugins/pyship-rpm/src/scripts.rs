//! The shared lifecycle plan rendered as rpm scriptlets. In rpm's conventions `$1` counts the
//! installed instances after the operation (1 on install, 2 on upgrade in `%pre`/`%post`; 0 on
//! erase, 1 on upgrade in `%preun`/`%postun`): removal actions run only at 0, the user's
//! fragments always, with `PYSHIP_ACTION` saying which. rpm has no purge: the account's home
//! stays, as the account does.

use std::fmt::Write as _;
use std::path::Path;

use pyship_plugin::{Deployment, SystemUser};
use pyship_plugin_kit::lifecycle::{self, Action, Moment};
use pyship_plugin_kit::service::sh_quote;

/// The four scriptlets; empty where there is nothing to do.
#[derive(Debug, Default)]
pub struct Scriptlets {
    pub pre: String,
    pub post: String,
    pub preun: String,
    pub postun: String,
    /// The file trigger on the interpreter's own modules (see
    /// [`lifecycle::interpreter_changed`]).
    pub interpreter_changed: String,
}

/// `site_packages` is set when the bytecode is compiled at install time.
pub fn scriptlets(
    install_prefix: &Path,
    site_packages: Option<&Path>,
    deployment: &Deployment,
) -> Result<Scriptlets, String> {
    let plan = lifecycle::plan(install_prefix, site_packages, deployment);
    let scriptlet = |moment: Moment| -> Result<String, String> {
        let installing = matches!(moment, Moment::BeforeInstall | Moment::AfterInstall);
        let mut out = String::new();
        for action in plan.at(moment) {
            match action {
                Action::Fragment { path } => out.push_str(&fragment(path, installing)?),
                action if installing => out.push_str(&render(action)),
                // Removal actions only when the package goes, not on upgrade.
                action => {
                    let _ = write!(out, "if [ $1 -eq 0 ]; then\n{}fi\n", render(action));
                }
            }
        }
        Ok(out)
    };
    Ok(Scriptlets {
        pre: scriptlet(Moment::BeforeInstall)?,
        post: scriptlet(Moment::AfterInstall)?,
        preun: scriptlet(Moment::BeforeRemove)?,
        postun: scriptlet(Moment::AfterRemove)?,
        interpreter_changed: lifecycle::interpreter_changed(install_prefix, &plan, sh_quote),
    })
}

/// One action as Fedora's packaging guidelines and systemd macros do it.
fn render(action: &Action) -> String {
    let path = |path: &Path| sh_quote(&path.display().to_string());
    match action {
        Action::CreateAccount(user) => create_user(user),
        Action::CompileBytecode {
            python,
            site_packages,
        } => format!(
            "{} -I -m compileall -q -f -j0 --invalidation-mode checked-hash {} >/dev/null || :\n",
            path(python),
            path(site_packages)
        ),
        Action::ShareConfigWithGroup { path: file, group } => {
            format!("chgrp {} {} || :\n", sh_quote(group), path(file))
        }
        // As %systemd_post (preset on first install) and %systemd_postun_with_restart.
        Action::StartService { unit } => {
            let unit = sh_quote(unit);
            format!(
                "if command -v systemctl >/dev/null; then\n    if [ $1 -eq 1 ]; then systemctl --no-reload preset {unit} >/dev/null 2>&1 || :; fi\n    if [ -d /run/systemd/system ]; then\n        systemctl daemon-reload >/dev/null 2>&1 || :\n        if [ $1 -eq 1 ]; then systemctl start {unit} >/dev/null 2>&1 || :; else systemctl try-restart {unit} >/dev/null 2>&1 || :; fi\n    fi\nfi\n"
            )
        }
        Action::RemoveBytecode { prefix } => format!(
            "find {0} -depth -type d -name __pycache__ -exec rm -rf {{}} + 2>/dev/null || :\n",
            path(prefix)
        ),
        // As %systemd_preun.
        Action::StopService { unit } => {
            let unit = sh_quote(unit);
            format!(
                "if command -v systemctl >/dev/null; then\n    systemctl --no-reload disable {unit} >/dev/null 2>&1 || :\n    if [ -d /run/systemd/system ]; then systemctl stop {unit} >/dev/null 2>&1 || :; fi\nfi\n"
            )
        }
        Action::ForgetService { .. } => {
            "if [ -d /run/systemd/system ]; then systemctl daemon-reload >/dev/null 2>&1 || :; fi\n"
                .to_string()
        }
        Action::CleanPrefix { prefix } => format!(
            "if [ -d {0} ]; then\n    find {0} -depth -type d -name __pycache__ -exec rm -rf {{}} + 2>/dev/null || :\n    find {0} -depth -type d -empty -delete 2>/dev/null || :\nfi\n",
            path(prefix)
        ),
        // `$1` is 1 on a first install, more on an upgrade.
        Action::RunStep {
            command,
            user,
            on_upgrade,
        } => {
            let test = if *on_upgrade { "-gt" } else { "-eq" };
            let body = lifecycle::step_script(command, user.as_deref(), *on_upgrade, sh_quote);
            let body: String = body.lines().map(|line| format!("    {line}\n")).collect();
            format!("if [ $1 {test} 1 ]; then\n{body}fi\n")
        }
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
                "the new version is installed but not healthy: see `journalctl -e`, and go back with `dnf downgrade` or `rpm -U --oldpackage` of the previous rpm",
                sh_quote,
            );
            let body: String = body.lines().map(|line| format!("    {line}\n")).collect();
            let when = if *services {
                "[ -d /run/systemd/system ]"
            } else {
                "true"
            };
            format!("if {when}; then\n{body}fi\n")
        }
        // rpm has no purge.
        Action::PurgeService { .. } | Action::RemoveHome { .. } | Action::Fragment { .. } => {
            String::new()
        }
    }
}

/// The user's fragment in a subshell (its `exit` ends only it), told `PYSHIP_ACTION`.
fn fragment(path: &Path, installing: bool) -> Result<String, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| format!("failed to read `{}`: {error}", path.display()))?;
    let action = if installing {
        "if [ $1 -eq 1 ]; then PYSHIP_ACTION=install; else PYSHIP_ACTION=upgrade; fi"
    } else {
        "if [ $1 -eq 0 ]; then PYSHIP_ACTION=remove; else PYSHIP_ACTION=upgrade; fi"
    };
    let name = path
        .file_name()
        .map_or_else(String::new, |name| name.to_string_lossy().into_owned());
    Ok(format!(
        "# From {name}:\n(\n{action}\nexport PYSHIP_ACTION\n:\n{}\n) || exit $?\n",
        text.trim_end()
    ))
}

/// The system account, as Fedora's packaging guidelines create one (`useradd -r`), with its
/// home made and owned by it when it has one.
fn create_user(user: &SystemUser) -> String {
    let name = sh_quote(&user.name);
    let group = sh_quote(&user.group);
    let home = sh_quote(
        &user
            .home
            .as_ref()
            .map_or_else(|| "/".to_string(), |home| home.display().to_string()),
    );
    let shell = sh_quote(&user.shell.display().to_string());
    let mut text = format!(
        "getent group {group} >/dev/null || groupadd -r {group}\n\
         getent passwd {name} >/dev/null || useradd -r -g {group} -d {home} -M -s {shell} -c {} {name}\n",
        sh_quote(&format!("{} service account", user.name))
    );
    if user.home.is_some() {
        text.push_str(&format!(
            "if [ ! -d {home} ]; then\n    mkdir -p {home}\n    chown {name}:{group} {home}\n    chmod 0750 {home}\nfi\n"
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use pyship_plugin::MaintainerScripts;

    #[test]
    fn the_users_fragments_are_in_the_scriptlets() {
        let directory = tempfile::tempdir().unwrap();
        let write = |name: &str| {
            let path = directory.path().join(name);
            std::fs::write(&path, format!("echo {name}-ran\n")).unwrap();
            Some(path)
        };
        let deployment = Deployment {
            scripts: MaintainerScripts {
                before_install: write("preinst"),
                after_install: write("postinst"),
                before_remove: write("prerm"),
                after_remove: write("postrm"),
            },
            ..Deployment::default()
        };
        let scriptlets = scriptlets(Path::new("/opt/app"), None, &deployment).unwrap();
        for (text, name) in [
            (&scriptlets.pre, "preinst"),
            (&scriptlets.post, "postinst"),
            (&scriptlets.preun, "prerm"),
            (&scriptlets.postun, "postrm"),
        ] {
            assert!(text.contains(&format!("echo {name}-ran")), "{name}: {text}");
            assert!(text.contains("export PYSHIP_ACTION"), "{text}");
        }
    }
}
