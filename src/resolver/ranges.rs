//! PEP 440 specifiers as PubGrub ranges, local versions included.
//!
//! `pep440_rs` turns `==1.2.3` into the single version `1.2.3`, which leaves out `1.2.3+foo`;
//! PEP 440 says a specifier without a local part matches every local version of its version
//! (`==`, `!=`, `<=`), and one with a local part matches exactly. Local versions sort right
//! after their public version and before its next post- or dev-release, so "1.2.3 and its
//! locals" is the range from `1.2.3` up to (not including) the next version that is not one of
//! them.

use pep508_rs::pep440_rs::{Operator, Version, VersionSpecifier, VersionSpecifiers};
use pubgrub::Ranges;

/// The first version after `version` and all its local versions.
pub(super) fn after_locals(version: &Version) -> Version {
    if let Some(dev) = version.dev() {
        version.clone().with_dev(Some(dev + 1))
    } else if let Some(post) = version.post() {
        version.clone().with_post(Some(post + 1)).with_dev(Some(0))
    } else {
        version.clone().with_post(Some(0)).with_dev(Some(0))
    }
}

/// `version` and its local versions.
fn with_locals(version: &Version) -> Ranges<Version> {
    Ranges::between(version.clone(), after_locals(version))
}

/// One specifier's range.
pub fn specifier_range(specifier: &VersionSpecifier) -> Ranges<Version> {
    let version = specifier.version();
    let public = version.local().is_empty();
    match specifier.operator() {
        Operator::Equal if public => with_locals(version),
        Operator::NotEqual if public => with_locals(version).complement(),
        Operator::LessThanEqual if public => Ranges::strictly_lower_than(after_locals(version)),
        _ => Ranges::from(specifier.clone()),
    }
}

/// The range of all `specifiers` together.
pub fn specifiers_range(specifiers: &VersionSpecifiers) -> Ranges<Version> {
    specifiers.iter().fold(Ranges::full(), |range, specifier| {
        range.intersection(&specifier_range(specifier))
    })
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    fn contains(specifiers: &str, version: &str) -> bool {
        specifiers_range(&VersionSpecifiers::from_str(specifiers).unwrap())
            .contains(&Version::from_str(version).unwrap())
    }

    #[test]
    fn local_versions_follow_pep_440_for_every_operator() {
        for (specifiers, version, expected) in [
            ("==1.2.3", "1.2.3+foo", true),
            ("==1.2.3", "1.2.3", true),
            ("==1.2.3", "1.2.3.post1", false),
            ("==1.2.3+foo", "1.2.3+foo", true),
            ("==1.2.3+foo", "1.2.3+bar", false),
            ("==1.2.3+foo", "1.2.3", false),
            ("!=1.2.3", "1.2.3+foo", false),
            ("!=1.2.3", "1.2.4", true),
            ("!=1.2.3+foo", "1.2.3+bar", true),
            ("<=1.2.3", "1.2.3+foo", true),
            ("<=1.2.3", "1.2.3.post1", false),
            (">=1.2.3", "1.2.3+foo", true),
            (">1.2.3", "1.2.3+foo", false),
            (">1.2.3", "1.2.4", true),
            ("<1.2.3", "1.2.3+foo", false),
            ("~=1.2", "1.9+foo", true),
            ("==1.2.*", "1.2.3+foo", true),
            ("==1.0.dev1", "1.0.dev1+x", true),
            ("==1.0.post1", "1.0.post1+x", true),
            ("==1.0.post1", "1.0.post2", false),
        ] {
            assert_eq!(
                contains(specifiers, version),
                expected,
                "{specifiers} contains {version}"
            );
        }
    }
}
