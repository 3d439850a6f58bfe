//! `pyship-rpm`: an RPM package of the staged virtualenv, written natively with the rpm crate
//! from the manifest's facts, as pyship-deb writes a .deb from the same facts.
//!
//! Name, Version (the PEP 440 version with `~` for pre- and dev-releases, its epoch as rpm's),
//! Release (`release`, else the build number, else 1, then `.elN` for RHEL presets), Arch
//! (`noarch` when every wheel is pure), Requires (the target's interpreter package, the rpm
//! names of `run-depends`, the shared libraries the wheels need as `SONAME()(64bit)`),
//! `%config(noreplace)` configuration files, the service's unit, and scriptlets that match the
//! deb's. Reproducible: file times and the build time are `SOURCE_DATE_EPOCH`, the build host
//! is `pyship`.

mod scripts;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use pyship_plugin::{Artifact, Describe, EntryKind, Manifest, OptionDoc, PackageResult, Plugin};
use pyship_plugin_kit::artifact::{self, ArtifactFile};
use pyship_plugin_kit::options::FormatOptions;
use pyship_plugin_kit::tree::merged_tree;
use rpm::{CompressionWithLevel, Dependency, FileOptions};

struct RpmPlugin;

impl Plugin for RpmPlugin {
    fn describe(&self) -> Describe {
        let mut describe = Describe::new("rpm", "RPM packages (rpm, dnf, yum)", &["rpm"])
            .honouring(pyship_plugin::DEPLOYMENT_FACTS);
        let option = OptionDoc::new;
        describe.options = vec![
            option(
                "package",
                "string",
                "RPM package name (default: the project name)",
            ),
            option(
                "release",
                "string",
                "Release (default: the build number, else 1; `.elN` is added for RHEL presets)",
            ),
            option(
                "requires",
                "array<string>",
                "extra Requires entries, e.g. `libpq`",
            ),
            option(
                "group",
                "string",
                "Group tag (default: Applications/System)",
            ),
            option("vendor", "string", "Vendor tag"),
            option(
                "recommends",
                "array<string>",
                "weak dependencies dnf installs by default (Recommends)",
            ),
            option("suggests", "array<string>", "Suggests entries"),
            option(
                "compression",
                "string",
                "payload compression: `zstd` (default; `gzip` for rhel-8), `xz` or `gzip`",
            ),
        ];
        describe
    }

    fn package(&self, manifest: &Manifest) -> Result<PackageResult, String> {
        let artifact = build_rpm(manifest)?;
        pyship_plugin::log(format_args!(
            "pyship-rpm: wrote {}",
            artifact.path.display()
        ));
        Ok(PackageResult::new(vec![artifact]))
    }
}

fn main() -> ExitCode {
    pyship_plugin::main(RpmPlugin)
}

/// `.el8` for a RHEL 8 target (from the distribution fact); nothing for other targets.
fn dist_tag(distro: Option<&pyship_plugin::Distro>) -> String {
    distro
        .filter(|distro| distro.id == "rhel")
        .map(|distro| distro.version_id.split('.').next().unwrap_or_default())
        .filter(|major| !major.is_empty() && major.chars().all(|c| c.is_ascii_digit()))
        .map(|major| format!(".el{major}"))
        .unwrap_or_default()
}

