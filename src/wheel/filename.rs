//! Wheel file names: `{name}-{version}(-{build})?-{python}-{abi}-{platform}.whl` (PEP 427,
//! binary distribution format spec), and the `.dist-info` directory name derived from them.

use std::str::FromStr;

use pep508_rs::PackageName;
use pep508_rs::pep440_rs::Version;

/// Whether `name` is safe to join to a directory as one file name: 1 to 255 bytes of ASCII
/// letters, digits and `._+!-` (everything a wheel or sdist name is made of), not starting
/// with a dot. Names from indexes, locks and URLs are hostile input: this refuses `/`, `..`,
/// NUL, control characters and whatever a percent-decoding turned into them.
pub fn is_plain_file_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || b"._+!-".contains(&byte))
}

/// Whether `value` is a sha256 as 64 hex digits (either case).
pub fn is_sha256_hex(value: &str) -> bool {
    value.len() == 64 && value.bytes().all(|byte| byte.is_ascii_hexdigit())
}

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
    /// Parses a file name; `None` when it is not a well-formed wheel name (or not a
    /// [plain file name](is_plain_file_name)).
    pub fn parse(file_name: &str) -> Option<WheelFilename> {
        if !is_plain_file_name(file_name) {
            return None;
        }
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

    #[test]
    fn names_that_are_paths_are_not_file_names() {
        for name in [
            "/tmp/x/evil-1.0-py3-none-any.whl",
            "../../evil-1.0-py3-none-any.whl",
            "pkg-1.0-0/../../evil-py3-none-any.whl",
            ".hidden-1.0-py3-none-any.whl",
            "evil-1.0-py3-none-any.whl\0",
            "evil 1.0.tar.gz",
        ] {
            assert!(!is_plain_file_name(name), "{name}");
            assert!(WheelFilename::parse(name).is_none(), "{name}");
            assert!(parse_sdist_filename(name).is_none(), "{name}");
        }
        assert!(is_plain_file_name("pkg-1.0+local.2-py3-none-any.whl"));
        assert!(is_sha256_hex(&"aB".repeat(32)));
        assert!(!is_sha256_hex("../../x"));
    }
}

/// The name and version of an sdist file name: `NAME-VERSION.tar.gz` or `.zip` (the
/// source distribution format spec; older sdists may keep `-` in the name, so the version is
/// what follows the last `-`).
pub fn parse_sdist_filename(file_name: &str) -> Option<(PackageName, Version)> {
    if !is_plain_file_name(file_name) {
        return None;
    }
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
