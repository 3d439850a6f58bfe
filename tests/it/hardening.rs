//! pyship treated as an attacker and bad luck would treat it: hostile wheels, index pages and
//! lock files, a tampered cache, credentials, silent servers, kills at any point, and
//! concurrent runs on one cache. Each case names what pyship must answer.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use base64::Engine;
use serde::Deserialize;
use sha2::Digest;

use crate::support::index_server::IndexServer;
use crate::support::wheels::WheelSpec;
use crate::support::{TestContext, copy_tree, repo_root, sha256_file};

/// Every file under `root` whose name contains `needle`.
fn files_named(root: &Path, needle: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(directory) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&directory) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if entry.file_type().is_ok_and(|kind| kind.is_dir()) {
                stack.push(path.clone());
            }
            if entry.file_name().to_string_lossy().contains(needle) {
                found.push(path);
            }
        }
    }
    found
}

/// Every regular file under `root` whose bytes contain `needle`.
fn files_containing(root: &Path, needle: &str) -> Vec<PathBuf> {
    files_named(root, "")
        .into_iter()
        .filter(|path| path.is_file())
        .filter(|path| {
            std::fs::read(path).is_ok_and(|bytes| {
                bytes
                    .windows(needle.len())
                    .any(|window| window == needle.as_bytes())
            })
        })
        .collect()
}

/// A project depending on `evil` (found in `wheels/` only) whose own build fails on purpose
/// after the dependencies are installed: `no_such_backend` in stderr means they installed.
fn victim(context: &TestContext, dependencies: &[&str]) {
    let dependencies: Vec<String> = dependencies.iter().map(|d| format!("{d:?}")).collect();
    context.file(
        "pyproject.toml",
        &format!(
            "[project]\nname = \"victim\"\nversion = \"1.0\"\ndependencies = [{}]\n\n[build-system]\nrequires = []\nbuild-backend = \"no_such_backend\"\n\n[tool.pyship]\nfind-links = [\"wheels\"]\nno-index = true\n",
            dependencies.join(", ")
        ),
    );
}

