//! What every publisher needs: one publish at a time per repository, files written whole or
//! not at all, and names that are safe as paths and index fields.

use std::io::Write;

use pyship_plugin::serde_json;
use std::path::{Path, PathBuf};

/// A name that becomes a path or an index field: letters, digits and `._+-`.
pub fn check_name(what: &str, value: &str) -> Result<(), String> {
    let valid = !value.is_empty()
        && !value.starts_with(['.', '-'])
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._+-".contains(c));
    if valid {
        Ok(())
    } else {
        Err(format!(
            "the {what} `{}` is not a plain name (letters, digits and `._+-`)",
            value.escape_debug()
        ))
    }
}

/// One publish at a time: a lock file in the repository holds the publisher's pid; a lock
/// whose process is gone is taken over.
pub struct Lock {
    path: PathBuf,
}

impl Lock {
    /// Takes `root/name`, waiting up to five minutes for another publisher to let go.
    pub fn take(root: &Path, name: &str) -> Result<Lock, String> {
        let path = root.join(name);
        let started = std::time::Instant::now();
        loop {
            match std::fs::File::create_new(&path) {
                Ok(mut file) => {
                    let _ = write!(file, "{}", std::process::id());
                    return Ok(Lock { path });
                }
                Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
                    let holder = std::fs::read_to_string(&path).unwrap_or_default();
                    let alive = holder
                        .trim()
                        .parse::<u32>()
                        .is_ok_and(|pid| Path::new(&format!("/proc/{pid}")).exists());
                    if !alive {
                        let _ = std::fs::remove_file(&path);
                        continue;
                    }
                    if started.elapsed() > std::time::Duration::from_secs(300) {
                        return Err(format!(
                            "another publish (process {}) holds `{}` for 5 minutes",
                            holder.trim(),
                            path.display()
                        ));
                    }
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
                Err(error) => {
                    return Err(format!("failed to lock `{}`: {error}", path.display()));
                }
            }
        }
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Writes `path` whole or not at all: a temporary beside it, renamed over it.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let temporary = Temporary::beside(path)?;
    temporary.write(bytes)?;
    temporary.rename_to(path)
}

/// A file being prepared beside where it goes (`.NAME.PID.tmp`), removed unless renamed
/// into place, also when the lifeline ends the process.
pub struct Temporary {
    pub path: PathBuf,
}

impl Temporary {
    /// A temporary for `target`, its directory made.
    pub fn beside(target: &Path) -> Result<Temporary, String> {
        let directory = target.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(directory)
            .map_err(|error| format!("failed to create `{}`: {error}", directory.display()))?;
        let path = directory.join(format!(
            ".{}.{}.tmp",
            target.file_name().unwrap_or_default().to_string_lossy(),
            std::process::id()
        ));
        pyship_plugin::temporary_started(&path);
        Ok(Temporary { path })
    }

    /// Writes `bytes`, flushed to disk.
    pub fn write(&self, bytes: &[u8]) -> Result<(), String> {
        std::fs::File::create(&self.path)
            .and_then(|mut file| file.write_all(bytes).and_then(|()| file.sync_all()))
            .map_err(|error| format!("failed to write `{}`: {error}", self.path.display()))
    }

