//! Staging: the virtualenv created at its install prefix under `target/stage`, with every
//! locked package and the application installed and byte-compiled. (`pyship build` runs this;
//! "building" a wheel is PEP 517's, see `pep517`.)

use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::{Context as _, bail};

use super::Workspace;
use super::fetch::fetch;
use super::fresh;
use super::lock::{Locked, ensure_lock};
use crate::lockfile::Lock;
use crate::pep517;
use crate::project::BytecodeMode;
use crate::python::{Interpreter, Target};
use crate::reporter::{ProgressKind, Step};
use crate::venv::{self, StagedVenv};
use crate::wheel;
use pyship_plugin::LayoutKind;

/// A staged build, ready for a plugin.
pub(crate) struct Staged {
    pub venv: StagedVenv,
    /// Every installed distribution, the application last.
    pub packages: Vec<pyship_plugin::Package>,
    /// What it was staged for; its `interpreter` is the virtualenv's base on the server.
    pub target: Target,
    /// The interpreter on the server.
    pub base_interpreter: PathBuf,
    /// When the modules are byte-compiled (never `None`: what happened is decided here).
    pub bytecode: BytecodeMode,
    /// The layout staged.
    pub layout: LayoutKind,
    /// What requires what, from the lock (for the bills of materials).
    pub graph: crate::sbom::Graph,
}

