//! The system packages of this machine: which of `build-depends` are missing, asked of its
//! package manager (dpkg on Debian and Ubuntu, rpm on Fedora, RHEL, SUSE).

use std::path::Path;
use std::process::Command;

use crate::project::SystemPackageSpec;

/// A packaging family this machine uses, with the command that installs packages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Deb,
    Rpm,
}

impl Family {
    /// This machine's family, from its package database (not from which tools happen to be
    /// installed: Debian machines may have `rpm` too).
    pub fn of_this_machine() -> Option<Family> {
        if Path::new("/var/lib/dpkg/status").is_file() {
            Some(Family::Deb)
        } else if Path::new("/var/lib/rpm").is_dir() || Path::new("/usr/lib/sysimage/rpm").is_dir()
        {
            Some(Family::Rpm)
        } else {
            None
        }
    }

    fn key(self) -> &'static str {
        match self {
            Family::Deb => "deb",
            Family::Rpm => "rpm",
        }
    }

    /// The command that installs `packages`.
    pub fn install_command(self, packages: &[String]) -> String {
        let tool = match self {
            Family::Deb => "apt-get install",
            Family::Rpm => "dnf install",
        };
        format!("{tool} {}", packages.join(" "))
    }

    fn is_installed(self, package: &str) -> bool {
        let output = match self {
            Family::Deb => Command::new("dpkg-query")
                .args(["-W", "-f=${db:Status-Status}", "--", package])
                .output(),
            Family::Rpm => Command::new("rpm").args(["-q", "--", package]).output(),
        };
        output.is_ok_and(|output| {
            output.status.success()
                && (self == Family::Rpm || String::from_utf8_lossy(&output.stdout) == "installed")
        })
    }
}

/// The packages of `specs` (names for `family`; a spec naming other families only is not for
/// this machine) that are not installed.
pub fn missing(family: Family, specs: &[SystemPackageSpec]) -> Vec<String> {
    specs
        .iter()
        .filter_map(|spec| match spec {
            SystemPackageSpec::Everywhere(name) => Some(name.clone()),
            SystemPackageSpec::PerFamily(names) => names.get(family.key()).cloned(),
        })
        .filter(|name| !family.is_installed(name))
        .collect()
}
