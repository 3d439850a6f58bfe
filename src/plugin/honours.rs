//! A setting the chosen format would silently go without is refused: plugins say which
//! deployment facts they honour (`Describe::honours`), and a project that sets another one
//! must say that it packages without it (`[tool.pyship.FORMAT] ignore = ["service"]`).

use std::path::PathBuf;

use crate::diagnostics::Diagnostic;
use crate::project::Project;

/// The key of a format table that pyship reads itself and never hands to the plugin.
pub const IGNORE_KEY: &str = "ignore";

/// A deployment fact set by the project that the format does not honour.
#[derive(Debug, thiserror::Error)]
pub enum HonoursError {
    #[error(
        "`{setting}` is set in `{}:{line}`, but `pyship-{format}` does not honour it: a {format} artifact would silently go without it",
        path.display()
    )]
    Ignored {
        format: String,
        setting: String,
        path: PathBuf,
        line: usize,
        honoured: Vec<String>,
    },
    #[error(
        "`[tool.pyship.{format}] ignore` names `{value}` at `{}:{line}`, which is not a deployment fact",
        path.display()
    )]
    Unknown {
        format: String,
        value: String,
        path: PathBuf,
        line: usize,
    },
}

impl Diagnostic for HonoursError {
    fn hint(&self) -> Option<String> {
        match self {
            HonoursError::Ignored {
                format,
                setting,
                honoured,
                ..
            } => Some(format!(
                "`pyship-{format}` honours {}; remove the setting, package a format that honours it, or add `ignore = [\"{setting}\"]` to `[tool.pyship.{format}]` to package without it",
                if honoured.is_empty() {
                    "no deployment setting".to_string()
                } else {
                    honoured.join(", ")
                }
            )),
            HonoursError::Unknown { .. } => Some(format!(
                "the facts are: {}",
                pyship_plugin::DEPLOYMENT_FACTS.join(", ")
            )),
        }
    }
}

/// The deployment facts `project` sets, with the key they are written under.
fn set_facts(project: &Project) -> Vec<(&'static str, &'static str)> {
    let config = &project.config;
    let mut facts = Vec::new();
    if config.build_number.is_some() {
        facts.push(("build-number", "build-number"));
    }
    if !config.run_depends.is_empty() {
        facts.push(("run-depends", "run-depends"));
    }
    if config.user.is_some() {
        facts.push(("user", "user"));
    }
    if !config.config_files.is_empty() {
        facts.push(("config-files", "config-files"));
    }
    if let Some(directory) = &config.scripts {
        let root = project.root.join(directory);
        for (fact, name) in [
            ("scripts.preinst", "preinst"),
            ("scripts.postinst", "postinst"),
            ("scripts.prerm", "prerm"),
            ("scripts.postrm", "postrm"),
        ] {
            if root.join(name).is_file() {
                facts.push((fact, "scripts"));
            }
        }
    }
    if config.service.is_some() {
        facts.push(("service", "service"));
    }
    if !config.services.is_empty() {
        facts.push(("services", "services"));
    }
    if !config.commands.is_empty() {
        facts.push(("commands", "commands"));
    }
    if !config.install_steps.is_empty() {
        facts.push(("steps", "install-steps"));
    }
    if !config.upgrade_steps.is_empty() {
        facts.push(("steps", "upgrade-steps"));
    }
    facts
}

/// Refuses a fact `project` sets that `honoured` (the plugin's answer) leaves out, unless
/// the format table's `ignore` names it.
pub fn check(
    project: &Project,
    format: &str,
    honoured: Option<&[String]>,
) -> Result<(), HonoursError> {
    let table = project.format_options.get(format);
    let ignore_line = || project.line_of(&["tool", "pyship", format, IGNORE_KEY]);
    let ignored: Vec<&str> = table
        .and_then(|table| table.get(IGNORE_KEY))
        .and_then(toml::Value::as_array)
        .map(|items| items.iter().filter_map(toml::Value::as_str).collect())
        .unwrap_or_default();
    for value in &ignored {
        if !pyship_plugin::DEPLOYMENT_FACTS.contains(value) {
            return Err(HonoursError::Unknown {
                format: format.to_string(),
                value: value.to_string(),
                path: project.pyproject_path(),
                line: ignore_line(),
            });
        }
    }
    let Some(honoured) = honoured else {
        return Ok(());
    };
    for (fact, key) in set_facts(project) {
        if !honoured.iter().any(|h| h == fact) && !ignored.contains(&fact) {
            return Err(HonoursError::Ignored {
                format: format.to_string(),
                setting: fact.to_string(),
                path: project.pyproject_path(),
                line: project.line_of(&["tool", "pyship", key]),
                honoured: honoured.to_vec(),
            });
        }
    }
    Ok(())
}

/// The format table as the plugin sees it: without pyship's own `ignore`.
pub fn plugin_table(table: &toml::Table) -> toml::Table {
    let mut table = table.clone();
    table.remove(IGNORE_KEY);
    table
}
