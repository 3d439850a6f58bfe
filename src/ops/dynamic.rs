//! `[project]` fields the backend provides (`dynamic = ["version", "dependencies"]`, or a
//! setup.py project without `[project]`): asked of the backend once (PEP 517's
//! `prepare_metadata_for_build_wheel`, in an isolated build environment, on a copy of the
//! source files that can see the checkout's git history), and remembered under
//! `target/pyship/` until the project's files change.

use std::str::FromStr;
use std::sync::Arc;

use anyhow::Context as _;
use pep508_rs::PackageName;

use super::fresh::Inputs;
use crate::cache::Cache;
use crate::index::Source;
use crate::pep517::WheelBuilder;
use crate::project::Project;
use crate::python::Interpreter;
use crate::reporter::{Reporter, Step};
use crate::wheel::Metadata;

/// Fills `project`'s dynamic fields from its backend's metadata.
pub(crate) fn fill(
    project: &mut Project,
    interpreter: &Interpreter,
    sources: Vec<Source>,
    offline: bool,
    cache: &Cache,
    source_date_epoch: u64,
    reporter: Arc<dyn Reporter>,
) -> anyhow::Result<()> {
    if project.dynamic.is_empty() {
        return Ok(());
    }
    let target = project.target_root();
    let mut inputs = Inputs::new();
    inputs
        .tree_without(&project.root, &[target.clone(), project.lockfile_path()])
        .file(&interpreter.resolved);
    // A version from git tags changes with the commit, not with the files.
    if let Some(head) = super::git(
        &project.root,
        &["describe", "--tags", "--always", "--dirty"],
    ) {
        inputs.fact(head);
    }
    let remembered = project
        .target_dir()
        .join("metadata")
        .join(format!("{}.METADATA", inputs.finish()));
    let text = match std::fs::read_to_string(&remembered) {
        Ok(text) => text,
        Err(_) => {
            reporter.status(
                Step::Building,
                &format!(
                    "the metadata of `{}` (its backend provides {})",
                    project.root.display(),
                    project.dynamic.join(", ")
                ),
            );
            let files = crate::project::files::source_files(&project.root, &target)?;
            let copy = crate::project::files::SourceCopy::new(
                &project.root,
                &files,
                &project.target_dir().join("build").join("metadata-source"),
            )?;
            let builder = WheelBuilder::new(
                interpreter.clone(),
                sources,
                offline,
                cache.clone(),
                source_date_epoch,
                reporter.clone(),
            )?;
            let text = builder.directory_metadata(copy.path()).with_context(|| {
                format!(
                    "failed to ask the backend of `{}` for {} (`dynamic` in `[project]`)",
                    project.root.display(),
                    project.dynamic.join(", ")
                )
            })?;
            if let Some(parent) = remembered.parent() {
                let _ = std::fs::remove_dir_all(parent);
            }
            crate::cache::write_atomically(&remembered, text.as_bytes())
                .with_context(|| format!("failed to write `{}`", remembered.display()))?;
            text
        }
    };
    let metadata = Metadata::parse(&text).map_err(|message| {
        anyhow::anyhow!(
            "the backend of `{}` gave metadata pyship cannot read: {message}",
            project.root.display()
        )
    })?;
    apply(project, &metadata, &text)
}

/// Takes the dynamic fields from `metadata`.
fn apply(project: &mut Project, metadata: &Metadata, text: &str) -> anyhow::Result<()> {
    let dynamic = |field: &str| project.dynamic.iter().any(|name| name == field);
    if dynamic("name") {
        project.name = PackageName::from_str(metadata.name.as_ref())?;
    }
    if dynamic("version") {
        project.version = metadata.version.to_string();
        project.parsed_version = metadata.version.clone();
    }
    if dynamic("dependencies") {
        // Requirements of extras stay out: only `[tool.pyship] extras` ship them, and those
        // are read from `[project]`.
        project.dependencies = metadata
            .requires_dist
            .iter()
            .filter(|requirement| {
                !requirement
                    .marker
                    .contents()
                    .is_some_and(|marker| marker.to_string().contains("extra"))
            })
            .cloned()
            .collect();
    }
    if dynamic("requires-python") {
        project.requires_python = metadata.requires_python.as_ref().map(ToString::to_string);
    }
    if dynamic("description") {
        project.summary = text
            .lines()
            .take_while(|line| !line.is_empty())
            .find_map(|line| line.strip_prefix("Summary: "))
            .map(str::to_string);
    }
    Ok(())
}
