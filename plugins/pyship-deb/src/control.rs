//! The DEBIAN/control file: turning Python project facts into Debian fields.
//!
//! Field rules follow Debian Policy chapter 5 (control files) and 5.6.12 (version syntax).

use std::collections::BTreeSet;
use std::fmt::Write;

use pyship_plugin::Manifest;

/// The fields of a binary package's control file.
#[derive(Debug, Clone, PartialEq)]
pub struct Control {
    pub package: String,
    pub version: String,
    pub architecture: String,
    pub maintainer: String,
    pub installed_size_kib: u64,
    pub depends: Vec<String>,
    pub section: String,
    pub priority: String,
    pub homepage: Option<String>,
    pub summary: String,
    pub extended: Vec<String>,
}

impl Control {
    /// Derives every field from the manifest; `installed_size_kib` is filled in later.
    pub fn from_manifest(manifest: &Manifest) -> Result<Control, String> {
        let project = &manifest.project;
        let options = pyship_plugin_kit::options::FormatOptions::new(manifest);
        let revision = options.string("revision")?.unwrap_or("1");
        let mut depends = interpreter_depends(manifest);
        if let Some(glibc) = minimum_glibc(manifest) {
            depends.push(format!("libc6 (>= {glibc})"));
        }
        depends.extend(options.strings("depends")?);
        let summary = project
            .summary
            .clone()
            .filter(|summary| !summary.trim().is_empty())
            .unwrap_or_else(|| format!("Python application {}", project.name));
        let mut extended = vec![format!(
            "{} {} with its virtualenv at {}, built by pyship.",
            project.name,
            project.version,
            manifest.layout.install_prefix.display()
        )];
        if let Some(commit) = &manifest.source.git_commit {
            extended.push(format!("Built from commit {commit}."));
        }
        Ok(Control {
            package: options
                .string("package")?
                .map(str::to_string)
                .unwrap_or_else(|| package_name(&project.name)),
            version: format!("{}-{revision}", debian_version(&project.version)),
            architecture: architecture(manifest),
            maintainer: options
                .string("maintainer")?
                .map(str::to_string)
                .or_else(|| project.maintainer.clone())
                .unwrap_or_else(|| format!("{} maintainers <root@localhost>", project.name)),
            installed_size_kib: 0,
            depends,
            section: options.string("section")?.unwrap_or("python").to_string(),
            priority: options
                .string("priority")?
                .unwrap_or("optional")
                .to_string(),
            homepage: project.homepage.clone(),
            summary: summary
                .lines()
                .next()
                .unwrap_or_default()
                .trim()
                .to_string(),
            extended,
        })
    }

    /// The control file's text.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = writeln!(out, "Package: {}", self.package);
        let _ = writeln!(out, "Version: {}", self.version);
        let _ = writeln!(out, "Architecture: {}", self.architecture);
        let _ = writeln!(out, "Maintainer: {}", self.maintainer);
        let _ = writeln!(out, "Installed-Size: {}", self.installed_size_kib);
        if !self.depends.is_empty() {
            let _ = writeln!(out, "Depends: {}", self.depends.join(", "));
        }
        let _ = writeln!(out, "Section: {}", self.section);
        let _ = writeln!(out, "Priority: {}", self.priority);
        if let Some(homepage) = &self.homepage {
            let _ = writeln!(out, "Homepage: {homepage}");
        }
        let _ = writeln!(out, "Description: {}", self.summary);
        for line in &self.extended {
            // Policy 5.6.13: continuation lines start with a space; an empty one is " .".
            if line.trim().is_empty() {
                out.push_str(" .\n");
            } else {
                let _ = writeln!(out, " {line}");
            }
        }
        out
    }

    /// The file name dpkg-deb would give: `NAME_VERSION_ARCH.deb` (the epoch left out).
    pub fn file_name(&self) -> String {
        let version = match self.version.split_once(':') {
            Some((_, rest)) => rest,
            None => &self.version,
        };
        format!("{}_{}_{}.deb", self.package, version, self.architecture)
    }
}

/// A Debian package name from a Python project name: lowercase, `_` and other
/// disallowed characters become `-` (Policy 5.6.1: `[a-z0-9][a-z0-9+.-]+`).
pub fn package_name(name: &str) -> String {
    let mapped: String = name
        .to_ascii_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '+' | '.' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect();
    mapped.trim_matches('-').to_string()
}

