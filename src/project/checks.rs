//! Every deployment value of `pyproject.toml` checked when the project loads, against the
//! grammar of the file it will be written into (`pyship_plugin::grammar`): systemd units,
//! Debian control files, RPM tags, account databases, scripts. A value that is not one word of
//! that grammar is refused here, with its line, before any command does any work; the plugins
//! check again before they render.

use std::collections::BTreeSet;
use std::path::Path;

use pyship_plugin::grammar;

use super::{
    ProjectError, PyshipConfig, SystemPackageSpec, TargetSpec, UserSpec, key_path_offset,
    line_and_column,
};

/// Where a setting is written, for messages.
struct Locator<'a> {
    path: &'a Path,
    text: &'a str,
}

impl Locator<'_> {
    /// The error for the value at `keys` (below `[tool.pyship]`).
    fn invalid(&self, keys: &[&str], value: &str, message: String) -> ProjectError {
        let mut path = vec!["tool", "pyship"];
        path.extend(keys);
        // The deepest key that is written (array items and inline tables have no spans of
        // their own in every form).
        let line = (2..=path.len())
            .rev()
            .map(|end| key_path_offset(self.text, &path[..end]))
            .find(|offset| *offset != 0)
            .map_or(0, |offset| line_and_column(self.text, offset).0);
        ProjectError::InvalidSetting {
            path: self.path.to_path_buf(),
            line,
            key: keys.join("."),
            value: value.escape_debug().to_string(),
            message,
        }
    }

    /// `check(value)`, its refusal located at `keys`.
    fn check(
        &self,
        keys: &[&str],
        value: &str,
        check: impl FnOnce(&str) -> Result<(), String>,
    ) -> Result<(), ProjectError> {
        check(value).map_err(|message| self.invalid(keys, value, message))
    }
}

/// Checks `[tool.pyship]` (normalizing the paths it holds) and the format tables.
pub(super) fn check_settings(
    path: &Path,
    text: &str,
    config: &mut PyshipConfig,
    format_options: &std::collections::BTreeMap<String, toml::Table>,
) -> Result<(), ProjectError> {
    let at = Locator { path, text };
    if let Some(prefix) = &config.install_prefix {
        config.install_prefix = Some(
            grammar::install_prefix(prefix)
                .map_err(|message| at.invalid(&["install-prefix"], prefix, message))?,
        );
    }
    if let Some(maintainer) = &config.maintainer {
        at.check(&["maintainer"], maintainer, grammar::single_line)?;
    }
    for (key, specs) in [
        ("run-depends", &config.run_depends),
        ("build-depends", &config.build_depends),
    ] {
        for spec in specs {
            check_system_package(&at, key, spec)?;
        }
    }
    for command in &config.commands {
        at.check(&["commands"], command, grammar::console_script)?;
    }
    for (key, steps) in [
        ("install-steps", &config.install_steps),
        ("upgrade-steps", &config.upgrade_steps),
    ] {
        for step in steps {
            if step.is_empty() {
                return Err(at.invalid(
                    &[key],
                    "[]",
                    "each step is a command and its arguments, not empty".into(),
                ));
            }
            for word in step {
                at.check(&[key], word, grammar::single_line)?;
            }
        }
    }
    if let Some(verify) = &config.verify {
        check_verify(&at, verify)?;
    }
    if let Some(health) = &config.health_check {
        check_health(&at, &["health-check"], health)?;
    }
    if let Some(timeout) = config.health_timeout {
        if !(1..=3600).contains(&timeout) {
            return Err(at.invalid(
                &["health-timeout"],
                &timeout.to_string(),
                "seconds the health check may take: from 1 to 3600".into(),
            ));
        }
    }
    let mut scripts_from = std::collections::BTreeMap::new();
    for (script, distribution) in &config.scripts_from {
        at.check(&["scripts-from"], script, grammar::console_script)?;
        let normalized = <pep508_rs::PackageName as std::str::FromStr>::from_str(distribution)
            .map_err(|error| {
                at.invalid(&["scripts-from", script], distribution, error.to_string())
            })?;
        scripts_from.insert(script.clone(), normalized.to_string());
    }
    config.scripts_from = scripts_from;
    if let Some(directory) = &config.app_directory {
        at.check(&["app-directory"], directory, |directory| {
            let plain = !directory.is_empty()
                && std::path::Path::new(directory)
                    .components()
                    .all(|component| matches!(component, std::path::Component::Normal(_)));
            grammar::single_line(directory).and_then(|()| {
                plain.then_some(()).ok_or_else(|| {
                    "a directory under the install prefix: a relative path without `..`".into()
                })
            })
        })?;
    }
    if let Some(super::AppFilesSpec::Paths(paths)) = &config.app_files {
        for path in paths {
            at.check(&["app-files"], path, |path| {
                let plain = !path.is_empty()
                    && std::path::Path::new(path).components().all(|component| {
                        matches!(
                            component,
                            std::path::Component::Normal(_) | std::path::Component::CurDir
                        )
                    });
                plain.then_some(()).ok_or_else(|| {
                    "a file or directory of the project: a relative path without `..`".into()
                })
            })?;
        }
    }
    check_user(&at, config)?;
    check_config_files(&at, config)?;
    check_service(&at, config)?;
    for target in &config.targets {
        check_target(&at, target)?;
    }
    for (format, table) in format_options {
        check_format_table(&at, &mut vec![format.as_str()], table)?;
    }
    Ok(())
}

