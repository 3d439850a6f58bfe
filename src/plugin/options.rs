//! `[tool.pyship.FORMAT]` checked against the options the plugin declares in `describe`,
//! before anything is packaged: a misspelt key silently ignored is how deploys drift, so an
//! unknown key is an error with its line and the closest known name, and so is a value of the
//! wrong type.

use std::path::PathBuf;

use pyship_plugin::OptionDoc;

use crate::diagnostics::{Diagnostic, edit_distance};

/// Why a format's options were refused.
#[derive(Debug, thiserror::Error)]
pub enum OptionError {
    #[error("unknown key `{key}` in `[tool.pyship.{format}]` at `{}:{line}`", path.display())]
    Unknown {
        format: String,
        key: String,
        path: PathBuf,
        line: usize,
        known: Vec<String>,
    },
    #[error(
        "`{key}` in `[tool.pyship.{format}]` at `{}:{line}` must be {expected}, not {found}",
        path.display()
    )]
    WrongType {
        format: String,
        key: String,
        path: PathBuf,
        line: usize,
        expected: String,
        found: &'static str,
    },
}

impl Diagnostic for OptionError {
    fn hint(&self) -> Option<String> {
        match self {
            OptionError::Unknown {
                format, key, known, ..
            } => {
                let closest = known
                    .iter()
                    .min_by_key(|name| edit_distance(key, name))
                    .filter(|name| edit_distance(key, name) <= 3);
                Some(match closest {
                    Some(name) => format!("did you mean `{name}`?"),
                    None if known.is_empty() => {
                        format!("the `{format}` plugin takes no options")
                    }
                    None => format!(
                        "`{format}` options are: {}; `pyship help {format}` explains them",
                        known.join(", ")
                    ),
                })
            }
            OptionError::WrongType { format, .. } => {
                Some(format!("`pyship help {format}` lists each option's type"))
            }
        }
    }
}

/// Checks `table` against `declared`; `line_of` finds a key's line in `path`.
pub fn check_options(
    format: &str,
    table: &toml::Table,
    declared: &[OptionDoc],
    path: &std::path::Path,
    line_of: impl Fn(&str) -> usize,
) -> Result<(), OptionError> {
    for (key, value) in table {
        let Some(option) = declared.iter().find(|option| option.name == *key) else {
            return Err(OptionError::Unknown {
                format: format.to_string(),
                key: key.clone(),
                path: path.to_path_buf(),
                line: line_of(key),
                known: declared.iter().map(|option| option.name.clone()).collect(),
            });
        };
        if let Some(expected) = type_mismatch(&option.value_type, value) {
            return Err(OptionError::WrongType {
                format: format.to_string(),
                key: key.clone(),
                path: path.to_path_buf(),
                line: line_of(key),
                expected,
                found: type_name(value),
            });
        }
    }
    Ok(())
}

/// What `value` should have been, when it does not fit `declared` (`string`, `integer`,
/// `boolean`, `table`, `array<T>`). A type this pyship does not know accepts anything, so a
/// newer plugin's options still work.
fn type_mismatch(declared: &str, value: &toml::Value) -> Option<String> {
    let fits = |kind: &str, value: &toml::Value| match kind {
        "string" => Some(value.is_str()),
        "integer" => Some(value.is_integer()),
        "boolean" => Some(value.is_bool()),
        "table" => Some(value.is_table()),
        _ => None,
    };
    let article = |kind: &str| {
        if kind.starts_with(['a', 'e', 'i', 'o', 'u']) {
            format!("an {kind}")
        } else {
            format!("a {kind}")
        }
    };
    if let Some(item) = declared
        .strip_prefix("array<")
        .and_then(|rest| rest.strip_suffix('>'))
    {
        let fits_all = match value {
            toml::Value::Array(items) => items
                .iter()
                .all(|element| fits(item, element).unwrap_or(true)),
            _ => false,
        };
        return (!fits_all).then(|| format!("a list of {item}s"));
    }
    match fits(declared, value) {
        Some(false) => Some(article(declared)),
        _ => None,
    }
}

fn type_name(value: &toml::Value) -> &'static str {
    match value {
        toml::Value::String(_) => "a string",
        toml::Value::Integer(_) => "an integer",
        toml::Value::Float(_) => "a float",
        toml::Value::Boolean(_) => "a boolean",
        toml::Value::Datetime(_) => "a date",
        toml::Value::Array(_) => "a list",
        toml::Value::Table(_) => "a table",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn declared() -> Vec<OptionDoc> {
        ["revision:string", "depends:array<string>", "split:boolean"]
            .iter()
            .map(|spec| {
                let (name, kind) = spec.split_once(':').unwrap();
                OptionDoc {
                    name: name.into(),
                    value_type: kind.into(),
                    doc: String::new(),
                }
            })
            .collect()
    }

    fn check(text: &str) -> Result<(), OptionError> {
        let table: toml::Table = toml::from_str(text).unwrap();
        check_options("deb", &table, &declared(), std::path::Path::new("p"), |_| 7)
    }

    #[test]
    fn unknown_keys_suggest_the_closest_name() {
        let error = check("revison = \"2\"").unwrap_err();
        assert!(
            error.to_string().contains("unknown key `revison`"),
            "{error}"
        );
        assert!(error.to_string().contains("p:7"), "{error}");
        assert_eq!(error.hint().as_deref(), Some("did you mean `revision`?"));
    }

    #[test]
    fn wrong_types_are_named() {
        let error = check("revision = 2").unwrap_err().to_string();
        assert!(
            error.contains("must be a string, not an integer"),
            "{error}"
        );
        let error = check("depends = \"libpq5\"").unwrap_err().to_string();
        assert!(
            error.contains("must be a list of strings, not a string"),
            "{error}"
        );
        assert!(check("depends = [1]").is_err());
        assert!(check("revision = \"2\"\ndepends = [\"a\"]\nsplit = true").is_ok());
    }
}
