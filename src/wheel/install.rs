//! Installing a wheel into a scheme of directories, as pip does, treating the wheel as hostile.
//!
//! Follows the binary distribution format spec: the root goes to purelib or platlib by
//! `Root-Is-Purelib`; `NAME-VER.data/SCHEME/…` goes to that scheme's directory; `#!python`
//! scripts get the target interpreter's shebang; console and GUI entry points get launchers;
//! `INSTALLER` and a fresh `RECORD` are written (PEP 376, PEP 627).
//!
//! Safety: entry names with `..`, absolute paths or backslashes are refused, symlink entries
//! are refused, a file's executable bit comes only from the archive's own mode bits, and every
//! file listed in the wheel's RECORD must match its recorded hash.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};
use std::str::FromStr;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use pep508_rs::PackageName;
use sha2::{Digest, Sha256};

use super::WheelFilename;

const LAUNCHER: &str = include_str!("launcher.py");

/// Why a wheel could not be installed.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    #[error("`{}` is not a valid wheel: {message}", wheel.display())]
    Invalid { wheel: PathBuf, message: String },
    #[error("`{}` is unsafe: {message}", wheel.display())]
    Unsafe { wheel: PathBuf, message: String },
    #[error("failed to write `{}`", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Where each part of a wheel goes, and the interpreter its scripts name.
#[derive(Debug, Clone)]
pub struct Scheme {
    pub purelib: PathBuf,
    pub platlib: PathBuf,
    pub scripts: PathBuf,
    pub data: PathBuf,
    pub headers: PathBuf,
    /// The interpreter's path on the target, written into script shebangs.
    pub python: String,
}

/// What an installed wheel turned out to be.
#[derive(Debug, Clone)]
pub struct InstalledWheel {
    /// `Root-Is-Purelib: true` and only pure tags.
    pub pure: bool,
}

/// Installs `wheel_path` into `scheme`.
pub fn install_wheel(wheel_path: &Path, scheme: &Scheme) -> Result<InstalledWheel, InstallError> {
    let invalid = |message: String| InstallError::Invalid {
        wheel: wheel_path.to_path_buf(),
        message,
    };
    let unsafe_entry = |message: String| InstallError::Unsafe {
        wheel: wheel_path.to_path_buf(),
        message,
    };
    let file_name = wheel_path
        .file_name()
        .and_then(|name| name.to_str())
        .unwrap_or_default();
    let filename = WheelFilename::parse(file_name)
        .ok_or_else(|| invalid("the file name is not `NAME-VERSION-TAGS.whl`".into()))?;
    let file = std::fs::File::open(wheel_path).map_err(|error| invalid(error.to_string()))?;
    let mut archive = zip::ZipArchive::new(file).map_err(|error| invalid(error.to_string()))?;

    let dist_info = find_dist_info(&archive, &filename.name)
        .ok_or_else(|| invalid(format!("no `.dist-info` directory for `{}`", filename.name)))?;
    let data_prefix = format!("{}.data/", dist_info.trim_end_matches(".dist-info"));
    let wheel_metadata = read_text(&mut archive, &format!("{dist_info}/WHEEL")).map_err(invalid)?;
    let root_is_purelib = wheel_metadata.lines().any(|line| {
        line.split_once(':').is_some_and(|(key, value)| {
            key.trim().eq_ignore_ascii_case("Root-Is-Purelib") && value.trim() == "true"
        })
    });
    let recorded = read_text(&mut archive, &format!("{dist_info}/RECORD"))
        .map(|text| parse_record(&text))
        .map_err(invalid)?;

    let root = if root_is_purelib {
        &scheme.purelib
    } else {
        &scheme.platlib
    };
    let mut record: BTreeMap<PathBuf, (String, u64)> = BTreeMap::new();
    for index in 0..archive.len() {
        let mut entry = archive
            .by_index(index)
            .map_err(|error| invalid(error.to_string()))?;
        let name = entry.name().to_string();
        check_entry_name(&name)
            .map_err(|message| unsafe_entry(format!("entry `{name}` {message}")))?;
        let unix_mode = entry.unix_mode().unwrap_or(0o644);
        if unix_mode & 0o170000 == 0o120000 {
            return Err(unsafe_entry(format!("entry `{name}` is a symlink")));
        }
        if entry.is_dir() {
            continue;
        }
        let (destination, is_script) = match name.strip_prefix(&data_prefix) {
            Some(rest) => {
                let (scheme_name, path) = rest
                    .split_once('/')
                    .ok_or_else(|| invalid(format!("entry `{name}` is outside any scheme")))?;
                let directory = match scheme_name {
                    "purelib" => &scheme.purelib,
                    "platlib" => &scheme.platlib,
                    "scripts" => &scheme.scripts,
                    "data" => &scheme.data,
                    "headers" => &scheme.headers,
                    other => return Err(invalid(format!("unknown scheme `{other}` in `{name}`"))),
                };
                let directory = if scheme_name == "headers" {
                    directory.join(filename.name.as_ref())
                } else {
                    directory.clone()
                };
                (directory.join(path), scheme_name == "scripts")
            }
            None => (root.join(&name), false),
        };
        let mut contents = Vec::with_capacity(entry.size() as usize);
        entry
            .read_to_end(&mut contents)
            .map_err(|error| invalid(format!("entry `{name}` is unreadable: {error}")))?;
        drop(entry);
        if let Some((expected, _)) = recorded.get(&name) {
            let actual = record_hash(&contents);
            if !expected.is_empty() && *expected != actual {
                return Err(unsafe_entry(format!(
                    "entry `{name}` does not match its RECORD hash"
                )));
            }
        }
        let executable = is_script || unix_mode & 0o111 != 0;
        let contents = if is_script {
            rewrite_shebang(contents, &scheme.python)
        } else {
            contents
        };
        if name == format!("{dist_info}/RECORD") {
            continue;
        }
        write_file(&destination, &contents, executable)?;
        record.insert(destination, (record_hash(&contents), contents.len() as u64));
    }

    let entry_points = read_text(&mut archive, &format!("{dist_info}/entry_points.txt")).ok();
    for (script, target) in console_scripts(entry_points.as_deref().unwrap_or("")) {
        let (module, attribute) = target
            .split_once(':')
            .ok_or_else(|| invalid(format!("entry point `{script} = {target}` has no `:`")))?;
        let import_name = attribute.split('.').next().unwrap_or(attribute);
        let launcher = LAUNCHER
            .replace("#MODULE#", module.trim())
            .replace("#IMPORT#", import_name.trim())
            .replace("#CALL#", attribute.trim());
        let contents = format!("{}\n{launcher}", shebang(&scheme.python));
        let destination = scheme.scripts.join(&script);
        write_file(&destination, contents.as_bytes(), true)?;
        record.insert(
            destination,
            (record_hash(contents.as_bytes()), contents.len() as u64),
        );
    }

    let dist_info_dir = root.join(&dist_info);
    let installer = dist_info_dir.join("INSTALLER");
    write_file(&installer, b"pyship\n", false)?;
    record.insert(installer, (record_hash(b"pyship\n"), 7));
    write_record(&dist_info_dir.join("RECORD"), &record, &scheme.purelib)?;

    Ok(InstalledWheel {
        pure: root_is_purelib && filename.is_pure(),
    })
}

