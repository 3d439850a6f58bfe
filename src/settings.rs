//! Settings, merged in one place: the command line, then the environment, then the project's
//! `[tool.pyship]` (or a requirements file's own options), then the defaults below.

use std::path::PathBuf;

use crate::cli::{ColorChoice, GlobalArgs, LockArgs, PrereleaseArg};
use crate::env_vars;
use crate::index::{IndexError, PackageIndex, Source};
use crate::printer::Verbosity;
use crate::project::{Project, RequirementsIn};
use crate::resolver::PrereleaseMode;

/// The primary index when nothing names one.
pub const DEFAULT_INDEX_URL: &str = "https://pypi.org/simple";

/// The target interpreter when `[tool.pyship] interpreter` names none.
pub const DEFAULT_INTERPRETER: &str = "/usr/bin/python3";

/// Where packages come from: find-links directories first, then the primary index and the
/// extra ones (none with `no_index`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IndexSettings {
    /// Absolute directories.
    pub find_links: Vec<PathBuf>,
    pub no_index: bool,
    /// `None`: [`DEFAULT_INDEX_URL`].
    pub index_url: Option<String>,
    pub extra_index_urls: Vec<String>,
}

/// `PYSHIP_INDEX_URL`, when set and not empty.
fn index_url_from_env() -> Option<String> {
    std::env::var(env_vars::PYSHIP_INDEX_URL)
        .ok()
        .filter(|url| !url.is_empty())
}

impl IndexSettings {
    /// A project's: the command line (`cli`), then `PYSHIP_INDEX_URL`, then `[tool.pyship]`.
    /// Directories and extra indexes add up, the project's first.
    pub fn for_project(cli: &IndexSettings, project: &Project) -> IndexSettings {
        let config = &project.config;
        IndexSettings {
            find_links: config
                .find_links
                .iter()
                .map(|directory| project.root.join(directory))
                .chain(cli.find_links.iter().cloned())
                .collect(),
            no_index: config.no_index || cli.no_index,
            index_url: cli
                .index_url
                .clone()
                .or_else(index_url_from_env)
                .or_else(|| config.index_url.clone()),
            extra_index_urls: config
                .extra_index_url
                .iter()
                .chain(&cli.extra_index_urls)
                .cloned()
                .collect(),
        }
    }

    /// pip-compile style: the command line, then the requirements files' own options (as
    /// pip-compile reads them), then `PYSHIP_INDEX_URL`.
    pub fn for_requirements(cli: &IndexSettings, files: &RequirementsIn) -> IndexSettings {
        IndexSettings {
            find_links: files
                .find_links
                .iter()
                .chain(&cli.find_links)
                .cloned()
                .collect(),
            no_index: files.no_index || cli.no_index,
            index_url: cli
                .index_url
                .clone()
                .or_else(|| files.index_url.clone())
                .or_else(index_url_from_env),
            extra_index_urls: files
                .extra_index_urls
                .iter()
                .chain(&cli.extra_index_urls)
                .cloned()
                .collect(),
        }
    }

    /// The sources in search order.
    pub fn sources(&self) -> Result<Vec<Source>, IndexError> {
        let mut sources: Vec<Source> = self
            .find_links
            .iter()
            .cloned()
            .map(Source::FindLinks)
            .collect();
        if !self.no_index {
            let primary = self.index_url.as_deref().unwrap_or(DEFAULT_INDEX_URL);
            for url in
                std::iter::once(primary).chain(self.extra_index_urls.iter().map(String::as_str))
            {
                sources.push(Source::Simple(PackageIndex::parse_index_url(url)?));
            }
        }
        Ok(sources)
    }
}

/// Global settings after merging.
#[derive(Debug, Clone)]
pub struct GlobalSettings {
    /// The project directory.
    pub directory: PathBuf,
    /// `--target-dir`, absolute.
    pub target_dir: Option<PathBuf>,
    pub offline: bool,
    /// Never write the lockfile: a missing or stale one is an error.
    pub locked: bool,
    pub verbosity: Verbosity,
    /// `None`: decide from the terminal.
    pub color: Option<bool>,
}

