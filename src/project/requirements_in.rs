//! pip-tools style `requirements.in` files.
//!
//! What pip's requirements-file format allows and a lock needs: one PEP 508 requirement per
//! line, `#` comments, `\` continuations, `-r`/`--requirement` includes and `-c`/`--constraint`
//! files (relative to the including file), and the index options `-i`/`--index-url`,
//! `--extra-index-url`, `-f`/`--find-links`, `--no-index` and `--pre`. Anything else is an
//! error naming the file and line, never silently ignored.

use std::path::{Path, PathBuf};

use pep508_rs::Requirement;

/// Why a requirements file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum RequirementsError {
    #[error("failed to read `{}`", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("`{}:{line}`: {message}", path.display())]
    Invalid {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("`{}` includes itself (through `-r` or `-c`)", path.display())]
    Cycle { path: PathBuf },
}

/// Everything read from a requirements file and its includes.
#[derive(Debug, Clone, Default)]
pub struct RequirementsIn {
    pub requirements: Vec<Requirement>,
    /// The file each of `requirements` was read from, in the same order.
    pub origins: Vec<PathBuf>,
    /// The line each of `requirements` starts on, in the same order.
    pub lines: Vec<usize>,
    /// The `--hash=ALGORITHM:DIGEST` values given with each of `requirements`, in the same
    /// order (pip's hash-checking mode).
    pub hashes: Vec<Vec<String>>,
    pub constraints: Vec<Requirement>,
    pub index_url: Option<String>,
    pub extra_index_urls: Vec<String>,
    /// Absolute directories.
    pub find_links: Vec<PathBuf>,
    pub no_index: bool,
    pub pre: bool,
}

impl RequirementsIn {
    /// Reads `path` (and what it includes) into `self`.
    pub fn read(&mut self, path: &Path) -> Result<(), RequirementsError> {
        self.read_file(path, false, &mut Vec::new())
    }

    fn read_file(
        &mut self,
        path: &Path,
        as_constraints: bool,
        stack: &mut Vec<PathBuf>,
    ) -> Result<(), RequirementsError> {
        let canonical = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        if stack.contains(&canonical) {
            return Err(RequirementsError::Cycle {
                path: path.to_path_buf(),
            });
        }
        let text = std::fs::read_to_string(path).map_err(|source| RequirementsError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        stack.push(canonical);
        let directory = path.parent().unwrap_or(Path::new("."));
        for (line_number, line) in logical_lines(&text) {
            let invalid = |message: String| RequirementsError::Invalid {
                path: path.to_path_buf(),
                line: line_number,
                message,
            };
            if line.starts_with('-') {
                let (option, value) = split_option(&line);
                let value_required = || {
                    value
                        .clone()
                        .filter(|value| !value.is_empty())
                        .ok_or_else(|| invalid(format!("`{option}` needs a value")))
                };
                match option.as_str() {
                    "-r" | "--requirement" => {
                        self.read_file(&directory.join(value_required()?), as_constraints, stack)?
                    }
                    "-c" | "--constraint" => {
                        self.read_file(&directory.join(value_required()?), true, stack)?
                    }
                    "-i" | "--index-url" => self.index_url = Some(value_required()?),
                    "--extra-index-url" => self.extra_index_urls.push(value_required()?),
                    "-f" | "--find-links" => {
                        self.find_links.push(directory.join(value_required()?))
                    }
                    "--no-index" => self.no_index = true,
                    "--pre" => self.pre = true,
                    "-e" | "--editable" => {
                        return Err(invalid(
                            "editable requirements cannot be shipped; list the project by path or name instead".into(),
                        ));
                    }
                    other => {
                        return Err(invalid(format!("unsupported option `{other}`")));
                    }
                }
                continue;
            }
            let (line, hashes) = split_hashes(&line).map_err(invalid)?;
            let line = match local_archive(directory, &line) {
                Some(Ok(requirement)) => requirement,
                Some(Err(message)) => return Err(invalid(message)),
                None => line,
            };
            let requirement = crate::pep508::parse_requirement(&line)
                .map_err(|message| invalid(format!("invalid requirement `{line}`: {message}")))?;
            if as_constraints {
                self.constraints.push(requirement);
            } else {
                self.requirements.push(requirement);
                self.origins.push(path.to_path_buf());
                self.lines.push(line_number);
                self.hashes.push(hashes);
            }
        }
        stack.pop();
        Ok(())
    }
}

/// A requirement line without its `--hash` options, and their values (`sha256:HEX`).
fn split_hashes(line: &str) -> Result<(String, Vec<String>), String> {
    let Some(start) = line.find(" --hash") else {
        return Ok((line.to_string(), Vec::new()));
    };
    let mut hashes = Vec::new();
    let mut tokens = line[start..].split_whitespace();
    while let Some(token) = tokens.next() {
        let value = match token.strip_prefix("--hash") {
            Some("") => tokens.next().map(str::to_string),
            Some(rest) => rest.strip_prefix('=').map(str::to_string),
            None => None,
        };
        match value {
            Some(value)
                if value.split_once(':').is_some_and(|(algorithm, digest)| {
                    !algorithm.is_empty() && !digest.is_empty()
                }) =>
            {
                hashes.push(value)
            }
            _ => {
                return Err(format!(
                    "`{token}`: after a requirement only `--hash=ALGORITHM:DIGEST` options may follow"
                ));
            }
        }
    }
    Ok((line[..start].trim().to_string(), hashes))
}

/// A bare path to a wheel or sdist (`./wheels/app-1.0-py3-none-any.whl`, pip's form), as the
/// PEP 508 requirement `NAME @ file:///absolute/path`; `None` when the line is not a path.
fn local_archive(directory: &Path, line: &str) -> Option<Result<String, String>> {
    let looks_like_path =
        line.starts_with("./") || line.starts_with("../") || line.starts_with('/');
    let is_archive = [".whl", ".tar.gz", ".zip"]
        .iter()
        .any(|suffix| line.ends_with(suffix));
    if !looks_like_path || !is_archive || line.contains(' ') {
        return None;
    }
    let path = directory.join(line);
    let file_name = path.file_name()?.to_str()?;
    let name = crate::wheel::WheelFilename::parse(file_name)
        .map(|wheel| wheel.name)
        .or_else(|| crate::wheel::parse_sdist_filename(file_name).map(|(name, _)| name));
    let Some(name) = name else {
        return Some(Err(format!("`{line}` is not a wheel or sdist file name")));
    };
    let absolute = std::fs::canonicalize(&path).unwrap_or(path);
    Some(Ok(format!("{name} @ file://{}", absolute.display())))
}

/// `(first physical line number, text)` for each non-empty logical line, comments removed and
/// continuations joined.
fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut lines = Vec::new();
    let mut current = String::new();
    let mut start = 0;
    for (index, raw) in text.lines().enumerate() {
        if current.is_empty() {
            start = index + 1;
        }
        // A comment starts at a `#` at the line start or after whitespace (pip's rule), so
        // URL fragments such as `#sha256=` stay.
        let without_comment = match raw.find(" #").or_else(|| raw.find("\t#")) {
            Some(position) => &raw[..position],
            None if raw.trim_start().starts_with('#') => "",
            None => raw,
        };
        if let Some(body) = without_comment.trim_end().strip_suffix('\\') {
            current.push_str(body);
            current.push(' ');
            continue;
        }
        current.push_str(without_comment);
        let line = current.trim().to_string();
        if !line.is_empty() {
            lines.push((start, line));
        }
        current.clear();
    }
    let line = current.trim().to_string();
    if !line.is_empty() {
        lines.push((start, line));
    }
    lines
}

