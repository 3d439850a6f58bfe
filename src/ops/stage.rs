//! Staging: the virtualenv created at its install prefix under `target/stage`, with every
//! locked package and the application installed and byte-compiled. (`pyship build` runs this;
//! "building" a wheel is PEP 517's, see `pep517`.)

use std::path::PathBuf;

use anyhow::{Context as _, bail};

use super::Workspace;
use super::fetch::fetch;
use super::lock::ensure_lock;
use crate::pep517;
use crate::printer::verb;
use crate::process;
use crate::venv::{self, StagedVenv};
use crate::wheel;

/// A staged build, ready for a plugin.
pub(crate) struct Staged {
    pub venv: StagedVenv,
    /// Every installed distribution, the application last.
    pub packages: Vec<pyship_plugin::Package>,
}

/// Locks, fetches, then creates the venv and installs the dependencies and the application.
pub(crate) fn stage(workspace: &Workspace) -> anyhow::Result<Staged> {
    let lock = ensure_lock(workspace)?;
    let interpreter = workspace.interpreter()?;
    let items = lock.select(&interpreter.target)?;
    let wheels = fetch(workspace, &items)?;
    let project = &workspace.project;
    let reporter = workspace.reporter.as_ref();
    let target_dir = project.target_dir();
    let staging_root = target_dir.join("stage");
    if staging_root.to_str().is_none() {
        bail!(
            "the staging directory `{}` is not UTF-8; packages need UTF-8 paths",
            staging_root.display()
        );
    }
    let install_prefix = project.install_prefix();
    if !install_prefix.is_absolute() {
        bail!(
            "`install-prefix` in `[tool.pyship]` must be an absolute path, not `{}`",
            install_prefix.display()
        );
    }
    reporter.status(verb::STAGING, &install_prefix.display().to_string());
    if staging_root.exists() {
        std::fs::remove_dir_all(&staging_root)
            .with_context(|| format!("failed to clear `{}`", staging_root.display()))?;
    }
    let venv = venv::create_venv(
        &staging_root,
        &install_prefix,
        project.name.as_ref(),
        interpreter,
    )
    .with_context(|| {
        format!(
            "failed to create the virtualenv in `{}`",
            staging_root.display()
        )
    })?;
    let scheme = venv.scheme(&interpreter.target.python_version());
    let mut installation = wheel::Installation::new(crate::limits::max_unpacked_size());
    for own in &venv.own_files {
        installation.reserve(own.clone(), "the virtualenv");
    }

    let mut packages = Vec::new();
    let mut builder = None;
    for fetched in &wheels {
        let package = &fetched.item.package;
        // A wheel from the lock is hashed again as it is installed; a built one has no
        // locked hash.
        let mut locked_sha256 = None;
        let wheel_path = if fetched.item.is_source_tree() {
            reporter.status(
                verb::BUILDING,
                &format!("{} from `{}`", package.name, fetched.path.display()),
            );
            if builder.is_none() {
                builder = Some(workspace.wheel_builder()?);
            }
            let builder = builder.as_ref().expect("set just above");
            builder
                .directory_wheel(&fetched.path, &target_dir.join("source-trees"))
                .with_context(|| format!("failed to build `{}`", fetched.path.display()))?
        } else if fetched.item.is_sdist() {
            // No locked wheel fits this interpreter: build the locked sdist (once; cached).
            reporter.status(
                verb::BUILDING,
                &format!("{} {} from its sdist", package.name, package.version),
            );
            if builder.is_none() {
                builder = Some(workspace.wheel_builder()?);
            }
            let builder = builder.as_ref().expect("set just above");
            builder
                .wheel(&fetched.path, &fetched.item.file.sha256)
                .with_context(|| format!("failed to build `{}` from its sdist", package.name))?
        } else {
            locked_sha256 = Some(fetched.item.file.sha256.as_str());
            fetched.path.clone()
        };
        packages.push(install(
            &mut installation,
            wheel_path,
            locked_sha256,
            &package.name,
            &package.version,
            &scheme,
        )?);
    }

    reporter.status(
        verb::BUILDING,
        &format!("{} {} (PEP 517)", project.name, project.version),
    );
    let index = workspace.index()?;
    let request = pep517::BuildRequest {
        source_dir: &project.root,
        build_system: &project.build_system,
        interpreter,
        index: &index,
        work_dir: &target_dir.join("build"),
        source_date_epoch: workspace.source_date_epoch,
    };
    let app_wheel = pep517::build_wheel(&request, reporter)
        .with_context(|| format!("failed to build `{}`", project.name))?;
    packages.push(install(
        &mut installation,
        app_wheel,
        None,
        project.name.as_ref(),
        &project.version,
        &scheme,
    )?);

    compile_bytecode(workspace, &venv)?;
    reporter.status(
        verb::INSTALLED,
        &format!(
            "{} packages into {}",
            packages.len(),
            install_prefix.display()
        ),
    );
    Ok(Staged { venv, packages })
}

/// Installs a wheel into the staged venv and describes it for the plugin manifest.
fn install(
    installation: &mut wheel::Installation,
    wheel: PathBuf,
    locked_sha256: Option<&str>,
    name: &str,
    version: &str,
    scheme: &wheel::Scheme,
) -> anyhow::Result<pyship_plugin::Package> {
    let installed = installation.install(&wheel, locked_sha256, scheme)?;
    Ok(pyship_plugin::Package {
        name: name.to_string(),
        version: version.to_string(),
        sha256: installed.sha256,
        wheel,
        pure: installed.pure,
        license: installed.license,
    })
}

/// Byte-compiles site-packages with the target interpreter, as the installed tree will be
/// imported, so that nothing is written under the prefix at run time. Checked-hash pycs
/// (PEP 552) stay valid whatever mtimes the package manager sets, and are reproducible.
fn compile_bytecode(workspace: &Workspace, venv: &StagedVenv) -> anyhow::Result<()> {
    let site_packages: PathBuf = venv.staged_prefix().join(&venv.site_packages);
    let mut command =
        process::python_module(&workspace.interpreter()?.resolved, &["-I"], "compileall");
    command
        .args([
            "-q",
            "-f",
            // One worker per core; the pycs do not depend on the order.
            "-j0",
            "--invalidation-mode",
            "checked-hash",
        ])
        .arg("-s")
        .arg(&venv.staging_root)
        .args(["-p", "/"])
        .arg(&site_packages)
        .env("SOURCE_DATE_EPOCH", workspace.source_date_epoch.to_string());
    let output =
        process::output(command).context("failed to run compileall with the target interpreter")?;
    if !output.status.success() {
        // A module that does not compile for the target is the package's bug, as with pip:
        // warn and go on, the rest of the tree is compiled.
        workspace.reporter.warning(&format!(
            "some modules did not byte-compile:\n{}",
            String::from_utf8_lossy(&output.stdout).trim()
        ));
    }
    Ok(())
}
