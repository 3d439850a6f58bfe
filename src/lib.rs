//! pyship: ship a Python server application as one versioned artifact.
//!
//! `main` parses the command line, builds the [`printer::Printer`], dispatches to one function
//! per command in [`commands`], and turns errors into the rendered report and exit code.
//! Commands call the operations in `ops` (lock, fetch, stage, package), which return data.
//! Everything else lives in one module per concern: settings, project loading, the target
//! interpreter, the index client, the resolver, the lockfile, the cache and fetcher, the PEP
//! 517 frontend, the venv and wheel installer, and the plugin protocol.

#![warn(clippy::print_stdout, clippy::print_stderr)]

mod cache;
mod cli;
mod commands;
mod credentials;
pub mod diagnostics;
mod elf;
mod env_vars;
mod facts;
mod fetch;
#[cfg(test)]
mod fuzz;
#[cfg(test)]
mod fuzz_deployment;
mod index;
mod limits;
mod lockfile;
mod ops;
mod parallel;
mod pep508;
mod pep517;
mod plugin;
mod printer;
mod process;
mod project;
mod python;
mod reporter;
mod resolver;
mod sbom;
mod sdist_archive;
mod settings;
mod system_packages;
mod venv;
mod verify;
mod wheel;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};
use crate::commands::ExitStatus;
use crate::diagnostics::exit_code;
use crate::printer::Printer;
use crate::settings::{GlobalSettings, IndexSettings, LockSettings};

/// Runs pyship with `args` (the program name first) and returns the exit code.
pub fn main(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let cli = match Cli::try_parse_from(help_for_plugins(args.into_iter().collect())) {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return ExitCode::from(if error.use_stderr() {
                exit_code::USAGE
            } else {
                exit_code::SUCCESS
            });
        }
    };
    let settings = match GlobalSettings::resolve(&cli.global) {
        Ok(settings) => settings,
        Err(error) => {
            Printer::new(printer::Verbosity::Normal, None).error(&format!(
                "error: cannot read the current directory: {error}\n"
            ));
            return ExitCode::from(exit_code::FAILURE);
        }
    };
    let printer = Printer::new(settings.verbosity, settings.color);
    match run(cli, &settings, printer) {
        Ok(ExitStatus::Success) => ExitCode::from(exit_code::SUCCESS),
        Ok(ExitStatus::Failure) => ExitCode::from(exit_code::FAILURE),
        Ok(ExitStatus::Code(code)) => ExitCode::from(code),
        Err(error) => {
            // Credentials in a URL that reached a message are scrubbed on the way out.
            let report = diagnostics::render(&error, diagnostic_of);
            printer.error(&credentials::scrub_credentials(&report));
            ExitCode::from(diagnostics::exit_code_of(&error, diagnostic_of))
        }
    }
}

/// `pyship help FORMAT` for a plugin becomes `pyship FORMAT --help` (clap's `help` knows only
/// the built-ins), which the plugin answers with its options.
fn help_for_plugins(mut args: Vec<OsString>) -> Vec<OsString> {
    use clap::CommandFactory;
    if args.len() == 3 && args[1] == "help" {
        let name = args[2].to_string_lossy().into_owned();
        let built_in = Cli::command()
            .get_subcommands()
            .any(|command| command.get_name() == name);
        if !built_in && plugin::find_plugin(&name).is_some() {
            args.truncate(1);
            args.push(name.into());
            args.push("--help".into());
        }
    }
    args
}

/// The diagnostic (hint, exit code) of one cause of an error chain: the one place that
/// knows every error type that has one, so that no module depends on the renderer.
fn diagnostic_of<'e>(
    cause: &'e (dyn std::error::Error + 'static),
) -> Option<&'e dyn diagnostics::Diagnostic> {
    macro_rules! first_of {
        ($($error:ty),* $(,)?) => {
            $(if let Some(error) = cause.downcast_ref::<$error>() {
                return Some(error);
            })*
        };
    }
    first_of!(
        commands::UnknownCommand,
        settings::SettingsError,
        project::ProjectError,
        project::frozen::FrozenError,
        resolver::ResolveError,
        resolver::ProviderError,
        plugin::PluginError,
        plugin::OptionError,
        plugin::HonoursError,
        index::IndexError,
        python::TargetError,
        lockfile::SelectError,
        ops::lock::LockedError,
        fetch::FetchError,
    );
    None
}

fn run(cli: Cli, settings: &GlobalSettings, printer: Printer) -> anyhow::Result<ExitStatus> {
    if cli.list {
        return commands::list(&printer);
    }
    let Some(command) = cli.command else {
        return commands::list(&printer);
    };
    // fetch, build and package take no index flags: the project's settings and the
    // environment decide.
    let workspace = || commands::workspace(settings, &IndexSettings::default(), printer);
    match command {
        Command::Init => commands::init(&settings.directory, &printer),
        Command::Completions { shell } => commands::completions(shell),
        Command::Man => commands::man(),
        Command::Lock(args) => commands::lock(settings, LockSettings::resolve(*args)?, printer),
        Command::Fetch(args) => commands::fetch(
            &workspace()?,
            args.wheelhouse
                .map(|directory| settings.directory.join(directory)),
            args.prune,
            &printer,
        ),
        Command::Build(args) => commands::build(&workspace()?, args.target.as_deref(), &printer),
        Command::Sbom(args) => {
            commands::sbom(&workspace()?, args.format, args.target.as_deref(), &printer)
        }
        Command::Package(args) => commands::package(
            &workspace()?,
            &args.format,
            args.target.as_deref(),
            args.message_format,
            &printer,
        ),
        Command::Publish(args) => commands::publish(
            &workspace()?,
            &args.name,
            &args.destination,
            args.artifacts
                .map(|file| settings.directory.join(file))
                .as_deref(),
            args.target.as_deref(),
            &printer,
        ),
        Command::Verify(args) => {
            commands::verify(&workspace()?, args, &printer, &settings.directory)
        }
        Command::Run(args) => commands::run(
            &workspace()?,
            args.target.as_deref(),
            &args.groups,
            &args.command,
        ),
        Command::Export(args) => commands::export(settings, args, &printer),
        Command::Tree(args) => commands::tree(settings, args, &printer),
        Command::Cache(args) => commands::cache(args.command, args.message_format, &printer),
        Command::External(args) => commands::external(&args),
    }
}