impl GlobalSettings {
    /// Resolves the global arguments.
    pub fn resolve(args: &GlobalArgs) -> std::io::Result<GlobalSettings> {
        let GlobalArgs {
            directory,
            target_dir,
            offline,
            locked,
            frozen,
            quiet,
            verbose,
            color,
        } = args;
        let current = std::env::current_dir()?;
        let target_dir = target_dir.as_ref().map(|target| current.join(target));
        let directory = match directory {
            Some(directory) => current.join(directory),
            None => current,
        };
        let verbosity = match (quiet, verbose) {
            (0, 0) => Verbosity::Normal,
            (0, 1) => Verbosity::Verbose,
            (0, _) => Verbosity::Trace,
            (1, _) => Verbosity::Quiet,
            _ => Verbosity::Silent,
        };
        let color = match color {
            ColorChoice::Auto => None,
            ColorChoice::Always => Some(true),
            ColorChoice::Never => Some(false),
        };
        Ok(GlobalSettings {
            target_dir,
            directory,
            offline: *offline || *frozen,
            locked: *locked || *frozen,
            verbosity,
            color,
        })
    }
}

/// `pyship lock` settings: the command line, before merging with a project's settings.
#[derive(Debug, Clone, Default)]
pub struct LockSettings {
    pub check: bool,
    pub requirements: Vec<PathBuf>,
    pub constraints: Vec<PathBuf>,
    pub output: Option<PathBuf>,
    pub python: Option<String>,
    pub platform: Option<String>,
    pub targets: Vec<String>,
    /// `--index-url`, `--extra-index-url`, `--find-links` (relative to the current directory
    /// as given), `--no-index`.
    pub index: IndexSettings,
    pub prerelease: Option<PrereleaseMode>,
    pub exclude_newer: Option<String>,
    /// Packages that must come from wheels (`:all:` for every one).
    pub only_binary: Vec<String>,
    /// Packages that must be built from sdists (`:all:` for every one).
    pub no_binary: Vec<String>,
    pub extras: Vec<String>,
    pub all_extras: bool,
    pub groups: Vec<String>,
    pub upgrade: bool,
    pub upgrade_packages: Vec<String>,
    /// `--message-format json`: the result as one JSON object on stdout.
    pub json: bool,
}

/// Why lock arguments cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error(
        "invalid `--exclude-newer {0}`: expected a date (`2024-06-01`) or an RFC 3339 time (`2024-06-01T12:00:00Z`)"
    )]
    ExcludeNewer(String),
}

impl crate::diagnostics::Diagnostic for SettingsError {
    fn exit_code(&self) -> Option<u8> {
        Some(crate::diagnostics::exit_code::USAGE)
    }
}

impl LockSettings {
    /// Resolves `pyship lock` arguments.
    pub fn resolve(args: LockArgs) -> Result<LockSettings, SettingsError> {
        let LockArgs {
            check,
            requirements,
            constraints,
            output,
            python,
            platform,
            targets,
            index_url,
            extra_index_url,
            find_links,
            no_index,
            prerelease,
            only_binary,
            no_binary,
            exclude_newer,
            extras,
            all_extras,
            groups,
            upgrade,
            upgrade_package,
            message_format,
        } = args;
        let exclude_newer = exclude_newer
            .map(|value| normalize_instant(&value).ok_or(SettingsError::ExcludeNewer(value)))
            .transpose()?;
        Ok(LockSettings {
            check,
            requirements,
            constraints,
            output,
            python,
            platform,
            targets,
            index: IndexSettings {
                find_links,
                no_index,
                index_url,
                extra_index_urls: extra_index_url,
            },
            prerelease: prerelease.map(|mode| match mode {
                PrereleaseArg::Allow => PrereleaseMode::Allow,
                PrereleaseArg::IfNecessary => PrereleaseMode::IfNecessary,
                PrereleaseArg::Disallow => PrereleaseMode::Disallow,
            }),
            exclude_newer,
            only_binary,
            no_binary,
            extras,
            all_extras,
            groups,
            upgrade,
            upgrade_packages: upgrade_package,
            json: message_format == crate::cli::MessageFormat::Json,
        })
    }
}

