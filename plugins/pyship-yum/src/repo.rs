//! The repository directory: its record of the packages it holds, the metadata written from
//! it (named by hash), `repomd.xml` and its signature.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use pyship_plugin::Artifact;
use pyship_plugin_kit::compress::{self, Compression};
use pyship_plugin_kit::publish::{Lock, Temporary, check_name, write_atomically};
use pyship_plugin_kit::sign::Signer;
use sha2::{Digest, Sha256};

use crate::metadata::{self, Entry};

/// The record of what a repository holds: every package's metadata by its id.
const STATE: &str = "repodata/pyship-packages.json";

fn sha256(bytes: &[u8]) -> String {
    pyship_plugin::hex(&Sha256::digest(bytes))
}

/// Adds `artifacts` to the repositories under `root` and signs each changed one; where each
/// artifact is now.
pub fn add(
    root: &Path,
    artifacts: &[Artifact],
    suite: Option<&str>,
    signer: &Signer,
) -> Result<Vec<(PathBuf, PathBuf)>, String> {
    std::fs::create_dir_all(root)
        .map_err(|error| format!("failed to create `{}`: {error}", root.display()))?;
    let _lock = Lock::take(root, ".pyship-yum.lock")?;
    // Everything is read, checked and signed (in temporaries) before anything is published.
    let mut repositories: BTreeMap<String, BTreeMap<String, Entry>> = BTreeMap::new();
    let mut copies: Vec<(PathBuf, Option<Temporary>, PathBuf)> = Vec::new();
    for artifact in artifacts {
        let path = &artifact.path;
        let bytes = std::fs::read(path)
            .map_err(|error| format!("failed to read `{}`: {error}", path.display()))?;
        if sha256(&bytes) != artifact.sha256 {
            return Err(format!(
                "`{}` does not match its sha256 (it changed since it was built)",
                path.display()
            ));
        }
        let file_name = path
            .file_name()
            .and_then(|name| name.to_str())
            .ok_or_else(|| format!("`{}` has no file name", path.display()))?
            .to_string();
        check_name("file name", &file_name)?;
        let href = format!("Packages/{file_name}");
        let nevra = metadata::nevra(path)?;
        let suite = match suite {
            Some(suite) => suite.to_string(),
            None => dist_tag(&nevra).ok_or_else(|| {
                format!(
                    "`{file_name}` was built for no release pyship-yum knows (its release has no `.elN` dist tag): lock for a preset target (`rhel-9`), or set `suite = \"el9\"` in [tool.pyship.yum]"
                )
            })?,
        };
        if !repositories.contains_key(&suite) {
            repositories.insert(suite.clone(), read_state(&root.join(&suite))?);
        }
        let packages = repositories.get_mut(&suite).expect("inserted above");
        let target = root.join(&suite).join(&href);
        // The same build published again is already there; another build of the same
        // version never replaces it.
        if let Some(known) = packages.values().find(|known| known.nevra == nevra) {
            if known.source_sha256 == artifact.sha256 {
                copies.push((path.clone(), None, target));
                continue;
            }
            return Err(format!(
                "{nevra} is already published in {suite} with other bytes (its build had sha256 {}): a repository never changes a published package; publish a new version (a build number)",
                known.source_sha256
            ));
        }
        if target.exists() {
            return Err(format!(
                "`{suite}/{href}` is already published with other bytes: a repository never changes a published file; publish a new version (a build number)"
            ));
        }
        // The repository's copy is signed, the artifact stays as it was built (reproducible).
        let copy = Temporary::beside(&target)?;
        copy.write(&bytes)?;
        signer.sign_rpm(&copy.path)?;
        let signed = std::fs::read(&copy.path)
            .map_err(|error| format!("failed to read `{}`: {error}", copy.path.display()))?;
        let pkgid = sha256(&signed);
        let mut entry = metadata::entry(&copy.path, &pkgid, signed.len() as u64, &href)?;
        entry.source_sha256 = artifact.sha256.clone();
        packages.insert(pkgid, entry);
        copies.push((path.clone(), Some(copy), target));
    }

    // The packages first: no metadata names them yet.
    let mut published = Vec::new();
    for (artifact, copy, target) in copies {
        if let Some(copy) = copy {
            copy.rename_to(&target)?;
        }
        published.push((artifact, target));
    }
    for (suite, packages) in &repositories {
        write_repository(&root.join(suite), packages, signer)?;
    }
    Ok(published)
}

/// `el9` from `hello-0:0.1.0-1.el9.x86_64`.
fn dist_tag(nevra: &str) -> Option<String> {
    let without_arch = nevra.rsplit_once('.')?.0;
    let tag = without_arch.rsplit_once('.')?.1;
    let number = tag.strip_prefix("el")?;
    (!number.is_empty() && number.chars().all(|c| c.is_ascii_digit())).then(|| tag.to_string())
}

