//! Property: every deployment value of `[tool.pyship.service]`, arbitrary, is either refused
//! when the project loads, or the unit a plugin writes from it reads back (by systemd's
//! syntax: lines, sections, `Key=value`, quoting, C escapes, `%%` and `$$`) to exactly the
//! declared settings and nothing else. A value that added a line, a directive or a word
//! would fail it.

use std::collections::BTreeMap;
use std::path::Path;

use proptest::prelude::*;

use crate::project::Project;

/// Pieces of values that have meant something to a unit, a script or a path, mixed with
/// arbitrary text.
const VALUE_FRAGMENTS: &[&str] = &[
    "app",
    "a",
    "_x",
    "-",
    "/",
    "/srv",
    "..",
    ".",
    " ",
    "\n",
    "\r",
    "\t",
    "\0",
    "\u{85}",
    "\u{2028}",
    "\"",
    "'",
    "\\",
    "\\n",
    "%",
    "%n",
    "$",
    "${HOME}",
    "=",
    ";",
    "`id`",
    "$(id)",
    "ExecStartPre=/usr/bin/touch /root/pwned",
    "[Service]",
    "#",
    "é",
    "on-failure",
    "always",
];

fn value() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        6 => proptest::sample::select(VALUE_FRAGMENTS).prop_map(str::to_string),
        1 => any::<String>(),
    ];
    proptest::collection::vec(piece, 0..6).prop_map(|pieces| pieces.concat())
}

/// The declared service, as a user would write it.
#[derive(Debug, Clone)]
struct Declared {
    name: String,
    command: String,
    args: Vec<String>,
    user: String,
    group: String,
    working_directory: String,
    environment: (String, String),
    restart: String,
}

/// A valid service with one of its values (or one word of them) replaced by an arbitrary one,
/// so that each case asks about that value in an otherwise loadable project.
fn declared() -> impl Strategy<Value = Declared> {
    (0usize..9, value(), proptest::collection::vec(value(), 0..3)).prop_map(
        |(field, value, words)| {
            let mut declared = Declared {
                name: "victim-web".into(),
                command: "bin/gunicorn".into(),
                args: vec!["--bind".into(), "127.0.0.1:8000".into()],
                user: "victim".into(),
                group: "www-data".into(),
                working_directory: "/var/lib/victim".into(),
                environment: ("GREETING".into(), "hello world".into()),
                restart: "on-failure".into(),
            };
            match field {
                0 => declared.name = value,
                1 => declared.command = value,
                2 => declared.args = words,
                3 => declared.user = value,
                4 => declared.group = value,
                5 => declared.working_directory = value,
                6 => declared.environment.0 = value,
                7 => declared.environment.1 = value,
                _ => declared.restart = value,
            }
            declared
        },
    )
}

impl Declared {
    /// `pyproject.toml` declaring this service (TOML's own escaping keeps every value as is).
    fn pyproject(&self) -> String {
        let mut service = toml::Table::new();
        let mut put = |key: &str, value: toml::Value| {
            service.insert(key.to_string(), value);
        };
        put("name", self.name.clone().into());
        put("command", vec![self.command.clone()].into());
        put("args", self.args.clone().into());
        put("user", self.user.clone().into());
        put("group", self.group.clone().into());
        put("working-directory", self.working_directory.clone().into());
        put("restart", self.restart.clone().into());
        let mut environment = toml::Table::new();
        environment.insert(
            self.environment.0.clone(),
            self.environment.1.clone().into(),
        );
        put("environment", environment.into());
        let mut pyship = toml::Table::new();
        pyship.insert("service".into(), service.into());
        let mut tool = toml::Table::new();
        tool.insert("pyship".into(), pyship.into());
        let mut project = toml::Table::new();
        project.insert("name".into(), "victim".into());
        project.insert("version".into(), "1.0".into());
        let mut document = toml::Table::new();
        document.insert("project".into(), project.into());
        document.insert("tool".into(), tool.into());
        toml::to_string(&document).expect("a table serializes")
    }
}

/// The `[Service]` settings of a unit, as systemd reads them: `(key, value)` in order, with
/// an error for anything that is not a comment, a section header or `Key=value`.
fn service_settings(unit: &str) -> Result<Vec<(String, String)>, String> {
    let mut section = String::new();
    let mut settings = Vec::new();
    for line in unit.split('\n') {
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if line.ends_with('\\') {
            return Err(format!("a continued line: {line:?}"));
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.to_string();
            continue;
        }
        let (key, value) = line
            .split_once('=')
            .ok_or_else(|| format!("not Key=value: {line:?}"))?;
        if section == "Service" {
            settings.push((key.trim().to_string(), value.trim().to_string()));
        }
    }
    Ok(settings)
}