#[derive(Deserialize)]
struct HostileWheels {
    case: Vec<HostileWheel>,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct HostileWheel {
    name: String,
    #[serde(default)]
    files: Vec<HostileFile>,
    wheel_version: Option<String>,
    entry_points: Option<String>,
    refusal: Option<String>,
    #[serde(default)]
    env: HashMap<String, String>,
}

#[derive(Deserialize)]
struct HostileFile {
    path: String,
    text: Option<String>,
    zeros: Option<usize>,
    mode: Option<u32>,
    record: Option<String>,
}

/// A hostile case's run ended in a refusal saying `refusal`, not a crash.
fn assert_refused(run: &crate::support::Run, case: &str, refusal: &str) {
    assert_eq!(run.code, Some(1), "{case}: expected a refusal\n{run}");
    assert!(
        run.stderr.contains(refusal),
        "{case}: expected `{refusal}`\n{run}"
    );
    assert!(!run.stderr.contains("panicked"), "{case}\n{run}");
}

#[test]
fn hostile_wheels_get_the_answer_testdata_names() {
    let text = std::fs::read_to_string(repo_root().join("testdata/hostile/wheels.toml")).unwrap();
    let cases: HostileWheels = toml::from_str(&text).unwrap();
    assert!(cases.case.len() >= 15);
    for case in cases.case {
        let mut context = TestContext::new();
        for (key, value) in &case.env {
            context.env(key, value);
        }
        let mut wheel = WheelSpec::new("evil", "1.0");
        if let Some(version) = &case.wheel_version {
            wheel = wheel.wheel_version(version);
        }
        if let Some(text) = &case.entry_points {
            wheel = wheel.entry_points(text);
        }
        for file in &case.files {
            let contents = match (&file.text, file.zeros) {
                (Some(text), _) => text.clone().into_bytes(),
                (None, Some(size)) => vec![0; size],
                (None, None) => Vec::new(),
            };
            let row = file.record.as_ref().map(|record| {
                let b64 =
                    |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
                record
                    .replace("{name}", &file.path)
                    .replace("{sha256}", &b64(&sha2::Sha256::digest(&contents)))
                    .replace("{sha512}", &b64(&sha2::Sha512::digest(&contents)))
                    .replace("{md5}", &b64(&md5::Md5::digest(&contents)))
                    .replace("{size}", &contents.len().to_string())
            });
            wheel = wheel.file(&file.path, &contents, file.mode.unwrap_or(0o100644));
            if let Some(row) = row {
                let row = (row != "omit").then_some(row);
                wheel = wheel.record_row(&file.path, row.as_deref());
            }
        }
        wheel.write(&context.root.join("wheels"));
        victim(&context, &["evil"]);
        let run = context.pyship(&["build"]);
        match &case.refusal {
            Some(refusal) => {
                assert_refused(&run, &case.name, refusal);
                assert!(
                    run.stderr.contains("evil-1.0"),
                    "{}: names the wheel\n{run}",
                    case.name
                );
            }
            None => assert!(
                run.stderr.contains("no_such_backend"),
                "{}: expected the wheel to install\n{run}",
                case.name
            ),
        }
        assert!(
            files_named(context.temp.path(), "escaped").is_empty(),
            "{}: a file escaped",
            case.name
        );
    }
    assert!(!Path::new("/tmp/pyship-escaped.py").exists());
}

#[test]
fn a_wheel_may_not_overwrite_another_distributions_file() {
    let context = TestContext::new();
    let wheels = context.root.join("wheels");
    WheelSpec::new("aaa", "1.0")
        .file("shared/module.py", b"x = 1\n", 0o100644)
        .write(&wheels);
    WheelSpec::new("evil", "1.0")
        .file("shared/module.py", b"import os\n", 0o100644)
        .write(&wheels);
    victim(&context, &["aaa", "evil"]);
    let run = context.pyship(&["build"]).code(1);
    assert!(run.stderr.contains("shared/module.py"), "{run}");
    assert!(run.stderr.contains("which aaa installed"), "{run}");
}

#[test]
fn a_member_declaring_an_absurd_size_is_refused_without_allocating_it() {
    let context = TestContext::new();
    let wheel = WheelSpec::new("evil", "1.0")
        .file("evil/big.bin", b"tiny", 0o100644)
        .write(&context.root.join("wheels"));
    // Claim 2^60 and 2^64-1 bytes in the central directory (zip64), as a hostile wheel would.
    for claimed in [1u64 << 60, u64::MAX] {
        rewrite_as_zip64_claiming(&wheel, "evil/big.bin", claimed);
        victim(&context, &["evil"]);
        let run = context.pyship(&["build"]);
        assert_eq!(run.code, Some(1), "{run}");
        assert!(!run.stderr.contains("panicked"), "{run}");
        assert!(run.stderr.contains("evil-1.0"), "{run}");
    }
}

/// Rewrites `wheel` with every member in zip64 form, then patches the central directory's
/// uncompressed size of `member` to `claimed`.
fn rewrite_as_zip64_claiming(wheel: &Path, member: &str, claimed: u64) {
    let bytes = std::fs::read(wheel).unwrap();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for index in 0..archive.len() {
        let mut entry = archive.by_index(index).unwrap();
        let name = entry.name().to_string();
        let mut contents = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut contents).unwrap();
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored)
            .large_file(true);
        out.start_file(name, options).unwrap();
        out.write_all(&contents).unwrap();
    }
    let mut bytes = out.finish().unwrap().into_inner();
    // Central directory headers: signature, then fixed fields; the name at offset 46, the
    // extra field after it; the zip64 extra (id 1) starts with the uncompressed size.
    let mut position = 0;
    while let Some(offset) = bytes[position..]
        .windows(4)
        .position(|window| window == b"PK\x01\x02")
    {
        let header = position + offset;
        let u16_at =
            |bytes: &[u8], at: usize| u16::from_le_bytes([bytes[at], bytes[at + 1]]) as usize;
        let name_length = u16_at(&bytes, header + 28);
        let extra_length = u16_at(&bytes, header + 30);
        if &bytes[header + 46..header + 46 + name_length] == member.as_bytes() {
            let mut extra = header + 46 + name_length;
            let end = extra + extra_length;
            while extra + 4 <= end {
                let (id, size) = (u16_at(&bytes, extra), u16_at(&bytes, extra + 2));
                if id == 1 {
                    bytes[extra + 4..extra + 12].copy_from_slice(&claimed.to_le_bytes());
                    // The 32-bit field says "see zip64".
                    bytes[header + 24..header + 28].copy_from_slice(&u32::MAX.to_le_bytes());
                }
                extra += 4 + size;
            }
        }
        position = header + 4;
    }
    std::fs::write(wheel, bytes).unwrap();
}

/// A project depending on `dep`, served by a local index.
fn served_project(context: &mut TestContext) -> IndexServer {
    let files = context.temp.path().join("index-files");
    WheelSpec::new("dep", "1.0").write(&files);
    let server = IndexServer::start(&files);
    context.env("PYSHIP_INDEX_URL", &server.url());
    context.file(
        "pyproject.toml",
        "[project]\nname = \"app\"\nversion = \"1.0\"\ndependencies = [\"dep\"]\n",
    );
    server
}

