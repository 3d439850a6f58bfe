//! A deployment target: the Python version and platform a lock is made for.
//!
//! A target comes from probing an interpreter (the exact truth), from a preset naming a
//! common server distribution's system Python and glibc, or from `--python`/`--platform`.
//! The full Python version matters: a lock made for 3.11.7 leaves out `async-timeout`, which
//! `redis` needs below 3.11.3, so it breaks on Debian 12's 3.11.2.

use std::path::PathBuf;
use std::str::FromStr;

use pep508_rs::pep440_rs::Version;
use pep508_rs::{MarkerEnvironment, MarkerEnvironmentBuilder};

use super::TagPriorities;

/// A server distribution pyship knows: its system Python (version and path), glibc, and the
/// package that provides the interpreter.
#[derive(Debug, Clone, Copy)]
pub struct Preset {
    pub name: &'static str,
    pub python: &'static str,
    pub glibc: (u32, u32),
    pub interpreter_package: &'static str,
    pub interpreter: &'static str,
    /// The distribution as its os-release names it: `ID`, `VERSION_ID`, `VERSION_CODENAME`.
    pub distro: (&'static str, &'static str, Option<&'static str>),
}

const fn preset(
    name: &'static str,
    python: &'static str,
    glibc: (u32, u32),
    interpreter_package: &'static str,
    interpreter: &'static str,
    distro: (&'static str, &'static str, Option<&'static str>),
) -> Preset {
    Preset {
        name,
        python,
        glibc,
        interpreter_package,
        interpreter,
        distro,
    }
}

/// The presets. RHEL 8's system Python 3.6 is the `python36` module package.
pub const PRESETS: &[Preset] = &[
    preset(
        "debian-11",
        "3.9.2",
        (2, 31),
        "python3.9",
        "/usr/bin/python3.9",
        ("debian", "11", Some("bullseye")),
    ),
    preset(
        "debian-12",
        "3.11.2",
        (2, 36),
        "python3.11",
        "/usr/bin/python3.11",
        ("debian", "12", Some("bookworm")),
    ),
    preset(
        "debian-13",
        "3.13.5",
        (2, 41),
        "python3.13",
        "/usr/bin/python3.13",
        ("debian", "13", Some("trixie")),
    ),
    preset(
        "ubuntu-22.04",
        "3.10.12",
        (2, 35),
        "python3.10",
        "/usr/bin/python3.10",
        ("ubuntu", "22.04", Some("jammy")),
    ),
    preset(
        "ubuntu-24.04",
        "3.12.3",
        (2, 39),
        "python3.12",
        "/usr/bin/python3.12",
        ("ubuntu", "24.04", Some("noble")),
    ),
    preset(
        "rhel-8",
        "3.6.8",
        (2, 28),
        "python36",
        "/usr/bin/python3.6",
        ("rhel", "8", None),
    ),
    preset(
        "rhel-9",
        "3.9.18",
        (2, 34),
        "python3",
        "/usr/bin/python3.9",
        ("rhel", "9", None),
    ),
];

/// Why a target description is not usable.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error("unknown target preset `{0}`")]
    UnknownPreset(String),
    #[error("invalid Python version `{0}`: expected e.g. `3.12` or `3.11.2`")]
    BadPython(String),
    #[error(
        "invalid platform `{0}`: expected ARCH-manylinux_2_N (e.g. `x86_64-manylinux_2_28`) or ARCH-linux"
    )]
    BadPlatform(String),
    #[error("invalid architecture `{arch}`: {message}")]
    BadArch { arch: String, message: String },
}

