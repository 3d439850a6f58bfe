//! Software bills of materials of an artifact, in CycloneDX 1.6 and SPDX 2.3 JSON: what the
//! manifest says it holds (every distribution with its version, the sha256 of the wheel it
//! was installed from, its declared license; the interpreter and the system packages it
//! needs; the app's commit) and what the lock says requires what.
//!
//! Both documents are functions of their inputs: the serial number and namespace are derived
//! from the content, the time is `SOURCE_DATE_EPOCH`, so that two builds of the same inputs
//! give the same bytes.

mod cyclonedx;
mod provenance;
mod spdx;

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

use pyship_plugin::Manifest;
use sha2::{Digest, Sha256};

use crate::lockfile::Lock;

pub(crate) use cyclonedx::cyclonedx;
pub(crate) use provenance::statement as provenance;
pub(crate) use spdx::spdx;

/// What the lock says of the packages beyond their files: which the project requires
/// directly, which requires which, and the sdists wheels were built from.
#[derive(Debug, Clone, Default)]
pub(crate) struct Graph {
    /// Normalized names the project requires.
    pub direct: BTreeSet<String>,
    /// Each package's dependencies, by normalized name.
    pub edges: BTreeMap<String, Vec<String>>,
    /// The sha256 of the sdist a package is locked with, where it has one.
    pub sdists: BTreeMap<String, String>,
    /// What each package built here (the app, an sdist, a source tree) was built with: the
    /// locked build environment's wheels, as `name==version sha256:HASH`.
    pub built_with: BTreeMap<String, Vec<String>>,
}

impl Graph {
    pub fn of(lock: &Lock) -> Graph {
        let direct = lock
            .inputs
            .requirements
            .iter()
            .filter_map(|requirement| {
                pep508_rs::Requirement::<pep508_rs::VerbatimUrl>::from_str(requirement).ok()
            })
            .map(|requirement| requirement.name.to_string())
            .collect();
        let edges = lock
            .packages
            .iter()
            .map(|package| (package.name.clone(), package.dependencies.clone()))
            .collect();
        let sdists = lock
            .packages
            .iter()
            .filter_map(|package| {
                let sdist = package.sdist.as_ref()?;
                Some((package.name.clone(), sdist.sha256.clone()))
            })
            .collect();
        let mut built_with: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for environment in &lock.build_environments {
            let wheels: Vec<String> = environment
                .packages
                .iter()
                .map(|package| {
                    let sha256 = package
                        .wheels
                        .first()
                        .map_or(String::new(), |wheel| format!(" sha256:{}", wheel.sha256));
                    format!("{}=={}{sha256}", package.name, package.version)
                })
                .collect();
            for user in &environment.used_by {
                built_with
                    .entry(normalize(user))
                    .or_default()
                    .extend(wheels.iter().cloned());
            }
        }
        Graph {
            direct,
            edges,
            sdists,
            built_with,
        }
    }
}

