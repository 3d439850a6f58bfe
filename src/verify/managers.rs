//! The package managers verify drives, by the kind of artifact: dpkg inside the root for
//! .debs; for .rpms, this machine's rpm with `--root` (the root is a Debian root standing in
//! for the RPM release: rpm's database and scriptlets live in it, its Requires are not
//! resolved).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, bail};

/// A package manager verify knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Manager {
    Dpkg,
    Rpm,
}

impl Manager {
    /// The manager of artifacts of `kind` (what the plugin said it made).
    pub fn for_kind(kind: &str) -> Option<Manager> {
        match kind {
            "deb" => Some(Manager::Dpkg),
            "rpm" => Some(Manager::Rpm),
            _ => None,
        }
    }

    /// What removing everything is called: dpkg purges, rpm erases (and keeps edited
    /// configuration as `.rpmsave`).
    pub fn removal(self) -> &'static str {
        match self {
            Manager::Dpkg => "purge",
            Manager::Rpm => "erase",
        }
    }

    /// Reads the name, version and arch of the artifact at `path`.
    pub fn read(self, path: &Path) -> anyhow::Result<Package> {
        let (program, mut command) = match self {
            Manager::Dpkg => {
                let mut command = Command::new("dpkg-deb");
                command
                    .arg("--showformat=${Package}|${Version}|${Architecture}")
                    .arg("--show")
                    .arg(path);
                ("dpkg-deb (it comes with dpkg)", command)
            }
            Manager::Rpm => {
                let mut command = Command::new("rpm");
                command
                    .args(["-qp", "--nosignature", "--nodigest", "--queryformat"])
                    .arg("%{NAME}|%{VERSION}-%{RELEASE}|%{ARCH}")
                    .arg(path);
                ("rpm (`apt-get install rpm`)", command)
            }
        };
        let output = command
            .output()
            .with_context(|| format!("failed to run {program}"))?;
        let text = String::from_utf8_lossy(&output.stdout);
        let fields: Vec<&str> = text.trim().split('|').collect();
        if !output.status.success() || fields.len() != 3 {
            bail!(
                "`{}` is not a readable package: {}",
                path.display(),
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        Ok(Package {
            path: path.to_path_buf(),
            name: fields[0].to_string(),
            version: fields[1].to_string(),
            arch: fields[2].to_string(),
        })
    }

    /// Whether an artifact of `arch` runs in a root whose dpkg arch is `root_arch`.
    pub fn runs_on(self, arch: &str, root_arch: &str) -> bool {
        let arch = match (self, arch) {
            (_, "all" | "noarch") => return true,
            (Manager::Rpm, "x86_64") => "amd64",
            (Manager::Rpm, "aarch64") => "arm64",
            (Manager::Rpm, "ppc64le") => "ppc64el",
            (_, other) => other,
        };
        arch == root_arch
    }
}

/// What verify needs of one artifact.
#[derive(Debug, Clone)]
pub struct Package {
    pub path: PathBuf,
    pub name: String,
    /// `VERSION-REVISION` (dpkg) or `VERSION-RELEASE` (rpm).
    pub version: String,
    pub arch: String,
}

impl Package {
    pub fn file_name(&self) -> String {
        self.path
            .file_name()
            .map_or_else(String::new, |name| name.to_string_lossy().into_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archs_are_compared_in_dpkg_terms() {
        assert!(Manager::Rpm.runs_on("x86_64", "amd64"));
        assert!(Manager::Rpm.runs_on("noarch", "arm64"));
        assert!(!Manager::Rpm.runs_on("aarch64", "amd64"));
        assert!(Manager::Dpkg.runs_on("amd64", "amd64"));
        assert!(Manager::Dpkg.runs_on("all", "amd64"));
        assert!(!Manager::Dpkg.runs_on("arm64", "amd64"));
    }
}