/// `--index-url=URL`, `--index-url URL`, `-iURL`, `-i URL`.
fn split_option(line: &str) -> (String, Option<String>) {
    if let Some((option, value)) = line
        .split_once('=')
        .filter(|(option, _)| option.starts_with("--") && !option.contains(' '))
    {
        return (option.to_string(), Some(value.trim().to_string()));
    }
    match line.split_once(char::is_whitespace) {
        Some((option, value)) => (option.to_string(), Some(value.trim().to_string())),
        // `-iURL`: a short option glued to its value (a non-ASCII second character is no
        // option; found by fuzzing, it used to split a character in two).
        None if line.len() > 2 && !line.starts_with("--") && line.is_char_boundary(2) => {
            (line[..2].to_string(), Some(line[2..].to_string()))
        }
        None => (line.to_string(), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_includes_constraints_options_and_continuations() {
        let directory = tempfile::tempdir().unwrap();
        std::fs::write(
            directory.path().join("requirements.in"),
            "# the app\n-r base.in\n-c constraints.txt\n--index-url https://example.com/simple\n\
             --extra-index-url=https://extra.example.com/simple\n-f wheels\n\
             flask>=3 \\\n    ; python_version >= '3.8'  # web\nredis[hiredis]\n",
        )
        .unwrap();
        std::fs::write(directory.path().join("base.in"), "gunicorn\n").unwrap();
        std::fs::write(directory.path().join("constraints.txt"), "click<9\n").unwrap();
        let mut parsed = RequirementsIn::default();
        parsed
            .read(&directory.path().join("requirements.in"))
            .unwrap();
        let names: Vec<String> = parsed
            .requirements
            .iter()
            .map(|r| r.name.to_string())
            .collect();
        assert_eq!(names, ["gunicorn", "flask", "redis"]);
        assert_eq!(parsed.constraints[0].name.as_ref(), "click");
        assert_eq!(
            parsed.index_url.as_deref(),
            Some("https://example.com/simple")
        );
        assert_eq!(
            parsed.extra_index_urls,
            ["https://extra.example.com/simple"]
        );
        assert_eq!(parsed.find_links, [directory.path().join("wheels")]);
        assert!(parsed.requirements[1].marker.try_to_string().is_some());
    }

    #[test]
    fn errors_name_the_file_and_line() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("requirements.in");
        std::fs::write(&path, "flask\n\nnot a requirement!\n").unwrap();
        let error = RequirementsIn::default().read(&path).unwrap_err();
        assert!(error.to_string().contains("requirements.in:3`"), "{error}");
        std::fs::write(&path, "--trusted-host example.com\n").unwrap();
        let error = RequirementsIn::default().read(&path).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("unsupported option `--trusted-host`"),
            "{error}"
        );
    }

    #[test]
    fn bare_archive_paths_become_file_references() {
        let directory = tempfile::tempdir().unwrap();
        std::fs::create_dir(directory.path().join("wheels")).unwrap();
        std::fs::write(directory.path().join("wheels/app-1.0-py3-none-any.whl"), "").unwrap();
        let path = directory.path().join("requirements.in");
        std::fs::write(&path, "./wheels/app-1.0-py3-none-any.whl\n").unwrap();
        let mut parsed = RequirementsIn::default();
        parsed.read(&path).unwrap();
        let requirement = parsed.requirements[0].to_string();
        assert!(requirement.starts_with("app @ file:///"), "{requirement}");
        assert!(
            requirement.ends_with("/wheels/app-1.0-py3-none-any.whl"),
            "{requirement}"
        );
    }

    #[test]
    fn include_cycles_are_errors() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("a.in");
        std::fs::write(&path, "-r a.in\n").unwrap();
        assert!(matches!(
            RequirementsIn::default().read(&path),
            Err(RequirementsError::Cycle { .. })
        ));
    }
}
