//! The DEBIAN/control file: turning Python project facts into Debian fields.
//!
//! Field rules follow Debian Policy chapter 5 (control files) and 5.6.12 (version syntax).

use std::fmt::Write;

use pyship_plugin::{Manifest, VersionParts};

/// The fields of a binary package's control file.
#[derive(Debug, Clone, PartialEq)]
pub struct Control {
    pub package: String,
    pub version: String,
    pub architecture: String,
    pub maintainer: String,
    pub installed_size_kib: u64,
    pub depends: Vec<String>,
    /// Pre-Depends, Conflicts, Breaks, Replaces, Provides, as configured (field, entries).
    pub relations: Vec<(&'static str, Vec<String>)>,
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
        let deployment = manifest.deployment.clone().unwrap_or_default();
        // The revision: the format's own option, else the build number, else 1.
        let revision = match (options.string("revision")?, deployment.build_number) {
            (Some(revision), _) => revision.to_string(),
            (None, Some(number)) => number.to_string(),
            (None, None) => "1".to_string(),
        };
        pyship_plugin::grammar::release(&revision).map_err(|message| {
            format!(
                "the Debian revision `{}` is not valid: {message}",
                revision.escape_debug()
            )
        })?;
        let mut depends = interpreter_depends(manifest);
        // The bound comes from pyship (protocol 2); a version 1 manifest has none.
        if let Some(glibc) = &manifest.target.min_glibc {
            depends.push(format!("libc6 (>= {glibc})"));
        }
        // The system libraries the wheels' compiled files link (dpkg-shlibdeps' job).
        let needed = manifest
            .target
            .needed_libraries
            .as_deref()
            .unwrap_or_default();
        // Read only when there is something to look up (it reads every shlibs file).
        let shlibs = if needed.is_empty() {
            crate::shlibs::Shlibs::default()
        } else {
            crate::shlibs::Shlibs::from_dpkg_database()
        };
        for soname in needed {
            match shlibs.dependency(soname) {
                Some(dependency) => depends.push(dependency.to_string()),
                None => pyship_plugin::log(format_args!(
                    "pyship-deb: warning: no package on this machine provides `{soname}`, which the installed wheels need; add its Debian package to `run-depends`"
                )),
            }
        }
        depends.extend(
            deployment
                .run_depends
                .iter()
                .filter_map(|package| package.name_for("deb", str::to_string)),
        );
        if deployment.user.is_some() {
            // The postinst creates the account with adduser (Policy 9.2.2).
            depends.push("adduser".to_string());
        }
        // A relation is read back without the blanks around it: written so too.
        depends.extend(
            options
                .strings("depends")?
                .into_iter()
                .map(|entry| entry.trim().to_string()),
        );
        // One entry per package: the first (the derived one, with its bound) stays.
        let mut seen = std::collections::BTreeSet::new();
        depends.retain(|entry| {
            let name = entry.split([' ', '(', ',', '|']).next().unwrap_or(entry);
            seen.insert(name.to_string())
        });
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
        // Where the package came from, so an operator can trace an installed build.
        let source = &manifest.source;
        if let Some(commit) = &source.git_commit {
            let branch = source
                .git_branch
                .as_deref()
                .map(|branch| format!(" on branch {branch}"))
                .unwrap_or_default();
            let dirty = if source.dirty == Some(true) {
                " (with uncommitted changes)"
            } else {
                ""
            };
            extended.push(format!("Built from commit {commit}{branch}{dirty}."));
        }
        if let Some(number) = deployment.build_number {
            extended.push(format!("Build number {number}."));
        }
        let package = match options.string("package")? {
            Some(name) if !pyship_plugin::grammar::package_name(name) => {
                return Err(format!(
                    "`tool.pyship.deb.package = \"{name}\"` is not a Debian package name: lowercase letters, digits, `+`, `-` and `.`, at least two, starting with a letter or digit (Policy 5.6.1)"
                ));
            }
            Some(name) => name.to_string(),
            None => package_name(&project.name),
        };
        let mut relations = Vec::new();
        for (field, key) in RELATION_FIELDS {
            let entries: Vec<String> = options
                .strings(key)?
                .into_iter()
                .map(|entry| entry.trim().to_string())
                .collect();
            if !entries.is_empty() {
                relations.push((*field, entries));
            }
        }
        let control = Control {
            package,
            relations,
            version: format!(
                "{}-{revision}{}",
                match &project.version_parts {
                    Some(parts) => debian_version_from_parts(parts),
                    None => debian_version(&project.version),
                },
                release_suffix(manifest.target.distro.as_ref())
            ),
            architecture: architecture(manifest),
            maintainer: match options.string("maintainer")? {
                Some(maintainer) => maintainer.to_string(),
                None => project
                    .maintainer
                    .clone()
                    .or_else(maintainer_from_environment)
                    .ok_or_else(|| {
                        "the package needs a Maintainer: add `maintainers = [{ name = \"…\", email = \"…\" }]` to `[project]`, set DEBFULLNAME and DEBEMAIL, or set git's user.name and user.email".to_string()
                    })?,
            },
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
        };
        control.check()?;
        Ok(control)
    }

