//! The scriptlets, in rpm's conventions: `$1` counts the installed instances after the
//! operation (1 on install, 2 on upgrade in `%pre`/`%post`; 0 on erase, 1 on upgrade in
//! `%preun`/`%postun`). What they do matches the deb's scripts: the system account before
//! the files, bytecode after them, the service enabled on install, restarted on upgrade and
//! stopped on erase (only where systemd runs), and nothing left under the prefix on erase.

use std::path::Path;

use pyship_plugin::{Deployment, SystemUser};
use pyship_plugin_kit::service::sh_quote;

/// The four scriptlets; empty where there is nothing to do.
#[derive(Debug, Default)]
pub struct Scriptlets {
    pub pre: String,
    pub post: String,
    pub preun: String,
    pub postun: String,
}

/// `site_packages` is set when the bytecode is compiled at install time.
pub fn scriptlets(
    install_prefix: &Path,
    site_packages: Option<&Path>,
    deployment: &Deployment,
) -> Scriptlets {
    let mut out = Scriptlets::default();
    let prefix = sh_quote(&install_prefix.display().to_string());
    if let Some(user) = &deployment.user {
        out.pre.push_str(&create_user(user));
    }
    if let Some(site_packages) = site_packages {
        let python = sh_quote(&install_prefix.join("bin/python").display().to_string());
        out.post.push_str(&format!(
            "{python} -I -m compileall -q -f -j0 --invalidation-mode checked-hash {} >/dev/null || :\n",
            sh_quote(&site_packages.display().to_string())
        ));
    }
    if let Some(user) = &deployment.user {
        for file in &deployment.config_files {
            if file.mode & 0o004 == 0 && file.mode & 0o040 != 0 {
                out.post.push_str(&format!(
                    "chgrp {} {} || :\n",
                    sh_quote(&user.group),
                    sh_quote(&file.target.display().to_string())
                ));
            }
        }
    }
    if let Some(service) = &deployment.service {
        let unit = sh_quote(&format!("{}.service", service.name));
        // As %systemd_post, %systemd_preun and %systemd_postun_with_restart do.
        out.post.push_str(&format!(
            "if [ $1 -eq 1 ] && command -v systemctl >/dev/null; then\n    systemctl --no-reload preset {unit} >/dev/null 2>&1 || :\n    if [ -d /run/systemd/system ]; then systemctl start {unit} >/dev/null 2>&1 || :; fi\nfi\n"
        ));
        out.preun.push_str(&format!(
            "if [ $1 -eq 0 ] && command -v systemctl >/dev/null; then\n    systemctl --no-reload disable {unit} >/dev/null 2>&1 || :\n    if [ -d /run/systemd/system ]; then systemctl stop {unit} >/dev/null 2>&1 || :; fi\nfi\n"
        ));
        out.postun.push_str(&format!(
            "if [ -d /run/systemd/system ]; then\n    systemctl daemon-reload >/dev/null 2>&1 || :\n    if [ $1 -ge 1 ]; then systemctl try-restart {unit} >/dev/null 2>&1 || :; fi\nfi\n"
        ));
    }
    // Bytecode caches written at run time (or at install time) belong to no package.
    out.postun.push_str(&format!(
        "if [ $1 -eq 0 ] && [ -d {prefix} ]; then\n    find {prefix} -depth -type d -name __pycache__ -exec rm -rf {{}} + 2>/dev/null || :\n    find {prefix} -depth -type d -empty -delete 2>/dev/null || :\nfi\n"
    ));
    out
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
