//! What every package format does with a service: the systemd unit of
//! `[tool.pyship.service]`, generated from the facts (or the user's own file), shell quoting
//! for the scripts that install it, and the check of every deployment value before anything
//! is rendered.

use std::fmt::Write as _;

use pyship_plugin::{Manifest, Service, grammar};

/// Checks every value of `service` against systemd's grammar: pyship refuses these when it
/// loads the project, and a plugin checks again before it writes a unit or a script, so that a
/// manifest from elsewhere cannot add a directive either.
pub fn check_service(service: &Service) -> Result<(), String> {
    let refuse = |what: &str, value: &str, message: String| {
        Err(format!(
            "the service's {what} `{}` cannot be written into a unit: {message}",
            value.escape_debug()
        ))
    };
    if let Err(message) = grammar::unit_name(&service.name) {
        return refuse("name", &service.name, message);
    }
    for (what, value) in [("user", &service.user), ("group", &service.group)] {
        if let Some(value) = value {
            if let Err(message) = grammar::account_name(value) {
                return refuse(what, value, message);
            }
        }
    }
    if let Some(directory) = &service.working_directory {
        let text = directory.to_string_lossy();
        match grammar::plain_absolute_path(&text) {
            Ok(normalized) if normalized == text => {}
            Ok(_) => return refuse("working directory", &text, "it is not normalized".into()),
            Err(message) => return refuse("working directory", &text, message),
        }
    }
    for (name, value) in &service.environment {
        if let Err(message) = grammar::environment_name(name) {
            return refuse("environment variable", name, message);
        }
        if let Err(message) = grammar::single_line(value) {
            return refuse("environment value", value, message);
        }
    }
    for word in &service.exec_start {
        if let Err(message) = grammar::single_line(word) {
            return refuse("command", word, message);
        }
    }
    if let Err(message) = grammar::restart(&service.restart) {
        return refuse("restart", &service.restart, message);
    }
    type Rule = fn(&str) -> Result<(), String>;
    let checks: [(&str, Option<&String>, Rule); 3] = [
        ("type", service.service_type.as_ref(), grammar::service_type),
        (
            "restart delay",
            service.restart_sec.as_ref(),
            grammar::time_span,
        ),
        (
            "syslog identifier",
            service.syslog_identifier.as_ref(),
            grammar::credential_id,
        ),
    ];
    for (what, value, rule) in checks {
        if let Some(value) = value {
            if let Err(message) = rule(value) {
                return refuse(what, value, message);
            }
        }
    }
    for word in service
        .exec_start_pre
        .iter()
        .flatten()
        .chain(&service.exec_reload)
    {
        if let Err(message) = grammar::single_line(word) {
            return refuse("command", word, message);
        }
    }
    for file in &service.environment_files {
        let path = file.strip_prefix('-').unwrap_or(file);
        if let Err(message) = grammar::plain_absolute_path(path) {
            return refuse("environment file", file, message);
        }
    }
    for (id, path) in &service.load_credentials {
        if let Err(message) = grammar::credential_id(id) {
            return refuse("credential", id, message);
        }
        if let Err(message) = grammar::plain_absolute_path(&path.to_string_lossy()) {
            return refuse("credential file", &path.to_string_lossy(), message);
        }
    }
    if let Some(event) = &service.on_calendar {
        if let Err(message) = grammar::calendar_event(event) {
            return refuse("calendar event", event, message);
        }
    }
    for instance in &service.instances {
        if let Err(message) = grammar::unit_instance(instance) {
            return refuse("instance", instance, message);
        }
    }
    if !service.instances.is_empty() && service.name.contains('@') {
        return refuse(
            "name",
            &service.name,
            "a template's name is given without `@`".into(),
        );
    }
    if let Some(level) = &service.hardening {
        if let Err(message) = grammar::hardening(level) {
            return refuse("hardening", level, message);
        }
    }
    for path in &service.read_write_paths {
        let text = path.to_string_lossy();
        if let Err(message) = grammar::plain_absolute_path(&text) {
            return refuse("writable path", &text, message);
        }
    }
    for (kind, directories) in &service.directories {
        if !pyship_plugin::SERVICE_DIRECTORY_KINDS
            .iter()
            .any(|(known, _)| known == kind)
        {
            return refuse(
                "kind of directory",
                kind,
                "it is runtime, state, logs or cache".into(),
            );
        }
        for directory in directories {
            if let Err(message) = grammar::service_directory(directory) {
                return refuse("directory", directory, message);
            }
        }
    }
    Ok(())
}

