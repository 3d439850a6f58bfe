//! What to lock, where from, for which targets: a [`LockPlan`], made from a project
//! (`[project]`, `[tool.pyship]`, then flags) or from pip-compile style requirements files.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::{Context as _, bail};
use pep508_rs::pep440_rs::Version;
use pep508_rs::{PackageName, Requirement};

use super::super::Workspace;
use crate::index::Source;
use crate::lockfile::{Lock, LockInputs, TxtAnnotations};
use crate::project::frozen::{self, Frozen};
use crate::project::{RequirementsIn, TargetSpec};
use crate::python::{Interpreter, Target};
use crate::reporter::Reporter;
use crate::resolver::{OnlyBinary, PrereleaseMode, ResolveOptions};
use crate::settings::{DEFAULT_INTERPRETER, IndexSettings, LockSettings};

/// Everything one lock run needs, whichever way it came in.
pub(crate) struct LockPlan {
    pub root_name: PackageName,
    pub root_version: Version,
    pub requirements: Vec<Requirement>,
    /// Requested dependency groups and their requirements.
    pub groups: BTreeMap<String, Vec<Requirement>>,
    pub constraints: Vec<Requirement>,
    pub requires_python: Option<String>,
    pub sources: Vec<Source>,
    pub targets: Vec<Target>,
    pub options: ResolveOptions,
    /// Where the lock goes; `.txt` means requirements.txt.
    pub output: PathBuf,
    /// `-o -`: requirements.txt on stdout, no file written.
    pub stdout: bool,
    /// The header and `# via` lines of a requirements.txt output.
    pub annotations: TxtAnnotations,
    /// Local wheel paths are recorded relative to this directory.
    pub base_dir: PathBuf,
    /// The interpreter that builds sdists' metadata when PKG-INFO does not declare it.
    pub build_python: Option<Interpreter>,
    /// The project's own build: its name and `[build-system] requires` (project plans only).
    pub app_build: Option<(String, Vec<String>)>,
    /// Per target, in order: the Pythons that may build for it, best first (the first with
    /// the target's X.Y builds its sdists and source trees).
    pub build_candidates: Vec<Vec<PathBuf>>,
    /// The Python that builds the application when none of its target's candidates matches.
    pub app_build_fallback: Option<PathBuf>,
    /// The versions the project froze (a pinned requirements.txt, a uv.lock): constraints
    /// here, and the hashes the locked files must have.
    pub frozen: Option<Frozen>,
}

impl LockPlan {
    /// What a lock made from this plan records as its inputs.
    pub fn inputs(&self) -> LockInputs {
        let mut requirements: Vec<String> =
            self.requirements.iter().map(ToString::to_string).collect();
        for (group, group_requirements) in &self.groups {
            requirements.extend(
                group_requirements
                    .iter()
                    .map(|requirement| format!("{requirement} ; group {group}")),
            );
        }
        LockInputs {
            requirements,
            constraints: self.constraints.iter().map(ToString::to_string).collect(),
            targets: self.targets.iter().map(describe_target).collect(),
            build_requires: self
                .app_build
                .as_ref()
                .map(|(_, requires)| requires.clone())
                .unwrap_or_default(),
        }
    }
}

/// The target names a lock's inputs record (the part of [`describe_target`] before `:`).
pub(crate) fn target_names(inputs: &LockInputs) -> Vec<String> {
    inputs
        .targets
        .iter()
        .filter_map(|description| description.split(':').next())
        .map(str::to_string)
        .collect()
}

/// How a lock records a target among its inputs: `NAME: Python X.Y.Z on PLATFORM`.
fn describe_target(target: &Target) -> String {
    format!(
        "{}: Python {} on {}",
        target.name,
        target.python_full_version,
        target.platform()
    )
}

