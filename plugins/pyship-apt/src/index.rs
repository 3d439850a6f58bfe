//! The repository's indexes: a suite's `Packages` (one paragraph per package version, kept
//! sorted) and its `Release`, which names every index file with its size and sha256.

use sha2::{Digest, Sha256};

use crate::deb::{Control, parse_paragraph};

/// A `Packages` file: its paragraphs by (package, version, architecture).
#[derive(Debug, Default)]
pub struct Packages {
    pub entries: std::collections::BTreeMap<(String, String, String), Control>,
}

/// Identifies a paragraph.
pub fn key_of(control: &Control) -> Result<(String, String, String), String> {
    let field = |name: &str| {
        control
            .get(name)
            .map(String::from)
            .ok_or_else(|| format!("a paragraph without `{name}`"))
    };
    Ok((field("Package")?, field("Version")?, field("Architecture")?))
}

impl Packages {
    /// Reads an existing `Packages` file; a damaged one is an error (the repository is left
    /// as it is).
    pub fn parse(text: &str) -> Result<Packages, String> {
        let mut packages = Packages::default();
        for paragraph in text.split("\n\n").filter(|part| !part.trim().is_empty()) {
            let control = parse_paragraph(paragraph)?;
            packages.entries.insert(key_of(&control)?, control);
        }
        Ok(packages)
    }

    /// Keeps the `keep` newest versions of each package (per architecture), and those in
    /// `added`; the pool files of those dropped.
    pub fn keep_newest(
        &mut self,
        keep: usize,
        added: &std::collections::BTreeSet<(String, String, String)>,
    ) -> Vec<String> {
        let mut by_package: std::collections::BTreeMap<(String, String), Vec<String>> =
            std::collections::BTreeMap::new();
        for (package, version, arch) in self.entries.keys() {
            by_package
                .entry((package.clone(), arch.clone()))
                .or_default()
                .push(version.clone());
        }
        let mut dropped = Vec::new();
        for ((package, arch), mut versions) in by_package {
            versions.sort_by(|a, b| crate::version::compare(b, a));
            for version in versions.into_iter().skip(keep) {
                let key = (package.clone(), version, arch.clone());
                if added.contains(&key) {
                    continue;
                }
                if let Some(control) = self.entries.remove(&key) {
                    dropped.extend(control.get("Filename").map(String::from));
                }
            }
        }
        dropped
    }

    pub fn render(&self) -> String {
        self.entries
            .values()
            .map(|control| control.render(&[]))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// One file a `Release` lists: its path under the suite, size and sha256.
pub struct Listed {
    pub path: String,
    pub size: usize,
    pub sha256: String,
}

impl Listed {
    pub fn of(path: String, bytes: &[u8]) -> Listed {
        Listed {
            path,
            size: bytes.len(),
            sha256: pyship_plugin::hex(&Sha256::digest(bytes)),
        }
    }
}

/// The suite's `Release`: what it is, when it was made, and every index with its sha256
/// (clients fetch them by hash: `Acquire-By-Hash`).
pub fn release(
    origin: &str,
    suite: &str,
    architectures: &[String],
    date: &str,
    valid_until: Option<&str>,
    files: &[Listed],
) -> String {
    let valid_until = valid_until.map_or(String::new(), |until| format!("Valid-Until: {until}\n"));
    let mut out = format!(
        "Origin: {origin}\nLabel: {origin}\nSuite: {suite}\nCodename: {suite}\nDate: {date}\n{valid_until}Architectures: {}\nComponents: main\nAcquire-By-Hash: yes\nSHA256:\n",
        architectures.join(" ")
    );
    for file in files {
        out.push_str(&format!(
            " {} {:>16} {}\n",
            file.sha256, file.size, file.path
        ));
    }
    out
}
