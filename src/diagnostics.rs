//! Turning errors into what the user reads and the exit code scripts see.
//!
//! Modules return typed `thiserror` errors that carry the file, package or URL; commands add
//! what they were doing with anyhow context. Each error type implements [`Diagnostic`] in
//! its own module (its hint, its exit code); here the chain is rendered cargo/uv style:
//! `error: …`, the causes under `Caused by:`, then `hint:` lines. This module imports nothing
//! of the crate, so no module that reports an error depends on the renderer.

use std::fmt::Write;

/// Exit codes, documented in `--help` and the README.
pub mod exit_code {
    /// Success.
    pub const SUCCESS: u8 = 0;
    /// Bad input, unsatisfiable requirements, a failed plugin, a failed download.
    pub const FAILURE: u8 = 1;
    /// Bad command-line arguments or an unknown command.
    pub const USAGE: u8 = 2;
    /// The requirements cannot be satisfied together.
    pub const UNSATISFIABLE: u8 = 3;
    /// `--offline`, and what was needed is not in the cache or a find-links directory.
    pub const OFFLINE: u8 = 4;
}

/// What an error knows about itself beyond its message: advice for the user, and the exit
/// code it ends the run with. Each error type implements it beside its definition; the
/// top-level renderer in `lib.rs` asks every cause of an error chain.
pub trait Diagnostic {
    /// One or more lines of advice, without the `hint: ` prefix.
    fn hint(&self) -> Option<String> {
        None
    }

    /// The exit code, when this error decides it (the first cause that does wins).
    fn exit_code(&self) -> Option<u8> {
        None
    }
}

/// The full text shown for an error: message, causes, then the hints `diagnostic_of` finds
/// for the causes.
pub fn render<'e>(
    error: &'e anyhow::Error,
    diagnostic_of: impl Fn(&'e (dyn std::error::Error + 'static)) -> Option<&'e dyn Diagnostic>,
) -> String {
    let mut out = String::new();
    let mut chain = error.chain();
    if let Some(top) = chain.next() {
        let _ = writeln!(out, "error: {top}");
    }
    let causes: Vec<String> = chain.map(|cause| cause.to_string()).collect();
    if !causes.is_empty() {
        out.push_str("\nCaused by:\n");
        for cause in causes {
            for line in cause.lines() {
                let _ = writeln!(out, "  {line}");
            }
        }
    }
    let hints: Vec<String> = error
        .chain()
        .filter_map(|cause| diagnostic_of(cause)?.hint())
        .collect();
    if !hints.is_empty() {
        out.push('\n');
        for hint in hints {
            let _ = writeln!(out, "hint: {hint}");
        }
    }
    out
}

/// The exit code of an error: the first cause whose diagnostic decides it, else failure.
pub fn exit_code_of<'e>(
    error: &'e anyhow::Error,
    diagnostic_of: impl Fn(&'e (dyn std::error::Error + 'static)) -> Option<&'e dyn Diagnostic>,
) -> u8 {
    error
        .chain()
        .find_map(|cause| diagnostic_of(cause)?.exit_code())
        .unwrap_or(exit_code::FAILURE)
}

/// Levenshtein distance, for "did you mean" hints on short names.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}
