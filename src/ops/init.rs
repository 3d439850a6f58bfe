//! `pyship init`: the project looked at as it is, and the `[tool.pyship]` settings that ship it
//! written into its pyproject.toml (made, with a minimal `[project]`, where there is none).
//!
//! What it looks at: `[project]` or Poetry's table (name, version, scripts, dependencies), a
//! build backend or `setup.py` (a package, built) or none (an app whose files are shipped), a
//! `requirements.txt` (its entries are the dependencies when the project declares none), a
//! `manage.py` and `*/wsgi.py` (Django), `= FastAPI(` or `= Flask(` in a module, gunicorn or
//! uvicorn among the dependencies, and this machine's release (`/etc/os-release`) for the
//! target. It never changes a setting that is there: a project with `[tool.pyship]` is left
//! alone.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::{Context as _, bail};
use pep508_rs::PackageName;

use crate::project::{PYPROJECT, Project};

/// What `pyship init` writes.
#[derive(Debug)]
pub(crate) struct InitPlan {
    pub pyproject: PathBuf,
    /// The whole new text of pyproject.toml.
    pub text: String,
    /// Whether pyproject.toml is new.
    pub created: bool,
    /// `.gitignore` and its new text, when `/target/` must be added.
    pub gitignore: Option<(PathBuf, String)>,
    /// What was found, one line each, for the user.
    pub findings: Vec<String>,
}

/// What the project is, as far as shipping it goes.
#[derive(Debug, Default)]
struct Shape {
    name: String,
    /// A `[project]` table must be written (none, and no Poetry table).
    needs_project_table: bool,
    /// Built by a backend (`[build-system]`, `setup.py`, Poetry); otherwise its files ship.
    is_package: bool,
    requirements_file: Option<String>,
    dependencies: Vec<String>,
    scripts: Vec<String>,
    service: Option<(String, Vec<String>)>,
    target: Option<String>,
    has_maintainer: bool,
}

/// Looks at the project in `root` and plans what to write.
pub(crate) fn plan(root: &Path) -> anyhow::Result<InitPlan> {
    let pyproject = root.join(PYPROJECT);
    let existing = match std::fs::read_to_string(&pyproject) {
        Ok(text) => Some(text),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => None,
        Err(error) => {
            return Err(error).with_context(|| format!("failed to read `{}`", pyproject.display()));
        }
    };
    let document = match &existing {
        Some(text) => Some(text.parse::<toml_edit::DocumentMut>().map_err(|error| {
            anyhow::anyhow!("failed to parse `{}`: {error}", pyproject.display())
        })?),
        None => None,
    };
    if let Some(document) = &document {
        if document
            .get("tool")
            .and_then(|tool| tool.get("pyship"))
            .is_some()
        {
            bail!(
                "`{}` already has `[tool.pyship]`: nothing changed (pyship init never overwrites settings; see docs/configuration.md for every key)",
                pyproject.display()
            );
        }
    }
    let shape = look_at(root, document.as_ref());
    let mut findings = Vec::new();
    findings.push(if shape.is_package {
        format!(
            "`{}` is a Python package: its backend builds it",
            shape.name
        )
    } else {
        format!(
            "`{}` is not a Python package: its source files are shipped as they are",
            shape.name
        )
    });
    if let Some(file) = &shape.requirements_file {
        findings.push(format!("its dependencies are listed in `{file}`"));
    }
    match &shape.service {
        Some((script, args)) => findings.push(format!(
            "a service runs `{}`",
            std::iter::once(script)
                .chain(args)
                .cloned()
                .collect::<Vec<_>>()
                .join(" ")
        )),
        None => findings.push("no server command found: the service is left commented out".into()),
    }
    if let Some(target) = &shape.target {
        findings.push(format!("target: `{target}` (this machine's release)"));
    }
    let mut text = existing.clone().unwrap_or_default();
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    if shape.needs_project_table {
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(&project_table(&shape));
    }
    text.push('\n');
    text.push_str(&pyship_table(&shape));
    // What is written must load: a bug here is caught before the user's file is touched.
    Project::parse(root, &pyproject, &text).map_err(|error| {
        anyhow::anyhow!("pyship init made settings that do not load (a bug in pyship): {error}")
    })?;
    Ok(InitPlan {
        pyproject,
        text,
        created: existing.is_none(),
        gitignore: gitignore(root)?,
        findings,
    })
}

