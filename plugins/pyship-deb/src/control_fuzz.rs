//! Property: every value that reaches the control file (the project's maintainer, homepage
//! and summary, `[tool.pyship.deb]` fields and relations), arbitrary, is either refused or
//! the control file reads back (by deb822's rules: `Field: value` lines, continuation lines
//! starting with a space) to exactly the declared fields and nothing else: no added field,
//! no field split or merged.

use proptest::prelude::*;
use pyship_plugin::Manifest;
use pyship_plugin::serde_json::{Value, json};

use crate::control::Control;

const FRAGMENTS: &[&str] = &[
    "libpq5",
    "python3",
    "a",
    " ",
    "(>= 1.0)",
    "|",
    ",",
    ":",
    "\n",
    "\r",
    "\n ",
    "\n.",
    "\t",
    "\0",
    "Essential: yes",
    "Protected: yes",
    "optional",
    "python",
    "contrib/net",
    "..",
    "/",
    "1",
    "~",
    "+",
    "-",
    "Ops <ops@example.com>",
    "https://example.com",
    "é",
    "#",
];

fn value() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        6 => proptest::sample::select(FRAGMENTS).prop_map(str::to_string),
        1 => any::<String>(),
    ];
    proptest::collection::vec(piece, 0..5).prop_map(|pieces| pieces.concat())
}

/// The fields of a control file, in order; an error for a line that is neither a field nor a
/// continuation.
fn fields(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut fields: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if line.starts_with([' ', '\t']) {
            let last = fields.last_mut().ok_or("a continuation before any field")?;
            last.1.push('\n');
            last.1.push_str(line);
        } else {
            let (name, value) = line
                .split_once(':')
                .ok_or_else(|| format!("not a field: {line:?}"))?;
            if name.is_empty() || name.contains(|c: char| c.is_whitespace() || c.is_control()) {
                return Err(format!("not a field name: {name:?}"));
            }
            fields.push((name.to_string(), value.trim().to_string()));
        }
    }
    Ok(fields)
}

proptest! {
    #[test]
    fn control_files_are_refused_or_read_back_as_declared(
        field in 0usize..9,
        text in value(),
        entries in proptest::collection::vec(value(), 1..3),
    ) {
        let mut manifest: Manifest = pyship_plugin::serde_json::from_str(include_str!(
            "../../../testdata/protocol/v2/manifest.json"
        ))
        .expect("the example manifest parses");
        manifest.target.needed_libraries = None;
        let mut options = pyship_plugin::serde_json::Map::new();
        let strings = |items: &[String]| Value::Array(items.iter().map(|s| json!(s)).collect());
        match field {
            0 => manifest.project.maintainer = Some(text.clone()),
            1 => manifest.project.homepage = Some(text.clone()),
            2 => manifest.project.summary = Some(text.clone()),
            3 => { options.insert("section".into(), json!(text)); }
            4 => { options.insert("priority".into(), json!(text)); }
            5 => { options.insert("revision".into(), json!(text)); }
            6 => { options.insert("maintainer".into(), json!(text)); }
            7 => { options.insert("depends".into(), strings(&entries)); }
            _ => { options.insert("conflicts".into(), strings(&entries)); }
        }
        manifest.format_options = options;
        let Ok(control) = Control::from_manifest(&manifest) else {
            return Ok(());
        };
        let rendered = control.render();
        let fields = fields(&rendered).map_err(TestCaseError::fail)?;
        let names: Vec<&str> = fields.iter().map(|(name, _)| name.as_str()).collect();
        let mut expected = vec![
            "Package", "Version", "Architecture", "Maintainer", "Installed-Size", "Depends",
        ];
        if field == 8 {
            expected.push("Conflicts");
        }
        expected.extend(["Section", "Priority", "Homepage", "Description"]);
        prop_assert_eq!(&names, &expected, "{}", rendered);
        let get = |name: &str| {
            fields.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone()).unwrap_or_default()
        };
        prop_assert_eq!(get("Maintainer"), control.maintainer.clone());
        prop_assert_eq!(get("Section"), control.section.clone());
        prop_assert_eq!(get("Priority"), control.priority.clone());
        prop_assert_eq!(get("Depends"), control.depends.join(", "));
        match field {
            0 | 6 => prop_assert_eq!(get("Maintainer"), text.trim()),
            1 => prop_assert_eq!(get("Homepage"), text.trim()),
            3 => prop_assert_eq!(get("Section"), text.trim()),
            4 => prop_assert_eq!(get("Priority"), text.trim()),
            5 => {
                let suffix = format!("-{}~deb12", text);
                prop_assert!(get("Version").ends_with(&suffix));
            }
            // Entries are written without the blanks around them.
            7 => for entry in &entries {
                prop_assert!(get("Depends").split(", ").any(|d| d == entry.trim()));
            },
            8 => prop_assert_eq!(
                get("Conflicts"),
                entries.iter().map(|entry| entry.trim()).collect::<Vec<_>>().join(", ")
            ),
            _ => {}
        }
        // Each relation field's entries are the declared ones: no comma inside an entry.
        prop_assert_eq!(get("Depends").split(", ").count(), control.depends.len());
    }
}