/// The lock and the targets to stage: every target of the lock, or the one `requested`.
fn targets(workspace: &Workspace, requested: Option<&str>) -> anyhow::Result<(Lock, Vec<Target>)> {
    let Locked { lock, targets } = ensure_lock(workspace)?;
    let Some(requested) = requested else {
        return Ok((lock, targets));
    };
    let chosen: Vec<Target> = targets
        .iter()
        .filter(|target| target.name == requested)
        .cloned()
        .collect();
    if chosen.is_empty() {
        let names: Vec<&str> = targets.iter().map(|target| target.name.as_str()).collect();
        // A misspelt name is most likely meant as one of the lock's targets or a preset.
        let is_preset = crate::python::PRESETS
            .iter()
            .any(|preset| preset.name == requested);
        let close = names
            .iter()
            .copied()
            .chain(crate::python::PRESETS.iter().map(|preset| preset.name))
            .filter(|name| !is_preset && crate::diagnostics::edit_distance(requested, name) <= 2)
            .min_by_key(|name| crate::diagnostics::edit_distance(requested, name));
        match close {
            Some(name) if names.contains(&name) => bail!(
                "the lock has no target `{requested}`; did you mean `{name}`? (it has {})",
                names.join(", ")
            ),
            Some(name) => bail!(
                "the lock has no target `{requested}` (it has {}); did you mean the preset `{name}`? Add `\"{name}\"` to `[tool.pyship] targets` and run `pyship lock`",
                names.join(", ")
            ),
            None if is_preset => bail!(
                "the lock has no target `{requested}` (it has {}); add `\"{requested}\"` to `[tool.pyship] targets` and run `pyship lock`",
                names.join(", ")
            ),
            None => bail!(
                "the lock has no target `{requested}` (it has {}), and it is no preset ({})",
                names.join(", "),
                crate::python::PRESETS
                    .iter()
                    .map(|preset| preset.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
    Ok((lock, chosen))
}

/// Stages every target of the lock (or the one `requested`) as `pyship build` does.
pub(crate) fn stage_targets(
    workspace: &Workspace,
    requested: Option<&str>,
) -> anyhow::Result<Vec<Staged>> {
    stage_each(
        workspace,
        requested,
        &workspace.project.install_prefix(),
        LayoutKind::Venv,
        Ok,
    )
}

/// Stages every target of the lock (or the one `requested`) at `install_prefix` in `layout`,
/// one after the other, handing each staged tree to `then` before the next is staged.
pub(crate) fn stage_each<T>(
    workspace: &Workspace,
    requested: Option<&str>,
    install_prefix: &Path,
    layout: LayoutKind,
    mut then: impl FnMut(Staged) -> anyhow::Result<T>,
) -> anyhow::Result<Vec<T>> {
    let (lock, targets) = self::targets(workspace, requested)?;
    claim_target_dir(&workspace.project.target_root())?;
    let several = lock.inputs.targets.len() > 1;
    targets
        .iter()
        .map(|target| {
            let root = staging_root(workspace, target, several);
            then(stage(
                workspace,
                &lock,
                target,
                &root,
                install_prefix,
                layout,
            )?)
        })
        .collect()
}

/// `target/`, made by pyship, says what it is, as cargo's does: a `.gitignore` of `*` (so that
/// a checkout does not turn dirty, and artifacts do not say "with uncommitted changes") and a
/// `CACHEDIR.TAG` (backup tools skip it). A `target/` that was there before is left as it is.
fn claim_target_dir(target: &Path) -> anyhow::Result<()> {
    if target.exists() {
        return Ok(());
    }
    std::fs::create_dir_all(target)
        .with_context(|| format!("failed to create `{}`", target.display()))?;
    let write = |name: &str, text: &str| {
        let path = target.join(name);
        std::fs::write(&path, text).with_context(|| format!("failed to write `{}`", path.display()))
    };
    write(
        ".gitignore",
        "# Made by pyship: its work and output directory.\n*\n",
    )?;
    write(
        "CACHEDIR.TAG",
        "Signature: 8a477f597d28d172789f06886806bc55\n# This directory was made by pyship: its builds and artifacts, none of them sources.\n",
    )
}

/// Where `target` is staged: `target/pyship/stage`, or `stage/NAME` when the lock has
/// several targets.
fn staging_root(workspace: &Workspace, target: &Target, several: bool) -> PathBuf {
    let root = workspace.project.target_dir().join("stage");
    if several {
        root.join(&target.name)
    } else {
        root
    }
}

/// Where the staged tree's interpreter comes from. Today the server's own (the target's
/// system Python, which the venv links to and the package depends on); an interpreter shipped
/// inside the artifact is another source.
#[derive(Debug, Clone)]
enum InterpreterSource {
    /// The server's interpreter at this path.
    System(PathBuf),
}

impl InterpreterSource {
    /// The target's source: the interpreter its entry or preset names.
    fn of(target: &Target) -> anyhow::Result<InterpreterSource> {
        target
            .interpreter
            .clone()
            .map(InterpreterSource::System)
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "the target `{}` names no interpreter: add `interpreter = \"/usr/bin/python{}\"` (its path on the server) to its `[tool.pyship] targets` entry",
                    target.name,
                    target.python_version()
                )
            })
    }

    /// The interpreter the virtualenv's `home`, `bin/python` and shebangs name on the server.
    fn base(&self) -> &Path {
        match self {
            InterpreterSource::System(path) => path,
        }
    }
}

/// What staging one target decided before any file is written.
struct Plan<'a> {
    target: &'a Target,
    staging_root: &'a Path,
    install_prefix: &'a Path,
    layout: LayoutKind,
    interpreter: InterpreterSource,
    /// A Python of the target's X.Y on this machine, for builds and bytecode.
    build_python: Option<Interpreter>,
    bytecode: BytecodeMode,
}

impl Plan<'_> {
    /// The interpreter that compiles bytecode at build time, when that is the policy.
    fn compiler(&self) -> Option<&Interpreter> {
        match (&self.build_python, self.bytecode) {
            (Some(python), BytecodeMode::Build) => Some(python),
            _ => None,
        }
    }
}

