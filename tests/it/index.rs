//! The index client seen through `pyship lock`: PEP 691 JSON, yanked files, range requests,
//! the HTTP cache and `--offline`, the first-index rule, and broken answers.

use crate::support::TestContext;
use crate::support::index_server::IndexServer;
use crate::support::wheels::WheelSpec;

const PROJECT: &str = "[project]\nname = \"app\"\nversion = \"1.0\"\ndependencies = [\"dep\"]\n";

fn served(context: &mut TestContext, versions: &[&str]) -> IndexServer {
    let files = context.temp.path().join("index-files");
    for version in versions {
        WheelSpec::new("dep", version).write(&files);
    }
    let server = IndexServer::start(&files);
    context.env("PYSHIP_INDEX_URL", &server.url());
    server
}

#[test]
fn json_pages_give_sizes_and_upload_times_and_exclude_newer_applies() {
    let mut context = TestContext::new();
    let server = served(&mut context, &["1.0", "2.0"]);
    server.serve_json();
    server.uploaded("dep-1.0-py3-none-any.whl", "2023-01-01T10:00:00.000123Z");
    server.uploaded("dep-2.0-py3-none-any.whl", "2024-06-01T10:00:00Z");
    context.file("pyproject.toml", PROJECT);
    context.pyship(&["lock"]).success();
    assert_eq!(context.locked_version("dep"), "2.0");
    let lock = context.read("pylock.toml");
    assert!(
        lock.contains("upload-time = 2024-06-01T10:00:00Z"),
        "{lock}"
    );
    assert!(lock.contains("size = "), "{lock}");
    // The JSON pages advertise `core-metadata`: one small request per version, no ranges.
    let requests = server.requests();
    assert!(
        requests.iter().any(|path| path.ends_with(".whl.metadata")),
        "{requests:?}"
    );
    assert!(
        !requests.iter().any(|path| path.contains("range=")),
        "{requests:?}"
    );

    let run = context
        .pyship(&["lock", "--exclude-newer", "2024-01-01", "--upgrade"])
        .success();
    assert_eq!(context.locked_version("dep"), "1.0", "{run}");

    let run = context
        .pyship(&["lock", "--exclude-newer", "yesterday"])
        .code(2);
    assert!(
        run.stderr.contains("invalid `--exclude-newer yesterday`"),
        "{run}"
    );
}

#[test]
fn yanked_files_are_skipped_unless_pinned_exactly() {
    let mut context = TestContext::new();
    let server = served(&mut context, &["1.0", "2.0"]);
    server.yank("dep-2.0-py3-none-any.whl");
    context.file("pyproject.toml", PROJECT);
    context.pyship(&["lock"]).success();
    assert_eq!(context.locked_version("dep"), "1.0");
    context.file(
        "pyproject.toml",
        &PROJECT.replace("\"dep\"", "\"dep==2.0\""),
    );
    context.pyship(&["lock"]).success();
    assert_eq!(context.locked_version("dep"), "2.0");
}

#[test]
fn metadata_comes_from_byte_ranges_when_there_is_no_metadata_file() {
    let mut context = TestContext::new();
    let server = served(&mut context, &["1.0"]);
    server.fail(".metadata", 404);
    context.file("pyproject.toml", PROJECT);
    context.pyship(&["lock"]).success();
    let requests = server.requests();
    let wheel_requests: Vec<&String> = requests.iter().filter(|r| r.contains(".whl")).collect();
    assert!(
        wheel_requests
            .iter()
            .any(|r| r.ends_with("range=bytes=-65536")),
        "{requests:?}"
    );
    // No request fetched the whole wheel.
    assert!(
        wheel_requests
            .iter()
            .all(|r| r.contains("range=") || r.ends_with(".metadata")),
        "{requests:?}"
    );
}

#[test]
fn offline_lock_uses_the_http_cache_and_says_what_is_missing() {
    let mut context = TestContext::new();
    let server = served(&mut context, &["1.0"]);
    context.file("pyproject.toml", PROJECT);
    context.pyship(&["lock"]).success();
    drop(server);
    std::fs::remove_file(context.root.join("pylock.toml")).unwrap();
    context.pyship(&["lock", "--offline"]).success();
    assert_eq!(context.locked_version("dep"), "1.0");

    // Nothing cached: a failure for want of the network (4), not a conflict (3).
    std::fs::remove_dir_all(&context.cache).unwrap();
    let run = context.pyship(&["lock", "--offline"]).code(4);
    assert!(run.stderr.contains("no files of `dep` were found"), "{run}");
    assert!(run.stderr.contains("--offline"), "{run}");
}