/// Writes the plan.
pub(crate) fn write(plan: &InitPlan) -> anyhow::Result<()> {
    crate::cache::write_atomically(&plan.pyproject, plan.text.as_bytes())
        .with_context(|| format!("failed to write `{}`", plan.pyproject.display()))?;
    if let Some((path, text)) = &plan.gitignore {
        crate::cache::write_atomically(path, text.as_bytes())
            .with_context(|| format!("failed to write `{}`", path.display()))?;
    }
    Ok(())
}

fn look_at(root: &Path, document: Option<&toml_edit::DocumentMut>) -> Shape {
    let mut shape = Shape::default();
    let item = |path: &[&str]| -> Option<&toml_edit::Item> {
        let mut item = document?.as_item();
        for key in path {
            item = item.get(key)?;
        }
        Some(item)
    };
    let project = item(&["project"]);
    let poetry = item(&["tool", "poetry"]);
    let table = project.or(poetry);
    // A setup.py project's metadata is its backend's (pyship asks it); a `[project]` written
    // beside it would make setuptools ignore setup.py's.
    let has_setup = root.join("setup.py").is_file() || root.join("setup.cfg").is_file();
    shape.needs_project_table = table.is_none() && !has_setup;
    let directory_name = root
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| "app".into());
    let raw_name = table
        .and_then(|table| table.get("name"))
        .and_then(|name| name.as_str())
        .map(str::to_string)
        .or_else(|| has_setup.then(|| setup_name(root)).flatten())
        .unwrap_or(directory_name);
    shape.name = PackageName::from_str(&normalize(&raw_name))
        .map(|name| name.to_string())
        .unwrap_or_else(|_| "app".into());
    shape.is_package = item(&["build-system"]).is_some() || poetry.is_some() || has_setup;
    shape.has_maintainer = table.is_some_and(|table| {
        ["maintainers", "authors"].iter().any(|key| {
            table
                .get(key)
                .and_then(|v| v.as_array())
                .is_some_and(|a| !a.is_empty())
        })
    });
    if let Some(scripts) = table
        .and_then(|table| table.get("scripts"))
        .and_then(|s| s.as_table_like())
    {
        shape.scripts = scripts.iter().map(|(name, _)| name.to_string()).collect();
    }
    if let Some(dependencies) = project
        .and_then(|project| project.get("dependencies"))
        .and_then(|dependencies| dependencies.as_array())
    {
        shape.dependencies = dependencies
            .iter()
            .filter_map(|value| value.as_str())
            .map(requirement_name)
            .collect();
    }
    if let Some(dependencies) = poetry
        .and_then(|poetry| poetry.get("dependencies"))
        .and_then(|dependencies| dependencies.as_table_like())
    {
        shape
            .dependencies
            .extend(dependencies.iter().map(|(name, _)| normalize(name)));
    }
    // A requirements file is the dependency list of a project that declares none.
    if shape.dependencies.is_empty() {
        for file in [
            "requirements.txt",
            "requirements-app.txt",
            "requirements/base.txt",
        ] {
            if let Ok(text) = std::fs::read_to_string(root.join(file)) {
                shape.requirements_file = Some(file.to_string());
                shape.dependencies = text
                    .lines()
                    .map(|line| line.split('#').next().unwrap_or("").trim())
                    .filter(|line| !line.is_empty() && !line.starts_with('-'))
                    .map(requirement_name)
                    .collect();
                break;
            }
        }
    }
    shape.service = service(root, &shape);
    shape.target = this_machines_target();
    shape
}

/// The name a setup.py project gives itself, read without running it: `name` of setup.cfg's
/// `[metadata]`, else the string literal after `name=` in setup.py (the backend's metadata
/// says the same when pyship builds; init only needs it for the prefix and the package).
fn setup_name(root: &Path) -> Option<String> {
    if let Ok(text) = std::fs::read_to_string(root.join("setup.cfg")) {
        let mut in_metadata = false;
        for line in text.lines() {
            let line = line.trim();
            if line.starts_with('[') {
                in_metadata = line == "[metadata]";
            } else if in_metadata {
                if let Some((key, value)) = line.split_once('=') {
                    if key.trim() == "name" && !value.trim().is_empty() {
                        return Some(value.trim().to_string());
                    }
                }
            }
        }
    }
    let text = std::fs::read_to_string(root.join("setup.py")).ok()?;
    let mut rest = text.as_str();
    while let Some(at) = rest.find("name") {
        let after = rest[at + 4..].trim_start();
        rest = &rest[at + 4..];
        let Some(value) = after.strip_prefix('=') else {
            continue;
        };
        let value = value.trim_start();
        let Some(quote) = value.chars().next().filter(|c| *c == '"' || *c == '\'') else {
            continue;
        };
        let literal = &value[1..];
        if let Some(end) = literal.find(quote) {
            let name = &literal[..end];
            if PackageName::from_str(name).is_ok() {
                return Some(name.to_string());
            }
        }
    }
    None
}

