//! `pyship-vendors`: the application and its dependencies as a plain directory, no
//! virtualenv: the app's code at the top, every dependency in `vendors/`, and launchers in
//! `bin/` that put both on `sys.path` (through `site.addsitedir`, so `.pth` files work) and run
//! the entry points with the target's interpreter in isolated mode (`-IS`). The directory works
//! wherever it is copied, as long as that interpreter is there.
//!
//! The plugin asks pyship for the vendors layout; pyship stages it. The artifact is an archive
//! of that directory, named and rooted `NAME-RELEASE/`.

use std::io::BufWriter;
use std::process::ExitCode;

use pyship_plugin::{Artifact, Describe, LayoutKind, Manifest, OptionDoc, PackageResult, Plugin};
use pyship_plugin_kit::artifact::ArtifactFile;
use pyship_plugin_kit::compress::{Compression, Encoder};
use pyship_plugin_kit::options::FormatOptions;
use pyship_plugin_kit::tar::TarWriter;
use pyship_plugin_kit::tree::merged_tree;

struct VendorsPlugin;

impl Plugin for VendorsPlugin {
    fn describe(&self) -> Describe {
        let mut describe = Describe::new(
            "vendors",
            "the app with its dependencies in vendors/, no virtualenv",
            &["vendors"],
        )
        .honouring(&["build-number"]);
        describe.layout = LayoutKind::Vendors;
        describe.options = vec![OptionDoc::new(
            "compression",
            "string",
            "`zstd` (default, `.tar.zst`), `gzip` (`.tar.gz`) or `xz` (`.tar.xz`)",
        )];
        describe
    }

    fn package(&self, manifest: &Manifest) -> Result<PackageResult, String> {
        if manifest.layout.kind != LayoutKind::Vendors {
            return Err(
                "pyship staged a virtualenv, not the vendors layout this plugin asked for; upgrade pyship"
                    .into(),
            );
        }
        let artifact = write_archive(manifest)?;
        pyship_plugin::log(format_args!(
            "pyship-vendors: wrote {}",
            artifact.path.display()
        ));
        Ok(PackageResult::new(vec![artifact]))
    }
}

fn main() -> ExitCode {
    pyship_plugin::main(VendorsPlugin)
}

fn write_archive(manifest: &Manifest) -> Result<Artifact, String> {
    let options = FormatOptions::new(manifest);
    let compression = options.compression(
        "compression",
        Compression::Zstd(10),
        &["zstd", "gzip", "xz"],
    )?;
    let prefix = &manifest.layout.install_prefix;
    let staged = manifest
        .layout
        .staging_root
        .join(prefix.strip_prefix("/").unwrap_or(prefix));
    let entries = merged_tree(&staged, &[])?;
    // The release fact; a manifest without it (older pyship) gets it made the same way.
    let release = manifest.project.release.clone().unwrap_or_else(|| {
        match manifest.deployment.as_ref().and_then(|d| d.build_number) {
            Some(number) => format!("{}-{number}", manifest.project.version),
            None => manifest.project.version.clone(),
        }
    });
    let top = format!("{}-{release}", manifest.project.name);
    let target = manifest
        .target
        .name
        .as_deref()
        .unwrap_or(&manifest.target.arch);
    let path = manifest.output_dir.join(format!(
        "{top}-{target}-vendors.tar{}",
        compression.extension()
    ));
    let mtime = pyship_plugin_kit::artifact::source_date_epoch(manifest)?;
    let failed = |error: std::io::Error| format!("failed to write `{}`: {error}", path.display());
    let file = ArtifactFile::create(&path).map_err(failed)?;
    let mut writer = TarWriter::new(
        Encoder::new(BufWriter::with_capacity(1 << 20, file), compression).map_err(failed)?,
        mtime,
    );
    writer
        .directory(&format!("{top}/"), 0o755)
        .map_err(failed)?;
    for entry in &entries {
        writer
            .entry(&format!("{top}/{}", entry.path), entry)
            .map_err(failed)?;
    }
    let file = writer
        .finish()
        .and_then(Encoder::finish)
        .map_err(failed)?
        .into_inner()
        .map_err(|error| failed(error.into_error()))?;
    file.commit("vendors").map_err(failed)
}