#[test]
fn a_name_comes_from_the_first_index_that_has_it() {
    let mut context = TestContext::new();
    let private = context.temp.path().join("private");
    let public = context.temp.path().join("public");
    WheelSpec::new("dep", "1.0")
        .requires(&["other"])
        .write(&private);
    WheelSpec::new("dep", "9.0").write(&public);
    WheelSpec::new("other", "3.0").write(&public);
    let first = IndexServer::start(&private);
    let second = IndexServer::start(&public);
    // The primary index from the environment (it wins over the file), the extra one from the
    // file.
    context.env("PYSHIP_INDEX_URL", &first.url());
    context.file(
        "pyproject.toml",
        &format!(
            "{PROJECT}\n[tool.pyship]\nextra-index-url = [\"{}\"]\n",
            second.url()
        ),
    );
    context.pyship(&["lock"]).success();
    // A higher `dep` on the second index does not shadow the first index's `dep`.
    assert_eq!(context.locked_version("dep"), "1.0");
    assert_eq!(context.locked_version("other"), "3.0");
    assert!(
        !second
            .requests()
            .iter()
            .any(|r| r.starts_with("/simple/dep/")),
        "{:?}",
        second.requests()
    );
}

#[test]
fn html_where_json_was_promised_is_a_clear_error_and_keeps_the_old_lock() {
    let mut context = TestContext::new();
    let server = served(&mut context, &["1.0"]);
    server.serve_json();
    server.fail_with_body(
        "/simple/dep/",
        "application/vnd.pypi.simple.v1+json",
        b"<html><body>maintenance</body></html>",
    );
    context.file("pyproject.toml", PROJECT);
    context.file("pylock.toml", "# the old lock\n");
    let run = context.pyship(&["lock"]).code(1);
    assert!(run.stderr.contains("is not a valid index page"), "{run}");
    assert!(run.stderr.contains("/simple/dep/"), "{run}");
    assert_eq!(context.read("pylock.toml"), "# the old lock\n");
}

#[test]
fn a_wheel_that_changed_since_locking_fails_the_hash_check() {
    let mut context = TestContext::new();
    let server = served(&mut context, &["1.0"]);
    context.file("pyproject.toml", PROJECT);
    context.pyship(&["lock"]).success();
    // The file on the index is replaced by other bytes under the same name.
    WheelSpec::new("dep", "1.0")
        .file("dep/extra.py", b"# changed\n", 0o100644)
        .write(&context.temp.path().join("index-files"));
    std::fs::remove_dir_all(&context.cache).unwrap();
    let run = context.pyship(&["fetch"]).code(1);
    assert!(run.stderr.contains("hash mismatch for `dep`"), "{run}");
    drop(server);
}

#[test]
fn credentials_come_from_the_environment_or_netrc_and_are_never_printed() {
    let mut context = TestContext::new();
    let server = served(&mut context, &["1.0"]);
    context.file("pyproject.toml", PROJECT);
    context.env("PYSHIP_INDEX_USERNAME", "alice");
    context.env("PYSHIP_INDEX_PASSWORD", "s3cret");
    context.pyship(&["lock"]).success();
    // Basic base64("alice:s3cret")
    assert!(
        server
            .requests()
            .iter()
            .any(|r| r.ends_with("auth=Basic YWxpY2U6czNjcmV0")),
        "{:?}",
        server.requests()
    );

    // Credentials in the URL never reach a message: the index is named by its host only
    // (they used to be shown masked as `bob:****@`; now they are taken out of the URL).
    let url = server.url().replace("http://", "http://bob:hunter2@");
    context.env("PYSHIP_INDEX_URL", &url);
    // The cache is keyed by the URL without credentials: empty it to ask the server again.
    std::fs::remove_dir_all(context.cache.join("http-v1")).unwrap();
    server.fail("/simple/dep/", 503);
    let run = context.pyship(&["lock", "--upgrade"]).code(1);
    assert!(run.stderr.contains("http://127.0.0.1:"), "{run}");
    assert!(!run.stderr.contains("hunter2"), "{run}");
    assert!(!run.stderr.contains("bob"), "{run}");
}

#[test]
fn netrc_credentials_are_sent_to_their_host() {
    let mut context = TestContext::new();
    let server = served(&mut context, &["1.0"]);
    context.file("pyproject.toml", PROJECT);
    let netrc = context.temp.path().join("netrc");
    std::fs::write(&netrc, "machine 127.0.0.1 login carol password pw\n").unwrap();
    context.env("NETRC", netrc.to_str().unwrap());
    context.pyship(&["lock"]).success();
    assert!(
        server
            .requests()
            .iter()
            .any(|r| r.ends_with("auth=Basic Y2Fyb2w6cHc=")),
        "{:?}",
        server.requests()
    );
}

