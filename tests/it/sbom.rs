//! Bills of materials: CycloneDX 1.6 and SPDX 2.3 documents of every artifact, beside it and
//! inside it, checked by the formats' reference tools (cyclonedx-python-lib's schema
//! validator, spdx-tools) and against what `cyclonedx-py environment` finds in the installed
//! tree.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::support::debian_root::DebianRoot;
use crate::support::{TestContext, output_ok, repo_root, requires_tool};

/// The bin directory of the validators' virtualenv (`scripts/sbom-tools`), or `None`, said
/// loudly, when this machine cannot install them; CI fails instead.
fn sbom_tools() -> Option<PathBuf> {
    let made = Command::new(repo_root().join("scripts/sbom-tools"))
        .output()
        .expect("scripts/sbom-tools runs");
    if !made.status.success() {
        let why = String::from_utf8_lossy(&made.stderr);
        assert!(
            std::env::var("PYSHIP_TEST_REQUIRE_EXTERNAL_TOOLS").as_deref() != Ok("1"),
            "scripts/sbom-tools failed:\n{why}"
        );
        eprintln!("SKIPPING: the SBOM validators cannot be installed here:\n{why}");
        return None;
    }
    Some(PathBuf::from(
        String::from_utf8_lossy(&made.stdout).trim().to_string(),
    ))
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_os_string();
    name.push(suffix);
    PathBuf::from(name)
}

/// The purls of PyPI packages a CycloneDX document lists (its subject included).
fn pypi_purls(document: &Value) -> BTreeSet<String> {
    document["components"]
        .as_array()
        .unwrap()
        .iter()
        .chain(document["metadata"].get("component"))
        .filter_map(|component| component["purl"].as_str())
        .filter(|purl| purl.starts_with("pkg:pypi/"))
        .map(String::from)
        .collect()
}

