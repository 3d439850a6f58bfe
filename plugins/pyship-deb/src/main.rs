//! `pyship-deb`: writes a Debian binary package of the staged virtualenv.
//!
//! A .deb is an `ar` archive of `debian-binary`, `control.tar.gz` and `data.tar.*` (deb(5)).
//! Everything is written natively and deterministically with the plugin kit: entries come
//! from the one staged-tree walk, owned by root, stamped with `SOURCE_DATE_EPOCH`, and
//! compressed streams carry no time or name, so the same staged tree gives the same bytes.
//! data.tar is streamed through its compressor into segments kept in `deb/segments/` of the
//! output directory (see [`data`]), so memory stays flat however big the tree is and a warm
//! build compresses only what changed; the .deb is then assembled atomically.

mod ar;
mod control;
#[cfg(test)]
mod control_fuzz;
mod data;
mod docs;
mod lifecycle;
mod shlibs;
mod split;

use std::path::Path;
use std::process::ExitCode;

use pyship_plugin::{
    Artifact, Describe, Entry, EntryKind, Manifest, OptionDoc, PackageResult, Plugin,
};
use pyship_plugin_kit::artifact::{self, ArtifactFile};
use pyship_plugin_kit::compress::{self, Compression};
use pyship_plugin_kit::options::FormatOptions;
use pyship_plugin_kit::segments::{self, SegmentCache};
use pyship_plugin_kit::tar::TarWriter;
use pyship_plugin_kit::tree::{installed_size_kib, merged_tree, sort_entries};

use crate::control::Control;
use crate::lifecycle::Scripts;

struct DebPlugin;

impl Plugin for DebPlugin {
    fn describe(&self) -> Describe {
        let mut describe = Describe::new("deb", "Debian .deb packages (dpkg, apt)", &["deb"])
            .honouring(pyship_plugin::DEPLOYMENT_FACTS);
        let option = OptionDoc::new;
        describe.options = vec![
            option(
                "package",
                "string",
                "Debian package name (default: the project name)",
            ),
            option(
                "revision",
                "string",
                "Debian revision appended to the version (default: 1)",
            ),
            option(
                "depends",
                "array<string>",
                "extra Depends entries, e.g. `libpq5`",
            ),
            option(
                "maintainer",
                "string",
                "Maintainer field (default: from [project])",
            ),
            option("section", "string", "Section field (default: python)"),
            option("priority", "string", "Priority field (default: optional)"),
            option("pre-depends", "array<string>", "Pre-Depends entries"),
            option(
                "recommends",
                "array<string>",
                "Recommends entries: installed by default, not required (e.g. a database client)",
            ),
            option("suggests", "array<string>", "Suggests entries"),
            option("enhances", "array<string>", "Enhances entries"),
            option("breaks", "array<string>", "Breaks entries"),
            option("conflicts", "array<string>", "Conflicts entries"),
            option(
                "provides",
                "array<string>",
                "Provides entries, e.g. a virtual package name",
            ),
            option(
                "replaces",
                "array<string>",
                "Replaces entries, e.g. the package this one takes files over from",
            ),
            option(
                "split",
                "bool",
                "two packages: the dependencies' virtualenv in `NAME-deps-HASH` (named by a hash of what it holds, shared by every release with the same dependencies) and the application in a small package depending on it (default: false)",
            ),
            option(
                "compression",
                "string",
                "data.tar compression: `zstd`, `xz` or `gzip` (default: zstd for targets whose dpkg reads it, Debian 12 and Ubuntu 22.04 on; else xz)",
            ),
        ];
        describe
    }

    fn package(&self, manifest: &Manifest) -> Result<PackageResult, String> {
        let artifacts = build_debs(manifest)?;
        for artifact in &artifacts {
            pyship_plugin::log(format_args!(
                "pyship-deb: wrote {}",
                artifact.path.display()
            ));
        }
        Ok(PackageResult::new(artifacts))
    }
}

fn main() -> ExitCode {
    pyship_plugin::main(DebPlugin)
}