/// The plan for a project: `[project]`, `[tool.pyship]`, then flags.
pub(crate) fn for_project(
    workspace: &Workspace,
    settings: &LockSettings,
) -> anyhow::Result<LockPlan> {
    let project = &workspace.project;
    let config = &project.config;
    let mut requirements = project.dependencies.clone();
    // `[tool.pyship] requirements`: the files' entries are dependencies too.
    let mut files = RequirementsIn::default();
    for file in &config.requirements {
        files.read(&project.root.join(file))?;
    }
    requirements.extend(files.requirements);
    if config.include_pip && !requirements.iter().any(|r| r.name.as_ref() == "pip") {
        requirements.push(crate::pep508::parse_requirement("pip").map_err(anyhow::Error::msg)?);
    }
    let mut extras: Vec<String> = config.extras.clone();
    extras.extend(settings.extras.iter().cloned());
    if settings.all_extras {
        extras.extend(project.optional_dependencies.keys().cloned());
    }
    extras.sort();
    extras.dedup();
    for extra in &extras {
        let (_, extra_requirements) = find_named(
            &project.optional_dependencies,
            extra,
            "extra",
            "[project.optional-dependencies]",
        )?;
        requirements.extend(extra_requirements.iter().cloned());
    }
    let mut groups = BTreeMap::new();
    for group in &settings.groups {
        let (name, group_requirements) = find_named(
            &project.dependency_groups,
            group,
            "dependency group",
            "[dependency-groups]",
        )?;
        groups.insert(name.clone(), group_requirements.clone());
    }
    let targets = select_targets(settings, &config.targets, || {
        workspace
            .interpreter()
            .map(|interpreter| interpreter.target.clone())
    })?;
    let output = settings
        .output
        .clone()
        .unwrap_or_else(|| project.lockfile_path());
    let frozen = frozen::discover(&project.root, config.frozen.as_ref())?;
    let mut constraints = read_constraints(&settings.constraints)?;
    if let Some(frozen) = &frozen {
        constraints.extend(frozen.constraints());
    }
    Ok(LockPlan {
        root_name: project.name.clone(),
        root_version: project.parsed_version.clone(),
        annotations: super::txt::for_project(&project.name, &requirements, &project.root, settings),
        stdout: is_stdout(settings),
        requirements,
        groups,
        constraints,
        requires_python: project.requires_python.clone(),
        sources: workspace.sources()?,
        options: resolve_options(settings, &output, false)?,
        output,
        base_dir: project.root.clone(),
        build_python: workspace.interpreter().ok().cloned(),
        app_build: Some((
            project.name.to_string(),
            project.build_system.requires.clone(),
        )),
        build_candidates: targets
            .iter()
            .map(|target| workspace.build_python_candidates(target))
            .collect(),
        app_build_fallback: Some(PathBuf::from(
            config.interpreter.as_deref().unwrap_or(DEFAULT_INTERPRETER),
        )),
        frozen,
        targets,
    })
}

/// The plan for `-r FILE…`: everything from flags and the files; paths in `settings` are
/// relative to `directory`.
pub(crate) fn for_requirements(
    directory: &Path,
    settings: &LockSettings,
    reporter: &dyn Reporter,
) -> anyhow::Result<LockPlan> {
    let mut files = RequirementsIn::default();
    for path in &settings.requirements {
        files.read(&directory.join(path))?;
    }
    let mut constraints = files.constraints.clone();
    constraints.extend(read_constraints(
        &settings
            .constraints
            .iter()
            .map(|path| directory.join(path))
            .collect::<Vec<_>>(),
    )?);
    let sources = IndexSettings::for_requirements(&settings.index, &files).sources()?;
    let default_interpreter = || Interpreter::probe(Path::new(DEFAULT_INTERPRETER));
    let targets = select_targets(settings, &[], || {
        let interpreter = default_interpreter()?;
        reporter.debug(&format!(
            "no --python/--platform/--target: locking for `{}`",
            interpreter.resolved.display()
        ));
        Ok(interpreter.target)
    })?;
    let first = &settings.requirements[0];
    let output = match &settings.output {
        Some(output) => directory.join(output),
        None => directory
            .join(first)
            .parent()
            .unwrap_or(directory)
            .join("pylock.toml"),
    };
    let root_name = PackageName::from_str(
        first
            .file_stem()
            .and_then(|stem| stem.to_str())
            .filter(|stem| PackageName::from_str(stem).is_ok())
            .unwrap_or("requirements"),
    )
    .context("a requirements file name")?;
    let base_dir = output.parent().unwrap_or(directory).to_path_buf();
    Ok(LockPlan {
        root_name,
        root_version: Version::new([0]),
        annotations: super::txt::for_requirements(
            &files.requirements,
            &files.origins,
            directory,
            &base_dir,
            settings,
        ),
        stdout: is_stdout(settings),
        requirements: files.requirements,
        groups: BTreeMap::new(),
        constraints,
        requires_python: None,
        sources,
        options: resolve_options(settings, &output, files.pre)?,
        output,
        base_dir,
        build_python: default_interpreter().ok(),
        app_build: None,
        build_candidates: targets
            .iter()
            .map(|_| vec![PathBuf::from(DEFAULT_INTERPRETER)])
            .collect(),
        app_build_fallback: None,
        frozen: None,
        targets,
    })
}

/// `-o -`: write requirements.txt to stdout.
fn is_stdout(settings: &LockSettings) -> bool {
    settings.output.as_deref() == Some(Path::new("-"))
}

fn read_constraints(paths: &[PathBuf]) -> anyhow::Result<Vec<Requirement>> {
    let mut files = RequirementsIn::default();
    for path in paths {
        files.read(path)?;
    }
    // Everything in a constraints file constrains; nothing in it is required.
    let mut constraints = files.constraints;
    constraints.extend(files.requirements);
    Ok(constraints)
}

