//! A manifest as each protocol version writes it. pyship builds one manifest with every fact
//! of the newest version; [`Manifest::to_wire`] drops or reshapes what an older plugin would
//! not understand, so no protocol branch lives in pyship itself.

use serde_json::{Map, Value};

use crate::grammar;
use crate::{Manifest, SystemPackage};

/// Writes a default name (Debian's form) in a family's own form.
type FromDefault = fn(&str) -> String;

/// The families a version 2 plugin looks up by name; version 3 plugins translate the default
/// themselves, so this list is only for them.
const VERSION_2_FAMILIES: &[(&str, FromDefault)] = &[
    ("deb", |name| name.to_string()),
    ("rpm", grammar::rpm_form_of_deb_package),
];

/// The script moments' names in version 2.
const VERSION_2_SCRIPT_NAMES: &[(&str, &str)] = &[
    ("before-install", "preinst"),
    ("after-install", "postinst"),
    ("before-remove", "prerm"),
    ("after-remove", "postrm"),
];

impl Manifest {
    /// The manifest as protocol `self.protocol` writes it.
    pub fn to_wire(&self) -> Value {
        let mut manifest = self.clone();
        let protocol = manifest.protocol;
        if protocol >= 2 {
            // From 2 on, what a plugin needs of the raw table comes as facts.
            manifest.options.clear();
        } else {
            version_1(&mut manifest);
        }
        if protocol == 2 {
            if let Some(deployment) = &mut manifest.deployment {
                for package in deployment
                    .run_depends
                    .iter_mut()
                    .chain(&mut deployment.build_depends)
                {
                    *package = version_2_package(package);
                }
            }
        }
        let mut value = serde_json::to_value(&manifest).unwrap_or(Value::Null);
        if protocol == 2 {
            // Version 2 named the script moments as Debian does.
            if let Some(Value::Object(scripts)) = value.pointer_mut("/deployment/scripts") {
                for (neutral, debian) in VERSION_2_SCRIPT_NAMES {
                    if let Some(path) = scripts.remove(*neutral) {
                        scripts.insert(debian.to_string(), path);
                    }
                }
            }
            // Version 2 wrote a system package as a bare map of family to name.
            if let Some(deployment) = value.get_mut("deployment").and_then(Value::as_object_mut) {
                for key in ["run-depends", "build-depends"] {
                    if let Some(Value::Array(packages)) = deployment.get_mut(key) {
                        for package in packages {
                            let per_family = package
                                .get("per-family")
                                .cloned()
                                .unwrap_or(Value::Object(Map::new()));
                            *package = per_family;
                        }
                    }
                }
            }
        }
        value
    }
}

/// Version 1 knew none of the facts: they stay out of its manifests.
fn version_1(manifest: &mut Manifest) {
    manifest.project.version_parts = None;
    manifest.project.release = None;
    let target = &mut manifest.target;
    target.name = None;
    target.distro_package = None;
    target.min_glibc = None;
    target.arch_independent = None;
    target.needed_libraries = None;
    target.bytecode = None;
    target.distro = None;
    for package in &mut manifest.packages {
        package.license = None;
    }
    manifest.source.dirty = None;
    manifest.deployment = None;
}

/// A package with a name for each family version 2 plugins look up.
fn version_2_package(package: &SystemPackage) -> SystemPackage {
    let mut per_family = package.per_family.clone();
    for (family, from_default) in VERSION_2_FAMILIES {
        if let Some(name) = package.name_for(family, from_default) {
            per_family.insert(family.to_string(), name);
        }
    }
    SystemPackage {
        default: None,
        per_family,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Deployment;

    fn manifest(protocol: u32) -> Manifest {
        let text = std::fs::read_to_string(format!(
            "{}/../../testdata/protocol/v2/manifest.json",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        let mut manifest: Manifest = serde_json::from_str(&text).unwrap();
        manifest.protocol = protocol;
        manifest.options.insert("x".into(), Value::Bool(true));
        manifest.deployment = Some(Deployment {
            run_depends: vec![
                SystemPackage {
                    default: Some("libpq5 (>= 15)".into()),
                    per_family: Default::default(),
                },
                SystemPackage {
                    default: None,
                    per_family: [("apk".to_string(), "libpq".to_string())].into(),
                },
            ],
            scripts: crate::MaintainerScripts {
                after_install: Some("/p/deploy/scripts/postinst".into()),
                ..Default::default()
            },
            ..Deployment::default()
        });
        manifest
    }

    #[test]
    fn version_3_keeps_the_default_and_version_2_gets_names_per_family() {
        let v3 = manifest(3).to_wire();
        assert_eq!(
            v3["deployment"]["run-depends"][0],
            serde_json::json!({"default": "libpq5 (>= 15)"})
        );
        assert!(v3.get("options").is_none());
        assert_eq!(
            v3["deployment"]["scripts"],
            serde_json::json!({"after-install": "/p/deploy/scripts/postinst"})
        );
        let v2 = manifest(2).to_wire();
        assert_eq!(
            v2["deployment"]["scripts"],
            serde_json::json!({"postinst": "/p/deploy/scripts/postinst"})
        );
        assert_eq!(
            v2["deployment"]["run-depends"][0],
            serde_json::json!({"deb": "libpq5 (>= 15)", "rpm": "libpq5 >= 15"})
        );
        assert_eq!(
            v2["deployment"]["run-depends"][1],
            serde_json::json!({"apk": "libpq"})
        );
        // Each reads back as what it says.
        let read: Manifest = serde_json::from_value(v2).unwrap();
        let deployment = read.deployment.unwrap();
        assert!(deployment.scripts.after_install.is_some());
        let names = &deployment.run_depends[0];
        assert_eq!(
            names.name_for("rpm", |_| unreachable!()).as_deref(),
            Some("libpq5 >= 15")
        );
        let read: Manifest = serde_json::from_value(v3).unwrap();
        assert_eq!(
            read.deployment.unwrap().run_depends[0].default.as_deref(),
            Some("libpq5 (>= 15)")
        );
    }

    #[test]
    fn version_1_gets_the_raw_options_and_no_facts() {
        let v1 = manifest(1).to_wire();
        assert_eq!(v1["options"]["x"], Value::Bool(true));
        assert!(v1.get("deployment").is_none());
        assert!(v1["target"].get("min-glibc").is_none());
        assert!(v1["project"].get("version-parts").is_none());
    }
}