/// Fetches what the lock selects for `target`, then stages it in phases: the plan (interpreter
/// source, bytecode policy, paths checked), the layout (a virtualenv or the vendors layout) at
/// `install_prefix` under `staging_root`, the dependencies, the application, the stamp.
fn stage(
    workspace: &Workspace,
    lock: &Lock,
    target: &Target,
    staging_root: &Path,
    install_prefix: &Path,
    layout: LayoutKind,
) -> anyhow::Result<Staged> {
    let reporter = workspace.reporter.as_ref();
    let interpreter = InterpreterSource::of(target)?;
    let items = lock.select(target)?;
    let inputs = inputs(workspace, lock, target, &items, install_prefix, layout);
    match fresh::fresh(staging_root, &inputs) {
        Ok(stamp) => {
            reporter.status(
                Step::Fresh,
                &format!(
                    "{} for {} (nothing changed)",
                    install_prefix.display(),
                    target.name
                ),
            );
            return Ok(Staged {
                venv: stamp.venv,
                packages: stamp.packages,
                target: target.clone(),
                base_interpreter: interpreter.base().to_path_buf(),
                bytecode: stamp.bytecode,
                layout,
                graph: crate::sbom::Graph::of(lock),
            });
        }
        Err(reason) => reporter.debug(&format!(
            "staging {} for {} again: {reason}",
            install_prefix.display(),
            target.name
        )),
    }
    let wheels = fetch(workspace, &items)?;
    let build_python = workspace.build_python(target);
    let plan = Plan {
        bytecode: bytecode_policy(workspace, target, build_python.as_ref())?,
        target,
        staging_root,
        install_prefix,
        layout,
        interpreter,
        build_python,
    };
    check_paths(&plan)?;
    reporter.status(
        Step::Staging,
        &format!(
            "{} for {} (Python {})",
            install_prefix.display(),
            target.name,
            target.python_full_version
        ),
    );
    let venv = create_layout(workspace, &plan)?;
    let venv_layout = venv_layout(layout, plan.interpreter.base(), target);
    let mut owners =
        venv::Owners::of(&venv).choosing(workspace.project.config.scripts_from.clone());

    // The dependencies: locked wheels, and sdists built here.
    let mut to_install =
        wheels_to_install(workspace, lock, target, plan.build_python.as_ref(), &wheels)?;
    let dependencies: Vec<venv::Wheel> =
        to_install.iter().map(|(wheel, _)| wheel.clone()).collect();
    // Seconds when trees must be installed and compiled, instant when they are cached.
    let spinner = reporter.progress(
        Step::Installing,
        ProgressKind::Spinner {
            message: format!("{} packages", dependencies.len()),
        },
    );
    let prepared = prepare(workspace, &plan, &venv, &venv_layout, &dependencies)?;
    spinner.finish();
    let mut installed = venv::link(&venv, &prepared, &mut owners)?;

    // The application: built by its backend, or its files shipped as they are.
    let app = match &workspace.project.config.app_files {
        Some(spec) => app_files_wheel(workspace, &plan, spec)?,
        None => build_app(workspace, lock, &plan)?,
    };
    let prepared_app = prepare(
        workspace,
        &plan,
        &venv,
        &venv_layout,
        std::slice::from_ref(&app),
    )?;
    to_install.push((app, workspace.project.version.clone()));
    installed.extend(venv::link(&venv, &prepared_app, &mut owners)?);
    for clash in &owners.clashes {
        reporter.warning(clash);
    }

    let packages: Vec<pyship_plugin::Package> = to_install
        .into_iter()
        .zip(installed)
        .map(|((wheel, version), installed)| pyship_plugin::Package {
            name: wheel.name,
            version,
            sha256: installed.sha256,
            wheel: wheel.path,
            pure: installed.pure,
            license: installed.license,
        })
        .collect();
    report_bytecode(
        workspace,
        &plan,
        &[&prepared, &prepared_app],
        packages.len(),
    );
    reporter.status(
        Step::Installed,
        &format!(
            "{} packages into {}",
            packages.len(),
            install_prefix.display()
        ),
    );
    fresh::remember(staging_root, &inputs, plan.bytecode, &venv, &packages)
        .with_context(|| format!("failed to stamp `{}`", staging_root.display()))?;
    Ok(Staged {
        venv,
        packages,
        target: target.clone(),
        base_interpreter: plan.interpreter.base().to_path_buf(),
        bytecode: plan.bytecode,
        layout,
        graph: crate::sbom::Graph::of(lock),
    })
}

/// When the modules are compiled: at build time when a Python of the target's X.Y is here
/// (unless the project says otherwise), else on the server.
fn bytecode_policy(
    workspace: &Workspace,
    target: &Target,
    build_python: Option<&Interpreter>,
) -> anyhow::Result<BytecodeMode> {
    Ok(match (workspace.project.config.bytecode, build_python) {
        (Some(BytecodeMode::Build) | None, Some(_)) => BytecodeMode::Build,
        (Some(BytecodeMode::Build), None) => bail!(
            "`bytecode = \"build\"` needs Python {} on this machine for the target `{}`: set `build-interpreter` in `[tool.pyship]`, or use `bytecode = \"install\"`",
            target.python_version(),
            target.name
        ),
        (None | Some(BytecodeMode::Install), _) => BytecodeMode::Install,
        (Some(BytecodeMode::None), _) => BytecodeMode::None,
    })
}