fn check_system_package(
    at: &Locator,
    key: &str,
    spec: &SystemPackageSpec,
) -> Result<(), ProjectError> {
    match spec {
        SystemPackageSpec::Everywhere(name) => at.check(&[key], name, grammar::system_package),
        SystemPackageSpec::PerFamily(names) => {
            for (family, name) in names {
                at.check(&[key], family, grammar::packaging_family)?;
                at.check(&[key, family], name, |name| match family.as_str() {
                    "default" => grammar::system_package(name),
                    family => grammar::family_package(family, name),
                })?;
            }
            Ok(())
        }
    }
}

fn check_user(at: &Locator, config: &mut PyshipConfig) -> Result<(), ProjectError> {
    match &mut config.user {
        None => Ok(()),
        Some(UserSpec::Name(name)) => at.check(&["user"], name, grammar::account_name),
        Some(UserSpec::Table(table)) => {
            at.check(&["user", "name"], &table.name, grammar::account_name)?;
            if let Some(group) = &table.group {
                at.check(&["user", "group"], group, grammar::account_name)?;
            }
            if let Some(home) = &table.home {
                table.home = Some(
                    grammar::owned_directory(home)
                        .map_err(|message| at.invalid(&["user", "home"], home, message))?,
                );
            }
            if let Some(shell) = &table.shell {
                table.shell = Some(
                    grammar::plain_absolute_path(shell)
                        .map_err(|message| at.invalid(&["user", "shell"], shell, message))?,
                );
            }
            Ok(())
        }
    }
}

fn check_config_files(at: &Locator, config: &mut PyshipConfig) -> Result<(), ProjectError> {
    let prefix = config.install_prefix.clone();
    let mut targets = BTreeSet::new();
    for file in &mut config.config_files {
        at.check(&["config-files"], &file.source, grammar::single_line)?;
        let target = grammar::plain_absolute_path(&file.target)
            .map_err(|message| at.invalid(&["config-files"], &file.target, message))?;
        if !targets.insert(target.clone()) {
            return Err(at.invalid(
                &["config-files"],
                &file.target,
                "two config files are installed at this target; each target takes one file".into(),
            ));
        }
        let in_prefix = prefix
            .as_deref()
            .is_some_and(|prefix| Path::new(&target).starts_with(prefix));
        let unit_path = ["/lib/systemd/system/", "/usr/lib/systemd/system/"]
            .iter()
            .any(|directory| target.starts_with(directory));
        if in_prefix || unit_path {
            return Err(at.invalid(
                &["config-files"],
                &file.target,
                "the target is a path the package installs itself (the install prefix or the service's unit); choose a path of its own, such as `/etc/NAME/FILE`".into(),
            ));
        }
        file.target = target;
        if let Some(mode) = &file.mode {
            let bits = u32::from_str_radix(mode.trim_start_matches("0o"), 8).map_err(|_| {
                at.invalid(
                    &["config-files"],
                    mode,
                    "`mode` is octal permission bits, e.g. \"0640\"".into(),
                )
            })?;
            grammar::file_mode(bits)
                .map_err(|message| at.invalid(&["config-files"], mode, message))?;
        }
    }
    Ok(())
}

