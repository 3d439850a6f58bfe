//! What a requirements.txt output says beyond its pins, as pip-compile writes it: the command
//! that regenerates it, and where each top-level requirement came from (`# via`).

use std::collections::BTreeMap;
use std::path::Path;

use pep508_rs::{PackageName, Requirement};

use crate::lockfile::TxtAnnotations;
use crate::resolver::PrereleaseMode;
use crate::settings::LockSettings;

/// For a project: its requirements come from `NAME (pyproject.toml)`.
pub(super) fn for_project(
    name: &PackageName,
    requirements: &[Requirement],
    project_dir: &Path,
    settings: &LockSettings,
) -> TxtAnnotations {
    let label = format!("{name} (pyproject.toml)");
    TxtAnnotations {
        command: Some(command(settings, project_dir)),
        roots: roots(requirements.iter().map(|r| (r, label.clone()))),
        without_hashes: false,
        groups: Vec::new(),
    }
}

/// For `-r` files: each requirement comes from `-r FILE`, the file as the command names it
/// when it was named there, else relative to the output's directory (an included file).
pub(super) fn for_requirements(
    requirements: &[Requirement],
    origins: &[std::path::PathBuf],
    directory: &Path,
    output_dir: &Path,
    settings: &LockSettings,
) -> TxtAnnotations {
    let label = |origin: &Path| {
        let named = settings
            .requirements
            .iter()
            .find(|given| directory.join(given) == origin);
        let shown = match named {
            Some(given) => given.display().to_string(),
            None => origin
                .strip_prefix(output_dir)
                .unwrap_or(origin)
                .display()
                .to_string(),
        };
        format!("-r {shown}")
    };
    TxtAnnotations {
        command: Some(command(settings, directory)),
        roots: roots(
            requirements
                .iter()
                .zip(origins)
                .map(|(requirement, origin)| (requirement, label(origin))),
        ),
        without_hashes: false,
        groups: Vec::new(),
    }
}

/// For `pyship export`: what the lock's own inputs asked for comes from `pylock.toml`.
pub(crate) fn for_lock(lock: &crate::lockfile::Lock) -> TxtAnnotations {
    let requirements: Vec<Requirement> = lock
        .inputs
        .requirements
        .iter()
        .filter_map(|requirement| crate::pep508::parse_requirement(requirement).ok())
        .collect();
    TxtAnnotations {
        command: None,
        roots: roots(requirements.iter().map(|r| (r, "pylock.toml".to_string()))),
        without_hashes: false,
        groups: Vec::new(),
    }
}

fn roots<'r>(
    labelled: impl Iterator<Item = (&'r Requirement, String)>,
) -> BTreeMap<String, std::collections::BTreeSet<String>> {
    let mut roots: BTreeMap<String, std::collections::BTreeSet<String>> = BTreeMap::new();
    for (requirement, label) in labelled {
        roots
            .entry(requirement.name.to_string())
            .or_default()
            .insert(label);
    }
    roots
}

/// The `pyship lock` command line that gives this output again: the inputs and the options
/// that change the result, never an index URL (it may carry credentials; a `-r` file's own
/// `--index-url` line is read again anyway).
///
/// Paths are shown as given: relative to `directory` (where `-C` pointed), not made absolute.
fn command(settings: &LockSettings, directory: &Path) -> String {
    let mut words = vec!["pyship".to_string(), "lock".to_string()];
    let mut add = |flag: &str, value: &str| {
        words.push(flag.to_string());
        words.push(shell_word(value));
    };
    for path in &settings.requirements {
        add("-r", &path.display().to_string());
    }
    for path in &settings.constraints {
        add("-c", &path.display().to_string());
    }
    if let Some(output) = &settings.output {
        add("-o", &output.display().to_string());
    }
    if let Some(python) = &settings.python {
        add("--python", python);
    }
    if let Some(platform) = &settings.platform {
        add("--platform", platform);
    }
    for target in &settings.targets {
        add("--target", target);
    }
    for extra in &settings.extras {
        add("--extra", extra);
    }
    for group in &settings.groups {
        add("--group", group);
    }
    for names in &settings.only_binary {
        add("--only-binary", names);
    }
    for names in &settings.no_binary {
        add("--no-binary", names);
    }
    if let Some(cutoff) = &settings.exclude_newer {
        add("--exclude-newer", cutoff);
    }
    if let Some(mode) = settings.prerelease {
        let mode = match mode {
            PrereleaseMode::Allow => "allow",
            PrereleaseMode::IfNecessary => "if-necessary",
            PrereleaseMode::Disallow => "disallow",
        };
        add("--prerelease", mode);
    }
    for links in &settings.index.find_links {
        let shown = links.strip_prefix(directory).unwrap_or(links);
        add("--find-links", &shown.display().to_string());
    }
    if settings.index.no_index {
        words.push("--no-index".into());
    }
    if settings.all_extras {
        words.push("--all-extras".into());
    }
    words.join(" ")
}

/// `word` as one POSIX shell word.
fn shell_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=,+@%".contains(c));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}
