//! "Did you mean": the project names an index knows, and the one closest to a misspelling.
//!
//! Only asked on the error path, when a requirement names a project no source has. The
//! names come from the index's root page (PEP 503 HTML anchors or the PEP 691 JSON
//! `projects` list; PyPI's is tens of megabytes, so it goes through the page cache) and from
//! the find-links directories.

use std::str::FromStr;

use pep508_rs::PackageName;
use serde::Deserialize;

use super::http::Page;

#[derive(Deserialize)]
struct JsonRoot {
    #[serde(default)]
    projects: Vec<JsonProject>,
}

#[derive(Deserialize)]
struct JsonProject {
    name: String,
}

/// The project names on an index's root page; `Err` when the page is not one.
pub fn parse_root_page(page: &Page) -> Result<Vec<String>, ()> {
    if page.content_type.contains("json") {
        let root: JsonRoot = serde_json::from_slice(&page.body).map_err(|_| ())?;
        return Ok(root.projects.into_iter().map(|p| p.name).collect());
    }
    let text = String::from_utf8_lossy(&page.body);
    Ok(super::html::parse_anchors(&text)
        .into_iter()
        .map(|anchor| anchor.text)
        .collect())
}

/// The name in `known` closest to `wanted`, if one is close enough to be a likely typo:
/// at most one edit for short names, two for longer ones (adjacent swaps count as one).
/// Ties go to the name of the same length, then to the first in sorted order.
pub fn closest<'k>(
    wanted: &PackageName,
    known: impl IntoIterator<Item = &'k str>,
) -> Option<PackageName> {
    let wanted = wanted.as_ref();
    let limit = if wanted.len() <= 4 { 1 } else { 2 };
    let mut best: Option<(usize, bool, PackageName)> = None;
    for name in known {
        // Cheap rejection first: PyPI lists hundreds of thousands of names.
        if name.len().abs_diff(wanted.len()) > limit {
            continue;
        }
        let Ok(name) = PackageName::from_str(name) else {
            continue;
        };
        if name.as_ref() == wanted {
            continue;
        }
        let distance = edit_distance(wanted.as_bytes(), name.as_ref().as_bytes());
        if distance > limit {
            continue;
        }
        let other_length = name.as_ref().len() != wanted.len();
        let candidate = (distance, other_length, name);
        if best.as_ref().is_none_or(|current| candidate < *current) {
            best = Some(candidate);
        }
    }
    best.map(|(_, _, name)| name)
}

/// Optimal string alignment distance: insertions, deletions, substitutions and swaps of two
/// adjacent characters each cost one.
fn edit_distance(a: &[u8], b: &[u8]) -> usize {
    let width = b.len() + 1;
    let mut rows = vec![0usize; (a.len() + 1) * width];
    let at = |i: usize, j: usize| i * width + j;
    for i in 0..=a.len() {
        rows[at(i, 0)] = i;
    }
    for j in 0..=b.len() {
        rows[at(0, j)] = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (rows[at(i - 1, j)] + 1)
                .min(rows[at(i, j - 1)] + 1)
                .min(rows[at(i - 1, j - 1)] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(rows[at(i - 2, j - 2)] + 1);
            }
            rows[at(i, j)] = best;
        }
    }
    rows[at(a.len(), b.len())]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(text: &str) -> PackageName {
        PackageName::from_str(text).unwrap()
    }

    #[test]
    fn swaps_drops_and_doubled_letters_are_typos() {
        let known = [
            "requests",
            "flask",
            "django",
            "numpy",
            "Pillow",
            "python-dateutil",
        ];
        let closest = |wanted| closest(&name(wanted), known).map(|n| n.to_string());
        assert_eq!(closest("reqeusts").as_deref(), Some("requests"));
        assert_eq!(closest("requets").as_deref(), Some("requests"));
        assert_eq!(closest("flaskk").as_deref(), Some("flask"));
        assert_eq!(closest("pilow").as_deref(), Some("pillow"));
        assert_eq!(
            closest("python_dateutils").as_deref(),
            Some("python-dateutil")
        );
        // Too far, or the same project under another spelling: no suggestion.
        assert_eq!(closest("completely-else"), None);
        assert_eq!(closest("nmp"), None);
        assert_eq!(closest("Requests"), None);
    }

    #[test]
    fn root_pages_in_either_form() {
        let html = Page {
            content_type: "text/html".into(),
            body: b"<html><body><a href=\"/simple/a/\">A</a><a href=\"b/\">b_c</a></body></html>"
                .to_vec(),
        };
        assert_eq!(parse_root_page(&html).unwrap(), ["A", "b_c"]);
        let json = Page {
            content_type: "application/vnd.pypi.simple.v1+json".into(),
            body: br#"{"meta":{"api-version":"1.0"},"projects":[{"name":"x"},{"name":"Y"}]}"#
                .to_vec(),
        };
        assert_eq!(parse_root_page(&json).unwrap(), ["x", "Y"]);
    }
}