/// The staging directory must be UTF-8 (packages need UTF-8 paths) and the prefix follow the
/// one install-prefix rule.
fn check_paths(plan: &Plan) -> anyhow::Result<()> {
    if plan.staging_root.to_str().is_none() {
        bail!(
            "the staging directory `{}` is not UTF-8; packages need UTF-8 paths",
            plan.staging_root.display()
        );
    }
    if !plan.install_prefix.is_absolute() {
        bail!(
            "`install-prefix` in `[tool.pyship]` must be an absolute path, not `{}`",
            plan.install_prefix.display()
        );
    }
    check_install_prefix(plan.install_prefix)
}

/// A fresh layout under the staging root: what was staged before (and its stamp) removed, then
/// the virtualenv (or the vendors layout) created.
fn create_layout(workspace: &Workspace, plan: &Plan) -> anyhow::Result<StagedVenv> {
    let staging_root = plan.staging_root;
    fresh::forget(staging_root)
        .with_context(|| format!("failed to clear `{}`'s stamp", staging_root.display()))?;
    if staging_root.exists() {
        std::fs::remove_dir_all(staging_root)
            .with_context(|| format!("failed to clear `{}`", staging_root.display()))?;
    }
    if plan.layout == LayoutKind::Vendors {
        venv::create_vendors(staging_root, plan.install_prefix)
    } else {
        venv::create_venv(
            staging_root,
            plan.install_prefix,
            workspace.project.name.as_ref(),
            plan.interpreter.base(),
            plan.target,
        )
    }
    .with_context(|| {
        format!(
            "failed to create the layout in `{}`",
            staging_root.display()
        )
    })
}

/// `wheels` installed (and compiled, when bytecode is built here) into trees of the cache.
fn prepare(
    workspace: &Workspace,
    plan: &Plan,
    venv: &StagedVenv,
    venv_layout: &venv::Layout,
    wheels: &[venv::Wheel],
) -> anyhow::Result<venv::Prepared> {
    Ok(venv::prepare(
        &workspace.cache.installed_dir(),
        venv,
        venv_layout,
        wheels,
        plan.compiler(),
        crate::limits::max_unpacked_size(),
    )?)
}

/// The application's own wheel, built through its PEP 517 backend in its locked build
/// environment: by a matching Python when there is one; a pure Python application builds the
/// same on any Python 3 of this machine.
fn build_app(workspace: &Workspace, lock: &Lock, plan: &Plan) -> anyhow::Result<venv::Wheel> {
    let project = &workspace.project;
    let reporter = workspace.reporter.as_ref();
    check_build_depends(workspace, project.name.as_ref())?;
    reporter.status(
        Step::Building,
        &format!("{} {} (PEP 517)", project.name, project.version),
    );
    let app_python = match &plan.build_python {
        Some(python) => python,
        None => workspace.interpreter()?,
    };
    let index = workspace.index()?;
    let locked_environment = pep517::fetch_locked_environment(
        lock,
        &project.root,
        &project.build_system.requires,
        app_python,
        &index,
    )
    .with_context(|| {
        format!(
            "failed to fetch the build requirements of `{}`",
            project.name
        )
    })?;
    let work_dir = project.target_dir().join("build");
    let environment = work_dir.join("build-env");
    pep517::prepare_environment(
        &project.build_system.requires,
        locked_environment.as_deref(),
        &index,
        app_python,
        &environment,
        reporter,
    )
    .with_context(|| {
        format!(
            "failed to install the build requirements of `{}`",
            project.name
        )
    })?;
    // From a copy of the source files: the backend never sees `target/` (setuptools would
    // take it for a package of a flat layout).
    let source_dir = work_dir.join("source");
    let files = crate::project::files::source_files(&project.root, &project.target_root())?;
    reporter.debug(&format!(
        "building `{}` from a copy of its {} source files in `{}`",
        project.name,
        files.len(),
        source_dir.display()
    ));
    let sources = crate::project::files::SourceCopy::new(&project.root, &files, &source_dir)?;
    let request = pep517::BuildRequest {
        source_dir: sources.path(),
        build_system: &project.build_system,
        interpreter: app_python,
        work_dir: &work_dir,
        source_date_epoch: workspace.source_date_epoch,
        environment: &environment,
    };
    let app_wheel = pep517::build_wheel(&request, reporter)
        .with_context(|| format!("failed to build `{}`", project.name))?;
    let pure = app_wheel
        .file_name()
        .and_then(|name| name.to_str())
        .and_then(wheel::WheelFilename::parse)
        .is_some_and(|name| name.is_pure());
    if plan.build_python.is_none() && !pure {
        bail!(
            "`{}` has compiled extensions, and building them for the target `{}` needs Python {} on this machine: set `build-interpreter` in `[tool.pyship]`",
            project.name,
            plan.target.name,
            plan.target.python_version()
        );
    }
    Ok(app_wheel_to_install(project, app_wheel))
}

