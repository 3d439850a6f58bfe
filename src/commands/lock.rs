//! `pyship lock`: resolve requirements for every target into pylock.toml or requirements.txt.
//!
//! Two ways in: a project (`[project]` dependencies, settings from `[tool.pyship]`, flags on
//! top) or pip-compile style files (`-r requirements.in`, every setting from flags and the
//! files). Both become a [`LockPlan`], which is resolved once per target and assembled into
//! one lock.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Instant;

use anyhow::{Context as _, bail};
use pep508_rs::pep440_rs::{Version, VersionSpecifiers};
use pep508_rs::{PackageName, Requirement};

use super::{DEFAULT_INDEX_URL, ExitStatus, ProjectContext};
use crate::cache::{self, Cache};
use crate::env_vars;
use crate::index::{DistFile, FileLocation, PackageIndex, Source};
use crate::lockfile::{self, Lock, LockInputs, LockfileError, Resolution};
use crate::printer::{Printer, verb};
use crate::project::{RequirementsIn, TargetSpec};
use crate::python::{Interpreter, Target};
use crate::reporter::Progress;
use crate::resolver::{self, Builder, OnlyBinary, PrereleaseMode, ResolveOptions};
use crate::sdist::SdistBuilder;
use crate::settings::{GlobalSettings, LockSettings};

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
    /// Local wheel paths are recorded relative to this directory.
    pub base_dir: PathBuf,
    /// The interpreter that builds sdists' metadata when PKG-INFO does not declare it.
    pub build_python: Option<Interpreter>,
}

impl LockPlan {
    /// What a lock made from this plan records as its inputs.
    fn inputs(&self) -> LockInputs {
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
        }
    }
}

fn describe_target(target: &Target) -> String {
    format!(
        "{}: Python {} on {}",
        target.name,
        target.python_full_version,
        target.platform()
    )
}

/// `pyship lock` for a project, or pip-compile style with `-r`.
pub(crate) fn lock(
    global: &GlobalSettings,
    settings: LockSettings,
    printer: Printer,
) -> anyhow::Result<ExitStatus> {
    let plan = if settings.requirements.is_empty() {
        let context = ProjectContext::load(global, printer)?;
        project_plan(&context, &settings)?
    } else {
        standalone_plan(global, &settings, &printer)?
    };
    let cache = Cache::from_env();
    if let Some(name) = plan.output.file_name().and_then(|name| name.to_str()) {
        let pep751_name = name == "pylock.toml"
            || name
                .strip_prefix("pylock.")
                .and_then(|rest| rest.strip_suffix(".toml"))
                .is_some_and(|middle| !middle.is_empty() && !middle.contains('.'));
        if name.ends_with(".toml") && !pep751_name {
            printer.warning(format!(
                "PEP 751 names lock files `pylock.toml` or `pylock.NAME.toml`; other tools may refuse `{name}`"
            ));
        }
    }
    let existing = std::fs::read_to_string(&plan.output).ok();
    let lock = resolve_plan(&plan, global.offline, &cache, &printer)?;
    let rendered = render(&plan, &lock);
    let name = display_name(&plan.output);
    if settings.check {
        return Ok(if existing.as_deref() == Some(rendered.as_str()) {
            printer.status(verb::FRESH, name);
            ExitStatus::Success
        } else {
            printer.warning(format!(
                "`{}` is {}; run `pyship lock` to update it",
                plan.output.display(),
                if existing.is_some() {
                    "out of date"
                } else {
                    "missing"
                }
            ));
            // What would change, as data on stdout: `+ name version`, `- …`, `~ old -> new`.
            for line in lockfile::diff_pins(existing.as_deref().unwrap_or(""), &rendered) {
                printer.data(line);
            }
            ExitStatus::Failure
        });
    }
    write_output(&plan.output, &rendered, existing.as_deref(), &printer)?;
    Ok(ExitStatus::Success)
}

