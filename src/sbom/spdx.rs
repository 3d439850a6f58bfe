//! SPDX 2.3, JSON.

use pyship_plugin::Manifest;
use serde_json::{Value, json};

use super::{Component, Graph, Kind, components, content_uuid, timestamp};

/// The version of the SPDX license list [`KNOWN_LICENSES`] is from.
const LICENSE_LIST_VERSION: &str = "3.25";

/// License identifiers of the SPDX list that Python distributions declare; a declared
/// license made only of these (and `AND`, `OR`, `WITH`, parentheses) is written as the
/// expression it is, any other as `NOASSERTION` with the declared text as a comment, since
/// SPDX tools refuse identifiers they do not know.
const KNOWN_LICENSES: &[&str] = &[
    "0BSD",
    "AFL-2.1",
    "AGPL-3.0-only",
    "AGPL-3.0-or-later",
    "Apache-2.0",
    "Artistic-2.0",
    "BSD-1-Clause",
    "BSD-2-Clause",
    "BSD-3-Clause",
    "BSD-3-Clause-Clear",
    "BSL-1.0",
    "CC0-1.0",
    "CNRI-Python",
    "EPL-1.0",
    "EPL-2.0",
    "GPL-2.0-only",
    "GPL-2.0-or-later",
    "GPL-3.0-only",
    "GPL-3.0-or-later",
    "HPND",
    "ISC",
    "LGPL-2.1-only",
    "LGPL-2.1-or-later",
    "LGPL-3.0-only",
    "LGPL-3.0-or-later",
    "MIT",
    "MIT-0",
    "MPL-1.1",
    "MPL-2.0",
    "OpenSSL",
    "PSF-2.0",
    "Python-2.0",
    "Unicode-DFS-2016",
    "Unicode-3.0",
    "Unlicense",
    "WTFPL",
    "X11",
    "Zlib",
    "ZPL-2.1",
    "LLVM-exception",
    "Classpath-exception-2.0",
];

/// Whether `text` is shaped like an SPDX license expression: identifiers joined by `AND`,
/// `OR`, `WITH`, with parentheses.
fn is_expression(text: &str) -> bool {
    let spaced = text.replace('(', " ( ").replace(')', " ) ");
    let mut words = spaced.split_whitespace().peekable();
    words.peek().is_some()
        && text.len() <= 200
        && words.all(|word| {
            matches!(word, "AND" | "OR" | "WITH" | "(" | ")")
                || word
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || ".-+".contains(c))
        })
}

/// `text` as SPDX tools accept it: an expression of known identifiers, else none.
pub(crate) fn known_expression(text: &str) -> Option<&str> {
    let spaced = text.replace(['(', ')'], " ");
    let known = is_expression(text)
        && spaced.split_whitespace().all(|word| {
            matches!(word, "AND" | "OR" | "WITH")
                || KNOWN_LICENSES.contains(&word.trim_end_matches('+'))
        });
    known.then_some(text)
}

/// The SPDX document of `manifest`, pretty-printed with a final newline.
pub(crate) fn spdx(manifest: &Manifest, graph: &Graph) -> String {
    let components = components(manifest, graph);
    let app = &components[0];
    let id = |component: &Component| spdx_id(&component.purl);
    let mut relationships = vec![json!({
        "spdxElementId": "SPDXRef-DOCUMENT",
        "relationshipType": "DESCRIBES",
        "relatedSpdxElement": id(app),
    })];
    for component in &components {
        for dependency in &component.depends_on {
            relationships.push(json!({
                "spdxElementId": id(component),
                "relationshipType": "DEPENDS_ON",
                "relatedSpdxElement": spdx_id(dependency),
            }));
        }
    }
    let name = format!("{}-{}", app.name, app.version);
    let mut document = json!({
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": name,
        "creationInfo": {
            "created": timestamp(manifest),
            "creators": [format!("Tool: pyship-{}", manifest.pyship_version)],
            "licenseListVersion": LICENSE_LIST_VERSION,
        },
        "packages": components.iter().map(package).collect::<Vec<_>>(),
        "relationships": relationships,
    });
    let unique = content_uuid(document.to_string().as_bytes());
    document["documentNamespace"] = Value::String(format!(
        "https://spdx.org/spdxdocs/pyship/{}/{unique}",
        super::purl_encode(&name)
    ));
    let mut text = serde_json::to_string_pretty(&document).expect("JSON values serialize");
    text.push('\n');
    text
}

fn package(component: &Component) -> Value {
    let purpose = match component.kind {
        Kind::Application => "APPLICATION",
        Kind::Library => "LIBRARY",
        Kind::Interpreter => "APPLICATION",
        Kind::SystemPackage => "OPERATING-SYSTEM",
    };
    let declared = component.license.as_deref().and_then(known_expression);
    let mut value = json!({
        "SPDXID": spdx_id(&component.purl),
        "name": component.name,
        "downloadLocation": "NOASSERTION",
        "filesAnalyzed": false,
        "licenseConcluded": "NOASSERTION",
        "licenseDeclared": declared.unwrap_or("NOASSERTION"),
        "copyrightText": "NOASSERTION",
        "primaryPackagePurpose": purpose,
        "externalRefs": [{
            "referenceCategory": "PACKAGE-MANAGER",
            "referenceType": "purl",
            "referenceLocator": component.purl,
        }],
    });
    if !component.version.is_empty() {
        value["versionInfo"] = json!(component.version);
    }
    if let (Some(license), None) = (&component.license, declared) {
        value["licenseComments"] = json!(format!("Declared in its metadata: {license}"));
    }
    if let Some(sha256) = &component.sha256 {
        value["checksums"] = json!([{ "algorithm": "SHA256", "checksumValue": sha256 }]);
    }
    if !component.properties.is_empty() {
        let notes: Vec<String> = component
            .properties
            .iter()
            .map(|(name, value)| format!("{name}: {value}"))
            .collect();
        value["comment"] = json!(notes.join("; "));
    }
    value
}

/// An SPDX element id for a purl: `SPDXRef-` and the purl's letters, digits, `.` and `-`.
fn spdx_id(purl: &str) -> String {
    let tail: String = purl
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("SPDXRef-{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_known_identifiers_make_a_declared_license() {
        assert_eq!(known_expression("MIT"), Some("MIT"));
        assert_eq!(
            known_expression("Apache-2.0 OR BSD-3-Clause"),
            Some("Apache-2.0 OR BSD-3-Clause")
        );
        assert_eq!(known_expression("BSD License"), None);
        assert_eq!(known_expression("Apache Software License"), None);
        assert!(is_expression("(MIT OR Apache-2.0)"));
        assert!(!is_expression("MIT License, see LICENSE.txt"));
        assert_eq!(
            spdx_id("pkg:pypi/flask@3.1.0"),
            "SPDXRef-pkg-pypi-flask-3.1.0"
        );
    }
}
