//! A wheel made by pyship for an application that is not a Python package (a Django project
//! with `manage.py`, a Flask `app.py`): its source files go to `PREFIX/DIRECTORY` through the
//! wheel's `data` scheme, a `.pth` file puts that directory on `sys.path`, and
//! `[project.scripts]` become console scripts. Installing it is then like installing any
//! wheel: recorded, byte-compiled, removable.
//!
//! The archive is reproducible: entries sorted, one timestamp, fixed permissions.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// What the wheel holds.
pub struct AppFiles<'a> {
    /// The normalized distribution name and its version.
    pub name: &'a str,
    pub version: &'a str,
    /// The project directory the files are read from.
    pub root: &'a Path,
    /// The files, relative to `root`.
    pub files: &'a [PathBuf],
    /// Where they are installed, relative to the prefix: `app`.
    pub directory: &'a str,
    /// The directory on the server the `.pth` file names: `/opt/venvs/mysite/app`.
    pub installed_at: &'a Path,
    /// Console scripts: name to `module:function`.
    pub scripts: &'a std::collections::BTreeMap<String, String>,
    /// Every entry's timestamp.
    pub source_date_epoch: u64,
}

/// Writes the wheel into `output_dir` and returns its path.
pub fn write_app_wheel(app: &AppFiles, output_dir: &Path) -> anyhow::Result<PathBuf> {
    let distribution = app.name.replace('-', "_");
    let dist_info = format!("{distribution}-{}.dist-info", app.version);
    let data = format!("{distribution}-{}.data/data/{}", app.version, app.directory);
    let mut entries: Vec<(String, Vec<u8>, bool)> = Vec::new();
    for file in app.files {
        let source = app.root.join(file);
        let metadata = source
            .symlink_metadata()
            .with_context(|| format!("failed to read `{}`", source.display()))?;
        // Links are followed only inside the project: a link out of it is not the app's.
        let bytes = if metadata.file_type().is_symlink() {
            let target = std::fs::canonicalize(&source)
                .with_context(|| format!("`{}` is a broken link", source.display()))?;
            let root = std::fs::canonicalize(app.root).unwrap_or_else(|_| app.root.into());
            if !target.starts_with(&root) || !target.is_file() {
                anyhow::bail!(
                    "`{}` links outside the project (or to a directory); app files are the project's own: list what it links to instead",
                    source.display()
                );
            }
            std::fs::read(&target)
        } else if metadata.is_file() {
            std::fs::read(&source)
        } else {
            continue;
        }
        .with_context(|| format!("failed to read `{}`", source.display()))?;
        let Some(relative) = file.to_str() else {
            anyhow::bail!("`{}` is not a UTF-8 path", file.display());
        };
        let executable =
            std::os::unix::fs::PermissionsExt::mode(&metadata.permissions()) & 0o111 != 0;
        entries.push((format!("{data}/{relative}"), bytes, executable));
    }
    entries.push((
        format!("{distribution}.pth"),
        format!("{}\n", app.installed_at.display()).into_bytes(),
        false,
    ));
    entries.push((
        format!("{dist_info}/METADATA"),
        format!(
            "Metadata-Version: 2.1\nName: {}\nVersion: {}\nSummary: the application's files, shipped by pyship\n",
            app.name, app.version
        )
        .into_bytes(),
        false,
    ));
    entries.push((
        format!("{dist_info}/WHEEL"),
        b"Wheel-Version: 1.0\nGenerator: pyship\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
            .to_vec(),
        false,
    ));
    if !app.scripts.is_empty() {
        let mut text = String::from("[console_scripts]\n");
        for (name, target) in app.scripts {
            text.push_str(&format!("{name} = {target}\n"));
        }
        entries.push((
            format!("{dist_info}/entry_points.txt"),
            text.into_bytes(),
            false,
        ));
    }
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    let mut record = String::new();
    for (path, bytes, _) in &entries {
        let digest = URL_SAFE_NO_PAD.encode(Sha256::digest(bytes));
        record.push_str(&format!(
            "{},sha256={digest},{}\n",
            record_path(path),
            bytes.len()
        ));
    }
    record.push_str(&format!("{dist_info}/RECORD,,\n"));
    entries.push((format!("{dist_info}/RECORD"), record.into_bytes(), false));

    std::fs::create_dir_all(output_dir)
        .with_context(|| format!("failed to create `{}`", output_dir.display()))?;
    let path = output_dir.join(format!("{distribution}-{}-py3-none-any.whl", app.version));
    let temporary = output_dir.join(format!(".{distribution}.{}.tmp", std::process::id()));
    let timestamp = zip_time(app.source_date_epoch);
    let mut zip = zip::ZipWriter::new(
        std::fs::File::create(&temporary)
            .with_context(|| format!("failed to create `{}`", temporary.display()))?,
    );
    for (name, bytes, executable) in &entries {
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .last_modified_time(timestamp)
            .unix_permissions(if *executable { 0o755 } else { 0o644 });
        zip.start_file(name.as_str(), options)?;
        zip.write_all(bytes)?;
    }
    zip.finish()?;
    std::fs::rename(&temporary, &path)
        .with_context(|| format!("failed to write `{}`", path.display()))?;
    Ok(path)
}

