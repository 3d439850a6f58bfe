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

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use pyship_plugin::{
    Describe, OptionDoc, PROTOCOL_VERSIONS, PluginRole, PublishRequest, PublishResult, Published,
};

fn describe() -> Describe {
    let mut describe = Describe::new(
        "apt",
        "adds .deb artifacts to a signed APT repository in a directory",
        &[],
    );
    describe.role = PluginRole::Publisher;
    describe.accepts = vec!["deb".into()];
    let option = |name: &str, value_type: &str, doc: &str| OptionDoc {
        name: name.into(),
        value_type: value_type.into(),
        doc: doc.into(),
    };
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
            "origin",
            "string",
            "the repository's Origin and Label (default: the project name)",
        ),
    ];
    describe
}

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("apt") {
        args.remove(0);
    }
    let result = match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["describe"] => serde_json::to_string(&describe()).map_err(|error| error.to_string()),
        ["publish", "--request", path] => publish(Path::new(path)),
        _ => {
            eprintln!(
                "Usage: pyship-apt describe\n       pyship-apt publish --request PATH\n\nThis is a pyship publisher; it is usually run by `pyship publish apt DIR`."
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(output) => {
            println!("{output}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn publish(request_path: &Path) -> Result<String, String> {
    let text = std::fs::read_to_string(request_path)
        .map_err(|error| format!("failed to read `{}`: {error}", request_path.display()))?;
    let request: PublishRequest = serde_json::from_str(&text)
        .map_err(|error| format!("invalid request `{}`: {error}", request_path.display()))?;
    if !PROTOCOL_VERSIONS.contains(&request.protocol) {
        return Err(format!(
            "the request speaks protocol {}; this publisher speaks {PROTOCOL_VERSIONS:?}",
            request.protocol
        ));
    }
    let option_str = |name: &str| -> Result<Option<String>, String> {
        match request.options.get(name) {
            None => Ok(None),
            Some(serde_json::Value::String(value)) => Ok(Some(value.clone())),
            Some(_) => Err(format!("`{name}` in [tool.pyship.apt] is a string")),
        }
    };
    let unsigned = match request.options.get("unsigned") {
        None => false,
        Some(serde_json::Value::Bool(value)) => *value,
        Some(_) => return Err("`unsigned` in [tool.pyship.apt] is true or false".into()),
    };
    let suite = option_str("suite")?;
    let origin = option_str("origin")?.unwrap_or_else(|| request.project.clone());
    if let Some(suite) = &suite {
        pyship_plugin_kit::publish::check_name("suite", suite)?;
    }
    pyship_plugin_kit::publish::check_name("origin", &origin.replace(' ', "-"))?;
    let signer = pyship_plugin_kit::sign::Signer::choose(
        option_str("key")?.as_deref(),
        unsigned,
        "[tool.pyship.apt]",
    )?;
    let repository = repo::Repository::open(PathBuf::from(&request.destination))?;
    let published = repository.add(&request.artifacts, suite.as_deref(), &origin, &signer)?;
    let result = PublishResult {
        protocol: request.protocol,
        published: published
            .into_iter()
            .map(|(artifact, location)| Published {
                artifact,
                location: location.display().to_string(),
            })
            .collect(),
    };
    serde_json::to_string(&result).map_err(|error| error.to_string())
}
