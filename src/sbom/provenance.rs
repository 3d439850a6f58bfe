//! Provenance: an in-toto statement (SLSA provenance v1 predicate) of how an artifact was
//! made: its sha256, the lock's sha256, the source commit, every wheel installed with its
//! sha256, the target and pyship's version. Unsigned: it is signed with the repository's
//! key when it is published (not yet).

use pyship_plugin::{Artifact, Manifest};
use serde_json::{Value, json};

/// The statement for `artifact`, made from `manifest`, pretty-printed with a final newline.
pub(crate) fn statement(manifest: &Manifest, artifact: &Artifact, lock_sha256: &str) -> String {
    let name = artifact
        .path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut dependencies = vec![json!({
        "name": "pylock.toml",
        "digest": { "sha256": lock_sha256 },
    })];
    if let Some(commit) = &manifest.source.git_commit {
        dependencies.insert(
            0,
            json!({ "name": "source", "digest": { "gitCommit": commit } }),
        );
    }
    dependencies.extend(manifest.packages.iter().map(|package| {
        json!({
            "uri": super::pypi_purl(&package.name, &package.version),
            "digest": { "sha256": package.sha256 },
        })
    }));
    let mut external = json!({
        "project": manifest.project.name,
        "version": manifest.project.version,
        "format": manifest.format,
    });
    if let Some(target) = &manifest.target.name {
        external["target"] = Value::String(target.clone());
    }
    if let Some(dirty) = manifest.source.dirty {
        external["dirty"] = Value::Bool(dirty);
    }
    let document = json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{ "name": name, "digest": { "sha256": artifact.sha256 } }],
        "predicateType": "https://slsa.dev/provenance/v1",
        "predicate": {
            "buildDefinition": {
                "buildType": "urn:pyship:package:v1",
                "externalParameters": external,
                "internalParameters": {
                    "pyshipVersion": manifest.pyship_version,
                    "sourceDateEpoch": manifest.source.source_date_epoch.unwrap_or(0),
                },
                "resolvedDependencies": dependencies,
            },
            "runDetails": {
                "builder": { "id": format!("urn:pyship:{}", manifest.pyship_version) },
            },
        },
    });
    let mut text = serde_json::to_string_pretty(&document).expect("JSON values serialize");
    text.push('\n');
    text
}