/// The distribution name a requirement line starts with, normalized.
fn requirement_name(line: &str) -> String {
    let end = line
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.'))
        .unwrap_or(line.len());
    normalize(&line[..end])
}

fn normalize(name: &str) -> String {
    name.to_ascii_lowercase().replace(['_', '.'], "-")
}

/// How the app runs as a service, the way its framework expects.
fn service(root: &Path, shape: &Shape) -> Option<(String, Vec<String>)> {
    let has = |name: &str| {
        shape
            .dependencies
            .iter()
            .any(|dependency| dependency == name)
    };
    let bind = ["--bind".to_string(), "127.0.0.1:8000".to_string()];
    if root.join("manage.py").is_file() {
        if let Some(module) = django_wsgi(root) {
            if has("gunicorn") {
                let mut args = vec![format!("{module}:application")];
                args.extend(bind);
                return Some(("gunicorn".into(), args));
            }
        }
    }
    let modules = python_modules(root);
    if has("uvicorn") || has("fastapi") {
        if let Some(target) = find_assignment(&modules, "FastAPI(") {
            if has("uvicorn") {
                return Some((
                    "uvicorn".into(),
                    vec![
                        target,
                        "--host".into(),
                        "127.0.0.1".into(),
                        "--port".into(),
                        "8000".into(),
                    ],
                ));
            }
        }
    }
    if has("gunicorn") {
        if let Some(target) = find_assignment(&modules, "Flask(") {
            let mut args = vec![target];
            args.extend(bind);
            return Some(("gunicorn".into(), args));
        }
    }
    shape
        .scripts
        .first()
        .map(|script| (script.clone(), Vec::new()))
}

/// `mysite.wsgi` for `mysite/wsgi.py` beside `manage.py`.
fn django_wsgi(root: &Path) -> Option<String> {
    let mut found: Vec<String> = std::fs::read_dir(root)
        .ok()?
        .flatten()
        .filter(|entry| entry.path().join("wsgi.py").is_file())
        .filter_map(|entry| entry.file_name().into_string().ok())
        .collect();
    found.sort();
    found.first().map(|package| format!("{package}.wsgi"))
}

/// The Python modules of the project, as `(dotted name, path)`: top-level files and those one
/// or two directories down (`pkg/main.py`, `src/pkg/app.py`), tests and hidden ones left out.
fn python_modules(root: &Path) -> Vec<(String, PathBuf)> {
    let mut modules = Vec::new();
    let mut pending = vec![(root.to_path_buf(), Vec::<String>::new())];
    while let Some((directory, parts)) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&directory) else {
            continue;
        };
        let mut entries: Vec<_> = entries.flatten().collect();
        entries.sort_by_key(|entry| entry.file_name());
        for entry in entries {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.')
                || name.starts_with("test")
                || name == "target"
                || name == "__pycache__"
            {
                continue;
            }
            let path = entry.path();
            if path.is_dir() && parts.len() < 2 && !path.join("pyvenv.cfg").exists() {
                // `src/` is a layout, not a package.
                let mut inner = parts.clone();
                if !(parts.is_empty() && name == "src") {
                    inner.push(name);
                }
                pending.push((path, inner));
            } else if let Some(stem) = name.strip_suffix(".py") {
                let mut dotted = parts.clone();
                if stem != "__init__" {
                    dotted.push(stem.to_string());
                }
                if !dotted.is_empty() {
                    modules.push((dotted.join("."), path));
                }
            }
        }
    }
    modules.sort();
    modules
}