/// Flags first (`--python`/`--platform`, then `--target`), then `[tool.pyship] targets`,
/// then the target interpreter.
fn select_targets(
    settings: &LockSettings,
    configured: &[TargetSpec],
    interpreter: impl Fn() -> anyhow::Result<Target>,
) -> anyhow::Result<Vec<Target>> {
    // `--python PATH` (as uv takes it): that interpreter's own target, exactly as probed.
    if let Some(path) = settings
        .python
        .as_deref()
        .filter(|python| python.contains('/'))
    {
        if settings.platform.is_some() {
            bail!(
                "`--python {path}` names an interpreter, which knows its platform: drop `--platform`"
            );
        }
        let interpreter = Interpreter::probe(Path::new(path))
            .with_context(|| format!("`--python {path}` must be a Python interpreter"))?;
        return Ok(vec![interpreter.target]);
    }
    if settings.python.is_some() || settings.platform.is_some() {
        let (python, platform) = match (&settings.python, &settings.platform) {
            (Some(python), Some(platform)) => (python.clone(), platform.clone()),
            _ => {
                let probed = interpreter().context(
                    "`--python` and `--platform` go together when no target interpreter can be probed",
                )?;
                (
                    settings
                        .python
                        .clone()
                        .unwrap_or_else(|| probed.python_full_version.to_string()),
                    settings
                        .platform
                        .clone()
                        .unwrap_or_else(|| probed.platform()),
                )
            }
        };
        return Ok(vec![Target::from_spec(&python, &platform)?]);
    }
    if !settings.targets.is_empty() {
        return settings
            .targets
            .iter()
            .map(|preset| Ok(Target::preset(preset, None)?))
            .collect();
    }
    if !configured.is_empty() {
        return configured
            .iter()
            .map(|spec| {
                let mut target = match spec {
                    TargetSpec::Preset(preset) => Target::preset(preset, None)?,
                    TargetSpec::Explicit {
                        preset: Some(preset),
                        arch,
                        ..
                    } => Target::preset(preset, arch.as_deref())?,
                    TargetSpec::Explicit {
                        python: Some(python),
                        platform: Some(platform),
                        ..
                    } => Target::from_spec(python, platform)?,
                    TargetSpec::Explicit { .. } => bail!(
                        "a `[tool.pyship] targets` entry needs `preset`, or `python` and `platform`"
                    ),
                };
                if let TargetSpec::Explicit {
                    interpreter: Some(interpreter),
                    ..
                } = spec
                {
                    target.interpreter = Some(PathBuf::from(interpreter));
                }
                Ok(target)
            })
            .collect();
    }
    Ok(vec![interpreter()?])
}

fn resolve_options(
    settings: &LockSettings,
    output: &Path,
    pre: bool,
) -> anyhow::Result<ResolveOptions> {
    let mut preferences = HashMap::new();
    // Keep what is locked unless told to upgrade: re-locking is then a no-op. In a
    // requirements.txt output, pins edited by hand are kept the same way (as pip-compile does)
    // when they still fit.
    if !settings.upgrade {
        let pinned: Vec<(String, String)> = match output.extension().and_then(|e| e.to_str()) {
            Some("toml") => Lock::read(output)
                .map(|lock| {
                    lock.packages
                        .into_iter()
                        .map(|package| (package.name, package.version))
                        .collect()
                })
                .unwrap_or_default(),
            Some("txt") => std::fs::read_to_string(output)
                .map(|text| crate::lockfile::pinned_in_requirements_txt(&text))
                .unwrap_or_default(),
            _ => Vec::new(),
        };
        let upgrade: Vec<String> = settings
            .upgrade_packages
            .iter()
            .map(|n| normalize(n))
            .collect();
        for (name, version) in pinned {
            if upgrade.contains(&normalize(&name)) {
                continue;
            }
            if let (Ok(name), Ok(version)) =
                (PackageName::from_str(&name), Version::from_str(&version))
            {
                preferences.insert(name, version);
            }
        }
    }
    let prerelease = settings.prerelease.unwrap_or(if pre {
        PrereleaseMode::Allow
    } else {
        PrereleaseMode::IfNecessary
    });
    let rule = |names: &[String]| {
        if names.iter().any(|name| name == ":all:") {
            OnlyBinary::All
        } else if names.is_empty() {
            OnlyBinary::None
        } else {
            OnlyBinary::Packages(
                names
                    .iter()
                    .filter_map(|name| PackageName::from_str(name).ok())
                    .collect(),
            )
        }
    };
    Ok(ResolveOptions {
        prerelease,
        preferences,
        exclude_newer: settings.exclude_newer.clone(),
        only_binary: rule(&settings.only_binary),
        no_binary: rule(&settings.no_binary),
        ..ResolveOptions::default()
    })
}

fn normalize(name: &str) -> String {
    PackageName::from_str(name).map_or_else(|_| name.to_ascii_lowercase(), |name| name.to_string())
}

/// The entry of `table` whose name normalizes like `wanted` (PEP 685 for extras, PEP 735 for
/// groups), or an error listing what the table has.
fn find_named<'t, T>(
    table: &'t BTreeMap<String, T>,
    wanted: &str,
    what: &str,
    table_name: &str,
) -> anyhow::Result<(&'t String, &'t T)> {
    if let Some(found) = table
        .iter()
        .find(|(name, _)| normalize(name) == normalize(wanted))
    {
        return Ok(found);
    }
    let names: Vec<String> = table.keys().map(|name| format!("`{name}`")).collect();
    let names = if names.is_empty() {
        "nothing".to_string()
    } else {
        names.join(", ")
    };
    bail!("the project has no {what} `{wanted}`; `{table_name}` has: {names}")
}
