//! Signing repository indexes with GnuPG: clear-signed (apt's `InRelease`) and detached,
//! armored (apt's `Release.gpg`, dnf's `repomd.xml.asc`). The key is the one named, else the
//! keyring's only secret key; the key is tried before anything is written, so that a missing
//! or unusable key leaves the repository as it was.

use std::io::Write;
use std::process::{Command, Stdio};

/// How the repository is signed.
pub enum Signer {
    /// With this key (an id or fingerprint of the keyring's secret keys).
    Key(String),
    /// Not at all (`unsigned = true`): clients must be told `[trusted=yes]`.
    Unsigned,
}

impl Signer {
    /// The signer for `key` (the option), or the keyring's only secret key; `table` names
    /// where the options are set (`[tool.pyship.apt]`) in what the errors say.
    pub fn choose(key: Option<&str>, unsigned: bool, table: &str) -> Result<Signer, String> {
        if unsigned {
            return Ok(Signer::Unsigned);
        }
        let signer = match key {
            Some(key) => Signer::Key(key.to_string()),
            None => {
                let listed = gpg(&["--list-secret-keys", "--with-colons"], None)?;
                // The first fingerprint of each `sec` block is the primary key's.
                let primaries = primary_fingerprints(&String::from_utf8_lossy(&listed));
                match primaries.as_slice() {
                    [one] => Signer::Key(one.clone()),
                    [] => {
                        return Err(format!(
                            "no secret key to sign the repository with in the GnuPG keyring (GNUPGHOME): import one (`gpg --import KEY.asc`), name it with `key = \"FINGERPRINT\"` in {table}, or publish unsigned with `unsigned = true`"
                        ));
                    }
                    several => {
                        return Err(format!(
                            "the GnuPG keyring holds {} secret keys ({}): name the one to sign with, `key = \"FINGERPRINT\"` in {table}",
                            several.len(),
                            several.join(", ")
                        ));
                    }
                }
            }
        };
        // Tried now: an unusable key fails before the repository is touched.
        signer.clearsign(b"pyship: checking the signing key\n")?;
        Ok(signer)
    }

    /// `text` clear-signed (apt's `InRelease`); `None` when unsigned.
    pub fn clearsign(&self, text: &[u8]) -> Result<Option<Vec<u8>>, String> {
        self.sign(&["--clearsign"], text)
    }

    /// A detached, armored signature of `text` (`Release.gpg`, `repomd.xml.asc`); `None`
    /// when unsigned.
    pub fn detach_sign(&self, text: &[u8]) -> Result<Option<Vec<u8>>, String> {
        self.sign(&["--armor", "--detach-sign"], text)
    }

    /// `text` signed by gpg in the form `how` asks; `None` when unsigned.
    fn sign(&self, how: &[&str], text: &[u8]) -> Result<Option<Vec<u8>>, String> {
        let Signer::Key(key) = self else {
            return Ok(None);
        };
        let mut args = vec!["--local-user", key, "--digest-algo", "SHA512"];
        args.extend(how);
        gpg(&args, Some(text)).map(Some)
    }

    /// Adds a header signature to the rpm at `path` (`rpmsign --addsign`, rpm's own tool,
    /// with this key through GnuPG), as `rpmkeys --checksig` verifies it; nothing when
    /// unsigned.
    pub fn sign_rpm(&self, path: &std::path::Path) -> Result<(), String> {
        let Signer::Key(key) = self else {
            return Ok(());
        };
        // rpm's own macro names a gpg of its distribution's (`/usr/bin/gpg2`): the one on PATH.
        let gpg = std::env::var_os("PATH")
            .iter()
            .flat_map(std::env::split_paths)
            .map(|directory| directory.join("gpg"))
            .find(|candidate| candidate.is_file())
            .ok_or("gpg (GnuPG) is not on PATH: rpmsign needs it to sign the rpm")?;
        let output = Command::new("rpmsign")
            .arg("--addsign")
            .arg("--define")
            .arg(format!("_gpg_name {key}"))
            .arg("--define")
            .arg(format!("__gpg {}", gpg.display()))
            .arg(path)
            .stdin(Stdio::null())
            .output()
            .map_err(|error| format!("failed to run rpmsign (rpm's signing tool): {error}"))?;
        if !output.status.success() {
            return Err(format!(
                "rpmsign failed to sign `{}`: {}",
                path.display(),
                String::from_utf8_lossy(&output.stderr).trim()
            ));
        }
        Ok(())
    }
}

/// The fingerprints of the primary secret keys in `gpg --with-colons` output.
fn primary_fingerprints(listing: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut want = false;
    for line in listing.lines() {
        if line.starts_with("sec:") {
            want = true;
        } else if want && line.starts_with("fpr:") {
            if let Some(fingerprint) = line.split(':').nth(9) {
                out.push(fingerprint.to_string());
            }
            want = false;
        }
    }
    out
}

/// Runs `gpg --batch` with `args`, `input` on stdin; its stdout.
fn gpg(args: &[&str], input: Option<&[u8]>) -> Result<Vec<u8>, String> {
    let mut child = Command::new("gpg")
        .args(["--batch", "--yes", "--no-tty", "--pinentry-mode", "error"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|error| format!("failed to run gpg (GnuPG, to sign the repository): {error}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(input.unwrap_or_default());
    }
    let output = child
        .wait_with_output()
        .map_err(|error| format!("gpg failed: {error}"))?;
    if !output.status.success() {
        return Err(format!(
            "gpg {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    Ok(output.stdout)
}
