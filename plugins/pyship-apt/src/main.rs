//! pyship-apt: a pyship publisher that adds this build's .debs to an APT repository in a
//! directory, in the standard layout any static server (or object store) can serve:
//!
//! ```text
//! DIR/pool/main/h/hello/hello_0.1.0-1~deb12_amd64.deb
//! DIR/dists/bookworm/{InRelease,Release,Release.gpg}
//! DIR/dists/bookworm/main/binary-amd64/{Packages,Packages.gz,Packages.xz,by-hash/SHA256/…}
//! ```
//!
//! One suite per target release (from the package's `~debNN`/`~ubuntuNN.NN` version suffix,
//! or `suite` in `[tool.pyship.apt]`), so a build for Debian 11 only ever appears in
//! bullseye. Adding a package reads only its suite's index. Readers see the old repository
//! or the new one: pool files and by-hash indexes first, `InRelease` last; one publish at a
//! time (a lock file). A published file never changes: the same name with other bytes is
//! refused.

mod deb;
mod index;
mod repo;
mod version;

use std::path::PathBuf;
use std::process::ExitCode;

use pyship_plugin::{Describe, OptionDoc, PluginRole};
use pyship_plugin_kit::publish::{Request, check_name};

fn describe() -> Describe {
    let mut describe = Describe::new(
        "apt",
        "adds .deb artifacts to a signed APT repository in a directory",
        &[],
    );
    describe.role = PluginRole::Publisher;
    describe.accepts = vec!["deb".into()];
    let option = OptionDoc::new;
    describe.options = vec![
        option(
            "suite",
            "string",
            "the suite to publish into (default: the release the package was built for, from its ~debNN version suffix)",
        ),
        option(
            "key",
            "string",
            "the GnuPG key to sign with (default: the keyring's only secret key)",
        ),
        option(
            "unsigned",
            "boolean",
            "publish without signatures (clients then need [trusted=yes])",
        ),
        option(
            "keep",
            "integer",
            "how many versions of each package stay listed, the newest (at least 2; default: all)",
        ),
        option(
            "valid-days",
            "integer",
            "days clients trust the signed index (Valid-Until); republish before it ends",
        ),
        option(
            "origin",
            "string",
            "the repository's Origin and Label (default: the project name)",
        ),
    ];
    describe
}

fn main() -> ExitCode {
    pyship_plugin_kit::publish::main(describe(), publish)
}

fn publish(request: &Request) -> Result<Vec<(PathBuf, PathBuf)>, String> {
    let suite = request.string("suite")?;
    let origin = request
        .string("origin")?
        .unwrap_or_else(|| request.request.project.clone());
    if let Some(suite) = &suite {
        check_name("suite", suite)?;
    }
    check_name("origin", &origin.replace(' ', "-"))?;
    let policy = repo::Policy {
        origin,
        keep: request.number("keep", 2..=10_000)?,
        valid_days: request.number("valid-days", 1..=3650)?,
    };
    let signer = request.signer()?;
    let repository = repo::Repository::open(PathBuf::from(&request.request.destination))?;
    repository.add(
        &request.request.artifacts,
        suite.as_deref(),
        &policy,
        &signer,
    )
}
