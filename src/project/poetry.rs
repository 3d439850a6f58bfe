//! A Poetry project's metadata (`[tool.poetry]`, Poetry before 2.0 and projects that never
//! moved to `[project]`), read as `[project]` would say it: name, version, description,
//! authors, scripts, and dependencies with Poetry's constraints (`^1.2`, `~1.2`, `1.2.*`,
//! `>=1,<2`, tables with `version`, `extras`, `markers`, `optional`) written as PEP 508.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{Person, ProjectTable};

#[derive(Deserialize)]
pub(super) struct PoetryTable {
    name: Option<String>,
    version: Option<String>,
    description: Option<String>,
    #[serde(default)]
    authors: Vec<String>,
    #[serde(default)]
    maintainers: Vec<String>,
    license: Option<String>,
    homepage: Option<String>,
    #[serde(default)]
    dependencies: BTreeMap<String, toml::Value>,
    #[serde(default)]
    extras: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    scripts: BTreeMap<String, toml::Value>,
}

impl PoetryTable {
    /// The table as `[project]`; an entry pyship cannot ship (a git or path dependency) is an
    /// error naming it.
    pub(super) fn into_project(self) -> Result<ProjectTable, String> {
        let mut dependencies = Vec::new();
        let mut optional: BTreeMap<String, String> = BTreeMap::new();
        let mut requires_python = None;
        for (name, value) in &self.dependencies {
            if name == "python" {
                requires_python = value.as_str().map(constraint_to_pep440).transpose()?;
                continue;
            }
            let (requirement, is_optional) = requirement(name, value)?;
            if is_optional {
                optional.insert(name.to_ascii_lowercase(), requirement);
            } else {
                dependencies.push(requirement);
            }
        }
        // An optional dependency is shipped through the extras that name it.
        let optional_dependencies = self
            .extras
            .iter()
            .map(|(extra, names)| {
                let requirements = names
                    .iter()
                    .filter_map(|name| optional.get(&name.to_ascii_lowercase()).cloned())
                    .collect();
                (extra.clone(), requirements)
            })
            .collect();
        let person = |text: &String| {
            // `Name <email>`.
            let (name, email) = match text.split_once('<') {
                Some((name, rest)) => (
                    Some(name.trim().to_string()).filter(|name| !name.is_empty()),
                    Some(rest.trim_end_matches('>').trim().to_string()),
                ),
                None => (Some(text.trim().to_string()), None),
            };
            Person { name, email }
        };
        let scripts = self
            .scripts
            .iter()
            .filter_map(|(name, value)| match value {
                toml::Value::String(target) => Some((name.clone(), target.clone())),
                toml::Value::Table(table) => table
                    .get("callable")
                    .and_then(toml::Value::as_str)
                    .map(|target| (name.clone(), target.to_string())),
                _ => None,
            })
            .collect();
        Ok(ProjectTable {
            name: self.name,
            version: self.version,
            description: self.description,
            requires_python,
            license: self.license.map(super::License::Expression),
            maintainers: self.maintainers.iter().map(person).collect(),
            authors: self.authors.iter().map(person).collect(),
            dependencies,
            optional_dependencies,
            scripts,
            urls: self
                .homepage
                .map(|url| [("Homepage".to_string(), url)].into())
                .unwrap_or_default(),
            dynamic: Vec::new(),
        })
    }
}

/// One dependency as PEP 508, and whether it is optional (shipped only through an extra).
fn requirement(name: &str, value: &toml::Value) -> Result<(String, bool), String> {
    match value {
        toml::Value::String(constraint) => Ok((
            format!("{name}{}", constraint_to_pep440(constraint)?),
            false,
        )),
        toml::Value::Table(table) => {
            for unshippable in ["git", "path", "url"] {
                if table.contains_key(unshippable) {
                    return Err(format!(
                        "the dependency `{name}` comes from a {unshippable}: list it in `[project] dependencies` as `{name} @ URL`, or build it into a wheel in `find-links`"
                    ));
                }
            }
            let version = table
                .get("version")
                .and_then(toml::Value::as_str)
                .unwrap_or("*");
            let extras = table
                .get("extras")
                .and_then(toml::Value::as_array)
                .map(|extras| {
                    let names: Vec<&str> = extras.iter().filter_map(toml::Value::as_str).collect();
                    format!("[{}]", names.join(","))
                })
                .unwrap_or_default();
            let mut markers: Vec<String> = Vec::new();
            if let Some(marker) = table.get("markers").and_then(toml::Value::as_str) {
                markers.push(format!("({marker})"));
            }
            if let Some(python) = table.get("python").and_then(toml::Value::as_str) {
                let specifier = constraint_to_pep440(python)?;
                for part in specifier.split(',').filter(|part| !part.is_empty()) {
                    let (operator, version) = split_operator(part);
                    markers.push(format!("python_version {operator} '{version}'"));
                }
            }
            let marker = if markers.is_empty() {
                String::new()
            } else {
                format!(" ; {}", markers.join(" and "))
            };
            let optional = table
                .get("optional")
                .and_then(toml::Value::as_bool)
                .unwrap_or(false);
            Ok((
                format!("{name}{extras}{}{marker}", constraint_to_pep440(version)?),
                optional,
            ))
        }
        toml::Value::Array(_) => Err(format!(
            "the dependency `{name}` has several constraints by environment: write them in `[project] dependencies` with markers"
        )),
        _ => Err(format!(
            "the dependency `{name}` is not a string or a table"
        )),
    }
}

