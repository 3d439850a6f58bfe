//! Deployment facts worked out once, here, and handed to every plugin typed in the manifest
//! (protocol 2), so that no plugin re-parses a version or a wheel tag.
//!
//! - the version's PEP 440 parts;
//! - the minimum glibc: for each wheel the lowest of its alternative platform tags (a
//!   `manylinux_2_17_x86_64.manylinux2014_x86_64` wheel runs on 2.17), across wheels the
//!   highest;
//! - whether the tree is architecture-independent (every wheel pure);
//! - the shared libraries the tree's ELF files need from the system (not bundled, not glibc);
//! - the distribution package that provides the target interpreter;
//! - the deployment intent of `[tool.pyship]` (service, user, config files, scripts, system
//!   packages, build number), checked and resolved.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use pep508_rs::pep440_rs::{PrereleaseKind, Version};
use pyship_plugin::{
    ConfigFile, Deployment, HealthCheck, MaintainerScripts, PreRelease, PreReleaseKind, Service,
    SystemPackage, SystemUser, VersionParts,
};

use crate::project::{
    HealthSpec, Project, ProjectError, ServiceSpec, SystemPackageSpec, UserSpec, UserTable,
};
use crate::python::PRESETS;

/// `version` split into its parts.
pub fn version_parts(version: &Version) -> VersionParts {
    VersionParts {
        epoch: version.epoch(),
        release: version.release().to_vec(),
        pre: version.pre().map(|pre| PreRelease {
            kind: match pre.kind {
                PrereleaseKind::Alpha => PreReleaseKind::A,
                PrereleaseKind::Beta => PreReleaseKind::B,
                PrereleaseKind::Rc => PreReleaseKind::Rc,
            },
            number: pre.number,
        }),
        post: version.post(),
        dev: version.dev(),
        local: (!version.local().is_empty()).then(|| {
            version
                .local()
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(".")
        }),
    }
}

/// Sonames glibc itself provides: the `libc6 (>= 2.N)` bound covers them.
const GLIBC_SONAMES: &[&str] = &[
    "libc.so.6",
    "libm.so.6",
    "libpthread.so.0",
    "libdl.so.2",
    "librt.so.1",
    "libutil.so.1",
    "libresolv.so.2",
    "libanl.so.1",
    "ld-linux-x86-64.so.2",
    "ld-linux-aarch64.so.1",
    "ld-linux-armhf.so.3",
    "ld64.so.2",
    "ld-linux.so.2",
];

/// The shared libraries the ELF files under `tree` need from the system, sorted: every
/// `DT_NEEDED` name that no file in the tree provides (wheels bundle theirs, as auditwheel's
/// `NAME.libs/` directories do) and that glibc does not. A file that is not readable ELF is
/// skipped: what cannot be loaded needs nothing.
pub fn needed_libraries(tree: &Path) -> Vec<String> {
    let mut provided = std::collections::BTreeSet::new();
    let mut needed = std::collections::BTreeSet::new();
    let mut stack = vec![tree.to_path_buf()];
    while let Some(directory) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&directory) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            let path = entry.path();
            if kind.is_dir() {
                stack.push(path);
                continue;
            }
            provided.insert(entry.file_name().to_string_lossy().into_owned());
            if kind.is_file() && crate::elf::is_elf(&path) {
                needed.extend(crate::elf::needed_libraries(&path).unwrap_or_default());
            }
        }
    }
    needed
        .into_iter()
        .filter(|name| !provided.contains(name) && !GLIBC_SONAMES.contains(&name.as_str()))
        .collect()
}

/// The glibc the installed wheels need, as `2.17`: per wheel the lowest of its alternative
/// manylinux tags, across wheels the highest. `None` when no wheel names one.
pub fn min_glibc<'a>(wheel_file_names: impl IntoIterator<Item = &'a str>) -> Option<String> {
    wheel_file_names
        .into_iter()
        .filter_map(|file_name| {
            let platforms = file_name.strip_suffix(".whl")?.rsplit('-').next()?;
            platforms.split('.').filter_map(manylinux_glibc).min()
        })
        .max()
        .map(|(major, minor)| format!("{major}.{minor}"))
}

/// The glibc version a manylinux platform tag needs (PEP 600 and the legacy aliases).
fn manylinux_glibc(platform: &str) -> Option<(u32, u32)> {
    if platform.starts_with("manylinux1_") {
        return Some((2, 5));
    }
    if platform.starts_with("manylinux2010_") {
        return Some((2, 12));
    }
    if platform.starts_with("manylinux2014_") {
        return Some((2, 17));
    }
    let mut parts = platform.strip_prefix("manylinux_")?.splitn(3, '_');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

/// The preset a target was made from: `debian-12`, or `debian-12-aarch64` for another arch.
fn preset_of(target_name: &str) -> Option<&'static crate::python::Preset> {
    PRESETS.iter().find(|preset| {
        target_name == preset.name
            || target_name
                .strip_prefix(preset.name)
                .is_some_and(|rest| rest.starts_with('-'))
    })
}