/// Checks the whole deployment before a plugin renders any of it: the service (see
/// [`check_service`]), the account (names, home, shell), the config files (plain targets, one
/// file each, no set-ID bits) and the system packages (one line each).
pub fn check_deployment(deployment: &pyship_plugin::Deployment) -> Result<(), String> {
    let refuse = |what: &str, value: &str, message: String| {
        Err(format!(
            "the deployment's {what} `{}` is not valid: {message}",
            value.escape_debug()
        ))
    };
    let mut names = std::collections::BTreeSet::new();
    for service in deployment.all_services() {
        check_service(service)?;
        if !names.insert(service.name.as_str()) {
            return refuse(
                "service name",
                &service.name,
                "two services have it; each unit needs a name of its own".into(),
            );
        }
    }
    if let Some(user) = &deployment.user {
        for (what, name) in [("user", &user.name), ("group", &user.group)] {
            if let Err(message) = grammar::account_name(name) {
                return refuse(what, name, message);
            }
        }
        if let Some(home) = &user.home {
            let text = home.to_string_lossy();
            match grammar::owned_directory(&text) {
                Ok(normalized) if normalized == text => {}
                Ok(_) => return refuse("home", &text, "it is not normalized".into()),
                Err(message) => return refuse("home", &text, message),
            }
        }
        let shell = user.shell.to_string_lossy();
        if let Err(message) = grammar::plain_absolute_path(&shell) {
            return refuse("shell", &shell, message);
        }
    }
    let mut targets = std::collections::BTreeSet::new();
    for file in &deployment.config_files {
        let text = file.target.to_string_lossy();
        match grammar::plain_absolute_path(&text) {
            Ok(normalized) if normalized == text => {}
            Ok(_) => return refuse("config file", &text, "it is not normalized".into()),
            Err(message) => return refuse("config file", &text, message),
        }
        if !targets.insert(text.to_string()) {
            return refuse(
                "config file",
                &text,
                "two config files are installed there".into(),
            );
        }
        if let Err(message) = grammar::file_mode(file.mode) {
            return refuse("config file mode of", &text, message);
        }
    }
    if let Some(check) = &deployment.health_check {
        let url_ok = check
            .url
            .as_deref()
            .is_none_or(|url| grammar::single_line(url).is_ok() && url.starts_with("http://"));
        if !url_ok {
            let url = check.url.as_deref().unwrap_or_default();
            return refuse("health check", url, "an http:// URL on one line".into());
        }
        if check.url.is_none() == check.command.is_empty() {
            return refuse(
                "health check",
                &check.command.join(" "),
                "a URL or a command, one of the two".into(),
            );
        }
        for word in &check.command {
            if let Err(message) = grammar::single_line(word) {
                return refuse("health check command", word, message);
            }
        }
        if !(1..=3600).contains(&check.timeout) {
            return refuse(
                "health check timeout",
                &check.timeout.to_string(),
                "seconds from 1 to 3600".into(),
            );
        }
    }
    for command in &deployment.commands {
        if let Err(message) = grammar::console_script(command) {
            return refuse("command", command, message);
        }
    }
    for package in deployment
        .run_depends
        .iter()
        .chain(&deployment.build_depends)
    {
        let default = package
            .default
            .iter()
            .map(|name| (name, grammar::system_package(name)));
        let own = package
            .per_family
            .iter()
            .map(|(family, name)| (name, grammar::family_package(family, name)));
        for (name, checked) in default.chain(own) {
            if let Err(message) = checked {
                return refuse("system package", name, message);
            }
        }
    }
    Ok(())
}

/// Puts `/usr/bin/NAME -> PREFIX/bin/NAME` for each of the deployment's `commands` under
/// `root` (the tree a plugin merges with the staged one).
pub fn link_commands(
    root: &std::path::Path,
    install_prefix: &std::path::Path,
    deployment: &pyship_plugin::Deployment,
) -> Result<(), String> {
    if deployment.commands.is_empty() {
        return Ok(());
    }
    let bin = root.join("usr/bin");
    std::fs::create_dir_all(&bin)
        .map_err(|error| format!("failed to create `{}`: {error}", bin.display()))?;
    for command in &deployment.commands {
        let link = bin.join(command);
        std::os::unix::fs::symlink(install_prefix.join("bin").join(command), &link)
            .map_err(|error| format!("failed to write `{}`: {error}", link.display()))?;
    }
    Ok(())
}

