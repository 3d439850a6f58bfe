//! `[tool.pyship.FORMAT]` values read with the types the plugin declares in `describe`.
//!
//! pyship checks the table against those declarations before it runs the plugin (an unknown
//! key or a wrong type stops it with the file and line); reading here is typed again so that
//! a plugin run by hand on an edited manifest fails the same way instead of guessing.

use pyship_plugin::Manifest;

use crate::compress::Compression;
use pyship_plugin::serde_json::Value;

/// The format's options of one manifest.
pub struct FormatOptions<'m> {
    manifest: &'m Manifest,
}

impl<'m> FormatOptions<'m> {
    /// The options of `manifest`.
    pub fn new(manifest: &'m Manifest) -> FormatOptions<'m> {
        FormatOptions { manifest }
    }

    fn wrong_type(&self, key: &str, expected: &str, value: &Value) -> String {
        let found = match value {
            Value::Null => "nothing",
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::Array(_) => "an array",
            Value::Object(_) => "a table",
        };
        format!(
            "`tool.pyship.{}.{key}` must be {expected}, not {found}",
            self.manifest.format
        )
    }

    /// A string, if set.
    pub fn string(&self, key: &str) -> Result<Option<&'m str>, String> {
        match self.manifest.format_options.get(key) {
            None => Ok(None),
            Some(Value::String(text)) => Ok(Some(text)),
            Some(other) => Err(self.wrong_type(key, "a string", other)),
        }
    }

    /// A list of strings (empty when unset).
    pub fn strings(&self, key: &str) -> Result<Vec<String>, String> {
        match self.manifest.format_options.get(key) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| match item {
                    Value::String(text) => Ok(text.clone()),
                    other => Err(self.wrong_type(key, "a list of strings", other)),
                })
                .collect(),
            Some(other) => Err(self.wrong_type(key, "a list of strings", other)),
        }
    }

    /// A boolean, if set.
    pub fn boolean(&self, key: &str) -> Result<Option<bool>, String> {
        match self.manifest.format_options.get(key) {
            None => Ok(None),
            Some(Value::Bool(flag)) => Ok(Some(*flag)),
            Some(other) => Err(self.wrong_type(key, "a boolean", other)),
        }
    }

    /// A non-negative integer, if set.
    pub fn integer(&self, key: &str) -> Result<Option<u64>, String> {
        match self.manifest.format_options.get(key) {
            None => Ok(None),
            Some(Value::Number(number)) if number.as_u64().is_some() => Ok(number.as_u64()),
            Some(other) => Err(self.wrong_type(key, "a non-negative integer", other)),
        }
    }

    /// A compression named by `key` (`gzip`, `xz` or `zstd`, among `allowed`), else `default`.
    pub fn compression(
        &self,
        key: &str,
        default: Compression,
        allowed: &[&str],
    ) -> Result<Compression, String> {
        let Some(name) = self.string(key)? else {
            return Ok(default);
        };
        match Compression::from_name(name) {
            Some(compression) if allowed.contains(&name) => Ok(compression),
            _ => Err(format!(
                "`tool.pyship.{}.{key}` must be {}, not `{name}`",
                self.manifest.format,
                allowed
                    .iter()
                    .map(|name| format!("`{name}`"))
                    .collect::<Vec<_>>()
                    .join(" or ")
            )),
        }
    }
}
