//! What a deployment fact may hold, by the grammar of the file it is written into.
//!
//! Facts end up in files that servers read as root: systemd units, Debian control files, RPM
//! tags, maintainer scripts, account databases. Each of those grammars has its own idea of a
//! line, a list and a word, and a value that is not one word of it adds or changes fields (a
//! newline in an `Environment=` value adds an `ExecStartPre=`). pyship checks every value
//! against these rules when it loads the project; plugins check again before they render, so
//! a manifest written by hand or by another tool cannot slip past them either.
//!
//! Every function returns `Err(rule)`: what the value must look like, for the message.

/// The largest `SOURCE_DATE_EPOCH` every format can record: RPM's build time and file times
/// are 32-bit unsigned (2106-02-07); tar's and ar's fields hold more.
pub const MAX_SOURCE_DATE_EPOCH: u64 = u32::MAX as u64;

/// systemd's `Restart=` values.
pub const RESTART_VALUES: &[&str] = &[
    "no",
    "on-success",
    "on-failure",
    "on-abnormal",
    "on-watchdog",
    "on-abort",
    "always",
];

/// Debian's priorities (Policy 2.5).
pub const DEB_PRIORITIES: &[&str] = &["required", "important", "standard", "optional", "extra"];

/// No control character (a newline, a carriage return, a tab, NUL…): every file a fact is
/// written into is line-based.
pub fn single_line(value: &str) -> Result<(), String> {
    match value.chars().find(|c| c.is_control()) {
        None => Ok(()),
        Some(c) => Err(format!(
            "it contains the control character {c:?}; values are written into line-based files (units, control files, scripts) and must be one line"
        )),
    }
}

/// A system account or group name: adduser's rule for system accounts (`NAME_REGEX_SYSTEM`),
/// which useradd, sysusers.d and systemd's `User=` accept too.
pub fn account_name(name: &str) -> Result<(), String> {
    let valid = !name.is_empty()
        && name.len() <= 32
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if valid {
        Ok(())
    } else {
        Err("account and group names are 1 to 32 lowercase letters, digits, `_` and `-`, starting with a letter or `_`".into())
    }
}

/// A systemd unit name without its suffix (`hello`, `hello-worker`, `hello@`): systemd's
/// characters, no path separator, not hidden.
pub fn unit_name(name: &str) -> Result<(), String> {
    let valid = !name.is_empty()
        && name.len() <= 200
        && !name.starts_with(['.', '-'])
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ":_.-@".contains(c))
        && name.matches('@').count() <= 1;
    if valid {
        Ok(())
    } else {
        Err("a unit name is letters, digits and `:_.-` (at most one `@`), not starting with `.` or `-`: it becomes the file name NAME.service".into())
    }
}

/// An environment variable's name: a shell identifier.
pub fn environment_name(name: &str) -> Result<(), String> {
    let valid = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if valid {
        Ok(())
    } else {
        Err(
            "an environment variable's name is letters, digits and `_`, not starting with a digit"
                .into(),
        )
    }
}

/// A value of systemd's `Restart=`.
pub fn restart(value: &str) -> Result<(), String> {
    if RESTART_VALUES.contains(&value) {
        Ok(())
    } else {
        Err(format!(
            "systemd's `Restart=` takes one of {}",
            RESTART_VALUES.join(", ")
        ))
    }
}

/// systemd's `Type=` values.
pub const SERVICE_TYPES: &[&str] = &["simple", "exec", "forking", "oneshot", "notify", "idle"];

/// systemd's `Type=`.
pub fn service_type(value: &str) -> Result<(), String> {
    if SERVICE_TYPES.contains(&value) {
        Ok(())
    } else {
        Err(format!(
            "systemd's `Type=` takes one of {}",
            SERVICE_TYPES.join(", ")
        ))
    }
}

/// The levels of a service's sandbox (`hardening`): `default` keeps apps that write under
/// `/var`, `/srv`, `/opt` and talk to devices working; `strict` makes the whole system
/// read-only but the service's own directories and hides devices; `none` writes no setting.
pub const HARDENING_LEVELS: &[&str] = &["default", "strict", "none"];

/// A service's `hardening` level.
pub fn hardening(value: &str) -> Result<(), String> {
    if HARDENING_LEVELS.contains(&value) {
        Ok(())
    } else {
        Err(format!(
            "the sandbox level is one of {}",
            HARDENING_LEVELS.join(", ")
        ))
    }
}

