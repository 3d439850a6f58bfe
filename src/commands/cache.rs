//! `pyship cache dir | size | prune | clean`.

use anyhow::Context as _;

use super::ExitStatus;
use crate::cache::Cache;
use crate::cache::manage::{self, Usage, human_bytes};
use crate::cli::CacheCommand;
use crate::printer::Printer;
use crate::reporter::Step;

pub(crate) fn cache(command: CacheCommand, printer: &Printer) -> anyhow::Result<ExitStatus> {
    let cache = Cache::from_env();
    let root = cache.root().display().to_string();
    let removed = |what: &str, usage: Usage| {
        printer.status(
            Step::Removed,
            format!(
                "{what}: {} files, {} (`{root}`)",
                usage.files,
                human_bytes(usage.bytes)
            ),
        );
    };
    match command {
        CacheCommand::Dir => printer.data(&root),
        CacheCommand::Size => {
            let mut total = 0;
            for (bucket, usage) in manage::usage(&cache) {
                total += usage.bytes;
                printer.data(format!("{bucket:<13} {:>10}", human_bytes(usage.bytes)));
            }
            printer.data(format!("{:<13} {:>10}", "total", human_bytes(total)));
        }
        CacheCommand::Prune => removed(
            "unused cache entries",
            manage::prune(&cache).with_context(|| format!("failed to prune `{root}`"))?,
        ),
        CacheCommand::Clean => removed(
            "the cache",
            manage::clean(&cache).with_context(|| format!("failed to clean `{root}`"))?,
        ),
    }
    Ok(ExitStatus::Success)
}
