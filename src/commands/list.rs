//! `pyship --list`: built-in commands, then installed plugins with their summaries.

use clap::CommandFactory;

use super::ExitStatus;
use crate::cli::Cli;
use crate::plugin;
use crate::printer::{Printer, Verbosity};

/// Prints the list on stdout.
pub(crate) fn list(printer: &Printer) -> anyhow::Result<ExitStatus> {
    printer.data("Installed commands:");
    let command = Cli::command();
    for subcommand in command.get_subcommands() {
        let about = subcommand
            .get_about()
            .map(ToString::to_string)
            .unwrap_or_default();
        printer.data(format!("    {:<16}{about}", subcommand.get_name()));
    }
    let plugins = plugin::list_plugins();
    // Describe calls run in parallel: one slow plugin must not make the list slow.
    let summaries: Vec<(String, String)> = std::thread::scope(|scope| {
        let handles: Vec<_> = plugins
            .iter()
            .map(|(name, path)| {
                scope.spawn(move || match plugin::describe(name, path) {
                    Ok(description) => description.summary,
                    Err(_) => format!("(describe failed) {}", path.display()),
                })
            })
            .collect();
        plugins
            .iter()
            .zip(handles)
            .map(|((name, path), handle)| {
                let mut summary = handle
                    .join()
                    .unwrap_or_else(|_| "(describe failed)".to_string());
                if printer.verbosity() >= Verbosity::Verbose {
                    summary = format!("{summary} ({})", path.display());
                }
                (name.clone(), summary)
            })
            .collect()
    });
    if !summaries.is_empty() {
        printer.data("Plugins:");
        for (name, summary) in summaries {
            printer.data(format!("    {name:<16}{summary}"));
        }
    }
    Ok(ExitStatus::Success)
}