/// A calendar event of a timer's `OnCalendar=` (`daily`, `*-*-* 03:00:00`, `Mon..Fri 9:00`):
/// one line of letters, digits, spaces and `-:*/,.~+`, which systemd parses further when the
/// timer loads (`systemd-analyze calendar` shows what it means).
pub fn calendar_event(value: &str) -> Result<(), String> {
    let valid = !value.trim().is_empty()
        && value.len() <= 200
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || " -:*/,.~+".contains(c));
    if valid {
        Ok(())
    } else {
        Err("a calendar event as systemd's `OnCalendar=` takes it (`daily`, `*-*-* 03:00:00`, `Mon..Fri 09:00`): letters, digits, spaces and `-:*/,.~+`".into())
    }
}

/// An instance of a template unit (`NAME@INSTANCE.service`): letters, digits and `._-`.
pub fn unit_instance(value: &str) -> Result<(), String> {
    let valid = !value.is_empty()
        && value.len() <= 100
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
    if valid {
        Ok(())
    } else {
        Err("an instance name is letters, digits and `._-` (`1`, `federation-sender`)".into())
    }
}

/// A Python `X.Y` version, as paths of the interpreter's directories hold it (`3.11`).
pub fn python_version(value: &str) -> Result<(), String> {
    let valid = value.split_once('.').is_some_and(|(major, minor)| {
        [major, minor].iter().all(|part| {
            !part.is_empty() && part.len() <= 3 && part.chars().all(|c| c.is_ascii_digit())
        })
    });
    if valid {
        Ok(())
    } else {
        Err(format!(
            "a Python version is `X.Y` (`3.11`), not `{}`",
            value.escape_debug()
        ))
    }
}

/// A systemd time span as pyship writes it: a number and an optional unit (`500ms`, `5s`,
/// `2min`, `1h`).
pub fn time_span(value: &str) -> Result<(), String> {
    let digits = value.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = &value[digits.len()..];
    if !digits.is_empty()
        && digits.chars().all(|c| c.is_ascii_digit())
        && ["", "us", "ms", "s", "min", "h"].contains(&unit)
    {
        Ok(())
    } else {
        Err("a time span: a number and an optional unit (`500ms`, `5s`, `2min`, `1h`)".into())
    }
}

/// A directory systemd makes for a service under `/run`, `/var/lib`, `/var/log` or
/// `/var/cache` (`RuntimeDirectory=` …): a relative path of letters, digits and `._-`, steps
/// separated by `/`, no `.` or `..` step.
pub fn service_directory(value: &str) -> Result<(), String> {
    let valid = !value.is_empty()
        && value.split('/').all(|step| {
            !step.is_empty()
                && step != "."
                && step != ".."
                && step
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
        });
    if valid {
        Ok(())
    } else {
        Err("a directory name relative to systemd's own (`myapp`, `myapp/sessions`): letters, digits and `._-`, no `..`".into())
    }
}

/// A credential's name in `LoadCredential=ID:PATH`: letters, digits and `._-`.
pub fn credential_id(value: &str) -> Result<(), String> {
    let valid = !value.is_empty()
        && value.len() <= 255
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
    if valid {
        Ok(())
    } else {
        Err("a credential name is letters, digits and `._-`".into())
    }
}

/// A plain absolute path, normalized (`//` and a trailing `/` dropped): no `.` or `..` steps,
/// not `/` itself, and only the characters no script, unit or control file quotes or expands
/// (`[A-Za-z0-9/._+-]`), so that it can be written anywhere as it is.
pub fn plain_absolute_path(path: &str) -> Result<String, String> {
    const RULE: &str = "a plain absolute path of letters, digits and `/._+-`, without `.` or `..` steps (such as `/opt/venvs/NAME`)";
    if !path.starts_with('/') {
        return Err(format!("it must be {RULE}"));
    }
    if let Some(c) = path
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "/._+-".contains(*c)))
    {
        return Err(format!("it contains {c:?}; it must be {RULE}"));
    }
    let mut steps = Vec::new();
    for step in path.split('/').filter(|step| !step.is_empty()) {
        if step == "." || step == ".." {
            return Err(format!("it contains `{step}`; it must be {RULE}"));
        }
        steps.push(step);
    }
    if steps.is_empty() {
        return Err(format!("it is `/`; it must be {RULE}"));
    }
    Ok(format!("/{}", steps.join("/")))
}

