//! `pyship run -- CMD…`: the command run against the staged tree at its install prefix.

use std::ffi::OsString;

use super::ExitStatus;
use crate::ops::{self, Workspace};

/// Stages the project for one target and runs `command` with the staged tree bound at the
/// install prefix; exits with the command's status.
pub(crate) fn run(
    workspace: &Workspace,
    target: Option<&str>,
    groups: &[String],
    command: &[OsString],
) -> anyhow::Result<ExitStatus> {
    let staged = ops::stage::stage_targets(workspace, target)?;
    let [staged] = staged.as_slice() else {
        anyhow::bail!("the lock has several targets: name the one to run with `--target`");
    };
    let venv = ops::stage::with_groups(workspace, staged, groups)?;
    let code = ops::run::run_in_place(&venv, command)?;
    Ok(ExitStatus::Code(code))
}