/// The project's lock for its current inputs: the lockfile when fresh, else a new one.
pub(crate) fn ensure_lock(context: &ProjectContext) -> anyhow::Result<Lock> {
    let path = context.project.lockfile_path();
    // A lock that exists but cannot be read is an error, never silently replaced: it may be
    // another tool's, hand-edited, or hostile, and the user must see why.
    let existing = match Lock::read(&path) {
        Ok(lock) => Some(lock),
        Err(LockfileError::Read { source, .. })
            if source.kind() == std::io::ErrorKind::NotFound =>
        {
            None
        }
        Err(error) => {
            return Err(anyhow::Error::new(error).context(format!(
                "cannot use `{}`; fix it, or delete it and run `pyship lock`",
                path.display()
            )));
        }
    };
    // Keep the groups the lock was made with: building must not drop a `--group test` lock.
    let settings = LockSettings {
        groups: existing
            .as_ref()
            .map(|lock| lock.dependency_groups.clone())
            .unwrap_or_default(),
        ..LockSettings::default()
    };
    let plan = project_plan(context, &settings)?;
    let path = &plan.output;
    if let Some(lock) = existing {
        if lock.inputs == plan.inputs() {
            context
                .printer
                .debug(format!("`{}` is up to date", path.display()));
            return Ok(lock);
        }
        context.printer.debug(format!(
            "`{}` is stale: the requirements or targets changed",
            path.display()
        ));
    }
    let lock = resolve_plan(&plan, context.offline, &context.cache, &context.printer)?;
    let rendered = render(&plan, &lock);
    let existing = std::fs::read_to_string(path).ok();
    write_output(path, &rendered, existing.as_deref(), &context.printer)?;
    Ok(lock)
}

fn render(plan: &LockPlan, lock: &Lock) -> String {
    if plan.output.extension().is_some_and(|ext| ext == "txt") {
        lockfile::export_requirements_txt(lock)
    } else {
        lock.render()
    }
}

fn write_output(
    path: &Path,
    rendered: &str,
    existing: Option<&str>,
    printer: &Printer,
) -> anyhow::Result<()> {
    let name = display_name(path);
    if existing == Some(rendered) {
        printer.status(verb::FRESH, name);
        return Ok(());
    }
    cache::write_atomically(path, rendered.as_bytes())
        .with_context(|| format!("failed to write `{}`", path.display()))?;
    printer.status(verb::LOCKED, name);
    Ok(())
}

fn display_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |name| name.to_string_lossy().into_owned(),
    )
}

/// The plan for a project: `[project]`, `[tool.pyship]`, then flags.
fn project_plan(context: &ProjectContext, settings: &LockSettings) -> anyhow::Result<LockPlan> {
    let project = &context.project;
    let config = &project.config;
    let mut requirements = project.dependencies.clone();
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
    let find_links: Vec<PathBuf> = config
        .find_links
        .iter()
        .map(|directory| project.root.join(directory))
        .chain(settings.find_links.iter().cloned())
        .collect();
    let index_url = settings
        .index_url
        .clone()
        .or_else(|| {
            std::env::var(env_vars::PYSHIP_INDEX_URL)
                .ok()
                .filter(|url| !url.is_empty())
        })
        .or_else(|| config.index_url.clone());
    let mut extra_index_urls = config.extra_index_url.clone();
    extra_index_urls.extend(settings.extra_index_urls.iter().cloned());
    let sources = sources(
        &find_links,
        config.no_index || settings.no_index,
        index_url,
        &extra_index_urls,
    )?;
    let targets = select_targets(settings, &config.targets, || {
        context
            .interpreter()
            .map(|interpreter| interpreter.target.clone())
    })?;
    let output = settings
        .output
        .clone()
        .unwrap_or_else(|| project.lockfile_path());
    Ok(LockPlan {
        root_name: project.name.clone(),
        root_version: project.parsed_version.clone(),
        requirements,
        groups,
        constraints: read_constraints(&settings.constraints)?,
        requires_python: project.requires_python.clone(),
        sources,
        targets,
        options: resolve_options(settings, &output, false)?,
        output,
        base_dir: project.root.clone(),
        build_python: context.interpreter().ok().cloned(),
    })
}