/// Directories other packages and the system share: a prefix there, or one of them, would
/// make removing the package clean up (empty directories, bytecode caches) beyond its own.
const SHARED_DIRECTORIES: &[&str] = &[
    "/opt/venvs",
    "/usr/bin",
    "/usr/sbin",
    "/usr/lib",
    "/usr/lib32",
    "/usr/lib64",
    "/usr/libexec",
    "/usr/include",
    "/usr/share",
    "/usr/src",
    "/usr/games",
    "/usr/local",
    "/usr/local/bin",
    "/usr/local/etc",
    "/usr/local/games",
    "/usr/local/include",
    "/usr/local/lib",
    "/usr/local/lib64",
    "/usr/local/libexec",
    "/usr/local/man",
    "/usr/local/sbin",
    "/usr/local/share",
    "/usr/local/src",
    "/var/lib",
    "/var/cache",
    "/var/log",
    "/var/spool",
    "/var/tmp",
    "/var/opt",
    "/var/mail",
    "/var/run",
    "/var/lock",
    "/var/backups",
    "/var/local",
    "/var/www",
    "/etc/opt",
    "/srv/www",
];

/// An install prefix: a plain absolute path that is a directory of the application's own,
/// not a directory of the system or one that other packages share (`/usr`, `/opt`,
/// `/usr/local/lib`, `/opt/venvs`).
pub fn install_prefix(path: &str) -> Result<String, String> {
    let normalized = plain_absolute_path(path)?;
    let top_level = normalized.matches('/').count() == 1;
    if top_level || SHARED_DIRECTORIES.contains(&normalized.as_str()) {
        return Err(format!(
            "`{normalized}` is a directory the system or other packages share, and removing the package would clean up inside it; use a directory of the application's own, such as `/opt/venvs/NAME` or `{normalized}/NAME`"
        ));
    }
    Ok(normalized)
}

/// A path the package creates and may remove (an account's home): a plain absolute path at
/// least two steps deep (`/var/lib/hello`, never `/var` or `/`).
pub fn owned_directory(path: &str) -> Result<String, String> {
    let normalized = plain_absolute_path(path)?;
    if normalized.matches('/').count() < 2 {
        return Err(format!(
            "`{normalized}` is a top-level directory; give a directory of the application's own, such as `/var/lib/NAME`"
        ));
    }
    Ok(normalized)
}

/// Permission bits of an installed file: no set-user-ID, set-group-ID or sticky bit (a
/// setuid file is never shipped by accident).
pub fn file_mode(mode: u32) -> Result<(), String> {
    if mode <= 0o777 {
        Ok(())
    } else {
        Err(format!(
            "mode {mode:04o} has the set-user-ID, set-group-ID or sticky bit; give permission bits from 0000 to 0777"
        ))
    }
}

/// A target architecture as a machine names it (`x86_64`, `aarch64`, `armv7l`).
pub fn architecture(arch: &str) -> Result<(), String> {
    let valid = !arch.is_empty()
        && arch.len() <= 32
        && arch
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if valid {
        Ok(())
    } else {
        Err(
            "an architecture is lowercase letters, digits and `_`, such as `x86_64` or `aarch64`"
                .into(),
        )
    }
}

/// A system package of `run-depends`/`build-depends`: one package name, optionally with one
/// version bound in Debian's form (`libpq5`, `libssl3 (>= 3.0)`); a list or alternatives
/// belong in the format's own relation options.
pub fn system_package(entry: &str) -> Result<(), String> {
    const RULE: &str = "one package name, optionally with a version bound such as `libpq5 (>= 15)`; list several packages as several entries";
    let (name, bound) = match entry.split_once('(') {
        Some((name, rest)) => (name.trim_end(), Some(rest)),
        None => (entry, None),
    };
    if !package_name(name) {
        return Err(format!("`{}` is not {RULE}", entry.escape_debug()));
    }
    if let Some(rest) = bound {
        let Some(inner) = rest.strip_suffix(')') else {
            return Err(format!("`{}` is not {RULE}", entry.escape_debug()));
        };
        if version_bound(inner).is_none() {
            return Err(format!("`{}` is not {RULE}", entry.escape_debug()));
        }
    }
    Ok(())
}

/// The parts of a version bound `>= 1.0` (Debian's operators).
pub fn version_bound(bound: &str) -> Option<(&str, &str)> {
    let bound = bound.trim();
    let operator = [">=", "<=", "<<", ">>", "="]
        .into_iter()
        .find(|operator| bound.starts_with(operator))?;
    let version = bound[operator.len()..].trim();
    let valid = !version.is_empty()
        && version.starts_with(|c: char| c.is_ascii_digit())
        && version
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".+~:-".contains(c));
    valid.then_some((operator, version))
}

/// A console script's name: a file name of the virtualenv's `bin/` (and of `/usr/bin` for
/// `commands`), never a path.
pub fn console_script(name: &str) -> Result<(), String> {
    let valid = !name.is_empty()
        && !name.starts_with(['.', '-'])
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._+-".contains(c));
    if valid {
        Ok(())
    } else {
        Err(
            "a console script's name is letters, digits and `._+-`, not starting with `.` or `-`"
                .into(),
        )
    }
}