/// The distribution release a preset target is, as os-release names it.
pub fn distro(target_name: &str) -> Option<pyship_plugin::Distro> {
    preset_of(target_name).map(|preset| {
        let (id, version_id, codename) = preset.distro;
        pyship_plugin::Distro {
            id: id.to_string(),
            version_id: version_id.to_string(),
            codename: codename.map(str::to_string),
        }
    })
}

/// The release: the version, `-N` added for a build number (`1.4.0-3`).
pub fn release(project: &Project) -> String {
    match project.config.build_number {
        Some(number) => format!("{}-{number}", project.version),
        None => project.version.clone(),
    }
}

/// The distribution package providing the interpreter: the preset's, else Debian's naming
/// for `/usr/bin/pythonX.Y` (`pythonX.Y`); `None` for an interpreter of no known package.
pub fn distro_package(
    target_name: &str,
    interpreter: &Path,
    python_version: &str,
) -> Option<String> {
    if let Some(preset) = preset_of(target_name) {
        return Some(preset.interpreter_package.to_string());
    }
    let name = interpreter.file_name()?.to_str()?;
    (interpreter.starts_with("/usr/bin") && name.starts_with("python3"))
        .then(|| format!("python{python_version}"))
}

/// The deployment intent of `[tool.pyship]`, checked and resolved: paths made absolute,
/// referenced files found, the service's command made a path under the install prefix.
/// `staged_bin` is the staged virtualenv's `bin/`, where a service's script must be.
pub fn deployment(
    project: &Project,
    install_prefix: &Path,
    staged_bin: &Path,
) -> Result<Deployment, ProjectError> {
    let config = &project.config;
    let invalid = |key: &'static str, value: &str, message: String| ProjectError::InvalidSetting {
        path: project.pyproject_path(),
        line: project.line_of(&["tool", "pyship", key]),
        key: key.to_string(),
        value: value.escape_debug().to_string(),
        message,
    };
    let packages = |specs: &[SystemPackageSpec]| {
        specs
            .iter()
            .map(|spec| {
                // Checked on load: the default in Debian's form, which each family's plugin
                // writes its own way; `default` in a table is the same as a plain string.
                match spec {
                    SystemPackageSpec::Everywhere(name) => SystemPackage {
                        default: Some(name.clone()),
                        per_family: BTreeMap::new(),
                    },
                    SystemPackageSpec::PerFamily(names) => {
                        let mut per_family = names.clone();
                        SystemPackage {
                            default: per_family.remove("default"),
                            per_family,
                        }
                    }
                }
            })
            .collect()
    };
    let user = config.user.as_ref().map(|spec| {
        let table = match spec {
            UserSpec::Name(name) => UserTable {
                name: name.clone(),
                group: None,
                home: None,
                shell: None,
            },
            UserSpec::Table(table) => table.clone(),
        };
        // Names, home and shell were checked (and normalized) when the project loaded.
        let group = table.group.clone().unwrap_or_else(|| table.name.clone());
        SystemUser {
            name: table.name,
            group,
            home: table.home.map(PathBuf::from),
            shell: PathBuf::from(table.shell.unwrap_or_else(|| "/usr/sbin/nologin".into())),
        }
    });
    let config_files = config
        .config_files
        .iter()
        .map(|file| {
            // Source, target and mode were checked (and the target normalized) on load.
            let source = project.root.join(&file.source);
            let mode = file
                .mode
                .as_deref()
                .and_then(|mode| u32::from_str_radix(mode.trim_start_matches("0o"), 8).ok())
                .unwrap_or(0o644);
            ConfigFile {
                source,
                target: PathBuf::from(&file.target),
                mode,
            }
        })
        .collect();
    let scripts = match &config.scripts {
        None => MaintainerScripts::default(),
        Some(directory) => {
            // A directory: checked on load.
            let root = project.root.join(directory);
            let fragment = |name: &str| Some(root.join(name)).filter(|path| path.is_file());
            MaintainerScripts {
                before_install: fragment("preinst"),
                after_install: fragment("postinst"),
                before_remove: fragment("prerm"),
                after_remove: fragment("postrm"),
            }
        }
    };
    let service = config
        .service
        .as_ref()
        .map(|spec| service(project, spec, user.as_ref(), install_prefix, staged_bin))
        .transpose()?;
    let services = config
        .services
        .iter()
        .map(|spec| self::service(project, spec, user.as_ref(), install_prefix, staged_bin))
        .collect::<Result<Vec<_>, _>>()?;
    for command in &config.commands {
        if !staged_bin.join(command).is_file() {
            return Err(invalid(
                "commands",
                command,
                format!("`{command}` is not a console script of the virtualenv (its `bin/`)"),
            ));
        }
    }
    let steps = |key: &'static str, steps: &[Vec<String>]| {
        steps
            .iter()
            .map(|words| {
                resolve_command(install_prefix, staged_bin, words)
                    .map_err(|message| invalid(key, &words.join(" "), message))
            })
            .collect::<Result<Vec<_>, _>>()
    };
    let install_steps = steps("install-steps", &config.install_steps)?;
    let upgrade_steps = steps("upgrade-steps", &config.upgrade_steps)?;
    let health_check = config
        .health_check
        .as_ref()
        .map(|health| -> Result<HealthCheck, ProjectError> {
            let (url, command) = match health {
                HealthSpec::Url(url) => (Some(url.clone()), Vec::new()),
                HealthSpec::Command(words) => (
                    None,
                    resolve_command(install_prefix, staged_bin, words)
                        .map_err(|message| invalid("health-check", &words.join(" "), message))?,
                ),
            };
            Ok(HealthCheck {
                url,
                command,
                timeout: config.health_timeout.unwrap_or(30),
            })
        })
        .transpose()?;
    Ok(Deployment {
        health_check,
        install_steps,
        upgrade_steps,
        build_number: config.build_number,
        run_depends: packages(&config.run_depends),
        build_depends: packages(&config.build_depends),
        user,
        config_files,
        scripts,
        service,
        services,
        commands: config.commands.clone(),
    })
}

