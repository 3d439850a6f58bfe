//! `pyship-tarball`: a release archive for servers without a package manager's help.
//!
//! The virtualenv is staged at `PREFIX/releases/RELEASE` (the plugin asks pyship for that
//! install prefix), so releases sit side by side and `PREFIX/current` only points at one. The
//! archive holds that tree, paths relative to `/`, and `pyship-activate`, a POSIX-sh script
//! that creates the service account and compiles the bytecode where the facts ask for it,
//! switches `current` atomically, keeps the last releases and rolls back. Its last member is a
//! marker without which `pyship-activate` refuses the release: a half-extracted release never
//! becomes current.

use std::io::BufWriter;
use std::path::Path;
use std::process::ExitCode;

use pyship_plugin::{Artifact, Describe, Manifest, OptionDoc, PackageResult, Plugin};
use pyship_plugin_kit::artifact::ArtifactFile;
use pyship_plugin_kit::compress::{Compression, Encoder};
use pyship_plugin_kit::lifecycle::{self, Action, Moment};
use pyship_plugin_kit::options::FormatOptions;
use pyship_plugin_kit::service::sh_quote;
use pyship_plugin_kit::tar::TarWriter;
use pyship_plugin_kit::tree::{merged_tree, tar_size};

const ACTIVATE: &str = include_str!("activate.sh");
/// The last member of every archive.
const COMPLETE: &str = ".pyship-release-complete";

struct TarballPlugin;

impl Plugin for TarballPlugin {
    fn describe(&self) -> Describe {
        let mut describe = Describe::new(
            "tarball",
            "release tarballs with atomic activation and rollback",
            &["tarball"],
        )
        // No package manager: activation is the install; nothing removes a release's
        // files but a later activation, and services and config files are the operator's.
        .honouring(&[
            "build-number",
            "user",
            "scripts.preinst",
            "scripts.postinst",
        ]);
        describe.install_prefix = Some("{prefix}/releases/{version}".into());
        let option = OptionDoc::new;
        describe.options = vec![
            option(
                "compression",
                "string",
                "`zstd` (default, `.tar.zst`), `gzip` (`.tar.gz`) or `xz` (`.tar.xz`)",
            ),
            option(
                "keep",
                "integer",
                "how many activated releases pyship-activate keeps (default 5)",
            ),
        ];
        describe
    }

    fn package(&self, manifest: &Manifest) -> Result<PackageResult, String> {
        let artifact = write_tarball(manifest)?;
        pyship_plugin::log(format_args!(
            "pyship-tarball: wrote {}; install with `tar -C / -xf {}` and run {}/pyship-activate",
            artifact.path.display(),
            artifact
                .path
                .file_name()
                .map_or_else(String::new, |name| name.to_string_lossy().into_owned()),
            manifest.layout.install_prefix.display()
        ));
        Ok(PackageResult::new(vec![artifact]))
    }
}

fn main() -> ExitCode {
    pyship_plugin::main(TarballPlugin)
}

/// `PREFIX` and `RELEASE` of an install prefix `PREFIX/releases/RELEASE`: the release from
/// the manifest's fact (a manifest without it: the install prefix's last step), checked
/// against the install prefix pyship staged at.
fn release_parts(install_prefix: &Path, release: Option<&str>) -> Result<(String, String), String> {
    let release = release
        .map(str::to_string)
        .or_else(|| {
            install_prefix
                .file_name()
                .and_then(|name| name.to_str())
                .map(str::to_string)
        })
        .unwrap_or_default();
    let releases = install_prefix
        .strip_prefix("/")
        .ok()
        .filter(|_| install_prefix.ends_with(Path::new("releases").join(&release)))
        .and(install_prefix.parent())
        .and_then(Path::parent);
    match releases {
        Some(prefix) if !release.is_empty() => Ok((prefix.display().to_string(), release)),
        _ => Err(format!(
            "the install prefix `{}` is not PREFIX/releases/{release}; this pyship did not stage what pyship-tarball asked for",
            install_prefix.display()
        )),
    }
}