/// A package name both Debian (Policy 5.6.1) and RPM accept: lowercase letters, digits and
/// `+.-`, starting with a letter or digit, at least two characters.
pub fn package_name(name: &str) -> bool {
    name.len() >= 2
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+.-".contains(c))
}

/// One entry of a Debian relationship field (Policy 7.1): alternatives separated by `|`, each
/// a package name with an optional `:arch` and an optional version bound. Commas (which would
/// start another entry) and anything else are refused.
pub fn deb_relation(entry: &str) -> Result<(), String> {
    single_line(entry)?;
    for alternative in entry.split('|') {
        let alternative = alternative.trim();
        let (name, bound) = match alternative.split_once('(') {
            Some((name, rest)) => (name.trim_end(), Some(rest)),
            None => (alternative, None),
        };
        let name = name.split_once(':').map_or(name, |(name, arch)| {
            if arch.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
                name
            } else {
                ""
            }
        });
        let bound_ok = match bound {
            None => true,
            Some(rest) => rest
                .strip_suffix(')')
                .is_some_and(|inner| version_bound(inner).is_some()),
        };
        if !package_name(name) || !bound_ok {
            return Err(format!(
                "`{}` is not one Debian relation: package names with an optional version bound (`libpq5 (>= 15)`), alternatives joined by `|`; give each relation as its own entry",
                entry.escape_debug()
            ));
        }
    }
    Ok(())
}

/// A Debian revision or RPM release: letters, digits and `+.~_` (no `-`, which separates the
/// version from it, and nothing that would be a path).
pub fn release(value: &str) -> Result<(), String> {
    let valid = !value.is_empty()
        && value.len() <= 64
        && value.starts_with(|c: char| c.is_ascii_alphanumeric())
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+.~_".contains(c))
        && !value.contains("..");
    if valid {
        Ok(())
    } else {
        Err(
            "a revision or release is letters, digits and `+.~_`, starting with a letter or digit"
                .into(),
        )
    }
}

/// A Debian section (`python`, `contrib/net`).
pub fn deb_section(value: &str) -> Result<(), String> {
    let valid = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+-./".contains(c))
        && !value.starts_with(['/', '.']);
    if valid {
        Ok(())
    } else {
        Err("a Debian section is lowercase letters, digits and `+-./`, such as `python` or `contrib/net`".into())
    }
}

/// A Debian priority.
pub fn deb_priority(value: &str) -> Result<(), String> {
    if DEB_PRIORITIES.contains(&value) {
        Ok(())
    } else {
        Err(format!(
            "a Debian priority is one of {}",
            DEB_PRIORITIES.join(", ")
        ))
    }
}

/// One RPM dependency: `NAME`, `NAME OP VERSION` or a rich dependency in parentheses, on one
/// line; never a list (a comma would make rpm read several).
pub fn rpm_dependency(entry: &str) -> Result<(), String> {
    single_line(entry)?;
    let rule = || {
        format!(
            "`{}` is not one RPM dependency: `NAME`, `NAME >= VERSION` or a rich dependency in parentheses; give each as its own entry",
            entry.escape_debug()
        )
    };
    if entry.starts_with('(') {
        let balanced = entry.ends_with(')')
            && entry.chars().filter(|c| *c == '(').count()
                == entry.chars().filter(|c| *c == ')').count();
        return if balanced && !entry.contains(',') {
            Ok(())
        } else {
            Err(rule())
        };
    }
    let words: Vec<&str> = entry.split(' ').collect();
    let name_ok = |name: &str| {
        !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._+-()/".contains(c))
    };
    let valid = match words.as_slice() {
        [name] => name_ok(name),
        [name, operator, version] => {
            name_ok(name)
                && ["<", ">", "<=", ">=", "="].contains(operator)
                && !version.is_empty()
                && version
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || ".+~:_-".contains(c))
        }
        _ => false,
    };
    if valid { Ok(()) } else { Err(rule()) }
}

/// A Debian relation entry `name (op version)` in RPM's form `name op version`.
/// A system package named for one packaging family (`run-depends = [{ rpm = "libpq" }]`):
/// in that family's own form for the families whose form is known (`deb`, `rpm`), one name
/// on one line for any other.
pub fn family_package(family: &str, name: &str) -> Result<(), String> {
    match family {
        "deb" => deb_relation(name),
        "rpm" => rpm_dependency(name),
        _ => single_line(name).and_then(|()| {
            if name.contains(',') {
                Err("one package per entry; list several as several entries".into())
            } else {
                Ok(())
            }
        }),
    }
}