/// A command as the deployment writes it: its first word a console script of the venv (a
/// bare name), a path under the install prefix (relative), or an absolute path.
fn resolve_command(
    install_prefix: &Path,
    staged_bin: &Path,
    words: &[String],
) -> Result<Vec<String>, String> {
    let Some((first, rest)) = words.split_first() else {
        return Ok(Vec::new());
    };
    let program = Path::new(first);
    let program = if program.is_absolute() {
        program.to_path_buf()
    } else if first.contains('/') {
        install_prefix.join(program)
    } else if staged_bin.join(first).is_file() {
        install_prefix.join("bin").join(first)
    } else {
        return Err(format!(
            "`{first}` is not a console script of the virtualenv (its `bin/`); give a path for another program"
        ));
    };
    let mut command = vec![program.display().to_string()];
    command.extend(rest.iter().cloned());
    Ok(command)
}

fn service(
    project: &Project,
    spec: &ServiceSpec,
    user: Option<&SystemUser>,
    install_prefix: &Path,
    staged_bin: &Path,
) -> Result<Service, ProjectError> {
    let invalid = |key: &'static str, message: String| ProjectError::InvalidSetting {
        path: project.pyproject_path(),
        line: project.line_of(&["tool", "pyship", "service", key]),
        key: format!("service.{key}"),
        value: String::new(),
        message,
    };
    // A file: checked on load.
    let unit_file = spec.unit_file.as_ref().map(|file| project.root.join(file));
    let mut exec_start = match (&spec.script, spec.command.is_empty(), &unit_file) {
        (Some(script), true, _) => {
            if !staged_bin.join(script).is_file() {
                return Err(invalid(
                    "script",
                    format!("`{script}` is not a console script of the virtualenv (its `bin/`)"),
                ));
            }
            vec![
                install_prefix
                    .join("bin")
                    .join(script)
                    .display()
                    .to_string(),
            ]
        }
        (None, false, _) => {
            let program = Path::new(&spec.command[0]);
            let program = if program.is_absolute() {
                program.to_path_buf()
            } else {
                install_prefix.join(program)
            };
            let mut command = vec![program.display().to_string()];
            command.extend(spec.command[1..].iter().cloned());
            command
        }
        (None, true, Some(_)) => Vec::new(),
        (Some(_), false, _) => {
            return Err(invalid(
                "command",
                "give `script` or `command`, not both".into(),
            ));
        }
        (None, true, None) => {
            return Err(invalid(
                "script",
                "a service needs `script` (a console script), `command`, or `unit-file`".into(),
            ));
        }
    };
    exec_start.extend(spec.args.iter().cloned());
    let resolve = |key: &'static str, words: &[String]| {
        resolve_command(install_prefix, staged_bin, words).map_err(|message| invalid(key, message))
    };
    let exec_start_pre = spec
        .exec_start_pre
        .iter()
        .map(|words| resolve("exec-start-pre", words))
        .collect::<Result<Vec<_>, _>>()?;
    let exec_reload = resolve("exec-reload", &spec.exec_reload)?;
    let directories = [
        ("runtime", &spec.runtime_directory),
        ("state", &spec.state_directory),
        ("logs", &spec.logs_directory),
        ("cache", &spec.cache_directory),
    ]
    .into_iter()
    .filter(|(_, directories)| !directories.is_empty())
    .map(|(kind, directories)| (kind.to_string(), directories.clone()))
    .collect();
    Ok(Service {
        service_type: spec.service_type.clone(),
        exec_start_pre,
        exec_reload,
        restart_sec: spec.restart_sec.clone(),
        syslog_identifier: spec.syslog_identifier.clone(),
        environment_files: spec.environment_file.clone(),
        load_credentials: spec
            .load_credential
            .iter()
            .map(|(id, path)| (id.clone(), PathBuf::from(path)))
            .collect(),
        on_calendar: spec.on_calendar.clone(),
        instances: spec.instances.clone(),
        hardening: Some(spec.hardening.clone().unwrap_or_else(|| "default".into())),
        read_write_paths: spec.read_write_paths.iter().map(PathBuf::from).collect(),
        directories,
        name: spec
            .name
            .clone()
            .unwrap_or_else(|| project.name.to_string()),
        exec_start,
        user: spec
            .user
            .clone()
            .or_else(|| user.map(|user| user.name.clone())),
        group: spec
            .group
            .clone()
            .or_else(|| user.map(|user| user.group.clone())),
        working_directory: spec.working_directory.as_ref().map(PathBuf::from),
        environment: spec.environment.clone(),
        restart: spec.restart.clone().unwrap_or_else(|| "on-failure".into()),
        unit_file,
    })
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    #[test]
    fn needed_libraries_leave_out_bundled_ones_and_glibc() {
        let tree = tempfile::tempdir().unwrap();
        let site = tree.path().join("lib/python3.11/site-packages");
        std::fs::create_dir_all(site.join("pkg")).unwrap();
        std::fs::create_dir_all(site.join("pkg.libs")).unwrap();
        std::fs::write(
            site.join("pkg/_ext.so"),
            crate::elf::tests::tiny_elf(&[
                "libz.so.1",
                "libfoo-1a2b3c.so.2",
                "libc.so.6",
                "libm.so.6",
            ]),
        )
        .unwrap();
        std::fs::write(
            site.join("pkg.libs/libfoo-1a2b3c.so.2"),
            crate::elf::tests::tiny_elf(&["libpq.so.5", "libc.so.6"]),
        )
        .unwrap();
        std::fs::write(site.join("pkg/module.py"), "x = 1\n").unwrap();
        assert_eq!(needed_libraries(tree.path()), ["libpq.so.5", "libz.so.1"]);
    }

    #[test]
    fn versions_split_into_their_parts() {
        let parts = version_parts(&Version::from_str("1!2.0rc1.post2.dev3+Local.4").unwrap());
        assert_eq!(parts.epoch, 1);
        assert_eq!(parts.release, [2, 0]);
        assert_eq!(
            parts.pre,
            Some(PreRelease {
                kind: PreReleaseKind::Rc,
                number: 1
            })
        );
        assert_eq!((parts.post, parts.dev), (Some(2), Some(3)));
        assert_eq!(parts.local.as_deref(), Some("local.4"));
        let plain = version_parts(&Version::from_str("0.1.0").unwrap());
        assert_eq!((plain.pre, plain.local), (None, None));
    }

    #[test]
    fn the_glibc_bound_takes_each_wheels_lowest_alternative() {
        // markupsafe's wheel runs on 2.17 (manylinux2014); the other needs 2.28.
        assert_eq!(
            min_glibc([
                "MarkupSafe-3.0.2-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.manylinux_2_28_x86_64.whl",
                "flask-3.0.3-py3-none-any.whl",
            ])
            .as_deref(),
            Some("2.17")
        );
        assert_eq!(
            min_glibc([
                "a-1-cp311-cp311-manylinux_2_17_x86_64.manylinux_2_28_x86_64.whl",
                "b-1-cp311-cp311-manylinux_2_28_x86_64.whl",
            ])
            .as_deref(),
            Some("2.28")
        );
        assert_eq!(min_glibc(["flask-3.0.3-py3-none-any.whl"]), None);
    }

    #[test]
    fn presets_name_their_interpreter_package() {
        assert_eq!(
            distro_package("debian-11", Path::new("/usr/bin/python3.9"), "3.9").as_deref(),
            Some("python3.9")
        );
        assert_eq!(
            distro_package(
                "cpython-3.11.2-x86_64",
                Path::new("/usr/bin/python3.11"),
                "3.11"
            )
            .as_deref(),
            Some("python3.11")
        );
        assert_eq!(
            distro_package("x", Path::new("/opt/py/bin/python3"), "3.12"),
            None
        );
    }
}
