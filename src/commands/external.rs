//! `pyship NAME ARGS…` for a NAME that is not built in: run the plugin `pyship-NAME`.

use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::process::Command;

use clap::CommandFactory;

use super::ExitStatus;
use crate::cli::Cli;
use crate::diagnostics::edit_distance;
use crate::env_vars;
use crate::plugin;

/// `pyship NAME` found no built-in and no plugin.
#[derive(Debug, thiserror::Error)]
#[error("no such command: `{name}`\n\navailable commands: {}{}\nhelp: view all installed commands with `pyship --list`",
    known.join(", "),
    suggestion.as_ref().map(|s| format!("\n\nhelp: a command with a similar name exists: `{s}`")).unwrap_or_default())]
pub struct UnknownCommand {
    pub name: String,
    pub suggestion: Option<String>,
    /// Built-ins, then plugins.
    pub known: Vec<String>,
}

impl crate::diagnostics::Diagnostic for UnknownCommand {
    fn exit_code(&self) -> Option<u8> {
        Some(crate::diagnostics::exit_code::USAGE)
    }
}

/// Replaces this process with `pyship-NAME NAME ARGS…` (cargo's argv convention).
pub(crate) fn external(args: &[OsString]) -> anyhow::Result<ExitStatus> {
    let Some((name, rest)) = args.split_first() else {
        return Ok(ExitStatus::Success);
    };
    let name = name.to_string_lossy().into_owned();
    let Some(path) = plugin::find_plugin(&name) else {
        let mut known: Vec<String> = Cli::command()
            .get_subcommands()
            .map(|command| command.get_name().to_string())
            .collect();
        known.extend(plugin::list_plugins().into_keys());
        let suggestion = known
            .iter()
            .filter(|candidate| similar(&name, candidate))
            .min_by_key(|candidate| candidate.len().abs_diff(name.len()))
            .cloned();
        return Err(UnknownCommand {
            name,
            suggestion,
            known,
        }
        .into());
    };
    let mut command = Command::new(&path);
    crate::credentials::without_secrets(&mut command)
        .arg(&name)
        .args(rest);
    if let Ok(exe) = std::env::current_exe() {
        command.env(env_vars::PYSHIP, exe);
    }
    // exec only returns on failure.
    let error = command.exec();
    Err(anyhow::Error::new(error).context(format!("failed to run `{}`", path.display())))
}

/// Names one or two edits apart, or one a prefix of the other.
fn similar(typed: &str, known: &str) -> bool {
    typed.starts_with(known) || known.starts_with(typed) || edit_distance(typed, known) <= 2
}