/// A value's words as systemd splits and unescapes them (`ExecStart=`, `Environment=`).
fn words(value: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut chars = value.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ' ') {
            chars.next();
        }
        let Some(&first) = chars.peek() else {
            return Ok(words);
        };
        let mut word: Vec<u8> = Vec::new();
        let push = |word: &mut Vec<u8>, c: char| {
            word.extend_from_slice(c.encode_utf8(&mut [0u8; 4]).as_bytes())
        };
        if first == '"' {
            chars.next();
            loop {
                match chars.next().ok_or("an unclosed quote")? {
                    '"' => break,
                    '\\' => match chars.next().ok_or("a trailing backslash")? {
                        'n' => word.push(b'\n'),
                        't' => word.push(b'\t'),
                        'r' => word.push(b'\r'),
                        'x' => {
                            let high = chars.next().ok_or("a short \\x")?;
                            let low = chars.next().ok_or("a short \\x")?;
                            let byte = u8::from_str_radix(&format!("{high}{low}"), 16)
                                .map_err(|e| e.to_string())?;
                            word.push(byte);
                        }
                        c @ ('\\' | '"') => push(&mut word, c),
                        other => return Err(format!("an unknown escape \\{other}")),
                    },
                    c => push(&mut word, c),
                }
            }
            if chars.peek().is_some_and(|c| *c != ' ') {
                return Err("text right after a closing quote".into());
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ' ' {
                    break;
                }
                if c == '"' || c == '\\' {
                    return Err(format!("a bare {c} in {value:?}"));
                }
                push(&mut word, c);
                chars.next();
            }
        }
        words.push(String::from_utf8(word).map_err(|e| e.to_string())?);
    }
}

/// `%%` and `$$` back to `%` and `$`; a lone `%` or `$` would be expanded by systemd.
fn unspecify(word: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut chars = word.chars();
    while let Some(c) = chars.next() {
        if (c == '%' || c == '$') && chars.next() != Some(c) {
            return Err(format!("an expandable {c} in {word:?}"));
        }
        out.push(c);
    }
    Ok(out)
}

fn decoded_words(value: &str) -> Result<Vec<String>, String> {
    words(value)?.iter().map(|word| unspecify(word)).collect()
}

proptest! {
    #[test]
    fn units_are_refused_or_read_back_as_declared(declared in declared()) {
        let text = declared.pyproject();
        let directory = Path::new("/nonexistent-project");
        let Ok(project) = Project::parse(directory, &directory.join("pyproject.toml"), &text)
        else {
            return Ok(());
        };
        let prefix = Path::new("/opt/venvs/victim");
        let Ok(deployment) = crate::facts::deployment(&project, prefix, Path::new("/nonexistent"))
        else {
            return Ok(());
        };
        let service = deployment.service.expect("a service was declared");
        let manifest: pyship_plugin::Manifest =
            serde_json::from_str(include_str!("../testdata/protocol/v2/manifest.json"))
                .expect("the example manifest parses");
        let files = pyship_plugin_kit::service::unit_files(&manifest, &service)
            .map_err(|error| TestCaseError::fail(format!("accepted on load, refused by the plugin: {error}")))?;
        prop_assert_eq!(files.len(), 1);
        let (file_name, unit) = files.into_iter().next().unwrap();
        prop_assert_eq!(file_name, format!("{}.service", declared.name));
        // The sandbox's settings are the same for every service (its own test scores them).
        let sandbox = pyship_plugin_kit::service::sandbox(&manifest, &service);

        let settings = service_settings(&unit).map_err(TestCaseError::fail)?;
        let mut expected: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        expected.insert("Type", vec!["simple".into()]);
        expected.insert("User", vec![declared.user.clone()]);
        expected.insert("Group", vec![declared.group.clone()]);
        expected.insert("WorkingDirectory", vec![
            service.working_directory.as_ref().unwrap().display().to_string(),
        ]);
        expected.insert("Restart", vec![declared.restart.clone()]);
        let mut got: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        let mut environment = Vec::new();
        let mut exec_start = Vec::new();
        for (key, value) in &settings {
            if sandbox.contains(&format!("{key}={value}")) {
                continue;
            }
            match key.as_str() {
                "Environment" => environment = decoded_words(value).map_err(TestCaseError::fail)?,
                "ExecStart" => exec_start = decoded_words(value).map_err(TestCaseError::fail)?,
                "Type" | "User" | "Group" | "WorkingDirectory" | "Restart" => {
                    let key: &str = match key.as_str() {
                        "Type" => "Type",
                        "User" => "User",
                        "Group" => "Group",
                        "WorkingDirectory" => "WorkingDirectory",
                        _ => "Restart",
                    };
                    got.entry(key).or_default().push(value.clone());
                }
                other => return Err(TestCaseError::fail(format!("an undeclared setting {other}= in\n{unit}"))),
            }
        }
        prop_assert_eq!(got, expected, "{}", unit);
        prop_assert_eq!(
            environment,
            vec![format!("{}={}", declared.environment.0, declared.environment.1)],
            "{}", unit
        );
        let program = if declared.command.starts_with('/') {
            declared.command.clone()
        } else {
            prefix.join(&declared.command).display().to_string()
        };
        let mut argv = vec![program];
        argv.extend(declared.args.iter().cloned());
        prop_assert_eq!(exec_start, argv, "{}", unit);
    }
}

#[test]
fn the_unit_reader_reads_quoting_as_systemd_does() {
    assert_eq!(
        decoded_words(r#"/x "a b" "c\nd" "100%%" "$$HOME""#).unwrap(),
        ["/x", "a b", "c\nd", "100%", "$HOME"]
    );
    assert!(decoded_words("a\"b").is_err());
    assert!(decoded_words("100%").is_err());
    assert!(service_settings("[Service]\nExecStart=/x\nUser=a\\\n").is_err());
}
