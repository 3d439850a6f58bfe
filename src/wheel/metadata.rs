//! Core metadata (`METADATA` / `PKG-INFO`): the fields the resolver needs.
//!
//! The format is email-header style (core metadata spec): `Key: value` lines, continuation
//! lines starting with whitespace, and the body after the first blank line.

use std::str::FromStr;

use pep508_rs::pep440_rs::{Version, VersionSpecifiers};
use pep508_rs::{PackageName, Requirement};

/// What the resolver reads from a distribution's metadata.
#[derive(Debug, Clone)]
pub struct Metadata {
    pub name: PackageName,
    pub version: Version,
    pub requires_python: Option<VersionSpecifiers>,
    pub requires_dist: Vec<Requirement>,
    /// `Requires-Dist` lines of an extra that do not parse: harmless unless that extra is
    /// asked for (then the resolver refuses the version).
    pub broken_extra_requirements: Vec<String>,
}

impl Metadata {
    /// Parses METADATA text; the error says which field is wrong.
    pub fn parse(text: &str) -> Result<Metadata, String> {
        let mut name = None;
        let mut version = None;
        let mut requires_python = None;
        let mut requires_dist = Vec::new();
        let mut broken_extra_requirements = Vec::new();
        for (key, value) in headers(text) {
            match key.to_ascii_lowercase().as_str() {
                "name" => {
                    name = Some(
                        PackageName::from_str(&value)
                            .map_err(|error| format!("invalid `Name: {value}`: {error}"))?,
                    )
                }
                "version" => {
                    version = Some(
                        Version::from_str(&value)
                            .map_err(|error| format!("invalid `Version: {value}`: {error}"))?,
                    )
                }
                "requires-python" if !value.trim().is_empty() => {
                    requires_python =
                        Some(VersionSpecifiers::from_str(&value).map_err(|error| {
                            format!("invalid `Requires-Python: {value}`: {error}")
                        })?)
                }
                "requires-dist" => match crate::pep508::parse_requirement(&value) {
                    Ok(requirement) => requires_dist.push(requirement),
                    // A broken line of an optional extra cannot matter unless the extra is
                    // asked for; pip and uv go on without it.
                    Err(_) if is_extra_only(&value) => broken_extra_requirements.push(value),
                    Err(error) => {
                        return Err(format!("invalid `Requires-Dist: {value}`: {error}"));
                    }
                },
                _ => {}
            }
        }
        Ok(Metadata {
            name: name.ok_or("no `Name` field")?,
            version: version.ok_or("no `Version` field")?,
            requires_python,
            broken_extra_requirements,
            requires_dist,
        })
    }
}

impl Metadata {
    /// Whether an sdist's PKG-INFO can be trusted for dependencies without building: core
    /// metadata 2.2 or newer, with neither Requires-Dist nor Requires-Python marked `Dynamic`
    /// (PEP 643).
    pub fn is_static(text: &str) -> bool {
        let fields = headers(text);
        let version_ok = fields
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case("Metadata-Version"))
            .and_then(|(_, value)| {
                let (major, minor) = value.split_once('.')?;
                Some((major.parse::<u32>().ok()?, minor.parse::<u32>().ok()?))
            })
            .is_some_and(|version| version >= (2, 2));
        version_ok
            && !fields.iter().any(|(key, value)| {
                key.eq_ignore_ascii_case("Dynamic")
                    && (value.eq_ignore_ascii_case("Requires-Dist")
                        || value.eq_ignore_ascii_case("Requires-Python"))
            })
    }
}

/// The header fields, continuation lines joined.
/// Whether a `Requires-Dist` value's marker limits it to an extra (`… ; extra == "x"`).
fn is_extra_only(value: &str) -> bool {
    value.split_once(';').is_some_and(|(_, marker)| {
        let marker: String = marker.chars().filter(|c| !c.is_whitespace()).collect();
        marker.contains("extra==")
    })
}