#[test]
fn lock_entries_are_plain_file_names_with_hashes() {
    let mut context = TestContext::new();
    let _server = served_project(&mut context);
    context.pyship(&["lock"]).success();
    let good = context.read("pylock.toml");
    let outside = context.temp.path().join("x");
    std::fs::create_dir_all(&outside).unwrap();
    let absolute = format!("{}/evil.whl", outside.display());
    for (name, refusal) in [
        (absolute.as_str(), "is not a plain wheel file name"),
        ("../../evil.whl", "is not a plain wheel file name"),
        (
            "dep-1.0-0/../../../evil-py3-none-any.whl",
            "is not a plain wheel file name",
        ),
    ] {
        context.file(
            "pylock.toml",
            &good.replace(
                "name = \"dep-1.0-py3-none-any.whl\"",
                &format!("name = {name:?}"),
            ),
        );
        let run = context.pyship(&["fetch"]).code(1);
        assert!(run.stderr.contains(refusal), "{run}");
        assert!(run.stderr.contains("package `dep`"), "{run}");
        assert!(files_named(context.temp.path(), "evil").is_empty());
    }
    // A hash that is not a sha256 would name a directory of the cache: refused.
    let sha256 = good
        .split("sha256 = \"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_string();
    context.file("pylock.toml", &good.replace(&sha256, "../../../../evil"));
    let run = context.pyship(&["fetch"]).code(1);
    assert!(run.stderr.contains("is not 64 hex digits"), "{run}");
    // A wheel entry without a hash is refused, not dropped in favour of something else.
    context.file(
        "pylock.toml",
        &good.replace(&format!(", hashes = {{ sha256 = \"{sha256}\" }}"), ""),
    );
    let run = context.pyship(&["fetch"]).code(1);
    assert!(run.stderr.contains("has no sha256 hash"), "{run}");
    // Upper-case hex is a valid hash.
    context.file(
        "pylock.toml",
        &good.replace(&sha256, &sha256.to_ascii_uppercase()),
    );
    context.pyship(&["fetch"]).success();
}

#[derive(Deserialize)]
struct HostilePages {
    case: Vec<HostilePage>,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct HostilePage {
    name: String,
    content_type: String,
    body: String,
    refusal: Option<String>,
}

#[test]
fn hostile_index_pages_get_the_answer_testdata_names() {
    let text = std::fs::read_to_string(repo_root().join("testdata/hostile/pages.toml")).unwrap();
    let cases: HostilePages = toml::from_str(&text).unwrap();
    for case in cases.case {
        let mut context = TestContext::new();
        let server = served_project(&mut context);
        server.serve_json();
        let good = sha256_file(
            &context
                .temp
                .path()
                .join("index-files/dep-1.0-py3-none-any.whl"),
        );
        let content_type: &'static str = Box::leak(case.content_type.into_boxed_str());
        server.fail_with_body(
            "/simple/dep/",
            content_type,
            case.body.replace("{sha256}", &good).as_bytes(),
        );
        let run = context.pyship(&["lock"]);
        match &case.refusal {
            Some(refusal) => assert_refused(&run, &case.name, refusal),
            None => {
                assert_eq!(run.code, Some(0), "{}\n{run}", case.name);
                assert_eq!(context.locked_version("dep"), "1.0", "{}", case.name);
                context.pyship(&["fetch"]).success();
            }
        }
        assert!(!run.stderr.contains("panicked"), "{}\n{run}", case.name);
        let escaped = files_named(context.temp.path(), "evil");
        assert!(escaped.is_empty(), "{}: {escaped:?}", case.name);
    }
    assert!(!Path::new("/tmp/evil").exists());
}

#[test]
fn an_install_prefix_that_leaves_its_place_is_refused_at_load() {
    let context = TestContext::hello();
    let pyproject = context.read("pyproject.toml").replace(
        "install-prefix = \"/opt/venvs/hello\"",
        "install-prefix = \"/opt/../../elsewhere\"",
    );
    context.file("pyproject.toml", &pyproject);
    let line = pyproject
        .lines()
        .position(|line| line.starts_with("install-prefix"))
        .unwrap()
        + 1;
    let run = context.pyship(&["build", "--offline"]).code(1);
    assert!(
        run.stderr.contains(&format!("pyproject.toml:{line}")),
        "{run}"
    );
    assert!(run.stderr.contains("`..`"), "{run}");
    assert!(!context.root.join("target/pyship/stage").exists());
}

#[test]
fn a_tampered_cached_wheel_is_refused_offline_and_repaired_online() {
    let mut context = TestContext::new();
    let _server = served_project(&mut context);
    context.pyship(&["fetch"]).success();
    let cached = files_named(&context.cache.join("wheels-v1"), "dep-1.0-py3-none-any.whl");
    assert_eq!(cached.len(), 1, "{cached:?}");
    let evil = context.temp.path().join("evil-wheel");
    let tampered = WheelSpec::new("dep", "1.0")
        .file("dep/payload.py", b"import os\n", 0o100644)
        .write(&evil);
    std::fs::copy(&tampered, &cached[0]).unwrap();

    let run = context.pyship(&["fetch", "--offline"]).code(1);
    assert!(run.stderr.contains("hash mismatch for `dep`"), "{run}");
    let run = context.pyship(&["fetch"]).success();
    assert!(run.stderr.contains("downloaded again"), "{run}");
    assert_ne!(sha256_file(&cached[0]), sha256_file(&tampered));
    context.pyship(&["fetch", "--offline"]).success();
}

#[test]
fn a_corrupt_cached_index_page_is_a_miss() {
    let mut context = TestContext::new();
    let server = served_project(&mut context);
    server.serve_json();
    context.pyship(&["lock"]).success();
    let bodies = files_named(&context.cache.join("http-v1"), ".body");
    assert!(!bodies.is_empty());
    for body in &bodies {
        std::fs::write(body, b"\x00\x01 not a page").unwrap();
    }
    context.pyship(&["lock", "--upgrade"]).success();
    assert_eq!(context.locked_version("dep"), "1.0");
}

#[test]
fn requirement_names_that_crashed_the_parser_are_errors_with_their_line() {
    let context = TestContext::new();
    for requirement in ["flask.>=1", "flask->=1", "flask_ ==1"] {
        context.file("requirements.in", &format!("# a comment\n{requirement}\n"));
        let run = context.pyship(&["lock", "-r", "requirements.in", "--offline"]);
        assert_eq!(run.code, Some(1), "{run}");
        assert!(run.stderr.contains("requirements.in:2"), "{run}");
        assert!(
            run.stderr.contains("must end with a letter or digit"),
            "{run}"
        );
        assert!(!run.stderr.contains("panicked"), "{run}");

        context.file(
            "pyproject.toml",
            &format!("[project]\nname = \"app\"\nversion = \"1.0\"\ndependencies = [\n  {requirement:?},\n]\n"),
        );
        let run = context.pyship(&["lock", "--offline"]);
        assert_eq!(run.code, Some(1), "{run}");
        assert!(run.stderr.contains("pyproject.toml:5"), "{run}");
        assert!(!run.stderr.contains("panicked"), "{run}");
    }
}

/// A project whose index accepts connections and never says a word, with
/// `PYSHIP_HTTP_TIMEOUT` set to `timeout`.
fn silent_index_project(timeout: &str) -> (TestContext, std::net::SocketAddr) {
    let mut context = TestContext::new();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    // The thread holds every connection open until the test process ends.
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    context.env("PYSHIP_INDEX_URL", &format!("http://{address}/simple"));
    context.env("PYSHIP_HTTP_TIMEOUT", timeout);
    context.file(
        "pyproject.toml",
        "[project]\nname = \"app\"\nversion = \"1.0\"\ndependencies = [\"dep\"]\n",
    );
    (context, address)
}

#[test]
fn an_index_that_never_answers_times_out_with_a_message() {
    let (context, _address) = silent_index_project("1");
    let started = Instant::now();
    let run = context.pyship(&["lock"]).code(1);
    assert!(started.elapsed() < Duration::from_secs(30), "{run}");
    assert!(run.stderr.contains("did not answer within 1 s"), "{run}");
    assert!(run.stderr.contains("PYSHIP_HTTP_TIMEOUT"), "{run}");
}

#[test]
fn on_a_terminal_the_spinner_names_the_request_it_waits_for() {
    if !crate::support::requires_tool("script") {
        return;
    }
    let (context, address) = silent_index_project("3");
    let screen = on_a_terminal(&context, "lock");
    assert!(
        screen.contains(&format!("waiting for http://{address}/simple/dep/")),
        "{screen}"
    );
    assert!(screen.contains("did not answer within 3 s"), "{screen}");
}

/// What `pyship ARGS` draws on a terminal (`script` gives it one; progress is on only without
/// PYSHIP_NO_PROGRESS).
pub(crate) fn on_a_terminal(context: &TestContext, args: &str) -> String {
    let mut command = context.command(&[]);
    let pyship = crate::support::pyship_exe();
    command
        .env_remove("PYSHIP_NO_PROGRESS")
        .env("TERM", "xterm")
        .env("COLUMNS", "200");
    let mut script = std::process::Command::new("script");
    script
        .args(["-qec", &format!("{} {args}", pyship.display()), "/dev/null"])
        .current_dir(&context.root);
    for (key, value) in command.get_envs() {
        match value {
            Some(value) => script.env(key, value),
            None => script.env_remove(key),
        };
    }
    let output = script.output().unwrap();
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn on_a_terminal_downloads_show_a_byte_progress_bar() {
    if !crate::support::requires_tool("script") {
        return;
    }
    for json in [true, false] {
        let mut context = TestContext::new();
        let server = served_project(&mut context);
        if json {
            server.serve_json();
        }
        context.pyship(&["lock"]).success();
        std::fs::remove_dir_all(&context.cache).unwrap();
        let screen = on_a_terminal(&context, "fetch");
        let size = context.locked_packages("pylock.toml")[0]["wheels"][0]
            .get("size")
            .and_then(toml::Value::as_integer);
        // A bar to the locked size (PEP 700 JSON pages give it), else a byte counter.
        match size {
            Some(size) => assert!(
                screen.contains("Fetching [") && screen.contains(&format!("/{size} B (")),
                "{screen}"
            ),
            None => {
                assert!(!json, "the JSON page gives sizes");
                assert!(
                    screen.contains("Fetching ") && screen.contains(" B ("),
                    "{screen}"
                );
            }
        }
        assert!(screen.contains("Downloaded 1 files"), "{screen}");
    }
}

#[test]
fn credentials_reach_no_lock_manifest_cache_or_message() {
    let secret = "hunter2";
    // An index URL with credentials from the environment, [tool.pyship], requirements.in
    // and the command line; relative links on the pages.
    let mut context = TestContext::new();
    let server = served_project(&mut context);
    let with_credentials = server
        .url()
        .replace("http://", &format!("http://bob:{secret}@"));
    context.env("PYSHIP_INDEX_URL", &with_credentials);
    context.pyship(&["lock"]).success();
    assert!(
        server.requests().iter().any(|r| r.contains("auth=Basic")),
        "credentials were sent: {:?}",
        server.requests()
    );
    context.pyship(&["fetch"]).success();
    context
        .pyship(&["export", "--format", "requirements.txt"])
        .success();
    context.file(
        "requirements.in",
        &format!("--index-url {with_credentials}\ndep\n"),
    );
    context
        .pyship(&["lock", "-r", "requirements.in", "-o", "requirements.txt"])
        .success();
    context
        .pyship(&[
            "lock",
            "-r",
            "requirements.in",
            "-o",
            "flags.toml",
            "--index-url",
            &with_credentials,
        ])
        .success();
    server.fail("/simple/dep/", 503);
    std::fs::remove_dir_all(context.cache.join("http-v1")).unwrap();
    let run = context.pyship(&["lock", "--upgrade", "-v"]).code(1);
    assert!(
        !run.stderr.contains(secret) && !run.stdout.contains(secret),
        "{run}"
    );
    std::fs::remove_file(context.root.join("requirements.in")).unwrap();
    let leaks = files_containing(context.temp.path(), secret);
    assert!(leaks.is_empty(), "credentials written to {leaks:?}");

    // The plugin manifest carries `[tool.pyship]`, index URLs included.
    let mut context = TestContext::hello();
    context.path_prepend(&repo_root().join("testdata/plugins"));
    let pyproject = context.read("pyproject.toml").replace(
        "[tool.pyship]",
        &format!(
            "[tool.pyship]\nextra-index-url = [\"https://bob:{secret}@example.invalid/simple\", \"https://example.invalid/t/simple?token={secret}\"]"
        ),
    );
    context.file("pyproject.toml", &pyproject);
    context.pyship(&["package", "echo", "--offline"]).success();
    std::fs::remove_file(context.root.join("pyproject.toml")).unwrap();
    let leaks = files_containing(context.temp.path(), secret);
    assert!(leaks.is_empty(), "credentials written to {leaks:?}");
}

/// The pids of `parent`'s children.
fn children_of(parent: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
                // `pid (comm) state ppid …`; comm may hold spaces, so split after `)`.
                stat.rsplit_once(')')
                    .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                    .and_then(|ppid| ppid.parse::<u32>().ok())
                    == Some(parent)
            })
        })
        .collect()
}