fn check_service(at: &Locator, config: &mut PyshipConfig) -> Result<(), ProjectError> {
    if let Some(service) = &mut config.service {
        check_one_service(at, "service", service)?;
    }
    let mut names = std::collections::BTreeSet::new();
    if let Some(service) = &config.service {
        names.insert(service.name.clone().unwrap_or_default());
    }
    for service in &mut config.services {
        let Some(name) = service.name.clone() else {
            return Err(at.invalid(
                &["services"],
                "",
                "each `[[tool.pyship.services]]` needs a `name`: its unit is NAME.service".into(),
            ));
        };
        if !names.insert(name.clone()) {
            return Err(at.invalid(
                &["services"],
                &name,
                "two services have this name; each unit needs its own".into(),
            ));
        }
        check_one_service(at, "services", service)?;
    }
    Ok(())
}

/// One service's settings; `table` is `service` or `services`, for the line of a message.
fn check_one_service(
    at: &Locator,
    table: &'static str,
    service: &mut super::ServiceSpec,
) -> Result<(), ProjectError> {
    let key = |name| [table, name];
    if let Some(name) = &service.name {
        at.check(&key("name"), name, grammar::unit_name)?;
    }
    if let Some(script) = &service.script {
        at.check(&key("script"), script, |script| {
            let valid = !script.is_empty()
                && !script.starts_with('.')
                && script
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._+-".contains(c));
            valid
                .then_some(())
                .ok_or_else(|| "a console script's name is letters, digits and `._+-`".to_string())
        })?;
    }
    for word in service.command.iter().chain(&service.args) {
        let name = if service.command.contains(word) {
            "command"
        } else {
            "args"
        };
        at.check(&key(name), word, grammar::single_line)?;
    }
    for (name, value) in [("user", &service.user), ("group", &service.group)] {
        if let Some(value) = value {
            at.check(&key(name), value, grammar::account_name)?;
        }
    }
    if let Some(directory) = &service.working_directory {
        service.working_directory = Some(
            grammar::plain_absolute_path(directory)
                .map_err(|message| at.invalid(&key("working-directory"), directory, message))?,
        );
    }
    for (name, value) in &service.environment {
        at.check(&[table, "environment"], name, grammar::environment_name)?;
        at.check(&[table, "environment", name], value, grammar::single_line)?;
    }
    if let Some(restart) = &service.restart {
        at.check(&key("restart"), restart, grammar::restart)?;
    }
    if let Some(file) = &service.unit_file {
        at.check(&key("unit-file"), file, grammar::single_line)?;
    }
    if let Some(value) = &service.service_type {
        at.check(&key("type"), value, grammar::service_type)?;
    }
    for word in service
        .exec_start_pre
        .iter()
        .flatten()
        .chain(&service.exec_reload)
    {
        let name = if service.exec_reload.contains(word) {
            "exec-reload"
        } else {
            "exec-start-pre"
        };
        at.check(&key(name), word, grammar::single_line)?;
    }
    if service.exec_start_pre.iter().any(Vec::is_empty) {
        return Err(at.invalid(
            &key("exec-start-pre"),
            "[]",
            "each entry is a command and its arguments, not empty".into(),
        ));
    }
    if let Some(value) = &service.restart_sec {
        at.check(&key("restart-sec"), value, grammar::time_span)?;
    }
    if let Some(value) = &service.syslog_identifier {
        at.check(&key("syslog-identifier"), value, grammar::credential_id)?;
    }
    for file in &mut service.environment_file {
        let (optional, path) = match file.strip_prefix('-') {
            Some(path) => ("-", path),
            None => ("", file.as_str()),
        };
        let normalized = grammar::plain_absolute_path(path)
            .map_err(|message| at.invalid(&key("environment-file"), path, message))?;
        *file = format!("{optional}{normalized}");
    }
    for (id, path) in &mut service.load_credential {
        at.check(&[table, "load-credential"], id, grammar::credential_id)?;
        *path = grammar::plain_absolute_path(path)
            .map_err(|message| at.invalid(&[table, "load-credential", id], path, message))?;
    }
    if let Some(event) = &service.on_calendar {
        at.check(&key("on-calendar"), event, grammar::calendar_event)?;
        if service.restart.is_some() {
            return Err(at.invalid(
                &key("restart"),
                service.restart.as_deref().unwrap_or_default(),
                "a job on a calendar is not restarted: it runs again at its next event".into(),
            ));
        }
        if !service.instances.is_empty() {
            return Err(at.invalid(
                &key("instances"),
                &service.instances.join(", "),
                "a template's instances cannot also be a job on a calendar: declare one service per timer".into(),
            ));
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    for instance in &service.instances {
        at.check(&key("instances"), instance, grammar::unit_instance)?;
        if !seen.insert(instance) {
            return Err(at.invalid(
                &key("instances"),
                instance,
                "each instance is named once".into(),
            ));
        }
    }
    if let Some(name) = &service.name {
        if name.contains('@') {
            return Err(at.invalid(
                &key("name"),
                name,
                "give the name without `@`; a template unit (`NAME@.service`) comes from `instances = [\"1\", \"2\"]`".into(),
            ));
        }
    }
    if let Some(level) = &service.hardening {
        at.check(&key("hardening"), level, grammar::hardening)?;
        if service.unit_file.is_some() {
            return Err(at.invalid(
                &key("hardening"),
                level,
                "a `unit-file` is installed as written: put the sandbox's settings in it".into(),
            ));
        }
    }
    for path in &mut service.read_write_paths {
        *path = grammar::plain_absolute_path(path)
            .map_err(|message| at.invalid(&key("read-write-paths"), path, message))?;
    }
    for (name, directories) in [
        ("runtime-directory", &service.runtime_directory),
        ("state-directory", &service.state_directory),
        ("logs-directory", &service.logs_directory),
        ("cache-directory", &service.cache_directory),
    ] {
        for directory in directories {
            at.check(&key(name), directory, grammar::service_directory)?;
        }
    }
    Ok(())
}

fn check_target(at: &Locator, target: &TargetSpec) -> Result<(), ProjectError> {
    match target {
        TargetSpec::Preset(name) => at.check(&["targets"], name, grammar::single_line),
        TargetSpec::Explicit {
            preset,
            python,
            platform,
            arch,
            interpreter,
        } => {
            for value in [preset, python, platform].into_iter().flatten() {
                at.check(&["targets"], value, grammar::single_line)?;
            }
            if let Some(arch) = arch {
                at.check(&["targets"], arch, grammar::architecture)?;
            }
            // `ARCH-manylinux_2_N`: its architecture names directories and artifacts too.
            if let Some(platform) = platform {
                let arch = platform
                    .split_once('-')
                    .map_or(platform.as_str(), |(arch, _)| arch);
                at.check(&["targets"], arch, grammar::architecture)?;
            }
            if let Some(interpreter) = interpreter {
                at.check(&["targets"], interpreter, |path| {
                    grammar::plain_absolute_path(path).map(drop)
                })?;
            }
            Ok(())
        }
    }
}

/// A format's options are the plugin's to check, but none of them may hold a control
/// character: every one ends up in a line-based file.
fn check_format_table<'a>(
    at: &Locator,
    keys: &mut Vec<&'a str>,
    table: &'a toml::Table,
) -> Result<(), ProjectError> {
    for (name, value) in table {
        keys.push(name);
        check_format_value(at, keys, value)?;
        keys.pop();
    }
    Ok(())
}

fn check_format_value<'a>(
    at: &Locator,
    keys: &mut Vec<&'a str>,
    value: &'a toml::Value,
) -> Result<(), ProjectError> {
    match value {
        toml::Value::String(text) => at.check(keys, text, grammar::single_line),
        toml::Value::Array(items) => items
            .iter()
            .try_for_each(|item| check_format_value(at, keys, item)),
        toml::Value::Table(table) => check_format_table(at, keys, table),
        _ => Ok(()),
    }
}

