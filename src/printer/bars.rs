//! Progress drawn with indicatif on stderr: the only code that draws it.
//!
//! Bars appear only when stderr is a terminal at normal verbosity, and never with
//! `PYSHIP_NO_PROGRESS` or `TERM=dumb` (uv's rules); otherwise nothing is drawn, so logs and
//! tests see only status lines.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::{Printer, Verbosity};
use crate::env_vars;
use crate::reporter::{Progress, ProgressKind, ProgressSink, Step};

fn enabled(printer: &Printer) -> bool {
    printer.verbosity() == Verbosity::Normal
        && std::io::stderr().is_terminal()
        && std::env::var_os(env_vars::PYSHIP_NO_PROGRESS).is_none()
        && std::env::var("TERM").map_or(true, |term| term != "dumb")
}

/// Progress for `step` as this printer draws it (or hidden).
pub(super) fn progress(printer: &Printer, step: Step, kind: ProgressKind) -> Progress {
    if !enabled(printer) {
        return Progress::hidden();
    }
    let verb = step.label();
    let bar = match kind {
        ProgressKind::Bytes { total: Some(0) } => return Progress::hidden(),
        ProgressKind::Bytes { total } => {
            let template = match total {
                Some(_) => format!(
                    "{verb:>12} [{{bar:30}}] {{binary_bytes}}/{{binary_total_bytes}} ({{binary_bytes_per_sec}}) {{msg}}"
                ),
                None => format!(
                    "{verb:>12} {{spinner}} {{binary_bytes}} ({{binary_bytes_per_sec}}) {{msg}}"
                ),
            };
            let bar = ProgressBar::with_draw_target(total, ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(&template)
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            if total.is_none() {
                bar.enable_steady_tick(Duration::from_millis(100));
            }
            bar
        }
        ProgressKind::Spinner { message } => {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(&format!("{verb:>12} {{spinner}} {{msg}}"))
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.set_message(message);
            bar.enable_steady_tick(Duration::from_millis(100));
            bar
        }
    };
    Progress::drawn_by(Box::new(Bar(bar)))
}

struct Bar(ProgressBar);

impl ProgressSink for Bar {
    fn advance(&self, bytes: u64) {
        self.0.inc(bytes);
    }
    fn set_message(&self, message: String) {
        self.0.set_message(message);
    }
    fn finish(&self) {
        self.0.finish_and_clear();
    }
    fn print_above(&self, line: &str) {
        self.0.println(line);
    }
}
