//! Publishing: artifacts handed to a publisher plugin (`pyship-NAME` whose describe says
//! `"role": "publisher"`) with a destination. The artifacts are this build's (packaged in the
//! first format the publisher accepts) or those of an earlier `pyship package --message-format
//! json`, checked against their sha256 before they are handed over.

use std::path::Path;

use anyhow::{Context as _, bail};
use pyship_plugin::{Artifact, PluginRole, PublishRequest, PublishResult};

use super::Workspace;
use super::package::{PluginOutput, plugin_environment};
use crate::cache;
use crate::plugin;
use crate::reporter::{ProgressKind, Step};

/// Publishes to `destination` with the publisher `name`: the artifacts listed in
/// `artifacts_file`, or this project's, packaged now (`target` as for `pyship package`).
pub(crate) fn publish(
    workspace: &Workspace,
    name: &str,
    destination: &str,
    artifacts_file: Option<&Path>,
    target: Option<&str>,
    output: PluginOutput,
) -> anyhow::Result<PublishResult> {
    let path = plugin::find_required(name)?;
    let description = plugin::describe(name, &path)?;
    let protocol = plugin::negotiate(name, &path, &description)?;
    if description.role != PluginRole::Publisher {
        bail!(
            "`pyship-{name}` is not a publisher (its describe says role `{}`); formats are run by `pyship package {name}`",
            serde_json::to_value(description.role)
                .ok()
                .and_then(|role| role.as_str().map(str::to_string))
                .unwrap_or_else(|| "unknown".into())
        );
    }
    let artifacts = match artifacts_file {
        Some(file) => read_artifacts(file)?,
        None => {
            let Some(format) = description.accepts.first() else {
                bail!(
                    "`pyship-{name}` accepts no format, so there is nothing to package for it; give `--artifacts FILE`"
                );
            };
            super::package::package(workspace, format, target, output)?
        }
    };
    if artifacts.is_empty() {
        bail!("there are no artifacts to publish");
    }
    for artifact in &artifacts {
        if !description.accepts.is_empty() && !description.accepts.contains(&artifact.kind) {
            bail!(
                "`{}` is a {} artifact, and `pyship-{name}` accepts {}",
                artifact.path.display(),
                artifact.kind,
                description.accepts.join(", ")
            );
        }
        // What is published is what was built: checked here, before the publisher sees it.
        let actual = cache::sha256_file(&artifact.path)
            .with_context(|| format!("failed to read `{}`", artifact.path.display()))?;
        if actual != artifact.sha256 {
            bail!(
                "`{}` changed since it was packaged (its sha256 is not the one recorded); package it again",
                artifact.path.display()
            );
        }
    }
    let project = &workspace.project;
    let request = PublishRequest {
        protocol,
        publisher: name.to_string(),
        destination: destination.to_string(),
        artifacts,
        options: serde_json::to_value(plugin::plugin_table(
            project
                .format_options
                .get(name)
                .unwrap_or(&toml::Table::new()),
        ))?
        .as_object()
        .cloned()
        .unwrap_or_default(),
        project: project.name.to_string(),
        release: crate::facts::release(project),
        source_date_epoch: workspace.source_date_epoch,
    };
    let request_path = project
        .target_dir()
        .join("publish")
        .join(name)
        .join("request.json");
    cache::write_atomically(
        &request_path,
        serde_json::to_string_pretty(&request)?.as_bytes(),
    )
    .with_context(|| format!("failed to write `{}`", request_path.display()))?;
    workspace.reporter.status(
        Step::Publishing,
        &format!(
            "{} artifacts to `{destination}` with `{}`",
            request.artifacts.len(),
            path.display()
        ),
    );
    let environment = plugin_environment(workspace, protocol, output);
    let reporter = workspace.reporter.as_ref();
    let spinner = reporter.progress(
        Step::Publishing,
        ProgressKind::Spinner {
            message: format!("to `{destination}` (pyship-{name})"),
        },
    );
    let published = plugin::run_publish(name, &path, &request_path, &environment, &|line| {
        spinner.relay(line, reporter)
    })?;
    spinner.finish();
    Ok(published)
}

/// The artifacts of a `pyship package --message-format json` result (`{"artifacts": [...]}`,
/// one object per line for several runs) or a JSON array of them.
fn read_artifacts(file: &Path) -> anyhow::Result<Vec<Artifact>> {
    #[derive(serde::Deserialize)]
    struct Result {
        artifacts: Vec<Artifact>,
    }
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("failed to read `{}`", file.display()))?;
    let invalid = |error: serde_json::Error| {
        anyhow::anyhow!(
            "`{}` is not what `pyship package --message-format json` prints: {error}",
            file.display()
        )
    };
    if text.trim_start().starts_with('[') {
        return serde_json::from_str(&text).map_err(invalid);
    }
    let mut artifacts = Vec::new();
    for line in text.lines().filter(|line| !line.trim().is_empty()) {
        let result: Result = serde_json::from_str(line).map_err(invalid)?;
        artifacts.extend(result.artifacts);
    }
    let directory = file.parent().map(Path::to_path_buf).unwrap_or_default();
    // Paths are absolute in what pyship prints; a relative one is taken from the file's place.
    for artifact in &mut artifacts {
        if artifact.path.is_relative() {
            artifact.path = directory.join(&artifact.path);
        }
    }
    Ok(artifacts)
}