/// The plan for `-r FILE…`: everything from flags and the files.
fn standalone_plan(
    global: &GlobalSettings,
    settings: &LockSettings,
    printer: &Printer,
) -> anyhow::Result<LockPlan> {
    let mut files = RequirementsIn::default();
    for path in &settings.requirements {
        files.read(&global.directory.join(path))?;
    }
    let mut constraints = files.constraints.clone();
    constraints.extend(read_constraints(
        &settings
            .constraints
            .iter()
            .map(|path| global.directory.join(path))
            .collect::<Vec<_>>(),
    )?);
    let find_links: Vec<PathBuf> = files
        .find_links
        .iter()
        .cloned()
        .chain(
            settings
                .find_links
                .iter()
                .map(|path| global.directory.join(path)),
        )
        .collect();
    let index_url = settings
        .index_url
        .clone()
        .or_else(|| files.index_url.clone())
        .or_else(|| {
            std::env::var(env_vars::PYSHIP_INDEX_URL)
                .ok()
                .filter(|url| !url.is_empty())
        });
    let mut extra_index_urls = files.extra_index_urls.clone();
    extra_index_urls.extend(settings.extra_index_urls.iter().cloned());
    let sources = sources(
        &find_links,
        files.no_index || settings.no_index,
        index_url,
        &extra_index_urls,
    )?;
    let targets = select_targets(settings, &[], || {
        let interpreter = Interpreter::probe(Path::new("/usr/bin/python3"))?;
        printer.debug(format!(
            "no --python/--platform/--target: locking for `{}`",
            interpreter.resolved.display()
        ));
        Ok(interpreter.target)
    })?;
    let first = &settings.requirements[0];
    let output = match &settings.output {
        Some(output) => global.directory.join(output),
        None => global
            .directory
            .join(first)
            .parent()
            .unwrap_or(&global.directory)
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
    let base_dir = output.parent().unwrap_or(&global.directory).to_path_buf();
    Ok(LockPlan {
        root_name,
        root_version: Version::new([0]),
        requirements: files.requirements,
        groups: BTreeMap::new(),
        constraints,
        requires_python: None,
        sources,
        targets,
        options: resolve_options(settings, &output, files.pre)?,
        output,
        base_dir,
        build_python: Interpreter::probe(Path::new("/usr/bin/python3")).ok(),
    })
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

fn sources(
    find_links: &[PathBuf],
    no_index: bool,
    index_url: Option<String>,
    extra_index_urls: &[String],
) -> anyhow::Result<Vec<Source>> {
    let mut sources: Vec<Source> = find_links.iter().cloned().map(Source::FindLinks).collect();
    if !no_index {
        let primary = index_url.unwrap_or_else(|| DEFAULT_INDEX_URL.to_string());
        for url in std::iter::once(&primary).chain(extra_index_urls) {
            sources.push(Source::Simple(PackageIndex::parse_index_url(url)?));
        }
    }
    Ok(sources)
}

/// Flags first (`--python`/`--platform`, then `--target`), then `[tool.pyship] targets`,
/// then the target interpreter.
fn select_targets(
    settings: &LockSettings,
    configured: &[TargetSpec],
    interpreter: impl Fn() -> anyhow::Result<Target>,
) -> anyhow::Result<Vec<Target>> {
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
            .map(|spec| match spec {
                TargetSpec::Preset(preset) => Ok(Target::preset(preset, None)?),
                TargetSpec::Explicit {
                    preset: Some(preset),
                    arch,
                    ..
                } => Ok(Target::preset(preset, arch.as_deref())?),
                TargetSpec::Explicit {
                    python: Some(python),
                    platform: Some(platform),
                    ..
                } => Ok(Target::from_spec(python, platform)?),
                TargetSpec::Explicit { .. } => bail!(
                    "a `[tool.pyship] targets` entry needs `preset`, or `python` and `platform`"
                ),
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
    // Keep what is locked unless told to upgrade: re-locking is then a no-op.
    if !settings.upgrade && output.extension().is_some_and(|ext| ext == "toml") {
        if let Ok(existing) = Lock::read(output) {
            let upgrade: Vec<String> = settings
                .upgrade_packages
                .iter()
                .map(|n| normalize(n))
                .collect();
            for package in existing.packages {
                if upgrade.contains(&normalize(&package.name)) {
                    continue;
                }
                if let (Ok(name), Ok(version)) = (
                    PackageName::from_str(&package.name),
                    Version::from_str(&package.version),
                ) {
                    preferences.insert(name, version);
                }
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

/// Resolves the plan for every target and assembles the lock.
fn resolve_plan(
    plan: &LockPlan,
    offline: bool,
    cache: &Cache,
    printer: &Printer,
) -> anyhow::Result<Lock> {
    if let Some(requires_python) = &plan.requires_python {
        let specifiers = VersionSpecifiers::from_str(requires_python).with_context(|| {
            format!("invalid `requires-python = \"{requires_python}\"` in `[project]`")
        })?;
        for target in &plan.targets {
            if !specifiers.contains(&target.python_full_version) {
                bail!(
                    "the project requires Python {requires_python}, but the target `{}` is Python {}",
                    target.name,
                    target.python_full_version
                );
            }
        }
    }
    let index = PackageIndex::new(plan.sources.clone(), offline, cache.clone())?;
    let mut options = plan.options.clone();
    let builder = match &plan.build_python {
        Some(python) => Some(std::sync::Arc::new(SdistBuilder::new(
            python.clone(),
            plan.sources.clone(),
            offline,
            cache.clone(),
            0,
            *printer,
        )?)),
        None => None,
    };
    if let Some(builder) = &builder {
        options.metadata_builder = Some(Builder(builder.clone()));
    }
    options.constraints = plan.constraints.clone();
    // An exact pin may choose a yanked file (PEP 592).
    for requirement in plan
        .requirements
        .iter()
        .chain(plan.groups.values().flatten())
    {
        if let Some(pep508_rs::VersionOrUrl::VersionSpecifier(specifiers)) =
            &requirement.version_or_url
        {
            if specifiers.iter().any(|specifier| {
                matches!(
                    specifier.operator(),
                    pep508_rs::pep440_rs::Operator::Equal
                        | pep508_rs::pep440_rs::Operator::ExactEqual
                )
            }) {
                options.allow_yanked.insert(requirement.name.clone());
            }
        }
    }
    for requirement in plan
        .requirements
        .iter()
        .chain(plan.groups.values().flatten())
    {
        if let Some(pep508_rs::VersionOrUrl::Url(url)) = &requirement.version_or_url {
            let url = url.to_url();
            let directory = url.to_file_path().ok().filter(|path| path.is_dir());
            let file = match directory {
                Some(directory) => {
                    // A source tree: its name and version are known only once built.
                    let builder = builder.as_ref().ok_or_else(|| {
                        anyhow::anyhow!(
                            "`{}` is a source tree, and building it needs a Python interpreter (`/usr/bin/python3` or `[tool.pyship] interpreter`)",
                            requirement
                        )
                    })?;
                    let text = builder.directory_metadata(&directory).with_context(|| {
                        format!("failed to build the metadata of `{}`", directory.display())
                    })?;
                    let metadata = crate::wheel::Metadata::parse(&text).map_err(|message| {
                        anyhow::anyhow!("`{}`: {message}", directory.display())
                    })?;
                    if metadata.name != requirement.name {
                        bail!(
                            "`{requirement}` points to a project named `{}`",
                            metadata.name
                        );
                    }
                    let file = DistFile::source_tree(
                        metadata.name.clone(),
                        metadata.version.clone(),
                        directory,
                    );
                    options
                        .direct_metadata
                        .insert(requirement.name.clone(), std::sync::Arc::new(metadata));
                    file
                }
                None => direct_file(&requirement.name, &url)?,
            };
            options.direct.insert(requirement.name.clone(), file);
        }
    }
    let all_requirements: Vec<Requirement> = plan
        .requirements
        .iter()
        .chain(plan.groups.values().flatten())
        .cloned()
        .collect();
    let started = Instant::now();
    let mut resolutions = Vec::new();
    for target in &plan.targets {
        printer.status(
            verb::RESOLVING,
            format!(
                "for {} (Python {}, {})",
                target.name,
                target.python_full_version,
                target.platform()
            ),
        );
        let spinner = Progress::spinner(printer, verb::RESOLVING, &target.name);
        let packages = spinner.while_waiting(
            &target.name,
            || index.longest_wait(),
            || {
                resolver::resolve(
                    &plan.root_name,
                    &plan.root_version,
                    &all_requirements,
                    &index,
                    target,
                    &options,
                )
            },
        )?;
        spinner.finish();
        let main_roots = root_names(&plan.requirements, target);
        let groups = plan
            .groups
            .iter()
            .map(|(group, requirements)| (group.clone(), root_names(requirements, target)))
            .collect();
        resolutions.push(Resolution {
            target,
            packages,
            main_roots,
            groups,
        });
    }
    let lock = lockfile::assemble(
        &resolutions,
        &index,
        &plan.base_dir,
        plan.requires_python.clone(),
        plan.groups.keys().cloned().collect(),
        plan.inputs(),
    )?;
    printer.status(
        verb::RESOLVED,
        format!(
            "{} packages in {:.2}s",
            lock.packages.len(),
            started.elapsed().as_secs_f64()
        ),
    );
    Ok(lock)
}

/// Names the requirements pull in directly on `target`.
fn root_names(requirements: &[Requirement], target: &Target) -> BTreeSet<PackageName> {
    requirements
        .iter()
        .filter(|requirement| requirement.marker.evaluate(&target.markers, &[]))
        .map(|requirement| requirement.name.clone())
        .collect()
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

/// The wheel or sdist a `name @ URL` requirement points at: a local `file://` one or a remote
/// one (its `#sha256=` fragment, if any, is checked when it is downloaded).
fn direct_file(name: &PackageName, url: &reqwest::Url) -> anyhow::Result<DistFile> {
    let unsupported = || {
        anyhow::anyhow!(
            "`{name} @ {url}`: a direct reference must point to a wheel (`.whl`), an sdist (`.tar.gz`, `.zip`) or a local source tree, by `file://`, `http://` or `https://` URL; VCS URLs are not supported yet"
        )
    };
    let file_name = url
        .path_segments()
        .and_then(|mut segments| segments.next_back())
        .map(str::to_string)
        .ok_or_else(unsupported)?;
    let parsed =
        DistFile::new(&file_name, FileLocation::Path(PathBuf::new())).ok_or_else(unsupported)?;
    if &parsed.name != name {
        bail!(
            "`{name} @ {url}` points to a distribution of `{}`",
            parsed.name
        );
    }
    let (location, sha256) = match url.scheme() {
        "file" => {
            let path = url.to_file_path().map_err(|()| unsupported())?;
            if !path.is_file() {
                bail!("`{name} @ {url}`: `{}` does not exist", path.display());
            }
            (FileLocation::Path(path), None)
        }
        "http" | "https" => {
            let sha256 = url
                .fragment()
                .and_then(|fragment| fragment.strip_prefix("sha256="))
                .map(str::to_ascii_lowercase);
            let mut url = url.clone();
            url.set_fragment(None);
            (FileLocation::Url(url), sha256)
        }
        _ => return Err(unsupported()),
    };
    Ok(DistFile {
        location,
        sha256,
        ..parsed
    })
}