#[test]
fn every_artifact_carries_its_bill_of_materials_as_the_reference_tools_read_it() {
    let context = TestContext::hello();
    let run = context
        .pyship(&["package", "deb", "--offline", "--message-format", "json"])
        .success();
    let result: Value = serde_json::from_str(run.stdout.trim()).unwrap();
    let deb = PathBuf::from(result["artifacts"][0]["path"].as_str().unwrap());
    let cdx_path = with_suffix(&deb, ".cdx.json");
    let spdx_path = with_suffix(&deb, ".spdx.json");
    let listed: Vec<(&str, &str)> = result["sboms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|sbom| {
            (
                sbom["kind"].as_str().unwrap(),
                sbom["path"].as_str().unwrap(),
            )
        })
        .collect();
    let provenance_path = with_suffix(&deb, ".intoto.json");
    assert_eq!(
        listed,
        [
            ("cyclonedx", cdx_path.to_str().unwrap()),
            ("spdx", spdx_path.to_str().unwrap()),
            ("provenance", provenance_path.to_str().unwrap())
        ]
    );
    // The provenance names the artifact and the lock by their sha256.
    let provenance: Value =
        serde_json::from_str(&std::fs::read_to_string(&provenance_path).unwrap()).unwrap();
    assert_eq!(provenance["_type"], "https://in-toto.io/Statement/v1");
    assert_eq!(
        provenance["predicateType"],
        "https://slsa.dev/provenance/v1"
    );
    assert_eq!(
        provenance["subject"][0]["digest"]["sha256"],
        result["artifacts"][0]["sha256"]
    );
    let lock_sha256 = crate::support::sha256_file(&context.root.join("pylock.toml"));
    assert!(
        provenance["predicate"]["buildDefinition"]["resolvedDependencies"]
            .as_array()
            .unwrap()
            .iter()
            .any(|dependency| dependency["name"] == "pylock.toml"
                && dependency["digest"]["sha256"] == lock_sha256.as_str()),
        "{provenance}"
    );
    let cdx_text = std::fs::read_to_string(&cdx_path).unwrap();
    let spdx_text = std::fs::read_to_string(&spdx_path).unwrap();
    let cdx: Value = serde_json::from_str(&cdx_text).unwrap();
    let spdx: Value = serde_json::from_str(&spdx_text).unwrap();

    // What the lock says is what the document says: every locked wheel, its version and hash.
    for package in context.locked_packages("pylock.toml") {
        let name = package["name"].as_str().unwrap();
        let version = package["version"].as_str().unwrap();
        let purl = format!("pkg:pypi/{name}@{version}");
        let sha256 = package["wheels"].as_array().unwrap()[0]["hashes"]["sha256"]
            .as_str()
            .unwrap();
        let component = cdx["components"]
            .as_array()
            .unwrap()
            .iter()
            .find(|component| component["purl"] == purl.as_str())
            .unwrap_or_else(|| panic!("{purl} is not in\n{cdx_text}"));
        assert_eq!(component["hashes"][0]["content"], sha256, "{purl}");
        let described = spdx["packages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|package| package["externalRefs"][0]["referenceLocator"] == purl.as_str())
            .unwrap_or_else(|| panic!("{purl} is not in\n{spdx_text}"));
        assert_eq!(described["checksums"][0]["checksumValue"], sha256);
    }
    assert_eq!(cdx["metadata"]["component"]["purl"], "pkg:pypi/hello@0.1.0");
    // The app was built here, with the locked build environment.
    let built_with = cdx["metadata"]["component"]["properties"]
        .as_array()
        .unwrap()
        .iter()
        .find(|property| property["name"] == "pyship:built-with")
        .unwrap_or_else(|| panic!("no build environment in\n{cdx_text}"));
    assert!(
        built_with["value"]
            .as_str()
            .unwrap()
            .starts_with("flit-core==3.9.0 sha256:7aada352"),
        "{built_with}"
    );
    let depends = |reference: &str| -> Vec<String> {
        cdx["dependencies"]
            .as_array()
            .unwrap()
            .iter()
            .find(|entry| entry["ref"] == reference)
            .unwrap_or_else(|| panic!("no dependencies of {reference}"))["dependsOn"]
            .as_array()
            .unwrap()
            .iter()
            .map(|purl| purl.as_str().unwrap().to_string())
            .collect()
    };
    let app = depends("pkg:pypi/hello@0.1.0");
    assert!(
        app.contains(&"pkg:pypi/flask@3.0.3".to_string())
            && app.iter().any(|purl| purl.contains("python3.11@3.11.2")),
        "{app:?}"
    );
    assert!(depends("pkg:pypi/jinja2@3.1.6").contains(&"pkg:pypi/markupsafe@3.0.4".to_string()));

    // The same bytes inside the package, where Debian keeps a package's documents.
    let tree = tempfile::tempdir().unwrap();
    output_ok(
        Command::new("dpkg-deb")
            .arg("-x")
            .arg(&deb)
            .arg(tree.path()),
    );
    let inside = tree.path().join("usr/share/doc/hello");
    assert_eq!(
        std::fs::read_to_string(inside.join("hello-0.1.0.cdx.json")).unwrap(),
        cdx_text
    );
    assert_eq!(
        std::fs::read_to_string(inside.join("hello-0.1.0.spdx.json")).unwrap(),
        spdx_text
    );

    // `pyship sbom` prints the documents packaging writes.
    let printed = context.pyship(&["sbom", "--offline"]).success();
    assert_eq!(printed.stdout, cdx_text);
    let printed = context
        .pyship(&["sbom", "--offline", "--format", "spdx"])
        .success();
    assert_eq!(printed.stdout, spdx_text);

    // Two builds of the same inputs: the same documents, byte for byte.
    let again = TestContext::hello();
    let run = again.pyship(&["package", "deb", "--offline"]).success();
    let other = PathBuf::from(run.stdout.trim());
    assert_eq!(
        std::fs::read_to_string(with_suffix(&other, ".cdx.json")).unwrap(),
        cdx_text
    );
    assert_eq!(
        std::fs::read_to_string(with_suffix(&other, ".spdx.json")).unwrap(),
        spdx_text
    );

    // The formats' reference tools accept them (and the version is the one declared: the
    // 1.6 validator also passes a document that says 1.5).
    let Some(tools) = sbom_tools() else {
        return;
    };
    assert_eq!(cdx["specVersion"], "1.6");
    let validated = output_ok(
        Command::new(tools.join("python"))
            .args([
                "-c",
                "import sys\n\
                 from cyclonedx.validation.json import JsonStrictValidator\n\
                 from cyclonedx.schema import SchemaVersion\n\
                 errors = JsonStrictValidator(SchemaVersion.V1_6).validate_str(open(sys.argv[1]).read())\n\
                 print(errors)\n\
                 sys.exit(errors is not None)",
            ])
            .arg(&cdx_path),
    );
    assert_eq!(String::from_utf8_lossy(&validated.stdout).trim(), "None");
    output_ok(
        Command::new(tools.join("pyspdxtools"))
            .arg("-i")
            .arg(&spdx_path),
    );

    // And `cyclonedx-py environment`, reading the tree the package installs, finds the
    // packages the document names, no more, no fewer.
    let Some(root) = DebianRoot::new("bookworm") else {
        return;
    };
    root.install(&deb);
    let found = output_ok(
        Command::new(tools.join("cyclonedx-py"))
            .args(["environment", "--of", "JSON", "--sv", "1.6"])
            .arg(root.join("/opt/venvs/hello/bin/python")),
    );
    let found: Value = serde_json::from_slice(&found.stdout).unwrap();
    assert_eq!(pypi_purls(&found), pypi_purls(&cdx));
}

/// rpm keeps them in `/usr/share/doc/NAME/`, a tarball in its release's `sbom/`.
#[test]
fn rpms_and_tarballs_carry_them_too() {
    let context = TestContext::hello();
    let run = context
        .pyship(&["package", "tarball", "--offline"])
        .success();
    let tarball = PathBuf::from(run.stdout.trim());
    assert!(with_suffix(&tarball, ".cdx.json").is_file());
    let listing = output_ok(Command::new("tar").args(["--zstd", "-tf"]).arg(&tarball));
    let listing = String::from_utf8_lossy(&listing.stdout);
    for name in ["hello-0.1.0.cdx.json", "hello-0.1.0.spdx.json"] {
        assert!(
            listing.contains(&format!("opt/venvs/hello/releases/0.1.0/sbom/{name}\n")),
            "{listing}"
        );
    }
    if !requires_tool("rpm") {
        return;
    }
    let run = context.pyship(&["package", "rpm", "--offline"]).success();
    let rpm = PathBuf::from(run.stdout.trim());
    assert!(with_suffix(&rpm, ".spdx.json").is_file());
    let files = output_ok(Command::new("rpm").arg("-qpl").arg(&rpm));
    let files = String::from_utf8_lossy(&files.stdout);
    for name in ["hello-0.1.0.cdx.json", "hello-0.1.0.spdx.json"] {
        assert!(
            files.contains(&format!("/usr/share/doc/hello/{name}\n")),
            "{files}"
        );
    }
}
