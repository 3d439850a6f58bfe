//! What requirements ask of the resolver beyond version ranges: exact pins that may choose a
//! yanked file, and direct references (`name @ URL`) to a file or a source tree.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context as _, bail};
use pep508_rs::pep440_rs::Operator;
use pep508_rs::{PackageName, Requirement, VersionOrUrl};

use crate::index::{DistFile, FileLocation};
use crate::pep517::WheelBuilder;
use crate::resolver::ResolveOptions;
use crate::settings::DEFAULT_INTERPRETER;
use crate::wheel::Metadata;

/// An exact pin (`==`, `===`) may choose a yanked file (PEP 592).
pub(super) fn allow_yanked_pins(requirements: &[Requirement], options: &mut ResolveOptions) {
    for requirement in requirements {
        if let Some(VersionOrUrl::VersionSpecifier(specifiers)) = &requirement.version_or_url {
            if specifiers.iter().any(|specifier| {
                matches!(specifier.operator(), Operator::Equal | Operator::ExactEqual)
            }) {
                options.allow_yanked.insert(requirement.name.clone());
            }
        }
    }
}

/// Puts each `name @ URL` requirement's file into `options.direct`; a source tree's metadata
/// is built with `builder` first, since its name and version are known only then.
pub(super) fn add_direct_references(
    requirements: &[Requirement],
    builder: Option<&WheelBuilder>,
    options: &mut ResolveOptions,
) -> anyhow::Result<()> {
    for requirement in requirements {
        let Some(VersionOrUrl::Url(url)) = &requirement.version_or_url else {
            continue;
        };
        let url = url.to_url();
        let directory = url.to_file_path().ok().filter(|path| path.is_dir());
        let file = match directory {
            Some(directory) => {
                let builder = builder.ok_or_else(|| {
                    anyhow::anyhow!(
                        "`{requirement}` is a source tree, and building it needs a Python interpreter (`{DEFAULT_INTERPRETER}` or `[tool.pyship] interpreter`)"
                    )
                })?;
                let text = builder.directory_metadata(&directory).with_context(|| {
                    format!("failed to build the metadata of `{}`", directory.display())
                })?;
                let metadata = Metadata::parse(&text)
                    .map_err(|message| anyhow::anyhow!("`{}`: {message}", directory.display()))?;
                if metadata.name != requirement.name {
                    bail!(
                        "`{requirement}` points to a project named `{}`",
                        metadata.name
                    );
                }
                let file = DistFile::source_tree(
                    metadata.name.clone(),
                    metadata.version.clone(),
                    directory,
                );
                options
                    .direct_metadata
                    .insert(requirement.name.clone(), Arc::new(metadata));
                file
            }
            None => direct_file(&requirement.name, &url)?,
        };
        options.direct.insert(requirement.name.clone(), file);
    }
    Ok(())
}

/// The wheel or sdist a `name @ URL` requirement points at: a local `file://` one or a remote
/// one (its `#sha256=` fragment, if any, is checked when it is downloaded).
fn direct_file(name: &PackageName, url: &reqwest::Url) -> anyhow::Result<DistFile> {
    let unsupported = || {
        anyhow::anyhow!(
            "`{name} @ {url}`: a direct reference must point to a wheel (`.whl`), an sdist (`.tar.gz`, `.zip`) or a local source tree, by `file://`, `http://` or `https://` URL; VCS URLs are not supported yet"
        )
    };
    let file_name = url
        .path_segments()
        .and_then(|mut segments| segments.next_back())
        .map(str::to_string)
        .ok_or_else(unsupported)?;
    let parsed =
        DistFile::new(&file_name, FileLocation::Path(PathBuf::new())).ok_or_else(unsupported)?;
    if &parsed.name != name {
        bail!(
            "`{name} @ {url}` points to a distribution of `{}`",
            parsed.name
        );
    }
    let (location, sha256) = match url.scheme() {
        "file" => {
            let path = url.to_file_path().map_err(|()| unsupported())?;
            if !path.is_file() {
                bail!("`{name} @ {url}`: `{}` does not exist", path.display());
            }
            (FileLocation::Path(path), None)
        }
        "http" | "https" => {
            let sha256 = url
                .fragment()
                .and_then(|fragment| fragment.strip_prefix("sha256="))
                .map(str::to_ascii_lowercase);
            let mut url = url.clone();
            url.set_fragment(None);
            (FileLocation::Url(url), sha256)
        }
        _ => return Err(unsupported()),
    };
    Ok(DistFile {
        location,
        sha256,
        ..parsed
    })
}