fn write_tarball(manifest: &Manifest) -> Result<Artifact, String> {
    let options = FormatOptions::new(manifest);
    let compression = options.compression(
        "compression",
        Compression::Zstd(10),
        &["zstd", "gzip", "xz"],
    )?;
    let keep = options.integer("keep")?.unwrap_or(5);
    if keep == 0 {
        return Err("`tool.pyship.tarball.keep` must be at least 1 (the current release)".into());
    }
    let (prefix, release) = release_parts(
        &manifest.layout.install_prefix,
        manifest.project.release.as_deref(),
    )?;
    // The release is a directory name in `releases/` and a line of the history.
    if release.is_empty()
        || release.starts_with('.')
        || !release
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._+~-".contains(c))
    {
        return Err(format!(
            "the release `{}` is not a plain directory name (letters, digits, `._+~-`)",
            release.escape_debug()
        ));
    }
    let mtime = pyship_plugin_kit::artifact::source_date_epoch(manifest)?;
    let release_dir = manifest
        .layout
        .install_prefix
        .strip_prefix("/")
        .unwrap_or(&manifest.layout.install_prefix)
        .display()
        .to_string();
    pyship_plugin_kit::service::check_deployment(&manifest.deployment.clone().unwrap_or_default())?;
    // Only the release's own tree: entries for its ancestors (`opt/`, `opt/venvs/`,
    // `releases/`) would make `tar -C / -xf` reset their owners and modes, and replace a
    // symlinked `/opt/venvs` by an empty directory. tar creates missing parents itself.
    let entries: Vec<_> = merged_tree(&manifest.layout.staging_root, &[])?
        .into_iter()
        .filter(|entry| {
            entry.path == release_dir || entry.path.starts_with(&format!("{release_dir}/"))
        })
        .collect();
    let target = manifest
        .target
        .name
        .as_deref()
        .unwrap_or(&manifest.target.arch);
    let name = format!(
        "{}-{release}-{target}.tar{}",
        manifest.project.name,
        compression.extension()
    );
    let path = manifest.output_dir.join(name);
    let failed = |error: std::io::Error| format!("failed to write `{}`: {error}", path.display());
    let file = ArtifactFile::create(&path).map_err(failed)?;
    let mut writer = TarWriter::new(
        Encoder::for_input(
            BufWriter::with_capacity(1 << 20, file),
            compression,
            tar_size(&entries),
        )
        .map_err(failed)?,
        mtime,
    );
    // The script first, the completion marker last: from a copy cut short anywhere, the
    // script that refuses it is there.
    let activate = activate_script(manifest, &prefix, &release, keep)?;
    writer
        .file(
            &format!("{release_dir}/pyship-activate"),
            0o755,
            activate.as_bytes(),
        )
        .map_err(failed)?;
    // The bills of materials next to the release's own files.
    for (name, bytes) in pyship_plugin_kit::artifact::sboms(manifest)? {
        writer
            .file(&format!("{release_dir}/sbom/{name}"), 0o644, &bytes)
            .map_err(failed)?;
    }
    for entry in &entries {
        writer.entry(&entry.path, entry).map_err(failed)?;
    }
    writer
        .file(&format!("{release_dir}/{COMPLETE}"), 0o644, b"")
        .map_err(failed)?;
    let encoder = writer.finish().map_err(failed)?;
    let file = encoder
        .finish()
        .map_err(failed)?
        .into_inner()
        .map_err(|error| failed(error.into_error()))?;
    file.commit("tarball").map_err(failed)
}