/// Builds the .deb for `manifest` in its output directory, or with `split = true` the
/// dependencies' package and the application's (in that order).
fn build_debs(manifest: &Manifest) -> Result<Vec<Artifact>, String> {
    let mtime = pyship_plugin_kit::artifact::source_date_epoch(manifest)?;
    let options = FormatOptions::new(manifest);
    let compression = options.compression(
        "compression",
        default_compression(manifest),
        &["gzip", "xz", "zstd"],
    )?;
    let split = options.boolean("split")?.unwrap_or(false);
    let mut control = Control::from_manifest(manifest)?;
    let deployment = manifest.deployment.clone().unwrap_or_default();
    // Debian's copyright, changelog and lintian overrides, the configuration files and the
    // service's unit are written beside the staged tree (which belongs to pyship) and merged
    // into the archive.
    pyship_plugin_kit::service::check_deployment(&deployment)?;
    let work_dir = artifact::work_dir(&manifest.output_dir, "deb")?;
    let docs_root = artifact::work_dir(&work_dir, "docs")?;
    docs::write_doc_files(&docs_root, &control, manifest)?;
    let files_root = artifact::work_dir(&work_dir, "files")?;
    let conffiles = write_deployment_files(&files_root, manifest, &deployment)?;
    let mut entries = merged_tree(&manifest.layout.staging_root, &[&docs_root, &files_root])?;
    let segments_dir = artifact::work_dir(&work_dir, "segments")?;
    let mut cache = SegmentCache::open(&segments_dir)
        .map_err(|error| format!("failed to open `{}`: {error}", segments_dir.display()))?;
    for entry in &mut entries {
        // Policy 8.1: shared libraries are not executable (auditwheel's `*.libs` and many
        // extension modules come packed 0755; the loader does not need the bit).
        if matches!(entry.kind, EntryKind::File { .. }) && is_shared_library_name(&entry.path) {
            entry.mode = 0o644;
        }
        if let Some(file) = deployment
            .config_files
            .iter()
            .find(|file| Path::new("/").join(&entry.path) == file.target)
        {
            entry.mode = file.mode;
        }
    }
    let install_time_bytecode =
        (manifest.target.bytecode == Some(pyship_plugin::Bytecode::AtInstall)).then(|| {
            manifest.layout.install_prefix.join(format!(
                "lib/python{}/site-packages",
                manifest.target.python_version
            ))
        });
    if split && install_time_bytecode.is_some() {
        return Err("`split = true` needs bytecode compiled at build time (the dependencies' package has no scripts to compile it on the server): remove `bytecode = \"install\"` from `[tool.pyship]`".into());
    }
    let scripts = lifecycle::scripts(
        &control.package,
        &manifest.layout.install_prefix,
        install_time_bytecode.as_deref(),
        &manifest.target.python_version,
        &deployment,
    )?;
    if !split {
        control.installed_size_kib = installed_size_kib(&entries);
        let deb = write_deb(
            manifest,
            &mut cache,
            &control,
            &entries,
            &conffiles,
            &scripts,
            compression,
            mtime,
            &split::unsplit_stamps(manifest, mtime),
        )?;
        cache.prune().map_err(prune_failed)?;
        return Ok(vec![deb]);
    }

    // The dependencies' package: no scripts, no conffiles, and bytes that depend only on
    // what it holds (its own docs say nothing of the release).
    let hash = split::deps_hash(manifest);
    let deps_name = format!("{}-deps-{hash}", control.package);
    let mut deps_control = control.clone();
    deps_control.package = deps_name.clone();
    deps_control.version = split::DEPS_VERSION.to_string();
    deps_control.depends.retain(|entry| entry != "adduser");
    deps_control.relations.clear();
    deps_control.summary = format!("Python dependencies of {}", manifest.project.name);
    // Policy 5.6.13: description lines stay under 80 columns.
    deps_control.extended = vec![
        format!("The virtualenv that {} runs in, at", manifest.project.name),
        format!("{}-deps-{hash},", manifest.layout.install_prefix.display()),
        "shared by every release with the same dependencies; built by pyship.".to_string(),
    ];
    let mut deps_manifest = manifest.clone();
    deps_manifest.project.name = deps_name.clone();
    deps_manifest.project.version = split::DEPS_VERSION.to_string();
    deps_manifest.packages = split::bundled(manifest).cloned().collect();
    deps_manifest.source = pyship_plugin::Source {
        source_date_epoch: Some(split::DEPS_MTIME),
        ..Default::default()
    };
    deps_manifest.deployment = None;
    let deps_docs_root = artifact::work_dir(&work_dir, "deps-docs")?;
    docs::write_doc_files(&deps_docs_root, &deps_control, &deps_manifest)?;

    let mut parts = split::split(manifest, entries, &hash)?;
    parts.deps.extend(merged_tree(&deps_docs_root, &[])?);
    sort_entries(&mut parts.deps);
    deps_control.installed_size_kib = installed_size_kib(&parts.deps);
    control.installed_size_kib = installed_size_kib(&parts.app);
    control
        .depends
        .insert(0, format!("{deps_name} (= {})", split::DEPS_VERSION));
    let none = Scripts::default();
    let deps = write_deb(
        manifest,
        &mut cache,
        &deps_control,
        &parts.deps,
        &[],
        &none,
        compression,
        split::DEPS_MTIME,
        &|_| split::DEPS_MTIME,
    )?;
    let app = write_deb(
        manifest,
        &mut cache,
        &control,
        &parts.app,
        &conffiles,
        &scripts,
        compression,
        mtime,
        &|_| mtime,
    )?;
    cache.prune().map_err(prune_failed)?;
    Ok(vec![deps, app])
}