/// The application's wheel as installed: the distribution asked for (pip writes `REQUESTED`
/// for it too). Not pip's `direct_url.json` naming the project directory: that is a path on
/// this machine, meaningless on the server, and it would make artifacts differ by checkout
/// location.
fn app_wheel_to_install(project: &crate::project::Project, path: PathBuf) -> venv::Wheel {
    venv::Wheel {
        path,
        locked_sha256: None,
        name: project.name.to_string(),
        app: true,
        extras: wheel::DistInfoExtras {
            requested: true,
            direct_url: None,
        },
    }
}

/// An application that is not a Python package: its files in a wheel pyship writes, installed
/// at `PREFIX/app` (or `app-directory`) and put on `sys.path`.
fn app_files_wheel(
    workspace: &Workspace,
    plan: &Plan,
    spec: &crate::project::AppFilesSpec,
) -> anyhow::Result<venv::Wheel> {
    let project = &workspace.project;
    let all = crate::project::files::source_files(&project.root, &project.target_root())?;
    let files: Vec<PathBuf> = match spec {
        crate::project::AppFilesSpec::All(true) => all,
        crate::project::AppFilesSpec::All(false) => Vec::new(),
        crate::project::AppFilesSpec::Paths(paths) => all
            .into_iter()
            .filter(|file| {
                paths
                    .iter()
                    .any(|path| file.starts_with(Path::new(path).components().as_path()))
            })
            .collect(),
    };
    if files.is_empty() {
        bail!(
            "`app-files` in `[tool.pyship]` selects no file of `{}` (files git ignores are not shipped)",
            project.root.display()
        );
    }
    let directory = project
        .config
        .app_directory
        .as_deref()
        .unwrap_or(crate::project::DEFAULT_APP_DIRECTORY);
    workspace.reporter.status(
        Step::Building,
        &format!(
            "{} {} ({} files to {})",
            project.name,
            project.version,
            files.len(),
            plan.install_prefix.join(directory).display()
        ),
    );
    let path = wheel::write_app_wheel(
        &wheel::AppFiles {
            name: project.name.as_ref(),
            version: &project.version,
            root: &project.root,
            files: &files,
            directory,
            installed_at: &plan.install_prefix.join(directory),
            scripts: &project.scripts,
            source_date_epoch: workspace.source_date_epoch,
        },
        &project.target_dir().join("build").join("app-files"),
    )?;
    Ok(app_wheel_to_install(project, path))
}