impl crate::diagnostics::Diagnostic for TargetError {
    fn hint(&self) -> Option<String> {
        match self {
            TargetError::UnknownPreset(_) => Some(format!(
                "known presets: {}",
                PRESETS
                    .iter()
                    .map(|preset| preset.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            _ => None,
        }
    }
}

/// What a lock is resolved for.
#[derive(Debug, Clone)]
pub struct Target {
    /// A short label: the preset name, or `cpython-3.11.2-x86_64-manylinux_2_36`.
    pub name: String,
    /// PEP 508 marker values.
    pub markers: MarkerEnvironment,
    /// `3.11.2`.
    pub python_full_version: Version,
    /// `(3, 11)`.
    pub python_minor: (u64, u64),
    /// `x86_64`.
    pub arch: String,
    /// glibc version, when the target runs on glibc.
    pub glibc: Option<(u32, u32)>,
    /// Wheel tags the target accepts, best first.
    pub tags: TagPriorities,
    /// The interpreter on the server (the virtualenv's base), when known: a preset's system
    /// Python, a probed interpreter's real path, or a target entry's `interpreter`.
    pub interpreter: Option<PathBuf>,
}

impl Target {
    /// A target from marker values, as probed from an interpreter.
    pub fn from_markers(
        markers: MarkerEnvironment,
        implementation: &str,
        glibc: Option<(u32, u32)>,
    ) -> Result<Target, String> {
        let python_full_version = Version::from_str(&markers.python_full_version().to_string())
            .map_err(|error| error.to_string())?;
        let release = python_full_version.release();
        let python_minor = (
            release.first().copied().unwrap_or(3),
            release.get(1).copied().unwrap_or(0),
        );
        let arch = markers.platform_machine().to_string();
        let tags = TagPriorities::for_target(implementation, python_minor, &arch, glibc);
        let name = format!(
            "cpython-{python_full_version}-{}",
            platform_label(&arch, glibc)
        );
        Ok(Target {
            name,
            markers,
            python_full_version,
            python_minor,
            arch,
            glibc,
            tags,
            interpreter: None,
        })
    }

    /// A CPython target on Linux from a version and a platform, e.g. `3.12` and
    /// `x86_64-manylinux_2_28`. A two-part version is taken as its `.0` release for
    /// `python_full_version` markers; give the full version when it matters.
    pub fn from_spec(python: &str, platform: &str) -> Result<Target, TargetError> {
        let version = Version::from_str(python)
            .ok()
            .filter(|version| version.release().len() >= 2 && version.release()[0] == 3)
            .ok_or_else(|| TargetError::BadPython(python.to_string()))?;
        let (arch, glibc) = parse_platform(platform)?;
        Self::synthesize(None, &version, &arch, glibc)
    }

    /// A preset (`debian-12`), on `arch` (default `x86_64`).
    pub fn preset(name: &str, arch: Option<&str>) -> Result<Target, TargetError> {
        let preset = PRESETS
            .iter()
            .find(|preset| preset.name == name)
            .ok_or_else(|| TargetError::UnknownPreset(name.to_string()))?;
        let version = Version::from_str(preset.python).expect("presets hold valid versions");
        let arch = arch.unwrap_or("x86_64");
        pyship_plugin::grammar::architecture(arch).map_err(|message| TargetError::BadArch {
            arch: arch.escape_debug().to_string(),
            message,
        })?;
        let label = if arch == "x86_64" {
            preset.name.to_string()
        } else {
            format!("{}-{arch}", preset.name)
        };
        let mut target = Self::synthesize(Some(label), &version, arch, Some(preset.glibc))?;
        target.interpreter = Some(PathBuf::from(preset.interpreter));
        Ok(target)
    }

    fn synthesize(
        name: Option<String>,
        version: &Version,
        arch: &str,
        glibc: Option<(u32, u32)>,
    ) -> Result<Target, TargetError> {
        let release = version.release();
        let full = match release {
            [major, minor] => format!("{major}.{minor}.0"),
            _ => version.to_string(),
        };
        let short = format!("{}.{}", release[0], release[1]);
        let markers = MarkerEnvironment::try_from(MarkerEnvironmentBuilder {
            implementation_name: "cpython",
            implementation_version: &full,
            os_name: "posix",
            platform_machine: arch,
            platform_python_implementation: "CPython",
            platform_release: "",
            platform_system: "Linux",
            platform_version: "",
            python_full_version: &full,
            python_version: &short,
            sys_platform: "linux",
        })
        .map_err(|_| TargetError::BadPython(version.to_string()))?;
        let mut target = Target::from_markers(markers, "cp", glibc)
            .map_err(|_| TargetError::BadPython(version.to_string()))?;
        if let Some(name) = name {
            target.name = name;
        }
        Ok(target)
    }

    /// `3.11`.
    pub fn python_version(&self) -> String {
        format!("{}.{}", self.python_minor.0, self.python_minor.1)
    }

    /// `x86_64-manylinux_2_36`.
    pub fn platform(&self) -> String {
        platform_label(&self.arch, self.glibc)
    }

    /// The PEP 508 marker that is true exactly on this target, for the lockfile.
    pub fn environment_marker(&self) -> String {
        format!(
            "python_full_version == '{}' and platform_machine == '{}' and sys_platform == 'linux'",
            self.python_full_version, self.arch
        )
    }
}

fn platform_label(arch: &str, glibc: Option<(u32, u32)>) -> String {
    match glibc {
        Some((major, minor)) => format!("{arch}-manylinux_{major}_{minor}"),
        None => format!("{arch}-linux"),
    }
}

/// `x86_64-manylinux_2_28`, `aarch64-manylinux2014`, `x86_64-linux`.
fn parse_platform(platform: &str) -> Result<(String, Option<(u32, u32)>), TargetError> {
    let bad = || TargetError::BadPlatform(platform.to_string());
    let (arch, libc) = platform.split_once('-').ok_or_else(bad)?;
    if arch.is_empty() {
        return Err(bad());
    }
    // The architecture names directories and artifacts: a machine name, never a path.
    pyship_plugin::grammar::architecture(arch).map_err(|message| TargetError::BadArch {
        arch: arch.escape_debug().to_string(),
        message,
    })?;
    let glibc = match libc {
        "linux" => None,
        "manylinux2014" => Some((2, 17)),
        "manylinux2010" => Some((2, 12)),
        "manylinux1" => Some((2, 5)),
        _ => {
            let rest = libc.strip_prefix("manylinux_").ok_or_else(bad)?;
            let (major, minor) = rest.split_once('_').ok_or_else(bad)?;
            Some((
                major.parse().map_err(|_| bad())?,
                minor.parse().map_err(|_| bad())?,
            ))
        }
    };
    Ok((arch.to_string(), glibc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_carry_system_python_and_glibc() {
        let debian = Target::preset("debian-12", None).unwrap();
        assert_eq!(debian.python_full_version.to_string(), "3.11.2");
        assert_eq!(debian.platform(), "x86_64-manylinux_2_36");
        assert!(
            debian
                .tags
                .rank("cp311", "cp311", "manylinux_2_36_x86_64")
                .is_some()
        );
        assert!(
            debian
                .tags
                .rank("cp311", "cp311", "manylinux_2_38_x86_64")
                .is_none()
        );
        let arm = Target::preset("ubuntu-24.04", Some("aarch64")).unwrap();
        assert_eq!(arm.name, "ubuntu-24.04-aarch64");
        assert!(Target::preset("debian-99", None).is_err());
    }

    #[test]
    fn specs_parse_versions_and_platforms() {
        let target = Target::from_spec("3.12", "x86_64-manylinux_2_28").unwrap();
        assert_eq!(target.python_full_version.to_string(), "3.12.0");
        assert_eq!(target.glibc, Some((2, 28)));
        assert_eq!(
            Target::from_spec("3.12", "aarch64-manylinux2014")
                .unwrap()
                .glibc,
            Some((2, 17))
        );
        assert!(Target::from_spec("twelve", "x86_64-linux").is_err());
        assert!(Target::from_spec("3.12", "x86_64").is_err());
    }
}
