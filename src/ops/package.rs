//! Packaging: the plugin `pyship-FORMAT` found and checked, the project staged, the manifest
//! (in the protocol version agreed) written, the plugin run; its artifacts returned.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use pyship_plugin::{Artifact, Bytecode, Layout, LayoutKind, Manifest};

use super::stage::{self, Staged};
use super::{Workspace, git};
use crate::cache;
use crate::env_vars;
use crate::facts;
use crate::plugin::{self, PluginError};
use crate::project::BytecodeMode;
use crate::reporter::{ProgressKind, Step};

/// How the plugin should print: what the user asked of pyship's own output.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct PluginOutput {
    pub verbose: bool,
    pub quiet: bool,
    pub color: bool,
}

/// Packages the project in `format` and returns the plugin's artifacts.
pub(crate) fn package(
    workspace: &Workspace,
    format: &str,
    requested_target: Option<&str>,
    output: PluginOutput,
) -> anyhow::Result<Vec<Artifact>> {
    let made = package_each(workspace, format, requested_target, output)?;
    Ok(made
        .into_iter()
        .flat_map(|(_, artifacts)| artifacts)
        .collect())
}

/// Packages the project in `format` for each target; each target's manifest (what the
/// plugin was told) with the artifacts made of it.
pub(crate) fn package_each(
    workspace: &Workspace,
    format: &str,
    requested_target: Option<&str>,
    output: PluginOutput,
) -> anyhow::Result<Vec<(Manifest, Vec<Artifact>)>> {
    let (path, protocol, install_prefix, layout) = checked_plugin(workspace, format)?;
    stage::stage_each(
        workspace,
        requested_target,
        &install_prefix,
        layout,
        |staged| run_plugin(workspace, format, &path, protocol, staged, output),
    )
}

/// Writes the manifest of `staged` and runs the plugin on it.
fn run_plugin(
    workspace: &Workspace,
    format: &str,
    path: &Path,
    protocol: u32,
    staged: Staged,
    output: PluginOutput,
) -> anyhow::Result<(Manifest, Vec<Artifact>)> {
    let output_dir = workspace.project.target_dir();
    // A plugin killed mid-write leaves `.NAME.PID.tmp`; nothing else would ever remove it.
    crate::process::remove_stale_temporaries(&output_dir);
    let graph = staged.graph.clone();
    let mut manifest = manifest(workspace, format, protocol, staged)?;
    let sbom_dir = output_dir
        .join(format)
        .join("sbom")
        .join(manifest.target.name.as_deref().unwrap_or("target"));
    manifest.sboms = write_sboms(&sbom_dir, &manifest, &graph)?;
    let manifest_path = output_dir.join(format).join("manifest.json");
    let text = serde_json::to_string_pretty(&manifest.to_wire())?;
    cache::write_atomically(&manifest_path, text.as_bytes())
        .with_context(|| format!("failed to write `{}`", manifest_path.display()))?;
    workspace.reporter.status(
        Step::Packaging,
        &format!("{format} with `{}`", path.display()),
    );
    let environment = plugin_environment(workspace, protocol, output);
    // Something moves while the plugin works; what it prints goes above.
    let reporter = workspace.reporter.as_ref();
    let spinner = reporter.progress(
        Step::Packaging,
        ProgressKind::Spinner {
            message: format!("{format} (pyship-{format})"),
        },
    );
    let result = plugin::run_package(format, path, &manifest_path, &environment, &|line| {
        spinner.relay(line, reporter)
    })?;
    spinner.finish();
    // A plugin of a killed earlier run may have gone only now: its leftovers too.
    crate::process::remove_stale_temporaries(&output_dir);
    // Each artifact's bills of materials and provenance beside it, named after it.
    let lock_sha256 = std::fs::read(workspace.project.lockfile_path())
        .map(|bytes| cache::sha256_hex(&bytes))
        .unwrap_or_default();
    for artifact in &result.artifacts {
        for (sbom, beside) in manifest.sboms.iter().zip(sboms_beside(&artifact.path)) {
            let bytes = std::fs::read(sbom)
                .with_context(|| format!("failed to read `{}`", sbom.display()))?;
            cache::write_atomically(&beside, &bytes)
                .with_context(|| format!("failed to write `{}`", beside.display()))?;
        }
        let statement = crate::sbom::provenance(&manifest, artifact, &lock_sha256);
        let beside = provenance_beside(&artifact.path);
        cache::write_atomically(&beside, statement.as_bytes())
            .with_context(|| format!("failed to write `{}`", beside.display()))?;
    }
    Ok((manifest, result.artifacts))
}