    /// Puts it in place of `target`.
    pub fn rename_to(self, target: &Path) -> Result<(), String> {
        std::fs::rename(&self.path, target)
            .map_err(|error| format!("failed to write `{}`: {error}", target.display()))
    }
}

impl Drop for Temporary {
    fn drop(&mut self) {
        // Gone already when it was renamed into place.
        let _ = std::fs::remove_file(&self.path);
        pyship_plugin::temporary_ended(&self.path);
    }
}

/// Runs a publisher with the process's arguments: `describe`, or `publish --request PATH`,
/// which reads and checks the request and hands it to `publish`, then prints where each
/// artifact is now (the publisher protocol's result). A leading argument equal to the
/// publisher's name is dropped, as for formats.
pub fn main(
    describe: pyship_plugin::Describe,
    publish: impl Fn(&Request) -> Result<Vec<(PathBuf, PathBuf)>, String>,
) -> std::process::ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    if args.first() == Some(&describe.name) {
        args.remove(0);
    }
    let result = match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["describe"] => serde_json::to_string(&describe).map_err(|error| error.to_string()),
        ["publish", "--request", path] => {
            Request::read(Path::new(path), &describe.name).and_then(|request| {
                let published = publish(&request)?;
                serde_json::to_string(&pyship_plugin::PublishResult {
                    protocol: request.request.protocol,
                    published: published
                        .into_iter()
                        .map(|(artifact, location)| pyship_plugin::Published {
                            artifact,
                            location: location.display().to_string(),
                        })
                        .collect(),
                })
                .map_err(|error| error.to_string())
            })
        }
        ["--help" | "-h" | "help"] => Ok(help(&describe)),
        _ => {
            eprintln!("{}", usage(&describe));
            return std::process::ExitCode::from(2);
        }
    };
    match result {
        Ok(output) => {
            println!("{output}");
            std::process::ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("error: {message}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn usage(describe: &pyship_plugin::Describe) -> String {
    format!(
        "Usage: pyship-{name} describe\n       pyship-{name} publish --request PATH\n\n{summary}.\nThis is a pyship publisher; it is usually run by `pyship publish {name} DIR`.",
        name = describe.name,
        summary = describe.summary
    )
}

/// The usage, then every option of `[tool.pyship.NAME]`.
fn help(describe: &pyship_plugin::Describe) -> String {
    let mut text = usage(describe);
    text.push_str(&format!(
        "\n\nOptions, in `[tool.pyship.{}]` of pyproject.toml:",
        describe.name
    ));
    let width = describe
        .options
        .iter()
        .map(|option| option.name.len() + option.value_type.len() + 3)
        .max()
        .unwrap_or(0);
    for option in &describe.options {
        let left = format!("{} ({})", option.name, option.value_type);
        text.push_str(&format!("\n  {left:<width$}  {}", option.doc));
    }
    text
}

/// A publish request, read and checked, with typed access to its options.
pub struct Request {
    pub request: pyship_plugin::PublishRequest,
    /// `[tool.pyship.NAME]`, as errors name it.
    table: String,
}

impl Request {
    fn read(path: &Path, name: &str) -> Result<Request, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|error| format!("failed to read `{}`: {error}", path.display()))?;
        let request: pyship_plugin::PublishRequest = serde_json::from_str(&text)
            .map_err(|error| format!("invalid request `{}`: {error}", path.display()))?;
        if !pyship_plugin::PROTOCOL_VERSIONS.contains(&request.protocol) {
            return Err(format!(
                "the request speaks protocol {}; this publisher speaks {:?}",
                request.protocol,
                pyship_plugin::PROTOCOL_VERSIONS
            ));
        }
        Ok(Request {
            request,
            table: format!("[tool.pyship.{name}]"),
        })
    }

    /// `[tool.pyship.NAME]`.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// A string option.
    pub fn string(&self, name: &str) -> Result<Option<String>, String> {
        match self.request.options.get(name) {
            None => Ok(None),
            Some(serde_json::Value::String(value)) => Ok(Some(value.clone())),
            Some(_) => Err(format!("`{name}` in {} is a string", self.table)),
        }
    }

    /// A boolean option, `false` when absent.
    pub fn flag(&self, name: &str) -> Result<bool, String> {
        match self.request.options.get(name) {
            None => Ok(false),
            Some(serde_json::Value::Bool(value)) => Ok(*value),
            Some(_) => Err(format!("`{name}` in {} is true or false", self.table)),
        }
    }

    /// A whole-number option within `range`.
    pub fn number(
        &self,
        name: &str,
        range: std::ops::RangeInclusive<u64>,
    ) -> Result<Option<u64>, String> {
        match self.request.options.get(name) {
            None => Ok(None),
            Some(value) => value
                .as_u64()
                .filter(|number| range.contains(number))
                .map(Some)
                .ok_or_else(|| {
                    format!(
                        "`{name}` in {} is a whole number from {} to {}",
                        self.table,
                        range.start(),
                        range.end()
                    )
                }),
        }
    }

    /// The signer the options ask for (`key`, `unsigned`), the key tried first.
    pub fn signer(&self) -> Result<crate::sign::Signer, String> {
        crate::sign::Signer::choose(
            self.string("key")?.as_deref(),
            self.flag("unsigned")?,
            &self.table,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_become_paths_or_fields_are_plain() {
        assert!(check_name("suite", "bookworm").is_ok());
        for bad in [
            "",
            "../etc",
            "/etc",
            "a/b",
            "a\nOrigin: x",
            ".hidden",
            "-x",
            "a b",
        ] {
            assert!(check_name("suite", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_temporary_is_gone_unless_renamed_into_place() {
        let directory = tempfile::tempdir().unwrap();
        let target = directory.path().join("Packages");
        let temporary = Temporary::beside(&target).unwrap();
        temporary.write(b"x").unwrap();
        let path = temporary.path.clone();
        drop(temporary);
        assert!(!path.exists() && !target.exists());
        write_atomically(&target, b"y").unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"y");
        assert_eq!(std::fs::read_dir(directory.path()).unwrap().count(), 1);
    }
}
