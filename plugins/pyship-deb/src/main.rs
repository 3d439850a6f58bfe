//! `pyship-deb`: writes a Debian binary package of the staged virtualenv.
//!
//! A .deb is an `ar` archive of `debian-binary`, `control.tar.gz` and `data.tar.gz` (deb(5)).
//! Everything is written natively and deterministically: entries come from the protocol
//! crate's walker, owned by root, stamped with `SOURCE_DATE_EPOCH`, and gzip headers carry no
//! time or name, so the same staged tree gives the same bytes.

mod ar;
mod control;
mod docs;
mod tar_writer;

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use flate2::Compression;
use flate2::GzBuilder;
use md5::{Digest as _, Md5};
use pyship_plugin::{
    Artifact, Describe, Entry, EntryKind, Manifest, OptionDoc, PackageResult, Plugin, hex,
    walk_staged_tree,
};
use sha2::Sha256;

use crate::control::Control;
use crate::tar_writer::TarWriter;

const POSTRM: &str = include_str!("scripts/postrm");

struct DebPlugin;

impl Plugin for DebPlugin {
    fn describe(&self) -> Describe {
        let mut describe = Describe::new("deb", "Debian .deb packages (dpkg, apt)", &["deb"]);
        let option = |name: &str, value_type: &str, doc: &str| OptionDoc {
            name: name.into(),
            value_type: value_type.into(),
            doc: doc.into(),
        };
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
        ];
        describe
    }

    fn package(&self, manifest: &Manifest) -> Result<PackageResult, String> {
        let artifact = build_deb(manifest)?;
        pyship_plugin::log(format_args!(
            "pyship-deb: wrote {}",
            artifact.path.display()
        ));
        Ok(PackageResult::new(vec![artifact]))
    }
}

fn main() -> ExitCode {
    pyship_plugin::main(DebPlugin)
}

/// Builds the .deb for `manifest` in its output directory.
fn build_deb(manifest: &Manifest) -> Result<Artifact, String> {
    let mtime = manifest.source.source_date_epoch.unwrap_or(0);
    let mut control = Control::from_manifest(manifest)?;
    // Debian's copyright, changelog and lintian overrides are written beside the staged tree
    // (which belongs to pyship) and merged into the archive.
    let docs_root = manifest.output_dir.join("deb").join("docs");
    docs::write_doc_files(&docs_root, &control, manifest)?;
    let mut entries = walk_staged_tree(&manifest.layout.staging_root).map_err(|e| e.to_string())?;
    entries.extend(walk_staged_tree(&docs_root).map_err(|e| e.to_string())?);
    // One order for both trees: depth-first by path components, each directory once.
    entries.sort_by(|a, b| a.path.split('/').cmp(b.path.split('/')));
    entries.dedup_by(|a, b| a.path == b.path && a.kind == EntryKind::Directory);
    control.installed_size_kib = installed_size_kib(&entries);

    let data = gzip(&data_tar(&entries, mtime)?, Compression::default())?;
    let control_tar = gzip(
        &control_tar(&control, &entries, manifest, mtime)?,
        Compression::default(),
    )?;
    let mut deb = Vec::new();
    ar::write_ar(
        &mut deb,
        &[
            ("debian-binary", b"2.0\n"),
            ("control.tar.gz", &control_tar),
            ("data.tar.gz", &data),
        ],
        mtime,
    )
    .map_err(|error| format!("failed to assemble the .deb: {error}"))?;

    let path = manifest.output_dir.join(control.file_name());
    write_atomically(&path, &deb)?;
    Ok(Artifact {
        sha256: hex(&Sha256::digest(&deb)),
        size: deb.len() as u64,
        kind: "deb".into(),
        path,
    })
}

/// dpkg's Installed-Size: KiB, each file rounded up, each directory and link counting one.
fn installed_size_kib(entries: &[Entry]) -> u64 {
    entries
        .iter()
        .map(|entry| match entry.kind {
            EntryKind::File { size } => size.div_ceil(1024),
            _ => 1,
        })
        .sum()
}

fn data_tar(entries: &[Entry], mtime: u64) -> Result<Vec<u8>, String> {
    let failed = |error: std::io::Error| format!("failed to write data.tar: {error}");
    let mut writer = TarWriter::new(mtime);
    writer.directory("./", 0o755).map_err(failed)?;
    for entry in entries {
        let path = format!("./{}", entry.path);
        match &entry.kind {
            EntryKind::Directory => writer
                .directory(&format!("{path}/"), entry.mode)
                .map_err(failed)?,
            EntryKind::File { size } => {
                let contents = read_file(entry)?;
                if contents.len() as u64 != *size {
                    return Err(format!(
                        "`{}` changed while packaging",
                        entry.source.display()
                    ));
                }
                writer.file(&path, entry.mode, &contents).map_err(failed)?;
            }
            EntryKind::Symlink { target } => writer.symlink(&path, target).map_err(failed)?,
        }
    }
    writer.finish().map_err(failed)
}

fn read_file(entry: &Entry) -> Result<Vec<u8>, String> {
    std::fs::read(&entry.source)
        .map_err(|error| format!("failed to read `{}`: {error}", entry.source.display()))
}

fn control_tar(
    control: &Control,
    entries: &[Entry],
    manifest: &Manifest,
    mtime: u64,
) -> Result<Vec<u8>, String> {
    let mut md5sums = String::new();
    for entry in entries {
        if let EntryKind::File { .. } = entry.kind {
            let digest = hex(&Md5::digest(read_file(entry)?));
            md5sums.push_str(&format!("{digest}  {}\n", entry.path));
        }
    }
    let prefix = manifest.layout.install_prefix.display().to_string();
    let postrm = POSTRM.replace("#PREFIX#", &prefix);

    let failed = |error: std::io::Error| format!("failed to write control.tar: {error}");
    let mut writer = TarWriter::new(mtime);
    writer.directory("./", 0o755).map_err(failed)?;
    let files: [(&str, u32, String); 3] = [
        ("./control", 0o644, control.render()),
        ("./md5sums", 0o644, md5sums),
        ("./postrm", 0o755, postrm),
    ];
    for (name, mode, contents) in files {
        writer
            .file(name, mode, contents.as_bytes())
            .map_err(failed)?;
    }
    writer.finish().map_err(failed)
}

/// gzip with no name and a zero timestamp in the header, so output depends on input only.
/// Archive members use the default level (fast, nearly as small); Debian wants the changelog at
/// the best level (lintian `changelog-not-compressed-with-max-compression`).
pub(crate) fn gzip(data: &[u8], level: Compression) -> Result<Vec<u8>, String> {
    let mut encoder = GzBuilder::new().mtime(0).write(Vec::new(), level);
    encoder
        .write_all(data)
        .and_then(|()| encoder.finish())
        .map_err(|error| format!("failed to compress: {error}"))
}

/// Writes `path` through a temporary file in the same directory, so a failed run never
/// leaves a half-written package where the old one was.
fn write_atomically(path: &Path, contents: &[u8]) -> Result<(), String> {
    let directory = path.parent().unwrap_or(Path::new("."));
    let file_name = path
        .file_name()
        .and_then(|name| name.to_str())
        .unwrap_or("package.deb");
    let temporary = directory.join(format!(".{file_name}.{}.tmp", std::process::id()));
    let result =
        std::fs::write(&temporary, contents).and_then(|()| std::fs::rename(&temporary, path));
    if let Err(error) = result {
        let _ = std::fs::remove_file(&temporary);
        return Err(format!("failed to write `{}`: {error}", path.display()));
    }
    Ok(())
}