fn build_rpm(manifest: &Manifest) -> Result<Artifact, String> {
    let options = FormatOptions::new(manifest);
    let project = &manifest.project;
    let deployment = manifest.deployment.clone().unwrap_or_default();
    // RHEL 8's rpm predates zstd payloads: gzip there, zstd elsewhere.
    let rhel8 = manifest.target.distro.as_ref().is_some_and(|distro| {
        distro.id == "rhel" && distro.version_id.split('.').next() == Some("8")
    });
    let default = if rhel8 { "gzip" } else { "zstd" };
    let compression = match options.string("compression")?.unwrap_or(default) {
        "zstd" => CompressionWithLevel::Zstd(10),
        "gzip" => CompressionWithLevel::Gzip(6),
        "xz" => CompressionWithLevel::Xz(6),
        other => {
            return Err(format!(
                "`tool.pyship.rpm.compression` must be `zstd`, `xz` or `gzip`, not `{other}`"
            ));
        }
    };
    let name = options
        .string("package")?
        .map_or_else(|| project.name.clone(), str::to_string);
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._+".contains(c))
    {
        return Err(format!(
            "`tool.pyship.rpm.package = \"{name}\"` is not an RPM name: letters, digits, `-`, `.`, `_`, `+`"
        ));
    }
    let (epoch, version) = match &project.version_parts {
        Some(parts) => (
            parts.epoch,
            pyship_plugin_kit::version::tilde_version(parts),
        ),
        None => (0, project.version.replace('-', "_")),
    };
    pyship_plugin_kit::service::check_deployment(&deployment)?;
    let release = match (options.string("release")?, deployment.build_number) {
        (Some(release), _) => release.to_string(),
        (None, Some(number)) => number.to_string(),
        (None, None) => "1".to_string(),
    } + &dist_tag(manifest.target.distro.as_ref());
    pyship_plugin::grammar::release(&release).map_err(|message| {
        format!(
            "the RPM release `{}` is not valid: {message}",
            release.escape_debug()
        )
    })?;
    // Tags are one line each in rpm's header and in every tool that prints them.
    for (tag, value) in [
        ("Group", options.string("group")?),
        ("Vendor", options.string("vendor")?),
        ("URL", project.homepage.as_deref()),
        ("Packager", project.maintainer.as_deref()),
        (
            "License",
            project.license.as_deref().and_then(|l| l.lines().next()),
        ),
    ] {
        if let Some(value) = value {
            pyship_plugin::grammar::single_line(value).map_err(|message| {
                format!(
                    "the RPM tag {tag} `{}` is not valid: {message}",
                    value.escape_debug()
                )
            })?;
        }
    }
    let arch = if manifest.target.arch_independent == Some(true) {
        "noarch".to_string()
    } else {
        manifest.target.arch.clone()
    };
    let summary = project
        .summary
        .as_deref()
        .and_then(|summary| summary.lines().next())
        .filter(|summary| !summary.trim().is_empty())
        .map_or_else(
            || format!("Python application {}", project.name),
            |summary| summary.replace(|c: char| c.is_control(), " "),
        );
    let mut description = format!(
        "{} {} with its virtualenv at {}, built by pyship.",
        project.name,
        project.version,
        manifest.layout.install_prefix.display()
    );
    if let Some(commit) = &manifest.source.git_commit {
        description.push_str(&format!("\nBuilt from commit {commit}."));
    }
    let mtime = pyship_plugin_kit::artifact::source_date_epoch(manifest)?;
    let config = rpm::BuildConfig::default()
        .compression(compression)
        .source_date(mtime as u32)
        .reserved_space(None);
    let mut builder = rpm::PackageBuilder::new(
        &name,
        &version,
        project
            .license
            .as_deref()
            .and_then(|l| l.lines().next())
            .unwrap_or("Unknown"),
        &arch,
        &summary,
    );
    builder
        .using_config(config)
        .epoch(u32::try_from(epoch).map_err(|_| "the version's epoch is too large for rpm")?)
        .release(release.clone())
        .description(description)
        .build_host("pyship")
        .group(options.string("group")?.unwrap_or("Applications/System"));
    if let Some(url) = &project.homepage {
        builder.url(url.clone());
    }
    if let Some(vendor) = options.string("vendor")? {
        builder.vendor(vendor);
    }
    if let Some(maintainer) = &project.maintainer {
        builder.packager(maintainer.clone());
    }
    for requirement in requires(manifest, &deployment, &options)? {
        builder.requires(Dependency::any(requirement));
    }
    if deployment.user.is_some() {
        builder.requires(Dependency::script_pre("shadow-utils"));
    }
    // Weak dependencies (rpm 4.12+): what dnf installs by default, and what it only suggests.
    for requirement in options.strings("recommends")? {
        pyship_plugin::grammar::rpm_dependency(&requirement)?;
        builder.recommends(Dependency::any(requirement));
    }
    for requirement in options.strings("suggests")? {
        pyship_plugin::grammar::rpm_dependency(&requirement)?;
        builder.suggests(Dependency::any(requirement));
    }

    // The configuration files and the unit beside the staged tree, merged into one walk.
    let work_dir = artifact::work_dir(&manifest.output_dir, "rpm")?;
    let files_root = artifact::work_dir(&work_dir, "files")?;
    let failed = |path: &Path, error: std::io::Error| {
        format!("failed to write `{}`: {error}", path.display())
    };
    if files_root.exists() {
        std::fs::remove_dir_all(&files_root).map_err(|error| failed(&files_root, error))?;
    }
    let place = |target: &Path, contents: &[u8]| -> Result<(), String> {
        let path = files_root.join(target.strip_prefix("/").unwrap_or(target));
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|error| failed(parent, error))?;
        }
        std::fs::write(&path, contents).map_err(|error| failed(&path, error))
    };
    for file in &deployment.config_files {
        let contents = std::fs::read(&file.source)
            .map_err(|error| format!("failed to read `{}`: {error}", file.source.display()))?;
        place(&file.target, &contents)?;
    }
    for service in deployment.all_services() {
        for (unit, text) in pyship_plugin_kit::service::unit_files(manifest, service)? {
            place(
                &Path::new("/usr/lib/systemd/system").join(unit),
                text.as_bytes(),
            )?;
        }
    }
    if let Some(user) = &deployment.user {
        for (path, text) in
            pyship_plugin_kit::service::account_declarations(&manifest.project.name, user)
        {
            place(&Path::new("/usr/lib").join(path), text.as_bytes())?;
        }
    }
    for (name, bytes) in pyship_plugin_kit::artifact::sboms(manifest)? {
        place(
            &Path::new("/usr/share/doc")
                .join(&manifest.project.name)
                .join(name),
            &bytes,
        )?;
    }
    std::fs::create_dir_all(&files_root).map_err(|error| failed(&files_root, error))?;
    pyship_plugin_kit::service::link_commands(
        &files_root,
        &manifest.layout.install_prefix,
        &deployment,
    )?;
    let entries = merged_tree(&manifest.layout.staging_root, &[&files_root])?;

    // Directories the package owns: the prefix and below, and the configuration files' own
    // directories (`/etc/hello`), never shared ones such as `/opt` or `/etc`.
    let prefix = &manifest.layout.install_prefix;
    let config_dirs: Vec<PathBuf> = deployment
        .config_files
        .iter()
        .filter_map(|file| file.target.parent().map(Path::to_path_buf))
        .filter(|directory| directory.components().count() > 2)
        .collect();
    let rpm_error = |error: rpm::Error| format!("failed to build the rpm: {error}");
    for entry in &entries {
        let target = Path::new("/").join(&entry.path);
        let dest = target.display().to_string();
        match &entry.kind {
            EntryKind::Directory => {
                if target.starts_with(prefix) || config_dirs.contains(&target) {
                    builder
                        .with_dir_entry(FileOptions::dir(dest).permissions(entry.mode as u16))
                        .map_err(rpm_error)?;
                }
            }
            EntryKind::File { .. } => {
                let config = deployment
                    .config_files
                    .iter()
                    .find(|file| file.target == target);
                let options = match config {
                    Some(file) => FileOptions::new(dest)
                        .permissions(file.mode as u16)
                        .config()
                        .noreplace(),
                    None => FileOptions::new(dest).permissions(entry.mode as u16),
                };
                builder
                    .with_file(&entry.source, options)
                    .map_err(rpm_error)?;
            }
            EntryKind::Symlink { target: link } => {
                builder
                    .with_symlink(FileOptions::symlink(dest, link.clone()))
                    .map_err(rpm_error)?;
            }
        }
    }

    let install_time_bytecode =
        (manifest.target.bytecode == Some(pyship_plugin::Bytecode::AtInstall)).then(|| {
            prefix.join(format!(
                "lib/python{}/site-packages",
                manifest.target.python_version
            ))
        });
    let scriptlets = scripts::scriptlets(prefix, install_time_bytecode.as_deref(), &deployment)?;
    if !scriptlets.pre.is_empty() {
        builder.pre_install_script(scriptlets.pre.as_str());
    }
    if !scriptlets.post.is_empty() {
        builder.post_install_script(scriptlets.post.as_str());
    }
    if !scriptlets.preun.is_empty() {
        builder.pre_uninstall_script(scriptlets.preun.as_str());
    }
    if !scriptlets.postun.is_empty() {
        builder.post_uninstall_script(scriptlets.postun.as_str());
    }
    // The interpreter's own extension modules: they change with a point upgrade of the
    // system Python (python3-libs), not when another package adds a module.
    pyship_plugin::grammar::python_version(&manifest.target.python_version)?;
    builder.file_trigger_in(
        &format!(
            "/usr/lib64/python{}/lib-dynload/",
            manifest.target.python_version
        ),
        None,
        scriptlets.interpreter_changed.as_str(),
    );

    let package = builder.build().map_err(rpm_error)?;
    let epoch_part = String::new();
    let path = manifest
        .output_dir
        .join(format!("{name}-{epoch_part}{version}-{release}.{arch}.rpm"));
    let failed = |error: std::io::Error| format!("failed to write `{}`: {error}", path.display());
    let mut file = ArtifactFile::create(&path).map_err(failed)?;
    package
        .write(&mut file)
        .map_err(|error| format!("failed to write `{}`: {error}", path.display()))?;
    file.commit("rpm").map_err(failed)
}

