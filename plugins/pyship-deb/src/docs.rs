//! The files Debian expects next to every package: `/usr/share/doc/NAME/copyright`,
//! `changelog.Debian.gz` (Policy 12.5, 12.7), and lintian overrides for what a self-contained
//! virtualenv under `/opt` does on purpose.

use std::path::Path;

use pyship_plugin::Manifest;

use crate::control::Control;

const OVERRIDES: &str = include_str!("scripts/lintian-overrides");

/// Writes the documentation tree for `control` under `root` (a scratch directory that the
/// archive merges with the staged tree).
pub fn write_doc_files(root: &Path, control: &Control, manifest: &Manifest) -> Result<(), String> {
    let failed = |error: std::io::Error| format!("failed to write package docs: {error}");
    if root.exists() {
        std::fs::remove_dir_all(root).map_err(failed)?;
    }
    let doc = root.join("usr/share/doc").join(&control.package);
    let overrides = root.join("usr/share/lintian/overrides");
    std::fs::create_dir_all(&doc).map_err(failed)?;
    std::fs::create_dir_all(&overrides).map_err(failed)?;
    std::fs::write(doc.join("copyright"), copyright(control, manifest)).map_err(failed)?;
    for (name, bytes) in pyship_plugin_kit::artifact::sboms(manifest)? {
        std::fs::write(doc.join(name), bytes).map_err(failed)?;
    }
    std::fs::write(
        doc.join("changelog.Debian.gz"),
        // Debian wants the changelog at the best level (lintian
        // `changelog-not-compressed-with-max-compression`).
        pyship_plugin_kit::compress::compress(
            changelog(control, manifest).as_bytes(),
            pyship_plugin_kit::compress::Compression::Gzip(9),
        )
        .map_err(failed)?,
    )
    .map_err(failed)?;
    let mut text = OVERRIDES.replace("#PACKAGE#", &control.package);
    let config_files = manifest
        .deployment
        .iter()
        .flat_map(|deployment| &deployment.config_files);
    for file in config_files.filter(|file| file.mode != 0o644) {
        let path = file.target.display().to_string();
        text.push_str(&format!(
            "# `config-files` asks for this mode (e.g. a file with secrets only the service's group reads).\n{}: non-standard-file-perm {:04o} != 0644 [{}]\n",
            control.package,
            file.mode,
            path.trim_start_matches('/')
        ));
    }
    let commands = manifest
        .deployment
        .iter()
        .flat_map(|deployment| &deployment.commands);
    for command in commands {
        text.push_str(&format!(
            "# `commands` puts a console script of the virtualenv on PATH; Python entry points ship no manual page.\n{}: no-manual-page [usr/bin/{command}]\n",
            control.package
        ));
    }
    std::fs::write(overrides.join(&control.package), text).map_err(failed)?;
    Ok(())
}

/// A machine-readable copyright file (DEP-5) from the project's license.
fn copyright(control: &Control, manifest: &Manifest) -> String {
    let project = &manifest.project;
    let mut text = format!(
        "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\nUpstream-Name: {}\n",
        project.name
    );
    if let Some(homepage) = &project.homepage {
        text.push_str(&format!("Source: {homepage}\n"));
    }
    // What else the package holds, and under which license each part is (DEP-5 allows a
    // Comment in the header paragraph).
    let bundled: Vec<&pyship_plugin::Package> = manifest
        .packages
        .iter()
        .filter(|package| package.name != project.name)
        .collect();
    if !bundled.is_empty() {
        text.push_str(&format!(
            "Comment: The virtualenv at {} bundles these Python distributions, each\n under its own license (texts in their .dist-info directories):\n .\n",
            manifest.layout.install_prefix.display()
        ));
        for package in bundled {
            text.push_str(&format!(
                " {} {}: {}\n",
                package.name,
                package.version,
                package.license.as_deref().map_or_else(
                    || "not declared".to_string(),
                    |license| license.replace('\n', " ")
                )
            ));
        }
    }
    let license = project
        .license
        .as_deref()
        .map(|license| license.lines().next().unwrap_or("").trim().to_string())
        .filter(|license| !license.is_empty())
        .unwrap_or_else(|| "unknown".to_string());
    let year = rfc2822(manifest.source.source_date_epoch.unwrap_or(0))
        .split(' ')
        .nth(3)
        .unwrap_or("1970")
        .to_string();
    text.push_str(&format!(
        "\nFiles: *\nCopyright: {year} {}\nLicense: {license}\n",
        control.maintainer
    ));
    text
}

/// One changelog entry for this build, dated `SOURCE_DATE_EPOCH`.
fn changelog(control: &Control, manifest: &Manifest) -> String {
    let mut change = format!(
        "Built by pyship from {} {}",
        manifest.project.name, manifest.project.version
    );
    if let Some(commit) = &manifest.source.git_commit {
        // Policy 4.4: changelog lines stay under 80 columns.
        change.push_str(&format!(" (commit {})", &commit[..commit.len().min(12)]));
    }
    format!(
        "{} ({}) unstable; urgency=medium\n\n  * {change}.\n\n -- {}  {}\n",
        control.package,
        control.version,
        control.maintainer,
        rfc2822(manifest.source.source_date_epoch.unwrap_or(0))
    )
}

/// `Tue, 14 Nov 2023 22:13:20 +0000` for seconds since the epoch (UTC).
pub fn rfc2822(epoch: u64) -> String {
    pyship_plugin::time::Civil::of(epoch).rfc2822()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_rfc2822() {
        assert_eq!(rfc2822(0), "Thu, 01 Jan 1970 00:00:00 +0000");
        assert_eq!(rfc2822(1_700_000_000), "Tue, 14 Nov 2023 22:13:20 +0000");
        assert_eq!(rfc2822(951_782_400), "Tue, 29 Feb 2000 00:00:00 +0000");
    }
}