/// A Debian upstream version from a PEP 440 version: pre-releases sort before the release
/// with `~` (`1.0rc1` → `1.0~rc1`, `1.0.dev3` → `1.0~dev3`), and a local version `+abc`
/// stays as it is; Debian sorts the rest the same way PEP 440 does for ordinary versions.
pub fn debian_version(version: &str) -> String {
    let mut out = String::new();
    let lower = version.to_ascii_lowercase();
    let bytes = lower.as_bytes();
    let mut index = 0;
    while index < bytes.len() {
        let rest = &lower[index..];
        let marker = [
            "rc", "a", "b", ".dev", "dev", "alpha", "beta", "c", "pre", "preview",
        ]
        .iter()
        .filter(|marker| rest.starts_with(**marker))
        .max_by_key(|marker| marker.len());
        let after_digit = index > 0 && bytes[index - 1].is_ascii_digit();
        match marker {
            Some(marker) if after_digit && !out.contains('+') => {
                out.push('~');
                out.push_str(marker.trim_start_matches('.'));
                index += marker.len();
            }
            _ => {
                out.push(bytes[index] as char);
                index += 1;
            }
        }
    }
    if out.contains('!') {
        // A PEP 440 epoch `1!2.0` is a Debian epoch `1:2.0`.
        out = out.replacen('!', ":", 1);
    }
    out
}

/// `all` when every installed wheel is pure Python; otherwise the target machine's Debian
/// architecture name.
fn architecture(manifest: &Manifest) -> String {
    if manifest.packages.iter().all(|package| package.pure) {
        return "all".to_string();
    }
    match manifest.target.arch.as_str() {
        "x86_64" | "amd64" => "amd64",
        "aarch64" | "arm64" => "arm64",
        "i386" | "i486" | "i586" | "i686" => "i386",
        "armv7l" | "armhf" => "armhf",
        "ppc64le" => "ppc64el",
        "s390x" => "s390x",
        "riscv64" => "riscv64",
        other => other,
    }
    .to_string()
}

/// The virtualenv links to the target interpreter, so the package needs the Debian package
/// that ships it: `/usr/bin/python3.11` comes with `python3.11`.
fn interpreter_depends(manifest: &Manifest) -> Vec<String> {
    let interpreter = &manifest.target.interpreter;
    let Some(name) = interpreter.file_name().and_then(|name| name.to_str()) else {
        return Vec::new();
    };
    if interpreter.starts_with("/usr/bin") && name.starts_with("python3") {
        vec![format!("python{}", manifest.target.python_version)]
    } else {
        Vec::new()
    }
}

/// The newest glibc any manylinux wheel asks for, as `2.17`.
fn minimum_glibc(manifest: &Manifest) -> Option<String> {
    let mut versions = BTreeSet::new();
    for package in &manifest.packages {
        let file_name = package.wheel.file_name()?.to_str()?;
        let platforms = file_name.trim_end_matches(".whl").rsplit('-').next()?;
        for platform in platforms.split('.') {
            if let Some(version) = manylinux_glibc(platform) {
                versions.insert(version);
            }
        }
    }
    versions
        .into_iter()
        .next_back()
        .map(|(major, minor)| format!("{major}.{minor}"))
}

/// The glibc version a manylinux platform tag needs (PEP 600 and the legacy aliases).
fn manylinux_glibc(platform: &str) -> Option<(u32, u32)> {
    if platform.starts_with("manylinux1_") {
        return Some((2, 5));
    }
    if platform.starts_with("manylinux2010_") {
        return Some((2, 12));
    }
    if platform.starts_with("manylinux2014_") {
        return Some((2, 17));
    }
    let rest = platform.strip_prefix("manylinux_")?;
    let mut parts = rest.splitn(3, '_');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_map_pre_releases_to_tilde() {
        assert_eq!(debian_version("1.4.0"), "1.4.0");
        assert_eq!(debian_version("1.0rc1"), "1.0~rc1");
        assert_eq!(debian_version("2.0.0a3"), "2.0.0~a3");
        assert_eq!(debian_version("1.0.dev4"), "1.0~dev4");
        assert_eq!(debian_version("1!2.0"), "1:2.0");
        assert_eq!(debian_version("1.0.post2"), "1.0.post2");
        assert_eq!(debian_version("1.0+abc.2"), "1.0+abc.2");
    }

    #[test]
    fn package_names_follow_policy() {
        assert_eq!(package_name("My_App"), "my-app");
        assert_eq!(package_name("hello"), "hello");
    }

    #[test]
    fn manylinux_tags_give_glibc_versions() {
        assert_eq!(manylinux_glibc("manylinux_2_28_x86_64"), Some((2, 28)));
        assert_eq!(manylinux_glibc("manylinux2014_x86_64"), Some((2, 17)));
        assert_eq!(manylinux_glibc("any"), None);
    }
}
