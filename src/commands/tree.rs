//! `pyship tree`: the locked dependency tree, from the lock's `dependencies` entries.

use super::{ExitStatus, read_lock};
use crate::cli::{MessageFormat, TreeArgs};
use crate::lockfile::{TreeOptions, render_tree, tree_json};
use crate::printer::Printer;
use crate::settings::GlobalSettings;

/// Prints the tree on stdout, each package once in full; repeats are marked `(*)`.
pub(crate) fn tree(
    global: &GlobalSettings,
    args: TreeArgs,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    let lock = read_lock(global, args.lockfile)?;
    let options = TreeOptions {
        invert: args.invert,
        packages: args.packages,
        depth: args.depth,
    };
    if args.message_format == MessageFormat::Json {
        printer.data(tree_json(&lock, &options)?);
        return Ok(ExitStatus::Success);
    }
    for line in render_tree(&lock, &options)? {
        printer.data(line);
    }
    Ok(ExitStatus::Success)
}