/// A packaging family's name as a per-family key: a lowercase word (`deb`, `rpm`, `apk`).
pub fn packaging_family(family: &str) -> Result<(), String> {
    let valid = !family.is_empty()
        && family
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if valid {
        Ok(())
    } else {
        Err("a packaging family is a lowercase word such as `deb` or `rpm`".into())
    }
}

/// A dependency in Debian's form (`libssl3 (>= 3.0)`) written as RPM writes it
/// (`libssl3 >= 3.0`).
pub fn rpm_form_of_deb_package(entry: &str) -> String {
    match entry.split_once('(') {
        Some((name, rest)) => {
            let inner = rest.trim_end_matches(')');
            match version_bound(inner) {
                Some((operator, version)) => {
                    let operator = match operator {
                        "<<" => "<",
                        ">>" => ">",
                        other => other,
                    };
                    format!("{} {operator} {version}", name.trim())
                }
                None => entry.to_string(),
            }
        }
        None => entry.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_unit_and_path_values_keep_to_their_characters() {
        assert!(python_version("3.11").is_ok());
        for bad in ["3", "3.11\ninterest /etc", "3.x", "../3.11", "3.11.2"] {
            assert!(python_version(bad).is_err(), "{bad}");
        }
        assert!(calendar_event("*-*-* 03:00:00").is_ok());
        assert!(calendar_event("daily\nUser=root").is_err());
        assert!(calendar_event("100%").is_err());
        assert!(unit_instance("federation-sender").is_ok());
        for bad in ["", "a/b", "a b", "%i", "a\nb"] {
            assert!(unit_instance(bad).is_err(), "{bad}");
        }
        assert!(hardening("strict").is_ok());
        assert!(hardening("tight").is_err());
    }

    #[test]
    fn newlines_and_other_controls_are_refused() {
        assert!(single_line("hi there").is_ok());
        for bad in ["a\nb", "a\rb", "a\tb", "a\0b", "a\u{85}b"] {
            assert!(single_line(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn install_prefixes_are_the_applications_own() {
        assert_eq!(
            install_prefix("/opt/venvs//hello/").as_deref(),
            Ok("/opt/venvs/hello")
        );
        for good in [
            "/opt/hello",
            "/srv/app",
            "/usr/lib/hello",
            "/usr/local/hello",
        ] {
            assert!(install_prefix(good).is_ok(), "{good}");
        }
        for bad in [
            "/usr",
            "/var",
            "/opt",
            "/opt/venvs",
            "/usr/local/lib",
            "/usr/share",
            "/var/www",
            "/",
            "/opt/a b",
            "/opt/../etc",
        ] {
            assert!(install_prefix(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn relations_are_one_entry_each() {
        for good in [
            "libpq5",
            "libpq5 (>= 15)",
            "aa | bb (<< 2.0~rc1)",
            "python3:any",
        ] {
            assert!(deb_relation(good).is_ok(), "{good}");
        }
        for bad in ["a, b", "a\nEssential: yes", "A", "a (>= )", "a (~ 1)"] {
            assert!(deb_relation(bad).is_err(), "{bad}");
        }
        assert!(system_package("libssl3 (>= 3.0)").is_ok());
        assert!(system_package("a, b | c").is_err());
        assert_eq!(
            rpm_form_of_deb_package("libssl3 (>= 3.0)"),
            "libssl3 >= 3.0"
        );
        assert_eq!(rpm_form_of_deb_package("x (<< 2)"), "x < 2");
        for good in ["libpq", "libpq.so.5()(64bit)", "x >= 1.0", "(a or b)"] {
            assert!(rpm_dependency(good).is_ok(), "{good}");
        }
        for bad in ["a, b", "a b", "a\nb", "(a, b)"] {
            assert!(rpm_dependency(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn names_releases_and_modes() {
        assert!(unit_name("hello-worker@").is_ok());
        for bad in ["..", "../x", "/etc/x", "", ".hidden", "a b"] {
            assert!(unit_name(bad).is_err(), "{bad}");
        }
        assert!(release("1").is_ok() && release("2~bpo1").is_ok());
        for bad in ["..", "../../x", "1-2", "1\nX: y", ""] {
            assert!(release(bad).is_err(), "{bad}");
        }
        assert!(file_mode(0o640).is_ok() && file_mode(0o6755).is_err());
        assert!(architecture("x86_64").is_ok() && architecture("x/../../y").is_err());
        assert!(owned_directory("/var/lib/hello").is_ok());
        assert!(owned_directory("/var/lib/../../opt").is_err());
        assert!(owned_directory("/var").is_err());
    }
}