/// The files the deployment names exist, checked on load like every other setting (not after
/// a whole stage): config files' sources, the `scripts` directory, the service's `unit-file`.
pub(super) fn check_files(project: &super::Project) -> Result<(), ProjectError> {
    let path = project.pyproject_path();
    let at = Locator {
        path: &path,
        text: &project.text,
    };
    let config = &project.config;
    for file in &config.config_files {
        let source = project.root.join(&file.source);
        if !source.is_file() {
            return Err(at.invalid(
                &["config-files"],
                &file.source,
                format!("`{}` does not exist", source.display()),
            ));
        }
    }
    for file in &config.requirements {
        if !project.root.join(file).is_file() {
            return Err(at.invalid(
                &["requirements"],
                file,
                format!("`{}` does not exist", project.root.join(file).display()),
            ));
        }
    }
    if let Some(super::AppFilesSpec::Paths(paths)) = &config.app_files {
        for path in paths {
            if project.root.join(path).symlink_metadata().is_err() {
                return Err(at.invalid(
                    &["app-files"],
                    path,
                    format!("`{}` does not exist", project.root.join(path).display()),
                ));
            }
        }
    }
    if let Some(directory) = &config.scripts {
        let root = project.root.join(directory);
        if !root.is_dir() {
            return Err(at.invalid(
                &["scripts"],
                directory,
                format!("`{}` is not a directory", root.display()),
            ));
        }
    }
    let unit_files = config
        .service
        .iter()
        .map(|service| ("service", service))
        .chain(config.services.iter().map(|service| ("services", service)))
        .filter_map(|(table, service)| Some((table, service.unit_file.as_ref()?)));
    for (table, file) in unit_files {
        let path = project.root.join(file);
        if !path.is_file() {
            return Err(at.invalid(
                &[table, "unit-file"],
                file,
                format!("`{}` does not exist", path.display()),
            ));
        }
    }
    Ok(())
}

