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

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use pyship_plugin::{
    Describe, OptionDoc, PROTOCOL_VERSIONS, PluginRole, PublishRequest, PublishResult, Published,
};

fn describe() -> Describe {
    let mut describe = Describe::new(
        "yum",
        "adds .rpm artifacts to a signed YUM/DNF repository in a directory",
        &[],
    );
    describe.role = PluginRole::Publisher;
    describe.accepts = vec!["rpm".into()];
    let option = |name: &str, value_type: &str, doc: &str| OptionDoc {
        name: name.into(),
        value_type: value_type.into(),
        doc: doc.into(),
    };
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
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("yum") {
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
                "Usage: pyship-yum describe\n       pyship-yum publish --request PATH\n\nThis is a pyship publisher; it is usually run by `pyship publish yum DIR`."
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
            Some(_) => Err(format!("`{name}` in [tool.pyship.yum] is a string")),
        }
    };
    let unsigned = match request.options.get("unsigned") {
        None => false,
        Some(serde_json::Value::Bool(value)) => *value,
        Some(_) => return Err("`unsigned` in [tool.pyship.yum] is true or false".into()),
    };
    let suite = option_str("suite")?;
    if let Some(suite) = &suite {
        repo::check_name("suite", suite)?;
    }
    let signer = pyship_plugin_kit::sign::Signer::choose(
        option_str("key")?.as_deref(),
        unsigned,
        "[tool.pyship.yum]",
    )?;
    let published = repo::add(
        &PathBuf::from(&request.destination),
        &request.artifacts,
        suite.as_deref(),
        &signer,
    )?;
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
