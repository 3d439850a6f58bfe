//! pyship-yum: a pyship publisher that adds this build's .rpms to a YUM/DNF repository in a
//! directory, as dnf reads it:
//!
//! ```text
//! DIR/el9/Packages/hello-0.1.0-1.el9.x86_64.rpm
//! DIR/el9/repodata/{repomd.xml,repomd.xml.asc,SHA-primary.xml.gz,SHA-filelists.xml.gz,SHA-other.xml.gz}
//! ```
//!
//! One repository per target release (from the package's `.elN` dist tag, or `suite` in
//! `[tool.pyship.yum]`). Adding a package reads the repository's own record of what it holds
//! (`repodata/pyship-packages.json`), not every rpm. The metadata files are named by their
//! hash, so a reader holding the old `repomd.xml` still finds its files; one publish at a
//! time; a published file never changes.

mod metadata;
mod repo;

use std::path::PathBuf;
use std::process::ExitCode;

use pyship_plugin::{Describe, OptionDoc, PluginRole};
use pyship_plugin_kit::publish::{Request, check_name};

fn describe() -> Describe {
    let mut describe = Describe::new(
        "yum",
        "adds .rpm artifacts to a signed YUM/DNF repository in a directory",
        &[],
    );
    describe.role = PluginRole::Publisher;
    describe.accepts = vec!["rpm".into()];
    let option = OptionDoc::new;
    describe.options = vec![
        option(
            "suite",
            "string",
            "the repository's directory under DIR (default: the package's dist tag, el9)",
        ),
        option(
            "key",
            "string",
            "the GnuPG key to sign repomd.xml with (default: the keyring's only secret key)",
        ),
        option(
            "unsigned",
            "boolean",
            "publish without a signature (clients then need repo_gpgcheck=0)",
        ),
    ];
    describe
}

fn main() -> ExitCode {
    pyship_plugin_kit::publish::main(describe(), publish)
}

fn publish(request: &Request) -> Result<Vec<(PathBuf, PathBuf)>, String> {
    let suite = request.string("suite")?;
    if let Some(suite) = &suite {
        check_name("suite", suite)?;
    }
    let signer = request.signer()?;
    repo::add(
        &PathBuf::from(&request.request.destination),
        &request.request.artifacts,
        suite.as_deref(),
        &signer,
    )
}