/// systemd's declarations of the account, as current Debian and RHEL packages ship them
/// beside the scripts that create it where systemd does not run: `sysusers.d/PACKAGE.conf`
/// (the user and its group) and, for a home, `tmpfiles.d/PACKAGE.conf` (the directory, owned
/// by it, mode 0750). Paths relative to `/usr/lib`.
pub fn account_declarations(
    package: &str,
    user: &pyship_plugin::SystemUser,
) -> Vec<(std::path::PathBuf, String)> {
    let home = user
        .home
        .as_ref()
        .map_or_else(|| "-".to_string(), |home| home.display().to_string());
    let mut sysusers = format!("# Written by pyship: the account of {package}.\n");
    let id = if user.group == user.name {
        "-".to_string()
    } else {
        let _ = writeln!(sysusers, "g {} -", user.group);
        format!("-:{}", user.group)
    };
    let _ = writeln!(
        sysusers,
        "u {} {id} \"{package} service account\" {home} {}",
        user.name,
        user.shell.display()
    );
    let mut files = vec![(
        std::path::PathBuf::from(format!("sysusers.d/{package}.conf")),
        sysusers,
    )];
    if let Some(home) = &user.home {
        files.push((
            std::path::PathBuf::from(format!("tmpfiles.d/{package}.conf")),
            format!(
                "# Written by pyship: the home of {package}'s account.\nd {} 0750 {} {} -\n",
                home.display(),
                user.name,
                user.group
            ),
        ));
    }
    files
}

/// The unit files installed for the service, each name and its text: `NAME.service`
/// (`NAME@.service` for a template), generated from the facts or the user's own file, and
/// `NAME.timer` for a job on a calendar.
pub fn unit_files(manifest: &Manifest, service: &Service) -> Result<Vec<(String, String)>, String> {
    check_service(service)?;
    let names = service.unit_files();
    let text = match &service.unit_file {
        Some(path) => std::fs::read_to_string(path).map_err(|error| {
            format!("failed to read the unit file `{}`: {error}", path.display())
        })?,
        None => service_unit(manifest, service),
    };
    let mut files = vec![(names[0].clone(), text)];
    if let Some(event) = &service.on_calendar {
        files.push((
            format!("{}.timer", service.name),
            timer_unit(manifest, &service.name, event),
        ));
    }
    Ok(files)
}

/// The first line of the project's summary, as a unit's `Description=`.
fn description(manifest: &Manifest) -> String {
    manifest
        .project
        .summary
        .as_deref()
        .and_then(|summary| summary.lines().next())
        .filter(|summary| !summary.trim().is_empty())
        .unwrap_or(&manifest.project.name)
        .replace(|c: char| c.is_control(), " ")
        .replace('%', "%%")
        .trim()
        .to_string()
}

/// The timer that runs a job: `Persistent=` so that an event missed while the server was
/// off runs at the next boot, as cron's anacron does.
fn timer_unit(manifest: &Manifest, name: &str, event: &str) -> String {
    format!(
        "# Generated by pyship from [tool.pyship.service].\n[Unit]\nDescription={} ({name}, on a calendar)\n\n[Timer]\nOnCalendar={event}\nPersistent=true\n\n[Install]\nWantedBy=timers.target\n",
        description(manifest)
    )
}

