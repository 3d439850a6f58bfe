//! Turning errors into what the user reads and the exit code scripts see.
//!
//! Modules return typed `thiserror` errors that carry the file, package or URL; commands add
//! what they were doing with anyhow context. Here the chain is rendered cargo/uv style:
//! `error: …`, the causes under `Caused by:`, then `hint:` lines from the [`Hint`] trait.

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
}

/// The exit code an error ends the run with.
pub fn exit_code_of(error: &anyhow::Error) -> u8 {
    for cause in error.chain() {
        if cause
            .downcast_ref::<crate::commands::UnknownCommand>()
            .is_some()
            || cause
                .downcast_ref::<crate::settings::SettingsError>()
                .is_some()
        {
            return exit_code::USAGE;
        }
        if let Some(crate::resolver::ResolveError::NoSolution { .. }) = cause.downcast_ref() {
            return exit_code::UNSATISFIABLE;
        }
    }
    exit_code::FAILURE
}

/// Errors that know what the user can do about them.
pub trait Hint {
    /// One or more lines of advice, without the `hint: ` prefix.
    fn hint(&self) -> Option<String>;
}

/// Collects the hints of every error in the chain that has one.
fn hints(error: &anyhow::Error) -> Vec<String> {
    let mut hints = Vec::new();
    for cause in error.chain() {
        let hint = if let Some(error) = cause.downcast_ref::<crate::project::ProjectError>() {
            error.hint()
        } else if let Some(error) = cause.downcast_ref::<crate::resolver::ResolveError>() {
            error.hint()
        } else if let Some(error) = cause.downcast_ref::<crate::plugin::PluginError>() {
            error.hint()
        } else if let Some(error) = cause.downcast_ref::<crate::index::IndexError>() {
            error.hint()
        } else if let Some(crate::resolver::ProviderError::Index(error)) = cause.downcast_ref() {
            // Transparent: the index error is not a cause of its own in the chain.
            error.hint()
        } else if let Some(error) = cause.downcast_ref::<crate::python::TargetError>() {
            error.hint()
        } else if let Some(error) = cause.downcast_ref::<crate::lockfile::SelectError>() {
            error.hint()
        } else if let Some(error) = cause.downcast_ref::<crate::fetch::FetchError>() {
            error.hint()
        } else {
            None
        };
        hints.extend(hint);
    }
    hints
}

/// The full text shown for an error: message, causes, hints; any credentials in a URL that
/// reached a message are scrubbed on the way out.
pub fn render(error: &anyhow::Error) -> String {
    crate::credentials::scrub_credentials(&render_unscrubbed(error))
}

fn render_unscrubbed(error: &anyhow::Error) -> String {
    let mut out = String::new();
    let mut chain = error.chain();
    if let Some(top) = chain.next() {
        let _ = writeln!(out, "error: {top}");
    }
    let causes: Vec<String> = chain.map(|cause| cause.to_string()).collect();
    if !causes.is_empty() {
        out.push_str("\nCaused by:\n");
        for cause in causes {
            let mut lines = cause.lines();
            if let Some(first) = lines.next() {
                let _ = writeln!(out, "  {first}");
            }
            for line in lines {
                let _ = writeln!(out, "  {line}");
            }
        }
    }
    let hints = hints(error);
    if !hints.is_empty() {
        out.push('\n');
        for hint in hints {
            let _ = writeln!(out, "hint: {hint}");
        }
    }
    out
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