/// The one top-level `NAME-VERSION.dist-info` directory belonging to `name`.
fn find_dist_info(archive: &zip::ZipArchive<std::fs::File>, name: &PackageName) -> Option<String> {
    archive
        .file_names()
        .filter_map(|entry| entry.split_once('/').map(|(top, _)| top))
        .filter(|top| top.ends_with(".dist-info"))
        .find(|top| {
            top.trim_end_matches(".dist-info")
                .rsplit_once('-')
                .and_then(|(dist, _)| PackageName::from_str(dist).ok())
                .is_some_and(|dist| &dist == name)
        })
        .map(str::to_string)
}

fn read_text(archive: &mut zip::ZipArchive<std::fs::File>, name: &str) -> Result<String, String> {
    let mut text = String::new();
    archive
        .by_name(name)
        .map_err(|_| format!("`{name}` is missing"))?
        .read_to_string(&mut text)
        .map_err(|error| format!("`{name}` is unreadable: {error}"))?;
    Ok(text)
}

/// Refuses names that could write outside the directory they are unpacked into.
fn check_entry_name(name: &str) -> Result<(), &'static str> {
    if name.contains('\\') || name.contains('\0') {
        return Err("has a backslash or NUL in its name");
    }
    let path = Path::new(name);
    for component in path.components() {
        match component {
            Component::Normal(_) => {}
            Component::CurDir => {}
            _ => return Err("leaves the install directory (absolute path or `..`)"),
        }
    }
    Ok(())
}

/// RECORD lines `path,sha256=…,size` by path.
fn parse_record(text: &str) -> HashMap<String, (String, u64)> {
    text.lines()
        .filter_map(|line| {
            // Paths with commas are quoted (CSV); such files are rare and are only skipped
            // from the hash check, never from installation.
            let mut fields = line.rsplitn(3, ',');
            let size = fields.next()?.trim().parse().unwrap_or(0);
            let hash = fields.next()?.trim();
            let path = fields.next()?.trim();
            let hash = hash.strip_prefix("sha256=").unwrap_or("").to_string();
            Some((path.to_string(), (hash, size)))
        })
        .collect()
}

/// `sha256=` + urlsafe base64 without padding, as RECORD wants.
fn record_hash(contents: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(contents))
}

/// `#!python` (and `#!pythonw`) scripts are made to run the target's interpreter.
fn rewrite_shebang(contents: Vec<u8>, python: &str) -> Vec<u8> {
    if !contents.starts_with(b"#!python") {
        return contents;
    }
    let body_start = contents
        .iter()
        .position(|byte| *byte == b'\n')
        .map_or(contents.len(), |index| index + 1);
    let mut out = format!("{}\n", shebang(python)).into_bytes();
    out.extend_from_slice(&contents[body_start..]);
    out
}