fn split_operator(part: &str) -> (&str, &str) {
    let end = part
        .find(|c: char| c.is_ascii_digit())
        .unwrap_or(part.len());
    (part[..end].trim(), part[end..].trim())
}

/// A Poetry constraint (`^1.2.3`, `~1.2`, `1.2.*`, `>=1,<2`, `1.2.3`, `*`, `a || b` not
/// supported) as a PEP 440 specifier set (empty for any version).
pub(super) fn constraint_to_pep440(constraint: &str) -> Result<String, String> {
    let constraint = constraint.trim();
    if constraint.contains("||") {
        return Err(format!(
            "the constraint `{constraint}` (one of several ranges) has no PEP 440 form: use one range"
        ));
    }
    let mut parts = Vec::new();
    for part in constraint
        .split([',', ' '])
        .map(str::trim)
        .filter(|part| !part.is_empty())
    {
        if part == "*" {
            continue;
        }
        if let Some(version) = part.strip_prefix('^') {
            parts.push(format!(">={version}"));
            parts.push(format!("<{}", caret_upper(version)?));
        } else if let Some(version) = part.strip_prefix("~=") {
            parts.push(format!("~={version}"));
        } else if let Some(version) = part.strip_prefix('~') {
            parts.push(format!(">={version}"));
            parts.push(format!("<{}", tilde_upper(version)?));
        } else if part.starts_with(['<', '>', '=', '!']) {
            // Poetry writes `=1.2` for `==1.2`.
            let fixed = match part.strip_prefix('=') {
                Some(rest) if !rest.starts_with('=') => format!("=={rest}"),
                _ => part.to_string(),
            };
            parts.push(fixed);
        } else {
            parts.push(format!("=={part}"));
        }
    }
    Ok(parts.join(","))
}

fn numbers(version: &str) -> Result<Vec<u64>, String> {
    version
        .split('.')
        .take_while(|part| *part != "*")
        .map(|part| {
            part.parse::<u64>()
                .map_err(|_| format!("`{version}` is not a version Poetry's `^`/`~` takes"))
        })
        .collect()
}

/// `^1.2.3` → `2.0.0`, `^0.2.3` → `0.3.0`, `^0.0.3` → `0.0.4`: the left-most non-zero part.
fn caret_upper(version: &str) -> Result<String, String> {
    let parts = numbers(version)?;
    let index = parts
        .iter()
        .position(|part| *part != 0)
        .unwrap_or(parts.len().saturating_sub(1));
    Ok(bump(&parts, index))
}

/// `~1.2.3` → `1.3.0`, `~1.2` → `1.3`, `~1` → `2`.
fn tilde_upper(version: &str) -> Result<String, String> {
    let parts = numbers(version)?;
    let index = if parts.len() >= 2 { 1 } else { 0 };
    Ok(bump(&parts, index))
}

fn bump(parts: &[u64], index: usize) -> String {
    let mut upper: Vec<u64> = parts.iter().take(index + 1).copied().collect();
    if let Some(last) = upper.last_mut() {
        *last += 1;
    }
    while upper.len() < parts.len().max(2) {
        upper.push(0);
    }
    upper
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(".")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poetry_constraints_in_pep_440() {
        for (poetry, pep440) in [
            ("^1.2.3", ">=1.2.3,<2.0.0"),
            ("^0.2.3", ">=0.2.3,<0.3.0"),
            ("^0.0.3", ">=0.0.3,<0.0.4"),
            ("^3", ">=3,<4.0"),
            ("~1.2.3", ">=1.2.3,<1.3.0"),
            ("~1", ">=1,<2.0"),
            ("1.2.*", "==1.2.*"),
            (">=1,<2", ">=1,<2"),
            (">=1 <2", ">=1,<2"),
            ("=1.4", "==1.4"),
            ("2.0", "==2.0"),
            ("*", ""),
        ] {
            assert_eq!(constraint_to_pep440(poetry).unwrap(), pep440, "{poetry}");
        }
        assert!(constraint_to_pep440("^1 || ^2").is_err());
    }

    #[test]
    fn a_poetry_table_reads_as_project() {
        let table: PoetryTable = toml::from_str(
            r#"
name = "site"
version = "1.2.0"
authors = ["Ann <ann@example.com>"]
[dependencies]
python = "^3.11"
flask = "^3.0"
gunicorn = { version = ">=22", extras = ["gevent"], optional = true }
tomli = { version = "*", python = "<3.11" }
[extras]
server = ["gunicorn"]
[scripts]
site-serve = "site.app:main"
"#,
        )
        .unwrap();
        let project = table.into_project().unwrap();
        assert_eq!(project.requires_python.as_deref(), Some(">=3.11,<4.0"));
        assert!(
            project
                .dependencies
                .contains(&"flask>=3.0,<4.0".to_string())
        );
        assert!(
            project
                .dependencies
                .contains(&"tomli ; python_version < '3.11'".to_string()),
            "{:?}",
            project.dependencies
        );
        assert_eq!(
            project.optional_dependencies["server"],
            ["gunicorn[gevent]>=22"]
        );
        assert_eq!(project.scripts["site-serve"], "site.app:main");
        let git: PoetryTable =
            toml::from_str("name = \"x\"\n[dependencies]\nlib = { git = \"https://x/lib\" }\n")
                .unwrap();
        let Err(message) = git.into_project() else {
            panic!("a git dependency is refused");
        };
        assert!(message.contains("`lib` comes from a git"), "{message}");
    }
}