/// One thing the artifact holds or needs, in the terms both formats share.
#[derive(Debug, Clone)]
pub(crate) struct Component {
    /// The reference other entries use: its purl.
    pub purl: String,
    pub name: String,
    pub version: String,
    pub kind: Kind,
    /// The sha256 of the file it was installed from.
    pub sha256: Option<String>,
    /// The license as its metadata declares it.
    pub license: Option<String>,
    /// What it requires, by purl.
    pub depends_on: Vec<String>,
    /// Facts without a field of their own: (name, value).
    pub properties: Vec<(String, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Application,
    Library,
    Interpreter,
    SystemPackage,
}

/// The inventory of `manifest`: the application first, then the distributions in the venv,
/// the interpreter and the system packages.
pub(crate) fn components(manifest: &Manifest, graph: &Graph) -> Vec<Component> {
    let app_name = normalize(&manifest.project.name);
    let installed: BTreeMap<String, &pyship_plugin::Package> = manifest
        .packages
        .iter()
        .map(|package| (normalize(&package.name), package))
        .collect();
    let reference = |name: &str| {
        installed
            .get(&normalize(name))
            .map(|package| pypi_purl(&package.name, &package.version))
    };
    let interpreter = interpreter(manifest);
    let system = system_packages(manifest);

    let mut app_depends: Vec<String> = graph
        .direct
        .iter()
        .filter(|name| **name != app_name)
        .filter_map(|name| reference(name))
        .collect();
    app_depends.extend(interpreter.iter().map(|component| component.purl.clone()));
    app_depends.extend(system.iter().map(|component| component.purl.clone()));
    let mut properties = Vec::new();
    if let Some(commit) = &manifest.source.git_commit {
        properties.push(("pyship:git-commit".to_string(), commit.clone()));
    }
    if let Some(dirty) = manifest.source.dirty {
        properties.push(("pyship:git-dirty".to_string(), dirty.to_string()));
    }
    if let Some(target) = &manifest.target.name {
        properties.push(("pyship:target".to_string(), target.clone()));
    }
    if let Some(built_with) = graph.built_with.get(&app_name) {
        properties.push(("pyship:built-with".to_string(), built_with.join(", ")));
    }
    let app_package = installed.get(&app_name);
    let mut out = vec![Component {
        purl: pypi_purl(&manifest.project.name, &manifest.project.version),
        name: manifest.project.name.clone(),
        version: manifest.project.version.clone(),
        kind: Kind::Application,
        sha256: app_package.map(|package| package.sha256.clone()),
        license: manifest.project.license.clone(),
        depends_on: app_depends,
        properties,
    }];
    for package in &manifest.packages {
        let name = normalize(&package.name);
        if name == app_name {
            continue;
        }
        let mut properties = Vec::new();
        if let Some(sdist) = graph.sdists.get(&name) {
            properties.push(("pyship:sdist-sha256".to_string(), sdist.clone()));
        }
        if let Some(built_with) = graph.built_with.get(&name) {
            properties.push(("pyship:built-with".to_string(), built_with.join(", ")));
        }
        if let Some(wheel) = package.wheel.file_name() {
            properties.push((
                "pyship:wheel".to_string(),
                wheel.to_string_lossy().into_owned(),
            ));
        }
        out.push(Component {
            purl: pypi_purl(&package.name, &package.version),
            name: package.name.clone(),
            version: package.version.clone(),
            kind: Kind::Library,
            sha256: Some(package.sha256.clone()),
            license: package.license.clone(),
            depends_on: graph
                .edges
                .get(&name)
                .into_iter()
                .flatten()
                .filter_map(|dependency| reference(dependency))
                .collect(),
            properties,
        });
    }
    out.extend(interpreter);
    out.extend(system);
    out
}

/// The system package of the interpreter the venv runs on (`python3.11` of Debian 12).
fn interpreter(manifest: &Manifest) -> Option<Component> {
    let name = manifest.target.distro_package.clone()?;
    Some(Component {
        purl: distro_purl(manifest, &name, Some(&manifest.target.python_full_version)),
        name,
        version: manifest.target.python_full_version.clone(),
        kind: Kind::Interpreter,
        sha256: None,
        license: None,
        depends_on: Vec::new(),
        properties: vec![(
            "pyship:path".to_string(),
            manifest.target.interpreter.display().to_string(),
        )],
    })
}

/// The system packages the deployment declares it needs (`run-depends`).
fn system_packages(manifest: &Manifest) -> Vec<Component> {
    // The packaging family is the purl type of the target's distribution.
    let family = purl_type(manifest);
    let mut seen = BTreeSet::new();
    manifest
        .deployment
        .iter()
        .flat_map(|deployment| &deployment.run_depends)
        .filter_map(|package| package.name_for(family, |name| name.to_string()))
        .filter_map(|entry| {
            let name = entry.split_whitespace().next()?.to_string();
            seen.insert(name.clone()).then_some(name)
        })
        .map(|name| Component {
            purl: distro_purl(manifest, &name, None),
            name,
            version: String::new(),
            kind: Kind::SystemPackage,
            sha256: None,
            license: None,
            depends_on: Vec::new(),
            properties: Vec::new(),
        })
        .collect()
}

/// `pkg:deb/debian/NAME@VERSION?arch=amd64&distro=debian-12`, or `pkg:rpm/rhel/…` for RHEL;
/// `pkg:generic/NAME` when the target names no distribution.
fn distro_purl(manifest: &Manifest, name: &str, version: Option<&str>) -> String {
    let version = version.map_or(String::new(), |version| {
        format!("@{}", purl_encode(version))
    });
    let Some(distro) = &manifest.target.distro else {
        return format!("pkg:generic/{}{version}", purl_encode(name));
    };
    let kind = purl_type(manifest);
    format!(
        "pkg:{kind}/{}/{}{version}?arch={}&distro={}-{}",
        purl_encode(&distro.id),
        purl_encode(name),
        purl_encode(&manifest.target.arch),
        purl_encode(&distro.id),
        purl_encode(&distro.version_id)
    )
}

/// package-url's type of the target distribution's packages: `rpm` for RHEL, else `deb`.
fn purl_type(manifest: &Manifest) -> &'static str {
    match manifest
        .target
        .distro
        .as_ref()
        .map(|distro| distro.id.as_str())
    {
        Some("rhel") => "rpm",
        _ => "deb",
    }
}

/// PEP 503's normalized name, as purls of PyPI write it.
fn normalize(name: &str) -> String {
    pep508_rs::PackageName::from_str(name)
        .map(|name| name.to_string())
        .unwrap_or_else(|_| name.to_ascii_lowercase())
}

/// `pkg:pypi/NAME@VERSION`, the name normalized and the version encoded.
pub(crate) fn pypi_purl(name: &str, version: &str) -> String {
    format!("pkg:pypi/{}@{}", normalize(name), purl_encode(version))
}

/// A purl segment: everything but letters, digits and `.-_~` percent-encoded (a local
/// version's `+` is `%2B`).
fn purl_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b".-_~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// A version 5-shaped UUID made of `seed`'s sha256: the same content, the same id.
pub(crate) fn content_uuid(seed: &[u8]) -> String {
    let digest = Sha256::digest(seed);
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    bytes[6] = (bytes[6] & 0x0f) | 0x50;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex = pyship_plugin::hex(&bytes);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// The time both documents carry: `SOURCE_DATE_EPOCH`.
pub(crate) fn timestamp(manifest: &Manifest) -> String {
    pyship_plugin::time::Civil::of(manifest.source.source_date_epoch.unwrap_or(0)).rfc3339()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purls_follow_the_spec() {
        assert_eq!(normalize("Flask_SQLAlchemy"), "flask-sqlalchemy");
        assert_eq!(normalize("zope.interface"), "zope-interface");
        assert_eq!(purl_encode("1.0+local.1"), "1.0%2Blocal.1");
    }

    #[test]
    fn uuids_are_derived_and_well_formed() {
        let id = content_uuid(b"x");
        assert_eq!(id, content_uuid(b"x"));
        assert_ne!(id, content_uuid(b"y"));
        let parts: Vec<&str> = id.split('-').collect();
        assert_eq!(
            parts.iter().map(|part| part.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(parts[2].starts_with('5'));
        assert!("89ab".contains(&parts[3][..1]));
    }
}