/// Requires: the interpreter's package, the rpm names of `run-depends`, the shared libraries
/// the wheels need (rpm's automatic `SONAME()(64bit)` form), then `requires`; each once.
fn requires(
    manifest: &Manifest,
    deployment: &pyship_plugin::Deployment,
    options: &FormatOptions,
) -> Result<Vec<String>, String> {
    let mut requires: Vec<String> = Vec::new();
    requires.extend(manifest.target.distro_package.clone());
    requires.extend(deployment.run_depends.iter().filter_map(|package| {
        package.name_for("rpm", pyship_plugin::grammar::rpm_form_of_deb_package)
    }));
    let bits = if manifest.target.arch.ends_with("64") || manifest.target.arch == "s390x" {
        "(64bit)"
    } else {
        ""
    };
    requires.extend(
        manifest
            .target
            .needed_libraries
            .iter()
            .flatten()
            .map(|soname| format!("{soname}(){bits}")),
    );
    requires.extend(options.strings("requires")?);
    let mut seen = std::collections::BTreeSet::new();
    requires.retain(|requirement| seen.insert(requirement.clone()));
    for requirement in &requires {
        pyship_plugin::grammar::rpm_dependency(requirement)?;
    }
    Ok(requires)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rhel_targets_get_a_dist_tag() {
        let distro = |id: &str, version: &str| pyship_plugin::Distro {
            id: id.into(),
            version_id: version.into(),
            codename: None,
        };
        assert_eq!(dist_tag(Some(&distro("rhel", "9"))), ".el9");
        assert_eq!(dist_tag(Some(&distro("rhel", "8.10"))), ".el8");
        assert_eq!(dist_tag(Some(&distro("debian", "12"))), "");
        assert_eq!(dist_tag(None), "");
    }
}