/// The generated `.service` unit.
fn service_unit(manifest: &Manifest, service: &Service) -> String {
    let template = !service.instances.is_empty();
    let job = service.on_calendar.is_some();
    // `%i` is the instance in a template's commands; every other `%` is literal.
    let word = |word: &str| systemd_word(word, template);
    let mut text = String::new();
    let _ = writeln!(text, "# Generated by pyship from [tool.pyship.service].");
    let _ = writeln!(text, "[Unit]");
    let mut summary = description(manifest);
    if template {
        summary.push_str(" (instance %i)");
    }
    let _ = writeln!(text, "Description={summary}");
    let _ = writeln!(text, "After=network.target");
    let _ = writeln!(text);
    let _ = writeln!(text, "[Service]");
    let default_type = if job { "oneshot" } else { "simple" };
    let _ = writeln!(
        text,
        "Type={}",
        service.service_type.as_deref().unwrap_or(default_type)
    );
    if let Some(user) = &service.user {
        let _ = writeln!(text, "User={user}");
    }
    if let Some(group) = &service.group {
        let _ = writeln!(text, "Group={group}");
    }
    if let Some(directory) = &service.working_directory {
        let _ = writeln!(text, "WorkingDirectory={}", directory.display());
    }
    for (key, value) in &service.environment {
        let _ = writeln!(text, "Environment={}", word(&format!("{key}={value}")));
    }
    for file in &service.environment_files {
        let _ = writeln!(text, "EnvironmentFile={file}");
    }
    let command_line = |words: &[String]| -> String {
        words
            .iter()
            .map(|one| word(one))
            .collect::<Vec<_>>()
            .join(" ")
    };
    for command in &service.exec_start_pre {
        let _ = writeln!(text, "ExecStartPre={}", command_line(command));
    }
    let _ = writeln!(text, "ExecStart={}", command_line(&service.exec_start));
    if !service.exec_reload.is_empty() {
        let _ = writeln!(text, "ExecReload={}", command_line(&service.exec_reload));
    }
    // A job that fails runs again at its next event.
    if !job {
        let _ = writeln!(text, "Restart={}", service.restart);
    }
    if let Some(delay) = &service.restart_sec {
        let _ = writeln!(text, "RestartSec={delay}");
    }
    if let Some(identifier) = &service.syslog_identifier {
        let _ = writeln!(text, "SyslogIdentifier={identifier}");
    }
    for (id, path) in &service.load_credentials {
        let _ = writeln!(text, "LoadCredential={id}:{}", path.display());
    }
    for (kind, setting) in pyship_plugin::SERVICE_DIRECTORY_KINDS {
        if let Some(directories) = service.directories.get(*kind) {
            let _ = writeln!(text, "{setting}={}", directories.join(" "));
        }
    }
    for line in sandbox(manifest, service) {
        let _ = writeln!(text, "{line}");
    }
    // A job is started by its timer, never at boot by itself.
    if !job {
        let _ = writeln!(text);
        let _ = writeln!(text, "[Install]");
        let _ = writeln!(text, "WantedBy=multi-user.target");
    }
    text
}