/// A RECORD path, quoted when it holds a comma or a quote (RECORD is CSV).
fn record_path(path: &str) -> String {
    if path.contains([',', '"']) {
        format!("\"{}\"", path.replace('"', "\"\""))
    } else {
        path.to_string()
    }
}

/// SOURCE_DATE_EPOCH as a zip timestamp (zip cannot say anything before 1980).
fn zip_time(epoch: u64) -> zip::DateTime {
    let civil = pyship_plugin::time::Civil::of(epoch);
    zip::DateTime::from_date_and_time(
        civil.year.clamp(1980, 2107) as u16,
        civil.month as u8,
        civil.day as u8,
        civil.hour as u8,
        civil.minute as u8,
        civil.second as u8,
    )
    .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_app_wheel_is_reproducible_and_records_every_file() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("mysite")).unwrap();
        std::fs::write(root.path().join("manage.py"), "print('m')\n").unwrap();
        std::fs::write(root.path().join("mysite/settings.py"), "X = 1\n").unwrap();
        let files = [
            PathBuf::from("manage.py"),
            PathBuf::from("mysite/settings.py"),
        ];
        let scripts = [("mysite-manage".to_string(), "manage:main".to_string())].into();
        let app = AppFiles {
            name: "mysite",
            version: "1.0",
            root: root.path(),
            files: &files,
            directory: "app",
            installed_at: Path::new("/opt/venvs/mysite/app"),
            scripts: &scripts,
            source_date_epoch: 1_700_000_000,
        };
        let out = tempfile::tempdir().unwrap();
        let first = std::fs::read(write_app_wheel(&app, out.path()).unwrap()).unwrap();
        let path = write_app_wheel(&app, out.path()).unwrap();
        assert_eq!(first, std::fs::read(&path).unwrap());
        let mut archive = zip::ZipArchive::new(std::fs::File::open(&path).unwrap()).unwrap();
        let names: Vec<String> = archive.file_names().map(str::to_string).collect();
        for name in [
            "mysite-1.0.data/data/app/manage.py",
            "mysite-1.0.data/data/app/mysite/settings.py",
            "mysite.pth",
            "mysite-1.0.dist-info/entry_points.txt",
            "mysite-1.0.dist-info/RECORD",
        ] {
            assert!(names.contains(&name.to_string()), "{name}: {names:?}");
        }
        let mut record = String::new();
        std::io::Read::read_to_string(
            &mut archive.by_name("mysite-1.0.dist-info/RECORD").unwrap(),
            &mut record,
        )
        .unwrap();
        assert!(record.contains("mysite.pth,sha256="), "{record}");
        assert_eq!(zip_time(0).year(), 1980);
        let date = zip_time(1_700_000_000);
        assert_eq!((date.year(), date.month(), date.day()), (2023, 11, 14));
    }
}