/// The bills of materials of each target (or the one `requested`) as packaging would write
/// them, without a plugin: (target, CycloneDX, SPDX).
pub(crate) fn sboms(
    workspace: &Workspace,
    requested: Option<&str>,
) -> anyhow::Result<Vec<(String, String, String)>> {
    stage::stage_targets(workspace, requested)?
        .into_iter()
        .map(|staged| {
            let graph = staged.graph.clone();
            let name = staged.target.name.clone();
            let manifest = manifest(workspace, "sbom", pyship_plugin::PROTOCOL_VERSION, staged)?;
            Ok((
                name,
                crate::sbom::cyclonedx(&manifest, &graph),
                crate::sbom::spdx(&manifest, &graph),
            ))
        })
        .collect()
}

/// The bills of materials of an artifact beside it: `ARTIFACT.cdx.json` (CycloneDX) and
/// `ARTIFACT.spdx.json` (SPDX), in the order [`write_sboms`] writes them.
pub(crate) fn sboms_beside(artifact: &Path) -> [PathBuf; 2] {
    let with = |suffix: &str| {
        let mut name = artifact.as_os_str().to_os_string();
        name.push(suffix);
        PathBuf::from(name)
    };
    [with(".cdx.json"), with(".spdx.json")]
}

/// The provenance statement of an artifact beside it: `ARTIFACT.intoto.json`.
pub(crate) fn provenance_beside(artifact: &Path) -> PathBuf {
    let mut name = artifact.as_os_str().to_os_string();
    name.push(".intoto.json");
    PathBuf::from(name)
}

/// Writes the CycloneDX and SPDX documents of `manifest` into `directory`; their paths.
fn write_sboms(
    directory: &Path,
    manifest: &Manifest,
    graph: &crate::sbom::Graph,
) -> anyhow::Result<Vec<PathBuf>> {
    let stem = format!("{}-{}", manifest.project.name, manifest.project.version);
    let documents = [
        (
            format!("{stem}.cdx.json"),
            crate::sbom::cyclonedx(manifest, graph),
        ),
        (
            format!("{stem}.spdx.json"),
            crate::sbom::spdx(manifest, graph),
        ),
    ];
    documents
        .into_iter()
        .map(|(name, text)| {
            let path = directory.join(name);
            cache::write_atomically(&path, text.as_bytes())
                .with_context(|| format!("failed to write `{}`", path.display()))?;
            Ok(path)
        })
        .collect()
}