/// The activation script for this release: the shared lifecycle plan's install moments in
/// terms of a release directory (there is no package manager: activation is the install,
/// `--rollback` activates the release before). The account, install-time bytecode and the
/// user's `preinst`/`postinst` fragments; removal moments have no counterpart here.
fn activate_script(
    manifest: &Manifest,
    prefix: &str,
    release: &str,
    keep: u64,
) -> Result<String, String> {
    let deployment = manifest.deployment.clone().unwrap_or_default();
    let site_packages = (manifest.target.bytecode == Some(pyship_plugin::Bytecode::AtInstall))
        .then(|| {
            manifest.layout.install_prefix.join(format!(
                "lib/python{}/site-packages",
                manifest.target.python_version
            ))
        });
    let plan = lifecycle::plan(
        &manifest.layout.install_prefix,
        site_packages.as_deref(),
        &deployment,
    );
    let mut preinst = String::new();
    let mut setup = String::new();
    let mut postinst = String::new();
    let mut health = String::new();
    for action in plan.at(Moment::BeforeInstall) {
        if let Action::Fragment { path } = action {
            preinst.push_str(&fragment(path)?);
        }
    }
    for action in plan.at(Moment::AfterInstall) {
        match action {
            Action::CreateAccount(user) => setup.push_str(&create_user(user)),
            Action::CompileBytecode { .. } => setup.push_str(&compile_bytecode(manifest)),
            Action::Fragment { path } => postinst.push_str(&fragment(path)?),
            Action::CheckHealth {
                check,
                python,
                user,
                ..
            } => {
                health = health_check(check, python, user.as_deref());
            }
            // Config files and units are not shipped in a tarball.
            _ => {}
        }
    }
    Ok(ACTIVATE
        .replace("#NAME#", &manifest.project.name)
        .replace("'#PREFIX#'", &sh_quote(prefix))
        .replace("#PREFIX#", prefix)
        .replace("'#RELEASE#'", &sh_quote(release))
        .replace("#KEEP#", &keep.to_string())
        .replace("#PREINST#\n", &preinst)
        .replace("#USER#\n", &setup)
        .replace("#POSTINST#\n", &postinst)
        .replace("#HEALTH#\n", &health.replace("#POSTINST#\n", &postinst)))
}

/// The health check after activation: on an upgrade that fails it, `current` goes back to
/// the release before, whose `postinst` runs again (`PYSHIP_ACTION=rollback`) so that what
/// it restarts runs the old release again.
fn health_check(
    check: &pyship_plugin::HealthCheck,
    python: &std::path::Path,
    user: Option<&str>,
) -> String {
    let probe = lifecycle::health_script(check, python, user, sh_quote);
    format!(
        r#"{probe}say "health check: $pyship_health_what (up to {timeout} s)"
if pyship_health_check; then
    say "healthy: $pyship_health_what"
elif [ "$PYSHIP_ACTION" = upgrade ] && [ -n "$previous" ]; then
    ln -sfn "$previous" "$prefix/.current.$$"
    mv -T "$prefix/.current.$$" "$prefix/current"
    grep -v -x -F -- "$target" "$history" >"$history.$$" || true
    mv "$history.$$" "$history"
    say "current -> $previous (back, as releases/$target is not healthy)"
    PYSHIP_ACTION=rollback
#POSTINST#
    die "the health check $pyship_health_what did not pass in {timeout} s: releases/$target is not healthy, so $previous is current again"
else
    die "the health check $pyship_health_what did not pass in {timeout} s"
fi
"#,
        timeout = check.timeout
    )
}

/// The user's fragment in a subshell run in the release directory, told `PYSHIP_ACTION`
/// (`install`, `upgrade` or `rollback`).
fn fragment(path: &Path) -> Result<String, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| format!("failed to read `{}`: {error}", path.display()))?;
    let name = path
        .file_name()
        .map_or_else(String::new, |name| name.to_string_lossy().into_owned());
    Ok(format!(
        "# From {name}:\n(\nexport PYSHIP_ACTION\ncd \"$dir\"\n:\n{}\n)\n",
        text.trim_end()
    ))
}

