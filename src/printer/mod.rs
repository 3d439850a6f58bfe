//! The one way pyship writes to the terminal: data on stdout, everything human on stderr.
//!
//! Status lines follow cargo: a right-aligned verb in a 12-column gutter, bold green when
//! stderr is a terminal that takes color. `-q` silences status lines but never data.

#![allow(clippy::print_stdout, clippy::print_stderr)]

mod bars;

use std::io::{IsTerminal, Write};

use crate::reporter::{Progress, ProgressKind, Reporter, Step};

/// How much to say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verbosity {
    /// `-qq`: nothing but data, and not even errors' details.
    Silent,
    /// `-q`: data and errors.
    Quiet,
    /// The default: status lines too.
    Normal,
    /// `-v`: debug lines too.
    Verbose,
    /// `-vv`: trace lines too (every request to an index and its answer).
    Trace,
}

/// Writes status, debug lines and data.
#[derive(Debug, Clone, Copy)]
pub struct Printer {
    verbosity: Verbosity,
    color: bool,
}

impl Printer {
    /// A printer; `color` is `None` for "when stderr is a terminal and NO_COLOR is unset".
    pub fn new(verbosity: Verbosity, color: Option<bool>) -> Printer {
        // `--color`, else NO_COLOR, then CLICOLOR_FORCE (colour into a pipe, as CI logs
        // want), else a terminal that is not dumb.
        let color = color.unwrap_or_else(|| {
            let set = |name: &str| std::env::var_os(name).is_some_and(|value| !value.is_empty());
            if set("NO_COLOR") {
                return false;
            }
            if std::env::var_os("CLICOLOR_FORCE")
                .is_some_and(|value| !value.is_empty() && value != "0")
            {
                return true;
            }
            std::io::stderr().is_terminal()
                && std::env::var("TERM").map_or(true, |term| term != "dumb")
        });
        Printer { verbosity, color }
    }

    /// The verbosity.
    pub fn verbosity(&self) -> Verbosity {
        self.verbosity
    }

    /// Whether color is on (passed on to plugins).
    pub fn color(&self) -> bool {
        self.color
    }

    /// `   Resolving 12 packages`.
    pub fn status(&self, step: Step, message: impl std::fmt::Display) {
        if self.verbosity < Verbosity::Normal {
            return;
        }
        let verb = step.label();
        let line = if self.color {
            format!("\x1b[1;32m{verb:>12}\x1b[0m {message}")
        } else {
            format!("{verb:>12} {message}")
        };
        let _ = writeln!(std::io::stderr().lock(), "{line}");
    }

    /// `warning: …`, shown unless `-qq`.
    pub fn warning(&self, message: impl std::fmt::Display) {
        if self.verbosity < Verbosity::Quiet {
            return;
        }
        let prefix = if self.color {
            "\x1b[1;33mwarning\x1b[0m"
        } else {
            "warning"
        };
        let _ = writeln!(std::io::stderr().lock(), "{prefix}: {message}");
    }

    /// A debug line, shown with `-v`.
    pub fn debug(&self, message: impl std::fmt::Display) {
        if self.verbosity >= Verbosity::Verbose {
            let _ = writeln!(std::io::stderr().lock(), "debug: {message}");
        }
    }

    /// A line of data on stdout; a closed pipe is not an error (ripgrep's rule).
    pub fn data(&self, line: impl std::fmt::Display) {
        let _ = writeln!(std::io::stdout().lock(), "{line}");
    }

    /// An error report on stderr, always (even with `-qq`: an exit code alone says nothing
    /// of why); `error:` and `hint:` in colour when colour is on.
    pub fn error(&self, report: &str) {
        let report = if self.color {
            report
                .split_inclusive('\n')
                .map(|line| {
                    if let Some(rest) = line.strip_prefix("error:") {
                        format!("\x1b[1;31merror\x1b[0m:{rest}")
                    } else if let Some(rest) = line.strip_prefix("hint:") {
                        format!("\x1b[1;36mhint\x1b[0m:{rest}")
                    } else {
                        line.to_string()
                    }
                })
                .collect()
        } else {
            report.to_string()
        };
        let _ = write!(std::io::stderr().lock(), "{report}");
    }
}

impl Reporter for Printer {
    fn status(&self, step: Step, message: &str) {
        Printer::status(self, step, message);
    }
    fn warning(&self, message: &str) {
        Printer::warning(self, message);
    }
    fn debug(&self, message: &str) {
        Printer::debug(self, message);
    }
    fn progress(&self, step: Step, kind: ProgressKind) -> Progress {
        bars::progress(self, step, kind)
    }
    fn trace(&self, message: &str) {
        if self.verbosity >= Verbosity::Trace {
            let _ = writeln!(std::io::stderr().lock(), "trace: {message}");
        }
    }
    fn relay(&self, line: &str) {
        // A plugin says what it has to say (it is told `-q` itself); its errors always show.
        let _ = writeln!(std::io::stderr().lock(), "{line}");
    }
}