/// `2024-06-01` or `2024-06-01T12:00:00Z` as `YYYY-MM-DDTHH:MM:SS` (UTC), comparable as text
/// with the upload times indexes publish.
fn normalize_instant(value: &str) -> Option<String> {
    let value = value.trim();
    let well_formed = |text: &str, pattern: &str| {
        text.len() == pattern.len()
            && text.chars().zip(pattern.chars()).all(|(c, p)| match p {
                'd' => c.is_ascii_digit(),
                other => c == other,
            })
    };
    if well_formed(value, "dddd-dd-dd") {
        return Some(format!("{value}T00:00:00"));
    }
    let head = value.get(..19)?;
    (well_formed(head, "dddd-dd-ddTdd:dd:dd")
        && value[19..].trim_start_matches(|c: char| c == '.' || c.is_ascii_digit()) == "Z")
        .then(|| head.to_string())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn project(tool: &str) -> Project {
        let text = format!("[project]\nname = \"app\"\nversion = \"1\"\n\n[tool.pyship]\n{tool}\n");
        Project::parse(Path::new("/p"), Path::new("/p/pyproject.toml"), &text).unwrap()
    }

    fn cli(index_url: Option<&str>, find_links: &[&str], extra: &[&str]) -> IndexSettings {
        IndexSettings {
            find_links: find_links.iter().map(PathBuf::from).collect(),
            no_index: false,
            index_url: index_url.map(str::to_string),
            extra_index_urls: extra.iter().map(|url| url.to_string()).collect(),
        }
    }

    // One test for every precedence rule, as environment variables are process-wide.
    #[test]
    fn project_index_settings_take_the_command_line_then_the_environment_then_the_project() {
        let project = project(
            "index-url = \"https://project.example/simple\"\nextra-index-url = [\"https://extra.example/simple\"]\nfind-links = [\"wheels\"]",
        );
        // The environment sits between the two; CI may set it, so check only when unset.
        let unset = std::env::var_os(env_vars::PYSHIP_INDEX_URL).is_none();
        if unset {
            let merged = IndexSettings::for_project(&cli(None, &[], &[]), &project);
            assert_eq!(
                merged.index_url.as_deref(),
                Some("https://project.example/simple")
            );
        }
        let merged = IndexSettings::for_project(
            &cli(
                Some("https://cli.example/simple"),
                &["/cli"],
                &["https://x.example/s"],
            ),
            &project,
        );
        assert_eq!(
            merged.index_url.as_deref(),
            Some("https://cli.example/simple")
        );
        assert_eq!(
            merged.find_links,
            [PathBuf::from("/p/wheels"), PathBuf::from("/cli")]
        );
        assert_eq!(
            merged.extra_index_urls,
            ["https://extra.example/simple", "https://x.example/s"]
        );
        let sources = merged.sources().unwrap();
        assert_eq!(sources.len(), 5, "{sources:?}");
        assert!(
            matches!(&sources[2], Source::Simple(url) if url.as_str() == "https://cli.example/simple/")
        );
    }

    #[test]
    fn no_index_leaves_only_find_links_and_the_default_is_pypi() {
        let mut settings = cli(None, &["/w"], &["https://x.example/s"]);
        let sources = settings.sources().unwrap();
        assert!(
            matches!(&sources[1], Source::Simple(url) if url.as_str() == "https://pypi.org/simple/")
        );
        settings.no_index = true;
        let sources = settings.sources().unwrap();
        assert!(
            matches!(&sources[..], [Source::FindLinks(path)] if path == Path::new("/w")),
            "{sources:?}"
        );
    }

    #[test]
    fn requirements_files_options_come_after_the_command_line() {
        let files = RequirementsIn {
            index_url: Some("https://file.example/simple".into()),
            find_links: vec!["/files".into()],
            ..RequirementsIn::default()
        };
        let merged = IndexSettings::for_requirements(&cli(None, &["/cli"], &[]), &files);
        assert_eq!(
            merged.index_url.as_deref(),
            Some("https://file.example/simple")
        );
        assert_eq!(
            merged.find_links,
            [PathBuf::from("/files"), PathBuf::from("/cli")]
        );
        let merged = IndexSettings::for_requirements(
            &cli(Some("https://cli.example/simple"), &[], &[]),
            &files,
        );
        assert_eq!(
            merged.index_url.as_deref(),
            Some("https://cli.example/simple")
        );
    }
}
