//! What operations tell the user while they work ([`Reporter`]), and progress on stderr drawn
//! with indicatif: the only module that imports it.
//!
//! Bars appear only when stderr is a terminal at normal verbosity, and never with
//! `PYSHIP_NO_PROGRESS` or `TERM=dumb` (uv's rules); otherwise every method does nothing, so
//! logs and tests see only status lines.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::env_vars;
use crate::fetch::FetchReporter;
use crate::printer::{Printer, Verbosity};

/// What an operation reports as it works: status lines, warnings, details for `-v`, and
/// progress. The command line's [`Printer`] draws them; a library caller or a test may
/// collect or drop them. Operations never print.
pub trait Reporter: Send + Sync {
    /// A step begins or ends: `Resolving for debian-12`.
    fn status(&self, verb: &str, message: &str);
    /// Something the user should know that does not stop the operation.
    fn warning(&self, message: &str);
    /// A detail shown with `-v`.
    fn debug(&self, message: &str);
    /// A bar counting bytes to `total` (a counter when the total is unknown), with the rate;
    /// hidden unless this reporter draws progress.
    fn bytes_bar(&self, total: Option<u64>, verb: &str) -> Progress {
        let _ = (total, verb);
        Progress::hidden()
    }
    /// A spinner with a message; hidden unless this reporter draws progress.
    fn spinner(&self, verb: &str, message: &str) -> Progress {
        let _ = (verb, message);
        Progress::hidden()
    }
}

impl Reporter for Printer {
    fn status(&self, verb: &str, message: &str) {
        Printer::status(self, verb, message);
    }
    fn warning(&self, message: &str) {
        Printer::warning(self, message);
    }
    fn debug(&self, message: &str) {
        Printer::debug(self, message);
    }
    fn bytes_bar(&self, total: Option<u64>, verb: &str) -> Progress {
        Progress::bytes_bar(self, total, verb)
    }
    fn spinner(&self, verb: &str, message: &str) -> Progress {
        Progress::spinner(self, verb, message)
    }
}

/// A progress bar or spinner that may be hidden.
pub struct Progress {
    bar: Option<ProgressBar>,
}

fn enabled(printer: &Printer) -> bool {
    printer.verbosity() == Verbosity::Normal
        && std::io::stderr().is_terminal()
        && std::env::var_os(env_vars::PYSHIP_NO_PROGRESS).is_none()
        && std::env::var("TERM").map_or(true, |term| term != "dumb")
}

impl Progress {
    /// Progress that draws nothing.
    pub fn hidden() -> Progress {
        Progress { bar: None }
    }

    /// A bar counting bytes to `total`, with the transfer rate; with no total, a spinner
    /// counting bytes.
    pub fn bytes_bar(printer: &Printer, total: Option<u64>, verb: &str) -> Progress {
        if !enabled(printer) || total == Some(0) {
            return Progress { bar: None };
        }
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
        Progress { bar: Some(bar) }
    }

    /// A spinner with a message, ticking on its own.
    pub fn spinner(printer: &Printer, verb: &str, message: &str) -> Progress {
        if !enabled(printer) {
            return Progress { bar: None };
        }
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template(&format!("{verb:>12} {{spinner}} {{msg}}"))
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.set_message(message.to_string());
        bar.enable_steady_tick(Duration::from_millis(100));
        Progress { bar: Some(bar) }
    }

    /// Runs `work`; meanwhile, when a request has been waiting more than two seconds, the
    /// message names it and how long it has waited, so a slow or silent index is visible.
    pub fn while_waiting<T>(
        &self,
        message: &str,
        longest_wait: impl Fn() -> Option<(String, Duration)> + Sync,
        work: impl FnOnce() -> T,
    ) -> T {
        let Some(bar) = &self.bar else {
            return work();
        };
        let done = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|scope| {
            scope.spawn(|| {
                let mut showing_wait = false;
                while !done.load(std::sync::atomic::Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(250));
                    match longest_wait() {
                        Some((url, waited)) if waited >= Duration::from_secs(2) => {
                            showing_wait = true;
                            bar.set_message(format!(
                                "{message} waiting for {url} ({}s)",
                                waited.as_secs()
                            ));
                        }
                        _ if showing_wait => {
                            showing_wait = false;
                            bar.set_message(message.to_string());
                        }
                        _ => {}
                    }
                }
            });
            let result = work();
            done.store(true, std::sync::atomic::Ordering::Relaxed);
            result
        })
    }

    /// Clears the bar from the screen.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}

impl FetchReporter for Progress {
    fn on_bytes(&self, bytes: u64) {
        if let Some(bar) = &self.bar {
            bar.inc(bytes);
        }
    }
    fn on_fetched(&self, name: &str) {
        if let Some(bar) = &self.bar {
            bar.set_message(name.to_string());
        }
    }
}
