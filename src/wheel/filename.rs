//! Wheel file names: `{name}-{version}(-{build})?-{python}-{abi}-{platform}.whl` (PEP 427,
//! binary distribution format spec), and the `.dist-info` directory name derived from them.

use std::str::FromStr;

use pep508_rs::PackageName;
use pep508_rs::pep440_rs::Version;

/// A parsed wheel file name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WheelFilename {
    pub name: PackageName,
    pub version: Version,
    pub python: String,
    pub abi: String,
    pub platform: String,
}

impl WheelFilename {
    /// Parses a file name; `None` when it is not a well-formed wheel name.
    pub fn parse(file_name: &str) -> Option<WheelFilename> {
        let stem = file_name.strip_suffix(".whl")?;
        let parts: Vec<&str> = stem.split('-').collect();
        let (name, version, rest) = match parts.as_slice() {
            [name, version, _build, python, abi, platform] => {
                (name, version, [python, abi, platform])
            }
            [name, version, python, abi, platform] => (name, version, [python, abi, platform]),
            _ => return None,
        };
        Some(WheelFilename {
            name: PackageName::from_str(name).ok()?,
            version: Version::from_str(version).ok()?,
            python: rest[0].to_string(),
            abi: rest[1].to_string(),
            platform: rest[2].to_string(),
        })
    }

    /// Whether the wheel runs anywhere: `none` ABI and `any` platform.
    pub fn is_pure(&self) -> bool {
        self.abi == "none" && self.platform == "any"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_compressed_tags_and_build_numbers() {
        let wheel = WheelFilename::parse(
            "MarkupSafe-3.0.2-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
        )
        .unwrap();
        assert_eq!(wheel.name.as_ref(), "markupsafe");
        assert_eq!(wheel.platform, "manylinux_2_17_x86_64.manylinux2014_x86_64");
        assert!(!wheel.is_pure());
        let built = WheelFilename::parse("foo-1.0-1-py3-none-any.whl").unwrap();
        assert!(built.is_pure());
        assert!(WheelFilename::parse("foo-1.0.tar.gz").is_none());
        assert!(WheelFilename::parse("foo-py3-none-any.whl").is_none());
    }
}

/// The name and version of an sdist file name: `NAME-VERSION.tar.gz` or `.zip` (the
/// source distribution format spec; older sdists may keep `-` in the name, so the version is
/// what follows the last `-`).
pub fn parse_sdist_filename(file_name: &str) -> Option<(PackageName, Version)> {
    let stem = file_name
        .strip_suffix(".tar.gz")
        .or_else(|| file_name.strip_suffix(".zip"))?;
    let (name, version) = stem.rsplit_once('-')?;
    Some((
        PackageName::from_str(name).ok()?,
        Version::from_str(version).ok()?,
    ))
}

#[cfg(test)]
mod sdist_tests {
    use super::*;

    #[test]
    fn sdist_names_split_at_the_last_dash() {
        let (name, version) = parse_sdist_filename("zope.interface-6.0.tar.gz").unwrap();
        assert_eq!(
            (name.as_ref(), version.to_string().as_str()),
            ("zope-interface", "6.0")
        );
        let (name, _) = parse_sdist_filename("my-old-package-1.0.zip").unwrap();
        assert_eq!(name.as_ref(), "my-old-package");
        assert!(parse_sdist_filename("pkg-1.0.exe").is_none());
    }
}
