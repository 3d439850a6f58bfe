//! The command line, as clap types only: no logic lives here.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

const AFTER_HELP: &str = "\
Typical use, in a project with a pyproject.toml:
  pyship lock                 resolve [project] dependencies into pylock.toml
  pyship package deb          lock, fetch, build and write target/pyship/NAME_VERSION-1_ARCH.deb

Any other `pyship NAME ...` runs the plugin `pyship-NAME NAME ...`, found next to pyship or on PATH.

Exit status:
  0  success
  1  failure: bad project files, unsatisfiable requirements, failed download, failed plugin
  2  bad arguments or unknown command
  a plugin run as `pyship NAME` exits with the plugin's own status";

/// Ship Python server applications as one versioned artifact: lock, fetch, build, package.
#[derive(Debug, Parser)]
#[command(name = "pyship", version, after_help = AFTER_HELP, arg_required_else_help = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    /// List built-in commands and installed plugins, then exit.
    #[arg(long, global = false)]
    pub list: bool,

    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Run as if started in DIR.
    #[arg(short = 'C', long = "directory", value_name = "DIR", global = true)]
    pub directory: Option<PathBuf>,

    /// Use no network: only find-links directories and the cache.
    #[arg(long, global = true)]
    pub offline: bool,

    /// Say less: -q hides status lines, -qq hides errors' details too.
    #[arg(short, long, action = clap::ArgAction::Count, global = true, conflicts_with = "verbose")]
    pub quiet: u8,

    /// Say more: debug lines.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    /// When to color output.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    pub color: ColorChoice,
}

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// The built-in commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Resolve the project's dependencies for the target into pylock.toml (PEP 751).
    Lock(LockArgs),
    /// Download every locked wheel into the cache, checking its sha256.
    Fetch,
    /// Stage the virtualenv at its install prefix under target/pyship/stage; prints its path.
    Build,
    /// Build an artifact with the plugin `pyship-FORMAT`; prints the artifact paths.
    Package(PackageArgs),
    /// Run the plugin `pyship-NAME` with the remaining arguments.
    #[command(external_subcommand)]
    External(Vec<OsString>),
}

/// `pyship lock`.
#[derive(Debug, Args)]
pub struct LockArgs {
    /// Exit with status 1 if pylock.toml is missing or out of date, instead of writing it.
    #[arg(long)]
    pub check: bool,
}

/// `pyship package`.
#[derive(Debug, Args)]
pub struct PackageArgs {
    /// The format, e.g. `deb`: runs the plugin `pyship-FORMAT`.
    pub format: String,
}
