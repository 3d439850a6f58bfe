//! `pyship completions SHELL` and `pyship man`: made from the command line's definition, so
//! they never drift from `--help`.

#![allow(clippy::print_stdout)]

use std::io::Write as _;

use clap::CommandFactory as _;

use super::ExitStatus;
use crate::cli::Cli;

/// Prints the completion script for `shell`.
pub(crate) fn completions(shell: clap_complete::Shell) -> anyhow::Result<ExitStatus> {
    let mut command = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut command, "pyship", &mut out);
    write_stdout(&out)
}

/// Prints the manual page, its subcommands as sections.
pub(crate) fn man() -> anyhow::Result<ExitStatus> {
    let command = Cli::command();
    let mut out = Vec::new();
    clap_mangen::Man::new(command).render(&mut out)?;
    write_stdout(&out)
}

/// Writes `bytes` to stdout; a closed pipe is not an error (ripgrep's rule).
fn write_stdout(bytes: &[u8]) -> anyhow::Result<ExitStatus> {
    match std::io::stdout().lock().write_all(bytes) {
        Err(error) if error.kind() != std::io::ErrorKind::BrokenPipe => Err(error.into()),
        _ => Ok(ExitStatus::Success),
    }
}