/// The service account, created once (adduser where it is, else useradd), its home made.
fn create_user(user: &pyship_plugin::SystemUser) -> String {
    let name = sh_quote(&user.name);
    let group = sh_quote(&user.group);
    let home = sh_quote(&user.home.as_ref().map_or_else(
        || "/nonexistent".to_string(),
        |home| home.display().to_string(),
    ));
    let shell = sh_quote(&user.shell.display().to_string());
    let mut text = format!(
        "# The service account, created once (adduser where it is, else useradd).\n\
         if ! getent group {group} >/dev/null; then\n    \
         if command -v addgroup >/dev/null; then addgroup --quiet --system {group}; else groupadd --system {group}; fi\n    \
         say \"created the group {}\"\nfi\n\
         if ! getent passwd {name} >/dev/null; then\n    \
         if command -v adduser >/dev/null; then adduser --quiet --system --ingroup {group} --home {home} --no-create-home --shell {shell} {name}; \
         else useradd --system --gid {group} --home-dir {home} --no-create-home --shell {shell} {name}; fi\n    \
         say \"created the user {}\"\nfi\n",
        user.group, user.name
    );
    if user.home.is_some() {
        text.push_str(&format!(
            "if [ ! -d {home} ]; then\n    mkdir -p {home}\n    chown {name}:{group} {home}\n    chmod 0750 {home}\nfi\n"
        ));
    }
    text
}

/// Bytecode, compiled once per release by the interpreter that will import it.
fn compile_bytecode(manifest: &Manifest) -> String {
    format!(
        "# Bytecode, compiled once per release by the interpreter that will import it.\n\
         if [ ! -f \"$dir/.pyship-bytecode\" ]; then\n    \
         \"$dir/bin/python\" -I -m compileall -q -f -j0 --invalidation-mode checked-hash \"$dir/lib/python{}/site-packages\" >/dev/null || true\n    \
         touch \"$dir/.pyship-bytecode\"\n    say \"compiled the bytecode of $target\"\nfi\n",
        manifest.target.python_version
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_release_and_its_prefix_come_from_the_install_prefix() {
        assert_eq!(
            release_parts(Path::new("/opt/venvs/hello/releases/0.1.0"), None).unwrap(),
            ("/opt/venvs/hello".to_string(), "0.1.0".to_string())
        );
        assert_eq!(
            release_parts(
                Path::new("/opt/venvs/hello/releases/0.1.0-2"),
                Some("0.1.0-2")
            )
            .unwrap(),
            ("/opt/venvs/hello".to_string(), "0.1.0-2".to_string())
        );
        assert!(release_parts(Path::new("/opt/venvs/hello"), None).is_err());
        assert!(
            release_parts(Path::new("/opt/venvs/hello/releases/0.1.0"), Some("0.2.0")).is_err()
        );
    }

    #[test]
    fn the_activation_script_is_filled_in_and_valid_sh() {
        let manifest: Manifest =
            serde_json::from_str(include_str!("../../../testdata/protocol/v2/manifest.json"))
                .unwrap();
        let script = activate_script(&manifest, "/opt/venvs/my app", "1.0", 3).unwrap();
        assert!(script.contains("prefix='/opt/venvs/my app'\n"), "{script}");
        assert!(script.contains("release='1.0'\nkeep=3\n"), "{script}");
        assert!(!script.contains("#USER#") && !script.contains("#PREINST#"));
        assert!(!script.contains("#POSTINST#"));
        let directory =
            std::env::temp_dir().join(format!("pyship-activate-{}", std::process::id()));
        std::fs::write(&directory, &script).unwrap();
        let checked = std::process::Command::new("sh")
            .arg("-n")
            .arg(&directory)
            .status()
            .unwrap();
        let _ = std::fs::remove_file(&directory);
        assert!(checked.success(), "sh -n refused:\n{script}");
    }
}