/// Says how the bytecode was handled, and which modules did not compile.
fn report_bytecode(workspace: &Workspace, plan: &Plan, parts: &[&venv::Prepared], packages: usize) {
    let reporter = workspace.reporter.as_ref();
    let failures: Vec<&str> = parts
        .iter()
        .filter_map(|part| part.compile_failures.as_deref())
        .collect();
    if !failures.is_empty() {
        // A module that does not compile for the target is the package's bug, as with pip:
        // warn and go on, the rest of the tree is compiled.
        reporter.warning(&format!(
            "some modules did not byte-compile:\n{}",
            failures.join("\n")
        ));
    }
    let installed_now: usize = parts.iter().map(|part| part.fresh_installs).sum();
    let linked = packages - installed_now;
    match (plan.compiler(), plan.bytecode) {
        (Some(python), _) => reporter.status(
            Step::Compiled,
            &format!(
                "bytecode with `{}` ({installed_now} packages; {linked} from the cache)",
                python.resolved.display(),
            ),
        ),
        (None, BytecodeMode::Install) => reporter.status(
            Step::Compiled,
            &format!(
                "bytecode: left to the server at install time (no Python {} here)",
                plan.target.python_version()
            ),
        ),
        _ => reporter.status(Step::Compiled, "no bytecode (`bytecode = \"none\"`)"),
    }
}

/// The wheels to install for `fetched` locked files, with their versions: locked wheels as
/// they are, sdists and source trees built first (with `build_python`).
fn wheels_to_install(
    workspace: &Workspace,
    lock: &Lock,
    target: &Target,
    build_python: Option<&Interpreter>,
    fetched_files: &[crate::fetch::FetchedWheel],
) -> anyhow::Result<Vec<(venv::Wheel, String)>> {
    let reporter = workspace.reporter.as_ref();
    let target_dir = workspace.project.target_dir();
    let mut to_install: Vec<(venv::Wheel, String)> = Vec::new();
    let mut builder = None;
    for fetched in fetched_files {
        let package = &fetched.item.package;
        let needs_build = fetched.item.is_source_tree() || fetched.item.is_sdist();
        if needs_build && builder.is_none() {
            let python = build_python.ok_or_else(|| {
                anyhow::anyhow!(
                    "`{} {}` has no wheel for the target `{}`, and building one needs Python {} on this machine; put a wheel for the target in a find-links directory, lock with `--only-binary {}`, or set `build-interpreter` in `[tool.pyship]`",
                    package.name,
                    package.version,
                    target.name,
                    target.python_version(),
                    package.name
                )
            })?;
            check_build_depends(workspace, &package.name)?;
            builder = Some(workspace.wheel_builder(python)?.with_lock(
                std::sync::Arc::new(lock.clone()),
                workspace.project.root.clone(),
            ));
        }
        // A wheel from the lock is hashed again as it is installed; a built one has no
        // locked hash.
        let mut locked_sha256 = None;
        let mut extras = wheel::DistInfoExtras::default();
        let wheel_path = if fetched.item.is_source_tree() {
            reporter.status(
                Step::Building,
                &format!("{} from `{}`", package.name, fetched.path.display()),
            );
            let builder = builder.as_ref().expect("set just above");
            let built = builder
                .directory_wheel(&fetched.path, &target_dir.join("source-trees"))
                .with_context(|| format!("failed to build `{}`", fetched.path.display()))?;
            check_built_wheel(&built, &package.name, &package.version)?;
            built
        } else if fetched.item.is_sdist() {
            // No locked wheel fits this target: build the locked sdist (once; cached).
            reporter.status(
                Step::Building,
                &format!("{} {} from its sdist", package.name, package.version),
            );
            let builder = builder.as_ref().expect("set just above");
            let built = builder
                .wheel(&fetched.path, &fetched.item.file.sha256)
                .with_context(|| format!("failed to build `{}` from its sdist", package.name))?;
            check_built_wheel(&built, &package.name, &package.version)?;
            built
        } else {
            locked_sha256 = Some(fetched.item.file.sha256.clone());
            extras.direct_url = direct_archive_url(&fetched.item);
            fetched.path.clone()
        };
        let wheel = venv::Wheel {
            path: wheel_path,
            locked_sha256,
            name: package.name.clone(),
            app: false,
            extras,
        };
        to_install.push((wheel, package.version.clone()));
    }
    Ok(to_install)
}