#[test]
fn a_killed_build_takes_its_children_with_it_and_the_next_build_works() {
    let context = TestContext::hello();
    context.pyship(&["lock", "--offline"]).success();
    let mut caught = None;
    for _ in 0..10 {
        let mut child = context
            .command(&["build", "--offline"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let started = Instant::now();
        let mut python = None;
        while started.elapsed() < Duration::from_secs(60) && python.is_none() {
            if child.try_wait().unwrap().is_some() {
                break;
            }
            python = children_of(child.id()).into_iter().next();
            std::thread::sleep(Duration::from_millis(5));
        }
        if let Some(python) = python {
            child.kill().unwrap();
            child.wait().unwrap();
            caught = Some(python);
            break;
        }
        child.wait().unwrap();
    }
    let python = caught.expect("a Python child of `pyship build` was seen");
    let started = Instant::now();
    while Path::new(&format!("/proc/{python}")).exists()
        && started.elapsed() < Duration::from_secs(10)
    {
        // A zombie waiting for its reaper counts as gone.
        if std::fs::read_to_string(format!("/proc/{python}/stat")).is_ok_and(|stat| {
            stat.rsplit_once(')')
                .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'))
        }) {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let state = std::fs::read_to_string(format!("/proc/{python}/stat")).unwrap_or_default();
    assert!(
        state.is_empty()
            || state
                .rsplit_once(')')
                .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
        "the child {python} outlived pyship: {state}"
    );
    context.pyship(&["build", "--offline"]).success();
}

#[test]
fn kills_at_any_point_leave_lock_and_package_complete_or_absent() {
    if !crate::support::requires_tool("dpkg-deb") {
        return;
    }
    let reference = TestContext::hello();
    let run = reference.pyship(&["package", "deb", "--offline"]).success();
    let reference_deb = std::fs::read(run.stdout.trim()).unwrap();
    let reference_lock = reference.read("pylock.toml");
    let deb_name = PathBuf::from(run.stdout.trim())
        .file_name()
        .unwrap()
        .to_owned();

    let context = TestContext::hello();
    for delay in [0, 30, 100, 250, 500, 800, 1200, 1800] {
        let _ = std::fs::remove_file(context.root.join("pylock.toml"));
        let _ = std::fs::remove_dir_all(context.root.join("target"));
        kill_after(&context, &["package", "deb", "--offline"], delay);
        if let Ok(lock) = std::fs::read_to_string(context.root.join("pylock.toml")) {
            assert_eq!(lock, reference_lock, "a partial lock after {delay} ms");
        }
        let deb = context.root.join("target/pyship").join(&deb_name);
        if let Ok(bytes) = std::fs::read(&deb) {
            assert!(bytes == reference_deb, "a partial .deb after {delay} ms");
        }
        let run = context.pyship(&["package", "deb", "--offline"]).success();
        assert_eq!(std::fs::read(run.stdout.trim()).unwrap(), reference_deb);
        let leftovers: Vec<PathBuf> = files_named(&context.root.join("target/pyship"), ".tmp")
            .into_iter()
            .filter(|path| path.parent() == Some(&context.root.join("target/pyship")))
            .collect();
        assert!(leftovers.is_empty(), "after {delay} ms: {leftovers:?}");
    }
}

#[test]
fn kills_during_downloads_leave_nothing_a_later_run_trusts() {
    let mut context = TestContext::new();
    let files = context.temp.path().join("index-files");
    // A few bigger wheels, so that kills land inside downloads.
    let names: Vec<String> = (0..6).map(|index| format!("dep{index}")).collect();
    for name in &names {
        let noise: Vec<u8> = (0..4_000_000u32)
            .map(|i| (i.wrapping_mul(2654435761) >> 24) as u8)
            .collect();
        WheelSpec::new(name, "1.0")
            .file(&format!("{name}/blob.bin"), &noise, 0o100644)
            .write(&files);
    }
    let server = IndexServer::start(&files);
    context.env("PYSHIP_INDEX_URL", &server.url());
    let dependencies: Vec<String> = names.iter().map(|name| format!("{name:?}")).collect();
    context.file(
        "pyproject.toml",
        &format!(
            "[project]\nname = \"app\"\nversion = \"1.0\"\ndependencies = [{}]\n",
            dependencies.join(", ")
        ),
    );
    context.pyship(&["lock"]).success();
    for delay in [20, 60, 120, 250, 400] {
        let _ = std::fs::remove_dir_all(context.cache.join("wheels-v1"));
        let _ = std::fs::remove_dir_all(context.cache.join("downloads-v1"));
        kill_after(&context, &["fetch"], delay);
        // What is in the cache is whole: offline, every file is either there and right, or
        // missing (never a hash mismatch).
        let run = context.pyship(&["fetch", "--offline"]);
        assert!(
            !run.stderr.contains("hash mismatch"),
            "after {delay} ms\n{run}"
        );
        context.pyship(&["fetch"]).success();
        context.pyship(&["fetch", "--offline"]).success();
    }
}

#[test]
fn concurrent_runs_share_one_cache() {
    let mut first = TestContext::new();
    let _server = served_project(&mut first);
    let projects: Vec<PathBuf> = (0..4)
        .map(|index| {
            let directory = first.temp.path().join(format!("copy-{index}"));
            copy_tree(&first.root, &directory);
            directory
        })
        .collect();
    let runs: Vec<_> = projects
        .iter()
        .map(|directory| {
            let mut command = first.command(&["fetch"]);
            command.current_dir(directory);
            command.spawn().unwrap()
        })
        .collect();
    for mut run in runs {
        assert!(run.wait().unwrap().success());
    }
    let locks: Vec<String> = projects
        .iter()
        .map(|directory| std::fs::read_to_string(directory.join("pylock.toml")).unwrap())
        .collect();
    assert!(locks.windows(2).all(|pair| pair[0] == pair[1]));
    // Every cache entry is whole: an offline run trusts and checks it.
    let mut command = first.command(&["fetch", "--offline"]);
    command.current_dir(&projects[0]);
    assert!(command.status().unwrap().success());
    assert!(files_named(&first.cache, ".tmp").is_empty());
}

/// Starts `pyship ARGS` and kills it after `delay` milliseconds.
fn kill_after(context: &TestContext, args: &[&str], delay: u64) {
    let mut child = context
        .command(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(delay));
    let _ = child.kill();
    child.wait().unwrap();
}

/// A plugin ends with the pyship that runs it: its stdin is a lifeline only pyship holds, so a
/// killed pyship leaves no plugin writing into `target/` behind the next run's back.
#[test]
fn a_plugin_whose_pyship_is_gone_stops_without_writing() {
    let context = TestContext::hello();
    let run = context.pyship(&["package", "deb", "--offline"]).success();
    let deb = PathBuf::from(run.stdout.trim());
    std::fs::remove_file(&deb).unwrap();
    let plugin = crate::support::pyship_exe().with_file_name("pyship-deb");
    let manifest = context.root.join("target/pyship/deb/manifest.json");
    let started = Instant::now();
    // The lifeline is already closed when the plugin starts: as if pyship had just died.
    let output = std::process::Command::new(&plugin)
        .args(["package", "--manifest"])
        .arg(&manifest)
        .env("PYSHIP_LIFELINE", "stdin")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(!output.status.success(), "{output:?}");
    assert!(!deb.exists(), "the orphaned plugin wrote its package");
    assert!(started.elapsed() < Duration::from_secs(5));
    // Without the lifeline (another frontend, or by hand), the same manifest is packaged.
    let output = std::process::Command::new(&plugin)
        .args(["package", "--manifest"])
        .arg(&manifest)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    assert!(deb.exists());
}

#[derive(Deserialize)]
struct HostileSettings {
    case: Vec<HostileSetting>,
}

#[derive(Deserialize)]
struct HostileSetting {
    name: String,
    pyproject: String,
    refusal: String,
    line: Option<usize>,
    #[serde(default)]
    env: HashMap<String, String>,
}

/// Every deployment value bound for a generated file is checked against that file's grammar
/// when the project loads: refused with its line, before any work.
#[test]
fn hostile_settings_are_refused_when_the_project_loads() {
    let text = std::fs::read_to_string(repo_root().join("testdata/hostile/settings.toml")).unwrap();
    let cases: HostileSettings = toml::from_str(&text).unwrap();
    assert!(cases.case.len() >= 30);
    for case in cases.case {
        let mut context = TestContext::new();
        for (key, value) in &case.env {
            context.env(key, value);
        }
        context.file(
            "pyproject.toml",
            &format!(
                "[project]\nname = \"victim\"\nversion = \"1.0\"\n{}",
                case.pyproject
            ),
        );
        let run = context.pyship(&["lock", "--offline"]);
        assert_refused(&run, &case.name, &case.refusal);
        if let Some(line) = case.line {
            assert!(
                run.stderr.contains(&format!("pyproject.toml:{line}")),
                "{}: expected line {line}\n{run}",
                case.name
            );
        }
        // Refused before any work, and the message shows no raw control character.
        assert!(!context.root.join("pylock.toml").exists(), "{}", case.name);
        assert!(!context.root.join("target").exists(), "{}", case.name);
        assert!(
            !run.stderr.contains("\nExecStartPre") && !run.stderr.contains("\nEssential"),
            "{}: the message must escape the value\n{run}",
            case.name
        );
    }
}

/// `pyship run` killed with -9 cannot clean up itself: its command dies with it (parent-death
/// signal) and a guardian removes the prefix it made for the run.
#[test]
fn a_killed_run_leaves_no_prefix_and_no_command_behind() {
    if !crate::support::can_run_in_place() {
        return;
    }
    let context = TestContext::hello();
    let top = format!("/opt/pyship-killed-run-{}", std::process::id());
    let prefix = format!("{top}/hello");
    context.set_install_prefix(&prefix);
    context.pyship(&["build", "--offline"]).success();
    let marker = format!("47.{}", std::process::id());
    let mut child = context
        .command(&["run", "--offline", "--", "sleep", &marker])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // The command itself (`sleep MARKER`), not pyship, whose arguments name it too.
    let command_line = format!("sleep\0{marker}\0");
    let running = || {
        std::fs::read_dir("/proc")
            .unwrap()
            .flatten()
            .filter_map(|entry| std::fs::read(entry.path().join("cmdline")).ok())
            .any(|cmdline| String::from_utf8_lossy(&cmdline) == command_line)
    };
    let started = Instant::now();
    while !running() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the command never started"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(Path::new(&prefix).is_dir());
    child.kill().unwrap();
    child.wait().unwrap();
    let killed = Instant::now();
    while running() || Path::new(&top).exists() {
        assert!(
            killed.elapsed() < Duration::from_secs(10),
            "after kill -9: command running {}, prefix left {}",
            running(),
            Path::new(&top).exists()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[derive(Deserialize)]
struct HostileLocks {
    case: Vec<HostileLock>,
}

#[derive(Deserialize)]
struct HostileLock {
    name: String,
    lock: String,
    command: Option<String>,
    refusal: String,
}

/// A pylock.toml is input like any other: one written by another tool may name any file or
/// directory of this machine, or smuggle lines into what pyship writes from it.
#[test]
fn hostile_locks_get_the_answer_testdata_names() {
    let text = std::fs::read_to_string(repo_root().join("testdata/hostile/locks.toml")).unwrap();
    let cases: HostileLocks = toml::from_str(&text).unwrap();
    for case in cases.case {
        let context = TestContext::new();
        context.file(
            "pyproject.toml",
            "[project]\nname = \"victim\"\nversion = \"1.0\"\ndependencies = [\"dep\"]\n\n[tool.pyship]\nno-index = true\n",
        );
        let outside = context.temp.path().join("other-checkout");
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(outside.join(".env"), "AWS_SECRET=outside-secret\n").unwrap();
        std::fs::write(outside.join("id_rsa"), "outside-secret key\n").unwrap();
        std::fs::write(
            outside.join("setup.py"),
            "from setuptools import setup\nsetup(name='dep', version='1.0', data_files=[('x', ['.env', 'id_rsa'])])\n",
        )
        .unwrap();
        let fifo = context.temp.path().join("fifo");
        assert!(
            std::process::Command::new("mkfifo")
                .arg(&fifo)
                .status()
                .unwrap()
                .success(),
            "mkfifo"
        );
        let secret = context.temp.path().join("secret.txt");
        std::fs::write(&secret, "outside-secret\n").unwrap();
        let secret_sha256 = sha256_file(&secret);
        let lock = case
            .lock
            .replace("{outside}", &outside.display().to_string())
            .replace("{fifo}", &fifo.display().to_string())
            .replace("{secret}", &secret.display().to_string());
        context.file("pylock.toml", &lock);
        let command = case.command.as_deref().unwrap_or("build --offline");
        let args: Vec<&str> = command.split(' ').collect();
        let started = Instant::now();
        let run = context.pyship(&args);
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{}: took {:?}",
            case.name,
            started.elapsed()
        );
        assert_refused(&run, &case.name, &case.refusal);
        assert!(
            !run.stderr.contains(&secret_sha256) && !run.stdout.contains(&secret_sha256),
            "{}: printed a digest of a file of this machine\n{run}",
            case.name
        );
        assert!(!run.stdout.contains("evil.example"), "{}\n{run}", case.name);
        let shipped = files_containing(&context.root.join("target"), "outside-secret");
        assert!(shipped.is_empty(), "{}: shipped {shipped:?}", case.name);
    }
}

/// A backend runs the sdist's code and may hand back a wheel of another distribution: as pip
/// does, pyship installs only the locked distribution at the locked version.
#[test]
fn an_sdist_that_builds_another_distribution_is_refused() {
    let context = TestContext::new();
    crate::support::copy_flit(&context);
    crate::support::wheels::SdistSpec::new("other", "1.0")
        .builds_as("flask", "9.9")
        .write(&context.root.join("wheels"));
    victim(&context, &["other"]);
    let run = context.pyship(&["build"]);
    assert_refused(&run, "flask-9.9 for other 1.0", "gave the wheel `flask-9.9");
    assert!(!run.stderr.contains("no_such_backend"), "{run}");
}

/// PEP 517 backends run code from an index: they get the environment without pyship's index
/// credentials, index URLs or anything named like a secret.
#[test]
fn build_backends_get_no_secrets_from_the_environment() {
    let mut context = TestContext::new();
    context.file(
        "pyproject.toml",
        "[project]\nname = \"leaky\"\nversion = \"1.0\"\n\n[build-system]\nrequires = []\nbuild-backend = \"leak\"\nbackend-path = [\".\"]\n\n[tool.pyship]\nno-index = true\n",
    );
    context.file(
        "leak.py",
        "import os, sys\ndef _show(*args, **kwargs):\n    for key, value in sorted(os.environ.items()):\n        print(f'ENV {key}={value}', file=sys.stderr)\n    raise SystemExit('leak: shown')\nbuild_wheel = _show\nprepare_metadata_for_build_wheel = _show\n",
    );
    context
        .env("PYSHIP_INDEX_PASSWORD", "secret-1")
        .env("GITHUB_TOKEN", "secret-2")
        .env(
            "PIP_INDEX_URL",
            "https://bob:secret-3@example.invalid/simple",
        )
        .env("PYSHIP_TEST_HARMLESS", "kept");
    let run = context.pyship(&["build", "-v"]);
    assert_eq!(run.code, Some(1), "{run}");
    assert!(run.stderr.contains("leak: shown"), "{run}");
    assert!(
        run.stderr.contains("ENV PYSHIP_TEST_HARMLESS=kept"),
        "{run}"
    );
    assert!(!run.stderr.contains("secret-"), "{run}");
}

/// Plugins clear their work directories: a symlink there (`target/pyship/deb -> elsewhere`)
/// is refused, never followed into another place's files.
#[test]
fn symlinked_work_directories_are_refused() {
    let context = TestContext::hello();
    for (format, link) in [("deb", "deb"), ("rpm", "rpm"), ("deb", "deb/segments")] {
        let elsewhere = context
            .temp
            .path()
            .join(format!("elsewhere-{}", link.replace('/', "-")));
        for directory in ["files", "segments", "docs"] {
            std::fs::create_dir_all(elsewhere.join(directory)).unwrap();
            std::fs::write(elsewhere.join(directory).join("keep"), "theirs").unwrap();
        }
        let path = context.root.join("target/pyship").join(link);
        let _ = std::fs::remove_dir_all(context.root.join("target/pyship").join(format));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(&elsewhere, &path).unwrap();
        let run = context.pyship(&["package", format, "--offline"]);
        assert_refused(&run, link, "is not a directory of its own");
        for directory in ["files", "segments", "docs"] {
            assert!(
                elsewhere.join(directory).join("keep").is_file(),
                "{link}: the plugin cleared {directory}/ through the link"
            );
        }
        std::fs::remove_file(&path).unwrap();
    }
}
