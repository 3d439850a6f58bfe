//! Deployment facts worked out once, here, and handed to every plugin typed in the manifest
//! (protocol 2), so that no plugin re-parses a version or a wheel tag.
//!
//! - the version's PEP 440 parts;
//! - the minimum glibc: for each wheel the lowest of its alternative platform tags (a
//!   `manylinux_2_17_x86_64.manylinux2014_x86_64` wheel runs on 2.17), across wheels the
//!   highest;
//! - whether the tree is architecture-independent (every wheel pure);
//! - the distribution package that provides the target interpreter.

use std::path::Path;

use pep508_rs::pep440_rs::{PrereleaseKind, Version};
use pyship_plugin::{PreRelease, VersionParts};

use crate::python::PRESETS;

/// `version` split into its parts.
pub fn version_parts(version: &Version) -> VersionParts {
    VersionParts {
        epoch: version.epoch(),
        release: version.release().to_vec(),
        pre: version.pre().map(|pre| PreRelease {
            kind: match pre.kind {
                PrereleaseKind::Alpha => "a",
                PrereleaseKind::Beta => "b",
                PrereleaseKind::Rc => "rc",
            }
            .to_string(),
            number: pre.number,
        }),
        post: version.post(),
        dev: version.dev(),
        local: (!version.local().is_empty()).then(|| {
            version
                .local()
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(".")
        }),
    }
}

/// The glibc the installed wheels need, as `2.17`: per wheel the lowest of its alternative
/// manylinux tags, across wheels the highest. `None` when no wheel names one.
pub fn min_glibc<'a>(wheel_file_names: impl IntoIterator<Item = &'a str>) -> Option<String> {
    wheel_file_names
        .into_iter()
        .filter_map(|file_name| {
            let platforms = file_name.strip_suffix(".whl")?.rsplit('-').next()?;
            platforms.split('.').filter_map(manylinux_glibc).min()
        })
        .max()
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
    let mut parts = platform.strip_prefix("manylinux_")?.splitn(3, '_');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

/// The distribution package providing the interpreter: the preset's, else Debian's naming
/// for `/usr/bin/pythonX.Y` (`pythonX.Y`); `None` for an interpreter of no known package.
pub fn distro_package(
    target_name: &str,
    interpreter: &Path,
    python_version: &str,
) -> Option<String> {
    if let Some(preset) = PRESETS.iter().find(|preset| preset.name == target_name) {
        return Some(preset.interpreter_package.to_string());
    }
    let name = interpreter.file_name()?.to_str()?;
    (interpreter.starts_with("/usr/bin") && name.starts_with("python3"))
        .then(|| format!("python{python_version}"))
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    #[test]
    fn versions_split_into_their_parts() {
        let parts = version_parts(&Version::from_str("1!2.0rc1.post2.dev3+Local.4").unwrap());
        assert_eq!(parts.epoch, 1);
        assert_eq!(parts.release, [2, 0]);
        assert_eq!(
            parts.pre,
            Some(PreRelease {
                kind: "rc".into(),
                number: 1
            })
        );
        assert_eq!((parts.post, parts.dev), (Some(2), Some(3)));
        assert_eq!(parts.local.as_deref(), Some("local.4"));
        let plain = version_parts(&Version::from_str("0.1.0").unwrap());
        assert_eq!((plain.pre, plain.local), (None, None));
    }

    #[test]
    fn the_glibc_bound_takes_each_wheels_lowest_alternative() {
        // markupsafe's wheel runs on 2.17 (manylinux2014); the other needs 2.28.
        assert_eq!(
            min_glibc([
                "MarkupSafe-3.0.2-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.manylinux_2_28_x86_64.whl",
                "flask-3.0.3-py3-none-any.whl",
            ])
            .as_deref(),
            Some("2.17")
        );
        assert_eq!(
            min_glibc([
                "a-1-cp311-cp311-manylinux_2_17_x86_64.manylinux_2_28_x86_64.whl",
                "b-1-cp311-cp311-manylinux_2_28_x86_64.whl",
            ])
            .as_deref(),
            Some("2.28")
        );
        assert_eq!(min_glibc(["flask-3.0.3-py3-none-any.whl"]), None);
    }

    #[test]
    fn presets_name_their_interpreter_package() {
        assert_eq!(
            distro_package("debian-11", Path::new("/usr/bin/python3.9"), "3.9").as_deref(),
            Some("python3.9")
        );
        assert_eq!(
            distro_package(
                "cpython-3.11.2-x86_64",
                Path::new("/usr/bin/python3.11"),
                "3.11"
            )
            .as_deref(),
            Some("python3.11")
        );
        assert_eq!(
            distro_package("x", Path::new("/opt/py/bin/python3"), "3.12"),
            None
        );
    }
}