/// A backend runs code from the sdist, which may hand back a wheel of another distribution
/// (`flask-9.9` for `other 1.0`): as pip does, the built wheel must be the locked package at
/// the locked version (a source tree locked without a version is checked by name).
fn check_built_wheel(path: &Path, name: &str, version: &str) -> anyhow::Result<()> {
    let file_name = path
        .file_name()
        .and_then(|name| name.to_str())
        .unwrap_or_default();
    let built = crate::wheel::WheelFilename::parse(file_name);
    let expected_name = pep508_rs::PackageName::from_str(name).ok();
    let expected_version = pep508_rs::pep440_rs::Version::from_str(version).ok();
    let matches = built.as_ref().is_some_and(|built| {
        Some(&built.name) == expected_name.as_ref()
            && (version.is_empty() || Some(&built.version) == expected_version.as_ref())
    });
    if !matches {
        bail!(
            "building `{name} {version}` gave the wheel `{file_name}`, which is not that distribution at that version; the sdist's build backend is broken or hostile, and its wheel is not installed"
        );
    }
    Ok(())
}

/// Stops before building `package` when a system package of `[tool.pyship] build-depends`
/// is missing here (a header or a compiler the sdist's build needs), naming the install
/// command: a clear error now rather than a compiler's error after a long build.
fn check_build_depends(workspace: &Workspace, package: &str) -> anyhow::Result<()> {
    let specs = &workspace.project.config.build_depends;
    if specs.is_empty() {
        return Ok(());
    }
    let Some(family) = crate::system_packages::Family::of_this_machine() else {
        workspace.reporter.warning(
            "cannot check `build-depends` here: this machine has neither a dpkg nor an rpm database",
        );
        return Ok(());
    };
    let missing = crate::system_packages::missing(family, specs);
    if !missing.is_empty() {
        bail!(
            "building `{package}` needs the system packages {} (`build-depends` in `[tool.pyship]`), which are not installed here: run `{}`",
            missing
                .iter()
                .map(|name| format!("`{name}`"))
                .collect::<Vec<_>>()
                .join(", "),
            family.install_command(&missing)
        );
    }
    Ok(())
}

/// The installer's layout for `layout`.
fn venv_layout(layout: LayoutKind, base_interpreter: &Path, target: &Target) -> venv::Layout {
    if layout == LayoutKind::Vendors {
        venv::Layout::Vendors {
            base: base_interpreter.to_path_buf(),
        }
    } else {
        venv::Layout::Venv {
            python_version: target.python_version(),
        }
    }
}

/// The tree a test run uses: `staged` itself, or, with dependency `groups`, a linked copy of
/// it in `target/pyship/run` with the packages only those groups need added, so that they
/// never enter the artifact's tree.
pub(crate) fn with_groups(
    workspace: &Workspace,
    staged: &Staged,
    groups: &[String],
) -> anyhow::Result<StagedVenv> {
    if groups.is_empty() {
        return Ok(staged.venv.clone());
    }
    let Locked { lock, .. } = ensure_lock(workspace)?;
    for group in groups {
        if !lock.dependency_groups.contains(group) {
            bail!(
                "the lock has no dependency group `{group}`: define it in `[dependency-groups]` of pyproject.toml and run `pyship lock --group {group}`"
            );
        }
    }
    let target = &staged.target;
    let main: std::collections::HashSet<String> = lock
        .select(target)?
        .into_iter()
        .map(|item| item.package.name)
        .collect();
    let extra: Vec<crate::lockfile::InstallItem> = lock
        .select_with_groups(target, groups)?
        .into_iter()
        .filter(|item| !main.contains(&item.package.name))
        .collect();
    let run_root = workspace.project.target_dir().join("run");
    if run_root.exists() {
        std::fs::remove_dir_all(&run_root)
            .with_context(|| format!("failed to clear `{}`", run_root.display()))?;
    }
    let (venv, mut owners) = venv::mirror(&staged.venv, &run_root)?;
    let fetched = fetch(workspace, &extra)?;
    let build_python = workspace.build_python(target);
    let wheels: Vec<venv::Wheel> =
        wheels_to_install(workspace, &lock, target, build_python.as_ref(), &fetched)?
            .into_iter()
            .map(|(wheel, _)| wheel)
            .collect();
    let compiler = match (&build_python, staged.bytecode) {
        (Some(python), BytecodeMode::Build) => Some(python),
        _ => None,
    };
    let prepared = venv::prepare(
        &workspace.cache.installed_dir(),
        &venv,
        &venv_layout(staged.layout, &staged.base_interpreter, target),
        &wheels,
        compiler,
        crate::limits::max_unpacked_size(),
    )?;
    venv::link(&venv, &prepared, &mut owners)?;
    workspace.reporter.status(
        Step::Installed,
        &format!(
            "{} packages of `{}` for the run (not in the artifact)",
            wheels.len(),
            groups.join("`, `")
        ),
    );
    Ok(venv)
}