/// The sandbox settings of the service's `hardening` level, measured with
/// `systemd-analyze security --offline=true` (systemd 252: 9.2 "UNSAFE" with none, 4.4
/// "OK" with `default`, 1.7 with `strict` for a service with its own account).
///
/// `default` leaves out what would break an ordinary app: `/var`, `/srv` and `/opt` stay
/// writable (ProtectSystem=full guards `/usr`, `/boot` and `/etc`), devices stay reachable
/// (OctoPrint's printer on `/dev/ttyACM0`; PrivateDevices= and ProtectClock= restrict them),
/// namespaces and any system call stay allowed (headless browsers use them). `strict` adds
/// those and makes everything read-only but the service's own directories, its working
/// directory, its account's home and `read-write-paths`.
pub fn sandbox(manifest: &Manifest, service: &Service) -> Vec<String> {
    let level = service.hardening.as_deref().unwrap_or("none");
    if level == "none" {
        return Vec::new();
    }
    let strict = level == "strict";
    // Where the service writes besides systemd's own directories.
    let home = manifest
        .deployment
        .as_ref()
        .and_then(|deployment| deployment.user.as_ref())
        .filter(|user| Some(&user.name) == service.user.as_ref())
        .and_then(|user| user.home.clone());
    let writable: Vec<&std::path::Path> = home
        .iter()
        .chain(&service.working_directory)
        .chain(&service.read_write_paths)
        .map(|path| path.as_path())
        .collect();
    // ProtectHome=yes hides /home, /root and /run/user; a path the service writes there only
    // stays reachable when they are read-only instead.
    let writes_under_home = writable.iter().any(|path| {
        ["/home", "/root", "/run/user"]
            .iter()
            .any(|top| path.starts_with(top))
    });
    let mut lines: Vec<String> = vec![
        "# The sandbox of `hardening = \"{LEVEL}\"`; `hardening = \"none\"` leaves it out."
            .replace("{LEVEL}", level),
        "NoNewPrivileges=yes".into(),
        "PrivateTmp=yes".into(),
        format!("ProtectSystem={}", if strict { "strict" } else { "full" }),
        format!(
            "ProtectHome={}",
            if strict && !writes_under_home {
                "yes"
            } else {
                "read-only"
            }
        ),
        "ProtectKernelTunables=yes".into(),
        "ProtectKernelModules=yes".into(),
        "ProtectKernelLogs=yes".into(),
        "ProtectControlGroups=yes".into(),
        "ProtectHostname=yes".into(),
        "ProtectProc=invisible".into(),
        "RestrictSUIDSGID=yes".into(),
        "RestrictRealtime=yes".into(),
        "LockPersonality=yes".into(),
        "SystemCallArchitectures=native".into(),
        "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK".into(),
    ];
    // A service of its own account needs no capability; root's keep theirs (it may bind
    // port 80 or change owners on purpose).
    let own_account = service.user.as_deref().is_some_and(|user| user != "root");
    if own_account {
        lines.push("CapabilityBoundingSet=".into());
    }
    if strict {
        lines.extend(
            [
                "PrivateDevices=yes",
                "ProtectClock=yes",
                "RestrictNamespaces=yes",
                "SystemCallFilter=@system-service",
                "SystemCallErrorNumber=EPERM",
                "UMask=0027",
            ]
            .map(String::from),
        );
        if own_account {
            lines.push("RemoveIPC=yes".into());
        }
    }
    if !writable.is_empty() {
        // `-`: a path that does not exist yet does not stop the service.
        let paths: Vec<String> = writable
            .iter()
            .map(|path| format!("-{}", path.display()))
            .collect();
        lines.push(format!("ReadWritePaths={}", paths.join(" ")));
    }
    lines
}

/// A word as systemd reads it in `ExecStart=` and `Environment=`: plain when it has nothing
/// special, else double-quoted with `\\`, `"` escaped and control characters written as C
/// escapes (systemd unescapes them; a raw newline would end the directive); `%` and `$` are
/// doubled so that systemd does not expand them.
pub fn systemd_quote(word: &str) -> String {
    systemd_word(word, false)
}

/// [`systemd_quote`], keeping `%i` (the instance of a template) when `instance` is set.
fn systemd_word(word: &str, instance: bool) -> String {
    let mut escaped = String::with_capacity(word.len());
    let mut chars = word.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '%' if instance && chars.peek() == Some(&'i') => {
                chars.next();
                escaped.push_str("%i");
            }
            '%' => escaped.push_str("%%"),
            '$' => escaped.push_str("$$"),
            c => escaped.push(c),
        }
    }
    if !escaped.is_empty()
        && escaped
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+=:,@".contains(c))
    {
        return escaped;
    }
    let mut out = String::from("\"");
    for c in escaped.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let mut buffer = [0u8; 4];
                for byte in c.encode_utf8(&mut buffer).bytes() {
                    let _ = write!(out, "\\x{byte:02x}");
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A single-quoted shell word.
pub fn sh_quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn systemd_words_are_quoted_only_when_needed() {
        assert_eq!(
            systemd_quote("/opt/venvs/hello/bin/hello-serve"),
            "/opt/venvs/hello/bin/hello-serve"
        );
        assert_eq!(systemd_quote("--bind=0.0.0.0:8000"), "--bind=0.0.0.0:8000");
        assert_eq!(systemd_quote("a b"), "\"a b\"");
        assert_eq!(systemd_quote("say \"hi\""), "\"say \\\"hi\\\"\"");
        assert_eq!(systemd_quote("100%"), "\"100%%\"");
        assert_eq!(systemd_quote("$HOME"), "\"$$HOME\"");
        assert_eq!(systemd_quote("a\nExecStartPre=x"), "\"a\\nExecStartPre=x\"");
        assert_eq!(systemd_quote("%i"), "\"%%i\"");
        assert_eq!(
            systemd_word("--config=%i.yaml", true),
            "\"--config=%i.yaml\""
        );
        assert_eq!(systemd_word("100%", true), "\"100%%\"");
    }
}