#[test]
fn a_pin_no_version_matches_names_the_nearest_and_a_misspelled_name_the_likely_one() {
    let mut context = TestContext::new();
    let _server = served(&mut context, &["1.0", "1.1", "2.0", "2.1", "3.0"]);
    context.file(
        "pyproject.toml",
        "[project]\nname = \"app\"\nversion = \"1.0\"\ndependencies = [\"dep==2.05\"]\n",
    );
    let run = context.pyship(&["lock"]).code(3);
    // The requirement reads as written, not as the range that takes in local versions.
    assert!(run.stderr.contains("app 1.0 depends on dep ==2.5"), "{run}");
    assert!(!run.stderr.contains("post0.dev0"), "{run}");
    assert!(
        run.stderr.contains(
            "hint: no version of `dep` matches `==2.5`; the nearest that exist are 2.0, 2.1, 3.0 (newest: 3.0)"
        ),
        "{run}"
    );

    context.file(
        "pyproject.toml",
        "[project]\nname = \"app\"\nversion = \"1.0\"\ndependencies = [\"dpe>=1\"]\n",
    );
    let run = context.pyship(&["lock"]).code(3);
    assert!(
        run.stderr
            .contains("no files of `dpe` were found in the find-links directories or indexes; did you mean `dep`?"),
        "{run}"
    );
}

/// `pyship cache`: where it is, what it holds, and clearing only what pyship put there.
#[test]
fn cache_commands_show_and_clear_only_pyships_own_directories() {
    let mut context = TestContext::new();
    let _server = served(&mut context, &["1.0"]);
    context.file("pyproject.toml", PROJECT);
    context.pyship(&["lock"]).success();
    let run = context.pyship(&["cache", "dir"]).success();
    assert_eq!(run.stdout.trim(), context.cache.display().to_string());
    let run = context.pyship(&["cache", "size"]).success();
    assert!(run.stdout.contains("http-v1"), "{run}");
    assert!(
        run.stdout.lines().last().unwrap().starts_with("total"),
        "{run}"
    );

    // A stale temporary file of an interrupted write, an older layout, and a file that is
    // not pyship's.
    std::fs::create_dir_all(context.cache.join("wheels-v0")).unwrap();
    std::fs::write(context.cache.join("wheels-v0/old.whl"), b"old").unwrap();
    std::fs::write(context.cache.join("notes.txt"), b"mine").unwrap();
    let run = context.pyship(&["cache", "prune"]).success();
    assert!(
        run.stderr
            .contains("Removed unused cache entries: 1 files, 3 B"),
        "{run}"
    );
    assert!(!context.cache.join("wheels-v0").exists());
    assert!(
        context.cache.join("http-v1").is_dir(),
        "prune keeps what is used"
    );

    let run = context.pyship(&["cache", "clean"]).success();
    assert!(run.stderr.contains("Removed the cache: "), "{run}");
    assert!(!context.cache.join("http-v1").exists());
    assert_eq!(
        std::fs::read(context.cache.join("notes.txt")).unwrap(),
        b"mine"
    );
    // The lock still works from an empty cache.
    context.pyship(&["lock", "--upgrade"]).success();
}

/// A pinned release that exists but needs a newer Python than the target's is named as such,
/// with the targets that would take it, instead of "no version matches".
#[test]
fn a_pin_excluded_by_requires_python_says_so_and_names_the_targets_that_take_it() {
    let mut context = TestContext::new();
    let server = served(&mut context, &["1.0", "2.0"]);
    server.requires_python("dep-2.0-py3-none-any.whl", ">=3.12");
    context.file(
        "pyproject.toml",
        "[project]\nname = \"app\"\nversion = \"1.0\"\ndependencies = [\"dep==2.0\"]\n\n[tool.pyship]\ntargets = [\"debian-12\"]\n",
    );
    let run = context.pyship(&["lock"]).code(3);
    assert!(
        run.stderr.contains(
            "`dep` 2.0 exists, but requires Python >=3.12, and the target `debian-12` has 3.11.2; targets that take it: debian-13 (3.13.5), ubuntu-24.04 (3.12.3)"
        ),
        "{run}"
    );
    assert!(
        run.stderr
            .contains("the nearest versions that install are 1.0"),
        "{run}"
    );
}

#[test]
fn a_mistyped_index_url_is_named_with_the_status_it_answered() {
    let mut context = TestContext::new();
    let server = served(&mut context, &["1.0"]);
    let wrong = server.url().replace("/simple", "/simpel");
    context.env("PYSHIP_INDEX_URL", &wrong);
    context.file("pyproject.toml", PROJECT);
    let run = context.pyship(&["lock"]).code(3);
    assert!(
        run.stderr.contains(&format!(
            "looked for at {wrong}/dep/ (HTTP 404): is the name right, and the index URL?"
        )),
        "{run}"
    );
}

#[test]
fn with_vv_every_request_and_its_answer_is_traced() {
    let mut context = TestContext::new();
    let server = served(&mut context, &["1.0"]);
    context.file("pyproject.toml", PROJECT);
    let run = context.pyship(&["lock", "-vv"]).success();
    let page = format!("{}/dep/", server.url());
    assert!(
        run.stderr.contains(&format!("trace: GET {page}\n")),
        "{run}"
    );
    assert!(
        run.stderr.contains(&format!("trace: 200 {page} (")),
        "{run}"
    );
    // `-v` alone says less.
    let run = context.pyship(&["lock", "-v", "--upgrade"]).success();
    assert!(!run.stderr.contains("trace:"), "{run}");
}
