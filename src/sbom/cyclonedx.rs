//! CycloneDX 1.6, JSON.

use pyship_plugin::Manifest;
use serde_json::{Value, json};

use super::{Component, Graph, Kind, components, content_uuid, timestamp};

/// The CycloneDX document of `manifest`, pretty-printed with a final newline.
pub(crate) fn cyclonedx(manifest: &Manifest, graph: &Graph) -> String {
    let components = components(manifest, graph);
    let (app, rest) = components
        .split_first()
        .expect("the application is always the first component");
    let mut document = json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "version": 1,
        "metadata": {
            "timestamp": timestamp(manifest),
            "tools": {
                "components": [{
                    "type": "application",
                    "name": "pyship",
                    "version": manifest.pyship_version,
                }]
            },
            "component": component(app),
        },
        "components": rest.iter().map(component).collect::<Vec<_>>(),
        "dependencies": components.iter().map(|component| json!({
            "ref": component.purl,
            "dependsOn": component.depends_on,
        })).collect::<Vec<_>>(),
    });
    let serial = content_uuid(document.to_string().as_bytes());
    document["serialNumber"] = Value::String(format!("urn:uuid:{serial}"));
    let mut text = serde_json::to_string_pretty(&document).expect("JSON values serialize");
    text.push('\n');
    text
}

fn component(component: &Component) -> Value {
    let kind = match component.kind {
        Kind::Application => "application",
        Kind::Library | Kind::SystemPackage => "library",
        // "A runtime environment which interprets or executes software."
        Kind::Interpreter => "platform",
    };
    let mut value = json!({
        "type": kind,
        "bom-ref": component.purl,
        "name": component.name,
        "purl": component.purl,
    });
    if !component.version.is_empty() {
        value["version"] = json!(component.version);
    }
    if let Some(sha256) = &component.sha256 {
        value["hashes"] = json!([{ "alg": "SHA-256", "content": sha256 }]);
    }
    if let Some(license) = &component.license {
        value["licenses"] = if super::spdx::known_expression(license).is_some() {
            json!([{ "expression": license }])
        } else {
            json!([{ "license": { "name": license } }])
        };
    }
    if !component.properties.is_empty() {
        value["properties"] = component
            .properties
            .iter()
            .map(|(name, value)| json!({ "name": name, "value": value }))
            .collect();
    }
    value
}