/// The record of `repository`, empty when it is new; metadata another tool wrote is refused
/// (pyship-yum would drop what it does not know).
fn read_state(repository: &Path) -> Result<BTreeMap<String, Entry>, String> {
    let path = repository.join(STATE);
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let value: serde_json::Value = serde_json::from_str(&text)
                .map_err(|error| format!("`{}` is damaged: {error}", path.display()))?;
            let field = |item: &serde_json::Value, name: &str| -> Result<String, String> {
                item[name].as_str().map(String::from).ok_or_else(|| {
                    format!("`{}` is damaged: an entry without `{name}`", path.display())
                })
            };
            let mut packages = BTreeMap::new();
            for item in value.as_array().into_iter().flatten() {
                let entry = Entry {
                    pkgid: field(item, "pkgid")?,
                    name: field(item, "name")?,
                    nevra: field(item, "nevra")?,
                    source_sha256: field(item, "source-sha256")?,
                    primary: field(item, "primary")?,
                    filelists: field(item, "filelists")?,
                    other: field(item, "other")?,
                };
                packages.insert(entry.pkgid.clone(), entry);
            }
            Ok(packages)
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            if repository.join("repodata").exists() {
                return Err(format!(
                    "`{}` holds repository metadata pyship-yum did not write (no `{STATE}`): publish into a new directory",
                    repository.display()
                ));
            }
            Ok(BTreeMap::new())
        }
        Err(error) => Err(format!("failed to read `{}`: {error}", path.display())),
    }
}

/// Writes the metadata of `packages` under its hash, the record, then `repomd.xml` and its
/// signature.
fn write_repository(
    repository: &Path,
    packages: &BTreeMap<String, Entry>,
    signer: &Signer,
) -> Result<(), String> {
    let count = packages.len();
    let mut entries: Vec<&Entry> = packages.values().collect();
    entries.sort_by(|a, b| a.nevra.cmp(&b.nevra));
    let documents = [
        (
            "primary",
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<metadata xmlns=\"http://linux.duke.edu/metadata/common\" xmlns:rpm=\"http://linux.duke.edu/metadata/rpm\" packages=\"{count}\">\n{}</metadata>\n",
                entries
                    .iter()
                    .map(|entry| entry.primary.as_str())
                    .collect::<String>()
            ),
        ),
        (
            "filelists",
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<filelists xmlns=\"http://linux.duke.edu/metadata/filelists\" packages=\"{count}\">\n{}</filelists>\n",
                entries
                    .iter()
                    .map(|entry| entry.filelists.as_str())
                    .collect::<String>()
            ),
        ),
        (
            "other",
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<otherdata xmlns=\"http://linux.duke.edu/metadata/other\" packages=\"{count}\">\n{}</otherdata>\n",
                entries
                    .iter()
                    .map(|entry| entry.other.as_str())
                    .collect::<String>()
            ),
        ),
    ];
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs());
    let mut repomd = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<repomd xmlns=\"http://linux.duke.edu/metadata/repo\" xmlns:rpm=\"http://linux.duke.edu/metadata/rpm\">\n  <revision>{now}</revision>\n"
    );
    for (kind, xml) in &documents {
        let compressed = compress::compress(xml.as_bytes(), Compression::Gzip(9))
            .map_err(|error| format!("failed to compress {kind}.xml: {error}"))?;
        let hash = sha256(&compressed);
        let href = format!("repodata/{hash}-{kind}.xml.gz");
        write_atomically(&repository.join(&href), &compressed)?;
        repomd.push_str(&format!(
            "  <data type=\"{kind}\">\n    <checksum type=\"sha256\">{hash}</checksum>\n    <open-checksum type=\"sha256\">{}</open-checksum>\n    <location href=\"{href}\"/>\n    <timestamp>{now}</timestamp>\n    <size>{}</size>\n    <open-size>{}</open-size>\n  </data>\n",
            sha256(xml.as_bytes()),
            compressed.len(),
            xml.len()
        ));
    }
    repomd.push_str("</repomd>\n");
    let state: Vec<serde_json::Value> = entries
        .iter()
        .map(|entry| {
            serde_json::json!({
                "pkgid": entry.pkgid,
                "name": entry.name,
                "nevra": entry.nevra,
                "source-sha256": entry.source_sha256,
                "primary": entry.primary,
                "filelists": entry.filelists,
                "other": entry.other,
            })
        })
        .collect();
    let state = serde_json::to_string_pretty(&state).map_err(|error| error.to_string())?;
    write_atomically(&repository.join(STATE), state.as_bytes())?;
    let signature = signer.detach_sign(repomd.as_bytes())?;
    write_atomically(&repository.join("repodata/repomd.xml"), repomd.as_bytes())?;
    if let Some(signature) = signature {
        write_atomically(&repository.join("repodata/repomd.xml.asc"), &signature)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dist_tag_names_the_release() {
        assert_eq!(
            dist_tag("hello-0:0.1.0-1.el9.x86_64").as_deref(),
            Some("el9")
        );
        assert_eq!(dist_tag("hello-0:0.1.0-1.x86_64"), None);
        assert_eq!(dist_tag("hello-0:0.1.0-1.fc40.noarch"), None);
    }
}
