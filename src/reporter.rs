//! What operations tell the user while they work: [`Reporter`], which speaks in events (a
//! [`Step`] begins or ends, a warning, a detail, progress), never in terminal terms. The
//! command line's printer renders them (the printer module, the only one that draws); a
//! library caller or a test may collect or drop them.

use std::time::Duration;

use crate::fetch::FetchReporter;

/// The steps status lines name, in one place so that renderers and test filters agree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Found,
    Added,
    Updated,
    Pinning,
    Resolving,
    Resolved,
    Locked,
    Fresh,
    Downloaded,
    Fetching,
    Building,
    Staging,
    Installing,
    Installed,
    Compiled,
    Pruned,
    Removed,
    Packaging,
    Publishing,
    Published,
    Verifying,
    Finished,
}

impl Step {
    /// The verb a status line starts with: `Resolving`.
    pub fn label(self) -> &'static str {
        match self {
            Step::Found => "Found",
            Step::Added => "Added",
            Step::Updated => "Updated",
            Step::Pinning => "Pinning",
            Step::Resolving => "Resolving",
            Step::Resolved => "Resolved",
            Step::Locked => "Locked",
            Step::Fresh => "Fresh",
            Step::Downloaded => "Downloaded",
            Step::Fetching => "Fetching",
            Step::Building => "Building",
            Step::Staging => "Staging",
            Step::Installing => "Installing",
            Step::Installed => "Installed",
            Step::Compiled => "Compiled",
            Step::Pruned => "Pruned",
            Step::Removed => "Removed",
            Step::Packaging => "Packaging",
            Step::Publishing => "Publishing",
            Step::Published => "Published",
            Step::Verifying => "Verifying",
            Step::Finished => "Finished",
        }
    }
}

/// What a piece of progress counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProgressKind {
    /// Bytes towards `total` (unknown: a counter).
    Bytes { total: Option<u64> },
    /// Nothing countable: work under way, described by `message`.
    Spinner { message: String },
}

/// What an operation reports as it works. Operations never print.
pub trait Reporter: Send + Sync {
    /// A step begins or ends: `Resolving` `for debian-12`.
    fn status(&self, step: Step, message: &str);
    /// Something the user should know that does not stop the operation.
    fn warning(&self, message: &str);
    /// A detail shown with `-v`.
    fn debug(&self, message: &str);
    /// A detail shown with `-vv`: every request sent to an index, and its answer.
    fn trace(&self, message: &str) {
        let _ = message;
    }
    /// Progress of `step`, shown (if at all) until the returned handle is finished or dropped.
    fn progress(&self, step: Step, kind: ProgressKind) -> Progress {
        let _ = (step, kind);
        Progress::hidden()
    }
    /// A line a program pyship runs wrote on its stderr (a plugin's), passed on as it is.
    fn relay(&self, line: &str) {
        let _ = line;
    }
}

/// Where a renderer draws one piece of progress.
pub trait ProgressSink: Send + Sync {
    /// `bytes` more are done.
    fn advance(&self, bytes: u64);
    /// What is under way now.
    fn set_message(&self, message: String);
    /// Done: clear it.
    fn finish(&self);
    /// Prints `line` above it, which stays drawn below.
    fn print_above(&self, line: &str);
}

/// One piece of progress, drawn by a renderer or by nothing.
pub struct Progress {
    sink: Option<Box<dyn ProgressSink>>,
}

impl Progress {
    /// Progress that draws nothing.
    pub fn hidden() -> Progress {
        Progress { sink: None }
    }

    /// Progress drawn by `sink`.
    pub fn drawn_by(sink: Box<dyn ProgressSink>) -> Progress {
        Progress { sink: Some(sink) }
    }

    /// Runs `work`; meanwhile, when a request has been waiting more than two seconds, the
    /// message names it and how long it has waited, so a slow or silent index is visible.
    pub fn while_waiting<T>(
        &self,
        message: &str,
        longest_wait: impl Fn() -> Option<(String, Duration)> + Sync,
        work: impl FnOnce() -> T,
    ) -> T {
        let Some(sink) = &self.sink else {
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
                            sink.set_message(format!(
                                "{message} waiting for {url} ({}s)",
                                waited.as_secs()
                            ));
                        }
                        _ if showing_wait => {
                            showing_wait = false;
                            sink.set_message(message.to_string());
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

    /// A line of a program's stderr: above the progress when it is drawn, else through
    /// `reporter`.
    pub fn relay(&self, line: &str, reporter: &dyn Reporter) {
        match &self.sink {
            Some(sink) => sink.print_above(line),
            None => reporter.relay(line),
        }
    }

    /// Clears it from the screen.
    pub fn finish(&self) {
        if let Some(sink) = &self.sink {
            sink.finish();
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
        if let Some(sink) = &self.sink {
            sink.advance(bytes);
        }
    }
    fn on_fetched(&self, name: &str) {
        if let Some(sink) = &self.sink {
            sink.set_message(name.to_string());
        }
    }
}

/// A reporter's `trace` as a plain function, for modules that report nothing else (the
/// index's HTTP client).
pub fn tracer(
    reporter: std::sync::Arc<dyn Reporter>,
) -> std::sync::Arc<dyn Fn(&str) + Send + Sync> {
    std::sync::Arc::new(move |message: &str| reporter.trace(message))
}