/// A health check: an `http://` URL with a host, or a command and its arguments.
fn check_health(
    at: &Locator<'_>,
    key: &[&str],
    health: &super::HealthSpec,
) -> Result<(), ProjectError> {
    match health {
        super::HealthSpec::Url(url) => at.check(key, url, |url| {
            grammar::single_line(url)?;
            let parsed = reqwest::Url::parse(url).map_err(|error| error.to_string())?;
            (parsed.scheme() == "http" && parsed.host_str().is_some())
                .then_some(())
                .ok_or_else(|| {
                    "an http:// URL the service answers on the server (http://127.0.0.1:PORT/PATH), or a command".into()
                })
        }),
        super::HealthSpec::Command(words) => {
            if words.is_empty() {
                return Err(at.invalid(
                    key,
                    "[]",
                    "a command and its arguments, not empty".into(),
                ));
            }
            for word in words {
                at.check(key, word, grammar::single_line)?;
            }
            Ok(())
        }
    }
}

/// `[tool.pyship.verify]`: commands that are commands, a health check that is one, a timeout
/// that ends.
fn check_verify(at: &Locator<'_>, verify: &super::VerifySpec) -> Result<(), ProjectError> {
    let command = |key: &str, words: &[String]| -> Result<(), ProjectError> {
        if words.is_empty() {
            return Err(at.invalid(
                &["verify", key],
                "[]",
                "a command and its arguments, not empty".into(),
            ));
        }
        for word in words {
            at.check(&["verify", key], word, grammar::single_line)?;
        }
        Ok(())
    };
    for words in &verify.commands {
        command("commands", words)?;
    }
    if let Some(health) = &verify.health {
        check_health(at, &["verify", "health"], health)?;
    }
    if verify.timeout == Some(0) {
        return Err(at.invalid(
            &["verify", "timeout"],
            "0",
            "seconds a check may take: at least 1".into(),
        ));
    }
    Ok(())
}