fn prune_failed(error: std::io::Error) -> String {
    format!("failed to remove old data.tar segments: {error}")
}

/// Writes one .deb of `entries` with `control` into the manifest's output directory, its
/// data.tar segments from `cache` where they are unchanged.
#[allow(clippy::too_many_arguments)]
fn write_deb(
    manifest: &Manifest,
    cache: &mut SegmentCache,
    control: &Control,
    entries: &[Entry],
    conffiles: &[String],
    scripts: &Scripts,
    compression: Compression,
    mtime: u64,
    stamp: &dyn Fn(&Entry) -> u64,
) -> Result<Artifact, String> {
    let data = data::write(
        entries,
        &manifest.layout.staging_root,
        mtime,
        stamp,
        compression,
        cache,
    )?;
    let control_tar = compress::compress(
        &control_tar(control, &data.md5sums, conffiles, scripts, mtime)?,
        Compression::Gzip(6),
    )
    .map_err(|error| format!("failed to compress control.tar: {error}"))?;

    let path = manifest.output_dir.join(control.file_name());
    let failed = |error: std::io::Error| format!("failed to write `{}`: {error}", path.display());
    let mut deb = ArtifactFile::create(&path).map_err(failed)?;
    std::io::Write::write_all(&mut deb, ar::MAGIC).map_err(failed)?;
    ar::write_member(&mut deb, "debian-binary", 4, &mut &b"2.0\n"[..], mtime).map_err(failed)?;
    let control_name = "control.tar.gz";
    ar::write_member(
        &mut deb,
        control_name,
        control_tar.len() as u64,
        &mut control_tar.as_slice(),
        mtime,
    )
    .map_err(failed)?;
    let mut segments = segments::concatenated(&data.segments).map_err(failed)?;
    ar::write_member(&mut deb, &data.name, data.size(), &mut segments, mtime).map_err(failed)?;
    deb.commit("deb").map_err(failed)
}

/// `NAME.so` or `NAME.so.1.2`: a shared library or extension module by its name.
fn is_shared_library_name(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    match name.split_once(".so") {
        Some((stem, rest)) => {
            !stem.is_empty()
                && (rest.is_empty()
                    || rest.strip_prefix('.').is_some_and(|version| {
                        version.split('.').all(|part| {
                            !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit())
                        })
                    }))
        }
        None => false,
    }
}

/// The compression a target's dpkg reads best: zstd from dpkg 1.21.18 (Debian 12, Ubuntu
/// 22.04: glibc 2.35 and later), else xz, which every supported release reads.
fn default_compression(manifest: &Manifest) -> Compression {
    // dpkg reads zstd from Debian 12 and Ubuntu 21.10 on.
    let reads_zstd = match &manifest.target.distro {
        Some(distro) => {
            let version: Vec<u32> = distro
                .version_id
                .split('.')
                .filter_map(|part| part.parse().ok())
                .collect();
            match distro.id.as_str() {
                "debian" => version.first().is_some_and(|major| *major >= 12),
                "ubuntu" => version >= vec![21, 10],
                _ => false,
            }
        }
        // A target that is no known release: its glibc says how recent it is (2.35 came
        // with the first releases whose dpkg reads zstd).
        None => manifest
            .target
            .platform_tags
            .iter()
            .filter_map(|tag| tag.strip_prefix("manylinux_2_"))
            .filter_map(|rest| rest.split('_').next()?.parse::<u32>().ok())
            .max()
            .is_some_and(|minor| minor >= 35),
    };
    Compression::from_name(if reads_zstd { "zstd" } else { "xz" }).unwrap_or(Compression::Gzip(6))
}