/// `module:variable` for the first `variable = CALL…` in the modules.
fn find_assignment(modules: &[(String, PathBuf)], call: &str) -> Option<String> {
    for (module, path) in modules {
        let Ok(text) = std::fs::read_to_string(path) else {
            continue;
        };
        for line in text.lines() {
            let Some((left, right)) = line.split_once('=') else {
                continue;
            };
            let variable = left.trim();
            let is_name = !variable.is_empty()
                && variable
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !line.starts_with(char::is_whitespace);
            let right = right.trim_start();
            let called = right.starts_with(call)
                || right
                    .split_once('.')
                    .is_some_and(|(_, rest)| rest.starts_with(call));
            if is_name && called {
                return Some(format!("{module}:{variable}"));
            }
        }
    }
    None
}

/// The preset of this machine's release, from `/etc/os-release`.
fn this_machines_target() -> Option<String> {
    let text = std::fs::read_to_string("/etc/os-release").ok()?;
    let field = |key: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(&format!("{key}=")))
            .map(|value| value.trim_matches('"').to_string())
    };
    let (id, version) = (field("ID")?, field("VERSION_ID")?);
    crate::python::PRESETS
        .iter()
        .find(|preset| preset.distro.0 == id && preset.distro.1 == version)
        .map(|preset| preset.name.to_string())
}

/// A minimal `[project]` for a project that has none.
fn project_table(shape: &Shape) -> String {
    format!(
        "# Written by `pyship init`: the app's name and version, which its packages carry.\n[project]\nname = \"{}\"\nversion = \"0.1.0\"\n",
        shape.name
    )
}

/// `key = value`, its comment aligned.
fn setting(line: &str, comment: &str) -> String {
    format!("{line:<40}# {comment}\n")
}

/// The `[tool.pyship]` settings, commented.
fn pyship_table(shape: &Shape) -> String {
    let name = &shape.name;
    let mut out = String::from(
        "# Written by `pyship init`: how this app ships. Every key: pyship's docs/configuration.md.\n[tool.pyship]\n",
    );
    out.push_str(&setting(
        &format!("install-prefix = \"/opt/venvs/{name}\""),
        "where the app and its virtualenv live on the servers",
    ));
    out.push_str(&match &shape.target {
        Some(target) => setting(
            &format!("targets = [\"{target}\"]"),
            "the servers' release (this machine's); add the others",
        ),
        None => setting("# targets = [\"debian-12\"]", "the servers' release"),
    });
    if let Some(file) = &shape.requirements_file {
        out.push_str(&setting(
            &format!("requirements = [\"{file}\"]"),
            "the dependencies (a pip freeze there is what ships)",
        ));
    }
    if !shape.is_package {
        out.push_str(&setting(
            "app-files = true",
            "ship the project's files (git's view) at PREFIX/app, on sys.path",
        ));
    }
    if !shape.has_maintainer {
        out.push_str(&setting(
            "# maintainer = \"Name <you@example.com>\"",
            "packages name one (else git's user.name and user.email)",
        ));
    }
    match &shape.service {
        Some((script, args)) => {
            out.push_str(&setting(
                &format!("user = \"{name}\""),
                "a system account the service runs as",
            ));
            out.push_str(&format!("\n[tool.pyship.service]\nscript = \"{script}\"\n"));
            if !args.is_empty() {
                let quoted: Vec<String> = args.iter().map(|arg| format!("\"{arg}\"")).collect();
                out.push_str(&format!("args = [{}]\n", quoted.join(", ")));
            }
        }
        None => out.push_str(
            "\n# No server command found. A systemd service runs a console script of the venv:\n# [tool.pyship.service]\n# script = \"gunicorn\"\n# args = [\"myapp.wsgi:application\", \"--bind\", \"127.0.0.1:8000\"]\n",
        ),
    }
    out
}

/// `.gitignore` with `/target/` added, when the project is a checkout or has one already and
/// it does not ignore `target` yet.
fn gitignore(root: &Path) -> anyhow::Result<Option<(PathBuf, String)>> {
    let path = root.join(".gitignore");
    let existing = std::fs::read_to_string(&path).ok();
    if existing.is_none() && !root.join(".git").exists() {
        return Ok(None);
    }
    let mut text = existing.unwrap_or_default();
    let ignored = text
        .lines()
        .map(str::trim)
        .any(|line| matches!(line, "target" | "target/" | "/target" | "/target/"));
    if ignored {
        return Ok(None);
    }
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str("# pyship's work and output\n/target/\n");
    Ok(Some((path, text)))
}
