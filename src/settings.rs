//! Settings every command shares, merged from the command line and the environment.

use std::path::PathBuf;

use crate::cli::{ColorChoice, GlobalArgs};
use crate::printer::Verbosity;

/// Global settings after merging.
#[derive(Debug, Clone)]
pub struct GlobalSettings {
    /// The project directory.
    pub directory: PathBuf,
    pub offline: bool,
    pub verbosity: Verbosity,
    /// `None`: decide from the terminal.
    pub color: Option<bool>,
}

impl GlobalSettings {
    /// Resolves the global arguments.
    pub fn resolve(args: &GlobalArgs) -> std::io::Result<GlobalSettings> {
        let GlobalArgs {
            directory,
            offline,
            quiet,
            verbose,
            color,
        } = args;
        let current = std::env::current_dir()?;
        let directory = match directory {
            Some(directory) => current.join(directory),
            None => current,
        };
        let verbosity = match (quiet, verbose) {
            (0, 0) => Verbosity::Normal,
            (0, _) => Verbosity::Verbose,
            (1, _) => Verbosity::Quiet,
            _ => Verbosity::Silent,
        };
        let color = match color {
            ColorChoice::Auto => None,
            ColorChoice::Always => Some(true),
            ColorChoice::Never => Some(false),
        };
        Ok(GlobalSettings {
            directory,
            offline: *offline,
            verbosity,
            color,
        })
    }
}