/// The environment a plugin runs with (besides this process's, less its secrets): the
/// protocol agreed, how to print, `SOURCE_DATE_EPOCH`, and pyship's own path.
pub(crate) fn plugin_environment(
    workspace: &Workspace,
    protocol: u32,
    output: PluginOutput,
) -> Vec<(&'static str, OsString)> {
    let mut environment: Vec<(&str, OsString)> = vec![
        (env_vars::PYSHIP_PROTOCOL, protocol.to_string().into()),
        (
            env_vars::PYSHIP_VERBOSE,
            u8::from(output.verbose).to_string().into(),
        ),
        (
            env_vars::SOURCE_DATE_EPOCH,
            workspace.source_date_epoch.to_string().into(),
        ),
        (
            if output.color {
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
    if output.quiet {
        environment.push((env_vars::PYSHIP_QUIET, "1".into()));
    }
    environment
}

/// The plugin for `format`, checked before anything is staged: it speaks a protocol pyship
/// speaks (the version agreed is returned), makes `format`, wants a layout pyship stages, and
/// accepts the project's `[tool.pyship.FORMAT]` options.
fn checked_plugin(
    workspace: &Workspace,
    format: &str,
) -> anyhow::Result<(PathBuf, u32, PathBuf, LayoutKind)> {
    let path = plugin::find_required(format)?;
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
    // The staged layout must be one pyship makes.
    if !matches!(description.layout, LayoutKind::Venv | LayoutKind::Vendors) {
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
    let project = &workspace.project;
    plugin::check_honoured(project, format, description.honours.as_deref())?;
    if let Some(table) = project.format_options.get(format) {
        plugin::check_options(
            format,
            &plugin::plugin_table(table),
            &description.options,
            &project.pyproject_path(),
            |key| project.line_of(&["tool", "pyship", format, key]),
        )?;
    }
    let install_prefix = install_prefix(workspace, format, description.install_prefix.as_deref())?;
    Ok((path, protocol, install_prefix, description.layout))
}

/// The install prefix the plugin asks for: its template of `{prefix}` and `{version}`, filled
/// in and checked like `install-prefix` itself.
fn install_prefix(
    workspace: &Workspace,
    format: &str,
    template: Option<&str>,
) -> anyhow::Result<PathBuf> {
    let project = &workspace.project;
    let prefix = project.install_prefix();
    let Some(template) = template else {
        return Ok(prefix);
    };
    let release = facts::release(project);
    let filled = template
        .replace("{prefix}", &prefix.display().to_string())
        .replace("{version}", &release);
    if !template.starts_with("{prefix}") || filled.contains(['{', '}']) {
        anyhow::bail!(
            "the plugin `pyship-{format}` asks for the install prefix `{template}`, which is not `{{prefix}}` followed by a path of `{{version}}` and names"
        );
    }
    pyship_plugin::grammar::plain_absolute_path(&filled)
        .map(PathBuf::from)
        .map_err(|message| {
            anyhow::anyhow!(
                "the install prefix `{filled}` the plugin `pyship-{format}` asks for: {message}"
            )
        })
}

/// The manifest handed to the plugin, with every fact of the newest protocol: the protocol
/// crate writes it in the version agreed ([`Manifest::to_wire`]).
fn manifest(
    workspace: &Workspace,
    format: &str,
    protocol: u32,
    staged: Staged,
) -> anyhow::Result<Manifest> {
    let project = &workspace.project;
    let deployment = facts::deployment(
        &workspace.project,
        &staged.venv.install_prefix,
        &staged.venv.staged_prefix().join("bin"),
    )?;
    let target = &staged.target;
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
    Ok(Manifest {
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
            version_parts: Some(facts::version_parts(&project.parsed_version)),
            release: Some(facts::release(project)),
        },
        target: pyship_plugin::Target {
            python_version: target.python_version(),
            python_full_version: target.python_full_version.to_string(),
            interpreter: staged.base_interpreter.clone(),
            arch: target.arch.clone(),
            platform_tags: target.tags.platforms(),
            name: Some(target.name.clone()),
            distro_package: facts::distro_package(
                &target.name,
                &staged.base_interpreter,
                &target.python_version(),
            ),
            min_glibc: facts::min_glibc(
                staged
                    .packages
                    .iter()
                    .filter_map(|package| package.wheel.file_name().and_then(|name| name.to_str())),
            ),
            arch_independent: Some(staged.packages.iter().all(|package| package.pure)),
            needed_libraries: Some(facts::needed_libraries(&staged.venv.staged_prefix())),
            distro: facts::distro(&target.name),
            bytecode: Some(match staged.bytecode {
                BytecodeMode::Build => Bytecode::AtBuild,
                BytecodeMode::Install => Bytecode::AtInstall,
                BytecodeMode::None => Bytecode::Never,
            }),
        },
        layout: Layout {
            kind: staged.layout,
            staging_root: staged.venv.staging_root.clone(),
            install_prefix: staged.venv.install_prefix.clone(),
        },
        packages: staged.packages,
        // Only version 1 plugins get the raw table; `to_wire` drops it for the others.
        options: to_json(&project.raw_options)?,
        format_options: to_json(&plugin::plugin_table(
            project
                .format_options
                .get(format)
                .unwrap_or(&toml::Table::new()),
        ))?,
        output_dir: project.target_dir(),
        source: pyship_plugin::Source {
            git_commit: git_commit.clone(),
            git_branch: git(&project.root, &["rev-parse", "--abbrev-ref", "HEAD"])
                .filter(|branch| branch != "HEAD"),
            source_date_epoch: Some(workspace.source_date_epoch),
            // Only a checkout can be dirty; `status --porcelain` prints nothing when clean.
            dirty: git_commit
                .is_some()
                .then(|| git(&project.root, &["status", "--porcelain"]).is_some()),
        },
        deployment: Some(deployment),
        sboms: Vec::new(),
    })
}

/// Removes user names, passwords and query strings from every URL in a settings value: the manifest is
/// written to disk and read by plugins, and an index URL may carry credentials.
fn without_credentials(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::String(text) => {
            // A query string may hold a token (`?token=…`) as well: URLs keep neither.
            if let Ok(mut url) = reqwest::Url::parse(text) {
                if !url.username().is_empty() || url.password().is_some() || url.query().is_some() {
                    url.set_query(None);
                    url.set_fragment(None);
                    *text = crate::index::strip_credentials(&url).to_string();
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(without_credentials),
        serde_json::Value::Object(map) => map.values_mut().for_each(without_credentials),
        _ => {}
    }
}