/// A shebang line for `python`. Linux reads at most 127 bytes of it and no spaces, so a
/// longer path goes through `/bin/sh` (pip's trick, valid as both sh and Python).
fn shebang(python: &str) -> String {
    if python.len() + 2 <= 127 && !python.contains(' ') {
        format!("#!{python}")
    } else {
        format!("#!/bin/sh\n'''exec' \"{python}\" \"$0\" \"$@\"\n' '''")
    }
}

/// `[console_scripts]` and `[gui_scripts]` of entry_points.txt, as (name, `module:attr`).
fn console_scripts(text: &str) -> Vec<(String, String)> {
    let mut section = String::new();
    let mut scripts = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with(['#', ';']) {
            continue;
        }
        if let Some(name) = line
            .strip_prefix('[')
            .and_then(|rest| rest.strip_suffix(']'))
        {
            section = name.trim().to_string();
            continue;
        }
        if section != "console_scripts" && section != "gui_scripts" {
            continue;
        }
        if let Some((name, target)) = line.split_once('=') {
            // `module:attr [extra]`: extras do not change the launcher.
            let target = target.split('[').next().unwrap_or(target).trim();
            let name = name.trim();
            // A script name with a path separator would be written outside bin/.
            if !name.is_empty() && !name.contains('/') && name != ".." {
                scripts.push((name.to_string(), target.to_string()));
            }
        }
    }
    scripts
}

fn write_file(path: &Path, contents: &[u8], executable: bool) -> Result<(), InstallError> {
    let error = |source| InstallError::Write {
        path: path.to_path_buf(),
        source,
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(error)?;
    }
    // Replace, never write through, whatever is there (a symlink included).
    match std::fs::remove_file(path) {
        Err(remove) if remove.kind() != std::io::ErrorKind::NotFound => return Err(error(remove)),
        _ => {}
    }
    std::fs::write(path, contents).map_err(error)?;
    let mode = if executable { 0o755 } else { 0o644 };
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(error)
}

/// Writes RECORD with every path relative to `site_packages`, sorted for reproducibility.
fn write_record(
    path: &Path,
    record: &BTreeMap<PathBuf, (String, u64)>,
    site_packages: &Path,
) -> Result<(), InstallError> {
    let mut text = String::new();
    for (file, (hash, size)) in record {
        let relative = relative_path(site_packages, file);
        text.push_str(&format!("{},sha256={hash},{size}\n", csv_field(&relative)));
    }
    let own = relative_path(site_packages, path);
    text.push_str(&format!("{},,\n", csv_field(&own)));
    write_file(path, text.as_bytes(), false)
}

fn csv_field(value: &str) -> String {
    if value.contains([',', '"', '\n']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_string()
    }
}

/// `to` relative to `from`, both absolute and free of `..`: `../../../bin/x`.
pub fn relative_path(from: &Path, to: &Path) -> String {
    let from: Vec<Component> = from.components().collect();
    let to: Vec<Component> = to.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<String> = vec!["..".to_string(); from.len() - common];
    parts.extend(
        to[common..]
            .iter()
            .map(|component| component.as_os_str().to_string_lossy().into_owned()),
    );
    parts.join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_names_that_escape_are_refused() {
        assert!(check_entry_name("pkg/__init__.py").is_ok());
        assert!(check_entry_name("../evil.py").is_err());
        assert!(check_entry_name("pkg/../../evil.py").is_err());
        assert!(check_entry_name("/etc/passwd").is_err());
        assert!(check_entry_name("pkg\\..\\evil.py").is_err());
    }

    #[test]
    fn shebangs_name_the_target_interpreter() {
        let script = rewrite_shebang(b"#!python\nprint(1)\n".to_vec(), "/opt/venvs/a/bin/python");
        assert_eq!(script, b"#!/opt/venvs/a/bin/python\nprint(1)\n");
        let long = "/x".repeat(80);
        assert!(shebang(&long).starts_with("#!/bin/sh\n"));
    }

    #[test]
    fn entry_points_are_read_from_both_sections() {
        let scripts = console_scripts(
            "[console_scripts]\nhello = hello.app:main [extra]\n\n[gui_scripts]\nhi=hi:run\n[other]\nx=y:z\n",
        );
        assert_eq!(
            scripts,
            vec![
                ("hello".to_string(), "hello.app:main".to_string()),
                ("hi".to_string(), "hi:run".to_string())
            ]
        );
    }

    #[test]
    fn relative_paths_climb_out_of_site_packages() {
        assert_eq!(
            relative_path(
                Path::new("/v/lib/python3.11/site-packages"),
                Path::new("/v/bin/hello")
            ),
            "../../../bin/hello"
        );
    }
}