/// The license a distribution declares, as one short line: `License-Expression` (PEP 639),
/// else a one-line `License`, else its `License ::` classifiers' names; `None` when it
/// declares none (or only `UNKNOWN`).
pub fn license_of(text: &str) -> Option<String> {
    let fields = headers(text);
    let field = |wanted: &str| {
        fields
            .iter()
            .filter(|(key, _)| key.eq_ignore_ascii_case(wanted))
            .map(|(_, value)| value.trim())
            .filter(|value| !value.is_empty() && !value.eq_ignore_ascii_case("unknown"))
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    if let Some(expression) = field("License-Expression").into_iter().next() {
        return Some(expression);
    }
    // A `License` field often holds the whole license text: only a short line names one.
    if let Some(license) = field("License")
        .into_iter()
        .find(|license| !license.contains('\n') && license.len() <= 80)
    {
        return Some(license);
    }
    let classified: Vec<String> = field("Classifier")
        .iter()
        .filter_map(|classifier| classifier.strip_prefix("License ::"))
        .filter_map(|rest| rest.rsplit("::").next())
        .map(|name| name.trim().to_string())
        .filter(|name| !name.is_empty() && name != "OSI Approved")
        .collect();
    (!classified.is_empty()).then(|| classified.join(" or "))
}

fn headers(text: &str) -> Vec<(String, String)> {
    let mut fields: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if line.is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = fields.last_mut() {
                value.push('\n');
                value.push_str(line.trim());
            }
        } else if let Some((key, value)) = line.split_once(':') {
            fields.push((key.trim().to_string(), value.trim().to_string()));
        }
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_requirements_and_stops_at_the_body() {
        let metadata = Metadata::parse(
            "Metadata-Version: 2.1\nName: Flask\nVersion: 3.0.3\nRequires-Python: >=3.8\n\
             Requires-Dist: Werkzeug>=3.0.0\nRequires-Dist: asgiref>=3.2 ; extra == \"async\"\n\n\
             Requires-Dist: not-a-header\n",
        )
        .unwrap();
        assert_eq!(metadata.name.as_ref(), "flask");
        assert_eq!(metadata.requires_dist.len(), 2);
        assert!(metadata.requires_python.is_some());
    }

    #[test]
    fn pkg_info_is_static_from_2_2_unless_marked_dynamic() {
        assert!(Metadata::is_static(
            "Metadata-Version: 2.2\nName: a\nVersion: 1\n"
        ));
        assert!(!Metadata::is_static(
            "Metadata-Version: 2.1\nName: a\nVersion: 1\n"
        ));
        assert!(!Metadata::is_static(
            "Metadata-Version: 2.4\nName: a\nVersion: 1\nDynamic: Requires-Dist\n"
        ));
        assert!(Metadata::is_static(
            "Metadata-Version: 2.3\nName: a\nVersion: 1\nDynamic: License\n"
        ));
    }

    #[test]
    fn a_broken_line_of_an_extra_is_set_aside_any_other_is_an_error() {
        let metadata = Metadata::parse(
            "Name: a\nVersion: 1\nRequires-Dist: b (>=1.0.*) ; extra == 'docs'\nRequires-Dist: c\n",
        )
        .unwrap();
        assert_eq!(metadata.requires_dist.len(), 1);
        assert_eq!(
            metadata.broken_extra_requirements,
            ["b (>=1.0.*) ; extra == 'docs'"]
        );
        assert!(Metadata::parse("Name: a\nVersion: 1\nRequires-Dist: b (>=1.0.*)\n").is_err());
    }

    #[test]
    fn missing_version_is_an_error() {
        assert!(
            Metadata::parse("Name: a\n")
                .unwrap_err()
                .contains("Version")
        );
    }
}

#[cfg(test)]
mod license_tests {
    use super::license_of;

    #[test]
    fn the_license_is_the_expression_then_a_short_license_then_the_classifiers() {
        assert_eq!(
            license_of("Name: a\nLicense-Expression: MIT OR Apache-2.0\nLicense: BSD\n").as_deref(),
            Some("MIT OR Apache-2.0")
        );
        assert_eq!(
            license_of("Name: a\nLicense: BSD-3-Clause\n").as_deref(),
            Some("BSD-3-Clause")
        );
        assert_eq!(
            license_of("Name: a\nLicense: UNKNOWN\nClassifier: License :: OSI Approved :: BSD License\nClassifier: Framework :: Flask\n").as_deref(),
            Some("BSD License")
        );
        assert_eq!(
            license_of("Name: a\n\nLicense: MIT\n"),
            None,
            "the body is not a header"
        );
    }
}