/// What staging for `target` depends on, for [`fresh`].
fn inputs(
    workspace: &Workspace,
    lock: &Lock,
    target: &Target,
    items: &[crate::lockfile::InstallItem],
    install_prefix: &Path,
    layout: LayoutKind,
) -> fresh::Inputs {
    let project = &workspace.project;
    let mut inputs = fresh::Inputs::new();
    inputs
        .fact(&target.name)
        .fact(&target.python_full_version)
        .fact(target.platform())
        .fact(format!("{:?}", target.interpreter))
        .fact(install_prefix.display())
        .fact(format!("{layout:?}"))
        // Not SOURCE_DATE_EPOCH: the staged files do not depend on it (checked-hash pycs;
        // the artifacts' times are set when packaging).
        .fact(format!("{:?}", project.config.bytecode))
        .fact(format!("{:?}", project.config.scripts_from));
    for item in items {
        inputs.fact(format!(
            "{} {} {} {}",
            item.package.name, item.package.version, item.file.name, item.file.sha256
        ));
        if let Some(directory) = &item.package.directory {
            let tree = project.root.join(directory);
            inputs.tree(&tree, &tree.join("target"));
        }
    }
    for interpreter in workspace.build_python_candidates(target) {
        inputs.file(&interpreter);
    }
    // The wheels builds run with (the application's among them).
    for environment in &lock.build_environments {
        for package in &environment.packages {
            for wheel in &package.wheels {
                inputs.fact(format!("build {:?} {}", environment.requires, wheel.sha256));
            }
        }
    }
    inputs.tree(&project.root, &project.target_root());
    inputs
}

/// PEP 610's `direct_url.json` for a wheel locked from a URL of its own (a `NAME @ URL`
/// requirement) rather than from an index or a find-links directory, as pip writes it.
fn direct_archive_url(item: &crate::lockfile::InstallItem) -> Option<String> {
    let url = item.file.url.as_deref()?;
    if item.package.index.is_some() || item.file.path.is_some() {
        return None;
    }
    let sha256 = &item.file.sha256;
    Some(
        serde_json::json!({
            "url": url,
            "archive_info": {
                "hash": format!("sha256={sha256}"),
                "hashes": { "sha256": sha256 },
            },
        })
        .to_string(),
    )
}

/// The prefix is written verbatim into shell activation scripts, maintainer scripts, unit
/// files and shebangs, and removing a package cleans up below it: the one install-prefix rule
/// of `pyship_plugin::grammar` (plain characters and steps, the application's own directory).
fn check_install_prefix(install_prefix: &Path) -> anyhow::Result<()> {
    let text = install_prefix.to_str().unwrap_or_default();
    match pyship_plugin::grammar::install_prefix(text) {
        Ok(normalized) if normalized == text => Ok(()),
        Ok(_) => bail!(
            "`install-prefix` in `[tool.pyship]` is `{text}`: write it as a plain absolute directory (such as `/opt/venvs/NAME`)"
        ),
        Err(message) => bail!("`install-prefix` `{text}`: {message}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn install_prefixes_are_plain_absolute_directories() {
        for good in ["/opt/venvs/hello", "/srv/app-1.2/venv_x+y"] {
            assert!(check_install_prefix(Path::new(good)).is_ok(), "{good}");
        }
        for bad in [
            "/",
            "/opt/my app",
            "/opt/$HOME",
            "/opt/a\"b",
            "/opt/x'y",
            "/opt/../etc",
            "/opt/./x",
            "/opt/`id`",
            "/usr",
            "/usr/local/lib",
        ] {
            let error = check_install_prefix(Path::new(bad))
                .unwrap_err()
                .to_string();
            assert!(
                error.contains("/opt/venvs/NAME") || error.contains("own"),
                "{bad}: {error}"
            );
        }
    }
}
