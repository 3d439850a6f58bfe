//! `pyship package FORMAT`: stage, write the manifest, run `pyship-FORMAT`.

use std::ffi::OsString;

use anyhow::Context as _;
use pyship_plugin::{Layout, LayoutKind, Manifest};

use super::build::stage;
use super::{ExitStatus, ProjectContext, git};
use crate::cache;
use crate::env_vars;
use crate::facts;
use crate::plugin::{self, PluginError};
use crate::printer::{Verbosity, verb};

/// Packages the project in `format` and prints the artifact paths.
pub(crate) fn package(context: &ProjectContext, format: &str) -> anyhow::Result<ExitStatus> {
    let path = plugin::find_plugin(format).ok_or_else(|| PluginError::NotFound {
        name: format.to_string(),
        available: plugin::list_plugins().into_keys().collect(),
    })?;
    let description = plugin::describe(format, &path)?;
    let protocol = plugin::negotiate(format, &path, &description)?;
    if !description.formats.is_empty() && !description.formats.iter().any(|f| f == format) {
        return Err(PluginError::WrongFormat {
            name: format.to_string(),
            path,
            format: format.to_string(),
        }
        .into());
    }
    // The staged layout must be one pyship makes (a virtualenv today).
    if description.layout != LayoutKind::Venv {
        return Err(PluginError::Layout {
            name: format.to_string(),
            path,
            layout: serde_json::to_value(description.layout)
                .ok()
                .and_then(|value| value.as_str().map(str::to_string))
                .unwrap_or_else(|| "unknown".into()),
        }
        .into());
    }
    let project = &context.project;
    if let Some(table) = project.format_options.get(format) {
        plugin::check_options(
            format,
            table,
            &description.options,
            &project.pyproject_path(),
            |key| project.line_of(&["tool", "pyship", format, key]),
        )?;
    }

    let v2 = protocol >= 2;
    let staged = stage(context)?;
    let deployment = if v2 {
        Some(facts::deployment(
            &context.project,
            &staged.venv.install_prefix,
            &staged.venv.staged_prefix().join("bin"),
        )?)
    } else {
        None
    };
    let interpreter = context.interpreter()?;
    let output_dir = project.target_dir();
    // A plugin killed mid-write leaves `.NAME.PID.tmp`; nothing else would ever remove it.
    crate::process::remove_stale_temporaries(&output_dir);
    let to_json =
        |table: &toml::Table| -> anyhow::Result<serde_json::Map<String, serde_json::Value>> {
            match serde_json::to_value(table)? {
                serde_json::Value::Object(mut map) => {
                    map.values_mut().for_each(without_credentials);
                    Ok(map)
                }
                _ => Ok(serde_json::Map::new()),
            }
        };
    let git_commit = git(&project.root, &["rev-parse", "HEAD"]);
    let manifest = Manifest {
        protocol,
        pyship_version: env!("CARGO_PKG_VERSION").to_string(),
        format: format.to_string(),
        project: pyship_plugin::Project {
            name: project.name.to_string(),
            version: project.version.clone(),
            summary: project.summary.clone(),
            license: project.license.clone(),
            maintainer: project.maintainer.clone(),
            homepage: project.homepage.clone(),
            scripts: project.scripts.clone(),
            version_parts: v2.then(|| facts::version_parts(&project.parsed_version)),
        },
        target: pyship_plugin::Target {
            python_version: interpreter.target.python_version(),
            python_full_version: interpreter.target.python_full_version.to_string(),
            interpreter: interpreter.resolved.clone(),
            arch: interpreter.target.arch.clone(),
            platform_tags: interpreter.target.tags.platforms(),
            name: v2.then(|| interpreter.target.name.clone()),
            distro_package: v2
                .then(|| {
                    facts::distro_package(
                        &interpreter.target.name,
                        &interpreter.resolved,
                        &interpreter.target.python_version(),
                    )
                })
                .flatten(),
            min_glibc: v2
                .then(|| {
                    facts::min_glibc(staged.packages.iter().filter_map(|package| {
                        package.wheel.file_name().and_then(|name| name.to_str())
                    }))
                })
                .flatten(),
            arch_independent: v2.then(|| staged.packages.iter().all(|package| package.pure)),
        },
        layout: Layout {
            kind: LayoutKind::Venv,
            staging_root: staged.venv.staging_root.clone(),
            install_prefix: staged.venv.install_prefix.clone(),
        },
        packages: staged.packages,
        // Protocol 2 hands over facts instead; only version 1 plugins get the raw table.
        options: if v2 {
            serde_json::Map::new()
        } else {
            to_json(&project.raw_options)?
        },
        format_options: to_json(
            project
                .format_options
                .get(format)
                .unwrap_or(&toml::Table::new()),
        )?,
        output_dir: output_dir.clone(),
        source: pyship_plugin::Source {
            git_commit: git_commit.clone(),
            git_branch: git(&project.root, &["rev-parse", "--abbrev-ref", "HEAD"])
                .filter(|branch| branch != "HEAD"),
            source_date_epoch: Some(context.source_date_epoch),
            // Only a checkout can be dirty; `status --porcelain` prints nothing when clean.
            dirty: (v2 && git_commit.is_some())
                .then(|| git(&project.root, &["status", "--porcelain"]).is_some()),
        },
        deployment,
    };
    let manifest_path = output_dir.join(format).join("manifest.json");
    let text = serde_json::to_string_pretty(&manifest)?;
    cache::write_atomically(&manifest_path, text.as_bytes())
        .with_context(|| format!("failed to write `{}`", manifest_path.display()))?;

    context.printer.status(
        verb::PACKAGING,
        format!("{format} with `{}`", path.display()),
    );
    let printer = &context.printer;
    let mut environment: Vec<(&str, OsString)> = vec![
        (env_vars::PYSHIP_PROTOCOL, protocol.to_string().into()),
        (
            env_vars::PYSHIP_VERBOSE,
            u8::from(printer.verbosity() >= Verbosity::Verbose)
                .to_string()
                .into(),
        ),
        (
            env_vars::SOURCE_DATE_EPOCH,
            context.source_date_epoch.to_string().into(),
        ),
        (
            if printer.color() {
                env_vars::CLICOLOR_FORCE
            } else {
                env_vars::NO_COLOR
            },
            "1".into(),
        ),
    ];
    if let Ok(exe) = std::env::current_exe() {
        environment.push((env_vars::PYSHIP, exe.into_os_string()));
    }
    if printer.verbosity() <= Verbosity::Quiet {
        environment.push((env_vars::PYSHIP_QUIET, "1".into()));
    }
    let result = plugin::run_package(format, &path, &manifest_path, &environment)?;
    for artifact in &result.artifacts {
        let relative = artifact
            .path
            .strip_prefix(&project.root)
            .unwrap_or(&artifact.path);
        context
            .printer
            .status(verb::FINISHED, format!("`{}`", relative.display()));
    }
    for artifact in &result.artifacts {
        context.printer.data(artifact.path.display());
    }
    Ok(ExitStatus::Success)
}

/// Removes user names and passwords from every URL in a settings value: the manifest is
/// written to disk and read by plugins, and an index URL may carry credentials.
fn without_credentials(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::String(text) => {
            if let Ok(url) = reqwest::Url::parse(text) {
                if !url.username().is_empty() || url.password().is_some() {
                    *text = crate::index::strip_credentials(&url).to_string();
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(without_credentials),
        serde_json::Value::Object(map) => map.values_mut().for_each(without_credentials),
        _ => {}
    }
}