/// Writes the configuration files and the service's unit under `root` as they are installed,
/// and returns the conffiles (configuration files under `/etc`, which dpkg keeps when the
/// operator changed them).
fn write_deployment_files(
    root: &Path,
    manifest: &Manifest,
    deployment: &pyship_plugin::Deployment,
) -> Result<Vec<String>, String> {
    let failed = |path: &Path, error: std::io::Error| {
        format!("failed to write `{}`: {error}", path.display())
    };
    if root.exists() {
        std::fs::remove_dir_all(root).map_err(|error| failed(root, error))?;
    }
    std::fs::create_dir_all(root).map_err(|error| failed(root, error))?;
    let place = |target: &Path, contents: &[u8]| -> Result<(), String> {
        let relative = target.strip_prefix("/").unwrap_or(target);
        let path = root.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|error| failed(parent, error))?;
        }
        std::fs::write(&path, contents).map_err(|error| failed(&path, error))
    };
    let mut conffiles = Vec::new();
    for file in &deployment.config_files {
        let contents = std::fs::read(&file.source)
            .map_err(|error| format!("failed to read `{}`: {error}", file.source.display()))?;
        place(&file.target, &contents)?;
        if file.target.starts_with("/etc") {
            conffiles.push(file.target.display().to_string());
        }
    }
    for service in deployment.all_services() {
        for (name, text) in pyship_plugin_kit::service::unit_files(manifest, service)? {
            place(
                &Path::new("/lib/systemd/system").join(name),
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
    pyship_plugin_kit::service::link_commands(root, &manifest.layout.install_prefix, deployment)?;
    conffiles.sort();
    Ok(conffiles)
}

fn control_tar(
    control: &Control,
    md5sums: &str,
    conffiles: &[String],
    scripts: &Scripts,
    mtime: u64,
) -> Result<Vec<u8>, String> {
    let failed = |error: std::io::Error| format!("failed to write control.tar: {error}");
    let mut writer = TarWriter::in_memory(mtime);
    writer.directory("./", 0o755).map_err(failed)?;
    let conffiles: String = conffiles.iter().map(|path| format!("{path}\n")).collect();
    let control = control.render();
    let mut files: Vec<(&str, u32, &str)> = vec![
        ("./control", 0o644, &control),
        ("./md5sums", 0o644, md5sums),
    ];
    if !conffiles.is_empty() {
        files.push(("./conffiles", 0o644, &conffiles));
    }
    if let Some(triggers) = &scripts.triggers {
        files.push(("./triggers", 0o644, triggers));
    }
    for (name, script) in [
        ("./preinst", &scripts.preinst),
        ("./postinst", &scripts.postinst),
        ("./prerm", &scripts.prerm),
        ("./postrm", &scripts.postrm),
    ] {
        if let Some(script) = script {
            files.push((name, 0o755, script));
        }
    }
    files.sort_by_key(|(name, _, _)| *name);
    for (name, mode, contents) in files {
        writer
            .file(name, mode, contents.as_bytes())
            .map_err(failed)?;
    }
    writer.finish().map_err(failed)
}

#[cfg(test)]
mod tests {
    #[test]
    fn shared_libraries_are_known_by_name() {
        for name in [
            "a/_ext.cpython-311-x86_64-linux-gnu.so",
            "x.libs/libz-1a2b.so.1.2.13",
            "libpq.so.5",
        ] {
            assert!(super::is_shared_library_name(name), "{name}");
        }
        for name in [
            "a/so.py",
            "a/x.sock",
            "a/.so",
            "a/libx.so.1a",
            "a/x.so.1..2",
        ] {
            assert!(!super::is_shared_library_name(name), "{name}");
        }
    }
}