    /// Every field checked against Debian's grammar (Policy 5.1, 5.6, 7.1): one line each,
    /// relations one per entry, section and priority in their forms (the revision is
    /// checked where it is chosen). pyship
    /// refuses such values when it loads the project; this is the second line, for manifests
    /// from elsewhere.
    fn check(&self) -> Result<(), String> {
        let refuse = |field: &str, value: &str, message: String| {
            Err(format!(
                "the control field {field} `{}` is not valid: {message}",
                value.escape_debug()
            ))
        };
        if !pyship_plugin::grammar::package_name(&self.package) {
            return refuse("Package", &self.package, "Policy 5.6.1's name rule".into());
        }
        let single = [
            ("Version", self.version.as_str()),
            ("Architecture", &self.architecture),
            ("Maintainer", &self.maintainer),
            ("Description", &self.summary),
        ];
        for (field, value) in single
            .into_iter()
            .chain(
                self.homepage
                    .iter()
                    .map(|homepage| ("Homepage", homepage.as_str())),
            )
            .chain(
                self.extended
                    .iter()
                    .map(|line| ("Description", line.as_str())),
            )
        {
            if let Err(message) = pyship_plugin::grammar::single_line(value) {
                return refuse(field, value, message);
            }
            // deb822 readers trim a value: what is written must be what is read.
            if value.trim() != value || value.is_empty() {
                return refuse(
                    field,
                    value,
                    "it is empty or starts or ends with white space".into(),
                );
            }
        }
        // Policy 5.6.2: the name, then the address in angle brackets.
        let address = self
            .maintainer
            .strip_suffix('>')
            .and_then(|rest| rest.rsplit_once('<'))
            .map(|(_, address)| address);
        if !address.is_some_and(|address| address.contains('@') && !address.contains(['<', '>'])) {
            return refuse(
                "Maintainer",
                &self.maintainer,
                "Debian wants `Name <email>` (Policy 5.6.2)".into(),
            );
        }
        if let Some(homepage) = &self.homepage {
            if homepage.contains(' ') {
                return refuse("Homepage", homepage, "a URL has no spaces".into());
            }
        }
        if let Err(message) = pyship_plugin::grammar::deb_section(&self.section) {
            return refuse("Section", &self.section, message);
        }
        if let Err(message) = pyship_plugin::grammar::deb_priority(&self.priority) {
            return refuse("Priority", &self.priority, message);
        }
        let relations = self
            .relations
            .iter()
            .flat_map(|(field, entries)| entries.iter().map(move |entry| (*field, entry)))
            .chain(self.depends.iter().map(|entry| ("Depends", entry)));
        for (field, entry) in relations {
            if let Err(message) = pyship_plugin::grammar::deb_relation(entry) {
                return refuse(field, entry, message);
            }
        }
        Ok(())
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
        if let Some((_, entries)) = self
            .relations
            .iter()
            .find(|(field, _)| *field == "Pre-Depends")
        {
            let _ = writeln!(out, "Pre-Depends: {}", entries.join(", "));
        }
        if !self.depends.is_empty() {
            let _ = writeln!(out, "Depends: {}", self.depends.join(", "));
        }
        for (field, entries) in self
            .relations
            .iter()
            .filter(|(field, _)| *field != "Pre-Depends")
        {
            let _ = writeln!(out, "{field}: {}", entries.join(", "));
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

/// The Debian convention for builds of one version for several releases, so that one APT
/// repository can hold them all: `~deb11` for Debian 11, `~ubuntu24.04` for Ubuntu 24.04 (a
/// `~` sorts before the plain version, so a release's own build wins an upgrade). From the
/// target's distribution fact: only a target that is a known release gets one.
fn release_suffix(distro: Option<&pyship_plugin::Distro>) -> String {
    let plain = |version: &str| {
        !version.is_empty() && version.chars().all(|c| c.is_ascii_digit() || c == '.')
    };
    match distro {
        Some(distro) if distro.id == "debian" && plain(&distro.version_id) => {
            format!("~deb{}", distro.version_id)
        }
        Some(distro) if distro.id == "ubuntu" && plain(&distro.version_id) => {
            format!("~ubuntu{}", distro.version_id)
        }
        _ => String::new(),
    }
}

/// The relationship fields beside Depends, and their `[tool.pyship.deb]` keys.
pub const RELATION_FIELDS: &[(&str, &str)] = &[
    ("Pre-Depends", "pre-depends"),
    ("Recommends", "recommends"),
    ("Suggests", "suggests"),
    ("Enhances", "enhances"),
    ("Breaks", "breaks"),
    ("Conflicts", "conflicts"),
    ("Provides", "provides"),
    ("Replaces", "replaces"),
];

/// The Debian convention (`DEBFULLNAME`, `DEBEMAIL`), else git's `user.name` and
/// `user.email`: who builds the package maintains it, as dch assumes.
fn maintainer_from_environment() -> Option<String> {
    let from_env = |key: &str| {
        std::env::var(key)
            .ok()
            .map(|value| value.trim().to_string())
            .filter(|value| !value.is_empty())
    };
    let git = |key: &str| {
        let output = std::process::Command::new("git")
            .args(["config", key])
            .stderr(std::process::Stdio::null())
            .output()
            .ok()?;
        let value = String::from_utf8(output.stdout).ok()?.trim().to_string();
        (output.status.success() && !value.is_empty()).then_some(value)
    };
    let (name, email) = match (from_env("DEBFULLNAME"), from_env("DEBEMAIL")) {
        (Some(name), Some(email)) => (name, email),
        _ => (git("user.name")?, git("user.email")?),
    };
    // Angle brackets or a comma in either part would break the field's syntax.
    let clean = |text: &str| !text.contains(['<', '>', ',', '\n']);
    (clean(&name) && clean(&email) && email.contains('@')).then(|| format!("{name} <{email}>"))
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
/// The Debian version of a PEP 440 version given in parts: `1!2.0rc1.post2.dev3+l` is
/// `1:2.0~rc1.post2~dev3+l`. Pre- and dev-releases sort before their release (`~`), an epoch
/// becomes Debian's epoch, the local label stays after `+`.
pub fn debian_version_from_parts(parts: &VersionParts) -> String {
    let upstream = pyship_plugin_kit::version::tilde_version(parts);
    if parts.epoch > 0 {
        format!("{}:{upstream}", parts.epoch)
    } else {
        upstream
    }
}

/// The Debian version of a PEP 440 version string (protocol 1 manifests, which carry no
/// parts).
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
    let independent = manifest
        .target
        .arch_independent
        .unwrap_or_else(|| manifest.packages.iter().all(|package| package.pure));
    if independent {
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
    if let Some(package) = &manifest.target.distro_package {
        return vec![package.clone()];
    }
    // A protocol 1 manifest has no facts: Debian names `/usr/bin/pythonX.Y`'s package so.
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

#[cfg(test)]
mod tests {
    use pyship_plugin::{PreRelease, PreReleaseKind};

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
    fn versions_from_parts_match_versions_from_text() {
        for text in [
            "1.4.0",
            "1.0rc1",
            "2.0.0a3",
            "1.0.dev4",
            "1!2.0",
            "1.0.post2",
            "1.0+abc.2",
        ] {
            let parts = parts_of(text);
            assert_eq!(
                debian_version_from_parts(&parts),
                debian_version(text),
                "{text}"
            );
        }
        assert_eq!(
            debian_version_from_parts(&parts_of("1.0rc1.dev2")),
            "1.0~rc1~dev2"
        );
    }

    /// The parts pyship would send for `text` (a small parser for the test's simple forms).
    fn parts_of(text: &str) -> VersionParts {
        let (epoch, rest) = match text.split_once('!') {
            Some((epoch, rest)) => (epoch.parse().unwrap(), rest),
            None => (0, text),
        };
        let (rest, local) = match rest.split_once('+') {
            Some((rest, local)) => (rest, Some(local.to_string())),
            None => (rest, None),
        };
        let mut parts = VersionParts {
            epoch,
            local,
            ..VersionParts::default()
        };
        let mut release = String::new();
        let mut tail = rest;
        while let Some(c) = tail.chars().next() {
            if c.is_ascii_digit()
                || (c == '.' && tail[1..].starts_with(|c: char| c.is_ascii_digit()))
            {
                release.push(c);
                tail = &tail[1..];
            } else {
                break;
            }
        }
        parts.release = release.split('.').map(|n| n.parse().unwrap()).collect();
        for (marker, kind) in [
            ("rc", PreReleaseKind::Rc),
            ("a", PreReleaseKind::A),
            ("b", PreReleaseKind::B),
        ] {
            if let Some(after) = tail.strip_prefix(marker) {
                let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
                parts.pre = Some(PreRelease {
                    kind,
                    number: digits.parse().unwrap(),
                });
                tail = &after[digits.len()..];
            }
        }
        if let Some(after) = tail.strip_prefix(".post") {
            let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
            parts.post = Some(digits.parse().unwrap());
            tail = &after[digits.len()..];
        }
        if let Some(after) = tail.strip_prefix(".dev") {
            parts.dev = Some(after.parse().unwrap());
        }
        parts
    }
}
