//! `pyship cache dir | size | prune | clean`.

use anyhow::Context as _;

use super::ExitStatus;
use crate::cache::Cache;
use crate::cache::manage::{self, Usage, human_bytes};
use crate::cli::{CacheCommand, MessageFormat};
use crate::printer::Printer;
use crate::reporter::Step;

pub(crate) fn cache(
    command: CacheCommand,
    format: MessageFormat,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    let cache = Cache::from_env();
    let root = cache.root().display().to_string();
    if format == MessageFormat::Json {
        printer.data(json(command, &cache, &root)?);
        return Ok(ExitStatus::Success);
    }
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

/// The result as one JSON object.
fn json(command: CacheCommand, cache: &Cache, root: &str) -> anyhow::Result<serde_json::Value> {
    let removed = |usage: Usage| serde_json::json!({"dir": root, "removed": {"files": usage.files, "bytes": usage.bytes}});
    Ok(match command {
        CacheCommand::Dir => serde_json::json!({ "dir": root }),
        CacheCommand::Size => {
            let buckets: serde_json::Map<String, serde_json::Value> = manage::usage(cache)
                .into_iter()
                .map(|(bucket, usage)| (bucket.to_string(), usage.bytes.into()))
                .collect();
            let total: u64 = buckets.values().filter_map(serde_json::Value::as_u64).sum();
            serde_json::json!({"dir": root, "buckets": buckets, "total": total})
        }
        CacheCommand::Prune => removed(manage::prune(cache)?),
        CacheCommand::Clean => removed(manage::clean(cache)?),
    })
}
